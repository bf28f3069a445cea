/*
 * cmd_evaluate.c - `harvest evaluate`: metrics of a model (a model URI or
 * a file, resolved by track/uri.h) on a slice of the home's ratings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/eval.h"
#include "model/model.h"
#include "recommend/compare.h"
#include "recommend/recommend.h"
#include "store/db.h"
#include "track/runs.h"
#include "track/uri.h"
#include "train/dataset.h"
#include "train/eval_metrics.h"

static const char eval_about[] =
    "URI: models:/NAME/Production (or Staging, Archived, None),\n"
    "models:/NAME/3, models:/NAME/latest, models:/NAME@champion,\n"
    "runs:/RUN_ID, or a model file path. Registry and run models are\n"
    "SHA-256 checked before loading.\n"
    "\n"
    "Without --run or --split, evaluate on the ratings with rating_id FIRST..LAST\n"
    "(default all: in-sample for a model trained on them):\n"
    "top_1/5/10/50/100_categorical_accuracy as TFRS FactorizedTopK\n"
    "(every movie scored; a hit at K when fewer than K movies score\n"
    "strictly higher, so ties count as hits; seen movies not excluded;\n"
    "unknown users use the OOV row, unknown movies are misses), the\n"
    "in-batch loss (mean over batches of 4096), recall@10/@100 and\n"
    "NDCG@10 excluding the movies the user rated in the model's training\n"
    "range outside this slice, coverage@10, and the same per gender and\n"
    "age segment. A dataset in which no user has a gender (an age), such\n"
    "as ml-latest, has no gender (age) segments: the output says \"not in\n"
    "this dataset\" (JSON: segments_not_in_dataset) and the fairness gap\n"
    "runs over the segments that exist.\n";

static const char eval_more[] =
    "--run RUN_ID is --model runs:/RUN_ID. --split rebuilds the split the\n"
    "model was trained with, from its run's params (also stored in the\n"
    "model file): the ratings with rating_id in first_rating_id..\n"
    "last_rating_id, in rating_id order, are permuted by numpy\n"
    "RandomState(seed).permutation; the first round(split x n) of the\n"
    "permutation (halves to even, at least 1) are the train split, the\n"
    "rest the test split. --split test ranks each user's movies excluding\n"
    "those the user rated in the train split and gives the run's own test\n"
    "metrics (top_100_categorical_accuracy, ...); --split train and --split\n"
    "all exclude nothing (in-sample). With --run the default is --split\n"
    "test; a model trained with --split 1 has no test split. A retrain's\n"
    "model (replay ratings) or a range whose ratings changed cannot be\n"
    "rebuilt: use --ratings.\n"
    "\n"
    "--ranker URI compares the two recommend pipelines on the retrieval\n"
    "model's test split (the ranker must be trained on the same range,\n"
    "--split and --seed): for every user with held-out ratings, the top\n"
    "10 of retrieval only, of retrieval's top --candidates K (default\n"
    "100) ordered by the ranker's predicted rating, and of the same K\n"
    "ordered by the blend retrieval score + W x predicted rating (--blend\n"
    "W, default " CLI_XSTR(RECOMMEND_DEFAULT_BLEND) "), all without the "
    "user's train-split movies, through the\n"
    "code the server answers with; nDCG@10 with the\n"
    "held-out rating as graded relevance (gain = rating, log2 discount,\n"
    "ideal = the user's 10 best held-out ratings), the hits (held-out\n"
    "movies listed) and their mean held-out rating, and the ranker's RMSE\n"
    "and MAE on the split, side by side; the better nDCG@10 is the\n"
    "pipeline to serve by default (harvest serve --stage). --log also\n"
    "logs them as metrics of the retrieval model's run (compare_*).\n"
    "A ranking model as --model prints its RMSE and MAE per segment.\n"
    "\n"
    "The fairness report closes every evaluation: the gap between the best\n"
    "and the worst user segment (segments of >= 100 pairs) of the retrieval\n"
    "model's top-100 accuracy (fairness_gap_top_100) and of the ranker's\n"
    "RMSE (fairness_gap_rmse); on the test split, the exposure of movies by\n"
    "popularity decile (by train-split ratings) in the top-10 lists of the\n"
    "default pipeline (blend with --ranker, else retrieval only), as the\n"
    "share of list entries per decile (exposure_decile_1..10) and the gap\n"
    "between the most and the least exposed decile (fairness_gap_exposure).\n"
    "--log logs them as metrics of the model's run (test split only).\n";

static const struct cli_spec eval_spec = {
    .cmd = "evaluate",
    .usage = "(--model URI | --run RUN_ID) [--split S | --ratings F:L] "
             "[--ranker URI]",
    .about = eval_about,
    .more = eval_more,
};

/* The segment kinds the dataset lacks: said, not shown as one segment of
 * everybody. */
static void print_absent(unsigned absent)
{
  char kinds[32];
  eval_absent_segments(absent, kinds, sizeof(kinds));
  if (kinds[0])
    printf("%-16s not in this dataset (no user has one): no segments\n",
           kinds);
}

static void print_metrics(const struct eval_metrics *m)
{
  for (int k = 0; k < EVAL_NK; k++)
    printf("top_%d_categorical_accuracy  %.4f\n", eval_ks[k], m->top_k[k]);
  printf("loss            %.3f\nloss_per_pair   %.4f\nrecall_at_10    %.4f\n"
         "recall_at_100   %.4f\nndcg_at_10      %.4f\ncoverage_at_10  %.4f\n"
         "pairs %zu  users %zu  unknown users %zu  unknown movies %zu\n\n",
         m->loss, m->loss_per_pair, m->recall_at_10, m->recall_at_100,
         m->ndcg_at_10, m->coverage_at_10, m->n_pairs, m->n_users,
         m->n_unknown_users, m->n_unknown_movies);
  printf("%-16s %8s %7s %8s %8s %10s %8s\n", "segment", "pairs", "users",
         "top_10", "top_100", "recall@10", "ndcg@10");
  for (int s = 0; s < m->n_segments; s++) {
    const struct eval_segment *g = &m->seg[s];
    printf("%-16s %8zu %7zu %8.4f %8.4f %10.4f %8.4f\n", g->name, g->n_pairs,
           g->n_users, g->top_10, g->top_100, g->recall_at_10, g->ndcg_at_10);
  }
  print_absent(m->absent);
}

static void print_rank(const struct rank_metrics *m)
{
  printf("rmse  %.4f\nmae   %.4f\npairs %zu\nrmse_segment_gap %.4f\n\n"
         "%-16s %8s %8s %8s\n", m->rmse, m->mae, m->n, m->seg_rmse_gap,
         "segment", "pairs", "rmse", "mae");
  for (int s = 0; s < EVAL_MAX_SEG; s++) {
    char name[24];
    eval_segment_name(s, name, sizeof(name));
    if (m->seg_n[s] && name[0])
      printf("%-16s %8zu %8.4f %8.4f\n", name, m->seg_n[s], m->seg_rmse[s],
             m->seg_mae[s]);
  }
  print_absent(m->absent);
}

/* The pipeline (harvest serve --stage) with the best nDCG@10; ties go to
 * the simpler one. */
static const char *better(const struct compare_result *c)
{
  double r = c->retrieval.ndcg, k = c->ranked.ndcg, b = c->blended.ndcg;
  return b > r && b > k ? "blend" : k > r ? "ranking" : "retrieval";
}

static void print_compare(const struct compare_result *c)
{
  printf("\npipelines on the test split (%zu held-out ratings, %zu users, "
         "top %d)\n%-28s %10s %8s %14s\n", c->n_test, c->n_users, c->n,
         "pipeline", "ndcg@10", "hits", "mean rating");
  const struct compare_pipeline *p[3] = {&c->retrieval, &c->ranked,
                                         &c->blended};
  for (int i = 0; i < 3; i++) {
    char name[64];
    if (i == 0)
      snprintf(name, sizeof(name), "retrieval only");
    else if (i == 1)
      snprintf(name, sizeof(name), "retrieve %d, rank", c->candidates);
    else
      snprintf(name, sizeof(name), "retrieve %d, blend %g", c->candidates,
               c->blend);
    printf("%-28s %10.4f %8zu %14.3f\n", name, p[i]->ndcg, p[i]->hits,
           p[i]->hit_rating_mean);
  }
  printf("ranker on the split: rmse %.4f  mae %.4f\n"
         "better by nDCG@10: %s (harvest serve --stage %s)\n",
         c->ranker.rmse, c->ranker.mae, better(c), better(c));
}

/* The comparison's numbers as metrics (the --json keys, --log names). */
static size_t compare_metrics(const struct compare_result *c,
                              struct tracking_metric *m)
{
  const struct {
    const char *key;
    double v;
  } t[] = {
      {"compare_ndcg_at_10_retrieval", c->retrieval.ndcg},
      {"compare_ndcg_at_10_ranked", c->ranked.ndcg},
      {"compare_ndcg_at_10_blend", c->blended.ndcg},
      {"compare_hits_retrieval", (double)c->retrieval.hits},
      {"compare_hits_ranked", (double)c->ranked.hits},
      {"compare_hits_blend", (double)c->blended.hits},
      {"compare_hit_rating_mean_retrieval", c->retrieval.hit_rating_mean},
      {"compare_hit_rating_mean_ranked", c->ranked.hit_rating_mean},
      {"compare_hit_rating_mean_blend", c->blended.hit_rating_mean},
      {"compare_ranker_rmse", c->ranker.rmse},
      {"compare_ranker_mae", c->ranker.mae},
  };
  size_t n = sizeof(t) / sizeof(t[0]);
  for (size_t i = 0; i < n; i++)
    m[i] = (struct tracking_metric){.key = t[i].key, .value = t[i].v};
  return n;
}

static json_t *compare_json(const struct compare_result *c)
{
  struct tracking_metric m[16];
  size_t n = compare_metrics(c, m);
  json_t *j = json_pack("{s:i, s:i, s:f, s:I, s:I, s:I, s:s, s:o}", "n",
                        c->n, "candidates", c->candidates, "blend", c->blend,
                        "n_users",
                        (json_int_t)c->n_users, "n_unknown_users",
                        (json_int_t)c->n_unknown_users, "n_test",
                        (json_int_t)c->n_test, "better", better(c),
                        "ranker", rank_metrics_to_json(&c->ranker));
  for (size_t i = 0; j && i < n; i++)
    json_object_set_new(j, m[i].key, isfinite(m[i].value)
                                         ? json_real(m[i].value)
                                         : json_null());
  return j;
}

/* ---- the fairness report ---------------------------------------------- */

/* The fairness report's numbers: gaps between the best and the worst group
 * (eval_gap: segments of >= EVAL_GAP_MIN_PAIRS pairs) and the exposure of
 * the default pipeline's top-10 lists by popularity decile. NaN: not
 * measured (no ranker, no test split). */
struct fairness {
  double gap_top_100;          /* retrieval top-100 accuracy by segment */
  double gap_rmse;             /* ranker RMSE by segment */
  double gap_exposure;         /* default pipeline's exposure gap */
  const struct compare_pipeline *served; /* its exposure, or NULL */
  const char *served_name;     /* "retrieval" or "blend" */
  char absent[32];             /* segment kinds the dataset lacks, or "" */
};

static void fairness_of(const struct eval_metrics *met,
                        const struct rank_metrics *rmet,
                        const struct compare_result *cmp, int has_cmp,
                        int has_ranker, struct fairness *f)
{
  *f = (struct fairness){NAN, NAN, NAN, NULL, NULL, ""};
  eval_absent_segments(met ? met->absent : rmet ? rmet->absent : 0,
                       f->absent, sizeof(f->absent));
  if (met) {
    double v[EVAL_MAX_SEG];
    size_t n[EVAL_MAX_SEG];
    for (int s = 0; s < met->n_segments; s++) {
      v[s] = met->seg[s].top_100;
      n[s] = met->seg[s].n_pairs;
    }
    /* no segments at all (a dataset without gender and age): no gap */
    f->gap_top_100 = met->n_segments ? eval_gap(v, n, (size_t)met->n_segments,
                                                EVAL_GAP_MIN_PAIRS)
                                     : NAN;
  }
  const struct rank_metrics *rm =
      rmet ? rmet : has_cmp && has_ranker ? &cmp->ranker : NULL;
  if (rm && (rm->absent & (DATASET_UF_GENDER | DATASET_UF_AGE)) !=
                (DATASET_UF_GENDER | DATASET_UF_AGE))
    f->gap_rmse = rm->seg_rmse_gap;
  if (has_cmp) { /* serve's default stage: blend with a ranker */
    f->served = has_ranker ? &cmp->blended : &cmp->retrieval;
    f->served_name = has_ranker ? "blend" : "retrieval";
    f->gap_exposure = f->served->exposure_gap;
  }
}

/* The report as metrics (the --json keys, the --log names); NaN left out. */
static size_t fairness_metrics(const struct fairness *f,
                               struct tracking_metric *m, char (*keys)[32])
{
  size_t n = 0;
  const struct {
    const char *key;
    double v;
  } t[] = {{"fairness_gap_top_100", f->gap_top_100},
           {"fairness_gap_rmse", f->gap_rmse},
           {"fairness_gap_exposure", f->gap_exposure}};
  for (size_t i = 0; i < 3; i++)
    if (isfinite(t[i].v))
      m[n++] = (struct tracking_metric){.key = t[i].key, .value = t[i].v};
  for (int d = 0; f->served && d < EVAL_NDEC; d++) {
    if (!isfinite(f->served->exposure[d]))
      continue;
    snprintf(keys[d], sizeof(keys[d]), "exposure_decile_%d", d + 1);
    m[n++] = (struct tracking_metric){.key = keys[d],
                                      .value = f->served->exposure[d]};
  }
  return n;
}

static void print_exposure(const char *name, const struct compare_pipeline *p)
{
  printf("%-16s", name);
  for (int d = 0; d < EVAL_NDEC; d++)
    printf(" %5.3f", p->exposure[d]);
  printf("  %6.4f\n", p->exposure_gap);
}

static void print_fairness(const struct fairness *f,
                           const struct compare_result *c, int has_ranker)
{
  printf("\nfairness (gap = best minus worst group; segments of >= %d "
         "pairs)\n", EVAL_GAP_MIN_PAIRS);
  if (isfinite(f->gap_top_100))
    printf("fairness_gap_top_100   %.4f  (retrieval top-100 accuracy by "
           "segment)\n", f->gap_top_100);
  if (isfinite(f->gap_rmse))
    printf("fairness_gap_rmse      %.4f  (ranker RMSE by segment)\n",
           f->gap_rmse);
  if (!isfinite(f->gap_top_100) && !isfinite(f->gap_rmse) && f->absent[0])
    printf("no segment gap: %s not in this dataset\n", f->absent);
  if (!f->served) {
    printf("exposure by popularity decile: on the test split only (--run "
           "or --split test)\n");
    return;
  }
  printf("fairness_gap_exposure  %.4f  (the %s pipeline's top-%d lists)\n"
         "exposure: share of top-%d entries by popularity decile of the "
         "movie (d1 = least rated tenth in the train split)\n%-16s",
         f->gap_exposure, f->served_name, c->n, c->n, "pipeline");
  for (int d = 0; d < EVAL_NDEC; d++)
    printf(" %4s%d", d + 1 < 10 ? " d" : "d", d + 1);
  printf("  %6s\n", "gap");
  print_exposure("retrieval only", &c->retrieval);
  if (has_ranker) {
    print_exposure("rank", &c->ranked);
    print_exposure("blend", &c->blended);
  }
}

static json_t *fairness_json(const struct fairness *f,
                             const struct compare_result *c, int has_ranker)
{
  struct tracking_metric m[16];
  char keys[EVAL_NDEC][32];
  size_t n = fairness_metrics(f, m, keys);
  json_t *j = json_object();
  for (size_t i = 0; j && i < n; i++)
    if (strncmp(m[i].key, "exposure_decile_", 16))
      json_object_set_new(j, m[i].key, json_real(m[i].value));
  if (!j || !f->served)
    return j;
  json_object_set_new(j, "exposure_pipeline", json_string(f->served_name));
  const struct compare_pipeline *p[3] = {&c->retrieval, &c->ranked,
                                         &c->blended};
  const char *names[3] = {"retrieval", "ranked", "blend"};
  json_t *ex = json_object();
  for (int i = 0; ex && i < (has_ranker ? 3 : 1); i++) {
    json_t *a = json_array();
    for (int d = 0; a && d < EVAL_NDEC; d++)
      json_array_append_new(a, isfinite(p[i]->exposure[d])
                                   ? json_real(p[i]->exposure[d])
                                   : json_null());
    json_object_set_new(ex, names[i], a);
  }
  json_object_set_new(j, "exposure_by_decile", ex);
  return j;
}

static const char *const split_names[] = {"test", "train", "all", NULL};

/* The model URI of --model / --run and the split to use (-1: --ratings);
 * HV_EUSAGE after printing the problem. */
static int pick_model(const char *model_path, const char *run_id, int split,
                      int ranged, char *uri, size_t cap, int *which)
{
  if (!model_path == !run_id) {
    fprintf(stderr, "harvest evaluate: give one of --model URI and --run "
                    "RUN_ID\n");
    return HV_EUSAGE;
  }
  if (split >= 0 && ranged) {
    fprintf(stderr, "harvest evaluate: --split and --ratings exclude each "
                    "other\n");
    return HV_EUSAGE;
  }
  snprintf(uri, cap, "%s%s", run_id ? "runs:/" : "",
           run_id ? run_id : model_path);
  *which = split >= 0 ? split : (run_id && !ranged ? MODEL_SPLIT_TEST : -1);
  return 0;
}

/* The retrieval model's comparison with ranker (NULL: retrieval alone) on
 * its test split. */
static int run_compare(struct hv_db *db, const struct hv_model *m,
                       const struct hv_model *ranker, int candidates,
                       double blend, struct compare_result *out,
                       struct hv_err *err)
{
  struct hv_dataset ds;
  int rc = dataset_load_split(db, m, &ds, err);
  if (!rc)
    rc = compare_pipelines(&ds, m, ranker, candidates, blend,
                           COMPARE_DEFAULT_N, out, err);
  dataset_free(&ds);
  return rc;
}

/* Log the comparison (with a ranker) and the fairness report as metrics of
 * run_id (--log). */
static int log_report(struct hv_db *db, const char *run_id,
                      const struct compare_result *c, int has_ranker,
                      const struct fairness *f, struct hv_err *err)
{
  if (!run_id[0])
    return hv_err_set(err, HV_EINVAL, "--log: the model has no run (a file "
                      "path); give models:/... or --run");
  struct tracking_metric m[32];
  char keys[EVAL_NDEC][32];
  size_t n = has_ranker ? compare_metrics(c, m) : 0;
  n += fairness_metrics(f, m + n, keys);
  return runs_log_metrics_batch(db, run_id, m, n, err);
}

/* A ranking model's own metrics (a ranking model as --model). */
static int eval_ranker(struct hv_db *db, const struct hv_model *m, int which,
                       int64_t first, int64_t last, struct rank_metrics *out,
                       struct hv_err *err)
{
  struct hv_dataset ds;
  int rc = which >= 0 ? dataset_load_split(db, m, &ds, err)
                      : dataset_load_eval(db, m, first, last, &ds, err);
  if (!rc)
    rc = which >= 0 ? model_rank_evaluate_split(&ds, m, which, out, err)
                    : model_rank_evaluate(&ds, m, out, err);
  dataset_free(&ds);
  return rc;
}

struct eval_args {
  const char *model, *run, *ranker;
  int64_t range[2];
  int split, ranged, candidates, log;
  double blend;
};

static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct eval_args *a)
{
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "model", 0, "URI", "the model (see above)",
               &a->model)},
      {CLI_OPT(CLI_STR, "run", 0, "RUN_ID",
               "the model of this run (runs:/RUN_ID)", &a->run)},
      {CLI_OPT(CLI_CHOICE, "split", 0, "test|train|all",
               "a split of the model's own training range (see below; "
               "default with --run: test)", &a->split),
       .choices = split_names},
      {CLI_OPT(CLI_RANGE, "ratings", 0, "FIRST:LAST",
               "the slice of rating ids (default all)", a->range),
       .seen = &a->ranged},
      {CLI_OPT(CLI_STR, "ranker", 0, "URI",
               "compare retrieval only with retrieve-then-rank by this "
               "ranking model on the test split (see below)", &a->ranker)},
      {CLI_OPT(CLI_INT, "candidates", 0, "K",
               "with --ranker: movies retrieval proposes (100)",
               &a->candidates), .lo = 1, .hi = RECOMMEND_MAX_CANDIDATES},
      {CLI_OPT(CLI_DBL, "blend", 0, "W",
               "with --ranker: the blend's weight of the predicted rating "
               "(" CLI_XSTR(RECOMMEND_DEFAULT_BLEND) ")", &a->blend),
       .flo = 1e-6, .fhi = RECOMMEND_MAX_BLEND},
      {CLI_OPT(CLI_TRUE, "log", 0, NULL,
               "on the test split: log the fairness report (and the "
               "comparison with --ranker) as metrics of the model's run",
               &a->log)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &eval_spec, opts, argc, argv);
  if (rc)
    return rc; /* CLI_HELP too: the caller stops */
  if (a->ranker && (a->ranged || a->split > MODEL_SPLIT_TEST)) {
    fprintf(stderr, "harvest evaluate: --ranker compares on the test split "
                    "only (no --ratings, --split train or all)\n");
    return HV_EUSAGE;
  }
  if (!a->ranker && (a->candidates || a->blend > 0.0)) {
    fprintf(stderr, "harvest evaluate: --candidates and --blend need "
                    "--ranker URI\n");
    return HV_EUSAGE;
  }
  if (a->log && !a->ranker && (a->ranged || a->split > MODEL_SPLIT_TEST ||
                               (!a->run && a->split < 0))) {
    fprintf(stderr, "harvest evaluate: --log logs the test split's report: "
                    "give --run RUN_ID, --split test or --ranker URI\n");
    return HV_EUSAGE;
  }
  return 0;
}

static void print_json(const char *uri, int which,
                       const struct uri_target *t, json_t *j)
{
  if (j) {
    json_object_set_new(j, "model", json_string(uri));
    json_object_set_new(j, "split", which >= 0
                                        ? json_string(split_names[which])
                                        : json_null());
    if (t->run_id[0])
      json_object_set_new(j, "model_run_id", json_string(t->run_id));
    if (t->version)
      json_object_set_new(j, "model_version", json_integer(t->version));
  }
  cli_print_json(j);
}

/* Load the model of uri (and its target into *t). */
static int load(const struct cli_ctx *ctx, struct hv_db *db, const char *uri,
                struct uri_target *t, struct hv_model **m, struct hv_err *err)
{
  int rc = uri_resolve_ex(ctx->home, db, uri, t, err);
  return rc ? rc : model_load(t->path, m, err);
}

/* Everything one evaluate computes (large: one per process). */
struct eval_out {
  struct eval_metrics met;
  struct rank_metrics rmet;
  struct compare_result cmp;
  int ranking, has_cmp;
  struct fairness fair;
};

/* The metrics of m (and the comparison with rk, the fairness report). */
static int compute(struct hv_db *db, const struct eval_args *a, int which,
                   const struct hv_model *m, const struct hv_model *rk,
                   struct eval_out *o, struct hv_err *err)
{
  int rc = 0;
  o->ranking = model_task(m) == MODEL_TASK_RANKING;
  if (o->ranking && rk)
    return hv_err_set(err, HV_EINVAL, "--model: a ranking model cannot "
                      "retrieve; give the retrieval model and --ranker");
  if (o->ranking)
    rc = eval_ranker(db, m, which, a->range[0], a->range[1], &o->rmet, err);
  else
    rc = which >= 0 ? dataset_evaluate_split(db, m, which, &o->met, err)
                    : dataset_evaluate(db, m, a->range[0], a->range[1],
                                       &o->met, err);
  o->has_cmp = !rc && !o->ranking && which == MODEL_SPLIT_TEST;
  if (o->has_cmp)
    rc = run_compare(db, m, rk, a->candidates, a->blend, &o->cmp, err);
  if (!rc)
    fairness_of(o->ranking ? NULL : &o->met, o->ranking ? &o->rmet : NULL,
                &o->cmp, o->has_cmp, rk != NULL, &o->fair);
  return rc;
}

static void output(const struct cli_ctx *ctx, const char *uri, int which,
                   const struct uri_target *t, const struct eval_out *o,
                   int has_ranker)
{
  if (ctx->json) {
    json_t *j = o->ranking ? rank_metrics_to_json(&o->rmet)
                           : eval_metrics_to_json(&o->met);
    if (j && has_ranker)
      json_object_set_new(j, "pipelines", compare_json(&o->cmp));
    if (j)
      json_object_set_new(j, "fairness",
                          fairness_json(&o->fair, &o->cmp, has_ranker));
    print_json(uri, which, t, j);
    return;
  }
  if (o->ranking)
    print_rank(&o->rmet);
  else
    print_metrics(&o->met);
  if (has_ranker)
    print_compare(&o->cmp);
  print_fairness(&o->fair, &o->cmp, has_ranker);
}

int cmd_evaluate(struct cli_ctx *ctx, int argc, char **argv)
{
  struct eval_args a = {.range = {0, INT64_MAX}, .split = -1};
  struct hv_err err = {0};
  int rc = parse(ctx, argc, argv, &a);
  if (rc)
    return cli_parse_rc(rc);
  char uri[128];
  int which;
  if (pick_model(a.model, a.run, a.split, a.ranged, uri, sizeof(uri),
                 &which))
    return HV_EUSAGE;
  if (a.ranker)
    which = MODEL_SPLIT_TEST;
  struct hv_db *db = NULL;
  struct hv_model *m = NULL, *rk = NULL;
  static struct eval_out o;
  static struct uri_target t, tr; /* large; one per process */
  rc = cli_open_existing_home(ctx, &db, &err);
  if (!rc)
    rc = load(ctx, db, uri, &t, &m, &err);
  if (!rc && a.ranker)
    rc = load(ctx, db, a.ranker, &tr, &rk, &err);
  if (!rc)
    rc = compute(db, &a, which, m, rk, &o, &err);
  if (!rc && a.log)
    rc = log_report(db, t.run_id, &o.cmp, rk != NULL, &o.fair, &err);
  if (!rc)
    output(ctx, uri, which, &t, &o, rk != NULL);
  model_free(m);
  model_free(rk);
  db_close(db);
  return rc ? cli_report(&err) : 0;
}

/*
 * cmd_recommend.c - `harvest recommend`: the top movies for one user from a
 * model (a model URI or a file, resolved by track/uri.h), with titles from
 * the home's database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"
#include "model/ivf.h"
#include "model/model.h"
#include "recommend/retindex.h"
#include "recommend/recommend.h"
#include "store/catalog.h"
#include "store/db.h"
#include "track/uri.h"
#include "util/fsutil.h"
#include "util/parse.h"

static const char rec_about[] =
    "URI: models:/NAME/Production (or Staging, Archived, None),\n"
    "models:/NAME/3, models:/NAME/latest, models:/NAME@champion,\n"
    "runs:/RUN_ID, or a model file path (registry and run models are\n"
    "SHA-256 checked before loading).\n"
    "Score every movie for the user (dot product of the towers) and\n"
    "print the best n (ties: lower movie id first) under a header line.\n"
    "Movies the user has rated in the database are skipped, as the web\n"
    "UI does; --include-rated keeps them (the model's raw answer).\n"
    "--ranker URI (a model trained with --task ranking) re-orders\n"
    "retrieval's top --candidates K (default 100): retrieve, then rank.\n"
    "The order (--stage) is retrieval score + W x predicted rating (blend,\n"
    "the default; --blend W, default " CLI_XSTR(RECOMMEND_DEFAULT_BLEND)
    "), the predicted rating alone\n"
    "(ranking), or retrieval's (retrieval: the ranker unused); harvest\n"
    "evaluate --ranker measures which is better. The order's score, the\n"
    "predicted rating and the retrieval score are printed.\n"
    "--explain says why each movie is there: the user's rated movies\n"
    "nearest to it in the movie tower's space (cosine, with the user's\n"
    "ratings) and, when a ranker ordered the list, how much each feature\n"
    "group of the ranker adds to the predicted rating (the prediction\n"
    "minus the prediction without the group: ids, user_features,\n"
    "movie_features, popularity); the list itself is unchanged.\n"
    "--bench N also times N recommendation calls (round-robin over\n"
    "all the model's users, no exclusions) and prints the mean\n"
    "microseconds per call (scoring every movie + top-n, or the index).\n"
    "--index: auto (default) answers through the model's stored IVF index\n"
    "from 20000 movies, ivf always (building one when none is stored),\n"
    "exact never; an index whose measured recall@100 is below\n"
    "--index-min-recall (0.95) is refused and every movie is scored.\n"
    "What was chosen and why is printed on stderr.\n";

static const struct cli_spec rec_spec = {
    .cmd = "recommend",
    .usage = "--model URI --user ID [-n 10]\n"
             "                         [--ranker URI [--candidates K] "
             "[--stage S] [--blend W]]\n"
             "                         [--explain]\n"
             "                         [--include-rated] [--index "
             "exact|ivf|auto]\n"
             "                         [--index-min-recall R] [--json]",
    .about = rec_about,
};

/* Title of id into buf; a movie the database lacks reads "(movie ID not
 * in the database)" (a model file trained elsewhere). */
static int title_of(struct hv_db *db, int64_t id, char *buf, size_t cap,
                    struct hv_err *err)
{
  int rc = catalog_movie_title(db, id, buf, cap, err);
  if (rc == HV_ENOTFOUND) {
    snprintf(buf, cap, "(movie %lld not in the database)", (long long)id);
    rc = 0;
  }
  return rc;
}

/* w as JSON (titles from db). */
static json_t *why_json(struct hv_db *db, const struct recommend_why *w,
                        struct hv_err *err)
{
  json_t *nb = json_array();
  char t[512];
  for (int j = 0; j < w->n_neighbours; j++) {
    if (title_of(db, w->neighbour_id[j], t, sizeof(t), err)) {
      json_decref(nb);
      return NULL;
    }
    json_array_append_new(
        nb, json_pack("{s:I, s:s, s:f, s:f}", "movie_id",
                      (json_int_t)w->neighbour_id[j], "title", t, "rating",
                      (double)w->neighbour_rating[j], "similarity",
                      (double)w->neighbour_sim[j]));
  }
  json_t *o = json_pack("{s:o}", "neighbours", nb);
  if (o && w->ranked) {
    json_t *c = json_object();
    for (int g = 0; g < RANK_NGROUPS; g++)
      json_object_set_new(c, model_rank_group_names[g],
                          json_real((double)w->contrib[g]));
    json_object_set_new(o, "ranker_contributions", c);
  }
  return o;
}

/* w under its movie's line. */
static int print_why(struct hv_db *db, const struct recommend_why *w,
                     struct hv_err *err)
{
  char t[512];
  for (int j = 0; j < w->n_neighbours; j++) {
    if (title_of(db, w->neighbour_id[j], t, sizeof(t), err))
      return err->code;
    printf("       %s %s (rated %g, similarity %.3f)\n",
           j ? "      " : "near:", CLI_SAFE(t),
           (double)w->neighbour_rating[j], (double)w->neighbour_sim[j]);
  }
  if (w->ranked) {
    printf("       ranker, by ablation:");
    for (int g = 0; g < RANK_NGROUPS; g++)
      printf(" %s %+.3f", model_rank_group_names[g], (double)w->contrib[g]);
    printf("\n");
  }
  return 0;
}

static int print_recs(const struct cli_ctx *ctx, struct hv_db *db,
                      int64_t user, int excl, int stage,
                      const struct recommend_list *l,
                      const struct recommend_why *why, struct hv_err *err)
{
  const int64_t *ids = l->movie_ids;
  const float *sc = l->scores;
  const int got = l->k;
  char title[512];
  json_t *arr = ctx->json ? json_array() : NULL;
  if (!arr && l->ranked)
    printf("%4s  %8s  %9s  %9s  %9s  %s\n", "rank", "movie_id", "score",
           "predicted", "retrieval", "title");
  else if (!arr)
    printf("%4s  %8s  %9s  %s\n", "rank", "movie_id", "score", "title");
  for (int i = 0; i < got; i++) {
    int rc = catalog_movie_title(db, ids[i], title, sizeof(title), err);
    if (rc == HV_ENOTFOUND)
      snprintf(title, sizeof(title), "(movie %lld not in the database)",
               (long long)ids[i]);
    else if (rc) {
      json_decref(arr);
      return rc;
    }
    if (arr && why) {
      json_t *w = why_json(db, &why[i], err);
      if (!w) {
        json_decref(arr);
        return err->code ? err->code : HV_ENOMEM;
      }
      json_t *o = l->ranked
                      ? json_pack("{s:i, s:I, s:s, s:f, s:f, s:f, s:o}",
                                  "rank", i + 1, "movie_id",
                                  (json_int_t)ids[i], "title", title, "score",
                                  (double)sc[i], "predicted_rating",
                                  (double)l->predicted[i], "retrieval_score",
                                  (double)l->retrieval_scores[i],
                                  "explanation", w)
                      : json_pack("{s:i, s:I, s:s, s:f, s:o}", "rank", i + 1,
                                  "movie_id", (json_int_t)ids[i], "title",
                                  title, "score", (double)sc[i],
                                  "explanation", w);
      json_array_append_new(arr, o);
    } else if (arr && l->ranked)
      json_array_append_new(
          arr, json_pack("{s:i, s:I, s:s, s:f, s:f, s:f}", "rank", i + 1,
                         "movie_id", (json_int_t)ids[i], "title", title,
                         "score", (double)sc[i], "predicted_rating",
                         (double)l->predicted[i], "retrieval_score",
                         (double)l->retrieval_scores[i]));
    else if (arr)
      json_array_append_new(arr, json_pack("{s:i, s:I, s:s, s:f}", "rank",
                                           i + 1, "movie_id",
                                           (json_int_t)ids[i], "title", title,
                                           "score", (double)sc[i]));
    else if (l->ranked)
      printf("%4d  %8lld  %9.4f  %9.3f  %9.4f  %s\n", i + 1,
             (long long)ids[i], (double)sc[i], (double)l->predicted[i],
             (double)l->retrieval_scores[i], CLI_SAFE(title));
    else
      printf("%4d  %8lld  %9.4f  %s\n", i + 1, (long long)ids[i],
             (double)sc[i], CLI_SAFE(title));
    if (!arr && why && print_why(db, &why[i], err))
      return err->code;
  }
  if (arr)
    cli_print_json(json_pack("{s:I, s:s, s:b, s:o}", "user_id",
                             (json_int_t)user, "stage",
                             recommend_stage_names[l->ranked
                                                       ? stage
                                                       : RECOMMEND_STAGE_RETRIEVAL],
                             "exclude_rated", excl, "recommendations", arr));
  return 0;
}

/* This thread's CPU seconds (steadier than wall time on a shared machine). */
static double thread_cpu(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Time `iters` model_recommend calls over all users; prints the mean wall
 * and CPU time. */
static int run_bench(const struct hv_model *m, int n, int64_t iters,
                     int64_t *ids, float *sc, float *scratch,
                     struct hv_err *err)
{
  size_t nu = model_n_users(m);
  double t0 = hv_mono(), c0 = thread_cpu();
  for (int64_t i = 0; i < iters; i++) {
    int rc = model_recommend(m, model_user_id(m, (size_t)i % nu), n, NULL, 0,
                             ids, sc, scratch, err);
    if (rc < 0)
      return rc;
  }
  double us = (hv_mono() - t0) * 1e6 / (double)iters;
  double cpu = (thread_cpu() - c0) * 1e6 / (double)iters;
  fprintf(stderr, "recommend: %.2f us per call, %.2f us of CPU (%lld calls, "
          "%zu movies, n %d, %s)\n", us, cpu, (long long)iters,
          model_n_movies(m), n, model_index(m) ? "ivf index" : "exact");
  return 0;
}

struct rec_args {
  const char *model, *ranker, *index;
  int64_t user, n, bench, candidates;
  int excl, incl, index_mode, stage, explain;
  double min_recall, blend;
};

/* Parse argv into a; 0, CLI_HELP or HV_EUSAGE (reported). */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct rec_args *a)
{
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "model", 0, "URI", "the model (see above)",
               &a->model), .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_I64, "user", 0, "ID", "the user", &a->user),
       .hi = INT64_MAX, .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_I64, NULL, 'n', "N", "how many movies (10)", &a->n),
       .lo = 1, .hi = 100000},
      {CLI_OPT(CLI_TRUE, "include-rated", 0, NULL,
               "keep the movies the user has rated (skipped by default)",
               &a->incl)},
      {CLI_OPT(CLI_TRUE, "exclude-rated", 0, NULL,
               "skip the movies the user has rated (the default)",
               &a->excl)},
      {CLI_OPT(CLI_STR, "ranker", 0, "URI",
               "a ranking model (--task ranking) to order the candidates",
               &a->ranker)},
      {CLI_OPT(CLI_I64, "candidates", 0, "K",
               "with --ranker: how many movies retrieval proposes (100)",
               &a->candidates), .lo = 1, .hi = RECOMMEND_MAX_CANDIDATES},
      {CLI_OPT(CLI_CHOICE, "stage", 0, "blend|ranking|retrieval",
               "with --ranker: the order (see above; default blend)",
               &a->stage), .choices = recommend_stage_names},
      {CLI_OPT(CLI_DBL, "blend", 0, "W", "with --ranker: the blend's weight "
               "(" CLI_XSTR(RECOMMEND_DEFAULT_BLEND) ")", &a->blend),
       .flo = 1e-6, .fhi = RECOMMEND_MAX_BLEND},
      {CLI_OPT(CLI_TRUE, "explain", 0, NULL, "say why each movie is there "
               "(see above)", &a->explain)},
      {CLI_OPT(CLI_I64, "bench", 0, "N", "also time N calls (see above)",
               &a->bench), .lo = 1, .hi = 100000000},
      {CLI_OPT(CLI_STR, "index", 0, "MODE", "exact, ivf or auto (default; "
               "see above)", &a->index)},
      {CLI_OPT(CLI_DBL, "index-min-recall", 0, "R", "refuse an index whose "
               "measured recall@100 is below R (0.95)", &a->min_recall),
       .flo = 1e-9, .fhi = 1},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &rec_spec, opts, argc, argv);
  struct hv_err e = {0};
  if (!rc && a->index && retindex_parse_mode(a->index, &a->index_mode, &e))
    rc = cli_usage_error("recommend", "%s", e.msg);
  return rc;
}

/* Resolve and load the model, with the index --index chooses. */
static int load_model(struct cli_ctx *ctx, struct hv_db *db,
                      const struct rec_args *a, struct hv_model **m,
                      struct hv_err *err)
{
  struct uri_target t;
  struct retindex_src src;
  struct retindex_result r;
  int rc = uri_resolve_ex(ctx->home, db, a->model, &t, err);
  if (!rc)
    rc = model_load(t.path, m, err);
  if (rc)
    return rc;
  if (a->index_mode != RETINDEX_EXACT)
    retindex_locate(ctx->home, db, &t, &src);
  rc = retindex_apply(*m, a->index_mode == RETINDEX_EXACT ? NULL : &src,
                      a->index_mode, a->min_recall, &r, err);
  if (!rc)
    fprintf(stderr, "index: %s\n", r.why);
  return rc;
}

int cmd_recommend(struct cli_ctx *ctx, int argc, char **argv)
{
  struct rec_args a = {NULL, NULL, NULL, -1, 10, 0, 0, 0, 0, RETINDEX_AUTO,
                       -1, 0, IVF_DEFAULT_MIN_RECALL, 0.0};
  int rc = parse(ctx, argc, argv, &a);
  if (rc)
    return cli_parse_rc(rc);
  if (a.incl && a.excl)
    return cli_usage_error("recommend", "--include-rated and --exclude-rated "
                           "exclude each other");
  a.excl = !a.incl;
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  struct hv_model *m = NULL, *ranker = NULL;
  struct recommend_list l = {0};
  char path[4096];
  rc = cli_open_existing_home(ctx, &db, &err);
  if (!rc)
    rc = load_model(ctx, db, &a, &m, &err);
  if (!rc && a.ranker) {
    rc = uri_resolve(ctx->home, db, a.ranker, path, sizeof(path), &err);
    if (!rc)
      rc = model_load(path, &ranker, &err);
    if (rc)
      hv_err_prefix(&err, "--ranker %s", a.ranker);
  }
  if (!rc && (a.candidates || a.stage >= 0 || a.blend > 0.0) && !ranker)
    rc = hv_err_set(&err, HV_EUSAGE,
                    "--candidates, --stage and --blend need --ranker");
  if (a.stage < 0)
    a.stage = RECOMMEND_ORDER_BLEND;
  if (!rc)
    rc = recommend_list_alloc(&l, m, (int)a.n, &err);
  struct recommend_why *why = NULL;
  struct recommend_query q = {0};
  if (!rc) {
    q = (struct recommend_query){.model = m, .user = a.user, .n = (int)a.n,
                                .exclude_rated = a.excl,
                                .ranker = a.stage == RECOMMEND_STAGE_RETRIEVAL
                                              ? NULL
                                              : ranker,
                                .candidates = (int)a.candidates,
                                .order = a.stage, .blend = a.blend};
    rc = recommend_user(db, &q, &l, &err);
  }
  if (!rc && a.explain) {
    why = calloc((size_t)l.k + 1, sizeof(*why));
    rc = why ? recommend_explain(db, &q, &l, why, &err)
             : hv_err_set(&err, HV_ENOMEM, "out of memory");
  }
  if (!rc)
    rc = print_recs(ctx, db, a.user, a.excl, a.stage, &l, why, &err);
  free(why);
  if (!rc && a.bench)
    rc = run_bench(m, (int)a.n, a.bench, l.movie_ids, l.scores, l.scratch,
                   &err);
  recommend_list_free(&l);
  model_free(ranker);
  model_free(m);
  db_close(db);
  return rc ? cli_report(&err) : 0;
}

/*
 * cmd_evaluate.c - `harvest evaluate`: metrics of a model (a model URI or
 * a file, resolved by track/uri.h) on a slice of the home's ratings.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "model/eval.h"
#include "model/model.h"
#include "store/db.h"
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
    "age segment.\n";

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
    "rebuilt: use --ratings.\n";

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

int cmd_evaluate(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *model_path = NULL, *run_id = NULL;
  int64_t range[2] = {0, INT64_MAX};
  int split = -1, ranged = 0;
  struct hv_err err = {0};
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "model", 0, "URI", "the model (see above)",
               &model_path)},
      {CLI_OPT(CLI_STR, "run", 0, "RUN_ID",
               "the model of this run (runs:/RUN_ID)", &run_id)},
      {CLI_OPT(CLI_CHOICE, "split", 0, "test|train|all",
               "a split of the model's own training range (see below; "
               "default with --run: test)", &split),
       .choices = split_names},
      {CLI_OPT(CLI_RANGE, "ratings", 0, "FIRST:LAST",
               "the slice of rating ids (default all)", range),
       .seen = &ranged},
      CLI_OPTS_END};
  const struct cli_spec spec = {
      .cmd = "evaluate",
      .usage = "(--model URI | --run RUN_ID) [--split S | --ratings F:L]",
      .about = eval_about,
      .more = eval_more,
      .opts = opts,
  };
  int rc = cli_parse(ctx, &spec, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  char uri[128];
  int which;
  if (pick_model(model_path, run_id, split, ranged, uri, sizeof(uri),
                 &which))
    return HV_EUSAGE;
  model_path = uri;
  int64_t first = range[0], last = range[1];
  struct hv_db *db = NULL;
  struct hv_model *m = NULL;
  struct eval_metrics met;
  static struct uri_target t; /* large; one per process */
  rc = cli_open_home(ctx, &db, &err);
  if (!rc)
    rc = uri_resolve_ex(ctx->home, db, model_path, &t, &err);
  if (!rc)
    rc = model_load(t.path, &m, &err);
  if (!rc)
    rc = which >= 0 ? dataset_evaluate_split(db, m, which, &met, &err)
                    : dataset_evaluate(db, m, first, last, &met, &err);
  if (!rc) {
    if (ctx->json) {
      json_t *j = eval_metrics_to_json(&met);
      if (j) {
        json_object_set_new(j, "model", json_string(model_path));
        json_object_set_new(j, "split", which >= 0
                                            ? json_string(split_names[which])
                                            : json_null());
        if (t.run_id[0])
          json_object_set_new(j, "model_run_id", json_string(t.run_id));
        if (t.version)
          json_object_set_new(j, "model_version", json_integer(t.version));
      }
      cli_print_json(j);
    } else {
      print_metrics(&met);
    }
  }
  model_free(m);
  db_close(db);
  return rc ? cli_report(&err) : 0;
}

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
    "Evaluate a model on the ratings with rating_id FIRST..LAST (default\n"
    "all): top_1/5/10/50/100_categorical_accuracy as TFRS FactorizedTopK\n"
    "(every movie scored; a hit at K when fewer than K movies score\n"
    "strictly higher, so ties count as hits; seen movies not excluded;\n"
    "unknown users use the OOV row, unknown movies are misses), the\n"
    "in-batch loss (mean over batches of 4096), recall@10/@100 and\n"
    "NDCG@10 excluding the movies the user rated in the model's training\n"
    "range outside this slice, coverage@10, and the same per gender and\n"
    "age segment.\n";

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

int cmd_evaluate(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *model_path = NULL;
  int64_t range[2] = {0, INT64_MAX};
  struct hv_err err = {0};
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "model", 0, "URI", "the model (see above)",
               &model_path), .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_RANGE, "ratings", 0, "FIRST:LAST",
               "the slice of rating ids (default all)", range)},
      CLI_OPTS_END};
  const struct cli_spec spec = {
      .cmd = "evaluate",
      .usage = "--model URI [--ratings FIRST:LAST] [--json]",
      .about = eval_about,
      .opts = opts,
  };
  int rc = cli_parse(ctx, &spec, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
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
    rc = dataset_evaluate(db, m, first, last, &met, &err);
  if (!rc) {
    if (ctx->json) {
      json_t *j = eval_metrics_to_json(&met);
      if (j) {
        json_object_set_new(j, "model", json_string(model_path));
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

/*
 * cmd_train.c - `harvest train`: train the two-tower model on the home's
 * ratings as a tracked run (trainrun.h), print per-epoch progress (stderr),
 * the evaluation and the run id; the model is the run's artifact
 * (runs:/RUN_ID), --out writes an extra copy.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "cli/train_flags.h"
#include "model/eval.h"
#include "model/model.h"
#include "store/db.h"
#include "track/artifacts.h"
#include "track/runs.h"
#include "train/eval_metrics.h"
#include "train/trainrun.h"

static void help(void)
{
  printf(
      "Usage: harvest train [options]\n\n"
      "Train the two-tower retrieval model (user tower . movie tower,\n"
      "in-batch softmax) on the ratings of the home's database as a tracked\n"
      "run: params, per-epoch loss, the evaluation on the held-out split,\n"
      "lineage (code version; rating range, row count and SHA-256 of the\n"
      "rows) and the model file as the run's artifact model/model.hvm.\n"
      "Prints the run id; the model is then runs:/RUN_ID (register it with\n"
      "'harvest models register --run RUN_ID').\n\n"
      "%s"
      "\nRun options:\n"
      "  --experiment NAME    experiment of the run (default Default)\n"
      "  --run-name NAME      name of the run (default run-<8 hex>)\n"
      "  --init-from URI      continue training that model (weights and\n"
      "                       optimiser state; its dim and features win);\n"
      "                       new users and movies get new rows. URI:\n"
      "                       models:/NAME/Production, models:/NAME/3,\n"
      "                       models:/NAME@champion, runs:/RUN_ID, or a file\n"
      "  --out FILE           also write the model file to FILE\n"
      "  --json               print the result as JSON on stdout (adds\n"
      "                       run_id and model_uri \"runs:/RUN_ID\")\n"
      "  --home DIR           data folder\n\n"
      "Ctrl-C (SIGINT) or SIGTERM ends the run KILLED; an error ends it\n"
      "FAILED (tag harvest.error).\n\n"
      "Metrics: top_K_categorical_accuracy as TFRS FactorizedTopK: for each\n"
      "test (user, movie) all movies are scored; a hit at K when fewer than\n"
      "K movies score strictly higher (ties count as hits, tf.math.in_top_k);\n"
      "seen movies are not excluded. recall/ndcg exclude the user's train\n"
      "movies. loss = mean over batches of 4096 of the summed loss.\n"
      "Logged metric names: loss and epoch_seconds per epoch (step = epoch);\n"
      "the test split unprefixed (top_100_categorical_accuracy, recall_at_10,\n"
      "..., test_loss), the train split prefixed train_ (train_loss, ...).\n",
      train_flags_help());
}

enum { O_INIT = 0x2100, O_OUT, O_EXPERIMENT, O_RUN_NAME };

static void on_epoch(void *ud, int epoch, double loss, double seconds,
                     const struct eval_metrics *test)
{
  const struct train_config *c = ud;
  fprintf(stderr, "epoch %d/%d  loss %.1f  time %.3fs", epoch, c->epochs,
          loss, seconds);
  if (test)
    fprintf(stderr, "  test top_10 %.4f top_100 %.4f", test->top_k[2],
            test->top_k[4]);
  fputc('\n', stderr);
}

static void print_table(const struct train_result *r)
{
  printf("%-6s", "split");
  for (int k = 0; k < EVAL_NK; k++)
    printf("  top_%-4d", eval_ks[k]);
  printf("  %-10s %-9s %-9s %-8s %-8s\n", "loss", "recall@10", "recall@100",
         "ndcg@10", "cov@10");
  for (int s = 0; s < 2; s++) {
    const struct eval_metrics *m = s ? &r->test : &r->train;
    if (s && !r->has_test)
      break;
    printf("%-6s", s ? "test" : "train");
    for (int k = 0; k < EVAL_NK; k++)
      printf("  %-8.4f", m->top_k[k]);
    printf("  %-10.2f %-9.4f %-10.4f %-8.4f %-8.4f\n", m->loss,
           m->recall_at_10, m->recall_at_100, m->ndcg_at_10,
           m->coverage_at_10);
  }
}

static json_t *result_json(const struct trainrun_result *tr,
                           const char *experiment, const char *out_path)
{
  const struct train_result *r = &tr->train;
  const struct hv_model *m = tr->model;
  json_t *es = json_array(), *el = json_array();
  for (int i = 0; i < r->epochs; i++) {
    json_array_append_new(es, json_real(r->epoch_seconds[i]));
    json_array_append_new(el, json_real(r->epoch_loss[i]));
  }
  double mean = 0;
  for (int i = 0; i < r->epochs; i++)
    mean += r->epoch_seconds[i] / r->epochs;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char sha[65];
  model_sha256_hex(m, sha);
  struct train_config used;
  model_config(m, &used);
  json_t *j = json_pack(
      "{s:o, s:o, s:o, s:o, s:o?, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
      "s:I, s:f, s:f, s:f, s:f, s:I}",
      "config", trainrun_config_json(&used), "epoch_seconds", es, "epoch_loss",
      el, "train", eval_metrics_to_json(&r->train), "test",
      r->has_test ? eval_metrics_to_json(&r->test) : NULL, "model",
      out_path ? out_path : tr->model_uri, "sha256", sha, "n_ratings",
      (json_int_t)r->n_ratings, "n_train", (json_int_t)r->n_train, "n_test",
      (json_int_t)r->n_test, "n_users", (json_int_t)r->n_users, "n_movies",
      (json_int_t)r->n_movies, "new_users", (json_int_t)r->new_users,
      "new_movies", (json_int_t)r->new_movies, "epoch_seconds_mean", mean,
      "gemm_gflop_per_epoch", r->gemm_flop_per_epoch / 1e9, "gemm_gflops",
      mean > 0 ? r->gemm_flop_per_epoch / 1e9 / mean : 0.0, "eval_seconds",
      r->eval_seconds, "peak_rss_kb", (json_int_t)ru.ru_maxrss);
  if (j)
    json_object_update_new(
        j, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "run_id", tr->run_id,
                     "model_uri", tr->model_uri, "experiment", experiment,
                     "artifact", ARTIFACTS_MODEL_PATH, "data_sha256",
                     tr->data_sha256, "data_rows",
                     (json_int_t)tr->data_rows));
  return j;
}

static void on_start(void *ud, const char *run_id)
{
  const char *experiment = ud;
  fprintf(stderr, "run %s started in experiment '%s'\n", run_id, experiment);
}

int cmd_train(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
      CLI_COMMON_LONGOPTS,
      TRAIN_FLAGS_LONGOPTS,
      {"init-from", required_argument, NULL, O_INIT},
      {"out", required_argument, NULL, O_OUT},
      {"experiment", required_argument, NULL, O_EXPERIMENT},
      {"run-name", required_argument, NULL, O_RUN_NAME},
      {0}};
  struct train_config cfg;
  train_flags_init(argc, argv, &cfg);
  struct trainrun_opts o = {.experiment = RUNS_DEFAULT_EXPERIMENT,
                            .keep_model = 1};
  struct hv_err err = {0};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    int tf = train_flags_apply(c, optarg, &cfg, &err);
    if (tf < 0)
      return cli_usage_error("train", "%s", err.msg);
    if (tf)
      continue;
    switch (c) {
    case 'h': help(); return 0;
    case O_INIT: o.init_from = optarg; break;
    case O_OUT: o.out_path = optarg; break;
    case O_EXPERIMENT: o.experiment = optarg; break;
    case O_RUN_NAME: o.run_name = optarg; break;
    default: return cli_usage_error("train", "bad option");
    }
  }
  if (optind < argc)
    return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
  if (!*o.experiment || strlen(o.experiment) > RUNS_MAX_NAME)
    return cli_usage_error("train", "--experiment must be 1-%d characters",
                           RUNS_MAX_NAME);
  if (o.run_name && (!*o.run_name || strlen(o.run_name) > RUNS_MAX_NAME))
    return cli_usage_error("train", "--run-name must be 1-%d characters",
                           RUNS_MAX_NAME);

  struct hv_db *db = NULL;
  struct trainrun_result tr;
  memset(&tr, 0, sizeof(tr));
  struct train_callbacks cb = {on_epoch, &cfg};
  o.home = ctx->home;
  o.cb = &cb;
  o.on_start = on_start;
  o.ud = (void *)o.experiment;
  int rc = cli_open_home(ctx, &db, &err);
  if (!rc)
    rc = trainrun_guard_install(db_path(db), &err);
  if (!rc)
    rc = trainrun_run(db, &cfg, &o, &tr, &err);
  if (!rc) {
    if (ctx->json) {
      cli_print_json(result_json(&tr, o.experiment, o.out_path));
    } else {
      print_table(&tr.train);
      printf("run    %s  (experiment %s)\nmodel  %s\n", tr.run_id,
             o.experiment, tr.model_uri);
      if (o.out_path)
        printf("copy   %s\n", o.out_path);
    }
  } else if (tr.run_id[0]) {
    fprintf(stderr, "run %s ended FAILED\n", tr.run_id);
  }
  trainrun_result_free(&tr);
  db_close(db);
  return rc ? cli_report(&err) : 0;
}

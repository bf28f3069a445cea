/*
 * cmd_train.c - `harvest train`: train the two-tower model on the home's
 * ratings as a tracked run (trainrun.h), print per-epoch progress (stderr),
 * the evaluation and the run id; the model is the run's artifact
 * (runs:/RUN_ID), --out writes an extra copy.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/train_flags.h"
#include "model/eval.h"
#include "model/model.h"
#include "recommend/retindex.h"
#include "store/db.h"
#include "track/artifacts.h"
#include "track/runs.h"
#include "train/dataset.h"
#include "train/dist.h"
#include "train/eval_metrics.h"
#include "train/trainrun.h"

static const char train_about[] =
    "Train the two-tower retrieval model (user tower . movie tower,\n"
    "in-batch softmax), or with --task ranking the ranking model (rating\n"
    "predictor: biased MF over the feature towers + an MLP, MSE; RMSE/MAE\n"
    "overall and per segment), on the ratings of the home's database as a\n"
    "tracked run: params, per-epoch loss, the evaluation on the held-out split,\n"
    "lineage (code version; rating range, row count and SHA-256 of the\n"
    "rows) and the model file as the run's artifact model/model.hvm.\n"
    "Prints the run id; the model is then runs:/RUN_ID (register it with\n"
    "'harvest models register --run RUN_ID').\n";

static const char train_more[] =
    "Ctrl-C (SIGINT) or SIGTERM ends the run KILLED; an error ends it\n"
    "FAILED (tag harvest.error).\n"
    "\n"
    "Data-parallel: mpirun -np N harvest train --distributed [flags] runs N\n"
    "replicas (Open MPI; --hostfile for several hosts), each computing its\n"
    "share of every batch; rank 0 alone logs the run (params world_size,\n"
    "dist_scheme; metrics dist_bytes_per_epoch, dist_comm_seconds),\n"
    "evaluates and writes the model. Without mpirun it runs as world size 1.\n"
    "Retrieval only, not with --init-from. --measure-allreduce times the\n"
    "allreduce of the ranks instead of training. See docs/distributed.md.\n"
    "\n"
    "Metrics: top_K_categorical_accuracy as TFRS FactorizedTopK: for each\n"
    "test (user, movie) all movies are scored; a hit at K when fewer than\n"
    "K movies score strictly higher (ties count as hits, tf.math.in_top_k);\n"
    "seen movies are not excluded. recall/ndcg exclude the user's train\n"
    "movies. loss = mean over batches of 4096 of the summed loss.\n"
    "Logged metric names: loss and epoch_seconds per epoch (step = epoch);\n"
    "the test split unprefixed (top_100_categorical_accuracy, recall_at_10,\n"
    "..., test_loss), the train split prefixed train_ (train_loss, ...).\n"
    "Popularity baseline: each movie scored by its count in the train split,\n"
    "ranked and masked as the model (same split, same rules), logged as\n"
    "baseline_popularity_top_K_categorical_accuracy, _recall_at_10, ...\n"
    "(row \"pop.\"); a warning when the model's top_100 or recall@10 is\n"
    "below it. See docs/evaluation.md.\n";

static const struct cli_spec train_spec = {
    .cmd = "train",
    .about = train_about,
    .more = train_more,
    .json_help = "print the result as JSON on stdout (adds run_id and "
                 "model_uri \"runs:/RUN_ID\")",
};

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

/* The evaluation after training, in retrain's and monitor's style: a
 * line when each part starts, its users as it goes, and when it ends. */
static void on_eval(void *ud, const struct train_eval_progress *p)
{
  (void)ud;
  if (p->finished)
    fprintf(stderr, "harvest train:   %s done (%zu users, %.2fs)\n", p->part,
            p->users_total, p->seconds);
  else if (p->users_total)
    fprintf(stderr, "harvest train:   %s: %zu/%zu users  %.1fs\n", p->part,
            p->users_done, p->users_total, p->seconds);
  else
    fprintf(stderr, "harvest train: evaluating %d/%d: the %s on %zu "
            "ratings\n", p->index, p->total, p->part, p->n_pairs);
}

/* The segment kinds the dataset lacks, and the user feature towers left
 * out with them. */
static void print_absent(unsigned absent)
{
  char kinds[32];
  eval_absent_segments(absent, kinds, sizeof(kinds));
  if (kinds[0])
    printf("segments by %s: not in this dataset (no user has one)\n", kinds);
}

/* The user feature towers when the dataset lacks some (param
 * user_features). */
static void print_towers(const struct hv_model *m)
{
  if (!m)
    return;
  struct train_config c;
  model_config(m, &c);
  unsigned on = model_user_features(m);
  if (!c.features || on == DATASET_UF_ALL)
    return;
  char list[40], off[40];
  dataset_user_features_str(on, list, sizeof(list));
  dataset_user_features_str(DATASET_UF_ALL & ~on, off, sizeof(off));
  printf("user feature towers: %s (%s: not in this dataset, no tower; "
         "param user_features)\n", list, off);
}

static void print_table(const struct train_result *r)
{
  printf("%-6s", "split");
  for (int k = 0; k < EVAL_NK; k++)
    printf("  top_%-4d", eval_ks[k]);
  printf("  %-10s %-9s %-9s %-8s %-8s\n", "loss", "recall@10", "recall@100",
         "ndcg@10", "cov@10");
  static const char *const rows[] = {"train", "test", "pop."};
  for (int s = 0; s < 3; s++) {
    const struct eval_metrics *m =
        s == 2 ? &r->baseline : s ? &r->test : &r->train;
    if (s == 1 && !r->has_test)
      continue;
    printf("%-6s", rows[s]);
    for (int k = 0; k < EVAL_NK; k++)
      printf("  %-8.4f", m->top_k[k]);
    if (s == 2)
      printf("  %-10s", "-");
    else
      printf("  %-10.2f", m->loss);
    printf(" %-9.4f %-10.4f %-8.4f %-8.4f\n", m->recall_at_10,
           m->recall_at_100, m->ndcg_at_10, m->coverage_at_10);
  }
}

/* Ranking runs: RMSE and MAE of each split, then per segment (test). */
static void print_rank_table(const struct train_result *r)
{
  printf("%-9s  %-8s  %-8s  %s\n", "split", "rmse", "mae", "pairs");
  printf("%-9s  %-8.4f  %-8.4f  %zu\n", "train", r->rank_train.rmse,
         r->rank_train.mae, r->rank_train.n);
  if (r->has_test)
    printf("%-9s  %-8.4f  %-8.4f  %zu\n", "test", r->rank_test.rmse,
           r->rank_test.mae, r->rank_test.n);
  printf("%-9s  %-8.4f  %-8.4f  %zu\n", "mean", r->rank_baseline.rmse,
         r->rank_baseline.mae, r->rank_baseline.n);
  const struct rank_metrics *m = r->has_test ? &r->rank_test : &r->rank_train;
  printf("\nper segment (%s split; gap %.4f):\n",
         r->has_test ? "test" : "train", m->seg_rmse_gap);
  for (int s = 0; s < EVAL_NSEG; s++) {
    char name[24];
    if (!m->seg_n[s])
      continue;
    eval_segment_name(s, name, sizeof(name));
    printf("  %-12s  %-8.4f  %-8.4f  %zu\n", name, m->seg_rmse[s],
           m->seg_mae[s], m->seg_n[s]);
  }
  print_absent(m->absent);
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
  int rank = r->task == MODEL_TASK_RANKING;
  json_t *j = json_pack(
      "{s:o, s:o, s:o, s:o, s:o, s:o?, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
      "s:I, s:f, s:f, s:f, s:f, s:I}",
      "config", trainrun_config_json(&used), "epoch_seconds", es, "epoch_loss",
      el, "train",
      rank ? rank_metrics_to_json(&r->rank_train)
           : eval_metrics_to_json(&r->train),
      rank ? "baseline_mean" : "baseline_popularity",
      rank ? rank_metrics_to_json(&r->rank_baseline)
           : eval_metrics_to_json(&r->baseline),
      "test",
      !r->has_test ? NULL
      : rank       ? rank_metrics_to_json(&r->rank_test)
                   : eval_metrics_to_json(&r->test),
      "model",
      out_path ? out_path : tr->model_uri, "sha256", sha, "n_ratings",
      (json_int_t)r->n_ratings, "n_train", (json_int_t)r->n_train, "n_test",
      (json_int_t)r->n_test, "n_users", (json_int_t)r->n_users, "n_movies",
      (json_int_t)r->n_movies, "new_users", (json_int_t)r->new_users,
      "new_movies", (json_int_t)r->new_movies, "epoch_seconds_mean", mean,
      "gemm_gflop_per_epoch", r->gemm_flop_per_epoch / 1e9, "gemm_gflops",
      mean > 0 ? r->gemm_flop_per_epoch / 1e9 / mean : 0.0, "eval_seconds",
      r->eval_seconds, "peak_rss_kb", (json_int_t)ru.ru_maxrss);
  if (j && r->world_size)
    json_object_update_new(
        j, json_pack("{s:i, s:s, s:f, s:f}", "world_size", r->world_size,
                     "dist_scheme", TRAIN_DIST_SCHEME, "dist_bytes_per_epoch",
                     r->comm_bytes_per_epoch, "dist_comm_seconds",
                     r->comm_seconds));
  if (j)
    json_object_update_new(
        j, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "run_id", tr->run_id,
                     "model_uri", tr->model_uri, "experiment", experiment,
                     "artifact", ARTIFACTS_MODEL_PATH, "data_sha256",
                     tr->data_sha256, "data_rows",
                     (json_int_t)tr->data_rows));
  if (j && tr->index.used)
    json_object_set_new(j, "index",
                        json_pack("{s:s, s:i, s:i, s:f}", "artifact",
                                  RETINDEX_ARTIFACT, "nlist", tr->index.nlist,
                                  "nprobe", tr->index.nprobe,
                                  "recall_at_100", tr->index.recall));
  return j;
}

static void on_start(void *ud, const char *run_id)
{
  const char *experiment = ud;
  fprintf(stderr, "run %s started in experiment '%s'\n", run_id, experiment);
}

/* The flags of the data-parallel mode. */
struct dist_flags {
  int on;      /* --distributed */
  int measure; /* --measure-allreduce */
};

/* Parse argv into f->cfg, o and df; 0, CLI_HELP or HV_EUSAGE (reported). */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct train_flags *f, struct trainrun_opts *o,
                 struct dist_flags *df, const char **index)
{
  const struct cli_opt opts[] = {
      {.type = CLI_GROUP, .sub = f->opts, .help = TRAIN_FLAGS_HEADING},
      {.type = CLI_SECTION, .help = "Run options:"},
      {CLI_OPT(CLI_STR, "experiment", 0, "NAME",
               "experiment of the run (default " RUNS_DEFAULT_EXPERIMENT ")",
               &o->experiment), .lo = 1, .hi = RUNS_MAX_NAME},
      {CLI_OPT(CLI_STR, "run-name", 0, "NAME",
               "name of the run (default run-<8 hex>)", &o->run_name),
       .lo = 1, .hi = RUNS_MAX_NAME},
      {CLI_OPT(CLI_STR, "init-from", 0, "URI",
               "continue training that model (weights and optimiser state; "
               "its dim and features win); new users and movies get new "
               "rows. URI: models:/NAME/Production, models:/NAME/3, "
               "models:/NAME@champion, runs:/RUN_ID, or a file",
               &o->init_from)},
      {CLI_OPT(CLI_STR, "out", 0, "FILE", "also write the model file to FILE "
               "(and its index to FILE.ivf)", &o->out_path)},
      {CLI_OPT(CLI_STR, "index", 0, "MODE", "the approximate retrieval index "
               "built with the model (artifact model/index.ivf, its recall@100 "
               "logged as index_recall_at_100): auto = from 20000 movies "
               "(default), ivf = always, exact = never", index)},
      {CLI_OPT(CLI_TRUE, "distributed", 0, NULL,
               "data-parallel training: start with 'mpirun -np N harvest "
               "train --distributed ...' (Open MPI; docs/distributed.md)",
               &df->on)},
      {CLI_OPT(CLI_TRUE, "measure-allreduce", 0, NULL,
               "with --distributed: time the ranks' allreduce (4 KiB to "
               "64 MiB) and print the bandwidth instead of training",
               &df->measure)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &train_spec, opts, argc, argv);
  struct hv_err e = {0};
  if (!rc && *index && retindex_parse_mode(*index, &o->index_mode, &e))
    rc = cli_usage_error("train", "%s", e.msg);
  return rc;
}

/* Print the finished run (rank 0 / the single process). */
static void print_result(const struct cli_ctx *ctx, struct trainrun_result *tr,
                         const struct trainrun_opts *o)
{
  char why[256];
  if (trainrun_loses_to_baseline(&tr->train, why, sizeof(why)))
    fprintf(stderr, "warning: %s; train longer or with the defaults "
                    "(not --tutorial)\n", why);
  if (ctx->json) {
    cli_print_json(result_json(tr, o->experiment, o->out_path));
    return;
  }
  if (tr->train.task == MODEL_TASK_RANKING) {
    print_rank_table(&tr->train);
    printf("mean = every rating predicted as the train split's mean "
           "(metrics baseline_mean_*)\n");
  } else {
    print_table(&tr->train);
    printf("pop. = popularity baseline on the %s split (metrics "
           "baseline_popularity_*)\n",
           tr->train.has_test ? "test" : "train");
    print_absent(tr->train.train.absent);
  }
  print_towers(tr->model);
  if (tr->train.world_size)
    printf("ranks  %d  (%s; %.1f MB exchanged per epoch per rank, %.2fs in "
           "the sums)\n", tr->train.world_size, TRAIN_DIST_SCHEME,
           tr->train.comm_bytes_per_epoch / 1e6, tr->train.comm_seconds);
  printf("run    %s  (experiment %s)\nmodel  %s\n", tr->run_id, o->experiment,
         tr->model_uri);
  if (o->out_path)
    printf("copy   %s\n", o->out_path);
  if (tr->index.used)
    printf("index  %s\n", tr->index.why);
}

/* --measure-allreduce: rank 0 prints the table (or JSON). */
static int measure_allreduce(const struct cli_ctx *ctx, struct dist *d,
                             struct hv_err *err)
{
  struct dist_bw rows[16];
  int n = dist_measure_allreduce(d, 0.25, rows, 16, err);
  if (n < 0 || d->hook.rank)
    return n < 0 ? n : 0;
  if (ctx->json) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
      json_array_append_new(
          a, json_pack("{s:I, s:i, s:f, s:f, s:f}", "bytes",
                       (json_int_t)rows[i].bytes, "reps", rows[i].reps,
                       "seconds", rows[i].seconds, "algbw_bytes_per_s",
                       rows[i].algbw, "busbw_bytes_per_s", rows[i].busbw));
    cli_print_json(json_pack("{s:i, s:o}", "world_size", d->hook.size,
                             "allreduce", a));
    return 0;
  }
  printf("MPI_Allreduce (float sum, in place), %d ranks\n", d->hook.size);
  printf("%12s  %6s  %12s  %12s  %12s\n", "bytes", "reps", "seconds",
         "algbw MB/s", "busbw MB/s");
  for (int i = 0; i < n; i++)
    printf("%12zu  %6d  %12.6f  %12.1f  %12.1f\n", rows[i].bytes,
           rows[i].reps, rows[i].seconds, rows[i].algbw / 1e6,
           rows[i].busbw / 1e6);
  return 0;
}

/* The ranks' part between dist_open and dist_finish (dist.h's agreement
 * points 1-3; train_run passes 2 and 3): rank 0 opens the home first (it
 * may create or migrate it) and runs the tracked run; the others open the
 * database only after point 1, when it is current, and train on it
 * without writing anything. */
static int dist_body(struct cli_ctx *ctx, struct train_config *cfg,
                     struct trainrun_opts *o, struct train_callbacks *cb,
                     struct dist *d,
                     struct hv_db **db, struct trainrun_result *tr,
                     struct hv_err *err)
{
  const int root = d->hook.rank == 0;
  int rc = 0;
  if (root) {
    rc = cli_open_home(ctx, db, err);
    if (!rc)
      rc = trainrun_guard_install(db_path(*db), err);
  }
  rc = dist_agree(d, rc, 0, "home", err);
  if (rc)
    return rc;
  if (root) {
    cb->dist = &d->hook;
    o->cb = cb;
    return trainrun_run(*db, cfg, o, tr, err);
  }
  char path[4096];
  struct stat st;
  if (db_home_path(ctx->home, ctx->db, path, sizeof(path), err))
    return err->code;
  /* never create a database: each host reads rank 0's (the same file
   * or the same --db URL), docs/distributed.md */
  if (!db_is_url(path) && stat(path, &st))
    return hv_err_set(err, HV_ENOTFOUND, "no database at %s on this host; "
                      "every rank needs rank 0's home (a shared folder) or "
                      "--db postgresql://...", path);
  if (db_open(path, db, err))
    return err->code;
  struct train_callbacks quiet = {NULL, NULL, &d->hook, NULL};
  return dataset_train(*db, cfg, NULL, &quiet, &tr->train, &tr->model, err);
}

/* harvest train --distributed (and --measure-allreduce). */
static int train_distributed(struct cli_ctx *ctx, struct train_flags *f,
                             struct trainrun_opts *o,
                             const struct dist_flags *df)
{
  struct train_config *cfg = &f->cfg;
  struct hv_err err = {0};
  if (df->measure && !df->on)
    return cli_usage_error("train", "--measure-allreduce needs "
                           "--distributed (under mpirun)");
  if (cfg->task == MODEL_TASK_RANKING)
    return cli_usage_error("train", "--distributed trains retrieval models "
                           "only; train the ranking model without it");
  if (o->init_from)
    return cli_usage_error("train", "--distributed does not continue a "
                           "model (--init-from); train afresh or without "
                           "--distributed");
  struct dist d;
  if (dist_open(&d, &err))
    return cli_report(&err);
  if (df->measure) {
    int rc = measure_allreduce(ctx, &d, &err);
    dist_close(&d);
    return rc ? cli_report(&err) : 0;
  }
  struct hv_db *db = NULL;
  struct trainrun_result tr;
  memset(&tr, 0, sizeof(tr));
  struct train_callbacks cb = {on_epoch, cfg, NULL, on_eval};
  o->home = ctx->home;
  o->cb = &cb;
  o->on_start = on_start;
  o->ud = (void *)o->experiment;
  const int root = d.hook.rank == 0;
  int rc = dist_body(ctx, cfg, o, &cb, &d, &db, &tr, &err);
  if (rc && d.in_batches)
    dist_abort(&d, &err); /* the others wait in a batch's sum */
  if (rc) {
    fprintf(stderr, "harvest: rank %d of %d: error: %s\n", d.hook.rank,
            d.hook.size, err.msg[0] ? err.msg : hv_strerror(rc));
    if (root && tr.run_id[0])
      fprintf(stderr, "run %s ended FAILED\n", tr.run_id);
  } else if (root) {
    print_result(ctx, &tr, o);
  }
  struct hv_err fin = err;
  int frc = dist_finish(&d, rc, &fin);
  if (!rc && frc && root)
    fprintf(stderr, "warning: %s (after the run was complete)\n", fin.msg);
  else if (!rc && frc)
    rc = cli_report(&fin);
  trainrun_result_free(&tr);
  db_close(db);
  return rc;
}

int cmd_train(struct cli_ctx *ctx, int argc, char **argv)
{
  struct train_flags f;
  train_flags_init(&f);
  struct train_config *cfg = &f.cfg;
  struct trainrun_opts o = {.experiment = RUNS_DEFAULT_EXPERIMENT,
                            .keep_model = 1};
  struct hv_err err = {0};
  struct dist_flags df = {0, 0};
  const char *index = NULL;
  int rc = parse(ctx, argc, argv, &f, &o, &df, &index);
  if (rc)
    return cli_parse_rc(rc);
  if (df.on || df.measure)
    return train_distributed(ctx, &f, &o, &df);
  struct hv_db *db = NULL;
  struct trainrun_result tr;
  memset(&tr, 0, sizeof(tr));
  struct train_callbacks cb = {on_epoch, cfg, NULL, on_eval};
  o.home = ctx->home;
  o.cb = &cb;
  o.on_start = on_start;
  o.ud = (void *)o.experiment;
  rc = cli_open_home(ctx, &db, &err);
  if (!rc)
    rc = trainrun_guard_install(db_conn(db), &err);
  if (!rc)
    rc = trainrun_run(db, cfg, &o, &tr, &err);
  if (!rc)
    print_result(ctx, &tr, &o);
  else if (tr.run_id[0])
    fprintf(stderr, "run %s ended FAILED\n", tr.run_id);
  trainrun_result_free(&tr);
  db_close(db);
  return rc ? cli_report(&err) : 0;
}

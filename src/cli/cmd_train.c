/*
 * cmd_train.c - `harvest train`: train the two-tower model on the home's
 * ratings, print per-epoch progress (stderr) and the evaluation, write the
 * model file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "model/eval.h"
#include "model/model.h"
#include "model/train.h"
#include "store/db.h"
#include "util/fsutil.h"
#include "util/parse.h"

static void help(void)
{
  printf(
      "Usage: harvest train [options]\n\n"
      "Train the two-tower retrieval model (user tower . movie tower,\n"
      "in-batch softmax) on the ratings of the home's database, evaluate it\n"
      "on the held-out split and write the model file.\n\n"
      "Options (defaults = the best configuration found on ml-100k, test\n"
      "top-100 0.414 vs the PyTorch peer's best 0.395):\n"
      "  --dim N              embedding size (default 64)\n"
      "  --lr X               learning rate (default 0.05)\n"
      "  --optimizer NAME     adagrad (init accumulator 0.1, as Keras) or\n"
      "                       adam (default adagrad)\n"
      "  --epochs N           passes over the train split (default 8)\n"
      "  --batch N            ratings per step (default 8192)\n"
      "  --split X            train fraction of the shuffled ratings\n"
      "                       (default 0.8; 1 = no test split)\n"
      "  --seed N             split = numpy RandomState(N).permutation, as\n"
      "                       the PyTorch peer; also init and shuffles (42)\n"
      "  --ratings FIRST:LAST train on rating_id FIRST..LAST (default all)\n"
      "  --features, --no-features  feature towers (age, gender, occupation;\n"
      "                       genres, release year) (default on)\n"
      "  --l2 X               L2 on the tower outputs per row (default 0.05)\n"
      "  --temperature X      logits / X (default 1)\n"
      "  --logq, --no-logq    logQ popularity correction (default on)\n"
      "  --remove-accidental-hits  a row's movie elsewhere in the batch is\n"
      "                       not a negative (default off)\n"
      "  --tutorial           the TFRS tutorial configuration: dim 32,\n"
      "                       Adagrad 0.1, 3 epochs, batch 8192, no logQ,\n"
      "                       no features, no L2;\n"
      "                       later flags override it\n"
      "  --init-from FILE     continue training that model (weights and\n"
      "                       optimiser state; its dim and features win);\n"
      "                       new users and movies get new rows\n"
      "  --threads N          OpenBLAS threads (default: OPENBLAS_NUM_THREADS\n"
      "                       or all cores); 1 = bit-for-bit deterministic\n"
      "  --eval-every N       evaluate the test split every N epochs\n"
      "  --out FILE           model file (default\n"
      "                       HOME/models/model-<UTC time>.hvm)\n"
      "  --json               print the result as JSON on stdout\n"
      "  --home DIR           data folder\n\n"
      "Metrics: top_K_categorical_accuracy as TFRS FactorizedTopK: for each\n"
      "test (user, movie) all movies are scored; a hit at K when fewer than\n"
      "K movies score strictly higher (ties count as hits, tf.math.in_top_k);\n"
      "seen movies are not excluded. recall/ndcg exclude the user's train\n"
      "movies. loss = mean over batches of 4096 of the summed loss.\n");
}

enum {
  O_DIM = 0x2000, O_LR, O_OPT, O_EPOCHS, O_BATCH, O_SPLIT, O_SEED, O_RATINGS,
  O_FEATURES, O_NOFEATURES, O_L2, O_TEMP, O_LOGQ, O_NOLOGQ, O_HITS,
  O_TUTORIAL, O_INIT, O_THREADS, O_OUT, O_EVAL_EVERY
};

static int parse_opt(int c, const char *arg, struct train_config *cfg,
                     const char **init, const char **out, struct hv_err *e)
{
  int64_t v;
  switch (c) {
  case O_DIM:
    return hv_parse_i64(arg, 1, 1024, &v, "--dim", e) ? -1 : (cfg->dim = (int)v, 0);
  case O_EPOCHS:
    return hv_parse_i64(arg, 0, 10000, &v, "--epochs", e) ? -1 : (cfg->epochs = (int)v, 0);
  case O_BATCH:
    return hv_parse_i64(arg, 1, 1 << 20, &v, "--batch", e) ? -1 : (cfg->batch = (int)v, 0);
  case O_SEED:
    return hv_parse_i64(arg, 0, INT64_MAX, &v, "--seed", e) ? -1 : (cfg->seed = (uint64_t)v, 0);
  case O_THREADS:
    return hv_parse_i64(arg, 1, 256, &v, "--threads", e) ? -1 : (cfg->threads = (int)v, 0);
  case O_EVAL_EVERY:
    return hv_parse_i64(arg, 0, 10000, &v, "--eval-every", e) ? -1 : (cfg->eval_every = (int)v, 0);
  case O_LR:
    return hv_parse_f64(arg, 1e-9, 100, &cfg->lr, "--lr", e) ? -1 : 0;
  case O_SPLIT:
    return hv_parse_f64(arg, 1e-9, 1, &cfg->split, "--split", e) ? -1 : 0;
  case O_L2:
    return hv_parse_f64(arg, 0, 1e6, &cfg->l2, "--l2", e) ? -1 : 0;
  case O_TEMP:
    return hv_parse_f64(arg, 1e-5, 1e6, &cfg->temperature, "--temperature", e) ? -1 : 0;
  case O_RATINGS:
    return hv_parse_range(arg, &cfg->first_rating_id, &cfg->last_rating_id,
                          "--ratings", e) ? -1 : 0;
  case O_OPT:
    if (!strcmp(arg, "adagrad"))
      cfg->optimizer = MODEL_OPT_ADAGRAD;
    else if (!strcmp(arg, "adam"))
      cfg->optimizer = MODEL_OPT_ADAM;
    else
      return hv_err_set(e, HV_EUSAGE, "--optimizer: '%s' is not adagrad or adam", arg), -1;
    return 0;
  case O_FEATURES: cfg->features = 1; return 0;
  case O_NOFEATURES: cfg->features = 0; return 0;
  case O_LOGQ: cfg->logq = 1; return 0;
  case O_NOLOGQ: cfg->logq = 0; return 0;
  case O_HITS: cfg->remove_accidental_hits = 1; return 0;
  case O_TUTORIAL: return 0; /* applied before the other flags */
  case O_INIT: *init = arg; return 0;
  case O_OUT: *out = arg; return 0;
  }
  return hv_err_set(e, HV_EUSAGE, "bad option"), -1;
}

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

static json_t *result_json(const struct train_config *c,
                           const struct train_result *r, const char *path,
                           const struct hv_model *m)
{
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
  (void)c;
  return json_pack(
      "{s:o, s:o, s:o, s:o, s:o?, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
      "s:I, s:f, s:f, s:f, s:f, s:I}",
      "config", train_config_json(&used), "epoch_seconds", es, "epoch_loss",
      el, "train", eval_metrics_json(&r->train), "test",
      r->has_test ? eval_metrics_json(&r->test) : NULL, "model", path,
      "sha256", sha, "n_ratings", (json_int_t)r->n_ratings, "n_train",
      (json_int_t)r->n_train, "n_test", (json_int_t)r->n_test, "n_users",
      (json_int_t)r->n_users, "n_movies", (json_int_t)r->n_movies,
      "new_users", (json_int_t)r->new_users, "new_movies",
      (json_int_t)r->new_movies, "epoch_seconds_mean", mean,
      "gemm_gflop_per_epoch", r->gemm_flop_per_epoch / 1e9,
      "gemm_gflops", mean > 0 ? r->gemm_flop_per_epoch / 1e9 / mean : 0.0,
      "eval_seconds", r->eval_seconds, "peak_rss_kb", (json_int_t)ru.ru_maxrss);
}

/* HOME/models/model-<UTC time>-<usec>.hvm into buf. */
static int default_out(const struct cli_ctx *ctx, char *buf, size_t cap,
                       struct hv_err *err)
{
  char dir[4096], name[96];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(name, sizeof(name), "model-%04d%02d%02dT%02d%02d%02d-%06ldZ.hvm",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
  if (hv_path_join(dir, sizeof(dir), ctx->home, "models", err) ||
      hv_mkdir_p(dir, err) || hv_path_join(buf, cap, dir, name, err))
    return err->code;
  return 0;
}

int cmd_train(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
      CLI_COMMON_LONGOPTS,
      {"dim", required_argument, NULL, O_DIM},
      {"lr", required_argument, NULL, O_LR},
      {"optimizer", required_argument, NULL, O_OPT},
      {"epochs", required_argument, NULL, O_EPOCHS},
      {"batch", required_argument, NULL, O_BATCH},
      {"split", required_argument, NULL, O_SPLIT},
      {"seed", required_argument, NULL, O_SEED},
      {"ratings", required_argument, NULL, O_RATINGS},
      {"features", no_argument, NULL, O_FEATURES},
      {"no-features", no_argument, NULL, O_NOFEATURES},
      {"l2", required_argument, NULL, O_L2},
      {"temperature", required_argument, NULL, O_TEMP},
      {"logq", no_argument, NULL, O_LOGQ},
      {"no-logq", no_argument, NULL, O_NOLOGQ},
      {"remove-accidental-hits", no_argument, NULL, O_HITS},
      {"tutorial", no_argument, NULL, O_TUTORIAL},
      {"init-from", required_argument, NULL, O_INIT},
      {"threads", required_argument, NULL, O_THREADS},
      {"eval-every", required_argument, NULL, O_EVAL_EVERY},
      {"out", required_argument, NULL, O_OUT},
      {0}};
  struct train_config cfg;
  train_config_defaults(&cfg);
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--tutorial"))
      train_config_tutorial(&cfg);
  const char *init_path = NULL, *out_path = NULL;
  struct hv_err err = {0};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    if (c == 'h') {
      help();
      return 0;
    }
    if (c == '?')
      return cli_usage_error("train", "bad option");
    if (parse_opt(c, optarg, &cfg, &init_path, &out_path, &err))
      return cli_usage_error("train", "%s", err.msg);
  }
  if (optind < argc)
    return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);

  struct hv_db *db = NULL;
  struct hv_model *init = NULL, *m = NULL;
  struct train_result res;
  char path[4096];
  memset(&res, 0, sizeof(res));
  struct train_callbacks cb = {on_epoch, &cfg};
  int rc = cli_open_home(ctx, &db, &err);
  if (!rc && init_path)
    rc = model_load(init_path, &init, &err);
  if (!rc && !out_path)
    rc = default_out(ctx, path, sizeof(path), &err);
  if (!rc && out_path)
    snprintf(path, sizeof(path), "%s", out_path);
  if (!rc)
    rc = train_run(db, &cfg, init, &cb, &res, &m, &err);
  if (!rc)
    rc = model_save(m, path, &err);
  if (!rc) {
    if (ctx->json) {
      cli_print_json(result_json(&cfg, &res, path, m));
    } else {
      print_table(&res);
      printf("model  %s\n", path);
    }
  }
  train_result_free(&res);
  model_free(m);
  model_free(init);
  db_close(db);
  return rc ? cli_report(&err) : 0;
}

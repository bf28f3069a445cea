/*
 * cmd_demo.c - `harvest demo`: the whole loop end to end (monitor/demo.h):
 * synthetic data with planted drift, tuning, Production, the server
 * (started in-process here through serve/server.h on 127.0.0.1), a
 * week-by-week replay through the HTTP API, monitoring, retraining and
 * promotion; prints the timeline and the comparisons and writes the HTML
 * report.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/retrain_flags.h"
#include "demo/demo.h"
#include "serve/http/server.h"
#include "util/parse.h"

static void help(void)
{
  printf(
      "Usage: harvest demo [--dataset synth|ml-100k] [--weeks N] [--port P]\n"
      "                    [--seed S] [--report-dir DIR] [--json] [options]\n"
      "\n"
      "Run the continual-learning loop end to end on a fresh home, offline:\n"
      "generate a synthetic dataset with a planted sudden drift (or use the\n"
      "home's imported ml-100k), keep the first --train-weeks weeks in the\n"
      "database and move every later rating to memory (deleted in one\n"
      "transaction), tune a small grid on the training weeks and register\n"
      "the best into Production, start the server on 127.0.0.1, then replay\n"
      "the later ratings in time order, week by week, through POST\n"
      "/users/add_user_rating/ while clients ask GET\n"
      "/movies/recommend/{user}/10 (checking X-Model-Version). After each\n"
      "week: monitor the serving model on the week's ratings, let the\n"
      "retraining policy decide, retrain statefully (and from scratch, for\n"
      "the comparison) and promote when the challenger wins; the server\n"
      "swaps the new model in without a restart.\n"
      "\n"
      "Prints the timeline (week, new ratings, top-100 accuracy of the\n"
      "serving model and of the never-retrained one, drift verdict, action,\n"
      "model version serving), the stateful-vs-scratch table and the\n"
      "never-retrained-vs-retrained summary, with the count of failed HTTP\n"
      "requests; writes the same as HTML with inline SVG charts into\n"
      "<home>/reports/demo-<time>.html.\n"
      "\n"
      "Options:\n"
      "  --dataset NAME        synth (default) or ml-100k (import it first)\n"
      "  --weeks N             replay at most N weeks (default: all)\n"
      "  --train-weeks N       weeks of data for the first model (4)\n"
      "  --port P              server port on 127.0.0.1 (default: a free "
      "one)\n"
      "  --seed S              synth seed (42)\n"
      "  --users N --movies N --ratings N --days N\n"
      "                        synth size (2000, 1000, 200000, 120)\n"
      "  --drift KIND          synth drift: sudden (default), gradual, none\n"
      "  --grid KEY=V1,V2      tuning axis (repeatable, up to 4; default\n"
      "                        dim=32,64 and lr=0.05,0.1)\n"
      "  --epochs N            epochs of the tune trials and retrainings (8)\n"
      "  --replay X --holdout X --margin X   retraining (0.2, 0.2, 0)\n"
      "  --no-compare          do not train the from-scratch comparison\n"
      "  --batch N             ratings per POST (500)\n"
      "  --clients N           background recommendation clients (1)\n"
      "  --model NAME          registered model name (harvest_recommender)\n"
      "  --report-dir DIR      where the HTML report goes\n"
      "  --json                print the result as JSON\n"
      "  --home DIR            data folder (fresh for synth)\n\n"
      "Policy (default here: --on-dataset-drift --min-top100 0.25):\n");
  retrain_flags_help_policy(stdout);
}

/* The server, in-process. */
struct srv {
  struct serve *s;
  int port;
};

static int srv_start(void *ud, const char *home, const char *model,
                     int *port, struct hv_err *err)
{
  struct srv *x = ud;
  struct serve_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.home = home;
  cfg.host = "127.0.0.1";
  cfg.port = x->port;
  cfg.threads = 2;
  cfg.model_name = model;
  cfg.access_log = 0;
  cfg.poll_seconds = 0.25;
  if (serve_start(&cfg, &x->s, err))
    return err->code;
  *port = serve_port(x->s);
  return 0;
}

static void srv_stop(void *ud)
{
  struct srv *x = ud;
  serve_stop(x->s, 5.0);
  x->s = NULL;
}

static void progress(void *ud, const char *line)
{
  (void)ud;
  fprintf(stderr, "demo: %s\n", line);
}

enum {
  OPT_DATASET = 0x3300, OPT_WEEKS, OPT_TRAIN_WEEKS, OPT_PORT, OPT_USERS,
  OPT_MOVIES, OPT_RATINGS, OPT_DAYS, OPT_DRIFT_KIND, OPT_GRID, OPT_BATCH,
  OPT_CLIENTS, OPT_NO_COMPARE, OPT_REPORT_DIR
};

static int i64(const char *arg, int64_t lo, int64_t hi, const char *what,
               int64_t *out)
{
  struct hv_err e = {0};
  if (hv_parse_i64(arg, lo, hi, out, what, &e))
    return cli_usage_error("demo", "%s", e.msg);
  return 0;
}

/* Demo-only flags; 1 consumed, 0 not one, HV_EUSAGE. */
static int demo_opt(struct demo_config *c, struct srv *x, int *grid_given,
                    int opt, const char *arg)
{
  int64_t v;
  struct hv_err e = {0};
  switch (opt) {
  case OPT_DATASET: c->dataset = arg; return 1;
  case OPT_REPORT_DIR: c->report_dir = arg; return 1;
  case OPT_NO_COMPARE: c->compare = 0; return 1;
  case OPT_GRID:
    if (!*grid_given) { /* the first --grid replaces the default grid */
      *grid_given = 1;
      c->n_grid = 0;
    }
    if (c->n_grid == DEMO_MAX_GRID)
      return cli_usage_error("demo", "at most %d --grid axes",
                             DEMO_MAX_GRID);
    c->grid[c->n_grid++] = arg;
    return 1;
  case OPT_DRIFT_KIND:
    if (synth_drift_parse(arg, &c->synth.drift, &e))
      return cli_usage_error("demo", "%s", e.msg);
    return 1;
  case OPT_WEEKS:
    if (i64(arg, 1, 520, "--weeks", &v))
      return HV_EUSAGE;
    c->weeks = (int)v;
    return 1;
  case OPT_TRAIN_WEEKS:
    if (i64(arg, 1, 520, "--train-weeks", &v))
      return HV_EUSAGE;
    c->train_weeks = (int)v;
    return 1;
  case OPT_PORT:
    if (i64(arg, 0, 65535, "--port", &v))
      return HV_EUSAGE;
    x->port = (int)v;
    return 1;
  case OPT_USERS: return i64(arg, 1, 10000000, "--users", &c->synth.users)
                             ? HV_EUSAGE : 1;
  case OPT_MOVIES: return i64(arg, 1, 1000000, "--movies", &c->synth.movies)
                              ? HV_EUSAGE : 1;
  case OPT_RATINGS: return i64(arg, 1, 100000000, "--ratings",
                               &c->synth.ratings) ? HV_EUSAGE : 1;
  case OPT_DAYS: return i64(arg, 1, 36500, "--days", &c->synth.days)
                            ? HV_EUSAGE : 1;
  case OPT_BATCH:
    if (i64(arg, 1, 10000, "--batch", &v))
      return HV_EUSAGE;
    c->batch = (int)v;
    return 1;
  case OPT_CLIENTS:
    if (i64(arg, 0, 16, "--clients", &v))
      return HV_EUSAGE;
    c->load_clients = (int)v;
    return 1;
  default:
    return 0;
  }
}

/* ---- output ------------------------------------------------------------ */

static void fmt4(char *buf, size_t cap, double v)
{
  if (isnan(v))
    snprintf(buf, cap, "-");
  else
    snprintf(buf, cap, "%.4f", v);
}

static void print_timeline(const struct demo_result *r)
{
  printf("\n%-5s %9s %9s %9s %-6s %-28s %-12s %s\n", "week", "new", "top-100",
         "never", "drift", "drifted features", "action", "serving");
  for (size_t i = 0; i < r->n_weeks; i++) {
    const struct demo_week *w = &r->weeks[i];
    char a[16], b[16], act[48], feats[29];
    fmt4(a, sizeof(a), w->top100);
    fmt4(b, sizeof(b), w->top100_never);
    if (w->stateful_promoted)
      snprintf(act, sizeof(act), "promoted v%d", w->version_after);
    else
      snprintf(act, sizeof(act), "%s", w->action);
    snprintf(feats, sizeof(feats), "%s", w->drifted[0] ? w->drifted : "-");
    printf("%-5d %9lld %9s %9s %-6s %-28s %-12s v%d\n", w->week,
           (long long)w->new_ratings, a, b,
           w->dataset_drift == 1 ? "DRIFT" : w->dataset_drift == 0 ? "no"
                                                                   : "-",
           feats, act, w->version);
  }
}

static void print_compare(const struct demo_result *r)
{
  printf("\nstateful vs from-scratch retraining (same held-out slice; "
         "train seconds)\n");
  printf("%-5s %10s %10s %9s %9s %10s %9s %9s %-10s %7s\n", "week",
         "champion", "stateful", "secs", "ratings", "scratch", "secs",
         "ratings", "action", "swap s");
  for (size_t i = 0; i < r->n_weeks; i++) {
    const struct demo_week *w = &r->weeks[i];
    if (isnan(w->stateful_top100))
      continue;
    char a[16], b[16], c[16], sw[16];
    fmt4(a, sizeof(a), w->champion_top100);
    fmt4(b, sizeof(b), w->stateful_top100);
    fmt4(c, sizeof(c), w->scratch_top100);
    if (isnan(w->swap_seconds))
      snprintf(sw, sizeof(sw), "-");
    else
      snprintf(sw, sizeof(sw), "%.2f", w->swap_seconds);
    printf("%-5d %10s %10s %9.3f %9zu %10s %9.3f %9zu %-10s %7s\n", w->week,
           a, b, w->stateful_seconds, w->stateful_ratings, c,
           w->scratch_seconds, w->scratch_ratings, w->action, sw);
  }
  char a[16], b[16];
  fmt4(a, sizeof(a), r->stateful_mean_top100);
  fmt4(b, sizeof(b), r->scratch_mean_top100);
  printf("%-5s %10s %10s %9.3f %9s %10s %9.3f\n", "mean", "", a,
         r->stateful_mean_seconds, "", b, r->scratch_mean_seconds);
  fmt4(a, sizeof(a), r->never_mean_all);
  fmt4(b, sizeof(b), r->serving_mean_all);
  printf("\nnever retrained vs retrained, mean top-100: all weeks %s vs %s",
         a, b);
  if (r->first_promotion_week) {
    fmt4(a, sizeof(a), r->never_mean_later);
    fmt4(b, sizeof(b), r->serving_mean_later);
    printf("; weeks %d-%zu (after the first promotion) %s vs %s",
           r->first_promotion_week + 1, r->n_weeks, a, b);
  }
  printf("\n");
}

static void print_text(const struct demo_result *r)
{
  print_timeline(r);
  print_compare(r);
  int64_t failed = r->posts_failed + r->recs_failed + r->load_failed;
  printf("\nHTTP requests: %lld (%lld POST batches, %lld recommendations), "
         "failed: %lld; version regressions: %lld\n",
         (long long)(r->posts_ok + r->recs_ok + r->load_ok + failed),
         (long long)(r->posts_ok + r->posts_failed),
         (long long)(r->recs_ok + r->load_ok + r->recs_failed +
                     r->load_failed),
         (long long)failed, (long long)r->version_regressions);
  if (r->first_failure[0])
    printf("first failure: %s\n", r->first_failure);
  printf("%d retraining%s, %d promotion%s; Production is v%d\n",
         r->n_retrains, r->n_retrains == 1 ? "" : "s", r->n_promotions,
         r->n_promotions == 1 ? "" : "s", r->final_version);
  printf("report: %s\n", r->report_path);
  printf("demo finished in %.1f s\n", r->seconds);
}

int cmd_demo(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
      CLI_COMMON_LONGOPTS,
      RETRAIN_POLICY_LONGOPTS,
      {"model", required_argument, NULL, RF_MODEL},
      {"replay", required_argument, NULL, RF_REPLAY},
      {"margin", required_argument, NULL, RF_MARGIN},
      {"holdout", required_argument, NULL, RF_HOLDOUT},
      {"epochs", required_argument, NULL, RF_EPOCHS},
      {"seed", required_argument, NULL, RF_SEED},
      {"dataset", required_argument, NULL, OPT_DATASET},
      {"weeks", required_argument, NULL, OPT_WEEKS},
      {"train-weeks", required_argument, NULL, OPT_TRAIN_WEEKS},
      {"port", required_argument, NULL, OPT_PORT},
      {"users", required_argument, NULL, OPT_USERS},
      {"movies", required_argument, NULL, OPT_MOVIES},
      {"ratings", required_argument, NULL, OPT_RATINGS},
      {"days", required_argument, NULL, OPT_DAYS},
      {"drift", required_argument, NULL, OPT_DRIFT_KIND},
      {"grid", required_argument, NULL, OPT_GRID},
      {"batch", required_argument, NULL, OPT_BATCH},
      {"clients", required_argument, NULL, OPT_CLIENTS},
      {"no-compare", no_argument, NULL, OPT_NO_COMPARE},
      {"report-dir", required_argument, NULL, OPT_REPORT_DIR},
      {0}};
  struct demo_config cfg;
  demo_config_defaults(&cfg);
  struct retrain_flags f;
  retrain_flags_init(&f);
  struct srv x = {NULL, 0};
  int grid_given = 0, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    if (c == 'h') {
      help();
      return 0;
    }
    int r = demo_opt(&cfg, &x, &grid_given, c, optarg);
    if (r == 0)
      r = retrain_flags_opt(&f, c, optarg, "demo");
    if (r < 0)
      return r;
    if (r == 0)
      return cli_usage_error("demo", "bad option");
  }
  if (optind < argc)
    return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
  if (strcmp(cfg.dataset, "synth") && strcmp(cfg.dataset, "ml-100k"))
    return cli_usage_error("demo", "--dataset must be synth or ml-100k, "
                           "not '%s'", cfg.dataset);
  int own_policy = f.n_set > 0 || f.policy_file;
  int rc = retrain_flags_finish(&f, "demo");
  if (rc)
    return rc;
  if (own_policy)
    cfg.policy = f.policy;
  if (f.opts.seed)
    cfg.synth.seed = f.opts.seed;
  if (f.opts.epochs)
    cfg.epochs = f.opts.epochs;
  cfg.replay = f.opts.replay;
  cfg.holdout = f.opts.holdout;
  cfg.margin = f.opts.margin;
  cfg.model_name = f.opts.model_name;
  cfg.home = ctx->home;
  cfg.server = (struct demo_server){srv_start, srv_stop, &x};
  if (!ctx->json) {
    cfg.progress = progress;
    cfg.ud = NULL;
  }
  struct demo_result res;
  struct hv_err err = {0};
  if (demo_run(&cfg, &res, &err))
    return cli_report(&err);
  if (ctx->json)
    cli_print_json(demo_result_to_json(&res));
  else
    print_text(&res);
  int64_t failed = res.posts_failed + res.recs_failed + res.load_failed;
  demo_result_free(&res);
  if (failed) {
    fprintf(stderr, "harvest: error: %lld HTTP request%s failed\n",
            (long long)failed, failed == 1 ? "" : "s");
    return HV_EIO;
  }
  return 0;
}

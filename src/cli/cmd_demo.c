/*
 * cmd_demo.c - `harvest demo`: the whole loop end to end (monitor/demo.h):
 * synthetic data with planted drift, tuning, Production, the server
 * (started in-process here through serve/server.h on 127.0.0.1), a
 * week-by-week replay through the HTTP API, monitoring, retraining and
 * promotion; prints the timeline and the comparisons and writes the HTML
 * report.
 */
#include <math.h>
#include <stdio.h>
#include <assert.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/retrain_flags.h"
#include "demo/demo.h"
#include "serve/http/server.h"
#include "serve/http/tokens.h"
#include "store/db.h"
#include "util/fsutil.h"

static const struct cli_spec demo_spec = {
    .cmd = "demo",
    .usage =
        "[--dataset synth|ml-100k] [--weeks N] [--port P]\n"
        "                    [--seed S] [--report-dir DIR] [--json] [options]",
    .about =
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
        "requests, and names every week in which a freshly promoted version\n"
        "did worse than the never-retrained model; writes the same as HTML\n"
        "with inline SVG charts into <home>/reports/demo-<time>.html, its\n"
        "runs, versions and monitoring runs linked into the UI at --ui-url.\n",
    .home_help = "data folder (fresh for synth)",
};

/* The server, in-process. */
struct srv {
  struct serve *s;
  int port;
};

/* An operator's API token for the replay's rating writes (an account
 * "demo" in the fresh home, its token valid for a day). */
static int demo_token(const char *home, char *token, size_t cap,
                      struct hv_err *err)
{
  char path[4096], tok[TOKENS_TEXT_MAX];
  struct hv_db *db = NULL;
  if (hv_path_join(path, sizeof(path), home, "harvest.db", err) ||
      db_open(path, &db, err))
    return err->code;
  int rc = tokens_service(db, "demo", "operator", 86400, "harvest demo "
                          "replay", tok, err);
  db_close(db);
  if (!rc)
    snprintf(token, cap, "%s", tok);
  return rc;
}

static int srv_start(void *ud, const char *home, const char *model,
                     int *port, char *token, size_t cap, struct hv_err *err)
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
  /* the replay writes ratings for many users as an operator would (a
   * backfill): with an operator's token, not the seed's open shape */
  if (demo_token(home, token, cap, err) || serve_start(&cfg, &x->s, err))
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

static const char *const datasets[] = {"synth", "ml-100k", NULL};

/* What the demo's flags set besides the config. */
struct demo_args {
  int dataset;                      /* index in datasets */
  const char *grid[DEMO_MAX_GRID];  /* --grid axes given */
  int n_grid;
};

/* The demo's own flags (the policy ones are f's table). */
static void demo_table(struct demo_config *c, struct srv *x,
                       struct demo_args *a, struct cli_opt t[24])
{
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_CHOICE, "dataset", 0, "NAME",
               "synth (default) or ml-100k (import it first)", &a->dataset),
       .choices = datasets},
      {CLI_OPT(CLI_INT, "weeks", 0, "N", "replay at most N weeks (default: "
               "all)", &c->weeks), .lo = 1, .hi = 520},
      {CLI_OPT(CLI_INT, "train-weeks", 0, "N", "weeks of data for the first "
               "model (4)", &c->train_weeks), .lo = 1, .hi = 520},
      {CLI_OPT(CLI_INT, "port", 0, "P", "server port on 127.0.0.1 (default: "
               "a free one)", &x->port), .hi = 65535},
      {CLI_OPT(CLI_U64, "seed", 0, "S", "synth seed (42)", &c->synth.seed),
       .lo = 1, .hi = INT64_MAX},
      {CLI_OPT(CLI_I64, "users", 0, "N", "synth users (2000)",
               &c->synth.users), .lo = 1, .hi = 10000000},
      {CLI_OPT(CLI_I64, "movies", 0, "N", "synth movies (1000)",
               &c->synth.movies), .lo = 1, .hi = 1000000},
      {CLI_OPT(CLI_I64, "ratings", 0, "N", "synth ratings (200000)",
               &c->synth.ratings), .lo = 1, .hi = 100000000},
      {CLI_OPT(CLI_I64, "days", 0, "N", "synth days (120)", &c->synth.days),
       .lo = 1, .hi = 36500},
      {CLI_OPT(CLI_FN, "drift", 0, "KIND", "synth drift: sudden (default), "
               "gradual, none", &c->synth.drift), .fn = cli_set_synth_drift},
      {CLI_OPT(CLI_LIST, "grid", 0, "KEY=V1,V2", "tuning axis (repeatable, "
               "up to " CLI_XSTR(DEMO_MAX_GRID) "; default dim=32,64 and "
               "lr=0.05,0.1)", a->grid), .hi = DEMO_MAX_GRID,
       .seen = &a->n_grid},
      {CLI_OPT(CLI_INT, "epochs", 0, "N", "epochs of the tune trials and "
               "retrainings (8)", &c->epochs), .lo = 1, .hi = 10000},
      {CLI_OPT(CLI_DBL, "replay", 0, "X", "retraining replay share (0.2)",
               &c->replay), .fhi = 10},
      {CLI_OPT(CLI_DBL, "holdout", 0, "X", "retraining held-out share (0.2)",
               &c->holdout), .flo = 0.001, .fhi = 0.9},
      {CLI_OPT(CLI_DBL, "margin", 0, "X", "retraining promotion margin (0)",
               &c->margin), .flo = -1, .fhi = 1},
      {CLI_OPT(CLI_FALSE, "no-compare", 0, NULL, "do not train the "
               "from-scratch comparison", &c->compare)},
      {CLI_OPT(CLI_FALSE, "no-ranker", 0, NULL, "retrieval only: no ranking "
               "stage (default: a ranker in Production too, monitored by "
               "RMSE and retrained when it rises 5%)", &c->ranker)},
      {CLI_OPT(CLI_INT, "batch", 0, "N", "ratings per POST (500)", &c->batch),
       .lo = 1, .hi = 10000},
      {CLI_OPT(CLI_INT, "clients", 0, "N", "background recommendation "
               "clients (1)", &c->load_clients), .hi = 16},
      {CLI_OPT(CLI_STR, "model", 0, "NAME", "registered model name "
               "(harvest_recommender)", &c->model_name)},
      {CLI_OPT(CLI_STR, "report-dir", 0, "DIR", "where the HTML report goes",
               &c->report_dir)},
      {CLI_OPT(CLI_STR, "ui-url", 0, "URL", "the UI the report links into "
               "(" DEMO_UI_URL ", `harvest serve`'s default)", &c->ui_url)},
      {.type = CLI_COMMON},
      CLI_OPTS_END};
  static_assert(sizeof(opts) == 24 * sizeof(*t), "demo_table");
  memcpy(t, opts, sizeof(opts));
}

/* Parse argv into c (and x's port); 0, CLI_HELP or an error already
 * reported. */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct demo_config *c, struct srv *x)
{
  struct retrain_flags f;
  struct demo_args a = {0};
  struct cli_opt own[24];
  retrain_flags_init(&f);
  demo_table(c, x, &a, own);
  const struct cli_opt opts[] = {
      {.type = CLI_GROUP, .sub = own},
      {.type = CLI_GROUP, .sub = f.policy_opts,
       .help = "Policy (any trigger fires a retraining; default here:\n"
               "--on-dataset-drift --min-top100 0.25; flags override "
               "--policy FILE):"},
      CLI_OPTS_END};
  int rc = retrain_flags_parse(ctx, &demo_spec, opts, &f, argc, argv);
  if (rc)
    return rc;
  c->dataset = datasets[a.dataset];
  if (f.n_set > 0 || f.policy_file) /* else the demo's own default */
    c->policy = f.policy;
  if (a.n_grid) { /* the --grid axes replace the default grid */
    c->n_grid = (size_t)a.n_grid;
    memcpy(c->grid, a.grid, sizeof(a.grid));
  }
  return 0;
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
  for (size_t i = 0; i < r->n_weeks; i++)
    if (demo_fresh_worse(r, i))
      printf("week %d: v%d, promoted after week %d, did worse than never "
             "retrained: top-100 %.4f < %.4f\n", r->weeks[i].week,
             r->weeks[i].version, r->weeks[i - 1].week, r->weeks[i].top100,
             r->weeks[i].top100_never);
}

/* The ranking stage week by week (nothing without one). */
static void print_ranker(const struct demo_result *r)
{
  if (!r->ranker_initial_version)
    return;
  printf("\nranking stage (harvest_ranker v%d, test RMSE %.4f; gate: "
         "held-out RMSE)\n%-5s %10s %-12s %11s %11s %s\n",
         r->ranker_initial_version, r->ranker_rmse, "week", "RMSE",
         "action", "champion", "challenger", "serving");
  for (size_t i = 0; i < r->n_weeks; i++) {
    const struct demo_week *w = &r->weeks[i];
    char a[16], b[16], c[16];
    fmt4(a, sizeof(a), w->ranker_rmse);
    fmt4(b, sizeof(b), w->ranker_champion_rmse);
    fmt4(c, sizeof(c), w->ranker_challenger_rmse);
    if (w->ranker_action[0])
      printf("%-5d %10s %-12s %11s %11s v%d\n", w->week, a, w->ranker_action,
             b, c, w->ranker_version_after);
  }
  printf("ranker: %d retraining%s, %d promotion%s; Production is v%d\n",
         r->ranker_retrains, r->ranker_retrains == 1 ? "" : "s",
         r->ranker_promotions, r->ranker_promotions == 1 ? "" : "s",
         r->ranker_final_version);
}

static void print_text(const struct demo_result *r)
{
  print_timeline(r);
  print_compare(r);
  print_ranker(r);
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
  struct demo_config cfg;
  demo_config_defaults(&cfg);
  struct srv x = {NULL, 0};
  int rc = parse(ctx, argc, argv, &cfg, &x);
  if (rc)
    return cli_parse_rc(rc);
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

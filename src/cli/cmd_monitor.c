/*
 * cmd_monitor.c - `harvest monitor`: one monitoring pass of a model over
 * windows of the home's ratings (performance, drift, health), logged as a
 * run in the experiment "Model monitoring"; see monitor/monitor.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"
#include "monitor/monitor.h"
#include "recommend/recommend.h"
#include "store/db.h"
#include "track/uri.h"
#include "util/parse.h"

#define DEFAULT_MODEL "models:/harvest_recommender/Production"
#define DEFAULT_RANKER "models:/harvest_ranker/Production"

static const char monitor_about[] =
    "Monitor a model on windows of the ratings against the data it was\n"
    "trained on (its lineage): top-1/5/10/50/100 accuracy overall and per\n"
    "gender and age bucket; covariate drift (user_age, user_gender,\n"
    "user_occupation, movie_genres, movie_year, movie_popularity), label\n"
    "shift (rating), prediction drift (prediction_top1_score per user);\n"
    "feedback-loop health (coverage, Gini and mean popularity of the\n"
    "top-10s vs as many reference users). Each feature gets a verdict;\n"
    "a window has dataset drift when the share of drifted features is at\n"
    "least --threshold-share. With a ranking model (--ranker; by default\n"
    "the Production version of harvest_ranker when one is registered) each\n"
    "window also gets the ranker's RMSE, MAE and RMSE gap between segments\n"
    "(ranker_rmse, ranker_mae, fairness_gap_rmse), and the health and\n"
    "exposure figures describe the lists the server serves: retrieval's\n"
    "top K ordered by the ranker (--stage, --candidates, --blend as\n"
    "harvest serve); the report says which (\"top-10 lists\"). The\n"
    "fairness report (fairness_gap_top_100, fairness_gap_exposure,\n"
    "exposure_decile_1..10) is in every window. A window with ratings\n"
    "of the model's training range is in-sample (column in-smp, verdict\n"
    "\"ok, in-sample\"): its top-K is not held-out evidence. A window of\n"
    "fewer than --min-ratings ratings is skipped (counted, not\n"
    "evaluated); a run of empty time windows is one line. The pass is a\n"
    "run in the experiment \"Model monitoring\" (metrics by step = window\n"
    "index, report.json artifact) unless --no-log.\n";

static const struct cli_spec monitor_spec = {
    .cmd = "monitor",
    .usage =
        "[--model URI]\n"
        "                       (--batches F:L,F:L,... | --window LEN | "
        "--since TIME)\n"
        "                       [options] [--json]",
    .about = monitor_about,
    .more = "See docs/monitoring.md for the statistics and defaults.\n",
    .json_help = "print the full report as JSON",
};

struct opts {
  const char *model, *batches, *ranker;
  int window_given, quiet;
  struct window_spec *ws;
  size_t n_ws;
  int64_t reference[2];
};

static int set_test(const struct cli_opt *o, const char *flag,
                    const char *arg, struct hv_err *e)
{
  enum drift_test t;
  if (drift_test_parse(arg, &t, e))
    return hv_err_set(e, HV_EINVAL, "%s: unknown test '%s'", flag, arg);
  *(int *)o->dst = (int)t;
  return 0;
}

static int set_duration(const struct cli_opt *o, const char *flag,
                        const char *arg, struct hv_err *e)
{
  return window_parse_duration(arg, o->dst, flag, e);
}

static int set_time(const struct cli_opt *o, const char *flag,
                    const char *arg, struct hv_err *e)
{
  return window_parse_time(arg, o->dst, flag, e);
}

/* The window flags (a table of 5 entries). */
static void window_table(struct opts *o, struct monitor_config *cfg,
                         struct cli_opt t[5])
{
  const struct cli_opt w[] = {
      {CLI_OPT(CLI_STR, "batches", 0, "LIST", "rating_id ranges "
               "FIRST:LAST,... (as the seed)", &o->batches)},
      {CLI_OPT(CLI_FN, "window", 0, "LEN", "consecutive time windows of LEN "
               "(7d, 12h, 3600; units s m h d w) from --since, or from the "
               "reference's last timestamp, to the end; time windows leave "
               "out the reference ratings", &cfg->window_seconds),
       .fn = set_duration, .seen = &o->window_given},
      {CLI_OPT(CLI_FN, "since", 0, "TIME", "start of the time windows (epoch "
               "seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC); alone: one "
               "window from TIME to the end", &cfg->since),
       .fn = set_time, .seen = &cfg->has_since},
      {CLI_OPT(CLI_SIZE, "windows", 0, "N", "at most N time windows "
               "(default: all)", &cfg->max_windows), .lo = 1,
       .hi = WINDOW_MAX},
      CLI_OPTS_END};
  memcpy(t, w, sizeof(w));
}

/* Parse argv into o and cfg; 0, CLI_HELP or HV_EUSAGE (reported). */
static int parse(struct cli_ctx *ctx, int argc, char **argv, struct opts *o,
                 struct monitor_config *cfg)
{
  struct cli_opt windows[5];
  struct drift_thresholds *th = &cfg->th;
  window_table(o, cfg, windows);
  const struct cli_opt opts[] = {
      {.type = CLI_GROUP, .sub = windows, .help = "Windows:"},
      {CLI_OPT(CLI_STR, "model", 0, "URI", "models:/NAME/STAGE|VERSION, "
               "models:/NAME@ALIAS, runs:/RUN_ID or a file (default "
               DEFAULT_MODEL ")", &o->model)},
      {CLI_OPT(CLI_STR, "ranker", 0, "URI", "the ranking stage to track "
               "per window, or none (default " DEFAULT_RANKER " when "
               "registered)", &o->ranker)},
      {CLI_OPT(CLI_CHOICE, "stage", 0, "blend|ranking|retrieval",
               "with a ranker, the top-10 lists health and exposure are "
               "computed on: the served pipeline's (retrieval's top K "
               "ordered by the ranker, as harvest serve --stage; default "
               "blend) or retrieval's", &cfg->stage),
       .choices = recommend_stage_names},
      {CLI_OPT(CLI_INT, "candidates", 0, "K", "movies retrieval proposes to "
               "the ranker (default 100, as harvest serve)",
               &cfg->candidates), .lo = 1, .hi = RECOMMEND_MAX_CANDIDATES},
      {CLI_OPT(CLI_DBL, "blend", 0, "W", "the blend's weight W (default "
               CLI_XSTR(RECOMMEND_DEFAULT_BLEND) ")", &cfg->blend),
       .flo = 1e-6, .fhi = RECOMMEND_MAX_BLEND},
      {CLI_OPT(CLI_RANGE, "reference", 0, "F:L", "reference rating_id range "
               "(default: the model's training range)", o->reference),
       .seen = &cfg->has_reference},
      {CLI_OPT(CLI_DBL, "threshold-share", 0, "X", "dataset drift when "
               "drifted share >= X (0.5)", &cfg->threshold_share), .fhi = 1},
      {CLI_OPT(CLI_FN, "num-stattest", 0, "NAME", "numeric test for every "
               "numeric feature: ks, wasserstein_norm, psi or js (default: "
               "Evidently's: ks when the reference has <= --small-n values, "
               "else wasserstein_norm)", &cfg->num_test), .fn = set_test},
      {CLI_OPT(CLI_FN, "cat-stattest", 0, "NAME", "chi2, psi or js (default: "
               "chi2 when small, else js)", &cfg->cat_test), .fn = set_test},
      {CLI_OPT(CLI_DBL, "ks-pvalue", 0, "X", "drift when KS p < X (0.05)",
               &th->ks_pvalue), .flo = 1e-300, .fhi = 1},
      {CLI_OPT(CLI_DBL, "chi2-pvalue", 0, "X", "drift when chi-square p < X "
               "(0.05)", &th->chi2_pvalue), .flo = 1e-300, .fhi = 1},
      {CLI_OPT(CLI_DBL, "wasserstein-bound", 0, "X", "drift when "
               "W1/std(reference) >= X (0.1)", &th->wasserstein_norm),
       .flo = 1e-12, .fhi = 1e12},
      {CLI_OPT(CLI_DBL, "psi-bound", 0, "X", "drift when PSI >= X (0.1; 0.2 "
               "is 'major')", &th->psi), .flo = 1e-12, .fhi = 1e12},
      {CLI_OPT(CLI_DBL, "js-bound", 0, "X", "drift when Jensen-Shannon "
               "distance >= X (0.1)", &th->js), .flo = 1e-12, .fhi = 1},
      {CLI_OPT(CLI_SIZE, "small-n", 0, "N", "largest reference judged by "
               "p-values (1000)", &th->small_n), .hi = INT64_MAX / 2},
      {CLI_OPT(CLI_SIZE, "min-ratings", 0, "N", "windows with fewer ratings "
               "are skipped: counted, not evaluated (no metrics, no "
               "verdicts; 200)", &cfg->min_ratings),
       .hi = 1000000000},
      {CLI_OPT(CLI_FALSE, "no-log", 0, NULL, "do not record a run",
               &cfg->log_run)},
      {CLI_OPT(CLI_STR, "experiment", 0, "NAME", "experiment of the run "
               "(default \"Model monitoring\")", &cfg->experiment)},
      {CLI_OPT(CLI_STR, "run-name", 0, "NAME", "name of the run",
               &cfg->run_name)},
      {CLI_OPT(CLI_TRUE, "quiet", 'q', NULL, "no progress lines on stderr",
               &o->quiet)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &monitor_spec, opts, argc, argv);
  cfg->ref_first = o->reference[0];
  cfg->ref_last = o->reference[1];
  return rc;
}

/* Pick the mode from the window flags. Returns 0 or a usage error. */
static int pick_mode(struct opts *o, struct monitor_config *cfg,
                     struct hv_err *e)
{
  if (o->batches && (o->window_given || cfg->has_since))
    return hv_err_set(e, HV_EUSAGE,
                      "--batches cannot be combined with --window/--since");
  if (o->batches) {
    if (window_parse_batches(o->batches, &o->ws, &o->n_ws, e))
      return HV_EUSAGE;
    cfg->mode = MONITOR_BATCHES;
    cfg->windows = o->ws;
    cfg->n_windows = o->n_ws;
    return 0;
  }
  if (!o->window_given && !cfg->has_since)
    return hv_err_set(e, HV_EUSAGE,
                      "one of --batches, --window or --since is required");
  if (cfg->max_windows && !o->window_given)
    return hv_err_set(e, HV_EUSAGE, "--windows needs --window");
  cfg->mode = MONITOR_TIME;
  return 0;
}

/* A line on stderr per window done, or per run of empty time windows
 * (monitor_config.progress). */
static void on_window(void *ud, const struct monitor_window *w, size_t total)
{
  (void)ud;
  if (w->n_folded > 1)
    fprintf(stderr, "harvest monitor: windows %zu-%zu/%zu: no ratings "
            "(%zu empty windows)\n", w->index + 1, w->index + w->n_folded,
            total, w->n_folded);
  else if (w->skipped[0])
    fprintf(stderr, "harvest monitor: window %zu/%zu skipped (%s)\n",
            w->index + 1, total, w->skipped);
  else
    fprintf(stderr, "harvest monitor: window %zu/%zu done (%zu ratings)\n",
            w->index + 1, total, w->n_ratings);
}

/* The ranking stage of uri into *rk and cfg->ranker: "none" is none, and
 * so is the default URI when no ranker is in Production. */
static int load_ranker(const struct cli_ctx *ctx, struct hv_db *db,
                       const char *uri, struct hv_model **rk,
                       struct monitor_config *cfg, struct hv_err *err)
{
  char path[4096];
  if (!strcmp(uri, "none"))
    return 0;
  struct hv_err e = {0};
  int rc = uri_resolve(ctx->home, db, uri, path, sizeof(path), &e);
  if (rc == HV_ENOTFOUND && !strcmp(uri, DEFAULT_RANKER))
    return 0; /* retrieval only, as before any ranker */
  if (rc) {
    *err = e;
    hv_err_prefix(err, "--ranker");
    return rc;
  }
  if (model_load(path, rk, err)) {
    hv_err_prefix(err, "--ranker");
    return err->code;
  }
  if (model_task(*rk) != MODEL_TASK_RANKING)
    return hv_err_set(err, HV_EINVAL, "--ranker %s: not a ranking model "
                      "(train one with --task ranking)", uri);
  cfg->ranker = *rk;
  cfg->ranker_uri = uri;
  return 0;
}

static int run(struct cli_ctx *ctx, struct opts *o,
               struct monitor_config *cfg, struct hv_err *err)
{
  if (!o->quiet)
    cfg->progress = on_window;
  struct hv_db *db = NULL;
  struct hv_model *m = NULL, *rk = NULL;
  struct monitor_report rep;
  char path[4096];
  memset(&rep, 0, sizeof(rep));
  int rc = cli_open_existing_home(ctx, &db, err);
  if (!rc &&
      (rc = uri_resolve(ctx->home, db, o->model, path, sizeof(path), err)) ==
          HV_ENOTFOUND &&
      !strcmp(o->model, DEFAULT_MODEL))
    hv_err_prefix(err, "no Production model (train and register one, or "
                       "pass --model)");
  if (!rc)
    rc = model_load(path, &m, err);
  if (!rc)
    rc = load_ranker(ctx, db, o->ranker, &rk, cfg, err);
  if (!rc)
    rc = monitor_run(db, ctx->home, m, cfg, &rep, err);
  if (!rc && ctx->json) {
    cli_print_json(monitor_report_to_json(&rep));
  } else if (!rc) {
    monitor_report_print_table(&rep, stdout);
    printf("%.2f s", rep.seconds);
    if (rep.run_id[0])
      printf("; run %s in experiment \"%s\" (artifact %s)", rep.run_id,
             cfg->experiment ? cfg->experiment : MONITOR_EXPERIMENT,
             MONITOR_ARTIFACT);
    printf("\n");
  }
  monitor_report_free(&rep);
  model_free(m);
  model_free(rk);
  db_close(db);
  return rc;
}

int cmd_monitor(struct cli_ctx *ctx, int argc, char **argv)
{
  struct monitor_config cfg;
  monitor_config_defaults(&cfg);
  cfg.log_run = 1;
  struct opts o = {.model = DEFAULT_MODEL, .ranker = DEFAULT_RANKER};
  o.reference[0] = cfg.ref_first;
  o.reference[1] = cfg.ref_last;
  struct hv_err err = {0};
  int rc = parse(ctx, argc, argv, &o, &cfg);
  if (rc)
    return cli_parse_rc(rc);
  if (pick_mode(&o, &cfg, &err))
    return cli_usage_error("monitor", "%s", err.msg);
  if (monitor_config_check(&cfg, &err)) {
    free(o.ws);
    return cli_usage_error("monitor", "%s", err.msg);
  }
  rc = run(ctx, &o, &cfg, &err);
  free(o.ws);
  return rc ? cli_report(&err) : 0;
}

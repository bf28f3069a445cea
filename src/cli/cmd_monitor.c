/*
 * cmd_monitor.c - `harvest monitor`: one monitoring pass of a model over
 * windows of the home's ratings (performance, drift, health), logged as a
 * run in the experiment "Model monitoring"; see monitor/monitor.h.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"
#include "monitor/monitor.h"
#include "store/db.h"
#include "track/uri.h"
#include "util/parse.h"

#define DEFAULT_MODEL "models:/harvest_recommender/Production"

static void help(void)
{
  printf(
      "Usage: harvest monitor [--model URI]\n"
      "                       (--batches F:L,F:L,... | --window LEN | "
      "--since TIME)\n"
      "                       [options] [--json]\n\n"
      "Monitor a model on windows of the ratings against the data it was\n"
      "trained on (its lineage): top-1/5/10/50/100 accuracy overall and per\n"
      "gender and age bucket; covariate drift (user_age, user_gender,\n"
      "user_occupation, movie_genres, movie_year, movie_popularity), label\n"
      "shift (rating), prediction drift (prediction_top1_score per user);\n"
      "feedback-loop health (coverage, Gini and mean popularity of the\n"
      "top-10s vs as many reference users). Each feature gets a verdict;\n"
      "a window has dataset drift when the share of drifted features is at\n"
      "least --threshold-share. The pass is a run in the experiment\n"
      "\"Model monitoring\" (metrics by step = window index, report.json\n"
      "artifact) unless --no-log.\n\n"
      "Windows:\n"
      "  --batches LIST        rating_id ranges FIRST:LAST,... (as the seed)\n"
      "  --window LEN          consecutive time windows of LEN (7d, 12h,\n"
      "                        3600; units s m h d w) from --since, or from\n"
      "                        the reference's last timestamp, to the end;\n"
      "                        time windows leave out the reference ratings\n"
      "  --since TIME          start of the time windows (epoch seconds,\n"
      "                        YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC);\n"
      "                        alone: one window from TIME to the end\n"
      "  --windows N           at most N time windows (default: all)\n\n"
      "Options:\n"
      "  --model URI           models:/NAME/STAGE|VERSION, models:/NAME@ALIAS,\n"
      "                        runs:/RUN_ID or a file (default\n"
      "                        " DEFAULT_MODEL ")\n"
      "  --reference F:L       reference rating_id range (default: the\n"
      "                        model's training range)\n"
      "  --threshold-share X   dataset drift when drifted share >= X (0.5)\n"
      "  --num-stattest NAME   numeric test for every numeric feature: ks,\n"
      "                        wasserstein_norm, psi or js (default:\n"
      "                        Evidently's: ks when the reference has <=\n"
      "                        --small-n values, else wasserstein_norm)\n"
      "  --cat-stattest NAME   chi2, psi or js (default: chi2 when small,\n"
      "                        else js)\n"
      "  --ks-pvalue X         drift when KS p < X (0.05)\n"
      "  --chi2-pvalue X       drift when chi-square p < X (0.05)\n"
      "  --wasserstein-bound X drift when W1/std(reference) >= X (0.1)\n"
      "  --psi-bound X         drift when PSI >= X (0.1; 0.2 is 'major')\n"
      "  --js-bound X          drift when Jensen-Shannon distance >= X (0.1)\n"
      "  --small-n N           largest reference judged by p-values (1000)\n"
      "  --min-ratings N       windows with fewer ratings get no verdicts\n"
      "                        (200)\n"
      "  --no-log              do not record a run\n"
      "  --experiment NAME     experiment of the run (default \"Model "
      "monitoring\")\n"
      "  --run-name NAME       name of the run\n"
      "  --json                print the full report as JSON\n"
      "  --home DIR            data folder\n\n"
      "See docs/monitoring.md for the statistics and defaults.\n");
}

enum {
  O_MODEL = 0x2600, O_BATCHES, O_WINDOW, O_SINCE, O_WINDOWS, O_REFERENCE,
  O_SHARE, O_NUMTEST, O_CATTEST, O_KSP, O_CHIP, O_WB, O_PSIB, O_JSB,
  O_SMALLN, O_MINR, O_NOLOG, O_EXPERIMENT, O_RUNNAME
};

struct opts {
  const char *model, *batches, *window, *since;
  struct window_spec *ws;
  size_t n_ws;
};

static int parse_test(const char *arg, int *out, const char *what,
                      struct hv_err *e)
{
  enum drift_test t;
  if (drift_test_parse(arg, &t, e))
    return hv_err_set(e, HV_EINVAL, "%s: unknown test '%s'", what, arg);
  *out = (int)t;
  return 0;
}

static int parse_opt(int c, const char *arg, struct opts *o,
                     struct monitor_config *cfg, struct hv_err *e)
{
  int64_t v;
  switch (c) {
  case O_MODEL: o->model = arg; return 0;
  case O_BATCHES: o->batches = arg; return 0;
  case O_WINDOW: o->window = arg;
    return window_parse_duration(arg, &cfg->window_seconds, "--window", e);
  case O_SINCE: o->since = arg; cfg->has_since = 1;
    return window_parse_time(arg, &cfg->since, "--since", e);
  case O_WINDOWS:
    if (hv_parse_i64(arg, 1, WINDOW_MAX, &v, "--windows", e))
      return HV_EINVAL;
    cfg->max_windows = (size_t)v;
    return 0;
  case O_REFERENCE: cfg->has_reference = 1;
    return hv_parse_range(arg, &cfg->ref_first, &cfg->ref_last,
                          "--reference", e);
  case O_SHARE:
    return hv_parse_f64(arg, 0, 1, &cfg->threshold_share,
                        "--threshold-share", e);
  case O_NUMTEST: return parse_test(arg, &cfg->num_test, "--num-stattest", e);
  case O_CATTEST: return parse_test(arg, &cfg->cat_test, "--cat-stattest", e);
  case O_KSP:
    return hv_parse_f64(arg, 1e-300, 1, &cfg->th.ks_pvalue, "--ks-pvalue", e);
  case O_CHIP:
    return hv_parse_f64(arg, 1e-300, 1, &cfg->th.chi2_pvalue,
                        "--chi2-pvalue", e);
  case O_WB:
    return hv_parse_f64(arg, 1e-12, 1e12, &cfg->th.wasserstein_norm,
                        "--wasserstein-bound", e);
  case O_PSIB:
    return hv_parse_f64(arg, 1e-12, 1e12, &cfg->th.psi, "--psi-bound", e);
  case O_JSB:
    return hv_parse_f64(arg, 1e-12, 1, &cfg->th.js, "--js-bound", e);
  case O_SMALLN:
    if (hv_parse_i64(arg, 0, INT64_MAX / 2, &v, "--small-n", e))
      return HV_EINVAL;
    cfg->th.small_n = (size_t)v;
    return 0;
  case O_MINR:
    if (hv_parse_i64(arg, 0, 1000000000, &v, "--min-ratings", e))
      return HV_EINVAL;
    cfg->min_ratings = (size_t)v;
    return 0;
  case O_NOLOG: cfg->log_run = 0; return 0;
  case O_EXPERIMENT: cfg->experiment = arg; return 0;
  case O_RUNNAME: cfg->run_name = arg; return 0;
  default: return hv_err_set(e, HV_EUSAGE, "bad option");
  }
}

/* Pick the mode from the window flags. Returns 0 or a usage error. */
static int pick_mode(struct opts *o, struct monitor_config *cfg,
                     struct hv_err *e)
{
  if (o->batches && (o->window || o->since))
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
  if (!o->window && !o->since)
    return hv_err_set(e, HV_EUSAGE,
                      "one of --batches, --window or --since is required");
  if (cfg->max_windows && !o->window)
    return hv_err_set(e, HV_EUSAGE, "--windows needs --window");
  cfg->mode = MONITOR_TIME;
  return 0;
}

static int run(struct cli_ctx *ctx, struct opts *o,
               struct monitor_config *cfg, struct hv_err *err)
{
  struct hv_db *db = NULL;
  struct hv_model *m = NULL;
  struct monitor_report rep;
  char path[4096];
  memset(&rep, 0, sizeof(rep));
  int rc = cli_open_home(ctx, &db, err);
  if (!rc)
    rc = uri_resolve(ctx->home, db, o->model, path, sizeof(path), err);
  if (rc == HV_ENOTFOUND && !strcmp(o->model, DEFAULT_MODEL))
    hv_err_prefix(err, "no Production model (train and register one, or "
                       "pass --model)");
  if (!rc)
    rc = model_load(path, &m, err);
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
  db_close(db);
  return rc;
}

int cmd_monitor(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option lo[] = {
      CLI_COMMON_LONGOPTS,
      {"model", required_argument, NULL, O_MODEL},
      {"batches", required_argument, NULL, O_BATCHES},
      {"window", required_argument, NULL, O_WINDOW},
      {"since", required_argument, NULL, O_SINCE},
      {"windows", required_argument, NULL, O_WINDOWS},
      {"reference", required_argument, NULL, O_REFERENCE},
      {"threshold-share", required_argument, NULL, O_SHARE},
      {"num-stattest", required_argument, NULL, O_NUMTEST},
      {"cat-stattest", required_argument, NULL, O_CATTEST},
      {"ks-pvalue", required_argument, NULL, O_KSP},
      {"chi2-pvalue", required_argument, NULL, O_CHIP},
      {"wasserstein-bound", required_argument, NULL, O_WB},
      {"psi-bound", required_argument, NULL, O_PSIB},
      {"js-bound", required_argument, NULL, O_JSB},
      {"small-n", required_argument, NULL, O_SMALLN},
      {"min-ratings", required_argument, NULL, O_MINR},
      {"no-log", no_argument, NULL, O_NOLOG},
      {"experiment", required_argument, NULL, O_EXPERIMENT},
      {"run-name", required_argument, NULL, O_RUNNAME},
      {0}};
  struct monitor_config cfg;
  monitor_config_defaults(&cfg);
  cfg.log_run = 1;
  struct opts o = {DEFAULT_MODEL, NULL, NULL, NULL, NULL, 0};
  struct hv_err err = {0};
  int c;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    if (c == 'h') {
      help();
      return 0;
    }
    if (c == '?' || parse_opt(c, optarg, &o, &cfg, &err))
      return cli_usage_error("monitor", "%s",
                             err.msg[0] ? err.msg : "bad option");
  }
  if (optind < argc)
    return cli_usage_error("monitor", "unexpected argument '%s'",
                           argv[optind]);
  if (pick_mode(&o, &cfg, &err))
    return cli_usage_error("monitor", "%s", err.msg);
  if (monitor_config_check(&cfg, &err)) {
    free(o.ws);
    return cli_usage_error("monitor", "%s", err.msg);
  }
  int rc = run(ctx, &o, &cfg, &err);
  free(o.ws);
  return rc ? cli_report(&err) : 0;
}

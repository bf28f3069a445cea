/*
 * cmd_tune.c - `harvest tune`: grid search over training settings as one
 * parent run with a child run per combination (track/tune.h), a live
 * progress line on stderr, a final table sorted by the chosen metric, and
 * optionally the best model registered.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/train_flags.h"
#include "store/db.h"
#include "track/registry.h"
#include "track/runs.h"
#include "train/trainrun.h"
#include "train/tune.h"
#include "util/json.h"

static const struct cli_spec tune_spec = {
    .cmd = "tune",
    .usage =
        "--grid KEY=V1,V2,... [--grid ...] [training options]\n"
        "         [--experiment NAME] [--run-name NAME] [--metric KEY]\n"
        "         [--order desc|asc]\n"
        "         [--register NAME [--stage STAGE [--archive-existing]]]\n"
        "         [--init-from URI] [--json]",
    .about =
        "Train every combination of the grid (cartesian product, the first\n"
        "--grid varying slowest) over the base configuration given by the\n"
        "training options, each as a child run of one parent run, and print\n"
        "the trials sorted by the metric. The seed's search:\n"
        "  harvest tune --grid dim=16,32,64,128 --grid lr=0.001,0.01,0.1 \\\n"
        "               --tutorial --epochs 5 --register "
        REGISTRY_DEFAULT_MODEL " --stage Production \\\n"
        "               --archive-existing\n"
        "\n"
        "Grid keys: any training setting by its name: dim, lr, optimizer,\n"
        "epochs, batch, split, seed, features, l2, temperature, logq,\n"
        "remove_accidental_hits, threads, eval_every, init_scale, ratings\n"
        "(FIRST:LAST), first_rating_id, last_rating_id; booleans take\n"
        "true/false. At most " CLI_XSTR(TUNE_MAX_TRIALS) " combinations.\n",
    .more =
        "The parent run records the grid (grid.KEY), the base settings\n"
        "(base.KEY), the best child (tag best_run_id, metric KEY) and the\n"
        "registration. A failed trial is FAILED and the search goes on.\n"
        "Ctrl-C ends the running trial and the parent KILLED; after kill -9,\n"
        "'harvest runs gc' marks the runs left RUNNING as FAILED.\n",
};

struct ui {
  int tty;
  const char *metric;
  char short_metric[64]; /* "top_100" for top_100_categorical_accuracy */
};

static void fmt_secs(double s, char *buf, size_t cap)
{
  if (isnan(s))
    snprintf(buf, cap, "?");
  else if (s < 60)
    snprintf(buf, cap, "%.0fs", ceil(s));
  else
    snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

static void on_progress(void *ud, const struct tune_progress *p)
{
  const struct ui *u = ud;
  char eta[32];
  fmt_secs(p->eta, eta, sizeof(eta));
  if (p->phase != TUNE_TRIAL_DONE && !u->tty)
    return;
  if (u->tty)
    fputs("\r\033[K", stderr);
  fprintf(stderr, "[%zu/%zu] %s", p->index + 1, p->total, p->label);
  if (p->phase == TUNE_TRIAL_EPOCH)
    fprintf(stderr, " epoch %d/%d", p->epoch, p->epochs);
  if (p->phase == TUNE_TRIAL_DONE) {
    if (p->failed)
      fprintf(stderr, " ... FAILED: %s", p->error);
    else
      fprintf(stderr, " ... %s=%.4g", u->short_metric, p->value);
  }
  if (!isnan(p->best))
    fprintf(stderr, " best=%.4g", p->best);
  fprintf(stderr, " eta %s", eta);
  if (!u->tty || (p->phase == TUNE_TRIAL_DONE && p->done == p->total))
    fputc('\n', stderr);
  fflush(stderr);
}

static size_t axis_width(const struct tune_axis *a)
{
  size_t w = strlen(a->key);
  for (size_t k = 0; k < a->n; k++)
    if (strlen(a->values[k]) > w)
      w = strlen(a->values[k]);
  return w;
}

/* The value of axis a in trial t, as given on the command line. */
static const char *trial_value(const struct tune_grid *g, size_t axis,
                               const struct tune_trial *t)
{
  size_t idx = t->index;
  for (size_t i = g->n_axes; i-- > axis + 1;)
    idx /= g->axes[i].n;
  return g->axes[axis].values[idx % g->axes[axis].n];
}

static void print_table(const struct tune_grid *g, const struct tune_result *r,
                        const char *metric, const char *experiment)
{
  printf("parent run %s  (experiment %s, %zu trials, %zu failed, %.1f s)\n\n",
         r->parent_run_id, experiment, r->n_trials, r->n_failed, r->seconds);
  printf("%-4s  %-32s", "rank", "run_id");
  for (size_t i = 0; i < g->n_axes; i++)
    printf("  %-*s", (int)axis_width(&g->axes[i]), g->axes[i].key);
  printf("  %-*s  %-8s  %-8s  %-8s  %s\n", (int)strlen(metric), metric,
         "top_10", "top_100", "seconds", "status");
  for (size_t k = 0; k < r->n_trials; k++) {
    const struct tune_trial *t = &r->trials[r->order[k]];
    printf("%-4zu  %-32s", k + 1, t->run_id[0] ? t->run_id : "-");
    for (size_t i = 0; i < g->n_axes; i++)
      printf("  %-*s", (int)axis_width(&g->axes[i]), trial_value(g, i, t));
    printf("  %-*.6g  %-8.4f  %-8.4f  %-8.2f  %s\n", (int)strlen(metric),
           t->value, t->test_top_10, t->test_top_100, t->seconds,
           t->failed ? t->error : "FINISHED");
  }
  const struct tune_trial *b = &r->trials[r->best];
  printf("\nbest  %s  %s  %s=%.6g  model runs:/%s\n", b->run_id, b->label,
         metric, b->value, b->run_id);
}

static json_t *result_json(const struct tune_grid *g,
                           const struct tune_result *r, const char *metric,
                           const char *experiment, int ascending,
                           const char *reg_name)
{
  json_t *trials = json_array();
  for (size_t k = 0; trials && k < r->n_trials; k++) {
    const struct tune_trial *t = &r->trials[r->order[k]];
    json_t *params = json_object();
    for (size_t i = 0; params && i < g->n_axes; i++)
      json_object_set_new(params, g->axes[i].key,
                          json_string(trial_value(g, i, t)));
    json_t *j =
        json_pack("{s:I, s:I, s:s?, s:s, s:s, s:o, s:o, s:o, s:o, s:f}", "rank",
                  (json_int_t)(k + 1), "trial", (json_int_t)t->index, "run_id",
                  t->run_id[0] ? t->run_id : NULL, "label", t->label, "status",
                  t->failed ? "FAILED" : "FINISHED", "params", params, "value",
                  hv_json_num(t->value), "top_10_categorical_accuracy",
                  hv_json_num(t->test_top_10), "top_100_categorical_accuracy",
                  hv_json_num(t->test_top_100), "seconds", t->seconds);
    if (j && t->failed)
      json_object_set_new(j, "error", json_string(t->error));
    json_array_append_new(trials, j);
  }
  const struct tune_trial *b = &r->trials[r->best];
  char uri[64];
  snprintf(uri, sizeof(uri), "runs:/%s", b->run_id);
  json_t *reg =
      r->registered_version
          ? json_pack("{s:s, s:i, s:s}", "name", reg_name, "version",
                      r->registered_version, "stage", r->registered_stage)
          : json_null();
  return json_pack(
      "{s:s, s:s, s:s, s:s, s:I, s:I, s:f, s:{s:s, s:s, s:o, s:s}, s:o, "
      "s:o}",
      "parent_run_id", r->parent_run_id, "experiment", experiment, "metric",
      metric, "order", ascending ? "asc" : "desc", "n_trials",
      (json_int_t)r->n_trials, "n_failed", (json_int_t)r->n_failed, "seconds",
      r->seconds, "best", "run_id", b->run_id, "label", b->label, "value",
      hv_json_num(b->value), "model_uri", uri, "registered", reg, "trials",
      trials);
}

static int add_axis(const struct cli_opt *o, const char *flag,
                    const char *arg, struct hv_err *err)
{
  return tune_grid_add(o->dst, arg, err);
}

static const char *const orders[] = {"asc", "desc", NULL};

/* Check what the table cannot: a grid, a known metric, --stage with
 * --register, valid names. 0 or HV_EUSAGE (reported). */
static int check_args(const struct tune_grid *g, const struct tune_opts *o)
{
  const char *stage = NULL;
  struct hv_err err = {0};
  if (g->n_axes == 0)
    return cli_usage_error("tune", "give at least one --grid KEY=V1,V2,... "
                                   "(e.g. --grid dim=16,32,64,128)");
  if (!trainrun_metric_known(o->metric)) {
    char names[1536];
    trainrun_metric_names(names, sizeof(names));
    return cli_usage_error("tune", "--metric: unknown metric '%s'; known: %s",
                           o->metric, names);
  }
  if (o->stage && !o->register_name)
    return cli_usage_error("tune", "--stage needs --register NAME");
  if (o->archive_existing && !o->stage)
    return cli_usage_error("tune", "--archive-existing needs --stage STAGE");
  if (o->stage && registry_parse_stage(o->stage, &stage, &err))
    return cli_usage_error("tune", "--stage: %s", err.msg);
  if (o->register_name && registry_check_name(o->register_name, &err))
    return cli_usage_error("tune", "--register: %s", err.msg);
  return 0;
}

/* Parse argv into f->cfg, g and o; returns 0, CLI_HELP or HV_EUSAGE
 * (already reported). */
static int parse_args(struct cli_ctx *ctx, int argc, char **argv,
                      struct train_flags *f, struct tune_grid *g,
                      struct tune_opts *o)
{
  int desc = -1; /* not given: by the metric (rmse-like: asc) */
  const struct cli_opt opts[] = {
      {.type = CLI_GROUP, .sub = f->opts, .help = TRAIN_FLAGS_HEADING},
      {.type = CLI_SECTION, .help = "Tune options:"},
      {CLI_OPT(CLI_FN, "grid", 0, "KEY=V1,V2,...",
               "one axis of the grid (repeatable)", g), .fn = add_axis},
      {CLI_OPT(CLI_STR, "experiment", 0, "NAME", "experiment of the runs "
               "(default " TUNE_DEFAULT_EXPERIMENT ")", &o->experiment),
       .lo = 1, .hi = RUNS_MAX_NAME},
      {CLI_OPT(CLI_STR, "run-name", 0, "NAME", "name of the parent run",
               &o->run_name), .lo = 1, .hi = RUNS_MAX_NAME},
      {CLI_OPT(CLI_STR, "metric", 0, "KEY", "what to rank by (default "
               TUNE_DEFAULT_METRIC ", rmse with --task ranking); the test "
               "split's metrics are "
               "unprefixed (recall_at_10, ndcg_at_10, test_loss, ...), the "
               "train split's prefixed train_", &o->metric)},
      {CLI_OPT(CLI_CHOICE, "order", 0, "desc|asc", "desc: higher is better, "
               "asc: lower (default desc; asc for rmse, mae and loss "
               "metrics)", &desc), .choices = orders},
      {CLI_OPT(CLI_STR, "register", 0, "NAME", "register the best child as "
               "the next version of model NAME", &o->register_name)},
      {CLI_OPT(CLI_STR, "stage", 0, "STAGE", "... in stage None, Staging, "
               "Production or Archived; at most one version is in "
               "Production: with another there, tune refuses before "
               "training unless --archive-existing", &o->stage)},
      {CLI_OPT(CLI_TRUE, "archive-existing", 0, NULL, "with --stage: "
               "archive the version in Production (or the other Staging "
               "versions) in the same step, as models transition does",
               &o->archive_existing)},
      {CLI_OPT(CLI_STR, "init-from", 0, "URI", "every trial continues "
               "training this model", &o->init_from)},
      CLI_OPTS_END};
  o->metric = NULL;
  int rc = cli_parse_opts(ctx, &tune_spec, opts, argc, argv);
  /* a ranking grid ranks by test RMSE, lower first, unless told */
  if (!o->metric)
    o->metric = f->cfg.task == MODEL_TASK_RANKING ? "rmse"
                                                  : TUNE_DEFAULT_METRIC;
  if (desc < 0)
    desc = !(strstr(o->metric, "rmse") || strstr(o->metric, "mae") ||
             strstr(o->metric, "loss"));
  o->ascending = !desc;
  return rc ? rc : check_args(g, o);
}

int cmd_tune(struct cli_ctx *ctx, int argc, char **argv)
{
  struct train_flags f;
  struct tune_grid g = {0};
  struct tune_opts o = {.experiment = TUNE_DEFAULT_EXPERIMENT,
                        .metric = TUNE_DEFAULT_METRIC};
  train_flags_init(&f);
  int prc = parse_args(ctx, argc, argv, &f, &g, &o);
  if (prc) {
    tune_grid_free(&g);
    return cli_parse_rc(prc);
  }
  struct ui u = {isatty(STDERR_FILENO), o.metric, ""};
  const char *tk = strstr(o.metric, "_categorical_accuracy");
  snprintf(u.short_metric, sizeof(u.short_metric), "%.*s",
           tk ? (int)(tk - o.metric) : (int)strlen(o.metric), o.metric);
  o.home = ctx->home;
  o.progress = on_progress;
  o.ud = &u;
  struct hv_db *db = NULL;
  struct tune_result r;
  struct hv_err err = {0};
  memset(&r, 0, sizeof(r));
  int rc = cli_open_home(ctx, &db, &err);
  if (!rc)
    rc = trainrun_guard_install(db_conn(db), &err);
  if (!rc)
    rc = tune_run(db, &f.cfg, &g, &o, &r, &err);
  if (!rc && ctx->json)
    cli_print_json(result_json(&g, &r, o.metric, o.experiment, o.ascending,
                               o.register_name));
  else if (!rc)
    print_table(&g, &r, o.metric, o.experiment);
  if (!rc && r.registered_version && !ctx->json)
    printf("registered %s version %d in stage %s\n", o.register_name,
           r.registered_version, r.registered_stage);
  if (rc && r.parent_run_id[0])
    fprintf(stderr, "parent run %s ended FAILED\n", r.parent_run_id);
  int bad_input = rc == HV_EINVAL && !r.parent_run_id[0];
  tune_result_free(&r);
  tune_grid_free(&g);
  db_close(db);
  if (rc) {
    cli_report(&err);
    return bad_input ? HV_EUSAGE : rc;
  }
  return 0;
}

/*
 * cmd_retrain.c - `harvest retrain`: run the retraining policy once on the
 * Production model; when it fires, train a challenger (stateful by
 * default), compare it with the champion on held-out new data, register it
 * and promote it when it wins by the margin.
 */
#include <math.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/retrain_flags.h"
#include "model/model.h"
#include "retrain/retrain.h"
#include "store/db.h"
#include "train/trainrun.h"

static const struct cli_spec retrain_spec = {
    .cmd = "retrain",
    .usage =
        "[--model NAME] [--policy FILE | policy flags]\n"
        "                       [--from-scratch] [--replay X] [--margin X]\n"
        "                       [--epochs N] [--compare] [--force] "
        "[--dry-run] [--json]",
    .about =
        "Run the retraining policy once against the Production version of\n"
        "the model: monitor it on the ratings that arrived since its\n"
        "training data ended, decide (the decision and its reasons are a\n"
        "run in the experiment \"Retraining\" whether or not it retrains),\n"
        "and when a trigger fires: hold out the newest share of the new\n"
        "ratings, train a challenger (stateful: continue the Production\n"
        "model's weights and optimiser state on the new ratings plus a\n"
        "replay sample of older ones), evaluate champion and challenger on\n"
        "the held-out slice, register the challenger (@challenger) and\n"
        "promote it to Production (old version archived, @champion moved)\n"
        "only when its top-100 accuracy wins by more than --margin. Every\n"
        "registry step is in the audit log ('harvest models show NAME').\n"
        "A running 'harvest serve' picks up the new Production version by\n"
        "itself.\n",
    .more = "With no trigger given the policy is --max-top100-drop 0.2.\n"
            "Progress (each step, the challenger's epochs, the\n"
            "monitoring windows) goes to stderr; -q silences it.\n"
            "Exit status 0 whatever was decided; 1 on errors (e.g. no\n"
            "Production version), 2 on bad flags. See "
            "docs/retraining.md.\n",
};

static void print_side(const char *label, const struct retrain_side *s,
                       int version)
{
  char v[16] = "-";
  if (version)
    snprintf(v, sizeof(v), "v%d", version);
  printf("%-10s %-4s %-8s ratings %lld:%lld (%zu new + %zu replayed), %d "
         "epochs, %.2f s: held-out top-100 %.4f, top-10 %.4f  [run %s]\n",
         label, v, s->stateful ? "stateful" : "scratch",
         (long long)s->train_first, (long long)s->train_last, s->n_new,
         s->n_replay, s->epochs, s->train_seconds, s->top100, s->top10,
         s->run_id);
}

static void print_windows(const struct monitor_report *report)
{
  printf("%-10s %-20s %8s %8s  %s\n", "window", "rating ids", "ratings",
         "top-100", "drift");
  for (size_t i = 0; i < report->n_windows; i++) {
    const struct monitor_window *w = &report->windows[i];
    if (w->skipped[0]) /* too small: not evaluated, not judged */
      printf("%-10zu %-20s %8zu %8s  skipped (%s)\n", w->index,
             w->spec.name, w->n_ratings, "-", w->skipped);
    else
      printf("%-10zu %-20s %8zu %8.4f  %s (%zu/%zu)\n", w->index,
             w->spec.name, w->n_ratings,
             monitor_metrics_top(&w->metrics, 100),
             w->dataset_drift ? "DATASET DRIFT" : "ok", w->n_drifted,
             w->n_judged);
  }
}

static void print_text(const struct retrain_result *r)
{
  printf("model      %s v%d (Production), trained up to rating_id %lld; "
         "%lld new ratings\n",
         CLI_SAFE(r->model), r->champion_version,
         (long long)r->last_trained_id,
         (long long)r->new_ratings);
  if (r->report)
    print_windows(r->report);
  for (size_t i = 0; i < r->decision.n_checks; i++)
    printf("check      %-26s %s  %s\n", r->decision.checks[i].trigger,
           r->decision.checks[i].fired ? "FIRED" : "-    ",
           r->decision.checks[i].text);
  printf("decision   %s  [run %s]\n",
         r->decision.retrain ? "retrain" : "keep", r->decision_run_id);
  if (r->n_holdout)
    printf("held out   ratings %lld:%lld (%zu); champion v%d top-100 %.4f, "
           "top-10 %.4f\n",
           (long long)r->holdout_first, (long long)r->holdout_last,
           r->n_holdout, r->champion_version, r->champion_top100,
           r->champion_top10);
  if (r->challenger.ran)
    print_side("challenger", &r->challenger, r->challenger_version);
  if (r->other.ran)
    print_side("compare", &r->other, 0);
  printf("action     %s: %s (%.2f s)\n", r->action, CLI_SAFE(r->detail),
         r->seconds);
}

static void on_step(void *ud, const char *line)
{
  fprintf(stderr, "harvest retrain: %s\n", line);
}

static void on_epoch(void *ud, int epoch, double loss, double seconds,
                     const struct eval_metrics *test)
{
  fprintf(stderr, "harvest retrain:   epoch %d  loss %.1f  time %.3fs\n",
          epoch, loss, seconds);
}

static void on_window(void *ud, const struct monitor_window *w, size_t total)
{
  if (w->skipped[0])
    fprintf(stderr, "harvest retrain:   window %zu/%zu skipped (%s)\n",
            w->index + 1, total, w->skipped);
  else
    fprintf(stderr, "harvest retrain:   window %zu/%zu done (%zu ratings)\n",
            w->index + 1, total, w->n_ratings);
}

static const struct train_callbacks epochs_cb = {.on_epoch = on_epoch};

/* Parse argv into f (policy and options resolved); 0, CLI_HELP or an
 * error already reported. */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct retrain_flags *f, int *quiet)
{
  const struct cli_opt opts[] = {
      {.type = CLI_GROUP, .sub = f->policy_opts,
       .help = RETRAIN_POLICY_HEADING},
      {.type = CLI_GROUP, .sub = f->retrain_opts,
       .help = RETRAIN_OPTS_HEADING},
      {CLI_OPT(CLI_FALSE, "no-monitor-log", 0, NULL,
               "do not record the monitoring pass as a run",
               &f->opts.log_monitor)},
      {CLI_OPT(CLI_TRUE, "quiet", 'q', NULL,
               "no progress lines (steps, epochs, windows) on stderr",
               quiet)},
      CLI_OPTS_END};
  return retrain_flags_parse(ctx, &retrain_spec, opts, f, argc, argv);
}

int cmd_retrain(struct cli_ctx *ctx, int argc, char **argv)
{
  struct retrain_flags f;
  retrain_flags_init(&f);
  int quiet = 0;
  int rc = parse(ctx, argc, argv, &f, &quiet);
  if (rc)
    return cli_parse_rc(rc);
  f.opts.home = ctx->home;
  if (!quiet) {
    f.opts.progress = on_step;
    f.opts.train_cb = &epochs_cb;
    f.opts.monitor_progress = on_window;
  }
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  /* SIGINT/SIGTERM mid-training: the runs this process owns end KILLED */
  if (cli_open_home(ctx, &db, &err) ||
      trainrun_guard_install(db_conn(db), &err))
    return cli_close_report(db, &err);
  struct retrain_result res;
  rc = retrain_run(db, &f.opts, &res, &err);
  db_close(db);
  if (rc) {
    if (res.decision_run_id[0])
      fprintf(stderr, "harvest: decision run %s ended FAILED\n",
              res.decision_run_id);
    retrain_result_free(&res);
    return cli_report(&err);
  }
  if (ctx->json)
    cli_print_json(retrain_result_to_json(&res));
  else
    print_text(&res);
  retrain_result_free(&res);
  return 0;
}

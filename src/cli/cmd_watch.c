/*
 * cmd_watch.c - `harvest watch`: run the retraining policy on a schedule
 * (monitor/loop.h) until SIGINT or SIGTERM, while `harvest serve` in
 * another process keeps answering and swaps in every promoted model by
 * itself.
 *
 * SIGINT/SIGTERM are blocked before the loop thread starts (it inherits the
 * mask) and taken with sigtimedwait on the main thread (sigfwd passes on
 * those that reach OpenBLAS's threads), which then stops the loop after the
 * tick in progress: a retraining is never cut in half.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/retrain_flags.h"
#include "retrain/loop.h"
#include "util/sigfwd.h"
#include "monitor/window.h"
#include "store/db.h"
#include "util/fsutil.h"

static const struct cli_spec watch_spec = {
    .cmd = "watch",
    .usage =
        "[--model NAME] [--interval SECONDS] [--ticks N]\n"
        "                     [--policy FILE | policy flags] [retraining "
        "options]\n                     [--json]",
    .about =
        "Run the retraining policy every --interval seconds (first run at\n"
        "once) until SIGINT or SIGTERM, exactly as 'harvest retrain' does\n"
        "once: each run is a decision run in the experiment \"Retraining\";\n"
        "when a challenger wins it is promoted, and a running 'harvest\n"
        "serve' swaps it in by itself (it polls the registry). A tick is\n"
        "skipped as idle, with no run logged, when neither the newest\n"
        "rating nor the Production version changed since the last one\n"
        "(unless --max-age-days or --force is given). A failing tick is\n"
        "reported and the next one retries. On a signal the tick in\n"
        "progress finishes first.\n",
    .json_help = "one JSON object per run on stdout",
};

struct watch_ctx {
  int json;
};

static void on_tick(void *ud, const struct loop_tick *t)
{
  const struct watch_ctx *w = ud;
  char when[32];
  window_format_time((int64_t)hv_now(), when, sizeof(when));
  if (w->json) {
    json_t *j = t->res ? retrain_result_to_json(t->res) : json_object();
    if (!j)
      return;
    json_object_set_new(j, "tick", json_integer((json_int_t)t->index));
    json_object_set_new(j, "time", json_string(when));
    if (t->idle)
      json_object_set_new(j, "action", json_string("idle"));
    if (t->rc) {
      json_object_set_new(j, "action", json_string("error"));
      json_object_set_new(j, "error", json_string(t->err->msg));
    }
    json_dumpf(j, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(j);
  } else if (t->idle) {
    printf("%s tick %zu: idle (no new ratings, same Production version)\n",
           when, t->index);
  } else if (t->rc) {
    printf("%s tick %zu: error: %s\n", when, t->index,
           CLI_SAFE(t->err->msg));
  } else {
    printf("%s tick %zu: v%d %s: %s [run %s]\n", when, t->index,
           t->res->production_version, t->res->action,
           CLI_SAFE(t->res->detail),
           t->res->decision_run_id);
  }
  fflush(stdout);
}

/* Wait for SIGINT/SIGTERM (blocked in set) or the end of the loop. */
static int wait_signal(struct loop *l, const sigset_t *set)
{
  struct timespec ts = {0, 200 * 1000 * 1000};
  while (!loop_done(l)) {
    int sig = sigtimedwait(set, NULL, &ts);
    if (sig == SIGINT || sig == SIGTERM)
      return sig;
  }
  return 0;
}

/* --interval: a duration (window_parse_duration) into a double. */
static int set_interval(const struct cli_opt *o, const char *flag,
                        const char *arg, struct hv_err *err)
{
  int64_t v;
  if (window_parse_duration(arg, &v, flag, err))
    return HV_EUSAGE;
  *(double *)o->dst = (double)v;
  return 0;
}

/* Parse argv into f and lc (policy resolved); 0, CLI_HELP or an error
 * already reported. */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct retrain_flags *f, struct loop_config *lc)
{
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_FN, "interval", 0, "SECONDS", "between runs (default 60; "
               "units s m h d accepted: 30s, 5m)", &lc->interval_s),
       .fn = set_interval},
      {CLI_OPT(CLI_SIZE, "ticks", 0, "N", "stop after N runs (default: "
               "never)", &lc->max_ticks), .lo = 1, .hi = 1000000000},
      {.type = CLI_GROUP, .sub = f->policy_opts,
       .help = RETRAIN_POLICY_HEADING},
      {.type = CLI_GROUP, .sub = f->retrain_opts,
       .help = RETRAIN_OPTS_HEADING},
      CLI_OPTS_END};
  return retrain_flags_parse(ctx, &watch_spec, opts, f, argc, argv);
}

int cmd_watch(struct cli_ctx *ctx, int argc, char **argv)
{
  struct retrain_flags f;
  retrain_flags_init(&f);
  struct loop_config lc;
  memset(&lc, 0, sizeof(lc));
  lc.interval_s = 60;
  int rc = parse(ctx, argc, argv, &f, &lc);
  if (rc)
    return cli_parse_rc(rc);
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  char path[4096];
  if (cli_open_home(ctx, &db, &err) ||
      db_home_path(ctx->home, ctx->db, path, sizeof(path), &err))
    return cli_close_report(db, &err);
  db_close(db); /* created / migrated; the loop opens its own */
  f.opts.home = ctx->home;
  lc.db_path = path;
  lc.opts = f.opts;
  lc.policy = f.policy;
  struct watch_ctx w = {ctx->json};
  lc.on_tick = on_tick;
  lc.ud = &w;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  struct sigfwd_saved saved;
  sigfwd_install(&saved); /* OpenBLAS's threads do not block them */
  struct loop *l = NULL;
  if (loop_start(&lc, &l, &err)) {
    sigfwd_restore(&saved);
    return cli_report(&err);
  }
  if (!ctx->json)
    fprintf(stderr, "watch: running the policy every %g s on model %s; "
            "SIGINT or SIGTERM stops\n", lc.interval_s,
            f.opts.model_name ? f.opts.model_name : "harvest_recommender");
  int sig = wait_signal(l, &set);
  if (sig && !ctx->json)
    fprintf(stderr, "watch: %s: stopping after the current tick\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
  size_t ticks = loop_ticks(l);
  rc = loop_stop(l, &err);
  sigfwd_restore(&saved);
  if (rc)
    return cli_report(&err);
  if (!ctx->json)
    fprintf(stderr, "watch: %zu tick%s\n", ticks, ticks == 1 ? "" : "s");
  return 0;
}

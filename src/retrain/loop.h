/*
 * loop.h - the continual-learning scheduler: run the retraining service
 * (retrain.h) every N seconds on a thread of its own until stopped, so a
 * process (`harvest watch`, or a server with auto-retrain) keeps its model
 * fresh while it does other work. A server polling the registry picks up
 * every promotion by itself.
 *
 * Design: one thread, one database connection of its own (opened on the
 * thread), a condition variable for the interval so loop_stop wakes it at
 * once. A tick is skipped as "idle" (no decision run is logged) when
 * neither the newest rating nor the Production version changed since the
 * last tick that ran, unless the policy has a maximum age or force is on
 * (time alone can fire those). A tick that fails is reported and the loop
 * goes on; the next tick retries.
 *
 * Threads: loop_start / loop_stop from one controlling thread; on_tick is
 * called on the loop's thread (keep it short: printing is fine).
 */
#ifndef HV_RETRAIN_LOOP_H
#define HV_RETRAIN_LOOP_H

#include <stddef.h>

#include "retrain/policy.h"
#include "retrain/retrain.h"
#include "util/err.h"

/* What one tick did (everything borrowed for the call). */
struct loop_tick {
  size_t index;                    /* 0-based */
  int idle;                        /* 1: skipped, nothing changed */
  int rc;                          /* retrain_run's code (0 ok) */
  const struct hv_err *err;        /* with rc != 0 */
  const struct retrain_result *res;/* with rc == 0 and !idle */
};

struct loop_config {
  const char *db_path;      /* the home's harvest.db (copied) */
  struct retrain_opts opts; /* copied; its strings (home, model_name,
                               who) must outlive the loop; opts.policy is
                               replaced by a copy of `policy` */
  struct policy policy;
  double interval_s;        /* > 0: seconds between tick starts */
  size_t max_ticks;         /* 0: until loop_stop */
  void (*on_tick)(void *ud, const struct loop_tick *t); /* or NULL */
  void *ud;
};

struct loop;

/* Start the loop (first tick at once). *out is the caller's to loop_stop.
 * HV_EINVAL for a bad config (interval, policy, options). */
int loop_start(const struct loop_config *c, struct loop **out,
               struct hv_err *err) HV_WARN_UNUSED;

/* 1 once the loop has run max_ticks ticks (or failed to open the
 * database), else 0. */
int loop_done(struct loop *l);

/* Ticks run so far (idle ones included). */
size_t loop_ticks(struct loop *l);

/* Stop: wake the loop, wait for the tick in progress to finish, join the
 * thread, free l. Returns the error that ended the loop early (e.g. the
 * database could not be opened) or 0. NULL does nothing. */
int loop_stop(struct loop *l, struct hv_err *err);

#endif

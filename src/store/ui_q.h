/*
 * ui_q.h - the read queries of the web UI that no service offers: the
 * experiments with their run counts and last activity.
 *
 * Design: one aggregate query over experiments LEFT JOIN runs (the runs'
 * experiment index answers it), so the UI's front page does not load every
 * run with its params and metrics just to count them.
 *
 * Threads: read-only; the caller's connection, one thread at a time.
 */
#ifndef HV_STORE_UI_Q_H
#define HV_STORE_UI_Q_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

struct ui_q_experiment {
  int64_t id;
  char name[256];          /* cut at 255 bytes */
  double created_at;       /* seconds since the epoch */
  int64_t n_runs, n_running, n_finished, n_failed; /* FAILED or KILLED */
  double last_activity;    /* newest run start or end; created_at when no
                              run */
};

/* Every experiment by name into a new array *out (*n; caller frees).
 * Returns 0, HV_EDB or HV_ENOMEM. */
int ui_q_experiments(struct hv_db *db, struct ui_q_experiment **out,
                     size_t *n, struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * window.h - monitoring windows: rating_id ranges ("0:50000,0:60000", as the
 * Python seed sliced its batches) or consecutive time windows of a fixed
 * length ("7d"), and the parsers for their command-line and query-string
 * spellings.
 *
 * Design: a window is plain data (kind + two int64 bounds + a display name),
 * built once before any rating is read, so the CLI, the server and the
 * retraining loop describe windows the same way and a bad spelling is
 * refused before the database is touched. Time is seconds since the epoch,
 * UTC; time windows are half-open [start, end).
 *
 * Threads: pure functions; call from any thread.
 */
#ifndef HV_MONITOR_WINDOW_H
#define HV_MONITOR_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define WINDOW_MAX 10000 /* windows in one monitoring pass */

enum window_kind {
  WINDOW_RATING_IDS = 0, /* ratings with rating_id in [first, last] */
  WINDOW_TIME = 1        /* ratings with timestamp in [first, last) */
};

struct window_spec {
  char name[64];         /* "0:50000", or the start "1998-01-01" (day-
                            aligned) / "1998-01-01T06:00:00Z" */
  enum window_kind kind;
  int64_t first, last;   /* see enum window_kind */
};

/* Parse a duration: an integer with an optional unit s (seconds, the
 * default), m (minutes), h (hours), d (days) or w (weeks): "7d", "12h",
 * "3600". Must be >= 1 s and at most 100 years. Returns 0 or HV_EINVAL
 * naming what. */
int window_parse_duration(const char *s, int64_t *seconds, const char *what,
                          struct hv_err *err) HV_WARN_UNUSED;

/* Parse a point in time: integer seconds since the epoch, "YYYY-MM-DD" or
 * "YYYY-MM-DDTHH:MM:SS" with an optional trailing "Z" (always UTC).
 * Returns 0 or HV_EINVAL naming what. */
int window_parse_time(const char *s, int64_t *t, const char *what,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Format t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into buf (cap >= 21, else the
 * output is truncated). */
void window_format_time(int64_t t, char *buf, size_t cap);

/* Parse a comma-separated list of rating_id ranges FIRST:LAST (either side
 * may be empty: 0 / INT64_MAX) into a new array *out of *n windows (caller
 * frees). Empty items, more than WINDOW_MAX ranges and malformed numbers are
 * HV_EINVAL naming the item. */
int window_parse_batches(const char *s, struct window_spec **out, size_t *n,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Consecutive time windows [start + i*len, start + (i+1)*len) covering
 * [start, end) (the last may end after `end`), at most max_windows of them
 * (0: as many as needed, capped at WINDOW_MAX). len_s >= 1; start >= end
 * gives HV_ENOTFOUND (no rating outside the model's training data at or
 * after START: the caller's end is the last such rating). *out (caller frees) holds *n
 * windows named by their start. */
int window_time_series(int64_t start, int64_t end, int64_t len_s,
                       size_t max_windows, struct window_spec **out,
                       size_t *n, struct hv_err *err) HV_WARN_UNUSED;

#endif

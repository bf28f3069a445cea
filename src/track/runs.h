/*
 * runs.h - experiment tracking as MLflow users know it: experiments, runs,
 * params, metrics, tags, lineage, search, and garbage collection of runs
 * whose process died.
 *
 * Design: "every train is a run". A run gets a random 32-hex id (like
 * MLflow's uuid4().hex), starts RUNNING owned by this process (pid, host,
 * boot id, process start time are stored), and is ended with runs_end. A run
 * left RUNNING by a process that is gone (SIGKILL, power loss) stays RUNNING
 * in listings, shown with owner_alive=false, until runs_gc marks it FAILED.
 * Params are immutable; metrics keep every (value, step, timestamp) and the
 * latest value per key. Keys follow MLflow's rule: 1-250 characters from
 * letters, digits, '_', '-', '.', ' ' and '/'.
 *
 * Threads: the functions take the caller's connection and keep no state;
 * use one connection per thread.
 */
#ifndef HV_TRACK_RUNS_H
#define HV_TRACK_RUNS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store/tracking.h"
#include "util/err.h"

struct hv_db;

#define RUNS_DEFAULT_EXPERIMENT "Default"
#define RUNS_MAX_KEY 250
#define RUNS_MAX_PARAM_VALUE 6000
#define RUNS_MAX_TAG_VALUE 8000
#define RUNS_MAX_NAME 250

/* Start a RUNNING run in experiment (created on first use; NULL means
 * "Default") named name (NULL: "run-" + the first 8 hex of the id), child
 * of parent_run_id (NULL for none; must exist). The run records this
 * process as its owner and the built-in code version (HV_GIT_VERSION).
 * run_id receives the new 32-hex id plus NUL. */
int runs_start(struct hv_db *db, const char *experiment, const char *name,
               const char *parent_run_id, char run_id[33],
               struct hv_err *err) HV_WARN_UNUSED;

/* End a RUNNING run with status FINISHED, FAILED or KILLED and the current
 * time. HV_ECONFLICT when the run is not RUNNING, HV_ENOTFOUND when
 * unknown, HV_EINVAL for another status. */
int runs_end(struct hv_db *db, const char *run_id, const char *status,
             struct hv_err *err) HV_WARN_UNUSED;

/* End run_id FAILED with why (its message, else its code's text) as the
 * tag harvest.error. Best effort: the caller reports why itself, so a
 * failure here is not returned. */
void runs_fail(struct hv_db *db, const char *run_id,
               const struct hv_err *why);

/* Log param key=value (immutable: the same value again is fine, a different
 * value is HV_ECONFLICT). */
int runs_log_param(struct hv_db *db, const char *run_id, const char *key,
                   const char *value, struct hv_err *err) HV_WARN_UNUSED;

/* Log one metric value at step with the current time. NaN and infinities
 * are stored (NaN reads back as NaN). */
int runs_log_metric(struct hv_db *db, const char *run_id, const char *key,
                    double value, int64_t step,
                    struct hv_err *err) HV_WARN_UNUSED;

/* Log n metric values in one transaction (all or nothing). A timestamp of 0
 * means "now". Keys are checked first; nothing is written if one is bad.
 * 100,000 values take well under a second (bench/bench_tracking.sh). */
int runs_log_metrics_batch(struct hv_db *db, const char *run_id,
                           const struct tracking_metric *m, size_t n,
                           struct hv_err *err) HV_WARN_UNUSED;

/* Set tag key=value (overwrites). */
int runs_set_tag(struct hv_db *db, const char *run_id, const char *key,
                 const char *value, struct hv_err *err) HV_WARN_UNUSED;

/* Record the data lineage of a run: the rating_id range first..last it
 * trained on, the number of rows and their SHA-256 fingerprint (64 hex;
 * compute it with runs_fingerprint_data or pass the trainer's own). The
 * code version is recorded by runs_start. */
int runs_set_lineage(struct hv_db *db, const char *run_id, int64_t first,
                     int64_t last, int64_t rows, const char *sha256,
                     struct hv_err *err) HV_WARN_UNUSED;

/* SHA-256 of the ratings first..last (see ratings_fingerprint for
 * the exact bytes); *rows gets the count. */
int runs_fingerprint_data(struct hv_db *db, int64_t first, int64_t last,
                          int64_t *rows, char sha256[65],
                          struct hv_err *err) HV_WARN_UNUSED;

/* Fingerprint ratings first..last and record them as the run's lineage. */
int runs_log_data_lineage(struct hv_db *db, const char *run_id,
                          int64_t first, int64_t last,
                          struct hv_err *err) HV_WARN_UNUSED;

/* Load one run (with params, tags, latest metrics) into *out; free with
 * runs_free(*out, 1). HV_ENOTFOUND for an unknown run id. */
int runs_get(struct hv_db *db, const char *run_id, struct tracking_run **out,
             struct hv_err *err) HV_WARN_UNUSED;

/* What runs_search returns. */
struct runs_query {
  const char *experiment; /* NULL: all experiments; unknown: HV_ENOTFOUND */
  const char *filter;     /* filter.h syntax; NULL: all runs */
  const char *order_by;   /* e.g. "metrics.loss ASC"; NULL: newest first */
  size_t max;             /* 0: no limit */
};

/* Search runs: filter, sort and cut to q->max into *out (*n); free with
 * runs_free. HV_EINVAL with position for a bad filter or order-by. */
int runs_search(struct hv_db *db, const struct runs_query *q,
                struct tracking_run **out, size_t *n,
                struct hv_err *err) HV_WARN_UNUSED;

/* Free n runs; NULL does nothing. */
void runs_free(struct tracking_run *runs, size_t n);

/* Lookups on a loaded run (no database access). runs_param / runs_tag
 * return the value of key (borrowed from r) or NULL when r has none;
 * runs_metric returns the latest value of metric key, or NAN when r has
 * none. */
const char *runs_param(const struct tracking_run *r, const char *key);
const char *runs_tag(const struct tracking_run *r, const char *key);
double runs_metric(const struct tracking_run *r, const char *key);

enum runs_owner_state {
  RUNS_OWNER_ALIVE = 1, /* the owning process is still running */
  RUNS_OWNER_DEAD = 0,  /* gone: same host and it exited or rebooted */
  RUNS_OWNER_UNKNOWN = -1 /* other host or no owner recorded */
};

/* Whether the process that owns run r is still alive (meaningful for
 * RUNNING runs). Checks host, boot id, /proc/PID and the process start
 * time, so a recycled pid or a zombie counts as dead. */
enum runs_owner_state runs_owner_state(const struct tracking_run *r);

/* Fill o with this process's identity (pid, host, boot id, start time). */
void runs_owner_self(struct tracking_owner *o);

/* Mark as FAILED every RUNNING run whose owner is dead and that started at
 * least older_than seconds ago (0: any age); each gets the tag
 * harvest.gc_reason. *marked (may be NULL) gets the count; ids (may be NULL)
 * a new array of *marked 33-byte ids (caller frees). Runs owned on another
 * host are left alone. */
int runs_gc(struct hv_db *db, double older_than, size_t *marked,
            char (**ids)[33], struct hv_err *err) HV_WARN_UNUSED;

/* JSON object of a run as the CLI and API print it: run_id, run_name,
 * experiment, status, owner_alive (for RUNNING runs), start_time, end_time,
 * parent_run_id, user, lineage {code_version, data_*}, params {k: v},
 * metrics {k: latest value (null for NaN/inf)}, tags {k: v}. New reference;
 * NULL on out of memory. */
json_t *runs_to_json(const struct tracking_run *r);

/* 0 when s is a well-formed run id (32 lowercase hex), else HV_EINVAL. */
int runs_check_id(const char *s, struct hv_err *err) HV_WARN_UNUSED;

/* The shortest run id prefix runs_resolve_id takes (as git's default). */
#define RUNS_MIN_PREFIX 4

/* The run id that arg names, into out: a full id as it is (whether it
 * exists is the caller's next look-up), or a unique prefix of at least
 * RUNS_MIN_PREFIX hex digits, as git takes commit ids. Returns 0,
 * HV_EINVAL for a malformed, too short or ambiguous prefix (the message
 * lists the runs it matches), HV_ENOTFOUND when no run starts with it. */
int runs_resolve_id(struct hv_db *db, const char *arg, char out[33],
                    struct hv_err *err) HV_WARN_UNUSED;

/* 0 when key is a valid param/metric/tag key (see above), else HV_EINVAL
 * naming what (e.g. "metric key"). */
int runs_check_key(const char *key, const char *what,
                   struct hv_err *err) HV_WARN_UNUSED;

#endif

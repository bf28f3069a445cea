/*
 * tracking.h - the tracking tables: experiments, runs, params, metrics,
 * tags, lineage and artifact records.
 *
 * Design: plain records in, plain records out; track/runs.c and
 * track/artifacts.c add the rules (ids, validation, owners, filters) on top.
 * Every write that touches several rows (a metrics batch) is one transaction
 * with one prepared statement reused per row, so 100,000 metric values go in
 * well under a second. Metric NaN is stored as NULL and read back as NaN.
 * Latest metric per key (highest step, then newest timestamp) is kept in its
 * own table as the values are written, so "latest" is one indexed lookup.
 * The ratings fingerprint of a run's data lives in store/ratings.h.
 *
 * Threads: a struct hv_db belongs to one thread at a time (see db.h).
 */
#ifndef HV_STORE_TRACKING_H
#define HV_STORE_TRACKING_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

/* One key/value pair (param or tag). Strings owned by the containing record. */
struct tracking_kv {
  char *key;
  char *value;
};

/* One metric value. key is owned by the containing record when read back;
 * borrowed when passed in. */
struct tracking_metric {
  const char *key;
  double value;     /* NaN allowed */
  int64_t step;
  double timestamp; /* seconds since the epoch */
};

/* Lineage of a run: code version and data slice. data_rows < 0 means "data
 * lineage not recorded". */
struct tracking_lineage {
  const char *code_version; /* NULL: leave unchanged */
  int64_t data_first_rating_id;
  int64_t data_last_rating_id;
  int64_t data_rows;
  const char *data_sha256;  /* 64 lowercase hex or NULL */
};

/* The process that owns a RUNNING run, to tell a dead owner from a live one. */
struct tracking_owner {
  int64_t pid;
  char host[256];
  char boot_id[64];
  int64_t start; /* process start time in clock ticks since boot, 0 unknown */
};

/* A run as stored, with its params, tags and latest metrics. Everything is
 * owned by the record; free a list with tracking_runs_free. */
struct tracking_run {
  char run_id[33];
  int64_t experiment_id;
  char *experiment;    /* experiment name */
  char *name;
  char *status;        /* RUNNING / FINISHED / FAILED / KILLED */
  double start_time;
  double end_time;     /* 0 when still running */
  char *parent_run_id; /* NULL for top-level runs */
  char *user;
  struct tracking_owner owner;
  char *code_version;  /* NULL when not recorded */
  int64_t data_first_rating_id, data_last_rating_id, data_rows; /* -1: none */
  char *data_sha256;   /* NULL when not recorded */
  struct tracking_kv *params;
  size_t n_params;
  struct tracking_kv *tags;
  size_t n_tags;
  struct tracking_metric *metrics; /* latest value per key; key owned */
  size_t n_metrics;
};

/* What a new run starts with (all strings borrowed). */
struct tracking_run_new {
  const char *run_id;     /* 32 hex */
  int64_t experiment_id;
  const char *name;
  const char *parent_run_id; /* NULL or an existing run */
  const char *user;
  double start_time;
  const struct tracking_owner *owner;
};

/* One artifact record of a run. path owned by the record. */
struct tracking_artifact {
  char *path;
  char sha256[65];
  int64_t size;
  double created_at;
};

/* Look up experiment `name`, creating it when create is set; *id gets its
 * id. HV_ENOTFOUND when missing and create is 0. */
int tracking_experiment_id(struct hv_db *db, const char *name, int create,
                           int64_t *id, struct hv_err *err) HV_WARN_UNUSED;

/* Insert a RUNNING run. HV_ENOTFOUND when the parent run does not exist,
 * HV_ECONFLICT when the id is taken. */
int tracking_run_insert(struct hv_db *db, const struct tracking_run_new *r,
                        struct hv_err *err) HV_WARN_UNUSED;

/* Set status and end time of a run. When only_running is set the change
 * applies only to a RUNNING run (HV_ECONFLICT otherwise). HV_ENOTFOUND for
 * an unknown run. */
int tracking_run_finish(struct hv_db *db, const char *run_id,
                        const char *status, double end_time, int only_running,
                        struct hv_err *err) HV_WARN_UNUSED;

/* Log a param. Params are immutable: logging the same value again is a
 * no-op, a different value is HV_ECONFLICT. HV_ENOTFOUND for unknown run. */
int tracking_param_put(struct hv_db *db, const char *run_id, const char *key,
                       const char *value, struct hv_err *err) HV_WARN_UNUSED;

/* Set (insert or overwrite) a tag. */
int tracking_tag_set(struct hv_db *db, const char *run_id, const char *key,
                     const char *value, struct hv_err *err) HV_WARN_UNUSED;

/* Log n metric values in one transaction (all or nothing), keeping the
 * latest value per key up to date. */
int tracking_metrics_put(struct hv_db *db, const char *run_id,
                         const struct tracking_metric *m, size_t n,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Record lineage fields (see struct tracking_lineage). */
int tracking_lineage_set(struct hv_db *db, const char *run_id,
                         const struct tracking_lineage *l,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Load runs with params, tags and latest metrics into a new array *out (*n
 * entries; free with tracking_runs_free). experiment_id < 0 means all
 * experiments; run_id non-NULL loads that one run (HV_ENOTFOUND when
 * missing); status non-NULL keeps only runs in that status. Order: newest
 * first (start time, then insertion order). */
int tracking_runs_load(struct hv_db *db, int64_t experiment_id,
                       const char *run_id, const char *status,
                       struct tracking_run **out, size_t *n,
                       struct hv_err *err) HV_WARN_UNUSED;

/* Free n runs from tracking_runs_load; NULL does nothing. */
void tracking_runs_free(struct tracking_run *runs, size_t n);

/* Free what one run record owns (not the record itself) and zero it. */
void tracking_run_clear(struct tracking_run *r);

/* Full history of one metric of a run, by step then timestamp, into *out
 * (*n; free with tracking_metrics_free). */
int tracking_metric_history(struct hv_db *db, const char *run_id,
                            const char *key, struct tracking_metric **out,
                            size_t *n, struct hv_err *err) HV_WARN_UNUSED;

/* Free metrics whose keys are owned (from tracking_metric_history). */
void tracking_metrics_free(struct tracking_metric *m, size_t n);

/* Whether run_id exists (0 yes, HV_ENOTFOUND no). */
int tracking_run_exists(struct hv_db *db, const char *run_id,
                        struct hv_err *err) HV_WARN_UNUSED;

/* The run ids that start with prefix (lowercase hex, the caller checks
 * it), in id order: the first cap into ids, all of them counted in *n. */
int tracking_run_ids_with_prefix(struct hv_db *db, const char *prefix,
                                 char (*ids)[33], size_t cap, size_t *n,
                                 struct hv_err *err) HV_WARN_UNUSED;

/* Record an artifact (run_id, path) -> (sha256, size). Artifacts are
 * immutable: the same content again is a no-op, other content is
 * HV_ECONFLICT. HV_ENOTFOUND for an unknown run. */
int tracking_artifact_put(struct hv_db *db, const char *run_id,
                          const char *path, const char *sha256, int64_t size,
                          struct hv_err *err) HV_WARN_UNUSED;

/* Look up one artifact record into *out (path owned: free out->path). */
int tracking_artifact_get(struct hv_db *db, const char *run_id,
                          const char *path, struct tracking_artifact *out,
                          struct hv_err *err) HV_WARN_UNUSED;

/* All artifact records of a run, by path (*out; free with
 * tracking_artifacts_free). HV_ENOTFOUND for an unknown run. */
int tracking_artifact_list(struct hv_db *db, const char *run_id,
                           struct tracking_artifact **out, size_t *n,
                           struct hv_err *err) HV_WARN_UNUSED;

void tracking_artifacts_free(struct tracking_artifact *a, size_t n);

/* One experiment with its run counts and last activity (the web UI's
 * front page: one aggregate query, no run loaded). */
struct tracking_experiment {
  int64_t id;
  char name[256];          /* cut at 255 bytes */
  double created_at;       /* seconds since the epoch */
  int64_t n_runs, n_running, n_finished, n_failed; /* FAILED or KILLED */
  double last_activity;    /* newest run start or end; created_at when no
                              run */
};

/* Every experiment by name into a new array *out (*n; caller frees).
 * Returns 0, HV_EINVAL (no database), HV_EDB or HV_ENOMEM. */
int tracking_experiments(struct hv_db *db, struct tracking_experiment **out,
                         size_t *n, struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * tracking.c - the tracking tables, backend-neutral: the record frees and
 * one dispatch per function (the rules on top live in track/). See
 * tracking.h; the SQL is in sqlite/sq_tracking.c.
 */
#include "store/tracking.h"

#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/mem.h"

#define TR(db) ((db)->be->tracking)

/* Every function below checks its database (and the pointers it cannot do
 * without) and then makes exactly one call into the backend. */

int tracking_experiment_id(struct hv_db *db, const char *name, int create,
                           int64_t *id, struct hv_err *err)
{
  return db && name ? TR(db)->experiment_id(db, name, create, id, err)
                    : hv_err_set(err, HV_EINVAL, "experiment: no name");
}

int tracking_experiments(struct hv_db *db, struct tracking_experiment **out,
                         size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? TR(db)->experiments(db, out, n, err)
            : store_no_db(err, "experiments");
}

int tracking_run_insert(struct hv_db *db, const struct tracking_run_new *r,
                        struct hv_err *err)
{
  return db && r ? TR(db)->run_insert(db, r, err)
                 : hv_err_set(err, HV_EINVAL, "run: no database or record");
}

int tracking_run_finish(struct hv_db *db, const char *run_id,
                        const char *status, double end_time, int only_running,
                        struct hv_err *err)
{
  return db ? TR(db)->run_finish(db, run_id, status, end_time, only_running,
                                 err)
            : store_no_db(err, "run");
}

int tracking_run_exists(struct hv_db *db, const char *run_id,
                        struct hv_err *err)
{
  return db ? TR(db)->run_exists(db, run_id, err) : store_no_db(err, "run");
}

int tracking_param_put(struct hv_db *db, const char *run_id, const char *key,
                       const char *value, struct hv_err *err)
{
  return db ? TR(db)->param_put(db, run_id, key, value, err)
            : store_no_db(err, "param");
}

int tracking_tag_set(struct hv_db *db, const char *run_id, const char *key,
                     const char *value, struct hv_err *err)
{
  return db ? TR(db)->tag_set(db, run_id, key, value, err)
            : store_no_db(err, "tag");
}

int tracking_metrics_put(struct hv_db *db, const char *run_id,
                         const struct tracking_metric *m, size_t n,
                         struct hv_err *err)
{
  return db && (m || !n)
             ? TR(db)->metrics_put(db, run_id, m, n, err)
             : hv_err_set(err, HV_EINVAL, "metrics: no database or values");
}

int tracking_lineage_set(struct hv_db *db, const char *run_id,
                         const struct tracking_lineage *l, struct hv_err *err)
{
  return db && l ? TR(db)->lineage_set(db, run_id, l, err)
                 : hv_err_set(err, HV_EINVAL, "lineage: no database or "
                                              "record");
}

int tracking_runs_load(struct hv_db *db, int64_t experiment_id,
                       const char *run_id, const char *status,
                       struct tracking_run **out, size_t *n,
                       struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? TR(db)->runs_load(db, experiment_id, run_id, status, out, n,
                                err)
            : store_no_db(err, "runs");
}

int tracking_metric_history(struct hv_db *db, const char *run_id,
                            const char *key, struct tracking_metric **out,
                            size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? TR(db)->metric_history(db, run_id, key, out, n, err)
            : store_no_db(err, "metrics");
}

int tracking_artifact_put(struct hv_db *db, const char *run_id,
                          const char *path, const char *sha256, int64_t size,
                          struct hv_err *err)
{
  return db && path && sha256
             ? TR(db)->artifact_put(db, run_id, path, sha256, size, err)
             : hv_err_set(err, HV_EINVAL, "artifact: no database, path or "
                                          "hash");
}

int tracking_artifact_get(struct hv_db *db, const char *run_id,
                          const char *path, struct tracking_artifact *out,
                          struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  return db && path ? TR(db)->artifact_get(db, run_id, path, out, err)
                    : hv_err_set(err, HV_EINVAL, "artifact: no database or "
                                                 "path");
}

int tracking_artifact_list(struct hv_db *db, const char *run_id,
                           struct tracking_artifact **out, size_t *n,
                           struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? TR(db)->artifact_list(db, run_id, out, n, err)
            : store_no_db(err, "artifacts");
}

/* ---- frees ------------------------------------------------------------ */

static void kv_free(struct tracking_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(kv[i].key);
    free(kv[i].value);
  }
  free(kv);
}

void tracking_run_clear(struct tracking_run *r)
{
  if (!r)
    return;
  HV_FREE_ALL(r->experiment, r->name, r->status, r->parent_run_id, r->user,
              r->code_version, r->data_sha256);
  kv_free(r->params, r->n_params);
  kv_free(r->tags, r->n_tags);
  for (size_t i = 0; i < r->n_metrics; i++)
    free((char *)r->metrics[i].key);
  free(r->metrics);
  memset(r, 0, sizeof(*r));
}

void tracking_runs_free(struct tracking_run *runs, size_t n)
{
  if (!runs)
    return;
  for (size_t i = 0; i < n; i++)
    tracking_run_clear(&runs[i]);
  free(runs);
}

void tracking_metrics_free(struct tracking_metric *m, size_t n)
{
  if (!m)
    return;
  for (size_t i = 0; i < n; i++)
    free((char *)m[i].key);
  free(m);
}

void tracking_artifacts_free(struct tracking_artifact *a, size_t n)
{
  if (!a)
    return;
  for (size_t i = 0; i < n; i++)
    free(a[i].path);
  free(a);
}

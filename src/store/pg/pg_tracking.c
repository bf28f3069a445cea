/*
 * pg_tracking.c - the tracking tables' SQL for PostgreSQL (experiments,
 * runs, params, metrics, tags, lineage, artifact records): see
 * store/tracking.h for the contract, backend.h for the table.
 *
 * Design: the same statements as SQLite's in PostgreSQL's dialect; where
 * SQLite reads the rowid for insertion order, runs.seq and metrics.id stand
 * in. A metric batch is one write transaction (db_begin's lock), so two
 * processes logging at once each land every value, and latest_metrics is
 * folded from exactly the rows the batch inserted (RETURNING id).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg.h"
#include "util/fsutil.h"

static int run_exists(struct hv_db *db, const char *run_id,
                      struct hv_err *err)
{
  struct pg_args a = pg_argsf("t", run_id);
  int64_t n = 0;
  int rc = pg_run_row(db, "SELECT COUNT(*) FROM runs WHERE run_id = $1", &a,
                      &n, 1, "looking up run", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "run '%.64s' not found",
                    run_id ? run_id : "");
  return rc;
}

static int experiment_id(struct hv_db *db, const char *name, int create,
                         int64_t *id, struct hv_err *err)
{
  struct pg_args a = pg_argsf("t", name);
  if (create) {
    struct pg_args c = pg_argsf("tf", name, hv_now());
    if (pg_cmd(db,
               "INSERT INTO experiments(name, created_at) VALUES ($1, $2) "
               "ON CONFLICT(name) DO NOTHING",
               0, &c, NULL, "creating experiment", err))
      return HV_EDB;
  }
  int64_t v[2] = {0, 0};
  int rc = pg_run_row(db,
                      "SELECT COUNT(*), MIN(id) FROM experiments WHERE "
                      "name = $1",
                      &a, v, 2, "looking up experiment", err);
  if (!rc && v[0] == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "experiment '%.100s' not found",
                    name);
  if (!rc)
    *id = v[1];
  return rc;
}

static int run_insert(struct hv_db *db, const struct tracking_run_new *r,
                      struct hv_err *err)
{
  if (r->parent_run_id && run_exists(db, r->parent_run_id, err)) {
    if (err && err->code == HV_ENOTFOUND)
      hv_err_prefix(err, "parent run");
    return err ? err->code : HV_ENOTFOUND;
  }
  const struct tracking_owner *o = r->owner;
  struct pg_args a = pg_argsf("titftttitti", r->run_id, r->experiment_id,
                              r->name, r->start_time, r->parent_run_id,
                              r->user, HV_GIT_VERSION,
                              (int64_t)(o ? o->pid : 0), o ? o->host : NULL,
                              o ? o->boot_id : NULL,
                              (int64_t)(o ? o->start : 0));
  a.n = o ? 11 : 7;
  int rc = pg_cmd(db,
                  r->owner ? "INSERT INTO runs(run_id, experiment_id, name,"
                             " status, start_time, parent_run_id, \"user\","
                             " code_version, owner_pid, owner_host,"
                             " owner_boot_id, owner_start) VALUES ($1, $2,"
                             " $3, 'RUNNING', $4, $5, $6, $7, $8, $9, $10,"
                             " $11)"
                           : "INSERT INTO runs(run_id, experiment_id, name,"
                             " status, start_time, parent_run_id, \"user\","
                             " code_version) VALUES ($1, $2, $3, 'RUNNING',"
                             " $4, $5, $6, $7)",
                  0, &a, NULL, "creating run", err);
  if (rc && pg_is_constraint(db))
    rc = hv_err_set(err, HV_ECONFLICT,
                    "run id '%.64s' already exists or experiment %lld is "
                    "unknown",
                    r->run_id, (long long)r->experiment_id);
  return rc;
}

static int run_finish(struct hv_db *db, const char *run_id,
                      const char *status, double end_time, int only_running,
                      struct hv_err *err)
{
  struct pg_args a = pg_argsf("tftd", status, end_time, run_id, only_running);
  int64_t changed = 0;
  int rc = pg_cmd(db,
                  "UPDATE runs SET status = $1, end_time = $2 WHERE run_id ="
                  " $3 AND ($4 = 0 OR status = 'RUNNING')",
                  0, &a, &changed, "ending run", err);
  if (!rc && changed == 0) {
    rc = run_exists(db, run_id, err);
    if (!rc)
      rc = hv_err_set(err, HV_ECONFLICT,
                      "run '%s' is not RUNNING; it was already ended", run_id);
  }
  return rc;
}

static int param_put(struct hv_db *db, const char *run_id, const char *key,
                     const char *value, struct hv_err *err)
{
  int rc = run_exists(db, run_id, err);
  if (rc)
    return rc;
  /* the value stored after the insert: the new one, or the one that was
   * there (params are immutable) */
  struct pg_args a = pg_argsf("ttt", run_id, key, value);
  PGresult *r = NULL;
  if (pg_query(db,
               "WITH ins AS (INSERT INTO params(run_id, key, value) VALUES "
               "($1, $2, $3) ON CONFLICT(run_id, key) DO NOTHING RETURNING "
               "value) SELECT value FROM ins UNION ALL SELECT value FROM "
               "params WHERE run_id = $1 AND key = $2",
               0, &a, &r, "logging param", err))
    return HV_EDB;
  const char *have = PQntuples(r) ? pg_text(r, 0, 0) : NULL;
  if (!have)
    rc = hv_err_set(err, HV_EDB, "reading param: no row");
  else if (strcmp(have, value))
    rc = hv_err_set(err, HV_ECONFLICT,
                    "param '%.64s' of run %s is already '%.64s'; params are "
                    "immutable (log a new key or start a new run)",
                    key, run_id, have);
  PQclear(r);
  return rc;
}

static int tag_set(struct hv_db *db, const char *run_id, const char *key,
                   const char *value, struct hv_err *err)
{
  int rc = run_exists(db, run_id, err);
  if (rc)
    return rc;
  struct pg_args a = pg_argsf("ttt", run_id, key, value);
  return pg_cmd(db,
                "INSERT INTO tags(run_id, key, value) VALUES ($1, $2, $3)"
                " ON CONFLICT(run_id, key) DO UPDATE SET value = "
                "excluded.value",
                0, &a, NULL, "setting tag", err);
}

/* Fold the metrics rows first..last (ids, one run) into latest_metrics:
 * the newest by (step, timestamp, id) per key replaces the stored latest
 * unless that is newer. */
static int update_latest(struct hv_db *db, int64_t first, int64_t last,
                         struct hv_err *err)
{
  struct pg_args a = pg_argsf("ii", first, last);
  return pg_cmd(
      db,
      "INSERT INTO latest_metrics(run_id, key, value, step, timestamp)"
      " SELECT DISTINCT ON (key) run_id, key, value, step, timestamp FROM"
      " metrics WHERE id BETWEEN $1 AND $2"
      " ORDER BY key, step DESC, timestamp DESC, id DESC"
      " ON CONFLICT(run_id, key) DO UPDATE SET"
      " value = excluded.value, step = excluded.step,"
      " timestamp = excluded.timestamp"
      " WHERE excluded.step > latest_metrics.step OR"
      " (excluded.step = latest_metrics.step AND"
      "  excluded.timestamp >= latest_metrics.timestamp)",
      0, &a, NULL, "updating latest metrics", err);
}

static const char sql_metric[] =
    "INSERT INTO metrics(run_id, key, value, step, timestamp) VALUES ($1, "
    "$2, $3, $4, $5) RETURNING id";

static int metrics_put(struct hv_db *db, const char *run_id,
                       const struct tracking_metric *m, size_t n,
                       struct hv_err *err)
{
  int64_t first = 0, id = 0;
  int rc = db_begin(db, err);
  if (!rc)
    rc = run_exists(db, run_id, err);
  for (size_t i = 0; i < n && !rc; i++) {
    struct pg_args a = pg_argsf("ttfif", run_id, m[i].key, m[i].value,
                                m[i].step, m[i].timestamp);
    PGresult *r = NULL;
    rc = pg_query(db, sql_metric, 1, &a, &r, "logging metrics", err);
    if (!rc) {
      id = pg_i64(r, 0, 0, 0);
      PQclear(r);
    }
    if (i == 0)
      first = id;
  }
  if (!rc && n)
    rc = update_latest(db, first, id, err);
  return pg_end(db, rc, err);
}

static int lineage_set(struct hv_db *db, const char *run_id,
                       const struct tracking_lineage *l, struct hv_err *err)
{
  struct pg_args a = pg_argsf("ttiiitd", l->code_version, run_id,
                              l->data_first_rating_id, l->data_last_rating_id,
                              l->data_rows, l->data_sha256,
                              l->data_rows >= 0);
  int64_t changed = 0;
  int rc = pg_cmd(db,
                  "UPDATE runs SET code_version = COALESCE($1, code_version),"
                  " data_first_rating_id = CASE WHEN $7 = 1 THEN $3::bigint"
                  " END, data_last_rating_id = CASE WHEN $7 = 1 THEN"
                  " $4::bigint END, data_rows = CASE WHEN $7 = 1 THEN"
                  " $5::bigint END, data_sha256 = CASE WHEN $7 = 1 THEN"
                  " $6::text END WHERE run_id = $2",
                  0, &a, &changed, "recording lineage", err);
  if (!rc && changed == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "run '%.64s' not found", run_id);
  return rc;
}

/* ---- loading runs ---- */

#define RUN_FILTER                                                   \
  " WHERE ($1::bigint < 0 OR r.experiment_id = $1) AND ($2::text IS " \
  "NULL OR r.run_id = $2) AND ($3::text IS NULL OR r.status = $3)"

static void read_run(const PGresult *r, int i, void *el, int *oom)
{
  struct tracking_run *x = el;
  pg_copy(r, i, 0, x->run_id, sizeof(x->run_id));
  x->experiment_id = pg_i64(r, i, 1, 0);
  x->experiment = pg_dup(r, i, 2, oom);
  x->name = pg_dup(r, i, 3, oom);
  x->status = pg_dup(r, i, 4, oom);
  x->start_time = pg_f64(r, i, 5, 0);
  x->end_time = pg_f64(r, i, 6, 0);
  x->parent_run_id = pg_dup(r, i, 7, oom);
  x->user = pg_dup(r, i, 8, oom);
  x->owner.pid = pg_i64(r, i, 9, 0);
  pg_copy(r, i, 10, x->owner.host, sizeof(x->owner.host));
  pg_copy(r, i, 11, x->owner.boot_id, sizeof(x->owner.boot_id));
  x->owner.start = pg_i64(r, i, 12, 0);
  x->code_version = pg_dup(r, i, 13, oom);
  x->data_first_rating_id = pg_i64(r, i, 14, -1);
  x->data_last_rating_id = pg_i64(r, i, 15, -1);
  x->data_rows = pg_i64(r, i, 16, -1);
  x->data_sha256 = pg_dup(r, i, 17, oom);
}

static void free_runs(void *arr, size_t n)
{
  tracking_runs_free(arr, n);
}

static int cmp_run_ptr(const void *a, const void *b)
{
  const struct tracking_run *const *x = a, *const *y = b;
  return strcmp((*x)->run_id, (*y)->run_id);
}

/* Params, tags and latest metrics of the loaded runs, by run_id. */
struct children {
  struct tracking_run **idx;
  size_t n;
  int kind; /* 0 params, 1 tags, 2 metrics */
};

static int child_row(const PGresult *r, int i, void *arg)
{
  const struct children *c = arg;
  struct tracking_run key, *kp = &key;
  pg_copy(r, i, 0, key.run_id, sizeof(key.run_id));
  struct tracking_run **hit = bsearch(&kp, c->idx, c->n, sizeof(*c->idx),
                                      cmp_run_ptr);
  if (!hit)
    return 0; /* inserted between the two queries */
  struct tracking_run *run = *hit;
  int oom = 0;
  if (c->kind == 2) {
    struct tracking_metric *m =
        store_append((void **)&run->metrics, &run->n_metrics, sizeof(*m));
    if (!m)
      return HV_ENOMEM;
    m->key = pg_dup(r, i, 1, &oom);
    m->value = pg_f64(r, i, 2, NAN);
    m->step = pg_i64(r, i, 3, 0);
    m->timestamp = pg_f64(r, i, 4, 0);
    return oom ? HV_ENOMEM : 0;
  }
  struct tracking_kv *kv =
      c->kind == 0
          ? store_append((void **)&run->params, &run->n_params, sizeof(*kv))
          : store_append((void **)&run->tags, &run->n_tags, sizeof(*kv));
  if (!kv)
    return HV_ENOMEM;
  kv->key = pg_dup(r, i, 1, &oom);
  kv->value = pg_dup(r, i, 2, &oom);
  return oom ? HV_ENOMEM : 0;
}

static int load_children(struct hv_db *db, const struct pg_args *a,
                         struct tracking_run *runs, size_t n,
                         struct hv_err *err)
{
  static const char *const sql[] = {
      "SELECT c.run_id, c.key, c.value FROM params c JOIN runs r ON "
      "r.run_id = c.run_id" RUN_FILTER " ORDER BY c.run_id, c.key",
      "SELECT c.run_id, c.key, c.value FROM tags c JOIN runs r ON "
      "r.run_id = c.run_id" RUN_FILTER " ORDER BY c.run_id, c.key",
      "SELECT c.run_id, c.key, c.value, c.step, c.timestamp FROM "
      "latest_metrics c JOIN runs r ON r.run_id = c.run_id" RUN_FILTER
      " ORDER BY c.run_id, c.key",
  };
  struct children c = {malloc((n ? n : 1) * sizeof(*c.idx)), n, 0};
  if (!c.idx)
    return hv_err_set(err, HV_ENOMEM, "out of memory loading runs");
  for (size_t i = 0; i < n; i++)
    c.idx[i] = &runs[i];
  qsort(c.idx, n, sizeof(*c.idx), cmp_run_ptr);
  int rc = 0;
  for (c.kind = 0; c.kind < 3 && !rc; c.kind++)
    rc = pg_run(db, sql[c.kind], 0, a, child_row, &c, NULL, "loading runs",
                err);
  if (rc == HV_ENOMEM)
    hv_err_set(err, rc, "out of memory loading runs");
  free(c.idx);
  return rc;
}

static int runs_load(struct hv_db *db, int64_t experiment_id,
                     const char *run_id, const char *status,
                     struct tracking_run **out, size_t *n,
                     struct hv_err *err)
{
  struct pg_args a = pg_argsf("itt", experiment_id, run_id, status);
  int rc = pg_collect(
      db,
      "SELECT r.run_id, r.experiment_id, e.name, r.name, r.status,"
      " r.start_time, r.end_time, r.parent_run_id, r.\"user\","
      " r.owner_pid, r.owner_host, r.owner_boot_id, r.owner_start,"
      " r.code_version, r.data_first_rating_id,"
      " r.data_last_rating_id, r.data_rows, r.data_sha256"
      " FROM runs r JOIN experiments e ON e.id = r.experiment_id" RUN_FILTER
      " ORDER BY r.start_time DESC, r.seq DESC",
      &a, sizeof(**out), read_run, free_runs, (void **)out, n,
      "loading runs", err);
  if (rc)
    return rc;
  if (run_id && *n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "run '%.64s' not found", run_id);
  if ((rc = load_children(db, &a, *out, *n, err))) {
    tracking_runs_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

static void read_metric(const PGresult *r, int i, void *el, int *oom)
{
  struct tracking_metric *x = el;
  x->key = pg_dup(r, i, 0, oom);
  x->value = pg_f64(r, i, 1, NAN);
  x->step = pg_i64(r, i, 2, 0);
  x->timestamp = pg_f64(r, i, 3, 0);
}

static void free_metrics(void *arr, size_t n)
{
  tracking_metrics_free(arr, n);
}

static int metric_history(struct hv_db *db, const char *run_id,
                          const char *key, struct tracking_metric **out,
                          size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  int rc = run_exists(db, run_id, err);
  if (rc)
    return rc;
  struct pg_args a = pg_argsf("tt", run_id, key);
  return pg_collect(db,
                    "SELECT key, value, step, timestamp FROM metrics WHERE "
                    "run_id = $1 AND key = $2 ORDER BY step, timestamp, id",
                    &a, sizeof(**out), read_metric, free_metrics,
                    (void **)out, n, "reading metrics", err);
}

/* ---- artifacts ---- */

static void read_artifact(const PGresult *r, int i, void *el, int *oom)
{
  struct tracking_artifact *x = el;
  x->path = pg_dup(r, i, 0, oom);
  pg_copy(r, i, 1, x->sha256, sizeof(x->sha256));
  x->size = pg_i64(r, i, 2, 0);
  x->created_at = pg_f64(r, i, 3, 0);
}

static void free_artifacts(void *arr, size_t n)
{
  tracking_artifacts_free(arr, n);
}

static int artifact_get(struct hv_db *db, const char *run_id,
                        const char *path, struct tracking_artifact *out,
                        struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  struct pg_args a = pg_argsf("tt", run_id, path);
  struct tracking_artifact *one = NULL;
  size_t n = 0;
  int rc = pg_collect(db,
                      "SELECT path, sha256, size, created_at FROM artifacts "
                      "WHERE run_id = $1 AND path = $2",
                      &a, sizeof(*one), read_artifact, free_artifacts,
                      (void **)&one, &n, "looking up artifact", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "run %.64s has no artifact '%.200s'",
                    run_id, path);
  if (!rc)
    *out = one[0];
  free(one);
  return rc;
}

static int artifact_put(struct hv_db *db, const char *run_id,
                        const char *path, const char *sha256, int64_t size,
                        struct hv_err *err)
{
  struct tracking_artifact have = {0};
  int rc = artifact_get(db, run_id, path, &have, err);
  if (rc == 0) {
    int same = !strcmp(have.sha256, sha256);
    free(have.path);
    if (same)
      return 0;
    return hv_err_set(err, HV_ECONFLICT,
                      "artifact '%.200s' of run %s already exists with other "
                      "content; artifacts are immutable",
                      path, run_id);
  }
  if (rc != HV_ENOTFOUND || (rc = run_exists(db, run_id, err)))
    return rc;
  struct pg_args a = pg_argsf("tttif", run_id, path, sha256, size, hv_now());
  rc = pg_cmd(db,
              "INSERT INTO artifacts(run_id, path, sha256, size, created_at)"
              " VALUES ($1, $2, $3, $4, $5)",
              0, &a, NULL, "recording artifact", err);
  if (rc && pg_is_constraint(db))
    rc = hv_err_set(err, HV_ECONFLICT,
                    "artifact '%.200s' of run %s was just logged by another "
                    "process; artifacts are immutable",
                    path, run_id);
  return rc;
}

static int artifact_list(struct hv_db *db, const char *run_id,
                         struct tracking_artifact **out, size_t *n,
                         struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  int rc = run_exists(db, run_id, err);
  if (rc)
    return rc;
  struct pg_args a = pg_argsf("t", run_id);
  return pg_collect(db,
                    "SELECT path, sha256, size, created_at FROM artifacts "
                    "WHERE run_id = $1 ORDER BY path",
                    &a, sizeof(**out), read_artifact, free_artifacts,
                    (void **)out, n, "listing artifacts", err);
}

/* ---- experiments summary ---- */

static void read_experiment(const PGresult *r, int i, void *el, int *oom)
{
  struct tracking_experiment *e = el;
  (void)oom;
  e->id = pg_i64(r, i, 0, 0);
  pg_copy(r, i, 1, e->name, sizeof(e->name));
  e->created_at = pg_f64(r, i, 2, 0);
  e->n_runs = pg_i64(r, i, 3, 0);
  e->n_running = pg_i64(r, i, 4, 0);
  e->n_finished = pg_i64(r, i, 5, 0);
  e->n_failed = pg_i64(r, i, 6, 0);
  e->last_activity = pg_f64(r, i, 7, 0);
}

static int experiments(struct hv_db *db, struct tracking_experiment **out,
                       size_t *n, struct hv_err *err)
{
  return pg_collect(
      db,
      "SELECT e.id, e.name, e.created_at, COUNT(r.run_id),"
      " COUNT(*) FILTER (WHERE r.status = 'RUNNING'),"
      " COUNT(*) FILTER (WHERE r.status = 'FINISHED'),"
      " COUNT(*) FILTER (WHERE r.status IN ('FAILED', 'KILLED')),"
      " COALESCE(MAX(GREATEST(r.start_time, COALESCE(r.end_time, 0))),"
      " e.created_at)"
      " FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id"
      " GROUP BY e.id ORDER BY e.name",
      NULL, sizeof(**out), read_experiment, NULL, (void **)out, n,
      "listing experiments", err);
}

const struct tracking_ops pg_tracking_ops = {
    .experiment_id = experiment_id, .experiments = experiments,
    .run_insert = run_insert, .run_finish = run_finish,
    .run_exists = run_exists, .param_put = param_put, .tag_set = tag_set,
    .metrics_put = metrics_put, .lineage_set = lineage_set,
    .runs_load = runs_load, .metric_history = metric_history,
    .artifact_put = artifact_put, .artifact_get = artifact_get,
    .artifact_list = artifact_list};

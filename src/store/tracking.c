/*
 * tracking.c - the tracking tables (experiments, runs, params, metrics,
 * tags, lineage, artifact records), written once for both backends over
 * store/sql.h; the rules on top live in track/. See tracking.h.
 *
 * Design: insertion order is SQLite's rowid and PostgreSQL's identity
 * columns runs.seq and metrics.id (the one spelling sql_dialect picks). A
 * metric batch is one write transaction (db_begin), so two processes
 * logging at once each land every value, and latest_metrics is folded
 * from exactly the rows the batch inserted (RETURNING).
 */
#include "store/tracking.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "util/fsutil.h"
#include "util/mem.h"

static int first_i64(const struct sql_row *r, void *arg)
{
  *(int64_t *)arg = sql_i64(r, 0, 0);
  return 0;
}

static int run_exists(struct hv_db *db, const char *run_id,
                      struct hv_err *err)
{
  struct sql_args a = sql_argsf("t", run_id);
  int64_t n = 0;
  int rc = sql_run(db, "SELECT COUNT(*) FROM runs WHERE run_id = $1",
                   SQL_CACHE, &a, first_i64, &n, NULL, "looking up run", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "run '%.64s' not found",
                    run_id ? run_id : "");
  return rc;
}

/* The id of experiment name into *id (-1: none; the schema's Default is
 * 0), by a cached statement. */
static int experiment_lookup(struct hv_db *db, const char *name, int64_t *id,
                             struct hv_err *err)
{
  struct sql_args a = sql_argsf("t", name);
  *id = -1;
  return sql_run(db, "SELECT id FROM experiments WHERE name = $1", SQL_CACHE,
                 &a, first_i64, id, NULL, "looking up experiment", err);
}

/* Looked up first, created only when missing: a run of a known experiment
 * (all but the first) costs a read, not a write transaction more. */
static int experiment_id(struct hv_db *db, const char *name, int create,
                         int64_t *id, struct hv_err *err)
{
  int rc = experiment_lookup(db, name, id, err);
  if (!rc && *id < 0 && create) {
    struct sql_args c = sql_argsf("tf", name, hv_now());
    if (sql_cmd(db,
                "INSERT INTO experiments(name, created_at) VALUES ($1, $2) "
                "ON CONFLICT(name) DO NOTHING",
                0, &c, NULL, "creating experiment", err))
      return HV_EDB;
    rc = experiment_lookup(db, name, id, err); /* ours or a racer's */
  }
  if (!rc && *id < 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "experiment '%.100s' not found",
                    name);
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
  struct sql_args a = sql_argsf("titftttitti", r->run_id, r->experiment_id,
                              r->name, r->start_time, r->parent_run_id,
                              r->user, HV_GIT_VERSION,
                              (int64_t)(o ? o->pid : 0), o ? o->host : NULL,
                              o ? o->boot_id : NULL,
                              (int64_t)(o ? o->start : 0));
  a.n = o ? 11 : 7;
  int rc = sql_cmd(db,
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
                  SQL_CACHE, &a, NULL, "creating run", err);
  if (rc && sql_is_constraint(db))
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
  struct sql_args a = sql_argsf("tftd", status, end_time, run_id, only_running);
  int64_t changed = 0;
  int rc = sql_cmd(db,
                  "UPDATE runs SET status = $1, end_time = $2 WHERE run_id ="
                  " $3 AND ($4 = 0 OR status = 'RUNNING')",
                  SQL_CACHE, &a, &changed, "ending run", err);
  if (!rc && changed == 0) {
    rc = run_exists(db, run_id, err);
    if (!rc)
      rc = hv_err_set(err, HV_ECONFLICT,
                      "run '%s' is not RUNNING; it was already ended", run_id);
  }
  return rc;
}

/* Compare the stored value of a param (row) with the one logged. */
struct param_cmp {
  const char *run_id, *key, *value;
  struct hv_err *err;
};

static int param_row(const struct sql_row *r, void *arg)
{
  const struct param_cmp *p = arg;
  const char *have = sql_text(r, 0);
  if (have && !strcmp(have, p->value))
    return 0;
  return hv_err_set(p->err, HV_ECONFLICT,
                    "param '%.64s' of run %s is already '%.64s'; params are "
                    "immutable (log a new key or start a new run)",
                    p->key, p->run_id, have ? have : "");
}

static int param_put(struct hv_db *db, const char *run_id, const char *key,
                     const char *value, struct hv_err *err)
{
  int rc = run_exists(db, run_id, err);
  if (rc)
    return rc;
  struct sql_args a = sql_argsf("ttt", run_id, key, value);
  int64_t changed = 0;
  if ((rc = sql_cmd(db,
                    "INSERT INTO params(run_id, key, value) VALUES ($1, $2,"
                    " $3) ON CONFLICT(run_id, key) DO NOTHING",
                    SQL_CACHE, &a, &changed, "logging param", err)) ||
      changed)
    return rc;
  /* the key was there: the same value is no change, another a conflict */
  struct param_cmp p = {run_id, key, value, err};
  size_t n = 0;
  a.n = 2;
  rc = sql_run(db, "SELECT value FROM params WHERE run_id = $1 AND key = $2",
               0, &a, param_row, &p, &n, "reading param", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_EDB, "reading param: no row");
  return rc;
}

static int tag_set(struct hv_db *db, const char *run_id, const char *key,
                   const char *value, struct hv_err *err)
{
  int rc = run_exists(db, run_id, err);
  if (rc)
    return rc;
  struct sql_args a = sql_argsf("ttt", run_id, key, value);
  return sql_cmd(db,
                "INSERT INTO tags(run_id, key, value) VALUES ($1, $2, $3)"
                " ON CONFLICT(run_id, key) DO UPDATE SET value = "
                "excluded.value",
                SQL_CACHE, &a, NULL, "setting tag", err);
}

/* Fold the metrics rows first..last (insertion order ID, one run) into
 * latest_metrics: the newest by (step, timestamp, ID) per key replaces the
 * stored latest unless that is newer. */
#define LATEST_SQL(ID)                                                     \
  "INSERT INTO latest_metrics(run_id, key, value, step, timestamp)"       \
  " SELECT run_id, key, value, step, timestamp FROM (SELECT run_id, key," \
  " value, step, timestamp, ROW_NUMBER() OVER (PARTITION BY key ORDER BY" \
  " step DESC, timestamp DESC, " ID " DESC) AS newest FROM metrics WHERE" \
  " " ID " BETWEEN $1 AND $2) m WHERE newest = 1"                          \
  " ON CONFLICT(run_id, key) DO UPDATE SET"                                \
  " value = excluded.value, step = excluded.step,"                         \
  " timestamp = excluded.timestamp"                                        \
  " WHERE excluded.step > latest_metrics.step OR"                          \
  " (excluded.step = latest_metrics.step AND"                              \
  "  excluded.timestamp >= latest_metrics.timestamp)"

static int update_latest(struct hv_db *db, int64_t first, int64_t last,
                         struct hv_err *err)
{
  static const char *const sql[] = {[SQL_SQLITE] = LATEST_SQL("rowid"),
                                    [SQL_PG] = LATEST_SQL("id")};
  struct sql_args a = sql_argsf("ii", first, last);
  return sql_cmd(db, sql[sql_dialect(db)], SQL_CACHE, &a, NULL,
                 "updating latest metrics", err);
}

#define METRIC_SQL(ID)                                                    \
  "INSERT INTO metrics(run_id, key, value, step, timestamp) VALUES ($1, " \
  "$2, $3, $4, $5) RETURNING " ID

static const char *const sql_metric[] = {[SQL_SQLITE] = METRIC_SQL("rowid"),
                                         [SQL_PG] = METRIC_SQL("id")};

static int metrics_put(struct hv_db *db, const char *run_id,
                       const struct tracking_metric *m, size_t n,
                       struct hv_err *err)
{
  int64_t first = 0, id = 0;
  int rc = db_begin(db, err);
  if (rc)
    return rc;
  rc = run_exists(db, run_id, err);
  for (size_t i = 0; i < n && !rc; i++) {
    struct sql_args a = sql_argsf("ttfif", run_id, m[i].key, m[i].value,
                                  m[i].step, m[i].timestamp);
    rc = sql_run(db, sql_metric[sql_dialect(db)], SQL_CACHE, &a, first_i64,
                 &id, NULL, "logging metrics", err);
    if (i == 0)
      first = id;
  }
  if (!rc && n)
    rc = update_latest(db, first, id, err);
  return sql_end(db, rc, err);
}

static int lineage_set(struct hv_db *db, const char *run_id,
                       const struct tracking_lineage *l, struct hv_err *err)
{
  struct sql_args a = sql_argsf("ttiiitd", l->code_version, run_id,
                              l->data_first_rating_id, l->data_last_rating_id,
                              l->data_rows, l->data_sha256,
                              l->data_rows >= 0);
  int64_t changed = 0;
  int rc = sql_cmd(db,
                  "UPDATE runs SET code_version = COALESCE($1, code_version),"
                  " data_first_rating_id = CASE WHEN $7 = 1 THEN CAST($3 AS BIGINT)"
                  " END, data_last_rating_id = CASE WHEN $7 = 1 THEN"
                  " CAST($4 AS BIGINT) END, data_rows = CASE WHEN $7 = 1 THEN"
                  " CAST($5 AS BIGINT) END, data_sha256 = CASE WHEN $7 = 1 THEN"
                  " CAST($6 AS TEXT) END WHERE run_id = $2",
                  0, &a, &changed, "recording lineage", err);
  if (!rc && changed == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "run '%.64s' not found", run_id);
  return rc;
}

/* ---- loading runs ---- */

#define RUN_FILTER                                                   \
  " WHERE (CAST($1 AS BIGINT) < 0 OR r.experiment_id = $1) AND (CAST($2 AS TEXT) IS " \
  "NULL OR r.run_id = $2) AND (CAST($3 AS TEXT) IS NULL OR r.status = $3)"

static void read_run(const struct sql_row *r, void *el, int *oom)
{
  struct tracking_run *x = el;
  sql_copy(r, 0, x->run_id, sizeof(x->run_id));
  x->experiment_id = sql_i64(r, 1, 0);
  x->experiment = sql_dup(r, 2, oom);
  x->name = sql_dup(r, 3, oom);
  x->status = sql_dup(r, 4, oom);
  x->start_time = sql_f64(r, 5, 0);
  x->end_time = sql_f64(r, 6, 0);
  x->parent_run_id = sql_dup(r, 7, oom);
  x->user = sql_dup(r, 8, oom);
  x->owner.pid = sql_i64(r, 9, 0);
  sql_copy(r, 10, x->owner.host, sizeof(x->owner.host));
  sql_copy(r, 11, x->owner.boot_id, sizeof(x->owner.boot_id));
  x->owner.start = sql_i64(r, 12, 0);
  x->code_version = sql_dup(r, 13, oom);
  x->data_first_rating_id = sql_i64(r, 14, -1);
  x->data_last_rating_id = sql_i64(r, 15, -1);
  x->data_rows = sql_i64(r, 16, -1);
  x->data_sha256 = sql_dup(r, 17, oom);
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

static int child_row(const struct sql_row *r, void *arg)
{
  const struct children *c = arg;
  struct tracking_run key, *kp = &key;
  sql_copy(r, 0, key.run_id, sizeof(key.run_id));
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
    m->key = sql_dup(r, 1, &oom);
    m->value = sql_f64(r, 2, NAN);
    m->step = sql_i64(r, 3, 0);
    m->timestamp = sql_f64(r, 4, 0);
    return oom ? HV_ENOMEM : 0;
  }
  struct tracking_kv *kv =
      c->kind == 0
          ? store_append((void **)&run->params, &run->n_params, sizeof(*kv))
          : store_append((void **)&run->tags, &run->n_tags, sizeof(*kv));
  if (!kv)
    return HV_ENOMEM;
  kv->key = sql_dup(r, 1, &oom);
  kv->value = sql_dup(r, 2, &oom);
  return oom ? HV_ENOMEM : 0;
}

static int load_children(struct hv_db *db, const struct sql_args *a,
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
    rc = sql_run(db, sql[c.kind], 0, a, child_row, &c, NULL, "loading runs",
                err);
  if (rc == HV_ENOMEM)
    hv_err_set(err, rc, "out of memory loading runs");
  free(c.idx);
  return rc;
}

/* The runs through RUN_FILTER, newest first (ID: insertion order). */
#define RUNS_SQL(ID)                                                      \
  "SELECT r.run_id, r.experiment_id, e.name, r.name, r.status,"            \
  " r.start_time, r.end_time, r.parent_run_id, r.\"user\","                \
  " r.owner_pid, r.owner_host, r.owner_boot_id, r.owner_start,"            \
  " r.code_version, r.data_first_rating_id,"                               \
  " r.data_last_rating_id, r.data_rows, r.data_sha256"                     \
  " FROM runs r JOIN experiments e ON e.id = r.experiment_id" RUN_FILTER   \
  " ORDER BY r.start_time DESC, r." ID " DESC"

static int runs_load(struct hv_db *db, int64_t experiment_id,
                     const char *run_id, const char *status,
                     struct tracking_run **out, size_t *n,
                     struct hv_err *err)
{
  static const char *const sql[] = {[SQL_SQLITE] = RUNS_SQL("rowid"),
                                    [SQL_PG] = RUNS_SQL("seq")};
  struct sql_args a = sql_argsf("itt", experiment_id, run_id, status);
  int rc = sql_collect(db, sql[sql_dialect(db)], &a, sizeof(**out), read_run,
                       free_runs, (void **)out, n, "loading runs", err);
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

static void read_metric(const struct sql_row *r, void *el, int *oom)
{
  struct tracking_metric *x = el;
  x->key = sql_dup(r, 0, oom);
  x->value = sql_f64(r, 1, NAN);
  x->step = sql_i64(r, 2, 0);
  x->timestamp = sql_f64(r, 3, 0);
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
  static const char *const sql[] = {
      [SQL_SQLITE] = "SELECT key, value, step, timestamp FROM metrics WHERE "
                     "run_id = $1 AND key = $2 ORDER BY step, timestamp, "
                     "rowid",
      [SQL_PG] = "SELECT key, value, step, timestamp FROM metrics WHERE "
                 "run_id = $1 AND key = $2 ORDER BY step, timestamp, id"};
  struct sql_args a = sql_argsf("tt", run_id, key);
  return sql_collect(db, sql[sql_dialect(db)],
                    &a, sizeof(**out), read_metric, free_metrics,
                    (void **)out, n, "reading metrics", err);
}

/* ---- artifacts ---- */

static void read_artifact(const struct sql_row *r, void *el, int *oom)
{
  struct tracking_artifact *x = el;
  x->path = sql_dup(r, 0, oom);
  sql_copy(r, 1, x->sha256, sizeof(x->sha256));
  x->size = sql_i64(r, 2, 0);
  x->created_at = sql_f64(r, 3, 0);
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
  struct sql_args a = sql_argsf("tt", run_id, path);
  struct tracking_artifact *one = NULL;
  size_t n = 0;
  int rc = sql_collect(db,
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
  struct sql_args a = sql_argsf("tttif", run_id, path, sha256, size, hv_now());
  rc = sql_cmd(db,
              "INSERT INTO artifacts(run_id, path, sha256, size, created_at)"
              " VALUES ($1, $2, $3, $4, $5)",
              0, &a, NULL, "recording artifact", err);
  if (rc && sql_is_constraint(db))
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
  struct sql_args a = sql_argsf("t", run_id);
  return sql_collect(db,
                    "SELECT path, sha256, size, created_at FROM artifacts "
                    "WHERE run_id = $1 ORDER BY path",
                    &a, sizeof(**out), read_artifact, free_artifacts,
                    (void **)out, n, "listing artifacts", err);
}

/* ---- experiments summary ---- */

static void read_experiment(const struct sql_row *r, void *el, int *oom)
{
  struct tracking_experiment *e = el;
  (void)oom;
  e->id = sql_i64(r, 0, 0);
  sql_copy(r, 1, e->name, sizeof(e->name));
  e->created_at = sql_f64(r, 2, 0);
  e->n_runs = sql_i64(r, 3, 0);
  e->n_running = sql_i64(r, 4, 0);
  e->n_finished = sql_i64(r, 5, 0);
  e->n_failed = sql_i64(r, 6, 0);
  e->last_activity = sql_f64(r, 7, 0);
}

static int experiments(struct hv_db *db, struct tracking_experiment **out,
                       size_t *n, struct hv_err *err)
{
  return sql_collect(
      db,
      "SELECT e.id, e.name, e.created_at, COUNT(r.run_id),"
      " COALESCE(SUM(CASE WHEN r.status = 'RUNNING' THEN 1 ELSE 0 END), 0),"
      " COALESCE(SUM(CASE WHEN r.status = 'FINISHED' THEN 1 ELSE 0 END), 0),"
      " COALESCE(SUM(CASE WHEN r.status IN ('FAILED', 'KILLED') THEN 1"
      " ELSE 0 END), 0),"
      /* the later of start and end (0 when not ended); NULL for no run */
      " COALESCE(MAX(CASE WHEN COALESCE(r.end_time, 0) > r.start_time THEN"
      " COALESCE(r.end_time, 0) ELSE r.start_time END), e.created_at)"
      " FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id"
      " GROUP BY e.id ORDER BY e.name",
      NULL, sizeof(**out), read_experiment, NULL, (void **)out, n,
      "listing experiments", err);
}

/* ---- the public functions -------------------------------------------- */

/* Every function below checks its database (and the pointers it cannot do
 * without) and then makes exactly one call into the backend. */

int tracking_experiment_id(struct hv_db *db, const char *name, int create,
                           int64_t *id, struct hv_err *err)
{
  return db && name ? experiment_id(db, name, create, id, err)
                    : hv_err_set(err, HV_EINVAL, "experiment: no name");
}

int tracking_experiments(struct hv_db *db, struct tracking_experiment **out,
                         size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? experiments(db, out, n, err)
            : store_no_db(err, "experiments");
}

int tracking_run_insert(struct hv_db *db, const struct tracking_run_new *r,
                        struct hv_err *err)
{
  return db && r ? run_insert(db, r, err)
                 : hv_err_set(err, HV_EINVAL, "run: no database or record");
}

int tracking_run_finish(struct hv_db *db, const char *run_id,
                        const char *status, double end_time, int only_running,
                        struct hv_err *err)
{
  return db ? run_finish(db, run_id, status, end_time, only_running,
                                 err)
            : store_no_db(err, "run");
}

int tracking_run_exists(struct hv_db *db, const char *run_id,
                        struct hv_err *err)
{
  return db ? run_exists(db, run_id, err) : store_no_db(err, "run");
}

struct prefix_ids {
  char (*ids)[33];
  size_t cap, n;
};

static int prefix_row(const struct sql_row *r, void *arg)
{
  struct prefix_ids *p = arg;
  if (p->n < p->cap)
    sql_copy(r, 0, p->ids[p->n], sizeof(p->ids[0]));
  p->n++;
  return 0;
}

int tracking_run_ids_with_prefix(struct hv_db *db, const char *prefix,
                                 char (*ids)[33], size_t cap, size_t *n,
                                 struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "run");
  if (!prefix || (cap && !ids) || !n)
    return hv_err_set(err, HV_EINVAL, "run id prefix: bad arguments");
  /* substr, not LIKE or a range: the same on both dialects whatever the
   * collation, and no pattern characters to escape */
  struct prefix_ids p = {ids, cap, 0};
  struct sql_args a = sql_argsf("ti", prefix, (int64_t)strlen(prefix));
  int rc = sql_run(db,
                   "SELECT run_id FROM runs WHERE substr(run_id, 1, $2) = $1 "
                   "ORDER BY run_id",
                   0, &a, prefix_row, &p, NULL, "looking up run id prefix",
                   err);
  *n = p.n;
  return rc;
}

int tracking_param_put(struct hv_db *db, const char *run_id, const char *key,
                       const char *value, struct hv_err *err)
{
  return db ? param_put(db, run_id, key, value, err)
            : store_no_db(err, "param");
}

int tracking_tag_set(struct hv_db *db, const char *run_id, const char *key,
                     const char *value, struct hv_err *err)
{
  return db ? tag_set(db, run_id, key, value, err)
            : store_no_db(err, "tag");
}

int tracking_metrics_put(struct hv_db *db, const char *run_id,
                         const struct tracking_metric *m, size_t n,
                         struct hv_err *err)
{
  return db && (m || !n)
             ? metrics_put(db, run_id, m, n, err)
             : hv_err_set(err, HV_EINVAL, "metrics: no database or values");
}

int tracking_lineage_set(struct hv_db *db, const char *run_id,
                         const struct tracking_lineage *l, struct hv_err *err)
{
  return db && l ? lineage_set(db, run_id, l, err)
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
  return db ? runs_load(db, experiment_id, run_id, status, out, n,
                                err)
            : store_no_db(err, "runs");
}

int tracking_metric_history(struct hv_db *db, const char *run_id,
                            const char *key, struct tracking_metric **out,
                            size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? metric_history(db, run_id, key, out, n, err)
            : store_no_db(err, "metrics");
}

int tracking_artifact_put(struct hv_db *db, const char *run_id,
                          const char *path, const char *sha256, int64_t size,
                          struct hv_err *err)
{
  return db && path && sha256
             ? artifact_put(db, run_id, path, sha256, size, err)
             : hv_err_set(err, HV_EINVAL, "artifact: no database, path or "
                                          "hash");
}

int tracking_artifact_get(struct hv_db *db, const char *run_id,
                          const char *path, struct tracking_artifact *out,
                          struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  return db && path ? artifact_get(db, run_id, path, out, err)
                    : hv_err_set(err, HV_EINVAL, "artifact: no database or "
                                                 "path");
}

int tracking_artifact_list(struct hv_db *db, const char *run_id,
                           struct tracking_artifact **out, size_t *n,
                           struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? artifact_list(db, run_id, out, n, err)
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

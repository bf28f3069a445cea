/*
 * sq_tracking.c - the tracking tables' SQL for SQLite (experiments, runs,
 * params, metrics, tags, lineage, artifact records): see store/tracking.h
 * for the contract, backend.h for the table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sq.h"
#include "util/fsutil.h"

static int is_constraint(struct hv_db *db)
{
  return (sqlite3_errcode(sq_of(db)->h) & 0xff) == SQLITE_CONSTRAINT;
}

static int run_exists(struct hv_db *db, const char *run_id,
                      struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, "SELECT 1 FROM runs WHERE run_id = ?", &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, run_id);
  int s = sqlite3_step(st);
  int rc = 0;
  if (s == SQLITE_DONE)
    rc = hv_err_set(err, HV_ENOTFOUND, "run '%.64s' not found",
                    run_id ? run_id : "");
  else if (s != SQLITE_ROW)
    rc = sq_fail(db, err, "looking up run");
  sqlite3_finalize(st);
  return rc;
}

static int experiment_id(struct hv_db *db, const char *name, int create,
                         int64_t *id, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (create) {
    if (sq_prepare(db,
                   "INSERT INTO experiments(name, created_at) VALUES (?, ?) "
                   "ON CONFLICT(name) DO NOTHING",
                   &st, err))
      return sq_code(err);
    sq_bind_text(st, 1, name);
    sqlite3_bind_double(st, 2, hv_now());
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = sq_fail(db, err, "creating experiment");
    sqlite3_finalize(st);
    if (rc)
      return rc;
  }
  if (sq_prepare(db, "SELECT id FROM experiments WHERE name = ?", &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, name);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW)
    *id = sqlite3_column_int64(st, 0);
  else if (s == SQLITE_DONE)
    rc = hv_err_set(err, HV_ENOTFOUND, "experiment '%.100s' not found",
                    name);
  else
    rc = sq_fail(db, err, "looking up experiment");
  sqlite3_finalize(st);
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
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "INSERT INTO runs(run_id, experiment_id, name, status,"
                 " start_time, parent_run_id, user, owner_pid, owner_host,"
                 " owner_boot_id, owner_start, code_version)"
                 " VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?)",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, r->run_id);
  sqlite3_bind_int64(st, 2, r->experiment_id);
  sq_bind_text(st, 3, r->name);
  sqlite3_bind_double(st, 4, r->start_time);
  sq_bind_text(st, 5, r->parent_run_id);
  sq_bind_text(st, 6, r->user);
  if (r->owner) {
    sqlite3_bind_int64(st, 7, r->owner->pid);
    sq_bind_text(st, 8, r->owner->host);
    sq_bind_text(st, 9, r->owner->boot_id);
    sqlite3_bind_int64(st, 10, r->owner->start);
  }
  sq_bind_text(st, 11, HV_GIT_VERSION);
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = is_constraint(db)
             ? hv_err_set(err, HV_ECONFLICT,
                          "run id '%.64s' already exists or experiment %lld "
                          "is unknown",
                          r->run_id, (long long)r->experiment_id)
             : sq_fail(db, err, "creating run");
  sqlite3_finalize(st);
  return rc;
}

static int run_finish(struct hv_db *db, const char *run_id,
                      const char *status, double end_time, int only_running,
                      struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?"
                 " AND (? = 0 OR status = 'RUNNING')",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, status);
  sqlite3_bind_double(st, 2, end_time);
  sq_bind_text(st, 3, run_id);
  sqlite3_bind_int(st, 4, only_running);
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = sq_fail(db, err, "ending run");
  else if (sqlite3_changes(sq_of(db)->h) == 0) {
    rc = run_exists(db, run_id, err);
    if (!rc)
      rc = hv_err_set(err, HV_ECONFLICT,
                      "run '%s' is not RUNNING; it was already ended", run_id);
  }
  sqlite3_finalize(st);
  return rc;
}

/* Write (run_id, key, value) with sql (three parameters) after checking
 * that the run exists; WHAT names the step in a database error. */
static int kv_write(struct hv_db *db, const char *sql, const char *run_id,
                    const char *key, const char *value, const char *what,
                    struct hv_err *err)
{
  int rc = run_exists(db, run_id, err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, sql, &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, run_id);
  sq_bind_text(st, 2, key);
  sq_bind_text(st, 3, value);
  return sq_step_done(db, st, what, err);
}

static int param_put(struct hv_db *db, const char *run_id, const char *key,
                     const char *value, struct hv_err *err)
{
  int rc = kv_write(db,
                    "INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)"
                    " ON CONFLICT(run_id, key) DO NOTHING",
                    run_id, key, value, "logging param", err);
  /* sqlite3_changes still counts the INSERT after its finalize */
  if (rc || sqlite3_changes(sq_of(db)->h))
    return rc;
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, "SELECT value FROM params WHERE run_id = ? AND key = ?",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, run_id);
  sq_bind_text(st, 2, key);
  if (sqlite3_step(st) != SQLITE_ROW)
    rc = sq_fail(db, err, "reading param");
  else if (strcmp(sq_col_text(st, 0), value))
    rc = hv_err_set(err, HV_ECONFLICT,
                    "param '%.64s' of run %s is already '%.64s'; params are "
                    "immutable (log a new key or start a new run)",
                    key, run_id, sq_col_text(st, 0));
  sqlite3_finalize(st);
  return rc;
}

static int tag_set(struct hv_db *db, const char *run_id, const char *key,
                   const char *value, struct hv_err *err)
{
  return kv_write(db,
                  "INSERT INTO tags(run_id, key, value) VALUES (?, ?, ?)"
                  " ON CONFLICT(run_id, key) DO UPDATE SET value = "
                  "excluded.value",
                  run_id, key, value, "setting tag", err);
}

static void bind_metric(sqlite3_stmt *st, const char *run_id,
                        const struct tracking_metric *m)
{
  sqlite3_reset(st);
  sq_bind_text(st, 1, run_id);
  sqlite3_bind_text(st, 2, m->key, -1, SQLITE_STATIC);
  if (isnan(m->value))
    sqlite3_bind_null(st, 3);
  else
    sqlite3_bind_double(st, 3, m->value);
  sqlite3_bind_int64(st, 4, m->step);
  sqlite3_bind_double(st, 5, m->timestamp);
}

/* Fold the metrics rows first..last (rowids, one run) into latest_metrics
 * in one statement: rows are visited in (step, timestamp) order and each
 * replaces the stored latest unless that is newer. */
static int update_latest(struct hv_db *db, sqlite3_int64 first,
                         sqlite3_int64 last, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(
          db,
          "INSERT INTO latest_metrics(run_id, key, value, step, timestamp)"
          " SELECT run_id, key, value, step, timestamp FROM metrics"
          " WHERE rowid BETWEEN ? AND ? ORDER BY step, timestamp, rowid"
          " ON CONFLICT(run_id, key) DO UPDATE SET"
          " value = excluded.value, step = excluded.step,"
          " timestamp = excluded.timestamp"
          " WHERE excluded.step > latest_metrics.step OR"
          " (excluded.step = latest_metrics.step AND"
          "  excluded.timestamp >= latest_metrics.timestamp)",
          &st, err))
    return sq_code(err);
  sqlite3_bind_int64(st, 1, first);
  sqlite3_bind_int64(st, 2, last);
  return sq_step_done(db, st, "updating latest metrics", err);
}

static int metrics_put(struct hv_db *db, const char *run_id,
                       const struct tracking_metric *m, size_t n,
                       struct hv_err *err)
{
  sqlite3_stmt *ins = NULL;
  sqlite3_int64 first = 0;
  int rc = db_begin(db, err);
  if (rc)
    return rc;
  if ((rc = run_exists(db, run_id, err)))
    goto done;
  if ((rc = sq_prepare(db,
                       "INSERT INTO metrics(run_id, key, value, step, "
                       "timestamp) VALUES (?, ?, ?, ?, ?)",
                       &ins, err)))
    goto done;
  for (size_t i = 0; i < n; i++) {
    bind_metric(ins, run_id, &m[i]);
    if (sqlite3_step(ins) != SQLITE_DONE) {
      rc = sq_fail(db, err, "logging metrics");
      goto done;
    }
    if (i == 0)
      first = sqlite3_last_insert_rowid(sq_of(db)->h);
  }
  if (n)
    rc = update_latest(db, first, sqlite3_last_insert_rowid(sq_of(db)->h), err);
done:
  sqlite3_finalize(ins);
  return sq_end(db, rc, err);
}

static int lineage_set(struct hv_db *db, const char *run_id,
                       const struct tracking_lineage *l, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "UPDATE runs SET code_version = IFNULL(?, code_version),"
                 " data_first_rating_id = ?, data_last_rating_id = ?,"
                 " data_rows = ?, data_sha256 = ? WHERE run_id = ?",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, l->code_version);
  if (l->data_rows >= 0) {
    sqlite3_bind_int64(st, 2, l->data_first_rating_id);
    sqlite3_bind_int64(st, 3, l->data_last_rating_id);
    sqlite3_bind_int64(st, 4, l->data_rows);
    sq_bind_text(st, 5, l->data_sha256);
  }
  sq_bind_text(st, 6, run_id);
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = sq_fail(db, err, "recording lineage");
  else if (sqlite3_changes(sq_of(db)->h) == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "run '%.64s' not found", run_id);
  sqlite3_finalize(st);
  return rc;
}

/* ---- loading runs ---- */

#define RUN_FILTER                                                   \
  " WHERE (?1 < 0 OR r.experiment_id = ?1) AND (?2 IS NULL OR "     \
  "r.run_id = ?2) AND (?3 IS NULL OR r.status = ?3)"

static void bind_filter(sqlite3_stmt *st, int64_t exp, const char *run_id,
                        const char *status)
{
  sqlite3_bind_int64(st, 1, exp);
  sq_bind_text(st, 2, run_id);
  sq_bind_text(st, 3, status);
}

static void read_run_row(sqlite3_stmt *st, struct tracking_run *r, int *oom)
{
  sq_col_copy(st, 0, r->run_id, sizeof(r->run_id));
  r->experiment_id = sqlite3_column_int64(st, 1);
  r->experiment = sq_col_dup(st, 2, oom);
  r->name = sq_col_dup(st, 3, oom);
  r->status = sq_col_dup(st, 4, oom);
  r->start_time = sqlite3_column_double(st, 5);
  r->end_time = sqlite3_column_double(st, 6);
  r->parent_run_id = sq_col_dup(st, 7, oom);
  r->user = sq_col_dup(st, 8, oom);
  r->owner.pid = sq_col_i64_or(st, 9, 0);
  sq_col_copy(st, 10, r->owner.host, sizeof(r->owner.host));
  sq_col_copy(st, 11, r->owner.boot_id, sizeof(r->owner.boot_id));
  r->owner.start = sq_col_i64_or(st, 12, 0);
  r->code_version = sq_col_dup(st, 13, oom);
  r->data_first_rating_id = sq_col_i64_or(st, 14, -1);
  r->data_last_rating_id = sq_col_i64_or(st, 15, -1);
  r->data_rows = sq_col_i64_or(st, 16, -1);
  r->data_sha256 = sq_col_dup(st, 17, oom);
}

static int load_run_rows(struct hv_db *db, int64_t exp, const char *run_id,
                         const char *status, struct tracking_run **out,
                         size_t *n, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT r.run_id, r.experiment_id, e.name, r.name, r.status,"
                 " r.start_time, r.end_time, r.parent_run_id, r.user,"
                 " r.owner_pid, r.owner_host, r.owner_boot_id, r.owner_start,"
                 " r.code_version, r.data_first_rating_id,"
                 " r.data_last_rating_id, r.data_rows, r.data_sha256"
                 " FROM runs r JOIN experiments e ON e.id = r.experiment_id"
                 RUN_FILTER " ORDER BY r.start_time DESC, r.rowid DESC",
                 &st, err))
    return sq_code(err);
  bind_filter(st, exp, run_id, status);
  struct tracking_run *runs = NULL;
  size_t cnt = 0, cap = 0;
  int oom = 0, s, rc = 0;
  while ((s = sqlite3_step(st)) == SQLITE_ROW && !oom) {
    if (cnt == cap) {
      size_t nc = cap ? cap * 2 : 16;
      struct tracking_run *nr = realloc(runs, nc * sizeof(*nr));
      if (!nr) {
        oom = 1;
        break;
      }
      runs = nr;
      cap = nc;
    }
    memset(&runs[cnt], 0, sizeof(runs[cnt]));
    read_run_row(st, &runs[cnt++], &oom);
  }
  if (oom)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory loading runs");
  else if (s != SQLITE_DONE && s != SQLITE_ROW)
    rc = sq_fail(db, err, "loading runs");
  sqlite3_finalize(st);
  if (rc) {
    tracking_runs_free(runs, cnt);
    return rc;
  }
  *out = runs;
  *n = cnt;
  return 0;
}

/* Index of runs sorted by run_id for merging child rows. */
static int cmp_run_ptr(const void *a, const void *b)
{
  const struct tracking_run *const *x = a, *const *y = b;
  return strcmp((*x)->run_id, (*y)->run_id);
}

static struct tracking_run *find_run(struct tracking_run **idx, size_t n,
                                     const char *run_id)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(idx[mid]->run_id, run_id);
    if (c == 0)
      return idx[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

enum child_kind { CHILD_PARAMS, CHILD_TAGS, CHILD_METRICS };

static int load_children(struct hv_db *db, enum child_kind kind, int64_t exp,
                         const char *run_id, const char *status,
                         struct tracking_run **idx, size_t n,
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
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, sql[kind], &st, err))
    return sq_code(err);
  bind_filter(st, exp, run_id, status);
  int s, oom = 0;
  while ((s = sqlite3_step(st)) == SQLITE_ROW && !oom) {
    struct tracking_run *r = find_run(idx, n, sq_col_text(st, 0));
    if (!r)
      continue; /* inserted between the two queries */
    if (kind == CHILD_METRICS) {
      struct tracking_metric *m =
          sq_append((void **)&r->metrics, &r->n_metrics, sizeof(*m));
      if (!m) {
        oom = 1;
        break;
      }
      m->key = sq_col_dup(st, 1, &oom);
      m->value = sqlite3_column_type(st, 2) == SQLITE_NULL
                     ? NAN
                     : sqlite3_column_double(st, 2);
      m->step = sqlite3_column_int64(st, 3);
      m->timestamp = sqlite3_column_double(st, 4);
      continue;
    }
    struct tracking_kv **arr = kind == CHILD_PARAMS ? &r->params : &r->tags;
    size_t *cnt = kind == CHILD_PARAMS ? &r->n_params : &r->n_tags;
    struct tracking_kv *kv = sq_append((void **)arr, cnt, sizeof(*kv));
    if (!kv) {
      oom = 1;
      break;
    }
    kv->key = sq_col_dup(st, 1, &oom);
    kv->value = sq_col_dup(st, 2, &oom);
  }
  int rc = 0;
  if (oom)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory loading runs");
  else if (s != SQLITE_DONE)
    rc = sq_fail(db, err, "loading runs");
  sqlite3_finalize(st);
  return rc;
}

static int runs_load(struct hv_db *db, int64_t experiment_id,
                     const char *run_id, const char *status,
                     struct tracking_run **out, size_t *n,
                     struct hv_err *err)
{
  struct tracking_run *runs = NULL;
  size_t cnt = 0;
  *out = NULL;
  *n = 0;
  int rc = load_run_rows(db, experiment_id, run_id, status, &runs, &cnt, err);
  if (rc)
    return rc;
  if (run_id && cnt == 0)
    return hv_err_set(err, HV_ENOTFOUND, "run '%.64s' not found", run_id);
  struct tracking_run **idx = malloc((cnt ? cnt : 1) * sizeof(*idx));
  if (!idx) {
    tracking_runs_free(runs, cnt);
    return hv_err_set(err, HV_ENOMEM, "out of memory loading runs");
  }
  for (size_t i = 0; i < cnt; i++)
    idx[i] = &runs[i];
  qsort(idx, cnt, sizeof(*idx), cmp_run_ptr);
  for (int k = CHILD_PARAMS; k <= CHILD_METRICS && !rc; k++)
    rc = load_children(db, (enum child_kind)k, experiment_id, run_id, status,
                       idx, cnt, err);
  free(idx);
  if (rc) {
    tracking_runs_free(runs, cnt);
    return rc;
  }
  *out = runs;
  *n = cnt;
  return 0;
}

/* One metrics row into *x (void * for read_list). */
static void read_metric(sqlite3_stmt *st, void *x, int *oom)
{
  struct tracking_metric *m = x;
  m->key = sq_col_dup(st, 0, oom);
  m->value = sqlite3_column_type(st, 1) == SQLITE_NULL
                 ? NAN
                 : sqlite3_column_double(st, 1);
  m->step = sqlite3_column_int64(st, 2);
  m->timestamp = sqlite3_column_double(st, 3);
}

static void free_metrics(void *a, size_t n)
{
  tracking_metrics_free(a, n);
}

/* Every row of st (finalized here) into a new array *out of *n elements of
 * sz bytes, each filled by read_row. On failure the rows read so far are
 * released with free_list and the result is HV_ENOMEM ("out of memory
 * WHAT") or HV_EDB ("WHAT: ..."). */
static int read_list(struct hv_db *db, sqlite3_stmt *st, size_t sz,
                     void (*read_row)(sqlite3_stmt *, void *, int *),
                     void (*free_list)(void *, size_t), void **out,
                     size_t *n, const char *what, struct hv_err *err)
{
  void *a = NULL;
  size_t cnt = 0;
  int s, oom = 0, rc = 0;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    void *x = sq_append(&a, &cnt, sz);
    if (!x) {
      oom = 1;
      break;
    }
    read_row(st, x, &oom);
  }
  if (oom)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory %s", what);
  else if (s != SQLITE_DONE)
    rc = sq_fail(db, err, what);
  sqlite3_finalize(st);
  if (rc) {
    free_list(a, cnt);
    return rc;
  }
  *out = a;
  *n = cnt;
  return 0;
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
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT key, value, step, timestamp FROM metrics WHERE "
                 "run_id = ? AND key = ? ORDER BY step, timestamp, rowid",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, run_id);
  sq_bind_text(st, 2, key);
  return read_list(db, st, sizeof(**out), read_metric, free_metrics,
                   (void **)out, n, "reading metrics", err);
}

/* ---- artifacts ---- */

static int artifact_get(struct hv_db *db, const char *run_id,
                        const char *path, struct tracking_artifact *out,
                        struct hv_err *err);

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
  if (rc != HV_ENOTFOUND)
    return rc;
  if ((rc = run_exists(db, run_id, err)))
    return rc;
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "INSERT INTO artifacts(run_id, path, sha256, size, "
                 "created_at) VALUES (?, ?, ?, ?, ?)",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, run_id);
  sq_bind_text(st, 2, path);
  sq_bind_text(st, 3, sha256);
  sqlite3_bind_int64(st, 4, size);
  sqlite3_bind_double(st, 5, hv_now());
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = is_constraint(db)
             ? hv_err_set(err, HV_ECONFLICT,
                          "artifact '%.200s' of run %s was just logged by "
                          "another process; artifacts are immutable",
                          path, run_id)
             : sq_fail(db, err, "recording artifact");
  sqlite3_finalize(st);
  return rc;
}

static void read_artifact(sqlite3_stmt *st, void *x, int *oom)
{
  struct tracking_artifact *a = x;
  a->path = sq_col_dup(st, 0, oom);
  sq_col_copy(st, 1, a->sha256, sizeof(a->sha256));
  a->size = sqlite3_column_int64(st, 2);
  a->created_at = sqlite3_column_double(st, 3);
}

static void free_artifacts(void *a, size_t n)
{
  tracking_artifacts_free(a, n);
}

static int artifact_get(struct hv_db *db, const char *run_id,
                        const char *path, struct tracking_artifact *out,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  memset(out, 0, sizeof(*out));
  if (sq_prepare(db,
                 "SELECT path, sha256, size, created_at FROM artifacts "
                 "WHERE run_id = ? AND path = ?",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, run_id);
  sq_bind_text(st, 2, path);
  int s = sqlite3_step(st), rc = 0, oom = 0;
  if (s == SQLITE_ROW) {
    read_artifact(st, out, &oom);
    if (oom)
      rc = hv_err_set(err, HV_ENOMEM, "out of memory");
  } else if (s == SQLITE_DONE) {
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "run %.64s has no artifact '%.200s'", run_id, path);
  } else {
    rc = sq_fail(db, err, "looking up artifact");
  }
  sqlite3_finalize(st);
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
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT path, sha256, size, created_at FROM artifacts "
                 "WHERE run_id = ? ORDER BY path",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, run_id);
  return read_list(db, st, sizeof(**out), read_artifact, free_artifacts,
                   (void **)out, n, "listing artifacts", err);
}

/* ---- experiments summary ---- */

static void read_experiment(sqlite3_stmt *st, struct tracking_experiment *e)
{
  e->id = sqlite3_column_int64(st, 0);
  sq_col_copy(st, 1, e->name, sizeof(e->name));
  e->created_at = sqlite3_column_double(st, 2);
  e->n_runs = sqlite3_column_int64(st, 3);
  e->n_running = sqlite3_column_int64(st, 4);
  e->n_finished = sqlite3_column_int64(st, 5);
  e->n_failed = sqlite3_column_int64(st, 6);
  e->last_activity = sqlite3_column_double(st, 7);
}

static int experiments(struct hv_db *db, struct tracking_experiment **out,
                       size_t *n, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(
          db,
          "SELECT e.id, e.name, e.created_at, COUNT(r.run_id),"
          " IFNULL(SUM(r.status = 'RUNNING'), 0),"
          " IFNULL(SUM(r.status = 'FINISHED'), 0),"
          " IFNULL(SUM(r.status IN ('FAILED', 'KILLED')), 0),"
          " IFNULL(MAX(MAX(r.start_time, IFNULL(r.end_time, 0))), e.created_at)"
          " FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id"
          " GROUP BY e.id ORDER BY e.name",
          &st, err))
    return sq_code(err);
  struct tracking_experiment *list = NULL;
  size_t cnt = 0;
  int s, rc = 0;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    struct tracking_experiment *e = sq_append((void **)&list, &cnt,
                                              sizeof(*e));
    if (!e) {
      rc = hv_err_set(err, HV_ENOMEM, "out of memory listing experiments");
      break;
    }
    read_experiment(st, e);
  }
  if (!rc && s != SQLITE_DONE)
    rc = sq_fail(db, err, "listing experiments");
  sqlite3_finalize(st);
  if (rc) {
    free(list);
    return rc;
  }
  *out = list;
  *n = cnt;
  return 0;
}

const struct tracking_ops sq_tracking_ops = {
    .experiment_id = experiment_id, .experiments = experiments,
    .run_insert = run_insert, .run_finish = run_finish,
    .run_exists = run_exists, .param_put = param_put, .tag_set = tag_set,
    .metrics_put = metrics_put, .lineage_set = lineage_set,
    .runs_load = runs_load, .metric_history = metric_history,
    .artifact_put = artifact_put, .artifact_get = artifact_get,
    .artifact_list = artifact_list};

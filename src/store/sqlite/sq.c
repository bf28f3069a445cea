/*
 * sq.c - the SQLite backend: connection, pragmas, transactions, migrations,
 * the statement cache and the helpers its entity files share (see sq.h),
 * and the backend table db_open uses (sq_backend).
 *
 * Threads: a connection belongs to one thread at a time.
 */
#include "store/sqlite/sq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- errors and statements -------------------------------------------- */

/* The error of SQLite's last failure on h, with what failed and SQLite's
 * msg. Two failures are the user's to act on and get their own codes and
 * the database file's name: a full disk (SQLITE_FULL, or any I/O error
 * whose system errno is ENOSPC, such as growing the -shm file) is
 * HV_ENOSPC (507), another process holding the write lock past the busy
 * timeout is HV_EBUSY (503, retry); other I/O errors name the file too. */
static int classify(sqlite3 *h, const char *path, const char *what,
                    const char *msg, struct hv_err *err)
{
  int prim = h ? sqlite3_extended_errcode(h) & 0xff : SQLITE_ERROR;
  int sys = h ? sqlite3_system_errno(h) : 0;
  if (prim == SQLITE_FULL || (prim == SQLITE_IOERR && sys == ENOSPC))
    return hv_err_set(err, HV_ENOSPC, "%s: disk full writing %s (%s); "
                      "nothing was written: free space and retry", what,
                      path, msg);
  if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
    return hv_err_set(err, HV_EBUSY, "%s: %s is locked by another writer "
                      "(waited %d s): %s; retry", what, path,
                      SQ_BUSY_MS / 1000, msg);
  if (prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN)
    return hv_err_set(err, HV_EDB, "%s: %s on %s", what, msg, path);
  return hv_err_set(err, HV_EDB, "%s: %s", what, msg);
}

int sq_fail(struct hv_db *db, struct hv_err *err, const char *what)
{
  sqlite3 *h = db ? sq_of(db)->h : NULL;
  return classify(h, db ? db->path : "", what,
                  h ? sqlite3_errmsg(h) : "no database", err);
}

int sq_exec(struct hv_db *db, const char *sql, struct hv_err *err)
{
  char *msg = NULL;
  if (sqlite3_exec(sq_of(db)->h, sql, NULL, NULL, &msg) == SQLITE_OK)
    return 0;
  int rc = classify(sq_of(db)->h, db->path, "database",
                    msg ? msg : "unknown error", err);
  sqlite3_free(msg);
  return rc;
}

/* sql with store/sql.h's $N parameters spelled ?N (outside quotes) into a
 * new string (caller frees), or NULL when out of memory. */
static char *dollar_to_qmark(const char *sql)
{
  char *out = strdup(sql), quote = 0;
  if (!out)
    return NULL;
  for (char *p = out; *p; p++) {
    if (quote) {
      quote = *p == quote ? 0 : quote;
    } else if (*p == '\'' || *p == '"') {
      quote = *p;
    } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
      *p = '?';
    }
  }
  return out;
}

int sq_prepare(struct hv_db *db, const char *sql, sqlite3_stmt **st,
               struct hv_err *err)
{
  char *own = NULL;
  if (strchr(sql, '$') && !(sql = own = dollar_to_qmark(sql)))
    return hv_err_set(err, HV_ENOMEM, "prepare: out of memory");
  int rc = sqlite3_prepare_v2(sq_of(db)->h, sql, -1, st, NULL);
  free(own);
  if (rc != SQLITE_OK)
    return sq_fail(db, err, "prepare");
  return 0;
}

int sq_cached(struct hv_db *db, const char *sql, sqlite3_stmt **st,
              struct hv_err *err)
{
  struct sq_db *s = sq_of(db);
  *st = NULL;
  for (int i = 0; i < s->n_cached; i++)
    if (s->cache[i].sql == sql) {
      if (sqlite3_stmt_busy(s->cache[i].st))
        break; /* in use further up the stack: a private one */
      *st = s->cache[i].st;
      return 0;
    }
  if (sq_prepare(db, sql, st, err))
    return sq_code(err);
  int known = 0;
  for (int i = 0; i < s->n_cached && !known; i++)
    known = s->cache[i].sql == sql;
  if (!known && s->n_cached < SQ_CACHE_MAX) {
    s->cache[s->n_cached].sql = sql;
    s->cache[s->n_cached++].st = *st;
  }
  return 0;
}

void sq_release(struct hv_db *db, sqlite3_stmt *st)
{
  if (!st)
    return;
  struct sq_db *s = sq_of(db);
  for (int i = 0; i < s->n_cached; i++)
    if (s->cache[i].st == st) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return;
    }
  sqlite3_finalize(st);
}

/* ---- connection ------------------------------------------------------- */

static int sq_begin(struct hv_db *db, struct hv_err *err)
{
  return sq_exec(db, "BEGIN IMMEDIATE", err);
}

static int sq_commit(struct hv_db *db, struct hv_err *err)
{
  return sq_exec(db, "COMMIT", err);
}

static void sq_rollback(struct hv_db *db)
{
  sqlite3 *h = sq_of(db)->h;
  if (h && !sqlite3_get_autocommit(h))
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_schema_latest(void)
{
  return sq_schema_count;
}

static int sq_schema_version(struct hv_db *db)
{
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(sq_of(db)->h,
                         "SELECT MAX(version) FROM schema_version", -1, &st,
                         NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int apply_migration(struct hv_db *db, int to, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_begin(db, err))
    return sq_code(err);
  if (sq_exec(db, sq_schema_migrations[to - 1], err))
    goto fail;
  if (sq_prepare(db,
                 "INSERT INTO schema_version(version, applied_at) "
                 "VALUES (?, strftime('%s','now'))",
                 &st, err))
    goto fail;
  sqlite3_bind_int(st, 1, to);
  if (sqlite3_step(st) != SQLITE_DONE) {
    sq_fail(db, err, "schema_version");
    goto fail;
  }
  sqlite3_finalize(st);
  return sq_commit(db, err);
fail:
  sqlite3_finalize(st);
  sq_rollback(db);
  hv_err_prefix(err, "%s: migration to schema %d", db->path, to);
  return sq_code(err);
}

static int migrate(struct hv_db *db, struct hv_err *err)
{
  if (sq_exec(db,
              "CREATE TABLE IF NOT EXISTS schema_version ("
              " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
              err))
    return sq_code(err);
  int have = sq_schema_version(db);
  if (have < 0)
    return sq_fail(db, err, "schema_version");
  if (have > sq_schema_count)
    return hv_err_set(err, HV_EVERSION,
                      "%s is schema version %d but this harvest knows up to "
                      "%d; use a newer harvest",
                      db->path, have, sq_schema_count);
  for (int v = have + 1; v <= sq_schema_count; v++)
    if (apply_migration(db, v, err))
      return err->code;
  return 0;
}

static int set_pragmas(struct hv_db *db, struct hv_err *err)
{
  sqlite3_busy_timeout(sq_of(db)->h, SQ_BUSY_MS);
  return sq_exec(db,
                 "PRAGMA journal_mode=WAL;"
                 "PRAGMA synchronous=NORMAL;"
                 "PRAGMA foreign_keys=ON;"
                 "PRAGMA temp_store=MEMORY;",
                 err);
}

static void sq_close(struct hv_db *db)
{
  struct sq_db *s = sq_of(db);
  for (int i = 0; i < s->n_cached; i++)
    sqlite3_finalize(s->cache[i].st);
  sqlite3_close_v2(s->h);
  free(s);
}

/* SQLite creates a new database file 0644 (less the umask), and its -wal
 * and -shm with the database file's mode. The database holds password
 * hashes, so a new one is created 0600 here first (an empty file is an
 * empty database); an existing file keeps its mode. Creating the file
 * rather than changing the umask keeps this safe for the server's threads
 * opening connections at once. Failures are left to sqlite3_open_v2 to
 * report. */
static void create_private(const char *path)
{
  if (!*path || !strcmp(path, ":memory:") || !strncmp(path, "file:", 5))
    return;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0)
    close(fd);
}

static int sq_connect(struct hv_db *db, struct hv_err *err)
{
  struct sq_db *s = sq_of(db);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
              SQLITE_OPEN_NOMUTEX;
  create_private(db->conn);
  if (sqlite3_open_v2(db->conn, &s->h, flags, NULL) != SQLITE_OK)
    return hv_err_set(err, HV_EDB, "cannot open database %s: %s", db->conn,
                      s->h ? sqlite3_errmsg(s->h) : "out of memory");
  sqlite3_extended_result_codes(s->h, 1);
  return 0;
}

static int sq_setup(struct hv_db *db, struct hv_err *err)
{
  int rc = set_pragmas(db, err);
  return rc ? rc : migrate(db, err);
}

static int check_pragma(struct hv_db *db, const char *sql, int want_ok,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, sql, &st, err))
    return sq_code(err);
  int rc = 0;
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(st, 0);
    if (!want_ok || !v || strcmp(v, "ok"))
      rc = hv_err_set(err, HV_ECORRUPT, "%s: %s failed: %s", db->path, sql,
                      v ? v : "(null)");
  } else if (step != SQLITE_DONE) {
    rc = sq_fail(db, err, sql);
  }
  sqlite3_finalize(st);
  return rc;
}

static int sq_check(struct hv_db *db, struct hv_err *err)
{
  if (check_pragma(db, "PRAGMA integrity_check", 1, err))
    return err ? err->code : HV_ECORRUPT;
  return check_pragma(db, "PRAGMA foreign_key_check", 0, err);
}

const struct store_backend sq_backend = {
    .name = "sqlite", .schema_latest = sq_schema_latest,
    .conn_size = sizeof(struct sq_db), .connect = sq_connect,
    .setup = sq_setup, .close = sq_close,
    .begin = sq_begin, .commit = sq_commit, .rollback = sq_rollback,
    .schema_version = sq_schema_version, .check = sq_check,
    .loader = &sq_loader_ops, .sql = &sq_sql_ops,
    .rows = &sq_rows_ops};

/* ---- store/sql.h ---------------------------------------------------- */

static void bind_args(sqlite3_stmt *st, const struct sql_args *a)
{
  for (int i = 0; a && i < a->n; i++) {
    const struct sql_arg *v = &a->v[i];
    if (v->type == SQL_INT)
      sqlite3_bind_int64(st, i + 1, v->i);
    else if (v->type == SQL_REAL)
      sqlite3_bind_double(st, i + 1, v->f);
    else if (v->type == SQL_TEXT)
      sqlite3_bind_text(st, i + 1, v->s, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(st, i + 1);
  }
}

static int run_sql(struct hv_db *db, const char *sql, int flags,
                   const struct sql_args *a, sql_row_fn row, void *arg,
                   size_t *n_rows, int64_t *changed, const char *what,
                   struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (n_rows)
    *n_rows = 0;
  if ((flags & SQL_CACHE) ? sq_cached(db, sql, &st, err)
                          : sq_prepare(db, sql, &st, err))
    return sq_code(err);
  bind_args(st, a);
  struct sql_row r = {&sq_sql_ops, st, 0};
  int s, rc = 0;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (row && (rc = row(&r, arg)))
      break;
    r.i++;
  }
  if (!rc && s != SQLITE_DONE)
    rc = sq_fail(db, err, what);
  if (n_rows)
    *n_rows = (size_t)r.i + (rc && s == SQLITE_ROW);
  if (!rc && changed)
    *changed = sqlite3_changes(sq_of(db)->h);
  sq_release(db, st);
  return rc;
}

static const char *col_text(const struct sql_row *r, int c)
{
  return (const char *)sqlite3_column_text(r->h, c);
}

/* The value first: NULL reads as 0, so only a 0 costs the second call
 * that tells NULL (dflt) from a stored 0 (one SQLite call per column on
 * the ratings a training run streams, as before the SQL layer). */
static int64_t col_i64(const struct sql_row *r, int c, int64_t dflt)
{
  int64_t v = sqlite3_column_int64(r->h, c);
  if (v == 0 && sqlite3_column_type(r->h, c) == SQLITE_NULL)
    return dflt;
  return v;
}

static double col_f64(const struct sql_row *r, int c, double dflt)
{
  double v = sqlite3_column_double(r->h, c);
  if (v == 0 && sqlite3_column_type(r->h, c) == SQLITE_NULL)
    return dflt;
  return v;
}

static int is_constraint(struct hv_db *db)
{
  return (sqlite3_errcode(sq_of(db)->h) & 0xff) == SQLITE_CONSTRAINT;
}

const struct sql_ops sq_sql_ops = {
    .dialect = SQL_SQLITE, .run = run_sql, .text = col_text, .i64 = col_i64,
    .f64 = col_f64, .is_constraint = is_constraint};

/* ---- column reads, binds, loops --------------------------------------- */

int64_t sq_value(struct hv_db *db, const char *sql, int64_t dflt)
{
  sqlite3_stmt *st = NULL;
  int64_t v = dflt;
  if (sqlite3_prepare_v2(sq_of(db)->h, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}



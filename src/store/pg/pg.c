/*
 * pg.c - the PostgreSQL backend: connection, transactions, migrations, the
 * prepared-statement cache and the helpers its entity files share (see
 * pg.h), and the backend table db_open uses (pg_backend).
 *
 * Threads: a connection belongs to one thread at a time.
 */
#include "store/pg/pg.h"

#include <math.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock keys: every write transaction, and migrations. */
#define PG_LOCK_WRITE "7161128239401"
#define PG_LOCK_MIGRATE "7161128239402"

/* Rows per FETCH of pg_run_cursor. */
#define PG_FETCH "20000"

/* ---- parameters ------------------------------------------------------- */

/* The text libpq sends for each of a's values ($1 is v[0]; NULL is SQL
 * NULL); a number is printed into num[i]. */
static void arg_texts(const struct sql_args *a, const char *v[SQL_ARGS_MAX],
                      char num[SQL_ARGS_MAX][32])
{
  for (int i = 0; a && i < a->n; i++) {
    const struct sql_arg *x = &a->v[i];
    v[i] = x->type == SQL_TEXT ? x->s : x->type == SQL_NULL ? NULL : num[i];
    if (x->type == SQL_INT)
      snprintf(num[i], 32, "%lld", (long long)x->i);
    else if (x->type == SQL_REAL)
      snprintf(num[i], 32, "%.17g", x->f);
  }
}

/* ---- errors and statements -------------------------------------------- */

int pg_fail(struct hv_db *db, const PGresult *res, struct hv_err *err,
            const char *what)
{
  struct pg_db *p = pg_of(db);
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  snprintf(p->sqlstate, sizeof(p->sqlstate), "%s", state ? state : "");
  const char *msg = res ? PQresultErrorMessage(res) : "";
  if (!msg || !*msg)
    msg = PQerrorMessage(p->c);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    n--; /* libpq ends its messages with a newline */
  return hv_err_set(err, HV_EDB, "%s: %.*s", what, (int)n, msg);
}

int pg_is_constraint(struct hv_db *db)
{
  return !strncmp(pg_of(db)->sqlstate, "23", 2);
}

/* 0 when res succeeded (freeing it unless keep), else pg_fail. */
static int check(struct hv_db *db, PGresult *res, int keep, const char *what,
                 struct hv_err *err)
{
  ExecStatusType s = PQresultStatus(res);
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
    if (!keep)
      PQclear(res);
    return 0;
  }
  int rc = pg_fail(db, res, err, what);
  PQclear(res);
  return rc;
}

int pg_exec(struct hv_db *db, const char *sql, struct hv_err *err)
{
  return check(db, PQexec(pg_of(db)->c, sql), 0, "database", err);
}

/* The name under which sql is prepared on this connection, preparing it on
 * first use; NULL when the cache is full (the caller runs it unprepared). */
static int prepared(struct hv_db *db, const char *sql, int nparams,
                    char name[16], struct hv_err *err)
{
  struct pg_db *p = pg_of(db);
  for (int i = 0; i < p->n_prep; i++)
    if (p->prep[i] == sql) {
      snprintf(name, 16, "hv%d", i);
      return 1;
    }
  if (p->n_prep == PG_PREP_MAX)
    return 0;
  snprintf(name, 16, "hv%d", p->n_prep);
  if (check(db, PQprepare(p->c, name, sql, nparams, NULL), 0, "prepare",
            err))
    return HV_EDB;
  p->prep[p->n_prep++] = sql;
  return 1;
}

int pg_query(struct hv_db *db, const char *sql, int cache,
             const struct sql_args *a, PGresult **res, const char *what,
             struct hv_err *err)
{
  struct pg_db *p = pg_of(db);
  int n = a ? a->n : 0;
  const char *v[SQL_ARGS_MAX];
  char num[SQL_ARGS_MAX][32];
  arg_texts(a, v, num);
  char name[16];
  int prep = cache ? prepared(db, sql, n, name, err) : 0;
  if (prep < 0)
    return prep;
  p->sqlstate[0] = '\0';
  PGresult *r = prep ? PQexecPrepared(p->c, name, n, v, NULL, NULL, 0)
                     : PQexecParams(p->c, sql, n, NULL, v, NULL, NULL, 0);
  *res = NULL;
  if (check(db, r, 1, what, err))
    return HV_EDB;
  *res = r;
  return 0;
}

int pg_cmd(struct hv_db *db, const char *sql, int cache,
           const struct sql_args *a, int64_t *changed, const char *what,
           struct hv_err *err)
{
  PGresult *r = NULL;
  if (pg_query(db, sql, cache, a, &r, what, err))
    return HV_EDB;
  if (changed)
    *changed = strtoll(PQcmdTuples(r), NULL, 10);
  PQclear(r);
  return 0;
}

/* Hand rows of r to row; returns 0 or its non-zero value. */
static int each_row(const PGresult *r, pg_row_fn row, void *arg)
{
  int n = PQntuples(r), rc = 0;
  for (int i = 0; i < n && !rc; i++)
    rc = row(r, i, arg);
  return rc;
}

int pg_run(struct hv_db *db, const char *sql, int cache,
           const struct sql_args *a, pg_row_fn row, void *arg, size_t *n_rows,
           const char *what, struct hv_err *err)
{
  PGresult *r = NULL;
  if (n_rows)
    *n_rows = 0;
  if (pg_query(db, sql, cache, a, &r, what, err))
    return HV_EDB;
  if (n_rows)
    *n_rows = (size_t)PQntuples(r);
  int rc = each_row(r, row, arg);
  PQclear(r);
  return rc;
}

/* Fetch the declared cursor cur batch by batch into row. */
static int fetch_all(struct hv_db *db, const char *cur, pg_row_fn row,
                     void *arg, const char *what, struct hv_err *err)
{
  char sql[64];
  snprintf(sql, sizeof(sql), "FETCH " PG_FETCH " FROM %s", cur);
  for (;;) {
    PGresult *r = NULL;
    if (pg_query(db, sql, 0, NULL, &r, what, err))
      return HV_EDB;
    int n = PQntuples(r), rc = each_row(r, row, arg);
    PQclear(r);
    if (rc || n == 0)
      return rc;
  }
}

int pg_run_cursor(struct hv_db *db, const char *sql, const struct sql_args *a,
                  pg_row_fn row, void *arg, const char *what,
                  struct hv_err *err)
{
  struct pg_db *p = pg_of(db);
  char cur[32];
  snprintf(cur, sizeof(cur), "hv_cur%d", p->n_cursors++);
  static const char fmt[] = "DECLARE %s NO SCROLL CURSOR FOR %s";
  size_t cap = sizeof(fmt) + strlen(cur) + strlen(sql);
  char *decl = malloc(cap);
  if (!decl)
    return hv_err_set(err, HV_ENOMEM, "%s: out of memory", what);
  snprintf(decl, cap, fmt, cur, sql);
  int own = PQtransactionStatus(p->c) == PQTRANS_IDLE;
  if (own && pg_exec(db, "BEGIN", err)) {
    free(decl);
    return HV_EDB;
  }
  int64_t ignored;
  int rc = pg_cmd(db, decl, 0, a, &ignored, what, err);
  free(decl);
  if (!rc)
    rc = fetch_all(db, cur, row, arg, what, err);
  if (!rc) {
    char close[48];
    snprintf(close, sizeof(close), "CLOSE %s", cur);
    rc = pg_exec(db, close, err);
  }
  if (own)
    return pg_end(db, rc, err);
  return rc;
}

/* ---- column readers --------------------------------------------------- */

const char *pg_text(const PGresult *r, int i, int c)
{
  return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

int64_t pg_i64(const PGresult *r, int i, int c, int64_t dflt)
{
  const char *s = pg_text(r, i, c);
  return s ? strtoll(s, NULL, 10) : dflt;
}

double pg_f64(const PGresult *r, int i, int c, double dflt)
{
  const char *s = pg_text(r, i, c);
  return s ? strtod(s, NULL) : dflt;
}

/* ---- store/sql.h ------------------------------------------------------ */

/* A row of a cursor's batch handed to a store/sql.h callback. */
struct stream {
  sql_row_fn row;
  void *arg;
  size_t n;
};

static int stream_row(const PGresult *r, int i, void *arg)
{
  struct stream *s = arg;
  struct sql_row x = {&pg_sql_ops, (void *)r, i};
  s->n++;
  return s->row ? s->row(&x, s->arg) : 0;
}

static int run_sql(struct hv_db *db, const char *sql, int flags,
                   const struct sql_args *a, sql_row_fn row, void *arg,
                   size_t *n_rows, int64_t *changed, const char *what,
                   struct hv_err *err)
{
  PGresult *r = NULL;
  if (n_rows)
    *n_rows = 0;
  if (flags & SQL_STREAM) {
    struct stream s = {row, arg, 0};
    int rc = pg_run_cursor(db, sql, a, stream_row, &s, what, err);
    if (n_rows)
      *n_rows = s.n;
    return rc;
  }
  if (pg_query(db, sql, flags & SQL_CACHE, a, &r, what, err))
    return HV_EDB;
  struct sql_row x = {&pg_sql_ops, r, 0};
  int n = PQntuples(r), rc = 0;
  for (; x.i < n && !rc && row; x.i++)
    rc = row(&x, arg);
  if (n_rows)
    *n_rows = (size_t)n;
  if (changed)
    *changed = strtoll(PQcmdTuples(r), NULL, 10);
  PQclear(r);
  return rc;
}

static const char *col_text(const struct sql_row *r, int c)
{
  return pg_text(r->h, r->i, c);
}

static int64_t col_i64(const struct sql_row *r, int c, int64_t dflt)
{
  return pg_i64(r->h, r->i, c, dflt);
}

static double col_f64(const struct sql_row *r, int c, double dflt)
{
  return pg_f64(r->h, r->i, c, dflt);
}

const struct sql_ops pg_sql_ops = {
    .dialect = SQL_PG, .run = run_sql, .text = col_text, .i64 = col_i64,
    .f64 = col_f64, .is_constraint = pg_is_constraint};

/* ---- connection ------------------------------------------------------- */

/* PostgreSQL answers BEGIN inside a transaction and COMMIT outside one
 * with a warning, not an error; db.h promises errors, as SQLite gives. */
static int pg_begin(struct hv_db *db, struct hv_err *err)
{
  if (PQtransactionStatus(pg_of(db)->c) != PQTRANS_IDLE)
    return hv_err_set(err, HV_EDB, "%s: a transaction is already open",
                      db->path);
  if (pg_exec(db, "BEGIN", err))
    return HV_EDB;
  if (pg_exec(db, "SELECT pg_advisory_xact_lock(" PG_LOCK_WRITE ")", err)) {
    pg_exec(db, "ROLLBACK", NULL);
    return HV_EDB;
  }
  return 0;
}

static void pg_rollback(struct hv_db *db)
{
  struct pg_db *p = pg_of(db);
  if (p->c && PQtransactionStatus(p->c) != PQTRANS_IDLE)
    PQclear(PQexec(p->c, "ROLLBACK"));
}

/* COMMIT, and make sure it committed: in a transaction a failed statement
 * aborted (its error ignored by a caller), PostgreSQL answers COMMIT with
 * success and the command tag "ROLLBACK" - nothing was written. A COMMIT
 * that fails (a deferred constraint, a serialization failure, a dropped
 * connection) is an error; either way the connection leaves the
 * transaction, so its next statement does not run inside it. */
static int pg_commit(struct hv_db *db, struct hv_err *err)
{
  struct pg_db *p = pg_of(db);
  if (PQtransactionStatus(p->c) == PQTRANS_IDLE)
    return hv_err_set(err, HV_EDB, "%s: commit: no transaction is open",
                      db->path);
  PGresult *r = PQexec(p->c, "COMMIT");
  int rc = 0;
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    rc = pg_fail(db, r, err, "commit");
  else if (strcmp(PQcmdStatus(r), "COMMIT"))
    rc = hv_err_set(err, HV_EDB,
                    "%s: commit: the transaction was rolled back (the "
                    "server answered %s: an earlier statement in it "
                    "failed); nothing of it was written",
                    db->path, PQcmdStatus(r));
  PQclear(r);
  if (rc)
    pg_rollback(db);
  return rc;
}

int pg_end(struct hv_db *db, int rc, struct hv_err *err)
{
  if (rc) {
    pg_rollback(db);
    return rc;
  }
  return pg_commit(db, err);
}

static int pg_schema_latest(void)
{
  return sq_schema_count;
}

static int pg_schema_version(struct hv_db *db)
{
  int64_t v = -1;
  struct hv_err e = {0};
  if (sql_run_row(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                 NULL, &v, 1, "schema_version", &e))
    return -1;
  return (int)v;
}

static int apply_migration(struct hv_db *db, int to, struct hv_err *err)
{
  struct sql_args a = sql_argsf("d", to);
  char *sql = pg_schema_migration(to);
  if (!sql)
    return hv_err_set(err, HV_ENOMEM, "out of memory migrating %s", db->path);
  int rc = pg_exec(db, "BEGIN", err);
  if (!rc)
    rc = pg_exec(db, sql, err);
  free(sql);
  if (!rc)
    rc = pg_cmd(db,
                "INSERT INTO schema_version(version, applied_at) "
                "VALUES ($1, extract(epoch from now())::bigint)",
                0, &a, NULL, "schema_version", err);
  rc = pg_end(db, rc, err);
  if (rc)
    hv_err_prefix(err, "%s: migration to schema %d", db->path, to);
  return rc;
}

/* Migrate under a session advisory lock, so two processes opening a new
 * database at once do not both create it. */
static int migrate(struct hv_db *db, struct hv_err *err)
{
  if (pg_exec(db, "SET client_min_messages = warning;"
                  "SELECT pg_advisory_lock(" PG_LOCK_MIGRATE ");"
                  "CREATE TABLE IF NOT EXISTS schema_version ("
                  " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
              err))
    return HV_EDB;
  int have = pg_schema_version(db), rc = 0;
  if (have < 0)
    rc = hv_err_set(err, HV_EDB, "%s: cannot read schema_version", db->path);
  else if (have > sq_schema_count)
    rc = hv_err_set(err, HV_EVERSION,
                    "%s is schema version %d but this harvest knows up to "
                    "%d; use a newer harvest",
                    db->path, have, sq_schema_count);
  for (int v = have + 1; !rc && v <= sq_schema_count; v++)
    rc = apply_migration(db, v, err);
  pg_exec(db, "SELECT pg_advisory_unlock(" PG_LOCK_MIGRATE ")", NULL);
  return rc;
}

static void pg_close(struct hv_db *db)
{
  struct pg_db *p = pg_of(db);
  PQfinish(p->c);
  free(p);
}

static int pg_connect(struct hv_db *db, struct hv_err *err)
{
  struct pg_db *p = pg_of(db);
  p->c = PQconnectdb(db->conn);
  if (p->c && PQstatus(p->c) == CONNECTION_OK)
    return 0;
  const char *m = p->c ? PQerrorMessage(p->c) : "out of memory";
  size_t n = strlen(m);
  while (n && m[n - 1] == '\n')
    n--;
  return hv_err_set(err, HV_EDB, "cannot connect to %s: %.*s", db->path,
                    (int)n, m);
}

/* PostgreSQL checks foreign keys and constraints on every write; what is
 * left to check is that the server answers and the schema is this
 * build's. */
static int pg_check(struct hv_db *db, struct hv_err *err)
{
  int v = pg_schema_version(db);
  if (v != sq_schema_count)
    return hv_err_set(err, HV_ECORRUPT, "%s: schema version %d, expected %d",
                      db->path, v, sq_schema_count);
  return 0;
}

/* An idle connection receives nothing unless the server ends it (a
 * restart, pg_terminate_backend: an error, then end of file), so readable
 * means "read it and see": libpq marks the connection bad on the end of
 * file. One poll(2), no round trip. */
static int pg_alive(struct hv_db *db)
{
  PGconn *c = pg_of(db)->c;
  if (PQstatus(c) != CONNECTION_OK)
    return 0;
  struct pollfd f = {.fd = PQsocket(c), .events = POLLIN};
  if (poll(&f, 1, 0) > 0 && !PQconsumeInput(c))
    return 0;
  return PQstatus(c) == CONNECTION_OK;
}

const struct store_backend pg_backend = {
    .name = "postgresql", .schema_latest = pg_schema_latest,
    .conn_size = sizeof(struct pg_db), .connect = pg_connect,
    .setup = migrate, .close = pg_close,
    .begin = pg_begin, .commit = pg_commit, .rollback = pg_rollback,
    .schema_version = pg_schema_version, .check = pg_check,
    .alive = pg_alive,
    .loader = &pg_loader_ops, .sql = &pg_sql_ops, .blobs = &pg_blob_ops,
    .rows = &pg_rows_ops};

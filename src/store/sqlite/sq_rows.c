/*
 * sq_rows.c - whole tables of a SQLite database, for store/copy.c: column
 * lists, counts, rows as exact text (integers as written, doubles with 17
 * significant digits) in rowid order, and a prepared INSERT as the bulk
 * path (column affinity turns the text back into numbers).
 *
 * Threads: as sq.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sq.h"

static const char *col_text(sqlite3_stmt *st, int i)
{
  return (const char *)sqlite3_column_text(st, i);
}

/* The target's page cache while a copy writes it (KiB, as text). */
#define COPY_CACHE_KIB "1048576"

/* "SELECT ..."-sized buffers: ROWS_MAX_COLS names of 64 bytes, quoted. */
#define SQL_CAP (ROWS_MAX_COLS * 70 + 256)

static int sq_rows_columns(struct hv_db *db, const char *table,
                           struct rows_cols *out, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  memset(out, 0, sizeof(*out));
  if (sq_prepare(db, "SELECT name FROM pragma_table_info(?)", &st, err))
    return sq_code(err);
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n < ROWS_MAX_COLS)
    snprintf(out->name[out->n++], sizeof(out->name[0]), "%s",
             col_text(st, 0) ? col_text(st, 0) : "");
  int bad = rc != SQLITE_DONE && rc != SQLITE_ROW;
  sqlite3_finalize(st);
  if (bad)
    return sq_fail(db, err, table);
  if (rc == SQLITE_ROW)
    return hv_err_set(err, HV_EINVAL, "table %s has over %d columns", table,
                      ROWS_MAX_COLS);
  return 0;
}

/* "c1", "c2", ... into buf at *len. */
static void col_list(const struct rows_cols *c, char *buf, size_t cap,
                     size_t *len)
{
  for (size_t i = 0; i < c->n; i++)
    *len += (size_t)snprintf(buf + *len, cap - *len, "%s\"%s\"",
                             i ? ", " : "", c->name[i]);
}

/* Whether table was made WITHOUT ROWID (no rowid order to read it in). */
static int without_rowid(struct hv_db *db, const char *table)
{
  sqlite3_stmt *st = NULL;
  struct hv_err e = {0};
  if (sq_prepare(db, "SELECT sql FROM sqlite_master WHERE type = 'table' "
                     "AND name = ?", &st, &e))
    return 0;
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  int yes = sqlite3_step(st) == SQLITE_ROW && col_text(st, 0) &&
            strstr(col_text(st, 0), "WITHOUT ROWID");
  sqlite3_finalize(st);
  return yes;
}

/* Column i of the current row as exact text into buf (64 bytes) or its
 * own text; NULL for NULL. */
static const char *value_text(sqlite3_stmt *st, int i, char buf[64])
{
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_NULL:
    return NULL;
  case SQLITE_INTEGER:
    snprintf(buf, 64, "%lld", (long long)sqlite3_column_int64(st, i));
    return buf;
  case SQLITE_FLOAT:
    snprintf(buf, 64, "%.17g", sqlite3_column_double(st, i));
    return buf;
  default:
    return col_text(st, i);
  }
}

static int sq_rows_each(struct hv_db *db, const char *table,
                        const struct rows_cols *c, rows_fn fn, void *ctx,
                        struct hv_err *err)
{
  char sql[SQL_CAP];
  size_t len = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
  col_list(c, sql, sizeof(sql), &len);
  snprintf(sql + len, sizeof(sql) - len, " FROM \"%s\"%s", table,
           without_rowid(db, table) ? "" : " ORDER BY rowid");
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, sql, &st, err))
    return sq_code(err);
  char bufs[ROWS_MAX_COLS][64];
  const char *v[ROWS_MAX_COLS];
  int rc = 0, s;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    for (size_t i = 0; i < c->n; i++)
      v[i] = value_text(st, (int)i, bufs[i]);
    rc = fn(ctx, v);
  }
  if (!rc && s != SQLITE_DONE)
    rc = sq_fail(db, err, table);
  sqlite3_finalize(st);
  return rc;
}

struct sq_insert {
  struct hv_db *db;
  sqlite3_stmt *st;
  size_t n;
  char table[64];
  char real[ROWS_MAX_COLS]; /* column i is declared REAL */
};

/* Mark the columns of c declared REAL in s->real. */
static int real_columns(struct hv_db *db, const char *table,
                        const struct rows_cols *c, struct sq_insert *s,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, "SELECT name, type FROM pragma_table_info(?)", &st,
                 err))
    return sq_code(err);
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *name = col_text(st, 0), *type = col_text(st, 1);
    for (size_t i = 0; name && type && i < c->n; i++)
      if (!strcmp(c->name[i], name))
        s->real[i] = !strcmp(type, "REAL");
  }
  sqlite3_finalize(st);
  return 0;
}

/* A REAL column's text as a double (1 when all of v is one): bound as
 * such, so -0 keeps its sign and PostgreSQL's "Infinity" is infinite
 * (column affinity would make the one 0 and keep the other as text). */
static int real_value(const char *v, double *x)
{
  char *end = NULL;
  errno = 0;
  *x = strtod(v, &end);
  return end != v && *end == '\0' && errno != ERANGE;
}

static int sq_rows_insert_begin(struct hv_db *db, const char *table,
                                const struct rows_cols *c, void **out,
                                struct hv_err *err)
{
  /* rows arrive parent first, but a table may reference itself out of
   * order: foreign keys are checked at COMMIT. The copy is one
   * transaction: with SQLite's 2 MB page cache its pages spilled to the
   * WAL and were read back for every index probe (2M ratings took 176 s,
   * mostly pread/pwrite); COPY_CACHE_KIB of cache holds a large table's
   * index pages (restored by finish). */
  if (sq_exec(db, "PRAGMA defer_foreign_keys = ON; PRAGMA cache_size = "
              "-" COPY_CACHE_KIB "; PRAGMA cache_spill = OFF", err))
    return sq_code(err);
  char sql[SQL_CAP];
  size_t len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO \"%s\"(",
                                table);
  col_list(c, sql, sizeof(sql), &len);
  len += (size_t)snprintf(sql + len, sizeof(sql) - len, ") VALUES (");
  for (size_t i = 0; i < c->n; i++)
    len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?",
                            i ? ", " : "");
  snprintf(sql + len, sizeof(sql) - len, ")");
  struct sq_insert *s = calloc(1, sizeof(*s));
  if (!s)
    return hv_err_set(err, HV_ENOMEM, "out of memory copying %s", table);
  if (real_columns(db, table, c, s, err) ||
      sq_prepare(db, sql, &s->st, err)) {
    free(s);
    return sq_code(err);
  }
  s->db = db;
  s->n = c->n;
  snprintf(s->table, sizeof(s->table), "%s", table);
  *out = s;
  return 0;
}

static int sq_rows_insert_row(void *st, const char *const *v,
                              struct hv_err *err)
{
  struct sq_insert *s = st;
  for (size_t i = 0; i < s->n; i++) {
    double x;
    if (s->real[i] && v[i] && real_value(v[i], &x))
      sqlite3_bind_double(s->st, (int)i + 1, x);
    else if (v[i])
      sqlite3_bind_text(s->st, (int)i + 1, v[i], -1, SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(s->st, (int)i + 1);
  }
  int rc = sqlite3_step(s->st);
  sqlite3_reset(s->st);
  return rc == SQLITE_DONE ? 0 : sq_fail(s->db, err, s->table);
}

static int sq_rows_insert_end(void *st, int ok, struct hv_err *err)
{
  (void)ok;
  (void)err;
  struct sq_insert *s = st;
  sqlite3_finalize(s->st);
  free(s);
  return 0;
}

/* SQLite moves AUTOINCREMENT counters and rowids past inserted ids
 * itself; the page cache goes back to its default. */
static int sq_rows_finish(struct hv_db *db, struct hv_err *err)
{
  return sq_exec(db, "PRAGMA cache_size = -2000; PRAGMA cache_spill = ON",
                 err) ? sq_code(err) : 0;
}

const struct rows_ops sq_rows_ops = {
    .columns = sq_rows_columns, .each = sq_rows_each,
    .insert_begin = sq_rows_insert_begin, .insert_row = sq_rows_insert_row,
    .insert_end = sq_rows_insert_end, .finish = sq_rows_finish};

/*
 * sql.h - one SQL interface over both backends (private to store/): the
 * entity modules that need nothing a dialect does differently (tracking.c,
 * registry_db.c, ...) are written once against it.
 *
 * Design: a statement is static text with $1, $2, ... parameters (the
 * PostgreSQL spelling; the SQLite backend rewrites them to ?1, ?2, ... when
 * it prepares the statement) and typed arguments (struct sql_args: text,
 * integer, double or NULL; SQLite binds the type, PostgreSQL sends text and
 * infers it). Write what both dialects accept: COALESCE (not IFNULL),
 * CAST($1 AS TEXT) (not $1::text), ON CONFLICT ... DO UPDATE / DO NOTHING,
 * RETURNING, CASE (not FILTER, GREATEST or SQLite's two-argument MAX).
 * The one thing the two schemas spell differently is insertion order:
 * SQLite's rowid is PostgreSQL's identity column (runs.seq, metrics.id; see
 * pg_schema.c); sql_dialect picks between two texts there.
 *
 * Rows are handed to a callback as a struct sql_row, read with the column
 * readers below (borrowed text lives until the callback returns). A
 * callback may run other statements on the same connection. The flags of a
 * statement: SQL_CACHE for one run per request, prepared once per
 * connection (the text's address is the key, so it must be static);
 * SQL_STREAM for a result too large to hold at once (PostgreSQL fetches it
 * through a cursor in batches; SQLite always steps row by row).
 *
 * Errors: 0 or a negative HV_E* code with err filled ("WHAT: message");
 * the SQLite backend's full disk and busy database keep their own codes
 * (HV_ENOSPC, HV_EBUSY). A callback's non-zero return stops the statement
 * and is returned as is.
 *
 * Threads: as db.h: a connection belongs to one thread at a time.
 */
#ifndef HV_STORE_SQL_H
#define HV_STORE_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "store/backend.h"

#define SQL_ARGS_MAX 12

enum sql_flags { SQL_CACHE = 1, SQL_STREAM = 2 };

enum sql_type { SQL_NULL, SQL_INT, SQL_REAL, SQL_TEXT };

/* A statement's arguments ($1 is v[0]); text is borrowed until the
 * statement ran. Plain values: a struct sql_args may be copied and
 * returned. */
struct sql_args {
  int n;
  struct sql_arg {
    enum sql_type type;
    int64_t i;
    double f;
    const char *s;
  } v[SQL_ARGS_MAX];
};

/* Append one argument: an integer, a double (NaN: NULL), text (NULL:
 * NULL), NULL. */
void sql_arg_i64(struct sql_args *a, int64_t x);
void sql_arg_f64(struct sql_args *a, double x);
void sql_arg_text(struct sql_args *a, const char *s);
void sql_arg_null(struct sql_args *a);

/* The arguments spelled by fmt, one letter each: 't' text (const char *,
 * NULL: NULL), 'i' int64_t, 'd' int, 'f' double (NaN: NULL). */
struct sql_args sql_argsf(const char *fmt, ...);

/* A row being read: the backend's result handle and the row's index. */
struct sql_row {
  const struct sql_ops *ops;
  void *h;
  int i;
};

typedef int (*sql_row_fn)(const struct sql_row *r, void *arg);

/* What a backend implements (struct store_backend's sql). */
struct sql_ops {
  int dialect; /* enum sql_dialect */
  /* Run sql with a (may be NULL), each row into row (may be NULL); *n_rows
   * (may be NULL) gets the rows seen, *changed (may be NULL) the rows an
   * INSERT / UPDATE / DELETE changed. */
  int (*run)(struct hv_db *db, const char *sql, int flags,
             const struct sql_args *a, sql_row_fn row, void *arg,
             size_t *n_rows, int64_t *changed, const char *what,
             struct hv_err *err);
  /* Column c of r: text (NULL when NULL), integer or double (dflt when
   * NULL). */
  const char *(*text)(const struct sql_row *r, int c);
  int64_t (*i64)(const struct sql_row *r, int c, int64_t dflt);
  double (*f64)(const struct sql_row *r, int c, double dflt);
  /* Whether the last failure on db broke an integrity constraint (a
   * duplicate key, an unknown foreign key). */
  int (*is_constraint)(struct hv_db *db);
};

enum sql_dialect { SQL_SQLITE, SQL_PG };

static inline int sql_dialect(const struct hv_db *db)
{
  return db->be->sql->dialect;
}

/* Column readers (see struct sql_ops); sql_dup copies (caller frees; sets
 * *oom = 1 when it cannot), sql_copy copies into buf (cap bytes, cut on a
 * character boundary; NULL becomes ""). */
static inline const char *sql_text(const struct sql_row *r, int c)
{
  return r->ops->text(r, c);
}

static inline int64_t sql_i64(const struct sql_row *r, int c, int64_t dflt)
{
  return r->ops->i64(r, c, dflt);
}

static inline double sql_f64(const struct sql_row *r, int c, double dflt)
{
  return r->ops->f64(r, c, dflt);
}

char *sql_dup(const struct sql_row *r, int c, int *oom);
void sql_copy(const struct sql_row *r, int c, char *buf, size_t cap);

/* Run a query, every row into row(r, arg). Returns 0, the callback's
 * non-zero value, or a negative code; *n_rows (may be NULL) gets the rows
 * seen. */
int sql_run(struct hv_db *db, const char *sql, int flags,
            const struct sql_args *a, sql_row_fn row, void *arg,
            size_t *n_rows, const char *what, struct hv_err *err);

/* Run a statement for its effect; *changed (may be NULL) gets the rows it
 * changed. */
int sql_cmd(struct hv_db *db, const char *sql, int flags,
            const struct sql_args *a, int64_t *changed, const char *what,
            struct hv_err *err);

/* A query of exactly one row: its first k columns as int64 (NULL: 0) into
 * out; HV_EDB ("WHAT: no row") otherwise. */
int sql_run_row(struct hv_db *db, const char *sql, const struct sql_args *a,
                int64_t *out, int k, const char *what, struct hv_err *err);

/* Column 0 of every row into a new array *out of *n (freed again on
 * failure). */
int sql_run_ids(struct hv_db *db, const char *sql, int flags,
                const struct sql_args *a, int64_t **out, size_t *n,
                const char *what, struct hv_err *err);

/* Read row r into the zeroed element el; set *oom when a copy fails. */
typedef void (*sql_read_fn)(const struct sql_row *r, void *el, int *oom);

/* sql_run collecting one element of size sz per row (read fills it) into a
 * new array *out of *n elements. On failure what was read is handed to
 * free_arr (NULL: free) and *out / *n are NULL / 0. */
int sql_collect(struct hv_db *db, const char *sql, const struct sql_args *a,
                size_t sz, sql_read_fn read, void (*free_arr)(void *, size_t),
                void **out, size_t *n, const char *what, struct hv_err *err);

/* Whether the last failure on db broke an integrity constraint. */
int sql_is_constraint(struct hv_db *db);

/* End a transaction opened with db_begin: roll back and return rc when rc
 * is non-zero, else commit (rolling back when the commit fails, so the
 * connection is clean for its next use) and return its result. */
int sql_end(struct hv_db *db, int rc, struct hv_err *err);

#endif

/*
 * pg.h - the PostgreSQL backend's connection and the helpers its files
 * share. Only files in src/store/pg/ include this header; it is the one
 * place libpq-fe.h enters the tree.
 *
 * Design: struct pg_db embeds struct hv_db first, so a struct hv_db * of
 * this backend is a struct pg_db * (pg_of checks the tag). Every query is
 * parameterised ($1, $2, ...; values sent as text, never printed into the
 * SQL). Queries run per request are prepared once per connection, named by
 * the address of their static SQL text (the SQLite backend's statement
 * cache, the libpq way); the rest go through PQexecParams. A query's whole
 * result is fetched before its rows are handed to a callback, so a callback
 * may query the same connection again; the one query that can return tens
 * of millions of rows (ratings in a range or a window) goes through a
 * cursor in batches instead (pg_run_cursor).
 *
 * Write transactions: db_begin takes a transaction-scoped advisory lock,
 * one for the whole database, so write transactions run one at a time as
 * SQLite's BEGIN IMMEDIATE makes them: a read-modify-write inside one (the
 * next version number, "archive the Production version, then promote")
 * sees every earlier commit and cannot interleave with another host's.
 * Reads outside db_begin never wait.
 *
 * Threads: a connection and its prepared statements belong to one thread.
 */
#ifndef HV_STORE_PG_PG_H
#define HV_STORE_PG_PG_H

#include <assert.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store/backend.h"
#include "store/sql.h"

#define PG_PREP_MAX 48

struct pg_db {
  struct hv_db base; /* first: (struct hv_db *) points here */
  PGconn *c;
  char sqlstate[6]; /* of the last failed statement, "" when none */
  int n_cursors;    /* cursors declared so far (their names) */
  int n_prep;
  const char *prep[PG_PREP_MAX]; /* prepared as "hv<i>" */
};

static inline struct pg_db *pg_of(struct hv_db *db)
{
  assert(db && db->be == &pg_backend);
  return (struct pg_db *)db;
}

/* The bulk loader's table and the SQL layer. */
extern const struct loader_ops pg_loader_ops;
extern const struct sql_ops pg_sql_ops; /* store/sql.h (pg.c) */
extern const struct blob_ops pg_blob_ops;
extern const struct rows_ops pg_rows_ops;

/* The SQL of migration version (1 .. sq_schema_count) in PostgreSQL's
 * dialect: SQLite's translated (pg_schema.c). The caller frees it; NULL
 * when out of memory. */
char *pg_schema_migration(int version);

/* Fill err with "WHAT: server message" (HV_EDB), remember the SQLSTATE. */
int pg_fail(struct hv_db *db, const PGresult *res, struct hv_err *err,
            const char *what);

/* Whether the last failure was an integrity constraint (SQLSTATE 23...). */
int pg_is_constraint(struct hv_db *db);

/* Run SQL without parameters (several statements allowed). */
int pg_exec(struct hv_db *db, const char *sql, struct hv_err *err);

/* Run sql with args (may be NULL); prepared once per connection when cache
 * is set (sql must then be static: its address is the key). *res gets the
 * result (the caller PQclear's it) unless the statement failed. */
int pg_query(struct hv_db *db, const char *sql, int cache,
             const struct sql_args *a, PGresult **res, const char *what,
             struct hv_err *err);

/* A row callback: row i of r. */
typedef int (*pg_row_fn)(const PGresult *r, int i, void *arg);

/* pg_query, then every row into row(r, i, arg). Returns 0, the callback's
 * non-zero value, or HV_EDB; *n_rows (may be NULL) gets the row count. */
int pg_run(struct hv_db *db, const char *sql, int cache,
           const struct sql_args *a, pg_row_fn row, void *arg, size_t *n_rows,
           const char *what, struct hv_err *err);

/* pg_run through a cursor fetched in batches (inside the open transaction,
 * or one of its own): for results too large to hold at once. */
int pg_run_cursor(struct hv_db *db, const char *sql, const struct sql_args *a,
                  pg_row_fn row, void *arg, const char *what,
                  struct hv_err *err);

/* Run a statement that returns no rows; *changed (may be NULL) gets the
 * rows it changed. */
int pg_cmd(struct hv_db *db, const char *sql, int cache,
           const struct sql_args *a, int64_t *changed, const char *what,
           struct hv_err *err);

/* Column readers for row i, column c: text (borrowed; NULL when NULL), an
 * integer or a double (dflt when NULL). */
const char *pg_text(const PGresult *r, int i, int c);
int64_t pg_i64(const PGresult *r, int i, int c, int64_t dflt);
double pg_f64(const PGresult *r, int i, int c, double dflt);

/* The secondary checks of a table set aside for a bulk insert: the
 * statements that make them again. */
struct pg_deferred {
  char **sql; /* ALTER TABLE ... ADD CONSTRAINT / CREATE INDEX, in order */
  int n;
};

/* Inside the open transaction, drop table's foreign keys and its indexes
 * that are not unique (the primary key and unique indexes stay: they check
 * each row as it comes), keeping their definitions in *d (the caller frees
 * it with pg_deferred_free on every path). A COPY into the table then costs
 * no trigger lookup and no b-tree insert per row; pg_deferred_restore
 * makes them again, each in one pass: a sort per index and one validating
 * join per foreign key (what pg_restore does). A failure rolls back with
 * the transaction, dropped indexes included. */
int pg_deferred_drop(struct hv_db *db, const char *table,
                     struct pg_deferred *d, struct hv_err *err);

/* Make again what pg_deferred_drop dropped (indexes first, then the
 * foreign keys, validated against the rows now there). HV_ECORRUPT naming
 * table and the constraint when the rows break one; HV_EDB otherwise. */
int pg_deferred_restore(struct hv_db *db, const char *table,
                        struct pg_deferred *d, struct hv_err *err);

void pg_deferred_free(struct pg_deferred *d);

/* End a transaction opened with db_begin: roll back and return rc when rc
 * is non-zero, else return db_commit's result. */
int pg_end(struct hv_db *db, int rc, struct hv_err *err);

#endif

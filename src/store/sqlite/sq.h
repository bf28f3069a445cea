/*
 * sq.h - the SQLite backend's connection and the helpers its files share.
 * Only files in src/store/sqlite/ (and white-box tests) include this
 * header; it is the one place sqlite3.h enters the tree.
 *
 * Design: struct sq_db embeds struct hv_db first, so a struct hv_db * of
 * this backend is a struct sq_db * (sq_of checks the tag). Queries run on
 * every request (user lookups, a user's ratings and movie ids, inserts,
 * passwords) go through a small per-connection statement cache keyed by
 * the address of their static SQL text: prepared once, reset after use.
 * Everything else is prepared, stepped and finalized per call. sq_run and
 * its two variants do a whole query (prepare or fetch from the cache, bind,
 * step every row into a callback, release) in one call; the lower helpers
 * work on a statement the caller prepared and never finalize it.
 *
 * Threads: a connection and its statements belong to one thread.
 */
#ifndef HV_STORE_SQLITE_SQ_H
#define HV_STORE_SQLITE_SQ_H

#include <assert.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/backend.h"
#include "store/sql.h"

#define SQ_CACHE_MAX 24

struct sq_db {
  struct hv_db base; /* first: (struct hv_db *) points here */
  sqlite3 *h;
  int n_cached;
  struct {
    const char *sql; /* static text; its address is the key */
    sqlite3_stmt *st;
  } cache[SQ_CACHE_MAX];
};

/* The SQLite connection behind db (which must be of this backend). */
static inline struct sq_db *sq_of(struct hv_db *db)
{
  assert(db && db->be == &sq_backend);
  return (struct sq_db *)db;
}

/* The entity tables (sq_<entity>.c). */
extern const struct ratings_ops sq_ratings_ops;
extern const struct loader_ops sq_loader_ops;
extern const struct sql_ops sq_sql_ops; /* store/sql.h (sq.c) */


/* How long a connection waits for another writer's lock (busy_timeout). */
#define SQ_BUSY_MS 5000

/* Fill err with "WHAT: sqlite message" and return its code: HV_EDB, or
 * HV_ENOSPC (disk full) or HV_EBUSY (locked past SQ_BUSY_MS), those two
 * naming the database file. */
int sq_fail(struct hv_db *db, struct hv_err *err, const char *what);

/* The code of the failure sq_fail or sq_exec put in err (HV_EDB when err
 * is NULL): what a function returns after one of them failed. */
static inline int sq_code(const struct hv_err *err)
{
  return err && err->code ? err->code : HV_EDB;
}

/* Run SQL that returns no rows (no parameters); fails as sq_fail. */
int sq_exec(struct hv_db *db, const char *sql, struct hv_err *err);

/* Prepare sql on db; on failure fills err and returns HV_EDB. */
int sq_prepare(struct hv_db *db, const char *sql, sqlite3_stmt **st,
               struct hv_err *err);

/* The cached statement for sql, which must have static storage (the cache
 * is keyed by its address), prepared on first use; a fresh one when the
 * cached one is busy (a caller iterating it). Hand it back with
 * sq_release. Returns 0 or HV_EDB. */
int sq_cached(struct hv_db *db, const char *sql, sqlite3_stmt **st,
              struct hv_err *err);

/* Reset a statement from sq_cached (keeps it prepared) or finalize one
 * that is not in the cache. NULL does nothing. */
void sq_release(struct hv_db *db, sqlite3_stmt *st);

/* Text of column i (borrowed until the next step), or NULL. */
const char *sq_col_text(sqlite3_stmt *st, int i);

/* Column i as int64, or dflt when it is NULL. */
int64_t sq_col_i64_or(sqlite3_stmt *st, int i, int64_t dflt);

/* Step st once expecting SQLITE_DONE, then finalize it. Returns 0, or
 * HV_EDB with "WHAT: sqlite message" in err. */
int sq_step_done(struct hv_db *db, sqlite3_stmt *st, const char *what,
                 struct hv_err *err);

/* Column 0 of the first row of sql (no parameters), or dflt when there is
 * no row or the query fails (nothing reported: for pragmas and probes). */
int64_t sq_value(struct hv_db *db, const char *sql, int64_t dflt);

/* Grow *p (elements of size sz) to hold at least need elements, doubling
 * from 1024; *cap is updated. Returns 0 or HV_ENOMEM (*p is unchanged). */
int sq_grow(void **p, size_t sz, size_t *cap, size_t need);

/* Step st to the end, handing each row to row(st, arg); returns 0, the
 * callback's non-zero value, or HV_EDB ("WHAT: ..."). *n_rows (may be
 * NULL) gets the rows seen. Does not finalize or reset st. */
int sq_each_row(struct hv_db *db, sqlite3_stmt *st,
                int (*row)(sqlite3_stmt *st, void *arg), void *arg,
                size_t *n_rows, const char *what, struct hv_err *err);

/* One query, start to end: prepare sql (through the statement cache when
 * cache is set), bind the np int64 parameters p[0..np) to ?1.., step every
 * row into row(st, arg) and release the statement. Returns 0, the
 * callback's non-zero value, or HV_EDB ("WHAT: ..."). */
int sq_run(struct hv_db *db, const char *sql, int cache, const int64_t *p,
           int np, int (*row)(sqlite3_stmt *st, void *arg), void *arg,
           size_t *n_rows, const char *what, struct hv_err *err);

/* sq_run collecting column 0 of every row into a new array *out (*n; start
 * NULL / 0; freed again on failure). */
int sq_run_ids(struct hv_db *db, const char *sql, int cache, const int64_t *p,
               int np, int64_t **out, size_t *n, const char *what,
               struct hv_err *err);

/* sq_run for a query of one row: its first k int64 columns into out. */
int sq_run_row(struct hv_db *db, const char *sql, const int64_t *p, int np,
               int64_t *out, int k, const char *what, struct hv_err *err);

#endif

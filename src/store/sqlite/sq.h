/*
 * sq.h - the SQLite backend's connection and the helpers its files share.
 * Only files in src/store/sqlite/ (and white-box tests) include this
 * header; it is the one place sqlite3.h enters the tree.
 *
 * Design: struct sq_db embeds struct hv_db first, so a struct hv_db * of
 * this backend is a struct sq_db * (sq_of checks the tag). sq.c
 * implements store/sql.h for SQLite: $N parameters are rewritten to ?N at
 * prepare time; statements run on every request (SQL_CACHE: user lookups,
 * a user's ratings and movie ids, inserts, passwords) go through a small
 * per-connection statement cache keyed by the address of their static SQL
 * text: prepared once, reset after use. Everything else is prepared,
 * stepped and finalized per call.
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

/* The bulk loader's table and the SQL layer. */
extern const struct loader_ops sq_loader_ops;
extern const struct sql_ops sq_sql_ops; /* store/sql.h (sq.c) */
extern const struct rows_ops sq_rows_ops; /* store/copy.h (sq_rows.c) */


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

/* Column 0 of the first row of sql (no parameters), or dflt when there is
 * no row or the query fails (nothing reported: for pragmas and probes). */
int64_t sq_value(struct hv_db *db, const char *sql, int64_t dflt);

#endif

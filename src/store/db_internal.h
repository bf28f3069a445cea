/*
 * db_internal.h - what store/ files share about the SQLite connection.
 * Nothing outside src/store/ includes this header.
 */
#ifndef HV_STORE_DB_INTERNAL_H
#define HV_STORE_DB_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

struct hv_db {
  sqlite3 *h;
  char path[4096];
};

/* Fill err with "WHAT: sqlite message" (HV_EDB) and return HV_EDB. */
int db_fail(struct hv_db *db, struct hv_err *err, const char *what);

/* Run SQL that returns no rows (no parameters). */
int db_exec(struct hv_db *db, const char *sql, struct hv_err *err);

/* Prepare sql on db; on failure fills err and returns HV_EDB. */
int db_prepare(struct hv_db *db, const char *sql, sqlite3_stmt **st,
               struct hv_err *err);

/* Migrations: db_migrations[i] upgrades a database from version i to i+1.
 * Append new ones; never edit a released one. */
extern const char *const db_migrations[];
extern const int db_n_migrations;

/* ---- helpers shared by store/ files (db_util.c) ---- */

struct ratings_cols;

/* Text of column i (borrowed until the next step), or NULL. */
const char *db_col_text(sqlite3_stmt *st, int i);

/* strdup of column i (caller frees; NULL stays NULL); sets *oom = 1 when
 * the copy cannot be allocated. */
char *db_col_dup(sqlite3_stmt *st, int i, int *oom);

/* Copy column i into buf (cap bytes, truncated, NUL-terminated); NULL
 * becomes "". */
void db_col_copy(sqlite3_stmt *st, int i, char *buf, size_t cap);

/* Column i as int / int64, or dflt when it is NULL. */
int db_col_int_or(sqlite3_stmt *st, int i, int dflt);
int64_t db_col_i64_or(sqlite3_stmt *st, int i, int64_t dflt);

/* Bind s (copied) to parameter i, or NULL when s is NULL. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s);

/* Step st once expecting SQLITE_DONE, then finalize it. Returns 0, or
 * HV_EDB with "WHAT: sqlite message" in err. */
int db_step_done(struct hv_db *db, sqlite3_stmt *st, const char *what,
                 struct hv_err *err);

/* End a transaction opened with db_begin: roll back and return rc when rc
 * is non-zero, else return db_commit's result. */
int db_end(struct hv_db *db, int rc, struct hv_err *err);

/* Grow *p (elements of size sz) to hold at least need elements, doubling
 * from 1024; *cap is updated. Returns 0 or HV_ENOMEM (*p is unchanged). */
int db_grow(void **p, size_t sz, size_t *cap, size_t need);

/* Append one zeroed slot of size sz to the array *arr holding *n elements
 * (capacity doubles at powers of two, from 4). Returns the slot, or NULL
 * when out of memory (*arr and *n unchanged). */
void *db_append(void **arr, size_t *n, size_t sz);

/* RATINGS_GENDER_* of a users.gender text ("M"/"F", any case; else
 * unknown). */
int db_gender_code(const unsigned char *g);

/* Step st (first column an int64) to the end, appending column 0 to *out /
 * *n (start with NULL / 0). Does not finalize or reset st. Returns 0, or
 * HV_ENOMEM (oom_msg) / HV_EDB ("WHAT: ...") after freeing *out and setting
 * *out = NULL, *n = 0. */
int db_step_i64s(struct hv_db *db, sqlite3_stmt *st, int64_t **out,
                 size_t *n, const char *oom_msg, const char *what,
                 struct hv_err *err);

/* Step st (columns rating_id, user_id, movie_id, rating, timestamp) to the
 * end, appending each row to out (zeroed by the caller; release with
 * ratings_cols_free, also on failure). Does not finalize st. Returns 0,
 * HV_ENOMEM ("LABEL: out of memory at row N") or HV_EDB ("WHAT: ..."). */
int db_step_ratings_cols(struct hv_db *db, sqlite3_stmt *st,
                         struct ratings_cols *out, const char *label,
                         const char *what, struct hv_err *err);

#endif

/*
 * backend.h - what a database backend implements (private to store/).
 *
 * Design: struct hv_db is the part of a connection every backend shares:
 * its function table and its path. A backend's own connection struct puts
 * a struct hv_db first and casts back (see store/sqlite/sq.h). The table
 * holds the connection's life cycle, the SQL layer (store/sql.h: what
 * every entity module but the loader runs on) and the bulk loader's table;
 * each entry is a primitive the neutral module (loader.c)
 * calls after it has checked the arguments, so a backend never sees NULL
 * where the public header forbids it, and never re-implements the checks
 * or the composite operations built on top (see db.h).
 *
 * Rules for every entry: return 0 or a negative HV_E* code with err
 * filled; strings handed to callbacks are borrowed until the callback
 * returns; a callback's non-zero return stops the iteration and is
 * returned as is.
 *
 * Threads: as db.h: a connection belongs to one thread at a time.
 */
#ifndef HV_STORE_BACKEND_H
#define HV_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/accounts.h"
#include "store/blobs.h"
#include "store/catalog.h"
#include "store/db.h"
#include "store/loader.h"
#include "store/ratings.h"
#include "store/registry_db.h"
#include "store/stats.h"
#include "store/tracking.h"
#include "util/err.h"
#include "util/mem.h"

struct store_backend;
struct sql_ops;

struct hv_db {
  const struct store_backend *be;
  char path[4096]; /* for messages: a URL's password replaced by "***" */
  char conn[4096]; /* what opens it again (db_conn) */
};

/* Copy src (NULL: "") into dst (cap >= 1 bytes), cut on a UTF-8 character
 * boundary when it does not fit, NUL-terminated. */
static inline void store_copy_text(char *dst, size_t cap, const char *src)
{
  size_t n = src ? strlen(src) : 0;
  if (n >= cap) {
    n = cap - 1;
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
      n--;
  }
  if (n)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Fill err for a call without a database (WHAT: no database) and return
 * HV_EINVAL: the one answer every entity module gives to db == NULL. */
static inline int store_no_db(struct hv_err *err, const char *what)
{
  return hv_err_set(err, HV_EINVAL, "%s: no database", what);
}

/* Grow *p (elements of size sz) to hold at least need elements, doubling
 * from 1024; *cap is updated. Returns 0 or HV_ENOMEM (*p is unchanged). */
static inline int store_grow(void **p, size_t sz, size_t *cap, size_t need)
{
  if (need <= *cap)
    return 0;
  size_t nc = *cap ? *cap : 1024;
  while (nc < need)
    nc *= 2;
  void *q = realloc(*p, nc * sz);
  if (!q)
    return HV_ENOMEM;
  *p = q;
  *cap = nc;
  return 0;
}

/* Append one zeroed slot of size sz to the array *arr holding *n elements
 * (capacity doubles at powers of two, from 4). Returns the slot, or NULL
 * when out of memory (*arr and *n unchanged). */
static inline void *store_append(void **arr, size_t *n, size_t sz)
{
  size_t cnt = *n;
  if ((cnt & (cnt - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
    void *p = realloc(*arr, (cnt ? cnt * 2 : 4) * sz);
    if (!p)
      return NULL;
    *arr = p;
  }
  *n = cnt + 1;
  void *slot = (char *)*arr + cnt * sz;
  memset(slot, 0, sz);
  return slot;
}

/* ---- ratings ---------------------------------------------------------- */

/* One rating as the backend streams it. */
struct ratings_rec {
  int64_t rating_id, user_id, movie_id;
  double rating;
  int64_t timestamp;
};

/* Which ratings to stream, in which order. */
struct ratings_sel {
  int by_time; /* 0: rating_id in [lo, hi], by rating_id; 1: lo <= timestamp
                * < hi and rating_id not in [excl_first, excl_last], by
                * (timestamp, rating_id) */
  int64_t lo, hi;
  int64_t excl_first, excl_last; /* by_time only; first > last: none */
};

typedef int (*ratings_rec_fn)(void *ctx, const struct ratings_rec *r);

/* A caller's callback and context, for a backend's row adapters. */
struct store_cb {
  union {
    catalog_user_fn user;
    catalog_movie_fn movie;
    catalog_title_fn title;
    int (*name)(void *ctx, int code, const char *name);
    ratings_row_fn rating;
    ratings_avg_fn avg;
    int (*group)(void *ctx, int64_t id, int64_t count);
    ratings_rec_fn rec;
  } fn;
  void *ctx;
};

/* ---- loader ----------------------------------------------------------- */

/* What the dataset record of a load counts. */
struct loader_counts {
  int64_t users, movies, ratings;
  struct rating_scale scale; /* recorded with the dataset */
};

/* The catalogue tables a load writes row by row, parents first. */
enum loader_table {
  LOAD_GENRES,       /* id, name */
  LOAD_MOVIES,       /* id, title, release_date, release_year, imdb_url */
  LOAD_MOVIE_GENRES, /* movie_id, genre_id (after their movie) */
  LOAD_USERS,        /* id, raw_age, bucketized_age, gender,
                      * occupation_text, occupation_label, zip_code */
  LOAD_TABLES
};

/* One column value of a catalogue row, in the table's column order. */
struct loader_value {
  enum { LV_NULL, LV_INT, LV_TEXT } kind;
  int64_t num;      /* LV_INT */
  const char *text; /* LV_TEXT: UTF-8, valid for the call */
};

/* The backend's half of a bulk load (see loader.h): begin opens the write
 * transaction (clearing or refusing an existing dataset as opts say) and
 * hands back its state in *impl, cleaning up itself on failure; the rows
 * arrive checked (ids known, rating in range, rating_id assigned): row
 * writes a catalogue row of n values whose first is its id (loader.c
 * builds them from struct hv_movie and hv_user), rating one rating;
 * commit records the dataset with the counts, commits and fills what it
 * timed into *t (t->rows is the caller's); commit and abort free impl on
 * every path. */
struct loader_ops {
  int (*begin)(struct hv_db *db, const struct loader_opts *opts, void **impl,
               struct hv_err *err);
  int (*row)(void *impl, enum loader_table table,
             const struct loader_value *v, int n, struct hv_err *err);
  int (*rating)(void *impl, const struct hv_rating *r, struct hv_err *err);
  int (*commit)(void *impl, const struct loader_counts *n, const char *name,
                const char *source, struct loader_times *t,
                struct hv_err *err);
  void (*abort)(void *impl);
};

/* ---- artifact blobs ---------------------------------------------------- */

/* One entry per call of blobs.h, same contract, arguments checked; put
 * runs inside the caller's transaction. A backend that keeps artifacts as
 * files leaves its table NULL. */
struct blob_ops {
  int (*size)(struct hv_db *db, const char *sha256, int64_t *size,
              struct hv_err *err);
  int (*put)(struct hv_db *db, const char *sha256, int64_t size,
             blobs_fill_fn fill, void *ctx, int *added, struct hv_err *err);
  int (*get)(struct hv_db *db, const char *sha256, blobs_take_fn take,
             void *ctx, int64_t *size, struct hv_err *err);
  int (*each)(struct hv_db *db,
              int (*fn)(void *ctx, const char *sha256, int64_t size),
              void *ctx, struct hv_err *err);
};

/* ---- whole tables (store/copy.h) --------------------------------------- */

#define ROWS_MAX_COLS 32

/* A table's column names, checked identifiers ([a-z_][a-z0-9_]*), so a
 * backend may print them (quoted) into SQL; copy.c checks table names the
 * same way. */
struct rows_cols {
  size_t n;
  char name[ROWS_MAX_COLS][64];
};

/* One row: v[i] the text of column i, NULL for SQL NULL (borrowed). */
typedef int (*rows_fn)(void *ctx, const char *const *v);

struct rows_ops {
  /* The columns of table in their order (n 0 when there is no table). */
  int (*columns)(struct hv_db *db, const char *table, struct rows_cols *out,
                 struct hv_err *err);
  /* Every row of table's columns c in insertion order, as exact text. */
  int (*each)(struct hv_db *db, const char *table, const struct rows_cols *c,
              rows_fn fn, void *ctx, struct hv_err *err);
  /* A bulk insert into table(c) inside the open transaction: begin, rows,
   * end (ok 0: abandon; end frees st on every path). */
  int (*insert_begin)(struct hv_db *db, const char *table,
                      const struct rows_cols *c, void **st,
                      struct hv_err *err);
  int (*insert_row)(void *st, const char *const *v, struct hv_err *err);
  int (*insert_end)(void *st, int ok, struct hv_err *err);
  /* After every table is in: id counters moved past the copied ids. */
  int (*finish)(struct hv_db *db, struct hv_err *err);
};

/* ---- the backend ------------------------------------------------------ */

struct store_backend {
  const char *name; /* "sqlite", "postgresql" */
  int (*schema_latest)(void); /* the schema version this build creates */
  /* Opening (db_open, store/db.c): a zeroed conn_size-byte connection
   * (the backend's struct, its struct hv_db first, be/path/conn filled),
   * then connect (its errors name the database themselves), then setup
   * (settings, creating and migrating the schema: db_open prefixes its
   * errors with the path but for HV_EVERSION, HV_ENOSPC and HV_EBUSY,
   * which name the file), and close on any failure: close takes a
   * connection that connect left half open. */
  size_t conn_size;
  int (*connect)(struct hv_db *db, struct hv_err *err);
  int (*setup)(struct hv_db *db, struct hv_err *err);
  void (*close)(struct hv_db *db);
  int (*begin)(struct hv_db *db, struct hv_err *err);
  int (*commit)(struct hv_db *db, struct hv_err *err);
  void (*rollback)(struct hv_db *db);
  int (*schema_version)(struct hv_db *db);
  int (*check)(struct hv_db *db, struct hv_err *err);
  int (*alive)(struct hv_db *db); /* NULL: always alive (SQLite) */
  const struct loader_ops *loader;
  const struct sql_ops *sql; /* store/sql.h */
  const struct blob_ops *blobs; /* NULL: artifacts are files */
  const struct rows_ops *rows;  /* whole tables (store/copy.h) */
};

/* The schema's migrations: sq_schema_migrations[i] upgrades a database
 * from version i to i+1 (store/sqlite/sq_schema.c). Written in SQLite's
 * dialect, they are the one definition of the schema: the PostgreSQL
 * backend translates them (store/pg/pg_schema.c). Append new ones; never
 * edit a released one. */
extern const char *const sq_schema_migrations[];
extern const int sq_schema_count;

/* The SQLite backend (store/sqlite/sq.c) and the PostgreSQL one
 * (store/pg/pg.c). */
extern const struct store_backend sq_backend;
extern const struct store_backend pg_backend;

#endif

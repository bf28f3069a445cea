/*
 * copy.h - every table of one database into another, across backends
 * (SQLite <-> PostgreSQL): the store's half of `harvest db copy`.
 *
 * Design: the tables are the schema's, in the order the migrations create
 * them (store/backend.h: sq_schema_migrations, the one definition), so a
 * table comes after every table it references; rows go in insertion order
 * (SQLite's rowid, PostgreSQL's identity column), so a parent run comes
 * before its children. A table's columns are those both databases have
 * (PostgreSQL's insertion-order columns runs.seq and metrics.id are made
 * again by the target). Values travel as text, exactly: integers as
 * written, doubles with 17 significant digits, NULL as NULL. The target
 * is written through the backend's bulk path (PostgreSQL: COPY), inside
 * the transaction the caller opened, and each table's row count is checked
 * against the source before the next one starts. Artifact blobs are not
 * rows here (track/artifacts.h copies and re-hashes them).
 *
 * Threads: as db.h; the two connections are the caller's.
 */
#ifndef HV_STORE_COPY_H
#define HV_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

/* Where a copy is: table (borrowed) has rows of total copied so far. */
struct copy_progress {
  const char *table;
  int64_t rows, total;
  int done; /* 1 when the table is finished and its count checked */
};

typedef void (*copy_progress_fn)(void *ctx, const struct copy_progress *p);

/* What a copy moved. */
struct copy_counts {
  int tables;
  int64_t rows;
};

/* Copy every table of src into dst, which must be empty (no rows but the
 * ones its migrations seed, which are replaced), inside the transaction
 * the caller opened on dst with db_begin; progress (may be NULL) hears of
 * every table and every 100,000 rows. HV_ECONFLICT when dst holds data,
 * HV_EVERSION when the schema versions differ, HV_ECORRUPT when a count
 * differs after the copy. The caller commits or rolls back. */
int copy_tables(struct hv_db *src, struct hv_db *dst, copy_progress_fn progress,
                void *ctx, struct copy_counts *out,
                struct hv_err *err) HV_WARN_UNUSED;

/* A blob the source's rows reference (artifacts, model versions). */
struct copy_blob {
  char sha256[65];
  int64_t size;
};

/* Every distinct blob db's artifact records and model versions name, in
 * hash order, into *out (*n; caller frees *out). HV_ECORRUPT when one hash
 * comes with two sizes. */
int copy_blobs(struct hv_db *db, struct copy_blob **out, size_t *n,
               struct hv_err *err) HV_WARN_UNUSED;

#endif

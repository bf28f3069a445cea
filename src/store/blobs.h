/*
 * blobs.h - artifact blobs kept in the database: the default artifact store
 * of a PostgreSQL database, so every host that reaches the database can
 * load a model with nothing else shared.
 *
 * Design: a blob is named by the SHA-256 of its bytes (64 lowercase hex,
 * computed by the caller, track/artifacts.c) and stored as chunks of
 * BLOBS_CHUNK bytes (seq 0, 1, ...; the last one shorter) beside a row with
 * its size (migration 5: artifact_blobs, artifact_chunks). The size row and
 * the chunks are written in one transaction, so a blob that is listed is
 * complete; storing a blob that is there already writes nothing. This
 * module neither hashes nor trusts: readers re-hash what they get (the
 * artifact store verifies every read). Chunks are read one query each, so
 * memory stays at one chunk whatever the blob's size.
 *
 * Backends: PostgreSQL keeps blobs (store/pg/pg_blobs.c); a SQLite home
 * keeps them as files beside the database (blobs_in_db is 0 there and the
 * other calls answer HV_EINVAL).
 *
 * Threads: as db.h.
 */
#ifndef HV_STORE_BLOBS_H
#define HV_STORE_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

#define BLOBS_CHUNK (1 << 20) /* bytes per chunk: 1 MiB */

/* Fill buf with exactly n bytes (n <= BLOBS_CHUNK), the next of the blob
 * being stored; 0 or a negative HV_E* code with err filled. */
typedef int (*blobs_fill_fn)(void *ctx, void *buf, size_t n,
                             struct hv_err *err);

/* Take the next n bytes of the blob being read (data borrowed for the
 * call); 0 or a negative code, which stops the read and is returned. */
typedef int (*blobs_take_fn)(void *ctx, const void *data, size_t n,
                             struct hv_err *err);

/* 1 when db keeps artifact blobs (PostgreSQL), 0 when its artifacts are
 * files (SQLite). */
int blobs_in_db(const struct hv_db *db);

/* The size of blob sha256 into *size: 0, HV_ENOTFOUND when the database
 * does not have it, HV_EINVAL when it keeps no blobs, HV_EDB. */
int blobs_size(struct hv_db *db, const char *sha256, int64_t *size,
               struct hv_err *err) HV_WARN_UNUSED;

/* Store blob sha256 of size bytes, read through fill in chunk-sized
 * pieces, in a transaction of its own (blobs_put_in: inside the caller's,
 * opened with db_begin). A blob that is there already is not read again.
 * *added (may be NULL) is 1 when this call stored it. */
int blobs_put(struct hv_db *db, const char *sha256, int64_t size,
              blobs_fill_fn fill, void *ctx, int *added,
              struct hv_err *err) HV_WARN_UNUSED;
int blobs_put_in(struct hv_db *db, const char *sha256, int64_t size,
                 blobs_fill_fn fill, void *ctx, int *added,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Hand the bytes of blob sha256 to take in order, chunk by chunk; *size
 * (may be NULL) gets its recorded size. HV_ENOTFOUND when missing,
 * HV_ECORRUPT when a chunk is missing or of the wrong length. */
int blobs_get(struct hv_db *db, const char *sha256, blobs_take_fn take,
              void *ctx, int64_t *size, struct hv_err *err) HV_WARN_UNUSED;

/* Every blob (sha256, size) in hash order to fn; its non-zero return stops
 * the walk and is returned. */
int blobs_each(struct hv_db *db,
               int (*fn)(void *ctx, const char *sha256, int64_t size),
               void *ctx, struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * artifacts.h - the content-addressed artifact store of runs.
 *
 * Design: a file logged by a run is stored once under
 * <home>/artifacts/sha256/<first 2 hex>/<64 hex>, named by the SHA-256 of its
 * bytes (libsodium). It is streamed into <home>/artifacts/tmp/ while being
 * hashed, fsynced, made read-only, renamed into place and its directory
 * fsynced; only then is the (run, logical path) -> (hash, size) record
 * written to the database, so a crash leaves at worst an unreferenced blob,
 * never a record without its file. Reads re-hash the bytes and refuse a
 * mismatch (HV_ECORRUPT).
 *
 * Where blobs live. A SQLite home keeps them in <home>/artifacts. A
 * PostgreSQL database keeps them in the database (store/blobs.h: 1 MiB
 * chunks keyed by the hash), so a replica on another host loads the
 * Production model with only the database URL: every write stores the
 * blob there too, and a read whose local copy is missing or damaged first
 * fetches it from the database into <home>/artifacts (hashed on the way,
 * refused on a mismatch, then verified again as any local blob).
 * --artifacts DIR / HARVEST_ARTIFACTS (artifacts_use_dir) names a folder
 * that replaces <home>/artifacts, e.g. one every host mounts: blobs then
 * stay files there on either backend, and the database holds none.
 *
 * Path safety (MLflow's CVE-2023-1177, -2356, -2780, -6831, -6909,
 * CVE-2024-1560 were all path traversal): logical paths are only database
 * keys and never become file names; they are still validated
 * (artifacts_check_path). Blob files are opened component by component with
 * openat(O_NOFOLLOW) beneath the artifact root, so a symlink planted
 * anywhere inside the store is refused rather than followed, and no write
 * or read can leave the root. The root directory itself may be a symlink
 * (it is the operator's choice of disk).
 *
 * Threads: no shared state; each call opens and closes its own descriptors.
 */
#ifndef HV_TRACK_ARTIFACTS_H
#define HV_TRACK_ARTIFACTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/tracking.h"
#include "util/err.h"

struct hv_db;

#define ARTIFACTS_MAX_PATH 1024     /* bytes in a logical path */
#define ARTIFACTS_MAX_COMPONENT 255 /* bytes between two '/' */
#define ARTIFACTS_MODEL_PATH "model/model.hvm" /* a run's model file */

/* Use the folder dir as the artifact root instead of <home>/artifacts
 * (NULL or "": back to the default). Configuration: call before any
 * thread starts. HV_EINVAL when the name is too long. */
int artifacts_use_dir(const char *dir, struct hv_err *err) HV_WARN_UNUSED;

/* The folder of artifacts_use_dir (borrowed), NULL when none was set. */
const char *artifacts_dir(void);

/* 1 when db keeps the blobs (PostgreSQL without --artifacts), 0 when they
 * are files only. */
int artifacts_in_db(const struct hv_db *db);

/* 0 when p[0..len) is a safe logical path: relative, '/'-separated, no
 * empty, "." or ".." component, no backslash, NUL or control byte, at most
 * ARTIFACTS_MAX_PATH bytes and ARTIFACTS_MAX_COMPONENT per component.
 * HV_EINVAL naming the problem otherwise. The length is explicit so an
 * embedded NUL (from JSON or HTTP) is caught. */
int artifacts_check_path(const char *p, size_t len,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Store the file src_path as artifact logical_path of run_id. Logging the
 * same content at the same path again is a no-op; other content at a taken
 * path is HV_ECONFLICT (artifacts are immutable). sha256 (may be NULL)
 * receives the hash. */
int artifacts_put_file(const char *home, struct hv_db *db, const char *run_id,
                       const char *logical_path, const char *src_path,
                       char sha256[65], struct hv_err *err) HV_WARN_UNUSED;

/* As artifacts_put_file, from memory. */
int artifacts_put_bytes(const char *home, struct hv_db *db,
                        const char *run_id, const char *logical_path,
                        const void *data, size_t len, char sha256[65],
                        struct hv_err *err) HV_WARN_UNUSED;

/* Check that the blob sha256 exists beneath the artifact root (no symlinks),
 * is a regular file of size bytes (size < 0: any) and hashes to sha256;
 * when db keeps the blobs, a missing or damaged local copy is fetched
 * from it first.
 * path (may be NULL; cap bytes) receives its file name for readers such as
 * the model loader. HV_ENOTFOUND when missing, HV_ECORRUPT on a mismatch or
 * a planted symlink. */
int artifacts_verify_blob(const char *home, struct hv_db *db,
                          const char *sha256, int64_t size, char *path,
                          size_t cap, struct hv_err *err) HV_WARN_UNUSED;

/* Look up artifact logical_path of run_id and verify it as above; meta (may
 * be NULL) gets the record (free meta->path), path its blob file name. */
int artifacts_resolve(const char *home, struct hv_db *db, const char *run_id,
                      const char *logical_path,
                      struct tracking_artifact *meta, char *path, size_t cap,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Write the verified bytes of an artifact to out (e.g. stdout): the blob is
 * hashed first and only then copied from the same open file, so nothing is
 * written when it is corrupt. */
int artifacts_write_to(const char *home, struct hv_db *db, const char *run_id,
                       const char *logical_path, FILE *out,
                       struct hv_err *err) HV_WARN_UNUSED;

/* The verified bytes of an artifact in *out (malloc'd, caller frees; *len
 * bytes), hashed before they are read from the same open file.
 * HV_ETOOBIG when it has more than max bytes, HV_ENOTFOUND / HV_ECORRUPT
 * as artifacts_resolve. */
int artifacts_read(const char *home, struct hv_db *db, const char *run_id,
                   const char *logical_path, int64_t max, char **out,
                   size_t *len, struct hv_err *err) HV_WARN_UNUSED;

/* Copy the verified artifact to the file out_path atomically (temp file in
 * the same directory, fsync, rename). */
int artifacts_save_as(const char *home, struct hv_db *db, const char *run_id,
                      const char *logical_path, const char *out_path,
                      struct hv_err *err) HV_WARN_UNUSED;

/* The run's artifact records by path (*out, *n; free with
 * tracking_artifacts_free). HV_ENOTFOUND for an unknown run. */
int artifacts_list(struct hv_db *db, const char *run_id,
                   struct tracking_artifact **out, size_t *n,
                   struct hv_err *err) HV_WARN_UNUSED;

/* Copy blob sha256 (size bytes) from one store to another (harvest db
 * copy): read and verified as artifacts_verify_blob does from from_home
 * and from_db, then stored in to_db inside the transaction the caller
 * opened on it when to_db keeps blobs, else as a file of to_home's
 * artifact folder; either copy is read back and re-hashed. HV_ECORRUPT on
 * any mismatch, HV_ENOTFOUND when the source has no such blob. */
int artifacts_copy_blob(const char *from_home, struct hv_db *from_db,
                        const char *to_home, struct hv_db *to_db,
                        const char *sha256, int64_t size,
                        struct hv_err *err) HV_WARN_UNUSED;

#endif

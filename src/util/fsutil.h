/*
 * fsutil.h - file-system helpers: directories, atomic writes, whole-file reads.
 *
 * Design: every file Harvest writes for keeps (models, artifacts, reports,
 * keys) goes through hv_write_atomic: temp name in the same directory, fsync,
 * rename, fsync of the directory, so a crash leaves the old file or the new
 * one, never half of either. Thread-safe (no shared state).
 */
#ifndef HV_UTIL_FSUTIL_H
#define HV_UTIL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Create dir and its parents with mode 0755 (like mkdir -p). */
int hv_mkdir_p(const char *dir, struct hv_err *err) HV_WARN_UNUSED;

/* hv_mkdir_p, but dir itself is created 0700: a Harvest home, which holds
 * the database (password hashes) and the key files. A directory that
 * already exists keeps its mode (never loosened, nor changed under a user
 * who set it). */
int hv_mkdir_private(const char *dir, struct hv_err *err) HV_WARN_UNUSED;

/* Write len bytes to path atomically with the given mode (e.g. 0644). */
int hv_write_atomic(const char *path, const void *data, size_t len,
                    mode_t mode, struct hv_err *err) HV_WARN_UNUSED;

/* Fills the temp file fd (named tmp, for messages) of an atomic write;
 * returns 0 or a negative HV_E* code after filling err. */
typedef int (*hv_fill_fn)(int fd, const char *tmp, void *arg,
                          struct hv_err *err);

/* hv_write_atomic for content produced by fill(fd, tmp, arg, err), e.g.
 * streamed from another file: the same temp file, fsync, rename and fsync
 * of the directory; the temp file is removed when anything fails. */
int hv_write_atomic_with(const char *path, mode_t mode, hv_fill_fn fill,
                         void *arg, struct hv_err *err) HV_WARN_UNUSED;

/* The code of a failed write's errno: HV_ENOSPC for a full disk or quota
 * (ENOSPC, EDQUOT), else HV_EIO. */
int hv_io_code(int errnum);

/* write() all len bytes, retrying on EINTR and short writes. Returns 0, or
 * -1 with errno set. */
int hv_write_all(int fd, const void *data, size_t len);

/* read() up to cap bytes, retrying on EINTR: the byte count, 0 at the end,
 * -1 with errno set. */
ssize_t hv_read_some(int fd, void *buf, size_t cap);

/* Read all of path into a new NUL-terminated buffer (*out, caller frees),
 * refusing files larger than max bytes (HV_ETOOBIG). */
int hv_read_file(const char *path, size_t max, char **out, size_t *len,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Join a and b with one '/' into out (size cap); HV_EINVAL if it would not
 * fit. */
int hv_path_join(char *out, size_t cap, const char *a, const char *b,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Seconds since the epoch as a double (CLOCK_REALTIME) and a monotonic clock
 * for timing (CLOCK_MONOTONIC). */
double hv_now(void);
double hv_mono(void);

/* Remove the folder dir and everything beneath it (keep_root: only what
 * is beneath), without following symlinks. Best effort: returns 0, or -1
 * when something could not be removed (errno of the first failure). */
int hv_remove_tree(const char *dir, int keep_root);

#endif

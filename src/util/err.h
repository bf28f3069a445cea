/*
 * err.h - error codes and the error record every fallible call fills.
 *
 * Design: functions return 0 or a negative HV_E* code and, on failure, fill a
 * caller-owned struct hv_err with a message a user can act on ("FILE:LINE:
 * what is wrong"). The CLI maps codes to exit statuses (hv_err_exit_code) and
 * the server maps them to HTTP statuses in one table. Thread-safe: no globals.
 */
#ifndef HV_UTIL_ERR_H
#define HV_UTIL_ERR_H

#include <stddef.h>

#define HV_WARN_UNUSED __attribute__((warn_unused_result))
#define HV_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum hv_code {
  HV_OK = 0,
  HV_EUSAGE = -1,    /* bad command line: exit 2 */
  HV_EINVAL = -2,    /* bad input data (file, body, value): 400/422 */
  HV_ENOTFOUND = -3, /* unknown id, file or name: 404 */
  HV_EIO = -4,       /* file system or network failure */
  HV_ECORRUPT = -5,  /* a file or artifact fails its checks */
  HV_ECONFLICT = -6, /* already exists / state does not allow it: 409 */
  HV_ENOMEM = -7,    /* out of memory */
  HV_EDB = -8,       /* database failure */
  HV_EVERSION = -9,  /* file or database from a newer/older release */
  HV_EAUTH = -10,    /* missing or bad credentials: 401 */
  HV_EFORBIDDEN = -11, /* authenticated but not allowed: 403 */
  HV_ETOOBIG = -12,  /* over a size limit: 413 */
  HV_ELIMIT = -13,   /* rate limited: 429 */
  HV_EINTERNAL = -14, /* a bug: 500 */
  HV_EBUSY = -15,    /* a bounded resource is saturated, retry: 503 */
  HV_ENOSPC = -16    /* the disk is full: nothing was written, 507 */
};

struct hv_err {
  int code;       /* one of enum hv_code */
  char msg[256];  /* for people; NUL-terminated */
};

/* Clear an error record (code 0, empty message). NULL is allowed. */
void hv_err_clear(struct hv_err *err);

/* Fill err (may be NULL) with code and a printf-style message; returns code
 * so a caller can write `return hv_err_set(err, HV_EINVAL, ...)`. */
int hv_err_set(struct hv_err *err, int code, const char *fmt, ...)
    HV_PRINTF(3, 4);

/* Prefix the existing message with "PREFIX: " (e.g. a file name). */
void hv_err_prefix(struct hv_err *err, const char *fmt, ...) HV_PRINTF(2, 3);

/* Short name of a code ("invalid input", "not found", ...). */
const char *hv_strerror(int code);

/* Process exit status for a code: 0 ok, 2 usage, 1 anything else. */
int hv_err_exit_code(int code);

#endif

/*
 * parse.h - strict number parsing for flags, files and query strings, and
 * the check of lowercase hex identifiers (run ids, digests, sessions).
 *
 * Every parser checks the end pointer, errno and the range, and never accepts
 * an empty string, trailing garbage, NaN or infinity. Thread-safe.
 */
#ifndef HV_UTIL_PARSE_H
#define HV_UTIL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Parse all of s as a base-10 integer in [min, max] into *out. On failure
 * returns HV_EINVAL and fills err with "WHAT: 'S' is not ..." where what names
 * the field. */
int hv_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out,
                 const char *what, struct hv_err *err) HV_WARN_UNUSED;

/* Parse all of s as a finite double in [min, max] into *out. */
int hv_parse_f64(const char *s, double min, double max, double *out,
                 const char *what, struct hv_err *err) HV_WARN_UNUSED;

/* Parse "FIRST:LAST" (both integers >= 0, FIRST <= LAST; either may be empty
 * meaning 0 / INT64_MAX) into *first, *last. */
int hv_parse_range(const char *s, int64_t *first, int64_t *last,
                   const char *what, struct hv_err *err) HV_WARN_UNUSED;

/* 1 when s is exactly n lowercase hex digits (a run id is 32, a SHA-256
 * 64), else 0; NULL is 0. */
int hv_is_hex(const char *s, size_t n);

/* The length of s into *n (may be NULL) when it is 1..max characters;
 * otherwise HV_EINVAL, "<what> must be 1-<max> characters, got <len>" (NULL
 * counts as empty). For names and keys. */
int hv_check_len(const char *s, int max, const char *what, size_t *n,
                 struct hv_err *err) HV_WARN_UNUSED;

#endif

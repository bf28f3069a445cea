/*
 * mem.h - releasing the arrays of a struct of arrays in one statement.
 *
 * Design: Harvest keeps tables as structs of column arrays (ratings, the
 * trainer's rows, the loss workspace, snapshots); their _free functions
 * release every column. HV_FREE_ALL(p->a, p->b, ...) frees each pointer of
 * the list in order, so such a function names its columns once instead of
 * one free() line each. NULL entries are fine (free(NULL) does nothing).
 * Pointers to const must be cast by the caller, as for free().
 * mem_grow_cols and mem_cols_room grow such columns through a list of
 * their addresses while rows stream in (the store's loads), doubling the
 * capacity when full. mem_image_copy copies a file image (a model, an
 * index) into 64-byte aligned memory for its parser. No state.
 */
#ifndef HV_UTIL_MEM_H
#define HV_UTIL_MEM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

/* free() each of p[0..n). */
static inline void mem_free_each(void *const *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(p[i]);
}

/* free() each argument (pointers to non-const objects), left to right. */
#define HV_FREE_ALL(...)                               \
  mem_free_each((void *const[]){__VA_ARGS__},          \
                sizeof((void *const[]){__VA_ARGS__}) / \
                    sizeof(void *))

/* Grow each of the k arrays *cols[i] (elements of size[i] bytes) to hold
 * cap elements. Returns 0, or HV_ENOMEM with the arrays grown so far kept
 * (the caller frees them all). For structs of parallel columns. */
static inline int mem_grow_cols(void **const cols[], const size_t size[],
                                size_t k, size_t cap)
{
  for (size_t i = 0; i < k; i++) {
    void *p = realloc(*cols[i], cap * size[i]);
    if (!p)
      return HV_ENOMEM;
    *cols[i] = p;
  }
  return 0;
}

/* Room for row n in k parallel columns *cols[i] of capacity *cap: when
 * n == *cap, grow each to twice *cap (first when *cap is 0) and update
 * *cap. Returns 0 or HV_ENOMEM (as mem_grow_cols). */
static inline int mem_cols_room(void **const cols[], const size_t size[],
                                size_t k, size_t n, size_t *cap, size_t first)
{
  if (n < *cap)
    return 0;
  size_t nc = *cap ? *cap * 2 : first;
  if (mem_grow_cols(cols, size, k, nc))
    return HV_ENOMEM;
  *cap = nc;
  return 0;
}

/* A copy of the len bytes at buf in 64-byte aligned memory (rounded up to
 * 64 bytes, plus 64 of slack) in *out, the caller's (free). what names
 * the image in messages: HV_EINVAL "what: no buffer", HV_ETOOBIG above max
 * bytes, HV_ENOMEM. */
static inline int mem_image_copy(const void *buf, size_t len, size_t max,
                                 const char *what, unsigned char **out,
                                 struct hv_err *err)
{
  *out = NULL;
  if (!buf)
    return hv_err_set(err, HV_EINVAL, "%s: no buffer", what);
  if (len > max)
    return hv_err_set(err, HV_ETOOBIG, "%s: %zu bytes is too large", what,
                      len);
  if (!(*out = aligned_alloc(64, (len + 63) / 64 * 64 + 64)))
    return hv_err_set(err, HV_ENOMEM, "%s: out of memory", what);
  memcpy(*out, buf, len);
  return 0;
}

#endif

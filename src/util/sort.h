/*
 * sort.h - sorted int64 id arrays: the qsort comparator, sort-and-dedupe,
 * and the binary search every id lookup uses (model rows, the monitor's
 * users and movies, counts, an array of structs by an int64 field); and
 * the qsort comparator of doubles.
 *
 * Design: plain arrays of int64_t ascending, no container; the caller owns
 * the memory. Thread-safe: no state.
 */
#ifndef HV_UTIL_SORT_H
#define HV_UTIL_SORT_H

#include <stddef.h>
#include <stdint.h>

/* sort_find_i64's "not there". Adding 1 to it gives 0, which the model
 * uses as its out-of-vocabulary row (see model_lookup). */
#define SORT_NONE ((size_t)-1)

/* qsort comparator of two int64_t, ascending (no overflow: compares, does
 * not subtract). */
int sort_cmp_i64(const void *a, const void *b);

/* qsort comparator of two doubles, ascending; NaN compares equal to
 * everything (callers sort finite samples). */
int sort_cmp_f64(const void *a, const void *b);

/* Sort v[0..n) ascending and drop repeats in place; returns how many
 * distinct values now lead v. */
size_t sort_unique_i64(int64_t *v, size_t n);

/* The first i in [0, n) whose key is >= x, n when there is none. Key i
 * is the int64_t at (const char *)key + i * stride: an ascending int64_t
 * array (stride sizeof(int64_t)) or an int64_t field of an array of
 * structs sorted by it (key: the field of element 0; stride: the
 * element's size). key may be NULL when n is 0. Inline: the id lookups of
 * the serving path go through it. */
static inline size_t sort_lower_i64(const void *key, size_t n, size_t stride,
                                    int64_t x)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (*(const int64_t *)((const char *)key + mid * stride) < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Index of x in the ascending array a[0..n) (the first one when repeated),
 * or SORT_NONE when absent. a may be NULL when n is 0. */
size_t sort_find_i64(const int64_t *a, size_t n, int64_t x);

#endif

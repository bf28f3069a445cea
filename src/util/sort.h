/*
 * sort.h - sorted int64 id arrays: the qsort comparator, sort-and-dedupe,
 * and the binary search every id lookup uses (model rows, the monitor's
 * users and movies, counts); and the qsort comparator of doubles.
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

/* Index of x in the ascending array a[0..n) (the first one when repeated),
 * or SORT_NONE when absent. a may be NULL when n is 0. */
size_t sort_find_i64(const int64_t *a, size_t n, int64_t x);

#endif

/*
 * sort.c - sorted int64 id arrays: see sort.h.
 */
#include "util/sort.h"

#include <stdlib.h>

int sort_cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int sort_cmp_f64(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

size_t sort_unique_i64(int64_t *v, size_t n)
{
  if (n == 0)
    return 0;
  qsort(v, n, sizeof(int64_t), sort_cmp_i64);
  size_t w = 1;
  for (size_t i = 1; i < n; i++)
    if (v[i] != v[w - 1])
      v[w++] = v[i];
  return w;
}

size_t sort_find_i64(const int64_t *a, size_t n, int64_t x)
{
  size_t lo = sort_lower_i64(a, n, sizeof(*a), x);
  return lo < n && a[lo] == x ? lo : SORT_NONE;
}

/*
 * test_sort.c - util/sort: the int64 comparator (no overflow at the ends),
 * the double comparator, sort-and-dedupe, and the binary search (hits,
 * misses, repeats, empty).
 */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"
#include "util/sort.h"

static void test_cmp_i64(void **state)
{
  static const struct {
    int64_t a, b;
    int want;
  } cases[] = {
      {1, 2, -1},         {2, 1, 1},          {5, 5, 0},
      {INT64_MIN, INT64_MAX, -1}, {INT64_MAX, INT64_MIN, 1},
      {-1, 0, -1},        {INT64_MIN, INT64_MIN, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(sort_cmp_i64(&cases[i].a, &cases[i].b), cases[i].want);
}

static void test_cmp_f64(void **state)
{
  static const struct {
    double a, b;
    int want;
  } cases[] = {
      {1, 2, -1}, {2, 1, 1}, {0.5, 0.5, 0}, {-0.0, 0.0, 0},
      {-INFINITY, INFINITY, -1}, {NAN, 1, 0}, {1, NAN, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(sort_cmp_f64(&cases[i].a, &cases[i].b), cases[i].want);
  double v[] = {3.5, -1, 2, 1e300, -1e-300};
  qsort(v, 5, sizeof(double), sort_cmp_f64);
  for (int i = 0; i < 4; i++)
    assert_true(v[i] <= v[i + 1]);
}

static void test_unique(void **state)
{
  int64_t v[] = {5, -3, 5, INT64_MAX, 0, -3, INT64_MIN, 5};
  size_t n = sort_unique_i64(v, sizeof(v) / sizeof(v[0]));
  static const int64_t want[] = {INT64_MIN, -3, 0, 5, INT64_MAX};
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++)
    assert_true(v[i] == want[i]);
  assert_int_equal(sort_unique_i64(NULL, 0), 0);
  int64_t one = 9;
  assert_int_equal(sort_unique_i64(&one, 1), 1);
  assert_true(one == 9);
}

static void test_find(void **state)
{
  static const int64_t a[] = {-7, 1, 2, 2, 2, 9, 100};
  size_t n = sizeof(a) / sizeof(a[0]);
  static const struct {
    int64_t x;
    size_t want;
  } cases[] = {
      {-7, 0}, {1, 1}, {2, 2}, /* the first of repeats */
      {9, 5}, {100, 6}, {-8, SORT_NONE}, {0, SORT_NONE}, {3, SORT_NONE},
      {101, SORT_NONE}, {INT64_MIN, SORT_NONE}, {INT64_MAX, SORT_NONE},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(sort_find_i64(a, n, cases[i].x), cases[i].want);
  assert_int_equal(sort_find_i64(NULL, 0, 1), SORT_NONE);
  assert_int_equal(sort_find_i64(a, 1, -7), 0);
  assert_int_equal(sort_find_i64(a, 1, 1), SORT_NONE);
  assert_int_equal(SORT_NONE + 1, 0); /* model_lookup relies on it */
}

/* sort_lower_i64 over an int64 field of structs: the first element whose
 * key is >= x, against a linear scan, for every x around the keys. */
static void test_lower_strided(void **state)
{
  (void)state;
  static const struct {
    float pad;
    int64_t key;
    int tag;
  } rows[] = {{0, -5, 0}, {0, 0, 1}, {0, 0, 2}, {0, 3, 3}, {0, 8, 4},
              {0, 8, 5}, {0, 8, 6}, {0, 40, 7}};
  size_t n = sizeof(rows) / sizeof(rows[0]);
  for (int64_t x = -7; x <= 42; x++) {
    size_t want = 0;
    while (want < n && rows[want].key < x)
      want++;
    assert_int_equal(sort_lower_i64(&rows[0].key, n, sizeof(rows[0]), x),
                     want);
  }
  assert_int_equal(sort_lower_i64(&rows[0].key, 3, sizeof(rows[0]), 1), 3);
  assert_int_equal(sort_lower_i64(NULL, 0, sizeof(rows[0]), 1), 0);
  assert_int_equal(
      sort_lower_i64(&rows[0].key, n, sizeof(rows[0]), INT64_MIN), 0);
  assert_int_equal(
      sort_lower_i64(&rows[0].key, n, sizeof(rows[0]), INT64_MAX), n);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cmp_i64),
      cmocka_unit_test(test_cmp_f64),
      cmocka_unit_test(test_unique),
      cmocka_unit_test(test_find),
      cmocka_unit_test(test_lower_strided),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

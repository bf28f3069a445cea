/*
 * test_idset.c - util/idset: the id sets behind the readers' duplicate and
 * unknown-id checks and the bulk loader's foreign-key checks; both halves
 * (bitmap and hash table), their boundary, growth, and the one id refused.
 */
#include <stdint.h>
#include <string.h>

#include "testutil.h"
#include "util/idset.h"

/* Ids on both sides of the bitmap/hash boundary and at the extremes. */
static const int64_t edge_ids[] = {
    0, 1, 63, 64, 4095, 4096, IDSET_DENSE_MAX - 1, IDSET_DENSE_MAX,
    -1, -4096, INT64_MAX, INT64_MIN + 1,
};

static void test_edges(void **state)
{
  struct idset s = {0};
  struct hv_err e = {0};
  size_t n = sizeof(edge_ids) / sizeof(edge_ids[0]);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(idset_has(&s, edge_ids[i]), 0);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(idset_add(&s, edge_ids[i], &e), 1);
    assert_int_equal(idset_add(&s, edge_ids[i], &e), 0);
  }
  for (size_t i = 0; i < n; i++)
    assert_int_equal(idset_has(&s, edge_ids[i]), 1);
  assert_int_equal(idset_has(&s, 2), 0);
  assert_int_equal(idset_has(&s, -2), 0);
  assert_int_equal(idset_has(&s, IDSET_DENSE_MAX + 1), 0);
  assert_true(s.nbits <= IDSET_DENSE_MAX);
  idset_free(&s);
  assert_int_equal(idset_has(&s, 1), 0);
}

static void test_int64_min_refused(void **state)
{
  struct idset s = {0};
  struct hv_err e = {0};
  assert_int_equal(idset_add(&s, INT64_MIN, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "cannot be held"));
  assert_int_equal(idset_add(&s, INT64_MIN, NULL), HV_EINVAL);
  assert_int_equal(idset_add(&s, -5, &e), 1); /* the sparse table exists */
  assert_int_equal(idset_has(&s, INT64_MIN), 0);
  idset_free(&s);
}

static void test_many(void **state)
{
  struct idset s = {0};
  struct hv_err e = {0};
  /* many ids, a third of them huge (hash table), then each exactly once */
  for (int64_t i = 1; i <= 100000; i++)
    assert_int_equal(
        idset_add(&s, i * 7919 + (i % 3 ? 0 : INT64_C(1) << 50), &e), 1);
  for (int64_t i = 1; i <= 100000; i++) {
    int64_t id = i * 7919 + (i % 3 ? 0 : INT64_C(1) << 50);
    assert_int_equal(idset_has(&s, id), 1);
    assert_int_equal(idset_add(&s, id, &e), 0);
    assert_int_equal(idset_has(&s, id + 1), 0);
  }
  size_t sparse = 0; /* ids past the bitmap's cap live in the hash table */
  for (int64_t i = 1; i <= 100000; i++)
    sparse += i % 3 == 0 || i * 7919 >= IDSET_DENSE_MAX;
  assert_int_equal(s.n, sparse);
  assert_int_equal(idset_has(&s, 0), 0);
  idset_free(&s);
  assert_int_equal(idset_has(&s, 7919), 0);
  assert_int_equal(idset_add(&s, 42, &e), 1); /* reusable after free */
  idset_free(&s);
  idset_free(&s); /* twice is fine */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edges),
      cmocka_unit_test(test_int64_min_refused),
      cmocka_unit_test(test_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

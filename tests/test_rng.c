/*
 * test_rng.c - util/rng: splitmix64 and xoshiro256** against their reference
 * outputs (Vigna's splitmix64.c and xoshiro256starstar.c), and the streams
 * derived from them (seeding, [0,1) doubles, uniform floats, shuffles).
 * MT19937 / numpy's permutation are checked in test_train.c.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/rng.h"

static void test_splitmix64_reference(void **state)
{
  static const uint64_t want[] = {0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull,
                                  0x06c45d188009454full};
  uint64_t x = 0;
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    assert_true(rng_splitmix64(&x) == want[i]);
  assert_true(x == 3 * 0x9e3779b97f4a7c15ull); /* the state is a counter */
}

static void test_xoshiro_reference(void **state)
{
  static const struct {
    uint64_t s[4];
    uint64_t want[3];
  } cases[] = {
      {{1, 2, 3, 4}, {0x2d00ull, 0x0ull, 0x5a007080ull}},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    struct rng_xo r;
    memcpy(r.s, cases[c].s, sizeof(r.s));
    for (int i = 0; i < 3; i++)
      assert_true(rng_xo_u64(&r) == cases[c].want[i]);
  }
}

/* rng_xo_seed(42) is the training stream's seeding: pinned so a change to
 * it (which would change every trained model) fails here first. */
static void test_xo_seed_pinned(void **state)
{
  static const uint64_t want[] = {0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull,
                                  0xae17533239e499a1ull};
  struct rng_xo r;
  rng_xo_seed(&r, 42);
  for (size_t i = 0; i < 3; i++)
    assert_true(rng_xo_u64(&r) == want[i]);
}

static void test_xo_ranges(void **state)
{
  struct rng_xo r;
  rng_xo_seed(&r, 7);
  double lo = 1, hi = 0;
  for (int i = 0; i < 100000; i++) {
    double u = rng_xo_u01(&r);
    assert_true(u >= 0 && u < 1);
    lo = u < lo ? u : lo;
    hi = u > hi ? u : hi;
    float f = rng_xo_uniform(&r, 0.5f);
    assert_true(f >= -0.5f && f < 0.5f);
  }
  assert_true(lo < 0.001 && hi > 0.999);
  assert_true(rng_xo_uniform(&r, 0.0f) == 0.0f);
}

static void test_xo_shuffle_is_permutation(void **state)
{
  static const size_t sizes[] = {0, 1, 2, 10, 1000};
  for (size_t c = 0; c < sizeof(sizes) / sizeof(sizes[0]); c++) {
    size_t n = sizes[c];
    size_t v[1000], seen[1000] = {0};
    for (size_t i = 0; i < n; i++)
      v[i] = i;
    struct rng_xo r;
    rng_xo_seed(&r, 1);
    rng_xo_shuffle(&r, v, n);
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
      assert_true(v[i] < n);
      assert_int_equal(seen[v[i]]++, 0);
      moved += v[i] != i;
    }
    if (n >= 10)
      assert_true(moved > 0);
  }
}

/* The 4-byte shuffle makes the same draws, so the same order: training's
 * epoch order (uint32) is the one it had as size_t. */
static void test_xo_shuffle_u32_same_order(void **state)
{
  static const size_t sizes[] = {0, 1, 2, 10, 1000};
  for (size_t c = 0; c < sizeof(sizes) / sizeof(sizes[0]); c++) {
    size_t n = sizes[c];
    size_t v[1000];
    uint32_t w[1000];
    for (size_t i = 0; i < n; i++) {
      v[i] = i;
      w[i] = (uint32_t)i;
    }
    struct rng_xo r1, r2;
    rng_xo_seed(&r1, 7);
    rng_xo_seed(&r2, 7);
    rng_xo_shuffle(&r1, v, n);
    rng_xo_shuffle_u32(&r2, w, n);
    for (size_t i = 0; i < n; i++)
      assert_int_equal(v[i], w[i]);
    assert_true(rng_xo_u64(&r1) == rng_xo_u64(&r2));
  }
}

static void test_mt_reference(void **state)
{
  /* init_genrand(5489): the first outputs of the reference mt19937ar.c */
  struct rng_mt r;
  rng_mt_seed(&r, 5489);
  assert_true(rng_mt_u32(&r) == 3499211612u);
  assert_true(rng_mt_u32(&r) == 581869302u);
  assert_true(rng_mt_u32(&r) == 3890346734u);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_splitmix64_reference),
      cmocka_unit_test(test_xoshiro_reference),
      cmocka_unit_test(test_xo_seed_pinned),
      cmocka_unit_test(test_xo_ranges),
      cmocka_unit_test(test_xo_shuffle_is_permutation),
      cmocka_unit_test(test_xo_shuffle_u32_same_order),
      cmocka_unit_test(test_mt_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

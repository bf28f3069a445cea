/*
 * test_optim.c - model/optim: Adagrad and Adam against their formulas
 * (Keras semantics), only the given spans change, gradients are zeroed,
 * state initialisation.
 */
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "model/optim.h"
#include "testutil.h"

static void test_slots_and_init(void **state)
{
  assert_int_equal(optim_slots(MODEL_OPT_ADAGRAD), 1);
  assert_int_equal(optim_slots(MODEL_OPT_ADAM), 2);
  float s[8];
  memset(s, 0xff, sizeof(s));
  optim_init_state(MODEL_OPT_ADAGRAD, s, 8, 2, 3);
  assert_true(s[2] == 0.1f && s[4] == 0.1f);
  assert_true(isnan(s[1]) && isnan(s[5]));
  float a[8];
  memset(a, 0xff, sizeof(a));
  optim_init_state(MODEL_OPT_ADAM, a, 4, 1, 2);
  assert_true(a[1] == 0 && a[2] == 0 && a[5] == 0 && a[6] == 0);
  assert_true(isnan(a[0]) && isnan(a[3]) && isnan(a[4]));
}

static void test_adagrad(void **state)
{
  float p[6] = {1, 2, 3, 4, 5, 6}, acc[6], g[6] = {0.5f, -1, 2, 3, 4, 5};
  optim_init_state(MODEL_OPT_ADAGRAD, acc, 6, 0, 6);
  struct optim_span sp[2] = {{0, 2}, {4, 1}};
  double lr = 0.1;
  double a0 = 0.1 + 0.25, a1 = 0.1 + 1.0, a4 = 0.1 + 16;
  optim_step(MODEL_OPT_ADAGRAD, lr, 1, p, acc, 6, g, sp, 2);
  assert_true(fabs(p[0] - (1 - lr * 0.5 / (sqrt(a0) + 1e-7))) < 1e-6);
  assert_true(fabs(p[1] - (2 + lr * 1.0 / (sqrt(a1) + 1e-7))) < 1e-6);
  assert_true(fabs(p[4] - (5 - lr * 4.0 / (sqrt(a4) + 1e-7))) < 1e-6);
  assert_true(p[2] == 3 && p[3] == 4 && p[5] == 6); /* untouched */
  assert_true(fabs(acc[0] - a0) < 1e-6 && acc[2] == 0.1f);
  assert_true(g[0] == 0 && g[1] == 0 && g[4] == 0); /* zeroed */
  assert_true(g[2] == 2 && g[5] == 5);              /* not in a span */
  /* a zero gradient changes nothing (sparse == dense Adagrad) */
  float before = p[0];
  optim_step(MODEL_OPT_ADAGRAD, lr, 2, p, acc, 6, g, sp, 1);
  assert_true(p[0] == before);
}

static void test_adam(void **state)
{
  float p[2] = {1, -1}, st[4] = {0}, g[2];
  double m = 0, v = 0, x = 1;
  const double lr = 0.01, b1 = 0.9, b2 = 0.999;
  struct optim_span sp = {0, 2};
  for (int t = 1; t <= 5; t++) {
    double gg = 0.3 * t - 0.7;
    g[0] = (float)gg;
    g[1] = 0;
    optim_step(MODEL_OPT_ADAM, lr, (uint64_t)t, p, st, 2, g, &sp, 1);
    m = b1 * m + (1 - b1) * gg;
    v = b2 * v + (1 - b2) * gg * gg;
    double lrt = lr * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
    x -= lrt * m / (sqrt(v) + 1e-7);
    assert_true(fabs(p[0] - x) < 1e-5);
  }
  assert_true(p[1] == -1.0f); /* zero gradient, zero moments: no move */
  assert_true(st[2] > 0);     /* v of the first parameter */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slots_and_init),
      cmocka_unit_test(test_adagrad),
      cmocka_unit_test(test_adam),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

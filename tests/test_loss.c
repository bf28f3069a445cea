/*
 * test_loss.c - model/loss: the distinct users x distinct movies in-batch
 * softmax equals TFRS's naive B x B computation (loss and gradients) for
 * every option; the naive gradient matches finite differences; grouping;
 * numerical stability; bad arguments; the per-rank parts of
 * loss_distinct_users add up to loss_distinct (data-parallel training).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/loss.h"
#include "testutil.h"

static uint64_t rs = 12345;
static float frand(void)
{
  rs = rs * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rs >> 40) / 16777216.0) * 2.0f - 1.0f;
}

struct fx {
  size_t B;
  int d;
  int32_t *ur, *mr;
  float *utab, *mtab, *logq; /* per row */
};

/* A batch of B rows over nu_rows users and nm_rows movies, with repeats. */
static void fx_make(struct fx *f, size_t B, int d, int nu_rows, int nm_rows,
                    float scale)
{
  f->B = B;
  f->d = d;
  f->ur = malloc(B * sizeof(int32_t));
  f->mr = malloc(B * sizeof(int32_t));
  f->utab = malloc((size_t)nu_rows * d * sizeof(float));
  f->mtab = malloc((size_t)nm_rows * d * sizeof(float));
  f->logq = malloc((size_t)nm_rows * sizeof(float));
  for (size_t i = 0; i < B; i++) {
    f->ur[i] = (int32_t)(fabsf(frand()) * (nu_rows - 1));
    f->mr[i] = (int32_t)(fabsf(frand() * frand()) * (nm_rows - 1));
  }
  for (int i = 0; i < nu_rows * d; i++)
    f->utab[i] = scale * frand();
  for (int i = 0; i < nm_rows * d; i++)
    f->mtab[i] = scale * frand();
  for (int i = 0; i < nm_rows; i++)
    f->logq[i] = logf(0.01f + fabsf(frand()));
}

static void fx_free(struct fx *f)
{
  free(f->ur);
  free(f->mr);
  free(f->utab);
  free(f->mtab);
  free(f->logq);
}

/* Fill w->U, w->M from the tables after grouping. */
static void gather(struct loss_ws *w, const struct fx *f)
{
  for (size_t u = 0; u < w->nu; u++)
    memcpy(w->U + u * f->d, f->utab + (size_t)w->urows[u] * f->d,
           sizeof(float) * f->d);
  for (size_t m = 0; m < w->nm; m++)
    memcpy(w->M + m * f->d, f->mtab + (size_t)w->mrows[m] * f->d,
           sizeof(float) * f->d);
}

static void check_case(const struct loss_opts *o, int logq, size_t B, int d,
                       int nu_rows, int nm_rows)
{
  struct fx f;
  fx_make(&f, B, d, nu_rows, nm_rows, 0.8f);
  struct loss_ws *w = loss_ws_new(B, (size_t)nu_rows, (size_t)nm_rows, d);
  assert_non_null(w);
  loss_ws_group(w, f.ur, f.mr, B, logq ? f.logq : NULL);
  gather(w, &f);
  double fast = loss_distinct(w, o, 1);

  float *ue = malloc(B * d * sizeof(float)), *me = malloc(B * d * sizeof(float));
  float *lq = malloc(B * sizeof(float));
  int64_t *key = malloc(B * sizeof(int64_t));
  double *due = malloc(B * d * sizeof(double)), *dme = malloc(B * d * sizeof(double));
  for (size_t i = 0; i < B; i++) {
    memcpy(ue + i * d, f.utab + (size_t)f.ur[i] * d, sizeof(float) * d);
    memcpy(me + i * d, f.mtab + (size_t)f.mr[i] * d, sizeof(float) * d);
    lq[i] = f.logq[f.mr[i]];
    key[i] = f.mr[i];
  }
  double slow = loss_naive(B, d, ue, me, key, logq ? lq : NULL, o, due, dme);
  if (!(fabs(fast - slow) <= 1e-4 * fabs(slow) + 1e-3))
    fprintf(stderr, "t=%g l2=%g hits=%d logq=%d B=%zu fast %.6f slow %.6f\n", o->temperature, o->l2, o->remove_hits, logq, B, fast, slow);
  assert_true(fabs(fast - slow) <= 1e-4 * fabs(slow) + 1e-3);
  /* aggregate the naive per-row gradients by distinct user / movie */
  double *gu = calloc(w->nu * d, sizeof(double));
  double *gm = calloc(w->nm * d, sizeof(double));
  for (size_t i = 0; i < B; i++) {
    size_t u = 0, m = 0;
    while (w->urows[u] != f.ur[i])
      u++;
    while (w->mrows[m] != f.mr[i])
      m++;
    for (int k = 0; k < d; k++) {
      gu[u * d + k] += due[i * d + k];
      gm[m * d + k] += dme[i * d + k];
    }
  }
  double maxerr = 0, maxg = 0;
  for (size_t i = 0; i < w->nu * d; i++) {
    maxerr = fmax(maxerr, fabs(gu[i] - w->dU[i]));
    maxg = fmax(maxg, fabs(gu[i]));
  }
  for (size_t i = 0; i < w->nm * d; i++) {
    maxerr = fmax(maxerr, fabs(gm[i] - w->dM[i]));
    maxg = fmax(maxg, fabs(gm[i]));
  }
  if (B > 1) /* one row: softmax over one column has no gradient */
    assert_true(maxg > 1e-3);
  assert_true(maxerr <= 1e-4 * maxg + 1e-4);
  free(gu);
  free(gm);
  free(ue);
  free(me);
  free(lq);
  free(key);
  free(due);
  free(dme);
  loss_ws_free(w);
  fx_free(&f);
}

static void test_distinct_equals_naive(void **state)
{
  static const struct {
    double t, l2;
    int hits, logq;
  } cases[] = {{1.0, 0.0, 0, 0}, {0.5, 0.0, 0, 0}, {1.0, 0.1, 0, 0},
               {1.0, 0.0, 1, 0}, {1.0, 0.0, 0, 1}, {2.0, 0.05, 1, 1},
               {0.7, 0.0, 1, 1}};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    struct loss_opts o = {cases[c].t, cases[c].l2, cases[c].hits};
    check_case(&o, cases[c].logq, 96, 8, 12, 20);  /* many repeats */
    check_case(&o, cases[c].logq, 40, 5, 300, 300); /* few repeats */
    check_case(&o, cases[c].logq, 1, 3, 2, 2);      /* one row */
  }
  /* more users than the tile (160) to cover the tiled accumulation */
  struct loss_opts o = {1.0, 0.01, 1};
  check_case(&o, 1, 700, 4, 400, 90);
}

/* The naive (double) gradient agrees with central differences. */
static void test_naive_finite_differences(void **state)
{
  const size_t B = 12;
  const int d = 4;
  float ue[48], me[48], lq[12];
  int64_t key[12];
  double due[48], dme[48], du2[48], dm2[48];
  for (int i = 0; i < 48; i++) {
    ue[i] = frand();
    me[i] = frand();
  }
  for (size_t i = 0; i < B; i++) {
    key[i] = (int64_t)(i % 5);
    lq[i] = -1.0f - (float)(i % 5) * 0.3f;
  }
  struct loss_opts o = {0.8, 0.05, 1};
  loss_naive(B, d, ue, me, key, lq, &o, due, dme);
  const float h = 1e-2f;
  for (int i = 0; i < 48; i++) {
    float keep = ue[i];
    ue[i] = keep + h;
    double lp = loss_naive(B, d, ue, me, key, lq, &o, du2, dm2);
    ue[i] = keep - h;
    double lm = loss_naive(B, d, ue, me, key, lq, &o, du2, dm2);
    ue[i] = keep;
    double fd = (lp - lm) / ((double)(keep + h) - (double)(keep - h));
    assert_true(fabs(fd - due[i]) < 1e-3 * (1 + fabs(due[i])));
    keep = me[i];
    me[i] = keep + h;
    lp = loss_naive(B, d, ue, me, key, lq, &o, du2, dm2);
    me[i] = keep - h;
    lm = loss_naive(B, d, ue, me, key, lq, &o, du2, dm2);
    me[i] = keep;
    fd = (lp - lm) / ((double)(keep + h) - (double)(keep - h));
    assert_true(fabs(fd - dme[i]) < 1e-3 * (1 + fabs(dme[i])));
  }
}

/* The fast path's gradient agrees with central differences of itself
 * (float, so a coarser tolerance). */
static void test_fast_finite_differences(void **state)
{
  struct fx f;
  fx_make(&f, 50, 6, 8, 10, 0.5f);
  struct loss_ws *w = loss_ws_new(50, 8, 10, 6);
  struct loss_opts o = {1.0, 0.02, 1};
  loss_ws_group(w, f.ur, f.mr, 50, f.logq);
  gather(w, &f);
  loss_distinct(w, &o, 1);
  float *g = malloc(w->nu * 6 * sizeof(float));
  memcpy(g, w->dU, w->nu * 6 * sizeof(float));
  for (size_t i = 0; i < w->nu * 6; i++) {
    float keep = w->U[i];
    w->U[i] = keep + 0.01f;
    double lp = loss_distinct(w, &o, 0);
    w->U[i] = keep - 0.01f;
    double lm = loss_distinct(w, &o, 0);
    w->U[i] = keep;
    double fd = (lp - lm) / 0.02;
    assert_true(fabs(fd - g[i]) < 2e-2 * (1 + fabs(g[i])));
  }
  free(g);
  loss_ws_free(w);
  fx_free(&f);
}

static void test_group(void **state)
{
  int32_t ur[] = {5, 3, 5, 5, 0, 3};
  int32_t mr[] = {2, 2, 7, 2, 7, 1};
  struct loss_ws *w = loss_ws_new(8, 6, 8, 2);
  loss_ws_group(w, ur, mr, 6, NULL);
  assert_int_equal(w->nu, 3);
  assert_int_equal(w->nm, 3);
  assert_int_equal(w->urows[0], 5);
  assert_int_equal(w->urows[1], 3);
  assert_int_equal(w->urows[2], 0);
  assert_true(w->un[0] == 3.0f && w->un[1] == 2.0f && w->un[2] == 1.0f);
  assert_true(w->mc[0] == 3.0f && w->mc[1] == 2.0f && w->mc[2] == 1.0f);
  /* pairs: (u0,m0)x2, (u0,m1), (u1,m0), (u1,m2), (u2,m1) */
  assert_int_equal(w->np, 5);
  assert_int_equal(w->pu[0], 0);
  assert_int_equal(w->pm[0], 0);
  assert_true(w->pn[0] == 2.0f);
  for (size_t p = 1; p < w->np; p++)
    assert_true(w->pu[p] > w->pu[p - 1] ||
                (w->pu[p] == w->pu[p - 1] && w->pm[p] > w->pm[p - 1]));
  assert_true(fabsf(w->mbias[0] - logf(3.0f)) < 1e-6f);
  /* maps are reset: grouping again gives the same */
  loss_ws_group(w, ur, mr, 6, NULL);
  assert_int_equal(w->nu, 3);
  assert_int_equal(w->np, 5);
  loss_ws_free(w);
  loss_ws_free(NULL);
}

static void test_stability_and_bad_args(void **state)
{
  struct fx f;
  fx_make(&f, 64, 4, 10, 10, 300.0f); /* logits in the 1e5 range */
  struct loss_ws *w = loss_ws_new(64, 10, 10, 4);
  struct loss_opts o = {1.0, 0.0, 1};
  loss_ws_group(w, f.ur, f.mr, 64, NULL);
  gather(w, &f);
  double l = loss_distinct(w, &o, 1);
  assert_true(isfinite(l) && l >= 0);
  for (size_t i = 0; i < w->nu * 4; i++)
    assert_true(isfinite(w->dU[i]));
  loss_ws_free(w);
  fx_free(&f);
  assert_null(loss_ws_new(0, 10, 10, 4));
  assert_null(loss_ws_new(10, 10, 10, 0));
  /* an empty batch has zero loss */
  w = loss_ws_new(4, 3, 3, 2);
  loss_ws_group(w, NULL, NULL, 0, NULL);
  assert_true(loss_distinct(w, &o, 1) == 0.0);
  loss_ws_free(w);
}

/* loss_distinct_users over ranges that partition the users (one, two and
 * five ranks, an empty range included, L2 on the movies in one part) adds
 * up to loss_distinct: the same loss, each dU row bit for bit from its
 * owner, dM as the sum of the parts; and the full range is loss_distinct
 * bit for bit. */
static void test_user_ranges_add_up(void **state)
{
  struct loss_opts o = {0.8, 0.05, 1};
  const int d = 6;
  struct fx f;
  fx_make(&f, 700, d, 400, 90, 0.8f);
  struct loss_ws *w = loss_ws_new(700, 400, 90, d);
  assert_non_null(w);
  loss_ws_group(w, f.ur, f.mr, 700, f.logq);
  gather(w, &f);
  const size_t nu = w->nu, nm = w->nm;
  assert_true(nu > 160); /* several tiles */
  double whole = loss_distinct(w, &o, 1);
  float *dU = malloc(nu * d * sizeof(float)), *dM = malloc(nm * d * sizeof(float));
  memcpy(dU, w->dU, nu * d * sizeof(float));
  memcpy(dM, w->dM, nm * d * sizeof(float));
  assert_true(loss_distinct_users(w, &o, 1, 0, nu, 1) == whole);
  assert_memory_equal(dU, w->dU, nu * d * sizeof(float));
  assert_memory_equal(dM, w->dM, nm * d * sizeof(float));
  static const int parts[] = {1, 2, 5, 800};
  for (size_t c = 0; c < sizeof(parts) / sizeof(parts[0]); c++) {
    int n = parts[c];
    double sum = 0;
    double *gm = calloc(nm * d, sizeof(double));
    for (int r = 0; r < n; r++) {
      size_t u0 = nu * r / n, u1 = nu * (r + 1) / n;
      memset(w->dU, 0xff, nu * d * sizeof(float)); /* rows not ours: NaN */
      sum += loss_distinct_users(w, &o, 1, u0, u1, r == n - 1);
      assert_memory_equal(dU + u0 * d, w->dU + u0 * d,
                          (u1 - u0) * d * sizeof(float));
      for (size_t i = 0; i < nm * d; i++)
        gm[i] += w->dM[i];
    }
    assert_true(fabs(sum - whole) <= 1e-9 * fabs(whole));
    for (size_t i = 0; i < nm * d; i++)
      assert_true(fabs(gm[i] - dM[i]) <= 1e-5 * (1 + fabs(dM[i])));
    free(gm);
  }
  free(dU);
  free(dM);
  loss_ws_free(w);
  fx_free(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_distinct_equals_naive),
      cmocka_unit_test(test_naive_finite_differences),
      cmocka_unit_test(test_fast_finite_differences),
      cmocka_unit_test(test_group),
      cmocka_unit_test(test_stability_and_bad_args),
      cmocka_unit_test(test_user_ranges_add_up),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

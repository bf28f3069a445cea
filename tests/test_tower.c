/*
 * test_tower.c - model/tower: forward against a hand computation, backward
 * as the exact transpose of forward, and a finite-difference gradient check
 * of towers + in-batch loss with respect to every table (id and feature
 * embeddings), as STYLE.md asks of the model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/loss.h"
#include "model/model_internal.h"
#include "model/tower.h"
#include "testutil.h"

static uint64_t rs = 777;
static float frand(void)
{
  rs = rs * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rs >> 40) / 16777216.0) * 2.0f - 1.0f;
}

/* 5 users, 6 movies; vocab sizes age 3, gender 2, occ 4, genre 3, year 2 */
static const size_t NV[MODEL_NFEAT] = {3, 2, 4, 3, 2};
static const int32_t UF[6 * 3] = {0, 0, 0, 1, 2, 3, 2, 1, 0, 3, 2, 4,
                                  1, 1, 1, 0, 2, 2};
static const int32_t MY[7] = {0, 1, 2, 0, 1, 2, 1};
static const int32_t GO[8] = {0, 0, 2, 3, 3, 6, 7, 8};
static const int32_t GE[8] = {1, 2, 3, 1, 2, 3, 2, 0};

static void setup(struct model_layout *L, struct model_feats *F, int d,
                  int feat, float **params)
{
  model_layout_init(L, d, 5, 6, NV, feat);
  F->user_feat = UF;
  F->movie_year = MY;
  F->genre_off = GO;
  F->genre = GE;
  *params = malloc(L->n_params * sizeof(float));
  for (size_t i = 0; i < L->n_params; i++)
    (*params)[i] = frand();
}

static void test_layout(void **state)
{
  struct model_layout L;
  model_layout_init(&L, 4, 5, 6, NV, 1);
  assert_int_equal(L.rows[TAB_USER], 6);
  assert_int_equal(L.rows[TAB_MOVIE], 7);
  assert_int_equal(L.rows[TAB_AGE], 4);
  assert_int_equal(L.rows[TAB_YEAR], 3);
  assert_int_equal(L.off[TAB_MOVIE], 24);
  assert_int_equal(L.n_params, 4 * (6 + 7 + 4 + 3 + 5 + 4 + 3));
  model_layout_init(&L, 4, 5, 6, NV, 0);
  assert_int_equal(L.n_params, 4 * 13);
  assert_int_equal(L.rows[TAB_GENRE], 0);
}

static void test_forward_by_hand(void **state)
{
  struct model_layout L;
  struct model_feats F;
  float *p;
  const int d = 3;
  setup(&L, &F, d, 1, &p);
  int32_t rows[3] = {1, 3, 0};
  float out[9];
  tower_forward(TOWER_USER, &L, p, &F, 1, rows, 3, out);
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < d; k++) {
      int r = rows[i];
      float e = p[L.off[TAB_USER] + r * d + k] +
                p[L.off[TAB_AGE] + UF[3 * r] * d + k] +
                p[L.off[TAB_GENDER] + UF[3 * r + 1] * d + k] +
                p[L.off[TAB_OCC] + UF[3 * r + 2] * d + k];
      assert_true(fabsf(out[i * d + k] - e) < 1e-6f);
    }
  int32_t mrows[3] = {4, 3, 1}; /* 3 genres, 0 genres, 2 genres */
  tower_forward(TOWER_MOVIE, &L, p, &F, 1, mrows, 3, out);
  for (int k = 0; k < d; k++) {
    float g = (p[L.off[TAB_GENRE] + 1 * d + k] + p[L.off[TAB_GENRE] + 2 * d + k] +
               p[L.off[TAB_GENRE] + 3 * d + k]) / 3.0f;
    float e = p[L.off[TAB_MOVIE] + 4 * d + k] + p[L.off[TAB_YEAR] + 1 * d + k] + g;
    assert_true(fabsf(out[k] - e) < 1e-5f);
    e = p[L.off[TAB_MOVIE] + 3 * d + k] + p[L.off[TAB_YEAR] + 0 * d + k];
    assert_true(fabsf(out[d + k] - e) < 1e-6f);
  }
  /* features off: the id embedding only */
  tower_forward(TOWER_MOVIE, &L, p, &F, 0, mrows, 1, out);
  for (int k = 0; k < d; k++)
    assert_true(out[k] == p[L.off[TAB_MOVIE] + 4 * d + k]);
  free(p);
}

/* backward is the transpose: <R, forward(P)> is linear in P, so its
 * gradient is backward(R) exactly. */
static void test_backward_is_transpose(void **state)
{
  struct model_layout L;
  struct model_feats F;
  float *p;
  const int d = 2;
  setup(&L, &F, d, 1, &p);
  int32_t rows[4] = {2, 5, 2, 1};
  float R[8], out[8];
  for (int i = 0; i < 8; i++)
    R[i] = frand();
  for (int which = 0; which < 2; which++) {
    float *g = calloc(L.n_params, sizeof(float));
    if (which)
      tower_backward(TOWER_MOVIE, &L, &F, 1, rows, 4, R, g);
    else
      tower_backward(TOWER_USER, &L, &F, 1, rows, 4, R, g);
    for (size_t i = 0; i < L.n_params; i++) {
      double v[2];
      for (int s = 0; s < 2; s++) {
        float keep = p[i];
        p[i] = keep + (s ? -0.5f : 0.5f);
        if (which)
          tower_forward(TOWER_MOVIE, &L, p, &F, 1, rows, 4, out);
        else
          tower_forward(TOWER_USER, &L, p, &F, 1, rows, 4, out);
        p[i] = keep;
        v[s] = 0;
        for (int k = 0; k < 8; k++)
          v[s] += (double)R[k] * out[k];
      }
      assert_true(fabs((v[0] - v[1]) - g[i]) < 1e-4);
    }
    free(g);
  }
  free(p);
}

/* Loss of the whole forward (towers + in-batch softmax) at params p. */
static double full_loss(const struct model_layout *L,
                        const struct model_feats *F, const float *p,
                        struct loss_ws *w, const struct loss_opts *o,
                        float *grad)
{
  tower_forward(TOWER_USER, L, p, F, 1, w->urows, w->nu, w->U);
  tower_forward(TOWER_MOVIE, L, p, F, 1, w->mrows, w->nm, w->M);
  double l = loss_distinct(w, o, grad != NULL);
  if (grad) {
    tower_backward(TOWER_USER, L, F, 1, w->urows, w->nu, w->dU, grad);
    tower_backward(TOWER_MOVIE, L, F, 1, w->mrows, w->nm, w->dM, grad);
  }
  return l;
}

static void test_gradient_check_full(void **state)
{
  struct model_layout L;
  struct model_feats F;
  float *p;
  const int d = 3;
  setup(&L, &F, d, 1, &p);
  for (size_t i = 0; i < L.n_params; i++)
    p[i] *= 0.5f;
  int32_t ur[10] = {1, 2, 3, 4, 5, 1, 2, 3, 1, 5};
  int32_t mr[10] = {1, 2, 3, 4, 5, 6, 4, 4, 2, 1};
  float logq[7] = {0, -1, -2, -1.5f, -0.5f, -3, -1};
  struct loss_ws *w = loss_ws_new(10, 6, 7, d);
  loss_ws_group(w, ur, mr, 10, logq);
  struct loss_opts o = {0.9, 0.03, 1};
  float *g = calloc(L.n_params, sizeof(float));
  full_loss(&L, &F, p, w, &o, g);
  size_t checked = 0;
  for (size_t i = 0; i < L.n_params; i++) {
    float keep = p[i];
    p[i] = keep + 0.01f;
    double lp = full_loss(&L, &F, p, w, &o, NULL);
    p[i] = keep - 0.01f;
    double lm = full_loss(&L, &F, p, w, &o, NULL);
    p[i] = keep;
    double fd = (lp - lm) / 0.02;
    assert_true(fabs(fd - g[i]) < 1e-2 * (1 + fabs(g[i])));
    checked += g[i] != 0.0f;
  }
  assert_true(checked > L.n_params / 2); /* the check saw real gradients */
  free(g);
  free(p);
  loss_ws_free(w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_forward_by_hand),
      cmocka_unit_test(test_backward_is_transpose),
      cmocka_unit_test(test_gradient_check_full),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

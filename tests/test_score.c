/*
 * test_score.c - model/score: top-k selection against a full sort (ties,
 * masks, k beyond n), model_recommend against a naive dot product with
 * exclusions, model_score_users, and bad input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/score.h"
#include "model_fixture.h"
#include "testutil.h"

static const float *cmp_sc;
static int cmp_desc(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  if (cmp_sc[x] != cmp_sc[y])
    return cmp_sc[x] > cmp_sc[y] ? -1 : 1;
  return (x > y) - (x < y);
}

static void test_topk_vs_sort(void **state)
{
  uint64_t r = 3;
  for (int it = 0; it < 200; it++) {
    size_t n = 1 + fx_next(&r) % 300, k = fx_next(&r) % 40;
    float *sc = malloc(n * sizeof(float));
    int64_t *all = malloc(n * sizeof(int64_t)), *top = malloc((k + 1) * 8);
    size_t live = 0;
    for (size_t i = 0; i < n; i++) {
      sc[i] = (float)(fx_next(&r) % 20); /* many ties */
      if (fx_next(&r) % 10 == 0)
        sc[i] = -INFINITY; /* masked */
      else
        all[live++] = (int64_t)i;
    }
    cmp_sc = sc;
    qsort(all, live, sizeof(int64_t), cmp_desc);
    size_t got = score_topk(sc, n, k, top);
    assert_int_equal(got, k < live ? k : live);
    for (size_t i = 0; i < got; i++)
      assert_int_equal(top[i], all[i]);
    free(sc);
    free(all);
    free(top);
  }
  assert_int_equal(score_topk(NULL, 0, 5, NULL), 0);
}

static void test_recommend(void **state)
{
  unsigned char *img;
  size_t len;
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  assert_int_equal(fx_image(5, 8, 40, 1, 0, 21, &img, &len), 0);
  assert_int_equal(model_load_buffer(img, len, &m, &e), 0);
  free(img);
  size_t nm = model_n_movies(m);
  float *scratch = malloc(model_scratch_size(m) * sizeof(float));
  float *all = malloc(nm * sizeof(float));
  int64_t uid = 30;
  assert_int_equal(model_score_users(m, &uid, 1, all, &e), 0);
  /* naive: highest score first, ties lower id */
  int64_t *order = malloc(nm * sizeof(int64_t));
  for (size_t i = 0; i < nm; i++)
    order[i] = (int64_t)i;
  cmp_sc = all;
  qsort(order, nm, sizeof(int64_t), cmp_desc);
  int64_t ids[50];
  float sc[50];
  int got = model_recommend(m, uid, 10, NULL, 0, ids, sc, scratch, &e);
  assert_int_equal(got, 10);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(ids[i], model_movie_id(m, (size_t)order[i]));
    assert_true(fabsf(sc[i] - all[order[i]]) < 1e-5f);
  }
  /* exclude the first three and an unknown id (ascending) */
  int64_t ex[4] = {ids[0], ids[1], ids[2], 1000};
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      if (ex[j] < ex[i]) {
        int64_t t = ex[i];
        ex[i] = ex[j];
        ex[j] = t;
      }
  int64_t top3[3] = {ids[0], ids[1], ids[2]};
  got = model_recommend(m, uid, 5, ex, 4, ids, sc, scratch, &e);
  assert_int_equal(got, 5);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(ids[i], model_movie_id(m, (size_t)order[i + 3]));
    for (int j = 0; j < 3; j++)
      assert_true(ids[i] != top3[j]);
  }
  /* more than the catalogue: all of it, out_scores may be NULL */
  got = model_recommend(m, uid, 50, ex, 4, ids, NULL, scratch, &e);
  assert_int_equal(got, (int)nm - 3);
  /* bad input */
  assert_int_equal(model_recommend(m, 31, 5, NULL, 0, ids, sc, scratch, &e),
                   HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "31"));
  assert_int_equal(model_recommend(m, uid, 0, NULL, 0, ids, sc, scratch, &e),
                   HV_EINVAL);
  assert_int_equal(model_recommend(m, uid, 5, NULL, 0, NULL, sc, scratch, &e),
                   HV_EINVAL);
  assert_int_equal(model_recommend(m, uid, 5, NULL, 0, ids, sc, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(model_recommend(m, uid, 5, NULL, 2, ids, sc, scratch, &e),
                   HV_EINVAL);
  assert_int_equal(model_recommend(NULL, uid, 5, NULL, 0, ids, sc, scratch,
                                   &e),
                   HV_EINVAL);
  assert_int_equal(model_scratch_size(NULL), 0);
  /* several users at once (unknown -> OOV row) */
  int64_t us[3] = {10, 999, 80};
  float *many = malloc(3 * nm * sizeof(float));
  assert_int_equal(model_score_users(m, us, 3, many, &e), 0);
  assert_int_equal(model_score_users(m, us, 3, NULL, &e), HV_EINVAL);
  got = model_recommend(m, 80, 1, NULL, 0, ids, sc, scratch, &e);
  assert_int_equal(got, 1);
  float best = -INFINITY;
  for (size_t i = 0; i < nm; i++)
    best = fmaxf(best, many[2 * nm + i]);
  assert_true(fabsf(best - sc[0]) < 1e-5f);
  free(many);
  free(order);
  free(all);
  model_free(m);
  free(scratch);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_topk_vs_sort),
      cmocka_unit_test(test_recommend),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

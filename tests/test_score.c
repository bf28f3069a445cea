/*
 * test_score.c - model/score: packed dot products against a naive double
 * loop (every d and n around the block and register widths), top-k
 * selection against a full sort (ties, masks, NaN, +/-INFINITY, sorted and
 * constant inputs, k around the class-bound limit and beyond n),
 * model_recommend against a naive dot product with exclusions,
 * model_score_users, the serving memo of top-k (model_recommend_cached:
 * same answers as model_recommend on misses, hits, n beyond k, exclusions
 * and from racing threads), and bad input.
 */
#include <math.h>
#include <pthread.h>
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
  struct hv_err e = {0};
  struct hv_model *m = fx_model(5, 8, 40, 1, 21);
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


/* ---- packed dot products ------------------------------------------------ */

static void test_dots_vs_naive(void **state)
{
  static const int dims[] = {1, 2, 3, 5, 7, 15, 16, 17, 31, 32, 33, 64, 65};
  static const size_t rows[] = {1, 2, 15, 16, 17, 63, 64, 65, 127, 130, 1682};
  uint64_t r = 11;
  for (size_t a = 0; a < sizeof(dims) / sizeof(dims[0]); a++)
    for (size_t b = 0; b < sizeof(rows) / sizeof(rows[0]); b++) {
      int d = dims[a];
      size_t n = rows[b];
      float *M = malloc(n * (size_t)d * sizeof(float));
      float *u = malloc((size_t)d * sizeof(float));
      float *out = malloc((n + 1) * sizeof(float));
      for (size_t i = 0; i < n * (size_t)d; i++)
        M[i] = (float)((int)(fx_next(&r) % 2001) - 1000) / 250.0f;
      for (int k = 0; k < d; k++)
        u[k] = (float)((int)(fx_next(&r) % 2001) - 1000) / 250.0f;
      out[n] = 12345.0f; /* canary: nothing is written past n */
      float *P = score_pack(M, n, d);
      assert_non_null(P);
      assert_int_equal(score_pack_floats(n, d),
                       (n + SCORE_BLOCK - 1) / SCORE_BLOCK * SCORE_BLOCK * d);
      score_dots(P, n, d, u, out);
      for (size_t i = 0; i < n; i++) {
        double want = 0, mag = 0;
        for (int k = 0; k < d; k++) {
          want += (double)M[i * d + k] * u[k];
          mag += fabs((double)M[i * d + k] * u[k]);
        }
        if (fabs(out[i] - want) > 1e-6 * mag + 1e-6)
          fail_msg("d %d n %zu row %zu: %g, want %g", d, n, i,
                   (double)out[i], want);
      }
      assert_true(out[n] == 12345.0f);
      free(P);
      free(M);
      free(u);
      free(out);
    }
}

static void test_pack_bad(void **state)
{
  float one = 1.0f;
  assert_null(score_pack(NULL, 4, 2));
  assert_null(score_pack(&one, 0, 1));
  assert_null(score_pack(&one, 1, 0));
  assert_null(score_pack(&one, 1, -3));
  assert_int_equal(score_pack_floats(0, 8), 0);
  assert_int_equal(score_pack_floats(5, 0), 0);
  assert_int_equal(score_pack_floats(1, 3), SCORE_BLOCK * 3);
  assert_int_equal(score_pack_floats(SCORE_BLOCK + 1, 2), 4 * SCORE_BLOCK);
  float out = 7.0f;
  score_dots(NULL, 0, 4, &one, &out); /* n = 0 touches nothing */
  assert_true(out == 7.0f);
}

/* ---- top-k: table of score shapes -------------------------------------- */

enum shape { RANDOM, TIES, ASCENDING, DESCENDING, CONSTANT, ALL_MASKED,
             SPECIALS, NAN_TAIL, SHAPES };

static float shape_value(enum shape sh, size_t i, size_t n, uint64_t *r)
{
  switch (sh) {
  case RANDOM: return (float)(fx_next(r) % 1000000) / 1000.0f - 500.0f;
  case TIES: return (float)(fx_next(r) % 7);
  case ASCENDING: return (float)i; /* every entry beats the threshold */
  case DESCENDING: return (float)(n - i);
  case CONSTANT: return 3.0f;
  case ALL_MASKED: return -INFINITY;
  case NAN_TAIL: /* NaN last in its class: must not poison the bound */
    return i + 64 >= n && i % 2 ? NAN : (float)(fx_next(r) % 1000);
  default: break;
  }
  switch (fx_next(r) % 6) { /* SPECIALS */
  case 0: return NAN;
  case 1: return -INFINITY;
  case 2: return INFINITY;
  default: return (float)(fx_next(r) % 13) - 6.0f;
  }
}

static void check_topk(const float *sc, size_t n, size_t k, const char *what)
{
  int64_t *all = malloc((n + 1) * sizeof(int64_t));
  int64_t *top = malloc((k + 1) * sizeof(int64_t));
  size_t live = 0;
  for (size_t i = 0; i < n; i++)
    if (sc[i] != -INFINITY && !isnan(sc[i])) /* never returned */
      all[live++] = (int64_t)i;
  cmp_sc = sc;
  qsort(all, live, sizeof(int64_t), cmp_desc);
  size_t got = score_topk(sc, n, k, top);
  if (got != (k < live ? k : live))
    fail_msg("%s n %zu k %zu: %zu returned, want %zu", what, n, k, got,
             k < live ? k : live);
  for (size_t i = 0; i < got; i++)
    if (top[i] != all[i])
      fail_msg("%s n %zu k %zu: rank %zu is %lld, want %lld", what, n, k, i,
               (long long)top[i], (long long)all[i]);
  free(all);
  free(top);
}

static void test_topk_shapes(void **state)
{
  static const char *names[SHAPES] = {"random", "ties", "ascending",
                                      "descending", "constant", "masked",
                                      "specials", "nan-tail"};
  static const size_t ns[] = {1, 15, 16, 63, 64, 65, 100, 257, 1682};
  static const size_t ks[] = {1, 2, 10, 15, 16, 17, 40, 300, 2000};
  uint64_t r = 5;
  for (int sh = 0; sh < SHAPES; sh++)
    for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
      for (size_t b = 0; b < sizeof(ks) / sizeof(ks[0]); b++) {
        size_t n = ns[a];
        float *sc = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
          sc[i] = shape_value((enum shape)sh, i, n, &r);
        check_topk(sc, n, ks[b], names[sh]);
        free(sc);
      }
}

static void test_topk_bad(void **state)
{
  float sc[3] = {1, 2, 3};
  int64_t idx[3] = {-1, -1, -1};
  assert_int_equal(score_topk(sc, 3, 0, idx), 0);
  assert_int_equal(score_topk(NULL, 3, 2, idx), 0);
  assert_int_equal(score_topk(sc, 3, 2, NULL), 0);
  assert_int_equal(score_topk(sc, 0, 2, idx), 0);
  assert_int_equal(idx[0], -1); /* untouched */
}

/* model_recommend on a ml-100k-sized model against a naive double dot
 * product: the returned scores match, every returned score is at least
 * every other (within rounding), and model_score_users agrees bit for bit
 * (same kernel). */
static void test_recommend_large(void **state)
{
  static const int dims[] = {32, 64, 7};
  for (size_t a = 0; a < sizeof(dims) / sizeof(dims[0]); a++) {
    unsigned char *img;
    size_t len;
    struct hv_model *m = NULL;
    struct hv_err e = {0};
    int d = dims[a];
    assert_int_equal(fx_image(d, 30, 1682, a == 2, 0, 77 + a, &img, &len),
                     0);
    assert_int_equal(model_load_buffer(img, len, &m, &e), 0);
    free(img);
    size_t nm = model_n_movies(m);
    float *scratch = malloc(model_scratch_size(m) * sizeof(float));
    float *row = malloc(nm * sizeof(float));
    double *naive = malloc(nm * sizeof(double));
    for (size_t u = 0; u < model_n_users(m); u += 7) {
      int64_t uid = model_user_id(m, u), ids[10];
      float sc[10];
      const float *uv = m->user_vec + (u + 1) * (size_t)d;
      double mag = 0;
      for (size_t i = 0; i < nm; i++) {
        const float *mv = m->movie_vec + (i + 1) * (size_t)d;
        naive[i] = 0;
        for (int k = 0; k < d; k++) {
          naive[i] += (double)mv[k] * uv[k];
          mag = fmax(mag, fabs((double)mv[k] * uv[k]));
        }
      }
      double tol = 1e-6 * mag * d + 1e-6;
      assert_int_equal(model_recommend(m, uid, 10, NULL, 0, ids, sc, scratch,
                                       &e),
                       10);
      assert_int_equal(model_score_users(m, &uid, 1, row, &e), 0);
      for (int i = 0; i < 10; i++) {
        size_t r = (size_t)(ids[i] - 1) / 2; /* fixture ids 1, 3, 5, ... */
        assert_true(fabs(sc[i] - naive[r]) <= tol);
        assert_true(sc[i] == row[r]);
        if (i)
          assert_true(sc[i] <= sc[i - 1]);
      }
      for (size_t i = 0; i < nm; i++) {
        int in = 0;
        for (int j = 0; j < 10; j++)
          in |= ids[j] == model_movie_id(m, i);
        if (!in)
          assert_true(naive[i] <= naive[(ids[9] - 1) / 2] + 2 * tol);
      }
    }
    free(naive);
    free(row);
    free(scratch);
    model_free(m);
  }
}

/* ---- the serving memo of top k -------------------------------------------- */

/* model_recommend_cached(c) must answer exactly as model_recommend. */
static void expect_same(const struct hv_model *m, struct hv_topcache *c,
                        int64_t uid, int n, const int64_t *ex, size_t n_ex,
                        float *scratch)
{
  /* n up to the deepest memo, MODEL_TOPCACHE_MAX_K */
  static int64_t a[MODEL_TOPCACHE_MAX_K], b[MODEL_TOPCACHE_MAX_K];
  static float sa[MODEL_TOPCACHE_MAX_K], sb[MODEL_TOPCACHE_MAX_K];
  struct hv_err e = {0};
  assert_true(n <= MODEL_TOPCACHE_MAX_K);
  int ga = model_recommend(m, uid, n, ex, n_ex, a, sa, scratch, &e);
  int gb = model_recommend_cached(m, c, uid, n, ex, n_ex, b, sb, scratch, &e);
  assert_int_equal(ga, gb);
  for (int i = 0; i < ga; i++) {
    assert_int_equal(a[i], b[i]);
    assert_true(sa[i] == sb[i]);
  }
}

static void test_topcache(void **state)
{
  struct hv_err e = {0};
  /* constant features make many users tie: the id tie rule is exercised */
  struct hv_model *m = fx_model(8, 50, 300, 1, 5);
  float *scratch = malloc(model_scratch_size(m) * sizeof(float));
  struct hv_topcache *c = model_topcache_new(m, 20);
  assert_non_null(c);
  assert_int_equal(model_topcache_users(c), 0);
  size_t nu = model_n_users(m);
  /* misses fill, hits copy: n below, at and above k, twice each */
  static const int ns[] = {1, 7, 20, 21, 60};
  for (int pass = 0; pass < 2; pass++)
    for (size_t u = 0; u < nu; u++)
      for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++)
        expect_same(m, c, model_user_id(m, u), ns[j], NULL, 0, scratch);
  assert_int_equal(model_topcache_users(c), nu);
  /* exclusions bypass the memo */
  int64_t top[3], ex[2];
  assert_int_equal(model_recommend(m, model_user_id(m, 3), 3, NULL, 0, top,
                                   NULL, scratch, &e),
                   3);
  ex[0] = top[0] < top[1] ? top[0] : top[1];
  ex[1] = top[0] < top[1] ? top[1] : top[0];
  expect_same(m, c, model_user_id(m, 3), 5, ex, 2, scratch);
  int64_t ids[5];
  assert_int_equal(model_recommend_cached(m, c, model_user_id(m, 3), 5, ex,
                                          2, ids, NULL, scratch, &e),
                   5);
  for (int i = 0; i < 5; i++)
    assert_true(ids[i] != ex[0] && ids[i] != ex[1]);
  /* unknown user, bad n, no cache */
  assert_int_equal(model_recommend_cached(m, c, 999999, 5, NULL, 0, ids, NULL,
                                          scratch, &e),
                   HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "999999"));
  assert_int_equal(model_recommend_cached(m, c, model_user_id(m, 0), 0, NULL,
                                          0, ids, NULL, scratch, &e),
                   HV_EINVAL);
  assert_int_equal(model_recommend_cached(m, c, model_user_id(m, 0), 5, NULL,
                                          0, NULL, NULL, scratch, &e),
                   HV_EINVAL);
  expect_same(m, NULL, model_user_id(m, 4), 5, NULL, 0, scratch);
  /* k bounds */
  assert_null(model_topcache_new(m, 0));
  assert_null(model_topcache_new(m, MODEL_TOPCACHE_MAX_K + 1));
  assert_null(model_topcache_new(NULL, 5));
  /* the deepest memo on a catalogue it cannot fill (300 movies): entries
   * hold what there is */
  struct hv_topcache *big = model_topcache_new(m, MODEL_TOPCACHE_MAX_K);
  assert_non_null(big);
  for (int pass = 0; pass < 2; pass++) {
    expect_same(m, big, model_user_id(m, 9), MODEL_TOPCACHE_MAX_K, NULL, 0,
                scratch);
    expect_same(m, big, model_user_id(m, 9), 300, NULL, 0, scratch);
    expect_same(m, big, model_user_id(m, 9), 7, NULL, 0, scratch);
  }
  assert_int_equal(model_topcache_users(big), 1);
  model_topcache_free(big);
  free(scratch);
  model_free(m);
  /* a memo as deep as retrieve-then-rank's candidates (100 of 1500
   * movies; and the deepest, full): misses fill, hits copy, n at and
   * around k */
  m = fx_model(8, 30, 1500, 1, 6);
  scratch = malloc(model_scratch_size(m) * sizeof(float));
  static const int ks[] = {100, MODEL_TOPCACHE_MAX_K};
  for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
    struct hv_topcache *deep = model_topcache_new(m, ks[i]);
    assert_non_null(deep);
    const int dn[] = {1, 10, ks[i] - 1, ks[i], ks[i] + 1};
    for (int pass = 0; pass < 2; pass++)
      for (size_t u = 0; u < model_n_users(m); u += 3)
        for (size_t j = 0; j < sizeof(dn) / sizeof(dn[0]); j++)
          if (dn[j] <= MODEL_TOPCACHE_MAX_K)
            expect_same(m, deep, model_user_id(m, u), dn[j], NULL, 0,
                        scratch);
    assert_int_equal(model_topcache_users(deep),
                     (model_n_users(m) + 2) / 3);
    model_topcache_free(deep);
  }
  model_topcache_free(c);
  model_topcache_free(NULL);
  assert_int_equal(model_topcache_users(NULL), 0);
  free(scratch);
  model_free(m);
}

/* The per-user record memo: a record stored once and read back; a second
 * store, an unknown user and bad arguments are refused. */
static void test_usermemo(void **state)
{
  (void)state;
  struct hv_model *m = fx_model(8, 20, 30, 1, 3);
  struct hv_usermemo *c = model_usermemo_new(m, 24);
  assert_non_null(c);
  int64_t u = model_user_id(m, 4), v = model_user_id(m, 5);
  char rec[24] = "twenty-three bytes+NUL", other[24] = "another record";
  assert_null(model_usermemo_get(c, u));
  assert_int_equal(model_usermemo_put(c, u, rec), 1);
  assert_int_equal(model_usermemo_put(c, u, other), 0); /* stored once */
  assert_memory_equal(model_usermemo_get(c, u), rec, 24);
  assert_null(model_usermemo_get(c, v));
  assert_int_equal(model_usermemo_users(c), 1);
  assert_int_equal(model_usermemo_put(c, 999999, rec), 0);
  assert_null(model_usermemo_get(c, 999999));
  assert_int_equal(model_usermemo_put(c, v, NULL), 0);
  assert_int_equal(model_usermemo_put(NULL, v, rec), 0);
  assert_null(model_usermemo_get(NULL, v));
  assert_int_equal(model_usermemo_users(NULL), 0);
  assert_null(model_usermemo_new(NULL, 24));
  assert_null(model_usermemo_new(m, 0));
  assert_null(model_usermemo_new(m, (1u << 20) + 1));
  model_usermemo_free(c);
  model_usermemo_free(NULL);
  model_free(m);
}

/* Threads racing to fill the same users all get model_recommend's answer
 * (run under TSan / ASan in CI's sanitizer build). */
struct race {
  const struct hv_model *m;
  struct hv_topcache *c;
  int seed, bad;
};

static void *race_main(void *arg)
{
  struct race *r = arg;
  float *scratch = malloc(model_scratch_size(r->m) * sizeof(float));
  size_t nu = model_n_users(r->m);
  for (int it = 0; it < 2000 && scratch; it++) {
    int64_t uid = model_user_id(r->m, (size_t)(it * 7 + r->seed) % nu);
    int n = 1 + (it + r->seed) % 12;
    int64_t a[12], b[12];
    struct hv_err e = {0};
    int ga = model_recommend(r->m, uid, n, NULL, 0, a, NULL, scratch, &e);
    int gb = model_recommend_cached(r->m, r->c, uid, n, NULL, 0, b, NULL,
                                    scratch, &e);
    if (ga != gb || memcmp(a, b, (size_t)ga * sizeof(a[0])))
      r->bad++;
  }
  free(scratch);
  return NULL;
}

static void test_topcache_threads(void **state)
{
  struct hv_model *m = fx_model(16, 64, 500, 0, 9);
  struct hv_topcache *c = model_topcache_new(m, 12);
  assert_non_null(c);
  pthread_t th[4];
  struct race r[4];
  for (int i = 0; i < 4; i++) {
    r[i] = (struct race){m, c, i, 0};
    assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(r[i].bad, 0);
  }
  assert_int_equal(model_topcache_users(c), model_n_users(m));
  model_topcache_free(c);
  model_free(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_topk_vs_sort),
      cmocka_unit_test(test_recommend),
      cmocka_unit_test(test_dots_vs_naive),
      cmocka_unit_test(test_pack_bad),
      cmocka_unit_test(test_topk_shapes),
      cmocka_unit_test(test_topk_bad),
      cmocka_unit_test(test_recommend_large),
      cmocka_unit_test(test_topcache),
      cmocka_unit_test(test_topcache_threads),
      cmocka_unit_test(test_usermemo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

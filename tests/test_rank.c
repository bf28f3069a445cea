/*
 * test_rank.c - the ranking model (model/rank.c): the batch forward against
 * the naive oracle, a finite-difference gradient check of every parameter
 * group, training on a planted-structure dataset (beats the global mean,
 * deterministic), the served prediction (model_rank_predict) against the
 * oracle, the model file round trip and refusal of bad task fields, bad
 * input, tracked runs and their metric names, the CLI (train and tune with
 * --task ranking), and on ml-100k (skipped without ../shared/data) the
 * RMSE target (<= 0.90 on the 80/20 seed-42 split).
 */
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/import.h"
#include "model/eval.h"
#include "model/modelfile.h"
#include "model/rank.h"
#include "model_fixture.h"
#include "store/db.h"
#include "testutil.h"
#include "train/dataset.h"
#include "train/trainrun.h"
#include "util/fsutil.h"

/* ---- a planted dataset: rating = 3 + user bias + movie bias +/- 1 by
 * whether the user's cluster (age) matches the movie's (genre) --------- */

enum { PU = 40, PM = 30, PR = PU * 15 };
static int64_t p_rid[PR], p_uid[PR], p_mid[PR], p_ts[PR];
static float p_rating[PR];
static int64_t p_users[PU], p_movies[PM];
static int p_age[PU], p_gender[PU], p_occ[PU], p_year[PM], p_genre[PM];
static size_t p_goff[PM + 1];

static void planted(struct hv_dataset *ds)
{
  static const int ages[3] = {18, 25, 35};
  memset(ds, 0, sizeof(*ds));
  uint64_t r = 7;
  for (int u = 0; u < PU; u++) {
    p_users[u] = u + 1;
    p_age[u] = ages[u % 3];
    p_gender[u] = 1 + u % 2;
    p_occ[u] = u % 5;
  }
  for (int m = 0; m < PM; m++) {
    p_movies[m] = m + 1;
    p_year[m] = 1970 + m;
    p_genre[m] = m % 3;
    p_goff[m + 1] = (size_t)m + 1;
  }
  for (int u = 0; u < PU; u++)
    for (int j = 0; j < 15; j++) {
      int i = u * 15 + j;
      int m = (int)(fx_next(&r) % PM);
      double y = 3.0 + (u % 4 - 1.5) * 0.3 + (m % 5 - 2) * 0.3 +
                 (u % 3 == m % 3 ? 1.0 : -1.0);
      y = y < 1 ? 1 : y > 5 ? 5 : y;
      p_rid[i] = 1 + i;
      p_uid[i] = u + 1;
      p_mid[i] = m + 1;
      p_rating[i] = (float)y;
      p_ts[i] = 1000 + i;
    }
  ds->ratings = (struct ratings_cols){PR, p_rid, p_uid, p_mid, p_rating,
                                      p_ts};
  ds->users = (struct dataset_users){PU, p_users, p_age, p_gender, p_occ, 0};
  ds->movies = (struct dataset_movies){PM, p_movies, p_year, p_goff,
                                       p_genre};
  ds->first_rating_id = 1;
  ds->last_rating_id = PR;
}

static void rank_config(struct train_config *c)
{
  train_config_ranking(c);
  c->dim = 8;
  c->hidden = 8;
  c->batch = 64;
  c->epochs = 30;
  c->lr = 0.01;
  c->l2 = 0.01;
  c->threads = 1;
}

/* ---- a tiny network by hand for the oracle and gradient checks --------- */

struct tiny {
  struct model_layout L;
  struct model_feats F;
  int32_t user_feat[3 * 4], movie_year[5], genre_off[6], genre[6];
  float pop[5];
  float *P;
};

static void tiny_init(struct tiny *t, int hidden, int features)
{
  size_t n_vals[MODEL_NFEAT] = {2, 2, 3, 3, 2};
  memset(t, 0, sizeof(*t));
  model_layout_init(&t->L, 3, 3, 4, n_vals, features);
  model_layout_rank(&t->L, hidden);
  for (int r = 1; r <= 3; r++) {
    t->user_feat[3 * r] = r % 3;
    t->user_feat[3 * r + 1] = 1 + r % 2;
    t->user_feat[3 * r + 2] = r;
  }
  int g = 0;
  for (int m = 1; m <= 4; m++) {
    t->movie_year[m] = m % 3;
    t->genre_off[m] = g;
    for (int k = 0; k < (m % 3); k++)
      t->genre[g++] = 1 + (m + k) % 3;
    t->pop[m] = 0.25f * (float)m;
  }
  t->genre_off[5] = g;
  t->F = (struct model_feats){t->user_feat, t->movie_year, t->genre_off,
                              t->genre};
  t->P = malloc(t->L.n_params * sizeof(float));
  uint64_t s = 3;
  for (size_t i = 0; i < t->L.n_params; i++)
    t->P[i] = (float)((double)(fx_next(&s) % 2001) / 1000.0 - 1.0) * 0.5f;
}

static void test_forward_matches_naive(void **state)
{
  for (int feat = 0; feat < 2; feat++)
    for (int H = 0; H <= 5; H += 5) {
      struct tiny t;
      tiny_init(&t, H, feat);
      struct rank_net n = {&t.L, &t.F, feat, t.pop, 3.5f, 0.0, 0};
      int32_t bu[8] = {1, 2, 3, 0, 1, 2, 3, 1};
      int32_t bm[8] = {1, 2, 3, 4, 0, 4, 1, 1};
      float pred[8];
      struct rank_ws *w = rank_ws_new(8, &t.L);
      assert_non_null(w);
      rank_batch(&n, t.P, bu, bm, NULL, 8, w, NULL, pred);
      for (int i = 0; i < 8; i++)
        assert_float_equal(pred[i], rank_predict_naive(&n, t.P, bu[i], bm[i]),
                           1e-4);
      rank_ws_free(w);
      free(t.P);
    }
  rank_ws_free(NULL);
  struct tiny t;
  tiny_init(&t, 2, 1);
  assert_null(rank_ws_new(0, &t.L));
  free(t.P);
}

/* Finite differences of the loss against the analytic gradient, every
 * parameter (ids, features, biases, MLP) that the batch touches. */
static void test_gradient_check(void **state)
{
  struct tiny t;
  tiny_init(&t, 4, 1);
  struct rank_net n = {&t.L, &t.F, 1, t.pop, 3.0f, 0.05, 0};
  int32_t bu[6] = {1, 2, 3, 1, 0, 2};
  int32_t bm[6] = {1, 2, 3, 4, 2, 0};
  float y[6] = {5, 1, 3, 4, 2, 3};
  struct rank_ws *w = rank_ws_new(6, &t.L);
  float *grad = calloc(t.L.n_params, sizeof(float));
  rank_batch(&n, t.P, bu, bm, y, 6, w, grad, NULL);
  int checked = 0;
  for (size_t i = 0; i < t.L.n_params; i++) {
    const float keep = t.P[i], h = 1e-2f;
    t.P[i] = keep + h;
    double lp = rank_batch(&n, t.P, bu, bm, y, 6, w, NULL, NULL);
    t.P[i] = keep - h;
    double lm = rank_batch(&n, t.P, bu, bm, y, 6, w, NULL, NULL);
    t.P[i] = keep;
    double fd = (lp - lm) / (2.0 * h);
    double tol = 2e-2 * fmax(1.0, fabs(fd));
    if (fabs(fd - grad[i]) > tol)
      fprintf(stderr, "param %zu: fd %g analytic %g\n", i, fd, grad[i]);
    assert_true(fabs(fd - grad[i]) <= tol);
    checked += grad[i] != 0.0f;
  }
  assert_true(checked > 50);
  free(grad);
  rank_ws_free(w);
  free(t.P);
}

static void test_trains_and_predicts(void **state)
{
  struct hv_dataset ds;
  planted(&ds);
  struct train_config c;
  rank_config(&c);
  struct train_result r, r2;
  struct hv_model *m = NULL, *m2 = NULL;
  struct hv_err e = {0};
  assert_int_equal(train_run(&ds, &c, NULL, NULL, &r, &m, &e), 0);
  assert_int_equal(r.task, MODEL_TASK_RANKING);
  assert_int_equal(model_task(m), MODEL_TASK_RANKING);
  assert_true(r.has_test);
  assert_int_equal(r.rank_test.n + r.rank_train.n, PR);
  fprintf(stderr, "planted: test rmse %.3f (mean %.3f), train %.3f\n",
          r.rank_test.rmse, r.rank_baseline.rmse, r.rank_train.rmse);
  assert_true(r.rank_test.rmse < 0.8 * r.rank_baseline.rmse);
  assert_true(r.rank_train.rmse < r.rank_test.rmse + 0.2);
  /* segments: gender M/F and three age buckets, all pairs in two slots */
  size_t seg_total = 0;
  for (int s = 0; s < EVAL_NSEG; s++)
    seg_total += r.rank_test.seg_n[s];
  assert_int_equal(seg_total, 2 * r.rank_test.n);
  assert_true(r.rank_test.seg_n[EVAL_SEG_GENDER + 1] > 0);
  assert_true(isnan(r.rank_test.seg_rmse[EVAL_SEG_AGE_UNKNOWN]));
  /* deterministic with one thread */
  assert_int_equal(train_run(&ds, &c, NULL, NULL, &r2, &m2, &e), 0);
  assert_true(r2.rank_test.rmse == r.rank_test.rmse);
  char h1[65], h2[65];
  model_sha256_hex(m, h1);
  model_sha256_hex(m2, h2);
  (void)h1; /* created_at differs; predictions must not */
  (void)h2;
  /* the served prediction is the oracle's, from the stored parameters */
  struct model_feats F = m->F;
  struct rank_net n = {&m->L, &F, 1, m->pop, (float)m->meta.rank_mean, 0, 0};
  int64_t mids[PM + 1];
  float out[PM + 1], out2[PM + 1];
  for (int k = 0; k < PM; k++)
    mids[k] = k + 1;
  mids[PM] = 999; /* unknown movie: the OOV row */
  for (int64_t u = 1; u <= PU + 1; u++) { /* PU + 1: unknown user */
    assert_int_equal(model_rank_predict(m, u, mids, PM + 1, out, &e), 0);
    assert_int_equal(model_rank_predict(m2, u, mids, PM + 1, out2, &e), 0);
    assert_memory_equal(out, out2, sizeof(out));
    int32_t ur = (int32_t)model_lookup(m->user_ids, m->n_users, u);
    for (int k = 0; k <= PM; k++) {
      int32_t mr = (int32_t)model_lookup(m->movie_ids, m->n_movies, mids[k]);
      assert_float_equal(out[k], rank_predict_naive(&n, m->params, ur, mr),
                         1e-4);
    }
  }
  /* model_rank_evaluate over the whole dataset */
  struct rank_metrics rm;
  assert_int_equal(model_rank_evaluate(&ds, m, &rm, &e), 0);
  assert_int_equal(rm.n, PR);
  assert_true(rm.rmse < r.rank_baseline.rmse);
  ds.first_rating_id = 5000;
  ds.last_rating_id = 6000;
  assert_int_equal(model_rank_evaluate(&ds, m, &rm, &e), HV_ENOTFOUND);
  train_result_free(&r);
  train_result_free(&r2);
  model_free(m2);
  /* file round trip: the same predictions after save and mmap load */
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/r.hvm", dir);
  assert_int_equal(model_save(m, path, &e), 0);
  assert_int_equal(model_load(path, &m2, &e), 0);
  assert_int_equal(model_task(m2), MODEL_TASK_RANKING);
  struct train_config got;
  model_config(m2, &got);
  assert_int_equal(got.hidden, 8);
  assert_int_equal(model_rank_predict(m, 3, mids, PM, out, &e), 0);
  assert_int_equal(model_rank_predict(m2, 3, mids, PM, out2, &e), 0);
  assert_memory_equal(out, out2, PM * sizeof(float));
  model_free(m2);
  /* hostile task fields (checksum re-sealed: the parser must catch it) */
  char *bytes;
  size_t len;
  assert_int_equal(hv_read_file(path, 1 << 24, &bytes, &len, &e), 0);
  static const struct {
    size_t at;
    unsigned char v;
    const char *word;
  } bad[] = {{204, 7, "task"}, {209, 9, "hidden"}, {223, 0x7f, "mean"},
             {230, 1, "reserved"}};
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    unsigned char *img = malloc(len);
    memcpy(img, bytes, len);
    img[bad[k].at] = bad[k].v;
    crypto_hash_sha256(img + len - 32, img, len - 32);
    assert_int_equal(model_load_buffer(img, len, &m2, &e), HV_ECORRUPT);
    assert_non_null(strstr(e.msg, bad[k].word));
    free(img);
  }
  free(bytes);
  tu_rmtree(dir);
  model_free(m);
}

/* Explanations by ablation (model_rank_explain) against the naive
 * oracle run on a copy of the parameters with the group's tables (or the
 * popularity input) zeroed: the same numbers by another path. */
static void test_explain_ablation(void **state)
{
  (void)state;
  struct hv_dataset ds;
  planted(&ds);
  struct train_config c;
  rank_config(&c);
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  assert_int_equal(train_run(&ds, &c, NULL, NULL, NULL, &m, &e), 0);
  const struct model_layout *L = &m->L;
  const size_t np = L->n_params, nm = m->n_movies + 1;
  float *P = malloc(np * sizeof(float)), *zero_pop = calloc(nm, sizeof(float));
  assert_non_null(P);
  assert_non_null(zero_pop);
  struct model_feats F = m->F;
  static const int64_t pairs[][2] = {{1, 1}, {3, 7}, {17, 30}, {40, 2},
                                     {PU + 1, 5}, {2, 999}};
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    float pred, contrib[RANK_NGROUPS];
    assert_int_equal(model_rank_explain(m, pairs[i][0], pairs[i][1], &pred,
                                        contrib, &e), 0);
    float served;
    assert_int_equal(model_rank_predict(m, pairs[i][0], &pairs[i][1], 1,
                                        &served, &e), 0);
    assert_float_equal(pred, served, 1e-4);
    int32_t ur = (int32_t)model_lookup(m->user_ids, m->n_users, pairs[i][0]);
    int32_t mr = (int32_t)model_lookup(m->movie_ids, m->n_movies,
                                       pairs[i][1]);
    for (int g = 0; g < RANK_NGROUPS; g++) {
      memcpy(P, m->params, np * sizeof(float));
      struct rank_net n = {L, &F, 1, m->pop, (float)m->meta.rank_mean, 0, 0};
      static const int tabs[RANK_NGROUPS][3] = {
          {TAB_USER, TAB_MOVIE, -1},
          {TAB_AGE, TAB_GENDER, TAB_OCC},
          {TAB_GENRE, TAB_YEAR, -1},
          {-1, -1, -1}};
      for (int t = 0; t < 3; t++)
        if (tabs[g][t] >= 0)
          memset(P + L->off[tabs[g][t]], 0,
                 L->rows[tabs[g][t]] * (size_t)L->dim * sizeof(float));
      if (g == RANK_GROUP_IDS) {
        P[L->off_ubias + ur] = 0.0f;
        P[L->off_mbias + mr] = 0.0f;
      }
      if (g == RANK_GROUP_POPULARITY)
        n.pop = zero_pop;
      float full = rank_predict_naive(&n, m->params, ur, mr);
      float without = rank_predict_naive(&n, P, ur, mr);
      if (g == RANK_GROUP_POPULARITY)
        full = served;
      assert_float_equal(contrib[g], full - without, 1e-3);
    }
    assert_true(strlen(model_rank_group_names[i % RANK_NGROUPS]) > 2);
  }
  /* the popularity group matters on this model somewhere, and ids too */
  float pred, contrib[RANK_NGROUPS];
  assert_int_equal(model_rank_explain(m, 3, 7, &pred, contrib, &e), 0);
  assert_true(contrib[RANK_GROUP_IDS] != 0.0f);
  /* bad input */
  assert_int_equal(model_rank_explain(m, 3, 7, NULL, contrib, &e), HV_EINVAL);
  assert_int_equal(model_rank_explain(m, 3, 7, &pred, NULL, &e), HV_EINVAL);
  assert_int_equal(model_rank_explain(NULL, 3, 7, &pred, contrib, &e),
                   HV_EINVAL);
  free(P);
  free(zero_pop);
  model_free(m);
}

static void test_bad_input(void **state)
{
  struct train_config c;
  struct hv_err e = {0};
  train_config_ranking(&c);
  assert_int_equal(train_config_check(&c, &e), 0);
  c.hidden = 2000;
  assert_int_equal(train_config_check(&c, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "hidden"));
  c.hidden = -1;
  assert_int_equal(train_config_check(&c, &e), HV_EINVAL);
  train_config_defaults(&c);
  c.hidden = 8; /* retrieval has no MLP */
  assert_int_equal(train_config_check(&c, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "ranking"));
  c.hidden = 0;
  c.task = 5;
  assert_int_equal(train_config_check(&c, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "task"));
  /* by name, as --task and tune --grid task= */
  train_config_defaults(&c);
  assert_int_equal(trainrun_config_set(&c, "task", "ranking", "--task", &e),
                   0);
  assert_int_equal(c.task, MODEL_TASK_RANKING);
  char buf[32];
  assert_int_equal(trainrun_config_get(&c, "task", buf, sizeof(buf)), 0);
  assert_string_equal(buf, "ranking");
  assert_int_equal(trainrun_config_set(&c, "task", "sorting", "--task", &e),
                   HV_EINVAL);
  assert_non_null(strstr(e.msg, "retrieval or ranking"));
  /* a ranking model cannot continue (init_from), and a retrieval model
   * does not predict ratings */
  struct hv_dataset ds;
  planted(&ds);
  rank_config(&c);
  c.epochs = 1;
  struct hv_model *m = NULL, *rm = NULL;
  assert_int_equal(train_run(&ds, &c, NULL, NULL, NULL, &rm, &e), 0);
  assert_int_equal(train_run(&ds, &c, rm, NULL, NULL, &m, &e), HV_EINVAL);
  assert_null(m);
  assert_non_null(strstr(e.msg, "init-from"));
  int64_t mid = 1;
  float out;
  assert_int_equal(model_rank_predict(rm, 1, NULL, 1, &out, &e), HV_EINVAL);
  assert_int_equal(model_rank_predict(rm, 1, &mid, 0, NULL, &e), 0);
  assert_int_equal(model_rank_predict(NULL, 1, &mid, 1, &out, &e), HV_EINVAL);
  struct rank_metrics met;
  assert_int_equal(model_rank_evaluate(NULL, rm, &met, &e), HV_EINVAL);
  train_config_tutorial(&c);
  c.epochs = 1;
  c.threads = 1;
  assert_int_equal(train_run(&ds, &c, NULL, NULL, NULL, &m, &e), 0);
  assert_int_equal(model_task(m), MODEL_TASK_RETRIEVAL);
  assert_int_equal(model_rank_predict(m, 1, &mid, 1, &out, &e), HV_EINVAL);
  assert_int_equal(model_rank_evaluate(&ds, m, &met, &e), HV_EINVAL);
  model_free(m);
  model_free(rm);
  /* NaN ratings are refused */
  p_rating[3] = NAN;
  rank_config(&c);
  assert_int_equal(train_run(&ds, &c, NULL, NULL, NULL, &m, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "not a number"));
  /* no ratings */
  planted(&ds);
  ds.ratings.n = 0;
  assert_int_equal(train_run(&ds, &c, NULL, NULL, NULL, &m, &e),
                   HV_ENOTFOUND);
}

static void test_metric_names(void **state)
{
  assert_true(trainrun_metric_known("rmse"));
  assert_true(trainrun_metric_known("train_mae"));
  assert_true(trainrun_metric_known("baseline_mean_rmse"));
  assert_true(trainrun_metric_known("rmse_gender_F"));
  assert_true(trainrun_metric_known("mae_age_25"));
  assert_true(trainrun_metric_known("rmse_segment_gap"));
  assert_false(trainrun_metric_known("rmse_gender_X"));
  assert_true(trainrun_metric_is_test("rmse"));
  assert_true(trainrun_metric_is_test("rmse_age_18"));
  assert_false(trainrun_metric_is_test("train_rmse"));
  assert_false(trainrun_metric_is_test("baseline_mean_rmse"));
  struct train_result r;
  memset(&r, 0, sizeof(r));
  r.task = MODEL_TASK_RANKING;
  r.rank_test.rmse = 0.9;
  r.rank_baseline.rmse = 1.1;
  r.has_test = 1;
  double v;
  assert_int_equal(trainrun_metric_value(&r, "rmse", &v), 0);
  assert_true(v == 0.9);
  /* a ranking run has no top-k; a retrieval run no rmse */
  assert_int_equal(trainrun_metric_value(&r, "top_100_categorical_accuracy",
                                         &v), HV_ENOTFOUND);
  char why[256];
  assert_false(trainrun_loses_to_baseline(&r, why, sizeof(why)));
  r.rank_test.rmse = 1.2;
  assert_true(trainrun_loses_to_baseline(&r, why, sizeof(why)));
  assert_non_null(strstr(why, "global-mean"));
  r.task = MODEL_TASK_RETRIEVAL;
  assert_int_equal(trainrun_metric_value(&r, "rmse", &v), HV_ENOTFOUND);
}

/* harvest train / tune --task ranking: a tracked run with the rating
 * metrics, a model file that loads as a ranking model. */

/* The exposure gap of pipeline name in evaluate --json's fairness object,
 * recomputed from its shares (max - min); the shares sum to 1. */
static double fair_exposure_gap(json_t *j, const char *name)
{
  json_t *ex = json_object_get(json_object_get(json_object_get(j,
                                                               "fairness"),
                                               "exposure_by_decile"),
                               name);
  assert_int_equal(json_array_size(ex), EVAL_NDEC);
  double lo = 1.0, hi = 0.0, sum = 0.0;
  for (size_t d = 0; d < EVAL_NDEC; d++) {
    double v = json_number_value(json_array_get(ex, d));
    sum += v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  assert_true(fabs(sum - 1.0) < 1e-5);
  return hi - lo;
}

/* evaluate --json's fairness report against the rest of its output: the
 * top-100 gap over the printed segments of >= 100 pairs, the exposure gap
 * of the served pipeline, the ranker's RMSE gap when there is one. */
static void check_fairness(json_t *j, const char *served)
{
  json_t *f = json_object_get(j, "fairness");
  assert_non_null(f);
  assert_string_equal(json_string_value(json_object_get(f,
                                                        "exposure_pipeline")),
                      served);
  assert_true(fabs(json_number_value(json_object_get(
                       f, "fairness_gap_exposure")) -
                   fair_exposure_gap(j, served)) < 1e-6);
  json_t *segs = json_object_get(j, "segments");
  double lo = 2.0, hi = -1.0;
  int big = 0;
  for (size_t i = 0; i < json_array_size(segs); i++) {
    json_t *g = json_array_get(segs, i);
    if (json_integer_value(json_object_get(g, "n_pairs")) < 100)
      continue;
    double v = json_number_value(
        json_object_get(g, "top_100_categorical_accuracy"));
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    big++;
  }
  assert_true(fabs(json_number_value(json_object_get(
                       f, "fairness_gap_top_100")) -
                   (big >= 2 ? hi - lo : 0.0)) < 1e-6);
  json_t *rk = json_object_get(json_object_get(j, "pipelines"), "ranker");
  json_t *gr = json_object_get(f, "fairness_gap_rmse");
  if (rk)
    assert_true(fabs(json_number_value(gr) - json_number_value(json_object_get(
                                              rk, "rmse_segment_gap"))) <
                1e-6);
  else
    assert_null(gr);
}

static void test_cli(void **state)
{
  const char *bin = tu_bin();
  if (!bin)
    skip();
  char dir[256], path[600], cmd[2048], out[1 << 16];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/harvest.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  struct fx_spec s = {60, 50, 20, 5, 0, 0, 1, 5, 1, 0};
  assert_true(fx_load(db, &s) > 0);
  db_close(db);
  snprintf(cmd, sizeof(cmd),
           "%s --home %s train --task ranking --dim 8 --epochs 2 --threads 1 "
           "--out %s/r.hvm --json 2>/dev/null", bin, dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  json_t *t = json_object_get(j, "test");
  assert_true(json_real_value(json_object_get(t, "rmse")) > 0);
  assert_non_null(json_object_get(t, "segments"));
  assert_non_null(json_object_get(json_object_get(j, "baseline_mean"),
                                  "rmse"));
  json_t *cfg = json_object_get(j, "config");
  assert_string_equal(json_string_value(json_object_get(cfg, "task")),
                      "ranking");
  assert_int_equal(json_integer_value(json_object_get(cfg, "hidden")), 64);
  assert_int_equal(json_integer_value(json_object_get(cfg, "dim")), 8);
  char run[40];
  snprintf(run, sizeof(run), "%s",
           json_string_value(json_object_get(j, "run_id")));
  json_decref(j);
  struct hv_model *m = NULL;
  snprintf(path, sizeof(path), "%s/r.hvm", dir);
  assert_int_equal(model_load(path, &m, &e), 0);
  assert_int_equal(model_task(m), MODEL_TASK_RANKING);
  model_free(m);
  /* the run holds the metrics and the task param */
  snprintf(cmd, sizeof(cmd), "%s --home %s runs show %s --json", bin, dir,
           run);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "\"rmse\""));
  assert_non_null(strstr(out, "rmse_gender_F"));
  assert_non_null(strstr(out, "baseline_mean_rmse"));
  assert_non_null(strstr(out, "ranking"));
  double test_rmse = 0;
  char abin[4096]; /* for commands run in dir */
  assert_non_null(realpath(bin, abin));
  {
    snprintf(cmd, sizeof(cmd), "%s --home %s runs show %s --json", bin, dir,
             run);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"rmse\""));
  }
  /* retrieve, then rank from the CLI: blend by default, or --stage */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s train --dim 8 --epochs 1 --threads 1 --out %s/m.hvm "
           "--json 2>/dev/null", bin, dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  char mrun[40];
  snprintf(mrun, sizeof(mrun), "%s",
           json_string_value(json_object_get(j, "run_id")));
  json_decref(j);
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model %s/m.hvm --ranker %s/r.hvm "
           "--candidates 20 --user 3 -n 4 --json", bin, dir, dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "\"stage\": \"blend\""));
  assert_non_null(strstr(out, "predicted_rating"));
  assert_non_null(strstr(out, "retrieval_score"));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model %s/m.hvm --ranker %s/r.hvm "
           "--stage ranking --blend 2 --user 3 -n 4 --json", bin, dir, dir,
           dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "\"stage\": \"ranking\""));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model %s/m.hvm --ranker %s/r.hvm "
           "--user 3 -n 4 --explain --json", bin, dir, dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "\"explanation\""));
  assert_non_null(strstr(out, "\"neighbours\""));
  assert_non_null(strstr(out, "\"ranker_contributions\""));
  assert_non_null(strstr(out, "\"movie_features\""));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model %s/m.hvm --user 3 -n 4 --explain",
           bin, dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "near: "));
  assert_null(strstr(out, "ranker, by ablation"));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model %s/m.hvm --ranker %s/r.hvm "
           "--stage retrieval --user 3 -n 4 --json", bin, dir, dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "\"stage\": \"retrieval\""));
  static const char *const bad_rec[] = {
      "--stage blend", "--blend 0.5", "--ranker r.hvm --blend 0",
      "--ranker r.hvm --blend nan", "--ranker r.hvm --stage best"};
  for (size_t i = 0; i < sizeof(bad_rec) / sizeof(bad_rec[0]); i++) {
    snprintf(cmd, sizeof(cmd),
             "cd %s && %s --home . recommend --model m.hvm --user 3 %s 2>&1",
             dir, abin, bad_rec[i]);
    assert_int_not_equal(tu_run(cmd, out, sizeof(out)), 0);
  }
  /* evaluate: the pipelines side by side on the test split; the ranker's
   * RMSE there is its run's test RMSE; --log puts them on the run */
  snprintf(cmd, sizeof(cmd), "%s --home %s runs show %s --json", bin, dir,
           run);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  json_t *lm = json_object_get(j, "metrics");
  test_rmse = json_number_value(json_object_get(lm, "rmse"));
  if (test_rmse <= 0)
    test_rmse = json_number_value(json_object_get(lm, "test_rmse"));
  json_decref(j);
  assert_true(test_rmse > 0);
  snprintf(cmd, sizeof(cmd),
           "%s --home %s evaluate --run %s --ranker runs:/%s --log --json "
           "2>&1", bin, dir, mrun, run);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  json_t *pl = json_object_get(j, "pipelines");
  assert_non_null(pl);
  const char *better = json_string_value(json_object_get(pl, "better"));
  assert_non_null(better);
  double nd[3];
  static const char *const nd_keys[] = {"compare_ndcg_at_10_retrieval",
                                        "compare_ndcg_at_10_ranked",
                                        "compare_ndcg_at_10_blend"};
  for (int i = 0; i < 3; i++) {
    nd[i] = json_number_value(json_object_get(pl, nd_keys[i]));
    assert_true(nd[i] >= 0.0 && nd[i] <= 1.0);
  }
  const char *want_better = nd[2] > nd[0] && nd[2] > nd[1] ? "blend"
                            : nd[1] > nd[0]                ? "ranking"
                                                           : "retrieval";
  assert_string_equal(better, want_better);
  assert_true(fabs(json_number_value(json_object_get(pl,
                                                     "compare_ranker_rmse")) -
                   test_rmse) < 1e-6);
  assert_int_equal(json_integer_value(json_object_get(pl, "candidates")),
                   100);
  assert_non_null(json_object_get(j, "top_100_categorical_accuracy"));
  check_fairness(j, "blend");
  double gap_ret = fair_exposure_gap(j, "retrieval");
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s runs show %s --json", bin, dir,
           mrun);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "compare_ndcg_at_10_blend"));
  assert_non_null(strstr(out, "compare_ranker_rmse"));
  assert_non_null(strstr(out, "fairness_gap_exposure"));
  assert_non_null(strstr(out, "exposure_decile_10"));
  /* without a ranker the default pipeline is retrieval only: the same
   * lists as the comparison's retrieval pipeline */
  snprintf(cmd, sizeof(cmd), "%s --home %s evaluate --run %s --log --json",
           bin, dir, mrun);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  check_fairness(j, "retrieval");
  assert_true(fabs(fair_exposure_gap(j, "retrieval") - gap_ret) < 1e-6);
  json_decref(j);
  /* the table */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s evaluate --model %s/m.hvm --ranker %s/r.hvm "
           "--candidates 30 --blend 0.5", bin, dir, dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "retrieve 30, blend 0.5"));
  assert_non_null(strstr(out, "better by nDCG@10"));
  /* a ranking model alone: its RMSE (test split with --run) */
  snprintf(cmd, sizeof(cmd), "%s --home %s evaluate --run %s --json", bin,
           dir, run);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_true(fabs(json_number_value(json_object_get(j, "rmse")) -
                   test_rmse) < 1e-6);
  json_decref(j);
  /* bad: flags without --ranker, another slice, a ranker to retrieve, a
   * file model with --log, a ranker of another split */
  static const char *const bad_eval[] = {
      "--model m.hvm --candidates 5",
      "--model m.hvm --log",
      "--model m.hvm --split train --log",
      "--model m.hvm --ranker r.hvm --ratings 1:10",
      "--model m.hvm --ranker r.hvm --split train",
      "--model r.hvm --ranker r.hvm",
      "--model m.hvm --ranker r.hvm --log",
      "--model m.hvm --ranker m.hvm",
      "--model m.hvm --ranker r7.hvm",
      "--model m.hvm --ranker r.hvm --blend -1"};
  static const char *const bad_msg[] = {
      "need --ranker", "the test split's report", "the test split's report",
      "test split only", "test split only",
      "cannot retrieve", "has no run", "not a ranking model",
      "held-out ratings differ", "--blend"};
  snprintf(cmd, sizeof(cmd),
           "%s --home %s train --task ranking --dim 8 --epochs 1 --seed 7 "
           "--threads 1 --out %s/r7.hvm >/dev/null 2>&1", bin, dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  for (size_t i = 0; i < sizeof(bad_eval) / sizeof(bad_eval[0]); i++) {
    snprintf(cmd, sizeof(cmd), "cd %s && %s --home . evaluate %s 2>&1", dir,
             abin, bad_eval[i]);
    assert_int_not_equal(tu_run(cmd, out, sizeof(out)), 0);
    if (!strstr(out, bad_msg[i]))
      fail_msg("evaluate %s: '%s' not in: %s", bad_eval[i], bad_msg[i], out);
  }
  /* the model is checked first, then the ranker */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model %s/r.hvm --ranker %s/m.hvm "
           "--user 3 2>&1", bin, dir, dir, dir);
  assert_int_not_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "a ranking model cannot retrieve"));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model %s/m.hvm --ranker %s/m.hvm "
           "--user 3 2>&1", bin, dir, dir, dir);
  assert_int_not_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "not a ranking model"));
  /* tune: ranks by rmse, lower first; registers the best */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s tune --task ranking --dim 8 --epochs 2 --threads 1 "
           "--grid lr=0.001,0.01 --register ranker --json 2>/dev/null",
           bin, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "metric")),
                      "rmse");
  assert_string_equal(json_string_value(json_object_get(j, "order")), "asc");
  json_decref(j);
  /* bad --task */
  snprintf(cmd, sizeof(cmd), "%s --home %s train --task sorting 2>&1", bin,
           dir);
  assert_int_not_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "retrieval or ranking"));
  tu_rmtree(dir);
}

static void test_ml100k(void **state)
{
  char dir[512];
  if (!tu_shared("data/ml-100k", dir, sizeof(dir)))
    skip();
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  struct import_result ir;
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  assert_int_equal(import_dataset(db, "ml-100k", dir, 0, &ir, &e), 0);
  struct train_config c;
  struct train_result r;
  struct hv_model *m = NULL;
  train_config_ranking(&c);
  c.threads = 1;
  assert_int_equal(dataset_train(db, &c, NULL, NULL, &r, &m, &e), 0);
  assert_int_equal(r.n_test, 20000);
  fprintf(stderr, "ml-100k ranking defaults: test RMSE %.4f MAE %.4f "
          "(mean baseline %.4f), %.3f s/epoch\n", r.rank_test.rmse,
          r.rank_test.mae, r.rank_baseline.rmse, r.epoch_seconds[0]);
  assert_true(r.rank_test.rmse <= 0.90);
  train_result_free(&r);
  model_free(m);
  db_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_matches_naive),
      cmocka_unit_test(test_gradient_check),
      cmocka_unit_test(test_trains_and_predicts),
      cmocka_unit_test(test_explain_ablation),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_metric_names),
      cmocka_unit_test(test_cli),
      cmocka_unit_test(test_ml100k),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

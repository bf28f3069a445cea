/*
 * test_monitor_report.c - monitor/monitor_report: the JSON shape of a
 * hand-made report (keys, their order, values, null for NaN, the empty
 * window's own order), the verdict JSON shared with `harvest drift`, the
 * round trip through monitor_report_from_json, reading older or damaged
 * reports, the drifted names, the table, and bad input.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_report.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

/* "k1,k2,...": the keys of object o in order, into buf. */
static const char *keys(const json_t *o, char *buf, size_t cap)
{
  const char *k;
  const json_t *v;
  size_t off = 0;
  buf[0] = '\0';
  json_object_foreach((json_t *)o, k, v)
  {
    off += (size_t)snprintf(buf + off, off < cap ? cap - off : 0, "%s%s",
                            off ? "," : "", k);
  }
  return buf;
}

#define ASSERT_KEYS(o, want)                                                \
  do {                                                                      \
    char kb_[1024];                                                         \
    assert_string_equal(keys((o), kb_, sizeof(kb_)), (want));               \
  } while (0)

static double num(const json_t *o, const char *k)
{
  const json_t *v = json_object_get(o, k);
  if (!json_is_number(v))
    fail_msg("%s is not a number", k);
  return json_number_value(v);
}

static char *compact(const json_t *j)
{
  char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
  assert_non_null(s);
  return s;
}

static void verdict(struct drift_feature_result *v, const char *name,
                    enum drift_test t, double st, double p, double th,
                    int drift)
{
  memset(v, 0, sizeof(*v));
  snprintf(v->name, sizeof(v->name), "%s", name);
  v->test = t;
  v->statistic = st;
  v->pvalue = p;
  v->threshold = th;
  v->drift = drift;
}

static void numeric(struct monitor_feature *f, const char *name, double st,
                    double p, int drift)
{
  memset(f, 0, sizeof(*f));
  verdict(&f->verdict, name, DRIFT_TEST_KS, st, p, 0.05, drift);
  f->kind = MONITOR_NUMERIC;
  f->measured = 1;
  f->n_ref = 300;
  f->n_cur = 120;
  f->ref_mean = 30;
  f->cur_mean = 25.5;
  f->ks = (struct drift_ks){st, p, DRIFT_KS_EXACT};
  f->wasserstein = 4.5;
  f->wasserstein_norm = 0.375;
  f->psi = 0.25;
  f->js = 0.125;
  f->psi_grade = 2;
}

static void categorical(struct monitor_feature *f)
{
  memset(f, 0, sizeof(*f));
  verdict(&f->verdict, "rating", DRIFT_TEST_JS, 0.0625, NAN, 0.1, 0);
  f->group = MONITOR_LABEL;
  f->kind = MONITOR_CATEGORICAL;
  f->measured = 1;
  f->n_ref = 1000;
  f->n_cur = 500;
  f->chi2 = (struct drift_chi2){3.5, 0.0625, 1};
  f->psi = 0.03125;
  f->js = 0.0625;
  f->n_categories = 2;
  f->categories = calloc(2, sizeof(*f->categories));
  assert_non_null(f->categories);
  f->categories[0] = (struct monitor_category){"1", 0.5, 0.25};
  f->categories[1] = (struct monitor_category){"5", 0.5, 0.75};
}

static void metrics(struct monitor_metrics *m, int64_t fresh)
{
  monitor_metrics_init(m);
  m->n_pairs = 500;
  m->n_users = 40;
  m->rating_mean = 3.5;
  for (int k = 0; k < EVAL_NK; k++)
    m->top_k[k] = 0.125 * (k + 1);
  m->n_segments = 1;
  m->segments[0] = (struct monitor_segment){"gender=F", 200, 15, {0}};
  for (int k = 0; k < EVAL_NK; k++)
    m->segments[0].top_k[k] = 0.0625 * (k + 1);
  m->n_users_not_in_reference = fresh;
}

/* A report with a judged rating_id window (numeric drifted, categorical,
 * a feature without values, one below min_ratings) and an empty time
 * window. */
static void fixture(struct monitor_report *r)
{
  memset(r, 0, sizeof(*r));
  snprintf(r->model.uri, sizeof(r->model.uri), "models:/m/Production");
  snprintf(r->model.sha256, sizeof(r->model.sha256), "%064d", 7);
  r->model.trained_last_rating_id = 100;
  r->model.n_train_ratings = 80;
  r->model.dim = 16;
  r->model.features = 1;
  struct monitor_reference *ref = &r->reference;
  ref->first_rating_id = 1;
  ref->last_rating_id = 100;
  ref->from_model = 1;
  ref->n_ratings = 100;
  ref->n_users = 40;
  ref->start_ts = 883612800;
  ref->end_ts = 883699200;
  metrics(&r->reference.metrics, -1);
  monitor_health_init(&r->reference.health);
  r->config.mode = MONITOR_BATCHES;
  r->config.threshold_share = 0.5;
  r->config.min_ratings = 200;
  drift_thresholds_default(&r->config.th);
  r->config.num_test = -1;
  r->config.cat_test = DRIFT_TEST_PSI;
  snprintf(r->config.lists, sizeof(r->config.lists), "blend");
  r->config.candidates = 100;
  r->config.blend = 0.3;
  r->seconds = 1.5;
  r->n_windows = 2;
  r->windows = calloc(2, sizeof(*r->windows));
  assert_non_null(r->windows);
  struct monitor_window *w = &r->windows[0];
  w->spec = (struct window_spec){"101:600", WINDOW_RATING_IDS, 101, 600};
  w->n_ratings = 500;
  w->n_users = 40;
  metrics(&w->metrics, 12);
  monitor_health_init(&w->health);
  w->health.coverage_at_10 = 0.5;
  monitor_health_init(&w->health_ref);
  w->coverage_ratio = w->gini_delta = w->mean_popularity_ratio = NAN;
  numeric(&w->features[0], "user_age", 0.25, 0.01, 1);
  categorical(&w->features[1]);
  memset(&w->features[2], 0, sizeof(w->features[2]));
  verdict(&w->features[2].verdict, "movie_year", DRIFT_TEST_KS, NAN, NAN,
          NAN, 0);
  w->features[2].n_ref = 300;
  snprintf(w->features[2].skipped, sizeof(w->features[2].skipped),
           "no current values");
  numeric(&w->features[3], "prediction_top1_score", 0.5, 0.001, 0);
  w->features[3].group = MONITOR_PREDICTION;
  snprintf(w->features[3].skipped, sizeof(w->features[3].skipped),
           "window has 5 < 200 ratings (min_ratings)");
  w->n_features = 4;
  w->n_judged = 2;
  w->n_drifted = 1;
  w->drifted_share = 0.5;
  w->dataset_drift = 1;
  struct monitor_window *e = &r->windows[1];
  e->index = 1;
  e->spec = (struct window_spec){"1998-01-01", WINDOW_TIME, 883612800,
                                 884217600};
  monitor_metrics_init(&e->metrics);
  monitor_health_init(&e->health);
  monitor_health_init(&e->health_ref);
}

/* ---- the JSON shape ---------------------------------------------------- */

static void test_shape(void **state)
{
  (void)state;
  struct monitor_report r;
  fixture(&r);
  json_t *j = monitor_report_to_json(&r);
  assert_non_null(j);
  ASSERT_KEYS(j, "model,reference,config,windows,n_empty_windows,seconds");
  ASSERT_KEYS(json_object_get(j, "model"),
              "uri,sha256,trained_first_rating_id,trained_last_rating_id,"
              "n_train_ratings,n_users,n_movies,dim,features");
  const json_t *ref = json_object_get(j, "reference");
  ASSERT_KEYS(ref, "first_rating_id,last_rating_id,source,n_ratings,n_users,"
                   "start,end,metrics,health");
  assert_string_equal(json_string_value(json_object_get(ref, "start")),
                      "1998-01-01T00:00:00Z");
  assert_string_equal(json_string_value(json_object_get(ref, "source")),
                      "model lineage");
  /* the reference's metrics carry no n_users_not_in_reference */
  ASSERT_KEYS(json_object_get(ref, "metrics"),
              "n_pairs,n_users,n_unknown_users,n_unknown_movies,rating_mean,"
              "top_1_categorical_accuracy,top_5_categorical_accuracy,"
              "top_10_categorical_accuracy,top_50_categorical_accuracy,"
              "top_100_categorical_accuracy,segments,fairness_gap_top_100");
  ASSERT_KEYS(json_object_get(ref, "health"),
              "n_users,coverage_at_10,gini_at_10,mean_popularity_at_10,"
              "top1_score_mean,exposure_by_decile,fairness_gap_exposure");
  assert_true(json_is_null(
      json_object_get(json_object_get(ref, "health"), "gini_at_10")));
  const json_t *cfg = json_object_get(j, "config");
  ASSERT_KEYS(cfg, "mode,window_seconds,since,threshold_share,min_ratings,"
                   "thresholds,num_stattest,cat_stattest,lists");
  ASSERT_KEYS(json_object_get(cfg, "lists"), "pipeline,candidates,blend");
  assert_string_equal(json_string_value(json_object_get(cfg, "mode")),
                      "batches");
  assert_string_equal(
      json_string_value(json_object_get(cfg, "num_stattest")), "default");
  assert_string_equal(
      json_string_value(json_object_get(cfg, "cat_stattest")), "psi");
  json_decref(j);
  monitor_report_free(&r);
  assert_null(r.windows);
}

static void test_windows_json(void **state)
{
  (void)state;
  struct monitor_report r;
  fixture(&r);
  snprintf(r.run_id, sizeof(r.run_id), "%032d", 5);
  json_t *j = monitor_report_to_json(&r);
  ASSERT_KEYS(j, "model,reference,config,windows,n_empty_windows,seconds,"
                 "run_id");
  const json_t *w0 = json_array_get(json_object_get(j, "windows"), 0);
  const json_t *w1 = json_array_get(json_object_get(j, "windows"), 1);
  ASSERT_KEYS(w0, "index,name,kind,n_ratings,first_rating_id,last_rating_id,"
                  "n_in_sample,in_sample,in_sample_share,"
                  "features,n_features,n_drifted,drifted_share,"
                  "dataset_drift,n_users,metrics,health");
  assert_true(json_is_false(json_object_get(w0, "in_sample")));
  assert_null(json_object_get(w0, "skipped"));
  assert_int_equal((int)num(w0, "n_features"), 2); /* judged ones */
  assert_true(json_is_true(json_object_get(w0, "dataset_drift")));
  assert_int_equal(
      (int)num(json_object_get(w0, "metrics"), "n_users_not_in_reference"),
      12);
  ASSERT_KEYS(json_object_get(w0, "health"),
              "n_users,coverage_at_10,gini_at_10,mean_popularity_at_10,"
              "top1_score_mean,exposure_by_decile,fairness_gap_exposure,"
              "reference,coverage_ratio,gini_delta,mean_popularity_ratio");
  /* an empty window: its own key order, null metrics and health */
  ASSERT_KEYS(w1, "index,name,kind,n_ratings,start,end,start_ts,end_ts,"
                  "n_in_sample,in_sample,in_sample_share,skipped,n_windows,"
                  "n_users,metrics,features,n_features,n_drifted,"
                  "drifted_share,dataset_drift,health");
  assert_string_equal(json_string_value(json_object_get(w1, "skipped")),
                      "no ratings");
  assert_int_equal((int)num(w1, "n_windows"), 1);
  assert_true(json_is_null(json_object_get(w1, "metrics")));
  assert_true(json_is_null(json_object_get(w1, "health")));
  assert_int_equal(json_array_size(json_object_get(w1, "features")), 0);
  assert_true(json_is_real(json_object_get(w1, "drifted_share")));
  assert_string_equal(json_string_value(json_object_get(w1, "end")),
                      "1998-01-08T00:00:00Z");
  json_decref(j);
  monitor_report_free(&r);
}

static void test_features_json(void **state)
{
  (void)state;
  static const struct {
    size_t i;
    const char *keys;
  } cases[] = {
      {0, "name,group,kind,n_ref,n_cur,ref_mean,cur_mean,ks_statistic,"
          "ks_pvalue,ks_method,wasserstein,wasserstein_norm,psi,js,psi_grade,"
          "test,statistic,pvalue,threshold,drift"},
      {1, "name,group,kind,n_ref,n_cur,chi2_statistic,chi2_pvalue,chi2_dof,"
          "psi,js,psi_grade,categories,test,statistic,pvalue,threshold,"
          "drift"},
      {2, "name,group,kind,test,statistic,threshold,drift,n_ref,n_cur,"
          "skipped"},
      {3, "name,group,kind,n_ref,n_cur,ref_mean,cur_mean,ks_statistic,"
          "ks_pvalue,ks_method,wasserstein,wasserstein_norm,psi,js,psi_grade,"
          "test,statistic,pvalue,threshold,drift,skipped"},
  };
  struct monitor_report r;
  fixture(&r);
  json_t *j = monitor_report_to_json(&r);
  const json_t *fs =
      json_object_get(json_array_get(json_object_get(j, "windows"), 0),
                      "features");
  assert_int_equal(json_array_size(fs), 4);
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
    ASSERT_KEYS(json_array_get(fs, cases[k].i), cases[k].keys);
  const json_t *f0 = json_array_get(fs, 0), *f1 = json_array_get(fs, 1),
               *f2 = json_array_get(fs, 2), *f3 = json_array_get(fs, 3);
  assert_string_equal(json_string_value(json_object_get(f0, "psi_grade")),
                      "major");
  assert_string_equal(json_string_value(json_object_get(f0, "ks_method")),
                      "exact");
  assert_true(json_is_true(json_object_get(f0, "drift")));
  assert_true(num(f0, "pvalue") == 0.01);
  /* a distance test: pvalue null */
  assert_string_equal(json_string_value(json_object_get(f1, "group")),
                      "label");
  assert_true(json_is_null(json_object_get(f1, "pvalue")));
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(f1, "categories"),
                                         1),
                          "category")),
                      "5");
  /* not measured: null test and statistic */
  assert_true(json_is_null(json_object_get(f2, "test")));
  assert_false(json_is_true(json_object_get(f2, "drift")));
  assert_string_equal(json_string_value(json_object_get(f2, "skipped")),
                      "no current values");
  assert_string_equal(json_string_value(json_object_get(f3, "group")),
                      "prediction");
  assert_non_null(strstr(json_string_value(json_object_get(f3, "skipped")),
                         "min_ratings"));
  json_decref(j);
  monitor_report_free(&r);
}

/* The verdict JSON appends its five keys to what the object holds. */
static void test_verdict_json(void **state)
{
  (void)state;
  static const struct {
    enum drift_test t;
    double st, p, th;
    int drift;
    const char *test;
    int st_null, p_null;
  } cases[] = {
      {DRIFT_TEST_KS, 0.2, 0.01, 0.05, 1, "ks", 0, 0},
      {DRIFT_TEST_CHI2, 1.5, 0.5, 0.05, 0, "chi2", 0, 0},
      {DRIFT_TEST_JS, 0.3, NAN, 0.1, 1, "js", 0, 1},
      {DRIFT_TEST_PSI, NAN, NAN, 0.1, 0, "psi", 1, 1},
      {DRIFT_TEST_WASSERSTEIN_NORM, INFINITY, NAN, 0.1, 1,
       "wasserstein_norm", 1, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct drift_feature_result v;
    verdict(&v, "f", cases[i].t, cases[i].st, cases[i].p, cases[i].th,
            cases[i].drift);
    json_t *o = json_pack("{s:s}", "name", "f");
    assert_int_equal(monitor_report_verdict_json(o, &v), 0);
    ASSERT_KEYS(o, "name,test,statistic,pvalue,threshold,drift");
    assert_string_equal(json_string_value(json_object_get(o, "test")),
                        cases[i].test);
    assert_int_equal(json_is_null(json_object_get(o, "statistic")),
                     cases[i].st_null);
    assert_int_equal(json_is_null(json_object_get(o, "pvalue")),
                     cases[i].p_null);
    assert_true(num(o, "threshold") == cases[i].th);
    assert_int_equal(json_is_true(json_object_get(o, "drift")),
                     cases[i].drift);
    json_decref(o);
  }
}

/* ---- reading back ------------------------------------------------------ */

static void test_round_trip(void **state)
{
  (void)state;
  struct monitor_report r, back;
  struct hv_err e = {0};
  fixture(&r);
  snprintf(r.run_id, sizeof(r.run_id), "%032d", 9);
  json_t *j = monitor_report_to_json(&r);
  assert_int_equal(monitor_report_from_json(j, &back, &e), 0);
  json_t *j2 = monitor_report_to_json(&back);
  char *a = compact(j), *b = compact(j2);
  assert_string_equal(a, b); /* same keys, order and values */
  free(a);
  free(b);
  /* typed fields came back */
  assert_int_equal(back.n_windows, 2);
  assert_string_equal(back.run_id, r.run_id);
  assert_int_equal(back.reference.start_ts, 883612800);
  const struct monitor_window *w = &back.windows[0];
  assert_int_equal(w->n_features, 4);
  assert_true(w->features[0].verdict.drift);
  assert_int_equal(w->features[1].n_categories, 2);
  assert_false(w->features[2].measured);
  assert_int_equal(back.windows[1].spec.kind, WINDOW_TIME);
  assert_int_equal(back.windows[1].spec.last, 884217600);
  assert_int_equal(back.config.cat_test, DRIFT_TEST_PSI);
  assert_int_equal(back.config.num_test, -1);
  assert_string_equal(back.config.lists, "blend");
  assert_int_equal(back.config.candidates, 100);
  assert_float_equal(back.config.blend, 0.3, 1e-12);
  json_decref(j);
  json_decref(j2);
  monitor_report_free(&back);
  monitor_report_free(&r);
}

static void test_from_json_lenient_and_bad(void **state)
{
  (void)state;
  struct monitor_report r;
  struct hv_err e = {0};
  /* an old or sparse report: missing numbers read as NaN, counts as 0 */
  json_t *j = json_loads("{\"windows\": [{\"name\": \"w\", \"n_ratings\": "
                         "9, \"features\": [{\"name\": \"x\", \"test\": "
                         "\"ks\", \"drift\": true}, 7]}, \"junk\"]}",
                         0, NULL);
  assert_int_equal(monitor_report_from_json(j, &r, &e), 0);
  assert_int_equal(r.n_windows, 2);
  assert_int_equal(r.windows[0].n_ratings, 9);
  assert_true(isnan(r.windows[0].metrics.top_k[0]));
  assert_true(isnan(r.windows[0].health.coverage_at_10));
  assert_true(r.windows[0].features[0].verdict.drift);
  assert_true(isnan(r.windows[0].features[0].verdict.statistic));
  assert_false(r.windows[0].features[1].measured);
  assert_true(isnan(r.seconds));
  assert_string_equal(r.model.uri, "");
  assert_string_equal(r.config.lists, "retrieval"); /* before lists */
  assert_int_equal(r.config.candidates, 0);
  monitor_report_free(&r);
  json_decref(j);
  /* out-of-range counts are clamped, not cast */
  j = json_loads("{\"windows\": [{\"n_ratings\": 1e300, \"index\": -5, "
                 "\"first_rating_id\": -1e300}]}",
                 0, NULL);
  assert_int_equal(monitor_report_from_json(j, &r, &e), 0);
  assert_int_equal(r.windows[0].index, 0);
  assert_int_equal(r.windows[0].spec.first, INT64_MIN);
  monitor_report_free(&r);
  json_decref(j);
  static const char *const bad[] = {
      "[]", "3", "{}", "{\"windows\": 3}", "{\"windows\": {}}",
      "{\"windows\": [{\"features\": [{\"name\": \"x\", \"test\": \"z\"}]}]}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    memset(&r, 0xff, sizeof(r));
    assert_int_equal(monitor_report_from_json(j, &r, &e), HV_ECORRUPT);
    assert_null(r.windows);
    assert_int_equal(r.n_windows, 0);
    json_decref(j);
  }
  assert_int_equal(monitor_report_from_json(NULL, &r, &e), HV_ECORRUPT);
  assert_int_equal(monitor_report_from_json(NULL, NULL, &e), HV_EINVAL);
  assert_null(monitor_report_to_json(NULL));
}

/* ---- helpers for readers ----------------------------------------------- */

static void test_drifted_names_and_lookup(void **state)
{
  (void)state;
  struct monitor_report r;
  fixture(&r);
  struct monitor_window *w = &r.windows[0];
  static const struct {
    int drift1;
    size_t cap;
    const char *want;
  } cases[] = {
      {0, 64, "user_age"},
      {1, 64, "user_age, rating"},
      {1, 10, "user_age,"},
      {0, 4, "use"},
      {0, 1, ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    w->features[1].verdict.drift = cases[i].drift1;
    monitor_report_drifted_names(w, buf, cases[i].cap);
    assert_string_equal(buf, cases[i].want);
  }
  w->features[0].verdict.drift = 0;
  w->features[1].verdict.drift = 0;
  char buf[8];
  monitor_report_drifted_names(w, buf, sizeof(buf));
  assert_string_equal(buf, "");
  monitor_report_drifted_names(&r.windows[1], buf, sizeof(buf));
  assert_string_equal(buf, "");
  assert_ptr_equal(monitor_report_feature(w, "rating"), &w->features[1]);
  assert_null(monitor_report_feature(w, "nope"));
  assert_null(monitor_report_feature(w, NULL));
  assert_null(monitor_report_feature(NULL, "rating"));
  assert_true(monitor_metrics_top(&w->metrics, 100) == 0.625);
  assert_true(monitor_metrics_top(&w->metrics, 1) == 0.125);
  assert_true(isnan(monitor_metrics_top(&w->metrics, 7)));
  monitor_report_free(&r);
}

static void test_table(void **state)
{
  (void)state;
  struct monitor_report r;
  fixture(&r);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  monitor_report_print_table(&r, f);
  monitor_report_print_table(NULL, f);
  monitor_report_print_table(&r, NULL);
  fclose(f);
  static const char *const want[] = {
      "reference: rating_id 1:100, 100 ratings, 40 users (model lineage), "
      "in-sample top-100 0.6250",
      "101:600", "DATASET DRIFT", "drifted: user_age (ks p=0.01)",
      "1998-01-01", "empty",
      "top-10 lists: blend (retrieval's top 100 ordered by the ranker, "
      "blend weight 0.3)"};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    if (!strstr(text, want[i]))
      fail_msg("table lacks '%s':\n%s", want[i], text);
  }
  assert_non_null(strstr(text, "     1/2  DATASET DRIFT"));
  free(text);
  monitor_report_free(&r);
}

/* Issue 16: in-sample, skipped and folded-empty windows in the JSON, the
 * table and back; older reports without the fields read sensibly. */
static void test_flags(void **state)
{
  (void)state;
  struct monitor_report r;
  struct hv_err e = {0};
  fixture(&r);
  struct monitor_window *w0 = &r.windows[0], *w1 = &r.windows[1];
  w0->n_in_sample = 125; /* of 500 */
  snprintf(w1->skipped, sizeof(w1->skipped), "no ratings");
  w1->n_folded = 40;
  w1->index = 1;
  assert_float_equal(monitor_window_in_sample(w0), 0.25, 1e-12);
  assert_float_equal(monitor_window_in_sample(w1), 0.0, 0);
  assert_float_equal(monitor_window_in_sample(NULL), 0.0, 0);
  assert_int_equal(monitor_report_n_empty(&r), 40);
  assert_int_equal(monitor_report_n_empty(NULL), 0);
  json_t *j = monitor_report_to_json(&r);
  const json_t *j0 = json_array_get(json_object_get(j, "windows"), 0),
               *j1 = json_array_get(json_object_get(j, "windows"), 1);
  assert_true(json_is_true(json_object_get(j0, "in_sample")));
  assert_int_equal((int)num(j0, "n_in_sample"), 125);
  assert_float_equal(num(j0, "in_sample_share"), 0.25, 1e-12);
  assert_int_equal((int)num(j1, "n_windows"), 40);
  assert_int_equal((int)num(j, "n_empty_windows"), 40);
  struct monitor_report back;
  assert_int_equal(monitor_report_from_json(j, &back, &e), 0);
  assert_int_equal(back.windows[0].n_in_sample, 125);
  assert_string_equal(back.windows[1].skipped, "no ratings");
  assert_int_equal(back.windows[1].n_folded, 40);
  monitor_report_free(&back);
  json_decref(j);
  /* the table: the in-sample share and verdict, the run of empty windows
   * on one line, the note naming the model's training range */
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  monitor_report_print_table(&r, f);
  fclose(f);
  static const char *const want[] = {
      "in-smp", "25%", "DATASET DRIFT, in-sample",
      "1-40 40 empty windows, 1998-01-01 to 1998-01-08 (no ratings)",
      "in-sample: 1 window holds ratings of the model's training range"};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    if (!strstr(text, want[i]))
      fail_msg("table lacks '%s':\n%s", want[i], text);
  free(text);
  /* a small window: skipped with its reason, no numbers, never "ok" */
  w0->n_in_sample = 0;
  snprintf(w0->skipped, sizeof(w0->skipped), "5 ratings < min_ratings 200");
  w0->n_ratings = 5;
  w0->dataset_drift = 0;
  text = NULL;
  f = open_memstream(&text, &len);
  monitor_report_print_table(&r, f);
  fclose(f);
  if (!strstr(text, "skipped: 5 ratings < min_ratings 200") ||
      !strstr(text, "  skipped\n") || strstr(text, " ok") ||
      strstr(text, "in-sample:"))
    fail_msg("table:\n%s", text);
  free(text);
  j = monitor_report_to_json(&r);
  j0 = json_array_get(json_object_get(j, "windows"), 0);
  assert_true(json_is_null(json_object_get(j0, "metrics")));
  assert_true(json_is_null(json_object_get(j0, "health")));
  assert_int_equal(json_array_size(json_object_get(j0, "features")), 0);
  assert_null(json_object_get(j0, "n_windows")); /* it has ratings */
  json_decref(j);
  monitor_report_free(&r);
  /* an older report: an empty window without "skipped" or "n_windows" */
  j = json_loads("{\"windows\": [{\"n_ratings\": 0}, {\"n_ratings\": 3}]}",
                 0, NULL);
  assert_int_equal(monitor_report_from_json(j, &r, &e), 0);
  assert_string_equal(r.windows[0].skipped, "no ratings");
  assert_int_equal(r.windows[0].n_folded, 1);
  assert_string_equal(r.windows[1].skipped, "");
  assert_int_equal(r.windows[1].n_in_sample, 0);
  monitor_report_free(&r);
  json_decref(j);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape),
      cmocka_unit_test(test_windows_json),
      cmocka_unit_test(test_features_json),
      cmocka_unit_test(test_verdict_json),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_from_json_lenient_and_bad),
      cmocka_unit_test(test_drifted_names_and_lookup),
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_flags),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_policy.c - the retraining policy (monitor/policy.h): each trigger
 * firing and not firing on hand-made monitoring reports, small windows not
 * judged, force, flags (policy_set) and policy files with their
 * FILE:LINE:COLUMN errors and unknown keys, and bad input.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/monitor_report.h"
#include "retrain/policy.h"

/* One hand-made feature: its name, PSI, verdict and skip reason. */
static void feat(struct monitor_feature *f, const char *name, double psi,
                 int drift, const char *skipped)
{
  memset(f, 0, sizeof(*f));
  snprintf(f->verdict.name, sizeof(f->verdict.name), "%s", name);
  f->verdict.drift = drift;
  f->measured = 1;
  f->psi = psi;
  snprintf(f->skipped, sizeof(f->skipped), "%s", skipped ? skipped : "");
}

/* A report with n windows: top100[i], n_ratings[i], drift[i], and the PSI
 * of user_age psi_age[i] (movie_year is always 0.05; rating is skipped).
 * Release with monitor_report_free. */
static struct monitor_report report(size_t n, const double *top100,
                                    const int *n_ratings, const int *drift,
                                    const double *psi_age)
{
  struct monitor_report r;
  memset(&r, 0, sizeof(r));
  r.windows = calloc(n, sizeof(*r.windows));
  assert_non_null(r.windows);
  r.n_windows = n;
  for (size_t i = 0; i < n; i++) {
    struct monitor_window *w = &r.windows[i];
    snprintf(w->spec.name, sizeof(w->spec.name), "w");
    w->index = i;
    w->n_folded = 1;
    w->n_ratings = (size_t)n_ratings[i];
    monitor_metrics_init(&w->metrics);
    w->metrics.top_k[EVAL_NK - 1] = top100[i];
    feat(&w->features[0], "user_age", psi_age[i], drift[i], NULL);
    feat(&w->features[1], "movie_year", 0.05, 0, NULL);
    feat(&w->features[2], "rating", 9.0, 0, "empty sample");
    w->n_features = 3;
    w->n_judged = 3;
    w->n_drifted = (size_t)drift[i];
    w->dataset_drift = drift[i];
  }
  return r;
}

static const struct policy_check *find(const struct policy_decision *d,
                                       const char *trigger)
{
  for (size_t i = 0; i < d->n_checks; i++)
    if (!strcmp(d->checks[i].trigger, trigger))
      return &d->checks[i];
  return NULL;
}

static void test_defaults(void **state)
{
  (void)state;
  struct policy p;
  policy_defaults(&p);
  assert_false(policy_any_trigger(&p));
  assert_false(policy_needs_report(&p));
  assert_int_equal(policy_check(&p, NULL), 0);
  policy_seed(&p);
  assert_true(p.min_top100 == 0.5);
  assert_true(policy_any_trigger(&p));
  assert_true(policy_needs_report(&p));
  /* nothing on: no retraining, says so */
  policy_defaults(&p);
  struct policy_input in = {NULL, 100, 1.0, 0, NAN, NAN};
  struct policy_decision d;
  struct hv_err e = {0};
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_false(d.retrain);
  assert_string_equal(d.reasons, "no trigger is on");
}

/* The performance trigger: worst judged window, <= fires, > does not. */
static void test_top100(void **state)
{
  (void)state;
  const struct {
    double threshold;
    double top[3];
    int n[3];
    int fires;
    double worst;
  } cases[] = {
      {0.5, {0.6, 0.45, 0.7}, {500, 500, 500}, 1, 0.45},
      {0.5, {0.6, 0.55, 0.7}, {500, 500, 500}, 0, 0.55},
      {0.5, {0.5, 0.9, 0.9}, {500, 500, 500}, 1, 0.5},   /* <= fires */
      {0.5, {0.1, 0.9, 0.9}, {10, 500, 500}, 0, 0.9},    /* small: unjudged */
      {0.5, {0.1, 0.2, 0.3}, {10, 20, 30}, 0, NAN},      /* none judged */
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    struct policy p;
    policy_defaults(&p);
    p.min_top100 = cases[k].threshold;
    int drift[3] = {0, 0, 0};
    double psi[3] = {0, 0, 0};
    struct monitor_report r = report(3, cases[k].top, cases[k].n, drift, psi);
    struct policy_input in = {&r, 1500, 1.0, 0, NAN, NAN};
    struct policy_decision d;
    struct hv_err e = {0};
    assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
    assert_int_equal(d.retrain, cases[k].fires);
    const struct policy_check *c = find(&d, "min_top100");
    assert_non_null(c);
    assert_int_equal(c->fired, cases[k].fires);
    if (isnan(cases[k].worst))
      assert_true(isnan(d.worst_top100));
    else
      assert_true(fabs(d.worst_top100 - cases[k].worst) < 1e-12);
    assert_int_equal(d.n_windows, 3);
    if (cases[k].fires)
      assert_non_null(strstr(d.reasons, "worst top-100"));
    else
      assert_non_null(strstr(d.reasons, "no trigger fired"));
    monitor_report_free(&r);
  }
}

/* max_top100_drop: relative to the model's own held-out top-100 (issue
 * 16): fires at (1 - S) x ref, not above; an unknown or zero reference
 * cannot fire and says so; bad shares refused; in the JSON and the file. */
static void test_top100_drop(void **state)
{
  (void)state;
  static const struct {
    double drop, ref, worst;
    int fires;
    const char *text;
  } cases[] = {
      {0.2, 0.4, 0.30, 1, "20% below the model's own 0.4000"},
      {0.2, 0.4, 0.32, 1, "<= 0.3200"}, /* at the bound: fires */
      {0.2, 0.4, 0.33, 0, "> 0.3200"},
      {0.5, 0.3, 0.16, 0, "> 0.1500"},
      {1.0, 0.3, 0.00, 1, "<= 0.0000"},
      {0.2, NAN, 0.01, 0, "no held-out top-100 of its own"},
      {0.2, 0.0, 0.00, 0, "no held-out top-100 of its own"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    struct policy p;
    policy_defaults(&p);
    p.max_top100_drop = cases[k].drop;
    double top[2] = {cases[k].worst, 0.9};
    int n[2] = {500, 500}, drift[2] = {0, 0};
    double psi[2] = {0, 0};
    struct monitor_report r = report(2, top, n, drift, psi);
    struct policy_input in = {&r, 1000, 1.0, 0, cases[k].ref, NAN};
    struct policy_decision d;
    struct hv_err e = {0};
    assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
    const struct policy_check *c = find(&d, "max_top100_drop");
    assert_non_null(c);
    if (c->fired != cases[k].fires || d.retrain != cases[k].fires ||
        !strstr(c->text, cases[k].text))
      fail_msg("case %zu: fired %d, text '%s'", k, c->fired, c->text);
    assert_null(find(&d, "min_top100")); /* off */
    monitor_report_free(&r);
  }
  struct policy p;
  policy_defaults(&p);
  struct hv_err e = {0};
  assert_false(policy_any_trigger(&p));
  assert_int_equal(policy_set(&p, "max-top100-drop", "0.25", NULL, &e), 0);
  assert_true(p.max_top100_drop == 0.25);
  assert_true(policy_any_trigger(&p) && policy_needs_report(&p));
  json_t *j = policy_to_json(&p);
  assert_true(json_real_value(json_object_get(j, "max_top100_drop")) == 0.25);
  json_decref(j);
  static const char *const bad[] = {"0", "-0.1", "1.5", "x", "nan", ""};
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    e = (struct hv_err){0};
    assert_int_equal(policy_set(&p, "max_top100_drop", bad[k],
                                "--max-top100-drop", &e),
                     HV_EINVAL);
    assert_non_null(strstr(e.msg, "--max-top100-drop"));
    assert_true(p.max_top100_drop == 0.25); /* unchanged */
  }
  p.max_top100_drop = 2;
  assert_int_equal(policy_check(&p, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "max_top100_drop"));
}

/* Issue 16: a window the pass skipped (too small) is never judged, even
 * when the policy's own minimum is lower; an in-sample window is judged
 * for drift but its top-100 is not read as held-out evidence. */
static void test_skipped_and_in_sample(void **state)
{
  (void)state;
  struct policy p;
  policy_defaults(&p);
  p.min_top100 = 0.5;
  p.max_top100_drop = 0.2;
  p.on_dataset_drift = 1;
  p.min_window_ratings = 1;
  double top[3] = {0.1, 0.2, 0.6}, psi[3] = {0, 0, 0};
  int n[3] = {500, 150, 500}, drift[3] = {1, 1, 0};
  struct monitor_report r = report(3, top, n, drift, psi);
  /* window 0: in-sample (a quarter of its ratings), window 1: skipped */
  r.windows[0].n_in_sample = 125;
  snprintf(r.windows[1].skipped, sizeof(r.windows[1].skipped),
           "150 ratings < min_ratings 200");
  struct policy_input in = {&r, 1150, 1.0, 0, 0.6, NAN};
  struct policy_decision d;
  struct hv_err e = {0};
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_int_equal(d.n_judged, 2);    /* 0 and 2; 1 was skipped */
  assert_int_equal(d.n_in_sample, 1); /* 0 */
  /* the worst top-100 is the held-out window's, 0.6: nothing fires on
   * performance; window 0's 0.1 would have */
  assert_true(fabs(d.worst_top100 - 0.6) < 1e-12);
  assert_false(find(&d, "min_top100")->fired);
  assert_false(find(&d, "max_top100_drop")->fired);
  /* drift is still judged on the in-sample window (not the skipped one) */
  const struct policy_check *c = find(&d, "dataset_drift");
  assert_true(c->fired);
  assert_non_null(strstr(c->text, "window 0"));
  json_t *j = policy_decision_to_json(&d);
  assert_int_equal(json_integer_value(json_object_get(j, "n_in_sample")), 1);
  json_decref(j);
  /* only in-sample windows: no held-out evidence, and the checks say so */
  r.windows[2].n_in_sample = 500;
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_true(isnan(d.worst_top100));
  for (int k = 0; k < 2; k++) {
    c = find(&d, k ? "min_top100" : "max_top100_drop");
    assert_false(c->fired);
    if (!strstr(c->text, "no held-out window (the 2 judged windows are "
                         "in-sample"))
      fail_msg("%s", c->text);
  }
  /* only skipped windows: nothing fires, not even drift */
  snprintf(r.windows[0].skipped, sizeof(r.windows[0].skipped), "no ratings");
  snprintf(r.windows[2].skipped, sizeof(r.windows[2].skipped), "no ratings");
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_int_equal(d.n_judged, 0);
  assert_false(d.retrain);
  assert_non_null(strstr(find(&d, "min_top100")->text,
                         "no window with >= 1 ratings"));
  monitor_report_free(&r);
}

/* The ranker RMSE of an in-sample window is not held-out evidence either:
 * max_rmse and max_rmse_rise read the held-out windows only. */
static void test_rmse_in_sample(void **state)
{
  (void)state;
  struct policy p;
  policy_defaults(&p);
  p.max_rmse = 1.0;
  p.max_rmse_rise = 0.1;
  p.min_window_ratings = 1;
  double top[3] = {0.9, 0.9, 0.9}, psi[3] = {0, 0, 0},
         rmse[3] = {1.5, 0.95, 0.9};
  int n[3] = {500, 500, 500}, drift[3] = {0, 0, 0};
  struct monitor_report r = report(3, top, n, drift, psi);
  for (int i = 0; i < 3; i++) {
    r.windows[i].metrics.ranker_rmse = rmse[i];
    r.windows[i].metrics.ranker_n = 100;
  }
  struct policy_input in = {&r, 1500, 1.0, 0, NAN, 0.9};
  struct policy_decision d;
  struct hv_err e = {0};
  /* all held-out: window 0's 1.5 fires both */
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_true(d.retrain && fabs(d.worst_rmse - 1.5) < 1e-12);
  /* window 0 in-sample: the worst is window 1's 0.95, nothing fires */
  r.windows[0].n_in_sample = 10;
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_false(d.retrain);
  assert_true(fabs(d.worst_rmse - 0.95) < 1e-12);
  assert_non_null(strstr(find(&d, "max_rmse")->text, "(window 1)"));
  /* every window in-sample: no held-out window, and the checks say so */
  r.windows[1].n_in_sample = r.windows[2].n_in_sample = 500;
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_false(d.retrain);
  assert_true(isnan(d.worst_rmse));
  for (int k = 0; k < 2; k++) {
    const struct policy_check *c = find(&d, k ? "max_rmse_rise" : "max_rmse");
    assert_false(c->fired);
    if (!strstr(c->text, "ranker RMSE: no held-out window (the 3 judged "
                         "windows are in-sample: their ranker RMSE"))
      fail_msg("%s", c->text);
  }
  /* no ranker in the pass: "not measured", in-sample or not */
  for (int i = 0; i < 3; i++)
    r.windows[i].metrics.ranker_n = 0;
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_non_null(strstr(find(&d, "max_rmse")->text, "not measured"));
  monitor_report_free(&r);
}

static void test_drift_and_psi(void **state)
{
  (void)state;
  double top[2] = {0.9, 0.9};
  int n[2] = {500, 500};
  struct policy p;
  policy_defaults(&p);
  p.on_dataset_drift = 1;
  struct hv_err e = {0};
  assert_int_equal(policy_set(&p, "psi_bound", "user_age=0.2", NULL, &e), 0);
  assert_int_equal(policy_set(&p, "psi-bound", "rating=0.1", NULL, &e), 0);
  /* no drift, PSI below the bound: nothing fires */
  int d0[2] = {0, 0};
  double psi0[2] = {0.1, 0.15};
  struct monitor_report r = report(2, top, n, d0, psi0);
  struct policy_input in = {&r, 1000, 0.5, 0, NAN, NAN};
  struct policy_decision d;
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_false(d.retrain);
  assert_int_equal(d.dataset_drift, 0);
  const struct policy_check *c = find(&d, "psi:user_age");
  assert_non_null(c);
  assert_false(c->fired);
  assert_true(fabs(c->value - 0.15) < 1e-12);
  /* rating is skipped in every window: not measured, never fires */
  c = find(&d, "psi:rating");
  assert_non_null(c);
  assert_false(c->fired);
  assert_true(isnan(c->value));
  monitor_report_free(&r);
  /* drift in the second window, PSI above the bound in the first */
  int d1[2] = {0, 1};
  double psi1[2] = {0.3, 0.1};
  r = report(2, top, n, d1, psi1);
  in.report = &r;
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_true(d.retrain);
  assert_int_equal(d.dataset_drift, 1);
  assert_true(find(&d, "dataset_drift")->fired);
  assert_true(find(&d, "psi:user_age")->fired);
  assert_non_null(strstr(d.reasons, "dataset drift in window 1"));
  assert_non_null(strstr(d.reasons, "PSI of user_age 0.3000 > 0.2"));
  assert_non_null(strstr(d.reasons, "(1/3 features: user_age)"));
  monitor_report_free(&r);
  /* a drifted window too small to judge does not count */
  int n2[2] = {50, 500};
  int d2[2] = {1, 0};
  r = report(2, top, n2, d2, psi0);
  in.report = &r;
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_false(d.retrain);
  assert_int_equal(d.n_judged, 1);
  monitor_report_free(&r);
}

static void test_volume_age_force(void **state)
{
  (void)state;
  struct policy p;
  policy_defaults(&p);
  p.min_new_ratings = 1000;
  p.max_age_days = 7;
  const struct {
    int64_t n;
    double age;
    int force, fires;
  } cases[] = {
      {999, 6.9, 0, 0}, {1000, 1, 0, 1}, {5, 7.0, 0, 1},
      {5, NAN, 0, 0},   {0, 0, 1, 1},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    struct policy_input in = {NULL, cases[k].n, cases[k].age,
                              cases[k].force, NAN, NAN};
    struct policy_decision d;
    struct hv_err e = {0};
    assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
    assert_int_equal(d.retrain, cases[k].fires);
    assert_int_equal(d.new_ratings, cases[k].n);
    assert_non_null(find(&d, "min_new_ratings"));
    assert_non_null(find(&d, "max_age_days"));
    if (cases[k].force)
      assert_non_null(strstr(d.reasons, "forced"));
  }
}

static void test_set_flags(void **state)
{
  (void)state;
  struct policy p;
  policy_defaults(&p);
  struct hv_err e = {0};
  assert_int_equal(policy_set(&p, "min-top100", "0.25", "--min-top100", &e),
                   0);
  assert_true(p.min_top100 == 0.25);
  assert_int_equal(policy_set(&p, "on_dataset_drift", "yes", NULL, &e), 0);
  assert_int_equal(p.on_dataset_drift, 1);
  assert_int_equal(policy_set(&p, "min_new_ratings", "5000", NULL, &e), 0);
  assert_int_equal(policy_set(&p, "max-age-days", "2.5", NULL, &e), 0);
  assert_int_equal(policy_set(&p, "windows", "4", NULL, &e), 0);
  assert_int_equal(policy_set(&p, "psi_bound", "user_age=0.2", NULL, &e), 0);
  assert_int_equal(policy_set(&p, "psi_bound", "user_age=0.3", NULL, &e), 0);
  assert_int_equal(p.n_psi, 1); /* replaced, not added */
  assert_true(p.psi[0].bound == 0.3);
  struct policy before = p;
  const struct {
    const char *key, *value, *msg;
    int code;
  } bad[] = {
      {"min_top100", "1.5", "--x", HV_EINVAL},
      {"min_top100", "nan", "--x", HV_EINVAL},
      {"min_top100", "", "--x", HV_EINVAL},
      {"on_dataset_drift", "maybe", "not true or false", HV_EINVAL},
      {"psi_bound", "user_age", "FEATURE=BOUND", HV_EINVAL},
      {"psi_bound", "=0.2", "FEATURE=BOUND", HV_EINVAL},
      {"psi_bound", "shoe_size=0.2", "unknown feature 'shoe_size'", HV_EINVAL},
      {"psi_bound", "user_age=-1", "--x", HV_EINVAL},
      {"psi_bound", "user_age=abc", "--x", HV_EINVAL},
      {"min_new_ratings", "-5", "--x", HV_EINVAL},
      {"windows", "0", "--x", HV_EINVAL},
      {"windows", "101", "--x", HV_EINVAL},
      {"max_age_days", "inf", "--x", HV_EINVAL},
      {"colour", "red", "unknown policy key 'colour'", HV_ENOTFOUND},
  };
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    hv_err_clear(&e);
    assert_int_equal(policy_set(&p, bad[k].key, bad[k].value, "--x", &e),
                     bad[k].code);
    assert_non_null(strstr(e.msg, bad[k].msg));
    assert_memory_equal(&p, &before, sizeof(p)); /* unchanged */
  }
  assert_int_equal(policy_set(NULL, "windows", "1", NULL, &e), HV_EINVAL);
  assert_int_equal(policy_set(&p, NULL, "1", NULL, &e), HV_EINVAL);
  assert_int_equal(policy_set(&p, "windows", NULL, NULL, &e), HV_EINVAL);
}

static void test_file(void **state)
{
  (void)state;
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  tu_write(dir, "p.json",
           "{\n  \"min_top100\": 0.3,\n  \"on_dataset_drift\": true,\n"
           "  \"psi_bounds\": {\"user_age\": 0.2, \"movie_popularity\": "
           "0.25},\n  \"min_new_ratings\": 5000,\n  \"max_age_days\": 7,\n"
           "  \"windows\": 2, \"window_ratings\": 1000,\n"
           "  \"min_window_ratings\": 100\n}\n",
           path, sizeof(path));
  struct policy p;
  policy_defaults(&p);
  struct hv_err e = {0};
  assert_int_equal(policy_load_file(&p, path, &e), 0);
  assert_true(p.min_top100 == 0.3);
  assert_int_equal(p.on_dataset_drift, 1);
  assert_int_equal(p.n_psi, 2);
  assert_int_equal(p.min_new_ratings, 5000);
  assert_true(p.max_age_days == 7);
  assert_int_equal(p.windows, 2);
  assert_int_equal(p.window_ratings, 1000);
  assert_int_equal(p.min_window_ratings, 100);
  /* round trip through policy_to_json */
  json_t *j = policy_to_json(&p);
  char *text = json_dumps(j, 0);
  struct policy q;
  policy_defaults(&q);
  assert_int_equal(policy_parse(&q, text, strlen(text), "rt", &e), 0);
  assert_memory_equal(&p, &q, sizeof(p));
  free(text);
  json_decref(j);
  tu_rmtree(dir);
}

static void test_file_errors(void **state)
{
  (void)state;
  const struct {
    const char *text, *msg;
  } bad[] = {
      {"{\"min_top100\": 0.5,\n \"colour\": 1}", "f:2:2: colour: unknown "
                                                 "policy key 'colour'"},
      {"{\"min_top100\": 0.5,\n\n   \"windows\": 1.5}",
       "f:3:4: windows: expected an integer"},
      {"{\"min_top100\": \"high\"}", "f:1:2: min_top100: expected a number"},
      {"{\"min_top100\": 2}", "f:1:2: min_top100: 2 is out of range"},
      {"{\"on_dataset_drift\": 1}", "expected true or false"},
      {"{\"psi_bounds\": [1]}", "psi_bounds: expected an object"},
      {"{\"psi_bounds\": {\n  \"user_age\": \"x\"}}",
       "f:2:3: psi_bounds.user_age: expected a number"},
      {"{\"psi_bounds\": {\"nope\": 0.1}}", "unknown feature 'nope'"},
      {"{\"psi_bound\": \"user_age=0.1\"}", "use \"psi_bounds\""},
      {"{\"min_top100\": 0.5,}", "f:1:"},
      {"{\"windows\": 1, \"windows\": 2}", "f:1:"},
      {"[1, 2]", "f:1:1: a policy is a JSON object"},
      {"", "f:"},
      {"{\"min_top100\": 0.5", "f:1:"},
  };
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    struct policy p, before;
    policy_defaults(&p);
    before = p;
    struct hv_err e = {0};
    int rc = policy_parse(&p, bad[k].text, strlen(bad[k].text), "f", &e);
    assert_int_equal(rc, HV_EINVAL);
    if (!strstr(e.msg, bad[k].msg))
      fail_msg("case %zu: got '%s', want '%s'", k, e.msg, bad[k].msg);
    assert_memory_equal(&p, &before, sizeof(p));
  }
  /* missing and oversized files */
  struct policy p;
  policy_defaults(&p);
  struct hv_err e = {0};
  assert_int_equal(policy_load_file(&p, "/nonexistent/p.json", &e),
                   HV_ENOTFOUND);
  assert_int_equal(policy_load_file(&p, NULL, &e), HV_EINVAL);
  assert_int_equal(policy_load_file(&p, "", &e), HV_EINVAL);
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  size_t big = POLICY_FILE_MAX + 10;
  char *text = malloc(big + 1);
  memset(text, ' ', big);
  text[0] = '{';
  text[big - 1] = '}';
  text[big] = '\0';
  tu_write(dir, "big.json", text, path, sizeof(path));
  free(text);
  assert_int_equal(policy_load_file(&p, path, &e), HV_ETOOBIG);
  tu_rmtree(dir);
}

static void test_decide_bad_input(void **state)
{
  (void)state;
  struct policy p;
  policy_seed(&p);
  struct policy_decision d;
  struct hv_err e = {0};
  struct policy_input in = {NULL, 0, 0, 0, NAN, NAN};
  assert_int_equal(policy_decide(NULL, &in, &d, &e), HV_EINVAL);
  assert_int_equal(policy_decide(&p, NULL, &d, &e), HV_EINVAL);
  assert_int_equal(policy_decide(&p, &in, NULL, &e), HV_EINVAL);
  /* windows counted but not given */
  struct monitor_report r;
  memset(&r, 0, sizeof(r));
  r.n_windows = 3;
  in.report = &r;
  assert_int_equal(policy_decide(&p, &in, &d, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "windows"));
  /* windows without an accuracy are judged, and fire nothing */
  r.windows = calloc(2, sizeof(*r.windows));
  assert_non_null(r.windows);
  r.n_windows = 2;
  for (size_t i = 0; i < 2; i++) {
    r.windows[i].n_ratings = 900;
    monitor_metrics_init(&r.windows[i].metrics);
  }
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  assert_false(d.retrain);
  assert_int_equal(d.n_judged, 2);
  assert_true(isnan(d.worst_top100));
  monitor_report_free(&r);
  /* a bad policy is refused */
  p.windows = 0;
  in.report = NULL;
  assert_int_equal(policy_decide(&p, &in, &d, &e), HV_EINVAL);
  /* JSON of a decision names every check */
  policy_seed(&p);
  p.min_new_ratings = 10;
  in.new_ratings = 20;
  assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
  json_t *j = policy_decision_to_json(&d);
  assert_non_null(j);
  assert_true(json_is_true(json_object_get(j, "retrain")));
  assert_int_equal(json_array_size(json_object_get(j, "checks")), 2);
  assert_true(json_is_null(json_object_get(j, "worst_top100")));
  json_decref(j);
}

/* max_rmse, max_rmse_rise: the ranking stage's worst RMSE over the judged
 * windows (windows without a ranker do not count); >= fires; a rise needs
 * the ranker's own RMSE; bad values refused; in the JSON. */
static void test_rmse(void **state)
{
  (void)state;
  const struct {
    double max, rise, ref;
    double rmse[3];
    int n[3];
    int fires;
    double worst;
  } cases[] = {
      {1.0, NAN, NAN, {0.9, 1.05, 0.95}, {500, 500, 500}, 1, 1.05},
      {1.0, NAN, NAN, {0.9, 0.99, 0.95}, {500, 500, 500}, 0, 0.99},
      {1.0, NAN, NAN, {1.0, 0.5, 0.5}, {500, 500, 500}, 1, 1.0},  /* >= */
      {1.0, NAN, NAN, {2.0, 0.5, 0.5}, {10, 500, 500}, 0, 0.5},   /* small */
      {1.0, NAN, NAN, {NAN, NAN, NAN}, {500, 500, 500}, 0, NAN},  /* none */
      {NAN, 0.1, 0.9, {0.98, 0.9, 0.9}, {500, 500, 500}, 0, 0.98},
      {NAN, 0.1, 0.9, {1.0, 0.9, 0.9}, {500, 500, 500}, 1, 1.0}, /* > 1.1 x */
      {NAN, 0.1, NAN, {5.0, 0.9, 0.9}, {500, 500, 500}, 0, 5.0},  /* no ref */
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    struct policy p;
    policy_defaults(&p);
    p.max_rmse = cases[k].max;
    p.max_rmse_rise = cases[k].rise;
    assert_true(policy_any_trigger(&p) && policy_needs_report(&p));
    int drift[3] = {0, 0, 0};
    double psi[3] = {0, 0, 0}, top[3] = {0.9, 0.9, 0.9};
    struct monitor_report r = report(3, top, cases[k].n, drift, psi);
    for (int i = 0; i < 3; i++) {
      r.windows[i].metrics.ranker_rmse = cases[k].rmse[i];
      r.windows[i].metrics.ranker_n = isnan(cases[k].rmse[i]) ? 0 : 100;
    }
    struct policy_input in = {&r, 1500, 1.0, 0, NAN, cases[k].ref};
    struct policy_decision d;
    struct hv_err e = {0};
    assert_int_equal(policy_decide(&p, &in, &d, &e), 0);
    assert_int_equal(d.retrain, cases[k].fires);
    const struct policy_check *c =
        find(&d, isnan(cases[k].max) ? "max_rmse_rise" : "max_rmse");
    assert_non_null(c);
    assert_int_equal(c->fired, cases[k].fires);
    if (isnan(cases[k].worst))
      assert_true(isnan(d.worst_rmse) && strstr(c->text, "not measured"));
    else
      assert_true(fabs(d.worst_rmse - cases[k].worst) < 1e-12);
    if (!isnan(cases[k].rise) && isnan(cases[k].ref))
      assert_non_null(strstr(c->text, "no held-out RMSE"));
    json_t *j = policy_decision_to_json(&d);
    assert_non_null(json_object_get(j, "worst_rmse"));
    json_decref(j);
    monitor_report_free(&r);
  }
  struct policy p;
  policy_defaults(&p);
  struct hv_err e = {0};
  assert_int_equal(policy_set(&p, "max-rmse", "0.95", NULL, &e), 0);
  assert_int_equal(policy_set(&p, "max_rmse_rise", "0.2", NULL, &e), 0);
  assert_true(p.max_rmse == 0.95 && p.max_rmse_rise == 0.2);
  json_t *pj = policy_to_json(&p);
  assert_true(json_number_value(json_object_get(pj, "max_rmse")) == 0.95);
  json_decref(pj);
  static const char *const bad[][2] = {{"max_rmse", "0"}, {"max_rmse", "6"},
                                       {"max_rmse", "x"},
                                       {"max_rmse_rise", "-1"},
                                       {"max_rmse_rise", "nan"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(policy_set(&p, bad[i][0], bad[i][1], "--max-rmse", &e),
                     HV_EINVAL);
    assert_non_null(strstr(e.msg, "--max-rmse"));
  }
  assert_true(p.max_rmse == 0.95); /* unchanged on error */
  p.max_rmse = 7;
  assert_int_equal(policy_check(&p, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "max_rmse"));
  const char doc[] = "{\"max_rmse\": 1.1, \"max_rmse_rise\": 0.1}";
  policy_defaults(&p);
  assert_int_equal(policy_parse(&p, doc, sizeof(doc) - 1, "p.json", &e), 0);
  assert_true(p.max_rmse == 1.1 && p.max_rmse_rise == 0.1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_top100),
      cmocka_unit_test(test_top100_drop),
      cmocka_unit_test(test_skipped_and_in_sample),
      cmocka_unit_test(test_rmse_in_sample),
      cmocka_unit_test(test_drift_and_psi),
      cmocka_unit_test(test_volume_age_force),
      cmocka_unit_test(test_set_flags),
      cmocka_unit_test(test_file),
      cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_decide_bad_input),
      cmocka_unit_test(test_rmse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

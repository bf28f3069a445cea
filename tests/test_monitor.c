/*
 * test_monitor.c - monitor/: window parsing, the monitoring queries, the
 * monitoring pass (performance checked against model_evaluate; planted
 * drift from the synthetic generator found, none on a stationary dataset),
 * the tracked run with its report artifact, bad input, and `harvest
 * monitor` end to end.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/synth.h"
#include "model/eval.h"
#include "model/model.h"
#include "model_fixture.h"
#include "monitor/monitor.h"
#include "monitor/window.h"
#include "recommend/recommend.h"
#include "store/db.h"
#include "store/catalog.h"
#include "store/ratings.h"
#include "testutil.h"
#include "track/artifacts.h"
#include "track/runs.h"
#include "train/dataset.h"

/* ---- helpers --------------------------------------------------------------- */

static struct hv_model *train(struct hv_db *db, int64_t first, int64_t last,
                              int dim, int epochs)
{
  struct train_config c;
  struct hv_err e = {0};
  struct hv_model *m = NULL;
  train_config_defaults(&c);
  c.dim = dim;
  c.epochs = epochs;
  c.batch = 1024;
  c.split = 1.0;
  c.threads = 1;
  c.seed = 3;
  c.first_rating_id = first;
  c.last_rating_id = last;
  if (dataset_train(db, &c, NULL, NULL, NULL, &m, &e))
    fail_msg("train_run: %s", e.msg);
  return m;
}

/* A home with 3,000 fixture ratings (fx seed) and a model trained on
 * ratings 1:2000: the database open in *db, its path in home. */
static struct hv_model *trained_home(char *home, size_t cap, uint64_t seed,
                                     struct hv_db **db)
{
  char path[512];
  struct hv_err e = {0};
  tu_tmpdir(home, cap);
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  assert_int_equal(db_open(path, db, &e), 0);
  struct fx_spec s = {100, 120, 30, 4, 0, 0, 1, seed, 1, 0};
  assert_int_equal(fx_load(*db, &s), 3000);
  return train(*db, 1, 2000, 8, 2);
}

static const struct monitor_feature *feature(const struct monitor_window *w,
                                             const char *name)
{
  const struct monitor_feature *f = monitor_report_feature(w, name);
  if (!f)
    fail_msg("feature %s missing", name);
  return f;
}

static int drifted(const struct monitor_window *w, const char *name)
{
  return feature(w, name)->verdict.drift;
}

static double top(const struct monitor_metrics *m, int k)
{
  return monitor_metrics_top(m, k);
}

/* A number of a JSON object (the CLI's output). */
static double num(const json_t *o, const char *k)
{
  const json_t *v = json_object_get(o, k);
  if (!json_is_number(v))
    fail_msg("%s is not a number", k);
  return json_number_value(v);
}

/* The index of K in eval_ks. */
static int kix(int k)
{
  for (int i = 0; i < EVAL_NK; i++)
    if (eval_ks[i] == k)
      return i;
  fail_msg("K = %d is not evaluated", k);
  return 0;
}

/* A synthetic home: synth dataset of the given drift, model trained on the
 * first half (before the drift point). */
struct synth_home {
  struct hv_db *db;
  struct hv_model *m;
  struct synth_result res;
};

static void synth_home(struct synth_home *h, enum synth_drift drift)
{
  struct synth_config c;
  struct hv_err e = {0};
  synth_defaults(&c);
  /* sparse (about 5 ratings per user) so that the no-drift stream is
   * stationary: with many ratings per user, "each pair rated once" makes
   * later ratings go to less popular movies, a real popularity drift */
  c.users = 3000;
  c.movies = 1200;
  c.ratings = 16000;
  c.days = 60;
  c.seed = 7;
  c.drift = drift;
  assert_int_equal(db_open(":memory:", &h->db, &e), 0);
  if (synth_run(h->db, &c, NULL, NULL, &h->res, &e))
    fail_msg("synth_run: %s", e.msg);
  h->m = train(h->db, 1, c.ratings / 2, 32, 4);
}

static void synth_home_free(struct synth_home *h)
{
  model_free(h->m);
  db_close(h->db);
}

/* Time windows of 6 days from the middle of the synth span. */
static void monitor_synth(struct synth_home *h, struct monitor_report *rep)
{
  struct monitor_config cfg;
  struct hv_err e = {0};
  monitor_config_defaults(&cfg);
  cfg.mode = MONITOR_TIME;
  cfg.window_seconds = 6 * 86400;
  cfg.max_windows = 5;
  if (monitor_run(h->db, NULL, h->m, &cfg, rep, &e))
    fail_msg("monitor_run: %s", e.msg);
  assert_int_equal(rep->n_windows, 5);
}

/* ---- windows ----------------------------------------------------------------- */

static void test_parse_duration(void **state)
{
  static const struct {
    const char *s;
    int ok;
    int64_t v;
  } cases[] = {{"7d", 1, 604800},   {"12h", 1, 43200}, {"3600", 1, 3600},
               {"30m", 1, 1800},    {"2w", 1, 1209600}, {"1s", 1, 1},
               {"", 0, 0},          {"d", 0, 0},       {"0d", 0, 0},
               {"-1d", 0, 0},       {"7x", 0, 0},      {"7 d", 0, 0},
               {"1.5d", 0, 0},      {"99999999w", 0, 0},
               {"nan", 0, 0},       {"1111111111111111111111111111111d", 0, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t v = -1;
    struct hv_err e = {0};
    int rc = window_parse_duration(cases[i].s, &v, "--window", &e);
    if (cases[i].ok) {
      assert_int_equal(rc, 0);
      assert_int_equal(v, cases[i].v);
    } else {
      assert_int_equal(rc, HV_EINVAL);
      assert_non_null(strstr(e.msg, "--window"));
    }
  }
  int64_t v;
  struct hv_err e = {0};
  assert_int_equal(window_parse_duration(NULL, &v, "x", &e), HV_EINVAL);
}

static void test_parse_time(void **state)
{
  static const struct {
    const char *s;
    int ok;
    int64_t v;
  } cases[] = {{"874724710", 1, 874724710},
               {"1998-01-01", 1, 883612800},
               {"1998-01-01T06:00:00", 1, 883634400},
               {"1998-01-01T06:00:00Z", 1, 883634400},
               {"0", 1, 0},
               {"1998-02-30", 0, 0},
               {"1998-13-01", 0, 0},
               {"1998-01-01T25:00:00", 0, 0},
               {"1998-01-01 junk", 0, 0},
               {"yesterday", 0, 0},
               {"", 0, 0},
               {" 1998-01-01", 0, 0},
               {"12abc", 0, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t v = -1;
    struct hv_err e = {0};
    int rc = window_parse_time(cases[i].s, &v, "--since", &e);
    if (cases[i].ok) {
      assert_int_equal(rc, 0);
      assert_int_equal(v, cases[i].v);
    } else {
      assert_int_equal(rc, HV_EINVAL);
    }
  }
  char buf[32];
  window_format_time(883634400, buf, sizeof(buf));
  assert_string_equal(buf, "1998-01-01T06:00:00Z");
}

static void test_parse_batches(void **state)
{
  struct window_spec *w = NULL;
  size_t n = 0;
  struct hv_err e = {0};
  assert_int_equal(window_parse_batches("0:50000,0:60000,70000:", &w, &n, &e),
                   0);
  assert_int_equal(n, 3);
  assert_int_equal(w[1].first, 0);
  assert_int_equal(w[1].last, 60000);
  assert_int_equal(w[2].last, INT64_MAX);
  assert_string_equal(w[0].name, "0:50000");
  assert_int_equal(w[0].kind, WINDOW_RATING_IDS);
  free(w);
  static const char *const bad[] = {"",      ",",        "1:2,",
                                    "5:1",   "a:b",      "1-2",
                                    "1:2,,3:4", "-1:5"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(window_parse_batches(bad[i], &w, &n, &e), HV_EINVAL);
    assert_null(w);
  }
  /* more than WINDOW_MAX ranges */
  size_t len = (WINDOW_MAX + 1) * 4;
  char *big = malloc(len + 1);
  for (size_t i = 0; i <= WINDOW_MAX; i++)
    memcpy(big + i * 4, "1:2,", 4);
  big[len - 1] = '\0';
  assert_int_equal(window_parse_batches(big, &w, &n, &e), HV_EINVAL);
  free(big);
}

static void test_time_series(void **state)
{
  struct window_spec *w = NULL;
  size_t n = 0;
  struct hv_err e = {0};
  assert_int_equal(window_time_series(86400, 86400 * 11 + 1, 86400, 0, &w,
                                      &n, &e),
                   0);
  assert_int_equal(n, 11); /* the last covers the 1 s left over */
  assert_int_equal(w[0].first, 86400);
  assert_int_equal(w[10].last, 86400 * 12);
  assert_string_equal(w[0].name, "1970-01-02");
  free(w);
  assert_int_equal(window_time_series(0, 1000, 100, 3, &w, &n, &e), 0);
  assert_int_equal(n, 3);
  assert_string_equal(w[1].name, "1970-01-01T00:01:40Z");
  free(w);
  assert_int_equal(window_time_series(5, 5, 100, 0, &w, &n, &e),
                   HV_ENOTFOUND);
  assert_int_equal(window_time_series(0, 5, 0, 0, &w, &n, &e), HV_EINVAL);
}

static void test_config_check(void **state)
{
  struct monitor_config c;
  struct hv_err e = {0};
  struct window_spec w = {"a", WINDOW_RATING_IDS, 1, 10};
  monitor_config_defaults(&c);
  assert_int_equal(monitor_config_check(&c, &e), 0);
  assert_int_equal(monitor_config_check(NULL, &e), HV_EINVAL);
  c.mode = MONITOR_BATCHES;
  assert_int_equal(monitor_config_check(&c, &e), HV_EINVAL); /* no windows */
  c.windows = &w;
  c.n_windows = 1;
  assert_int_equal(monitor_config_check(&c, &e), 0);
  struct {
    int field;
    double v;
  } bad[] = {{0, NAN}, {0, -0.1}, {0, 1.5}, {1, 0.0}, {1, 2.0},
             {2, 0.0}, {2, INFINITY}, {3, -1}, {4, 1.5}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct monitor_config d = c;
    switch (bad[i].field) {
    case 0: d.threshold_share = bad[i].v; break;
    case 1: d.th.ks_pvalue = bad[i].v; break;
    case 2: d.th.wasserstein_norm = bad[i].v; break;
    case 3: d.th.psi = bad[i].v; break;
    default: d.th.js = bad[i].v; break;
    }
    assert_int_equal(monitor_config_check(&d, &e), HV_EINVAL);
  }
  struct monitor_config d = c;
  d.num_test = DRIFT_TEST_CHI2; /* categorical only */
  assert_int_equal(monitor_config_check(&d, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "--num-stattest"));
  d = c;
  d.cat_test = DRIFT_TEST_KS;
  assert_int_equal(monitor_config_check(&d, &e), HV_EINVAL);
  d = c;
  d.has_reference = 1;
  d.ref_first = 10;
  d.ref_last = 1;
  assert_int_equal(monitor_config_check(&d, &e), HV_EINVAL);
  d = c;
  d.mode = (enum monitor_mode)7;
  assert_int_equal(monitor_config_check(&d, &e), HV_EINVAL);
  struct window_spec bw = {"b", WINDOW_RATING_IDS, 10, 1};
  d = c;
  d.windows = &bw;
  assert_int_equal(monitor_config_check(&d, &e), HV_EINVAL);
}

/* ---- queries ------------------------------------------------------------------ */

static void test_queries(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  struct fx_spec s = {40, 60, 10, 4, 0, 0, 1, 5, 1, 0};
  assert_int_equal(fx_load(db, &s), 400);
  struct catalog_users u;
  assert_int_equal(catalog_load_users(db, &u, &e), 0);
  assert_int_equal(u.n, 40);
  for (size_t i = 0; i < u.n; i++) {
    assert_true(u.raw_age[i] >= 15 && u.raw_age[i] < 60);
    assert_int_equal(u.age_bucket[i], catalog_age_bucket(u.raw_age[i]));
    assert_true(i == 0 || u.id[i] > u.id[i - 1]);
  }
  catalog_users_free(&u);
  catalog_users_free(NULL);
  struct catalog_names g, o;
  assert_int_equal(catalog_names(db, CATALOG_GENRES, &g, &e), 0);
  assert_int_equal(g.n, 4);
  assert_string_equal(catalog_name_of(&g, 2), "Drama");
  assert_null(catalog_name_of(&g, 99));
  assert_int_equal(catalog_names(db, CATALOG_OCCUPATIONS, &o, &e), 0);
  assert_int_equal(o.n, 4); /* labels 0..3, all "other" */
  assert_string_equal(catalog_name_of(&o, 3), "other");
  catalog_names_free(&g);
  catalog_names_free(&o);
  assert_int_equal(
      catalog_names(db, (enum catalog_table)5, &o, &e), HV_EINVAL);
  /* fixture timestamps: rating_id r has timestamp 1000000 + r + 1 */
  int64_t t0, t1, n;
  assert_int_equal(ratings_time_span(db, 11, 20, &t0, &t1, &n, &e), 0);
  assert_int_equal(n, 10);
  assert_int_equal(t0, 1000012);
  assert_int_equal(t1, 1000021);
  assert_int_equal(ratings_time_span(db, 5000, 6000, &t0, &t1, &n, &e), 0);
  assert_int_equal(n, 0);
  struct ratings_cols r;
  assert_int_equal(
      ratings_load_time(db, 1000012, 1000032, 15, 24, &r, &e), 0);
  assert_int_equal(r.n, 10); /* 11..30 minus 15..24 */
  for (size_t i = 0; i < r.n; i++) {
    assert_true(r.rating_id[i] < 15 || r.rating_id[i] > 24);
    assert_true(i == 0 || r.timestamp[i] >= r.timestamp[i - 1]);
  }
  ratings_cols_free(&r);
  assert_int_equal(ratings_load_time(db, 5, 1, 1, 0, &r, &e), HV_EINVAL);
  ratings_cols_free(&r);
  assert_int_equal(ratings_load_time(NULL, 0, 1, 1, 0, &r, &e),
                   HV_EINVAL);
  assert_int_equal(catalog_load_users(NULL, &u, &e), HV_EINVAL);
  db_close(db);
}

/* ---- the pass --------------------------------------------------------------------- */

/* The monitor's top-K accuracies follow the same rule as model_evaluate:
 * compare them on rating_id windows (all users known for the first). */
/* The top 10 of user as served: model_recommend (nothing excluded), or
 * with a ranker the recommend service's retrieve-then-rank (recommend_user:
 * its own retrieval, not the monitor's score rows) in the given order. */
static int served_top10(const struct hv_model *m, const struct hv_model *rk,
                        int order, int64_t user, float *scratch, int64_t *ids)
{
  struct hv_err e = {0};
  if (!rk)
    return model_recommend(m, user, 10, NULL, 0, ids, NULL, scratch, &e);
  struct recommend_list l;
  struct recommend_query q = {.model = m, .user = user, .n = 10,
                              .ranker = rk, .order = order};
  assert_int_equal(recommend_list_alloc(&l, m, 10, &e), 0);
  assert_int_equal(recommend_user(NULL, &q, &l, &e), 0);
  assert_true(l.ranked);
  memcpy(ids, l.movie_ids, (size_t)l.k * sizeof(int64_t));
  int k = l.k;
  recommend_list_free(&l);
  return k;
}

/* The naive fairness numbers of window w (its ratings R, reference ratings
 * ref): the top-100 gap by a double loop over the segments of >= 100 pairs;
 * the exposure of each distinct user's served top 10 (served_top10) by
 * popularity decile, each movie's decile from a scan of the reference
 * counts (ties: the earlier model column first). */
static void check_fairness_naive(const struct hv_model *m,
                                 const struct hv_model *rk, int order,
                                 const struct ratings_cols *R,
                                 const struct ratings_cols *ref,
                                 const struct monitor_window *w)
{
  const struct monitor_metrics *met = &w->metrics;
  double gap = 0.0;
  int qual = 0;
  for (size_t a = 0; a < met->n_segments; a++) {
    if (met->segments[a].n_pairs < 100)
      continue;
    qual++;
    for (size_t b = 0; b < met->n_segments; b++)
      if (met->segments[b].n_pairs >= 100) {
        double d = met->segments[a].top_k[kix(100)] -
                   met->segments[b].top_k[kix(100)];
        gap = d > gap ? d : gap;
      }
  }
  assert_true(qual >= 2);
  assert_float_equal(met->fairness_gap_top_100, gap, 1e-12);
  size_t nm = model_n_movies(m);
  double *cnt = calloc(nm, sizeof(double)), slots[EVAL_NDEC] = {0}, tot = 0;
  float *scratch = malloc(model_scratch_size(m) * sizeof(float));
  for (size_t c = 0; c < nm; c++)
    for (size_t i = 0; i < ref->n; i++)
      cnt[c] += ref->movie_id[i] == model_movie_id(m, c);
  for (size_t i = 0; i < R->n; i++) {
    int dup = 0;
    for (size_t j = 0; j < i && !dup; j++)
      dup = R->user_id[j] == R->user_id[i];
    if (dup)
      continue;
    int64_t ids[10];
    int k = served_top10(m, rk, order, R->user_id[i], scratch, ids);
    assert_true(k == 10);
    for (int j = 0; j < k; j++) {
      size_t c = 0, rank = 0;
      while (model_movie_id(m, c) != ids[j])
        c++;
      for (size_t o = 0; o < nm; o++)
        rank += cnt[o] < cnt[c] || (cnt[o] == cnt[c] && o < c);
      slots[rank * 10 / nm] += 1.0;
      tot += 1.0;
    }
  }
  double lo = 1.0, hi = 0.0;
  for (int d = 0; d < EVAL_NDEC; d++) {
    assert_float_equal(w->health.exposure[d], slots[d] / tot, 1e-12);
    lo = slots[d] / tot < lo ? slots[d] / tot : lo;
    hi = slots[d] / tot > hi ? slots[d] / tot : hi;
  }
  assert_float_equal(w->health.exposure_gap, hi - lo, 1e-12);
  free(cnt);
  free(scratch);
}

/* Sum over deciles of |a - b| of two exposures. */
static double exposure_l1(const struct monitor_health *a,
                          const struct monitor_health *b)
{
  double d = 0.0;
  for (int i = 0; i < EVAL_NDEC; i++)
    d += fabs(a->exposure[i] - b->exposure[i]);
  return d;
}

/* With a ranker the health and exposure are of the served lists: rep2
 * (the default stage, blend) and passes with --stage ranking and
 * retrieval against recommend_user's lists; rep is the pass without a
 * ranker. Window 0 holds the reference ratings R0. */
static void check_served_lists(struct hv_db *db, const struct hv_model *m,
                               const struct hv_model *rk,
                               const struct ratings_cols *R0,
                               const struct monitor_report *rep,
                               const struct monitor_report *rep2)
{
  struct hv_err e = {0};
  assert_string_equal(rep2->config.lists, "blend");
  assert_int_equal(rep2->config.candidates, RECOMMEND_DEFAULT_CANDIDATES);
  assert_float_equal(rep2->config.blend, RECOMMEND_DEFAULT_BLEND, 1e-12);
  check_fairness_naive(m, rk, RECOMMEND_ORDER_BLEND, R0, R0,
                       &rep2->windows[0]);
  struct monitor_config cfg;
  monitor_config_defaults(&cfg);
  cfg.mode = MONITOR_BATCHES;
  cfg.windows = &rep->windows[0].spec;
  cfg.n_windows = 1;
  cfg.ranker = rk;
  /* the ranker's order alone reorders the lists: the exposure moves */
  cfg.stage = RECOMMEND_ORDER_RANK;
  struct monitor_report r;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &r, &e), 0);
  assert_string_equal(r.config.lists, "ranking");
  assert_float_equal(r.config.blend, 0.0, 0.0);
  check_fairness_naive(m, rk, RECOMMEND_ORDER_RANK, R0, R0, &r.windows[0]);
  assert_true(exposure_l1(&r.windows[0].health, &rep->windows[0].health) >
              0.05);
  assert_true(exposure_l1(&r.reference.health, &rep->reference.health) >
              0.05);
  monitor_report_free(&r);
  /* --stage retrieval: retrieval's lists, the ranker's RMSE still there */
  cfg.stage = RECOMMEND_STAGE_RETRIEVAL;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &r, &e), 0);
  assert_string_equal(r.config.lists, "retrieval");
  assert_int_equal(r.config.candidates, 0);
  assert_true(r.windows[0].metrics.ranker_n > 0);
  assert_float_equal(exposure_l1(&r.windows[0].health,
                                 &rep->windows[0].health), 0.0, 0.0);
  monitor_report_free(&r);
  /* bad settings are refused by name */
  const struct {
    int stage, candidates;
    double blend;
    const char *what;
  } bad[] = {{3, 0, 0, "stage"}, {-1, 0, 0, "stage"},
             {0, RECOMMEND_MAX_CANDIDATES + 1, 0, "--candidates"},
             {0, -1, 0, "--candidates"}, {0, 0, -0.5, "--blend"},
             {0, 0, NAN, "--blend"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cfg.stage = bad[i].stage;
    cfg.candidates = bad[i].candidates;
    cfg.blend = bad[i].blend;
    assert_int_equal(monitor_run(db, NULL, m, &cfg, &r, &e), HV_EINVAL);
    assert_non_null(strstr(e.msg, bad[i].what));
  }
}

static void test_metrics_match_evaluate(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  struct fx_spec s = {200, 300, 30, 5, 0, 0, 1, 11, 1, 0};
  assert_int_equal(fx_load(db, &s), 6000);
  struct hv_model *m = train(db, 1, 4000, 16, 3);
  struct window_spec ws[2] = {{"a", WINDOW_RATING_IDS, 1, 4000},
                              {"b", WINDOW_RATING_IDS, 4001, 6000}};
  struct monitor_config cfg;
  monitor_config_defaults(&cfg);
  cfg.mode = MONITOR_BATCHES;
  cfg.windows = ws;
  cfg.n_windows = 2;
  struct monitor_report rep;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), 0);
  for (int k = 0; k < 2; k++) {
    struct eval_metrics em;
    assert_int_equal(
        dataset_evaluate(db, m, ws[k].first, ws[k].last, &em, &e), 0);
    const struct monitor_metrics *met = &rep.windows[k].metrics;
    assert_int_equal(met->n_pairs, em.n_pairs);
    assert_int_equal(met->n_users, em.n_users);
    assert_int_equal(met->n_unknown_users, em.n_unknown_users);
    for (int i = 0; i < EVAL_NK; i++)
      assert_float_equal(met->top_k[i], em.top_k[i], 1e-12);
    if (k)
      continue; /* unknown users: evaluate puts them in "unknown" */
    for (int g = 0; g < em.n_segments; g++) {
      int found = 0;
      for (size_t j = 0; j < met->n_segments; j++) {
        const struct monitor_segment *sg = &met->segments[j];
        if (strcmp(sg->name, em.seg[g].name))
          continue;
        found = 1;
        assert_int_equal(sg->n_pairs, em.seg[g].n_pairs);
        assert_float_equal(sg->top_k[kix(10)], em.seg[g].top_10, 1e-12);
        assert_float_equal(sg->top_k[kix(100)], em.seg[g].top_100, 1e-12);
      }
      assert_true(found);
    }
  }
  /* the ranking stage per window: the numbers of model_rank_evaluate on
   * the same slice (what harvest evaluate prints) */
  struct train_config rc_cfg;
  train_config_ranking(&rc_cfg);
  rc_cfg.dim = 8;
  rc_cfg.hidden = 8;
  rc_cfg.epochs = 2;
  rc_cfg.split = 1.0;
  rc_cfg.threads = 1;
  rc_cfg.first_rating_id = 1;
  rc_cfg.last_rating_id = 4000;
  struct hv_model *rk = NULL;
  assert_int_equal(dataset_train(db, &rc_cfg, NULL, NULL, NULL, &rk, &e), 0);
  cfg.ranker = rk;
  struct monitor_report rep2;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep2, &e), 0);
  for (int k = 0; k < 2; k++) {
    struct hv_dataset ds;
    struct rank_metrics want;
    assert_int_equal(dataset_load_eval(db, rk, ws[k].first, ws[k].last, &ds,
                                       &e), 0);
    assert_int_equal(model_rank_evaluate(&ds, rk, &want, &e), 0);
    dataset_free(&ds);
    const struct monitor_metrics *met = &rep2.windows[k].metrics;
    assert_int_equal(met->ranker_n, want.n);
    assert_float_equal(met->ranker_rmse, want.rmse, 1e-9);
    assert_float_equal(met->ranker_mae, want.mae, 1e-9);
    assert_float_equal(met->fairness_gap_rmse, want.seg_rmse_gap, 1e-9);
    assert_true(isnan(rep.windows[k].metrics.ranker_rmse)); /* none: off */
  }
  /* the fairness report against the naive computation (window a is the
   * reference itself: the same ratings on both sides) */
  struct ratings_cols R0;
  assert_int_equal(ratings_load(db, 1, 4000, &R0, &e), 0);
  check_fairness_naive(m, NULL, 0, &R0, &R0, &rep.windows[0]);
  assert_string_equal(rep.config.lists, "retrieval");
  check_served_lists(db, m, rk, &R0, &rep, &rep2);
  ratings_cols_free(&R0);
  /* a retrieval model as the ranker is refused by name */
  cfg.ranker = m;
  monitor_report_free(&rep2);
  assert_int_not_equal(monitor_run(db, NULL, m, &cfg, &rep2, &e), 0);
  assert_non_null(strstr(e.msg, "ranker"));
  cfg.ranker = NULL;
  model_free(rk);
  /* the reference is the model's lineage and its metrics are in-sample */
  const struct monitor_reference *ref = &rep.reference;
  assert_int_equal(ref->last_rating_id, 4000);
  assert_true(ref->from_model);
  assert_float_equal(top(&ref->metrics, 100),
                     top(&rep.windows[0].metrics, 100), 1e-12);
  /* the same window as the reference shows no drift at all */
  const struct monitor_window *w0 = &rep.windows[0];
  assert_int_equal(w0->n_drifted, 0);
  assert_int_equal(w0->n_judged, 8);
  monitor_report_free(&rep);
  model_free(m);
  db_close(db);
}

/* synth --drift sudden: every planted change is flagged, in every window
 * after the drift point; what was not planted is not. */
static void test_synth_sudden(void **state)
{
  struct synth_home h;
  synth_home(&h, SYNTH_DRIFT_SUDDEN);
  assert_int_equal(h.res.drift_first_rating_id, 8001);
  struct monitor_report rep;
  monitor_synth(&h, &rep);
  const struct monitor_metrics *rm = &rep.reference.metrics;
  for (size_t i = 0; i < rep.n_windows; i++) {
    const struct monitor_window *w = &rep.windows[i];
    assert_true(w->spec.last > h.res.drift_start_ts);
    /* 3. user mix: a younger cohort (ages, more students) */
    assert_true(drifted(w, "user_age"));
    assert_true(drifted(w, "user_occupation"));
    assert_true(feature(w, "user_age")->cur_mean <
                feature(w, "user_age")->ref_mean - 3);
    /* ... whom the model never trained on: its top scores move */
    assert_true(drifted(w, "prediction_top1_score"));
    /* 1. new movies: their release year is the year they appear */
    assert_true(drifted(w, "movie_year"));
    assert_true(feature(w, "movie_year")->ks.pvalue < 1e-6);
    /* 2. popularity shift */
    assert_true(drifted(w, "movie_popularity"));
    /* 4. rating scale: the mean falls by about 0.35 stars */
    assert_true(drifted(w, "rating"));
    assert_true(w->metrics.rating_mean < rm->rating_mean - 0.2);
    /* not planted: the genre mix follows tastes, which did not change */
    assert_false(drifted(w, "movie_genres"));
    assert_true(w->dataset_drift);
    assert_true(w->drifted_share >= 6.0 / 8.0);
    /* the model decays: accuracy below its in-sample level */
    assert_true(top(&w->metrics, 100) < top(rm, 100));
  }
  monitor_report_free(&rep);
  synth_home_free(&h);
}

/* synth --drift gradual: the drift grows window after window. */
static void test_synth_gradual(void **state)
{
  struct synth_home h;
  synth_home(&h, SYNTH_DRIFT_GRADUAL);
  struct monitor_report rep;
  monitor_synth(&h, &rep);
  const struct monitor_window *first = &rep.windows[0],
                              *last = &rep.windows[4];
  assert_true(first->drifted_share <= 0.25);
  assert_false(first->dataset_drift);
  assert_true(last->dataset_drift);
  double prev = -1;
  for (size_t i = 0; i < rep.n_windows; i++) {
    /* the age shift grows with the blend weight */
    double d = feature(&rep.windows[i], "user_age")->verdict.statistic;
    assert_true(d > prev - 0.03);
    prev = d;
  }
  assert_true(drifted(last, "user_age") && drifted(last, "movie_popularity") &&
              drifted(last, "rating") && drifted(last, "movie_year"));
  monitor_report_free(&rep);
  synth_home_free(&h);
}

/* synth --drift none: no data feature (covariates, label) drifts beyond
 * the false-positive rate allowed (5% of the verdicts, rounded up), and no
 * window has dataset drift. Prediction drift may show: users active only
 * after the training period were never trained, so their scores differ;
 * such users are counted in n_users_not_in_reference. */
static void test_synth_none(void **state)
{
  struct synth_home h;
  synth_home(&h, SYNTH_DRIFT_NONE);
  struct monitor_report rep;
  monitor_synth(&h, &rep);
  size_t verdicts = 0, flagged = 0;
  for (size_t i = 0; i < rep.n_windows; i++) {
    const struct monitor_window *w = &rep.windows[i];
    for (size_t k = 0; k < w->n_features; k++) {
      const struct monitor_feature *f = &w->features[k];
      if (f->group == MONITOR_PREDICTION) {
        if (f->verdict.drift)
          assert_true(w->metrics.n_users_not_in_reference > 0);
        continue;
      }
      verdicts++;
      flagged += f->verdict.drift;
    }
    assert_false(w->dataset_drift);
    const struct monitor_health *hl = &w->health;
    assert_true(hl->coverage_at_10 > 0 && hl->coverage_at_10 <= 1);
    assert_true(hl->gini_at_10 >= 0 && hl->gini_at_10 < 1);
  }
  assert_int_equal(verdicts, 35);
  assert_true(flagged <= (verdicts + 19) / 20);
  monitor_report_free(&rep);
  synth_home_free(&h);
}

/* A logged pass: a run in "Model monitoring", metrics by step, the report
 * as artifact, byte for byte what monitor_run returned. */
static void test_logged_run(void **state)
{
  char home[256];
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  struct hv_model *m = trained_home(home, sizeof(home), 13, &db);
  struct window_spec *ws = NULL;
  size_t n = 0;
  assert_int_equal(window_parse_batches("2001:2500,2501:3000,9000:9999", &ws,
                                        &n, &e),
                   0);
  struct monitor_config cfg;
  monitor_config_defaults(&cfg);
  cfg.mode = MONITOR_BATCHES;
  cfg.windows = ws;
  cfg.n_windows = n;
  cfg.log_run = 1;
  cfg.model_uri = "file.hvm";
  struct monitor_report rep;
  assert_int_equal(monitor_run(db, home, m, &cfg, &rep, &e), 0);
  const char *run = rep.run_id;
  assert_int_equal(strlen(run), 32);
  /* the empty window is reported, not an error */
  const struct monitor_window *w2 = &rep.windows[2];
  assert_int_equal(w2->n_ratings, 0);
  assert_false(w2->dataset_drift);
  assert_int_equal(w2->n_features, 0);
  struct tracking_run *r = NULL;
  assert_int_equal(runs_get(db, run, &r, &e), 0);
  assert_string_equal(r->status, "FINISHED");
  runs_free(r, 1);
  struct tracking_metric *hist = NULL;
  size_t nh = 0;
  assert_int_equal(tracking_metric_history(db, run,
                                           "top_100_categorical_accuracy",
                                           &hist, &nh, &e),
                   0);
  assert_int_equal(nh, 2); /* not for the empty window */
  assert_int_equal(hist[1].step, 1);
  assert_float_equal(hist[1].value, top(&rep.windows[1].metrics, 100), 1e-9);
  tracking_metrics_free(hist, nh);
  assert_int_equal(
      tracking_metric_history(db, run, "user_age.statistic", &hist, &nh, &e),
      0);
  assert_int_equal(nh, 2);
  tracking_metrics_free(hist, nh);
  /* the artifact is the report's JSON, and reads back as the report */
  char out[600];
  snprintf(out, sizeof(out), "%s/report-copy.json", home);
  assert_int_equal(artifacts_save_as(home, db, run, MONITOR_ARTIFACT, out, &e),
                   0);
  json_error_t je;
  json_t *back = json_load_file(out, 0, &je), *j = monitor_report_to_json(&rep);
  assert_non_null(back);
  assert_true(json_equal(back, j));
  assert_int_equal(json_array_size(json_object_get(back, "windows")), 3);
  assert_string_equal(json_string_value(json_object_get(back, "run_id")),
                      run);
  struct monitor_report rb;
  assert_int_equal(monitor_report_from_json(back, &rb, &e), 0);
  json_t *j2 = monitor_report_to_json(&rb);
  assert_true(json_equal(j2, j));
  assert_string_equal(rb.model.uri, "file.hvm");
  json_decref(j2);
  json_decref(back);
  json_decref(j);
  monitor_report_free(&rb);
  monitor_report_free(&rep);
  /* the run is in the experiment "Model monitoring" */
  struct runs_query q = {MONITOR_EXPERIMENT, NULL, NULL, 0};
  struct tracking_run *rs = NULL;
  size_t nr = 0;
  assert_int_equal(runs_search(db, &q, &rs, &nr, &e), 0);
  assert_int_equal(nr, 1);
  runs_free(rs, nr);
  /* logging without a home is refused, and leaves the report empty */
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), HV_EINVAL);
  assert_int_equal(rep.n_windows, 0);
  assert_null(rep.windows);
  free(ws);
  model_free(m);
  db_close(db);
  tu_rmtree(home);
}

/* Issue 16: a dataset without demographics (ml-latest) has no user_age,
 * user_gender or user_occupation to judge: each is skipped "not in this
 * dataset", outside the drift share's denominator, and no gender or age
 * segment (nor a fairness gap over none) is reported. */
static void test_no_demographics(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  assert_int_equal(fx_load_no_demographics(db, 60, 40, 20), 1200);
  struct hv_model *m = train(db, 1, 1000, 8, 1);
  struct monitor_config cfg;
  monitor_config_defaults(&cfg);
  cfg.has_reference = 1;
  cfg.ref_first = 1;
  cfg.ref_last = 1000;
  cfg.has_since = 1;
  cfg.since = 0;
  struct monitor_report rep;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), 0);
  assert_int_equal(rep.n_windows, 1);
  const struct monitor_window *w = &rep.windows[0];
  assert_int_equal(w->n_ratings, 200);
  assert_int_equal(w->n_judged, 5); /* 8 features, 3 not in the dataset */
  static const char *const absent[] = {"user_age", "user_gender",
                                       "user_occupation"};
  for (int i = 0; i < 3; i++) {
    const struct monitor_feature *f = feature(w, absent[i]);
    assert_string_equal(f->skipped, "not in this dataset");
    assert_false(f->measured);
    assert_false(f->verdict.drift);
    assert_int_equal(f->n_categories, 0);
  }
  assert_true(feature(w, "movie_year")->measured);
  assert_int_equal(w->metrics.n_segments, 0);
  assert_true(isnan(w->metrics.fairness_gap_top_100));
  json_t *j = monitor_report_to_json(&rep);
  json_t *jw = json_array_get(json_object_get(j, "windows"), 0);
  assert_int_equal(json_integer_value(json_object_get(jw, "n_features")), 5);
  json_decref(j);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  monitor_report_print_table(&rep, f);
  fclose(f);
  assert_non_null(strstr(text, "not in this dataset, not judged: user_age, "
                               "user_gender, user_occupation"));
  assert_non_null(strstr(text, "/5"));
  free(text);
  monitor_report_free(&rep);
  model_free(m);
  db_close(db);
}

static void test_bad_input(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  struct fx_spec s = {60, 80, 20, 4, 0, 0, 1, 17, 1, 0};
  assert_int_equal(fx_load(db, &s), 1200);
  struct hv_model *m = train(db, 1, 1200, 8, 1);
  struct monitor_config cfg;
  monitor_config_defaults(&cfg);
  struct monitor_report rep;
  memset(&rep, 0xff, sizeof(rep));
  assert_int_equal(monitor_run(NULL, NULL, m, &cfg, &rep, &e), HV_EINVAL);
  assert_null(rep.windows); /* zeroed */
  assert_int_equal(monitor_run(db, NULL, NULL, &cfg, &rep, &e), HV_EINVAL);
  assert_int_equal(monitor_run(db, NULL, m, NULL, &rep, &e), HV_EINVAL);
  assert_int_equal(monitor_run(db, NULL, m, &cfg, NULL, &e), HV_EINVAL);
  /* trained on everything: nothing after it to monitor */
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "--since"));
  assert_non_null(strstr(e.msg, "outside the model's training data"));
  assert_non_null(strstr(e.msg, "in-sample"));
  /* an empty reference */
  cfg.has_reference = 1;
  cfg.ref_first = 5000;
  cfg.ref_last = 6000;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "reference"));
  /* --since alone: one window to the end; a window below min_ratings is
   * skipped: counted, not evaluated */
  cfg.ref_first = 1;
  cfg.ref_last = 1000;
  cfg.has_since = 1;
  cfg.since = 0;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), 0);
  assert_int_equal(rep.n_windows, 1);
  assert_int_equal(rep.windows[0].n_ratings, 200); /* reference excluded */
  assert_int_equal(rep.windows[0].n_judged, 8);
  assert_false(rep.reference.from_model);
  monitor_report_free(&rep);
  cfg.min_ratings = 201;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), 0);
  const struct monitor_window *w = &rep.windows[0];
  assert_int_equal(w->n_judged, 0);
  assert_int_equal(w->n_features, 0);
  assert_string_equal(w->skipped, "200 ratings < min_ratings 201");
  assert_true(isnan(top(&w->metrics, 100)));
  assert_int_equal(w->n_ratings, 200);
  monitor_report_free(&rep);
  /* a forced test that does not fit is refused before any work */
  cfg.num_test = DRIFT_TEST_CHI2;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), HV_EINVAL);
  /* forcing PSI everywhere names it in every verdict */
  cfg.num_test = DRIFT_TEST_PSI;
  cfg.cat_test = DRIFT_TEST_PSI;
  cfg.min_ratings = 0;
  cfg.th.psi = 0.3;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), 0);
  w = &rep.windows[0];
  assert_int_equal(w->n_features, MONITOR_N_FEATURES);
  for (size_t i = 0; i < w->n_features; i++) {
    const struct monitor_feature *f = &w->features[i];
    assert_int_equal(f->verdict.test, DRIFT_TEST_PSI);
    assert_float_equal(f->verdict.threshold, 0.3, 0);
    assert_int_equal(f->verdict.drift, f->psi >= 0.3);
  }
  monitor_report_free(&rep);
  monitor_report_print_table(NULL, stdout);
  monitor_report_free(NULL);
  model_free(m);
  db_close(db);
}

/* The window's fields as the report's JSON holds them. */
static const json_t *window_json_at(const json_t *j, size_t i)
{
  const json_t *w = json_array_get(json_object_get(j, "windows"), i);
  if (!w)
    fail_msg("no window %zu in the JSON", i);
  return w;
}

/* Progress calls: how many, and the windows they named. */
struct progress_log {
  size_t calls, folded, last_index, total;
};

static void on_progress(void *ud, const struct monitor_window *w,
                        size_t total)
{
  struct progress_log *p = ud;
  if (p->calls && w->index <= p->last_index)
    fail_msg("progress out of order: %zu after %zu", w->index,
             p->last_index);
  p->calls++;
  p->folded += w->n_folded > 1 ? w->n_folded : 0;
  p->last_index = w->index;
  p->total = total;
}

/* Issue 16: in-sample windows say so, a window under min_ratings is
 * skipped with the reason (no metrics, no verdicts, no top-100 logged),
 * and a run of empty time windows is one entry. */
static void test_window_flags(void **state)
{
  char home[256];
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  struct hv_model *m = trained_home(home, sizeof(home), 23, &db);
  struct window_spec *ws = NULL;
  size_t n = 0;
  assert_int_equal(window_parse_batches("1:500,1901:2300,2501:2501,"
                                        "2601:3000", &ws, &n, &e), 0);
  struct monitor_config cfg;
  monitor_config_defaults(&cfg);
  cfg.mode = MONITOR_BATCHES;
  cfg.windows = ws;
  cfg.n_windows = n;
  cfg.log_run = 1;
  struct monitor_report rep;
  assert_int_equal(monitor_run(db, home, m, &cfg, &rep, &e), 0);
  assert_int_equal(rep.n_windows, 4);
  const struct monitor_window *w = rep.windows;
  /* in-sample: all of window 0, a quarter of window 1, none of 3 */
  assert_int_equal(w[0].n_in_sample, 500);
  assert_float_equal(monitor_window_in_sample(&w[0]), 1.0, 0);
  assert_int_equal(w[1].n_in_sample, 100);
  assert_float_equal(monitor_window_in_sample(&w[1]), 0.25, 1e-12);
  assert_int_equal(w[3].n_in_sample, 0);
  for (int i = 0; i < 4; i++)
    if (i != 2 && (w[i].skipped[0] || isnan(top(&w[i].metrics, 100))))
      fail_msg("window %d not evaluated: %s", i, w[i].skipped);
  /* the 1-rating window: skipped, counted, nothing measured */
  assert_int_equal(w[2].n_ratings, 1);
  assert_int_equal(w[2].n_users, 1);
  assert_string_equal(w[2].skipped, "1 rating < min_ratings 200");
  assert_true(isnan(top(&w[2].metrics, 100)));
  assert_true(isnan(w[2].health.coverage_at_10));
  assert_int_equal(w[2].n_features, 0);
  assert_int_equal(w[2].n_judged, 0);
  assert_false(w[2].dataset_drift);
  /* the table: in-smp column, "ok, in-sample", "skipped" with its reason,
   * never "0/0  ok" for the small window; the note names the range */
  char tpath[600], text[8192];
  snprintf(tpath, sizeof(tpath), "%s/table.txt", home);
  FILE *f = fopen(tpath, "w+");
  assert_non_null(f);
  monitor_report_print_table(&rep, f);
  rewind(f);
  size_t len = fread(text, 1, sizeof(text) - 1, f);
  text[len] = '\0';
  fclose(f);
  if (!strstr(text, "in-smp") || !strstr(text, "100%") ||
      !strstr(text, " 25%") || !strstr(text, "ok, in-sample") ||
      !strstr(text, "skipped: 1 rating < min_ratings 200") ||
      !strstr(text, "in-sample: 2 windows hold ratings of the model's "
                    "training range 1:2000") ||
      strstr(text, "0/0  ok") || strstr(text, "nan"))
    fail_msg("table:\n%s", text);
  /* the JSON: in_sample, its share, skipped; metrics null when skipped */
  json_t *j = monitor_report_to_json(&rep);
  assert_true(json_is_true(json_object_get(window_json_at(j, 0),
                                           "in_sample")));
  assert_float_equal(num(window_json_at(j, 1), "in_sample_share"), 0.25,
                     1e-12);
  assert_true(json_is_false(json_object_get(window_json_at(j, 3),
                                            "in_sample")));
  assert_null(json_object_get(window_json_at(j, 3), "skipped"));
  assert_string_equal(json_string_value(json_object_get(
                          window_json_at(j, 2), "skipped")),
                      "1 rating < min_ratings 200");
  assert_true(json_is_null(json_object_get(window_json_at(j, 2), "metrics")));
  assert_int_equal((int)num(j, "n_empty_windows"), 0);
  json_decref(j);
  /* the run: no top-100 for the skipped window, its counts all the same */
  struct tracking_metric *hist = NULL;
  size_t nh = 0;
  assert_int_equal(tracking_metric_history(
                       db, rep.run_id, "top_100_categorical_accuracy", &hist,
                       &nh, &e), 0);
  assert_int_equal(nh, 3);
  for (size_t i = 0; i < nh; i++)
    assert_int_not_equal(hist[i].step, 2);
  tracking_metrics_free(hist, nh);
  assert_int_equal(tracking_metric_history(db, rep.run_id, "in_sample_share",
                                           &hist, &nh, &e), 0);
  assert_int_equal(nh, 4);
  assert_float_equal(hist[1].value, 0.25, 1e-12);
  tracking_metrics_free(hist, nh);
  monitor_report_free(&rep);
  free(ws);
  /* time windows: a rating far after the rest leaves a gap of empty
   * windows, folded into one entry; the last window (1 rating) skipped */
  struct ratings_new late = {1, 1, 4.0};
  int64_t late_id = 0;
  assert_int_equal(ratings_insert(db, &late, 1, 1000000 + 3001 + 100000,
                                  &late_id, &e), 0);
  /* fixture: rating r at 1000001 + r; windows of 100 s from rating 2001 */
  monitor_config_defaults(&cfg);
  cfg.window_seconds = 100;
  cfg.has_since = 1;
  cfg.since = 1000001 + 2001;
  struct progress_log pl = {0};
  cfg.progress = on_progress;
  cfg.progress_ud = &pl;
  assert_int_equal(monitor_run(db, NULL, m, &cfg, &rep, &e), 0);
  /* progress: once per entry, the empty run once (not 999 times) */
  assert_int_equal(pl.calls, 12);
  assert_int_equal(pl.folded, 999);
  assert_int_equal(pl.total, 1010);
  assert_int_equal(pl.last_index, 1009);
  /* 10 windows of 100 ratings, 999 empty ones, the late rating's */
  assert_int_equal(rep.n_windows, 12);
  assert_int_equal(monitor_report_n_empty(&rep), 999);
  for (size_t i = 0; i < 10; i++)
    assert_int_equal(rep.windows[i].n_ratings, 100);
  w = &rep.windows[10];
  assert_int_equal(w->n_ratings, 0);
  assert_int_equal(w->n_folded, 999);
  assert_int_equal(w->index, 10);
  assert_int_equal(w->spec.first, rep.windows[9].spec.last);
  assert_int_equal(w->spec.last, rep.windows[11].spec.first);
  assert_string_equal(w->skipped, "no ratings");
  assert_int_equal(rep.windows[11].index, 1009);
  assert_int_equal(rep.windows[11].n_ratings, 1);
  assert_string_equal(rep.windows[11].skipped, "1 rating < min_ratings 200");
  j = monitor_report_to_json(&rep);
  assert_int_equal((int)num(j, "n_empty_windows"), 999);
  assert_int_equal((int)num(window_json_at(j, 10), "n_windows"), 999);
  assert_int_equal(json_array_size(json_object_get(j, "windows")), 12);
  /* ... and it reads back as written */
  struct monitor_report rb;
  assert_int_equal(monitor_report_from_json(j, &rb, &e), 0);
  assert_int_equal(rb.windows[10].n_folded, 999);
  json_t *j2 = monitor_report_to_json(&rb);
  assert_true(json_equal(j, j2));
  json_decref(j2);
  json_decref(j);
  monitor_report_free(&rb);
  f = fopen(tpath, "w+");
  assert_non_null(f);
  monitor_report_print_table(&rep, f);
  rewind(f);
  len = fread(text, 1, sizeof(text) - 1, f);
  text[len] = '\0';
  fclose(f);
  if (!strstr(text, "10-1008 999 empty windows, ") ||
      strstr(text, "  empty\n"))
    fail_msg("table:\n%s", text);
  monitor_report_free(&rep);
  model_free(m);
  db_close(db);
  tu_rmtree(home);
}

/* `harvest monitor` end to end: usage errors, the table, --json. */
static void test_cli(void **state)
{
  char home[256], path[512], cmd[2048], out[1 << 16];
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  struct hv_model *m = trained_home(home, sizeof(home), 19, &db);
  snprintf(path, sizeof(path), "%s/m.hvm", home);
  assert_int_equal(model_save(m, path, &e), 0);
  model_free(m);
  db_close(db);
  const char *bin = tu_bin();
  static const char *const usage[] = {
      "", "--window 7x", "--batches 5:1", "--batches 1:2 --window 7d",
      "--window 7d --threshold-share 2", "--window 7d --num-stattest chi2",
      "--window 7d --cat-stattest nope", "--since 1998-02-30", "extra",
      "--windows 3", "--window 7d --psi-bound -1"};
  for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s monitor --model %s %s 2>&1",
             bin, home, path, usage[i]);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
  }
  snprintf(cmd, sizeof(cmd), "%s monitor --help", bin);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "--threshold-share"));
  /* no Production model registered */
  snprintf(cmd, sizeof(cmd), "%s --home %s monitor --batches 1:10 2>&1", bin,
           home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "Production"));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s monitor --model %s --batches 1:2000,2001:3000", bin,
           home, path);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "top-100"));
  assert_non_null(strstr(out, "Model monitoring"));
  /* progress: a line per window on stderr; -q: none (issue 16) */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s monitor --model %s --batches 1:2000,2001:3000 "
           "--no-log 2>&1 >/dev/null", bin, home, path);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "harvest monitor: window 1/2 done (2000 ratings)\n"
                           "harvest monitor: window 2/2 done (1000 "
                           "ratings)\n");
  snprintf(cmd, sizeof(cmd),
           "%s --home %s monitor --model %s --batches 1:2000,2001:3000 "
           "--no-log -q 2>&1 >/dev/null", bin, home, path);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "");
  snprintf(cmd, sizeof(cmd),
           "%s --home %s monitor --model %s --batches 2001:3000 --no-log "
           "--json --psi-bound 0.25",
           bin, home, path);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_null(json_object_get(j, "run_id"));
  const json_t *w = json_array_get(json_object_get(j, "windows"), 0);
  assert_int_equal((int)num(w, "first_rating_id"), 2001);
  assert_int_equal((int)num(w, "n_ratings"), 1000);
  assert_non_null(json_object_get(w, "dataset_drift"));
  assert_float_equal(
      num(json_object_get(json_object_get(j, "config"), "thresholds"), "psi"),
      0.25, 0);
  /* no ranker registered: the metrics carry none (retrieval only) */
  assert_null(json_object_get(json_object_get(w, "metrics"), "ranker_rmse"));
  json_decref(j);
  /* --ranker: a retrieval model or an unknown URI is refused by name */
  static const char *const bad_rk[][2] = {
      {"", "not a ranking model"},
      {"models:/nope/Production", "--ranker"}};
  for (size_t i = 0; i < 2; i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s monitor --model %s --batches "
             "2001:3000 --no-log --ranker %s 2>&1", bin, home, path,
             bad_rk[i][0][0] ? bad_rk[i][0] : path);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
    if (!strstr(out, bad_rk[i][1]))
      fail_msg("'%s' not in: %s", bad_rk[i][1], out);
  }
  tu_rmtree(home);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_duration),
      cmocka_unit_test(test_parse_time),
      cmocka_unit_test(test_parse_batches),
      cmocka_unit_test(test_time_series),
      cmocka_unit_test(test_config_check),
      cmocka_unit_test(test_queries),
      cmocka_unit_test(test_metrics_match_evaluate),
      cmocka_unit_test(test_synth_sudden),
      cmocka_unit_test(test_synth_gradual),
      cmocka_unit_test(test_synth_none),
      cmocka_unit_test(test_logged_run),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_window_flags),
      cmocka_unit_test(test_no_demographics),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

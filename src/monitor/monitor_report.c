/*
 * monitor_report.c - the monitoring report: helpers, the one JSON writer
 * and its reader. See monitor_report.h; the table is monitor_table.c.
 *
 * The writer keeps the key order stored reports and clients have always
 * seen (jansson keeps insertion order), including the different order of
 * an empty window's keys.
 */
#include "monitor/monitor_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

/* ---- helpers ----------------------------------------------------------- */

void monitor_metrics_init(struct monitor_metrics *m)
{
  memset(m, 0, sizeof(*m));
  m->rating_mean = NAN;
  for (int k = 0; k < EVAL_NK; k++)
    m->top_k[k] = NAN;
  m->n_users_not_in_reference = -1;
  m->fairness_gap_top_100 = NAN;
  m->ranker_rmse = m->ranker_mae = m->fairness_gap_rmse = NAN;
}

void monitor_health_init(struct monitor_health *h)
{
  memset(h, 0, sizeof(*h));
  h->coverage_at_10 = h->gini_at_10 = NAN;
  h->mean_popularity_at_10 = h->top1_score_mean = NAN;
  h->exposure_gap = NAN;
  for (int d = 0; d < EVAL_NDEC; d++)
    h->exposure[d] = NAN;
}

double monitor_metrics_top(const struct monitor_metrics *m, int k)
{
  for (int i = 0; i < EVAL_NK; i++)
    if (eval_ks[i] == k)
      return m->top_k[i];
  return NAN;
}

void monitor_report_free(struct monitor_report *r)
{
  if (!r)
    return;
  for (size_t i = 0; r->windows && i < r->n_windows; i++)
    for (size_t f = 0; f < MONITOR_N_FEATURES; f++)
      free(r->windows[i].features[f].categories);
  free(r->windows);
  memset(r, 0, sizeof(*r));
}

double monitor_window_in_sample(const struct monitor_window *w)
{
  return w && w->n_ratings ? (double)w->n_in_sample / (double)w->n_ratings
                           : 0.0;
}

size_t monitor_report_n_empty(const struct monitor_report *r)
{
  size_t n = 0;
  for (size_t i = 0; r && i < r->n_windows; i++)
    n += r->windows[i].n_ratings ? 0
         : r->windows[i].n_folded ? r->windows[i].n_folded : 1;
  return n;
}

const struct monitor_feature *monitor_report_feature(
    const struct monitor_window *w, const char *name)
{
  for (size_t i = 0; w && name && i < w->n_features; i++)
    if (!strcmp(w->features[i].verdict.name, name))
      return &w->features[i];
  return NULL;
}

void monitor_report_drifted_names(const struct monitor_window *w, char *buf,
                                  size_t cap)
{
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < w->n_features && off < cap; i++) {
    if (!w->features[i].verdict.drift)
      continue;
    off += (size_t)snprintf(buf + off, cap - off, "%s%s", off ? ", " : "",
                            w->features[i].verdict.name);
  }
}

/* ---- JSON: parts ------------------------------------------------------- */

int monitor_report_verdict_json(json_t *o,
                                const struct drift_feature_result *v)
{
  int rc = 0;
  rc |= json_object_set_new(o, "test", json_string(drift_test_name(v->test)));
  rc |= json_object_set_new(o, "statistic", hv_json_num(v->statistic));
  rc |= json_object_set_new(o, "pvalue", hv_json_num(v->pvalue));
  rc |= json_object_set_new(o, "threshold", hv_json_num(v->threshold));
  rc |= json_object_set_new(o, "drift", json_boolean(v->drift));
  return rc ? HV_ENOMEM : 0;
}

static const char *const group_names[] = {"covariate", "label",
                                          "prediction"};

static const char *group_name(enum monitor_group g)
{
  return (unsigned)g < 3 ? group_names[g] : "?";
}

static const char *psi_grade_name(int g)
{
  return g >= 2 ? "major" : (g == 1 ? "moderate" : "none");
}

static void set_topk(json_t *j, const double *top_k)
{
  for (int k = 0; k < EVAL_NK; k++) {
    char key[48];
    snprintf(key, sizeof(key), "top_%d_categorical_accuracy", eval_ks[k]);
    json_object_set_new(j, key, hv_json_num(top_k[k]));
  }
}

static json_t *metrics_json(const struct monitor_metrics *m)
{
  json_t *j = json_pack(
      "{s:I, s:I, s:I, s:I, s:o}", "n_pairs", (json_int_t)m->n_pairs,
      "n_users", (json_int_t)m->n_users, "n_unknown_users",
      (json_int_t)m->n_unknown_users, "n_unknown_movies",
      (json_int_t)m->n_unknown_movies, "rating_mean", hv_json_num(m->rating_mean));
  json_t *segs = json_array();
  if (!j || !segs) {
    json_decref(j);
    json_decref(segs);
    return NULL;
  }
  set_topk(j, m->top_k);
  for (size_t s = 0; s < m->n_segments && s < MONITOR_N_SEGMENTS; s++) {
    const struct monitor_segment *sg = &m->segments[s];
    json_t *g = json_pack("{s:s, s:I, s:I}", "segment", sg->name, "n_pairs",
                          (json_int_t)sg->n_pairs, "n_users",
                          (json_int_t)sg->n_users);
    if (g) {
      set_topk(g, sg->top_k);
      json_array_append_new(segs, g);
    }
  }
  json_object_set_new(j, "segments", segs);
  if (m->n_users_not_in_reference >= 0)
    json_object_set_new(j, "n_users_not_in_reference",
                        json_integer(m->n_users_not_in_reference));
  json_object_set_new(j, "fairness_gap_top_100",
                      hv_json_num(m->fairness_gap_top_100));
  if (m->ranker_n) { /* only with a ranking stage */
    json_object_set_new(j, "ranker_rmse", hv_json_num(m->ranker_rmse));
    json_object_set_new(j, "ranker_mae", hv_json_num(m->ranker_mae));
    json_object_set_new(j, "ranker_n_pairs",
                        json_integer((json_int_t)m->ranker_n));
    json_object_set_new(j, "fairness_gap_rmse",
                        hv_json_num(m->fairness_gap_rmse));
  }
  return j;
}

static json_t *health_json(const struct monitor_health *h)
{
  json_t *ex = json_array();
  for (int d = 0; ex && d < EVAL_NDEC; d++)
    json_array_append_new(ex, hv_json_num(h->exposure[d]));
  return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "n_users",
                   (json_int_t)h->n_users, "coverage_at_10",
                   hv_json_num(h->coverage_at_10), "gini_at_10", hv_json_num(h->gini_at_10),
                   "mean_popularity_at_10", hv_json_num(h->mean_popularity_at_10),
                   "top1_score_mean", hv_json_num(h->top1_score_mean),
                   "exposure_by_decile", ex, "fairness_gap_exposure",
                   hv_json_num(h->exposure_gap));
}

static json_t *window_health_json(const struct monitor_window *w)
{
  json_t *j = health_json(&w->health);
  if (!j)
    return NULL;
  json_object_set_new(j, "reference", health_json(&w->health_ref));
  json_object_set_new(j, "coverage_ratio", hv_json_num(w->coverage_ratio));
  json_object_set_new(j, "gini_delta", hv_json_num(w->gini_delta));
  json_object_set_new(j, "mean_popularity_ratio",
                      hv_json_num(w->mean_popularity_ratio));
  return j;
}

/* ---- JSON: features ---------------------------------------------------- */

static json_t *categories_json(const struct monitor_feature *f)
{
  json_t *a = json_array();
  for (size_t k = 0; a && k < f->n_categories; k++) {
    const struct monitor_category *c = &f->categories[k];
    json_array_append_new(a, json_pack("{s:s, s:o, s:o}", "category",
                                       c->label, "reference",
                                       hv_json_num(c->reference), "current",
                                       hv_json_num(c->current)));
  }
  return a;
}

/* The statistics of a measured feature, in the order of its kind. */
static json_t *measured_json(const struct monitor_feature *f)
{
  const char *name = f->verdict.name, *group = group_name(f->group);
  if (f->kind == MONITOR_NUMERIC)
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, "
        "s:o, s:s}",
        "name", name, "group", group, "kind", "numeric", "n_ref",
        (json_int_t)f->n_ref, "n_cur", (json_int_t)f->n_cur, "ref_mean",
        hv_json_num(f->ref_mean), "cur_mean", hv_json_num(f->cur_mean), "ks_statistic",
        hv_json_num(f->ks.statistic), "ks_pvalue", hv_json_num(f->ks.pvalue), "ks_method",
        drift_ks_method_name(f->ks.method), "wasserstein",
        hv_json_num(f->wasserstein), "wasserstein_norm", hv_json_num(f->wasserstein_norm),
        "psi", hv_json_num(f->psi), "js", hv_json_num(f->js), "psi_grade",
        psi_grade_name(f->psi_grade));
  return json_pack(
      "{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:i, s:o, s:o, s:s, s:o}", "name",
      name, "group", group, "kind", "categorical", "n_ref",
      (json_int_t)f->n_ref, "n_cur", (json_int_t)f->n_cur, "chi2_statistic",
      hv_json_num(f->chi2.statistic), "chi2_pvalue", hv_json_num(f->chi2.pvalue),
      "chi2_dof", f->chi2.dof, "psi", hv_json_num(f->psi), "js", hv_json_num(f->js),
      "psi_grade", psi_grade_name(f->psi_grade), "categories",
      categories_json(f));
}

static json_t *feature_json(const struct monitor_feature *f)
{
  if (!f->measured)
    return json_pack(
        "{s:s, s:s, s:s, s:n, s:n, s:n, s:b, s:I, s:I, s:s}", "name",
        f->verdict.name, "group", group_name(f->group), "kind",
        f->kind == MONITOR_NUMERIC ? "numeric" : "categorical", "test",
        "statistic", "threshold", "drift", 0, "n_ref", (json_int_t)f->n_ref,
        "n_cur", (json_int_t)f->n_cur, "skipped", f->skipped);
  json_t *j = measured_json(f);
  if (!j || monitor_report_verdict_json(j, &f->verdict) ||
      (f->skipped[0] &&
       json_object_set_new(j, "skipped", json_string(f->skipped)))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* ---- JSON: windows ----------------------------------------------------- */

static json_t *window_head(const struct monitor_window *w)
{
  const struct window_spec *ws = &w->spec;
  json_t *j = json_pack("{s:I, s:s, s:s, s:I}", "index", (json_int_t)w->index,
                        "name", ws->name, "kind",
                        ws->kind == WINDOW_TIME ? "time" : "rating_ids",
                        "n_ratings", (json_int_t)w->n_ratings);
  if (!j)
    return NULL;
  if (ws->kind == WINDOW_RATING_IDS) {
    json_object_set_new(j, "first_rating_id", json_integer(ws->first));
    json_object_set_new(j, "last_rating_id", json_integer(ws->last));
  } else {
    char a[32], b[32];
    window_format_time(ws->first, a, sizeof(a));
    window_format_time(ws->last, b, sizeof(b));
    json_object_set_new(j, "start", json_string(a));
    json_object_set_new(j, "end", json_string(b));
    json_object_set_new(j, "start_ts", json_integer(ws->first));
    json_object_set_new(j, "end_ts", json_integer(ws->last));
  }
  return j;
}

static void set_verdicts(json_t *j, const struct monitor_window *w)
{
  json_object_set_new(j, "n_features", json_integer((json_int_t)w->n_judged));
  json_object_set_new(j, "n_drifted", json_integer((json_int_t)w->n_drifted));
  json_object_set_new(j, "drifted_share", json_real(w->drifted_share));
  json_object_set_new(j, "dataset_drift", json_boolean(w->dataset_drift));
}

/* Why w was not evaluated, or "" (an empty window always: "no ratings",
 * also in a report made by hand). */
static const char *skip_reason(const struct monitor_window *w)
{
  return w->skipped[0] || w->n_ratings ? w->skipped : "no ratings";
}

/* The in-sample counts, and why the window was skipped (with the empty
 * windows an entry stands for). */
static int set_sample(json_t *j, const struct monitor_window *w)
{
  int rc = 0;
  const char *why = skip_reason(w);
  rc |= json_object_set_new(j, "n_in_sample",
                            json_integer((json_int_t)w->n_in_sample));
  rc |= json_object_set_new(j, "in_sample", json_boolean(w->n_in_sample));
  rc |= json_object_set_new(j, "in_sample_share",
                            json_real(monitor_window_in_sample(w)));
  if (why[0])
    rc |= json_object_set_new(j, "skipped", json_string(why));
  if (!w->n_ratings)
    rc |= json_object_set_new(
        j, "n_windows", json_integer((json_int_t)(w->n_folded ? w->n_folded
                                                              : 1)));
  return rc;
}

static json_t *window_json(const struct monitor_window *w)
{
  json_t *j = window_head(w), *fs = json_array();
  if (!j || !fs || set_sample(j, w)) {
    json_decref(j);
    json_decref(fs);
    return NULL;
  }
  if (skip_reason(w)[0]) { /* counts only: no metrics, features, health */
    json_object_set_new(j, "n_users", json_integer((json_int_t)w->n_users));
    json_object_set_new(j, "metrics", json_null());
    json_object_set_new(j, "features", fs);
    set_verdicts(j, w);
    json_object_set_new(j, "health", json_null());
    return j;
  }
  json_object_set_new(j, "features", fs);
  for (size_t i = 0; i < w->n_features; i++) {
    json_t *f = feature_json(&w->features[i]);
    if (!f || json_array_append_new(fs, f)) {
      json_decref(j);
      return NULL;
    }
  }
  set_verdicts(j, w);
  json_object_set_new(j, "n_users", json_integer((json_int_t)w->n_users));
  json_object_set_new(j, "metrics", metrics_json(&w->metrics));
  json_object_set_new(j, "health", window_health_json(w));
  return j;
}

/* ---- JSON: the report -------------------------------------------------- */

static json_t *model_json(const struct monitor_model_info *m)
{
  return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:b}", "uri",
                   m->uri, "sha256", m->sha256, "trained_first_rating_id",
                   (json_int_t)m->trained_first_rating_id,
                   "trained_last_rating_id",
                   (json_int_t)m->trained_last_rating_id, "n_train_ratings",
                   (json_int_t)m->n_train_ratings, "n_users",
                   (json_int_t)m->n_users, "n_movies",
                   (json_int_t)m->n_movies, "dim", m->dim, "features",
                   m->features);
}

static json_t *reference_json(const struct monitor_reference *r)
{
  char a[32], b[32];
  window_format_time(r->start_ts, a, sizeof(a));
  window_format_time(r->end_ts, b, sizeof(b));
  return json_pack("{s:I, s:I, s:s, s:I, s:I, s:s, s:s, s:o, s:o}",
                   "first_rating_id", (json_int_t)r->first_rating_id,
                   "last_rating_id", (json_int_t)r->last_rating_id, "source",
                   r->from_model ? "model lineage" : "config", "n_ratings",
                   (json_int_t)r->n_ratings, "n_users",
                   (json_int_t)r->n_users, "start", a, "end", b, "metrics",
                   metrics_json(&r->metrics), "health",
                   health_json(&r->health));
}

static const char *test_or_default(int t)
{
  return t >= 0 ? drift_test_name((enum drift_test)t) : "default";
}

/* {"pipeline", "candidates"?, "blend"?}: where the top-10s came from. */
static json_t *lists_json(const struct monitor_settings *c)
{
  json_t *j = json_pack("{s:s}", "pipeline",
                        c->lists[0] ? c->lists : "retrieval");
  if (j && c->candidates > 0)
    json_object_set_new(j, "candidates", json_integer(c->candidates));
  if (j && c->blend > 0)
    json_object_set_new(j, "blend", json_real(c->blend));
  return j;
}

static json_t *config_json(const struct monitor_settings *c)
{
  const struct drift_thresholds *t = &c->th;
  json_t *j = json_pack(
      "{s:s, s:I, s:s, s:f, s:I, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:I}, "
      "s:s, s:s}",
      "mode", c->mode == MONITOR_BATCHES ? "batches" : "time",
      "window_seconds", (json_int_t)c->window_seconds, "since",
      c->has_since ? "given" : "end of reference", "threshold_share",
      c->threshold_share, "min_ratings", (json_int_t)c->min_ratings,
      "thresholds", "ks_pvalue", t->ks_pvalue, "chi2_pvalue", t->chi2_pvalue,
      "wasserstein_norm", t->wasserstein_norm, "psi", t->psi, "psi_major",
      t->psi_major, "js", t->js, "small_n", (json_int_t)t->small_n,
      "num_stattest", test_or_default(c->num_test), "cat_stattest",
      test_or_default(c->cat_test));
  if (j && json_object_set_new(j, "lists", lists_json(c))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

json_t *monitor_report_to_json(const struct monitor_report *r)
{
  if (!r)
    return NULL;
  json_t *j = json_object(), *wins = json_array();
  int rc = !j || !wins;
  for (size_t i = 0; !rc && i < r->n_windows; i++)
    rc = json_array_append_new(wins, window_json(&r->windows[i]));
  if (!rc)
    rc = json_object_set_new(j, "model", model_json(&r->model)) ||
         json_object_set_new(j, "reference", reference_json(&r->reference)) ||
         json_object_set_new(j, "config", config_json(&r->config));
  if (!rc) {
    rc = json_object_set_new(j, "windows", wins);
    wins = NULL;
  }
  if (!rc)
    rc = json_object_set_new(
        j, "n_empty_windows",
        json_integer((json_int_t)monitor_report_n_empty(r)));
  if (!rc)
    rc = json_object_set_new(j, "seconds", json_real(r->seconds));
  if (!rc && r->run_id[0])
    rc = json_object_set_new(j, "run_id", json_string(r->run_id));
  json_decref(wins);
  if (rc) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* ---- reading a stored report ------------------------------------------ */

/* A number (NaN when absent, null or not a number). */
static double rnum(const json_t *o, const char *k)
{
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A count or id (0 when absent or not a finite number; clamped to the
 * int64 range). */
static int64_t ri64(const json_t *o, const char *k)
{
  double v = rnum(o, k);
  if (!isfinite(v))
    return 0;
  if (v >= 0x1p63)
    return INT64_MAX;
  return v <= -0x1p63 ? INT64_MIN : (int64_t)v;
}

/* A small int (0 when absent; clamped to the int range). */
static int rint32(const json_t *o, const char *k)
{
  int64_t v = ri64(o, k);
  return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int)v);
}

static size_t rsize(const json_t *o, const char *k)
{
  int64_t v = ri64(o, k);
  return v > 0 ? (size_t)v : 0;
}

static void rstr(const json_t *o, const char *k, char *buf, size_t cap)
{
  const char *s = json_string_value(json_object_get(o, k));
  snprintf(buf, cap, "%s", s ? s : "");
}

static int is(const json_t *o, const char *k, const char *want)
{
  const char *s = json_string_value(json_object_get(o, k));
  return s && !strcmp(s, want);
}

static void read_topk(const json_t *o, double *top_k)
{
  for (int k = 0; k < EVAL_NK; k++) {
    char key[48];
    snprintf(key, sizeof(key), "top_%d_categorical_accuracy", eval_ks[k]);
    top_k[k] = rnum(o, key);
  }
}

static void read_metrics(const json_t *o, struct monitor_metrics *m)
{
  monitor_metrics_init(m);
  if (!json_is_object(o))
    return;
  m->n_pairs = rsize(o, "n_pairs");
  m->n_users = rsize(o, "n_users");
  m->n_unknown_users = rsize(o, "n_unknown_users");
  m->n_unknown_movies = rsize(o, "n_unknown_movies");
  m->rating_mean = rnum(o, "rating_mean");
  read_topk(o, m->top_k);
  const json_t *segs = json_object_get(o, "segments");
  for (size_t i = 0; i < json_array_size(segs) && i < MONITOR_N_SEGMENTS;
       i++) {
    const json_t *g = json_array_get(segs, i);
    struct monitor_segment *sg = &m->segments[m->n_segments++];
    rstr(g, "segment", sg->name, sizeof(sg->name));
    sg->n_pairs = rsize(g, "n_pairs");
    sg->n_users = rsize(g, "n_users");
    read_topk(g, sg->top_k);
  }
  if (json_is_number(json_object_get(o, "n_users_not_in_reference")))
    m->n_users_not_in_reference = ri64(o, "n_users_not_in_reference");
  m->fairness_gap_top_100 = rnum(o, "fairness_gap_top_100");
  m->ranker_rmse = rnum(o, "ranker_rmse");
  m->ranker_mae = rnum(o, "ranker_mae");
  m->ranker_n = rsize(o, "ranker_n_pairs");
  m->fairness_gap_rmse = rnum(o, "fairness_gap_rmse");
}

static void read_health(const json_t *o, struct monitor_health *h)
{
  monitor_health_init(h);
  h->n_users = rsize(o, "n_users");
  h->coverage_at_10 = rnum(o, "coverage_at_10");
  h->gini_at_10 = rnum(o, "gini_at_10");
  h->mean_popularity_at_10 = rnum(o, "mean_popularity_at_10");
  h->top1_score_mean = rnum(o, "top1_score_mean");
  h->exposure_gap = rnum(o, "fairness_gap_exposure");
  const json_t *ex = json_object_get(o, "exposure_by_decile");
  for (size_t d = 0; d < EVAL_NDEC && d < json_array_size(ex); d++) {
    const json_t *v = json_array_get(ex, d);
    h->exposure[d] = json_is_number(v) ? json_number_value(v) : NAN;
  }
}

static int read_categories(const json_t *a, struct monitor_feature *f,
                           struct hv_err *err)
{
  size_t n = json_array_size(a);
  if (!n)
    return 0;
  if (!(f->categories = calloc(n, sizeof(*f->categories))))
    return hv_err_set(err, HV_ENOMEM, "monitor report: out of memory");
  for (size_t k = 0; k < n; k++) {
    const json_t *c = json_array_get(a, k);
    struct monitor_category *mc = &f->categories[f->n_categories++];
    rstr(c, "category", mc->label, sizeof(mc->label));
    mc->reference = rnum(c, "reference");
    mc->current = rnum(c, "current");
  }
  return 0;
}

/* The statistics and the verdict of a measured feature. */
static int read_measured(const json_t *o, struct monitor_feature *f,
                         struct hv_err *err)
{
  struct drift_feature_result *v = &f->verdict;
  const char *test = json_string_value(json_object_get(o, "test"));
  if (drift_test_parse(test, &v->test, err))
    return hv_err_set(err, HV_ECORRUPT, "monitor report: feature %s: "
                      "unknown test '%s'", v->name, test);
  v->statistic = rnum(o, "statistic");
  v->pvalue = rnum(o, "pvalue");
  v->threshold = rnum(o, "threshold");
  f->psi = rnum(o, "psi");
  f->js = rnum(o, "js");
  f->psi_grade = is(o, "psi_grade", "major") ? 2
                 : is(o, "psi_grade", "moderate") ? 1 : 0;
  if (f->kind == MONITOR_NUMERIC) {
    f->ref_mean = rnum(o, "ref_mean");
    f->cur_mean = rnum(o, "cur_mean");
    f->ks.statistic = rnum(o, "ks_statistic");
    f->ks.pvalue = rnum(o, "ks_pvalue");
    f->ks.method = is(o, "ks_method", "asymp") ? DRIFT_KS_ASYMP
                                               : DRIFT_KS_EXACT;
    f->wasserstein = rnum(o, "wasserstein");
    f->wasserstein_norm = rnum(o, "wasserstein_norm");
    return 0;
  }
  f->chi2.statistic = rnum(o, "chi2_statistic");
  f->chi2.pvalue = rnum(o, "chi2_pvalue");
  f->chi2.dof = rint32(o, "chi2_dof");
  return read_categories(json_object_get(o, "categories"), f, err);
}

static int read_feature(const json_t *o, struct monitor_feature *f,
                        struct hv_err *err)
{
  struct drift_feature_result *v = &f->verdict;
  rstr(o, "name", v->name, sizeof(v->name));
  f->group = is(o, "group", "label")        ? MONITOR_LABEL
             : is(o, "group", "prediction") ? MONITOR_PREDICTION
                                            : MONITOR_COVARIATE;
  f->kind = is(o, "kind", "categorical") ? MONITOR_CATEGORICAL
                                         : MONITOR_NUMERIC;
  f->n_ref = ri64(o, "n_ref");
  f->n_cur = ri64(o, "n_cur");
  rstr(o, "skipped", f->skipped, sizeof(f->skipped));
  v->drift = json_is_true(json_object_get(o, "drift"));
  v->statistic = v->pvalue = v->threshold = NAN;
  f->measured = json_is_string(json_object_get(o, "test"));
  return f->measured ? read_measured(o, f, err) : 0;
}

static void read_spec(const json_t *o, struct window_spec *ws)
{
  rstr(o, "name", ws->name, sizeof(ws->name));
  ws->kind = is(o, "kind", "time") ? WINDOW_TIME : WINDOW_RATING_IDS;
  ws->first = ri64(o, ws->kind == WINDOW_TIME ? "start_ts"
                                              : "first_rating_id");
  ws->last = ri64(o, ws->kind == WINDOW_TIME ? "end_ts" : "last_rating_id");
}

static int read_window(const json_t *o, struct monitor_window *w,
                       struct hv_err *err)
{
  w->index = rsize(o, "index");
  read_spec(o, &w->spec);
  w->n_ratings = rsize(o, "n_ratings");
  w->n_users = rsize(o, "n_users");
  w->n_in_sample = rsize(o, "n_in_sample");
  rstr(o, "skipped", w->skipped, sizeof(w->skipped));
  if (!w->n_ratings && !w->skipped[0]) /* reports before "skipped" */
    snprintf(w->skipped, sizeof(w->skipped), "no ratings");
  w->n_folded = w->n_ratings ? 1 : rsize(o, "n_windows");
  if (!w->n_folded)
    w->n_folded = 1;
  read_metrics(json_object_get(o, "metrics"), &w->metrics);
  const json_t *h = json_object_get(o, "health");
  read_health(h, &w->health);
  read_health(json_object_get(h, "reference"), &w->health_ref);
  w->coverage_ratio = rnum(h, "coverage_ratio");
  w->gini_delta = rnum(h, "gini_delta");
  w->mean_popularity_ratio = rnum(h, "mean_popularity_ratio");
  const json_t *fs = json_object_get(o, "features");
  for (size_t i = 0; i < json_array_size(fs) && i < MONITOR_N_FEATURES; i++)
    if (read_feature(json_array_get(fs, i), &w->features[w->n_features++],
                     err))
      return err->code;
  w->n_judged = rsize(o, "n_features");
  w->n_drifted = rsize(o, "n_drifted");
  w->drifted_share = rnum(o, "drifted_share");
  w->dataset_drift = json_is_true(json_object_get(o, "dataset_drift"));
  return 0;
}

static void read_reference(const json_t *o, struct monitor_reference *r)
{
  char t[64];
  r->first_rating_id = ri64(o, "first_rating_id");
  r->last_rating_id = ri64(o, "last_rating_id");
  r->from_model = !is(o, "source", "config");
  r->n_ratings = rsize(o, "n_ratings");
  r->n_users = rsize(o, "n_users");
  rstr(o, "start", t, sizeof(t));
  if (window_parse_time(t, &r->start_ts, "start", NULL))
    r->start_ts = 0;
  rstr(o, "end", t, sizeof(t));
  if (window_parse_time(t, &r->end_ts, "end", NULL))
    r->end_ts = 0;
  read_metrics(json_object_get(o, "metrics"), &r->metrics);
  read_health(json_object_get(o, "health"), &r->health);
}

static void read_model(const json_t *o, struct monitor_model_info *m)
{
  rstr(o, "uri", m->uri, sizeof(m->uri));
  rstr(o, "sha256", m->sha256, sizeof(m->sha256));
  m->trained_first_rating_id = ri64(o, "trained_first_rating_id");
  m->trained_last_rating_id = ri64(o, "trained_last_rating_id");
  m->n_train_ratings = ri64(o, "n_train_ratings");
  m->n_users = ri64(o, "n_users");
  m->n_movies = ri64(o, "n_movies");
  m->dim = rint32(o, "dim");
  m->features = json_is_true(json_object_get(o, "features"));
}

/* A test name, "default" or anything unknown as -1. */
static int read_test(const json_t *o, const char *k)
{
  enum drift_test t;
  const char *s = json_string_value(json_object_get(o, k));
  return s && drift_test_parse(s, &t, NULL) == 0 ? (int)t : -1;
}

static void read_config(const json_t *o, struct monitor_settings *c)
{
  const json_t *t = json_object_get(o, "thresholds");
  c->mode = is(o, "mode", "batches") ? MONITOR_BATCHES : MONITOR_TIME;
  c->window_seconds = ri64(o, "window_seconds");
  c->has_since = is(o, "since", "given");
  c->threshold_share = rnum(o, "threshold_share");
  c->min_ratings = rsize(o, "min_ratings");
  c->th.ks_pvalue = rnum(t, "ks_pvalue");
  c->th.chi2_pvalue = rnum(t, "chi2_pvalue");
  c->th.wasserstein_norm = rnum(t, "wasserstein_norm");
  c->th.psi = rnum(t, "psi");
  c->th.psi_major = rnum(t, "psi_major");
  c->th.js = rnum(t, "js");
  c->th.small_n = rsize(t, "small_n");
  c->num_test = read_test(o, "num_stattest");
  c->cat_test = read_test(o, "cat_stattest");
  const json_t *l = json_object_get(o, "lists");
  rstr(l, "pipeline", c->lists, sizeof(c->lists));
  if (!c->lists[0]) /* reports before the served lists: retrieval's */
    snprintf(c->lists, sizeof(c->lists), "retrieval");
  size_t k = rsize(l, "candidates");
  c->candidates = k < 1000000 ? (int)k : 1000000;
  double b = rnum(l, "blend");
  c->blend = isfinite(b) && b > 0 ? b : 0.0;
}

int monitor_report_from_json(const json_t *j, struct monitor_report *r,
                             struct hv_err *err)
{
  if (!r)
    return hv_err_set(err, HV_EINVAL, "monitor report: no report record");
  memset(r, 0, sizeof(*r));
  const json_t *wins = json_object_get(j, "windows");
  if (!json_is_array(wins))
    return hv_err_set(err, HV_ECORRUPT, "monitor report: not an object "
                      "with a \"windows\" list");
  read_model(json_object_get(j, "model"), &r->model);
  read_reference(json_object_get(j, "reference"), &r->reference);
  read_config(json_object_get(j, "config"), &r->config);
  r->seconds = rnum(j, "seconds");
  rstr(j, "run_id", r->run_id, sizeof(r->run_id));
  size_t n = json_array_size(wins);
  if (n && !(r->windows = calloc(n, sizeof(*r->windows))))
    return hv_err_set(err, HV_ENOMEM, "monitor report: out of memory");
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    r->n_windows++;
    rc = read_window(json_array_get(wins, i), &r->windows[i], err);
  }
  if (rc)
    monitor_report_free(r);
  return rc;
}

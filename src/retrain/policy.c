/*
 * policy.c - the retraining policy: flags, policy files, decisions. See
 * policy.h.
 */
#include "retrain/policy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/fsutil.h"
#include "util/json.h"
#include "util/parse.h"

/* The feature names monitor_run reports (docs/monitoring.md). */
static const char *const feature_names[] = {
    "user_age",     "user_gender",      "user_occupation", "movie_genres",
    "movie_year",   "movie_popularity", "rating",          "prediction_top1_score"};
#define N_FEATURES (sizeof(feature_names) / sizeof(feature_names[0]))

static int known_feature(const char *f)
{
  for (size_t i = 0; i < N_FEATURES; i++)
    if (!strcmp(feature_names[i], f))
      return 1;
  return 0;
}

static void feature_list(char *buf, size_t cap)
{
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < N_FEATURES && off < cap; i++)
    off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? ", " : "",
                            feature_names[i]);
}

void policy_defaults(struct policy *p)
{
  memset(p, 0, sizeof(*p));
  p->max_top100_drop = NAN;
  p->min_top100 = NAN;
  p->max_rmse = p->max_rmse_rise = NAN;
  p->windows = 1;
  p->window_ratings = 0;
  p->min_window_ratings = 200;
}

void policy_seed(struct policy *p)
{
  policy_defaults(p);
  p->min_top100 = 0.5;
}

int policy_any_trigger(const struct policy *p)
{
  return !isnan(p->max_top100_drop) || !isnan(p->min_top100) ||
         p->on_dataset_drift || p->n_psi > 0 || p->min_new_ratings > 0 ||
         p->max_age_days > 0 || !isnan(p->max_rmse) ||
         !isnan(p->max_rmse_rise);
}

int policy_needs_report(const struct policy *p)
{
  return !isnan(p->max_top100_drop) || !isnan(p->min_top100) ||
         p->on_dataset_drift || p->n_psi > 0 || !isnan(p->max_rmse) ||
         !isnan(p->max_rmse_rise);
}

/* ---- setting fields --------------------------------------------------- */

static int parse_bool(const char *s, int *out)
{
  static const char *const yes[] = {"true", "1", "on", "yes"};
  static const char *const no[] = {"false", "0", "off", "no"};
  for (size_t i = 0; i < 4; i++) {
    if (!strcmp(s, yes[i])) {
      *out = 1;
      return 0;
    }
    if (!strcmp(s, no[i])) {
      *out = 0;
      return 0;
    }
  }
  return -1;
}

/* Add or replace the bound of a feature. */
static int set_psi(struct policy *p, const char *feature, double bound,
                   const char *what, struct hv_err *err)
{
  if (!known_feature(feature)) {
    char list[256];
    feature_list(list, sizeof(list));
    return hv_err_set(err, HV_EINVAL, "%s: unknown feature '%.64s' (one of: "
                      "%s)", what, feature, list);
  }
  if (!(isfinite(bound) && bound > 0))
    return hv_err_set(err, HV_EINVAL, "%s: the PSI bound of %s must be a "
                      "number > 0", what, feature);
  for (size_t i = 0; i < p->n_psi; i++)
    if (!strcmp(p->psi[i].feature, feature)) {
      p->psi[i].bound = bound;
      return 0;
    }
  if (p->n_psi == POLICY_MAX_PSI)
    return hv_err_set(err, HV_EINVAL, "%s: at most %d PSI bounds", what,
                      POLICY_MAX_PSI);
  snprintf(p->psi[p->n_psi].feature, sizeof(p->psi[0].feature), "%s",
           feature);
  p->psi[p->n_psi++].bound = bound;
  return 0;
}

static int set_psi_text(struct policy *p, const char *value, const char *what,
                        struct hv_err *err)
{
  const char *eq = strchr(value, '=');
  if (!eq || eq == value || !eq[1])
    return hv_err_set(err, HV_EINVAL, "%s: '%.64s' is not FEATURE=BOUND",
                      what, value);
  char feature[64];
  size_t n = (size_t)(eq - value);
  if (n >= sizeof(feature))
    return hv_err_set(err, HV_EINVAL, "%s: feature name too long", what);
  memcpy(feature, value, n);
  feature[n] = '\0';
  double b;
  if (hv_parse_f64(eq + 1, 1e-12, 1e6, &b, what, err))
    return err->code;
  return set_psi(p, feature, b, what, err);
}

/* key with '-' turned into '_' into buf. */
static void canon_key(const char *key, char *buf, size_t cap)
{
  size_t i = 0;
  for (; key[i] && i + 1 < cap; i++)
    buf[i] = key[i] == '-' ? '_' : key[i];
  buf[i] = '\0';
}

static int set_field(struct policy *p, const char *k, const char *value,
                     const char *what, struct hv_err *err)
{
  int64_t v;
  if (!strcmp(k, "min_top100"))
    return hv_parse_f64(value, 0.0, 1.0, &p->min_top100, what, err);
  if (!strcmp(k, "max_top100_drop")) {
    if (hv_parse_f64(value, 0.0, 1.0, &p->max_top100_drop, what, err))
      return err->code;
    if (p->max_top100_drop == 0)
      return hv_err_set(err, HV_EINVAL, "%s: 0 would fire on any drop at "
                        "all; give a share in (0, 1], e.g. 0.2", what);
    return 0;
  }
  if (!strcmp(k, "max_rmse") || !strcmp(k, "max_rmse_rise")) {
    int rise = k[8] == '_';
    double x;
    if (hv_parse_f64(value, 0.0, rise ? 10.0 : 5.0, &x, what, err))
      return err->code;
    if (x == 0)
      return hv_err_set(err, HV_EINVAL, "%s: 0 would fire on any RMSE; "
                        "give a value in (0, %g]", what, rise ? 10.0 : 5.0);
    *(rise ? &p->max_rmse_rise : &p->max_rmse) = x;
    return 0;
  }
  if (!strcmp(k, "on_dataset_drift")) {
    if (parse_bool(value, &p->on_dataset_drift))
      return hv_err_set(err, HV_EINVAL, "%s: '%.32s' is not true or false",
                        what, value);
    return 0;
  }
  if (!strcmp(k, "psi_bound"))
    return set_psi_text(p, value, what, err);
  if (!strcmp(k, "min_new_ratings"))
    return hv_parse_i64(value, 0, INT64_MAX, &p->min_new_ratings, what, err);
  if (!strcmp(k, "max_age_days"))
    return hv_parse_f64(value, 0.0, 36500.0, &p->max_age_days, what, err);
  if (!strcmp(k, "windows")) {
    if (hv_parse_i64(value, 1, 100, &v, what, err))
      return err->code;
    p->windows = (int)v;
    return 0;
  }
  if (!strcmp(k, "window_ratings"))
    return hv_parse_i64(value, 0, INT64_MAX, &p->window_ratings, what, err);
  if (!strcmp(k, "min_window_ratings"))
    return hv_parse_i64(value, 1, INT64_MAX, &p->min_window_ratings, what,
                        err);
  return hv_err_set(err, HV_ENOTFOUND, "%s: unknown policy key '%.64s' "
                    "(max_top100_drop, min_top100, on_dataset_drift, "
                    "max_rmse, max_rmse_rise, "
                    "psi_bound, "
                    "min_new_ratings, max_age_days, windows, window_ratings, "
                    "min_window_ratings)", what, k);
}

int policy_set(struct policy *p, const char *key, const char *value,
               const char *what, struct hv_err *err)
{
  if (!p || !key || !value)
    return hv_err_set(err, HV_EINVAL, "policy: missing key or value");
  if (!what)
    what = key;
  char k[64];
  canon_key(key, k, sizeof(k));
  struct policy tmp = *p;
  if (set_field(&tmp, k, value, what, err))
    return err->code;
  *p = tmp;
  return 0;
}

int policy_check(const struct policy *p, struct hv_err *err)
{
  if (!p)
    return hv_err_set(err, HV_EINVAL, "policy: none given");
  if (!isnan(p->max_top100_drop) &&
      !(p->max_top100_drop > 0 && p->max_top100_drop <= 1))
    return hv_err_set(err, HV_EINVAL, "max_top100_drop %g is outside (0, 1]",
                      p->max_top100_drop);
  if (!isnan(p->min_top100) && !(p->min_top100 >= 0 && p->min_top100 <= 1))
    return hv_err_set(err, HV_EINVAL, "min_top100 %g is outside [0, 1]",
                      p->min_top100);
  if (!isnan(p->max_rmse) && !(p->max_rmse > 0 && p->max_rmse <= 5))
    return hv_err_set(err, HV_EINVAL, "max_rmse %g is outside (0, 5]",
                      p->max_rmse);
  if (!isnan(p->max_rmse_rise) &&
      !(p->max_rmse_rise > 0 && p->max_rmse_rise <= 10))
    return hv_err_set(err, HV_EINVAL, "max_rmse_rise %g is outside (0, 10]",
                      p->max_rmse_rise);
  if (p->on_dataset_drift != 0 && p->on_dataset_drift != 1)
    return hv_err_set(err, HV_EINVAL, "on_dataset_drift must be 0 or 1");
  if (p->n_psi > POLICY_MAX_PSI)
    return hv_err_set(err, HV_EINVAL, "at most %d PSI bounds",
                      POLICY_MAX_PSI);
  for (size_t i = 0; i < p->n_psi; i++)
    if (!known_feature(p->psi[i].feature) ||
        !(isfinite(p->psi[i].bound) && p->psi[i].bound > 0))
      return hv_err_set(err, HV_EINVAL, "psi_bound %zu (%.64s): unknown "
                        "feature or bound not > 0", i, p->psi[i].feature);
  if (p->min_new_ratings < 0)
    return hv_err_set(err, HV_EINVAL, "min_new_ratings must be >= 0");
  if (!(isfinite(p->max_age_days) && p->max_age_days >= 0))
    return hv_err_set(err, HV_EINVAL, "max_age_days must be >= 0");
  if (p->windows < 1 || p->windows > 100)
    return hv_err_set(err, HV_EINVAL, "windows %d is outside 1..100",
                      p->windows);
  if (p->window_ratings < 0 || p->min_window_ratings < 1)
    return hv_err_set(err, HV_EINVAL, "window_ratings must be >= 0 and "
                      "min_window_ratings >= 1");
  return 0;
}

/* ---- policy files ------------------------------------------------------ */

struct src {
  const char *text;
  size_t len;
  const char *name;
};

/* Offset of "key" followed by optional blanks and ':' at or after from;
 * (size_t)-1 when not found. */
static size_t find_key(const struct src *s, const char *key, size_t from)
{
  size_t kl = strlen(key);
  for (size_t i = from; i + kl + 2 <= s->len; i++) {
    if (s->text[i] != '"' || memcmp(s->text + i + 1, key, kl) ||
        s->text[i + 1 + kl] != '"')
      continue;
    size_t j = i + kl + 2;
    while (j < s->len && strchr(" \t\r\n", s->text[j]))
      j++;
    if (j < s->len && s->text[j] == ':')
      return i;
  }
  return (size_t)-1;
}

/* Fill err with "NAME:LINE:COL: msg" for the position of key (after
 * from), or "NAME: msg" when it cannot be found. */
static int src_error(const struct src *s, const char *key, size_t from,
                     const char *msg, struct hv_err *err)
{
  size_t at = key ? find_key(s, key, from) : (size_t)-1;
  if (at == (size_t)-1)
    return hv_err_set(err, HV_EINVAL, "%s: %s", s->name, msg);
  int line = 1, col = 1;
  for (size_t i = 0; i < at; i++) {
    if (s->text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return hv_err_set(err, HV_EINVAL, "%s:%d:%d: %s", s->name, line, col, msg);
}

/* The value of a JSON number/bool as the text policy_set takes. */
static int value_text(const char *key, const json_t *v, char *buf,
                      size_t cap, char *why, size_t wcap)
{
  int is_bool = !strcmp(key, "on_dataset_drift");
  int is_int = !strcmp(key, "min_new_ratings") || !strcmp(key, "windows") ||
               !strcmp(key, "window_ratings") ||
               !strcmp(key, "min_window_ratings");
  if (is_bool) {
    if (!json_is_boolean(v)) {
      snprintf(why, wcap, "%s: expected true or false", key);
      return -1;
    }
    snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    return 0;
  }
  if (is_int) {
    if (!json_is_integer(v)) {
      snprintf(why, wcap, "%s: expected an integer", key);
      return -1;
    }
    snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    return 0;
  }
  if (!json_is_number(v)) {
    snprintf(why, wcap, "%s: expected a number", key);
    return -1;
  }
  snprintf(buf, cap, "%.17g", json_number_value(v));
  return 0;
}

static int parse_psi_object(struct policy *p, const struct src *s,
                            const json_t *obj, struct hv_err *err)
{
  size_t base = find_key(s, "psi_bounds", 0);
  if (base == (size_t)-1)
    base = 0;
  if (!json_is_object(obj))
    return src_error(s, "psi_bounds", 0,
                     "psi_bounds: expected an object {\"FEATURE\": BOUND}",
                     err);
  const char *f;
  const json_t *v;
  json_object_foreach((json_t *)obj, f, v) {
    char msg[256], what[96];
    snprintf(what, sizeof(what), "psi_bounds.%.64s", f);
    if (!json_is_number(v)) {
      snprintf(msg, sizeof(msg), "%s: expected a number", what);
      return src_error(s, f, base, msg, err);
    }
    struct hv_err e = {0};
    if (set_psi(p, f, json_number_value(v), what, &e))
      return src_error(s, f, base, e.msg, err);
  }
  return 0;
}

static int parse_object(struct policy *p, const struct src *s,
                        const json_t *root, struct hv_err *err)
{
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)root, key, v) {
    if (!strcmp(key, "psi_bounds")) {
      if (parse_psi_object(p, s, v, err))
        return err->code;
      continue;
    }
    char k[64], text[64], why[160];
    canon_key(key, k, sizeof(k));
    if (!strcmp(k, "psi_bound")) { /* the flag's name: refuse, name the
                                      file's */
      return src_error(s, key, 0, "psi_bound: use \"psi_bounds\": "
                       "{\"FEATURE\": BOUND} in a policy file", err);
    }
    struct hv_err e = {0};
    struct policy probe = *p;
    int rc = set_field(&probe, k, "0", key, &e); /* is the key known? */
    if (rc == HV_ENOTFOUND)
      return src_error(s, key, 0, e.msg, err);
    if (value_text(k, v, text, sizeof(text), why, sizeof(why)))
      return src_error(s, key, 0, why, err);
    if (set_field(p, k, text, key, &e))
      return src_error(s, key, 0, e.msg, err);
  }
  return 0;
}

int policy_parse(struct policy *p, const char *text, size_t len,
                 const char *name, struct hv_err *err)
{
  if (!p || !text)
    return hv_err_set(err, HV_EINVAL, "policy: no text");
  struct src s = {text, len, name ? name : "policy"};
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return hv_err_set(err, HV_EINVAL, "%s:%d:%d: %s", s.name, je.line,
                      je.column, je.text);
  int rc = 0;
  struct policy tmp = *p;
  if (!json_is_object(root))
    rc = hv_err_set(err, HV_EINVAL, "%s:1:1: a policy is a JSON object "
                    "{\"min_top100\": 0.5, ...}", s.name);
  else
    rc = parse_object(&tmp, &s, root, err);
  json_decref(root);
  if (!rc)
    rc = policy_check(&tmp, err);
  if (!rc)
    *p = tmp;
  return rc;
}

int policy_load_file(struct policy *p, const char *path, struct hv_err *err)
{
  if (!p || !path || !*path)
    return hv_err_set(err, HV_EINVAL, "policy: no file name");
  char *buf = NULL;
  size_t len = 0;
  if (hv_read_file(path, POLICY_FILE_MAX, &buf, &len, err))
    return err->code;
  int rc = policy_parse(p, buf, len, path, err);
  free(buf);
  return rc;
}

json_t *policy_to_json(const struct policy *p)
{
  json_t *j = json_object();
  json_t *psi = json_object();
  if (!j || !psi) {
    json_decref(j);
    json_decref(psi);
    return NULL;
  }
  if (!isnan(p->max_top100_drop))
    json_object_set_new(j, "max_top100_drop", json_real(p->max_top100_drop));
  if (!isnan(p->min_top100))
    json_object_set_new(j, "min_top100", json_real(p->min_top100));
  if (!isnan(p->max_rmse))
    json_object_set_new(j, "max_rmse", json_real(p->max_rmse));
  if (!isnan(p->max_rmse_rise))
    json_object_set_new(j, "max_rmse_rise", json_real(p->max_rmse_rise));
  json_object_set_new(j, "on_dataset_drift",
                      json_boolean(p->on_dataset_drift));
  for (size_t i = 0; i < p->n_psi; i++)
    json_object_set_new(psi, p->psi[i].feature, json_real(p->psi[i].bound));
  json_object_set_new(j, "psi_bounds", psi);
  json_object_set_new(j, "min_new_ratings",
                      json_integer((json_int_t)p->min_new_ratings));
  json_object_set_new(j, "max_age_days", json_real(p->max_age_days));
  json_object_set_new(j, "windows", json_integer(p->windows));
  json_object_set_new(j, "window_ratings",
                      json_integer((json_int_t)p->window_ratings));
  json_object_set_new(j, "min_window_ratings",
                      json_integer((json_int_t)p->min_window_ratings));
  return j;
}

/* ---- decisions ---------------------------------------------------------- */

static struct policy_check *add_check(struct policy_decision *d,
                                      const char *trigger, double value,
                                      double threshold, int fired)
{
  if (d->n_checks == POLICY_MAX_CHECKS)
    return NULL;
  struct policy_check *c = &d->checks[d->n_checks++];
  snprintf(c->trigger, sizeof(c->trigger), "%s", trigger);
  c->value = value;
  c->threshold = threshold;
  c->fired = fired;
  if (fired)
    d->retrain = 1;
  return c;
}

/* Window w of the report is judged when it has enough ratings
 * (min_window_ratings >= 1: policy_check) and the pass evaluated it (a
 * window the pass skipped has no metrics or verdicts to judge). */
static int judged(const struct policy *p, const struct monitor_window *w)
{
  return w->n_ratings >= (size_t)p->min_window_ratings && !w->skipped[0];
}

/* The window's top-100 as held-out evidence: NaN for an in-sample window
 * (ratings the model was trained on score what it memorised). */
static double window_top100(const struct monitor_window *w)
{
  return w->n_ratings && !w->n_in_sample
             ? monitor_metrics_top(&w->metrics, 100)
             : NAN;
}

/* "WHAT: no held-out window (the N judged windows are in-sample: their
 * METRIC is not held-out evidence)" into buf. */
static void no_held_out(size_t n, const char *what, const char *metric,
                        char *buf, size_t cap)
{
  snprintf(buf, cap, "%s: no held-out window (the %zu judged window%s "
           "in-sample: %s %s is not held-out evidence)", what, n,
           n == 1 ? " is" : "s are", n == 1 ? "its" : "their", metric);
}

/* Why no window gave a top-100: "no window with >= N ratings", or that
 * the judged ones are in-sample. */
static void no_top100(const struct policy *p, const struct policy_decision *d,
                      const char *what, char *buf, size_t cap)
{
  if (d->n_judged && d->n_in_sample == d->n_judged)
    no_held_out(d->n_judged, what, "top-100", buf, cap);
  else
    snprintf(buf, cap, "%s: no window with >= %lld ratings", what,
             (long long)p->min_window_ratings);
}

/* The window's ranker RMSE as held-out evidence: NaN without a ranker
 * and, as for the top-100, for an in-sample window. */
static double window_rmse(const struct monitor_window *w)
{
  return w->metrics.ranker_n && !w->n_in_sample ? w->metrics.ranker_rmse
                                                : NAN;
}

/* The worst value of metric over the judged windows (sign -1: the lowest
 * is worst, 1: the highest), its window in *at; NaN when none has one. */
static double worst_window(const struct policy *p,
                           const struct monitor_report *r,
                           double (*metric)(const struct monitor_window *),
                           int sign, size_t *at)
{
  double worst = NAN;
  for (size_t i = 0; i < r->n_windows; i++) {
    if (!judged(p, &r->windows[i]))
      continue;
    double v = metric(&r->windows[i]);
    if (!isnan(v) && (isnan(worst) || sign * (v - worst) > 0)) {
      worst = v;
      *at = r->windows[i].index;
    }
  }
  return worst;
}

/* max_top100_drop: worst <= (1 - drop) x the model's own score ref. */
static void check_drop(const struct policy *p, double worst, size_t at,
                       double ref, struct policy_decision *d)
{
  if (isnan(p->max_top100_drop))
    return;
  if (!(ref > 0)) /* NaN, or a model that scored nothing to drop from */
    ref = NAN;
  double bound = isnan(ref) ? NAN : (1 - p->max_top100_drop) * ref;
  int fired = !isnan(worst) && !isnan(bound) && worst <= bound;
  struct policy_check *c = add_check(d, "max_top100_drop", worst, bound,
                                     fired);
  if (!c)
    return;
  if (isnan(ref))
    snprintf(c->text, sizeof(c->text), "top-100 drop: the model has no "
             "held-out top-100 of its own to compare with (use "
             "--min-top100)");
  else if (isnan(worst))
    no_top100(p, d, "top-100 drop", c->text, sizeof(c->text));
  else
    snprintf(c->text, sizeof(c->text), "worst top-100 accuracy %.4f %s "
             "%.4f = %.0f%% below the model's own %.4f (window %zu)",
             worst, fired ? "<=" : ">", bound, 100 * p->max_top100_drop, ref,
             at);
}

static void check_top100(const struct policy *p,
                         const struct monitor_report *r, double ref,
                         struct policy_decision *d)
{
  size_t at = 0;
  double worst = worst_window(p, r, window_top100, -1, &at);
  d->worst_top100 = worst;
  check_drop(p, worst, at, ref, d);
  if (isnan(p->min_top100))
    return;
  int fired = !isnan(worst) && worst <= p->min_top100;
  struct policy_check *c = add_check(d, "min_top100", worst, p->min_top100,
                                     fired);
  if (!c)
    return;
  if (isnan(worst))
    no_top100(p, d, "top-100 accuracy", c->text, sizeof(c->text));
  else
    snprintf(c->text, sizeof(c->text), "worst top-100 accuracy %.4f %s %.4g "
             "(window %zu)", worst, fired ? "<=" : ">", p->min_top100, at);
}

/* One RMSE trigger: worst >= bound fires (bound NaN: cannot);
 * in_sample > 0: that many judged windows measured a ranker RMSE, all
 * in-sample. */
static void rmse_check(struct policy_decision *d, const char *trig,
                       double worst, size_t at, double bound,
                       const char *what, size_t in_sample)
{
  int fired = !isnan(worst) && !isnan(bound) && worst >= bound;
  struct policy_check *c = add_check(d, trig, worst, bound, fired);
  if (!c)
    return;
  if (isnan(worst) && in_sample)
    no_held_out(in_sample, "ranker RMSE", "ranker RMSE", c->text,
                sizeof(c->text));
  else if (isnan(worst))
    snprintf(c->text, sizeof(c->text), "ranker RMSE: not measured (no "
             "ranking model in the monitoring pass, or no judged window)");
  else if (isnan(bound))
    snprintf(c->text, sizeof(c->text), "ranker RMSE rise: the ranker has "
             "no held-out RMSE of its own to compare with (use --max-rmse)");
  else
    snprintf(c->text, sizeof(c->text), "worst ranker RMSE %.4f %s %.4f%s "
             "(window %zu)", worst, fired ? ">=" : "<", bound, what, at);
}

/* max_rmse, max_rmse_rise: the ranking stage's RMSE over the windows. */
static void check_rmse(const struct policy *p,
                       const struct monitor_report *r, double ref,
                       struct policy_decision *d)
{
  size_t at = 0;
  double worst = worst_window(p, r, window_rmse, 1, &at);
  d->worst_rmse = worst;
  size_t measured = 0; /* judged windows with a ranker RMSE */
  for (size_t i = 0; i < r->n_windows; i++)
    measured += judged(p, &r->windows[i]) && r->windows[i].metrics.ranker_n;
  size_t in_sample = isnan(worst) ? measured : 0;
  if (!isnan(p->max_rmse))
    rmse_check(d, "max_rmse", worst, at, p->max_rmse, "", in_sample);
  if (isnan(p->max_rmse_rise))
    return;
  char what[96];
  snprintf(what, sizeof(what), " = %.0f%% above the ranker's own %.4f",
           100 * p->max_rmse_rise, ref);
  rmse_check(d, "max_rmse_rise", worst, at,
             ref > 0 ? (1 + p->max_rmse_rise) * ref : NAN, what, in_sample);
}

static void check_drift(const struct policy *p,
                        const struct monitor_report *r,
                        struct policy_decision *d)
{
  int any = -1;
  size_t at = 0;
  for (size_t i = 0; i < r->n_windows; i++) {
    if (!judged(p, &r->windows[i]))
      continue;
    if (any < 0)
      any = 0;
    if (r->windows[i].dataset_drift && !any) {
      any = 1;
      at = i;
    }
  }
  d->dataset_drift = any;
  if (!p->on_dataset_drift)
    return;
  struct policy_check *c = add_check(d, "dataset_drift", any < 0 ? NAN : any,
                                     1, any == 1);
  if (!c)
    return;
  if (any < 0) {
    snprintf(c->text, sizeof(c->text), "dataset drift: no window with >= "
             "%lld ratings", (long long)p->min_window_ratings);
  } else if (any == 1) {
    char names[160];
    const struct monitor_window *aw = &r->windows[at];
    monitor_report_drifted_names(aw, names, sizeof(names));
    snprintf(c->text, sizeof(c->text), "dataset drift in window %zu "
             "(%zu/%zu features: %s)", aw->index, aw->n_drifted, aw->n_judged,
             names);
  } else {
    snprintf(c->text, sizeof(c->text), "no dataset drift");
  }
}

/* Largest PSI of feature over the judged windows (NaN: none). */
static double max_psi(const struct policy *p, const struct monitor_report *r,
                      const char *feature, size_t *at)
{
  double best = NAN;
  for (size_t i = 0; i < r->n_windows; i++) {
    const struct monitor_window *w = &r->windows[i];
    const struct monitor_feature *f = monitor_report_feature(w, feature);
    if (!judged(p, w) || !f || f->skipped[0])
      continue;
    if (!isnan(f->psi) && (isnan(best) || f->psi > best)) {
      best = f->psi;
      *at = w->index;
    }
  }
  return best;
}

static void check_psi(const struct policy *p, const struct monitor_report *r,
                      struct policy_decision *d)
{
  for (size_t k = 0; k < p->n_psi; k++) {
    size_t at = 0;
    const struct policy_psi_bound *b = &p->psi[k];
    double v = max_psi(p, r, b->feature, &at);
    char trig[80];
    snprintf(trig, sizeof(trig), "psi:%s", b->feature);
    int fired = !isnan(v) && v > b->bound;
    struct policy_check *c = add_check(d, trig, v, b->bound, fired);
    if (!c)
      return;
    if (isnan(v))
      snprintf(c->text, sizeof(c->text), "PSI of %s: not measured",
               b->feature);
    else
      snprintf(c->text, sizeof(c->text), "PSI of %s %.4f %s %.4g (window "
               "%zu)", b->feature, v, fired ? ">" : "<=", b->bound, at);
  }
}

static void check_volume_age(const struct policy *p,
                             const struct policy_input *in,
                             struct policy_decision *d)
{
  if (p->min_new_ratings > 0) {
    int fired = in->new_ratings >= p->min_new_ratings;
    struct policy_check *c =
        add_check(d, "min_new_ratings", (double)in->new_ratings,
                  (double)p->min_new_ratings, fired);
    if (c)
      snprintf(c->text, sizeof(c->text), "%lld new ratings %s %lld",
               (long long)in->new_ratings, fired ? ">=" : "<",
               (long long)p->min_new_ratings);
  }
  if (p->max_age_days > 0) {
    int fired = !isnan(in->age_days) && in->age_days >= p->max_age_days;
    struct policy_check *c = add_check(d, "max_age_days", in->age_days,
                                       p->max_age_days, fired);
    if (c)
      snprintf(c->text, sizeof(c->text), "model age %.2f days %s %.4g",
               in->age_days, fired ? ">=" : "<", p->max_age_days);
  }
}

static void join_reasons(struct policy_decision *d, int force)
{
  size_t off = 0;
  d->reasons[0] = '\0';
  for (size_t i = 0; i < d->n_checks && off < sizeof(d->reasons); i++) {
    if (!d->checks[i].fired)
      continue;
    off += (size_t)snprintf(d->reasons + off, sizeof(d->reasons) - off,
                            "%s%s", off ? "; " : "", d->checks[i].text);
  }
  if (d->retrain || force)
    return;
  if (!d->n_checks) {
    snprintf(d->reasons, sizeof(d->reasons), "no trigger is on");
    return;
  }
  for (size_t i = 0; i < d->n_checks && off < sizeof(d->reasons); i++)
    off += (size_t)snprintf(d->reasons + off, sizeof(d->reasons) - off,
                            "%s%s", off ? "; " : "no trigger fired: ",
                            d->checks[i].text);
}

int policy_decide(const struct policy *p, const struct policy_input *in,
                  struct policy_decision *d, struct hv_err *err)
{
  if (!d)
    return hv_err_set(err, HV_EINVAL, "policy: no decision record");
  memset(d, 0, sizeof(*d));
  d->worst_top100 = d->worst_rmse = NAN;
  d->dataset_drift = -1;
  if (!p || !in)
    return hv_err_set(err, HV_EINVAL, "policy: no policy or input");
  if (policy_check(p, err))
    return err->code;
  static const struct monitor_report none; /* nothing was monitored */
  const struct monitor_report *r = in->report ? in->report : &none;
  if (r->n_windows && !r->windows)
    return hv_err_set(err, HV_EINVAL, "policy: the monitoring report "
                      "counts %zu windows but has none", r->n_windows);
  d->new_ratings = in->new_ratings;
  d->age_days = in->age_days;
  d->n_windows = r->n_windows;
  for (size_t i = 0; i < r->n_windows; i++) {
    int j = judged(p, &r->windows[i]);
    d->n_judged += (size_t)j;
    d->n_in_sample += (size_t)(j && r->windows[i].n_in_sample);
  }
  check_top100(p, r, in->reference_top100, d);
  check_rmse(p, r, in->reference_rmse, d);
  check_drift(p, r, d);
  check_psi(p, r, d);
  check_volume_age(p, in, d);
  if (in->force) {
    struct policy_check *c = add_check(d, "force", 1, 1, 1);
    if (c)
      snprintf(c->text, sizeof(c->text), "forced (--force)");
  }
  join_reasons(d, in->force);
  return 0;
}

json_t *policy_decision_to_json(const struct policy_decision *d)
{
  json_t *checks = json_array();
  if (!checks)
    return NULL;
  for (size_t i = 0; i < d->n_checks; i++) {
    const struct policy_check *c = &d->checks[i];
    json_array_append_new(
        checks, json_pack("{s:s, s:o, s:o, s:b, s:s}", "trigger", c->trigger,
                          "value", hv_json_num(c->value), "threshold",
                          hv_json_num(c->threshold), "fired", c->fired, "text",
                          c->text));
  }
  return json_pack("{s:b, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:o, s:o}",
                   "retrain", d->retrain, "reasons", d->reasons, "checks",
                   checks, "worst_top100", hv_json_num(d->worst_top100),
                   "dataset_drift",
                   d->dataset_drift < 0 ? json_null()
                                        : json_boolean(d->dataset_drift),
                   "n_windows", (json_int_t)d->n_windows, "n_judged",
                   (json_int_t)d->n_judged, "n_in_sample",
                   (json_int_t)d->n_in_sample, "new_ratings",
                   (json_int_t)d->new_ratings, "age_days",
                   hv_json_num(d->age_days), "worst_rmse",
                   hv_json_num(d->worst_rmse));
}

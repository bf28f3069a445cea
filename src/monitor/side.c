/*
 * side.c - the samples of one side of a monitoring comparison and the
 * judging of a window against the reference: see side.h.
 */
#include "monitor/side.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sort.h"

static int oom(struct hv_err *err)
{
  return hv_err_set(err, HV_ENOMEM, "monitor: out of memory");
}

/* ---- catalogue ----------------------------------------------------------- */

int side_catalog_init(struct side_catalog *c,
                      const struct catalog_users *users,
                      const struct catalog_movies *movies,
                      const struct catalog_names *genres,
                      const struct catalog_names *occs, const int64_t *pop,
                      struct hv_err *err)
{
  memset(c, 0, sizeof(*c));
  c->users = users;
  c->movies = movies;
  c->genres = genres;
  c->occs = occs;
  c->pop = pop;
  int gmin = 0, gmax = 0, omax = -1;
  size_t ng = movies->n ? movies->genre_off[movies->n] : 0;
  for (size_t i = 0; i < ng; i++) {
    int g = movies->genre_ids[i];
    if (i == 0 || g < gmin)
      gmin = g;
    if (i == 0 || g > gmax)
      gmax = g;
  }
  if (ng && gmax - gmin > 100000)
    return hv_err_set(err, HV_EINVAL,
                      "movie_genres: genre ids span %d..%d, too wide to count",
                      gmin, gmax);
  for (size_t i = 0; i < users->n; i++)
    if (users->occupation[i] > omax)
      omax = users->occupation[i];
  if (omax > 100000)
    return hv_err_set(err, HV_EINVAL,
                      "user_occupation: label %d is too large to count", omax);
  c->genre_base = ng ? gmin : 0;
  c->cat_k[SIDE_GENDER] = 3;
  c->cat_k[SIDE_OCC] = (size_t)(omax + 2); /* slot 0: unknown */
  c->cat_k[SIDE_GENRE] = ng ? (size_t)(gmax - gmin + 1) : 1;
  c->cat_k[SIDE_RATING] = SIDE_RATING_CATS;
  return 0;
}

/* ---- samples ------------------------------------------------------------- */

void side_free(struct side *s)
{
  if (!s)
    return;
  for (int f = 0; f < SIDE_NUM; f++)
    free(s->num[f]);
  for (int c = 0; c < SIDE_CAT; c++)
    free(s->cat[c]);
  memset(s, 0, sizeof(*s));
}

static int rating_cat(float r)
{
  int k = (int)lround((double)r * 2.0) - 1;
  return k < 0 ? 0 : (k >= SIDE_RATING_CATS ? SIDE_RATING_CATS - 1 : k);
}

/* Add rating i of R to s (numeric samples unsorted yet). seen marks the
 * users already counted (user features count each rater once). is_ref: R
 * is the reference, whose rows count themselves in the popularity; they get
 * the leave-one-out count so both sides measure "reference ratings of this
 * movie other than this row". Popularity is compared on the log1p scale,
 * where a few blockbusters do not dominate the Wasserstein distance. */
static void side_add(const struct side_catalog *c,
                     const struct ratings_cols *R, size_t i, int is_ref,
                     unsigned char *seen, struct side *s)
{
  const struct catalog_users *U = c->users;
  const struct catalog_movies *M = c->movies;
  size_t u = sort_find_i64(U->id, U->n, R->user_id[i]);
  size_t mv = sort_find_i64(M->id, M->n, R->movie_id[i]);
  if (u != SORT_NONE && !seen[u]) {
    seen[u] = 1;
    if (U->raw_age[u] >= 0)
      s->num[SIDE_AGE][s->n_num[SIDE_AGE]++] = U->raw_age[u];
    int gender = U->gender[u], occ = U->occupation[u];
    s->cat[SIDE_GENDER][gender >= 0 && gender <= 2 ? gender : 0]++;
    s->cat[SIDE_OCC][occ >= 0 ? (size_t)occ + 1 : 0]++;
  }
  if (mv != SORT_NONE) {
    if (M->year[mv] > 0)
      s->num[SIDE_YEAR][s->n_num[SIDE_YEAR]++] = M->year[mv];
    for (size_t g = M->genre_off[mv]; g < M->genre_off[mv + 1]; g++)
      s->cat[SIDE_GENRE][M->genre_ids[g] - c->genre_base]++;
  }
  double pop = mv != SORT_NONE ? (double)c->pop[mv] : 0.0;
  s->num[SIDE_POP][s->n_num[SIDE_POP]++] =
      log1p(is_ref && pop >= 1.0 ? pop - 1.0 : pop);
  s->cat[SIDE_RATING][rating_cat(R->rating[i])]++;
  s->rating_sum += R->rating[i];
}

int side_build(const struct side_catalog *c, const struct ratings_cols *R,
               int is_ref, struct side *s, struct hv_err *err)
{
  memset(s, 0, sizeof(*s));
  for (int f = 0; f < SIDE_NUM; f++)
    if (!(s->num[f] = malloc((R->n + 1) * sizeof(double))))
      return oom(err);
  for (int k = 0; k < SIDE_CAT; k++)
    if (!(s->cat[k] = calloc(c->cat_k[k], sizeof(int64_t))))
      return oom(err);
  unsigned char *seen = calloc(c->users->n + 1, 1);
  if (!seen)
    return oom(err);
  for (size_t i = 0; i < R->n; i++)
    side_add(c, R, i, is_ref, seen, s);
  free(seen);
  s->n = R->n;
  for (int f = 0; f < SIDE_NUM; f++)
    if (drift_sort(s->num[f], s->n_num[f], err))
      return err->code;
  return 0;
}

/* ---- judging ------------------------------------------------------------- */

static const char *const num_name[SIDE_NUM] = {"user_age", "movie_year",
                                               "movie_popularity"};
static const char *const cat_name[SIDE_CAT] = {
    "user_gender", "user_occupation", "movie_genres", "rating"};

static double mean_of(const double *x, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  return n ? s / (double)n : NAN;
}

/* Start feature f: name, group, kind, sizes; unmeasured (and skipped)
 * when a side is empty. Returns 1 when it is to be measured. */
static int feature_head(struct monitor_feature *f, const char *name,
                        enum monitor_group group, enum monitor_kind kind,
                        int64_t nr, int64_t nc)
{
  memset(f, 0, sizeof(*f));
  snprintf(f->verdict.name, sizeof(f->verdict.name), "%s", name);
  f->verdict.statistic = f->verdict.pvalue = f->verdict.threshold = NAN;
  f->group = group;
  f->kind = kind;
  f->n_ref = nr;
  f->n_cur = nc;
  f->measured = nr && nc;
  if (!f->measured)
    snprintf(f->skipped, sizeof(f->skipped), "%s",
             nr ? "no current values" : "no reference values");
  return f->measured;
}

/* Judge one numeric feature (sorted samples r and c) into f. */
static int feat_numeric(const struct monitor_config *cfg, const char *name,
                        enum monitor_group group, const double *r, size_t nr,
                        const double *c, size_t nc,
                        struct monitor_feature *f, struct hv_err *err)
{
  if (!feature_head(f, name, group, MONITOR_NUMERIC, (int64_t)nr,
                    (int64_t)nc))
    return 0;
  struct drift_numeric_report rep;
  const struct drift_thresholds *th = &cfg->th;
  enum drift_test t = cfg->num_test >= 0
                          ? (enum drift_test)cfg->num_test
                          : drift_default_test(0, nr < nc ? nr : nc, th);
  if (drift_numeric_sorted(r, nr, c, nc, 0, &rep, err) ||
      drift_numeric_judge(name, &rep, t, th, &f->verdict, err)) {
    hv_err_prefix(err, "%s", name);
    return err->code;
  }
  f->ref_mean = mean_of(r, nr);
  f->cur_mean = mean_of(c, nc);
  f->ks = rep.ks;
  f->wasserstein = rep.wasserstein;
  f->wasserstein_norm = rep.wasserstein_norm;
  f->psi = rep.psi;
  f->js = rep.js;
  f->psi_grade = drift_psi_grade(rep.psi, th);
  return 0;
}

/* Display name of category k of categorical feature f. */
static void cat_label(const struct side_catalog *c, int f, size_t k,
                      char *buf, size_t cap)
{
  static const char *const g[3] = {"unknown", "M", "F"};
  const char *nm = NULL;
  if (f == SIDE_GENDER) {
    nm = g[k < 3 ? k : 0];
  } else if (f == SIDE_OCC) {
    nm = k == 0 ? "unknown" : catalog_name_of(c->occs, (int)k - 1);
  } else if (f == SIDE_GENRE) {
    nm = catalog_name_of(c->genres, (int)k + c->genre_base);
  } else {
    snprintf(buf, cap, "%g", (double)(k + 1) / 2.0);
    return;
  }
  if (nm)
    snprintf(buf, cap, "%s", nm);
  else
    snprintf(buf, cap, "%zu", f == SIDE_OCC ? k - 1 : k + (size_t)c->genre_base);
}

/* The categories seen on either side, with their proportions, into f. */
static int categories(const struct side_catalog *c, int fi, const int64_t *r,
                      const int64_t *cur, struct monitor_feature *f,
                      struct hv_err *err)
{
  size_t n = 0;
  for (size_t k = 0; k < c->cat_k[fi]; k++)
    n += r[k] || cur[k];
  if (n && !(f->categories = calloc(n, sizeof(*f->categories))))
    return oom(err);
  for (size_t k = 0; k < c->cat_k[fi]; k++) {
    if (!r[k] && !cur[k])
      continue;
    struct monitor_category *mc = &f->categories[f->n_categories++];
    cat_label(c, fi, k, mc->label, sizeof(mc->label));
    mc->reference = (double)r[k] / (double)f->n_ref;
    mc->current = (double)cur[k] / (double)f->n_cur;
  }
  return 0;
}

static int64_t sum_i64(const int64_t *a, size_t n)
{
  int64_t s = 0;
  for (size_t i = 0; i < n; i++)
    s += a[i];
  return s;
}

/* Judge categorical feature fi (counts r and cur) into f. */
static int feat_categorical(const struct side_catalog *c,
                            const struct monitor_config *cfg, int fi,
                            const int64_t *r, const int64_t *cur,
                            struct monitor_feature *f, struct hv_err *err)
{
  const char *name = cat_name[fi];
  size_t k = c->cat_k[fi];
  int64_t nr = sum_i64(r, k), nc = sum_i64(cur, k);
  if (!feature_head(f, name,
                    fi == SIDE_RATING ? MONITOR_LABEL : MONITOR_COVARIATE,
                    MONITOR_CATEGORICAL, nr, nc))
    return 0;
  struct drift_categorical_report rep;
  const struct drift_thresholds *th = &cfg->th;
  enum drift_test t = cfg->cat_test >= 0
                          ? (enum drift_test)cfg->cat_test
                          : drift_default_test(
                                1, (size_t)(nr < nc ? nr : nc), th);
  if (drift_categorical(r, cur, k, &rep, err) ||
      drift_categorical_judge(name, &rep, t, th, &f->verdict, err)) {
    hv_err_prefix(err, "%s", name);
    return err->code;
  }
  f->chi2 = rep.chi2;
  f->psi = rep.psi;
  f->js = rep.js;
  f->psi_grade = drift_psi_grade(rep.psi, th);
  return categories(c, fi, r, cur, f, err);
}

/* The catalogue bit of report feature f (side_judge's order code) when it
 * is a user feature, else 0. */
static unsigned user_bit(int f)
{
  return f == SIDE_AGE             ? CATALOG_UF_AGE
         : f == 100 + SIDE_GENDER ? CATALOG_UF_GENDER
         : f == 100 + SIDE_OCC    ? CATALOG_UF_OCCUPATION
                                  : 0u;
}

/* A user feature the dataset lacks (no user has a value,
 * catalog_user_features): skipped, so it counts in no drift share. */
static void feat_absent(int f, struct monitor_feature *out)
{
  const int num = f < 100;
  feature_head(out, num ? num_name[f] : cat_name[f - 100], MONITOR_COVARIATE,
               num ? MONITOR_NUMERIC : MONITOR_CATEGORICAL, 0, 0);
  snprintf(out->skipped, sizeof(out->skipped), "%s", SIDE_NOT_IN_DATASET);
}

/* The dataset verdict of w from its features; a window below min_ratings
 * keeps its statistics but gets no verdicts (effect sizes of a handful of
 * rows are noise). */
static void window_verdict(const struct monitor_config *cfg, size_t n,
                           struct monitor_window *w)
{
  size_t judged = 0, drifted = 0;
  for (size_t i = 0; i < w->n_features; i++) {
    judged += w->features[i].measured;
    drifted += w->features[i].measured && w->features[i].verdict.drift;
  }
  if (n < cfg->min_ratings) {
    char why[96];
    snprintf(why, sizeof(why), "window has %zu < %zu ratings (min_ratings)",
             n, cfg->min_ratings);
    for (size_t i = 0; i < w->n_features; i++) {
      struct monitor_feature *f = &w->features[i];
      f->verdict.drift = 0;
      if (!f->skipped[0])
        snprintf(f->skipped, sizeof(f->skipped), "%s", why);
    }
    judged = drifted = 0;
  }
  w->n_judged = judged;
  w->n_drifted = drifted;
  w->drifted_share = judged ? (double)drifted / (double)judged : 0.0;
  w->dataset_drift = judged && w->drifted_share >= cfg->threshold_share;
}

int side_judge(const struct side_catalog *c, const struct monitor_config *cfg,
               const struct side *ref, const struct side *cur,
               struct monitor_window *w, struct hv_err *err)
{
  /* the report's order: numeric < 100, categorical 100 + index */
  static const int order[] = {SIDE_AGE,         100 + SIDE_GENDER,
                              100 + SIDE_OCC,   100 + SIDE_GENRE,
                              SIDE_YEAR,        SIDE_POP,
                              100 + SIDE_RATING};
  enum { N_ORDER = sizeof(order) / sizeof(order[0]) };
  _Static_assert(N_ORDER + 1 == MONITOR_N_FEATURES, "feature count");
  int rc = 0;
  w->n_features = 0;
  for (size_t i = 0; !rc && i < N_ORDER; i++) {
    int f = order[i];
    struct monitor_feature *out = &w->features[w->n_features++];
    if (user_bit(f) && !(c->users->present & user_bit(f)))
      feat_absent(f, out);
    else if (f < 100)
      rc = feat_numeric(cfg, num_name[f], MONITOR_COVARIATE, ref->num[f],
                        ref->n_num[f], cur->num[f], cur->n_num[f], out, err);
    else
      rc = feat_categorical(c, cfg, f - 100, ref->cat[f - 100],
                            cur->cat[f - 100], out, err);
  }
  if (!rc)
    rc = feat_numeric(cfg, "prediction_top1_score", MONITOR_PREDICTION,
                      ref->top1, ref->n_top1, cur->top1, cur->n_top1,
                      &w->features[w->n_features++], err);
  if (!rc)
    window_verdict(cfg, cur->n, w);
  return rc;
}

/*
 * monitor.c - one monitoring pass: see monitor.h.
 *
 * Flow: load the catalogue (users with raw ages, movies with years and
 * genres, names) and the reference ratings; build the reference side once
 * (sorted numeric samples, category counts, every reference user's top-1
 * score and top-10 list, in-sample metrics); then per window load its
 * ratings, build the same side, score its users, judge every feature with
 * drift_*_judge and describe the window as JSON. Logging (a tracked run)
 * reads the finished report, so what is logged is exactly what is returned.
 */
#include "monitor/monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/eval.h"
#include "model/model.h"
#include "model/score.h"
#include "store/monitor_q.h"
#include "store/ratings.h"
#include "track/artifacts.h"
#include "track/runs.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/rng.h"
#include "util/sort.h"

#define TILE 64    /* users scored per model_score_users call */
#define TOP 10     /* recommendation list length for health */
#define RATING_CATS 10 /* half stars 0.5 .. 5 */
#define SAMPLE_SEED 0x5eed2024ULL

/* Numeric features per rating, categorical features per rating. */
enum { F_AGE, F_YEAR, F_POP, F_NUM };
enum { C_GENDER, C_OCC, C_GENRE, C_RATING, C_NUM };

/* One side of a comparison: the samples a window (or the reference)
 * contributes to each feature. */
struct side {
  double *num[F_NUM];   /* sorted samples */
  size_t n_num[F_NUM];
  int64_t *cat[C_NUM];  /* (cat_k[c]) counts */
  double rating_sum;
  size_t n;             /* ratings */
};

/* Scores of the distinct users of a side and the model's performance on
 * its pairs. */
struct upass {
  size_t n;             /* distinct users */
  int64_t *uid;         /* (n) ascending */
  double *top1;         /* (n) top-1 score, sorted copy in top1_sorted */
  double *top1_sorted;
  double *top10_mean;   /* (n) */
  int32_t *top10;       /* (n, TOP) model movie columns, -1 padding */
  size_t n_pairs, n_unknown_users, n_unknown_movies;
  struct eval_hits ev;  /* top-K hits by eval_rank, overall and by segment */
};

struct health {
  size_t n_users;
  double coverage, gini, mean_pop, top1_mean;
};

/* Everything a pass shares. */
struct mon {
  struct hv_db *db;
  const struct hv_model *m;
  const struct monitor_config *cfg;
  struct monitor_q_users U;
  struct ratings_movies M;
  struct monitor_q_names genres, occs;
  size_t cat_k[C_NUM];
  int genre_base;       /* smallest genre id (category 0) */
  size_t n_cols;        /* model movies */
  int64_t *col_id;      /* (n_cols) model movie ids ascending */
  int64_t *pop;         /* (M.n) reference rating count per movie */
  double *pop_by_col;   /* (n_cols) */
  int64_t ref_first, ref_last, ref_tmin, ref_tmax;
  int ref_from_model;
  struct ratings_cols R;
  struct side ref;
  struct upass ref_up;
  float *S;             /* (TILE, n_cols) scores */
  int64_t *cnt;         /* (n_cols) recommendation counts */
};

/* ---- small helpers ------------------------------------------------------ */

static int oom(struct hv_err *err)
{
  return hv_err_set(err, HV_ENOMEM, "monitor: out of memory");
}

/* ---- configuration -------------------------------------------------------- */

void monitor_config_defaults(struct monitor_config *c)
{
  memset(c, 0, sizeof(*c));
  c->mode = MONITOR_TIME;
  drift_thresholds_default(&c->th);
  c->num_test = -1;
  c->cat_test = -1;
  c->threshold_share = MONITOR_DEFAULT_SHARE;
  c->min_ratings = MONITOR_DEFAULT_MIN_RATINGS;
}

static int check_unit(double v, const char *what, struct hv_err *err)
{
  if (!(v > 0.0 && v <= 1.0))
    return hv_err_set(err, HV_EINVAL, "%s: %g is outside (0, 1]", what, v);
  return 0;
}

int monitor_config_check(const struct monitor_config *c, struct hv_err *err)
{
  if (!c)
    return hv_err_set(err, HV_EINVAL, "monitor: no configuration");
  if (c->mode == MONITOR_BATCHES) {
    if (!c->windows || c->n_windows == 0 || c->n_windows > WINDOW_MAX)
      return hv_err_set(err, HV_EINVAL,
                        "monitor: batches need 1..%d windows (got %zu)",
                        WINDOW_MAX, c->n_windows);
    for (size_t i = 0; i < c->n_windows; i++)
      if (c->windows[i].first > c->windows[i].last ||
          (c->windows[i].kind != WINDOW_RATING_IDS &&
           c->windows[i].kind != WINDOW_TIME))
        return hv_err_set(err, HV_EINVAL, "monitor: window %zu is empty or "
                          "of an unknown kind", i + 1);
  } else if (c->mode == MONITOR_TIME) {
    if (c->window_seconds < 0)
      return hv_err_set(err, HV_EINVAL, "monitor: window length < 0");
  } else {
    return hv_err_set(err, HV_EINVAL, "monitor: unknown mode %d", c->mode);
  }
  if (c->has_reference && c->ref_first > c->ref_last)
    return hv_err_set(err, HV_EINVAL, "--reference: first %lld > last %lld",
                      (long long)c->ref_first, (long long)c->ref_last);
  if (!(c->threshold_share >= 0.0 && c->threshold_share <= 1.0))
    return hv_err_set(err, HV_EINVAL,
                      "--threshold-share: %g is outside [0, 1]",
                      c->threshold_share);
  if (check_unit(c->th.ks_pvalue, "--ks-pvalue", err) ||
      check_unit(c->th.chi2_pvalue, "--chi2-pvalue", err))
    return HV_EINVAL;
  if (!(c->th.wasserstein_norm > 0 && isfinite(c->th.wasserstein_norm)) ||
      !(c->th.psi > 0 && isfinite(c->th.psi)) ||
      !(c->th.js > 0 && c->th.js <= 1.0))
    return hv_err_set(err, HV_EINVAL,
                      "thresholds: wasserstein and psi bounds must be > 0 "
                      "and the js bound in (0, 1]");
  if (c->num_test != -1 &&
      (c->num_test < DRIFT_TEST_KS || c->num_test > DRIFT_TEST_JS))
    return hv_err_set(err, HV_EINVAL,
                      "--num-stattest: %s does not apply to numeric "
                      "features (use ks, wasserstein_norm, psi or js)",
                      drift_test_name((enum drift_test)c->num_test));
  if (c->cat_test != -1 && c->cat_test != DRIFT_TEST_CHI2 &&
      c->cat_test != DRIFT_TEST_PSI && c->cat_test != DRIFT_TEST_JS)
    return hv_err_set(err, HV_EINVAL,
                      "--cat-stattest: %s does not apply to categorical "
                      "features (use chi2, psi or js)",
                      drift_test_name((enum drift_test)c->cat_test));
  return 0;
}

/* ---- catalogue -------------------------------------------------------------- */

static void mon_free(struct mon *x)
{
  monitor_q_users_free(&x->U);
  ratings_movies_free(&x->M);
  monitor_q_names_free(&x->genres);
  monitor_q_names_free(&x->occs);
  free(x->col_id);
  free(x->pop);
  free(x->pop_by_col);
  ratings_cols_free(&x->R);
  free(x->S);
  free(x->cnt);
}

static int load_catalogue(struct mon *x, struct hv_err *err)
{
  if (monitor_q_users(x->db, &x->U, err) ||
      ratings_load_movies(x->db, &x->M, err) ||
      monitor_q_names(x->db, MONITOR_Q_GENRES, &x->genres, err) ||
      monitor_q_names(x->db, MONITOR_Q_OCCUPATIONS, &x->occs, err))
    return err->code;
  int gmin = 0, gmax = 0, omax = -1;
  size_t ng = x->M.n ? x->M.genre_off[x->M.n] : 0;
  for (size_t i = 0; i < ng; i++) {
    int g = x->M.genre_ids[i];
    if (i == 0 || g < gmin)
      gmin = g;
    if (i == 0 || g > gmax)
      gmax = g;
  }
  if (ng && gmax - gmin > 100000)
    return hv_err_set(err, HV_EINVAL,
                      "movie_genres: genre ids span %d..%d, too wide to count",
                      gmin, gmax);
  for (size_t i = 0; i < x->U.n; i++)
    if (x->U.occupation[i] > omax)
      omax = x->U.occupation[i];
  if (omax > 100000)
    return hv_err_set(err, HV_EINVAL,
                      "user_occupation: label %d is too large to count", omax);
  x->genre_base = ng ? gmin : 0;
  x->cat_k[C_GENDER] = 3;
  x->cat_k[C_OCC] = (size_t)(omax + 2); /* slot 0: unknown */
  x->cat_k[C_GENRE] = ng ? (size_t)(gmax - gmin + 1) : 1;
  x->cat_k[C_RATING] = RATING_CATS;
  x->n_cols = model_n_movies(x->m);
  if (x->n_cols == 0)
    return hv_err_set(err, HV_EINVAL, "monitor: the model knows no movies");
  x->col_id = malloc(x->n_cols * sizeof(int64_t));
  x->pop_by_col = malloc(x->n_cols * sizeof(double));
  x->pop = calloc(x->M.n + 1, sizeof(int64_t));
  x->S = malloc((size_t)TILE * x->n_cols * sizeof(float));
  x->cnt = malloc(x->n_cols * sizeof(int64_t));
  if (!x->col_id || !x->pop_by_col || !x->pop || !x->S || !x->cnt)
    return oom(err);
  for (size_t i = 0; i < x->n_cols; i++)
    x->col_id[i] = model_movie_id(x->m, i);
  return 0;
}

/* Reference popularity of every movie and of every model column. */
static void count_popularity(struct mon *x)
{
  for (size_t i = 0; i < x->R.n; i++) {
    size_t k = sort_find_i64(x->M.id, x->M.n, x->R.movie_id[i]);
    if (k != SORT_NONE)
      x->pop[k]++;
  }
  for (size_t c = 0; c < x->n_cols; c++) {
    size_t k = sort_find_i64(x->M.id, x->M.n, x->col_id[c]);
    x->pop_by_col[c] = k != SORT_NONE ? (double)x->pop[k] : 0.0;
  }
}

/* ---- one side's samples ----------------------------------------------------- */

static void side_free(struct side *s)
{
  for (int f = 0; f < F_NUM; f++)
    free(s->num[f]);
  for (int c = 0; c < C_NUM; c++)
    free(s->cat[c]);
  memset(s, 0, sizeof(*s));
}

static int rating_cat(float r)
{
  int k = (int)lround((double)r * 2.0) - 1;
  return k < 0 ? 0 : (k >= RATING_CATS ? RATING_CATS - 1 : k);
}

/* Add rating i of R to s (numeric samples unsorted yet). User features
 * count each distinct rater once (seen marks users already counted): they
 * describe who rates, and rows of one heavy rater are not independent.
 * is_ref: R is the reference, whose rows count themselves in the
 * popularity; they get the leave-one-out count so both sides measure
 * "reference ratings of this movie other than this row" and a stationary
 * stream shows no drift. Popularity is compared on the log1p scale, where
 * a few blockbusters do not dominate the Wasserstein distance. */
static void side_add(const struct mon *x, const struct ratings_cols *R,
                     size_t i, int is_ref, unsigned char *seen,
                     struct side *s)
{
  size_t u = sort_find_i64(x->U.id, x->U.n, R->user_id[i]);
  size_t mv = sort_find_i64(x->M.id, x->M.n, R->movie_id[i]);
  if (u != SORT_NONE && !seen[u]) {
    seen[u] = 1;
    if (x->U.raw_age[u] >= 0)
      s->num[F_AGE][s->n_num[F_AGE]++] = x->U.raw_age[u];
    int gender = x->U.gender[u], occ = x->U.occupation[u];
    s->cat[C_GENDER][gender >= 0 && gender <= 2 ? gender : 0]++;
    s->cat[C_OCC][occ >= 0 ? (size_t)occ + 1 : 0]++;
  }
  if (mv != SORT_NONE) {
    if (x->M.year[mv] > 0)
      s->num[F_YEAR][s->n_num[F_YEAR]++] = x->M.year[mv];
    for (size_t g = x->M.genre_off[mv]; g < x->M.genre_off[mv + 1]; g++)
      s->cat[C_GENRE][x->M.genre_ids[g] - x->genre_base]++;
  }
  double pop = mv != SORT_NONE ? (double)x->pop[mv] : 0.0;
  s->num[F_POP][s->n_num[F_POP]++] =
      log1p(is_ref && pop >= 1.0 ? pop - 1.0 : pop);
  s->cat[C_RATING][rating_cat(R->rating[i])]++;
  s->rating_sum += R->rating[i];
}

static int side_build(const struct mon *x, const struct ratings_cols *R,
                      int is_ref, struct side *s, struct hv_err *err)
{
  memset(s, 0, sizeof(*s));
  for (int f = 0; f < F_NUM; f++)
    if (!(s->num[f] = malloc((R->n + 1) * sizeof(double))))
      return oom(err);
  for (int c = 0; c < C_NUM; c++)
    if (!(s->cat[c] = calloc(x->cat_k[c], sizeof(int64_t))))
      return oom(err);
  unsigned char *seen = calloc(x->U.n + 1, 1);
  if (!seen)
    return oom(err);
  for (size_t i = 0; i < R->n; i++)
    side_add(x, R, i, is_ref, seen, s);
  free(seen);
  s->n = R->n;
  for (int f = 0; f < F_NUM; f++)
    if (drift_sort(s->num[f], s->n_num[f], err))
      return err->code;
  return 0;
}

/* ---- scoring pass ------------------------------------------------------------ */

static void upass_free(struct upass *p)
{
  free(p->uid);
  free(p->top1);
  free(p->top1_sorted);
  free(p->top10_mean);
  free(p->top10);
  memset(p, 0, sizeof(*p));
}

/* Distinct users of R into p->uid and the arrays sized by them. */
static int upass_users(const struct ratings_cols *R, struct upass *p,
                       struct hv_err *err)
{
  p->uid = malloc((R->n + 1) * sizeof(int64_t));
  if (!p->uid)
    return oom(err);
  if (R->n)
    memcpy(p->uid, R->user_id, R->n * sizeof(int64_t));
  size_t k = sort_unique_i64(p->uid, R->n);
  p->n = k;
  p->top1 = malloc((k + 1) * sizeof(double));
  p->top1_sorted = malloc((k + 1) * sizeof(double));
  p->top10_mean = malloc((k + 1) * sizeof(double));
  p->top10 = malloc((k + 1) * TOP * sizeof(int32_t));
  if (!p->top1 || !p->top1_sorted || !p->top10_mean || !p->top10)
    return oom(err);
  return 0;
}

/* Pairs of R grouped by user index: *order (n) and *off (n_users + 2);
 * the pairs of user u are order[off[u] .. off[u + 1]). */
static int group_pairs(const struct ratings_cols *R, const struct upass *p,
                       size_t **order, size_t **off, struct hv_err *err)
{
  *order = malloc((R->n + 1) * sizeof(size_t));
  *off = calloc(p->n + 2, sizeof(size_t));
  size_t *uix = malloc((R->n + 1) * sizeof(size_t));
  if (!*order || !*off || !uix) {
    free(uix);
    return oom(err);
  }
  for (size_t i = 0; i < R->n; i++) {
    uix[i] = sort_find_i64(p->uid, p->n, R->user_id[i]);
    (*off)[uix[i] + 2]++;
  }
  for (size_t u = 0; u < p->n; u++)
    (*off)[u + 2] += (*off)[u + 1];
  for (size_t i = 0; i < R->n; i++)
    (*order)[(*off)[uix[i] + 1]++] = i;
  free(uix);
  return 0;
}

/* Rank the pairs of user u (scores row) and add them to p, by the
 * evaluation's rule and segments (eval_rank, eval_segment_of). */
static void rank_user(const struct mon *x, const struct ratings_cols *R,
                      const size_t *order, size_t lo, size_t hi,
                      const float *row, struct upass *p, size_t u)
{
  size_t ui = sort_find_i64(x->U.id, x->U.n, p->uid[u]);
  int segs[2];
  eval_segment_of(ui != SORT_NONE ? x->U.gender[ui] : 0,
                  ui != SORT_NONE ? x->U.age_bucket[ui] : -1, segs);
  int known_user = model_knows_user(x->m, p->uid[u]);
  eval_hits_user(&p->ev, segs);
  for (size_t j = lo; j < hi; j++) {
    size_t i = order[j];
    p->n_unknown_users += !known_user;
    size_t col = sort_find_i64(x->col_id, x->n_cols, R->movie_id[i]);
    p->n_unknown_movies += col == SORT_NONE;
    eval_hits_add(&p->ev, eval_rank(row, x->n_cols, col), segs);
  }
}

/* Top-1, top-10 mean and top-10 list of user u from its scores row. */
static void top_user(const struct mon *x, const float *row, struct upass *p,
                     size_t u)
{
  int64_t idx[TOP];
  size_t k = score_topk(row, x->n_cols, TOP, idx);
  double sum = 0.0;
  for (size_t j = 0; j < TOP; j++) {
    p->top10[u * TOP + j] = j < k ? (int32_t)idx[j] : -1;
    if (j < k)
      sum += row[idx[j]];
  }
  p->top1[u] = k ? row[idx[0]] : 0.0;
  p->top10_mean[u] = k ? sum / (double)k : 0.0;
}

/* Score every distinct user of R once: top lists and pair ranks. */
static int upass_run(struct mon *x, const struct ratings_cols *R,
                     struct upass *p, struct hv_err *err)
{
  memset(p, 0, sizeof(*p));
  size_t *order = NULL, *off = NULL;
  int rc = upass_users(R, p, err);
  if (!rc)
    rc = group_pairs(R, p, &order, &off, err);
  for (size_t t0 = 0; !rc && t0 < p->n; t0 += TILE) {
    size_t nt = p->n - t0 < TILE ? p->n - t0 : TILE;
    rc = model_score_users(x->m, p->uid + t0, nt, x->S, err);
    for (size_t k = 0; !rc && k < nt; k++) {
      const float *row = x->S + k * x->n_cols;
      top_user(x, row, p, t0 + k);
      rank_user(x, R, order, off[t0 + k], off[t0 + k + 1], row, p, t0 + k);
    }
  }
  p->n_pairs = R->n;
  if (!rc) {
    if (p->n)
      memcpy(p->top1_sorted, p->top1, p->n * sizeof(double));
    rc = drift_sort(p->top1_sorted, p->n, err);
  }
  free(order);
  free(off);
  return rc;
}

/* ---- health ------------------------------------------------------------------- */

/* Health of the top-10 lists of the users pick[0..n) of p (pick NULL: all
 * p->n users). */
static void health_of(struct mon *x, const struct upass *p,
                      const size_t *pick, size_t n, struct health *h)
{
  memset(x->cnt, 0, x->n_cols * sizeof(int64_t));
  double slots = 0.0, pop = 0.0, top1 = 0.0;
  for (size_t j = 0; j < n; j++) {
    size_t u = pick ? pick[j] : j;
    top1 += p->top1[u];
    for (int k = 0; k < TOP; k++) {
      int32_t c = p->top10[u * TOP + k];
      if (c < 0)
        continue;
      x->cnt[c]++;
      slots += 1.0;
      pop += x->pop_by_col[c];
    }
  }
  size_t covered = 0;
  for (size_t c = 0; c < x->n_cols; c++)
    covered += x->cnt[c] > 0;
  qsort(x->cnt, x->n_cols, sizeof(int64_t), sort_cmp_i64);
  double num = 0.0, nc = (double)x->n_cols;
  for (size_t c = 0; c < x->n_cols; c++)
    num += (2.0 * (double)(c + 1) - nc - 1.0) * (double)x->cnt[c];
  h->n_users = n;
  h->coverage = (double)covered / nc;
  h->gini = slots > 0 ? num / (nc * slots) : NAN;
  h->mean_pop = slots > 0 ? pop / slots : NAN;
  h->top1_mean = n ? top1 / (double)n : NAN;
}

/* Health of a fixed-seed sample of k reference users (all when k >= n). */
static int health_ref_sample(struct mon *x, size_t k, struct health *h,
                             struct hv_err *err)
{
  const struct upass *p = &x->ref_up;
  if (k >= p->n) {
    health_of(x, p, NULL, p->n, h);
    return 0;
  }
  size_t *idx = malloc((p->n + 1) * sizeof(size_t));
  if (!idx)
    return oom(err);
  for (size_t i = 0; i < p->n; i++)
    idx[i] = i;
  uint64_t s = SAMPLE_SEED;
  for (size_t i = 0; i < k; i++) {
    size_t j = i + (size_t)(rng_splitmix64(&s) % (p->n - i));
    size_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  health_of(x, p, idx, k, h);
  free(idx);
  return 0;
}

static json_t *health_json(const struct health *h)
{
  return json_pack("{s:I, s:o, s:o, s:o, s:o}", "n_users",
                   (json_int_t)h->n_users, "coverage_at_10",
                   hv_json_num(h->coverage), "gini_at_10", hv_json_num(h->gini),
                   "mean_popularity_at_10", hv_json_num(h->mean_pop),
                   "top1_score_mean", hv_json_num(h->top1_mean));
}

/* Window health vs the same number of reference users. */
static int health_window(struct mon *x, const struct upass *p, json_t **out,
                         struct hv_err *err)
{
  struct health w, r;
  health_of(x, p, NULL, p->n, &w);
  if (health_ref_sample(x, p->n, &r, err))
    return err->code;
  json_t *j = health_json(&w);
  if (!j)
    return oom(err);
  json_object_set_new(j, "reference", health_json(&r));
  json_object_set_new(
      j, "coverage_ratio",
      hv_json_num(r.coverage > 0 ? w.coverage / r.coverage : NAN));
  json_object_set_new(j, "gini_delta", hv_json_num(w.gini - r.gini));
  json_object_set_new(
      j, "mean_popularity_ratio",
      hv_json_num(r.mean_pop > 0 ? w.mean_pop / r.mean_pop : NAN));
  *out = j;
  return 0;
}

/* ---- performance JSON ------------------------------------------------------- */

static void set_topk(json_t *j, const double *hits, size_t n)
{
  for (int k = 0; k < EVAL_NK; k++) {
    char key[48];
    snprintf(key, sizeof(key), "top_%d_categorical_accuracy", eval_ks[k]);
    json_object_set_new(j, key, hv_json_num(n ? hits[k] / (double)n : NAN));
  }
}

static json_t *metrics_json(const struct upass *p, const struct side *s)
{
  json_t *j = json_pack(
      "{s:I, s:I, s:I, s:I, s:o}", "n_pairs", (json_int_t)p->n_pairs, "n_users",
      (json_int_t)p->n, "n_unknown_users", (json_int_t)p->n_unknown_users,
      "n_unknown_movies", (json_int_t)p->n_unknown_movies, "rating_mean",
      hv_json_num(s->n ? s->rating_sum / (double)s->n : NAN));
  json_t *segs = json_array();
  if (!j || !segs) {
    json_decref(j);
    json_decref(segs);
    return NULL;
  }
  set_topk(j, p->ev.hits, p->n_pairs);
  for (int s2 = 0; s2 < EVAL_NSEG; s2++) {
    if (!p->ev.seg_pairs[s2])
      continue;
    char name[32];
    eval_segment_name(s2, name, sizeof(name));
    json_t *g = json_pack("{s:s, s:I, s:I}", "segment", name, "n_pairs",
                          (json_int_t)p->ev.seg_pairs[s2], "n_users",
                          (json_int_t)p->ev.seg_users[s2]);
    if (g) {
      set_topk(g, p->ev.seg_hits[s2], p->ev.seg_pairs[s2]);
      json_array_append_new(segs, g);
    }
  }
  json_object_set_new(j, "segments", segs);
  return j;
}

/* ---- features ------------------------------------------------------------------ */

static const char *const num_name[F_NUM] = {"user_age", "movie_year",
                                            "movie_popularity"};
static const char *const cat_name[C_NUM] = {"user_gender", "user_occupation",
                                            "movie_genres", "rating"};

static double mean_of(const double *x, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  return n ? s / (double)n : NAN;
}

static json_t *skipped_json(const char *name, const char *group,
                            const char *kind, size_t nr, size_t nc)
{
  return json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:b, s:I, s:I, s:s}",
                   "name", name, "group", group, "kind", kind, "test",
                   "statistic", "threshold", "drift", 0, "n_ref",
                   (json_int_t)nr, "n_cur", (json_int_t)nc, "skipped",
                   nr ? "no current values" : "no reference values");
}

static void verdict_json(json_t *j, const struct drift_feature_result *v)
{
  json_object_set_new(j, "test", json_string(drift_test_name(v->test)));
  json_object_set_new(j, "statistic", hv_json_num(v->statistic));
  json_object_set_new(j, "pvalue", hv_json_num(v->pvalue));
  json_object_set_new(j, "threshold", hv_json_num(v->threshold));
  json_object_set_new(j, "drift", json_boolean(v->drift));
}

static const char *psi_grade_name(int g)
{
  return g >= 2 ? "major" : (g == 1 ? "moderate" : "none");
}

/* Judge one numeric feature; *drift gets 0/1, or -1 when skipped. */
static int feat_numeric(const struct mon *x, const char *name,
                        const char *group, const double *r, size_t nr,
                        const double *c, size_t nc, json_t *arr, int *drift,
                        struct hv_err *err)
{
  *drift = -1;
  if (!nr || !nc)
    return json_array_append_new(arr, skipped_json(name, group, "numeric",
                                                   nr, nc))
               ? oom(err)
               : 0;
  struct drift_numeric_report rep;
  struct drift_feature_result v;
  const struct drift_thresholds *th = &x->cfg->th;
  enum drift_test t = x->cfg->num_test >= 0
                          ? (enum drift_test)x->cfg->num_test
                          : drift_default_test(0, nr < nc ? nr : nc, th);
  if (drift_numeric_sorted(r, nr, c, nc, 0, &rep, err) ||
      drift_numeric_judge(name, &rep, t, th, &v, err)) {
    hv_err_prefix(err, "%s", name);
    return err->code;
  }
  json_t *j = json_pack(
      "{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:f, s:o, s:s, s:o, s:o, s:o, "
      "s:o, s:s}",
      "name", name, "group", group, "kind", "numeric", "n_ref", (json_int_t)nr,
      "n_cur", (json_int_t)nc, "ref_mean", hv_json_num(mean_of(r, nr)),
      "cur_mean", hv_json_num(mean_of(c, nc)), "ks_statistic", rep.ks.statistic,
      "ks_pvalue", hv_json_num(rep.ks.pvalue), "ks_method",
      drift_ks_method_name(rep.ks.method), "wasserstein",
      hv_json_num(rep.wasserstein), "wasserstein_norm",
      hv_json_num(rep.wasserstein_norm), "psi", hv_json_num(rep.psi), "js",
      hv_json_num(rep.js), "psi_grade",
      psi_grade_name(drift_psi_grade(rep.psi, th)));
  if (!j)
    return oom(err);
  verdict_json(j, &v);
  *drift = v.drift;
  return json_array_append_new(arr, j) ? oom(err) : 0;
}

/* Display name of category k of categorical feature f. */
static void cat_label(const struct mon *x, int f, size_t k, char *buf,
                      size_t cap)
{
  static const char *const g[3] = {"unknown", "M", "F"};
  const char *nm = NULL;
  if (f == C_GENDER) {
    nm = g[k < 3 ? k : 0];
  } else if (f == C_OCC) {
    nm = k == 0 ? "unknown" : monitor_q_name_of(&x->occs, (int)k - 1);
  } else if (f == C_GENRE) {
    nm = monitor_q_name_of(&x->genres, (int)k + x->genre_base);
  } else {
    snprintf(buf, cap, "%g", (double)(k + 1) / 2.0);
    return;
  }
  if (nm)
    snprintf(buf, cap, "%s", nm);
  else
    snprintf(buf, cap, "%zu", f == C_OCC ? k - 1 : k + (size_t)x->genre_base);
}

static json_t *categories_json(const struct mon *x, int f, const int64_t *r,
                               const int64_t *c, int64_t nr, int64_t nc)
{
  json_t *a = json_array();
  for (size_t k = 0; a && k < x->cat_k[f]; k++) {
    if (!r[k] && !c[k])
      continue;
    char label[96];
    cat_label(x, f, k, label, sizeof(label));
    json_array_append_new(
        a, json_pack("{s:s, s:f, s:f}", "category", label, "reference",
                     (double)r[k] / (double)nr, "current",
                     (double)c[k] / (double)nc));
  }
  return a;
}

static int64_t sum_i64(const int64_t *a, size_t n)
{
  int64_t s = 0;
  for (size_t i = 0; i < n; i++)
    s += a[i];
  return s;
}

/* Judge one categorical feature f; *drift as feat_numeric. */
static int feat_categorical(const struct mon *x, int f, const char *group,
                            const int64_t *r, const int64_t *c, json_t *arr,
                            int *drift, struct hv_err *err)
{
  const char *name = cat_name[f];
  size_t k = x->cat_k[f];
  int64_t nr = sum_i64(r, k), nc = sum_i64(c, k);
  *drift = -1;
  if (!nr || !nc)
    return json_array_append_new(
               arr, skipped_json(name, group, "categorical", (size_t)nr,
                                 (size_t)nc))
               ? oom(err)
               : 0;
  struct drift_categorical_report rep;
  struct drift_feature_result v;
  const struct drift_thresholds *th = &x->cfg->th;
  enum drift_test t = x->cfg->cat_test >= 0
                          ? (enum drift_test)x->cfg->cat_test
                          : drift_default_test(
                                1, (size_t)(nr < nc ? nr : nc), th);
  if (drift_categorical(r, c, k, &rep, err) ||
      drift_categorical_judge(name, &rep, t, th, &v, err)) {
    hv_err_prefix(err, "%s", name);
    return err->code;
  }
  json_t *j =
      json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:i, s:o, s:o, s:s, s:o}",
                "name", name, "group", group, "kind", "categorical", "n_ref",
                (json_int_t)nr, "n_cur", (json_int_t)nc, "chi2_statistic",
                hv_json_num(rep.chi2.statistic), "chi2_pvalue",
                hv_json_num(rep.chi2.pvalue), "chi2_dof", rep.chi2.dof, "psi",
                hv_json_num(rep.psi), "js", hv_json_num(rep.js), "psi_grade",
                psi_grade_name(drift_psi_grade(rep.psi, th)), "categories",
                categories_json(x, f, r, c, nr, nc));
  if (!j)
    return oom(err);
  verdict_json(j, &v);
  *drift = v.drift;
  return json_array_append_new(arr, j) ? oom(err) : 0;
}

/* All features of a window into w["features"] and the verdict fields. */
static int window_features(const struct mon *x, const struct side *s,
                           const struct upass *p, json_t *w,
                           struct hv_err *err)
{
  json_t *arr = json_array();
  if (!arr)
    return oom(err);
  json_object_set_new(w, "features", arr);
  const struct side *r = &x->ref;
  int d[F_NUM + C_NUM + 1], n = 0, rc = 0;
  static const int order[] = {0, 100 + C_GENDER, 100 + C_OCC, 100 + C_GENRE,
                              1, 2, 100 + C_RATING};
  for (size_t i = 0; !rc && i < sizeof(order) / sizeof(order[0]); i++) {
    int f = order[i];
    if (f < 100)
      rc = feat_numeric(x, num_name[f], "covariate", r->num[f], r->n_num[f],
                        s->num[f], s->n_num[f], arr, &d[n++], err);
    else
      rc = feat_categorical(x, f - 100,
                            f - 100 == C_RATING ? "label" : "covariate",
                            r->cat[f - 100], s->cat[f - 100], arr, &d[n++],
                            err);
  }
  if (!rc)
    rc = feat_numeric(x, "prediction_top1_score", "prediction",
                      x->ref_up.top1_sorted, x->ref_up.n, p->top1_sorted,
                      p->n, arr, &d[n++], err);
  if (rc)
    return rc;
  int judged = 0, drifted = 0;
  for (int i = 0; i < n; i++) {
    judged += d[i] >= 0;
    drifted += d[i] == 1;
  }
  if (s->n < x->cfg->min_ratings) {
    /* too few rows for effect sizes to mean anything: statistics are
     * shown, verdicts are not given */
    char why[96];
    snprintf(why, sizeof(why), "window has %zu < %zu ratings (min_ratings)",
             s->n, x->cfg->min_ratings);
    size_t i;
    json_t *f;
    json_array_foreach(arr, i, f)
    {
      json_object_set_new(f, "drift", json_false());
      if (!json_object_get(f, "skipped"))
        json_object_set_new(f, "skipped", json_string(why));
    }
    judged = drifted = 0;
  }
  double share = judged ? (double)drifted / judged : 0.0;
  json_object_set_new(w, "n_features", json_integer(judged));
  json_object_set_new(w, "n_drifted", json_integer(drifted));
  json_object_set_new(w, "drifted_share", json_real(share));
  json_object_set_new(w, "dataset_drift",
                      json_boolean(judged && share >= x->cfg->threshold_share));
  return 0;
}

/* ---- windows ----------------------------------------------------------------- */

static int load_window(struct mon *x, const struct window_spec *ws,
                       struct ratings_cols *R, struct hv_err *err)
{
  if (ws->kind == WINDOW_RATING_IDS)
    return ratings_load(x->db, ws->first, ws->last, R, err);
  return monitor_q_ratings_time(x->db, ws->first, ws->last, x->ref_first,
                                x->ref_last, R, err);
}

static json_t *window_head(const struct window_spec *ws, size_t index,
                           const struct ratings_cols *R)
{
  json_t *w = json_pack("{s:I, s:s, s:s, s:I}", "index", (json_int_t)index,
                        "name", ws->name, "kind",
                        ws->kind == WINDOW_TIME ? "time" : "rating_ids",
                        "n_ratings", (json_int_t)R->n);
  if (!w)
    return NULL;
  if (ws->kind == WINDOW_RATING_IDS) {
    json_object_set_new(w, "first_rating_id", json_integer(ws->first));
    json_object_set_new(w, "last_rating_id", json_integer(ws->last));
  } else {
    char a[32], b[32];
    window_format_time(ws->first, a, sizeof(a));
    window_format_time(ws->last, b, sizeof(b));
    json_object_set_new(w, "start", json_string(a));
    json_object_set_new(w, "end", json_string(b));
    json_object_set_new(w, "start_ts", json_integer(ws->first));
    json_object_set_new(w, "end_ts", json_integer(ws->last));
  }
  return w;
}

/* Describe window ws (index) into a new *out. */
static int run_window(struct mon *x, const struct window_spec *ws,
                      size_t index, json_t **out, struct hv_err *err)
{
  struct ratings_cols R;
  struct side s;
  struct upass p;
  memset(&s, 0, sizeof(s));
  memset(&p, 0, sizeof(p));
  json_t *w = NULL, *h = NULL;
  int rc = load_window(x, ws, &R, err);
  if (!rc && !(w = window_head(ws, index, &R)))
    rc = oom(err);
  if (!rc && R.n == 0) {
    json_object_set_new(w, "n_users", json_integer(0));
    json_object_set_new(w, "metrics", json_null());
    json_object_set_new(w, "features", json_array());
    json_object_set_new(w, "n_features", json_integer(0));
    json_object_set_new(w, "n_drifted", json_integer(0));
    json_object_set_new(w, "drifted_share", json_real(0.0));
    json_object_set_new(w, "dataset_drift", json_false());
    json_object_set_new(w, "health", json_null());
  } else if (!rc) {
    rc = side_build(x, &R, 0, &s, err);
    if (!rc)
      rc = upass_run(x, &R, &p, err);
    if (!rc)
      rc = window_features(x, &s, &p, w, err);
    if (!rc)
      rc = health_window(x, &p, &h, err);
    if (!rc) {
      size_t fresh = 0; /* users without a rating in the reference */
      for (size_t u = 0; u < p.n; u++)
        fresh +=
            sort_find_i64(x->ref_up.uid, x->ref_up.n, p.uid[u]) == SORT_NONE;
      json_t *met = metrics_json(&p, &s);
      if (met)
        json_object_set_new(met, "n_users_not_in_reference",
                            json_integer((json_int_t)fresh));
      json_object_set_new(w, "n_users", json_integer((json_int_t)p.n));
      json_object_set_new(w, "metrics", met);
      json_object_set_new(w, "health", h);
    }
  }
  ratings_cols_free(&R);
  side_free(&s);
  upass_free(&p);
  if (rc) {
    json_decref(w);
    return rc;
  }
  *out = w;
  return 0;
}

/* The windows of cfg: explicit ones are copied, time ones generated. */
static int make_windows(struct mon *x, struct window_spec **ws, size_t *n,
                        struct hv_err *err)
{
  const struct monitor_config *c = x->cfg;
  if (c->mode == MONITOR_BATCHES) {
    *ws = malloc(c->n_windows * sizeof(**ws));
    if (!*ws)
      return oom(err);
    memcpy(*ws, c->windows, c->n_windows * sizeof(**ws));
    *n = c->n_windows;
    return 0;
  }
  int64_t t1, cnt;
  if (monitor_q_last_time_outside(x->db, x->ref_first, x->ref_last, &t1,
                                  &cnt, err))
    return err->code;
  int64_t start = c->has_since ? c->since : x->ref_tmax;
  int64_t end = cnt && t1 >= start ? t1 + 1 : start;
  int64_t len = c->window_seconds > 0 ? c->window_seconds
                                      : (end > start ? end - start : 1);
  return window_time_series(start, end, len, c->max_windows, ws, n, err);
}

/* ---- reference and report -------------------------------------------------- */

static int load_reference(struct mon *x, struct hv_err *err)
{
  const struct monitor_config *c = x->cfg;
  struct train_config tc;
  model_config(x->m, &tc);
  x->ref_from_model = !c->has_reference;
  x->ref_first = c->has_reference ? c->ref_first : tc.first_rating_id;
  x->ref_last = c->has_reference ? c->ref_last : tc.last_rating_id;
  int64_t n = 0;
  if (ratings_load(x->db, x->ref_first, x->ref_last, &x->R, err) ||
      monitor_q_time_span(x->db, x->ref_first, x->ref_last, &x->ref_tmin,
                          &x->ref_tmax, &n, err))
    return err->code;
  if (x->R.n == 0)
    return hv_err_set(err, HV_EINVAL,
                      "reference: no ratings with rating_id in %lld:%lld "
                      "(%s); pass --reference FIRST:LAST",
                      (long long)x->ref_first, (long long)x->ref_last,
                      x->ref_from_model ? "the model's training range"
                                        : "--reference");
  count_popularity(x);
  if (side_build(x, &x->R, 1, &x->ref, err) ||
      upass_run(x, &x->R, &x->ref_up, err))
    return err->code;
  return 0;
}

static json_t *model_json(const struct mon *x)
{
  struct train_config tc;
  char sha[65];
  model_config(x->m, &tc);
  model_sha256_hex(x->m, sha);
  const char *uri = x->cfg->model_uri ? x->cfg->model_uri : "";
  return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:b}", "uri",
                   uri, "sha256", sha, "trained_first_rating_id",
                   (json_int_t)tc.first_rating_id, "trained_last_rating_id",
                   (json_int_t)tc.last_rating_id, "n_train_ratings",
                   (json_int_t)model_n_train_ratings(x->m), "n_users",
                   (json_int_t)model_n_users(x->m), "n_movies",
                   (json_int_t)model_n_movies(x->m), "dim", model_dim(x->m),
                   "features", tc.features);
}

static json_t *reference_json(struct mon *x)
{
  char a[32], b[32];
  struct health h;
  window_format_time(x->ref_tmin, a, sizeof(a));
  window_format_time(x->ref_tmax, b, sizeof(b));
  health_of(x, &x->ref_up, NULL, x->ref_up.n, &h);
  return json_pack("{s:I, s:I, s:s, s:I, s:I, s:s, s:s, s:o, s:o}",
                   "first_rating_id", (json_int_t)x->ref_first,
                   "last_rating_id", (json_int_t)x->ref_last, "source",
                   x->ref_from_model ? "model lineage" : "config",
                   "n_ratings", (json_int_t)x->R.n, "n_users",
                   (json_int_t)x->ref_up.n, "start", a, "end", b, "metrics",
                   metrics_json(&x->ref_up, &x->ref), "health",
                   health_json(&h));
}

static json_t *config_json(const struct monitor_config *c)
{
  const struct drift_thresholds *t = &c->th;
  return json_pack(
      "{s:s, s:I, s:s, s:f, s:I, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:I}, "
      "s:s, s:s}",
      "mode", c->mode == MONITOR_BATCHES ? "batches" : "time",
      "window_seconds", (json_int_t)c->window_seconds, "since",
      c->has_since ? "given" : "end of reference", "threshold_share",
      c->threshold_share, "min_ratings", (json_int_t)c->min_ratings,
      "thresholds", "ks_pvalue", t->ks_pvalue,
      "chi2_pvalue", t->chi2_pvalue, "wasserstein_norm", t->wasserstein_norm,
      "psi", t->psi, "psi_major", t->psi_major, "js", t->js, "small_n",
      (json_int_t)t->small_n, "num_stattest",
      c->num_test >= 0 ? drift_test_name((enum drift_test)c->num_test)
                       : "default",
      "cat_stattest",
      c->cat_test >= 0 ? drift_test_name((enum drift_test)c->cat_test)
                       : "default");
}

/* ---- tracking ------------------------------------------------------------------- */

struct keybuf {
  struct tracking_metric *m;
  char (*key)[RUNS_MAX_KEY + 1];
  size_t n, cap;
};

static int kb_add(struct keybuf *kb, const char *key, double v, int64_t step)
{
  if (kb->n == kb->cap) {
    size_t nc = kb->cap ? kb->cap * 2 : 256;
    void *a = realloc(kb->m, nc * sizeof(*kb->m));
    if (!a)
      return HV_ENOMEM;
    kb->m = a;
    void *b = realloc(kb->key, nc * sizeof(*kb->key));
    if (!b)
      return HV_ENOMEM;
    kb->key = b;
    kb->cap = nc;
  }
  snprintf(kb->key[kb->n], sizeof(kb->key[0]), "%s", key);
  kb->m[kb->n].value = v;
  kb->m[kb->n].step = step;
  kb->m[kb->n].timestamp = 0;
  kb->n++;
  return 0;
}

static double jget(const json_t *o, const char *k)
{
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The metrics of one window of the report into kb. */
static int window_metrics(const json_t *w, int64_t step, struct keybuf *kb)
{
  int rc = 0;
  const json_t *met = json_object_get(w, "metrics");
  const json_t *h = json_object_get(w, "health");
  rc |= kb_add(kb, "n_ratings", jget(w, "n_ratings"), step);
  rc |= kb_add(kb, "n_users", jget(w, "n_users"), step);
  rc |= kb_add(kb, "drifted_share", jget(w, "drifted_share"), step);
  rc |= kb_add(kb, "dataset_drift",
               json_is_true(json_object_get(w, "dataset_drift")), step);
  for (int k = 0; json_is_object(met) && k < EVAL_NK; k++) {
    char key[64];
    snprintf(key, sizeof(key), "top_%d_categorical_accuracy", eval_ks[k]);
    rc |= kb_add(kb, key, jget(met, key), step);
  }
  static const char *const hk[] = {"coverage_at_10", "gini_at_10",
                                   "mean_popularity_at_10"};
  for (size_t i = 0; json_is_object(h) && i < 3; i++) {
    char key[64];
    snprintf(key, sizeof(key), "health.%s", hk[i]);
    rc |= kb_add(kb, key, jget(h, hk[i]), step);
  }
  size_t i;
  const json_t *f;
  json_array_foreach(json_object_get(w, "features"), i, f)
  {
    if (json_object_get(f, "skipped"))
      continue;
    char key[128];
    const char *nm = json_string_value(json_object_get(f, "name"));
    snprintf(key, sizeof(key), "%s.statistic", nm ? nm : "feature");
    rc |= kb_add(kb, key, jget(f, "statistic"), step);
    snprintf(key, sizeof(key), "%s.drift", nm ? nm : "feature");
    rc |= kb_add(kb, key, json_is_true(json_object_get(f, "drift")), step);
  }
  return rc ? HV_ENOMEM : 0;
}

static int log_params(struct hv_db *db, const char *run,
                      const struct mon *x, struct hv_err *err)
{
  const struct monitor_config *c = x->cfg;
  char ref[64], share[32], sha[65];
  snprintf(ref, sizeof(ref), "%lld:%lld", (long long)x->ref_first,
           (long long)x->ref_last);
  snprintf(share, sizeof(share), "%g", c->threshold_share);
  model_sha256_hex(x->m, sha);
  if (runs_log_param(db, run, "model_uri",
                     c->model_uri && *c->model_uri ? c->model_uri : "-",
                     err) ||
      runs_log_param(db, run, "model_sha256", sha, err) ||
      runs_log_param(db, run, "reference", ref, err) ||
      runs_log_param(db, run, "mode",
                     c->mode == MONITOR_BATCHES ? "batches" : "time", err) ||
      runs_log_param(db, run, "threshold_share", share, err))
    return err->code;
  if (c->mode == MONITOR_TIME) {
    char len[32];
    snprintf(len, sizeof(len), "%lld", (long long)c->window_seconds);
    if (runs_log_param(db, run, "window_seconds", len, err))
      return err->code;
  }
  return 0;
}

/* Log the finished report as a run; sets "run_id" in it. */
static int log_run(struct mon *x, const char *home, json_t *rep,
                   struct hv_err *err)
{
  const struct monitor_config *c = x->cfg;
  char run[33], name[RUNS_MAX_NAME + 1];
  const json_t *wins = json_object_get(rep, "windows");
  const char *w0 =
      json_string_value(json_object_get(json_array_get(wins, 0), "name"));
  snprintf(name, sizeof(name), "%s", c->run_name ? c->run_name : "");
  if (!c->run_name)
    snprintf(name, sizeof(name), "monitor-%s", w0 ? w0 : "empty");
  if (!home)
    return hv_err_set(err, HV_EINVAL, "monitor: logging needs a home folder");
  if (runs_start(x->db, c->experiment ? c->experiment : MONITOR_EXPERIMENT,
                 name, c->parent_run_id, run, err))
    return err->code;
  json_object_set_new(rep, "run_id", json_string(run));
  struct keybuf kb = {0};
  size_t i;
  const json_t *w;
  int rc = log_params(x->db, run, x, err);
  json_array_foreach(wins, i, w)
  {
    if (!rc && window_metrics(w, (int64_t)i, &kb))
      rc = oom(err);
  }
  for (size_t k = 0; !rc && k < kb.n; k++)
    kb.m[k].key = kb.key[k];
  if (!rc && kb.n)
    rc = runs_log_metrics_batch(x->db, run, kb.m, kb.n, err);
  free(kb.m);
  free(kb.key);
  /* 17 significant digits: the artifact reads back as the same doubles */
  char *text = rc ? NULL : json_dumps(rep, JSON_INDENT(2) |
                                               JSON_REAL_PRECISION(17));
  if (!rc && !text)
    rc = oom(err);
  if (!rc)
    rc = artifacts_put_bytes(home, x->db, run, MONITOR_ARTIFACT, text,
                             strlen(text), NULL, err);
  free(text);
  struct hv_err e2 = {0};
  if (runs_end(x->db, run, rc ? "FAILED" : "FINISHED", rc ? &e2 : err) &&
      !rc)
    rc = err->code;
  return rc;
}

/* ---- entry point -------------------------------------------------------------- */

static int build_windows(struct mon *x, json_t *arr, struct hv_err *err)
{
  struct window_spec *ws = NULL;
  size_t n = 0;
  int rc = make_windows(x, &ws, &n, err);
  for (size_t i = 0; !rc && i < n; i++) {
    json_t *w = NULL;
    rc = run_window(x, &ws[i], i, &w, err);
    if (!rc && json_array_append_new(arr, w))
      rc = oom(err);
  }
  free(ws);
  return rc;
}

int monitor_run(struct hv_db *db, const char *home, const struct hv_model *m,
                const struct monitor_config *cfg, json_t **report,
                struct hv_err *err)
{
  if (report)
    *report = NULL;
  if (!db || !m || !report)
    return hv_err_set(err, HV_EINVAL, "monitor: no database, model or "
                      "report pointer");
  if (monitor_config_check(cfg, err))
    return err->code;
  double t0 = hv_mono();
  struct mon x;
  memset(&x, 0, sizeof(x));
  x.db = db;
  x.m = m;
  x.cfg = cfg;
  json_t *rep = json_object(), *wins = json_array();
  int rc = rep && wins ? 0 : oom(err);
  if (!rc)
    rc = load_catalogue(&x, err);
  if (!rc)
    rc = load_reference(&x, err);
  if (!rc)
    rc = build_windows(&x, wins, err);
  if (!rc) {
    json_object_set_new(rep, "model", model_json(&x));
    json_object_set_new(rep, "reference", reference_json(&x));
    json_object_set_new(rep, "config", config_json(cfg));
    json_object_set_new(rep, "windows", wins);
    wins = NULL;
    json_object_set_new(rep, "seconds", json_real(hv_mono() - t0));
    if (cfg->log_run)
      rc = log_run(&x, home, rep, err);
  }
  json_decref(wins);
  side_free(&x.ref);
  upass_free(&x.ref_up);
  mon_free(&x);
  if (rc) {
    json_decref(rep);
    return rc;
  }
  *report = rep;
  return 0;
}

/* ---- table ---------------------------------------------------------------------- */

void monitor_print_table(const json_t *report, FILE *out)
{
  if (!report || !out)
    return;
  const json_t *ref = json_object_get(report, "reference");
  const json_t *rm = json_object_get(ref, "metrics");
  fprintf(out, "reference: rating_id %lld:%lld, %lld ratings, %lld users "
          "(%s), in-sample top-100 %.4f\n",
          (long long)jget(ref, "first_rating_id"),
          (long long)jget(ref, "last_rating_id"),
          (long long)jget(ref, "n_ratings"), (long long)jget(ref, "n_users"),
          json_string_value(json_object_get(ref, "source")),
          jget(rm, "top_100_categorical_accuracy"));
  fprintf(out, "%-3s %-20s %7s %6s %7s %8s %8s %8s  %s\n", "#", "window", "n",
          "users", "top-10", "top-100", "cov@10", "drifted", "verdict");
  size_t i;
  const json_t *w;
  json_array_foreach(json_object_get(report, "windows"), i, w)
  {
    const json_t *met = json_object_get(w, "metrics");
    const json_t *h = json_object_get(w, "health");
    char drifted[32];
    snprintf(drifted, sizeof(drifted), "%lld/%lld",
             (long long)jget(w, "n_drifted"), (long long)jget(w, "n_features"));
    fprintf(out, "%-3zu %-20.20s %7lld %6lld %7.4f %8.4f %8.4f %8s  %s\n", i,
            json_string_value(json_object_get(w, "name")),
            (long long)jget(w, "n_ratings"), (long long)jget(w, "n_users"),
            jget(met, "top_10_categorical_accuracy"),
            jget(met, "top_100_categorical_accuracy"),
            jget(h, "coverage_at_10"), drifted,
            json_is_true(json_object_get(w, "dataset_drift"))
                ? "DATASET DRIFT"
                : (jget(w, "n_ratings") > 0 ? "ok" : "empty"));
    size_t k;
    const json_t *f;
    int first = 1;
    json_array_foreach(json_object_get(w, "features"), k, f)
    {
      if (!json_is_true(json_object_get(f, "drift")))
        continue;
      const json_t *pv = json_object_get(f, "pvalue");
      fprintf(out, "%s%s (%s %s%.3g)", first ? "      drifted: " : ", ",
              json_string_value(json_object_get(f, "name")),
              json_string_value(json_object_get(f, "test")),
              json_is_number(pv) ? "p=" : "",
              json_is_number(pv) ? json_number_value(pv)
                                 : jget(f, "statistic"));
      first = 0;
    }
    if (!first)
      fputc('\n', out);
  }
}

/*
 * monitor.c - one monitoring pass: see monitor.h.
 *
 * Flow: load the catalogue (users with raw ages, movies with years and
 * genres, names) and the reference ratings; build the reference side once
 * (side.h: sorted numeric samples, category counts; here: every reference
 * user's top-1 score and top-10 list, in-sample metrics); then per window
 * load its ratings, build the same side, score its users, judge every
 * feature (side_judge) and fill the window of the struct monitor_report.
 * Logging (monitor_log.h) reads the finished report, so what is logged is
 * exactly what is returned.
 */
#include "monitor/monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/eval.h"
#include "model/model.h"
#include "model/score.h"
#include "monitor/monitor_log.h"
#include "monitor/side.h"
#include "recommend/recommend.h"
#include "store/catalog.h"
#include "store/ratings.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/sort.h"

#define TILE 64    /* users scored per model_score_users call */
#define TOP 10     /* recommendation list length for health */
_Static_assert(EVAL_NSEG == MONITOR_N_SEGMENTS, "segments of the report");
#define SAMPLE_SEED 0x5eed2024ULL

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

/* Everything a pass shares. */
struct mon {
  struct hv_db *db;
  const struct hv_model *m;
  const struct monitor_config *cfg;
  struct catalog_users U;
  struct catalog_movies M;
  struct catalog_names genres, occs;
  struct side_catalog cat;
  size_t n_cols;        /* model movies */
  int64_t *col_id;      /* (n_cols) model movie ids ascending */
  int64_t *pop;         /* (M.n) reference rating count per movie */
  double *pop_by_col;   /* (n_cols) */
  unsigned char *dec_by_col; /* (n_cols) popularity decile (eval.h) */
  int64_t ref_first, ref_last, ref_tmin, ref_tmax;
  int ref_from_model;
  struct ratings_cols R;
  struct side ref;
  struct upass ref_up;
  float *S;             /* (TILE, n_cols) scores */
  int64_t *cnt;         /* (n_cols) recommendation counts */
  /* The served pipeline's lists (cfg->ranker and a ranked stage): the
   * query (user set per call) and its buffers; q.ranker NULL: the top-10s
   * are retrieval's. */
  struct recommend_query q;
  struct recommend_list L;
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
  if (c->stage < 0 || c->stage > RECOMMEND_STAGE_RETRIEVAL)
    return hv_err_set(err, HV_EINVAL, "stage: %d is not blend, ranking or "
                      "retrieval", c->stage);
  if (recommend_check_knobs(c->blend, c->candidates, "--", HV_EINVAL, err))
    return err->code;
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
  catalog_users_free(&x->U);
  catalog_movies_free(&x->M);
  catalog_names_free(&x->genres);
  catalog_names_free(&x->occs);
  free(x->col_id);
  free(x->pop);
  free(x->pop_by_col);
  free(x->dec_by_col);
  ratings_cols_free(&x->R);
  free(x->S);
  free(x->cnt);
  recommend_list_free(&x->L);
}

static int load_catalogue(struct mon *x, struct hv_err *err)
{
  if (catalog_load_users(x->db, &x->U, err) ||
      catalog_load_movies(x->db, &x->M, err) ||
      catalog_names(x->db, CATALOG_GENRES, &x->genres, err) ||
      catalog_names(x->db, CATALOG_OCCUPATIONS, &x->occs, err))
    return err->code;
  /* pop is filled later (count_popularity); the catalogue keeps it */
  x->pop = calloc(x->M.n + 1, sizeof(int64_t));
  if (!x->pop)
    return oom(err);
  if (side_catalog_init(&x->cat, &x->U, &x->M, &x->genres, &x->occs, x->pop,
                        err))
    return err->code;
  x->n_cols = model_n_movies(x->m);
  if (x->n_cols == 0)
    return hv_err_set(err, HV_EINVAL, "monitor: the model knows no movies");
  x->col_id = malloc(x->n_cols * sizeof(int64_t));
  x->pop_by_col = malloc(x->n_cols * sizeof(double));
  x->dec_by_col = malloc(x->n_cols);
  x->S = malloc((size_t)TILE * x->n_cols * sizeof(float));
  x->cnt = malloc(x->n_cols * sizeof(int64_t));
  if (!x->col_id || !x->pop_by_col || !x->dec_by_col || !x->S || !x->cnt)
    return oom(err);
  for (size_t i = 0; i < x->n_cols; i++)
    x->col_id[i] = model_movie_id(x->m, i);
  return 0;
}

/* Reference popularity of every movie and of every model column, and the
 * columns' popularity deciles. */
static int count_popularity(struct mon *x, struct hv_err *err)
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
  return eval_pop_deciles(x->pop_by_col, x->n_cols, x->dec_by_col, err);
}

/* ---- scoring pass ------------------------------------------------------------ */

static void upass_free(struct upass *p)
{
  HV_FREE_ALL(p->uid, p->top1, p->top1_sorted, p->top10_mean, p->top10);
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
 * evaluation's rule and segments (eval_rank_capped, eval_segment_of). */
static void rank_user(const struct mon *x, const struct ratings_cols *R,
                      const size_t *order, size_t lo, size_t hi,
                      const float *row, struct upass *p, size_t u)
{
  size_t ui = sort_find_i64(x->U.id, x->U.n, p->uid[u]);
  int segs[2];
  eval_segment_of(ui != SORT_NONE ? x->U.gender[ui] : 0,
                  ui != SORT_NONE ? x->U.age_bucket[ui] : -1,
                  DATASET_UF_ALL & ~x->U.present, segs);
  int known_user = model_knows_user(x->m, p->uid[u]);
  eval_hits_user(&p->ev, segs);
  int64_t top[EVAL_RANK_CAP]; /* many pairs: ranked from the best 100 */
  size_t ntop =
      hi - lo >= EVAL_RANK_MANY ? eval_rank_prepare(row, x->n_cols, top) : 0;
  for (size_t j = lo; j < hi; j++) {
    size_t i = order[j];
    p->n_unknown_users += !known_user;
    size_t col = sort_find_i64(x->col_id, x->n_cols, R->movie_id[i]);
    p->n_unknown_movies += col == SORT_NONE;
    eval_hits_add(&p->ev, eval_rank_capped(row, x->n_cols, top, ntop, col),
                  segs);
  }
}

/* The served top 10 of user u into p->top10: retrieval's top K of its
 * scores row, ordered by the ranker as the recommend service orders them
 * (recommend_rank). */
static int ranked_top(struct mon *x, const float *row, struct upass *p,
                      size_t u, struct hv_err *err)
{
  int64_t idx[RECOMMEND_MAX_CANDIDATES], ids[RECOMMEND_MAX_CANDIDATES];
  float sc[RECOMMEND_MAX_CANDIDATES];
  size_t k = score_topk(row, x->n_cols, (size_t)recommend_candidates(&x->q),
                        idx);
  for (size_t j = 0; j < k; j++) {
    ids[j] = x->col_id[idx[j]];
    sc[j] = row[idx[j]];
  }
  x->q.user = p->uid[u];
  if (recommend_rank(&x->q, ids, sc, (int)k, &x->L, err)) {
    hv_err_prefix(err, "monitor: ranking user %lld", (long long)p->uid[u]);
    return err->code;
  }
  for (int j = 0; j < TOP; j++)
    p->top10[u * TOP + j] =
        j < x->L.k ? (int32_t)sort_find_i64(x->col_id, x->n_cols,
                                            x->L.movie_ids[j])
                   : -1;
  return 0;
}

/* Top-1 and top-10 mean retrieval score and the top-10 list of user u
 * from its scores row (with the served pipeline ranked, its list). */
static int top_user(struct mon *x, const float *row, struct upass *p,
                    size_t u, struct hv_err *err)
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
  return x->q.ranker ? ranked_top(x, row, p, u, err) : 0;
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
      rc = top_user(x, row, p, t0 + k, err);
      if (!rc)
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
                      const size_t *pick, size_t n, struct monitor_health *h)
{
  memset(x->cnt, 0, x->n_cols * sizeof(int64_t));
  double slots = 0.0, pop = 0.0, top1 = 0.0, by_dec[EVAL_NDEC] = {0};
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
      by_dec[x->dec_by_col[c]] += 1.0;
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
  h->coverage_at_10 = (double)covered / nc;
  h->gini_at_10 = slots > 0 ? num / (nc * slots) : NAN;
  h->mean_popularity_at_10 = slots > 0 ? pop / slots : NAN;
  h->top1_score_mean = n ? top1 / (double)n : NAN;
  h->exposure_gap = eval_exposure_shares(by_dec, h->exposure);
}

/* Health of a fixed-seed sample of k reference users (all when k >= n). */
static int health_ref_sample(struct mon *x, size_t k,
                             struct monitor_health *h, struct hv_err *err)
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

/* Window health vs the same number of reference users. */
static int health_window(struct mon *x, const struct upass *p,
                         struct monitor_window *w, struct hv_err *err)
{
  struct monitor_health *h = &w->health, *r = &w->health_ref;
  health_of(x, p, NULL, p->n, h);
  if (health_ref_sample(x, p->n, r, err))
    return err->code;
  w->coverage_ratio = r->coverage_at_10 > 0
                          ? h->coverage_at_10 / r->coverage_at_10
                          : NAN;
  w->gini_delta = h->gini_at_10 - r->gini_at_10;
  w->mean_popularity_ratio =
      r->mean_popularity_at_10 > 0
          ? h->mean_popularity_at_10 / r->mean_popularity_at_10
          : NAN;
  return 0;
}

/* ---- performance ------------------------------------------------------------ */

/* The performance of pass p (on the ratings of side s) into *m. */
static void metrics_of(const struct upass *p, const struct side *s,
                       struct monitor_metrics *m)
{
  monitor_metrics_init(m);
  m->n_pairs = p->n_pairs;
  m->n_users = p->n;
  m->n_unknown_users = p->n_unknown_users;
  m->n_unknown_movies = p->n_unknown_movies;
  m->rating_mean = s->n ? s->rating_sum / (double)s->n : NAN;
  for (int k = 0; k < EVAL_NK; k++)
    m->top_k[k] = p->n_pairs ? p->ev.hits[k] / (double)p->n_pairs : NAN;
  for (int s2 = 0; s2 < EVAL_NSEG; s2++) {
    if (!p->ev.seg_pairs[s2])
      continue;
    struct monitor_segment *g = &m->segments[m->n_segments++];
    eval_segment_name(s2, g->name, sizeof(g->name));
    g->n_pairs = p->ev.seg_pairs[s2];
    g->n_users = p->ev.seg_users[s2];
    for (int k = 0; k < EVAL_NK; k++)
      g->top_k[k] = p->ev.seg_hits[s2][k] / (double)p->ev.seg_pairs[s2];
  }
  double v[MONITOR_N_SEGMENTS];
  size_t np[MONITOR_N_SEGMENTS];
  for (size_t i = 0; i < m->n_segments; i++) {
    v[i] = m->segments[i].top_k[EVAL_NK - 1]; /* top 100 */
    np[i] = m->segments[i].n_pairs;
  }
  m->fairness_gap_top_100 = p->n_pairs && m->n_segments /* none: no gap */
                                 ? eval_gap(v, np, m->n_segments,
                                            EVAL_GAP_MIN_PAIRS)
                                 : NAN;
}

/* ---- the ranking stage -------------------------------------------------------- */

/* The ranker's metrics on the ratings R (segments from the users table)
 * into m; nothing without a ranker. */
static int rank_window(const struct mon *x, const struct ratings_cols *R,
                       struct monitor_metrics *m, struct hv_err *err)
{
  if (!x->cfg->ranker || R->n == 0)
    return 0;
  struct hv_dataset ds;
  memset(&ds, 0, sizeof(ds));
  ds.ratings = *R;
  ds.users = (struct dataset_users){x->U.n, x->U.id, x->U.age_bucket,
                                    x->U.gender, x->U.occupation,
                                    DATASET_UF_ALL & ~x->U.present};
  ds.first_rating_id = INT64_MIN;
  ds.last_rating_id = INT64_MAX;
  struct rank_metrics rm;
  if (model_rank_evaluate(&ds, x->cfg->ranker, &rm, err)) {
    hv_err_prefix(err, "monitor: ranker");
    return err->code;
  }
  m->ranker_rmse = rm.rmse;
  m->ranker_mae = rm.mae;
  m->ranker_n = rm.n;
  m->fairness_gap_rmse = rm.seg_rmse_gap;
  return 0;
}

/* ---- windows ----------------------------------------------------------------- */

static int load_window(struct mon *x, const struct window_spec *ws,
                       struct ratings_cols *R, struct hv_err *err)
{
  if (ws->kind == WINDOW_RATING_IDS)
    return ratings_load(x->db, ws->first, ws->last, R, err);
  return ratings_load_time(x->db, ws->first, ws->last, x->ref_first,
                           x->ref_last, R, err);
}

/* Users of p without a rating in the reference. */
static size_t count_fresh(const struct mon *x, const struct upass *p)
{
  size_t fresh = 0;
  for (size_t u = 0; u < p->n; u++)
    fresh +=
        sort_find_i64(x->ref_up.uid, x->ref_up.n, p->uid[u]) == SORT_NONE;
  return fresh;
}

/* Ratings of R in the model's training range (its lineage). */
static size_t count_in_sample(const struct mon *x, const struct ratings_cols *R)
{
  struct train_config tc;
  model_config(x->m, &tc);
  size_t n = 0;
  for (size_t i = 0; i < R->n; i++)
    n += R->rating_id[i] >= tc.first_rating_id &&
         R->rating_id[i] <= tc.last_rating_id;
  return n;
}

/* R's distinct users, for a window the pass skips (an evaluated one
 * counts them in its user pass). */
static int count_users(const struct ratings_cols *R, size_t *n,
                       struct hv_err *err)
{
  int64_t *u = malloc((R->n + 1) * sizeof(int64_t));
  if (!u)
    return oom(err);
  memcpy(u, R->user_id, R->n * sizeof(int64_t));
  *n = sort_unique_i64(u, R->n);
  free(u);
  return 0;
}

/* Evaluate the ratings R of window w: drift, performance, health. */
static int eval_window(struct mon *x, const struct ratings_cols *R,
                       struct monitor_window *w, struct hv_err *err)
{
  struct side s;
  struct upass p;
  memset(&s, 0, sizeof(s));
  memset(&p, 0, sizeof(p));
  int rc = side_build(&x->cat, R, 0, &s, err);
  if (!rc)
    rc = upass_run(x, R, &p, err);
  w->n_users = p.n;
  s.top1 = p.top1_sorted;
  s.n_top1 = p.n;
  if (!rc)
    rc = side_judge(&x->cat, x->cfg, &x->ref, &s, w, err);
  if (!rc)
    rc = health_window(x, &p, w, err);
  if (!rc) {
    metrics_of(&p, &s, &w->metrics);
    w->metrics.n_users_not_in_reference = (int64_t)count_fresh(x, &p);
    rc = rank_window(x, R, &w->metrics, err);
  }
  side_free(&s);
  upass_free(&p);
  return rc;
}

/* Describe window ws (index) into w: counts, then either why it is
 * skipped (no ratings, fewer than min_ratings: a handful of ratings gives
 * a top-100 of 0 or 1 and effect sizes that are noise) or its evaluation. */
static int run_window(struct mon *x, const struct window_spec *ws,
                      size_t index, struct monitor_window *w,
                      struct hv_err *err)
{
  struct ratings_cols R;
  w->index = index;
  w->spec = *ws;
  w->n_folded = 1;
  monitor_metrics_init(&w->metrics);
  monitor_health_init(&w->health);
  monitor_health_init(&w->health_ref);
  w->coverage_ratio = w->gini_delta = w->mean_popularity_ratio = NAN;
  int rc = load_window(x, ws, &R, err);
  w->n_ratings = rc ? 0 : R.n;
  if (!rc)
    w->n_in_sample = count_in_sample(x, &R);
  if (!rc && R.n == 0)
    snprintf(w->skipped, sizeof(w->skipped), "no ratings");
  else if (!rc && R.n < x->cfg->min_ratings) {
    snprintf(w->skipped, sizeof(w->skipped), "%zu rating%s < min_ratings %zu",
             R.n, R.n == 1 ? "" : "s", x->cfg->min_ratings);
    rc = count_users(&R, &w->n_users, err);
  } else if (!rc)
    rc = eval_window(x, &R, w, err);
  ratings_cols_free(&R);
  return rc;
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
  if (ratings_last_time_outside(x->db, x->ref_first, x->ref_last, &t1,
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
      ratings_time_span(x->db, x->ref_first, x->ref_last, &x->ref_tmin,
                        &x->ref_tmax, &n, err))
    return err->code;
  if (x->R.n == 0)
    return hv_err_set(err, HV_EINVAL,
                      "reference: no ratings with rating_id in %lld:%lld "
                      "(%s); pass --reference FIRST:LAST",
                      (long long)x->ref_first, (long long)x->ref_last,
                      x->ref_from_model ? "the model's training range"
                                        : "--reference");
  if (count_popularity(x, err))
    return err->code;
  if (side_build(&x->cat, &x->R, 1, &x->ref, err) ||
      upass_run(x, &x->R, &x->ref_up, err))
    return err->code;
  x->ref.top1 = x->ref_up.top1_sorted;
  x->ref.n_top1 = x->ref_up.n;
  return 0;
}

static void model_info(const struct mon *x, struct monitor_model_info *mi)
{
  struct train_config tc;
  model_config(x->m, &tc);
  snprintf(mi->uri, sizeof(mi->uri), "%s",
           x->cfg->model_uri ? x->cfg->model_uri : "");
  model_sha256_hex(x->m, mi->sha256);
  mi->trained_first_rating_id = tc.first_rating_id;
  mi->trained_last_rating_id = tc.last_rating_id;
  mi->n_train_ratings = (int64_t)model_n_train_ratings(x->m);
  mi->n_users = (int64_t)model_n_users(x->m);
  mi->n_movies = (int64_t)model_n_movies(x->m);
  mi->dim = model_dim(x->m);
  mi->features = tc.features;
}

static void reference_info(struct mon *x, struct monitor_reference *r)
{
  r->first_rating_id = x->ref_first;
  r->last_rating_id = x->ref_last;
  r->from_model = x->ref_from_model;
  r->n_ratings = x->R.n;
  r->n_users = x->ref_up.n;
  r->start_ts = x->ref_tmin;
  r->end_ts = x->ref_tmax;
  metrics_of(&x->ref_up, &x->ref, &r->metrics);
  health_of(x, &x->ref_up, NULL, x->ref_up.n, &r->health);
}

static void settings_of(const struct monitor_config *c,
                        struct monitor_settings *s)
{
  s->mode = c->mode;
  s->window_seconds = c->window_seconds;
  s->has_since = c->has_since;
  s->threshold_share = c->threshold_share;
  s->min_ratings = c->min_ratings;
  s->th = c->th;
  s->num_test = c->num_test;
  s->cat_test = c->cat_test;
}

/* The served pipeline's query and buffers when the lists are ranked
 * (cfg->ranker and a ranked stage); nothing otherwise. */
static int setup_lists(struct mon *x, struct hv_err *err)
{
  const struct monitor_config *c = x->cfg;
  if (!c->ranker || c->stage == RECOMMEND_STAGE_RETRIEVAL)
    return 0;
  x->q = (struct recommend_query){.model = x->m, .n = TOP,
                                  .ranker = c->ranker,
                                  .candidates = c->candidates,
                                  .order = c->stage, .blend = c->blend};
  if (recommend_list_alloc(&x->L, x->m, TOP, err)) {
    x->q.ranker = NULL;
    return err->code;
  }
  return 0;
}

/* Which lists the health figures describe, into the report's config. */
static void lists_of(const struct mon *x, struct monitor_settings *s)
{
  int st = x->q.ranker ? x->q.order : RECOMMEND_STAGE_RETRIEVAL;
  snprintf(s->lists, sizeof(s->lists), "%s", recommend_stage_names[st]);
  s->candidates = x->q.ranker ? recommend_candidates(&x->q) : 0;
  s->blend = x->q.ranker && st == RECOMMEND_ORDER_BLEND
                 ? (x->q.blend > 0 ? x->q.blend : RECOMMEND_DEFAULT_BLEND)
                 : 0.0;
}

/* ---- entry point -------------------------------------------------------------- */

/* Fold empty time window w into the entry before it (last) when that
 * one is empty too: the entry then spans both. 1 when folded. */
static int fold_empty(const struct monitor_config *c,
                      struct monitor_window *last,
                      const struct monitor_window *w)
{
  if (c->mode != MONITOR_TIME || !last || last->n_ratings || w->n_ratings)
    return 0;
  last->spec.last = w->spec.last;
  last->n_folded++;
  return 1;
}

/* Run every window of the pass into rep->windows, a run of empty time
 * windows as one entry. Progress once per entry: a window with ratings
 * (or an explicit one) when done, a run of empty ones when it ends. */
static int build_windows(struct mon *x, struct monitor_report *rep,
                         struct hv_err *err)
{
  const struct monitor_config *c = x->cfg;
  struct window_spec *ws = NULL;
  size_t n = 0;
  int rc = make_windows(x, &ws, &n, err);
  if (!rc && n && !(rep->windows = calloc(n, sizeof(*rep->windows))))
    rc = oom(err);
  struct monitor_window *pending = NULL; /* an empty run not yet told */
  for (size_t i = 0; !rc && i < n; i++) {
    struct monitor_window *last =
        rep->n_windows ? &rep->windows[rep->n_windows - 1] : NULL;
    struct monitor_window *w = &rep->windows[rep->n_windows++];
    rc = run_window(x, &ws[i], i, w, err);
    if (!rc && fold_empty(c, last, w)) {
      memset(w, 0, sizeof(*w)); /* an empty window holds nothing to free */
      rep->n_windows--;
      continue;
    }
    if (!rc && c->progress && pending)
      c->progress(c->progress_ud, pending, n);
    pending = !rc && c->mode == MONITOR_TIME && !w->n_ratings ? w : NULL;
    if (!rc && c->progress && !pending)
      c->progress(c->progress_ud, w, n);
  }
  if (!rc && c->progress && pending)
    c->progress(c->progress_ud, pending, n);
  free(ws);
  return rc;
}

int monitor_run(struct hv_db *db, const char *home, const struct hv_model *m,
                const struct monitor_config *cfg,
                struct monitor_report *report, struct hv_err *err)
{
  if (report)
    memset(report, 0, sizeof(*report));
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
  int rc = load_catalogue(&x, err);
  if (!rc)
    rc = setup_lists(&x, err);
  if (!rc)
    rc = load_reference(&x, err);
  if (!rc)
    rc = build_windows(&x, report, err);
  if (!rc) {
    model_info(&x, &report->model);
    reference_info(&x, &report->reference);
    settings_of(cfg, &report->config);
    lists_of(&x, &report->config);
    report->seconds = hv_mono() - t0;
    if (cfg->log_run)
      rc = monitor_log_run(db, home, cfg, report, err);
  }
  side_free(&x.ref);
  upass_free(&x.ref_up);
  mon_free(&x);
  if (rc)
    monitor_report_free(report);
  return rc;
}

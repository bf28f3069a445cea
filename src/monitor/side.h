/*
 * side.h - one side of a monitoring comparison (the reference or a
 * window): the samples its ratings contribute to each feature, and the
 * judging of a window's side against the reference's into the report's
 * features and dataset verdict. Internal to monitor/ (monitor.c uses it).
 *
 * What each feature samples (docs/monitoring.md):
 *  - per distinct rater: user_age (numeric, raw years), user_gender and
 *    user_occupation (categorical): they describe who rates, and the rows
 *    of one heavy rater are not independent;
 *  - per rating: movie_genres (categorical over genre memberships),
 *    movie_year (numeric), movie_popularity (numeric, log1p of the movie's
 *    reference rating count, leave-one-out on the reference so a stationary
 *    stream shows no drift), rating (categorical on half stars);
 *  - per distinct user: prediction_top1_score (the model's top-1 score;
 *    the caller scores and hands the sorted sample in).
 * A user feature the dataset lacks (no user has a value: users->present,
 * store/catalog.h's catalog_user_features; ml-latest has no demographics)
 * is not judged: skipped with SIDE_NOT_IN_DATASET, outside the drift
 * share's denominator (n_judged).
 *
 * Threads: pure functions on caller-owned data.
 */
#ifndef HV_MONITOR_SIDE_H
#define HV_MONITOR_SIDE_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/monitor.h"
#include "store/catalog.h"
#include "store/ratings.h"
#include "util/err.h"

/* Numeric features per rating, categorical features per rating. */
enum { SIDE_AGE, SIDE_YEAR, SIDE_POP, SIDE_NUM };
enum { SIDE_GENDER, SIDE_OCC, SIDE_GENRE, SIDE_RATING, SIDE_CAT };

#define SIDE_RATING_CATS 10 /* half stars 0.5 .. 5 */

/* The skip reason of a feature the dataset lacks. */
#define SIDE_NOT_IN_DATASET "not in this dataset"

/* What the samples are drawn from (all borrowed) and the category layout
 * derived from it. */
struct side_catalog {
  const struct catalog_users *users;
  const struct catalog_movies *movies;
  const struct catalog_names *genres, *occs;
  const int64_t *pop;       /* (movies->n) reference ratings per movie */
  int genre_base;           /* smallest genre id (category 0) */
  size_t cat_k[SIDE_CAT];   /* categories per categorical feature */
};

/* The samples of one side. */
struct side {
  double *num[SIDE_NUM];    /* sorted samples (owned) */
  size_t n_num[SIDE_NUM];
  int64_t *cat[SIDE_CAT];   /* (cat_k[c]) counts (owned) */
  const double *top1;       /* (n_top1) sorted top-1 scores (borrowed; set
                               by the caller) */
  size_t n_top1;
  double rating_sum;
  size_t n;                 /* ratings */
};

/* Fill c from the catalogue (the pointers are kept) and derive genre_base
 * and cat_k. Returns 0 or HV_EINVAL when genre ids or occupation labels
 * span too wide a range to count. */
int side_catalog_init(struct side_catalog *c,
                      const struct catalog_users *users,
                      const struct catalog_movies *movies,
                      const struct catalog_names *genres,
                      const struct catalog_names *occs, const int64_t *pop,
                      struct hv_err *err) HV_WARN_UNUSED;

/* The samples of the ratings R into *s (zeroed first; side_free it, also
 * after a failure). is_ref: R is the reference (leave-one-out popularity).
 * Returns 0 or HV_ENOMEM. */
int side_build(const struct side_catalog *c, const struct ratings_cols *R,
               int is_ref, struct side *s, struct hv_err *err) HV_WARN_UNUSED;

/* Free what s owns and zero it; NULL does nothing. */
void side_free(struct side *s);

/* Judge every feature of cur against ref with cfg's tests and thresholds
 * into w->features (MONITOR_N_FEATURES, in the report's order) and the
 * window's verdict (n_judged, n_drifted, drifted_share, dataset_drift). A
 * feature with an empty side is skipped, so is a user feature the dataset
 * lacks (SIDE_NOT_IN_DATASET); a window with fewer than
 * cfg->min_ratings ratings keeps its statistics but gets no verdicts.
 * Returns 0, HV_ENOMEM, or a drift.h error prefixed with the feature. */
int side_judge(const struct side_catalog *c, const struct monitor_config *cfg,
               const struct side *ref, const struct side *cur,
               struct monitor_window *w, struct hv_err *err) HV_WARN_UNUSED;

#endif

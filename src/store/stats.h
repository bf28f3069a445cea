/*
 * stats.h - read-only summaries of the stored dataset: counts, time span,
 * rating histogram, sparsity, ratings per user and per movie, top movies,
 * and the dataset records (what was loaded, from where).
 *
 * Design: each summary is a handful of aggregate queries (the backend's)
 * that the schema's indexes answer (per-user and per-movie counts scan the
 * covering indexes, the time span reads the ends of ratings_by_time);
 * medians are computed in C (stats.c) over the per-user/per-movie counts,
 * including users and movies with no ratings. One full table scan (the
 * histogram) is the slowest part: about a second per 5M ratings.
 *
 * Threads: read-only; use a connection from one thread at a time.
 */
#ifndef HV_STORE_STATS_H
#define HV_STORE_STATS_H

#include <stdint.h>

#include "util/err.h"

struct hv_db;

struct stats_counts {
  int64_t users, movies, ratings, genres;
  int64_t first_ts, last_ts;          /* rating timestamps; 0 when none */
  int64_t first_rating_id, last_rating_id;
};

/* Fill *out with the table counts and spans. */
int stats_counts(struct hv_db *db, struct stats_counts *out,
                 struct hv_err *err) HV_WARN_UNUSED;

#define STATS_TOP 10
#define STATS_HIST 10 /* rating values 0.5, 1, ..., 5 */

/* min / median / max of a count over a population (users or movies). The
 * median of an even population is the mean of the two middle values. */
struct stats_spread {
  int64_t min, max;
  double median;
};

struct stats_top_movie {
  int64_t movie_id;
  char title[256]; /* UTF-8, cut at 255 bytes on a character boundary */
  int64_t count;
  double mean_rating;
};

struct stats_summary {
  struct stats_counts n;
  double days;             /* (last_ts - first_ts) / 86400; 0 when none */
  double sparsity;         /* 1 - ratings / (users * movies); 1 when empty */
  int n_hist;              /* entries used in hist */
  struct {
    double rating;         /* 0.5 .. 5 */
    int64_t count;
  } hist[STATS_HIST]; /* ascending; only values that occur (ratings
                             * off the half-star grid are not counted) */
  struct stats_spread per_user, per_movie;
  int n_top;
  struct stats_top_movie top[STATS_TOP]; /* by count desc, id asc */
};

/* Fill *out with the full summary. Returns 0, HV_ENOMEM, or HV_EDB. */
int stats_summary(struct hv_db *db, struct stats_summary *out,
                struct hv_err *err) HV_WARN_UNUSED;

struct stats_dataset {
  int64_t id;
  char name[64];
  char source[1024]; /* path, URL, or (synth) its parameters as JSON */
  double imported_at;
  int64_t n_users, n_movies, n_ratings;
};

/* The most recently recorded dataset. Returns 0, HV_ENOTFOUND when none was
 * loaded, or HV_EDB. */
int stats_dataset_latest(struct hv_db *db, struct stats_dataset *out,
                         struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * ratings.h - the ratings: column loads by rating_id range or time window,
 * the ids, counts and time spans of a range, a user's ratings and movie ids,
 * movie averages, inserts through the API, "take" (move ratings out into
 * memory) and the SHA-256 fingerprint of a range.
 *
 * Design: training, evaluation and monitoring want ratings as flat arrays
 * (struct ratings_cols) so they can be permuted and batched without
 * touching the database again; the backend streams rows and this module
 * grows the arrays geometrically while they come, so a concurrent writer
 * between a count and the load cannot overflow anything. Ranges by
 * rating_id come back in rating_id order (file order for imported data),
 * time windows in (timestamp, rating_id) order. Composite operations (an
 * all-or-nothing insert batch, take, the fingerprint) are written here once
 * over the backend's primitives, so every backend checks and hashes alike.
 *
 * Threads: each call uses its connection exclusively while it runs; the
 * returned arrays are plain memory (share read-only freely).
 */
#ifndef HV_STORE_RATINGS_H
#define HV_STORE_RATINGS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/ratings_cols.h"

struct hv_db;

/* Load the ratings with rating_id in [first, last], ordered by rating_id,
 * into *out (zeroed first; release with ratings_cols_free, also on
 * failure). Returns 0, HV_EINVAL for first > last or no database, HV_EDB or
 * HV_ENOMEM. An empty range is not an error (out->n == 0). */
int ratings_load(struct hv_db *db, int64_t first, int64_t last,
                 struct ratings_cols *out, struct hv_err *err) HV_WARN_UNUSED;

/* The ratings with t0 <= timestamp < t1 whose rating_id is NOT in
 * [excl_first, excl_last] (pass excl_first > excl_last to exclude nothing),
 * ordered by (timestamp, rating_id), into *out (as ratings_load). HV_EINVAL
 * for t0 > t1. An empty window is not an error. */
int ratings_load_time(struct hv_db *db, int64_t t0, int64_t t1,
                      int64_t excl_first, int64_t excl_last,
                      struct ratings_cols *out,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Move every rating with timestamp >= from_ts out of the database: load
 * them ordered by (timestamp, rating_id) into *out (as ratings_load) and
 * delete them, in one transaction. On failure the database is unchanged. */
int ratings_take(struct hv_db *db, int64_t from_ts, struct ratings_cols *out,
                 struct hv_err *err) HV_WARN_UNUSED;

/* The rating ids in [first, last], ascending, in a new array *ids (caller
 * frees; NULL when *n is 0); 8 bytes a rating, so sampling from millions
 * never loads their columns. HV_EINVAL for first > last. */
int ratings_ids(struct hv_db *db, int64_t first, int64_t last, int64_t **ids,
                size_t *n, struct hv_err *err) HV_WARN_UNUSED;

/* The number of ratings with rating_id in [first, last] into *n (0 for
 * first > last). */
int ratings_count(struct hv_db *db, int64_t first, int64_t last, int64_t *n,
                  struct hv_err *err) HV_WARN_UNUSED;

/* The smallest and largest timestamp and the count of the ratings with
 * rating_id in [first, last]; *n = 0 (and *tmin = *tmax = 0) when there
 * are none. */
int ratings_time_span(struct hv_db *db, int64_t first, int64_t last,
                      int64_t *tmin, int64_t *tmax, int64_t *n,
                      struct hv_err *err) HV_WARN_UNUSED;

/* The largest timestamp and the count of the ratings whose rating_id is NOT
 * in [excl_first, excl_last] (the data a model did not see); *n = 0 and
 * *tmax = 0 when there are none. */
int ratings_last_time_outside(struct hv_db *db, int64_t excl_first,
                              int64_t excl_last, int64_t *tmax, int64_t *n,
                              struct hv_err *err) HV_WARN_UNUSED;

/* The largest rating_id (0 when there are no ratings) into *id. */
int ratings_last_id(struct hv_db *db, int64_t *id,
                    struct hv_err *err) HV_WARN_UNUSED;

/* The distinct movie ids user_id has rated (any rating_id), ascending, in a
 * new array *ids (caller frees; NULL when *n == 0). An unknown user has
 * none. */
int ratings_user_movies(struct hv_db *db, int64_t user_id, int64_t **ids,
                        size_t *n, struct hv_err *err) HV_WARN_UNUSED;

/* One rating of a user with its movie's title (strings borrowed for the
 * callback). */
struct ratings_row {
  int64_t rating_id, user_id, movie_id;
  const char *title; /* the movie's title */
  double rating;
  int64_t timestamp;
  const char *source; /* 'import', 'api', ... */
};

typedef int (*ratings_row_fn)(void *ctx, const struct ratings_row *r);

/* The ratings of user uid, oldest first (timestamp, then rating_id);
 * HV_ENOTFOUND for an unknown user. A callback's non-zero return stops the
 * iteration and is returned. */
int ratings_user_each(struct hv_db *db, int64_t uid, ratings_row_fn fn,
                      void *ctx, struct hv_err *err) HV_WARN_UNUSED;

typedef int (*ratings_avg_fn)(void *ctx, int64_t movie_id, const char *title,
                              double avg, int64_t n);

/* Movies whose average rating lies in [min, max], by movie id, with the
 * average and the number of ratings. HV_EINVAL unless min <= max (finite). */
int ratings_movie_avg_each(struct hv_db *db, double min, double max,
                           ratings_avg_fn fn, void *ctx,
                           struct hv_err *err) HV_WARN_UNUSED;

/* A dataset's rating scale: min, min + step, ..., max. */
struct rating_scale {
  double min, max, step;
};

/* The scale of a dataset named name: whole stars 1..5 for ml-100k,
 * ml-1m and synth, half stars 0.5..5 for ml-latest and any other name. */
void ratings_scale_of_name(const char *name, struct rating_scale *out);

/* The scale of the newest dataset in db (the half-star default when none
 * is recorded). Returns 0 or a negative code. */
int ratings_scale(struct hv_db *db, struct rating_scale *out,
                  struct hv_err *err) HV_WARN_UNUSED;

/* 1 when x is finite and on s (within 1e-9 of a step), else 0. */
int ratings_on_scale(const struct rating_scale *s, double x);

/* The scale as text for messages: "1 to 5 in whole stars",
 * "0.5 to 5 in half stars" (or "in steps of S"). */
void ratings_scale_text(const struct rating_scale *s, char *buf,
                        size_t cap);

struct ratings_new {
  int64_t user_id, movie_id;
  double rating; /* 0.5 .. 5 */
};

/* Insert n ratings (source 'api', timestamp ts) all or nothing: every item is
 * checked first; a bad one fails the batch with HV_EINVAL naming its index
 * ("ratings[3]: unknown movie_id 99999"; a rating off the newest dataset's
 * scale: "ratings[0]: user_rating 4.25 is not on this dataset's scale (1
 * to 5 in whole stars)"). *first_id (may be NULL) gets the
 * rating_id of the first inserted row; the rest follow consecutively. */
int ratings_insert(struct hv_db *db, const struct ratings_new *r, size_t n,
                   int64_t ts, int64_t *first_id,
                   struct hv_err *err) HV_WARN_UNUSED;

/* SHA-256 over the ratings with first <= rating_id <= last, in rating_id
 * order, each row hashed as the text line
 * "rating_id,user_id,movie_id,rating,timestamp\n" (rating printed with
 * %.17g, e.g. "1,196,242,3,881250949\n"). Streams the rows through
 * libsodium's crypto_hash_sha256 (no row buffering). *rows gets the count,
 * hex 64 lowercase digits plus NUL. HV_EINVAL for first > last. */
int ratings_fingerprint(struct hv_db *db, int64_t first, int64_t last,
                        int64_t *rows, char hex[65],
                        struct hv_err *err) HV_WARN_UNUSED;

#endif

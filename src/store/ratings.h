/*
 * ratings.h - the read side the model needs: ratings as column arrays and
 * the user and movie features, in one pass each.
 *
 * Design: training and evaluation want the ratings of a rating_id range as
 * flat arrays (rating_id order, i.e. file order for imported data) so they
 * can be permuted and batched without touching SQLite again; the feature
 * tables come back sorted by id so the model can binary-search them. Every
 * array is malloc'd and owned by the struct; the matching _free releases it.
 *
 * Threads: each call uses its connection exclusively while it runs; the
 * returned structs are plain memory (share read-only freely).
 */
#ifndef HV_STORE_RATINGS_H
#define HV_STORE_RATINGS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

/* Ratings with rating_id in [first, last], ordered by rating_id. */
struct ratings_cols {
  size_t n;
  int64_t *rating_id; /* (n) */
  int64_t *user_id;   /* (n) */
  int64_t *movie_id;  /* (n) */
  float *rating;      /* (n) */
  int64_t *timestamp; /* (n) */
};

/* Gender codes used by the model and the evaluation segments. */
enum { RATINGS_GENDER_UNKNOWN = 0, RATINGS_GENDER_M = 1, RATINGS_GENDER_F = 2 };

/* All users, ordered by id. Unknown values are -1 (age bucket, occupation)
 * or RATINGS_GENDER_UNKNOWN. */
struct ratings_users {
  size_t n;
  int64_t *id;     /* (n) strictly increasing */
  int *age_bucket; /* (n) MovieLens bucket 1/18/25/.../56, -1 unknown */
  int *gender;     /* (n) RATINGS_GENDER_* */
  int *occupation; /* (n) occupation_label, -1 unknown */
};

/* All movies, ordered by id, with their genres in CSR form: the genres of
 * movie i are genre_ids[genre_off[i] .. genre_off[i+1]). */
struct ratings_movies {
  size_t n;
  int64_t *id;       /* (n) strictly increasing */
  int *year;         /* (n) release year, 0 unknown */
  size_t *genre_off; /* (n + 1) */
  int *genre_ids;    /* (genre_off[n]) ascending within a movie */
};

/* Load the ratings with rating_id in [first, last] into *out (zeroed
 * first; release with ratings_cols_free, also on failure). Returns 0,
 * HV_EINVAL for first > last, HV_EDB or HV_ENOMEM. An empty range is not an
 * error (out->n == 0). */
int ratings_load(struct hv_db *db, int64_t first, int64_t last,
                 struct ratings_cols *out, struct hv_err *err) HV_WARN_UNUSED;
void ratings_cols_free(struct ratings_cols *c);

/* Load every user / movie with its features (see the structs). Release with
 * the matching _free (safe on a zeroed or partly filled struct). */
int ratings_load_users(struct hv_db *db, struct ratings_users *out,
                       struct hv_err *err) HV_WARN_UNUSED;
void ratings_users_free(struct ratings_users *u);
int ratings_load_movies(struct hv_db *db, struct ratings_movies *out,
                        struct hv_err *err) HV_WARN_UNUSED;
void ratings_movies_free(struct ratings_movies *m);

/* The distinct movie ids user_id has rated (any rating_id), ascending, in a
 * new array *out (caller frees; NULL when *n == 0). */
int ratings_user_movies(struct hv_db *db, int64_t user_id, int64_t **out,
                        size_t *n, struct hv_err *err) HV_WARN_UNUSED;

/* The title of movie id into buf (cap bytes, truncated, NUL-terminated).
 * HV_ENOTFOUND when there is no such movie. */
int ratings_movie_title(struct hv_db *db, int64_t id, char *buf, size_t cap,
                        struct hv_err *err) HV_WARN_UNUSED;

/* 1 when the users table has user_id, 0 when not, negative on error. */
int ratings_user_exists(struct hv_db *db, int64_t user_id,
                        struct hv_err *err) HV_WARN_UNUSED;

#endif

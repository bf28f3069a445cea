/*
 * api.h - the catalogue, rating and password queries the REST API needs.
 *
 * Design: a struct api_conn is one database connection with every statement
 * prepared once at api_open and bound per call (never SQL built from input).
 * Row-returning queries hand rows to a callback; strings in a row are
 * borrowed and valid only until the callback returns. A callback returning
 * non-zero stops the iteration and that value is returned. Writes
 * (api_ratings_insert, api_password_set) are one transaction each.
 *
 * Threads: a connection belongs to one thread; the server opens one per
 * worker thread. SQLite's WAL mode lets the readers run beside one writer.
 */
#ifndef HV_STORE_API_H
#define HV_STORE_API_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;
struct api_conn;

struct api_user_row {
  int64_t id;
  int raw_age;              /* -1 when unknown */
  int bucketized_age;       /* -1 when unknown */
  const char *gender;       /* NULL when unknown */
  const char *occupation_text; /* NULL when unknown */
  int occupation_label;     /* -1 when unknown */
  const char *zip_code;     /* NULL when unknown */
};

struct api_movie_row {
  int64_t id;
  const char *title;
  const char *release_date; /* NULL when unknown */
  int release_year;         /* 0 when unknown */
  const char *imdb_url;     /* NULL when unknown */
  const char *genres;       /* genre names joined with '|', "" when none */
};

struct api_rating_row {
  int64_t rating_id, user_id, movie_id;
  const char *title;        /* the movie's title */
  double rating;
  int64_t timestamp;
  const char *source;       /* 'import', 'api', ... */
};

struct api_new_rating {
  int64_t user_id, movie_id;
  double rating;            /* 0.5 .. 5 */
};

typedef int (*api_user_fn)(void *ctx, const struct api_user_row *u);
typedef int (*api_movie_fn)(void *ctx, const struct api_movie_row *m);
typedef int (*api_avg_fn)(void *ctx, int64_t movie_id, const char *title,
                          double avg, int64_t n);
typedef int (*api_rating_fn)(void *ctx, const struct api_rating_row *r);

/* Open the database at path (migrating it) and prepare the statements.
 * *out is the caller's to api_close. */
int api_open(const char *path, struct api_conn **out,
             struct hv_err *err) HV_WARN_UNUSED;

/* Finalize the statements and close; NULL does nothing. */
void api_close(struct api_conn *c);

/* The underlying connection (borrowed), for services that take a db. */
struct hv_db *api_db(struct api_conn *c);

/* Every user in id order. */
int api_users_each(struct api_conn *c, api_user_fn fn, void *ctx,
                   struct hv_err *err) HV_WARN_UNUSED;

/* One user; HV_ENOTFOUND ("unknown user ID") when there is none. */
int api_user_get(struct api_conn *c, int64_t id, api_user_fn fn, void *ctx,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Every movie in id order, with its genres. */
int api_movies_each(struct api_conn *c, api_movie_fn fn, void *ctx,
                    struct hv_err *err) HV_WARN_UNUSED;

/* n distinct movies in random order (fewer when the catalogue is smaller). */
int api_movies_random(struct api_conn *c, int64_t n, api_movie_fn fn,
                      void *ctx, struct hv_err *err) HV_WARN_UNUSED;

/* (id, title) of every movie by ascending id, for the server's title
 * cache. */
int api_titles_each(struct api_conn *c,
                    int (*fn)(void *ctx, int64_t id, const char *title),
                    void *ctx, struct hv_err *err) HV_WARN_UNUSED;

/* Movies whose average rating lies in [min, max], by movie id, with the
 * average and the number of ratings. */
int api_movie_avg_each(struct api_conn *c, double min, double max,
                       api_avg_fn fn, void *ctx,
                       struct hv_err *err) HV_WARN_UNUSED;

/* The ratings of user uid, oldest first; HV_ENOTFOUND for an unknown user. */
int api_user_ratings_each(struct api_conn *c, int64_t uid, api_rating_fn fn,
                          void *ctx, struct hv_err *err) HV_WARN_UNUSED;

/* The distinct movie ids user uid has rated, ascending, in a new array *ids
 * (caller frees; NULL when *n is 0). */
int api_user_movie_ids(struct api_conn *c, int64_t uid, int64_t **ids,
                       size_t *n, struct hv_err *err) HV_WARN_UNUSED;

/* Insert n ratings (source 'api', timestamp ts) all or nothing: every item is
 * checked first; a bad one fails the batch with HV_EINVAL naming its index
 * ("ratings[3]: unknown movie_id 99999"). *first_id (may be NULL) gets the
 * rating_id of the first inserted row; the rest follow consecutively. */
int api_ratings_insert(struct api_conn *c, const struct api_new_rating *r,
                       size_t n, int64_t ts, int64_t *first_id,
                       struct hv_err *err) HV_WARN_UNUSED;

/* Copy the argon2id hash string of user uid into hash (cap bytes; "" when no
 * password is set). HV_ENOTFOUND for an unknown user. */
int api_password_get(struct api_conn *c, int64_t uid, char *hash, size_t cap,
                     struct hv_err *err) HV_WARN_UNUSED;

/* Store hash as user uid's password hash; HV_ENOTFOUND for an unknown
 * user. */
int api_password_set(struct api_conn *c, int64_t uid, const char *hash,
                     struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * catalog.h - the catalogue: movies, users (their features), genres and
 * occupations. Listings, lookups, titles and the column loads the model and
 * monitoring need.
 *
 * Design: two shapes of read, each written once. Row reads (listings,
 * lookups) hand each row to a callback; strings in a row are borrowed and
 * valid only until the callback returns, and a callback returning non-zero
 * stops the iteration with that value. Column loads fill plain arrays sorted
 * by id (so callers binary-search them), malloc'd and owned by the struct;
 * the matching _free releases them (safe on a zeroed or partly filled
 * struct). Writes go through store/loader.h. Argument checks live here, so
 * every backend answers bad input with the same message.
 *
 * Threads: a struct hv_db belongs to one thread at a time (see db.h). A
 * callback must not call the function that is iterating (the backend may
 * reuse one prepared query per function).
 */
#ifndef HV_STORE_CATALOG_H
#define HV_STORE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

/* Gender codes used by the model and the evaluation segments. */
enum {
  CATALOG_GENDER_UNKNOWN = 0,
  CATALOG_GENDER_M = 1,
  CATALOG_GENDER_F = 2
};

/* The coded tables of the catalogue. */
enum catalog_table {
  CATALOG_USERS = 0,
  CATALOG_MOVIES = 1,
  CATALOG_GENRES = 2,     /* genres.id -> name */
  CATALOG_OCCUPATIONS = 3 /* users.occupation_label -> occupation_text */
};

struct catalog_user_row {
  int64_t id;
  int raw_age;                 /* -1 when unknown */
  int bucketized_age;          /* -1 when unknown */
  const char *gender;          /* NULL when unknown */
  const char *occupation_text; /* NULL when unknown */
  int occupation_label;        /* -1 when unknown */
  const char *zip_code;        /* NULL when unknown */
};

struct catalog_movie_row {
  int64_t id;
  const char *title;
  const char *release_date; /* NULL when unknown */
  int release_year;         /* 0 when unknown */
  const char *imdb_url;     /* NULL when unknown */
  const char *genres;       /* genre names joined with '|', "" when none */
};

typedef int (*catalog_user_fn)(void *ctx, const struct catalog_user_row *u);
typedef int (*catalog_movie_fn)(void *ctx, const struct catalog_movie_row *m);
typedef int (*catalog_title_fn)(void *ctx, int64_t id, const char *title);

/* Every user in id order. */
int catalog_users_each(struct hv_db *db, catalog_user_fn fn, void *ctx,
                       struct hv_err *err) HV_WARN_UNUSED;

/* One user; HV_ENOTFOUND ("unknown user ID") when there is none. */
int catalog_user_get(struct hv_db *db, int64_t id, catalog_user_fn fn,
                     void *ctx, struct hv_err *err) HV_WARN_UNUSED;

/* Every movie in id order, with its genres. */
int catalog_movies_each(struct hv_db *db, catalog_movie_fn fn, void *ctx,
                        struct hv_err *err) HV_WARN_UNUSED;

/* n distinct movies in random order (fewer when the catalogue is smaller);
 * HV_EINVAL for n < 0. */
int catalog_movies_random(struct hv_db *db, int64_t n, catalog_movie_fn fn,
                          void *ctx, struct hv_err *err) HV_WARN_UNUSED;

/* (id, title) of every movie in id order, for the server's title cache. */
int catalog_titles_each(struct hv_db *db, catalog_title_fn fn, void *ctx,
                        struct hv_err *err) HV_WARN_UNUSED;

/* The title of movie id into buf (cap bytes, truncated, NUL-terminated).
 * HV_ENOTFOUND when there is no such movie, HV_EINVAL for no buffer. */
int catalog_movie_title(struct hv_db *db, int64_t id, char *buf, size_t cap,
                        struct hv_err *err) HV_WARN_UNUSED;

/* 1 when the users (movies) table has id, 0 when not, negative on error. */
/* Add an end user u (store/loader.h's struct: id 0 = one more than the
 * largest; raw_age, gender, occupation_text, zip_code -1 / NULL when
 * unknown; bucketized_age and occupation_label are derived: the MovieLens
 * bucket, and the label the dataset's users of that occupation have) and
 * set *id. Returns 0, HV_EINVAL naming the field (age not in 1..120,
 * gender not M or F, an occupation no user has, a bad zip code),
 * HV_ECONFLICT when the id exists, or a database code. */
struct hv_user;
int catalog_user_add(struct hv_db *db, const struct hv_user *u, int64_t *id,
                     struct hv_err *err) HV_WARN_UNUSED;

int catalog_user_exists(struct hv_db *db, int64_t id,
                        struct hv_err *err) HV_WARN_UNUSED;
int catalog_movie_exists(struct hv_db *db, int64_t id,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Make room for a new dataset in db's open transaction (a load's first
 * step, both backends): nothing to do when no movie or rating is stored;
 * with replace, delete the ratings, catalogue and dataset record; without,
 * HV_ECONFLICT ("import with --replace"). Rows of other tables that still
 * refer to the dataset fail the delete with a message saying so. */
int catalog_clear(struct hv_db *db, int replace,
                  struct hv_err *err) HV_WARN_UNUSED;

/* The ids of table (CATALOG_USERS, _MOVIES or _GENRES), ascending, in a new
 * array *ids (caller frees; NULL when *n is 0). */
int catalog_ids(struct hv_db *db, enum catalog_table table, int64_t **ids,
                size_t *n, struct hv_err *err) HV_WARN_UNUSED;

/* The user features a dataset may lack (ml-latest has no demographics):
 * bits of catalog_user_features. */
enum {
  CATALOG_UF_AGE = 1,
  CATALOG_UF_GENDER = 2,
  CATALOG_UF_OCCUPATION = 4,
  CATALOG_UF_ALL = 7
};

/* Which user features the dataset has, into *present (CATALOG_UF_* bits):
 * a feature is present when at least one user has a value for it (age:
 * raw or bucketed age; gender; occupation: label or text), absent when no
 * user has. The one definition every layer uses (training's feature
 * towers and segments, monitoring, /users/{id}, `harvest users show`);
 * derived from the data, never from the format it was imported from. One
 * query (three EXISTS). Names: model/dataset.h's
 * dataset_user_feature_name (the bits are DATASET_UF_*). Returns 0, HV_EINVAL (no database) or HV_EDB. */
int catalog_user_features(struct hv_db *db, unsigned *present,
                          struct hv_err *err) HV_WARN_UNUSED;

/* All users, ordered by id, as columns. Unknown values are -1 (ages,
 * occupation) or CATALOG_GENDER_UNKNOWN. */
struct catalog_users {
  size_t n;
  unsigned present; /* CATALOG_UF_* the table has (catalog_user_features) */
  int64_t *id;     /* (n) strictly increasing */
  int *raw_age;    /* (n) years, -1 unknown */
  int *age_bucket; /* (n) MovieLens bucket 1/18/25/.../56, -1 unknown */
  int *gender;     /* (n) CATALOG_GENDER_* */
  int *occupation; /* (n) occupation_label, -1 unknown */
};

/* All movies, ordered by id, with their genres in CSR form: the genres of
 * movie i are genre_ids[genre_off[i] .. genre_off[i+1]). */
struct catalog_movies {
  size_t n;
  int64_t *id;       /* (n) strictly increasing */
  int *year;         /* (n) release year, 0 unknown */
  size_t *genre_off; /* (n + 1) */
  int *genre_ids;    /* (genre_off[n]) ascending within a movie */
};

/* Load every user / movie with its features into *out (zeroed first;
 * release with the matching _free, also after a failure). Returns 0,
 * HV_EINVAL (no database), HV_EDB or HV_ENOMEM. */
int catalog_load_users(struct hv_db *db, struct catalog_users *out,
                       struct hv_err *err) HV_WARN_UNUSED;
void catalog_users_free(struct catalog_users *u);
int catalog_load_movies(struct hv_db *db, struct catalog_movies *out,
                        struct hv_err *err) HV_WARN_UNUSED;
void catalog_movies_free(struct catalog_movies *m);

/* Names of a coded table (CATALOG_GENRES or CATALOG_OCCUPATIONS), ordered
 * by code. */
struct catalog_names {
  size_t n;
  int *code;   /* (n) ascending */
  char **name; /* (n) owned strings */
};

/* Load the names of table into *out (release with catalog_names_free).
 * Returns 0, HV_EINVAL (no database / a table without names), HV_EDB,
 * HV_ENOMEM. */
int catalog_names(struct hv_db *db, enum catalog_table table,
                  struct catalog_names *out, struct hv_err *err) HV_WARN_UNUSED;
void catalog_names_free(struct catalog_names *nm);

/* Name of code in nm (borrowed), or NULL when absent. */
const char *catalog_name_of(const struct catalog_names *nm, int code);

/* MovieLens age bucket of a raw age: 1 (<18), 18, 25, 35, 45, 50, 56. */
int catalog_age_bucket(int raw_age);

/* CATALOG_GENDER_* of a users.gender text ("M"/"F", any case; else
 * unknown). */
int catalog_gender_code(const char *g);

#endif

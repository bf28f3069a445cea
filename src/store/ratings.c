/*
 * ratings.c - column loads of ratings and user/movie features: see
 * ratings.h.
 *
 * Arrays grow geometrically while the statement steps, so a concurrent
 * writer between a COUNT and the load cannot overflow anything.
 */
#include "store/ratings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

void ratings_cols_free(struct ratings_cols *c)
{
  if (!c)
    return;
  free(c->rating_id);
  free(c->user_id);
  free(c->movie_id);
  free(c->rating);
  free(c->timestamp);
  memset(c, 0, sizeof(*c));
}

int ratings_load(struct hv_db *db, int64_t first, int64_t last,
                 struct ratings_cols *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  if (first > last)
    return hv_err_set(err, HV_EINVAL,
                      "ratings range %lld:%lld is empty (FIRST > LAST)",
                      (long long)first, (long long)last);
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT rating_id, user_id, movie_id, rating, timestamp "
                 "FROM ratings WHERE rating_id BETWEEN ? AND ? "
                 "ORDER BY rating_id",
                 &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, first);
  sqlite3_bind_int64(st, 2, last);
  int ret = db_step_ratings_cols(db, st, out, "ratings", "reading ratings",
                                 err);
  sqlite3_finalize(st);
  return ret;
}

void ratings_users_free(struct ratings_users *u)
{
  if (!u)
    return;
  free(u->id);
  free(u->age_bucket);
  free(u->gender);
  free(u->occupation);
  memset(u, 0, sizeof(*u));
}

int ratings_load_users(struct hv_db *db, struct ratings_users *out,
                       struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  sqlite3_stmt *st = NULL;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "users: no database");
  if (db_prepare(db,
                 "SELECT id, bucketized_age, gender, occupation_label "
                 "FROM users ORDER BY id",
                 &st, err))
    return err->code;
  size_t cap = 0;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    size_t c0 = cap, c1 = cap, c2 = cap, c3 = cap;
    if (db_grow((void **)&out->id, sizeof(int64_t), &c0, out->n + 1) ||
        db_grow((void **)&out->age_bucket, sizeof(int), &c1, out->n + 1) ||
        db_grow((void **)&out->gender, sizeof(int), &c2, out->n + 1) ||
        db_grow((void **)&out->occupation, sizeof(int), &c3, out->n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "users: out of memory");
      break;
    }
    cap = c0;
    size_t i = out->n++;
    out->id[i] = sqlite3_column_int64(st, 0);
    out->age_bucket[i] = db_col_int_or(st, 1, -1);
    out->gender[i] = db_gender_code(sqlite3_column_text(st, 2));
    out->occupation[i] = db_col_int_or(st, 3, -1);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_fail(db, err, "reading users");
  sqlite3_finalize(st);
  return ret;
}

void ratings_movies_free(struct ratings_movies *m)
{
  if (!m)
    return;
  free(m->id);
  free(m->year);
  free(m->genre_off);
  free(m->genre_ids);
  memset(m, 0, sizeof(*m));
}

/* Second pass of ratings_load_movies: fill the genre CSR (movies sorted). */
static int load_movie_genres(struct hv_db *db, struct ratings_movies *out,
                             struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  out->genre_off = calloc(out->n + 1, sizeof(size_t));
  if (!out->genre_off)
    return hv_err_set(err, HV_ENOMEM, "movies: out of memory");
  if (db_prepare(db,
                 "SELECT movie_id, genre_id FROM movie_genres "
                 "ORDER BY movie_id, genre_id",
                 &st, err))
    return err->code;
  size_t cap = 0, ng = 0, mi = 0;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t mid = sqlite3_column_int64(st, 0);
    while (mi < out->n && out->id[mi] < mid)
      out->genre_off[++mi] = ng;
    if (mi >= out->n || out->id[mi] != mid)
      continue; /* cannot happen with foreign keys on; skip defensively */
    if (db_grow((void **)&out->genre_ids, sizeof(int), &cap, ng + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "movie genres: out of memory");
      break;
    }
    out->genre_ids[ng++] = sqlite3_column_int(st, 1);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_fail(db, err, "reading movie genres");
  while (mi < out->n)
    out->genre_off[++mi] = ng;
  sqlite3_finalize(st);
  return ret;
}

int ratings_load_movies(struct hv_db *db, struct ratings_movies *out,
                        struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  sqlite3_stmt *st = NULL;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "movies: no database");
  if (db_prepare(db, "SELECT id, release_year FROM movies ORDER BY id", &st,
                 err))
    return err->code;
  size_t cap = 0;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    size_t c0 = cap, c1 = cap;
    if (db_grow((void **)&out->id, sizeof(int64_t), &c0, out->n + 1) ||
        db_grow((void **)&out->year, sizeof(int), &c1, out->n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "movies: out of memory");
      break;
    }
    cap = c0;
    size_t i = out->n++;
    out->id[i] = sqlite3_column_int64(st, 0);
    out->year[i] = db_col_int_or(st, 1, 0);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_fail(db, err, "reading movies");
  sqlite3_finalize(st);
  if (!ret)
    ret = load_movie_genres(db, out, err);
  return ret;
}

int ratings_user_movies(struct hv_db *db, int64_t user_id, int64_t **out,
                        size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = NULL;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  if (db_prepare(db,
                 "SELECT DISTINCT movie_id FROM ratings WHERE user_id = ? "
                 "ORDER BY movie_id",
                 &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, user_id);
  int ret = db_step_i64s(db, st, out, n, "ratings: out of memory",
                         "reading a user's ratings", err);
  sqlite3_finalize(st);
  return ret;
}

int ratings_movie_title(struct hv_db *db, int64_t id, char *buf, size_t cap,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (!db || !buf || cap == 0)
    return hv_err_set(err, HV_EINVAL, "movie title: bad arguments");
  buf[0] = '\0';
  if (db_prepare(db, "SELECT title FROM movies WHERE id = ?", &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st), ret = 0;
  if (rc == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
  } else if (rc == SQLITE_DONE) {
    ret = hv_err_set(err, HV_ENOTFOUND, "movie %lld not found",
                     (long long)id);
  } else {
    ret = db_fail(db, err, "reading a movie title");
  }
  sqlite3_finalize(st);
  return ret;
}

int ratings_user_exists(struct hv_db *db, int64_t user_id,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "users: no database");
  if (db_prepare(db, "SELECT 1 FROM users WHERE id = ?", &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, user_id);
  int rc = sqlite3_step(st), ret;
  if (rc == SQLITE_ROW)
    ret = 1;
  else if (rc == SQLITE_DONE)
    ret = 0;
  else
    ret = db_fail(db, err, "looking up a user");
  sqlite3_finalize(st);
  return ret;
}

/*
 * sq_catalog.c - the catalogue's SQL (movies, users, genres, occupations)
 * for SQLite: see store/catalog.h for the contract, backend.h for the
 * table. Lookups run per request go through the statement cache.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sq.h"

#define USER_COLS                                                    \
  "id, raw_age, bucketized_age, gender, occupation_text, "           \
  "occupation_label, zip_code"
#define MOVIE_COLS                                                   \
  "m.id, m.title, m.release_date, m.release_year, m.imdb_url, "      \
  "(SELECT group_concat(name, '|') FROM (SELECT g.name AS name FROM " \
  "movie_genres mg JOIN genres g ON g.id = mg.genre_id "             \
  "WHERE mg.movie_id = m.id ORDER BY g.id))"

static const char sql_users[] = "SELECT " USER_COLS " FROM users ORDER BY id";
static const char sql_user[] = "SELECT " USER_COLS " FROM users WHERE id = ?";
static const char sql_movies[] =
    "SELECT " MOVIE_COLS " FROM movies m ORDER BY m.id";
static const char sql_random[] =
    "SELECT " MOVIE_COLS " FROM movies m ORDER BY random() LIMIT ?";
static const char sql_titles[] = "SELECT id, title FROM movies ORDER BY id";
static const char sql_title[] = "SELECT title FROM movies WHERE id = ?";

/* Indexed by enum catalog_table (users, movies, genres). */
static const char *const sql_exists[] = {
    "SELECT 1 FROM users WHERE id = ?",
    "SELECT 1 FROM movies WHERE id = ?",
    "SELECT 1 FROM genres WHERE id = ?",
};
static const char *const sql_ids[] = {
    "SELECT id FROM users ORDER BY id",
    "SELECT id FROM movies ORDER BY id",
    "SELECT id FROM genres ORDER BY id",
};

static int user_row(sqlite3_stmt *st, void *arg)
{
  const struct store_cb *cb = arg;
  struct catalog_user_row u = {
      .id = sqlite3_column_int64(st, 0),
      .raw_age = sq_col_int_or(st, 1, -1),
      .bucketized_age = sq_col_int_or(st, 2, -1),
      .gender = sq_col_text(st, 3),
      .occupation_text = sq_col_text(st, 4),
      .occupation_label = sq_col_int_or(st, 5, -1),
      .zip_code = sq_col_text(st, 6),
  };
  return cb->fn.user(cb->ctx, &u);
}

static int users(struct hv_db *db, const int64_t *id, catalog_user_fn fn,
                 void *ctx, size_t *n, struct hv_err *err)
{
  struct store_cb cb = {.fn.user = fn, .ctx = ctx};
  return sq_run(db, id ? sql_user : sql_users, 1, id, id ? 1 : 0, user_row,
                &cb, n, "reading users", err);
}

static int movie_row(sqlite3_stmt *st, void *arg)
{
  const struct store_cb *cb = arg;
  const char *title = sq_col_text(st, 1), *genres = sq_col_text(st, 5);
  struct catalog_movie_row m = {
      .id = sqlite3_column_int64(st, 0),
      .title = title ? title : "",
      .release_date = sq_col_text(st, 2),
      .release_year = sq_col_int_or(st, 3, 0),
      .imdb_url = sq_col_text(st, 4),
      .genres = genres ? genres : "",
  };
  return cb->fn.movie(cb->ctx, &m);
}

static int movies(struct hv_db *db, int64_t random_n, catalog_movie_fn fn,
                  void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.movie = fn, .ctx = ctx};
  return sq_run(db, random_n < 0 ? sql_movies : sql_random, 1, &random_n,
                random_n < 0 ? 0 : 1, movie_row, &cb, NULL, "reading movies",
                err);
}

static int title_row(sqlite3_stmt *st, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = sq_col_text(st, 1);
  return cb->fn.title(cb->ctx, sqlite3_column_int64(st, 0), t ? t : "");
}

static int titles(struct hv_db *db, catalog_title_fn fn, void *ctx,
                  struct hv_err *err)
{
  struct store_cb cb = {.fn.title = fn, .ctx = ctx};
  return sq_run(db, sql_titles, 0, NULL, 0, title_row, &cb, NULL,
                "reading titles", err);
}

struct title_buf {
  char *buf;
  size_t cap;
};

static int title_copy(sqlite3_stmt *st, void *arg)
{
  const struct title_buf *t = arg;
  sq_col_copy(st, 0, t->buf, t->cap);
  return 0;
}

static int title(struct hv_db *db, int64_t id, char *buf, size_t cap,
                 struct hv_err *err)
{
  struct title_buf t = {buf, cap};
  size_t n = 0;
  int rc = sq_run(db, sql_title, 1, &id, 1, title_copy, &t, &n,
                  "reading a movie title", err);
  if (!rc && n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "movie %lld not found",
                      (long long)id);
  return rc;
}

static int no_row_op(sqlite3_stmt *st, void *arg)
{
  (void)st, (void)arg;
  return 0;
}

static int exists(struct hv_db *db, enum catalog_table table, int64_t id,
                  struct hv_err *err)
{
  size_t n = 0;
  int rc = sq_run(db, sql_exists[table], 1, &id, 1, no_row_op, NULL, &n,
                  "lookup", err);
  return rc ? rc : n > 0;
}

static int ids(struct hv_db *db, enum catalog_table table, int64_t **out,
               size_t *n, struct hv_err *err)
{
  return sq_run_ids(db, sql_ids[table], 0, NULL, 0, out, n, "reading ids",
                    err);
}

/* Second pass of load_movies: fill the genre CSR (movies sorted). */
static int load_movie_genres(struct hv_db *db, struct catalog_movies *out,
                             struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  out->genre_off = calloc(out->n + 1, sizeof(size_t));
  if (!out->genre_off)
    return hv_err_set(err, HV_ENOMEM, "movies: out of memory");
  if (sq_prepare(db,
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
    if (sq_grow((void **)&out->genre_ids, sizeof(int), &cap, ng + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "movie genres: out of memory");
      break;
    }
    out->genre_ids[ng++] = sqlite3_column_int(st, 1);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = sq_fail(db, err, "reading movie genres");
  while (mi < out->n)
    out->genre_off[++mi] = ng;
  sqlite3_finalize(st);
  return ret;
}

static int load_movies(struct hv_db *db, struct catalog_movies *out,
                       struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, "SELECT id, release_year FROM movies ORDER BY id", &st,
                 err))
    return err->code;
  size_t cap = 0;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    size_t c0 = cap, c1 = cap;
    if (sq_grow((void **)&out->id, sizeof(int64_t), &c0, out->n + 1) ||
        sq_grow((void **)&out->year, sizeof(int), &c1, out->n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "movies: out of memory");
      break;
    }
    cap = c0;
    size_t i = out->n++;
    out->id[i] = sqlite3_column_int64(st, 0);
    out->year[i] = sq_col_int_or(st, 1, 0);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = sq_fail(db, err, "reading movies");
  sqlite3_finalize(st);
  if (!ret)
    ret = load_movie_genres(db, out, err);
  return ret;
}

static int name_row(sqlite3_stmt *st, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = sq_col_text(st, 1);
  return cb->fn.name(cb->ctx, sqlite3_column_int(st, 0), t ? t : "");
}

static int names(struct hv_db *db, enum catalog_table table,
                 int (*fn)(void *ctx, int code, const char *name), void *ctx,
                 struct hv_err *err)
{
  const char *sql =
      table == CATALOG_GENRES
          ? "SELECT id, name FROM genres ORDER BY id"
          : "SELECT occupation_label, MIN(occupation_text) FROM users "
            "WHERE occupation_label IS NOT NULL GROUP BY occupation_label "
            "ORDER BY occupation_label";
  struct store_cb cb = {.fn.name = fn, .ctx = ctx};
  return sq_run(db, sql, 0, NULL, 0, name_row, &cb, NULL, "reading names",
                err);
}

const struct catalog_ops sq_catalog_ops = {
    .users = users, .movies = movies, .titles = titles, .title = title,
    .exists = exists, .ids = ids, .load_movies = load_movies, .names = names};

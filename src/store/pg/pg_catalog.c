/*
 * pg_catalog.c - the catalogue's SQL (movies, users, genres, occupations)
 * for PostgreSQL: see store/catalog.h for the contract, backend.h for the
 * table. Lookups run per request are prepared once per connection.
 */
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg.h"

#define USER_COLS                                                    \
  "id, raw_age, bucketized_age, gender, occupation_text, "           \
  "occupation_label, zip_code"
#define MOVIE_COLS                                                   \
  "m.id, m.title, m.release_date, m.release_year, m.imdb_url, "      \
  "(SELECT string_agg(g.name, '|' ORDER BY g.id) FROM movie_genres mg " \
  "JOIN genres g ON g.id = mg.genre_id WHERE mg.movie_id = m.id)"

static const char sql_users[] = "SELECT " USER_COLS " FROM users ORDER BY id";
static const char sql_user[] = "SELECT " USER_COLS " FROM users WHERE id = $1";
static const char sql_movies[] =
    "SELECT " MOVIE_COLS " FROM movies m ORDER BY m.id";
static const char sql_random[] =
    "SELECT " MOVIE_COLS " FROM movies m ORDER BY random() LIMIT $1";
static const char sql_title[] = "SELECT title FROM movies WHERE id = $1";

/* Indexed by enum catalog_table (users, movies, genres). */
static const char *const sql_exists[] = {
    "SELECT 1 FROM users WHERE id = $1",
    "SELECT 1 FROM movies WHERE id = $1",
    "SELECT 1 FROM genres WHERE id = $1",
};
static const char *const sql_ids[] = {
    "SELECT id FROM users ORDER BY id",
    "SELECT id FROM movies ORDER BY id",
    "SELECT id FROM genres ORDER BY id",
};

static int user_row(const PGresult *r, int i, void *arg)
{
  const struct store_cb *cb = arg;
  struct catalog_user_row u = {
      .id = pg_i64(r, i, 0, 0),
      .raw_age = (int)pg_i64(r, i, 1, -1),
      .bucketized_age = (int)pg_i64(r, i, 2, -1),
      .gender = pg_text(r, i, 3),
      .occupation_text = pg_text(r, i, 4),
      .occupation_label = (int)pg_i64(r, i, 5, -1),
      .zip_code = pg_text(r, i, 6),
  };
  return cb->fn.user(cb->ctx, &u);
}

static int users(struct hv_db *db, const int64_t *id, catalog_user_fn fn,
                 void *ctx, size_t *n, struct hv_err *err)
{
  struct store_cb cb = {.fn.user = fn, .ctx = ctx};
  struct pg_args a = {0};
  if (id)
    pg_arg_i64(&a, *id);
  return pg_run(db, id ? sql_user : sql_users, 1, &a, user_row, &cb, n,
                "reading users", err);
}

static int movie_row(const PGresult *r, int i, void *arg)
{
  const struct store_cb *cb = arg;
  const char *title = pg_text(r, i, 1), *genres = pg_text(r, i, 5);
  struct catalog_movie_row m = {
      .id = pg_i64(r, i, 0, 0),
      .title = title ? title : "",
      .release_date = pg_text(r, i, 2),
      .release_year = (int)pg_i64(r, i, 3, 0),
      .imdb_url = pg_text(r, i, 4),
      .genres = genres ? genres : "",
  };
  return cb->fn.movie(cb->ctx, &m);
}

static int movies(struct hv_db *db, int64_t random_n, catalog_movie_fn fn,
                  void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.movie = fn, .ctx = ctx};
  struct pg_args a = {0};
  if (random_n >= 0)
    pg_arg_i64(&a, random_n);
  return pg_run(db, random_n < 0 ? sql_movies : sql_random, 1, &a, movie_row,
                &cb, NULL, "reading movies", err);
}

static int title_row(const PGresult *r, int i, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = pg_text(r, i, 1);
  return cb->fn.title(cb->ctx, pg_i64(r, i, 0, 0), t ? t : "");
}

static int titles(struct hv_db *db, catalog_title_fn fn, void *ctx,
                  struct hv_err *err)
{
  struct store_cb cb = {.fn.title = fn, .ctx = ctx};
  return pg_run(db, "SELECT id, title FROM movies ORDER BY id", 0, NULL,
                title_row, &cb, NULL, "reading titles", err);
}

struct title_buf {
  char *buf;
  size_t cap;
};

static int title_copy(const PGresult *r, int i, void *arg)
{
  const struct title_buf *t = arg;
  pg_copy(r, i, 0, t->buf, t->cap);
  return 0;
}

static int title(struct hv_db *db, int64_t id, char *buf, size_t cap,
                 struct hv_err *err)
{
  struct title_buf t = {buf, cap};
  struct pg_args a = pg_argsf("i", id);
  size_t n = 0;
  int rc = pg_run(db, sql_title, 1, &a, title_copy, &t, &n,
                  "reading a movie title", err);
  if (!rc && n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "movie %lld not found",
                      (long long)id);
  return rc;
}

static int no_row_op(const PGresult *r, int i, void *arg)
{
  (void)r, (void)i, (void)arg;
  return 0;
}

static int exists(struct hv_db *db, enum catalog_table table, int64_t id,
                  struct hv_err *err)
{
  struct pg_args a = pg_argsf("i", id);
  size_t n = 0;
  int rc = pg_run(db, sql_exists[table], 1, &a, no_row_op, NULL, &n,
                  "lookup", err);
  return rc ? rc : n > 0;
}

static int ids(struct hv_db *db, enum catalog_table table, int64_t **out,
               size_t *n, struct hv_err *err)
{
  return pg_run_ids(db, sql_ids[table], NULL, out, n, "reading ids", err);
}

/* The movie rows and the genre CSR as load_movies fills them. */
struct movies_fill {
  struct catalog_movies *out;
  size_t cap, gcap, ng, mi;
};

static int movie_fill(const PGresult *r, int i, void *arg)
{
  struct movies_fill *f = arg;
  struct catalog_movies *o = f->out;
  size_t c0 = f->cap, c1 = f->cap;
  if (store_grow((void **)&o->id, sizeof(int64_t), &c0, o->n + 1) ||
      store_grow((void **)&o->year, sizeof(int), &c1, o->n + 1))
    return HV_ENOMEM;
  f->cap = c0;
  o->id[o->n] = pg_i64(r, i, 0, 0);
  o->year[o->n++] = (int)pg_i64(r, i, 1, 0);
  return 0;
}

/* One (movie_id, genre_id) row, movies ascending like out->id. */
static int genre_fill(const PGresult *r, int i, void *arg)
{
  struct movies_fill *f = arg;
  struct catalog_movies *o = f->out;
  int64_t mid = pg_i64(r, i, 0, 0);
  while (f->mi < o->n && o->id[f->mi] < mid)
    o->genre_off[++f->mi] = f->ng;
  if (f->mi >= o->n || o->id[f->mi] != mid)
    return 0; /* cannot happen with foreign keys; skip defensively */
  if (store_grow((void **)&o->genre_ids, sizeof(int), &f->gcap, f->ng + 1))
    return HV_ENOMEM;
  o->genre_ids[f->ng++] = (int)pg_i64(r, i, 1, 0);
  return 0;
}

static int load_movies(struct hv_db *db, struct catalog_movies *out,
                       struct hv_err *err)
{
  struct movies_fill f = {.out = out};
  int rc = pg_run(db, "SELECT id, release_year FROM movies ORDER BY id", 0,
                  NULL, movie_fill, &f, NULL, "reading movies", err);
  if (!rc && !(out->genre_off = calloc(out->n + 1, sizeof(size_t))))
    rc = HV_ENOMEM;
  if (!rc)
    rc = pg_run(db,
                "SELECT movie_id, genre_id FROM movie_genres "
                "ORDER BY movie_id, genre_id",
                0, NULL, genre_fill, &f, NULL, "reading movie genres", err);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, rc, "movies: out of memory");
  while (!rc && f.mi < out->n)
    out->genre_off[++f.mi] = f.ng;
  return rc;
}

static int name_row(const PGresult *r, int i, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = pg_text(r, i, 1);
  return cb->fn.name(cb->ctx, (int)pg_i64(r, i, 0, 0), t ? t : "");
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
  return pg_run(db, sql, 0, NULL, name_row, &cb, NULL, "reading names", err);
}

const struct catalog_ops pg_catalog_ops = {
    .users = users, .movies = movies, .titles = titles, .title = title,
    .exists = exists, .ids = ids, .load_movies = load_movies, .names = names};

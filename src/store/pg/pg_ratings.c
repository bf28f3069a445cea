/*
 * pg_ratings.c - the ratings' SQL for PostgreSQL: see store/ratings.h for
 * the contract, backend.h for the table. Range and window reads stream
 * through a cursor (they can cover every rating); a user's ratings and
 * inserts are prepared once per connection.
 */
#include "store/pg/pg.h"

#define RATING_COLS "rating_id, user_id, movie_id, rating, timestamp"

static const char sql_by_id[] =
    "SELECT " RATING_COLS " FROM ratings WHERE rating_id BETWEEN $1 AND $2 "
    "ORDER BY rating_id";
static const char sql_by_time[] =
    "SELECT " RATING_COLS " FROM ratings WHERE timestamp >= $1 AND "
    "timestamp < $2 AND NOT (rating_id BETWEEN $3 AND $4) "
    "ORDER BY timestamp, rating_id";
static const char sql_user_movies[] =
    "SELECT DISTINCT movie_id FROM ratings WHERE user_id = $1 ORDER BY 1";
static const char sql_user_ratings[] =
    "SELECT r.rating_id, r.user_id, r.movie_id, m.title, r.rating, "
    "r.timestamp, r.source FROM ratings r JOIN movies m ON m.id = r.movie_id "
    "WHERE r.user_id = $1 ORDER BY r.timestamp, r.rating_id";
static const char sql_insert[] =
    "INSERT INTO ratings(user_id, movie_id, rating, timestamp, source) "
    "VALUES ($1, $2, $3, $4, 'api') RETURNING rating_id";

/* The args of a query on (a, b) or (a, b, c, d): i64s[0..n). */
static struct sql_args args_i64(const int64_t *v, int n)
{
  struct sql_args a = {0};
  for (int i = 0; i < n; i++)
    sql_arg_i64(&a, v[i]);
  return a;
}

static int rec_row(const PGresult *r, int i, void *arg)
{
  const struct store_cb *cb = arg;
  struct ratings_rec x = {
      .rating_id = pg_i64(r, i, 0, 0),
      .user_id = pg_i64(r, i, 1, 0),
      .movie_id = pg_i64(r, i, 2, 0),
      .rating = pg_f64(r, i, 3, 0),
      .timestamp = pg_i64(r, i, 4, 0),
  };
  return cb->fn.rec(cb->ctx, &x);
}

static int each(struct hv_db *db, const struct ratings_sel *sel,
                ratings_rec_fn fn, void *ctx, struct hv_err *err)
{
  const int64_t p[4] = {sel->lo, sel->hi, sel->excl_first, sel->excl_last};
  struct sql_args a = args_i64(p, sel->by_time ? 4 : 2);
  struct store_cb cb = {.fn.rec = fn, .ctx = ctx};
  return pg_run_cursor(db, sel->by_time ? sql_by_time : sql_by_id, &a,
                       rec_row, &cb, "reading ratings", err);
}

/* Point the rating_id identity after the largest id (1 when none), as
 * SQLite's rowid would continue. */
static int identity_after_max(struct hv_db *db, struct hv_err *err)
{
  return pg_exec(db,
                 "SELECT setval(pg_get_serial_sequence('ratings', "
                 "'rating_id'), COALESCE(MAX(rating_id), 0) + 1, false) "
                 "FROM ratings",
                 err);
}

static int delete_from(struct hv_db *db, int64_t from_ts, struct hv_err *err)
{
  struct sql_args a = args_i64(&from_ts, 1);
  int rc = pg_cmd(db, "DELETE FROM ratings WHERE timestamp >= $1", 0, &a,
                  NULL, "deleting the ratings taken", err);
  return rc ? rc : identity_after_max(db, err);
}

static int ids(struct hv_db *db, int64_t first, int64_t last, int64_t **out,
               size_t *n, struct hv_err *err)
{
  const int64_t p[2] = {first, last};
  struct sql_args a = args_i64(p, 2);
  return sql_run_ids(db,
                    "SELECT rating_id FROM ratings WHERE rating_id BETWEEN $1 "
                    "AND $2 ORDER BY rating_id",
                    &a, out, n, "rating ids", err);
}

static int span(struct hv_db *db, int64_t first, int64_t last, int64_t *tmin,
                int64_t *tmax, int64_t *n, struct hv_err *err)
{
  const int64_t p[2] = {first, last};
  struct sql_args a = args_i64(p, 2);
  int64_t v[3];
  int rc = sql_run_row(db,
                      "SELECT COALESCE(MIN(timestamp), 0), COALESCE(MAX("
                      "timestamp), 0), COUNT(*) FROM ratings WHERE rating_id "
                      "BETWEEN $1 AND $2",
                      &a, v, 3, "reading the time span of ratings", err);
  if (!rc) {
    *tmin = v[0];
    *tmax = v[1];
    *n = v[2];
  }
  return rc;
}

static int last_outside(struct hv_db *db, int64_t excl_first,
                        int64_t excl_last, int64_t *tmax, int64_t *n,
                        struct hv_err *err)
{
  const int64_t p[2] = {excl_first, excl_last};
  struct sql_args a = args_i64(p, 2);
  int64_t v[2];
  int rc = sql_run_row(db,
                      "SELECT COALESCE(MAX(timestamp), 0), COUNT(*) FROM "
                      "ratings WHERE NOT (rating_id BETWEEN $1 AND $2)",
                      &a, v, 2, "reading the last rating time", err);
  if (!rc) {
    *tmax = v[0];
    *n = v[1];
  }
  return rc;
}

static int last_id(struct hv_db *db, int64_t *id, struct hv_err *err)
{
  return sql_run_row(db, "SELECT COALESCE(MAX(rating_id), 0) FROM ratings",
                    NULL, id, 1, "reading the last rating id", err);
}

static int user_movies(struct hv_db *db, int64_t uid, int64_t **out,
                       size_t *n, struct hv_err *err)
{
  struct sql_args a = args_i64(&uid, 1);
  return sql_run_ids(db, sql_user_movies, &a, out, n,
                    "reading a user's ratings", err);
}

static int rating_row(const PGresult *r, int i, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = pg_text(r, i, 3), *s = pg_text(r, i, 6);
  struct ratings_row x = {
      .rating_id = pg_i64(r, i, 0, 0),
      .user_id = pg_i64(r, i, 1, 0),
      .movie_id = pg_i64(r, i, 2, 0),
      .title = t ? t : "",
      .rating = pg_f64(r, i, 4, 0),
      .timestamp = pg_i64(r, i, 5, 0),
      .source = s ? s : "",
  };
  return cb->fn.rating(cb->ctx, &x);
}

static int user_each(struct hv_db *db, int64_t uid, ratings_row_fn fn,
                     void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.rating = fn, .ctx = ctx};
  struct sql_args a = args_i64(&uid, 1);
  return pg_run(db, sql_user_ratings, 1, &a, rating_row, &cb, NULL,
                "reading ratings", err);
}

static int avg_row(const PGresult *r, int i, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = pg_text(r, i, 1);
  return cb->fn.avg(cb->ctx, pg_i64(r, i, 0, 0), t ? t : "",
                    pg_f64(r, i, 2, 0), pg_i64(r, i, 3, 0));
}

static int movie_avg(struct hv_db *db, double min, double max,
                     ratings_avg_fn fn, void *ctx, struct hv_err *err)
{
  struct sql_args a = sql_argsf("ff", min, max);
  struct store_cb cb = {.fn.avg = fn, .ctx = ctx};
  return pg_run(db,
                "SELECT m.id, m.title, AVG(r.rating), COUNT(*) FROM ratings r "
                "JOIN movies m ON m.id = r.movie_id GROUP BY m.id "
                "HAVING AVG(r.rating) BETWEEN $1 AND $2 ORDER BY m.id",
                0, &a, avg_row, &cb, NULL, "reading averages", err);
}

static int insert(struct hv_db *db, const struct ratings_new *r, int64_t ts,
                  int64_t *id, struct hv_err *err)
{
  struct sql_args a = sql_argsf("iifi", r->user_id, r->movie_id, r->rating,
                              ts);
  return sql_run_row(db, sql_insert, &a, id, 1, "insert", err);
}

const struct ratings_ops pg_ratings_ops = {
    .each = each, .delete_from = delete_from, .ids = ids, .span = span,
    .last_outside = last_outside, .last_id = last_id,
    .user_movies = user_movies, .user_each = user_each, .movie_avg = movie_avg,
    .insert = insert};

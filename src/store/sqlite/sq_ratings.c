/*
 * sq_ratings.c - the ratings' SQL for SQLite: see store/ratings.h for the
 * contract, backend.h for the table. Range reads use the rating_id primary
 * key, time windows the ratings_by_time index, a user's ratings
 * ratings_by_user; per-request queries go through the statement cache.
 */
#include "store/sqlite/sq.h"

#define RATING_COLS "rating_id, user_id, movie_id, rating, timestamp"

static const char sql_by_id[] =
    "SELECT " RATING_COLS " FROM ratings WHERE rating_id BETWEEN ? AND ? "
    "ORDER BY rating_id";
static const char sql_by_time[] =
    "SELECT " RATING_COLS " FROM ratings WHERE timestamp >= ? AND "
    "timestamp < ? AND NOT (rating_id BETWEEN ? AND ?) "
    "ORDER BY timestamp, rating_id";
static const char sql_user_movies[] =
    "SELECT DISTINCT movie_id FROM ratings WHERE user_id = ? ORDER BY 1";
static const char sql_user_ratings[] =
    "SELECT r.rating_id, r.user_id, r.movie_id, m.title, r.rating, "
    "r.timestamp, r.source FROM ratings r JOIN movies m ON m.id = r.movie_id "
    "WHERE r.user_id = ? ORDER BY r.timestamp, r.rating_id";
static const char sql_insert[] =
    "INSERT INTO ratings(user_id, movie_id, rating, timestamp, source) "
    "VALUES (?, ?, ?, ?, 'api')";

static int rec_row(sqlite3_stmt *st, void *arg)
{
  const struct store_cb *cb = arg;
  assert(sqlite3_column_count(st) == 5); /* the five read below */
  struct ratings_rec r = {
      .rating_id = sqlite3_column_int64(st, 0),
      .user_id = sqlite3_column_int64(st, 1),
      .movie_id = sqlite3_column_int64(st, 2),
      .rating = sqlite3_column_double(st, 3),
      .timestamp = sqlite3_column_int64(st, 4),
  };
  return cb->fn.rec(cb->ctx, &r);
}

static int each(struct hv_db *db, const struct ratings_sel *sel,
                ratings_rec_fn fn, void *ctx, struct hv_err *err)
{
  const int64_t p[4] = {sel->lo, sel->hi, sel->excl_first, sel->excl_last};
  struct store_cb cb = {.fn.rec = fn, .ctx = ctx};
  return sq_run(db, sel->by_time ? sql_by_time : sql_by_id, 0, p,
                sel->by_time ? 4 : 2, rec_row, &cb, NULL, "reading ratings",
                err);
}

static int delete_from(struct hv_db *db, int64_t from_ts, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, "DELETE FROM ratings WHERE timestamp >= ?", &st, err))
    return sq_code(err);
  sqlite3_bind_int64(st, 1, from_ts);
  return sq_step_done(db, st, "deleting the ratings taken", err);
}

static int ids(struct hv_db *db, int64_t first, int64_t last, int64_t **out,
               size_t *n, struct hv_err *err)
{
  const int64_t p[2] = {first, last};
  return sq_run_ids(db,
                    "SELECT rating_id FROM ratings WHERE rating_id BETWEEN ? "
                    "AND ? ORDER BY rating_id",
                    0, p, 2, out, n, "rating ids", err);
}

static int span(struct hv_db *db, int64_t first, int64_t last, int64_t *tmin,
                int64_t *tmax, int64_t *n, struct hv_err *err)
{
  const int64_t p[2] = {first, last};
  int64_t v[3];
  int rc = sq_run_row(db,
                      "SELECT IFNULL(MIN(timestamp), 0), IFNULL(MAX("
                      "timestamp), 0), COUNT(*) FROM ratings WHERE rating_id "
                      "BETWEEN ? AND ?",
                      p, 2, v, 3, "reading the time span of ratings", err);
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
  int64_t v[2];
  int rc = sq_run_row(db,
                      "SELECT IFNULL(MAX(timestamp), 0), COUNT(*) FROM "
                      "ratings WHERE NOT (rating_id BETWEEN ? AND ?)",
                      p, 2, v, 2, "reading the last rating time", err);
  if (!rc) {
    *tmax = v[0];
    *n = v[1];
  }
  return rc;
}

static int last_id(struct hv_db *db, int64_t *id, struct hv_err *err)
{
  return sq_run_row(db, "SELECT IFNULL(MAX(rating_id), 0) FROM ratings",
                    NULL, 0, id, 1, "reading the last rating id", err);
}

static int user_movies(struct hv_db *db, int64_t uid, int64_t **out,
                       size_t *n, struct hv_err *err)
{
  return sq_run_ids(db, sql_user_movies, 1, &uid, 1, out, n,
                    "reading a user's ratings", err);
}

static int rating_row(sqlite3_stmt *st, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = sq_col_text(st, 3), *s = sq_col_text(st, 6);
  struct ratings_row r = {
      .rating_id = sqlite3_column_int64(st, 0),
      .user_id = sqlite3_column_int64(st, 1),
      .movie_id = sqlite3_column_int64(st, 2),
      .title = t ? t : "",
      .rating = sqlite3_column_double(st, 4),
      .timestamp = sqlite3_column_int64(st, 5),
      .source = s ? s : "",
  };
  return cb->fn.rating(cb->ctx, &r);
}

static int user_each(struct hv_db *db, int64_t uid, ratings_row_fn fn,
                     void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.rating = fn, .ctx = ctx};
  return sq_run(db, sql_user_ratings, 1, &uid, 1, rating_row, &cb, NULL,
                "reading ratings", err);
}

static int avg_row(sqlite3_stmt *st, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = sq_col_text(st, 1);
  return cb->fn.avg(cb->ctx, sqlite3_column_int64(st, 0), t ? t : "",
                    sqlite3_column_double(st, 2),
                    sqlite3_column_int64(st, 3));
}

static int movie_avg(struct hv_db *db, double min, double max,
                     ratings_avg_fn fn, void *ctx, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT m.id, m.title, AVG(r.rating), COUNT(*) FROM ratings r "
                 "JOIN movies m ON m.id = r.movie_id GROUP BY m.id "
                 "HAVING AVG(r.rating) BETWEEN ? AND ? ORDER BY m.id",
                 &st, err))
    return sq_code(err);
  sqlite3_bind_double(st, 1, min);
  sqlite3_bind_double(st, 2, max);
  struct store_cb cb = {.fn.avg = fn, .ctx = ctx};
  int rc = sq_each_row(db, st, avg_row, &cb, NULL, "reading averages", err);
  sqlite3_finalize(st);
  return rc;
}

static int insert(struct hv_db *db, const struct ratings_new *r, int64_t ts,
                  int64_t *id, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_cached(db, sql_insert, &st, err))
    return sq_code(err);
  sqlite3_bind_int64(st, 1, r->user_id);
  sqlite3_bind_int64(st, 2, r->movie_id);
  sqlite3_bind_double(st, 3, r->rating);
  sqlite3_bind_int64(st, 4, ts);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(db, err, "insert");
  sq_release(db, st);
  if (!rc)
    *id = sqlite3_last_insert_rowid(sq_of(db)->h);
  return rc;
}

const struct ratings_ops sq_ratings_ops = {
    .each = each, .delete_from = delete_from, .ids = ids, .span = span,
    .last_outside = last_outside, .last_id = last_id,
    .user_movies = user_movies, .user_each = user_each, .movie_avg = movie_avg,
    .insert = insert};

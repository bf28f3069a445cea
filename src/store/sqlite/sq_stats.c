/*
 * sq_stats.c - the dataset summaries' SQL for SQLite: see store/stats.h
 * for the contract, backend.h for the table. Per-user and per-movie counts
 * scan the covering indexes; the histogram is the one full table scan.
 */
#include <string.h>

#include "store/sqlite/sq.h"

static int counts(struct hv_db *db, struct stats_counts *out,
                  struct hv_err *err)
{
  static const char sql[] =
      "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM movies),"
      " (SELECT COUNT(*) FROM ratings), (SELECT COUNT(*) FROM genres),"
      " (SELECT IFNULL(MIN(timestamp), 0) FROM ratings),"
      " (SELECT IFNULL(MAX(timestamp), 0) FROM ratings),"
      " (SELECT IFNULL(MIN(rating_id), 0) FROM ratings),"
      " (SELECT IFNULL(MAX(rating_id), 0) FROM ratings)";
  int64_t v[8];
  int rc = sq_run_row(db, sql, NULL, 0, v, 8, "counting rows", err);
  if (rc)
    return rc;
  memset(out, 0, sizeof(*out));
  out->users = v[0];
  out->movies = v[1];
  out->ratings = v[2];
  out->genres = v[3];
  out->first_ts = v[4];
  out->last_ts = v[5];
  out->first_rating_id = v[6];
  out->last_rating_id = v[7];
  return 0;
}

/* One pass over the ratings, no sort (a GROUP BY rating would sort all of
 * them): a count for each allowed value 0.5, 1, ..., 5. */
static int histogram(struct hv_db *db, int64_t n[STATS_HIST],
                     struct hv_err *err)
{
  return sq_run_row(db,
                    "SELECT SUM(rating = 0.5), SUM(rating = 1), SUM(rating = "
                    "1.5), SUM(rating = 2), SUM(rating = 2.5), SUM(rating = "
                    "3), SUM(rating = 3.5), SUM(rating = 4), SUM(rating = "
                    "4.5), SUM(rating = 5) FROM ratings",
                    NULL, 0, n, STATS_HIST, "rating histogram", err);
}

static int group_row(sqlite3_stmt *st, void *arg)
{
  const struct store_cb *cb = arg;
  return cb->fn.group(cb->ctx, sqlite3_column_int64(st, 0),
                      sqlite3_column_int64(st, 1));
}

static int per_group(struct hv_db *db, int by_movie,
                     int (*fn)(void *ctx, int64_t id, int64_t count),
                     void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.group = fn, .ctx = ctx};
  return sq_run(db,
                by_movie ? "SELECT movie_id, COUNT(*) FROM ratings "
                           "GROUP BY movie_id"
                         : "SELECT user_id, COUNT(*) FROM ratings "
                           "GROUP BY user_id",
                0, NULL, 0, group_row, &cb, NULL,
                "counting ratings per group", err);
}

static int movie_summary(struct hv_db *db, int64_t id, char *title,
                         size_t cap, double *mean, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT (SELECT title FROM movies WHERE id = ?1),"
                 " (SELECT AVG(rating) FROM ratings WHERE movie_id = ?1)",
                 &st, err))
    return sq_code(err);
  sqlite3_bind_int64(st, 1, id);
  int rc = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    sq_col_copy(st, 0, title, cap);
    *mean = sqlite3_column_double(st, 1);
  } else {
    rc = sq_fail(db, err, "top movies");
  }
  sqlite3_finalize(st);
  return rc;
}

static int dataset_latest(struct hv_db *db, struct stats_dataset *out,
                          struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT id, name, source, imported_at, n_users, n_movies, "
                 "n_ratings FROM datasets ORDER BY id DESC LIMIT 1",
                 &st, err))
    return sq_code(err);
  int s = sqlite3_step(st), rc = 0;
  if (s == SQLITE_ROW) {
    out->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, out->name, sizeof(out->name));
    sq_col_copy(st, 2, out->source, sizeof(out->source));
    out->imported_at = sqlite3_column_double(st, 3);
    out->n_users = sqlite3_column_int64(st, 4);
    out->n_movies = sqlite3_column_int64(st, 5);
    out->n_ratings = sqlite3_column_int64(st, 6);
  } else if (s == SQLITE_DONE) {
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "no dataset loaded; run 'harvest data import', 'fetch' "
                    "or 'synth'");
  } else {
    rc = sq_fail(db, err, "datasets");
  }
  sqlite3_finalize(st);
  return rc;
}

const struct stats_ops sq_stats_ops = {
    .counts = counts, .histogram = histogram, .per_group = per_group,
    .movie_summary = movie_summary, .dataset_latest = dataset_latest};

/*
 * pg_stats.c - dataset summaries for PostgreSQL: see store/stats.h for the
 * contract, backend.h for the table.
 */
#include <string.h>

#include "store/pg/pg.h"

static int counts(struct hv_db *db, struct stats_counts *out,
                  struct hv_err *err)
{
  static const char sql[] =
      "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM movies),"
      " (SELECT COUNT(*) FROM ratings), (SELECT COUNT(*) FROM genres),"
      " MIN(timestamp), MAX(timestamp), MIN(rating_id), MAX(rating_id) "
      "FROM ratings";
  int64_t v[8];
  int rc = pg_run_row(db, sql, NULL, v, 8, "counting rows", err);
  if (rc)
    return rc;
  *out = (struct stats_counts){
      .users = v[0], .movies = v[1], .ratings = v[2], .genres = v[3],
      .first_ts = v[4], .last_ts = v[5], .first_rating_id = v[6],
      .last_rating_id = v[7]};
  return 0;
}

static int histogram(struct hv_db *db, int64_t n[STATS_HIST],
                     struct hv_err *err)
{
  return pg_run_row(db,
                    "SELECT COUNT(*) FILTER (WHERE rating = 0.5), COUNT(*) "
                    "FILTER (WHERE rating = 1), COUNT(*) FILTER (WHERE "
                    "rating = 1.5), COUNT(*) FILTER (WHERE rating = 2), "
                    "COUNT(*) FILTER (WHERE rating = 2.5), COUNT(*) FILTER "
                    "(WHERE rating = 3), COUNT(*) FILTER (WHERE rating = "
                    "3.5), COUNT(*) FILTER (WHERE rating = 4), COUNT(*) "
                    "FILTER (WHERE rating = 4.5), COUNT(*) FILTER (WHERE "
                    "rating = 5) FROM ratings",
                    NULL, n, STATS_HIST, "rating histogram", err);
}

static int group_row(const PGresult *r, int i, void *arg)
{
  const struct store_cb *cb = arg;
  return cb->fn.group(cb->ctx, pg_i64(r, i, 0, 0), pg_i64(r, i, 1, 0));
}

static int per_group(struct hv_db *db, int by_movie,
                     int (*fn)(void *ctx, int64_t id, int64_t count),
                     void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.group = fn, .ctx = ctx};
  return pg_run_cursor(db,
                       by_movie ? "SELECT movie_id, COUNT(*) FROM ratings "
                                  "GROUP BY movie_id"
                                : "SELECT user_id, COUNT(*) FROM ratings "
                                  "GROUP BY user_id",
                       NULL, group_row, &cb, "counting ratings per group",
                       err);
}

struct summary {
  char *title;
  size_t cap;
  double *mean;
};

static int summary_row(const PGresult *r, int i, void *arg)
{
  const struct summary *s = arg;
  pg_copy(r, i, 0, s->title, s->cap);
  *s->mean = pg_f64(r, i, 1, 0);
  return 0;
}

static int movie_summary(struct hv_db *db, int64_t id, char *title,
                         size_t cap, double *mean, struct hv_err *err)
{
  struct pg_args a = pg_argsf("i", id);
  struct summary s = {title, cap, mean};
  return pg_run(db,
                "SELECT (SELECT title FROM movies WHERE id = $1),"
                " (SELECT AVG(rating) FROM ratings WHERE movie_id = $1)",
                0, &a, summary_row, &s, NULL, "top movies", err);
}

static int dataset_row(const PGresult *r, int i, void *arg)
{
  struct stats_dataset *out = arg;
  out->id = pg_i64(r, i, 0, 0);
  pg_copy(r, i, 1, out->name, sizeof(out->name));
  pg_copy(r, i, 2, out->source, sizeof(out->source));
  out->imported_at = pg_f64(r, i, 3, 0);
  out->n_users = pg_i64(r, i, 4, 0);
  out->n_movies = pg_i64(r, i, 5, 0);
  out->n_ratings = pg_i64(r, i, 6, 0);
  return 0;
}

static int dataset_latest(struct hv_db *db, struct stats_dataset *out,
                          struct hv_err *err)
{
  size_t n = 0;
  int rc = pg_run(db,
                  "SELECT id, name, source, imported_at, n_users, n_movies, "
                  "n_ratings FROM datasets ORDER BY id DESC LIMIT 1",
                  0, NULL, dataset_row, out, &n, "datasets", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "no dataset loaded; run 'harvest data import', 'fetch' "
                    "or 'synth'");
  return rc;
}

const struct stats_ops pg_stats_ops = {
    .counts = counts, .histogram = histogram, .per_group = per_group,
    .movie_summary = movie_summary, .dataset_latest = dataset_latest};

/*
 * stats.c - dataset summaries, written once for both backends over
 * store/sql.h: medians, spreads and the top movies computed here over a
 * few aggregate queries (per-user and per-movie counts scan the covering
 * indexes; the histogram is the one full table scan). See stats.h.
 */
#include "store/stats.h"

#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "util/sort.h"

static int row_counts(struct hv_db *db, struct stats_counts *out,
                      struct hv_err *err)
{
  /* MIN and MAX each in its own subquery: an index lookup, not a scan */
  static const char sql[] =
      "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM movies),"
      " (SELECT COUNT(*) FROM ratings), (SELECT COUNT(*) FROM genres),"
      " (SELECT COALESCE(MIN(timestamp), 0) FROM ratings),"
      " (SELECT COALESCE(MAX(timestamp), 0) FROM ratings),"
      " (SELECT COALESCE(MIN(rating_id), 0) FROM ratings),"
      " (SELECT COALESCE(MAX(rating_id), 0) FROM ratings)";
  int64_t v[8];
  int rc = sql_run_row(db, sql, NULL, v, 8, "counting rows", err);
  if (rc)
    return rc;
  *out = (struct stats_counts){
      .users = v[0], .movies = v[1], .ratings = v[2], .genres = v[3],
      .first_ts = v[4], .last_ts = v[5], .first_rating_id = v[6],
      .last_rating_id = v[7]};
  return 0;
}

/* One pass over the ratings, no sort (a GROUP BY rating would sort all of
 * them): a count for each allowed value 0.5, 1, ..., 5. */
static int rating_counts(struct hv_db *db, int64_t n[STATS_HIST],
                         struct hv_err *err)
{
  return sql_run_row(db,
                     "SELECT COUNT(CASE WHEN rating = 0.5 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 1 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 1.5 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 2 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 2.5 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 3 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 3.5 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 4 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 4.5 THEN 1 END),"
                     " COUNT(CASE WHEN rating = 5 THEN 1 END) FROM ratings",
                     NULL, n, STATS_HIST, "rating histogram", err);
}

static int group_row(const struct sql_row *r, void *arg)
{
  const struct store_cb *cb = arg;
  return cb->fn.group(cb->ctx, sql_i64(r, 0, 0), sql_i64(r, 1, 0));
}

static int per_group(struct hv_db *db, int by_movie,
                     int (*fn)(void *ctx, int64_t id, int64_t count),
                     void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.group = fn, .ctx = ctx};
  return sql_run(db,
                 by_movie ? "SELECT movie_id, COUNT(*) FROM ratings "
                            "GROUP BY movie_id"
                          : "SELECT user_id, COUNT(*) FROM ratings "
                            "GROUP BY user_id",
                 SQL_STREAM, NULL, group_row, &cb, NULL,
                 "counting ratings per group", err);
}

struct summary {
  char *title;
  size_t cap;
  double *mean;
};

static int summary_row(const struct sql_row *r, void *arg)
{
  const struct summary *s = arg;
  sql_copy(r, 0, s->title, s->cap);
  *s->mean = sql_f64(r, 1, 0);
  return 0;
}

static int movie_summary(struct hv_db *db, int64_t id, char *title,
                         size_t cap, double *mean, struct hv_err *err)
{
  struct sql_args a = sql_argsf("i", id);
  struct summary s = {title, cap, mean};
  return sql_run(db,
                "SELECT (SELECT title FROM movies WHERE id = $1),"
                " (SELECT AVG(rating) FROM ratings WHERE movie_id = $1)",
                0, &a, summary_row, &s, NULL, "top movies", err);
}

static int dataset_row(const struct sql_row *r, void *arg)
{
  struct stats_dataset *out = arg;
  out->id = sql_i64(r, 0, 0);
  sql_copy(r, 1, out->name, sizeof(out->name));
  sql_copy(r, 2, out->source, sizeof(out->source));
  out->imported_at = sql_f64(r, 3, 0);
  out->n_users = sql_i64(r, 4, 0);
  out->n_movies = sql_i64(r, 5, 0);
  out->n_ratings = sql_i64(r, 6, 0);
  return 0;
}

static int dataset_latest(struct hv_db *db, struct stats_dataset *out,
                          struct hv_err *err)
{
  size_t n = 0;
  int rc = sql_run(db,
                  "SELECT id, name, source, imported_at, n_users, n_movies, "
                  "n_ratings FROM datasets ORDER BY id DESC LIMIT 1",
                  0, NULL, dataset_row, out, &n, "datasets", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "no dataset loaded; run 'harvest data import', 'fetch' "
                    "or 'synth'");
  return rc;
}

/* ---- the public functions -------------------------------------------- */

int stats_counts(struct hv_db *db, struct stats_counts *out,
                 struct hv_err *err)
{
  return db ? row_counts(db, out, err) : store_no_db(err, "stats");
}

static int histogram(struct hv_db *db, struct stats_summary *out,
                     struct hv_err *err)
{
  int64_t n[STATS_HIST] = {0};
  int rc = rating_counts(db, n, err);
  for (int i = 0; !rc && i < STATS_HIST; i++) {
    if (n[i] <= 0)
      continue;
    out->hist[out->n_hist].rating = 0.5 * (i + 1);
    out->hist[out->n_hist].count = n[i];
    out->n_hist++;
  }
  return rc;
}

/* Spread of counts[0..n) plus `zeros` members with a count of 0. */
static struct stats_spread spread_of(int64_t *counts, size_t n, int64_t zeros)
{
  struct stats_spread s = {0, 0, 0};
  size_t total = n + (size_t)(zeros > 0 ? zeros : 0);
  if (total == 0)
    return s;
  if (n > 0)
    qsort(counts, n, sizeof(*counts), sort_cmp_i64);
  size_t z = total - n;
  s.min = z > 0 ? 0 : counts[0];
  s.max = n > 0 ? counts[n - 1] : 0;
  size_t lo = (total - 1) / 2, hi = total / 2;
  double a = lo < z ? 0 : (double)counts[lo - z];
  double b = hi < z ? 0 : (double)counts[hi - z];
  s.median = (a + b) / 2;
  return s;
}

/* Keep top sorted by count desc, id asc; insert (id, c) when it belongs. */
static void top_offer(struct stats_summary *out, int64_t id, int64_t c)
{
  int n = out->n_top;
  if (n == STATS_TOP && c <= out->top[n - 1].count)
    return;
  int i = n < STATS_TOP ? n : n - 1;
  while (i > 0 && out->top[i - 1].count < c) {
    out->top[i] = out->top[i - 1];
    i--;
  }
  memset(&out->top[i], 0, sizeof(out->top[i]));
  out->top[i].movie_id = id;
  out->top[i].count = c;
  if (n < STATS_TOP)
    out->n_top++;
}

struct group_acc {
  int64_t *counts;
  size_t n, cap;
  struct stats_summary *top; /* NULL: users, no top list */
};

static int group_add(void *ctx, int64_t id, int64_t count)
{
  struct group_acc *g = ctx;
  static const size_t size[] = {sizeof(int64_t)};
  void **const cols[] = {(void **)&g->counts};
  if (mem_cols_room(cols, size, 1, g->n, &g->cap, 1024))
    return HV_ENOMEM;
  g->counts[g->n++] = count;
  if (g->top)
    top_offer(g->top, id, count);
  return 0;
}

/* Per-user (top NULL) or per-movie rating counts over a population. */
static int group_counts(struct hv_db *db, int64_t population,
                        struct stats_spread *spread, struct stats_summary *top,
                        struct hv_err *err)
{
  struct group_acc g = {.top = top};
  int rc = per_group(db, top != NULL, group_add, &g, err);
  if (rc == HV_ENOMEM)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory");
  if (!rc)
    *spread = spread_of(g.counts, g.n, population - (int64_t)g.n);
  free(g.counts);
  return rc;
}

int stats_summary(struct hv_db *db, struct stats_summary *out,
                  struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  int rc = stats_counts(db, &out->n, err);
  if (rc)
    return rc;
  const struct stats_counts *n = &out->n;
  if (n->ratings > 0)
    out->days = (double)(n->last_ts - n->first_ts) / 86400.0;
  double cells = (double)n->users * (double)n->movies;
  out->sparsity = cells > 0 ? 1.0 - (double)n->ratings / cells : 1.0;
  if ((rc = histogram(db, out, err)) ||
      (rc = group_counts(db, n->users, &out->per_user, NULL, err)) ||
      (rc = group_counts(db, n->movies, &out->per_movie, out, err)))
    return rc;
  for (int i = 0; i < out->n_top && !rc; i++)
    rc = movie_summary(db, out->top[i].movie_id, out->top[i].title,
                               sizeof(out->top[i].title),
                               &out->top[i].mean_rating, err);
  return rc;
}

int stats_dataset_latest(struct hv_db *db, struct stats_dataset *out,
                         struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  return db ? dataset_latest(db, out, err)
            : store_no_db(err, "datasets");
}

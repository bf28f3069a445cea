/*
 * stats.c - dataset summaries: see stats.h.
 */
#include "store/stats.h"

#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/sort.h"

int store_counts(struct hv_db *db, struct store_counts *out,
                 struct hv_err *err)
{
  static const char sql[] =
      "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM movies),"
      " (SELECT COUNT(*) FROM ratings), (SELECT COUNT(*) FROM genres),"
      " (SELECT IFNULL(MIN(timestamp), 0) FROM ratings),"
      " (SELECT IFNULL(MAX(timestamp), 0) FROM ratings),"
      " (SELECT IFNULL(MIN(rating_id), 0) FROM ratings),"
      " (SELECT IFNULL(MAX(rating_id), 0) FROM ratings)";
  sqlite3_stmt *st = NULL;
  if (db_prepare(db, sql, &st, err))
    return HV_EDB;
  int rc = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    memset(out, 0, sizeof(*out));
    out->users = sqlite3_column_int64(st, 0);
    out->movies = sqlite3_column_int64(st, 1);
    out->ratings = sqlite3_column_int64(st, 2);
    out->genres = sqlite3_column_int64(st, 3);
    out->first_ts = sqlite3_column_int64(st, 4);
    out->last_ts = sqlite3_column_int64(st, 5);
    out->first_rating_id = sqlite3_column_int64(st, 6);
    out->last_rating_id = sqlite3_column_int64(st, 7);
  } else {
    rc = db_fail(db, err, "counting rows");
  }
  sqlite3_finalize(st);
  return rc;
}

/* One pass over the ratings, no sort (a GROUP BY rating would sort all of
 * them): a count for each allowed value 0.5, 1, ..., 5. */
static int histogram(struct hv_db *db, struct store_stats *out,
                     struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT SUM(rating = 0.5), SUM(rating = 1), SUM(rating = 1.5),"
                 " SUM(rating = 2), SUM(rating = 2.5), SUM(rating = 3),"
                 " SUM(rating = 3.5), SUM(rating = 4), SUM(rating = 4.5),"
                 " SUM(rating = 5) FROM ratings",
                 &st, err))
    return HV_EDB;
  int rc = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    for (int i = 0; i < STORE_STATS_HIST; i++) {
      int64_t n = sqlite3_column_int64(st, i);
      if (n <= 0)
        continue;
      out->hist[out->n_hist].rating = 0.5 * (i + 1);
      out->hist[out->n_hist].count = n;
      out->n_hist++;
    }
  } else {
    rc = db_fail(db, err, "rating histogram");
  }
  sqlite3_finalize(st);
  return rc;
}

/* Spread of counts[0..n) plus `zeros` members with a count of 0. */
static struct store_spread spread_of(int64_t *counts, size_t n, int64_t zeros)
{
  struct store_spread s = {0, 0, 0};
  size_t total = n + (size_t)(zeros > 0 ? zeros : 0);
  if (total == 0)
    return s;
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
static void top_offer(struct store_stats *out, int64_t id, int64_t c)
{
  int n = out->n_top;
  if (n == STORE_STATS_TOP && c <= out->top[n - 1].count)
    return;
  int i = n < STORE_STATS_TOP ? n : n - 1;
  while (i > 0 && out->top[i - 1].count < c) {
    out->top[i] = out->top[i - 1];
    i--;
  }
  memset(&out->top[i], 0, sizeof(out->top[i]));
  out->top[i].movie_id = id;
  out->top[i].count = c;
  if (n < STORE_STATS_TOP)
    out->n_top++;
}

/* Per-group rating counts: sql returns (id, count) rows. With top set, the
 * ids are movies and the ten largest are kept. */
static int group_counts(struct hv_db *db, const char *sql, int64_t population,
                        struct store_spread *spread, struct store_stats *top,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(db, sql, &st, err))
    return HV_EDB;
  size_t n = 0, cap = 1024;
  int64_t *counts = malloc(cap * sizeof(*counts));
  int rc = counts ? 0 : hv_err_set(err, HV_ENOMEM, "out of memory");
  int s = SQLITE_DONE;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      int64_t *grown = realloc(counts, 2 * cap * sizeof(*counts));
      if (!grown) {
        rc = hv_err_set(err, HV_ENOMEM, "out of memory");
        break;
      }
      counts = grown;
      cap *= 2;
    }
    counts[n] = sqlite3_column_int64(st, 1);
    if (top)
      top_offer(top, sqlite3_column_int64(st, 0), counts[n]);
    n++;
  }
  if (!rc && s != SQLITE_DONE)
    rc = db_fail(db, err, "counting ratings per group");
  sqlite3_finalize(st);
  if (!rc)
    *spread = spread_of(counts, n, population - (int64_t)n);
  free(counts);
  return rc;
}

/* Copy src into dst (cap bytes), cutting on a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t cap, const char *src)
{
  size_t n = src ? strlen(src) : 0;
  if (n >= cap) {
    n = cap - 1;
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
      n--;
  }
  if (n)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

static int top_details(struct hv_db *db, struct store_stats *out,
                       struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT (SELECT title FROM movies WHERE id = ?1),"
                 " (SELECT AVG(rating) FROM ratings WHERE movie_id = ?1)",
                 &st, err))
    return HV_EDB;
  int rc = 0;
  for (int i = 0; i < out->n_top && !rc; i++) {
    sqlite3_bind_int64(st, 1, out->top[i].movie_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
      copy_utf8(out->top[i].title, sizeof(out->top[i].title),
                (const char *)sqlite3_column_text(st, 0));
      out->top[i].mean_rating = sqlite3_column_double(st, 1);
    } else {
      rc = db_fail(db, err, "top movies");
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return rc;
}

int store_stats(struct hv_db *db, struct store_stats *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  int rc = store_counts(db, &out->n, err);
  if (rc)
    return rc;
  const struct store_counts *n = &out->n;
  if (n->ratings > 0)
    out->days = (double)(n->last_ts - n->first_ts) / 86400.0;
  double cells = (double)n->users * (double)n->movies;
  out->sparsity = cells > 0 ? 1.0 - (double)n->ratings / cells : 1.0;
  if ((rc = histogram(db, out, err)) ||
      (rc = group_counts(db,
                         "SELECT user_id, COUNT(*) FROM ratings "
                         "GROUP BY user_id",
                         n->users, &out->per_user, NULL, err)) ||
      (rc = group_counts(db,
                         "SELECT movie_id, COUNT(*) FROM ratings "
                         "GROUP BY movie_id",
                         n->movies, &out->per_movie, out, err)))
    return rc;
  return top_details(db, out, err);
}

int store_dataset_latest(struct hv_db *db, struct store_dataset *out,
                         struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT id, name, source, imported_at, n_users, n_movies, "
                 "n_ratings FROM datasets ORDER BY id DESC LIMIT 1",
                 &st, err))
    return HV_EDB;
  memset(out, 0, sizeof(*out));
  int s = sqlite3_step(st), rc = 0;
  if (s == SQLITE_ROW) {
    out->id = sqlite3_column_int64(st, 0);
    copy_utf8(out->name, sizeof(out->name),
              (const char *)sqlite3_column_text(st, 1));
    copy_utf8(out->source, sizeof(out->source),
              (const char *)sqlite3_column_text(st, 2));
    out->imported_at = sqlite3_column_double(st, 3);
    out->n_users = sqlite3_column_int64(st, 4);
    out->n_movies = sqlite3_column_int64(st, 5);
    out->n_ratings = sqlite3_column_int64(st, 6);
  } else if (s == SQLITE_DONE) {
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "no dataset loaded; run 'harvest data import', 'fetch' "
                    "or 'synth'");
  } else {
    rc = db_fail(db, err, "datasets");
  }
  sqlite3_finalize(st);
  return rc;
}

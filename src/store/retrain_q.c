/*
 * retrain_q.c - the retraining loop's queries: see retrain_q.h.
 */
#include "store/retrain_q.h"

#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

/* Grow *p (elements of size sz) to hold at least need elements. */
static int grow(void **p, size_t sz, size_t *cap, size_t need)
{
  if (need <= *cap)
    return 0;
  size_t nc = *cap ? *cap : 1024;
  while (nc < need)
    nc *= 2;
  void *q = realloc(*p, nc * sz);
  if (!q)
    return HV_ENOMEM;
  *p = q;
  *cap = nc;
  return 0;
}

int retrain_q_ids(struct hv_db *db, int64_t first, int64_t last,
                  int64_t **ids, size_t *n, struct hv_err *err)
{
  *ids = NULL;
  *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "rating ids: no database");
  if (first > last)
    return hv_err_set(err, HV_EINVAL, "rating ids: range %lld:%lld is empty",
                      (long long)first, (long long)last);
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT rating_id FROM ratings WHERE rating_id BETWEEN ? "
                 "AND ? ORDER BY rating_id",
                 &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, first);
  sqlite3_bind_int64(st, 2, last);
  size_t cap = 0;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (grow((void **)ids, sizeof(int64_t), &cap, *n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "rating ids: out of memory");
      break;
    }
    (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_fail(db, err, "reading rating ids");
  sqlite3_finalize(st);
  if (ret) {
    free(*ids);
    *ids = NULL;
    *n = 0;
  }
  return ret;
}

/* One int64 from a one-row statement with up to two int64 parameters. */
static int one_i64(struct hv_db *db, const char *sql, int nparam, int64_t a,
                   int64_t b, int64_t *out, const char *what,
                   struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(db, sql, &st, err))
    return err->code;
  if (nparam > 0)
    sqlite3_bind_int64(st, 1, a);
  if (nparam > 1)
    sqlite3_bind_int64(st, 2, b);
  int ret = 0;
  if (sqlite3_step(st) == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  else
    ret = db_fail(db, err, what);
  sqlite3_finalize(st);
  return ret;
}

int retrain_q_count(struct hv_db *db, int64_t first, int64_t last, int64_t *n,
                    struct hv_err *err)
{
  *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "rating count: no database");
  if (first > last)
    return 0;
  return one_i64(db,
                 "SELECT COUNT(*) FROM ratings WHERE rating_id BETWEEN ? "
                 "AND ?",
                 2, first, last, n, "counting ratings", err);
}

int retrain_q_last_id(struct hv_db *db, int64_t *id, struct hv_err *err)
{
  *id = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "last rating id: no database");
  return one_i64(db, "SELECT COALESCE(MAX(rating_id), 0) FROM ratings", 0, 0,
                 0, id, "reading the last rating id", err);
}

static int cols_reserve(struct ratings_cols *c, size_t *cap, size_t need)
{
  if (need <= *cap)
    return 0;
  size_t k[5] = {*cap, *cap, *cap, *cap, *cap};
  if (grow((void **)&c->rating_id, sizeof(int64_t), &k[0], need) ||
      grow((void **)&c->user_id, sizeof(int64_t), &k[1], need) ||
      grow((void **)&c->movie_id, sizeof(int64_t), &k[2], need) ||
      grow((void **)&c->rating, sizeof(float), &k[3], need) ||
      grow((void **)&c->timestamp, sizeof(int64_t), &k[4], need))
    return HV_ENOMEM;
  *cap = k[0];
  return 0;
}

static int take_load(struct hv_db *db, int64_t from_ts,
                     struct ratings_cols *out, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT rating_id, user_id, movie_id, rating, timestamp "
                 "FROM ratings WHERE timestamp >= ? "
                 "ORDER BY timestamp, rating_id",
                 &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, from_ts);
  size_t cap = 0;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (cols_reserve(out, &cap, out->n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "take ratings: out of memory");
      break;
    }
    size_t i = out->n++;
    out->rating_id[i] = sqlite3_column_int64(st, 0);
    out->user_id[i] = sqlite3_column_int64(st, 1);
    out->movie_id[i] = sqlite3_column_int64(st, 2);
    out->rating[i] = (float)sqlite3_column_double(st, 3);
    out->timestamp[i] = sqlite3_column_int64(st, 4);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_fail(db, err, "reading the ratings to take");
  sqlite3_finalize(st);
  return ret;
}

int retrain_q_take(struct hv_db *db, int64_t from_ts, struct ratings_cols *out,
                   struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db)
    return hv_err_set(err, HV_EINVAL, "take ratings: no database");
  if (db_begin(db, err))
    return err->code;
  int ret = take_load(db, from_ts, out, err);
  sqlite3_stmt *st = NULL;
  if (!ret &&
      !db_prepare(db, "DELETE FROM ratings WHERE timestamp >= ?", &st, err)) {
    sqlite3_bind_int64(st, 1, from_ts);
    if (sqlite3_step(st) != SQLITE_DONE)
      ret = db_fail(db, err, "deleting the ratings taken");
    sqlite3_finalize(st);
  } else if (!ret) {
    ret = err->code;
  }
  if (!ret)
    ret = db_commit(db, err);
  if (ret) {
    db_rollback(db);
    ratings_cols_free(out);
  }
  return ret;
}

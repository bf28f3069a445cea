/*
 * retrain_q.c - the retraining loop's queries: see retrain_q.h.
 */
#include "store/retrain_q.h"

#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

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
  int ret = db_step_i64s(db, st, ids, n, "rating ids: out of memory",
                         "reading rating ids", err);
  sqlite3_finalize(st);
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
  int ret = db_step_ratings_cols(db, st, out, "take ratings",
                                 "reading the ratings to take", err);
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

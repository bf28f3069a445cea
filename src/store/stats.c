/*
 * stats.c - dataset summaries: see stats.h.
 */
#include "store/stats.h"

#include <string.h>

#include "store/db_internal.h"

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

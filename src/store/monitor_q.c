/*
 * monitor_q.c - monitoring's read queries: see monitor_q.h.
 */
#include "store/monitor_q.h"

#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

void monitor_q_users_free(struct monitor_q_users *u)
{
  if (!u)
    return;
  free(u->id);
  free(u->raw_age);
  free(u->age_bucket);
  free(u->gender);
  free(u->occupation);
  memset(u, 0, sizeof(*u));
}

static int users_reserve(struct monitor_q_users *u, size_t *cap, size_t need)
{
  if (need <= *cap)
    return 0;
  size_t c[5] = {*cap, *cap, *cap, *cap, *cap};
  if (db_grow((void **)&u->id, sizeof(int64_t), &c[0], need) ||
      db_grow((void **)&u->raw_age, sizeof(int), &c[1], need) ||
      db_grow((void **)&u->age_bucket, sizeof(int), &c[2], need) ||
      db_grow((void **)&u->gender, sizeof(int), &c[3], need) ||
      db_grow((void **)&u->occupation, sizeof(int), &c[4], need))
    return HV_ENOMEM;
  *cap = c[0];
  return 0;
}

int monitor_q_users(struct hv_db *db, struct monitor_q_users *out,
                    struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db)
    return hv_err_set(err, HV_EINVAL, "users: no database");
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT id, raw_age, bucketized_age, gender, "
                 "occupation_label FROM users ORDER BY id",
                 &st, err))
    return err->code;
  size_t cap = 0;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (users_reserve(out, &cap, out->n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "users: out of memory");
      break;
    }
    size_t i = out->n++;
    out->id[i] = sqlite3_column_int64(st, 0);
    out->raw_age[i] = db_col_int_or(st, 1, -1);
    out->age_bucket[i] = db_col_int_or(st, 2, -1);
    out->gender[i] = db_gender_code(sqlite3_column_text(st, 3));
    out->occupation[i] = db_col_int_or(st, 4, -1);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_fail(db, err, "reading users");
  sqlite3_finalize(st);
  return ret;
}

void monitor_q_names_free(struct monitor_q_names *nm)
{
  if (!nm)
    return;
  for (size_t i = 0; i < nm->n; i++)
    free(nm->name[i]);
  free(nm->code);
  free(nm->name);
  memset(nm, 0, sizeof(*nm));
}

int monitor_q_names(struct hv_db *db, enum monitor_q_names_kind kind,
                    struct monitor_q_names *out, struct hv_err *err)
{
  static const char *const sql[2] = {
      "SELECT id, name FROM genres ORDER BY id",
      "SELECT occupation_label, MIN(occupation_text) FROM users "
      "WHERE occupation_label IS NOT NULL GROUP BY occupation_label "
      "ORDER BY occupation_label"};
  memset(out, 0, sizeof(*out));
  if (!db || (kind != MONITOR_Q_GENRES && kind != MONITOR_Q_OCCUPATIONS))
    return hv_err_set(err, HV_EINVAL, "names: no database or unknown kind");
  sqlite3_stmt *st = NULL;
  if (db_prepare(db, sql[kind], &st, err))
    return err->code;
  size_t cap = 0;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    size_t c0 = cap, c1 = cap;
    if (db_grow((void **)&out->code, sizeof(int), &c0, out->n + 1) ||
        db_grow((void **)&out->name, sizeof(char *), &c1, out->n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "names: out of memory");
      break;
    }
    cap = c0;
    const unsigned char *t = sqlite3_column_text(st, 1);
    char *s = strdup(t ? (const char *)t : "");
    if (!s) {
      ret = hv_err_set(err, HV_ENOMEM, "names: out of memory");
      break;
    }
    out->code[out->n] = sqlite3_column_int(st, 0);
    out->name[out->n++] = s;
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_fail(db, err, "reading names");
  sqlite3_finalize(st);
  return ret;
}

const char *monitor_q_name_of(const struct monitor_q_names *nm, int code)
{
  if (!nm)
    return NULL;
  size_t lo = 0, hi = nm->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (nm->code[mid] < code)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < nm->n && nm->code[lo] == code ? nm->name[lo] : NULL;
}

int monitor_q_ratings_time(struct hv_db *db, int64_t t0, int64_t t1,
                           int64_t excl_first, int64_t excl_last,
                           struct ratings_cols *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  if (t0 > t1)
    return hv_err_set(err, HV_EINVAL,
                      "time window %lld..%lld is empty (start after end)",
                      (long long)t0, (long long)t1);
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT rating_id, user_id, movie_id, rating, timestamp "
                 "FROM ratings WHERE timestamp >= ? AND timestamp < ? "
                 "AND NOT (rating_id BETWEEN ? AND ?) "
                 "ORDER BY timestamp, rating_id",
                 &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, t0);
  sqlite3_bind_int64(st, 2, t1);
  sqlite3_bind_int64(st, 3, excl_first);
  sqlite3_bind_int64(st, 4, excl_last);
  int ret = db_step_ratings_cols(db, st, out, "ratings",
                                 "reading ratings by time", err);
  sqlite3_finalize(st);
  return ret;
}

int monitor_q_time_span(struct hv_db *db, int64_t first, int64_t last,
                        int64_t *tmin, int64_t *tmax, int64_t *n,
                        struct hv_err *err)
{
  *tmin = *tmax = *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT MIN(timestamp), MAX(timestamp), COUNT(*) FROM "
                 "ratings WHERE rating_id BETWEEN ? AND ?",
                 &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, first);
  sqlite3_bind_int64(st, 2, last);
  int ret = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    *n = sqlite3_column_int64(st, 2);
    if (*n) {
      *tmin = sqlite3_column_int64(st, 0);
      *tmax = sqlite3_column_int64(st, 1);
    }
  } else {
    ret = db_fail(db, err, "reading the time span of ratings");
  }
  sqlite3_finalize(st);
  return ret;
}

int monitor_q_last_time_outside(struct hv_db *db, int64_t excl_first,
                                int64_t excl_last, int64_t *tmax, int64_t *n,
                                struct hv_err *err)
{
  *tmax = *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  sqlite3_stmt *st = NULL;
  if (db_prepare(db,
                 "SELECT MAX(timestamp), COUNT(*) FROM ratings "
                 "WHERE NOT (rating_id BETWEEN ? AND ?)",
                 &st, err))
    return err->code;
  sqlite3_bind_int64(st, 1, excl_first);
  sqlite3_bind_int64(st, 2, excl_last);
  int ret = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    *n = sqlite3_column_int64(st, 1);
    if (*n)
      *tmax = sqlite3_column_int64(st, 0);
  } else {
    ret = db_fail(db, err, "reading the last rating time");
  }
  sqlite3_finalize(st);
  return ret;
}

/*
 * db_util.c - small SQLite helpers the store/ files share: column reads,
 * NULL-aware binds, growable arrays and the common "step every row into
 * arrays" loops. See db_internal.h.
 *
 * Design: every helper works on a statement the caller prepared and bound;
 * the loops never finalize it (the caller does, or resets a cached one), so
 * the same helper serves one-shot and long-lived statements.
 *
 * Threads: no state of their own; a statement belongs to one thread.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/ratings.h"

const char *db_col_text(sqlite3_stmt *st, int i)
{
  return (const char *)sqlite3_column_text(st, i);
}

char *db_col_dup(sqlite3_stmt *st, int i, int *oom)
{
  const char *s = db_col_text(st, i);
  if (!s)
    return NULL;
  char *d = strdup(s);
  if (!d)
    *oom = 1;
  return d;
}

void db_col_copy(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
  const char *s = db_col_text(st, i);
  snprintf(buf, cap, "%s", s ? s : "");
}

int db_col_int_or(sqlite3_stmt *st, int i, int dflt)
{
  if (sqlite3_column_type(st, i) == SQLITE_NULL)
    return dflt;
  return sqlite3_column_int(st, i);
}

int64_t db_col_i64_or(sqlite3_stmt *st, int i, int64_t dflt)
{
  if (sqlite3_column_type(st, i) == SQLITE_NULL)
    return dflt;
  return sqlite3_column_int64(st, i);
}

void db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, i);
}

int db_step_done(struct hv_db *db, sqlite3_stmt *st, const char *what,
                 struct hv_err *err)
{
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = db_fail(db, err, what);
  sqlite3_finalize(st);
  return rc;
}

int db_end(struct hv_db *db, int rc, struct hv_err *err)
{
  if (rc) {
    db_rollback(db);
    return rc;
  }
  return db_commit(db, err);
}

int db_grow(void **p, size_t sz, size_t *cap, size_t need)
{
  assert(sz > 0);
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

void *db_append(void **arr, size_t *n, size_t sz)
{
  assert(sz > 0 && (*arr != NULL || *n == 0));
  size_t cnt = *n;
  if ((cnt & (cnt - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
    void *p = realloc(*arr, (cnt ? cnt * 2 : 4) * sz);
    if (!p)
      return NULL;
    *arr = p;
  }
  *n = cnt + 1;
  void *slot = (char *)*arr + cnt * sz;
  memset(slot, 0, sz);
  return slot;
}

int db_gender_code(const unsigned char *g)
{
  if (!g)
    return RATINGS_GENDER_UNKNOWN;
  if (g[0] == 'M' || g[0] == 'm')
    return RATINGS_GENDER_M;
  if (g[0] == 'F' || g[0] == 'f')
    return RATINGS_GENDER_F;
  return RATINGS_GENDER_UNKNOWN;
}

int db_step_i64s(struct hv_db *db, sqlite3_stmt *st, int64_t **out,
                 size_t *n, const char *oom_msg, const char *what,
                 struct hv_err *err)
{
  size_t cap = 0;
  int rc, ret = 0;
  assert(*out == NULL && *n == 0); /* cap starts at 0 */
  assert(sqlite3_column_count(st) >= 1);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (db_grow((void **)out, sizeof(int64_t), &cap, *n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "%s", oom_msg);
      break;
    }
    (*out)[(*n)++] = sqlite3_column_int64(st, 0);
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_fail(db, err, what);
  if (ret) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return ret;
}

static int cols_reserve(struct ratings_cols *c, size_t *cap, size_t need)
{
  if (need <= *cap)
    return 0;
  size_t k[5] = {*cap, *cap, *cap, *cap, *cap};
  if (db_grow((void **)&c->rating_id, sizeof(int64_t), &k[0], need) ||
      db_grow((void **)&c->user_id, sizeof(int64_t), &k[1], need) ||
      db_grow((void **)&c->movie_id, sizeof(int64_t), &k[2], need) ||
      db_grow((void **)&c->rating, sizeof(float), &k[3], need) ||
      db_grow((void **)&c->timestamp, sizeof(int64_t), &k[4], need))
    return HV_ENOMEM;
  *cap = k[0];
  return 0;
}

int db_step_ratings_cols(struct hv_db *db, sqlite3_stmt *st,
                         struct ratings_cols *out, const char *label,
                         const char *what, struct hv_err *err)
{
  size_t cap = 0;
  int rc, ret = 0;
  assert(out->n == 0 && !out->rating_id); /* zeroed: cap starts at 0 */
  assert(sqlite3_column_count(st) == 5); /* the five read below */
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (cols_reserve(out, &cap, out->n + 1)) {
      ret = hv_err_set(err, HV_ENOMEM, "%s: out of memory at row %zu", label,
                       out->n);
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
    ret = db_fail(db, err, what);
  return ret;
}

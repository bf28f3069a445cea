/*
 * sq_users.c - the accounts' SQL for SQLite (the password hash column of
 * users): see store/users.h for the contract, backend.h for the table.
 */
#include "store/sqlite/sq.h"

static const char sql_get[] = "SELECT password_hash FROM users WHERE id = ?";
static const char sql_set[] =
    "UPDATE users SET password_hash = ? WHERE id = ?";

static int password_get(struct hv_db *db, int64_t uid,
                        int (*fn)(void *ctx, const char *hash), void *ctx,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_cached(db, sql_get, &st, err))
    return sq_code(err);
  sqlite3_bind_int64(st, 1, uid);
  int rc = sqlite3_step(st), out;
  if (rc == SQLITE_ROW)
    out = fn(ctx, sq_col_text(st, 0));
  else if (rc == SQLITE_DONE)
    out = hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  else
    out = sq_fail(db, err, "password lookup");
  sq_release(db, st);
  return out;
}

static int password_set(struct hv_db *db, int64_t uid, const char *hash,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_cached(db, sql_set, &st, err))
    return sq_code(err);
  sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, uid);
  int rc = sqlite3_step(st);
  int changed = sqlite3_changes(sq_of(db)->h);
  sq_release(db, st);
  if (rc != SQLITE_DONE)
    return sq_fail(db, err, "password update");
  if (changed == 0)
    return hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  return 0;
}

const struct users_ops sq_users_ops = {
    .password_get = password_get, .password_set = password_set};

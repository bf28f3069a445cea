/*
 * pg_users.c - passwords for PostgreSQL: see store/users.h for the
 * contract. Both statements run per request and are prepared once per
 * connection.
 */
#include "store/pg/pg.h"

static const char sql_get[] = "SELECT password_hash FROM users WHERE id = $1";
static const char sql_set[] =
    "UPDATE users SET password_hash = $1 WHERE id = $2";

struct hash_cb {
  int (*fn)(void *ctx, const char *hash);
  void *ctx;
};

static int hash_row(const PGresult *r, int i, void *arg)
{
  const struct hash_cb *h = arg;
  return h->fn(h->ctx, pg_text(r, i, 0));
}

static int password_get(struct hv_db *db, int64_t uid,
                        int (*fn)(void *ctx, const char *hash), void *ctx,
                        struct hv_err *err)
{
  struct pg_args a = pg_argsf("i", uid);
  struct hash_cb h = {fn, ctx};
  size_t n = 0;
  int rc = pg_run(db, sql_get, 1, &a, hash_row, &h, &n, "password lookup",
                  err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  return rc;
}

static int password_set(struct hv_db *db, int64_t uid, const char *hash,
                        struct hv_err *err)
{
  struct pg_args a = pg_argsf("ti", hash, uid);
  int64_t changed = 0;
  int rc = pg_cmd(db, sql_set, 1, &a, &changed, "password update", err);
  if (!rc && changed == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  return rc;
}

const struct users_ops pg_users_ops = {
    .password_get = password_get, .password_set = password_set};

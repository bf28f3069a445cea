/*
 * users.c - user accounts' passwords, written once for both backends over
 * store/sql.h. Both statements run per request and are cached per
 * connection. See users.h.
 */
#include "store/users.h"

#include <string.h>

#include "store/sql.h"

struct hash_out {
  char *buf;
  size_t cap;
  int64_t uid;
  struct hv_err *err;
};

static const char sql_get[] = "SELECT password_hash FROM users WHERE id = $1";
static const char sql_set[] =
    "UPDATE users SET password_hash = $1 WHERE id = $2";

static int copy_hash(const struct sql_row *r, void *arg)
{
  struct hash_out *o = arg;
  const char *hash = sql_text(r, 0);
  size_t len = hash ? strlen(hash) : 0;
  if (len >= o->cap)
    return hv_err_set(o->err, HV_ECORRUPT,
                      "password hash of user %lld is too long",
                      (long long)o->uid);
  memcpy(o->buf, hash ? hash : "", len + 1);
  return 0;
}

int users_password_get(struct hv_db *db, int64_t uid, char *hash, size_t cap,
                       struct hv_err *err)
{
  if (!db || !hash || cap == 0)
    return hv_err_set(err, HV_EINVAL, "password lookup: bad arguments");
  hash[0] = '\0';
  struct hash_out o = {hash, cap, uid, err};
  struct sql_args a = sql_argsf("i", uid);
  size_t n = 0;
  int rc = sql_run(db, sql_get, SQL_CACHE, &a, copy_hash, &o, &n,
                   "password lookup", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  return rc;
}

int users_password_set(struct hv_db *db, int64_t uid, const char *hash,
                       struct hv_err *err)
{
  if (!db)
    return hv_err_set(err, HV_EINVAL, "password update: no database");
  if (!hash || !*hash)
    return hv_err_set(err, HV_EINVAL, "password hash is empty");
  struct sql_args a = sql_argsf("ti", hash, uid);
  int64_t changed = 0;
  int rc = sql_cmd(db, sql_set, SQL_CACHE, &a, &changed, "password update",
                   err);
  if (!rc && changed == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  return rc;
}

/*
 * users.c - user accounts, backend-neutral: argument checks and the copy
 * of the stored hash. See users.h; the SQL is in sqlite/sq_users.c.
 */
#include "store/users.h"

#include <string.h>

#include "store/backend.h"

struct hash_out {
  char *buf;
  size_t cap;
  int64_t uid;
  struct hv_err *err;
};

static int copy_hash(void *ctx, const char *hash)
{
  struct hash_out *o = ctx;
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
  return db->be->users->password_get(db, uid, copy_hash, &o, err);
}

int users_password_set(struct hv_db *db, int64_t uid, const char *hash,
                       struct hv_err *err)
{
  if (!db)
    return hv_err_set(err, HV_EINVAL, "password update: no database");
  if (!hash || !*hash)
    return hv_err_set(err, HV_EINVAL, "password hash is empty");
  return db->be->users->password_set(db, uid, hash, err);
}

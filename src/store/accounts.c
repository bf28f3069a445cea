/*
 * accounts.c - operator accounts and their tokens, backend-neutral:
 * argument checks, then the backend's table. See accounts.h; the SQL is in
 * sqlite/sq_accounts.c.
 */
#include "store/accounts.h"

#include <string.h>

#include "store/backend.h"

static int empty(const char *s)
{
  return !s || !*s;
}

int accounts_add(struct hv_db *db, const char *name, const char *role,
                 const char *pw_hash, double now, int64_t *id,
                 struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account add");
  if (empty(name) || empty(role) || !pw_hash)
    return hv_err_set(err, HV_EINVAL, "account add: name, role and password "
                      "hash are required");
  int64_t ignored;
  return db->be->accounts->add(db, name, role, pw_hash, now,
                               id ? id : &ignored, err);
}

int accounts_get(struct hv_db *db, const char *name, struct account *out,
                 char *pw_hash, size_t cap, struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account lookup");
  if (empty(name) || !out || (pw_hash && cap == 0))
    return hv_err_set(err, HV_EINVAL, "account lookup: bad arguments");
  memset(out, 0, sizeof(*out));
  if (pw_hash)
    pw_hash[0] = '\0';
  return db->be->accounts->get(db, name, out, pw_hash, pw_hash ? cap : 0,
                               err);
}

int accounts_list(struct hv_db *db, struct account **out, size_t *n,
                  struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account list");
  if (!out || !n)
    return hv_err_set(err, HV_EINVAL, "account list: bad arguments");
  *out = NULL;
  *n = 0;
  return db->be->accounts->list(db, out, n, err);
}

int accounts_set_password(struct hv_db *db, const char *name,
                          const char *pw_hash, struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account password");
  if (empty(name) || empty(pw_hash))
    return hv_err_set(err, HV_EINVAL, "account password: bad arguments");
  return db->be->accounts->set(db, name, "password_hash", pw_hash, err);
}

int accounts_set_role(struct hv_db *db, const char *name, const char *role,
                      struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account role");
  if (empty(name) || empty(role))
    return hv_err_set(err, HV_EINVAL, "account role: bad arguments");
  return db->be->accounts->set(db, name, "role", role, err);
}

int accounts_token_add(struct hv_db *db, int64_t account_id,
                       const char *digest, const char *kind,
                       const char *role, const char *note, double now,
                       double expires_at, int64_t *id, struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "token add");
  if (!digest || strlen(digest) != ACCOUNTS_DIGEST_LEN || empty(kind) ||
      empty(role))
    return hv_err_set(err, HV_EINVAL, "token add: bad arguments");
  int64_t ignored;
  return db->be->accounts->token_add(db, account_id, digest, kind, role,
                                     note ? note : "", now, expires_at,
                                     id ? id : &ignored, err);
}

int accounts_token_find(struct hv_db *db, const char *digest,
                        struct account_token *out, struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "token lookup");
  if (!digest || strlen(digest) != ACCOUNTS_DIGEST_LEN || !out)
    return hv_err_set(err, HV_EINVAL, "token lookup: bad arguments");
  memset(out, 0, sizeof(*out));
  return db->be->accounts->token_find(db, digest, out, err);
}

int accounts_token_list(struct hv_db *db, const char *kind,
                        struct account_token **out, size_t *n,
                        struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "token list");
  if (!out || !n)
    return hv_err_set(err, HV_EINVAL, "token list: bad arguments");
  *out = NULL;
  *n = 0;
  return db->be->accounts->token_list(db, kind, out, n, err);
}

int accounts_token_revoke(struct hv_db *db, int64_t id, double now,
                          struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "token revoke");
  return db->be->accounts->token_revoke(db, id, now, err);
}

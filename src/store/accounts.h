/*
 * accounts.h - operator accounts (admin, operator, viewer) and their
 * tokens: the API tokens of scripts and the web UI's login sessions.
 *
 * Design: accounts are people and scripts that run Harvest, kept apart
 * from the catalogue's end users (store/users.h): a name, a role and an
 * argon2id password hash (made and checked in serve/http/auth.c). A token
 * row keeps only the hex digest of the token (the token itself is shown
 * once, when it is made, and never stored), its kind ("api" or
 * "session"), the role it is scoped to (at most the account's), and when
 * it expires (0: never) and was revoked (0: not). Roles and kinds are
 * text here; serve/http/tokens.c gives them meaning. Names are checked by
 * the caller (tokens.c); the store only refuses a taken one.
 *
 * Threads: a struct hv_db belongs to one thread at a time (see db.h).
 */
#ifndef HV_STORE_ACCOUNTS_H
#define HV_STORE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

#define ACCOUNTS_NAME_MAX 64
#define ACCOUNTS_HASH_MAX 128 /* a password hash string, with its NUL */
#define ACCOUNTS_DIGEST_LEN 64 /* hex of a 32-byte token digest */

struct account {
  int64_t id;
  char name[ACCOUNTS_NAME_MAX + 1];
  char role[16];              /* "viewer", "operator", "admin" */
  double created_at;          /* seconds since the epoch */
};

struct account_token {
  int64_t id;
  int64_t account_id;
  char account[ACCOUNTS_NAME_MAX + 1]; /* its account's name */
  char account_role[16];      /* the account's role now */
  char kind[8];               /* "api" or "session" */
  char role[16];              /* the scope it was made with */
  char note[128];
  double created_at, expires_at, revoked_at; /* 0: never / not */
};

/* Add account name with role and password hash pw_hash; *id (may be NULL)
 * gets its id. HV_ECONFLICT when the name is taken, HV_EINVAL for an empty
 * argument. */
int accounts_add(struct hv_db *db, const char *name, const char *role,
                 const char *pw_hash, double now, int64_t *id,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Account name into *out and its password hash into pw_hash (cap bytes;
 * may be NULL). HV_ENOTFOUND for an unknown name. */
int accounts_get(struct hv_db *db, const char *name, struct account *out,
                 char *pw_hash, size_t cap, struct hv_err *err) HV_WARN_UNUSED;

/* Every account by name into a new array *out (caller frees) of *n. */
int accounts_list(struct hv_db *db, struct account **out, size_t *n,
                  struct hv_err *err) HV_WARN_UNUSED;

/* Set account name's password hash / role. HV_ENOTFOUND. */
int accounts_set_password(struct hv_db *db, const char *name,
                          const char *pw_hash,
                          struct hv_err *err) HV_WARN_UNUSED;
int accounts_set_role(struct hv_db *db, const char *name, const char *role,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Remove account name and every token of it (API tokens and sessions:
 * the server refuses them from the next request on), in one transaction;
 * *tokens (may be NULL) gets how many tokens went with it. The last admin
 * account is not removed (HV_ECONFLICT saying so: make another admin
 * first), so a home always keeps someone who can manage accounts.
 * HV_ENOTFOUND for an unknown name. Opens its own transaction (not inside
 * db_begin). */
int accounts_remove(struct hv_db *db, const char *name, int64_t *tokens,
                    struct hv_err *err) HV_WARN_UNUSED;

/* Record a token of account_id: its digest (ACCOUNTS_DIGEST_LEN hex
 * characters), kind, scope role and note; expires_at 0 = never. *id (may
 * be NULL) gets the token's id. HV_ECONFLICT for a digest already stored. */
int accounts_token_add(struct hv_db *db, int64_t account_id,
                       const char *digest, const char *kind,
                       const char *role, const char *note, double now,
                       double expires_at, int64_t *id,
                       struct hv_err *err) HV_WARN_UNUSED;

/* The token whose digest is digest, with its account, into *out
 * (revoked and expired ones too: the caller says why it refuses them).
 * HV_ENOTFOUND when there is none. */
int accounts_token_find(struct hv_db *db, const char *digest,
                        struct account_token *out,
                        struct hv_err *err) HV_WARN_UNUSED;

/* Tokens of kind (NULL: all) by id into a new array *out (caller frees)
 * of *n. */
int accounts_token_list(struct hv_db *db, const char *kind,
                        struct account_token **out, size_t *n,
                        struct hv_err *err) HV_WARN_UNUSED;

/* Mark token id revoked at now (a revoked one keeps its first time).
 * HV_ENOTFOUND for an unknown id. */
int accounts_token_revoke(struct hv_db *db, int64_t id, double now,
                          struct hv_err *err) HV_WARN_UNUSED;

#endif

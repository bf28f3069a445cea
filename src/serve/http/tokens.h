/*
 * tokens.h - operator accounts and their credentials: accounts with a
 * role (viewer, operator, admin), API tokens for scripts and the web UI's
 * login sessions, over store/accounts.h. `harvest auth` and the server
 * (policy.c, the UI's login) call the same functions.
 *
 * Design: a token is a prefix and 32 random bytes (libsodium) in
 * base64url: "hvt_..." for an API token, "hvs_..." for a UI session. It
 * is shown once, when made; the store keeps only its BLAKE2b-256 digest
 * (crypto_generichash), so a copy of the database holds no usable token.
 * Verifying hashes the text, looks the digest up and refuses a revoked, an
 * expired or a wrong-kind token (a session is accepted from the UI's
 * cookie only, an API token from the Authorization header only). A token
 * is scoped to a role when made (at most its account's); its effective
 * role is the lower of that scope and the account's role now, so lowering
 * an account's role lowers its tokens too. Account names are 1 to 64
 * characters of [A-Za-z0-9._@-].
 *
 * Threads: as the store: the caller's connection, one thread at a time.
 */
#ifndef HV_SERVE_HTTP_TOKENS_H
#define HV_SERVE_HTTP_TOKENS_H

#include <stdint.h>

#include "serve/http/auth.h"
#include "util/err.h"

struct hv_db;

#define TOKENS_TEXT_MAX 64 /* a token's text with its NUL */
#define TOKENS_API_PREFIX "hvt_"
#define TOKENS_SESSION_PREFIX "hvs_"

enum tokens_kind { TOKENS_API = 0, TOKENS_SESSION = 1 };

/* 0 when name is a valid account name; HV_EINVAL naming the rule. */
int tokens_check_name(const char *name, struct hv_err *err) HV_WARN_UNUSED;

/* Add account name with role ("viewer", "operator", "admin") and
 * password (hashed with argon2id: opslimit/memlimit, 0 = INTERACTIVE).
 * HV_EINVAL for a bad name, role or password, HV_ECONFLICT for a taken
 * name. */
int tokens_account_add(struct hv_db *db, const char *name, const char *role,
                       const char *password, unsigned long long opslimit,
                       size_t memlimit, struct hv_err *err) HV_WARN_UNUSED;

/* Set account name's password (hashed as above); HV_ENOTFOUND. */
int tokens_account_password(struct hv_db *db, const char *name,
                            const char *password, unsigned long long opslimit,
                            size_t memlimit,
                            struct hv_err *err) HV_WARN_UNUSED;

/* Make a token of kind for account name, scoped to role (NULL: the
 * account's role; higher than the account's: HV_EINVAL), valid ttl_s
 * seconds from now (<= 0: never expires; sessions always expire). The
 * text goes to out (shown once; never stored), its id to *id (may be
 * NULL). HV_ENOTFOUND for an unknown account. */
int tokens_create(struct hv_db *db, const char *name, const char *role,
                  enum tokens_kind kind, double ttl_s, const char *note,
                  char out[TOKENS_TEXT_MAX], int64_t *id,
                  struct hv_err *err) HV_WARN_UNUSED;

/* An API token for a script that acts as account name with role: the
 * account is made when missing (with a random password nobody knows, so
 * it can only act by its tokens) and the token is made as
 * tokens_create(TOKENS_API, ttl_s, note). `harvest demo` gives its replay
 * clients an operator token this way. */
int tokens_service(struct hv_db *db, const char *name, const char *role,
                   double ttl_s, const char *note, char out[TOKENS_TEXT_MAX],
                   struct hv_err *err) HV_WARN_UNUSED;

/* The principal of token text of kind: who->role the effective role,
 * who->who "account:NAME"; *id (may be NULL) the token's id. HV_EAUTH
 * saying why (malformed, unknown, revoked, expired, wrong kind). */
int tokens_verify(struct hv_db *db, const char *text, enum tokens_kind kind,
                  struct auth_principal *who, int64_t *id,
                  struct hv_err *err) HV_WARN_UNUSED;

/* Log account name in: check password against its hash (a missing
 * account costs the same time and fails the same way: HV_EAUTH), then
 * make a session token of ttl_s seconds into out. */
int tokens_login(struct hv_db *db, const struct auth *a, const char *name,
                 const char *password, double ttl_s,
                 char out[TOKENS_TEXT_MAX], struct hv_err *err) HV_WARN_UNUSED;

/* Revoke token id (HV_ENOTFOUND), or the token whose text is text
 * (HV_EAUTH when it is none of ours). */
int tokens_revoke(struct hv_db *db, int64_t id,
                  struct hv_err *err) HV_WARN_UNUSED;
int tokens_revoke_text(struct hv_db *db, const char *text,
                       struct hv_err *err) HV_WARN_UNUSED;

/* A duration such as "30d", "12h", "90m", "3600s" or "3600" into seconds;
 * "never" or "0" is 0. HV_EINVAL naming what (a flag) otherwise. */
int tokens_parse_ttl(const char *s, const char *what, double *out,
                     struct hv_err *err) HV_WARN_UNUSED;

#endif

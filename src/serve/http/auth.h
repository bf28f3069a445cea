/*
 * auth.h - passwords, bearer tokens, the admin key and login rate limits.
 *
 * Design: passwords are stored as argon2id strings (libsodium
 * crypto_pwhash_str, parameters inside the string). Tokens are HS256 JWTs
 * made and parsed by libjwt, with "sub" (the user id), "iat" and "exp". The
 * signing secret comes from HARVEST_JWT_SECRET or from <home>/jwt.key, made
 * with 32 random bytes and mode 0600 on first use; it is never in the code.
 * Verification checks, in order: shape and size, the HMAC in constant time
 * (libsodium, so no timing leak whatever libjwt does), then libjwt's decode,
 * the algorithm (exactly HS256, so "alg": "none" and key-confusion tokens
 * fail) and expiry. The admin key (HARVEST_ADMIN_KEY or <home>/admin.key,
 * 0600) lets an operator set a first password; it is compared in constant
 * time. Login attempts draw from token buckets per client IP and per user.
 *
 * Threads: all functions are safe to call concurrently; the rate-limit table
 * is guarded by a mutex, everything else is read-only after auth_open.
 */
#ifndef HV_SERVE_HTTP_AUTH_H
#define HV_SERVE_HTTP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define AUTH_HASH_MAX 128   /* fits crypto_pwhash_STRBYTES */
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 1024
#define AUTH_HASH_WAIT_MS 250 /* a hash waits this long for its turn */
#define AUTH_PWCHANGE_BURST 3 /* password changes per user at once, */
#define AUTH_PWCHANGE_PER_S (1.0 / 600) /* then one per 10 minutes */

struct auth;

/* Who sent a request, from its credential (policy.c resolves it). Roles are
 * ordered: each one may do what the ones below it may, except that
 * AUTH_USER (a MovieLens end user, by the token of POST /users/token) acts
 * only on its own data, and staff roles carry no end-user id. */
enum auth_role {
  AUTH_ANON = 0,     /* no credential */
  AUTH_USER = 1,     /* an end user: uid */
  AUTH_VIEWER = 2,   /* an operator account with the viewer role */
  AUTH_OPERATOR = 3,
  AUTH_ADMIN = 4     /* an admin account, or the admin key */
};

struct auth_principal {
  enum auth_role role;
  int64_t uid;       /* the end user (AUTH_USER), else -1 */
  char who[64];      /* for audit logs: "user:7", "admin" (the key), "account:x" */
};

/* "anonymous", "user", "viewer", "operator", "admin". */
const char *auth_role_name(enum auth_role r);

/* The role named s (viewer, operator, admin) into *out; HV_EINVAL
 * otherwise. End users are not an account role. */
int auth_role_parse(const char *s, enum auth_role *out,
                    struct hv_err *err) HV_WARN_UNUSED;

struct auth_config {
  const char *home;            /* folder for jwt.key / admin.key */
  unsigned long long opslimit; /* argon2id passes; 0 = INTERACTIVE */
  size_t memlimit;             /* argon2id bytes; 0 = INTERACTIVE */
  long token_ttl;              /* seconds; 0 = 1800 */
  double login_burst;          /* attempts allowed at once; 0 = 10 */
  double login_per_sec;        /* refill rate; 0 = 10 per minute */
  int hash_max;                /* argon2id hashes or checks at once (each
                                  takes memlimit bytes and a core); more
                                  wait up to AUTH_HASH_WAIT_MS, then
                                  HV_EBUSY (503); 0 = 1 */
  int no_admin_key;            /* 1: refuse the admin key (accounts'
                                  tokens only; serve --no-admin-key) */
  double rating_quota;         /* ratings an end user may add a minute
                                  (burst the same; 5 x per address);
                                  0 = AUTH_RATING_QUOTA, < 0 = no quota */
};

#define AUTH_RATING_QUOTA 1000

/* Load or create the secrets and set up the limiter. *out is the caller's to
 * auth_close. Fails (HV_EINVAL) on a short HARVEST_JWT_SECRET or a key file
 * that others can read. */
int auth_open(const struct auth_config *cfg, struct auth **out,
              struct hv_err *err) HV_WARN_UNUSED;
void auth_close(struct auth *a);

/* Take one of user uid's password changes (AUTH_PWCHANGE_BURST at once,
 * then AUTH_PWCHANGE_PER_S): 0, or HV_ELIMIT saying when to retry. */
int auth_rate_take_pwchange(struct auth *a, int64_t uid,
                            struct hv_err *err) HV_WARN_UNUSED;

/* Hash a new password into out (AUTH_HASH_MAX bytes). HV_EINVAL when it is
 * shorter than AUTH_PASSWORD_MIN or longer than AUTH_PASSWORD_MAX bytes;
 * HV_EBUSY when hash_max hashes ran for AUTH_HASH_WAIT_MS (as
 * auth_check_password). */
int auth_hash_password(const struct auth *a, const char *password,
                       char out[AUTH_HASH_MAX],
                       struct hv_err *err) HV_WARN_UNUSED;

/* auth_hash_password with explicit argon2id parameters (0: libsodium's
 * INTERACTIVE ones), for callers without a struct auth (the CLI's
 * accounts). */
int auth_password_hash(unsigned long long opslimit, size_t memlimit,
                       const char *password, char out[AUTH_HASH_MAX],
                       struct hv_err *err) HV_WARN_UNUSED;

/* 0 when password matches the stored hash; HV_EAUTH otherwise. An empty or
 * NULL hash (unknown user, no password set) is checked against a dummy hash
 * so that it takes as long as a real check and fails. */
int auth_check_password(const struct auth *a, const char *hash,
                        const char *password,
                        struct hv_err *err) HV_WARN_UNUSED;

/* A signed token for user uid, valid token_ttl seconds from now; *token is
 * the caller's to free(). */
int auth_token_issue(const struct auth *a, int64_t uid, char **token,
                     struct hv_err *err) HV_WARN_UNUSED;

/* Tokens carry a password version ("pwv"): a keyed 8-byte digest of the
 * user's stored password hash when the token was issued (issue 17,
 * finding 9). Setting a password changes the hash, so every token issued
 * before is refused: the server compares the claim with the current
 * hash's digest on each request (policy.c). AUTH_PWV_LEN hex characters. */
#define AUTH_PWV_LEN 16
void auth_token_pwv(const struct auth *a, const char *pw_hash,
                    char out[AUTH_PWV_LEN + 1]);

/* auth_token_issue with the password version of pw_hash (NULL or "" for
 * a user with no password yet). */
int auth_token_issue_pw(const struct auth *a, int64_t uid,
                        const char *pw_hash, char **token,
                        struct hv_err *err) HV_WARN_UNUSED;

/* auth_token_verify that also returns the token's password version in pwv
 * ("" for a token without one). */
int auth_token_verify_pw(const struct auth *a, const char *token,
                         int64_t *uid, char pwv[AUTH_PWV_LEN + 1],
                         struct hv_err *err) HV_WARN_UNUSED;

/* Verify token and return its user in *uid; HV_EAUTH with the reason
 * (malformed, bad signature, wrong algorithm, expired) otherwise. */
int auth_token_verify(const struct auth *a, const char *token, int64_t *uid,
                      struct hv_err *err) HV_WARN_UNUSED;

/* The token of an "Authorization: Bearer TOKEN" header value (not NULL):
 * *token points into header after the scheme and its spaces (borrowed).
 * HV_EAUTH when the scheme is not Bearer (case-insensitive). */
int auth_bearer_token(const char *header, const char **token,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Verify an "Authorization: Bearer TOKEN" header value (NULL = missing). */
int auth_bearer(const struct auth *a, const char *header, int64_t *uid,
                struct hv_err *err) HV_WARN_UNUSED;

/* 0 when key equals the admin key (constant time); HV_EAUTH otherwise,
 * and always when the key is turned off (auth_config.no_admin_key). */
int auth_admin_check(const struct auth *a, const char *key,
                     struct hv_err *err) HV_WARN_UNUSED;

/* Take one login attempt from the buckets of ip and of user id uid (< 0:
 * no user bucket); HV_ELIMIT with the wait in seconds when either is empty.
 * The user bucket is keyed by the parsed id, so every spelling of one user
 * ("6", "06", "+6") draws from the same bucket. */
int auth_rate_take(struct auth *a, const char *ip, int64_t uid,
                   struct hv_err *err) HV_WARN_UNUSED;

/* Take n rating writes from the quotas of address ip and end user uid
 * (< 0: the address's only): token buckets of rating_quota a minute per
 * user and five times that per address, both or neither. HV_ETOOBIG
 * when n can never fit the user's bucket, HV_ELIMIT with *retry_after
 * (seconds) when either is short now. Staff are not limited (the caller
 * does not ask for them). */
int auth_quota_ratings(struct auth *a, const char *ip, int64_t uid, size_t n,
                       int *retry_after, struct hv_err *err) HV_WARN_UNUSED;

/* Take one admin-key attempt from ip's admin bucket (separate from logins,
 * same burst and rate); HV_ELIMIT when it is empty. */
int auth_rate_take_admin(struct auth *a, const char *ip,
                         struct hv_err *err) HV_WARN_UNUSED;

/* HV_ELIMIT when ip's admin bucket is empty, without taking from it (the
 * policy checks this first and takes only for a wrong key, so an
 * operator's many right ones are never limited). */
int auth_rate_peek_admin(struct auth *a, const char *ip,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Failed logins per operator account name, from any address (beside
 * the per-address limit, which a spread of addresses gets around): the
 * login rule's burst (login_burst, 10), refilled at login_per_sec. Check
 * with auth_rate_peek_account before the password (HV_ELIMIT naming the
 * account, *retry_after the seconds until one more try), and count a
 * failure with auth_rate_fail_account after; a right password costs
 * nothing, so an operator's own logins never use the account's tries. */
int auth_rate_peek_account(struct auth *a, const char *name,
                           int *retry_after,
                           struct hv_err *err) HV_WARN_UNUSED;
void auth_rate_fail_account(struct auth *a, const char *name);

#endif

/*
 * tokens.c - operator accounts, API tokens and UI sessions: see tokens.h.
 */
#include "serve/http/tokens.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/accounts.h"
#include "util/fsutil.h"
#include "util/parse.h"

#define RAW_BYTES 32
#define BODY_LEN 43 /* base64url of 32 bytes, no padding */

int tokens_check_name(const char *name, struct hv_err *err)
{
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > ACCOUNTS_NAME_MAX)
    return hv_err_set(err, HV_EINVAL, "account name: 1 to %d characters",
                      ACCOUNTS_NAME_MAX);
  if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789._@-") != n)
    return hv_err_set(err, HV_EINVAL, "account name: '%.64s' has a "
                      "character outside A-Z a-z 0-9 . _ @ -", name);
  return 0;
}

static int role_of(const char *role, enum auth_role *r, struct hv_err *err)
{
  return auth_role_parse(role, r, err);
}

int tokens_account_add(struct hv_db *db, const char *name, const char *role,
                       const char *password, unsigned long long opslimit,
                       size_t memlimit, struct hv_err *err)
{
  enum auth_role r;
  char hash[AUTH_HASH_MAX];
  if (tokens_check_name(name, err) || role_of(role, &r, err) ||
      auth_password_hash(opslimit, memlimit, password, hash, err))
    return err->code;
  int rc = accounts_add(db, name, auth_role_name(r), hash, hv_now(), NULL,
                        err);
  sodium_memzero(hash, sizeof(hash));
  return rc;
}

/* A new password ends the account's web UI sessions (as an end user's
 * password change ends their tokens); its API tokens stay. */
static int revoke_sessions_of(struct hv_db *db, const char *name,
                              struct hv_err *err)
{
  struct account_token *t = NULL;
  size_t n = 0;
  int rc = accounts_token_list(db, "session", &t, &n, err);
  double now = hv_now();
  for (size_t i = 0; !rc && i < n; i++)
    if (!strcmp(t[i].account, name) && !(t[i].revoked_at > 0))
      rc = accounts_token_revoke(db, t[i].id, now, err);
  free(t);
  return rc;
}

int tokens_account_password(struct hv_db *db, const char *name,
                            const char *password, unsigned long long opslimit,
                            size_t memlimit, struct hv_err *err)
{
  char hash[AUTH_HASH_MAX];
  if (tokens_check_name(name, err) ||
      auth_password_hash(opslimit, memlimit, password, hash, err))
    return err->code;
  int rc = accounts_set_password(db, name, hash, err);
  if (!rc)
    rc = revoke_sessions_of(db, name, err);
  return rc;
}

/* The hex digest of token text into out (ACCOUNTS_DIGEST_LEN + 1). */
static void digest_of(const char *text, char out[ACCOUNTS_DIGEST_LEN + 1])
{
  unsigned char h[32];
  crypto_generichash(h, sizeof(h), (const unsigned char *)text, strlen(text),
                     NULL, 0);
  sodium_bin2hex(out, ACCOUNTS_DIGEST_LEN + 1, h, sizeof(h));
}

static const char *prefix_of(enum tokens_kind kind)
{
  return kind == TOKENS_SESSION ? TOKENS_SESSION_PREFIX : TOKENS_API_PREFIX;
}

int tokens_create(struct hv_db *db, const char *name, const char *role,
                  enum tokens_kind kind, double ttl_s, const char *note,
                  char out[TOKENS_TEXT_MAX], int64_t *id, struct hv_err *err)
{
  struct account acc;
  enum auth_role have, want;
  if (tokens_check_name(name, err) ||
      accounts_get(db, name, &acc, NULL, 0, err) ||
      role_of(acc.role, &have, err))
    return err->code;
  want = have;
  if (role && role_of(role, &want, err))
    return err->code;
  if (want > have)
    return hv_err_set(err, HV_EINVAL, "role: account '%s' is a%s %s; a "
                      "token cannot be scoped above that (%s)", acc.name,
                      have >= AUTH_OPERATOR ? "n" : "", acc.role, role);
  if (kind == TOKENS_SESSION && !(ttl_s > 0))
    return hv_err_set(err, HV_EINVAL, "a session must expire");
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  unsigned char raw[RAW_BYTES];
  randombytes_buf(raw, sizeof(raw));
  size_t p = strlen(prefix_of(kind));
  memcpy(out, prefix_of(kind), p);
  sodium_bin2base64(out + p, TOKENS_TEXT_MAX - p, raw, sizeof(raw),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof(raw));
  char digest[ACCOUNTS_DIGEST_LEN + 1];
  digest_of(out, digest);
  double now = hv_now();
  int rc = accounts_token_add(db, acc.id, digest,
                              kind == TOKENS_SESSION ? "session" : "api",
                              auth_role_name(want), note, now,
                              ttl_s > 0 ? now + ttl_s : 0, id, err);
  if (rc)
    sodium_memzero(out, TOKENS_TEXT_MAX);
  return rc;
}

int tokens_service(struct hv_db *db, const char *name, const char *role,
                   double ttl_s, const char *note, char out[TOKENS_TEXT_MAX],
                   struct hv_err *err)
{
  unsigned char raw[24];
  char pw[2 * sizeof(raw) + 1];
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  randombytes_buf(raw, sizeof(raw));
  sodium_bin2hex(pw, sizeof(pw), raw, sizeof(raw));
  /* the cheapest argon2id: nobody ever logs in with this password */
  int rc = tokens_account_add(db, name, role, pw,
                              crypto_pwhash_OPSLIMIT_MIN,
                              crypto_pwhash_MEMLIMIT_MIN, err);
  sodium_memzero(pw, sizeof(pw));
  if (rc && rc != HV_ECONFLICT)
    return rc;
  return tokens_create(db, name, role, TOKENS_API, ttl_s, note, out, NULL,
                       err);
}

/* Shape: the kind's prefix and BODY_LEN base64url characters. */
static int shape_ok(const char *text, enum tokens_kind kind)
{
  const char *pre = prefix_of(kind);
  size_t p = strlen(pre);
  return text && strnlen(text, p + BODY_LEN + 1) == p + BODY_LEN &&
         !strncmp(text, pre, p) &&
         strspn(text + p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"
                          "Z0123456789-_") == BODY_LEN;
}

int tokens_verify(struct hv_db *db, const char *text, enum tokens_kind kind,
                  struct auth_principal *who, int64_t *id, struct hv_err *err)
{
  const char *what = kind == TOKENS_SESSION ? "session" : "API token";
  if (!shape_ok(text, kind))
    return hv_err_set(err, HV_EAUTH, "%s: malformed (expected %s and %d "
                      "characters)", what, prefix_of(kind), BODY_LEN);
  char digest[ACCOUNTS_DIGEST_LEN + 1];
  digest_of(text, digest);
  struct account_token t;
  int rc = accounts_token_find(db, digest, &t, err);
  if (rc == HV_ENOTFOUND)
    return hv_err_set(err, HV_EAUTH, "%s: unknown (never made here, or the "
                      "database was replaced)", what);
  if (rc)
    return rc;
  enum auth_role scope, acc;
  double now = hv_now();
  if (strcmp(t.kind, kind == TOKENS_SESSION ? "session" : "api"))
    return hv_err_set(err, HV_EAUTH, "%s: wrong kind of token", what);
  if (t.revoked_at > 0)
    return hv_err_set(err, HV_EAUTH, "%s %lld: revoked", what,
                      (long long)t.id);
  if (t.expires_at > 0 && now >= t.expires_at)
    return hv_err_set(err, HV_EAUTH, "%s %lld: expired; make a new one",
                      what, (long long)t.id);
  if (auth_role_parse(t.role, &scope, NULL) ||
      auth_role_parse(t.account_role, &acc, NULL))
    return hv_err_set(err, HV_ECORRUPT, "%s %lld: bad role in the store",
                      what, (long long)t.id);
  who->role = scope < acc ? scope : acc;
  who->uid = -1;
  snprintf(who->who, sizeof(who->who), "account:%s", t.account);
  if (id)
    *id = t.id;
  return 0;
}

int tokens_login(struct hv_db *db, const struct auth *a, const char *name,
                 const char *password, double ttl_s,
                 char out[TOKENS_TEXT_MAX], struct hv_err *err)
{
  struct account acc;
  char hash[AUTH_HASH_MAX] = "";
  struct hv_err lerr = {0};
  int rc = tokens_check_name(name, &lerr);
  if (!rc)
    rc = accounts_get(db, name, &acc, hash, sizeof(hash), &lerr);
  if (rc && rc != HV_ENOTFOUND && rc != HV_EINVAL) {
    *err = lerr;
    return rc;
  }
  /* an unknown name is checked against the dummy hash: same time */
  if (auth_check_password(a, rc ? "" : hash, password, err))
    return err->code;
  sodium_memzero(hash, sizeof(hash));
  return tokens_create(db, name, NULL, TOKENS_SESSION, ttl_s, "web UI login",
                       out, NULL, err);
}

int tokens_revoke(struct hv_db *db, int64_t id, struct hv_err *err)
{
  return accounts_token_revoke(db, id, hv_now(), err);
}

int tokens_revoke_text(struct hv_db *db, const char *text,
                       struct hv_err *err)
{
  enum tokens_kind kind =
      text && !strncmp(text, TOKENS_SESSION_PREFIX, 4) ? TOKENS_SESSION
                                                       : TOKENS_API;
  if (!shape_ok(text, kind))
    return hv_err_set(err, HV_EAUTH, "token: malformed");
  char digest[ACCOUNTS_DIGEST_LEN + 1];
  digest_of(text, digest);
  struct account_token t;
  int rc = accounts_token_find(db, digest, &t, err);
  if (rc == HV_ENOTFOUND)
    return hv_err_set(err, HV_EAUTH, "token: unknown");
  return rc ? rc : tokens_revoke(db, t.id, err);
}

int tokens_parse_ttl(const char *s, const char *what, double *out,
                     struct hv_err *err)
{
  if (s && (!strcmp(s, "never") || !strcmp(s, "0"))) {
    *out = 0;
    return 0;
  }
  size_t n = s ? strlen(s) : 0;
  static const struct {
    char unit;
    double secs;
  } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
  double mult = 1;
  char num[32];
  if (n == 0 || n >= sizeof(num))
    return hv_err_set(err, HV_EINVAL, "%s: '%.40s' is not a duration (30d, "
                      "12h, 90m, 3600s or never)", what, s ? s : "");
  memcpy(num, s, n + 1);
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (num[n - 1] == units[i].unit) {
      mult = units[i].secs;
      num[n - 1] = '\0';
    }
  int64_t v;
  if (hv_parse_i64(num, 1, 100LL * 366 * 86400, &v, what, NULL))
    return hv_err_set(err, HV_EINVAL, "%s: '%.40s' is not a duration (30d, "
                      "12h, 90m, 3600s or never; at most 100 years)", what, s);
  *out = (double)v * mult;
  if (*out > 100.0 * 366 * 86400)
    return hv_err_set(err, HV_EINVAL, "%s: '%.40s' is more than 100 years",
                      what, s);
  return 0;
}

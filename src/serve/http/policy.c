/*
 * policy.c - credential -> principal, and the one policy check: see
 * policy.h.
 */
#include "serve/http/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "serve/http/metrics.h"
#include "serve/http/routes.h"
#include "serve/http/server.h"
#include "serve/http/tokens.h"
#include "serve/ui/ui.h"
#include "store/users.h"

const char *policy_name(enum rt_policy p)
{
  static const char *const names[] = {"public", "self", "viewer", "operator",
                                      "admin"};
  return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

enum rt_policy policy_of(const struct rt_route *r, int seed_compat)
{
  return seed_compat && r->seed_open ? RT_PUBLIC : r->policy;
}

/* The least role a policy admits (RT_SELF: an end user). */
static enum auth_role least_role(enum rt_policy p)
{
  switch (p) {
  case RT_PUBLIC: return AUTH_ANON;
  case RT_SELF: return AUTH_USER;
  case RT_VIEWER: return AUTH_VIEWER;
  case RT_OPERATOR: return AUTH_OPERATOR;
  default: return AUTH_ADMIN;
  }
}

/* Refuse a caller who lacks the rights: HV_EAUTH ("not authenticated: "
 * and send, the credential to send) when it gave none, else HV_EFORBIDDEN
 * ("forbidden: " and why). The one place that tells 401 from 403. */
static int refuse(const struct auth_principal *who, const char *send,
                  struct hv_err *err, const char *why, ...) HV_PRINTF(4, 5);

static int refuse(const struct auth_principal *who, const char *send,
                  struct hv_err *err, const char *why, ...)
{
  if (!who || who->role == AUTH_ANON)
    return hv_err_set(err, HV_EAUTH, "not authenticated: %s", send);
  char text[320];
  va_list ap;
  va_start(ap, why);
  vsnprintf(text, sizeof(text), why, ap);
  va_end(ap);
  return hv_err_set(err, HV_EFORBIDDEN, "forbidden: %s", text);
}

int policy_allows(enum rt_policy p, const struct auth_principal *who,
                  struct hv_err *err)
{
  enum auth_role need = least_role(p);
  if (need == AUTH_ANON || (who && who->role >= need))
    return 0;
  char send[128];
  snprintf(send, sizeof(send),
           "this route needs %s rights (send 'Authorization: Bearer TOKEN')",
           policy_name(p));
  return refuse(who, send, err,
                "this route needs %s rights; the credential is a%s %s's",
                policy_name(p),
                who && (who->role == AUTH_ADMIN || who->role == AUTH_OPERATOR)
                    ? "n"
                    : "",
                who ? auth_role_name(who->role) : "");
}

static int admin_key(struct srv_req *req, const char *key, struct hv_err *err)
{
  struct auth *a = srv_auth(req);
  metrics_credential(srv_metrics(req));
  if (auth_rate_peek_admin(a, req->ip, err))
    return err->code;
  if (auth_admin_check(a, key, err)) {
    struct hv_err lerr = {0};
    int spent = auth_rate_take_admin(a, req->ip, &lerr);
    (void)spent; /* empty now: the next attempt gets 429 */
    return err->code;
  }
  req->who.role = AUTH_ADMIN;
  snprintf(req->who.who, sizeof(req->who.who), "admin");
  return 0;
}

/* A token issued before the user's password last changed is refused
 * (finding 9): its password version is not the current hash's. */
static int end_user(struct srv_req *req, const char *token,
                    struct hv_err *err)
{
  int64_t uid;
  char pwv[AUTH_PWV_LEN + 1], now_pwv[AUTH_PWV_LEN + 1];
  char hash[AUTH_HASH_MAX] = "";
  metrics_credential(srv_metrics(req));
  if (auth_token_verify_pw(srv_auth(req), token, &uid, pwv, err))
    return err->code;
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  int rc = users_password_get(c, uid, hash, sizeof(hash), err);
  if (rc && rc != HV_ENOTFOUND)
    return rc;
  auth_token_pwv(srv_auth(req), hash, now_pwv);
  if (strlen(pwv) != AUTH_PWV_LEN ||
      sodium_memcmp(pwv, now_pwv, AUTH_PWV_LEN) != 0)
    return hv_err_set(err, HV_EAUTH,
                      "token: the password changed since it was issued (or "
                      "it has no password version); log in again");
  req->who.role = AUTH_USER;
  req->who.uid = uid;
  snprintf(req->who.who, sizeof(req->who.who), "user:%lld", (long long)uid);
  return 0;
}

/* An operator account's token of kind (API token or UI session). */
static int account_token(struct srv_req *req, const char *text,
                         enum tokens_kind kind, struct hv_err *err)
{
  metrics_credential(srv_metrics(req));
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  return tokens_verify(c, text, kind, &req->who, NULL, err);
}

/* A bearer token: an account's API token ("hvt_...") or an end user's
 * JWT. */
static int bearer_token(struct srv_req *req, const char *t, struct hv_err *err)
{
  if (!strncmp(t, TOKENS_API_PREFIX, strlen(TOKENS_API_PREFIX)))
    return account_token(req, t, TOKENS_API, err);
  return end_user(req, t, err);
}

/* A bearer token (an API token, or a JWT: two dots) or else the admin key
 * typed into a form. */
static int any_credential(struct srv_req *req, const char *cred,
                          struct hv_err *err)
{
  if (!strncmp(cred, TOKENS_API_PREFIX, strlen(TOKENS_API_PREFIX)))
    return account_token(req, cred, TOKENS_API, err);
  const char *d = strchr(cred, '.');
  if (d && strchr(d + 1, '.'))
    return end_user(req, cred, err);
  return admin_key(req, cred, err);
}

static void anonymous(struct srv_req *req)
{
  req->who.role = AUTH_ANON;
  req->who.uid = -1;
  snprintf(req->who.who, sizeof(req->who.who), "anonymous");
}

int policy_resolve(struct srv_req *req, struct hv_err *err)
{
  anonymous(req);
  req->who_lazy = 0;
  const char *bearer = srv_header(req, "Authorization");
  if (bearer) {
    const char *t = NULL;
    if (auth_bearer_token(bearer, &t, err))
      return err->code;
    if (!*t)
      return hv_err_set(err, HV_EAUTH, "Authorization: Bearer without a "
                        "token");
    return bearer_token(req, t, err);
  }
  /* an empty X-Admin-Key (a client's blank default) is no credential */
  const char *key = srv_header(req, "X-Admin-Key");
  if (key && *key)
    return admin_key(req, key, err);
  const struct rt_route *r = &routes_table[req->match.route];
  int ui = r->tag && !strcmp(r->tag, "ui");
  const char *session = ui ? srv_cookie(req, UI_SESSION_COOKIE) : NULL;
  if (session) /* the web UI's login (Path=/ui, SameSite=Strict) */
    return account_token(req, session, TOKENS_SESSION, err);
  if (req->method_bit == RT_POST && ui) {
    struct hv_err ferr = {0};
    const char *cred = srv_form(req, "credential", &ferr);
    if (cred && *cred)
      return any_credential(req, cred, err);
  }
  return 0;
}

int policy_enforce(struct srv_req *req, const struct rt_route *r,
                   struct hv_err *err)
{
  enum rt_policy p = policy_of(r, srv_config(req)->seed_compat);
  if (p == RT_PUBLIC) { /* resolved by policy_caller, if ever asked */
    anonymous(req);
    req->who_lazy = 1;
    return 0;
  }
  if (policy_resolve(req, err))
    return err->code;
  return policy_allows(p, &req->who, err);
}

const struct auth_principal *policy_caller(struct srv_req *req)
{
  if (req->who_lazy) {
    struct hv_err rerr = {0};
    if (policy_resolve(req, &rerr)) /* ignored on a public route */
      anonymous(req);
    req->who_lazy = 0;
  }
  return &req->who;
}

int policy_self(struct srv_req *req, int64_t uid, struct hv_err *err)
{
  const struct rt_route *r = &routes_table[req->match.route];
  if (policy_of(r, srv_config(req)->seed_compat) == RT_PUBLIC)
    return 0;
  const struct auth_principal *who = policy_caller(req);
  if (who->role == AUTH_USER && who->uid == uid)
    return 0;
  enum auth_role staff =
      r->self_staff ? least_role((enum rt_policy)r->self_staff)
                    : AUTH_OPERATOR;
  if (who->role >= staff)
    return 0;
  return refuse(who, "send the user's own 'Authorization: Bearer TOKEN'",
                err, "user %lld's data needs that user's own token or %s "
                "rights", (long long)uid, auth_role_name(staff));
}

int policy_user(struct srv_req *req, int64_t *uid, struct hv_err *err)
{
  const struct auth_principal *who = policy_caller(req);
  if (who->role == AUTH_USER) {
    *uid = who->uid;
    return 0;
  }
  return refuse(who, "send 'Authorization: Bearer TOKEN' (get one from POST "
                "/users/token)", err, "this route answers for an end user's "
                "own token; a %s credential has no ratings",
                auth_role_name(who->role));
}

/*
 * policy.h - who sent a request, and whether the route's policy lets them.
 *
 * Design: every route declares one enum rt_policy in routes_table
 * (routes.c); the server calls policy_enforce after matching and before
 * the handler, so no handler authorises by itself. The credential is read
 * once, in this order: "Authorization: Bearer T" (an operator account's
 * API token "hvt_..." from `harvest auth token create`, or an end user's
 * JWT from POST /users/token), "X-Admin-Key" (the admin key, rate-limited
 * per address, refused under serve --no-admin-key), on a web UI route the
 * session cookie of a signed-in account, and on a web UI form post the
 * "credential" field (an API token, a JWT or the admin key). On a public
 * route the credential is not read at all unless the handler asks who
 * called (policy_caller): a token costs a hash and a database read, which
 * /healthz or /movies/recommend has no use for (recommend: 27.0 -> 15.3 us
 * of server CPU a request with an API token sent). When a public route's
 * handler does ask (GET /users/ shows operators every field; rating
 * writes under --seed-compat spare staff the quota), a wrong credential is
 * ignored there: the caller is anonymous, and the route answers as it
 * does without one (a stale token never breaks a public route). On a
 * protected route it is 401, as is no
 * credential; a valid one whose role is too low is 403. RT_SELF routes let the
 * end user or a staff role in and the handler names the user the request
 * touches with policy_self (403 when that is someone else's data).
 * Under serve --seed-compat the routes marked seed_open are public.
 *
 * Threads: called on the worker running the request.
 */
#ifndef HV_SERVE_HTTP_POLICY_H
#define HV_SERVE_HTTP_POLICY_H

#include "serve/http/auth.h"
#include "serve/http/router.h"
#include "util/err.h"

struct srv_req;

/* "public", "self", "viewer", "operator", "admin". */
const char *policy_name(enum rt_policy p);

/* The effective policy of route r (seed_compat: 1 under --seed-compat). */
enum rt_policy policy_of(const struct rt_route *r, int seed_compat);

/* Pure decision: 0 when who may call a route of policy p, HV_EAUTH (401)
 * when who is anonymous, HV_EFORBIDDEN (403) when the role is too low. */
int policy_allows(enum rt_policy p, const struct auth_principal *who,
                  struct hv_err *err);

/* Resolve req's credential into req->who (anonymous when there is none);
 * HV_EAUTH when one is present and invalid, HV_ELIMIT for too many
 * admin-key attempts from the address. */
int policy_resolve(struct srv_req *req, struct hv_err *err) HV_WARN_UNUSED;

/* Resolve and check route r's policy for req. 0 lets the handler run. A
 * public route's credential is left unresolved (req->who_lazy) for
 * policy_caller. */
int policy_enforce(struct srv_req *req, const struct rt_route *r,
                   struct hv_err *err) HV_WARN_UNUSED;

/* The caller of req (borrowed for the request): on a public route the
 * credential is resolved here, at the first call, a wrong one counting
 * as anonymous; elsewhere what policy_enforce resolved. Handlers read the
 * caller through this, never req->who directly. */
const struct auth_principal *policy_caller(struct srv_req *req);

/* On an RT_SELF route: 0 when the request may touch end user uid's data
 * (the user's own token, or a staff role of at least the route's
 * self_staff); HV_EFORBIDDEN otherwise. Under --seed-compat on a
 * seed_open route, always 0. */
int policy_self(struct srv_req *req, int64_t uid,
                struct hv_err *err) HV_WARN_UNUSED;

/* The end user the request's own token names; HV_EFORBIDDEN when the
 * caller is not an end user (staff have no ratings of their own). */
int policy_user(struct srv_req *req, int64_t *uid,
                struct hv_err *err) HV_WARN_UNUSED;

#endif

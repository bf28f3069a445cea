/*
 * router.h - route table, path matching and the one error -> status table.
 *
 * Design: a route is a method mask plus a path template whose segments are
 * literal or "{name}" captures ("/movies/recommend/{user}/{n}"). Matching
 * walks the segments; a literal beats a capture at the same position, so
 * "/movies/recommend/batch/10" reaches the batch route and not {user}. A
 * trailing slash is optional on both sides ("/users" and "/users/" match the
 * same route), as the seed's clients use both. Every failure a handler
 * returns is a negative HV_E* code; rt_status_of() is the only place codes
 * become HTTP statuses, and rt_error_json() the only place the
 * {"detail": "..."} body is built.
 *
 * The table is static const data; matching is pure and thread-safe.
 */
#ifndef HV_SERVE_HTTP_ROUTER_H
#define HV_SERVE_HTTP_ROUTER_H

#include <stddef.h>

#include "util/err.h"

struct srv_req;
struct srv_resp;

enum rt_method {
  RT_GET = 1,
  RT_POST = 2,
  RT_HEAD = 4,
  RT_PUT = 8,
  RT_DELETE = 16,
  RT_OTHER = 32
};

#define RT_MAX_CAPTURES 4
#define RT_MAX_SEGMENTS 16

/* One documented parameter (for /openapi.json and /docs). */
struct rt_param {
  const char *name;
  const char *in;          /* "path", "query", "header", "form" */
  const char *type;        /* "integer", "number", "string", "array" */
  int required;
  const char *description;
};

/* Who may call a route (policy.h enforces it before the handler runs):
 * anyone; the end user themself (their own bearer token; the handler names
 * the user the request touches through policy_self) or an operator for
 * them; or an operator account of at least that role (the admin key counts
 * as admin). */
enum rt_policy {
  RT_PUBLIC = 0,
  RT_SELF,
  RT_VIEWER,
  RT_OPERATOR,
  RT_ADMIN
};

/* Where a route runs: on the worker that read it, or on the pool of
 * expensive requests (heavy.c: bounded queue, 503 when full), with its 200
 * answers cached per served model version and query. */
enum rt_cost {
  RT_CHEAP = 0,
  RT_POOL,
  RT_POOL_CACHED
};

/* Handler: fill resp and return 0, or return a negative HV_E* code with err
 * filled; the router turns that into {"detail": err->msg}. Handlers are
 * declared by this type: `rt_fn routes_movies, routes_random;`. */
typedef int rt_fn(struct srv_req *req, struct srv_resp *resp,
                  struct hv_err *err);
typedef rt_fn *rt_handler;

struct rt_route {
  unsigned methods;        /* mask of enum rt_method */
  const char *path;        /* template */
  rt_handler handler;
  const char *name;        /* short label for metrics and logs */
  const char *tag;         /* OpenAPI group */
  const char *summary;     /* one line for /docs */
  enum rt_policy policy;   /* who may call it (see enum rt_policy) */
  const char *body;        /* request body description or NULL */
  const char *response;    /* example / shape of a 200 answer */
  const struct rt_param *params; /* terminated by {NULL} */
  const int *errors;       /* error statuses it can answer, 0-terminated */
  int seed_open;           /* 1: public under --seed-compat (the seed's
                              open shape for its workshop clients) */
  int self_staff;          /* RT_SELF: the least staff role acting for any
                              user (0 = operator; RT_ADMIN = admin only) */
};

struct rt_match {
  int route;               /* index in the table, or -1 */
  size_t n_captures;
  /* captures point into path; lengths in len[] (not NUL-terminated) */
  const char *cap[RT_MAX_CAPTURES];
  size_t len[RT_MAX_CAPTURES];
};

/* Method bit of an HTTP method name (RT_OTHER for unknown ones). */
unsigned rt_method_bit(const char *method);

/* Match method + path (no query string) against table[0..n). Returns 0 with
 * m filled, 404 when no template matches, 405 when a template matches but
 * not with this method (m->route then names that route). */
int rt_match(const struct rt_route *table, size_t n, const char *method,
             const char *path, struct rt_match *m);

/* Copy capture i of m into out (cap bytes, NUL-terminated); HV_EINVAL when
 * it does not fit (the caller reports the named field). */
int rt_capture(const struct rt_match *m, size_t i, char *out, size_t cap);

/* The HTTP status for a negative HV_E* code (200 for 0). */
int rt_status_of(int code);

/* Reason phrase of a status ("Unprocessable Entity"). */
const char *rt_reason(int status);

/* {"detail": msg} as a new NUL-terminated string (caller frees); NULL on
 * out of memory. */
char *rt_error_json(const char *msg, size_t *len);

#endif

/*
 * routes.h - what a route handler sees: the request, the response it fills,
 * and the server services it may use (per-thread database connection and
 * scratch, the current model, auth, metrics).
 *
 * Design: handlers never touch libmicrohttpd; they read the request through
 * the srv_* accessors (implemented in request.c and modelload.c) and fill a
 * struct srv_resp whose body they malloc (the server hands it to the
 * network and frees it).
 * On failure a handler returns a negative HV_E* code with err filled and the
 * router answers {"detail": err->msg} with the status from rt_status_of().
 * One table (routes_table in routes.c) lists every route with its docs;
 * /openapi.json and /docs are generated from it.
 *
 * Threads: handlers run concurrently on the server's worker threads; what
 * srv_db() and srv_scratch() return belongs to the calling thread.
 */
#ifndef HV_SERVE_HTTP_ROUTES_H
#define HV_SERVE_HTTP_ROUTES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "serve/http/auth.h"
#include "serve/http/router.h"
#include "util/err.h"

struct serve;
struct hv_db;
struct auth;
struct metrics;
struct modelslot_snap;
struct recommend_list;
struct serve_config;

#define SRV_FORM_MAX 8

struct srv_req {
  struct serve *srv;
  void *conn;               /* the MHD connection (the server only) */
  void *thread;             /* the worker's state (the server only) */
  const char *method;
  unsigned method_bit;
  const char *path;         /* decoded path without the query string */
  struct rt_match match;
  const char *body;         /* NUL-terminated; body_len bytes */
  size_t body_len;
  const char *ip;           /* client address as text */
  struct modelslot_snap *snap; /* taken by srv_model, released after */
  int n_form;
  char *form_key[SRV_FORM_MAX], *form_val[SRV_FORM_MAX];
  struct auth_principal who; /* the caller: read it with policy_caller
                                (policy_enforce fills it, or on a public
                                route leaves it to the first reader) */
  int who_lazy;             /* 1: who not resolved yet (public route) */
};

struct srv_resp {
  int status;               /* 200 unless set */
  char *body;               /* malloc'd; the server frees it */
  size_t len;
  const char *content_type; /* static; NULL = application/json */
  char model_version[192];  /* X-Model-Version when not empty */
  int retry_after;          /* Retry-After seconds when > 0 */
  char *headers;            /* NULL, or malloc'd "Name: value\n" lines
                               (routes_header); the server frees it */
};

/* ---- request accessors (request.c, modelload.c) ------------------------ */

/* First value of query argument name, or NULL (borrowed for the request). */
const char *srv_query(struct srv_req *req, const char *name);

/* Call fn for every value of query argument name in order (the repeated
 * ?users=1&users=2 form); stops at and returns fn's first non-zero. */
int srv_query_each(struct srv_req *req, const char *name,
                   int (*fn)(void *ctx, const char *value), void *ctx);

/* A request header, or NULL (borrowed for the request). */
const char *srv_header(struct srv_req *req, const char *name);

/* The value of cookie name, or NULL (borrowed for the request). */
const char *srv_cookie(struct srv_req *req, const char *name);

/* Parse a JSON object body into req's form fields (what srv_form does for
 * Content-Type application/json; string and integer members, others
 * skipped). 0, or HV_EINVAL. The caller frees req->form_key/form_val[0,
 * n_form). Pure: needs only body and body_len (tests/fuzz calls it). */
int srv_form_json(struct srv_req *req, struct hv_err *err);

/* The web UI's state (serve/ui.h; borrowed, lives as long as the server). */
struct ui *srv_ui(struct srv_req *req);

/* The field name of a urlencoded or multipart form body, or of a JSON
 * object body, or NULL. Parses the body once per request. */
const char *srv_form(struct srv_req *req, const char *name,
                     struct hv_err *err);

/* The calling worker's database connection (opened on first use, opened
 * again when the connection was lost). */
struct hv_db *srv_db(struct srv_req *req, struct hv_err *err);

/* The current model snapshot (taken once per request and released by the
 * server after the response is built), or NULL when none is loaded; why
 * (cap bytes, may be NULL) then says why. */
struct modelslot_snap *srv_model(struct srv_req *req, char *why, size_t cap);

/* 1 when the server's last look at the database (its poller's) reached
 * it; else 0 with why (cap bytes) saying what failed. */
int srv_db_ready(struct srv_req *req, char *why, size_t cap);

/* Per-thread buffers for recommend_user over snap into *l: the score
 * scratch and room for n ids and scores, grown only when a bigger model
 * arrives (so the steady state allocates nothing). 0, or HV_ENOMEM. */
int srv_scratch(struct srv_req *req, const struct modelslot_snap *snap,
                int n, struct recommend_list *l);

/* The served ranking model with one more reference (release it with
 * modelslot_release), or NULL when no ranker is in Production. */
struct modelslot_snap *srv_ranker(struct srv_req *req);

struct auth *srv_auth(struct srv_req *req);
struct metrics *srv_metrics(struct srv_req *req);
const struct serve_config *srv_config(struct srv_req *req);

/* Load the model again now (see serve_reload); fills a JSON summary. */
int srv_reload(struct srv_req *req, json_t **summary, struct hv_err *err);

/* The cached /openapi.json and /docs texts (borrowed). */
const char *srv_openapi(struct srv_req *req, size_t *len);
const char *srv_docs(struct srv_req *req, size_t *len);

/* Swagger UI's files for /docs/static/ (borrowed; docs.h). */
const struct docs *srv_swagger(struct srv_req *req);

/* Render /metrics into a new string (caller frees). */
int srv_metrics_text(struct srv_req *req, char **out, size_t *len,
                     struct hv_err *err) HV_WARN_UNUSED;

/* ---- response helpers (routes.c) ---------------------------------------- */

/* Serialise j (stolen) as compact JSON into resp; HV_ENOMEM on failure. */
int routes_json(struct srv_resp *resp, json_t *j, struct hv_err *err);

/* Add response header name: value (no CR or LF in either; HV_EINVAL
 * otherwise, HV_ENOMEM when out of memory). */
int routes_header(struct srv_resp *resp, const char *name, const char *value,
                  struct hv_err *err) HV_WARN_UNUSED;

/* {"message": msg} */
int routes_message(struct srv_resp *resp, const char *msg, struct hv_err *err);

/* Parse capture i of the route as an integer in [min, max] named what;
 * HV_EINVAL (422) naming the field otherwise. */
int routes_path_int(struct srv_req *req, size_t i, int64_t min, int64_t max,
                    const char *what, int64_t *out, struct hv_err *err);

/* Parse query argument name as an integer / number in [min, max]; when it is
 * absent, *out = dflt, or HV_EINVAL when required. */
int routes_query_int(struct srv_req *req, const char *name, int required,
                     int64_t dflt, int64_t min, int64_t max, int64_t *out,
                     struct hv_err *err);
int routes_query_num(struct srv_req *req, const char *name, int required,
                     double dflt, double min, double max, double *out,
                     struct hv_err *err);

/* ---- the table and the handlers (routes_*.c) ----------------------------- */

extern const struct rt_route routes_table[];
extern const size_t routes_count;

/* Where route (an index of routes_table) runs: RT_CHEAP for most. */
enum rt_cost routes_cost(size_t route);

rt_fn routes_root, routes_healthz, routes_readyz, routes_metrics,
    routes_openapi, routes_docs, routes_docs_static;

/* Parse and check an add_user_rating body (len bytes of JSON) into a new
 * array *out (caller frees) of *n ratings; HV_EINVAL naming the item and
 * field, HV_ETOOBIG over the per-call cap, HV_ENOMEM. Pure (the fuzz
 * target tests/fuzz/fuzz_http_body.c calls it). */
struct ratings_new;
int routes_parse_ratings(const char *body, size_t len,
                         struct ratings_new **out, size_t *n,
                         struct hv_err *err) HV_WARN_UNUSED;

rt_fn routes_users, routes_user_add, routes_user, routes_add_ratings, routes_token,
    routes_update_password, routes_secure_ratings;

rt_fn routes_movies, routes_random, routes_avg_ratings, routes_recommend,
    routes_recommend_batch;

rt_fn routes_evaluate, routes_reload, routes_drift;

#endif

/*
 * apiclient.h - a small client of Harvest's REST API on libcurl, for the
 * demo's replay: send ratings as the seed's clients did (POST
 * /users/add_user_rating/), ask for recommendations as users would (GET
 * /movies/recommend/{user}/{n}, reading the X-Model-Version header), and
 * probe a path's status (GET /readyz).
 *
 * Design: one struct apiclient is one libcurl easy handle, so connections
 * are kept alive between calls; bodies are built and read with jansson;
 * a response body is capped (APICLIENT_MAX_BODY). Every call returns 0 only
 * for a 2xx answer; otherwise HV_EIO (transport: refused, timeout, reset)
 * or the HTTP status mapped to a code, with "METHOD PATH: HTTP 422: detail"
 * in err so a failed request is counted and explained, never ignored.
 * Nothing here knows the server's internals: it speaks HTTP only.
 *
 * Threads: a client belongs to one thread; open one per thread.
 * apiclient_global_init must be called once before any thread opens one.
 */
#ifndef HV_DEMO_APICLIENT_H
#define HV_DEMO_APICLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define APICLIENT_MAX_BODY (8u << 20) /* bytes of a response kept */

struct apiclient;

/* curl_global_init, once per process, before any thread starts (libcurl's
 * rule). Returns 0 or HV_EINTERNAL. */
int apiclient_global_init(struct hv_err *err) HV_WARN_UNUSED;

/* A client of base_url ("http://127.0.0.1:8000", no trailing slash
 * needed) with a per-request timeout in seconds (> 0). *out is the
 * caller's to apiclient_close. */
int apiclient_open(const char *base_url, double timeout_s,
                   struct apiclient **out, struct hv_err *err) HV_WARN_UNUSED;

/* Send "Authorization: Bearer token" with every request from now on
 * (NULL or "": none). HV_EINVAL for a token too long or with a line
 * break. */
int apiclient_set_bearer(struct apiclient *c, const char *token,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Close the client; NULL does nothing. */
void apiclient_close(struct apiclient *c);

/* POST /users/add_user_rating/ with n ratings (user[i], movie[i],
 * rating[i]) as one all-or-nothing batch. *first_id (may be NULL) gets the
 * rating_id of the first inserted rating (the rest follow). */
int apiclient_add_ratings(struct apiclient *c, const int64_t *user,
                          const int64_t *movie, const float *rating, size_t n,
                          int64_t *first_id,
                          struct hv_err *err) HV_WARN_UNUSED;

/* GET /movies/recommend/{user}/{n}. version (cap bytes) gets the
 * X-Model-Version header ("NAME/VERSION"; "" when absent); *n_titles (may
 * be NULL) the number of titles in "message". */
int apiclient_recommend(struct apiclient *c, int64_t user, int n,
                        char *version, size_t cap, int *n_titles,
                        struct hv_err *err) HV_WARN_UNUSED;

/* GET path; *status gets the HTTP status (0 on a transport error, which
 * returns HV_EIO). Any status returns 0. */
int apiclient_status(struct apiclient *c, const char *path, long *status,
                     struct hv_err *err) HV_WARN_UNUSED;

#endif

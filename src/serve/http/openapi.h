/*
 * openapi.h - the API description (/openapi.json) and its HTML rendering
 * (/docs), both generated from the route table.
 *
 * Design: the route table in routes.c is the single source: every route's
 * methods, path, parameters, auth, body and error statuses become one
 * OpenAPI 3.0 operation, and the /docs page is rendered from that JSON (not
 * from the table), so the page can never disagree with the spec. Both are
 * built once at server start.
 *
 * Threads: pure functions of their inputs.
 */
#ifndef HV_SERVE_HTTP_OPENAPI_H
#define HV_SERVE_HTTP_OPENAPI_H

#include <stddef.h>

#include "serve/http/router.h"
#include "util/err.h"

/* OpenAPI 3.0 JSON for table[0..n) in a new string *out (caller frees);
 * max_n is the server's bound on n in the recommend routes. */
int openapi_json(const struct rt_route *table, size_t n, const char *version,
                 int max_n, char **out, size_t *len, struct hv_err *err) HV_WARN_UNUSED;

/* A self-contained HTML page describing the spec in spec_json (every text
 * HTML-escaped), in a new string *out (caller frees). HV_EINVAL when
 * spec_json is not a JSON object. */
int openapi_html(const char *spec_json, char **out, size_t *len,
                 struct hv_err *err) HV_WARN_UNUSED;

#endif

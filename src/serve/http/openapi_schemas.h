/*
 * openapi_schemas.h - the parts of /openapi.json the route table does not
 * carry: response schemas (components/schemas), the media type of each
 * route's 2xx answer, JSON body schemas and parameter bounds. Private to
 * openapi.c (and read by test_openapi).
 *
 * Threads: pure functions; every json_t returned is new (caller decrefs).
 */
#ifndef HV_SERVE_HTTP_OPENAPI_SCHEMAS_H
#define HV_SERVE_HTTP_OPENAPI_SCHEMAS_H

#include <jansson.h>

/* A route's success answer: media NULL for an answer without a body. */
struct openapi_answer {
  const char *route;  /* rt_route.name */
  int status;         /* 200, or 303 for the UI's form posts */
  const char *media;  /* "application/json", "text/html", ... (a list:
                         space-separated) */
  const char *schema; /* a components/schemas name, or inline JSON "{..." */
  const char *post_redirect; /* a POST may also answer 303: why (or NULL) */
};

/* components/schemas as a new object; NULL on out of memory. */
json_t *openapi_components(void);

/* The success answer of route (borrowed, static), or NULL: then the route
 * answers 200 text/html (the web UI's pages). */
const struct openapi_answer *openapi_answer_of(const char *route);

/* The headers of route's success answer (a new OpenAPI headers object),
 * or NULL when it sends none worth declaring. */
json_t *openapi_answer_headers(const char *route);

/* The schema of route's parameter (bounds, booleans; max_n is the
 * server's bound on n), or NULL when its table type says it all. */
json_t *openapi_param_schema(const char *route, const char *param,
                             int max_n);

/* The JSON body schema of route, or NULL. */
json_t *openapi_body_schema(const char *route);

#endif

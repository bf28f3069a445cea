/*
 * docs.h - the interactive /docs page: Swagger UI 3.x from the files of
 * Debian's python3-flasgger package (its ui3/static dist), read once when
 * the server starts and served at /docs/static/FILE, so the page needs no
 * CDN at run time and works offline. Harvest's own start script
 * (harvest-docs.js) points Swagger UI at /openapi.json; its try-it-out
 * calls this server (servers: [/]).
 *
 * Design: a fixed list of file names (nothing from a request reaches the
 * file system); the page and every static file carry DOCS_CSP, a strict
 * Content-Security-Policy (scripts, styles and connections from this
 * origin only, no inline script or style, no eval, no framing), declared
 * in /openapi.json. Without Swagger UI's files (package not installed,
 * --swagger-ui pointing elsewhere) /docs is the plain HTML page built
 * from the same document (openapi_html), styled by harvest-docs.css.
 *
 * Threads: docs_open before the workers start; afterwards read-only.
 */
#ifndef HV_SERVE_HTTP_DOCS_H
#define HV_SERVE_HTTP_DOCS_H

#include <stddef.h>

#include "util/err.h"

/* Where Debian's python3-flasgger puts Swagger UI 3.x. */
#define DOCS_SWAGGER_DIR "/usr/lib/python3/dist-packages/flasgger/ui3/static"

/* The Content-Security-Policy of /docs and /docs/static/FILE. */
#define DOCS_CSP                                                            \
  "default-src 'none'; script-src 'self'; style-src 'self'; "               \
  "img-src 'self' data:; connect-src 'self'; font-src 'self'; "             \
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct docs;

/* Read Swagger UI's files from dir (NULL = DOCS_SWAGGER_DIR) into a new
 * *out (docs_close frees it). A missing or unreadable file is not an
 * error: *out then serves the plain page and docs_why says why. Returns
 * 0, or HV_ENOMEM. */
int docs_open(const char *dir, struct docs **out,
              struct hv_err *err) HV_WARN_UNUSED;

/* Free d; NULL does nothing. */
void docs_close(struct docs *d);

/* 1 when Swagger UI's files were read (the interactive page is served). */
int docs_swagger(const struct docs *d);

/* Why Swagger UI is off ("" when it is on); borrowed. */
const char *docs_why(const struct docs *d);

/* The interactive page (borrowed, static) and its length; NULL when
 * Swagger UI is off. */
const char *docs_page(const struct docs *d, size_t *len);

/* The static file name: *body (borrowed), *len and *type (a MIME type).
 * 0, or HV_ENOTFOUND for a name not on the list or not read. */
int docs_file(const struct docs *d, const char *name, const char **body,
              size_t *len, const char **type) HV_WARN_UNUSED;

/* The names /docs/static/ may serve, NULL-terminated (for the OpenAPI
 * enum). */
extern const char *const docs_file_names[];

#endif

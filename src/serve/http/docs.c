/*
 * docs.c - Swagger UI for /docs from python3-flasgger's files: see docs.h.
 */
#include "serve/http/docs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"

/* Harvest's start script: Swagger UI on this server's document. An
 * external file, so the CSP can forbid inline scripts. */
static const char start_js[] =
    "/* harvest-docs.js: start Swagger UI on this server's /openapi.json */\n"
    "window.addEventListener('load', function () {\n"
    "  window.ui = SwaggerUIBundle({\n"
    "    url: '/openapi.json',\n"
    "    dom_id: '#swagger-ui',\n"
    "    deepLinking: true,\n"
    "    validatorUrl: null,\n"
    "    docExpansion: 'list',\n"
    "    defaultModelsExpandDepth: 0,\n"
    "    displayRequestDuration: true,\n"
    "    presets: [SwaggerUIBundle.presets.apis],\n"
    "    layout: 'BaseLayout'\n"
    "  });\n"
    "});\n";

/* The plain page's style (openapi_html links it). */
static const char plain_css[] =
    "body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}\n"
    ".op{border:1px solid #ccc;border-radius:4px;margin:1em 0;"
    "padding:0 1em}\n"
    ".m{background:#246;color:#fff;padding:0 .4em;border-radius:3px}\n"
    "table{border-collapse:collapse}\n"
    "td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}\n"
    ".auth{color:#a40}\n";

/* Spacing the page's own header, in a file of its own (CSP). */
static const char swagger_extra_css[] =
    ".hv-top{font:14px sans-serif;padding:8px 20px;background:#13233a;"
    "color:#fff}\n.hv-top a{color:#d6e4f5;margin-right:1em}\n";

static const char page_html[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>Harvest API</title>"
    "<link rel=\"stylesheet\" href=\"/docs/static/swagger-ui.css\">"
    "<link rel=\"stylesheet\" href=\"/docs/static/harvest-docs.css\">"
    "<link rel=\"icon\" type=\"image/png\" "
    "href=\"/docs/static/favicon-32x32.png\"></head><body>\n"
    "<div class=\"hv-top\">Harvest API &middot; <a href=\"/openapi.json\">"
    "/openapi.json</a><a href=\"/ui/\">web UI</a></div>\n"
    "<div id=\"swagger-ui\"><noscript>Swagger UI needs JavaScript; the API "
    "is described in <a href=\"/openapi.json\">/openapi.json</a>."
    "</noscript></div>\n"
    "<script src=\"/docs/static/swagger-ui-bundle.js\"></script>\n"
    "<script src=\"/docs/static/harvest-docs.js\"></script>\n"
    "</body></html>\n";

enum { F_BUNDLE, F_CSS, F_ICON32, F_ICON16, F_START, F_OWN_CSS, F_N };

/* Name, type, and whether it comes from the package (else built in). */
static const struct {
  const char *name, *type;
  int from_package, required;
} files[F_N] = {
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8", 1, 1},
    {"swagger-ui.css", "text/css; charset=utf-8", 1, 1},
    {"favicon-32x32.png", "image/png", 1, 0},
    {"favicon-16x16.png", "image/png", 1, 0},
    {"harvest-docs.js", "text/javascript; charset=utf-8", 0, 0},
    {"harvest-docs.css", "text/css; charset=utf-8", 0, 0},
};

const char *const docs_file_names[] = {
    "swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png",
    "favicon-16x16.png", "harvest-docs.js", "harvest-docs.css", NULL};

struct docs {
  int swagger;       /* the package's required files were read */
  char why[320];     /* why not */
  char *data[F_N];   /* package files (malloc'd), NULL when not read */
  size_t len[F_N];
  char *own_css;     /* harvest-docs.css: plain or Swagger page's */
  size_t own_css_len;
};

/* Largest package file read (the bundle is about 1 MB). */
#define DOCS_FILE_MAX (8u << 20)

int docs_open(const char *dir, struct docs **out, struct hv_err *err)
{
  struct docs *d = calloc(1, sizeof(*d));
  if (!d)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  if (!dir)
    dir = DOCS_SWAGGER_DIR;
  d->swagger = 1;
  for (int i = 0; i < F_N; i++) {
    if (!files[i].from_package)
      continue;
    char path[4200];
    struct hv_err fe = {0};
    if (hv_path_join(path, sizeof(path), dir, files[i].name, &fe) ||
        hv_read_file(path, DOCS_FILE_MAX, &d->data[i], &d->len[i], &fe)) {
      if (fe.code == HV_ENOMEM) {
        docs_close(d);
        return hv_err_set(err, HV_ENOMEM, "out of memory");
      }
      if (files[i].required && d->swagger) {
        d->swagger = 0;
        snprintf(d->why, sizeof(d->why),
                 "Swagger UI off, /docs is a plain page: %s (install "
                 "Debian's python3-flasgger, or give --swagger-ui DIR)",
                 fe.msg);
      }
    }
  }
  /* the Swagger page's header, else the plain page's whole style */
  const char *css = d->swagger ? swagger_extra_css : plain_css;
  d->own_css_len = strlen(css);
  if (!(d->own_css = strdup(css))) {
    docs_close(d);
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  }
  *out = d;
  return 0;
}

void docs_close(struct docs *d)
{
  if (!d)
    return;
  for (int i = 0; i < F_N; i++)
    free(d->data[i]);
  free(d->own_css);
  free(d);
}

int docs_swagger(const struct docs *d)
{
  return d && d->swagger;
}

const char *docs_why(const struct docs *d)
{
  return d ? d->why : "";
}

const char *docs_page(const struct docs *d, size_t *len)
{
  if (!docs_swagger(d))
    return NULL;
  *len = sizeof(page_html) - 1;
  return page_html;
}

int docs_file(const struct docs *d, const char *name, const char **body,
              size_t *len, const char **type)
{
  for (int i = 0; d && name && i < F_N; i++) {
    if (strcmp(files[i].name, name))
      continue;
    if (i == F_OWN_CSS) {
      *body = d->own_css;
      *len = d->own_css_len;
    } else if (i == F_START) {
      if (!d->swagger)
        break;
      *body = start_js;
      *len = sizeof(start_js) - 1;
    } else {
      if (!d->swagger || !d->data[i])
        break;
      *body = d->data[i];
      *len = d->len[i];
    }
    *type = files[i].type;
    return 0;
  }
  return HV_ENOTFOUND;
}

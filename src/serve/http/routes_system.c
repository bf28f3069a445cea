/*
 * routes_system.c - /, /healthz, /readyz, /metrics, /openapi.json, /docs.
 */
#include <stdlib.h>
#include <string.h>

#include "serve/http/docs.h"
#include "serve/http/modelslot.h"
#include "serve/http/routes.h"

int routes_root(struct srv_req *req, struct srv_resp *resp, struct hv_err *err)
{
  return routes_message(resp,
                        "Harvest movie recommender API; see /docs for the "
                        "routes",
                        err);
}

int routes_healthz(struct srv_req *req, struct srv_resp *resp,
                   struct hv_err *err)
{
  return routes_json(resp, json_pack("{s:s}", "status", "ok"), err);
}

int routes_readyz(struct srv_req *req, struct srv_resp *resp,
                  struct hv_err *err)
{
  char why[320];
  struct modelslot_snap *snap = srv_model(req, why, sizeof(why));
  if (!snap || !srv_db_ready(req, why, sizeof(why))) {
    resp->status = 503;
    resp->retry_after = 1;
    return routes_json(resp, json_pack("{s:s}", "detail", why), err);
  }
  return routes_json(resp,
                     json_pack("{s:s, s:s, s:I, s:s}", "status", "ready",
                               "model", snap->name, "version",
                               (json_int_t)snap->version, "stage",
                               snap->stage),
                     err);
}

int routes_metrics(struct srv_req *req, struct srv_resp *resp,
                   struct hv_err *err)
{
  if (srv_metrics_text(req, &resp->body, &resp->len, err))
    return err->code;
  resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
  return 0;
}

/* Answer a copy of a cached text. */
static int cached(struct srv_resp *resp, const char *text, size_t len,
                  const char *type, struct hv_err *err)
{
  resp->body = malloc(len + 1);
  if (!resp->body)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  memcpy(resp->body, text, len + 1);
  resp->len = len;
  resp->content_type = type;
  return 0;
}

int routes_openapi(struct srv_req *req, struct srv_resp *resp,
                   struct hv_err *err)
{
  size_t len;
  const char *t = srv_openapi(req, &len);
  return cached(resp, t, len, "application/json", err);
}

/* The headers of /docs and its files: docs.h's strict CSP. */
static int docs_headers(struct srv_resp *resp, const char *cache,
                        struct hv_err *err)
{
  if (routes_header(resp, "Content-Security-Policy", DOCS_CSP, err) ||
      routes_header(resp, "X-Content-Type-Options", "nosniff", err) ||
      routes_header(resp, "Cache-Control", cache, err))
    return err->code;
  return 0;
}

int routes_docs(struct srv_req *req, struct srv_resp *resp,
                struct hv_err *err)
{
  size_t len;
  const char *t = srv_docs(req, &len);
  if (cached(resp, t, len, "text/html; charset=utf-8", err))
    return err->code;
  return docs_headers(resp, "no-cache", err);
}

int routes_docs_static(struct srv_req *req, struct srv_resp *resp,
                       struct hv_err *err)
{
  char file[64];
  const char *body, *type;
  size_t len;
  if (rt_capture(&req->match, 0, file, sizeof(file)) ||
      docs_file(srv_swagger(req), file, &body, &len, &type))
    return hv_err_set(err, HV_ENOTFOUND,
                      "no such file under /docs/static/ (Swagger UI's files "
                      "are served when Debian's python3-flasgger is "
                      "installed)");
  /* cached() copies len + 1 bytes: the package files and the built-in
   * ones are NUL-terminated */
  if (cached(resp, body, len, type, err))
    return err->code;
  return docs_headers(resp, "public, max-age=3600", err);
}

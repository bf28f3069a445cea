/*
 * openapi.c - OpenAPI JSON and the /docs page from the route table: see
 * openapi.h.
 */
#include "serve/http/openapi.h"
#include "serve/http/openapi_schemas.h"
#include "serve/http/policy.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/htmlesc.h"

static const char *const method_names[] = {"get", "post", "head", "put",
                                           "delete"};

static json_t *param_schema(const struct rt_route *r,
                            const struct rt_param *p, int max_n)
{
  json_t *s = openapi_param_schema(r->name, p->name, max_n);
  if (s)
    return s;
  if (!strcmp(p->type, "array"))
    return json_pack("{s:s, s:{s:s}}", "type", "array", "items", "type",
                     "string");
  return json_pack("{s:s}", "type", p->type);
}

/* {"MEDIA": {"schema": SCHEMA}}: schema a components name or inline JSON. */
static json_t *content(const char *media, const char *schema)
{
  json_error_t je;
  json_t *sc = schema[0] == '{'
                   ? json_loads(schema, 0, &je)
                   : json_pack("{s:s+}", "$ref", "#/components/schemas/",
                               schema);
  return json_pack("{s:{s:o}}", media, "schema", sc);
}

/* content() for each media type of a space-separated list. */
static json_t *contents(const char *media, const char *schema)
{
  json_t *c = json_object();
  char one[64];
  for (const char *m = media; *m;) {
    size_t n = strcspn(m, " ");
    snprintf(one, sizeof(one), "%.*s", (int)n, m);
    json_t *x = content(one, schema);
    json_object_update(c, x);
    json_decref(x);
    m += n + (m[n] == ' ');
  }
  return c;
}

static json_t *error_response(int status, int html)
{
  static const char *const why[][2] = {
      {"400", "bad request"},
      {"401", "missing, expired or invalid credentials"},
      {"403", "not allowed for these credentials"},
      {"404", "not found"},
      {"409", "conflict with the current state"},
      {"413", "request body too large"},
      {"414", "URI or query too long"},
      {"422", "invalid parameter or body (the field is named)"},
      {"429", "too many attempts; retry later"},
      {"500", "server error"},
      {"503", "not now: no model loaded, the database busy past its "
              "timeout, or a queue (monitoring, password hashing) full; "
              "retry after Retry-After seconds"},
      {"507", "the home's disk is full: the write was not made (nothing "
              "of it is kept; reads still answer)"}};
  char code[8];
  snprintf(code, sizeof(code), "%d", status);
  const char *d = "error";
  for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++)
    if (!strcmp(why[i][0], code))
      d = why[i][1];
  /* the web UI's own errors are pages; the router's refusals (policy,
   * limits) are {"detail"} on every route */
  json_t *c = content("application/json", "Error");
  if (html) {
    json_t *h = content("text/html", "{\"type\": \"string\"}");
    json_object_update(c, h);
    json_decref(h);
  }
  json_t *out = json_pack("{s:s, s:o}", "description", d, "content", c);
  if (status == 429 || status == 503)
    json_object_set_new(out, "headers",
                        json_pack("{s:{s:s, s:{s:s}}}", "Retry-After",
                                  "description", "seconds to wait",
                                  "schema", "type", "integer"));
  return out;
}

/* A 303 with its Location header. */
static json_t *redirect(const char *desc)
{
  return json_pack("{s:s, s:{s:{s:s, s:{s:s}}}}", "description", desc,
                   "headers", "Location", "description", "the page to go to",
                   "schema", "type", "string");
}

/* The success answer of r and its 303s: a form post's redirect (to the
 * page after it), and on a web UI page with a policy the browser without
 * a session sent to the login page (the 401 a script gets elsewhere). */
static void successes(const struct rt_route *r, const char *method, int ui,
                      json_t *out)
{
  const struct openapi_answer *a = openapi_answer_of(r->name);
  const char *desc = r->response ? r->response : "OK";
  if (a && a->media) {
    json_t *ok = json_pack("{s:s, s:o}", "description", desc, "content",
                           contents(a->media, a->schema));
    json_t *headers = openapi_answer_headers(r->name);
    if (headers)
      json_object_set_new(ok, "headers", headers);
    json_object_set_new(out, a->status == 200 ? "200" : "201", ok);
  }
  else if (a)
    json_object_set_new(out, "303", redirect(desc));
  else
    json_object_set_new(out, "200",
                        json_pack("{s:s, s:o}", "description", desc,
                                  "content",
                                  content("text/html",
                                          "{\"type\": \"string\"}")));
  if (a && a->post_redirect && !strcmp(method, "post"))
    json_object_set_new(out, "303", redirect(a->post_redirect));
  if (ui && r->policy != RT_PUBLIC && strcmp(method, "post"))
    json_object_set_new(out, "303",
                        redirect("no session (or a refused credential): to "
                                 "/ui/login?next=THIS_PAGE"));
}

/* The success answer and every error status r can give for method: its
 * own list, and for a route with a policy the refusals of credentials
 * (401, 403, and 429 once an address spent its admin-key attempts; a web
 * UI page's 401 is the 303 above). The web UI's answers its errors as
 * HTML pages. */
static json_t *responses(const struct rt_route *r, const char *method)
{
  json_t *out = json_object();
  char code[8];
  int ui = r->tag && !strcmp(r->tag, "ui");
  successes(r, method, ui, out);
  for (const int *e = r->errors; e && *e; e++) {
    snprintf(code, sizeof(code), "%d", *e);
    json_object_set_new(out, code, error_response(*e, ui));
  }
  static const int refusals[] = {401, 403, 429};
  for (size_t i = 0; r->policy != RT_PUBLIC && i < 3; i++) {
    snprintf(code, sizeof(code), "%d", refusals[i]);
    if (refusals[i] == 401 && json_object_get(out, "303") && ui &&
        strcmp(method, "post"))
      continue;
    if (!json_object_get(out, code))
      json_object_set_new(out, code, error_response(refusals[i], ui));
  }
  return out;
}

static json_t *request_body(const struct rt_route *r, json_t *form,
                            json_t *form_req)
{
  if (json_object_size(form))
    return json_pack("{s:b, s:{s:{s:{s:s, s:O, s:O}}}}", "required", 1,
                     "content", "application/x-www-form-urlencoded",
                     "schema", "type", "object", "properties", form,
                     "required", form_req);
  json_t *body = openapi_body_schema(r->name);
  if (!r->body && !body)
    return NULL;
  return json_pack("{s:b, s:s, s:{s:{s:o}}}", "required",
                   !(r->methods & RT_GET), "description",
                   r->body ? r->body : "", "content", "application/json",
                   "schema", body ? body : json_object());
}

static json_t *operation(const struct rt_route *r, const char *method,
                         int max_n)
{
  json_t *params = json_array(), *form = json_object(), *form_req = json_array();
  for (const struct rt_param *p = r->params; p && p->name; p++) {
    if (!strcmp(p->in, "form")) {
      json_object_set_new(form, p->name,
                          json_pack("{s:s, s:s}", "type", p->type,
                                    "description", p->description));
      if (p->required)
        json_array_append_new(form_req, json_string(p->name));
      continue;
    }
    json_array_append_new(
        params, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", p->name, "in",
                          p->in, "required", p->required, "description",
                          p->description, "schema", param_schema(r, p, max_n)));
  }
  char opid[96];
  snprintf(opid, sizeof(opid), "%s_%s", r->name, method);
  json_t *op = json_pack("{s:s, s:s, s:[s], s:o}", "operationId", opid,
                         "summary", r->summary, "tags", r->tag, "parameters",
                         params);
  json_object_set_new(op, "responses", responses(r, method));
  json_t *body = strcmp(method, "get") ? request_body(r, form, form_req)
                                       : NULL;
  if (body)
    json_object_set_new(op, "requestBody", body);
  /* x-harvest-policy: who may call it (policy.h); security: how to say
   * who you are. Under --seed-compat the seed_open routes are public. */
  json_object_set_new(op, "x-harvest-policy",
                      json_string(policy_name(r->policy)));
  if (r->seed_open)
    json_object_set_new(op, "x-harvest-seed-compat", json_string("public"));
  json_t *sec = json_array(); /* public: [], no credential needed */
  if (r->policy != RT_PUBLIC) {
    if (r->policy == RT_SELF) /* an end user's own token */
      json_array_append_new(sec, json_pack("{s:[]}", "bearer"));
    json_array_append_new(sec, json_pack("{s:[]}", "apiToken"));
    json_array_append_new(sec, json_pack("{s:[]}", "adminKey"));
    if (r->tag && !strcmp(r->tag, "ui"))
      json_array_append_new(sec, json_pack("{s:[]}", "uiSession"));
  }
  json_object_set_new(op, "security", sec);
  json_decref(form);
  json_decref(form_req);
  return op;
}

static json_t *components(void)
{
  return json_pack(
      "{s:{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, "
      "s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}, s:o}",
      "securitySchemes",
      "bearer", "type", "http", "scheme", "bearer", "bearerFormat", "JWT",
      "description", "an end user's token from POST /users/token",
      "apiToken", "type", "http", "scheme", "bearer", "bearerFormat",
      "hvt_...", "description",
      "an operator account's API token (harvest auth token create); the "
      "account's role (viewer, operator, admin) or a lower scope",
      "adminKey", "type", "apiKey", "in", "header", "name", "X-Admin-Key",
      "uiSession", "type", "apiKey", "in", "cookie", "name", "hv_session",
      "schemas", openapi_components());
}

int openapi_json(const struct rt_route *table, size_t n, const char *version,
                 int max_n, char **out, size_t *len, struct hv_err *err)
{
  json_t *paths = json_object();
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_object_get(paths, table[i].path);
    if (!item) {
      item = json_object();
      json_object_set_new(paths, table[i].path, item);
    }
    for (size_t k = 0; k < sizeof(method_names) / sizeof(method_names[0]);
         k++)
      if (table[i].methods & (1u << k))
        json_object_set_new(item, method_names[k],
                            operation(&table[i], method_names[k], max_n));
  }
  json_t *doc = json_pack(
      "{s:s, s:{s:s, s:s, s:s}, s:o, s:o}", "openapi", "3.0.3", "info",
      "title", "Harvest", "version", version ? version : "0",
      "description",
      "Movie recommendations from a two-tower model, compatible with the "
      "workshop's FastAPI service. Errors are {\"detail\": \"...\"}.",
      "paths", paths, "components", components());
  /* relative to where the document was read from: Swagger UI's try-it-out
   * calls the server that served it */
  json_object_set_new(doc, "servers", json_pack("[{s:s}]", "url", "/"));
  char *s = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(doc);
  if (!s)
    return hv_err_set(err, HV_ENOMEM, "out of memory building openapi.json");
  *out = s;
  *len = strlen(s);
  return 0;
}

static const char *str(json_t *o, const char *key)
{
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

static void html_params(FILE *f, json_t *op)
{
  json_t *params = json_object_get(op, "parameters"), *p;
  json_t *form = json_object_get(
      json_object_get(json_object_get(json_object_get(
                          json_object_get(op, "requestBody"), "content"),
                                      "application/x-www-form-urlencoded"),
                      "schema"),
      "properties");
  size_t i;
  const char *k;
  if (json_array_size(params) == 0 && json_object_size(form) == 0)
    return;
  fputs("<table><tr><th>parameter</th><th>in</th><th>type</th>"
        "<th>required</th><th>description</th></tr>\n", f);
  json_array_foreach(params, i, p)
  {
    fputs("<tr><td><code>", f);
    htmlesc_fputs(f, str(p, "name"));
    fputs("</code></td><td>", f);
    htmlesc_fputs(f, str(p, "in"));
    fputs("</td><td>", f);
    htmlesc_fputs(f, str(json_object_get(p, "schema"), "type"));
    fprintf(f, "</td><td>%s</td><td>",
            json_is_true(json_object_get(p, "required")) ? "yes" : "no");
    htmlesc_fputs(f, str(p, "description"));
    fputs("</td></tr>\n", f);
  }
  json_object_foreach(form, k, p)
  {
    fputs("<tr><td><code>", f);
    htmlesc_fputs(f, k);
    fputs("</code></td><td>form</td><td>", f);
    htmlesc_fputs(f, str(p, "type"));
    fputs("</td><td>yes</td><td>", f);
    htmlesc_fputs(f, str(p, "description"));
    fputs("</td></tr>\n", f);
  }
  fputs("</table>\n", f);
}

static void html_operation(FILE *f, const char *path, const char *method,
                           json_t *op)
{
  fputs("<div class=op><h3><span class=m>", f);
  for (const char *m = method; *m; m++)
    fputc(toupper((unsigned char)*m), f);
  fputs("</span> <code>", f);
  htmlesc_fputs(f, path);
  fputs("</code></h3>\n<p>", f);
  htmlesc_fputs(f, str(op, "summary"));
  fputs("</p>\n", f);
  const char *pol = str(op, "x-harvest-policy");
  if (pol && strcmp(pol, "public"))
    fprintf(f, "<p class=auth>Policy: %s. Send a bearer token "
               "(Authorization: Bearer TOKEN) or the admin key (X-Admin-Key "
               "header)%s</p>\n",
            pol, !strcmp(pol, "self") ? "; an end user's token acts on that "
                                        "user's own data only" : "");
  json_t *body = json_object_get(op, "requestBody");
  if (body && json_object_get(body, "description")) {
    fputs("<p>Body: ", f);
    htmlesc_fputs(f, str(body, "description"));
    fputs("</p>\n", f);
  }
  html_params(f, op);
  const char *code;
  json_t *r;
  fputs("<ul>", f);
  json_object_foreach(json_object_get(op, "responses"), code, r)
  {
    fputs("<li><b>", f);
    htmlesc_fputs(f, code);
    fputs("</b> ", f);
    htmlesc_fputs(f, str(r, "description"));
    fputs("</li>", f);
  }
  fputs("</ul></div>\n", f);
}

int openapi_html(const char *spec_json, char **out, size_t *len,
                 struct hv_err *err)
{
  json_error_t je;
  json_t *spec = spec_json ? json_loads(spec_json, 0, &je) : NULL;
  if (!json_is_object(spec)) {
    json_decref(spec);
    return hv_err_set(err, HV_EINVAL, "openapi spec is not a JSON object");
  }
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) {
    json_decref(spec);
    return hv_err_set(err, HV_ENOMEM, "out of memory building /docs");
  }
  json_t *info = json_object_get(spec, "info");
  fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<title>", f);
  htmlesc_fputs(f, str(info, "title"));
  /* the style is a file (/docs/static/harvest-docs.css): docs.h's CSP
   * forbids inline styles */
  fputs(" API</title><link rel=\"stylesheet\" "
        "href=\"/docs/static/harvest-docs.css\"></head><body>\n<h1>", f);
  htmlesc_fputs(f, str(info, "title"));
  fputs(" API <small>", f);
  htmlesc_fputs(f, str(info, "version"));
  fputs("</small></h1>\n<p>", f);
  htmlesc_fputs(f, str(info, "description"));
  fputs("</p><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json"
        "</a></p>\n", f);
  const char *path, *method;
  json_t *item, *op;
  json_object_foreach(json_object_get(spec, "paths"), path, item)
  {
    json_object_foreach(item, method, op)
    {
      html_operation(f, path, method, op);
    }
  }
  fputs("</body></html>\n", f);
  json_decref(spec);
  if (fclose(f) != 0 || !buf) {
    free(buf);
    return hv_err_set(err, HV_ENOMEM, "out of memory building /docs");
  }
  *out = buf;
  *len = n;
  return 0;
}

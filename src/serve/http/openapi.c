/*
 * openapi.c - OpenAPI JSON and the /docs page from the route table: see
 * openapi.h.
 */
#include "serve/http/openapi.h"
#include "serve/http/policy.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/htmlesc.h"

static const char *const method_names[] = {"get", "post", "head", "put",
                                           "delete"};

static json_t *param_schema(const struct rt_param *p)
{
  if (!strcmp(p->type, "array"))
    return json_pack("{s:s, s:{s:s}}", "type", "array", "items", "type",
                     "integer");
  return json_pack("{s:s}", "type", p->type);
}

static json_t *error_response(int status)
{
  static const char *const why[][2] = {
      {"400", "bad request"},
      {"401", "missing, expired or invalid credentials"},
      {"403", "not allowed for these credentials"},
      {"404", "not found"},
      {"413", "request body too large"},
      {"422", "invalid parameter or body (the field is named)"},
      {"429", "too many attempts; retry later"},
      {"500", "server error"},
      {"503", "no model loaded"}};
  char code[8];
  snprintf(code, sizeof(code), "%d", status);
  const char *d = "error";
  for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++)
    if (!strcmp(why[i][0], code))
      d = why[i][1];
  return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", d, "content",
                   "application/json", "schema", "$ref",
                   "#/components/schemas/Error");
}

static json_t *operation(const struct rt_route *r, const char *method)
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
                          p->description, "schema", param_schema(p)));
  }
  char opid[96];
  snprintf(opid, sizeof(opid), "%s_%s", r->name, method);
  json_t *op = json_pack("{s:s, s:s, s:[s], s:o}", "operationId", opid,
                         "summary", r->summary, "tags", r->tag, "parameters",
                         params);
  json_t *responses = json_pack("{s:{s:s}}", "200", "description",
                                r->response ? r->response : "OK");
  for (const int *e = r->errors; e && *e; e++) {
    char code[8];
    snprintf(code, sizeof(code), "%d", *e);
    json_object_set_new(responses, code, error_response(*e));
  }
  json_object_set_new(op, "responses", responses);
  if (json_object_size(form))
    json_object_set_new(
        op, "requestBody",
        json_pack("{s:b, s:{s:{s:{s:s, s:O, s:O}}}}", "required", 1,
                  "content", "application/x-www-form-urlencoded", "schema",
                  "type", "object", "properties", form, "required",
                  form_req));
  else if (r->body)
    json_object_set_new(
        op, "requestBody",
        json_pack("{s:b, s:s, s:{s:{s:{s:s}}}}", "required", 1,
                  "description", r->body, "content", "application/json",
                  "schema", "type", "array"));
  /* x-harvest-policy: who may call it (policy.h); security: how to say
   * who you are. Under --seed-compat the seed_open routes are public. */
  json_object_set_new(op, "x-harvest-policy",
                      json_string(policy_name(r->policy)));
  if (r->seed_open)
    json_object_set_new(op, "x-harvest-seed-compat", json_string("public"));
  if (r->policy != RT_PUBLIC) {
    json_t *sec = json_array();
    if (r->policy == RT_SELF) /* an end user's own token */
      json_array_append_new(sec, json_pack("{s:[]}", "bearer"));
    json_array_append_new(sec, json_pack("{s:[]}", "apiToken"));
    json_array_append_new(sec, json_pack("{s:[]}", "adminKey"));
    if (r->tag && !strcmp(r->tag, "ui"))
      json_array_append_new(sec, json_pack("{s:[]}", "uiSession"));
    json_object_set_new(op, "security", sec);
  }
  json_decref(form);
  json_decref(form_req);
  return op;
}

static json_t *components(void)
{
  return json_pack(
      "{s:{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, "
      "s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}, "
      "s:{s:{s:s, s:{s:{s:s}}}}}",
      "securitySchemes",
      "bearer", "type", "http", "scheme", "bearer", "bearerFormat", "JWT",
      "description", "an end user's token from POST /users/token",
      "apiToken", "type", "http", "scheme", "bearer", "bearerFormat",
      "hvt_...", "description",
      "an operator account's API token (harvest auth token create); the "
      "account's role (viewer, operator, admin) or a lower scope",
      "adminKey", "type", "apiKey", "in", "header", "name", "X-Admin-Key",
      "uiSession", "type", "apiKey", "in", "cookie", "name", "hv_session",
      "schemas", "Error", "type", "object", "properties", "detail", "type",
      "string");
}

int openapi_json(const struct rt_route *table, size_t n, const char *version,
                 char **out, size_t *len, struct hv_err *err)
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
                            operation(&table[i], method_names[k]));
  }
  json_t *doc = json_pack(
      "{s:s, s:{s:s, s:s, s:s}, s:o, s:o}", "openapi", "3.0.3", "info",
      "title", "Harvest", "version", version ? version : "0",
      "description",
      "Movie recommendations from a two-tower model, compatible with the "
      "workshop's FastAPI service. Errors are {\"detail\": \"...\"}.",
      "paths", paths, "components", components());
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
  fputs(" API</title><style>body{font-family:sans-serif;max-width:60em;"
        "margin:auto;padding:1em}.op{border:1px solid #ccc;border-radius:4px;"
        "margin:1em 0;padding:0 1em}.m{background:#246;color:#fff;"
        "padding:0 .4em;border-radius:3px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}"
        ".auth{color:#a40}</style></head><body>\n<h1>", f);
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

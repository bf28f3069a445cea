/*
 * request.c - the srv_* accessors a route handler reads its request and the
 * server's services through (routes.h): query string, headers, cookies,
 * form or JSON bodies, the worker's database connection and scoring
 * scratch, auth, metrics, config and the generated docs.
 *
 * Design: handlers never see libmicrohttpd; everything they read comes
 * through here. Form fields are parsed on first use (srv_form) and freed by
 * the server after the handler (request_form_free).
 *
 * Threads: on the worker running the request; srv_db and srv_scratch hand
 * out that worker's own connection and buffers.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recommend/recommend.h"
#include "serve/http/docs.h"
#include "serve/http/modelslot.h"
#include "serve/http/routes.h"
#include "serve/http/server_internal.h"
#include "store/db.h"
#include "util/mem.h"

struct hv_db *srv_db(struct srv_req *req, struct hv_err *err)
{
  struct srv_thread *t = req->thread;
  if (!t) {
    hv_err_set(err, HV_ENOMEM, "out of memory (thread state)");
    return NULL;
  }
  if (t->db && !db_alive(t->db)) { /* the server restarted: a new one */
    db_close(t->db);
    t->db = NULL;
  }
  if (!t->db && db_open(req->srv->db_path, &t->db, err))
    return NULL;
  return t->db;
}

int srv_scratch(struct srv_req *req, const struct modelslot_snap *snap,
                int n, struct recommend_list *l)
{
  struct srv_thread *t = req->thread;
  if (!t)
    return HV_ENOMEM;
  if (snap->scratch_size > t->scores_cap) {
    float *p = realloc(t->scores, snap->scratch_size * sizeof(float));
    if (!p)
      return HV_ENOMEM;
    t->scores = p;
    t->scores_cap = snap->scratch_size;
  }
  if (n > 0 && (size_t)n > t->n_cap) {
    size_t cap = n < 64 ? 64 : (size_t)n;
    void **const cols[] = {(void **)&t->ids, (void **)&t->top,
                           (void **)&t->top_retrieval};
    const size_t size[] = {sizeof(*t->ids), sizeof(*t->top),
                           sizeof(*t->top_retrieval)};
    if (mem_grow_cols(cols, size, 3, cap))
      return HV_ENOMEM;
    t->n_cap = cap;
  }
  /* retrieve-then-rank: room for the most candidates a query may ask */
  int nc = n > RECOMMEND_MAX_CANDIDATES ? n : RECOMMEND_MAX_CANDIDATES;
  if (nc > t->cand_cap) {
    struct recommend_cand *c = realloc(t->cands, (size_t)nc * sizeof(*c));
    if (!c)
      return HV_ENOMEM;
    t->cands = c;
    t->cand_cap = nc;
  }
  *l = (struct recommend_list){.movie_ids = t->ids, .scores = t->top,
                               .scratch = t->scores, .cap = n,
                               .retrieval_scores = t->top_retrieval,
                               .cands = t->cands, .cand_cap = t->cand_cap};
  return 0;
}

const char *srv_query(struct srv_req *req, const char *name)
{
  const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
                                              name);
  if (v)
    return v;
  /* "?name" with no '=' is present with a NULL value */
  return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name,
                                       strlen(name), NULL, NULL) == MHD_YES
             ? ""
             : NULL;
}

struct query_iter {
  const char *name;
  int (*fn)(void *ctx, const char *value);
  void *ctx;
  int rc;
};

static enum MHD_Result query_iter_cb(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
  struct query_iter *q = cls;
  if (!key || strcmp(key, q->name))
    return MHD_YES;
  q->rc = q->fn(q->ctx, value ? value : "");
  return q->rc ? MHD_NO : MHD_YES;
}

int srv_query_each(struct srv_req *req, const char *name,
                   int (*fn)(void *ctx, const char *value), void *ctx)
{
  struct query_iter q = {name, fn, ctx, 0};
  MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_iter_cb,
                            &q);
  return q.rc;
}

const char *srv_header(struct srv_req *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *srv_cookie(struct srv_req *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

struct ui *srv_ui(struct srv_req *req)
{
  return req->srv->ui;
}

#define FORM_VALUE_MAX 4096

static int form_put(struct srv_req *req, const char *key, const char *data,
                    size_t size, uint64_t off)
{
  int i = 0;
  while (i < req->n_form && strcmp(req->form_key[i], key))
    i++;
  if (i == req->n_form) {
    if (req->n_form == SRV_FORM_MAX || off != 0)
      return 0; /* ignore extra fields */
    req->form_key[i] = strdup(key);
    req->form_val[i] = calloc(1, 1);
    if (!req->form_key[i] || !req->form_val[i])
      return -1;
    req->n_form++;
  }
  size_t have = strlen(req->form_val[i]);
  if (have + size > FORM_VALUE_MAX)
    return -1;
  char *v = realloc(req->form_val[i], have + size + 1);
  if (!v)
    return -1;
  memcpy(v + have, data, size);
  v[have + size] = '\0';
  req->form_val[i] = v;
  return 0;
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *filename,
                                 const char *content_type,
                                 const char *transfer_encoding,
                                 const char *data, uint64_t off, size_t size)
{
  return key && form_put(cls, key, data ? data : "", size, off) == 0 ? MHD_YES
                                                                      : MHD_NO;
}

int srv_form_json(struct srv_req *req, struct hv_err *err)
{
  json_error_t je;
  json_t *j = json_loadb(req->body, req->body_len, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    return hv_err_set(err, HV_EINVAL,
                      j ? "body: expected a JSON object"
                        : "body: invalid JSON at line %d column %d: %s",
                      je.line, je.column, je.text);
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v)
  {
    char num[32];
    const char *text = json_string_value(v);
    if (json_is_integer(v)) {
      snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
      text = num;
    }
    if (text && form_put(req, k, text, strlen(text), 0) != 0) {
      json_decref(j);
      return hv_err_set(err, HV_EINVAL, "%s: value too long", k);
    }
  }
  json_decref(j);
  return 0;
}

static int form_parse(struct srv_req *req, struct hv_err *err)
{
  const char *ct = srv_header(req, "Content-Type");
  if (ct && !strncasecmp(ct, "application/json", 16))
    return srv_form_json(req, err);
  struct MHD_PostProcessor *pp =
      MHD_create_post_processor(req->conn, 1024, post_iter, req);
  if (!pp)
    return hv_err_set(err, HV_EINVAL,
                      "body: expected a form (application/x-www-form-"
                      "urlencoded or multipart/form-data) or a JSON object");
  enum MHD_Result ok = req->body_len
                           ? MHD_post_process(pp, req->body, req->body_len)
                           : MHD_YES;
  if (MHD_destroy_post_processor(pp) != MHD_YES || ok != MHD_YES)
    return hv_err_set(err, HV_EINVAL, "body: malformed form data");
  return 0;
}

const char *srv_form(struct srv_req *req, const char *name,
                     struct hv_err *err)
{
  if (req->n_form == 0 && form_parse(req, err))
    return NULL;
  if (req->n_form == 0)
    req->n_form = -1; /* parsed, empty */
  for (int i = 0; i < req->n_form; i++)
    if (!strcmp(req->form_key[i], name))
      return req->form_val[i];
  return NULL;
}

void request_form_free(struct srv_req *req)
{
  for (int i = 0; i < req->n_form; i++) {
    free(req->form_key[i]);
    free(req->form_val[i]);
  }
  req->n_form = 0;
}

struct auth *srv_auth(struct srv_req *req)
{
  return req->srv->auth;
}

struct metrics *srv_metrics(struct srv_req *req)
{
  return req->srv->metrics;
}

const struct serve_config *srv_config(struct srv_req *req)
{
  return &req->srv->cfg;
}

const char *srv_openapi(struct srv_req *req, size_t *len)
{
  *len = req->srv->openapi_len;
  return req->srv->openapi;
}

const char *srv_docs(struct srv_req *req, size_t *len)
{
  const char *page = docs_page(req->srv->swagger, len);
  if (page)
    return page;
  *len = req->srv->docs_len;
  return req->srv->docs;
}

const struct docs *srv_swagger(struct srv_req *req)
{
  return req->srv->swagger;
}

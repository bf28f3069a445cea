/*
 * routes_movies.c - /movies/...: the catalogue, random picks, average
 * ratings, and recommendations from the served model.
 *
 * The recommend path is the hot one: parse two path integers, take the
 * model snapshot, score into per-thread scratch (recommend_user allocates
 * nothing without exclude_rated), and copy the pre-encoded JSON titles of the snapshot into the
 * one allocation this request makes, its response body.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "recommend/recommend.h"
#include "serve/http/metrics.h"
#include "serve/http/modelslot.h"
#include "serve/http/routes.h"
#include "serve/http/server.h"
#include "store/catalog.h"
#include "store/ratings.h"
#include "util/parse.h"

#define MAX_RANDOM 10000

static int append_movie(void *ctx, const struct catalog_movie_row *m)
{
  json_t *genres = json_array();
  char buf[1024];
  snprintf(buf, sizeof(buf), "%s", m->genres);
  char *save = NULL;
  for (char *g = strtok_r(buf, "|", &save); g; g = strtok_r(NULL, "|", &save))
    json_array_append_new(genres, json_string(g));
  json_t *j = json_pack(
      "{s:I, s:s, s:o, s:o, s:o, s:o}", "movie_id", (json_int_t)m->id,
      "movie_title", m->title, "movie_genres", genres, "release_date",
      m->release_date ? json_string(m->release_date) : json_null(),
      "release_year", m->release_year ? json_integer(m->release_year)
                                      : json_null(),
      "imdb_url", m->imdb_url ? json_string(m->imdb_url) : json_null());
  return j && json_array_append_new(ctx, j) == 0 ? 0 : HV_ENOMEM;
}

/* {"message": [...]} of a filled list, or the error. */
static int message_list(struct srv_resp *resp, json_t *list, int rc,
                        struct hv_err *err)
{
  if (rc) {
    json_decref(list);
    return rc == HV_ENOMEM ? hv_err_set(err, HV_ENOMEM, "out of memory") : rc;
  }
  return routes_json(resp, json_pack("{s:o}", "message", list), err);
}

int routes_movies(struct srv_req *req, struct srv_resp *resp,
                  struct hv_err *err)
{
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  json_t *list = json_array();
  return message_list(resp, list,
                      list ? catalog_movies_each(c, append_movie, list, err)
                           : HV_ENOMEM,
                      err);
}

int routes_random(struct srv_req *req, struct srv_resp *resp,
                  struct hv_err *err)
{
  int64_t n;
  if (routes_path_int(req, 0, 1, MAX_RANDOM, "n", &n, err))
    return err->code;
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  json_t *list = json_array();
  return message_list(resp, list,
                      list ? catalog_movies_random(c, n, append_movie, list, err)
                           : HV_ENOMEM,
                      err);
}

static int append_avg(void *ctx, int64_t id, const char *title, double avg,
                      int64_t n)
{
  json_t *j = json_pack("{s:s, s:f, s:I, s:I}", "movie_title", title,
                        "rating", avg, "movie_id", (json_int_t)id,
                        "n_ratings", (json_int_t)n);
  return j && json_array_append_new(ctx, j) == 0 ? 0 : HV_ENOMEM;
}

int routes_avg_ratings(struct srv_req *req, struct srv_resp *resp,
                       struct hv_err *err)
{
  double lo, hi;
  if (routes_query_num(req, "min_rating", 0, 0, 0, 5, &lo, err) ||
      routes_query_num(req, "max_rating", 0, 5, 0, 5, &hi, err))
    return err->code;
  if (lo > hi)
    return hv_err_set(err, HV_EINVAL,
                      "min_rating: %g is above max_rating %g", lo, hi);
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  json_t *list = json_array();
  int rc = list ? ratings_movie_avg_each(c, lo, hi, append_avg, list, err)
                : HV_ENOMEM;
  if (rc) {
    json_decref(list);
    return rc == HV_ENOMEM ? hv_err_set(err, HV_ENOMEM, "out of memory") : rc;
  }
  return routes_json(resp, list, err);
}

/* 503 {"detail": why} when no model is loaded. */
static int no_model(struct srv_resp *resp, const char *why,
                    struct hv_err *err)
{
  resp->status = 503;
  resp->retry_after = 1;
  return routes_json(resp, json_pack("{s:s}", "detail", why), err);
}

/* Bytes the JSON list of ids[0..k) takes: titles, commas, brackets. */
static size_t titles_size(const struct modelslot_snap *snap,
                          const int64_t *ids, int k)
{
  size_t total = 2, len;
  for (int i = 0; i < k; i++)
    total += (modelslot_title(snap, ids[i], &len) ? len : 4) + 1;
  return total;
}

/* Write the JSON list of titles of ids[0..k) at p; returns the end. */
static char *put_titles(const struct modelslot_snap *snap, const int64_t *ids,
                        int k, char *p)
{
  size_t len;
  *p++ = '[';
  for (int i = 0; i < k; i++) {
    const char *t = modelslot_title(snap, ids[i], &len);
    if (i)
      *p++ = ',';
    if (!t) { /* a movie the catalogue no longer holds */
      t = "null";
      len = 4;
    }
    memcpy(p, t, len);
    p += len;
  }
  *p++ = ']';
  return p;
}

/* Top n for one user into the thread's buffers (*l). */
static int recommend_one(struct srv_req *req, struct modelslot_snap *snap,
                         const struct modelslot_snap *ranker, int order,
                         int64_t user, int n, const char *what,
                         struct recommend_list *l, struct recommend_query *qo,
                         struct hv_err *err)
{
  if (srv_scratch(req, snap, n, l))
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  struct recommend_query q = {.model = snap->model, .memo = snap->topcache,
                              .user = user, .n = n,
                              .ranker = ranker ? ranker->model : NULL,
                              .candidates = srv_config(req)->candidates,
                              .order = order,
                              .blend = srv_config(req)->blend};
  const char *cand = srv_query(req, "candidates");
  int64_t k;
  if (cand) {
    if (hv_parse_i64(cand, 1, RECOMMEND_MAX_CANDIDATES, &k, "candidates",
                     err))
      return HV_EINVAL;
    q.candidates = (int)k;
  }
  /* the server's own pipeline is memoised per user (recommend_memo) */
  const struct serve_config *cfg = srv_config(req);
  if (ranker && order == cfg->stage && q.candidates == cfg->candidates &&
      cfg->cache_n > 0)
    q.ranked_memo = modelslot_ranked_memo(
        snap, ranker, order, cfg->blend, cfg->candidates,
        cfg->cache_n < SERVE_DEFAULT_CACHE_N ? cfg->cache_n
                                             : SERVE_DEFAULT_CACHE_N);
  const char *ex = srv_query(req, "exclude_rated");
  struct hv_db *c = NULL;
  if (ex && (!strcmp(ex, "true") || !strcmp(ex, "1"))) {
    q.exclude_rated = 1;
    if (!(c = srv_db(req, err)))
      return err->code;
  } else if (ex && strcmp(ex, "false") && strcmp(ex, "0")) {
    return hv_err_set(err, HV_EINVAL,
                      "exclude_rated: '%.32s' is not true or false", ex);
  }
  struct hv_err rerr = {0};
  int rc = recommend_user(c, &q, l, &rerr);
  if (qo)
    *qo = q;
  if (rc == HV_ENOTFOUND)
    return hv_err_set(err, HV_EINVAL, "%s: unknown user %lld", what,
                      (long long)user);
  if (rc)
    return hv_err_set(err, rc, "%s", rerr.msg);
  return 0;
}

/* X-Model-Version: the retrieval model's "NAME/VERSION", and the
 * ranker's after ", " when it ordered the answer. */
static void set_version(struct srv_resp *resp,
                        const struct modelslot_snap *snap,
                        const struct modelslot_snap *ranker)
{
  _Static_assert(sizeof(resp->model_version) == sizeof(snap->version_text),
                 "X-Model-Version buffers differ");
  memcpy(resp->model_version, snap->version_text,
         sizeof(resp->model_version));
  if (ranker) {
    size_t o = strlen(resp->model_version);
    snprintf(resp->model_version + o, sizeof(resp->model_version) - o,
             ", %s", ranker->version_text);
  }
}

/* The ranker for this request and its order: ?stage= (blend, ranking or
 * retrieval), else the server's --stage; the served ranker unless the
 * stage is retrieval (NULL then, or when none is served). Release with
 * modelslot_release. */
static int take_ranker(struct srv_req *req, struct modelslot_snap **out,
                       int *order, struct hv_err *err)
{
  const char *st = srv_query(req, "stage");
  int stage = srv_config(req)->stage;
  *out = NULL;
  if (st) {
    for (stage = 0; recommend_stage_names[stage] &&
                    strcmp(st, recommend_stage_names[stage]);
         stage++)
      ;
    if (!recommend_stage_names[stage])
      return hv_err_set(err, HV_EINVAL, "stage: '%.32s' is not blend, "
                        "ranking or retrieval", st);
  }
  *order = stage;
  if (stage != RECOMMEND_STAGE_RETRIEVAL)
    *out = srv_ranker(req);
  return 0;
}

/* ?explain=true|false (1|0) into *on. */
static int explain_flag(struct srv_req *req, int *on, struct hv_err *err)
{
  const char *v = srv_query(req, "explain");
  *on = v && (!strcmp(v, "true") || !strcmp(v, "1"));
  if (v && !*on && strcmp(v, "false") && strcmp(v, "0"))
    return hv_err_set(err, HV_EINVAL, "explain: '%.32s' is not true or "
                      "false", v);
  return 0;
}

/* The title of id as a JSON string (or null when the catalogue lacks it). */
static json_t *title_json(const struct modelslot_snap *snap, int64_t id)
{
  size_t len = 0;
  const char *lit = modelslot_title(snap, id, &len);
  json_error_t je;
  json_t *t = lit ? json_loadb(lit, len, JSON_DECODE_ANY, &je) : NULL;
  return t ? t : json_null();
}

/* One movie's explanation as JSON. */
static json_t *why_json(const struct modelslot_snap *snap,
                        const struct recommend_why *w)
{
  json_t *nb = json_array();
  for (int j = 0; j < w->n_neighbours; j++)
    json_array_append_new(
        nb, json_pack("{s:I, s:o, s:f, s:f}", "movie_id",
                      (json_int_t)w->neighbour_id[j], "title",
                      title_json(snap, w->neighbour_id[j]), "rating",
                      (double)w->neighbour_rating[j], "similarity",
                      (double)w->neighbour_sim[j]));
  json_t *o = json_pack("{s:I, s:o, s:f, s:f, s:o}", "movie_id",
                        (json_int_t)w->movie_id, "title",
                        title_json(snap, w->movie_id), "retrieval_score",
                        (double)w->retrieval, "score", (double)w->score,
                        "neighbours", nb);
  if (o && w->ranked) {
    json_t *c = json_object();
    for (int g = 0; g < RANK_NGROUPS; g++)
      json_object_set_new(c, model_rank_group_names[g],
                          json_real((double)w->contrib[g]));
    json_object_set_new(o, "predicted_rating", json_real((double)w->predicted));
    json_object_set_new(o, "ranker_contributions", c);
  }
  return o;
}

/* The answer with explanations: {"message": [titles], "stage",
 * "explanations": [...]}, built with jansson (off the hot path). */
static int explain_body(struct srv_req *req, const struct modelslot_snap *snap,
                        const struct recommend_query *q,
                        const struct recommend_list *l, struct srv_resp *resp,
                        struct hv_err *err)
{
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  struct recommend_why *why = calloc((size_t)l->k + 1, sizeof(*why));
  if (!why)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  int rc = recommend_explain(c, q, l, why, err);
  json_t *titles = json_array(), *ex = json_array();
  for (int i = 0; !rc && i < l->k; i++) {
    json_array_append_new(titles, title_json(snap, l->movie_ids[i]));
    json_array_append_new(ex, why_json(snap, &why[i]));
  }
  free(why);
  json_t *j = json_pack("{s:o, s:s, s:o}", "message", titles, "stage",
                        recommend_stage_names[l->ranked
                                                  ? q->order
                                                  : RECOMMEND_STAGE_RETRIEVAL],
                        "explanations", ex);
  char *body = j && !rc ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (rc)
    return rc;
  if (!body)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  resp->body = body;
  resp->len = strlen(body);
  return 0;
}

int routes_recommend(struct srv_req *req, struct srv_resp *resp,
                     struct hv_err *err)
{
  int64_t user, n;
  if (routes_path_int(req, 0, 0, INT64_MAX, "user", &user, err) ||
      routes_path_int(req, 1, 1, srv_config(req)->max_n, "n", &n, err))
    return err->code;
  char why[320];
  struct modelslot_snap *snap = srv_model(req, why, sizeof(why));
  if (!snap)
    return no_model(resp, why, err);
  struct recommend_list l;
  struct recommend_query q;
  struct modelslot_snap *ranker = NULL;
  int order = 0, explain = 0;
  if (explain_flag(req, &explain, err) ||
      take_ranker(req, &ranker, &order, err) ||
      recommend_one(req, snap, ranker, order, user, (int)n, "user", &l, &q,
                    err)) {
    modelslot_release(ranker);
    return err->code;
  }
  set_version(resp, snap, l.ranked ? ranker : NULL);
  if (explain) {
    int rc = explain_body(req, snap, &q, &l, resp, err);
    modelslot_release(ranker);
    if (!rc)
      metrics_recommend(srv_metrics(req), 1, (uint64_t)l.k);
    return rc;
  }
  modelslot_release(ranker);
  const int64_t *ids = l.movie_ids;
  const int k = l.k;
  static const char head[] = "{\"message\":";
  size_t cap = sizeof(head) + titles_size(snap, ids, k) + 2;
  char *body = malloc(cap), *p = body;
  if (!body)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  memcpy(p, head, sizeof(head) - 1);
  p = put_titles(snap, ids, k, p + sizeof(head) - 1);
  *p++ = '}';
  *p = '\0';
  resp->body = body;
  resp->len = (size_t)(p - body);
  metrics_recommend(srv_metrics(req), 1, (uint64_t)k);
  return 0;
}

struct batch {
  int64_t *users;
  size_t n, cap, max;
  struct hv_err *err;
};

static int batch_user(void *ctx, const char *value)
{
  struct batch *b = ctx;
  char what[32];
  snprintf(what, sizeof(what), "users[%zu]", b->n);
  if (b->n == b->max)
    return hv_err_set(b->err, HV_EINVAL, "users: at most %zu per call",
                      b->max);
  int64_t id;
  if (hv_parse_i64(value, 0, INT64_MAX, &id, what, b->err))
    return HV_EINVAL;
  if (b->n == b->cap) {
    b->cap = b->cap ? 2 * b->cap : 16;
    int64_t *p = realloc(b->users, b->cap * sizeof(*p));
    if (!p)
      return hv_err_set(b->err, HV_ENOMEM, "out of memory");
    b->users = p;
  }
  b->users[b->n++] = id;
  return 0;
}

/* Write the batch answer for b's users to f. */
static int batch_write(struct srv_req *req, struct modelslot_snap *snap,
                       const struct modelslot_snap *ranker, int order,
                       const struct batch *b, int n, FILE *f,
                       struct hv_err *err)
{
  uint64_t items = 0;
  fputc('[', f);
  for (size_t i = 0; i < b->n; i++) {
    char what[32];
    struct recommend_list l;
    snprintf(what, sizeof(what), "users[%zu]", i);
    if (recommend_one(req, snap, ranker, order, b->users[i], n, what, &l,
                      NULL, err))
      return err->code;
    char *list = malloc(titles_size(snap, l.movie_ids, l.k) + 1);
    if (!list)
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    char *end = put_titles(snap, l.movie_ids, l.k, list);
    fprintf(f, "%s{\"user_id\":%lld,\"movies\":", i ? "," : "",
            (long long)b->users[i]);
    fwrite(list, 1, (size_t)(end - list), f);
    fputc('}', f);
    free(list);
    items += (uint64_t)l.k;
  }
  fputc(']', f);
  metrics_recommend(srv_metrics(req), b->n, items);
  return 0;
}

/* The POST form's body {"users": [1, 2, ...]} into b (ids as JSON
 * integers or strings of digits, as the query form takes them). */
static int batch_body(struct srv_req *req, struct batch *b)
{
  json_error_t je;
  json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
                         &je);
  json_t *users = json_object_get(j, "users");
  int rc = 0;
  if (!j)
    rc = hv_err_set(b->err, HV_EINVAL,
                    "body: invalid JSON at line %d column %d: %s", je.line,
                    je.column, je.text);
  else if (!json_is_array(users))
    rc = hv_err_set(b->err, HV_EINVAL,
                    "body: expected {\"users\": [user id, ...]}");
  for (size_t i = 0; !rc && i < json_array_size(users); i++) {
    json_t *u = json_array_get(users, i);
    char num[32];
    const char *text = json_string_value(u);
    if (json_is_integer(u)) {
      snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(u));
      text = num;
    }
    rc = text ? batch_user(b, text)
              : hv_err_set(b->err, HV_EINVAL,
                           "users[%zu]: expected an integer", i);
  }
  json_decref(j);
  return rc;
}

int routes_recommend_batch(struct srv_req *req, struct srv_resp *resp,
                           struct hv_err *err)
{
  int64_t n;
  if (routes_path_int(req, 0, 1, srv_config(req)->max_n, "n", &n, err))
    return err->code;
  struct batch b = {.max = (size_t)srv_config(req)->max_batch, .err = err};
  if (req->method_bit == RT_POST ? batch_body(req, &b)
                                 : srv_query_each(req, "users", batch_user,
                                                  &b)) {
    free(b.users);
    return err->code;
  }
  if (b.n == 0)
    return hv_err_set(err, HV_EINVAL,
                      req->method_bit == RT_POST
                          ? "users: the list is empty"
                          : "users: query parameter is required "
                            "(?users=1&users=2)");
  char why[320];
  struct modelslot_snap *snap = srv_model(req, why, sizeof(why));
  if (!snap) {
    free(b.users);
    return no_model(resp, why, err);
  }
  char *buf = NULL;
  size_t len = 0;
  struct modelslot_snap *ranker = NULL;
  int order = 0;
  if (take_ranker(req, &ranker, &order, err)) {
    free(b.users);
    return err->code;
  }
  FILE *f = open_memstream(&buf, &len);
  int rc = f ? batch_write(req, snap, ranker, order, &b, (int)n, f, err)
             : hv_err_set(err, HV_ENOMEM, "out of memory");
  free(b.users);
  set_version(resp, snap, ranker);
  modelslot_release(ranker);
  if (f && fclose(f) != 0 && !rc)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory");
  if (rc) {
    free(buf);
    return rc;
  }
  resp->body = buf;
  resp->len = len;
  return 0;
}

/*
 * test_openapi.c - the API contract as a client reads it (issue 16):
 * /openapi.json validated by a real OpenAPI linter (`redocly lint`, from
 * npm, installed at test time into the build folder from the committed
 * tests/npm/package-lock.json; skipped with a message when npm or the
 * registry is not there), and every answer the server gives on every
 * route, successes and errors, checked against the schema the document
 * declares for that route, method and status (a small JSON-schema checker
 * below: type, nullable, enum, properties, required,
 * additionalProperties, items, minItems, maxItems, minimum, maximum, $ref).
 * A status the document does not declare for the route fails the test.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "serve/http/server.h"
#include "serve/http/tokens.h"
#include "store/catalog.h"
#include "store/db.h"
#include "store/loader.h"
#include "train/dataset.h"
#include "testutil.h"

#define N_USERS 20
#define N_MOVIES 30

static char g_home[256], g_model[512];
static json_t *g_spec;
static struct serve *g_s;
static char g_base[64], g_admin[256];

/* ---- fixture ------------------------------------------------------------ */

static void load_catalogue(struct hv_db *db)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Drama", &e), 0);
  int g[] = {0};
  for (int m = 1; m <= N_MOVIES; m++) {
    char title[64];
    snprintf(title, sizeof(title), "Movie %d (19%02d)", m, 50 + m);
    struct hv_movie mv = {.id = m, .title = title, .release_year = 1950 + m,
                          .genre_ids = g, .n_genres = 1};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  int64_t rid = 1;
  unsigned seed = 11;
  for (int u = 1; u <= N_USERS; u++) {
    struct hv_user us = {.id = u, .raw_age = 20 + u,
                         .bucketized_age = catalog_age_bucket(20 + u),
                         .gender = u % 2 ? "M" : "F",
                         .occupation_text = "writer", .occupation_label = 3,
                         .zip_code = "55455"};
    if (u == 5) /* unknown age and zip code: the "unknown" list */
      us.raw_age = us.bucketized_age = -1, us.zip_code = NULL;
    assert_int_equal(loader_user(ld, &us, &e), 0);
    for (int k = 0; k < 12; k++) {
      seed = seed * 1103515245u + 12345u;
      struct hv_rating r = {.rating_id = rid++, .user_id = u,
                            .movie_id = 1 + (int)((seed >> 8) % N_MOVIES),
                            .rating = 1 + (seed >> 4) % 5,
                            .timestamp = 100000 + rid};
      assert_int_equal(loader_rating(ld, &r, &e), 0);
    }
  }
  assert_int_equal(loader_commit(ld, "test", "generated", &e), 0);
}

static void train_model(struct hv_db *db)
{
  struct train_config c;
  struct hv_err e = {0};
  struct hv_model *m = NULL;
  train_config_tutorial(&c);
  c.dim = 8;
  c.epochs = 1;
  c.batch = 64;
  c.split = 1;
  c.seed = 3;
  c.threads = 1;
  c.first_rating_id = 0;
  c.last_rating_id = INT64_MAX;
  if (dataset_train(db, &c, NULL, NULL, NULL, &m, &e))
    fail_msg("train: %s", e.msg);
  assert_int_equal(model_save(m, g_model, &e), 0);
  model_free(m);
}

/* ---- HTTP ---------------------------------------------------------------- */

struct res {
  long status;
  char *body;
  size_t len;
  char type[128];
  char location[256];
  char cookie[128]; /* the last Set-Cookie's NAME=VALUE */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
  struct res *r = ud;
  char *b = realloc(r->body, r->len + sz * n + 1);
  if (!b)
    return 0;
  memcpy(b + r->len, p, sz * n);
  r->body = b;
  r->len += sz * n;
  b[r->len] = '\0';
  return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
  struct res *r = ud;
  if (!strncasecmp(p, "Content-Type:", 13)) {
    snprintf(r->type, sizeof(r->type), "%.*s", (int)(sz * n - 13), p + 13);
    char *t = r->type;
    while (*t == ' ')
      memmove(t, t + 1, strlen(t));
    t[strcspn(t, ";\r\n")] = '\0';
  }
  if (!strncasecmp(p, "Location: ", 10))
    snprintf(r->location, sizeof(r->location), "%.*s",
             (int)strcspn(p + 10, "\r\n"), p + 10);
  if (!strncasecmp(p, "Set-Cookie: ", 12))
    snprintf(r->cookie, sizeof(r->cookie), "%.*s",
             (int)strcspn(p + 12, ";\r\n"), p + 12);
  return sz * n;
}

/* One call: admin sends the admin key, extra one more header (or NULL). */
static void request_with(const char *method, const char *path,
                         const char *body, const char *type, int admin,
                         const char *extra, struct res *r)
{
  char url[1024], ct[128], key[300];
  const char *hdrs[4] = {extra, NULL, NULL, NULL};
  size_t h = extra ? 1 : 0;
  if (type) {
    snprintf(ct, sizeof(ct), "Content-Type: %s", type);
    hdrs[h++] = ct;
  }
  if (admin) {
    snprintf(key, sizeof(key), "X-Admin-Key: %s", g_admin);
    hdrs[h++] = key;
  }
  snprintf(url, sizeof(url), "%s%s", g_base, path);
  memset(r, 0, sizeof(*r));
  if (tu_curl(method, url, body, hdrs, NULL, 30, on_body, on_header, r,
              &r->status) != CURLE_OK)
    fail_msg("%s %s: no answer", method, path);
}

static void request(const char *method, const char *path, const char *body,
                    const char *type, int admin, struct res *r)
{
  request_with(method, path, body, type, admin, NULL, r);
}

/* ---- a JSON-schema subset ------------------------------------------------ */

static json_t *resolve(json_t *s)
{
  const char *ref;
  while ((ref = json_string_value(json_object_get(s, "$ref")))) {
    const char *pre = "#/components/schemas/";
    if (strncmp(ref, pre, strlen(pre)))
      fail_msg("unsupported $ref %s", ref);
    s = json_object_get(json_object_get(json_object_get(g_spec, "components"),
                                        "schemas"),
                        ref + strlen(pre));
    if (!s)
      fail_msg("dangling $ref %s", ref);
  }
  return s;
}

static int type_is(json_t *v, const char *t)
{
  if (!strcmp(t, "object"))
    return json_is_object(v);
  if (!strcmp(t, "array"))
    return json_is_array(v);
  if (!strcmp(t, "string"))
    return json_is_string(v);
  if (!strcmp(t, "integer"))
    return json_is_integer(v);
  if (!strcmp(t, "number"))
    return json_is_number(v);
  if (!strcmp(t, "boolean"))
    return json_is_boolean(v);
  fail_msg("unsupported type %s", t);
  return 0;
}

/* 0 when v satisfies schema s; else 1 with why filled (at: JSON path). */
static int check(json_t *v, json_t *s, const char *at, char *why, size_t cap);

static int check_object(json_t *v, json_t *s, const char *at, char *why,
                        size_t cap)
{
  char sub[512];
  size_t i;
  json_t *k, *x;
  const char *key;
  json_array_foreach(json_object_get(s, "required"), i, k)
  {
    if (!json_object_get(v, json_string_value(k))) {
      snprintf(why, cap, "%s: required \"%s\" missing", at,
               json_string_value(k));
      return 1;
    }
  }
  json_t *props = json_object_get(s, "properties");
  json_t *extra = json_object_get(s, "additionalProperties");
  json_object_foreach(v, key, x)
  {
    json_t *ps = json_object_get(props, key);
    snprintf(sub, sizeof(sub), "%s.%s", at, key);
    if (!ps && json_is_object(extra))
      ps = extra;
    if (!ps && json_is_false(extra)) {
      snprintf(why, cap, "%s: not allowed", sub);
      return 1;
    }
    if (ps && check(x, ps, sub, why, cap))
      return 1;
  }
  return 0;
}

static int check_array(json_t *v, json_t *s, const char *at, char *why,
                       size_t cap)
{
  char sub[512];
  json_t *lo = json_object_get(s, "minItems");
  json_t *hi = json_object_get(s, "maxItems");
  if ((lo && json_array_size(v) < (size_t)json_integer_value(lo)) ||
      (hi && json_array_size(v) > (size_t)json_integer_value(hi))) {
    snprintf(why, cap, "%s: %zu items out of bounds", at, json_array_size(v));
    return 1;
  }
  size_t i;
  json_t *x;
  json_array_foreach(v, i, x)
  {
    snprintf(sub, sizeof(sub), "%s[%zu]", at, i);
    if (check(x, json_object_get(s, "items"), sub, why, cap))
      return 1;
  }
  return 0;
}

static int check(json_t *v, json_t *s, const char *at, char *why, size_t cap)
{
  s = resolve(s);
  if (json_is_null(v)) {
    if (json_is_true(json_object_get(s, "nullable")))
      return 0;
    snprintf(why, cap, "%s: null, not nullable", at);
    return 1;
  }
  const char *t = json_string_value(json_object_get(s, "type"));
  if (t && !type_is(v, t)) {
    snprintf(why, cap, "%s: not %s", at, t);
    return 1;
  }
  json_t *en = json_object_get(s, "enum"), *e;
  size_t i;
  int found = !en;
  json_array_foreach(en, i, e) found |= json_equal(e, v);
  if (!found) {
    snprintf(why, cap, "%s: not one of the enum", at);
    return 1;
  }
  json_t *lo = json_object_get(s, "minimum"), *hi = json_object_get(s, "maximum");
  if (json_is_number(v) &&
      ((lo && json_number_value(v) < json_number_value(lo)) ||
       (hi && json_number_value(v) > json_number_value(hi)))) {
    snprintf(why, cap, "%s: %g out of bounds", at, json_number_value(v));
    return 1;
  }
  if (json_is_object(v))
    return check_object(v, s, at, why, cap);
  if (json_is_array(v))
    return check_array(v, s, at, why, cap);
  return 0;
}

/* ---- the contract --------------------------------------------------------- */

static int g_checked;
static json_t *g_seen; /* "method path-template" of every answer checked */

/* Check answer r of method on the route templated tpl against the spec. */
static void conforms(const char *method, const char *tpl, const char *path,
                     struct res *r)
{
  char lower[8], code[8], why[600];
  snprintf(lower, sizeof(lower), "%s", method);
  for (char *c = lower; *c; c++)
    *c = (char)(*c - 'A' + 'a');
  json_t *op = json_object_get(
      json_object_get(json_object_get(g_spec, "paths"), tpl), lower);
  if (!op)
    fail_msg("%s %s: not in the document", method, tpl);
  char key[300];
  snprintf(key, sizeof(key), "%s %s", lower, tpl);
  json_object_set_new(g_seen, key, json_true());
  snprintf(code, sizeof(code), "%ld", r->status);
  json_t *resp = json_object_get(json_object_get(op, "responses"), code);
  if (!resp)
    fail_msg("%s %s answered %ld, which the document does not declare for "
             "%s (body %.200s)",
             method, path, r->status, tpl, r->body ? r->body : "");
  if (json_object_get(json_object_get(resp, "headers"), "Location") &&
      !r->location[0])
    fail_msg("%s %s: %ld without the Location header declared", method,
             path, r->status);
  json_t *content = json_object_get(resp, "content");
  if (!json_object_size(content)) {
    g_checked++;
    return;
  }
  json_t *media = json_object_get(content, r->type);
  if (!media)
    fail_msg("%s %s: %ld answered as %s, not a declared media type", method,
             path, r->status, r->type);
  if (!strcmp(r->type, "application/json")) {
    json_error_t je;
    json_t *v = json_loads(r->body ? r->body : "", JSON_DECODE_ANY, &je);
    if (!v)
      fail_msg("%s %s: body is not JSON: %s", method, path, je.text);
    if (check(v, json_object_get(media, "schema"), "$", why, sizeof(why)))
      fail_msg("%s %s (%ld): %s\nbody: %.300s", method, path, r->status, why,
               r->body);
    json_decref(v);
  }
  g_checked++;
}

struct call {
  const char *method, *tpl, *path, *body, *type;
  int admin;
  long want; /* the status this call must get (0: any declared) */
};

static void run_calls(const struct call *calls, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    struct res r;
    const struct call *c = &calls[i];
    request(c->method, c->path, c->body, c->type, c->admin, &r);
    if (c->want && r.status != c->want)
      fail_msg("%s %s: %ld, expected %ld (%.200s)", c->method, c->path,
               r.status, c->want, r.body ? r.body : "");
    conforms(c->method, c->tpl, c->path, &r);
    free(r.body);
  }
}

#define J "application/json"
#define F "application/x-www-form-urlencoded"

static const struct call calls[] = {
    {"GET", "/", "/", NULL, NULL, 0, 200},
    {"GET", "/healthz", "/healthz", NULL, NULL, 0, 200},
    {"GET", "/readyz", "/readyz", NULL, NULL, 0, 200},
    {"GET", "/metrics", "/metrics", NULL, NULL, 0, 200},
    {"GET", "/openapi.json", "/openapi.json", NULL, NULL, 0, 200},
    {"GET", "/docs", "/docs", NULL, NULL, 0, 200},
    {"GET", "/docs/static/{file}", "/docs/static/harvest-docs.css", NULL,
     NULL, 0, 200},
    {"GET", "/docs/static/{file}", "/docs/static/nope.js", NULL, NULL, 0,
     404},
    {"GET", "/users/", "/users/", NULL, NULL, 0, 200},
    {"GET", "/users/", "/users/", NULL, NULL, 1, 200},
    {"GET", "/users/{user_id}", "/users/3", NULL, NULL, 1, 200},
    {"GET", "/users/{user_id}", "/users/5", NULL, NULL, 1, 200},
    {"GET", "/users/{user_id}", "/users/999", NULL, NULL, 1, 404},
    {"GET", "/users/{user_id}", "/users/x", NULL, NULL, 1, 422},
    {"GET", "/users/{user_id}", "/users/3", NULL, NULL, 0, 401},
    {"POST", "/users/", "/users/",
     "{\"age\": 30, \"gender\": \"F\", \"occupation\": \"writer\"}",
     J, 1, 201},
    {"POST", "/users/", "/users/", "{}", J, 1, 201},
    {"POST", "/users/", "/users/", "{\"user_id\": 2}", J, 1, 409},
    {"POST", "/users/", "/users/", "{\"occupation\": \"astronaut\"}", J,
     1, 422},
    {"POST", "/users/", "/users/", "{\"shoe_size\": 9}", J, 1, 422},
    {"POST", "/users/", "/users/", "{\"age\": \"old\"}", J, 1, 422},
    {"POST", "/users/", "/users/", "{", J, 1, 422},
    {"POST", "/users/", "/users/", "{}", J, 0, 401},
    {"POST", "/users/add_user_rating/", "/users/add_user_rating/",
     "[{\"user_id\": 2, \"movie_id\": 3, \"user_rating\": 4}]", J, 1, 200},
    {"POST", "/users/add_user_rating/", "/users/add_user_rating/",
     "[{\"user_id\": 2, \"movie_id\": 999, \"user_rating\": 4}]", J, 1, 422},
    {"POST", "/users/add_user_rating/", "/users/add_user_rating/", "[{", J, 1,
     422},
    {"POST", "/users/add_user_rating/", "/users/add_user_rating/",
     "[{\"user_id\": 2, \"movie_id\": 3, \"user_rating\": 4}]", J, 0, 401},
    {"POST", "/users/update_password", "/users/update_password",
     "username=4&new_password=pw-of-user-4", F, 1, 200},
    {"POST", "/users/update_password", "/users/update_password",
     "username=4&new_password=short", F, 1, 422},
    {"POST", "/users/token", "/users/token",
     "username=4&password=pw-of-user-4", F, 0, 200},
    {"POST", "/users/token", "/users/token", "username=4&password=wrong-pw",
     F, 0, 401},
    {"POST", "/users/token", "/users/token", "username=4", F, 0, 422},
    {"GET", "/users/secure_ratings/", "/users/secure_ratings/", NULL, NULL,
     0, 401},
    {"GET", "/movies/", "/movies/", NULL, NULL, 0, 200},
    {"GET", "/movies/random/{n}", "/movies/random/3", NULL, NULL, 0, 200},
    {"GET", "/movies/random/{n}", "/movies/random/0", NULL, NULL, 0, 422},
    {"GET", "/movies/ratings/", "/movies/ratings/?min_rating=1&max_rating=5",
     NULL, NULL, 0, 200},
    {"GET", "/movies/ratings/", "/movies/ratings/?min_rating=9", NULL, NULL,
     0, 422},
    {"GET", "/movies/recommend/{user}/{n}", "/movies/recommend/1/5", NULL,
     NULL, 0, 200},
    {"GET", "/movies/recommend/{user}/{n}",
     "/movies/recommend/1/5?exclude_rated=true", NULL, NULL, 0, 200},
    {"GET", "/movies/recommend/{user}/{n}", "/movies/recommend/1/0", NULL,
     NULL, 0, 422},
    {"GET", "/movies/recommend/batch/{n}",
     "/movies/recommend/batch/2?users=1&users=2", NULL, NULL, 0, 200},
    {"POST", "/movies/recommend/batch/{n}", "/movies/recommend/batch/2",
     "{\"users\": [3, 4]}", J, 0, 200},
    {"GET", "/movies/recommend/batch/{n}",
     "/movies/recommend/batch/2?users=x", NULL, NULL, 0, 422},
    {"GET", "/monitor/evaluate", "/monitor/evaluate?first_rating_id=1&"
     "last_rating_id=200", NULL, NULL, 1, 200},
    {"GET", "/monitor/evaluate", "/monitor/evaluate?first_rating_id=1", NULL,
     NULL, 1, 422},
    {"GET", "/monitor/evaluate", "/monitor/evaluate?first_rating_id=1&"
     "last_rating_id=200", NULL, NULL, 0, 401},
    {"GET", "/monitor/drift", "/monitor/drift?first_rating_id=1&"
     "last_rating_id=240", NULL, NULL, 1, 200},
    {"GET", "/monitor/drift", "/monitor/drift?windows=x", NULL, NULL, 1, 422},
    {"POST", "/monitor/reload_models", "/monitor/reload_models", NULL, NULL,
     1, 200},
    {"GET", "/monitor/reload_models", "/monitor/reload_models", NULL, NULL,
     0, 401},
    {"GET", "/ui", "/ui", NULL, NULL, 1, 200},
    {"GET", "/ui", "/ui", NULL, NULL, 0, 303},
    {"GET", "/ui/experiments", "/ui/experiments", NULL, NULL, 1, 200},
    {"GET", "/ui/experiments/{name}", "/ui/experiments/none", NULL, NULL, 1,
     404},
    {"GET", "/ui/runs/{run_id}", "/ui/runs/nope", NULL, NULL, 1, 0},
    {"GET", "/ui/runs/{run_id}/artifact", "/ui/runs/nope/artifact?path=a",
     NULL, NULL, 1, 422},
    {"GET", "/ui/compare", "/ui/compare?runs=a", NULL, NULL, 1, 0},
    {"GET", "/ui/models", "/ui/models", NULL, NULL, 1, 200},
    {"GET", "/ui/models/{name}", "/ui/models/none", NULL, NULL, 1, 404},
    {"GET", "/ui/monitoring", "/ui/monitoring", NULL, NULL, 1, 200},
    {"GET", "/ui/data", "/ui/data", NULL, NULL, 1, 200},
    {"GET", "/ui/users", "/ui/users?id=2", NULL, NULL, 1, 200},
    {"GET", "/ui/users", "/ui/users?id=x", NULL, NULL, 1, 422},
    {"GET", "/ui/users/{user_id}", "/ui/users/2", NULL, NULL, 1, 200},
    {"GET", "/ui/users/{user_id}", "/ui/users/2", NULL, NULL, 0, 303},
    {"GET", "/ui/login", "/ui/login?next=/ui/data", NULL, NULL, 0, 200},
    {"POST", "/ui/login", "/ui/login", "name=op&password=account-pw-1", F, 0,
     403},
    {"POST", "/ui/logout", "/ui/logout", "csrf=x", F, 0, 401},
    {"POST", "/ui/models/{name}/transition", "/ui/models/none/transition",
     "action=1:Staging&csrf=x", F, 0, 401},
    {"GET", "/ui/runs/{run_id}/tune",
     "/ui/runs/00000000000000000000000000000000/tune", NULL, NULL, 1, 404},
    {"GET", "/ui/runs/{run_id}/tune", "/ui/runs/zz/tune", NULL, NULL, 1,
     422},
    {"POST", "/ui/models/{name}/alias", "/ui/models/none/alias",
     "alias=x&version=1&csrf=x", F, 0, 401},
    {"GET", "/ui/static/{file}", "/ui/static/ui.css", NULL, NULL, 0, 200},
    {"GET", "/ui/static/{file}", "/ui/static/ui.js", NULL, NULL, 0, 200},
    {"GET", "/ui/static/{file}", "/ui/static/nope.js", NULL, NULL, 0, 404},
};

/* One call with an extra header, checked: its status must be want. */
static void call_as(const char *method, const char *tpl, const char *path,
                    const char *body, const char *hdr, long want,
                    struct res *r)
{
  request_with(method, path, body, body ? F : NULL, 0, hdr, r);
  if (r->status != want)
    fail_msg("%s %s: %ld, expected %ld (%.200s)", method, path, r->status,
             want, r->body ? r->body : "");
  conforms(method, tpl, path, r);
  free(r->body);
  r->body = NULL;
}

/* The web UI's sign-in as a browser makes it: the form's CSRF token and
 * hv_ui cookie, a wrong password (401 page), the right one (303 with the
 * session cookie), a registry action on a missing model (404 page), and
 * signing out (303). */
static void ui_session_calls(void)
{
  struct res r;
  char ui[160], sess[160], body[300], both[400];
  request("GET", "/ui/login", NULL, NULL, 0, &r);
  const char *f = r.body ? strstr(r.body, "name=\"csrf\" value=\"") : NULL;
  assert_non_null(f);
  char csrf[65];
  snprintf(csrf, sizeof(csrf), "%.64s", f + 19);
  snprintf(ui, sizeof(ui), "Cookie: %s", r.cookie);
  free(r.body);
  snprintf(body, sizeof(body), "csrf=%s&name=op&password=wrong-pw-1", csrf);
  call_as("POST", "/ui/login", "/ui/login", body, ui, 401, &r);
  snprintf(body, sizeof(body), "csrf=%s&name=op&password=account-pw-1&"
           "next=/ui/models", csrf);
  call_as("POST", "/ui/login", "/ui/login", body, ui, 303, &r);
  snprintf(sess, sizeof(sess), "%s", r.cookie);
  snprintf(both, sizeof(both), "%s; %s", ui, sess);
  call_as("GET", "/ui/models", "/ui/models", NULL, both, 200, &r);
  snprintf(body, sizeof(body), "csrf=%s&action=1:Staging", csrf);
  call_as("POST", "/ui/models/{name}/transition", "/ui/models/none/transition",
          body, both, 404, &r);
  snprintf(body, sizeof(body), "csrf=%s&alias=x&version=1", csrf);
  call_as("POST", "/ui/models/{name}/alias", "/ui/models/none/alias", body,
          both, 404, &r);
  call_as("POST", "/ui/logout", "/ui/logout", "csrf=bad", both, 403, &r);
  snprintf(body, sizeof(body), "csrf=%s", csrf);
  call_as("POST", "/ui/logout", "/ui/logout", body, both, 303, &r);
}

static void test_answers_conform(void **state)
{
  run_calls(calls, sizeof(calls) / sizeof(calls[0]));
  ui_session_calls();
  /* the token of the login above reads its own ratings */
  struct res r;
  request("POST", "/users/token", "username=4&password=pw-of-user-4", F, 0,
          &r);
  json_t *t = json_loads(r.body, 0, NULL);
  free(r.body);
  char bearer[2100], url[256];
  snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s",
           json_string_value(json_object_get(t, "access_token")));
  json_decref(t);
  const char *hdrs[] = {bearer, NULL};
  snprintf(url, sizeof(url), "%s/users/secure_ratings/", g_base);
  memset(&r, 0, sizeof(r));
  assert_int_equal(tu_curl("GET", url, NULL, hdrs, NULL, 30, on_body,
                           on_header, &r, &r.status),
                   CURLE_OK);
  assert_int_equal(r.status, 200);
  conforms("GET", "/users/secure_ratings/", "/users/secure_ratings/", &r);
  free(r.body);
  /* every operation of the document was answered at least once */
  const char *path, *method;
  json_t *item, *op;
  int ops = 0;
  json_object_foreach(json_object_get(g_spec, "paths"), path, item)
  {
    json_object_foreach(item, method, op)
    {
      char key[300];
      snprintf(key, sizeof(key), "%s %s", method, path);
      if (!json_object_get(g_seen, key))
        fail_msg("%s %s: no answer of the test suite checked", method, path);
      ops++;
    }
  }
  printf("# %d answers checked against /openapi.json (all %d operations)\n",
         g_checked, ops);
}

/* ---- the document through a real linter ----------------------------------- */

/* Install the linter from tests/npm (package-lock.json pins it) into
 * dir unless it is there; 0 when dir/node_modules/.bin/redocly runs. */
static int install_redocly(const char *src, const char *dir, char *out,
                           size_t cap)
{
  char cmd[3000];
  snprintf(cmd, sizeof(cmd),
           "d='%s'; test -x \"$d/node_modules/.bin/redocly\" || { mkdir -p "
           "\"$d\" && cp '%s/tests/npm/package.json' "
           "'%s/tests/npm/package-lock.json' \"$d\" && cd \"$d\" && timeout "
           "300 npm ci --no-audit --no-fund > install.log 2>&1 || { tail -n 5 "
           "install.log; exit 1; }; }",
           dir, src, src);
  return tu_run(cmd, out, cap);
}

static void test_redocly_lint(void **state)
{
  char out[16384], cmd[4000], dir[1024], spec[1100], cfg[1100];
  const char *npm_dir = getenv("HV_NPM_DIR"), *src = getenv("HV_SOURCE_DIR");
  if (!npm_dir || !src || tu_run("command -v npm", out, sizeof(out)) != 0) {
    printf("# SKIP redocly lint: npm not installed (apt-get install npm) or "
           "HV_NPM_DIR/HV_SOURCE_DIR unset (run through ctest)\n");
    return;
  }
  snprintf(dir, sizeof(dir), "%s/redocly", npm_dir);
  if (install_redocly(src, dir, out, sizeof(out)) != 0) {
    printf("# SKIP redocly lint: npm ci of tests/npm failed (no registry?): "
           "%s\n", out);
    return;
  }
  snprintf(cmd, sizeof(cmd), "'%s/node_modules/.bin/redocly' --version",
           dir);
  if (tu_run(cmd, out, sizeof(out)) != 0) {
    printf("# SKIP redocly lint: it does not run on this node (it needs "
           "node >= 20.19)\n");
    return;
  }
  char *text = json_dumps(g_spec, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  tu_write(dir, "openapi.json", text, spec, sizeof(spec));
  free(text);
  /* the seed's paths end in '/' ("/users/"): its clients call them so */
  tu_write(dir, "redocly.yaml",
           "extends:\n  - recommended\nrules:\n  no-path-trailing-slash: "
           "off\n",
           cfg, sizeof(cfg));
  snprintf(cmd, sizeof(cmd),
           "cd '%s' && node_modules/.bin/redocly lint --config '%s' "
           "--format=summary '%s' 2>&1 | grep -v '[║╔╚]'",
           dir, cfg, spec);
  int rc = tu_run(cmd, out, sizeof(out));
  printf("# redocly lint:\n%s", out);
  snprintf(cmd, sizeof(cmd),
           "cd '%s' && node_modules/.bin/redocly lint --config '%s' '%s' "
           "> /dev/null 2>&1",
           dir, cfg, spec);
  rc = tu_run(cmd, out, sizeof(out));
  if (rc != 0)
    fail_msg("redocly lint found errors in /openapi.json (exit %d)", rc);
}

/* The routes that write declare a full disk (507) and a busy database
 * (503 with Retry-After) (issue 17, fault injection: docs/durability.md);
 * test_faults gets them from a server. */
static void test_write_statuses(void **state)
{
  (void)state;
  static const char *const writes[][2] = {
      {"post", "/users/add_user_rating/"},
      {"post", "/users/update_password"},
      {"post", "/ui/models/{name}/transition"},
      {"post", "/ui/models/{name}/alias"},
      {"post", "/ui/login"},
      {"post", "/ui/logout"}};
  json_t *paths = json_object_get(g_spec, "paths");
  for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
    json_t *rs = json_object_get(
        json_object_get(json_object_get(paths, writes[i][1]), writes[i][0]),
        "responses");
    if (!json_object_get(rs, "507"))
      fail_msg("%s %s: 507 not declared", writes[i][0], writes[i][1]);
    json_t *busy = json_object_get(rs, "503");
    if (!json_object_get(json_object_get(busy, "headers"), "Retry-After"))
      fail_msg("%s %s: 503 with Retry-After not declared", writes[i][0],
               writes[i][1]);
  }
}

static int group_setup(void **state)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  g_seen = json_object();
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  tu_tmpdir(g_home, sizeof(g_home));
  char db_path[512];
  snprintf(db_path, sizeof(db_path), "%s/harvest.db", g_home);
  snprintf(g_model, sizeof(g_model), "%s/m.hvm", g_home);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(db_path, &db, &e), 0);
  load_catalogue(db);
  train_model(db);
  assert_int_equal(tokens_account_add(db, "op", "operator", "account-pw-1",
                                      1, 8192, &e), 0);
  db_close(db);
  struct serve_config c = {.home = g_home, .port = 0, .threads = 2,
                           .model_file = g_model, .poll_seconds = 0.1,
                           .max_body = 1 << 16, .timeout_s = 10};
  c.auth.opslimit = 1;
  c.auth.memlimit = 8192;
  c.auth.login_burst = 50;
  c.auth.login_per_sec = 10;
  if (serve_start(&c, &g_s, &e))
    fail_msg("serve_start: %s", e.msg);
  snprintf(g_base, sizeof(g_base), "http://127.0.0.1:%d", serve_port(g_s));
  char path[512];
  snprintf(path, sizeof(path), "%s/admin.key", g_home);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(g_admin, sizeof(g_admin), f));
  fclose(f);
  g_admin[strcspn(g_admin, "\n")] = '\0';
  struct res r;
  request("GET", "/openapi.json", NULL, NULL, 0, &r);
  json_error_t je;
  g_spec = json_loads(r.body, 0, &je);
  free(r.body);
  assert_non_null(g_spec);
  return 0;
}

static int group_teardown(void **state)
{
  serve_stop(g_s, 5.0);
  json_decref(g_spec);
  json_decref(g_seen);
  tu_rmtree(g_home);
  curl_global_cleanup();
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_answers_conform),
      cmocka_unit_test(test_write_statuses),
      cmocka_unit_test(test_redocly_lint),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

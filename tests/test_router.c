/*
 * test_router.c - serve/router (matching, statuses, error bodies),
 * serve/openapi (spec and /docs from the real route table) and
 * serve/metrics (counters, histogram text), and the pure body parsers of
 * the routes (routes_parse_ratings, srv_form_json).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "serve/http/metrics.h"
#include "serve/http/openapi.h"
#include "serve/http/router.h"
#include "serve/http/routes.h"
#include "store/ratings.h"
#include "testutil.h"

static int h_dummy(struct srv_req *req, struct srv_resp *resp,
                   struct hv_err *err)
{
  return 0;
}

static const struct rt_route table[] = {
    {.methods = RT_GET, .path = "/", .handler = h_dummy, .name = "root"},
    {.methods = RT_GET, .path = "/users/", .handler = h_dummy, .name = "users"},
    {.methods = RT_GET, .path = "/users/{id}", .handler = h_dummy, .name = "user"},
    {.methods = RT_POST, .path = "/users/token", .handler = h_dummy, .name = "token"},
    {.methods = RT_GET, .path = "/users/secure_ratings/", .handler = h_dummy, .name = "secure"},
    {.methods = RT_GET, .path = "/movies/recommend/{user}/{n}", .handler = h_dummy, .name = "recommend"},
    {.methods = RT_GET, .path = "/movies/recommend/batch/{n}", .handler = h_dummy, .name = "batch"},
    {.methods = RT_GET | RT_POST, .path = "/monitor/reload_models", .handler = h_dummy, .name = "reload"},
};
static const size_t n_table = sizeof(table) / sizeof(table[0]);

static void test_match_table(void **state)
{
  static const struct {
    const char *method, *path;
    int rc;
    const char *route; /* expected name, NULL when none */
    const char *cap0, *cap1;
  } cases[] = {
      {"GET", "/", 0, "root", NULL, NULL},
      {"GET", "/users/", 0, "users", NULL, NULL},
      {"GET", "/users", 0, "users", NULL, NULL}, /* slash optional */
      {"GET", "/users/42", 0, "user", "42", NULL},
      {"GET", "/users/42/", 0, "user", "42", NULL},
      {"HEAD", "/users/42", 0, "user", "42", NULL},
      {"GET", "/users/secure_ratings/", 0, "secure", NULL, NULL},
      {"GET", "/users/secure_ratings", 0, "secure", NULL, NULL},
      {"POST", "/users/token", 0, "token", NULL, NULL},
      {"GET", "/users/token", 405, "token", NULL, NULL},
      {"DELETE", "/users/42", 405, "user", NULL, NULL},
      {"GET", "/movies/recommend/7/10", 0, "recommend", "7", "10"},
      {"GET", "/movies/recommend/batch/10", 0, "batch", "10", NULL},
      {"GET", "/movies/recommend/batch/x/10", 404, NULL, NULL, NULL},
      {"GET", "/movies/recommend/7", 404, NULL, NULL, NULL},
      {"GET", "/movies/recommend/7/10/extra", 404, NULL, NULL, NULL},
      {"GET", "/movies/recommend//10", 404, NULL, NULL, NULL},
      {"POST", "/monitor/reload_models", 0, "reload", NULL, NULL},
      {"GET", "/monitor/reload_models", 0, "reload", NULL, NULL},
      {"PUT", "/monitor/reload_models", 405, "reload", NULL, NULL},
      {"GET", "//users", 404, NULL, NULL, NULL},
      {"GET", "users", 404, NULL, NULL, NULL},
      {"GET", "", 404, NULL, NULL, NULL},
      {"GET", "/nothing/here", 404, NULL, NULL, NULL},
      {"BREW", "/", 405, "root", NULL, NULL},
      {"GET", "/users/' OR 1=1 --", 0, "user", "' OR 1=1 --", NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct rt_match m;
    int rc = rt_match(table, n_table, cases[i].method, cases[i].path, &m);
    if (rc != cases[i].rc)
      fail_msg("case %zu (%s %s): rc %d, want %d", i, cases[i].method,
               cases[i].path, rc, cases[i].rc);
    if (cases[i].route) {
      assert_true(m.route >= 0);
      assert_string_equal(table[m.route].name, cases[i].route);
    } else {
      assert_int_equal(m.route, -1);
    }
    char buf[64];
    if (cases[i].cap0) {
      assert_int_equal(rt_capture(&m, 0, buf, sizeof(buf)), 0);
      assert_string_equal(buf, cases[i].cap0);
    }
    if (cases[i].cap1) {
      assert_int_equal(rt_capture(&m, 1, buf, sizeof(buf)), 0);
      assert_string_equal(buf, cases[i].cap1);
    }
  }
  struct rt_match m;
  assert_int_equal(rt_match(table, n_table, "GET", NULL, &m), 404);
}

static void test_capture_bounds(void **state)
{
  struct rt_match m;
  char big[300], buf[8];
  memset(big, '9', sizeof(big));
  memcpy(big, "/users/", 7);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(rt_match(table, n_table, "GET", big, &m), 0);
  assert_int_equal(rt_capture(&m, 0, buf, sizeof(buf)), HV_EINVAL);
  assert_string_equal(buf, "");
  assert_int_equal(rt_capture(&m, 1, buf, sizeof(buf)), HV_EINVAL);
  assert_int_equal(rt_capture(&m, 0, buf, 0), HV_EINVAL);
}

static void test_status_table(void **state)
{
  static const int cases[][2] = {
      {0, 200},           {HV_EUSAGE, 400},    {HV_EINVAL, 422},
      {HV_ENOTFOUND, 404}, {HV_EAUTH, 401},     {HV_EFORBIDDEN, 403},
      {HV_ETOOBIG, 413},  {HV_ELIMIT, 429},    {HV_EDB, 500},
      {HV_EINTERNAL, 500}, {HV_ECONFLICT, 409}, {-999, 500},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(rt_status_of(cases[i][0]), cases[i][1]);
  assert_string_equal(rt_reason(422), "Unprocessable Entity");
  assert_string_equal(rt_reason(413), "Payload Too Large");
}

static void test_error_json(void **state)
{
  static const char *const msgs[] = {"plain", "quote \" and \\ back",
                                     "new\nline", "", "bad \xff\xfe utf8"};
  for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
    size_t len = 0;
    char *s = rt_error_json(msgs[i], &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    assert_non_null(j);
    const char *d = json_string_value(json_object_get(j, "detail"));
    assert_non_null(d);
    if (i < 4)
      assert_string_equal(d, msgs[i]);
    else
      assert_string_equal(d, "bad ?? utf8");
    json_decref(j);
    free(s);
  }
  char *s = rt_error_json(NULL, NULL);
  assert_string_equal(s, "{\"detail\":\"\"}");
  free(s);
}

/* The operation at path, method (borrowed). */
static json_t *op_of(json_t *paths, const char *path, const char *method)
{
  json_t *op = json_object_get(json_object_get(paths, path), method);
  if (!op)
    fail_msg("no %s %s in the spec", method, path);
  return op;
}

/* The schema of a response or body content (borrowed). */
static json_t *schema_at(json_t *o, const char *media)
{
  return json_object_get(
      json_object_get(json_object_get(o, "content"), media), "schema");
}

/* Issue 16: every 2xx has a schema, JSON bodies their items, n and ids
 * their bounds, booleans their type, and each route the statuses it can
 * answer (HTML ones for the web UI). */
static void check_contract(json_t *paths)
{
  const char *path, *method, *code;
  json_t *item, *op, *r;
  json_object_foreach(paths, path, item)
  {
    json_object_foreach(item, method, op)
    {
      json_object_foreach(json_object_get(op, "responses"), code, r)
      {
        if (code[0] == '2' && !json_object_size(json_object_get(r, "content")))
          fail_msg("%s %s: %s has no content schema", method, path, code);
        if (!strncmp(path, "/ui", 3) && code[0] == '4' &&
            !schema_at(r, "text/html"))
          fail_msg("%s %s: %s is not declared text/html", method, path, code);
      }
    }
  }
  json_t *body = json_object_get(op_of(paths, "/users/add_user_rating/",
                                       "post"),
                                 "requestBody");
  json_t *items = json_object_get(schema_at(body, "application/json"),
                                  "items");
  assert_string_equal(json_string_value(json_object_get(items, "$ref")),
                      "#/components/schemas/RatingIn");
  json_t *rec = op_of(paths, "/movies/recommend/{user}/{n}", "get");
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(rec, "parameters"), i, p)
  {
    json_t *sc = json_object_get(p, "schema");
    const char *name = json_string_value(json_object_get(p, "name"));
    if (!strcmp(name, "n"))
      assert_int_equal(json_integer_value(json_object_get(sc, "maximum")),
                       1000);
    else if (!strcmp(name, "user") || !strcmp(name, "candidates"))
      assert_non_null(json_object_get(sc, "minimum"));
    else if (!strcmp(name, "stage"))
      assert_int_equal(json_array_size(json_object_get(sc, "enum")), 3);
    else
      assert_string_equal(json_string_value(json_object_get(sc, "type")),
                          "boolean");
  }
  assert_non_null(json_object_get(
      json_object_get(op_of(paths, "/users/update_password", "post"),
                      "responses"),
      "429"));
  assert_non_null(json_object_get(
      json_object_get(op_of(paths, "/monitor/evaluate", "get"), "responses"),
      "404"));
}

/* Every route of the real table is in the spec with its methods, and /docs
 * has an escaped entry for each. */
static void test_openapi_real_table(void **state)
{
  char *spec = NULL, *html = NULL;
  size_t len = 0, hlen = 0;
  struct hv_err e = {0};
  assert_int_equal(openapi_json(routes_table, routes_count, "1.2.3", 1000,
                                &spec, &len, &e),
                   0);
  json_error_t je;
  json_t *j = json_loads(spec, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "openapi")),
                      "3.0.3");
  json_t *paths = json_object_get(j, "paths");
  for (size_t i = 0; i < routes_count; i++) {
    json_t *item = json_object_get(paths, routes_table[i].path);
    if (!item)
      fail_msg("route %s missing from the spec", routes_table[i].path);
    if (routes_table[i].methods & RT_GET)
      assert_non_null(json_object_get(item, "get"));
    if (routes_table[i].methods & RT_POST)
      assert_non_null(json_object_get(item, "post"));
  }
  /* parameters and security are described */
  json_t *rec = json_object_get(json_object_get(paths,
                                                "/movies/recommend/{user}/{n}"),
                                "get");
  json_t *params = json_object_get(rec, "parameters");
  const char *want[] = {"user", "n", "stage", "candidates", "explain",
                        "exclude_rated"};
  for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
    size_t k;
    json_t *pm;
    int found = 0;
    json_array_foreach(params, k, pm)
      found |= !strcmp(json_string_value(json_object_get(pm, "name")),
                       want[w]);
    if (!found)
      fail_msg("recommend's parameter %s not described", want[w]);
  }
  assert_non_null(json_object_get(json_object_get(rec, "responses"), "422"));
  json_t *sec = json_object_get(
      json_object_get(json_object_get(paths, "/users/secure_ratings/"),
                      "get"),
      "security");
  assert_int_equal(json_array_size(sec), 3); /* bearer, API token, key */
  json_t *drift = json_object_get(
      json_object_get(json_object_get(paths, "/monitor/drift"), "get"),
      "security");
  assert_int_equal(json_array_size(drift), 2); /* API token or admin key */
  assert_non_null(json_object_get(json_array_get(drift, 0), "apiToken"));
  json_t *schemes = json_object_get(json_object_get(j, "components"),
                                    "securitySchemes");
  assert_non_null(json_object_get(schemes, "apiToken"));
  assert_non_null(json_object_get(schemes, "uiSession"));
  assert_non_null(json_object_get(schemes, "bearer"));
  assert_non_null(json_object_get(schemes, "adminKey"));
  assert_string_equal(
      json_string_value(json_object_get(
          json_object_get(json_object_get(paths, "/users/secure_ratings/"),
                          "get"),
          "x-harvest-policy")),
      "self");
  assert_int_equal(json_array_size(json_object_get(rec, "security")), 0);
  assert_true(json_is_array(json_object_get(rec, "security"))); /* public */
  json_t *tok = json_object_get(
      json_object_get(json_object_get(paths, "/users/token"), "post"),
      "requestBody");
  assert_non_null(tok);
  check_contract(paths);
  assert_int_equal(openapi_html(spec, &html, &hlen, &e), 0);
  assert_int_equal(hlen, strlen(html));
  assert_non_null(strstr(html, "<!DOCTYPE html>"));
  assert_non_null(strstr(html, "/movies/recommend/batch/{n}"));
  assert_non_null(strstr(html, "X-Admin-Key"));
  json_decref(j);
  free(spec);
  free(html);
}

static void test_openapi_html_escapes_and_rejects(void **state)
{
  char *html = NULL;
  size_t len;
  struct hv_err e = {0};
  const char *spec =
      "{\"info\":{\"title\":\"<script>alert(1)</script>\",\"version\":\"1\"},"
      "\"paths\":{\"/x/{id}\":{\"get\":{\"summary\":\"a & b \\\"q\\\"\","
      "\"responses\":{\"200\":{\"description\":\"<b>\"}}}}}}";
  assert_int_equal(openapi_html(spec, &html, &len, &e), 0);
  assert_null(strstr(html, "<script>"));
  assert_non_null(strstr(html, "&lt;script&gt;"));
  assert_non_null(strstr(html, "a &amp; b &quot;q&quot;"));
  free(html);
  html = NULL;
  static const char *const bad[] = {NULL, "", "[1,2]", "{\"a\":", "42"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(openapi_html(bad[i], &html, &len, &e), HV_EINVAL);
    assert_null(html);
  }
}

static void test_metrics_counts_and_text(void **state)
{
  static const char *const names[] = {"a", "b"};
  struct metrics *m = metrics_new(names, 2);
  assert_non_null(m);
  metrics_observe(m, 0, 200, 0.0002);
  metrics_observe(m, 0, 200, 0.003);
  metrics_observe(m, 1, 422, 0.5);
  metrics_observe(m, -1, 404, 0.00001);
  metrics_observe(m, 7, 599, 10.0); /* unknown route and status */
  metrics_reload(m, 1);
  metrics_reload(m, 0);
  metrics_recommend(m, 3, 30);
  assert_int_equal(metrics_count(m, 0, 200), 2);
  assert_int_equal(metrics_count(m, 1, 422), 1);
  assert_int_equal(metrics_count(m, -1, 404), 1);
  assert_int_equal(metrics_count(m, -1, 599), 1);
  char *text = NULL;
  size_t len = 0;
  struct hv_err e = {0};
  struct metrics_model mm = {"rec\"x", 4, "Production", 1.0, 7, 3, "ivf",
                             0.97};
  assert_int_equal(metrics_render(m, &mm, &text, &len, &e), 0);
  assert_non_null(strstr(text, "harvest_retrieval_index{kind=\"ivf\"} 1"));
  assert_non_null(strstr(text, "harvest_retrieval_index_recall 0.9700"));
  assert_non_null(
      strstr(text, "harvest_http_requests_total{route=\"a\",status=\"200\"} 2"));
  assert_non_null(strstr(text, "{route=\"unmatched\",status=\"404\"} 1"));
  assert_non_null(strstr(text, "{route=\"unmatched\",status=\"other\"} 1"));
  assert_non_null(strstr(text, "harvest_http_request_duration_seconds_bucket"
                               "{route=\"a\",status=\"200\",le=\"0.00025\"} 1"));
  assert_non_null(strstr(text, "harvest_http_request_duration_seconds_bucket"
                               "{route=\"a\",status=\"200\",le=\"+Inf\"} 2"));
  assert_non_null(strstr(text, "harvest_model_info{name=\"rec\\\"x\","
                               "version=\"4\",stage=\"Production\"} 1"));
  assert_non_null(strstr(text, "harvest_model_reloads_total{result=\"swapped\"} 1"));
  assert_non_null(strstr(text, "harvest_model_reloads_total{result=\"refused\"} 1"));
  assert_non_null(strstr(text, "harvest_recommended_items_total 30"));
  assert_null(strstr(text, "route=\"b\",status=\"200\""));
  assert_non_null(strstr(text, "harvest_recommend_cache_users 7"));
  assert_non_null(strstr(text, "harvest_http_requests_in_flight 3"));
  free(text);
  mm.cache_users = -1; /* no memo: no gauge */
  assert_int_equal(metrics_render(m, &mm, &text, &len, &e), 0);
  assert_null(strstr(text, "harvest_recommend_cache_users"));
  free(text);
  struct metrics_model none = {0};
  assert_int_equal(metrics_render(m, &none, &text, &len, &e), 0);
  assert_non_null(strstr(text, "harvest_model_loaded 0"));
  assert_null(strstr(text, "harvest_model_info"));
  free(text);
  metrics_free(m);
  metrics_free(NULL);
}

/* The add_user_rating body parser (pure; also a fuzz target). */
static void test_parse_ratings(void **state)
{
  static const struct {
    const char *body;
    int rc;
    size_t n;
    const char *msg; /* part of the message */
  } cases[] = {
      {"[{\"user_id\": 1, \"movie_id\": 2, \"user_rating\": 4.5}]", 0, 1,
       NULL},
      {"[{\"user_id\": \"1\", \"movie_id\": \"2\", \"user_rating\": "
       "\"3\"}, {\"user_id\": 2, \"movie_id\": 3, \"user_rating\": 5}]",
       0, 2, NULL},
      {"", HV_EINVAL, 0, "invalid JSON"},
      {"[", HV_EINVAL, 0, "invalid JSON"},
      {"{}", HV_EINVAL, 0, "expected a list"},
      {"[]", HV_EINVAL, 0, "the list is empty"},
      {"[7]", HV_EINVAL, 0, "ratings[0]: expected an object"},
      {"[{\"movie_id\": 2, \"user_rating\": 4}]", HV_EINVAL, 0,
       "ratings[0].user_id: field required"},
      {"[{\"user_id\": -1, \"movie_id\": 2, \"user_rating\": 4}]",
       HV_EINVAL, 0, "must not be negative"},
      {"[{\"user_id\": 1, \"movie_id\": 2.5, \"user_rating\": 4}]",
       HV_EINVAL, 0, "ratings[0].movie_id: expected an integer"},
      {"[{\"user_id\": 1, \"movie_id\": 2, \"user_rating\": null}]",
       HV_EINVAL, 0, "expected a number"},
      {"[{\"user_id\": 1, \"user_id\": 2, \"movie_id\": 2, "
       "\"user_rating\": 4}]",
       HV_EINVAL, 0, "invalid JSON"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct ratings_new *r = NULL;
    size_t n = 0;
    struct hv_err e = {0};
    int rc = routes_parse_ratings(cases[i].body, strlen(cases[i].body), &r,
                                  &n, &e);
    if (rc != cases[i].rc || n != cases[i].n ||
        (cases[i].msg && !strstr(e.msg, cases[i].msg)))
      fail_msg("case %zu: rc %d n %zu msg '%s'", i, rc, n, e.msg);
    assert_true(rc ? r == NULL : r != NULL);
    free(r);
  }
}

/* The JSON form of the login and password routes. */
static void test_form_json(void **state)
{
  static const struct {
    const char *body;
    int rc, n_form;
    const char *username; /* value of "username", NULL when absent */
  } cases[] = {
      {"{\"username\": \"6\", \"password\": \"pw\"}", 0, 2, "6"},
      {"{\"username\": 6, \"flag\": true}", 0, 1, "6"},
      {"{}", 0, 0, NULL},
      {"[1]", HV_EINVAL, 0, NULL},
      {"{\"username\": ", HV_EINVAL, 0, NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct srv_req req;
    struct hv_err e = {0};
    memset(&req, 0, sizeof(req));
    req.body = cases[i].body;
    req.body_len = strlen(cases[i].body);
    int rc = srv_form_json(&req, &e);
    const char *user = NULL;
    for (int k = 0; k < req.n_form; k++)
      if (!strcmp(req.form_key[k], "username"))
        user = req.form_val[k];
    if (rc != cases[i].rc || req.n_form != cases[i].n_form ||
        (cases[i].username ? !user || strcmp(user, cases[i].username)
                           : user != NULL))
      fail_msg("case %zu: rc %d n_form %d", i, rc, req.n_form);
    for (int k = 0; k < req.n_form; k++) {
      free(req.form_key[k]);
      free(req.form_val[k]);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_match_table),
      cmocka_unit_test(test_capture_bounds),
      cmocka_unit_test(test_status_table),
      cmocka_unit_test(test_error_json),
      cmocka_unit_test(test_openapi_real_table),
      cmocka_unit_test(test_openapi_html_escapes_and_rejects),
      cmocka_unit_test(test_metrics_counts_and_text),
      cmocka_unit_test(test_parse_ratings),
      cmocka_unit_test(test_form_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

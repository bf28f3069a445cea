/*
 * routes.c - the route table (paths, handlers, documentation) and the
 * helpers handlers share: see routes.h.
 */
#include "serve/routes.h"

#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

static const int E_NONE[] = {0};
static const int E_422[] = {422, 0};
static const int E_404_422[] = {404, 422, 0};
static const int E_REC[] = {422, 503, 0};
static const int E_RATE[] = {400, 413, 422, 0};
static const int E_TOKEN[] = {401, 422, 429, 0};
static const int E_PW[] = {401, 403, 404, 413, 422, 0};
static const int E_SECURE[] = {401, 404, 0};
static const int E_EVAL[] = {422, 503, 0};
static const int E_RELOAD[] = {404, 500, 0};
static const int E_READY[] = {503, 0};

static const struct rt_param P_NONE[] = {{NULL}};
static const struct rt_param P_USER[] = {
    {"user_id", "path", "integer", 1, "user id"}, {NULL}};
static const struct rt_param P_RANDOM[] = {
    {"n", "path", "integer", 1, "how many movies (1..10000)"}, {NULL}};
static const struct rt_param P_AVG[] = {
    {"min_rating", "query", "number", 0, "lowest average (default 0)"},
    {"max_rating", "query", "number", 0, "highest average (default 5)"},
    {NULL}};
static const struct rt_param P_REC[] = {
    {"user", "path", "integer", 1, "user id the model knows"},
    {"n", "path", "integer", 1, "how many titles (1..1000)"},
    {"exclude_rated", "query", "string", 0,
     "true: leave out movies the user has rated"},
    {NULL}};
static const struct rt_param P_BATCH[] = {
    {"n", "path", "integer", 1, "titles per user (1..1000)"},
    {"users", "query", "array", 1, "user ids, repeated: ?users=1&users=2"},
    {NULL}};
static const struct rt_param P_TOKEN[] = {
    {"username", "form", "string", 1, "the user id"},
    {"password", "form", "string", 1, "the user's password"},
    {NULL}};
static const struct rt_param P_PW[] = {
    {"new_password", "form", "string", 1,
     "the new password (8 to 1024 bytes)"},
    {"username", "form", "string", 0,
     "user id; required with the admin key, else must be the token's"},
    {"X-Admin-Key", "header", "string", 0,
     "admin key (first provisioning, instead of a bearer token)"},
    {NULL}};
static const struct rt_param P_EVAL[] = {
    {"first_rating_id", "query", "integer", 1, "first rating id of the slice"},
    {"last_rating_id", "query", "integer", 1, "last rating id of the slice"},
    {NULL}};

const struct rt_route routes_table[] = {
    {RT_GET, "/", routes_root, "root", "system", "A greeting.", NULL, NULL,
     "{\"message\": \"...\"}", P_NONE, E_NONE},
    {RT_GET, "/healthz", routes_healthz, "healthz", "system",
     "Liveness: the process answers.", NULL, NULL, "{\"status\": \"ok\"}",
     P_NONE, E_NONE},
    {RT_GET, "/readyz", routes_readyz, "readyz", "system",
     "Readiness: a model is loaded.", NULL, NULL,
     "{\"status\": \"ready\", \"model\", \"version\"}", P_NONE, E_READY},
    {RT_GET, "/metrics", routes_metrics, "metrics", "system",
     "Prometheus metrics (text format 0.0.4).", NULL, NULL,
     "Prometheus text", P_NONE, E_NONE},
    {RT_GET, "/openapi.json", routes_openapi, "openapi", "system",
     "This API description (OpenAPI 3.0).", NULL, NULL, "OpenAPI JSON",
     P_NONE, E_NONE},
    {RT_GET, "/docs", routes_docs, "docs", "system",
     "Readable API documentation.", NULL, NULL, "HTML", P_NONE, E_NONE},
    {RT_GET, "/users/", routes_users, "users", "users", "Every user.", NULL,
     NULL, "{\"message\": [user, ...]}", P_NONE, E_NONE},
    {RT_GET, "/users/{user_id}", routes_user, "user", "users", "One user.",
     NULL, NULL,
     "[{\"user_id\", \"bucketized_user_age\", \"raw_user_age\", "
     "\"user_gender\", \"user_occupation_label\", \"user_occupation_text\", "
     "\"user_zip_code\"}]",
     P_USER, E_404_422},
    {RT_POST, "/users/add_user_rating/", routes_add_ratings, "add_rating",
     "users", "Add live ratings, all or nothing.", NULL,
     "[{\"user_id\": int, \"movie_id\": int, \"user_rating\": 0.5..5}, ...]",
     "{\"message\": \"...\", \"inserted\": n, \"first_rating_id\": id}",
     P_NONE, E_RATE},
    {RT_POST, "/users/token", routes_token, "token", "auth",
     "Log in: a bearer token for a user id and password.", NULL, NULL,
     "{\"access_token\": \"...\", \"token_type\": \"bearer\"}", P_TOKEN,
     E_TOKEN},
    {RT_POST, "/users/update_password", routes_update_password,
     "update_password", "auth",
     "Set a password: the user's own token, or the admin key for the first "
     "one.",
     "bearer or admin key", NULL, "{\"message\": \"password updated\"}", P_PW,
     E_PW},
    {RT_GET, "/users/secure_ratings/", routes_secure_ratings,
     "secure_ratings", "auth", "The token's user's own ratings.", "bearer",
     NULL,
     "[{\"user_id\", \"movie_id\", \"movie_title\", \"user_rating\", "
     "\"timestamp\", \"source\"}, ...]",
     P_NONE, E_SECURE},
    {RT_GET, "/movies/", routes_movies, "movies", "movies", "Every movie.",
     NULL, NULL, "{\"message\": [movie, ...]}", P_NONE, E_NONE},
    {RT_GET, "/movies/random/{n}", routes_random, "random", "movies",
     "n random movies.", NULL, NULL, "{\"message\": [movie, ...]}", P_RANDOM,
     E_422},
    {RT_GET, "/movies/ratings/", routes_avg_ratings, "avg_ratings", "movies",
     "Movies whose average rating lies in [min_rating, max_rating].", NULL,
     NULL, "[{\"movie_title\", \"rating\"}]", P_AVG, E_422},
    {RT_GET, "/movies/recommend/{user}/{n}", routes_recommend, "recommend",
     "recommend", "Top n titles for a user from the served model.", NULL,
     NULL,
     "{\"message\": [title, ...]}; header X-Model-Version: NAME/VERSION",
     P_REC, E_REC},
    {RT_GET, "/movies/recommend/batch/{n}", routes_recommend_batch,
     "recommend_batch", "recommend", "Top n titles for several users.", NULL,
     NULL, "[{\"user_id\": \"1\", \"movies\": [title, ...]}, ...]", P_BATCH,
     E_REC},
    {RT_GET, "/monitor/evaluate", routes_evaluate, "evaluate", "monitor",
     "Metrics of the served model on a slice of ratings.", NULL, NULL,
     "{\"model\", \"version\", \"metrics\": {...}}", P_EVAL, E_EVAL},
    {RT_GET | RT_POST, "/monitor/reload_models", routes_reload, "reload",
     "monitor", "Load the Production model again and swap it in.", NULL,
     NULL, "{\"message\", \"model\", \"version\", \"previous_version\"}",
     P_NONE, E_RELOAD},
};
const size_t routes_count = sizeof(routes_table) / sizeof(routes_table[0]);

int routes_json(struct srv_resp *resp, json_t *j, struct hv_err *err)
{
  if (!j)
    return hv_err_set(err, HV_ENOMEM, "out of memory building the answer");
  resp->body = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
  json_decref(j);
  if (!resp->body)
    return hv_err_set(err, HV_ENOMEM, "out of memory building the answer");
  resp->len = strlen(resp->body);
  return 0;
}

int routes_message(struct srv_resp *resp, const char *msg, struct hv_err *err)
{
  return routes_json(resp, json_pack("{s:s}", "message", msg), err);
}

int routes_path_int(struct srv_req *req, size_t i, int64_t min, int64_t max,
                    const char *what, int64_t *out, struct hv_err *err)
{
  char buf[32];
  if (rt_capture(&req->match, i, buf, sizeof(buf)))
    return hv_err_set(err, HV_EINVAL, "%s: value is too long for an integer",
                      what);
  return hv_parse_i64(buf, min, max, out, what, err);
}

int routes_query_int(struct srv_req *req, const char *name, int required,
                     int64_t dflt, int64_t min, int64_t max, int64_t *out,
                     struct hv_err *err)
{
  const char *v = srv_query(req, name);
  if (!v) {
    if (required)
      return hv_err_set(err, HV_EINVAL, "%s: query parameter is required",
                        name);
    *out = dflt;
    return 0;
  }
  return hv_parse_i64(v, min, max, out, name, err);
}

int routes_query_num(struct srv_req *req, const char *name, int required,
                     double dflt, double min, double max, double *out,
                     struct hv_err *err)
{
  const char *v = srv_query(req, name);
  if (!v) {
    if (required)
      return hv_err_set(err, HV_EINVAL, "%s: query parameter is required",
                        name);
    *out = dflt;
    return 0;
  }
  return hv_parse_f64(v, min, max, out, name, err);
}

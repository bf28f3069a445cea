/*
 * routes.c - the route table (paths, handlers, documentation) and the
 * helpers handlers share: see routes.h.
 */
#include "serve/http/routes.h"

#include <stdlib.h>
#include <string.h>

#include "serve/ui/ui.h"
#include "util/parse.h"

static const int E_NONE[] = {0};
static const int E_404[] = {404, 0};
static const int E_USER_ADD[] = {409, 413, 422, 0};
static const int E_422[] = {422, 0};
static const int E_404_422[] = {404, 422, 0};
static const int E_REC[] = {422, 503, 0};
static const int E_BATCH[] = {413, 414, 422, 503, 0};
/* Routes that write also answer 503 (the database lock held past the busy
 * timeout, or no turn to hash a password) and 507 (the home's disk full):
 * docs/durability.md. */
static const int E_RATE[] = {400, 401, 403, 413, 422, 429, 503, 507, 0};
static const int E_TOKEN[] = {401, 422, 429, 503, 0};
static const int E_PW[] = {401, 403, 404, 413, 422, 429, 503, 507, 0};
static const int E_SECURE[] = {401, 404, 0};
static const int E_EVAL[] = {404, 413, 422, 503, 0};
static const int E_DRIFT[] = {404, 413, 422, 503, 0};
static const int E_RELOAD[] = {404, 500, 503, 0};
static const int E_READY[] = {503, 0};
static const int E_UI[] = {404, 422, 0};
static const int E_UI_ARTIFACT[] = {404, 413, 422, 0};
static const int E_UI_POST[] = {401, 403, 404, 409, 422, 429, 503, 507, 0};
static const int E_UI_LOGIN[] = {401, 403, 429, 503, 507, 0};

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
    {"stage", "query", "string", 0,
     "with a ranker served: blend (retrieval score + W x predicted rating), "
     "ranking (predicted rating) or retrieval (retrieval only); default: "
     "harvest serve --stage (blend)"},
    {"candidates", "query", "integer", 0,
     "with a ranker: how many movies retrieval proposes (default: harvest "
     "serve --candidates, 100)"},
    {"explain", "query", "string", 0,
     "true: also say why each movie is there (\"explanations\": the "
     "user's rated movies nearest to it in the movie tower's space with "
     "their ratings, the retrieval score, and when the ranker ordered the "
     "list its predicted rating and feature-group contributions by "
     "ablation); the list is the same"},
    {NULL}};
static const struct rt_param P_BATCH[] = {
    {"n", "path", "integer", 1, "titles per user (1..1000)"},
    {"users", "query", "array", 0,
     "GET: user ids, repeated: ?users=1&users=2 (at most 400 query "
     "arguments; POST the list beyond)"},
    {"exclude_rated", "query", "string", 0,
     "true: leave out movies each user has rated"},
    {"stage", "query", "string", 0,
     "blend, ranking or retrieval (as for one user)"},
    {"candidates", "query", "integer", 0,
     "with a ranker: how many movies retrieval proposes"},
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
static const struct rt_param P_UI_RUNS[] = {
    {"name", "path", "string", 1, "experiment name"},
    {"filter", "query", "string", 0,
     "runs filter, as harvest runs list --filter"},
    {"order_by", "query", "string", 0, "e.g. metrics.loss ASC"},
    {"params", "query", "string", 0, "param columns (comma list)"},
    {"metrics", "query", "string", 0, "metric columns (comma list)"},
    {"max", "query", "integer", 0, "rows shown (default 1000)"},
    {NULL}};
static const struct rt_param P_UI_RUN[] = {
    {"run_id", "path", "string", 1, "32-hex run id"}, {NULL}};
static const struct rt_param P_UI_TUNE[] = {
    {"run_id", "path", "string", 1, "32-hex run id of a tune's parent run"},
    {"metric", "query", "string", 0,
     "the metric to chart (default: the tune's objective, tune.metric)"},
    {NULL}};
static const struct rt_param P_UI_ARTIFACT[] = {
    {"run_id", "path", "string", 1, "32-hex run id"},
    {"path", "query", "string", 1, "the artifact's path, e.g. model/model.hvm"},
    {NULL}};
static const struct rt_param P_UI_COMPARE[] = {
    {"runs", "query", "array", 1, "run ids: ?runs=A,B or ?runs=A&runs=B"},
    {NULL}};
static const struct rt_param P_UI_MODEL[] = {
    {"name", "path", "string", 1, "registered model name"}, {NULL}};
static const struct rt_param P_UI_TRANSITION[] = {
    {"name", "path", "string", 1, "registered model name"},
    {"action", "form", "string", 1, "VERSION:STAGE, e.g. 3:Production"},
    {"csrf", "form", "string", 1, "the model page's CSRF token"},
    {"credential", "form", "string", 0,
     "for scripts: API token, bearer token or admin key (or a header)"},
    {"reason", "form", "string", 0, "for the audit log"},
    {NULL}};
static const struct rt_param P_UI_ALIAS[] = {
    {"name", "path", "string", 1, "registered model name"},
    {"csrf", "form", "string", 1, "the model page's CSRF token"},
    {"alias", "form", "string", 0,
     "the alias to set (a-z, 0-9, '_', '-'; a leading @ is dropped)"},
    {"version", "form", "integer", 0, "the version to point it at"},
    {"delete", "form", "string", 0, "an alias to remove instead"},
    {"credential", "form", "string", 0,
     "for scripts: API token, bearer token or admin key (or a header)"},
    {NULL}};
static const struct rt_param P_UI_MON[] = {
    {"run", "query", "string", 0,
     "monitoring run to show (default: the newest)"},
    {NULL}};
static const struct rt_param P_UI_LOGIN[] = {
    {"next", "query", "string", 0, "the /ui page to go back to"},
    {"name", "form", "string", 0, "account name (POST)"},
    {"password", "form", "string", 0, "its password (POST)"},
    {"csrf", "form", "string", 0, "the page's CSRF token (POST)"}, {NULL}};
static const struct rt_param P_UI_LOGOUT[] = {
    {"csrf", "form", "string", 1, "the page's CSRF token"}, {NULL}};
static const struct rt_param P_DOCS_STATIC[] = {
    {"file", "path", "string", 1, "a Swagger UI file or Harvest's start "
     "script and style"}, {NULL}};
static const struct rt_param P_UI_STATIC[] = {
    {"file", "path", "string", 1, "ui.css or ui.js"}, {NULL}};

static const struct rt_param P_EVAL[] = {
    {"first_rating_id", "query", "integer", 1, "first rating id of the slice"},
    {"last_rating_id", "query", "integer", 1, "last rating id of the slice"},
    {NULL}};
static const struct rt_param P_DRIFT[] = {
    {"batches", "query", "string", 0,
     "rating-id windows F:L,F:L,... (at most 100)"},
    {"first_rating_id", "query", "integer", 0,
     "one rating-id window, with last_rating_id"},
    {"last_rating_id", "query", "integer", 0, "end of that window"},
    {"window", "query", "string", 0,
     "time window length (7d, 12h, 3600s); default one window"},
    {"since", "query", "string", 0,
     "start of the first time window (YYYY-MM-DD or epoch seconds); default "
     "the end of the model's training data"},
    {"windows", "query", "integer", 0, "number of time windows (1..100)"},
    {"threshold_share", "query", "number", 0,
     "dataset drift when this share of features drifted (default 0.5)"},
    {NULL}};

const struct rt_route routes_table[] = {
    {RT_GET, "/", routes_root, "root", "system", "A greeting.", RT_PUBLIC, NULL,
     "{\"message\": \"...\"}", P_NONE, E_NONE, 0, 0},
    {RT_GET, "/healthz", routes_healthz, "healthz", "system",
     "Liveness: the process answers.", RT_PUBLIC, NULL, "{\"status\": \"ok\"}",
     P_NONE, E_NONE, 0, 0},
    {RT_GET, "/readyz", routes_readyz, "readyz", "system",
     "Readiness: a model is loaded.", RT_PUBLIC, NULL,
     "{\"status\": \"ready\", \"model\", \"version\"}", P_NONE, E_READY, 0, 0},
    {RT_GET, "/metrics", routes_metrics, "metrics", "system",
     "Prometheus metrics (text format 0.0.4).", RT_PUBLIC, NULL,
     "Prometheus text", P_NONE, E_NONE, 0, 0},
    {RT_GET, "/openapi.json", routes_openapi, "openapi", "system",
     "This API description (OpenAPI 3.0).", RT_PUBLIC, NULL, "OpenAPI JSON",
     P_NONE, E_NONE, 0, 0},
    {RT_GET, "/docs", routes_docs, "docs", "system",
     "Interactive API documentation (Swagger UI with try-it-out; a plain "
     "page when Swagger UI's files are not installed).", RT_PUBLIC, NULL,
     "HTML", P_NONE, E_NONE, 0, 0},
    {RT_GET, "/docs/static/{file}", routes_docs_static, "docs_static",
     "system",
     "Swagger UI's files (from Debian's python3-flasgger) and Harvest's "
     "start script, served by this server (no CDN).", RT_PUBLIC, NULL,
     "JavaScript, CSS or PNG", P_DOCS_STATIC, E_404, 0, 0},
    {RT_GET, "/users/", routes_users, "users", "users", "Every user.", RT_PUBLIC,
     NULL, "{\"message\": [user, ...]}", P_NONE, E_NONE, 0, 0},
    {RT_POST, "/users/", routes_user_add, "user_add", "users",
     "Add an end user so that they can rate (every field optional; what "
     "is left out is unknown; the id is the next free one unless given).",
     RT_OPERATOR,
     "{\"user_id\": int, \"age\": 1..120, \"gender\": \"M\"|\"F\", "
     "\"occupation\": one of the dataset's, \"zip_code\": text}",
     "{\"message\": \"user N added\", \"user_id\": N}", P_NONE,
     E_USER_ADD, 0, 0},
    {RT_GET, "/users/{user_id}", routes_user, "user", "users", "One user.",
     RT_SELF, NULL,
     "[{\"user_id\", \"bucketized_user_age\", \"raw_user_age\", "
     "\"user_gender\", \"user_occupation_label\", \"user_occupation_text\", "
     "\"user_zip_code\"}]",
     P_USER, E_404_422, 1, 0},
    {RT_POST, "/users/add_user_rating/", routes_add_ratings, "add_rating",
     "users", "Add live ratings, all or nothing.", RT_SELF,
     "[{\"user_id\": int, \"movie_id\": int, \"user_rating\": on the "
     "dataset's scale}, ...]: whole stars 1..5 for ml-100k, ml-1m and "
     "synth, half stars 0.5..5 for ml-latest; off the scale: 422",
     "{\"message\": \"...\", \"inserted\": n, \"first_rating_id\": id}",
     P_NONE, E_RATE, 1, 0},
    {RT_POST, "/users/token", routes_token, "token", "auth",
     "Log in: a bearer token for a user id and password.", RT_PUBLIC, NULL,
     "{\"access_token\": \"...\", \"token_type\": \"bearer\"}", P_TOKEN,
     E_TOKEN, 0, 0},
    {RT_POST, "/users/update_password", routes_update_password,
     "update_password", "auth",
     "Set a password: the user's own token, or the admin key for the first "
     "one.",
     RT_SELF, NULL, "{\"message\": \"password updated\"}", P_PW,
     E_PW, 0, RT_ADMIN},
    {RT_GET, "/users/secure_ratings/", routes_secure_ratings,
     "secure_ratings", "auth", "The token's user's own ratings.", RT_SELF,
     NULL,
     "[{\"user_id\", \"movie_id\", \"movie_title\", \"user_rating\", "
     "\"timestamp\", \"source\"}, ...]",
     P_NONE, E_SECURE, 0, 0},
    {RT_GET, "/movies/", routes_movies, "movies", "movies", "Every movie.",
     RT_PUBLIC, NULL, "{\"message\": [movie, ...]}", P_NONE, E_NONE, 0, 0},
    {RT_GET, "/movies/random/{n}", routes_random, "random", "movies",
     "n random movies.", RT_PUBLIC, NULL, "{\"message\": [movie, ...]}", P_RANDOM,
     E_422, 0, 0},
    {RT_GET, "/movies/ratings/", routes_avg_ratings, "avg_ratings", "movies",
     "Movies whose average rating lies in [min_rating, max_rating].", RT_PUBLIC,
     NULL, "[{\"movie_title\", \"rating\"}]", P_AVG, E_422, 0, 0},
    {RT_GET, "/movies/recommend/{user}/{n}", routes_recommend, "recommend",
     "recommend", "Top n titles for a user from the served model.", RT_PUBLIC,
     NULL,
     "{\"message\": [title, ...]} (with explain=true also \"stage\" and "
     "\"explanations\"); header X-Model-Version: NAME/VERSION "
     "(and the ranker's, 'NAME/VERSION, RANKER/VERSION', when it ordered "
     "them)",
     P_REC, E_REC, 0, 0},
    {RT_GET | RT_POST, "/movies/recommend/batch/{n}", routes_recommend_batch,
     "recommend_batch", "recommend",
     "Top n titles for several users: GET with ?users= (up to 400), or POST "
     "the list as JSON (up to 1000).", RT_PUBLIC,
     "POST: {\"users\": [user id, ...]}",
     "[{\"user_id\": 1, \"movies\": [title, ...]}, ...]", P_BATCH,
     E_BATCH, 0, 0},
    {RT_GET, "/monitor/evaluate", routes_evaluate, "evaluate", "monitor",
     "Metrics of the served model on a slice of ratings.", RT_VIEWER, NULL,
     "{\"model\", \"version\", \"metrics\": {...}}", P_EVAL, E_EVAL, 1, 0},
    {RT_GET, "/monitor/drift", routes_drift, "drift", "monitor",
     "Monitoring report of the served model: performance, drift per "
     "feature, dataset drift and feedback-loop health per window.",
     RT_VIEWER, NULL,
     "{\"model\", \"reference\", \"windows\": [{\"metrics\", "
     "\"features\": [{\"name\", \"test\", \"statistic\", "
     "\"threshold\", \"drift\"}], \"dataset_drift\"}], \"served\"}",
     P_DRIFT, E_DRIFT, 1, 0},
    {RT_GET | RT_POST, "/monitor/reload_models", routes_reload, "reload",
     "monitor", "Load the Production model again and swap it in.", RT_OPERATOR,
     NULL, "{\"message\", \"model\", \"version\", \"previous_version\"}",
     P_NONE, E_RELOAD, 1, 0},
    {RT_GET, "/ui", ui_route_experiments, "ui_experiments", "ui",
     "Web UI: experiments with run counts and last activity.", RT_VIEWER, NULL,
     "HTML", P_NONE, E_NONE, 0, 0},
    {RT_GET, "/ui/experiments", ui_route_experiments, "ui_experiments_q",
     "ui", "Web UI: experiments, or with ?name= that experiment's runs.",
     RT_VIEWER, NULL, "HTML", P_NONE, E_UI, 0, 0},
    {RT_GET, "/ui/experiments/{name}", ui_route_runs, "ui_runs", "ui",
     "Web UI: runs table of an experiment (filter, sort, compare).", RT_VIEWER,
     NULL, "HTML", P_UI_RUNS, E_UI, 0, 0},
    {RT_GET, "/ui/runs/{run_id}", ui_route_run, "ui_run", "ui",
     "Web UI: one run with metric charts, lineage and artifacts.", RT_VIEWER,
     NULL, "HTML", P_UI_RUN, E_UI, 0, 0},
    {RT_GET, "/ui/runs/{run_id}/tune", ui_route_tune, "ui_tune", "ui",
     "Web UI: a tune's trials as charts (the metric against each param, "
     "parallel coordinates).", RT_VIEWER, NULL, "HTML", P_UI_TUNE, E_UI, 0,
     0},
    {RT_GET, "/ui/runs/{run_id}/artifact", ui_route_artifact, "ui_artifact",
     "ui", "Web UI: download a run's artifact (SHA-256 checked first).",
     RT_VIEWER, NULL, "the artifact's bytes (an attachment)", P_UI_ARTIFACT,
     E_UI_ARTIFACT, 0, 0},
    {RT_GET, "/ui/compare", ui_route_compare, "ui_compare", "ui",
     "Web UI: runs side by side, metric charts overlaid.", RT_VIEWER, NULL,
     "HTML", P_UI_COMPARE, E_UI, 0, 0},
    {RT_GET, "/ui/models", ui_route_models, "ui_models", "ui",
     "Web UI: registered models.", RT_VIEWER, NULL, "HTML", P_NONE, E_NONE, 0, 0},
    {RT_GET, "/ui/models/{name}", ui_route_model, "ui_model", "ui",
     "Web UI: a model's versions, aliases and audit log.", RT_VIEWER, NULL,
     "HTML", P_UI_MODEL, E_UI, 0, 0},
    {RT_POST, "/ui/models/{name}/transition", ui_route_transition,
     "ui_transition", "ui",
     "Web UI: move a version to a stage (archives the old Production).",
     RT_OPERATOR,
     "form: csrf, credential, action, reason", "303 to the model page",
     P_UI_TRANSITION, E_UI_POST, 0, 0},
    {RT_POST, "/ui/models/{name}/alias", ui_route_alias, "ui_alias", "ui",
     "Web UI: set an alias on a version, or remove one.", RT_OPERATOR,
     "form: csrf, credential, alias, version | delete",
     "303 to the model page", P_UI_ALIAS, E_UI_POST, 0, 0},
    {RT_GET, "/ui/monitoring", ui_route_monitoring, "ui_monitoring", "ui",
     "Web UI: performance, drift grid, health and retraining decisions.",
     RT_VIEWER, NULL, "HTML", P_UI_MON, E_UI, 0, 0},
    {RT_GET, "/ui/data", ui_route_data, "ui_data", "ui",
     "Web UI: counts, rating histogram, top movies.", RT_VIEWER, NULL, "HTML",
     P_NONE, E_NONE, 0, 0},
    {RT_GET, "/ui/users", ui_route_user, "ui_user_q", "ui",
     "Web UI: a user's page by ?id=.", RT_VIEWER, NULL, "HTML", P_NONE, E_UI, 0, 0},
    {RT_GET, "/ui/users/{user_id}", ui_route_user, "ui_user", "ui",
     "Web UI: a user's ratings and current recommendations.", RT_VIEWER, NULL,
     "HTML", P_USER, E_UI, 0, 0},
    {RT_GET | RT_POST, "/ui/login", ui_route_login, "ui_login", "ui",
     "Web UI: sign in with an operator account (sets the hv_session "
     "cookie).",
     RT_PUBLIC, "form: csrf, name, password, next",
     "HTML; 303 to next after signing in", P_UI_LOGIN, E_UI_LOGIN, 0, 0},
    {RT_POST, "/ui/logout", ui_route_logout, "ui_logout", "ui",
     "Web UI: sign out (revokes the session).", RT_VIEWER, "form: csrf",
     "303 to /ui/login", P_UI_LOGOUT, E_UI_POST, 0, 0},
    {RT_GET, "/ui/static/{file}", ui_route_static, "ui_static", "ui",
     "Web UI assets built into the binary.", RT_PUBLIC, NULL, "CSS or JS",
     P_UI_STATIC, E_UI, 0, 0},
};
const size_t routes_count = sizeof(routes_table) / sizeof(routes_table[0]);

/* The routes that do not run on the workers (every other is RT_CHEAP):
 * their cost grows with their parameters or they hash a model file. */
static const struct {
  const char *name;
  enum rt_cost cost;
} costly[] = {
    {"evaluate", RT_POOL_CACHED},
    {"drift", RT_POOL_CACHED},
    {"reload", RT_POOL},
};

enum rt_cost routes_cost(size_t route)
{
  for (size_t i = 0; route < routes_count && i < sizeof(costly) / sizeof(*costly);
       i++)
    if (!strcmp(routes_table[route].name, costly[i].name))
      return costly[i].cost;
  return RT_CHEAP;
}

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

int routes_header(struct srv_resp *resp, const char *name, const char *value,
                  struct hv_err *err)
{
  if (!name || !value || !*name || strpbrk(name, "\r\n:") ||
      strpbrk(value, "\r\n"))
    return hv_err_set(err, HV_EINVAL, "response header: bad name or value");
  size_t have = resp->headers ? strlen(resp->headers) : 0;
  size_t add = strlen(name) + 2 + strlen(value) + 1;
  char *h = realloc(resp->headers, have + add + 1);
  if (!h)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  snprintf(h + have, add + 1, "%s: %s\n", name, value);
  resp->headers = h;
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

/* Query argument name into *v (borrowed; NULL when absent). Absent and
 * required is HV_EINVAL naming it. */
static int query_value(struct srv_req *req, const char *name, int required,
                       const char **v, struct hv_err *err)
{
  *v = srv_query(req, name);
  if (!*v && required)
    return hv_err_set(err, HV_EINVAL, "%s: query parameter is required",
                      name);
  return 0;
}

int routes_query_int(struct srv_req *req, const char *name, int required,
                     int64_t dflt, int64_t min, int64_t max, int64_t *out,
                     struct hv_err *err)
{
  const char *v = NULL;
  int rc = query_value(req, name, required, &v, err);
  if (!rc && !v)
    *out = dflt; /* absent and optional */
  return rc || !v ? rc : hv_parse_i64(v, min, max, out, name, err);
}

int routes_query_num(struct srv_req *req, const char *name, int required,
                     double dflt, double min, double max, double *out,
                     struct hv_err *err)
{
  const char *v = NULL;
  int rc = query_value(req, name, required, &v, err);
  if (!rc && !v)
    *out = dflt; /* absent and optional */
  return rc || !v ? rc : hv_parse_f64(v, min, max, out, name, err);
}

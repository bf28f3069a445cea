/*
 * cmd_serve.c - `harvest serve`: run the REST API until SIGINT / SIGTERM.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "recommend/recommend.h"
#include "recommend/retindex.h"
#include "model/model.h"
#include "serve/http/docs.h"
#include "serve/http/server.h"

static const char serve_usage[] =
    "[--host 127.0.0.1] [--port 8000] [--threads N]\n"
    "                     [--model NAME | --model-file FILE]\n"
    "                     [--ranker NAME] [--candidates K]\n"
    "                     [--stage blend|ranking|retrieval] [--blend W]\n"
    "                     [--index exact|ivf|auto] [--index-min-recall R]\n"
    "                     [--tls-cert FILE --tls-key FILE]\n"
    "                     [--swagger-ui DIR]\n"
    "                     [--max-body BYTES] [--max-connections N]\n"
    "                     [--per-ip N] [--reserve N] [--timeout S]\n"
    "                     [--request-timeout S] [--heavy-threads N]\n"
    "                     [--heavy-queue N] [--monitor-cache S]\n"
    "                     [--monitor-max-windows N] [--monitor-max-rows N]\n"
    "                     [--hash-max N] [--cache-n N]\n"
    "                     [--slice-us US] [--seed-compat] [--no-admin-key]\n"
    "                     [--rating-quota N] [--no-access-log]\n"
    "                     [--forwarded-allow-ips LIST]\n"
    "                     [--home DIR]";

static const char serve_about[] =
    "Serve the recommender API (the seed's FastAPI routes, plus /healthz,\n"
    "/readyz, /metrics, /openapi.json, /docs, /monitor/drift and the web\n"
    "UI at /ui/) on libmicrohttpd.\n"
    "\n"
    "The Production version of --model (default " SERVE_DEFAULT_MODEL ") is\n"
    "loaded from the registry and swapped in place within a second of a\n"
    "new Production version, or on GET/POST /monitor/reload_models; with\n"
    "--model-file the file is served and reloaded when it is replaced.\n"
    "With no model the server starts unready (503) and says why.\n";

static const char serve_more[] =
    "Secrets: the token key is HARVEST_JWT_SECRET or HOME/jwt.key, the\n"
    "admin key (X-Admin-Key header) is HARVEST_ADMIN_KEY or\n"
    "HOME/admin.key; the files are created with mode 0600 on first start.\n"
    "\n"
    "Authorization: every route has a policy (public, self, viewer,\n"
    "operator, admin; /openapi.json shows it as x-harvest-policy). Staff\n"
    "send an operator account's API token ('harvest auth account add',\n"
    "'harvest auth token create'): Authorization: Bearer hvt_...; the web\n"
    "UI signs accounts in at /ui/login (a viewer session for every page). The\n"
    "admin key still counts as admin (bootstrap, scripts of older\n"
    "releases) unless --no-admin-key.\n"
    "Rating writes need the user's own bearer token (POST /users/token)\n"
    "or an operator's credential.\n"
    "--seed-compat opens the seed's routes again (rating writes for anyone,\n"
    "user rows, monitoring, reload): never use it on a network.\n"
    "\n"
    "Logs go to stderr. SIGINT/SIGTERM stop\n"
    "accepting, finish the requests in flight (up to 10 s) and exit\n"
    "0; a second SIGINT/SIGTERM meanwhile exits at once (128 + signal).\n";

static const struct cli_spec serve_spec = {
    .cmd = "serve",
    .usage = serve_usage,
    .about = serve_about,
    .more = serve_more,
    .json_help = "",
};

/* What parse reads into locals first: a value of 0 given on the command
 * line means "off", which serve_config spells -1 (0 there: the default). */
struct serve_flags {
  const char *index;
  int cache_n, slice, quota;
  double monitor_cache;
  int cache_given, slice_given, quota_given, monitor_cache_given;
};

#define SERVE_LIMITS_N 13

/* The connection, request, monitoring and hashing limits. */
static void limits_table(struct serve_config *cfg, struct serve_flags *fl,
                         struct cli_opt t[SERVE_LIMITS_N])
{
  const struct cli_opt l[] = {
      {CLI_OPT(CLI_SIZE, "max-body", 0, "BYTES", "largest request body, else "
               "413 (default 1 MiB)", &cfg->max_body), .lo = 1,
       .hi = (int64_t)1 << 30},
      {CLI_OPT(CLI_UINT, "max-connections", 0, "N", "open connections in all "
               "(default 1024)", &cfg->max_connections), .lo = 1,
       .hi = 1000000},
      {CLI_OPT(CLI_UINT, "per-ip", 0, "N", "open connections per client "
               "address (64)", &cfg->per_ip), .lo = 1, .hi = 1000000},
      {CLI_OPT(CLI_UINT, "reserve", 0, "N", "connections kept for addresses "
               "that hold none: once max-connections minus N are open, only "
               "those are accepted (default max-connections / 16)",
               &cfg->reserve), .lo = 1, .hi = 1000000},
      {CLI_OPT(CLI_UINT, "timeout", 0, "S", "idle connection timeout in "
               "seconds (30)", &cfg->timeout_s), .lo = 1, .hi = 86400},
      {CLI_OPT(CLI_DBL, "request-timeout", 0, "S", "a whole request (headers "
               "and body) must arrive within S seconds of the connection's "
               "opening or its previous answer, however slowly the bytes "
               "trickle; else the connection is closed (10)",
               &cfg->request_timeout), .flo = 0.1, .fhi = 3600},
      {CLI_OPT(CLI_INT, "heavy-threads", 0, "N", "threads that run the "
               "expensive routes (/monitor/drift, /monitor/evaluate, "
               "/monitor/reload_models) apart from the workers, at a lower "
               "CPU priority (1)", &cfg->heavy_threads), .lo = 1, .hi = 64},
      {CLI_OPT(CLI_INT, "heavy-queue", 0, "N", "expensive requests that may "
               "wait for them; beyond, 503 with Retry-After (4)",
               &cfg->heavy_queue), .lo = 1, .hi = 10000},
      {CLI_OPT(CLI_DBL, "monitor-cache", 0, "S", "reuse a monitoring answer "
               "for the same served model version and query for S seconds "
               "(60; 0 = off)", &fl->monitor_cache), .fhi = 86400,
       .seen = &fl->monitor_cache_given},
      {CLI_OPT(CLI_INT, "monitor-max-windows", 0, "N", "windows per "
               "/monitor/drift request, else 413 (20)",
               &cfg->monitor_max_windows), .lo = 1, .hi = 10000},
      {CLI_OPT(CLI_I64, "monitor-max-rows", 0, "N", "ratings per monitoring "
               "request, summed over its windows (each is a pass), else 413 "
               "(1000000)", &cfg->monitor_max_rows), .lo = 1,
       .hi = (int64_t)1 << 40},
      {CLI_OPT(CLI_INT, "hash-max", 0, "N", "password hashes or checks "
               "(argon2id, 64 MiB and ~0.1 s of a core each) at once; more "
               "wait 0.25 s, then 503 (1)", &cfg->auth.hash_max), .lo = 1,
       .hi = 64},
      CLI_OPTS_END};
  static_assert(sizeof(l) == SERVE_LIMITS_N * sizeof(l[0]), "SERVE_LIMITS_N");
  memcpy(t, l, sizeof(l));
}

#define SERVE_MODELS_N 9

/* What is served: the retrieval model, the ranker, the pipeline, the index. */
static void models_table(struct serve_config *cfg, struct serve_flags *fl,
                         struct cli_opt t[SERVE_MODELS_N])
{
  const struct cli_opt l[] = {
      {CLI_OPT(CLI_STR, "model", 0, "NAME", "registered model to serve",
               &cfg->model_name)},
      {CLI_OPT(CLI_STR, "model-file", 0, "FILE", "serve this model file "
               "instead", &cfg->model_file)},
      {CLI_OPT(CLI_STR, "ranker", 0, "NAME", "registered ranking model "
               "(--task ranking) whose Production version orders the "
               "candidates (default harvest_ranker; none registered = "
               "retrieval only)", &cfg->ranker_name)},
      {CLI_OPT(CLI_CHOICE, "stage", 0, "blend|ranking|retrieval",
               "the pipeline when a request names none (?stage=): "
               "retrieval's candidates ordered by retrieval score + W x "
               "predicted rating (blend, the default: best graded nDCG@10 "
               "measured, see harvest evaluate --ranker), by the predicted "
               "rating alone, or retrieval only", &cfg->stage),
       .choices = recommend_stage_names},
      {CLI_OPT(CLI_DBL, "blend", 0, "W", "the blend's weight W (default "
               CLI_XSTR(RECOMMEND_DEFAULT_BLEND) ")", &cfg->blend),
       .flo = 1e-6, .fhi = RECOMMEND_MAX_BLEND},
      {CLI_OPT(CLI_INT, "candidates", 0, "K", "movies retrieval proposes to "
               "the ranker (default 100; ?candidates=K per request)",
               &cfg->candidates), .lo = 1, .hi = RECOMMEND_MAX_CANDIDATES},
      {CLI_OPT(CLI_STR, "index", 0, "MODE", "retrieval through the model's "
               "approximate index: auto (default: the index stored with a "
               "model of >= 20000 movies), ivf (always; built at load when "
               "none is stored) or exact (every movie scored)", &fl->index)},
      {CLI_OPT(CLI_DBL, "index-min-recall", 0, "R", "refuse an index whose "
               "recall@100, measured when it was built, is below R: logged, "
               "and the model serves exactly (0.95)",
               &cfg->index_min_recall), .flo = 1e-9, .fhi = 1},
      CLI_OPTS_END};
  static_assert(sizeof(l) == SERVE_MODELS_N * sizeof(l[0]), "SERVE_MODELS_N");
  memcpy(t, l, sizeof(l));
}

/* Apply fl's "given as 0 means off" values and the flags that go together;
 * 0 or HV_EUSAGE (reported). */
static int finish(const struct serve_flags *fl, struct serve_config *cfg)
{
  if (fl->cache_given)
    cfg->cache_n = fl->cache_n ? fl->cache_n : -1;
  if (fl->slice_given)
    cfg->slice_us = fl->slice ? fl->slice : -1;
  if (fl->monitor_cache_given)
    cfg->heavy_cache_s = fl->monitor_cache > 0 ? fl->monitor_cache : -1;
  if (fl->quota_given)
    cfg->auth.rating_quota = fl->quota ? fl->quota : -1;
  struct hv_err e = {0};
  if (fl->index && retindex_parse_mode(fl->index, &cfg->index_mode, &e))
    return cli_usage_error("serve", "%s", e.msg);
  if (!cfg->tls_cert != !cfg->tls_key)
    return cli_usage_error("serve", "--tls-cert and --tls-key go together");
  if (cfg->model_file && cfg->model_name)
    return cli_usage_error("serve", "give --model or --model-file, not both");
  return 0;
}

/* Parse argv into cfg; 0, CLI_HELP or HV_EUSAGE (reported). */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct serve_config *cfg)
{
  struct serve_flags fl = {0};
  struct cli_opt limits[SERVE_LIMITS_N];
  limits_table(cfg, &fl, limits);
  struct cli_opt models[SERVE_MODELS_N];
  models_table(cfg, &fl, models);
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "host", 0, "ADDR", "address to bind (default "
               "127.0.0.1)", &cfg->host)},
      {CLI_OPT(CLI_INT, "port", 0, "N", "TCP port, 0 = any free one (default "
               "8000)", &cfg->port), .hi = 65535},
      {CLI_OPT(CLI_INT, "threads", 0, "N", "worker threads (default: one per "
               "CPU it may run on: taskset, Docker --cpuset-cpus)",
               &cfg->threads), .lo = 1, .hi = 256},
      {.type = CLI_GROUP, .sub = models},
      {CLI_OPT(CLI_STR, "tls-cert", 0, "FILE", "PEM certificate: serve HTTPS "
               "(with --tls-key)", &cfg->tls_cert)},
      {CLI_OPT(CLI_STR, "tls-key", 0, "FILE", "PEM private key",
               &cfg->tls_key)},
      {CLI_OPT(CLI_STR, "swagger-ui", 0, "DIR", "Swagger UI 3.x's dist "
               "files for the interactive /docs (default: Debian "
               "python3-flasgger's, " DOCS_SWAGGER_DIR "; absent: /docs is a "
               "plain page)", &cfg->swagger_ui)},
      {.type = CLI_GROUP, .sub = limits, .help = "Limits:"},
      {CLI_OPT(CLI_INT, "cache-n", 0, "N", "remember each user's top N movies "
               "under the served model and answer n <= N, and a ranker's "
               "K <= N candidates, from it (default: the candidates K, 100, "
               "when --stage is blend or ranking, else 20; 0 = off, at most "
               CLI_XSTR(MODEL_TOPCACHE_MAX_K) "); dropped with the model on a "
               "swap; memory: N x 8 bytes a user asked about", &fl.cache_n),
       .hi = MODEL_TOPCACHE_MAX_K, .seen = &fl.cache_given},
      {CLI_OPT(CLI_INT, "slice-us", 0, "US", "workers ask the kernel for a "
               "US-microsecond scheduler slice and yield the CPU at most "
               "once per US (every US while busy), so clients or services "
               "sharing the cores are not kept waiting a whole scheduler "
               "tick behind a busy worker (100; 0 = kernel defaults, no "
               "yielding)", &fl.slice), .hi = 100000, .seen = &fl.slice_given},
      {CLI_OPT(CLI_TRUE, "seed-compat", 0, NULL, "UNSAFE on a network: the "
               "seed's open shapes (anyone may add ratings for any user, "
               "read user rows and run monitoring and reloads) for the "
               "workshop's clients on a trusted host", &cfg->seed_compat)},
      {CLI_OPT(CLI_INT, "rating-quota", 0, "N", "ratings an end user may "
               "add a minute, in bursts of up to N; an address 5 x N "
               "(default " CLI_XSTR(AUTH_RATING_QUOTA) "; 0 = no quota; "
               "operators are not limited); over it: 429 with Retry-After",
               &fl.quota), .hi = 100000000, .seen = &fl.quota_given},
      {CLI_OPT(CLI_STR, "forwarded-allow-ips", 0, "LIST", "proxies "
               "(addresses separated by commas, or *) whose X-Forwarded-For "
               "names the client: the rightmost address in it that is not "
               "one of them is what login and rating limits count and the "
               "access log shows (default: none, the socket's address)",
               &cfg->forwarded_allow_ips)},
      {CLI_OPT(CLI_TRUE, "no-admin-key", 0, NULL, "refuse the admin key "
               "(X-Admin-Key): staff use accounts' tokens only",
               &cfg->auth.no_admin_key)},
      {CLI_OPT(CLI_FALSE, "no-access-log", 0, NULL, "do not log one line per "
               "request", &cfg->access_log)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &serve_spec, opts, argc, argv);
  return rc ? rc : finish(&fl, cfg);
}

int cmd_serve(struct cli_ctx *ctx, int argc, char **argv)
{
  struct serve_config cfg = {.port = 8000, .access_log = 1};
  int rc = parse(ctx, argc, argv, &cfg);
  if (rc)
    return cli_parse_rc(rc);
  cfg.home = ctx->home;
  cfg.db = ctx->db;
  struct hv_err err = {0};
  if (serve_run(&cfg, &err))
    return cli_report(&err);
  return 0;
}

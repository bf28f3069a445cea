/*
 * cmd_serve.c - `harvest serve`: run the REST API until SIGINT / SIGTERM.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"
#include "serve/http/server.h"
#include "util/parse.h"

static void help(void)
{
  printf(
      "Usage: harvest serve [--host 127.0.0.1] [--port 8000] [--threads N]\n"
      "                     [--model NAME | --model-file FILE]\n"
      "                     [--tls-cert FILE --tls-key FILE]\n"
      "                     [--max-body BYTES] [--max-connections N]\n"
      "                     [--per-ip N] [--timeout S] [--cache-n N]\n"
      "                     [--slice-us US] [--no-access-log]\n"
      "                     [--home DIR]\n\n"
      "Serve the recommender API (the seed's FastAPI routes, plus /healthz,\n"
      "/readyz, /metrics, /openapi.json, /docs, /monitor/drift and the web\n"
      "UI at /ui/) on libmicrohttpd.\n\n"
      "The Production version of --model (default %s) is\n"
      "loaded from the registry and swapped in place within a second of a\n"
      "new Production version, or on GET/POST /monitor/reload_models; with\n"
      "--model-file the file is served and reloaded when it is replaced.\n"
      "With no model the server starts unready (503) and says why.\n\n"
      "Options:\n"
      "  --host ADDR           address to bind (default 127.0.0.1)\n"
      "  --port N              TCP port, 0 = any free one (default 8000)\n"
      "  --threads N           worker threads (default: one per CPU)\n"
      "  --model NAME          registered model to serve\n"
      "  --model-file FILE     serve this model file instead\n"
      "  --tls-cert FILE       PEM certificate: serve HTTPS (with --tls-key)\n"
      "  --tls-key FILE        PEM private key\n"
      "  --max-body BYTES      largest request body, else 413 (default 1 MiB)\n"
      "  --max-connections N   open connections in all (default 1024)\n"
      "  --per-ip N            open connections per client address (256)\n"
      "  --timeout S           idle connection timeout in seconds (30)\n"
      "  --cache-n N           remember each user's top N movies under the\n"
      "                        served model and answer n <= N from it (20;\n"
      "                        0 = off, at most 64); dropped with the model\n"
      "                        on a swap; memory: N x 8 bytes a user asked\n"
      "                        about\n"
      "  --slice-us US         workers ask the kernel for a US-microsecond\n"
      "                        scheduler slice and yield the CPU at most\n"
      "                        once per US (every US while busy), so\n"
      "                        clients or services sharing the cores are\n"
      "                        not kept waiting a whole scheduler tick\n"
      "                        behind a busy worker (100; 0 = kernel\n"
      "                        defaults, no yielding)\n"
      "  --no-access-log       do not log one line per request\n\n"
      "Secrets: the token key is HARVEST_JWT_SECRET or HOME/jwt.key, the\n"
      "admin key (X-Admin-Key header, for first passwords) is\n"
      "HARVEST_ADMIN_KEY or HOME/admin.key; the files are created with mode\n"
      "0600 on first start. Logs go to stderr. SIGINT/SIGTERM stop\n"
      "accepting, finish the requests in flight (up to 10 s) and exit\n"
      "0; a second SIGINT/SIGTERM meanwhile exits at once (128 + signal).\n",
      SERVE_DEFAULT_MODEL);
}

enum {
  OPT_HOST = 0x2001,
  OPT_PORT,
  OPT_THREADS,
  OPT_MODEL,
  OPT_MODEL_FILE,
  OPT_CERT,
  OPT_KEY,
  OPT_MAX_BODY,
  OPT_MAX_CONN,
  OPT_PER_IP,
  OPT_TIMEOUT,
  OPT_NO_LOG,
  OPT_CACHE_N,
  OPT_SLICE
};

/* Apply one serve option; 0 or HV_EUSAGE after printing the problem. */
static int serve_opt(struct serve_config *cfg, int c, const char *arg)
{
  struct hv_err e = {0};
  int64_t v = 0;
  switch (c) {
  case OPT_HOST: cfg->host = arg; return 0;
  case OPT_MODEL: cfg->model_name = arg; return 0;
  case OPT_MODEL_FILE: cfg->model_file = arg; return 0;
  case OPT_CERT: cfg->tls_cert = arg; return 0;
  case OPT_KEY: cfg->tls_key = arg; return 0;
  case OPT_NO_LOG: cfg->access_log = 0; return 0;
  case OPT_PORT:
    if (hv_parse_i64(arg, 0, 65535, &v, "--port", &e))
      break;
    cfg->port = (int)v;
    return 0;
  case OPT_THREADS:
    if (hv_parse_i64(arg, 1, 256, &v, "--threads", &e))
      break;
    cfg->threads = (int)v;
    return 0;
  case OPT_MAX_BODY:
    if (hv_parse_i64(arg, 1, (int64_t)1 << 30, &v, "--max-body", &e))
      break;
    cfg->max_body = (size_t)v;
    return 0;
  case OPT_MAX_CONN:
    if (hv_parse_i64(arg, 1, 1000000, &v, "--max-connections", &e))
      break;
    cfg->max_connections = (unsigned)v;
    return 0;
  case OPT_PER_IP:
    if (hv_parse_i64(arg, 1, 1000000, &v, "--per-ip", &e))
      break;
    cfg->per_ip = (unsigned)v;
    return 0;
  case OPT_CACHE_N:
    if (hv_parse_i64(arg, 0, MODEL_TOPCACHE_MAX_K, &v, "--cache-n", &e))
      break;
    cfg->cache_n = v ? (int)v : -1;
    return 0;
  case OPT_SLICE:
    if (hv_parse_i64(arg, 0, 100000, &v, "--slice-us", &e))
      break;
    cfg->slice_us = v ? (int)v : -1;
    return 0;
  case OPT_TIMEOUT:
    if (hv_parse_i64(arg, 1, 86400, &v, "--timeout", &e))
      break;
    cfg->timeout_s = (unsigned)v;
    return 0;
  default:
    return cli_usage_error("serve", "bad option");
  }
  return cli_usage_error("serve", "%s", e.msg);
}

int cmd_serve(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
      CLI_COMMON_LONGOPTS,
      {"host", required_argument, NULL, OPT_HOST},
      {"port", required_argument, NULL, OPT_PORT},
      {"threads", required_argument, NULL, OPT_THREADS},
      {"model", required_argument, NULL, OPT_MODEL},
      {"model-file", required_argument, NULL, OPT_MODEL_FILE},
      {"tls-cert", required_argument, NULL, OPT_CERT},
      {"tls-key", required_argument, NULL, OPT_KEY},
      {"max-body", required_argument, NULL, OPT_MAX_BODY},
      {"max-connections", required_argument, NULL, OPT_MAX_CONN},
      {"per-ip", required_argument, NULL, OPT_PER_IP},
      {"timeout", required_argument, NULL, OPT_TIMEOUT},
      {"no-access-log", no_argument, NULL, OPT_NO_LOG},
      {"cache-n", required_argument, NULL, OPT_CACHE_N},
      {"slice-us", required_argument, NULL, OPT_SLICE},
      {0}};
  struct serve_config cfg = {.port = 8000, .access_log = 1};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    if (c == 'h') {
      help();
      return 0;
    }
    if (c == '?')
      return cli_usage_error("serve", "bad option");
    if (serve_opt(&cfg, c, optarg))
      return HV_EUSAGE;
  }
  if (optind < argc)
    return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
  if (!cfg.tls_cert != !cfg.tls_key)
    return cli_usage_error("serve", "--tls-cert and --tls-key go together");
  if (cfg.model_file && cfg.model_name)
    return cli_usage_error("serve", "give --model or --model-file, not both");
  cfg.home = ctx->home;
  struct hv_err err = {0};
  if (serve_run(&cfg, &err))
    return cli_report(&err);
  return 0;
}

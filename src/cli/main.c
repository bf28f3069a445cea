/*
 * main.c - the `harvest` entry point: global flags, the command table, and
 * the mapping of error codes to exit statuses (0 ok, 1 failure, 2 usage).
 *
 * The only global state is the cli_ctx built here before any command runs.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "track/artifacts.h"

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv);
static int cmd_version(struct cli_ctx *ctx, int argc, char **argv);

/* One row per command; keep sorted as `harvest help` shows it. (Not a
 * struct cli_command: the top level has no cli_run_db rows.) */
static const struct {
  const char *name, *summary;
  cli_fn fn;
} commands[] = {
    {"artifacts", "list, get and put a run's artifacts (SHA-256 checked)",
     cmd_artifacts},
    {"auth", "operator accounts (viewer, operator, admin) and API tokens",
     cmd_auth},
    {"data", "import, fetch, synthesise and summarise datasets", cmd_data},
    {"db", "copy a home or database to another backend, checked",
     cmd_db},
    {"demo", "the whole loop end to end: replay, drift, retrain, hot swap",
     cmd_demo},
    {"drift", "compare two samples: KS, Wasserstein, PSI, JS, chi-square",
     cmd_drift},
    {"evaluate", "metrics of a model (URI or file) on a slice of ratings",
     cmd_evaluate},
    {"help", "show this help", cmd_help},
    {"models", "model registry: register, stages, aliases, URIs, audit",
     cmd_models},
    {"monitor", "performance, drift and health of a model on live windows",
     cmd_monitor},
    {"recommend", "top movies for a user from a model (URI or file)",
     cmd_recommend},
    {"retrain", "retraining policy: decide, train a challenger, promote",
     cmd_retrain},
    {"runs", "tracked runs: list, show, compare, history, gc", cmd_runs},
    {"serve", "REST API: recommendations, ratings, auth, metrics, hot swap",
     cmd_serve},
    {"train", "train the two-tower model as a tracked run", cmd_train},
    {"tune", "grid search: a parent run, one child run per combination",
     cmd_tune},
    {"users", "end users of the catalogue: add one so they can rate, show one",
     cmd_users},
    {"version", "print the version and the code version built in",
     cmd_version},
    {"watch", "run the retraining policy on a schedule (until SIGINT)",
     cmd_watch},
};
static const size_t n_commands = sizeof(commands) / sizeof(commands[0]);

static void usage(FILE *out)
{
  fprintf(out,
          "Usage: harvest [--home DIR] [--db URL] [--artifacts DIR] <command> "
          "[options]\n\n"
          "Harvest trains, tracks, serves and monitors a two-tower movie\n"
          "recommender.\n\nCommands:\n");
  for (size_t i = 0; i < n_commands; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out,
          "\nGlobal options (also accepted after any command):\n"
          "  --home DIR   data folder (default $HARVEST_HOME or "
          "./harvest-data)\n"
          "  --db URL     the database: postgresql://... or a SQLite file\n"
          "               (default $HARVEST_DB or HOME/harvest.db)\n"
          "  --artifacts DIR  artifact folder shared by every host (default\n"
          "               $HARVEST_ARTIFACTS; none: HOME/artifacts, and a\n"
          "               PostgreSQL database keeps the artifacts)\n"
          "  --json       machine-readable output where a command reports\n"
          "  -h, --help   help; 'harvest <command> --help' for a command\n");
}

/* `harvest help CMD [SUB...]` runs `harvest CMD [SUB...] --help`. */
static int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
  if (argc > 1) {
    for (size_t i = 0; i < n_commands; i++)
      if (!strcmp(commands[i].name, argv[1])) {
        char *sub[8]; /* CMD [GROUP] [SUB] --help */
        int k = 0;
        for (int j = 1; j < argc && k < 6; j++)
          sub[k++] = argv[j];
        sub[k++] = "--help";
        sub[k] = NULL;
        return commands[i].fn(ctx, k, sub);
      }
    return cli_usage_error("help", "unknown command '%s'", argv[1]);
  }
  usage(stdout);
  return 0;
}

static int cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
  if (ctx->json) {
    cli_print_json(json_pack("{s:s, s:s}", "version", HV_VERSION, "git",
                             HV_GIT_VERSION));
  } else {
    printf("harvest %s (%s)\n", HV_VERSION, HV_GIT_VERSION);
  }
  return 0;
}

/* Parse the flags before the command name; returns the index of the command
 * or -1 after printing a usage error. */
static int parse_global(struct cli_ctx *ctx, int argc, char **argv)
{
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--json")) {
      ctx->json = 1;
    } else if (!strcmp(a, "--home") && i + 1 < argc) {
      ctx->home = argv[++i];
    } else if (!strncmp(a, "--home=", 7)) {
      ctx->home = a + 7;
    } else if (!strcmp(a, "--db") && i + 1 < argc) {
      ctx->db = argv[++i];
    } else if (!strncmp(a, "--db=", 5)) {
      ctx->db = a + 5;
    } else if (!strcmp(a, "--artifacts") && i + 1 < argc) {
      ctx->artifacts = argv[++i];
    } else if (!strncmp(a, "--artifacts=", 12)) {
      ctx->artifacts = a + 12;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--version")) {
      return -2;
    } else {
      fprintf(stderr, "harvest: unknown option '%s'\n", a);
      usage(stderr);
      return -1;
    }
  }
  return i;
}

int main(int argc, char **argv)
{
  struct cli_ctx ctx = {.home = getenv("HARVEST_HOME"),
                        .db = getenv("HARVEST_DB"),
                        .artifacts = getenv("HARVEST_ARTIFACTS"), .json = 0};
  if (!ctx.home || !*ctx.home)
    ctx.home = "./harvest-data";
  if (ctx.db && !*ctx.db)
    ctx.db = NULL;
  int i = parse_global(&ctx, argc, argv);
  if (i == -2)
    return cmd_version(&ctx, 0, NULL);
  if (i < 0)
    return 2;
  struct hv_err err = {0};
  if (artifacts_use_dir(ctx.artifacts, &err)) { /* before any thread */
    fprintf(stderr, "harvest: %s\n", err.msg);
    return 2;
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  for (size_t k = 0; k < n_commands; k++) {
    if (strcmp(commands[k].name, argv[i]))
      continue;
    int rc = commands[k].fn(&ctx, argc - i, argv + i);
    fflush(stdout);
    return hv_err_exit_code(rc);
  }
  fprintf(stderr, "harvest: unknown command '%s'; run 'harvest help'\n",
          argv[i]);
  return 2;
}

/*
 * cli.h - what the `harvest` subcommands share: context, common flags,
 * error reporting and JSON output.
 *
 * Design: main() parses global flags, picks a command from its table and
 * calls it with the remaining argv (argv[0] is the command name). A command
 * parses its own flags with getopt_long (CLI_COMMON_LONGOPTS adds --home,
 * --json, --help), calls one service, prints, and returns 0 or a negative
 * HV_E* code; main turns that into the exit status (0 ok, 1 failure,
 * 2 usage). Commands report their own errors with cli_report().
 */
#ifndef HV_CLI_CLI_H
#define HV_CLI_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "cli/cli_opts.h"
#include "util/err.h"

struct hv_db;

struct cli_ctx {
  const char *home; /* --home / HARVEST_HOME / ./harvest-data */
  int json;         /* --json: print machine-readable output on stdout */
};

typedef int (*cli_fn)(struct cli_ctx *ctx, int argc, char **argv);

struct cli_command {
  const char *name;
  const char *summary;
  cli_fn fn;
};

/* getopt_long entries every command accepts; handle them with
 * cli_common_opt(). */
#define CLI_OPT_HOME 0x1001
#define CLI_OPT_JSON 0x1002
#define CLI_COMMON_LONGOPTS                                \
  {"home", required_argument, NULL, CLI_OPT_HOME},         \
      {"json", no_argument, NULL, CLI_OPT_JSON},           \
  {                                                        \
    "help", no_argument, NULL, 'h'                         \
  }

/* Apply a common option c (CLI_OPT_HOME / CLI_OPT_JSON); returns 1 when it
 * was one of them, 0 otherwise. */
int cli_common_opt(struct cli_ctx *ctx, int c, const char *arg);

/* Print "harvest CMD: MESSAGE" and a hint to run --help on stderr; returns
 * HV_EUSAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) HV_PRINTF(2, 3);

/* Print "harvest: error: MESSAGE" for err on stderr; returns err->code (or
 * HV_EINTERNAL when err has no code). */
int cli_report(const struct hv_err *err);

/* Parse the flags of a command that takes only the common options (and
 * -h) plus nargs positional arguments (any number when nargs < 0); help()
 * prints its --help text. Returns 1 after printing help (the command then
 * returns 0), 0 to go on with the positionals at argv[optind..], or
 * HV_EUSAGE after reporting a bad option or a wrong count: "unexpected
 * argument 'X'" when nargs is 0, else the message expected (e.g. "expected
 * one RUN_ID"). */
int cli_parse_common(struct cli_ctx *ctx, const char *cmd, int argc,
                     char **argv, void (*help)(void), int nargs,
                     const char *expected);

/* cli_opt callbacks (CLI_FN) for values a service parses, dst as named:
 * synth_drift_parse (enum synth_drift *), synth_parse_date (int64_t *). */
int cli_set_synth_drift(const struct cli_opt *o, const char *flag,
                        const char *arg, struct hv_err *err);
int cli_set_synth_date(const struct cli_opt *o, const char *flag,
                       const char *arg, struct hv_err *err);

/* Format t (seconds since the epoch) in UTC into buf (cap bytes) as
 * "2024-01-02T03:04:05Z" (CLI_UTC_TIME) or "2024-01-02" (CLI_UTC_DATE);
 * returns buf. */
enum { CLI_UTC_TIME = 0, CLI_UTC_DATE = 1 };
const char *cli_utc(double t, int what, char *buf, size_t cap);

/* Resolve the home folder, create it and its artifacts/ folder, and open
 * (creating or upgrading) its database. The caller closes *db. */
int cli_open_home(const struct cli_ctx *ctx, struct hv_db **db,
                  struct hv_err *err) HV_WARN_UNUSED;

/* Print j (stolen) as indented JSON plus a newline on stdout. */
void cli_print_json(json_t *j);

/* Reset getopt before a (sub)command parses its own argv. */
void cli_getopt_reset(void);

/* Run a command group: look up argv[1] in table (n entries) and call it with
 * argv+1; prints the group's help for "help", -h, --help or no subcommand. */
int cli_dispatch_group(struct cli_ctx *ctx, const char *group,
                       const struct cli_command *table, size_t n, int argc,
                       char **argv);

/* Commands (one per cmd_*.c). */
int cmd_data(struct cli_ctx *ctx, int argc, char **argv);
int cmd_runs(struct cli_ctx *ctx, int argc, char **argv);
int cmd_artifacts(struct cli_ctx *ctx, int argc, char **argv);
int cmd_models(struct cli_ctx *ctx, int argc, char **argv);
int cmd_train(struct cli_ctx *ctx, int argc, char **argv);
int cmd_tune(struct cli_ctx *ctx, int argc, char **argv);
int cmd_evaluate(struct cli_ctx *ctx, int argc, char **argv);
int cmd_recommend(struct cli_ctx *ctx, int argc, char **argv);
int cmd_drift(struct cli_ctx *ctx, int argc, char **argv);
int cmd_monitor(struct cli_ctx *ctx, int argc, char **argv);
int cmd_serve(struct cli_ctx *ctx, int argc, char **argv);
int cmd_retrain(struct cli_ctx *ctx, int argc, char **argv);
int cmd_watch(struct cli_ctx *ctx, int argc, char **argv);
int cmd_demo(struct cli_ctx *ctx, int argc, char **argv);

#endif

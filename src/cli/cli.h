/*
 * cli.h - what the `harvest` subcommands share: context, common flags,
 * error reporting and JSON output.
 *
 * Design: main() parses global flags, picks a command from its table and
 * calls it with the remaining argv (argv[0] is the command name). A command
 * declares its flags in a table and parses them with cli_parse
 * (cli_opts.h: getopt_long underneath; --home, --json and --help added),
 * which also prints its --help; it then calls one service, prints, and
 * returns 0 or a negative HV_E* code; main turns that into the exit status
 * (0 ok, 1 failure, 2 usage). Commands report their own errors with
 * cli_report().
 */
#ifndef HV_CLI_CLI_H
#define HV_CLI_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "cli/cli_opts.h"
#include "util/err.h"
#include "util/termstr.h"

struct hv_db;

/* s (a title, name, tag, reason or path from the database, a file or a
 * message quoting one) with its control characters escaped for the
 * terminal (util/termstr.h), in a buffer that lives until the end of the
 * enclosing block: for printf arguments, any number per call. Text output
 * prints every such string through it; --json output needs not (jansson
 * escapes controls). Cut at CLI_SAFE_MAX - 1 bytes. */
#define CLI_SAFE_MAX 1024
#define CLI_SAFE(s) termstr((s), (char[CLI_SAFE_MAX]){0}, CLI_SAFE_MAX)

struct cli_ctx {
  const char *home; /* --home / HARVEST_HOME / ./harvest-data */
  int json;         /* --json: print machine-readable output on stdout */
  const char *db;   /* --db / HARVEST_DB; NULL: HOME/harvest.db */
  const char *artifacts; /* --artifacts / HARVEST_ARTIFACTS; NULL: the
                            home's, or the PostgreSQL database */
};

typedef int (*cli_fn)(struct cli_ctx *ctx, int argc, char **argv);

/* The body of a command that works on the home's database (cli_run_db):
 * db is open, ud is cli_run_db's (what the command's flags set, or NULL),
 * args[0..argc) are the positional arguments and err is caller-owned.
 * Returns 0, or a negative HV_E* code with err filled. */
typedef int (*cli_db_fn)(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                         int argc, char **args, struct hv_err *err);

/* A row of a command table. A subcommand that is only "parse spec, open
 * the home, run" names spec and run instead of fn: cli_dispatch_group
 * calls cli_run_db(spec, run) for it. */
struct cli_command {
  const char *name;
  const char *summary;
  cli_fn fn;                   /* the command, or NULL: */
  const struct cli_spec *spec; /* ... its spec (flags: spec->opts) */
  cli_db_fn run;               /* ... and its body (ud NULL) */
};

/* A command table as cli_dispatch_group's (table, n) arguments. */
#define CLI_TABLE(t) (t), sizeof(t) / sizeof((t)[0])

/* The common path of a command on the home's database: cli_parse_opts
 * argv against spec and opts (NULL: spec->opts), cli_open_home (or
 * cli_open_existing_home for spec->reads), run(ud), close the database.
 * Returns what the command returns: 0 after --help or success, HV_EUSAGE
 * after a usage message, else the error of the home or of run, reported
 * on stderr. */
int cli_run_db(struct cli_ctx *ctx, const struct cli_spec *spec,
               const struct cli_opt *opts, int argc, char **argv,
               cli_db_fn run, void *ud);

/* Print "harvest CMD: MESSAGE" and a hint to run --help on stderr; returns
 * HV_EUSAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) HV_PRINTF(2, 3);

/* Print "harvest: error: MESSAGE" for err on stderr; returns err->code (or
 * HV_EINTERNAL when err has no code). */
int cli_report(const struct hv_err *err);

/* Close db (NULL allowed) and cli_report(err): a command's way out after
 * cli_open_home or a call on its database failed. */
int cli_close_report(struct hv_db *db, const struct hv_err *err);

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

/* cli_open_home for a command that only reads: a SQLite home whose
 * database does not exist is HV_ENOTFOUND ("no Harvest home at DIR ...",
 * naming the commands that make one) and nothing is created. */
int cli_open_existing_home(const struct cli_ctx *ctx, struct hv_db **db,
                           struct hv_err *err) HV_WARN_UNUSED;

/* The progress line a command rewrites on stderr while it fills the home
 * (cli_fill_home), when stderr is a terminal. */
struct cli_progress {
  int on;      /* stderr is a terminal */
  int shown;   /* a line was printed: cli_fill_home clears it */
  double last; /* hv_mono() when it was printed */
};

/* 1 when the caller should print its progress line now: on a terminal,
 * at most 4 times a second, and always for the last step. */
int cli_progress_due(struct cli_progress *p, int last_step);

/* What a command that imports into the home runs on its open database
 * (cli_fill_home), with p for its progress line: 0, or a negative HV_E*
 * code with err filled. */
typedef int (*cli_fill_fn)(struct hv_db *db, void *ud, struct cli_progress *p,
                           struct hv_err *err);

/* Open (creating) the home's database, fill(db, ud, p, err), clear the
 * progress line, close the database. When the database is a SQLite file
 * that did not exist before and the open or fill failed, the file and its
 * -wal, -shm and -journal companions are removed, and so are the folders
 * opening the home created (HOME/artifacts, HOME and its new parents, each
 * only when empty): a failed import leaves no empty database or home
 * behind, and a home that existed keeps what it had. Returns 0 or the
 * error code with err filled (not reported). */
int cli_fill_home(const struct cli_ctx *ctx, cli_fill_fn fill, void *ud,
                  struct hv_err *err);

/* Print j (stolen) as indented JSON plus a newline on stdout. */
void cli_print_json(json_t *j);

/* Run a command group: look up argv[1] in table (n entries) and call it with
 * argv+1 (a row with run: cli_run_db); prints the group's help for "help",
 * -h, --help or no subcommand. */
int cli_dispatch_group(struct cli_ctx *ctx, const char *group,
                       const struct cli_command *table, size_t n, int argc,
                       char **argv);

/* Commands (one per cmd_*.c). */
int cmd_data(struct cli_ctx *ctx, int argc, char **argv);
int cmd_db(struct cli_ctx *ctx, int argc, char **argv);
int cmd_runs(struct cli_ctx *ctx, int argc, char **argv);
int cmd_artifacts(struct cli_ctx *ctx, int argc, char **argv);
int cmd_auth(struct cli_ctx *ctx, int argc, char **argv);
int cmd_users(struct cli_ctx *ctx, int argc, char **argv);
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

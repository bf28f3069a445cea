/*
 * cli_opts.h - declarative command-line options: one table per command gives
 * the parsing (getopt_long underneath), the validation messages and the
 * --help text, so the flags a command accepts and the ones its help lists
 * cannot drift apart.
 *
 * Design: a table is an array of struct cli_opt ending with {CLI_END}. Each
 * entry names a flag (long name, short letter or both), its type and where
 * the parsed value goes (dst, usually a field of the command's config built
 * on the stack, so tables are automatic arrays built per call). Shared flag
 * groups (train_flags.h, retrain_flags.h) are sub-tables a command embeds
 * with a CLI_GROUP entry. Every command also accepts --home DIR, --json and
 * -h/--help (the common options) without listing them.
 *
 * Messages name the flag as the user typed its long form ("--bins: 'x' is
 * not an integer", "--order: 'x' is not asc or desc", "--model URI is
 * required") and go out through cli_usage_error, so a bad command line
 * exits 2. A repeated flag is applied again (a scalar keeps the last value;
 * CLI_LIST and callbacks see every one).
 * Threads: none (getopt_long's global state).
 */
#ifndef HV_CLI_CLI_OPTS_H
#define HV_CLI_CLI_OPTS_H

#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

struct cli_ctx;

enum cli_type {
  CLI_END = 0,  /* ends a table */
  CLI_GROUP,    /* embeds the table .sub; .help is its heading or NULL */
  CLI_SECTION,  /* help only: .help heads the options that follow */
  CLI_COMMON,   /* help only: where --json, --home and --help are listed
                   (default: after everything else) */
  CLI_TRUE,     /* no value: *(int *)dst = 1 */
  CLI_FALSE,    /* no value: *(int *)dst = 0 */
  CLI_STR,      /* *(const char **)dst = the argument; with hi > 0 its
                   length must be lo..hi */
  CLI_INT,      /* *(int *)dst in [lo, hi] */
  CLI_I64,      /* *(int64_t *)dst in [lo, hi] */
  CLI_SIZE,     /* *(size_t *)dst in [lo, hi] */
  CLI_UINT,     /* *(unsigned *)dst in [lo, hi] */
  CLI_U64,      /* *(uint64_t *)dst in [lo, hi] */
  CLI_DBL,      /* *(double *)dst, finite, in [flo, fhi] */
  CLI_CHOICE,   /* *(int *)dst = index of the argument in .choices */
  CLI_RANGE,    /* FIRST:LAST into ((int64_t *)dst)[0] and [1] */
  CLI_LIST,     /* repeatable: ((const char **)dst)[*seen] = the argument,
                   at most hi of them (.seen required: the count) */
  CLI_FN,       /* .fn(o, flag, argument, err) */
  CLI_FN0       /* no value: .fn(o, flag, NULL, err) */
};

/* Entry flags. */
enum {
  CLI_REQUIRED = 1, /* missing -> "--flag META is required" */
  CLI_EARLY = 2,    /* applied before all other flags wherever it stands
                       (train's --tutorial: later flags override it) */
  CLI_HIDDEN = 4    /* accepted, not listed in --help */
};

struct cli_opt;

/* A callback flag: apply arg (NULL for CLI_FN0) as the flag named flag
 * ("--psi-bound"; valid during the call only, arg for the process);
 * 0, or a negative HV_E* code with err set (reported as a usage error). */
typedef int (*cli_opt_fn)(const struct cli_opt *o, const char *flag,
                          const char *arg, struct hv_err *err);

struct cli_opt {
  enum cli_type type;
  const char *name;     /* long name without "--", or NULL */
  char short_name;      /* -x, or 0 */
  const char *metavar;  /* the value in help and messages: N, FILE, URI */
  const char *help;     /* help text (word-wrapped; '\n' breaks a line);
                           NULL: listed on the previous entry's line
                           ("--logq, --no-logq") */
  void *dst;            /* where the value goes (see enum cli_type) */
  int64_t lo, hi;       /* integer range; lo == hi == 0: the type's */
  double flo, fhi;      /* CLI_DBL range; flo == fhi == 0: any finite */
  const char *const *choices; /* CLI_CHOICE: NULL-terminated */
  cli_opt_fn fn;        /* CLI_FN, CLI_FN0 */
  const void *key;      /* for fn: what it sets (a field name, ...) */
  int *seen;            /* incremented each time the flag is applied */
  unsigned flags;       /* CLI_REQUIRED | CLI_EARLY | CLI_HIDDEN */
  const struct cli_opt *sub; /* CLI_GROUP */
  int dst_kind;         /* enum cli_dst_kind, set by CLI_OPT */
};

/* What dst points to, from its C type, so that cli_parse and cli_help can
 * assert that it fits the entry's type (a CLI_INT writing an int64_t field
 * would go unnoticed otherwise: dst is a void *). */
enum cli_dst_kind {
  CLI_DST_OTHER = 0, CLI_DST_INT, CLI_DST_UINT, CLI_DST_I64, CLI_DST_U64,
  CLI_DST_DBL, CLI_DST_STR
};
#define CLI_DST_KIND(p)                                                   \
  _Generic((p), int *: CLI_DST_INT, unsigned *: CLI_DST_UINT,            \
           int64_t *: CLI_DST_I64, uint64_t *: CLI_DST_U64,             \
           double *: CLI_DST_DBL, const char **: CLI_DST_STR,           \
           default: CLI_DST_OTHER)

/* Table entry shorthand for the first six fields; the others follow by
 * name: {CLI_OPT(CLI_INT, "port", 0, "P", "TCP port", &port), .hi = 65535}
 * (size_t is uint64_t here: CLI_SIZE takes either). */
#define CLI_OPT(type_, name_, short_, meta_, help_, dst_)                 \
  .type = (type_), .name = (name_), .short_name = (short_),             \
  .metavar = (meta_), .help = (help_), .dst = (dst_),                   \
  .dst_kind = CLI_DST_KIND(dst_)
#define CLI_OPTS_END {.type = CLI_END}

/* A number macro as a string literal, for help text: CLI_XSTR(WINDOW_MAX) */
#define CLI_XSTR_(x) #x
#define CLI_XSTR(x) CLI_XSTR_(x)

/* One command's options, positional arguments and help text. */
struct cli_spec {
  const char *cmd;    /* "models register": messages and "Usage: harvest" */
  const char *usage;  /* synopsis after the command name; NULL: [options] */
  const char *about;  /* prose after the usage line, or NULL */
  const char *more;   /* prose after the options, or NULL */
  const struct cli_opt *opts; /* the table (CLI_END-terminated), or NULL:
                                 no flags but the common ones */
  int min_args;       /* positional arguments: at least min_args */
  int max_args;       /* ... and at most max_args (-1: any number) */
  const char *args_msg; /* when fewer than min_args: "expected one RUN_ID" */
  const char *json_help; /* --json in help; NULL: the default text, "":
                            not listed (still accepted) */
  const char *home_help; /* --home DIR in help; the same rules */
  int reads;          /* a read command: cli_run_db opens an existing home
                         only (cli_open_existing_home) */
};

#define CLI_HELP 1 /* cli_parse printed the help: the command returns 0 */

/* Parse argv (argv[0] is the command's name) against spec: apply every flag
 * to its dst, --home/--json to ctx, and check the positional count and the
 * required flags. Returns 0 with the positional arguments at
 * argv[optind..argc-1], CLI_HELP after printing the help on stdout, or
 * HV_EUSAGE after printing the problem on stderr. */
int cli_parse(struct cli_ctx *ctx, const struct cli_spec *spec, int argc,
              char **argv);

/* cli_parse with spec's text and the table opts in place of spec->opts:
 * for a command whose help is a static spec and whose table is built per
 * call (its dsts on the caller's stack). */
int cli_parse_opts(struct cli_ctx *ctx, const struct cli_spec *spec,
                   const struct cli_opt *opts, int argc, char **argv);

/* Print spec's --help text on out. */
void cli_help(FILE *out, const struct cli_spec *spec);

/* cli_parse's result as a command's return value: 0 for CLI_HELP, else
 * rc. */
static inline int cli_parse_rc(int rc)
{
  return rc == CLI_HELP ? 0 : rc;
}

#endif

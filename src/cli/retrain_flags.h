/*
 * retrain_flags.h - the flags `harvest retrain`, `harvest watch` and
 * `harvest demo` share: the policy (--policy FILE and the trigger flags)
 * and the retraining options (--from-scratch, --replay, --margin, ...),
 * as two options sub-tables (cli_opts.h) writing a struct policy and a
 * struct retrain_opts.
 *
 * Design: a trigger flag is kept as (flag, value) text and applied through
 * policy_set after the policy file is read, so flags override the file
 * wherever they stand on the command line, and a flag and a file key give
 * the same messages. With no trigger at all (no file, no flag) the policy
 * is relative: retrain when top-100 accuracy falls POLICY_DEFAULT_DROP
 * below the Production model's own held-out score (--max-top100-drop).
 * Threads: none (command-line parsing).
 */
#ifndef HV_CLI_RETRAIN_FLAGS_H
#define HV_CLI_RETRAIN_FLAGS_H

#include "cli/cli_opts.h"
#include "retrain/policy.h"
#include "retrain/retrain.h"

#define RETRAIN_FLAGS_MAX 64 /* trigger flags on one command line */
#define RETRAIN_POLICY_N 13  /* entries of policy_opts, CLI_END included */
#define RETRAIN_OPTS_N 12    /* entries of retrain_opts */

#define RETRAIN_POLICY_HEADING                                             \
  "Policy (any trigger fires a retraining; none given:\n"                \
  "--max-top100-drop 0.2; flags override --policy FILE):"
#define RETRAIN_OPTS_HEADING "Retraining:"

struct retrain_flags {
  const char *policy_file;
  size_t n_set;
  struct {
    const char *value;
    const struct cli_opt *opt; /* the flag: its name is the policy key */
  } set[RETRAIN_FLAGS_MAX];
  struct policy policy;   /* filled by retrain_flags_finish */
  struct retrain_opts opts; /* policy points at .policy after finish */
  /* The tables (point into this struct): --policy and the triggers; the
   * retraining options (--model, --from-scratch, --replay, ...). */
  struct cli_opt policy_opts[RETRAIN_POLICY_N];
  struct cli_opt retrain_opts[RETRAIN_OPTS_N];
};

/* Defaults (no file, no trigger flags, retrain_opts_defaults, log_monitor
 * on) and the tables writing into f (f must not move while they are
 * used). */
void retrain_flags_init(struct retrain_flags *f);

/* Read the policy file (if any), apply the trigger flags over it, default
 * to --max-top100-drop POLICY_DEFAULT_DROP when no trigger is on, and point opts.policy at the
 * result. Returns 0, HV_EUSAGE (bad flag value, printed) or the file's
 * error (printed with cli_report). */
int retrain_flags_finish(struct retrain_flags *f, const char *cmd);

/* cli_parse_opts (spec's text, the command's table opts, which embeds
 * f's sub-tables), then retrain_flags_finish naming spec->cmd. Returns 0,
 * CLI_HELP, or an error already printed. */
int retrain_flags_parse(struct cli_ctx *ctx, const struct cli_spec *spec,
                        const struct cli_opt *opts, struct retrain_flags *f,
                        int argc, char **argv);

#endif

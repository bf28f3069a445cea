/*
 * retrain_flags.h - the flags `harvest retrain`, `harvest watch` and
 * `harvest demo` share: the policy (--policy FILE and the trigger flags)
 * and the retraining options (--from-scratch, --replay, --margin, ...),
 * parsed into a struct policy and a struct retrain_opts, with their --help
 * text.
 *
 * Design: a trigger flag is kept as (key, value) text and applied through
 * policy_set after the policy file is read, so flags override the file
 * wherever they stand on the command line, and a flag and a file key give
 * the same messages. With no trigger at all (no file, no flag) the policy
 * is the seed's rule: retrain when top-100 accuracy <= 0.5.
 * Threads: none (command-line parsing).
 */
#ifndef HV_CLI_RETRAIN_FLAGS_H
#define HV_CLI_RETRAIN_FLAGS_H

#include <getopt.h>
#include <stdio.h>

#include "retrain/policy.h"
#include "retrain/retrain.h"

/* getopt_long codes of the shared flags (commands number theirs outside
 * RETRAIN_FLAG_FIRST..RETRAIN_FLAG_LAST). */
enum {
  RETRAIN_FLAG_FIRST = 0x3000,
  RF_POLICY = RETRAIN_FLAG_FIRST, RF_MIN_TOP100, RF_DRIFT, RF_PSI,
  RF_MIN_NEW, RF_MAX_AGE, RF_WINDOWS, RF_WINDOW_RATINGS, RF_MIN_WINDOW,
  RF_MODEL, RF_SCRATCH, RF_REPLAY, RF_MARGIN, RF_HOLDOUT, RF_EPOCHS,
  RF_SEED, RF_THREADS, RF_FORCE, RF_DRY_RUN, RF_COMPARE,
  RETRAIN_FLAG_LAST = RF_COMPARE
};

/* The policy flags (retrain, watch, demo). */
#define RETRAIN_POLICY_LONGOPTS                                          \
  {"policy", required_argument, NULL, RF_POLICY},                        \
      {"min-top100", required_argument, NULL, RF_MIN_TOP100},            \
      {"on-dataset-drift", no_argument, NULL, RF_DRIFT},                 \
      {"psi-bound", required_argument, NULL, RF_PSI},                    \
      {"min-new-ratings", required_argument, NULL, RF_MIN_NEW},          \
      {"max-age-days", required_argument, NULL, RF_MAX_AGE},             \
      {"windows", required_argument, NULL, RF_WINDOWS},                  \
      {"window-ratings", required_argument, NULL, RF_WINDOW_RATINGS},    \
  {                                                                      \
    "min-window-ratings", required_argument, NULL, RF_MIN_WINDOW         \
  }

/* The retraining options (retrain, watch; the demo takes a subset). */
#define RETRAIN_OPTS_LONGOPTS                                            \
  {"model", required_argument, NULL, RF_MODEL},                          \
      {"from-scratch", no_argument, NULL, RF_SCRATCH},                   \
      {"replay", required_argument, NULL, RF_REPLAY},                    \
      {"margin", required_argument, NULL, RF_MARGIN},                    \
      {"holdout", required_argument, NULL, RF_HOLDOUT},                  \
      {"epochs", required_argument, NULL, RF_EPOCHS},                    \
      {"seed", required_argument, NULL, RF_SEED},                        \
      {"threads", required_argument, NULL, RF_THREADS},                  \
      {"force", no_argument, NULL, RF_FORCE},                            \
      {"dry-run", no_argument, NULL, RF_DRY_RUN},                        \
  {                                                                      \
    "compare", no_argument, NULL, RF_COMPARE                             \
  }

#define RETRAIN_FLAGS_MAX 64 /* trigger flags on one command line */

struct retrain_flags {
  const char *policy_file;
  size_t n_set;
  struct {
    const char *key, *value, *flag;
  } set[RETRAIN_FLAGS_MAX];
  struct policy policy;   /* filled by retrain_flags_finish */
  struct retrain_opts opts; /* policy points at .policy after finish */
};

/* Defaults: no file, no trigger flags, retrain_opts_defaults,
 * log_monitor on. */
void retrain_flags_init(struct retrain_flags *f);

/* Handle getopt code c with arg for command cmd: 1 when c is one of these
 * flags (consumed), 0 when it is not, HV_EUSAGE after printing a usage
 * error. */
int retrain_flags_opt(struct retrain_flags *f, int c, const char *arg,
                      const char *cmd);

/* Read the policy file (if any), apply the trigger flags over it, default
 * to the seed's rule when no trigger is on, and point opts.policy at the
 * result. Returns 0, HV_EUSAGE (bad flag value, printed) or the file's
 * error (printed with cli_report). */
int retrain_flags_finish(struct retrain_flags *f, const char *cmd);

/* --help text of the policy flags / the retraining options. */
void retrain_flags_help_policy(FILE *out);
void retrain_flags_help_opts(FILE *out);

#endif

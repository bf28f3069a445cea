/*
 * train_flags.h - the training flags `harvest train` and `harvest tune`
 * share (--dim, --lr, ..., --tutorial): getopt_long entries, parsing into a
 * struct train_config, and their --help text.
 *
 * Design: every flag with a value goes through trainrun_config_set, so a
 * flag and a `tune --grid` key of the same name accept exactly the same
 * values and give the same messages. --tutorial is applied before all other
 * flags (train_flags_init), so later flags override it wherever it stands.
 * Threads: none (command-line parsing).
 */
#ifndef HV_CLI_TRAIN_FLAGS_H
#define HV_CLI_TRAIN_FLAGS_H

#include <getopt.h>

#include "model/model.h"
#include "util/err.h"

/* getopt_long codes of the shared flags: TRAIN_FLAG_FIRST..TRAIN_FLAG_LAST
 * (commands number their own flags outside this range). */
enum {
  TRAIN_FLAG_FIRST = 0x2000,
  TF_DIM = TRAIN_FLAG_FIRST, TF_LR, TF_OPT, TF_EPOCHS, TF_BATCH, TF_SPLIT,
  TF_SEED, TF_RATINGS, TF_FEATURES, TF_NOFEATURES, TF_L2, TF_TEMP, TF_LOGQ,
  TF_NOLOGQ, TF_HITS, TF_TUTORIAL, TF_THREADS, TF_EVAL_EVERY, TF_INIT_SCALE,
  TRAIN_FLAG_LAST = TF_INIT_SCALE
};

#define TRAIN_FLAGS_LONGOPTS                                          \
  {"dim", required_argument, NULL, TF_DIM},                           \
      {"lr", required_argument, NULL, TF_LR},                         \
      {"optimizer", required_argument, NULL, TF_OPT},                 \
      {"epochs", required_argument, NULL, TF_EPOCHS},                 \
      {"batch", required_argument, NULL, TF_BATCH},                   \
      {"split", required_argument, NULL, TF_SPLIT},                   \
      {"seed", required_argument, NULL, TF_SEED},                     \
      {"ratings", required_argument, NULL, TF_RATINGS},               \
      {"features", no_argument, NULL, TF_FEATURES},                   \
      {"no-features", no_argument, NULL, TF_NOFEATURES},              \
      {"l2", required_argument, NULL, TF_L2},                         \
      {"temperature", required_argument, NULL, TF_TEMP},              \
      {"logq", no_argument, NULL, TF_LOGQ},                           \
      {"no-logq", no_argument, NULL, TF_NOLOGQ},                      \
      {"remove-accidental-hits", no_argument, NULL, TF_HITS},         \
      {"tutorial", no_argument, NULL, TF_TUTORIAL},                   \
      {"threads", required_argument, NULL, TF_THREADS},               \
      {"eval-every", required_argument, NULL, TF_EVAL_EVERY},         \
  {                                                                   \
    "init-scale", required_argument, NULL, TF_INIT_SCALE              \
  }

/* The defaults (train_config_defaults), or the tutorial configuration when
 * --tutorial is anywhere in argv. */
void train_flags_init(int argc, char **argv, struct train_config *cfg);

/* Apply option c (with its argument) to cfg. Returns 1 when c is one of
 * the shared flags and was applied, 0 when c is not a shared flag, or
 * HV_EUSAGE with err naming the flag ("--lr: 'x' is not a number"). */
int train_flags_apply(int c, const char *arg, struct train_config *cfg,
                      struct hv_err *err);

/* The flags' --help lines (static text). */
const char *train_flags_help(void);

#endif

/*
 * train_flags.h - the training flags `harvest train` and `harvest tune`
 * share (--dim, --lr, ..., --tutorial): an options sub-table (cli_opts.h)
 * writing a struct train_config, embedded with
 *   {.type = CLI_GROUP, .sub = f.opts, .help = TRAIN_FLAGS_HEADING}.
 *
 * Design: every flag with a value goes through trainrun_config_set, so a
 * flag and a `tune --grid` key of the same name accept exactly the same
 * values and give the same messages. --tutorial is a CLI_EARLY flag: it is
 * applied before all other flags, so later flags override it wherever it
 * stands.
 * Threads: none (command-line parsing).
 */
#ifndef HV_CLI_TRAIN_FLAGS_H
#define HV_CLI_TRAIN_FLAGS_H

#include "cli/cli_opts.h"
#include "model/model.h"

#define TRAIN_FLAGS_HEADING                                              \
  "Training options (defaults = the best configuration found on\n"      \
  "ml-100k, test top-100 0.414 vs the PyTorch peer's best 0.395):"

#define TRAIN_FLAGS_N 22 /* entries of the table, CLI_END included */

struct train_flags {
  struct train_config cfg;            /* what the flags set */
  struct cli_opt opts[TRAIN_FLAGS_N]; /* the table; points into cfg */
};

/* cfg = train_config_defaults and the table writing into f->cfg (f must
 * not move while the table is used). */
void train_flags_init(struct train_flags *f);

#endif

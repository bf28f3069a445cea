/*
 * train_flags.c - the training flags shared by `harvest train` and
 * `harvest tune`: see train_flags.h.
 */
#include "cli/train_flags.h"

#include <assert.h>
#include <string.h>

#include "train/trainrun.h"

/* A flag with a value: the field o->key of the train_config at o->dst. */
static int set_field(const struct cli_opt *o, const char *flag,
                     const char *arg, struct hv_err *err)
{
  return trainrun_config_set(o->dst, o->key, arg, flag, err);
}

static int set_tutorial(const struct cli_opt *o, const char *flag,
                        const char *arg, struct hv_err *err)
{
  train_config_tutorial(o->dst);
  return 0;
}

/* --task: the task's defaults first (CLI_EARLY), so later flags override
 * them wherever --task stands. */
static int set_task(const struct cli_opt *o, const char *flag,
                    const char *arg, struct hv_err *err)
{
  struct train_config probe;
  train_config_defaults(&probe);
  if (trainrun_config_set(&probe, "task", arg, flag, err))
    return err->code;
  if (probe.task == MODEL_TASK_RANKING)
    train_config_ranking(o->dst);
  else
    train_config_defaults(o->dst);
  return 0;
}

#define FIELD(name_, meta_, key_, help_)                                  \
  {CLI_OPT(CLI_FN, name_, 0, meta_, help_, c), .fn = set_field,          \
   .key = key_}

void train_flags_init(struct train_flags *f)
{
  struct train_config *c = &f->cfg;
  train_config_defaults(c);
  const struct cli_opt t[] = {
      FIELD("dim", "N", "dim", "embedding size (default 64)"),
      FIELD("lr", "X", "lr", "learning rate (default 0.05)"),
      FIELD("optimizer", "NAME", "optimizer",
            "adagrad (init accumulator 0.1, as Keras) or adam (default "
            "adagrad)"),
      FIELD("epochs", "N", "epochs",
            "passes over the train split (default 8)"),
      FIELD("batch", "N", "batch", "ratings per step (default 8192)"),
      FIELD("split", "X", "split",
            "train fraction of the shuffled ratings (default 0.8; 1 = no "
            "test split)"),
      FIELD("seed", "N", "seed",
            "split = numpy RandomState(N).permutation, as the PyTorch peer; "
            "also init and shuffles (42)"),
      FIELD("ratings", "FIRST:LAST", "ratings",
            "train on rating_id FIRST..LAST (default all)"),
      {CLI_OPT(CLI_TRUE, "features", 0, NULL,
               "feature towers (age, gender, occupation; genres, release "
               "year) (default on); a user feature no user of the dataset "
               "has (ml-latest: all three) gets no tower (param "
               "user_features)", &c->features)},
      {CLI_OPT(CLI_FALSE, "no-features", 0, NULL, NULL, &c->features)},
      FIELD("l2", "X", "l2", "L2 on the tower outputs per row (default "
            "0.05)"),
      FIELD("temperature", "X", "temperature", "logits / X (default 1)"),
      {CLI_OPT(CLI_TRUE, "logq", 0, NULL,
               "logQ popularity correction (default on)", &c->logq)},
      {CLI_OPT(CLI_FALSE, "no-logq", 0, NULL, NULL, &c->logq)},
      {CLI_OPT(CLI_TRUE, "remove-accidental-hits", 0, NULL,
               "a row's movie elsewhere in the batch is not a negative "
               "(default off)", &c->remove_accidental_hits)},
      {CLI_OPT(CLI_FN0, "tutorial", 0, NULL,
               "the TFRS tutorial configuration: dim 32, Adagrad 0.1, 3 "
               "epochs, batch 8192, no logQ, no features, no L2; later flags "
               "override it", c), .fn = set_tutorial, .flags = CLI_EARLY},
      FIELD("threads", "N", "threads",
            "OpenBLAS threads (default: OPENBLAS_NUM_THREADS or all cores); "
            "1 = bit-for-bit deterministic"),
      FIELD("eval-every", "N", "eval_every",
            "evaluate the test split every N epochs"),
      FIELD("init-scale", "X", "init_scale",
            "new embedding rows ~ uniform(-X, X) (default 0.05, as Keras)"),
      {CLI_OPT(CLI_FN, "task", 0, "NAME",
               "retrieval (the two-tower model, default) or ranking (the "
               "rating predictor of the second stage: biased MF over the "
               "feature towers + an MLP, MSE; its defaults: dim 32, hidden "
               "64, Adam, lr 0.002, 20 epochs, batch 1024, L2 0.08); later "
               "flags override them", c), .fn = set_task, .flags = CLI_EARLY},
      FIELD("hidden", "N", "hidden",
            "ranking: MLP hidden width (0 = no MLP)"),
      CLI_OPTS_END};
  static_assert(sizeof(t) == sizeof(f->opts), "TRAIN_FLAGS_N");
  memcpy(f->opts, t, sizeof(t));
}

/*
 * train_flags.c - the training flags shared by `harvest train` and
 * `harvest tune`: see train_flags.h.
 */
#include "cli/train_flags.h"

#include <string.h>

#include "train/trainrun.h"

void train_flags_init(int argc, char **argv, struct train_config *cfg)
{
  train_config_defaults(cfg);
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--tutorial"))
      train_config_tutorial(cfg);
}

/* Field name and flag of each shared flag with a value. */
static const struct {
  int code;
  const char *field, *flag;
} valued[] = {
    {TF_DIM, "dim", "--dim"},
    {TF_LR, "lr", "--lr"},
    {TF_OPT, "optimizer", "--optimizer"},
    {TF_EPOCHS, "epochs", "--epochs"},
    {TF_BATCH, "batch", "--batch"},
    {TF_SPLIT, "split", "--split"},
    {TF_SEED, "seed", "--seed"},
    {TF_RATINGS, "ratings", "--ratings"},
    {TF_L2, "l2", "--l2"},
    {TF_TEMP, "temperature", "--temperature"},
    {TF_THREADS, "threads", "--threads"},
    {TF_EVAL_EVERY, "eval_every", "--eval-every"},
    {TF_INIT_SCALE, "init_scale", "--init-scale"},
};

int train_flags_apply(int c, const char *arg, struct train_config *cfg,
                      struct hv_err *err)
{
  if (c < TRAIN_FLAG_FIRST || c > TRAIN_FLAG_LAST)
    return 0;
  switch (c) {
  case TF_FEATURES: cfg->features = 1; return 1;
  case TF_NOFEATURES: cfg->features = 0; return 1;
  case TF_LOGQ: cfg->logq = 1; return 1;
  case TF_NOLOGQ: cfg->logq = 0; return 1;
  case TF_HITS: cfg->remove_accidental_hits = 1; return 1;
  case TF_TUTORIAL: return 1; /* applied by train_flags_init */
  default: break;
  }
  for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++)
    if (valued[i].code == c) {
      if (trainrun_config_set(cfg, valued[i].field, arg, valued[i].flag,
                              err))
        return err->code = HV_EUSAGE;
      return 1;
    }
  return 0;
}

const char *train_flags_help(void)
{
  return "Training options (defaults = the best configuration found on\n"
         "ml-100k, test top-100 0.414 vs the PyTorch peer's best 0.395):\n"
         "  --dim N              embedding size (default 64)\n"
         "  --lr X               learning rate (default 0.05)\n"
         "  --optimizer NAME     adagrad (init accumulator 0.1, as Keras) or\n"
         "                       adam (default adagrad)\n"
         "  --epochs N           passes over the train split (default 8)\n"
         "  --batch N            ratings per step (default 8192)\n"
         "  --split X            train fraction of the shuffled ratings\n"
         "                       (default 0.8; 1 = no test split)\n"
         "  --seed N             split = numpy RandomState(N).permutation, "
         "as\n"
         "                       the PyTorch peer; also init and shuffles "
         "(42)\n"
         "  --ratings FIRST:LAST train on rating_id FIRST..LAST (default "
         "all)\n"
         "  --features, --no-features  feature towers (age, gender, "
         "occupation;\n"
         "                       genres, release year) (default on)\n"
         "  --l2 X               L2 on the tower outputs per row (default "
         "0.05)\n"
         "  --temperature X      logits / X (default 1)\n"
         "  --logq, --no-logq    logQ popularity correction (default on)\n"
         "  --remove-accidental-hits  a row's movie elsewhere in the batch "
         "is\n"
         "                       not a negative (default off)\n"
         "  --tutorial           the TFRS tutorial configuration: dim 32,\n"
         "                       Adagrad 0.1, 3 epochs, batch 8192, no logQ,\n"
         "                       no features, no L2; later flags override "
         "it\n"
         "  --threads N          OpenBLAS threads (default: "
         "OPENBLAS_NUM_THREADS\n"
         "                       or all cores); 1 = bit-for-bit "
         "deterministic\n"
         "  --eval-every N       evaluate the test split every N epochs\n"
         "  --init-scale X       new embedding rows ~ uniform(-X, X) "
         "(default\n"
         "                       0.05, as Keras)\n";
}

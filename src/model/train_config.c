/*
 * train_config.c - a training run's settings: the defaults (the seed's
 * notebook), the tutorial's and the ranking model's, and the check every
 * entry point runs before it trains (see train.h).
 */
#include "model/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/rank.h"

void train_config_defaults(struct train_config *c)
{
  memset(c, 0, sizeof(*c));
  c->dim = 64;
  c->lr = 0.05;
  c->optimizer = MODEL_OPT_ADAGRAD;
  c->epochs = 8;
  c->batch = 8192;
  c->split = 0.8;
  c->seed = 42;
  c->features = 1;
  c->l2 = 0.05;
  c->temperature = 1.0;
  c->logq = 1;
  c->remove_accidental_hits = 0;
  c->threads = 0;
  c->eval_every = 0;
  c->init_scale = 0.05;
  c->first_rating_id = 0;
  c->last_rating_id = INT64_MAX;
}

void train_config_tutorial(struct train_config *c)
{
  train_config_defaults(c);
  c->dim = 32;
  c->lr = 0.1;
  c->epochs = 3;
  c->logq = 0;
  c->features = 0;
  c->l2 = 0.0;
}

void train_config_ranking(struct train_config *c)
{
  train_config_defaults(c);
  c->task = MODEL_TASK_RANKING;
  c->dim = 32;
  c->hidden = 64;
  c->optimizer = MODEL_OPT_ADAM;
  c->lr = RANK_DEFAULT_LR;
  c->epochs = RANK_DEFAULT_EPOCHS;
  c->batch = RANK_DEFAULT_BATCH;
  c->l2 = RANK_DEFAULT_L2;
  c->logq = 0;
}

/* HV_EINVAL "NAME V is outside LO..HI" into err unless lo <= v <= hi. */
static int outside(const char *name, int v, int lo, int hi,
                   struct hv_err *err)
{
  if (v >= lo && v <= hi)
    return 0;
  return hv_err_set(err, HV_EINVAL, "%s %d is outside %d..%d", name, v, lo,
                    hi);
}

int train_config_check(const struct train_config *c, struct hv_err *err)
{
  if (!c)
    return hv_err_set(err, HV_EINVAL, "train: no configuration");
  if (c->task != MODEL_TASK_RETRIEVAL && c->task != MODEL_TASK_RANKING)
    return hv_err_set(err, HV_EINVAL, "task %d is not retrieval or ranking",
                      c->task);
  if (outside("hidden", c->hidden, 0, 1024, err))
    return HV_EINVAL;
  if (c->task == MODEL_TASK_RETRIEVAL && c->hidden)
    return hv_err_set(err, HV_EINVAL, "hidden %d applies to task ranking "
                      "only (--task ranking)", c->hidden);
  if (c->task == MODEL_TASK_RANKING && c->n_extra_rating_ids)
    return hv_err_set(err, HV_EINVAL, "a replay sample applies to task "
                      "retrieval only");
  if (outside("dim", c->dim, 1, 1024, err))
    return HV_EINVAL;
  if (!(isfinite(c->lr) && c->lr > 0 && c->lr <= 100))
    return hv_err_set(err, HV_EINVAL, "lr %g is outside (0, 100]", c->lr);
  if (c->optimizer != MODEL_OPT_ADAGRAD && c->optimizer != MODEL_OPT_ADAM)
    return hv_err_set(err, HV_EINVAL, "optimizer %d is not adagrad or adam",
                      c->optimizer);
  if (outside("epochs", c->epochs, 0, 10000, err) ||
      outside("batch", c->batch, 1, 1 << 20, err))
    return HV_EINVAL;
  if (!(c->split > 0 && c->split <= 1))
    return hv_err_set(err, HV_EINVAL, "split %g is outside (0, 1]",
                      c->split);
  if (!(isfinite(c->l2) && c->l2 >= 0))
    return hv_err_set(err, HV_EINVAL, "l2 %g must be >= 0", c->l2);
  if (!(isfinite(c->temperature) && c->temperature > 1e-6 &&
        c->temperature <= 1e6))
    return hv_err_set(err, HV_EINVAL, "temperature %g is outside "
                      "(1e-6, 1e6]", c->temperature);
  if (!(isfinite(c->init_scale) && c->init_scale >= 0 && c->init_scale <= 1))
    return hv_err_set(err, HV_EINVAL, "init scale %g is outside [0, 1]",
                      c->init_scale);
  if (c->threads < 0 || c->threads > 256 || c->eval_every < 0)
    return hv_err_set(err, HV_EINVAL, "threads %d / eval_every %d out of "
                      "range", c->threads, c->eval_every);
  if (c->first_rating_id > c->last_rating_id)
    return hv_err_set(err, HV_EINVAL, "rating range %lld:%lld is empty",
                      (long long)c->first_rating_id,
                      (long long)c->last_rating_id);
  if (c->n_extra_rating_ids && !c->extra_rating_ids)
    return hv_err_set(err, HV_EINVAL, "extra rating ids: %zu ids but no "
                      "array", c->n_extra_rating_ids);
  for (size_t i = 1; i < c->n_extra_rating_ids; i++)
    if (c->extra_rating_ids[i] <= c->extra_rating_ids[i - 1])
      return hv_err_set(err, HV_EINVAL, "extra rating ids must be strictly "
                        "ascending (index %zu)", i);
  return 0;
}

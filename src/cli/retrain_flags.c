/*
 * retrain_flags.c - the flags retrain, watch and demo share: see
 * retrain_flags.h.
 */
#include "cli/retrain_flags.h"

#include <math.h>
#include <string.h>

#include "cli/cli.h"
#include "util/parse.h"

void retrain_flags_init(struct retrain_flags *f)
{
  memset(f, 0, sizeof(*f));
  policy_defaults(&f->policy);
  retrain_opts_defaults(&f->opts);
  f->opts.log_monitor = 1;
}

static int add_set(struct retrain_flags *f, const char *key,
                   const char *value, const char *flag, const char *cmd)
{
  if (f->n_set == RETRAIN_FLAGS_MAX)
    return cli_usage_error(cmd, "too many policy flags (at most %d)",
                           RETRAIN_FLAGS_MAX);
  f->set[f->n_set].key = key;
  f->set[f->n_set].value = value;
  f->set[f->n_set].flag = flag;
  f->n_set++;
  return 1;
}

static int policy_opt(struct retrain_flags *f, int c, const char *arg,
                      const char *cmd)
{
  switch (c) {
  case RF_POLICY:
    f->policy_file = arg;
    return 1;
  case RF_MIN_TOP100:
    return add_set(f, "min_top100", arg, "--min-top100", cmd);
  case RF_DRIFT:
    return add_set(f, "on_dataset_drift", "true", "--on-dataset-drift", cmd);
  case RF_PSI:
    return add_set(f, "psi_bound", arg, "--psi-bound", cmd);
  case RF_MIN_NEW:
    return add_set(f, "min_new_ratings", arg, "--min-new-ratings", cmd);
  case RF_MAX_AGE:
    return add_set(f, "max_age_days", arg, "--max-age-days", cmd);
  case RF_WINDOWS:
    return add_set(f, "windows", arg, "--windows", cmd);
  case RF_WINDOW_RATINGS:
    return add_set(f, "window_ratings", arg, "--window-ratings", cmd);
  case RF_MIN_WINDOW:
    return add_set(f, "min_window_ratings", arg, "--min-window-ratings", cmd);
  default:
    return 0;
  }
}

int retrain_flags_opt(struct retrain_flags *f, int c, const char *arg,
                      const char *cmd)
{
  if (c < RETRAIN_FLAG_FIRST || c > RETRAIN_FLAG_LAST)
    return 0;
  int r = policy_opt(f, c, arg, cmd);
  if (r)
    return r;
  struct retrain_opts *o = &f->opts;
  struct hv_err e = {0};
  int64_t v;
  switch (c) {
  case RF_MODEL: o->model_name = arg; return 1;
  case RF_SCRATCH: o->from_scratch = 1; return 1;
  case RF_FORCE: o->force = 1; return 1;
  case RF_DRY_RUN: o->dry_run = 1; return 1;
  case RF_COMPARE: o->compare = 1; return 1;
  case RF_REPLAY:
    if (!hv_parse_f64(arg, 0, 10, &o->replay, "--replay", &e))
      return 1;
    break;
  case RF_MARGIN:
    if (!hv_parse_f64(arg, -1, 1, &o->margin, "--margin", &e))
      return 1;
    break;
  case RF_HOLDOUT:
    if (!hv_parse_f64(arg, 0.001, 0.9, &o->holdout, "--holdout", &e))
      return 1;
    break;
  case RF_EPOCHS:
    if (!hv_parse_i64(arg, 1, 10000, &v, "--epochs", &e)) {
      o->epochs = (int)v;
      return 1;
    }
    break;
  case RF_SEED:
    if (!hv_parse_i64(arg, 1, INT64_MAX, &v, "--seed", &e)) {
      o->seed = (uint64_t)v;
      return 1;
    }
    break;
  case RF_THREADS:
    if (!hv_parse_i64(arg, 1, 256, &v, "--threads", &e)) {
      o->threads = (int)v;
      return 1;
    }
    break;
  default:
    return 0;
  }
  return cli_usage_error(cmd, "%s", e.msg);
}

int retrain_flags_finish(struct retrain_flags *f, const char *cmd)
{
  struct hv_err err = {0};
  if (f->policy_file && policy_load_file(&f->policy, f->policy_file, &err))
    return cli_report(&err);
  for (size_t i = 0; i < f->n_set; i++)
    if (policy_set(&f->policy, f->set[i].key, f->set[i].value,
                   f->set[i].flag, &err))
      return cli_usage_error(cmd, "%s", err.msg);
  if (!policy_any_trigger(&f->policy))
    f->policy.min_top100 = 0.5; /* the seed's rule */
  if (policy_check(&f->policy, &err))
    return cli_usage_error(cmd, "%s", err.msg);
  f->opts.policy = &f->policy;
  return 0;
}

void retrain_flags_help_policy(FILE *out)
{
  fprintf(out,
          "Policy (any trigger fires a retraining; none given: the seed's\n"
          "rule --min-top100 0.5; flags override --policy FILE):\n"
          "  --policy FILE         JSON policy file (docs/retraining.md)\n"
          "  --min-top100 X        worst top_100_categorical_accuracy of the\n"
          "                        latest windows <= X\n"
          "  --on-dataset-drift    any latest window has dataset drift\n"
          "  --psi-bound F=X       PSI of feature F > X (repeatable; user_age,\n"
          "                        user_gender, user_occupation, movie_genres,\n"
          "                        movie_year, movie_popularity, rating,\n"
          "                        prediction_top1_score)\n"
          "  --min-new-ratings N   N ratings arrived since the training data\n"
          "  --max-age-days D      the Production model is D days old\n"
          "  --windows N           monitor the new ratings as N windows (1)\n"
          "  --window-ratings N    ... of N ratings each, newest last (0:\n"
          "                        split the new ratings evenly)\n"
          "  --min-window-ratings N  smaller windows are not judged (200)\n");
}

void retrain_flags_help_opts(FILE *out)
{
  fprintf(out,
          "Retraining:\n"
          "  --model NAME          registered model (default "
          "harvest_recommender)\n"
          "  --from-scratch        train the challenger from scratch on all\n"
          "                        ratings (default: stateful, continuing the\n"
          "                        Production model on the new ratings)\n"
          "  --replay X            stateful: add X x (new ratings) older\n"
          "                        ratings, sampled uniformly (0.2)\n"
          "  --holdout X           newest share of the new ratings held out\n"
          "                        to compare champion and challenger (0.2)\n"
          "  --margin X            promote when the challenger's held-out\n"
          "                        top-100 beats the champion's by > X (0)\n"
          "  --epochs N            epochs (default: the champion's)\n"
          "  --seed N              replay sample and training seed\n"
          "  --threads N           OpenBLAS threads for training\n"
          "  --compare             also train the other way (stateful vs from\n"
          "                        scratch; not registered) and report both\n"
          "  --force               retrain whatever the policy says\n"
          "  --dry-run             decide and log the decision run only\n");
}

/*
 * retrain_flags.c - the flags retrain, watch and demo share: see
 * retrain_flags.h.
 */
#include "cli/retrain_flags.h"

#include <assert.h>
#include <string.h>

#include "cli/cli.h"

/* A trigger flag: keep (the flag, arg) for retrain_flags_finish. */
static int add_set(const struct cli_opt *o, const char *flag,
                   const char *arg, struct hv_err *err)
{
  struct retrain_flags *f = o->dst;
  if (f->n_set == RETRAIN_FLAGS_MAX)
    return hv_err_set(err, HV_EUSAGE, "too many policy flags (at most %d)",
                      RETRAIN_FLAGS_MAX);
  f->set[f->n_set].value = arg ? arg : "true";
  f->set[f->n_set].opt = o;
  f->n_set++;
  return 0;
}

/* A trigger flag sets the policy key of its name, '-' read as '_'
 * (--max-top100-drop: max_top100_drop). */
#define TRIGGER(type_, name_, meta_, help_)                                \
  {CLI_OPT(type_, name_, 0, meta_, help_, f), .fn = add_set}

static void policy_table(struct retrain_flags *f)
{
  const struct cli_opt t[] = {
      {CLI_OPT(CLI_STR, "policy", 0, "FILE",
               "JSON policy file (docs/retraining.md)", &f->policy_file)},
      TRIGGER(CLI_FN, "max-top100-drop", "S",
              "worst top_100_categorical_accuracy of the latest windows "
              "<= (1 - S) x the Production model's own held-out top-100 "
              "(the default when no trigger is given: 0.2)"),
      TRIGGER(CLI_FN, "min-top100", "X",
              "... <= X, an absolute bound (the seed's rule: 0.5)"),
      TRIGGER(CLI_FN, "max-rmse", "X",
              "the ranking stage: worst ranker RMSE of the latest windows "
              ">= X (with a ranking model as --model, or in Production)"),
      TRIGGER(CLI_FN, "max-rmse-rise", "S",
              "... >= (1 + S) x the ranker's own held-out RMSE"),
      TRIGGER(CLI_FN0, "on-dataset-drift", NULL,
              "any latest window has dataset drift"),
      TRIGGER(CLI_FN, "psi-bound", "F=X",
              "PSI of feature F > X (repeatable; user_age, user_gender, "
              "user_occupation, movie_genres, movie_year, movie_popularity, "
              "rating, prediction_top1_score)"),
      TRIGGER(CLI_FN, "min-new-ratings", "N",
              "N ratings arrived since the training data"),
      TRIGGER(CLI_FN, "max-age-days", "D",
              "the Production model is D days old"),
      TRIGGER(CLI_FN, "windows", "N",
              "monitor the new ratings as N windows (1)"),
      TRIGGER(CLI_FN, "window-ratings", "N",
              "... of N ratings each, newest last (0: split the new ratings "
              "evenly)"),
      TRIGGER(CLI_FN, "min-window-ratings", "N",
              "smaller windows are not judged (200)"),
      CLI_OPTS_END};
  static_assert(sizeof(t) == sizeof(f->policy_opts), "RETRAIN_POLICY_N");
  memcpy(f->policy_opts, t, sizeof(t));
}

static void retrain_table(struct retrain_flags *f)
{
  struct retrain_opts *o = &f->opts;
  const struct cli_opt t[] = {
      {CLI_OPT(CLI_STR, "model", 0, "NAME",
               "registered model (default harvest_recommender; a ranking "
               "model such as harvest_ranker retrains the ranking stage)",
               &o->model_name)},
      {CLI_OPT(CLI_TRUE, "from-scratch", 0, NULL,
               "train the challenger from scratch on all ratings (default: "
               "stateful, continuing the Production model on the new "
               "ratings)", &o->from_scratch)},
      {CLI_OPT(CLI_DBL, "replay", 0, "X", "stateful: add X x (new ratings) "
               "older ratings, sampled uniformly (0.2)", &o->replay),
       .fhi = 10},
      {CLI_OPT(CLI_DBL, "holdout", 0, "X", "newest share of the new ratings "
               "held out to compare champion and challenger (0.2)",
               &o->holdout), .flo = 0.001, .fhi = 0.9},
      {CLI_OPT(CLI_DBL, "margin", 0, "X", "promote when the challenger's "
               "held-out top-100 beats the champion's by > X (0)",
               &o->margin), .flo = -1, .fhi = 1},
      {CLI_OPT(CLI_INT, "epochs", 0, "N", "epochs (default: the champion's)",
               &o->epochs), .lo = 1, .hi = 10000},
      {CLI_OPT(CLI_U64, "seed", 0, "N", "replay sample and training seed",
               &o->seed), .lo = 1, .hi = INT64_MAX},
      {CLI_OPT(CLI_INT, "threads", 0, "N", "OpenBLAS threads for training",
               &o->threads), .lo = 1, .hi = 256},
      {CLI_OPT(CLI_TRUE, "compare", 0, NULL, "also train the other way "
               "(stateful vs from scratch; not registered) and report both",
               &o->compare)},
      {CLI_OPT(CLI_TRUE, "force", 0, NULL, "retrain whatever the policy says",
               &o->force)},
      {CLI_OPT(CLI_TRUE, "dry-run", 0, NULL,
               "decide and log the decision run only", &o->dry_run)},
      CLI_OPTS_END};
  static_assert(sizeof(t) == sizeof(f->retrain_opts), "RETRAIN_OPTS_N");
  memcpy(f->retrain_opts, t, sizeof(t));
}

void retrain_flags_init(struct retrain_flags *f)
{
  memset(f, 0, sizeof(*f));
  policy_defaults(&f->policy);
  retrain_opts_defaults(&f->opts);
  f->opts.log_monitor = 1;
  policy_table(f);
  retrain_table(f);
}

int retrain_flags_finish(struct retrain_flags *f, const char *cmd)
{
  struct hv_err err = {0};
  char flag[64], key[64];
  if (f->policy_file && policy_load_file(&f->policy, f->policy_file, &err))
    return cli_report(&err);
  for (size_t i = 0; i < f->n_set; i++) {
    const char *name = f->set[i].opt->name;
    snprintf(flag, sizeof(flag), "--%s", name);
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof(key); k++)
      key[k] = name[k] == '-' ? '_' : name[k];
    key[k] = '\0';
    if (policy_set(&f->policy, key, f->set[i].value, flag, &err))
      return cli_usage_error(cmd, "%s", err.msg);
  }
  if (!policy_any_trigger(&f->policy)) /* relative: never fires on every
                                          pass as an absolute 0.5 can */
    f->policy.max_top100_drop = POLICY_DEFAULT_DROP;
  if (policy_check(&f->policy, &err))
    return cli_usage_error(cmd, "%s", err.msg);
  f->opts.policy = &f->policy;
  return 0;
}

int retrain_flags_parse(struct cli_ctx *ctx, const struct cli_spec *spec,
                        const struct cli_opt *opts, struct retrain_flags *f,
                        int argc, char **argv)
{
  int rc = cli_parse_opts(ctx, spec, opts, argc, argv);
  return rc ? rc : retrain_flags_finish(f, spec->cmd);
}

/*
 * policy.h - the retraining policy: which observations of a served model
 * call for retraining it, read from command-line flags or a JSON policy
 * file, and the decision (with its reasons) for one set of observations.
 *
 * Triggers (any subset may be on; the model is retrained when ANY fires):
 *   max_top100_drop  the worst top_100_categorical_accuracy over the latest
 *                    monitoring windows is <= (1 - this) x the Production
 *                    model's own held-out top-100 (its training run's test
 *                    split, or for a retrained model its hold-out slice):
 *                    a relative drop, the CLI's default (0.2)
 *   min_top100       ... is <= this absolute value (the seed's rule: 0.5)
 *   on_dataset_drift any of the latest windows has dataset_drift
 *   psi_bounds       the PSI of a named feature (monitor.h feature names:
 *                    user_age, user_gender, user_occupation, movie_genres,
 *                    movie_year, movie_popularity, rating,
 *                    prediction_top1_score) is > its bound in any latest
 *                    window
 *   min_new_ratings  at least this many ratings arrived since the end of
 *                    the model's training data
 *   max_age_days     the model is at least this many days old
 *   max_rmse         the ranking stage: the worst ranker RMSE over the
 *                    latest windows (monitor_metrics.ranker_rmse, when the
 *                    pass had a ranker) is >= this absolute value
 *   max_rmse_rise    ... is >= (1 + this) x the ranker's own held-out RMSE
 *                    (its training run's test split, or a retrained
 *                    ranker's hold-out slice): a relative rise
 * Windows with fewer than min_window_ratings ratings, and windows the
 * monitoring pass skipped (monitor_window.skipped), are not judged
 * (performance and PSI of a handful of ratings are noise); a report whose
 * windows are all too small fires none of the monitoring triggers. An
 * in-sample window (ratings of the model's training range,
 * monitor_window.n_in_sample) is judged for drift and PSI but its top-100
 * is not read by max_top100_drop or min_top100, nor its ranker RMSE by
 * max_rmse or max_rmse_rise: what a model scores on ratings it trained
 * on is not held-out evidence (retrain.c's windows are
 * after the training range, so this guards hand-made and --batches
 * reports).
 *
 * Policy file (JSON object; every key optional, unknown keys refused):
 *   {"max_top100_drop": 0.2, "min_top100": 0.5, "on_dataset_drift": true,
 *    "psi_bounds": {"user_age": 0.2, "movie_popularity": 0.25},
 *    "min_new_ratings": 5000, "max_age_days": 7,
 *    "max_rmse": 1.0, "max_rmse_rise": 0.1,
 *    "windows": 1, "window_ratings": 0, "min_window_ratings": 200}
 * Errors name FILE:LINE:COLUMN (jansson's position for syntax errors; the
 * key's position in the text for bad or unknown keys).
 *
 * Design: a policy is plain data; policy_decide is a pure function of the
 * policy and the observations (a monitor_run report, the new-rating count
 * and the model's age), so the CLI, `harvest watch` and the demo decide
 * the same way and the tests can feed it hand-made reports.
 *
 * Threads: pure functions; call from any thread.
 */
#ifndef HV_RETRAIN_POLICY_H
#define HV_RETRAIN_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/monitor_report.h"
#include "util/err.h"

#define POLICY_MAX_PSI 16       /* named PSI bounds */
#define POLICY_MAX_CHECKS 24    /* checks in one decision */
#define POLICY_FILE_MAX (1 << 20) /* bytes of a policy file */

struct policy_psi_bound {
  char feature[64];
  double bound;                 /* > 0 */
};

struct policy {
  double max_top100_drop;       /* NaN: off; else in (0, 1] */
  double min_top100;            /* NaN: off; else in [0, 1] */
  int on_dataset_drift;         /* 1: on */
  size_t n_psi;
  struct policy_psi_bound psi[POLICY_MAX_PSI];
  int64_t min_new_ratings;      /* 0: off */
  double max_age_days;          /* 0: off */
  double max_rmse;              /* NaN: off; else in (0, 5] */
  double max_rmse_rise;         /* NaN: off; else in (0, 10] */
  /* Monitoring windows the triggers look at (retrain.c builds them over
   * the ratings after the model's training data): the newest `windows`
   * windows of window_ratings ratings each, or (window_ratings 0) the new
   * ratings split into `windows` equal windows. */
  int windows;                  /* 1..100; default 1 */
  int64_t window_ratings;       /* 0: split evenly */
  int64_t min_window_ratings;   /* windows smaller than this are not
                                   judged; default 200 */
};

/* One trigger as checked: what it saw, against what, and whether it
 * fired. */
struct policy_check {
  char trigger[80];             /* "min_top100", "dataset_drift",
                                   "psi:user_age", "min_new_ratings",
                                   "max_age_days", "force" */
  double value;                 /* observed (NaN: no data) */
  double threshold;
  int fired;
  char text[200];               /* for people: "worst top-100 0.21 <= 0.25
                                   (window 3)" */
};

struct policy_decision {
  int retrain;                  /* 1 when any check fired */
  size_t n_checks;
  struct policy_check checks[POLICY_MAX_CHECKS];
  /* What was observed (NaN / -1 when unknown). */
  double worst_top100;          /* over the judged windows that are not
                                   in-sample (monitor_window.n_in_sample:
                                   their top-100 is not held-out) */
  double worst_rmse;            /* the ranker's, over the judged windows
                                   (NaN: no ranker in the pass) */
  int dataset_drift;            /* 1 / 0; -1 without judged windows */
  size_t n_windows, n_judged;   /* windows in the report, judged ones */
  size_t n_in_sample;           /* judged windows that are in-sample */
  int64_t new_ratings;
  double age_days;
  char reasons[1024];           /* the fired checks' texts joined by "; ",
                                   or why nothing fired */
};

/* What policy_decide looks at. */
struct policy_input {
  const struct monitor_report *report; /* monitor_run's report (borrowed)
                                   or NULL when there was nothing to
                                   monitor */
  int64_t new_ratings;          /* since the model's training data ended */
  double age_days;              /* model age; NaN when unknown */
  int force;                    /* 1: decide to retrain whatever the
                                   triggers say (a "force" check fires) */
  double reference_top100;      /* the model's own held-out top-100, for
                                   max_top100_drop; NaN: unknown (the
                                   trigger then cannot fire and says so) */
  double reference_rmse;        /* the ranker's own held-out RMSE, for
                                   max_rmse_rise; NaN or 0: unknown */
};

/* The defaults: every trigger off, windows 1, window_ratings 0,
 * min_window_ratings 200. */
void policy_defaults(struct policy *p);

/* The seed's rule as a policy: defaults + min_top100 0.5. */
void policy_seed(struct policy *p);

/* The default trigger of `harvest retrain` and `watch` when none is given:
 * a top-100 drop of POLICY_DEFAULT_DROP from the model's own score. */
#define POLICY_DEFAULT_DROP 0.2

/* 1 when at least one trigger is on, else 0. */
int policy_any_trigger(const struct policy *p);

/* 1 when a trigger needs a monitoring report (performance, drift, PSI). */
int policy_needs_report(const struct policy *p);

/* Set one field from text, as the flags and the file spell it: key is
 * max_top100_drop, min_top100, on_dataset_drift (true/false, 1/0, on/off, yes/no),
 * max_rmse, max_rmse_rise,
 * psi_bound (value FEATURE=X; adds or replaces that feature's bound),
 * min_new_ratings, max_age_days, windows, window_ratings,
 * min_window_ratings ('-' accepted for '_'). what prefixes messages
 * ("--min-top100: 'x' is not a number"). HV_ENOTFOUND for an unknown key,
 * HV_EINVAL for a bad value; p is unchanged on error. */
int policy_set(struct policy *p, const char *key, const char *value,
               const char *what, struct hv_err *err) HV_WARN_UNUSED;

/* Check every field's range; HV_EINVAL naming the field. */
int policy_check(const struct policy *p, struct hv_err *err) HV_WARN_UNUSED;

/* Parse a policy document (text of len bytes, name for messages) over *p
 * (fields it does not name keep their values). Errors are HV_EINVAL with
 * "NAME:LINE:COLUMN: what is wrong" (see the header comment); p is
 * unchanged on error. */
int policy_parse(struct policy *p, const char *text, size_t len,
                 const char *name, struct hv_err *err) HV_WARN_UNUSED;

/* Read the file at path (at most POLICY_FILE_MAX bytes) and policy_parse
 * it. HV_ENOTFOUND / HV_EIO for a file that cannot be read. */
int policy_load_file(struct policy *p, const char *path,
                     struct hv_err *err) HV_WARN_UNUSED;

/* The policy as a JSON object in the file's format (new reference; NULL
 * when out of memory). min_top100 off is left out. */
json_t *policy_to_json(const struct policy *p);

/* Decide for in (see the header comment) into *d (zeroed first). Every
 * enabled trigger becomes a check, fired or not. Returns 0, or HV_EINVAL
 * for a NULL argument or a report with windows counted but not given. */
int policy_decide(const struct policy *p, const struct policy_input *in,
                  struct policy_decision *d,
                  struct hv_err *err) HV_WARN_UNUSED;

/* The decision as JSON: {"retrain", "reasons", "checks": [{"trigger",
 * "value", "threshold", "fired", "text"}], "worst_top100",
 * "dataset_drift", "n_windows", "n_judged", "new_ratings", "age_days",
 * "worst_rmse", "n_in_sample"}
 * (NaN as null). New reference; NULL when out of memory. */
json_t *policy_decision_to_json(const struct policy_decision *d);

#endif

/*
 * tune.h - hyperparameter grid search as tracked runs (`harvest tune`): the
 * seed's 12-run search over dim x lr, as child runs of one parent run.
 *
 * A grid is a list of axes KEY=V1,V2,... over any train_config field
 * (trainrun_config_set's names: dim, lr, optimizer, epochs, batch, split,
 * seed, features, l2, temperature, logq, remove_accidental_hits, threads,
 * eval_every, init_scale, first_rating_id, last_rating_id, ratings); the
 * trials are the cartesian product, the first axis varying slowest, each
 * applied over a base configuration. Every value and every combination is
 * checked before anything is written, so a typo costs no runs.
 *
 * What is recorded:
 * - the parent run (experiment default "tune", name "tune-N k1 x k2"):
 *   params grid.KEY = the values as given, tune.metric, tune.order,
 *   tune.n_trials, and base.KEY for every base field the grid does not set;
 *   after the trials the metric itself = the best child's value, metrics
 *   n_trials, n_failed, tune_seconds, and tags best_run_id (and
 *   registered_model / registered_version with a registration); when the
 *   grid does not vary the rating range, the data lineage of the trials.
 * - one child run per trial, a full trainrun (trainrun.h), named after its
 *   values ("dim=32 lr=0.01"), with parent_run_id = the parent and tag
 *   tune.trial = its 0-based index.
 * The data fingerprint is computed once per distinct rating range and
 * shared by the trials. A trial that fails is FAILED and the search goes
 * on; the parent is FINISHED when at least one trial finished, else FAILED
 * with the first trial's error. With register_name, the best child is
 * registered (registry_register, archive_existing set, so there is at most
 * one version in Production). kill -9 at any point leaves RUNNING runs that
 * runs_gc marks FAILED; the store stays consistent (tests/test_tune.c).
 *
 * Threads: tune_run uses the caller's connection exclusively while it runs.
 */
#ifndef HV_TRAIN_TUNE_H
#define HV_TRAIN_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "util/err.h"

struct hv_db;

#define TUNE_MAX_AXES 16      /* keys in one grid */
#define TUNE_MAX_VALUES 1000  /* values of one key */
#define TUNE_MAX_TRIALS 1000  /* combinations in one grid */
#define TUNE_DEFAULT_EXPERIMENT "tune"
#define TUNE_DEFAULT_METRIC "top_100_categorical_accuracy"

struct tune_axis {
  const char *key;  /* canonical field name (static string) */
  size_t n;         /* values */
  char **values;    /* n strings as given */
};

/* Zero-initialise ({0}) before the first tune_grid_add. */
struct tune_grid {
  size_t n_axes;
  struct tune_axis axes[TUNE_MAX_AXES];
};

/* Add the axis spec "KEY=V1,V2,..." to g: KEY a train_config field (dashes
 * allowed), values comma-separated, each non-empty, valid for the field
 * and given once. Errors name the spec as "--grid KEY: ..." (e.g. "--grid
 * lr: 'x' is not a number"): HV_EINVAL for a malformed spec or value, an
 * unknown or repeated key, too many keys or values; HV_ETOOBIG when the
 * product of all axes would exceed TUNE_MAX_TRIALS. g is unchanged on
 * error. */
int tune_grid_add(struct tune_grid *g, const char *spec,
                  struct hv_err *err) HV_WARN_UNUSED;

/* Number of combinations (1 for an empty grid). */
size_t tune_grid_size(const struct tune_grid *g);

/* Apply combination index (0 .. tune_grid_size - 1; the first axis varies
 * slowest) over *c. label (may be NULL; cap bytes) gets "k1=v1 k2=v2". */
int tune_grid_apply(const struct tune_grid *g, size_t index,
                    struct train_config *c, char *label, size_t cap,
                    struct hv_err *err) HV_WARN_UNUSED;

/* Free the values of g and zero it; NULL does nothing. */
void tune_grid_free(struct tune_grid *g);

/* What a progress callback is told. */
enum tune_phase { TUNE_TRIAL_START, TUNE_TRIAL_EPOCH, TUNE_TRIAL_DONE };

struct tune_progress {
  enum tune_phase phase;
  size_t index, total;  /* this trial (0-based), all trials */
  size_t done;          /* trials finished (ok or failed) */
  const char *label;    /* "dim=32 lr=0.01" (borrowed) */
  const char *run_id;   /* the trial's run ("" before it exists) */
  int epoch, epochs;    /* TUNE_TRIAL_EPOCH: epoch just done */
  double value;         /* TUNE_TRIAL_DONE: the trial's metric (NaN when
                           it failed) */
  int failed;           /* TUNE_TRIAL_DONE: 1 when the trial failed */
  const char *error;    /* with failed: why (borrowed) */
  double best;          /* best metric so far (NaN: none yet) */
  double elapsed, eta;  /* seconds since the start; estimated remaining
                           (mean trial time x trials left; NaN before the
                           first trial ends) */
};

struct tune_opts {
  const char *home;          /* Harvest home (artifacts/), required */
  const char *experiment;    /* NULL: TUNE_DEFAULT_EXPERIMENT */
  const char *run_name;      /* parent's name; NULL: "tune-N k1 x k2" */
  const char *metric;        /* NULL: TUNE_DEFAULT_METRIC; any final
                                trainrun metric (trainrun_metric_known) */
  int ascending;             /* 0: higher is better (desc), 1: lower */
  const char *init_from;     /* every trial continues this URI, or NULL */
  const char *register_name; /* register the best child as this model,
                                or NULL for none */
  const char *stage;         /* with register_name: stage (NULL: None) */
  int archive_existing;      /* with stage: archive the version(s) there
                                (registry_transition's rule); without it
                                a Production version already there makes
                                tune_run fail before any trial */
  void (*progress)(void *ud, const struct tune_progress *p); /* or NULL */
  void *ud;
};

struct tune_trial {
  size_t index;              /* in grid order */
  char label[256];           /* "dim=32 lr=0.01" */
  struct train_config cfg;   /* as trained */
  char run_id[33];           /* "" when the run never started */
  int failed;
  int error_code;            /* with failed: the HV_E* code */
  char error[256];           /* with failed */
  double value;              /* the metric (NaN when failed) */
  double test_top_10, test_top_100; /* for the table (NaN without test) */
  double seconds;            /* wall time of the trial */
};

struct tune_result {
  char parent_run_id[33];
  size_t n_trials, n_failed;
  struct tune_trial *trials; /* n_trials, in grid order */
  size_t *order;             /* n_trials indexes, best first; failed and
                                NaN values last */
  size_t best;               /* index of the best trial */
  double best_value;
  int registered_version;    /* 0 when nothing was registered */
  char registered_stage[16];
  double seconds;
};

/* Run the search of g over base (see the header comment). On success
 * *res is filled (tune_result_free) and the parent is FINISHED. Returns
 * HV_EINVAL (nothing written) for an empty grid, an unknown metric, a test
 * metric without a test split, a combination train_config_check refuses
 * (named by its label) or bad options; HV_ENOTFOUND/HV_ECORRUPT for an
 * init_from URI that does not load; the first trial's error when every
 * trial failed (parent FAILED); registry errors (parent FAILED; the trials
 * stay FINISHED). res->parent_run_id is set as soon as the parent exists,
 * also on failure, and res->trials then holds what ran: call
 * tune_result_free(res) whatever tune_run returned. */
int tune_run(struct hv_db *db, const struct train_config *base,
             const struct tune_grid *g, const struct tune_opts *o,
             struct tune_result *res, struct hv_err *err) HV_WARN_UNUSED;

/* Free what res holds and zero it except parent_run_id; NULL does
 * nothing. */
void tune_result_free(struct tune_result *res);

#endif

/*
 * retrain.h - the retraining service behind `harvest retrain`, `harvest
 * watch` and `harvest demo`: decide with the policy, and when it says so,
 * train a challenger (stateful by default), compare it with the champion
 * on the same held-out slice of the newest data, register it, and promote
 * it only when it wins by the margin.
 *
 * One call, step by step:
 *  1. The champion is the Production version of the model (models:/NAME/
 *     Production). Its training data ended at rating_id L (its lineage);
 *     the new ratings are those with rating_id > L.
 *  2. A decision run starts in experiment RETRAIN_EXPERIMENT ("Retraining")
 *     with the policy and options as params. Unless a report is passed in,
 *     the champion is monitored (monitor_run) on the policy's windows over
 *     the new ratings (a child run in "Model monitoring" with log_monitor).
 *  3. policy_decide. The decision is logged whether or not it retrains:
 *     tags retrain.decision (retrain / keep), retrain.reasons,
 *     retrain.action; metrics decision, new_ratings, model_age_days,
 *     worst_top100, dataset_drift, check.TRIGGER (1 fired / 0) and
 *     check.TRIGGER.value ("psi:x" is logged as "psi.x").
 *  4. Retraining (not with dry_run): the newest `holdout` share of the new
 *     ratings (by rating_id, i.e. arrival order) is held out. Stateful
 *     (default): continue from the champion's weights and optimiser state
 *     (train_run's init_from) on the new ratings before the held-out slice
 *     plus a replay sample of `replay` x that many older ratings (uniform
 *     over rating_id <= L, seeded; train_config.extra_rating_ids), so the
 *     model does not forget; new users and movies get rows. From scratch
 *     (from_scratch): a new model with the champion's configuration on
 *     every rating before the held-out slice. Either is a tracked run
 *     (trainrun_run, child of the decision run, split 1) named
 *     "challenger-stateful" / "challenger-scratch". With compare, the
 *     other kind is trained as well ("compare-..."; never registered), so
 *     their time and accuracy can be compared on the same slice.
 *  5. Champion and challenger are evaluated on the held-out slice
 *     (model_evaluate; top-100 categorical accuracy decides, as the seed).
 *  6. The challenger is registered as the next version (audited, reason =
 *     both scores) and alias @challenger points at it. When its top-100
 *     beats the champion's by more than `margin`, it moves to Production
 *     with the old version archived (one audited transition), @champion
 *     moves to it and @challenger is removed (both audited); otherwise it
 *     stays registered (stage None) as @challenger. A server polling the
 *     registry swaps the new Production version in by itself.
 *  7. The decision run gets the outcome (metrics champion_top100,
 *     challenger_top100, promoted, train_seconds; tags retrain.action,
 *     retrain.challenger_version) and ends FINISHED; on any error after it
 *     started it ends FAILED with tag harvest.error.
 *
 * Either stage: when the champion is a ranking model (--model
 * harvest_ranker), the monitoring pass runs through the Production
 * retrieval model (REGISTRY_DEFAULT_MODEL) with the champion as its ranker
 * (monitor_config.ranker: RMSE per window, the max_rmse / max_rmse_rise
 * triggers against the ranker's own held-out RMSE), the challenger is
 * trained from scratch (a ranker cannot continue training), and the gate
 * is the held-out slice's RMSE: the challenger is promoted when its RMSE
 * is below the champion's minus margin. A retrieval champion's pass also
 * tracks the Production ranker (REGISTRY_DEFAULT_RANKER) when one is
 * registered; without one everything is as before.
 *
 * Threads: retrain_run uses db exclusively while it runs.
 */
#ifndef HV_RETRAIN_RETRAIN_H
#define HV_RETRAIN_RETRAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "retrain/policy.h"
#include "util/err.h"

struct train_callbacks; /* model/model.h */

struct hv_db;

#define RETRAIN_EXPERIMENT "Retraining"
#define RETRAIN_DEFAULT_REPLAY 0.2
#define RETRAIN_DEFAULT_HOLDOUT 0.2
#define RETRAIN_ALIAS_CHALLENGER "challenger"

struct retrain_opts {
  const char *home;            /* Harvest home (artifacts/), required */
  const char *model_name;      /* NULL: REGISTRY_DEFAULT_MODEL */
  const struct policy *policy; /* NULL: policy_seed (min_top100 0.5); the
                                  CLI's default is max_top100_drop 0.2 */
  int force;                   /* retrain whatever the triggers say */
  int dry_run;                 /* decide and log, change nothing else */
  int from_scratch;            /* challenger from scratch, not stateful */
  int compare;                 /* also train the other kind (unregistered) */
  double replay;               /* stateful replay share, [0, 10]; use
                                  RETRAIN_DEFAULT_REPLAY for the default */
  double holdout;              /* held-out share of the new ratings,
                                  (0, 0.9]; RETRAIN_DEFAULT_HOLDOUT */
  double margin;               /* challenger wins when its top-100 > the
                                  champion's + margin; [-1, 1] */
  int epochs;                  /* 0: the champion's configuration's */
  uint64_t seed;               /* replay sample and training; 0: the
                                  champion's */
  int threads;                 /* OpenBLAS threads for training; 0: as is */
  const struct monitor_report *report; /* monitoring report of the
                                  champion on the newest windows
                                  (borrowed), or NULL to monitor here */
  int log_monitor;             /* 1: the monitoring pass done here is a
                                  run (child of the decision run) */
  const char *who;             /* audit log; NULL: registry_who() */
  /* Progress (NULL: none), on the calling thread: progress gets one line
   * per step ("monitoring 2 windows of 5000 new ratings", "training the
   * stateful challenger ...", "evaluating ..."), train_cb the epochs of
   * every model trained, monitor_progress the windows of the pass. */
  void (*progress)(void *ud, const char *step);
  const struct train_callbacks *train_cb;
  void (*monitor_progress)(void *ud, const struct monitor_window *done,
                           size_t total);
  void *progress_ud;
};

/* Default options: replay 0.2, holdout 0.2, margin 0, everything else
 * zero / NULL; home must still be set. */
void retrain_opts_defaults(struct retrain_opts *o);

/* One trained model of a retraining. */
struct retrain_side {
  int ran;                     /* 1 when trained */
  int stateful;
  char run_id[33];
  int64_t train_first, train_last; /* the rating range trained on */
  size_t n_new, n_replay;      /* range ratings, replayed older ratings */
  int epochs;
  double train_seconds;        /* train_run's training time */
  double seconds;              /* wall time of the whole run */
  double top100, top10;        /* on the held-out slice */
  double rmse;                 /* a ranker's RMSE there (NaN: retrieval) */
};

struct retrain_result {
  struct policy_decision decision;
  char action[24];             /* "none" (policy said no), "dry-run",
                                  "skipped" (too few new ratings),
                                  "promoted", "challenger" (registered,
                                  not promoted) */
  char detail[256];            /* one line for people */
  char model[129];
  char decision_run_id[33];
  int champion_version;        /* Production before */
  int challenger_version;      /* registered now; 0 when none */
  int production_version;      /* Production after */
  int64_t last_trained_id;     /* L: end of the champion's training data */
  int64_t newest_id;           /* newest rating at the start */
  int64_t new_ratings;
  int64_t holdout_first, holdout_last;
  size_t n_holdout;
  double champion_top100, champion_top10; /* on the held-out slice */
  double champion_rmse;        /* a ranking champion's (NaN: retrieval) */
  char stage[12];              /* "retrieval" or "ranking": the champion's */
  struct retrain_side challenger;
  struct retrain_side other;   /* with compare */
  struct monitor_report *report; /* the monitoring report made here
                                  (owned) or NULL */
  double seconds;
};

/* Run the service (see the header comment). res is zeroed first and must
 * be released with retrain_result_free. Returns 0 whatever was decided;
 * HV_EINVAL for bad options, HV_ENOTFOUND when the model has no Production
 * version, and store, artifact, training and registry errors (the decision
 * run, when started, ends FAILED). */
int retrain_run(struct hv_db *db, const struct retrain_opts *o,
                struct retrain_result *res,
                struct hv_err *err) HV_WARN_UNUSED;

/* Free what res holds; NULL does nothing. */
void retrain_result_free(struct retrain_result *res);

/* The result as JSON (new reference; NULL when out of memory):
 * {"model", "action", "detail", "decision": {...policy_decision_to_json},
 *  "decision_run_id", "champion_version", "challenger_version",
 *  "production_version", "new_ratings", "holdout": {"first_rating_id",
 *  "last_rating_id", "n_ratings"}, "champion": {"top_100_categorical_
 *  accuracy", "top_10_..."}, "challenger": {...side}, "compare": {...side}
 *  (with compare), "windows": [{"name", "n_ratings", "top_100_...",
 *  "dataset_drift"}] (when monitored here), "seconds"}. */
json_t *retrain_result_to_json(const struct retrain_result *res);

#endif

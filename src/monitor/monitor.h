/*
 * monitor.h - monitoring a model on live data: for each window of ratings,
 * the model's performance, covariate drift, label shift, prediction drift
 * and feedback-loop health against the data the model was trained on, with
 * a verdict per feature and for the dataset (Evidently-style).
 *
 * What is compared (docs/monitoring.md has the full table):
 *  - rows are ratings: each rating of a window contributes its rater's age
 *    (numeric), gender and occupation (categorical), its movie's genres
 *    (categorical over genre memberships), release year (numeric) and
 *    popularity (numeric: the movie's rating count in the reference), and
 *    its rating (categorical on half stars: label shift);
 *  - rows are users for prediction drift: the model's top-1 score of each
 *    distinct user of the window vs of the reference;
 *  - performance: top-1/5/10/50/100 categorical accuracy (TFRS
 *    FactorizedTopK: a pair is a hit at K when fewer than K movies score
 *    strictly higher; no movie excluded; unknown users use the OOV row,
 *    unknown movies are misses), overall and per gender and age bucket
 *    (from the users table, so new users get their real segment);
 *  - health: coverage of the top-10s (distinct movies in any top-10 /
 *    catalogue), Gini of the recommended-movie counts over the catalogue,
 *    mean reference popularity of recommended movies, exposure by
 *    popularity decile; the top-10s are the served ones: with a ranker,
 *    retrieval's top K reordered by it (cfg->stage; top1_score_mean stays
 *    the retrieval model's top-1 score), else retrieval's; the reference values
 *    use a fixed-seed sample of as many reference users as the window has,
 *    because coverage grows with the number of lists.
 * The reference is the rating_id range the model was trained on (its
 * lineage, model_config) unless the config names another range. Time
 * windows never include reference ratings (they are what the model saw).
 * A feature with an empty sample on either side, and every feature of a
 * window with fewer than min_ratings ratings, is reported with "skipped"
 * and left out of the drifted share.
 *
 * Design: the reference side (sorted samples, category counts, users'
 * scores and top-10s) is computed once per pass; each window then costs one
 * scoring pass over its users plus the statistics of monitor/drift.h.
 *
 * Threads: monitor_run uses db exclusively while it runs and reads the
 * model only (share one model between threads freely).
 */
#ifndef HV_MONITOR_MONITOR_H
#define HV_MONITOR_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/drift.h"
#include "monitor/monitor_report.h"
#include "monitor/window.h"
#include "util/err.h"

struct hv_db;
struct hv_model;

#define MONITOR_EXPERIMENT "Model monitoring"
#define MONITOR_DEFAULT_SHARE 0.5 /* Evidently's drift_share */
#define MONITOR_ARTIFACT "report.json"
#define MONITOR_DEFAULT_MIN_RATINGS 200 /* smallest window given verdicts */

struct monitor_config {
  enum monitor_mode mode;  /* MONITOR_BATCHES: cfg->windows; MONITOR_TIME:
                              windows of window_seconds from `since` */
  /* MONITOR_BATCHES: the windows (borrowed; kind WINDOW_RATING_IDS or
   * WINDOW_TIME, bounds as window.h). */
  const struct window_spec *windows;
  size_t n_windows;
  /* MONITOR_TIME: windows [since + i*len, since + (i+1)*len) up to the last
   * rating; window_seconds 0 means one window from since to the end.
   * has_since 0 starts at the reference's last timestamp. */
  int64_t window_seconds;
  int64_t since;
  int has_since;
  size_t max_windows;      /* 0: all (capped at WINDOW_MAX) */
  /* Reference rating_id range; has_reference 0 takes the model's training
   * range. */
  int has_reference;
  int64_t ref_first, ref_last;
  /* Verdicts. */
  struct drift_thresholds th; /* drift_thresholds_default() */
  int num_test;            /* -1: Evidently default, else enum drift_test
                              (ks, wasserstein_norm, psi, js) */
  int cat_test;            /* -1: default, else chi2, psi or js */
  double threshold_share;  /* dataset drift when drifted share >= this */
  size_t min_ratings;      /* windows with fewer ratings get statistics
                              but no verdicts (effect sizes of a handful
                              of rows are noise) */
  /* The ranking stage (NULL: none, the retrieval-only pass): its RMSE,
   * MAE and RMSE gap between segments on every window's ratings
   * (model_rank_evaluate, the numbers of `harvest evaluate` on the same
   * slice), as monitor_metrics.ranker_*. Borrowed. */
  const struct hv_model *ranker;
  const char *ranker_uri;  /* logged as param ranker_uri (NULL: "-") */
  /* With a ranker, which top-10 lists the health and exposure figures
   * describe: the served pipeline's (recommend.h: the retrieval model's
   * top K of its exact scores, nothing excluded, ordered by the ranker
   * through recommend_rank, as GET /movies/recommend orders them) for
   * stage RECOMMEND_ORDER_BLEND (0, the default, as harvest serve) or
   * RECOMMEND_ORDER_RANK, or retrieval's top 10 for
   * RECOMMEND_STAGE_RETRIEVAL. candidates and blend as recommend_query's
   * (0: the defaults, 100 and 0.3). Without a ranker the lists are
   * retrieval's whatever these say. The report's config names the lists
   * (monitor_settings.lists). */
  int stage;
  int candidates;
  double blend;
  /* Report and logging. */
  const char *model_uri;   /* shown in the report (NULL: "") */
  int log_run;             /* 1: a tracked run with metrics and the report
                              artifact (needs home) */
  const char *experiment;  /* NULL: MONITOR_EXPERIMENT */
  const char *run_name;    /* NULL: "monitor-<first window>" */
  const char *parent_run_id; /* NULL or an existing run (retraining loop) */
  /* Progress (NULL: none): called on the calling thread after each window
   * with the window just done (its index and rating count) and the number
   * of windows of the pass. */
  void (*progress)(void *ud, const struct monitor_window *done,
                   size_t total);
  void *progress_ud;
};

/* Defaults: MONITOR_TIME from the reference's end with one window,
 * reference from the model, drift_thresholds_default, Evidently's tests,
 * share 0.5, min_ratings 200, no logging. */
void monitor_config_defaults(struct monitor_config *c);

/* Check cfg: mode, windows, thresholds in range, test kinds that fit the
 * feature type (chi2 is categorical only, ks/wasserstein_norm numeric
 * only). Returns 0 or HV_EINVAL naming the field. */
int monitor_config_check(const struct monitor_config *c,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Run one monitoring pass of model m over the ratings in db into *report
 * (zeroed first; the caller monitor_report_free's it, also on error):
 * model, reference, config, one struct monitor_window per window (metrics,
 * per-feature statistics and verdicts, dataset verdict, health), run_id
 * (when logged) and the wall time (monitor_report.h; its JSON form is
 * monitor_report_to_json).
 * With cfg->log_run the pass is a run in cfg->experiment: params (model,
 * reference, thresholds), metrics by step = window index
 * (top_K_categorical_accuracy, drifted_share, dataset_drift, n_ratings,
 * FEATURE.statistic, FEATURE.drift, health.*, fairness_gap_*,
 * exposure_decile_*, and with a ranker ranker_rmse, ranker_mae) and the report's JSON as
 * artifact MONITOR_ARTIFACT under home; the run ends FINISHED, or FAILED
 * when logging fails half-way. Without it nothing is written anywhere.
 * Returns 0 or: HV_EINVAL (bad cfg, empty reference), HV_ENOTFOUND (no
 * ratings after the reference for time windows), HV_EDB, HV_EIO,
 * HV_ENOMEM. Windows without ratings are reported with n_ratings 0. */
int monitor_run(struct hv_db *db, const char *home, const struct hv_model *m,
                const struct monitor_config *cfg,
                struct monitor_report *report,
                struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * monitor_report.h - the report of one monitoring pass (monitor_run) as
 * plain data, and its one JSON form.
 *
 * Design: the services that act on a report (the retraining policy, the
 * retraining service, the demo, the CLI table, the UI) read these structs;
 * JSON exists only at the edges: `harvest monitor --json`, the report.json
 * artifact of a logged pass, GET /monitor/drift, and the UI reading a past
 * pass's artifact back (monitor_report_from_json). The JSON shape is the
 * one stored reports already have (docs/monitoring.md); a number that is
 * not finite is written as null and read back as NaN.
 *
 * A report holds one window per monitoring window; a window with ratings
 * has MONITOR_N_FEATURES features in a fixed order (user_age, user_gender,
 * user_occupation, movie_genres, movie_year, movie_popularity, rating,
 * prediction_top1_score), each with its statistics and its verdict (the
 * drift.h struct drift_feature_result, also what `harvest drift` prints).
 *
 * Threads: pure functions on caller-owned data; call from any thread.
 */
#ifndef HV_MONITOR_MONITOR_REPORT_H
#define HV_MONITOR_MONITOR_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/eval.h"
#include "model/model.h"
#include "monitor/drift.h"
#include "monitor/window.h"
#include "util/err.h"

#define MONITOR_N_FEATURES 8  /* features judged per window */
#define MONITOR_N_SEGMENTS 11 /* gender unknown/M/F, 7 age buckets, age
                                 unknown */

enum monitor_mode {
  MONITOR_BATCHES = 0, /* explicit windows (rating_id or time ranges) */
  MONITOR_TIME = 1     /* time windows of a fixed length */
};

enum monitor_group {
  MONITOR_COVARIATE = 0, /* who rates what: users' and movies' attributes */
  MONITOR_LABEL,         /* the rating itself */
  MONITOR_PREDICTION     /* the model's top-1 score per user */
};

enum monitor_kind { MONITOR_NUMERIC = 0, MONITOR_CATEGORICAL };

/* Performance of one user segment. */
struct monitor_segment {
  char name[32];          /* "gender=M", "age=25", "age=unknown" */
  size_t n_pairs, n_users;
  double top_k[EVAL_NK];  /* categorical accuracy at eval_ks[k] */
};

/* The model's performance on the pairs of a window (or the reference). */
struct monitor_metrics {
  size_t n_pairs, n_users, n_unknown_users, n_unknown_movies;
  double rating_mean;     /* NaN without ratings */
  double top_k[EVAL_NK];  /* top_K_categorical_accuracy; NaN without pairs */
  size_t n_segments;      /* segments with pairs, in segment order */
  struct monitor_segment segments[MONITOR_N_SEGMENTS];
  int64_t n_users_not_in_reference; /* windows only; -1: not reported */
  /* Fairness: top-100 accuracy of the best segment minus the worst's, over
   * segments of >= EVAL_GAP_MIN_PAIRS pairs (eval_gap; 0 when fewer than
   * two); NaN without pairs. */
  double fairness_gap_top_100;
  /* The ranking stage on the window's ratings (monitor_config.ranker):
   * RMSE and MAE of its clipped predictions, pairs, and the RMSE gap
   * between the worst and best segment (rank_metrics.seg_rmse_gap). NaN /
   * 0 without a ranker or ratings. */
  double ranker_rmse, ranker_mae, fairness_gap_rmse;
  size_t ranker_n;
};

/* Feedback-loop health of a set of top-10 lists (NaN: undefined). */
struct monitor_health {
  size_t n_users;
  double coverage_at_10;        /* distinct recommended / catalogue */
  double gini_at_10;            /* of the recommendation counts */
  double mean_popularity_at_10; /* mean reference popularity */
  double top1_score_mean;
  /* Exposure: share of the top-10 entries whose movie is in each
   * popularity decile of the model's movies (by reference rating count,
   * eval_pop_deciles; least rated first) and the most exposed decile's
   * share minus the least exposed one's (eval_exposure_shares); NaN
   * without lists. */
  double exposure[EVAL_NDEC];
  double exposure_gap;
};

/* A category's share on each side. */
struct monitor_category {
  char label[96];
  double reference, current; /* proportions */
};

struct monitor_feature {
  /* The verdict: name (the feature's), test, statistic, pvalue (NaN for
   * distance tests), threshold, drift. */
  struct drift_feature_result verdict;
  enum monitor_group group;
  enum monitor_kind kind;
  int64_t n_ref, n_cur;    /* values (numeric) or counts (categorical) */
  int measured;            /* 0: a side had no values: no statistics, no
                              test (skipped says which side) */
  char skipped[96];        /* why there is no verdict; "" when judged */
  double psi, js;
  int psi_grade;           /* drift_psi_grade */
  /* MONITOR_NUMERIC */
  double ref_mean, cur_mean;
  struct drift_ks ks;
  double wasserstein, wasserstein_norm;
  /* MONITOR_CATEGORICAL */
  struct drift_chi2 chi2;
  size_t n_categories;
  struct monitor_category *categories; /* (n_categories) owned; categories
                                          seen on either side */
};

struct monitor_window {
  size_t index;                  /* in the pass's windows (the first one
                                    when n_folded > 1) */
  struct window_spec spec;       /* name, kind and bounds */
  size_t n_ratings, n_users;
  /* In-sample: the window's ratings with rating_id in the model's
   * training range (its lineage, monitor_model_info.trained_*; the range's
   * train and test splits alike). A window with any is in-sample: its
   * top-K is not held-out evidence (the retraining policy does not read
   * it as such). */
  size_t n_in_sample;
  /* Why the window was not evaluated: "" when it was; "no ratings";
   * "N ratings < min_ratings M" (monitor_config.min_ratings). A skipped
   * window has n_ratings, n_users and n_in_sample only: metrics and
   * health NaN, no features, no verdicts. */
  char skipped[64];
  /* Consecutive empty time windows this entry stands for (>= 1; spec
   * spans them all, named by the first): a pass over years of time
   * windows with a few ratings lists each gap once. */
  size_t n_folded;
  /* The rest is meaningful when the window was evaluated (skipped ""). */
  struct monitor_metrics metrics;
  struct monitor_health health;      /* the window's users' top-10s */
  struct monitor_health health_ref;  /* as many reference users' */
  double coverage_ratio, gini_delta, mean_popularity_ratio; /* vs ref */
  size_t n_features;                 /* listed: 0 or MONITOR_N_FEATURES */
  struct monitor_feature features[MONITOR_N_FEATURES];
  size_t n_judged;   /* features with a verdict (JSON "n_features") */
  size_t n_drifted;  /* of which drifted */
  double drifted_share; /* n_drifted / n_judged; 0 when none judged */
  int dataset_drift;    /* drifted_share >= threshold_share (judged > 0) */
};

struct monitor_reference {
  int64_t first_rating_id, last_rating_id;
  int from_model;          /* 1: the model's lineage, 0: the config */
  size_t n_ratings, n_users;
  int64_t start_ts, end_ts; /* first and last rating time */
  struct monitor_metrics metrics; /* in-sample */
  struct monitor_health health;   /* every reference user's top-10 */
};

struct monitor_model_info {
  char uri[4096];          /* as given to the pass ("" when none) */
  char sha256[65];
  int64_t trained_first_rating_id, trained_last_rating_id;
  int64_t n_train_ratings, n_users, n_movies;
  int dim;
  int features;            /* 1: feature towers */
};

/* The configuration as the report records it. */
struct monitor_settings {
  enum monitor_mode mode;
  int64_t window_seconds;
  int has_since;           /* 0: time windows start at the reference end */
  double threshold_share;
  size_t min_ratings;
  struct drift_thresholds th;
  int num_test, cat_test;  /* enum drift_test, or -1: Evidently default */
  /* The pipeline the health and exposure lists came from: "retrieval",
   * or "blend"/"ranking" (recommend_stage_names) with the ranker's K
   * candidates and the blend weight (0 for retrieval); reports written
   * before it read as "retrieval". */
  char lists[16];
  int candidates;
  double blend;
};

struct monitor_report {
  struct monitor_model_info model;
  struct monitor_reference reference;
  struct monitor_settings config;
  size_t n_windows;
  struct monitor_window *windows; /* (n_windows) owned */
  double seconds;                 /* wall time of the pass */
  char run_id[33];                /* the logged run; "" when not logged */
};

/* Metrics and health with every rate NaN and every count 0
 * (n_users_not_in_reference -1). */
void monitor_metrics_init(struct monitor_metrics *m);
void monitor_health_init(struct monitor_health *h);

/* top_K_categorical_accuracy of m for K in eval_ks (1, 5, 10, 50, 100);
 * NaN for another K. */
double monitor_metrics_top(const struct monitor_metrics *m, int k);

/* Free what r holds and zero it; NULL does nothing. */
void monitor_report_free(struct monitor_report *r);

/* Share of w's ratings in the model's training range (n_in_sample /
 * n_ratings; 0 without ratings). */
double monitor_window_in_sample(const struct monitor_window *w);

/* Empty time windows of r (the sum of the empty entries' n_folded). */
size_t monitor_report_n_empty(const struct monitor_report *r);

/* The window feature named name, or NULL (borrowed from w). */
const struct monitor_feature *monitor_report_feature(
    const struct monitor_window *w, const char *name);

/* "a, b, c": the names of w's drifted features, into buf (cap > 0;
 * truncated to fit). */
void monitor_report_drifted_names(const struct monitor_window *w, char *buf,
                                  size_t cap);

/* The verdict's test, statistic, pvalue, threshold and drift appended to
 * the JSON object o (non-finite numbers as null); the verdict JSON of both
 * the monitoring report and `harvest drift`. Returns 0 or HV_ENOMEM. */
int monitor_report_verdict_json(json_t *o,
                                const struct drift_feature_result *v);

/* The report as JSON (new reference; NULL when out of memory):
 *   {"model": {...}, "reference": {...}, "config": {...},
 *    "windows": [{"index", "name", "kind", "n_ratings",
 *      "first_rating_id"/"last_rating_id" or "start"/"end"/"start_ts"/
 *      "end_ts", "n_in_sample", "in_sample", "in_sample_share",
 *      "skipped"? (why not evaluated), "n_windows"? (an empty entry: the
 *      empty windows it stands for), "features": [{"name", "group", "kind", "n_ref", "n_cur",
 *      statistics..., "test", "statistic", "pvalue", "threshold", "drift",
 *      "skipped"?}], "n_features", "n_drifted", "drifted_share",
 *      "dataset_drift", "n_users", "metrics": {..., "segments": [...]},
 *      "health": {..., "reference": {...}}}],
 *    "n_empty_windows", "seconds", "run_id"? (when logged)}
 * (docs/monitoring.md describes every field). */
json_t *monitor_report_to_json(const struct monitor_report *r);

/* Read a report as monitor_report_to_json writes it (a stored report.json)
 * into *r (zeroed first; monitor_report_free it). Missing or null numbers
 * read as NaN (counts as 0), missing strings as "", so reports of older
 * versions load. HV_ECORRUPT when j is not an object with a "windows"
 * list, HV_ENOMEM; *r is then empty. */
int monitor_report_from_json(const json_t *j, struct monitor_report *r,
                             struct hv_err *err) HV_WARN_UNUSED;

/* Print the report as a table (window, n, users, top-10, top-100,
 * coverage, in-sample share, drifted features, verdict) plus per window
 * the drifted features' names or why it was skipped, a run of empty time
 * windows as one line, and a note when windows are in-sample, on out.
 * Nothing when r or out is NULL. */
void monitor_report_print_table(const struct monitor_report *r, FILE *out);

#endif

/*
 * demo.h - `harvest demo`: the whole loop end to end on a time-ordered
 * replay. Generate a synthetic dataset with planted drift (or take the
 * home's imported ml-100k), train on the first weeks with a small tuning
 * grid, register the best into Production, start the server, then replay
 * the remaining ratings week by week through the real HTTP API while
 * clients ask for recommendations; after each week monitor the serving
 * model, let the retraining policy decide, retrain statefully and promote
 * when it says so; the server swaps the new model in by itself.
 *
 * How the replay gets its ratings into the API: after the dataset is in the
 * home, every rating from the end of the training weeks on is moved into
 * memory and deleted from the database in ONE transaction
 * (ratings_take), so the database holds exactly the training weeks and
 * the replayed ratings exist again only because POST
 * /users/add_user_rating/ inserted them (new rating_ids in replay order,
 * timestamp = arrival time). A week's monitoring window is the rating_id
 * range the API returned for that week's batches.
 *
 * What is measured each week: the serving model's top-100 accuracy on the
 * week's ratings (the monitoring pass, a run in "Model monitoring"), the
 * never-retrained model's (the first champion, kept in memory) on the same
 * ratings, the drift verdict, the policy's action (retrain_run with the
 * week's report; a decision run in "Retraining"), and, when a retraining
 * happens, the stateful challenger and a from-scratch one trained on the
 * same data and compared on the same held-out slice (time, accuracy). After
 * a promotion the demo asks for recommendations until X-Model-Version shows
 * the new version (the hot-swap delay). A background client requests
 * recommendations for random users all along; every failed request (any
 * non-2xx answer or transport error) is counted, and a response carrying an
 * older version than one the same client already saw is counted as a
 * version regression.
 *
 * Layering: the demo lives in monitor/ (it drives the retraining loop) and
 * speaks only HTTP to the server through apiclient.h; the server itself is
 * started and stopped through the callbacks in struct demo_server, which the
 * caller (the CLI, a test) implements with serve/ (in-process) or by
 * spawning `harvest serve`.
 *
 * Threads: demo_run uses its own database connection and runs the
 * background clients on threads of its own, joined before it returns.
 */
#ifndef HV_DEMO_DEMO_H
#define HV_DEMO_DEMO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "data/synth.h"
#include "retrain/policy.h"
#include "util/err.h"

#define DEMO_MAX_GRID 4
#define DEMO_UI_URL "http://127.0.0.1:8000" /* `harvest serve`'s default */

/* Starting and stopping the server (see the header comment). */
struct demo_server {
  /* Serve home's registry model model_name on 127.0.0.1; *port gets the
   * port it listens on, token (cap bytes) the bearer token the replay
   * sends with its rating writes ("" for none: a server that lets anyone
   * write). */
  int (*start)(void *ud, const char *home, const char *model_name,
               int *port, char *token, size_t cap, struct hv_err *err);
  void (*stop)(void *ud); /* graceful stop; called once after start */
  void *ud;
};

struct demo_config {
  const char *home;           /* required; fresh for the synth dataset */
  const char *dataset;        /* "synth" (default) or "ml-100k" (already
                                 imported into home) */
  struct synth_config synth;  /* for "synth" (demo_config_defaults) */
  int train_weeks;            /* weeks of the first model's data (4) */
  int weeks;                  /* weeks to replay; 0: all that remain */
  const char *model_name;     /* NULL: REGISTRY_DEFAULT_MODEL */
  struct policy policy;       /* the retraining policy */
  double replay, holdout, margin; /* retrain options (retrain.h) */
  int epochs;                 /* tune trials' epochs; retrains reuse them */
  size_t n_grid;              /* tune grid axes ("dim=32,64") */
  const char *grid[DEMO_MAX_GRID];
  int batch;                  /* ratings per POST (500) */
  int recs_per_batch;         /* recommendations asked after each POST,
                                 for users of that batch (5) */
  int load_clients;           /* background recommendation clients (1) */
  int compare;                /* 1: train a from-scratch challenger beside
                                 each stateful one (the comparison) */
  int ranker;                 /* 1: the ranking stage too (demo_rank.h): a
                                 first ranker in Production, its RMSE
                                 monitored weekly, retrained by
                                 rank_policy with an RMSE gate */
  struct policy rank_policy;  /* the ranking stage's policy */
  double rank_margin;         /* its promotion margin (RMSE) */
  const char *report_dir;     /* NULL: <home>/reports */
  const char *ui_url;         /* the UI the report links into, http(s)://
                                 host[:port] (NULL: DEMO_UI_URL); the
                                 demo's own server stops at its end */
  struct demo_server server;
  void (*progress)(void *ud, const char *line); /* one line a step, or
                                                   NULL */
  void *ud;
};

/* The demo's defaults: synth 2000 users, 1000 movies, 200,000 ratings, 120
 * days, seed 42, sudden drift; 4 training weeks; all weeks replayed; policy
 * on_dataset_drift + min_top100 0.25; replay 0.2, holdout 0.2, margin 0;
 * 8 epochs; grid dim=32,64 x lr=0.05,0.1; batch 500; 5 recommendations a
 * batch; 1 background client; compare on; the ranking stage on with
 * max_rmse_rise 0.05 and margin 0. */
void demo_config_defaults(struct demo_config *c);

/* One replayed week. NaN where nothing was measured. */
struct demo_week {
  int week;                     /* 1-based */
  int64_t start_ts, end_ts;     /* original time span [start, end) */
  int64_t new_ratings, first_id, last_id;
  double top100, top10;         /* serving model on the week */
  double top100_never;          /* never-retrained model on the week */
  char skipped[96];             /* why the week has no top-100 for either
                                   model (the monitoring pass skipped it:
                                   < min_window_ratings); "" when judged */
  int dataset_drift;            /* 1 / 0; -1 not judged */
  int n_drifted, n_features;
  char drifted[256];            /* drifted feature names */
  char action[24];              /* retrain_result.action */
  char detail[256];
  char reasons[512];
  int version;                  /* serving during the week */
  int version_after;            /* Production after the action */
  double swap_seconds;          /* promotion -> X-Model-Version changed */
  double champion_top100;       /* held-out slice (when retrained) */
  double stateful_top100, stateful_seconds;
  double scratch_top100, scratch_seconds;
  size_t stateful_ratings, scratch_ratings; /* ratings trained on */
  int stateful_promoted;        /* action == promoted */
  int64_t requests, failed;     /* HTTP requests of the week */
  char decision_run_id[33];
  char monitor_run_id[33];      /* the week's monitoring run */
  char challenger_run_id[33];   /* the stateful challenger's run ("") */
  char scratch_run_id[33];      /* the from-scratch one's run ("") */
  /* The ranking stage ("" action: the demo ran without one). */
  double ranker_rmse;           /* Production ranker on the week */
  char ranker_action[24];       /* its retrain_result.action */
  int ranker_version, ranker_version_after;
  double ranker_champion_rmse, ranker_challenger_rmse; /* held-out slice */
};

struct demo_result {
  char dataset[32];
  char model[129];              /* the registered model's name */
  char ui_url[256];             /* demo_config.ui_url */
  int64_t users, movies, ratings; /* the whole dataset */
  int64_t drift_ts;             /* planted drift point (synth), 0: none */
  int drift_week;               /* replay week holding it, 0: none */
  int64_t train_ratings, replay_ratings;
  int64_t t0;                   /* first rating's time */
  char tune_run_id[33];
  char tune_best[256];          /* best trial's label */
  double tune_best_top100, tune_seconds;
  int initial_version;
  int port;
  struct demo_week *weeks;      /* n_weeks */
  size_t n_weeks;
  int64_t posts_ok, posts_failed, recs_ok, recs_failed;
  int64_t load_ok, load_failed, version_regressions;
  char first_failure[256];      /* "" when none */
  int n_retrains, n_promotions;
  int final_version;
  int ranker_initial_version;   /* 0: no ranking stage */
  double ranker_rmse;           /* the first ranker's test RMSE */
  int ranker_retrains, ranker_promotions, ranker_final_version;
  /* comparison */
  double stateful_mean_seconds, scratch_mean_seconds;
  double stateful_mean_top100, scratch_mean_top100;
  int first_promotion_week;     /* 0: none */
  double never_mean_later, serving_mean_later; /* weeks >= first promo */
  double never_mean_all, serving_mean_all;
  char report_path[4096];
  double seconds;
};

/* Run the demo (see the header comment). On success *res is filled
 * (demo_result_free) and the HTML report written. Returns HV_EINVAL (bad
 * config), HV_ECONFLICT (synth into a home that holds data), HV_ENOTFOUND
 * (ml-100k not imported, too little data for the training weeks), server,
 * training, store and HTTP errors (failed requests are counted, not
 * errors, unless the server cannot be reached at all). */
int demo_run(const struct demo_config *c, struct demo_result *res,
             struct hv_err *err) HV_WARN_UNUSED;

void demo_result_free(struct demo_result *res);

/* The result as JSON: {"dataset": {...}, "tune": {...}, "timeline":
 * [{"week", "new_ratings", "top_100_categorical_accuracy",
 * "never_retrained_top_100", "skipped" (string or null; both top-100s
 * null when set), "dataset_drift", "drifted_features",
 * "action", "model_version", "next_model_version", "retrain": {...} or
 * null, "ranker": {...} or null (demo_rank_week_json), ...}],
 * "ranker": {"initial_version", "test_rmse", "retrains", "promotions",
 * "final_version"} or null, "requests": {...}, "comparison": {"stateful_vs_scratch":
 * [...], "stateful_mean_seconds", ..., "never_vs_retrained": {...}},
 * "report", "seconds"}. New reference; NULL when out of memory. */
json_t *demo_result_to_json(const struct demo_result *res);

/* The week's top-100 of the serving model (never 0) or of the
 * never-retrained one (never 1); NaN when not measured and, for both
 * alike, when the week was skipped (w->skipped), so no comparison is
 * drawn on it. */
double demo_week_top100(const struct demo_week *w, int never);

/* 1 when week index i (0-based) is the first week served by a version
 * promoted after the week before, and that version's top-100 accuracy on
 * it is below the never-retrained model's: a promotion that did worse. 0
 * otherwise (also when either accuracy is NaN, the week was skipped or i
 * is out of range). */
int demo_fresh_worse(const struct demo_result *res, size_t i);

/* The HTML report into a new buffer *out of *len bytes (caller frees):
 * inline SVG charts with axis labels, 1-2-5 ticks and legends; the weeks
 * demo_fresh_worse names; links into the UI at res->ui_url (a <base>
 * element; the hrefs are the UI's own paths: /ui/runs/ID,
 * /ui/models/NAME, /ui/monitoring?run=ID). No external resource. */
int demo_report_html(const struct demo_result *res, char **out, size_t *len,
                     struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * trainrun.h - "every train is a run": train the two-tower model as a
 * tracked run (params, per-epoch and final metrics, data lineage, the model
 * file as an artifact), plus what `harvest train` and `harvest tune` share:
 * train_config fields by name, the metric names, and the SIGINT guard.
 *
 * What a run records (MLflow users will recognise the shape):
 * - params: every train_config field, under the names of
 *   trainrun_config_json (dim, lr, optimizer, epochs, batch, split, seed,
 *   features, l2, temperature, logq, remove_accidental_hits, threads,
 *   init_scale, first_rating_id, last_rating_id); with init_from, its dim
 *   and features (which win over the given ones), init_from = the URI, and
 *   the tag init_from_sha256 = the SHA-256 of that model file
 *   (model_sha256_hex, as its artifact record). Data-parallel runs
 *   (o->cb->dist set: harvest train --distributed, logged by rank 0 only)
 *   add world_size and dist_scheme (TRAIN_DIST_SCHEME) and the final
 *   metrics dist_bytes_per_epoch and dist_comm_seconds.
 *   Values are text: integers in decimal, reals in the shortest form that
 *   reads back exactly ("0.001"), booleans "true"/"false".
 * - metrics by step (step = epoch, 1-based): loss (summed training loss of
 *   the epoch, as Keras' history "loss") and epoch_seconds; with
 *   eval_every, the test-split metrics below at that epoch's step.
 * - final metrics (step = epochs): the TEST split unprefixed, with the TFRS
 *   names an MLflow user of the seed expects: top_1/5/10/50/100_categorical
 *   _accuracy, recall_at_10, recall_at_100, ndcg_at_10, coverage_at_10 and
 *   test_loss (the evaluation loss; "loss" is taken by the per-epoch
 *   training loss); the TRAIN split with the prefix "train_" on every one
 *   of those names (train_top_100_categorical_accuracy, train_loss, ...);
 *   facts n_ratings, n_train, n_test, n_users, n_movies, train_seconds,
 *   eval_seconds. No test split (split = 1): no unprefixed test metrics.
 * - lineage: code version (built in, by runs_start) and data version: the
 *   rating_id range of the config, the row count and the SHA-256
 *   fingerprint of those rows (runs_fingerprint_data).
 * - artifact ARTIFACTS_MODEL_PATH ("model/model.hvm"): the model file, so
 *   runs:/RUN_ID and the registry can load it.
 * - retrieval models of at least 20,000 movies (opts index_mode; see
 *   recommend/retindex.h): the IVF index of the movie tower as artifact
 *   "model/index.ivf" (and FILE.ivf beside --out FILE), with metrics
 *   index_recall_at_100, index_nprobe, index_nlist, index_build_seconds.
 * - status FINISHED; FAILED with tag harvest.error on any error; KILLED on
 *   SIGINT/SIGTERM when the process installed trainrun_guard_install.
 *
 * Design: the run is started only after the cheap checks (config, the
 * init_from model) pass, so a typo never leaves a FAILED run behind; from
 * then on every failure ends the run FAILED before returning. Per-epoch
 * values are written from train_run's epoch callback in one metrics batch
 * per epoch; a write error there cannot stop training, so it is kept and
 * fails the run at the end.
 *
 * Threads: trainrun_run uses the caller's connection exclusively while it
 * runs (it loads the dataset, train/dataset.h, unless given one). The
 * guard is process-wide state: one pipe and one watcher thread, installed
 * once by the command-line program.
 */
#ifndef HV_TRAIN_TRAINRUN_H
#define HV_TRAIN_TRAINRUN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "recommend/retindex.h"
#include "util/err.h"

struct hv_db;

#define TRAINRUN_MODEL_URI_MAX 48 /* "runs:/" + 32 hex + NUL, rounded up */

struct trainrun_opts {
  const char *home;          /* Harvest home holding artifacts/ (required) */
  const char *experiment;    /* NULL: RUNS_DEFAULT_EXPERIMENT ("Default") */
  const char *run_name;      /* NULL: runs_start's "run-<8 hex>" */
  const char *parent_run_id; /* NULL: top level (tune passes its parent) */
  const char *init_from;     /* model URI (uri.h) to continue, or NULL */
  const char *out_path;      /* extra copy of the model file, or NULL */
  /* Precomputed data fingerprint of the config's rating range (tune
   * fingerprints once for all trials); NULL: computed here. */
  const char *data_sha256;
  int64_t data_rows;
  /* The dataset to train on, already loaded for this config (range and
   * extra_rating_ids; tune loads once for all trials); borrowed. NULL:
   * loaded here (dataset_load_train). */
  const struct hv_dataset *data;
  int keep_model;            /* 1: hand the model back in res->model */
  int index_mode;            /* RETINDEX_* (recommend/retindex.h): build
                                the retrieval index with the model (0 =
                                auto: from 20,000 movies) */
  /* Called once the run exists (may be NULL; run_id borrowed). */
  void (*on_start)(void *ud, const char *run_id);
  /* Called after each epoch's values are logged (may be NULL). */
  const struct train_callbacks *cb;
  void *ud;                  /* for on_start */
};

struct trainrun_result {
  char run_id[33];           /* set as soon as the run exists, also when
                                trainrun_run then fails ("" before) */
  char model_uri[TRAINRUN_MODEL_URI_MAX]; /* "runs:/<run_id>" */
  char model_sha256[65];     /* SHA-256 of the model artifact */
  char data_sha256[65];      /* fingerprint of the rows trained on */
  int64_t data_rows;
  struct train_config used;  /* as trained (init_from's dim/features win);
                                extra_rating_ids is NULL here, the count
                                n_extra_rating_ids is kept */
  struct train_result train; /* per-epoch arrays and split metrics */
  struct hv_model *model;    /* with keep_model, else NULL */
  struct retindex_result index; /* the index built with it (index.used) */
};

/* Train c as a tracked run in db (see the header comment). On success res
 * is filled (trainrun_result_free) and the run is FINISHED. On failure the
 * run, if it was started (res->run_id non-empty), is FAILED with the tag
 * harvest.error, and err says why: HV_EINVAL for a bad config or options,
 * model_load / uri_resolve codes for init_from, train_run's codes, store and
 * artifact codes. res must not be NULL; it is zeroed first. */
int trainrun_run(struct hv_db *db, const struct train_config *c,
                 const struct trainrun_opts *o, struct trainrun_result *res,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Free what res holds (arrays, model) and zero it; NULL does nothing. */
void trainrun_result_free(struct trainrun_result *res);

/* The final metric key of the run for a train_result: *out gets its value
 * (metrics named in the header comment; test names need res->has_test).
 * HV_ENOTFOUND for a key trainrun does not log (or a test key without a
 * test split). */
int trainrun_metric_value(const struct train_result *res, const char *key,
                          double *out);

/* 1 when key is a final metric trainrun logs (test names included
 * whatever the split), else 0. */
int trainrun_metric_known(const char *key);

/* 1 when key is one of the unprefixed test-split metrics, else 0. */
int trainrun_metric_is_test(const char *key);

/* 1 when the model of r does worse than r's popularity baseline on
 * top_100_categorical_accuracy or recall_at_10 (test split, or train
 * without one), with a sentence saying so (both numbers) in why[cap];
 * else 0 and why = "". */
int trainrun_loses_to_baseline(const struct train_result *r, char *why,
                               size_t cap);

/* Comma-separated list of the final metric keys into buf (for messages). */
void trainrun_metric_names(char *buf, size_t cap);

/* Set one train_config field by name from text: the names of
 * trainrun_config_json, with '-' accepted for '_' (eval-every), and
 * "ratings" = FIRST:LAST for the rating range. Numbers go through
 * hv_parse_* with the ranges of the `harvest train` flags; booleans
 * (features, logq, remove_accidental_hits) take true/false, 1/0, on/off,
 * yes/no; optimizer takes adagrad/adam. what prefixes messages (e.g.
 * "--grid lr" gives "--grid lr: 'x' is not a number"). HV_ENOTFOUND for an
 * unknown key, HV_EINVAL for a bad value; c is unchanged on error. */
int trainrun_config_set(struct train_config *c, const char *key,
                        const char *value, const char *what,
                        struct hv_err *err) HV_WARN_UNUSED;

/* The canonical field name (static string) for key as trainrun_config_set
 * accepts it, or NULL when unknown. */
const char *trainrun_config_key(const char *key);

/* Comma-separated list of the field names into buf (for messages). */
void trainrun_config_keys(char *buf, size_t cap);

/* The i-th field name (i from 0; "ratings" is last), or NULL past the
 * end. Static strings. */
const char *trainrun_config_field(size_t i);

/* The configuration as a new JSON object: the fields by the names above
 * (the flag names of `harvest train`), without eval_every and the replay
 * sample; NULL when c is NULL or out of memory. Caller owns the
 * reference. */
json_t *trainrun_config_json(const struct train_config *c);

/* The value of field key of c as text (what the run logs as its param),
 * into buf. HV_ENOTFOUND for an unknown key. */
int trainrun_config_get(const struct train_config *c, const char *key,
                        char *buf, size_t cap) HV_WARN_UNUSED;

/* For command-line programs: on SIGINT or SIGTERM, mark every RUNNING run
 * this process owns as KILLED (tag harvest.killed_by = the signal) in the
 * database at db_path, on a connection of its own, then _exit(128 +
 * signal), as the default action would have ended the process. Installs a
 * handler that only writes the signal number to a pipe (async-signal-safe;
 * it may run on any thread, OpenBLAS's included) and one detached watcher
 * thread that does the database work. Call once, from the main thread;
 * later calls return 0 and do nothing. */
int trainrun_guard_install(const char *db_path,
                           struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * eval_metrics.h - the evaluation metrics (struct eval_metrics, model.h)
 * as JSON, written once for every edge that shows them: `harvest evaluate
 * --json`, `harvest train --json` (train and test splits) and GET
 * /monitor/evaluate.
 *
 * Design: model/ returns typed metrics and knows nothing of JSON; the
 * conversion lives here, above it, so the CLI and the server cannot drift
 * apart (they had one writer each before, with the same keys in another
 * order). Keys are the TFRS names without a prefix; run logging
 * (train/trainrun.h) uses the same names, with "train_" / "test_" where a
 * run holds both splits.
 *
 * Threads: pure; no shared state.
 */
#ifndef HV_TRAIN_EVAL_METRICS_H
#define HV_TRAIN_EVAL_METRICS_H

#include <jansson.h>

#include "model/model.h"

/* m as a new JSON object, keys in this order:
 * top_1/5/10/50/100_categorical_accuracy, loss, loss_per_pair,
 * recall_at_10, recall_at_100, ndcg_at_10, coverage_at_10, n_pairs,
 * n_users, n_unknown_users, n_unknown_movies, segments (an array of
 * {segment, n_pairs, n_users, top_10_categorical_accuracy,
 * top_100_categorical_accuracy, recall_at_10, ndcg_at_10} in slot order),
 * and, only when the dataset lacks a segment kind (m->absent),
 * segments_not_in_dataset: ["gender", "age"] (those kinds, none of whose
 * segments is in segments).
 * NULL when m is NULL or out of memory. Caller owns the reference. */
json_t *eval_metrics_to_json(const struct eval_metrics *m);

/* Ranking metrics as a new JSON object: rmse, mae, n_pairs,
 * rmse_segment_gap, segments (an array of {segment, n_pairs, rmse, mae}
 * for the slots with pairs, in slot order), segments_not_in_dataset as
 * above. NULL when m is NULL or out of
 * memory. Caller owns the reference. */
json_t *rank_metrics_to_json(const struct rank_metrics *m);

/* The segment kinds a dataset lacks (absent: DATASET_UF_* bits; gender and
 * age are the kinds segments are made of) as "gender, age" into buf (cap
 * bytes); "" when it has both. For the "not in this dataset" lines. */
void eval_absent_segments(unsigned absent, char *buf, size_t cap);

#endif

/*
 * eval.h - evaluation metrics of a set of (user, movie) pairs against
 * given tower outputs: FactorizedTopK accuracies, in-batch loss, recall,
 * NDCG, coverage and per-segment metrics (definitions in model.h, struct
 * eval_metrics).
 *
 * Design: pairs are grouped by user so each user's scores over all movies
 * are computed once, in sgemm tiles of users; a pair's rank is the count of
 * movies scoring strictly higher (tf.math.in_top_k's tie rule). Allocates
 * its own scratch; thread-safe (reads its inputs only).
 */
#ifndef HV_MODEL_EVAL_H
#define HV_MODEL_EVAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "model/loss.h"
#include "model/model.h"

/* What eval_run scores with: tower outputs of every row (row 0 = OOV). */
struct eval_model {
  int dim;
  size_t n_users, n_movies;      /* known ids (rows 1..n) */
  const float *user_vec;         /* (n_users + 1, dim) */
  const float *movie_vec;        /* (n_movies + 1, dim) */
  struct loss_opts lo;           /* for the loss (l2 is ignored) */
  const float *logq_by_row;      /* (n_movies + 1) or NULL: logQ in loss */
};

struct eval_input {
  size_t n;                      /* pairs */
  const int32_t *urow, *mrow;    /* (n) rows; 0 = unknown id */
  const size_t *seen_off;        /* (n_users + 2) CSR of movie rows to
                                    exclude from the ranking metrics, or
                                    NULL for none */
  const int32_t *seen;           /* ascending within each user row */
  const int *gender_by_row;      /* (n_users + 1) RATINGS_GENDER_*, or NULL */
  const int *age_by_row;         /* (n_users + 1) age bucket, -1, or NULL */
};

/* Fill *out; HV_ENOMEM or HV_EINVAL (rows out of range) on failure. */
int eval_run(const struct eval_model *em, const struct eval_input *in,
             struct eval_metrics *out, struct hv_err *err) HV_WARN_UNUSED;

/* Build the CSR (*off (n_user_rows + 1), *seen) of the distinct movie rows
 * of each user row from n pairs (rows 0 skipped). Caller frees both. */
int eval_build_seen(size_t n_user_rows, const int32_t *urow,
                    const int32_t *mrow, size_t n, size_t **off,
                    int32_t **seen, struct hv_err *err) HV_WARN_UNUSED;

/* The metrics as a new JSON object (TFRS names without the prefix:
 * top_1_categorical_accuracy.., loss, recall_at_10, ..., segments);
 * NULL when out of memory. Caller owns the reference. */
json_t *eval_metrics_json(const struct eval_metrics *m);

#endif

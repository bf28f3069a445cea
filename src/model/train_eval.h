/*
 * train_eval.h - the trainer's state, shared by train.c (the loop) and
 * train_eval.c (the evaluations of a training run). Private to those two
 * files: nothing else includes it. Single-threaded like train_run.
 */
#ifndef HV_MODEL_TRAIN_EVAL_H
#define HV_MODEL_TRAIN_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/eval.h"
#include "model/loss.h"
#include "model/model.h"
#include "model/model_internal.h"
#include "model/optim.h"
#include "util/err.h"
#include "util/rng.h"

/* The evaluation after training, reported through cb->on_eval. */
struct eval_prog {
  const struct train_callbacks *cb;
  struct train_eval_progress p;
  double t0;
};

struct trainer {
  struct eval_prog *prog; /* set during the final evaluation, else NULL */
  struct train_config cfg;
  const struct hv_model *init;
  const struct ratings_cols *R; /* borrowed; NULL once released */
  struct hv_dataset *own;       /* train_run_take: free its ratings */
  size_t n_ratings;             /* R->n, kept when R is released */
  const struct dataset_users *US;
  const struct dataset_movies *MS;
  size_t n_users, n_movies;
  int64_t *user_ids, *movie_ids;
  size_t n_vals[MODEL_NFEAT];
  int64_t *vals[MODEL_NFEAT];
  int32_t *user_feat, *movie_year, *genre_off, *genre;
  struct model_layout L;
  float *params, *state, *grad;
  int n_slots;
  uint64_t adam_step;
  int epochs_total;
  size_t n_train, n_test;
  int32_t *tr_u, *tr_m, *te_u, *te_m;
  uint32_t *order;            /* (n_train) epoch order */
  int64_t *movie_count;       /* (n_movies + 1) train-split counts */
  float *logq_by_row;         /* (n_movies + 1) */
  int *gender_by_row, *age_by_row;
  struct loss_ws *ws;
  struct optim_span *spans;
  int32_t *bu, *bm;           /* (batch) */
  struct rng_xo rng;
  double flop;                /* sgemm FLOPs counted so far */
  int popularity;             /* train_eval_split scores the baseline
                                 (dim 1) */
  const struct train_dist *dist; /* NULL: single process */
  float *cbuf;                /* (2 cap, dim) the batch's rows to sum */
  double comm_bytes, comm_s;  /* handed to the sums, seconds in them */
};

/* Metrics of towers uv (n_users + 1, dim) and mv (n_movies + 1, dim) on
 * the test (test = 1) or train split into *out; with t->popularity the
 * towers are dim 1 with no logQ (the baseline's scoring). Reports to
 * t->prog when set. 0 or the HV_E* code of eval_run. */
int train_eval_split(struct trainer *t, const float *uv, const float *mv,
                     int test, struct eval_metrics *out,
                     struct hv_err *err) HV_WARN_UNUSED;

/* The evaluation after the last epoch of model m into res (train, test
 * when there is a test split, the popularity baseline), each part
 * reported to cb->on_eval as it goes when cb and it are set. */
int train_eval_final(struct trainer *t, const struct train_callbacks *cb,
                     const struct hv_model *m, struct train_result *res,
                     struct hv_err *err) HV_WARN_UNUSED;

#endif

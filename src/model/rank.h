/*
 * rank.h - the ranking model: a rating predictor for the second stage of
 * retrieve-then-rank (train_config.task = MODEL_TASK_RANKING).
 *
 * The model (biased matrix factorisation over the feature towers, plus a
 * small MLP, trained with MSE as the TFRS ranking tutorials):
 *
 *   u = user tower (tower.h: id + age bucket + gender + occupation)
 *   m = movie tower (id + release-year bucket + mean of its genres)
 *   x = [u, m, pop]   (n_in = 2 dim + 1; pop = log1p(train count of the
 *                      movie) / log1p(largest train count), in [0, 1])
 *   r(u, m) = mean + b_user + b_movie + <u, m>
 *             + w2 . relu(x W1 + b1) + b2          (the MLP; H = hidden)
 *
 * Loss per batch of B: (1/B) sum (r - y)^2 + l2 (1/B) sum (|u|^2 + |m|^2)
 * (the PyTorch peer's L2 on the batch's embeddings, so frequent ids are
 * regularised more, as SGD matrix factorisation does). The optimiser
 * (Adam or Adagrad, optim.h) updates the whole parameter block each step,
 * as PyTorch's dense Adam does: the block is small (ids x dim) and every
 * step of a rating batch touches most rows anyway.
 *
 * Split, evaluation: the retrieval trainer's (numpy RandomState(seed)
 * permutation, first round(split n) train); RMSE and MAE on predictions
 * clipped to [1, 5], per segment as eval.h defines them.
 *
 * Serving: the first layer splits into a user part (u W1[0:d]) and a movie
 * part (m W1[d:2d] + pop W1[2d] + b1, precomputed for every movie at load,
 * hv_model.movie_hid), so scoring K candidates costs K (d + 3H) flops.
 *
 * Best found on ml-100k (80/20, seed 42; see docs and /work reports):
 * the RANK_DEFAULT_* values below with dim 32, hidden 64, features on.
 *
 * Threads: rank_batch and the predictors are pure functions of their
 * arguments (the workspace is the caller's); thread-safe on disjoint
 * workspaces.
 */
#ifndef HV_MODEL_RANK_H
#define HV_MODEL_RANK_H

#include <stddef.h>
#include <stdint.h>

#include "model/model_internal.h"

#define RANK_DEFAULT_LR 0.002
#define RANK_DEFAULT_EPOCHS 20
#define RANK_DEFAULT_BATCH 1024
#define RANK_DEFAULT_L2 0.08

/* What rank_batch computes with (all borrowed). */
struct rank_net {
  const struct model_layout *L; /* model_layout_rank applied */
  const struct model_feats *F;
  int features;
  const float *pop;             /* (n_movies + 1) */
  float mean;
  double l2;
  size_t batch_n; /* rows of the whole batch when a call computes a part
                     of it (one thread's share); 0: the call's B */
};

/* Scratch of rank_batch for batches of up to cap rows. */
struct rank_ws;
struct rank_ws *rank_ws_new(size_t cap, const struct model_layout *L);
void rank_ws_free(struct rank_ws *w);

/* One batch (rank_batch.c): predictions of rows (bu[i], bm[i]) into pred
 * (B, may be NULL); with y, returns the loss above (else 0); with y and
 * grad, grad (L->n_params) += d loss / d params. B <= the workspace's cap.
 * With n->batch_n set, the rows are a part of a batch of batch_n: the loss
 * and gradient are that batch's terms of these rows (the parts sum to the
 * batch's). */
double rank_batch(const struct rank_net *n, const float *params,
                  const int32_t *bu, const int32_t *bm, const float *y,
                  size_t B, struct rank_ws *w, float *grad, float *pred);

/* The test oracle: r(u, m) of one pair by plain loops (no BLAS). */
float rank_predict_naive(const struct rank_net *n, const float *params,
                         int32_t urow, int32_t mrow);

/* pop of every movie row from train counts: (n_movies + 1) into out. */
void rank_popularity(const int64_t *count, size_t n_movies, float *out);

/* The loaded model's prediction for rows (urow, mrow) (what
 * model_rank_predict uses). uh (H) = rank_user_hidden(m, urow). */
void rank_user_hidden(const struct hv_model *m, size_t urow, float *uh);
float rank_predict_row(const struct hv_model *m, size_t urow, size_t mrow,
                       const float *uh);

#endif

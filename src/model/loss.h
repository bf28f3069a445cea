/*
 * loss.h - the in-batch softmax loss, computed exactly over the batch's
 * DISTINCT users x DISTINCT movies.
 *
 * The math. A batch holds B (user, movie) rows; TFRS's Retrieval task forms
 * the B x B logits z_ij = <u_i, m_j>/T (- log q_j with logQ), labels on the
 * diagonal, and sums the softmax cross-entropy over the rows. Columns with
 * the same movie k are identical, so a row's log-sum-exp over B columns
 * equals the log-sum-exp over the distinct movies of z_uk + log c_k (c_k =
 * occurrences of k in the batch); rows of the same user u are identical
 * too, so everything is computed once per (distinct user, distinct movie):
 *   loss = sum_{(u,m)} N_um (LSE_um - z_um),
 *   LSE_um = log( sum_k c_k e^{z_uk} - [hits] (c_m - 1) e^{z_um} )
 * where N_um counts the rows (u, m) and [hits] is on when accidental hits
 * are removed (the other c_m - 1 copies of the label column are masked, as
 * tfrs remove_accidental_hits). The gradient w.r.t. z is
 *   G_uk = e^{z_uk} c_k A_u - sum_{m = k} N_uk ([hits](c_k-1) e^{z_uk} /
 *          S_uk + 1),   A_u = sum_m N_um / S_um,
 * so dU = G M / T and dM = G^T U / T. For ml-100k a batch of 8192 rows has
 * <= 943 users x 1682 movies: ~40x less work than 8192 x 8192, and the
 * logits are processed in tiles of users so no full matrix is ever held.
 * Softmax uses the row max (numerically stable); sums are in double.
 *
 * Threads: a loss_ws belongs to one thread; the sgemm calls may use
 * OpenBLAS threads.
 */
#ifndef HV_MODEL_LOSS_H
#define HV_MODEL_LOSS_H

#include <stddef.h>
#include <stdint.h>

struct loss_opts {
  double temperature; /* > 0 */
  double l2;          /* >= 0, on tower outputs per batch row */
  int remove_hits;    /* mask accidental hits */
};

/* Workspace for batches of up to cap_b rows over tables with n_user_rows /
 * n_movie_rows rows. Fields are filled by loss_ws_group and read/written
 * by the caller between group and loss_distinct. */
struct loss_ws {
  size_t cap_b, n_user_rows, n_movie_rows, tile;
  int dim;
  int32_t *uloc, *mloc;   /* (n_*_rows) local index or -1 */
  size_t nu, nm, np;      /* distinct users, movies, (user, movie) pairs */
  int32_t *urows, *mrows; /* (cap_b) table rows of the distinct ids */
  float *un, *mc;         /* (cap_b) rows per user, per movie (c_k) */
  float *mbias;           /* (cap_b) log c_k - log q_k */
  float *mlogq;           /* (cap_b) log q_k (0 without logQ) */
  uint64_t *keys;         /* (2 cap_b) sort keys + radix scratch */
  int32_t *pu, *pm;       /* (cap_b) pairs, sorted by user then movie */
  float *pn;              /* (cap_b) N_um */
  float *U, *M;           /* (cap_b, dim) tower outputs (caller fills) */
  float *dU, *dM;         /* (cap_b, dim) gradients (loss fills) */
  float *Z;               /* (tile, cap_b) logits tile */
  double *lab;            /* (cap_b) label logits */
};

/* New workspace or NULL when out of memory; free with loss_ws_free. */
struct loss_ws *loss_ws_new(size_t cap_b, size_t n_user_rows,
                            size_t n_movie_rows, int dim);
void loss_ws_free(struct loss_ws *w);

/* Group the batch (urow[i], mrow[i]), i < B <= cap_b: distinct users and
 * movies in order of first appearance, their counts, the sorted distinct
 * pairs, and each movie's logit bias from logq_by_row (n_movie_rows log
 * frequencies, or NULL for none). */
void loss_ws_group(struct loss_ws *w, const int32_t *urow,
                   const int32_t *mrow, size_t B, const float *logq_by_row);

/* Loss of the grouped batch from w->U (nu, dim) and w->M (nm, dim); with
 * grad set also fills w->dU and w->dM. Returns the summed loss. */
double loss_distinct(struct loss_ws *w, const struct loss_opts *o, int grad);

/* The part of loss_distinct that the distinct users [u_begin, u_end) own
 * (data-parallel training, train/dist.h: each rank takes a range of the
 * batch's users): their rows' loss and L2, the movies' L2 when movie_l2,
 * and with grad their dU rows (other dU rows are not written) and their
 * share of dM (every row written). Summed over ranges that partition
 * [0, nu) with movie_l2 on exactly once it is loss_distinct's loss and
 * gradient up to float summation order; loss_distinct(w, o, grad) is
 * loss_distinct_users(w, o, grad, 0, w->nu, 1), bit for bit. */
double loss_distinct_users(struct loss_ws *w, const struct loss_opts *o,
                           int grad, size_t u_begin, size_t u_end,
                           int movie_l2);

/* The oracle: TFRS's B x B computation in double, one row per example.
 * ue, me (B, d); mkey (B) movie ids for hit removal; logq (B) per column or
 * NULL. due, dme (B, d) get per-example gradients when non-NULL. */
double loss_naive(size_t B, int d, const float *ue, const float *me,
                  const int64_t *mkey, const float *logq,
                  const struct loss_opts *o, double *due, double *dme);

#endif

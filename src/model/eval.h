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
 *
 * The ranking rule and the segments are public (eval_rank, eval_hits_*,
 * eval_segment_*) so that monitoring (monitor/monitor.c), which scores the
 * users of a window through model_score_users, counts hits exactly as
 * evaluation does: one implementation of each.
 */
#ifndef HV_MODEL_EVAL_H
#define HV_MODEL_EVAL_H

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
  const int *gender_by_row;      /* (n_users + 1) DATASET_GENDER_*, or NULL */
  const int *age_by_row;         /* (n_users + 1) age bucket, -1, or NULL */
  unsigned absent;               /* DATASET_UF_* the dataset lacks: no
                                    segments of them (eval_segment_of);
                                    copied to eval_metrics.absent */
  /* Progress, or NULL: called from eval_run's thread after about every
   * tenth of the users with pairs (done < total) and once at the end
   * (done == total); ud is passed through. */
  void (*on_users)(void *ud, size_t done, size_t total);
  void *ud;
};

/* ---- segments: the user groups the metrics are broken down by ---------- */

/* Slots: 0..2 gender unknown/M/F (the gender codes 0/1/2), 3..9 the
 * MovieLens age buckets in eval_age_buckets order, 10 age unknown. Every
 * user is in exactly two slots, its gender's and its age's. Metrics list
 * the segments in slot order. */
enum {
  EVAL_SEG_GENDER = 0,
  EVAL_SEG_AGE = 3,
  EVAL_SEG_AGE_UNKNOWN = 10,
  EVAL_NSEG = 11
};
#define EVAL_N_AGE 7
extern const int eval_age_buckets[EVAL_N_AGE]; /* 1, 18, 25, .., 56 */

/* The two slots of a user: seg[0] for gender (0 unknown, 1 M, 2 F; any
 * other value is unknown), seg[1] for age_bucket (a value not in
 * eval_age_buckets, -1 included, is unknown). A feature the dataset lacks
 * (absent: DATASET_UF_GENDER / DATASET_UF_AGE bits, dataset.h) puts the
 * user in no slot of it: -1, which every consumer skips, so no segment of
 * it is reported and fairness gaps run over the segments that exist. */
void eval_segment_of(int gender, int age_bucket, unsigned absent,
                     int seg[2]);

/* The name of slot ("gender=F", "age=25", "age=unknown") into buf (cap
 * bytes, NUL-terminated, at least 16 fit every name); "" for a slot outside
 * 0..EVAL_NSEG-1. */
void eval_segment_name(int slot, char *buf, size_t cap);

/* ---- ranking: one implementation for evaluation and monitoring --------- */

/* The rank of column col of one user's score row scores[0..n): how many
 * columns score STRICTLY higher (tf.math.in_top_k's rule: a tie counts in
 * the true movie's favour), so the pair is a hit at K when rank < K.
 * SIZE_MAX (a miss at every K) when col >= n, i.e. a movie the model does
 * not know, or when scores is NULL. Reads only; no allocation. */
size_t eval_rank(const float *scores, size_t n, size_t col);

/* The largest rank any K asks about: a pair of rank >= EVAL_RANK_CAP is a
 * miss at every K (eval_ks[EVAL_NK - 1] == EVAL_RANK_CAP). */
#define EVAL_RANK_CAP 100

/* From this many pairs of one user, eval_rank_prepare + eval_rank_capped
 * cost less than a scan of the row a pair (one top-100 pass, heap inserts
 * and all, is worth several vectorised scans). */
#define EVAL_RANK_MANY 8

/* One user with several pairs: eval_rank scans the whole row per pair
 * (pairs x movies), this finds the row's EVAL_RANK_CAP best columns once
 * (score_topk, any order) into top and returns how many it found (fewer when
 * n is smaller or the row holds NaNs); eval_rank_capped then ranks each pair
 * from that list alone. */
size_t eval_rank_prepare(const float *scores, size_t n,
                         int64_t top[EVAL_RANK_CAP]);

/* eval_rank(scores, n, col) when that is below EVAL_RANK_CAP, else a value
 * >= EVAL_RANK_CAP (a miss at every K, as the exact rank): equal hits at
 * every K, O(EVAL_RANK_CAP) instead of O(n). top and ntop are
 * eval_rank_prepare's for this row; when ntop < EVAL_RANK_CAP it falls
 * back to eval_rank. Reads only; no allocation. */
size_t eval_rank_capped(const float *scores, size_t n, const int64_t *top,
                        size_t ntop, size_t col);

/* Top-K hit counts of a slice of pairs, overall and per segment slot. Zero
 * it (memset or = {0}) before the first add. */
struct eval_hits {
  size_t n_pairs;                       /* pairs added */
  double hits[EVAL_NK];                 /* pairs with rank < eval_ks[k] */
  size_t seg_pairs[EVAL_NSEG];          /* pairs per slot */
  size_t seg_users[EVAL_NSEG];          /* users per slot (eval_hits_user) */
  double seg_hits[EVAL_NSEG][EVAL_NK];  /* hits per slot */
};

/* Add one pair of rank (eval_rank) whose user is in slots seg[2]
 * (eval_segment_of); slots out of range are ignored. NULL h does nothing. */
void eval_hits_add(struct eval_hits *h, size_t rank, const int seg[2]);

/* Count one user in its slots seg[2]. NULL h does nothing. */
void eval_hits_user(struct eval_hits *h, const int seg[2]);

/* ---- fairness: the gap between groups, exposure by popularity ----------- */

/* Popularity deciles and the smallest group a gap is taken over. */
#define EVAL_NDEC 10
#define EVAL_GAP_MIN_PAIRS 100

/* The gap between the best and the worst group: max - min of v[i] over the
 * groups i < k with n[i] >= min_n and v[i] finite (n NULL: every group
 * counts). 0 when fewer than two groups qualify (the rule of
 * rank_metrics.seg_rmse_gap). Reads only. */
double eval_gap(const double *v, const size_t *n, size_t k, size_t min_n);

/* The popularity decile of each of n items from its count (train ratings):
 * items ranked by count ascending, ties by index, decile = floor(10 rank /
 * n), so decile 0 holds the least rated tenth and decile 9 the most rated.
 * Fills dec[0..n). HV_EINVAL for NULL arrays with n > 0 or a count that is
 * NaN; HV_ENOMEM. */
int eval_pop_deciles(const double *count, size_t n, unsigned char *dec,
                     struct hv_err *err) HV_WARN_UNUSED;

/* Exposure of the deciles in a set of lists: slots[d] = list entries whose
 * item is in decile d. share[d] = slots[d] / sum of slots (NaN for every d
 * when the sum is 0); returns the gap max - min of the shares over the ten
 * deciles (NaN without slots). An even exposure gives shares of 0.1 and a
 * gap of 0; lists of the top decile only give a gap of 1. */
double eval_exposure_shares(const double slots[EVAL_NDEC],
                            double share[EVAL_NDEC]);

/* ---- the whole evaluation -------------------------------------------------- */

/* Fill *out; HV_ENOMEM or HV_EINVAL (rows out of range) on failure. */
int eval_run(const struct eval_model *em, const struct eval_input *in,
             struct eval_metrics *out, struct hv_err *err) HV_WARN_UNUSED;

/* Build the CSR (*off (n_user_rows + 1), *seen) of the distinct movie rows
 * of each user row from n pairs (rows 0 skipped). Caller frees both. */
int eval_build_seen(size_t n_user_rows, const int32_t *urow,
                    const int32_t *mrow, size_t n, size_t **off,
                    int32_t **seen, struct hv_err *err) HV_WARN_UNUSED;

#endif

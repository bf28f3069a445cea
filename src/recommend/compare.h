/*
 * compare.h - the offline comparison of the two recommend pipelines,
 * retrieval only against retrieve-then-rank, on the same held-out ratings:
 * does the ranking stage help? (`harvest evaluate --ranker`.)
 *
 * The held-out ratings are the test split of the retrieval model's
 * training range, rebuilt as model_evaluate_split rebuilds it (numpy
 * RandomState(seed) permutation, first round(split n) train); the ranker
 * must have been trained on the same range, split and seed. Both lists come
 * from recommend_user itself, the code the server and the CLI answer with,
 * so the numbers are those of what is served.
 *
 * For every user with held-out ratings, each pipeline's top n without the
 * user's train-split movies:
 *   nDCG@n, graded: gain of a listed movie = the user's held-out rating of
 *     it (0 when not held out), discount log2(position + 1) (position
 *     1-based), divided by the ideal DCG of the user's n best held-out
 *     ratings; averaged over those users (a user the retrieval model does
 *     not know scores 0);
 *   hits: listed movies the user rated in the held-out split, and the mean
 *     of those ratings (NaN without hits).
 *   exposure: the share of the list entries (all users' top n) whose
 *     movie is in each popularity decile (eval_pop_deciles over the
 *     retrieval model's movies, by their ratings in the train split), and
 *     the gap between the most and the least exposed decile
 *     (eval_exposure_shares): the fairness report's popularity side.
 * Plus the ranker's RMSE and MAE on the same split
 * (model_rank_evaluate_split). Without a ranker only the retrieval
 * pipeline is run (ranked and blended stay zero, their means NaN).
 *
 * Threads: pure function of its inputs (reads the dataset and the models,
 * allocates its own scratch).
 */
#ifndef HV_RECOMMEND_COMPARE_H
#define HV_RECOMMEND_COMPARE_H

#include <stddef.h>

#include "model/eval.h"
#include "model/model.h"
#include "util/err.h"

#define COMPARE_DEFAULT_N 10

/* One pipeline's numbers. */
struct compare_pipeline {
  double ndcg;            /* graded nDCG@n, mean over users */
  size_t hits;            /* held-out movies in the users' top n lists */
  double hit_rating_mean; /* their mean held-out rating (NaN: no hits) */
  double exposure[EVAL_NDEC]; /* share of list entries per popularity
                                 decile, least rated first (NaN: none) */
  double exposure_gap;        /* max - min of exposure (NaN: no lists) */
};

struct compare_result {
  int n, candidates;          /* list length, K of the ranked pipeline */
  size_t n_users;             /* users with held-out ratings */
  size_t n_unknown_users;     /* of those, unknown to the retrieval model */
  size_t n_test;              /* held-out ratings */
  double blend;               /* the blend's weight used */
  struct compare_pipeline retrieval, ranked, blended;
  struct rank_metrics ranker; /* the ranker on the held-out split */
};

/* Compare on ds (the retrieval model's training range in rating_id
 * order, as dataset_load_train gives it for model_config(retriever)):
 * retriever alone against retriever's top candidates (0 = the default,
 * RECOMMEND_DEFAULT_CANDIDATES) ordered by ranker's predicted rating, and
 * by the blend of weight blend (0 = RECOMMEND_DEFAULT_BLEND), top n
 * (1..1000) each. ranker NULL: the retrieval pipeline alone (its nDCG,
 * hits and exposure; out->ranker zeroed).
 * Returns 0 and fills *out; HV_EINVAL for NULL arguments, a model of the
 * wrong task, n or candidates out of range, a split that cannot be rebuilt
 * or a ranker trained on another range, split or seed (the message says
 * which), a blend out of range; HV_ENOTFOUND when the retrieval model has no test split;
 * HV_ENOMEM. */
int compare_pipelines(const struct hv_dataset *ds,
                      const struct hv_model *retriever,
                      const struct hv_model *ranker, int candidates,
                      double blend, int n, struct compare_result *out,
                      struct hv_err *err) HV_WARN_UNUSED;

#endif

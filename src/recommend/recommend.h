/*
 * recommend.h - the recommend service: one user's top n movies from a
 * loaded model, optionally without the movies the user has rated in the
 * database. `harvest recommend`, GET /movies/recommend/... and the web
 * UI's user page all call recommend_user.
 *
 * Design: the caller owns the model (a file it loaded, or the server's
 * snapshot with its per-user memo) and the buffers, so the server's hot
 * path allocates nothing here (its buffers are per-thread scratch); the
 * one allocation is the user's rated movies, read only when exclusions
 * are asked for. Titles are not part of the answer: the CLI reads them
 * from the database, the server from its snapshot's title cache, which
 * belongs to the model it serves.
 *
 * Retrieve, then rank: with q->ranker (a ranking model, model/rank.h)
 * the retrieval model proposes q->candidates movies (default
 * RECOMMEND_DEFAULT_CANDIDATES, at least n; through the memo when it holds
 * that many) and the ranker predicts each one's rating; the best n by the
 * order key come back (ties: lower movie id first), each with both scores.
 * The key is q->order's: RECOMMEND_ORDER_BLEND (the default) retrieval
 * score + blend x predicted rating, or RECOMMEND_ORDER_RANK the predicted
 * rating alone. Why the blend is the default: on ml-100k (80/20, seed 42,
 * `harvest evaluate --ranker`, K 100) graded nDCG@10 was 0.371 for
 * retrieval only, 0.187 for the predicted rating alone (it prefers
 * well-rated, rarely watched movies the user never rated) and 0.386 for
 * the blend with weight 0.3 (0.2..0.3 best; seed 7: 0.377 / 0.390).
 * Without a ranker the answer is retrieval's, as before.
 *
 * Threads: thread-safe for distinct buffers; db is used exclusively for
 * the call (one connection per thread); the model and memo are shared
 * read-only (the memo fills itself lock-free, see model_recommend_cached).
 */
#ifndef HV_RECOMMEND_RECOMMEND_H
#define HV_RECOMMEND_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;
struct hv_model;
struct hv_topcache;
struct recommend_memo;

/* The largest n a call may ask for (the CLI's -n bound). */
#define RECOMMEND_MAX_N 100000
/* Candidates retrieval proposes to the ranker: default and bound. */
#define RECOMMEND_DEFAULT_CANDIDATES 100
#define RECOMMEND_MAX_CANDIDATES 1000
/* How retrieve-then-rank orders the candidates (recommend_query.order). */
enum { RECOMMEND_ORDER_BLEND = 0, RECOMMEND_ORDER_RANK = 1 };
/* The pipelines a caller may pick (harvest serve --stage, ?stage=,
 * harvest recommend --stage): the two orders above, or retrieval only
 * (no ranker). recommend_stage_names[stage] is its name ("blend",
 * "ranking", "retrieval"; NULL-terminated). */
enum { RECOMMEND_STAGE_RETRIEVAL = 2 };
extern const char *const recommend_stage_names[];
/* The blend's weight of the predicted rating: default and bound. */
#define RECOMMEND_DEFAULT_BLEND 0.3
#define RECOMMEND_MAX_BLEND 100.0

/* What to recommend; borrowed for the call. */
struct recommend_query {
  const struct hv_model *model; /* the model that scores */
  struct hv_topcache *memo;     /* its per-user memo, or NULL */
  int64_t user;                 /* the user id (>= 0) */
  int n;                        /* how many movies, 1..RECOMMEND_MAX_N */
  int exclude_rated;            /* 1: skip the movies the user has rated in
                                   the database (needs db) */
  const struct hv_model *ranker; /* a ranking model to order retrieval's
                                    candidates, or NULL: retrieval only */
  int candidates;               /* with ranker: K, 0 = the default, else
                                   1..RECOMMEND_MAX_CANDIDATES (n wins
                                   when larger) */
  const int64_t *exclude_sorted; /* without exclude_rated: movie ids to
                                    skip, ascending (the caller's seen
                                    set, e.g. an offline split's train
                                    movies), or NULL */
  size_t n_exclude;             /* entries of exclude_sorted */
  int order;                    /* with ranker: RECOMMEND_ORDER_BLEND (0,
                                   the default) or RECOMMEND_ORDER_RANK */
  double blend;                 /* the blend's weight: 0 = the default,
                                   else in (0, RECOMMEND_MAX_BLEND] */
  struct recommend_memo *ranked_memo; /* with ranker: memoised answers
                                   (recommend_memo_new), used when made
                                   for this model, ranker, order, blend and
                                   candidates, n is within its depth and
                                   nothing is excluded; or NULL */
};

/* One candidate of retrieve-then-rank. */
struct recommend_cand {
  int64_t movie_id;
  float retrieval, pred, key; /* retrieval score, predicted rating, the
                                 order's key */
};

/* The answer, in caller-owned buffers (recommend_list_alloc, or the
 * server's per-thread scratch). */
struct recommend_list {
  int64_t *movie_ids; /* (cap) out: best first, ties lower id first */
  float *scores;      /* (cap) out: the score of each */
  float *scratch;     /* (model_scratch_size(model)) work space */
  int cap;            /* room in movie_ids and scores: >= n */
  int k;              /* out: how many were written (< n when the
                         catalogue runs out) */
  /* Retrieve-then-rank only (q->ranker set): */
  float *retrieval_scores;      /* (cap) out: each movie's retrieval score
                                   (scores then hold the order's key: the
                                   blend or the predicted rating); may be
                                   NULL */
  float *predicted;             /* (cap) out: each movie's predicted
                                   rating; may be NULL */
  struct recommend_cand *cands; /* (cand_cap) work space */
  int cand_cap;                 /* >= max(n, K) */
  int ranked;                   /* out: 1 when the ranker ordered them */
};

/* Allocate l's buffers for up to n movies of model m, in one block
 * (recommend_list_free), with room for max(n, RECOMMEND_MAX_CANDIDATES)
 * candidates, the retrieval scores and the predicted ratings.
 * HV_EINVAL for a NULL argument or n out of 1..RECOMMEND_MAX_N, HV_ENOMEM. */
int recommend_list_alloc(struct recommend_list *l, const struct hv_model *m,
                         int n, struct hv_err *err) HV_WARN_UNUSED;

/* K for q: q->candidates (RECOMMEND_DEFAULT_CANDIDATES when 0), at
 * least q->n. */
int recommend_candidates(const struct recommend_query *q);

/* The check of the two-stage knobs every caller takes (query, serve
 * config, compare): code (HV_EINVAL, HV_EUSAGE) naming "<dash>blend" or
 * "<dash>candidates" (dash: "" for a field, "--" for a flag) when blend
 * is outside 0..RECOMMEND_MAX_BLEND or candidates outside
 * 0..RECOMMEND_MAX_CANDIDATES (0s are the defaults), else 0. */
int recommend_check_knobs(double blend, int candidates, const char *dash,
                          int code, struct hv_err *err);

/* HV_EINVAL unless model retrieves and ranker (NULL: none) ranks. */
int recommend_check_models(const struct hv_model *model,
                           const struct hv_model *ranker,
                           struct hv_err *err);

/* A memo of retrieve-then-rank answers for one retrieval model, ranker,
 * order, blend and candidates K (0s for the defaults), for serving: the
 * same user asks again and again under models that never change, and the
 * top 10 of K ranked candidates costs K predictions and a sort, which a
 * memo hit does not (bench/bench_rank_serve.sh). Each user's best depth
 * (1..RECOMMEND_MEMO_MAX_DEPTH) candidates, with both scores, are stored
 * on the first request without exclusions and copied after (the answer is
 * a prefix: the order is total); answers are identical with and without
 * it. Thread-safe (model_usermemo_*). Memory: (users + 1) x (8 + depth x
 * 24) bytes, pages touched only for users asked about. NULL on bad
 * arguments or out of memory. Must not outlive either model. */
#define RECOMMEND_MEMO_MAX_DEPTH 100
struct recommend_memo *recommend_memo_new(const struct hv_model *model,
                                          const struct hv_model *ranker,
                                          int order, double blend,
                                          int candidates, int depth);
void recommend_memo_free(struct recommend_memo *c);
/* Users with a memoised answer. */
size_t recommend_memo_users(const struct recommend_memo *c);

/* Free what recommend_list_alloc allocated; NULL or a zeroed list does
 * nothing. */
void recommend_list_free(struct recommend_list *l);

/* The top q->n movies for q->user into out (out->k set, 0 on failure).
 * db is read only for q->exclude_rated (may be NULL otherwise). Returns 0,
 * or HV_EINVAL for a NULL argument, a negative user, n out of
 * 1..RECOMMEND_MAX_N or above out->cap, exclusions without a database
 * (the message names the field), a ranker with a bad order, blend or
 * candidates; HV_ENOTFOUND when the model does not know
 * the user ("user N is not known to the model"); HV_EDB/HV_ENOMEM from
 * reading the rated movies. */
int recommend_user(struct hv_db *db, const struct recommend_query *q,
                   struct recommend_list *out,
                   struct hv_err *err) HV_WARN_UNUSED;

/* The ranking stage of recommend_user alone, for a caller that retrieved
 * the candidates itself (the monitoring pass, from the scores it already
 * has): ids[0..got) with their retrieval scores, best first as
 * model_recommend gives them, ordered by q->ranker, q->order and q->blend
 * exactly as recommend_user orders its candidates; the best q->n into out
 * (out->k, out->ranked set). q->user and q->model must be set; no memo
 * and no database are used. Returns 0, or HV_EINVAL (as recommend_user,
 * plus: no ranker, exclusions asked, got outside 0..K or above
 * RECOMMEND_MAX_CANDIDATES) and the ranker's errors. */
int recommend_rank(const struct recommend_query *q, const int64_t *ids,
                   const float *retrieval, int got,
                   struct recommend_list *out,
                   struct hv_err *err) HV_WARN_UNUSED;

/* ---- explanations ---------------------------------------------------- */

#define RECOMMEND_EXPLAIN_NEIGHBOURS 3 /* rated movies named per movie */
#define RANK_NGROUPS_EXPLAIN 4         /* = RANK_NGROUPS (model.h) */

/* Why one listed movie is there. */
struct recommend_why {
  int64_t movie_id;
  float retrieval;        /* the retrieval model's score */
  float predicted;        /* the ranker's predicted rating (ranked only) */
  float score;            /* the order's key (= retrieval when unranked) */
  int n_neighbours;       /* how many of the user's rated movies follow */
  int64_t neighbour_id[RECOMMEND_EXPLAIN_NEIGHBOURS]; /* nearest first */
  float neighbour_sim[RECOMMEND_EXPLAIN_NEIGHBOURS];  /* cosine, movie tower */
  float neighbour_rating[RECOMMEND_EXPLAIN_NEIGHBOURS]; /* the user's */
  int ranked;             /* 1: predicted and contrib are set */
  float contrib[RANK_NGROUPS_EXPLAIN]; /* model_rank_explain's ablation */
};

/* Explain l (recommend_user's answer to q) into why[0..l->k): for each
 * movie the user's rated movies (in db) nearest to it in the retrieval
 * model's movie tower space (model_movie_neighbours) with the user's
 * ratings, both scores, and, when the ranker ordered the list, the
 * ranker's feature-group contributions by ablation (model_rank_explain).
 * The list itself is not changed. Returns 0; HV_EINVAL for NULL arguments
 * or without a database; HV_EDB/HV_ENOMEM from reading the ratings. */
int recommend_explain(struct hv_db *db, const struct recommend_query *q,
                      const struct recommend_list *l,
                      struct recommend_why *why,
                      struct hv_err *err) HV_WARN_UNUSED;

#endif

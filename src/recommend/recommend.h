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
 * that many), the ranker predicts each one's rating and the best n by
 * that prediction come back (ties: lower movie id first), each with both
 * scores. Without a ranker the answer is retrieval's, as before.
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

/* The largest n a call may ask for (the CLI's -n bound). */
#define RECOMMEND_MAX_N 100000
/* Candidates retrieval proposes to the ranker: default and bound. */
#define RECOMMEND_DEFAULT_CANDIDATES 100
#define RECOMMEND_MAX_CANDIDATES 1000

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
};

/* One candidate of retrieve-then-rank. */
struct recommend_cand {
  int64_t movie_id;
  float retrieval, rank; /* retrieval score, predicted rating */
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
                                   (scores then hold the predicted
                                   ratings); may be NULL */
  struct recommend_cand *cands; /* (cand_cap) work space */
  int cand_cap;                 /* >= max(n, K) */
  int ranked;                   /* out: 1 when the ranker ordered them */
};

/* Allocate l's buffers for up to n movies of model m, in one block
 * (recommend_list_free), with room for max(n, RECOMMEND_MAX_CANDIDATES)
 * candidates and the retrieval scores.
 * HV_EINVAL for a NULL argument or n out of 1..RECOMMEND_MAX_N, HV_ENOMEM. */
int recommend_list_alloc(struct recommend_list *l, const struct hv_model *m,
                         int n, struct hv_err *err) HV_WARN_UNUSED;

/* K for q: q->candidates (RECOMMEND_DEFAULT_CANDIDATES when 0), at
 * least q->n. */
int recommend_candidates(const struct recommend_query *q);

/* Free what recommend_list_alloc allocated; NULL or a zeroed list does
 * nothing. */
void recommend_list_free(struct recommend_list *l);

/* The top q->n movies for q->user into out (out->k set, 0 on failure).
 * db is read only for q->exclude_rated (may be NULL otherwise). Returns 0,
 * or HV_EINVAL for a NULL argument, a negative user, n out of
 * 1..RECOMMEND_MAX_N or above out->cap, exclusions without a database
 * (the message names the field); HV_ENOTFOUND when the model does not know
 * the user ("user N is not known to the model"); HV_EDB/HV_ENOMEM from
 * reading the rated movies. */
int recommend_user(struct hv_db *db, const struct recommend_query *q,
                   struct recommend_list *out,
                   struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * recommend.c - the recommend service (see recommend.h): check the query,
 * read the user's rated movies when asked to skip them, and score through
 * the model's memo (model_recommend_cached answers exactly as
 * model_recommend, from the memo when it can).
 */
#include "recommend/recommend.h"

#include <stdlib.h>

#include "model/model.h"
#include "store/ratings.h"

int recommend_list_alloc(struct recommend_list *l, const struct hv_model *m,
                         int n, struct hv_err *err)
{
  if (!l || !m)
    return hv_err_set(err, HV_EINVAL, "recommend: need a list and a model");
  *l = (struct recommend_list){0};
  if (n < 1 || n > RECOMMEND_MAX_N)
    return hv_err_set(err, HV_EINVAL, "n: %d is out of range 1..%d", n,
                      RECOMMEND_MAX_N);
  /* one block: candidates, ids (n), then scores (n), retrieval scores
   * (n) and the scratch */
  int nc = n > RECOMMEND_MAX_CANDIDATES ? n : RECOMMEND_MAX_CANDIDATES;
  size_t floats = 2 * (size_t)n + model_scratch_size(m);
  l->cands = malloc((size_t)nc * sizeof(struct recommend_cand) +
                    (size_t)n * sizeof(int64_t) + floats * sizeof(float));
  if (!l->cands)
    return hv_err_set(err, HV_ENOMEM, "recommend: out of memory");
  l->cand_cap = nc;
  l->movie_ids = (int64_t *)(l->cands + nc);
  l->scores = (float *)(l->movie_ids + n);
  l->retrieval_scores = l->scores + n;
  l->scratch = l->retrieval_scores + n;
  l->cap = n;
  return 0;
}

void recommend_list_free(struct recommend_list *l)
{
  if (l) {
    free(l->cands ? (void *)l->cands : (void *)l->movie_ids);
    *l = (struct recommend_list){0};
  }
}

/* HV_EINVAL naming what is wrong with q for out, or 0. */
static int check(const struct hv_db *db, const struct recommend_query *q,
                 const struct recommend_list *out, struct hv_err *err)
{
  if (!q || !q->model || !out || !out->movie_ids || !out->scores ||
      !out->scratch)
    return hv_err_set(err, HV_EINVAL,
                      "recommend: need a query, a model and a list's buffers");
  if (q->user < 0)
    return hv_err_set(err, HV_EINVAL, "user: %lld is not a user id",
                      (long long)q->user);
  if (q->n < 1 || q->n > RECOMMEND_MAX_N)
    return hv_err_set(err, HV_EINVAL, "n: %d is out of range 1..%d", q->n,
                      RECOMMEND_MAX_N);
  if (q->n > out->cap)
    return hv_err_set(err, HV_EINVAL, "n: %d is more than the list holds (%d)",
                      q->n, out->cap);
  if (q->exclude_rated && !db)
    return hv_err_set(err, HV_EINVAL,
                      "exclude_rated: needs the database of the ratings");
  if (!q->ranker)
    return 0;
  if (model_task(q->ranker) != MODEL_TASK_RANKING)
    return hv_err_set(err, HV_EINVAL, "ranker: the model is not a ranking "
                      "model (train one with --task ranking)");
  if (model_task(q->model) != MODEL_TASK_RETRIEVAL)
    return hv_err_set(err, HV_EINVAL, "model: a ranking model cannot "
                      "retrieve; give the retrieval model");
  if (q->candidates < 0 || q->candidates > RECOMMEND_MAX_CANDIDATES)
    return hv_err_set(err, HV_EINVAL, "candidates: %d is out of range "
                      "1..%d", q->candidates, RECOMMEND_MAX_CANDIDATES);
  int k = recommend_candidates(q);
  if (!out->cands || out->cand_cap < k)
    return hv_err_set(err, HV_EINVAL, "candidates: %d is more than the list "
                      "holds (%d)", k, out->cands ? out->cand_cap : 0);
  return 0;
}

int recommend_candidates(const struct recommend_query *q)
{
  int k = q->candidates ? q->candidates : RECOMMEND_DEFAULT_CANDIDATES;
  return k > q->n ? k : q->n;
}

/* Best predicted rating first; ties: lower movie id first. */
static int cmp_cand(const void *a, const void *b)
{
  const struct recommend_cand *x = a, *y = b;
  if (x->rank != y->rank)
    return x->rank > y->rank ? -1 : 1;
  return (x->movie_id > y->movie_id) - (x->movie_id < y->movie_id);
}

/* Retrieval's top K into out->cands, ordered by the ranker; the best n
 * into out. Returns how many, or a negative code. No allocation unless K
 * is above RECOMMEND_MAX_CANDIDATES (n > that with a ranker). */
static int retrieve_then_rank(const struct recommend_query *q,
                              const int64_t *seen, size_t n_seen,
                              struct recommend_list *out, struct hv_err *err)
{
  const int k = recommend_candidates(q);
  int64_t stack_ids[RECOMMEND_MAX_CANDIDATES];
  float stack_sc[RECOMMEND_MAX_CANDIDATES];
  int64_t *cid = stack_ids;
  float *csc = stack_sc;
  if (k > RECOMMEND_MAX_CANDIDATES) {
    cid = malloc((size_t)k * (sizeof(int64_t) + sizeof(float)));
    if (!cid)
      return hv_err_set(err, HV_ENOMEM, "recommend: out of memory");
    csc = (float *)(cid + k);
  }
  int got = model_recommend_cached(q->model, q->memo, q->user, k, seen,
                                   n_seen, cid, csc, out->scratch, err);
  struct recommend_cand *c = out->cands;
  for (int i = 0; i < got; i++)
    c[i] = (struct recommend_cand){cid[i], csc[i], 0.0f};
  if (got > 0) {
    /* the predictions overwrite the retrieval scores (copied above) */
    int rc = model_rank_predict(q->ranker, q->user, cid, (size_t)got,
                                csc, err);
    if (rc)
      got = rc;
    for (int i = 0; got > 0 && i < got; i++)
      c[i].rank = csc[i];
  }
  if (cid != stack_ids)
    free(cid);
  if (got <= 0)
    return got;
  qsort(c, (size_t)got, sizeof(*c), cmp_cand);
  int n = got < q->n ? got : q->n;
  for (int i = 0; i < n; i++) {
    out->movie_ids[i] = c[i].movie_id;
    out->scores[i] = c[i].rank;
    if (out->retrieval_scores)
      out->retrieval_scores[i] = c[i].retrieval;
  }
  return n;
}

int recommend_user(struct hv_db *db, const struct recommend_query *q,
                   struct recommend_list *out, struct hv_err *err)
{
  if (out)
    out->k = 0;
  int rc = check(db, q, out, err);
  if (rc)
    return rc;
  int64_t *seen = NULL;
  size_t n_seen = 0;
  if (q->exclude_rated &&
      (rc = ratings_user_movies(db, q->user, &seen, &n_seen, err)))
    return rc;
  int got;
  if (q->ranker) {
    got = retrieve_then_rank(q, seen, n_seen, out, err);
  } else {
    got = model_recommend_cached(q->model, q->memo, q->user, q->n, seen,
                                 n_seen, out->movie_ids, out->scores,
                                 out->scratch, err);
    for (int i = 0; out->retrieval_scores && i < got; i++)
      out->retrieval_scores[i] = out->scores[i];
  }
  free(seen);
  out->ranked = q->ranker && got >= 0;
  if (got < 0)
    return got;
  out->k = got;
  return 0;
}

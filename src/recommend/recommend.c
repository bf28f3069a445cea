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
  /* one block: ids (n), then scores (n) and the scratch */
  size_t floats = (size_t)n + model_scratch_size(m);
  l->movie_ids = malloc((size_t)n * sizeof(int64_t) + floats * sizeof(float));
  if (!l->movie_ids)
    return hv_err_set(err, HV_ENOMEM, "recommend: out of memory");
  l->scores = (float *)(l->movie_ids + n);
  l->scratch = l->scores + n;
  l->cap = n;
  return 0;
}

void recommend_list_free(struct recommend_list *l)
{
  if (l) {
    free(l->movie_ids);
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
  return 0;
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
  int got = model_recommend_cached(q->model, q->memo, q->user, q->n, seen,
                                   n_seen, out->movie_ids, out->scores,
                                   out->scratch, err);
  free(seen);
  if (got < 0)
    return got;
  out->k = got;
  return 0;
}

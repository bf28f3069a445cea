/*
 * score.c - top-k selection and the model's scoring entry points
 * (model_recommend, model_score_users, model_scratch_size): see score.h and
 * model.h.
 */
#include "model/score.h"

#include <cblas.h>
#include <math.h>

#include "model/model_internal.h"

/* 1 when entry a ranks below entry b. */
static inline int worse(const float *sc, int64_t a, int64_t b)
{
  return sc[a] < sc[b] || (sc[a] == sc[b] && a > b);
}

static void sift_down(const float *sc, int64_t *h, size_t n, size_t i)
{
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && worse(sc, h[l], h[w]))
      w = l;
    if (r < n && worse(sc, h[r], h[w]))
      w = r;
    if (w == i)
      return;
    int64_t t = h[i];
    h[i] = h[w];
    h[w] = t;
    i = w;
  }
}

static void sift_up(const float *sc, int64_t *h, size_t i)
{
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!worse(sc, h[i], h[p]))
      return;
    int64_t t = h[i];
    h[i] = h[p];
    h[p] = t;
    i = p;
  }
}

size_t score_topk(const float *sc, size_t n, size_t k, int64_t *idx)
{
  size_t h = 0;
  if (k == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (sc[i] == -INFINITY)
      continue;
    if (h < k) {
      idx[h] = (int64_t)i;
      sift_up(sc, idx, h++);
    } else if (worse(sc, idx[0], (int64_t)i)) {
      idx[0] = (int64_t)i;
      sift_down(sc, idx, h, 0);
    }
  }
  /* heap sort: repeatedly move the worst to the end -> best first */
  for (size_t end = h; end > 1; end--) {
    int64_t t = idx[0];
    idx[0] = idx[end - 1];
    idx[end - 1] = t;
    sift_down(sc, idx, end - 1, 0);
  }
  return h;
}

size_t model_scratch_size(const struct hv_model *m)
{
  return m ? m->n_movies + 1 : 0;
}

int model_recommend(const struct hv_model *m, int64_t user_id, int n,
                    const int64_t *exclude_sorted, size_t n_exclude,
                    int64_t *out_movie_ids, float *out_scores, float *scratch,
                    struct hv_err *err)
{
  if (!m || !out_movie_ids || !scratch || n < 1 ||
      (n_exclude && !exclude_sorted))
    return hv_err_set(err, HV_EINVAL,
                      "recommend: need a model, n >= 1 and output buffers");
  size_t row = model_lookup(m->user_ids, m->n_users, user_id);
  if (!row)
    return hv_err_set(err, HV_ENOTFOUND, "user %lld is not known to the model",
                      (long long)user_id);
  const int d = m->L.dim;
  const size_t nm = m->n_movies;
  /* scratch[i] = <movie i+1, user> for the nm known movies */
  cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)nm, d, 1.0f,
              m->movie_vec + d, d, m->user_vec + row * d, 1, 0.0f, scratch,
              1);
  for (size_t e = 0; e < n_exclude; e++) {
    size_t r = model_lookup(m->movie_ids, nm, exclude_sorted[e]);
    if (r)
      scratch[r - 1] = -INFINITY;
  }
  size_t got = score_topk(scratch, nm, (size_t)n, out_movie_ids);
  for (size_t i = 0; i < got; i++) {
    int64_t r = out_movie_ids[i];
    if (out_scores)
      out_scores[i] = scratch[r];
    out_movie_ids[i] = m->movie_ids[r];
  }
  return (int)got;
}

int model_score_users(const struct hv_model *m, const int64_t *user_ids,
                      size_t n_users, float *out, struct hv_err *err)
{
  if (!m || (n_users && (!user_ids || !out)))
    return hv_err_set(err, HV_EINVAL, "score: bad arguments");
  const int d = m->L.dim;
  const size_t nm = m->n_movies;
  /* one sgemv per user against the shared movie matrix; rows of out are
   * independent so the caller may split users across threads */
  for (size_t i = 0; i < n_users; i++) {
    size_t row = model_lookup(m->user_ids, m->n_users, user_ids[i]);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)nm, d, 1.0f,
                m->movie_vec + d, d, m->user_vec + row * d, 1, 0.0f,
                out + i * nm, 1);
  }
  return 0;
}

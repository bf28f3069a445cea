/*
 * recommend.c - the recommend service (see recommend.h): check the query,
 * read the user's rated movies when asked to skip them, and score through
 * the model's memo (model_recommend_cached answers exactly as
 * model_recommend, from the memo when it can).
 */
#include "recommend/recommend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "store/ratings.h"

/* the memo can hold every candidate list a query may ask for */
_Static_assert(RECOMMEND_MAX_CANDIDATES <= MODEL_TOPCACHE_MAX_K,
               "memo shallower than the candidates");

const char *const recommend_stage_names[] = {"blend", "ranking",
                                             "retrieval", NULL};

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
   * (n), predicted ratings (n) and the scratch */
  int nc = n > RECOMMEND_MAX_CANDIDATES ? n : RECOMMEND_MAX_CANDIDATES;
  size_t floats = 3 * (size_t)n + model_scratch_size(m);
  l->cands = malloc((size_t)nc * sizeof(struct recommend_cand) +
                    (size_t)n * sizeof(int64_t) + floats * sizeof(float));
  if (!l->cands)
    return hv_err_set(err, HV_ENOMEM, "recommend: out of memory");
  l->cand_cap = nc;
  l->movie_ids = (int64_t *)(l->cands + nc);
  l->scores = (float *)(l->movie_ids + n);
  l->retrieval_scores = l->scores + n;
  l->predicted = l->retrieval_scores + n;
  l->scratch = l->predicted + n;
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

int recommend_check_knobs(double blend, int candidates, const char *dash,
                          int code, struct hv_err *err)
{
  if (!(blend >= 0.0 && blend <= RECOMMEND_MAX_BLEND))
    return hv_err_set(err, code, "%sblend: %g is out of range (0, %g]", dash,
                      blend, RECOMMEND_MAX_BLEND);
  if (candidates < 0 || candidates > RECOMMEND_MAX_CANDIDATES)
    return hv_err_set(err, code, "%scandidates: %d is out of range 1..%d",
                      dash, candidates, RECOMMEND_MAX_CANDIDATES);
  return 0;
}

int recommend_check_models(const struct hv_model *model,
                           const struct hv_model *ranker, struct hv_err *err)
{
  if (model_task(model) != MODEL_TASK_RETRIEVAL)
    return hv_err_set(err, HV_EINVAL, "model: a ranking model cannot "
                      "retrieve; give the retrieval model");
  if (ranker && model_task(ranker) != MODEL_TASK_RANKING)
    return hv_err_set(err, HV_EINVAL, "ranker: the model is not a ranking "
                      "model (train one with --task ranking)");
  return 0;
}

/* The first step of every call: out emptied (when given), then HV_EINVAL
 * naming what is wrong with q for out, or 0. */
static int check(const struct hv_db *db, const struct recommend_query *q,
                 struct recommend_list *out, struct hv_err *err)
{
  if (out)
    out->k = 0;
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
  if (q->n_exclude && (!q->exclude_sorted || q->exclude_rated))
    return hv_err_set(err, HV_EINVAL, "exclude_sorted: %s",
                      q->exclude_rated ? "give it or exclude_rated, not both"
                                       : "NULL with n_exclude > 0");
  if (!q->ranker)
    return 0;
  int rc = recommend_check_models(q->model, q->ranker, err);
  if (rc)
    return rc;
  if (q->order != RECOMMEND_ORDER_BLEND && q->order != RECOMMEND_ORDER_RANK)
    return hv_err_set(err, HV_EINVAL, "order: %d is not blend or rank",
                      q->order);
  rc = recommend_check_knobs(q->blend, q->candidates, "", HV_EINVAL, err);
  if (rc)
    return rc;
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

struct recommend_memo {
  const struct hv_model *model, *ranker;
  int order, candidates, depth;
  double blend;
  struct hv_usermemo *um;
};

/* A memo record: how many candidates, then depth of them. */
struct memo_head {
  int32_t got, pad;
};

static double blend_of(const struct recommend_query *q)
{
  return q->blend > 0.0 ? q->blend : RECOMMEND_DEFAULT_BLEND;
}

struct recommend_memo *recommend_memo_new(const struct hv_model *model,
                                          const struct hv_model *ranker,
                                          int order, double blend,
                                          int candidates, int depth)
{
  struct recommend_query q = {.model = model, .ranker = ranker,
                              .order = order, .blend = blend,
                              .candidates = candidates, .n = 1};
  if (!model || !ranker || depth < 1 || depth > RECOMMEND_MEMO_MAX_DEPTH ||
      (order != RECOMMEND_ORDER_BLEND && order != RECOMMEND_ORDER_RANK) ||
      !(blend >= 0.0 && blend <= RECOMMEND_MAX_BLEND) || candidates < 0 ||
      candidates > RECOMMEND_MAX_CANDIDATES)
    return NULL;
  struct recommend_memo *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  *c = (struct recommend_memo){model, ranker, order,
                               recommend_candidates(&q), depth,
                               blend_of(&q), NULL};
  c->um = model_usermemo_new(model, sizeof(struct memo_head) +
                                        (size_t)depth *
                                            sizeof(struct recommend_cand));
  if (!c->um) {
    free(c);
    return NULL;
  }
  return c;
}

void recommend_memo_free(struct recommend_memo *c)
{
  if (c) {
    model_usermemo_free(c->um);
    free(c);
  }
}

size_t recommend_memo_users(const struct recommend_memo *c)
{
  return c ? model_usermemo_users(c->um) : 0;
}

/* q's memo when it answers q (no exclusions asked), else NULL. */
static struct recommend_memo *memo_for(const struct recommend_query *q,
                                       size_t n_excluded)
{
  struct recommend_memo *c = q->ranked_memo;
  if (!c || n_excluded || q->n > c->depth || c->model != q->model ||
      c->ranker != q->ranker || c->order != q->order ||
      c->blend != blend_of(q))
    return NULL;
  struct recommend_query k = *q;
  k.n = 1; /* K itself, before n raises it */
  return recommend_candidates(&k) == c->candidates ? c : NULL;
}

/* The best n of sorted candidates c[0..got) into out. */
static int put_top(const struct recommend_cand *c, int got, int n,
                   struct recommend_list *out)
{
  n = got < n ? got : n;
  for (int i = 0; i < n; i++) {
    out->movie_ids[i] = c[i].movie_id;
    out->scores[i] = c[i].key;
    if (out->retrieval_scores)
      out->retrieval_scores[i] = c[i].retrieval;
    if (out->predicted)
      out->predicted[i] = c[i].pred;
  }
  return n;
}

/* Store the best of sorted c[0..got) as q->user's record in memo. */
static void memo_store(struct recommend_memo *memo, int64_t user,
                       const struct recommend_cand *c, int got)
{
  union {
    struct memo_head h;
    unsigned char b[sizeof(struct memo_head) +
                    RECOMMEND_MEMO_MAX_DEPTH * sizeof(struct recommend_cand)];
  } rec;
  int k = got < memo->depth ? got : memo->depth;
  memset(&rec, 0, sizeof(struct memo_head) +
                      (size_t)memo->depth * sizeof(struct recommend_cand));
  rec.h.got = k;
  memcpy(rec.b + sizeof(struct memo_head), c,
         (size_t)k * sizeof(struct recommend_cand));
  (void)model_usermemo_put(memo->um, user, rec.b);
}

/* Best key first; ties: lower movie id first. */
static int cmp_cand(const void *a, const void *b)
{
  const struct recommend_cand *x = a, *y = b;
  if (x->key != y->key)
    return x->key > y->key ? -1 : 1;
  return (x->movie_id > y->movie_id) - (x->movie_id < y->movie_id);
}

/* Put the best keep of c[0..got) first, in cmp_cand's order (the rest is
 * left in no order). A short list out of many (the top 10 of 100 when no
 * memo wants them all) is kept by insertion, one pass with an inline
 * compare; otherwise qsort. In place: c[i] is saved before the kept
 * prefix (at most i long) grows into it. */
static void best_first(struct recommend_cand *c, int got, int keep)
{
  if (keep * 4 > got) {
    qsort(c, (size_t)got, sizeof(*c), cmp_cand);
    return;
  }
  int m = 0;
  for (int i = 0; i < got; i++) {
    struct recommend_cand x = c[i];
    if (m == keep && cmp_cand(&x, &c[m - 1]) >= 0)
      continue;
    int j = m < keep ? m : keep - 1;
    for (; j > 0 && cmp_cand(&x, &c[j - 1]) < 0; j--)
      c[j] = c[j - 1];
    c[j] = x;
    m += m < keep;
  }
}

/* The ranking stage: out->cands[0..got) hold retrieval's candidates (ids
 * and retrieval scores) and cid[0..got) their ids; predict each one's
 * rating into pred (got floats), set the order's key, sort, store in memo
 * (when given) and put the best q->n into out. Returns how many, or a
 * negative code. */
static int rank_stage(const struct recommend_query *q,
                      struct recommend_memo *memo, const int64_t *cid,
                      float *pred, int got, struct recommend_list *out,
                      struct hv_err *err)
{
  struct recommend_cand *c = out->cands;
  if (got <= 0)
    return got;
  int rc = model_rank_predict(q->ranker, q->user, cid, (size_t)got, pred,
                              err);
  if (rc)
    return rc;
  const float w = (float)blend_of(q);
  for (int i = 0; i < got; i++) {
    c[i].pred = pred[i];
    c[i].key = q->order == RECOMMEND_ORDER_RANK ? pred[i]
                                                : c[i].retrieval + w * pred[i];
  }
  int keep = memo ? memo->depth : q->n;
  keep = keep < got ? keep : got;
  best_first(c, got, keep);
  if (memo)
    memo_store(memo, q->user, c, keep);
  return put_top(c, keep, q->n, out);
}

/* Retrieval's top K into out->cands, ordered by the ranker; the best n
 * into out. Returns how many, or a negative code. No allocation unless K
 * is above RECOMMEND_MAX_CANDIDATES (n > that with a ranker). */
static int retrieve_then_rank(const struct recommend_query *q,
                              const int64_t *seen, size_t n_seen,
                              struct recommend_list *out, struct hv_err *err)
{
  struct recommend_memo *memo = memo_for(q, n_seen);
  const void *hit = memo ? model_usermemo_get(memo->um, q->user) : NULL;
  if (hit) {
    const struct memo_head *h = hit;
    return put_top((const struct recommend_cand *)(h + 1), h->got, q->n,
                   out);
  }
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
  for (int i = 0; i < got; i++)
    out->cands[i] = (struct recommend_cand){cid[i], csc[i], 0.0f, 0.0f};
  /* the predictions overwrite the retrieval scores (copied above) */
  got = rank_stage(q, memo, cid, csc, got, out, err);
  if (cid != stack_ids)
    free(cid);
  return got;
}

int recommend_rank(const struct recommend_query *q, const int64_t *ids,
                   const float *retrieval, int got,
                   struct recommend_list *out, struct hv_err *err)
{
  int rc = check(NULL, q, out, err);
  if (rc)
    return rc;
  if (!q->ranker || q->exclude_rated || q->n_exclude)
    return hv_err_set(err, HV_EINVAL, "recommend_rank: needs a ranker and "
                      "no exclusions (the caller retrieved)");
  if (got < 0 || got > recommend_candidates(q) || (got && (!ids ||
                                                           !retrieval)))
    return hv_err_set(err, HV_EINVAL, "candidates: %d given, 0..%d allowed",
                      got, recommend_candidates(q));
  int64_t cid[RECOMMEND_MAX_CANDIDATES];
  float pred[RECOMMEND_MAX_CANDIDATES];
  if (got > RECOMMEND_MAX_CANDIDATES)
    return hv_err_set(err, HV_EINVAL, "candidates: %d is above %d", got,
                      RECOMMEND_MAX_CANDIDATES);
  for (int i = 0; i < got; i++) {
    cid[i] = ids[i];
    out->cands[i] = (struct recommend_cand){ids[i], retrieval[i], 0.0f, 0.0f};
  }
  got = rank_stage(q, NULL, cid, pred, got, out, err);
  if (got < 0)
    return got;
  out->ranked = 1;
  out->k = got;
  return 0;
}

int recommend_user(struct hv_db *db, const struct recommend_query *q,
                   struct recommend_list *out, struct hv_err *err)
{
  int rc = check(db, q, out, err);
  if (rc)
    return rc;
  int64_t *seen = NULL;
  const int64_t *skip = q->exclude_sorted;
  size_t n_seen = q->n_exclude;
  if (q->exclude_rated &&
      (rc = ratings_user_movies(db, q->user, &seen, &n_seen, err)))
    return rc;
  if (seen)
    skip = seen;
  int got;
  if (q->ranker) {
    got = retrieve_then_rank(q, skip, n_seen, out, err);
  } else {
    got = model_recommend_cached(q->model, q->memo, q->user, q->n, skip,
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

/* ---- explanations ---------------------------------------------------- */

_Static_assert(RANK_NGROUPS_EXPLAIN == RANK_NGROUPS, "feature groups");

struct rated {
  int64_t *ids;
  float *ratings;
  size_t n, cap;
  struct hv_err *err;
};

static int rated_add(void *ctx, const struct ratings_row *r)
{
  struct rated *u = ctx;
  if (u->n == u->cap) {
    size_t cap = u->cap ? 2 * u->cap : 64;
    int64_t *i = realloc(u->ids, cap * sizeof(*i));
    if (i)
      u->ids = i;
    float *f = i ? realloc(u->ratings, cap * sizeof(*f)) : NULL;
    if (!f)
      return hv_err_set(u->err, HV_ENOMEM, "explain: out of memory");
    u->ratings = f;
    u->cap = cap;
  }
  /* a movie rated again: the newest rating (the rows come oldest first) */
  for (size_t j = 0; j < u->n; j++)
    if (u->ids[j] == r->movie_id) {
      u->ratings[j] = (float)r->rating;
      return 0;
    }
  u->ids[u->n] = r->movie_id;
  u->ratings[u->n++] = (float)r->rating;
  return 0;
}

/* The user's rating of movie in u (its ids are distinct). */
static float rating_of(const struct rated *u, int64_t movie)
{
  for (size_t j = 0; j < u->n; j++)
    if (u->ids[j] == movie)
      return u->ratings[j];
  return NAN;
}

int recommend_explain(struct hv_db *db, const struct recommend_query *q,
                      const struct recommend_list *l,
                      struct recommend_why *why, struct hv_err *err)
{
  if (!db || !q || !q->model || !l || (l->k > 0 && (!why || !l->movie_ids)))
    return hv_err_set(err, HV_EINVAL, "explain: need a database, the query "
                      "and its list");
  struct rated u = {.err = err};
  int rc = ratings_user_each(db, q->user, rated_add, &u, err);
  if (rc == HV_ENOTFOUND) /* a user without ratings: no neighbours */
    rc = 0;
  for (int i = 0; !rc && i < l->k; i++) {
    struct recommend_why *w = &why[i];
    memset(w, 0, sizeof(*w));
    w->movie_id = l->movie_ids[i];
    w->score = l->scores[i];
    w->retrieval = l->retrieval_scores ? l->retrieval_scores[i] : w->score;
    int got = model_movie_neighbours(q->model, w->movie_id, u.ids, u.n,
                                     RECOMMEND_EXPLAIN_NEIGHBOURS,
                                     w->neighbour_id, w->neighbour_sim);
    w->n_neighbours = got > 0 ? got : 0;
    for (int j = 0; j < w->n_neighbours; j++)
      w->neighbour_rating[j] = rating_of(&u, w->neighbour_id[j]);
    if (l->ranked && q->ranker) {
      w->ranked = 1;
      rc = model_rank_explain(q->ranker, q->user, w->movie_id, &w->predicted,
                              w->contrib, err);
    }
  }
  free(u.ids);
  free(u.ratings);
  return rc;
}

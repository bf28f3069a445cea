/*
 * compare.c - retrieval only against retrieve-then-rank on the held-out
 * split (see compare.h): the split is rebuilt once, the ratings grouped by
 * user (sorted by user, then movie), and each user's two lists come from
 * recommend_user with the user's train-split movies as its exclusions.
 */
#include "recommend/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recommend/recommend.h"
#include "util/rng.h"
#include "util/sort.h"

struct cmp_row {
  int64_t user, movie;
  float rating;
  int test; /* 1: held out */
};

static int cmp_rows(const void *a, const void *b)
{
  const struct cmp_row *x = a, *y = b;
  if (x->user != y->user)
    return x->user < y->user ? -1 : 1;
  if (x->movie != y->movie)
    return x->movie < y->movie ? -1 : 1;
  return x->test - y->test;
}

static int cmp_desc(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return (x < y) - (x > y);
}

/* HV_EINVAL unless ranker was trained on retriever's range, split, seed
 * and train count. */
static int same_split(const struct hv_model *retriever,
                      const struct hv_model *ranker, struct hv_err *err)
{
  struct train_config a, b;
  model_config(retriever, &a);
  model_config(ranker, &b);
  if (a.first_rating_id != b.first_rating_id ||
      a.last_rating_id != b.last_rating_id || a.split != b.split ||
      a.seed != b.seed ||
      model_n_train_ratings(retriever) != model_n_train_ratings(ranker))
    return hv_err_set(
        err, HV_EINVAL,
        "ranker: trained on ratings %lld:%lld, split %g, seed %llu; the "
        "retrieval model on %lld:%lld, split %g, seed %llu: the held-out "
        "ratings differ; train both with the same range, --split and --seed",
        (long long)b.first_rating_id, (long long)b.last_rating_id, b.split,
        (unsigned long long)b.seed, (long long)a.first_rating_id,
        (long long)a.last_rating_id, a.split, (unsigned long long)a.seed);
  return 0;
}

/* The ratings of ds with their split, sorted by user and movie, into
 * *rows (caller frees). */
static int split_rows(const struct hv_dataset *ds, const struct hv_model *m,
                      struct cmp_row **rows, size_t *n_test,
                      struct hv_err *err)
{
  struct train_config c;
  model_config(m, &c);
  const size_t n = ds->ratings.n;
  const size_t n_train = model_split_n_train(c.split, n);
  if (n == 0 || n_train != model_n_train_ratings(m))
    return hv_err_set(err, HV_EINVAL, "compare: the retrieval model's range "
                      "%lld:%lld holds %zu ratings now, a %g split of them is "
                      "%zu, but it trained on %zu: the split cannot be rebuilt",
                      (long long)c.first_rating_id, (long long)c.last_rating_id,
                      n, c.split, n_train, model_n_train_ratings(m));
  if (n_train == n)
    return hv_err_set(err, HV_ENOTFOUND, "compare: the retrieval model was "
                      "trained with split %g (all ratings): nothing is held "
                      "out", c.split);
  size_t *perm = malloc(n * sizeof(size_t));
  struct cmp_row *r = malloc(n * sizeof(*r));
  if (!perm || !r) {
    free(perm);
    free(r);
    return hv_err_set(err, HV_ENOMEM, "compare: out of memory");
  }
  rng_numpy_permutation((uint32_t)c.seed, perm, n);
  for (size_t i = 0; i < n; i++) {
    size_t j = perm[i];
    r[i] = (struct cmp_row){ds->ratings.user_id[j], ds->ratings.movie_id[j],
                            ds->ratings.rating[j], i >= n_train};
  }
  free(perm);
  qsort(r, n, sizeof(*r), cmp_rows);
  *rows = r;
  *n_test = n - n_train;
  return 0;
}

/* One user's group: train-split movies (ascending, distinct) and held-out
 * (movie, rating) pairs (ascending by movie). */
struct cmp_user {
  int64_t user;
  int64_t *seen;
  size_t n_seen;
  const struct cmp_row *held; /* n_held rows with test = 1 */
  size_t n_held;
  float *ideal;               /* (n_held) ratings, best first */
};

/* The held-out rating of movie in u, or 0. */
static float gain_of(const struct cmp_user *u, int64_t movie)
{
  if (!u->n_held)
    return 0.0f;
  size_t lo = sort_lower_i64(&u->held[0].movie, u->n_held, sizeof(*u->held),
                             movie);
  return lo < u->n_held && u->held[lo].movie == movie ? u->held[lo].rating
                                                      : 0.0f;
}

/* Add u's list (ids[0..k)) to the pipeline's sums. */
static void score_list(const struct cmp_user *u, const int64_t *ids, int k,
                       int n, double *ndcg_sum, struct compare_pipeline *p,
                       double *hit_sum)
{
  double dcg = 0.0, idcg = 0.0;
  for (int i = 0; i < k; i++) {
    float g = gain_of(u, ids[i]);
    dcg += g / log2(i + 2.0);
    if (g > 0.0f) {
      p->hits++;
      *hit_sum += g;
    }
  }
  for (size_t i = 0; i < u->n_held && i < (size_t)n; i++)
    idcg += u->ideal[i] / log2((double)i + 2.0);
  if (idcg > 0.0)
    *ndcg_sum += dcg / idcg;
}

#define NPIPE 3 /* retrieval, ranked, blended */

struct cmp_run {
  const struct hv_model *retriever, *ranker;
  int n, candidates;
  double blend;
  struct recommend_list l;
  double ndcg[NPIPE], hit_sum[NPIPE];
  int64_t *dec_ids;        /* (n_dec) the retrieval model's movie ids, sorted */
  unsigned char *dec;      /* (n_dec) their popularity deciles */
  size_t n_dec;
  double slots[NPIPE][EVAL_NDEC]; /* list entries per decile */
  struct compare_result *out;
};

static struct compare_pipeline *pipe_of(struct compare_result *out, int p)
{
  return p == 0 ? &out->retrieval : p == 1 ? &out->ranked : &out->blended;
}

/* Count the list's movies by popularity decile into slots. */
static void expose_list(const struct cmp_run *r, const int64_t *ids, int k,
                        double slots[EVAL_NDEC])
{
  for (int i = 0; i < k; i++) {
    size_t j = sort_find_i64(r->dec_ids, r->n_dec, ids[i]);
    if (j != SORT_NONE)
      slots[r->dec[j]] += 1.0;
  }
}

/* Every pipeline for user u (the retrieval one alone without a ranker). */
static int run_user(struct cmp_run *r, const struct cmp_user *u,
                    struct hv_err *err)
{
  for (int p = 0; p < (r->ranker ? NPIPE : 1); p++) {
    struct recommend_query q = {.model = r->retriever,
                                .user = u->user,
                                .n = r->n,
                                .ranker = p ? r->ranker : NULL,
                                .candidates = r->candidates,
                                .exclude_sorted = u->seen,
                                .n_exclude = u->n_seen,
                                .order = p == 1 ? RECOMMEND_ORDER_RANK
                                                : RECOMMEND_ORDER_BLEND,
                                .blend = r->blend};
    struct hv_err e = {0};
    int rc = recommend_user(NULL, &q, &r->l, &e);
    if (rc == HV_ENOTFOUND) {
      r->out->n_unknown_users += p == 0;
      continue;
    }
    if (rc)
      return hv_err_set(err, rc, "compare: user %lld: %s",
                        (long long)u->user, e.msg);
    score_list(u, r->l.movie_ids, r->l.k, r->n, &r->ndcg[p],
               pipe_of(r->out, p), &r->hit_sum[p]);
    expose_list(r, r->l.movie_ids, r->l.k, r->slots[p]);
  }
  return 0;
}

/* Walk the user groups of rows[0..n). */
static int run_users(struct cmp_run *r, const struct cmp_row *rows, size_t n,
                     struct hv_err *err)
{
  int64_t *seen = malloc((n + 1) * sizeof(int64_t));
  float *ideal = malloc((n + 1) * sizeof(float));
  struct cmp_row *held = malloc((n + 1) * sizeof(*held));
  int rc = 0;
  if (!seen || !ideal || !held)
    rc = hv_err_set(err, HV_ENOMEM, "compare: out of memory");
  for (size_t i = 0; !rc && i < n;) {
    struct cmp_user u = {rows[i].user, seen, 0, held, 0, ideal};
    for (; i < n && rows[i].user == u.user; i++) {
      if (!rows[i].test) {
        if (!u.n_seen || seen[u.n_seen - 1] != rows[i].movie)
          seen[u.n_seen++] = rows[i].movie;
      } else {
        held[u.n_held] = rows[i];
        ideal[u.n_held++] = rows[i].rating;
      }
    }
    if (!u.n_held)
      continue;
    qsort(ideal, u.n_held, sizeof(float), cmp_desc);
    r->out->n_users++;
    rc = run_user(r, &u, err);
  }
  free(seen);
  free(ideal);
  free(held);
  return rc;
}

/* The popularity decile of every movie of the retrieval model by its
 * ratings in the train split of rows[0..n) (sorted ids into r->dec_ids,
 * deciles into r->dec; freed by the caller). */
static int deciles_of(struct cmp_run *r, const struct cmp_row *rows,
                      size_t n, struct hv_err *err)
{
  const size_t nm = model_n_movies(r->retriever);
  r->n_dec = nm;
  r->dec_ids = malloc((nm + 1) * sizeof(int64_t));
  r->dec = malloc(nm + 1);
  double *count = calloc(nm + 1, sizeof(double));
  int rc = 0;
  if (!r->dec_ids || !r->dec || !count)
    rc = hv_err_set(err, HV_ENOMEM, "compare: out of memory");
  for (size_t i = 0; !rc && i < nm; i++)
    r->dec_ids[i] = model_movie_id(r->retriever, i);
  if (!rc)
    qsort(r->dec_ids, nm, sizeof(int64_t), sort_cmp_i64);
  for (size_t i = 0; !rc && i < n; i++) {
    size_t j = rows[i].test ? SORT_NONE
                            : sort_find_i64(r->dec_ids, nm, rows[i].movie);
    if (j != SORT_NONE)
      count[j] += 1.0;
  }
  if (!rc)
    rc = eval_pop_deciles(count, nm, r->dec, err);
  free(count);
  return rc;
}

static int check(const struct hv_dataset *ds, const struct hv_model *ret,
                 const struct hv_model *rk, int candidates, double blend,
                 int n, const struct compare_result *out, struct hv_err *err)
{
  if (!ds || !ret || !out)
    return hv_err_set(err, HV_EINVAL, "compare: need a dataset, a retrieval "
                      "model and a result");
  int rc = recommend_check_models(ret, rk, err);
  if (rc)
    return rc;
  if (n < 1 || n > 1000)
    return hv_err_set(err, HV_EINVAL, "n: %d is out of range 1..1000", n);
  rc = recommend_check_knobs(blend, candidates, "", HV_EINVAL, err);
  if (rc)
    return rc;
  if (dataset_check(ds, "compare", err))
    return err->code;
  return rk ? same_split(ret, rk, err) : 0;
}

int compare_pipelines(const struct hv_dataset *ds,
                      const struct hv_model *retriever,
                      const struct hv_model *ranker, int candidates,
                      double blend, int n, struct compare_result *out,
                      struct hv_err *err)
{
  if (check(ds, retriever, ranker, candidates, blend, n, out, err))
    return err->code;
  memset(out, 0, sizeof(*out));
  struct cmp_run r = {.retriever = retriever, .ranker = ranker, .n = n,
                      .candidates = candidates, .blend = blend, .out = out};
  out->blend = blend > 0.0 ? blend : RECOMMEND_DEFAULT_BLEND;
  struct recommend_query probe = {.n = n, .candidates = candidates};
  out->n = n;
  out->candidates = recommend_candidates(&probe);
  struct cmp_row *rows = NULL;
  int rc = split_rows(ds, retriever, &rows, &out->n_test, err);
  if (!rc && ranker)
    rc = model_rank_evaluate_split(ds, ranker, MODEL_SPLIT_TEST,
                                   &out->ranker, err);
  if (!rc)
    rc = deciles_of(&r, rows, ds->ratings.n, err);
  if (!rc)
    rc = recommend_list_alloc(&r.l, retriever, n, err);
  if (!rc)
    rc = run_users(&r, rows, ds->ratings.n, err);
  recommend_list_free(&r.l);
  free(rows);
  free(r.dec_ids);
  free(r.dec);
  if (rc)
    return rc;
  for (int i = 0; i < NPIPE; i++) {
    struct compare_pipeline *p = pipe_of(out, i);
    p->ndcg = out->n_users ? r.ndcg[i] / (double)out->n_users : 0.0;
    p->hit_rating_mean = p->hits ? r.hit_sum[i] / (double)p->hits : NAN;
    p->exposure_gap = eval_exposure_shares(r.slots[i], p->exposure);
  }
  return 0;
}

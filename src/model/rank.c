/*
 * rank.c - the ranking model: forward/backward of a batch, training,
 * prediction and evaluation. See rank.h for the model and model.h for the
 * public entry points (train_run with task ranking, model_rank_predict,
 * model_rank_evaluate).
 */
#include "model/rank.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/eval.h"
#include "model/modelfile.h"
#include "model/optim.h"
#include "model/tower.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/rng.h"

void rank_popularity(const int64_t *count, size_t n_movies, float *out)
{
  int64_t mx = 0;
  for (size_t r = 0; r <= n_movies; r++)
    mx = count[r] > mx ? count[r] : mx;
  const double den = log1p((double)mx);
  for (size_t r = 0; r <= n_movies; r++)
    out[r] = den > 0 && count[r] > 0 ? (float)(log1p((double)count[r]) / den)
                                      : 0.0f;
}

/* ---- the loaded model --------------------------------------------------- */

int rank_prepare(struct hv_model *m, struct hv_err *err)
{
  const struct model_layout *L = &m->L;
  const size_t nm = m->n_movies + 1, H = (size_t)L->hidden;
  const int d = L->dim;
  m->pop = malloc(nm * sizeof(float));
  m->movie_hid = malloc(nm * (H ? H : 1) * sizeof(float));
  if (!m->pop || !m->movie_hid)
    return hv_err_set(err, HV_ENOMEM, "ranking model: out of memory");
  rank_popularity(m->movie_count, m->n_movies, m->pop);
  if (!H)
    return 0;
  const float *P = m->params;
  for (size_t r = 0; r < nm; r++)
    for (size_t k = 0; k < H; k++)
      m->movie_hid[r * H + k] =
          P[L->off_b1 + k] + m->pop[r] * P[L->off_w1 + 2 * d * H + k];
  /* movie_hid (nm, H) += (movie_vec - id rows) (nm, d) W1[d:2d] (d, H) */
  float *mf = malloc(nm * (size_t)d * sizeof(float));
  if (!mf)
    return hv_err_set(err, HV_ENOMEM, "ranking model: out of memory");
  for (size_t i = 0; i < nm * (size_t)d; i++)
    mf[i] = m->movie_vec[i] - P[L->off[TAB_MOVIE] + i];
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nm, (int)H, d,
              1.0f, mf, d, P + L->off_w1 + (size_t)d * H, (int)H, 1.0f,
              m->movie_hid, (int)H);
  free(mf);
  return 0;
}

void rank_user_hidden(const struct hv_model *m, size_t urow, float *uh)
{
  const struct model_layout *L = &m->L;
  const int d = L->dim, H = L->hidden;
  const float *u = m->user_vec + urow * d, *W = m->params + L->off_w1;
  const float *uid = m->params + L->off[TAB_USER] + urow * d;
  for (int k = 0; k < H; k++)
    uh[k] = 0.0f;
  for (int i = 0; i < d; i++) {
    const float x = u[i] - uid[i];
    for (int k = 0; k < H; k++)
      uh[k] += x * W[(size_t)i * H + k];
  }
}

float rank_predict_row(const struct hv_model *m, size_t urow, size_t mrow,
                       const float *uh)
{
  const struct model_layout *L = &m->L;
  const int d = L->dim, H = L->hidden;
  const float *P = m->params;
  const float *u = m->user_vec + urow * d, *v = m->movie_vec + mrow * d;
  float s = (float)m->meta.rank_mean + P[L->off_ubias + urow] +
            P[L->off_mbias + mrow];
  for (int k = 0; k < d; k++)
    s += u[k] * v[k];
  if (!H)
    return s;
  const float *mh = m->movie_hid + mrow * H, *w2 = P + L->off_w2;
  float t = P[L->off_b2];
  for (int k = 0; k < H; k++) {
    float z = uh[k] + mh[k];
    t += z > 0.0f ? z * w2[k] : 0.0f;
  }
  return s + t;
}

int model_task(const struct hv_model *m)
{
  return m ? m->meta.cfg.task : MODEL_TASK_RETRIEVAL;
}

int model_rank_predict(const struct hv_model *m, int64_t user_id,
                       const int64_t *movie_ids, size_t n, float *out,
                       struct hv_err *err)
{
  if (!m || m->meta.cfg.task != MODEL_TASK_RANKING)
    return hv_err_set(err, HV_EINVAL, "rank: not a ranking model");
  if (n && (!movie_ids || !out))
    return hv_err_set(err, HV_EINVAL, "rank: no movies or output buffer");
  float uh[1024];
  size_t ur = model_lookup(m->user_ids, m->n_users, user_id);
  rank_user_hidden(m, ur, uh);
  for (size_t i = 0; i < n; i++)
    out[i] = rank_predict_row(
        m, ur, model_lookup(m->movie_ids, m->n_movies, movie_ids[i]), uh);
  return 0;
}

const char *const model_rank_group_names[RANK_NGROUPS] = {
    "ids", "user_features", "movie_features", "popularity"};

/* The prediction for rows (ur, mr) without the groups whose bit is set in
 * drop (1 << RANK_GROUP_*): the towers' id and feature parts kept
 * apart, so a group is removed from the dot product and the MLP input
 * alike. Plain loops: a few per explained movie. */
static float predict_without(const struct hv_model *m, size_t ur, size_t mr,
                             unsigned drop)
{
  const struct model_layout *L = &m->L;
  const int d = L->dim, H = L->hidden;
  const float *P = m->params;
  const float *u = m->user_vec + ur * d, *v = m->movie_vec + mr * d;
  const float *uid = P + L->off[TAB_USER] + ur * d;
  const float *mid = P + L->off[TAB_MOVIE] + mr * d;
  const int ids = !(drop & 1u << RANK_GROUP_IDS);
  const int uf = !(drop & 1u << RANK_GROUP_USER_FEATURES);
  const int mf = !(drop & 1u << RANK_GROUP_MOVIE_FEATURES);
  const int pop = !(drop & 1u << RANK_GROUP_POPULARITY);
  float x[2049];
  double s = m->meta.rank_mean;
  if (ids)
    s += P[L->off_ubias + ur] + P[L->off_mbias + mr];
  for (int k = 0; k < d; k++) {
    x[k] = uf ? u[k] - uid[k] : 0.0f;
    x[d + k] = mf ? v[k] - mid[k] : 0.0f;
    s += (double)((ids ? uid[k] : 0.0f) + x[k]) *
         ((ids ? mid[k] : 0.0f) + x[d + k]);
  }
  x[2 * d] = pop ? m->pop[mr] : 0.0f;
  for (int j = 0; j < H; j++) {
    double z = P[L->off_b1 + j];
    for (int i = 0; i <= 2 * d; i++)
      z += (double)x[i] * P[L->off_w1 + (size_t)i * H + j];
    if (z > 0)
      s += z * P[L->off_w2 + j];
  }
  if (H)
    s += P[L->off_b2];
  return (float)s;
}

int model_rank_explain(const struct hv_model *m, int64_t user_id,
                       int64_t movie_id, float *pred,
                       float contrib[RANK_NGROUPS], struct hv_err *err)
{
  if (!m || m->meta.cfg.task != MODEL_TASK_RANKING)
    return hv_err_set(err, HV_EINVAL, "rank: not a ranking model");
  if (!pred || !contrib)
    return hv_err_set(err, HV_EINVAL, "rank: no output buffers");
  size_t ur = model_lookup(m->user_ids, m->n_users, user_id);
  size_t mr = model_lookup(m->movie_ids, m->n_movies, movie_id);
  *pred = predict_without(m, ur, mr, 0);
  for (int g = 0; g < RANK_NGROUPS; g++)
    contrib[g] = *pred - predict_without(m, ur, mr, 1u << g);
  return 0;
}

/* ---- metrics ------------------------------------------------------------ */

struct rank_acc {
  double se, ae;
  size_t n;
  double seg_se[EVAL_NSEG], seg_ae[EVAL_NSEG];
  size_t seg_n[EVAL_NSEG];
  unsigned absent; /* the dataset's users.absent */
};

static void acc_add(struct rank_acc *a, float pred, float y, int gender,
                    int age, unsigned absent)
{
  double p = pred < 1.0f ? 1.0 : pred > 5.0f ? 5.0 : (double)pred;
  double e = p - y;
  int seg[2];
  eval_segment_of(gender, age, absent, seg);
  a->se += e * e;
  a->ae += fabs(e);
  a->n++;
  a->absent = absent;
  for (int s = 0; s < 2; s++) {
    if (seg[s] < 0)
      continue;
    a->seg_se[seg[s]] += e * e;
    a->seg_ae[seg[s]] += fabs(e);
    a->seg_n[seg[s]]++;
  }
}

static void acc_finish(const struct rank_acc *a, struct rank_metrics *out)
{
  memset(out, 0, sizeof(*out));
  out->n = a->n;
  out->rmse = a->n ? sqrt(a->se / a->n) : NAN;
  out->mae = a->n ? a->ae / a->n : NAN;
  double lo = INFINITY, hi = -INFINITY;
  int big = 0;
  for (int s = 0; s < EVAL_NSEG; s++) {
    out->seg_n[s] = a->seg_n[s];
    out->seg_rmse[s] = a->seg_n[s] ? sqrt(a->seg_se[s] / a->seg_n[s]) : NAN;
    out->seg_mae[s] = a->seg_n[s] ? a->seg_ae[s] / a->seg_n[s] : NAN;
    if (a->seg_n[s] >= 100) {
      big++;
      lo = fmin(lo, out->seg_rmse[s]);
      hi = fmax(hi, out->seg_rmse[s]);
    }
  }
  for (int s = EVAL_NSEG; s < EVAL_MAX_SEG; s++)
    out->seg_rmse[s] = out->seg_mae[s] = NAN;
  out->seg_rmse_gap = big >= 2 ? hi - lo : 0.0;
  out->absent = a->absent;
}

/* The user rows' state of a pass over ratings (uh is the user part of the
 * first layer, recomputed when the user changes). */
struct rank_pass {
  struct rank_acc a;
  float uh[1024];
  int64_t last_user;
  size_t ur;
};

/* Add rating i of ds to p's accumulator. */
static void pass_add(struct rank_pass *p, const struct hv_dataset *ds,
                     const struct hv_model *m, size_t i)
{
  const struct ratings_cols *R = &ds->ratings;
  const struct dataset_users *US = &ds->users;
  if (R->user_id[i] != p->last_user) {
    p->last_user = R->user_id[i];
    p->ur = model_lookup(m->user_ids, m->n_users, p->last_user);
    rank_user_hidden(m, p->ur, p->uh);
  }
  size_t mr = model_lookup(m->movie_ids, m->n_movies, R->movie_id[i]);
  size_t k = model_lookup(US->id, US->n, R->user_id[i]);
  acc_add(&p->a, rank_predict_row(m, p->ur, mr, p->uh), R->rating[i],
          k ? US->gender[k - 1] : 0, k ? US->age_bucket[k - 1] : -1,
          US->absent);
}

static int rank_check(const struct hv_dataset *ds, const struct hv_model *m,
                      const void *out, struct hv_err *err)
{
  if (!m || m->meta.cfg.task != MODEL_TASK_RANKING)
    return hv_err_set(err, HV_EINVAL, "rank: not a ranking model");
  if (!ds || !out)
    return hv_err_set(err, HV_EINVAL, "rank: no dataset or output");
  return dataset_check(ds, "evaluate", err);
}

int model_rank_evaluate(const struct hv_dataset *ds, const struct hv_model *m,
                        struct rank_metrics *out, struct hv_err *err)
{
  if (rank_check(ds, m, out, err))
    return err->code;
  struct rank_pass *p = calloc(1, sizeof(*p));
  if (!p)
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  p->last_user = INT64_MIN;
  for (size_t i = 0; i < ds->ratings.n; i++)
    if (ds->ratings.rating_id[i] >= ds->first_rating_id &&
        ds->ratings.rating_id[i] <= ds->last_rating_id)
      pass_add(p, ds, m, i);
  int rc = 0;
  if (!p->a.n)
    rc = hv_err_set(err, HV_ENOTFOUND, "evaluate: no ratings in %lld:%lld",
                    (long long)ds->first_rating_id,
                    (long long)ds->last_rating_id);
  else
    acc_finish(&p->a, out);
  free(p);
  return rc;
}

int model_rank_evaluate_split(const struct hv_dataset *ds,
                              const struct hv_model *m, int which,
                              struct rank_metrics *out, struct hv_err *err)
{
  if (rank_check(ds, m, out, err))
    return err->code;
  if (which < MODEL_SPLIT_TEST || which > MODEL_SPLIT_ALL)
    return hv_err_set(err, HV_EINVAL, "evaluate: split %d is not test, "
                      "train or all", which);
  const struct train_config *c = &m->meta.cfg;
  const size_t n = ds->ratings.n;
  const size_t n_train = model_split_n_train(c->split, n);
  if (n == 0 || n_train != m->meta.n_train_ratings)
    return hv_err_set(err, HV_EINVAL, "evaluate: the ranker's training "
                      "range %lld:%lld holds %zu ratings now, a %g split of "
                      "them is %zu, but it trained on %llu: the split cannot "
                      "be rebuilt", (long long)c->first_rating_id,
                      (long long)c->last_rating_id, n, c->split, n_train,
                      (unsigned long long)m->meta.n_train_ratings);
  if (which == MODEL_SPLIT_TEST && n_train == n)
    return hv_err_set(err, HV_ENOTFOUND, "evaluate: the ranker was trained "
                      "with split %g (all ratings): it has no test split",
                      c->split);
  size_t *perm = malloc(n * sizeof(size_t));
  struct rank_pass *p = calloc(1, sizeof(*p));
  if (!perm || !p) {
    free(perm);
    free(p);
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  }
  p->last_user = INT64_MIN;
  rng_numpy_permutation((uint32_t)c->seed, perm, n);
  size_t lo = which == MODEL_SPLIT_TEST ? n_train : 0;
  size_t hi = which == MODEL_SPLIT_TRAIN ? n_train : n;
  for (size_t i = lo; i < hi; i++)
    pass_add(p, ds, m, which == MODEL_SPLIT_ALL ? i : perm[i]);
  acc_finish(&p->a, out);
  free(perm);
  free(p);
  return 0;
}

/* ---- training ----------------------------------------------------------- */

struct rtrainer {
  struct train_config cfg;
  struct model_vocab V;
  struct model_layout L;
  struct model_feats F;
  float *params, *grad, *state;
  int n_slots;
  uint64_t step;
  size_t n_train, n_test;
  int32_t *tr_u, *tr_m, *te_u, *te_m; /* rows of each split */
  float *tr_y, *te_y;
  int64_t *movie_count;               /* (n_movies + 1) train counts */
  float *pop;                         /* (n_movies + 1) */
  float mean;
  size_t *order;
  int32_t *bu, *bm;
  float *by;
  struct rank_ws *ws;
  struct rng_xo rng;
  double flop;
};

static void rt_free(struct rtrainer *t)
{
  model_vocab_free(&t->V);
  HV_FREE_ALL(t->params, t->grad, t->state, t->tr_u, t->tr_m, t->te_u,
              t->te_m, t->tr_y, t->te_y, t->movie_count, t->pop, t->order,
              t->bu, t->bm, t->by);
  rank_ws_free(t->ws);
}

#define NOMEM(what) \
  hv_err_set(err, HV_ENOMEM, "train ranking: out of memory (%s)", what)

static int rt_split(struct rtrainer *t, const struct ratings_cols *R,
                    struct hv_err *err)
{
  const size_t n = R->n;
  size_t *perm = malloc(n * sizeof(size_t));
  t->n_train = model_split_n_train(t->cfg.split, n);
  t->n_test = n - t->n_train;
  t->tr_u = malloc(t->n_train * sizeof(int32_t));
  t->tr_m = malloc(t->n_train * sizeof(int32_t));
  t->tr_y = malloc(t->n_train * sizeof(float));
  t->te_u = malloc((t->n_test + 1) * sizeof(int32_t));
  t->te_m = malloc((t->n_test + 1) * sizeof(int32_t));
  t->te_y = malloc((t->n_test + 1) * sizeof(float));
  t->movie_count = calloc(t->V.n_movies + 1, sizeof(int64_t));
  t->pop = malloc((t->V.n_movies + 1) * sizeof(float));
  if (!perm || !t->tr_u || !t->tr_m || !t->tr_y || !t->te_u || !t->te_m ||
      !t->te_y || !t->movie_count || !t->pop) {
    free(perm);
    return NOMEM("split");
  }
  rng_numpy_permutation((uint32_t)t->cfg.seed, perm, n);
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    size_t j = perm[i];
    int32_t u = (int32_t)model_lookup(t->V.user_ids, t->V.n_users,
                                      R->user_id[j]);
    int32_t m = (int32_t)model_lookup(t->V.movie_ids, t->V.n_movies,
                                      R->movie_id[j]);
    if (!isfinite(R->rating[j])) {
      free(perm);
      return hv_err_set(err, HV_EINVAL, "train ranking: rating %lld is not "
                        "a number", (long long)R->rating_id[j]);
    }
    if (i < t->n_train) {
      t->tr_u[i] = u;
      t->tr_m[i] = m;
      t->tr_y[i] = R->rating[j];
      t->movie_count[m]++;
      sum += R->rating[j];
    } else {
      t->te_u[i - t->n_train] = u;
      t->te_m[i - t->n_train] = m;
      t->te_y[i - t->n_train] = R->rating[j];
    }
  }
  free(perm);
  t->mean = (float)(sum / (double)t->n_train);
  rank_popularity(t->movie_count, t->V.n_movies, t->pop);
  return 0;
}

static int rt_setup(struct rtrainer *t, struct hv_err *err)
{
  const struct model_vocab *V = &t->V;
  t->F = (struct model_feats){V->user_feat, V->movie_year, V->genre_off,
                              V->genre};
  model_layout_init(&t->L, t->cfg.dim, V->n_users, V->n_movies, V->n_vals,
                    t->cfg.features);
  if (t->cfg.features)
    model_layout_drop_user(&t->L, V->user_off);
  model_layout_rank(&t->L, t->cfg.hidden);
  const size_t np = t->L.n_params, B = (size_t)t->cfg.batch;
  const size_t cap = B < t->n_train ? B : t->n_train;
  t->n_slots = optim_slots(t->cfg.optimizer);
  t->params = calloc(np, sizeof(float));
  t->grad = calloc(np, sizeof(float));
  t->state = malloc(np * t->n_slots * sizeof(float));
  t->order = malloc(t->n_train * sizeof(size_t));
  t->bu = malloc(cap * sizeof(int32_t));
  t->bm = malloc(cap * sizeof(int32_t));
  t->by = malloc(cap * sizeof(float));
  t->ws = rank_ws_new(cap, &t->L);
  if (!t->params || !t->grad || !t->state || !t->order || !t->bu || !t->bm ||
      !t->by || !t->ws)
    return NOMEM("parameters");
  optim_init_state(t->cfg.optimizer, t->state, np, 0, np);
  /* id rows uniform(-s, s) (feature rows and biases 0, as train.c); the
   * MLP as PyTorch's nn.Linear: uniform(-1/sqrt(fan_in), +) */
  const float s = (float)t->cfg.init_scale;
  const size_t ids_end = t->L.off[TAB_MOVIE] +
                         t->L.rows[TAB_MOVIE] * (size_t)t->L.dim;
  for (size_t i = 0; i < ids_end; i++)
    t->params[i] = rng_xo_uniform(&t->rng, s);
  const size_t H = (size_t)t->L.hidden;
  const float a1 = 1.0f / sqrtf((float)t->L.n_in);
  const float a2 = H ? 1.0f / sqrtf((float)H) : 0.0f;
  for (size_t i = 0; i < t->L.n_in * H; i++)
    t->params[t->L.off_w1 + i] = rng_xo_uniform(&t->rng, a1);
  for (size_t i = 0; i < H; i++) {
    t->params[t->L.off_b1 + i] = rng_xo_uniform(&t->rng, a1);
    t->params[t->L.off_w2 + i] = rng_xo_uniform(&t->rng, a2);
  }
  t->params[t->L.off_b2] = H ? rng_xo_uniform(&t->rng, a2) : 0.0f;
  return 0;
}

static struct rank_net rt_net(const struct rtrainer *t)
{
  return (struct rank_net){&t->L, &t->F, t->cfg.features, t->pop, t->mean,
                           t->cfg.l2, 0};
}

static double rt_epoch(struct rtrainer *t)
{
  const size_t B = (size_t)t->cfg.batch;
  const struct rank_net net = rt_net(t);
  const struct optim_span all = {0, t->L.n_params};
  const double d = t->L.dim, H = t->L.hidden, ni = (double)t->L.n_in;
  double loss = 0.0;
  for (size_t i = 0; i < t->n_train; i++)
    t->order[i] = i;
  rng_xo_shuffle(&t->rng, t->order, t->n_train);
  for (size_t s = 0; s < t->n_train; s += B) {
    size_t b = t->n_train - s < B ? t->n_train - s : B;
    for (size_t i = 0; i < b; i++) {
      size_t j = t->order[s + i];
      t->bu[i] = t->tr_u[j];
      t->bm[i] = t->tr_m[j];
      t->by[i] = t->tr_y[j];
    }
    loss += rank_batch(&net, t->params, t->bu, t->bm, t->by, b, t->ws,
                       t->grad, NULL) * (double)b;
    t->flop += 6.0 * (double)b * ni * H + 4.0 * (double)b * d;
    t->step++;
    optim_step(t->cfg.optimizer, t->cfg.lr, t->step, t->params, t->state,
               t->L.n_params, t->grad, &all, 1);
  }
  return loss;
}

static int rt_epochs(struct rtrainer *t, const struct train_callbacks *cb,
                     struct train_result *res, struct hv_err *err)
{
  for (int ep = 0; ep < t->cfg.epochs; ep++) {
    double t0 = hv_mono();
    double loss = rt_epoch(t);
    double dt = hv_mono() - t0;
    res->epoch_seconds[ep] = dt;
    res->epoch_loss[ep] = loss;
    res->epochs = ep + 1;
    if (!isfinite(loss))
      return hv_err_set(err, HV_EINVAL, "train ranking: the loss diverged "
                        "at epoch %d; lower --lr", ep + 1);
    if (cb && cb->on_epoch)
      cb->on_epoch(cb->ud, ep + 1, loss, dt, NULL);
  }
  return 0;
}

static int rt_model(struct rtrainer *t, struct hv_model **out,
                    struct hv_err *err)
{
  struct model_parts p;
  model_parts_start(&p, &t->cfg, t->step, t->cfg.epochs, t->n_train, &t->L);
  p.meta.cfg.extra_rating_ids = NULL;
  p.meta.rank_mean = t->mean;
  p.n_users = t->V.n_users;
  p.n_movies = t->V.n_movies;
  p.user_ids = t->V.user_ids;
  p.movie_ids = t->V.movie_ids;
  for (int f = 0; f < MODEL_NFEAT; f++) {
    p.n_vals[f] = t->V.n_vals[f];
    p.vals[f] = t->V.vals[f];
  }
  p.F = t->F;
  p.movie_count = t->movie_count;
  p.params = t->params;
  p.opt_state = t->state;
  p.n_slots = t->n_slots;
  return model_from_parts(&p, out, err);
}

/* Metrics of the loaded model m on split rows (what serving predicts). */
static void rt_metrics(const struct rtrainer *t, const struct hv_model *m,
                       const int32_t *u, const int32_t *mv, const float *y,
                       size_t n, int baseline, struct rank_metrics *out)
{
  struct rank_acc a;
  memset(&a, 0, sizeof(a));
  float uh[1024];
  for (size_t i = 0; i < n; i++) {
    float p = t->mean;
    if (!baseline) {
      rank_user_hidden(m, (size_t)u[i], uh);
      p = rank_predict_row(m, (size_t)u[i], (size_t)mv[i], uh);
    }
    acc_add(&a, p, y[i], t->V.gender_by_row[u[i]], t->V.age_by_row[u[i]],
            t->V.absent);
  }
  acc_finish(&a, out);
}

static int rt_body(struct rtrainer *t, const struct hv_dataset *ds,
                   const struct train_callbacks *cb, struct train_result *res,
                   struct hv_model **out, struct hv_err *err)
{
  if (model_vocab_build(ds, &t->V, err))
    return err->code;
  rng_xo_seed(&t->rng, t->cfg.seed ^ 0x72616e6b696e67ull);
  t->cfg.first_rating_id = ds->first_rating_id;
  t->cfg.last_rating_id = ds->last_rating_id;
  res->epoch_seconds = calloc((size_t)t->cfg.epochs + 1, sizeof(double));
  res->epoch_loss = calloc((size_t)t->cfg.epochs + 1, sizeof(double));
  if (!res->epoch_seconds || !res->epoch_loss)
    return NOMEM("results");
  if (rt_split(t, &ds->ratings, err) || rt_setup(t, err))
    return err->code;
  double t0 = hv_mono();
  if (rt_epochs(t, cb, res, err))
    return err->code;
  res->train_seconds = hv_mono() - t0;
  res->gemm_flop_per_epoch = res->epochs ? t->flop / res->epochs : 0.0;
  if (rt_model(t, out, err))
    return err->code;
  t0 = hv_mono();
  rt_metrics(t, *out, t->tr_u, t->tr_m, t->tr_y, t->n_train, 0,
             &res->rank_train);
  if (t->n_test)
    rt_metrics(t, *out, t->te_u, t->te_m, t->te_y, t->n_test, 0,
               &res->rank_test);
  if (t->n_test)
    rt_metrics(t, *out, t->te_u, t->te_m, t->te_y, t->n_test, 1,
               &res->rank_baseline);
  else
    rt_metrics(t, *out, t->tr_u, t->tr_m, t->tr_y, t->n_train, 1,
               &res->rank_baseline);
  res->eval_seconds = hv_mono() - t0;
  res->task = MODEL_TASK_RANKING;
  res->has_test = t->n_test > 0;
  res->n_ratings = ds->ratings.n;
  res->n_train = t->n_train;
  res->n_test = t->n_test;
  res->n_users = t->V.n_users;
  res->n_movies = t->V.n_movies;
  return 0;
}

int rank_train(const struct hv_dataset *ds, const struct train_config *c,
               const struct train_callbacks *cb, struct train_result *res_out,
               struct hv_model **out, struct hv_err *err)
{
  if (ds && ds->ratings.n == 0)
    return hv_err_set(err, HV_ENOTFOUND,
                      "train: the dataset has no ratings (range %lld:%lld); "
                      "import data first ('harvest data import')",
                      (long long)ds->first_rating_id,
                      (long long)ds->last_rating_id);
  struct rtrainer t;
  memset(&t, 0, sizeof(t));
  t.cfg = *c;
  struct train_result res;
  memset(&res, 0, sizeof(res));
  int rc = rt_body(&t, ds, cb, &res, out, err);
  rt_free(&t);
  return train_hand_over(rc, &res, res_out, out);
}

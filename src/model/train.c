/*
 * train.c - train_run: see train.h and model.h (the configurations are
 * train_config.c's).
 */
#include "model/train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/eval.h"
#include "model/loss.h"
#include "model/model_internal.h"
#include "model/optim.h"
#include "model/rank.h"
#include "util/rng.h"
#include "model/tower.h"
#include "model/train_eval.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/sort.h"

/* openblas_set_num_threads is OpenBLAS's own extension of CBLAS. */
void openblas_set_num_threads(int num_threads);

void train_result_free(struct train_result *res)
{
  if (!res)
    return;
  free(res->epoch_seconds);
  free(res->epoch_loss);
  res->epoch_seconds = res->epoch_loss = NULL;
}

float train_logq(int64_t count, size_t n_train)
{
  double c = count > 0 ? (double)count : 1.0;
  return (float)log(c / (double)(n_train ? n_train : 1));
}

static void trainer_free(struct trainer *t)
{
  free(t->user_ids);
  free(t->movie_ids);
  for (int f = 0; f < MODEL_NFEAT; f++)
    free(t->vals[f]);
  HV_FREE_ALL(t->user_feat, t->movie_year, t->genre_off, t->genre, t->params,
              t->state, t->grad, t->tr_u, t->tr_m, t->te_u,
              t->te_m, t->order, t->movie_count, t->logq_by_row,
              t->gender_by_row, t->age_by_row);
  loss_ws_free(t->ws);
  free(t->cbuf);
  free(t->spans);
  free(t->bu);
  free(t->bm);
}

#define NOMEM(what) hv_err_set(err, HV_ENOMEM, "train: out of memory (%s)", what)

/* ---- vocabularies --------------------------------------------------------- */

/* Sorted unique union of up to three id lists into a new array. */
static int union_ids(const int64_t *a, size_t na, const int64_t *b, size_t nb,
                     const int64_t *c, size_t nc, int64_t **out, size_t *n)
{
  size_t tot = na + nb + nc;
  int64_t *v = malloc((tot ? tot : 1) * sizeof(int64_t));
  if (!v)
    return HV_ENOMEM;
  if (na)
    memcpy(v, a, na * sizeof(int64_t));
  if (nb)
    memcpy(v + na, b, nb * sizeof(int64_t));
  if (nc)
    memcpy(v + na + nb, c, nc * sizeof(int64_t));
  *out = v;
  *n = sort_unique_i64(v, tot);
  return 0;
}

/* Genre entries of the movies table (0 for an empty table). */
static size_t n_genres(const struct dataset_movies *ms)
{
  return ms->n ? ms->genre_off[ms->n] : 0;
}

/* The feature values the dataset's tables hold for vocabulary f (unsorted,
 * may repeat). */
static int db_feature_values(const struct trainer *t, int f, int64_t **out,
                             size_t *n)
{
  size_t cap = f == 3 ? n_genres(t->MS) : (f == 4 ? t->MS->n : t->US->n);
  int64_t *v = malloc((cap ? cap : 1) * sizeof(int64_t));
  size_t k = 0;
  if (!v)
    return HV_ENOMEM;
  for (size_t i = 0; i < cap; i++) {
    int64_t x = -1;
    if (f == 0)
      x = t->US->age_bucket[i];
    else if (f == 1)
      x = t->US->gender[i] ? t->US->gender[i] : -1;
    else if (f == 2)
      x = t->US->occupation[i];
    else if (f == 3)
      x = t->MS->genre_ids[i];
    else
      x = t->MS->year[i] > 0 ? model_year_bucket(t->MS->year[i]) : -1;
    if (x >= 0)
      v[k++] = x;
  }
  *out = v;
  *n = k;
  return 0;
}

static int build_vocab(struct trainer *t, struct hv_err *err)
{
  const struct hv_model *im = t->init;
  if (union_ids(t->US->id, t->US->n, t->R->user_id, t->R->n,
                im ? im->user_ids : NULL, im ? im->n_users : 0, &t->user_ids,
                &t->n_users) ||
      union_ids(t->MS->id, t->MS->n, t->R->movie_id, t->R->n,
                im ? im->movie_ids : NULL, im ? im->n_movies : 0,
                &t->movie_ids, &t->n_movies))
    return NOMEM("vocabulary");
  if (t->n_users > INT32_MAX - 2 || t->n_movies > INT32_MAX - 2)
    return hv_err_set(err, HV_ETOOBIG, "train: too many users or movies");
  for (int f = 0; f < MODEL_NFEAT; f++) {
    int64_t *v = NULL;
    size_t n = 0;
    if (db_feature_values(t, f, &v, &n))
      return NOMEM("features");
    int rc = union_ids(v, n, im ? im->vals[f] : NULL, im ? im->n_vals[f] : 0,
                       NULL, 0, &t->vals[f], &t->n_vals[f]);
    free(v);
    if (rc)
      return NOMEM("features");
  }
  return 0;
}

/* Index (1 + position, 0 unknown) of value x in feature vocabulary f. */
static int32_t fidx(const struct trainer *t, int f, int64_t x)
{
  return (int32_t)model_lookup(t->vals[f], t->n_vals[f], x);
}

/* Value of index i of the init model's vocabulary f (-1 for unknown). */
static int64_t init_val(const struct hv_model *im, int f, int32_t i)
{
  return i > 0 ? im->vals[f][i - 1] : -1;
}

static void user_features(struct trainer *t)
{
  const struct hv_model *im = t->init;
  for (size_t r = 1; r <= t->n_users; r++) {
    int64_t id = t->user_ids[r - 1];
    int32_t *f = t->user_feat + 3 * r;
    size_t k = model_lookup(t->US->id, t->US->n, id);
    size_t ir = im ? model_lookup(im->user_ids, im->n_users, id) : 0;
    if (k) {
      f[0] = fidx(t, 0, t->US->age_bucket[k - 1]);
      f[1] = fidx(t, 1, t->US->gender[k - 1]);
      f[2] = fidx(t, 2, t->US->occupation[k - 1]);
    } else if (ir) {
      for (int c = 0; c < 3; c++)
        f[c] = fidx(t, c, init_val(im, c, im->F.user_feat[3 * ir + c]));
    }
  }
}

static int movie_features(struct trainer *t, struct hv_err *err)
{
  const struct hv_model *im = t->init;
  size_t cap = n_genres(t->MS) +
               (im ? (size_t)im->F.genre_off[im->n_movies + 1] : 0);
  t->genre = malloc((cap ? cap : 1) * sizeof(int32_t));
  if (!t->genre)
    return NOMEM("genres");
  size_t ng = 0;
  for (size_t r = 1; r <= t->n_movies; r++) {
    int64_t id = t->movie_ids[r - 1];
    size_t k = model_lookup(t->MS->id, t->MS->n, id);
    size_t ir = im ? model_lookup(im->movie_ids, im->n_movies, id) : 0;
    t->genre_off[r] = (int32_t)ng;
    if (k) {
      int y = t->MS->year[k - 1];
      t->movie_year[r] = y > 0 ? fidx(t, 4, model_year_bucket(y)) : 0;
      for (size_t g = t->MS->genre_off[k - 1]; g < t->MS->genre_off[k]; g++)
        t->genre[ng++] = fidx(t, 3, t->MS->genre_ids[g]);
    } else if (ir) {
      t->movie_year[r] = fidx(t, 4, init_val(im, 4, im->F.movie_year[ir]));
      for (int32_t g = im->F.genre_off[ir]; g < im->F.genre_off[ir + 1]; g++)
        t->genre[ng++] = fidx(t, 3, init_val(im, 3, im->F.genre[g]));
    }
  }
  t->genre_off[t->n_movies + 1] = (int32_t)ng;
  return 0;
}

/* ---- parameters ------------------------------------------------------------ */

/* Row of init's table tab holding the same id/value as row r of ours. */
static size_t init_row(const struct trainer *t, int tab, size_t r)
{
  const struct hv_model *im = t->init;
  if (r == 0)
    return 0;
  if (tab == TAB_USER)
    return model_lookup(im->user_ids, im->n_users, t->user_ids[r - 1]);
  if (tab == TAB_MOVIE)
    return model_lookup(im->movie_ids, im->n_movies, t->movie_ids[r - 1]);
  int f = tab - TAB_AGE;
  return model_lookup(im->vals[f], im->n_vals[f], t->vals[f][r - 1]);
}

static void init_params(struct trainer *t, size_t *new_users,
                        size_t *new_movies)
{
  const struct hv_model *im = t->init;
  const int d = t->L.dim;
  const float s = (float)t->cfg.init_scale;
  int same_opt = im && im->meta.cfg.optimizer == t->cfg.optimizer;
  optim_init_state(t->cfg.optimizer, t->state, t->L.n_params, 0,
                   t->L.n_params);
  for (int tab = 0; tab < TAB_COUNT; tab++) {
    for (size_t r = 0; r < t->L.rows[tab]; r++) {
      float *p = t->params + t->L.off[tab] + r * d;
      size_t ir = im && im->L.rows[tab] ? init_row(t, tab, r) : 0;
      int have = im && im->L.rows[tab] && (ir || r == 0);
      if (have) {
        size_t io = im->L.off[tab] + ir * d;
        memcpy(p, im->params + io, sizeof(float) * d);
        for (int k = 0; same_opt && k < t->n_slots; k++)
          memcpy(t->state + k * t->L.n_params + t->L.off[tab] + r * d,
                 im->opt_state + k * im->L.n_params + io, sizeof(float) * d);
        continue;
      }
      if (im && tab == TAB_USER)
        (*new_users)++;
      if (im && tab == TAB_MOVIE)
        (*new_movies)++;
      /* New id rows: random; with features on a continued model starts
       * them at 0 so the feature towers give the vector (cold start).
       * Feature tables start at 0. */
      int random = tab <= TAB_MOVIE && !(im && t->cfg.features);
      for (int k = 0; k < d; k++)
        p[k] = random ? rng_xo_uniform(&t->rng, s) : 0.0f;
    }
  }
  if (same_opt)
    t->adam_step = im->meta.adam_step;
}

/* The user feature tables to leave out: features the dataset lacks
 * (users.absent) that have no values and that an init model does not
 * carry a table of (its learnt rows are kept). */
static unsigned user_tables_off(const struct trainer *t)
{
  const struct hv_model *im = t->init;
  unsigned off = 0;
  for (int k = 0; t->cfg.features && k < 3; k++)
    if ((t->US->absent & (1u << k)) && t->n_vals[k] == 0 &&
        !(im && im->L.rows[TAB_AGE + k]))
      off |= 1u << k;
  return off;
}

static int setup_model(struct trainer *t, size_t *new_users,
                       size_t *new_movies, struct hv_err *err)
{
  t->user_feat = calloc(3 * (t->n_users + 1), sizeof(int32_t));
  t->movie_year = calloc(t->n_movies + 1, sizeof(int32_t));
  t->genre_off = calloc(t->n_movies + 2, sizeof(int32_t));
  if (!t->user_feat || !t->movie_year || !t->genre_off)
    return NOMEM("features");
  user_features(t);
  if (movie_features(t, err))
    return err->code;
  model_layout_init(&t->L, t->cfg.dim, t->n_users, t->n_movies, t->n_vals,
                    t->cfg.features);
  model_layout_drop_user(&t->L, user_tables_off(t));
  t->n_slots = optim_slots(t->cfg.optimizer);
  t->params = malloc(t->L.n_params * sizeof(float));
  t->grad = calloc(t->L.n_params, sizeof(float));
  t->state = malloc(t->L.n_params * t->n_slots * sizeof(float));
  if (!t->params || !t->grad || !t->state)
    return NOMEM("parameters");
  init_params(t, new_users, new_movies);
  return 0;
}

/* ---- data ------------------------------------------------------------------ */

/* Rows of the ratings in split order: perm[0..n_train) the train split,
 * the rest the test split. Memory: the split's rows are 8 B a rating, the
 * epoch order 4 B a train rating; nothing else per rating outlives this. */
static int split_data(struct trainer *t, struct hv_err *err)
{
  const size_t n = t->R->n;
  t->n_train = model_split_n_train(t->cfg.split, n);
  t->n_test = n - t->n_train;
  if (t->n_train > UINT32_MAX)
    return hv_err_set(err, HV_ETOOBIG, "train: %zu training ratings; at "
                      "most %u fit one process (use --distributed)",
                      t->n_train, (unsigned)UINT32_MAX);
  size_t *perm = malloc((n ? n : 1) * sizeof(size_t));
  t->tr_u = malloc((t->n_train + 1) * sizeof(int32_t));
  t->tr_m = malloc((t->n_train + 1) * sizeof(int32_t));
  t->te_u = malloc((t->n_test + 1) * sizeof(int32_t));
  t->te_m = malloc((t->n_test + 1) * sizeof(int32_t));
  t->order = malloc((t->n_train + 1) * sizeof(uint32_t));
  t->movie_count = calloc(t->n_movies + 1, sizeof(int64_t));
  t->logq_by_row = malloc((t->n_movies + 1) * sizeof(float));
  if (!perm || !t->tr_u || !t->tr_m || !t->te_u || !t->te_m || !t->order ||
      !t->movie_count || !t->logq_by_row) {
    free(perm);
    return NOMEM("split");
  }
  rng_numpy_permutation((uint32_t)t->cfg.seed, perm, n);
  for (size_t i = 0; i < n; i++) {
    size_t j = perm[i];
    int32_t u = (int32_t)model_lookup(t->user_ids, t->n_users,
                                      t->R->user_id[j]);
    int32_t m = (int32_t)model_lookup(t->movie_ids, t->n_movies,
                                      t->R->movie_id[j]);
    if (i < t->n_train) {
      t->tr_u[i] = u;
      t->tr_m[i] = m;
      t->movie_count[m]++;
    } else {
      t->te_u[i - t->n_train] = u;
      t->te_m[i - t->n_train] = m;
    }
  }
  free(perm);
  for (size_t r = 0; r <= t->n_movies; r++)
    t->logq_by_row[r] = train_logq(t->movie_count[r], t->n_train);
  return 0;
}

static int segments_by_row(struct trainer *t, struct hv_err *err)
{
  t->gender_by_row = calloc(t->n_users + 1, sizeof(int));
  t->age_by_row = malloc((t->n_users + 1) * sizeof(int));
  if (!t->gender_by_row || !t->age_by_row)
    return NOMEM("segments");
  t->age_by_row[0] = -1;
  for (size_t r = 1; r <= t->n_users; r++) {
    size_t k = model_lookup(t->US->id, t->US->n, t->user_ids[r - 1]);
    t->gender_by_row[r] = k ? t->US->gender[k - 1] : 0;
    t->age_by_row[r] = k ? t->US->age_bucket[k - 1] : -1;
  }
  return 0;
}

/* ---- vocabularies for the ranking trainer ------------------------------------ */

static int use_data(struct trainer *t, const struct hv_dataset *ds,
                    struct hv_err *err);

void model_vocab_free(struct model_vocab *v)
{
  if (!v)
    return;
  free(v->user_ids);
  free(v->movie_ids);
  for (int f = 0; f < MODEL_NFEAT; f++)
    free(v->vals[f]);
  HV_FREE_ALL(v->user_feat, v->movie_year, v->genre_off, v->genre,
              v->gender_by_row, v->age_by_row);
  memset(v, 0, sizeof(*v));
}

/* The trainer's own vocabulary code on a trainer without init model, its
 * arrays then handed over to v. */
int model_vocab_build(const struct hv_dataset *ds, struct model_vocab *v,
                      struct hv_err *err)
{
  struct trainer t;
  memset(&t, 0, sizeof(t));
  memset(v, 0, sizeof(*v));
  int rc = use_data(&t, ds, err) || build_vocab(&t, err) ? err->code : 0;
  if (!rc) {
    t.user_feat = calloc(3 * (t.n_users + 1), sizeof(int32_t));
    t.movie_year = calloc(t.n_movies + 1, sizeof(int32_t));
    t.genre_off = calloc(t.n_movies + 2, sizeof(int32_t));
    if (!t.user_feat || !t.movie_year || !t.genre_off)
      rc = NOMEM("features");
  }
  if (!rc) {
    user_features(&t);
    rc = movie_features(&t, err) || segments_by_row(&t, err) ? err->code : 0;
  }
  if (!rc) {
    v->n_users = t.n_users;
    v->n_movies = t.n_movies;
    v->user_ids = t.user_ids;
    v->movie_ids = t.movie_ids;
    t.user_ids = t.movie_ids = NULL;
    for (int f = 0; f < MODEL_NFEAT; f++) {
      v->n_vals[f] = t.n_vals[f];
      v->vals[f] = t.vals[f];
      t.vals[f] = NULL;
    }
    v->user_feat = t.user_feat;
    v->movie_year = t.movie_year;
    v->genre_off = t.genre_off;
    v->genre = t.genre;
    v->gender_by_row = t.gender_by_row;
    v->age_by_row = t.age_by_row;
    v->absent = ds->users.absent;
    t.cfg.features = 1; /* the ranking trainer applies it with features */
    v->user_off = user_tables_off(&t);
    t.user_feat = t.movie_year = t.genre_off = t.genre = NULL;
    t.gender_by_row = t.age_by_row = NULL;
  }
  trainer_free(&t);
  return rc;
}

/* ---- the loop -------------------------------------------------------------- */

/* Data-parallel batch (TRAIN_DIST_SCHEME, model.h): this rank's range of
 * the batch's distinct users, then one sum of dU and dM over the ranks.
 * dU rows outside the range are sent as zeros, so each summed row is its
 * owner's exactly (x + 0 = x); dM rows are sums of every rank's share.
 * Returns this rank's part of the loss (summed over ranks per epoch). */
static double dist_loss(struct trainer *t, const struct loss_opts *lo)
{
  const struct train_dist *D = t->dist;
  struct loss_ws *w = t->ws;
  const size_t d = (size_t)t->L.dim, nu = w->nu, nm = w->nm;
  size_t u0 = nu * (size_t)D->rank / (size_t)D->size;
  size_t u1 = nu * (size_t)(D->rank + 1) / (size_t)D->size;
  double loss = loss_distinct_users(w, lo, 1, u0, u1, D->rank == 0);
  t->flop += 6.0 * (double)(u1 - u0) * (double)nm * (double)d;
  float *b = t->cbuf;
  memset(b, 0, u0 * d * sizeof(float));
  memcpy(b + u0 * d, w->dU + u0 * d, (u1 - u0) * d * sizeof(float));
  memset(b + u1 * d, 0, (nu - u1) * d * sizeof(float));
  memcpy(b + nu * d, w->dM, nm * d * sizeof(float));
  double c0 = hv_mono();
  D->sum_f32(D->ud, b, (nu + nm) * d);
  t->comm_s += hv_mono() - c0;
  t->comm_bytes += (double)((nu + nm) * d * sizeof(float));
  memcpy(w->dU, b, nu * d * sizeof(float));
  memcpy(w->dM, b + nu * d, nm * d * sizeof(float));
  return loss;
}

/* FNV-1a over n bytes taken 8 at a time, continuing h (fingerprints of
 * what the ranks must agree on; not a cryptographic hash). */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *c = p;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, c + i, sizeof(x));
    h = (h ^ x) * 0x100000001b3ull;
  }
  for (; i < n; i++)
    h = (h ^ c[i]) * 0x100000001b3ull;
  return h;
}

/* What every rank must share before the first batch: the configuration
 * that shapes the batches and steps, the split and the initial weights. */
static uint64_t setup_fingerprint(const struct trainer *t)
{
  const struct train_config *c = &t->cfg;
  double reals[5] = {c->lr, c->split, c->l2, c->temperature, c->init_scale};
  int ints[7] = {c->dim, c->optimizer, c->epochs, c->batch, c->features,
                 c->logq, c->remove_accidental_hits};
  uint64_t h = fnv(0xcbf29ce484222325ull, reals, sizeof(reals));
  h = fnv(h, ints, sizeof(ints));
  h = fnv(h, &c->seed, sizeof(c->seed));
  h = fnv(h, &t->n_train, sizeof(t->n_train));
  h = fnv(h, &t->n_test, sizeof(t->n_test));
  h = fnv(h, t->tr_u, t->n_train * sizeof(int32_t));
  h = fnv(h, t->tr_m, t->n_train * sizeof(int32_t));
  return fnv(h, t->params, t->L.n_params * sizeof(float));
}

static double train_batch(struct trainer *t, size_t s, size_t B)
{
  const int d = t->L.dim;
  const int feat = t->cfg.features;
  struct loss_ws *w = t->ws;
  for (size_t i = 0; i < B; i++) {
    t->bu[i] = t->tr_u[t->order[s + i]];
    t->bm[i] = t->tr_m[t->order[s + i]];
  }
  loss_ws_group(w, t->bu, t->bm, B, t->cfg.logq ? t->logq_by_row : NULL);
  struct model_feats F = {t->user_feat, t->movie_year, t->genre_off,
                          t->genre};
  tower_forward(TOWER_USER, &t->L, t->params, &F, feat, w->urows, w->nu, w->U);
  tower_forward(TOWER_MOVIE, &t->L, t->params, &F, feat, w->mrows, w->nm, w->M);
  struct loss_opts lo = {t->cfg.temperature, t->cfg.l2,
                         t->cfg.remove_accidental_hits};
  double loss;
  if (t->dist) {
    loss = dist_loss(t, &lo);
  } else {
    loss = loss_distinct(w, &lo, 1);
    t->flop += 6.0 * (double)w->nu * (double)w->nm * d;
  }
  tower_backward(TOWER_USER, &t->L, &F, feat, w->urows, w->nu, w->dU, t->grad);
  tower_backward(TOWER_MOVIE, &t->L, &F, feat, w->mrows, w->nm, w->dM, t->grad);
  size_t ns = 0;
  for (size_t u = 0; u < w->nu; u++)
    t->spans[ns++] = (struct optim_span){
        t->L.off[TAB_USER] + (size_t)w->urows[u] * d, (size_t)d};
  for (size_t m = 0; m < w->nm; m++)
    t->spans[ns++] = (struct optim_span){
        t->L.off[TAB_MOVIE] + (size_t)w->mrows[m] * d, (size_t)d};
  if (feat && t->L.n_params > t->L.off[TAB_AGE])
    t->spans[ns++] = (struct optim_span){t->L.off[TAB_AGE],
                                         t->L.n_params - t->L.off[TAB_AGE]};
  t->adam_step++;
  optim_step(t->cfg.optimizer, t->cfg.lr, t->adam_step, t->params, t->state,
             t->L.n_params, t->grad, t->spans, ns);
  return loss;
}

/* Tower outputs of every row with the current weights (for eval). */
static int current_vecs(struct trainer *t, float **uv, float **mv)
{
  const int d = t->L.dim;
  size_t nu = t->n_users + 1, nm = t->n_movies + 1, nx = nu > nm ? nu : nm;
  int32_t *rows = malloc(nx * sizeof(int32_t));
  *uv = malloc(nu * d * sizeof(float));
  *mv = malloc(nm * d * sizeof(float));
  if (!rows || !*uv || !*mv) {
    free(rows);
    return HV_ENOMEM;
  }
  for (size_t i = 0; i < nx; i++)
    rows[i] = (int32_t)i;
  struct model_feats F = {t->user_feat, t->movie_year, t->genre_off, t->genre};
  const int feat = t->cfg.features;
  tower_forward(TOWER_USER, &t->L, t->params, &F, feat, rows, nu, *uv);
  tower_forward(TOWER_MOVIE, &t->L, t->params, &F, feat, rows, nm, *mv);
  free(rows);
  return 0;
}

static int run_epochs(struct trainer *t, const struct train_callbacks *cb,
                      struct train_result *res, struct hv_err *err)
{
  const size_t B = (size_t)t->cfg.batch;
  for (int ep = 0; ep < t->cfg.epochs; ep++) {
    double t0 = hv_mono(), loss = 0.0;
    for (size_t i = 0; i < t->n_train; i++)
      t->order[i] = (uint32_t)i;
    rng_xo_shuffle_u32(&t->rng, t->order, t->n_train);
    for (size_t s = 0; s < t->n_train; s += B)
      loss += train_batch(t, s, t->n_train - s < B ? t->n_train - s : B);
    if (t->dist) {
      double c0 = hv_mono();
      t->dist->sum_f64(t->dist->ud, &loss, 1);
      t->comm_s += hv_mono() - c0;
      t->comm_bytes += sizeof(double);
    }
    double dt = hv_mono() - t0;
    res->epoch_seconds[ep] = dt;
    res->epoch_loss[ep] = loss;
    res->epochs = ep + 1;
    t->epochs_total++;
    if (!isfinite(loss))
      return hv_err_set(err, HV_EINVAL,
                        "train: the loss diverged at epoch %d; lower --lr "
                        "or raise --temperature", ep + 1);
    struct eval_metrics m, *mp = NULL;
    if (t->cfg.eval_every && (ep + 1) % t->cfg.eval_every == 0 &&
        t->n_test && !(t->dist && t->dist->rank)) {
      float *uv = NULL, *mv = NULL;
      int rc = current_vecs(t, &uv, &mv);
      if (!rc)
        rc = train_eval_split(t, uv, mv, 1, &m, err);
      else
        NOMEM("eval");
      free(uv);
      free(mv);
      if (rc)
        return rc;
      mp = &m;
    }
    if (cb && cb->on_epoch)
      cb->on_epoch(cb->ud, ep + 1, loss, dt, mp);
  }
  return 0;
}

/* What only the epochs use; trainer_free copes with the NULLs. */
static void free_epoch_buffers(struct trainer *t)
{
  HV_FREE_ALL(t->grad, t->spans, t->bu, t->bm, t->cbuf);
  t->grad = t->cbuf = NULL;
  t->spans = NULL;
  t->bu = t->bm = NULL;
  loss_ws_free(t->ws);
  t->ws = NULL;
}

static int make_model(struct trainer *t, struct hv_model **out,
                      struct hv_err *err)
{
  struct model_parts p;
  model_parts_start(&p, &t->cfg, t->adam_step, t->epochs_total, t->n_train,
                    &t->L);
  p.n_users = t->n_users;
  p.n_movies = t->n_movies;
  p.user_ids = t->user_ids;
  p.movie_ids = t->movie_ids;
  for (int f = 0; f < MODEL_NFEAT; f++) {
    p.n_vals[f] = t->n_vals[f];
    p.vals[f] = t->vals[f];
  }
  p.F = (struct model_feats){t->user_feat, t->movie_year, t->genre_off,
                             t->genre};
  p.movie_count = t->movie_count;
  p.params = t->params;
  p.opt_state = t->state;
  p.n_slots = t->n_slots;
  /* the epochs are over: the gradient and the batch workspace go before
   * the image is built, the weights and optimiser state once they are in
   * it (peak: one copy of them, not two plus the tower outputs) */
  free_epoch_buffers(t);
  unsigned char *img = NULL;
  size_t len = 0;
  int rc = modelfile_build(&p, &img, &len, err);
  free(t->params);
  free(t->state);
  t->params = t->state = NULL;
  if (rc)
    return rc;
  return model_from_image(img, len, 0, out, err);
}

/* Borrow ds's columns; the model's lineage is ds's range. */
static int use_data(struct trainer *t, const struct hv_dataset *ds,
                    struct hv_err *err)
{
  if (dataset_check(ds, "train", err))
    return err->code;
  if (ds->ratings.n == 0)
    return hv_err_set(err, HV_ENOTFOUND,
                      "train: the dataset has no ratings (range %lld:%lld); "
                      "import data first ('harvest data import')",
                      (long long)ds->first_rating_id,
                      (long long)ds->last_rating_id);
  t->R = &ds->ratings;
  t->n_ratings = ds->ratings.n;
  t->US = &ds->users;
  t->MS = &ds->movies;
  t->cfg.first_rating_id = ds->first_rating_id;
  t->cfg.last_rating_id = ds->last_rating_id;
  return 0;
}

static int prepare(struct trainer *t, struct train_result *res,
                   struct hv_err *err)
{
  const size_t B = (size_t)t->cfg.batch;
  size_t cap = B < t->n_ratings ? B : t->n_ratings;
  t->ws = loss_ws_new(cap, t->n_users + 1, t->n_movies + 1, t->L.dim);
  t->spans = malloc((2 * cap + 1) * sizeof(struct optim_span));
  t->bu = malloc(cap * sizeof(int32_t));
  t->bm = malloc(cap * sizeof(int32_t));
  if (t->dist)
    t->cbuf = malloc(2 * cap * (size_t)t->L.dim * sizeof(float));
  res->epoch_seconds = calloc((size_t)t->cfg.epochs + 1, sizeof(double));
  res->epoch_loss = calloc((size_t)t->cfg.epochs + 1, sizeof(double));
  if (!t->ws || !t->spans || !t->bu || !t->bm || !res->epoch_seconds ||
      !res->epoch_loss || (t->dist && !t->cbuf))
    return NOMEM("workspace");
  t->cfg.batch = (int)B;
  return 0;
}

static int train_body(struct trainer *t, const struct hv_dataset *ds,
                      const struct train_callbacks *cb,
                      struct train_result *res, struct hv_model **out,
                      struct hv_err *err)
{
  int rc = use_data(t, ds, err) || build_vocab(t, err) ? err->code : 0;
  rng_xo_seed(&t->rng, t->cfg.seed ^ 0x6876747261696eull);
  if (!rc && (setup_model(t, &res->new_users, &res->new_movies, err) ||
              split_data(t, err) || segments_by_row(t, err) ||
              prepare(t, res, err)))
    rc = err->code;
  if (!rc && t->own) { /* train_run_take: the columns are not read again */
    ratings_cols_free(&t->own->ratings);
    t->R = NULL;
  }
  const struct train_dist *D = t->dist;
  /* every rank reaches both agreement points, failed or not, so one
   * rank's error ends all of them instead of leaving them waiting */
  if (D && D->agree(D->ud, rc, rc ? 0 : setup_fingerprint(t),
                    "data and settings", err))
    return err->code;
  if (rc)
    return rc;
  double t0 = hv_mono();
  rc = run_epochs(t, cb, res, err);
  if (D && D->agree(D->ud, rc,
                    rc ? 0 : fnv(0, t->params,
                                 t->L.n_params * sizeof(float)),
                    "trained weights", err))
    return err->code;
  if (rc)
    return rc;
  res->train_seconds = hv_mono() - t0;
  res->gemm_flop_per_epoch = res->epochs ? t->flop / res->epochs : 0.0;
  if (D) {
    res->world_size = D->size;
    res->comm_bytes_per_epoch = res->epochs ? t->comm_bytes / res->epochs
                                            : 0.0;
    res->comm_seconds = t->comm_s;
  }
  if (make_model(t, out, err))
    return err->code;
  res->n_ratings = t->n_ratings;
  res->n_train = t->n_train;
  res->n_test = t->n_test;
  res->n_users = t->n_users;
  res->n_movies = t->n_movies;
  if (D && D->rank)
    return 0; /* rank 0 alone evaluates and reports */
  t0 = hv_mono();
  if (train_eval_final(t, cb, *out, res, err))
    return err->code;
  res->has_test = t->n_test > 0;
  res->eval_seconds = hv_mono() - t0;
  return 0;
}

int train_hand_over(int rc, struct train_result *res,
                    struct train_result *res_out, struct hv_model **out)
{
  if (rc) {
    model_free(*out);
    *out = NULL;
    train_result_free(res);
    return rc;
  }
  if (res_out)
    *res_out = *res;
  else
    train_result_free(res);
  return 0;
}

int train_run_check(const struct train_config *c, struct hv_model **out,
                    struct hv_err *err)
{
  if (!out)
    return hv_err_set(err, HV_EINVAL, "train: no output model pointer");
  *out = NULL;
  return train_config_check(c, err);
}

/* train_run and train_run_take; own: the dataset whose ratings the
 * trainer may free (NULL: only read ds). */
static int train_common(const struct hv_dataset *ds, struct hv_dataset *own,
                        const struct train_config *c,
                        const struct hv_model *init_from,
                        const struct train_callbacks *cb,
                        struct train_result *res_out, struct hv_model **out,
                        struct hv_err *err)
{
  int rc = train_run_check(c, out, err);
  if (rc)
    return rc;
  if (!ds)
    return hv_err_set(err, HV_EINVAL, "train: no dataset");
  struct trainer t;
  memset(&t, 0, sizeof(t));
  t.cfg = *c;
  t.init = init_from;
  t.own = own;
  t.dist = cb ? cb->dist : NULL;
  if (t.dist && (t.dist->size < 1 || t.dist->rank < 0 ||
                 t.dist->rank >= t.dist->size || !t.dist->sum_f32 ||
                 !t.dist->sum_f64 || !t.dist->agree))
    return hv_err_set(err, HV_EINVAL, "train: bad process group (rank %d "
                      "of %d)", t.dist->rank, t.dist->size);
  if (init_from) {
    /* the stored shape wins: dim and feature towers */
    t.cfg.dim = init_from->L.dim;
    t.cfg.features = init_from->meta.cfg.features;
    t.epochs_total = init_from->meta.epochs_total;
  }
  if (c->threads > 0)
    openblas_set_num_threads(c->threads);
  if (c->task == MODEL_TASK_RANKING) {
    if (t.dist)
      return hv_err_set(err, HV_EINVAL, "train: data-parallel training "
                        "(--distributed) trains retrieval models only; "
                        "train the ranking model in one process");
    if (init_from)
      return hv_err_set(err, HV_EINVAL, "train: continuing a ranking model "
                        "(--init-from) is not supported; train it afresh");
    return rank_train(ds, c, cb, res_out, out, err);
  }
  struct train_result res;
  memset(&res, 0, sizeof(res));
  rc = train_body(&t, ds, cb, &res, out, err);
  trainer_free(&t);
  return train_hand_over(rc, &res, res_out, out);
}

int train_run(const struct hv_dataset *ds, const struct train_config *c,
              const struct hv_model *init_from,
              const struct train_callbacks *cb, struct train_result *res_out,
              struct hv_model **out, struct hv_err *err)
{
  return train_common(ds, NULL, c, init_from, cb, res_out, out, err);
}

int train_run_take(struct hv_dataset *ds, const struct train_config *c,
                   const struct hv_model *init_from,
                   const struct train_callbacks *cb,
                   struct train_result *res_out, struct hv_model **out,
                   struct hv_err *err)
{
  return train_common(ds, ds, c, init_from, cb, res_out, out, err);
}

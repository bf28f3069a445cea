/*
 * score.c - packed dot products, top-k selection and the model's scoring
 * entry points (model_recommend, model_score_users, model_scratch_size):
 * see score.h and model.h.
 *
 * Two builds of each kernel: AVX-512 intrinsics when the compiler targets
 * it (-march=native on this project's machines), else portable GCC vector
 * extensions (the sanitizer builds, which drop -march=native, test that
 * path). Both compute the same sums in the same order; the AVX-512 one
 * fuses each multiply-add, so the two differ in the last bits only.
 */
#include "model/score.h"

#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "model/ivf.h"
#include "model/model_internal.h"
#include "util/mem.h"

#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* ---- packed dot products ------------------------------------------------ */

_Static_assert(SCORE_BLOCK == 64, "dots_block handles 4 x 16 floats a row");

size_t score_pack_floats(size_t n, int d)
{
  if (d < 1)
    return 0;
  return (n + SCORE_BLOCK - 1) / SCORE_BLOCK * SCORE_BLOCK * (size_t)d;
}

float *score_pack(const float *rows, size_t n, int d)
{
  size_t nf = score_pack_floats(n, d);
  if (!rows || nf == 0 || nf > SIZE_MAX / sizeof(float))
    return NULL;
  /* nf * 4 bytes is a multiple of 256, as aligned_alloc wants */
  float *p = aligned_alloc(64, nf * sizeof(float));
  if (!p)
    return NULL;
  memset(p, 0, nf * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    /* block b = i / SCORE_BLOCK is (d, SCORE_BLOCK): column k of it holds
     * component k of its rows */
    float *blk = p + i / SCORE_BLOCK * SCORE_BLOCK * (size_t)d;
    size_t j = i % SCORE_BLOCK;
    for (int k = 0; k < d; k++)
      blk[(size_t)k * SCORE_BLOCK + j] = rows[i * (size_t)d + (size_t)k];
  }
  return p;
}

#ifdef __AVX512F__

/* The SCORE_BLOCK scores of one packed block B (d, 64) into out[0..64). */
static inline void dots_block(const float *B, int d, const float *u,
                              float *out)
{
  /* 8 independent accumulators (4 registers x even/odd k) hide the FMA
   * latency */
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int k = 0;
  for (; k + 1 < d; k += 2) {
    const float *p = B + (size_t)k * SCORE_BLOCK;
    __m512 x = _mm512_set1_ps(u[k]), y = _mm512_set1_ps(u[k + 1]);
    a0 = _mm512_fmadd_ps(x, _mm512_load_ps(p), a0);
    a1 = _mm512_fmadd_ps(x, _mm512_load_ps(p + 16), a1);
    a2 = _mm512_fmadd_ps(x, _mm512_load_ps(p + 32), a2);
    a3 = _mm512_fmadd_ps(x, _mm512_load_ps(p + 48), a3);
    b0 = _mm512_fmadd_ps(y, _mm512_load_ps(p + 64), b0);
    b1 = _mm512_fmadd_ps(y, _mm512_load_ps(p + 80), b1);
    b2 = _mm512_fmadd_ps(y, _mm512_load_ps(p + 96), b2);
    b3 = _mm512_fmadd_ps(y, _mm512_load_ps(p + 112), b3);
  }
  if (k < d) {
    const float *p = B + (size_t)k * SCORE_BLOCK;
    __m512 x = _mm512_set1_ps(u[k]);
    a0 = _mm512_fmadd_ps(x, _mm512_load_ps(p), a0);
    a1 = _mm512_fmadd_ps(x, _mm512_load_ps(p + 16), a1);
    a2 = _mm512_fmadd_ps(x, _mm512_load_ps(p + 32), a2);
    a3 = _mm512_fmadd_ps(x, _mm512_load_ps(p + 48), a3);
  }
  _mm512_storeu_ps(out, _mm512_add_ps(a0, b0));
  _mm512_storeu_ps(out + 16, _mm512_add_ps(a1, b1));
  _mm512_storeu_ps(out + 32, _mm512_add_ps(a2, b2));
  _mm512_storeu_ps(out + 48, _mm512_add_ps(a3, b3));
}

#else

typedef float v16 __attribute__((vector_size(64), may_alias));

/* The SCORE_BLOCK scores of one packed block B (d, 64) into out[0..64):
 * the same sums as the AVX-512 kernel, in portable vector code. */
static inline void dots_block(const float *B, int d, const float *u,
                              float *out)
{
  v16 a[4] = {{0}}, b[4] = {{0}};
  int k = 0;
  for (; k + 1 < d; k += 2) {
    const v16 *p = (const v16 *)(B + (size_t)k * SCORE_BLOCK);
    for (int r = 0; r < 4; r++) {
      a[r] += u[k] * p[r];
      b[r] += u[k + 1] * p[r + 4];
    }
  }
  if (k < d) {
    const v16 *p = (const v16 *)(B + (size_t)k * SCORE_BLOCK);
    for (int r = 0; r < 4; r++)
      a[r] += u[k] * p[r];
  }
  for (int r = 0; r < 4; r++) {
    v16 s = a[r] + b[r];
    memcpy(out + 16 * r, &s, sizeof(s));
  }
}

#endif

void score_dots(const float *packed, size_t n, int d, const float *u,
                float *out)
{
  /* score_pack's block: the AVX-512 kernel's aligned loads need it */
  assert(d >= 1 && ((uintptr_t)packed & 63) == 0);
  size_t full = n / SCORE_BLOCK, stride = (size_t)SCORE_BLOCK * (size_t)d;
  for (size_t b = 0; b < full; b++)
    dots_block(packed + b * stride, d, u, out + b * SCORE_BLOCK);
  size_t rest = n - full * SCORE_BLOCK;
  if (rest) { /* the padded last block: only n - full*64 scores are kept */
    float tail[SCORE_BLOCK];
    dots_block(packed + full * stride, d, u, tail);
    memcpy(out + full * SCORE_BLOCK, tail, rest * sizeof(float));
  }
}

float score_dot_row(const float *row, int d, const float *u)
{
  /* dots_block's two chains: even components into a, odd into b */
  float a = 0.0f, b = 0.0f;
  int k = 0;
  for (; k + 1 < d; k += 2) {
#ifdef __AVX512F__
    a = fmaf(u[k], row[k], a);
    b = fmaf(u[k + 1], row[k + 1], b);
#else
    a += u[k] * row[k];
    b += u[k + 1] * row[k + 1];
#endif
  }
  if (k < d) {
#ifdef __AVX512F__
    a = fmaf(u[k], row[k], a);
#else
    a += u[k] * row[k];
#endif
  }
  return a + b;
}

/* ---- top-k -------------------------------------------------------------- */

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

/* The heap of the best entries seen so far: idx[0..h) with the worst at
 * idx[0]; an entry gets in when it scores at least lb (a lower bound of
 * the k-th best score, see class_bound) and above thr (-INFINITY while the
 * heap is not full, so masked and NaN entries never enter; then the worst
 * score in it). Entries arrive by ascending index, so an entry tying the
 * worst never beats it. */
struct topk {
  const float *sc;
  int64_t *idx;
  size_t h, k;
  float thr, lb;
};

static inline void topk_offer(struct topk *t, size_t i)
{
  float x = t->sc[i];
  if (!(x > t->thr && x >= t->lb))
    return;
  if (t->h < t->k) {
    t->idx[t->h] = (int64_t)i;
    sift_up(t->sc, t->idx, t->h++);
  } else {
    t->idx[0] = (int64_t)i;
    sift_down(t->sc, t->idx, t->h, 0);
  }
  if (t->h == t->k)
    t->thr = t->sc[t->idx[0]];
}

#define CLASSES 16 /* residue classes of class_bound */

/* A lower bound of the k-th best score of sc[0..n) (k <= CLASSES), so the
 * scan can skip what cannot make the top k: the maxima of the CLASSES
 * residue classes i mod CLASSES are CLASSES distinct entries, so at least
 * k entries score >= the k-th largest of them. NaN is ignored; -INFINITY
 * when fewer than k classes hold a finite score (then there is no bound).
 * On a random order only a few times k entries pass it, where the running
 * threshold alone lets O(k log(n/k)) through the heap. */
static float class_bound(const float *sc, size_t n, size_t k)
{
  float cm[CLASSES];
  size_t i = 0;
  assert(k >= 1 && k <= CLASSES); /* cm[k - 1] below */
#ifdef __AVX512F__
  /* four chains hide the max latency; max(x, a) keeps a when x is NaN */
  __m512 a0 = _mm512_set1_ps(-INFINITY), a1 = a0, a2 = a0, a3 = a0;
  for (; i + 4 * CLASSES <= n; i += 4 * CLASSES) {
    a0 = _mm512_max_ps(_mm512_loadu_ps(sc + i), a0);
    a1 = _mm512_max_ps(_mm512_loadu_ps(sc + i + 16), a1);
    a2 = _mm512_max_ps(_mm512_loadu_ps(sc + i + 32), a2);
    a3 = _mm512_max_ps(_mm512_loadu_ps(sc + i + 48), a3);
  }
  _mm512_storeu_ps(cm, _mm512_max_ps(_mm512_max_ps(a0, a1),
                                     _mm512_max_ps(a2, a3)));
#else
  for (int c = 0; c < CLASSES; c++)
    cm[c] = -INFINITY;
#endif
  for (; i < n; i++)
    if (sc[i] > cm[i % CLASSES])
      cm[i % CLASSES] = sc[i];
  /* k-th largest: insertion sort of CLASSES values, descending */
  for (int a = 1; a < CLASSES; a++) {
    float x = cm[a];
    int b = a;
    for (; b > 0 && cm[b - 1] < x; b--)
      cm[b] = cm[b - 1];
    cm[b] = x;
  }
  return cm[k - 1];
}

size_t score_topk(const float *sc, size_t n, size_t k, int64_t *idx)
{
  if (k == 0 || !sc || !idx)
    return 0;
  struct topk t = {sc, idx, 0, k, -INFINITY, -INFINITY};
  if (k <= CLASSES && n >= 4 * CLASSES)
    t.lb = class_bound(sc, n, k);
  size_t i = 0;
#ifdef __AVX512F__
  /* 16 scores per compare; most blocks hold none that can get in */
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(sc + i);
    __mmask16 m = _mm512_cmp_ps_mask(x, _mm512_set1_ps(t.thr), _CMP_GT_OQ) &
                  _mm512_cmp_ps_mask(x, _mm512_set1_ps(t.lb), _CMP_GE_OQ);
    while (m) {
      topk_offer(&t, i + (size_t)__builtin_ctz(m)); /* rechecks thr */
      m &= (__mmask16)(m - 1);
    }
  }
#endif
  for (; i < n; i++)
    topk_offer(&t, i);
  /* heap sort: repeatedly move the worst to the end -> best first */
  for (size_t end = t.h; end > 1; end--) {
    int64_t x = idx[0];
    idx[0] = idx[end - 1];
    idx[end - 1] = x;
    sift_down(sc, idx, end - 1, 0);
  }
  return t.h;
}

/* ---- the model's entry points ------------------------------------------- */

/* Bytes of the exclusion rows ahead of the index's scratch. */
static size_t excl_bytes(const struct hv_model *m)
{
  return ((m->n_movies + 1) * sizeof(uint32_t) + 7) / 8 * 8;
}

size_t model_scratch_size(const struct hv_model *m)
{
  if (!m)
    return 0;
  size_t exact = m->n_movies + 1;
  if (!m->ivf)
    return exact;
  size_t ix = (excl_bytes(m) + ivf_scratch_bytes(m->ivf, MODEL_INDEX_MAX_K) +
               sizeof(float) - 1) / sizeof(float);
  return ix > exact ? ix : exact;
}

/* The top k movies (indexes into movie_ids, best first) of user row, with
 * their scores in sc (may be NULL), the movies of the ascending excl ids
 * masked: through the index when one is attached and k is within
 * MODEL_INDEX_MAX_K, else every movie scored. Returns how many. */
static size_t row_topk(const struct hv_model *m, size_t row, size_t k,
                       const int64_t *excl, size_t n_excl, int64_t *idx,
                       float *sc, float *scratch)
{
  const int d = m->L.dim;
  const size_t nm = m->n_movies;
  const float *u = m->user_vec + row * d;
  if (m->ivf && k <= MODEL_INDEX_MAX_K) {
    /* scratch (8-byte aligned from malloc): the excluded rows, ascending
     * as the ids are, then the index's own scratch */
    uint32_t *er = (uint32_t *)(void *)scratch;
    size_t ne = 0;
    for (size_t e = 0; e < n_excl; e++) {
      size_t r = model_lookup(m->movie_ids, nm, excl[e]);
      if (r)
        er[ne++] = (uint32_t)(r - 1);
    }
    return ivf_search(m->ivf, m->movie_vec + d, u, k, 0, er, ne, idx, sc,
                      (unsigned char *)scratch + excl_bytes(m));
  }
  /* scratch[i] = <movie i+1, user> for the nm known movies */
  score_dots(m->movie_pack, nm, d, u, scratch);
  for (size_t e = 0; e < n_excl; e++) {
    size_t r = model_lookup(m->movie_ids, nm, excl[e]);
    if (r)
      scratch[r - 1] = -INFINITY;
  }
  size_t got = score_topk(scratch, nm, k, idx);
  for (size_t i = 0; sc && i < got; i++)
    sc[i] = scratch[idx[i]];
  return got;
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
  size_t got = row_topk(m, row, (size_t)n, exclude_sorted, n_exclude,
                        out_movie_ids, out_scores, scratch);
  for (size_t i = 0; i < got; i++)
    out_movie_ids[i] = m->movie_ids[out_movie_ids[i]];
  return (int)got;
}

int model_score_users(const struct hv_model *m, const int64_t *user_ids,
                      size_t n_users, float *out, struct hv_err *err)
{
  if (!m || (n_users && (!user_ids || !out)))
    return hv_err_set(err, HV_EINVAL, "score: bad arguments");
  const int d = m->L.dim;
  const size_t nm = m->n_movies;
  /* the same kernel as model_recommend, so these scores rank exactly as
   * the served recommendations do; rows of out are independent so the
   * caller may split users across threads */
  for (size_t i = 0; i < n_users; i++) {
    size_t row = model_lookup(m->user_ids, m->n_users, user_ids[i]);
    score_dots(m->movie_pack, nm, d, m->user_vec + row * d, out + i * nm);
  }
  return 0;
}

/* ---- the serving memo of each user's top k ------------------------------ */

enum { TC_EMPTY, TC_FILLING, TC_READY };
_Static_assert(MODEL_TOPCACHE_MAX_K <= UINT16_MAX, "got[] is uint16_t");

struct hv_topcache {
  const struct hv_model *m;
  size_t rows;                /* n_users + 1 (row 0: the OOV row) */
  int k;
  _Atomic unsigned char *state; /* (rows) TC_* */
  uint16_t *got;              /* (rows) entries kept, <= k */
  uint32_t *movie;            /* (rows, k) movie indexes, best first */
  float *score;               /* (rows, k) */
  atomic_size_t filled;
};

struct hv_topcache *model_topcache_new(const struct hv_model *m, int k)
{
  if (!m || k < 1 || k > MODEL_TOPCACHE_MAX_K ||
      m->n_users >= SIZE_MAX / MODEL_TOPCACHE_MAX_K / sizeof(float))
    return NULL;
  struct hv_topcache *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->m = m;
  c->rows = m->n_users + 1;
  c->k = k;
  /* calloc: big blocks come zeroed from mmap, untouched pages cost no RSS */
  c->state = calloc(c->rows, sizeof(*c->state));
  c->got = calloc(c->rows, sizeof(*c->got));
  c->movie = calloc(c->rows * (size_t)k, sizeof(*c->movie));
  c->score = calloc(c->rows * (size_t)k, sizeof(*c->score));
  atomic_init(&c->filled, 0);
  if (!c->state || !c->got || !c->movie || !c->score) {
    model_topcache_free(c);
    return NULL;
  }
  return c;
}

void model_topcache_free(struct hv_topcache *c)
{
  if (!c)
    return;
  HV_FREE_ALL((void *)c->state, c->got, c->movie, c->score, c);
}

size_t model_topcache_users(const struct hv_topcache *c)
{
  return c ? atomic_load_explicit(&c->filled, memory_order_relaxed) : 0;
}

/* Copy the first n of row's entry out as movie ids; returns how many. */
static int topcache_copy(const struct hv_topcache *c, size_t row, int n,
                         int64_t *ids, float *scores)
{
  const uint32_t *mv = c->movie + row * (size_t)c->k;
  const float *sc = c->score + row * (size_t)c->k;
  int got = c->got[row] < n ? c->got[row] : n;
  for (int i = 0; i < got; i++) {
    ids[i] = c->m->movie_ids[mv[i]];
    if (scores)
      scores[i] = sc[i];
  }
  return got;
}

/* Compute row's top k into the memo (when no other thread is at it) and
 * copy its first n out. */
static int topcache_fill(struct hv_topcache *c, size_t row, int n,
                         int64_t *ids, float *scores, float *scratch)
{
  const struct hv_model *m = c->m;
  int64_t idx[MODEL_TOPCACHE_MAX_K];
  float sc[MODEL_TOPCACHE_MAX_K];
  /* model_topcache_new bounds k (idx, sc, and got fits its uint16_t) */
  assert(row >= 1 && row < c->rows && c->k <= MODEL_TOPCACHE_MAX_K);
  int got = (int)row_topk(m, row, (size_t)c->k, NULL, 0, idx, sc, scratch);
  unsigned char empty = TC_EMPTY;
  if (atomic_compare_exchange_strong_explicit(&c->state[row], &empty,
                                              TC_FILLING, memory_order_acquire,
                                              memory_order_relaxed)) {
    uint32_t *mv = c->movie + row * (size_t)c->k;
    float *cs = c->score + row * (size_t)c->k;
    for (int i = 0; i < got; i++) {
      mv[i] = (uint32_t)idx[i];
      cs[i] = sc[i];
    }
    c->got[row] = (uint16_t)got;
    atomic_store_explicit(&c->state[row], TC_READY, memory_order_release);
    atomic_fetch_add_explicit(&c->filled, 1, memory_order_relaxed);
  }
  int out = got < n ? got : n;
  for (int i = 0; i < out; i++) {
    if (scores)
      scores[i] = sc[i];
    ids[i] = m->movie_ids[idx[i]];
  }
  return out;
}

int model_recommend_cached(const struct hv_model *m, struct hv_topcache *c,
                           int64_t user_id, int n,
                           const int64_t *exclude_sorted, size_t n_exclude,
                           int64_t *out_movie_ids, float *out_scores,
                           float *scratch, struct hv_err *err)
{
  size_t row = c && c->m == m && n <= c->k && !n_exclude && out_movie_ids &&
                       scratch && n >= 1
                   ? model_lookup(m->user_ids, m->n_users, user_id)
                   : 0;
  if (!row) /* not memoised, or an error model_recommend reports */
    return model_recommend(m, user_id, n, exclude_sorted, n_exclude,
                           out_movie_ids, out_scores, scratch, err);
  if (atomic_load_explicit(&c->state[row], memory_order_acquire) == TC_READY)
    return topcache_copy(c, row, n, out_movie_ids, out_scores);
  return topcache_fill(c, row, n, out_movie_ids, out_scores, scratch);
}

/* ---- the serving memo of one record per user ----------------------------- */

struct hv_usermemo {
  const struct hv_model *m;
  size_t rows, rec;             /* n_users + 1; bytes a record */
  _Atomic unsigned char *state; /* (rows) TC_* */
  unsigned char *data;          /* (rows, rec) */
  atomic_size_t filled;
};

struct hv_usermemo *model_usermemo_new(const struct hv_model *m,
                                       size_t rec_size)
{
  if (!m || rec_size == 0 || rec_size > (1u << 20) ||
      m->n_users >= SIZE_MAX / (1u << 20))
    return NULL;
  struct hv_usermemo *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->m = m;
  c->rows = m->n_users + 1;
  c->rec = rec_size;
  c->state = calloc(c->rows, sizeof(*c->state));
  c->data = calloc(c->rows, rec_size);
  atomic_init(&c->filled, 0);
  if (!c->state || !c->data) {
    model_usermemo_free(c);
    return NULL;
  }
  return c;
}

void model_usermemo_free(struct hv_usermemo *c)
{
  if (!c)
    return;
  HV_FREE_ALL((void *)c->state, c->data, c);
}

const void *model_usermemo_get(const struct hv_usermemo *c, int64_t user_id)
{
  size_t row = c ? model_lookup(c->m->user_ids, c->m->n_users, user_id) : 0;
  if (!row ||
      atomic_load_explicit(&c->state[row], memory_order_acquire) != TC_READY)
    return NULL;
  return c->data + row * c->rec;
}

int model_usermemo_put(struct hv_usermemo *c, int64_t user_id,
                       const void *rec)
{
  size_t row = c && rec ? model_lookup(c->m->user_ids, c->m->n_users, user_id)
                        : 0;
  unsigned char empty = TC_EMPTY;
  if (!row || !atomic_compare_exchange_strong_explicit(
                  &c->state[row], &empty, TC_FILLING, memory_order_acquire,
                  memory_order_relaxed))
    return 0;
  memcpy(c->data + row * c->rec, rec, c->rec);
  atomic_store_explicit(&c->state[row], TC_READY, memory_order_release);
  atomic_fetch_add_explicit(&c->filled, 1, memory_order_relaxed);
  return 1;
}

size_t model_usermemo_users(const struct hv_usermemo *c)
{
  return c ? atomic_load_explicit(&c->filled, memory_order_relaxed) : 0;
}

/* ---- neighbours in the movie tower's space ------------------------------- */

static float cosine(const float *a, const float *b, int d)
{
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (int i = 0; i < d; i++) {
    ab += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    bb += (double)b[i] * b[i];
  }
  return aa > 0.0 && bb > 0.0 ? (float)(ab / sqrt(aa * bb)) : 0.0f;
}

/* (s, id) ranks before (t, tid): higher similarity, then lower id. */
static int nb_before(float s, int64_t id, float t, int64_t tid)
{
  return s > t || (s == t && id < tid);
}

int model_movie_neighbours(const struct hv_model *m, int64_t movie_id,
                           const int64_t *cand_ids, size_t n, int k,
                           int64_t *out_ids, float *out_sims)
{
  if (!m || k < 0 || (n && !cand_ids) || (k && (!out_ids || !out_sims)))
    return HV_EINVAL;
  const int d = m->L.dim;
  const float *v = m->movie_vec +
                   model_lookup(m->movie_ids, m->n_movies, movie_id) * d;
  int got = 0;
  for (size_t i = 0; i < n && k > 0; i++) {
    const int64_t id = cand_ids[i];
    size_t r = model_lookup(m->movie_ids, m->n_movies, id);
    if (!r || id == movie_id)
      continue;
    float s = cosine(v, m->movie_vec + r * d, d);
    if (got == k && !nb_before(s, id, out_sims[k - 1], out_ids[k - 1]))
      continue;
    /* insertion into the best k so far (k is small: explanations) */
    int j = got < k ? got++ : k - 1;
    for (; j > 0 && nb_before(s, id, out_sims[j - 1], out_ids[j - 1]); j--) {
      out_ids[j] = out_ids[j - 1];
      out_sims[j] = out_sims[j - 1];
    }
    out_ids[j] = id;
    out_sims[j] = s;
  }
  return got;
}

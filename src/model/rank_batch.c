/*
 * rank_batch.c - forward and backward of the ranking model over a batch
 * (rank.h), and its plain-loop oracle.
 *
 * Design: the MLP's first layer is linear in x = [u - U[user], m - M[movie],
 * pop], and u - U[user] is a sum of feature rows (age, gender, occupation;
 * year and the mean of the genres for m). So x W1 is a sum of those rows
 * projected through W1: the batch projects every feature row once
 * (PF = F W1, (n_feature_rows, H), about 75 x 32 x 64 on ml-100k) and each
 * example gathers its 5-7 rows of PF, instead of a (B, 2d+1) x (2d+1, H)
 * GEMM. Backward the same way round: dH of each example is scattered onto
 * its feature rows (SF), and dW1 = F^T SF, d(feature rows) = SF W1^T are
 * GEMMs of the feature tables' size, not the batch's. On ml-100k that is
 * 25.6 MFLOP -> 1.5 MFLOP a batch of 1024; the sums are the same terms in
 * another order (float rounding differs from the (B, n_in) GEMM; the
 * tests hold both to rank_predict_naive and to finite differences).
 *
 * The feature tables are contiguous in params (model_layout_init: AGE,
 * GENDER, OCC, GENRE, YEAR after MOVIE), so the user part of PF is one
 * GEMM over AGE..OCC and the movie part one over GENRE..YEAR.
 *
 * Threads: rank_batch is a pure function of its arguments; the workspace
 * and grad are the caller's (one each per thread).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "model/rank.h"
#include "model/tower.h"
#include "util/mem.h"

struct rank_ws {
  size_t cap;
  float *U, *M;   /* (cap, d) tower outputs */
  float *Hh;      /* (cap, H) hidden activations (after relu) */
  float *g;       /* (cap) d loss / d prediction */
  float *dU, *dM; /* (cap, d) */
  float *dH;      /* (cap, H) */
  float *p;       /* (cap) predictions */
  float *pb, *one; /* (cap) each row's pop; ones (backward's GEMVs) */
  float *PF;      /* (nf, H) feature rows through W1's user/movie part */
  float *SF;      /* (nf, H) dH summed onto each feature row */
  size_t nfu, nf; /* user feature rows (AGE..OCC), all feature rows */
};

void rank_ws_free(struct rank_ws *w)
{
  if (!w)
    return;
  HV_FREE_ALL(w->U, w->M, w->Hh, w->g, w->dU, w->dM, w->dH, w->p, w->pb,
              w->one, w->PF, w->SF);
  free(w);
}

struct rank_ws *rank_ws_new(size_t cap, const struct model_layout *L)
{
  struct rank_ws *w = calloc(1, sizeof(*w));
  if (!w || cap == 0)
    return free(w), NULL;
  const size_t d = (size_t)L->dim, H = L->hidden ? (size_t)L->hidden : 1;
  w->nfu = L->rows[TAB_AGE] + L->rows[TAB_GENDER] + L->rows[TAB_OCC];
  w->nf = w->nfu + L->rows[TAB_GENRE] + L->rows[TAB_YEAR];
  w->cap = cap;
  w->U = malloc(cap * d * sizeof(float));
  w->M = malloc(cap * d * sizeof(float));
  w->Hh = malloc(cap * H * sizeof(float));
  w->g = malloc(cap * sizeof(float));
  w->dU = malloc(cap * d * sizeof(float));
  w->dM = malloc(cap * d * sizeof(float));
  w->dH = malloc(cap * H * sizeof(float));
  w->p = malloc(cap * sizeof(float));
  w->pb = malloc(cap * sizeof(float));
  w->one = malloc(cap * sizeof(float));
  w->PF = malloc((w->nf + 1) * H * sizeof(float));
  w->SF = malloc((w->nf + 1) * H * sizeof(float));
  if (!w->U || !w->M || !w->Hh || !w->g || !w->dU || !w->dM || !w->dH ||
      !w->p || !w->pb || !w->one || !w->PF || !w->SF) {
    rank_ws_free(w);
    return NULL;
  }
  return w;
}

/* ---- the feature rows of an example ------------------------------------ */

/* The feature rows of example (urow, mrow) in PF/SF: its one-hot rows
 * (age, gender, occupation of the tables the layout has, year) into fix,
 * weight 1, their number returned, and its genre rows
 * genre[*g0 .. *g1) + *gb, weight *wb (1 / number of genres, as the
 * tower's mean). The row of table t's value v is (off[t] - off[AGE]) / d
 * + v. */
static int feat_rows(const struct model_layout *L,
                     const struct model_feats *F, int32_t urow, int32_t mrow,
                     size_t fix[4], size_t *gb, int32_t *g0, int32_t *g1,
                     float *wb)
{
  const size_t d = (size_t)L->dim, base = L->off[TAB_AGE];
  const int32_t *uf = F->user_feat + 3 * (size_t)urow;
  int nfix = 0;
  for (int k = 0; k < 3; k++) /* a table left out has no row to read */
    if (L->rows[TAB_AGE + k])
      fix[nfix++] = (L->off[TAB_AGE + k] - base) / d + (size_t)uf[k];
  fix[nfix++] = (L->off[TAB_YEAR] - base) / d + (size_t)F->movie_year[mrow];
  *g0 = F->genre_off[mrow];
  *g1 = F->genre_off[mrow + 1];
  *wb = *g1 > *g0 ? 1.0f / (float)(*g1 - *g0) : 1.0f;
  *gb = (L->off[TAB_GENRE] - base) / d;
  return nfix;
}

/* dst (n) += wt * src (n) */
static inline void axpy(float *restrict dst, const float *restrict src,
                        float wt, size_t n)
{
  for (size_t k = 0; k < n; k++)
    dst[k] += wt * src[k];
}

/* ---- forward / backward ------------------------------------------------- */

/* PF (nf, H): user feature rows (AGE..OCC) through W1[0:d], movie feature
 * rows (GENRE..YEAR) through W1[d:2d]. */
static void project_features(const struct model_layout *L, const float *P,
                             struct rank_ws *w)
{
  const int d = L->dim, H = L->hidden;
  const size_t nfm = w->nf - w->nfu;
  const float *W1 = P + L->off_w1;
  if (w->nfu)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)w->nfu, H, d,
                1.0f, P + L->off[TAB_AGE], d, W1, H, 0.0f, w->PF, H);
  if (nfm)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nfm, H, d,
                1.0f, P + L->off[TAB_GENRE], d, W1 + (size_t)d * H, H, 0.0f,
                w->PF + w->nfu * H, H);
}

/* pred (B) += the MLP's output; w->Hh (B, H) = its hidden activations. */
static void mlp_forward(const struct rank_net *n, const float *P,
                        const int32_t *bu, const int32_t *bm, size_t B,
                        struct rank_ws *w, float *pred)
{
  const struct model_layout *L = n->L;
  const size_t H = (size_t)L->hidden;
  const float *b1 = P + L->off_b1, *w2 = P + L->off_w2;
  const float *w1p = P + L->off_w1 + 2 * (size_t)L->dim * H;
  const int feat = n->features && w->nf;
  if (feat)
    project_features(L, P, w);
  for (size_t i = 0; i < B; i++) {
    float *restrict h = w->Hh + i * H;
    const float pop = n->pop[bm[i]];
    for (size_t k = 0; k < H; k++)
      h[k] = b1[k] + pop * w1p[k];
    if (feat) {
      size_t fix[4], gb;
      int32_t g0, g1;
      float wb;
      int nfix = feat_rows(L, n->F, bu[i], bm[i], fix, &gb, &g0, &g1, &wb);
      for (int j = 0; j < nfix; j++)
        axpy(h, w->PF + fix[j] * H, 1.0f, H);
      for (int32_t j = g0; j < g1; j++)
        axpy(h, w->PF + (gb + (size_t)n->F->genre[j]) * H, wb, H);
    }
    float s = P[L->off_b2];
    for (size_t k = 0; k < H; k++) {
      h[k] = h[k] > 0.0f ? h[k] : 0.0f;
      s += h[k] * w2[k];
    }
    pred[i] += s;
  }
}

/* pred (B) of the batch; fills w->U, M, Hh; returns sum |u|^2 + |m|^2. */
static double forward(const struct rank_net *n, const float *P,
                      const int32_t *bu, const int32_t *bm, size_t B,
                      struct rank_ws *w, float *pred)
{
  const struct model_layout *L = n->L;
  const int d = L->dim;
  tower_forward(TOWER_USER, L, P, n->F, n->features, bu, B, w->U);
  tower_forward(TOWER_MOVIE, L, P, n->F, n->features, bm, B, w->M);
  double reg = 0.0;
  for (size_t i = 0; i < B; i++) {
    const float *u = w->U + i * d, *m = w->M + i * d;
    float s = 0.0f, r = 0.0f;
    for (int k = 0; k < d; k++) {
      s += u[k] * m[k];
      r += u[k] * u[k] + m[k] * m[k];
    }
    pred[i] = n->mean + P[L->off_ubias + bu[i]] + P[L->off_mbias + bm[i]] + s;
    reg += r;
  }
  if (L->hidden)
    mlp_forward(n, P, bu, bm, B, w, pred);
  return reg;
}

/* The MLP's part of grad, given w->g (B) and the forward's buffers. */
static void mlp_backward(const struct rank_net *n, const float *P,
                         const int32_t *bu, const int32_t *bm, size_t B,
                         struct rank_ws *w, float *grad)
{
  const struct model_layout *L = n->L;
  const int d = L->dim, H = L->hidden;
  const float *w2 = P + L->off_w2, *W1 = P + L->off_w1;
  const int feat = n->features && w->nf;
  if (feat)
    memset(w->SF, 0, w->nf * (size_t)H * sizeof(float));
  float gb2 = 0.0f;
  for (size_t i = 0; i < B; i++) {
    const float g = w->g[i];
    const float *restrict h = w->Hh + i * H;
    float *restrict dh = w->dH + i * H;
    gb2 += g;
    w->pb[i] = n->pop[bm[i]];
    w->one[i] = 1.0f;
    for (int k = 0; k < H; k++)
      dh[k] = h[k] > 0.0f ? g * w2[k] : 0.0f;
    if (feat) {
      size_t fix[4], gb;
      int32_t g0, g1;
      float wb;
      int nfix = feat_rows(L, n->F, bu[i], bm[i], fix, &gb, &g0, &g1, &wb);
      for (int j = 0; j < nfix; j++)
        axpy(w->SF + fix[j] * H, dh, 1.0f, (size_t)H);
      for (int32_t j = g0; j < g1; j++)
        axpy(w->SF + (gb + (size_t)n->F->genre[j]) * H, dh, wb, (size_t)H);
    }
  }
  grad[L->off_b2] += gb2;
  /* dw2 (H) += Hh^T g; db1 (H) += dH^T 1; dW1[2d] (H) += dH^T pop */
  cblas_sgemv(CblasRowMajor, CblasTrans, (int)B, H, 1.0f, w->Hh, H, w->g, 1,
              1.0f, grad + L->off_w2, 1);
  cblas_sgemv(CblasRowMajor, CblasTrans, (int)B, H, 1.0f, w->dH, H, w->one, 1,
              1.0f, grad + L->off_b1, 1);
  cblas_sgemv(CblasRowMajor, CblasTrans, (int)B, H, 1.0f, w->dH, H, w->pb, 1,
              1.0f, grad + L->off_w1 + 2 * (size_t)d * H, 1);
  if (!feat)
    return;
  const size_t nfm = w->nf - w->nfu;
  const float *SM = w->SF + w->nfu * H;
  /* dW1[0:d] (d, H) += Fu^T SU; d Fu (nfu, d) += SU W1[0:d]^T; same for
   * the movie rows and W1[d:2d] */
  if (w->nfu) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, H, (int)w->nfu,
                1.0f, P + L->off[TAB_AGE], d, w->SF, H, 1.0f,
                grad + L->off_w1, H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)w->nfu, d, H,
                1.0f, w->SF, H, W1, H, 1.0f, grad + L->off[TAB_AGE], d);
  }
  if (nfm) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, H, (int)nfm, 1.0f,
                P + L->off[TAB_GENRE], d, SM, H, 1.0f,
                grad + L->off_w1 + (size_t)d * H, H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nfm, d, H, 1.0f,
                SM, H, W1 + (size_t)d * H, H, 1.0f, grad + L->off[TAB_GENRE],
                d);
  }
}

/* grad += d loss / d params, given w->g (B) and the forward's buffers. */
static void backward(const struct rank_net *n, const float *P,
                     const int32_t *bu, const int32_t *bm, size_t B,
                     float l2g, struct rank_ws *w, float *grad)
{
  const struct model_layout *L = n->L;
  const int d = L->dim;
  for (size_t i = 0; i < B; i++) {
    const float g = w->g[i];
    grad[L->off_ubias + bu[i]] += g;
    grad[L->off_mbias + bm[i]] += g;
    const float *u = w->U + i * d, *m = w->M + i * d;
    float *du = w->dU + i * d, *dm = w->dM + i * d;
    for (int k = 0; k < d; k++) {
      du[k] = g * m[k] + l2g * u[k];
      dm[k] = g * u[k] + l2g * m[k];
    }
  }
  tower_backward(TOWER_USER, L, n->F, n->features, bu, B, w->dU, grad);
  tower_backward(TOWER_MOVIE, L, n->F, n->features, bm, B, w->dM, grad);
  if (L->hidden)
    mlp_backward(n, P, bu, bm, B, w, grad);
}

double rank_batch(const struct rank_net *n, const float *params,
                  const int32_t *bu, const int32_t *bm, const float *y,
                  size_t B, struct rank_ws *w, float *grad, float *pred)
{
  if (B == 0)
    return 0.0;
  float *p = pred ? pred : w->p;
  const double reg = forward(n, params, bu, bm, B, w, p);
  if (!y)
    return 0.0;
  const double nb = (double)(n->batch_n ? n->batch_n : B);
  double se = 0.0;
  for (size_t i = 0; i < B; i++) {
    const double e = (double)p[i] - y[i];
    se += e * e;
    w->g[i] = (float)(2.0 * e / nb);
  }
  if (grad)
    backward(n, params, bu, bm, B, (float)(2.0 * n->l2 / nb), w, grad);
  return (se + n->l2 * reg) / nb;
}

float rank_predict_naive(const struct rank_net *n, const float *P,
                         int32_t urow, int32_t mrow)
{
  const struct model_layout *L = n->L;
  const int d = L->dim, H = L->hidden;
  float u[1024], m[1024], x[2049];
  tower_forward(TOWER_USER, L, P, n->F, n->features, &urow, 1, u);
  tower_forward(TOWER_MOVIE, L, P, n->F, n->features, &mrow, 1, m);
  double s = n->mean + P[L->off_ubias + urow] + P[L->off_mbias + mrow];
  for (int k = 0; k < d; k++) {
    s += (double)u[k] * m[k];
    x[k] = u[k] - P[L->off[TAB_USER] + (size_t)urow * d + k];
    x[d + k] = m[k] - P[L->off[TAB_MOVIE] + (size_t)mrow * d + k];
  }
  x[2 * d] = n->pop[mrow];
  for (int j = 0; j < H; j++) {
    double z = P[L->off_b1 + j];
    for (size_t i = 0; i < L->n_in; i++)
      z += (double)x[i] * P[L->off_w1 + i * H + j];
    if (z > 0)
      s += z * P[L->off_w2 + j];
  }
  if (H)
    s += P[L->off_b2];
  return (float)s;
}

/*
 * loss.c - in-batch softmax over distinct users x distinct movies: see
 * loss.h for the math. The naive B x B version is kept as the test oracle.
 */
#include "model/loss.h"

#include <assert.h>
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* Hot loops are vectorised at -O2 too (GCC 12's -O2 cost model is "very
 * cheap" and refuses loops that need an epilogue). */
#if defined(__clang__) /* clang vectorises at -O2 and has no such attribute */
#define HV_VECTORIZE
#else
#define HV_VECTORIZE \
  __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#endif

/* Users per logits tile: (tile, nm) floats stay around 1 MB for ml-100k. */
#define LOSS_TILE 160

struct loss_ws *loss_ws_new(size_t cap_b, size_t n_user_rows,
                            size_t n_movie_rows, int dim)
{
  struct loss_ws *w = calloc(1, sizeof(*w));
  if (!w || cap_b == 0 || dim <= 0) {
    free(w);
    return NULL;
  }
  w->cap_b = cap_b;
  w->n_user_rows = n_user_rows;
  w->n_movie_rows = n_movie_rows;
  w->dim = dim;
  w->tile = LOSS_TILE;
  size_t cm = cap_b < n_movie_rows ? cap_b : n_movie_rows;
  if (cm == 0)
    cm = 1;
  w->uloc = malloc(n_user_rows * sizeof(int32_t) + 1);
  w->mloc = malloc(n_movie_rows * sizeof(int32_t) + 1);
  w->urows = malloc(cap_b * sizeof(int32_t));
  w->mrows = malloc(cap_b * sizeof(int32_t));
  w->un = malloc(cap_b * sizeof(float));
  w->mc = malloc(cap_b * sizeof(float));
  w->mbias = malloc(cap_b * sizeof(float));
  w->mlogq = malloc(cap_b * sizeof(float));
  w->keys = malloc(2 * cap_b * sizeof(uint64_t)); /* + radix scratch */
  w->pu = malloc(cap_b * sizeof(int32_t));
  w->pm = malloc(cap_b * sizeof(int32_t));
  w->pn = malloc(cap_b * sizeof(float));
  w->U = malloc(cap_b * (size_t)dim * sizeof(float));
  w->M = malloc(cap_b * (size_t)dim * sizeof(float));
  w->dU = malloc(cap_b * (size_t)dim * sizeof(float));
  w->dM = malloc(cap_b * (size_t)dim * sizeof(float));
  w->Z = malloc(w->tile * cm * sizeof(float));
  w->lab = malloc(cap_b * sizeof(double));
  if (!w->uloc || !w->mloc || !w->urows || !w->mrows || !w->un || !w->mc ||
      !w->mbias || !w->mlogq || !w->keys || !w->pu || !w->pm || !w->pn ||
      !w->U || !w->M || !w->dU || !w->dM || !w->Z || !w->lab) {
    loss_ws_free(w);
    return NULL;
  }
  for (size_t i = 0; i < n_user_rows; i++)
    w->uloc[i] = -1;
  for (size_t i = 0; i < n_movie_rows; i++)
    w->mloc[i] = -1;
  return w;
}

void loss_ws_free(struct loss_ws *w)
{
  if (!w)
    return;
  HV_FREE_ALL(w->uloc, w->mloc, w->urows, w->mrows, w->un, w->mc, w->mbias,
              w->mlogq, w->keys, w->pu, w->pm, w->pn, w->U, w->M, w->dU, w->dM,
              w->Z, w->lab, w);
}

/* LSD radix sort of n 64-bit keys whose significant bits fit in `bits`
 * (<= 64), 11 bits per pass, through tmp (n). Stable and deterministic. */
static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n, int bits)
{
  size_t cnt[2048];
  for (int shift = 0; shift < bits; shift += 11) {
    memset(cnt, 0, sizeof(cnt));
    for (size_t i = 0; i < n; i++)
      cnt[(a[i] >> shift) & 2047]++;
    size_t s = 0;
    for (int b = 0; b < 2048; b++) {
      size_t c = cnt[b];
      cnt[b] = s;
      s += c;
    }
    for (size_t i = 0; i < n; i++)
      tmp[cnt[(a[i] >> shift) & 2047]++] = a[i];
    memcpy(a, tmp, n * sizeof(uint64_t));
  }
}

static int bits_for(size_t n)
{
  int b = 1;
  while (b < 63 && ((size_t)1 << b) < n)
    b++;
  return b;
}

void loss_ws_group(struct loss_ws *w, const int32_t *urow,
                   const int32_t *mrow, size_t B, const float *logq_by_row)
{
  w->nu = w->nm = w->np = 0;
  assert(B <= w->cap_b); /* keys holds 2 cap_b: the radix scratch after B */
  for (size_t i = 0; i < B; i++) {
    assert(urow[i] >= 0 && (size_t)urow[i] < w->n_user_rows &&
           mrow[i] >= 0 && (size_t)mrow[i] < w->n_movie_rows);
    int32_t u = w->uloc[urow[i]], m = w->mloc[mrow[i]];
    if (u < 0) {
      u = w->uloc[urow[i]] = (int32_t)w->nu;
      w->urows[w->nu] = urow[i];
      w->un[w->nu++] = 0.0f;
    }
    if (m < 0) {
      m = w->mloc[mrow[i]] = (int32_t)w->nm;
      w->mrows[w->nm] = mrow[i];
      w->mc[w->nm++] = 0.0f;
    }
    w->un[u] += 1.0f;
    w->mc[m] += 1.0f;
    w->keys[i] = ((uint64_t)u << 32) | (uint32_t)m;
  }
  /* Sort the row keys user-major; repacked as (u << mb | m) so the radix
   * sort needs as few 11-bit passes as the id ranges allow. */
  int mb = bits_for(w->nm);
  for (size_t i = 0; i < B; i++)
    w->keys[i] = ((w->keys[i] >> 32) << mb) | (w->keys[i] & 0xffffffffu);
  radix_sort(w->keys, w->keys + w->cap_b, B, mb + bits_for(w->nu));
  uint64_t mmask = ((uint64_t)1 << mb) - 1;
  for (size_t i = 0; i < B; i++) {
    if (i > 0 && w->keys[i] == w->keys[i - 1]) {
      w->pn[w->np - 1] += 1.0f;
      continue;
    }
    w->pu[w->np] = (int32_t)(w->keys[i] >> mb);
    w->pm[w->np] = (int32_t)(w->keys[i] & mmask);
    w->pn[w->np++] = 1.0f;
  }
  for (size_t k = 0; k < w->nm; k++) {
    w->mlogq[k] = logq_by_row ? logq_by_row[w->mrows[k]] : 0.0f;
    w->mbias[k] = logf(w->mc[k]) - w->mlogq[k];
  }
  /* reset the maps for the next batch (only the touched entries) */
  for (size_t u = 0; u < w->nu; u++)
    w->uloc[w->urows[u]] = -1;
  for (size_t k = 0; k < w->nm; k++)
    w->mloc[w->mrows[k]] = -1;
}

/* z[k] = exp(z[k] - mx) for z[k] <= mx. A Cephes-style expf (range
 * reduction by ln 2, degree-5 polynomial, 2^n through the exponent bits;
 * max rel. error ~2e-7, underflow to 0 below -87) in a flat loop the
 * compiler vectorises: the softmax spends most of its time here. */
HV_VECTORIZE static void exp_shift(float *restrict z, size_t n, float mx)
{
  for (size_t k = 0; k < n; k++) {
    float x = z[k] - mx;
    x = x < -87.0f ? -87.0f : x;
    /* round to nearest by the 1.5 * 2^23 trick (floorf blocks the
     * vectoriser) */
    float fn = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)fn + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    z[k] = p * scale;
  }
}

/* z += bias; returns max(z). Eight lanes so the max reduction
 * vectorises without -ffast-math. */
HV_VECTORIZE static float add_bias_max(float *restrict z,
                                       const float *restrict bias, size_t n)
{
  float m8[8];
  for (int j = 0; j < 8; j++)
    m8[j] = -FLT_MAX;
  size_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; j++) {
      float v = z[k + j] + bias[k + j];
      z[k + j] = v;
      m8[j] = v > m8[j] ? v : m8[j];
    }
  float mx = -FLT_MAX;
  for (; k < n; k++) {
    z[k] += bias[k];
    mx = z[k] > mx ? z[k] : mx;
  }
  for (int j = 0; j < 8; j++)
    mx = m8[j] > mx ? m8[j] : mx;
  return mx;
}

HV_VECTORIZE static void scale(float *restrict z, size_t n, float a)
{
  for (size_t k = 0; k < n; k++)
    z[k] *= a;
}

/* Sum of z[0..n) in 8 float lanes (a fixed order, so deterministic;
 * vectorises) folded in double. */
HV_VECTORIZE static double sum8(const float *restrict z, size_t n)
{
  float a8[8] = {0};
  size_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; j++)
      a8[j] += z[k + j];
  double s = 0.0;
  for (int j = 0; j < 8; j++)
    s += a8[j];
  for (; k < n; k++)
    s += z[k];
  return s;
}

/* One user's row of the tile: softmax statistics, loss of its pairs, and
 * (grad) the row of G in place. p0..p1 are its pairs. */
static double loss_row(struct loss_ws *w, const struct loss_opts *o,
                       float *restrict z, size_t p0, size_t p1, int grad)
{
  const size_t nm = w->nm;
  const float *restrict bias = w->mbias;
  for (size_t p = p0; p < p1; p++)
    w->lab[p] = (double)z[w->pm[p]] - (double)w->mlogq[w->pm[p]];
  float mx = add_bias_max(z, bias, nm);
  exp_shift(z, nm, mx);
  double s = sum8(z, nm);
  double loss = 0.0, a = 0.0;
  for (size_t p = p0; p < p1; p++) {
    int32_t m = w->pm[p];
    double cm = w->mc[m], x = z[m] / cm;
    double sp = o->remove_hits ? s - (cm - 1.0) * x : s;
    if (sp < DBL_MIN)
      sp = DBL_MIN;
    loss += w->pn[p] * ((double)mx + log(sp) - w->lab[p]);
    a += w->pn[p] / sp;
    w->lab[p] = sp; /* keep S_um for the gradient fix-up */
  }
  if (!grad)
    return loss;
  for (size_t p = p0; p < p1; p++) {
    /* label column: only the diagonal copy stays when hits are removed */
    int32_t m = w->pm[p];
    double cm = w->mc[m], fix = w->pn[p];
    if (o->remove_hits)
      fix += w->pn[p] * (cm - 1.0) * ((double)z[m] / cm) / w->lab[p];
    w->lab[p] = fix;
  }
  scale(z, nm, (float)a);
  for (size_t p = p0; p < p1; p++)
    z[w->pm[p]] -= (float)w->lab[p];
  return loss;
}

/* loss + l2 * sum over the n rows x (n, d) of X of cnt[r] * |x|^2; with
 * grad, dX row r += 2 l2 cnt[r] x. */
static double l2_rows(double loss, double l2, const float *X, const float *cnt,
                      size_t n, int d, float *dX, int grad)
{
  for (size_t r = 0; r < n; r++) {
    const float *x = X + r * d;
    double s = 0.0;
    for (int k = 0; k < d; k++)
      s += (double)x[k] * x[k];
    loss += l2 * cnt[r] * s;
    if (grad)
      for (int k = 0; k < d; k++)
        dX[r * d + k] += (float)(2.0 * l2 * cnt[r]) * x[k];
  }
  return loss;
}

/* The L2 penalty of the batch's user rows [u0, u1) (weighted by their
 * rows in the batch) and, with movies, the movie rows (by c_k), accumulated
 * users first. */
static double l2_term(struct loss_ws *w, const struct loss_opts *o, int grad,
                      size_t u0, size_t u1, int movies)
{
  const size_t d = (size_t)w->dim;
  double loss = l2_rows(0.0, o->l2, w->U + u0 * d, w->un + u0, u1 - u0,
                        w->dim, w->dU + u0 * d, grad);
  if (!movies)
    return loss;
  return l2_rows(loss, o->l2, w->M, w->mc, w->nm, w->dim, w->dM, grad);
}

double loss_distinct(struct loss_ws *w, const struct loss_opts *o, int grad)
{
  return loss_distinct_users(w, o, grad, 0, w->nu, 1);
}

double loss_distinct_users(struct loss_ws *w, const struct loss_opts *o,
                           int grad, size_t u_begin, size_t u_end,
                           int movie_l2)
{
  const int d = w->dim;
  const size_t nm = w->nm, nu = w->nu;
  const float invt = (float)(1.0 / o->temperature);
  double loss = 0.0;
  size_t p = 0;
  assert(o->temperature > 0);
  assert(u_begin <= u_end && u_end <= nu);
  if (nu == 0 || nm == 0)
    return 0.0;
  /* pairs are sorted by user (loss_ws_group): skip to u_begin's */
  while (p < w->np && (size_t)w->pu[p] < u_begin)
    p++;
  if (grad && u_begin == u_end)
    memset(w->dM, 0, nm * (size_t)d * sizeof(float));
  for (size_t u0 = u_begin; u0 < u_end; u0 += w->tile) {
    size_t t = u_end - u0 < w->tile ? u_end - u0 : w->tile;
    /* Z (t, nm) = U[u0:u0+t] M^T / T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)nm, d,
                invt, w->U + u0 * d, d, w->M, d, 0.0f, w->Z, (int)nm);
    for (size_t r = 0; r < t; r++) {
      size_t p0 = p;
      while (p < w->np && (size_t)w->pu[p] == u0 + r)
        p++;
      loss += loss_row(w, o, w->Z + r * nm, p0, p, grad);
    }
    if (!grad)
      continue;
    /* dU[u0:u0+t] (t, d) = G M / T;  dM (nm, d) += G^T U[u0:u0+t] / T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)t, d,
                (int)nm, invt, w->Z, (int)nm, w->M, d, 0.0f, w->dU + u0 * d,
                d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nm, d, (int)t,
                invt, w->Z, (int)nm, w->U + u0 * d, d,
                u0 != u_begin ? 1.0f : 0.0f, w->dM, d);
  }
  /* the walk above takes each user's pairs in turn: every pair of the
   * range is used only when they are sorted by user (loss_ws_group) */
  assert(p == w->np || (size_t)w->pu[p] >= u_end);
  if (o->l2 > 0)
    loss += l2_term(w, o, grad, u_begin, u_end, movie_l2);
  return loss;
}

double loss_naive(size_t B, int d, const float *ue, const float *me,
                  const int64_t *mkey, const float *logq,
                  const struct loss_opts *o, double *due, double *dme)
{
  double *z = malloc(B * sizeof(double));
  double loss = 0.0;
  if (!z)
    return NAN;
  if (due)
    memset(due, 0, B * (size_t)d * sizeof(double));
  if (dme)
    memset(dme, 0, B * (size_t)d * sizeof(double));
  for (size_t i = 0; i < B; i++) {
    double mx = -DBL_MAX;
    for (size_t j = 0; j < B; j++) {
      double s = 0.0;
      for (int k = 0; k < d; k++)
        s += (double)ue[i * d + k] * me[j * d + k];
      z[j] = s / o->temperature - (logq ? logq[j] : 0.0);
      if (o->remove_hits && j != i && mkey[j] == mkey[i])
        z[j] = -DBL_MAX / 4; /* masked (tfrs adds MIN_FLOAT) */
      mx = z[j] > mx ? z[j] : mx;
    }
    double s = 0.0;
    for (size_t j = 0; j < B; j++)
      s += exp(z[j] - mx);
    loss += mx + log(s) - z[i];
    for (size_t j = 0; j < B && due && dme; j++) {
      double g = exp(z[j] - mx) / s - (j == i ? 1.0 : 0.0);
      g /= o->temperature;
      for (int k = 0; k < d; k++) {
        due[i * d + k] += g * me[j * d + k];
        dme[j * d + k] += g * ue[i * d + k];
      }
    }
    double s2 = 0.0;
    for (int k = 0; k < d; k++) {
      s2 += (double)ue[i * d + k] * ue[i * d + k] +
            (double)me[i * d + k] * me[i * d + k];
      if (due && dme) {
        due[i * d + k] += 2.0 * o->l2 * ue[i * d + k];
        dme[i * d + k] += 2.0 * o->l2 * me[i * d + k];
      }
    }
    loss += o->l2 * s2;
  }
  free(z);
  return loss;
}

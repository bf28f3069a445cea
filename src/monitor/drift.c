/*
 * drift.c - drift statistics: see drift.h for the definitions and the
 * references each number follows.
 *
 * Layout: sorting; the KS/Wasserstein merge walk; KS exact p-values (scipy's
 * _compute_prob_outside_square and _compute_outer_prob_inside_method); the
 * kstwo distribution (scipy.stats._ksstats._kolmogn and cephes' smirnov);
 * quantile bins, PSI, JS; chi-square; reports and verdicts.
 *
 * The ports keep scipy's operation order where it decides a branch or a
 * rounding (lattice h, the exact recursions), so p-values agree to ~1e-12.
 * Smirnov's sum is evaluated term by term in long double logarithms instead
 * of cephes' double-double arithmetic (same terms, same stopping rule).
 *
 * Threads: pure functions, no globals; the only shared data are constants.
 */
#include "monitor/drift.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- samples and sorting ----------------------------------------------- */

int drift_check_sample(const double *x, size_t n, const char *what,
                       struct hv_err *err)
{
  if (n == 0 || !x)
    return hv_err_set(err, HV_EINVAL, "%s: empty sample", what);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return hv_err_set(err, HV_EINVAL, "%s: value %zu is %s", what, i + 1,
                        isnan(x[i]) ? "NaN" : "infinite");
  return 0;
}

/* Order-preserving map of a double to an unsigned key: flip all bits of
 * negatives, set the sign bit of positives. */
static inline uint64_t key_of(double d)
{
  uint64_t u;
  memcpy(&u, &d, sizeof(u));
  return (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
}

static inline double val_of(uint64_t k)
{
  uint64_t u = (k >> 63) ? (k & 0x7fffffffffffffffULL) : ~k;
  double d;
  memcpy(&d, &u, sizeof(d));
  return d;
}

static void insertion_sort(double *x, size_t n)
{
  for (size_t i = 1; i < n; i++) {
    double v = x[i];
    size_t j = i;
    while (j > 0 && x[j - 1] > v) {
      x[j] = x[j - 1];
      j--;
    }
    x[j] = v;
  }
}

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES 6 /* 6 * 11 >= 64 */

/* Sort src into dst (may be the same array) by LSD radix on the keys. The
 * first pass reads src, the last active pass writes doubles into dst, so
 * there is no separate copy or conversion pass. */
static int sort_into(const double *src, double *dst, size_t n,
                     struct hv_err *err)
{
  if (n < 64) {
    if (dst != src)
      memcpy(dst, src, n * sizeof(*dst));
    insertion_sort(dst, n);
    return 0;
  }
  uint64_t *k = malloc(n * sizeof(*k));
  uint64_t *t = malloc(n * sizeof(*t));
  size_t(*hist)[RADIX_SIZE] = calloc(RADIX_PASSES, sizeof(*hist));
  if (!k || !t || !hist) {
    free(k);
    free(t);
    free(hist);
    return hv_err_set(err, HV_ENOMEM, "out of memory sorting %zu values", n);
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t v = key_of(src[i]);
    k[i] = v;
    for (int p = 0; p < RADIX_PASSES; p++)
      hist[p][(v >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
  }
  int active[RADIX_PASSES], na = 0;
  for (int p = 0; p < RADIX_PASSES; p++) /* skip digits constant everywhere */
    if (hist[p][(k[0] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)] != n)
      active[na++] = p;
  for (int a = 0; a < na; a++) {
    int p = active[a], sh = p * RADIX_BITS;
    size_t *h = hist[p], sum = 0;
    for (unsigned b = 0; b < RADIX_SIZE; b++) {
      size_t c = h[b];
      h[b] = sum;
      sum += c;
    }
    if (a == na - 1) {
      for (size_t i = 0; i < n; i++)
        dst[h[(k[i] >> sh) & (RADIX_SIZE - 1)]++] = val_of(k[i]);
    } else {
      for (size_t i = 0; i < n; i++)
        t[h[(k[i] >> sh) & (RADIX_SIZE - 1)]++] = k[i];
      uint64_t *s = k;
      k = t;
      t = s;
    }
  }
  if (na == 0) /* every key equal */
    for (size_t i = 0; i < n; i++)
      dst[i] = val_of(k[i]);
  free(k);
  free(t);
  free(hist);
  return 0;
}

int drift_sort(double *x, size_t n, struct hv_err *err)
{
  return sort_into(x, x, n, err);
}

/* A sorted private copy of x (caller frees), or NULL with err filled. */
static double *sorted_copy(const double *x, size_t n, struct hv_err *err)
{
  double *c = malloc(n * sizeof(*c));
  if (!c) {
    hv_err_set(err, HV_ENOMEM, "out of memory copying %zu values", n);
    return NULL;
  }
  if (sort_into(x, c, n, err)) {
    free(c);
    return NULL;
  }
  return c;
}

/* Both samples non-empty and finite (and, with sorted, ascending); returns
 * 0, HV_EINVAL or HV_ETOOBIG. */
static int check_pair(const double *a, size_t na, const double *b, size_t nb,
                      int sorted, struct hv_err *err)
{
  int rc = drift_check_sample(a, na, "reference", err);
  if (rc || (rc = drift_check_sample(b, nb, "current", err)))
    return rc;
  if ((double)na * (double)nb > 4e18) /* the walk's i*nb must fit int64 */
    return hv_err_set(err, HV_ETOOBIG, "samples too large: %zu x %zu values",
                      na, nb);
  for (int s = 0; sorted && s < 2; s++) {
    const double *x = s ? b : a;
    size_t n = s ? nb : na;
    for (size_t i = 1; i < n; i++)
      if (x[i] < x[i - 1])
        return hv_err_set(err, HV_EINVAL, "%s: values %zu and %zu are not "
                          "sorted ascending", s ? "current" : "reference", i,
                          i + 1);
  }
  return 0;
}

/* ---- the merge walk ---------------------------------------------------- */

/* Result of walking two sorted samples together. At each distinct value v
 * the CDFs are i/na and j/nb (i, j = counts <= v); diff = i*nb - j*na is the
 * exact scaled CDF difference. */
struct walk {
  int64_t dmax, dmin; /* extreme diffs (dmax >= 0 >= dmin) */
  double fmax, fmin;  /* i/na - j/nb in doubles there, as scipy rounds it */
  long double area;   /* sum |diff| * gap (Wasserstein numerator) */
};

/* The CDF difference as numpy computes it (each CDF rounded, then
 * subtracted). Among positions with the same exact difference the roundings
 * differ by an ulp; scipy takes the largest, so do we. */
static inline double fdiff(size_t i, size_t na, size_t j, size_t nb)
{
  return (double)i / (double)na - (double)j / (double)nb;
}

/* Walk a and b (sorted). With want_area, also integrate |diff| over the
 * gaps between consecutive distinct values; without it, stop once one
 * sample is exhausted (the extremes cannot change afterwards). */
static void walk(const double *a, size_t na, const double *b, size_t nb,
                 int want_area, struct walk *w)
{
  size_t i = 0, j = 0;
  const int64_t sa = (int64_t)nb, sb = (int64_t)na;
  int64_t diff = 0;
  double prev = 0.0;
  long double area = 0.0L;
  memset(w, 0, sizeof(*w));
  while (i < na && j < nb) {
    double v = a[i] <= b[j] ? a[i] : b[j];
    if (want_area && (i | j))
      area += (long double)(double)(diff < 0 ? -diff : diff) *
              (long double)(v - prev);
    while (i < na && a[i] == v)
      i++;
    while (j < nb && b[j] == v)
      j++;
    diff = (int64_t)i * sa - (int64_t)j * sb;
    if (diff >= w->dmax) {
      double f = fdiff(i, na, j, nb);
      w->fmax = diff > w->dmax || f > w->fmax ? f : w->fmax;
      w->dmax = diff;
    } else if (diff <= w->dmin) {
      double f = fdiff(i, na, j, nb);
      w->fmin = diff < w->dmin || f < w->fmin ? f : w->fmin;
      w->dmin = diff;
    }
    prev = v;
  }
  if (want_area) {
    /* Only one sample is left; its CDF alone moves diff towards 0. */
    const double *r = i < na ? a : b;
    size_t k = i < na ? i : j, nr = i < na ? na : nb;
    int64_t step = i < na ? sa : -sb;
    while (k < nr) {
      double v = r[k];
      area += (long double)(double)(diff < 0 ? -diff : diff) *
              (long double)(v - prev);
      while (k < nr && r[k] == v) {
        k++;
        diff += step;
      }
      prev = v;
    }
  }
  w->area = area;
}

/* ---- KS: exact p-values (scipy 1.10 _attempt_exact_2kssamp) ------------ */

static int64_t gcd64(int64_t a, int64_t b)
{
  while (b) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* P(D_{n,n} >= h/n): scipy's _compute_prob_outside_square (Horner form of
 * 2 * sum (-1)^(k-1) binom(2n, n-kh) / binom(2n, n)). */
static double prob_outside_square(int64_t n, int64_t h)
{
  double P = 0.0;
  int64_t k = (int64_t)floor((double)n / (double)h);
  while (k >= 0) {
    double p1 = 1.0;
    for (int64_t j = 0; j < h; j++)
      p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
    P = p1 * (1.0 - P);
    k--;
  }
  return 2 * P;
}

/* P(D_{m,n} >= h/lcm): scipy's _compute_outer_prob_inside_method (Hodges'
 * inside method with Viehmann's recursion for 1 - p, one sliding column of
 * the lattice). Returns NaN on allocation failure or an out-of-range index
 * (treated like scipy's failed exact computation). */
static double outer_prob_inside(int64_t m, int64_t n, int64_t g, int64_t h)
{
  if (m < n) {
    int64_t t = m;
    m = n;
    n = t;
  }
  const int64_t mg = m / g, ng = n / g;
  int64_t minj = 0;
  int64_t maxj = (int64_t)ceil((double)h / (double)mg);
  if (maxj > n + 1)
    maxj = n + 1;
  int64_t curlen = maxj - minj;
  int64_t lenA = 2 * maxj + 2 < n + 1 ? 2 * maxj + 2 : n + 1;
  double *A = malloc((size_t)lenA * sizeof(*A));
  if (!A)
    return NAN;
  for (int64_t k = 0; k < lenA; k++)
    A[k] = k >= minj && k < maxj ? 0.0 : 1.0;
  double result = NAN;
  for (int64_t i = 1; i <= m; i++) {
    int64_t lastminj = minj, lastlen = curlen;
    minj = (int64_t)floor((double)(ng * i - h) / (double)mg) + 1;
    if (minj < 0)
      minj = 0;
    if (minj > n)
      minj = n;
    maxj = (int64_t)ceil((double)(ng * i + h) / (double)mg);
    if (maxj > n + 1)
      maxj = n + 1;
    if (maxj <= minj) {
      result = 1.0;
      goto done;
    }
    if (maxj - minj > lenA || maxj - lastminj > lenA || minj < lastminj)
      goto done; /* would index outside the window: give up (NaN) */
    double val = minj == 0 ? 0.0 : 1.0;
    const double di = (double)i;
    for (int64_t jj = 0; jj < maxj - minj; jj++) {
      int64_t j = jj + minj;
      val = (A[jj + minj - lastminj] * di + val * (double)j) /
            (double)(i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      int64_t end = maxj - minj + (lastlen - curlen);
      for (int64_t k = maxj - minj; k < end && k < lenA; k++)
        A[k] = 1.0;
    }
  }
  result = A[maxj - minj - 1];
done:
  free(A);
  return result;
}

/* ---- the Kolmogorov-Smirnov distributions ------------------------------ */

#define E128 128
#define EP128 0x1p128
#define EM128 0x1p-128
#define LOG_2PI 1.8378770664093453 /* log(2 pi) */
#define SQRT_2PI 2.5066282746310002
#define MIN_LOG_PG (-708)
#define CEPHES_MINLOG (-7.451332191019412076235E2)

static double clip01(double p)
{
  if (isnan(p))
    return p;
  return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

/* log(n! / n^n) by Stirling (scipy's _log_nfactorial_div_n_pow_n). */
static double log_nfact_div_npown(double n)
{
  static const double c[] = {
      -2.955065359477124183e-2, 6.4102564102564102564e-3,
      -1.9175269175269175269e-3, 8.4175084175084175084e-4,
      -5.952380952380952381e-4, 7.9365079365079365079e-4,
      -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  double rn = 1.0 / n, x = rn / n, poly = 0.0;
  for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
    poly = poly * x + c[i];
  return log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/* C = A * B for m x m row-major matrices (C distinct from A and B). */
static void matmul(const double *A, const double *B, double *C, int m)
{
  for (int i = 0; i < m * m; i++)
    C[i] = 0.0;
  for (int i = 0; i < m; i++)
    for (int k = 0; k < m; k++) {
      double a = A[i * m + k];
      if (a == 0.0)
        continue;
      const double *brow = B + (size_t)k * m;
      double *crow = C + (size_t)i * m;
      for (int j = 0; j < m; j++)
        crow[j] += a * brow[j];
    }
}

/* P(D_n <= d) by Durbin's matrix (Marsaglia-Tsang-Wang): scipy's
 * _kolmogn_DMTW. NaN on allocation failure. */
static double kolmogn_dmtw_cdf(int64_t n, double d)
{
  if (d >= 1.0)
    return 1.0;
  double nd = (double)n * d;
  if (nd <= 0.5)
    return 0.0;
  int k = (int)ceil(nd);
  double h = k - nd;
  int m = 2 * k - 1;
  size_t mm = (size_t)m * m;
  double *buf = calloc(4 * mm + 2 * (size_t)m, sizeof(double));
  if (!buf)
    return NAN;
  double *H = buf, *P = buf + mm, *T = buf + 2 * mm, *T2 = buf + 3 * mm;
  double *v = buf + 4 * mm, *w = v + m;
  for (int j = 1; j <= m; j++)
    v[j - 1] = 1.0 - pow(h, j);
  double fac = 1.0;
  for (int j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] *= fac;
  }
  double tt = pow(fmax(2 * h - 1.0, 0), m) - 2 * pow(h, m);
  v[m - 1] = (1.0 + tt) * fac;
  for (int i = 1; i < m; i++)
    for (int r = i - 1; r < m; r++)
      H[(size_t)r * m + i] = w[r - (i - 1)];
  for (int r = 0; r < m; r++)
    H[(size_t)r * m] = v[r];
  for (int c = 0; c < m; c++)
    H[(size_t)(m - 1) * m + c] = v[m - 1 - c];
  for (int i = 0; i < m; i++)
    P[(size_t)i * m + i] = 1.0;
  int64_t nn = n;
  int expnt = 0, hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      matmul(P, H, T, m);
      memcpy(P, T, mm * sizeof(double));
      expnt += hexpnt;
    }
    matmul(H, H, T2, m);
    memcpy(H, T2, mm * sizeof(double));
    hexpnt *= 2;
    if (fabs(H[(size_t)(k - 1) * m + (k - 1)]) > EP128) {
      for (size_t i = 0; i < mm; i++)
        H[i] /= EP128;
      hexpnt += E128;
    }
    nn /= 2;
  }
  long double p = P[(size_t)(k - 1) * m + (k - 1)];
  free(buf);
  for (int64_t i = 1; i <= n; i++) {
    p = (long double)i * p / (long double)n;
    if (fabsl(p) < EM128) {
      p *= EP128;
      expnt -= E128;
    }
  }
  if (expnt != 0)
    p = ldexpl(p, expnt);
  return clip01((double)p);
}

/* Row bounds of the Pomeranz recursion (scipy's _pomeranz_compute_j1j2). */
static void pomeranz_j1j2(int64_t i, int64_t n, int64_t ll, int ceilf,
                          int roundf, int64_t *pj1, int64_t *pj2)
{
  int64_t j1, j2;
  if (i == 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    int64_t d2 = (i + 1) / 2, m2 = (i + 1) % 2;
    if (m2 == 0) {
      if (d2 == n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = d2 - 1 - ll - roundf - 1;
        j2 = d2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = d2 - 1 - ll - 1;
      j2 = d2 + ll + roundf - 1;
    }
  }
  *pj1 = j1 + 2 > 0 ? j1 + 2 : 0;
  *pj2 = j2 < n ? j2 : n;
}

/* P(D_n <= x) by Pomeranz's recursion: scipy's _kolmogn_Pomeranz (used for
 * n <= 140 only). NaN on allocation failure. */
static double kolmogn_pomeranz_cdf(int64_t n, double x)
{
  double t = (double)n * x;
  int64_t ll = (int64_t)floor(t);
  double f = t - (double)ll;
  double g = fmin(f, 1.0 - f);
  int ceilf = f > 0 ? 1 : 0, roundf = f > 0.5 ? 1 : 0;
  int64_t np = 2 * (ll + 1);
  double *buf = calloc((size_t)(6 * np), sizeof(double));
  if (!buf)
    return NAN;
  double *gp = buf, *tgp = buf + np, *ogp = buf + 2 * np;
  double *V0 = buf + 3 * np, *V1 = buf + 4 * np, *conv = buf + 5 * np;
  gp[0] = tgp[0] = ogp[0] = 1.0;
  double g_n = g / (double)n, tg_n = 2 * g / (double)n,
         og_n = (1 - 2 * g) / (double)n;
  for (int64_t m = 1; m < np; m++) {
    gp[m] = gp[m - 1] * g_n / (double)m;
    tgp[m] = tgp[m - 1] * tg_n / (double)m;
    ogp[m] = ogp[m - 1] * og_n / (double)m;
  }
  V1[0] = 1;
  int64_t V0s = 0, V1s = 0, j1, j2;
  int expnt = 0;
  pomeranz_j1j2(0, n, ll, ceilf, roundf, &j1, &j2);
  for (int64_t i = 1; i < 2 * n + 2; i++) {
    int64_t k1 = j1;
    double *sw = V0;
    V0 = V1;
    V1 = sw;
    int64_t ss = V0s;
    V0s = V1s;
    V1s = ss;
    memset(V1, 0, (size_t)np * sizeof(double));
    pomeranz_j1j2(i, n, ll, ceilf, roundf, &j1, &j2);
    const double *pw =
        (i == 1 || i == 2 * n + 1) ? gp : (i % 2 ? tgp : ogp);
    int64_t ln2 = j2 - k1 + 1;
    if (ln2 <= 0)
      continue;
    /* conv = numpy.convolve(V0[k1-V0s : k1-V0s+ln2], pw[:ln2]) */
    int64_t s0 = k1 - V0s;
    int64_t la = ln2, lb = ln2 < np ? ln2 : np;
    if (s0 < 0 || s0 >= np)
      la = 0;
    else if (s0 + la > np)
      la = np - s0;
    int64_t conv_start = j1 - k1, conv_len = j2 - j1 + 1;
    if (conv_len > np)
      conv_len = np;
    for (int64_t c = 0; c < conv_len; c++) {
      int64_t idx = conv_start + c; /* index into the full convolution */
      double s = 0.0;
      for (int64_t q = 0; q < la; q++) {
        int64_t r = idx - q;
        if (r >= 0 && r < lb)
          s += V0[s0 + q] * pw[r];
      }
      conv[c] = s;
    }
    double vmax = 0.0; /* numpy: max(V1) over the zero-filled row */
    for (int64_t c = 0; c < conv_len; c++) {
      V1[c] = conv[c];
      if (V1[c] > vmax)
        vmax = V1[c];
    }
    if (0 < vmax && vmax < EM128) {
      for (int64_t c = 0; c < np; c++)
        V1[c] *= EP128;
      expnt -= E128;
    }
    V1s = V0s + j1 - k1;
  }
  long double ans = (n - V1s >= 0 && n - V1s < np) ? V1[n - V1s] : NAN;
  free(buf);
  for (int64_t m = 1; m <= n; m++) {
    if (fabsl(ans) > EP128) {
      ans *= EM128;
      expnt += E128;
    }
    ans *= (long double)m;
  }
  if (expnt != 0)
    ans = ldexpl(ans, expnt);
  return clip01((double)ans);
}

/* Pelz-Good approximation of P(D_n <= x): scipy's _kolmogn_PelzGood. */
static double kolmogn_pelzgood_cdf(int64_t n, double x)
{
  const double pi = M_PI, pi2 = M_PI * M_PI, pi4 = pi2 * pi2,
               pi6 = pi4 * pi2;
  if (x <= 0.0)
    return 0.0;
  if (x >= 1.0)
    return 1.0;
  double z = sqrt((double)n) * x;
  double z2 = z * z, z3 = z * z * z, z4 = z2 * z2, z6 = pow(z, 6);
  double qlog = -pi2 / 8 / z2;
  if (qlog < MIN_LOG_PG)
    return 0.0;
  double q = exp(qlog);
  double k1a = -z2, k1b = pi2 / 4;
  double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4,
         k2c = pi4 * (1 - 2 * z2) / 16;
  double k3d = pi6 * (5 - 30 * z2) / 64,
         k3c = pi4 * (-60 * z2 + 212 * z4) / 16,
         k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * pow(z, 8);
  double K[4] = {0, 0, 0, 0};
  int64_t maxk = (int64_t)ceil(16 * z / pi);
  for (int64_t k = maxk; k > 0; k--) {
    double m = (double)(2 * k - 1);
    double m2 = m * m, m4 = pow(m, 4), m6 = pow(m, 6);
    double qp = pow(q, (double)(8 * k));
    double cf[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                    k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int i = 0; i < 4; i++)
      K[i] = K[i] * qp + cf[i];
  }
  double div[4] = {z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)};
  for (int i = 0; i < 4; i++)
    K[i] = K[i] * q * SQRT_2PI / div[i];
  q = exp(-pi2 / 2 / z2);
  double s2 = 0.0, s3 = 0.0, sqrt3z = sqrt(3.0) * z;
  for (int64_t k = maxk; k > 0; k--) {
    double ks = (double)k, ksq = ks * ks, kspi = pi * ks;
    double qpw = pow(q, ksq);
    s2 += ksq * qpw;
    s3 += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qpw;
  }
  K[2] += s2 * (pi2 * SQRT_2PI / (-36 * z3));
  K[3] += s3 * (pi2 * SQRT_2PI / (216 * z6));
  double sum = 0.0;
  for (int i = 0; i < 4; i++)
    sum += K[i] / pow((double)n, i / 2.0);
  return sum;
}

/* Smirnov's sum, one term in logs: A_v = C(n,v) (x+v/n)^(v-1)
 * (1-x-v/n)^(n-v), with lgc = log C(n, v) in long double. The logarithms
 * of the two bases are taken in double (relative error ~1e-16 each, i.e.
 * ~3e-11 on a term at n = 5e5) and summed in long double; exp switches to
 * long double where double would underflow. Returns the signed term. */
static long double smirnov_term(int n, long double x, int v, long double lgc)
{
  double a = (double)(x + (long double)v / n);
  double b = (double)((long double)(n - v) / n - x);
  int nv = n - v;
  long double sign = 1.0L, lb = 0.0L;
  if (nv > 0) {
    if (b == 0.0)
      return 0.0L;
    if (b < 0.0) {
      b = -b;
      if (nv % 2)
        sign = -1.0L;
    }
    lb = (long double)nv * (long double)log(b);
  }
  long double L = lgc + (long double)(v - 1) * (long double)log(a) + lb;
  return sign * (L > -700.0L ? (long double)exp((double)L) : expl(L));
}

/* floor(n*x) and the exact fractional part (cephes' modNX, via fma). */
static int mod_nx(int n, double x, double *alpha)
{
  double hi = (double)n * x, lo = fma((double)n, x, -hi);
  double f = floor(hi);
  double a = (hi - f) + lo;
  if (a < 0) {
    f -= 1;
    a += 1;
  }
  if (a >= 1) {
    f += 1;
    a = 0;
  }
  *alpha = a;
  return (int)f;
}

double drift_smirnov_sf(int n, double x)
{
  if (!(n > 0 && x >= 0.0 && x <= 1.0))
    return NAN;
  if (n == 1)
    return 1 - x;
  if (x == 0.0)
    return 1.0;
  if (x == 1.0)
    return 0.0;
  double alpha;
  int nxfl = mod_nx(n, x, &alpha);
  int n1mxfl = n - nxfl - (alpha == 0 ? 0 : 1), n1mxceil = n - nxfl;
  if (alpha == 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  if (nxfl == 0 || (nxfl == 1 && alpha == 0))
    return clip01((double)(1.0L - x * powl(1.0L + x, n - 1)));
  if (-2.0 * n * x * x < CEPHES_MINLOG)
    return 0.0;
  if (nxfl >= n - 1)
    return clip01((double)powl(1.0L - x, n));
  if (n > 1000000) {
    double logp = -pow(6.0 * n * x + 1.0, 2) / 18.0 / n;
    return clip01(exp(logp));
  }
  int n_upper = n - n1mxceil + 1;
  int upper = (n_upper <= 1 && x < 0.5) ||
              (n >= 10 && n_upper <= 3 && x <= 0.5 / sqrt(n));
  int start = upper ? n : 0, step = upper ? -1 : 1;
  int nterms = upper ? n_upper : n1mxfl + 1, vmid = n / 2;
  long double lx = x, lgn = lgammal((long double)n + 1), sum = 0.0L;
  long double lgc = 0.0L; /* log C(n, v), updated by ratio, re-anchored */
  for (int j = 0; j < nterms; j++) {
    int v = start + j * step;
    if (j % 1024 == 0)
      lgc = lgn - lgammal((long double)v + 1) -
            lgammal((long double)(n - v) + 1);
    else if (step > 0) /* C(n,v) = C(n,v-1) (n-v+1)/v */
      lgc += log((double)(n - v + 1) / (double)v);
    else /* C(n,v) = C(n,v+1) (v+1)/(n-v) */
      lgc += log((double)(v + 1) / (double)(n - v));
    long double aj = j == 0 && !upper ? powl(1.0L - lx, n) / lx
                                      : smirnov_term(n, lx, v, lgc);
    if (isfinite(aj) && aj != 0.0L)
      sum += aj;
    if (j == 0)
      continue;
    if (aj != 0.0L) {
      if (4.0L * (nterms - j) * fabsl(aj) < DBL_EPSILON * sum &&
          j != nterms - 1)
        break;
    } else if (j > vmid) {
      break;
    }
  }
  double prob = (double)(lx * sum);
  return clip01(upper ? 1 - prob : prob);
}

/* scipy.stats._ksstats._kolmogn(n, x, cdf=False). */
static double kolmogn_sf(int64_t n, double x)
{
  if (x >= 1.0)
    return 0.0;
  if (x <= 0.0)
    return 1.0;
  double dn = (double)n, t = dn * x;
  if (t <= 1.0) {
    if (t <= 0.5)
      return 1.0;
    double prob;
    if (n <= 140) {
      prob = 1.0;
      for (int64_t k = 1; k <= n; k++)
        prob *= (double)k * (1.0 / dn) * (2 * t - 1);
    } else {
      prob = exp(log_nfact_div_npown(dn) + dn * log(2 * t - 1));
    }
    return clip01(1.0 - prob);
  }
  if (t >= dn - 1)
    return clip01(2 * pow(1.0 - x, dn));
  if (x >= 0.5)
    return clip01(2 * drift_smirnov_sf((int)n, x));
  double nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693)
      return clip01(1.0 - clip01(kolmogn_dmtw_cdf(n, x)));
    if (nx2 <= 4)
      return clip01(1.0 - clip01(kolmogn_pomeranz_cdf(n, x)));
    return clip01(2 * drift_smirnov_sf((int)n, x));
  }
  if (nx2 >= 370.0)
    return 0.0;
  if (nx2 >= 2.2)
    return clip01(2 * drift_smirnov_sf((int)n, x));
  double cdf;
  if (nx2 >= 18.0)
    cdf = 1.0;
  else if (n <= 100000 && dn * pow(x, 1.5) <= 1.4)
    cdf = kolmogn_dmtw_cdf(n, x);
  else
    cdf = kolmogn_pelzgood_cdf(n, x);
  return clip01(1.0 - clip01(cdf));
}

double drift_kstwo_sf(int64_t n, double d)
{
  if (n < 1 || n > INT32_MAX || isnan(d))
    return NAN;
  if (d <= 0.5 / (double)n) /* rv_continuous.sf: at or below the support */
    return 1.0;
  if (d >= 1.0)
    return 0.0;
  return kolmogn_sf(n, d);
}

/* ---- KS: statistic and p-value ----------------------------------------- */

/* scipy's ks_2samp p-value logic. h >= 0 is the lattice numerator of D in
 * units of 1/lcm when known exactly (else -1, and it is rounded from d). */
static void ks_finish(int64_t n1, int64_t n2, int64_t h, double d,
                      struct drift_ks *out)
{
  int64_t g = gcd64(n1, n2);
  double lcm = (double)(n1 / g) * (double)n2;
  if ((n1 > n2 ? n1 : n2) <= DRIFT_KS_MAX_EXACT) {
    if (h < 0)
      h = (int64_t)nearbyint(d * lcm);
    d = (double)h / lcm;
    double p;
    if (h == 0)
      p = 1.0;
    else if (n1 == n2)
      p = prob_outside_square(n1, h);
    else
      p = outer_prob_inside(n1, n2, g, h);
    if (p >= 0 && p <= 1) {
      out->statistic = d;
      out->pvalue = p;
      out->method = DRIFT_KS_EXACT;
      return;
    }
    /* scipy: "Exact calculation unsuccessful. Switching to asymp" */
  }
  double m = (double)(n1 > n2 ? n1 : n2), n = (double)(n1 > n2 ? n2 : n1);
  double en = m * n / (m + n);
  out->statistic = d;
  out->pvalue = clip01(drift_kstwo_sf((int64_t)nearbyint(en), d));
  out->method = DRIFT_KS_ASYMP;
}

const char *drift_ks_method_name(enum drift_ks_method m)
{
  return m == DRIFT_KS_EXACT ? "exact" : "asymp";
}

int drift_ks_pvalue(size_t n1, size_t n2, double d, struct drift_ks *out,
                    struct hv_err *err)
{
  if (n1 == 0 || n2 == 0)
    return hv_err_set(err, HV_EINVAL, "ks: empty sample");
  if (!(d >= 0.0 && d <= 1.0))
    return hv_err_set(err, HV_EINVAL, "ks: statistic %g is not in [0, 1]", d);
  ks_finish((int64_t)n1, (int64_t)n2, -1, d, out);
  return 0;
}

/* D from a walk: the float CDF difference scipy computes at the extreme. */
static void ks_from_walk(const struct walk *w, size_t na, size_t nb,
                         struct drift_ks *out)
{
  double dplus = w->fmax, dminus = clip01(-w->fmin);
  double d = dminus > dplus ? dminus : dplus;
  int64_t hnum = w->dmax > -w->dmin ? w->dmax : -w->dmin;
  int64_t g = gcd64((int64_t)na, (int64_t)nb);
  ks_finish((int64_t)na, (int64_t)nb, hnum / g, d, out);
}

int drift_ks_sorted(const double *a, size_t na, const double *b, size_t nb,
                    struct drift_ks *out, struct hv_err *err)
{
  int rc = check_pair(a, na, b, nb, 1, err);
  if (rc)
    return rc;
  struct walk w;
  walk(a, na, b, nb, 0, &w);
  ks_from_walk(&w, na, nb, out);
  return 0;
}

int drift_ks(const double *a, size_t na, const double *b, size_t nb,
             struct drift_ks *out, struct hv_err *err)
{
  int rc = check_pair(a, na, b, nb, 0, err);
  if (rc)
    return rc;
  double *sa = sorted_copy(a, na, err), *sb = NULL;
  if (!sa || !(sb = sorted_copy(b, nb, err))) {
    free(sa);
    return HV_ENOMEM;
  }
  struct walk w;
  walk(sa, na, sb, nb, 0, &w);
  ks_from_walk(&w, na, nb, out);
  free(sa);
  free(sb);
  return 0;
}

/* ---- Wasserstein ------------------------------------------------------- */

static double w1_from_walk(const struct walk *w, size_t na, size_t nb)
{
  return (double)(w->area / ((long double)na * (long double)nb));
}

int drift_wasserstein_sorted(const double *a, size_t na, const double *b,
                             size_t nb, double *out, struct hv_err *err)
{
  int rc = check_pair(a, na, b, nb, 1, err);
  if (rc)
    return rc;
  struct walk w;
  walk(a, na, b, nb, 1, &w);
  *out = w1_from_walk(&w, na, nb);
  return 0;
}

int drift_wasserstein(const double *a, size_t na, const double *b, size_t nb,
                      double *out, struct hv_err *err)
{
  int rc = check_pair(a, na, b, nb, 0, err);
  if (rc)
    return rc;
  double *sa = sorted_copy(a, na, err), *sb = NULL;
  if (!sa || !(sb = sorted_copy(b, nb, err))) {
    free(sa);
    return HV_ENOMEM;
  }
  struct walk w;
  walk(sa, na, sb, nb, 1, &w);
  *out = w1_from_walk(&w, na, nb);
  free(sa);
  free(sb);
  return 0;
}

double drift_std(const double *x, size_t n)
{
  if (n == 0)
    return 0.0;
  long double s = 0.0L;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  long double mean = s / n, ss = 0.0L;
  for (size_t i = 0; i < n; i++) {
    long double d = x[i] - mean;
    ss += d * d;
  }
  return (double)sqrtl(ss / n);
}

/* ---- bins, PSI, JS ----------------------------------------------------- */

/* numpy.quantile(sorted x, q, method='linear') incl. numpy's _lerp. */
static double quantile_linear(const double *x, size_t n, double q)
{
  double vi = (double)(n - 1) * q;
  if (vi >= (double)(n - 1))
    return x[n - 1];
  if (vi < 0)
    return x[0];
  double prevf = floor(vi);
  size_t lo = (size_t)prevf;
  double gamma = vi - prevf, a = x[lo], b = x[lo + 1];
  double diff = b - a;
  if (gamma >= 0.5)
    return b - diff * (1 - gamma);
  return a + diff * gamma;
}

int drift_quantile_edges(const double *ref_sorted, size_t n, int nbins,
                         double *edges, int *n_edges, struct hv_err *err)
{
  if (nbins < 2 || nbins > DRIFT_MAX_BINS)
    return hv_err_set(err, HV_EINVAL, "bins: %d is not in [2, %d]", nbins,
                      DRIFT_MAX_BINS);
  if (n == 0 || !ref_sorted)
    return hv_err_set(err, HV_EINVAL, "reference: empty sample");
  /* numpy.linspace(1/B, (B-1)/B, B-1) */
  int num = nbins - 1, div = num - 1, k = 0;
  double start = 1.0 / nbins, stop = (double)(nbins - 1) / nbins;
  double step = div > 0 ? (stop - start) / div : 0.0;
  for (int i = 0; i < num; i++) {
    double q = div > 0 ? (double)i * step + start : start;
    if (i == num - 1 && num > 1)
      q = stop;
    double e = quantile_linear(ref_sorted, n, q);
    if (k == 0 || e != edges[k - 1])
      edges[k++] = e;
  }
  *n_edges = k;
  return 0;
}

void drift_bin_proportions(const double *x_sorted, size_t n,
                           const double *edges, int n_edges, double *p)
{
  /* bin(x) = number of edges < x (numpy.searchsorted side='left') */
  size_t i = 0;
  for (int b = 0; b <= n_edges; b++) {
    size_t c = 0;
    while (i < n && (b == n_edges || x_sorted[i] <= edges[b])) {
      i++;
      c++;
    }
    p[b] = n ? (double)c / (double)n : 0.0;
  }
}

double drift_psi(const double *r, const double *c, size_t k)
{
  double s = 0.0;
  for (size_t i = 0; i < k; i++) {
    double a = r[i] > DRIFT_PSI_EPS ? r[i] : DRIFT_PSI_EPS;
    double b = c[i] > DRIFT_PSI_EPS ? c[i] : DRIFT_PSI_EPS;
    s += (b - a) * log(b / a);
  }
  return s;
}

/* scipy.special.rel_entr */
static double rel_entr(double x, double y)
{
  if (x > 0 && y > 0)
    return x * log(x / y);
  if (x == 0 && y >= 0)
    return 0.0;
  return INFINITY;
}

double drift_js(const double *r, const double *c, size_t k)
{
  double sr = 0.0, sc = 0.0;
  for (size_t i = 0; i < k; i++) {
    sr += r[i];
    sc += c[i];
  }
  if (!(sr > 0) || !(sc > 0))
    return NAN;
  double left = 0.0, right = 0.0;
  for (size_t i = 0; i < k; i++) {
    double p = r[i] / sr, q = c[i] / sc, m = (p + q) / 2.0;
    left += rel_entr(p, m);
    right += rel_entr(q, m);
  }
  double js = left + right;
  return sqrt(js / 2.0);
}

/* ---- chi-square -------------------------------------------------------- */

int drift_chi2(const int64_t *ref_counts, const int64_t *cur_counts, size_t k,
               struct drift_chi2 *out, struct hv_err *err)
{
  if (k == 0 || !ref_counts || !cur_counts)
    return hv_err_set(err, HV_EINVAL, "chi2: no categories");
  int64_t R = 0, C = 0;
  size_t kk = 0;
  for (size_t i = 0; i < k; i++) {
    if (ref_counts[i] < 0 || cur_counts[i] < 0)
      return hv_err_set(err, HV_EINVAL, "chi2: category %zu has a negative "
                        "count", i + 1);
    R += ref_counts[i];
    C += cur_counts[i];
    if (ref_counts[i] + cur_counts[i] > 0)
      kk++;
  }
  if (R == 0 || C == 0)
    return hv_err_set(err, HV_EINVAL, "chi2: the %s sample is empty",
                      R == 0 ? "reference" : "current");
  out->dof = (int)kk - 1;
  if (out->dof == 0) {
    out->statistic = 0.0;
    out->pvalue = 1.0;
    return 0;
  }
  int64_t T = R + C;
  double stat = 0.0;
  for (int row = 0; row < 2; row++) {
    const int64_t *obs = row == 0 ? ref_counts : cur_counts;
    int64_t rs = row == 0 ? R : C;
    for (size_t i = 0; i < k; i++) {
      int64_t col = ref_counts[i] + cur_counts[i];
      if (col == 0)
        continue;
      double e = (double)(rs * col) / (double)T, o = (double)obs[i];
      if (out->dof == 1) { /* Yates: move o towards e by at most 0.5 */
        double d = e - o, mag = fmin(0.5, fabs(d));
        o += mag * (d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0));
      }
      stat += (o - e) * (o - e) / e;
    }
  }
  out->statistic = stat;
  out->pvalue = gsl_cdf_chisq_Q(stat, (double)out->dof);
  return 0;
}

/* ---- reports ----------------------------------------------------------- */

/* All numeric statistics on checked, sorted samples. */
static int numeric_core(const double *ref, size_t n_ref, const double *cur,
                        size_t n_cur, int nbins,
                        struct drift_numeric_report *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (drift_quantile_edges(ref, n_ref, nbins, out->edges, &out->n_edges, err))
    return HV_EINVAL;
  out->n_ref = n_ref;
  out->n_cur = n_cur;
  struct walk w;
  walk(ref, n_ref, cur, n_cur, 1, &w);
  ks_from_walk(&w, n_ref, n_cur, &out->ks);
  out->wasserstein = w1_from_walk(&w, n_ref, n_cur);
  out->ref_std = drift_std(ref, n_ref);
  out->wasserstein_norm =
      out->wasserstein / fmax(out->ref_std, DRIFT_STD_FLOOR);
  drift_bin_proportions(ref, n_ref, out->edges, out->n_edges, out->p_ref);
  drift_bin_proportions(cur, n_cur, out->edges, out->n_edges, out->p_cur);
  size_t k = (size_t)out->n_edges + 1;
  out->psi = drift_psi(out->p_ref, out->p_cur, k);
  out->js = drift_js(out->p_ref, out->p_cur, k);
  return 0;
}

int drift_numeric_sorted(const double *ref, size_t n_ref, const double *cur,
                         size_t n_cur, int nbins,
                         struct drift_numeric_report *out, struct hv_err *err)
{
  int rc = check_pair(ref, n_ref, cur, n_cur, 1, err);
  if (rc)
    return rc;
  if (nbins == 0)
    nbins = DRIFT_DEFAULT_BINS;
  return numeric_core(ref, n_ref, cur, n_cur, nbins, out, err);
}

int drift_numeric(const double *ref, size_t n_ref, const double *cur,
                  size_t n_cur, int nbins, struct drift_numeric_report *out,
                  struct hv_err *err)
{
  int rc = check_pair(ref, n_ref, cur, n_cur, 0, err);
  if (rc)
    return rc;
  if (nbins && (nbins < 2 || nbins > DRIFT_MAX_BINS))
    return hv_err_set(err, HV_EINVAL, "bins: %d is not in [2, %d]", nbins,
                      DRIFT_MAX_BINS);
  double *sr = sorted_copy(ref, n_ref, err), *sc = NULL;
  if (!sr || !(sc = sorted_copy(cur, n_cur, err))) {
    free(sr);
    return HV_ENOMEM;
  }
  rc = numeric_core(sr, n_ref, sc, n_cur, nbins ? nbins : DRIFT_DEFAULT_BINS,
                    out, err);
  free(sr);
  free(sc);
  return rc;
}

int drift_categorical(const int64_t *ref_counts, const int64_t *cur_counts,
                      size_t k, struct drift_categorical_report *out,
                      struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (drift_chi2(ref_counts, cur_counts, k, &out->chi2, err))
    return HV_EINVAL;
  double *p = malloc(2 * k * sizeof(*p));
  if (!p)
    return hv_err_set(err, HV_ENOMEM, "out of memory for %zu categories", k);
  for (size_t i = 0; i < k; i++) {
    out->n_ref += ref_counts[i];
    out->n_cur += cur_counts[i];
  }
  for (size_t i = 0; i < k; i++) {
    p[i] = (double)ref_counts[i] / (double)out->n_ref;
    p[k + i] = (double)cur_counts[i] / (double)out->n_cur;
  }
  out->k = k;
  out->psi = drift_psi(p, p + k, k);
  out->js = drift_js(p, p + k, k);
  free(p);
  return 0;
}

/* ---- verdicts ---------------------------------------------------------- */

static const char *const test_names[] = {"ks", "wasserstein_norm", "psi",
                                         "js", "chi2"};
#define N_TESTS (sizeof(test_names) / sizeof(test_names[0]))

void drift_thresholds_default(struct drift_thresholds *t)
{
  t->ks_pvalue = 0.05;
  t->chi2_pvalue = 0.05;
  t->wasserstein_norm = 0.1;
  t->psi = 0.1;
  t->psi_major = 0.2;
  t->js = 0.1;
  t->small_n = 1000;
}

const char *drift_test_name(enum drift_test t)
{
  return (unsigned)t < N_TESTS ? test_names[t] : "?";
}

int drift_test_parse(const char *s, enum drift_test *t, struct hv_err *err)
{
  for (size_t i = 0; s && i < N_TESTS; i++)
    if (!strcmp(s, test_names[i])) {
      *t = (enum drift_test)i;
      return 0;
    }
  return hv_err_set(err, HV_EINVAL,
                    "test: '%.64s' is not one of ks, wasserstein_norm, psi, "
                    "js, chi2", s ? s : "");
}

int drift_test_is_pvalue(enum drift_test t)
{
  return t == DRIFT_TEST_KS || t == DRIFT_TEST_CHI2;
}

enum drift_test drift_default_test(int categorical, size_t n_ref,
                                   const struct drift_thresholds *t)
{
  int small = n_ref <= t->small_n;
  if (categorical)
    return small ? DRIFT_TEST_CHI2 : DRIFT_TEST_JS;
  return small ? DRIFT_TEST_KS : DRIFT_TEST_WASSERSTEIN_NORM;
}

static double threshold_of(enum drift_test test,
                           const struct drift_thresholds *t)
{
  switch (test) {
  case DRIFT_TEST_KS:
    return t->ks_pvalue;
  case DRIFT_TEST_WASSERSTEIN_NORM:
    return t->wasserstein_norm;
  case DRIFT_TEST_PSI:
    return t->psi;
  case DRIFT_TEST_JS:
    return t->js;
  case DRIFT_TEST_CHI2:
    return t->chi2_pvalue;
  }
  return NAN;
}

void drift_judge(const char *name, enum drift_test test, double statistic,
                 double pvalue, const struct drift_thresholds *t,
                 struct drift_feature_result *out)
{
  memset(out, 0, sizeof(*out));
  snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
  out->test = test;
  out->statistic = statistic;
  out->threshold = threshold_of(test, t);
  if (drift_test_is_pvalue(test)) {
    out->pvalue = pvalue;
    out->drift = pvalue < out->threshold;
  } else {
    out->pvalue = NAN;
    out->drift = statistic >= out->threshold;
  }
}

int drift_numeric_judge(const char *name, const struct drift_numeric_report *r,
                        enum drift_test test, const struct drift_thresholds *t,
                        struct drift_feature_result *out, struct hv_err *err)
{
  double stat, p = NAN;
  switch (test) {
  case DRIFT_TEST_KS:
    stat = r->ks.statistic;
    p = r->ks.pvalue;
    break;
  case DRIFT_TEST_WASSERSTEIN_NORM:
    stat = r->wasserstein_norm;
    break;
  case DRIFT_TEST_PSI:
    stat = r->psi;
    break;
  case DRIFT_TEST_JS:
    stat = r->js;
    break;
  case DRIFT_TEST_CHI2:
  default:
    return hv_err_set(err, HV_EINVAL, "test '%s' does not apply to a numeric "
                      "feature", drift_test_name(test));
  }
  drift_judge(name, test, stat, p, t, out);
  return 0;
}

int drift_categorical_judge(const char *name,
                            const struct drift_categorical_report *r,
                            enum drift_test test,
                            const struct drift_thresholds *t,
                            struct drift_feature_result *out,
                            struct hv_err *err)
{
  double stat, p = NAN;
  switch (test) {
  case DRIFT_TEST_CHI2:
    stat = r->chi2.statistic;
    p = r->chi2.pvalue;
    break;
  case DRIFT_TEST_PSI:
    stat = r->psi;
    break;
  case DRIFT_TEST_JS:
    stat = r->js;
    break;
  case DRIFT_TEST_KS:
  case DRIFT_TEST_WASSERSTEIN_NORM:
  default:
    return hv_err_set(err, HV_EINVAL, "test '%s' does not apply to a "
                      "categorical feature", drift_test_name(test));
  }
  drift_judge(name, test, stat, p, t, out);
  return 0;
}

int drift_psi_grade(double psi, const struct drift_thresholds *t)
{
  if (psi >= t->psi_major)
    return 2;
  return psi >= t->psi ? 1 : 0;
}

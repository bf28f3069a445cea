/*
 * ks.c - the Kolmogorov-Smirnov distributions: see ks.h for the references
 * each function ports.
 *
 * Layout: the exact two-sample probabilities; the one-sample distributions
 * (Durbin/MTW matrix, Pomeranz, Pelz-Good, Smirnov's sum, the kolmogn
 * dispatcher); the two-sample p-value that picks between them as scipy's
 * ks_2samp does.
 */
#include "monitor/ks.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- exact two-sample (scipy 1.10 _attempt_exact_2kssamp) ------------- */

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

/* ---- one-sample distributions (scipy.stats._ksstats, cephes) ---------- */

#define E128 128
#define EP128 0x1p128
#define EM128 0x1p-128
#define LOG_2PI 1.8378770664093453 /* log(2 pi) */
#define SQRT_2PI 2.5066282746310002
#define MIN_LOG_PG (-708)
#define CEPHES_MINLOG (-7.451332191019412076235E2)

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
  return ks_clip01((double)p);
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

/* One row of the Pomeranz recursion: V1 (np, zeroed here) gets columns
 * j1 - k1 .. j2 - k1 of numpy.convolve(V0[s0 : s0 + ln2], pw[:ln2]) with
 * s0 = k1 - V0s and ln2 = j2 - k1 + 1 (> 0). Returns max(V1), as numpy
 * takes it over the zero-filled row. */
static double pomeranz_row(const double *V0, int64_t V0s, const double *pw,
                           int64_t np, int64_t k1, int64_t j1, int64_t j2,
                           double *V1)
{
  memset(V1, 0, (size_t)np * sizeof(double));
  int64_t ln2 = j2 - k1 + 1, s0 = k1 - V0s;
  int64_t la = ln2, lb = ln2 < np ? ln2 : np;
  if (s0 < 0 || s0 >= np)
    la = 0;
  else if (s0 + la > np)
    la = np - s0;
  int64_t conv_start = j1 - k1, conv_len = j2 - j1 + 1;
  if (conv_len > np)
    conv_len = np;
  double vmax = 0.0;
  for (int64_t c = 0; c < conv_len; c++) {
    int64_t idx = conv_start + c; /* index into the full convolution */
    double acc = 0.0;
    for (int64_t q = 0; q < la; q++) {
      int64_t r = idx - q;
      if (r >= 0 && r < lb)
        acc += V0[s0 + q] * pw[r];
    }
    V1[c] = acc;
    if (acc > vmax)
      vmax = acc;
  }
  return vmax;
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
  double *buf = calloc((size_t)(5 * np), sizeof(double));
  if (!buf)
    return NAN;
  double *gp = buf, *tgp = buf + np, *ogp = buf + 2 * np;
  double *V0 = buf + 3 * np, *V1 = buf + 4 * np;
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
    pomeranz_j1j2(i, n, ll, ceilf, roundf, &j1, &j2);
    const double *pw =
        (i == 1 || i == 2 * n + 1) ? gp : (i % 2 ? tgp : ogp);
    if (j2 - k1 + 1 <= 0) {
      memset(V1, 0, (size_t)np * sizeof(double));
      continue;
    }
    double vmax = pomeranz_row(V0, V0s, pw, np, k1, j1, j2, V1);
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
  return ks_clip01((double)ans);
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

double ks_smirnov_sf(int n, double x)
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
    return ks_clip01((double)(1.0L - x * powl(1.0L + x, n - 1)));
  if (-2.0 * n * x * x < CEPHES_MINLOG)
    return 0.0;
  if (nxfl >= n - 1)
    return ks_clip01((double)powl(1.0L - x, n));
  if (n > 1000000) {
    double logp = -pow(6.0 * n * x + 1.0, 2) / 18.0 / n;
    return ks_clip01(exp(logp));
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
  return ks_clip01(upper ? 1 - prob : prob);
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
    return ks_clip01(1.0 - prob);
  }
  if (t >= dn - 1)
    return ks_clip01(2 * pow(1.0 - x, dn));
  if (x >= 0.5)
    return ks_clip01(2 * ks_smirnov_sf((int)n, x));
  double nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693)
      return ks_clip01(1.0 - ks_clip01(kolmogn_dmtw_cdf(n, x)));
    if (nx2 <= 4)
      return ks_clip01(1.0 - ks_clip01(kolmogn_pomeranz_cdf(n, x)));
    return ks_clip01(2 * ks_smirnov_sf((int)n, x));
  }
  if (nx2 >= 370.0)
    return 0.0;
  if (nx2 >= 2.2)
    return ks_clip01(2 * ks_smirnov_sf((int)n, x));
  double cdf;
  if (nx2 >= 18.0)
    cdf = 1.0;
  else if (n <= 100000 && dn * pow(x, 1.5) <= 1.4)
    cdf = kolmogn_dmtw_cdf(n, x);
  else
    cdf = kolmogn_pelzgood_cdf(n, x);
  return ks_clip01(1.0 - ks_clip01(cdf));
}

double ks_kstwo_sf(int64_t n, double d)
{
  if (n < 1 || n > INT32_MAX || isnan(d))
    return NAN;
  if (d <= 0.5 / (double)n) /* rv_continuous.sf: at or below the support */
    return 1.0;
  if (d >= 1.0)
    return 0.0;
  return kolmogn_sf(n, d);
}

/* ---- the two-sample p-value -------------------------------------------- */

void ks_2samp_pvalue(int64_t n1, int64_t n2, int64_t hnum, double d,
                     struct drift_ks *out)
{
  int64_t g = gcd64(n1, n2);
  double lcm = (double)(n1 / g) * (double)n2;
  if ((n1 > n2 ? n1 : n2) <= DRIFT_KS_MAX_EXACT) {
    /* h: D in units of 1/lcm, exact from the walk or rounded from d */
    int64_t h = hnum >= 0 ? hnum / g : (int64_t)nearbyint(d * lcm);
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
  out->pvalue = ks_clip01(ks_kstwo_sf((int64_t)nearbyint(en), d));
  out->method = DRIFT_KS_ASYMP;
}

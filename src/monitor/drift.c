/*
 * drift.c - drift statistics: see drift.h for the definitions and the
 * references each number follows.
 *
 * Layout: sorting; the KS/Wasserstein merge walk; the KS statistic (its
 * p-value comes from the distributions in ks.c); Wasserstein; quantile
 * bins, PSI, JS; chi-square; reports and verdicts.
 *
 * Threads: pure functions, no globals; the only shared data are constants.
 */
#include "monitor/drift.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/ks.h"

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

/* ---- KS: statistic and p-value (the distributions are in ks.c) -------- */

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
  ks_2samp_pvalue((int64_t)n1, (int64_t)n2, -1, d, out);
  return 0;
}

/* D from a walk: the float CDF difference scipy computes at the extreme. */
static void ks_from_walk(const struct walk *w, size_t na, size_t nb,
                         struct drift_ks *out)
{
  double dplus = w->fmax, dminus = ks_clip01(-w->fmin);
  double d = dminus > dplus ? dminus : dplus;
  int64_t hnum = w->dmax > -w->dmin ? w->dmax : -w->dmin;
  ks_2samp_pvalue((int64_t)na, (int64_t)nb, hnum, d, out);
}

/* Check the pair and walk it: a and b as given when sorted, else through
 * sorted copies (freed before returning). Returns 0, HV_EINVAL (as
 * check_pair) or HV_ENOMEM. */
static int walk_pair(const double *a, size_t na, const double *b, size_t nb,
                     int sorted, int want_area, struct walk *w,
                     struct hv_err *err)
{
  int rc = check_pair(a, na, b, nb, sorted, err);
  if (rc)
    return rc;
  if (sorted) {
    walk(a, na, b, nb, want_area, w);
    return 0;
  }
  double *sa = sorted_copy(a, na, err), *sb = NULL;
  if (!sa || !(sb = sorted_copy(b, nb, err))) {
    free(sa);
    return HV_ENOMEM;
  }
  walk(sa, na, sb, nb, want_area, w);
  free(sa);
  free(sb);
  return 0;
}

/* drift_ks over a and b, sorted already or not. */
static int ks_of(const double *a, size_t na, const double *b, size_t nb,
                 int sorted, struct drift_ks *out, struct hv_err *err)
{
  struct walk w;
  int rc = walk_pair(a, na, b, nb, sorted, 0, &w, err);
  if (!rc)
    ks_from_walk(&w, na, nb, out);
  return rc;
}

int drift_ks_sorted(const double *a, size_t na, const double *b, size_t nb,
                    struct drift_ks *out, struct hv_err *err)
{
  return ks_of(a, na, b, nb, 1, out, err);
}

int drift_ks(const double *a, size_t na, const double *b, size_t nb,
             struct drift_ks *out, struct hv_err *err)
{
  return ks_of(a, na, b, nb, 0, out, err);
}

/* ---- Wasserstein ------------------------------------------------------- */

static double w1_from_walk(const struct walk *w, size_t na, size_t nb)
{
  return (double)(w->area / ((long double)na * (long double)nb));
}

int drift_wasserstein_sorted(const double *a, size_t na, const double *b,
                             size_t nb, double *out, struct hv_err *err)
{
  struct walk w;
  int rc = walk_pair(a, na, b, nb, 1, 1, &w, err);
  if (!rc)
    *out = w1_from_walk(&w, na, nb);
  return rc;
}

int drift_wasserstein(const double *a, size_t na, const double *b, size_t nb,
                      double *out, struct hv_err *err)
{
  struct walk w;
  int rc = walk_pair(a, na, b, nb, 0, 1, &w, err);
  if (!rc)
    *out = w1_from_walk(&w, na, nb);
  return rc;
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

/* The verdict of test on a feature of the given kind: PSI and JS apply to
 * both kinds; otherwise own says whether test is the kind's own test, whose
 * statistic and p-value (NAN without one) are stat and p. */
static int judge_kind(const char *name, const char *kind, enum drift_test test,
                      int own, double stat, double p, double psi, double js,
                      const struct drift_thresholds *t,
                      struct drift_feature_result *out, struct hv_err *err)
{
  if (test == DRIFT_TEST_PSI || test == DRIFT_TEST_JS) {
    stat = test == DRIFT_TEST_PSI ? psi : js;
    p = NAN;
  } else if (!own) {
    return hv_err_set(err, HV_EINVAL, "test '%s' does not apply to a %s "
                      "feature", drift_test_name(test), kind);
  }
  drift_judge(name, test, stat, p, t, out);
  return 0;
}

int drift_numeric_judge(const char *name, const struct drift_numeric_report *r,
                        enum drift_test test, const struct drift_thresholds *t,
                        struct drift_feature_result *out, struct hv_err *err)
{
  const int ks = test == DRIFT_TEST_KS;
  return judge_kind(name, "numeric", test,
                    ks || test == DRIFT_TEST_WASSERSTEIN_NORM,
                    ks ? r->ks.statistic : r->wasserstein_norm,
                    ks ? r->ks.pvalue : NAN, r->psi, r->js, t, out, err);
}

int drift_categorical_judge(const char *name,
                            const struct drift_categorical_report *r,
                            enum drift_test test,
                            const struct drift_thresholds *t,
                            struct drift_feature_result *out,
                            struct hv_err *err)
{
  return judge_kind(name, "categorical", test, test == DRIFT_TEST_CHI2,
                    r->chi2.statistic, r->chi2.pvalue, r->psi, r->js, t, out,
                    err);
}

int drift_psi_grade(double psi, const struct drift_thresholds *t)
{
  if (psi >= t->psi_major)
    return 2;
  return psi >= t->psi ? 1 : 0;
}

/*
 * drift.h - statistics for data drift: two-sample Kolmogorov-Smirnov,
 * Wasserstein-1, Population Stability Index, Jensen-Shannon distance and the
 * chi-square test of homogeneity, plus Evidently-style verdicts.
 *
 * Design: every number follows a named reference so anyone can check it.
 *  - KS: scipy.stats.ks_2samp(method='auto', alternative='two-sided') of
 *    scipy 1.10: exact p-value when max(n1, n2) <= 10000 (Hodges' lattice
 *    path counts; the n1 == n2 closed form), otherwise, or when the exact
 *    value falls outside [0, 1], the exact one-sample distribution kstwo.sf
 *    at en = round(n1*n2/(n1+n2)) (Simard & L'Ecuyer's algorithm choice:
 *    Durbin/Marsaglia-Tsang-Wang matrix, Pomeranz, Pelz-Good, Smirnov sums).
 *    These distributions live in monitor/ks.h, which names each port.
 *  - Wasserstein-1: scipy.stats.wasserstein_distance (area between the two
 *    empirical CDFs); normalised by max(std(reference, ddof=0), 0.001) like
 *    Evidently's "wasserstein" test.
 *  - PSI and JS on bins from the REFERENCE (../shared/peers/drift_ref.py):
 *    interior edges are numpy.quantile(ref, linspace(1/B, (B-1)/B, B-1))
 *    ('linear' interpolation), duplicate edges dropped (discrete data gets
 *    fewer bins), outer bins open, bins right-closed: (-inf,e1], (e1,e2], ...,
 *    (e_last, +inf). Proportions p = count/n. PSI replaces proportions below
 *    DRIFT_PSI_EPS (1e-4) by 1e-4 without renormalising:
 *    PSI = sum (c - r) ln(c / r). JS is scipy.spatial.distance.jensenshannon
 *    on the raw proportions with the natural log (its default base), i.e. a
 *    distance in [0, sqrt(ln 2)].
 *  - chi-square: scipy.stats.chi2_contingency on the 2 x k table of counts
 *    (categories with a zero total dropped; Yates' correction when dof = 1),
 *    p-value from GSL's gsl_cdf_chisq_Q.
 * Sorting uses an LSD radix sort on the IEEE-754 bit patterns (11-bit digits,
 * passes skipped when a digit is constant), and KS and Wasserstein share one
 * merge walk over the two sorted samples with exact integer CDF differences.
 *
 * Threads: every function is pure (no globals, no I/O); call from any thread.
 */
#ifndef HV_MONITOR_DRIFT_H
#define HV_MONITOR_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define DRIFT_PSI_EPS 1e-4       /* proportion floor for PSI's empty bins */
#define DRIFT_DEFAULT_BINS 10    /* quantile bins for numeric PSI / JS */
#define DRIFT_MAX_BINS 100       /* --bins upper limit */
#define DRIFT_KS_MAX_EXACT 10000 /* scipy's MAX_AUTO_N */
#define DRIFT_STD_FLOOR 0.001    /* Evidently's floor for the W1 norm */

enum drift_ks_method {
  DRIFT_KS_EXACT = 0, /* exact lattice-path p-value */
  DRIFT_KS_ASYMP = 1  /* kstwo.sf(D, round(n1*n2/(n1+n2))) */
};

struct drift_ks {
  double statistic;            /* D = max |F_ref - F_cur| */
  double pvalue;               /* two-sided */
  enum drift_ks_method method; /* which p-value scipy's 'auto' used */
};

/* "exact" or "asymp" (the names scipy's ks_2samp method argument uses). */
const char *drift_ks_method_name(enum drift_ks_method m);

/* Check a sample: n > 0 and every value finite. Returns 0, or HV_EINVAL with
 * "WHAT: empty sample" / "WHAT: value N is NaN" in err. x may be NULL only
 * when n == 0 (which fails). */
int drift_check_sample(const double *x, size_t n, const char *what,
                       struct hv_err *err) HV_WARN_UNUSED;

/* Sort x ascending in place (radix sort; values must not be NaN). Returns 0
 * or HV_ENOMEM (x is then unchanged). */
int drift_sort(double *x, size_t n, struct hv_err *err) HV_WARN_UNUSED;

/* Two-sample KS test of a (reference) against b (current), both sorted
 * ascending, finite and non-empty. Fills *out; returns 0 or HV_EINVAL /
 * HV_ENOMEM. */
int drift_ks_sorted(const double *a, size_t na, const double *b, size_t nb,
                    struct drift_ks *out, struct hv_err *err) HV_WARN_UNUSED;

/* Same on unsorted samples (sorts private copies). */
int drift_ks(const double *a, size_t na, const double *b, size_t nb,
             struct drift_ks *out, struct hv_err *err) HV_WARN_UNUSED;

/* The p-value scipy's ks_2samp(method='auto') gives for statistic d with
 * sample sizes n1, n2 (d rounded to the lattice in the exact branch as scipy
 * does, which also sets out->statistic). Returns 0 or HV_EINVAL (n = 0, d not
 * in [0, 1]) / HV_ENOMEM. */
int drift_ks_pvalue(size_t n1, size_t n2, double d, struct drift_ks *out,
                    struct hv_err *err) HV_WARN_UNUSED;

/* Wasserstein-1 distance between the empirical distributions of a and b
 * (sorted ascending / unsorted). Returns 0 or HV_EINVAL / HV_ENOMEM. */
int drift_wasserstein_sorted(const double *a, size_t na, const double *b,
                             size_t nb, double *out,
                             struct hv_err *err) HV_WARN_UNUSED;
int drift_wasserstein(const double *a, size_t na, const double *b, size_t nb,
                      double *out, struct hv_err *err) HV_WARN_UNUSED;

/* Population standard deviation (ddof 0) of x; 0 for n == 0. */
double drift_std(const double *x, size_t n);

/* Interior quantile edges of the sorted reference for nbins bins (2 ..
 * DRIFT_MAX_BINS), duplicates dropped: writes *n_edges (<= nbins - 1) values
 * into edges (room for nbins - 1). Returns 0 or HV_EINVAL. */
int drift_quantile_edges(const double *ref_sorted, size_t n, int nbins,
                         double *edges, int *n_edges,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Proportions of the sorted sample x in the n_edges + 1 right-closed bins
 * defined by edges (ascending); writes n_edges + 1 values into p. */
void drift_bin_proportions(const double *x_sorted, size_t n,
                           const double *edges, int n_edges, double *p);

/* PSI of current proportions c against reference proportions r (k bins),
 * with the DRIFT_PSI_EPS floor. */
double drift_psi(const double *r, const double *c, size_t k);

/* Jensen-Shannon distance (natural log) between proportions r and c (each
 * renormalised to sum 1 as scipy does). NaN when a side sums to 0. */
double drift_js(const double *r, const double *c, size_t k);

struct drift_chi2 {
  double statistic; /* Pearson chi-square (Yates-corrected when dof = 1) */
  double pvalue;
  int dof;          /* (categories with a non-zero total) - 1 */
};

/* Chi-square test of homogeneity on the 2 x k table [ref_counts;
 * cur_counts]. Returns 0, or HV_EINVAL when k == 0, a count is negative or a
 * row sums to 0. */
int drift_chi2(const int64_t *ref_counts, const int64_t *cur_counts, size_t k,
               struct drift_chi2 *out, struct hv_err *err) HV_WARN_UNUSED;

/* Everything for one numeric feature. */
struct drift_numeric_report {
  size_t n_ref, n_cur;
  struct drift_ks ks;
  double wasserstein;      /* W1 in the feature's unit */
  double ref_std;          /* population std of the reference */
  double wasserstein_norm; /* wasserstein / max(ref_std, DRIFT_STD_FLOOR) */
  int n_edges;             /* bins = n_edges + 1 */
  double edges[DRIFT_MAX_BINS - 1];
  double p_ref[DRIFT_MAX_BINS];
  double p_cur[DRIFT_MAX_BINS];
  double psi, js;
};

/* Run all numeric statistics on ref and cur (unsorted; sorted copies are
 * made) with nbins quantile bins (0 means DRIFT_DEFAULT_BINS). Returns 0 or
 * HV_EINVAL (empty, NaN/inf, bad nbins; message names "reference" or
 * "current") / HV_ENOMEM. */
int drift_numeric(const double *ref, size_t n_ref, const double *cur,
                  size_t n_cur, int nbins, struct drift_numeric_report *out,
                  struct hv_err *err) HV_WARN_UNUSED;

/* Same with both samples already sorted ascending (no copies made). */
int drift_numeric_sorted(const double *ref, size_t n_ref, const double *cur,
                         size_t n_cur, int nbins,
                         struct drift_numeric_report *out,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Everything for one categorical feature, from per-category counts. */
struct drift_categorical_report {
  int64_t n_ref, n_cur; /* totals */
  size_t k;             /* categories given */
  struct drift_chi2 chi2;
  double psi, js; /* on the proportions count / total */
};

/* Run chi-square, PSI and JS on k category counts. Returns 0 or HV_EINVAL
 * (as drift_chi2). */
int drift_categorical(const int64_t *ref_counts, const int64_t *cur_counts,
                      size_t k, struct drift_categorical_report *out,
                      struct hv_err *err) HV_WARN_UNUSED;

/* ---- verdicts ---------------------------------------------------------- */

enum drift_test {
  DRIFT_TEST_KS = 0,           /* p-value: drift when p < ks_pvalue */
  DRIFT_TEST_WASSERSTEIN_NORM, /* distance: drift when >= wasserstein_norm */
  DRIFT_TEST_PSI,              /* distance: drift when >= psi */
  DRIFT_TEST_JS,               /* distance: drift when >= js */
  DRIFT_TEST_CHI2              /* p-value: drift when p < chi2_pvalue */
};

/* Evidently-style defaults (evidently 0.4 get_default_stattest):
 *  numeric:     n_ref <= small_n -> KS, p < 0.05; else normed W1 >= 0.1
 *  categorical: n_ref <= small_n -> chi-square, p < 0.05; else JS >= 0.1
 *  PSI:         >= 0.1 drift ("moderate"), >= 0.2 "major" (industry rule)
 * Why: p-value tests flag negligible shifts once samples are large, so big
 * samples are judged by an effect size instead. Evidently uses a Z-test for
 * binary categories; we use chi-square (Yates) for them too. Low-cardinality
 * numbers (ratings 1..5) should be passed as categorical by the caller. */
struct drift_thresholds {
  double ks_pvalue;        /* 0.05 */
  double chi2_pvalue;      /* 0.05 */
  double wasserstein_norm; /* 0.1 */
  double psi;              /* 0.1 */
  double psi_major;        /* 0.2 */
  double js;               /* 0.1 */
  size_t small_n;          /* 1000: largest reference judged by p-values */
};

struct drift_feature_result {
  char name[64];        /* feature name (truncated) */
  enum drift_test test; /* which statistic decided */
  double statistic;     /* the test's statistic or distance */
  double pvalue;        /* p-value tests; NaN for distances */
  double threshold;     /* the threshold applied */
  int drift;            /* 1 when the threshold is crossed */
};

/* Fill t with the defaults above. */
void drift_thresholds_default(struct drift_thresholds *t);

/* Stable lower-case name of a test ("ks", "wasserstein_norm", "psi", "js",
 * "chi2"); "?" for an unknown value. */
const char *drift_test_name(enum drift_test t);

/* Parse a test name as printed by drift_test_name. Returns 0 or HV_EINVAL. */
int drift_test_parse(const char *s, enum drift_test *t,
                     struct hv_err *err) HV_WARN_UNUSED;

/* 1 when the test's decision uses a p-value (KS, chi-square). */
int drift_test_is_pvalue(enum drift_test t);

/* The default test for a feature (see struct drift_thresholds). */
enum drift_test drift_default_test(int categorical, size_t n_ref,
                                   const struct drift_thresholds *t);

/* Judge one statistic: fills out (name copied and truncated to 63 bytes;
 * NULL name gives ""). pvalue is ignored (stored as NaN) for distances. */
void drift_judge(const char *name, enum drift_test test, double statistic,
                 double pvalue, const struct drift_thresholds *t,
                 struct drift_feature_result *out);

/* The verdict of test on a numeric / categorical report. For a numeric
 * report DRIFT_TEST_CHI2 is not available and gives HV_EINVAL, and so does
 * KS / W1 for a categorical one. */
int drift_numeric_judge(const char *name, const struct drift_numeric_report *r,
                        enum drift_test test, const struct drift_thresholds *t,
                        struct drift_feature_result *out,
                        struct hv_err *err) HV_WARN_UNUSED;
int drift_categorical_judge(const char *name,
                            const struct drift_categorical_report *r,
                            enum drift_test test,
                            const struct drift_thresholds *t,
                            struct drift_feature_result *out,
                            struct hv_err *err) HV_WARN_UNUSED;

/* PSI grade: 0 below t->psi, 1 moderate (>= psi), 2 major (>= psi_major). */
int drift_psi_grade(double psi, const struct drift_thresholds *t);

#endif

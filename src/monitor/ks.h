/*
 * ks.h - the Kolmogorov-Smirnov distributions behind drift_ks's p-values.
 *
 * Design: every number follows a named reference so anyone can check it
 * (tests/test_ks.c and tests/test_drift.c compare them with scipy 1.10):
 *  - two-sample, exact: scipy.stats.ks_2samp(method='auto')'s
 *    _attempt_exact_2kssamp: _compute_prob_outside_square when n1 == n2
 *    (2 sum (-1)^(k-1) binom(2n, n-kh) / binom(2n, n), Horner form),
 *    _compute_outer_prob_inside_method otherwise (Hodges' lattice paths with
 *    Viehmann's recursion for 1 - p); used when max(n1, n2) <= 10000 and the
 *    result lies in [0, 1];
 *  - two-sample, asymptotic: kstwo.sf(D, round(n1*n2/(n1+n2))), as scipy;
 *  - one-sample two-sided, scipy.stats.kstwo.sf = scipy.stats._ksstats.
 *    _kolmogn(cdf=False), with Simard & L'Ecuyer's (2011) choice of
 *    algorithm by n and n*d^2: Durbin's matrix (Marsaglia, Tsang & Wang
 *    2003, _kolmogn_DMTW), Pomeranz's recursion (_kolmogn_Pomeranz),
 *    the Pelz-Good asymptotic series (_kolmogn_PelzGood), or twice
 *    Smirnov's one-sided sum;
 *  - one-sample one-sided, scipy.special.smirnov (cephes' smirnov): the
 *    Smirnov-Birnbaum-Tingey sum, evaluated term by term in long double
 *    logarithms instead of cephes' double-double arithmetic (same terms,
 *    same stopping rule).
 * The ports keep scipy's operation order where it decides a branch or a
 * rounding (lattice h, the exact recursions), so p-values agree to ~1e-12.
 *
 * Threads: pure functions, no globals; call from any thread.
 */
#ifndef HV_MONITOR_KS_H
#define HV_MONITOR_KS_H

#include <math.h>
#include <stdint.h>

#include "monitor/drift.h"

/* p clipped to [0, 1]; NaN stays NaN. */
static inline double ks_clip01(double p)
{
  if (isnan(p))
    return p;
  return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

/* scipy's ks_2samp p-value for statistic d of samples of sizes n1, n2 >= 1
 * into *out (statistic, pvalue, method). hnum >= 0 is D * n1 * n2 when the
 * caller knows it exactly (the merge walk's integer CDF difference); -1
 * rounds D to the lattice from d, as scipy does. In the exact branch the
 * statistic is the lattice value. */
void ks_2samp_pvalue(int64_t n1, int64_t n2, int64_t hnum, double d,
                     struct drift_ks *out);

/* scipy.stats.kstwo.sf(d, n): P(D_n >= d) for the two-sided one-sample KS
 * statistic with n observations. NaN when n < 1, n > INT32_MAX or d is
 * NaN; never fails otherwise. */
double ks_kstwo_sf(int64_t n, double d);

/* scipy.special.smirnov(n, d): P(D+_n >= d), one-sided one-sample KS. NaN
 * outside n >= 1, 0 <= d <= 1. */
double ks_smirnov_sf(int n, double d);

#endif

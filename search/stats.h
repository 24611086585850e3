/* stats.h — the statistics of `salient analyze`: quantiles, percentile
 * bootstrap confidence intervals of a mean or a median, and the paired
 * sign-flip permutation test. All randomness comes from numpy's legacy
 * generator (engine/rng.h) seeded with a caller-given number, so every result
 * is reproducible to the bit.
 *
 * Bootstrap: B resamples of n values drawn with replacement (index =
 * floor(u * n), u = rng_np_double); the statistic of each; the CI is the
 * 2.5% and 97.5% quantiles of the B statistics (linear interpolation between
 * order statistics, numpy's default: position q (B - 1)).
 *
 * Sign-flip test of "the mean of d is 0" for paired differences d_i (under
 * the null each d_i is symmetric about 0): the statistic |mean(s_i d_i)| over
 * sign vectors s. Exact (all 2^n sign vectors) when n <= STATS_EXACT_MAX_N,
 * else R random sign vectors with p = (1 + #{|mean*| >= |mean|}) / (1 + R).
 * A relative tolerance of 1e-12 counts ties as "as extreme".
 */
#ifndef SALIENT_STATS_H
#define SALIENT_STATS_H

#include <stdint.h>

#define STATS_EXACT_MAX_N 16

/* q-quantile of sorted[0..n-1] (n >= 1), linear interpolation. */
double stats_quantile_sorted(const double *sorted, int n, double q);
double stats_mean(const double *x, int n);
double stats_median(const double *x, int n);   /* does not modify x */

typedef enum stats_kind { STATS_MEAN, STATS_MEDIAN } stats_kind_t;

/* Percentile bootstrap CI of the mean or median of x[0..n-1] (n >= 1):
 * level e.g. 0.95. Returns 0, or -1 when out of memory. */
int stats_bootstrap_ci(const double *x, int n, stats_kind_t kind, int resamples, double level,
                       uint32_t rng_seed, double *lo, double *hi);

/* Two-sided sign-flip permutation p-value for mean(d) = 0 (n >= 1).
 * Returns 0, or -1 when out of memory. */
int stats_sign_flip_p(const double *d, int n, int permutations, uint32_t rng_seed, double *p);

#endif

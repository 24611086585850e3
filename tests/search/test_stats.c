/* test_stats.c — bootstrap CIs and the sign-flip permutation test against
 * closed-form cases: exact p-values of small samples, a constant sample, the
 * normal-theory CI width, coverage of the CI and the rejection rates of the
 * test (a shift is detected, a null is not, at the stated rate over many
 * datasets made with fixed seeds), and bit-for-bit reproducibility. */
#include <math.h>

#include "check.h"
#include "rng.h"
#include "stats.h"

/* n standard normals (numpy RandomState(seed).randn(n)) times sd plus shift */
static void normal_data(double *x, int n, uint32_t seed, double shift, double sd) {
    rng_np_t r;
    rng_np_seed(&r, seed);
    rng_np_randn_fill(&r, x, n);
    for (int i = 0; i < n; i++) x[i] = shift + sd * x[i];
}

int main(void) {
    test_ctx_t t = test_begin("stats");
    /* asan runs are ~10x slower: fewer datasets there, same statements */
    const int datasets = getenv("SALIENT_ASAN") ? 200 : 400;

    /* --- quantiles: numpy's default linear interpolation */
    double s4[4] = {1, 2, 3, 4};
    CHECK(&t, stats_quantile_sorted(s4, 4, 0.5) == 2.5, "median of 1..4");
    CHECK(&t, fabs(stats_quantile_sorted(s4, 4, 0.25) - 1.75) < 1e-15, "q25 of 1..4 = 1.75");
    CHECK(&t, stats_quantile_sorted(s4, 4, 0) == 1 && stats_quantile_sorted(s4, 4, 1) == 4, "ends");
    double m5[5] = {5, 1, 4, 2, 3};
    CHECK(&t, stats_median(m5, 5) == 3 && m5[0] == 5, "median of 5 values, input untouched");

    /* --- exact sign-flip p-values */
    double d10[10];
    for (int i = 0; i < 10; i++) d10[i] = 1 + i;
    double p;
    stats_sign_flip_p(d10, 10, 0, 1, &p);
    CHECK(&t, p == 2.0 / 1024.0, "10 positive differences: p = 2/1024, got %.9g", p);
    double d2[2] = {1, -1};
    stats_sign_flip_p(d2, 2, 0, 1, &p);
    CHECK(&t, p == 1.0, "mean 0: p = 1, got %g", p);
    /* {3, 1, 1}: |mean| over the 8 sign vectors: 5/3, 1, 1, 1/3, ... >= 5/3 twice */
    double d3[3] = {3, 1, 1};
    stats_sign_flip_p(d3, 3, 0, 1, &p);
    CHECK(&t, p == 2.0 / 8.0, "{3,1,1}: p = 2/8, got %g", p);
    /* {3, 1, 1, 1}: sums 6 (x1), sign flips of one 1: 4 (x3) ... |sum| >= 6 only for all same sign */
    double d4[4] = {3, 1, 1, 1}, d4b[4] = {1, 1, 1, 1};
    stats_sign_flip_p(d4, 4, 0, 1, &p);
    CHECK(&t, p == 2.0 / 16.0, "{3,1,1,1}: p = 2/16, got %g", p);
    stats_sign_flip_p(d4b, 4, 0, 1, &p);
    CHECK(&t, p == 2.0 / 16.0, "{1,1,1,1}: p = 2/16 (ties counted), got %g", p);
    /* Monte Carlo for n = 20 positive values: p = (1 + ~R * 2^-19) / (1 + R) */
    double d20[20];
    for (int i = 0; i < 20; i++) d20[i] = 1;
    stats_sign_flip_p(d20, 20, 999, 7, &p);
    CHECK(&t, p >= 1.0 / 1000 && p <= 3.0 / 1000, "20 ones, 999 flips: p %g", p);

    /* --- bootstrap of a constant sample: [c, c] */
    double c[7] = {2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5}, lo, hi;
    stats_bootstrap_ci(c, 7, STATS_MEAN, 500, 0.95, 3, &lo, &hi);
    CHECK(&t, lo == 2.5 && hi == 2.5, "constant mean CI [%g, %g]", lo, hi);
    stats_bootstrap_ci(c, 7, STATS_MEDIAN, 500, 0.95, 3, &lo, &hi);
    CHECK(&t, lo == 2.5 && hi == 2.5, "constant median CI [%g, %g]", lo, hi);

    /* --- large sample: the CI of the mean is mean +- 1.96 s / sqrt(n) */
    {
        enum { N = 2000 };
        static double x[N];
        normal_data(x, N, 11, 1.0, 2.0);
        double mean = stats_mean(x, N), ss = 0;
        for (int i = 0; i < N; i++) ss += (x[i] - mean) * (x[i] - mean);
        double half = 1.959964 * sqrt(ss / (N - 1)) / sqrt((double)N);
        stats_bootstrap_ci(x, N, STATS_MEAN, 4000, 0.95, 5, &lo, &hi);
        CHECK(&t, fabs((hi - lo) / 2 - half) < 0.08 * half, "CI half-width %g, normal theory %g", (hi - lo) / 2, half);
        CHECK(&t, fabs((hi + lo) / 2 - mean) < 0.1 * half, "CI centre %g, mean %g", (hi + lo) / 2, mean);
    }

    /* --- coverage and rejection rates over many datasets (fixed seeds) */
    {
        enum { N = 40 };
        double x[N];
        int covered = 0, covered_median = 0, rejected_null = 0, rejected_shift = 0;
        for (int k = 0; k < datasets; k++) {
            normal_data(x, N, 1000 + (uint32_t)k, 0.3, 1.0);
            stats_bootstrap_ci(x, N, STATS_MEAN, 1000, 0.95, 50000 + (uint32_t)k, &lo, &hi);
            covered += lo <= 0.3 && 0.3 <= hi;
            stats_bootstrap_ci(x, N, STATS_MEDIAN, 1000, 0.95, 80000 + (uint32_t)k, &lo, &hi);
            covered_median += lo <= 0.3 && 0.3 <= hi;  /* the normal's median is its mean */
            normal_data(x, N, 2000 + (uint32_t)k, 0.0, 1.0);
            stats_sign_flip_p(x, N, 1000, 60000 + (uint32_t)k, &p);
            rejected_null += p < 0.05;
            normal_data(x, N, 3000 + (uint32_t)k, 1.0, 1.0);  /* a shift of one sd */
            stats_sign_flip_p(x, N, 1000, 70000 + (uint32_t)k, &p);
            rejected_shift += p < 0.05;
        }
        /* 95% CI: percentile bootstrap at n = 40 covers ~93-95%; binomial sd
         * over 400 datasets ~1.1 points */
        double cov = (double)covered / datasets, rn = (double)rejected_null / datasets,
               rs = (double)rejected_shift / datasets;
        CHECK(&t, cov >= 0.90 && cov <= 0.98, "coverage of the 95%% CI of the mean: %.3f", cov);
        double cov_m = (double)covered_median / datasets;
        CHECK(&t, cov_m >= 0.90 && cov_m <= 0.99, "coverage of the 95%% CI of the median: %.3f", cov_m);
        /* the test holds its level: 5% +- 3 binomial sd */
        CHECK(&t, rn >= 0.02 && rn <= 0.085, "null rejected in %.3f of datasets (level 0.05)", rn);
        printf("over %d datasets: CI coverage mean %.3f, median %.3f; rejections at 0.05: null %.3f, 1-sd shift %.3f\n",
               datasets, cov, cov_m, rn, rs);
        /* power for a 1-sd shift at n = 40 is > 0.999 */
        CHECK(&t, rs >= 0.99, "1-sd shift detected in only %.3f of datasets", rs);
    }

    /* --- reproducible to the bit; another stream gives other numbers */
    {
        double x[30], lo2, hi2, lo3, hi3, p2;
        normal_data(x, 30, 9, 0.2, 1.0);
        stats_bootstrap_ci(x, 30, STATS_MEDIAN, 800, 0.95, 123, &lo, &hi);
        stats_bootstrap_ci(x, 30, STATS_MEDIAN, 800, 0.95, 123, &lo2, &hi2);
        stats_bootstrap_ci(x, 30, STATS_MEDIAN, 800, 0.95, 124, &lo3, &hi3);
        CHECK(&t, !memcmp(&lo, &lo2, sizeof lo) && !memcmp(&hi, &hi2, sizeof hi), "same seed, same CI");
        CHECK(&t, lo != lo3 || hi != hi3, "another seed, another CI");
        stats_sign_flip_p(x, 30, 500, 77, &p);
        stats_sign_flip_p(x, 30, 500, 77, &p2);
        CHECK(&t, p == p2, "same seed, same p");
    }
    return test_end(&t);
}

/* stats.c — bootstrap CIs and sign-flip permutation tests (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

double stats_quantile_sorted(const double *sorted, int n, double q) {
    if (n <= 0) return NAN;
    double pos = q * (n - 1);
    int i = (int)floor(pos);
    if (i < 0) return sorted[0];
    if (i >= n - 1) return sorted[n - 1];
    double frac = pos - i;
    return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

double stats_mean(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return n > 0 ? s / n : NAN;
}

static double median_inplace(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

double stats_median(const double *x, int n) {
    if (n <= 0) return NAN;
    double *c = malloc(sizeof *c * (size_t)n);
    if (!c) return NAN;
    memcpy(c, x, sizeof *c * (size_t)n);
    double m = median_inplace(c, n);
    free(c);
    return m;
}

int stats_bootstrap_ci(const double *x, int n, stats_kind_t kind, int resamples, double level,
                       uint32_t rng_seed, double *lo, double *hi) {
    *lo = *hi = NAN;
    if (n <= 0 || resamples <= 0) return 0;
    double *stat = malloc(sizeof *stat * (size_t)resamples), *sample = malloc(sizeof *sample * (size_t)n);
    rng_np_t *rng = malloc(sizeof *rng);
    if (!stat || !sample || !rng) {
        free(stat), free(sample), free(rng);
        return -1;
    }
    rng_np_seed(rng, rng_seed);
    for (int r = 0; r < resamples; r++) {
        for (int i = 0; i < n; i++) {
            int k = (int)(rng_np_double(rng) * n);
            sample[i] = x[k < n ? k : n - 1];
        }
        stat[r] = kind == STATS_MEAN ? stats_mean(sample, n) : median_inplace(sample, n);
    }
    qsort(stat, (size_t)resamples, sizeof *stat, cmp_double);
    double tail = (1.0 - level) / 2.0;
    *lo = stats_quantile_sorted(stat, resamples, tail);
    *hi = stats_quantile_sorted(stat, resamples, 1.0 - tail);
    free(stat), free(sample), free(rng);
    return 0;
}

int stats_sign_flip_p(const double *d, int n, int permutations, uint32_t rng_seed, double *p) {
    *p = NAN;
    if (n <= 0) return 0;
    double obs = fabs(stats_mean(d, n)), tol = 1e-12 * (obs > 0 ? obs : 1.0);
    if (n <= STATS_EXACT_MAX_N) {
        long count = 0, total = 1L << n;
        for (long s = 0; s < total; s++) {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += (s >> i) & 1 ? -d[i] : d[i];
            if (fabs(sum / n) >= obs - tol) count++;
        }
        *p = (double)count / (double)total;
        return 0;
    }
    if (permutations <= 0) return 0;
    rng_np_t *rng = malloc(sizeof *rng);
    if (!rng) return -1;
    rng_np_seed(rng, rng_seed);
    long count = 0;
    for (int r = 0; r < permutations; r++) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += rng_np_u32(rng) & 1u ? -d[i] : d[i];
        if (fabs(sum / n) >= obs - tol) count++;
    }
    *p = (1.0 + (double)count) / (1.0 + permutations);
    free(rng);
    return 0;
}

/* rng.c — numpy's legacy RandomState: MT19937 + 53-bit doubles + polar
 * Box-Muller (see rng.h). Written from the published algorithms:
 * Matsumoto & Nishimura's MT19937 (init_genrand seeding) and Marsaglia's
 * polar method as numpy's legacy generator applies it. */
#include "rng.h"

#include <math.h>

#define MT_N 624
#define MT_M 397

void rng_np_seed(rng_np_t *r, uint32_t seed) {
    /* init_genrand: mt[i] = 1812433253 * (mt[i-1] ^ (mt[i-1] >> 30)) + i */
    r->mt[0] = seed;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = MT_N;
    r->has_gauss = 0;
    r->gauss = 0.0;
}

/* Regenerates all 624 words of state (the "twist"). */
static void mt_twist(rng_np_t *r) {
    const uint32_t upper = 0x80000000u, lower = 0x7fffffffu, matrix_a = 0x9908b0dfu;
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (r->mt[i] & upper) | (r->mt[(i + 1) % MT_N] & lower);
        r->mt[i] = r->mt[(i + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? matrix_a : 0u);
    }
    r->mti = 0;
}

uint32_t rng_np_u32(rng_np_t *r) {
    if (r->mti >= MT_N) mt_twist(r);
    uint32_t y = r->mt[r->mti++];
    /* tempering */
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

double rng_np_double(rng_np_t *r) {
    /* 27 high bits of one draw and 26 of the next: (a * 2^26 + b) / 2^53 */
    uint32_t a = rng_np_u32(r) >> 5, b = rng_np_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

double rng_np_randn(rng_np_t *r) {
    if (r->has_gauss) {
        r->has_gauss = 0;
        return r->gauss;
    }
    /* Polar method: a uniform point (x1, x2) in the unit disc (not the
     * origin) gives two independent normals x_i * sqrt(-2 ln(r2) / r2).
     * numpy returns the x2 one now and keeps the x1 one for the next call. */
    double x1, x2, r2;
    do {
        x1 = 2.0 * rng_np_double(r) - 1.0;
        x2 = 2.0 * rng_np_double(r) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    r->gauss = f * x1;
    r->has_gauss = 1;
    return f * x2;
}

void rng_np_randn_fill(rng_np_t *r, double *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = rng_np_randn(r);
}

/* test_gemm.c — gemm_nt (c = a b^T) against the naive loop, on every ISA path.
 *
 * Shapes cover the mapping network (M = batch 1..9, N = K = 512), odd sizes
 * around the vector widths (K = 1, 7, 8, 9, 15, 17, 31, 513), N not a
 * multiple of the 4-row block, and one product big enough for the threaded
 * path. Each element must be within 1e-5 of the sum of |a_il b_jl| (float32
 * sums in another order). Invariant: b = identity gives c = a exactly.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "gemm.h"

typedef struct rng { uint64_t s; } rng_t;
static float rnd(rng_t *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    uint64_t x = r->s * 2685821657736338717ULL;
    return (float)((double)(x >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
}

static void test_shape(test_ctx_t *t, rng_t *r, const char *isa, int m, int n, int k) {
    float *a = malloc((size_t)m * k * sizeof(float) + 4), *b = malloc((size_t)n * k * sizeof(float) + 4);
    float *ref = malloc((size_t)m * n * sizeof(float)), *got = malloc((size_t)m * n * sizeof(float));
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = rnd(r);
    for (size_t i = 0; i < (size_t)n * k; i++) b[i] = rnd(r);
    for (size_t i = 0; i < (size_t)m * n; i++) got[i] = NAN;
    gemm_nt_ref(m, n, k, a, b, ref);
    gemm_nt(m, n, k, a, b, got);
    double worst = 0.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double mag = 0.0;
            for (int l = 0; l < k; l++) mag += fabs((double)a[(size_t)i * k + l] * b[(size_t)j * k + l]);
            double d = fabs((double)got[(size_t)i * n + j] - ref[(size_t)i * n + j]);
            double rel = d != d ? INFINITY : d / (mag + 1e-30);
            worst = rel > worst ? rel : worst;
        }
    CHECK(t, worst <= 1e-5, "gemm_nt %s %dx%dx%d: rel err %.3g", isa, m, n, k, worst);
    free(a); free(b); free(ref); free(got);
}

int main(void) {
    test_ctx_t t = test_begin("gemm");
    rng_t r = {0x243F6A8885A308D3ULL};
    static const char *isas[] = {"generic", "avx2", "avx512"};
    static const int ms[] = {1, 2, 3, 8, 9};
    static const int ns[] = {1, 3, 4, 5, 17, 64};
    static const int ks[] = {1, 7, 8, 9, 15, 17, 31, 513};
    for (int ii = 0; ii < 3; ii++) {
        setenv("SALIENT_ISA", isas[ii], 1);
        const char *isa = isa_name(cpu_isa());
        if (strcmp(isa, isas[ii]) != 0)
            printf("note: this CPU has no %s; that pass runs %s\n", isas[ii], isa);
        for (int mi = 0; mi < 5; mi++)
            for (int ni = 0; ni < 6; ni++)
                for (int ki = 0; ki < 8; ki += 1 + (mi + ni) % 2)
                    test_shape(&t, &r, isa, ms[mi], ns[ni], ks[ki]);
        test_shape(&t, &r, isa, 1, 512, 512);   /* mapping layer, batch 1 */
        test_shape(&t, &r, isa, 8, 512, 512);   /* mapping layer, batch 8 */
        test_shape(&t, &r, isa, 8, 515, 1100);  /* big enough to be threaded */

        /* b = identity: c = a exactly */
        const int m = 3, k = 37;
        float *a = malloc(sizeof(float) * m * k), *b = calloc((size_t)k * k, sizeof(float));
        float *c = malloc(sizeof(float) * m * k);
        for (int i = 0; i < m * k; i++) a[i] = rnd(&r);
        for (int i = 0; i < k; i++) b[i * k + i] = 1.0f;
        gemm_nt(m, k, k, a, b, c);
        CHECK(&t, memcmp(a, c, sizeof(float) * m * k) == 0, "gemm_nt %s: a I != a", isa);
        free(a); free(b); free(c);
    }
    unsetenv("SALIENT_ISA");
    return test_end(&t);
}

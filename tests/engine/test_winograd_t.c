/* test_winograd_t.c — fast mode's Winograd transposed conv (stride 2, 3x3)
 * against the naive loop.
 *
 * For every ISA path the CPU has (SALIENT_ISA = generic, avx2, avx512; a
 * missing one falls back and is tested again), plus the 16-lane shape of the
 * AVX-512 path through the portable vocabulary of kernels_emu16.h (so it runs
 * on any CPU), and shapes with odd H, W (partial tiles; small ones, under 64
 * tiles, fall back; H multiples of 4 with the edge row done by the direct
 * kernel), channel counts not multiples of 8 or of the 32-channel
 * weight blocks, batch 1..3, with and without in_scale: runs the Winograd
 * kernel on weights made fast (conv_weights_make_fast_transposed) and
 * compares with conv2d_transpose3x3_s2_ref: max error <= 5e-5 of the
 * magnitude of the raw sums (typically ~5e-6). Also: the kernel really ran
 * (returns 0) or declined (1) as its size rule says, every output was written
 * (NaN-filled beforehand); a delta weight (only w11 = 1) scatters the input
 * to the odd/odd positions exactly (the other classes cancel to 0); results
 * are bit-identical for 2 threads on a batch and 1 thread one image at a time.
 * End to end (the "small" generator fixture with every conv0 made fast):
 * tests/engine/test_winograd.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conv.h"
#include "conv_impl.h"
#include "cpu.h"

/* the kernel template with a portable 16-lane vocabulary: the AVX-512 shape */
#include "kernels_emu16.h"

#define TOL 5e-5

static double max_abs(const float *a, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

/* The Winograd kernel of the ISA cpu_isa() picks, called directly. */
static int run_wino_t(const conv_weights_t *cw, const float *in, const float *scale, float *out,
                      int n, int h, int w, int emu16) {
    if (emu16) return conv_t3s2_wino_emu16(cw, in, scale, out, n, h, w, NULL);
    switch (cpu_isa()) {
    case ISA_AVX512: return conv_t3s2_wino_avx512(cw, in, scale, out, n, h, w, NULL);
    case ISA_AVX2: return conv_t3s2_wino_avx2(cw, in, scale, out, n, h, w, NULL);
    default: return conv_t3s2_wino_generic(cw, in, scale, out, n, h, w, NULL);
    }
}

/* The whole transposed conv the way fast mode runs it: Winograd, or the
 * direct kernel when Winograd declines (the public API; emu16 by hand). */
static void run_full(const conv_weights_t *cw, const float *in, const float *scale, float *out,
                     int n, int h, int w, int emu16) {
    if (!emu16) {
        conv2d_transpose3x3_s2(cw, in, scale, out, n, h, w, NULL);
        return;
    }
    if (conv_t3s2_wino_emu16(cw, in, scale, out, n, h, w, NULL) != 0 &&
        conv_t3s2_fast_emu16(cw, in, scale, out, n, h, w, NULL) != 0)
        conv2d_transpose3x3_s2_ref(cw, in, scale, out, n, h, w);
}

static void test_shape(test_ctx_t *t, test_rng_t *r, const char *isa, int n, int ci, int co,
                       int h, int w, int use_scale, int emu16, double *worst) {
    const int ho = 2 * h + 1, wo = 2 * w + 1;
    const size_t ni = (size_t)n * ci * h * w, no = (size_t)n * co * ho * wo;
    float *wt = test_rand_array(r, (size_t)co * ci * 9), *in = test_rand_array(r, ni);
    float *scale = use_scale ? test_rand_array(r, (size_t)n * ci) : NULL;
    float *ref = malloc(no * sizeof(float)), *got = malloc(no * sizeof(float));
    float *one = malloc(no * sizeof(float));
    conv_weights_t cw;
    if (conv_weights_init(&cw, wt, co, ci, 3, NULL) ||
        conv_weights_make_fast_transposed(&cw, NULL)) {
        CHECK(t, 0, "weights init failed");
        goto done;
    }
    CHECK(t, cw.wino_t && cw.wino_t_len == (size_t)WINO_T_POINTS * ((co + 7) / 8 * 8) * ci,
          "wino_t len %zu", cw.wino_t_len);
    conv2d_transpose3x3_s2_ref(&cw, in, scale, ref, n, h, w);
    const double m = max_abs(ref, no); /* magnitude of the raw sums */
    threads_set(2);
    memset(got, 0xff, no * sizeof(float)); /* NaN: every output must be written */
    const int rc = run_wino_t(&cw, in, scale, got, n, h, w, emu16);
    const int small = ((w + 4) / 4) * ((h + 4) / 4) < 64 || h < 3 || w < 3; /* < 64 tiles */
    CHECK(t, rc == (small ? 1 : 0), "%s wino_t %dx%d returned %d", isa, h, w, rc);
    if (rc != 0) run_full(&cw, in, scale, got, n, h, w, emu16);
    double err = test_max_abs_diff(got, ref, no) / (m > 1e-30 ? m : 1e-30);
    for (size_t i = 0; i < no; i++)
        if (got[i] != got[i]) err = INFINITY;
    if (!small && err > *worst) *worst = err; /* for the summary line */
    CHECK(t, err <= TOL, "%s n=%d ci=%d co=%d %dx%d scale %d: rel err %.3g > %g", isa, n, ci,
          co, h, w, use_scale, err, TOL);
    /* one image at a time on one thread: the same bits */
    threads_set(1);
    for (int b = 0; b < n; b++)
        run_full(&cw, in + (size_t)b * ci * h * w, scale ? scale + (size_t)b * ci : NULL,
                 one + (size_t)b * co * ho * wo, 1, h, w, emu16);
    threads_set(0);
    CHECK(t, memcmp(one, got, no * sizeof(float)) == 0,
          "%s n=%d ci=%d co=%d %dx%d: batch/2 threads differ from 1 image/1 thread", isa, n, ci,
          co, h, w);
done:
    conv_weights_free(&cw);
    free(wt); free(in); free(scale); free(ref); free(got); free(one);
}

/* Only w11 = 1 (o = c): out[2a+1, 2b+1] = in[a, b] exactly, 0 elsewhere
 * (the odd/odd class is not transformed; the others must cancel to 0). */
static void test_delta(test_ctx_t *t, test_rng_t *r) {
    const int c = 5, h = 29, w = 34, ho = 2 * h + 1, wo = 2 * w + 1;
    float *wt = calloc((size_t)c * c * 9, sizeof(float));
    for (int o = 0; o < c; o++) wt[((size_t)o * c + o) * 9 + 4] = 1.0f;
    float *in = test_rand_array(r, (size_t)c * h * w);
    float *out = malloc((size_t)c * ho * wo * sizeof(float));
    conv_weights_t cw;
    if (conv_weights_init(&cw, wt, c, c, 3, NULL) || conv_weights_make_fast_transposed(&cw, NULL)) {
        CHECK(t, 0, "weights init failed");
    } else {
        CHECK(t, run_wino_t(&cw, in, NULL, out, 1, h, w, 0) == 0, "delta: kernel did not run");
        double d = 0.0;
        for (int o = 0; o < c; o++)
            for (int y = 0; y < ho; y++)
                for (int x = 0; x < wo; x++) {
                    const float want = y % 2 && x % 2 ? in[((size_t)o * h + y / 2) * w + x / 2] : 0.0f;
                    const double e = fabs(out[((size_t)o * ho + y) * wo + x] - want);
                    d = e > d ? e : d;
                }
        CHECK(t, d <= 1e-6, "delta weight: max |out - scattered in| = %.3g", d);
    }
    conv_weights_free(&cw);
    free(wt); free(in); free(out);
}

int main(void) {
    test_ctx_t t = test_begin("winograd_t");
    test_rng_t r = {0x13198A2E03707344ULL};
    test_delta(&t, &r);
    double worst = 0.0; /* largest relative error of a Winograd run */
    static const char *isas[] = {"generic", "avx2", "avx512"};
    /* (H, W): tiny and small ones that fall back, then odd sizes with
     * partial tiles at the right and bottom */
    static const int sizes[8][2] = {{1, 5},   {6, 14},  {23, 17}, {31, 31},
                                    {33, 35}, {45, 29}, {64, 37}, {28, 70}};
    for (int ii = 0; ii < 4; ii++) { /* the ISAs, then the 16-lane template (emu16) */
        const int emu16 = ii == 3;
        if (!emu16) setenv("SALIENT_ISA", isas[ii], 1);
        const char *isa = emu16 ? "emu16" : isa_name(cpu_isa());
        if (!emu16 && strcmp(isa, isas[ii]) != 0)
            printf("note: this CPU has no %s; that pass runs %s\n", isas[ii], isa);
        for (int si = 0; si < 8; si++) {
            const int h = sizes[si][0], w = sizes[si][1];
            const int ci = 1 + (int)(fabsf(test_rand(&r)) * 40), co = 1 + (int)(fabsf(test_rand(&r)) * 27);
            test_shape(&t, &r, isa, 1 + si % 3, ci, co, h, w, si % 2, emu16, &worst);
        }
        /* many input channels, 64 outputs, several tile blocks per tile row
         * and blocks across rows */
        test_shape(&t, &r, isa, 1, 150, 64, 32, 29, 1, emu16, &worst);
        test_shape(&t, &r, isa, 2, 32, 24, 32, 37, 0, emu16, &worst);
        test_shape(&t, &r, isa, 1, 3, 9, 63, 65, 1, emu16, &worst);
        /* a wide image: the row strips of a block do not reach the next
         * tile row (S_4 filled on its own) */
        test_shape(&t, &r, isa, 2, 5, 7, 11, 131, 1, emu16, &worst);
        unsetenv("SALIENT_ISA");
    }
    printf("worst relative error (Winograd runs): %.3g\n", worst);
    return test_end(&t);
}

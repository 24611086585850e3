/* test_conv_adjoint.c — the kernels the generator's backward pass runs on.
 *
 * For every ISA path (SALIENT_ISA = generic, avx2, avx512; a path the CPU
 * lacks falls back): conv2d_s2_3x3 (stride-2 conv, with and without prologue
 * and epilogue), fir4x4_up_pad2 and downsample2x_fir against their naive
 * twins (max |fast - ref| <= 1e-5 x max(1, max|ref|)), and the adjoint
 * identities <A x, y> = <x, A^T y> (inner products in double, tolerance
 * 1e-5 relative to sum |A x| |y|) of every pair the backward uses:
 *   conv2d 3x3 (W)                 <-> conv2d 3x3 (W transposed and flipped)
 *   conv2d 1x1 (W)                 <-> conv2d 1x1 (W transposed)
 *   conv2d_transpose3x3_s2 (W)     <-> conv2d_s2_3x3 (W transposed)
 *   fir4x4_down_pad1 (f)           <-> fir4x4_up_pad2 (f mirrored)
 *   upsample2x_fir (f)             <-> downsample2x_fir (f mirrored)
 * with an asymmetric f so that a wrong mirror cannot pass.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conv.h"
#include "cpu.h"

#define TOL 1e-5

static double rel_err(const float *got, const float *ref, size_t n) {
    double m = 1.0;
    for (size_t i = 0; i < n; i++) if (fabs(ref[i]) > m) m = fabs(ref[i]);
    return test_max_abs_diff(got, ref, n) / m;
}

/* <a, b> and sum |a||b| in double */
static double dot(const float *a, const float *b, size_t n, double *absdot) {
    double s = 0, sa = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
        sa += fabs((double)a[i] * b[i]);
    }
    if (absdot) *absdot = sa;
    return s;
}

/* <A x, y> vs <x, A^T y>: |difference| within TOL of the larger absolute sum */
static void check_adjoint(test_ctx_t *t, const char *what, const float *ax, const float *y,
                          size_t ny, const float *x, const float *aty, size_t nx) {
    double s1, s2;
    double l = dot(ax, y, ny, &s1), r = dot(x, aty, nx, &s2);
    double scale = s1 > s2 ? s1 : s2;
    CHECK(t, fabs(l - r) <= TOL * scale, "%s: <Ax,y> = %.9g, <x,A^T y> = %.9g", what, l, r);
}

static void test_s2_shape(test_ctx_t *t, test_rng_t *r, int n, int ci, int co, int h, int w,
                          int epi) {
    const size_t nin = (size_t)n * ci * (2 * h + 1) * (2 * w + 1), nout = (size_t)n * co * h * w;
    float *wt = test_rand_array(r, (size_t)co * ci * 9), *in = test_rand_array(r, nin);
    float *scale = test_rand_array(r, (size_t)n * ci), *oscale = test_rand_array(r, (size_t)n * co);
    float *bias = test_rand_array(r, (size_t)co), *noise = test_rand_array(r, (size_t)h * w);
    float *got = malloc(nout * sizeof(float)), *ref = malloc(nout * sizeof(float));
    conv_weights_t cw;
    sal_err_t err = {{0}};
    CHECK(t, conv_weights_init(&cw, wt, co, ci, 3, &err) == 0, "%s", err.msg);
    conv_epilogue_t ep = {0};
    if (epi) {
        ep = (conv_epilogue_t){.out_scale = oscale, .noise = noise, .noise_gain = 0.3f,
                               .bias = bias, .act = ACT_LRELU, .slope = 0.2f, .gain = 1.5f,
                               .clamp = 0.7f, .in_scale = scale};
    }
    conv2d_s2_3x3(&cw, in, got, n, h, w, epi ? &ep : NULL, NULL);
    conv2d_s2_3x3_ref(&cw, in, ref, n, h, w, epi ? &ep : NULL);
    // float sums of ci*9 products: the rounding grows with the length
    const double tol = TOL * (ci * 9 > 300 ? ci * 9 / 300.0 : 1.0);
    double e = rel_err(got, ref, nout);
    CHECK(t, e <= tol, "conv2d_s2_3x3 %s n%d %d->%d %dx%d epi%d: rel err %.3g",
          isa_name(cpu_isa()), n, ci, co, h, w, epi, e);
    conv_weights_free(&cw);
    free(wt); free(in); free(scale); free(oscale); free(bias); free(noise); free(got); free(ref);
}

static void test_fir_up_shape(test_ctx_t *t, test_rng_t *r, int planes, int h, int w) {
    const float f[4] = {0.5f, 1.25f, -0.75f, 2.0f};
    const size_t nin = (size_t)planes * h * w, nout = (size_t)planes * (h + 1) * (w + 1);
    float *in = test_rand_array(r, nin), *got = malloc(nout * 4), *ref = malloc(nout * 4);
    fir4x4_up_pad2(in, got, planes, h, w, f, 0.25f, NULL);
    fir4x4_up_pad2_ref(in, ref, planes, h, w, f, 0.25f);
    double e = rel_err(got, ref, nout);
    CHECK(t, e <= TOL, "fir4x4_up_pad2 %s p%d %dx%d: rel err %.3g", isa_name(cpu_isa()), planes,
          h, w, e);
    free(in); free(got); free(ref);
}

static void test_down_shape(test_ctx_t *t, test_rng_t *r, int planes, int h, int w) {
    const float f[4] = {0.5f, 1.25f, -0.75f, 2.0f};
    const size_t nin = (size_t)planes * 4 * h * w, nout = (size_t)planes * h * w;
    float *in = test_rand_array(r, nin), *got = malloc(nout * 4), *ref = malloc(nout * 4);
    downsample2x_fir(in, got, planes, h, w, f, 0.25f, NULL);
    downsample2x_fir_ref(in, ref, planes, h, w, f, 0.25f);
    double e = rel_err(got, ref, nout);
    CHECK(t, e <= TOL, "downsample2x_fir p%d %dx%d: rel err %.3g", planes, h, w, e);
    free(in); free(got); free(ref);
}

/* The adjoint pairs on one random shape, through the public (fast) kernels. */
static void test_adjoints(test_ctx_t *t, test_rng_t *r, int n, int ci, int co, int h, int w) {
    sal_err_t err = {{0}};
    char what[160];
    const char *isa = isa_name(cpu_isa());
    float *wt = test_rand_array(r, (size_t)co * ci * 9);
    conv_weights_t fw, aw;
    float *wadj = NULL;

    // conv2d 3x3 same: x (n, ci, h, w) -> (n, co, h, w)
    {
        const size_t nx = (size_t)n * ci * h * w, ny = (size_t)n * co * h * w;
        float *x = test_rand_array(r, nx), *y = test_rand_array(r, ny);
        float *ax = malloc(ny * 4), *aty = malloc(nx * 4);
        CHECK(t, conv_weights_init(&fw, wt, co, ci, 3, &err) == 0, "%s", err.msg);
        CHECK(t, conv_weights_init_adjoint(&aw, &wadj, wt, co, ci, 1, &err) == 0, "%s", err.msg);
        conv2d(&fw, x, ax, n, h, w, NULL, NULL);
        conv2d(&aw, y, aty, n, h, w, NULL, NULL);
        snprintf(what, sizeof what, "conv2d 3x3 %s n%d %d->%d %dx%d", isa, n, ci, co, h, w);
        check_adjoint(t, what, ax, y, ny, x, aty, nx);
        conv_weights_free(&fw); conv_weights_free(&aw); free(wadj);
        free(x); free(y); free(ax); free(aty);
    }
    // conv2d 1x1: the transposed weight (ci, co, 1, 1) as ToRGB's adjoint
    {
        const size_t nx = (size_t)n * ci * h * w, ny = (size_t)n * co * h * w;
        float *x = test_rand_array(r, nx), *y = test_rand_array(r, ny);
        float *ax = malloc(ny * 4), *aty = malloc(nx * 4), *w1t = malloc((size_t)ci * co * 4);
        for (int o = 0; o < co; o++)
            for (int c = 0; c < ci; c++) w1t[(size_t)c * co + o] = wt[(size_t)o * ci + c];
        CHECK(t, conv_weights_init(&fw, wt, co, ci, 1, &err) == 0, "%s", err.msg);
        CHECK(t, conv_weights_init(&aw, w1t, ci, co, 1, &err) == 0, "%s", err.msg);
        conv2d(&fw, x, ax, n, h, w, NULL, NULL);
        conv2d(&aw, y, aty, n, h, w, NULL, NULL);
        snprintf(what, sizeof what, "conv2d 1x1 %s n%d %d->%d %dx%d", isa, n, ci, co, h, w);
        check_adjoint(t, what, ax, y, ny, x, aty, nx);
        conv_weights_free(&fw); conv_weights_free(&aw);
        free(x); free(y); free(ax); free(aty); free(w1t);
    }
    // transposed conv: x (n, ci, h, w) -> (n, co, 2h+1, 2w+1); adjoint conv2d_s2_3x3
    {
        const size_t nx = (size_t)n * ci * h * w, ny = (size_t)n * co * (2 * h + 1) * (2 * w + 1);
        float *x = test_rand_array(r, nx), *y = test_rand_array(r, ny);
        float *ax = malloc(ny * 4), *aty = malloc(nx * 4);
        CHECK(t, conv_weights_init(&fw, wt, co, ci, 3, &err) == 0, "%s", err.msg);
        CHECK(t, conv_weights_init_adjoint(&aw, &wadj, wt, co, ci, 0, &err) == 0, "%s", err.msg);
        conv2d_transpose3x3_s2(&fw, x, NULL, ax, n, h, w, NULL);
        conv2d_s2_3x3(&aw, y, aty, n, h, w, NULL, NULL);
        snprintf(what, sizeof what, "transposed conv %s n%d %d->%d %dx%d", isa, n, ci, co, h, w);
        check_adjoint(t, what, ax, y, ny, x, aty, nx);
        // and the flip matters: the flipped weight must fail the identity (unless 1 tap)
        conv_weights_t bw;
        float *wbad = NULL;
        CHECK(t, conv_weights_init_adjoint(&bw, &wbad, wt, co, ci, 1, &err) == 0, "%s", err.msg);
        conv2d_s2_3x3(&bw, y, aty, n, h, w, NULL, NULL);
        double s1, s2, l = dot(ax, y, ny, &s1), rr = dot(x, aty, nx, &s2);
        CHECK(t, fabs(l - rr) > 50 * TOL * (s1 > s2 ? s1 : s2), "%s: a flipped weight passes too", what);
        conv_weights_free(&bw); free(wbad);
        conv_weights_free(&fw); conv_weights_free(&aw); free(wadj);
        free(x); free(y); free(ax); free(aty);
    }
    // FIR down (pad 1) <-> FIR up (pad 2), mirrored taps
    {
        const float f[4] = {0.5f, 1.25f, -0.75f, 2.0f}, fm[4] = {2.0f, -0.75f, 1.25f, 0.5f};
        const int P = n * co, H = 2 * h + 1, W = 2 * w + 1;
        const size_t nx = (size_t)P * H * W, ny = (size_t)P * (H - 1) * (W - 1);
        float *x = test_rand_array(r, nx), *y = test_rand_array(r, ny);
        float *ax = malloc(ny * 4), *aty = malloc(nx * 4);
        fir4x4_down_pad1(x, ax, n, co, H, W, f, 0.0625f, NULL, NULL);
        fir4x4_up_pad2(y, aty, P, H - 1, W - 1, fm, 0.0625f, NULL);
        snprintf(what, sizeof what, "fir4x4 down/up %s p%d %dx%d", isa, P, H, W);
        check_adjoint(t, what, ax, y, ny, x, aty, nx);
        free(x); free(y); free(ax); free(aty);
    }
    // upsample2x <-> downsample2x, mirrored taps
    {
        const float f[4] = {0.5f, 1.25f, -0.75f, 2.0f}, fm[4] = {2.0f, -0.75f, 1.25f, 0.5f};
        const int P = n * co;
        const size_t nx = (size_t)P * h * w, ny = (size_t)P * 4 * h * w;
        float *x = test_rand_array(r, nx), *y = test_rand_array(r, ny);
        float *ax = malloc(ny * 4), *aty = malloc(nx * 4);
        upsample2x_fir(x, ax, P, h, w, f, 0.25f, 0, NULL);
        downsample2x_fir(y, aty, P, h, w, fm, 0.25f, NULL);
        snprintf(what, sizeof what, "upsample/downsample %s p%d %dx%d", isa, P, h, w);
        check_adjoint(t, what, ax, y, ny, x, aty, nx);
        free(x); free(y); free(ax); free(aty);
    }
    free(wt);
}

int main(void) {
    test_ctx_t t = test_begin("conv_adjoint");
    test_rng_t r = {0x5eed1234abcdULL};
    static const char *isas[] = {"generic", "avx2", "avx512"};
    static const int sizes[] = {1, 2, 5, 16, 33};
    for (int ii = 0; ii < 3; ii++) {
        setenv("SALIENT_ISA", isas[ii], 1);
        if (strcmp(isa_name(cpu_isa()), isas[ii]) != 0)
            printf("note: this CPU has no %s; that pass runs %s\n", isas[ii], isa_name(cpu_isa()));
        for (int si = 0; si < 5; si++)
            for (int epi = 0; epi < 2; epi++) {
                int h = sizes[si], w = sizes[(si + 2 * epi + 1) % 5];
                int ci = 1 + (int)(fabsf(test_rand(&r)) * 37), co = 1 + (int)(fabsf(test_rand(&r)) * 29);
                test_s2_shape(&t, &r, 1 + (si + epi) % 3, ci, co, h, w, epi);
            }
        test_s2_shape(&t, &r, 1, 300, 13, 20, 35, 1);   // many channels, several tiles
        test_s2_shape(&t, &r, 2, 24, 64, 4, 4, 0);      // many output blocks, tiny image
        test_s2_shape(&t, &r, 1, 32, 16, 64, 64, 0);
        for (int si = 0; si < 5; si++) {
            test_fir_up_shape(&t, &r, 1 + si, sizes[si], sizes[(si + 3) % 5]);
            test_fir_up_shape(&t, &r, 2, 2 * sizes[si], 2 * sizes[(si + 1) % 5]);
        }
        test_fir_up_shape(&t, &r, 3, 64, 130);
        test_adjoints(&t, &r, 1, 5, 7, 6, 9);
        test_adjoints(&t, &r, 2, 19, 11, 17, 12);
        test_adjoints(&t, &r, 1, 40, 24, 33, 33);
    }
    unsetenv("SALIENT_ISA");
    for (int si = 0; si < 5; si++) test_down_shape(&t, &r, 1 + si, sizes[si], sizes[(si + 1) % 5]);
    test_down_shape(&t, &r, 3, 64, 40);
    return test_end(&t);
}

/* test_conv.c — the fast convolution kernels against their naive twins.
 *
 * For every ISA path (SALIENT_ISA = generic, avx2, avx512; a path the CPU
 * lacks falls back to the best it has, which is then tested again) and for
 * random shapes with odd sizes (H, W = 1, 3, 7, 17, 33, ...; channel counts
 * that are not multiples of 8 or 16; batch 1..3) and every epilogue option,
 * compares conv2d (3x3 and 1x1), conv2d_transpose3x3_s2, fir4x4_down_pad1,
 * upsample2x_fir and maxpool2x2_ceil with the reference loops (relative
 * error <= 1e-5 of the output's magnitude). The references are checked
 * against invariants too: a delta kernel is the identity, the transposed conv
 * equals a direct conv of the zero-stuffed input with the flipped kernel, the
 * FIRs keep a constant image constant in the interior.
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

#define TOL 1e-5

/* One implementation under test: an ISA through the public API (cpu_isa()
 * chooses after setenv), or the emu16 template instance called directly. */
typedef struct impl {
    const char *name;
    int emu16;
} impl_t;

static void run_conv2d(const impl_t *im, const conv_weights_t *cw, const float *in, float *out,
                       int n, int h, int w, const conv_epilogue_t *ep) {
    if (im->emu16) {
        if (conv2d_fast_emu16(cw, in, out, n, h, w, ep, NULL)) conv2d_ref(cw, in, out, n, h, w, ep);
    } else {
        conv2d(cw, in, out, n, h, w, ep, NULL);
    }
}
static void run_tconv(const impl_t *im, const conv_weights_t *cw, const float *in,
                      const float *in_scale, float *out, int n, int h, int w) {
    if (im->emu16) {
        if (conv_t3s2_fast_emu16(cw, in, in_scale, out, n, h, w, NULL))
            conv2d_transpose3x3_s2_ref(cw, in, in_scale, out, n, h, w);
    } else {
        conv2d_transpose3x3_s2(cw, in, in_scale, out, n, h, w, NULL);
    }
}

/* The prologue: scales s[n, c] (0.5 .. 1.5) and the input they give, x * s,
 * rounded as a separate pass would round it. */
static float *prologue_scales(test_rng_t *r, int n, int c) {
    float *s = test_rand_array(r, (size_t)n * c);
    for (int i = 0; i < n * c; i++) s[i] = 0.5f + fabsf(s[i]);
    return s;
}
static float *prescaled(const float *x, const float *s, int n, int c, size_t plane) {
    float *y = malloc((size_t)n * c * plane * sizeof(float));
    for (size_t p = 0; p < (size_t)n * c; p++)
        for (size_t i = 0; i < plane; i++) y[p * plane + i] = x[p * plane + i] * s[p];
    return y;
}
static void run_fir(const impl_t *im, const float *in, float *out, int n, int c, int h2p1,
                    int w2p1, const float f[4], float gain, const conv_epilogue_t *ep) {
    if (im->emu16) {
        if (fir4x4_fast_emu16(in, out, n, c, h2p1, w2p1, f, gain, ep, NULL))
            fir4x4_down_pad1_ref(in, out, n, c, h2p1, w2p1, f, gain, ep);
    } else {
        fir4x4_down_pad1(in, out, n, c, h2p1, w2p1, f, gain, ep, NULL);
    }
}

static float max_abs(const float *a, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) m = fabsf(a[i]) > m ? fabsf(a[i]) : m;
    return m;
}
/* max |a-b| / max(|ref|max, tiny) */
static double rel_err(const float *got, const float *ref, size_t n) {
    double m = max_abs(ref, n);
    return test_max_abs_diff(got, ref, n) / (m > 1e-30 ? m : 1e-30);
}

/* Epilogue variants: 0 none, 1 StyleGAN2 full (scale, noise, bias, lrelu 0.2,
 * gain sqrt2, clamping), 2 relu + bias, 3 linear with gain + clamp, 4 scale
 * + lrelu slope 0.1 without gain. */
#define N_EPI 5
typedef struct epi_buf { float *scale, *noise, *bias; } epi_buf_t;
static conv_epilogue_t make_epi(int kind, test_rng_t *r, epi_buf_t *b, int n, int c_out, int ho,
                                int wo, float raw_max) {
    conv_epilogue_t ep;
    memset(&ep, 0, sizeof ep);
    b->scale = test_rand_array(r, (size_t)n * c_out);
    for (int i = 0; i < n * c_out; i++) b->scale[i] = 0.5f + fabsf(b->scale[i]);
    b->noise = test_rand_array(r, (size_t)ho * wo);
    b->bias = test_rand_array(r, (size_t)c_out);
    switch (kind) {
    case 1:
        ep.out_scale = b->scale; ep.noise = b->noise; ep.noise_gain = 0.7f; ep.bias = b->bias;
        ep.act = ACT_LRELU; ep.slope = 0.2f; ep.gain = sqrtf(2.0f); ep.clamp = 0.3f * raw_max;
        break;
    case 2: ep.bias = b->bias; ep.act = ACT_RELU; break;
    case 3: ep.gain = 1.7f; ep.clamp = 0.25f * raw_max; break;
    case 4: ep.out_scale = b->scale; ep.act = ACT_LRELU; ep.slope = 0.1f; break;
    default: break;
    }
    return ep;
}
static void free_epi(epi_buf_t *b) { free(b->scale); free(b->noise); free(b->bias); }

static int count_clipped(const float *a, size_t n, float clamp) {
    int k = 0;
    for (size_t i = 0; i < n; i++) k += fabsf(a[i]) == clamp;
    return k;
}

static void test_conv2d_shape(test_ctx_t *t, test_rng_t *r, const impl_t *im, int n, int c_in,
                              int c_out, int h, int w, int k, int epi_kind) {
    const char *isa = im->name;
    size_t nin = (size_t)n * c_in * h * w, nout = (size_t)n * c_out * h * w;
    float *x = test_rand_array(r, nin), *wt = test_rand_array(r, (size_t)c_out * c_in * k * k);
    float *ref = malloc(nout * sizeof(float)), *got = malloc(nout * sizeof(float));
    conv_weights_t cw;
    sal_err_t err;
    CHECK(t, conv_weights_init(&cw, wt, c_out, c_in, k, &err) == 0, "init: %s", err.msg);
    conv2d_ref(&cw, x, ref, n, h, w, NULL); /* raw sums, to size the clamps */
    float raw_max = max_abs(ref, nout);
    epi_buf_t b;
    conv_epilogue_t ep = make_epi(epi_kind, r, &b, n, c_out, h, w, raw_max);
    conv2d_ref(&cw, x, ref, n, h, w, epi_kind ? &ep : NULL);
    for (size_t i = 0; i < nout; i++) got[i] = NAN;
    run_conv2d(im, &cw, x, got, n, h, w, epi_kind ? &ep : NULL);
    double e = rel_err(got, ref, nout);
    CHECK(t, e <= TOL, "conv2d %s n%d %d->%d %dx%d k%d epi%d: rel err %.3g", isa, n, c_in, c_out,
          h, w, k, epi_kind, e);
    if (epi_kind == 1 || epi_kind == 4) {
        /* the input-scale prologue: against the reference, and bit for bit
         * the result of scaling the input first */
        float *s = prologue_scales(r, n, c_in), *xs = prescaled(x, s, n, c_in, (size_t)h * w);
        float *pre = malloc(nout * sizeof(float));
        conv_epilogue_t eps = ep;
        eps.in_scale = s;
        conv2d_ref(&cw, x, ref, n, h, w, &eps);
        run_conv2d(im, &cw, x, got, n, h, w, &eps);
        run_conv2d(im, &cw, xs, pre, n, h, w, &ep);
        e = rel_err(got, ref, nout);
        CHECK(t, e <= TOL, "conv2d %s n%d %d->%d %dx%d k%d epi%d in_scale: rel err %.3g", isa, n,
              c_in, c_out, h, w, k, epi_kind, e);
        CHECK(t, memcmp(got, pre, nout * sizeof(float)) == 0,
              "conv2d %s %d->%d %dx%d k%d: in_scale differs from a prescaled input (max %.3g)",
              isa, c_in, c_out, h, w, k, test_max_abs_diff(got, pre, nout));
        free(s); free(xs); free(pre);
    }
    if (ep.clamp > 0.0f && nout > 200) {
        CHECK(t, count_clipped(ref, nout, ep.clamp) > 0, "clamp never clipped (%s epi%d)", isa,
              epi_kind);
    }
    conv_weights_free(&cw);
    free_epi(&b);
    free(x); free(wt); free(ref); free(got);
}

/* Fast mode's Winograd kernel in the 16-lane template (the AVX-512 shape,
 * portable de-interleaving): against the reference, relative to the raw
 * sums' magnitude (the ISA versions: tests/engine/test_winograd.c). */
static void test_wino_emu16(test_ctx_t *t, test_rng_t *r, int n, int c_in, int c_out, int h, int w,
                            int epi_kind) {
    size_t nin = (size_t)n * c_in * h * w, nout = (size_t)n * c_out * h * w;
    float *x = test_rand_array(r, nin), *wt = test_rand_array(r, (size_t)c_out * c_in * 9);
    float *ref = malloc(nout * sizeof(float)), *got = malloc(nout * sizeof(float));
    conv_weights_t cw;
    sal_err_t err;
    CHECK(t, conv_weights_init(&cw, wt, c_out, c_in, 3, &err) == 0 &&
                 conv_weights_make_fast(&cw, &err) == 0, "init: %s", err.msg);
    conv2d_ref(&cw, x, ref, n, h, w, NULL);
    float raw_max = max_abs(ref, nout);
    epi_buf_t b;
    conv_epilogue_t ep = make_epi(epi_kind, r, &b, n, c_out, h, w, raw_max);
    conv2d_ref(&cw, x, ref, n, h, w, epi_kind ? &ep : NULL);
    for (size_t i = 0; i < nout; i++) got[i] = NAN;
    int rc = conv2d_wino_emu16(&cw, x, got, n, h, w, epi_kind ? &ep : NULL, NULL);
    CHECK(t, rc == 0, "wino emu16 %dx%d returned %d", h, w, rc);
    double e = test_max_abs_diff(got, ref, nout) / (raw_max > 1e-30f ? raw_max : 1e-30f);
    CHECK(t, e <= 5e-5, "wino emu16 n%d %d->%d %dx%d epi%d: rel err %.3g", n, c_in, c_out, h, w,
          epi_kind, e);
    conv_weights_free(&cw);
    free_epi(&b);
    free(x); free(wt); free(ref); free(got);
}

static void test_transpose_shape(test_ctx_t *t, test_rng_t *r, const impl_t *im, int n, int c_in,
                                 int c_out, int h, int w) {
    const char *isa = im->name;
    const int ho = 2 * h + 1, wo = 2 * w + 1;
    size_t nin = (size_t)n * c_in * h * w, nout = (size_t)n * c_out * ho * wo;
    float *x = test_rand_array(r, nin), *wt = test_rand_array(r, (size_t)c_out * c_in * 9);
    float *ref = malloc(nout * sizeof(float)), *got = malloc(nout * sizeof(float));
    conv_weights_t cw;
    sal_err_t err;
    CHECK(t, conv_weights_init(&cw, wt, c_out, c_in, 3, &err) == 0, "init: %s", err.msg);
    conv2d_transpose3x3_s2_ref(&cw, x, NULL, ref, n, h, w);
    for (size_t i = 0; i < nout; i++) got[i] = NAN;
    run_tconv(im, &cw, x, NULL, got, n, h, w);
    double e = rel_err(got, ref, nout);
    CHECK(t, e <= TOL, "transpose %s n%d %d->%d %dx%d: rel err %.3g", isa, n, c_in, c_out, h, w,
          e);
    /* with the input-scale prologue: against the reference, and bit for bit
     * the result of scaling the input first */
    float *s = prologue_scales(r, n, c_in), *xs = prescaled(x, s, n, c_in, (size_t)h * w);
    float *pre = malloc(nout * sizeof(float));
    conv2d_transpose3x3_s2_ref(&cw, x, s, ref, n, h, w);
    run_tconv(im, &cw, x, s, got, n, h, w);
    run_tconv(im, &cw, xs, NULL, pre, n, h, w);
    e = rel_err(got, ref, nout);
    CHECK(t, e <= TOL, "transpose %s n%d %d->%d %dx%d in_scale: rel err %.3g", isa, n, c_in, c_out,
          h, w, e);
    CHECK(t, memcmp(got, pre, nout * sizeof(float)) == 0,
          "transpose %s %d->%d %dx%d: in_scale differs from a prescaled input (max %.3g)", isa,
          c_in, c_out, h, w, test_max_abs_diff(got, pre, nout));
    conv_weights_free(&cw);
    free(s); free(xs); free(pre);
    free(x); free(wt); free(ref); free(got);
}

static void test_fir_shape(test_ctx_t *t, test_rng_t *r, const impl_t *im, int n, int c, int h,
                           int w, int epi_kind) {
    const char *isa = im->name;
    const int h2p1 = 2 * h + 1, w2p1 = 2 * w + 1, ho = 2 * h, wo = 2 * w;
    const float f[4] = {1.0f, 3.0f, 3.0f, 1.0f};
    const float gain = 4.0f / 64.0f;
    size_t nin = (size_t)n * c * h2p1 * w2p1, nout = (size_t)n * c * ho * wo;
    float *x = test_rand_array(r, nin);
    float *ref = malloc(nout * sizeof(float)), *got = malloc(nout * sizeof(float));
    fir4x4_down_pad1_ref(x, ref, n, c, h2p1, w2p1, f, gain, NULL);
    epi_buf_t b;
    conv_epilogue_t ep = make_epi(epi_kind, r, &b, n, c, ho, wo, max_abs(ref, nout));
    fir4x4_down_pad1_ref(x, ref, n, c, h2p1, w2p1, f, gain, epi_kind ? &ep : NULL);
    for (size_t i = 0; i < nout; i++) got[i] = NAN;
    run_fir(im, x, got, n, c, h2p1, w2p1, f, gain, epi_kind ? &ep : NULL);
    double e = rel_err(got, ref, nout);
    CHECK(t, e <= TOL, "fir4x4 %s n%d c%d %dx%d epi%d: rel err %.3g", isa, n, c, h2p1, w2p1,
          epi_kind, e);
    free_epi(&b);
    free(x); free(ref); free(got);
}

static void test_upsample_shape(test_ctx_t *t, test_rng_t *r, int planes, int h, int w, int acc) {
    const float f[4] = {1.0f, 3.0f, 3.0f, 1.0f};
    size_t nin = (size_t)planes * h * w, nout = (size_t)planes * 4 * h * w;
    float *x = test_rand_array(r, nin), *base = test_rand_array(r, nout);
    float *ref = malloc(nout * sizeof(float)), *got = malloc(nout * sizeof(float));
    memcpy(ref, base, nout * sizeof(float));
    memcpy(got, base, nout * sizeof(float));
    upsample2x_fir_ref(x, ref, planes, h, w, f, 4.0f / 64.0f, acc);
    upsample2x_fir(x, got, planes, h, w, f, 4.0f / 64.0f, acc, NULL);
    double e = rel_err(got, ref, nout);
    CHECK(t, e <= TOL, "upsample2x p%d %dx%d acc%d: rel err %.3g", planes, h, w, acc, e);
    free(x); free(base); free(ref); free(got);
}

static void test_maxpool_shape(test_ctx_t *t, test_rng_t *r, int planes, int h, int w) {
    const int ho = (h + 1) / 2, wo = (w + 1) / 2;
    size_t nin = (size_t)planes * h * w, nout = (size_t)planes * ho * wo;
    float *x = test_rand_array(r, nin);
    float *ref = malloc(nout * sizeof(float)), *got = malloc(nout * sizeof(float));
    maxpool2x2_ceil_ref(x, ref, planes, h, w);
    maxpool2x2_ceil(x, got, planes, h, w);
    CHECK(t, memcmp(ref, got, nout * sizeof(float)) == 0, "maxpool p%d %dx%d differs", planes, h,
          w);
    /* the reference against a direct definition at one corner */
    float m = x[0];
    if (h > 1 && x[w] > m) m = x[w];
    if (w > 1 && x[1] > m) m = x[1];
    if (h > 1 && w > 1 && x[w + 1] > m) m = x[w + 1];
    CHECK(t, ref[0] == m, "maxpool ref corner %g vs %g", ref[0], m);
    free(x); free(ref); free(got);
}

/* Invariants of the references themselves. */
static void test_invariants(test_ctx_t *t, test_rng_t *r) {
    sal_err_t err;
    /* 1. delta kernel (w[o,c,1,1] = [o == c]) is the identity */
    {
        const int c = 5, h = 7, w = 9;
        float *wt = calloc((size_t)c * c * 9, sizeof(float));
        for (int o = 0; o < c; o++) wt[((size_t)o * c + o) * 9 + 4] = 1.0f;
        float *x = test_rand_array(r, (size_t)2 * c * h * w), *y = malloc((size_t)2 * c * h * w * 4);
        conv_weights_t cw;
        CHECK(t, conv_weights_init(&cw, wt, c, c, 3, &err) == 0, "init");
        conv2d_ref(&cw, x, y, 2, h, w, NULL);
        CHECK(t, memcmp(x, y, (size_t)2 * c * h * w * 4) == 0, "delta conv is not identity");
        conv2d(&cw, x, y, 2, h, w, NULL, NULL);
        CHECK(t, memcmp(x, y, (size_t)2 * c * h * w * 4) == 0, "fast delta conv not identity");
        conv_weights_free(&cw);
        free(wt); free(x); free(y);
    }
    /* 2. transposed conv == direct conv of the zero-stuffed input with the
     *    flipped kernel: U (2H+1, 2W+1), U[1+2i, 1+2j] = in[i, j], pad 1 */
    {
        const int n = 2, ci = 3, co = 4, h = 5, w = 6, ho = 2 * h + 1, wo = 2 * w + 1;
        float *x = test_rand_array(r, (size_t)n * ci * h * w), *wt = test_rand_array(r, (size_t)co * ci * 9);
        float *flip = malloc((size_t)co * ci * 9 * 4);
        for (int i = 0; i < co * ci; i++)
            for (int k = 0; k < 9; k++) flip[i * 9 + k] = wt[i * 9 + 8 - k];
        float *u = calloc((size_t)n * ci * ho * wo, 4);
        for (int p = 0; p < n * ci; p++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    u[((size_t)p * ho + 1 + 2 * i) * wo + 1 + 2 * j] = x[((size_t)p * h + i) * w + j];
        float *a = malloc((size_t)n * co * ho * wo * 4), *b = malloc((size_t)n * co * ho * wo * 4);
        conv_weights_t cw, cf;
        CHECK(t, conv_weights_init(&cw, wt, co, ci, 3, &err) == 0, "init");
        CHECK(t, conv_weights_init(&cf, flip, co, ci, 3, &err) == 0, "init");
        conv2d_transpose3x3_s2_ref(&cw, x, NULL, a, n, h, w);
        conv2d_ref(&cf, u, b, n, ho, wo, NULL);
        double e = rel_err(a, b, (size_t)n * co * ho * wo);
        CHECK(t, e <= TOL, "transpose ref vs zero-stuffed conv: rel err %.3g", e);
        conv_weights_free(&cw); conv_weights_free(&cf);
        free(x); free(wt); free(flip); free(u); free(a); free(b);
    }
    /* 3. FIRs with sum-preserving gain keep a constant image constant inside */
    {
        const float f[4] = {1, 3, 3, 1};
        const int h = 9, w = 11, hp = 2 * h + 1, wp = 2 * w + 1;
        float *x = malloc((size_t)hp * wp * 4), *y = malloc((size_t)4 * h * w * 4);
        for (int i = 0; i < hp * wp; i++) x[i] = 2.5f;
        for (int fast = 0; fast < 2; fast++) {
            if (fast) fir4x4_down_pad1(x, y, 1, 1, hp, wp, f, 1.0f / 64.0f, NULL, NULL);
            else fir4x4_down_pad1_ref(x, y, 1, 1, hp, wp, f, 1.0f / 64.0f, NULL);
            double m = 0;
            for (int Y = 1; Y <= hp - 3; Y++)
                for (int X = 1; X <= wp - 3; X++) m = fmax(m, fabs(y[Y * (wp - 1) + X] - 2.5));
            CHECK(t, m < 1e-6, "fir4x4 (fast %d) of a constant: max dev %.3g", fast, m);
        }
        for (int fast = 0; fast < 2; fast++) {
            if (fast) upsample2x_fir(x, y, 1, h, w, f, 4.0f / 64.0f, 0, NULL);
            else upsample2x_fir_ref(x, y, 1, h, w, f, 4.0f / 64.0f, 0);
            double m = 0;
            for (int Y = 2; Y < 2 * h - 2; Y++)
                for (int X = 2; X < 2 * w - 2; X++) m = fmax(m, fabs(y[Y * 2 * w + X] - 2.5));
            CHECK(t, m < 1e-6, "upsample2x (fast %d) of a constant: max dev %.3g", fast, m);
        }
        free(x); free(y);
    }
}

int main(void) {
    test_ctx_t t = test_begin("conv");
    test_rng_t r = {0x9E3779B97F4A7C15ULL};
    test_invariants(&t, &r);

    static const impl_t impls[] = {{"generic", 0}, {"avx2", 0}, {"avx512", 0}, {"emu16", 1}};
    static const int sizes[] = {1, 3, 7, 17, 33};
    for (int ii = 0; ii < 4; ii++) {
        const impl_t *im = &impls[ii];
        impl_t actual = *im;
        if (!im->emu16) {
            setenv("SALIENT_ISA", im->name, 1);
            actual.name = isa_name(cpu_isa());
            if (strcmp(actual.name, im->name) != 0)
                printf("note: this CPU has no %s; that pass runs %s\n", im->name, actual.name);
        }
        /* 3x3 and 1x1 convs: sizes x a few channel counts x every epilogue */
        for (int si = 0; si < 5; si++)
            for (int sj = 0; sj < 5; sj += 2) {
                int h = sizes[si], w = sizes[(si + sj) % 5];
                int n = 1 + (si + sj) % 3;
                int ci = 1 + (int)(fabsf(test_rand(&r)) * 37), co = 1 + (int)(fabsf(test_rand(&r)) * 29);
                for (int ek = 0; ek < N_EPI; ek++)
                    test_conv2d_shape(&t, &r, &actual, n, ci, co, h, w,
                                      (ek & 1) ? 3 : (si & 1 ? 1 : 3), ek);
            }
        /* tiny images with many output blocks (task split over channels),
         * several row tiles and chunk blocks that cross rows, channel counts
         * around the block sizes, 1x1 convs over several lane ranges */
        test_conv2d_shape(&t, &r, &actual, 1, 20, 64, 4, 4, 3, 1);
        test_conv2d_shape(&t, &r, &actual, 2, 9, 17, 8, 8, 3, 2);
        test_conv2d_shape(&t, &r, &actual, 1, 300, 13, 40, 70, 3, 1);
        test_conv2d_shape(&t, &r, &actual, 3, 16, 3, 64, 31, 1, 3);
        test_conv2d_shape(&t, &r, &actual, 1, 300, 11, 40, 70, 1, 1);
        test_conv2d_shape(&t, &r, &actual, 1, 33, 24, 2, 65, 3, 4);
        /* transposed conv */
        for (int si = 0; si < 5; si++) {
            int h = sizes[si], w = sizes[(si + 3) % 5];
            int ci = 1 + (int)(fabsf(test_rand(&r)) * 40), co = 1 + (int)(fabsf(test_rand(&r)) * 20);
            test_transpose_shape(&t, &r, &actual, 1 + si % 3, ci, co, h, w);
        }
        test_transpose_shape(&t, &r, &actual, 1, 200, 9, 30, 40);
        test_transpose_shape(&t, &r, &actual, 2, 24, 16, 4, 4);
        /* FIR after the transposed conv */
        for (int si = 0; si < 5; si++)
            for (int ek = 0; ek < N_EPI; ek++)
                test_fir_shape(&t, &r, &actual, 1 + (si + ek) % 3, 1 + (si * 7 + ek) % 5,
                               sizes[si], sizes[(si + ek) % 5], ek);
        test_fir_shape(&t, &r, &actual, 1, 3, 32, 40, 1);
    }
    unsetenv("SALIENT_ISA");
    for (int ek = 0; ek < N_EPI; ek++) test_wino_emu16(&t, &r, 1 + ek % 2, 5 + 7 * ek, 3 + 5 * ek, 17 + 13 * ek, 70 - 9 * ek, ek);
    for (int si = 0; si < 5; si++)
        for (int acc = 0; acc < 2; acc++) test_upsample_shape(&t, &r, 1 + si, sizes[si], sizes[(si + 2) % 5], acc);
    test_upsample_shape(&t, &r, 3, 64, 48, 1);
    for (int si = 0; si < 5; si++)
        for (int sj = 0; sj < 5; sj++) test_maxpool_shape(&t, &r, 2, sizes[si], sizes[sj] + 1);
    return test_end(&t);
}

/* kernel_selftest.c — the start-up self-check of the SIMD kernels (see
 * kernel_selftest.h): each family on a small deterministic problem, one
 * ISA's version called directly, against the naive reference loop. */
#include "kernel_selftest.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "conv_impl.h"
#include "gemm.h"
#include "imagecore.h"
#include "jpeg_idct.h"

static const char *const ks_names[KS_COUNT] = {"conv3x3", "conv1x1", "tconv3x3s2", "fir4x4",
                                               "gemm",    "wino3x3", "wino_t3x3s2", "idct",
                                               "resize"};

const char *ks_kernel_name(unsigned kernel) {
    for (int i = 0; i < KS_COUNT; i++)
        if (kernel == 1u << i) return ks_names[i];
    return NULL;
}

/* One ISA's versions of the float kernels (conv_impl.h). */
typedef struct ks_isa_fns {
    int (*conv)(const conv_weights_t *, const float *, float *, int, int, int,
                const conv_epilogue_t *, const conv_ws_t *);
    int (*wino)(const conv_weights_t *, const float *, float *, int, int, int,
                const conv_epilogue_t *, const conv_ws_t *);
    int (*tconv)(const conv_weights_t *, const float *, const float *, float *, int, int, int,
                 const conv_ws_t *);
    int (*tconv_wino)(const conv_weights_t *, const float *, const float *, float *, int, int,
                      int, const conv_ws_t *);
    int (*fir)(const float *, float *, int, int, int, int, const float[4], float,
               const conv_epilogue_t *, const conv_ws_t *);
    void (*gemm)(int, int, int, const float *, const float *, float *);
} ks_isa_fns_t;

static ks_isa_fns_t isa_fns(isa_t isa) {
    switch (isa) {
    case ISA_AVX512:
        return (ks_isa_fns_t){conv2d_fast_avx512, conv2d_wino_avx512, conv_t3s2_fast_avx512,
                              conv_t3s2_wino_avx512, fir4x4_fast_avx512, gemm_nt_fast_avx512};
    case ISA_AVX2:
        return (ks_isa_fns_t){conv2d_fast_avx2, conv2d_wino_avx2, conv_t3s2_fast_avx2,
                              conv_t3s2_wino_avx2, fir4x4_fast_avx2, gemm_nt_fast_avx2};
    case ISA_GENERIC: break;
    }
    return (ks_isa_fns_t){conv2d_fast_generic, conv2d_wino_generic, conv_t3s2_fast_generic,
                          conv_t3s2_wino_generic, fir4x4_fast_generic, gemm_nt_fast_generic};
}

/* Deterministic values in [-1, 1) (a 64-bit LCG, top 24 bits). */
static void fill_uniform(float *x, size_t n, uint64_t *state) {
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(*state >> 40) / (double)(1u << 23) - 1.0);
    }
}

/* The test hook: SALIENT_SELFTEST_BREAK=ISA:KERNEL names the (isa, kernel)
 * whose output gets one value perturbed. */
static int break_requested(isa_t isa, unsigned kernel) {
    const char *spec = getenv("SALIENT_SELFTEST_BREAK");
    if (!spec || !*spec) return 0;
    char want[64];
    snprintf(want, sizeof want, "%s:%s", isa_name(isa), ks_kernel_name(kernel));
    return strcmp(spec, want) == 0;
}

/* max |a - b| / max |b|  (NaN anywhere counts as infinitely wrong) */
static double rel_err(const float *a, const float *b, size_t n) {
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - (double)b[i]);
        if (e != e) return INFINITY;
        d = e > d ? e : d;
        m = fabs((double)b[i]) > m ? fabs((double)b[i]) : m;
    }
    return d / (m > 0.0 ? m : 1.0);
}

/* The buffers of one float check: input, weights, two outputs, epilogue
 * vectors. One block so that a single free releases everything. */
typedef struct ks_bufs {
    float *mem, *in, *w, *got, *want, *in_scale, *out_scale, *bias, *noise;
} ks_bufs_t;

static int bufs_alloc(ks_bufs_t *b, size_t n_in, size_t n_w, size_t n_out, size_t n_vec,
                      size_t n_noise, uint64_t seed) {
    const size_t total = n_in + n_w + 2 * n_out + 3 * n_vec + n_noise;
    b->mem = malloc(total * sizeof(float));
    if (!b->mem) return -1;
    b->in = b->mem;
    b->w = b->in + n_in;
    b->got = b->w + n_w;
    b->want = b->got + n_out;
    b->in_scale = b->want + n_out;
    b->out_scale = b->in_scale + n_vec;
    b->bias = b->out_scale + n_vec;
    b->noise = b->bias + n_vec;
    uint64_t s = seed;
    fill_uniform(b->mem, total, &s);
    for (size_t i = 0; i < n_vec; i++) { /* scales ~ 0.5 .. 1.5, like styles / demodulation */
        b->in_scale[i] = 1.0f + 0.5f * b->in_scale[i];
        b->out_scale[i] = 1.0f + 0.5f * b->out_scale[i];
    }
    memset(b->got, 0, 2 * n_out * sizeof(float));
    return 0;
}

/* The float families. Shapes: odd sizes and channel counts that are not
 * multiples of 8 or 16 (partial vectors, partial output blocks); Winograd
 * needs >= 32x32 images to engage. Returns 0 or -1 (out of memory). */
static int check_float(unsigned kernel, isa_t isa, ks_result_t *r, sal_err_t *err) {
    const ks_isa_fns_t fn = isa_fns(isa);
    const int brk = break_requested(isa, kernel);
    ks_bufs_t b = {0};
    conv_weights_t cw;
    memset(&cw, 0, sizeof cw);
    int rc = 0, n = 2, ci = 11, co = 13, h = 17, w = 19, k = 3;
    size_t n_out = 0;
    if (kernel == KS_CONV1) k = 1;
    if (kernel == KS_WINO) { n = 1; ci = 9; co = 10; h = 32; w = 33; }
    if (kernel == KS_TCONV) { ci = 10; co = 9; h = 7; w = 9; }
    if (kernel == KS_WINO_T) { n = 1; ci = 6; co = 9; h = 28; w = 31; } /* h % 4 == 0: edge pass too */

    if (kernel == KS_GEMM) { /* (M, K) x (N, K)^T, K not a multiple of 16 */
        const int m = 3, nn = 21, kk = 67;
        if (bufs_alloc(&b, (size_t)m * kk, (size_t)nn * kk, (size_t)m * nn, 0, 0, 0x5EEDu + kernel))
            goto oom;
        n_out = (size_t)m * nn;
        fn.gemm(m, nn, kk, b.in, b.w, b.got);
        gemm_nt_ref(m, nn, kk, b.in, b.w, b.want);
    } else if (kernel == KS_FIR) { /* (N, C, 2H+1, 2W+1) -> (N, C, 2H, 2W) */
        const int c = 5, h2p1 = 2 * 9 + 1, w2p1 = 2 * 13 + 1;
        const float f[4] = {0.125f, 0.375f, 0.375f, 0.125f};
        n_out = (size_t)n * c * (h2p1 - 1) * (w2p1 - 1);
        if (bufs_alloc(&b, (size_t)n * c * h2p1 * w2p1, 0, n_out, (size_t)n * c,
                       (size_t)(h2p1 - 1) * (w2p1 - 1), 0x5EEDu + kernel))
            goto oom;
        const conv_epilogue_t ep = {.out_scale = b.out_scale, .noise = b.noise, .noise_gain = 0.3f,
                                    .bias = b.bias, .act = ACT_LRELU, .slope = 0.2f,
                                    .gain = 1.41421356f, .clamp = 0.9f};
        if (fn.fir(b.in, b.got, n, c, h2p1, w2p1, f, 4.0f, &ep, NULL)) goto oom;
        fir4x4_down_pad1_ref(b.in, b.want, n, c, h2p1, w2p1, f, 4.0f, &ep);
    } else { /* the convolutions */
        const int transposed = kernel == KS_TCONV || kernel == KS_WINO_T;
        const int ho = transposed ? 2 * h + 1 : h, wo = transposed ? 2 * w + 1 : w;
        n_out = (size_t)n * co * ho * wo;
        if (bufs_alloc(&b, (size_t)n * ci * h * w, (size_t)co * ci * k * k, n_out,
                       (size_t)n * (ci > co ? ci : co), (size_t)ho * wo, 0x5EEDu + kernel))
            goto oom;
        if (conv_weights_init(&cw, b.w, co, ci, k, err)) goto fail;
        if (kernel == KS_WINO && conv_weights_make_fast(&cw, err)) goto fail;
        if (kernel == KS_WINO_T && conv_weights_make_fast_transposed(&cw, err)) goto fail;
        if (transposed) {
            const int frc = kernel == KS_WINO_T ? fn.tconv_wino(&cw, b.in, b.in_scale, b.got, n, h, w, NULL)
                                                : fn.tconv(&cw, b.in, b.in_scale, b.got, n, h, w, NULL);
            if (frc < 0) goto oom;
            if (frc > 0) { rc = sal_errf(err, "self-check: %s declined its test shape", ks_kernel_name(kernel)); goto fail; }
            conv2d_transpose3x3_s2_ref(&cw, b.in, b.in_scale, b.want, n, h, w);
        } else {
            /* StyleGAN2's modulated conv (3x3) / ToRGB-like (1x1) epilogues */
            const conv_epilogue_t ep3 = {.out_scale = b.out_scale, .noise = b.noise,
                                         .noise_gain = 0.25f, .bias = b.bias, .act = ACT_LRELU,
                                         .slope = 0.2f, .gain = 1.41421356f, .clamp = 2.5f,
                                         .in_scale = b.in_scale};
            const conv_epilogue_t ep1 = {.bias = b.bias, .act = ACT_RELU, .in_scale = b.in_scale};
            const conv_epilogue_t *ep = k == 1 ? &ep1 : &ep3;
            const int frc = kernel == KS_WINO ? fn.wino(&cw, b.in, b.got, n, h, w, ep, NULL)
                                              : fn.conv(&cw, b.in, b.got, n, h, w, ep, NULL);
            if (frc < 0) goto oom;
            if (frc > 0) { rc = sal_errf(err, "self-check: %s declined its test shape", ks_kernel_name(kernel)); goto fail; }
            conv2d_ref(&cw, b.in, b.want, n, h, w, ep);
        }
    }
    if (brk) b.got[n_out / 2] += 0.5f; /* the test hook: one wrong output */
    r->max_err = rel_err(b.got, b.want, n_out);
    r->tol = kernel == KS_WINO || kernel == KS_WINO_T ? 5e-5 : 1e-5;
    r->pass = r->max_err <= r->tol;
    conv_weights_free(&cw);
    free(b.mem);
    return 0;
oom:
    rc = sal_errf(err, "self-check of %s (%s): out of memory", ks_kernel_name(kernel), isa_name(isa));
fail:
    conv_weights_free(&cw);
    free(b.mem);
    return rc < 0 ? rc : -1;
}

/* The JPEG decoder's x86 IDCTs (SSE2, the same on every ISA here) against
 * the lane-by-lane model of the same 16-bit arithmetic: bit exact. Blocks
 * with large coefficients and fine quantisation tables. */
static int check_idct(isa_t isa, ks_result_t *r) {
    const int brk = break_requested(isa, KS_IDCT);
    uint64_t s = 0x1DC7u;
    long bad = 0;
    int have_sse2 = 1;
    for (int blk = 0; blk < 64 && have_sse2; blk++) {
        int16_t coef[64];
        uint16_t quant[64];
        float u[128];
        fill_uniform(u, 128, &s);
        for (int i = 0; i < 64; i++) {
            const int mag = i == 0 ? 1000 : 300 >> (i / 8);
            coef[i] = (int16_t)lrintf(u[i] * (float)(mag + 1));
            quant[i] = (uint16_t)(1 + (int)((u[64 + i] + 1.0f) * 8.0f));
        }
        uint8_t got[64], want[64];
        if (jpeg_idct_8x8_sse2(coef, quant, got, 8) < 0) have_sse2 = 0;
        jpeg_idct_8x8_lanes16(coef, quant, want, 8);
        if (brk && blk == 0) got[9] ^= 1;
        for (int i = 0; i < 64 && have_sse2; i++) bad += got[i] != want[i];
        if (have_sse2 && jpeg_idct_4x4_sse2(coef, quant, got, 4) == 0) {
            jpeg_idct_4x4_lanes16(coef, quant, want, 4);
            for (int i = 0; i < 16; i++) bad += got[i] != want[i];
        }
    }
    /* error: the fraction of differing samples (0 = bit exact) */
    r->max_err = (double)bad / (64.0 * 80.0);
    r->tol = 0.0;
    r->pass = bad == 0;
    return 0;
}

/* imagecore's downsampling inner loop, acc[i] += cf * src[i]: the AVX2
 * version (also what the AVX-512 level runs) against the scalar loop; the
 * generic level runs the scalar loop itself, so there it is compared with
 * a sum written out in 64-bit arithmetic. Integer: bit exact. */
static int check_resize(isa_t isa, ks_result_t *r) {
    enum { N = 203, ROWS = 12 };
    const int brk = break_requested(isa, KS_RESIZE);
    int32_t got[N], want[N];
    uint8_t src[ROWS][N];
    float u[ROWS * N + ROWS];
    uint64_t s = 0x12E5u;
    fill_uniform(u, ROWS * N + ROWS, &s);
    for (int k = 0; k < ROWS; k++)
        for (int i = 0; i < N; i++) src[k][i] = (uint8_t)((u[k * N + i] + 1.0f) * 127.99f);
    for (int i = 0; i < N; i++) got[i] = want[i] = 0x7FFF;
    for (int k = 0; k < ROWS; k++) {
        const int32_t cf = (int32_t)lrintf(u[ROWS * N + k] * 40000.0f);
        if (isa >= ISA_AVX2) imagecore_row_madd_avx2(got, src[k], N, cf);
        else
            for (int i = 0; i < N; i++) got[i] += cf * src[k][i];
        for (int i = 0; i < N; i++) want[i] = (int32_t)((int64_t)want[i] + (int64_t)cf * src[k][i]);
    }
    if (brk) got[N / 2] += 1;
    long bad = 0;
    for (int i = 0; i < N; i++) bad += got[i] != want[i];
    r->max_err = (double)bad / N;
    r->tol = 0.0;
    r->pass = bad == 0;
    return 0;
}

int ks_check(unsigned kernel, isa_t isa, ks_result_t *r, sal_err_t *err) {
    memset(r, 0, sizeof *r);
    r->kernel = kernel;
    r->isa = isa;
    if (!ks_kernel_name(kernel)) return sal_errf(err, "self-check: unknown kernel family %u", kernel);
    /* One thread: the problems are tiny, and on a loaded machine waking a
     * team for them costs tens of ms (the arithmetic does not depend on it). */
    const int threads = threads_get();
    threads_set(1);
    const double t0 = sal_now();
    int rc;
    if (kernel == KS_IDCT) rc = check_idct(isa, r);
    else if (kernel == KS_RESIZE) rc = check_resize(isa, r);
    else rc = check_float(kernel, isa, r, err);
    r->ms = (sal_now() - t0) * 1e3;
    threads_set(threads);
    return rc;
}

int ks_startup(unsigned kernels, ks_startup_t *out, sal_err_t *err) {
    memset(out, 0, sizeof *out);
    out->first = out->chosen = cpu_isa();
    const char *env = getenv("SALIENT_SELFTEST");
    if (env && strcmp(env, "0") == 0) {
        out->skipped = 1;
        return 0;
    }
    const double t0 = sal_now();
    /* the IDCT is SSE2 code on every level: checked once, nothing to fall back to */
    if (kernels & KS_IDCT) {
        ks_result_t r;
        if (ks_check(KS_IDCT, out->first, &r, err)) return -1;
        if (!r.pass) {
            out->fail[out->nfail] = r;
            snprintf(out->message[out->nfail++], sizeof out->message[0],
                     "self-check: the SSE2 JPEG IDCT differs from the reference (%.3g of the "
                     "samples); JPEG inputs may decode wrong",
                     r.max_err);
        }
        kernels &= ~(unsigned)KS_IDCT;
    }
    for (int isa = (int)out->first; isa >= (int)ISA_GENERIC; isa--) {
        out->chosen = (isa_t)isa;
        int failed = 0;
        for (int i = 0; i < KS_COUNT && !failed; i++) {
            if (!(kernels & (1u << i))) continue;
            ks_result_t r;
            if (ks_check(1u << i, (isa_t)isa, &r, err)) return -1;
            if (r.pass) continue;
            failed = 1;
            if (out->nfail >= 4) break;
            const int j = out->nfail++;
            out->fail[j] = r;
            snprintf(out->message[j], sizeof out->message[j],
                     "self-check: the %s %s kernel differs from the reference (error %.3g > "
                     "tolerance %.3g); %s%s",
                     isa_name((isa_t)isa), ks_kernel_name(r.kernel), r.max_err, r.tol,
                     isa > ISA_GENERIC ? "falling back to " : "no ISA left to fall back to: results may be wrong",
                     isa > ISA_GENERIC ? isa_name((isa_t)(isa - 1)) : "");
        }
        if (!failed) break;
        if (isa == ISA_GENERIC) out->all_failed = 1;
    }
    out->ms = (sal_now() - t0) * 1e3;
    return 0;
}

int ks_startup_json(const ks_startup_t *s, char *buf, size_t len) {
    if (s->skipped)
        return snprintf(buf, len, "{\"skipped\": true, \"isa\": \"%s\"}", isa_name(s->chosen));
    int n = snprintf(buf, len, "{\"first\": \"%s\", \"chosen\": \"%s\", \"ms\": %.2f, \"failed\": [",
                     isa_name(s->first), isa_name(s->chosen), s->ms);
    for (int i = 0; i < s->nfail; i++) {
        const ks_result_t *r = &s->fail[i];
        n += snprintf(buf + (n < (int)len ? n : (int)len), n < (int)len ? len - n : 0,
                      "%s{\"isa\": \"%s\", \"kernel\": \"%s\", \"max_err\": %.3g, \"tol\": %.3g}",
                      i ? ", " : "", isa_name(r->isa), ks_kernel_name(r->kernel),
                      isfinite(r->max_err) ? r->max_err : 1e308, r->tol);
    }
    n += snprintf(buf + (n < (int)len ? n : (int)len), n < (int)len ? len - n : 0, "]}");
    return n;
}

/* conv.c — the public convolution entry points of conv.h: weight packing
 * and dispatch to the fastest kernel the CPU supports.
 *
 * The kernels themselves live in conv_simd_body.h (compiled per ISA into
 * conv_avx512.c / conv_avx2.c / conv_generic.c; fast mode's Winograd conv in
 * winograd_simd_body.h, its weight transform in winograd.c), the resamplers in
 * conv_resample.c and the naive twins in conv_ref.c. If a fast kernel's
 * workspace is too small (or, given none, cannot be allocated) the call
 * returns -1 (the caller reports it): no silent switch to the ~50x slower
 * reference loop. The *_scratch_floats queries of conv.h are here too.
 */
#include "conv.h"

#include <stdlib.h>
#include <string.h>

#include "conv_impl.h"
#include "cpu.h"

// w (C_out, C_in, k, k) -> packed (ceil(C_out/8), C_in, k*k, 8), zero-filled
int conv_weights_init(conv_weights_t *cw, const float *w, int c_out, int c_in, int k,
                      sal_err_t *err) {
    memset(cw, 0, sizeof *cw);
    if (!w || c_out <= 0 || c_in <= 0 || (k != 1 && k != 3))
        return sal_errf(err, "conv weights: bad shape (%d, %d, %d, %d)", c_out, c_in, k, k);
    const int taps = k * k;
    const size_t nob = ((size_t)c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    size_t len, bytes;
    if (sal_mul_size(nob * CONV_PACK_O * taps, (size_t)c_in, &len) ||
        sal_mul_size(len, sizeof(float), &bytes))
        return sal_errf(err, "conv weights: size overflow (%d, %d, %d, %d)", c_out, c_in, k, k);
    float *p = sal_alloc_aligned(bytes, 64);
    if (!p)
        return sal_errf(err, "conv weights: out of memory packing (%d, %d, %d, %d)", c_out, c_in,
                        k, k);
    memset(p, 0, bytes); /* the padding channels o >= C_out stay 0 */
    for (size_t o = 0; o < (size_t)c_out; o++) {
        const size_t ob = o / CONV_PACK_O, j = o % CONV_PACK_O;
        for (size_t c = 0; c < (size_t)c_in; c++)
            for (int t = 0; t < taps; t++)
                p[((ob * c_in + c) * taps + t) * CONV_PACK_O + j] = w[(o * c_in + c) * taps + t];
    }
    cw->c_out = c_out;
    cw->c_in = c_in;
    cw->k = k;
    cw->w = w;
    cw->packed = p;
    cw->packed_len = len;
    return 0;
}

void conv_weights_free(conv_weights_t *cw) {
    if (!cw) return;
    sal_free_aligned(cw->packed);
    cw->packed = NULL;
    cw->packed_len = 0;
    sal_free_aligned(cw->wino);
    cw->wino = NULL;
    cw->wino_len = 0;
    sal_free_aligned(cw->wino_t);
    cw->wino_t = NULL;
    cw->wino_t_len = 0;
}

int conv_weights_make_fast(conv_weights_t *cw, sal_err_t *err) {
    if (cw->k != 3 || cw->wino) return 0;
    cw->wino = winograd_weights(cw->w, cw->c_out, cw->c_in, &cw->wino_len);
    if (!cw->wino)
        return sal_errf(err, "conv weights: out of memory transforming (%d, %d, 3, 3) for fast mode",
                        cw->c_out, cw->c_in);
    return 0;
}

int conv_weights_make_fast_transposed(conv_weights_t *cw, sal_err_t *err) {
    if (cw->k != 3 || cw->wino_t) return 0;
    cw->wino_t = winograd_t_weights(cw->w, cw->c_out, cw->c_in, &cw->wino_t_len);
    if (!cw->wino_t)
        return sal_errf(err,
                        "conv weights: out of memory transforming (%d, %d, 3, 3) for fast mode",
                        cw->c_out, cw->c_in);
    return 0;
}

/* ## Workspace queries: the maximum over thread counts 1..threads of what the
 * current ISA's kernel needs (conv_impl.h), so that a workspace sized for T
 * threads serves any count up to T (a kernel's plan, and with it the size of
 * a thread's slice, depends on the thread count). */

/* A kernel's call shape, for the per-ISA sizing functions below. */
typedef struct ws_shape {
    const conv_weights_t *cw;
    int n, c, h, w;
} ws_shape_t;

typedef size_t (*ws_need_fn)(const ws_shape_t *s, isa_t isa, int nthr);

static size_t ws_max_over_threads(ws_need_fn need, const ws_shape_t *s, int threads) {
    if (threads <= 0) threads = threads_get();
    const isa_t isa = cpu_isa();
    size_t most = 0;
    for (int t = 1; t <= threads; t++) {
        const size_t v = need(s, isa, t);
        most = v > most ? v : most;
    }
    return most;
}

/* conv2d: the larger of the direct conv's workspace and, for 3x3 weights, the
 * Winograd conv's (0 where it would not run), so the workspace serves the
 * weights in exact and in fast mode (conv_weights_make_fast after sizing). */
static size_t conv2d_need(const ws_shape_t *s, isa_t isa, int t) {
    size_t v = 0, d = 0;
    if (s->cw->k == 3) {
        switch (isa) {
        case ISA_AVX512: v = conv2d_wino_scratch_avx512(s->cw, s->n, s->h, s->w, t); break;
        case ISA_AVX2: v = conv2d_wino_scratch_avx2(s->cw, s->n, s->h, s->w, t); break;
        case ISA_GENERIC: v = conv2d_wino_scratch_generic(s->cw, s->n, s->h, s->w, t); break;
        }
    }
    switch (isa) {
    case ISA_AVX512: d = conv2d_fast_scratch_avx512(s->cw, s->n, s->h, s->w, t); break;
    case ISA_AVX2: d = conv2d_fast_scratch_avx2(s->cw, s->n, s->h, s->w, t); break;
    case ISA_GENERIC: d = conv2d_fast_scratch_generic(s->cw, s->n, s->h, s->w, t); break;
    }
    return v > d ? v : d;
}

size_t conv2d_scratch_floats(const conv_weights_t *cw, int n, int h, int w, int threads) {
    if (n <= 0 || h <= 0 || w <= 0) return 0;
    const ws_shape_t s = {cw, n, 0, h, w};
    return ws_max_over_threads(conv2d_need, &s, threads);
}

/* The same for the transposed conv (its Winograd classes in fast mode). */
static size_t t3s2_need(const ws_shape_t *s, isa_t isa, int t) {
    size_t v = 0, d = 0;
    if (s->cw->k == 3) {
        switch (isa) {
        case ISA_AVX512: v = conv_t3s2_wino_scratch_avx512(s->cw, s->n, s->h, s->w, t); break;
        case ISA_AVX2: v = conv_t3s2_wino_scratch_avx2(s->cw, s->n, s->h, s->w, t); break;
        case ISA_GENERIC: v = conv_t3s2_wino_scratch_generic(s->cw, s->n, s->h, s->w, t); break;
        }
    }
    switch (isa) {
    case ISA_AVX512: d = conv_t3s2_fast_scratch_avx512(s->cw, s->n, s->h, s->w, t); break;
    case ISA_AVX2: d = conv_t3s2_fast_scratch_avx2(s->cw, s->n, s->h, s->w, t); break;
    case ISA_GENERIC: d = conv_t3s2_fast_scratch_generic(s->cw, s->n, s->h, s->w, t); break;
    }
    return v > d ? v : d;
}

size_t conv2d_transpose3x3_s2_scratch_floats(const conv_weights_t *cw, int n, int h, int w,
                                             int threads) {
    if (n <= 0 || h <= 0 || w <= 0 || cw->k != 3) return 0;
    const ws_shape_t s = {cw, n, 0, h, w};
    return ws_max_over_threads(t3s2_need, &s, threads);
}

static size_t s2_need(const ws_shape_t *s, isa_t isa, int t) {
    switch (isa) {
    case ISA_AVX512: return conv_s2_fast_scratch_avx512(s->cw, s->n, s->h, s->w, t);
    case ISA_AVX2: return conv_s2_fast_scratch_avx2(s->cw, s->n, s->h, s->w, t);
    case ISA_GENERIC: return conv_s2_fast_scratch_generic(s->cw, s->n, s->h, s->w, t);
    }
    return 0;
}

size_t conv2d_s2_3x3_scratch_floats(const conv_weights_t *cw, int n, int h, int w, int threads) {
    if (n <= 0 || h <= 0 || w <= 0 || cw->k != 3) return 0;
    const ws_shape_t s = {cw, n, 0, h, w};
    return ws_max_over_threads(s2_need, &s, threads);
}

static size_t fir_down_need(const ws_shape_t *s, isa_t isa, int t) {
    switch (isa) {
    case ISA_AVX512: return fir4x4_fast_scratch_avx512(s->n, s->c, s->h, s->w, t);
    case ISA_AVX2: return fir4x4_fast_scratch_avx2(s->n, s->c, s->h, s->w, t);
    case ISA_GENERIC: return fir4x4_fast_scratch_generic(s->n, s->c, s->h, s->w, t);
    }
    return 0;
}

size_t fir4x4_down_pad1_scratch_floats(int n, int c, int h2p1, int w2p1, int threads) {
    if (n <= 0 || c <= 0 || h2p1 <= 1 || w2p1 <= 1) return 0;
    const ws_shape_t s = {NULL, n, c, h2p1, w2p1};
    return ws_max_over_threads(fir_down_need, &s, threads);
}

static size_t fir_up_need(const ws_shape_t *s, isa_t isa, int t) {
    switch (isa) {
    case ISA_AVX512: return fir4x4_up_fast_scratch_avx512(s->n, s->h, s->w, t);
    case ISA_AVX2: return fir4x4_up_fast_scratch_avx2(s->n, s->h, s->w, t);
    case ISA_GENERIC: return fir4x4_up_fast_scratch_generic(s->n, s->h, s->w, t);
    }
    return 0;
}

size_t fir4x4_up_pad2_scratch_floats(int planes, int h, int w, int threads) {
    if (planes <= 0 || h <= 0 || w <= 0) return 0;
    const ws_shape_t s = {NULL, planes, 0, h, w};
    return ws_max_over_threads(fir_up_need, &s, threads);
}

/* ## The kernels */

int conv2d(const conv_weights_t *cw, const float *in, float *out, int n, int h, int w,
           const conv_epilogue_t *ep, const conv_ws_t *ws) {
    if (n <= 0 || h <= 0 || w <= 0) return 0;
    int rc = -1;
    if (cw->wino) { /* fast mode: Winograd, unless the image is too small (rc 1) */
        switch (cpu_isa()) {
        case ISA_AVX512: rc = conv2d_wino_avx512(cw, in, out, n, h, w, ep, ws); break;
        case ISA_AVX2: rc = conv2d_wino_avx2(cw, in, out, n, h, w, ep, ws); break;
        case ISA_GENERIC: rc = conv2d_wino_generic(cw, in, out, n, h, w, ep, ws); break;
        }
        if (rc <= 0) return rc; /* done, or out of memory */
        rc = -1;
    }
    if (cw->packed) {
        switch (cpu_isa()) {
        case ISA_AVX512: rc = conv2d_fast_avx512(cw, in, out, n, h, w, ep, ws); break;
        case ISA_AVX2: rc = conv2d_fast_avx2(cw, in, out, n, h, w, ep, ws); break;
        case ISA_GENERIC: rc = conv2d_fast_generic(cw, in, out, n, h, w, ep, ws); break;
        }
    }
    return rc == 0 ? 0 : -1;
}

int conv2d_transpose3x3_s2(const conv_weights_t *cw, const float *in, const float *in_scale,
                           float *out, int n, int h, int w, const conv_ws_t *ws) {
    if (n <= 0 || h <= 0 || w <= 0) return 0;
    int rc = -1;
    if (cw->wino_t) { /* fast mode: Winograd classes, unless the image is too small (rc 1) */
        switch (cpu_isa()) {
        case ISA_AVX512: rc = conv_t3s2_wino_avx512(cw, in, in_scale, out, n, h, w, ws); break;
        case ISA_AVX2: rc = conv_t3s2_wino_avx2(cw, in, in_scale, out, n, h, w, ws); break;
        case ISA_GENERIC: rc = conv_t3s2_wino_generic(cw, in, in_scale, out, n, h, w, ws); break;
        }
        if (rc <= 0) return rc; /* done, or out of memory */
        rc = -1;
    }
    if (cw->packed && cw->k == 3) {
        switch (cpu_isa()) {
        case ISA_AVX512: rc = conv_t3s2_fast_avx512(cw, in, in_scale, out, n, h, w, ws); break;
        case ISA_AVX2: rc = conv_t3s2_fast_avx2(cw, in, in_scale, out, n, h, w, ws); break;
        case ISA_GENERIC: rc = conv_t3s2_fast_generic(cw, in, in_scale, out, n, h, w, ws); break;
        }
    }
    return rc == 0 ? 0 : -1;
}

int fir4x4_down_pad1(const float *in, float *out, int n, int c, int h2p1, int w2p1,
                     const float f[4], float gain, const conv_epilogue_t *ep,
                     const conv_ws_t *ws) {
    if (n <= 0 || c <= 0 || h2p1 <= 1 || w2p1 <= 1) return 0;
    int rc = -1;
    switch (cpu_isa()) {
    case ISA_AVX512: rc = fir4x4_fast_avx512(in, out, n, c, h2p1, w2p1, f, gain, ep, ws); break;
    case ISA_AVX2: rc = fir4x4_fast_avx2(in, out, n, c, h2p1, w2p1, f, gain, ep, ws); break;
    case ISA_GENERIC: rc = fir4x4_fast_generic(in, out, n, c, h2p1, w2p1, f, gain, ep, ws); break;
    }
    return rc == 0 ? 0 : -1;
}

int conv_weights_init_adjoint(conv_weights_t *cw, float **wt_out, const float *w, int c_out,
                              int c_in, int flip, sal_err_t *err) {
    *wt_out = NULL;
    memset(cw, 0, sizeof *cw);
    size_t len;
    if (!w || c_out <= 0 || c_in <= 0 || sal_mul_size((size_t)c_out * 9, (size_t)c_in, &len))
        return sal_errf(err, "conv weights: bad adjoint shape (%d, %d, 3, 3)", c_out, c_in);
    float *wt = malloc(len * sizeof(float));
    if (!wt) return sal_errf(err, "conv weights: out of memory transposing (%d, %d, 3, 3)", c_out, c_in);
    // wt (C_in, C_out, 3, 3) from w (C_out, C_in, 3, 3)
    for (size_t o = 0; o < (size_t)c_out; o++)
        for (size_t c = 0; c < (size_t)c_in; c++)
            for (int t = 0; t < 9; t++)
                wt[(c * c_out + o) * 9 + t] = w[(o * c_in + c) * 9 + (flip ? 8 - t : t)];
    if (conv_weights_init(cw, wt, c_in, c_out, 3, err) < 0) {
        free(wt);
        return -1;
    }
    *wt_out = wt;
    return 0;
}

int conv2d_s2_3x3(const conv_weights_t *cw, const float *in, float *out, int n, int h, int w,
                  const conv_epilogue_t *ep, const conv_ws_t *ws) {
    if (n <= 0 || h <= 0 || w <= 0) return 0;
    int rc = -1;
    if (cw->packed && cw->k == 3) {
        switch (cpu_isa()) {
        case ISA_AVX512: rc = conv_s2_fast_avx512(cw, in, out, n, h, w, ep, ws); break;
        case ISA_AVX2: rc = conv_s2_fast_avx2(cw, in, out, n, h, w, ep, ws); break;
        case ISA_GENERIC: rc = conv_s2_fast_generic(cw, in, out, n, h, w, ep, ws); break;
        }
    }
    return rc == 0 ? 0 : -1;
}

int fir4x4_up_pad2(const float *in, float *out, int planes, int h, int w, const float f[4],
                   float gain, const conv_ws_t *ws) {
    if (planes <= 0 || h <= 0 || w <= 0) return 0;
    int rc = -1;
    switch (cpu_isa()) {
    case ISA_AVX512: rc = fir4x4_up_fast_avx512(in, out, planes, h, w, f, gain, ws); break;
    case ISA_AVX2: rc = fir4x4_up_fast_avx2(in, out, planes, h, w, f, gain, ws); break;
    case ISA_GENERIC: rc = fir4x4_up_fast_generic(in, out, planes, h, w, f, gain, ws); break;
    }
    return rc == 0 ? 0 : -1;
}

double conv_fma_peak_gflops(double seconds) {
    const isa_t isa = cpu_isa();
    double flops = 0.0, t0 = sal_now(), t = t0;
    float sink = 0.0f, total = 0.0f;
    while (t - t0 < seconds) {
        const long iters = 1L << 20;
        switch (isa) {
        case ISA_AVX512: flops += fma_loop_avx512(iters, &sink); break;
        case ISA_AVX2: flops += fma_loop_avx2(iters, &sink); break;
        case ISA_GENERIC: flops += fma_loop_generic(iters, &sink); break;
        }
        total += sink;
        t = sal_now();
    }
    /* the chains converge to ~1.7; anything else means the loop was broken */
    if (!(total > 0.0f) || t <= t0) return 0.0;
    return flops / (t - t0) * 1e-9;
}

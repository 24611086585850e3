/* conv_impl.h — internal: the per-ISA fast kernels behind conv.h and gemm.h.
 *
 * The nets never include this file; they call conv2d(), gemm_nt() & co,
 * which pick one of the versions below with cpu_isa(). Each version is the
 * same code (engine/conv_simd_body.h) compiled three times with a different
 * vector width: conv_avx512.c (16 floats), conv_avx2.c (8), conv_generic.c (1).
 *
 * Packed conv weights (conv_weights_init), shared by every ISA:
 *   packed[ob][c][t][j] = w[ob*8 + j, c, t]    t = ky*k + kx,  0 for ob*8+j >= C_out
 *   shape (ceil(C_out/8), C_in, k*k, 8)
 * A microkernel handles 4 or 8 of those output channels at a time.
 *
 * Fast mode (conv_weights_make_fast, winograd.h): cw->wino holds the
 * Winograd weights U[xi][ob][c][8], 36 points, the same 8-channel packing;
 * conv2d_wino_<isa> (engine/winograd_simd_body.h) returns 1 for images too
 * small to use them (conv2d then runs the direct kernel). The same for the
 * transposed conv: cw->wino_t and conv_t3s2_wino_<isa>
 * (engine/winograd_t_simd_body.h).
 *
 * The conv functions return 0, or -1 if their workspace is too small (or,
 * given none, could not be allocated); conv.c passes that on to its caller.
 * Each has a `*_scratch_<isa>(shape, nthr)`: the floats its workspace needs
 * with exactly nthr threads (conv.c takes the maximum over 1..threads). The
 * kernels call the same function with threads_get() and compare: the query
 * and the kernel cannot disagree.
 */
#ifndef SALIENT_CONV_IMPL_H
#define SALIENT_CONV_IMPL_H

#include "conv.h"
#include "winograd.h"

#include <stdint.h>

#define CONV_PACK_O 8

/* The scratch of one call, `need` floats: ws->p if ws holds that many (NULL
 * if not), or with no ws a fresh block (*owned, free it with
 * sal_free_aligned; NULL if out of memory). */
static inline float *conv_ws_take(const conv_ws_t *ws, size_t need, float **owned) {
    *owned = NULL;
    if (ws) return ws->p && ws->floats >= need && (uintptr_t)ws->p % 64 == 0 ? ws->p : NULL;
    size_t bytes;
    if (sal_mul_size(need ? need : 1, sizeof(float), &bytes)) return NULL;
    *owned = sal_alloc_aligned(bytes, 64);
    return *owned;
}

/* The epilogue of conv.h resolved for one (n, o): plain numbers, no pointers
 * to follow per pixel except the noise row. */
typedef struct epi_row {
    int use_scale, use_bias, act, use_gain, use_clamp;
    float scale, bias, slope, gain, clamp, noise_gain;
    const float *noise; /* the noise row for this output row, or NULL */
} epi_row_t;

static inline epi_row_t epi_row_for(const conv_epilogue_t *ep, int n, int c_out, int o) {
    epi_row_t e = {0, 0, ACT_LINEAR, 0, 0, 1.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, NULL};
    if (!ep) return e;
    if (ep->out_scale) { e.use_scale = 1; e.scale = ep->out_scale[(size_t)n * c_out + o]; }
    if (ep->bias) { e.use_bias = 1; e.bias = ep->bias[o]; }
    e.act = ep->act;
    e.slope = ep->slope;
    if (ep->gain != 0.0f) { e.use_gain = 1; e.gain = ep->gain; }
    if (ep->clamp > 0.0f) { e.use_clamp = 1; e.clamp = ep->clamp; }
    e.noise_gain = ep->noise_gain;
    return e;
}

/* The same arithmetic as conv_epilogue_apply, for one value. */
static inline float epi_scalar(const epi_row_t *e, float v, const float *noise_at) {
    if (e->use_scale) v = v * e->scale;
    if (e->noise) v = v + *noise_at * e->noise_gain;
    if (e->use_bias) v = v + e->bias;
    if (e->act == ACT_RELU) v = v > 0.0f ? v : 0.0f;
    else if (e->act == ACT_LRELU) v = v > 0.0f ? v : v * e->slope;
    if (e->use_gain) v = v * e->gain;
    if (e->use_clamp) v = v < -e->clamp ? -e->clamp : v > e->clamp ? e->clamp : v;
    return v;
}

#define CONV_DECLARE_ISA(sfx)                                                            \
    int conv2d_fast_##sfx(const conv_weights_t *cw, const float *in, float *out, int n,    \
                          int h, int w, const conv_epilogue_t *ep, const conv_ws_t *ws);    \
    size_t conv2d_fast_scratch_##sfx(const conv_weights_t *cw, int n, int h, int w,        \
                                     int nthr);                                             \
    int conv2d_wino_##sfx(const conv_weights_t *cw, const float *in, float *out, int n,    \
                          int h, int w, const conv_epilogue_t *ep, const conv_ws_t *ws);    \
    size_t conv2d_wino_scratch_##sfx(const conv_weights_t *cw, int n, int h, int w,        \
                                     int nthr);                                             \
    int conv_t3s2_fast_##sfx(const conv_weights_t *cw, const float *in,                   \
                             const float *in_scale, float *out, int n, int h, int w,        \
                             const conv_ws_t *ws);                                          \
    size_t conv_t3s2_fast_scratch_##sfx(const conv_weights_t *cw, int n, int h, int w,     \
                                        int nthr);                                          \
    int conv_t3s2_wino_##sfx(const conv_weights_t *cw, const float *in,                   \
                             const float *in_scale, float *out, int n, int h, int w,        \
                             const conv_ws_t *ws);                                          \
    size_t conv_t3s2_wino_scratch_##sfx(const conv_weights_t *cw, int n, int h, int w,     \
                                        int nthr);                                          \
    int conv_s2_fast_##sfx(const conv_weights_t *cw, const float *in, float *out, int n,    \
                           int h, int w, const conv_epilogue_t *ep, const conv_ws_t *ws);   \
    size_t conv_s2_fast_scratch_##sfx(const conv_weights_t *cw, int n, int h, int w,       \
                                      int nthr);                                            \
    int fir4x4_up_fast_##sfx(const float *in, float *out, int planes, int h, int w,         \
                             const float f[4], float gain, const conv_ws_t *ws);            \
    size_t fir4x4_up_fast_scratch_##sfx(int planes, int h, int w, int nthr);                \
    int fir4x4_fast_##sfx(const float *in, float *out, int n, int c, int h2p1, int w2p1,   \
                          const float f[4], float gain, const conv_epilogue_t *ep,          \
                          const conv_ws_t *ws);                                             \
    size_t fir4x4_fast_scratch_##sfx(int n, int c, int h2p1, int w2p1, int nthr);           \
    void gemm_nt_fast_##sfx(int m, int n, int k, const float *a, const float *b, float *c); \
    double fma_loop_##sfx(long iters, float *sink);

CONV_DECLARE_ISA(avx512)
CONV_DECLARE_ISA(avx2)
CONV_DECLARE_ISA(generic)

#endif

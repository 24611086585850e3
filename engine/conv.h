/* conv.h — the convolution kernels the networks run on (float32, NCHW).
 *
 * Every kernel has two implementations: a naive reference loop (`*_ref`,
 * obviously correct, used by the tests) and a fast one that dispatches on
 * cpu_isa() to AVX-512 / AVX2 / portable code and is threaded with OpenMP.
 *
 * Scratch memory (the workspace rule): the fast kernels that need scratch
 * take a workspace `ws` that the caller sized once with the kernel's
 * `*_scratch_floats` query (for the shapes it will run and its thread
 * count) and reuses for every call; the nets size every kernel's scratch at
 * load / plan time and never pass NULL, so their hot loop never allocates.
 * A kernel whose workspace is too small for this call (a sizing bug, or more
 * threads than it was sized for) returns -1 and computes nothing; NULL means
 * "allocate for this call alone" (tests and tools), -1 if that fails. Never
 * a silent fall back to the reference loop.
 * Weights are packed once (conv_weights_init) into whatever layout the fast
 * kernel wants; a whole batch shares them.
 *
 * Prologue: if in_scale is given the input is read as in[n, c, y, x] * in_scale[n, c]
 * (one float multiply per value, the same rounding as scaling the input in
 * a separate pass): StyleGAN2's modulation, without a pass over memory.
 *
 * Epilogue: every conv output value v (the raw sum) is finished as
 *     v = v * out_scale[n, o]            (if out_scale)      -- e.g. demodulation
 *     v = v + noise[y, x] * noise_gain    (if noise)          -- one map for all n, o
 *     v = v + bias[o]                     (if bias)
 *     v = act(v) * gain                   (act: linear / relu / lrelu(slope))
 *     v = clamp(v, -clamp, +clamp)        (if clamp > 0)
 * which covers StyleGAN2's non-fused modulated conv + bias_act and the
 * saliency net's conv + ReLU / leaky ReLU.
 */
#ifndef SALIENT_CONV_H
#define SALIENT_CONV_H

#include "arena.h"
#include "common.h"

typedef enum conv_act {
    ACT_LINEAR = 0,
    ACT_RELU = 1,   /* max(v, 0) */
    ACT_LRELU = 2,  /* v if v > 0 else slope * v  (note: -0.0 * slope stays -0.0) */
} conv_act_t;

typedef struct conv_epilogue {
    const float *out_scale; /* (N, C_out) or NULL */
    const float *noise;     /* (H_out, W_out) or NULL */
    float noise_gain;
    const float *bias;      /* (C_out) or NULL */
    conv_act_t act;
    float slope;            /* for ACT_LRELU */
    float gain;             /* multiplies after the activation; 0 means 1 */
    float clamp;            /* > 0: clamp to [-clamp, clamp] */
    const float *in_scale;  /* (N, C_in) or NULL: the prologue (see above) */
} conv_epilogue_t;

/* Applies the epilogue to one value (shared by all implementations). */
static inline float conv_epilogue_apply(const conv_epilogue_t *ep, float v, int n, int c_out,
                                        int o, const float *noise_at) {
    if (!ep) return v;
    if (ep->out_scale) v = v * ep->out_scale[(size_t)n * c_out + o];
    if (ep->noise) v = v + *noise_at * ep->noise_gain;
    if (ep->bias) v = v + ep->bias[o];
    if (ep->act == ACT_RELU) v = v > 0.0f ? v : 0.0f;
    else if (ep->act == ACT_LRELU) v = v > 0.0f ? v : v * ep->slope;
    if (ep->gain != 0.0f) v = v * ep->gain;
    if (ep->clamp > 0.0f) v = v < -ep->clamp ? -ep->clamp : v > ep->clamp ? ep->clamp : v;
    return v;
}

/* A kernel workspace: `floats` floats at p, 64-byte aligned (an arena_alloc
 * block). Threads take disjoint slices of it (one per OpenMP thread). */
typedef struct conv_ws {
    float *p;
    size_t floats;
} conv_ws_t;

/* Bytes a workspace of `floats` floats takes in an arena (as arena_alloc rounds). */
static inline size_t conv_ws_arena_bytes(size_t floats) {
    return arena_round(floats ? floats * sizeof(float) : 1);
}
/* Cuts a workspace of `floats` floats from arena a: 0, or -1 if it does not fit. */
static inline int conv_ws_from_arena(conv_ws_t *ws, arena_t *a, size_t floats) {
    ws->p = (float *)arena_alloc(a, floats * sizeof(float));
    ws->floats = ws->p ? floats : 0;
    return ws->p ? 0 : -1;
}

/* Conv weights (C_out, C_in, k, k), k = 1 or 3, packed for the fast kernels. */
typedef struct conv_weights {
    int c_out, c_in, k;
    const float *w;   /* the original (C_out, C_in, k, k) weights, not owned */
    float *packed;    /* kernel-private layout, owned (may be NULL) */
    size_t packed_len;
    /* fast mode only (conv_weights_make_fast): Winograd F(4x4,3x3) weights
     * U = G w G^T, (36, ceil(C_out/8), C_in, 8), owned; NULL = exact mode */
    float *wino;
    size_t wino_len;
    /* fast mode for the transposed conv (conv_weights_make_fast_transposed):
     * Winograd weights of its four parity classes (winograd.h), owned */
    float *wino_t;
    size_t wino_t_len;
} conv_weights_t;

int conv_weights_init(conv_weights_t *cw, const float *w, int c_out, int c_in, int k,
                      sal_err_t *err);
void conv_weights_free(conv_weights_t *cw);

/* Fast mode: also transforms a 3x3 weight for Winograd F(4x4,3x3) (once; the
 * whole batch shares it). From then on conv2d on this weight computes
 *   out = ep( A^T [ (G w G^T) .* (B^T d B) ] A )  per 4x4 output tile
 * (fp32; differs from the direct sum by rounding, ~1e-6 relative) whenever
 * the image has >= 1024 pixels (pays off), else the exact direct conv. A no-op
 * for 1x1 weights. Returns 0 or -1 (out of memory). */
int conv_weights_make_fast(conv_weights_t *cw, sal_err_t *err);

/* Fast mode for a weight used by conv2d_transpose3x3_s2: its four parity
 * classes (2x2, 2x1, 1x2 and 1x1 taps on the input grid) switch to Winograd
 * F(4,2) in the directions with 2 taps (winograd.h); fp32, differs from the
 * direct sum by rounding. Returns 0 or -1 (out of memory). */
int conv_weights_make_fast_transposed(conv_weights_t *cw, sal_err_t *err);

/* Stride-1 convolution with zero padding k/2 ("same"), cross-correlation:
 *   out[n,o,y,x] = ep( sum_{c,ky,kx} w[o,c,ky,kx] * in[n,c,y+ky-k/2,x+kx-k/2] )
 * in (N, C_in, H, W) -> out (N, C_out, H, W).
 * The fast kernels (this and the ones below) return 0, or -1 if their
 * workspace is too small / could not be allocated (out is then incomplete).
 *
 * Every kernel with a workspace has a query
 *   size_t <kernel>_scratch_floats(<the call's shape>, int threads)
 * giving the floats its workspace needs for that shape on the ISA cpu_isa()
 * picks now, for any thread count 1..threads (threads <= 0: threads_get()).
 * It covers the weights in exact and in fast mode (conv_weights_make_fast*
 * may come after the sizing) and reads only cw's shape (c_out, c_in, k), so
 * a plan can size weights it has not packed yet. 0 means no scratch. */
size_t conv2d_scratch_floats(const conv_weights_t *cw, int n, int h, int w, int threads);
int conv2d(const conv_weights_t *cw, const float *in, float *out, int n, int h, int w,
           const conv_epilogue_t *ep, const conv_ws_t *ws);
void conv2d_ref(const conv_weights_t *cw, const float *in, float *out, int n, int h, int w,
                const conv_epilogue_t *ep);

/* Stride-2 transposed 3x3 convolution, no padding, weight not flipped:
 *   out[n,o,2i+ky,2j+kx] += sum_c x[n,c,i,j] * w[o,c,ky,kx]
 *   x = in * in_scale[n, c]  (the prologue above; in_scale may be NULL)
 * in (N, C_in, H, W) -> out (N, C_out, 2H+1, 2W+1), raw sums (no epilogue). */
int conv2d_transpose3x3_s2(const conv_weights_t *cw, const float *in, const float *in_scale,
                           float *out, int n, int h, int w, const conv_ws_t *ws);
size_t conv2d_transpose3x3_s2_scratch_floats(const conv_weights_t *cw, int n, int h, int w,
                                             int threads);
void conv2d_transpose3x3_s2_ref(const conv_weights_t *cw, const float *in,
                                const float *in_scale, float *out, int n, int h, int w);

/* Stride-2 3x3 convolution, no padding ("valid"), cross-correlation:
 *   out[n,o,i,j] = ep( sum_{c,ky,kx} w[o,c,ky,kx] * x[n,c,2i+ky,2j+kx] )
 *   x = in * in_scale[n, c]  (ep->in_scale, the prologue; may be absent)
 * in (N, C_in, 2H+1, 2W+1) -> out (N, C_out, H, W). With the weight
 * w'[c,o,ky,kx] = w[o,c,ky,kx] (transposed, not flipped) this is the adjoint
 * of conv2d_transpose3x3_s2 with w: <T x, y> = <x, conv2d_s2_3x3(w', y)>.
 * The fast kernel splits the input into its four parity classes
 * (even/odd rows x even/odd columns) and runs the 4, 2, 2 and 1 taps that
 * read each class: 9 multiply-adds per output value and input channel. */
int conv2d_s2_3x3(const conv_weights_t *cw, const float *in, float *out, int n, int h, int w,
                  const conv_epilogue_t *ep, const conv_ws_t *ws);   /* 0, or -1: scratch */
size_t conv2d_s2_3x3_scratch_floats(const conv_weights_t *cw, int n, int h, int w, int threads);
void conv2d_s2_3x3_ref(const conv_weights_t *cw, const float *in, float *out, int n, int h,
                       int w, const conv_epilogue_t *ep);

/* Packs the weights of the adjoint of a 3x3 conv: from w (C_out, C_in, 3, 3)
 * the transposed weight (C_in, C_out, 3, 3) into *wt_out (malloc'ed, owned
 * by the caller, must outlive cw), spatially flipped if `flip`:
 *   wt[c,o,ky,kx] = w[o,c,2-ky,2-kx]  (flip: the adjoint of conv2d, 3x3 "same")
 *   wt[c,o,ky,kx] = w[o,c,ky,kx]      (no flip: for conv2d_s2_3x3, the adjoint
 *                                      of conv2d_transpose3x3_s2)
 * and packs it into cw (conv_weights_init). 0 or -1. */
int conv_weights_init_adjoint(conv_weights_t *cw, float **wt_out, const float *w, int c_out,
                              int c_in, int flip, sal_err_t *err);

/* 4x4 FIR after the transposed conv (StyleGAN2's up-conv, docs/stylegan2.md 3.2):
 *   out[p,Y,X] = ep( sum_{a,b=0..3} F[a,b] * in[p, Y+a-1, X+b-1] )
 * in (N, C, 2H+1, 2W+1) (zero outside) -> out (N, C, 2H, 2W), F = f f^T * gain
 * with the 4-tap f given. The epilogue's channel index is p's channel. */
int fir4x4_down_pad1(const float *in, float *out, int n, int c, int h2p1, int w2p1,
                     const float f[4], float gain, const conv_epilogue_t *ep,
                     const conv_ws_t *ws);
size_t fir4x4_down_pad1_scratch_floats(int n, int c, int h2p1, int w2p1, int threads);
void fir4x4_down_pad1_ref(const float *in, float *out, int n, int c, int h2p1, int w2p1,
                          const float f[4], float gain, const conv_epilogue_t *ep);

/* The adjoint of fir4x4_down_pad1 (a "full" 4x4 FIR, padding 2):
 *   out[p,Y,X] = sum_{a,b=0..3} F[a,b] * in[p, Y+a-2, X+b-2],  F = f f^T gain
 * in (P, H, W) (zero outside) -> out (P, H+1, W+1). With the mirrored taps
 * (f[3-a]) it is the adjoint of fir4x4_down_pad1 with f (no epilogue). */
int fir4x4_up_pad2(const float *in, float *out, int planes, int h, int w, const float f[4],
                   float gain, const conv_ws_t *ws);   /* 0, or -1: scratch */
size_t fir4x4_up_pad2_scratch_floats(int planes, int h, int w, int threads);
void fir4x4_up_pad2_ref(const float *in, float *out, int planes, int h, int w, const float f[4],
                        float gain);

/* 2x downsampling with a 4x4 FIR, padding 1 (the adjoint of upsample2x_fir
 * when given the mirrored taps f[3-a]):
 *   out[p,i,j] = sum_{a,b} F[a,b] * in[p, 2i+a-1, 2j+b-1],  F = f f^T gain
 * in (P, 2H, 2W) (zero outside) -> out (P, H, W). */
int downsample2x_fir(const float *in, float *out, int planes, int h, int w, const float f[4],
                     float gain, const conv_ws_t *ws);   /* 0, or -1: scratch */
size_t downsample2x_fir_scratch_floats(int planes, int h, int w, int threads);
void downsample2x_fir_ref(const float *in, float *out, int planes, int h, int w,
                          const float f[4], float gain);

/* 2x upsampling with a 4x4 FIR (upfirdn2d up=2, pad (2,1), docs/stylegan2.md 3.3):
 *   out[p,Y,X] = sum_{a,b} F[a,b] * u[p, Y+a-2, X+b-2],  u = zero-stuffed in
 * in (P, H, W) -> out (P, 2H, 2W), P = N*C planes. If accumulate, adds into out. */
int upsample2x_fir(const float *in, float *out, int planes, int h, int w, const float f[4],
                   float gain, int accumulate, const conv_ws_t *ws);
size_t upsample2x_fir_scratch_floats(int planes, int h, int w, int threads);
void upsample2x_fir_ref(const float *in, float *out, int planes, int h, int w,
                        const float f[4], float gain, int accumulate);

/* 2x2 max pooling, stride 2, output ceil(H/2) x ceil(W/2) (partial windows take
 * the max of the existing elements). in (P, H, W) -> out (P, ceil(H/2), ceil(W/2)). */
void maxpool2x2_ceil(const float *in, float *out, int planes, int h, int w);
void maxpool2x2_ceil_ref(const float *in, float *out, int planes, int h, int w);

/* For the benchmark: runs an FMA-throughput loop with the current ISA's
 * widest vectors on the calling thread for about `seconds` and returns the
 * FP32 GFLOP/s achieved (the machine's peak, 2 FLOP per FMA lane). */
double conv_fma_peak_gflops(double seconds);

#endif

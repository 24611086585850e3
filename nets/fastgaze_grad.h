/* fastgaze_grad.h — the backward pass (vector–Jacobian product) of the
 * fastgaze saliency network (fastgaze.h): given the network input x and
 * dL/dM for its map M, dL/dx.
 *
 * The forward is re-run with every layer output kept on a "tape" (in an
 * arena); the backward walks the layers in reverse:
 *
 *   conv + act:  y = act(v), v = conv(x, W) + b
 *                dL/dv = dL/dy * act'(v)      act'(v) = 1 if v > 0, else 0 (ReLU)
 *                                                       or slope (leaky ReLU)
 *                dL/dx = conv(dL/dv, W_adj)   W_adj[c,o,ky,kx] = W[o,c,k-1-ky,k-1-kx]
 *                (the adjoint of a "same"-padded k x k conv, run on the engine's
 *                fast kernels; weights packed at load, fastgaze.c)
 *   max pool:    the whole of dL/dy[p,i,j] goes to the FIRST maximum of the
 *                window in the order (0,0), (0,1), (1,0), (1,1) (strict >,
 *                as maxpool2x2_ceil_ref scans), the other elements get 0;
 *                partial (ceil) windows hold only the existing elements.
 *
 * act'(v) is read from the kept output: v > 0 <=> y > 0 for both ReLU and
 * leaky ReLU (slope > 0), so no pre-activations are stored.
 *
 * The tape's map is bit-identical to fg_forward's (the same kernels on the
 * same inputs).
 */
#ifndef SALIENT_FASTGAZE_GRAD_H
#define SALIENT_FASTGAZE_GRAD_H

#include "arena.h"
#include "common.h"
#include "fastgaze.h"

/* What the backward needs from one forward pass. Pointers into the arena. */
typedef struct fg_tape {
    const float *x;                 /* the input (3, H, W), not copied */
    int h, w;                       /* input size */
    float *out[FG_MAX_LAYERS];      /* layer i's output (C_out, h_i, w_i); NULL if ignored */
    int out_h[FG_MAX_LAYERS], out_w[FG_MAX_LAYERS];
    const float *map;               /* channel 0 of the last output: M (map_h, map_w) */
    int map_h, map_w;
    conv_ws_t kws;                  /* the conv kernels' workspace (from the arena), also
                                     * fg_backward's */
} fg_tape_t;

/* Arena bytes of fg_forward_tape + fg_backward on an (H, W) input. */
size_t fg_grad_arena_bytes(const fg_model_t *m, int h, int w);

/* Forward pass keeping every layer output. x (3, H, W) must stay valid
 * until fg_backward. Fails only if the arena is too small. */
int fg_forward_tape(const fg_model_t *m, const float *x, int h, int w, arena_t *a,
                    fg_tape_t *tape, sal_err_t *err);

/* Backward pass: dmap = dL/dM (map_h, map_w) -> dx = dL/dx (3, H, W).
 * Uses two scratch buffers from the arena (released on return). */
int fg_backward(const fg_model_t *m, const fg_tape_t *tape, const float *dmap, float *dx,
                arena_t *a, sal_err_t *err);

/* ---- the pieces, for tests ---- */

/* In place: g[i] *= act'(y[i]) for a layer output y with activation act
 * (ACT_RELU: 1 if y > 0 else 0; ACT_LRELU: 1 if y > 0 else slope). */
void fg_act_backward(conv_act_t act, float slope, const float *y, float *g, size_t n);
/* Max pool backward: in (P, H, W) the pool's input, gout (P, ceil(H/2),
 * ceil(W/2)) -> gin (P, H, W) (every element written). */
void fg_maxpool_backward(const float *in, const float *gout, float *gin, int planes, int h,
                         int w);
/* The same followed by the activation derivative of the layer that produced
 * `in` (fg_act_backward), fused: gin = pool_backward(gout) * act'(in). */
void fg_maxpool_backward_act(const float *in, const float *gout, float *gin, int planes, int h,
                             int w, conv_act_t act, float slope);
/* The adjoint of layer L's linear part (no bias, no activation):
 * g (C_out, H, W) -> gx (C_in, H, W). */
int fg_conv_adjoint(const fg_layer_t *L, const float *g, float *gx, int h, int w,
                    const conv_ws_t *ws);   /* 0 or -1 (workspace too small) */

#endif

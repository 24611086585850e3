/* fastgaze_grad.c — backward pass of the fastgaze network (see
 * fastgaze_grad.h): a forward that keeps every layer output, then the
 * layers' adjoints in reverse order on the engine's conv kernels.
 */
#include "fastgaze_grad.h"

#include <string.h>

#include "cpu.h"

/* Output size of layer L for an (h, w) input. */
static void layer_out_size(const fg_layer_t *L, int h, int w, int *oh, int *ow) {
    *oh = L->kind == FG_MAXPOOL ? (h + 1) / 2 : h;   // ceil: partial windows give an output
    *ow = L->kind == FG_MAXPOOL ? (w + 1) / 2 : w;
}

size_t fg_grad_arena_bytes(const fg_model_t *m, int h, int w) {
    const int h0 = h, w0 = w;
    size_t tape = 0, largest = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const fg_layer_t *L = &m->layer[i];
        layer_out_size(L, h, w, &h, &w);
        if (L->kind == FG_IGNORED) continue;
        const size_t n = (size_t)L->c_out * (size_t)h * (size_t)w;
        tape += arena_round(n * sizeof(float));
        if (n > largest) largest = n;
    }
    // the conv kernels' workspace (forward and adjoint convs), the tape, two
    // ping-pong gradient buffers
    return conv_ws_arena_bytes(fg_kernel_scratch_floats(m, h0, w0, 1)) + tape +
           2 * arena_round(largest * sizeof(float));
}

int fg_forward_tape(const fg_model_t *m, const float *x, int h, int w, arena_t *a,
                    fg_tape_t *tape, sal_err_t *err) {
    memset(tape, 0, sizeof *tape);
    tape->x = x;
    tape->h = h;
    tape->w = w;
    /* the kernels' workspace, for these convs and fg_backward's adjoints */
    if (conv_ws_from_arena(&tape->kws, a, fg_kernel_scratch_floats(m, h, w, 1)))
        return sal_errf(err, "fastgaze: arena too small for the backward pass on a %dx%d input "
                        "with %d threads", w, h, threads_get());
    const float *cur = x;   // current activation (C, h, w)
    for (int i = 0; i < m->n_layers; i++) {
        const fg_layer_t *L = &m->layer[i];
        int oh, ow;
        layer_out_size(L, h, w, &oh, &ow);
        tape->out_h[i] = oh;
        tape->out_w[i] = ow;
        if (L->kind == FG_IGNORED) continue;   // the original tool never applies it
        float *y = arena_alloc(a, (size_t)L->c_out * oh * ow * sizeof(float));
        if (!y)
            return sal_errf(err, "fastgaze: arena too small for the backward pass on a %dx%d input",
                            tape->w, tape->h);
        if (L->kind == FG_CONV) {
            // y (C_out, h, w) = act(conv(x, W) + b): exactly fg_forward's call
            const conv_epilogue_t ep = {.bias = L->bias, .act = L->act, .slope = L->slope};
            if (conv2d(&L->cw, cur, y, 1, h, w, &ep, &tape->kws))
                return sal_errf(err, "fastgaze: layer %d: kernel workspace too small for the conv", i);
        } else {
            // y (C, ceil(h/2), ceil(w/2)) = max over 2x2 windows
            maxpool2x2_ceil(cur, y, L->c_in, h, w);
        }
        tape->out[i] = y;
        cur = y;
        h = oh;
        w = ow;
    }
    tape->map = cur;
    tape->map_h = h;
    tape->map_w = w;
    return 0;
}

/* ---- the pieces ---------------------------------------------------------- */

void fg_act_backward(conv_act_t act, float slope, const float *y, float *g, size_t n) {
    // y > 0 <=> the pre-activation v > 0 (fastgaze_grad.h)
    const float neg = act == ACT_LRELU ? slope : act == ACT_RELU ? 0.0f : 1.0f;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) g[i] = y[i] > 0.0f ? g[i] : g[i] * neg;
}

void fg_maxpool_backward(const float *in, const float *gout, float *gin, int planes, int h,
                         int w) {
    fg_maxpool_backward_act(in, gout, gin, planes, h, w, ACT_LINEAR, 1.0f);
}

void fg_maxpool_backward_act(const float *in, const float *gout, float *gin, int planes, int h,
                             int w, conv_act_t act, float slope) {
    const float neg = act == ACT_LRELU ? slope : act == ACT_RELU ? 0.0f : 1.0f;
    const int ho = (h + 1) / 2, wo = (w + 1) / 2;
    const long tasks = (long)planes * ho;
    #pragma omp parallel for schedule(static) if (tasks * wo > 65536)
    for (long t = 0; t < tasks; t++) {
        const int p = (int)(t / ho), y = (int)(t % ho);
        const float *src = in + (size_t)p * h * w;
        float *dst = gin + (size_t)p * h * w;
        const float *g = gout + ((size_t)p * ho + y) * wo;
        for (int x = 0; x < wo; x++) {
            // window elements in the order (0,0), (0,1), (1,0), (1,1); the
            // first maximum (strict >) takes the whole gradient
            size_t idx[4];
            int n = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    if (2 * y + dy < h && 2 * x + dx < w)
                        idx[n++] = (size_t)(2 * y + dy) * w + (size_t)(2 * x + dx);
            int best = 0;
            for (int k = 1; k < n; k++)
                if (src[idx[k]] > src[idx[best]]) best = k;
            const float gw = src[idx[best]] > 0.0f ? g[x] : g[x] * neg;   // act' at the winner
            for (int k = 0; k < n; k++) dst[idx[k]] = k == best ? gw : 0.0f;
        }
    }
}

int fg_conv_adjoint(const fg_layer_t *L, const float *g, float *gx, int h, int w,
                    const conv_ws_t *ws) {
    // gx (C_in, h, w) = conv(g, W_adj), the transposed, flipped weights (fastgaze.h)
    return conv2d(&L->cw_adj, g, gx, 1, h, w, NULL, ws);
}

/* ---- backward ---------------------------------------------------------------- */

int fg_backward(const fg_model_t *m, const fg_tape_t *tape, const float *dmap, float *dx,
                arena_t *a, sal_err_t *err) {
    size_t largest = 0;
    int last = -1, first = -1;
    for (int i = 0; i < m->n_layers; i++) {
        const fg_layer_t *L = &m->layer[i];
        if (L->kind == FG_IGNORED) continue;
        const size_t n = (size_t)L->c_out * tape->out_h[i] * tape->out_w[i];
        if (n > largest) largest = n;
        if (first < 0) first = i;
        last = i;
    }
    if (last < 0) return sal_errf(err, "fastgaze: the model has no layer to differentiate");
    const size_t mark = arena_mark(a);
    float *buf[2] = {arena_alloc(a, largest * sizeof(float)), arena_alloc(a, largest * sizeof(float))};
    if (!buf[0] || !buf[1]) {
        arena_release(a, mark);
        return sal_errf(err, "fastgaze: arena too small for the backward pass");
    }
    // dL/d(last output): dmap in channel 0, zero in the others
    const fg_layer_t *Llast = &m->layer[last];
    const size_t plane = (size_t)tape->map_h * tape->map_w;
    memset(buf[0], 0, (size_t)Llast->c_out * plane * sizeof(float));
    memcpy(buf[0], dmap, plane * sizeof(float));
    int cur = 0;         // buf[cur] holds dL/d(output of layer i)
    int masked = 0;      // ... already multiplied by layer i's act' (fused into the pool)
    for (int i = last; i >= first; i--) {
        const fg_layer_t *L = &m->layer[i];
        if (L->kind == FG_IGNORED) continue;
        // layer i's input: the previous kept output, or x
        int prev = i - 1;
        while (prev >= first && m->layer[prev].kind == FG_IGNORED) prev--;
        const float *in = prev >= first ? tape->out[prev] : tape->x;
        const int ih = prev >= first ? tape->out_h[prev] : tape->h;
        const int iw = prev >= first ? tape->out_w[prev] : tape->w;
        float *g = buf[cur], *gin = i == first ? dx : buf[cur ^ 1];
        if (L->kind == FG_CONV) {
            // dL/dv = dL/dy * act'(v); dL/dx = conv(dL/dv, W_adj)
            if (!masked)
                fg_act_backward(L->act, L->slope, tape->out[i], g,
                                (size_t)L->c_out * tape->out_h[i] * tape->out_w[i]);
            if (fg_conv_adjoint(L, g, gin, ih, iw, &tape->kws)) {
                arena_release(a, mark);
                return sal_errf(err, "fastgaze backward: layer %d: kernel workspace too small for "
                                "the adjoint conv", i);
            }
            masked = 0;
        } else if (prev >= first && m->layer[prev].kind == FG_CONV) {
            // the pool's input is a conv output: apply that conv's act' at the
            // winners here (one pass over the large buffer instead of two)
            const fg_layer_t *P = &m->layer[prev];
            fg_maxpool_backward_act(in, g, gin, L->c_in, ih, iw, P->act, P->slope);
            masked = 1;
        } else {
            fg_maxpool_backward(in, g, gin, L->c_in, ih, iw);
            masked = 0;
        }
        cur ^= 1;
    }
    arena_release(a, mark);
    return 0;
}

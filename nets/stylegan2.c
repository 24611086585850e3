/* stylegan2.c — the StyleGAN2-ADA generator's forward pass, written to be
 * read top to bottom.
 *
 * A face is made in two stages:
 *
 *   z (z_dim)  --mapping-->  w (w_dim)  --truncation-->  ws (num_ws, w_dim)
 *   ws  --synthesis-->  img (3, R, R)
 *
 * The mapping network is an 8-layer MLP. The synthesis network starts from a
 * learned 4x4 constant and doubles the resolution in each block
 * (4, 8, ..., R). Every convolution is *modulated*: one row of ws is turned
 * into a per-channel style s by an affine layer, the style scales the input
 * channels, and the output channels are rescaled ("demodulated") to unit
 * variance. Each block also emits an RGB image (ToRGB) which is added to the
 * 2x-upsampled image of the previous block (the "skip" architecture):
 *
 *   for each block:  x = conv0(x);  x = conv1(x);  img = up(img) + torgb(x)
 *
 * Every equation below is in docs/stylegan2.md: what NVIDIA's
 * stylegan2-ada-pytorch computes in eval mode in float32. Shapes are
 * written (N, C, H, W) with N the batch. The kernels (conv, transposed conv,
 * FIR filters, GEMM) live in engine/; this file only decides what to call.
 * Two things are elsewhere so that they do not interrupt the story:
 * loading the weights (stylegan2_load.c) and sizing the scratch memory of a
 * pass (stylegan2_plan.c).
 *
 * Contents:
 *   1. seeds -> z, the mapping network, truncation
 *   2. the synthesis network: styles, modulation, demodulation, noise + bias
 *      + activation, one modulated layer, ToRGB, a block, the whole pass
 *   3. float -> uint8
 */
#include "stylegan2.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "stylegan2_internal.h"

/* ========================================================================== */
/* 1. Seeds, the mapping network, truncation                                  */
/* ========================================================================== */

/* generate.py: z = np.random.RandomState(seed).randn(1, z_dim), float64; the
 * mapping network casts it to float32 first. */
void sg2_z_from_seed(uint32_t seed, int z_dim, float *z, rng_np_t *rng) {
    rng_np_t local;
    if (!rng) rng = &local;
    rng_np_seed(rng, seed);
    for (int j = 0; j < z_dim; j++) z[j] = (float)rng_np_randn(rng);
}

/* torch.lerp(w_avg, ws, psi) as torch's CPU kernel computes it (docs/stylegan2.md 2): with
 * d = fl(w - avg) and p = fl(psi), one fused multiply-add chosen by |p|:
 *   |p| <  0.5:  fmaf(p, d, avg)          = avg + p (w - avg)
 *   |p| >= 0.5:  fmaf(-(1 - p), d, w)     = w - (1 - p)(w - avg)
 * Only rows 0..cutoff-1 are truncated, and only if psi != 1. */
void sg2_truncate(const sg2_net_t *net, float *ws, int n, float psi, int cutoff) {
    const sg2_config_t *cfg = &net->cfg;
    if (psi == 1.0f) return;
    int rows = cutoff < 0 || cutoff > cfg->num_ws ? cfg->num_ws : cutoff;
    const float one_minus_p = 1.0f - psi;
    for (int s = 0; s < n; s++)
        for (int r = 0; r < rows; r++) {
            float *w = ws + ((size_t)s * cfg->num_ws + r) * cfg->w_dim;
            for (int j = 0; j < cfg->w_dim; j++) {
                const float avg = net->w_avg[j];
                const float d = w[j] - avg;
                w[j] = fabsf(psi) < 0.5f ? fmaf(psi, d, avg) : fmaf(-one_minus_p, d, w[j]);
            }
        }
}

/* The adjoint of sg2_truncate: ws_r = w_avg + psi (w_r - w_avg) for the
 * truncated rows, so dL/dw_r = psi dL/dws_r there and dL/dws_r elsewhere.
 * In place on dws (N, num_ws, w_dim). */
void sg2_truncate_backward(const sg2_net_t *net, float *dws, int n, float psi, int cutoff) {
    const sg2_config_t *cfg = &net->cfg;
    if (psi == 1.0f) return;
    const int rows = cutoff < 0 || cutoff > cfg->num_ws ? cfg->num_ws : cutoff;
    for (int s = 0; s < n; s++)
        for (int r = 0; r < rows; r++) {
            float *g = dws + ((size_t)s * cfg->num_ws + r) * cfg->w_dim;
            for (int j = 0; j < cfg->w_dim; j++) g[j] *= psi;
        }
}

/* Mapping network (docs/stylegan2.md 2), for the batch at once:
 *   x = z * rsqrt(mean_j z_j^2 + 1e-8)                     (N, z_dim)
 *   x = lrelu(x W_eff^T + b_eff) * sqrt2     8 times       (N, w_dim)
 *   ws[n, i, :] = x[n, :]                    i < num_ws    (N, num_ws, w_dim)
 * then truncation. */
int sg2_mapping(const sg2_net_t *net, const float *z, int n, float psi, int cutoff, float *ws,
                sal_err_t *err) {
    return sg2_mapping_hooked(net, z, n, psi, cutoff, ws, NULL, NULL, err);
}

/* (The hook only observes: names as in stylegan2_ref.c, for --trace.) */
static void mapping_report(sg2_hook_fn hook, void *user, const char *name, int ndim,
                           const int64_t *shape, const float *data) {
    if (hook) hook(user, name, ndim, shape, data);
}

int sg2_mapping_hooked(const sg2_net_t *net, const float *z, int n, float psi, int cutoff,
                       float *ws, sg2_hook_fn hook, void *hook_user, sal_err_t *err) {
    const sg2_config_t *cfg = &net->cfg;
    if (n < 1 || n > SG2_MAX_BATCH) return sal_errf(err, "mapping: batch size %d out of range", n);
    int max_f = 0;
    for (int i = 0; i <= cfg->mapping_layers; i++)
        if (cfg->mapping_features[i] > max_f) max_f = cfg->mapping_features[i];
    arena_t arena;
    if (arena_init(&arena, 2 * arena_round((size_t)n * max_f * sizeof(float))) < 0)
        return sal_errf(err, "mapping: out of memory");
    float *x = arena_alloc(&arena, (size_t)n * max_f * sizeof(float));   // (N, features)
    float *y = arena_alloc(&arena, (size_t)n * max_f * sizeof(float));

    // normalize_2nd_moment
    for (int s = 0; s < n; s++) {
        const float *zs = z + (size_t)s * cfg->z_dim;
        float sum = 0.0f;
        for (int j = 0; j < cfg->z_dim; j++) sum += zs[j] * zs[j];
        const float scale = 1.0f / sqrtf(sum / (float)cfg->z_dim + SG2_EPS);
        for (int j = 0; j < cfg->z_dim; j++) x[(size_t)s * cfg->z_dim + j] = zs[j] * scale;
    }
    mapping_report(hook, hook_user, "mapping.normalize.out", 2, (int64_t[]){n, cfg->z_dim}, x);
    // the fully connected layers: y = x W_eff^T (GEMM), then bias, lrelu, gain
    for (int i = 0; i < cfg->mapping_layers; i++) {
        const sg2_fc_t *fc = &net->mapping[i];
        gemm_nt(n, fc->out, fc->in, x, fc->w_eff, y);
        for (int s = 0; s < n; s++)
            for (int o = 0; o < fc->out; o++) {
                float v = y[(size_t)s * fc->out + o] + fc->b_eff[o];
                v = v > 0.0f ? v : v * SG2_LRELU_SLOPE;
                y[(size_t)s * fc->out + o] = v * SG2_SQRT2;
            }
        if (hook) {
            char name[32];
            snprintf(name, sizeof name, "mapping.fc%d.out", i);
            mapping_report(hook, hook_user, name, 2, (int64_t[]){n, fc->out}, y);
        }
        float *t = x; x = y; y = t;
    }
    mapping_report(hook, hook_user, "mapping.w", 2, (int64_t[]){n, cfg->w_dim}, x);
    // broadcast to num_ws rows, then truncate
    for (int s = 0; s < n; s++)
        for (int r = 0; r < cfg->num_ws; r++)
            memcpy(ws + ((size_t)s * cfg->num_ws + r) * cfg->w_dim, x + (size_t)s * cfg->w_dim,
                   (size_t)cfg->w_dim * sizeof(float));
    sg2_truncate(net, ws, n, psi, cutoff);
    mapping_report(hook, hook_user, "mapping.ws", 3, (int64_t[]){n, cfg->num_ws, cfg->w_dim}, ws);
    arena_free(&arena);
    return 0;
}

/* ========================================================================== */
/* 2. The synthesis network                                                   */
/* ========================================================================== */

/* Everything one pass works with: its inputs, and the scratch buffers
 * (planned in stylegan2_plan.c) that the steps below write into. */
typedef struct synth_ctx {
    const sg2_net_t *net;
    const float *ws;               /* (N, num_ws, w_dim) */
    int n;
    const sg2_synthesis_opts_t *opts;
    float *tmp;                    /* scratch, tmp_floats long */
    size_t tmp_floats;
    float *styles, *styles_sq, *dcoef;  /* (N, C) */
    float *wrow;                   /* (N, w_dim) */
    float *noise;                  /* (N, R, R) for random noise */
    const conv_ws_t *kws;          /* the kernels' workspace (stylegan2_plan.c) */
} synth_ctx_t;

/* Shows the tensor "<name>.<what>" to the hook, if there is one (--trace,
 * the tests). Observing only: nothing below depends on it. */
static void report(const synth_ctx_t *cx, const char *name, const char *what, int ndim,
                   const int64_t *shape, const float *data) {
    if (!cx->opts->hook) return;
    char full[96];
    snprintf(full, sizeof full, "%s.%s", name, what);
    cx->opts->hook(cx->opts->hook_user, full, ndim, shape, data);
}

/* 2.1 Styles: the affine layer of a modulated layer, fed with ws row `w_index`:
 *   s = ws[:, w_index, :] A_eff^T + b_A        (N, w_dim) -> (N, C_in)
 * (A_eff = A / sqrt(w_dim), bias initialised to 1 in training, so s ~ 1.) */
static void compute_styles(synth_ctx_t *cx, const sg2_fc_t *affine, int w_index, float *s) {
    const sg2_config_t *cfg = &cx->net->cfg;
    for (int b = 0; b < cx->n; b++)
        memcpy(cx->wrow + (size_t)b * cfg->w_dim,
               cx->ws + ((size_t)b * cfg->num_ws + w_index) * cfg->w_dim,
               (size_t)cfg->w_dim * sizeof(float));
    gemm_nt(cx->n, affine->out, affine->in, cx->wrow, affine->w_eff, s);
    for (int b = 0; b < cx->n; b++)
        for (int c = 0; c < affine->out; c++) s[(size_t)b * affine->out + c] += affine->b_eff[c];
}

/* 2.2 Modulation: the style scales the conv's input channels,
 *   x'[n,c,y,x] = x[n,c,y,x] * s[n,c]                          (N, C_in, H, W)
 * The paper modulates the weight instead, W'[o,c,ky,kx] = W[o,c,ky,kx] s[c],
 * one weight per sample; scaling the input is the same sum and lets one
 * packed W serve the whole batch. No pass over x is made: the kernels
 * multiply every input value by its scale as they read it (the prologue in
 * engine/conv.h; one float multiply, the same rounding as a separate pass).
 * This is the step where the styles become that input scale. */
static void modulate_input_scale(conv_epilogue_t *ep, const float *s) {
    ep->in_scale = s;   // (N, C_in): x * s[n, c], applied as the kernels read x
}

/* 2.3 Demodulation: the scale that brings each output channel back to unit
 * variance,
 *   d[n,o] = rsqrt( sum_{c,ky,kx} (W[o,c,ky,kx] s[n,c])^2 + 1e-8 )   (N, C_out)
 * and since sum_{ky,kx} W[o,c,ky,kx]^2 = wsq[o,c] is prepared at load,
 * d^-2 - 1e-8 = s^2 wsq^T: one GEMM (N, C_in) x (C_out, C_in)^T for the
 * whole batch. The kernels multiply their raw sums by d (out_scale). */
static void demodulation_coefs(synth_ctx_t *cx, const sg2_layer_t *L, const float *s, float *d) {
    const int n = cx->n;
    for (size_t i = 0; i < (size_t)n * L->c_in; i++) cx->styles_sq[i] = s[i] * s[i];
    gemm_nt(n, L->c_out, L->c_in, cx->styles_sq, L->wsq, d);
    for (size_t i = 0; i < (size_t)n * L->c_out; i++) d[i] = 1.0f / sqrtf(d[i] + SG2_EPS);
}

/* 2.4 What follows the conv, per output value v (the kernels' epilogue,
 * conv_epilogue_apply in engine/conv.h):
 *   out = clamp( lrelu(v d[n,o] + noise[y,x] strength + bias[o]) * sqrt2, +-256 )
 * -- the clamp comes after the gain. noise is the layer's stored map for
 * noise_mode const, nothing for none; for random see below. */
static conv_epilogue_t layer_epilogue(const synth_ctx_t *cx, const sg2_layer_t *L, const float *d) {
    return (conv_epilogue_t){
        .out_scale = d,
        .noise = cx->opts->noise_mode == SG2_NOISE_CONST ? L->noise_const : NULL,
        .noise_gain = L->noise_strength,
        .bias = L->bias,
        .act = ACT_LRELU,
        .slope = SG2_LRELU_SLOPE,
        .gain = SG2_SQRT2,
        .clamp = cx->net->cfg.conv_clamp,
    };
}

/* noise_mode random: one N(0,1) map (res, res) per sample, from that sample's
 * generator (torch: randn([N, 1, res, res])). */
static void draw_noise(synth_ctx_t *cx, int res) {
    for (int b = 0; b < cx->n; b++) {
        float *m = cx->noise + (size_t)b * res * res;
        for (int i = 0; i < res * res; i++) m[i] = (float)rng_np_randn(&cx->opts->noise_rngs[b]);
    }
}

/* With random noise every sample has its own map, which the kernels'
 * one-map epilogue cannot take: then the kernel applies only s and d, and
 * the rest of the epilogue ep (see 2.4) runs here on out (N, C_out, res, res),
 * sample by sample. */
static void random_noise_epilogue(synth_ctx_t *cx, const sg2_layer_t *L,
                                  const conv_epilogue_t *ep, float *out) {
    const int n = cx->n, res = L->res;
    draw_noise(cx, res);
    const size_t plane = (size_t)res * res;
    #pragma omp parallel for schedule(static)
    for (long p = 0; p < (long)n * L->c_out; p++) {
        const int b = (int)(p / L->c_out), o = (int)(p % L->c_out);
        float *v = out + (size_t)p * plane;
        conv_epilogue_t ep_rest = *ep;   // everything but d, with this sample's map
        ep_rest.out_scale = NULL;
        ep_rest.noise = cx->noise + (size_t)b * plane;
        for (size_t i = 0; i < plane; i++)
            v[i] = conv_epilogue_apply(&ep_rest, v[i], b, L->c_out, o, ep_rest.noise + i);
    }
}

/* 2.5 The 2x up-conv of conv0 (docs/stylegan2.md 3.2): the stride-2
 * transposed 3x3 conv (= zero stuffing + a 3x3 conv) of x * s into tmp
 * (C_out, 2H+1, 2H+1), then the 4x4 FIR (pad 1) down to (C_out, 2H, 2H),
 * which also runs the epilogue ep. In chunks of samples, so that tmp stays
 * small (stylegan2_plan.c). x (N, C_in, H, H) -> out (N, C_out, 2H, 2H). */
static int upconv(synth_ctx_t *cx, const sg2_layer_t *L, const char *name, const float *x,
                  const conv_epilogue_t *ep, float *out, sal_err_t *err) {
    const int n = cx->n, h_in = L->res / 2, res = L->res;
    const int chunk = sg2_upconv_chunk(L, cx->tmp_floats, n);
    for (int b0 = 0; b0 < n; b0 += chunk) {
        const int nb = n - b0 < chunk ? n - b0 : chunk;
        if (conv2d_transpose3x3_s2(&L->conv, x + (size_t)b0 * L->c_in * h_in * h_in,
                                   ep->in_scale + (size_t)b0 * L->c_in, cx->tmp, nb, h_in, h_in, cx->kws))
            return sal_errf(err, "synthesis: %s: kernel workspace too small for the transposed conv", name);
        conv_epilogue_t ep_chunk = *ep;
        ep_chunk.out_scale = ep->out_scale + (size_t)b0 * L->c_out;
        if (fir4x4_down_pad1(cx->tmp, out + (size_t)b0 * L->c_out * res * res, nb, L->c_out,
                             2 * h_in + 1, 2 * h_in + 1, sg2_fir_taps, SG2_FIR_GAIN, &ep_chunk,
                             cx->kws))
            return sal_errf(err, "synthesis: %s: kernel workspace too small for the FIR", name);
    }
    return 0;
}

/* 2.6 One modulated SynthesisLayer "<block>.<layer>" (conv0 or conv1), the
 * steps 2.1-2.5 in order:
 *
 *   s   = affine(ws[:, w_index])                   styles        (N, C_in)
 *   d   = rsqrt(s^2 wsq^T + 1e-8)                  demodulation  (N, C_out)
 *   v   = conv3x3(x * s, W)                        (up=0: same size, padding 1)
 *       | FIR4x4(convT3x3_s2(x * s, W))            (up=1: 2H x 2W)
 *   out = clamp(lrelu(v d + noise strength + bias) * sqrt2, +-256)  (N, C_out, res, res)
 *
 * One fused kernel call does x * s (modulation), the conv, and v * d + the
 * rest (its epilogue). Returns 0, or -1 with *err set when a kernel could
 * not get its scratch memory. */
static int modulated_layer(synth_ctx_t *cx, const sg2_block_t *B, const sg2_layer_t *L,
                           const char *layer, int w_index, const float *x, float *out,
                           sal_err_t *err) {
    const int n = cx->n, res = L->res;
    char name[64];
    snprintf(name, sizeof name, "%s.%s", B->name, layer);

    // s: the styles (2.1); d: the demodulation coefficients (2.3)
    compute_styles(cx, &L->affine, w_index, cx->styles);
    report(cx, name, "affine.out", 2, (int64_t[]){n, L->c_in}, cx->styles);
    demodulation_coefs(cx, L, cx->styles, cx->dcoef);
    report(cx, name, "demod", 2, (int64_t[]){n, L->c_out}, cx->dcoef);   // (for --trace)

    // what the fused kernel does around the conv: x * s as it reads x (2.2),
    // then v * d, noise, bias, lrelu, gain, clamp (2.4)
    conv_epilogue_t ep = layer_epilogue(cx, L, cx->dcoef);
    modulate_input_scale(&ep, cx->styles);
    // (random noise: the kernel applies s and d only, the rest follows below)
    conv_epilogue_t ep_scales_only = {.out_scale = ep.out_scale, .in_scale = ep.in_scale};
    const int per_sample_noise = cx->opts->noise_mode == SG2_NOISE_RANDOM;
    const conv_epilogue_t *kernel_ep = per_sample_noise ? &ep_scales_only : &ep;

    // the conv: same size (conv1), or the 2x up-conv (conv0, 2.5)
    if (!L->up) {
        if (conv2d(&L->conv, x, out, n, res, res, kernel_ep, cx->kws))
            return sal_errf(err, "synthesis: %s: kernel workspace too small for the conv", name);
    } else if (upconv(cx, L, name, x, kernel_ep, out, err)) {
        return -1;
    }
    if (per_sample_noise) random_noise_epilogue(cx, L, &ep, out);
    report(cx, name, "out", 4, (int64_t[]){n, L->c_out, res, res}, out);
    return 0;
}

/* 2.7 ToRGB (docs/stylegan2.md 3.3): a modulated 1x1 conv without
 * demodulation, noise or activation:
 *   s = affine(ws[:, w_index]) * fl(1/sqrt(C_in))                 (N, C_in)
 *   y[n,o] = clamp( sum_c W[o,c] s[n,c] x[n,c] + bias[o], +-256 )  (N, 3, H, W)
 * (x * s is again the conv's prologue: x itself is still needed by the next
 * block.) */
static int torgb_layer(synth_ctx_t *cx, const sg2_block_t *B, int w_index, const float *x,
                       float *y, sal_err_t *err) {
    const sg2_torgb_t *T = &B->torgb;
    const int n = cx->n, res = B->res;
    char name[64];
    snprintf(name, sizeof name, "%s.torgb", B->name);

    compute_styles(cx, &T->affine, w_index, cx->styles);
    report(cx, name, "affine.out", 2, (int64_t[]){n, T->c_in}, cx->styles);
    for (size_t i = 0; i < (size_t)n * T->c_in; i++) cx->styles[i] = cx->styles[i] * T->weight_gain;

    conv_epilogue_t ep = {.bias = T->bias, .act = ACT_LINEAR, .clamp = cx->net->cfg.conv_clamp};
    modulate_input_scale(&ep, cx->styles);
    if (conv2d(&T->conv, x, y, n, res, res, &ep, cx->kws))
        return sal_errf(err, "synthesis: %s: kernel workspace too small for the conv", name);
    report(cx, name, "out", 4, (int64_t[]){n, T->c_out, res, res}, y);
    return 0;
}

/* 2.8 One block (SynthesisBlock, docs/stylegan2.md 3), block i at
 * resolution res, on cx->n samples:
 *
 *   b4:   x = const (repeated over N)                        (N, C4, 4, 4)
 *   else: x = conv0(x, ws[2i-1])   (2x up)                   (N, C, res, res)
 *         x = conv1(x, ws[2i])                               (N, C, res, res)
 *         img = upsample2x(img) + torgb(x, ws[2i+1])         (N, 3, res, res)
 *
 * A block's torgb shares its ws row with the next block's conv0: the row
 * index advances by the number of convs only. upsample2x (docs/stylegan2.md
 * 3.3) is zero stuffing plus the same 4x4 FIR; it is added straight into
 * ToRGB's output.
 *
 * x (the previous block's features; unused by b4) and img (its image; NULL
 * for b4) are only read. conv0 writes feat[0], conv1 feat[1] (the block's
 * output features); the image goes to img_out. */
static int synthesis_block(synth_ctx_t *cx, int i, const float *x, const float *img,
                           float *feat[2], float *img_out, sal_err_t *err) {
    const sg2_block_t *B = &cx->net->blocks[i];
    const int n = cx->n, res = B->res, C = cx->net->cfg.img_channels;

    // x = const | conv0(x)
    if (i == 0) {
        for (int b = 0; b < n; b++)
            memcpy(feat[0] + (size_t)b * B->c_out * 16, B->const_input,
                   (size_t)B->c_out * 16 * sizeof(float));
    } else if (modulated_layer(cx, B, &B->conv0, "conv0", 2 * i - 1, x, feat[0], err)) {
        return -1;
    }
    // x = conv1(x)
    if (modulated_layer(cx, B, &B->conv1, "conv1", 2 * i, feat[0], feat[1], err)) return -1;
    report(cx, B->name, "x", 4, (int64_t[]){n, B->c_out, res, res}, feat[1]);

    // img = upsample2x(img) + torgb(x)
    if (torgb_layer(cx, B, 2 * i + 1, feat[1], img_out, err)) return -1;
    if (img && upsample2x_fir(img, img_out, n * C, res / 2, res / 2, sg2_fir_taps, SG2_FIR_GAIN, 1,
                              cx->kws))
        return sal_errf(err, "synthesis: %s.torgb: kernel workspace too small for the upsampler",
                        B->name);
    report(cx, B->name, "img", 4, (int64_t[]){n, C, res, res}, img_out);
    return 0;
}

/* 2.9 Blocks i0..i1-1 on cx->n samples. x_in / img_in are the features and
 * image of block i0-1 (unused for i0 = 0) and are only read; feat[2] and
 * imgbuf[2] are the ping-pong buffers. The last block of the network writes
 * img_final; otherwise *x_out / *img_out tell where block i1-1 left its
 * results. Returns 0, or -1 with *err set (a kernel's scratch). */
static int run_blocks(synth_ctx_t *cx, int i0, int i1, const float *x_in, const float *img_in,
                      float *feat[2], float *imgbuf[2], float *img_final, const float **x_out,
                      const float **img_out, sal_err_t *err) {
    const float *x = x_in, *img = img_in;
    for (int i = i0; i < i1; i++) {
        float *img_new = i == cx->net->cfg.num_blocks - 1 ? img_final : imgbuf[i & 1];
        if (synthesis_block(cx, i, x, img, feat, img_new, err)) return -1;
        x = feat[1];
        img = img_new;
    }
    *x_out = x;
    *img_out = img;
    return 0;
}

/* 2.10 The whole pass. The low-resolution blocks run on the whole batch
 * (phase 1), the rest sample by sample (phase 2): stylegan2_plan.c says why
 * and where the split is. */
int sg2_synthesis(const sg2_net_t *net, const float *ws, int n, const sg2_synthesis_opts_t *opts,
                  float *img, sal_err_t *err) {
    const sg2_config_t *cfg = &net->cfg;
    const sg2_synthesis_opts_t default_opts = {.noise_mode = SG2_NOISE_CONST};
    if (!opts) opts = &default_opts;
    if (n < 1 || n > SG2_MAX_BATCH) return sal_errf(err, "synthesis: batch size %d out of range", n);
    if (opts->noise_mode == SG2_NOISE_RANDOM && !opts->noise_rngs)
        return sal_errf(err, "synthesis: noise mode 'random' needs one generator per sample");
    if (opts->noise_mode < SG2_NOISE_CONST || opts->noise_mode > SG2_NOISE_RANDOM)
        return sal_errf(err, "synthesis: unknown noise mode %d", (int)opts->noise_mode);

    sg2_scratch_t s;
    if (sg2_scratch_open(net, n, opts, &s, err)) return -1;
    synth_ctx_t cx = {
        .net = net, .ws = ws, .n = n, .opts = opts,
        .tmp = s.tmp, .tmp_floats = s.tmp_floats,
        .styles = s.styles, .styles_sq = s.styles_sq, .dcoef = s.dcoef,
        .wrow = s.wrow, .noise = s.noise, .kws = &s.kws,
    };

    // phase 1: blocks [0, split) on the whole batch
    const float *x, *img_prev;
    int rc = run_blocks(&cx, 0, s.split, NULL, NULL, s.feat1, s.img1, img, &x, &img_prev, err);

    // phase 2: the remaining blocks, one sample at a time
    if (rc == 0 && s.split < cfg->num_blocks) {
        const sg2_block_t *last = &net->blocks[s.split - 1];
        const size_t x_per = (size_t)last->c_out * last->res * last->res;
        const size_t img_per = (size_t)cfg->img_channels * last->res * last->res;
        const size_t out_per = (size_t)cfg->img_channels * cfg->img_resolution * cfg->img_resolution;
        for (int b = 0; b < n && rc == 0; b++) {
            sg2_synthesis_opts_t one = *opts;
            if (opts->noise_rngs) one.noise_rngs = opts->noise_rngs + b;
            synth_ctx_t cb = cx;
            cb.ws = ws + (size_t)b * cfg->num_ws * cfg->w_dim;
            cb.n = 1;
            cb.opts = &one;
            const float *xo, *io;
            rc = run_blocks(&cb, s.split, cfg->num_blocks, x + (size_t)b * x_per,
                            img_prev + (size_t)b * img_per, s.feat2, s.img2,
                            img + (size_t)b * out_per, &xo, &io, err);
        }
    }

    sg2_scratch_close(&s);
    return rc;
}

/* ========================================================================== */
/* 3. Float image -> uint8 (docs/stylegan2.md 4)                              */
/* ========================================================================== */

/* generate.py: (img.permute(0,2,3,1) * 127.5 + 128).clamp(0, 255).to(uint8),
 * two separate float32 operations, then truncation toward zero; NaN gives 0. */
void sg2_to_uint8(const float *img, int n, int c, int h, int w, uint8_t *out) {
    for (int b = 0; b < n; b++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++) {
                    float v = img[(((size_t)b * c + ch) * h + y) * w + x] * 127.5f;
                    v = v + 128.0f;
                    if (!(v > 0.0f)) v = 0.0f;
                    if (v > 255.0f) v = 255.0f;
                    out[(((size_t)b * h + y) * w + x) * c + ch] = (uint8_t)v;
                }
}

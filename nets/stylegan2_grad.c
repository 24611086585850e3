/* stylegan2_grad.c — the generator's reverse pass (stylegan2_grad.h).
 *
 * The forward of stylegan2.c again, but every modulated conv stores its raw
 * sums v (before demodulation) and runs its epilogue as a separate pass, so
 * that the backward can rebuild each layer's activation, its leaky-ReLU and
 * clamp masks and its input from v alone. Per layer (non-fused form, as
 * stylegan2.c modulated_layer(); g = dL/d(layer output)):
 *
 *   s = A w + b,  d_o = (sum_c s_c^2 wsq_oc + eps)^-1/2
 *   v = conv(x * s)       a = v d + noise + bias     out = clamp(lrelu(a) sqrt2)
 *
 *   g_a   = g [|lrelu(a) sqrt2| <= clamp] sqrt2 (a > 0 ? 1 : 0.2)
 *   g_v   = g_a d                   dL/dd_o = sum_p g_a v
 *   u     = conv^T(g_v)             dL/dx_c = s_c u_c
 *   dL/ds_c = sum_p x_c u_c - s_c sum_o dL/dd_o d_o^3 wsq_oc
 *   dL/dw  += A^T dL/ds
 *
 * conv^T is conv2d with the transposed, flipped weight (3x3 same) or
 * conv2d_s2_3x3 with the transposed weight after fir4x4_up_pad2 (the up-conv:
 * FIR after a transposed conv); the skip path's upsampler goes back with
 * downsample2x_fir. Everything elementwise (masks, s u, the sums over p) runs
 * in one pass per feature map (pass_x). docs/gradients-stylegan2.md has the
 * derivation of every line.
 */
#include "stylegan2_grad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "gemm.h"

/* The elementwise passes (the epilogue after each conv, pass_x) are written
 * as selects that gcc turns into vector blends only without
 * -ftrapping-math; the IEEE results are the same (only the floating-point
 * exception flags, which nothing here reads, could differ). */
#pragma GCC optimize("no-trapping-math")

#define SQRT2 1.41421353816986083984375f   /* fl(sqrt(2)), as stylegan2.c */
#define LRELU_SLOPE 0.2f
#define EPS 1e-8f
#define SPLIT_FLOATS ((size_t)1 << 20)      /* stylegan2_plan.c's SG2_SPLIT_FLOATS */
#define TMP_MIN_FLOATS ((size_t)8 << 20)

/* [1,3,3,1]: symmetric, so its mirror (the adjoint's taps) is itself. */
static const float fir_taps[4] = {1.0f, 3.0f, 3.0f, 1.0f};
#define FIR_GAIN (1.0f / 16.0f)

/* ========================================================================== */
/* The tape                                                                   */
/* ========================================================================== */

/* One modulated layer's record. s and d are kept for every sample; v (and
 * random noise) for every sample in phase 1, for one sample in phase 2. */
typedef struct layer_rec {
    float *s;       /* (N, C_in) styles */
    float *d;       /* (N, C_out) demodulation coefficients */
    float *v;       /* (N or 1, C_out, res, res) raw conv sums, before d */
    float *noise;   /* random noise: (N, res, res) in phase 1; in phase 2 set per sample */
} layer_rec_t;

typedef struct rgb_rec {
    float *s;       /* (N, C) styles * weight_gain */
    float *r;       /* (N or 1, C_img, res, res) raw 1x1 sums, before bias and clamp */
} rgb_rec_t;

typedef struct block_rec {
    layer_rec_t c0, c1;
    rgb_rec_t rgb;
    int batched;    /* v, r hold all N samples (phase 1) or one (phase 2) */
    size_t noise_off;   /* phase 2, random noise: offset of c0's map in a sample's noise2 */
} block_rec_t;

#define TAPE_MAX_ALLOCS 160

struct sg2_tape {
    const sg2_net_t *net;
    int n, split;
    sg2_noise_mode_t noise_mode;
    float *ws;                      /* (N, num_ws, w_dim) */
    block_rec_t rec[SG2_MAX_BLOCKS];
    int rec2_sample;                /* the sample phase 2's records hold, -1: none */
    float *noise2;                  /* random noise of phase 2: (N, noise2_per) */
    size_t noise2_per;
    /* adjoint weights when the net has none (sg2_grad_prepare not called) */
    conv_weights_t adj[SG2_MAX_BLOCKS][2];
    float *adj_w[SG2_MAX_BLOCKS][2];
    float *scratch;                 /* shared by the forward and the backward */
    double *sums;                   /* the backward's per-channel sums (bwd_scratch_sizes' doubles) */
    size_t n_sums;
    size_t bytes, fwd_scratch, bwd_scratch;
    conv_ws_t kws;                  /* the kernels' workspace of both passes (tape_kernel_scratch) */
    int threads;                    /* ... sized for up to this many threads */
    void *allocs[TAPE_MAX_ALLOCS];
    int nallocs;
};

static void *tape_alloc(sg2_tape_t *t, size_t floats) {
    if (t->nallocs >= TAPE_MAX_ALLOCS) return NULL;
    void *p = malloc((floats ? floats : 1) * sizeof(float));
    if (!p) return NULL;
    t->allocs[t->nallocs++] = p;
    t->bytes += floats * sizeof(float);
    return p;
}

void sg2_tape_free(sg2_tape_t *t) {
    if (!t) return;
    for (int i = 0; i < t->nallocs; i++) free(t->allocs[i]);
    sal_free_aligned(t->kws.p);
    for (int i = 0; i < SG2_MAX_BLOCKS; i++)
        for (int k = 0; k < 2; k++) {
            conv_weights_free(&t->adj[i][k]);
            free(t->adj_w[i][k]);
        }
    free(t);
}

size_t sg2_tape_bytes(const sg2_tape_t *t) { return t ? t->bytes : 0; }
size_t sg2_tape_scratch_bytes(const sg2_tape_t *t) {
    if (!t) return 0;
    return t->fwd_scratch > t->bwd_scratch ? t->fwd_scratch : t->bwd_scratch;
}

/* The adjoint weight of a layer: conv1 (up=0) W^T flipped for conv2d,
 * conv0 (up=1) W^T for conv2d_s2_3x3. */
static int pack_adjoint(const sg2_layer_t *L, conv_weights_t *cw, float **w, sal_err_t *err) {
    return conv_weights_init_adjoint(cw, w, L->weight, L->c_out, L->c_in, !L->up, err);
}

int sg2_grad_prepare(sg2_net_t *net, sal_err_t *err) {
    for (int i = 0; i < net->cfg.num_blocks; i++) {
        sg2_block_t *B = &net->blocks[i];
        sg2_layer_t *Ls[2] = {i > 0 ? &B->conv0 : NULL, &B->conv1};
        for (int k = 0; k < 2; k++) {
            if (!Ls[k] || Ls[k]->w_adj) continue;
            if (pack_adjoint(Ls[k], &Ls[k]->conv_adj, &Ls[k]->w_adj, err) < 0)
                return sal_err_prefix(err, "%s.conv%d", B->name, k);
        }
    }
    return 0;
}

static const conv_weights_t *adjoint_of(const sg2_tape_t *t, int block, int k) {
    const sg2_block_t *B = &t->net->blocks[block];
    const sg2_layer_t *L = k ? &B->conv1 : &B->conv0;
    return L->w_adj ? &L->conv_adj : &t->adj[block][k];
}

/* The records of block i positioned at sample b (v, r, noise: at b in phase
 * 1, the one stored sample in phase 2). */
static block_rec_t rec_at(const sg2_tape_t *t, int i, int b) {
    const sg2_block_t *B = &t->net->blocks[i];
    block_rec_t r = t->rec[i];
    const size_t plane = (size_t)B->res * B->res, C = (size_t)B->c_out;
    const size_t bv = r.batched ? (size_t)b : 0;
    if (i > 0) {
        r.c0.s += (size_t)b * B->c_in;
        r.c0.d += (size_t)b * C;
        r.c0.v += bv * C * plane;
        if (r.c0.noise) r.c0.noise += bv * plane;
    }
    r.c1.s += (size_t)b * C;
    r.c1.d += (size_t)b * C;
    r.c1.v += bv * C * plane;
    if (r.c1.noise) r.c1.noise += bv * plane;
    r.rgb.s += (size_t)b * C;
    r.rgb.r += bv * (size_t)t->net->cfg.img_channels * plane;
    return r;
}

/* Phase 2 with random noise: point the records at sample b's stored maps. */
static void phase2_noise_at(sg2_tape_t *t, int b) {
    if (t->noise_mode != SG2_NOISE_RANDOM) return;
    const int nb = t->net->cfg.num_blocks;
    for (int i = t->split; i < nb; i++) {
        const size_t plane = (size_t)t->net->blocks[i].res * t->net->blocks[i].res;
        float *base = t->noise2 + (size_t)b * t->noise2_per + t->rec[i].noise_off;
        if (i > 0) { t->rec[i].c0.noise = base; base += plane; }
        t->rec[i].c1.noise = base;
    }
}

/* ========================================================================== */
/* The taped forward                                                          */
/* ========================================================================== */

typedef struct fwd_ctx {
    const sg2_net_t *net;
    const float *ws;        /* (n, num_ws, w_dim) of the samples run */
    int n;
    sg2_noise_mode_t mode;
    rng_np_t *rngs;         /* random noise: one generator per sample; NULL: maps are in the records */
    sg2_hook_fn hook;
    void *hook_user;
    float *wrow;            /* (n, w_dim) */
    float *sq;              /* (n, max C) */
    float *tmp;             /* the transposed conv's output, tmp_floats */
    size_t tmp_floats;
    const conv_ws_t *kws;   /* the kernels' workspace (the tape's) */
    int *failed;            /* set to 1 when a kernel's workspace was too small */
} fwd_ctx_t;

static void report(const fwd_ctx_t *cx, const char *name, const char *what, int ndim,
                   const int64_t *shape, const float *data) {
    if (!cx->hook) return;
    char full[96];
    snprintf(full, sizeof full, "%s.%s", name, what);
    cx->hook(cx->hook_user, full, ndim, shape, data);
}

/* s = ws[:, w_index] A_eff^T + b_A    (n, w_dim) -> (n, C_in)   (stylegan2.c compute_styles) */
static void styles(fwd_ctx_t *cx, const sg2_fc_t *aff, int w_index, float *s) {
    const sg2_config_t *cfg = &cx->net->cfg;
    for (int b = 0; b < cx->n; b++)
        memcpy(cx->wrow + (size_t)b * cfg->w_dim,
               cx->ws + ((size_t)b * cfg->num_ws + w_index) * cfg->w_dim,
               (size_t)cfg->w_dim * sizeof(float));
    gemm_nt(cx->n, aff->out, aff->in, cx->wrow, aff->w_eff, s);
    for (int b = 0; b < cx->n; b++)
        for (int c = 0; c < aff->out; c++) s[(size_t)b * aff->out + c] += aff->b_eff[c];
}

/* The epilogue of a modulated layer for sample b (stylegan2.c layer_epilogue). */
static conv_epilogue_t layer_epilogue(const fwd_ctx_t *cx, const sg2_layer_t *L,
                                      const layer_rec_t *rec, int b) {
    conv_epilogue_t ep = {
        .out_scale = rec->d,
        .noise = cx->mode == SG2_NOISE_CONST    ? L->noise_const
                 : cx->mode == SG2_NOISE_RANDOM ? rec->noise + (size_t)b * L->res * L->res
                                                : NULL,
        .noise_gain = L->noise_strength,
        .bias = L->bias,
        .act = ACT_LRELU,
        .slope = LRELU_SLOPE,
        .gain = SQRT2,
        .clamp = cx->net->cfg.conv_clamp,
    };
    return ep;
}

/* Samples per call of the up-conv's kernels: as many (1..n) as fit a buffer
 * of tmp_floats when one takes `per` (the forward's tmp, the backward's T). */
static int chunk_of(size_t per, size_t tmp_floats, int n) {
    int chunk = (int)(tmp_floats / per);
    if (chunk > n) chunk = n;
    if (chunk < 1) chunk = 1;   // (cannot happen: the buffers hold one sample)
    return chunk;
}

/* One modulated layer: the records s, d, v (and random noise), and
 * out = epilogue(v) -- the same arithmetic as the kernels' fused epilogue. */
static void fwd_layer(fwd_ctx_t *cx, const sg2_layer_t *L, const char *name, int w_index,
                      const float *x, layer_rec_t *rec, float *out) {
    const int n = cx->n, res = L->res, h_in = L->up ? res / 2 : res;
    const size_t plane = (size_t)res * res;
    styles(cx, &L->affine, w_index, rec->s);
    report(cx, name, "affine.out", 2, (int64_t[]){n, L->c_in}, rec->s);
    for (size_t i = 0; i < (size_t)n * L->c_in; i++) cx->sq[i] = rec->s[i] * rec->s[i];
    gemm_nt(n, L->c_out, L->c_in, cx->sq, L->wsq, rec->d);
    for (size_t i = 0; i < (size_t)n * L->c_out; i++) rec->d[i] = 1.0f / sqrtf(rec->d[i] + EPS);
    report(cx, name, "demod", 2, (int64_t[]){n, L->c_out}, rec->d);   // as sg2_synthesis (--trace)

    const conv_epilogue_t prologue = {.in_scale = rec->s};
    if (!L->up) {
        *cx->failed |= conv2d(&L->conv, x, rec->v, n, res, res, &prologue, cx->kws) != 0;
    } else {
        const size_t per = (size_t)L->c_out * (2 * h_in + 1) * (2 * h_in + 1);
        const int chunk = chunk_of(per, cx->tmp_floats, n);
        for (int b0 = 0; b0 < n; b0 += chunk) {
            const int nb = n - b0 < chunk ? n - b0 : chunk;
            *cx->failed |= conv2d_transpose3x3_s2(&L->conv, x + (size_t)b0 * L->c_in * h_in * h_in,
                                   rec->s + (size_t)b0 * L->c_in, cx->tmp, nb, h_in, h_in, cx->kws);
            *cx->failed |= fir4x4_down_pad1(cx->tmp, rec->v + (size_t)b0 * L->c_out * plane, nb, L->c_out,
                             2 * h_in + 1, 2 * h_in + 1, fir_taps, FIR_GAIN, NULL, cx->kws);
        }
    }
    if (cx->mode == SG2_NOISE_RANDOM && cx->rngs)
        for (int b = 0; b < n; b++) {
            float *m = rec->noise + (size_t)b * plane;
            for (size_t i = 0; i < plane; i++) m[i] = (float)rng_np_randn(&cx->rngs[b]);
        }
    // out = clamp(lrelu(v d + noise strength + bias) sqrt2): conv_epilogue_apply's
    // operations in its order, written so that the compiler vectorises them
    // (the same IEEE operations as the kernels' fused epilogue: same bits)
    const float cl = cx->net->cfg.conv_clamp;
    const float lo = cl > 0.0f ? -cl : -INFINITY, hi = cl > 0.0f ? cl : INFINITY;
    #pragma omp parallel for schedule(static) if ((size_t)n * L->c_out * plane > 65536)
    for (long p = 0; p < (long)n * L->c_out; p++) {
        const int b = (int)(p / L->c_out), o = (int)(p % L->c_out);
        const conv_epilogue_t ep = layer_epilogue(cx, L, rec, b);
        const float *v = rec->v + (size_t)p * plane, *nz = ep.noise;
        const float d = rec->d[p], bias = L->bias[o], strength = L->noise_strength;
        float *y = out + (size_t)p * plane;
        if (nz) {
            #pragma omp simd
            for (size_t i = 0; i < plane; i++) {
                float a = v[i] * d;
                a = a + nz[i] * strength;
                a = a + bias;
                const float an = a * LRELU_SLOPE;
                a = (a > 0.0f ? a : an) * SQRT2;
                y[i] = a < lo ? lo : a > hi ? hi : a;
            }
        } else {
            #pragma omp simd
            for (size_t i = 0; i < plane; i++) {
                float a = v[i] * d;
                a = a + bias;
                const float an = a * LRELU_SLOPE;
                a = (a > 0.0f ? a : an) * SQRT2;
                y[i] = a < lo ? lo : a > hi ? hi : a;
            }
        }
    }
    report(cx, name, "out", 4, (int64_t[]){n, L->c_out, res, res}, out);
}

/* ToRGB: records s (with weight_gain) and the raw sums r; img = clamp(r + bias)
 * unless img is NULL (a replay for the backward needs only the records). */
static void fwd_torgb(fwd_ctx_t *cx, const sg2_torgb_t *T, const char *name, int w_index,
                      const float *x, int res, rgb_rec_t *rec, float *img) {
    const int n = cx->n;
    const size_t plane = (size_t)res * res;
    styles(cx, &T->affine, w_index, rec->s);
    report(cx, name, "affine.out", 2, (int64_t[]){n, T->c_in}, rec->s);
    for (size_t i = 0; i < (size_t)n * T->c_in; i++) rec->s[i] = rec->s[i] * T->weight_gain;
    const conv_epilogue_t prologue = {.in_scale = rec->s};
    *cx->failed |= conv2d(&T->conv, x, rec->r, n, res, res, &prologue, cx->kws) != 0;
    if (!img) return;
    const conv_epilogue_t ep = {.bias = T->bias, .act = ACT_LINEAR,
                                .clamp = cx->net->cfg.conv_clamp};
    for (long p = 0; p < (long)n * T->c_out; p++)
        for (size_t i = 0; i < plane; i++)
            img[(size_t)p * plane + i] = conv_epilogue_apply(&ep, rec->r[(size_t)p * plane + i],
                                                             (int)(p / T->c_out), T->c_out,
                                                             (int)(p % T->c_out), NULL);
    report(cx, name, "out", 4, (int64_t[]){n, T->c_out, res, res}, img);
}

/* Blocks i0..i1-1 (stylegan2.c synthesis_block) on cx->n samples whose records are recs[i]
 * (positioned at the first of them). x_in / img_in: block i0-1's features and
 * image. imgbuf NULL: no image (a replay). Returns the last features. */
static const float *fwd_blocks(fwd_ctx_t *cx, block_rec_t *recs, int i0, int i1,
                               const float *x_in, const float *img_in, float *feat[2],
                               float *imgbuf[2], float *img_final) {
    const sg2_net_t *net = cx->net;
    const int n = cx->n, C = net->cfg.img_channels;
    const float *x = x_in, *img_prev = img_in;
    int next = 0;
    for (int i = i0; i < i1; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const int res = B->res;
        char name[64];
        if (i == 0) {
            for (int b = 0; b < n; b++)
                memcpy(feat[next] + (size_t)b * B->c_out * 16, B->const_input,
                       (size_t)B->c_out * 16 * sizeof(float));
        } else {
            snprintf(name, sizeof name, "%s.conv0", B->name);
            fwd_layer(cx, &B->conv0, name, 2 * i - 1, x, &recs[i].c0, feat[next]);
        }
        x = feat[next];
        next ^= 1;
        snprintf(name, sizeof name, "%s.conv1", B->name);
        fwd_layer(cx, &B->conv1, name, 2 * i, x, &recs[i].c1, feat[next]);
        x = feat[next];
        next ^= 1;
        report(cx, B->name, "x", 4, (int64_t[]){n, B->c_out, res, res}, x);
        float *img_new = !imgbuf ? NULL : i == net->cfg.num_blocks - 1 ? img_final : imgbuf[i & 1];
        snprintf(name, sizeof name, "%s.torgb", B->name);
        fwd_torgb(cx, &B->torgb, name, 2 * i + 1, x, res, &recs[i].rgb, img_new);
        if (img_new) {
            if (img_prev)
                *cx->failed |= upsample2x_fir(img_prev, img_new, n * C, res / 2, res / 2, fir_taps, FIR_GAIN, 1,
                                               cx->kws) != 0;
            report(cx, B->name, "img", 4, (int64_t[]){n, C, res, res}, img_new);
        }
        img_prev = img_new;
    }
    return x;
}

/* Per-sample sizes (floats) of a block: largest feature map read or written. */
static size_t block_feat(const sg2_block_t *B, int first) {
    const size_t r = (size_t)B->res, out = (size_t)B->c_out * r * r;
    const size_t in = first ? 0 : (size_t)B->c_in * (r / 2) * (r / 2);
    return in > out ? in : out;
}
static size_t up_tmp(const sg2_block_t *B) {
    const size_t side = (size_t)B->res + 1;   // 2H+1, H = res/2
    return (size_t)B->c_out * side * side;
}

/* The sizes both passes work with (floats). Phase 1 runs n samples, phase 2 one. */
typedef struct grad_plan {
    size_t feat1, feat2, img1, img2, tmp1, tmp2, maxc;
} grad_plan_t;

static grad_plan_t plan_sizes(const sg2_net_t *net, int n, int split) {
    grad_plan_t g = {0, 0, 0, 0, 0, 0, 0};
    const sg2_config_t *cfg = &net->cfg;
    for (int i = 0; i < cfg->num_blocks; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const int p1 = i < split;
        const size_t ns = p1 ? (size_t)n : 1, f = ns * block_feat(B, i == 0);
        const size_t img = ns * cfg->img_channels * B->res * B->res;
        size_t *F = p1 ? &g.feat1 : &g.feat2, *I = p1 ? &g.img1 : &g.img2;
        size_t *T = p1 ? &g.tmp1 : &g.tmp2;
        if (f > *F) *F = f;
        if (img > *I) *I = img;
        if (i > 0 && up_tmp(B) > *T) *T = up_tmp(B);   // per sample
        if ((size_t)B->c_out > g.maxc) g.maxc = (size_t)B->c_out;
        if ((size_t)B->c_in > g.maxc) g.maxc = (size_t)B->c_in;
    }
    return g;
}

/* Buffers are carved from the tape's scratch block at multiples of 16 floats. */
static size_t round16f(size_t floats) { return (floats + 15) & ~(size_t)15; }
static size_t sum_rounded(const size_t *sizes, int count) {
    size_t total = 0;
    for (int k = 0; k < count; k++) total += round16f(sizes[k] ? sizes[k] : 1);
    return total;
}
static void carve(float *base, const size_t *sizes, int count, float **out) {
    for (int k = 0; k < count; k++) {
        out[k] = base;
        base += round16f(sizes[k] ? sizes[k] : 1);
    }
}

/* sg2_synthesis's phases (stylegan2_plan.c): blocks from `split` on run one
 * sample at a time; a hook sees whole batches. */
static int split_of(const sg2_net_t *net, int n, int hooked) {
    const int nb = net->cfg.num_blocks;
    int split = nb;
    if (n > 1 && !hooked)
        for (int i = 1; i < nb && split == nb; i++)
            if (block_feat(&net->blocks[i], 0) > SPLIT_FLOATS) split = i;
    return split;
}

/* Floats of the forward's scratch buffers: feat1 x2, img1 x2, feat2 x2, img2 x2,
 * tmp, wrow, styles^2. */
enum { FWD_NBUF = 11, BWD_NBUF = 14 };
static void fwd_scratch_sizes(const sg2_net_t *net, int n, int split, size_t sizes[FWD_NBUF]) {
    const grad_plan_t g = plan_sizes(net, n, split);
    // the transposed conv's output: one sample, or more of phase 1 up to 32 MiB
    size_t tmp = g.tmp1 > g.tmp2 ? g.tmp1 : g.tmp2;
    if (tmp < TMP_MIN_FLOATS && g.tmp1 * n > tmp)
        tmp = g.tmp1 * n < TMP_MIN_FLOATS ? g.tmp1 * n : TMP_MIN_FLOATS;
    const size_t s[FWD_NBUF] = {g.feat1, g.feat1, g.img1, g.img1, g.feat2, g.feat2, g.img2,
                                g.img2, tmp, (size_t)n * net->cfg.w_dim, (size_t)n * g.maxc};
    memcpy(sizes, s, sizeof s);
}

/* Floats of the backward's scratch: phase 1 A, B, U, T, image gradient x2;
 * phase 2 the same for one sample; replay rows; and the doubles of the sums. */
static void bwd_scratch_sizes(const sg2_net_t *net, int n, int split, size_t sizes[BWD_NBUF],
                              size_t *doubles) {
    const sg2_config_t *cfg = &net->cfg;
    const int nb = cfg->num_blocks;
    const grad_plan_t g = plan_sizes(net, n, split);
    const size_t tmp1 = g.tmp1 * (n < 4 ? (size_t)n : 4);   // T: up to 4 samples at a time
    const size_t top = (size_t)cfg->img_channels * cfg->img_resolution * cfg->img_resolution;
    const size_t gi1 = split == nb ? top * n : g.img1, gi2 = split < nb ? top : 0;
    const size_t s[BWD_NBUF] = {g.feat1, g.feat1, g.feat1, tmp1, gi1, gi1, g.feat2, g.feat2,
                                g.feat2, g.tmp2, gi2, gi2, (size_t)n * cfg->w_dim,
                                (size_t)n * g.maxc};
    memcpy(sizes, s, sizeof s);
    size_t dcount = g.maxc + (size_t)cfg->w_dim;
    for (int i = 0; i < nb; i++)
        dcount += (size_t)n * (net->blocks[i].c_in + 4 * (size_t)net->blocks[i].c_out);
    *doubles = dcount;
}

/* Floats of the tape's records (as sg2_synthesis_forward_tape allocates them). */
static size_t record_floats(const sg2_net_t *net, int n, int split, int random) {
    const sg2_config_t *cfg = &net->cfg;
    size_t f = (size_t)n * cfg->num_ws * cfg->w_dim, noise2 = 0;
    for (int i = 0; i < cfg->num_blocks; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const size_t plane = (size_t)B->res * B->res, nv = i < split ? (size_t)n : 1;
        for (int k = i > 0 ? 0 : 1; k < 2; k++) {
            f += (size_t)n * (k ? B->c_out : B->c_in) + (size_t)n * B->c_out + nv * B->c_out * plane;
            if (random && i < split) f += (size_t)n * plane;
            if (random && i >= split) noise2 += plane;
        }
        f += (size_t)n * B->c_out + nv * cfg->img_channels * plane;
    }
    return f + (size_t)n * noise2;
}

static void grow(size_t *most, size_t v) {
    if (v > *most) *most = v;
}

/* The kernels' workspace (floats, engine/conv.h) of every kernel call of the
 * taped forward (fwd_blocks, replay_sample) and the backward (bwd_block), for
 * up to `threads` threads: block i runs on n samples in phase 1 (i < split),
 * one in phase 2; the up-conv's kernels on chunks of the forward's tmp
 * (fwd_tmp) / the backward's T (bwd_tmp1, phase 2: one sample each). The
 * adjoint convs have the layers' transposed shapes (only shapes are read). */
static size_t tape_kernel_scratch(const sg2_net_t *net, int n, int split, int threads) {
    const sg2_config_t *cfg = &net->cfg;
    const grad_plan_t g = plan_sizes(net, n, split);
    size_t fs[FWD_NBUF], bs[BWD_NBUF], doubles, most = 0;
    fwd_scratch_sizes(net, n, split, fs);
    bwd_scratch_sizes(net, n, split, bs, &doubles);
    const int Ci = cfg->img_channels;
    for (int i = 0; i < cfg->num_blocks; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const int res = B->res, p1 = i < split, ns = p1 ? n : 1;
        const conv_weights_t adj1 = {.c_out = B->conv1.c_in, .c_in = B->conv1.c_out, .k = 3};
        // forward: conv1, ToRGB, conv0 (the up-conv) and the skip upsampler
        grow(&most, conv2d_scratch_floats(&B->conv1.conv, ns, res, res, threads));
        grow(&most, conv2d_scratch_floats(&B->torgb.conv, ns, res, res, threads));
        // backward: conv1's adjoint
        grow(&most, conv2d_scratch_floats(&adj1, ns, res, res, threads));
        if (i == 0) continue;
        const sg2_layer_t *L = &B->conv0;
        const conv_weights_t adj0 = {.c_out = L->c_in, .c_in = L->c_out, .k = 3};
        const int h_in = res / 2;
        grow(&most, upsample2x_fir_scratch_floats(ns * Ci, h_in, h_in, threads));
        grow(&most, downsample2x_fir_scratch_floats(ns * Ci, h_in, h_in, threads));
        if (!L->up) {
            grow(&most, conv2d_scratch_floats(&L->conv, ns, res, res, threads));
            continue;
        }
        const size_t per = up_tmp(B);
        const size_t tmps[2] = {fs[8], p1 ? bs[3] : g.tmp2};   // forward tmp, backward T
        for (int k = 0; k < 2; k++) {
            const int chunk = chunk_of(per, tmps[k], ns);
            const int sizes[2] = {chunk, ns % chunk};   // full chunks and the last one
            for (int q = 0; q < 2; q++) {
                const int nc = sizes[q];
                if (nc == 0) continue;
                if (k == 0) {
                    grow(&most, conv2d_transpose3x3_s2_scratch_floats(&L->conv, nc, h_in, h_in, threads));
                    grow(&most, fir4x4_down_pad1_scratch_floats(nc, L->c_out, res + 1, res + 1, threads));
                } else {
                    grow(&most, fir4x4_up_pad2_scratch_floats(nc * L->c_out, res, res, threads));
                    grow(&most, conv2d_s2_3x3_scratch_floats(&adj0, nc, h_in, h_in, threads));
                }
            }
        }
    }
    // replay_sample: phase 2 forward on one sample with the backward's T2 as tmp
    for (int i = split; i < cfg->num_blocks; i++) {
        const sg2_block_t *B = &net->blocks[i];
        if (i == 0 || !B->conv0.up) continue;
        const int h_in = B->res / 2;
        grow(&most, conv2d_transpose3x3_s2_scratch_floats(&B->conv0.conv, 1, h_in, h_in, threads));
    }
    return most;
}

size_t sg2_grad_peak_bytes(const sg2_net_t *net, int n, sg2_noise_mode_t mode) {
    if (n < 1 || n > SG2_MAX_BATCH) return 0;
    const int split = split_of(net, n, 0);
    size_t fs[FWD_NBUF], bs[BWD_NBUF], doubles, adj = 0;
    fwd_scratch_sizes(net, n, split, fs);
    bwd_scratch_sizes(net, n, split, bs, &doubles);
    const size_t fwd = sum_rounded(fs, FWD_NBUF), bwd = sum_rounded(bs, BWD_NBUF);
    for (int i = 1; i < net->cfg.num_blocks; i++) {   // adjoint weights a tape packs itself
        const sg2_block_t *B = &net->blocks[i];
        if (!B->conv0.w_adj) adj += (size_t)B->c_in * B->c_out * 9 * 2 * sizeof(float);
        if (!B->conv1.w_adj) adj += (size_t)B->c_out * B->c_out * 9 * 2 * sizeof(float);
    }
    const size_t kws = tape_kernel_scratch(net, n, split, threads_get());
    return (record_floats(net, n, split, mode == SG2_NOISE_RANDOM) + (fwd > bwd ? fwd : bwd) +
            kws) * sizeof(float) + doubles * sizeof(double) + adj;
}

static int tape_run(sg2_tape_t *t, const float *ws, const sg2_synthesis_opts_t *opts,
                    float *img);

int sg2_synthesis_forward_tape(const sg2_net_t *net, const float *ws, int n,
                               const sg2_synthesis_opts_t *opts, float *img, sg2_tape_t **tape_out,
                               sal_err_t *err) {
    const sg2_config_t *cfg = &net->cfg;
    const sg2_synthesis_opts_t default_opts = {.noise_mode = SG2_NOISE_CONST};
    *tape_out = NULL;
    if (!opts) opts = &default_opts;
    if (n < 1 || n > SG2_MAX_BATCH) return sal_errf(err, "synthesis: batch size %d out of range", n);
    if (opts->noise_mode < SG2_NOISE_CONST || opts->noise_mode > SG2_NOISE_RANDOM)
        return sal_errf(err, "synthesis: unknown noise mode %d", (int)opts->noise_mode);
    if (opts->noise_mode == SG2_NOISE_RANDOM && !opts->noise_rngs)
        return sal_errf(err, "synthesis: noise mode 'random' needs one generator per sample");
    const int nb = cfg->num_blocks, C = cfg->img_channels;

    sg2_tape_t *t = calloc(1, sizeof *t);
    if (!t) return sal_errf(err, "synthesis: out of memory for the tape");
    t->net = net;
    t->n = n;
    t->noise_mode = opts->noise_mode;
    t->rec2_sample = -1;
    // the phases of sg2_synthesis (stylegan2_plan.c); a hook sees whole batches
    t->split = split_of(net, n, opts->hook != NULL);

    // the records
    const size_t wsz = (size_t)n * cfg->num_ws * cfg->w_dim;
    t->ws = tape_alloc(t, wsz);
    int ok = t->ws != NULL;
    const int random = opts->noise_mode == SG2_NOISE_RANDOM;
    for (int i = 0; i < nb && ok; i++) {
        const sg2_block_t *B = &net->blocks[i];
        block_rec_t *r = &t->rec[i];
        const size_t plane = (size_t)B->res * B->res, C_out = (size_t)B->c_out;
        r->batched = i < t->split;
        const size_t nv = r->batched ? (size_t)n : 1;
        layer_rec_t *Ls[2] = {i > 0 ? &r->c0 : NULL, &r->c1};
        const int cin[2] = {B->c_in, B->c_out};
        for (int k = 0; k < 2 && ok; k++) {
            if (!Ls[k]) continue;
            Ls[k]->s = tape_alloc(t, (size_t)n * cin[k]);
            Ls[k]->d = tape_alloc(t, (size_t)n * C_out);
            Ls[k]->v = tape_alloc(t, nv * C_out * plane);
            ok = Ls[k]->s && Ls[k]->d && Ls[k]->v;
            if (ok && random && r->batched) ok = (Ls[k]->noise = tape_alloc(t, (size_t)n * plane)) != NULL;
        }
        if (ok && random && !r->batched) {
            r->noise_off = t->noise2_per;
            t->noise2_per += (i > 0 ? 2 : 1) * plane;
        }
        if (ok) {
            r->rgb.s = tape_alloc(t, (size_t)n * C_out);
            r->rgb.r = tape_alloc(t, nv * C * plane);
            ok = r->rgb.s && r->rgb.r;
        }
    }
    if (ok && t->noise2_per) ok = (t->noise2 = tape_alloc(t, (size_t)n * t->noise2_per)) != NULL;
    // the adjoint weights, if the net has none
    for (int i = 0; i < nb && ok; i++)
        for (int k = i > 0 ? 0 : 1; k < 2 && ok; k++) {
            const sg2_layer_t *L = k ? &net->blocks[i].conv1 : &net->blocks[i].conv0;
            if (!L->w_adj && pack_adjoint(L, &t->adj[i][k], &t->adj_w[i][k], err) < 0) {
                sg2_tape_free(t);
                return sal_err_prefix(err, "synthesis tape");
            }
        }
    if (!ok) {
        sg2_tape_free(t);
        return sal_errf(err, "synthesis: out of memory for the tape");
    }

    // one scratch block for both passes (so the backward touches no new pages)
    size_t fs[FWD_NBUF], bs[BWD_NBUF], doubles;
    fwd_scratch_sizes(net, n, t->split, fs);
    bwd_scratch_sizes(net, n, t->split, bs, &doubles);
    const size_t fwd = sum_rounded(fs, FWD_NBUF), bwd = sum_rounded(bs, BWD_NBUF);
    t->fwd_scratch = fwd * sizeof(float);
    t->bwd_scratch = bwd * sizeof(float);
    t->scratch = tape_alloc(t, fwd > bwd ? fwd : bwd);
    t->n_sums = doubles;
    t->sums = tape_alloc(t, 2 * doubles); /* doubles, as pairs of floats (malloc aligns for double) */
    // the kernels' workspace, once: the passes never allocate for a kernel
    t->threads = threads_get();
    t->kws.floats = tape_kernel_scratch(net, n, t->split, t->threads);
    t->kws.p = sal_alloc_aligned((t->kws.floats ? t->kws.floats : 1) * sizeof(float), 64);
    t->bytes += t->kws.floats * sizeof(float);
    if (!t->scratch || !t->sums || !t->kws.p) {
        sg2_tape_free(t);
        return sal_errf(err, "synthesis: out of memory for the forward pass");
    }
    *tape_out = t;
    if (tape_run(t, ws, opts, img) < 0)
        return sal_errf(err, "synthesis: kernel workspace too small (a sizing bug)");
    return 0;
}

/* The tape's kernel workspace serves up to t->threads threads. */
static int check_threads(const sg2_tape_t *t, const char *pass, sal_err_t *err) {
    if (threads_get() <= t->threads) return 0;
    return sal_errf(err, "%s: the tape was made for up to %d threads, now %d (make it again)",
                    pass, t->threads, threads_get());
}

/* The taped forward itself, into an allocated tape. */
/* 0, or -1 when a kernel's workspace was too small. */
static int tape_run(sg2_tape_t *t, const float *ws, const sg2_synthesis_opts_t *opts,
                    float *img) {
    const sg2_net_t *net = t->net;
    const sg2_config_t *cfg = &net->cfg;
    const int n = t->n, nb = cfg->num_blocks, C = cfg->img_channels;
    memcpy(t->ws, ws, (size_t)n * cfg->num_ws * cfg->w_dim * sizeof(float));
    t->rec2_sample = -1;
    size_t sizes[FWD_NBUF];
    fwd_scratch_sizes(net, n, t->split, sizes);
    const size_t tmp = sizes[8];
    float *buf[FWD_NBUF];
    carve(t->scratch, sizes, FWD_NBUF, buf);
    const int random = opts->noise_mode == SG2_NOISE_RANDOM;
    int failed = 0;
    float *feat1[2] = {buf[0], buf[1]}, *img1[2] = {buf[2], buf[3]};
    float *feat2[2] = {buf[4], buf[5]}, *img2[2] = {buf[6], buf[7]};
    fwd_ctx_t cx = {.net = net, .ws = ws, .n = n, .mode = opts->noise_mode,
                    .rngs = random ? opts->noise_rngs : NULL, .hook = opts->hook,
                    .hook_user = opts->hook_user, .wrow = buf[9], .sq = buf[10], .tmp = buf[8],
                    .tmp_floats = tmp, .kws = &t->kws, .failed = &failed};

    // phase 1: blocks [0, split) on the whole batch
    block_rec_t recs[SG2_MAX_BLOCKS];
    for (int i = 0; i < nb; i++) recs[i] = rec_at(t, i, 0);
    const float *x = fwd_blocks(&cx, recs, 0, t->split, NULL, NULL, feat1, img1, img);
    // phase 2: one sample at a time; the records keep the last one
    if (t->split < nb) {
        const sg2_block_t *last = &net->blocks[t->split - 1];
        const size_t x_per = (size_t)last->c_out * last->res * last->res;
        const size_t img_per = (size_t)C * last->res * last->res;
        const size_t out_per = (size_t)C * cfg->img_resolution * cfg->img_resolution;
        const float *img_prev = img1[(t->split - 1) & 1];
        for (int b = 0; b < n; b++) {
            fwd_ctx_t cb = cx;
            cb.ws = ws + (size_t)b * cfg->num_ws * cfg->w_dim;
            cb.n = 1;
            if (cx.rngs) cb.rngs = cx.rngs + b;
            phase2_noise_at(t, b);
            for (int i = t->split; i < nb; i++) recs[i] = rec_at(t, i, b);
            fwd_blocks(&cb, recs, t->split, nb, x + (size_t)b * x_per, img_prev + (size_t)b * img_per,
                       feat2, img2, img + (size_t)b * out_per);
        }
        t->rec2_sample = n - 1;
    }
    return failed ? -1 : 0;
}

int sg2_synthesis_forward_retape(const sg2_net_t *net, const float *ws, int n,
                                 const sg2_synthesis_opts_t *opts, float *img, sg2_tape_t *t,
                                 sal_err_t *err) {
    const sg2_synthesis_opts_t default_opts = {.noise_mode = SG2_NOISE_CONST};
    if (!opts) opts = &default_opts;
    if (!t || t->net != net) return sal_errf(err, "synthesis: the tape is from another net");
    if (n != t->n || opts->noise_mode != t->noise_mode || split_of(net, n, opts->hook != NULL) != t->split)
        return sal_errf(err, "synthesis: the tape was made for another batch size or noise mode");
    if (opts->noise_mode == SG2_NOISE_RANDOM && !opts->noise_rngs)
        return sal_errf(err, "synthesis: noise mode 'random' needs one generator per sample");
    if (check_threads(t, "synthesis", err)) return -1;
    if (tape_run(t, ws, opts, img) < 0)
        return sal_errf(err, "synthesis: kernel workspace too small (a sizing bug)");
    return 0;
}

/* ========================================================================== */
/* The backward                                                               */
/* ========================================================================== */

/* One elementwise pass over a feature map x (ns, C, plane) that is the
 * output of a modulated layer L (or the learned constant when L is NULL)
 * and the input of up to two layers: a modulated conv (its adjoint sums u,
 * styles s) and a ToRGB (its gradient g_r (ns, C_img, plane) before the
 * prologue, weights w_rgb (C_img, C), styles s_rgb). Computes
 *   ds[b,c]     += sum_p x u            ds_rgb[b,c] += sum_p x (W_rgb^T g_r)
 *   g_x          = s u + s_rgb (W_rgb^T g_r)                 (dL/dx)
 * and, for L:  g_a = g_x [no clamp] sqrt2 (a > 0 ? 1 : 0.2)
 *              g_v = g_a d   (-> conv^T of L)     dd[b,c] = sum_p g_a v
 * with a, x rebuilt from L's raw sums v exactly as the forward did. */
typedef struct xpass {
    int ns, C;
    size_t plane;
    const sg2_layer_t *L;       /* producer, or NULL */
    layer_rec_t rec;            /* its records at the first sample */
    sg2_noise_mode_t mode;
    float clamp;
    const float *x_const;       /* (C, plane) when L is NULL */
    const float *u, *s;         /* consumer conv: (ns, C, plane), (ns, C) */
    double *ds;
    const float *g_r, *w_rgb, *s_rgb;   /* consumer ToRGB */
    int c_img;
    double *ds_rgb;
    float *g_v;                 /* (ns, C, plane) out, for L */
    double *dd;                 /* (ns, C) out, for L */
} xpass_t;

static void pass_x(const xpass_t *P) {
    const float cl = P->clamp;
    const float lo = cl > 0.0f ? -cl : -INFINITY, hi = cl > 0.0f ? cl : INFINITY;
    #pragma omp parallel for schedule(dynamic, 1) if ((size_t)P->ns * P->C * P->plane > 65536)
    for (long pc = 0; pc < (long)P->ns * P->C; pc++) {
        const int b = (int)(pc / P->C), c = (int)(pc % P->C);
        const size_t plane = P->plane, off = (size_t)pc * plane;
        double ds_u = 0, ds_r = 0, dd = 0;
        if (!P->L) {   // x = the learned constant: only the consumer's sums
            const float *x = P->x_const + (size_t)c * plane, *u = P->u + off;
            for (size_t p = 0; p < plane; p++) ds_u += (double)x[p] * u[p];
            if (P->ds) P->ds[pc] += ds_u;
            continue;
        }
        // Absent inputs read v with a zero weight (adds +-0: no effect on the
        // masks or the sums that are kept).
        const float *v = P->rec.v + off;
        const float d = P->rec.d[pc];
        const float *nz = P->mode == SG2_NOISE_CONST    ? P->L->noise_const
                          : P->mode == SG2_NOISE_RANDOM ? P->rec.noise + (size_t)b * plane
                                                        : v;
        const float strength = P->mode == SG2_NOISE_NONE ? 0.0f : P->L->noise_strength;
        const float bias = P->L->bias[c];
        const float *u = P->u ? P->u + off : v;
        const float s = P->u ? P->s[pc] : 0.0f;
        const float sr = P->g_r ? P->s_rgb[pc] : 0.0f;
        const float *g0 = v, *g1 = v, *g2 = v, *g3 = v;
        float w0 = 0, w1 = 0, w2 = 0, w3 = 0;
        if (P->g_r) {
            const float *gb = P->g_r + (size_t)b * P->c_img * plane;
            const float *wc = P->w_rgb + c;
            g0 = gb; w0 = wc[0];
            if (P->c_img > 1) { g1 = gb + plane; w1 = wc[P->C]; }
            if (P->c_img > 2) { g2 = gb + 2 * plane; w2 = wc[2 * (size_t)P->C]; }
            if (P->c_img > 3) { g3 = gb + 3 * plane; w3 = wc[3 * (size_t)P->C]; }
        }
        float *gv = P->g_v + off;
        #pragma omp simd reduction(+ : ds_u, ds_r, dd)
        for (size_t p = 0; p < plane; p++) {
            float a = v[p] * d;                        // rebuild the forward (same bits)
            a = a + nz[p] * strength;
            a = a + bias;
            const float an = a * LRELU_SLOPE;   // (both sides computed: a select, not a branch)
            const float h = (a > 0.0f ? a : an) * SQRT2;
            const float x = h < lo ? lo : h > hi ? hi : h;
            const float ur = w0 * g0[p] + w1 * g1[p] + w2 * g2[p] + w3 * g3[p];   // W_rgb^T g_r
            const float uu = u[p];
            ds_u += (double)x * uu;
            ds_r += (double)x * ur;
            float g = s * uu + sr * ur;                // dL/dx
            g = h >= lo && h <= hi ? g : 0.0f;         // clamp (torch: inclusive bounds)
            g = g * SQRT2;
            const float gn = g * LRELU_SLOPE;
            g = a > 0.0f ? g : gn;                     // dL/da
            dd += (double)g * v[p];
            gv[p] = g * d;                             // dL/dv
        }
        if (P->ds) P->ds[pc] += ds_u;
        if (P->ds_rgb) P->ds_rgb[pc] += ds_r;
        if (P->dd) P->dd[pc] = dd;
    }
}

/* ds[b,c] += -s[b,c] sum_o dd[b,o] d[b,o]^3 wsq[o,c]: the demodulation's
 * dependence on s (d_o = (sum_c s_c^2 wsq_oc + eps)^-1/2). */
static void add_demod_term(const sg2_layer_t *L, int ns, const float *s, const float *d,
                           const double *dd, double *ds, double *tmp /* (C_in) */) {
    for (int b = 0; b < ns; b++) {
        for (int c = 0; c < L->c_in; c++) tmp[c] = 0;
        for (int o = 0; o < L->c_out; o++) {
            const double dv = d[(size_t)b * L->c_out + o];
            const double t = -dd[(size_t)b * L->c_out + o] * dv * dv * dv;
            const float *wq = L->wsq + (size_t)o * L->c_in;
            for (int c = 0; c < L->c_in; c++) tmp[c] += t * wq[c];
        }
        for (int c = 0; c < L->c_in; c++)
            ds[(size_t)b * L->c_in + c] += s[(size_t)b * L->c_in + c] * tmp[c];
    }
}

/* dws[b, row] += (gain ds[b]) A_eff: the affine layer's adjoint. */
static void add_affine(const sg2_fc_t *aff, const sg2_config_t *cfg, int ns, const double *ds,
                       double gain, int row, float *dws, double *acc /* (w_dim) */) {
    for (int b = 0; b < ns; b++) {
        for (int j = 0; j < cfg->w_dim; j++) acc[j] = 0;
        for (int c = 0; c < aff->out; c++) {
            const double g = ds[(size_t)b * aff->out + c] * gain;
            const float *a = aff->w_eff + (size_t)c * aff->in;
            for (int j = 0; j < cfg->w_dim; j++) acc[j] += g * a[j];
        }
        float *out = dws + ((size_t)b * cfg->num_ws + row) * cfg->w_dim;
        for (int j = 0; j < cfg->w_dim; j++) out[j] += (float)acc[j];
    }
}

/* Per-layer sums of the backward for all N samples (double). */
typedef struct layer_sums {
    double *ds0, *dd0, *ds1, *dd1, *dsr;
} layer_sums_t;

typedef struct bwd_ctx {
    const sg2_net_t *net;
    const sg2_tape_t *tape;
    layer_sums_t sums[SG2_MAX_BLOCKS];
    double *tmp_c, *tmp_w;      /* (max C), (w_dim) */
    float *dws;
    const conv_ws_t *kws;       /* the kernels' workspace (the tape's) */
    int failed;                 /* a kernel's workspace was too small */
} bwd_ctx_t;

/* The backward of block i for ns samples from sample b0.
 *   g_img   (ns, C_img, res, res): dL/d(block i's img); overwritten (ToRGB's g_r)
 *   g_prev  (ns, C_img, res/2, res/2): out, dL/d(block i-1's img) (i > 0)
 *   U       in: the adjoint sums of block i+1's conv0 (ns, C_out, res, res), if i+1 < nb;
 *           out: block i's conv0 adjoint sums (ns, C_in, res/2, res/2) (i > 0)
 *   A, Bf scratch (ns, C_out, res, res); T scratch of t_floats >= C_out (res+1)^2 */
static void bwd_block(bwd_ctx_t *bx, int i, int ns, int b0, float *g_img, float *g_prev,
                      float *U, float *A, float *Bf, float *T, size_t t_floats) {
    const sg2_net_t *net = bx->net;
    const sg2_config_t *cfg = &net->cfg;
    const sg2_tape_t *t = bx->tape;
    const sg2_block_t *B = &net->blocks[i];
    const int res = B->res, C = B->c_out, Ci = cfg->img_channels, nb = cfg->num_blocks;
    const size_t plane = (size_t)res * res;
    const block_rec_t r = rec_at(t, i, b0);
    const float clamp = cfg->conv_clamp;
    layer_sums_t *S = &bx->sums[i];
    float *dws = bx->dws + (size_t)b0 * cfg->num_ws * cfg->w_dim;

    // skip path: img_i = up(img_{i-1}) + torgb  ->  g_prev = up^T(g_img)
    if (i > 0) bx->failed |= downsample2x_fir(g_img, g_prev, ns * Ci, res / 2, res / 2, fir_taps, FIR_GAIN,
                                                bx->kws) != 0;
    // ToRGB's clamp: no gradient where clamp(r + bias) clipped
    if (clamp > 0.0f)
        for (long p = 0; p < (long)ns * Ci; p++) {
            const float bias = B->torgb.bias[p % Ci];
            float *g = g_img + (size_t)p * plane;
            const float *rr = r.rgb.r + (size_t)p * plane;
            for (size_t q = 0; q < plane; q++) {
                const float y = rr[q] + bias;
                if (!(y >= -clamp && y <= clamp)) g[q] = 0.0f;
            }
        }
    // x = conv1's output: its consumers are ToRGB and block i+1's conv0
    const int has_next = i + 1 < nb;
    const block_rec_t rn = has_next ? rec_at(t, i + 1, b0) : r;
    xpass_t P = {.ns = ns, .C = C, .plane = plane, .L = &B->conv1, .rec = r.c1,
                 .mode = t->noise_mode, .clamp = clamp,
                 .u = has_next ? U : NULL, .s = has_next ? rn.c0.s : NULL,
                 .ds = has_next ? bx->sums[i + 1].ds0 + (size_t)b0 * C : NULL,
                 .g_r = g_img, .w_rgb = B->torgb.weight, .s_rgb = r.rgb.s, .c_img = Ci,
                 .ds_rgb = S->dsr + (size_t)b0 * C, .g_v = A, .dd = S->dd1 + (size_t)b0 * C};
    pass_x(&P);
    // block i+1's conv0 and this ToRGB have all their sums now
    if (has_next) {
        const sg2_layer_t *L0 = &net->blocks[i + 1].conv0;
        const layer_sums_t *Sn = &bx->sums[i + 1];
        add_demod_term(L0, ns, rn.c0.s, rn.c0.d, Sn->dd0 + (size_t)b0 * L0->c_out,
                       Sn->ds0 + (size_t)b0 * C, bx->tmp_c);
        add_affine(&L0->affine, cfg, ns, Sn->ds0 + (size_t)b0 * C, 1.0, 2 * i + 1, dws, bx->tmp_w);
    }
    add_affine(&B->torgb.affine, cfg, ns, S->dsr + (size_t)b0 * C, B->torgb.weight_gain, 2 * i + 1,
               dws, bx->tmp_w);

    // conv1: u1 = conv^T(g_v)
    bx->failed |= conv2d(adjoint_of(t, i, 1), A, Bf, ns, res, res, NULL, bx->kws) != 0;
    // x = conv0's output (or the constant): its consumer is conv1
    xpass_t Q = {.ns = ns, .C = C, .plane = plane, .L = i > 0 ? &B->conv0 : NULL, .rec = r.c0,
                 .mode = t->noise_mode, .clamp = clamp, .x_const = B->const_input,
                 .u = Bf, .s = r.c1.s, .ds = S->ds1 + (size_t)b0 * C,
                 .g_v = A, .dd = i > 0 ? S->dd0 + (size_t)b0 * C : NULL};
    pass_x(&Q);
    add_demod_term(&B->conv1, ns, r.c1.s, r.c1.d, S->dd1 + (size_t)b0 * C, S->ds1 + (size_t)b0 * C,
                   bx->tmp_c);
    add_affine(&B->conv1.affine, cfg, ns, S->ds1 + (size_t)b0 * C, 1.0, 2 * i, dws, bx->tmp_w);

    // conv0: v = FIR(convT(x s))  ->  u0 = convT^T(FIR^T(g_v))
    if (i > 0) {
        const size_t per = (size_t)C * (res + 1) * (res + 1);
        const size_t u_per = (size_t)B->c_in * (res / 2) * (res / 2);
        const int chunk = chunk_of(per, t_floats, ns);
        for (int c0 = 0; c0 < ns; c0 += chunk) {
            const int nc = ns - c0 < chunk ? ns - c0 : chunk;
            bx->failed |= fir4x4_up_pad2(A + (size_t)c0 * C * plane, T, nc * C, res, res, fir_taps,
                                         FIR_GAIN, bx->kws) != 0;
            bx->failed |= conv2d_s2_3x3(adjoint_of(t, i, 0), T, U + (size_t)c0 * u_per, nc,
                                        res / 2, res / 2, NULL, bx->kws) != 0;
        }
    }
}

/* Phase 2 for sample b when the records hold another: rerun its blocks. */
static void replay_sample(sg2_tape_t *t, int b, float *x_in, float *feat[2], float *tmp,
                          size_t tmp_floats, float *wrow, float *sq, int *failed) {
    const sg2_net_t *net = t->net;
    const sg2_config_t *cfg = &net->cfg;
    const int sp = t->split;
    // x entering block split = epilogue(conv1 v of block split-1) for sample b
    const sg2_block_t *P = &net->blocks[sp - 1];
    const block_rec_t rp = rec_at(t, sp - 1, b);
    fwd_ctx_t cx = {.net = net, .ws = t->ws + (size_t)b * cfg->num_ws * cfg->w_dim, .n = 1,
                    .mode = t->noise_mode, .wrow = wrow, .sq = sq, .tmp = tmp,
                    .tmp_floats = tmp_floats, .kws = &t->kws, .failed = failed};
    const size_t plane = (size_t)P->res * P->res;
    for (int o = 0; o < P->c_out; o++) {
        const conv_epilogue_t ep = layer_epilogue(&cx, &P->conv1, &rp.c1, 0);
        for (size_t q = 0; q < plane; q++)
            x_in[(size_t)o * plane + q] = conv_epilogue_apply(
                &ep, rp.c1.v[(size_t)o * plane + q], 0, P->c_out, o, ep.noise ? ep.noise + q : NULL);
    }
    phase2_noise_at(t, b);
    block_rec_t recs[SG2_MAX_BLOCKS];
    for (int i = sp; i < cfg->num_blocks; i++) recs[i] = rec_at(t, i, b);
    fwd_blocks(&cx, recs, sp, cfg->num_blocks, x_in, NULL, feat, NULL, NULL);
    t->rec2_sample = b;
}

int sg2_synthesis_backward(const sg2_net_t *net, sg2_tape_t *t, const float *dimg, float *dws,
                           sal_err_t *err) {
    if (!t || t->net != net) return sal_errf(err, "synthesis backward: the tape is from another net");
    const sg2_config_t *cfg = &net->cfg;
    const int n = t->n, nb = cfg->num_blocks, sp = t->split, Ci = cfg->img_channels;
    const grad_plan_t g = plan_sizes(net, n, sp);
    const size_t top = (size_t)Ci * cfg->img_resolution * cfg->img_resolution;
    size_t sizes[BWD_NBUF], dcount;
    bwd_scratch_sizes(net, n, sp, sizes, &dcount);
    const size_t tmp1 = sizes[3];
    float *buf[BWD_NBUF];
    carve(t->scratch, sizes, BWD_NBUF, buf);
    if (check_threads(t, "synthesis backward", err)) return -1;
    bwd_ctx_t bx = {.net = net, .tape = t, .dws = dws, .kws = &t->kws};
    if (dcount > t->n_sums) return sal_errf(err, "synthesis backward: the tape's sums are too small (a sizing bug)");
    memset(t->sums, 0, dcount * sizeof(double));
    double *dp = t->sums;
    bx.tmp_c = dp; dp += g.maxc;
    bx.tmp_w = dp; dp += cfg->w_dim;
    for (int i = 0; i < nb; i++) {
        const sg2_block_t *B = &net->blocks[i];
        layer_sums_t *S = &bx.sums[i];
        S->ds0 = dp; dp += (size_t)n * B->c_in;
        S->dd0 = dp; dp += (size_t)n * B->c_out;
        S->ds1 = dp; dp += (size_t)n * B->c_out;
        S->dd1 = dp; dp += (size_t)n * B->c_out;
        S->dsr = dp; dp += (size_t)n * B->c_out;
    }
    memset(dws, 0, (size_t)n * cfg->num_ws * cfg->w_dim * sizeof(float));
    float *A1 = buf[0], *B1 = buf[1], *U1 = buf[2], *T1 = buf[3], *G1[2] = {buf[4], buf[5]};
    float *A2 = buf[6], *B2 = buf[7], *U2 = buf[8], *T2 = buf[9], *G2[2] = {buf[10], buf[11]};

    // phase 2: sample by sample from the top, down to block split; its results
    // for block split-1 (U and the image gradient) land in the phase-1 buffers
    if (sp < nb) {
        const size_t gimg_per = (size_t)Ci * net->blocks[sp - 1].res * net->blocks[sp - 1].res;
        const size_t u_per = (size_t)net->blocks[sp].c_in * net->blocks[sp - 1].res *
                             net->blocks[sp - 1].res;
        for (int b = n - 1; b >= 0; b--) {
            if (t->rec2_sample != b)
                replay_sample(t, b, U2, (float *[2]){A2, B2}, T2, g.tmp2, buf[12], buf[13], &bx.failed);
            int cur = 0;
            memcpy(G2[cur], dimg + (size_t)b * top, top * sizeof(float));
            for (int i = nb - 1; i >= sp; i--) {
                float *gprev = i == sp ? G1[(sp - 1) & 1] + (size_t)b * gimg_per : G2[cur ^ 1];
                bwd_block(&bx, i, 1, b, G2[cur], gprev, U2, A2, B2, T2, g.tmp2);
                cur ^= 1;
            }
            memcpy(U1 + (size_t)b * u_per, U2, u_per * sizeof(float));
        }
    } else {
        memcpy(G1[(nb - 1) & 1], dimg, top * n * sizeof(float));
    }
    // phase 1: the whole batch, blocks split-1 .. 0
    for (int i = sp - 1; i >= 0; i--)
        bwd_block(&bx, i, n, 0, G1[i & 1], G1[(i - 1) & 1], U1, A1, B1, T1, tmp1);

    if (bx.failed) return sal_errf(err, "synthesis backward: kernel workspace too small (a sizing bug)");
    return 0;
}

/* ========================================================================== */
/* The mapping network and truncation                                         */
/* ========================================================================== */

/* Forward (as sg2_mapping, float32, keeping every pre-activation), then in
 * double:  g_w = sum_r (row r truncated ? psi : 1) dws[r]
 *          g_pre = g_y sqrt2 (pre > 0 ? 1 : 0.2),  g_x = g_pre W_eff   (per fc)
 *          x = z r, r = (mean z^2 + eps)^-1/2:
 *          g_z = r g_x - z r^3 <g_x, z> / z_dim */
int sg2_mapping_backward(const sg2_net_t *net, const float *z, int n, float psi, int cutoff,
                         const float *dws, float *dz, float *dw, sal_err_t *err) {
    const sg2_config_t *cfg = &net->cfg;
    if (n < 1 || n > SG2_MAX_BATCH) return sal_errf(err, "mapping backward: batch size %d out of range", n);
    const int L = cfg->mapping_layers;
    int max_f = 0;
    for (int i = 0; i <= L; i++)
        if (cfg->mapping_features[i] > max_f) max_f = cfg->mapping_features[i];
    // acts[l]: input of fc l (n, features[l]); pre[l]: its pre-activation (n, features[l+1])
    size_t need = 0;
    for (int l = 0; l < L; l++) need += (size_t)n * (cfg->mapping_features[l] + cfg->mapping_features[l + 1]);
    float *mem = malloc(need * sizeof(float));
    double *g = malloc((size_t)2 * max_f * sizeof(double));
    if (!mem || !g) {
        free(mem);
        free(g);
        return sal_errf(err, "mapping backward: out of memory");
    }
    float *acts[SG2_MAX_MAPPING_LAYERS], *pre[SG2_MAX_MAPPING_LAYERS];
    float *p = mem;
    for (int l = 0; l < L; l++) {
        acts[l] = p; p += (size_t)n * cfg->mapping_features[l];
        pre[l] = p; p += (size_t)n * cfg->mapping_features[l + 1];
    }
    // forward: normalize_2nd_moment, then the layers (the same float ops as sg2_mapping)
    for (int s = 0; s < n; s++) {
        const float *zs = z + (size_t)s * cfg->z_dim;
        float sum = 0.0f;
        for (int j = 0; j < cfg->z_dim; j++) sum += zs[j] * zs[j];
        const float scale = 1.0f / sqrtf(sum / (float)cfg->z_dim + EPS);
        for (int j = 0; j < cfg->z_dim; j++) acts[0][(size_t)s * cfg->z_dim + j] = zs[j] * scale;
    }
    for (int l = 0; l < L; l++) {
        const sg2_fc_t *fc = &net->mapping[l];
        gemm_nt(n, fc->out, fc->in, acts[l], fc->w_eff, pre[l]);
        for (int s = 0; s < n; s++)
            for (int o = 0; o < fc->out; o++) {
                float *v = &pre[l][(size_t)s * fc->out + o];
                *v = *v + fc->b_eff[o];
                if (l + 1 < L) {
                    const float a = *v > 0.0f ? *v : *v * LRELU_SLOPE;
                    acts[l + 1][(size_t)s * fc->out + o] = a * SQRT2;
                }
            }
    }
    const int rows = psi == 1.0f ? 0 : cutoff < 0 || cutoff > cfg->num_ws ? cfg->num_ws : cutoff;
    for (int s = 0; s < n; s++) {
        double *gy = g, *gx = g + max_f;
        // truncation: ws[r] = lerp(w_avg, w, psi) for r < rows, else w
        for (int j = 0; j < cfg->w_dim; j++) {
            double acc = 0;
            for (int r = 0; r < cfg->num_ws; r++)
                acc += (r < rows ? (double)psi : 1.0) *
                       dws[((size_t)s * cfg->num_ws + r) * cfg->w_dim + j];
            gy[j] = acc;
        }
        if (dw)
            for (int j = 0; j < cfg->w_dim; j++) dw[(size_t)s * cfg->w_dim + j] = (float)gy[j];
        if (!dz) continue;
        for (int l = L - 1; l >= 0; l--) {
            const sg2_fc_t *fc = &net->mapping[l];
            for (int o = 0; o < fc->out; o++)
                gy[o] *= (double)SQRT2 * (pre[l][(size_t)s * fc->out + o] > 0.0f ? 1.0 : (double)LRELU_SLOPE);
            for (int i = 0; i < fc->in; i++) gx[i] = 0;
            for (int o = 0; o < fc->out; o++) {
                const float *wrow = fc->w_eff + (size_t)o * fc->in;
                for (int i = 0; i < fc->in; i++) gx[i] += gy[o] * wrow[i];
            }
            double *tswap = gy; gy = gx; gx = tswap;
        }
        // normalize_2nd_moment
        const float *zs = z + (size_t)s * cfg->z_dim;
        double m = 0, gz_dot = 0;
        for (int j = 0; j < cfg->z_dim; j++) {
            m += (double)zs[j] * zs[j];
            gz_dot += gy[j] * zs[j];
        }
        const double rr = 1.0 / sqrt(m / cfg->z_dim + (double)EPS);
        for (int j = 0; j < cfg->z_dim; j++)
            dz[(size_t)s * cfg->z_dim + j] =
                (float)(rr * gy[j] - zs[j] * rr * rr * rr * gz_dot / cfg->z_dim);
    }
    free(mem);
    free(g);
    return 0;
}

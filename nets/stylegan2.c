/* stylegan2.c — the StyleGAN2-ADA generator, written to be read top to bottom.
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
 * 2x-upsampled image of the previous block (the "skip" architecture).
 *
 * Every equation below is in docs/stylegan2.md (numbers in parentheses: the
 * sections of NVIDIA-derived notes the tests use): what
 * NVIDIA's stylegan2-ada-pytorch computes in eval mode in float32. Shapes are
 * written (N, C, H, W) with N the batch. The kernels (conv, transposed conv,
 * FIR filters, GEMM) live in engine/; this file only decides what to call.
 *
 * Contents:
 *   1. loading: config from the blob, weights, what is prepared once
 *   2. seeds -> z, the mapping network, truncation
 *   3. the synthesis network: scratch memory, a modulated layer, ToRGB,
 *      a block, the whole pass
 *   4. float -> uint8
 */
#include "stylegan2.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"

/* Constants as the official code applies them in float32 (docs/stylegan2.md, "Constants"). */
#define SG2_SQRT2 1.41421353816986083984375f   /* fl(sqrt(2)): lrelu's gain */
#define SG2_LRELU_SLOPE 0.2f
#define SG2_EPS 1e-8f                          /* in normalize_2nd_moment and demod */

/* The resample filter f = [1, 3, 3, 1]: every 2x upsampling (the up-conv of
 * 2.5 and the skip path of 2.7) filters with F[a,b] = 4 f[a] f[b] / 64, i.e.
 * F = f f^T * (1/16); the 4 is the up^2 gain that zero-stuffing needs. */
static const float sg2_fir_taps[4] = {1.0f, 3.0f, 3.0f, 1.0f};
#define SG2_FIR_GAIN (1.0f / 16.0f)

/* ========================================================================== */
/* 1. Loading                                                                 */
/* ========================================================================== */

/* Looks up a float32 tensor of the given shape by a printf-style name. */
static int get_tensor(const blob_t *b, sal_err_t *err, const float **out, int ndim,
                      const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int get_tensor(const blob_t *b, sal_err_t *err, const float **out, int ndim,
                      const int64_t *shape, const char *fmt, ...) {
    char name[BLOB_MAX_NAME + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return blob_get_f32(b, name, ndim, shape, out, err);
}

/* Dimension `dim` of a tensor we only know the rank of (used to discover the
 * channel counts; the full shape is checked afterwards by get_tensor). */
static int tensor_dim(const blob_t *b, const char *name, int ndim, int dim, int *out,
                      sal_err_t *err) {
    const blob_tensor_t *t = blob_tensor_find(b, name);
    if (!t) return sal_errf(err, "%s: missing tensor '%s'", blob_path(b), name);
    if (t->t.ndim != ndim || t->t.shape[dim] <= 0 || t->t.shape[dim] > (1 << 16))
        return sal_errf(err, "%s: tensor '%s' has an unexpected shape", blob_path(b), name);
    *out = (int)t->t.shape[dim];
    return 0;
}

static int meta_int(const blob_t *b, const char *key, int lo, int hi, int *out, sal_err_t *err) {
    int64_t v;
    if (blob_get_int(b, key, &v, err) < 0) return -1;
    if (v < lo || v > hi)
        return sal_errf(err, "%s: metadata %s = %lld is out of range [%d, %d]", blob_path(b), key,
                        (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

/* Reads the configuration: metadata first, then the channel count of every
 * block from the tensor shapes (so no channel_base/channel_max is needed). */
static int load_config(const blob_t *b, sg2_config_t *cfg, sal_err_t *err) {
    const char *path = blob_path(b), *s;
    memset(cfg, 0, sizeof *cfg);
    if (blob_get_str(b, "arch", &s, err) < 0) return -1;
    if (strcmp(s, "stylegan2-ada") != 0)
        return sal_errf(err, "%s: not a StyleGAN2-ADA generator (arch '%s')", path, s);
    if (blob_get_str(b, "architecture", &s, err) < 0) return -1;
    if (strcmp(s, "skip") != 0)
        return sal_errf(err, "%s: synthesis architecture '%s' is not supported (only 'skip')",
                        path, s);
    if (meta_int(b, "c_dim", 0, 1 << 20, &cfg->c_dim, err) < 0) return -1;
    if (cfg->c_dim != 0)
        return sal_errf(err, "%s: conditional generators (c_dim = %d) are not supported", path,
                        cfg->c_dim);
    if (meta_int(b, "z_dim", 1, 1 << 16, &cfg->z_dim, err) < 0 ||
        meta_int(b, "w_dim", 1, 1 << 16, &cfg->w_dim, err) < 0 ||
        meta_int(b, "num_ws", 2, 64, &cfg->num_ws, err) < 0 ||
        meta_int(b, "img_resolution", 4, 1 << 13, &cfg->img_resolution, err) < 0 ||
        meta_int(b, "img_channels", 1, 4, &cfg->img_channels, err) < 0 ||
        meta_int(b, "mapping_layers", 1, SG2_MAX_MAPPING_LAYERS, &cfg->mapping_layers, err) < 0)
        return -1;
    double lr, clamp;
    if (blob_get_float(b, "mapping_lr_multiplier", &lr, err) < 0) return -1;
    if (blob_get_float(b, "conv_clamp", &clamp, err) < 0) return -1;
    if (!(lr > 0 && lr < 1e6)) return sal_errf(err, "%s: bad mapping_lr_multiplier %g", path, lr);
    if (!(clamp >= 0 && clamp < 1e30)) return sal_errf(err, "%s: bad conv_clamp %g", path, clamp);
    cfg->mapping_lr_multiplier = lr;
    cfg->conv_clamp = (float)clamp;

    // Blocks at 4, 8, ..., R; num_ws = 2 log2(R) - 2 (docs/stylegan2.md 3).
    int r = cfg->img_resolution, log2r = 0;
    while ((1 << log2r) < r) log2r++;
    if ((1 << log2r) != r) return sal_errf(err, "%s: img_resolution %d is not a power of 2", path, r);
    cfg->num_blocks = log2r - 1;
    if (cfg->num_ws != 2 * log2r - 2)
        return sal_errf(err, "%s: num_ws = %d, expected %d for resolution %d", path, cfg->num_ws,
                        2 * log2r - 2, r);
    char name[BLOB_MAX_NAME + 1];
    for (int i = 0; i < cfg->num_blocks; i++) {
        int res = 4 << i;
        cfg->block_res[i] = res;
        snprintf(name, sizeof name, "synthesis.b%d.conv1.weight", res);
        if (tensor_dim(b, name, 4, 0, &cfg->block_cout[i], err) < 0) return -1;
        cfg->block_cin[i] = i == 0 ? 0 : cfg->block_cout[i - 1];
    }
    // Mapping: fc i maps features[i] -> features[i+1]; fc0 takes z, the last gives w.
    cfg->mapping_features[0] = cfg->z_dim;
    for (int i = 0; i < cfg->mapping_layers; i++) {
        snprintf(name, sizeof name, "mapping.fc%d.weight", i);
        if (tensor_dim(b, name, 2, 0, &cfg->mapping_features[i + 1], err) < 0) return -1;
    }
    if (cfg->mapping_features[cfg->mapping_layers] != cfg->w_dim)
        return sal_errf(err, "%s: the last mapping layer gives %d features, w_dim is %d", path,
                        cfg->mapping_features[cfg->mapping_layers], cfg->w_dim);
    return 0;
}

static void fc_free(sg2_fc_t *fc) {
    free(fc->w_eff);
    free(fc->b_eff);
    fc->w_eff = fc->b_eff = NULL;
}

/* A FullyConnectedLayer "<prefix>.weight" (out, in), "<prefix>.bias" (out).
 * torch computes W * weight_gain and b * bias_gain at every call, in float32
 * with the (float64) gains first rounded to float32; we do it once here:
 *   W_eff = fl(W * fl(weight_gain)),  weight_gain = lr / sqrt(in)
 *   b_eff = fl(b * fl(bias_gain)),    bias_gain = lr            */
static int load_fc(const blob_t *b, const char *prefix, int in, int out, double lr,
                   sg2_fc_t *fc, sal_err_t *err) {
    memset(fc, 0, sizeof *fc);
    fc->in = in;
    fc->out = out;
    if (get_tensor(b, err, &fc->weight, 2, (int64_t[]){out, in}, "%s.weight", prefix) < 0 ||
        get_tensor(b, err, &fc->bias, 1, (int64_t[]){out}, "%s.bias", prefix) < 0)
        return -1;
    fc->w_eff = malloc((size_t)out * in * sizeof(float));
    fc->b_eff = malloc((size_t)out * sizeof(float));
    if (!fc->w_eff || !fc->b_eff) return sal_errf(err, "%s: out of memory", prefix);
    const float weight_gain = (float)(lr / sqrt((double)in));
    const float bias_gain = (float)lr;
    for (size_t i = 0; i < (size_t)out * in; i++) fc->w_eff[i] = fc->weight[i] * weight_gain;
    for (int o = 0; o < out; o++) fc->b_eff[o] = fc->bias[o] * bias_gain;
    return 0;
}

/* The resample filters are stored as buffers; every official network holds
 * the standard f f^T / 64 with f = [1,3,3,1], which we hard-code (2.9). Refuse
 * anything else rather than compute something different. */
static int check_resample_filter(const blob_t *b, const char *prefix, sal_err_t *err) {
    const float *rf;
    if (get_tensor(b, err, &rf, 2, (int64_t[]){4, 4}, "%s.resample_filter", prefix) < 0) return -1;
    for (int a = 0; a < 4; a++)
        for (int c = 0; c < 4; c++)
            if (fabsf(rf[a * 4 + c] - sg2_fir_taps[a] * sg2_fir_taps[c] / 64.0f) > 1e-7f)
                return sal_errf(err, "%s: %s.resample_filter is not the standard [1,3,3,1] filter",
                                blob_path(b), prefix);
    return 0;
}

/* A SynthesisLayer "<prefix>": affine, weight, bias, noise_const, noise_strength. */
static int load_layer(const blob_t *b, const char *prefix, int c_in, int c_out, int res, int up,
                      int w_dim, sg2_layer_t *L, sal_err_t *err) {
    memset(L, 0, sizeof *L);
    L->c_in = c_in;
    L->c_out = c_out;
    L->res = res;
    L->up = up;
    char name[BLOB_MAX_NAME + 1];
    snprintf(name, sizeof name, "%s.affine", prefix);
    const float *strength;
    if (load_fc(b, name, w_dim, c_in, 1.0, &L->affine, err) < 0 ||
        get_tensor(b, err, &L->weight, 4, (int64_t[]){c_out, c_in, 3, 3}, "%s.weight", prefix) < 0 ||
        get_tensor(b, err, &L->bias, 1, (int64_t[]){c_out}, "%s.bias", prefix) < 0 ||
        get_tensor(b, err, &L->noise_const, 2, (int64_t[]){res, res}, "%s.noise_const", prefix) < 0 ||
        get_tensor(b, err, &strength, 0, NULL, "%s.noise_strength", prefix) < 0 ||
        check_resample_filter(b, prefix, err) < 0)
        return -1;
    L->noise_strength = *strength;
    if (conv_weights_init(&L->conv, L->weight, c_out, c_in, 3, err) < 0)
        return sal_err_prefix(err, "%s", prefix);
    // For demodulation (2.3 step 3) per sample n:
    //   sum_{c,ky,kx} (W[o,c,ky,kx] s[n,c])^2 = sum_c s[n,c]^2 * wsq[o,c]
    // with wsq[o,c] = sum_{ky,kx} W[o,c,ky,kx]^2, so d for a whole batch is one GEMM.
    L->wsq = malloc((size_t)c_out * c_in * sizeof(float));
    if (!L->wsq) return sal_errf(err, "%s: out of memory", prefix);
    for (size_t oc = 0; oc < (size_t)c_out * c_in; oc++) {
        double acc = 0;
        for (int k = 0; k < 9; k++) acc += (double)L->weight[oc * 9 + k] * L->weight[oc * 9 + k];
        L->wsq[oc] = (float)acc;
    }
    return 0;
}

static void layer_free(sg2_layer_t *L) {
    fc_free(&L->affine);
    conv_weights_free(&L->conv);
    free(L->wsq);
    L->wsq = NULL;
    conv_weights_free(&L->conv_adj);
    free(L->w_adj);
    L->w_adj = NULL;
}

/* A ToRGBLayer "<prefix>": affine, weight (C_img, c_in, 1, 1), bias. */
static int load_torgb(const blob_t *b, const char *prefix, int c_in, int c_img, int w_dim,
                      sg2_torgb_t *T, sal_err_t *err) {
    memset(T, 0, sizeof *T);
    T->c_in = c_in;
    T->c_out = c_img;
    char name[BLOB_MAX_NAME + 1];
    snprintf(name, sizeof name, "%s.affine", prefix);
    if (load_fc(b, name, w_dim, c_in, 1.0, &T->affine, err) < 0 ||
        get_tensor(b, err, &T->weight, 4, (int64_t[]){c_img, c_in, 1, 1}, "%s.weight", prefix) < 0 ||
        get_tensor(b, err, &T->bias, 1, (int64_t[]){c_img}, "%s.bias", prefix) < 0)
        return -1;
    T->weight_gain = (float)(1.0 / sqrt((double)c_in));
    if (conv_weights_init(&T->conv, T->weight, c_img, c_in, 1, err) < 0)
        return sal_err_prefix(err, "%s", prefix);
    return 0;
}

static void torgb_free(sg2_torgb_t *T) {
    fc_free(&T->affine);
    conv_weights_free(&T->conv);
}

int sg2_load(sg2_net_t **out, const blob_t *b, sal_err_t *err) {
    *out = NULL;
    sg2_net_t *net = calloc(1, sizeof *net);
    if (!net) return sal_errf(err, "%s: out of memory", blob_path(b));
    sg2_config_t *cfg = &net->cfg;
    if (load_config(b, cfg, err) < 0) goto fail;

    // Mapping: mapping.fc0 .. fc{L-1} with the lr multiplier, and w_avg (w_dim).
    if (get_tensor(b, err, &net->w_avg, 1, (int64_t[]){cfg->w_dim}, "mapping.w_avg") < 0)
        goto fail;
    for (int i = 0; i < cfg->mapping_layers; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "mapping.fc%d", i);
        if (load_fc(b, prefix, cfg->mapping_features[i], cfg->mapping_features[i + 1],
                    cfg->mapping_lr_multiplier, &net->mapping[i], err) < 0)
            goto fail;
    }

    // Synthesis blocks.
    for (int i = 0; i < cfg->num_blocks; i++) {
        sg2_block_t *B = &net->blocks[i];
        B->res = cfg->block_res[i];
        B->c_in = cfg->block_cin[i];
        B->c_out = cfg->block_cout[i];
        snprintf(B->name, sizeof B->name, "synthesis.b%d", B->res);
        char prefix[64];
        if (check_resample_filter(b, B->name, err) < 0) goto fail;
        if (i == 0) {
            if (get_tensor(b, err, &B->const_input, 3, (int64_t[]){B->c_out, 4, 4}, "%s.const",
                           B->name) < 0)
                goto fail;
        } else {
            snprintf(prefix, sizeof prefix, "%s.conv0", B->name);
            if (load_layer(b, prefix, B->c_in, B->c_out, B->res, 1, cfg->w_dim, &B->conv0, err) < 0)
                goto fail;
        }
        snprintf(prefix, sizeof prefix, "%s.conv1", B->name);
        if (load_layer(b, prefix, B->c_out, B->c_out, B->res, 0, cfg->w_dim, &B->conv1, err) < 0)
            goto fail;
        snprintf(prefix, sizeof prefix, "%s.torgb", B->name);
        if (load_torgb(b, prefix, B->c_out, cfg->img_channels, cfg->w_dim, &B->torgb, err) < 0)
            goto fail;
    }
    *out = net;
    return 0;
fail:
    sg2_free(net);
    return -1;
}

int sg2_enable_fast(sg2_net_t *net, sal_err_t *err) {
    // fast mode: Winograd weights for the stride-1 3x3 convs (conv1 of every block;
    // below 32x32 conv2d stays direct anyway, so those are not transformed) and
    // for the transposed convs (conv0) with inputs of 32x32 and more and at
    // least 32 output channels (below 32x32 the kernel falls back by itself;
    // with fewer channels the transforms would cost what the products save --
    // at 1024 px, 64 -> 32 channels, Winograd still wins ~10%)
    for (int i = 0; i < net->cfg.num_blocks; i++) {
        sg2_block_t *B = &net->blocks[i];
        if (B->res >= 32 && conv_weights_make_fast(&B->conv1.conv, err) < 0)
            return sal_err_prefix(err, "%s.conv1", B->name);
        if (i > 0 && B->res >= 64 && B->c_out >= 32 &&
            conv_weights_make_fast_transposed(&B->conv0.conv, err) < 0)
            return sal_err_prefix(err, "%s.conv0", B->name);
    }
    return 0;
}

void sg2_free(sg2_net_t *net) {
    if (!net) return;
    for (int i = 0; i < SG2_MAX_MAPPING_LAYERS; i++) fc_free(&net->mapping[i]);
    for (int i = 0; i < SG2_MAX_BLOCKS; i++) {
        layer_free(&net->blocks[i].conv0);
        layer_free(&net->blocks[i].conv1);
        torgb_free(&net->blocks[i].torgb);
    }
    free(net);
}

/* ========================================================================== */
/* 2. Seeds, the mapping network, truncation                                  */
/* ========================================================================== */

/* generate.py: z = np.random.RandomState(seed).randn(1, z_dim), float64; the
 * mapping network casts it to float32 first. */
void sg2_z_from_seed(uint32_t seed, int z_dim, float *z, rng_np_t *rng) {
    rng_np_t local;
    if (!rng) rng = &local;
    rng_np_seed(rng, seed);
    for (int j = 0; j < z_dim; j++) z[j] = (float)rng_np_randn(rng);
}

/* torch.lerp(w_avg, ws, psi) as torch's CPU kernel computes it (2.1): with
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

/* Mapping network (2.1), for the batch at once:
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
/* 3. The synthesis network                                                   */
/* ========================================================================== */

/* 3.1 The plan of a pass and its scratch memory.
 *
 * A batch shares the packed weights, so its low-resolution blocks run on all
 * N samples at once. From the first block whose per-sample feature map
 * exceeds SG2_SPLIT_FLOATS on, the batch no longer fits the caches between
 * two layers and nothing is shared that a single sample would not use as
 * well: those blocks run sample by sample (the kernels give every sample the
 * same bits either way). So a pass has two phases:
 *   phase 1: blocks [0, split) on all N samples
 *   phase 2: blocks [split, num_blocks) on one sample at a time
 * (split = num_blocks for N = 1, and when a hook wants whole-batch tensors.)
 *
 * Scratch, in floats:
 *   feat1[2]  phase 1's two ping-pong feature maps (N, C, H, W), sized for
 *             its largest layer; feat2[2] the same for one sample in phase 2
 *   img1[2], img2[2]  the RGB skip images of the two phases below R
 *             (the last block writes into the caller's output)
 *   tmp       the (2H+1)^2 output of the transposed conv before its FIR, for a
 *             chunk of samples
 *   vec       styles, styles^2, demodulation coefficients (N, C); wrow one
 *             row of ws (N, w_dim)
 *   noise     random noise maps (N, H, H) of one layer
 * The up-conv runs in chunks of samples so that tmp stays near the size one
 * sample needs at the top resolution (at R=1024 it is 32 x 1025^2 floats). */
typedef struct synth_sizes {
    int split;
    size_t feat1, img1, feat2, img2, tmp, vec, wrow, noise;   /* in floats */
} synth_sizes_t;

#define SG2_TMP_MIN_FLOATS ((size_t)8 << 20)   /* 32 MiB: lets small nets run whole batches */
#define SG2_SPLIT_FLOATS ((size_t)1 << 20)     /* 4 MiB per sample: phase 2 from here on */

static size_t up_tmp_per_sample(const sg2_layer_t *L) {
    const size_t side = 2 * (size_t)(L->res / 2) + 1;   // (2H+1), H = res/2
    return (size_t)L->c_out * side * side;
}

/* Largest per-sample feature map a block reads or writes. */
static size_t block_feat(const sg2_block_t *B, int first) {
    const size_t r = (size_t)B->res, out = (size_t)B->c_out * r * r;
    const size_t in = first ? 0 : (size_t)B->c_in * (r / 2) * (r / 2);
    return in > out ? in : out;
}

static synth_sizes_t synth_sizes(const sg2_net_t *net, int n, int batched) {
    const sg2_config_t *cfg = &net->cfg;
    const int nb = cfg->num_blocks;
    synth_sizes_t sz = {nb, 0, 0, 0, 0, SG2_TMP_MIN_FLOATS, 0, (size_t)n * cfg->w_dim, 0};
    if (n > 1 && !batched)
        for (int i = 0; i < nb && sz.split == nb; i++)
            if (block_feat(&net->blocks[i], i == 0) > SG2_SPLIT_FLOATS) sz.split = i;
    size_t max_c = 0;
    for (int i = 0; i < nb; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const size_t r = (size_t)B->res, feat = block_feat(B, i == 0);
        const size_t ns = i < sz.split ? (size_t)n : 1;          // samples at a time
        const size_t img = i < nb - 1 ? ns * cfg->img_channels * r * r : 0;
        size_t *f = i < sz.split ? &sz.feat1 : &sz.feat2, *g = i < sz.split ? &sz.img1 : &sz.img2;
        if (ns * feat > *f) *f = ns * feat;
        if (img > *g) *g = img;
        if (i > 0 && up_tmp_per_sample(&B->conv0) > sz.tmp) sz.tmp = up_tmp_per_sample(&B->conv0);
        if (ns * r * r > sz.noise) sz.noise = ns * r * r;
        if ((size_t)B->c_out > max_c) max_c = (size_t)B->c_out;
        if ((size_t)B->c_in > max_c) max_c = (size_t)B->c_in;
    }
    sz.vec = (size_t)n * max_c;
    return sz;
}

static size_t synth_bytes(const synth_sizes_t *sz) {
    const size_t f = sizeof(float);
    // sizes are far below SIZE_MAX / 16 for any n <= SG2_MAX_BATCH and R <= 8192
    // on a 64-bit size_t; the checked sum guards the rest.
    size_t parts[] = {sz->feat1, sz->feat1, sz->img1, sz->img1, sz->feat2, sz->feat2, sz->img2,
                      sz->img2, sz->tmp, sz->vec, sz->vec, sz->vec, sz->wrow, sz->noise};
    size_t total = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t bytes;
        if (sal_mul_size(parts[i], f, &bytes) < 0 ||
            sal_add_size(total, arena_round(bytes ? bytes : 1), &total) < 0)   // as arena_alloc
            return 0;
    }
    return total;
}

size_t sg2_synthesis_arena_bytes(const sg2_net_t *net, int n) {
    if (n < 1 || n > SG2_MAX_BATCH) return 0;
    synth_sizes_t sz = synth_sizes(net, n, 0);
    return synth_bytes(&sz);
}

/* Everything one pass works with. */
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
} synth_ctx_t;

static void report(const synth_ctx_t *cx, const char *name, const char *what, int ndim,
                   const int64_t *shape, const float *data) {
    if (!cx->opts->hook) return;
    char full[96];
    snprintf(full, sizeof full, "%s.%s", name, what);
    cx->opts->hook(cx->opts->hook_user, full, ndim, shape, data);
}

/* 3.2 Styles: the affine layer of a modulated layer, fed with ws row `w_index`:
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

/* noise_mode random: one N(0,1) map (res, res) per sample, from that sample's
 * generator (torch: randn([N, 1, res, res])). */
static void draw_noise(synth_ctx_t *cx, int res) {
    for (int b = 0; b < cx->n; b++) {
        float *m = cx->noise + (size_t)b * res * res;
        for (int i = 0; i < res * res; i++) m[i] = (float)rng_np_randn(&cx->opts->noise_rngs[b]);
    }
}

/* 3.3 One modulated SynthesisLayer (2.3-2.5), in the non-fused form:
 *
 *   s      = affine(ws[:, w_index])                              (N, C_in)
 *   d[n,o] = rsqrt( sum_{c,ky,kx} (W[o,c,ky,kx] s[n,c])^2 + 1e-8 ) (N, C_out)
 *   x      = x * s[n, c]   (the conv prologue: as the kernel reads x) (N, C_in, H, W)
 *   v      = conv3x3(x, W)                     (up=0: same size, padding 1)
 *          | FIR4x4(convT3x3_s2(x, W))         (up=1: (2H+1)^2, then 2H x 2W)
 *   out    = clamp( lrelu(v d[n,o] + noise[y,x] strength + bias[o]) * sqrt2, +-256 )
 *
 * Modulating the weight (W s, then W s d) as the official code does for one
 * sample is the same sum in a different order; scaling the input by s and
 * the output by d lets one packed W serve the whole batch. The last line is
 * the kernels' epilogue (conv.h): out_scale = d, noise, bias, lrelu, gain,
 * clamp -- the clamp comes after the gain. Returns 0, or -1 with *err set
 * when a kernel could not get its scratch memory. */
static int modulated_layer(synth_ctx_t *cx, const sg2_layer_t *L, const char *name, int w_index,
                           const float *x, float *out, sal_err_t *err) {
    const int n = cx->n, h_in = L->up ? L->res / 2 : L->res, res = L->res;
    const float clamp = cx->net->cfg.conv_clamp;
    const sg2_noise_mode_t mode = cx->opts->noise_mode;

    compute_styles(cx, &L->affine, w_index, cx->styles);
    report(cx, name, "affine.out", 2, (int64_t[]){n, L->c_in}, cx->styles);

    // demodulation: d^2 - 1e-8 = s^2 wsq^T, one GEMM (N, C_in) x (C_out, C_in)^T
    for (size_t i = 0; i < (size_t)n * L->c_in; i++) cx->styles_sq[i] = cx->styles[i] * cx->styles[i];
    gemm_nt(n, L->c_out, L->c_in, cx->styles_sq, L->wsq, cx->dcoef);
    for (size_t i = 0; i < (size_t)n * L->c_out; i++) cx->dcoef[i] = 1.0f / sqrtf(cx->dcoef[i] + SG2_EPS);
    report(cx, name, "demod", 2, (int64_t[]){n, L->c_out}, cx->dcoef);   // (for --trace)

    // The epilogue. With random noise every sample has its own map, which the
    // kernels' one-map epilogue cannot take: then the kernel only applies d
    // and the rest runs below, sample by sample.
    conv_epilogue_t ep = {
        .out_scale = cx->dcoef,
        .noise = mode == SG2_NOISE_CONST ? L->noise_const : NULL,
        .noise_gain = L->noise_strength,
        .bias = L->bias,
        .act = ACT_LRELU,
        .slope = SG2_LRELU_SLOPE,
        .gain = SG2_SQRT2,
        .clamp = clamp,
        .in_scale = cx->styles,   // x * s[n, c], applied as the kernels read x
    };
    conv_epilogue_t ep_scale_only = {.out_scale = cx->dcoef, .in_scale = cx->styles};
    const conv_epilogue_t *kernel_ep = mode == SG2_NOISE_RANDOM ? &ep_scale_only : &ep;

    if (!L->up) {
        if (conv2d(&L->conv, x, out, n, res, res, kernel_ep))
            return sal_errf(err, "synthesis: %s: out of memory for the conv's scratch", name);
    } else {
        // up-conv in chunks of samples: transposed conv into tmp (C_out, 2H+1, 2H+1),
        // then the 4x4 FIR (pad 1) down to (C_out, 2H, 2H) with the epilogue.
        const size_t per = up_tmp_per_sample(L);
        int chunk = (int)(cx->tmp_floats / per);
        if (chunk > n) chunk = n;
        if (chunk < 1) chunk = 1;   // (cannot happen: tmp is sized for one sample)
        for (int b0 = 0; b0 < n; b0 += chunk) {
            const int nb = n - b0 < chunk ? n - b0 : chunk;
            if (conv2d_transpose3x3_s2(&L->conv, x + (size_t)b0 * L->c_in * h_in * h_in,
                                       cx->styles + (size_t)b0 * L->c_in, cx->tmp, nb, h_in, h_in))
                return sal_errf(err, "synthesis: %s: out of memory for the transposed conv's scratch", name);
            conv_epilogue_t ep_chunk = *kernel_ep;
            ep_chunk.out_scale = cx->dcoef + (size_t)b0 * L->c_out;
            if (fir4x4_down_pad1(cx->tmp, out + (size_t)b0 * L->c_out * res * res, nb, L->c_out,
                                 2 * h_in + 1, 2 * h_in + 1, sg2_fir_taps, SG2_FIR_GAIN, &ep_chunk))
                return sal_errf(err, "synthesis: %s: out of memory for the FIR's scratch", name);
        }
    }

    if (mode == SG2_NOISE_RANDOM) {
        draw_noise(cx, res);
        const size_t plane = (size_t)res * res;
        #pragma omp parallel for schedule(static)
        for (long p = 0; p < (long)n * L->c_out; p++) {
            const int b = (int)(p / L->c_out), o = (int)(p % L->c_out);
            float *v = out + (size_t)p * plane;
            conv_epilogue_t ep_rest = ep;   // everything but d, with this sample's map
            ep_rest.out_scale = NULL;
            ep_rest.noise = cx->noise + (size_t)b * plane;
            for (size_t i = 0; i < plane; i++)
                v[i] = conv_epilogue_apply(&ep_rest, v[i], b, L->c_out, o, ep_rest.noise + i);
        }
    }
    report(cx, name, "out", 4, (int64_t[]){n, L->c_out, res, res}, out);
    return 0;
}

/* 3.4 ToRGB (2.6): a modulated 1x1 conv without demodulation:
 *   s = affine(ws[:, w_index]) * fl(1/sqrt(C_in))                 (N, C_in)
 *   y[n,o] = clamp( sum_c W[o,c] s[n,c] x[n,c] + bias[o], +-256 )  (N, 3, H, W)
 * (x * s is the conv's prologue: x itself is still needed by the next block.) */
static int torgb_layer(synth_ctx_t *cx, const sg2_torgb_t *T, const char *name, int w_index,
                       const float *x, int res, float *y, sal_err_t *err) {
    const int n = cx->n;
    compute_styles(cx, &T->affine, w_index, cx->styles);
    report(cx, name, "affine.out", 2, (int64_t[]){n, T->c_in}, cx->styles);
    for (size_t i = 0; i < (size_t)n * T->c_in; i++) cx->styles[i] = cx->styles[i] * T->weight_gain;

    const conv_epilogue_t ep = {.bias = T->bias, .act = ACT_LINEAR,
                                .clamp = cx->net->cfg.conv_clamp, .in_scale = cx->styles};
    if (conv2d(&T->conv, x, y, n, res, res, &ep))
        return sal_errf(err, "synthesis: %s: out of memory for the conv's scratch", name);
    report(cx, name, "out", 4, (int64_t[]){n, T->c_out, res, res}, y);
    return 0;
}

/* 3.5 The blocks (2.2). Block b4 starts from the learned constant; every
 * later block upsamples (conv0), convolves (conv1) and emits RGB:
 *
 *   b4:   x = const (repeated over N)              (N, C4, 4, 4)
 *         x = conv1(x, ws[0]);  img = torgb(x, ws[1])
 *   b_r:  x = conv0(x, ws[k]) (up 2x);  x = conv1(x, ws[k+1])
 *         img = upsample2x(img) + torgb(x, ws[k+2])     k = 2 log2(r) - 5
 *
 * A block's torgb shares its ws row with the next block's conv0: the row
 * index advances by the number of convs only (block i uses rows 2i-1, 2i,
 * 2i+1). upsample2x (2.7) is zero stuffing plus the same 4x4 FIR; it is added
 * straight into ToRGB's output.
 *
 * run_blocks runs blocks i0..i1-1 on cx->n samples. x_in / img_in are the
 * features and image of block i0-1 (unused for i0 = 0) and are only read;
 * feat[2] and imgbuf[2] are the ping-pong buffers. The last block of the
 * network writes img_final; otherwise *x_out / *img_out tell where block
 * i1-1 left its results. Returns 0, or -1 with *err set (a kernel's scratch). */
static int run_blocks(synth_ctx_t *cx, int i0, int i1, const float *x_in, const float *img_in,
                      float *feat[2], float *imgbuf[2], float *img_final, const float **x_out,
                      const float **img_out, sal_err_t *err) {
    const sg2_net_t *net = cx->net;
    const int n = cx->n, C = net->cfg.img_channels;
    const float *x = x_in, *img_prev = img_in;
    int next = 0;   // the feature buffer the next layer writes
    for (int i = i0; i < i1; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const int res = B->res;
        char name[64];
        if (i == 0) {
            // x = const, repeated over the batch                       (N, C4, 4, 4)
            for (int b = 0; b < n; b++)
                memcpy(feat[next] + (size_t)b * B->c_out * 16, B->const_input,
                       (size_t)B->c_out * 16 * sizeof(float));
            x = feat[next];
            next ^= 1;
        } else {
            snprintf(name, sizeof name, "%s.conv0", B->name);
            if (modulated_layer(cx, &B->conv0, name, 2 * i - 1, x, feat[next], err))   // (N, C, res, res)
                return -1;
            x = feat[next];
            next ^= 1;
        }
        snprintf(name, sizeof name, "%s.conv1", B->name);
        if (modulated_layer(cx, &B->conv1, name, 2 * i, x, feat[next], err)) return -1;
        x = feat[next];
        next ^= 1;
        report(cx, B->name, "x", 4, (int64_t[]){n, B->c_out, res, res}, x);

        // img = upsample2x(img_prev) + torgb(x): the last block writes the output.
        float *img_new = i == net->cfg.num_blocks - 1 ? img_final : imgbuf[i & 1];
        snprintf(name, sizeof name, "%s.torgb", B->name);
        if (torgb_layer(cx, &B->torgb, name, 2 * i + 1, x, res, img_new, err))   // (N, C, res, res)
            return -1;
        if (img_prev && upsample2x_fir(img_prev, img_new, n * C, res / 2, res / 2, sg2_fir_taps,
                                       SG2_FIR_GAIN, 1))
            return sal_errf(err, "synthesis: %s: out of memory for the upsampler's scratch", name);
        report(cx, B->name, "img", 4, (int64_t[]){n, C, res, res}, img_new);
        img_prev = img_new;
    }
    *x_out = x;
    *img_out = img_prev;
    return 0;
}

/* 3.6 The whole pass: phase 1 on the batch, phase 2 sample by sample (3.1). */
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

    // scratch memory for this pass (3.1); a hook sees whole-batch tensors, so
    // with one the batch runs as one phase, in scratch of its own if need be
    const synth_sizes_t sz = synth_sizes(net, n, opts->hook != NULL);
    const size_t need = synth_bytes(&sz);
    if (need == 0) return sal_errf(err, "synthesis: batch of %d is too large", n);
    arena_t own, *arena = opts->arena;
    size_t mark = 0;
    if (arena && arena->cap - arena->used < need && !opts->hook)
        return sal_errf(err, "synthesis: arena has %zu bytes free, the pass needs %zu",
                        arena->cap - arena->used, need);
    if (arena && arena->cap - arena->used >= need) {
        mark = arena_mark(arena);
    } else {
        if (arena_init(&own, need) < 0)
            return sal_errf(err, "synthesis: cannot allocate %zu MiB of scratch", need >> 20);
        arena = &own;
    }
    const size_t f = sizeof(float);
    float *feat1[2] = {arena_alloc(arena, sz.feat1 * f), arena_alloc(arena, sz.feat1 * f)};
    float *img1[2] = {arena_alloc(arena, sz.img1 * f), arena_alloc(arena, sz.img1 * f)};
    float *feat2[2] = {arena_alloc(arena, sz.feat2 * f), arena_alloc(arena, sz.feat2 * f)};
    float *img2[2] = {arena_alloc(arena, sz.img2 * f), arena_alloc(arena, sz.img2 * f)};
    synth_ctx_t cx = {
        .net = net, .ws = ws, .n = n, .opts = opts,
        .tmp = arena_alloc(arena, sz.tmp * f), .tmp_floats = sz.tmp,
        .styles = arena_alloc(arena, sz.vec * f),
        .styles_sq = arena_alloc(arena, sz.vec * f),
        .dcoef = arena_alloc(arena, sz.vec * f),
        .wrow = arena_alloc(arena, sz.wrow * f),
        .noise = arena_alloc(arena, sz.noise * f),
    };
    if (!cx.noise) {   // the last allocation: if it fits, all did (sizes are from the same plan)
        if (arena == &own) arena_free(&own); else arena_release(arena, mark);
        return sal_errf(err, "synthesis: scratch sizing bug");
    }

    // phase 1: blocks [0, split) on the whole batch
    const float *x, *img_prev;
    int rc = run_blocks(&cx, 0, sz.split, NULL, NULL, feat1, img1, img, &x, &img_prev, err);

    // phase 2: the remaining blocks, one sample at a time
    if (rc == 0 && sz.split < cfg->num_blocks) {
        const sg2_block_t *last = &net->blocks[sz.split - 1];
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
            rc = run_blocks(&cb, sz.split, cfg->num_blocks, x + (size_t)b * x_per,
                            img_prev + (size_t)b * img_per, feat2, img2, img + (size_t)b * out_per,
                            &xo, &io, err);
        }
    }

    if (arena == &own) arena_free(&own); else arena_release(arena, mark);
    return rc;
}

/* ========================================================================== */
/* 4. Float image -> uint8 (2.8)                                              */
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

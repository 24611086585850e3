/* stylegan2_load.c — a converted G_ema blob -> sg2_net_t: the configuration
 * (from the metadata and the tensor shapes), every weight checked for its
 * shape, and what is prepared once so that the forward pass (stylegan2.c)
 * only computes: the effective FC weights with their equalised-learning-rate
 * gains, the conv weights packed for the kernels, and the tables the
 * demodulation needs. The weights themselves stay in the (mmapped) blob.
 */
#include "stylegan2_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * the standard f f^T / 64 with f = [1,3,3,1], which we hard-code (sg2_fir_taps). Refuse
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
    // For demodulation (docs/stylegan2.md 3.1) per sample n:
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

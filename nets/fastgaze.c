/* fastgaze.c — the fastgaze saliency network's forward pass (see fastgaze.h).
 *
 * Weights come from a blob with arch = "fastgaze" (layout: weightconv/vxm.c).
 * Activations live in two ping-pong buffers in one arena, each big enough for
 * the largest layer output:
 *
 *   x (3, H, W) -> conv -> buf0 (C1, H, W) -> conv -> buf1 (C2, H, W)
 *               -> pool -> buf0 (C2, H/2, W/2) -> ...
 */
#include "fastgaze.h"

#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- loading -------------------------------------------------------------- */

/* The adjoint conv of a layer (fastgaze.h): weight_adj[c, o, ky, kx] =
 * weight[o, c, k-1-ky, k-1-kx], packed for the kernels. */
static int init_adjoint(fg_layer_t *L, sal_err_t *err) {
    const int k = L->k, taps = k * k;
    L->weight_adj = malloc(sizeof(float) * (size_t)L->c_out * L->c_in * taps);
    if (!L->weight_adj) return sal_errf(err, "fastgaze: out of memory for the adjoint weights");
    for (int o = 0; o < L->c_out; o++)
        for (int c = 0; c < L->c_in; c++)
            for (int t = 0; t < taps; t++)   // t = ky * k + kx; flipped: taps-1-t
                L->weight_adj[((size_t)c * L->c_out + o) * taps + (taps - 1 - t)] =
                    L->weight[((size_t)o * L->c_in + c) * taps + t];
    return conv_weights_init(&L->cw_adj, L->weight_adj, L->c_in, L->c_out, k, err);
}

static int load_conv(fg_layer_t *L, const blob_t *b, int i, int c_in, sal_err_t *err) {
    char key[64];
    const char *act;
    snprintf(key, sizeof key, "layer.%d.act", i);
    if (blob_get_str(b, key, &act, err)) return -1;
    if (strcmp(act, "relu") == 0) {
        L->act = ACT_RELU;
    } else if (strcmp(act, "lrelu") == 0) {
        double slope;
        L->act = ACT_LRELU;
        snprintf(key, sizeof key, "layer.%d.slope", i);
        if (blob_get_float(b, key, &slope, err)) return -1;
        L->slope = (float)slope;
    } else {
        return sal_errf(err, "%s: layer %d: unknown activation '%s'", blob_path(b), i, act);
    }
    snprintf(key, sizeof key, "layer.%d.weight", i);
    const blob_tensor_t *t = blob_tensor_find(b, key);
    if (!t || t->t.dtype != DT_F32 || t->t.ndim != 4)
        return sal_errf(err, "%s: layer %d: missing or malformed tensor '%s'", blob_path(b), i, key);
    const int64_t c_out = t->t.shape[0], k = t->t.shape[2];
    if (c_out < 1 || c_out > 4096 || (k != 1 && k != 3))
        return sal_errf(err, "%s: layer %d: unsupported weight shape", blob_path(b), i);
    const int64_t wshape[4] = {c_out, c_in, k, k}, bshape[1] = {c_out};
    if (blob_get_f32(b, key, 4, wshape, &L->weight, err)) return -1;
    snprintf(key, sizeof key, "layer.%d.bias", i);
    if (blob_get_f32(b, key, 1, bshape, &L->bias, err)) return -1;
    L->kind = FG_CONV;
    L->c_in = c_in;
    L->c_out = (int)c_out;
    L->k = (int)k;
    if (conv_weights_init(&L->cw, L->weight, L->c_out, L->c_in, L->k, err)) return -1;
    return init_adjoint(L, err);
}

int fg_load(fg_model_t *m, const blob_t *b, sal_err_t *err) {
    memset(m, 0, sizeof *m);
    const char *arch;
    int64_t n;
    if (blob_get_str(b, "arch", &arch, err)) return -1;
    if (strcmp(arch, "fastgaze") != 0)
        return sal_errf(err, "%s: not a fastgaze model (arch '%s')", blob_path(b), arch);
    if (blob_get_int(b, "fastgaze.layers", &n, err)) return -1;
    if (n < 1 || n > FG_MAX_LAYERS)
        return sal_errf(err, "%s: bad fastgaze.layers %lld", blob_path(b), (long long)n);
    int c = FG_IN_CHANNELS, n_conv = 0;
    m->stride = 1;
    for (int i = 0; i < (int)n; i++) {
        fg_layer_t *L = &m->layer[i];
        char key[64];
        const char *type;
        snprintf(key, sizeof key, "layer.%d.type", i);
        if (blob_get_str(b, key, &type, err)) goto fail;
        m->n_layers = i + 1;   // so that fg_free releases what was packed
        if (strcmp(type, "conv") == 0) {
            if (load_conv(L, b, i, c, err)) goto fail;
            c = L->c_out;
            n_conv++;
        } else if (strcmp(type, "maxpool") == 0) {
            L->kind = FG_MAXPOOL;
            L->c_in = L->c_out = c;
            if (m->stride > (1 << 20)) {
                sal_errf(err, "%s: too many pooling layers", blob_path(b));
                goto fail;
            }
            m->stride *= 2;
        } else if (strcmp(type, "ignored") == 0) {
            L->kind = FG_IGNORED;
            L->c_in = L->c_out = c;
        } else {
            sal_errf(err, "%s: layer %d: unknown type '%s'", blob_path(b), i, type);
            goto fail;
        }
    }
    m->c_out = c;
    if (n_conv == 0) {
        sal_errf(err, "%s: fastgaze model has no convolution", blob_path(b));
        goto fail;
    }
    return 0;
fail:
    fg_free(m);
    return -1;
}

int fg_enable_fast(fg_model_t *m, sal_err_t *err) {
    // not the first layer (3 input channels): there the per-channel input
    // transforms outweigh the products and the direct conv is faster
    for (int i = 0; i < m->n_layers; i++)
        if (m->layer[i].kind == FG_CONV && m->layer[i].k == 3 && m->layer[i].c_in >= 8 &&
            conv_weights_make_fast(&m->layer[i].cw, err) < 0)
            return -1;
    // the adjoints (backward pass) have C_out input channels: >= 8 for every layer here
    for (int i = 0; i < m->n_layers; i++)
        if (m->layer[i].kind == FG_CONV && m->layer[i].k == 3 && m->layer[i].c_out >= 8 &&
            conv_weights_make_fast(&m->layer[i].cw_adj, err) < 0)
            return -1;
    return 0;
}

void fg_free(fg_model_t *m) {
    for (int i = 0; i < m->n_layers; i++)
        if (m->layer[i].kind == FG_CONV) {
            conv_weights_free(&m->layer[i].cw);
            conv_weights_free(&m->layer[i].cw_adj);
            free(m->layer[i].weight_adj);
        }
    memset(m, 0, sizeof *m);
}

/* ---- sizes ------------------------------------------------------------------ */

void fg_output_size(const fg_model_t *m, int h, int w, int *out_h, int *out_w) {
    for (int i = 0; i < m->n_layers; i++)
        if (m->layer[i].kind == FG_MAXPOOL) {
            h = (h + 1) / 2;   // ceil: a partial last window still gives an output
            w = (w + 1) / 2;
        }
    *out_h = h;
    *out_w = w;
}

/* Largest activation (in floats) over all layer outputs. */
static size_t largest_activation(const fg_model_t *m, int h, int w) {
    size_t best = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const fg_layer_t *L = &m->layer[i];
        if (L->kind == FG_MAXPOOL) {
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
        size_t n = (size_t)L->c_out * (size_t)h * (size_t)w;
        if (n > best) best = n;
    }
    return best;
}

size_t fg_kernel_scratch_floats(const fg_model_t *m, int h, int w, int adjoints) {
    size_t most = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const fg_layer_t *L = &m->layer[i];
        if (L->kind == FG_MAXPOOL) {
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        } else if (L->kind == FG_CONV) {   /* same-size convs on the (h, w) of the moment */
            size_t v = conv2d_scratch_floats(&L->cw, 1, h, w, 0);
            most = v > most ? v : most;
            if (adjoints) {
                v = conv2d_scratch_floats(&L->cw_adj, 1, h, w, 0);
                most = v > most ? v : most;
            }
        }
    }
    return most;
}

size_t fg_arena_bytes(const fg_model_t *m, int h, int w) {
    return 2 * arena_round(largest_activation(m, h, w) * sizeof(float)) +
           conv_ws_arena_bytes(fg_kernel_scratch_floats(m, h, w, 0));
}

/* ---- forward -------------------------------------------------------------- */

int fg_forward(const fg_model_t *m, const float *in, int h, int w, arena_t *a, float **map,
               int *out_h, int *out_w, sal_err_t *err) {
    return fg_forward_hooked(m, in, h, w, a, NULL, NULL, map, out_h, out_w, err);
}

int fg_forward_hooked(const fg_model_t *m, const float *in, int h, int w, arena_t *a,
                      fg_hook_fn hook, void *hook_user, float **map, int *out_h, int *out_w,
                      sal_err_t *err) {
    const size_t n = largest_activation(m, h, w);
    float *buf[2] = {arena_alloc(a, n * sizeof(float)), arena_alloc(a, n * sizeof(float))};
    conv_ws_t kws;   /* the conv kernels' workspace: no allocation below */
    if (!buf[0] || !buf[1] || conv_ws_from_arena(&kws, a, fg_kernel_scratch_floats(m, h, w, 0)))
        return sal_errf(err, "fastgaze: arena too small for a %dx%d input with %d threads", w, h,
                        threads_get());
    const float *x = in;   // current activation (C, h, w)
    int cur = 0;           // buffer the next layer writes
    for (int i = 0; i < m->n_layers; i++) {
        const fg_layer_t *L = &m->layer[i];
        float *y = buf[cur];
        if (L->kind == FG_CONV) {
            // y (C_out, h, w) = act(conv(x, W) + b)
            const conv_epilogue_t ep = {.bias = L->bias, .act = L->act, .slope = L->slope};
            if (conv2d(&L->cw, x, y, 1, h, w, &ep, &kws))
                return sal_errf(err, "fastgaze: layer %d: kernel workspace too small for the conv", i);
        } else if (L->kind == FG_MAXPOOL) {
            // y (C, ceil(h/2), ceil(w/2)) = max over 2x2 windows of x
            maxpool2x2_ceil(x, y, L->c_in, h, w);
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        } else {
            continue;   // FG_IGNORED: the original tool never applies it
        }
        x = y;
        cur ^= 1;
        if (hook) {
            char name[48];
            snprintf(name, sizeof name, "fastgaze.layer%02d.%s", i, L->kind == FG_CONV ? "conv" : "maxpool");
            hook(hook_user, name, 4, (int64_t[]){1, L->c_out, h, w}, x);
        }
    }
    *map = (float *)x;   // channel 0 of the last activation
    *out_h = h;
    *out_w = w;
    return 0;
}

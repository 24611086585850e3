/* fastgaze_ref.c — the fastgaze network from its definition, in double
 * (see fastgaze_ref.h; the layers: docs/saliency.md, "The network"):
 *
 *   conv k x k ("same" zero padding), + bias, then ReLU  or  leaky ReLU that
 *   multiplies every value with the sign bit set by the layer's slope;
 *   max-pooling 2x2 / 2 with a partial last window (ceil); the "ignored"
 *   blur layer is skipped, as the original tool never applies it.
 */
#include "fastgaze_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* y[o,y,x] = act( b[o] + sum_{c,ky,kx} W[o,c,ky,kx] x[c, y+ky-k/2, x+kx-k/2] )
 * (C_in, H, W) -> (C_out, H, W) */
static void ref_conv_act(const fg_layer_t *L, const double *x, int h, int w, double *y) {
    const int k = L->k, p = k / 2, c_in = L->c_in;
    for (int o = 0; o < L->c_out; o++)
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++) {
                double s = L->bias[o];
                for (int c = 0; c < c_in; c++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            const int sy = yy + ky - p, sx = xx + kx - p;
                            if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                            s += (double)L->weight[(((size_t)o * c_in + c) * k + ky) * k + kx] *
                                 x[((size_t)c * h + sy) * w + sx];
                        }
                if (L->act == ACT_RELU) s = s > 0 ? s : 0;
                else if (signbit(s)) s *= L->slope;   // leaky: sign bit set -> times slope
                y[((size_t)o * h + yy) * w + xx] = s;
            }
}

/* y[c,i,j] = max of x over the window rows 2i..2i+1, cols 2j..2j+1 that lie
 * inside the image.  (C, H, W) -> (C, ceil(H/2), ceil(W/2)) */
static void ref_maxpool(const double *x, int c_n, int h, int w, double *y) {
    const int h2 = (h + 1) / 2, w2 = (w + 1) / 2;
    for (int c = 0; c < c_n; c++)
        for (int i = 0; i < h2; i++)
            for (int j = 0; j < w2; j++) {
                double mx = -INFINITY;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        if (2 * i + dy < h && 2 * j + dx < w)
                            mx = fmax(mx, x[((size_t)c * h + 2 * i + dy) * w + 2 * j + dx]);
                y[((size_t)c * h2 + i) * w2 + j] = mx;
            }
}

/* Reports a double tensor (1, C, H, W) as float32. */
static int emit(fg_hook_fn hook, void *user, int i, const char *kind, const double *x, int c,
                int h, int w) {
    if (!hook) return 0;
    const size_t n = (size_t)c * h * w;
    float *f = malloc(n * sizeof(float));
    if (!f) return -1;
    for (size_t k = 0; k < n; k++) f[k] = (float)x[k];
    char name[48];
    snprintf(name, sizeof name, "fastgaze.layer%02d.%s", i, kind);
    hook(user, name, 4, (int64_t[]){1, c, h, w}, f);
    free(f);
    return 0;
}

int fg_ref_forward(const fg_model_t *m, const double *in, int h, int w, fg_hook_fn hook,
                   void *user, double **map, int *out_h, int *out_w, sal_err_t *err) {
    *map = NULL;
    int c = FG_IN_CHANNELS;
    double *x = malloc(sizeof(double) * c * h * w);
    if (!x) return sal_errf(err, "fastgaze (reference): out of memory");
    memcpy(x, in, sizeof(double) * c * h * w);
    for (int i = 0; i < m->n_layers; i++) {
        const fg_layer_t *L = &m->layer[i];
        if (L->kind == FG_IGNORED) continue;   // the original tool never applies it
        const int conv = L->kind == FG_CONV;
        const int h2 = conv ? h : (h + 1) / 2, w2 = conv ? w : (w + 1) / 2;
        double *y = malloc(sizeof(double) * L->c_out * h2 * w2);
        if (!y) {
            free(x);
            return sal_errf(err, "fastgaze (reference): out of memory");
        }
        if (conv) ref_conv_act(L, x, h, w, y);   // (C_out, H, W)
        else ref_maxpool(x, c, h, w, y);         // (C, ceil(H/2), ceil(W/2))
        free(x);
        x = y;
        c = L->c_out;
        h = h2;
        w = w2;
        if (emit(hook, user, i, conv ? "conv" : "maxpool", x, c, h, w) < 0) {
            free(x);
            return sal_errf(err, "fastgaze (reference): out of memory");
        }
    }
    *map = x;   // channel 0 comes first
    *out_h = h;
    *out_w = w;
    return 0;
}

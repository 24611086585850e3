/* stylegan2_ref.c — the StyleGAN2-ADA generator written from its equations,
 * one sample, plain loops (see stylegan2_ref.h; the math: docs/stylegan2.md).
 *
 *   z --normalize--> x --fc0..fc7--> w --broadcast, truncate--> ws
 *   b4:  x = const;                x = layer(x, ws[0]);      img = torgb(x, ws[1])
 *   b_r: x = layer_up(x, ws[k]);   x = layer(x, ws[k+1]);    img = up2x(img) + torgb(x, ws[k+2])
 *
 * where one modulated layer is
 *   s  = affine(w)                                   styles             (C_in)
 *   w1 = W[o,c,ky,kx] * s[c]                         modulation         (C_out, C_in, 3, 3)
 *   d  = 1 / sqrt(sum_{c,ky,kx} w1^2 + 1e-8)         demodulation       (C_out)
 *   w2 = w1 * d[o]
 *   v  = conv3x3(x, w2)   or   blur(conv3x3(zero_stuff(x), w2))   (C_out, res, res)
 *   y  = clamp(lrelu(v + noise * strength + b) * sqrt2, -256, 256)
 *
 * Everything is float32 between stages (as the official code); the sums are
 * accumulated in double. The fast path computes the same numbers in a
 * different order and form (styles on the input, d on the output, a
 * transposed conv instead of zero stuffing); tests/nets/test_stylegan2_ref.c
 * holds both to NVIDIA's references.
 */
#include "stylegan2_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The float32 constants of the official code (docs/stylegan2.md, "Constants"). */
#define REF_SQRT2 1.41421353816986083984375f   /* fl(sqrt(2)) */
#define REF_SLOPE 0.2f
#define REF_EPS 1e-8f

/* The resample filter: F[a][b] = 4 f[a] f[b] / 64 with f = [1, 3, 3, 1]. */
static float ref_fir(int a, int b) {
    static const float f[4] = {1.0f, 3.0f, 3.0f, 1.0f};
    return f[a] * f[b] / 16.0f;
}

static void emit(sg2_hook_fn hook, void *user, const char *prefix, const char *what, int ndim,
                 const int64_t *shape, const float *data) {
    if (!hook) return;
    char name[128];
    snprintf(name, sizeof name, "%s%s%s", prefix, *what ? "." : "", what);
    hook(user, name, ndim, shape, data);
}

/* ========================================================================== */
/* Mapping network                                                            */
/* ========================================================================== */

/* x = z / sqrt(mean_j z_j^2 + 1e-8)                          (n) -> (n) */
static void ref_normalize_2nd_moment(const float *z, int n, float *x) {
    double sum = 0;
    for (int j = 0; j < n; j++) sum += (double)z[j] * z[j];
    const float scale = (float)(1.0 / sqrt(sum / n + (double)REF_EPS));
    for (int j = 0; j < n; j++) x[j] = z[j] * scale;
}

/* A fully connected layer with equalized learning rate:
 *   y[o] = sum_i x[i] fl(W[o,i] * fl(lr / sqrt(in)))  +  fl(b[o] * fl(lr))
 * then, if lrelu, y = lrelu(y) * sqrt2.                  (in) -> (out) */
static void ref_fully_connected(const sg2_fc_t *fc, double lr, int lrelu, const float *x, float *y) {
    const float weight_gain = (float)(lr / sqrt((double)fc->in));
    const float bias_gain = (float)lr;
    for (int o = 0; o < fc->out; o++) {
        double acc = 0;
        for (int i = 0; i < fc->in; i++)
            acc += (double)x[i] * (double)(fc->weight[(size_t)o * fc->in + i] * weight_gain);
        float v = (float)acc + fc->bias[o] * bias_gain;
        if (lrelu) v = (v > 0.0f ? v : v * REF_SLOPE) * REF_SQRT2;
        y[o] = v;
    }
}

/* Truncation of one ws row: w = w_avg + psi (w - w_avg) (torch.lerp). */
static void ref_truncate(const float *w_avg, int w_dim, float psi, float *w) {
    for (int j = 0; j < w_dim; j++)
        w[j] = (float)((double)w_avg[j] + (double)psi * ((double)w[j] - (double)w_avg[j]));
}

int sg2_ref_mapping(const sg2_net_t *net, const float *z, float psi, int cutoff, float *ws,
                    sg2_hook_fn hook, void *user, sal_err_t *err) {
    const sg2_config_t *cfg = &net->cfg;
    int max_f = 0;
    for (int i = 0; i <= cfg->mapping_layers; i++)
        if (cfg->mapping_features[i] > max_f) max_f = cfg->mapping_features[i];
    float *x = malloc((size_t)max_f * sizeof(float)), *y = malloc((size_t)max_f * sizeof(float));
    if (!x || !y) {
        free(x);
        free(y);
        return sal_errf(err, "mapping (reference): out of memory");
    }
    ref_normalize_2nd_moment(z, cfg->z_dim, x);
    emit(hook, user, "mapping.normalize.out", "", 2, (int64_t[]){1, cfg->z_dim}, x);
    for (int i = 0; i < cfg->mapping_layers; i++) {
        const sg2_fc_t *fc = &net->mapping[i];
        ref_fully_connected(fc, cfg->mapping_lr_multiplier, 1, x, y);
        char name[32];
        snprintf(name, sizeof name, "mapping.fc%d", i);
        emit(hook, user, name, "out", 2, (int64_t[]){1, fc->out}, y);
        float *t = x; x = y; y = t;
    }
    emit(hook, user, "mapping.w", "", 2, (int64_t[]){1, cfg->w_dim}, x);
    // broadcast: every synthesis layer gets its own copy of w, then truncation
    const int rows = psi == 1.0f ? 0 : cutoff < 0 || cutoff > cfg->num_ws ? cfg->num_ws : cutoff;
    for (int r = 0; r < cfg->num_ws; r++) {
        float *row = ws + (size_t)r * cfg->w_dim;
        memcpy(row, x, (size_t)cfg->w_dim * sizeof(float));
        if (r < rows) ref_truncate(net->w_avg, cfg->w_dim, psi, row);
    }
    emit(hook, user, "mapping.ws", "", 3, (int64_t[]){1, cfg->num_ws, cfg->w_dim}, ws);
    free(x);
    free(y);
    return 0;
}

/* ========================================================================== */
/* Synthesis network: the stages of one modulated layer                       */
/* ========================================================================== */

/* Styles: s = w (A / sqrt(w_dim))^T + b_A           (w_dim) -> (C_in) */
static void ref_styles(const sg2_fc_t *affine, const float *w, float *s) {
    ref_fully_connected(affine, 1.0, 0, w, s);
}

/* Modulation: w1[o,c,k] = W[o,c,k] * s[c]          (C_out, C_in, K) */
static void ref_modulate(const float *weight, const float *s, int c_out, int c_in, int kk,
                         float *w1) {
    for (int o = 0; o < c_out; o++)
        for (int c = 0; c < c_in; c++)
            for (int k = 0; k < kk; k++) {
                const size_t i = ((size_t)o * c_in + c) * kk + k;
                w1[i] = weight[i] * s[c];
            }
}

/* Demodulation: d[o] = 1 / sqrt(sum_{c,k} w1[o,c,k]^2 + 1e-8); w1 *= d[o]
 * in place (it becomes w2).                       d: (C_out) */
static void ref_demodulate(float *w1, int c_out, int c_in, int kk, float *d) {
    const size_t per = (size_t)c_in * kk;
    for (int o = 0; o < c_out; o++) {
        double sum = 0;
        for (size_t i = 0; i < per; i++) sum += (double)w1[o * per + i] * w1[o * per + i];
        d[o] = (float)(1.0 / sqrt(sum + (double)REF_EPS));
        for (size_t i = 0; i < per; i++) w1[o * per + i] *= d[o];
    }
}

/* 3x3 cross-correlation, zero padding 1, same size:
 *   out[o,y,x] = sum_{c,ky,kx} w2[o,c,ky,kx] x[c, y+ky-1, x+kx-1]
 * (C_in, H, W) -> (C_out, H, W). The loops run tap by tap over whole planes
 * (acc is one output plane in double) so that the compiler can vectorise. */
static void ref_conv3x3(const float *x, const float *w2, int c_in, int c_out, int h, int w,
                        double *acc, float *out) {
    for (int o = 0; o < c_out; o++) {
        memset(acc, 0, (size_t)h * w * sizeof(double));
        for (int c = 0; c < c_in; c++)
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    const double wt = w2[(((size_t)o * c_in + c) * 3 + ky) * 3 + kx];
                    for (int yy = 0; yy < h; yy++) {
                        const int sy = yy + ky - 1;
                        if (sy < 0 || sy >= h) continue;
                        const float *row = x + ((size_t)c * h + sy) * w;
                        for (int xx = 0; xx < w; xx++) {
                            const int sx = xx + kx - 1;
                            if (sx >= 0 && sx < w) acc[(size_t)yy * w + xx] += wt * row[sx];
                        }
                    }
                }
        for (size_t i = 0; i < (size_t)h * w; i++) out[(size_t)o * h * w + i] = (float)acc[i];
    }
}

/* Zero stuffing: u[c, 2i, 2j] = x[c, i, j], zeros at odd rows and columns.
 * (C, H, W) -> (C, 2H, 2W) */
static void ref_zero_stuff(const float *x, int c_n, int h, int w, float *u) {
    memset(u, 0, (size_t)c_n * 4 * h * w * sizeof(float));
    for (int c = 0; c < c_n; c++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                u[((size_t)c * 2 * h + 2 * i) * 2 * w + 2 * j] = x[((size_t)c * h + i) * w + j];
}

/* The up-convolution before its blur: a true ("full") 3x3 convolution of
 * the zero-stuffed input u = zero_stuff(x),
 *   t[o,Y,X] = sum_{c,ky,kx} w2[o,c,ky,kx] u[c, Y-ky, X-kx],   Y, X in 0..2H
 * (C_in, H, W) -> (C_out, 2H+1, 2W+1). Only the even positions of u are
 * nonzero, so the loops visit just those: every input pixel x[c,i,j] lands
 * on t[o, 2i+ky, 2j+kx] -- the stride-2 transposed convolution the
 * official code calls. The stored weight is used as is (not flipped). */
static void ref_conv3x3_up(const float *x, const float *w2, int c_in, int c_out, int h, int w,
                           double *acc, float *t) {
    const int ht = 2 * h + 1, wt = 2 * w + 1;
    for (int o = 0; o < c_out; o++) {
        memset(acc, 0, (size_t)ht * wt * sizeof(double));
        for (int c = 0; c < c_in; c++)
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    const double wgt = w2[(((size_t)o * c_in + c) * 3 + ky) * 3 + kx];
                    for (int i = 0; i < h; i++)
                        for (int j = 0; j < w; j++)
                            acc[(size_t)(2 * i + ky) * wt + 2 * j + kx] +=
                                wgt * x[((size_t)c * h + i) * w + j];
                }
        for (size_t k = 0; k < (size_t)ht * wt; k++) t[(size_t)o * ht * wt + k] = (float)acc[k];
    }
}

/* The [1,3,3,1] blur with the upsampling gain 4, as a 4x4 filter with pad
 * `pad` before each axis: out[c,Y,X] = sum_{a,b} F[a,b] t[c, Y+a-pad, X+b-pad]
 * (t = 0 outside), for Y in 0..h_out-1. (C, h_in, w_in) -> (C, h_out, w_out) */
static void ref_blur(const float *t, int c_n, int h_in, int w_in, int pad, int h_out, int w_out,
                     float *out) {
    for (int c = 0; c < c_n; c++)
        for (int yy = 0; yy < h_out; yy++)
            for (int xx = 0; xx < w_out; xx++) {
                double acc = 0;
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) {
                        const int sy = yy + a - pad, sx = xx + b - pad;
                        if (sy < 0 || sy >= h_in || sx < 0 || sx >= w_in) continue;
                        acc += (double)ref_fir(a, b) * t[((size_t)c * h_in + sy) * w_in + sx];
                    }
                out[((size_t)c * h_out + yy) * w_out + xx] = (float)acc;
            }
}

/* Noise, bias, activation, gain, clamp, per element:
 *   y = clamp( lrelu(v + noise[y,x] * strength + b[o]) * sqrt2, -clamp, clamp )
 * (clamp 0: none). noise NULL: no noise.           (C_out, res, res) in place */
static void ref_noise_bias_act(float *v, int c_out, int res, const float *noise, float strength,
                               const float *bias, float clamp) {
    for (int o = 0; o < c_out; o++)
        for (int i = 0; i < res * res; i++) {
            float y = v[(size_t)o * res * res + i];
            if (noise) y = y + noise[i] * strength;
            y = y + bias[o];
            y = (y > 0.0f ? y : y * REF_SLOPE) * REF_SQRT2;
            if (clamp > 0) y = fminf(fmaxf(y, -clamp), clamp);
            v[(size_t)o * res * res + i] = y;
        }
}

/* Scratch of one synthesis pass, sized for the largest layer. */
typedef struct ref_scratch {
    float *s, *d;          /* styles (C_in), demodulation (C_out) */
    float *w2;             /* the per-sample weight (C_out, C_in, 3, 3) */
    float *u;              /* the skip path's zero-stuffed image (C, 2H, 2H) */
    float *t;              /* the up-conv's output before the blur (C_out, 2H+1, 2H+1) */
    double *acc;           /* one output plane of a conv, accumulated in double */
    float *noise;          /* one random noise map (res, res) */
} ref_scratch_t;

/* One SynthesisLayer: x (C_in, H, H) -> out (C_out, res, res); H = res/2 if up. */
static void ref_synthesis_layer(const sg2_net_t *net, const sg2_layer_t *L, const char *name,
                                const float *w, const float *x, sg2_noise_mode_t mode,
                                rng_np_t *rng, ref_scratch_t *sc, sg2_hook_fn hook, void *user,
                                float *out) {
    const int res = L->res, h = L->up ? res / 2 : res;
    ref_styles(&L->affine, w, sc->s);
    emit(hook, user, name, "affine.out", 2, (int64_t[]){1, L->c_in}, sc->s);
    ref_modulate(L->weight, sc->s, L->c_out, L->c_in, 9, sc->w2);
    ref_demodulate(sc->w2, L->c_out, L->c_in, 9, sc->d);
    emit(hook, user, name, "demod", 2, (int64_t[]){1, L->c_out}, sc->d);
    if (!L->up) {
        ref_conv3x3(x, sc->w2, L->c_in, L->c_out, res, res, sc->acc, out);
    } else {
        ref_conv3x3_up(x, sc->w2, L->c_in, L->c_out, h, h, sc->acc, sc->t);           // (C_out, 2H+1, 2H+1)
        ref_blur(sc->t, L->c_out, 2 * h + 1, 2 * h + 1, 1, res, res, out);      // (C_out, 2H, 2H)
    }
    const float *noise = NULL;
    if (mode == SG2_NOISE_CONST) {
        noise = L->noise_const;
    } else if (mode == SG2_NOISE_RANDOM) {
        for (int i = 0; i < res * res; i++) sc->noise[i] = (float)rng_np_randn(rng);
        noise = sc->noise;
    }
    ref_noise_bias_act(out, L->c_out, res, noise, L->noise_strength, L->bias, net->cfg.conv_clamp);
    emit(hook, user, name, "out", 4, (int64_t[]){1, L->c_out, res, res}, out);
}

/* ToRGB: s = affine(w) * fl(1/sqrt(C_in)); a 1x1 modulated conv without
 * demodulation, bias, clamp:
 *   y[o,p] = clamp( sum_c W[o,c] s[c] x[c,p] + b[o], -clamp, clamp )
 * (C_in, res, res) -> (img_channels, res, res) */
static void ref_torgb(const sg2_net_t *net, const sg2_torgb_t *T, const char *name, const float *w,
                      const float *x, int res, ref_scratch_t *sc, sg2_hook_fn hook, void *user,
                      float *y) {
    ref_styles(&T->affine, w, sc->s);
    emit(hook, user, name, "affine.out", 2, (int64_t[]){1, T->c_in}, sc->s);
    for (int c = 0; c < T->c_in; c++) sc->s[c] = sc->s[c] * T->weight_gain;
    ref_modulate(T->weight, sc->s, T->c_out, T->c_in, 1, sc->w2);
    const float clamp = net->cfg.conv_clamp;
    for (int o = 0; o < T->c_out; o++)
        for (int p = 0; p < res * res; p++) {
            double acc = 0;
            for (int c = 0; c < T->c_in; c++)
                acc += (double)sc->w2[(size_t)o * T->c_in + c] * x[(size_t)c * res * res + p];
            float v = (float)acc + T->bias[o];
            if (clamp > 0) v = fminf(fmaxf(v, -clamp), clamp);
            y[(size_t)o * res * res + p] = v;
        }
    emit(hook, user, name, "out", 4, (int64_t[]){1, T->c_out, res, res}, y);
}

/* The skip path's 2x upsampling: zero stuffing, then the blur with pad 2
 * before (and 1 after) each axis.        (C, H, H) -> (C, 2H, 2H) */
static void ref_upsample2x(const float *img, int c_n, int h, float *u, float *out) {
    ref_zero_stuff(img, c_n, h, h, u);
    ref_blur(u, c_n, 2 * h, 2 * h, 2, 2 * h, 2 * h, out);
}

int sg2_ref_synthesis(const sg2_net_t *net, const float *ws, sg2_noise_mode_t mode,
                      rng_np_t *rng, sg2_hook_fn hook, void *user, float *img, sal_err_t *err) {
    const sg2_config_t *cfg = &net->cfg;
    const int C = cfg->img_channels;
    if (mode == SG2_NOISE_RANDOM && !rng)
        return sal_errf(err, "synthesis (reference): noise mode 'random' needs a generator");
    // sizes: the largest feature map, weight, zero-stuffed image and up-conv output
    size_t feat = (size_t)C * cfg->img_resolution * cfg->img_resolution, wmax = 0, umax = 0,
           tmax = 0, cmax = 0;
    for (int i = 0; i < cfg->num_blocks; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const size_t r = (size_t)B->res;
        if ((size_t)B->c_out * r * r > feat) feat = (size_t)B->c_out * r * r;
        if ((size_t)B->c_out > cmax) cmax = (size_t)B->c_out;
        if ((size_t)B->c_in > cmax) cmax = (size_t)B->c_in;
        const size_t cin_max = (size_t)(B->c_in > B->c_out ? B->c_in : B->c_out);
        if ((size_t)B->c_out * cin_max * 9 > wmax) wmax = (size_t)B->c_out * cin_max * 9;
        if ((size_t)C * r * r > umax) umax = (size_t)C * r * r;
        if ((size_t)B->c_out * (r + 1) * (r + 1) > tmax) tmax = (size_t)B->c_out * (r + 1) * (r + 1);
    }
    if (cmax < (size_t)C) cmax = (size_t)C;
    const size_t f = sizeof(float);
    float *xa = malloc(feat * f), *xb = malloc(feat * f);
    float *img_prev = malloc(feat * f), *img_up = malloc(feat * f), *rgb = malloc(feat * f);
    ref_scratch_t sc = {malloc(cmax * f), malloc(cmax * f), malloc(wmax * f), malloc(umax * f),
                        malloc(tmax * f), NULL,
                        malloc((size_t)cfg->img_resolution * cfg->img_resolution * f)};
    const size_t plane = (size_t)(cfg->img_resolution + 1) * (cfg->img_resolution + 1);
    sc.acc = malloc(plane * sizeof(double));
    int rc = 0;
    if (!xa || !xb || !img_prev || !img_up || !rgb || !sc.s || !sc.d || !sc.w2 || !sc.u || !sc.t ||
        !sc.noise || !sc.acc) {
        rc = sal_errf(err, "synthesis (reference): out of memory");
        goto done;
    }
    float *x = xa, *x_next = xb;
    for (int i = 0; i < cfg->num_blocks; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const int res = B->res;
        char name[64];
        if (i == 0) {
            memcpy(x, B->const_input, (size_t)B->c_out * 16 * f);   // x = const (C4, 4, 4)
        } else {
            snprintf(name, sizeof name, "%s.conv0", B->name);
            ref_synthesis_layer(net, &B->conv0, name, ws + (size_t)(2 * i - 1) * cfg->w_dim, x, mode,
                                rng, &sc, hook, user, x_next);
            float *t = x; x = x_next; x_next = t;
        }
        snprintf(name, sizeof name, "%s.conv1", B->name);
        ref_synthesis_layer(net, &B->conv1, name, ws + (size_t)(2 * i) * cfg->w_dim, x, mode, rng,
                            &sc, hook, user, x_next);
        { float *t = x; x = x_next; x_next = t; }
        emit(hook, user, B->name, "x", 4, (int64_t[]){1, B->c_out, res, res}, x);

        snprintf(name, sizeof name, "%s.torgb", B->name);
        ref_torgb(net, &B->torgb, name, ws + (size_t)(2 * i + 1) * cfg->w_dim, x, res, &sc, hook,
                  user, rgb);
        const size_t n_img = (size_t)C * res * res;
        if (i == 0) {
            memcpy(img_prev, rgb, n_img * f);                 // img = torgb
        } else {
            ref_upsample2x(img_prev, C, res / 2, sc.u, img_up);
            for (size_t k = 0; k < n_img; k++) img_prev[k] = img_up[k] + rgb[k];   // img = up(img) + torgb
        }
        emit(hook, user, B->name, "img", 4, (int64_t[]){1, C, res, res}, img_prev);
    }
    memcpy(img, img_prev, (size_t)C * cfg->img_resolution * cfg->img_resolution * f);
done:
    free(xa); free(xb); free(img_prev); free(img_up); free(rgb);
    free(sc.s); free(sc.d); free(sc.w2); free(sc.u); free(sc.t); free(sc.acc); free(sc.noise);
    return rc;
}

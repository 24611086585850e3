/* resize.c — antialiased bilinear resizing of 8-bit images (see resize.h).
 *
 * Output pixel i covers source coordinates around c = (i + 0.5) * s - 0.5,
 * s = src/dst. Its value is sum_j t((j - c) / r) * src[j] / sum_j t(...),
 * with the triangle t(u) = max(0, 1 - |u|) and r = max(1, s): plain bilinear
 * when enlarging, a box-like average over the covered pixels when shrinking.
 * Applied to rows, then to columns. */
#include "resize.h"

#include <math.h>
#include <stdlib.h>

/* Weights of one 1-D pass: for each output index, a first source index and
 * `taps` normalised weights. */
typedef struct filter1d {
    int taps;
    int *first;
    float *w;  /* (n_out, taps) */
} filter1d_t;

static int filter_make(filter1d_t *f, int n_in, int n_out) {
    double s = (double)n_in / n_out, r = s > 1 ? s : 1;
    f->taps = (int)ceil(2 * r) + 1;
    f->first = malloc(sizeof(int) * (size_t)n_out);
    f->w = calloc((size_t)n_out * (size_t)f->taps, sizeof(float));
    if (!f->first || !f->w) return -1;
    for (int i = 0; i < n_out; i++) {
        double c = (i + 0.5) * s - 0.5;
        int j0 = (int)floor(c - r) + 1;
        double sum = 0;
        for (int k = 0; k < f->taps; k++) {
            int j = j0 + k;
            double u = fabs((j - c) / r), t = u < 1 ? 1 - u : 0;
            if (j < 0 || j >= n_in) t = 0;
            f->w[(size_t)i * f->taps + k] = (float)t;
            sum += t;
        }
        if (sum <= 0) { /* outside the image: take the nearest pixel */
            int j = (int)lround(c);
            j = j < 0 ? 0 : j >= n_in ? n_in - 1 : j;
            j0 = j;
            f->w[(size_t)i * f->taps] = 1;
            for (int k = 1; k < f->taps; k++) f->w[(size_t)i * f->taps + k] = 0;
            sum = 1;
        }
        for (int k = 0; k < f->taps; k++) f->w[(size_t)i * f->taps + k] /= (float)sum;
        f->first[i] = j0;
    }
    return 0;
}

static void filter_free(filter1d_t *f) {
    free(f->first);
    free(f->w);
}

int resize_u8(const uint8_t *src, int sw, int sh, int ch, uint8_t *dst, int dw, int dh,
              sal_err_t *err) {
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || ch < 1 || ch > 4)
        return sal_errf(err, "resize: bad sizes %dx%dx%d -> %dx%d", sw, sh, ch, dw, dh);
    filter1d_t fx = {0}, fy = {0};
    float *tmp = malloc(sizeof(float) * (size_t)dw * (size_t)sh * (size_t)ch);
    if (!tmp || filter_make(&fx, sw, dw) || filter_make(&fy, sh, dh)) {
        free(tmp);
        filter_free(&fx);
        filter_free(&fy);
        return sal_errf(err, "resize: out of memory");
    }
    /* horizontal pass: (sh, sw, ch) -> (sh, dw, ch) */
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < dw; x++)
            for (int c = 0; c < ch; c++) {
                float acc = 0;
                for (int k = 0; k < fx.taps; k++) {
                    int j = fx.first[x] + k;
                    float wt = fx.w[(size_t)x * fx.taps + k];
                    if (wt != 0) acc += wt * src[((size_t)y * sw + (size_t)j) * ch + c];
                }
                tmp[((size_t)y * dw + x) * ch + c] = acc;
            }
    /* vertical pass: (sh, dw, ch) -> (dh, dw, ch), rounded and clamped */
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++)
            for (int c = 0; c < ch; c++) {
                float acc = 0;
                for (int k = 0; k < fy.taps; k++) {
                    int j = fy.first[y] + k;
                    float wt = fy.w[(size_t)y * fy.taps + k];
                    if (wt != 0) acc += wt * tmp[((size_t)j * dw + x) * ch + c];
                }
                long v = lroundf(acc);
                dst[((size_t)y * dw + x) * ch + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    free(tmp);
    filter_free(&fx);
    filter_free(&fy);
    return 0;
}

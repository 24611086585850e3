/* imagecore.c — imagecore's fixed-point resizers and orientation, as used by
 * Twitter's candidate_crops (see imagecore.h; spec: candidate_crops.md 2.4).
 *
 * The filter weights are computed in float32 exactly as the tool does (every
 * intermediate rounded to float, sin() in double), then truncated to 16.16
 * fixed point. The pixel arithmetic is integer. Right shifts of negative sums
 * are arithmetic (floor), as the tool's psrad.
 */
#include "imagecore.h"

#include "cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
static uint8_t clamp_u8(int64_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

static int alloc_image(image_u8_t *out, int w, int h, int c, sal_err_t *err) {
    memset(out, 0, sizeof *out);
    size_t n;
    if (w <= 0 || h <= 0 || c <= 0 || sal_mul_size((size_t)w * (size_t)h, (size_t)c, &n))
        return sal_errf(err, "resize: bad image size %dx%d", w, h);
    out->pixels = malloc(n);
    if (!out->pixels) return sal_errf(err, "resize: out of memory for %dx%d", w, h);
    out->width = w;
    out->height = h;
    out->channels = c;
    return 0;
}

static int copy_image(const image_u8_t *in, image_u8_t *out, sal_err_t *err) {
    if (alloc_image(out, in->width, in->height, in->channels, err)) return -1;
    memcpy(out->pixels, in->pixels, (size_t)in->width * in->height * in->channels);
    return 0;
}

/* ---- filter kernels ------------------------------------------------------ */

/* Lanczos-2 as imagecore's lanczos_fixed: sin(px) sin(px/2) / px^2, px = max(pi x, 1e-6). */
static float lanczos2(float x) {
    double px = M_PI * (double)x;
    if (px < 1e-6) px = 1e-6;
    return (float)(sin(px) * sin(px * 0.5) / (px * px));
}

void imagecore_fixed_kernel(int in_size, int out_size, int *start,
                            int32_t (*coef)[IMAGECORE_FIXED_TAPS]) {
    const float ratio = (float)in_size / (float)out_size;
    for (int i = 0; i < out_size; i++) {
        float in_p = ((float)i + 0.5f) * ratio + (-0.5f);   // source position of pixel i
        if (in_p < 0.0f) in_p = 0.0f;
        const float fl = floorf(in_p), fr = in_p - fl;
        const float w[4] = {lanczos2(fr + 1.0f), lanczos2(fr), lanczos2(1.0f - fr),
                            lanczos2(2.0f - fr)};
        const float norm = 1.0f / (((w[0] + w[1]) + w[2]) + w[3]);
        for (int k = 0; k < 4; k++) coef[i][k] = (int32_t)((w[k] * norm) * 65536.0f);
        start[i] = (int)fl;
    }
}

/* sinc(x) = sin(pi x) / (pi x) in double, rounded to float; sinc(0) = 1. */
static float sinc(float x) {
    if (x == 0.0f) return 1.0f;
    double xpi = (double)x * M_PI;
    return (float)(sin(xpi) / xpi);
}

/* Lanczos-3 as imagecore's lanczos(x, 1/3): sinc(x) * sinc(x / 3). */
static float lanczos3(float x, float inv_scale) { return sinc(x) * sinc(x * inv_scale); }

void imagecore_adaptive_kernel(int in_size, int out_size, int *start,
                               int32_t (*coef)[IMAGECORE_ADAPTIVE_TAPS]) {
    const int taps = IMAGECORE_ADAPTIVE_TAPS;
    const float ratio = (float)out_size / (float)in_size;
    const float inv_ratio = (float)in_size / (float)out_size;
    const float max_window = (float)(taps * 0.5 + (double)(-1e-5f));
    float window = ((float)taps * 0.25f) * inv_ratio;   // 3 source pixels per output pixel
    if (max_window < window) window = max_window;
    const float inv_filter_scale = 1.0f / ((float)taps * 0.25f);
    for (int i = 0; i < out_size; i++) {
        const float sample = ((float)i + 0.5f) * inv_ratio + (-1e-5f);
        const int s = (int)((sample - window) + 0.5f);   // truncation toward zero
        const int e = (int)((window + sample) + 0.5f);
        const int n = e - s;
        /* Weights in float, summed in order, normalised; only the first 12 are kept.
         * n <= 12 since window < 6, but we do not rely on it for memory safety. */
        float w[IMAGECORE_ADAPTIVE_TAPS];
        float sum = 0.0f;
        for (int k = 0; k < n; k++) {
            float wk = lanczos3((((float)(s + k) - sample) + 0.5f) * ratio, inv_filter_scale);
            if (k < taps) w[k] = wk;
            sum = sum + wk;
        }
        const float inv_sum = 1.0f / sum;
        for (int k = 0; k < taps; k++)
            coef[i][k] = k < n ? (int32_t)((w[k] * inv_sum) * 65536.0f) : 0;
        start[i] = s;
    }
}

/* ---- reduceHalf ----------------------------------------------------------- */

// in (H, W, C) -> out (H/2, W/2, C), out = (a + b + c + d) >> 2
int imagecore_reduce_half(const image_u8_t *in, image_u8_t *out, sal_err_t *err) {
    const int w = in->width / 2, h = in->height / 2, c = in->channels;
    if (alloc_image(out, w, h, c, err)) return -1;
    const size_t src_stride = (size_t)in->width * c;
    #pragma omp parallel for schedule(static) if ((size_t)w * h * c > 65536)
    for (int y = 0; y < h; y++) {
        const uint8_t *r0 = in->pixels + (size_t)(2 * y) * src_stride;
        const uint8_t *r1 = r0 + src_stride;
        uint8_t *dst = out->pixels + (size_t)y * w * c;
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                const size_t a = (size_t)(2 * x) * c + ch, b = a + c;
                dst[(size_t)x * c + ch] = (uint8_t)((r0[a] + r0[b] + r1[a] + r1[b]) >> 2);
            }
    }
    return 0;
}

/* ---- Lanczos-2 upsampling (4x4 taps) --------------------------------------- */

// in (H, W, C) -> out (out_h, out_w, C):
//   row[r][x] = (sum_k cx[x][k] * in[r][clamp(sx[x]-1+k)]) >> 10
//   out[y][x] = clamp((sum_j cy[y][j] * row[clamp(sy[y]-1+j)][x] + 0x1FFFFF) >> 22)
int imagecore_upsample_4x4(const image_u8_t *in, int out_w, int out_h, image_u8_t *out,
                           sal_err_t *err) {
    const int w = in->width, h = in->height, c = in->channels;
    if (alloc_image(out, out_w, out_h, c, err)) return -1;
    int *sx = malloc(sizeof(int) * out_w), *sy = malloc(sizeof(int) * out_h);
    int32_t (*cx)[4] = malloc(sizeof *cx * out_w), (*cy)[4] = malloc(sizeof *cy * out_h);
    int32_t *rows = malloc(sizeof(int32_t) * (size_t)h * out_w * c);   // (H, out_w, C)
    if (!sx || !sy || !cx || !cy || !rows) {
        free(sx); free(sy); free(cx); free(cy); free(rows);
        image_free(out);
        return sal_errf(err, "resize: out of memory");
    }
    imagecore_fixed_kernel(w, out_w, sx, cx);
    imagecore_fixed_kernel(h, out_h, sy, cy);
    for (int r = 0; r < h; r++) {   // horizontal pass, every source row
        const uint8_t *src = in->pixels + (size_t)r * w * c;
        int32_t *dst = rows + (size_t)r * out_w * c;
        for (int x = 0; x < out_w; x++)
            for (int ch = 0; ch < c; ch++) {
                int64_t acc = 0;
                for (int k = 0; k < 4; k++)
                    acc += (int64_t)cx[x][k] * src[(size_t)clampi(sx[x] - 1 + k, 0, w - 1) * c + ch];
                dst[(size_t)x * c + ch] = (int32_t)(acc >> 10);
            }
    }
    for (int y = 0; y < out_h; y++) {   // vertical pass
        uint8_t *dst = out->pixels + (size_t)y * out_w * c;
        for (size_t i = 0; i < (size_t)out_w * c; i++) {
            int64_t acc = 0;
            for (int j = 0; j < 4; j++)
                acc += (int64_t)cy[y][j] * rows[(size_t)clampi(sy[y] - 1 + j, 0, h - 1) * out_w * c + i];
            dst[i] = clamp_u8((acc + 0x1FFFFF) >> 22);
        }
    }
    free(sx); free(sy); free(cx); free(cy); free(rows);
    return 0;
}

/* ---- Lanczos-3 downsampling (12 taps, separable) ------------------------- */

/* The 12 source indices of every output (clamped to the image), so that the
 * pixel loops below need no bounds logic. */
static int *tap_indices(const int *start, int out_size, int in_size) {
    int *idx = malloc(sizeof(int) * (size_t)out_size * IMAGECORE_ADAPTIVE_TAPS);
    if (!idx) return NULL;
    for (int i = 0; i < out_size; i++)
        for (int k = 0; k < IMAGECORE_ADAPTIVE_TAPS; k++)
            idx[i * IMAGECORE_ADAPTIVE_TAPS + k] = clampi(start[i] + k, 0, in_size - 1);
    return idx;
}

/* Sums stay far inside int32: |sum of weights| < 2 * 65536, pixels <= 255. */

// One pass along y: in (H, W, C) -> out (out_h, W, C), same formula down the columns.
static int downsample_cols(const image_u8_t *in, int out_h, image_u8_t *out, sal_err_t *err) {
    const int w = in->width, h = in->height, c = in->channels, T = IMAGECORE_ADAPTIVE_TAPS;
    if (alloc_image(out, w, out_h, c, err)) return -1;
    int *start = malloc(sizeof(int) * out_h), *idx = NULL;
    int32_t (*coef)[IMAGECORE_ADAPTIVE_TAPS] = malloc(sizeof *coef * out_h);
    const int nthr = threads_get();
    int32_t *acc = malloc(sizeof(int32_t) * (size_t)w * c * nthr);   // one row per thread
    if (start && coef && acc) {
        imagecore_adaptive_kernel(h, out_h, start, coef);
        idx = tap_indices(start, out_h, h);
    }
    if (!idx) {
        free(start); free(coef); free(acc);
        image_free(out);
        return sal_errf(err, "resize: out of memory");
    }
    const size_t row = (size_t)w * c;
    const int avx2 = cpu_isa() >= ISA_AVX2;
    #pragma omp parallel for schedule(static) num_threads(nthr) if (row * out_h > 65536)
    for (int y = 0; y < out_h; y++) {
        int32_t *restrict a = acc + (size_t)thread_index() * row;
        for (size_t i = 0; i < row; i++) a[i] = 0x7FFF;
        for (int k = 0; k < T; k++) {   // row by row: contiguous reads
            const int32_t cf = coef[y][k];
            const uint8_t *restrict src = in->pixels + (size_t)idx[y * T + k] * row;
            if (avx2) {
                imagecore_row_madd_avx2(a, src, row, cf);
                continue;
            }
            size_t i = 0;
            for (; i + 16 <= row; i += 16)   // fixed-size blocks (vectorized, but SSE2 has no 32-bit multiply)
                for (int j = 0; j < 16; j++) a[i + j] += cf * src[i + j];
            for (; i < row; i++) a[i] += cf * src[i];
        }
        uint8_t *dst = out->pixels + (size_t)y * row;
        for (size_t i = 0; i < row; i++) dst[i] = clamp_u8(a[i] >> 16);
    }
    free(start); free(coef); free(idx); free(acc);
    return 0;
}

/* (H, W, C) -> (W, H, C) */
static int transpose(const image_u8_t *in, image_u8_t *out, sal_err_t *err) {
    const int w = in->width, h = in->height, c = in->channels;
    if (alloc_image(out, h, w, c, err)) return -1;
    #pragma omp parallel for schedule(static) if ((size_t)w * h * c > 65536)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(out->pixels + ((size_t)x * h + y) * c, in->pixels + ((size_t)y * w + x) * c, (size_t)c);
    return 0;
}

int imagecore_downsample_12(const image_u8_t *in, int out_w, int out_h, image_u8_t *out,
                            sal_err_t *err) {
    // horizontal pass first (as imagecore: into a uint8 temporary), then vertical;
    // both run down the columns of a transposed image, where the loops are contiguous
    image_u8_t t1, t2, t3;
    if (transpose(in, &t1, err)) return -1;                       // (W, H)
    int rc = downsample_cols(&t1, out_w, &t2, err);                // (out_w, H): horizontal pass
    image_free(&t1);
    if (rc) return -1;
    rc = transpose(&t2, &t3, err);                                 // (H, out_w)
    image_free(&t2);
    if (rc) return -1;
    rc = downsample_cols(&t3, out_h, out, err);                    // (out_h, out_w): vertical pass
    image_free(&t3);
    return rc;
}

/* ---- ImagePlane::resize and ResizeCropOperation::resize -------------------- */

/* reduceHalf while both halves still cover the target (out_w, out_h >= 1).
 * *cur starts as a borrowed view (*owned = 0); after a halving it is a new
 * image owned by the caller (*owned = 1). The loop ends by itself when a
 * halving lands exactly on the target, since w / 2 < w for w >= 1. */
static int halve_while_covering(image_u8_t *cur, int *owned, int out_w, int out_h, sal_err_t *err) {
    while (cur->width / 2 >= out_w && cur->height / 2 >= out_h) {
        image_u8_t half;
        int rc = imagecore_reduce_half(cur, &half, err);
        if (*owned) image_free(cur);
        *owned = 0;
        if (rc) return -1;
        *cur = half;
        *owned = 1;
    }
    return 0;
}

int imagecore_resize(const image_u8_t *in, int out_w, int out_h, image_u8_t *out,
                     sal_err_t *err) {
    if (out_w <= 0 || out_h <= 0) return sal_errf(err, "resize: bad target size %dx%d", out_w, out_h);
    if (out_w == in->width && out_h == in->height) return copy_image(in, out, err);
    if (out_w > in->width || out_h > in->height)
        return imagecore_upsample_4x4(in, out_w, out_h, out, err);
    image_u8_t cur = *in;   // borrowed until the first halving
    int owned = 0;
    if (halve_while_covering(&cur, &owned, out_w, out_h, err)) return -1;
    if (cur.width == out_w && cur.height == out_h) {   // a halving landed exactly on it
        *out = cur;
        return 0;
    }
    int rc = imagecore_downsample_12(&cur, out_w, out_h, out, err);
    if (owned) image_free(&cur);
    return rc;
}

int imagecore_fit(const image_u8_t *in, int out_w, int out_h, image_u8_t *out,
                  sal_err_t *err) {
    if (out_w <= 0 || out_h <= 0) return sal_errf(err, "resize: bad target size %dx%d", out_w, out_h);
    image_u8_t cur = *in;
    int owned = 0;
    if (halve_while_covering(&cur, &owned, out_w, out_h, err)) return -1;
    if (cur.width == out_w && cur.height == out_h) {
        if (owned) {
            *out = cur;
            return 0;
        }
        return copy_image(&cur, out, err);
    }
    int rc = imagecore_resize(&cur, out_w, out_h, out, err);
    if (owned) image_free(&cur);
    return rc;
}

/* ---- orientation ------------------------------------------------------------ */

int imagecore_orient(const image_u8_t *in, int orientation, image_u8_t *out, sal_err_t *err) {
    const int w = in->width, h = in->height, c = in->channels;
    if (orientation < 2 || orientation > 8) return copy_image(in, out, err);
    const int swap = orientation >= 5;
    const int ow = swap ? h : w, oh = swap ? w : h;
    if (alloc_image(out, ow, oh, c, err)) return -1;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            int sx, sy;   // source pixel of output (x, y)
            switch (orientation) {
            case 2: sx = w - 1 - x; sy = y; break;              // mirror
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;      // rotate 180
            case 4: sx = x; sy = h - 1 - y; break;              // flip vertically
            case 5: sx = y; sy = x; break;                      // transpose
            case 6: sx = y; sy = h - 1 - x; break;              // rotate 90 clockwise
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;      // transverse
            default: sx = w - 1 - y; sy = x; break;             // 8: rotate 90 counter-clockwise
            }
            memcpy(out->pixels + ((size_t)y * ow + x) * c, in->pixels + ((size_t)sy * w + sx) * c,
                   (size_t)c);
        }
    return 0;
}

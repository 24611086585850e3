/* conv_resample.c — the small resampling kernels of conv.h in portable C:
 * upsample2x_fir (StyleGAN2's RGB skip path) and maxpool2x2_ceil (saliency
 * net). Both are memory-bound and run on few channels, so plain loops that
 * the compiler vectorises, threaded over rows, are enough.
 */
#include "conv.h"

#include <stdlib.h>

#include "conv_impl.h" /* conv_ws_take */
#include "cpu.h"       /* threads_get, thread_index */

/* A thread's slice of rows of `row_floats`, rounded to 64 bytes. */
static size_t rows_slice(int rows, size_t row_floats) {
    return ((size_t)rows * row_floats + 15) & ~(size_t)15;
}

/* The most floats a workspace for 1..threads threads needs: nthr slices. */
static size_t rows_scratch(int rows, size_t row_floats, int threads) {
    if (threads <= 0) threads = threads_get();
    return (size_t)threads * rows_slice(rows, row_floats);
}

/* Horizontal polyphase pass of the 2x upsampler for one input row s (w values):
 *   d[2k]   = f0 s[k-1] + f2 s[k]
 *   d[2k+1] = f1 s[k]   + f3 s[k+1]        (s = 0 outside 0..w-1) */
static void upsample_row(const float *s, float *d, int w, const float f[4]) {
    for (int k = 0; k < w; k++) {
        float left = k > 0 ? s[k - 1] : 0.0f, right = k + 1 < w ? s[k + 1] : 0.0f;
        d[2 * k] = f[0] * left + f[2] * s[k];
        d[2 * k + 1] = f[1] * s[k] + f[3] * right;
    }
}

/* Workspace: per thread the 3 upsampled rows m-1, m, m+1 (2W floats each). */
size_t upsample2x_fir_scratch_floats(int planes, int h, int w, int threads) {
    if (planes <= 0 || h <= 0 || w <= 0) return 0;
    return rows_scratch(3, 2 * (size_t)w, threads);
}

// in (P, H, W) -> out (P, 2H, 2W): rows 2m and 2m+1 of out come from the
// horizontally upsampled rows m-1, m, m+1 of in (vertical polyphase):
//   out[2m]   = gain (f0 u[m-1] + f2 u[m]),  out[2m+1] = gain (f1 u[m] + f3 u[m+1])
int upsample2x_fir(const float *in, float *out, int planes, int h, int w, const float f[4],
                   float gain, int accumulate, const conv_ws_t *ws) {
    if (planes <= 0 || h <= 0 || w <= 0) return 0;
    const int wo = 2 * w;
    const long tasks = (long)planes * h;
    const int nthr = threads_get();
    const size_t slice = rows_slice(3, (size_t)wo);
    float *owned, *buf = conv_ws_take(ws, upsample2x_fir_scratch_floats(planes, h, w, nthr), &owned);
    if (!buf) return -1; /* nothing written */
#pragma omp parallel num_threads(nthr) if (tasks * wo > 65536)
    {
        float *u = buf + (size_t)thread_index() * slice; /* rows m-1, m, m+1 */
#pragma omp for schedule(static)
        for (long t = 0; t < tasks; t++) {
            const int p = (int)(t / h), m = (int)(t % h);
            const float *src = in + (size_t)p * h * w;
            float *d0 = out + ((size_t)p * 2 * h + 2 * (size_t)m) * wo, *d1 = d0 + wo;
            for (int i = 0; i < 3; i++) {
                int r = m - 1 + i;
                if (r >= 0 && r < h) upsample_row(src + (size_t)r * w, u + (size_t)i * wo, w, f);
                else for (int x = 0; x < wo; x++) u[(size_t)i * wo + x] = 0.0f;
            }
            const float *um = u, *u0 = u + wo, *up = u + 2 * (size_t)wo;
            for (int x = 0; x < wo; x++) {
                float e = (f[0] * um[x] + f[2] * u0[x]) * gain;
                float o = (f[1] * u0[x] + f[3] * up[x]) * gain;
                if (accumulate) { d0[x] += e; d1[x] += o; }
                else { d0[x] = e; d1[x] = o; }
            }
        }
    }
    sal_free_aligned(owned);
    return 0;
}

void maxpool2x2_ceil(const float *in, float *out, int planes, int h, int w) {
    if (planes <= 0 || h <= 0 || w <= 0) return;
    const int ho = (h + 1) / 2, wo = (w + 1) / 2;
    const long tasks = (long)planes * ho;
#pragma omp parallel for schedule(static) if (tasks * wo > 65536)
    for (long t = 0; t < tasks; t++) {
        const int p = (int)(t / ho), y = (int)(t % ho);
        const float *r0 = in + ((size_t)p * h + 2 * (size_t)y) * w;
        const float *r1 = 2 * y + 1 < h ? r0 + w : r0; /* partial window: reuse row 2y */
        float *d = out + ((size_t)p * ho + y) * wo;
        for (int x = 0; x < w / 2; x++) {
            float a = r0[2 * x] > r0[2 * x + 1] ? r0[2 * x] : r0[2 * x + 1];
            float b = r1[2 * x] > r1[2 * x + 1] ? r1[2 * x] : r1[2 * x + 1];
            d[x] = a > b ? a : b;
        }
        if (w & 1) d[wo - 1] = r0[w - 1] > r1[w - 1] ? r0[w - 1] : r1[w - 1];
    }
}

/* Horizontal pass of the 2x downsampler for one input row s (2w values):
 *   d[j] = f0 s[2j-1] + f1 s[2j] + f2 s[2j+1] + f3 s[2j+2]   (s = 0 outside) */
static void downsample_row(const float *s, float *d, int w, const float f[4]) {
    const int wi = 2 * w;
    for (int j = 0; j < w; j++) {
        float acc = 0.0f;
        for (int b = 0; b < 4; b++) {
            int x = 2 * j + b - 1;
            if (x >= 0 && x < wi) acc += f[b] * s[x];
        }
        d[j] = acc;
    }
}

/* Workspace: per thread the 4 filtered input rows 2i-1 .. 2i+2 (W floats each). */
size_t downsample2x_fir_scratch_floats(int planes, int h, int w, int threads) {
    if (planes <= 0 || h <= 0 || w <= 0) return 0;
    return rows_scratch(4, (size_t)w, threads);
}

// in (P, 2H, 2W) -> out (P, H, W): output row i filters the horizontally
// downsampled input rows 2i-1 .. 2i+2 vertically (separable F = f f^T gain)
int downsample2x_fir(const float *in, float *out, int planes, int h, int w, const float f[4],
                     float gain, const conv_ws_t *ws) {
    if (planes <= 0 || h <= 0 || w <= 0) return 0;
    const int hi = 2 * h, wi = 2 * w;
    const long tasks = (long)planes * h;
    const int nthr = threads_get();
    const size_t slice = rows_slice(4, (size_t)w);
    float *owned, *buf = conv_ws_take(ws, downsample2x_fir_scratch_floats(planes, h, w, nthr), &owned);
    if (!buf) return -1;
#pragma omp parallel num_threads(nthr) if (tasks * w > 65536)
    {
        float *u = buf + (size_t)thread_index() * slice; /* rows 2i-1 .. 2i+2, filtered */
#pragma omp for schedule(static)
        for (long t = 0; t < tasks; t++) {
            const int p = (int)(t / h), i = (int)(t % h);
            const float *src = in + (size_t)p * hi * wi;
            float *d = out + ((size_t)p * h + i) * w;
            for (int a = 0; a < 4; a++) {
                int r = 2 * i + a - 1;
                if (r >= 0 && r < hi) downsample_row(src + (size_t)r * wi, u + (size_t)a * w, w, f);
                else for (int x = 0; x < w; x++) u[(size_t)a * w + x] = 0.0f;
            }
            for (int x = 0; x < w; x++)
                d[x] = (f[0] * u[x] + f[1] * u[w + x] + f[2] * u[2 * (size_t)w + x] +
                        f[3] * u[3 * (size_t)w + x]) * gain;
        }
    }
    sal_free_aligned(owned);
    return 0;
}

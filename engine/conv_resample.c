/* conv_resample.c — the small resampling kernels of conv.h in portable C:
 * upsample2x_fir (StyleGAN2's RGB skip path) and maxpool2x2_ceil (saliency
 * net). Both are memory-bound and run on few channels, so plain loops that
 * the compiler vectorises, threaded over rows, are enough.
 */
#include "conv.h"

#include <stdlib.h>

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

// in (P, H, W) -> out (P, 2H, 2W): rows 2m and 2m+1 of out come from the
// horizontally upsampled rows m-1, m, m+1 of in (vertical polyphase):
//   out[2m]   = gain (f0 u[m-1] + f2 u[m]),  out[2m+1] = gain (f1 u[m] + f3 u[m+1])
int upsample2x_fir(const float *in, float *out, int planes, int h, int w, const float f[4],
                   float gain, int accumulate) {
    if (planes <= 0 || h <= 0 || w <= 0) return 0;
    const int wo = 2 * w;
    const long tasks = (long)planes * h;
    int failed = 0;
#pragma omp parallel reduction(| : failed) if (tasks * wo > 65536)
    {
        float *u = malloc(3 * (size_t)wo * sizeof(float)); /* rows m-1, m, m+1 */
        if (!u) failed = 1;
#pragma omp for schedule(static)
        for (long t = 0; t < tasks; t++) {
            if (!u) continue;
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
        free(u);
    }
    return failed ? -1 : 0; /* a thread without its 3 rows: out is incomplete */
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

// in (P, 2H, 2W) -> out (P, H, W): output row i filters the horizontally
// downsampled input rows 2i-1 .. 2i+2 vertically (separable F = f f^T gain)
int downsample2x_fir(const float *in, float *out, int planes, int h, int w, const float f[4],
                     float gain) {
    if (planes <= 0 || h <= 0 || w <= 0) return 0;
    const int hi = 2 * h, wi = 2 * w;
    const long tasks = (long)planes * h;
    int failed = 0;
#pragma omp parallel reduction(| : failed) if (tasks * w > 65536)
    {
        float *u = malloc(4 * (size_t)w * sizeof(float)); /* rows 2i-1 .. 2i+2, filtered */
        if (!u) failed = 1;
#pragma omp for schedule(static)
        for (long t = 0; t < tasks; t++) {
            if (!u) continue;
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
        free(u);
    }
    return failed ? -1 : 0;
}

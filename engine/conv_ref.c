/* conv_ref.c — naive reference versions of every kernel in conv.h.
 *
 * These loops are written to be obviously correct, not fast: they follow the
 * equations in conv.h one index at a time and are the ground truth the tests
 * compare the fast kernels against. Accumulation is float32 in the natural
 * loop order (c, ky, kx).
 */
#include "conv.h"

#include <string.h>

// in (N, C_in, H, W), w (C_out, C_in, k, k) -> out (N, C_out, H, W); the input
// value is scaled by ep->in_scale[b, c] (rounded to float) before its products
void conv2d_ref(const conv_weights_t *cw, const float *in, float *out, int n, int h, int w,
                const conv_epilogue_t *ep) {
    const int co = cw->c_out, ci = cw->c_in, k = cw->k, pad = k / 2;
    const size_t plane = (size_t)h * w;
    for (int b = 0; b < n; b++)
        for (int o = 0; o < co; o++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    float acc = 0.0f;
                    for (int c = 0; c < ci; c++) {
                        const float *src = in + ((size_t)b * ci + c) * plane;
                        const float *wk = cw->w + ((size_t)o * ci + c) * k * k;
                        const int scaled = ep && ep->in_scale;
                        const float s = scaled ? ep->in_scale[(size_t)b * ci + c] : 1.0f;
                        for (int ky = 0; ky < k; ky++) {
                            int yy = y + ky - pad;
                            if (yy < 0 || yy >= h) continue;
                            for (int kx = 0; kx < k; kx++) {
                                int xx = x + kx - pad;
                                if (xx < 0 || xx >= w) continue;
                                const float v = src[(size_t)yy * w + xx];
                                acc += wk[ky * k + kx] * (scaled ? v * s : v);
                            }
                        }
                    }
                    const float *noise_at = ep && ep->noise ? ep->noise + (size_t)y * w + x : NULL;
                    out[((size_t)b * co + o) * plane + (size_t)y * w + x] =
                        conv_epilogue_apply(ep, acc, b, co, o, noise_at);
                }
}

// in (N, C_in, H, W) -> out (N, C_out, 2H+1, 2W+1):
//   out[n,o,2i+ky,2j+kx] += sum_c in[n,c,i,j] * w[o,c,ky,kx]
void conv2d_transpose3x3_s2_ref(const conv_weights_t *cw, const float *in,
                                const float *in_scale, float *out, int n, int h, int w) {
    const int co = cw->c_out, ci = cw->c_in;
    const int ho = 2 * h + 1, wo = 2 * w + 1;
    const size_t oplane = (size_t)ho * wo, iplane = (size_t)h * w;
    memset(out, 0, (size_t)n * co * oplane * sizeof(float));
    for (int b = 0; b < n; b++)
        for (int o = 0; o < co; o++) {
            float *dst = out + ((size_t)b * co + o) * oplane;
            for (int c = 0; c < ci; c++) {
                const float *src = in + ((size_t)b * ci + c) * iplane;
                const float *wk = cw->w + ((size_t)o * ci + c) * 9;
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++) {
                        float v = src[(size_t)i * w + j];
                        if (in_scale) v = v * in_scale[(size_t)b * ci + c];
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                                dst[(size_t)(2 * i + ky) * wo + 2 * j + kx] += v * wk[ky * 3 + kx];
                    }
            }
        }
}

// in (N, C, 2H+1, 2W+1) -> out (N, C, 2H, 2W), F[a,b] = f[a] f[b] gain:
//   out[p,Y,X] = ep( sum_{a,b} F[a,b] * in[p, Y+a-1, X+b-1] ),  in = 0 outside
void fir4x4_down_pad1_ref(const float *in, float *out, int n, int c, int h2p1, int w2p1,
                          const float f[4], float gain, const conv_epilogue_t *ep) {
    const int ho = h2p1 - 1, wo = w2p1 - 1;
    for (int p = 0; p < n * c; p++) {
        const float *src = in + (size_t)p * h2p1 * w2p1;
        float *dst = out + (size_t)p * ho * wo;
        for (int y = 0; y < ho; y++)
            for (int x = 0; x < wo; x++) {
                float acc = 0.0f;
                for (int a = 0; a < 4; a++) {
                    int yy = y + a - 1;
                    if (yy < 0 || yy >= h2p1) continue;
                    for (int b = 0; b < 4; b++) {
                        int xx = x + b - 1;
                        if (xx < 0 || xx >= w2p1) continue;
                        acc += f[a] * f[b] * gain * src[(size_t)yy * w2p1 + xx];
                    }
                }
                const float *noise_at = ep && ep->noise ? ep->noise + (size_t)y * wo + x : NULL;
                dst[(size_t)y * wo + x] = conv_epilogue_apply(ep, acc, p / c, c, p % c, noise_at);
            }
    }
}

// in (P, H, W) -> out (P, 2H, 2W): u = zero-stuffed in (u[2i,2j] = in[i,j]),
//   out[p,Y,X] (+)= sum_{a,b} F[a,b] * u[p, Y+a-2, X+b-2],  F[a,b] = f[a] f[b] gain
void upsample2x_fir_ref(const float *in, float *out, int planes, int h, int w,
                        const float f[4], float gain, int accumulate) {
    const int ho = 2 * h, wo = 2 * w;
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * ho * wo;
        for (int y = 0; y < ho; y++)
            for (int x = 0; x < wo; x++) {
                float acc = 0.0f;
                for (int a = 0; a < 4; a++) {
                    int uy = y + a - 2;
                    if (uy < 0 || uy >= ho || (uy & 1)) continue;
                    for (int b = 0; b < 4; b++) {
                        int ux = x + b - 2;
                        if (ux < 0 || ux >= wo || (ux & 1)) continue;
                        acc += f[a] * f[b] * gain * src[(size_t)(uy / 2) * w + ux / 2];
                    }
                }
                if (accumulate) dst[(size_t)y * wo + x] += acc;
                else dst[(size_t)y * wo + x] = acc;
            }
    }
}

// in (P, H, W) -> out (P, ceil(H/2), ceil(W/2)), max over the existing window elements
void maxpool2x2_ceil_ref(const float *in, float *out, int planes, int h, int w) {
    const int ho = (h + 1) / 2, wo = (w + 1) / 2;
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * ho * wo;
        for (int y = 0; y < ho; y++)
            for (int x = 0; x < wo; x++) {
                float m = src[(size_t)(2 * y) * w + 2 * x];
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        int yy = 2 * y + dy, xx = 2 * x + dx;
                        if (yy < h && xx < w && src[(size_t)yy * w + xx] > m)
                            m = src[(size_t)yy * w + xx];
                    }
                dst[(size_t)y * wo + x] = m;
            }
    }
}

// in (N, C_in, 2H+1, 2W+1) -> out (N, C_out, H, W):
//   out[n,o,i,j] = ep( sum_{c,ky,kx} w[o,c,ky,kx] * in[n,c,2i+ky,2j+kx] * in_scale[n,c] )
void conv2d_s2_3x3_ref(const conv_weights_t *cw, const float *in, float *out, int n, int h,
                       int w, const conv_epilogue_t *ep) {
    const int co = cw->c_out, ci = cw->c_in, hi = 2 * h + 1, wi = 2 * w + 1;
    const size_t iplane = (size_t)hi * wi, oplane = (size_t)h * w;
    for (int b = 0; b < n; b++)
        for (int o = 0; o < co; o++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++) {
                    float acc = 0.0f;
                    for (int c = 0; c < ci; c++) {
                        const float *src = in + ((size_t)b * ci + c) * iplane;
                        const float *wk = cw->w + ((size_t)o * ci + c) * 9;
                        const int scaled = ep && ep->in_scale;
                        const float s = scaled ? ep->in_scale[(size_t)b * ci + c] : 1.0f;
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                const float v = src[(size_t)(2 * i + ky) * wi + 2 * j + kx];
                                acc += wk[ky * 3 + kx] * (scaled ? v * s : v);
                            }
                    }
                    const float *noise_at = ep && ep->noise ? ep->noise + (size_t)i * w + j : NULL;
                    out[((size_t)b * co + o) * oplane + (size_t)i * w + j] =
                        conv_epilogue_apply(ep, acc, b, co, o, noise_at);
                }
}

// in (P, H, W) -> out (P, H+1, W+1):
//   out[p,Y,X] = sum_{a,b} f[a] f[b] gain * in[p, Y+a-2, X+b-2],  in = 0 outside
void fir4x4_up_pad2_ref(const float *in, float *out, int planes, int h, int w, const float f[4],
                        float gain) {
    const int ho = h + 1, wo = w + 1;
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * ho * wo;
        for (int y = 0; y < ho; y++)
            for (int x = 0; x < wo; x++) {
                float acc = 0.0f;
                for (int a = 0; a < 4; a++) {
                    int yy = y + a - 2;
                    if (yy < 0 || yy >= h) continue;
                    for (int b = 0; b < 4; b++) {
                        int xx = x + b - 2;
                        if (xx < 0 || xx >= w) continue;
                        acc += f[a] * f[b] * gain * src[(size_t)yy * w + xx];
                    }
                }
                dst[(size_t)y * wo + x] = acc;
            }
    }
}

// in (P, 2H, 2W) -> out (P, H, W):
//   out[p,i,j] = sum_{a,b} f[a] f[b] gain * in[p, 2i+a-1, 2j+b-1],  in = 0 outside
void downsample2x_fir_ref(const float *in, float *out, int planes, int h, int w,
                          const float f[4], float gain) {
    const int hi = 2 * h, wi = 2 * w;
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * hi * wi;
        float *dst = out + (size_t)p * h * w;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float acc = 0.0f;
                for (int a = 0; a < 4; a++) {
                    int yy = 2 * i + a - 1;
                    if (yy < 0 || yy >= hi) continue;
                    for (int b = 0; b < 4; b++) {
                        int xx = 2 * j + b - 1;
                        if (xx < 0 || xx >= wi) continue;
                        acc += f[a] * f[b] * gain * src[(size_t)yy * wi + xx];
                    }
                }
                dst[(size_t)i * w + j] = acc;
            }
    }
}

/* jpeg_idct.c — dequantisation + inverse DCTs of the JPEG decoder, in
 * libjpeg-turbo's portable C arithmetic and in its x86 SIMD arithmetic (see
 * jpeg_idct.h). The 8x8 x86 transform also exists as SSE2 code, which runs
 * for every block of an x86-64 build.
 */
#include "jpeg_idct.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline int32_t to_int32(int64_t x) { return (int32_t)(uint32_t)(uint64_t)x; }

/* Every IDCT computes out = IDCT(coef * quant) in libjpeg's integer way:
 * 13-bit fixed-point constants FIX(x) = round(x * 2^13), a column pass kept
 * 2 bits more precise (PASS1_BITS) than the final row pass, +128 level shift.
 *
 * libjpeg-turbo has two arithmetics for this (see jpeg_decode_opts_t):
 *  - its portable C code: 64-bit products, and a final range limit that
 *    wraps values to 10 bits before clamping (x & 1023 table lookup);
 *  - its x86 SIMD code (SSE2/AVX2): the same formulas in 16-bit lanes, so
 *    values can wrap or saturate at 16 bits, and the final clamp is a plain
 *    saturation.
 * For real image data both agree. So the C code below runs for both models
 * and keeps track of the largest dequantised coefficient and column-pass
 * result; when they are small enough that no 16-bit lane can overflow
 * (bounds derived per transform in the comments), the SIMD result is the C
 * result with a plain clamp; otherwise the block is redone by the exact
 * 16-bit emulation further down. */

#define FIX_0_211164243 1730
#define FIX_0_298631336 2446
#define FIX_0_390180644 3196
#define FIX_0_509795579 4176
#define FIX_0_541196100 4433
#define FIX_0_601344887 4926
#define FIX_0_720959822 5906
#define FIX_0_765366865 6270
#define FIX_0_850430095 6967
#define FIX_0_899976223 7373
#define FIX_1_061594337 8697
#define FIX_1_175875602 9633
#define FIX_1_272758580 10426
#define FIX_1_451774981 11893
#define FIX_1_501321110 12299
#define FIX_1_847759065 15137
#define FIX_1_961570560 16069
#define FIX_2_053119869 16819
#define FIX_2_172734803 17799
#define FIX_2_562915447 20995
#define FIX_3_072711026 25172
#define FIX_3_624509785 29692

/* x / 2^n rounded (arithmetic shift, as libjpeg's DESCALE). */
static inline int64_t descale(int64_t x, int n) { return (x + ((int64_t)1 << (n - 1))) >> n; }

/* libjpeg's C range limit: ((x & 1023) as a 10-bit signed value) + 128, clamped. */
static inline uint8_t clamp_sample(int64_t x) {
    int w = (int)(((uint64_t)x + 512) & 1023) - 512;
    w += 128;
    return (uint8_t)(w < 0 ? 0 : w > 255 ? 255 : w);
}
/* the SIMD code's: saturate to -128..127, then + 128 */
static inline uint8_t simd_sample(int64_t x) {
    return (uint8_t)((x < -128 ? -128 : x > 127 ? 127 : x) + 128);
}
static inline uint8_t final_sample(int64_t x, int simd) {
    return simd ? simd_sample(x) : clamp_sample(x);
}

static void idct_2x2_simd(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride);

/* Largest |coef * quant| of a block, as an upper bound: the OR of the
 * magnitudes (max <= OR < 2 max). */
static inline uint32_t dequant_bound(const int16_t *coef, const uint16_t *q) {
    uint32_t m = 0;
    for (int k = 0; k < 64; k++) {
        int32_t v = coef[k] * (int32_t)q[k];      /* |v| < 2^31 */
        m |= (uint32_t)(v < 0 ? -v : v);
    }
    return m;
}
static inline uint32_t mag(int32_t v) { return v < 0 ? 0u - (uint32_t)v : (uint32_t)v; }

/* The 8-point islow butterflies (jidctint.c, Loeffler-Ligtenberg-Moschytz):
 * the even part rotates (x2, x6) by sqrt(2)*c6 and adds x0 +- x4, the odd
 * part combines x1, x3, x5, x7. ISLOW_EVEN_ODD defines t10..t13 (even) and
 * o0..o3 (odd) from x0..x7; the outputs are t10+o3, t11+o2, t12+o1, t13+o0,
 * t13-o0, t12-o1, t11-o2, t10-o3. (A macro so that both passes keep
 * everything in registers.) */
#define ISLOW_EVEN_ODD(x0, x1, x2, x3, x4, x5, x6, x7)                                   \
    int64_t z1 = ((x2) + (x6)) * FIX_0_541196100;                                       \
    int64_t tmp2 = z1 - (x6) * FIX_1_847759065, tmp3 = z1 + (x2) * FIX_0_765366865;     \
    int64_t tmp0 = ((x0) + (x4)) * 8192, tmp1 = ((x0) - (x4)) * 8192;                   \
    int64_t t10 = tmp0 + tmp3, t13 = tmp0 - tmp3, t11 = tmp1 + tmp2, t12 = tmp1 - tmp2; \
    int64_t s1 = (x7) + (x1), s2 = (x5) + (x3), s3 = (x7) + (x3), s4 = (x5) + (x1);     \
    int64_t z5 = (s3 + s4) * FIX_1_175875602;                                           \
    int64_t o0 = (x7) * FIX_0_298631336, o1 = (x5) * FIX_2_053119869;                   \
    int64_t o2 = (x3) * FIX_3_072711026, o3 = (x1) * FIX_1_501321110;                   \
    s1 *= -FIX_0_899976223;                                                             \
    s2 *= -FIX_2_562915447;                                                             \
    s3 = s3 * -FIX_1_961570560 + z5;                                                    \
    s4 = s4 * -FIX_0_390180644 + z5;                                                    \
    o0 += s1 + s3;                                                                      \
    o1 += s2 + s4;                                                                      \
    o2 += s2 + s3;                                                                      \
    o3 += s1 + s4

/* 8x8 IDCT. SIMD agreement: with |coef*q| <= 8191 and column results
 * <= 12048 in magnitude no 16-bit sum wraps and every 32-bit sum stays
 * below 2^31 (bound 178219*max + 2^17). */
void jpeg_idct_8x8(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride, int simd) {
#if defined(__SSE2__)
    if (simd) { /* the x86 arithmetic as x86 runs it: 4-8x faster than the C below */
        jpeg_idct_8x8_sse2(coef, q, out, stride);
        return;
    }
#endif
    if (simd && dequant_bound(coef, q) > 8191) {
        jpeg_idct_8x8_lanes16(coef, q, out, stride);
        return;
    }
    int32_t ws[64];
    uint32_t ws_bound = 0;
    /* Pass 1: columns. Results are scaled up by sqrt(8) * 2^2. */
    for (int col = 0; col < 8; col++) {
        const int16_t *c = coef + col;
        const uint16_t *qc = q + col;
        int32_t *w = ws + col;
        if (!(c[8] | c[16] | c[24] | c[32] | c[40] | c[48] | c[56])) {
            int32_t dc = to_int32((int64_t)c[0] * qc[0] * 4);     /* AC all zero: flat */
            ws_bound |= mag(dc);
            w[0] = w[8] = w[16] = w[24] = w[32] = w[40] = w[48] = w[56] = dc;
            continue;
        }
        ISLOW_EVEN_ODD((int64_t)c[0] * qc[0], (int64_t)c[8] * qc[8], (int64_t)c[16] * qc[16],
                       (int64_t)c[24] * qc[24], (int64_t)c[32] * qc[32], (int64_t)c[40] * qc[40],
                       (int64_t)c[48] * qc[48], (int64_t)c[56] * qc[56]);
        w[0] = to_int32(descale(t10 + o3, 11));
        w[56] = to_int32(descale(t10 - o3, 11));
        w[8] = to_int32(descale(t11 + o2, 11));
        w[48] = to_int32(descale(t11 - o2, 11));
        w[16] = to_int32(descale(t12 + o1, 11));
        w[40] = to_int32(descale(t12 - o1, 11));
        w[24] = to_int32(descale(t13 + o0, 11));
        w[32] = to_int32(descale(t13 - o0, 11));
        ws_bound |= mag(w[0]) | mag(w[8]) | mag(w[16]) | mag(w[24]) | mag(w[32]) | mag(w[40]) |
                    mag(w[48]) | mag(w[56]);
    }
    if (simd && ws_bound > 12048) {
        jpeg_idct_8x8_lanes16(coef, q, out, stride);
        return;
    }
    /* Pass 2: rows; descale by 2^(13 + 2 + 3). */
    for (int row = 0; row < 8; row++) {
        const int32_t *w = ws + row * 8;
        uint8_t *o = out + (size_t)row * stride;
        if (!(w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])) {
            memset(o, final_sample(descale(w[0], 5), simd), 8);   /* flat row */
            continue;
        }
        ISLOW_EVEN_ODD((int64_t)w[0], (int64_t)w[1], (int64_t)w[2], (int64_t)w[3], (int64_t)w[4],
                       (int64_t)w[5], (int64_t)w[6], (int64_t)w[7]);
        o[0] = final_sample(descale(t10 + o3, 18), simd);
        o[7] = final_sample(descale(t10 - o3, 18), simd);
        o[1] = final_sample(descale(t11 + o2, 18), simd);
        o[6] = final_sample(descale(t11 - o2, 18), simd);
        o[2] = final_sample(descale(t12 + o1, 18), simd);
        o[5] = final_sample(descale(t12 - o1, 18), simd);
        o[3] = final_sample(descale(t13 + o0, 18), simd);
        o[4] = final_sample(descale(t13 - o0, 18), simd);
    }
}

/* The 4-point reduced transform (jidctred.c): the 4-point IDCT of the even
 * inputs x0, x2, x6 plus an odd part folded from x1, x3, x5, x7 (x4 is not
 * used). Defines t10, t12, a, b; outputs t10+b, t12+a, t12-a, t10-b. */
#define RED4_EVEN_ODD(x0, x1, x2, x3, x5, x6, x7)                                        \
    int64_t tmp0 = (x0) * 16384;                                                         \
    int64_t tmp2 = (x2) * FIX_1_847759065 - (x6) * FIX_0_765366865;                      \
    int64_t t10 = tmp0 + tmp2, t12 = tmp0 - tmp2;                                        \
    int64_t a = -(x7) * FIX_0_211164243 + (x5) * FIX_1_451774981 -                       \
                (x3) * FIX_2_172734803 + (x1) * FIX_1_061594337;                         \
    int64_t b = -(x7) * FIX_0_509795579 - (x5) * FIX_0_601344887 +                       \
                (x3) * FIX_0_899976223 + (x1) * FIX_2_562915447

/* 4x4 output from the 8x8 coefficients. SIMD agreement: |coef*q| <= 8191,
 * column results <= 28530 (32-bit bound 75261*max + 2^18). */
void jpeg_idct_4x4(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride, int simd) {
#if defined(__SSE2__)
    if (simd) {
        jpeg_idct_4x4_sse2(coef, q, out, stride);
        return;
    }
#endif
    if (simd && dequant_bound(coef, q) > 8191) {
        jpeg_idct_4x4_lanes16(coef, q, out, stride);
        return;
    }
    int32_t ws[8 * 4];
    uint32_t ws_bound = 0;
    for (int col = 0; col < 8; col++) {
        if (col == 4) continue;                /* the row pass does not use column 4 */
        const int16_t *c = coef + col;
        const uint16_t *qc = q + col;
        int32_t *w = ws + col;
        if (!(c[8] | c[16] | c[24] | c[40] | c[48] | c[56])) {
            int32_t dc = to_int32((int64_t)c[0] * qc[0] * 4);
            ws_bound |= mag(dc);
            w[0] = w[8] = w[16] = w[24] = dc;
            continue;
        }
        RED4_EVEN_ODD((int64_t)c[0] * qc[0], (int64_t)c[8] * qc[8], (int64_t)c[16] * qc[16],
                      (int64_t)c[24] * qc[24], (int64_t)c[40] * qc[40], (int64_t)c[48] * qc[48],
                      (int64_t)c[56] * qc[56]);
        w[0] = to_int32(descale(t10 + b, 12));
        w[24] = to_int32(descale(t10 - b, 12));
        w[8] = to_int32(descale(t12 + a, 12));
        w[16] = to_int32(descale(t12 - a, 12));
        ws_bound |= mag(w[0]) | mag(w[8]) | mag(w[16]) | mag(w[24]);
    }
    if (simd && ws_bound > 28530) {
        jpeg_idct_4x4_lanes16(coef, q, out, stride);
        return;
    }
    for (int row = 0; row < 4; row++) {
        const int32_t *w = ws + row * 8;
        uint8_t *o = out + (size_t)row * stride;
        if (!(w[1] | w[2] | w[3] | w[5] | w[6] | w[7])) {
            memset(o, final_sample(descale(w[0], 5), simd), 4);
            continue;
        }
        RED4_EVEN_ODD((int64_t)w[0], (int64_t)w[1], (int64_t)w[2], (int64_t)w[3], (int64_t)w[5],
                      (int64_t)w[6], (int64_t)w[7]);
        o[0] = final_sample(descale(t10 + b, 19), simd);
        o[3] = final_sample(descale(t10 - b, 19), simd);
        o[1] = final_sample(descale(t12 + a, 19), simd);
        o[2] = final_sample(descale(t12 - a, 19), simd);
    }
}

/* 2x2 output: DC plus the odd coefficients 1, 3, 5, 7 folded together.
 * SIMD agreement: |coef*q| <= 8191 and column results <= 16383. */
void jpeg_idct_2x2(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride, int simd) {
    if (simd && dequant_bound(coef, q) > 8191) {
        idct_2x2_simd(coef, q, out, stride);
        return;
    }
    int32_t ws[8 * 2];
    uint32_t ws_bound = 0;
    for (int col = 0; col < 8; col++) {
        if (col == 2 || col == 4 || col == 6) continue;
        const int16_t *c = coef + col;
        const uint16_t *qc = q + col;
        int32_t *w = ws + col;
        int64_t x0 = (int64_t)c[0] * qc[0];
        if (!(c[8] | c[24] | c[40] | c[56])) {                 /* odd terms zero: flat */
            w[0] = w[8] = to_int32(x0 * 4);
        } else {
            int64_t t10 = x0 * 32768;
            int64_t t0 = (int64_t)c[56] * qc[56] * -FIX_0_720959822 +
                         (int64_t)c[40] * qc[40] * FIX_0_850430095 +
                         (int64_t)c[24] * qc[24] * -FIX_1_272758580 +
                         (int64_t)c[8] * qc[8] * FIX_3_624509785;
            w[0] = to_int32(descale(t10 + t0, 13));
            w[8] = to_int32(descale(t10 - t0, 13));
        }
        ws_bound |= mag(w[0]) | mag(w[8]);
    }
    if (simd && ws_bound > 16383) {
        idct_2x2_simd(coef, q, out, stride);
        return;
    }
    for (int row = 0; row < 2; row++) {
        const int32_t *w = ws + row * 8;
        uint8_t *o = out + (size_t)row * stride;
        if (!(w[1] | w[3] | w[5] | w[7])) {
            o[0] = o[1] = final_sample(descale(w[0], 5), simd);
            continue;
        }
        int64_t t10 = (int64_t)w[0] * 32768;
        int64_t t0 = (int64_t)w[7] * -FIX_0_720959822 + (int64_t)w[5] * FIX_0_850430095 +
                     (int64_t)w[3] * -FIX_1_272758580 + (int64_t)w[1] * FIX_3_624509785;
        o[0] = final_sample(descale(t10 + t0, 20), simd);
        o[1] = final_sample(descale(t10 - t0, 20), simd);
    }
}

/* 1x1 output: the block average, DC / 8 (C code in every build; SIMD
 * builds store the multipliers as 16-bit shorts). */
void jpeg_idct_1x1(const int16_t *coef, const uint16_t *q, uint8_t *out, int short_quant) {
    int32_t qv = short_quant ? (int32_t)(int16_t)q[0] : (int32_t)q[0];
    out[0] = clamp_sample(descale((int64_t)coef[0] * qv, 3));
}

/* ---- libjpeg-turbo's x86 SIMD IDCTs, exactly (SSE2 and AVX2 compute the same) ----
 * The formulas above, rearranged as that code does, in 16-bit lanes:
 * coef*quant keeps its low 16 bits (pmullw), sums of two 16-bit values wrap
 * (paddw), 16x16-bit products are added in pairs into 32 bits (pmaddwd),
 * 32-bit sums wrap (paddd), and each pass's results saturate to 16 bits
 * (packssdw). Used only for blocks whose values are out of the range where
 * the C code gives the same answer (damaged data). */

static inline int32_t wrap16(int32_t v) { return (int16_t)(uint16_t)(uint32_t)v; }
static inline int32_t sat16(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }
/* 32-bit wrapping add/sub (the uint32 -> int32 conversion wraps in gcc/clang). */
static inline int32_t add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t sub32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
static inline int32_t descale32(int32_t x, int n) { return add32(x, 1 << (n - 1)) >> n; }
static inline int32_t dequant16(int16_t c, uint16_t q) {
    return wrap16((int32_t)c * (int32_t)(int16_t)q);
}

/* One 8-point islow pass on 16-bit values in[0..7] -> 16-bit out[0..7]. */
static inline void simd_islow_pass(const int32_t *in, int n, int32_t *out) {
    int32_t tmp3 = in[2] * (FIX_0_541196100 + FIX_0_765366865) + in[6] * FIX_0_541196100;
    int32_t tmp2 = in[2] * FIX_0_541196100 + in[6] * (FIX_0_541196100 - FIX_1_847759065);
    int32_t tmp0 = wrap16(in[0] + in[4]) * 8192, tmp1 = wrap16(in[0] - in[4]) * 8192;
    int32_t t10 = add32(tmp0, tmp3), t13 = sub32(tmp0, tmp3);
    int32_t t11 = add32(tmp1, tmp2), t12 = sub32(tmp1, tmp2);
    int32_t z3 = wrap16(in[3] + in[7]), z4 = wrap16(in[1] + in[5]);
    int32_t zz3 = z3 * (FIX_1_175875602 - FIX_1_961570560) + z4 * FIX_1_175875602;
    int32_t zz4 = z3 * FIX_1_175875602 + z4 * (FIX_1_175875602 - FIX_0_390180644);
    int32_t o0 = add32(in[7] * (FIX_0_298631336 - FIX_0_899976223) + in[1] * -FIX_0_899976223, zz3);
    int32_t o3 = add32(in[7] * -FIX_0_899976223 + in[1] * (FIX_1_501321110 - FIX_0_899976223), zz4);
    int32_t o1 = add32(in[5] * (FIX_2_053119869 - FIX_2_562915447) + in[3] * -FIX_2_562915447, zz4);
    int32_t o2 = add32(in[5] * -FIX_2_562915447 + in[3] * (FIX_3_072711026 - FIX_2_562915447), zz3);
    out[0] = sat16(descale32(add32(t10, o3), n));
    out[7] = sat16(descale32(sub32(t10, o3), n));
    out[1] = sat16(descale32(add32(t11, o2), n));
    out[6] = sat16(descale32(sub32(t11, o2), n));
    out[2] = sat16(descale32(add32(t12, o1), n));
    out[5] = sat16(descale32(sub32(t12, o1), n));
    out[3] = sat16(descale32(add32(t13, o0), n));
    out[4] = sat16(descale32(sub32(t13, o0), n));
}

void jpeg_idct_8x8_lanes16(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride) {
    int32_t ws[64], col[8], res[8];
    int ac_zero = 1;                /* the SIMD shortcut looks at rows 1..7 of all columns */
    for (int k = 8; k < 64; k++) ac_zero &= coef[k] == 0;
    for (int c = 0; c < 8; c++) {
        if (ac_zero || (!coef[8 + c] && !coef[16 + c] && !coef[24 + c] && !coef[32 + c] &&
                        !coef[40 + c] && !coef[48 + c] && !coef[56 + c])) {
            /* flat column: the full pass gives sat16(4 dc); the block
             * shortcut computes 4 dc with a 16-bit shift (wraps) */
            int32_t dc4 = dequant16(coef[c], q[c]) * 4;
            int32_t v = ac_zero ? wrap16(dc4) : sat16(dc4);
            for (int r = 0; r < 8; r++) ws[r * 8 + c] = v;
            continue;
        }
        for (int r = 0; r < 8; r++) col[r] = dequant16(coef[r * 8 + c], q[r * 8 + c]);
        simd_islow_pass(col, 11, res);
        for (int r = 0; r < 8; r++) ws[r * 8 + c] = res[r];
    }
    for (int r = 0; r < 8; r++) {
        const int32_t *w = ws + r * 8;
        uint8_t *o = out + (size_t)r * stride;
        if (!w[1] && !w[2] && !w[3] && !w[4] && !w[5] && !w[6] && !w[7]) {
            memset(o, simd_sample((w[0] + 16) >> 5), 8);    /* = the full pass on a flat row */
            continue;
        }
        simd_islow_pass(w, 18, res);
        for (int c = 0; c < 8; c++) o[c] = simd_sample(res[c]);
    }
}

/* 4-point output pass pieces shared by both passes of the 4x4 IDCT. */
static inline void simd_4x4_pass(const int32_t *in, int n, int32_t *out) {
    int32_t tmp2o = add32(in[1] * FIX_2_562915447 + in[3] * FIX_0_899976223,
                          in[5] * -FIX_0_601344887 + in[7] * -FIX_0_509795579);
    int32_t tmp0o = add32(in[1] * FIX_1_061594337 + in[3] * -FIX_2_172734803,
                          in[5] * FIX_1_451774981 + in[7] * -FIX_0_211164243);
    int32_t tmp0e = in[0] * 16384;
    int32_t tmp2e = in[2] * FIX_1_847759065 + in[6] * -FIX_0_765366865;
    int32_t t10 = add32(tmp0e, tmp2e), t12 = sub32(tmp0e, tmp2e);
    out[0] = descale32(add32(t10, tmp2o), n);
    out[3] = descale32(sub32(t10, tmp2o), n);
    out[1] = descale32(add32(t12, tmp0o), n);
    out[2] = descale32(sub32(t12, tmp0o), n);
}

void jpeg_idct_4x4_lanes16(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride) {
    int32_t ws[4 * 8], col[8], res[4];
    int ac_zero = 1;                /* rows 1, 2, 3, 5, 6, 7 */
    for (int k = 8; k < 64; k++) ac_zero &= (k >> 3) == 4 || coef[k] == 0;
    for (int c = 0; c < 8; c++) {
        if (ac_zero) {
            int32_t v = wrap16(dequant16(coef[c], q[c]) * 4);
            for (int r = 0; r < 4; r++) ws[r * 8 + c] = v;
            continue;
        }
        for (int r = 0; r < 8; r++) col[r] = dequant16(coef[r * 8 + c], q[r * 8 + c]);
        simd_4x4_pass(col, 12, res);
        for (int r = 0; r < 4; r++) ws[r * 8 + c] = sat16(res[r]);
    }
    for (int r = 0; r < 4; r++) {
        simd_4x4_pass(ws + r * 8, 19, res);
        uint8_t *o = out + (size_t)r * stride;
        for (int c = 0; c < 4; c++) o[c] = simd_sample(sat16(res[c]));
    }
}

static void idct_2x2_simd(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride) {
    int32_t ws[2][8];               /* pass-1 rows 0 and 1, kept in 32 bits */
    static const int cols[5] = {0, 1, 3, 5, 7};
    for (int i = 0; i < 5; i++) {
        int c = cols[i];
        int32_t in0 = dequant16(coef[c], q[c]), in1 = dequant16(coef[8 + c], q[8 + c]);
        int32_t in3 = dequant16(coef[24 + c], q[24 + c]), in5 = dequant16(coef[40 + c], q[40 + c]);
        int32_t in7 = dequant16(coef[56 + c], q[56 + c]);
        int32_t tmp0 = add32(in1 * FIX_3_624509785 + in3 * -FIX_1_272758580,
                             in5 * FIX_0_850430095 + in7 * -FIX_0_720959822);
        int32_t tmp10 = in0 * 32768;
        ws[0][c] = descale32(add32(tmp10, tmp0), 13);
        ws[1][c] = descale32(sub32(tmp10, tmp0), 13);
    }
    for (int r = 0; r < 2; r++) {
        const int32_t *w = ws[r];
        /* odd columns are packed to 16 bits first; column 0 is shifted in 32 bits */
        int32_t tmp0 = add32(sat16(w[1]) * FIX_3_624509785 + sat16(w[3]) * -FIX_1_272758580,
                             sat16(w[5]) * FIX_0_850430095 + sat16(w[7]) * -FIX_0_720959822);
        int32_t tmp10 = to_int32((int64_t)((uint64_t)(uint32_t)w[0] << 15));
        uint8_t *o = out + (size_t)r * stride;
        o[0] = simd_sample(sat16(descale32(add32(tmp10, tmp0), 20)));
        o[1] = simd_sample(sat16(descale32(sub32(tmp10, tmp0), 20)));
    }
}


/* ---- the same 8x8 x86 arithmetic with SSE2 vectors ----
 * A vector holds one row of 8 16-bit values, so the column pass works on 8
 * columns at once; the block is transposed for the row pass and back for
 * the output. The lane operations are those of jpeg_idct_8x8_lanes16:
 * pmullw (dequantise, low 16 bits), paddw/psubw (16-bit wrap), pmaddwd
 * (a*c1 + b*c2 into 32 bits; exact here, no constant is -32768), paddd /
 * psubd (32-bit wrap), psrad (arithmetic shift), packssdw / packsswb
 * (saturation). */
#if defined(__SSE2__)

/* 8 32-bit lanes: 0-3 in lo, 4-7 in hi */
typedef struct { __m128i lo, hi; } i32x8_t;

/* a * c1 + b * c2 per lane, in 32 bits */
static inline i32x8_t madd_pair(__m128i a, __m128i b, int16_t c1, int16_t c2) {
    const __m128i c = _mm_set_epi16(c2, c1, c2, c1, c2, c1, c2, c1);
    i32x8_t r = {_mm_madd_epi16(_mm_unpacklo_epi16(a, b), c),
                 _mm_madd_epi16(_mm_unpackhi_epi16(a, b), c)};
    return r;
}
static inline i32x8_t add_i32x8(i32x8_t a, i32x8_t b) {
    i32x8_t r = {_mm_add_epi32(a.lo, b.lo), _mm_add_epi32(a.hi, b.hi)};
    return r;
}
static inline i32x8_t sub_i32x8(i32x8_t a, i32x8_t b) {
    i32x8_t r = {_mm_sub_epi32(a.lo, b.lo), _mm_sub_epi32(a.hi, b.hi)};
    return r;
}
/* x * 8192 in 32 bits: (x << 16) >> 3 */
static inline i32x8_t times8192(__m128i x) {
    i32x8_t r = {_mm_srai_epi32(_mm_unpacklo_epi16(_mm_setzero_si128(), x), 3),
                 _mm_srai_epi32(_mm_unpackhi_epi16(_mm_setzero_si128(), x), 3)};
    return r;
}
/* sat16(descale32(x, n)) */
static inline __m128i descale_pack(i32x8_t x, int n) {
    const __m128i round = _mm_set1_epi32(1 << (n - 1));
    return _mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(x.lo, round), n),
                           _mm_srai_epi32(_mm_add_epi32(x.hi, round), n));
}

/* One islow pass (simd_islow_pass) on 8 lanes: v[k] holds input k. */
static inline void islow_pass_sse2(__m128i v[8], int n) {
    const i32x8_t tmp3 = madd_pair(v[2], v[6], FIX_0_541196100 + FIX_0_765366865, FIX_0_541196100);
    const i32x8_t tmp2 = madd_pair(v[2], v[6], FIX_0_541196100, FIX_0_541196100 - FIX_1_847759065);
    const i32x8_t tmp0 = times8192(_mm_add_epi16(v[0], v[4]));
    const i32x8_t tmp1 = times8192(_mm_sub_epi16(v[0], v[4]));
    const i32x8_t t10 = add_i32x8(tmp0, tmp3), t13 = sub_i32x8(tmp0, tmp3);
    const i32x8_t t11 = add_i32x8(tmp1, tmp2), t12 = sub_i32x8(tmp1, tmp2);
    const __m128i z3 = _mm_add_epi16(v[3], v[7]), z4 = _mm_add_epi16(v[1], v[5]);
    const i32x8_t zz3 = madd_pair(z3, z4, FIX_1_175875602 - FIX_1_961570560, FIX_1_175875602);
    const i32x8_t zz4 = madd_pair(z3, z4, FIX_1_175875602, FIX_1_175875602 - FIX_0_390180644);
    const i32x8_t o0 =
        add_i32x8(madd_pair(v[7], v[1], FIX_0_298631336 - FIX_0_899976223, -FIX_0_899976223), zz3);
    const i32x8_t o3 =
        add_i32x8(madd_pair(v[7], v[1], -FIX_0_899976223, FIX_1_501321110 - FIX_0_899976223), zz4);
    const i32x8_t o1 =
        add_i32x8(madd_pair(v[5], v[3], FIX_2_053119869 - FIX_2_562915447, -FIX_2_562915447), zz4);
    const i32x8_t o2 =
        add_i32x8(madd_pair(v[5], v[3], -FIX_2_562915447, FIX_3_072711026 - FIX_2_562915447), zz3);
    v[0] = descale_pack(add_i32x8(t10, o3), n);
    v[7] = descale_pack(sub_i32x8(t10, o3), n);
    v[1] = descale_pack(add_i32x8(t11, o2), n);
    v[6] = descale_pack(sub_i32x8(t11, o2), n);
    v[2] = descale_pack(add_i32x8(t12, o1), n);
    v[5] = descale_pack(sub_i32x8(t12, o1), n);
    v[3] = descale_pack(add_i32x8(t13, o0), n);
    v[4] = descale_pack(sub_i32x8(t13, o0), n);
}

/* v[r][c] -> v[c][r] for 8x8 16-bit values */
static inline void transpose8x16(__m128i v[8]) {
    const __m128i a0 = _mm_unpacklo_epi16(v[0], v[1]), a1 = _mm_unpackhi_epi16(v[0], v[1]);
    const __m128i a2 = _mm_unpacklo_epi16(v[2], v[3]), a3 = _mm_unpackhi_epi16(v[2], v[3]);
    const __m128i a4 = _mm_unpacklo_epi16(v[4], v[5]), a5 = _mm_unpackhi_epi16(v[4], v[5]);
    const __m128i a6 = _mm_unpacklo_epi16(v[6], v[7]), a7 = _mm_unpackhi_epi16(v[6], v[7]);
    const __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2);
    const __m128i b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3);
    const __m128i b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6);
    const __m128i b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
    v[0] = _mm_unpacklo_epi64(b0, b4);
    v[1] = _mm_unpackhi_epi64(b0, b4);
    v[2] = _mm_unpacklo_epi64(b1, b5);
    v[3] = _mm_unpackhi_epi64(b1, b5);
    v[4] = _mm_unpacklo_epi64(b2, b6);
    v[5] = _mm_unpackhi_epi64(b2, b6);
    v[6] = _mm_unpacklo_epi64(b3, b7);
    v[7] = _mm_unpackhi_epi64(b3, b7);
}

/* v[r] = row r of coef * q (pmullw); returns 1 if the coefficients of rows
 * 1..7 are all zero, leaving out row `ignored` (the SIMD code's AC-zero test) */
static inline int load_dequant(const int16_t *coef, const uint16_t *q, int ignored, __m128i v[8]) {
    __m128i ac = _mm_setzero_si128();
    for (int r = 0; r < 8; r++) {
        const __m128i c = _mm_loadu_si128((const __m128i *)(coef + 8 * r));
        if (r && r != ignored) ac = _mm_or_si128(ac, c);
        v[r] = _mm_mullo_epi16(c, _mm_loadu_si128((const __m128i *)(q + 8 * r)));
    }
    return _mm_movemask_epi8(_mm_cmpeq_epi16(ac, _mm_setzero_si128())) == 0xFFFF;
}

int jpeg_idct_8x8_sse2(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride) {
    __m128i v[8];
    if (load_dequant(coef, q, -1, v)) {
        /* AC all zero: every column is 4 dc, shifted in 16 bits (wraps) */
        const __m128i dc4 = _mm_slli_epi16(v[0], 2);
        for (int r = 0; r < 8; r++) v[r] = dc4;
    } else {
        islow_pass_sse2(v, 11); /* columns: v[r] = row r */
    }
    transpose8x16(v);           /* v[c] = column c of the rows */
    islow_pass_sse2(v, 18);     /* rows: v[k] = output column k, lane = row */
    transpose8x16(v);           /* v[r] = output row r */
    const __m128i center = _mm_set1_epi8((char)0x80);
    for (int r = 0; r < 8; r += 2) {
        /* saturate to -128..127, + 128 */
        const __m128i b = _mm_xor_si128(_mm_packs_epi16(v[r], v[r + 1]), center);
        _mm_storel_epi64((__m128i *)(out + (size_t)r * stride), b);
        _mm_storel_epi64((__m128i *)(out + (size_t)(r + 1) * stride), _mm_srli_si128(b, 8));
    }
    return 0;
}

/* The 4-point pass (simd_4x4_pass) on 8 lanes, without the final
 * saturation: v[k] holds input k (4 unused); out[i] = output i. */
static inline void red4_pass_sse2(const __m128i v[8], int n, i32x8_t out[4]) {
    const i32x8_t tmp2o = add_i32x8(madd_pair(v[1], v[3], FIX_2_562915447, FIX_0_899976223),
                                    madd_pair(v[5], v[7], -FIX_0_601344887, -FIX_0_509795579));
    const i32x8_t tmp0o = add_i32x8(madd_pair(v[1], v[3], FIX_1_061594337, -FIX_2_172734803),
                                    madd_pair(v[5], v[7], FIX_1_451774981, -FIX_0_211164243));
    const i32x8_t tmp0e = {_mm_srai_epi32(_mm_unpacklo_epi16(_mm_setzero_si128(), v[0]), 2),
                           _mm_srai_epi32(_mm_unpackhi_epi16(_mm_setzero_si128(), v[0]), 2)};
    const i32x8_t tmp2e = madd_pair(v[2], v[6], FIX_1_847759065, -FIX_0_765366865);
    const i32x8_t t10 = add_i32x8(tmp0e, tmp2e), t12 = sub_i32x8(tmp0e, tmp2e);
    const __m128i round = _mm_set1_epi32(1 << (n - 1));
    const i32x8_t r[4] = {add_i32x8(t10, tmp2o), add_i32x8(t12, tmp0o), sub_i32x8(t12, tmp0o),
                          sub_i32x8(t10, tmp2o)};
    for (int i = 0; i < 4; i++) {
        out[i].lo = _mm_srai_epi32(_mm_add_epi32(r[i].lo, round), n);
        out[i].hi = _mm_srai_epi32(_mm_add_epi32(r[i].hi, round), n);
    }
}

int jpeg_idct_4x4_sse2(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride) {
    __m128i v[8], w[8]; /* w: rows 0..3 of the column pass, then zeros */
    if (load_dequant(coef, q, 4, v)) { /* row 4 is not used */
        const __m128i dc4 = _mm_slli_epi16(v[0], 2); /* 4 dc, wrapping in 16 bits */
        for (int r = 0; r < 4; r++) w[r] = dc4;
    } else {
        i32x8_t o[4];
        red4_pass_sse2(v, 12, o);
        for (int r = 0; r < 4; r++) w[r] = _mm_packs_epi32(o[r].lo, o[r].hi);
    }
    for (int r = 4; r < 8; r++) w[r] = _mm_setzero_si128();
    transpose8x16(w); /* w[c], lanes 0..3 = rows 0..3 */
    i32x8_t o[4];
    red4_pass_sse2(w, 19, o); /* o[c], lanes = rows */
    __m128i c16[4];
    for (int c = 0; c < 4; c++) c16[c] = _mm_packs_epi32(o[c].lo, o[c].hi);
    /* 4x4 transpose: rows 0, 1 then rows 2, 3, as 16-bit values */
    const __m128i a = _mm_unpacklo_epi16(c16[0], c16[1]), b = _mm_unpacklo_epi16(c16[2], c16[3]);
    const __m128i rows01 = _mm_unpacklo_epi32(a, b), rows23 = _mm_unpackhi_epi32(a, b);
    const __m128i px = _mm_xor_si128(_mm_packs_epi16(rows01, rows23), _mm_set1_epi8((char)0x80));
    uint8_t bytes[16];
    _mm_storeu_si128((__m128i *)bytes, px);
    for (int r = 0; r < 4; r++) memcpy(out + (size_t)r * stride, bytes + 4 * r, 4);
    return 0;
}

#else

int jpeg_idct_4x4_sse2(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride) {
    (void)coef, (void)q, (void)out, (void)stride;
    return -1;
}

int jpeg_idct_8x8_sse2(const int16_t *coef, const uint16_t *q, uint8_t *out, size_t stride) {
    (void)coef, (void)q, (void)out, (void)stride;
    return -1;
}

#endif

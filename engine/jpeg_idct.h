/* jpeg_idct.h — the JPEG decoder's dequantisation + inverse DCTs, byte for
 * byte as libjpeg-turbo 2.0.1 computes them (jidctint.c islow 8x8,
 * jidctred.c 4x4 / 2x2 / 1x1), in either of its two arithmetics:
 *
 *   x86 = 1  its x86 SIMD code (SSE2/AVX2, 16-bit lanes; what x86 builds
 *            of libjpeg-turbo, and so Twitter's tool, run)
 *   x86 = 0  its portable C code (builds without SIMD)
 *
 * They give the same pixels unless coefficients are large enough to
 * overflow 16 bits (damaged data). Each call turns one 8x8 block of
 * coefficients coef[64] (natural order) and its quantisation table
 * quant[64] into an NxN block of 8-bit samples at out (rows `stride` bytes
 * apart).
 *
 * Used by jpeg.c; the tests call the pieces directly.
 */
#ifndef SALIENT_JPEG_IDCT_H
#define SALIENT_JPEG_IDCT_H

#include <stddef.h>
#include <stdint.h>

void jpeg_idct_8x8(const int16_t *coef, const uint16_t *quant, uint8_t *out, size_t stride,
                   int x86);
void jpeg_idct_4x4(const int16_t *coef, const uint16_t *quant, uint8_t *out, size_t stride,
                   int x86);
void jpeg_idct_2x2(const int16_t *coef, const uint16_t *quant, uint8_t *out, size_t stride,
                   int x86);
void jpeg_idct_1x1(const int16_t *coef, const uint16_t *quant, uint8_t *out, int x86);

/* The x86 arithmetic of the 8x8 and 4x4 IDCTs two more ways, for the tests:
 *   lanes16 — one value at a time, every 16-bit wrap and saturation of the
 *             SIMD code written out (the reference);
 *   sse2    — with SSE2 vectors, 8 lanes at a time (what jpeg_idct_8x8 /
 *             _4x4 run for x86 = 1 when built for x86-64); returns 0, or -1
 *             when this build has no SSE2 (nothing written). */
void jpeg_idct_8x8_lanes16(const int16_t *coef, const uint16_t *quant, uint8_t *out,
                           size_t stride);
int jpeg_idct_8x8_sse2(const int16_t *coef, const uint16_t *quant, uint8_t *out,
                       size_t stride);
void jpeg_idct_4x4_lanes16(const int16_t *coef, const uint16_t *quant, uint8_t *out,
                           size_t stride);
int jpeg_idct_4x4_sse2(const int16_t *coef, const uint16_t *quant, uint8_t *out,
                       size_t stride);

#endif

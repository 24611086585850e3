/* imagecore.h — the image resizing of Twitter's `candidate_crops`, bit for bit.
 *
 * The tool resizes with imagecore's fixed-point filters; to reproduce its
 * saliency exactly we must reproduce its pixels exactly. Three filters
 * (docs/saliency.md, section 2.4):
 *
 *   reduceHalf        2x2 box, out = (a+b+c+d) >> 2, size floor(W/2) x floor(H/2)
 *   Lanczos-2 4x4     upsampling; 16.16 weights, row sums >> 10, then >> 22
 *   Lanczos-3 12-tap  downsampling, separable (horizontal, then vertical),
 *                     16.16 weights, (sum + 0x7FFF) >> 16 per pass
 *
 * and the EXIF orientations 1..8. Images are 8-bit HWC with any channel
 * count (image_u8_t, rows packed); the channels are filtered independently.
 * Outputs are malloc'ed (free with image_free).
 */
#ifndef SALIENT_IMAGECORE_H
#define SALIENT_IMAGECORE_H

#include "common.h"
#include "png.h"

#include <stdint.h>

#define IMAGECORE_FIXED_TAPS 4
#define IMAGECORE_ADAPTIVE_TAPS 12

/* One axis of the Lanczos-2 upsampler: for output i the taps are source
 * indices start[i]-1 .. start[i]+2 (clamped), weights coef[i][0..3] (16.16). */
void imagecore_fixed_kernel(int in_size, int out_size, int *start,
                            int32_t (*coef)[IMAGECORE_FIXED_TAPS]);
/* One axis of the Lanczos-3 downsampler: taps start[i] .. start[i]+11
 * (clamped), weights coef[i][0..11] (16.16; zero past the window). */
void imagecore_adaptive_kernel(int in_size, int out_size, int *start,
                               int32_t (*coef)[IMAGECORE_ADAPTIVE_TAPS]);

/* The filters (each allocates *out). */
int imagecore_reduce_half(const image_u8_t *in, image_u8_t *out, sal_err_t *err);
int imagecore_upsample_4x4(const image_u8_t *in, int out_w, int out_h, image_u8_t *out,
                           sal_err_t *err);
/* acc[i] += cf * src[i], i < n (the downsampling's inner loop; AVX2 version,
 * call only when cpu_isa() >= ISA_AVX2). */
void imagecore_row_madd_avx2(int32_t *acc, const uint8_t *src, size_t n, int32_t cf);
int imagecore_downsample_12(const image_u8_t *in, int out_w, int out_h, image_u8_t *out,
                            sal_err_t *err);

/* ImagePlane::resize(dest, High): copy, upsample (if either side grows) or
 * reduceHalf steps + Lanczos-3. */
int imagecore_resize(const image_u8_t *in, int out_w, int out_h, image_u8_t *out,
                     sal_err_t *err);
/* ResizeCropOperation::resize: reduceHalf while both halves still cover the
 * target, then imagecore_resize if the size is not yet the target. */
int imagecore_fit(const image_u8_t *in, int out_w, int out_h, image_u8_t *out,
                  sal_err_t *err);
/* EXIF orientation (1..8; others act as 1): 2 mirror, 3 rotate 180, 4 flip,
 * 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise. */
int imagecore_orient(const image_u8_t *in, int orientation, image_u8_t *out, sal_err_t *err);

#endif

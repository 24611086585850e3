/* resize.h — general-purpose image resizing for figures (frame strips,
 * thumbnails): a separable triangle (bilinear) filter whose support widens
 * when shrinking, so downscaling averages instead of aliasing. (The saliency
 * model's exact fixed-point resizers live with the model in nets/.) */
#ifndef SALIENT_RESIZE_H
#define SALIENT_RESIZE_H

#include "common.h"

/* src (sh, sw, ch) -> dst (dh, dw, ch), 8-bit interleaved, ch 1..4. */
int resize_u8(const uint8_t *src, int sw, int sh, int ch, uint8_t *dst, int dw, int dh,
              sal_err_t *err);

#endif

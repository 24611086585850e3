/* png.h — PNG decoding (all standard colour types and bit depths, palette,
 * tRNS, Adam7) and 8-bit encoding, on zlib. Decoding validates everything
 * (chunk CRCs, lengths, IHDR fields, filter types, decompressed size) and
 * never reads out of bounds.
 */
#ifndef SALIENT_PNG_H
#define SALIENT_PNG_H

#include "common.h"

/* A decoded 8-bit image: channels 1 (gray), 2 (gray+alpha), 3 (RGB) or
 * 4 (RGBA), rows packed (stride = width * channels). Free with image_free. */
typedef struct image_u8 {
    int width, height, channels;
    uint8_t *pixels;
} image_u8_t;

void image_free(image_u8_t *img);

/* What the PNG file says, before any conversion (for callers that care,
 * e.g. the saliency tool's rules for 16-bit and palette images). */
typedef struct png_info {
    int width, height;
    int bit_depth;     /* 1, 2, 4, 8, 16 */
    int color_type;    /* 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA */
    int interlaced;    /* Adam7 */
    int has_trns;
} png_info_t;

/* Decodes to 8 bits per sample (16-bit samples: high byte, i.e. v >> 8).
 * Output channels: gray 1, gray+alpha 2, RGB 3, RGBA 4; palette expands to
 * RGB, or RGBA if it has tRNS; gray/RGB with tRNS expand to gray+alpha/RGBA.
 * `name` is used in error messages. max_pixels bounds width*height (0 = 2^28). */
int png_decode(const uint8_t *data, size_t size, const char *name, size_t max_pixels,
               image_u8_t *out, png_info_t *info, sal_err_t *err);
int png_load(const char *path, image_u8_t *out, png_info_t *info, sal_err_t *err);

/* Encodes 8-bit gray (1), gray+alpha (2), RGB (3) or RGBA (4); the result is
 * malloc'ed. level: zlib level 0..9 (-1 default). */
int png_encode(const uint8_t *pixels, int width, int height, int channels, int level,
               uint8_t **out, size_t *out_size, sal_err_t *err);
/* Encodes and writes atomically. */
int png_save(const char *path, const uint8_t *pixels, int width, int height, int channels,
             sal_err_t *err);

/* 1 if data starts with the PNG signature. */
int png_sniff(const uint8_t *data, size_t size);

#endif

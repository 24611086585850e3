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

/* Decoding limit, in bytes a decoder holds at once: the decoded output plus
 * its full-size intermediate buffers (PNG: the inflated scanlines; JPEG: the
 * component planes and, for progressive or multi-scan files, the DCT
 * coefficients). Checked on the header, before anything is allocated, so a
 * small file claiming a huge image fails at once. 256 MiB covers 8-bit RGB
 * PNGs up to ~40 MP and 4:2:0 baseline JPEGs up to ~55 MP at full size (the
 * saliency path decodes large JPEGs at 1/2..1/8 scale, needing far less);
 * a 16384^2 RGBA16 PNG (3 GiB) or a 65500^2 JPEG at 1/8 (400 MB) is refused.
 * The programs raise it with the environment variable SALIENT_MAX_IMAGE_MB. */
#define SAL_IMAGE_DEFAULT_MAX_BYTES ((size_t)256 << 20)

/* png_decode/png_load return PNG_ERR_FORMAT (-2) when the file fails before
 * any image data is read (bad signature, bad IHDR, unknown critical chunk,
 * damaged chunk before the first IDAT chunk header): there libpng's
 * png_read_info fails and the tool reports "unknown or corrupt image format"
 * (exit 4). Errors in or after the image data (bad IDAT CRC, zlib error,
 * truncation, bad filter type, ...) return -1 (the tool: "unable to read
 * source image", exit 1). png_load also returns -1 if the file can't be read. */
#define PNG_ERR_FORMAT (-2)

/* What the PNG file says, before any conversion (for callers that care,
 * e.g. the saliency tool's rules for 16-bit and palette images). */
typedef struct png_info {
    int width, height;
    int bit_depth;     /* 1, 2, 4, 8, 16 */
    int color_type;    /* 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA */
    int interlaced;    /* Adam7 */
    int has_trns;
} png_info_t;

/* Decodes to 8 bits per sample (16-bit samples: high byte, i.e. v >> 8;
 * 1/2/4-bit gray scaled to 0..255 as libpng does: x255, x85, x17).
 * Output channels: gray 1, gray+alpha 2, RGB 3, RGBA 4; palette expands to
 * RGB, or RGBA if it has tRNS; RGB with a tRNS colour key expands to RGBA
 * (alpha 0 where the pixel equals the key, compared at full bit depth).
 * Rules taken from Twitter's tool (docs/saliency.md §2.2, §7.1):
 *  - a gray tRNS key is IGNORED (output stays 1 channel; info->has_trns is 1);
 *  - ancillary chunks never fail a decode: one with a bad CRC, or an invalid,
 *    duplicate or misplaced tRNS, is dropped (libpng warns and discards it);
 *  - PLTE in a non-palette image is ignored; palette entries beyond
 *    2^bit_depth are dropped. A palette index >= the palette size is an error.
 * `name` is used in error messages. max_pixels bounds width*height (0 = 2^28).
 * Returns 0, PNG_ERR_FORMAT or -1 (see above). */
int png_decode(const uint8_t *data, size_t size, const char *name, size_t max_pixels,
               image_u8_t *out, png_info_t *info, sal_err_t *err);
/* The same with every limit: max_pixels as above, max_bytes bounds the
 * decoder's memory (SAL_IMAGE_DEFAULT_MAX_BYTES when 0). png_decode uses
 * the default max_bytes. opts may be NULL. */
typedef struct png_decode_opts {
    size_t max_pixels;
    size_t max_bytes;
} png_decode_opts_t;
int png_decode_ex(const uint8_t *data, size_t size, const char *name, const png_decode_opts_t *opts,
                  image_u8_t *out, png_info_t *info, sal_err_t *err);
/* Reads only the signature and the IHDR chunk (its CRC checked): size, bit
 * depth, colour type, interlace (has_trns is not known: 0). Returns 0 or
 * PNG_ERR_FORMAT. */
int png_read_header(const uint8_t *data, size_t size, const char *name, png_info_t *info, sal_err_t *err);
/* Bytes png_decode_ex would hold for this header (see
 * SAL_IMAGE_DEFAULT_MAX_BYTES), at most; UINT64_MAX if absurd. */
uint64_t png_decode_bytes(const png_info_t *info);
int png_load(const char *path, image_u8_t *out, png_info_t *info, sal_err_t *err);

/* Encodes 8-bit gray (1), gray+alpha (2), RGB (3) or RGBA (4); the result is
 * malloc'ed. level: zlib level 0..9 (-1 default). */
int png_encode(const uint8_t *pixels, int width, int height, int channels, int level,
               uint8_t **out, size_t *out_size, sal_err_t *err);
/* Encodes with zlib level PNG_SAVE_LEVEL and writes atomically. Level 2:
 * a generated 1024x1024 image encodes in ~0.1 s instead of ~0.4 s at zlib's
 * default 6, for a file ~6% larger. */
#define PNG_SAVE_LEVEL 2
int png_save(const char *path, const uint8_t *pixels, int width, int height, int channels,
             sal_err_t *err);

/* 1 if data starts with the PNG signature. */
int png_sniff(const uint8_t *data, size_t size);

#endif

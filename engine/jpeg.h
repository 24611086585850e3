/* jpeg.h — baseline and progressive JPEG decoder (Huffman, 8-bit), written
 * to reproduce libjpeg-turbo 2.0.1 byte for byte as Twitter's candidate_crops
 * tool uses it: integer "islow" IDCT, fancy upsampling, block smoothing of
 * incomplete progressive scans, scaled decoding (1/2, 1/4, 1/8 through the
 * reduced-size IDCTs, with subsampled components decoded at a larger IDCT
 * size), and libjpeg's handling of damaged data (a truncated or corrupt scan
 * is decoded as far as it goes, the rest is filled like libjpeg fills it,
 * no error). Header errors (bad markers, impossible sizes, missing tables)
 * and unsupported files (12-bit, arithmetic coding, lossless, 2 or >4
 * components) return a clear error. See docs/saliency.md §2.2.
 */
#ifndef SALIENT_JPEG_H
#define SALIENT_JPEG_H

#include "png.h"   /* image_u8_t, image_free */

typedef enum jpeg_color {
    JPEG_COLOR_GRAY = 1,    /* 1 component */
    JPEG_COLOR_YCBCR = 2,   /* 3 components, converted to RGB */
    JPEG_COLOR_RGB = 3,     /* 3 components stored as RGB (Adobe transform 0, or ids 'R','G','B') */
    JPEG_COLOR_CMYK = 4,    /* 4 components, Adobe transform 0 (or no Adobe marker) */
    JPEG_COLOR_YCCK = 5     /* 4 components, Adobe transform 2 */
} jpeg_color_t;

/* What the file says (frame header, markers), before decoding. */
typedef struct jpeg_header {
    int width, height;      /* image size in the file */
    int components;         /* 1, 3 or 4 */
    int progressive;        /* SOF2 */
    jpeg_color_t color;
    int h_samp[4], v_samp[4];  /* sampling factors per component */
    int orientation;        /* EXIF orientation 1..8 (1 when absent) */
} jpeg_header_t;

/* Default scan limit: real files have 1 (baseline) to ~20 (progressive). */
#define JPEG_MAX_SCANS 1000

typedef struct jpeg_decode_opts {
    int scale_denom;        /* 1 (also when 0), 2, 4 or 8: output is ceil(size / denom) */
    size_t max_pixels;      /* bound on output pixels and on buffered full-size
                             * blocks of multi-scan files; 0 = 2^28 */
    int raw_cmyk;           /* 4-component files: return the 4 decoded C,M,Y,K samples
                             * (as libjpeg's JCS_CMYK output) instead of RGB */
    int max_scans;          /* refuse files with more scans than this (a progressive
                             * file can repeat scans to make decoding arbitrarily
                             * slow); 0 = JPEG_MAX_SCANS */
    size_t max_bytes;       /* bound on the decoder's memory: output + component planes
                             * + coefficient buffers, checked on the header before
                             * allocating; 0 = SAL_IMAGE_DEFAULT_MAX_BYTES (png.h) */
    int portable_idct;      /* 0 (default): the IDCT arithmetic of libjpeg-turbo's x86
                             * SIMD code (SSE2/AVX2, 16-bit lanes), as in x86 builds;
                             * 1: its portable C code (builds without SIMD). They give
                             * the same pixels unless coefficients overflow 16 bits
                             * (damaged data). */
} jpeg_decode_opts_t;

/* 1 if the data starts with the JPEG SOI marker FF D8. */
int jpeg_sniff(const uint8_t *data, size_t size);

/* Reads the markers up to the first scan (SOS): size, components, colour
 * space, EXIF orientation. `name` is used in error messages. */
int jpeg_read_header(const uint8_t *data, size_t size, const char *name,
                     jpeg_header_t *header, sal_err_t *err);

/* Decodes to 8-bit pixels: gray files give 1 channel, everything else
 * 3 channels RGB (CMYK/YCCK as R = C*K/255, G = M*K/255, B = Y*K/255 with
 * integer division, on the inverted samples Adobe files store), or 4
 * channels with opts->raw_cmyk. opts may be NULL. header (optional)
 * receives what jpeg_read_header gives. */
int jpeg_decode(const uint8_t *data, size_t size, const char *name,
                const jpeg_decode_opts_t *opts, image_u8_t *out, jpeg_header_t *header,
                sal_err_t *err);

/* The output size libjpeg gives for a scale denominator (1, 2, 4, 8):
 * ceil(width / denom) x ceil(height / denom). */
void jpeg_scaled_size(int width, int height, int scale_denom, int *out_width, int *out_height);

#endif

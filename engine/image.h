/* image.h — one entry point for reading images from disk: sniffs the content
 * (JPEG or PNG, never the file extension) and returns 8-bit pixels. */
#ifndef SALIENT_IMAGE_H
#define SALIENT_IMAGE_H

#include "png.h"

typedef struct image_load_opts {
    int jpeg_scale_denom;   /* 1 (default when 0), 2, 4 or 8: libjpeg scaled decoding */
    size_t max_pixels;      /* 0: default limit */
    size_t max_bytes;       /* decoder memory, 0: SAL_IMAGE_DEFAULT_MAX_BYTES (png.h) */
} image_load_opts_t;

typedef enum image_format { IMAGE_UNKNOWN = 0, IMAGE_JPEG = 1, IMAGE_PNG = 2 } image_format_t;

typedef struct image_load_info {
    image_format_t format;
    int orientation;        /* EXIF orientation 1..8 (1 when absent) */
    int src_width, src_height;  /* size in the file before scaling */
    png_info_t png;         /* when format == IMAGE_PNG */
} image_load_info_t;

/* Output: channels 1 or 3 for JPEG (gray / RGB), 1..4 for PNG as png_decode. */
int image_load(const char *path, const image_load_opts_t *opts, image_u8_t *out,
               image_load_info_t *info, sal_err_t *err);
int image_load_memory(const uint8_t *data, size_t size, const char *name,
                      const image_load_opts_t *opts, image_u8_t *out,
                      image_load_info_t *info, sal_err_t *err);

#endif

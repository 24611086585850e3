/* image.c — image_load / image_load_memory (see image.h): look at the first
 * bytes (never the file name) and hand the data to the JPEG or PNG decoder.
 *
 * JPEG: FF D8 (what candidate_crops' reader checks), decoded by jpeg.c with
 * the optional libjpeg scale 1/2, 1/4, 1/8; EXIF orientation reported.
 * PNG:  the 8-byte PNG signature, decoded by png.c; orientation is 1.
 * Anything else: "unknown or corrupt image format".
 */
#include "image.h"

#include "jpeg.h"

#include <stdlib.h>
#include <string.h>

#define IMAGE_MAX_FILE_SIZE ((size_t)1 << 31)   /* 2 GiB */

int image_load_memory(const uint8_t *data, size_t size, const char *name,
                      const image_load_opts_t *opts, image_u8_t *out,
                      image_load_info_t *info, sal_err_t *err) {
    image_load_opts_t defaults = {0};
    image_load_info_t local_info;
    if (!opts) opts = &defaults;
    if (!info) info = &local_info;
    memset(info, 0, sizeof *info);
    memset(out, 0, sizeof *out);
    info->orientation = 1;
    if (!name) name = "image";

    if (jpeg_sniff(data, size)) {
        info->format = IMAGE_JPEG;
        jpeg_decode_opts_t jo = {0};
        jo.scale_denom = opts->jpeg_scale_denom ? opts->jpeg_scale_denom : 1;
        jo.max_pixels = opts->max_pixels;
        jo.max_bytes = opts->max_bytes;
        jpeg_header_t h;
        if (jpeg_decode(data, size, name, &jo, out, &h, err) < 0) return -1;
        info->orientation = h.orientation;
        info->src_width = h.width;
        info->src_height = h.height;
        return 0;
    }
    if (png_sniff(data, size)) {
        info->format = IMAGE_PNG;
        png_decode_opts_t po = {opts->max_pixels, opts->max_bytes};
        if (png_decode_ex(data, size, name, &po, out, &info->png, err) < 0) return -1;
        info->src_width = info->png.width;
        info->src_height = info->png.height;
        return 0;
    }
    return sal_errf(err, "%s: unknown or corrupt image format", name);
}

int image_load(const char *path, const image_load_opts_t *opts, image_u8_t *out,
               image_load_info_t *info, sal_err_t *err) {
    uint8_t *data = NULL;
    size_t size = 0;
    memset(out, 0, sizeof *out);
    if (sal_read_file(path, IMAGE_MAX_FILE_SIZE, &data, &size, err) < 0) return -1;
    int rc = image_load_memory(data, size, path, opts, out, info, err);
    free(data);
    return rc;
}

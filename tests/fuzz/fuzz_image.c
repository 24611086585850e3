/* fuzz_image.c — libFuzzer target for the image decoders (JPEG, PNG).
 *
 * The first input byte picks the options: JPEG scale 1/1, 1/2, 1/4 or 1/8,
 * libjpeg-turbo's x86 or portable IDCT arithmetic, raw CMYK; the rest is the
 * file. It goes through jpeg_decode directly and through image_load_memory
 * (content sniffing, PNG). A small pixel limit keeps each run short.
 * Anything but pixels or a one-line error (crash, leak, hang, sanitizer
 * report) is a bug. Build and run: make fuzz; make -C tests/fuzz run-image.
 */
#include <stdint.h>
#include <string.h>

#include "image.h"
#include "jpeg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const unsigned sel = data[0];
    data++;
    size--;
    sal_err_t err;
    image_u8_t img;
    jpeg_decode_opts_t jo;
    memset(&jo, 0, sizeof jo);
    jo.scale_denom = 1 << (sel & 3);
    jo.portable_idct = (sel >> 2) & 1;
    jo.raw_cmyk = (sel >> 3) & 1;
    jo.max_pixels = (size_t)1 << 16;
    jo.max_scans = 64;
    if (jpeg_decode(data, size, "fuzz.jpg", &jo, &img, NULL, &err) == 0) image_free(&img);
    image_load_opts_t io = {.jpeg_scale_denom = jo.scale_denom, .max_pixels = (size_t)1 << 16};
    if (image_load_memory(data, size, "fuzz.img", &io, &img, NULL, &err) == 0) image_free(&img);
    return 0;
}

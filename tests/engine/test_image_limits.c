/* test_image_limits.c — decoding limits are checked on the header, before
 * any pixel is decoded or a large buffer allocated (issue 15).
 *
 * The files are built here, byte by byte: a PNG IHDR claiming 16384^2
 * RGBA16 (3 GiB to decode) with a tiny IDAT; a baseline JPEG frame header
 * claiming 65500^2 with no scan data (400 MB at the saliency path's 1/8
 * scale); headers of images too thin for the saliency model's 320 fit with
 * no pixel data at all (a decoder would fail on the missing data, so the
 * size error proves nothing was decoded). Limits are exercised at their
 * boundary: png_decode_bytes(header) bytes decode, one byte less does not;
 * a 32x16 JPEG needs exactly the bytes its planes, coefficient rows and
 * output take (computed here from the JPEG geometry).
 */
#include <zlib.h>

#include "check.h"
#include "image.h"
#include "jpeg.h"
#include "png.h"
#include "saliency.h"

static void put_be32(test_buf_t *b, uint32_t v) {
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    test_put(b, p, 4);
}
static void put_be16(test_buf_t *b, unsigned v) {
    test_put1(b, (uint8_t)(v >> 8));
    test_put1(b, (uint8_t)v);
}

static void png_chunk(test_buf_t *b, const char *type, const uint8_t *data, uint32_t len) {
    put_be32(b, len);
    size_t at = b->n;
    test_put(b, type, 4);
    if (len) test_put(b, data, len);
    put_be32(b, (uint32_t)crc32(0, b->p + at, len + 4));
}

/* Signature, IHDR, optionally an IDAT holding `idat_raw` bytes of zeros
 * (deflated), IEND. */
static void png_file(test_buf_t *b, uint32_t w, uint32_t h, int depth, int ctype, size_t idat_raw) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    test_put(b, sig, 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                        (uint8_t)depth,     (uint8_t)ctype,     0, 0, 0};
    png_chunk(b, "IHDR", ihdr, 13);
    if (idat_raw) {
        uint8_t *zeros = calloc(idat_raw, 1);
        uLongf zn = compressBound((uLong)idat_raw);
        uint8_t *z = malloc(zn);
        compress(z, &zn, zeros, (uLong)idat_raw);
        png_chunk(b, "IDAT", z, (uint32_t)zn);
        free(z);
        free(zeros);
    }
    png_chunk(b, "IEND", NULL, 0);
}

/* SOI, DQT, SOF0 (3 components, 4:2:0) of w x h, SOS, `scan` zero bytes, no
 * DHT (libjpeg's default tables) and no EOI: a truncated download. */
static void jpeg_file(test_buf_t *b, unsigned w, unsigned h, size_t scan) {
    test_put(b, "\xff\xd8", 2);
    test_put(b, "\xff\xdb", 2);
    put_be16(b, 67);
    test_put1(b, 0);
    for (int i = 0; i < 64; i++) test_put1(b, 1);
    test_put(b, "\xff\xc0", 2);
    put_be16(b, 17);
    test_put1(b, 8);
    put_be16(b, h);
    put_be16(b, w);
    test_put1(b, 3);
    static const uint8_t comps[9] = {1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0};
    test_put(b, comps, 9);
    test_put(b, "\xff\xda", 2);
    put_be16(b, 12);
    static const uint8_t sos[10] = {3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0};
    test_put(b, sos, 10);
    for (size_t i = 0; i < scan; i++) test_put1(b, 0);
}

static void test_png_limits(test_ctx_t *t) {
    sal_err_t err = {{0}};
    image_u8_t img;
    png_info_t info;
    /* 16384^2 RGBA16: 2 GiB of scanlines + 1 GiB of output, from ~300 bytes */
    test_buf_t bomb = {0};
    png_file(&bomb, 16384, 16384, 16, 6, 1000);
    int rc = png_decode(bomb.p, bomb.n, "bomb.png", 0, &img, &info, &err);
    CHECK(t, rc == PNG_ERR_FORMAT && strstr(err.msg, "bomb.png: image too large to decode (16384x16384") &&
                 strstr(err.msg, "limit 256 MiB"),
          "16384^2 RGBA16: rc %d '%s'", rc, err.msg);
    image_load_opts_t io = {0};
    rc = image_load_memory(bomb.p, bomb.n, "bomb.png", &io, &img, NULL, &err);
    CHECK(t, rc < 0 && strstr(err.msg, "too large to decode"), "image_load_memory: '%s'", err.msg);
    CHECK(t, png_read_header(bomb.p, bomb.n, "bomb.png", &info, &err) == 0 && info.width == 16384 &&
                 info.bit_depth == 16 && png_decode_bytes(&info) > ((uint64_t)3 << 30),
          "header: %s", err.msg);

    /* 8192x4096 RGBA8 needs just over 256 MiB: refused by default, past the
     * header with a raised limit (then the missing data is the error) */
    test_buf_t big = {0};
    png_file(&big, 8192, 4096, 8, 6, 1000);
    rc = png_decode(big.p, big.n, "big.png", 0, &img, NULL, &err);
    CHECK(t, rc == PNG_ERR_FORMAT && strstr(err.msg, "too large to decode"), "8192x4096 default: '%s'", err.msg);
    png_decode_opts_t po = {0, (size_t)300 << 20};
    rc = png_decode_ex(big.p, big.n, "big.png", &po, &img, NULL, &err);
    CHECK(t, rc == -1 && !strstr(err.msg, "too large"), "8192x4096 with 300 MiB: rc %d '%s'", rc, err.msg);
    image_free(&img);

    /* the boundary on a real image: exactly png_decode_bytes(header) decodes */
    uint8_t px[37 * 23 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 7);
    uint8_t *enc = NULL;
    size_t enc_n = 0;
    rc = png_encode(px, 37, 23, 3, 6, &enc, &enc_n, &err);
    CHECK(t, rc == 0, "encode: %s", err.msg);
    if (!rc && png_read_header(enc, enc_n, "small.png", &info, &err) == 0) {
        /* rows of 1 + 111 bytes, an output that may gain alpha (tRNS): 4 channels */
        uint64_t need = png_decode_bytes(&info);
        CHECK(t, need >= 23u * 112u + 37u * 23u * 4u && need <= 23u * 112u + 37u * 23u * 4u + 200u,
              "png_decode_bytes %llu for 37x23 RGB", (unsigned long long)need);
        po.max_bytes = (size_t)need;
        rc = png_decode_ex(enc, enc_n, "small.png", &po, &img, NULL, &err);
        CHECK(t, rc == 0 && img.width == 37 && !memcmp(img.pixels, px, sizeof px), "at the limit: %s", err.msg);
        image_free(&img);
        po.max_bytes = (size_t)need - 1;
        rc = png_decode_ex(enc, enc_n, "small.png", &po, &img, NULL, &err);
        CHECK(t, rc == PNG_ERR_FORMAT && strstr(err.msg, "too large to decode"), "one byte under: '%s'", err.msg);
    }
    free(enc);
    free(bomb.p);
    free(big.p);
}

static void test_jpeg_limits(test_ctx_t *t) {
    sal_err_t err = {{0}};
    image_u8_t img;
    test_buf_t bomb = {0};
    jpeg_file(&bomb, 65500, 65500, 64);
    jpeg_decode_opts_t jo = {.scale_denom = 8};
    int rc = jpeg_decode(bomb.p, bomb.n, "bomb.jpg", &jo, &img, NULL, &err);
    CHECK(t, rc < 0 && strstr(err.msg, "bomb.jpg: JPEG too large to decode (65500x65500 at 1/8"),
          "65500^2 at 1/8: '%s'", err.msg);

    /* 32x16, 4:2:0, the scan cut short (decoded as libjpeg fills it). Bytes:
     * output 32*16*3; planes Y 32x16, Cb and Cr 16x8; coefficients of one
     * MCU row: Y 4x2 blocks, Cb and Cr 2x1, 128 bytes each */
    test_buf_t small = {0};
    jpeg_file(&small, 32, 16, 8);
    const size_t need = 32 * 16 * 3 + 32 * 16 + 2 * 16 * 8 + (8 + 2 + 2) * 128;
    jo.scale_denom = 1;
    jo.max_bytes = need;
    rc = jpeg_decode(small.p, small.n, "small.jpg", &jo, &img, NULL, &err);
    CHECK(t, rc == 0 && img.width == 32 && img.height == 16, "32x16 at its limit %zu: %s", need, err.msg);
    image_free(&img);
    jo.max_bytes = need - 1;
    rc = jpeg_decode(small.p, small.n, "small.jpg", &jo, &img, NULL, &err);
    CHECK(t, rc < 0 && strstr(err.msg, "too large to decode"), "32x16 one byte under: '%s'", err.msg);
    free(bomb.p);
    free(small.p);
}

/* The saliency path: the size rule and the limit on the header. */
static void test_saliency_header(test_ctx_t *t) {
    sal_err_t err = {{0}};
    image_u8_t px;
    saliency_image_t img;
    /* 1 x 268435456 gray: no IDAT at all, so decoding would fail otherwise */
    test_buf_t thin = {0};
    png_file(&thin, 1, 268435456u, 8, 0, 0);
    int rc = saliency_load_memory(thin.p, thin.n, "thin.png", &px, &img, &err);
    CHECK(t, rc == SALIENCY_E_SIZE && strstr(err.msg, "thin.png: 1x268435456 image: a side becomes 0 px"),
          "1x268M PNG: rc %d '%s'", rc, err.msg);
    image_free(&px);
    test_buf_t jthin = {0};
    jpeg_file(&jthin, 20000, 8, 0);
    rc = saliency_load_memory(jthin.p, jthin.n, "thin.jpg", &px, &img, &err);
    CHECK(t, rc == SALIENCY_E_SIZE && strstr(err.msg, "thin.jpg: 20000x8 image"), "20000x8 JPEG: rc %d '%s'", rc,
          err.msg);
    image_free(&px);
    /* the 65500^2 JPEG the saliency path would decode at 1/8 (400 MB) */
    test_buf_t bomb = {0};
    jpeg_file(&bomb, 65500, 65500, 64);
    rc = saliency_load_memory(bomb.p, bomb.n, "bomb.jpg", &px, &img, &err);
    CHECK(t, rc == SALIENCY_E_DECODE && strstr(err.msg, "too large to decode"), "65500^2 JPEG: rc %d '%s'", rc,
          err.msg);
    image_free(&px);
    /* a smaller limit through the options */
    test_buf_t small = {0};
    jpeg_file(&small, 32, 16, 8);
    saliency_load_opts_t so = {.max_image_bytes = 100};
    rc = saliency_load_memory_ex(small.p, small.n, "small.jpg", &so, &px, &img, &err);
    CHECK(t, rc == SALIENCY_E_DECODE && strstr(err.msg, "limit 0 MiB"), "100-byte limit: rc %d '%s'", rc, err.msg);
    image_free(&px);
    so.max_image_bytes = 0;
    rc = saliency_load_memory_ex(small.p, small.n, "small.jpg", &so, &px, &img, &err);
    CHECK(t, rc == 0 && img.width == 32 && img.height == 16, "32x16 JPEG, default limit: rc %d %s", rc, err.msg);
    image_free(&px);
    free(thin.p);
    free(jthin.p);
    free(bomb.p);
    free(small.p);
}

int main(void) {
    test_ctx_t t = test_begin("image_limits");
    test_png_limits(&t);
    test_jpeg_limits(&t);
    test_saliency_header(&t);
    return test_end(&t);
}

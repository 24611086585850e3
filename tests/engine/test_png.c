/* test_png.c — PNG decoder and encoder.
 *
 *  1. encoder round trips (1..4 channels, odd sizes, zlib levels), with the
 *     encoder's chunks and CRCs checked by an independent walker here;
 *  2. hand-built PNGs (written here with zlib directly, an independent path):
 *     every colour type x bit depth, all 5 filter types, Adam7 (interlaced
 *     by hand here, compared with the non-interlaced decode), tRNS rules,
 *     multiple / empty IDATs, ancillary chunks;
 *  3. malformed files: every validation gives the right error and code;
 *  4. the shared fixtures (synthetic/, faces/, grid/, bad/) against invariants.
 */
#include "check.h"
#include "png.h"

#include <stdint.h>
#include <zlib.h>

/* ------------------------------------------------------------------------ */
/* helpers: PRNG, a growable byte buffer, chunk writer                      */
/* ------------------------------------------------------------------------ */

static uint32_t rnd(uint32_t *s) {   /* xorshift32 */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf_t;

static void buf_put(buf_t *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
}
static void buf_be32(buf_t *b, uint32_t v) {
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_put(b, q, 4);
}
static void put_chunk(buf_t *b, const char *type, const void *data, uint32_t len, int bad_crc) {
    buf_be32(b, len);
    size_t start = b->n;
    buf_put(b, type, 4);
    buf_put(b, data, len);
    uint32_t crc = (uint32_t)crc32(0, b->p + start, len + 4);
    buf_be32(b, bad_crc ? crc ^ 0x1u : crc);
}
static void put_signature(buf_t *b) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
    buf_put(b, sig, 8);
}
static void put_ihdr(buf_t *b, uint32_t w, uint32_t h, int depth, int ct, int il) {
    uint8_t d[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                     (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                     (uint8_t)depth, (uint8_t)ct, 0, 0, (uint8_t)il};
    put_chunk(b, "IHDR", d, 13, 0);
}
/* Compresses raw and writes it as `pieces` IDAT chunks (>= 1). */
static void put_idats(buf_t *b, const uint8_t *raw, size_t n, int pieces) {
    uLongf zn = compressBound(n);
    uint8_t *z = malloc(zn);
    compress2(z, &zn, raw, n, 6);
    size_t off = 0;
    for (int i = 0; i < pieces; i++) {
        size_t len = i == pieces - 1 ? zn - off : (zn - off) / (size_t)(pieces - i);
        put_chunk(b, "IDAT", z + off, (uint32_t)len, 0);
        off += len;
    }
    free(z);
}
/* Offset of the first chunk of this type, or 0. */
static size_t find_chunk(const buf_t *b, const char *type) {
    size_t pos = 8;
    while (pos + 12 <= b->n) {
        uint32_t len = (uint32_t)b->p[pos] << 24 | b->p[pos + 1] << 16 | b->p[pos + 2] << 8 |
                       b->p[pos + 3];
        if (memcmp(b->p + pos + 4, type, 4) == 0) return pos;
        pos += 12 + (size_t)len;
    }
    return 0;
}

static int samples_per_pixel(int ct) {
    return ct == 2 ? 3 : ct == 4 ? 2 : ct == 6 ? 4 : 1;
}

/* ------------------------------------------------------------------------ */
/* Building scanlines by hand                                               */
/* ------------------------------------------------------------------------ */

static int paeth_ref(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
}

/* Packs samples (w pixels * spp, each < 2^depth) big-endian into row bytes. */
static void pack_row(const uint16_t *s, int n, int depth, uint8_t *row, size_t row_bytes) {
    memset(row, 0, row_bytes);
    for (int i = 0; i < n; i++) {
        if (depth == 16) {
            row[2 * i] = (uint8_t)(s[i] >> 8);
            row[2 * i + 1] = (uint8_t)s[i];
        } else if (depth == 8) {
            row[i] = (uint8_t)s[i];
        } else {
            int bit = i * depth;
            row[bit / 8] |= (uint8_t)(s[i] << (8 - depth - bit % 8));
        }
    }
}

/* Appends a (sub)image's scanlines: rows of packed bytes filtered with type
 * (y + salt) % 5 (so every filter type occurs). */
static void put_scanlines(buf_t *raw, const uint16_t *img, int w, int h, int spp, int depth,
                          int salt) {
    if (w == 0 || h == 0) return;
    size_t rb = ((size_t)w * spp * depth + 7) / 8;
    int bpp = spp * depth >= 8 ? spp * depth / 8 : 1;
    uint8_t *prev = calloc(rb, 1), *cur = malloc(rb), *out = malloc(rb + 1);
    for (int y = 0; y < h; y++) {
        pack_row(img + (size_t)y * w * spp, w * spp, depth, cur, rb);
        int ft = (y + salt) % 5;
        out[0] = (uint8_t)ft;
        for (size_t i = 0; i < rb; i++) {
            int a = i >= (size_t)bpp ? cur[i - bpp] : 0, b = prev[i];
            int c = i >= (size_t)bpp ? prev[i - bpp] : 0;
            int pred = ft == 1 ? a : ft == 2 ? b : ft == 3 ? (a + b) / 2 : ft == 4 ? paeth_ref(a, b, c) : 0;
            out[1 + i] = (uint8_t)(cur[i] - pred);
        }
        buf_put(raw, out, rb + 1);
        memcpy(prev, cur, rb);
    }
    free(prev);
    free(cur);
    free(out);
}

/* Scanlines of the whole image, or of the 7 Adam7 passes one after the other. */
static void make_raw(buf_t *raw, const uint16_t *img, int w, int h, int spp, int depth, int il) {
    if (!il) {
        put_scanlines(raw, img, w, h, spp, depth, 0);
        return;
    }
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
    static const int dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    for (int p = 0; p < 7; p++) {
        /* collect the pass's pixels explicitly */
        int pw = 0, ph = 0;
        for (int x = x0[p]; x < w; x += dx[p]) pw++;
        for (int y = y0[p]; y < h; y += dy[p]) ph++;
        uint16_t *sub = malloc(((size_t)pw * ph * spp + 1) * sizeof *sub);
        size_t k = 0;
        for (int y = y0[p]; y < h; y += dy[p])
            for (int x = x0[p]; x < w; x += dx[p])
                for (int c = 0; c < spp; c++) sub[k++] = img[((size_t)y * w + x) * spp + c];
        put_scanlines(raw, sub, pw, ph, spp, depth, p);
        free(sub);
    }
}

/* A complete PNG: IHDR [PLTE] [tRNS] IDAT... IEND. */
static void build_png(buf_t *b, const uint16_t *img, int w, int h, int depth, int ct, int il,
                      const uint8_t *plte, int plte_n, const uint8_t *trns, int trns_len,
                      int pieces) {
    b->n = 0;
    put_signature(b);
    put_ihdr(b, (uint32_t)w, (uint32_t)h, depth, ct, il);
    if (plte) put_chunk(b, "PLTE", plte, (uint32_t)plte_n * 3, 0);
    if (trns) put_chunk(b, "tRNS", trns, (uint32_t)trns_len, 0);
    buf_t raw = {0};
    make_raw(&raw, img, w, h, samples_per_pixel(ct), depth, il);
    put_idats(b, raw.p, raw.n, pieces);
    put_chunk(b, "IEND", NULL, 0, 0);
    free(raw.p);
}

/* What the decoder must output for a sample: 16 bit -> high byte, low gray
 * depths scaled by 255 / (2^depth - 1). */
static uint8_t expect8(unsigned v, int depth) {
    if (depth == 16) return (uint8_t)(v >> 8);
    return (uint8_t)(v * 255u / ((1u << depth) - 1));
}

/* ------------------------------------------------------------------------ */
/* 1. encoder round trips                                                   */
/* ------------------------------------------------------------------------ */

/* Independent check of the encoder's output: signature, chunk CRCs, IHDR
 * fields, IEND last. Returns 1 if all good. */
static int chunks_ok(const uint8_t *p, size_t n, int w, int h, int ct) {
    if (n < 8 || memcmp(p, "\x89PNG\r\n\x1a\n", 8) != 0) return 0;
    size_t pos = 8;
    int first = 1;
    while (pos + 12 <= n) {
        uint32_t len = (uint32_t)p[pos] << 24 | p[pos + 1] << 16 | p[pos + 2] << 8 | p[pos + 3];
        if (pos + 12 + len > n) return 0;
        uint32_t crc = (uint32_t)p[pos + 8 + len] << 24 | p[pos + 9 + len] << 16 |
                       p[pos + 10 + len] << 8 | p[pos + 11 + len];
        if ((uint32_t)crc32(0, p + pos + 4, len + 4) != crc) return 0;
        const uint8_t *d = p + pos + 8;
        if (first) {
            if (memcmp(p + pos + 4, "IHDR", 4) != 0 || len != 13) return 0;
            uint32_t W = (uint32_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3];
            uint32_t H = (uint32_t)d[4] << 24 | d[5] << 16 | d[6] << 8 | d[7];
            if (W != (uint32_t)w || H != (uint32_t)h || d[8] != 8 || d[9] != ct) return 0;
            first = 0;
        }
        pos += 12 + len;
        if (memcmp(p + pos - 8 - len, "IEND", 4) == 0) return pos == n;
    }
    return 0;
}

static void test_round_trips(test_ctx_t *t, uint32_t *seed) {
    static const int sizes[][2] = {{1, 1}, {17, 9}, {300, 7}, {64, 48}, {2, 301}};
    static const int levels[] = {0, -1, 9};
    static const int ctype[5] = {0, 0, 4, 2, 6};
    for (int ch = 1; ch <= 4; ch++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (int content = 0; content < 2; content++)
                for (size_t li = 0; li < 3; li++) {
                    int w = sizes[si][0], h = sizes[si][1];
                    size_t n = (size_t)w * h * ch;
                    uint8_t *px = malloc(n);
                    for (size_t i = 0; i < n; i++)   /* random, or a smooth gradient */
                        px[i] = content ? (uint8_t)rnd(seed)
                                        : (uint8_t)((i / ch) % w + 3 * ((i / ch) / w) + 40 * (i % ch));
                    uint8_t *png = NULL;
                    size_t png_n = 0;
                    sal_err_t err = {{0}};
                    int rc = png_encode(px, w, h, ch, levels[li], &png, &png_n, &err);
                    CHECK(t, rc == 0, "encode %dx%dx%d: %s", w, h, ch, err.msg);
                    if (rc != 0) { free(px); continue; }
                    CHECK(t, chunks_ok(png, png_n, w, h, ctype[ch]), "chunk walk %dx%dx%d", w, h, ch);
                    image_u8_t im;
                    png_info_t info;
                    rc = png_decode(png, png_n, "rt.png", 0, &im, &info, &err);
                    CHECK(t, rc == 0, "decode %dx%dx%d: %s", w, h, ch, err.msg);
                    if (rc == 0) {
                        CHECK(t, im.width == w && im.height == h && im.channels == ch &&
                                     info.bit_depth == 8 && info.color_type == ctype[ch] &&
                                     !info.interlaced && !info.has_trns,
                              "geometry %dx%dx%d", im.width, im.height, im.channels);
                        CHECK(t, memcmp(im.pixels, px, n) == 0, "pixels differ %dx%dx%d lvl %d",
                              w, h, ch, levels[li]);
                    }
                    /* a smooth image must actually compress (filters + deflate) */
                    if (content == 0 && levels[li] != 0 && n >= 4000)
                        CHECK(t, png_n < n / 4, "gradient %dx%dx%d: %zu bytes for %zu", w, h, ch,
                              png_n, n);
                    image_free(&im);
                    free(png);
                    free(px);
                }

    /* png_save / png_load through a file */
    for (int ch = 1; ch <= 4; ch++) {
        char path[2048], name[64];
        snprintf(name, sizeof name, "save_%d.png", ch);
        test_tmp(t, name, path, sizeof path);
        uint8_t px[17 * 9 * 4];
        for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)rnd(seed);
        sal_err_t err = {{0}};
        CHECK(t, png_save(path, px, 17, 9, ch, &err) == 0, "png_save: %s", err.msg);
        image_u8_t im;
        png_info_t info;
        int rc = png_load(path, &im, &info, &err);
        CHECK(t, rc == 0 && im.channels == ch && memcmp(im.pixels, px, (size_t)17 * 9 * ch) == 0,
              "png_load after png_save (%d ch): %s", ch, err.msg);
        image_free(&im);
    }
    /* encoder argument errors */
    uint8_t px[16] = {0}, *png = NULL;
    size_t n = 0;
    sal_err_t err;
    CHECK(t, png_encode(px, 2, 2, 5, -1, &png, &n, &err) < 0 && strstr(err.msg, "channels"),
          "5 channels: %s", err.msg);
    CHECK(t, png_encode(px, 0, 2, 1, -1, &png, &n, &err) < 0, "width 0");
    CHECK(t, png_encode(px, 2, 2, 1, 10, &png, &n, &err) < 0 && strstr(err.msg, "level"),
          "level 10: %s", err.msg);
    char path[2048];
    CHECK(t, png_save(test_tmp(t, "nodir/x.png", path, sizeof path), px, 2, 2, 1, &err) < 0 &&
                 strncmp(err.msg, path, strlen(path)) == 0,
          "save into missing dir: %s", err.msg);
    CHECK(t, png_sniff((const uint8_t *)"\x89PNG\r\n\x1a\n", 8) == 1 &&
                 png_sniff((const uint8_t *)"\x89PNG\r\n\x1a", 7) == 0 &&
                 png_sniff((const uint8_t *)"GIF89a..", 8) == 0,
          "png_sniff");
}

/* ------------------------------------------------------------------------ */
/* 2. hand-built PNGs: every colour type and depth, Adam7, tRNS             */
/* ------------------------------------------------------------------------ */

static void test_hand_built(test_ctx_t *t, uint32_t *seed) {
    static const struct { int ct, depth; } kinds[] = {
        {0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1}, {3, 2},
        {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16},
    };
    static const int sizes[][2] = {{1, 1}, {3, 5}, {7, 5}, {17, 9}, {33, 31}, {9, 1}, {1, 12}};
    int exact = 0, adam7_same = 0, cases = 0;
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (int with_trns = 0; with_trns < 2; with_trns++) {
                int ct = kinds[ki].ct, depth = kinds[ki].depth;
                int w = sizes[si][0], h = sizes[si][1], spp = samples_per_pixel(ct);
                if (with_trns && ct != 3) continue;   /* gray/RGB keys: see test_trns */
                size_t n = (size_t)w * h * spp;
                uint16_t *img = malloc(n * sizeof *img);
                int maxv = (1 << depth) - 1;
                uint8_t plte[256 * 3], trns[256];
                int plte_n = ct == 3 ? (depth == 8 ? 200 : 1 << depth) : 0;
                for (int i = 0; i < plte_n * 3; i++) plte[i] = (uint8_t)rnd(seed);
                for (int i = 0; i < 256; i++) trns[i] = (uint8_t)rnd(seed);
                int trns_n = plte_n > 1 ? plte_n / 2 : 1;
                for (size_t i = 0; i < n; i++)
                    img[i] = (uint16_t)(ct == 3 ? rnd(seed) % (uint32_t)plte_n
                                                : rnd(seed) % (uint32_t)(maxv + 1));
                /* expected 8-bit output */
                int C = ct == 3 ? (with_trns ? 4 : 3) : spp;
                uint8_t *want = malloc((size_t)w * h * C);
                for (size_t p = 0; p < (size_t)w * h; p++) {
                    if (ct == 3) {
                        unsigned k = img[p];
                        memcpy(want + p * C, plte + 3 * k, 3);
                        if (C == 4) want[p * C + 3] = (int)k < trns_n ? trns[k] : 255;
                    } else {
                        for (int c = 0; c < C; c++) want[p * C + c] = expect8(img[p * spp + c], depth);
                    }
                }
                buf_t flat = {0}, inter = {0};
                build_png(&flat, img, w, h, depth, ct, 0, ct == 3 ? plte : NULL, plte_n,
                          with_trns ? trns : NULL, trns_n, 1);
                build_png(&inter, img, w, h, depth, ct, 1, ct == 3 ? plte : NULL, plte_n,
                          with_trns ? trns : NULL, trns_n, 3);
                image_u8_t a, b;
                png_info_t ia, ib;
                sal_err_t err = {{0}};
                int ra = png_decode(flat.p, flat.n, "flat.png", 0, &a, &ia, &err);
                CHECK(t, ra == 0, "ct %d depth %d %dx%d: %s", ct, depth, w, h, err.msg);
                int rb = png_decode(inter.p, inter.n, "adam7.png", 0, &b, &ib, &err);
                CHECK(t, rb == 0, "adam7 ct %d depth %d %dx%d: %s", ct, depth, w, h, err.msg);
                cases++;
                if (ra == 0 && rb == 0) {
                    int ok_a = a.channels == C && a.width == w && a.height == h &&
                               memcmp(a.pixels, want, (size_t)w * h * C) == 0;
                    int ok_b = b.channels == C && memcmp(a.pixels, b.pixels, (size_t)w * h * C) == 0;
                    exact += ok_a;
                    adam7_same += ok_b;
                    CHECK(t, ok_a, "pixels ct %d depth %d %dx%d trns %d", ct, depth, w, h, with_trns);
                    CHECK(t, ok_b, "adam7 != flat, ct %d depth %d %dx%d", ct, depth, w, h);
                    CHECK(t, ia.bit_depth == depth && ia.color_type == ct && !ia.interlaced &&
                                 ib.interlaced && ia.has_trns == with_trns,
                          "info ct %d depth %d", ct, depth);
                }
                image_free(&a);
                image_free(&b);
                free(flat.p);
                free(inter.p);
                free(img);
                free(want);
            }
    printf("hand-built: %d cases, %d exact, %d adam7 == flat\n", cases, exact, adam7_same);
}

static int decode_buf(const buf_t *b, image_u8_t *im, png_info_t *info, sal_err_t *err) {
    return png_decode(b->p, b->n, "t.png", 0, im, info, err);
}

static void test_trns(test_ctx_t *t, uint32_t *seed) {
    enum { W = 13, H = 6 };
    uint16_t img[W * H * 3];
    image_u8_t im, ref;
    png_info_t info;
    sal_err_t err = {{0}};
    buf_t b = {0};

    /* RGB 8-bit key: alpha 0 exactly where the pixel equals the key */
    for (int i = 0; i < W * H * 3; i++) img[i] = (uint16_t)(rnd(seed) % 4 * 60);
    uint8_t key8[6] = {0, 60, 0, 120, 0, 0};   /* (60, 120, 0) */
    build_png(&b, img, W, H, 8, 2, 0, NULL, 0, key8, 6, 1);
    int rc = decode_buf(&b, &im, &info, &err);
    int bad = 0, keyed = 0;
    if (rc == 0 && im.channels == 4)
        for (int p = 0; p < W * H; p++) {
            int is_key = img[3 * p] == 60 && img[3 * p + 1] == 120 && img[3 * p + 2] == 0;
            keyed += is_key;
            bad += im.pixels[4 * p + 3] != (is_key ? 0 : 255) ||
                   im.pixels[4 * p] != img[3 * p] || im.pixels[4 * p + 2] != img[3 * p + 2];
        }
    CHECK(t, rc == 0 && im.channels == 4 && info.has_trns && bad == 0 && keyed > 0,
          "RGB key: rc %d ch %d bad %d keyed %d %s", rc, im.channels, bad, keyed, err.msg);
    image_free(&im);

    /* RGB 16-bit key: compared at 16 bits (same high byte, other low byte: opaque) */
    for (int p = 0; p < W * H; p++)
        for (int c = 0; c < 3; c++) img[3 * p + c] = (uint16_t)(0x1200 + (p % 3) * 0x40 + c);
    /* p%3 == 1: (0x1240, 0x1241, 0x1242) */
    uint8_t key16[6] = {0x12, 0x40, 0x12, 0x41, 0x12, 0x42};
    build_png(&b, img, W, H, 16, 2, 1, NULL, 0, key16, 6, 2);
    rc = decode_buf(&b, &im, &info, &err);
    bad = 0;
    if (rc == 0 && im.channels == 4)
        for (int p = 0; p < W * H; p++) bad += im.pixels[4 * p + 3] != (p % 3 == 1 ? 0 : 255);
    key16[1] = 0x41;   /* same high bytes as pixel group 1, different low byte */
    build_png(&b, img, W, H, 16, 2, 0, NULL, 0, key16, 6, 1);
    int rc2 = decode_buf(&b, &ref, &info, &err);
    int zero_alpha = 0;
    if (rc2 == 0 && ref.channels == 4)
        for (int p = 0; p < W * H; p++) zero_alpha += ref.pixels[4 * p + 3] == 0;
    CHECK(t, rc == 0 && bad == 0 && rc2 == 0 && zero_alpha == 0,
          "16-bit RGB key: bad %d, near-miss transparent %d", bad, zero_alpha);
    image_free(&im);
    image_free(&ref);

    /* gray key: ignored like the tool does (1 channel, same bytes as without) */
    for (int depth = 1; depth <= 16; depth *= 2) {
        for (int i = 0; i < W * H; i++) img[i] = (uint16_t)(rnd(seed) % (1u << depth));
        uint8_t gkey[2] = {0, (uint8_t)img[0]};
        build_png(&b, img, W, H, depth, 0, 0, NULL, 0, gkey, 2, 1);
        rc = decode_buf(&b, &im, &info, &err);
        int has = info.has_trns;
        build_png(&b, img, W, H, depth, 0, 0, NULL, 0, NULL, 0, 1);
        rc2 = decode_buf(&b, &ref, &info, &err);
        CHECK(t, rc == 0 && rc2 == 0 && has == 1 && im.channels == 1 &&
                     memcmp(im.pixels, ref.pixels, W * H) == 0,
              "gray key ignored (depth %d): %s", depth, err.msg);
        image_free(&im);
        image_free(&ref);
    }

    /* invalid / damaged tRNS is dropped, never fatal */
    uint8_t plte[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, alpha[5] = {0, 50, 100, 150, 200};
    for (int i = 0; i < W * H; i++) img[i] = (uint16_t)(i % 4);
    struct { const char *what; int len; int bad_crc; int after_idat; } cases[] = {
        {"longer than PLTE", 5, 0, 0}, {"bad CRC", 3, 1, 0}, {"after IDAT", 3, 0, 1},
    };
    for (int k = 0; k < 3; k++) {
        b.n = 0;
        put_signature(&b);
        put_ihdr(&b, W, H, 8, 3, 0);
        put_chunk(&b, "PLTE", plte, 12, 0);
        if (!cases[k].after_idat) put_chunk(&b, "tRNS", alpha, (uint32_t)cases[k].len, cases[k].bad_crc);
        buf_t raw = {0};
        make_raw(&raw, img, W, H, 1, 8, 0);
        put_idats(&b, raw.p, raw.n, 1);
        free(raw.p);
        if (cases[k].after_idat) put_chunk(&b, "tRNS", alpha, 3, 0);
        put_chunk(&b, "IEND", NULL, 0, 0);
        rc = decode_buf(&b, &im, &info, &err);
        CHECK(t, rc == 0 && im.channels == 3 && !info.has_trns && im.pixels[3] == 4,
              "tRNS %s ignored: rc %d ch %d %s", cases[k].what, rc, im.channels, err.msg);
        image_free(&im);
    }
    /* tRNS on RGBA: ignored */
    for (int i = 0; i < W * H * 3; i++) img[i] = (uint16_t)(i & 255);
    build_png(&b, img, W, H / 2, 8, 6, 0, NULL, 0, key8, 6, 1);   /* W*H/2 RGBA px = same samples */
    rc = decode_buf(&b, &im, &info, &err);
    CHECK(t, rc == 0 && im.channels == 4 && !info.has_trns, "tRNS on RGBA ignored: %s", err.msg);
    image_free(&im);
    free(b.p);
}

/* multiple and empty IDATs, ancillary chunks, data after IEND, PLTE in RGB */
static void test_chunk_layout(test_ctx_t *t, uint32_t *seed) {
    enum { W = 21, H = 11 };
    uint16_t img[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) img[i] = (uint16_t)(rnd(seed) & 255);
    buf_t raw = {0}, b = {0};
    make_raw(&raw, img, W, H, 3, 8, 0);
    image_u8_t ref, im;
    png_info_t info;
    sal_err_t err = {{0}};
    build_png(&b, img, W, H, 8, 2, 0, NULL, 0, NULL, 0, 1);
    CHECK(t, decode_buf(&b, &ref, &info, &err) == 0, "reference: %s", err.msg);

    /* the zlib stream cut into 1-byte IDATs with empty IDATs between */
    uLongf zn = compressBound(raw.n);
    uint8_t *z = malloc(zn);
    compress2(z, &zn, raw.p, raw.n, 9);
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, W, H, 8, 2, 0);
    put_chunk(&b, "tEXt", "Comment\0hello", 13, 0);
    put_chunk(&b, "PLTE", "\1\2\3\4\5\6", 6, 0);            /* suggested palette: ignored */
    put_chunk(&b, "prVt", "xyz", 3, 1);                      /* ancillary, bad CRC: skipped */
    for (size_t i = 0; i < zn; i++) {
        put_chunk(&b, "IDAT", z + i, 1, 0);
        if (i % 7 == 0) put_chunk(&b, "IDAT", NULL, 0, 0);
    }
    put_chunk(&b, "tIME", "\7\xe8\1\1\0\0\0", 7, 0);
    put_chunk(&b, "IEND", NULL, 0, 0);
    buf_put(&b, "trailing garbage", 16);
    int rc = decode_buf(&b, &im, &info, &err);
    CHECK(t, rc == 0 && im.channels == 3 && memcmp(im.pixels, ref.pixels, W * H * 3) == 0,
          "split IDATs + ancillary chunks: %s", err.msg);
    image_free(&im);
    image_free(&ref);
    free(z);
    free(raw.p);
    free(b.p);
}

/* ------------------------------------------------------------------------ */
/* 3. malformed files                                                       */
/* ------------------------------------------------------------------------ */

static void expect_error(test_ctx_t *t, const buf_t *b, int want_rc, const char *want,
                         const char *what) {
    image_u8_t im;
    png_info_t info;
    sal_err_t err = {{0}};
    int rc = png_decode(b->p, b->n, "x.png", 0, &im, &info, &err);
    CHECK(t, rc == want_rc && strncmp(err.msg, "x.png: ", 7) == 0 && strstr(err.msg, want) &&
                 im.pixels == NULL,
          "%s: rc %d (want %d), msg '%s' (want '%s')", what, rc, want_rc, err.msg, want);
    image_free(&im);
}

static void set_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
/* Rewrites a chunk's CRC after its data was edited. */
static void fix_crc(buf_t *b, size_t pos) {
    uint32_t len = (uint32_t)b->p[pos] << 24 | b->p[pos + 1] << 16 | b->p[pos + 2] << 8 | b->p[pos + 3];
    set_be32(b->p + pos + 8 + len, (uint32_t)crc32(0, b->p + pos + 4, len + 4));
}

static void test_errors(test_ctx_t *t) {
    enum { W = 10, H = 4 };
    uint16_t img[W * H];
    for (int i = 0; i < W * H; i++) img[i] = (uint16_t)(i % 3);
    uint8_t plte[9] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
    buf_t good = {0}, b = {0};
    build_png(&good, img, W, H, 8, 3, 0, plte, 3, NULL, 0, 1);
    image_u8_t im;
    png_info_t info;
    sal_err_t err = {{0}};
    CHECK(t, decode_buf(&good, &im, &info, &err) == 0 && im.pixels[3 * 4] == 40,
          "base file: %s", err.msg);
    image_free(&im);
    size_t ihdr = 8, plte_at = find_chunk(&good, "PLTE"), idat = find_chunk(&good, "IDAT");
    size_t iend = find_chunk(&good, "IEND");
#define COPY() (b.n = 0, buf_put(&b, good.p, good.n))

    COPY(); b.p[0] = 'X';
    expect_error(t, &b, PNG_ERR_FORMAT, "not a PNG", "signature");
    COPY(); b.n = 5;
    expect_error(t, &b, PNG_ERR_FORMAT, "not a PNG", "short signature");
    COPY(); b.n = 8;
    expect_error(t, &b, PNG_ERR_FORMAT, "truncated", "signature only");
    COPY(); b.n = 20;
    expect_error(t, &b, PNG_ERR_FORMAT, "truncated IHDR", "cut IHDR");
    COPY(); b.p[ihdr + 10] ^= 1;
    expect_error(t, &b, PNG_ERR_FORMAT, "CRC error in IHDR", "IHDR CRC");
    COPY(); b.p[plte_at + 9] ^= 1;
    expect_error(t, &b, PNG_ERR_FORMAT, "CRC error in PLTE", "PLTE CRC");
    COPY(); b.p[idat + 20] ^= 0x40;
    expect_error(t, &b, -1, "CRC error in IDAT", "IDAT CRC");
    COPY(); b.p[iend + 8] ^= 1;
    expect_error(t, &b, -1, "CRC error in IEND", "IEND CRC");

    /* IHDR fields (CRC fixed each time) */
    struct { int off; uint8_t val; const char *want; } ih[] = {
        {8 + 3, 0, "bad image size"},                /* width 0 */
        {8 + 0, 0x80, "bad image size"},             /* width >= 2^31 */
        {12 + 3, 0, "bad image size"},               /* height 0 */
        {16, 3, "bit depth 3"}, {16, 16, "bit depth 16 is not allowed for colour type 3"},
        {17, 5, "bad colour type 5"}, {17, 1, "bad colour type 1"},
        {18, 1, "compression method"}, {19, 1, "filter method"}, {20, 2, "interlace method 2"},
    };
    for (size_t k = 0; k < sizeof ih / sizeof ih[0]; k++) {
        COPY();
        b.p[ihdr + ih[k].off] = ih[k].val;   /* off: from the chunk start */
        fix_crc(&b, ihdr);
        expect_error(t, &b, PNG_ERR_FORMAT, ih[k].want, ih[k].want);
    }
    COPY(); set_be32(b.p + ihdr, 12); fix_crc(&b, ihdr);   /* IHDR length 12 */
    expect_error(t, &b, PNG_ERR_FORMAT, "IHDR chunk has length 12", "IHDR length 12");

    /* huge IHDR: rejected by the pixel limit before any allocation */
    b.n = 0; put_signature(&b); put_ihdr(&b, 0x7fffffff, 0x7fffffff, 16, 6, 1);
    put_chunk(&b, "IEND", NULL, 0, 0);
    expect_error(t, &b, PNG_ERR_FORMAT, "image too large", "2^31-1 squared");
    {
        sal_err_t e2 = {{0}};
        int rc = png_decode(good.p, good.n, "x.png", 39, &im, &info, &e2);
        CHECK(t, rc == PNG_ERR_FORMAT && strstr(e2.msg, "limit 39"), "max_pixels 39: %s", e2.msg);
        rc = png_decode(good.p, good.n, "x.png", 40, &im, &info, &e2);
        CHECK(t, rc == 0, "max_pixels 40: %s", e2.msg);
        image_free(&im);
    }

    /* chunk structure */
    COPY(); set_be32(b.p + plte_at, 0x80000000u);
    expect_error(t, &b, PNG_ERR_FORMAT, "too large", "chunk length 2^31");
    COPY(); set_be32(b.p + plte_at, 0x7ffffff0u);
    expect_error(t, &b, PNG_ERR_FORMAT, "truncated PLTE chunk", "PLTE length past the end");
    COPY(); b.n = idat + 12;
    expect_error(t, &b, -1, "truncated IDAT chunk", "cut in IDAT");
    COPY(); b.n = iend;
    expect_error(t, &b, -1, "no IEND", "missing IEND");
    COPY(); b.p[plte_at + 5] = '1'; fix_crc(&b, plte_at);
    expect_error(t, &b, PNG_ERR_FORMAT, "bad chunk type", "chunk type with a digit");
    COPY(); memcpy(b.p + plte_at + 4, "ABCD", 4); fix_crc(&b, plte_at);
    expect_error(t, &b, PNG_ERR_FORMAT, "unknown critical chunk ABCD", "unknown critical");

    /* order and presence */
    b.n = 0; put_signature(&b); put_chunk(&b, "tEXt", "a\0b", 3, 0);
    buf_put(&b, good.p + 8, good.n - 8);
    expect_error(t, &b, PNG_ERR_FORMAT, "not IHDR", "tEXt before IHDR");
    b.n = 0; buf_put(&b, good.p, plte_at); buf_put(&b, good.p + idat, good.n - idat);
    expect_error(t, &b, PNG_ERR_FORMAT, "without PLTE", "missing PLTE");
    b.n = 0; buf_put(&b, good.p, idat); put_chunk(&b, "IEND", NULL, 0, 0);
    expect_error(t, &b, PNG_ERR_FORMAT, "no IDAT", "no IDAT");
    b.n = 0; buf_put(&b, good.p, idat); put_chunk(&b, "PLTE", plte, 9, 0);
    buf_put(&b, good.p + idat, good.n - idat);
    expect_error(t, &b, PNG_ERR_FORMAT, "duplicate PLTE", "two PLTE");
    b.n = 0; buf_put(&b, good.p, iend); put_chunk(&b, "PLTE", plte, 9, 0);
    put_chunk(&b, "IEND", NULL, 0, 0);
    expect_error(t, &b, -1, "misplaced PLTE", "PLTE after IDAT");
    b.n = 0; buf_put(&b, good.p, iend); put_chunk(&b, "ABCD", NULL, 0, 0);
    put_chunk(&b, "IEND", NULL, 0, 0);
    expect_error(t, &b, -1, "unknown critical chunk ABCD", "unknown critical after IDAT");
    b.n = 0; buf_put(&b, good.p, iend); put_chunk(&b, "IHDR", good.p + 16, 13, 0);
    put_chunk(&b, "IEND", NULL, 0, 0);
    expect_error(t, &b, -1, "more than one IHDR", "two IHDR");
    b.n = 0; put_chunk(&b, "IEND", "x", 1, 0);
    { buf_t c = {0}; buf_put(&c, good.p, iend); buf_put(&c, b.p, b.n);
      expect_error(t, &c, -1, "IEND chunk has length 1", "IEND with data"); free(c.p); }
    b.n = 0; buf_put(&b, good.p, plte_at); put_chunk(&b, "PLTE", plte, 8, 0);
    buf_put(&b, good.p + idat, good.n - idat);
    expect_error(t, &b, PNG_ERR_FORMAT, "bad PLTE chunk length 8", "PLTE length 8");

    /* image data: made from raw scanlines edited before compression */
    struct { int kind; const char *want; } dk[] = {
        {0, "bad filter type 5 in scanline 2"}, {1, "palette index 3 out of range"},
        {2, "not enough image data"}, {3, "larger than expected"},
        {4, "extra data after the end of the zlib stream"}, {5, "corrupt image data"},
        {6, "IDAT chunks are not consecutive"}, {7, "truncated zlib stream"},
    };
    for (size_t k = 0; k < sizeof dk / sizeof dk[0]; k++) {
        buf_t raw = {0};
        make_raw(&raw, img, W, H, 1, 8, 0);   /* 4 rows of 11 bytes */
        if (dk[k].kind == 0) raw.p[2 * 11] = 5;
        if (dk[k].kind == 1) {   /* row 3: filter None, indices 0 except pixel 3 */
            memset(raw.p + 3 * 11, 0, 11);
            raw.p[3 * 11 + 1 + 3] = 3;
        }
        if (dk[k].kind == 2) raw.n -= 1;
        if (dk[k].kind == 3) buf_put(&raw, "\0", 1);
        uLongf zn = compressBound(raw.n) + 16;
        uint8_t *z = malloc(zn + 16);
        compress2(z, &zn, raw.p, raw.n, 6);
        if (dk[k].kind == 4) { memcpy(z + zn, "junk", 4); zn += 4; }
        if (dk[k].kind == 5) z[zn - 1] ^= 0xff;   /* Adler-32 */
        if (dk[k].kind == 7) zn -= 4;             /* Adler-32 missing */
        b.n = 0;
        buf_put(&b, good.p, idat);
        if (dk[k].kind == 6) {
            put_chunk(&b, "IDAT", z, (uint32_t)zn, 0);   /* complete stream */
            put_chunk(&b, "tEXt", "a\0b", 3, 0);
            put_chunk(&b, "IDAT", NULL, 0, 0);
        } else {
            put_chunk(&b, "IDAT", z, (uint32_t)zn, 0);
        }
        put_chunk(&b, "IEND", NULL, 0, 0);
        expect_error(t, &b, -1, dk[k].want, dk[k].want);
        free(z);
        free(raw.p);
    }
    /* a palette index is checked against the real palette size (3 here, depth 2) */
    {
        uint16_t idx[4] = {0, 1, 2, 3};
        build_png(&b, idx, 4, 1, 2, 3, 0, plte, 3, NULL, 0, 1);
        expect_error(t, &b, -1, "palette index 3 out of range (palette has 3 entries)", "2-bit index 3");
    }
#undef COPY
    free(good.p);
    free(b.p);
}

/* ------------------------------------------------------------------------ */
/* 4. fixtures                                                              */
/* ------------------------------------------------------------------------ */

static int load(test_ctx_t *t, const char *rel, image_u8_t *im, png_info_t *info) {
    char path[2048];
    sal_err_t err = {{0}};
    int rc = png_load(test_shared(t, rel, path, sizeof path), im, info, &err);
    CHECK(t, rc == 0, "%s: %s", rel, err.msg);
    return rc;
}

static void test_fixtures(test_ctx_t *t) {
    image_u8_t face, im, im2;
    png_info_t info;
    const char *syn = "fixtures/saliency/images/synthetic/";
    char rel[512];
#define SYN(f) (snprintf(rel, sizeof rel, "%s%s", syn, f), rel)

    if (load(t, "fixtures/saliency/images/faces/transition1_f0.png", &face, &info) != 0) return;
    CHECK(t, face.width == 200 && face.height == 200 && face.channels == 3, "face geometry");

    /* 16-bit gray (value x 257) -> high byte == the 8-bit gray image */
    if (load(t, SYN("gray16_200x200.png"), &im, &info) == 0 &&
        load(t, SYN("grayL_200x200.png"), &im2, NULL) == 0) {
        CHECK(t, info.bit_depth == 16 && info.color_type == 0 && im.channels == 1 &&
                     im2.channels == 1 && im.width == 200 && im.height == 200,
              "gray16 info depth %d ct %d ch %d", info.bit_depth, info.color_type, im.channels);
        CHECK(t, memcmp(im.pixels, im2.pixels, 200 * 200) == 0, "gray16 >> 8 != grayL");
        /* grayL is the face through Pillow's L = (19595 R + 38470 G + 7471 B + 2^15) >> 16 */
        int maxd = 0;
        for (int p = 0; p < 200 * 200; p++) {
            const uint8_t *c = face.pixels + 3 * p;
            int l = (19595 * c[0] + 38470 * c[1] + 7471 * c[2] + 32768) >> 16;
            int d = abs(l - im2.pixels[p]);
            if (d > maxd) maxd = d;
        }
        CHECK(t, maxd == 0, "grayL vs Pillow L of the face: max diff %d", maxd);
        image_free(&im2);
    }
    image_free(&im);

    /* 256-colour palette version of the face: close to it */
    if (load(t, SYN("palette_200x200.png"), &im, &info) == 0) {
        CHECK(t, info.color_type == 3 && info.bit_depth == 8 && im.channels == 3 && !info.has_trns,
              "palette info");
        double sum = 0;
        int maxd = 0;
        for (int i = 0; i < 200 * 200 * 3; i++) {
            int d = abs(im.pixels[i] - face.pixels[i]);
            sum += d;
            if (d > maxd) maxd = d;
        }
        double mean = sum / (200 * 200 * 3);
        printf("palette vs face: mean |d| %.3f, max %d\n", mean, maxd);
        CHECK(t, mean < 4.0 && maxd < 64, "palette vs face: mean %.3f max %d", mean, maxd);
    }
    image_free(&im);

    /* RGBA: opaque version == face with alpha 255; circle: alpha 0 outside a disc */
    if (load(t, SYN("rgba_opaque_200x200.png"), &im, &info) == 0) {
        int bad = 0;
        for (int p = 0; p < 200 * 200; p++)
            bad += im.pixels[4 * p + 3] != 255 || memcmp(im.pixels + 4 * p, face.pixels + 3 * p, 3);
        CHECK(t, im.channels == 4 && info.color_type == 6 && bad == 0, "rgba_opaque: %d bad", bad);
    }
    image_free(&im);
    if (load(t, SYN("rgba_circle_200x200.png"), &im, &info) == 0) {
        int outside_bad = 0, rgb_bad = 0, transparent = 0, opaque = 0;
        for (int y = 0; y < 200; y++)
            for (int x = 0; x < 200; x++) {
                const uint8_t *q = im.pixels + 4 * (y * 200 + x);
                double r = hypot(x + 0.5 - 100, y + 0.5 - 100);
                if (r > 81 && q[3] != 0) outside_bad++;     /* a disc of radius 80 */
                if (r < 79 && q[3] != 255) outside_bad++;   /* opaque inside */
                transparent += q[3] == 0;
                opaque += q[3] == 255;
                if (q[3] != 0 && memcmp(q, face.pixels + 3 * (y * 200 + x), 3)) rgb_bad++;
            }
        printf("rgba_circle: %d transparent, %d opaque\n", transparent, opaque);
        CHECK(t, im.channels == 4 && outside_bad == 0 && rgb_bad == 0 && transparent > 5000 &&
                     opaque > 20000,
              "rgba_circle: outside %d rgb %d transparent %d opaque %d", outside_bad, rgb_bad,
              transparent, opaque);
    }
    image_free(&im);

    /* sizes, a gradient, the constant gray grid */
    struct { const char *f; int w, h; } sz[] = {
        {"face_1024x1024.png", 1024, 1024}, {"tall_100x2000.png", 100, 2000},
        {"wide_2000x100.png", 2000, 100}, {"tiny_16x16.png", 16, 16},
        {"noise_320x240.png", 320, 240}, {"gray_256x256.png", 256, 256},
    };
    for (size_t k = 0; k < sizeof sz / sizeof sz[0]; k++) {
        if (load(t, SYN(sz[k].f), &im, &info) == 0)
            CHECK(t, im.width == sz[k].w && im.height == sz[k].h && im.channels == 3,
                  "%s: %dx%dx%d", sz[k].f, im.width, im.height, im.channels);
        image_free(&im);
    }
    if (load(t, SYN("hgradient_320x240.png"), &im, &info) == 0) {
        int bad = 0;
        for (int y = 1; y < 240; y++) bad += memcmp(im.pixels, im.pixels + (size_t)y * 320 * 3, 320 * 3) != 0;
        for (int x = 1; x < 320; x++) bad += im.pixels[3 * x] < im.pixels[3 * (x - 1)];
        CHECK(t, bad == 0 && im.pixels[0] < 10 && im.pixels[3 * 319] > 245,
              "hgradient: %d bad, ends %d %d", bad, im.pixels[0], im.pixels[3 * 319]);
    }
    image_free(&im);
    static const char *grid[] = {"1x1", "2x2", "31x31", "333x777", "1025x1025", "4000x100",
                                 "10x1000"};
    for (size_t k = 0; k < sizeof grid / sizeof grid[0]; k++) {
        snprintf(rel, sizeof rel, "fixtures/saliency/images/grid/gray_%s.png", grid[k]);
        if (load(t, rel, &im, &info) == 0) {
            int w, h;
            sscanf(grid[k], "%dx%d", &w, &h);
            size_t bad = 0, n = (size_t)im.width * im.height * im.channels;
            for (size_t i = 0; i < n; i++) bad += im.pixels[i] != 128;
            CHECK(t, im.width == w && im.height == h && bad == 0, "grid %s: %zu bad", grid[k], bad);
        }
        image_free(&im);
    }

    /* faces: each strip's k-th 200x200 tile is the single face file, exactly */
    int tiles = 0, tiles_equal = 0;
    for (int s = 1; s <= 16; s++) {
        snprintf(rel, sizeof rel, "fixtures/saliency/images/faces/transition%d.png", s);
        if (load(t, rel, &im, &info) != 0) continue;
        CHECK(t, im.width == 1200 && im.height == 200 && im.channels == 3, "strip %d geometry", s);
        for (int k = 0; k < 6; k++) {
            snprintf(rel, sizeof rel, "fixtures/saliency/images/faces/transition%d_f%d.png", s, k);
            if (load(t, rel, &im2, NULL) != 0) continue;
            int same = im2.width == 200 && im2.height == 200 && im2.channels == 3;
            for (int y = 0; same && y < 200; y++)
                same = memcmp(im2.pixels + (size_t)y * 600,
                              im.pixels + ((size_t)y * 1200 + (size_t)k * 200) * 3, 600) == 0;
            tiles++;
            tiles_equal += same;
            image_free(&im2);
        }
        image_free(&im);
    }
    printf("faces: %d of %d tiles equal their strip\n", tiles_equal, tiles);
    CHECK(t, tiles == 96 && tiles_equal == 96, "faces: %d of %d tiles equal", tiles_equal, tiles);
    image_free(&face);

    /* bad files: clean errors that start with the path */
    struct { const char *f; int rc; const char *want; } badf[] = {
        {"empty.png", PNG_ERR_FORMAT, "not a PNG"},
        {"random.png", PNG_ERR_FORMAT, "not a PNG"},
        {"truncated.png", -1, "truncated IDAT chunk"},
        {"notimage.jpeg", PNG_ERR_FORMAT, "not a PNG"},
        {"corrupt_body.jpg", PNG_ERR_FORMAT, "not a PNG"},
    };
    for (size_t k = 0; k < sizeof badf / sizeof badf[0]; k++) {
        char path[2048];
        snprintf(rel, sizeof rel, "fixtures/saliency/images/bad/%s", badf[k].f);
        test_shared(t, rel, path, sizeof path);
        sal_err_t err = {{0}};
        int rc = png_load(path, &im, &info, &err);
        CHECK(t, rc == badf[k].rc && strncmp(err.msg, path, strlen(path)) == 0 &&
                     err.msg[strlen(path)] == ':' && strstr(err.msg, badf[k].want) && !im.pixels,
              "%s: rc %d msg '%s'", badf[k].f, rc, err.msg);
        image_free(&im);
    }
    {
        sal_err_t err = {{0}};
        int rc = png_load("no/such/file.png", &im, &info, &err);
        CHECK(t, rc < 0 && strncmp(err.msg, "no/such/file.png: ", 18) == 0, "missing: %s", err.msg);
    }
#undef SYN
}

int main(void) {
    test_ctx_t t = test_begin("png");
    uint32_t seed = 12345;
    double t0 = sal_now();
    test_round_trips(&t, &seed);
    test_hand_built(&t, &seed);
    test_trns(&t, &seed);
    test_chunk_layout(&t, &seed);
    test_errors(&t);
    if (test_need_shared(&t, "fixtures/saliency/images")) test_fixtures(&t);
    printf("time %.2f s\n", sal_now() - t0);
    return test_end(&t);
}

/* test_png_fuzz.c — the PNG decoder on damaged input never crashes.
 *
 * From a few valid PNGs (encoder output, a hand-built interlaced 2-bit
 * palette image with tRNS, a fixture) we make thousands of broken ones with
 * a fixed-seed PRNG:
 *   a. truncated at every offset (must fail);
 *   b. 1..4 random bytes changed (CRCs then usually catch it);
 *   c. the same, then every chunk CRC recomputed, so that the damage reaches
 *      the IHDR checks, zlib, the filters and the pixel unpacking;
 *   d. valid zlib around damaged scanlines and random IHDR fields.
 * Every case must either succeed with a sane image or fail with a message
 * that starts with the name. Each input is an exact-size malloc'ed copy, so
 * ASan sees any read past the end. The work is bounded, not the clock: each
 * decode may produce at most 2^20 pixels, and the whole run's decoded
 * pixels stay under a fixed budget (a decompression bomb slipping through
 * the size checks would exceed it).
 */
#include "check.h"
#include "png.h"

#include <stdint.h>
#include <zlib.h>

static uint32_t rnd(uint32_t *s) {   /* xorshift32 */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends a chunk to buf at *n (caller sized buf). */
static void chunk(uint8_t *buf, size_t *n, const char *type, const uint8_t *d, uint32_t len) {
    be32(buf + *n, len);
    memcpy(buf + *n + 4, type, 4);
    if (len) memcpy(buf + *n + 8, d, len);
    be32(buf + *n + 8 + len, (uint32_t)crc32(0, buf + *n + 4, len + 4));
    *n += 12 + len;
}

/* A PNG around the given IHDR fields and (already filtered) scanlines. */
static size_t make_png(uint8_t *buf, const uint8_t ihdr[13], const uint8_t *plte, int plte_n,
                       const uint8_t *trns, int trns_n, const uint8_t *raw, size_t raw_n) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
    size_t n = 8;
    memcpy(buf, sig, 8);
    chunk(buf, &n, "IHDR", ihdr, 13);
    if (plte_n) chunk(buf, &n, "PLTE", plte, (uint32_t)plte_n * 3);
    if (trns_n) chunk(buf, &n, "tRNS", trns, (uint32_t)trns_n);
    uLongf zn = compressBound(raw_n);
    uint8_t *z = malloc(zn);
    compress2(z, &zn, raw, raw_n, 6);
    size_t half = zn / 2;   /* two IDATs */
    chunk(buf, &n, "IDAT", z, (uint32_t)half);
    chunk(buf, &n, "IDAT", z + half, (uint32_t)(zn - half));
    chunk(buf, &n, "IEND", NULL, 0);
    free(z);
    return n;
}

/* Recomputes the CRC of every chunk that lies fully inside the buffer. */
static void fix_all_crcs(uint8_t *p, size_t n) {
    size_t pos = 8;
    while (pos + 12 <= n) {
        uint32_t len = rd32(p + pos);
        if (len > n - pos - 12) break;
        be32(p + pos + 8 + len, (uint32_t)crc32(0, p + pos + 4, len + 4));
        pos += 12 + (size_t)len;
    }
}

typedef struct {
    int ok, failed, bad;   /* decoded, clean errors, contract violations */
    uint64_t pixels;       /* pixels decoded over all cases: the work done */
} tally_t;

/* Decodes an exact-size copy and checks the contract. */
static void run_case(test_ctx_t *t, tally_t *tl, const uint8_t *data, size_t n, int must_fail,
                     const char *what, size_t param) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, data, n);
    image_u8_t im;
    png_info_t info;
    sal_err_t err;
    memset(&err, 0, sizeof err);
    int rc = png_decode(copy, n, "fuzz.png", 1 << 20, &im, &info, &err);
    int good;
    if (rc == 0) {
        tl->ok++;
        tl->pixels += (uint64_t)im.width * im.height;
        good = !must_fail && im.pixels && im.channels >= 1 && im.channels <= 4 && im.width >= 1 &&
               im.height >= 1 && (size_t)im.width * im.height <= (1u << 20);
        /* touch every output byte (ASan/valgrind see uninitialised or short buffers) */
        unsigned sum = 0;
        for (size_t i = 0; good && i < (size_t)im.width * im.height * im.channels; i++) sum += im.pixels[i];
        (void)sum;
    } else {
        tl->failed++;
        good = (rc == -1 || rc == PNG_ERR_FORMAT) && strncmp(err.msg, "fuzz.png: ", 10) == 0 &&
               strlen(err.msg) > 10 && im.pixels == NULL;
    }
    if (!good) {
        tl->bad++;
        CHECK(t, good, "%s (%zu): rc %d msg '%s'", what, param, rc, err.msg);
    }
    image_free(&im);
    free(copy);
}

int main(void) {
    test_ctx_t t = test_begin("png_fuzz");
    double t0 = sal_now();
    uint32_t seed = 0x5a11e47u;
    uint8_t *bases[3];
    size_t base_n[3];

    /* base 0: encoder output, RGBA 37x23 */
    {
        uint8_t px[37 * 23 * 4];
        for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i % 37 * 5 + (rnd(&seed) & 7));
        sal_err_t err;
        CHECK(&t, png_encode(px, 37, 23, 4, 6, &bases[0], &base_n[0], &err) == 0, "encode: %s", err.msg);
    }
    /* base 1: hand-built Adam7 2-bit palette with tRNS, 19x13 */
    uint8_t ihdr[13] = {0, 0, 0, 19, 0, 0, 0, 13, 2, 3, 0, 0, 1};
    uint8_t plte[4 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9}, trns[3] = {0, 128, 255};
    {
        /* pass sizes of a 19x13 Adam7 image: row bytes = ceil(w * 2 / 8) */
        static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
        static const int dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
        uint8_t raw[512];
        size_t rn = 0;
        for (int p = 0; p < 7; p++) {
            int pw = (19 - x0[p] + dx[p] - 1) / dx[p], ph = (13 - y0[p] + dy[p] - 1) / dy[p];
            for (int y = 0; y < ph; y++) {
                raw[rn++] = 0;   /* filter None: any byte is a valid 2-bit index */
                for (int i = 0; i < (pw * 2 + 7) / 8; i++) raw[rn++] = (uint8_t)rnd(&seed);
            }
        }
        bases[1] = malloc(1024);
        base_n[1] = make_png(bases[1], ihdr, plte, 4, trns, 3, raw, rn);
        image_u8_t im;
        png_info_t info;
        sal_err_t err;
        CHECK(&t, png_decode(bases[1], base_n[1], "b1", 0, &im, &info, &err) == 0 &&
                      im.channels == 4 && info.interlaced,
              "base 1: %s", err.msg);
        image_free(&im);
    }
    /* base 2: a fixture (without ../shared: a 16x16 gray image of our encoder) */
    if (test_need_shared(&t, "fixtures/saliency/images/synthetic/tiny_16x16.png")) {
        char path[2048];
        bases[2] = test_read_raw(test_shared(&t, "fixtures/saliency/images/synthetic/tiny_16x16.png",
                                             path, sizeof path), &base_n[2]);
        CHECK(&t, bases[2] != NULL, "cannot read %s", path);
        if (!bases[2]) { bases[2] = malloc(8); base_n[2] = 0; }
    } else {
        uint8_t px[16 * 16];
        for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 7 + (rnd(&seed) & 15));
        sal_err_t err;
        CHECK(&t, png_encode(px, 16, 16, 1, 9, &bases[2], &base_n[2], &err) == 0, "encode: %s",
              err.msg);
    }

    tally_t tl = {0, 0, 0, 0};
    int cases = 0;
    /* a. truncation at every offset */
    for (int b = 0; b < 3; b++)
        for (size_t cut = 0; cut < base_n[b]; cut++, cases++)
            run_case(&t, &tl, bases[b], cut, 1, "truncated", cut);
    int trunc_cases = cases;

    /* b, c. random byte changes, with or without CRC repair */
    uint8_t *m = malloc(4096);
    for (int k = 0; k < 6000; k++, cases++) {
        int b = k % 3;
        size_t n = base_n[b];
        if (n == 0 || n > 4096) continue;
        memcpy(m, bases[b], n);
        int flips = 1 + (int)(rnd(&seed) % 4);
        for (int f = 0; f < flips; f++) {
            size_t at = rnd(&seed) % n;
            /* half of the time aim at the first 64 bytes: IHDR and the zlib header */
            if (rnd(&seed) & 1) at = rnd(&seed) % (n < 64 ? n : 64);
            m[at] = (rnd(&seed) & 1) ? (uint8_t)rnd(&seed) : (uint8_t)(m[at] ^ (1u << (rnd(&seed) % 8)));
        }
        if (k >= 3000) fix_all_crcs(m, n);
        run_case(&t, &tl, m, n, 0, k >= 3000 ? "flip+crc" : "flip", (size_t)k);
    }

    /* d. valid zlib, damaged scanlines and random IHDR fields */
    static const uint8_t depths[] = {1, 2, 4, 8, 16, 3};
    static const uint8_t ctypes[] = {0, 2, 3, 4, 6, 1};
    uint8_t raw[1500], buf[4096];
    for (int k = 0; k < 3000; k++, cases++) {
        uint8_t h[13] = {0};
        be32(h, 1 + rnd(&seed) % 24);
        be32(h + 4, 1 + rnd(&seed) % 24);
        h[8] = depths[rnd(&seed) % 6];
        h[9] = ctypes[rnd(&seed) % 6];
        h[12] = (uint8_t)(rnd(&seed) % 3 == 0);
        /* about the right amount of data: width*height*8 bytes max, some filter bytes wrong */
        size_t rn = rnd(&seed) % sizeof raw;
        for (size_t i = 0; i < rn; i++) raw[i] = (uint8_t)rnd(&seed);
        for (size_t i = 0; i < rn; i++)
            if (rnd(&seed) % 8) raw[i] %= 5;   /* mostly valid filter types where they land */
        size_t n = make_png(buf, h, plte, 1 + (int)(rnd(&seed) % 4), trns, (int)(rnd(&seed) % 4), raw, rn);
        run_case(&t, &tl, buf, n, 0, "scanlines", (size_t)k);
        /* the same, with the exact expected size so that the pixel stage runs */
        uint32_t w = rd32(h), hh = rd32(h + 4);
        int spp = h[9] == 2 ? 3 : h[9] == 4 ? 2 : h[9] == 6 ? 4 : 1;
        size_t rb = ((size_t)w * spp * h[8] + 7) / 8;
        if (!h[12] && (rb + 1) * hh <= sizeof raw) {
            size_t need = (rb + 1) * hh;
            for (size_t y = 0; y < hh; y++) raw[y * (rb + 1)] = (uint8_t)(rnd(&seed) % 6);
            n = make_png(buf, h, plte, 1 + (int)(rnd(&seed) % 4), trns, (int)(rnd(&seed) % 4), raw, need);
            run_case(&t, &tl, buf, n, 0, "exact scanlines", (size_t)k);
            cases++;
        }
    }
    free(m);
    for (int b = 0; b < 3; b++) free(bases[b]);

    double dt = sal_now() - t0;
    printf("%d cases (%d truncations): %d decoded (%llu pixels), %d clean errors, %d contract "
           "violations, %.2f s\n",
           cases, trunc_cases, tl.ok, (unsigned long long)tl.pixels, tl.failed, tl.bad, dt);
    CHECK(&t, tl.bad == 0, "%d contract violations", tl.bad);
    CHECK(&t, tl.ok > 100 && tl.failed > 1000, "both outcomes exercised: %d ok, %d failed", tl.ok,
          tl.failed);
    /* the work budget: about 4x what the fixed-seed cases decode (no timing,
     * which a loaded machine makes flaky) */
    CHECK(&t, tl.pixels < 200000, "decoded %llu pixels in all, over the budget of 200000",
          (unsigned long long)tl.pixels);
    return test_end(&t);
}

/* test_jpeg_damage.c — damaged and unsupported JPEGs.
 *
 *  1. Truncated baseline files (many cut points): wherever djpeg still
 *     writes a whole image, ours is byte-identical (libjpeg fills the missing
 *     part with zero coefficients after a fake EOI); where it cannot, we fail.
 *  2. Truncated progressive files (the dummy.jpeg fixture cut at 8 points):
 *     compared with recorded decodes of libjpeg-turbo 2.0.1, whose block
 *     smoothing of incomplete scans differs from Debian's 2.1.5.
 *  3. Random byte changes: no crash (the ASan/UBSan run checks memory), and
 *     for baseline files wherever djpeg writes a whole image ours is
 *     identical: default IDCT model vs djpeg (its SIMD IDCT works in 16-bit
 *     lanes), portable model vs djpeg's C path (JSIMD_FORCENONE=1).
 *  4. Headers that must give a clear error: 12-bit, arithmetic, lossless,
 *     2 components, zero/too large sizes, missing or bad tables, unknown
 *     markers, memory limits; and libjpeg's default Huffman tables.
 *  5. The scan limit: a progressive file repeating a scan decodes up to
 *     jpeg_decode_opts_t.max_scans (default JPEG_MAX_SCANS) and fails past it.
 */
#include "test_jpeg_util.h"

/* ------------------------------------------------------------ 1. baseline */

static void truncated_baseline(test_ctx_t *t, tj_oracle_t *or) {
    const char *options[] = {"-sample 2x2 -quality 80",
                             "-sample 1x1 -quality 95 -restart 1",
                             "-sample 2x1 -quality 60 -restart 3B",
                             "-grayscale -quality 70",
                             "-sample 4x1 -quality 85 -optimize",
                             "-sample 2x2 -quality 30 -restart 2B"};
    char ppm[1200], full[1200], cut[1200], name[64];
    snprintf(ppm, sizeof ppm, "%s/src.ppm", t->tmp);
    snprintf(full, sizeof full, "%s/full.jpg", t->tmp);
    snprintf(cut, sizeof cut, "%s/cut.jpg", t->tmp);
    tj_image_t im = tj_make_image(250, 190, 2, 3);
    tj_write_pnm(ppm, &im);
    free(im.px);
    int compared = 0, identical = 0, both_fail = 0;
    for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
        snprintf(name, sizeof name, "d_trunc_o%zu.jpg", o);
        CHECK(t, tj_source(or, name, options[o], ppm, full, 1) == 0, "cjpeg %s", options[o]);
        size_t n = 0;
        uint8_t *data = test_read_raw(full, &n);
        if (!data) continue;
        for (int k = 1; k <= 20; k++) {
            size_t len = n * (size_t)k / 21 + (size_t)(k % 7); /* cut points over the whole file */
            if (len >= n) len = n - 1;
            tj_write_file(cut, data, len);
            for (int denom = 1; denom <= 8; denom *= 4) {
                image_u8_t ours;
                sal_err_t err = {{0}};
                jpeg_decode_opts_t opts = {0};
                opts.scale_denom = denom;
                int rc = jpeg_decode(data, len, "cut.jpg", &opts, &ours, NULL, &err);
                tj_ref_t ref;
                if (tj_reference(or, t, name, cut, denom, 0, &ref) != 0) {
                    if (rc == 0) image_free(&ours);
                    continue;
                }
                if (!ref.ok) {
                    CHECK(t, rc < 0, "%s cut at %zu: djpeg fails, we decode", options[o], len);
                    CHECK(t, rc == 0 || strstr(err.msg, "cut.jpg") != NULL,
                          "error without file name: %s", err.msg);
                    both_fail += rc < 0;
                } else {
                    compared++;
                    int same = rc == 0 && tj_ref_same(&ref, &ours);
                    identical += same;
                    CHECK(t, same, "%s cut at %zu/%zu 1/%d: differs from djpeg (%s)", options[o],
                          len, n, denom, rc < 0 ? err.msg : "decoded");
                    tj_ref_free(&ref);
                }
                if (rc == 0) image_free(&ours);
            }
        }
        free(data);
    }
    printf(
        "truncated baseline: %d compared, %d identical to djpeg, %d header cuts failing in both\n",
        compared, identical, both_fail);
    CHECK(t, compared > 200, "only %d truncated files compared", compared);
}

/* --------------------------------------------------------- 2. progressive */

/* libjpeg-turbo 2.0.1 (djpeg -dct int -scale 1/N, built from the 2.0.1 tag)
 * on dummy.jpeg cut to `len` bytes: FNV-1a 64 of the RGB output. */
static const struct { size_t len; int denom; uint64_t fnv;
} recorded_201[] = {
    {700, 1, 0x2bc15358ebe88a8bull},   {700, 2, 0x9d1d473b907e7407ull},
    {700, 4, 0x1568f71753d9fb37ull},   {700, 8, 0x5b1a0d75470a0f30ull},
    {1500, 1, 0xd20d539fe79605cbull},  {1500, 2, 0xecebf8aaa964cd57ull},
    {1500, 4, 0x56331067890d7253ull},  {1500, 8, 0x283b0a3f561c6f9dull},
    {3000, 1, 0xda08148fc14ec14full},  {3000, 2, 0x7f8bb3bfa68875adull},
    {3000, 4, 0xba03279289b1b1f8ull},  {3000, 8, 0x9455b319d7d5276eull},
    {5000, 1, 0x8a708114eaa85520ull},  {5000, 2, 0x5279381627fe5135ull},
    {5000, 4, 0x1953221ec4c30573ull},  {5000, 8, 0xf62008bbd99bf6eeull},
    {8000, 1, 0x4513fbca4288787aull},  {8000, 2, 0x9c6b730bdeb77904ull},
    {8000, 4, 0xf5b2adf97f3d35d9ull},  {8000, 8, 0xf62008bbd99bf6eeull},
    {11000, 1, 0x900ac553241696c0ull}, {11000, 2, 0x53d01496ac03bc39ull},
    {11000, 4, 0x83a49fa05e35e3b5ull}, {11000, 8, 0xf62008bbd99bf6eeull},
    {14000, 1, 0x8a813c2760cbec73ull}, {14000, 2, 0x4bff2471dce3ae65ull},
    {14000, 4, 0xa60ae5e0a925678full}, {14000, 8, 0x1241d1927a2dcc0aull},
    {17000, 1, 0x6c6e11df74343539ull}, {17000, 2, 0xba20b737223bfe70ull},
    {17000, 4, 0x335b067fdbc56c53ull}, {17000, 8, 0x10fcc49ad6433b5dull},
};

static void truncated_progressive(test_ctx_t *t) {
    char path[1200];
    size_t n = 0;
    uint8_t *data =
        test_read_raw(test_shared(t, "fixtures/saliency/images/dummy.jpeg", path, sizeof path), &n);
    CHECK(t, data != NULL && n == 17504, "cannot read %s", path);
    if (!data) return;
    int matched = 0, total = 0;
    for (size_t i = 0; i < sizeof recorded_201 / sizeof recorded_201[0]; i++) {
        image_u8_t ours;
        sal_err_t err = {{0}};
        jpeg_decode_opts_t opts = {0};
        opts.scale_denom = recorded_201[i].denom;
        size_t len = recorded_201[i].len < n ? recorded_201[i].len : n;
        int rc = jpeg_decode(data, len, "dummy.jpeg", &opts, &ours, NULL, &err);
        uint64_t h =
            rc == 0 ? tj_fnv1a(ours.pixels, (size_t)ours.width * ours.height * ours.channels) : 0;
        total++;
        matched += h == recorded_201[i].fnv;
        CHECK(t, h == recorded_201[i].fnv,
              "dummy.jpeg cut at %zu, 1/%d: FNV %016llx, 2.0.1 gives %016llx (%s)", len,
              recorded_201[i].denom, (unsigned long long)h, (unsigned long long)recorded_201[i].fnv,
              rc < 0 ? err.msg : "decoded");
        if (rc == 0) image_free(&ours);
    }
    printf("truncated progressive: %d of %d identical to recorded libjpeg-turbo 2.0.1 decodes\n",
           matched, total);
    free(data);
}

/* ---------------------------------------------------------- 3. byte flips */

/* Offset just past the first SOS header (start of entropy-coded data). */
static size_t scan_data_start(const uint8_t *d, size_t n) {
    for (size_t i = 2; i + 3 < n; i++)
        if (d[i] == 0xFF && d[i + 1] == 0xDA) return i + 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
    return 2;
}

/* Flips: default model vs djpeg (SIMD IDCT) with changes anywhere; portable
 * model vs djpeg's C path (JSIMD_FORCENONE=1) with changes in the entropy
 * data only (Debian's C path keeps 16-bit multipliers, which only matters
 * when a change creates a 16-bit quantisation table). */
static void byte_flips(test_ctx_t *t, tj_oracle_t *or) {
    const char *options[] = {"-sample 2x2 -quality 85", "-sample 1x1 -quality 20 -restart 1",
                             "-sample 2x1 -quality 95", "-sample 2x2 -progressive",
                             "-grayscale -progressive -restart 1"};
    char ppm[1200], src[1200], bad[1200], name[64];
    snprintf(ppm, sizeof ppm, "%s/flip.ppm", t->tmp);
    snprintf(src, sizeof src, "%s/flip_src.jpg", t->tmp);
    snprintf(bad, sizeof bad, "%s/flip.jpg", t->tmp);
    tj_image_t im = tj_make_image(96, 72, 1, 11);
    tj_write_pnm(ppm, &im);
    free(im.px);
    uint32_t seed = 12345;
    int decoded = 0, failed = 0, compared[2] = {0, 0}, identical[2] = {0, 0};
    for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
        int progressive = strstr(options[o], "progressive") != NULL;
        snprintf(name, sizeof name, "d_flip_o%zu.jpg", o);
        remove(src);
        tj_source(or, name, options[o], ppm, src, 1);
        size_t n = 0;
        uint8_t *data = test_read_raw(src, &n);
        CHECK(t, data != NULL, "cjpeg %s", options[o]);
        if (!data) continue;
        size_t body = scan_data_start(data, n);
        uint8_t *copy = malloc(n);
        for (int trial = 0; trial < 50; trial++) {
            int portable = trial & 1;
            size_t from = portable ? body : 2;
            memcpy(copy, data, n);
            int changes = 1 + (int)(tj_lcg(&seed) % 4);
            for (int c = 0; c < changes; c++)
                copy[from + tj_lcg(&seed) % (n - 2 - from)] = (uint8_t)tj_lcg(&seed);
            int denom = 1 << (tj_lcg(&seed) % 4);
            image_u8_t ours;
            sal_err_t err = {{0}};
            jpeg_decode_opts_t opts = {0};
            opts.scale_denom = denom;
            opts.portable_idct = portable;
            int rc = jpeg_decode(copy, n, "flip.jpg", &opts, &ours, NULL, &err);
            if (rc < 0) {
                failed++;
                CHECK(t, strstr(err.msg, "flip.jpg") != NULL, "error without file name: %s",
                      err.msg);
                continue;
            }
            decoded++;
            CHECK(t, ours.width > 0 && ours.height > 0 && ours.pixels, "empty decode");
            if (!progressive) {
                tj_write_file(bad, copy, n);
                tj_ref_t ref;
                if (tj_reference(or, t, name, bad, denom, portable, &ref) == 0 && ref.ok) {
                    compared[portable]++;
                    int same = tj_ref_same(&ref, &ours);
                    identical[portable] += same;
                    CHECK(t, same, "%s flip trial %d 1/%d (%s IDCT): differs from djpeg",
                          options[o], trial, denom, portable ? "C" : "SIMD");
                }
                tj_ref_free(&ref);
            }
            image_free(&ours);
        }
        free(copy);
        free(data);
    }
    printf("byte flips: %d decoded, %d rejected; baseline vs djpeg: SIMD IDCT %d/%d identical, "
           "C IDCT (JSIMD_FORCENONE=1) %d/%d identical\n",
           decoded, failed, identical[0], compared[0], identical[1], compared[1]);
    CHECK(t, compared[0] > 30 && compared[1] > 30, "only %d + %d flipped files compared",
          compared[0], compared[1]);
}

/* ------------------------------------------------------------ 4. headers */

/* Finds marker FF `code` (first occurrence); returns its offset or -1. */
static long find_marker(const uint8_t *d, size_t n, int code) {
    for (size_t i = 0; i + 1 < n; i++)
        if (d[i] == 0xFF && d[i + 1] == code) return (long)i;
    return -1;
}

/* Removes the segment of marker `code` (with its length) from a copy. */
static uint8_t *drop_segment(const uint8_t *d, size_t n, int code, size_t *out_n) {
    long at = find_marker(d, n, code);
    if (at < 0) return NULL;
    size_t seg = 2 + ((size_t)d[at + 2] << 8 | d[at + 3]);
    uint8_t *c = malloc(n);
    memcpy(c, d, (size_t)at);
    memcpy(c + at, d + at + seg, n - at - seg);
    *out_n = n - seg;
    return c;
}

static void expect_error(test_ctx_t *t, const uint8_t *d, size_t n, const char *what,
                         const char *needle) {
    image_u8_t img;
    sal_err_t err = {{0}};
    int rc = jpeg_decode(d, n, "case.jpg", NULL, &img, NULL, &err);
    CHECK(t, rc < 0, "%s: decoded, expected an error", what);
    if (rc == 0) { image_free(&img); return; }
    CHECK(t, strstr(err.msg, "case.jpg") && strstr(err.msg, needle), "%s: message '%s' lacks '%s'",
          what, err.msg, needle);
}

static void header_errors(test_ctx_t *t, tj_oracle_t *or) {
    char ppm[1200], jpg[1200];
    snprintf(ppm, sizeof ppm, "%s/h.ppm", t->tmp);
    snprintf(jpg, sizeof jpg, "%s/h.jpg", t->tmp);
    tj_image_t im = tj_make_image(40, 24, 0, 1);
    tj_write_pnm(ppm, &im);
    free(im.px);
    size_t n = 0, m = 0;
    remove(jpg);
    tj_source(or, "d_hdr.jpg", "-quality 75", ppm, jpg, 1);
    uint8_t *base = test_read_raw(jpg, &n);
    CHECK(t, base != NULL, "cjpeg failed");
    if (!base) return;
    uint8_t *c = malloc(n + 16);
    long sof = find_marker(base, n, 0xC0);
    CHECK(t, sof > 0, "no SOF0 in cjpeg output");

    expect_error(t, base, 0, "empty", "not a JPEG");
    expect_error(t, (const uint8_t *)"hello world", 11, "text", "not a JPEG");
    expect_error(t, base, 2, "SOI only", "no image");
    expect_error(t, base, (size_t)sof + 6, "cut inside SOF", "corrupt JPEG");

    memcpy(c, base, n); c[sof + 4] = 12;                        /* precision */
    expect_error(t, c, n, "12-bit", "12-bit");
    memcpy(c, base, n); c[sof + 1] = 0xC3;                      /* lossless */
    expect_error(t, c, n, "SOF3", "unsupported");
    memcpy(c, base, n); c[sof + 1] = 0xC9;                      /* arithmetic */
    expect_error(t, c, n, "SOF9", "arithmetic");
    memcpy(c, base, n); c[sof + 5] = 0; c[sof + 6] = 0;         /* height 0 (DNL) */
    expect_error(t, c, n, "height 0", "empty image");
    memcpy(c, base, n); c[sof + 7] = 0xFF; c[sof + 8] = 0xFF;   /* width 65535 */
    expect_error(t, c, n, "width 65535", "too large");
    memcpy(c, base, n); c[sof + 11] = 0x52;                     /* Y sampling 5x2 */
    expect_error(t, c, n, "sampling 5x2", "sampling");
    memcpy(c, base, n);
    c[sof + 12] = 0x0B; /* first component's quant table 11 */
    expect_error(t, c, n, "quant table 11", "quantization table");
    memcpy(c, base, n); c[sof + 2 + 1] = 0xFF;                  /* SOF length */
    expect_error(t, c, n, "SOF length", "SOF length");

    /* 65500 x 65500: refused before any large allocation */
    memcpy(c, base, n);
    c[sof + 5] = c[sof + 7] = 0xFF; c[sof + 6] = c[sof + 8] = 0xDC;
    expect_error(t, c, n, "65500x65500", "too large");
    /* the same image is fine at 1/8 when the caller allows the pixels and
     * the memory (~400 MB: over the 256 MiB default, refused on the header) */
    {
        image_u8_t img;
        sal_err_t err = {{0}};
        jpeg_decode_opts_t o = {0};
        o.scale_denom = 8;
        o.max_pixels = (size_t)1 << 27;
        int rc = jpeg_decode(c, n, "big.jpg", &o, &img, NULL, &err);
        CHECK(t, rc < 0 && strstr(err.msg, "too large to decode (65500x65500 at 1/8"), "65500^2 at 1/8, default limit: %s",
              rc ? err.msg : "decoded");
        if (rc == 0) image_free(&img);
        o.max_bytes = (size_t)1 << 30;
        rc = jpeg_decode(c, n, "big.jpg", &o, &img, NULL, &err);
        CHECK(t, rc == 0 && img.width == 8188 && img.height == 8188, "65500^2 at 1/8: %s",
              rc ? err.msg : "wrong size");
        if (rc == 0) image_free(&img);
        o.scale_denom = 1;
        o.max_pixels = 40 * 24 - 1;
        rc = jpeg_decode(base, n, "small.jpg", &o, &img, NULL, &err);
        CHECK(t, rc < 0 && strstr(err.msg, "too large"), "max_pixels not enforced");
        if (rc == 0) image_free(&img);
        o.scale_denom = 3;
        o.max_pixels = 0;
        rc = jpeg_decode(base, n, "small.jpg", &o, &img, NULL, &err);
        CHECK(t, rc < 0 && strstr(err.msg, "scale"), "scale 1/3 accepted");
        if (rc == 0) image_free(&img);
    }

    uint8_t *d = drop_segment(base, n, 0xDB, &m);               /* no DQT at all */
    if (d) { expect_error(t, d, m, "no DQT", "quantization table"); free(d); }
    memcpy(c, base, n);
    long dht = find_marker(base, n, 0xC4);
    c[dht + 4] = 0x05;                                          /* DHT index 5 */
    expect_error(t, c, n, "DHT index", "DHT");
    memcpy(c, base, n);
    c[dht + 5] = 3;                                             /* three 1-bit codes: overfull */
    expect_error(t, c, n, "overfull Huffman table", "Huffman table");
    long sos = find_marker(base, n, 0xDA);
    memcpy(c, base, n); c[sos + 5] = 99;                        /* SOS component id */
    expect_error(t, c, n, "SOS component", "component id");
    memcpy(c, base, n); c[sos + 6] = 0x44;                      /* Huffman table 4 */
    expect_error(t, c, n, "SOS table 4", "Huffman table");
    memcpy(c, base, n); c[2] = 0xFF; c[3] = 0x02;               /* reserved marker */
    expect_error(t, c, n, "reserved marker", "unknown marker");
    memcpy(c, base, n); c[2] = 0xFF; c[3] = 0xD8;               /* second SOI */
    expect_error(t, c, n, "second SOI", "SOI");

    /* Baseline files may omit DHT: libjpeg then uses the standard tables,
     * which cjpeg (without -optimize) wrote anyway, so the decode is the same. */
    d = base;
    size_t dn = n;
    for (int k = 0; k < 4 && d; k++) {
        size_t nn;
        uint8_t *e = drop_segment(d, dn, 0xC4, &nn);
        if (!e) break;
        if (d != base) free(d);
        d = e;
        dn = nn;
    }
    CHECK(t, d != base && find_marker(d, dn, 0xC4) < 0, "could not strip DHT");
    image_u8_t a, b;
    sal_err_t err = {{0}};
    int ra = jpeg_decode(base, n, "with.jpg", NULL, &a, NULL, &err);
    int rb = jpeg_decode(d, dn, "without.jpg", NULL, &b, NULL, &err);
    CHECK(t, ra == 0 && rb == 0 && a.width == b.width &&
                 memcmp(a.pixels, b.pixels, (size_t)a.width * a.height * a.channels) == 0,
          "standard Huffman tables: %s", err.msg);
    if (ra == 0) image_free(&a);
    if (rb == 0) image_free(&b);
    if (d != base) free(d);

    /* Progressive files get no default tables. */
    remove(jpg);
    tj_source(or, "d_hdr_prog.jpg", "-progressive", ppm, jpg, 1);
    uint8_t *prog = test_read_raw(jpg, &m);
    CHECK(t, prog != NULL, "cjpeg -progressive failed");
    if (prog) {
        size_t pn;
        uint8_t *e = drop_segment(prog, m, 0xC4, &pn);
        if (e) { expect_error(t, e, pn, "progressive without DHT", "Huffman table"); free(e); }
        free(prog);
    }
    free(c);
    free(base);
}

/* ---------------------------------------------------------- 5. scan limit */

/* Offset of the last FF <marker> in d[0..n), or n. */
static size_t last_marker(const uint8_t *d, size_t n, int marker) {
    for (size_t i = n - 1; i > 0; i--)
        if (d[i - 1] == 0xFF && d[i] == marker) return i - 1;
    return n;
}

/* A progressive file repeating its last scan decodes up to the scan limit
 * (libjpeg only warns about the bogus progression) and fails clearly past it:
 * the limit bounds the work a small file can ask for. */
static void scan_limit(test_ctx_t *t, tj_oracle_t *or) {
    char ppm[1200], jpg[1200];
    snprintf(ppm, sizeof ppm, "%s/s.ppm", t->tmp);
    snprintf(jpg, sizeof jpg, "%s/s.jpg", t->tmp);
    tj_image_t im = tj_make_image(48, 32, 0, 3);
    tj_write_pnm(ppm, &im);
    free(im.px);
    size_t n = 0;
    remove(jpg);
    tj_source(or, "d_scan.jpg", "-progressive -quality 80", ppm, jpg, 1);
    uint8_t *base = test_read_raw(jpg, &n);
    CHECK(t, base != NULL && n > 4, "cjpeg -progressive failed");
    if (!base || n <= 4) { free(base); return; }
    int scans = 0;
    for (size_t i = 1; i < n; i++) scans += base[i - 1] == 0xFF && base[i] == 0xDA;
    const size_t sos = last_marker(base, n, 0xDA), eoi = last_marker(base, n, 0xD9);
    CHECK(t, scans >= 2 && sos < eoi && eoi + 2 == n, "progressive file: %d scans, SOS at %zu, EOI at %zu",
          scans, sos, eoi);
    if (!(scans >= 2 && sos < eoi && eoi + 2 == n)) { free(base); return; }

    image_u8_t img;
    sal_err_t err = {{0}};
    jpeg_decode_opts_t o = {.max_scans = scans};
    CHECK(t, jpeg_decode(base, n, "s.jpg", &o, &img, NULL, &err) == 0, "%d scans, limit %d: %s",
          scans, scans, err.msg);
    image_free(&img);
    o.max_scans = scans - 1;
    CHECK(t, jpeg_decode(base, n, "s.jpg", &o, &img, NULL, &err) < 0 && strstr(err.msg, "s.jpg") &&
              strstr(err.msg, "scans"),
          "%d scans, limit %d: expected a 'scans' error, got '%s'", scans, scans - 1, err.msg);

    /* the last scan repeated: total scans 20 (decodes) and JPEG_MAX_SCANS + 1 (refused) */
    const int totals[2] = {20, JPEG_MAX_SCANS + 1};
    const size_t seg = eoi - sos;
    for (int k = 0; k < 2; k++) {
        const int extra = totals[k] - scans;
        uint8_t *f = malloc(eoi + (size_t)extra * seg + 2);
        memcpy(f, base, eoi);
        for (int r = 0; r < extra; r++) memcpy(f + eoi + (size_t)r * seg, base + sos, seg);
        f[eoi + (size_t)extra * seg] = 0xFF;
        f[eoi + (size_t)extra * seg + 1] = 0xD9;
        const size_t fn = eoi + (size_t)extra * seg + 2;
        if (k == 0) {
            CHECK(t, jpeg_decode(f, fn, "s.jpg", NULL, &img, NULL, &err) == 0,
                  "%d scans (last one repeated): %s", totals[k], err.msg);
            image_free(&img);
        } else {
            expect_error(t, f, fn, "JPEG_MAX_SCANS + 1 scans", "more than 1000 scans");
        }
        free(f);
    }
    free(base);
}

int main(void) {
    test_ctx_t t = test_begin("jpeg_damage");
    int live = tj_have_djpeg(&t);
    tj_oracle_t o;
    double t0 = sal_now();
    if (tj_oracle_init(&o, &t, live) == 0) {
        printf("oracle: %s\n", live ? "cjpeg/djpeg" : "recorded in " TJ_DATA);
        truncated_baseline(&t, &o);
        byte_flips(&t, &o);
        header_errors(&t, &o);
        scan_limit(&t, &o);
    }
    tj_oracle_done(&o, &t);
    tj_oracle_free(&o);
    if (test_need_shared(&t, "fixtures/saliency/images/dummy.jpeg")) truncated_progressive(&t);
    printf("time %.1f s\n", sal_now() - t0);
    return test_end(&t);
}

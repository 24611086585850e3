/* test_exif.c — the EXIF orientation reader on hand-made TIFF blocks (both
 * byte orders, SHORT and LONG values, several entries) and on malformed
 * ones (bad magic, IFD offset or entry count past the end, truncated entry,
 * wrong type, out-of-range values), plus random bytes: always 1..8, never a
 * read outside the buffer (the ASan run checks that). */
#include "check.h"
#include "exif.h"

#include <stdint.h>
#include <string.h>

typedef struct blob {
    uint8_t b[256];
    size_t n;
    int be;
} blob_t;

static void put16(blob_t *x, unsigned v) {
    if (x->be) { x->b[x->n++] = (uint8_t)(v >> 8); x->b[x->n++] = (uint8_t)v; }
    else { x->b[x->n++] = (uint8_t)v; x->b[x->n++] = (uint8_t)(v >> 8); }
}
static void put32(blob_t *x, uint32_t v) {
    if (x->be) { put16(x, v >> 16); put16(x, v & 0xFFFF); }
    else { put16(x, v & 0xFFFF); put16(x, v >> 16); }
}
/* TIFF header + IFD0 at offset 8 with `count` entries announced. */
static void header(blob_t *x, int be, unsigned count) {
    memset(x, 0, sizeof *x);
    x->be = be;
    x->b[0] = x->b[1] = be ? 'M' : 'I';
    x->n = 2;
    put16(x, 42);
    put32(x, 8);
    put16(x, count);
}
static void entry(blob_t *x, unsigned tag, unsigned type, uint32_t count, uint32_t value,
                  int value_is_short) {
    put16(x, tag);
    put16(x, type);
    put32(x, count);
    if (value_is_short) { put16(x, value); put16(x, 0); }
    else put32(x, value);
}

int main(void) {
    test_ctx_t t = test_begin("exif");
    blob_t x;

    for (int be = 0; be <= 1; be++) {
        for (unsigned v = 0; v <= 10; v++) {
            header(&x, be, 3);
            entry(&x, 0x010F, 2, 4, 0x61626300, 0);           /* Make */
            entry(&x, 0x011A, 5, 1, 200, 0);                   /* XResolution (offset) */
            entry(&x, 0x0112, 3, 1, v, 1);                     /* Orientation */
            put32(&x, 0);
            int want = v >= 1 && v <= 8 ? (int)v : 1;
            CHECK(&t, exif_orientation_tiff(x.b, x.n) == want, "%s SHORT %u", be ? "MM" : "II", v);
            /* the same inside an APP1 payload */
            uint8_t app1[300];
            memcpy(app1, "Exif\0\0", 6);
            memcpy(app1 + 6, x.b, x.n);
            CHECK(&t, exif_orientation_app1(app1, x.n + 6) == want, "APP1 %s %u", be ? "MM" : "II",
                  v);
            app1[4] = 'X';
            CHECK(&t, exif_orientation_app1(app1, x.n + 6) == 1, "APP1 without Exif header");
        }
        /* LONG value */
        header(&x, be, 1);
        entry(&x, 0x0112, 4, 1, 6, 0);
        CHECK(&t, exif_orientation_tiff(x.b, x.n) == 6, "LONG orientation");
        /* wrong type (ASCII) */
        header(&x, be, 1);
        entry(&x, 0x0112, 2, 1, 6, 1);
        CHECK(&t, exif_orientation_tiff(x.b, x.n) == 1, "ASCII orientation accepted");
        /* count 0 */
        header(&x, be, 1);
        entry(&x, 0x0112, 3, 0, 6, 1);
        CHECK(&t, exif_orientation_tiff(x.b, x.n) == 1, "count 0 accepted");
        /* first orientation entry wins */
        header(&x, be, 2);
        entry(&x, 0x0112, 3, 1, 8, 1);
        entry(&x, 0x0112, 3, 1, 3, 1);
        CHECK(&t, exif_orientation_tiff(x.b, x.n) == 8, "first entry");
        /* entry count larger than the data: the entries present still count,
         * a missing tag reads as 1 */
        header(&x, be, 60000);
        entry(&x, 0x0112, 3, 1, 5, 1);
        CHECK(&t, exif_orientation_tiff(x.b, x.n) == 5, "huge count, tag present");
        header(&x, be, 60000);
        entry(&x, 0x010F, 3, 1, 5, 1);
        CHECK(&t, exif_orientation_tiff(x.b, x.n) == 1, "huge count, tag absent");
        /* truncated entry: value field cut */
        header(&x, be, 1);
        entry(&x, 0x0112, 3, 1, 6, 1);
        CHECK(&t, exif_orientation_tiff(x.b, x.n - 4) == 1, "cut value field");
        CHECK(&t, exif_orientation_tiff(x.b, x.n - 2) == 6, "value present, padding cut");
        /* IFD offset past the end */
        header(&x, be, 1);
        entry(&x, 0x0112, 3, 1, 6, 1);
        x.n = 4;
        put32(&x, 0xFFFFFFF0u);
        x.n = 22;
        CHECK(&t, exif_orientation_tiff(x.b, x.n) == 1, "IFD offset past the end");
    }
    /* bad byte order / magic, tiny buffers, NULL */
    header(&x, 0, 1);
    entry(&x, 0x0112, 3, 1, 6, 1);
    x.b[0] = 'I'; x.b[1] = 'M';
    CHECK(&t, exif_orientation_tiff(x.b, x.n) == 1, "mixed byte order mark");
    header(&x, 0, 1);
    entry(&x, 0x0112, 3, 1, 6, 1);
    x.b[2] = 43;
    CHECK(&t, exif_orientation_tiff(x.b, x.n) == 1, "magic 43");
    for (size_t n = 0; n < 8; n++) CHECK(&t, exif_orientation_tiff(x.b, n) == 1, "size %zu", n);
    CHECK(&t, exif_orientation_tiff(NULL, 100) == 1, "NULL");
    CHECK(&t, exif_orientation_app1(NULL, 100) == 1, "NULL app1");

    /* random blocks with a valid header: any result is 1..8, no stray reads */
    uint32_t s = 1;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        uint8_t buf[64];
        size_t n = 8 + (size_t)(i % 57);
        for (size_t k = 0; k < n; k++) {
            s = s * 1664525u + 1013904223u;
            buf[k] = (uint8_t)(s >> 24);
        }
        buf[0] = buf[1] = (i & 1) ? 'M' : 'I';
        buf[2] = (i & 1) ? 0 : 42;
        buf[3] = (i & 1) ? 42 : 0;
        if (i & 2) {
            buf[4] = buf[5] = buf[6] = buf[7] = 0;
            buf[(i & 1) ? 7 : 4] = (uint8_t)(i % 48);
        }
        int o = exif_orientation_tiff(buf, n);
        bad += o < 1 || o > 8;
    }
    CHECK(&t, bad == 0, "%d random blocks gave an orientation outside 1..8", bad);
    return test_end(&t);
}

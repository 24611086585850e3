/* exif.c — reads the EXIF orientation tag (see exif.h for the layout).
 *
 *   TIFF header:  "II" or "MM" | 42 (u16) | offset of IFD0 (u32)
 *   IFD:          entry count n (u16) | n entries of 12 bytes | next IFD (u32)
 *   entry:        tag (u16) | type (u16) | count (u32) | value or offset (4 bytes)
 *
 * A SHORT (type 3) value with count 1 sits in the first two bytes of the
 * value field; we also accept a LONG (type 4). Every offset is checked
 * against the buffer size before use.
 */
#include "exif.h"

#include <string.h>

#define EXIF_TAG_ORIENTATION 0x0112
#define TIFF_TYPE_SHORT 3
#define TIFF_TYPE_LONG 4

typedef struct tiff_reader {
    const uint8_t *p;
    size_t size;
    int big_endian;
} tiff_reader_t;

/* Reads a u16/u32 at offset `at`; returns 0 if it does not fit. */
static int tiff_u16(const tiff_reader_t *r, size_t at, uint32_t *v) {
    if (at > r->size || r->size - at < 2) return 0;
    const uint8_t *b = r->p + at;
    *v = r->big_endian ? (uint32_t)b[0] << 8 | b[1] : (uint32_t)b[1] << 8 | b[0];
    return 1;
}
static int tiff_u32(const tiff_reader_t *r, size_t at, uint32_t *v) {
    if (at > r->size || r->size - at < 4) return 0;
    const uint8_t *b = r->p + at;
    *v = r->big_endian
             ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
             : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
    return 1;
}

int exif_orientation_tiff(const uint8_t *tiff, size_t size) {
    if (!tiff || size < 8) return 1;
    tiff_reader_t r = {tiff, size, 0};
    if (tiff[0] == 'I' && tiff[1] == 'I') r.big_endian = 0;
    else if (tiff[0] == 'M' && tiff[1] == 'M') r.big_endian = 1;
    else return 1;

    uint32_t magic, ifd0, count;
    if (!tiff_u16(&r, 2, &magic) || magic != 42) return 1;
    if (!tiff_u32(&r, 4, &ifd0) || !tiff_u16(&r, ifd0, &count)) return 1;

    /* Walk the entries that fit in the buffer; the first orientation wins. */
    for (uint32_t i = 0; i < count; i++) {
        size_t entry = (size_t)ifd0 + 2 + (size_t)i * 12;
        uint32_t tag, type, n, value;
        if (!tiff_u16(&r, entry, &tag) || !tiff_u16(&r, entry + 2, &type) ||
            !tiff_u32(&r, entry + 4, &n))
            return 1;                                   /* truncated directory */
        if (tag != EXIF_TAG_ORIENTATION) continue;
        if (n < 1) return 1;
        if (type == TIFF_TYPE_SHORT) {
            if (!tiff_u16(&r, entry + 8, &value)) return 1;
        } else if (type == TIFF_TYPE_LONG) {
            if (!tiff_u32(&r, entry + 8, &value)) return 1;
        } else {
            return 1;
        }
        return value >= 1 && value <= 8 ? (int)value : 1;
    }
    return 1;
}

int exif_orientation_app1(const uint8_t *payload, size_t size) {
    static const uint8_t exif_header[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (!payload || size < 6 || memcmp(payload, exif_header, 6) != 0) return 1;
    return exif_orientation_tiff(payload + 6, size - 6);
}

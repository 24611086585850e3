/* png.c — PNG decoder (every colour type and bit depth, PLTE, tRNS, Adam7)
 * and a small 8-bit encoder, on top of zlib.
 *
 * A PNG file is an 8-byte signature followed by chunks:
 *
 *     length (4 bytes, big-endian) | type (4 letters) | data | CRC-32 of type+data
 *
 * IHDR (size, bit depth, colour type, interlace) comes first, PLTE holds a
 * palette, the IDAT chunks together hold ONE zlib stream, IEND ends the file.
 * Chunks whose type starts with a lower-case letter are "ancillary" (may be
 * skipped); upper-case ones are "critical" (must be understood).
 *
 * The zlib stream decompresses to scanlines. Each scanline is one filter-type
 * byte (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) followed by the row's
 * filtered bytes; samples are packed big-endian, several per byte for bit
 * depths below 8. Interlaced (Adam7) images store 7 reduced images ("passes")
 * one after the other, each with its own scanlines.
 *
 * Decoding here, top to bottom:
 *   1. walk the chunks, checking lengths, CRCs and order      (png_decode)
 *   2. parse IHDR / PLTE / tRNS                               (parse_*)
 *   3. inflate the IDAT data into one buffer of exact size    (feed_idat)
 *   4. undo the filters, row by row, pass by pass             (unfilter_rows)
 *   5. unpack samples to 8 bits and place the pixels          (emit_row)
 *
 * Conversions follow what Twitter's candidate_crops tool (libpng) does, see
 * docs/saliency.md §2.2 and §7.1 and the notes in png.h.
 */
#include "png.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

#define PNG_MAX_CHUNK_LEN 0x7fffffffu          /* the PNG spec limit: 2^31 - 1 */
#define PNG_DEFAULT_MAX_PIXELS ((size_t)1 << 28)

static uint32_t read_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void write_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}

void image_free(image_u8_t *img) {
    if (!img) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

int png_sniff(const uint8_t *data, size_t size) {
    return data && size >= 8 && memcmp(data, png_signature, 8) == 0;
}

/* ------------------------------------------------------------------------ */
/* Decoder state                                                            */
/* ------------------------------------------------------------------------ */

typedef struct png_decoder {
    const char *name;                 /* for error messages */
    /* IHDR */
    int width, height, bit_depth, color_type, interlaced;
    int samples_per_pixel;            /* in the file: gray 1, RGB 3, palette 1, GA 2, RGBA 4 */
    int bits_per_pixel;               /* samples_per_pixel * bit_depth */
    /* PLTE and tRNS */
    int palette_size;                 /* 0 = no palette */
    uint8_t palette[256][3];
    int palette_alpha_size;           /* tRNS entries for palette images */
    uint8_t palette_alpha[256];
    int has_key;                      /* tRNS colour key for gray / RGB */
    unsigned key[3];                  /* 16-bit key values: gray or R, G, B */
    int out_channels;
    size_t max_bytes;                 /* memory limit (SAL_IMAGE_DEFAULT_MAX_BYTES) */
    /* the decompressed scanlines of all passes, one buffer */
    uint8_t *raw;
    size_t raw_size;                  /* what IHDR says it must be, exactly */
    z_stream zs;
    int zs_open;                      /* inflateInit done */
    int zs_done;                      /* Z_STREAM_END seen */
} png_decoder_t;

/* Adam7: pass p takes the pixels x = x0 + i*dx, y = y0 + j*dy. */
static const int adam7_x0[7] = {0, 4, 0, 2, 0, 1, 0};
static const int adam7_y0[7] = {0, 0, 4, 0, 2, 0, 1};
static const int adam7_dx[7] = {8, 8, 4, 4, 2, 2, 1};
static const int adam7_dy[7] = {8, 8, 8, 4, 4, 2, 2};

/* The reduced image one pass (or the whole image, pass -1) decodes into. */
typedef struct png_pass {
    int width, height;                /* in pixels; either may be 0 (empty pass) */
    int x0, y0, dx, dy;               /* where its pixels go in the full image */
    size_t row_bytes;                 /* filtered row without the filter byte */
} png_pass_t;

static png_pass_t pass_geometry(const png_decoder_t *d, int p) {
    png_pass_t s;
    if (p < 0) {
        s.x0 = s.y0 = 0;
        s.dx = s.dy = 1;
    } else {
        s.x0 = adam7_x0[p]; s.y0 = adam7_y0[p];
        s.dx = adam7_dx[p]; s.dy = adam7_dy[p];
    }
    /* number of x in [x0, width) with step dx = ceil((width - x0) / dx) */
    s.width = d->width > s.x0 ? (int)(((int64_t)d->width - s.x0 + s.dx - 1) / s.dx) : 0;
    s.height = d->height > s.y0 ? (int)(((int64_t)d->height - s.y0 + s.dy - 1) / s.dy) : 0;
    /* row_bytes = ceil(width * bits_per_pixel / 8); width < 2^31, bpp <= 64: fits */
    s.row_bytes = ((size_t)s.width * (size_t)d->bits_per_pixel + 7) / 8;
    return s;
}

/* Bytes of filtered data for a pass: height * (1 + row_bytes), 0 if empty. */
static int pass_data_size(const png_pass_t *s, size_t *out) {
    if (s->width == 0 || s->height == 0) { *out = 0; return 0; }
    return sal_mul_size((size_t)s->height, s->row_bytes + 1, out);
}

/* ------------------------------------------------------------------------ */
/* Step 2: IHDR, PLTE, tRNS                                                 */
/* ------------------------------------------------------------------------ */

static int parse_ihdr(png_decoder_t *d, const uint8_t *p, uint32_t len, size_t max_pixels,
                      sal_err_t *err) {
    if (len != 13) return sal_errf(err, "%s: IHDR chunk has length %u, not 13", d->name, len);
    uint32_t w = read_be32(p), h = read_be32(p + 4);
    int depth = p[8], ctype = p[9], compression = p[10], filter = p[11], interlace = p[12];
    if (w == 0 || h == 0 || w > PNG_MAX_CHUNK_LEN || h > PNG_MAX_CHUNK_LEN)
        return sal_errf(err, "%s: bad image size %ux%u in IHDR", d->name, w, h);
    /* allowed bit depths per colour type (PNG spec table 11.1) */
    int ok_depth;
    switch (ctype) {
    case 0: ok_depth = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
            d->samples_per_pixel = 1; break;
    case 2: ok_depth = depth == 8 || depth == 16; d->samples_per_pixel = 3; break;
    case 3: ok_depth = depth == 1 || depth == 2 || depth == 4 || depth == 8;
            d->samples_per_pixel = 1; break;
    case 4: ok_depth = depth == 8 || depth == 16; d->samples_per_pixel = 2; break;
    case 6: ok_depth = depth == 8 || depth == 16; d->samples_per_pixel = 4; break;
    default: return sal_errf(err, "%s: bad colour type %d in IHDR", d->name, ctype);
    }
    if (!ok_depth)
        return sal_errf(err, "%s: bit depth %d is not allowed for colour type %d", d->name,
                        depth, ctype);
    if (compression != 0)
        return sal_errf(err, "%s: unknown compression method %d in IHDR", d->name, compression);
    if (filter != 0)
        return sal_errf(err, "%s: unknown filter method %d in IHDR", d->name, filter);
    if (interlace > 1)
        return sal_errf(err, "%s: unknown interlace method %d in IHDR", d->name, interlace);
    /* the pixel limit, checked before anything is allocated (64-bit product of two
     * 31-bit numbers cannot overflow) */
    size_t limit = max_pixels ? max_pixels : PNG_DEFAULT_MAX_PIXELS;
    if ((uint64_t)w * (uint64_t)h > (uint64_t)limit)
        return sal_errf(err, "%s: image too large (%ux%u pixels, limit %zu)", d->name, w, h,
                        limit);
    d->width = (int)w;
    d->height = (int)h;
    d->bit_depth = depth;
    d->color_type = ctype;
    d->interlaced = interlace;
    d->bits_per_pixel = d->samples_per_pixel * depth;
    /* the memory limit, also before anything is allocated */
    png_info_t info = {d->width, d->height, depth, ctype, interlace, 0};
    uint64_t need = png_decode_bytes(&info);
    if (need > (uint64_t)d->max_bytes)
        return sal_errf(err, "%s: image too large to decode (%ux%u, %d-bit colour type %d: needs %llu MiB, "
                        "limit %zu MiB; SALIENT_MAX_IMAGE_MB raises it)", d->name, w, h, depth, ctype,
                        (unsigned long long)((need >> 20) + 1), d->max_bytes >> 20);
    return 0;
}

uint64_t png_decode_bytes(const png_info_t *info) {
    static const int max_out_channels[7] = {1, 0, 4, 4, 2, 0, 4};  /* by colour type; tRNS may add alpha */
    static const int samples[7] = {1, 0, 3, 1, 2, 0, 4};
    if (info->color_type < 0 || info->color_type > 6 || !samples[info->color_type] || info->width <= 0 ||
        info->height <= 0)
        return UINT64_MAX;
    const uint64_t w = (uint64_t)info->width, h = (uint64_t)info->height;
    const uint64_t bpp = (uint64_t)(samples[info->color_type] * info->bit_depth);
    /* the inflated scanlines, pass by pass (one pass when not interlaced):
     * rows x (1 filter byte + ceil(row width x bpp / 8)), as the decoder sizes them */
    uint64_t raw = 0, px, out, total;
    for (int p = info->interlaced ? 0 : -1; p < (info->interlaced ? 7 : 0); p++) {
        const uint64_t x0 = p < 0 ? 0 : (uint64_t)adam7_x0[p], y0 = p < 0 ? 0 : (uint64_t)adam7_y0[p];
        const uint64_t dx = p < 0 ? 1 : (uint64_t)adam7_dx[p], dy = p < 0 ? 1 : (uint64_t)adam7_dy[p];
        const uint64_t pw = w > x0 ? (w - x0 + dx - 1) / dx : 0, ph = h > y0 ? (h - y0 + dy - 1) / dy : 0;
        uint64_t pass;  /* pw * bpp < 2^37, the product with ph may overflow */
        if (pw && ph && (__builtin_mul_overflow(ph, 1 + (pw * bpp + 7) / 8, &pass) ||
                         __builtin_add_overflow(raw, pass, &raw)))
            return UINT64_MAX;
    }
    if (__builtin_mul_overflow(w, h, &px) ||
        __builtin_mul_overflow(px, (uint64_t)max_out_channels[info->color_type], &out) ||
        __builtin_add_overflow(raw, out, &total))
        return UINT64_MAX;
    return total;
}

static int parse_plte(png_decoder_t *d, const uint8_t *p, uint32_t len, sal_err_t *err) {
    if (d->color_type != 3) return 0;   /* gray: not allowed, RGB(A): a hint; libpng ignores both */
    if (len == 0 || len % 3 != 0 || len > 256 * 3)
        return sal_errf(err, "%s: bad PLTE chunk length %u", d->name, len);
    int n = (int)(len / 3);
    /* more entries than the bit depth can index: libpng silently drops them */
    if (n > (1 << d->bit_depth)) n = 1 << d->bit_depth;
    for (int i = 0; i < n; i++) {
        d->palette[i][0] = p[3 * i];
        d->palette[i][1] = p[3 * i + 1];
        d->palette[i][2] = p[3 * i + 2];
    }
    d->palette_size = n;
    return 0;
}

/* tRNS is ancillary: an invalid one is ignored (as libpng does), never fatal.
 * Returns 1 if it was accepted. */
static int parse_trns(png_decoder_t *d, const uint8_t *p, uint32_t len) {
    switch (d->color_type) {
    case 0:   /* gray key: one 16-bit value */
        if (len != 2) return 0;
        d->key[0] = (unsigned)p[0] << 8 | p[1];
        d->has_key = 1;
        return 1;
    case 2:   /* RGB key: three 16-bit values */
        if (len != 6) return 0;
        for (int c = 0; c < 3; c++) d->key[c] = (unsigned)p[2 * c] << 8 | p[2 * c + 1];
        d->has_key = 1;
        return 1;
    case 3:   /* one alpha byte per palette entry, possibly fewer than the palette */
        if (d->palette_size == 0 || len == 0 || len > (uint32_t)d->palette_size) return 0;
        memcpy(d->palette_alpha, p, len);
        d->palette_alpha_size = (int)len;
        return 1;
    default:  /* gray+alpha and RGBA already have alpha: tRNS is not allowed */
        return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Step 3: inflate the IDAT chunks                                          */
/* ------------------------------------------------------------------------ */

/* Called at the first IDAT: size the scanline buffer and open zlib. */
static int start_image_data(png_decoder_t *d, sal_err_t *err) {
    size_t total = 0;
    for (int p = d->interlaced ? 0 : -1; p < (d->interlaced ? 7 : 0); p++) {
        png_pass_t s = pass_geometry(d, p);
        size_t bytes;
        if (pass_data_size(&s, &bytes) < 0 || sal_add_size(total, bytes, &total) < 0)
            return sal_errf(err, "%s: image too large", d->name);
    }
    d->raw_size = total;
    /* one spare byte, so that too much data shows up as raw_size + 1 bytes */
    d->raw = malloc(total + 1);
    if (!d->raw) return sal_errf(err, "%s: out of memory (%zu bytes)", d->name, total + 1);
    memset(&d->zs, 0, sizeof d->zs);
    if (inflateInit(&d->zs) != Z_OK) return sal_errf(err, "%s: zlib init failed", d->name);
    d->zs_open = 1;
    d->zs.next_out = d->raw;
    d->zs.avail_out = 0;   /* set per call below: uInt is 32 bits, the buffer may be larger */
    return 0;
}

/* Feeds one IDAT chunk's data to zlib. */
static int feed_idat(png_decoder_t *d, const uint8_t *p, uint32_t len, sal_err_t *err) {
    d->zs.next_in = (Bytef *)p;   /* zlib does not write through next_in */
    d->zs.avail_in = len;
    while (d->zs.avail_in > 0) {
        if (d->zs_done)
            return sal_errf(err, "%s: extra data after the end of the zlib stream", d->name);
        size_t produced = (size_t)(d->zs.next_out - d->raw);
        size_t room = d->raw_size + 1 - produced;
        if (room == 0)
            return sal_errf(err, "%s: decompressed image data larger than expected (%zu bytes)",
                            d->name, d->raw_size);
        d->zs.avail_out = room > 0x40000000u ? 0x40000000u : (uInt)room;
        int r = inflate(&d->zs, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            d->zs_done = 1;
        } else if (r != Z_OK && !(r == Z_BUF_ERROR && d->zs.avail_out == 0)) {
            return sal_errf(err, "%s: corrupt image data (zlib: %s)", d->name,
                            d->zs.msg ? d->zs.msg : "error");
        }
    }
    return 0;
}

/* After the last IDAT: the stream must be complete and exactly raw_size long. */
static int finish_image_data(png_decoder_t *d, sal_err_t *err) {
    size_t produced = (size_t)(d->zs.next_out - d->raw);
    if (produced > d->raw_size)
        return sal_errf(err, "%s: decompressed image data larger than expected (%zu bytes)",
                        d->name, d->raw_size);
    if (produced < d->raw_size)
        return sal_errf(err, "%s: not enough image data (%zu of %zu bytes)", d->name, produced,
                        d->raw_size);
    if (!d->zs_done)
        return sal_errf(err, "%s: truncated zlib stream in IDAT", d->name);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Step 4: undo the scanline filters (in place)                             */
/* ------------------------------------------------------------------------ */

/* Paeth predictor: of a (left), b (up), c (up-left), the one closest to a + b - c. */
static uint8_t paeth(int a, int b, int c) {
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) return (uint8_t)a;
    if (pb <= pc) return (uint8_t)b;
    return (uint8_t)c;
}

/* rows: height scanlines of (1 + row_bytes) bytes. Afterwards byte 1.. of each
 * scanline holds the unfiltered row. `bpp` is the filter's byte distance to the
 * "left" pixel: max(1, bits_per_pixel / 8). */
static int unfilter_rows(const png_decoder_t *d, uint8_t *rows, int height, size_t row_bytes,
                         int bpp, sal_err_t *err) {
    const uint8_t *prior = NULL;   /* the previous unfiltered row; NULL = all zero */
    for (int y = 0; y < height; y++) {
        uint8_t *line = rows + (size_t)y * (row_bytes + 1);
        int type = line[0];
        uint8_t *x = line + 1;      /* Recon(x) = Filt(x) + predictor, mod 256 */
        size_t i;
        switch (type) {
        case 0:   /* None */
            break;
        case 1:   /* Sub: + a, the byte bpp to the left */
            for (i = (size_t)bpp; i < row_bytes; i++) x[i] = (uint8_t)(x[i] + x[i - bpp]);
            break;
        case 2:   /* Up: + b, the byte above */
            if (prior)
                for (i = 0; i < row_bytes; i++) x[i] = (uint8_t)(x[i] + prior[i]);
            break;
        case 3:   /* Average: + floor((a + b) / 2) */
            for (i = 0; i < row_bytes; i++) {
                int a = i >= (size_t)bpp ? x[i - bpp] : 0;
                int b = prior ? prior[i] : 0;
                x[i] = (uint8_t)(x[i] + ((a + b) >> 1));
            }
            break;
        case 4:   /* Paeth: + paeth(a, b, c) */
            for (i = 0; i < row_bytes; i++) {
                int a = i >= (size_t)bpp ? x[i - bpp] : 0;
                int b = prior ? prior[i] : 0;
                int c = prior && i >= (size_t)bpp ? prior[i - bpp] : 0;
                x[i] = (uint8_t)(x[i] + paeth(a, b, c));
            }
            break;
        default:
            return sal_errf(err, "%s: bad filter type %d in scanline %d", d->name, type, y);
        }
        prior = x;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Step 5: samples -> 8-bit output pixels                                   */
/* ------------------------------------------------------------------------ */

/* The i-th sample of an unfiltered row, as stored: 0 .. 2^depth - 1. */
static inline unsigned get_sample(const uint8_t *row, size_t i, int depth) {
    if (depth == 8) return row[i];
    if (depth == 16) return (unsigned)row[2 * i] << 8 | row[2 * i + 1];
    size_t bit = i * (size_t)depth;              /* packed from the high bits down */
    int shift = 8 - depth - (int)(bit & 7);
    return (row[bit >> 3] >> shift) & ((1u << depth) - 1);
}

/* A gray/colour sample to 8 bits: 16-bit keeps the high byte (v >> 8);
 * 1, 2, 4 bits scale to 0..255 (v * 255 / (2^depth - 1): x255, x85, x17). */
static inline uint8_t to_8bit(unsigned v, int depth) {
    switch (depth) {
    case 1: return (uint8_t)(v * 255);
    case 2: return (uint8_t)(v * 85);
    case 4: return (uint8_t)(v * 17);
    case 16: return (uint8_t)(v >> 8);
    default: return (uint8_t)v;
    }
}

/* Writes one unfiltered row of `pass` (row y of the pass) into the image. */
static int emit_row(const png_decoder_t *d, const uint8_t *row, const png_pass_t *s, int y,
                    image_u8_t *out, sal_err_t *err) {
    const int depth = d->bit_depth, C = out->channels;
    int out_y = s->y0 + y * s->dy;
    uint8_t *first = out->pixels + ((size_t)out_y * (size_t)d->width + (size_t)s->x0) * C;
    const size_t step = (size_t)s->dx * C;   /* bytes between this pass's pixels */
    /* the common case: 8-bit samples that need no conversion, one full row */
    if (depth == 8 && s->dx == 1 && d->color_type != 3 && C == d->samples_per_pixel) {
        memcpy(first, row, (size_t)s->width * C);
        return 0;
    }
    for (int x = 0; x < s->width; x++) {
        uint8_t *dst = first + (size_t)x * step;
        size_t i = (size_t)x * d->samples_per_pixel;   /* first sample of this pixel */
        switch (d->color_type) {
        case 0:   /* gray (a tRNS key is ignored: see png.h) */
            dst[0] = to_8bit(get_sample(row, i, depth), depth);
            break;
        case 2: { /* RGB, + alpha from the colour key: 0 where the pixel equals the key */
            unsigned r = get_sample(row, i, depth), g = get_sample(row, i + 1, depth),
                     b = get_sample(row, i + 2, depth);
            dst[0] = to_8bit(r, depth);
            dst[1] = to_8bit(g, depth);
            dst[2] = to_8bit(b, depth);
            if (C == 4) dst[3] = (r == d->key[0] && g == d->key[1] && b == d->key[2]) ? 0 : 255;
            break;
        }
        case 3: { /* palette index -> RGB, + alpha from tRNS (255 past its end) */
            unsigned k = get_sample(row, i, depth);
            if (k >= (unsigned)d->palette_size)
                return sal_errf(err, "%s: palette index %u out of range (palette has %d entries)",
                                d->name, k, d->palette_size);
            memcpy(dst, d->palette[k], 3);
            if (C == 4) dst[3] = k < (unsigned)d->palette_alpha_size ? d->palette_alpha[k] : 255;
            break;
        }
        case 4:   /* gray + alpha */
        case 6:   /* RGBA */
            for (int c = 0; c < C; c++) dst[c] = to_8bit(get_sample(row, i + c, depth), depth);
            break;
        }
    }
    return 0;
}

/* Steps 4 and 5 for every pass, once all scanlines are in d->raw. */
static int decode_scanlines(png_decoder_t *d, image_u8_t *out, sal_err_t *err) {
    int bpp = d->bits_per_pixel >= 8 ? d->bits_per_pixel / 8 : 1;
    uint8_t *rows = d->raw;
    for (int p = d->interlaced ? 0 : -1; p < (d->interlaced ? 7 : 0); p++) {
        png_pass_t s = pass_geometry(d, p);
        size_t bytes = 0;
        pass_data_size(&s, &bytes);   /* cannot overflow: checked in start_image_data */
        if (bytes == 0) continue;
        if (unfilter_rows(d, rows, s.height, s.row_bytes, bpp, err) < 0) return -1;
        for (int y = 0; y < s.height; y++)
            if (emit_row(d, rows + (size_t)y * (s.row_bytes + 1) + 1, &s, y, out, err) < 0)
                return -1;
        rows += bytes;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Step 1: the chunk walk                                                   */
/* ------------------------------------------------------------------------ */

static int is_letter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

int png_read_header(const uint8_t *data, size_t size, const char *name, png_info_t *info, sal_err_t *err) {
    memset(info, 0, sizeof *info);
    if (!name) name = "png";
    if (!png_sniff(data, size)) {
        sal_errf(err, "%s: not a PNG file (bad signature)", name);
        return PNG_ERR_FORMAT;
    }
    if (size < 8 + 8 + 13 + 4 || read_be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4) != 0) {
        sal_errf(err, "%s: no IHDR chunk at the start", name);
        return PNG_ERR_FORMAT;
    }
    if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), data + 12, 17) != read_be32(data + 29)) {
        sal_errf(err, "%s: CRC error in IHDR chunk", name);
        return PNG_ERR_FORMAT;
    }
    png_decoder_t d;
    memset(&d, 0, sizeof d);
    d.name = name;
    d.max_bytes = SIZE_MAX;
    if (parse_ihdr(&d, data + 16, 13, SIZE_MAX, err) < 0) return PNG_ERR_FORMAT;
    info->width = d.width;
    info->height = d.height;
    info->bit_depth = d.bit_depth;
    info->color_type = d.color_type;
    info->interlaced = d.interlaced;
    return 0;
}

int png_decode(const uint8_t *data, size_t size, const char *name, size_t max_pixels,
               image_u8_t *out, png_info_t *info, sal_err_t *err) {
    png_decode_opts_t o = {max_pixels, 0};
    return png_decode_ex(data, size, name, &o, out, info, err);
}

int png_decode_ex(const uint8_t *data, size_t size, const char *name, const png_decode_opts_t *opts,
                  image_u8_t *out, png_info_t *info, sal_err_t *err) {
    size_t max_pixels = opts ? opts->max_pixels : 0;
    memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    if (!name) name = "png";
    if (!png_sniff(data, size)) {
        sal_errf(err, "%s: not a PNG file (bad signature)", name);
        return PNG_ERR_FORMAT;
    }

    png_decoder_t *d = calloc(1, sizeof *d);
    if (!d) return sal_errf(err, "%s: out of memory", name);
    d->name = name;
    d->max_bytes = opts && opts->max_bytes ? opts->max_bytes : SAL_IMAGE_DEFAULT_MAX_BYTES;
    int seen_ihdr = 0, seen_plte = 0, seen_trns = 0, in_image_data = 0;
    enum { BEFORE_IDAT, IN_IDAT, AFTER_IDAT } idat_state = BEFORE_IDAT;
    int rc = -1;
    size_t pos = 8;

    for (;;) {
        /* chunk header: length and type; never trust the length */
        if (size - pos < 8) {
            sal_errf(err, "%s: truncated file (no IEND chunk)", name);
            goto fail;
        }
        uint32_t len = read_be32(data + pos);
        const uint8_t *type = data + pos + 4;
        char tname[5] = {0};
        memcpy(tname, type, 4);
        if (!is_letter(type[0]) || !is_letter(type[1]) || !is_letter(type[2]) ||
            !is_letter(type[3])) {
            sal_errf(err, "%s: bad chunk type (bytes %02x %02x %02x %02x)", name, type[0],
                     type[1], type[2], type[3]);
            goto fail;
        }
        if (len > PNG_MAX_CHUNK_LEN) {
            sal_errf(err, "%s: %s chunk length %u too large", name, tname, len);
            goto fail;
        }
        /* libpng's png_read_info stops after the first IDAT chunk header; from
         * there on a failure means damaged image data, not an unknown format */
        if (memcmp(tname, "IDAT", 4) == 0 && !in_image_data) {
            if (seen_ihdr && d->color_type == 3 && d->palette_size == 0) {
                sal_errf(err, "%s: palette image without PLTE chunk", name);
                goto fail;
            }
            in_image_data = seen_ihdr;
        }
        if (size - pos - 8 < (size_t)len + 4) {
            sal_errf(err, "%s: truncated %s chunk", name, tname);
            goto fail;
        }
        const uint8_t *body = data + pos + 8;
        uint32_t crc_stored = read_be32(body + len);
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), type, len + 4);   /* over type + data */
        int critical = type[0] >= 'A' && type[0] <= 'Z';
        pos += 12 + (size_t)len;

        if (!seen_ihdr && memcmp(tname, "IHDR", 4) != 0) {
            sal_errf(err, "%s: first chunk is %s, not IHDR", name, tname);
            goto fail;
        }
        if (crc != crc_stored) {
            if (!critical) continue;   /* libpng: a warning, and the chunk is dropped */
            sal_errf(err, "%s: CRC error in %s chunk", name, tname);
            goto fail;
        }
        /* IDAT chunks must follow each other without a gap */
        if (idat_state == IN_IDAT && memcmp(tname, "IDAT", 4) != 0) {
            if (finish_image_data(d, err) < 0) goto fail;
            idat_state = AFTER_IDAT;
        }

        if (memcmp(tname, "IHDR", 4) == 0) {
            if (seen_ihdr) {
                sal_errf(err, "%s: more than one IHDR chunk", name);
                goto fail;
            }
            if (parse_ihdr(d, body, len, max_pixels, err) < 0) goto fail;
            seen_ihdr = 1;
            if (info) {
                info->width = d->width;
                info->height = d->height;
                info->bit_depth = d->bit_depth;
                info->color_type = d->color_type;
                info->interlaced = d->interlaced;
            }
        } else if (memcmp(tname, "PLTE", 4) == 0) {
            if (seen_plte || idat_state != BEFORE_IDAT) {
                sal_errf(err, "%s: %s PLTE chunk", name,
                         idat_state != BEFORE_IDAT ? "misplaced" : "duplicate");
                goto fail;
            }
            if (parse_plte(d, body, len, err) < 0) goto fail;
            seen_plte = 1;
        } else if (memcmp(tname, "tRNS", 4) == 0) {
            /* ancillary: ignored if duplicate, after IDAT or invalid (like libpng) */
            if (!seen_trns && idat_state == BEFORE_IDAT && parse_trns(d, body, len) && info)
                info->has_trns = 1;
            seen_trns = 1;
        } else if (memcmp(tname, "IDAT", 4) == 0) {
            if (idat_state == AFTER_IDAT) {
                sal_errf(err, "%s: IDAT chunks are not consecutive", name);
                goto fail;
            }
            if (idat_state == BEFORE_IDAT) {
                if (start_image_data(d, err) < 0) goto fail;
                idat_state = IN_IDAT;
            }
            if (feed_idat(d, body, len, err) < 0) goto fail;
        } else if (memcmp(tname, "IEND", 4) == 0) {
            if (len != 0) {
                sal_errf(err, "%s: IEND chunk has length %u, not 0", name, len);
                goto fail;
            }
            break;   /* whatever follows IEND is not read */
        } else if (critical) {
            sal_errf(err, "%s: unknown critical chunk %s", name, tname);
            goto fail;
        }
        /* any other ancillary chunk (tEXt, gAMA, iCCP, pHYs, ...) is skipped */
    }
    if (idat_state == BEFORE_IDAT) {
        sal_errf(err, "%s: no IDAT chunk", name);
        goto fail;
    }

    /* The output: palette -> RGB(A), RGB + key -> RGBA; gray keeps 1 channel. */
    switch (d->color_type) {
    case 0: d->out_channels = 1; break;
    case 2: d->out_channels = d->has_key ? 4 : 3; break;
    case 3: d->out_channels = d->palette_alpha_size ? 4 : 3; break;
    case 4: d->out_channels = 2; break;
    default: d->out_channels = 4; break;
    }
    size_t npix = (size_t)d->width * (size_t)d->height, nbytes;   /* <= max_pixels */
    if (sal_mul_size(npix, (size_t)d->out_channels, &nbytes) < 0) {
        sal_errf(err, "%s: image too large", name);
        goto fail;
    }
    out->width = d->width;
    out->height = d->height;
    out->channels = d->out_channels;
    out->pixels = malloc(nbytes);
    if (!out->pixels) {
        sal_errf(err, "%s: out of memory (%zu bytes)", name, nbytes);
        goto fail;
    }
    if (decode_scanlines(d, out, err) < 0) goto fail;
    rc = 0;
    goto done;

fail:
    image_free(out);
    /* Errors before any image data correspond to libpng failing in
     * png_read_info: the tool then calls the file an unknown format. */
    rc = in_image_data ? -1 : PNG_ERR_FORMAT;
done:
    if (d->zs_open) inflateEnd(&d->zs);
    free(d->raw);
    free(d);
    return rc;
}

int png_load(const char *path, image_u8_t *out, png_info_t *info, sal_err_t *err) {
    uint8_t *data;
    size_t size;
    memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    if (sal_read_file(path, (size_t)1 << 31, &data, &size, err) < 0) return -1;
    int rc = png_decode(data, size, path, 0, out, info, err);
    free(data);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Encoder                                                                  */
/* ------------------------------------------------------------------------ */

/* Appends one chunk (length, type, data, CRC) at *pos. */
static void put_chunk(uint8_t *buf, size_t *pos, const char *type, const uint8_t *data,
                      uint32_t len) {
    uint8_t *p = buf + *pos;
    write_be32(p, len);
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), p + 4, len + 4);
    write_be32(p + 8 + len, crc);
    *pos += 12 + (size_t)len;
}

/* Filters one row with filter `type` (bpp = bytes per pixel); prior may be NULL. */
static void filter_row(int type, const uint8_t *x, const uint8_t *prior, size_t n, int bpp,
                       uint8_t *dst) {
    for (size_t i = 0; i < n; i++) {
        int a = i >= (size_t)bpp ? x[i - bpp] : 0;
        int b = prior ? prior[i] : 0;
        int c = prior && i >= (size_t)bpp ? prior[i - bpp] : 0;
        int pred = 0;
        switch (type) {
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: pred = paeth(a, b, c); break;
        }
        dst[i] = (uint8_t)(x[i] - pred);
    }
}

/* Encoder core; `name` starts error messages. */
static int encode_png(const char *name, const uint8_t *pixels, int width, int height,
                      int channels, int level, uint8_t **out, size_t *out_size, sal_err_t *err) {
    static const int color_types[5] = {0, 0, 4, 2, 6};   /* by channel count */
    *out = NULL;
    *out_size = 0;
    if (channels < 1 || channels > 4)
        return sal_errf(err, "%s: cannot encode %d channels (1..4)", name, channels);
    if (width < 1 || height < 1)
        return sal_errf(err, "%s: cannot encode a %dx%d image", name, width, height);
    if (level < -1 || level > 9) return sal_errf(err, "%s: bad zlib level %d", name, level);
    if (!pixels) return sal_errf(err, "%s: no pixels", name);

    size_t row_bytes = (size_t)width * (size_t)channels, filtered_size;
    if (sal_mul_size(row_bytes + 1, (size_t)height, &filtered_size) < 0)
        return sal_errf(err, "%s: image too large", name);
    uint8_t *filtered = malloc(filtered_size);
    uint8_t *trial = malloc(row_bytes);
    if (!filtered || !trial) {
        free(filtered);
        free(trial);
        return sal_errf(err, "%s: out of memory", name);
    }
    /* Per row, the filter with the smallest sum of |filtered byte| (as signed
     * bytes), the heuristic the PNG spec recommends. */
    for (int y = 0; y < height; y++) {
        const uint8_t *x = pixels + (size_t)y * row_bytes;
        const uint8_t *prior = y > 0 ? x - row_bytes : NULL;
        uint8_t *dst = filtered + (size_t)y * (row_bytes + 1);
        uint64_t best_cost = UINT64_MAX;
        for (int type = 0; type <= 4; type++) {
            filter_row(type, x, prior, row_bytes, channels, trial);
            uint64_t cost = 0;
            for (size_t i = 0; i < row_bytes; i++) cost += (uint64_t)abs((int8_t)trial[i]);
            if (cost < best_cost) {
                best_cost = cost;
                dst[0] = (uint8_t)type;
                memcpy(dst + 1, trial, row_bytes);
            }
        }
    }
    free(trial);

    /* zlib stream */
    uLong bound = compressBound((uLong)filtered_size);
    uint8_t *z = malloc(bound);
    uLongf zlen = bound;
    if (!z || compress2(z, &zlen, filtered, (uLong)filtered_size,
                        level < 0 ? Z_DEFAULT_COMPRESSION : level) != Z_OK) {
        free(z);
        free(filtered);
        return sal_errf(err, "%s: zlib compression failed", name);
    }
    free(filtered);

    /* signature + IHDR + IDATs of at most 1 MiB + IEND */
    const size_t idat_max = (size_t)1 << 20;
    size_t n_idat = zlen / idat_max + 1;
    size_t total = 8 + (12 + 13) + n_idat * 12 + zlen + 12;
    uint8_t *buf = malloc(total);
    if (!buf) {
        free(z);
        return sal_errf(err, "%s: out of memory", name);
    }
    memcpy(buf, png_signature, 8);
    size_t pos = 8;
    uint8_t ihdr[13];
    write_be32(ihdr, (uint32_t)width);
    write_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;                            /* bit depth */
    ihdr[9] = (uint8_t)color_types[channels];
    ihdr[10] = ihdr[11] = ihdr[12] = 0;     /* deflate, adaptive filtering, no interlace */
    put_chunk(buf, &pos, "IHDR", ihdr, 13);
    for (size_t off = 0; off < zlen; off += idat_max) {
        size_t n = zlen - off < idat_max ? zlen - off : idat_max;
        put_chunk(buf, &pos, "IDAT", z + off, (uint32_t)n);
    }
    put_chunk(buf, &pos, "IEND", NULL, 0);
    free(z);
    *out = buf;
    *out_size = pos;
    return 0;
}

int png_encode(const uint8_t *pixels, int width, int height, int channels, int level,
               uint8_t **out, size_t *out_size, sal_err_t *err) {
    return encode_png("png_encode", pixels, width, height, channels, level, out, out_size, err);
}

int png_save(const char *path, const uint8_t *pixels, int width, int height, int channels,
             sal_err_t *err) {
    uint8_t *buf;
    size_t n;
    if (encode_png(path, pixels, width, height, channels, PNG_SAVE_LEVEL, &buf, &n, err) < 0)
        return -1;
    int rc = sal_write_file_atomic(path, buf, n, err);
    free(buf);
    return rc;
}

/* jpeg.c — baseline + progressive Huffman JPEG decoder that reproduces
 * libjpeg-turbo 2.0.1 (JDCT_ISLOW, fancy upsampling, block smoothing, scaled
 * IDCTs) byte for byte. See jpeg.h for the contract.
 *
 * A JPEG file is a sequence of markers (0xFF, code) most followed by a
 * 16-bit big-endian length and a payload:
 *
 *   SOI | tables (DQT quantisation, DHT Huffman, DRI restart interval) and
 *   APPn/COM segments | SOFn frame header (size, components, sampling) |
 *   one or more scans: SOS header + entropy-coded data | EOI
 *
 * The image is cut into 8x8 blocks per component. A component with sampling
 * factors (h, v) smaller than the largest ones (Hmax, Vmax) is stored at
 * reduced resolution (e.g. 4:2:0 chroma: half width, half height). Blocks
 * are grouped into MCUs ("minimum coded units"): in a scan with several
 * components, one MCU holds h x v blocks of each; in a single-component scan
 * one MCU is one block. Each block holds 64 DCT coefficients, Huffman coded
 * in zigzag order: a DC difference to the previous block's DC, then
 * (run of zeros, size) symbols followed by `size` raw bits per AC value.
 * Progressive files send the coefficients in several scans: spectral bands
 * (Ss..Se) and successive bit planes (Ah -> Al).
 *
 * Decoding, top to bottom (function names in brackets):
 *   1. markers up to the first SOS; frame geometry      [read_markers, setup_frame]
 *   2. entropy decoding of each scan, MCU by MCU        [decode_scan,
 *        single-scan files: one MCU row at a time,        decode_block_sequential,
 *          then straight to the IDCT;                     decode_dc_first, ...]
 *        multi-scan files: into a whole-image coefficient buffer
 *   3. dequantise + inverse DCT into component planes   [jpeg_idct.c, idct_block,
 *        (progressive: block smoothing first)            idct_component]
 *   4. upsample chroma + convert colour, row by row     [upsample_row, emit_rows]
 *
 * Fidelity notes (what libjpeg does, and so do we):
 *  - The input behaves as if followed by endless "FF D9" (EOI) pairs: that
 *    is what libjpeg's data sources insert at a premature end of file.
 *  - When the entropy decoder meets a marker, it feeds zero bits; once a
 *    block has consumed such a phantom bit, the rest of the restart interval
 *    is left with zero coefficients ("insufficient data"), no error.
 *  - Scaling by 1/N uses an (8/N)x(8/N) IDCT; a subsampled component gets a
 *    larger IDCT (up to 8x8) when that avoids upsampling (jdmaster.c).
 *  - 4:4:0 fancy upsampling rounds with +1 on both output rows: that is
 *    2.0.1 (2.0.3+ use +1/+2). Block smoothing uses 2.0.1's 3x3 DC window.
 *  - Invalid Huffman codes decode as symbol 0 after 17 bits (libjpeg's
 *    bit-by-bit path; its buffer-dependent fast path can differ there).
 *  - The IDCT arithmetic is that of libjpeg-turbo's x86 SIMD code by default
 *    (its C code on request); they differ only on damaged data.
 */
#include "jpeg.h"
#include "exif.h"
#include "jpeg_idct.h"

#include <stdlib.h>
#include <string.h>

#define JPEG_MAX_DIMENSION 65500        /* libjpeg's limit */
#define JPEG_DEFAULT_MAX_PIXELS ((size_t)1 << 28)
#define MAX_BLOCKS_IN_MCU 10            /* per the JPEG standard */

/* Marker codes (the byte after 0xFF). */
enum {
    M_SOF0 = 0xC0, M_SOF1 = 0xC1, M_SOF2 = 0xC2, M_SOF3 = 0xC3, M_DHT = 0xC4,
    M_SOF5 = 0xC5, M_SOF6 = 0xC6, M_SOF7 = 0xC7, M_JPG = 0xC8, M_SOF9 = 0xC9,
    M_SOF10 = 0xCA, M_SOF11 = 0xCB, M_DAC = 0xCC, M_SOF13 = 0xCD, M_SOF14 = 0xCE,
    M_SOF15 = 0xCF, M_RST0 = 0xD0, M_RST7 = 0xD7, M_SOI = 0xD8, M_EOI = 0xD9,
    M_SOS = 0xDA, M_DQT = 0xDB, M_DNL = 0xDC, M_DRI = 0xDD, M_APP0 = 0xE0,
    M_APP1 = 0xE1, M_APP14 = 0xEE, M_APP15 = 0xEF, M_COM = 0xFE, M_TEM = 0x01
};

/* zigzag index -> natural (row-major) index. The 16 extra entries catch
 * corrupt runs that step past coefficient 63: libjpeg stores them at 63. */
static const uint8_t natural_order[64 + 16] = {
     0,  1,  8, 16,  9,  2,  3, 10, 17, 24, 32, 25, 18, 11,  4,  5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13,  6,  7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63
};

/* ------------------------------------------------------------------------ */
/* Decoder state                                                            */
/* ------------------------------------------------------------------------ */

#define HUFF_FAST_BITS 9

typedef struct huff_table {
    int defined;
    uint8_t bits[17];           /* bits[l]: number of codes of length l (1..16) */
    uint8_t vals[256];          /* symbols, in code order */
    /* derived by huff_derive(): canonical code ranges per length */
    int32_t maxcode[18];        /* largest code of length l, -1 if none; [17] = sentinel */
    int32_t valoffset[18];      /* vals index of code c of length l is c + valoffset[l] */
    uint16_t fast[1 << HUFF_FAST_BITS];  /* next 9 bits -> (length << 8) | symbol; 0 = longer */
} huff_table_t;

/* How a component's plane is brought to the output size (jdsample.c). */
typedef enum upsample_method {
    UP_FULL,            /* already output size */
    UP_H2V1_FANCY,      /* triangle filter horizontally */
    UP_H1V2_FANCY,      /* triangle filter vertically (4:4:0) */
    UP_H2V2_FANCY,      /* triangle filter both ways (4:2:0) */
    UP_BOX              /* replicate each sample h_expand x v_expand times */
} upsample_method_t;

typedef struct jpg_component {
    int id, h, v, tq;           /* SOF: id, sampling factors, quant table index */
    int td, ta;                 /* SOS: DC / AC Huffman table of the current scan */
    int bw, bh;                 /* size in blocks (width_in_blocks, height_in_blocks) */
    int bw_alloc, bh_alloc;     /* rounded up to whole MCUs (coefficient buffer) */
    int quant_latched;          /* quant table copied at the component's first scan */
    uint16_t quant[64];         /* natural order */
    int coef_bits[64];          /* progressive: last Al per zigzag coefficient, -1 none yet */
    int16_t *coefs;             /* blocks of 64: multi-scan files bw_alloc x bh_alloc,
                                 * single-scan files one MCU row, bw_alloc x v */
    /* output geometry */
    int dct_size;               /* IDCT output size: 1, 2, 4 or 8 */
    int dw, dh;                 /* plane size in samples after IDCT scaling */
    uint8_t *plane;             /* (bh*dct_size, bw*dct_size) samples */
    size_t stride;
    upsample_method_t method;
    int h_expand, v_expand;     /* UP_BOX */
} jpg_component_t;

typedef struct jpg_decoder {
    /* input: data followed by endless FF D9 */
    const uint8_t *data;
    size_t size, pos;
    const char *name;
    sal_err_t *err;
    int unread_marker;          /* marker code read but not yet processed (0 none) */

    /* tables */
    huff_table_t dc_tables[4], ac_tables[4];
    uint16_t qtables[4][64];
    int qtable_defined[4];
    unsigned restart_interval;

    /* markers seen before the first scan */
    int saw_sof, saw_jfif, saw_adobe, adobe_transform;
    const uint8_t *exif;
    size_t exif_size;

    /* frame */
    int progressive, precision, width, height, ncomp, max_h, max_v;
    jpg_component_t comp[4];
    jpeg_color_t color;
    int multi_scan;             /* coefficients buffered for the whole image */

    /* current scan */
    int scan_ncomp, scan_comp[4];
    int Ss, Se, Ah, Al;
    int mcus_per_row, mcu_rows;

    /* entropy decoder */
    uint64_t bitbuf;            /* next bits, left-aligned; bits below bitcnt are 0 */
    int bitcnt;                 /* number of real bits in bitbuf */
    int insufficient;           /* a phantom bit was consumed in this restart interval */
    unsigned restarts_to_go;
    int next_restart_num;
    unsigned eobrun;
    int64_t dc_pred[4];         /* per scan component */

    /* output */
    int min_dct_size, out_w, out_h;
    int fancy;
    int portable_idct;          /* 1: libjpeg's C IDCT arithmetic, 0: its x86 SIMD one */
} jpg_decoder_t;

/* ------------------------------------------------------------------------ */
/* Input bytes and markers (jdmarker.c)                                     */
/* ------------------------------------------------------------------------ */

/* The next byte of the stream. Past the end we return FF D9 FF D9 ...: a
 * libjpeg data source inserts a fake EOI marker each time it runs dry. */
static inline int next_byte(jpg_decoder_t *d) {
    size_t p = d->pos++;
    if (p < d->size) return d->data[p];
    return ((p - d->size) & 1) ? M_EOI : 0xFF;
}

static int read_u16(jpg_decoder_t *d) {
    int hi = next_byte(d);
    return hi << 8 | next_byte(d);
}

/* Skips `n` bytes (n <= 0: nothing), like libjpeg's skip_input_data. */
static void skip_bytes(jpg_decoder_t *d, long n) {
    if (n > 0) d->pos += (size_t)n;
}

/* Finds the next marker: skips anything up to an FF, then FF fill bytes;
 * FF 00 is a stuffed data byte, not a marker, and scanning goes on. */
static int next_marker(jpg_decoder_t *d) {
    for (;;) {
        int c = next_byte(d);
        while (c != 0xFF) c = next_byte(d);
        do c = next_byte(d); while (c == 0xFF);
        if (c != 0) return c;
    }
}

static int get_sof(jpg_decoder_t *d, int marker) {
    long length = read_u16(d);
    d->precision = next_byte(d);
    d->height = read_u16(d);
    d->width = read_u16(d);
    d->ncomp = next_byte(d);
    if (d->saw_sof) return sal_errf(d->err, "%s: corrupt JPEG: two frame headers (SOF)", d->name);
    d->saw_sof = 1;
    d->progressive = marker == M_SOF2;
    if (d->height <= 0 || d->width <= 0 || d->ncomp <= 0)
        return sal_errf(d->err, "%s: corrupt JPEG: empty image (%dx%d, %d components)%s",
                        d->name, d->width, d->height, d->ncomp,
                        d->height == 0 ? " (DNL-defined heights are not supported)" : "");
    if (length - 8 != d->ncomp * 3)
        return sal_errf(d->err, "%s: corrupt JPEG: bad SOF length", d->name);
    if (d->precision != 8)
        return sal_errf(d->err, "%s: unsupported JPEG: %d-bit samples (only 8-bit is supported)",
                        d->name, d->precision);
    if (d->ncomp != 1 && d->ncomp != 3 && d->ncomp != 4)
        return sal_errf(d->err, "%s: unsupported JPEG: %d components (1, 3 or 4 are supported)",
                        d->name, d->ncomp);
    for (int i = 0; i < d->ncomp; i++) {
        jpg_component_t *c = &d->comp[i];
        c->id = next_byte(d);
        int hv = next_byte(d);
        c->h = hv >> 4;
        c->v = hv & 15;
        c->tq = next_byte(d);
    }
    return 0;
}

static int get_dht(jpg_decoder_t *d) {
    long length = read_u16(d) - 2;
    while (length > 16) {
        int index = next_byte(d);
        uint8_t bits[17] = {0};
        int count = 0;
        for (int l = 1; l <= 16; l++) {
            bits[l] = (uint8_t)next_byte(d);
            count += bits[l];
        }
        length -= 17;
        if (count > 256 || count > length)
            return sal_errf(d->err, "%s: corrupt JPEG: bad Huffman table", d->name);
        huff_table_t *t;
        if (index & 0x10) {
            index -= 0x10;
            if (index >= 4) return sal_errf(d->err, "%s: corrupt JPEG: bad DHT index", d->name);
            t = &d->ac_tables[index];
        } else {
            if (index >= 4) return sal_errf(d->err, "%s: corrupt JPEG: bad DHT index", d->name);
            t = &d->dc_tables[index];
        }
        memcpy(t->bits, bits, sizeof bits);
        memset(t->vals, 0, sizeof t->vals);
        for (int i = 0; i < count; i++) t->vals[i] = (uint8_t)next_byte(d);
        t->defined = 1;
        length -= count;
    }
    if (length != 0) return sal_errf(d->err, "%s: corrupt JPEG: bad DHT length", d->name);
    return 0;
}

static int get_dqt(jpg_decoder_t *d) {
    long length = read_u16(d) - 2;
    while (length > 0) {
        int pq_tq = next_byte(d);
        int sixteen_bit = pq_tq >> 4, n = pq_tq & 15;
        if (n >= 4) return sal_errf(d->err, "%s: corrupt JPEG: bad DQT index %d", d->name, n);
        for (int i = 0; i < 64; i++)
            d->qtables[n][natural_order[i]] = (uint16_t)(sixteen_bit ? read_u16(d) : next_byte(d));
        d->qtable_defined[n] = 1;
        length -= sixteen_bit ? 129 : 65;
    }
    if (length != 0) return sal_errf(d->err, "%s: corrupt JPEG: bad DQT length", d->name);
    return 0;
}

/* DAC (arithmetic-coding conditioning): only validated, as libjpeg does. */
static int get_dac(jpg_decoder_t *d) {
    long length = read_u16(d) - 2;
    while (length > 0) {
        int index = next_byte(d), val = next_byte(d);
        length -= 2;
        if (index >= 32 || (index < 16 && (val & 15) > (val >> 4)))
            return sal_errf(d->err, "%s: corrupt JPEG: bad DAC segment", d->name);
    }
    if (length != 0) return sal_errf(d->err, "%s: corrupt JPEG: bad DAC length", d->name);
    return 0;
}

/* APP0 (JFIF), APP1 (Exif), APP14 (Adobe): look at the start, skip the rest. */
static void get_app(jpg_decoder_t *d, int marker) {
    long length = read_u16(d) - 2;
    size_t start = d->pos;
    if (marker == M_APP1 && !d->exif && length >= 6 && start < d->size) {
        size_t avail = d->size - start;
        size_t n = (size_t)length < avail ? (size_t)length : avail;
        if (n >= 6 && memcmp(d->data + start, "Exif\0\0", 6) == 0) {
            d->exif = d->data + start;
            d->exif_size = n;
        }
    } else if (marker == M_APP0 || marker == M_APP14) {
        uint8_t b[14];
        long n = length >= 14 ? 14 : length > 0 ? length : 0;
        for (long i = 0; i < n; i++) b[i] = (uint8_t)next_byte(d);
        length -= n;
        if (marker == M_APP0 && n >= 14 && memcmp(b, "JFIF\0", 5) == 0) d->saw_jfif = 1;
        if (marker == M_APP14 && n >= 12 && memcmp(b, "Adobe", 5) == 0) {
            d->saw_adobe = 1;
            d->adobe_transform = b[11];
        }
    }
    skip_bytes(d, length);
}

static int get_sos(jpg_decoder_t *d) {
    if (!d->saw_sof) return sal_errf(d->err, "%s: corrupt JPEG: scan before frame header", d->name);
    long length = read_u16(d);
    int n = next_byte(d);
    if (length != n * 2 + 6 || n < 1 || n > 4)
        return sal_errf(d->err, "%s: corrupt JPEG: bad SOS length", d->name);
    d->scan_ncomp = n;
    /* Match component ids like libjpeg: the first frame component with that
     * id whose slot (by frame index) is still free in this scan. */
    int taken[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        int cc = next_byte(d), tables = next_byte(d);
        int ci = 0;
        while (ci < d->ncomp && !(d->comp[ci].id == cc && !taken[ci])) ci++;
        if (ci == d->ncomp)
            return sal_errf(d->err, "%s: corrupt JPEG: bad component id %d in scan", d->name, cc);
        for (int p = 0; p < i; p++)
            if (d->scan_comp[p] == ci)
                return sal_errf(d->err, "%s: corrupt JPEG: component %d twice in one scan", d->name,
                                cc);
        d->scan_comp[i] = ci;
        taken[i] = 1;   /* libjpeg marks slot i (the scan position) as used */
        d->comp[ci].td = tables >> 4;
        d->comp[ci].ta = tables & 15;
    }
    d->Ss = next_byte(d);
    d->Se = next_byte(d);
    int a = next_byte(d);
    d->Ah = a >> 4;
    d->Al = a & 15;
    d->next_restart_num = 0;
    return 0;
}

/* Processes markers until a scan starts (returns M_SOS) or EOI (M_EOI);
 * -1 on error. Mirrors libjpeg's read_markers(). */
static int read_markers(jpg_decoder_t *d) {
    for (;;) {
        if (!d->unread_marker) d->unread_marker = next_marker(d);
        int m = d->unread_marker, r = 0;
        switch (m) {
        case M_SOI:
            return sal_errf(d->err, "%s: corrupt JPEG: second SOI marker", d->name);
        case M_SOF0: case M_SOF1: case M_SOF2:
            r = get_sof(d, m);
            break;
        case M_SOF9: case M_SOF10:
            return sal_errf(d->err, "%s: unsupported JPEG: arithmetic coding", d->name);
        case M_SOF3: case M_SOF5: case M_SOF6: case M_SOF7: case M_JPG:
        case M_SOF11: case M_SOF13: case M_SOF14: case M_SOF15:
            return sal_errf(d->err, "%s: unsupported JPEG process (SOF%d: lossless/hierarchical)",
                            d->name, m - M_SOF0);
        case M_SOS:
            d->unread_marker = 0;
            return get_sos(d) < 0 ? -1 : M_SOS;
        case M_EOI:
            d->unread_marker = 0;
            return M_EOI;
        case M_DHT: r = get_dht(d); break;
        case M_DQT: r = get_dqt(d); break;
        case M_DRI:
            if (read_u16(d) != 4)
                return sal_errf(d->err, "%s: corrupt JPEG: bad DRI length", d->name);
            d->restart_interval = (unsigned)read_u16(d);
            break;
        case M_DAC: r = get_dac(d); break;
        case M_COM: case M_DNL:
            skip_bytes(d, read_u16(d) - 2);
            break;
        default:
            if (m >= M_APP0 && m <= M_APP15) {
                get_app(d, m);
            } else if (!((m >= M_RST0 && m <= M_RST7) || m == M_TEM)) {
                return sal_errf(d->err, "%s: corrupt JPEG: unknown marker 0x%02X", d->name, m);
            }   /* RSTn and TEM carry no data: ignored */
            break;
        }
        if (r < 0) return -1;
        d->unread_marker = 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Huffman tables (jdhuff.c: jpeg_make_d_derived_tbl, std_huff_tables)      */
/* ------------------------------------------------------------------------ */

/* Builds the canonical code ranges (JPEG spec Annex C / F.2.2.3) and the
 * 9-bit lookup table; rejects tables libjpeg rejects. */
static int huff_derive(jpg_decoder_t *d, huff_table_t *t, int is_dc) {
    if (!t->defined) return sal_errf(d->err, "%s: corrupt JPEG: missing Huffman table", d->name);
    int nsym = 0;
    for (int l = 1; l <= 16; l++) nsym += t->bits[l];
    if (nsym > 256) return sal_errf(d->err, "%s: corrupt JPEG: bad Huffman table", d->name);
    /* Codes of each length are consecutive integers; the first code of
     * length l+1 is (last code of length l + 1) << 1. No code may be all ones. */
    int32_t code = 0;
    int k = 0;
    for (int l = 1; l <= 16; l++) {
        if (t->bits[l]) {
            t->valoffset[l] = k - code;
            code += t->bits[l];
            k += t->bits[l];
            t->maxcode[l] = code - 1;
            if (code >= (1 << l))       /* ran out of l-bit codes */
                return sal_errf(d->err, "%s: corrupt JPEG: bad Huffman table", d->name);
        } else {
            t->maxcode[l] = -1;
            t->valoffset[l] = 0;
        }
        code <<= 1;
    }
    t->maxcode[17] = 0x7FFFFFFF;    /* every 17-bit string stops here: invalid code */
    t->valoffset[17] = 0;
    memset(t->fast, 0, sizeof t->fast);
    code = 0;
    k = 0;
    for (int l = 1; l <= HUFF_FAST_BITS; l++) {
        for (int i = 0; i < t->bits[l]; i++, k++, code++) {
            int shift = HUFF_FAST_BITS - l;
            for (int fill = 0; fill < (1 << shift); fill++)
                t->fast[(code << shift) | fill] = (uint16_t)(l << 8 | t->vals[k]);
        }
        code <<= 1;
    }
    if (is_dc)
        for (int i = 0; i < nsym; i++)
            if (t->vals[i] > 15)
                return sal_errf(d->err, "%s: corrupt JPEG: bad DC Huffman table", d->name);
    return 0;
}

/* The example tables of the JPEG standard (Annex K.3), which libjpeg
 * installs for tables 0 and 1 when a sequential file defines none
 * (Motion-JPEG frames). The AC symbol lists start with an irregular part;
 * the symbols of the longest (16-bit) codes are all the remaining
 * run/size symbols (size 1..10) in increasing order. */
static void std_table(huff_table_t *t, const uint8_t *bits16, const uint8_t *head, int nhead,
                      int is_ac) {
    t->defined = 1;
    t->bits[0] = 0;
    memcpy(t->bits + 1, bits16, 16);
    memset(t->vals, 0, sizeof t->vals);
    memcpy(t->vals, head, (size_t)nhead);
    if (!is_ac) return;
    int n = nhead;
    for (int sym = 1; sym < 256; sym++) {
        int size = sym & 15;
        if (size < 1 || size > 10) continue;
        int listed = 0;
        for (int i = 0; i < nhead; i++) listed |= head[i] == sym;
        if (!listed) t->vals[n++] = (uint8_t)sym;
    }
}

static void install_std_tables(jpg_decoder_t *d) {
    static const uint8_t dc_lum_bits[16] = {0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t dc_chr_bits[16] = {0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
    static const uint8_t dc_vals[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    static const uint8_t ac_lum_bits[16] = {0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125};
    static const uint8_t ac_lum_head[37] = {
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13,
        0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42,
        0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82};
    static const uint8_t ac_chr_bits[16] = {0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119};
    static const uint8_t ac_chr_head[43] = {
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51,
        0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1,
        0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24,
        0x34, 0xe1, 0x25, 0xf1};
    if (!d->dc_tables[0].defined) std_table(&d->dc_tables[0], dc_lum_bits, dc_vals, 12, 0);
    if (!d->ac_tables[0].defined) std_table(&d->ac_tables[0], ac_lum_bits, ac_lum_head, 37, 1);
    if (!d->dc_tables[1].defined) std_table(&d->dc_tables[1], dc_chr_bits, dc_vals, 12, 0);
    if (!d->ac_tables[1].defined) std_table(&d->ac_tables[1], ac_chr_bits, ac_chr_head, 43, 1);
}

/* ------------------------------------------------------------------------ */
/* Bit reader and Huffman decoding (jdhuff.c)                               */
/* ------------------------------------------------------------------------ */

/* Tops up bitbuf to at least 57 bits, stopping at a marker. 0xFF bytes in
 * entropy data are followed by a stuffed 0x00 (or more 0xFF fill bytes). */
static void bits_fill(jpg_decoder_t *d) {
    while (d->bitcnt <= 56 && !d->unread_marker) {
        int c;
        if (d->pos < d->size && d->data[d->pos] != 0xFF) {
            c = d->data[d->pos++];              /* common case */
        } else {
            c = next_byte(d);
            if (c == 0xFF) {
                do c = next_byte(d); while (c == 0xFF);
                if (c == 0) {
                    c = 0xFF;
                } else {
                    d->unread_marker = c;       /* end of this entropy segment */
                    return;
                }
            }
        }
        d->bitbuf |= (uint64_t)c << (56 - d->bitcnt);
        d->bitcnt += 8;
    }
}

/* Consumes n bits. Past a marker the bits are zeros, and consuming one of
 * those marks the rest of the restart interval as missing. */
static inline void bits_drop(jpg_decoder_t *d, int n) {
    if (n > d->bitcnt) {
        d->insufficient = 1;
        d->bitbuf = 0;
        d->bitcnt = 0;
    } else {
        d->bitbuf <<= n;        /* n <= 57 here */
        d->bitcnt -= n;
    }
}

static inline unsigned bits_get(jpg_decoder_t *d, int n) {    /* 1 <= n <= 16 */
    if (d->bitcnt < n) bits_fill(d);
    unsigned v = (unsigned)(d->bitbuf >> (64 - n));
    bits_drop(d, n);
    return v;
}

/* Decodes one Huffman symbol. */
static inline int huff_decode(jpg_decoder_t *d, const huff_table_t *t) {
    if (d->bitcnt < 16) bits_fill(d);
    unsigned e = t->fast[d->bitbuf >> (64 - HUFF_FAST_BITS)];
    if (e) {
        bits_drop(d, (int)(e >> 8));
        return (int)(e & 255);
    }
    unsigned code16 = (unsigned)(d->bitbuf >> 48);
    for (int l = HUFF_FAST_BITS + 1; l <= 16; l++) {
        int32_t code = (int32_t)(code16 >> (16 - l));
        if (code <= t->maxcode[l]) {
            bits_drop(d, l);
            return t->vals[(code + t->valoffset[l]) & 255];
        }
    }
    bits_drop(d, 16);           /* invalid code: libjpeg reads 17 bits and returns 0 */
    bits_get(d, 1);
    return 0;
}

/* Reads s raw bits and maps them to a signed value (JPEG spec F.2.2.1
 * EXTEND): values below 2^(s-1) are negative, v - (2^s - 1). */
static inline int receive_extend(jpg_decoder_t *d, int s) {
    if (s == 0) return 0;
    int v = (int)bits_get(d, s);
    return v < (1 << (s - 1)) ? v - ((1 << s) - 1) : v;
}

/* A value as libjpeg stores it in a 16-bit JCOEF (two's complement wrap). */
static inline int16_t to_coef(int64_t v) {
    uint16_t u = (uint16_t)((uint64_t)v & 0xFFFF);
    return (int16_t)(u >= 0x8000 ? (int32_t)u - 0x10000 : (int32_t)u);
}

/* A value as stored in a C int (32-bit two's complement wrap), e.g. the
 * IDCT's int workspace or libjpeg's int DC predictor. (Converting an
 * out-of-range uint32 to int32 wraps in gcc and clang.) */
static inline int32_t to_int32(int64_t x) { return (int32_t)(uint32_t)(uint64_t)x; }

/* libjpeg's jpeg_resync_to_restart: decides what to do when the marker found
 * is not the expected RSTn. */
static void resync_to_restart(jpg_decoder_t *d, int desired) {
    for (;;) {
        int m = d->unread_marker, action;
        if (m < M_SOF0) action = 2;                            /* invalid marker: skip */
        else if (m < M_RST0 || m > M_RST7) action = 3;         /* a real marker: leave it */
        else if (m == M_RST0 + ((desired + 1) & 7) || m == M_RST0 + ((desired + 2) & 7))
            action = 3;                                        /* a later RST: empty segment */
        else if (m == M_RST0 + ((desired - 1) & 7) || m == M_RST0 + ((desired - 2) & 7))
            action = 2;                                        /* an earlier RST: skip */
        else action = 1;                                       /* take it */
        if (action == 1) { d->unread_marker = 0; return; }
        if (action == 3) return;
        d->unread_marker = next_marker(d);
    }
}

static void process_restart(jpg_decoder_t *d) {
    d->bitbuf = 0;              /* the rest of the byte is padding */
    d->bitcnt = 0;
    if (!d->unread_marker) d->unread_marker = next_marker(d);
    if (d->unread_marker == M_RST0 + d->next_restart_num) d->unread_marker = 0;
    else resync_to_restart(d, d->next_restart_num);
    d->next_restart_num = (d->next_restart_num + 1) & 7;
    for (int i = 0; i < 4; i++) d->dc_pred[i] = 0;
    d->eobrun = 0;
    d->restarts_to_go = d->restart_interval;
    /* Still against a marker: the next segment is empty, stay "insufficient". */
    if (!d->unread_marker) d->insufficient = 0;
}

/* ------------------------------------------------------------------------ */
/* Block decoding: sequential (jdhuff.c) and progressive (jdphuff.c)        */
/* ------------------------------------------------------------------------ */

/* One block of a sequential scan into blk (zeroed by the caller). */
static void decode_block_sequential(jpg_decoder_t *d, int scan_index, const jpg_component_t *c,
                                    int16_t *blk) {
    int s = huff_decode(d, &d->dc_tables[c->td]);
    /* the predictor is a C int in libjpeg 2.0.1 (wraps on overflow) */
    d->dc_pred[scan_index] = to_int32(d->dc_pred[scan_index] + receive_extend(d, s));
    blk[0] = to_coef(d->dc_pred[scan_index]);
    const huff_table_t *ac = &d->ac_tables[c->ta];
    for (int k = 1; k < 64; k++) {
        int rs = huff_decode(d, ac);
        int r = rs >> 4;
        s = rs & 15;
        if (s) {
            k += r;                                   /* k <= 78: see natural_order */
            blk[natural_order[k]] = (int16_t)receive_extend(d, s);
        } else {
            if (r != 15) break;                       /* EOB */
            k += 15;                                  /* ZRL: 16 zeros */
        }
    }
}

/* Progressive, first DC scan: DC difference, scaled by 2^Al. */
static int decode_dc_first(jpg_decoder_t *d, int scan_index, const jpg_component_t *c,
                           int16_t *blk) {
    int s = huff_decode(d, &d->dc_tables[c->td]);
    int64_t v = d->dc_pred[scan_index] + receive_extend(d, s);
    if (v > INT32_MAX || v < INT32_MIN)      /* libjpeg 2.0.1: JERR_BAD_DCT_COEF */
        return sal_errf(d->err, "%s: corrupt JPEG: DC coefficient out of range", d->name);
    d->dc_pred[scan_index] = v;
    blk[0] = to_coef((int64_t)((uint64_t)v << d->Al));
    return 0;
}

/* Progressive DC refinement: one more bit of the DC value. */
static void decode_dc_refine(jpg_decoder_t *d, int16_t *blk) {
    if (bits_get(d, 1)) blk[0] = (int16_t)(blk[0] | (1 << d->Al));
}

/* Progressive, first AC scan of band Ss..Se: run/size symbols plus EOB
 * runs (EOBRUN blocks with no more coefficients in the band). */
static void decode_ac_first(jpg_decoder_t *d, const jpg_component_t *c, int16_t *blk) {
    if (d->eobrun > 0) { d->eobrun--; return; }
    const huff_table_t *ac = &d->ac_tables[c->ta];
    for (int k = d->Ss; k <= d->Se; k++) {
        int rs = huff_decode(d, ac);
        int r = rs >> 4, s = rs & 15;
        if (s) {
            k += r;
            int v = receive_extend(d, s);
            blk[natural_order[k]] = to_coef((int64_t)((uint64_t)(int64_t)v << d->Al));
        } else if (r == 15) {
            k += 15;
        } else {
            d->eobrun = 1u << r;
            if (r) d->eobrun += bits_get(d, r);
            d->eobrun--;
            break;
        }
    }
}

/* Adds a correction bit to an already nonzero coefficient: if the bit is 1
 * its magnitude grows by 2^Al (unless that bit is already set). */
static inline void refine_nonzero(jpg_decoder_t *d, int16_t *coef) {
    if (bits_get(d, 1)) {
        int p1 = 1 << d->Al;
        if ((*coef & p1) == 0) *coef = to_coef(*coef >= 0 ? *coef + p1 : *coef - p1);
    }
}

/* Progressive AC refinement (JPEG spec G.1.2.3): newly nonzero coefficients
 * are +-2^Al; already nonzero ones on the way receive a correction bit. */
static void decode_ac_refine(jpg_decoder_t *d, const jpg_component_t *c, int16_t *blk) {
    const huff_table_t *ac = &d->ac_tables[c->ta];
    int p1 = 1 << d->Al, m1 = -p1;
    int k = d->Ss;
    if (d->eobrun == 0) {
        for (; k <= d->Se; k++) {
            int rs = huff_decode(d, ac);
            int r = rs >> 4, s = rs & 15;
            if (s) {
                /* size should be 1; libjpeg only warns otherwise */
                s = bits_get(d, 1) ? p1 : m1;
            } else if (r != 15) {
                d->eobrun = 1u << r;
                if (r) d->eobrun += bits_get(d, r);
                break;
            }
            /* skip r zero coefficients (refining nonzero ones on the way) */
            do {
                int16_t *coef = &blk[natural_order[k]];
                if (*coef != 0) refine_nonzero(d, coef);
                else if (--r < 0) break;
                k++;
            } while (k <= d->Se);
            if (s) blk[natural_order[k]] = (int16_t)s;   /* k may be Se+1 <= 64 */
        }
    }
    if (d->eobrun > 0) {
        for (; k <= d->Se; k++) {
            int16_t *coef = &blk[natural_order[k]];
            if (*coef != 0) refine_nonzero(d, coef);
        }
        d->eobrun--;
    }
}

/* Dequantises + inverse-transforms block (bx, by) of c into its plane, with
 * libjpeg-turbo's x86 SIMD arithmetic or its portable C arithmetic. */
static void idct_block(const jpg_component_t *c, const int16_t *coef, int bx, int by,
                       int portable) {
    static const uint16_t zero_quant[64];
    const uint16_t *q = c->quant_latched ? c->quant : zero_quant;
    int n = c->dct_size;
    uint8_t *out = c->plane + (size_t)by * n * c->stride + (size_t)bx * n;
    switch (n) {
    case 8: jpeg_idct_8x8(coef, q, out, c->stride, !portable); break;
    case 4: jpeg_idct_4x4(coef, q, out, c->stride, !portable); break;
    case 2: jpeg_idct_2x2(coef, q, out, c->stride, !portable); break;
    default:
        jpeg_idct_1x1(coef, q, out, !portable);
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Scans                                                                    */
/* ------------------------------------------------------------------------ */

/* Per-scan setup (libjpeg start_input_pass): MCU geometry, quantisation
 * tables latched on a component's first scan, Huffman tables, progression
 * checks, and a fresh entropy decoder state. */
static int start_scan(jpg_decoder_t *d) {
    if (d->scan_ncomp == 1) {
        const jpg_component_t *c = &d->comp[d->scan_comp[0]];
        d->mcus_per_row = c->bw;
        d->mcu_rows = c->bh;
    } else {
        d->mcus_per_row = (d->width + 8 * d->max_h - 1) / (8 * d->max_h);
        d->mcu_rows = (d->height + 8 * d->max_v - 1) / (8 * d->max_v);
        int blocks = 0;
        for (int i = 0; i < d->scan_ncomp; i++) {
            const jpg_component_t *c = &d->comp[d->scan_comp[i]];
            blocks += c->h * c->v;
        }
        if (blocks > MAX_BLOCKS_IN_MCU)
            return sal_errf(d->err, "%s: corrupt JPEG: MCU has %d blocks (max 10)", d->name,
                            blocks);
    }
    for (int i = 0; i < d->scan_ncomp; i++) {
        jpg_component_t *c = &d->comp[d->scan_comp[i]];
        if (c->quant_latched) continue;
        if (c->tq >= 4 || !d->qtable_defined[c->tq])
            return sal_errf(d->err, "%s: corrupt JPEG: missing quantization table %d", d->name,
                            c->tq);
        memcpy(c->quant, d->qtables[c->tq], sizeof c->quant);
        c->quant_latched = 1;
    }
    if (!d->progressive) {
        /* sequential: Ss/Se/Ah/Al are ignored (libjpeg only warns) */
        for (int i = 0; i < d->scan_ncomp; i++) {
            jpg_component_t *c = &d->comp[d->scan_comp[i]];
            if (c->td >= 4 || c->ta >= 4)
                return sal_errf(d->err, "%s: corrupt JPEG: missing Huffman table", d->name);
            if (huff_derive(d, &d->dc_tables[c->td], 1) < 0 ||
                huff_derive(d, &d->ac_tables[c->ta], 0) < 0)
                return -1;
        }
    } else {
        int dc = d->Ss == 0;
        int bad = dc ? d->Se != 0 : (d->Ss > d->Se || d->Se > 63 || d->scan_ncomp != 1);
        if (d->Ah != 0 && d->Al != d->Ah - 1) bad = 1;
        if (d->Al > 13) bad = 1;
        if (bad)
            return sal_errf(d->err,
                            "%s: corrupt JPEG: bad progressive scan (Ss=%d Se=%d Ah=%d Al=%d)",
                            d->name, d->Ss, d->Se, d->Ah, d->Al);
        for (int i = 0; i < d->scan_ncomp; i++) {
            jpg_component_t *c = &d->comp[d->scan_comp[i]];
            for (int k = d->Ss; k <= d->Se; k++) c->coef_bits[k] = d->Al;
        }
        for (int i = 0; i < d->scan_ncomp; i++) {
            jpg_component_t *c = &d->comp[d->scan_comp[i]];
            if (dc) {
                if (d->Ah == 0) {           /* DC refinement needs no table */
                    if (c->td >= 4)
                        return sal_errf(d->err, "%s: corrupt JPEG: missing Huffman table", d->name);
                    if (huff_derive(d, &d->dc_tables[c->td], 1) < 0) return -1;
                }
            } else {
                if (c->ta >= 4)
                    return sal_errf(d->err, "%s: corrupt JPEG: missing Huffman table", d->name);
                if (huff_derive(d, &d->ac_tables[c->ta], 0) < 0) return -1;
            }
        }
    }
    for (int i = 0; i < 4; i++) d->dc_pred[i] = 0;
    d->bitbuf = 0;
    d->bitcnt = 0;
    d->insufficient = 0;
    d->eobrun = 0;
    d->restarts_to_go = d->restart_interval;
    return 0;
}

/* Where block (bx, by) of component c lives in its coefficient buffer
 * (single-scan files: by counts block rows within the current MCU row). */
static inline int16_t *coef_block(const jpg_component_t *c, int bx, int by) {
    return c->coefs + ((size_t)by * c->bw_alloc + bx) * 64;
}

/* Decodes one block of the current scan. `blk` is the block storage. */
static int decode_one_block(jpg_decoder_t *d, int scan_index, const jpg_component_t *c,
                            int16_t *blk) {
    if (!d->progressive) {
        decode_block_sequential(d, scan_index, c, blk);
        return 0;
    }
    if (d->Ss == 0) {
        if (d->Ah == 0) return decode_dc_first(d, scan_index, c, blk);
        decode_dc_refine(d, blk);
        return 0;
    }
    if (d->Ah == 0) decode_ac_first(d, c, blk);
    else decode_ac_refine(d, c, blk);
    return 0;
}

/* Block rows of component c in one MCU row of the current scan. */
static inline int mcu_block_rows(const jpg_decoder_t *d, const jpg_component_t *c) {
    return d->scan_ncomp == 1 ? 1 : c->v;
}

/* Single-scan files: inverse-transforms the MCU row `my` just decoded into
 * the row buffers (dummy blocks past the right and bottom edges are
 * decoded but not drawn). */
static void idct_mcu_row(const jpg_decoder_t *d, int my) {
    for (int i = 0; i < d->scan_ncomp; i++) {
        const jpg_component_t *c = &d->comp[d->scan_comp[i]];
        int rows = mcu_block_rows(d, c);
        for (int y = 0; y < rows && my * rows + y < c->bh; y++)
            for (int bx = 0; bx < c->bw; bx++)
                idct_block(c, coef_block(c, bx, y), bx, my * rows + y, d->portable_idct);
    }
}

/* Decodes every MCU of the current scan. Multi-scan files fill the
 * whole-image coefficient buffers; single-scan files fill a one-MCU-row
 * buffer that goes through the IDCT after each MCU row. */
static int decode_scan(jpg_decoder_t *d) {
    for (int my = 0; my < d->mcu_rows; my++) {
        if (!d->multi_scan) {
            /* blocks that end up skipped stay zero: flat gray, as in libjpeg */
            for (int i = 0; i < d->scan_ncomp; i++) {
                const jpg_component_t *c = &d->comp[d->scan_comp[i]];
                memset(c->coefs, 0,
                       (size_t)c->bw_alloc * mcu_block_rows(d, c) * 64 * sizeof(int16_t));
            }
        }
        for (int mx = 0; mx < d->mcus_per_row; mx++) {
            if (d->restart_interval && d->restarts_to_go == 0) process_restart(d);
            /* Out of data: leave the rest of the interval as it is (zeros).
             * DC refinement scans read on regardless (the bits are zeros). */
            int skip = d->insufficient && !(d->progressive && d->Ss == 0 && d->Ah != 0);
            for (int i = 0; i < d->scan_ncomp && !skip; i++) {
                jpg_component_t *c = &d->comp[d->scan_comp[i]];
                int nh = d->scan_ncomp == 1 ? 1 : c->h, nv = mcu_block_rows(d, c);
                for (int y = 0; y < nv; y++) {
                    for (int x = 0; x < nh; x++) {
                        int bx = mx * nh + x, by = d->multi_scan ? my * nv + y : y;
                        if (decode_one_block(d, i, c, coef_block(c, bx, by)) < 0) return -1;
                    }
                }
            }
            d->restarts_to_go--;
        }
        if (!d->multi_scan) idct_mcu_row(d, my);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Block smoothing (jdcoefct.c, 2.0.1) and the final IDCT of buffered files */
/* ------------------------------------------------------------------------ */

/* libjpeg applies JPEG spec K.8 smoothing to progressive images whose first
 * five AC coefficients are not all known to full precision: they are
 * estimated from the DC values of the 3x3 neighbouring blocks. */
static int smoothing_ok(const jpg_decoder_t *d) {
    if (!d->progressive) return 0;
    int useful = 0;
    for (int ci = 0; ci < d->ncomp; ci++) {
        const jpg_component_t *c = &d->comp[ci];
        if (!c->quant_latched) return 0;
        const uint16_t *q = c->quant;
        if (!q[0] || !q[1] || !q[8] || !q[16] || !q[9] || !q[2]) return 0;
        if (c->coef_bits[0] < 0) return 0;
        for (int k = 1; k <= 5; k++) useful |= c->coef_bits[k] != 0;
    }
    return useful;
}

/* One smoothed estimate: round(num / (Q << 8)) with |pred| capped to
 * 2^Al - 1 when the coefficient is known to Al bits. */
static int16_t smooth_pred(int64_t num, int64_t qk, int al) {
    int64_t pred = num >= 0 ? ((qk << 7) + num) / (qk << 8) : ((qk << 7) - num) / (qk << 8);
    if (al > 0 && pred >= ((int64_t)1 << al)) pred = ((int64_t)1 << al) - 1;
    return to_coef(num >= 0 ? pred : -pred);
}

/* Inverse-transforms every block of a buffered (multi-scan) component.
 * With smoothing, each of the first five AC coefficients that is still zero
 * and not known to full precision is estimated from the DC gradient around
 * the block, e.g. AC01 ~ 36 Q00 (DC4 - DC6) / (256 Q01) (JPEG spec K.8).
 * Block rows are independent, so threads share them. */
static void idct_component(const jpg_decoder_t *d, const jpg_component_t *c, int smooth) {
    const uint16_t *q = c->quant;
    #pragma omp parallel for schedule(dynamic, 4) if ((size_t)c->bw * c->bh >= 1024)
    for (int by = 0; by < c->bh; by++) {
        int16_t ws[64];
        int up = by > 0 ? by - 1 : by, down = by < c->bh - 1 ? by + 1 : by;
        for (int bx = 0; bx < c->bw; bx++) {
            const int16_t *blk = coef_block(c, bx, by);
            if (!smooth) { idct_block(c, blk, bx, by, d->portable_idct); continue; }
            int left = bx > 0 ? bx - 1 : bx, right = bx < c->bw - 1 ? bx + 1 : bx;
            /* DC values of the 3x3 neighbourhood (edges replicate), named
             *   DC1 DC2 DC3
             *   DC4 DC5 DC6     (DC5 = this block)
             *   DC7 DC8 DC9 */
            int64_t dc1 = coef_block(c, left, up)[0], dc2 = coef_block(c, bx, up)[0];
            int64_t dc3 = coef_block(c, right, up)[0], dc4 = coef_block(c, left, by)[0];
            int64_t dc5 = blk[0], dc6 = coef_block(c, right, by)[0];
            int64_t dc7 = coef_block(c, left, down)[0], dc8 = coef_block(c, bx, down)[0];
            int64_t dc9 = coef_block(c, right, down)[0];
            memcpy(ws, blk, sizeof ws);
            int64_t q00 = q[0];
            const int *bits = c->coef_bits;     /* zigzag 1..5 = natural 1, 8, 16, 9, 2 */
            if (bits[1] != 0 && ws[1] == 0)
                ws[1] = smooth_pred(36 * q00 * (dc4 - dc6), q[1], bits[1]);
            if (bits[2] != 0 && ws[8] == 0)
                ws[8] = smooth_pred(36 * q00 * (dc2 - dc8), q[8], bits[2]);
            if (bits[3] != 0 && ws[16] == 0)
                ws[16] = smooth_pred(9 * q00 * (dc2 + dc8 - 2 * dc5), q[16], bits[3]);
            if (bits[4] != 0 && ws[9] == 0)
                ws[9] = smooth_pred(5 * q00 * (dc1 - dc3 - dc7 + dc9), q[9], bits[4]);
            if (bits[5] != 0 && ws[2] == 0)
                ws[2] = smooth_pred(9 * q00 * (dc4 + dc6 - 2 * dc5), q[2], bits[5]);
            idct_block(c, ws, bx, by, d->portable_idct);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Frame setup: sizes, IDCT scaling per component, upsampling methods       */
/* ------------------------------------------------------------------------ */

/* Colour space, as libjpeg guesses it (jdapimin.c default_decompress_parms):
 * JFIF means YCbCr; else an Adobe marker's transform (0 = no transform);
 * else component ids 'R','G','B' mean RGB. */
static jpeg_color_t guess_color(const jpg_decoder_t *d) {
    if (d->ncomp == 1) return JPEG_COLOR_GRAY;
    if (d->ncomp == 3) {
        if (d->saw_jfif) return JPEG_COLOR_YCBCR;
        if (d->saw_adobe) return d->adobe_transform == 0 ? JPEG_COLOR_RGB : JPEG_COLOR_YCBCR;
        if (d->comp[0].id == 'R' && d->comp[1].id == 'G' && d->comp[2].id == 'B')
            return JPEG_COLOR_RGB;
        return JPEG_COLOR_YCBCR;
    }
    return d->saw_adobe && d->adobe_transform != 0 ? JPEG_COLOR_YCCK : JPEG_COLOR_CMYK;
}

static int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }

static int setup_frame(jpg_decoder_t *d, int scale_denom, size_t max_pixels, size_t max_bytes) {
    if (d->width > JPEG_MAX_DIMENSION || d->height > JPEG_MAX_DIMENSION)
        return sal_errf(d->err, "%s: JPEG too large (%dx%d, libjpeg's limit is %d)", d->name,
                        d->width, d->height, JPEG_MAX_DIMENSION);
    d->max_h = d->max_v = 1;
    for (int i = 0; i < d->ncomp; i++) {
        jpg_component_t *c = &d->comp[i];
        if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4)
            return sal_errf(d->err, "%s: corrupt JPEG: bad sampling factors %dx%d", d->name, c->h,
                            c->v);
        if (c->h > d->max_h) d->max_h = c->h;
        if (c->v > d->max_v) d->max_v = c->v;
    }

    d->color = guess_color(d);

    if (scale_denom <= 0) scale_denom = 1;
    if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8)
        return sal_errf(d->err, "%s: JPEG scale 1/%d not supported (1, 2, 4, 8)", d->name,
                        scale_denom);
    d->min_dct_size = 8 / scale_denom;
    d->fancy = d->min_dct_size > 1;     /* libjpeg: no context rows for 1x1 IDCTs */
    int m = d->min_dct_size;
    d->out_w = ceil_div((long long)d->width * m, 8);
    d->out_h = ceil_div((long long)d->height * m, 8);

    size_t out_pixels, limit = max_pixels ? max_pixels : JPEG_DEFAULT_MAX_PIXELS;
    if (sal_mul_size((size_t)d->out_w, (size_t)d->out_h, &out_pixels) < 0 || out_pixels > limit)
        return sal_errf(d->err, "%s: JPEG too large (%dx%d output pixels, limit %zu)", d->name,
                        d->out_w, d->out_h, limit);
    if (d->multi_scan && (size_t)d->width * (size_t)d->height > limit)
        return sal_errf(d->err, "%s: JPEG too large to buffer (%dx%d, limit %zu pixels)", d->name,
                        d->width, d->height, limit);

    for (int i = 0; i < d->ncomp; i++) {
        jpg_component_t *c = &d->comp[i];
        c->bw = ceil_div((long long)d->width * c->h, 8LL * d->max_h);
        c->bh = ceil_div((long long)d->height * c->v, 8LL * d->max_v);
        c->bw_alloc = ceil_div(c->bw, c->h) * c->h;
        c->bh_alloc = ceil_div(c->bh, c->v) * c->v;
        for (int k = 0; k < 64; k++) c->coef_bits[k] = -1;
        /* Give subsampled components a larger IDCT instead of upsampling,
         * while the sampling ratio allows (powers of two, up to 8x8). */
        int s = m;
        while (s < 8 && (d->max_h * m) % (c->h * s * 2) == 0 &&
               (d->max_v * m) % (c->v * s * 2) == 0)
            s *= 2;
        c->dct_size = s;
        c->dw = ceil_div((long long)d->width * c->h * s, 8LL * d->max_h);
        c->dh = ceil_div((long long)d->height * c->v * s, 8LL * d->max_v);
        /* Upsampling: h_in x v_in plane samples become max_h x max_v pixels. */
        int h_in = c->h * s / m, v_in = c->v * s / m;
        c->h_expand = c->v_expand = 1;
        if (h_in == d->max_h && v_in == d->max_v) c->method = UP_FULL;
        else if (h_in * 2 == d->max_h && v_in == d->max_v)
            c->method = d->fancy && c->dw > 2 ? UP_H2V1_FANCY : UP_BOX;
        else if (h_in == d->max_h && v_in * 2 == d->max_v && d->fancy)
            c->method = UP_H1V2_FANCY;
        else if (h_in * 2 == d->max_h && v_in * 2 == d->max_v)
            c->method = d->fancy && c->dw > 2 ? UP_H2V2_FANCY : UP_BOX;
        else if (d->max_h % h_in == 0 && d->max_v % v_in == 0)
            c->method = UP_BOX;
        else
            return sal_errf(d->err, "%s: unsupported JPEG sampling factors (fractional ratio)",
                            d->name);
        if (c->method == UP_BOX) {
            c->h_expand = d->max_h / h_in;
            c->v_expand = d->max_v / v_in;
        }
    }

    /* The memory all of it takes (planes, coefficients, output with at most
     * 4 channels), against the limit before anything is allocated. Sizes are
     * below 2^16 x 2^16 x 4^2 x 8^2 per factor, so uint64 sums cannot wrap. */
    uint64_t need = (uint64_t)d->out_w * (uint64_t)d->out_h * (d->ncomp == 1 ? 1u : d->ncomp == 4 ? 4u : 3u);
    for (int i = 0; i < d->ncomp; i++) {
        const jpg_component_t *c = &d->comp[i];
        need += (uint64_t)c->bw * c->dct_size * (uint64_t)c->bh * c->dct_size;
        need += (uint64_t)c->bw_alloc * (uint64_t)(d->multi_scan ? c->bh_alloc : c->v) * 64 * sizeof(int16_t);
    }
    if (!max_bytes) max_bytes = SAL_IMAGE_DEFAULT_MAX_BYTES;
    if (need > (uint64_t)max_bytes)
        return sal_errf(d->err, "%s: JPEG too large to decode (%dx%d%s: needs %llu MiB, limit %zu MiB; "
                        "SALIENT_MAX_IMAGE_MB raises it)", d->name, d->width, d->height,
                        scale_denom == 2 ? " at 1/2" : scale_denom == 4 ? " at 1/4" : scale_denom == 8 ? " at 1/8" : "",
                        (unsigned long long)((need >> 20) + 1), max_bytes >> 20);

    /* Allocate planes (and coefficient buffers), sizes checked first. */
    for (int i = 0; i < d->ncomp; i++) {
        jpg_component_t *c = &d->comp[i];
        size_t pw, ph, bytes, nblocks, coef_bytes;
        if (sal_mul_size((size_t)c->bw, (size_t)c->dct_size, &pw) < 0 ||
            sal_mul_size((size_t)c->bh, (size_t)c->dct_size, &ph) < 0 ||
            sal_mul_size(pw, ph, &bytes) < 0)
            return sal_errf(d->err, "%s: JPEG too large", d->name);
        c->stride = pw;
        c->plane = malloc(bytes ? bytes : 1);
        if (!c->plane) return sal_errf(d->err, "%s: out of memory decoding JPEG", d->name);
        {   /* multi-scan: the whole image; single scan: one MCU row (v block rows) */
            if (sal_mul_size((size_t)c->bw_alloc, (size_t)(d->multi_scan ? c->bh_alloc : c->v),
                             &nblocks) < 0 ||
                sal_mul_size(nblocks, 64 * sizeof(int16_t), &coef_bytes) < 0)
                return sal_errf(d->err, "%s: JPEG too large", d->name);
            c->coefs = calloc(1, coef_bytes);
            if (!c->coefs) return sal_errf(d->err, "%s: out of memory decoding JPEG", d->name);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Upsampling (jdsample.c) and colour conversion (jdcolor.c)                 */
/* ------------------------------------------------------------------------ */

/* Triangle-filter doubling of one row: dw samples -> 2*dw outputs,
 *   out[2i] = (3 in[i] + in[i-1] + 1) >> 2,  out[2i+1] = (3 in[i] + in[i+1] + 2) >> 2
 * with the edge samples repeated (libjpeg h2v1_fancy_upsample; the +1/+2
 * alternate so that halves do not always round up). */
static void h2v1_fancy_row(const uint8_t *in, int dw, uint8_t *out) {
    for (int i = 0; i < dw; i++) {
        int near3 = 3 * in[i];
        int left = in[i > 0 ? i - 1 : 0], right = in[i + 1 < dw ? i + 1 : i];
        out[2 * i] = (uint8_t)((near3 + left + 1) >> 2);
        out[2 * i + 1] = (uint8_t)((near3 + right + 2) >> 2);
    }
}

/* 4:2:0 triangle filter (libjpeg h2v2_fancy_upsample): vertical column sums
 * cs[i] = 3 near[i] + far[i], then horizontally
 *   out[2i] = (3 cs[i] + cs[i-1] + 8) >> 4,  out[2i+1] = (3 cs[i] + cs[i+1] + 7) >> 4.
 * `cs` has room for dw + 2 entries. */
static void h2v2_fancy_row(const uint8_t *near, const uint8_t *far, int dw, int *cs, uint8_t *out) {
    int *c = cs + 1;
    for (int i = 0; i < dw; i++) c[i] = 3 * near[i] + far[i];
    c[-1] = c[0];
    c[dw] = c[dw - 1];
    for (int i = 0; i < dw; i++) {
        out[2 * i] = (uint8_t)((3 * c[i] + c[i - 1] + 8) >> 4);
        out[2 * i + 1] = (uint8_t)((3 * c[i] + c[i + 1] + 7) >> 4);
    }
}

/* Plane row r clamped to the plane: libjpeg's context rows repeat the first
 * and last sample rows above and below the image. */
static inline const uint8_t *plane_row(const jpg_component_t *c, int r) {
    if (r < 0) r = 0;
    if (r > c->dh - 1) r = c->dh - 1;
    return c->plane + (size_t)r * c->stride;
}

/* One output row y of component c: out_w samples (or more). Returns a
 * pointer into the plane when no work is needed, else fills `tmp`
 * (out_w + 2 bytes) using `cs` (dw + 2 ints) as scratch. */
static const uint8_t *upsample_row(const jpg_decoder_t *d, const jpg_component_t *c, int y,
                                   uint8_t *tmp, int *cs) {
    switch (c->method) {
    case UP_FULL:
        break;
    case UP_H2V1_FANCY:
        h2v1_fancy_row(plane_row(c, y), c->dw, tmp);
        return tmp;
    case UP_H1V2_FANCY: {
        /* out = (3 near + far + 1) >> 2 on both output rows: the 2.0.1 rounding */
        const uint8_t *near = plane_row(c, y >> 1),
                      *far = plane_row(c, (y >> 1) + ((y & 1) ? 1 : -1));
        for (int x = 0; x < d->out_w; x++) tmp[x] = (uint8_t)((3 * near[x] + far[x] + 1) >> 2);
        return tmp;
    }
    case UP_H2V2_FANCY: {
        const uint8_t *near = plane_row(c, y >> 1),
                      *far = plane_row(c, (y >> 1) + ((y & 1) ? 1 : -1));
        h2v2_fancy_row(near, far, c->dw, cs, tmp);
        return tmp;
    }
    case UP_BOX: {
        const uint8_t *in = plane_row(c, y / c->v_expand);
        for (int x = 0; x < d->out_w; x++) tmp[x] = in[x / c->h_expand];
        return tmp;
    }
    }
    return c->plane + (size_t)y * c->stride;
}

/* YCbCr -> RGB in 16-bit fixed point (JFIF / ITU-R BT.601, full range):
 *   R = Y + 1.40200 Cr,  G = Y - 0.34414 Cb - 0.71414 Cr,  B = Y + 1.77200 Cb
 * with Cb, Cr centred on 128, rounded the way libjpeg's tables round. */
typedef struct ycc_tables {
    int32_t cr_r[256], cb_b[256], cr_g[256], cb_g[256];
    uint8_t clamp[256 * 3];     /* clamp[v + 256] = v limited to 0..255, v in -256..511 */
} ycc_tables_t;

static int32_t fix16(double x) { return (int32_t)(x * 65536.0 + 0.5); }

static void build_ycc_tables(ycc_tables_t *t) {
    for (int i = 0; i < 256; i++) {
        int32_t x = i - 128;
        t->cr_r[i] = (fix16(1.40200) * x + 32768) >> 16;
        t->cb_b[i] = (fix16(1.77200) * x + 32768) >> 16;
        t->cr_g[i] = -fix16(0.71414) * x;
        t->cb_g[i] = -fix16(0.34414) * x + 32768;
    }
    for (int v = -256; v < 512; v++) t->clamp[v + 256] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Converts one row of upsampled components to output pixels. */
static void convert_row(const jpg_decoder_t *d, const ycc_tables_t *t, const uint8_t *const *row,
                        uint8_t *o, int raw_cmyk) {
    int w = d->out_w;
    const uint8_t *lim = t->clamp + 256;
    switch (d->color) {
    case JPEG_COLOR_GRAY:
        memcpy(o, row[0], (size_t)w);
        break;
    case JPEG_COLOR_RGB:
        for (int x = 0; x < w; x++) {
            o[3 * x] = row[0][x];
            o[3 * x + 1] = row[1][x];
            o[3 * x + 2] = row[2][x];
        }
        break;
    case JPEG_COLOR_YCBCR:
        for (int x = 0; x < w; x++) {
            int Y = row[0][x], cb = row[1][x], cr = row[2][x];
            o[3 * x] = lim[Y + t->cr_r[cr]];
            o[3 * x + 1] = lim[Y + ((t->cb_g[cb] + t->cr_g[cr]) >> 16)];
            o[3 * x + 2] = lim[Y + t->cb_b[cb]];
        }
        break;
    case JPEG_COLOR_CMYK:
    case JPEG_COLOR_YCCK:
        for (int x = 0; x < w; x++) {
            int cmyk[4] = {row[0][x], row[1][x], row[2][x], row[3][x]};
            if (d->color == JPEG_COLOR_YCCK) {
                /* YCC -> RGB, then C = 255 - R etc. (libjpeg); K passes through */
                int Y = cmyk[0], cb = cmyk[1], cr = cmyk[2];
                cmyk[0] = lim[255 - (Y + t->cr_r[cr])];
                cmyk[1] = lim[255 - (Y + ((t->cb_g[cb] + t->cr_g[cr]) >> 16))];
                cmyk[2] = lim[255 - (Y + t->cb_b[cb])];
            }
            if (raw_cmyk) {
                for (int k = 0; k < 4; k++) o[4 * x + k] = (uint8_t)cmyk[k];
            } else {
                /* candidate_crops: R = C*K/255 etc. on the stored (inverted) samples */
                for (int k = 0; k < 3; k++) o[3 * x + k] = (uint8_t)(cmyk[k] * cmyk[3] / 255);
            }
        }
        break;
    }
}

/* Upsamples + converts every output row into out (channels 1, 3 or 4).
 * Rows are independent, so threads share them. */
static int emit_rows(jpg_decoder_t *d, image_u8_t *out, int raw_cmyk) {
    int w = d->out_w, n = d->ncomp;
    int channels = n == 1 ? 1 : (n == 4 && raw_cmyk) ? 4 : 3;
    size_t total;
    if (sal_mul_size((size_t)w * channels, (size_t)d->out_h, &total) < 0)
        return sal_errf(d->err, "%s: JPEG too large", d->name);
    uint8_t *pix = malloc(total ? total : 1);
    if (!pix) return sal_errf(d->err, "%s: out of memory decoding JPEG", d->name);
    ycc_tables_t t;
    build_ycc_tables(&t);
    int max_dw = 0;
    for (int i = 0; i < n; i++) max_dw = d->comp[i].dw > max_dw ? d->comp[i].dw : max_dw;
    int failed = 0;
    #pragma omp parallel if ((size_t)w * d->out_h > 100000)
    {
        /* per thread: 4 upsampled rows (2*dw can exceed out_w by 1) + column sums */
        size_t row_bytes = (size_t)w + 2;
        uint8_t *tmp = malloc(row_bytes * 4);
        int *cs = malloc(((size_t)max_dw + 2) * sizeof(int));
        if (!tmp || !cs) {
            #pragma omp atomic write
            failed = 1;
        } else {
            #pragma omp for schedule(static)
            for (int y = 0; y < d->out_h; y++) {
                const uint8_t *row[4];
                for (int i = 0; i < n; i++)
                    row[i] = upsample_row(d, &d->comp[i], y, tmp + i * row_bytes, cs);
                convert_row(d, &t, row, pix + (size_t)y * w * channels, raw_cmyk);
            }
        }
        free(tmp);
        free(cs);
    }
    if (failed) {
        free(pix);
        return sal_errf(d->err, "%s: out of memory decoding JPEG", d->name);
    }
    out->width = w;
    out->height = d->out_h;
    out->channels = channels;
    out->pixels = pix;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

int jpeg_sniff(const uint8_t *data, size_t size) {
    return data && size >= 2 && data[0] == 0xFF && data[1] == M_SOI;
}

void jpeg_scaled_size(int width, int height, int scale_denom, int *out_width, int *out_height) {
    if (scale_denom != 2 && scale_denom != 4 && scale_denom != 8) scale_denom = 1;
    int m = 8 / scale_denom;
    if (out_width) *out_width = ceil_div((long long)width * m, 8);
    if (out_height) *out_height = ceil_div((long long)height * m, 8);
}

static void free_decoder(jpg_decoder_t *d) {
    if (!d) return;
    for (int i = 0; i < 4; i++) {
        free(d->comp[i].plane);
        free(d->comp[i].coefs);
    }
    free(d);
}

/* SOI, then markers up to the first SOS. */
static int read_until_first_scan(jpg_decoder_t *d) {
    if (next_byte(d) != 0xFF || next_byte(d) != M_SOI)
        return sal_errf(d->err, "%s: not a JPEG file (no SOI marker)", d->name);
    int m = read_markers(d);
    if (m < 0) return -1;
    if (m == M_EOI)
        return sal_errf(d->err, "%s: corrupt JPEG: %s", d->name,
                        d->saw_sof ? "no scan before end of data (truncated header?)"
                                   : "no image before end of data (truncated or empty?)");
    return 0;
}

static void fill_header(const jpg_decoder_t *d, jpeg_header_t *h) {
    memset(h, 0, sizeof *h);
    h->width = d->width;
    h->height = d->height;
    h->components = d->ncomp;
    h->progressive = d->progressive;
    h->color = d->color;
    for (int i = 0; i < d->ncomp && i < 4; i++) {
        h->h_samp[i] = d->comp[i].h;
        h->v_samp[i] = d->comp[i].v;
    }
    h->orientation = d->exif ? exif_orientation_app1(d->exif, d->exif_size) : 1;
}

static jpg_decoder_t *new_decoder(const uint8_t *data, size_t size, const char *name,
                                  sal_err_t *err) {
    jpg_decoder_t *d = calloc(1, sizeof *d);
    if (!d) {
        sal_errf(err, "%s: out of memory", name ? name : "jpeg");
        return NULL;
    }
    d->data = data;
    d->size = data ? size : 0;
    d->name = name ? name : "jpeg";
    d->err = err;
    return d;
}

int jpeg_read_header(const uint8_t *data, size_t size, const char *name, jpeg_header_t *header,
                     sal_err_t *err) {
    jpg_decoder_t *d = new_decoder(data, size, name, err);
    if (!d) return -1;
    int rc = read_until_first_scan(d);
    if (rc == 0 && header) {
        d->color = guess_color(d);
        fill_header(d, header);
    }
    free_decoder(d);
    return rc;
}

int jpeg_decode(const uint8_t *data, size_t size, const char *name, const jpeg_decode_opts_t *opts,
                image_u8_t *out, jpeg_header_t *header, sal_err_t *err) {
    jpeg_decode_opts_t defaults = {0};
    if (!opts) opts = &defaults;
    memset(out, 0, sizeof *out);
    jpg_decoder_t *d = new_decoder(data, size, name, err);
    if (!d) return -1;
    int rc = -1;
    if (read_until_first_scan(d) < 0) goto done;

    /* One scan holding every component: decode straight to pixels.
     * Otherwise (progressive, or components in separate scans) buffer the
     * coefficients of the whole image until EOI. */
    d->multi_scan = d->progressive || d->scan_ncomp < d->ncomp;
    d->portable_idct = opts->portable_idct != 0;
    if (setup_frame(d, opts->scale_denom, opts->max_pixels, opts->max_bytes) < 0) goto done;
    if (header) fill_header(d, header);
    if (!d->progressive) install_std_tables(d);

    const int max_scans = opts->max_scans > 0 ? opts->max_scans : JPEG_MAX_SCANS;
    for (int scans = 1;; scans++) {
        if (scans > max_scans) {
            sal_errf(d->err, "%s: more than %d scans (a progressive JPEG this long is damaged or "
                             "built to stall the decoder)", d->name, max_scans);
            goto done;
        }
        if (start_scan(d) < 0 || decode_scan(d) < 0) goto done;
        if (!d->multi_scan) break;
        int m = read_markers(d);
        if (m < 0) goto done;
        if (m == M_EOI) break;
    }
    if (d->multi_scan) {
        int smooth = smoothing_ok(d);
        for (int i = 0; i < d->ncomp; i++) idct_component(d, &d->comp[i], smooth);
    }
    rc = emit_rows(d, out, opts->raw_cmyk);
done:
    free_decoder(d);
    return rc;
}

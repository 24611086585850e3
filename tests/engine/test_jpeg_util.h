/* test_jpeg_util.h — helpers shared by the JPEG decoder tests:
 *   - PNM (PPM/PGM) reading and writing, synthetic test images
 *   - FNV-1a hashes of pixel data (to compare with recorded reference decodes)
 *   - running djpeg/cjpeg (Debian's libjpeg-turbo-progs, the test oracle),
 *     or, where they are not installed, the recorded oracle (below)
 *   - a small JPEG *encoder* (baseline, sequential multi-scan, simple
 *     progressive) for files cjpeg cannot make: CMYK/YCCK/RGB Adobe files,
 *     odd sampling factors, separate scans per component, progressive files
 *     whose first AC coefficients are never refined (block smoothing).
 * The encoder only has to produce valid JPEG streams; quality is irrelevant.
 */
#ifndef TEST_JPEG_UTIL_H
#define TEST_JPEG_UTIL_H

#include "check.h"
#include "jpeg.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* ---------------------------------------------------------------- images */

typedef struct tj_image {
    int w, h, c;            /* c = 1 (gray) or 3 (RGB) */
    uint8_t *px;
} tj_image_t;

static inline uint32_t tj_lcg(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* kind: 0 gradient, 1 noise, 2 shapes (disc, stripes, sine) */
static inline tj_image_t tj_make_image(int w, int h, int kind, uint32_t seed) {
    tj_image_t im = {w, h, 3, malloc((size_t)w * h * 3)};
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = im.px + ((size_t)y * w + x) * 3;
            if (kind == 0) {
                p[0] = (uint8_t)(x * 255 / (w > 1 ? w - 1 : 1));
                p[1] = (uint8_t)(y * 255 / (h > 1 ? h - 1 : 1));
                p[2] = (uint8_t)((x + y) * 255 / (w + h > 2 ? w + h - 2 : 1));
            } else if (kind == 1) {
                p[0] = (uint8_t)tj_lcg(&seed);
                p[1] = (uint8_t)tj_lcg(&seed);
                p[2] = (uint8_t)tj_lcg(&seed);
            } else {
                double dx = x - w / 2.0, dy = y - h / 2.0, r = (w < h ? w : h) / 3.0;
                int inside = dx * dx + dy * dy < r * r, stripe = (x / 7 + y / 5) % 2;
                p[0] = inside ? 230 : stripe ? 40 : 180;
                p[1] = inside ? 30 : stripe ? 200 : 90;
                p[2] = inside ? 60 : (uint8_t)(127 + 120 * sin(x * 0.3));
            }
        }
    }
    return im;
}

static inline int tj_write_pnm(const char *path, const tj_image_t *im) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fprintf(f, "P%d\n%d %d\n255\n", im->c == 1 ? 5 : 6, im->w, im->h);
    size_t n = (size_t)im->w * im->h * im->c;
    int ok = fwrite(im->px, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Reads a binary PGM/PPM; returns 0 and a malloc'ed image, -1 if missing,
 * malformed or shorter than its header says (e.g. djpeg failed midway). */
static inline int tj_read_pnm(const char *path, tj_image_t *im) {
    memset(im, 0, sizeof *im);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int kind = 0, w = 0, h = 0, maxv = 0;
    if (fscanf(f, "P%d %d %d %d", &kind, &w, &h, &maxv) != 4 || (kind != 5 && kind != 6) ||
        w <= 0 || h <= 0 || maxv != 255 || fgetc(f) == EOF) {
        fclose(f);
        return -1;
    }
    im->w = w;
    im->h = h;
    im->c = kind == 5 ? 1 : 3;
    size_t n = (size_t)w * h * im->c;
    im->px = malloc(n);
    size_t got = im->px ? fread(im->px, 1, n, f) : 0;
    fclose(f);
    if (got != n) {
        free(im->px);
        im->px = NULL;
        return -1;
    }
    return 0;
}

static inline uint64_t tj_fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* 1 if our decode equals the reference image byte for byte. */
static inline int tj_same(const image_u8_t *a, const tj_image_t *b) {
    return a->width == b->w && a->height == b->h && a->channels == b->c &&
           memcmp(a->pixels, b->px, (size_t)b->w * b->h * b->c) == 0;
}

static inline int tj_write_file(const char *path, const uint8_t *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* 1 if djpeg and cjpeg are installed (CI installs libjpeg-turbo-progs);
 * else one "skipped" line naming the package. */
static inline int tj_have_djpeg(test_ctx_t *t) {
    return test_need_command(t, "djpeg", "libjpeg-turbo-progs") &&
           test_need_command(t, "cjpeg", "libjpeg-turbo-progs");
}

/* djpeg -dct int -scale 1/N into `out` (a PNM). Returns djpeg's status. */
static inline int tj_djpeg(const char *jpg, int denom, const char *out, int no_simd) {
    return test_run("%sdjpeg -dct int -scale 1/%d -pnm -outfile '%s' '%s' 2>/dev/null",
                  no_simd ? "JSIMD_FORCENONE=1 " : "", denom, out, jpg);
}

static inline int tj_decode_file(const char *path, int denom, image_u8_t *img, sal_err_t *err) {
    size_t n = 0;
    uint8_t *data = test_read_raw(path, &n);
    if (!data) return sal_errf(err, "%s: cannot read", path);
    jpeg_decode_opts_t o = {0};
    o.scale_denom = denom;
    int rc = jpeg_decode(data, n, path, &o, img, NULL, err);
    free(data);
    return rc;
}

/* ------------------------------------------------------ the oracle */

/* The tests ask two things of libjpeg-turbo: "make this JPEG" (cjpeg, from
 * our synthetic PPMs) and "what does djpeg decode from this file" (djpeg
 * -dct int -scale 1/N). A fresh clone has neither program, so the answers
 * are recorded once, from the real programs, into tests/data/jpeg/:
 *   - the cjpeg files the tests keep (the small ones), byte for byte;
 *   - <test>.expected: per file (name + FNV-1a of its bytes), scale and
 *     IDCT path, djpeg's answer: a whole image or not, its size and FNV-1a
 *     of its pixels (all rows, and the even rows alone for the 4:4:0 rule).
 * Modes (tj_oracle_init):
 *   live      cjpeg/djpeg installed: sources from cjpeg, answers from djpeg
 *   record    live, and SALIENT_JPEG_RECORD=DIR: also writes the kept files
 *             and every answer to DIR (tests/data/jpeg/regenerate.sh)
 *   recorded  sources from tests/data/jpeg, answers from <test>.expected;
 *             nothing here comes from our own decoder.
 * Keys contain the file's FNV, so a changed source (our encoder, or a
 * re-made file) finds no answer and fails, instead of comparing with a
 * stale one. In live mode the recorded answers are checked too: each kept
 * case must have one, equal to what djpeg says now (tj_oracle_done). */
#define TJ_DATA "tests/data/jpeg"

typedef struct tj_ref {
    int ok;                     /* djpeg wrote a whole image */
    int w, h, c;
    uint64_t fnv, fnv_even;     /* FNV-1a of the pixels / of the even rows only */
    tj_image_t img;             /* live: the pixels; recorded: px == NULL */
} tj_ref_t;

typedef struct tj_answer {
    char key[128];              /* name@fnv-of-file */
    int denom, no_simd;
    tj_ref_t r;
} tj_answer_t;

typedef struct tj_oracle {
    int live;
    char record_dir[1024];      /* record mode: where to write, else "" */
    FILE *record;
    int kept;                   /* the last tj_source was kept (recorded) */
    tj_answer_t *table;         /* the recorded answers (recorded and live mode) */
    size_t n;
    int confirmed, missing;     /* live: recorded answers equal to / absent from djpeg's */
    char ref_path[1200];
} tj_oracle_t;

static inline uint64_t tj_fnv_even_rows(const uint8_t *px, int w, int h, int c) {
    uint64_t hsh = 1469598103934665603ull;
    for (int y = 0; y < h; y += 2)
        for (size_t i = 0; i < (size_t)w * c; i++)
            hsh = (hsh ^ px[(size_t)y * w * c + i]) * 1099511628211ull;
    return hsh;
}

/* Live when djpeg and cjpeg exist (`live_ok` = tj_have_djpeg's answer),
 * else loads TJ_DATA/<name>.expected. Returns 0, or -1 (a failed CHECK)
 * when neither is available. */
static inline int tj_oracle_init(tj_oracle_t *o, test_ctx_t *t, int live_ok) {
    memset(o, 0, sizeof *o);
    snprintf(o->ref_path, sizeof o->ref_path, "%s/oracle_ref.pnm", t->tmp);
    o->live = live_ok;
    o->kept = 1;
    const char *rec = getenv("SALIENT_JPEG_RECORD");
    if (o->live && rec && *rec) {
        char path[1300];
        snprintf(o->record_dir, sizeof o->record_dir, "%s", rec);
        snprintf(path, sizeof path, "%s/%s.expected", rec, t->name);
        o->record = fopen(path, "w");
        CHECK(t, o->record != NULL, "cannot write %s", path);
        if (o->record && o->kept)
            fprintf(o->record, "# djpeg's answers for tests/engine/test_%s.c, written by "
                               "tests/data/jpeg/regenerate.sh\n# name@fnv-of-file scale "
                               "no_simd whole w h c fnv-pixels fnv-even-rows\n", t->name);
        return o->record ? 0 : -1;
    }
    char path[1300], line[512];
    snprintf(path, sizeof path, "%s/%s.expected", TJ_DATA, t->name);
    FILE *f = fopen(path, "r");
    CHECK(t, f != NULL, "cannot read %s (run the tests from the repository root)", path);
    if (!f) return -1;
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        tj_answer_t a;
        unsigned long long fnv = 0, even = 0;
        memset(&a, 0, sizeof a);
        if (sscanf(line, "%127s %d %d %d %d %d %d %llx %llx", a.key, &a.denom, &a.no_simd,
                   &a.r.ok, &a.r.w, &a.r.h, &a.r.c, &fnv, &even) != 9) {
            CHECK(t, 0, "%s: bad line '%s'", path, line);
            continue;
        }
        a.r.fnv = fnv;
        a.r.fnv_even = even;
        if (o->n == cap) {
            cap = cap ? 2 * cap : 256;
            o->table = realloc(o->table, cap * sizeof *o->table);
        }
        o->table[o->n++] = a;
    }
    fclose(f);
    CHECK(t, o->n > 0, "%s holds no answers", path);
    return o->n > 0 ? 0 : -1;
}

/* Live mode: every kept case must have had a recorded answer equal to
 * djpeg's (else tests/data/jpeg is stale: regenerate.sh). */
static inline void tj_oracle_done(tj_oracle_t *o, test_ctx_t *t) {
    if (!o->live || o->record) return;
    printf("recorded answers in %s: %d confirmed by djpeg, %d missing\n", TJ_DATA, o->confirmed,
           o->missing);
    CHECK(t, o->missing == 0, "%d cases have no recorded answer: run tests/data/jpeg/regenerate.sh",
          o->missing);
}

static inline void tj_oracle_free(tj_oracle_t *o) {
    if (o->record) fclose(o->record);
    free(o->table);
    memset(o, 0, sizeof *o);
}

static inline int tj_copy_file(const char *from, const char *to) {
    size_t n = 0;
    uint8_t *d = test_read_raw(from, &n);
    if (!d) return -1;
    int rc = tj_write_file(to, d, n);
    free(d);
    return rc;
}

/* A cjpeg file: live: `cjpeg ARGS -outfile out ppm` (record mode: kept files
 * are also copied to the record folder as `name`); recorded: TJ_DATA/name
 * copied to `out` when kept. Returns 0 when `out` holds the file, -1 when
 * this case has no source here (recorded mode, not kept) or cjpeg failed. */
static inline int tj_source(tj_oracle_t *o, const char *name, const char *args, const char *ppm,
                            const char *out, int keep) {
    char path[1300];
    o->kept = keep;
    if (!o->live) {
        if (!keep) return -1;
        snprintf(path, sizeof path, "%s/%s", TJ_DATA, name);
        return tj_copy_file(path, out);
    }
    if (test_run("cjpeg %s -outfile '%s' '%s' 2>/dev/null", args, out, ppm) != 0) return -1;
    if (o->record_dir[0] && keep) {
        snprintf(path, sizeof path, "%s/%s", o->record_dir, name);
        if (tj_copy_file(out, path) != 0) return -1;
    }
    return 0;
}

/* The key of a test file: "name@" + FNV-1a of its bytes. */
static inline int tj_key(const char *name, const char *path, char *key, size_t len) {
    size_t n = 0;
    uint8_t *d = test_read_raw(path, &n);
    if (!d) return -1;
    snprintf(key, len, "%s@%016llx", name, (unsigned long long)tj_fnv1a(d, n));
    free(d);
    return 0;
}

/* djpeg's answer for the file at `jpg` (test name `name`, no spaces) at
 * scale 1/denom, SIMD or C IDCT path. Live: runs djpeg (record mode: writes
 * the answer, unless its source was not kept); recorded: looks it up. Returns 0 with *r filled, or -1 (a
 * failed CHECK naming the missing key). Free with tj_ref_free. */
static inline int tj_reference(tj_oracle_t *o, test_ctx_t *t, const char *name, const char *jpg,
                               int denom, int no_simd, tj_ref_t *r) {
    char key[128];
    memset(r, 0, sizeof *r);
    if (tj_key(name, jpg, key, sizeof key) != 0) {
        CHECK(t, 0, "cannot read %s", jpg);
        return -1;
    }
    if (o->live) {
        remove(o->ref_path);
        tj_djpeg(jpg, denom, o->ref_path, no_simd);
        if (tj_read_pnm(o->ref_path, &r->img) == 0) {
            r->ok = 1;
            r->w = r->img.w;
            r->h = r->img.h;
            r->c = r->img.c;
            r->fnv = tj_fnv1a(r->img.px, (size_t)r->w * r->h * r->c);
            r->fnv_even = tj_fnv_even_rows(r->img.px, r->w, r->h, r->c);
        }
        remove(o->ref_path);
        if (!o->record && o->kept) {   /* the recorded answer must agree */
            const tj_answer_t *a = NULL;
            for (size_t i = 0; i < o->n && !a; i++)
                if (o->table[i].denom == denom && o->table[i].no_simd == no_simd &&
                    strcmp(o->table[i].key, key) == 0)
                    a = &o->table[i];
            if (!a) {
                o->missing++;
            } else {
                int same = a->r.ok == r->ok && a->r.w == r->w && a->r.h == r->h &&
                           a->r.c == r->c && a->r.fnv == r->fnv;
                o->confirmed += same;
                CHECK(t, same, "%s 1/%d: the recorded djpeg answer differs from djpeg's", key,
                      denom);
            }
        }
        if (o->record && o->kept)
            fprintf(o->record, "%s %d %d %d %d %d %d %016llx %016llx\n", key, denom, no_simd,
                    r->ok, r->w, r->h, r->c, (unsigned long long)r->fnv,
                    (unsigned long long)r->fnv_even);
        return 0;
    }
    for (size_t i = 0; i < o->n; i++) {
        if (o->table[i].denom == denom && o->table[i].no_simd == no_simd &&
            strcmp(o->table[i].key, key) == 0) {
            *r = o->table[i].r;
            return 0;
        }
    }
    CHECK(t, 0, "no recorded djpeg answer for %s at 1/%d (%s IDCT): the file changed; run "
                "tests/data/jpeg/regenerate.sh", key, denom, no_simd ? "C" : "SIMD");
    return -1;
}

static inline void tj_ref_free(tj_ref_t *r) {
    free(r->img.px);
    r->img.px = NULL;
}

/* 1 if our decode equals djpeg's: byte for byte (live) or by FNV (recorded). */
static inline int tj_ref_same(const tj_ref_t *r, const image_u8_t *a) {
    if (!r->ok || a->width != r->w || a->height != r->h || a->channels != r->c) return 0;
    if (r->img.px) return tj_same(a, &r->img);
    return tj_fnv1a(a->pixels, (size_t)r->w * r->h * r->c) == r->fnv;
}

/* ------------------------------------------------------- a tiny encoder */

typedef struct tj_enc_opts {
    int width, height, ncomp;
    int id[4], h[4], v[4];
    int quality;                /* 1..100 */
    int restart_interval;       /* MCUs, 0 none */
    int jfif;                   /* write a JFIF APP0 */
    int adobe_transform;        /* -1: no Adobe APP14, else its transform byte */
    const uint8_t *exif;        /* APP1 payload ("Exif\0\0" + TIFF) or NULL */
    size_t exif_size;
    int separate_scans;         /* sequential: one scan per component */
    int progressive;            /* DC (Al=1) + DC refine, AC 1..5 (Al=1, never refined), AC 6..63 */
} tj_enc_opts_t;

typedef struct tj_buf {
    uint8_t *p;
    size_t n, cap;
    uint32_t bits;              /* bit writer */
    int nbits;
} tj_buf_t;

static inline void tj_put(tj_buf_t *b, int byte) {
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 4096;
        b->p = realloc(b->p, b->cap);
    }
    b->p[b->n++] = (uint8_t)byte;
}
static inline void tj_put16(tj_buf_t *b, int v) { tj_put(b, v >> 8); tj_put(b, v & 255); }
static inline void tj_bits(tj_buf_t *b, uint32_t code, int len) {
    for (int i = len - 1; i >= 0; i--) {
        b->bits = b->bits << 1 | ((code >> i) & 1);
        if (++b->nbits == 8) {
            tj_put(b, (int)b->bits);
            if (b->bits == 0xFF) tj_put(b, 0);
            b->bits = 0;
            b->nbits = 0;
        }
    }
}
static inline void tj_flush(tj_buf_t *b) {
    while (b->nbits) tj_bits(b, 1, 1);
}

/* Flat Huffman tables: DC symbols 0..11 as 4-bit codes; AC symbols (0x00,
 * EOBn 0x10..0xE0, ZRL 0xF0, run/size r<<4|s for s 1..10) as 8-bit codes. */
typedef struct tj_huff {
    int nsym;
    uint8_t sym[256];
    int code_of[256];           /* -1 if absent */
} tj_huff_t;

static inline void tj_flat_tables(tj_huff_t *dc, tj_huff_t *ac) {
    memset(dc, 0, sizeof *dc);
    memset(ac, 0, sizeof *ac);
    for (int i = 0; i < 256; i++) dc->code_of[i] = ac->code_of[i] = -1;
    for (int s = 0; s < 12; s++) { dc->code_of[s] = dc->nsym; dc->sym[dc->nsym++] = (uint8_t)s; }
    for (int r = 0; r < 16; r++) {
        for (int s = 0; s <= 10; s++) {
            if (s == 0 && r == 15) continue;
            int sym = r << 4 | s;
            ac->code_of[sym] = ac->nsym;
            ac->sym[ac->nsym++] = (uint8_t)sym;
        }
    }
    ac->code_of[0xF0] = ac->nsym;
    ac->sym[ac->nsym++] = 0xF0;
}
static inline void tj_write_dht(tj_buf_t *b, const tj_huff_t *t, int cls_id, int code_len) {
    tj_put(b, 0xFF); tj_put(b, 0xC4);
    tj_put16(b, 2 + 17 + t->nsym);
    tj_put(b, cls_id);
    for (int l = 1; l <= 16; l++) tj_put(b, l == code_len ? t->nsym : 0);
    for (int i = 0; i < t->nsym; i++) tj_put(b, t->sym[i]);
}

static inline int tj_magnitude_bits(int v) {
    int a = v < 0 ? -v : v, n = 0;
    while (a) { n++; a >>= 1; }
    return n;
}
/* value bits: v >= 0 as is; v < 0 as v - 1 in n bits (JPEG's one's complement) */
static inline void tj_put_value(tj_buf_t *b, int v, int n) {
    if (n) tj_bits(b, (uint32_t)(v < 0 ? v - 1 : v) & ((1u << n) - 1), n);
}

static const uint8_t tj_zigzag[64] = {
     0,  1,  8, 16,  9,  2,  3, 10, 17, 24, 32, 25, 18, 11,  4,  5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13,  6,  7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

/* 4096 * cos((2x+1) u pi / 16), from the 8 values of cos(k pi / 16). */
static inline int tj_cos16(int x, int u) {
    static const int base[9] = {4096, 4017, 3784, 3406, 2896, 2276, 1567, 799, 0};
    int m = ((2 * x + 1) * u) % 32;
    if (m <= 8) return base[m];
    if (m <= 16) return -base[16 - m];
    if (m <= 24) return -base[m - 16];
    return base[32 - m];
}

typedef struct tj_comp_data {
    int bw, bh;                 /* blocks, rounded up to whole MCUs */
    int16_t *q;                 /* quantised coefficients, natural order, bw*bh*64 */
} tj_comp_data_t;

/* Encodes planes[i] (full resolution, width*height, already in the JPEG's
 * colour space). Returns a malloc'ed JPEG. */
static inline uint8_t *tj_encode(const tj_enc_opts_t *o, const uint8_t *const planes[4],
                                 size_t *size) {
    int W = o->width, H = o->height, nc = o->ncomp, maxh = 1, maxv = 1;
    for (int i = 0; i < nc; i++) {
        if (o->h[i] > maxh) maxh = o->h[i];
        if (o->v[i] > maxv) maxv = o->v[i];
    }
    int q = o->quality < 1 ? 1 : o->quality > 100 ? 100 : o->quality;
    int scale = q < 50 ? 5000 / q : 200 - 2 * q;
    uint16_t qt[64];
    for (int k = 0; k < 64; k++) {
        int base = 16 + ((k % 8) + (k / 8)) * 6;            /* a smooth made-up base table */
        int v = (base * scale + 50) / 100;
        qt[k] = (uint16_t)(v < 4 ? 4 : v > 255 ? 255 : v);   /* >= 4 keeps AC sizes <= 10 */
    }
    int mcux = (W + 8 * maxh - 1) / (8 * maxh), mcuy = (H + 8 * maxv - 1) / (8 * maxv);
    tj_comp_data_t cd[4];
    for (int i = 0; i < nc; i++) {
        int cw = (W * o->h[i] + maxh - 1) / maxh, ch = (H * o->v[i] + maxv - 1) / maxv;
        int sx = maxh / o->h[i], sy = maxv / o->v[i];
        cd[i].bw = mcux * o->h[i];
        cd[i].bh = mcuy * o->v[i];
        cd[i].q = calloc((size_t)cd[i].bw * cd[i].bh * 64, sizeof(int16_t));
        for (int by = 0; by < cd[i].bh; by++) {
            for (int bx = 0; bx < cd[i].bw; bx++) {
                int s[64];
                int64_t f[64];
                for (int y = 0; y < 8; y++) {
                    for (int x = 0; x < 8; x++) {
                        int px = bx * 8 + x, py = by * 8 + y;
                        if (px >= cw) px = cw - 1;
                        if (py >= ch) py = ch - 1;
                        int sum = 0, cnt = 0;          /* box-downsample from the full plane */
                        for (int yy = py * sy; yy < py * sy + sy && yy < H; yy++)
                            for (int xx = px * sx; xx < px * sx + sx && xx < W; xx++) {
                                sum += planes[i][(size_t)yy * W + xx];
                                cnt++;
                            }
                        s[y * 8 + x] = (cnt ? (sum + cnt / 2) / cnt : 128) - 128;
                    }
                }
                /* integer DCT (bit-reproducible everywhere):
                 * F(u,v) = cu cv / 4 * sum s(x,y) cos((2x+1)u pi/16) cos((2y+1)v pi/16) */
                for (int v = 0; v < 8; v++) {
                    for (int u = 0; u < 8; u++) {
                        int64_t acc = 0;
                        for (int y = 0; y < 8; y++)
                            for (int x = 0; x < 8; x++)
                                acc += (int64_t)s[y * 8 + x] * tj_cos16(x, u) * tj_cos16(y, v);
                        int64_t num = acc * (u ? 4096 : 2896) * (v ? 4096 : 2896);
                        f[v * 8 + u] = num;
                    }
                }
                int16_t *blk = cd[i].q + ((size_t)by * cd[i].bw + bx) * 64;
                for (int k = 0; k < 64; k++) {       /* round(f / (4 * 4096^4 * qt)) */
                    int64_t den = ((int64_t)1 << 50) * qt[k];
                    int64_t a = f[k] < 0 ? -f[k] : f[k], r = (a + den / 2) / den;
                    blk[k] = (int16_t)(f[k] < 0 ? -r : r);
                }
            }
        }
    }

    tj_buf_t b = {0};
    tj_put(&b, 0xFF); tj_put(&b, 0xD8);
    if (o->jfif) {
        static const uint8_t app0[14] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
        tj_put(&b, 0xFF); tj_put(&b, 0xE0); tj_put16(&b, 16);
        for (int k = 0; k < 14; k++) tj_put(&b, app0[k]);
    }
    if (o->exif) {
        tj_put(&b, 0xFF); tj_put(&b, 0xE1); tj_put16(&b, (int)o->exif_size + 2);
        for (size_t k = 0; k < o->exif_size; k++) tj_put(&b, o->exif[k]);
    }
    if (o->adobe_transform >= 0) {
        static const uint8_t app14[11] = {'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0};
        tj_put(&b, 0xFF); tj_put(&b, 0xEE); tj_put16(&b, 14);
        for (int k = 0; k < 11; k++) tj_put(&b, app14[k]);
        tj_put(&b, o->adobe_transform);
    }
    tj_put(&b, 0xFF); tj_put(&b, 0xDB); tj_put16(&b, 67); tj_put(&b, 0);
    for (int k = 0; k < 64; k++) tj_put(&b, qt[tj_zigzag[k]]);
    tj_put(&b, 0xFF); tj_put(&b, o->progressive ? 0xC2 : 0xC0);
    tj_put16(&b, 8 + 3 * nc); tj_put(&b, 8); tj_put16(&b, H); tj_put16(&b, W); tj_put(&b, nc);
    for (int i = 0; i < nc; i++) {
        tj_put(&b, o->id[i]);
        tj_put(&b, o->h[i] << 4 | o->v[i]);
        tj_put(&b, 0);
    }
    tj_huff_t dc, ac;
    tj_flat_tables(&dc, &ac);
    tj_write_dht(&b, &dc, 0x00, 4);
    tj_write_dht(&b, &ac, 0x10, 8);
    if (o->restart_interval) {
        tj_put(&b, 0xFF); tj_put(&b, 0xDD); tj_put16(&b, 4); tj_put16(&b, o->restart_interval);
    }

    /* Scan list: {first component, count, Ss, Se, Ah, Al}. */
    int scans[16][6], nscans = 0;
    if (o->progressive) {
        scans[nscans][0] = 0; scans[nscans][1] = nc; scans[nscans][2] = 0; scans[nscans][3] = 0;
        scans[nscans][4] = 0; scans[nscans][5] = 1; nscans++;
        for (int i = 0; i < nc; i++) {
            int a[6] = {i, 1, 1, 5, 0, 1}, c2[6] = {i, 1, 6, 63, 0, 0};
            memcpy(scans[nscans++], a, sizeof a);
            memcpy(scans[nscans++], c2, sizeof c2);
        }
        int r[6] = {0, nc, 0, 0, 1, 0};
        memcpy(scans[nscans++], r, sizeof r);
    } else if (o->separate_scans) {
        for (int i = 0; i < nc; i++) {
            int a[6] = {i, 1, 0, 63, 0, 0};
            memcpy(scans[nscans++], a, sizeof a);
        }
    } else {
        int a[6] = {0, nc, 0, 63, 0, 0};
        memcpy(scans[nscans++], a, sizeof a);
    }

    for (int sc = 0; sc < nscans; sc++) {
        int c0 = scans[sc][0], n = scans[sc][1], Ss = scans[sc][2], Se = scans[sc][3];
        int Ah = scans[sc][4], Al = scans[sc][5];
        tj_put(&b, 0xFF); tj_put(&b, 0xDA); tj_put16(&b, 6 + 2 * n); tj_put(&b, n);
        for (int i = c0; i < c0 + n; i++) { tj_put(&b, o->id[i]); tj_put(&b, 0x00); }
        tj_put(&b, Ss); tj_put(&b, Se); tj_put(&b, Ah << 4 | Al);
        int pred[4] = {0, 0, 0, 0}, mcus = 0, rst = 0;
        int rows = n > 1 ? mcuy : 0, cols = n > 1 ? mcux : 0;
        if (n == 1) {   /* non-interleaved: the component's real blocks */
            int i = c0;
            cols = (((W * o->h[i] + maxh - 1) / maxh) + 7) / 8;
            rows = (((H * o->v[i] + maxv - 1) / maxv) + 7) / 8;
        }
        for (int my = 0; my < rows; my++) {
            for (int mx = 0; mx < cols; mx++) {
                if (o->restart_interval && mcus && mcus % o->restart_interval == 0) {
                    tj_flush(&b);
                    tj_put(&b, 0xFF); tj_put(&b, 0xD0 + (rst++ & 7));
                    memset(pred, 0, sizeof pred);
                }
                mcus++;
                for (int i = c0; i < c0 + n; i++) {
                    int nh = n > 1 ? o->h[i] : 1, nv = n > 1 ? o->v[i] : 1;
                    for (int y = 0; y < nv; y++) {
                        for (int x = 0; x < nh; x++) {
                            const int16_t *blk =
                                cd[i].q + ((size_t)(my * nv + y) * cd[i].bw + mx * nh + x) * 64;
                            if (Ss == 0 && Ah) {                     /* DC refinement bit */
                                tj_bits(&b, (uint32_t)(blk[0] >> Al) & 1, 1);
                                continue;
                            }
                            if (Ss == 0) { /* DC (point transform: >> Al) */
                                int v = blk[0] >> Al, diff = v - pred[i - c0];
                                pred[i - c0] = v;
                                int nb = tj_magnitude_bits(diff);
                                tj_bits(&b, (uint32_t)dc.code_of[nb], 4);
                                tj_put_value(&b, diff, nb);
                                if (o->progressive) continue;
                            }
                            int k0 = Ss == 0 ? 1 : Ss, k1 = Ss == 0 ? 63 : Se, run = 0;
                            for (int k = k0; k <= k1; k++) {
                                int c = blk[tj_zigzag[k]];
                                int v = c >= 0 ? c >> Al : -((-c) >> Al);
                                if (v == 0) { run++; continue; }
                                while (run >= 16) {
                                    tj_bits(&b, (uint32_t)ac.code_of[0xF0], 8);
                                    run -= 16;
                                }
                                int nb = tj_magnitude_bits(v);
                                tj_bits(&b, (uint32_t)ac.code_of[run << 4 | nb], 8);
                                tj_put_value(&b, v, nb);
                                run = 0;
                            }
                            if (run) tj_bits(&b, (uint32_t)ac.code_of[0x00], 8);   /* EOB */
                        }
                    }
                }
            }
        }
        tj_flush(&b);
    }
    tj_put(&b, 0xFF); tj_put(&b, 0xD9);
    for (int i = 0; i < nc; i++) free(cd[i].q);
    *size = b.n;
    return b.p;
}

#endif

/* test_npy.c — .npy reader and writer.
 *
 * No numpy here, so reference files are written by hand in this test:
 * headers of format 1.0, 2.0 and 3.0 in the styles numpy has used over the
 * years (padding to 16 or 64, growth-axis spaces, double quotes, Python 2
 * long ints). The writer's header is compared byte for byte with what
 * numpy >= 1.24 writes. Then truncations, bad headers, absurd shapes and
 * random damage must give clean errors.
 */
#include "check.h"
#include "npy.h"

#include <stdint.h>

static uint32_t rnd(uint32_t *s) {   /* xorshift32 */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* A .npy file by hand: magic, version, header_len (2 or 4 bytes LE), the
 * header text as given (caller pads), then `data_n` data bytes. */
static size_t make_npy(uint8_t *buf, int major, const char *header, const void *data,
                       size_t data_n) {
    size_t h = strlen(header), n = 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    n = 8;
    buf[n++] = (uint8_t)h;
    buf[n++] = (uint8_t)(h >> 8);
    if (major >= 2) {
        buf[n++] = (uint8_t)(h >> 16);
        buf[n++] = (uint8_t)(h >> 24);
    }
    memcpy(buf + n, header, h);
    n += h;
    memcpy(buf + n, data, data_n);
    return n + data_n;
}

static void test_writer(test_ctx_t *t, uint32_t *seed) {
    char path[2048];
    sal_err_t err = {{0}};

    /* exact header bytes, as numpy >= 1.24 writes them */
    struct { dtype_t dt; int ndim; int64_t shape[8]; const char *dict; int spaces; } hv[] = {
        /* (2, 3): 59 chars + 20 growth spaces (21 - len("2")) + 38 padding:
         * 10 + 59 + 20 + 1 = 90 -> padding 64 - 90 % 64 = 38, total 128 */
        {DT_F32, 2, {2, 3}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 58},
        /* (): 55 chars, no growth spaces; 10 + 56 = 66 -> padding 62 */
        {DT_F64, 0, {0}, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 62},
        /* (5,): 57 chars + 20 growth; 10 + 78 = 88 -> padding 40 */
        {DT_F32, 1, {5}, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 60},
        /* 73 chars + 21 - 12 = 9 growth; 10 + 83 = 93 -> padding 35 */
        {DT_F32, 3, {100000000000LL, 0, 7},
         "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 0, 7), }", 44},
        /* 99 chars + 18 growth: 10 + 118 = 128 is already aligned, and numpy
         * then pads a full 64 (64 - 0), not 0: 18 + 64 spaces, total 192 */
        {DT_F32, 8, {123, 7, 99999, 1000000, 12, 0, 123, 10000000},
         "{'descr': '<f4', 'fortran_order': False, 'shape': (123, 7, 99999, 1000000, 12, 0, 123, 10000000), }", 82},
    };
    for (size_t k = 0; k < sizeof hv / sizeof hv[0]; k++) {
        test_tmp(t, "hdr.npy", path, sizeof path);
        float dummy[35] = {0};
        int rc = npy_save(path, hv[k].dt, hv[k].ndim, hv[k].shape, dummy, &err);
        CHECK(t, rc == 0, "npy_save %zu: %s", k, err.msg);
        size_t n = 0;
        uint8_t *file = test_read_raw(path, &n);
        char want[512];
        size_t dl = strlen(hv[k].dict);
        memcpy(want, hv[k].dict, dl);
        memset(want + dl, ' ', (size_t)hv[k].spaces);
        want[dl + (size_t)hv[k].spaces] = '\n';
        size_t hl = dl + (size_t)hv[k].spaces + 1;
        int ok = file && n >= 10 + hl && memcmp(file, "\x93NUMPY\x01\x00", 8) == 0 &&
                 file[8] == (hl & 255) && file[9] == (hl >> 8) && memcmp(file + 10, want, hl) == 0 &&
                 (10 + hl) % 64 == 0;
        CHECK(t, ok, "header bytes of case %zu (len %zu): '%.*s'", k, hl, file ? (int)(n > 10 ? n - 10 : 0) : 0,
              file ? (const char *)file + 10 : "");
        free(file);
    }

    /* round trips, f32 and f64, many shapes */
    int64_t shapes[][8] = {{0}, {1}, {5}, {2, 3}, {3, 0, 2}, {1, 1, 1, 1, 1, 1, 1, 1}, {17, 9, 3}, {4, 1000}};
    int ndims[] = {0, 1, 1, 2, 3, 8, 3, 2};
    for (int dt_i = 0; dt_i < 2; dt_i++)
        for (size_t s = 0; s < sizeof ndims / sizeof ndims[0]; s++) {
            dtype_t dt = dt_i ? DT_F64 : DT_F32;
            size_t count = 1;
            for (int i = 0; i < ndims[s]; i++) count *= (size_t)shapes[s][i];
            size_t isz = dt == DT_F32 ? 4 : 8;
            uint8_t *data = malloc(count * isz + 1);
            for (size_t i = 0; i < count; i++) {
                double v = ((double)(int32_t)rnd(seed)) / 1e5;
                if (i == 1) v = -0.0;
                if (i == 2) v = 1e300 * (dt == DT_F64);
                if (dt == DT_F32) { float f = (float)v; memcpy(data + 4 * i, &f, 4); }
                else memcpy(data + 8 * i, &v, 8);
            }
            snprintf(path, sizeof path, "%s/rt_%d_%zu.npy", t->tmp, dt_i, s);
            CHECK(t, npy_save(path, dt, ndims[s], shapes[s], data, &err) == 0, "save: %s", err.msg);
            npy_array_t a;
            int rc = npy_load(path, &a, &err);
            int ok = rc == 0 && a.dtype == dt && a.ndim == ndims[s] && a.data &&
                     memcmp(a.data, data, count * isz) == 0;
            for (int i = 0; ok && i < ndims[s]; i++) ok = a.shape[i] == shapes[s][i];
            CHECK(t, ok, "round trip dt %d shape #%zu: %s", dt, s, rc ? err.msg : "data/shape");
            npy_free(&a);
            /* npy_load_f32: float64 rounded to float32 */
            rc = npy_load_f32(path, &a, &err);
            ok = rc == 0 && a.dtype == DT_F32 && a.ndim == ndims[s];
            for (size_t i = 0; ok && i < count; i++) {
                float want;
                if (dt == DT_F32) memcpy(&want, data + 4 * i, 4);
                else { double d; memcpy(&d, data + 8 * i, 8); want = (float)d; }
                float got = ((float *)a.data)[i];
                ok = memcmp(&got, &want, 4) == 0;
            }
            CHECK(t, ok, "npy_load_f32 dt %d shape #%zu: %s", dt, s, rc ? err.msg : "values");
            npy_free(&a);
            free(data);
        }
    /* writer errors */
    int64_t sh[2] = {2, -1};
    CHECK(t, npy_save(path, DT_F32, 2, sh, "", &err) < 0, "negative dim");
    CHECK(t, npy_save(path, DT_I32, 1, sh, "", &err) < 0 && strstr(err.msg, "f32"), "i32: %s", err.msg);
    CHECK(t, npy_save(path, DT_F32, 9, sh, "", &err) < 0, "9 dims");
    CHECK(t, npy_save(test_tmp(t, "no/dir/x.npy", path, sizeof path), DT_F32, 0, sh, "abcd", &err) < 0 &&
                 strncmp(err.msg, path, strlen(path)) == 0, "missing dir: %s", err.msg);
}

/* Parses buf; returns rc, fills err. */
static int parse(const uint8_t *buf, size_t n, npy_array_t *a, sal_err_t *err) {
    uint8_t *copy = malloc(n ? n : 1);   /* exact size: ASan sees over-reads */
    if (n) memcpy(copy, buf, n);
    int rc = npy_parse(copy, n, "a.npy", a, err);
    free(copy);
    return rc;
}

static void test_reader(test_ctx_t *t) {
    uint8_t buf[4096];
    npy_array_t a;
    sal_err_t err = {{0}};
    const float f6[6] = {1, 2, 3, 4.5f, -5, 6e30f};
    const double d3[3] = {0.1, -2e-300, 3};

    /* header styles numpy has written, and versions 2.0 / 3.0 */
    struct { int major; const char *hdr; dtype_t dt; int ndim; int64_t s0, s1; } ok[] = {
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n", DT_F32, 2, 2, 3},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }   \n", DT_F32, 1, 6, 0},
        {1, "{\"shape\": (3, 2), \"fortran_order\": False, \"descr\": \"<f4\"}\n", DT_F32, 2, 3, 2},
        {1, "{'descr':'<f4','fortran_order':False,'shape':(2L,3L)}", DT_F32, 2, 2, 3},
        {2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", DT_F64, 1, 3, 0},
        {3, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }  \n", DT_F64, 2, 1, 3},
        {1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3 , ) , }\n", DT_F64, 1, 3, 0},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        int f64 = ok[k].dt == DT_F64;
        size_t n = make_npy(buf, ok[k].major, ok[k].hdr, f64 ? (const void *)d3 : (const void *)f6,
                            f64 ? sizeof d3 : sizeof f6);
        int rc = parse(buf, n, &a, &err);
        int good = rc == 0 && a.dtype == ok[k].dt && a.ndim == ok[k].ndim && a.shape[0] == ok[k].s0 &&
                   (a.ndim < 2 || a.shape[1] == ok[k].s1) &&
                   memcmp(a.data, f64 ? (const void *)d3 : (const void *)f6, f64 ? sizeof d3 : sizeof f6) == 0;
        CHECK(t, good, "style %zu: %s", k, rc ? err.msg : "wrong result");
        npy_free(&a);
    }
    /* scalar and empty arrays */
    size_t n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", f6, 4);
    CHECK(t, parse(buf, n, &a, &err) == 0 && a.ndim == 0 && ((float *)a.data)[0] == 1.0f, "scalar: %s", err.msg);
    npy_free(&a);
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 0), }\n", f6, 0);
    CHECK(t, parse(buf, n, &a, &err) == 0 && a.ndim == 2 && a.shape[1] == 0 && a.data, "empty: %s", err.msg);
    npy_free(&a);

    /* errors, each with the piece of message that must be there */
    struct { int major; const char *hdr; size_t data_n; const char *want; } bad[] = {
        {1, "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }\n", 24, "unsupported dtype '>f4'"},
        {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }\n", 24, "unsupported dtype '<i4'"},
        {1, "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }\n", 6, "unsupported dtype '|u1'"},
        {1, "{'descr': '<f2', 'fortran_order': False, 'shape': (6,), }\n", 12, "unsupported dtype '<f2'"},
        {1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }\n", 24, "not a simple type"},
        {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24, "fortran_order=True"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }\n", 24, "need (n,)"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }\n", 24, "bad number"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,6), }\n", 24, "more than 8"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }\n", 24, "too large"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n", 24, "bad number"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }\n", 24, "truncated data"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }\n", 24, "4 extra bytes"},
        {1, "{'descr': '<f4', 'fortran_order': False}\n", 24, "missing 'shape'"},
        {1, "{'descr': '<f4', 'shape': (6,)}\n", 24, "missing 'fortran_order'"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}\n", 24, "key 'x'"},
        {1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}\n", 24, "duplicate"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } x\n", 24, "text after"},
        {1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }\n", 24, "True/False"},
        {1, "{'descr': '<f4' 'fortran_order': False, 'shape': (6,), }\n", 24, "expected ',' or '}'"},
        {1, "['descr', '<f4']\n", 24, "not a dict"},
        {1, "{'descr", 24, "key"},
        {1, "{'descr': '<f4", 24, "not a simple type"},
        {1, "", 24, "not a dict"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        n = make_npy(buf, bad[k].major, bad[k].hdr, f6, bad[k].data_n);
        int rc = parse(buf, n, &a, &err);
        CHECK(t, rc < 0 && strncmp(err.msg, "a.npy: ", 7) == 0 && strstr(err.msg, bad[k].want) && !a.data,
              "bad %zu: rc %d msg '%s' (want '%s')", k, rc, err.msg, bad[k].want);
        npy_free(&a);
    }
    /* magic, version, header length */
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", f6, 24);
    buf[1] = 'n';
    CHECK(t, parse(buf, n, &a, &err) < 0 && strstr(err.msg, "bad magic"), "magic: %s", err.msg);
    buf[1] = 'N';
    buf[6] = 4;
    CHECK(t, parse(buf, n, &a, &err) < 0 && strstr(err.msg, "version 4.0"), "v4: %s", err.msg);
    buf[6] = 1;
    buf[7] = 1;
    CHECK(t, parse(buf, n, &a, &err) < 0 && strstr(err.msg, "version 1.1"), "v1.1: %s", err.msg);
    buf[7] = 0;
    buf[8] = 0xff;
    buf[9] = 0xff;
    CHECK(t, parse(buf, n, &a, &err) < 0 && strstr(err.msg, "truncated header"), "hlen: %s", err.msg);
    n = make_npy(buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", f6, 24);
    buf[11] = 0x80;   /* header_len 2^31 + ... in a v2 file */
    CHECK(t, parse(buf, n, &a, &err) < 0 && strstr(err.msg, "truncated header"), "v2 hlen: %s", err.msg);

    /* every truncation of a valid file fails cleanly */
    for (int major = 1; major <= 2; major++) {
        n = make_npy(buf, major, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", d3, 24);
        int clean = 0;
        for (size_t cut = 0; cut < n; cut++) {
            int rc = parse(buf, cut, &a, &err);
            clean += rc < 0 && strncmp(err.msg, "a.npy: ", 7) == 0 && !a.data;
            npy_free(&a);
        }
        CHECK(t, clean == (int)n, "truncations v%d: %d of %zu clean", major, clean, n);
    }
    /* missing file, and a real file through npy_load */
    CHECK(t, npy_load("no/such.npy", &a, &err) < 0 && strncmp(err.msg, "no/such.npy: ", 13) == 0,
          "missing: %s", err.msg);
}

/* random damage to a valid file: success or an error naming the file */
static void test_fuzz(test_ctx_t *t, uint32_t *seed) {
    static const char *hdrs[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n",
    };
    const float data[6] = {1, 2, 3, 4, 5, 6};
    uint8_t base[512], m[512];
    int ok = 0, failed = 0, bad = 0;
    const char alphabet[] = "(),: '\"0123456789{}LTrueFalsdcp<>f48-\n";
    for (int k = 0; k < 4000; k++) {
        int h = k % 3, major = 1 + k % 3 / 2 * 2;   /* versions 1 and 3 */
        size_t n = make_npy(base, major, hdrs[h], data, h == 2 ? 4 : 24);
        memcpy(m, base, n);
        int flips = 1 + (int)(rnd(seed) % 3);
        for (int f = 0; f < flips; f++) {
            size_t at = rnd(seed) % n;
            if (rnd(seed) % 4) at = rnd(seed) % (n < 80 ? n : 80);   /* mostly the header */
            m[at] = (rnd(seed) & 1) ? (uint8_t)alphabet[rnd(seed) % (sizeof alphabet - 1)]
                                     : (uint8_t)rnd(seed);
        }
        if (k % 5 == 0) n = rnd(seed) % n;   /* and some truncated */
        npy_array_t a;
        sal_err_t err;
        memset(&err, 0, sizeof err);
        int rc = parse(m, n, &a, &err);
        if (rc == 0) {
            ok++;
            size_t count = 1;
            for (int i = 0; i < a.ndim; i++) count *= (size_t)a.shape[i];
            if (!a.data || (a.dtype != DT_F32 && a.dtype != DT_F64) || a.ndim > 8 || count > 64) bad++;
        } else {
            failed++;
            if (strncmp(err.msg, "a.npy: ", 7) != 0 || a.data) {
                bad++;
                CHECK(t, 0, "fuzz %d: '%s'", k, err.msg);
            }
        }
        npy_free(&a);
    }
    printf("npy fuzz: %d ok, %d clean errors, %d bad\n", ok, failed, bad);
    CHECK(t, bad == 0 && ok > 50 && failed > 1000, "npy fuzz: %d ok %d failed %d bad", ok, failed, bad);
}

int main(void) {
    test_ctx_t t = test_begin("npy");
    uint32_t seed = 777;
    test_writer(&t, &seed);
    test_reader(&t);
    test_fuzz(&t, &seed);
    return test_end(&t);
}

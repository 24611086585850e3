/* test_torch_storage.c — torch.save containers (zip and legacy), storage
 * dtypes, tensor views, and state-dict conversion.
 *
 * No torch here, so the test writes the files itself, byte by byte, the way
 * torch.save lays them out (see torch_storage.h): a small pickle emitter
 * and a small zip writer (stored + deflated members). Then:
 *  - f16 / bf16 / f64 / f32 storages come back as the right float32 values;
 *    offsets and strides (a transposed view, a strided view sharing a
 *    storage) are honoured; contiguous f32 is returned zero-copy;
 *  - the same tensors through the legacy container give the same values;
 *  - views reaching past their storage, CRC damage, missing members and
 *    truncations are one-line errors;
 *  - G_ema's state dict of tiny.pkl saved as a zip (some storages float64)
 *    and as a legacy file converts to exactly the tensors of tiny.pkl, with
 *    the config inferred from the shapes.
 */
#include <stdint.h>
#include <zlib.h>

#include "blob.h"
#include "check.h"
#include "netload.h"
#include "torch_storage.h"
#include "wc_input.h"

/* ---- pickle emitter and zip writer (on check.h's test_buf_t) ---------- */

static void put_le(test_buf_t *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) test_put1(b, (uint8_t)(v >> (8 * i)));
}
static void pe_str(test_buf_t *b, const char *s) {
    test_put1(b, 'X');
    put_le(b, strlen(s), 4);
    test_put(b, s, strlen(s));
}
static void pe_int(test_buf_t *b, int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
        test_put1(b, 'J');  /* BININT */
        put_le(b, (uint64_t)v, 4);
    } else {
        test_put1(b, 0x8a);  /* LONG1: 8 bytes, two's complement */
        test_put1(b, 8);
        put_le(b, (uint64_t)v, 8);
    }
}
static void pe_global(test_buf_t *b, const char *mod, const char *name) {
    test_put1(b, 'c');
    test_put(b, mod, strlen(mod));
    test_put1(b, '\n');
    test_put(b, name, strlen(name));
    test_put1(b, '\n');
}

typedef struct tdesc {
    const char *cls, *key;
    int64_t storage_numel, offset;
    int ndim;
    int64_t size[4], stride[4];
} tdesc_t;

/* _rebuild_tensor_v2(persid(('storage', cls, key, 'cpu', numel)), offset, size, stride, False, OrderedDict()) */
static void pe_tensor(test_buf_t *b, const tdesc_t *t) {
    pe_global(b, "torch._utils", "_rebuild_tensor_v2");
    test_put1(b, '(');
    test_put1(b, '(');
    pe_str(b, "storage");
    pe_global(b, "torch", t->cls);
    pe_str(b, t->key);
    pe_str(b, "cpu");
    pe_int(b, t->storage_numel);
    test_put1(b, 't');
    test_put1(b, 'Q');
    pe_int(b, t->offset);
    test_put1(b, '(');
    for (int i = 0; i < t->ndim; i++) pe_int(b, t->size[i]);
    test_put1(b, 't');
    test_put1(b, '(');
    for (int i = 0; i < t->ndim; i++) pe_int(b, t->stride[i]);
    test_put1(b, 't');
    test_put1(b, 0x89);
    pe_global(b, "collections", "OrderedDict");
    test_put1(b, ')');
    test_put1(b, 'R');
    test_put1(b, 't');
    test_put1(b, 'R');
}

typedef struct zmember {
    char name[128];
    const uint8_t *data;
    size_t len;
    int deflate;
} zmember_t;

static void zip_write(test_buf_t *z, const zmember_t *m, int n) {
    uint64_t *offs = malloc(sizeof(uint64_t) * (size_t)n);
    uint32_t *crcs = malloc(sizeof(uint32_t) * (size_t)n);
    test_buf_t *comp = calloc((size_t)n, sizeof(test_buf_t));
    for (int i = 0; i < n; i++) {
        crcs[i] = (uint32_t)crc32(0L, m[i].data, (uInt)m[i].len);
        if (m[i].deflate) {
            z_stream s;
            memset(&s, 0, sizeof s);
            deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
            uLong bound = deflateBound(&s, (uLong)m[i].len);
            comp[i].p = malloc(bound);
            s.next_in = (Bytef *)(uintptr_t)m[i].data;
            s.avail_in = (uInt)m[i].len;
            s.next_out = comp[i].p;
            s.avail_out = (uInt)bound;
            deflate(&s, Z_FINISH);
            comp[i].n = s.total_out;
            deflateEnd(&s);
        } else {
            test_put(&comp[i], m[i].data, m[i].len);
        }
        offs[i] = z->n;
        put_le(z, 0x04034b50, 4);
        put_le(z, 20, 2);
        put_le(z, 0, 2);
        put_le(z, m[i].deflate ? 8 : 0, 2);
        put_le(z, 0, 4);
        put_le(z, crcs[i], 4);
        put_le(z, comp[i].n, 4);
        put_le(z, m[i].len, 4);
        put_le(z, strlen(m[i].name), 2);
        put_le(z, 0, 2);
        test_put(z, m[i].name, strlen(m[i].name));
        test_put(z, comp[i].p, comp[i].n);
    }
    uint64_t cd = z->n;
    for (int i = 0; i < n; i++) {
        put_le(z, 0x02014b50, 4);
        put_le(z, 20, 2);
        put_le(z, 20, 2);
        put_le(z, 0, 2);
        put_le(z, m[i].deflate ? 8 : 0, 2);
        put_le(z, 0, 4);
        put_le(z, crcs[i], 4);
        put_le(z, comp[i].n, 4);
        put_le(z, m[i].len, 4);
        put_le(z, strlen(m[i].name), 2);
        put_le(z, 0, 2);
        put_le(z, 0, 2);
        put_le(z, 0, 2);
        put_le(z, 0, 2);
        put_le(z, 0, 4);
        put_le(z, offs[i], 4);
        test_put(z, m[i].name, strlen(m[i].name));
        free(comp[i].p);
    }
    uint64_t cd_size = z->n - cd;
    put_le(z, 0x06054b50, 4);
    put_le(z, 0, 4);
    put_le(z, (uint64_t)n, 2);
    put_le(z, (uint64_t)n, 2);
    put_le(z, cd_size, 4);
    put_le(z, cd, 4);
    put_le(z, 0, 2);
    free(offs);
    free(crcs);
    free(comp);
}

/* Legacy container: magic, 1001, sys info, the object, the key list, then
 * per key: int64 count + raw data. */
static void legacy_write(test_buf_t *out, const test_buf_t *object_pickle, const char **keys, const test_buf_t *data,
                         const int64_t *counts, int n) {
    static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
    test_put(out, magic, sizeof magic);
    test_put(out, "\x80\x02M\xe9\x03.", 6);
    test_put(out, "\x80\x02}(", 4);
    pe_str(out, "protocol_version");
    test_put(out, "M\xe9\x03", 3);
    pe_str(out, "little_endian");
    test_put1(out, 0x88);
    test_put(out, "u.", 2);
    test_put(out, object_pickle->p, object_pickle->n);
    test_put(out, "\x80\x02](", 4);
    for (int i = 0; i < n; i++) pe_str(out, keys[i]);
    test_put(out, "e.", 2);
    for (int i = 0; i < n; i++) {
        put_le(out, (uint64_t)counts[i], 8);
        test_put(out, data[i].p, data[i].n);
    }
}

/* ---- dtype / stride unit test ----------------------------------------- */

static const pk_global_t TG[] = {
    {"collections", "OrderedDict", PK_G_DICT},
    {"torch._utils", "_rebuild_tensor_v2", PK_G_OBJECT},
};

static const tdesc_t TD[] = {
    {"HalfStorage", "0", 6, 0, 2, {2, 3}, {3, 1}},
    {"FloatStorage", "1", 8, 1, 2, {2, 2}, {1, 3}},   /* transposed view, offset 1 */
    {"BFloat16Storage", "2", 2, 0, 1, {2}, {1}},
    {"DoubleStorage", "3", 2, 1, 0, {0}, {0}},          /* 0-d at offset 1 */
    {"FloatStorage", "1", 8, 0, 1, {4}, {2}},          /* shares storage 1 */
    {"FloatStorage", "1", 8, 0, 1, {8}, {1}},          /* contiguous: zero-copy */
};
#define NT ((int)(sizeof TD / sizeof TD[0]))
static const float WANT[NT][8] = {
    {0, 1, -2, 0.5f, 65504, -0.25f}, {1, 4, 2, 5}, {1, -3}, {2.5f}, {0, 2, 4, 6}, {0, 1, 2, 3, 4, 5, 6, 7},
};
static const int WANT_N[NT] = {6, 4, 2, 1, 4, 8};

static void storage_bytes(test_buf_t *d) {  /* keys 0..3 */
    static const uint16_t h[6] = {0x0000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0xb400};
    test_put(&d[0], h, sizeof h);
    for (int i = 0; i < 8; i++) { float f = (float)i; test_put(&d[1], &f, 4); }
    static const uint16_t bf[2] = {0x3f80, 0xc040};
    test_put(&d[2], bf, sizeof bf);
    double v[2] = {0.1, 2.5};
    test_put(&d[3], v, sizeof v);
}

static void object_pickle(test_buf_t *o, const tdesc_t *td, int n) {
    test_put(o, "\x80\x02", 2);
    pe_global(o, "collections", "OrderedDict");
    test_put1(o, ')');
    test_put1(o, 'R');
    test_put1(o, '(');
    for (int i = 0; i < n; i++) {
        char k[16];
        snprintf(k, sizeof k, "t%d", i);
        pe_str(o, k);
        pe_tensor(o, &td[i]);
    }
    test_put(o, "u.", 2);
}

static void check_archive_values(test_ctx_t *t, const char *what, const uint8_t *file, size_t n) {
    ts_archive_t a;
    sal_err_t err;
    int rc = ts_archive_open(&a, file, n, "t.pt", TG, 2, &err);
    CHECK(t, rc == 0, "%s: open: %s", what, err.msg);
    if (rc) return;
    CHECK(t, a.root && a.root->type == PK_DICT && a.root->n == (size_t)NT, "%s: root dict", what);
    for (int i = 0; i < NT && a.root->type == PK_DICT && a.root->n == (size_t)NT; i++) {
        ts_tensor_t tt;
        const void *data = NULL;
        float *owned = NULL;
        rc = ts_tensor_from_node(&a, a.root->items[2 * i + 1], "t.pt", "t", &tt, &err) ||
             ts_tensor_to_f32(&tt, "t.pt", "t", &data, &owned, &err);
        CHECK(t, rc == 0, "%s: tensor %d: %s", what, i, err.msg);
        if (rc) continue;
        CHECK(t, ts_tensor_numel(&tt) == WANT_N[i], "%s: tensor %d numel %lld", what, i, (long long)ts_tensor_numel(&tt));
        float got[8] = {0};
        memcpy(got, data, sizeof(float) * (size_t)WANT_N[i]);
        int same = 1;
        for (int k = 0; k < WANT_N[i]; k++) same &= got[k] == WANT[i][k];
        CHECK(t, same, "%s: tensor %d values %g %g %g %g", what, i, got[0], got[1], got[2], got[3]);
        if (i == NT - 1) CHECK(t, owned == NULL, "%s: contiguous float32 should be zero-copy", what);
        if (i == 1) CHECK(t, owned != NULL, "%s: a strided view needs a copy", what);
        free(owned);
    }
    ts_archive_close(&a);
}

static void test_containers(test_ctx_t *t) {
    test_buf_t d[4] = {{0}}, obj = {0}, zip = {0}, leg = {0};
    storage_bytes(d);
    object_pickle(&obj, TD, NT);
    zmember_t m[6];
    memset(m, 0, sizeof m);
    snprintf(m[0].name, sizeof m[0].name, "archive/data.pkl");
    m[0].data = obj.p;
    m[0].len = obj.n;
    for (int i = 0; i < 4; i++) {
        snprintf(m[1 + i].name, sizeof m[1 + i].name, "archive/data/%d", i);
        m[1 + i].data = d[i].p;
        m[1 + i].len = d[i].n;
        m[1 + i].deflate = i == 0;
    }
    snprintf(m[5].name, sizeof m[5].name, "archive/version");
    m[5].data = (const uint8_t *)"3\n";
    m[5].len = 2;
    zip_write(&zip, m, 6);
    check_archive_values(t, "zip", zip.p, zip.n);

    const char *keys[4] = {"0", "1", "2", "3"};
    int64_t counts[4] = {6, 8, 2, 2};
    legacy_write(&leg, &obj, keys, d, counts, 4);
    check_archive_values(t, "legacy", leg.p, leg.n);

    /* corruptions: one-line errors */
    ts_archive_t a;
    sal_err_t err;
    int ok = 0, total = 0;
    for (size_t cut = 0; cut < zip.n; cut += 7) {
        int rc = ts_archive_open(&a, zip.p, cut, "t.pt", TG, 2, &err);
        total++;
        ok += rc < 0 && !strchr(err.msg, '\n') && !strncmp(err.msg, "t.pt: ", 6);
    }
    CHECK(t, ok == total, "truncated zip: %d of %d one-line errors", ok, total);
    ok = total = 0;
    for (size_t cut = 0; cut < leg.n; cut += 5) {
        int rc = ts_archive_open(&a, leg.p, cut, "t.pt", TG, 2, &err);
        total++;
        ok += rc < 0 && !strchr(err.msg, '\n') && !strncmp(err.msg, "t.pt: ", 6);
    }
    CHECK(t, ok == total, "truncated legacy file: %d of %d one-line errors", ok, total);
    uint8_t *z2 = malloc(zip.n);
    memcpy(z2, zip.p, zip.n);
    z2[zip.n / 2] ^= 0x10;  /* inside some member: CRC or structure */
    CHECK(t, ts_archive_open(&a, z2, zip.n, "t.pt", TG, 2, &err) < 0, "flipped zip should fail");
    free(z2);
    /* a view reaching past its storage */
    tdesc_t over = {"FloatStorage", "1", 8, 0, 2, {3, 3}, {3, 1}};
    test_buf_t o2 = {0}, z3 = {0};
    object_pickle(&o2, &over, 1);
    m[0].data = o2.p;
    m[0].len = o2.n;
    zip_write(&z3, m, 6);
    int rc = ts_archive_open(&a, z3.p, z3.n, "t.pt", TG, 2, &err);
    CHECK(t, rc == 0, "open over-view zip: %s", err.msg);
    if (!rc) {
        ts_tensor_t tt;
        rc = ts_tensor_from_node(&a, a.root->items[1], "t.pt", "t0", &tt, &err);
        CHECK(t, rc < 0 && strstr(err.msg, "reaches element 8 of a 8-element storage"), "over-view: %s", err.msg);
        ts_archive_close(&a);
    }
    /* missing storage member */
    z3.n = 0;
    zip_write(&z3, m, 2);
    rc = ts_archive_open(&a, z3.p, z3.n, "t.pt", TG, 2, &err);
    CHECK(t, rc < 0 && strstr(err.msg, "storage member 'archive/data/"), "missing member: %s", err.msg);
    for (int i = 0; i < 4; i++) free(d[i].p);
    free(obj.p);
    free(zip.p);
    free(leg.p);
    free(o2.p);
    free(z3.p);
}

/* ---- state dict of tiny.pkl's G_ema ------------------------------------ */

static void test_state_dict(test_ctx_t *t) {
    char path[4096];
    blob_t *ref = NULL;
    sal_err_t err;
    int rc = netload_open(test_shared(t, "fixtures/stylegan2/tiny/tiny.pkl", path, sizeof path), &ref, &err);
    CHECK(t, rc == 1, "tiny.pkl: %s", err.msg);
    if (rc != 1) return;
    int n = blob_tensor_count(ref);
    test_buf_t obj = {0}, zip = {0}, leg = {0};
    test_buf_t *data = calloc((size_t)n, sizeof(test_buf_t));
    zmember_t *m = calloc((size_t)n + 1, sizeof(zmember_t));
    const char **keys = calloc((size_t)n, sizeof(char *));
    int64_t *counts = calloc((size_t)n, sizeof(int64_t));
    char (*keybuf)[16] = calloc((size_t)n, 16);
    test_put(&obj, "\x80\x02}", 3);
    pe_str(&obj, "G_ema");
    pe_global(&obj, "collections", "OrderedDict");
    test_put(&obj, ")R(", 3);
    for (int i = 0; i < n; i++) {
        const blob_tensor_t *bt = blob_tensor_at(ref, i);
        int64_t numel = tensor_numel(&bt->t);
        const float *v = bt->t.data;
        int as_f64 = i % 2;  /* every other storage as float64 */
        for (int64_t k = 0; k < numel; k++) {
            if (as_f64) { double x = v[k]; test_put(&data[i], &x, 8); }
            else test_put(&data[i], &v[k], 4);
        }
        snprintf(keybuf[i], 16, "%d", 1000 + i);
        keys[i] = keybuf[i];
        counts[i] = numel;
        tdesc_t td = {as_f64 ? "DoubleStorage" : "FloatStorage", keybuf[i], numel, 0, bt->t.ndim, {0}, {0}};
        int64_t st = 1;
        for (int d = bt->t.ndim - 1; d >= 0; d--) {
            td.size[d] = bt->t.shape[d];
            td.stride[d] = st;
            st *= bt->t.shape[d];
        }
        pe_str(&obj, bt->name);
        pe_tensor(&obj, &td);
        snprintf(m[i + 1].name, sizeof m[i + 1].name, "tiny_sd/data/%s", keybuf[i]);
        m[i + 1].data = data[i].p;
        m[i + 1].len = data[i].n;
    }
    test_put(&obj, "us.", 3);
    snprintf(m[0].name, sizeof m[0].name, "tiny_sd/data.pkl");
    m[0].data = obj.p;
    m[0].len = obj.n;
    zip_write(&zip, m, n + 1);
    legacy_write(&leg, &obj, keys, data, counts, n);

    const test_buf_t *files[2] = {&zip, &leg};
    for (int f = 0; f < 2; f++) {
        wc_input_t in;
        blob_writer_t *w = blob_writer_new();
        void *img = NULL;
        size_t sz = 0;
        blob_t *b = NULL;
        rc = wc_input_from_memory(&in, files[f]->p, files[f]->n, f ? "tiny_sd_legacy.pt" : "tiny_sd.pt", &err) ||
             netload_convert(&in, NULL, w, &err) || blob_writer_to_memory(w, &img, &sz, &err) ||
             blob_open_memory(&b, img, sz, 1, "sd", 1, &err);
        blob_writer_free(w);
        wc_input_close(&in);
        CHECK(t, rc == 0, "state dict (%s): %s", f ? "legacy" : "zip", err.msg);
        if (rc) continue;
        int same = blob_tensor_count(b) == n;
        for (int i = 0; same && i < n; i++) {
            const blob_tensor_t *x = blob_tensor_at(b, i), *y = blob_tensor_at(ref, i);
            same = !strcmp(x->name, y->name) && x->nbytes == y->nbytes && !memcmp(x->t.data, y->t.data, x->nbytes);
        }
        CHECK(t, same, "state dict (%s): tensors differ from tiny.pkl's", f ? "legacy" : "zip");
        int64_t v;
        const char *keys_i[] = {"z_dim", "w_dim", "c_dim", "img_resolution", "num_ws", "mapping_layers", "img_channels"};
        const int64_t want[] = {64, 64, 0, 32, 8, 8, 3};
        for (int k = 0; k < 7; k++)
            CHECK(t, blob_get_int(b, keys_i[k], &v, &err) == 0 && v == want[k], "state dict: %s = %lld", keys_i[k],
                  (long long)v);
        CHECK(t, blob_meta_find(b, "config_assumed") != NULL, "state dict: config_assumed noted");
        blob_close(b);
    }
    for (int i = 0; i < n; i++) free(data[i].p);
    free(data);
    free(m);
    free(keys);
    free(counts);
    free(keybuf);
    free(obj.p);
    free(zip.p);
    free(leg.p);
    blob_close(ref);
}

/* ---- hostile extents and bombs ----------------------------------------- */

/* A zip "archive/data.pkl" + "archive/data/1" (8 float32 = 0..7) whose
 * object is {t0: tensor td}. storage_deflate: the storage member is
 * deflated (its bytes = `storage`, len `storage_len`). */
static void hostile_zip(test_buf_t *zip, const tdesc_t *td, int n, const uint8_t *storage, size_t storage_len,
                        int storage_deflate) {
    test_buf_t obj = {0};
    object_pickle(&obj, td, n);
    zmember_t m[2];
    memset(m, 0, sizeof m);
    snprintf(m[0].name, sizeof m[0].name, "archive/data.pkl");
    m[0].data = obj.p;
    m[0].len = obj.n;
    snprintf(m[1].name, sizeof m[1].name, "archive/data/1");
    m[1].data = storage;
    m[1].len = storage_len;
    m[1].deflate = storage_deflate;
    zip_write(zip, m, 2);
    free(obj.p);
}

/* Opens a zip and interprets tensor 0; returns its rc and the message. */
static int first_tensor(const test_buf_t *zip, ts_tensor_t *tt, sal_err_t *err) {
    ts_archive_t a;
    if (ts_archive_open(&a, zip->p, zip->n, "t.pt", TG, 2, err)) return -2;
    int rc = ts_tensor_from_node(&a, a.root->items[1], "t.pt", "t0", tt, err);
    ts_archive_close(&a);
    return rc;
}

/* Offsets near 2^62 and huge strides once wrapped the extent arithmetic:
 * offset 2^62+1, size 3, stride 0x6000000000000000 addresses
 * 2^62+1, 2^63+2^62-2^61+1 and (2^64 + 1) mod 2^64 = 1, so only the last
 * position looked inside the 8-element storage. Each must be refused
 * before any byte is read (ts_tensor_to_f32 is not even reached). */
static void test_wraparound(test_ctx_t *t) {
    float st[8];
    for (int i = 0; i < 8; i++) st[i] = (float)i;
    const int64_t big = (int64_t)1 << 62;
    static const struct {
        const char *what;
        int64_t offset;
        int ndim;
        int64_t size[2], stride[2];
        const char *msg;
    } CASES[] = {
        {"wrap to element 1", ((int64_t)1 << 62) + 1, 1, {3}, {0x6000000000000000}, "storage offset"},
        {"wrap with offset 0", 0, 2, {3, 3}, {0x7fffffffffffffff, 0x7fffffffffffffff}, "out of range"},
        {"huge stride, small sizes", 1, 2, {3, 2}, {0x5555555555555556, 1}, "reaches element 12297829382473034414"},
        {"offset at the end", 8, 1, {1}, {1}, "at or past the end"},
        {"empty tensor past the end", 9, 1, {0}, {1}, "past the end"},
        {"2^62 elements", 0, 2, {(int64_t)1 << 31, (int64_t)1 << 31}, {0, 0}, "too large"},
    };
    (void)big;
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        tdesc_t td = {"FloatStorage", "1", 8, CASES[c].offset, CASES[c].ndim, {0}, {0}};
        for (int d = 0; d < CASES[c].ndim; d++) {
            td.size[d] = CASES[c].size[d];
            td.stride[d] = CASES[c].stride[d];
        }
        test_buf_t zip = {0};
        hostile_zip(&zip, &td, 1, (const uint8_t *)st, sizeof st, 0);
        ts_tensor_t tt;
        sal_err_t err;
        err.msg[0] = 0;
        int rc = first_tensor(&zip, &tt, &err);
        CHECK(t, rc == -1 && strstr(err.msg, CASES[c].msg) && !strncmp(err.msg, "t.pt: t0: ", 10),
              "%s: rc %d, '%s'", CASES[c].what, rc, err.msg);
        free(zip.p);
    }
    /* an empty tensor exactly at the end is fine (torch writes those) */
    tdesc_t ok = {"FloatStorage", "1", 8, 8, 1, {0}, {1}};
    test_buf_t zip = {0};
    hostile_zip(&zip, &ok, 1, (const uint8_t *)st, sizeof st, 0);
    ts_tensor_t tt;
    sal_err_t err;
    CHECK(t, first_tensor(&zip, &tt, &err) == 0, "empty tensor at the end: %s", err.msg);
    free(zip.p);

    /* the same wrap through torch.storage._load_from_bytes, the form of
     * NVIDIA's network pickles: a legacy container inside BINBYTES */
    test_buf_t inner_obj = {0}, inner = {0}, outer = {0};
    test_put(&inner_obj, "\x80\x02(", 3);
    pe_str(&inner_obj, "storage");
    pe_global(&inner_obj, "torch", "FloatStorage");
    pe_str(&inner_obj, "1");
    pe_str(&inner_obj, "cpu");
    pe_int(&inner_obj, 8);
    test_put(&inner_obj, "tQ.", 3);
    const char *keys[1] = {"1"};
    test_buf_t data[1] = {{0}};
    test_put(&data[0], st, sizeof st);
    int64_t counts[1] = {8};
    legacy_write(&inner, &inner_obj, keys, data, counts, 1);
    test_put(&outer, "\x80\x03", 2);
    pe_global(&outer, "torch._utils", "_rebuild_tensor_v2");
    test_put1(&outer, '(');
    pe_global(&outer, "torch.storage", "_load_from_bytes");
    test_put1(&outer, '(');
    test_put1(&outer, 'B');
    put_le(&outer, inner.n, 4);
    test_put(&outer, inner.p, inner.n);
    test_put(&outer, "tR", 2);
    pe_int(&outer, big + 1);
    test_put(&outer, "(J\x03\x00\x00\x00t(", 8);
    pe_int(&outer, 0x6000000000000000);
    test_put1(&outer, 't');
    test_put(&outer, "\x89)tR.", 5);
    static const pk_global_t LG[] = {
        {"torch._utils", "_rebuild_tensor_v2", PK_G_OBJECT},
        {"torch.storage", "_load_from_bytes", PK_G_OBJECT},
    };
    ts_archive_t a;
    int rc = ts_archive_open_pickle(&a, outer.p, outer.n, "n.pkl", LG, 2, &err);
    CHECK(t, rc == 0, "_load_from_bytes pickle: %s", err.msg);
    if (!rc) {
        rc = ts_tensor_from_node(&a, a.root, "n.pkl", "w", &tt, &err);
        CHECK(t, rc == -1 && strstr(err.msg, "storage offset"), "_load_from_bytes wrap: rc %d '%s'", rc, err.msg);
        ts_archive_close(&a);
    }
    /* ... and with a sane offset the same pickle reads the right values */
    outer.n = 0;
    test_put(&outer, "\x80\x03", 2);
    pe_global(&outer, "torch._utils", "_rebuild_tensor_v2");
    test_put1(&outer, '(');
    pe_global(&outer, "torch.storage", "_load_from_bytes");
    test_put1(&outer, '(');
    test_put1(&outer, 'B');
    put_le(&outer, inner.n, 4);
    test_put(&outer, inner.p, inner.n);
    static const char TAIL[] = "tRJ\x01\x00\x00\x00(J\x03\x00\x00\x00t(J\x02\x00\x00\x00t\x89)tR.";
    test_put(&outer, TAIL, sizeof TAIL - 1);  /* offset 1, size (3,), stride (2,) */
    rc = ts_archive_open_pickle(&a, outer.p, outer.n, "n.pkl", LG, 2, &err);
    if (!rc) {
        const void *v = NULL;
        float *owned = NULL;
        rc = ts_tensor_from_node(&a, a.root, "n.pkl", "w", &tt, &err) ||
             ts_tensor_to_f32(&tt, "n.pkl", "w", &v, &owned, &err);
        CHECK(t, rc == 0 && ((const float *)v)[0] == 1 && ((const float *)v)[1] == 3 && ((const float *)v)[2] == 5,
              "_load_from_bytes strided view: %s", rc ? err.msg : "wrong values");
        free(owned);
        ts_archive_close(&a);
    } else {
        CHECK(t, 0, "_load_from_bytes pickle: %s", err.msg);
    }
    free(inner_obj.p);
    free(inner.p);
    free(outer.p);
    free(data[0].p);
}

/* Stride-0 views and deflate bombs: small files may not expand into
 * gigabytes (limits in torch_storage.h). */
static void test_bombs(test_ctx_t *t) {
    float st[8] = {3, 1, 4, 1, 5, 9, 2, 6};
    ts_tensor_t tt;
    sal_err_t err;
    /* 2^26 copies of element 0: a 256 MiB tensor from 32 bytes */
    tdesc_t bomb = {"FloatStorage", "1", 8, 0, 1, {(int64_t)1 << 26}, {0}};
    test_buf_t zip = {0};
    hostile_zip(&zip, &bomb, 1, (const uint8_t *)st, sizeof st, 0);
    int rc = first_tensor(&zip, &tt, &err);
    CHECK(t, rc == -1 && strstr(err.msg, "expands a 8-element storage"), "stride-0 bomb: rc %d '%s'", rc, err.msg);
    /* a tiny broadcast is allowed and reads storage[2] everywhere */
    tdesc_t small = {"FloatStorage", "1", 8, 2, 2, {100, 30}, {0, 0}};
    zip.n = 0;
    hostile_zip(&zip, &small, 1, (const uint8_t *)st, sizeof st, 0);
    rc = first_tensor(&zip, &tt, &err);
    CHECK(t, rc == 0, "small broadcast: %s", err.msg);
    if (!rc) {  /* the archive is closed: re-open to read values */
        ts_archive_t a;
        const void *v = NULL;
        float *owned = NULL;
        rc = ts_archive_open(&a, zip.p, zip.n, "t.pt", TG, 2, &err) ||
             ts_tensor_from_node(&a, a.root->items[1], "t.pt", "t0", &tt, &err) ||
             ts_tensor_to_f32(&tt, "t.pt", "t0", &v, &owned, &err);
        int all = rc == 0;
        for (int i = 0; all && i < 3000; i++) all = ((const float *)v)[i] == 4.0f;
        CHECK(t, all, "small broadcast values: %s", rc ? err.msg : "not all storage[2]");
        free(owned);
        if (!rc) ts_archive_close(&a);
    }
    /* exactly TS_MAX_EXPANSION times a storage above the tiny size: ok; one more element: refused */
    size_t n_big = (size_t)TS_TINY_TENSOR_NUMEL;
    float *big = calloc(n_big, sizeof(float));
    tdesc_t four = {"FloatStorage", "1", (int64_t)n_big, 0, 2, {TS_MAX_EXPANSION, (int64_t)n_big}, {0, 1}};
    zip.n = 0;
    hostile_zip(&zip, &four, 1, (const uint8_t *)big, n_big * sizeof(float), 0);
    CHECK(t, first_tensor(&zip, &tt, &err) == 0, "4x expansion: %s", err.msg);
    four.ndim = 1;
    four.size[0] = TS_MAX_EXPANSION * (int64_t)n_big + 1;
    four.stride[0] = 0;
    zip.n = 0;
    hostile_zip(&zip, &four, 1, (const uint8_t *)big, n_big * sizeof(float), 0);
    rc = first_tensor(&zip, &tt, &err);
    CHECK(t, rc == -1 && strstr(err.msg, "expands"), "4x+1 expansion: rc %d '%s'", rc, err.msg);
    free(big);

    /* deflate bomb: 4 MiB of zeros deflate to ~4 KiB; the archive may
     * inflate to at most TS_MAX_INFLATE_RATIO times its own size */
    size_t n_zero = (size_t)4 << 20;
    uint8_t *zeros = calloc(n_zero, 1);
    tdesc_t one = {"FloatStorage", "1", (int64_t)(n_zero / 4), 0, 1, {4}, {1}};
    zip.n = 0;
    hostile_zip(&zip, &one, 1, zeros, n_zero, 1);
    ts_archive_t a;
    rc = ts_archive_open(&a, zip.p, zip.n, "t.pt", TG, 2, &err);
    CHECK(t, rc == -1 && strstr(err.msg, "zip bomb") && zip.n * TS_MAX_INFLATE_RATIO < n_zero,
          "deflate bomb (%zu bytes): rc %d '%s'", zip.n, rc, err.msg);
    if (!rc) ts_archive_close(&a);
    /* 64 KiB of incompressible data, deflated, is fine */
    test_rng_t rng = {42};
    for (size_t i = 0; i < 65536 / 4; i++) ((float *)zeros)[i] = test_rand(&rng);
    one.storage_numel = 16384;
    zip.n = 0;
    hostile_zip(&zip, &one, 1, zeros, 65536, 1);
    rc = ts_archive_open(&a, zip.p, zip.n, "t.pt", TG, 2, &err);
    CHECK(t, rc == 0 && a.inflated == 65536, "64 KiB deflated storage: %s", err.msg);
    if (!rc) ts_archive_close(&a);
    free(zeros);
    free(zip.p);
}

/* A state dict whose tensors are all stride-0 views of one 1-element
 * storage: each stays under the per-tensor limit, the sum is refused
 * once it passes what the file could plausibly hold. */
static void test_network_cap(test_ctx_t *t) {
    enum { N = 200 };
    test_buf_t obj = {0}, zip = {0};
    float one = 1.0f;
    test_put(&obj, "\x80\x02", 2);
    pe_global(&obj, "collections", "OrderedDict");
    test_put(&obj, ")R(", 3);
    for (int i = 0; i < N; i++) {
        char k[64];
        snprintf(k, sizeof k, i == 0 ? "mapping.fc0.weight" : i == 1 ? "mapping.w_avg" : "t%d", i);
        tdesc_t td = {"FloatStorage", "0", 1, 0, 1, {(int64_t)TS_TINY_TENSOR_NUMEL}, {0}};
        pe_str(&obj, k);
        pe_tensor(&obj, &td);
    }
    test_put(&obj, "u.", 2);
    zmember_t m[2];
    memset(m, 0, sizeof m);
    snprintf(m[0].name, sizeof m[0].name, "sd/data.pkl");
    m[0].data = obj.p;
    m[0].len = obj.n;
    snprintf(m[1].name, sizeof m[1].name, "sd/data/0");
    m[1].data = (const uint8_t *)&one;
    m[1].len = 4;
    zip_write(&zip, m, 2);
    wc_input_t in;
    sal_err_t err;
    blob_writer_t *w = blob_writer_new();
    int rc = wc_input_from_memory(&in, zip.p, zip.n, "views.pt", &err) || netload_convert(&in, NULL, w, &err);
    CHECK(t, rc && strstr(err.msg, "views.pt: tensors reach") && strstr(err.msg, "limit 16 MiB"),
          "repeated views (%zu-byte file, %d x 256 KiB): '%s'", zip.n, N, err.msg);
    blob_writer_free(w);
    wc_input_close(&in);
    free(obj.p);
    free(zip.p);
}

/* Many storages: each lookup of a member is a binary search (a linear scan
 * per storage was quadratic); every tensor still finds its own data. A
 * member name given twice is refused (lookups would be ambiguous). */
static void test_many_members(test_ctx_t *t) {
    enum { N = 4000 };
    tdesc_t *td = calloc(N, sizeof *td);
    char (*keys)[16] = calloc(N, 16);
    float *vals = malloc(sizeof(float) * N);
    zmember_t *m = calloc(N + 1, sizeof *m);
    test_buf_t obj = {0}, zip = {0};
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], 16, "%d", (i * 7919) % N);  /* not in member order */
        vals[i] = (float)i + 0.5f;
        td[i] = (tdesc_t){"FloatStorage", keys[i], 1, 0, 1, {1}, {1}};
        snprintf(m[i + 1].name, sizeof m[i + 1].name, "archive/data/%s", keys[i]);
        m[i + 1].data = (const uint8_t *)&vals[i];
        m[i + 1].len = 4;
    }
    object_pickle(&obj, td, N);
    snprintf(m[0].name, sizeof m[0].name, "archive/data.pkl");
    m[0].data = obj.p;
    m[0].len = obj.n;
    zip_write(&zip, m, N + 1);
    ts_archive_t a;
    sal_err_t err;
    int rc = ts_archive_open(&a, zip.p, zip.n, "many.pt", TG, 2, &err);
    CHECK(t, rc == 0 && a.n_entries == N, "%d storages: %s", N, err.msg);
    if (!rc) {
        int same = 1;
        for (int i = 0; i < N && same; i++) {
            ts_tensor_t tt;
            const void *v = NULL;
            float *owned = NULL;
            float got = 0;  /* zip members are not aligned: copy, do not dereference */
            same = ts_tensor_from_node(&a, a.root->items[2 * i + 1], "many.pt", "t", &tt, &err) == 0 &&
                   ts_tensor_to_f32(&tt, "many.pt", "t", &v, &owned, &err) == 0 && (memcpy(&got, v, 4), got == vals[i]);
            free(owned);
        }
        CHECK(t, same, "%d storages: every tensor reads its own value (%s)", N, err.msg);
        ts_archive_close(&a);
    }
    /* the same member twice */
    zip.n = 0;
    m[2] = m[1];
    zip_write(&zip, m, 3);
    rc = ts_archive_open(&a, zip.p, zip.n, "dup.pt", TG, 2, &err);
    CHECK(t, rc < 0 && strstr(err.msg, "dup.pt: zip member 'archive/data/") && strstr(err.msg, "appears twice"),
          "duplicate member: '%s'", err.msg);
    free(td);
    free(keys);
    free(vals);
    free(m);
    free(obj.p);
    free(zip.p);
}

/* A network pickle whose generator module has `n_attrs` junk attributes:
 * module dicts are searched linearly on every visit (up to 4096 visits of
 * shared modules), so their size is capped. */
static int module_with_attrs(int n_attrs, sal_err_t *err) {
    test_buf_t b = {0};
    test_put(&b, "\x80\x02}(", 4);
    pe_str(&b, "G_ema");
    pe_global(&b, "torch_utils.persistence", "_reconstruct_persistent_obj");
    test_put(&b, "}(", 2);
    pe_str(&b, "class_name");
    pe_str(&b, "training.networks.Generator");
    pe_str(&b, "state");
    test_put(&b, "}(", 2);
    for (int i = 0; i < n_attrs; i++) {
        char k[16];
        snprintf(k, sizeof k, "a%d", i);
        pe_str(&b, k);
        test_put1(&b, 'N');
    }
    test_put(&b, "uu\x85Ru.", 6);
    wc_input_t in;
    blob_writer_t *w = blob_writer_new();
    int rc = wc_input_from_memory(&in, b.p, b.n, "attrs.pkl", err) || netload_convert(&in, NULL, w, err);
    blob_writer_free(w);
    wc_input_close(&in);
    free(b.p);
    return rc;
}

static void test_module_caps(test_ctx_t *t) {
    sal_err_t err;
    int rc = module_with_attrs(1025, &err);
    CHECK(t, rc && strstr(err.msg, "attrs.pkl: module 'G_ema' has more than 1024 attributes"), "1025 attributes: '%s'",
          err.msg);
    rc = module_with_attrs(1024, &err);  /* allowed: the walk reaches the module's class check */
    CHECK(t, rc && strstr(err.msg, "attrs.pkl: 'G_ema' is a training.networks.Generator"), "1024 attributes: '%s'",
          err.msg);
}

int main(void) {
    test_ctx_t t = test_begin("torch_storage");
    test_module_caps(&t);
    test_many_members(&t);
    test_containers(&t);
    if (test_need_shared(&t, "fixtures/stylegan2/tiny")) test_state_dict(&t);
    test_wraparound(&t);
    test_bombs(&t);
    test_network_cap(&t);
    return test_end(&t);
}

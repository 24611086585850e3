/* test_blob.c — the weight-blob writer and the validating reader: round
 * trips, and every kind of damage (truncation, bit flips, CRC, overlap,
 * misalignment, out-of-bounds, unknown version/dtype) rejected cleanly. */
#include "blob.h"
#include "check.h"

#include <zlib.h>

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Recomputes the index and header CRCs after a test edited the index, so the
 * reader gets past them to the check under test. */
static void reseal(uint8_t *d) {
    uint64_t isz = rd64(d + 40);
    wr32(d + 56, (uint32_t)crc32(0, d + 64, (uInt)isz));
    wr32(d + 60, (uint32_t)crc32(0, d, 60));
}

/* A tensor entry's fields, found by name in the index of the image. */
static uint8_t *entry_fields(uint8_t *d, const char *name, int ndim) {
    uint64_t isz = rd64(d + 40);
    size_t n = strlen(name);
    for (uint8_t *p = d + 64; p + 2 + n < d + 64 + isz; p++)
        if (p[0] == (uint8_t)n && p[1] == 0 && memcmp(p + 2, name, n) == 0) return p + 2 + n + 2 + 8 * ndim;
    return NULL;
}

static int open_copy(const uint8_t *img, size_t size, blob_t **b, sal_err_t *err) {
    void *copy = sal_alloc_aligned(size ? size : 1, 64);
    if (size) memcpy(copy, img, size);
    return blob_open_memory(b, copy, size, 1, "x.blob", 1, err);
}

/* Entry counts: the limits are accepted exactly, one more is refused by
 * the writer and (forged into a header) by the reader before it allocates
 * anything; duplicates among the maximum number of names are found (the
 * reader sorts the names, O(n log n): 100k names once took 46 s pairwise). */
static void test_many_entries(test_ctx_t *t) {
    sal_err_t err = {{0}};
    blob_writer_t *w = blob_writer_new();
    static const float one = 1.0f;
    char name[32];
    int rc = 0;
    for (int i = 0; i < BLOB_MAX_TENSORS && !rc; i++) {
        snprintf(name, sizeof name, "t%05d", i);
        rc = blob_writer_tensor(w, name, DT_F32, 0, NULL, &one, 0, &err);
    }
    for (int i = 0; i < BLOB_MAX_META && !rc; i++) {
        snprintf(name, sizeof name, "m%05d", i);
        rc = blob_writer_int(w, name, i, &err);
    }
    CHECK(t, rc == 0, "%d tensors + %d metadata: %s", BLOB_MAX_TENSORS, BLOB_MAX_META, err.msg);
    CHECK(t, blob_writer_tensor(w, "t00007", DT_F32, 0, NULL, &one, 0, &err) != 0 && strstr(err.msg, "duplicate tensor 't00007'"),
          "writer duplicate: %s", err.msg);
    CHECK(t, blob_writer_tensor(w, "extra", DT_F32, 0, NULL, &one, 0, &err) != 0 && strstr(err.msg, "more than 16384 tensors"),
          "writer tensor limit: %s", err.msg);
    CHECK(t, blob_writer_int(w, "m00003", -3, &err) == 0, "metadata overwrite: %s", err.msg);
    CHECK(t, blob_writer_int(w, "extra", 1, &err) != 0 && strstr(err.msg, "more than 16384 metadata"),
          "writer metadata limit: %s", err.msg);
    void *img = NULL;
    size_t n = 0;
    rc = blob_writer_to_memory(w, &img, &n, &err);
    blob_writer_free(w);
    CHECK(t, rc == 0, "to memory: %s", err.msg);
    if (rc) return;
    blob_t *b = NULL;
    rc = open_copy(img, n, &b, &err);
    CHECK(t, rc == 0, "open %d + %d entries: %s", BLOB_MAX_TENSORS, BLOB_MAX_META, err.msg);
    if (!rc) {
        int found = 1;
        for (int i = 0; i < BLOB_MAX_TENSORS; i += 97) {
            snprintf(name, sizeof name, "t%05d", i);
            const blob_tensor_t *bt = blob_tensor_find(b, name);
            found &= bt && bt == blob_tensor_at(b, i) && *(const float *)bt->t.data == 1.0f;
            snprintf(name, sizeof name, "m%05d", i);
            const blob_meta_t *m = blob_meta_find(b, name);
            found &= m && m->i == (i == 3 ? -3 : i);
        }
        CHECK(t, found, "lookups in a blob with %d tensors", BLOB_MAX_TENSORS);
        CHECK(t, !blob_tensor_find(b, "t16384") && !blob_meta_find(b, "m") && !blob_tensor_find(b, ""), "absent names");
        blob_close(b);
    }
    uint8_t *d = img;
    /* rename the last tensor and the last key to earlier names */
    uint8_t *e = entry_fields(d, "t16383", 0);
    CHECK(t, e != NULL, "entry t16383 found");
    if (e) {
        memcpy(e - 2 - 6, "t00042", 6);
        reseal(d);
        rc = open_copy(d, n, &b, &err);
        CHECK(t, rc != 0 && strstr(err.msg, "x.blob: duplicate tensor name 't00042'"), "reader duplicate tensor: %s",
              err.msg);
        memcpy(e - 2 - 6, "t16383", 6);
    }
    uint8_t *k = NULL;
    for (uint8_t *p = d + 64; p + 6 < d + 64 + rd64(d + 40); p++)
        if (memcmp(p, "m16383", 6) == 0) { k = p; break; }
    if (k) {
        memcpy(k, "m00000", 6);
        reseal(d);
        rc = open_copy(d, n, &b, &err);
        CHECK(t, rc != 0 && strstr(err.msg, "x.blob: duplicate metadata key 'm00000'"), "reader duplicate key: %s",
              err.msg);
        memcpy(k, "m16383", 6);
    } else {
        CHECK(t, 0, "key m16383 not found in the index");
    }
    /* a header claiming a million tensors or keys is refused up front */
    wr32(d + 28, 1000000);
    reseal(d);
    rc = open_copy(d, n, &b, &err);
    CHECK(t, rc != 0 && strstr(err.msg, "absurd entry counts"), "1M tensors: %s", err.msg);
    wr32(d + 28, BLOB_MAX_TENSORS);
    wr32(d + 24, 1000000);
    reseal(d);
    rc = open_copy(d, n, &b, &err);
    CHECK(t, rc != 0 && strstr(err.msg, "absurd entry counts"), "1M keys: %s", err.msg);
    sal_free_aligned(img);
}

int main(void) {
    test_ctx_t t = test_begin("blob");
    test_many_entries(&t);
    sal_err_t err = {{0}};

    /* ---- build a blob with all metadata types and several dtypes -------- */
    float w[2][3][3][3];
    for (int i = 0; i < 54; i++) ((float *)w)[i] = (float)i * 0.5f - 3.0f;
    double d64[5] = {1, -2, 3.5, 1e300, -0.0};
    float scalar = 0.125f;
    uint16_t h16[4] = {0x3c00, 0xc000, 0x7bff, 0x0001};
    blob_writer_t *wr = blob_writer_new();
    CHECK(&t, blob_writer_str(wr, "arch", "test-net", &err) == 0, "%s", err.msg);
    CHECK(&t, blob_writer_int(wr, "z_dim", 512, &err) == 0, "%s", err.msg);
    CHECK(&t, blob_writer_int(wr, "neg", -7, &err) == 0, "%s", err.msg);
    CHECK(&t, blob_writer_float(wr, "lr", 0.01, &err) == 0, "%s", err.msg);
    int64_t s4[4] = {2, 3, 3, 3}, s1[1] = {5}, s0[1] = {0}, sh[1] = {4};
    CHECK(&t, blob_writer_tensor(wr, "conv.weight", DT_F32, 4, s4, w, 0, &err) == 0, "%s", err.msg);
    CHECK(&t, blob_writer_tensor(wr, "d64", DT_F64, 1, s1, d64, 1, &err) == 0, "%s", err.msg);
    CHECK(&t, blob_writer_tensor(wr, "scalar", DT_F32, 0, s0, &scalar, 1, &err) == 0, "%s", err.msg);
    CHECK(&t, blob_writer_tensor(wr, "half", DT_F16, 1, sh, h16, 1, &err) == 0, "%s", err.msg);
    CHECK(&t, blob_writer_tensor(wr, "half", DT_F16, 1, sh, h16, 1, &err) != 0, "duplicate name accepted");
    char path[1400];
    test_tmp(&t, "a.blob", path, sizeof path);
    CHECK(&t, blob_writer_save(wr, path, &err) == 0, "%s", err.msg);
    void *mem = NULL;
    size_t memsize = 0;
    CHECK(&t, blob_writer_to_memory(wr, &mem, &memsize, &err) == 0, "%s", err.msg);
    blob_writer_free(wr);

    /* ---- read it back: file and memory images are identical ------------- */
    size_t fsize = 0;
    uint8_t *img = test_read_raw(path, &fsize);
    CHECK(&t, img && fsize == memsize && memcmp(img, mem, fsize) == 0, "file and memory images differ");
    blob_t *b = NULL;
    CHECK(&t, blob_open(&b, path, 1, &err) == 0, "%s", err.msg);
    if (b) {
        int64_t iv = 0;
        double fv = 0;
        const char *sv = NULL;
        CHECK(&t, blob_get_int(b, "z_dim", &iv, &err) == 0 && iv == 512, "z_dim %lld", (long long)iv);
        CHECK(&t, blob_get_int(b, "neg", &iv, &err) == 0 && iv == -7, "neg %lld", (long long)iv);
        CHECK(&t, blob_get_float(b, "lr", &fv, &err) == 0 && fv == 0.01, "lr %g", fv);
        CHECK(&t, blob_get_str(b, "arch", &sv, &err) == 0 && strcmp(sv, "test-net") == 0, "arch");
        CHECK(&t, blob_get_int(b, "missing", &iv, &err) != 0 && strstr(err.msg, "missing metadata 'missing'"), "%s", err.msg);
        CHECK(&t, blob_get_int(b, "arch", &iv, &err) != 0 && strstr(err.msg, "not an integer"), "%s", err.msg);
        const float *wp = NULL;
        CHECK(&t, blob_get_f32(b, "conv.weight", 4, s4, &wp, &err) == 0 && wp && memcmp(wp, w, sizeof w) == 0, "weights");
        CHECK(&t, ((uintptr_t)wp % 64) == 0, "payload not 64-byte aligned");
        int64_t wrong[4] = {2, 3, 1, 3};
        CHECK(&t, blob_get_f32(b, "conv.weight", 4, wrong, &wp, &err) != 0 && strstr(err.msg, "(2, 3, 3, 3)"), "%s", err.msg);
        CHECK(&t, blob_get_f32(b, "d64", 1, s1, &wp, &err) != 0 && strstr(err.msg, "f64"), "%s", err.msg);
        const blob_tensor_t *bt = blob_tensor_find(b, "d64");
        CHECK(&t, bt && bt->t.dtype == DT_F64 && memcmp(bt->t.data, d64, sizeof d64) == 0, "d64 payload");
        bt = blob_tensor_find(b, "scalar");
        CHECK(&t, bt && bt->t.ndim == 0 && *(const float *)bt->t.data == 0.125f, "0-d tensor");
        bt = blob_tensor_find(b, "half");
        CHECK(&t, bt && bt->t.dtype == DT_F16 && f16_to_f32(((const uint16_t *)bt->t.data)[1]) == -2.0f, "f16 payload");
        CHECK(&t, blob_tensor_count(b) == 4 && blob_meta_count(b) == 4, "counts %d %d", blob_tensor_count(b), blob_meta_count(b));
        blob_close(b);
    }
    sal_free_aligned(mem);
    if (!img) return test_end(&t);

    /* ---- targeted damage, each reported with the file name -------------- */
    struct { const char *what, *expect; } cases[] = {
        {"version", "unsupported blob format version"}, {"magic", "not a salient blob"},
        {"header crc", "corrupt blob header"},          {"index crc", "corrupt blob index"},
        {"payload crc", "corrupt (CRC mismatch)"},      {"misaligned", "misaligned"},
        {"out of bounds", "outside the file"},          {"overlap", "overlap"},
        {"dtype", "unknown dtype"},                     {"size", "does not match its shape"},
        {"count", "absurd entry counts"},               {"truncated", "truncated"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t *x = malloc(fsize);
        memcpy(x, img, fsize);
        size_t xs = fsize;
        uint8_t *conv = entry_fields(x, "conv.weight", 4), *dd = entry_fields(x, "d64", 1);
        const char *what = cases[c].what;
        if (!strcmp(what, "version")) { wr32(x + 8, 2); reseal(x); }
        else if (!strcmp(what, "magic")) x[0] = 'X';
        else if (!strcmp(what, "header crc")) x[17] ^= 1;
        else if (!strcmp(what, "index crc")) { x[70] ^= 0x10; wr32(x + 60, (uint32_t)crc32(0, x, 60)); }
        else if (!strcmp(what, "payload crc")) x[rd64(conv)] ^= 0x40;
        else if (!strcmp(what, "misaligned")) { wr64(conv, rd64(conv) + 4); reseal(x); }
        else if (!strcmp(what, "out of bounds")) { wr64(dd, fsize & ~(size_t)63); reseal(x); }
        else if (!strcmp(what, "overlap")) { wr64(dd, rd64(conv)); reseal(x); }
        else if (!strcmp(what, "dtype")) { conv[-2 - 32] = 99; reseal(x); }
        else if (!strcmp(what, "size")) { wr64(conv + 8, rd64(conv + 8) + 4); reseal(x); }
        else if (!strcmp(what, "count")) { wr32(x + 28, 0xffffffffu); reseal(x); }
        else if (!strcmp(what, "truncated")) xs = fsize - 1;
        blob_t *bb = NULL;
        memset(&err, 0, sizeof err);
        int r = open_copy(x, xs, &bb, &err);
        CHECK(&t, r != 0 && bb == NULL, "damage '%s' accepted", what);
        CHECK(&t, strncmp(err.msg, "x.blob: ", 8) == 0 && strstr(err.msg, cases[c].expect),
              "damage '%s': message '%s' (want '%s')", what, err.msg, cases[c].expect);
        blob_close(bb);
        free(x);
    }

    /* ---- fuzz: every truncation and many random bit flips --------------- */
    int crashed_open = 0, bad_msg = 0, accepted_flip = 0;
    for (size_t n = 0; n < fsize; n++) {
        blob_t *bb = NULL;
        if (open_copy(img, n, &bb, &err) == 0) crashed_open++;
        else if (strncmp(err.msg, "x.blob: ", 8) != 0) bad_msg++;
        blob_close(bb);
    }
    CHECK(&t, crashed_open == 0, "%d truncated images accepted", crashed_open);
    uint32_t seed = 12345;
    for (int i = 0; i < 3000; i++) {
        uint8_t *x = malloc(fsize);
        memcpy(x, img, fsize);
        for (int k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1664525u + 1013904223u;
            size_t pos = (seed >> 8) % fsize;
            x[pos] ^= (uint8_t)(1u << (seed & 7));
        }
        blob_t *bb = NULL;
        if (open_copy(x, fsize, &bb, &err) == 0) accepted_flip++;
        else if (strncmp(err.msg, "x.blob: ", 8) != 0) bad_msg++;
        blob_close(bb);
        free(x);
    }
    /* Flips in the alignment padding are harmless; anywhere else the CRCs catch them. */
    CHECK(&t, accepted_flip < 300, "%d of 3000 bit-flipped images accepted", accepted_flip);
    CHECK(&t, bad_msg == 0, "%d errors without the file name", bad_msg);

    /* ---- missing file ---------------------------------------------------- */
    blob_t *bb = NULL;
    CHECK(&t, blob_open(&bb, "/nonexistent/x.blob", 1, &err) != 0 && strstr(err.msg, "/nonexistent/x.blob: cannot open"), "%s", err.msg);
    free(img);
    return test_end(&t);
}

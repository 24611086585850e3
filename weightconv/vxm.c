/* vxm.c — reads Twitter's .vxm key/value model container and turns the
 * fastgaze network it describes into a salient blob (see vxm.h).
 *
 * Blob layout written here (read by nets/fastgaze.c):
 *
 *   metadata  arch              "fastgaze"
 *             fastgaze.layers   number of layers L (19 for fastgaze.vxm)
 *             source            "vxm:<file name>"
 *             layer.<i>.type    "conv" | "maxpool" | "ignored"
 *             layer.<i>.act     "relu" | "lrelu"            (conv)
 *             layer.<i>.slope   leaky slope, float           (conv with lrelu)
 *             layer.<i>.std, layer.<i>.kernel_size           ("ignored": the
 *                               model's unused Gaussian layer, kept for reference)
 *   tensors   layer.<i>.weight  f32 (C_out, C_in, k, k)      (conv, k = 1 or 3)
 *             layer.<i>.bias    f32 (C_out)                  (conv)
 *
 * C_in of the first conv is 3 (the RGB input), then the previous C_out.
 */
#include "vxm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VXM_MAX_FILE ((size_t)1 << 30)   /* 1 GiB: far above any real model */
#define VXM_MAX_CHANNELS 4096

static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int vxm_sniff(const uint8_t *data, size_t size) {
    return size >= 4 && (data[0] == 0x01 || data[0] == 0x00) && data[1] == 't' &&
           data[2] == 'P' && data[3] == 'M';
}

/* ---- the container ---------------------------------------------------- */

static int key_is_printable(const char *k, uint32_t len) {
    for (uint32_t i = 0; i < len; i++)
        if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] > 0x7e) return 0;
    return 1;
}

static int cmp_entry_key(const void *a, const void *b) {
    return strcmp(((const vxm_entry_t *)a)->key, ((const vxm_entry_t *)b)->key);
}

int vxm_parse(const uint8_t *data, size_t size, const char *name, vxm_db_t *db,
              sal_err_t *err) {
    memset(db, 0, sizeof *db);
    if (size < 4) return sal_errf(err, "%s: not a .vxm model (file too short for the magic)", name);
    if (!vxm_sniff(data, size))
        return sal_errf(err, "%s: not a .vxm model (bad magic, expected \"\\x01tPM\")", name);
    if (size < 8) return sal_errf(err, "%s: truncated .vxm (no entry count)", name);
    uint32_t count = rd_u32(data + 4);
    /* Every entry takes at least 4 + 1 + 4 bytes: a larger count cannot fit. */
    if (count == 0) return sal_errf(err, "%s: .vxm model has no entries", name);
    if (count > (size - 8) / 9)
        return sal_errf(err, "%s: truncated .vxm (%u entries cannot fit in %zu bytes)", name,
                        count, size);
    db->entries = calloc(count, sizeof *db->entries);
    if (!db->entries) return sal_errf(err, "%s: out of memory", name);

    size_t off = 8;
    for (uint32_t i = 0; i < count; i++) {
        if (size - off < 4) goto truncated;
        uint32_t klen = rd_u32(data + off);
        off += 4;
        if (klen < 2) {
            vxm_db_free(db);
            return sal_errf(err, "%s: .vxm entry %u has an empty key", name, i);
        }
        if (klen > VXM_MAX_KEY_LEN) {
            vxm_db_free(db);
            return sal_errf(err, "%s: .vxm entry %u: key length %u too long", name, i, klen);
        }
        if (size - off < klen) goto truncated;
        const char *key = (const char *)data + off;
        if (key[klen - 1] != '\0') {
            vxm_db_free(db);
            return sal_errf(err, "%s: .vxm entry %u: key not NUL-terminated", name, i);
        }
        if (!key_is_printable(key, klen - 1)) {
            vxm_db_free(db);
            return sal_errf(err, "%s: .vxm entry %u: key has non-printable bytes", name, i);
        }
        off += klen;
        if (size - off < 4) goto truncated;
        uint32_t vlen = rd_u32(data + off);
        off += 4;
        if (size - off < vlen) goto truncated;
        db->entries[i].key = key;
        db->entries[i].value = data + off;
        db->entries[i].len = vlen;
        off += vlen;
        db->count = (int)i + 1;
    }
    if (off != size) {
        vxm_db_free(db);
        return sal_errf(err, "%s: %zu unexpected bytes after the last .vxm entry", name,
                        size - off);
    }
    /* Duplicate keys would make the file ambiguous. */
    vxm_entry_t *sorted = malloc((size_t)count * sizeof *sorted);
    if (!sorted) {
        vxm_db_free(db);
        return sal_errf(err, "%s: out of memory", name);
    }
    memcpy(sorted, db->entries, (size_t)count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, cmp_entry_key);
    for (uint32_t i = 1; i < count; i++)
        if (strcmp(sorted[i - 1].key, sorted[i].key) == 0) {
            sal_errf(err, "%s: .vxm key '%s' appears twice", name, sorted[i].key);
            free(sorted);
            vxm_db_free(db);
            return -1;
        }
    free(sorted);
    return 0;

truncated:
    {
        int done = db->count;
        vxm_db_free(db);
        return sal_errf(err, "%s: truncated .vxm (file ends inside entry %d of %u)", name, done,
                        count);
    }
}

void vxm_db_free(vxm_db_t *db) {
    if (!db) return;
    free(db->entries);
    db->entries = NULL;
    db->count = 0;
}

const vxm_entry_t *vxm_find(const vxm_db_t *db, const char *key) {
    for (int i = 0; i < db->count; i++)
        if (strcmp(db->entries[i].key, key) == 0) return &db->entries[i];
    return NULL;
}

/* ---- typed values ------------------------------------------------------ */

/* An int32 value: exactly 4 bytes. */
static int get_int(const vxm_db_t *db, const char *name, const char *key, int32_t *out,
                   sal_err_t *err) {
    const vxm_entry_t *e = vxm_find(db, key);
    if (!e) return sal_errf(err, "%s: .vxm model lacks key '%s'", name, key);
    if (e->len != 4)
        return sal_errf(err, "%s: .vxm key '%s' should be one int32, has %u bytes", name, key,
                        e->len);
    *out = (int32_t)rd_u32(e->value);
    return 0;
}

/* A float32 array of exactly n values (unaligned: read through the entry). */
static int get_f32s(const vxm_db_t *db, const char *name, const char *key, size_t n,
                    const vxm_entry_t **out, sal_err_t *err) {
    const vxm_entry_t *e = vxm_find(db, key);
    if (!e) return sal_errf(err, "%s: .vxm model lacks key '%s'", name, key);
    if (e->len % 4 != 0 || e->len / 4 != n)
        return sal_errf(err, "%s: .vxm key '%s' should hold %zu float32 values, has %u bytes",
                        name, key, n, e->len);
    *out = e;
    return 0;
}

/* The optional descriptive keys (<t>.dtype, <t>.ndims, <t>.shape) are never
 * needed, but when present they must agree with the tensor we read. */
static int check_descr(const vxm_db_t *db, const char *name, const char *tensor, int ndim,
                       const int32_t *shape, sal_err_t *err) {
    char key[64];
    snprintf(key, sizeof key, "%s.dtype", tensor);
    const vxm_entry_t *e = vxm_find(db, key);
    if (e && !(e->len == 7 && memcmp(e->value, "float32", 7) == 0))
        return sal_errf(err, "%s: .vxm tensor '%s' is not float32", name, tensor);
    snprintf(key, sizeof key, "%s.ndims", tensor);
    e = vxm_find(db, key);
    if (e && (e->len != 4 || (int32_t)rd_u32(e->value) != ndim))
        return sal_errf(err, "%s: .vxm tensor '%s': '%s' disagrees with the layer", name,
                        tensor, key);
    snprintf(key, sizeof key, "%s.shape", tensor);
    e = vxm_find(db, key);
    if (e) {
        int ok = e->len == (uint32_t)ndim * 4;
        for (int d = 0; ok && d < ndim; d++) ok = (int32_t)rd_u32(e->value + 4 * d) == shape[d];
        if (!ok)
            return sal_errf(err, "%s: .vxm tensor '%s': '%s' disagrees with the layer", name,
                            tensor, key);
    }
    return 0;
}

/* ---- the network -------------------------------------------------------- */

static int add_conv(const vxm_db_t *db, const char *name, int i, int *c_in, blob_writer_t *w,
                    sal_err_t *err) {
    char key[64], bkey[64];
    int32_t kh, kw, act, c_out;
#define KEY(fmt) (snprintf(key, sizeof key, "%d" fmt, i), key)
    if (get_int(db, name, KEY("w.shape[2]"), &kh, err) ||
        get_int(db, name, KEY("w.shape[3]"), &kw, err) || get_int(db, name, KEY("Act"), &act, err) ||
        get_int(db, name, KEY("w.shape[0]"), &c_out, err))
        return -1;
    if (kh != kw || (kh != 1 && kh != 3))
        return sal_errf(err, "%s: layer %d: %dx%d kernels are not supported (1x1 or 3x3)", name,
                        i, kh, kw);
    if (c_out < 1 || c_out > VXM_MAX_CHANNELS)
        return sal_errf(err, "%s: layer %d: bad output channel count %d", name, i, c_out);
    if (act != 1 && act != 4)
        return sal_errf(err, "%s: layer %d: unknown activation %d (1 ReLU, 4 leaky ReLU)", name,
                        i, act);
    int32_t c1;
    if (vxm_find(db, KEY("w.shape[1]"))) {
        if (get_int(db, name, key, &c1, err)) return -1;
        if (c1 != *c_in)
            return sal_errf(err, "%s: layer %d: weights take %d input channels, the layer gets %d",
                            name, i, c1, *c_in);
    }
    const vxm_entry_t *we, *be, *ae = NULL;
    size_t nw = (size_t)c_out * (size_t)*c_in * (size_t)(kh * kw);
    if (get_f32s(db, name, KEY("w"), nw, &we, err)) return -1;
    snprintf(bkey, sizeof bkey, "%db", i);
    if (get_f32s(db, name, bkey, (size_t)c_out, &be, err)) return -1;
    int32_t wshape[4] = {c_out, *c_in, kh, kw}, bshape[1] = {c_out};
    if (check_descr(db, name, key, 4, wshape, err) || check_descr(db, name, bkey, 1, bshape, err))
        return -1;

    char mk[64];
    snprintf(mk, sizeof mk, "layer.%d.type", i);
    if (blob_writer_str(w, mk, "conv", err)) return -1;
    snprintf(mk, sizeof mk, "layer.%d.act", i);
    if (blob_writer_str(w, mk, act == 4 ? "lrelu" : "relu", err)) return -1;
    if (act == 4) {
        int32_t ashape[1] = {1};
        if (get_f32s(db, name, KEY("alpha"), 1, &ae, err) ||
            check_descr(db, name, key, 1, ashape, err))
            return -1;
        float slope;
        memcpy(&slope, ae->value, 4);   /* little-endian host (x86-64) */
        snprintf(mk, sizeof mk, "layer.%d.slope", i);
        if (blob_writer_float(w, mk, (double)slope, err)) return -1;
    }
#undef KEY
    int64_t ws[4] = {c_out, *c_in, kh, kw}, bs[1] = {c_out};
    snprintf(mk, sizeof mk, "layer.%d.weight", i);
    if (blob_writer_tensor(w, mk, DT_F32, 4, ws, we->value, 0, err)) return -1;
    snprintf(mk, sizeof mk, "layer.%d.bias", i);
    if (blob_writer_tensor(w, mk, DT_F32, 1, bs, be->value, 0, err)) return -1;
    *c_in = c_out;
    return 0;
}

int vxm_to_blob(const vxm_db_t *db, const char *name, blob_writer_t *w, sal_err_t *err) {
    int32_t n_layers;
    if (get_int(db, name, "layerCount", &n_layers, err)) return -1;
    if (n_layers < 1 || n_layers > VXM_MAX_LAYERS)
        return sal_errf(err, "%s: bad layerCount %d", name, n_layers);
    char src[512];
    const char *base = strrchr(name, '/');
    snprintf(src, sizeof src, "vxm:%s", base ? base + 1 : name);
    if (blob_writer_str(w, "arch", "fastgaze", err) ||
        blob_writer_int(w, "fastgaze.layers", n_layers, err) ||
        blob_writer_str(w, "source", src, err))
        return -1;
    int c_in = 3, n_conv = 0;
    for (int i = 0; i < n_layers; i++) {
        char key[64], mk[64];
        int32_t type;
        snprintf(key, sizeof key, "%dType", i);
        if (get_int(db, name, key, &type, err)) return -1;
        snprintf(mk, sizeof mk, "layer.%d.type", i);
        if (type == 0) {                         /* 3x3 / 1x1 convolution + activation */
            if (add_conv(db, name, i, &c_in, w, err)) return -1;
            n_conv++;
        } else if (type == 2) {                  /* 2x2 max pooling, stride 2 */
            int32_t pool;
            snprintf(key, sizeof key, "%dPool", i);
            if (vxm_find(db, key)) {
                if (get_int(db, name, key, &pool, err)) return -1;
                if (pool != 2)
                    return sal_errf(err, "%s: layer %d: %dx%d pooling is not supported", name,
                                    i, pool, pool);
            }
            if (blob_writer_str(w, mk, "maxpool", err)) return -1;
        } else if (type == 3) {                  /* Gaussian layer: never applied by the tool */
            int32_t std, ks;
            snprintf(key, sizeof key, "%dStd", i);
            if (get_int(db, name, key, &std, err)) return -1;
            snprintf(key, sizeof key, "%dKernelSize", i);
            if (get_int(db, name, key, &ks, err)) return -1;
            if (blob_writer_str(w, mk, "ignored", err)) return -1;
            snprintf(mk, sizeof mk, "layer.%d.std", i);
            if (blob_writer_int(w, mk, std, err)) return -1;
            snprintf(mk, sizeof mk, "layer.%d.kernel_size", i);
            if (blob_writer_int(w, mk, ks, err)) return -1;
        } else {
            return sal_errf(err, "%s: layer %d: unsupported layer type %d", name, i, type);
        }
    }
    if (n_conv == 0) return sal_errf(err, "%s: .vxm model has no convolution", name);
    return 0;
}

/* ---- convenience: file -> blob ------------------------------------------ */

/* Builds the blob image of a parsed vxm in memory (64-byte aligned). */
static int vxm_build(const uint8_t *data, size_t size, const char *name, void **img,
                     size_t *img_size, sal_err_t *err) {
    vxm_db_t db;
    if (vxm_parse(data, size, name, &db, err)) return -1;
    blob_writer_t *w = blob_writer_new();
    int rc = -1;
    if (!w) sal_errf(err, "%s: out of memory", name);
    else if (vxm_to_blob(&db, name, w, err) == 0)
        rc = blob_writer_to_memory(w, img, img_size, err);
    blob_writer_free(w);
    vxm_db_free(&db);
    return rc;
}

int vxm_blob_from_memory(const uint8_t *data, size_t size, const char *name, blob_t **out,
                         sal_err_t *err) {
    *out = NULL;
    void *img = NULL;
    size_t img_size = 0;
    if (vxm_build(data, size, name, &img, &img_size, err)) return -1;
    return blob_open_memory(out, img, img_size, 1, name, 1, err);
}

int vxm_open_blob(const char *path, blob_t **out, sal_err_t *err) {
    *out = NULL;
    uint8_t *data;
    size_t size;
    if (sal_read_file(path, VXM_MAX_FILE, &data, &size, err)) return -1;
    int rc = vxm_blob_from_memory(data, size, path, out, err);
    free(data);
    return rc;
}

int vxm_convert_file(const char *in_path, const char *out_path, sal_err_t *err) {
    uint8_t *data;
    size_t size;
    if (sal_read_file(in_path, VXM_MAX_FILE, &data, &size, err)) return -1;
    vxm_db_t db;
    int rc = -1;
    if (vxm_parse(data, size, in_path, &db, err) == 0) {
        blob_writer_t *w = blob_writer_new();
        if (!w) sal_errf(err, "%s: out of memory", in_path);
        else if (vxm_to_blob(&db, in_path, w, err) == 0)
            rc = blob_writer_save(w, out_path, err);
        blob_writer_free(w);
        vxm_db_free(&db);
    }
    free(data);
    return rc;
}

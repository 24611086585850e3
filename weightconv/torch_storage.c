/* torch_storage.c — torch.save containers (legacy and zip) and tensor
 * views over their storages; see torch_storage.h for the formats.
 */
#include "torch_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSOR_NEST 4                        /* _rebuild_parameter wrappers */

/* The legacy magic number 0x1950a86a20f9469cfc6c as LONG1 bytes. */
static const uint8_t LEGACY_MAGIC[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

/* Storage classes: referenced inside persistent ids, never called. */
static const pk_global_t STORAGE_GLOBALS[] = {
    {"torch", "FloatStorage", PK_G_CLASS},    {"torch", "HalfStorage", PK_G_CLASS},
    {"torch", "BFloat16Storage", PK_G_CLASS}, {"torch", "DoubleStorage", PK_G_CLASS},
    {"torch", "LongStorage", PK_G_CLASS},     {"torch", "IntStorage", PK_G_CLASS},
    {"torch", "ShortStorage", PK_G_CLASS},    {"torch", "CharStorage", PK_G_CLASS},
    {"torch", "ByteStorage", PK_G_CLASS},     {"torch", "BoolStorage", PK_G_CLASS},
};
#define N_STORAGE_GLOBALS ((int)(sizeof STORAGE_GLOBALS / sizeof STORAGE_GLOBALS[0]))

int ts_storage_dtype(const char *class_name, dtype_t *dt) {
    static const struct { const char *name; dtype_t dt; } map[] = {
        {"FloatStorage", DT_F32}, {"HalfStorage", DT_F16}, {"BFloat16Storage", DT_BF16},
        {"DoubleStorage", DT_F64}, {"LongStorage", DT_I64}, {"IntStorage", DT_I32},
        {"ByteStorage", DT_U8},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, class_name) == 0) { *dt = map[i].dt; return 0; }
    return -1;
}

int ts_is_legacy(const uint8_t *data, size_t len) {
    return len >= 14 && data[0] == 0x80 && data[1] == 0x02 && data[2] == 0x8a && data[3] == 10 &&
           memcmp(data + 4, LEGACY_MAGIC, 10) == 0;
}

void ts_archive_close(ts_archive_t *a) {
    if (!a) return;
    pk_ctx_free(a->ctx);
    for (int i = 0; i < a->n_owned; i++) free(a->owned[i]);
    free(a->owned);
    free(a->entries);
    free((void *)a->globals_buf);
    memset(a, 0, sizeof *a);
}

/* ---- persistent ids ----------------------------------------------------- */

typedef struct persid_info {
    const char *cls;      /* "FloatStorage" */
    dtype_t dtype;
    const char *key;
    int64_t numel;
    const pk_node_t *view;  /* None or (view_key, offset, size) */
} persid_info_t;

static int parse_persid(const pk_node_t *p, const char *name, persid_info_t *pi, sal_err_t *err) {
    const pk_node_t *t = p->args;
    if (!t || t->type != PK_TUPLE || t->n < 5 || t->n > 6 || !pk_is_str(t->items[0], "storage"))
        return sal_errf(err, "%s: unsupported persistent id (not a ('storage', ...) tuple)", name);
    const pk_node_t *cls = t->items[1], *key = t->items[2];
    if (cls->type != PK_GLOBAL) return sal_errf(err, "%s: storage type is not a class", name);
    pi->cls = cls->def->name;
    if (ts_storage_dtype(pi->cls, &pi->dtype))
        return sal_errf(err, "%s: unsupported storage type 'torch.%s'", name, pi->cls);
    if (key->type != PK_STR || key->len == 0 || strlen(key->s) != key->len)
        return sal_errf(err, "%s: bad storage key", name);
    pi->key = key->s;
    if (pk_as_int(t->items[4], &pi->numel) || pi->numel < 0)
        return sal_errf(err, "%s: bad storage element count", name);
    pi->view = t->n == 6 ? t->items[5] : NULL;
    if (pi->view && pi->view->type == PK_NONE) pi->view = NULL;
    return 0;
}

static int cmp_entry(const void *x, const void *y) {
    return strcmp(((const ts_entry_t *)x)->key, ((const ts_entry_t *)y)->key);
}

static int cmp_info(const void *x, const void *y) {
    return strcmp(((const persid_info_t *)x)->key, ((const persid_info_t *)y)->key);
}

static const ts_entry_t *find_entry(const ts_archive_t *a, const char *key) {
    if (!a || !a->n_entries) return NULL;
    ts_entry_t probe;
    probe.key = key;
    return bsearch(&probe, a->entries, (size_t)a->n_entries, sizeof probe, cmp_entry);
}

/* ---- opening ------------------------------------------------------------ */

static int make_ctx(ts_archive_t *a, const pk_global_t *globals, int n_globals, uint64_t base,
                    sal_err_t *err) {
    pk_global_t *g = malloc(sizeof(pk_global_t) * (size_t)(n_globals + N_STORAGE_GLOBALS));
    if (!g) return sal_errf(err, "%s: out of memory", a->name);
    if (n_globals) memcpy(g, globals, sizeof(pk_global_t) * (size_t)n_globals);
    memcpy(g + n_globals, STORAGE_GLOBALS, sizeof STORAGE_GLOBALS);
    a->globals_buf = g;
    pk_options_t o;
    memset(&o, 0, sizeof o);
    o.name = a->name;
    o.globals = g;
    o.n_globals = n_globals + N_STORAGE_GLOBALS;
    o.allow_persid = 1;
    o.base_offset = base;
    if (!(a->ctx = pk_ctx_new(&o))) return sal_errf(err, "%s: out of memory", a->name);
    return 0;
}

static int add_entry(ts_archive_t *a, int *cap, const char *key, ts_storage_t st, sal_err_t *err) {
    if (a->n_entries == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        ts_entry_t *e = realloc(a->entries, sizeof *e * (size_t)nc);
        if (!e) return sal_errf(err, "%s: out of memory", a->name);
        a->entries = e;
        *cap = nc;
    }
    a->entries[a->n_entries].key = key;
    a->entries[a->n_entries].st = st;
    a->n_entries++;
    return 0;
}

static int sort_entries(ts_archive_t *a, sal_err_t *err) {
    if (a->n_entries > 1) qsort(a->entries, (size_t)a->n_entries, sizeof(ts_entry_t), cmp_entry);
    for (int i = 1; i < a->n_entries; i++)
        if (strcmp(a->entries[i - 1].key, a->entries[i].key) == 0)
            return sal_errf(err, "%s: storage key '%s' appears twice", a->name, a->entries[i].key);
    return 0;
}

/* Legacy: five pickles, then the raw storages in key-list order. */
static int open_legacy(ts_archive_t *a, const uint8_t *data, size_t len, sal_err_t *err) {
    size_t pos = 0, used;
    pk_node_t *magic, *proto, *sysinfo, *keys;
    pk_node_t **slots[5] = {&magic, &proto, &sysinfo, &a->root, &keys};
    for (int i = 0; i < 5; i++) {
        /* each pickle gets its own byte offsets in messages */
        if (pk_load(a->ctx, data + pos, len - pos, &used, slots[i], err)) return -1;
        pos += used;
    }
    if (magic->type != PK_BIGINT || magic->len != 10 || memcmp(magic->bytes, LEGACY_MAGIC, 10) != 0)
        return sal_errf(err, "%s: not a torch.save file (bad magic number)", a->name);
    int64_t v;
    if (pk_as_int(proto, &v) || v != 1001)
        return sal_errf(err, "%s: unsupported torch.save protocol version", a->name);
    const pk_node_t *le = pk_dict_get(sysinfo, "little_endian");
    if (sysinfo->type != PK_DICT) return sal_errf(err, "%s: bad torch.save sys info", a->name);
    if (le && le->type == PK_BOOL && !le->i)
        return sal_errf(err, "%s: big-endian torch.save files are not supported", a->name);
    if (keys->type != PK_LIST) return sal_errf(err, "%s: torch.save key list is not a list", a->name);

    /* the element type of each key comes from the persistent id naming it */
    pk_node_t *const *pids;
    size_t n_pids = pk_ctx_persids(a->ctx, &pids);
    persid_info_t *infos = malloc(sizeof *infos * (n_pids ? n_pids : 1));
    if (!infos) return sal_errf(err, "%s: out of memory", a->name);
    for (size_t j = 0; j < n_pids; j++)
        if (parse_persid(pids[j], a->name, &infos[j], err)) { free(infos); return -1; }
    if (n_pids > 1) qsort(infos, n_pids, sizeof *infos, cmp_info);
    int cap = 0;
    for (size_t k = 0; k < keys->n; k++) {
        const pk_node_t *key = keys->items[k];
        if (key->type != PK_STR) { free(infos); return sal_errf(err, "%s: storage key is not a string", a->name); }
        persid_info_t probe, *found;
        probe.key = key->s;
        found = n_pids ? bsearch(&probe, infos, n_pids, sizeof probe, cmp_info) : NULL;
        if (!found) {
            free(infos);
            return sal_errf(err, "%s: storage '%s' is not referenced by any tensor", a->name, key->s);
        }
        persid_info_t pi = *found;
        size_t esize = dtype_size(pi.dtype);
        if (len - pos < 8) {
            free(infos);
            return sal_errf(err, "%s: truncated before storage '%s'", a->name, key->s);
        }
        uint64_t count = 0;
        for (int b = 7; b >= 0; b--) count = count << 8 | data[pos + (size_t)b];
        pos += 8;
        if (count > (len - pos) / esize) {
            free(infos);
            return sal_errf(err, "%s: storage '%s' claims %llu elements, only %zu bytes left", a->name, key->s,
                            (unsigned long long)count, len - pos);
        }
        ts_storage_t st = {pi.dtype, data + pos, count};
        pos += (size_t)count * esize;
        if (add_entry(a, &cap, key->s, st, err)) { free(infos); return -1; }
    }
    free(infos);
    return sort_entries(a, err);
}

static int open_zip(ts_archive_t *a, const uint8_t *data, size_t len, sal_err_t *err) {
    zr_archive_t z;
    if (zr_open(&z, data, len, a->name, err)) return -1;
    int rc = -1, cap = 0;
    uint64_t inflated = 0;
    persid_info_t *infos = NULL;
    const zr_entry_t *pkl = NULL;
    char path[1024];
    for (int i = 0; i < z.n_entries; i++) {
        size_t n = strlen(z.entries[i].name);
        if (n >= 8 && strcmp(z.entries[i].name + n - 8, "data.pkl") == 0 &&
            (n == 8 || z.entries[i].name[n - 9] == '/')) {
            pkl = &z.entries[i];
            break;
        }
    }
    if (!pkl) {
        sal_errf(err, "%s: zip archive without data.pkl (not a torch.save file)", a->name);
        goto done;
    }
    size_t plen = strlen(pkl->name) - 8;  /* "prefix/" */
    if (plen >= 512) { sal_errf(err, "%s: zip member name too long", a->name); goto done; }
    const uint8_t *bytes;
    void *owned;
    snprintf(path, sizeof path, "%.*sbyteorder", (int)plen, pkl->name);
    const zr_entry_t *bo = zr_find(&z, path);
    if (bo) {
        if (zr_read(&z, bo, 64, &bytes, &owned, err)) goto done;
        int big = bo->size == 3 && memcmp(bytes, "big", 3) == 0;
        free(owned);
        if (big) { sal_errf(err, "%s: big-endian torch.save files are not supported", a->name); goto done; }
    }
    /* all members together inflate to at most `budget` bytes */
    uint64_t budget = TS_MAX_INFLATED_TOTAL;
    if ((uint64_t)len < budget / TS_MAX_INFLATE_RATIO) budget = (uint64_t)len * TS_MAX_INFLATE_RATIO;
    if (zr_read(&z, pkl, budget, &bytes, &owned, err)) goto done;
    if (owned) {
        void **o = realloc(a->owned, sizeof(void *) * (size_t)(a->n_owned + 1));
        if (!o) { free(owned); sal_errf(err, "%s: out of memory", a->name); goto done; }
        a->owned = o;
        a->owned[a->n_owned++] = owned;
        inflated += pkl->size;
    }
    size_t used;
    if (pk_load(a->ctx, bytes, (size_t)pkl->size, &used, &a->root, err)) goto done;
    pk_node_t *const *pids;
    size_t n_pids = pk_ctx_persids(a->ctx, &pids);
    infos = malloc(sizeof *infos * (n_pids ? n_pids : 1));
    if (!infos) { sal_errf(err, "%s: out of memory", a->name); goto done; }
    for (size_t j = 0; j < n_pids; j++)
        if (parse_persid(pids[j], a->name, &infos[j], err)) goto done;
    if (n_pids > 1) qsort(infos, n_pids, sizeof *infos, cmp_info);
    for (size_t j = 0; j < n_pids; j++) {
        const persid_info_t pi = infos[j];
        if (j && strcmp(infos[j - 1].key, pi.key) == 0) continue;  /* shared storage */
        if (snprintf(path, sizeof path, "%.*sdata/%s", (int)plen, pkl->name, pi.key) >= (int)sizeof path) {
            sal_errf(err, "%s: storage key too long", a->name);
            goto done;
        }
        const zr_entry_t *m = zr_find(&z, path);
        if (!m) { sal_errf(err, "%s: storage member '%s' missing", a->name, path); goto done; }
        if (zr_read(&z, m, budget - inflated, &bytes, &owned, err)) goto done;
        if (owned) {
            void **o = realloc(a->owned, sizeof(void *) * (size_t)(a->n_owned + 1));
            if (!o) { free(owned); sal_errf(err, "%s: out of memory", a->name); goto done; }
            a->owned = o;
            a->owned[a->n_owned++] = owned;
            inflated += m->size;
        }
        ts_storage_t st = {pi.dtype, bytes, m->size / dtype_size(pi.dtype)};
        if (add_entry(a, &cap, pi.key, st, err)) goto done;
    }
    rc = sort_entries(a, err);
done:
    a->inflated = inflated;
    free(infos);
    zr_close(&z);
    return rc;
}

int ts_archive_open(ts_archive_t *a, const uint8_t *data, size_t len, const char *name,
                    const pk_global_t *globals, int n_globals, sal_err_t *err) {
    memset(a, 0, sizeof *a);
    a->name = name;
    if (make_ctx(a, globals, n_globals, 0, err)) { ts_archive_close(a); return -1; }
    int rc;
    if (zr_is_zip(data, len)) rc = open_zip(a, data, len, err);
    else if (ts_is_legacy(data, len)) rc = open_legacy(a, data, len, err);
    else rc = sal_errf(err, "%s: not a torch.save file", name);
    if (rc) ts_archive_close(a);
    return rc;
}

int ts_archive_open_pickle(ts_archive_t *a, const uint8_t *data, size_t len, const char *name,
                           const pk_global_t *globals, int n_globals, sal_err_t *err) {
    memset(a, 0, sizeof *a);
    a->name = name;
    size_t used;
    if (make_ctx(a, globals, n_globals, 0, err) || pk_load(a->ctx, data, len, &used, &a->root, err)) {
        ts_archive_close(a);
        return -1;
    }
    return 0;
}

/* ---- storages ----------------------------------------------------------- */

static int resolve_persid(const ts_archive_t *a, const pk_node_t *node, const char *name,
                          ts_storage_t *out, sal_err_t *err) {
    persid_info_t pi;
    if (parse_persid(node, name, &pi, err)) return -1;
    const ts_entry_t *e = find_entry(a, pi.key);
    if (!e) return sal_errf(err, "%s: storage '%s' has no data", name, pi.key);
    if (e->st.dtype != pi.dtype) return sal_errf(err, "%s: storage '%s' has two element types", name, pi.key);
    if ((uint64_t)pi.numel > e->st.numel)
        return sal_errf(err, "%s: storage '%s' holds %llu elements, %lld expected", name, pi.key,
                        (unsigned long long)e->st.numel, (long long)pi.numel);
    *out = e->st;
    if (pi.view) {  /* (view_key, offset, size): a slice of the root storage */
        int64_t off, sz;
        if (pi.view->type != PK_TUPLE || pi.view->n != 3 || pk_as_int(pi.view->items[1], &off) ||
            pk_as_int(pi.view->items[2], &sz) || off < 0 || sz < 0 || (uint64_t)off > e->st.numel ||
            (uint64_t)sz > e->st.numel - (uint64_t)off)
            return sal_errf(err, "%s: bad storage view of '%s'", name, pi.key);
        out->data += (size_t)off * dtype_size(out->dtype);
        out->numel = (uint64_t)sz;
    }
    return 0;
}

int ts_resolve_storage(const ts_archive_t *a, const pk_node_t *node, const char *name, const char *what,
                       ts_storage_t *out, sal_err_t *err) {
    char label[SAL_ERR_LEN / 2];  /* "FILE: WHAT: storage blob" for the inner pickles' messages */
    snprintf(label, sizeof label, "%s: %s: storage blob", name, what ? what : "tensor");
    if (node && node->type == PK_PERSID) {
        if (!a || !a->n_entries) return sal_errf(err, "%s: %s: persistent id outside a torch.save archive", name, what);
        snprintf(label, sizeof label, "%s: %s", name, what ? what : "tensor");
        return resolve_persid(a, node, label, out, err);
    }
    if (pk_is_call(node, "torch.storage", "_load_from_bytes")) {
        const pk_node_t *args = node->args;
        if (args->n != 1 || args->items[0]->type != PK_BYTES)
            return sal_errf(err, "%s: _load_from_bytes expects one bytes argument", name);
        const pk_node_t *b = args->items[0];
        ts_archive_t inner;
        if (ts_archive_open(&inner, b->bytes, b->len, label, NULL, 0, err)) return -1;
        int rc;
        if (!inner.root || inner.root->type != PK_PERSID)
            rc = sal_errf(err, "%s: does not hold a storage", label);
        else
            rc = resolve_persid(&inner, inner.root, label, out, err);
        ts_archive_close(&inner);  /* data pointers stay valid: they point into b */
        return rc;
    }
    return sal_errf(err, "%s: %s: the storage is a %s, not a storage", name, what ? what : "tensor",
                    node ? pk_type_name(node->type) : "nothing");
}

/* ---- tensors ------------------------------------------------------------ */

int64_t ts_tensor_numel(const ts_tensor_t *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

static int int_tuple(const pk_node_t *n, int64_t *v, int *count) {
    if (!n || (n->type != PK_TUPLE && n->type != PK_LIST) || n->n > TENSOR_MAX_DIMS) return -1;
    for (size_t i = 0; i < n->n; i++)
        if (pk_as_int(n->items[i], &v[i])) return -1;
    *count = (int)n->n;
    return 0;
}

/* Checks that every element a tensor addresses lies inside its storage and
 * that the tensor does not expand its storage absurdly. All arithmetic is
 * unsigned 64-bit with overflow checks: with non-negative strides the
 * addressed positions run from `offset` up to
 *   last = offset + sum_i (shape_i - 1) * stride_i,
 * so `last < storage numel` (computed without wrapping) covers them all. */
static int check_extent(const ts_tensor_t *t, const char *name, const char *what, sal_err_t *err) {
    uint64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0 || t->stride[i] < 0)
            return sal_errf(err, "%s: %s: negative size or stride", name, what);
        if (__builtin_mul_overflow(numel, (uint64_t)t->shape[i], &numel) || numel > TS_MAX_TENSOR_NUMEL)
            return sal_errf(err, "%s: %s: tensor too large", name, what);
    }
    uint64_t offset = (uint64_t)t->offset, storage = t->st.numel;
    if (numel == 0) {  /* an empty tensor reads nothing; its offset may sit at the end */
        if (offset > storage)
            return sal_errf(err, "%s: %s: storage offset %llu past the end of a %llu-element storage", name, what,
                            (unsigned long long)offset, (unsigned long long)storage);
        return 0;
    }
    if (offset >= storage)
        return sal_errf(err, "%s: %s: storage offset %llu at or past the end of a %llu-element storage", name, what,
                        (unsigned long long)offset, (unsigned long long)storage);
    uint64_t last = offset;
    for (int i = 0; i < t->ndim; i++) {
        uint64_t step;
        if (__builtin_mul_overflow((uint64_t)(t->shape[i] - 1), (uint64_t)t->stride[i], &step) ||
            __builtin_add_overflow(last, step, &last))
            return sal_errf(err, "%s: %s: tensor view out of range", name, what);
    }
    if (last >= storage)
        return sal_errf(err, "%s: %s: tensor view reaches element %llu of a %llu-element storage", name, what,
                        (unsigned long long)last, (unsigned long long)storage);
    /* views (stride 0, overlapping strides) may repeat storage elements;
     * a saved network never needs many more elements than it stores */
    uint64_t allowed;
    if (numel > TS_TINY_TENSOR_NUMEL && !__builtin_mul_overflow(storage, (uint64_t)TS_MAX_EXPANSION, &allowed) &&
        numel > allowed)
        return sal_errf(err,
                        "%s: %s: tensor of %llu elements expands a %llu-element storage more than %dx "
                        "(repeated elements; refusing a decompression bomb)",
                        name, what, (unsigned long long)numel, (unsigned long long)storage, TS_MAX_EXPANSION);
    return 0;
}

int ts_tensor_from_node(const ts_archive_t *a, const pk_node_t *node, const char *name,
                        const char *what, ts_tensor_t *out, sal_err_t *err) {
    memset(out, 0, sizeof *out);
    for (int nest = 0; nest < MAX_TENSOR_NEST; nest++) {
        if (pk_is_call(node, "torch._utils", "_rebuild_parameter") ||
            pk_is_call(node, "torch._utils", "_rebuild_parameter_with_state")) {
            if (node->args->n < 1) return sal_errf(err, "%s: %s: empty parameter", name, what);
            node = node->args->items[0];
        }
    }
    int v2 = pk_is_call(node, "torch._utils", "_rebuild_tensor_v2");
    if (!v2 && !pk_is_call(node, "torch._utils", "_rebuild_tensor"))
        return sal_errf(err, "%s: %s is a %s, not a tensor", name, what, node ? pk_type_name(node->type) : "nothing");
    const pk_node_t *args = node->args;
    if (args->n < 4) return sal_errf(err, "%s: %s: tensor with %zu arguments", name, what, args->n);
    int nd, ns;
    if (int_tuple(args->items[2], out->shape, &nd) || int_tuple(args->items[3], out->stride, &ns) || nd != ns)
        return sal_errf(err, "%s: %s: bad tensor size/stride", name, what);
    out->ndim = nd;
    if (pk_as_int(args->items[1], &out->offset) || out->offset < 0)
        return sal_errf(err, "%s: %s: bad storage offset", name, what);
    if (ts_resolve_storage(a, args->items[0], name, what, &out->st, err)) return -1;
    out->dtype = out->st.dtype;
    return check_extent(out, name, what, err);
}

static float load_f32(dtype_t dt, const uint8_t *p) {
    switch (dt) {
    case DT_F32: { float f; memcpy(&f, p, 4); return f; }
    case DT_F16: { uint16_t h; memcpy(&h, p, 2); return f16_to_f32(h); }
    case DT_BF16: { uint16_t h; memcpy(&h, p, 2); return bf16_to_f32(h); }
    case DT_F64: { double d; memcpy(&d, p, 8); return (float)d; }
    default: return 0.0f;
    }
}

int ts_tensor_to_f32(const ts_tensor_t *t, const char *name, const char *what, const void **data,
                     float **owned, sal_err_t *err) {
    *data = NULL;
    *owned = NULL;
    if (t->dtype != DT_F32 && t->dtype != DT_F16 && t->dtype != DT_BF16 && t->dtype != DT_F64)
        return sal_errf(err, "%s: %s has dtype %s; only float32/16, bfloat16 and float64 are supported", name,
                        what, dtype_name(t->dtype) ? dtype_name(t->dtype) : "?");
    int64_t numel = ts_tensor_numel(t);
    size_t esize = dtype_size(t->dtype);
    int contiguous = 1;
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) contiguous = 0;
        expect *= t->shape[i];
    }
    if (numel == 0) contiguous = 1;
    if (t->dtype == DT_F32 && contiguous) {
        *data = t->st.data + (size_t)t->offset * 4;
        return 0;
    }
    size_t bytes;
    if (sal_mul_size((size_t)numel, sizeof(float), &bytes)) return sal_errf(err, "%s: %s too large", name, what);
    float *buf = malloc(bytes ? bytes : 1);
    if (!buf) return sal_errf(err, "%s: out of memory converting %s", name, what);
    /* ts_tensor_from_node checked offset + sum((shape-1)*stride) < storage
     * numel without overflow, so every position below stays in range */
    int64_t idx[TENSOR_MAX_DIMS] = {0};
    uint64_t pos = (uint64_t)t->offset;  /* storage index of the current element */
    for (int64_t k = 0; k < numel; k++) {
        if (pos >= t->st.numel) {  /* unreachable after the extent check; never read outside */
            free(buf);
            return sal_errf(err, "%s: %s: element outside its storage", name, what);
        }
        buf[k] = load_f32(t->dtype, t->st.data + (size_t)pos * esize);
        for (int d = t->ndim - 1; d >= 0; d--) {  /* odometer step */
            if (++idx[d] < t->shape[d]) { pos += (uint64_t)t->stride[d]; break; }
            pos -= (uint64_t)(idx[d] - 1) * (uint64_t)t->stride[d];
            idx[d] = 0;
        }
    }
    *data = buf;
    *owned = buf;
    return 0;
}

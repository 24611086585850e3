/* blob.c — reading (mmap, zero-copy, fully validated) and writing salient's
 * weight files. The layout is in docs/blob-format.md; in short:
 *
 *   [header 64 B][index: metadata entries, tensor entries][pad][payloads, 64-B aligned]
 *
 * All integers little-endian. Header and index carry their own CRC32s, every
 * payload has a CRC32 in its tensor entry.
 */
#include "blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define HEADER_SIZE 64
#define MAX_STR (16u << 20)

/* ---- little-endian helpers --------------------------------------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static uint32_t crc32_of(const void *data, uint64_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    const uint8_t *p = data;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* ======================================================================== */
/* Reading                                                                  */
/* ======================================================================== */

struct blob {
    char *path;
    const uint8_t *data;
    size_t size;
    int mapped;          /* 1: munmap, 0: free (if owned) */
    int owned;
    int n_meta, n_tensors;
    blob_meta_t *meta;
    blob_tensor_t *tensors;
    char *strings;       /* NUL-terminated copies of keys, names, string values */
    const blob_meta_t **meta_by_key;        /* sorted by key, for lookups */
    const blob_tensor_t **tensors_by_name;  /* sorted by name */
};

/* A bounds-checked cursor over the index. */
typedef struct cursor {
    const uint8_t *p, *end;
} cursor_t;

static int take(cursor_t *c, size_t n, const uint8_t **out) {
    if ((size_t)(c->end - c->p) < n) return -1;
    *out = c->p;
    c->p += n;
    return 0;
}

static int cmp_meta_key(const void *a, const void *b) {
    return strcmp((*(const blob_meta_t *const *)a)->key, (*(const blob_meta_t *const *)b)->key);
}
static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const blob_tensor_t *const *)a)->name, (*(const blob_tensor_t *const *)b)->name);
}

/* Builds the sorted lookup tables; a name that occurs twice is an error
 * (sorting puts duplicates side by side: O(n log n), not O(n^2)). */
static int index_names(blob_t *b, const char *path, sal_err_t *err) {
    size_t nm = (size_t)b->n_meta, nt = (size_t)b->n_tensors;
    b->meta_by_key = malloc((nm ? nm : 1) * sizeof *b->meta_by_key);
    b->tensors_by_name = malloc((nt ? nt : 1) * sizeof *b->tensors_by_name);
    if (!b->meta_by_key || !b->tensors_by_name) return sal_errf(err, "%s: out of memory", path);
    for (size_t i = 0; i < nm; i++) b->meta_by_key[i] = &b->meta[i];
    for (size_t i = 0; i < nt; i++) b->tensors_by_name[i] = &b->tensors[i];
    qsort(b->meta_by_key, nm, sizeof *b->meta_by_key, cmp_meta_key);
    qsort(b->tensors_by_name, nt, sizeof *b->tensors_by_name, cmp_tensor_name);
    for (size_t i = 1; i < nm; i++)
        if (strcmp(b->meta_by_key[i - 1]->key, b->meta_by_key[i]->key) == 0)
            return sal_errf(err, "%s: duplicate metadata key '%s'", path, b->meta_by_key[i]->key);
    for (size_t i = 1; i < nt; i++)
        if (strcmp(b->tensors_by_name[i - 1]->name, b->tensors_by_name[i]->name) == 0)
            return sal_errf(err, "%s: duplicate tensor name '%s'", path, b->tensors_by_name[i]->name);
    return 0;
}

static int cmp_offset(const void *a, const void *b) {
    const blob_tensor_t *x = *(const blob_tensor_t *const *)a, *y = *(const blob_tensor_t *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int copy_str(char **pool, size_t *used, size_t cap, const uint8_t *s, size_t n,
                    const char **out) {
    if (*used + n + 1 > cap) return -1;
    memcpy(*pool + *used, s, n);
    (*pool)[*used + n] = 0;
    if (memchr(s, 0, n)) return -1; /* embedded NUL: not a valid name */
    *out = *pool + *used;
    *used += n + 1;
    return 0;
}

static int parse_blob(blob_t *b, int check_crc, sal_err_t *err) {
    const char *path = b->path;
    const uint8_t *d = b->data;
    if (b->size < HEADER_SIZE) return sal_errf(err, "%s: truncated blob (%zu bytes, header needs %d)", path, b->size, HEADER_SIZE);
    if (memcmp(d, BLOB_MAGIC, 8) != 0) return sal_errf(err, "%s: not a salient blob (bad magic)", path);
    uint32_t version = rd32(d + 8);
    if (version != BLOB_VERSION)
        return sal_errf(err, "%s: unsupported blob format version %u (this build reads %d)", path, version, BLOB_VERSION);
    if (rd32(d + 60) != crc32_of(d, 60)) return sal_errf(err, "%s: corrupt blob header (CRC mismatch)", path);
    if (rd32(d + 12) != HEADER_SIZE) return sal_errf(err, "%s: bad header size %u", path, rd32(d + 12));
    uint64_t file_size = rd64(d + 16);
    if (file_size != b->size)
        return sal_errf(err, "%s: truncated or padded blob (header says %llu bytes, file has %zu)", path,
                        (unsigned long long)file_size, b->size);
    uint32_t n_meta = rd32(d + 24), n_tensors = rd32(d + 28);
    uint64_t index_off = rd64(d + 32), index_size = rd64(d + 40), data_off = rd64(d + 48);
    if (n_meta > BLOB_MAX_META || n_tensors > BLOB_MAX_TENSORS)
        return sal_errf(err, "%s: absurd entry counts (%u metadata, %u tensors; at most %d and %d)", path, n_meta,
                        n_tensors, BLOB_MAX_META, BLOB_MAX_TENSORS);
    if (index_off != HEADER_SIZE || index_size > b->size - HEADER_SIZE || data_off < index_off + index_size ||
        data_off > b->size || data_off % BLOB_ALIGN != 0)
        return sal_errf(err, "%s: index out of bounds", path);
    const uint8_t *index = d + index_off;
    if (rd32(d + 56) != crc32_of(index, index_size)) return sal_errf(err, "%s: corrupt blob index (CRC mismatch)", path);

    /* Every string in the index is shorter than the index, so index_size + one
     * NUL per entry bounds the string pool. */
    size_t cap = (size_t)index_size + 2u * (n_meta + n_tensors) + 1;
    b->strings = malloc(cap);
    b->meta = calloc(n_meta ? n_meta : 1, sizeof *b->meta);
    b->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *b->tensors);
    if (!b->strings || !b->meta || !b->tensors) return sal_errf(err, "%s: out of memory reading index", path);
    size_t used = 0;
    cursor_t c = {index, index + index_size};
    const uint8_t *p;

    for (uint32_t i = 0; i < n_meta; i++) {
        blob_meta_t *m = &b->meta[i];
        if (take(&c, 4, &p)) return sal_errf(err, "%s: truncated metadata entry %u", path, i);
        uint8_t type = p[0];
        uint16_t klen = rd16(p + 2);
        if (klen == 0 || klen > BLOB_MAX_NAME || take(&c, klen, &p) || copy_str(&b->strings, &used, cap, p, klen, &m->key))
            return sal_errf(err, "%s: bad key in metadata entry %u", path, i);
        m->type = (blob_meta_type_t)type;
        if (type == BLOB_META_INT) {
            if (take(&c, 8, &p)) return sal_errf(err, "%s: truncated metadata '%s'", path, m->key);
            m->i = (int64_t)rd64(p);
            m->f = (double)m->i;
        } else if (type == BLOB_META_FLOAT) {
            if (take(&c, 8, &p)) return sal_errf(err, "%s: truncated metadata '%s'", path, m->key);
            uint64_t u = rd64(p);
            memcpy(&m->f, &u, 8);
        } else if (type == BLOB_META_STR) {
            if (take(&c, 4, &p)) return sal_errf(err, "%s: truncated metadata '%s'", path, m->key);
            uint32_t slen = rd32(p);
            if (slen > MAX_STR || take(&c, slen, &p) || copy_str(&b->strings, &used, cap, p, slen, &m->s))
                return sal_errf(err, "%s: bad string value for metadata '%s'", path, m->key);
        } else {
            return sal_errf(err, "%s: metadata '%s' has unknown type %u", path, m->key, type);
        }
    }

    for (uint32_t i = 0; i < n_tensors; i++) {
        blob_tensor_t *t = &b->tensors[i];
        if (take(&c, 2, &p)) return sal_errf(err, "%s: truncated tensor entry %u", path, i);
        uint16_t nlen = rd16(p);
        if (nlen == 0 || nlen > BLOB_MAX_NAME || take(&c, nlen, &p) || copy_str(&b->strings, &used, cap, p, nlen, &t->name))
            return sal_errf(err, "%s: bad name in tensor entry %u", path, i);
        if (take(&c, 2, &p)) return sal_errf(err, "%s: truncated tensor entry '%s'", path, t->name);
        dtype_t dt = (dtype_t)p[0];
        int ndim = p[1];
        size_t esize = dtype_size(dt);
        if (esize == 0) return sal_errf(err, "%s: tensor '%s' has unknown dtype %u", path, t->name, p[0]);
        if (ndim > TENSOR_MAX_DIMS) return sal_errf(err, "%s: tensor '%s' has %d dimensions (max %d)", path, t->name, ndim, TENSOR_MAX_DIMS);
        int64_t shape[TENSOR_MAX_DIMS];
        uint64_t numel = 1;
        for (int k = 0; k < ndim; k++) {
            if (take(&c, 8, &p)) return sal_errf(err, "%s: truncated tensor entry '%s'", path, t->name);
            shape[k] = (int64_t)rd64(p);
            if (shape[k] < 0 || (uint64_t)shape[k] > (1ull << 40))
                return sal_errf(err, "%s: tensor '%s' has a bad dimension %lld", path, t->name, (long long)shape[k]);
            if (shape[k] != 0 && numel > (UINT64_MAX / 16) / (uint64_t)shape[k])
                return sal_errf(err, "%s: tensor '%s' is impossibly large", path, t->name);
            numel *= (uint64_t)shape[k];
        }
        if (take(&c, 20, &p)) return sal_errf(err, "%s: truncated tensor entry '%s'", path, t->name);
        t->offset = rd64(p);
        t->nbytes = rd64(p + 8);
        t->crc32 = rd32(p + 16);
        if (t->nbytes != numel * esize)
            return sal_errf(err, "%s: tensor '%s': size %llu bytes does not match its shape and dtype", path, t->name,
                            (unsigned long long)t->nbytes);
        if (t->offset % BLOB_ALIGN != 0) return sal_errf(err, "%s: tensor '%s' is misaligned (offset %llu)", path, t->name, (unsigned long long)t->offset);
        if (t->offset < data_off || t->offset > b->size || t->nbytes > b->size - t->offset)
            return sal_errf(err, "%s: tensor '%s' lies outside the file (offset %llu, %llu bytes)", path, t->name,
                            (unsigned long long)t->offset, (unsigned long long)t->nbytes);
        t->t = tensor_make(dt, ndim, shape, (void *)(d + t->offset));
    }
    if (c.p != c.end) return sal_errf(err, "%s: %zu unexpected bytes at the end of the index", path, (size_t)(c.end - c.p));

    /* Payloads must not overlap. */
    if (n_tensors > 1) {
        blob_tensor_t **order = malloc(n_tensors * sizeof *order);
        if (!order) return sal_errf(err, "%s: out of memory", path);
        for (uint32_t i = 0; i < n_tensors; i++) order[i] = &b->tensors[i];
        qsort(order, n_tensors, sizeof *order, cmp_offset);
        for (uint32_t i = 1; i < n_tensors; i++) {
            if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset) {
                int r = sal_errf(err, "%s: tensors '%s' and '%s' overlap", path, order[i - 1]->name, order[i]->name);
                free(order);
                return r;
            }
        }
        free(order);
    }
    b->n_meta = (int)n_meta;
    b->n_tensors = (int)n_tensors;
    if (index_names(b, path, err)) return -1;
    if (check_crc) {
        for (uint32_t i = 0; i < n_tensors; i++) {
            const blob_tensor_t *t = &b->tensors[i];
            if (crc32_of(d + t->offset, t->nbytes) != t->crc32)
                return sal_errf(err, "%s: tensor '%s' is corrupt (CRC mismatch)", path, t->name);
        }
    }
    return 0;
}

static int finish_open(blob_t *b, blob_t **out, int check_crc, sal_err_t *err) {
    if (parse_blob(b, check_crc, err) != 0) {
        blob_close(b);
        return -1;
    }
    *out = b;
    return 0;
}

int blob_open(blob_t **out, const char *path, int check_crc, sal_err_t *err) {
    *out = NULL;
    blob_t *b = calloc(1, sizeof *b);
    if (!b || !(b->path = strdup(path))) {
        free(b);
        return sal_errf(err, "%s: out of memory", path);
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int r = sal_errf(err, "%s: cannot open: %s", path, strerror(errno));
        blob_close(b);
        return r;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        blob_close(b);
        return sal_errf(err, "%s: not a regular file", path);
    }
    b->size = (size_t)st.st_size;
    if (b->size >= HEADER_SIZE) {
        void *m = mmap(NULL, b->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int r = sal_errf(err, "%s: cannot mmap: %s", path, strerror(errno));
            close(fd);
            blob_close(b);
            return r;
        }
        b->data = m;
        b->mapped = 1;
    } else {
        b->data = (const uint8_t *)""; /* parse_blob reports the truncation */
    }
    close(fd);
    return finish_open(b, out, check_crc, err);
}

int blob_open_memory(blob_t **out, void *data, size_t size, int owned, const char *name,
                     int check_crc, sal_err_t *err) {
    *out = NULL;
    blob_t *b = calloc(1, sizeof *b);
    if (!b || !(b->path = strdup(name))) {
        free(b);
        if (owned) sal_free_aligned(data);
        return sal_errf(err, "%s: out of memory", name);
    }
    b->data = data;
    b->size = size;
    b->owned = owned;
    if (((uintptr_t)data) % BLOB_ALIGN != 0) {
        blob_close(b);
        return sal_errf(err, "%s: blob image in memory is not 64-byte aligned", name);
    }
    return finish_open(b, out, check_crc, err);
}

void blob_close(blob_t *b) {
    if (!b) return;
    if (b->mapped) munmap((void *)b->data, b->size);
    else if (b->owned) sal_free_aligned((void *)b->data);
    free(b->path);
    free(b->meta);
    free(b->meta_by_key);
    free(b->tensors_by_name);
    free(b->tensors);
    free(b->strings);
    free(b);
}

const char *blob_path(const blob_t *b) { return b->path; }
int blob_meta_count(const blob_t *b) { return b->n_meta; }
const blob_meta_t *blob_meta_at(const blob_t *b, int i) { return i >= 0 && i < b->n_meta ? &b->meta[i] : NULL; }
int blob_tensor_count(const blob_t *b) { return b->n_tensors; }
const blob_tensor_t *blob_tensor_at(const blob_t *b, int i) { return i >= 0 && i < b->n_tensors ? &b->tensors[i] : NULL; }

const blob_meta_t *blob_meta_find(const blob_t *b, const char *key) {
    if (!b->n_meta) return NULL;
    blob_meta_t probe;
    probe.key = key;
    const blob_meta_t *pp = &probe, *const *hit =
        bsearch(&pp, b->meta_by_key, (size_t)b->n_meta, sizeof *b->meta_by_key, cmp_meta_key);
    return hit ? *hit : NULL;
}

const blob_tensor_t *blob_tensor_find(const blob_t *b, const char *name) {
    if (!b->n_tensors) return NULL;
    blob_tensor_t probe;
    probe.name = name;
    const blob_tensor_t *pp = &probe, *const *hit =
        bsearch(&pp, b->tensors_by_name, (size_t)b->n_tensors, sizeof *b->tensors_by_name, cmp_tensor_name);
    return hit ? *hit : NULL;
}

int blob_get_int(const blob_t *b, const char *key, int64_t *out, sal_err_t *err) {
    const blob_meta_t *m = blob_meta_find(b, key);
    if (!m) return sal_errf(err, "%s: missing metadata '%s'", b->path, key);
    if (m->type != BLOB_META_INT) return sal_errf(err, "%s: metadata '%s' is not an integer", b->path, key);
    *out = m->i;
    return 0;
}

int blob_get_float(const blob_t *b, const char *key, double *out, sal_err_t *err) {
    const blob_meta_t *m = blob_meta_find(b, key);
    if (!m) return sal_errf(err, "%s: missing metadata '%s'", b->path, key);
    if (m->type != BLOB_META_FLOAT && m->type != BLOB_META_INT)
        return sal_errf(err, "%s: metadata '%s' is not a number", b->path, key);
    *out = m->f;
    return 0;
}

int blob_get_str(const blob_t *b, const char *key, const char **out, sal_err_t *err) {
    const blob_meta_t *m = blob_meta_find(b, key);
    if (!m) return sal_errf(err, "%s: missing metadata '%s'", b->path, key);
    if (m->type != BLOB_META_STR) return sal_errf(err, "%s: metadata '%s' is not a string", b->path, key);
    *out = m->s;
    return 0;
}

int blob_get_f32(const blob_t *b, const char *name, int ndim, const int64_t *shape,
                 const float **out, sal_err_t *err) {
    const blob_tensor_t *t = blob_tensor_find(b, name);
    if (!t) return sal_errf(err, "%s: missing tensor '%s'", b->path, name);
    if (t->t.dtype != DT_F32)
        return sal_errf(err, "%s: tensor '%s' has dtype %s, expected f32", b->path, name, dtype_name(t->t.dtype));
    int ok = t->t.ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->t.shape[i] == shape[i];
    if (!ok) {
        char have[160], want[160];
        tensor_t w = tensor_make(DT_F32, ndim, shape, NULL);
        return sal_errf(err, "%s: tensor '%s' has shape %s, expected %s", b->path, name,
                        tensor_shape_str(&t->t, have, sizeof have), tensor_shape_str(&w, want, sizeof want));
    }
    *out = (const float *)t->t.data;
    return 0;
}

/* ======================================================================== */
/* Writing                                                                  */
/* ======================================================================== */

typedef struct wmeta {
    char *key;
    blob_meta_type_t type;
    int64_t i;
    double f;
    char *s;
} wmeta_t;

typedef struct wtensor {
    char *name;
    dtype_t dt;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    const void *data;
    void *owned;
    uint64_t nbytes, offset;
    uint32_t crc;
} wtensor_t;

/* Names already used, for O(1) duplicate checks while adding: open
 * addressing (linear probing) over slots of (name, entry index); the
 * names are the entries' own strdup'ed strings, which never move. */
typedef struct name_slot {
    const char *name;  /* NULL: empty */
    int idx;
} name_slot_t;
typedef struct name_index {
    name_slot_t *slots;
    size_t cap;        /* power of two, kept at least twice the count */
    size_t count;
} name_index_t;

static size_t name_hash(const char *s) {  /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)h;
}

/* Index of the entry called `name`, or -1. */
static int index_lookup(const name_index_t *ix, const char *name) {
    if (!ix->cap) return -1;
    for (size_t i = name_hash(name) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
        if (!ix->slots[i].name) return -1;
        if (strcmp(ix->slots[i].name, name) == 0) return ix->slots[i].idx;
    }
}

static void index_place(name_slot_t *slots, size_t cap, const char *name, int idx) {
    size_t i = name_hash(name) & (cap - 1);
    while (slots[i].name) i = (i + 1) & (cap - 1);
    slots[i].name = name;
    slots[i].idx = idx;
}

/* Adds a name not yet present; -1 when out of memory. */
static int index_insert(name_index_t *ix, const char *name, int idx) {
    if (2 * (ix->count + 1) > ix->cap) {
        size_t cap = ix->cap ? 2 * ix->cap : 64;
        name_slot_t *slots = calloc(cap, sizeof *slots);
        if (!slots) return -1;
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->slots[i].name) index_place(slots, cap, ix->slots[i].name, ix->slots[i].idx);
        free(ix->slots);
        ix->slots = slots;
        ix->cap = cap;
    }
    index_place(ix->slots, ix->cap, name, idx);
    ix->count++;
    return 0;
}

struct blob_writer {
    wmeta_t *meta;
    int n_meta, cap_meta;
    wtensor_t *tensors;
    int n_tensors, cap_tensors;
    name_index_t meta_names, tensor_names;
};

blob_writer_t *blob_writer_new(void) { return calloc(1, sizeof(blob_writer_t)); }

void blob_writer_free(blob_writer_t *w) {
    if (!w) return;
    for (int i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].s);
    }
    for (int i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].owned);
    }
    free(w->meta);
    free(w->tensors);
    free(w->meta_names.slots);
    free(w->tensor_names.slots);
    free(w);
}

static int check_key(const char *key, sal_err_t *err) {
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > BLOB_MAX_NAME) return sal_errf(err, "blob writer: bad key/name '%s' (1..%d bytes)", key ? key : "", BLOB_MAX_NAME);
    return 0;
}

static wmeta_t *add_meta(blob_writer_t *w, const char *key, sal_err_t *err) {
    if (check_key(key, err)) return NULL;
    int old = index_lookup(&w->meta_names, key);
    if (old >= 0) {  /* overwrite */
        free(w->meta[old].s);
        w->meta[old].s = NULL;
        return &w->meta[old];
    }
    if (w->n_meta >= BLOB_MAX_META) {
        sal_errf(err, "blob writer: more than %d metadata entries", BLOB_MAX_META);
        return NULL;
    }
    if (w->n_meta == w->cap_meta) {
        int cap = w->cap_meta ? 2 * w->cap_meta : 16;
        wmeta_t *m = realloc(w->meta, (size_t)cap * sizeof *m);
        if (!m) { sal_errf(err, "blob writer: out of memory"); return NULL; }
        w->meta = m;
        w->cap_meta = cap;
    }
    wmeta_t *m = &w->meta[w->n_meta];
    memset(m, 0, sizeof *m);
    if (!(m->key = strdup(key)) || index_insert(&w->meta_names, m->key, w->n_meta)) {
        free(m->key);
        sal_errf(err, "blob writer: out of memory");
        return NULL;
    }
    w->n_meta++;
    return m;
}

int blob_writer_int(blob_writer_t *w, const char *key, int64_t v, sal_err_t *err) {
    wmeta_t *m = add_meta(w, key, err);
    if (!m) return -1;
    m->type = BLOB_META_INT;
    m->i = v;
    return 0;
}

int blob_writer_float(blob_writer_t *w, const char *key, double v, sal_err_t *err) {
    wmeta_t *m = add_meta(w, key, err);
    if (!m) return -1;
    m->type = BLOB_META_FLOAT;
    m->f = v;
    return 0;
}

int blob_writer_str(blob_writer_t *w, const char *key, const char *v, sal_err_t *err) {
    if (strlen(v) > MAX_STR) return sal_errf(err, "blob writer: string for '%s' too long", key);
    wmeta_t *m = add_meta(w, key, err);
    if (!m) return -1;
    m->type = BLOB_META_STR;
    if (!(m->s = strdup(v))) return sal_errf(err, "blob writer: out of memory");
    return 0;
}

int blob_writer_tensor(blob_writer_t *w, const char *name, dtype_t dt, int ndim,
                       const int64_t *shape, const void *data, int copy, sal_err_t *err) {
    if (check_key(name, err)) return -1;
    size_t esize = dtype_size(dt);
    if (!esize) return sal_errf(err, "blob writer: tensor '%s' has unknown dtype", name);
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS) return sal_errf(err, "blob writer: tensor '%s' has %d dims", name, ndim);
    if (index_lookup(&w->tensor_names, name) >= 0) return sal_errf(err, "blob writer: duplicate tensor '%s'", name);
    if (w->n_tensors >= BLOB_MAX_TENSORS) return sal_errf(err, "blob writer: more than %d tensors", BLOB_MAX_TENSORS);
    size_t nbytes = esize;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || sal_mul_size(nbytes, (size_t)shape[i], &nbytes))
            return sal_errf(err, "blob writer: tensor '%s' has a bad shape", name);
    if (w->n_tensors == w->cap_tensors) {
        int cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        wtensor_t *t = realloc(w->tensors, (size_t)cap * sizeof *t);
        if (!t) return sal_errf(err, "blob writer: out of memory");
        w->tensors = t;
        w->cap_tensors = cap;
    }
    wtensor_t *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return sal_errf(err, "blob writer: out of memory");
    t->dt = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->nbytes = nbytes;
    if (copy) {
        t->owned = malloc(nbytes ? nbytes : 1);
        if (!t->owned) {
            free(t->name);
            return sal_errf(err, "blob writer: out of memory for tensor '%s'", name);
        }
        if (nbytes) memcpy(t->owned, data, nbytes);
        t->data = t->owned;
    } else {
        t->data = data;
    }
    if (index_insert(&w->tensor_names, t->name, w->n_tensors)) {
        free(t->owned);
        free(t->name);
        return sal_errf(err, "blob writer: out of memory");
    }
    w->n_tensors++;
    return 0;
}

static uint64_t align_up(uint64_t v) { return (v + BLOB_ALIGN - 1) & ~(uint64_t)(BLOB_ALIGN - 1); }

/* Lays out the payloads and builds header + index (+ padding up to the first
 * payload) in one buffer. CRCs of payloads are computed here. */
static int build_head(blob_writer_t *w, uint8_t **head, size_t *head_size, uint64_t *file_size,
                      sal_err_t *err) {
    size_t isz = 0;
    for (int i = 0; i < w->n_meta; i++) {
        const wmeta_t *m = &w->meta[i];
        isz += 4 + strlen(m->key) + (m->type == BLOB_META_STR ? 4 + strlen(m->s) : 8);
    }
    for (int i = 0; i < w->n_tensors; i++)
        isz += 2 + strlen(w->tensors[i].name) + 2 + 8u * (size_t)w->tensors[i].ndim + 20;
    uint64_t data_off = align_up(HEADER_SIZE + isz), off = data_off;
    for (int i = 0; i < w->n_tensors; i++) {
        wtensor_t *t = &w->tensors[i];
        t->offset = off;
        off = align_up(off + t->nbytes);
        t->crc = crc32_of(t->data, t->nbytes);
    }
    uint64_t fsize = w->n_tensors ? w->tensors[w->n_tensors - 1].offset + w->tensors[w->n_tensors - 1].nbytes : data_off;
    uint8_t *h = calloc(1, (size_t)data_off);
    if (!h) return sal_errf(err, "blob writer: out of memory");
    uint8_t *p = h + HEADER_SIZE;
    for (int i = 0; i < w->n_meta; i++) {
        const wmeta_t *m = &w->meta[i];
        size_t kl = strlen(m->key);
        p[0] = (uint8_t)m->type;
        p[1] = 0;
        wr16(p + 2, (uint16_t)kl);
        memcpy(p + 4, m->key, kl);
        p += 4 + kl;
        if (m->type == BLOB_META_INT) { wr64(p, (uint64_t)m->i); p += 8; }
        else if (m->type == BLOB_META_FLOAT) { uint64_t u; memcpy(&u, &m->f, 8); wr64(p, u); p += 8; }
        else { size_t sl = strlen(m->s); wr32(p, (uint32_t)sl); memcpy(p + 4, m->s, sl); p += 4 + sl; }
    }
    for (int i = 0; i < w->n_tensors; i++) {
        const wtensor_t *t = &w->tensors[i];
        size_t nl = strlen(t->name);
        wr16(p, (uint16_t)nl);
        memcpy(p + 2, t->name, nl);
        p += 2 + nl;
        p[0] = (uint8_t)t->dt;
        p[1] = (uint8_t)t->ndim;
        p += 2;
        for (int k = 0; k < t->ndim; k++, p += 8) wr64(p, (uint64_t)t->shape[k]);
        wr64(p, t->offset);
        wr64(p + 8, t->nbytes);
        wr32(p + 16, t->crc);
        p += 20;
    }
    memcpy(h, BLOB_MAGIC, 8);
    wr32(h + 8, BLOB_VERSION);
    wr32(h + 12, HEADER_SIZE);
    wr64(h + 16, fsize);
    wr32(h + 24, (uint32_t)w->n_meta);
    wr32(h + 28, (uint32_t)w->n_tensors);
    wr64(h + 32, HEADER_SIZE);
    wr64(h + 40, isz);
    wr64(h + 48, data_off);
    wr32(h + 56, crc32_of(h + HEADER_SIZE, isz));
    wr32(h + 60, crc32_of(h, 60));
    *head = h;
    *head_size = (size_t)data_off;
    *file_size = fsize;
    return 0;
}

int blob_writer_save(blob_writer_t *w, const char *path, sal_err_t *err) {
    uint8_t *head;
    size_t hsize;
    uint64_t fsize;
    if (build_head(w, &head, &hsize, &fsize, err)) return sal_err_prefix(err, "%s", path);
    sal_atomic_t out;
    if (sal_atomic_begin(&out, path, err)) {
        free(head);
        return -1;
    }
    static const uint8_t zeros[BLOB_ALIGN];
    int ok = fwrite(head, 1, hsize, out.f) == hsize;
    uint64_t pos = hsize;
    for (int i = 0; ok && i < w->n_tensors; i++) {
        const wtensor_t *t = &w->tensors[i];
        if (t->offset > pos) ok = fwrite(zeros, 1, (size_t)(t->offset - pos), out.f) == t->offset - pos;
        if (ok && t->nbytes) ok = fwrite(t->data, 1, (size_t)t->nbytes, out.f) == t->nbytes;
        pos = t->offset + t->nbytes;
    }
    free(head);
    if (!ok || pos != fsize) { /* sal_atomic_end names a write error and its cause */
        sal_atomic_end(&out, 0, err);
        return ok ? sal_errf(err, "%s: wrote %llu of %llu bytes", path, (unsigned long long)pos, (unsigned long long)fsize) : -1;
    }
    return sal_atomic_end(&out, 1, err);
}

int blob_writer_to_memory(blob_writer_t *w, void **data, size_t *size, sal_err_t *err) {
    uint8_t *head;
    size_t hsize;
    uint64_t fsize;
    *data = NULL;
    *size = 0;
    if (build_head(w, &head, &hsize, &fsize, err)) return -1;
    if (fsize > SIZE_MAX) { free(head); return sal_errf(err, "blob writer: blob too large for memory"); }
    uint8_t *buf = sal_alloc_aligned((size_t)fsize, BLOB_ALIGN);
    if (!buf) { free(head); return sal_errf(err, "blob writer: out of memory (%llu bytes)", (unsigned long long)fsize); }
    memset(buf, 0, (size_t)fsize);
    memcpy(buf, head, hsize);
    free(head);
    for (int i = 0; i < w->n_tensors; i++)
        if (w->tensors[i].nbytes) memcpy(buf + w->tensors[i].offset, w->tensors[i].data, (size_t)w->tensors[i].nbytes);
    *data = buf;
    *size = (size_t)fsize;
    return 0;
}

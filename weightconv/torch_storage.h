/* torch_storage.h — torch.save containers and tensors, read without torch.
 *
 * Two containers exist:
 *  - legacy (torch < 1.6, and what Storage.__reduce__ still writes inside
 *    network pickles): five protocol-2 pickles in a row — magic number,
 *    protocol version, sys info, the object (storages appear as persistent
 *    ids), the list of storage keys — then per key an int64 element count
 *    and the raw little-endian elements;
 *  - zip (torch >= 1.6 default): "<prefix>/data.pkl" holds the object, each
 *    storage is the member "<prefix>/data/<key>".
 * Either way a storage is referenced by the persistent id
 *   ('storage', torch.FloatStorage, key, location, numel[, view_metadata]).
 *
 * A tensor is `_rebuild_tensor_v2(storage, offset, size, stride, ...)`
 * (possibly wrapped by `_rebuild_parameter`); element [i0..ik] lives at
 * storage[offset + sum(i_j * stride_j)]. Storages referenced as
 * `torch.storage._load_from_bytes(b'...')` (network pickles) are legacy
 * containers of their own and are parsed on demand.
 *
 * Data pointers point into the caller's buffer (mmapped file) or into
 * members the archive inflated; nothing is copied unless a tensor needs a
 * dtype conversion or is not contiguous (ts_tensor_to_f32).
 */
#ifndef SALIENT_TORCH_STORAGE_H
#define SALIENT_TORCH_STORAGE_H

#include "common.h"
#include "pickle.h"
#include "tensor.h"
#include "zip_reader.h"

/* Resource limits (a hostile file must fail fast with bounded memory).
 * The largest published StyleGAN2 generator pickle (FFHQ 1024x1024, with
 * G, D and G_ema) is about 380 MB; its biggest tensor has 4.7M elements.
 *  - TS_MAX_INFLATED_TOTAL: bytes a zip archive may inflate to in all,
 *    4x that pickle (1.5 GiB);
 *  - TS_MAX_INFLATE_RATIO: ... and at most this many times the archive's own
 *    size (torch.save stores members uncompressed; float weights deflate
 *    by ~1.1x, a deflate bomb by ~1000x);
 *  - TS_MAX_TENSOR_NUMEL: elements of one tensor (1 GiB as float32);
 *  - a tensor of more than TS_TINY_TENSOR_NUMEL elements may address at
 *    most TS_MAX_EXPANSION times as many elements as its storage holds
 *    (stride-0 or overlapping views repeat elements; saved networks do
 *    not, so a 700-byte file cannot expand into gigabytes). */
#define TS_MAX_INFLATED_TOTAL ((uint64_t)1536 << 20)
#define TS_MAX_INFLATE_RATIO 64
#define TS_MAX_TENSOR_NUMEL ((uint64_t)1 << 28)
#define TS_TINY_TENSOR_NUMEL ((uint64_t)1 << 16)
#define TS_MAX_EXPANSION 4
/* A whole converted network (all its float32 tensors) may take at most
 * TS_MAX_EXPANSION x 2 x (file bytes + inflated bytes) + 16 MiB (float16
 * storages double in size) and never more than TS_MAX_INFLATED_TOTAL. */
#define TS_NETWORK_SLACK_BYTES ((uint64_t)16 << 20)

typedef struct ts_storage {
    dtype_t dtype;
    const uint8_t *data;  /* numel little-endian elements (maybe unaligned) */
    uint64_t numel;
} ts_storage_t;

typedef struct ts_entry {
    const char *key;      /* points into a pickle node (lives with the ctx) */
    ts_storage_t st;
} ts_entry_t;

/* A parsed torch.save file (legacy or zip). */
typedef struct ts_archive {
    const char *name;
    pk_ctx_t *ctx;
    pk_node_t *root;      /* the saved object */
    ts_entry_t *entries;
    int n_entries;
    void **owned;         /* inflated zip members */
    int n_owned;
    const pk_global_t *globals_buf;  /* whitelist used for the data pickle */
    uint64_t inflated;    /* bytes of deflated zip members inflated in memory */
} ts_archive_t;

typedef struct ts_tensor {
    dtype_t dtype;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    int64_t stride[TENSOR_MAX_DIMS];  /* elements */
    int64_t offset;                   /* elements */
    ts_storage_t st;
} ts_tensor_t;

/* "FloatStorage" -> DT_F32 etc.; returns 0 and sets *dt, or -1. */
int ts_storage_dtype(const char *class_name, dtype_t *dt);
/* 1 if the buffer starts with the legacy torch.save magic pickle. */
int ts_is_legacy(const uint8_t *data, size_t len);

/* Parses a torch.save file (legacy or zip, detected from the bytes). The
 * data pickle is read with the given global whitelist (the storage classes
 * are always allowed in addition). */
int ts_archive_open(ts_archive_t *a, const uint8_t *data, size_t len, const char *name,
                    const pk_global_t *globals, int n_globals, sal_err_t *err);
/* A plain pickle (e.g. a network snapshot) as an archive without storages
 * of its own: its tensors reference `_load_from_bytes` blobs. */
int ts_archive_open_pickle(ts_archive_t *a, const uint8_t *data, size_t len, const char *name,
                           const pk_global_t *globals, int n_globals, sal_err_t *err);
void ts_archive_close(ts_archive_t *a);

/* Resolves a storage reference: a PK_PERSID (looked up in archive a, may
 * be NULL if none) or a `torch.storage._load_from_bytes(bytes)` object. */
int ts_resolve_storage(const ts_archive_t *a, const pk_node_t *node, const char *name, const char *what,
                       ts_storage_t *out, sal_err_t *err);

/* Interprets a tensor node (_rebuild_tensor_v2 / _rebuild_tensor /
 * _rebuild_parameter(_with_state)) and checks that every element it
 * addresses lies inside its storage. `what` names it in messages. */
int ts_tensor_from_node(const ts_archive_t *a, const pk_node_t *node, const char *name,
                        const char *what, ts_tensor_t *out, sal_err_t *err);
int64_t ts_tensor_numel(const ts_tensor_t *t);

/* float32, row-major data of the tensor. If it already is (f32, contiguous)
 * *data points into the storage and *owned = NULL; otherwise the values are
 * gathered/converted (f16, bf16, f64) into a new buffer *owned (free()). */
int ts_tensor_to_f32(const ts_tensor_t *t, const char *name, const char *what, const void **data,
                     float **owned, sal_err_t *err);

#endif

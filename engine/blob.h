/* blob.h — salient's weight file: one little-endian file with a versioned
 * header, typed key/value metadata (the network's config) and a table of
 * named tensors whose payloads are 64-byte aligned, so that the reader can
 * mmap the file and hand out pointers without copying. The byte layout is
 * documented in docs/blob-format.md.
 *
 * Reading never trusts the file: every offset, size, count, string length,
 * dtype and shape is validated (and each payload's CRC32 checked) before a
 * pointer is handed out; failures give one line "FILE: problem".
 */
#ifndef SALIENT_BLOB_H
#define SALIENT_BLOB_H

#include "common.h"
#include "tensor.h"

#define BLOB_MAGIC "SALBLOB\0"
#define BLOB_VERSION 1
#define BLOB_ALIGN 64
#define BLOB_MAX_NAME 255
/* Entry limits, far above real networks (the FFHQ 1024 generator has ~370
 * tensors and ~20 metadata keys; a fastgaze model ~150 tensors and ~1000
 * keys at the 256-layer maximum) and far below what could make the
 * validation slow: names are checked for duplicates by sorting, O(n log n). */
#define BLOB_MAX_TENSORS 16384
#define BLOB_MAX_META 16384

typedef enum blob_meta_type {
    BLOB_META_INT = 1,    /* int64 */
    BLOB_META_FLOAT = 2,  /* float64 */
    BLOB_META_STR = 3,    /* UTF-8, not NUL-terminated in the file */
} blob_meta_type_t;

typedef struct blob_meta {
    const char *key;
    blob_meta_type_t type;
    int64_t i;
    double f;
    const char *s;
} blob_meta_t;

typedef struct blob_tensor {
    const char *name;
    tensor_t t;        /* contiguous view into the mapped file */
    uint64_t offset;   /* payload offset in the file */
    uint64_t nbytes;
    uint32_t crc32;
} blob_tensor_t;

typedef struct blob blob_t;

/* Opens and validates a blob file (mmap). Checks every payload's CRC unless
 * check_crc is 0. On error returns -1, *out = NULL. */
int blob_open(blob_t **out, const char *path, int check_crc, sal_err_t *err);
/* Same for a blob image in memory; takes ownership of `data` (malloc'ed) if
 * `owned`; `name` is used in messages. data must be 64-byte aligned. */
int blob_open_memory(blob_t **out, void *data, size_t size, int owned, const char *name,
                     int check_crc, sal_err_t *err);
void blob_close(blob_t *b);

const char *blob_path(const blob_t *b);
int blob_meta_count(const blob_t *b);
const blob_meta_t *blob_meta_at(const blob_t *b, int i);
const blob_meta_t *blob_meta_find(const blob_t *b, const char *key);
int blob_tensor_count(const blob_t *b);
const blob_tensor_t *blob_tensor_at(const blob_t *b, int i);
const blob_tensor_t *blob_tensor_find(const blob_t *b, const char *name);

/* Typed lookups that report "FILE: missing metadata 'key'" / wrong type. */
int blob_get_int(const blob_t *b, const char *key, int64_t *out, sal_err_t *err);
int blob_get_float(const blob_t *b, const char *key, double *out, sal_err_t *err);
int blob_get_str(const blob_t *b, const char *key, const char **out, sal_err_t *err);
/* A float32 tensor with exactly this shape (ndim dims), else an error naming
 * the tensor, the expected and the actual shape. */
int blob_get_f32(const blob_t *b, const char *name, int ndim, const int64_t *shape,
                 const float **out, sal_err_t *err);

/* ---- writing ---------------------------------------------------------- */

typedef struct blob_writer blob_writer_t;

blob_writer_t *blob_writer_new(void);
void blob_writer_free(blob_writer_t *w);
int blob_writer_int(blob_writer_t *w, const char *key, int64_t v, sal_err_t *err);
int blob_writer_float(blob_writer_t *w, const char *key, double v, sal_err_t *err);
int blob_writer_str(blob_writer_t *w, const char *key, const char *v, sal_err_t *err);
/* Adds a tensor. If copy is 0, `data` must stay valid until the writer is
 * saved or freed (lets converters stream from an mmapped input); otherwise it
 * is copied now. Names must be unique, 1..255 bytes. */
int blob_writer_tensor(blob_writer_t *w, const char *name, dtype_t dt, int ndim,
                       const int64_t *shape, const void *data, int copy, sal_err_t *err);
/* Writes the file atomically (temp file + rename). */
int blob_writer_save(blob_writer_t *w, const char *path, sal_err_t *err);
/* Builds the file image in memory (64-byte aligned, free with sal_free_aligned). */
int blob_writer_to_memory(blob_writer_t *w, void **data, size_t *size, sal_err_t *err);

#endif

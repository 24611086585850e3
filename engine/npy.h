/* npy.h — numpy .npy files (format 1.0/2.0/3.0), float32 and float64 in C
 * order, little-endian; what we use for latents and float images. */
#ifndef SALIENT_NPY_H
#define SALIENT_NPY_H

#include "common.h"
#include "tensor.h"

/* A loaded array: dtype DT_F32 or DT_F64, contiguous, data malloc'ed.
 * Free with npy_free. */
typedef struct npy_array {
    dtype_t dtype;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    void *data;
} npy_array_t;

int npy_load(const char *path, npy_array_t *out, sal_err_t *err);
int npy_parse(const uint8_t *data, size_t size, const char *name, npy_array_t *out,
              sal_err_t *err);
void npy_free(npy_array_t *a);
/* Loads and converts to float32 (float64 values rounded). */
int npy_load_f32(const char *path, npy_array_t *out, sal_err_t *err);
/* Writes dtype DT_F32 or DT_F64, C order, atomically. */
int npy_save(const char *path, dtype_t dt, int ndim, const int64_t *shape, const void *data,
             sal_err_t *err);

#endif

/* tensor.h — a plain n-dimensional array view: dtype, shape, strides, data.
 *
 * A tensor never owns its memory: data points into an arena, an mmapped blob
 * or a caller's buffer. Strides are in elements (not bytes), like numpy's
 * strides divided by the item size. Shapes are written outermost first, as in
 * the shape comments everywhere in salient: (N, C, H, W).
 */
#ifndef SALIENT_TENSOR_H
#define SALIENT_TENSOR_H

#include <stdint.h>
#include <stddef.h>

#define TENSOR_MAX_DIMS 8

typedef enum dtype {
    DT_F32 = 1,   /* IEEE binary32 */
    DT_F16 = 2,   /* IEEE binary16 (storage only) */
    DT_BF16 = 3,  /* bfloat16 (storage only) */
    DT_F64 = 4,   /* IEEE binary64 */
    DT_I32 = 5,
    DT_I64 = 6,
    DT_U8 = 7,
} dtype_t;

typedef struct tensor {
    dtype_t dtype;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    int64_t stride[TENSOR_MAX_DIMS]; /* in elements */
    void *data;
} tensor_t;

/* Size of one element in bytes, or 0 for an unknown dtype. */
size_t dtype_size(dtype_t dt);
/* "f32", "f16", ... or NULL for an unknown dtype; and the reverse (0 if unknown). */
const char *dtype_name(dtype_t dt);
dtype_t dtype_from_name(const char *name);

/* A contiguous (row-major) tensor over data. ndim <= TENSOR_MAX_DIMS. */
tensor_t tensor_make(dtype_t dt, int ndim, const int64_t *shape, void *data);
/* Number of elements (product of the shape; 1 for a 0-d tensor). */
int64_t tensor_numel(const tensor_t *t);
/* 1 if the strides are the row-major ones for the shape. */
int tensor_is_contiguous(const tensor_t *t);
/* Formats the shape as "(2, 3, 4)" into buf. */
const char *tensor_shape_str(const tensor_t *t, char *buf, size_t len);

/* Conversions between float32 and the 16-bit storage formats (round to
 * nearest even, NaN preserved). */
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_bf16(float f);

#endif

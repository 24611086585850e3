/* wc_input.h — an input network file mapped read-only into memory, plus the
 * buffers a conversion made from it.
 *
 * Converters hand the blob writer pointers straight into the mapping
 * (copy = 0) whenever a stored tensor already is contiguous float32, so a
 * 360 MB pickle converts without a second copy in memory. Tensors that had
 * to be converted (f16 -> f32, strided) live in buffers owned here. Keep the
 * wc_input_t open until the writer has been saved or turned into memory.
 */
#ifndef SALIENT_WC_INPUT_H
#define SALIENT_WC_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct wc_input {
    char *path;
    const uint8_t *data;  /* the file's bytes */
    size_t size;
    void *map;            /* mmap base (NULL if the file is empty or given in memory) */
    size_t map_len;
    void **owned;         /* buffers freed by wc_input_close */
    int n_owned, cap_owned;
} wc_input_t;

/* Maps the file read-only. */
int wc_input_open(wc_input_t *in, const char *path, sal_err_t *err);
/* Wraps a caller's buffer (not freed by close); name is used in messages. */
int wc_input_from_memory(wc_input_t *in, const void *data, size_t size, const char *name,
                         sal_err_t *err);
/* Takes ownership of a malloc'ed buffer (freed even if this fails). */
int wc_input_own(wc_input_t *in, void *buf, sal_err_t *err);
void wc_input_close(wc_input_t *in);
/* The file name without directories (for messages and the `source` tag). */
const char *wc_basename(const char *path);

#endif

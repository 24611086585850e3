/* trace.h — `--trace DIR`: writes every named intermediate of a forward pass
 * as DIR/<name>.npy, one line per tensor in DIR/trace.txt (name, file,
 * shape, min, max, mean, std) and, for each feature map (N, C, H, W), a PNG
 * montage DIR/<name>.png of its first channels, so a student can look at
 * the computation block by block. trace_hook has the signature of
 * sg2_hook_fn and fg_hook_fn; errors are kept and reported by trace_close.
 */
#ifndef SALIENT_TRACE_H
#define SALIENT_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"

#define TRACE_MONTAGE_CHANNELS 16   /* channels shown per feature map */

typedef struct trace {
    char dir[1024];
    char prefix[64];   /* prepended to every name, e.g. "seed0003." (may be "") */
    FILE *txt;
    int count;
    int failed;        /* first error kept in err */
    sal_err_t err;
} trace_t;

/* Creates DIR and DIR/trace.txt (with a header line). */
int trace_open(trace_t *t, const char *dir, sal_err_t *err);
void trace_set_prefix(trace_t *t, const char *prefix);
/* The hook: writes one tensor (float32). */
void trace_hook(void *user, const char *name, int ndim, const int64_t *shape, const float *data);
/* Closes trace.txt; returns -1 with the first error of any hook call. */
int trace_close(trace_t *t, sal_err_t *err);

#endif

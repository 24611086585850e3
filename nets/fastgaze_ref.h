/* fastgaze_ref.h — the fastgaze saliency network as plain loops in double
 * precision: the version to read first, and the oracle the fast path
 * (nets/fastgaze.c) is tested against. The math: docs/saliency.md. */
#ifndef SALIENT_FASTGAZE_REF_H
#define SALIENT_FASTGAZE_REF_H

#include "fastgaze.h"

/* in (3, H, W) -> *map (out_h, out_w), malloc'ed, channel 0 of the last
 * layer; every layer's output is computed and kept in double. The hook (may
 * be NULL) sees each layer as float32, named as fg_forward_hooked names
 * them. 0, or -1 (out of memory). */
int fg_ref_forward(const fg_model_t *m, const double *in, int h, int w, fg_hook_fn hook,
                   void *hook_user, double **map, int *out_h, int *out_w, sal_err_t *err);

#endif

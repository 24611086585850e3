/* test_fastgaze.c — the fastgaze forward pass (nets/fastgaze.c on the fast
 * engine kernels) against the plain double-precision reference
 * (nets/fastgaze_ref.c: 3x3/1x1 "same" convolutions, ReLU, sign-bit leaky
 * ReLU, 2x2 ceil max-pooling, the blur layer ignored; docs/saliency.md).
 * Odd input sizes exercise the partial pooling windows. */
#include "check.h"

#include <stdint.h>

#include "blob.h"
#include "fastgaze.h"
#include "fastgaze_ref.h"
#include "vxm.h"

int main(void) {
    test_ctx_t t = test_begin("fastgaze");
    if (!test_need_shared(&t, "data/fastgaze.vxm")) return test_end(&t);
    char path[2048];
    test_shared(&t, "data/fastgaze.vxm", path, sizeof path);
    sal_err_t err = {{0}};
    blob_t *b = NULL;
    fg_model_t m;
    if (vxm_open_blob(path, &b, &err) || fg_load(&m, b, &err)) {
        CHECK(&t, 0, "%s", err.msg);
        return test_end(&t);
    }
    const int sizes[][2] = {{53, 41}, {17, 70}, {1, 1}, {33, 2}};
    uint32_t s = 7;
    for (int k = 0; k < 4; k++) {
        const int h = sizes[k][0], w = sizes[k][1];
        float *in = malloc(sizeof(float) * 3 * h * w);
        double *ind = malloc(sizeof(double) * 3 * h * w);
        for (int i = 0; i < 3 * h * w; i++) {   // pixel values minus the means, as in saliency.c
            s = s * 1664525u + 1013904223u;
            in[i] = (float)(s >> 24) + (i < h * w ? -103.939f : i < 2 * h * w ? -116.779f : -123.68f);
            ind[i] = in[i];
        }
        arena_t a;
        CHECK(&t, arena_init(&a, fg_arena_bytes(&m, h, w)) == 0, "arena");
        float *map;
        int oh, ow, rh, rw;
        CHECK(&t, fg_forward(&m, in, h, w, &a, &map, &oh, &ow, &err) == 0, "%s", err.msg);
        double *ref = NULL;
        CHECK(&t, fg_ref_forward(&m, ind, h, w, NULL, NULL, &ref, &rh, &rw, &err) == 0, "%s", err.msg);
        if (!ref) return test_end(&t);
        int eh = h, ew = w;
        for (int p = 0; p < 4; p++) { eh = (eh + 1) / 2; ew = (ew + 1) / 2; }
        CHECK(&t, oh == rh && ow == rw && oh == eh && ow == ew, "%dx%d: map %dx%d, want %dx%d", h, w,
              oh, ow, eh, ew);
        double maxd = 0, maxv = 0;
        for (int i = 0; i < oh * ow; i++) {
            maxd = fmax(maxd, fabs(map[i] - ref[i]));
            maxv = fmax(maxv, fabs(ref[i]));
        }
        printf("input %dx%d: map %dx%d, max |float32 - double| = %.3g (values up to %.3g)\n", h, w,
               oh, ow, maxd, maxv);
        CHECK(&t, maxd <= 1e-5, "%dx%d: max diff %.3g vs double", h, w, maxd);
        /* the arena size is exact enough: one byte less must fail cleanly */
        arena_t small;
        arena_init(&small, fg_arena_bytes(&m, h, w) - 64);
        CHECK(&t, fg_forward(&m, in, h, w, &small, &map, &oh, &ow, &err) != 0, "small arena accepted");
        arena_free(&small);
        arena_free(&a);
        free(ref);
        free(in);
        free(ind);
    }
    fg_free(&m);
    blob_close(b);
    return test_end(&t);
}

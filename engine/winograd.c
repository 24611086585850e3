/* winograd.c — the weight side of Winograd F(4x4,3x3) (see winograd.h):
 * U = G w G^T for every (output, input) channel pair, packed for the conv
 * microkernel. Runs once per layer when fast mode is requested. */
#include "winograd.h"

#include <string.h>

#include "common.h"

#define WINO_PACK_O 8 /* = CONV_PACK_O */

static const double WINO_G[6][3] = {
    {1.0 / 4, 0.0, 0.0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0.0, 0.0, 1.0},
};

float *winograd_weights(const float *w, int c_out, int c_in, size_t *len) {
    const size_t nob = ((size_t)c_out + WINO_PACK_O - 1) / WINO_PACK_O;
    size_t n, bytes;
    if (sal_mul_size((size_t)WINO_POINTS * nob * WINO_PACK_O, (size_t)c_in, &n) ||
        sal_mul_size(n, sizeof(float), &bytes))
        return NULL;
    float *u = sal_alloc_aligned(bytes, 64);
    if (!u) return NULL;
    memset(u, 0, bytes);
    // loop order ob, c, j: the 8 outputs of a block land in the same 36 cache lines
#pragma omp parallel for schedule(static)
    for (size_t ob = 0; ob < nob; ob++)
        for (size_t c = 0; c < (size_t)c_in; c++)
            for (size_t j = 0; j < WINO_PACK_O && ob * WINO_PACK_O + j < (size_t)c_out; j++) {
                const size_t o = ob * WINO_PACK_O + j;
                const float *g = w + (o * c_in + c) * 9; // (3, 3)
                double gw[6][3];                         // G g
                for (int a = 0; a < 6; a++)
                    for (int k = 0; k < 3; k++)
                        gw[a][k] = WINO_G[a][0] * g[k] + WINO_G[a][1] * g[3 + k] +
                                   WINO_G[a][2] * g[6 + k];
                for (int a = 0; a < 6; a++)
                    for (int b = 0; b < 6; b++) {
                        const double v = gw[a][0] * WINO_G[b][0] + gw[a][1] * WINO_G[b][1] +
                                         gw[a][2] * WINO_G[b][2]; // (G g G^T)[a][b]
                        const size_t xi = (size_t)a * 6 + b;
                        u[((xi * nob + ob) * c_in + c) * WINO_PACK_O + j] = (float)v;
                    }
            }
    *len = n;
    return u;
}

/* Placeholder until the transposed conv's Winograd kernel lands: no weights
 * means conv2d_transpose3x3_s2 keeps its direct kernel. */
float *winograd_t_weights(const float *w, int c_out, int c_in, size_t *len) {
    (void)w;
    (void)c_out;
    (void)c_in;
    *len = 0;
    return NULL;
}

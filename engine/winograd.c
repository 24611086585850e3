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

/* A zeroed, 64-byte aligned buffer for `points` transformed weights of every
 * (output, input) channel pair, output channels padded to blocks of 8:
 * *n = points * nob * 8 * c_in floats. NULL when out of memory. */
static float *alloc_transformed(size_t points, int c_out, int c_in, size_t *nob, size_t *n) {
    size_t bytes;
    *nob = ((size_t)c_out + WINO_PACK_O - 1) / WINO_PACK_O;
    if (sal_mul_size(points * *nob * WINO_PACK_O, (size_t)c_in, n) ||
        sal_mul_size(*n, sizeof(float), &bytes))
        return NULL;
    float *u = sal_alloc_aligned(bytes, 64);
    if (u) memset(u, 0, bytes);
    return u;
}

float *winograd_weights(const float *w, int c_out, int c_in, size_t *len) {
    size_t nob, n;
    float *u = alloc_transformed(WINO_POINTS, c_out, c_in, &nob, &n);
    if (!u) return NULL;
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

/* The transposed conv's classes (winograd.h, second part): the 1-D filter
 * transform of F(4,2) with points 0, 1, -1, 2, infinity. A 2-tap filter
 * h = (h0, h1) (h0 on the earlier input row / column) becomes G h, 5 values. */
static const double WINO_T_G[5][2] = {
    {1.0 / 2, 0.0},
    {1.0 / 2, 1.0 / 2},
    {1.0 / 6, -1.0 / 6},
    {1.0 / 6, 1.0 / 3},
    {0.0, 1.0},
};

/* The tap of the 2-tap filter t = 0 (input row a-1, weight row 2) or
 * t = 1 (row a, weight row 0); the same for columns. */
static int wino_t_tap(int t) { return t == 0 ? 2 : 0; }

float *winograd_t_weights(const float *w, int c_out, int c_in, size_t *len) {
    size_t nob, n;
    float *u = alloc_transformed(WINO_T_POINTS, c_out, c_in, &nob, &n);
    if (!u) return NULL;
#pragma omp parallel for schedule(static)
    for (size_t ob = 0; ob < nob; ob++)
        for (size_t c = 0; c < (size_t)c_in; c++)
            for (size_t j = 0; j < WINO_PACK_O && ob * WINO_PACK_O + j < (size_t)c_out; j++) {
                const size_t o = ob * WINO_PACK_O + j;
                const float *g = w + (o * c_in + c) * 9; // (3, 3), g[ky*3 + kx]
                double v[WINO_T_POINTS];
                // even/even: U[p][q] = sum_{t,s} G[p][t] G[q][s] g[ky(t)][kx(s)]
                for (int p = 0; p < 5; p++)
                    for (int q = 0; q < 5; q++) {
                        double acc = 0.0;
                        for (int t = 0; t < 2; t++)
                            for (int s = 0; s < 2; s++)
                                acc += WINO_T_G[p][t] * WINO_T_G[q][s] *
                                       g[wino_t_tap(t) * 3 + wino_t_tap(s)];
                        v[WINO_T_EE + p * 5 + q] = acc;
                    }
                for (int p = 0; p < 5; p++) {
                    // even/odd: column tap kx = 1, 2 taps in y
                    v[WINO_T_EO + p] = WINO_T_G[p][0] * g[wino_t_tap(0) * 3 + 1] +
                                       WINO_T_G[p][1] * g[wino_t_tap(1) * 3 + 1];
                    // odd/even: row tap ky = 1, 2 taps in x
                    v[WINO_T_OE + p] = WINO_T_G[p][0] * g[3 + wino_t_tap(0)] +
                                       WINO_T_G[p][1] * g[3 + wino_t_tap(1)];
                }
                v[WINO_T_OO] = g[4]; // odd/odd: the centre tap alone
                /* blocks of WINO_T_CB input channels, each (36, nob, cnt, 8) */
                const size_t cblk = c / WINO_T_CB, cl = c % WINO_T_CB;
                const size_t cnt = (size_t)c_in - cblk * WINO_T_CB < WINO_T_CB
                                       ? (size_t)c_in - cblk * WINO_T_CB
                                       : WINO_T_CB;
                float *ub = u + cblk * WINO_T_CB * WINO_T_POINTS * nob * WINO_PACK_O;
                for (int k = 0; k < WINO_T_POINTS; k++)
                    ub[(((size_t)k * nob + ob) * cnt + cl) * WINO_PACK_O + j] = (float)v[k];
            }
    *len = n;
    return u;
}

/* winograd.h — internal: Winograd F(4x4,3x3) for the fast mode of conv2d.
 *
 * A 4x4 block of a stride-1 3x3 convolution (cross-correlation) is computed
 * from the 6x6 input patch d around it (rows/columns -1 .. 4, zero outside
 * the image) as
 *
 *     Y = A^T [ U .* (B^T d B) ] A          U = G w G^T   (6x6, per o, c)
 *
 * summed over input channels in the transformed domain, i.e. 36 independent
 * (C_out x C_in) x (C_in x tiles) matrix products instead of 9 taps per
 * pixel: 36/16 = 2.25 multiplies per output value and input channel instead
 * of 9. Interpolation points 0, 1, -1, 2, -2, infinity:
 *
 *   B^T = [4  0 -5  0 1 0]   G = [ 1/4     0     0 ]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]       [-1/6  -1/6  -1/6 ]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]       [-1/6   1/6  -1/6 ]         [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]       [1/24  1/12   1/6 ]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]       [1/24 -1/12   1/6 ]
 *         [0  4  0 -5 0 1]       [  0     0     1  ]
 *
 * The kernels (engine/winograd_simd_body.h, compiled per ISA with the conv
 * kernels) do the input and output transforms with vectors over 4x4 tiles
 * and the products with the conv microkernel.
 */
#ifndef SALIENT_WINOGRAD_H
#define SALIENT_WINOGRAD_H

#include <stddef.h>

#define WINO_TILE 4    /* output tile side */
#define WINO_PATCH 6   /* input patch side */
#define WINO_POINTS 36 /* transformed values per tile */

/* U[xi][ob][c][j] = (G w[ob*8+j, c] G^T)[xi], xi = a*6 + b, computed in double,
 * 0 for output channels >= c_out. (36, ceil(c_out/8), c_in, 8) floats, 64-byte
 * aligned (free with sal_free_aligned); returns NULL when out of memory. */
float *winograd_weights(const float *w, int c_out, int c_in, size_t *len);

/* The transposed conv's fast mode (conv_weights_make_fast_transposed): the
 * Winograd weights of its four parity classes, layout in
 * engine/winograd_t_simd_body.h. NULL when out of memory. */
float *winograd_t_weights(const float *w, int c_out, int c_in, size_t *len);

#endif

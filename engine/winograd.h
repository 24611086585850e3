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

/* ## The stride-2 transposed 3x3 conv: Winograd F(4,2) per parity class
 *
 * out[2a+py, 2b+px] of the transposed conv (conv.h) splits into four
 * classes on the input grid (a = 0..H, b = 0..W, x = 0 outside the image):
 *
 *   EE (even/even): w00 x[a,b] + w02 x[a,b-1] + w20 x[a-1,b] + w22 x[a-1,b-1]
 *   EO (even/odd) : w01 x[a,b] + w21 x[a-1,b]
 *   OE (odd/even) : w10 x[a,b] + w12 x[a,b-1]
 *   OO (odd/odd)  : w11 x[a,b]
 *
 * Each direction with 2 taps is a 1-D correlation y[k] = h0 d[k] + h1 d[k+1]
 * (k = 0..3) over 5 inputs d[j] = x[a0-1+j]: h0 = the weight of row a-1
 * (ky = 2), h1 = that of row a (ky = 0); the same for columns. Winograd
 * F(4,2) (Toom-Cook, points 0, 1, -1, 2, infinity; transposed convolution
 * algorithm s = C[(G h) .* (A d)] gives y = A^T [(G h) .* (C^T d)], B^T = C^T,
 * rows rescaled so B^T is integer):
 *
 *   B^T = [2 -1 -2  1 0]     G = [1/2    0 ]     A^T = [1 1  1 1 0]
 *         [0  2  1 -1 0]         [1/2  1/2 ]           [0 1 -1 2 0]
 *         [0 -2  3 -1 0]         [1/6 -1/6 ]           [0 1  1 4 0]
 *         [0 -1  0  1 0]         [1/6  1/3 ]           [0 1 -1 8 1]
 *         [0  2 -1 -2 1]         [ 0    1  ]
 *
 * so  y = A^T [ (G h) .* (B^T d) ]. From one 5x5 input patch D (rows a0-1 ..
 * a0+3, columns b0-1 .. b0+3) a 4x4 block of class positions is
 *
 *   EE = A^T [ (G H G^T) .* (B^T D B) ] A        H = [w22 w20; w02 w00]  25 products
 *   EO = A^T [ (G h) .* (B^T D[:, 1..4]) ]       h = (w21, w01)        5 x 4 products
 *   OE = [ (D[1..4, :] B) .* (G h)^T ] A         h = (w12, w10)        4 x 5 products
 *   OO = w11 D[1..4, 1..4]                                              16 products
 *
 * 81 products per block and channel pair instead of 16 * 9 = 144 of the
 * direct sum. There are 36 distinct transformed weights per (o, c):
 *
 *   point k = 0..24: EE (p, q), k = p*5 + q;  25..29: EO row point p;
 *             30..34: OE column point q;        35: OO (w11 itself)
 *
 * The EO / OE points are shared by the 4 columns / rows of the block and OO
 * by all 16 positions: those products are GEMMs 4x and 16x wider.
 */
#define WINO_T_POINTS 36 /* transformed weights per (o, c) */
#define WINO_T_EE 0
#define WINO_T_EO 25
#define WINO_T_OE 30
#define WINO_T_OO 35

#define WINO_T_CB 32  /* input channels per weight block */

/* The transposed conv's fast mode (conv_weights_make_fast_transposed): the
 * 36 transformed weights U[k] per (o, c) above, computed in double, 0 for
 * output channels >= c_out, in blocks of WINO_T_CB input channels (the last
 * one may be shorter, cnt channels) so that the kernel's channel blocks read
 * one contiguous stretch per point:
 *   (ceil(c_in/32), 36, ceil(c_out/8), cnt, 8)  floats, 64-byte aligned,
 *   U[k][o = ob*8 + j][c = b*32 + cl] at b*32*36*nob*8 + ((k*nob + ob)*cnt + cl)*8 + j
 * NULL when out of memory. Used by engine/winograd_t_simd_body.h. */
float *winograd_t_weights(const float *w, int c_out, int c_in, size_t *len);

#endif

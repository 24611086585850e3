/* gemm.h — matrix products for the fully connected layers.
 *
 *   c[i,j] = sum_l a[i,l] * b[j,l]      (A times B transposed, row-major)
 * a (M, K), b (N, K), c (M, N). This is `x @ W^T` of a linear layer with
 * weight W (out, in). Dispatches on cpu_isa(); optionally uses OpenBLAS when
 * built with `make BLAS=openblas`. gemm_nt_ref is the naive loop (double
 * accumulation is NOT used: float32 like the fast path).
 */
#ifndef SALIENT_GEMM_H
#define SALIENT_GEMM_H

void gemm_nt(int m, int n, int k, const float *a, const float *b, float *c);
void gemm_nt_ref(int m, int n, int k, const float *a, const float *b, float *c);

#endif

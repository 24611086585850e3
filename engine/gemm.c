/* gemm.c — c = a b^T for the fully connected layers (see gemm.h).
 *
 * gemm_nt_ref is the naive triple loop (float32 accumulation); gemm_nt uses
 * OpenBLAS when built with `make BLAS=openblas`, otherwise the blocked SIMD
 * version for the current ISA (conv_simd_body.h).
 */
#include "gemm.h"

#include <stddef.h>

#include "conv_impl.h"
#include "cpu.h"
#ifdef SALIENT_OPENBLAS
#include <cblas.h>
#endif

// a (M, K), b (N, K) -> c (M, N):  c[i,j] = sum_l a[i,l] * b[j,l]
void gemm_nt_ref(int m, int n, int k, const float *a, const float *b, float *c) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int l = 0; l < k; l++) acc += a[(size_t)i * k + l] * b[(size_t)j * k + l];
            c[(size_t)i * n + j] = acc;
        }
}

void gemm_nt(int m, int n, int k, const float *a, const float *b, float *c) {
    if (m <= 0 || n <= 0) return;
#ifdef SALIENT_OPENBLAS
    if (k > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c,
                    n);
        return;
    }
#endif
    switch (cpu_isa()) {
    case ISA_AVX512: gemm_nt_fast_avx512(m, n, k, a, b, c); break;
    case ISA_AVX2: gemm_nt_fast_avx2(m, n, k, a, b, c); break;
    case ISA_GENERIC: gemm_nt_fast_generic(m, n, k, a, b, c); break;
    }
}

/* conv_avx512.c — the fast kernels for AVX-512 F/BW/DQ/VL (16 floats per vector).
 *
 * Only the vector vocabulary lives here; the algorithms are in
 * conv_simd_body.h. Microkernel: 8 output channels x 3 vectors (48 pixels):
 * 24 accumulators + 3 input vectors, weights broadcast straight from memory
 * into the FMA ({1to16}). Compiled with -mavx512*; entered only when
 * cpu_isa() == ISA_AVX512.
 */
#include <immintrin.h>

#include "conv_impl.h"

#define VF __m512
#define V 16
#define VZERO() _mm512_setzero_ps()
#define VSET1(s) _mm512_set1_ps(s)
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMIN(a, b) _mm512_min_ps((a), (b))
#define VRELU(v) _mm512_max_ps((v), _mm512_setzero_ps())
#define VLRELU(v, s)                                                                   \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((v), _mm512_setzero_ps(), _CMP_GT_OQ),   \
                         _mm512_mul_ps((v), (s)), (v))
#define VHSUM(v) _mm512_reduce_add_ps(v)
#define VZIP(e, o, lo, hi)                                                                 \
    do {                                                                                   \
        const __m512i il_ = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, \
                                             16, 0);                                       \
        const __m512i ih_ = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,  \
                                             25, 9, 24, 8);                                \
        (lo) = _mm512_permutex2var_ps((e), il_, (o));                                      \
        (hi) = _mm512_permutex2var_ps((e), ih_, (o));                                      \
    } while (0)
#define VKEEP(v) __asm__("" : "+v"(v))
#define MK_O 8
#define MK_X 3
#define KFN(name) name##_avx512

#include "conv_simd_body.h"

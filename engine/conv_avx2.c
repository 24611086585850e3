/* conv_avx2.c — the fast kernels for AVX2 + FMA (8 floats per vector).
 *
 * Only the vector vocabulary lives here; the algorithms are in
 * conv_simd_body.h. Microkernel: 4 output channels x 3 vectors (24 pixels):
 * 12 accumulators + 3 input vectors + 1 broadcast weight = all 16 ymm.
 * Compiled with -mavx2 -mfma; entered only when cpu_isa() >= ISA_AVX2.
 */
#include <immintrin.h>

#include "conv_impl.h"

static inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

#define VF __m256
#define V 8
#define VZERO() _mm256_setzero_ps()
#define VSET1(s) _mm256_set1_ps(s)
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VBCAST(p) _mm256_broadcast_ss(p)
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VRELU(v) _mm256_max_ps((v), _mm256_setzero_ps())
#define VLRELU(v, s)                                                                   \
    _mm256_blendv_ps(_mm256_mul_ps((v), (s)), (v),                                     \
                     _mm256_cmp_ps((v), _mm256_setzero_ps(), _CMP_GT_OQ))
#define VHSUM(v) hsum_avx2(v)
#define VZIP(e, o, lo, hi)                                                             \
    do {                                                                               \
        __m256 l_ = _mm256_unpacklo_ps((e), (o)), h_ = _mm256_unpackhi_ps((e), (o));   \
        (lo) = _mm256_permute2f128_ps(l_, h_, 0x20);                                   \
        (hi) = _mm256_permute2f128_ps(l_, h_, 0x31);                                   \
    } while (0)
/* 4x4 transposes inside each 128-bit half (a, b, c, d -> rows 0..3) */
#define V4X4(a, b, c, d, r0, r1, r2, r3)                                               \
    do {                                                                               \
        __m256 t0_ = _mm256_unpacklo_ps((a), (b)), t1_ = _mm256_unpackhi_ps((a), (b));  \
        __m256 t2_ = _mm256_unpacklo_ps((c), (d)), t3_ = _mm256_unpackhi_ps((c), (d));  \
        (r0) = _mm256_shuffle_ps(t0_, t2_, 0x44);                                      \
        (r1) = _mm256_shuffle_ps(t0_, t2_, 0xEE);                                      \
        (r2) = _mm256_shuffle_ps(t1_, t3_, 0x44);                                      \
        (r3) = _mm256_shuffle_ps(t1_, t3_, 0xEE);                                      \
    } while (0)
#define VLOAD2X4(p, hi) _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)),     \
                                              _mm_loadu_ps(hi), 1)
/* VDEINT4(p, r0..r3): r_k[l] = p[4l + k], l = 0..7 (reads p[0..31]) */
#define VDEINT4(p, r0, r1, r2, r3)                                                     \
    do {                                                                               \
        const float *p_ = (p);                                                         \
        V4X4(VLOAD2X4(p_, p_ + 16), VLOAD2X4(p_ + 4, p_ + 20), VLOAD2X4(p_ + 8, p_ + 24), \
             VLOAD2X4(p_ + 12, p_ + 28), r0, r1, r2, r3);                               \
    } while (0)
/* VINT4(p, r0..r3): p[4l + k] = r_k[l] (writes p[0..31]) */
#define VINT4(p, r0, r1, r2, r3)                                                       \
    do {                                                                               \
        float *p_ = (p);                                                               \
        __m256 a_, b_, c_, d_;                                                         \
        V4X4((r0), (r1), (r2), (r3), a_, b_, c_, d_);                                  \
        _mm_storeu_ps(p_, _mm256_castps256_ps128(a_));                                 \
        _mm_storeu_ps(p_ + 16, _mm256_extractf128_ps(a_, 1));                          \
        _mm_storeu_ps(p_ + 4, _mm256_castps256_ps128(b_));                             \
        _mm_storeu_ps(p_ + 20, _mm256_extractf128_ps(b_, 1));                          \
        _mm_storeu_ps(p_ + 8, _mm256_castps256_ps128(c_));                             \
        _mm_storeu_ps(p_ + 24, _mm256_extractf128_ps(c_, 1));                          \
        _mm_storeu_ps(p_ + 12, _mm256_castps256_ps128(d_));                            \
        _mm_storeu_ps(p_ + 28, _mm256_extractf128_ps(d_, 1));                          \
    } while (0)
#define VKEEP(v) ((void)0) /* not needed: MK_TAP below chooses its own registers */
#define MK_O 4
#define MK_X 3

/* One tap of the 4 x 3 microkernel: acc[o][x] += w[o] * in[x*8 .. x*8+7].
 * Written as assembly because the block needs all 16 ymm registers (12
 * accumulators, 3 inputs, 1 broadcast weight) and the compiler's register
 * allocator spills at that pressure; here the accumulators are operands
 * the compiler keeps in ymm0..11 and ymm12..15 are scratch. */
#define MK_TAP(acc, ip, wt)                                                               \
    __asm__("vmovups (%[p]), %%ymm12\n\t"                                                 \
            "vmovups 32(%[p]), %%ymm13\n\t"                                               \
            "vmovups 64(%[p]), %%ymm14\n\t"                                               \
            "vbroadcastss (%[w]), %%ymm15\n\t"                                            \
            "vfmadd231ps %%ymm12, %%ymm15, %[a00]\n\t"                                    \
            "vfmadd231ps %%ymm13, %%ymm15, %[a01]\n\t"                                    \
            "vfmadd231ps %%ymm14, %%ymm15, %[a02]\n\t"                                    \
            "vbroadcastss 4(%[w]), %%ymm15\n\t"                                           \
            "vfmadd231ps %%ymm12, %%ymm15, %[a10]\n\t"                                    \
            "vfmadd231ps %%ymm13, %%ymm15, %[a11]\n\t"                                    \
            "vfmadd231ps %%ymm14, %%ymm15, %[a12]\n\t"                                    \
            "vbroadcastss 8(%[w]), %%ymm15\n\t"                                           \
            "vfmadd231ps %%ymm12, %%ymm15, %[a20]\n\t"                                    \
            "vfmadd231ps %%ymm13, %%ymm15, %[a21]\n\t"                                    \
            "vfmadd231ps %%ymm14, %%ymm15, %[a22]\n\t"                                    \
            "vbroadcastss 12(%[w]), %%ymm15\n\t"                                          \
            "vfmadd231ps %%ymm12, %%ymm15, %[a30]\n\t"                                    \
            "vfmadd231ps %%ymm13, %%ymm15, %[a31]\n\t"                                    \
            "vfmadd231ps %%ymm14, %%ymm15, %[a32]"                                         \
            : [a00] "+x"(acc[0][0]), [a01] "+x"(acc[0][1]), [a02] "+x"(acc[0][2]),         \
              [a10] "+x"(acc[1][0]), [a11] "+x"(acc[1][1]), [a12] "+x"(acc[1][2]),         \
              [a20] "+x"(acc[2][0]), [a21] "+x"(acc[2][1]), [a22] "+x"(acc[2][2]),         \
              [a30] "+x"(acc[3][0]), [a31] "+x"(acc[3][1]), [a32] "+x"(acc[3][2])          \
            : [p] "r"(ip), [w] "r"(wt), "m"(*(const float(*)[24])(ip)),                  \
              "m"(*(const float(*)[4])(wt))                                                \
            : "ymm12", "ymm13", "ymm14", "ymm15")
#define KFN(name) name##_avx2

#include "conv_simd_body.h"

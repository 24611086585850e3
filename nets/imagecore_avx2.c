/* imagecore_avx2.c — the inner loop of imagecore's Lanczos downsampling with
 * AVX2 (8 lanes of int32): acc[i] += cf * src[i] for a row of uint8 samples.
 *
 * The portable loop in imagecore.c compiles to SSE2 there, which has no
 * 32-bit multiply; this version widens 8 bytes to 8 int32 and multiplies
 * them with one instruction. Integer arithmetic: the same results bit for
 * bit. Compiled with -mavx2; called only when cpu_isa() >= ISA_AVX2.
 */
#include <immintrin.h>

#include "imagecore.h"

void imagecore_row_madd_avx2(int32_t *acc, const uint8_t *src, size_t n, int32_t cf) {
    const __m256i c = _mm256_set1_epi32(cf);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i s = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(src + i)));
        const __m256i a = _mm256_loadu_si256((const __m256i *)(acc + i));
        _mm256_storeu_si256((__m256i *)(acc + i), _mm256_add_epi32(a, _mm256_mullo_epi32(s, c)));
    }
    for (; i < n; i++) acc[i] += cf * src[i];
}

/* conv_generic.c — the fast kernels in portable C (one float per "vector").
 *
 * The same blocked algorithms as the SIMD versions (conv_simd_body.h) with
 * V = 1: a 4 x 4 register block of scalar accumulators. Used when the CPU
 * has neither AVX2 nor AVX-512, or when SALIENT_ISA=generic.
 */
#include "conv_impl.h"

static inline float relu_generic(float v) { return v > 0.0f ? v : 0.0f; }
static inline float lrelu_generic(float v, float s) { return v > 0.0f ? v : v * s; }
static inline float max_generic(float a, float b) { return a > b ? a : b; } /* b if NaN */
static inline float min_generic(float a, float b) { return a < b ? a : b; } /* b if NaN */

#define VF float
#define V 1
#define VZERO() 0.0f
#define VSET1(s) (s)
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VBCAST(p) (*(p))
#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VMAX(a, b) max_generic((a), (b))
#define VMIN(a, b) min_generic((a), (b))
#define VRELU(v) relu_generic(v)
#define VLRELU(v, s) lrelu_generic((v), (s))
#define VHSUM(v) (v)
#define VKEEP(v) ((void)0)
#define MK_O 4
#define MK_X 4
#define KFN(name) name##_generic

#include "conv_simd_body.h"

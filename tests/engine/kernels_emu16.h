/* kernels_emu16.h — the fast kernels (engine/conv_simd_body.h, with the
 * Winograd bodies it includes) with a portable 16-lane vector vocabulary:
 * the AVX-512 shape of every algorithm (V = 16, MK_O = 8) on any CPU, as
 * conv2d_fast_emu16, conv_t3s2_wino_emu16 and so on. A test program
 * (tests/engine/test_conv.c, test_winograd_t.c) includes it for the
 * declarations; kernels_emu16.c defines KERNELS_EMU16_BODY and compiles the
 * bodies once.
 */
#ifndef SALIENT_TEST_KERNELS_EMU16_H
#define SALIENT_TEST_KERNELS_EMU16_H

#include <stdint.h>
#include <string.h>

#include "conv_impl.h"

CONV_DECLARE_ISA(emu16)

#ifdef KERNELS_EMU16_BODY

/* (64-byte vectors passed between static functions: no ABI is involved) */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
static inline v16f e16_load(const float *p) { v16f v; memcpy(&v, p, sizeof v); return v; }
static inline v16f e16_set1(float s) { v16f v = {0}; return v + s; }
/* helpers that take vectors are macros (GNU statement expressions), so no
 * 64-byte vector is ever passed as a parameter */
#define e16_store(p, v) ({ v16f t_ = (v); memcpy((p), &t_, sizeof t_); })
#define e16_sel(m, a, b) ({ v16i m_ = (m); (v16f)((m_ & (v16i)(a)) | (~m_ & (v16i)(b))); })
#define e16_max(a, b) ({ v16f a_ = (a), b_ = (b); e16_sel(a_ > b_, a_, b_); }) /* b if NaN */
#define e16_min(a, b) ({ v16f a_ = (a), b_ = (b); e16_sel(a_ < b_, a_, b_); })
#define e16_hsum(v) ({ v16f v_ = (v); float s_ = 0; for (int i_ = 0; i_ < 16; i_++) s_ += v_[i_]; s_; })
#define e16_zip(e, o, lo, hi)                                                          \
    ({                                                                                 \
        v16f e_ = (e), o_ = (o);                                                       \
        for (int i_ = 0; i_ < 8; i_++) {                                               \
            (*lo)[2 * i_] = e_[i_]; (*lo)[2 * i_ + 1] = o_[i_];                         \
            (*hi)[2 * i_] = e_[8 + i_]; (*hi)[2 * i_ + 1] = o_[8 + i_];                 \
        }                                                                              \
    })
#define VF v16f
#define V 16
#define VZERO() e16_set1(0.0f)
#define VSET1(s) e16_set1(s)
#define VLOAD(p) e16_load(p)
#define VSTORE(p, v) e16_store((p), (v))
#define VBCAST(p) e16_set1(*(p))
#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VMAX(a, b) e16_max((a), (b))
#define VMIN(a, b) e16_min((a), (b))
#define VRELU(v) e16_max((v), e16_set1(0.0f))
#define VLRELU(v, s) ({ v16f v2_ = (v); e16_sel(v2_ > e16_set1(0.0f), v2_, v2_ * (s)); })
#define VHSUM(v) e16_hsum(v)
#define VZIP(e, o, lo, hi) e16_zip((e), (o), &(lo), &(hi))
#define VKEEP(v) ((void)0)
#define MK_O 8
#define MK_X 3
#define KFN(name) name##_emu16
#include "conv_simd_body.h"
#endif /* KERNELS_EMU16_BODY */

#endif

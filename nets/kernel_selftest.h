/* kernel_selftest.h — start-up self-check of the SIMD kernels on this CPU.
 *
 * The kernels are compiled three times (AVX-512, AVX2, portable C) and the
 * best version the CPU supports is picked at run time (cpu.h). A wrong
 * intrinsic would give wrong images silently, so before the first network
 * pass a program runs every kernel family it will use on a small
 * deterministic problem (a few ms) and compares it with the naive reference
 * loop (engine/conv_ref.c, gemm_nt_ref, the lane-by-lane IDCT, the scalar
 * resizer loop). The error measure is max |fast - ref| / max |ref| over the
 * outputs, against the kernels' documented tolerance (conv.h / winograd.h:
 * 1e-5 for the direct sums, 5e-5 for Winograd, 0 for the integer IDCT and
 * resizer, which are bit exact).
 *
 * Where the chosen ISA lives: cpu_isa() has no state of its own -- it is
 * min(what the CPU has, $SALIENT_ISA), read on every call. The self-check
 * does not change anything either: ks_startup() only says which ISA passed.
 * The program (the subcommand's entry point, i.e. main's side) then applies
 * that choice with setenv("SALIENT_ISA", ...) -- the same documented knob a
 * user turns by hand -- before it loads and runs any network, so the ~20
 * kernel call sites and their signatures stay as they are and no library
 * code holds a mutable global. (The explicit alternative, an isa field
 * passed into every conv2d / gemm_nt / fir / resizer call, touches every net
 * and test; the environment is the one place cpu_isa() already reads.)
 *
 * SALIENT_SELFTEST=0 skips the start-up check. Test hook:
 * SALIENT_SELFTEST_BREAK=ISA:KERNEL (e.g. avx512:conv3x3) perturbs one output
 * of that kernel inside the check, so the check must catch it.
 */
#ifndef SALIENT_KERNEL_SELFTEST_H
#define SALIENT_KERNEL_SELFTEST_H

#include "common.h"
#include "cpu.h"

/* The kernel families (bit set). */
enum {
    KS_CONV3 = 1 << 0,   /* conv2d 3x3, direct (exact mode) */
    KS_CONV1 = 1 << 1,   /* conv2d 1x1 */
    KS_TCONV = 1 << 2,   /* conv2d_transpose3x3_s2, direct */
    KS_FIR = 1 << 3,     /* fir4x4_down_pad1 */
    KS_GEMM = 1 << 4,    /* gemm_nt */
    KS_WINO = 1 << 5,    /* conv2d 3x3, Winograd F(4x4,3x3) (fast mode) */
    KS_WINO_T = 1 << 6,  /* the transposed conv, Winograd F(4,2) (fast mode) */
    KS_IDCT = 1 << 7,    /* the JPEG decoder's x86 (SSE2) IDCTs */
    KS_RESIZE = 1 << 8,  /* imagecore's Lanczos downsampling inner loop */
    KS_COUNT = 9
};
/* What the programs use: the generator, the saliency model (images in),
 * and the extra kernels of --fast. */
#define KS_GENERATOR (KS_CONV3 | KS_CONV1 | KS_TCONV | KS_FIR | KS_GEMM)
#define KS_SALIENCY (KS_CONV3 | KS_CONV1 | KS_IDCT | KS_RESIZE)
#define KS_FAST (KS_WINO | KS_WINO_T)
#define KS_ALL ((1u << KS_COUNT) - 1)

/* The name of one family ("conv3x3", ...), or NULL if `kernel` is not one bit. */
const char *ks_kernel_name(unsigned kernel);

typedef struct ks_result {
    unsigned kernel;
    isa_t isa;
    double max_err; /* max |fast - ref| / max |ref| */
    double tol;
    int pass;
    double ms;      /* fast + reference, wall time */
} ks_result_t;

/* Runs one family with the given ISA's kernels (which the CPU must have) on
 * its test problem. Returns 0 (r filled; r->pass says the verdict), or -1
 * if memory ran out. */
int ks_check(unsigned kernel, isa_t isa, ks_result_t *r, sal_err_t *err);

/* The start-up check: every family in `kernels` with cpu_isa(); on a
 * mismatch the next lower ISA (AVX-512 -> AVX2 -> generic), until one
 * passes. The IDCT is SSE2 code at every level: it is checked once and a
 * mismatch is reported without a fallback. Returns 0, or -1 (out of memory). */
typedef struct ks_startup {
    int skipped;          /* SALIENT_SELFTEST=0 */
    isa_t first, chosen;  /* cpu_isa() before, the ISA that passed */
    int all_failed;       /* even the portable kernels failed (chosen = generic) */
    double ms;            /* time of the whole check */
    int nfail;            /* failures recorded below: the IDCT's, then the first of each ISA tried */
    ks_result_t fail[4];
    char message[4][200]; /* one line per failure, for the program to print */
} ks_startup_t;
int ks_startup(unsigned kernels, ks_startup_t *out, sal_err_t *err);

/* A JSON object describing the outcome (for run records), e.g.
 * {"first": "avx512", "chosen": "avx2", "ms": 3.1, "failed": [{"isa": ..., "kernel": ...,
 * "max_err": ..., "tol": ...}]}; "skipped": true when skipped. Returns the length
 * written (snprintf semantics). */
int ks_startup_json(const ks_startup_t *s, char *buf, size_t len);

#endif

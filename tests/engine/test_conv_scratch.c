/* test_conv_scratch.c — a fast kernel that cannot get its scratch memory
 * reports it (returns -1) instead of silently running the reference loop.
 *
 * A child process limits its address space (RLIMIT_AS) to what it already
 * uses plus 1 MiB, then calls conv2d, conv2d_transpose3x3_s2 and
 * upsample2x_fir, and the adjoint kernels conv2d_s2_3x3, fir4x4_up_pad2 and
 * downsample2x_fir, on shapes whose scratch (the padded input tile, the
 * filtered rows) needs more: each must return -1. Before the limit the same calls return 0 and
 * match the reference. (Under AddressSanitizer, whose shadow memory needs
 * the address space, only the second part runs.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "conv.h"
#include "cpu.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

enum { CI = 64, CO = 8, H = 4, W = 4096 };

int main(void) {
    test_ctx_t t = test_begin("conv_scratch");
    threads_set(1); /* no thread stacks to create under the limit */
    test_rng_t r = {42};
    float *x = test_rand_array(&r, (size_t)CI * H * W), *w = test_rand_array(&r, (size_t)CO * CI * 9);
    float *got = calloc((size_t)CO * (2 * H + 1) * (2 * W + 1), sizeof(float));
    float *want = calloc((size_t)CO * (2 * H + 1) * (2 * W + 1), sizeof(float));
    conv_weights_t cw;
    sal_err_t err = {{0}};
    CHECK(&t, conv_weights_init(&cw, w, CO, CI, 3, &err) == 0, "weights: %s", err.msg);
    const float f[4] = {0.125f, 0.375f, 0.375f, 0.125f};

    /* with memory: 0 and the reference's values */
    CHECK(&t, conv2d(&cw, x, got, 1, H, W, NULL, NULL) == 0, "conv2d returns 0");
    conv2d_ref(&cw, x, want, 1, H, W, NULL);
    CHECK(&t, test_max_abs_diff(got, want, (size_t)CO * H * W) < 1e-4, "conv2d = reference");
    CHECK(&t, conv2d_transpose3x3_s2(&cw, x, NULL, got, 1, H, W / 4, NULL) == 0, "tconv returns 0");
    CHECK(&t, upsample2x_fir(x, got, 4, H, W, f, 4.0f, 0, NULL) == 0, "upsample returns 0");
    /* the adjoints' inputs and outputs, allocated before the limit */
    enum { WIDE = 1 << 20 };
    float *s2_in = calloc((size_t)CI * 3 * (2 * 2048 + 1), sizeof(float));   /* (64, 3, 4097) */
    float *wide_in = calloc((size_t)4 * WIDE, sizeof(float));                  /* (1, 2, 2 WIDE) */
    float *wide_out = calloc((size_t)2 * (WIDE + 1), sizeof(float));          /* (1, 2, WIDE + 1) */
    conv_weights_t cwa;
    float *wt = NULL;
    CHECK(&t, s2_in && wide_in && wide_out, "out of memory");
    CHECK(&t, conv_weights_init_adjoint(&cwa, &wt, w, CO, CI, 0, &err) == 0, "adjoint weights: %s", err.msg);
    CHECK(&t, conv2d_s2_3x3(&cwa, got, want, 1, 1, 4, NULL, NULL) == 0, "conv2d_s2_3x3 returns 0");
    CHECK(&t, fir4x4_up_pad2(x, got, 1, 4, 4, f, 4.0f, NULL) == 0, "fir4x4_up_pad2 returns 0");
    CHECK(&t, downsample2x_fir(x, got, 1, 4, 4, f, 4.0f, NULL) == 0, "downsample2x_fir returns 0");

    if (!SANITIZED) {
        pid_t pid = fork();
        if (pid == 0) {
            const long used = test_vm_bytes();
            struct rlimit lim = {(rlim_t)(used + (1L << 20)), (rlim_t)(used + (1L << 20))};
            if (used < 0 || setrlimit(RLIMIT_AS, &lim) != 0) _exit(10);
            int bits = 0;
            bits |= (conv2d(&cw, x, got, 1, H, W, NULL, NULL) == -1) << 0;              /* tile: 64 ch x 3 rows x 4097: 3 MiB */
            bits |= (conv2d_transpose3x3_s2(&cw, x, NULL, got, 1, H, W, NULL) == -1) << 1;
            bits |= (upsample2x_fir(x, got, 1, 1, 1 << 20, f, 4.0f, 0, NULL) == -1) << 2; /* 3 rows of 2M floats */
            bits |= (conv2d_s2_3x3(&cw, s2_in, got, 1, 1, 2048, NULL, NULL) == -1) << 3;   /* 64 ch x 4 classes x 2049 */
            bits |= (fir4x4_up_pad2(x, wide_out, 1, 1, WIDE, f, 4.0f, NULL) == -1) << 4;   /* 5 rows of 1M floats */
            bits |= (downsample2x_fir(wide_in, wide_out, 1, 1, WIDE, f, 4.0f, NULL) == -1) << 5; /* 4 rows of 1M */
            _exit(bits);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        CHECK(&t, code != 10, "child could not set its memory limit");
        CHECK(&t, code >= 0 && (code & 1), "conv2d without scratch memory returns -1 (exit %d)", code);
        CHECK(&t, code >= 0 && (code & 2), "transposed conv without scratch memory returns -1 (exit %d)", code);
        CHECK(&t, code >= 0 && (code & 4), "upsample2x_fir without scratch memory returns -1 (exit %d)", code);
        CHECK(&t, code >= 0 && (code & 8), "conv2d_s2_3x3 without scratch memory returns -1 (exit %d)", code);
        CHECK(&t, code >= 0 && (code & 16), "fir4x4_up_pad2 without scratch memory returns -1 (exit %d)", code);
        CHECK(&t, code >= 0 && (code & 32), "downsample2x_fir without scratch memory returns -1 (exit %d)", code);
    }
    conv_weights_free(&cwa);
    free(wt);
    free(s2_in); free(wide_in); free(wide_out);
    conv_weights_free(&cw);
    free(x); free(w); free(got); free(want);
    return test_end(&t);
}

/* test_kernel_workspace.c — the nets size every kernel's scratch once, so a
 * pass allocates nothing for its kernels (the workspace rule, engine/conv.h).
 *
 * A random-weight 256 px generator (64 channels, batch 2: phase 1 and the
 * up-convs in chunks) is loaded and its synthesis arena and gradient tape
 * are made with 2 threads; one warm-up pass each (the OpenMP team exists
 * then). A child process then caps its address space (RLIMIT_AS) at what it
 * uses plus 1 MiB -- less than the scratch of one kernel call at 256 px,
 * which a kernel given no workspace must allocate (checked: that call fails
 * there) -- and runs the synthesis (exact, then fast mode enabled only after
 * the arena was sized), the taped forward and the backward again: each must
 * succeed and give the same bits as before the cap. The parent checks the
 * child's report. A workspace smaller than the query's answer makes a kernel
 * fail (-1), and the query's answer makes it succeed with the reference's
 * numbers. (Under AddressSanitizer, whose shadow memory needs address space,
 * the capped part is skipped.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blob.h"
#include "check.h"
#include "conv.h"
#include "cpu.h"
#include "random_config.h"
#include "sg2_test_nets.h"
#include "sg2_layout.h"
#include "stylegan2.h"
#include "stylegan2_grad.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

enum { B = 2, R = 256 };

/* The child's checks, one bit each (0: all passed). */
enum {
    BAD_NULL_WS = 1,     /* a kernel without workspace did not fail under the cap */
    BAD_EXACT = 2,       /* exact synthesis failed or differs */
    BAD_FAST = 4,        /* fast synthesis failed or differs */
    BAD_TAPE = 8,        /* retape failed or differs */
    BAD_BACKWARD = 16,   /* backward failed or differs */
    BAD_SETUP = 32,
};

static int capped_child(sg2_net_t *net, const float *ws, int cap) {
    sal_err_t err = {{0}};
    const size_t isz = (size_t)B * 3 * R * R, wsz = (size_t)B * net->cfg.num_ws * net->cfg.w_dim;
    float *img0 = malloc(isz * sizeof(float)), *img1 = malloc(isz * sizeof(float));
    float *fast0 = malloc(isz * sizeof(float)), *dws0 = malloc(wsz * sizeof(float));
    float *dws1 = malloc(wsz * sizeof(float));
    arena_t a;
    if (!img0 || !img1 || !fast0 || !dws0 || !dws1 ||
        arena_init(&a, sg2_synthesis_arena_bytes(net, B)))
        return BAD_SETUP;
    memset(a.base, 0, a.cap);
    sg2_synthesis_opts_t o = {.noise_mode = SG2_NOISE_CONST, .arena = &a};
    sg2_tape_t *tape = NULL;
    /* the uncapped results: exact synthesis, taped forward + backward (dL/dimg = img) */
    if (sg2_synthesis(net, ws, B, &o, img0, &err) ||
        sg2_synthesis_forward_tape(net, ws, B, NULL, img1, &tape, &err) ||
        sg2_synthesis_backward(net, tape, img0, dws0, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return BAD_SETUP;
    }
    /* a fast-mode twin of the net, made fast now (after the arena was sized) */
    int bad = 0;
    float *x = calloc((size_t)64 * R * R, sizeof(float)), *y = calloc((size_t)64 * R * R, sizeof(float));
    float *w3 = calloc((size_t)64 * 64 * 9, sizeof(float));
    conv_weights_t cw;
    if (!x || !y || !w3 || conv_weights_init(&cw, w3, 64, 64, 3, &err)) return BAD_SETUP;
    if (cap) {
        struct rlimit rl = {(rlim_t)test_vm_bytes() + (1 << 20), (rlim_t)test_vm_bytes() + (1 << 20)};
        if (setrlimit(RLIMIT_AS, &rl)) return BAD_SETUP;
        /* proof the cap bites: 64 channels x rows of 257 at 256 px is more than 1 MiB */
        if (conv2d(&cw, x, y, 1, R, R, NULL, NULL) != -1) bad |= BAD_NULL_WS;
    }
    if (sg2_synthesis(net, ws, B, &o, img1, &err) || memcmp(img0, img1, isz * sizeof(float)))
        bad |= BAD_EXACT;
    if (sg2_synthesis_forward_retape(net, ws, B, NULL, img1, tape, &err) ||
        memcmp(img0, img1, isz * sizeof(float)))
        bad |= BAD_TAPE;
    if (sg2_synthesis_backward(net, tape, img0, dws1, &err) || memcmp(dws0, dws1, wsz * sizeof(float)))
        bad |= BAD_BACKWARD;
    /* fast mode: its Winograd weights are made here (before the cap would be
     * better for the weights themselves; the point is the arena's sizing) */
    if (!cap) {
        if (sg2_enable_fast(net, &err) || sg2_synthesis(net, ws, B, &o, fast0, &err)) bad |= BAD_FAST;
    }
    if (bad) fprintf(stderr, "child (cap %d): %s\n", cap, err.msg);
    sg2_tape_free(tape);
    conv_weights_free(&cw);
    arena_free(&a);
    free(img0), free(img1), free(fast0), free(dws0), free(dws1), free(x), free(y), free(w3);
    return bad;
}

/* The workspace queries against the kernels: a too small workspace fails
 * (in fast mode one float short of the answer), the answer works and
 * matches the reference loop. */
static void run_query(test_ctx_t *t) {
    test_rng_t r = {7};
    const int ci = 16, co = 24, h = 40, w = 36;
    float *x = test_rand_array(&r, (size_t)ci * (2 * h + 1) * (2 * w + 1));
    float *wt = test_rand_array(&r, (size_t)co * ci * 9);
    float *got = calloc((size_t)co * (2 * h + 1) * (2 * w + 1), sizeof(float));
    float *want = calloc((size_t)co * (2 * h + 1) * (2 * w + 1), sizeof(float));
    conv_weights_t cw;
    sal_err_t err = {{0}};
    CHECK(t, conv_weights_init(&cw, wt, co, ci, 3, &err) == 0, "weights: %s", err.msg);
    for (int fast = 0; fast < 2; fast++) {
        if (fast) CHECK(t, conv_weights_make_fast(&cw, &err) == 0 &&
                               conv_weights_make_fast_transposed(&cw, &err) == 0, "fast: %s", err.msg);
        const size_t need[2] = {conv2d_scratch_floats(&cw, 1, h, w, 0),
                                conv2d_transpose3x3_s2_scratch_floats(&cw, 1, h, w, 0)};
        for (int k = 0; k < 2; k++) {
            CHECK(t, need[k] > 0, "kernel %d needs a workspace", k);
            arena_t a;
            CHECK(t, arena_init(&a, conv_ws_arena_bytes(need[k])) == 0, "arena");
            conv_ws_t ws, short_ws;
            CHECK(t, conv_ws_from_arena(&ws, &a, need[k]) == 0, "workspace");
            short_ws = ws;
            /* exact mode: the answer also covers fast mode (larger), so a
             * tiny workspace; fast mode: the answer is exact, one float short */
            short_ws.floats = fast ? need[k] - 1 : 16;
            const int rc_short = k == 0 ? conv2d(&cw, x, got, 1, h, w, NULL, &short_ws)
                                        : conv2d_transpose3x3_s2(&cw, x, NULL, got, 1, h, w, &short_ws);
            CHECK(t, rc_short == -1, "kernel %d (fast %d): a short workspace must fail, got %d", k, fast,
                  rc_short);
            const int rc = k == 0 ? conv2d(&cw, x, got, 1, h, w, NULL, &ws)
                                  : conv2d_transpose3x3_s2(&cw, x, NULL, got, 1, h, w, &ws);
            const size_t nout = k == 0 ? (size_t)co * h * w : (size_t)co * (2 * h + 1) * (2 * w + 1);
            if (k == 0) conv2d_ref(&cw, x, want, 1, h, w, NULL);
            else conv2d_transpose3x3_s2_ref(&cw, x, NULL, want, 1, h, w);
            double worst = 0;
            for (size_t i = 0; i < nout; i++) {
                const double d = fabs((double)got[i] - want[i]);
                worst = d > worst ? d : worst;
            }
            CHECK(t, rc == 0 && worst < 1e-3, "kernel %d (fast %d): rc %d, max diff %g", k, fast, rc,
                  worst);
            arena_free(&a);
        }
    }
    conv_weights_free(&cw);
    free(x), free(wt), free(got), free(want);
}

int main(void) {
    test_ctx_t t = test_begin("kernel_workspace");
    threads_set(2);

    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    const sg2_layout_config_t cfg = {NULL, 64, 64, 0, R, 3, 2, 0.01, 4096, 64, 0, 256, "skip", 0.995};
    sg2_net_t *net = test_random_net(&t, &cfg, 5, "random:ws256", &blob);
    const int ok = net != NULL;
    float *z = malloc(B * 64 * sizeof(float));
    float *ws = net ? malloc((size_t)B * net->cfg.num_ws * 64 * sizeof(float)) : NULL;
    for (int b = 0; b < B; b++) sg2_z_from_seed((uint32_t)(b + 1), 64, z + b * 64, NULL);
    CHECK(&t, ok && sg2_mapping(net, z, B, 1.0f, SG2_CUTOFF_NONE, ws, &err) == 0, "mapping: %s",
          err.msg);

    /* uncapped first (also under ASan), then capped in a child */
    for (int cap = 0; ok && cap < (SANITIZED ? 1 : 2); cap++) {
        fflush(NULL);
        const pid_t pid = fork();
        if (pid == 0) _exit(capped_child(net, ws, cap));
        int st = 0;
        CHECK(&t, pid > 0 && waitpid(pid, &st, 0) == pid, "fork");
        const int code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
        CHECK(&t, code == 0, "cap %d: child reports 0x%x (1 no-ws kernel ran, 2 exact, 4 fast, "
              "8 retape, 16 backward, 32 setup)", cap, code);
    }
    run_query(&t);   /* after the children: libgomp's team does not survive a fork */
    free(z);
    free(ws);
    sg2_free(net);
    blob_close(blob);
    return test_end(&t);
}

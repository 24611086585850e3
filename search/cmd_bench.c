/* cmd_bench.c — `salient bench`: how fast are the kernels on this machine?
 *
 * 1. Measures the machine's FP32 peak with an FMA-throughput loop (one core,
 *    then every thread at once): the yardstick for everything else.
 * 2. Times each kernel type on the shapes of a StyleGAN2 1024x1024 generator
 *    (batch 1): the 3x3 convs with the full modulated-conv epilogue at
 *    4..1024 px, the stride-2 transposed convs, the 4x4 FIR after them, the
 *    1x1 ToRGB conv and the mapping network's GEMM. Each runs with 1 thread
 *    and with all threads (--threads N), and prints GFLOP/s and % of peak.
 *    The "cpu" column is the process's CPU time / (wall time x threads) of
 *    the best run: well below 100% means another program held a core, so
 *    that row's multi-thread number says nothing about our scaling.
 *    wino3x3 / winot3x3s2 rows: the same 3x3 / transposed convs in fast mode
 *    (Winograd F(4x4,3x3) / F(4,2) on the parity classes; the shapes where
 *    the generator uses it), GFLOP/s counted as the direct conv's, hence
 *    possibly above 100% of peak.
 * 3. The networks (bench_nets.c): time per 1024 image at batch 1 and 8, each
 *    over the same 8 images, exact and fast mode; the deviation of fast
 *    mode from exact mode (images, max saliency, the NVIDIA fixtures).
 * 4. Writes everything to bench.json (atomically).
 *
 * FLOP counts: 2 per multiply-add of the dense operation (3x3 conv:
 * 2*C_out*C_in*9*H*W; transposed conv: 2*C_out*C_in*9*H*W on the input grid;
 * FIR: 2*16 per output value, i.e. the dense 4x4 equivalent).
 */
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "startup_check.h"
#include "commands.h"
#include "common.h"
#include "conv.h"
#include "cpu.h"
#include "gemm.h"
#include "bench_nets.h"

/* BK_WINO, BK_WINOT: the 3x3 conv and the transposed conv in fast mode
 * (Winograd); their GFLOP/s count the direct convs' FLOPs, so they can exceed
 * 100% of peak. */
typedef enum bench_kind { BK_CONV3, BK_CONV1, BK_TCONV, BK_FIR, BK_GEMM, BK_WINO, BK_WINOT } bench_kind_t;

typedef struct bench_case {
    bench_kind_t kind;
    const char *name;
    int c_in, c_out, res; /* GEMM: c_in = K, c_out = N, res = M (batch) */
    int quick;            /* also run with --quick */
} bench_case_t;

/* The StyleGAN2 ffhq1024 layer shapes (channels = min(32768/res, 512)). */
static const bench_case_t CASES[] = {
    {BK_CONV3, "conv3x3", 512, 512, 4, 0},     {BK_CONV3, "conv3x3", 512, 512, 8, 0},
    {BK_CONV3, "conv3x3", 512, 512, 16, 0},    {BK_CONV3, "conv3x3", 512, 512, 32, 1},
    {BK_CONV3, "conv3x3", 512, 512, 64, 1},    {BK_CONV3, "conv3x3", 256, 256, 128, 1},
    {BK_CONV3, "conv3x3", 128, 128, 256, 1},   {BK_CONV3, "conv3x3", 64, 64, 512, 1},
    {BK_CONV3, "conv3x3", 32, 32, 1024, 1},    {BK_WINO, "wino3x3", 512, 512, 64, 0},
    {BK_WINO, "wino3x3", 256, 256, 128, 0},    {BK_WINO, "wino3x3", 128, 128, 256, 1},
    {BK_WINO, "wino3x3", 64, 64, 512, 1},      {BK_WINO, "wino3x3", 32, 32, 1024, 1},
    {BK_TCONV, "tconv3x3s2", 512, 512, 32, 0},
    {BK_TCONV, "tconv3x3s2", 512, 256, 64, 1}, {BK_TCONV, "tconv3x3s2", 256, 128, 128, 0},
    {BK_TCONV, "tconv3x3s2", 128, 64, 256, 0}, {BK_TCONV, "tconv3x3s2", 64, 32, 512, 1},
    {BK_WINOT, "winot3x3s2", 512, 512, 32, 0},
    {BK_WINOT, "winot3x3s2", 512, 256, 64, 1}, {BK_WINOT, "winot3x3s2", 256, 128, 128, 0},
    {BK_WINOT, "winot3x3s2", 128, 64, 256, 0}, {BK_WINOT, "winot3x3s2", 64, 32, 512, 1},
    {BK_FIR, "fir4x4", 256, 256, 128, 0},      {BK_FIR, "fir4x4", 32, 32, 1024, 1},
    {BK_CONV1, "torgb1x1", 512, 3, 64, 0},     {BK_CONV1, "torgb1x1", 32, 3, 1024, 1},
    {BK_GEMM, "gemm_nt", 512, 512, 1, 0},      {BK_GEMM, "gemm_nt", 512, 512, 8, 1},
};

/* A growable text buffer for bench.json. */
typedef struct sbuf { char *p; size_t len, cap; int oom; } sbuf_t;
static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = 1; return; }
        if (b->p && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q) { b->oom = 1; return; }
        b->p = q;
        b->cap = cap;
    }
}

/* s as a quoted JSON string (quotes, backslashes and control bytes escaped). */
static void sb_json_string(sbuf_t *b, const char *s) {
    sb_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') sb_printf(b, "\\%c", *p);
        else if (*p < 0x20) sb_printf(b, "\\u%04x", *p);
        else sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

static void fill_random(float *a, size_t n, uint64_t seed) {
    uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        a[i] = (float)((double)(s >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
    }
}

/* FP32 peak of `threads` threads running the FMA loop at once (GFLOP/s):
 * the best of many short rounds, so that a busy machine still shows what
 * its cores can do when they get to run. */
static double measure_peak(int threads, double seconds) {
    double best = 0.0;
    threads_set(threads);
    for (double spent = 0.0; spent < seconds; spent += 0.02) {
        double total = 0.0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
        total += conv_fma_peak_gflops(0.02);
        best = total > best ? total : best;
    }
    return best;
}

typedef struct bench_bufs {
    float *in, *out, *w, *scale, *noise, *bias;
} bench_bufs_t;

/* FLOPs of one run of a case. */
static double case_flops(const bench_case_t *bc) {
    const double ci = bc->c_in, co = bc->c_out, r = bc->res;
    switch (bc->kind) {
    case BK_CONV3:
    case BK_WINO:
    case BK_WINOT:
    case BK_TCONV: return 2.0 * co * ci * 9 * r * r;
    case BK_CONV1: return 2.0 * co * ci * r * r;
    case BK_FIR: return 2.0 * 16 * co * r * r;
    case BK_GEMM: return 2.0 * r * co * ci;
    }
    return 0;
}

/* CPU time (user + system) of the whole process so far, in seconds. */
static double process_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

/* The kernel workspace a case needs (floats), sized once before timing it. */
static size_t case_scratch(const bench_case_t *bc, const conv_weights_t *cw) {
    const int r = bc->res;
    switch (bc->kind) {
    case BK_CONV3:
    case BK_WINO:
    case BK_CONV1: return conv2d_scratch_floats(cw, 1, r, r, 0);
    case BK_WINOT:
    case BK_TCONV: return conv2d_transpose3x3_s2_scratch_floats(cw, 1, r, r, 0);
    case BK_FIR: return fir4x4_down_pad1_scratch_floats(1, bc->c_out, r + 1, r + 1, 0);
    case BK_GEMM: return 0;
    }
    return 0;
}

/* Runs one case once (weights already packed in cw for the convs, its
 * workspace in ws). */
static void run_case(const bench_case_t *bc, const conv_weights_t *cw, bench_bufs_t *b,
                     const conv_ws_t *ws) {
    const int r = bc->res;
    const conv_epilogue_t ep = {b->scale, b->noise, 0.1f, b->bias, ACT_LRELU, 0.2f, 1.4142135f,
                                256.0f, NULL};
    const float f[4] = {1.0f, 3.0f, 3.0f, 1.0f};
    switch (bc->kind) {
    case BK_CONV3:
    case BK_WINO:
    case BK_CONV1: conv2d(cw, b->in, b->out, 1, r, r, &ep, ws); break;
    case BK_WINOT:
    case BK_TCONV: conv2d_transpose3x3_s2(cw, b->in, NULL, b->out, 1, r, r, ws); break;
    case BK_FIR: fir4x4_down_pad1(b->in, b->out, 1, bc->c_out, r + 1, r + 1, f, 4.0f / 64.0f, &ep, ws); break;
    case BK_GEMM: gemm_nt(r, bc->c_out, bc->c_in, b->in, b->w, b->out); break;
    }
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: salient bench [--threads N] [--quick] [--saliency MODEL] [--json PATH]\n"
            "\n"
            "Times a random-weight ffhq1024 generator end to end (mapping; one image at\n"
            "batch 1 and 8; 1 thread vs N; peak memory) and the saliency model on a\n"
            "1024x1024 image, then measures the FP32 FMA peak of this machine and the\n"
            "speed of each kernel type on StyleGAN2-1024 layer shapes, with 1 and N threads.\n"
            "\n"
            "  --saliency MODEL  fastgaze.vxm (or its blob) to time the saliency model\n"
            "  --kernels-only    skip the network timings\n"
            "  --threads N   threads for the parallel runs (default: all %d cores)\n"
            "  --quick       fewer shapes, one timed run each, N threads only\n"
            "  --json PATH   where to write the results (default bench.json)\n"
            "  --help        this text\n",
            cpu_online_cores());
}

int cmd_bench(int argc, char **argv) {
    int threads = cpu_online_cores(), quick = 0, nets = 1;
    const char *json_path = "bench.json", *saliency_model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            sal_err_t terr;
            if (cli_threads(argv[++i], &threads, &terr)) {
                fprintf(stderr, "salient bench: %s (see --help)\n", terr.msg);
                return 2;
            }
        } else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            json_path = argv[++i];
        } else if (!strcmp(argv[i], "--saliency") && i + 1 < argc) {
            saliency_model = argv[++i];
        } else if (!strcmp(argv[i], "--kernels-only")) {
            nets = 0;
        } else {
            fprintf(stderr, "salient bench: unknown or incomplete option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }

    /* Bad paths fail now, not after minutes of timing: the folder bench.json
     * goes to (written atomically through a temporary file there) and the
     * saliency model. */
    {
        const char *slash = strrchr(json_path, '/');
        char dir[4096];
        if (!slash) snprintf(dir, sizeof dir, ".");
        else if (slash == json_path) snprintf(dir, sizeof dir, "/");
        else snprintf(dir, sizeof dir, "%.*s", (int)(slash - json_path), json_path);
        if (!*json_path || (slash && !slash[1])) {
            fprintf(stderr, "salient bench: --json '%s' is not a file name\n", json_path);
            return 2;
        }
        if (access(dir, W_OK) != 0) {
            fprintf(stderr, "salient bench: %s: folder '%s' is missing or not writable\n",
                    json_path, dir);
            return 1;
        }
        sal_err_t serr;
        if (nets && saliency_model && bench_check_saliency_model(saliency_model, &serr)) {
            fprintf(stderr, "salient bench: %s\n", serr.msg);
            return 1;
        }
    }

    /* The kernels all rows below use, before the first of them runs. */
    ks_startup_t check;
    {
        sal_err_t cerr;
        if (startup_check("salient bench", KS_ALL, &check, &cerr)) {
            fprintf(stderr, "salient bench: %s\n", cerr.msg);
            return 1;
        }
    }

    /* The networks first, so that their peak memory is not the kernels' buffers. */
    bench_nets_t nb;
    int have_nets = 0;
    if (nets) {
        sal_err_t nerr;
        printf("salient bench: timing the ffhq1024 generator (random weights)%s...\n",
               saliency_model ? " and the saliency model" : "");
        fflush(stdout);
        if (bench_networks(threads, quick, saliency_model, &nb, &nerr)) {
            fprintf(stderr, "salient bench: %s\n", nerr.msg);
            return 1;
        }
        have_nets = 1;
    }

    /* buffers big enough for the largest case: 32 x 1025 x 1025 floats */
    const size_t big = (size_t)32 * 1025 * 1025 + 4096, wlen = (size_t)512 * 512 * 9;
    bench_bufs_t b;
    b.in = sal_alloc_aligned(big * sizeof(float), 64);
    b.out = sal_alloc_aligned(big * sizeof(float), 64);
    b.w = sal_alloc_aligned(wlen * sizeof(float), 64);
    b.scale = sal_alloc_aligned(512 * sizeof(float), 64);
    b.noise = sal_alloc_aligned((size_t)1024 * 1024 * sizeof(float), 64);
    b.bias = sal_alloc_aligned(512 * sizeof(float), 64);
    int rc = 0;
    if (!b.in || !b.out || !b.w || !b.scale || !b.noise || !b.bias) {
        fprintf(stderr, "salient bench: out of memory for the %zu MiB of test tensors\n",
                2 * big * sizeof(float) >> 20);
        rc = 1;
        goto done;
    }
    fill_random(b.in, big, 1);
    fill_random(b.w, wlen, 2);
    fill_random(b.noise, (size_t)1024 * 1024, 3);
    for (int i = 0; i < 512; i++) { b.scale[i] = 0.05f; b.bias[i] = 0.01f * (i % 7); }
    memset(b.out, 0, big * sizeof(float));

    const isa_t isa = cpu_isa();
    const double peak1 = measure_peak(1, quick ? 0.2 : 0.5);
    const double peakn = threads > 1 ? measure_peak(threads, quick ? 0.2 : 0.5) : peak1;
    cpu_info_t ci;
    cpu_describe(&ci);
    printf("salient bench: isa %s, %d cores, %d threads\n", isa_name(isa), cpu_online_cores(),
           threads);
    printf("cpu: %s (x86 family %d, model %d); caches of core 0: L1d %d KiB, L2 %d KiB, "
           "L3 %d KiB\n", ci.name[0] ? ci.name : "unknown", ci.family, ci.model, ci.l1d_kib,
           ci.l2_kib, ci.l3_kib);
    printf("FP32 FMA peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n", peak1,
           peakn, threads);
    double load = -1.0;
    if (getloadavg(&load, 1) == 1 && load > 0.5)
        printf("warning: the machine is busy (load average %.1f): the numbers below are "
               "pessimistic\n", load);
    printf("\n");
    printf("%-11s %-16s %7s %10s %10s %7s %6s\n", "kernel", "shape", "threads", "ms", "GFLOP/s",
           "%peak", "cpu");

    sbuf_t js = {0};
    {
        char sj[2048];
        ks_startup_json(&check, sj, sizeof sj);
        sb_printf(&js, "{\n  \"selftest\": %s,\n", sj);
    }
    sb_printf(&js, "  \"isa\": \"%s\",\n  \"cores\": %d,\n  \"threads\": %d,\n", isa_name(isa),
              cpu_online_cores(), threads);
    sb_printf(&js, "  \"cpu\": {\"name\": ");
    sb_json_string(&js, ci.name);
    sb_printf(&js, ", \"family\": %d, \"model\": %d, \"l1d_kib\": %d, \"l2_kib\": %d, "
              "\"l3_kib\": %d},\n", ci.family, ci.model, ci.l1d_kib, ci.l2_kib, ci.l3_kib);
    sb_printf(&js, "  \"peak_gflops_1thread\": %.2f,\n  \"peak_gflops_all\": %.2f,\n", peak1, peakn);
    sb_printf(&js, "  \"load_average\": %.2f,\n", load);
    sb_printf(&js, "  \"kernels\": [");
    int first = 1;
    double conv_flops[2] = {0, 0}, conv_time[2] = {0, 0};
    for (size_t ci = 0; ci < sizeof CASES / sizeof CASES[0]; ci++) {
        const bench_case_t *bc = &CASES[ci];
        if (quick && !bc->quick) continue;
        for (int pass = quick || threads == 1 ? 1 : 0; pass < 2; pass++) {
            const int t = pass == 0 ? 1 : threads;
            const double peak = pass == 0 ? peak1 : peakn;
            threads_set(t);
            conv_weights_t cw;
            memset(&cw, 0, sizeof cw);
            const int is_conv = bc->kind == BK_CONV3 || bc->kind == BK_CONV1 ||
                                bc->kind == BK_TCONV || bc->kind == BK_WINO ||
                                bc->kind == BK_WINOT;
            sal_err_t err;
            if (is_conv && (conv_weights_init(&cw, b.w, bc->c_out, bc->c_in,
                                              bc->kind == BK_CONV1 ? 1 : 3, &err) ||
                            (bc->kind == BK_WINO && conv_weights_make_fast(&cw, &err)) ||
                            (bc->kind == BK_WINOT &&
                             conv_weights_make_fast_transposed(&cw, &err)))) {
                fprintf(stderr, "salient bench: %s\n", err.msg);
                rc = 1;
                goto done_json;
            }
            const double flops = case_flops(bc);
            conv_ws_t ws = {NULL, case_scratch(bc, &cw)};
            ws.p = sal_alloc_aligned((ws.floats ? ws.floats : 1) * sizeof(float), 64);
            if (!ws.p) {
                fprintf(stderr, "salient bench: out of memory for a kernel workspace\n");
                conv_weights_free(&cw);
                rc = 1;
                goto done_json;
            }
            run_case(bc, &cw, &b, &ws); /* warm-up (and page faults) */
            /* best of at least 5 runs / 1 s (quick: 2 runs): the minimum is the
             * machine's speed, anything above it is interference (on a shared
             * host, 3 runs of the large layers often caught no quiet moment) */
            int runs = 0;
            double best = INFINITY, best_cpu = 0.0, t0 = sal_now();
            do {
                double t1 = sal_now(), c1 = process_cpu_s();
                run_case(bc, &cw, &b, &ws);
                double dt = sal_now() - t1;
                if (dt < best) {
                    best = dt;
                    best_cpu = process_cpu_s() - c1;
                }
                runs++;
            } while (runs < 2 || (!quick && (runs < 5 || sal_now() - t0 < 1.0)));
            conv_weights_free(&cw);
            sal_free_aligned(ws.p);
            const double ms = best * 1e3, gf = flops / best * 1e-9;
            char shape[64];
            if (bc->kind == BK_GEMM)
                snprintf(shape, sizeof shape, "%dx%dx%d", bc->res, bc->c_out, bc->c_in);
            else
                snprintf(shape, sizeof shape, "%d->%d@%d", bc->c_in, bc->c_out, bc->res);
            /* cpu: the process's CPU time over (wall time x threads) in the best
             * run; well below 100% = our threads waited for a core (others ran) */
            const double cpu = 100.0 * best_cpu / (best * t);
            printf("%-11s %-16s %7d %10.2f %10.1f %6.1f%% %5.0f%%\n", bc->name, shape, t, ms, gf,
                   100.0 * gf / peak, cpu);
            fflush(stdout);
            if (bc->kind == BK_CONV3 && bc->res >= 64) {
                conv_flops[pass] += flops;
                conv_time[pass] += best;
            }
            sb_printf(&js,
                      "%s\n    {\"kernel\": \"%s\", \"shape\": \"%s\", \"threads\": %d, "
                      "\"ms\": %.3f, \"gflops\": %.2f, \"pct_peak\": %.1f, \"pct_cpu\": %.0f}",
                      first ? "" : ",", bc->name, shape, t, ms, gf, 100.0 * gf / peak, cpu);
            first = 0;
        }
    }
    sb_printf(&js, "\n  ]");
    printf("\n");
    for (int pass = 0; pass < 2; pass++) {
        if (conv_time[pass] <= 0) continue;
        const double gf = conv_flops[pass] / conv_time[pass] * 1e-9;
        const double peak = pass == 0 ? peak1 : peakn;
        printf("3x3 convs at 64..1024 px, %d thread(s): %.1f GFLOP/s = %.1f%% of peak\n",
               pass == 0 ? 1 : threads, gf, 100.0 * gf / peak);
        sb_printf(&js, ",\n  \"conv3x3_64_1024_%s\": {\"gflops\": %.2f, \"pct_peak\": %.1f}",
                  pass == 0 ? "1thread" : "all", gf, 100.0 * gf / peak);
    }
    if (have_nets) {
        printf("\nnetworks (fp32, %d thread%s):\n", threads, threads == 1 ? "" : "s");
        printf("  mapping, 1 latent                      %8.2f ms\n", nb.mapping_ms);
        printf("  1024x1024 image, batch 1               %8.2f s/image   peak RSS %.0f MB\n", nb.synth_b1_s, nb.rss_b1_mb);
        if (nb.synth_b8_s > 0)
            printf("  1024x1024 image, batch 8               %8.2f s/image   peak RSS %.0f MB\n", nb.synth_b8_s, nb.rss_b8_mb);
        if (nb.synth_b1_1t_s > 0)
            printf("  1024x1024 image, batch 1, 1 thread     %8.2f s/image   (%d threads: %.2fx faster)\n", nb.synth_b1_1t_s,
                   threads, nb.synth_b1_1t_s / nb.synth_b1_s);
        if (nb.have_saliency) {
            printf("  saliency, 1024x1024 image in memory    %8.2f ms", nb.saliency_ms);
            if (nb.saliency_1t_ms > 0 && threads > 1) printf("   (1 thread: %.2f ms)", nb.saliency_1t_ms);
            printf("\n");
        } else {
            printf("  saliency: not measured (pass --saliency fastgaze.vxm)\n");
        }
        if (nb.grad_fb_s > 0) {
            printf("  white-box (salient grad), 1024x1024, exact kernels:\n");
            printf("    generator forward + backward         %8.2f s/image   (%.2fx the forward)   peak RSS %.0f MB\n",
                   nb.grad_fb_s, nb.grad_fb_s / nb.synth_b1_s, nb.rss_grad_mb);
            if (nb.sal_grad_fb_ms > 0)
                printf("    saliency objective / + dL/dimage     %8.2f / %.2f ms   (%.2fx)\n", nb.sal_grad_fwd_ms,
                       nb.sal_grad_fb_ms, nb.sal_grad_fb_ms / nb.sal_grad_fwd_ms);
            if (nb.sal_grad_fb_ms > 0)
                printf("    both nets: forward %.2f s, forward + backward %.2f s   (%.2fx)\n",
                       nb.synth_b1_s + nb.sal_grad_fwd_ms * 1e-3, nb.grad_fb_s + nb.sal_grad_fb_ms * 1e-3,
                       (nb.grad_fb_s + nb.sal_grad_fb_ms * 1e-3) / (nb.synth_b1_s + nb.sal_grad_fwd_ms * 1e-3));
        }
        printf("  bf16 weights/activations: %s\n",
               cpu_has_bf16() ? "not implemented yet"
                              : "not available (this CPU has no AVX512_BF16)");
        printf("  fast mode (--fast: Winograd for the 3x3 and the transposed convs, fp32):\n");
        printf("    1024x1024 image, batch 1             %8.2f s/image   (%.2fx exact)\n", nb.fast_b1_s,
               nb.fast_b1_s > 0 ? nb.synth_b1_s / nb.fast_b1_s : 0.0);
        if (nb.fast_b8_s > 0)
            printf("    1024x1024 image, batch 8             %8.2f s/image\n", nb.fast_b8_s);
        printf("    vs exact, %d random ffhq1024 image%s  max |d img| %.3g, mean %.3g\n", nb.fast_n,
               nb.fast_n == 1 ? " " : "s", nb.fast_dev_max, nb.fast_dev_mean);
        if (nb.saliency_fast_ms > 0)
            printf("    saliency, 1024x1024 image in memory  %8.2f ms\n", nb.saliency_fast_ms);
        if (nb.fast_dsal_max >= 0)
            printf("    max saliency of those images         |d| <= %.3g (limit 1e-3)\n", nb.fast_dsal_max);
        for (int f = 0; f < 2; f++)
            if (nb.fx[f].name)
                printf("    fixture %-5s vs NVIDIA ref: exact max %.3g mean %.3g | fast max %.3g mean %.3g\n",
                       nb.fx[f].name, nb.fx[f].exact_max, nb.fx[f].exact_mean, nb.fx[f].fast_max,
                       nb.fx[f].fast_mean);
        double per_image = nb.synth_b8_s > 0 ? nb.synth_b8_s : nb.synth_b1_s;
        if (nb.have_saliency) per_image += nb.saliency_ms * 1e-3;
        printf("  search throughput: %.0f images per hour on %d thread%s (%.0f per core-hour)\n", 3600.0 / per_image, threads,
               threads == 1 ? "" : "s", 3600.0 / per_image / threads);
        sb_printf(&js, ",\n  \"networks\": {\"threads\": %d, \"mapping_ms\": %.3f, \"synthesis_b1_s\": %.3f, "
                       "\"synthesis_b1_1thread_s\": %.3f, \"synthesis_b8_s_per_image\": %.3f, \"peak_rss_b1_mb\": %.0f, "
                       "\"peak_rss_b8_mb\": %.0f, \"saliency_ms\": %.3f, \"saliency_1thread_ms\": %.3f, "
                       "\"images_per_hour\": %.1f}",
                  threads, nb.mapping_ms, nb.synth_b1_s, nb.synth_b1_1t_s, nb.synth_b8_s, nb.rss_b1_mb, nb.rss_b8_mb,
                  nb.have_saliency ? nb.saliency_ms : 0.0, nb.have_saliency ? nb.saliency_1t_ms : 0.0, 3600.0 / per_image);
        sb_printf(&js, ",\n  \"grad\": {\"generator_forward_backward_s\": %.3f, \"peak_rss_mb\": %.0f, "
                       "\"saliency_objective_ms\": %.3f, \"saliency_objective_backward_ms\": %.3f}",
                  nb.grad_fb_s, nb.rss_grad_mb, nb.sal_grad_fwd_ms, nb.sal_grad_fb_ms);
        sb_printf(&js, ",\n  \"bf16\": %s", cpu_has_bf16() ? "\"not implemented\"" : "\"no AVX512_BF16\"");
        sb_printf(&js, ",\n  \"fast\": {\"synthesis_b1_s\": %.3f, \"synthesis_b8_s_per_image\": %.3f, "
                       "\"images\": %d, \"img_dev_max\": %.3g, "
                       "\"img_dev_mean\": %.3g, \"max_saliency_dev\": %.3g, \"saliency_ms\": %.3f",
                  nb.fast_b1_s, nb.fast_b8_s, nb.fast_n, nb.fast_dev_max, nb.fast_dev_mean, nb.fast_dsal_max,
                  nb.saliency_fast_ms);
        for (int f = 0; f < 2; f++)
            if (nb.fx[f].name)
                sb_printf(&js, ", \"fixture_%s\": {\"exact_max\": %.3g, \"exact_mean\": %.3g, \"fast_max\": %.3g, "
                               "\"fast_mean\": %.3g}",
                          nb.fx[f].name, nb.fx[f].exact_max, nb.fx[f].exact_mean, nb.fx[f].fast_max, nb.fx[f].fast_mean);
        sb_printf(&js, "}");
    }
    sb_printf(&js, "\n}\n");
    if (js.oom) {
        fprintf(stderr, "salient bench: out of memory writing %s\n", json_path);
        rc = 1;
    } else {
        sal_err_t err;
        if (sal_write_file_atomic(json_path, js.p, js.len, &err)) {
            fprintf(stderr, "salient bench: %s\n", err.msg);
            rc = 1;
        } else {
            printf("wrote %s\n", json_path);
        }
    }
done_json:
    free(js.p);
done:
    sal_free_aligned(b.in);
    sal_free_aligned(b.out);
    sal_free_aligned(b.w);
    sal_free_aligned(b.scale);
    sal_free_aligned(b.noise);
    sal_free_aligned(b.bias);
    return rc;
}

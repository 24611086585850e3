/* test_stylegan2.c — the StyleGAN2-ADA generator against NVIDIA's own outputs.
 *
 * For the fixtures tiny, tiny_clamp and small (../shared/fixtures/stylegan2,
 * manifest.json lists every reference file) this checks: z from seeds (bit
 * exact), the mapping output w and truncated w, every per-block intermediate
 * of seed 0, the float images for psi 1.0 / 0.7 and noise const / none, single
 * and batched, and the uint8 images; tolerance max|ours - ref| <=
 * 1e-5 * max(1, max|ref|) for every float tensor, uint8 equal on >= 99.9 % of
 * values and never off by more than 1. Plus: batch == single, truncation
 * cutoff, random noise determinism, a caller-provided arena, the uint8 rules on
 * chosen values, and refusal of unsupported networks. Seed 0 (all cases and
 * intermediates) and the batches run again with every SALIENT_ISA (generic,
 * avx2, avx512; a level the CPU lacks falls back to the best it has).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "blob.h"
#include "cpu.h"
#include "netload.h"
#include "random_config.h"
#include "sg2_test_nets.h"
#include "sg2_layout.h"
#include "stylegan2.h"

typedef struct fixture {
    const char *name;
    int nseeds;           /* single-seed references: seeds 0..nseeds-1 */
    int batch;            /* batch_* references: seeds 0..batch-1 */
    const char *batch_cases[3];  /* "psi1.0_const", ... */
} fixture_t;

static const fixture_t fixtures[] = {
    {"tiny", 4, 4, {"psi1.0_const", "psi1.0_none", "psi0.7_const"}},
    {"tiny_clamp", 2, 2, {"psi1.0_const", NULL, NULL}},
    {"small", 4, 4, {"psi1.0_const", "psi0.7_none", NULL}},
};

/* The worst error seen per fixture and kind, for the report. */
typedef struct errstat {
    double w, img, inter;   /* max |ours - ref| / max(1, max|ref|) */
    int u8_diff, u8_total, u8_maxdiff;
} errstat_t;

static void *read_ref(const test_ctx_t *t, const char *fx, const char *file, size_t want_bytes) {
    char rel[512], path[1600];
    snprintf(rel, sizeof rel, "fixtures/stylegan2/%s/ref/%s", fx, file);
    size_t size = 0;
    void *p = test_read_raw(test_shared(t, rel, path, sizeof path), &size);
    if (p && size != want_bytes) {
        fprintf(stderr, "%s: %zu bytes, expected %zu\n", path, size, want_bytes);
        free(p);
        return NULL;
    }
    return p;
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) if (fabs(a[i]) > m) m = fabs(a[i]);
    return m;
}

/* Relative error as the issue defines it: max|a-b| / max(1, max|ref|). */
static double rel_err(const float *ours, const float *ref, size_t n) {
    double lim = max_abs(ref, n);
    return test_max_abs_diff(ours, ref, n) / (lim > 1 ? lim : 1);
}

static int check_close(test_ctx_t *t, const char *what, const float *ours, const float *ref,
                       size_t n, double *worst) {
    double e = rel_err(ours, ref, n);
    if (worst && e > *worst) *worst = e;
    CHECK(t, e <= 1e-5, "%s: relative error %.3g", what, e);
    return e <= 1e-5;
}

static void check_u8(test_ctx_t *t, const char *what, const uint8_t *ours, const uint8_t *ref,
                     size_t n, errstat_t *st) {
    size_t diff = 0;
    int maxd = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)ours[i] - (int)ref[i]);
        if (d) diff++;
        if (d > maxd) maxd = d;
    }
    st->u8_diff += (int)diff;
    st->u8_total += (int)n;
    if (maxd > st->u8_maxdiff) st->u8_maxdiff = maxd;
    CHECK(t, maxd <= 1, "%s: uint8 off by %d", what, maxd);
    CHECK(t, diff * 1000 <= n, "%s: %zu of %zu uint8 values differ", what, diff, n);
}

/* ---- the hook: compares each intermediate with <case>__<name>.bin ---------- */

typedef struct hook_ctx {
    test_ctx_t *t;
    const char *fx;
    int matched, missing;
    double worst;
} hook_ctx_t;

static void compare_hook(void *user, const char *name, int ndim, const int64_t *shape,
                         const float *data) {
    hook_ctx_t *h = user;
    if (strstr(name, ".demod")) return;   // (reported for --trace; the fixtures have no d)
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    char file[256];
    snprintf(file, sizeof file, "seed0_psi1.0_const__%s.bin", name);
    float *ref = read_ref(h->t, h->fx, file, n * sizeof(float));
    if (!ref) { h->missing++; CHECK(h->t, 0, "%s/%s: no reference of this size", h->fx, file); return; }
    char what[300];
    snprintf(what, sizeof what, "%s %s", h->fx, name);
    check_close(h->t, what, data, ref, n, &h->worst);
    h->matched++;
    free(ref);
}

/* ---- one fixture, all reference cases ------------------------------------- */

static void run_fixture(test_ctx_t *t, const fixture_t *fx, int full, errstat_t *st) {
    blob_t *blob;
    sg2_net_t *net;
    if (test_fixture_net(t, fx->name, &blob, &net) < 0) return;
    const sg2_config_t *cfg = &net->cfg;
    const int zd = cfg->z_dim, nw = cfg->num_ws, wd = cfg->w_dim, R = cfg->img_resolution;
    const size_t wsz = (size_t)nw * wd, isz = (size_t)3 * R * R;
    sal_err_t err = {{0}};
    char file[256], what[300];
    const float psis[2] = {1.0f, 0.7f};
    const char *psi_names[2] = {"psi1.0", "psi0.7"};
    const char *noise_names[2] = {"const", "none"};
    const sg2_noise_mode_t modes[2] = {SG2_NOISE_CONST, SG2_NOISE_NONE};

    const int nseeds = full ? fx->nseeds : 1;
    float *z = malloc((size_t)fx->batch * zd * sizeof(float));
    float *ws = malloc((size_t)fx->batch * wsz * sizeof(float));
    float *img = malloc((size_t)fx->batch * isz * sizeof(float));
    float *single_img[2][2];   /* seed images of the batch seeds, [psi][noise], for batch == single */
    for (int p = 0; p < 2; p++)
        for (int m = 0; m < 2; m++) single_img[p][m] = calloc((size_t)fx->batch * isz, sizeof(float));
    uint8_t *u8 = malloc((size_t)fx->batch * isz);

    // single seeds
    for (int seed = 0; seed < nseeds; seed++) {
        sg2_z_from_seed((uint32_t)seed, zd, z, NULL);
        snprintf(file, sizeof file, "seed%d_z.bin", seed);
        float *zref = read_ref(t, fx->name, file, (size_t)zd * sizeof(float));
        CHECK(t, zref && memcmp(z, zref, (size_t)zd * sizeof(float)) == 0,
              "%s seed %d: z differs from RandomState(seed).randn", fx->name, seed);
        free(zref);
        for (int p = 0; p < 2; p++) {
            CHECK(t, sg2_mapping(net, z, 1, psis[p], SG2_CUTOFF_NONE, ws, &err) == 0, "%s", err.msg);
            snprintf(file, sizeof file, "seed%d_%s_w.bin", seed, psi_names[p]);
            float *wref = read_ref(t, fx->name, file, wsz * sizeof(float));
            CHECK(t, wref != NULL, "missing %s", file);
            if (wref) {
                snprintf(what, sizeof what, "%s %s", fx->name, file);
                check_close(t, what, ws, wref, wsz, &st->w);
                free(wref);
            }
            for (int m = 0; m < 2; m++) {
                sg2_synthesis_opts_t opts = {.noise_mode = modes[m]};
                hook_ctx_t hk = {.t = t, .fx = fx->name};
                const int with_hook = seed == 0 && p == 0 && m == 0;
                if (with_hook) { opts.hook = compare_hook; opts.hook_user = &hk; }
                CHECK(t, sg2_synthesis(net, ws, 1, &opts, img, &err) == 0, "%s", err.msg);
                if (with_hook) {
                    // b4: conv1 (2) + torgb (2) + x + img = 6; later blocks add conv0 (2)
                    int expect = 6 + 8 * (cfg->num_blocks - 1);
                    CHECK(t, hk.matched == expect && hk.missing == 0,
                          "%s: %d intermediates matched, %d expected", fx->name, hk.matched, expect);
                    if (hk.worst > st->inter) st->inter = hk.worst;
                }
                if (seed < fx->batch) memcpy(single_img[p][m] + (size_t)seed * isz, img, isz * sizeof(float));
                snprintf(file, sizeof file, "seed%d_%s_%s_img.bin", seed, psi_names[p], noise_names[m]);
                float *iref = read_ref(t, fx->name, file, isz * sizeof(float));
                CHECK(t, iref != NULL, "missing %s", file);
                if (iref) {
                    snprintf(what, sizeof what, "%s %s", fx->name, file);
                    check_close(t, what, img, iref, isz, &st->img);
                    free(iref);
                }
                sg2_to_uint8(img, 1, 3, R, R, u8);
                snprintf(file, sizeof file, "seed%d_%s_%s_u8.bin", seed, psi_names[p], noise_names[m]);
                uint8_t *uref = read_ref(t, fx->name, file, isz);
                CHECK(t, uref != NULL, "missing %s", file);
                if (uref) {
                    snprintf(what, sizeof what, "%s %s", fx->name, file);
                    check_u8(t, what, u8, uref, isz, st);
                    free(uref);
                }
            }
        }
    }

    // batches: z rows from the seeds, mapping and synthesis as one pass
    const int B = fx->batch;
    for (int b = 0; b < B; b++) sg2_z_from_seed((uint32_t)b, zd, z + (size_t)b * zd, NULL);
    double *zref = read_ref(t, fx->name, "batch_z_f64.bin", (size_t)B * zd * sizeof(double));
    CHECK(t, zref != NULL, "missing batch_z_f64.bin");
    if (zref) {
        int same = 1;
        for (size_t i = 0; i < (size_t)B * zd; i++) same &= z[i] == (float)zref[i];
        CHECK(t, same, "%s: batch z rows differ from the seeds' z", fx->name);
        free(zref);
    }
    for (int c = 0; c < 3 && fx->batch_cases[c]; c++) {
        const char *cs = fx->batch_cases[c];
        const int p = strncmp(cs, "psi0.7", 6) == 0, m = strstr(cs, "none") != NULL;
        CHECK(t, sg2_mapping(net, z, B, psis[p], SG2_CUTOFF_NONE, ws, &err) == 0, "%s", err.msg);
        snprintf(file, sizeof file, "batch_%s_w.bin", psi_names[p]);
        float *wref = read_ref(t, fx->name, file, (size_t)B * wsz * sizeof(float));
        if (wref) {
            snprintf(what, sizeof what, "%s %s", fx->name, file);
            check_close(t, what, ws, wref, (size_t)B * wsz, &st->w);
            free(wref);
        }
        sg2_synthesis_opts_t opts = {.noise_mode = modes[m]};
        CHECK(t, sg2_synthesis(net, ws, B, &opts, img, &err) == 0, "%s", err.msg);
        snprintf(file, sizeof file, "batch_%s_img.bin", cs);
        float *iref = read_ref(t, fx->name, file, (size_t)B * isz * sizeof(float));
        CHECK(t, iref != NULL, "missing %s", file);
        if (iref) {
            snprintf(what, sizeof what, "%s %s", fx->name, file);
            check_close(t, what, img, iref, (size_t)B * isz, &st->img);
            free(iref);
        }
        // batch == single (our own single-sample results, for the seeds run singly)
        snprintf(what, sizeof what, "%s batch %s == single", fx->name, cs);
        check_close(t, what, img, single_img[p][m], (size_t)(nseeds < B ? nseeds : B) * isz, NULL);
        sg2_to_uint8(img, B, 3, R, R, u8);
        snprintf(file, sizeof file, "batch_%s_u8.bin", cs);
        uint8_t *uref = read_ref(t, fx->name, file, (size_t)B * isz);
        if (uref) {
            snprintf(what, sizeof what, "%s %s", fx->name, file);
            check_u8(t, what, u8, uref, (size_t)B * isz, st);
            free(uref);
        }
    }

    for (int p = 0; p < 2; p++)
        for (int m = 0; m < 2; m++) free(single_img[p][m]);
    free(z); free(ws); free(img); free(u8);
    sg2_free(net);
    blob_close(blob);
}

/* tiny seed 0 with psi = 1000: the ToRGB clamp clips (891 values). */
static void run_psi1000(test_ctx_t *t, errstat_t *st) {
    blob_t *blob;
    sg2_net_t *net;
    if (test_fixture_net(t, "tiny", &blob, &net) < 0) return;
    sal_err_t err;
    float z[64], ws[8 * 64], img[3 * 32 * 32];
    uint8_t u8[3 * 32 * 32];
    sg2_z_from_seed(0, 64, z, NULL);
    CHECK(t, sg2_mapping(net, z, 1, 1000.0f, SG2_CUTOFF_NONE, ws, &err) == 0, "%s", err.msg);
    float *wref = read_ref(t, "tiny", "seed0_psi1000.0_w.bin", sizeof ws);
    float *iref = read_ref(t, "tiny", "seed0_psi1000.0_const_img.bin", sizeof img);
    uint8_t *uref = read_ref(t, "tiny", "seed0_psi1000.0_const_u8.bin", sizeof u8);
    CHECK(t, wref && iref && uref, "missing psi1000 references");
    if (wref && iref && uref) {
        check_close(t, "tiny psi1000 w", ws, wref, 8 * 64, &st->w);
        CHECK(t, sg2_synthesis(net, ws, 1, NULL, img, &err) == 0, "%s", err.msg);
        check_close(t, "tiny psi1000 img", img, iref, 3 * 32 * 32, &st->img);
        sg2_to_uint8(img, 1, 3, 32, 32, u8);
        check_u8(t, "tiny psi1000 u8", u8, uref, sizeof u8, st);
    }
    free(wref); free(iref); free(uref);
    sg2_free(net);
    blob_close(blob);
}

/* Truncation cutoff, random noise, arenas, sizes: properties, on tiny. */
static void run_properties(test_ctx_t *t) {
    blob_t *blob;
    sg2_net_t *net;
    if (test_fixture_net(t, "tiny", &blob, &net) < 0) return;
    sal_err_t err;
    const size_t wsz = 8 * 64, isz = 3 * 32 * 32;
    float z[2 * 64], ws[2 * 8 * 64], img[2 * 3 * 32 * 32], img1[3 * 32 * 32];
    sg2_z_from_seed(0, 64, z, NULL);
    sg2_z_from_seed(1, 64, z + 64, NULL);

    // cutoff 2: rows 0-1 truncated (= the psi 0.7 reference), rows 2-7 not (= psi 1.0)
    float *w07 = read_ref(t, "tiny", "seed0_psi0.7_w.bin", wsz * 4);
    float *w10 = read_ref(t, "tiny", "seed0_psi1.0_w.bin", wsz * 4);
    float ws_full[8 * 64], ws0[8 * 64];
    CHECK(t, sg2_mapping(net, z, 1, 1.0f, SG2_CUTOFF_NONE, ws_full, &err) == 0, "%s", err.msg);
    CHECK(t, sg2_mapping(net, z, 1, 0.7f, 2, ws, &err) == 0, "%s", err.msg);
    if (w07 && w10) {
        check_close(t, "cutoff 2: rows 0-1", ws, w07, 2 * 64, NULL);
        check_close(t, "cutoff 2: rows 2-7", ws + 2 * 64, w10 + 2 * 64, 6 * 64, NULL);
    }
    CHECK(t, memcmp(ws + 2 * 64, ws_full + 2 * 64, 6 * 64 * 4) == 0, "cutoff: untouched rows changed");
    CHECK(t, memcmp(ws, ws_full, 2 * 64 * 4) != 0, "cutoff: rows 0-1 not truncated");
    // cutoff 0 truncates nothing
    CHECK(t, sg2_mapping(net, z, 1, 0.7f, 0, ws0, &err) == 0, "%s", err.msg);
    CHECK(t, memcmp(ws0, ws_full, sizeof ws0) == 0, "cutoff 0 should leave w untouched");
    // |psi| < 0.5 takes the other lerp form: psi 0 gives w_avg exactly
    CHECK(t, sg2_mapping(net, z, 1, 0.0f, SG2_CUTOFF_NONE, ws0, &err) == 0, "%s", err.msg);
    CHECK(t, memcmp(ws0, net->w_avg, 64 * 4) == 0 && memcmp(ws0 + 7 * 64, net->w_avg, 64 * 4) == 0,
          "psi 0 must give w_avg");
    free(w07);
    free(w10);

    // random noise: reproducible from the per-sample generators, independent of the
    // batch, different from const and none
    CHECK(t, sg2_mapping(net, z, 2, 1.0f, SG2_CUTOFF_NONE, ws, &err) == 0, "%s", err.msg);
    rng_np_t rngs[2];
    rng_np_seed(&rngs[0], 100);
    rng_np_seed(&rngs[1], 101);
    sg2_synthesis_opts_t ro = {.noise_mode = SG2_NOISE_RANDOM, .noise_rngs = rngs};
    CHECK(t, sg2_synthesis(net, ws, 2, &ro, img, &err) == 0, "%s", err.msg);
    rng_np_seed(&rngs[0], 101);
    CHECK(t, sg2_synthesis(net, ws + wsz, 1, &ro, img1, &err) == 0, "%s", err.msg);
    CHECK(t, rel_err(img1, img + isz, isz) <= 1e-5, "random noise: batch != single (%.3g)",
          rel_err(img1, img + isz, isz));
    float *cref = read_ref(t, "tiny", "seed1_psi1.0_const_img.bin", isz * 4);
    float *nref = read_ref(t, "tiny", "seed1_psi1.0_none_img.bin", isz * 4);
    if (cref && nref) {
        CHECK(t, test_max_abs_diff(img1, cref, isz) > 1e-3 && test_max_abs_diff(img1, nref, isz) > 1e-3,
              "random noise looks like const/none noise");
        // the noise only perturbs: the image stays close to the noise-free one
        CHECK(t, test_max_abs_diff(img1, nref, isz) < 2.0, "random noise image is off");
    }
    free(cref);
    free(nref);
    ro.noise_rngs = NULL;
    CHECK(t, sg2_synthesis(net, ws, 1, &ro, img1, &err) < 0 && strstr(err.msg, "generator"),
          "random noise without generators must fail: %s", err.msg);

    // a caller's arena: reused across calls, too small is an error
    size_t need = sg2_synthesis_arena_bytes(net, 2);
    CHECK(t, need > 0 && sg2_synthesis_arena_bytes(net, 0) == 0, "arena sizing");
    arena_t a;
    CHECK(t, arena_init(&a, need) == 0, "arena_init");
    sg2_synthesis_opts_t ao = {.noise_mode = SG2_NOISE_CONST, .arena = &a};
    float img2[2 * 3 * 32 * 32];
    CHECK(t, sg2_synthesis(net, ws, 2, &ao, img2, &err) == 0, "%s", err.msg);
    CHECK(t, sg2_synthesis(net, ws, 2, &ao, img, &err) == 0, "%s", err.msg);
    CHECK(t, memcmp(img, img2, sizeof img) == 0, "arena reuse changed the result");
    CHECK(t, a.used == 0 && a.peak <= need, "arena not released (used %zu, peak %zu of %zu)",
          a.used, a.peak, need);
    arena_free(&a);
    CHECK(t, arena_init(&a, need / 2) == 0, "arena_init");
    ao.arena = &a;
    CHECK(t, sg2_synthesis(net, ws, 2, &ao, img, &err) < 0 && strstr(err.msg, "arena"),
          "a too small arena must be refused: %s", err.msg);
    arena_free(&a);
    CHECK(t, sg2_mapping(net, z, 0, 1.0f, SG2_CUTOFF_NONE, ws, &err) < 0, "batch 0 must fail");

    sg2_free(net);
    blob_close(blob);
}

/* The same batch with 1 and 2 threads gives identical bits (the search
 * relies on results that do not depend on --threads). */
static void run_threads(test_ctx_t *t) {
    blob_t *blob;
    sg2_net_t *net;
    if (test_fixture_net(t, "small", &blob, &net) < 0) return;
    sal_err_t err;
    const size_t zd = 512, wsz = 10 * 512, isz = 3 * 64 * 64;
    float *z = malloc(3 * zd * sizeof(float)), *ws = malloc(3 * wsz * sizeof(float));
    float *img1 = malloc(3 * isz * sizeof(float)), *img2 = malloc(3 * isz * sizeof(float));
    for (int b = 0; b < 3; b++) sg2_z_from_seed((uint32_t)(b + 10), (int)zd, z + b * zd, NULL);
    int prev = threads_get();
    threads_set(1);
    CHECK(t, sg2_mapping(net, z, 3, 0.7f, SG2_CUTOFF_NONE, ws, &err) == 0, "%s", err.msg);
    CHECK(t, sg2_synthesis(net, ws, 3, NULL, img1, &err) == 0, "%s", err.msg);
    threads_set(2);
    float *ws2 = malloc(3 * wsz * sizeof(float));
    CHECK(t, sg2_mapping(net, z, 3, 0.7f, SG2_CUTOFF_NONE, ws2, &err) == 0, "%s", err.msg);
    CHECK(t, sg2_synthesis(net, ws2, 3, NULL, img2, &err) == 0, "%s", err.msg);
    CHECK(t, memcmp(ws, ws2, 3 * wsz * sizeof(float)) == 0, "mapping differs between 1 and 2 threads");
    CHECK(t, memcmp(img1, img2, 3 * isz * sizeof(float)) == 0,
          "synthesis differs between 1 and 2 threads (max %.3g)", test_max_abs_diff(img1, img2, 3 * isz));
    threads_set(prev);
    free(z); free(ws); free(ws2); free(img1); free(img2);
    sg2_free(net);
    blob_close(blob);
}

/* A batch big enough to be split (3.1: the blocks from 128 px on run sample
 * by sample) gives every sample the same bits as running it alone, with
 * const and with random noise (each sample's noise from its own generator),
 * and needs less scratch than three times one sample. Random weights of a
 * narrow 512 px net (8 channels at 512 px: 2M floats per sample, split there). */
static void run_split(test_ctx_t *t) {
    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    const sg2_layout_config_t cfg = {NULL, 64, 64, 0, 512, 3, 2, 0.01, 4096, 64, 0, 256, "skip", 0.995};
    sg2_net_t *net = test_random_net(t, &cfg, 3, "random:narrow512", &blob);
    if (!net) return;
    const int B = 3, R = 512, zd = 64;
    const size_t wsz = (size_t)net->cfg.num_ws * 64, isz = (size_t)3 * R * R;
    CHECK(t, sg2_synthesis_arena_bytes(net, B) < 2 * sg2_synthesis_arena_bytes(net, 1),
          "split batch scratch %zu MB vs one sample %zu MB", sg2_synthesis_arena_bytes(net, B) >> 20,
          sg2_synthesis_arena_bytes(net, 1) >> 20);
    float *z = malloc(B * zd * sizeof(float)), *ws = malloc(B * wsz * sizeof(float));
    float *batch = malloc(B * isz * sizeof(float)), *one = malloc(isz * sizeof(float));
    for (int b = 0; b < B; b++) sg2_z_from_seed((uint32_t)(b + 20), zd, z + b * zd, NULL);
    CHECK(t, sg2_mapping(net, z, B, 1.0f, SG2_CUTOFF_NONE, ws, &err) == 0, "%s", err.msg);
    for (int mode = 0; mode < 2; mode++) {
        rng_np_t rngs[3];
        sg2_synthesis_opts_t o = {.noise_mode = mode ? SG2_NOISE_RANDOM : SG2_NOISE_CONST,
                                  .noise_rngs = rngs};
        for (int b = 0; b < B; b++) rng_np_seed(&rngs[b], (uint32_t)(100 + b));
        CHECK(t, sg2_synthesis(net, ws, B, &o, batch, &err) == 0, "%s", err.msg);
        for (int b = 0; b < B; b++) {
            rng_np_seed(&rngs[0], (uint32_t)(100 + b));
            CHECK(t, sg2_synthesis(net, ws + b * wsz, 1, &o, one, &err) == 0, "%s", err.msg);
            CHECK(t, memcmp(one, batch + b * isz, isz * sizeof(float)) == 0,
                  "%s noise: sample %d of a split batch differs from it alone (max %.3g)",
                  mode ? "random" : "const", b, test_max_abs_diff(one, batch + b * isz, isz));
        }
    }
    free(z); free(ws); free(batch); free(one);
    sg2_free(net);
    blob_close(blob);
}

/* Unsupported networks: a copy of tiny's tensors with one metadata value changed. */
static void check_refused(test_ctx_t *t, const blob_t *src, const char *key, const char *sval,
                          int64_t ival, const char *expect) {
    sal_err_t err = {{0}};
    blob_writer_t *w = blob_writer_new();
    for (int i = 0; i < blob_meta_count(src); i++) {
        const blob_meta_t *m = blob_meta_at(src, i);
        if (strcmp(m->key, key) == 0) {
            if (sval) blob_writer_str(w, key, sval, &err);
            else blob_writer_int(w, key, ival, &err);
        } else if (m->type == BLOB_META_INT) blob_writer_int(w, m->key, m->i, &err);
        else if (m->type == BLOB_META_FLOAT) blob_writer_float(w, m->key, m->f, &err);
        else blob_writer_str(w, m->key, m->s, &err);
    }
    for (int i = 0; i < blob_tensor_count(src); i++) {
        const blob_tensor_t *bt = blob_tensor_at(src, i);
        if (strcmp(key, "drop-tensor") == 0 && strcmp(bt->name, sval) == 0) continue;
        blob_writer_tensor(w, bt->name, bt->t.dtype, bt->t.ndim, bt->t.shape, bt->t.data, 0, &err);
    }
    void *data;
    size_t size;
    blob_t *b = NULL;
    sg2_net_t *net = NULL;
    int ok = blob_writer_to_memory(w, &data, &size, &err) == 0 &&
             blob_open_memory(&b, data, size, 1, "edited.blob", 1, &err) == 0;
    CHECK(t, ok, "building the edited blob: %s", err.msg);
    if (ok) {
        int rc = sg2_load(&net, b, &err);
        CHECK(t, rc < 0 && net == NULL && strstr(err.msg, expect),
              "%s: expected an error with '%s', got rc %d '%s'", key, expect, rc, err.msg);
        blob_close(b);
    }
    blob_writer_free(w);
}

static void run_refusals(test_ctx_t *t) {
    blob_t *blob;
    sg2_net_t *net;
    if (test_fixture_net(t, "tiny", &blob, &net) < 0) return;
    sg2_free(net);
    check_refused(t, blob, "architecture", "resnet", 0, "architecture 'resnet'");
    check_refused(t, blob, "c_dim", NULL, 10, "c_dim");
    check_refused(t, blob, "arch", "fastgaze", 0, "not a StyleGAN2-ADA");
    check_refused(t, blob, "num_ws", NULL, 9, "num_ws");
    check_refused(t, blob, "drop-tensor", "synthesis.b16.conv1.noise_const", 0,
                  "synthesis.b16.conv1.noise_const");
    blob_close(blob);
}

/* The uint8 rule on chosen values: fl(fl(x * 127.5) + 128), clamp, truncate. */
static void run_uint8_rules(test_ctx_t *t) {
    // pairs (value, expected byte)
    const float v[] = {-1.0f, 1.0f, 0.0f, -2.0f, 3.0f, 0.5f, -0.5f, 0.99f, -0.9999f,
                       1.0f / 127.5f, 0.0039215f, NAN, INFINITY, -INFINITY, -0.0f};
    const uint8_t e[] = {0, 255, 128, 0, 255, 191, 64, 254, 0, 129, 128, 0, 255, 0, 128};
    const int n = (int)(sizeof v / sizeof v[0]);
    uint8_t out[3 * 16];
    for (int i = 0; i < n; i++) {
        sg2_to_uint8(&v[i], 1, 1, 1, 1, out);
        CHECK(t, out[0] == e[i], "uint8(%g) = %d, expected %d", (double)v[i], out[0], e[i]);
    }
    // NCHW -> NHWC: a 2x2 image with 3 channels
    float img[12];
    for (int i = 0; i < 12; i++) img[i] = -1.0f + (float)i / 6.0f;   // channel c, pixel p: i = 4c + p
    sg2_to_uint8(img, 1, 3, 2, 2, out);
    int ok = 1;
    for (int p = 0; p < 4; p++)
        for (int c = 0; c < 3; c++) {
            uint8_t want;
            sg2_to_uint8(&img[4 * c + p], 1, 1, 1, 1, &want);
            ok &= out[p * 3 + c] == want;
        }
    CHECK(t, ok, "uint8: NCHW -> NHWC order");
}

/* Under AddressSanitizer everything runs several times slower: there the
 * small fixture runs seed 0 and the batches only, and the per-ISA repeats
 * use the two tiny fixtures. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

int main(void) {
    test_ctx_t t = test_begin("stylegan2");
    if (!test_need_shared(&t, "fixtures/stylegan2")) return test_end(&t);
    errstat_t st[3];
    memset(st, 0, sizeof st);
    const char *isa_env = getenv("SALIENT_ISA");
    char saved_isa[32] = "";
    if (isa_env) snprintf(saved_isa, sizeof saved_isa, "%s", isa_env);

    // One thread for the reference cases (the machine's cores are shared with the
    // other tests); run_threads compares 1 and 2 threads bit for bit.
    threads_set(1);
    run_threads(&t);
    run_split(&t);

    // every reference case with the default ISA
    for (int f = 0; f < 3; f++) run_fixture(&t, &fixtures[f], !(SANITIZED && f == 2), &st[f]);
    run_psi1000(&t, &st[0]);
    run_properties(&t);
    run_refusals(&t);
    run_uint8_rules(&t);
    for (int f = 0; f < 3; f++)
        printf("%-10s  w %.2e  img %.2e  intermediates %.2e  uint8 %d of %d differ (max %d)\n",
               fixtures[f].name, st[f].w, st[f].img, st[f].inter, st[f].u8_diff, st[f].u8_total,
               st[f].u8_maxdiff);

    // seed 0 (all psi/noise cases + intermediates) and the batches with each forced ISA
    const char *isas[] = {"generic", "avx2", "avx512"};
    for (int i = 0; i < 3; i++) {
        setenv("SALIENT_ISA", isas[i], 1);
        errstat_t s2[3];
        memset(s2, 0, sizeof s2);
        for (int f = 0; f < (SANITIZED ? 2 : 3); f++) run_fixture(&t, &fixtures[f], 0, &s2[f]);
        printf("SALIENT_ISA=%-8s img %.2e %.2e %.2e  intermediates %.2e %.2e %.2e\n", isas[i],
               s2[0].img, s2[1].img, s2[2].img, s2[0].inter, s2[1].inter, s2[2].inter);
    }
    if (isa_env) setenv("SALIENT_ISA", saved_isa, 1);
    else unsetenv("SALIENT_ISA");
    return test_end(&t);
}

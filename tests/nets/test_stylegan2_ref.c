/* test_stylegan2_ref.c — the plain reference generator (nets/stylegan2_ref.c)
 * against NVIDIA's outputs, and against the fast path.
 *
 * Fixtures tiny, tiny_clamp, small (../shared/fixtures/stylegan2): w for psi
 * 1.0 / 0.7, the float images for noise const / none, and every per-block
 * intermediate of seed 0 (through the hook), all within the fast path's
 * tolerance max|ref - nvidia| <= 1e-5 * max(1, max|nvidia|). tiny_clamp and
 * tiny psi 1000 make the clamps clip. Then the reference and the fast path
 * on random-weight networks (a 64 px net with noise const and random, and
 * in the normal build ffhq256 with noise const: ~20 s of plain loops): w
 * close, every traced tensor and the image within REF_VS_FAST_TOL.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "blob.h"
#include "netload.h"
#include "random_config.h"
#include "sg2_test_nets.h"
#include "sg2_layout.h"
#include "stylegan2.h"
#include "stylegan2_ref.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define FIXTURE_TOL 1e-5       /* as tests/nets/test_stylegan2.c holds the fast path */
#define REF_VS_FAST_TOL 1e-5   /* documented in docs/stylegan2.md, "The two paths" */

static double rel_err(const float *a, const float *ref, size_t n) {
    double lim = 1, d = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(ref[i]) > lim) lim = fabs(ref[i]);
        double e = fabs((double)a[i] - ref[i]);
        if (!(e <= d)) d = e;   // NaN counts as infinitely far
    }
    return d / lim;
}

static float *read_ref(const test_ctx_t *t, const char *fx, const char *file, size_t n) {
    char rel[512], path[1600];
    snprintf(rel, sizeof rel, "fixtures/stylegan2/%s/ref/%s", fx, file);
    size_t size = 0;
    float *p = test_read_raw(test_shared(t, rel, path, sizeof path), &size);
    if (p && size != n * sizeof(float)) {
        free(p);
        return NULL;
    }
    return p;
}

/* ---- the hook: each intermediate against <case>__<name>.bin where it exists ---- */

typedef struct cmp_ctx {
    test_ctx_t *t;
    const char *fx;
    int matched;
    double worst;
} cmp_ctx_t;

static void compare_hook(void *user, const char *name, int ndim, const int64_t *shape,
                         const float *data) {
    cmp_ctx_t *h = user;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    if (strncmp(name, "synthesis.", 10) != 0 || strstr(name, ".demod")) return;   // no reference
    char file[256];
    snprintf(file, sizeof file, "seed0_psi1.0_const__%s.bin", name);
    float *ref = read_ref(h->t, h->fx, file, n);
    CHECK(h->t, ref != NULL, "%s: no reference %s of %zu floats", h->fx, file, n);
    if (!ref) return;
    double e = rel_err(data, ref, n);
    if (e > h->worst) h->worst = e;
    CHECK(h->t, e <= FIXTURE_TOL, "%s %s: relative error %.3g", h->fx, name, e);
    h->matched++;
    free(ref);
}

/* One fixture: seeds 0..nseeds-1, psi 1.0 / 0.7, noise const / none. */
static void run_fixture(test_ctx_t *t, const char *fx, int nseeds, int psi1000) {
    blob_t *blob;
    sg2_net_t *net;
    if (test_fixture_net(t, fx, &blob, &net) < 0) return;
    const sg2_config_t *cfg = &net->cfg;
    const size_t nw = (size_t)cfg->num_ws * cfg->w_dim;
    const size_t ni = (size_t)cfg->img_channels * cfg->img_resolution * cfg->img_resolution;
    float *z = malloc(cfg->z_dim * sizeof(float)), *ws = malloc(nw * sizeof(float));
    float *img = malloc(ni * sizeof(float));
    sal_err_t err = {{0}};
    double worst_w = 0, worst_img = 0;
    cmp_ctx_t hc = {t, fx, 0, 0};
    for (int seed = 0; seed < nseeds; seed++) {
        sg2_z_from_seed((uint32_t)seed, cfg->z_dim, z, NULL);
        for (int p = 0; p < 2 + psi1000; p++) {
            const char *psis = p == 0 ? "1.0" : p == 1 ? "0.7" : "1000.0";
            const float psi = p == 0 ? 1.0f : p == 1 ? 0.7f : 1000.0f;
            if (p == 2 && seed != 0) continue;
            char file[128];
            CHECK(t, sg2_ref_mapping(net, z, psi, SG2_CUTOFF_NONE, ws, NULL, NULL, &err) == 0, "%s", err.msg);
            snprintf(file, sizeof file, "seed%d_psi%s_w.bin", seed, psis);
            float *wref = read_ref(t, fx, file, nw);
            CHECK(t, wref != NULL, "%s/%s missing", fx, file);
            if (!wref) continue;
            double e = rel_err(ws, wref, nw);
            if (e > worst_w) worst_w = e;
            CHECK(t, e <= FIXTURE_TOL, "%s seed %d psi %s: w relative error %.3g", fx, seed, psis, e);
            free(wref);
            for (int nm = 0; nm < 2; nm++) {
                const int hooked = seed == 0 && p == 0 && nm == 0;
                snprintf(file, sizeof file, "seed%d_psi%s_%s_img.bin", seed, psis, nm ? "none" : "const");
                float *iref = read_ref(t, fx, file, ni);
                if (!iref) continue;   // (psi 1000 has const only)
                CHECK(t, sg2_ref_synthesis(net, ws, nm ? SG2_NOISE_NONE : SG2_NOISE_CONST, NULL,
                                           hooked ? compare_hook : NULL, &hc, img, &err) == 0,
                      "%s", err.msg);
                e = rel_err(img, iref, ni);
                if (e > worst_img) worst_img = e;
                CHECK(t, e <= FIXTURE_TOL, "%s %s: image relative error %.3g", fx, file, e);
                free(iref);
            }
        }
    }
    CHECK(t, hc.matched >= 8 * cfg->num_blocks - 2, "%s: only %d intermediates compared", fx, hc.matched);
    printf("%-10s reference vs NVIDIA: w %.3g, images %.3g, %d intermediates %.3g (relative)\n", fx,
           worst_w, worst_img, hc.matched, hc.worst);
    free(z); free(ws); free(img);
    sg2_free(net);
    blob_close(blob);
}

/* ---- reference vs fast path, tensor by tensor ---------------------------- */

#define MAX_TRACE 256
typedef struct trace_rec {
    int n;
    char name[MAX_TRACE][96];
    size_t len[MAX_TRACE];
    float *data[MAX_TRACE];
} trace_rec_t;

static void record_hook(void *user, const char *name, int ndim, const int64_t *shape,
                        const float *data) {
    trace_rec_t *r = user;
    if (r->n >= MAX_TRACE) return;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    snprintf(r->name[r->n], sizeof r->name[0], "%s", name);
    r->len[r->n] = n;
    r->data[r->n] = malloc(n * sizeof(float));
    if (r->data[r->n]) memcpy(r->data[r->n], data, n * sizeof(float));
    r->n++;
}

static void trace_free(trace_rec_t *r) {
    for (int i = 0; i < r->n; i++) free(r->data[i]);
    r->n = 0;
}

static void run_vs_fast(test_ctx_t *t, const sg2_layout_config_t *cfg_l, const char *label,
                        int n_modes) {
    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    sg2_net_t *net = test_random_net(t, cfg_l, 1, label, &blob);
    if (!net) return;
    const sg2_config_t *cfg = &net->cfg;
    const size_t nw = (size_t)cfg->num_ws * cfg->w_dim;
    const size_t ni = (size_t)cfg->img_channels * cfg->img_resolution * cfg->img_resolution;
    float *z = malloc(cfg->z_dim * sizeof(float)), *ws = malloc(nw * sizeof(float));
    float *ws_fast = malloc(nw * sizeof(float));
    float *img = malloc(ni * sizeof(float)), *img_fast = malloc(ni * sizeof(float));
    trace_rec_t *rr = calloc(1, sizeof *rr), *rf = calloc(1, sizeof *rf);
    for (int mode = 0; mode < n_modes; mode++) {
        const sg2_noise_mode_t nm = mode ? SG2_NOISE_RANDOM : SG2_NOISE_CONST;
        rng_np_t rng_ref, rng_fast;
        sg2_z_from_seed(5, cfg->z_dim, z, &rng_ref);
        sg2_z_from_seed(5, cfg->z_dim, z, &rng_fast);
        CHECK(t, sg2_ref_mapping(net, z, 0.7f, SG2_CUTOFF_NONE, ws, record_hook, rr, &err) == 0, "%s", err.msg);
        CHECK(t, sg2_mapping_hooked(net, z, 1, 0.7f, SG2_CUTOFF_NONE, ws_fast, record_hook, rf, &err) == 0,
              "%s", err.msg);
        const double t0 = sal_now();
        CHECK(t, sg2_ref_synthesis(net, ws, nm, &rng_ref, record_hook, rr, img, &err) == 0, "%s", err.msg);
        const double t1 = sal_now();
        sg2_synthesis_opts_t opts = {.noise_mode = nm, .noise_rngs = &rng_fast, .hook = record_hook,
                                     .hook_user = rf};
        CHECK(t, sg2_synthesis(net, ws, 1, &opts, img_fast, &err) == 0, "%s", err.msg);
        const double t2 = sal_now();
        const double e_w = rel_err(ws, ws_fast, nw), e_img = rel_err(img, img_fast, ni);
        CHECK(t, e_w <= 1e-6, "%s: w of the two paths differ by %.3g", label, e_w);
        CHECK(t, e_img <= REF_VS_FAST_TOL, "%s: images differ by %.3g", label, e_img);
        // the same named tensors, in the same order, each within the tolerance
        CHECK(t, rr->n == rf->n && rr->n > 10, "%s: %d tensors from the reference, %d from the fast path",
              label, rr->n, rf->n);
        double worst = 0;
        const char *worst_name = "";
        for (int i = 0; i < rr->n && i < rf->n; i++) {
            CHECK(t, !strcmp(rr->name[i], rf->name[i]) && rr->len[i] == rf->len[i],
                  "tensor %d: %s (%zu) vs %s (%zu)", i, rr->name[i], rr->len[i], rf->name[i], rf->len[i]);
            if (strcmp(rr->name[i], rf->name[i]) || rr->len[i] != rf->len[i]) break;
            const double e = rel_err(rr->data[i], rf->data[i], rr->len[i]);
            if (e > worst) { worst = e; worst_name = rr->name[i]; }
            CHECK(t, e <= REF_VS_FAST_TOL, "%s %s: %.3g", label, rr->name[i], e);
        }
        double maxabs = 0;
        for (size_t i = 0; i < ni; i++) maxabs = fmax(maxabs, fabs((double)img[i] - img_fast[i]));
        printf("%s, noise %s: reference vs fast: w %.3g, image max |diff| %.3g, worst of %d tensors "
               "%.3g (%s); %.2f s reference, %.2f s fast (shared machine)\n",
               label, mode ? "random" : "const", e_w, maxabs, rr->n, worst, worst_name, t1 - t0, t2 - t1);
        trace_free(rr);
        trace_free(rf);
    }
    free(rr); free(rf);
    free(z); free(ws); free(ws_fast); free(img); free(img_fast);
    sg2_free(net);
    blob_close(blob);
}

int main(void) {
    test_ctx_t t = test_begin("stylegan2_ref");
    if (test_need_shared(&t, "fixtures/stylegan2")) {   // the random nets below need none
        run_fixture(&t, "tiny", 4, 1);
        run_fixture(&t, "tiny_clamp", 2, 0);
        run_fixture(&t, "small", SANITIZED ? 1 : test_full() ? 4 : 2, 0);   // make test: 2 seeds
    }
    const sg2_layout_config_t narrow = {NULL, 64, 64, 0, 64, 3, 8, 0.01, 1024, 64, 0, 256, "skip", 0.995};
    run_vs_fast(&t, &narrow, "random 64 px", 2);   // noise const and random
    if (!SANITIZED) run_vs_fast(&t, sg2_config_find("ffhq256"), "random ffhq256", 1);
    return test_end(&t);
}

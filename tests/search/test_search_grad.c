/* test_search_grad.c — `salient search --method grad` (search/search.c)
 * against invariants that do not come from the search itself:
 *   - search_project_ball: after projection the float32 latent is within
 *     the radius exactly (distance in double from the float values), on the
 *     sphere to float precision, in the original direction; inside points
 *     are left bit for bit;
 *   - search_default_lr: sqrt(sum_d sigma_d^2), and for an isotropic sigma
 *     the mean length of the random search's steps (numpy-style randn) is
 *     that within 1%;
 *   - on the fixture generator `tiny` with the real saliency model: a run
 *     of search_seed with a small lr raises the smooth maximum (evaluated
 *     afresh by a separate latent_grad at every row of latents.npy) at every
 *     step (and lowers it with --objective min), each step has length lr and
 *     points along dL/dx at the previous latent (cosine > 0.9999). (That
 *     step 0 is the random search's start face and score:
 *     test_search_grad.sh.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "latent_grad.h"
#include "netload.h"
#include "npy.h"
#include "rng.h"
#include "search.h"
#include "stylegan2.h"
#include "vxm.h"

static double dist_f32(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return sqrt(s);
}

static void test_project(test_ctx_t *t) {
    test_rng_t r = {4242};
    const int dims[] = {1, 7, 512, 4608};
    int bad_bound = 0, bad_sphere = 0, bad_dir = 0, bad_inside = 0, cases = 0;
    for (int di = 0; di < 4; di++) {
        const int D = dims[di];
        float *x0 = malloc(sizeof(float) * D), *x = malloc(sizeof(float) * D), *orig = malloc(sizeof(float) * D);
        for (int rep = 0; rep < 40; rep++) {
            double spread = rep % 4 == 0 ? 1e-3 : rep % 4 == 1 ? 1 : rep % 4 == 2 ? 30 : 1e3;
            for (int d = 0; d < D; d++) {
                x0[d] = test_rand(&r) * (float)(rep % 3 == 0 ? 100 : 1);
                orig[d] = x[d] = x0[d] + (float)spread * test_rand(&r);
            }
            double dist = dist_f32(x, x0, D);
            /* radii: 0, a small one, just under and at the distance, beyond it */
            const double radii[] = {0, dist * 1e-3, dist * (1 - 1e-7), dist * 0.37, dist, dist * 2};
            for (int k = 0; k < 6; k++) {
                memcpy(x, orig, sizeof(float) * D);
                search_project_ball(x, x0, D, radii[k]);
                double now = dist_f32(x, x0, D), dot = 0, nx = 0;
                cases++;
                bad_bound += !(now <= radii[k]);
                if (dist <= radii[k]) {
                    bad_inside += memcmp(x, orig, sizeof(float) * D) != 0;
                    continue;
                }
                /* on the sphere, up to float32 rounding of the coordinates (~6e-8 of |x|) */
                double scale = 0;
                for (int d = 0; d < D; d++) scale = fmax(scale, fabs((double)x0[d]));
                if (radii[k] > 0) bad_sphere += !(now >= radii[k] - 1e-6 * (radii[k] + scale * sqrt(D)));
                for (int d = 0; d < D; d++) {
                    dot += ((double)x[d] - x0[d]) * ((double)orig[d] - x0[d]);
                    nx += ((double)x[d] - x0[d]) * ((double)x[d] - x0[d]);
                }
                if (radii[k] > 1e-3 * (scale + 1) && nx > 0) bad_dir += !(dot / (sqrt(nx) * dist) > 0.9999);
            }
        }
        free(x0), free(x), free(orig);
    }
    CHECK(t, bad_bound == 0, "project: %d of %d cases end outside the radius", bad_bound, cases);
    CHECK(t, bad_sphere == 0, "project: %d of %d cases end well inside the sphere", bad_sphere, cases);
    CHECK(t, bad_dir == 0, "project: %d of %d cases changed direction", bad_dir, cases);
    CHECK(t, bad_inside == 0, "project: %d points inside the ball were changed", bad_inside);
}

static void test_default_lr(test_ctx_t *t) {
    double sig[3] = {0.3, 0.4, 1.2};
    CHECK(t, fabs(search_default_lr(sig, 3) - 1.3) < 1e-12, "default lr of (0.3, 0.4, 1.2) is %.17g, want 1.3",
          search_default_lr(sig, 3));
    /* isotropic: sigma sqrt(D), the mean length of the random steps */
    const int D = 512, N = 400;
    double *s = malloc(sizeof(double) * D);
    for (int d = 0; d < D; d++) s[d] = 0.1;
    double lr = search_default_lr(s, D), mean = 0;
    CHECK(t, fabs(lr - 0.1 * sqrt(D)) < 1e-12, "default lr %.17g, want sigma sqrt(D)", lr);
    rng_np_t rng;
    rng_np_seed(&rng, 99);
    for (int n = 0; n < N; n++) {
        double q = 0;
        for (int d = 0; d < D; d++) {
            double v = s[d] * rng_np_randn(&rng);
            q += v * v;
        }
        mean += sqrt(q) / N;
    }
    CHECK(t, fabs(mean / lr - 1) < 0.01, "mean random step %.6g vs default lr %.6g", mean, lr);
    free(s);
}

/* The rows of a latents.npy: *rows, each of D floats (malloc'ed). */
static float *load_rows(const char *path, int D, int *rows, sal_err_t *err) {
    npy_array_t a;
    if (npy_load(path, &a, err)) return NULL;
    int64_t n = a.ndim > 0 ? a.shape[0] : 0, per = 1;
    for (int i = 1; i < a.ndim; i++) per *= a.shape[i];
    float *out = NULL;
    if (a.dtype == DT_F32 && per == D && n > 0) {
        out = malloc(sizeof(float) * (size_t)(n * per));
        if (out) memcpy(out, a.data, sizeof(float) * (size_t)(n * per));
        *rows = (int)n;
    }
    npy_free(&a);
    return out;
}

/* One run of search_seed with --method grad; checks the objective along
 * latents.npy with a separate latent_grad. */
static void check_run(test_ctx_t *t, const sg2_net_t *net, const saliency_model_t *sal, search_space_t space,
                      search_objective_t objective, int steps, const char *name, float *start_score) {
    char dir[1200], path[2600];
    test_tmp(t, name, dir, sizeof dir);
    snprintf(path, sizeof path, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(path) != 0) return;
    const double lr = 0.05, tau = 0.1;
    search_params_t p = {.network = "tiny", .saliency = "fastgaze", .outdir = dir, .steps = steps, .candidates = 1,
                         .sigma = 0.1, .space = space, .psi = 1.0f, .trunc_cutoff = SG2_CUTOFF_NONE,
                         .noise_mode = SG2_NOISE_CONST, .accept = ACCEPT_BEST, .objective = objective, .batch = 1,
                         .method = METHOD_GRAD, .lr = lr, .radius = -1, .score = SALIENCY_OBJ_SOFTMAX, .tau = tau};
    search_ctx_t ctx;
    sal_err_t err = {{0}};
    int rc = search_init(&ctx, &p, net, sal, &err);
    CHECK(t, rc == 0, "%s: search_init: %s", name, err.msg);
    if (rc) return;
    CHECK(t, ctx.lr == lr, "%s: lr %.17g in use, %g given", name, ctx.lr, lr);
    rc = search_seed(&ctx, 0, 0, NULL, NULL, NULL, &err);
    CHECK(t, rc == 0, "%s: search_seed: %s", name, err.msg);
    const int D = ctx.latent_dim;
    search_free(&ctx);
    if (rc) return;

    snprintf(path, sizeof path, "%s/seed0000/latents.npy", dir);
    int rows = 0;
    float *lat = load_rows(path, D, &rows, &err);
    CHECK(t, lat && rows == steps + 1, "%s: latents.npy: %d rows (want %d) %s", name, rows, steps + 1, lat ? "" : err.msg);
    if (!lat || rows != steps + 1) { free(lat); return; }

    latent_grad_t *lg = NULL;
    const latent_grad_opts_t lo = {.space = (latent_space_t)space, .psi = 1.0f, .cutoff = SG2_CUTOFF_NONE,
                                   .objective = SALIENCY_OBJ_SOFTMAX, .tau = (float)tau, .noise_mode = SG2_NOISE_CONST};
    if (latent_grad_create(&lg, net, sal, &lo, &err)) {
        CHECK(t, 0, "%s: latent_grad_create: %s", name, err.msg);
        free(lat);
        return;
    }
    float *g = malloc(sizeof(float) * D);
    double prev = 0;
    int monotone = 1, along = 1, length = 1;
    for (int s = 0; s <= steps; s++) {
        latent_grad_result_t res;
        rng_np_t noise;
        rng_np_seed(&noise, 0);
        if (latent_grad_eval(lg, lat + (size_t)s * D, &noise, &res, g, &err)) {
            CHECK(t, 0, "%s: eval: %s", name, err.msg);
            break;
        }
        if (s == 0) *start_score = res.sal.max_saliency;
        if (s > 0) {
            int up = objective == OBJECTIVE_MAX ? res.sal.value > prev : res.sal.value < prev;
            if (!up) {
                monotone = 0;
                fprintf(stderr, "%s: step %d: objective %.9g after %.9g\n", name, s, res.sal.value, prev);
            }
        }
        prev = res.sal.value;
        if (s < steps) { /* the next step: length lr, along +-g */
            const float *a = lat + (size_t)s * D, *b = a + D;
            double dot = 0, nd = 0, ng = 0;
            for (int d = 0; d < D; d++) {
                double dx = (double)b[d] - a[d];
                dot += dx * g[d];
                nd += dx * dx;
                ng += (double)g[d] * g[d];
            }
            double cosine = dot / (sqrt(nd) * sqrt(ng)) * (objective == OBJECTIVE_MAX ? 1 : -1);
            if (!(cosine > 0.9999)) along = 0, fprintf(stderr, "%s: step %d: cosine with the gradient %.9g\n", name, s + 1, cosine);
            if (!(fabs(sqrt(nd) - lr) < 1e-5 * (1 + sqrt(nd)))) length = 0;
        }
    }
    CHECK(t, monotone, "%s: the smooth maximum does not %s at every step", name, objective == OBJECTIVE_MAX ? "rise" : "fall");
    CHECK(t, along, "%s: a step does not follow the gradient", name);
    CHECK(t, length, "%s: a step is not of length lr", name);
    free(g);
    free(lat);
    latent_grad_free(lg);
}

static void test_fixture(test_ctx_t *t) {
    char gpath[1100], spath[1100];
    sal_err_t err = {{0}};
    blob_t *gblob = NULL, *sblob = NULL;
    sg2_net_t *net = NULL;
    saliency_model_t sal;
    test_shared(t, "fixtures/stylegan2/tiny/tiny.pkl", gpath, sizeof gpath);
    test_shared(t, "data/fastgaze.vxm", spath, sizeof spath);
    if (netload_open(gpath, &gblob, &err) < 0 || sg2_load(&net, gblob, &err) < 0 || vxm_open_blob(spath, &sblob, &err) < 0 ||
        saliency_model_init(&sal, sblob, &err) < 0) {
        CHECK(t, 0, "load: %s", err.msg);
        sg2_free(net);
        blob_close(gblob);
        blob_close(sblob);
        return;
    }
    float s_up = 0, s_down = 0;
    check_run(t, net, &sal, SPACE_Z, OBJECTIVE_MAX, 2, "z_max", &s_up);
    check_run(t, net, &sal, SPACE_WPLUS, OBJECTIVE_MIN, 1, "wplus_min", &s_down);
    CHECK(t, s_up == s_down && s_up > 0, "both runs start from seed 0's face: max saliency %.9g vs %.9g", (double)s_up,
          (double)s_down);
    saliency_model_free(&sal);
    sg2_free(net);
    blob_close(gblob);
    blob_close(sblob);
}

int main(void) {
    test_ctx_t t = test_begin("search_grad");
    test_project(&t);
    test_default_lr(&t);
    /* a forward+backward costs ~2.5 s under the sanitizers: there the
     * chain runs in test_search_grad.sh only (unless make test-full) */
    if ((!test_sanitized() || test_full()) && test_need_shared(&t, "fixtures/stylegan2/tiny") &&
        test_need_shared(&t, "data/fastgaze.vxm"))
        test_fixture(&t);
    return test_end(&t);
}

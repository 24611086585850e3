/* test_direction.c — the population saliency direction (search/direction.c)
 * against known answers: the Cholesky solve against its residual, the
 * bootstrap counts, and, on the fixture generator `tiny` with the synthetic
 * objective L = <u, w> (latent_grad's linear_u hook), both estimates recover
 * u: the mean of unit gradients over seeds, and the ridge regression over the
 * candidates of a random-search folder written here by the search's own
 * rules (candidates drawn by direction_draw_candidates, the best chosen). A
 * folder whose run.json names another rng_seed is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "common.h"
#include "direction.h"
#include "latent_grad.h"
#include "netload.h"
#include "npy.h"
#include "stylegan2.h"

static void test_cholesky(test_ctx_t *t) {
    const int D = 40;
    test_rng_t r = {12345};
    double *M = malloc(sizeof(double) * D * D), *A = malloc(sizeof(double) * D * D), *A2 = malloc(sizeof(double) * D * D);
    double *b = malloc(sizeof(double) * D), *x = malloc(sizeof(double) * D);
    for (int i = 0; i < D * D; i++) M[i] = test_rand(&r);
    for (int i = 0; i < D; i++) {
        b[i] = test_rand(&r);
        for (int j = 0; j < D; j++) {
            double s = i == j ? 0.5 : 0;   // A = M^T M + 0.5 I
            for (int k = 0; k < D; k++) s += M[k * D + i] * M[k * D + j];
            A[i * D + j] = A2[i * D + j] = s;
        }
    }
    sal_err_t err = {{0}};
    CHECK(t, direction_cholesky_solve(A2, b, D, x, &err) == 0, "cholesky: %s", err.msg);
    double res = 0, bn = 0;
    for (int i = 0; i < D; i++) {
        double s = -b[i];
        for (int j = 0; j < D; j++) s += A[i * D + j] * x[j];
        res = fmax(res, fabs(s));
        bn = fmax(bn, fabs(b[i]));
    }
    CHECK(t, res < 1e-10 * bn, "cholesky residual %g", res);
    // not positive definite: refused, not a NaN
    for (int i = 0; i < D * D; i++) A2[i] = 0;
    A2[0] = -1;
    CHECK(t, direction_cholesky_solve(A2, b, D, x, &err) < 0 && strstr(err.msg, "positive definite"), "indefinite: %s", err.msg);
    free(M), free(A), free(A2), free(b), free(x);
}

static void test_bootstrap_counts(test_ctx_t *t) {
    int c1[13], c2[13], total = 0, differ = 0;
    direction_bootstrap_counts(7, 13, c1);
    direction_bootstrap_counts(7, 13, c2);
    for (int i = 0; i < 13; i++) {
        total += c1[i];
        differ |= c1[i] != c2[i];
    }
    CHECK(t, total == 13 && !differ, "bootstrap counts: total %d, differ %d", total, differ);
    direction_bootstrap_counts(8, 13, c2);
    differ = 0;
    for (int i = 0; i < 13; i++) differ |= c1[i] != c2[i];
    CHECK(t, differ, "another seed gives other counts");
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A search folder as salient search writes it (the files the regression
 * reads), with the score <u, x> + a small deterministic nonlinearity. */
static int write_search(const char *dir, latent_grad_t *lg, const double *u, int D, int n_seeds, int T, int K,
                        double sigma, uint32_t rng_seed) {
    char path[1300];
    sal_err_t err = {{0}};
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/run.json", dir);
    char run[512];
    snprintf(run, sizeof run,
             "{\"steps\": %d, \"candidates\": %d, \"sigma\": %.17g, \"sigma_file\": \"\", \"space\": \"w\", \"trunc\": 1, "
             "\"trunc_cutoff\": -1, \"noise_mode\": 0, \"accept\": \"best\", \"rng_seed\": %u, \"fast\": 0}\n",
             T, K, sigma, rng_seed);
    write_text(path, run);
    float *L = malloc(sizeof(float) * (size_t)(T + 1) * D), *cand = malloc(sizeof(float) * (size_t)K * D);
    double *sig = malloc(sizeof(double) * D);
    for (int d = 0; d < D; d++) sig[d] = sigma;
    for (uint32_t s = 0; s < (uint32_t)n_seeds; s++) {
        char sdir[1200];
        snprintf(sdir, sizeof sdir, "%s/seed%04u", dir, s);
        mkdir(sdir, 0777);
        if (latent_grad_start(lg, s, L, NULL, &err) < 0) return -1;
        snprintf(path, sizeof path, "%s/log.csv", sdir);
        FILE *f = fopen(path, "w");
        if (!f) return -1;
        fprintf(f, "step,candidate,max_saliency,x,y,chosen,distance\n");
        double score0 = 0;
        for (int d = 0; d < D; d++) score0 += u[d] * L[d];
        fprintf(f, "0,0,%.9g,0,0,1,0\n", score0);
        for (int step = 1; step <= T; step++) {
            const float *cur = L + (size_t)(step - 1) * D;
            direction_draw_candidates(rng_seed, s, step, cur, sig, K, D, cand);
            double sc[64];
            int best = 0;
            for (int k = 0; k < K; k++) {
                double v = 0;
                for (int d = 0; d < D; d++) v += u[d] * cand[(size_t)k * D + d];
                v += 0.002 * sin(40.0 * cand[(size_t)k * D]);   // not exactly linear
                sc[k] = v;
                if (v > sc[best]) best = k;
            }
            for (int k = 0; k < K; k++) fprintf(f, "%d,%d,%.9g,0,0,%d,0\n", step, k, sc[k], k == best);
            memcpy(L + (size_t)step * D, cand + (size_t)best * D, sizeof(float) * D);
        }
        fclose(f);
        snprintf(path, sizeof path, "%s/latents.npy", sdir);
        int64_t shape[2] = {T + 1, D};
        if (npy_save(path, DT_F32, 2, shape, L, &err) < 0) return -1;
        snprintf(path, sizeof path, "%s/result.json", sdir);
        write_text(path, "{}\n");
    }
    free(L), free(cand), free(sig);
    return 0;
}

static void test_linear(test_ctx_t *t) {
    char path[1100];
    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    sg2_net_t *net = NULL;
    test_shared(t, "fixtures/stylegan2/tiny/tiny.pkl", path, sizeof path);
    if (netload_open(path, &blob, &err) < 0 || sg2_load(&net, blob, &err) < 0) {
        CHECK(t, 0, "load tiny: %s", err.msg);
        blob_close(blob);
        return;
    }
    const int D = net->cfg.w_dim;
    // u: a known unit vector
    test_rng_t r = {777};
    float *uf = malloc(sizeof(float) * D);
    double *u = malloc(sizeof(double) * D), *est = malloc(sizeof(double) * D);
    double un = 0;
    for (int d = 0; d < D; d++) {
        uf[d] = test_rand(&r);
        un += (double)uf[d] * uf[d];
    }
    for (int d = 0; d < D; d++) u[d] = (uf[d] /= (float)sqrt(un));
    latent_grad_t *lg = NULL;
    const latent_grad_opts_t lo = {.space = LATENT_W, .psi = 1, .cutoff = SG2_CUTOFF_NONE, .linear_u = uf};
    CHECK(t, latent_grad_create(&lg, net, NULL, &lo, &err) == 0, "create: %s", err.msg);
    if (!lg) goto out;
    CHECK(t, latent_grad_dim(lg) == D, "latent dim %d", latent_grad_dim(lg));

    // grad: the mean of unit gradients over seeds
    const int n = 12;
    float *x = malloc(sizeof(float) * D), *g = malloc(sizeof(float) * (size_t)n * D);
    for (int i = 0; i < n; i++) {
        latent_grad_result_t res;
        latent_grad_start(lg, (uint32_t)i, x, NULL, &err);
        CHECK(t, latent_grad_eval(lg, x, NULL, &res, g + (size_t)i * D, &err) == 0, "eval: %s", err.msg);
        double v = 0;
        for (int d = 0; d < D; d++) v += u[d] * x[d];
        CHECK(t, fabs(res.sal.value - v) < 1e-9 * (1 + fabs(v)), "linear value %g vs %g", res.sal.value, v);
    }
    CHECK(t, direction_mean_unit(g, n, D, NULL, est, &err) == 0, "mean_unit: %s", err.msg);
    double c = direction_cosine(est, u, D);
    CHECK(t, c > 0.99, "grad estimate: cosine to u %.6f", c);
    printf("grad estimate: cosine to u %.9f\n", c);

    // regression: over a search folder scored by <u, x>
    char dir[1100];
    test_tmp(t, "test_direction_search", dir, sizeof dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);   // a run of the other build may have left more seeds
    CHECK(t, system(cmd) == 0, "%s", cmd);
    const int T = test_sanitized() ? 2 : 3, K = 16, S = test_sanitized() ? 4 : 8;
    CHECK(t, write_search(dir, lg, u, D, S, T, K, 0.1, 5) == 0, "write the search folder");
    direction_samples_t smp;
    direction_samples_init(&smp, D);
    CHECK(t, direction_samples_add_folder(&smp, dir, NULL, NULL, &err) == 0, "read the folder: %s", err.msg);
    CHECK(t, smp.n_groups == S && smp.n_rows == (long)S * T * K, "%d groups, %ld rows", smp.n_groups, smp.n_rows);
    CHECK(t, direction_ridge(&smp, NULL, 0.01, est, &err) == 0, "ridge: %s", err.msg);
    c = direction_cosine(est, u, D);
    CHECK(t, c > 0.99, "regression estimate: cosine to u %.6f", c);
    printf("regression estimate (%ld candidates): cosine to u %.9f, |b| %.6f (|u| = 1)\n", smp.n_rows, c,
           direction_norm(est, D));
    // weights: all-ones equals no weights; doubling every seed changes nothing but lambda's share
    int *w = malloc(sizeof(int) * S);
    double *est2 = malloc(sizeof(double) * D);
    for (int i = 0; i < S; i++) w[i] = 1;
    direction_ridge(&smp, w, 0.01, est2, &err);
    CHECK(t, direction_cosine(est, est2, D) > 1 - 1e-12, "weights of 1 = no weights");
    direction_samples_free(&smp);

    // the same seed twice is refused
    direction_samples_init(&smp, D);
    direction_samples_add_folder(&smp, dir, NULL, NULL, &err);
    CHECK(t, direction_samples_add_folder(&smp, dir, NULL, NULL, &err) < 0 && strstr(err.msg, "two search folders"),
          "same seeds twice: %s", err.msg);
    direction_samples_free(&smp);
    // another rng_seed in run.json: the candidates do not match latents.npy
    char run[1200];
    snprintf(run, sizeof run, "%s/run.json", dir);
    write_text(run, "{\"steps\": 3, \"candidates\": 16, \"sigma\": 0.1, \"sigma_file\": \"\", \"space\": \"w\", \"trunc\": 1, "
                    "\"trunc_cutoff\": -1, \"noise_mode\": 0, \"accept\": \"best\", \"rng_seed\": 6, \"fast\": 0}\n");
    if (T != 3) {   // keep the steps of the folder
        write_text(run, "{\"steps\": 2, \"candidates\": 16, \"sigma\": 0.1, \"sigma_file\": \"\", \"space\": \"w\", \"trunc\": 1, "
                        "\"trunc_cutoff\": -1, \"noise_mode\": 0, \"accept\": \"best\", \"rng_seed\": 6, \"fast\": 0}\n");
    }
    direction_samples_init(&smp, D);
    CHECK(t, direction_samples_add_folder(&smp, dir, NULL, NULL, &err) < 0 && strstr(err.msg, "not the candidate"),
          "another rng_seed: %s", err.msg);
    direction_samples_free(&smp);
    // latents of another size: refused with the file named
    direction_samples_init(&smp, D + 1);
    snprintf(run, sizeof run, "{\"steps\": %d, \"candidates\": 16, \"sigma\": 0.1, \"sigma_file\": \"\", \"space\": \"w\", "
                              "\"trunc\": 1, \"trunc_cutoff\": -1, \"noise_mode\": 0, \"accept\": \"best\", \"rng_seed\": 5, \"fast\": 0}\n", T);
    char runp[1200];
    snprintf(runp, sizeof runp, "%s/run.json", dir);
    write_text(runp, run);
    CHECK(t, direction_samples_add_folder(&smp, dir, NULL, NULL, &err) < 0 && strstr(err.msg, "latents.npy"),
          "another latent size: %s", err.msg);
    direction_samples_free(&smp);
    // no run.json
    direction_samples_init(&smp, D);
    CHECK(t, direction_samples_add_folder(&smp, t->tmp, NULL, NULL, &err) < 0 && strstr(err.msg, "run.json"),
          "not a search folder: %s", err.msg);
    direction_samples_free(&smp);
    free(w), free(est2), free(x), free(g);
out:
    latent_grad_free(lg);
    free(uf), free(u), free(est);
    sg2_free(net);
    blob_close(blob);
}

int main(void) {
    test_ctx_t t = test_begin("direction");
    test_cholesky(&t);
    test_bootstrap_counts(&t);
    if (test_need_shared(&t, "fixtures/stylegan2/tiny")) test_linear(&t);
    return test_end(&t);
}

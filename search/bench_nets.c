/* bench_nets.c — time the generator and the saliency model (see bench_nets.h). */
#include "bench_nets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cpu.h"
#include "netload.h"
#include "random_config.h"
#include "saliency.h"
#include "stylegan2.h"

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;  /* Linux: kilobytes */
}

/* Best time of `runs` synthesis passes over n samples. */
static int time_synthesis(const sg2_net_t *net, const float *ws, int n, int runs, arena_t *a, float *img,
                          double *best, sal_err_t *err) {
    *best = INFINITY;
    for (int r = 0; r < runs; r++) {
        sg2_synthesis_opts_t o = {.noise_mode = SG2_NOISE_CONST, .arena = a};
        double t0 = sal_now();
        if (sg2_synthesis(net, ws, n, &o, img, err)) return -1;
        double dt = sal_now() - t0;
        *best = dt < *best ? dt : *best;
    }
    return 0;
}

int bench_networks(int threads, int quick, const char *saliency_model, bench_nets_t *r, sal_err_t *err) {
    memset(r, 0, sizeof *r);
    r->threads = threads;
    const sg2_layout_config_t *cfg = sg2_config_find("ffhq1024");
    blob_writer_t *w = blob_writer_new();
    blob_t *blob = NULL, *sblob = NULL;
    sg2_net_t *net = NULL;
    void *image = NULL;
    size_t size = 0;
    float *z = NULL, *ws = NULL, *img = NULL;
    uint8_t *rgb = NULL;
    arena_t a1 = {0}, a8 = {0};
    int rc = -1, B = quick ? 1 : 8;
    if (!cfg || !w) { sal_errf(err, "bench: no ffhq1024 config"); goto out; }
    if (rc_random_generator(cfg, 1, w, err) || blob_writer_to_memory(w, &image, &size, err)) goto out;
    blob_writer_free(w);
    w = NULL;
    if (blob_open_memory(&blob, image, size, 1, "random:ffhq1024", 0, err)) goto out;
    if (sg2_load(&net, blob, err)) goto out;
    const sg2_config_t *c = &net->cfg;
    const int R = c->img_resolution;
    z = malloc(sizeof(float) * (size_t)B * c->z_dim);
    ws = malloc(sizeof(float) * (size_t)B * c->num_ws * c->w_dim);
    img = malloc(sizeof(float) * (size_t)B * 3 * R * R);
    rgb = malloc((size_t)3 * R * R);
    if (!z || !ws || !img || !rgb) { sal_errf(err, "bench: out of memory"); goto out; }
    for (int i = 0; i < B; i++) sg2_z_from_seed((uint32_t)i, c->z_dim, z + (size_t)i * c->z_dim, NULL);

    threads_set(threads);
    double best = INFINITY;
    for (int k = 0; k < 20; k++) {
        double t0 = sal_now();
        if (sg2_mapping(net, z, 1, 1.0f, SG2_CUTOFF_NONE, ws, err)) goto out;
        double dt = sal_now() - t0;
        best = dt < best ? dt : best;
    }
    r->mapping_ms = best * 1e3;
    if (sg2_mapping(net, z, B, 1.0f, SG2_CUTOFF_NONE, ws, err)) goto out;

    if (arena_init(&a1, sg2_synthesis_arena_bytes(net, 1))) { sal_errf(err, "bench: out of memory"); goto out; }
    memset(a1.base, 0, a1.cap);
    if (time_synthesis(net, ws, 1, quick ? 1 : 2, &a1, img, &r->synth_b1_s, err)) goto out;
    r->rss_b1_mb = peak_rss_mb();
    if (!quick && threads > 1) {
        threads_set(1);
        if (time_synthesis(net, ws, 1, 1, &a1, img, &r->synth_b1_1t_s, err)) goto out;
        threads_set(threads);
    }
    sg2_to_uint8(img, 1, 3, R, R, rgb);
    arena_free(&a1);
    if (!quick) {
        double t8;
        if (arena_init(&a8, sg2_synthesis_arena_bytes(net, B))) { sal_errf(err, "bench: out of memory for batch %d", B); goto out; }
        memset(a8.base, 0, a8.cap); /* fault the pages in: a search reuses its arena, warm */
        if (time_synthesis(net, ws, B, 1, &a8, img, &t8, err)) goto out;
        r->synth_b8_s = t8 / B;
        r->rss_b8_mb = peak_rss_mb();
        arena_free(&a8);
    }

    if (saliency_model) {
        saliency_model_t sal;
        if (netload_open(saliency_model, &sblob, err) < 0 || saliency_model_init(&sal, sblob, err)) goto out;
        arena_t sa;
        if (arena_init(&sa, saliency_arena_bytes(&sal))) {
            saliency_model_free(&sal);
            sal_errf(err, "bench: out of memory");
            goto out;
        }
        saliency_image_t im = saliency_image_rgb(rgb, R, R, 3);
        for (int pass = 0; pass < 2; pass++) {
            threads_set(pass == 0 ? threads : 1);
            double b = INFINITY;
            for (int k = 0; k < (quick ? 2 : 5); k++) {
                saliency_result_t res;
                double t0 = sal_now();
                int s = saliency_run(&sal, &im, &sa, &res, err);
                double dt = sal_now() - t0;
                if (s) break;
                saliency_result_free(&res);
                b = dt < b ? dt : b;
            }
            if (pass == 0) r->saliency_ms = b * 1e3;
            else r->saliency_1t_ms = b * 1e3;
        }
        threads_set(threads);
        arena_free(&sa);
        saliency_model_free(&sal);
        r->have_saliency = isfinite(r->saliency_ms);
    }
    rc = 0;
out:
    arena_free(&a1);
    arena_free(&a8);
    blob_writer_free(w);
    sg2_free(net);
    blob_close(blob);
    blob_close(sblob);
    free(z);
    free(ws);
    free(img);
    free(rgb);
    return rc;
}

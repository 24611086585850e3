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
#include "saliency_grad.h"
#include "stylegan2.h"
#include "stylegan2_grad.h"

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;  /* Linux: kilobytes */
}

/* Time per image of `images` images made in passes of `batch` (consecutive
 * latents of ws, outputs into img; at batch 1 all into its first image),
 * best of `rounds` rounds. The rows the
 * bench compares (batch 1 vs 8, exact vs fast) all cover the same number of
 * images, so none gains more than another from a lucky quiet second (this
 * shared machine's timings vary by +-10%). */
static int time_images(const sg2_net_t *net, const float *ws, int batch, int images, int rounds,
                       arena_t *a, float *img, double *per_image, sal_err_t *err) {
    const sg2_config_t *c = &net->cfg;
    const size_t ws_per = (size_t)c->num_ws * c->w_dim;
    const size_t img_per = (size_t)c->img_channels * c->img_resolution * c->img_resolution;
    *per_image = INFINITY;
    for (int r = 0; r < rounds; r++) {
        const double t0 = sal_now();
        for (int i = 0; i < images; i += batch) {
            const int nb = images - i < batch ? images - i : batch;
            sg2_synthesis_opts_t o = {.noise_mode = SG2_NOISE_CONST, .arena = a};
            float *out = img + (batch == 1 ? 0 : i * img_per);   // batch 1: one image of memory
            if (sg2_synthesis(net, ws + i * ws_per, nb, &o, out, err)) return -1;
        }
        const double dt = (sal_now() - t0) / images;
        *per_image = dt < *per_image ? dt : *per_image;
    }
    return 0;
}

/* salient grad's generator half: a taped forward and the backward of one
 * image, best of `rounds` after a first pass that allocates the tape (a
 * search over seeds reuses it). dimg: any dL/dimg; dws: (num_ws, w_dim). */
static int time_grad(sg2_net_t *net, const float *ws, int rounds, float *img, const float *dimg,
                     float *dws, double *seconds, sal_err_t *err) {
    sg2_tape_t *tape = NULL;
    sg2_synthesis_opts_t o = {.noise_mode = SG2_NOISE_CONST};
    int rc = sg2_grad_prepare(net, err);
    if (rc == 0) rc = sg2_synthesis_forward_tape(net, ws, 1, &o, img, &tape, err);
    if (rc == 0) rc = sg2_synthesis_backward(net, tape, dimg, dws, err);
    *seconds = INFINITY;
    for (int r = 0; rc == 0 && r < rounds; r++) {
        const double t0 = sal_now();
        rc = sg2_synthesis_forward_retape(net, ws, 1, &o, img, tape, err);
        if (rc == 0) rc = sg2_synthesis_backward(net, tape, dimg, dws, err);
        const double dt = sal_now() - t0;
        *seconds = dt < *seconds ? dt : *seconds;
    }
    sg2_tape_free(tape);
    return rc;
}

/* max and mean |a - b| */
static void deviation(const float *a, const float *b, size_t n, double *mx, double *mean) {
    double m = 0.0, sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        m = d > m ? d : m;
        sum += d;
    }
    *mx = m;
    *mean = n ? sum / (double)n : 0.0;
}

/* A generator fixture under $SALIENT_SHARED/fixtures/stylegan2 (seed 0, psi 1, const
 * noise) in exact and fast mode against NVIDIA's reference image: dev =
 * {exact max, exact mean, fast max, fast mean}. Returns 0, 1 if the fixture
 * is not there (skipped), -1 on error. */
static int fixture_deviation(const char *name, double dev[4], sal_err_t *err) {
    const char *shared = getenv("SALIENT_SHARED");
    char pkl[1024], ref[1024];
    shared = shared && *shared ? shared : "../shared";
    snprintf(pkl, sizeof pkl, "%s/fixtures/stylegan2/%s/%s.pkl", shared, name, name);
    snprintf(ref, sizeof ref, "%s/fixtures/stylegan2/%s/ref/seed0_psi1.0_const_img.bin", shared, name);
    uint8_t *rdata = NULL;
    size_t rsize = 0;
    sal_err_t ignore;
    if (sal_read_file(ref, (size_t)1 << 28, &rdata, &rsize, &ignore)) return 1;
    blob_t *blob = NULL;
    sg2_net_t *net = NULL;
    float *z = NULL, *ws = NULL, *img = NULL, *refimg = NULL;
    int rc = -1;
    if (netload_open(pkl, &blob, err) < 0 || sg2_load(&net, blob, err)) goto out;
    const sg2_config_t *c = &net->cfg;
    const size_t npix = (size_t)c->img_channels * c->img_resolution * c->img_resolution;
    if (rsize != npix * sizeof(float)) {
        sal_errf(err, "%s: expected %zu bytes", ref, npix * sizeof(float));
        goto out;
    }
    z = malloc(sizeof(float) * c->z_dim);
    ws = malloc(sizeof(float) * (size_t)c->num_ws * c->w_dim);
    img = malloc(sizeof(float) * npix);
    refimg = malloc(sizeof(float) * npix);
    if (!z || !ws || !img || !refimg) { sal_errf(err, "bench: out of memory"); goto out; }
    memcpy(refimg, rdata, npix * sizeof(float));
    sg2_z_from_seed(0, c->z_dim, z, NULL);
    if (sg2_mapping(net, z, 1, 1.0f, SG2_CUTOFF_NONE, ws, err)) goto out;
    for (int fast = 0; fast < 2; fast++) {
        if (fast && sg2_enable_fast(net, err)) goto out;
        sg2_synthesis_opts_t o = {.noise_mode = SG2_NOISE_CONST};
        if (sg2_synthesis(net, ws, 1, &o, img, err)) goto out;
        deviation(img, refimg, npix, &dev[2 * fast], &dev[2 * fast + 1]);
    }
    rc = 0;
out:
    sg2_free(net);
    blob_close(blob);
    free(rdata); free(z); free(ws); free(img); free(refimg);
    return rc;
}

int bench_check_saliency_model(const char *saliency_model, sal_err_t *err) {
    blob_t *b = NULL;
    saliency_model_t sal;
    if (netload_open(saliency_model, &b, err) < 0) return -1;
    const int rc = saliency_model_init(&sal, b, err) ? -1 : 0;
    if (rc == 0) saliency_model_free(&sal);
    blob_close(b);
    return rc;
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
    float *z = NULL, *ws = NULL, *img = NULL, *exact = NULL, *fimg = NULL;
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
    const int rounds = quick ? 1 : 2;
    if (time_images(net, ws, 1, B, rounds, &a1, img, &r->synth_b1_s, err)) goto out;
    r->rss_b1_mb = peak_rss_mb();
    if (!quick && threads > 1) {
        threads_set(1);
        if (time_images(net, ws, 1, 1, 1, &a1, img, &r->synth_b1_1t_s, err)) goto out;
        threads_set(threads);
    }
    sg2_to_uint8(img, 1, 3, R, R, rgb);
    arena_free(&a1);
    if (arena_init(&a8, sg2_synthesis_arena_bytes(net, B))) { sal_errf(err, "bench: out of memory for batch %d", B); goto out; }
    memset(a8.base, 0, a8.cap); /* fault the pages in: a search reuses its arena, warm */
    if (!quick) {
        if (time_images(net, ws, B, B, rounds, &a8, img, &r->synth_b8_s, err)) goto out;
        r->rss_b8_mb = peak_rss_mb();
    }
    arena_free(&a8);
    /* white-box: forward + backward of image 0 (dL/dimg: the image itself,
     * any values serve), with the generator's arena freed, so that the
     * peak RSS is what `salient grad` needs */
    {
        const size_t per = (size_t)3 * R * R;
        float *gimg = malloc(sizeof(float) * per), *dws = malloc(sizeof(float) * (size_t)c->num_ws * c->w_dim);
        int g = (!gimg || !dws) ? sal_errf(err, "bench: out of memory") : 0;
        if (g == 0) g = time_grad(net, ws, rounds, gimg, img, dws, &r->grad_fb_s, err);
        free(gimg);
        free(dws);
        if (g) goto out;
        r->rss_grad_mb = peak_rss_mb();
    }
    if (arena_init(&a8, sg2_synthesis_arena_bytes(net, B))) { sal_errf(err, "bench: out of memory for batch %d", B); goto out; }
    memset(a8.base, 0, a8.cap);

    /* fast mode: time at batch 1 and B, deviation from exact mode on NF
     * random images (img holds the B exact images; per-sample results do not
     * depend on the batch size) */
    const int NF = quick ? 1 : 3;
    exact = malloc(sizeof(float) * (size_t)NF * 3 * R * R);
    fimg = malloc(sizeof(float) * (size_t)NF * 3 * R * R);
    if (!exact || !fimg) { sal_errf(err, "bench: out of memory"); goto out; }
    memcpy(exact, img, sizeof(float) * (size_t)NF * 3 * R * R);
    if (sg2_enable_fast(net, err)) goto out;
    if (time_images(net, ws, NF, NF, 1, &a8, fimg, &best, err)) goto out;
    if (time_images(net, ws, 1, B, rounds, &a8, img, &r->fast_b1_s, err)) goto out;
    if (!quick && time_images(net, ws, B, B, rounds, &a8, img, &r->fast_b8_s, err)) goto out;
    arena_free(&a8);
    r->fast_n = NF;
    deviation(fimg, exact, (size_t)NF * 3 * R * R, &r->fast_dev_max, &r->fast_dev_mean);
    r->fast_dsal_max = -1.0;

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
            for (int k = 0; k < (quick ? 3 : 20); k++) {
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
        r->have_saliency = isfinite(r->saliency_ms);
        /* white-box: the objective alone vs with dL/dimage (exact image 0) */
        {
            arena_t ga = {0};
            float *dimg = malloc(sizeof(float) * (size_t)3 * R * R);
            int ok = dimg && arena_init(&ga, saliency_grad_arena_bytes(&sal, R)) == 0;
            for (int pass = 0; ok && pass < 2; pass++) {
                double b = INFINITY;
                for (int k = 0; k < (quick ? 2 : 10) && ok; k++) {
                    saliency_grad_result_t gr;
                    double t0 = sal_now();
                    ok = saliency_grad_image(&sal, exact, R, SALIENCY_OBJ_MAX, 0.1f, &ga, &gr, pass ? dimg : NULL, err) == 0;
                    double dt = sal_now() - t0;
                    b = dt < b ? dt : b;
                }
                if (pass == 0) r->sal_grad_fwd_ms = b * 1e3;
                else r->sal_grad_fb_ms = b * 1e3;
            }
            arena_free(&ga);
            free(dimg);
            if (!ok) {
                arena_free(&sa);
                saliency_model_free(&sal);
                if (!dimg) sal_errf(err, "bench: out of memory");
                goto out;
            }
        }
        /* max saliency: exact image + exact model vs fast image + fast model */
        float smax[2][3];
        int ok = 1;
        for (int fast = 0; fast < 2 && ok; fast++) {
            if (fast && fg_enable_fast(&sal.net, err)) ok = 0;
            for (int i = 0; i < NF && ok; i++) {
                sg2_to_uint8((fast ? fimg : exact) + (size_t)i * 3 * R * R, 1, 3, R, R, rgb);
                saliency_image_t gi = saliency_image_rgb(rgb, R, R, 3);
                saliency_result_t res;
                if (saliency_run(&sal, &gi, &sa, &res, err)) { ok = 0; break; }
                smax[fast][i] = res.max;
                saliency_result_free(&res);
            }
            if (fast && ok) { /* fast saliency time: the same image as the exact timing */
                double b = INFINITY;
                for (int k = 0; k < (quick ? 3 : 20) && ok; k++) {
                    saliency_result_t res;
                    double t0 = sal_now();
                    if (saliency_run(&sal, &im, &sa, &res, err)) ok = 0;
                    double dt = sal_now() - t0;
                    if (ok) saliency_result_free(&res);
                    b = dt < b ? dt : b;
                }
                r->saliency_fast_ms = b * 1e3;
            }
        }
        arena_free(&sa);
        saliency_model_free(&sal);
        if (!ok) goto out;
        r->fast_dsal_max = 0.0;
        for (int i = 0; i < NF; i++) {
            double d = fabs((double)smax[1][i] - (double)smax[0][i]);
            r->fast_dsal_max = d > r->fast_dsal_max ? d : r->fast_dsal_max;
        }
    }
    static const char *const fixtures[2] = {"tiny", "small"};
    for (int f = 0; f < 2; f++) {
        double dev[4];
        int s = fixture_deviation(fixtures[f], dev, err);
        if (s < 0) goto out;
        if (s > 0) continue;
        r->fx[f].name = fixtures[f];
        r->fx[f].exact_max = dev[0];
        r->fx[f].exact_mean = dev[1];
        r->fx[f].fast_max = dev[2];
        r->fx[f].fast_mean = dev[3];
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
    free(exact);
    free(fimg);
    free(rgb);
    return rc;
}

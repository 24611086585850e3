/* test_trace.c — `--trace` (search/trace.c) on the tiny fixture network and
 * on the saliency network: every file named in trace.txt exists as a .npy
 * of the stated shape; the traced synthesis tensors and ws equal NVIDIA's
 * per-intermediate references (../shared/fixtures/stylegan2/tiny/ref, seed 0,
 * psi 1, noise const) within 1e-5 relative, for the fast and the reference
 * path; the traced saliency map equals the map saliency_run returns.
 */
#include "check.h"

#include "netload.h"
#include "npy.h"
#include "saliency.h"
#include "stylegan2.h"
#include "stylegan2_ref.h"
#include "trace.h"
#include "vxm.h"

/* Reads DIR/trace.txt; checks each line's file and shape; compares tensors
 * with a fixture file <ref_dir>/seed0_psi1.0_const__<name>.bin if given.
 * Returns the number of lines. */
static int check_trace(test_ctx_t *t, const char *dir, const char *ref_dir, int *compared) {
    char path[2048], line[1024];
    snprintf(path, sizeof path, "%s/trace.txt", dir);
    FILE *f = fopen(path, "r");
    CHECK(t, f != NULL, "no %s", path);
    if (!f) return 0;
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char name[256], file[256], shape[128];
        double lo, hi, mean, sd;
        if (sscanf(line, "%255s %255s %127s %lf %lf %lf %lf", name, file, shape, &lo, &hi, &mean, &sd) != 7) {
            CHECK(t, 0, "bad trace.txt line: %s", line);
            continue;
        }
        lines++;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        npy_array_t a;
        sal_err_t err = {{0}};
        if (npy_load_f32(path, &a, &err) < 0) {
            CHECK(t, 0, "%s", err.msg);
            continue;
        }
        char got[128] = "";
        size_t n = 1;
        for (int i = 0; i < a.ndim; i++) {
            size_t len = strlen(got);
            snprintf(got + len, sizeof got - len, "%s%lld", i ? "x" : "", (long long)a.shape[i]);
            n *= (size_t)a.shape[i];
        }
        CHECK(t, !strcmp(got, shape), "%s: shape %s, trace.txt says %s", file, got, shape);
        float mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < n; i++) { mn = fminf(mn, ((float *)a.data)[i]); mx = fmaxf(mx, ((float *)a.data)[i]); }
        CHECK(t, fabs(mn - lo) <= 1e-5 * fmax(1, fabs(lo)) && fabs(mx - hi) <= 1e-5 * fmax(1, fabs(hi)),
              "%s: min/max %g %g, trace.txt %g %g", file, mn, mx, lo, hi);
        const char *ref_name = !strcmp(name, "mapping.ws") ? "seed0_psi1.0_w.bin" : NULL;
        char rf[512];
        if (!ref_name && !strncmp(name, "synthesis.", 10) && !strstr(name, ".demod")) {
            snprintf(rf, sizeof rf, "seed0_psi1.0_const__%s.bin", name);
            ref_name = rf;
        }
        if (ref_dir && ref_name) {
            snprintf(path, sizeof path, "%s/%s", ref_dir, ref_name);
            size_t size = 0;
            float *ref = test_read_raw(path, &size);
            CHECK(t, ref && size == n * sizeof(float), "%s: missing or wrong size", path);
            if (ref && size == n * sizeof(float)) {
                double d = 0, lim = 1;
                for (size_t i = 0; i < n; i++) {
                    d = fmax(d, fabs((double)((float *)a.data)[i] - ref[i]));
                    lim = fmax(lim, fabs(ref[i]));
                }
                CHECK(t, d / lim <= 1e-5, "%s: relative error %.3g", name, d / lim);
                (*compared)++;
            }
            free(ref);
        }
        npy_free(&a);
    }
    fclose(f);
    return lines;
}

static void run_generator(test_ctx_t *t, int reference) {
    char path[1600], dir[1400], ref_dir[1400];
    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    sg2_net_t *net = NULL;
    if (netload_open(test_shared(t, "fixtures/stylegan2/tiny/tiny.pkl", path, sizeof path), &blob, &err) < 0 ||
        sg2_load(&net, blob, &err) < 0) {
        CHECK(t, 0, "%s", err.msg);
        blob_close(blob);
        return;
    }
    test_shared(t, "fixtures/stylegan2/tiny/ref", ref_dir, sizeof ref_dir);
    test_tmp(t, reference ? "sg2_ref" : "sg2_fast", dir, sizeof dir);
    const sg2_config_t *c = &net->cfg;
    float *z = malloc(c->z_dim * sizeof(float)), *ws = malloc((size_t)c->num_ws * c->w_dim * sizeof(float));
    float *img = malloc((size_t)3 * c->img_resolution * c->img_resolution * sizeof(float));
    sg2_z_from_seed(0, c->z_dim, z, NULL);
    trace_t tr;
    CHECK(t, trace_open(&tr, dir, &err) == 0, "%s", err.msg);
    int rc;
    if (reference) {
        rc = sg2_ref_mapping(net, z, 1.0f, SG2_CUTOFF_NONE, ws, trace_hook, &tr, &err) ||
             sg2_ref_synthesis(net, ws, SG2_NOISE_CONST, NULL, trace_hook, &tr, img, &err);
    } else {
        sg2_synthesis_opts_t o = {.noise_mode = SG2_NOISE_CONST, .hook = trace_hook, .hook_user = &tr};
        rc = sg2_mapping_hooked(net, z, 1, 1.0f, SG2_CUTOFF_NONE, ws, trace_hook, &tr, &err) ||
             sg2_synthesis(net, ws, 1, &o, img, &err);
    }
    CHECK(t, rc == 0, "%s", err.msg);
    CHECK(t, trace_close(&tr, &err) == 0, "%s", err.msg);
    int compared = 0;
    const int lines = check_trace(t, dir, ref_dir, &compared);
    // 11 mapping tensors; per block: x, img, torgb (2), conv1 (3), conv0 (3, not in b4)
    CHECK(t, lines == 11 + 4 * 10 - 3, "%d tensors traced", lines);
    CHECK(t, compared == 1 + 4 * 8 - 2, "%d tensors compared with NVIDIA's", compared);
    snprintf(path, sizeof path, "%s/synthesis.b16.conv0.out.png", dir);
    FILE *f = fopen(path, "rb");
    CHECK(t, f != NULL, "no montage %s", path);
    if (f) fclose(f);
    printf("generator (%s path): %d tensors traced, %d equal NVIDIA's references\n",
           reference ? "reference" : "fast", lines, compared);
    free(z); free(ws); free(img);
    sg2_free(net);
    blob_close(blob);
}

static void run_saliency(test_ctx_t *t, int reference) {
    char path[1600], dir[1400];
    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    saliency_model_t m;
    if (vxm_open_blob(test_shared(t, "data/fastgaze.vxm", path, sizeof path), &blob, &err) ||
        saliency_model_init(&m, blob, &err)) {
        CHECK(t, 0, "%s", err.msg);
        return;
    }
    const int w = 37, h = 21;   // a small input (odd sizes: partial pooling windows)
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) px[i] = (uint8_t)((i * 7919) >> 3);
    image_u8_t in = {w, h, 3, px};
    test_tmp(t, reference ? "sal_ref" : "sal_fast", dir, sizeof dir);
    trace_t tr;
    CHECK(t, trace_open(&tr, dir, &err) == 0, "%s", err.msg);
    saliency_opts_t o = {.reference = reference, .hook = trace_hook, .hook_user = &tr};
    float *map = NULL, *plain = NULL;
    int mw, mh, pw, ph;
    CHECK(t, saliency_map_opts(&m, &in, NULL, &o, &map, &mw, &mh, &err) == 0, "%s", err.msg);
    CHECK(t, trace_close(&tr, &err) == 0, "%s", err.msg);
    int compared = 0;
    const int lines = check_trace(t, dir, NULL, &compared);
    CHECK(t, lines == 2 + 18, "%d saliency tensors traced", lines);
    // the traced map is the map
    CHECK(t, saliency_map(&m, &in, NULL, &plain, &pw, &ph, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/saliency.map.npy", dir);
    npy_array_t a;
    if (npy_load_f32(path, &a, &err) == 0) {
        double d = 0;
        for (int i = 0; i < mw * mh && map && plain; i++) d = fmax(d, fabs(((float *)a.data)[i] - plain[i]));
        CHECK(t, mw == pw && mh == ph && d <= (reference ? 1e-4 : 0), "traced map differs by %g", d);
        npy_free(&a);
    } else {
        CHECK(t, 0, "%s", err.msg);
    }
    free(map); free(plain); free(px);
    saliency_model_free(&m);
    blob_close(blob);
}

int main(void) {
    test_ctx_t t = test_begin("trace");
    if (!test_need_shared(&t, "fixtures/stylegan2/tiny") || !test_need_shared(&t, "data/fastgaze.vxm"))
        return test_end(&t);
    run_generator(&t, 0);
    run_generator(&t, 1);
    run_saliency(&t, 0);
    run_saliency(&t, 1);
    return test_end(&t);
}

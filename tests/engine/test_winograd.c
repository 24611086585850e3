/* test_winograd.c — fast mode's Winograd F(4x4,3x3) conv against the naive loop.
 *
 * For every ISA path the CPU has (SALIENT_ISA = generic, avx2, avx512; a
 * missing one falls back and is tested again) and random shapes with odd
 * sizes (H, W not multiples of 4, channel counts not multiples of 8, batch
 * 1..3) and every epilogue option, runs conv2d on weights made fast
 * (conv_weights_make_fast) and compares with conv2d_ref: max error <= 5e-5 of
 * the magnitude of the raw sums (before the epilogue: a clamp would hide it).
 * Winograd rounds differently from the direct sum (the transforms grow values
 * ~10x before they cancel), typically 1e-6..1e-5 of that magnitude.
 * Also: the Winograd kernel really ran (direct call returns 0) and small
 * images (< 1024 pixels) fall back (returns 1); a delta kernel is the identity; results are
 * bit-identical for 1 and 2 threads and for a batch versus one image at a time.
 * End to end: the "small" generator fixture (64x64; Winograd at 32 and 64 px)
 * in fast mode (sg2_enable_fast), also with every transposed conv made fast
 * (winograd_t), stays within 1e-4 of NVIDIA's reference image (the exactness
 * tests' tolerance) and within 1e-5 of exact mode.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conv.h"
#include "conv_impl.h"
#include "cpu.h"
#include "netload.h"
#include "stylegan2.h"

#define TOL 5e-5

static double max_abs(const float *a, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

/* The Winograd kernel of the ISA cpu_isa() picks, called directly. */
static int run_wino(const conv_weights_t *cw, const float *in, float *out, int n, int h, int w,
                    const conv_epilogue_t *ep) {
    switch (cpu_isa()) {
    case ISA_AVX512: return conv2d_wino_avx512(cw, in, out, n, h, w, ep, NULL);
    case ISA_AVX2: return conv2d_wino_avx2(cw, in, out, n, h, w, ep, NULL);
    default: return conv2d_wino_generic(cw, in, out, n, h, w, ep, NULL);
    }
}

/* epilogue kinds: 0 none, 1 scale+noise+bias+lrelu+gain+clamp, 2 bias+relu */
static void test_shape(test_ctx_t *t, test_rng_t *r, const char *isa, int n, int ci, int co, int h,
                       int w, int ek) {
    const size_t ni = (size_t)n * ci * h * w, no = (size_t)n * co * h * w;
    float *wt = test_rand_array(r, (size_t)co * ci * 9), *in = test_rand_array(r, ni);
    float *scale = test_rand_array(r, (size_t)n * co), *noise = test_rand_array(r, (size_t)h * w);
    float *bias = test_rand_array(r, (size_t)co);
    float *ref = malloc(no * sizeof(float)), *got = malloc(no * sizeof(float));
    float *one = malloc(no * sizeof(float));
    conv_epilogue_t e1 = {scale, noise, 0.7f, bias, ACT_LRELU, 0.2f, 1.4142135f, 2.5f, NULL};
    conv_epilogue_t e2 = {NULL, NULL, 0.0f, bias, ACT_RELU, 0.0f, 0.0f, 0.0f, NULL};
    const conv_epilogue_t *ep = ek == 1 ? &e1 : ek == 2 ? &e2 : NULL;
    conv_weights_t cw;
    if (conv_weights_init(&cw, wt, co, ci, 3, NULL) || conv_weights_make_fast(&cw, NULL)) {
        CHECK(t, 0, "weights init failed");
        goto done;
    }
    conv2d_ref(&cw, in, ref, n, h, w, NULL);
    double m = max_abs(ref, no); /* magnitude of the raw sums */
    conv2d_ref(&cw, in, ref, n, h, w, ep);
    m = m > max_abs(ref, no) ? m : max_abs(ref, no);
    threads_set(2);
    const int rc = run_wino(&cw, in, got, n, h, w, ep);
    const int small = (size_t)h * w < 1024 || h < 8 || w < 8;
    CHECK(t, rc == (small ? 1 : 0), "%s wino %dx%d returned %d", isa, h, w, rc);
    conv2d(&cw, in, got, n, h, w, ep, NULL);
    const double err = test_max_abs_diff(got, ref, no) / (m > 1e-30 ? m : 1e-30);
    CHECK(t, err <= TOL, "%s n=%d ci=%d co=%d %dx%d epi %d: rel err %.3g > %g", isa, n, ci, co,
          h, w, ek, err, TOL);
    /* one image at a time on one thread: the same bits */
    threads_set(1);
    for (int b = 0; b < n; b++) {
        conv_epilogue_t eb = ep ? *ep : (conv_epilogue_t){0};
        if (ep && ep->out_scale) eb.out_scale = ep->out_scale + (size_t)b * co;
        conv2d(&cw, in + (size_t)b * ci * h * w, one + (size_t)b * co * h * w, 1, h, w,
               ep ? &eb : NULL, NULL);
    }
    threads_set(0);
    CHECK(t, memcmp(one, got, no * sizeof(float)) == 0,
          "%s n=%d ci=%d co=%d %dx%d: batch/2 threads differ from 1 image/1 thread", isa, n, ci,
          co, h, w);
done:
    conv_weights_free(&cw);
    free(wt); free(in); free(scale); free(noise); free(bias); free(ref); free(got); free(one);
}

/* A delta kernel (w[o, o, 1, 1] = 1) through Winograd is the identity. */
static void test_identity(test_ctx_t *t, test_rng_t *r) {
    const int c = 5, h = 19, w = 22;
    float *wt = calloc((size_t)c * c * 9, sizeof(float));
    for (int o = 0; o < c; o++) wt[((size_t)o * c + o) * 9 + 4] = 1.0f;
    float *in = test_rand_array(r, (size_t)c * h * w), *out = malloc((size_t)c * h * w * sizeof(float));
    conv_weights_t cw;
    if (conv_weights_init(&cw, wt, c, c, 3, NULL) || conv_weights_make_fast(&cw, NULL)) {
        CHECK(t, 0, "weights init failed");
    } else {
        CHECK(t, cw.wino != NULL && cw.wino_len == (size_t)36 * 8 * c, "wino len %zu",
              cw.wino_len);
        conv2d(&cw, in, out, 1, h, w, NULL, NULL);
        const double d = test_max_abs_diff(out, in, (size_t)c * h * w);
        CHECK(t, d <= 2e-6, "delta kernel: max |out - in| = %.3g", d);
    }
    conv_weights_free(&cw);
    free(wt); free(in); free(out);
}

/* The small fixture, seed 0, psi 1, const noise: exact vs fast mode
 * (sg2_enable_fast: conv1 at 32 and 64 px) vs fast mode with every conv0
 * (the up-convs; too narrow here for sg2_enable_fast to pick them) forced to
 * Winograd too, each against NVIDIA's reference image and the exact image. */
static void test_generator_fast(test_ctx_t *t) {
    char path[1400], rpath[1400];
    test_shared(t, "fixtures/stylegan2/small/small.pkl", path, sizeof path);
    test_shared(t, "fixtures/stylegan2/small/ref/seed0_psi1.0_const_img.bin", rpath, sizeof rpath);
    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    sg2_net_t *net = NULL;
    if (netload_open(path, &blob, &err) < 0 || sg2_load(&net, blob, &err) < 0) {
        CHECK(t, 0, "small fixture: %s", err.msg);
        blob_close(blob);
        return;
    }
    const sg2_config_t *c = &net->cfg;
    const size_t npix = (size_t)c->img_channels * c->img_resolution * c->img_resolution;
    size_t rsize = 0;
    float *ref = test_read_raw(rpath, &rsize);
    float *z = malloc(sizeof(float) * c->z_dim), *ws = malloc(sizeof(float) * (size_t)c->num_ws * c->w_dim);
    float *img[3] = {malloc(sizeof(float) * npix), malloc(sizeof(float) * npix),
                     malloc(sizeof(float) * npix)};
    CHECK(t, ref && rsize == npix * sizeof(float), "%s: %zu bytes", rpath, rsize);
    if (ref && rsize == npix * sizeof(float)) {
        sg2_z_from_seed(0, c->z_dim, z, NULL);
        CHECK(t, sg2_mapping(net, z, 1, 1.0f, SG2_CUTOFF_NONE, ws, &err) == 0, "%s", err.msg);
        int conv1 = 0, conv0 = 0;
        for (int mode = 0; mode < 3; mode++) {
            if (mode == 1) {
                CHECK(t, sg2_enable_fast(net, &err) == 0, "%s", err.msg);
                for (int i = 0; i < c->num_blocks; i++) conv1 += net->blocks[i].conv1.conv.wino != NULL;
            }
            if (mode == 2)
                for (int i = 1; i < c->num_blocks; i++) {   // b4 has no conv0
                    conv_weights_t *cw = &net->blocks[i].conv0.conv;
                    CHECK(t, conv_weights_make_fast_transposed(cw, &err) == 0, "%s", err.msg);
                    conv0 += cw->wino_t != NULL;
                }
            sg2_synthesis_opts_t o = {.noise_mode = SG2_NOISE_CONST};
            CHECK(t, sg2_synthesis(net, ws, 1, &o, img[mode], &err) == 0, "%s", err.msg);
        }
        CHECK(t, conv1 == 2, "fast mode transformed %d conv1 weights, expected 2 (32, 64 px)", conv1);
        CHECK(t, conv0 == c->num_blocks - 1, "transformed %d conv0 weights, expected %d", conv0,
              c->num_blocks - 1);
        for (int mode = 1; mode < 3; mode++) {
            const double dref = test_max_abs_diff(img[mode], ref, npix);
            const double dexact = test_max_abs_diff(img[mode], img[0], npix);
            const char *what = mode == 1 ? "fast" : "fast incl. conv0";
            CHECK(t, dref <= 1e-4, "small %s vs NVIDIA ref: max |d| %.3g > 1e-4", what, dref);
            CHECK(t, dexact <= 1e-5, "small %s vs exact: max |d| %.3g > 1e-5", what, dexact);
            printf("small fixture, %s: max |img - ref| %.3g, max |img - exact| %.3g\n", what, dref,
                   dexact);
        }
    }
    sg2_free(net);
    blob_close(blob);
    free(ref); free(z); free(ws); free(img[0]); free(img[1]); free(img[2]);
}

int main(void) {
    test_ctx_t t = test_begin("winograd");
    if (test_need_shared(&t, "fixtures/stylegan2/small")) test_generator_fast(&t);
    test_rng_t r = {0x243F6A8885A308D3ULL};
    test_identity(&t, &r);
    static const char *isas[] = {"generic", "avx2", "avx512"};
    static const int sizes[] = {5, 9, 17, 33, 41, 47, 63};
    for (int ii = 0; ii < 3; ii++) {
        setenv("SALIENT_ISA", isas[ii], 1);
        const char *isa = isa_name(cpu_isa());
        if (strcmp(isa, isas[ii]) != 0)
            printf("note: this CPU has no %s; that pass runs %s\n", isas[ii], isa);
        for (int si = 0; si < 7; si++) {
            const int h = sizes[si], w = sizes[(si * 3 + 2) % 7];
            const int ci = 1 + (int)(fabsf(test_rand(&r)) * 40), co = 1 + (int)(fabsf(test_rand(&r)) * 27);
            test_shape(&t, &r, isa, 1 + si % 3, ci, co, h, w, si % 3);
        }
        /* channel counts around the blocks: many input channels, 64 outputs,
         * several tile blocks per row and blocks across rows */
        test_shape(&t, &r, isa, 1, 150, 64, 36, 30, 1);
        test_shape(&t, &r, isa, 2, 32, 32, 64, 37, 1);
        test_shape(&t, &r, isa, 1, 3, 9, 97, 101, 2);
    }
    unsetenv("SALIENT_ISA");
    return test_end(&t);
}

/* test_saliency_grad.c — d(objective)/d(generator image) (nets/saliency_grad.c):
 *   - the resize as a linear map reproduces imagecore_fit (the tool's integer
 *     resizer) up to its rounding, on smooth images, for the downsampling,
 *     upsampling, exact-halving and identity paths;
 *   - the adjoint identity <A x, y> = <x, A^T y> (double) for those maps;
 *   - the uint8 step's derivative, the objectives (softmax by central finite
 *     differences in double; max: one-hot at the first maximum);
 *   - saliency_grad_image's max saliency, cell and point are bit for bit
 *     saliency_run's on sg2_to_uint8(img);
 *   - the chain without rounding: directional finite differences vs the
 *     gradient assembled from the pieces, and that gradient vs saliency_grad_image's;
 *   - a small step along the gradient of a real face (converted to the
 *     generator's float range) increases the objective;
 *   - prints forward vs forward+backward time on a 1024x1024 image.
 */
#include "check.h"

#include "fastgaze_grad.h"

#include <stdint.h>

#include "blob.h"
#include "imagecore.h"
#include "png.h"
#include "saliency_grad.h"
#include "stylegan2.h"
#include "vxm.h"

static uint32_t lcg(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s;
}
static double urand(uint32_t *s) { return (double)(lcg(s) >> 8) / 8388608.0 - 1.0; }

/* ---- resize ----------------------------------------------------------------- */

static void check_resize(test_ctx_t *t) {
    const int cases[][2] = {{1024, 1024}, {200, 200}, {640, 640}, {320, 320},
                            {2000, 100}, {1200, 200}, {700, 500}, {256, 256}};
    sal_err_t err = {{0}};
    uint32_t s = 9;
    for (int ci = 0; ci < 8; ci++) {
        const int iw = cases[ci][0], ih = cases[ci][1];
        int ow, oh;
        CHECK(t, saliency_fit_size(iw, ih, &ow, &oh, &err) == 0, "%s", err.msg);
        // a smooth image (no clamping in the resizer): sums of low-frequency waves
        image_u8_t src = {.width = iw, .height = ih, .channels = 3};
        src.pixels = malloc((size_t)iw * ih * 3);
        float *in = malloc(sizeof(float) * 3 * iw * ih);
        const double f1 = 0.013 + 0.01 * urand(&s) * 0.5, f2 = 0.021 + 0.01 * urand(&s) * 0.5;
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++)
                for (int c = 0; c < 3; c++) {
                    double v = 128 + 50 * sin(f1 * x * (c + 1) + 0.7 * c) + 40 * cos(f2 * y + 0.3 * x * f2);
                    uint8_t b = (uint8_t)v;
                    src.pixels[((size_t)y * iw + x) * 3 + c] = b;
                    in[((size_t)c * ih + y) * iw + x] = b;
                }
        image_u8_t fit;
        saliency_resize_map_t rm;
        CHECK(t, imagecore_fit(&src, ow, oh, &fit, &err) == 0, "%s", err.msg);
        CHECK(t, saliency_resize_map_init(&rm, iw, ih, ow, oh, &err) == 0, "%s", err.msg);
        float *out = malloc(sizeof(float) * 3 * ow * oh), *tmp = malloc(sizeof(float) * 3 * ih * ow);
        saliency_resize_apply(&rm, in, out, 3, tmp);
        double dmax = 0, dsum = 0;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int c = 0; c < 3; c++) {
                    double d = fabs(out[((size_t)c * oh + y) * ow + x] -
                                    fit.pixels[((size_t)y * ow + x) * 3 + c]);
                    dmax = fmax(dmax, d);
                    dsum += d;
                }
        const double dmean = dsum / (3.0 * ow * oh);
        printf("resize %dx%d -> %dx%d: linear map vs imagecore_fit: max |diff| %.3f, mean %.3f levels (band %dx%d)\n",
               iw, ih, ow, oh, dmax, dmean, rm.x.width, rm.y.width);
        CHECK(t, dmax <= 2.5 && dmean <= 0.75, "%dx%d: max %.3f mean %.3f", iw, ih, dmax, dmean);
        if (iw == ow && ih == oh) CHECK(t, dmax == 0.0, "identity resize not exact");
        // adjoint identity in double
        const size_t nin = (size_t)3 * iw * ih, nout = (size_t)3 * ow * oh;
        float *xr = malloc(nin * 4), *yr = malloc(nout * 4), *aty = malloc(nin * 4);
        for (size_t i = 0; i < nin; i++) xr[i] = (float)urand(&s);
        for (size_t i = 0; i < nout; i++) yr[i] = (float)urand(&s);
        saliency_resize_apply(&rm, xr, out, 3, tmp);
        saliency_resize_adjoint(&rm, yr, aty, 3, tmp);
        double lhs = 0, rhs = 0, mag = 0;
        for (size_t i = 0; i < nout; i++) {
            lhs += (double)out[i] * yr[i];
            mag += fabs((double)out[i] * yr[i]);
        }
        for (size_t i = 0; i < nin; i++) rhs += (double)xr[i] * aty[i];
        CHECK(t, fabs(lhs - rhs) <= 1e-6 * mag, "%dx%d: <Ax,y> %.9g vs <x,A^T y> %.9g", iw, ih, lhs, rhs);
        free(xr); free(yr); free(aty);
        saliency_resize_map_free(&rm);
        image_free(&fit);
        free(src.pixels); free(in); free(out); free(tmp);
    }
}

/* ---- uint8 step and objectives ----------------------------------------------------- */

static void check_uint8_and_objectives(test_ctx_t *t) {
    // d u / d img = 127.5 inside, 0 where the byte clamps
    const float img[] = {0.0f, 0.99f, -0.99f, 1.01f, -1.01f, 2.0f, -5.0f};
    const float want[] = {127.5f, 127.5f, 127.5f, 0, 0, 0, 0};
    float g[7];
    for (int i = 0; i < 7; i++) g[i] = 1.0f;
    saliency_uint8_backward(img, g, 7);
    CHECK(t, memcmp(g, want, sizeof want) == 0, "uint8 derivative %g %g %g %g %g %g %g", g[0], g[1],
          g[2], g[3], g[4], g[5], g[6]);

    // softmax: central differences of tau * log(sum exp(M / tau)) in double
    uint32_t s = 1;
    const int h = 5, w = 7;
    float map[35], dmap[35];
    for (int i = 0; i < h * w; i++) map[i] = (float)(2 * urand(&s));
    const float tau = 0.37f;
    double value;
    int r, c;
    saliency_objective_eval(map, h, w, SALIENCY_OBJ_SOFTMAX, tau, &value, &r, &c, dmap);
    double mx = -INFINITY, worst = 0, sum = 0;
    for (int i = 0; i < h * w; i++) mx = fmax(mx, map[i]);
    CHECK(t, value >= mx && value <= mx + tau * log(h * w) + 1e-12, "softmax value %.9g, max %.9g", value, mx);
    for (int i = 0; i < h * w; i++) {
        double f[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            double acc = 0;
            for (int j = 0; j < h * w; j++) {
                double m = map[j] + (j == i ? (sgn ? -1e-5 : 1e-5) : 0.0);
                acc += exp(m / tau);
            }
            f[sgn] = tau * log(acc);
        }
        worst = fmax(worst, fabs((f[0] - f[1]) / 2e-5 - dmap[i]));
        sum += dmap[i];
    }
    CHECK(t, worst <= 1e-6, "softmax FD vs gradient %.3g", worst);
    CHECK(t, fabs(sum - 1.0) <= 1e-5, "softmax weights sum to %.9g", sum);
    // max: one-hot at the first of tied maxima (row-major)
    float tied[6] = {1, 3, 2, 0, 3, 3};
    float dt[6];
    saliency_objective_eval(tied, 2, 3, SALIENCY_OBJ_MAX, 1.0f, &value, &r, &c, dt);
    CHECK(t, value == 3.0 && r == 0 && c == 1 && dt[1] == 1 && dt[0] + dt[2] + dt[3] + dt[4] + dt[5] == 0,
          "max: value %g at (%d, %d)", value, r, c);
    // a large map value with a small tau does not overflow
    float big[3] = {80.0f, 79.0f, -10.0f};
    saliency_objective_eval(big, 1, 3, SALIENCY_OBJ_SOFTMAX, 0.01f, &value, &r, &c, dt);
    CHECK(t, isfinite(value) && fabs(value - 80.0) < 1e-9 && dt[0] > 0.999f, "stable softmax: %.9g", value);
}

/* ---- the whole chain -------------------------------------------------------------- */

/* (3, R, R) generator float image of a square RGB picture: byte b -> (b - 127.5) / 127.5,
 * which sg2_to_uint8 maps back to b. */
static float *to_generator_float(const image_u8_t *im) {
    const int R = im->width;
    float *img = malloc(sizeof(float) * 3 * R * R);
    for (int y = 0; y < R; y++)
        for (int x = 0; x < R; x++)
            for (int c = 0; c < 3; c++)
                img[((size_t)c * R + y) * R + x] =
                    ((float)im->pixels[((size_t)y * R + x) * im->channels + c] - 127.5f) / 127.5f;
    return img;
}

/* saliency_grad_image's forward numbers equal saliency_run's on sg2_to_uint8(img). */
static void check_same_as_run(test_ctx_t *t, const saliency_model_t *m, const float *img, int R,
                              arena_t *a, const char *what) {
    sal_err_t err = {{0}};
    uint8_t *u8 = malloc((size_t)R * R * 3);
    sg2_to_uint8(img, 1, 3, R, R, u8);
    saliency_image_t si = saliency_image_rgb(u8, R, R, 3);
    saliency_result_t sr;
    saliency_grad_result_t gr;
    int rc1 = saliency_run(m, &si, NULL, &sr, &err);
    CHECK(t, rc1 == 0, "%s: %s", what, err.msg);
    int rc2 = saliency_grad_image(m, img, R, SALIENCY_OBJ_MAX, 0.0f, a, &gr, NULL, &err);
    CHECK(t, rc2 == 0, "%s: %s", what, err.msg);
    if (rc1 == 0 && rc2 == 0) {
        CHECK(t, memcmp(&gr.max_saliency, &sr.max, sizeof(float)) == 0 && gr.value == (double)sr.max,
              "%s: max %.9g vs saliency_run %.9g", what, gr.max_saliency, sr.max);
        CHECK(t, gr.row == sr.best_row && gr.col == sr.best_col && gr.map_h == sr.map_h &&
                 gr.map_w == sr.map_w, "%s: cell (%d, %d) vs (%d, %d)", what, gr.row, gr.col,
              sr.best_row, sr.best_col);
        CHECK(t, gr.point_x == (float)sr.x && gr.point_y == (float)sr.y, "%s: point (%g, %g) vs (%d, %d)",
              what, gr.point_x, gr.point_y, sr.x, sr.y);
        printf("%s: max saliency %.7g at cell (%d, %d), point (%g, %g): equal to saliency_run\n", what,
               gr.max_saliency, gr.row, gr.col, gr.point_x, gr.point_y);
    }
    if (rc1 == 0) saliency_result_free(&sr);
    free(u8);
}

/* A step img + eps * g / max|g| (at most `levels` byte levels per pixel) raises the objective. */
static void check_step(test_ctx_t *t, const saliency_model_t *m, const float *img, int R, arena_t *a,
                       saliency_objective_t obj, float tau, const char *what) {
    sal_err_t err = {{0}};
    const size_t n = (size_t)3 * R * R;
    float *g = malloc(n * 4), *img2 = malloc(n * 4);
    saliency_grad_result_t r0, r1;
    int rc = saliency_grad_image(m, img, R, obj, tau, a, &r0, g, &err);
    CHECK(t, rc == 0, "%s: %s", what, err.msg);
    double gmax = 0, gnorm = 0;
    for (size_t i = 0; i < n; i++) {
        gmax = fmax(gmax, fabs(g[i]));
        gnorm += (double)g[i] * g[i];
    }
    CHECK(t, rc == 0 && gmax > 0 && isfinite(gnorm), "%s: gradient max %.3g", what, gmax);
    if (rc || !(gmax > 0)) goto done;
    const double levels = 3.0, eps = levels / 127.5;
    double predicted = 0;
    for (size_t i = 0; i < n; i++) {
        img2[i] = img[i] + (float)(eps * g[i] / gmax);
        predicted += eps * g[i] / gmax * g[i];
    }
    rc = saliency_grad_image(m, img2, R, obj, tau, a, &r1, NULL, &err);
    CHECK(t, rc == 0, "%s: %s", what, err.msg);
    printf("%s: objective %.6f -> %.6f after a step of <= %.0f levels (first-order prediction +%.4f); max saliency %.6f -> %.6f, |g| %.3g\n",
           what, r0.value, r1.value, levels, predicted, r0.max_saliency, r1.max_saliency, sqrt(gnorm));
    CHECK(t, r1.value > r0.value, "%s: objective fell %.6f -> %.6f", what, r0.value, r1.value);
done:
    free(g);
    free(img2);
}

/* The chain without rounding, L_lin(img) = M[r, c] of fastgaze(A clamp(img * 127.5 + 128)
 * + offset) at a fixed cell: its directional derivative by central differences
 * vs <g_lin, v>, where g_lin is assembled from the exposed pieces (network
 * backward, resize adjoint, uint8 step) at the same point. Then g_lin vs
 * saliency_grad_image's gradient (taken at the integer resizer's x, a few
 * levels away, so a few ReLU / pool decisions differ). */
static double lin_objective(const saliency_model_t *m, const float *img, int R, int row, int col,
                            const saliency_resize_map_t *rm, float *u, float *x, float *tmp,
                            arena_t *a, fg_tape_t *tape) {
    static const float offset[3] = {-103.939f, -116.779f, -123.68f};
    const size_t n = (size_t)3 * R * R, plane = (size_t)rm->out_w * rm->out_h;
    for (size_t i = 0; i < n; i++) {
        float v = img[i] * 127.5f + 128.0f;
        u[i] = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
    }
    saliency_resize_apply(rm, u, x, 3, tmp);
    for (size_t i = 0; i < 3 * plane; i++) x[i] += offset[i / plane];
    sal_err_t err = {{0}};
    arena_reset(a);
    if (fg_forward_tape(&m->net, x, rm->out_h, rm->out_w, a, tape, &err)) return NAN;
    return tape->map[(size_t)row * tape->map_w + col];
}

static void check_chain_directional(test_ctx_t *t, const saliency_model_t *m, const float *img, int R,
                                    arena_t *ga, const char *what) {
    sal_err_t err = {{0}};
    int W, H;
    saliency_fit_size(R, R, &W, &H, &err);
    const size_t n = (size_t)3 * R * R, nx = (size_t)3 * W * H;
    saliency_resize_map_t rm;
    CHECK(t, saliency_resize_map_init(&rm, R, R, W, H, &err) == 0, "%s", err.msg);
    float *u = malloc(n * 4), *x = malloc(nx * 4), *tmp = malloc((size_t)3 * R * W * 4);
    float *g = malloc(n * 4), *gq = malloc(n * 4), *dx = malloc(nx * 4), *img2 = malloc(n * 4), *v = malloc(n * 4);
    arena_t a;
    arena_init(&a, fg_grad_arena_bytes(&m->net, H, W));
    fg_tape_t tape;
    saliency_grad_result_t gr;
    CHECK(t, saliency_grad_image(m, img, R, SALIENCY_OBJ_MAX, 0.0f, ga, &gr, gq, &err) == 0, "%s", err.msg);
    const int row = gr.row, col = gr.col;
    lin_objective(m, img, R, row, col, &rm, u, x, tmp, &a, &tape);
    float *dmap = calloc((size_t)tape.map_h * tape.map_w, sizeof(float));
    dmap[(size_t)row * tape.map_w + col] = 1.0f;
    CHECK(t, fg_backward(&m->net, &tape, dmap, dx, &a, &err) == 0, "%s", err.msg);
    saliency_resize_adjoint(&rm, dx, g, 3, tmp);
    saliency_uint8_backward(img, g, n);
    // direction: random signs on pixels whose byte is not clamped
    uint32_t s = 99;
    double gv = 0;
    for (size_t i = 0; i < n; i++) {
        const float b = img[i] * 127.5f + 128.0f;
        v[i] = b > 2.0f && b < 253.0f ? (g[i] > 0 ? 1.0f : g[i] < 0 ? -1.0f : ((lcg(&s) >> 31) ? 1.0f : -1.0f)) : 0.0f;
        gv += (double)g[i] * v[i];
    }
    // e: 0.003 byte levels per pixel; along sign(g) the change of L is ~e * sum|g|,
    // far above float32 noise, and few ReLU / pool decisions flip
    const double e = 0.003 / 127.5;
    for (size_t i = 0; i < n; i++) img2[i] = img[i] + (float)(e * v[i]);
    const double Lp = lin_objective(m, img2, R, row, col, &rm, u, x, tmp, &a, &tape);
    for (size_t i = 0; i < n; i++) img2[i] = img[i] - (float)(e * v[i]);
    const double Lm = lin_objective(m, img2, R, row, col, &rm, u, x, tmp, &a, &tape);
    const double fd = (Lp - Lm) / (2 * e);
    double num = 0, dot = 0, nq = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)g[i] - gq[i]) * ((double)g[i] - gq[i]);
        dot += (double)g[i] * gq[i];
        nq += (double)gq[i] * gq[i];
        nl += (double)g[i] * g[i];
    }
    const double cosine = dot / sqrt(nq * nl);
    printf("%s: unrounded chain, directional FD along sign(g) %.6g vs <g, v> %.6g (rel %.2g); gradient "
           "there vs saliency_grad_image's: rel L2 %.3g, cosine %.3f\n", what, fd, gv,
           fabs(fd - gv) / fabs(gv), sqrt(num / nq), cosine);
    CHECK(t, fabs(fd - gv) <= 5e-3 * fabs(gv), "%s: FD %.6g vs %.6g", what, fd, gv);
    // a few levels apart (integer vs real resize) some pool winners move: similar, not equal
    CHECK(t, cosine >= 0.8, "%s: gradients at the two points: cosine %.3f", what, cosine);
    arena_free(&a);
    saliency_resize_map_free(&rm);
    free(u); free(x); free(tmp); free(g); free(gq); free(dx); free(img2); free(v); free(dmap);
}

int main(void) {
    test_ctx_t t = test_begin("saliency_grad");
    check_resize(&t);
    check_uint8_and_objectives(&t);

    char path[2048];
    sal_err_t err = {{0}};
    blob_t *b = NULL;
    saliency_model_t m;
    if (!test_need_shared(&t, "data/fastgaze.vxm")) return test_end(&t);
    if (vxm_open_blob(test_shared(&t, "data/fastgaze.vxm", path, sizeof path), &b, &err) ||
        saliency_model_init(&m, b, &err)) {
        CHECK(&t, 0, "%s", err.msg);
        return test_end(&t);
    }
    // bad arguments fail cleanly
    {
        arena_t a;
        arena_init(&a, saliency_grad_arena_bytes(&m, 16));
        float img[3 * 16 * 16] = {0};
        saliency_grad_result_t gr;
        CHECK(&t, saliency_grad_image(&m, img, 16, SALIENCY_OBJ_SOFTMAX, 0.0f, &a, &gr, NULL, &err) != 0,
              "tau 0 accepted");
        CHECK(&t, saliency_grad_image(&m, img, 0, SALIENCY_OBJ_MAX, 1.0f, &a, &gr, NULL, &err) != 0,
              "size 0 accepted");
        arena_free(&a);
        arena_t small;
        arena_init(&small, saliency_grad_arena_bytes(&m, 16) / 2);
        float dimg[3 * 16 * 16];
        CHECK(&t, saliency_grad_image(&m, img, 16, SALIENCY_OBJ_MAX, 1.0f, &small, &gr, dimg, &err) != 0,
              "small arena accepted");
        arena_free(&small);
    }
    // a random image (with clamped values), upsampled to 320
    {
        const int R = 64;
        uint32_t s = 77;
        float *img = malloc(sizeof(float) * 3 * R * R);
        for (int i = 0; i < 3 * R * R; i++) img[i] = (float)(1.2 * urand(&s));
        arena_t a;
        arena_init(&a, saliency_grad_arena_bytes(&m, R));
        check_same_as_run(&t, &m, img, R, &a, "random 64x64");
        // (the step check runs on the faces below; under the sanitizers in
        // `make test` only there)
        if (!test_sanitized() || test_full()) check_step(&t, &m, img, R, &a, SALIENCY_OBJ_MAX, 0.0f, "random 64x64, max");
        arena_free(&a);
        free(img);
    }
    // real faces: 200x200 (upsampled) and a 1024x1024 face (halved, then Lanczos-3)
    const char *faces[] = {"fixtures/saliency/images/faces/transition1_f0.png",
                           "fixtures/saliency/images/synthetic/face_1024x1024.png"};
    const int have_faces = test_need_shared(&t, "fixtures/saliency/images");
    for (int fi = 0; fi < 2 && have_faces; fi++) {
        image_u8_t im;
        if (png_load(test_shared(&t, faces[fi], path, sizeof path), &im, NULL, &err)) {
            CHECK(&t, 0, "%s", err.msg);
            continue;
        }
        CHECK(&t, im.width == im.height && im.channels >= 3, "%s: not a square RGB image", faces[fi]);
        const int R = im.width;
        float *img = to_generator_float(&im);
        arena_t a;
        arena_init(&a, saliency_grad_arena_bytes(&m, R));
        char what[128];
        snprintf(what, sizeof what, "face %dx%d", R, R);
        check_same_as_run(&t, &m, img, R, &a, what);
        snprintf(what, sizeof what, "face %dx%d, max", R, R);
        check_step(&t, &m, img, R, &a, SALIENCY_OBJ_MAX, 0.0f, what);
#ifdef __SANITIZE_ADDRESS__   // slow under ASan: the 200x200 face covers the same code
        if (R > 256) goto next;
#endif
        snprintf(what, sizeof what, "face %dx%d", R, R);
        check_chain_directional(&t, &m, img, R, &a, what);
        snprintf(what, sizeof what, "face %dx%d, softmax tau 0.1", R, R);
        check_step(&t, &m, img, R, &a, SALIENCY_OBJ_SOFTMAX, 0.1f, what);
#ifndef __SANITIZE_ADDRESS__   // (timings under ASan mean nothing)
        if (R == 1024) {
            // speed (noisy shared machine): saliency_run, forward only, forward + backward
            float *g = malloc(sizeof(float) * 3 * R * R);
            uint8_t *u8 = malloc((size_t)R * R * 3);
            arena_t ra;
            arena_init(&ra, saliency_arena_bytes(&m));
            double best[3] = {1e9, 1e9, 1e9};
            for (int rep = 0; rep < 3; rep++) {
                saliency_grad_result_t gr;
                saliency_result_t sr;
                double t0 = sal_now();
                sg2_to_uint8(img, 1, 3, R, R, u8);
                saliency_image_t si = saliency_image_rgb(u8, R, R, 3);
                if (saliency_run(&m, &si, &ra, &sr, &err) == 0) saliency_result_free(&sr);
                double t1 = sal_now();
                saliency_grad_image(&m, img, R, SALIENCY_OBJ_MAX, 0.0f, &a, &gr, NULL, &err);
                double t2 = sal_now();
                saliency_grad_image(&m, img, R, SALIENCY_OBJ_MAX, 0.0f, &a, &gr, g, &err);
                double t3 = sal_now();
                best[0] = fmin(best[0], t1 - t0);
                best[1] = fmin(best[1], t2 - t1);
                best[2] = fmin(best[2], t3 - t2);
            }
            printf("1024x1024 timing (best of 3, shared machine): saliency_run %.1f ms, grad forward only %.1f ms, "
                   "forward + backward %.1f ms (x%.2f); arena %.1f MB\n",
                   1e3 * best[0], 1e3 * best[1], 1e3 * best[2], best[2] / best[0],
                   saliency_grad_arena_bytes(&m, R) / 1e6);
            arena_free(&ra);
            free(g);
            free(u8);
        }
#endif
#ifdef __SANITIZE_ADDRESS__
    next:
#endif
        arena_free(&a);
        free(img);
        image_free(&im);
    }
    saliency_model_free(&m);
    blob_close(b);
    return test_end(&t);
}

/* test_saliency.c — the saliency API beyond the recorded fixtures:
 *  - an in-memory RGB image (a generator's output) gives exactly what
 *    candidate_crops gives on the PNG of that image (bit-identical map);
 *  - input forms: gray = RGB with equal channels, alpha 0 = white, alpha > 0
 *    ignored, EXIF orientations swap the geometry;
 *  - the tool's argument parsing and crop arithmetic on the recorded special
 *    cases (ratios 0, -1, 1e9, "abc", SHOW_ALL_POINTS, ...) for dummy.jpeg,
 *    whose salient point (129, 336) is known from the recordings.
 */
#include "check.h"

#include <stdint.h>

#include "blob.h"
#include "candidate_crops.h"
#include "png.h"
#include "saliency.h"
#include "vxm.h"

/* A whole file as a NUL-terminated string (NULL if unreadable). */
static char *read_text(const char *path) {
    size_t n;
    char *s = test_read_raw(path, &n);
    if (!s) return NULL;
    char *z = realloc(s, n + 1);
    if (!z) {
        free(s);
        return NULL;
    }
    z[n] = '\0';
    return z;
}

static int same_result(const saliency_result_t *a, const saliency_result_t *b) {
    if (a->map_w != b->map_w || a->map_h != b->map_h || a->x != b->x || a->y != b->y ||
        a->orig_w != b->orig_w || a->orig_h != b->orig_h || a->symmetric != b->symmetric ||
        a->crop_x != b->crop_x)
        return 0;
    return memcmp(a->map, b->map, sizeof(float) * (size_t)a->map_w * a->map_h) == 0;
}

/* A deterministic test picture: smooth shapes plus some texture. */
static uint8_t *make_picture(int w, int h, int channels) {
    uint8_t *p = malloc((size_t)w * h * channels);
    uint32_t s = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            s = s * 1664525u + 1013904223u;
            double dx = x - 0.6 * w, dy = y - 0.4 * h;
            double blob = 255.0 / (1.0 + (dx * dx + dy * dy) / (0.02 * w * h));
            uint8_t *q = p + ((size_t)y * w + x) * channels;
            for (int c = 0; c < channels; c++)
                q[c] = (uint8_t)((int)(blob * (c + 1) / 3 + (x * 255 / w) * (c == 2) + (s >> 28)) & 255);
        }
    return p;
}

int main(void) {
    test_ctx_t t = test_begin("saliency");
    if (!test_need_shared(&t, "data/fastgaze.vxm")) return test_end(&t);
    char model_path[2048], path[4096];
    test_shared(&t, "data/fastgaze.vxm", model_path, sizeof model_path);
    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    saliency_model_t model;
    if (vxm_open_blob(model_path, &blob, &err) || saliency_model_init(&model, blob, &err)) {
        CHECK(&t, 0, "model: %s", err.msg);
        return test_end(&t);
    }

    /* 1. in memory == through a PNG file */
    {
        const int w = 301, h = 17;   // small: the sanitizer build runs it too
        uint8_t *rgb = make_picture(w, h, 3);
        saliency_image_t mem = saliency_image_rgb(rgb, w, h, 3);
        saliency_result_t a, b;
        CHECK(&t, saliency_run(&model, &mem, NULL, &a, &err) == 0, "%s", err.msg);
        test_tmp(&t, "picture.png", path, sizeof path);
        CHECK(&t, png_save(path, rgb, w, h, 3, &err) == 0, "%s", err.msg);
        image_u8_t px;
        saliency_image_t file;
        CHECK(&t, saliency_load_file(path, &px, &file, &err) == 0, "%s", err.msg);
        CHECK(&t, saliency_run(&model, &file, NULL, &b, &err) == 0, "%s", err.msg);
        CHECK(&t, same_result(&a, &b), "in-memory and PNG results differ");
        CHECK(&t, a.orig_w == w && a.orig_h == h && a.in_w == 320 && a.in_h == 18 &&
                  a.map_w == 20 && a.map_h == 2 && a.stride == 16,
              "geometry %dx%d -> %dx%d -> map %dx%d", a.orig_w, a.orig_h, a.in_w, a.in_h, a.map_w, a.map_h);
        float best = -1e30f;
        for (int i = 0; i < a.map_w * a.map_h; i++) best = a.map[i] > best ? a.map[i] : best;
        CHECK(&t, a.max == best && a.map[a.best_row * a.map_w + a.best_col] == best, "max");

        /* a workspace arena reused over calls gives the same result */
        arena_t ws;
        CHECK(&t, arena_init(&ws, saliency_arena_bytes(&model)) == 0, "arena");
        saliency_result_t c;
        for (int k = 0; k < 2; k++) {
            CHECK(&t, saliency_run(&model, &mem, &ws, &c, &err) == 0, "%s", err.msg);
            CHECK(&t, same_result(&a, &c), "run %d with a workspace differs", k);
            saliency_result_free(&c);
        }
        arena_free(&ws);

        /* 2. gray: a 1-channel image == RGB with three equal channels */
        uint8_t *g1 = malloc((size_t)w * h), *g3 = malloc((size_t)w * h * 3);
        for (int i = 0; i < w * h; i++) g1[i] = g3[3 * i] = g3[3 * i + 1] = g3[3 * i + 2] = rgb[3 * i + 1];
        saliency_image_t im1 = saliency_image_rgb(g1, w, h, 1), im3 = saliency_image_rgb(g3, w, h, 3);
        saliency_result_t r1, r3;
        CHECK(&t, saliency_run(&model, &im1, NULL, &r1, &err) == 0 &&
                  saliency_run(&model, &im3, NULL, &r3, &err) == 0, "%s", err.msg);
        CHECK(&t, same_result(&r1, &r3), "gray != RGB with equal channels");
        saliency_result_free(&r1);
        saliency_result_free(&r3);

        /* 3. RGBA: alpha 0 -> white (whatever the colour), 0 < alpha keeps the colour */
        uint8_t *rgba = malloc((size_t)w * h * 4), *white = malloc((size_t)w * h * 3);
        for (int i = 0; i < w * h; i++) {
            int clear = (i % 7) == 0, half = (i % 5) == 0;
            for (int c = 0; c < 3; c++) {
                rgba[4 * i + c] = rgb[3 * i + c];
                white[3 * i + c] = clear ? 255 : rgb[3 * i + c];
            }
            rgba[4 * i + 3] = clear ? 0 : half ? 77 : 255;
        }
        saliency_image_t ia = saliency_image_rgb(rgba, w, h, 4), iw = saliency_image_rgb(white, w, h, 3);
        saliency_result_t ra, rw;
        CHECK(&t, saliency_run(&model, &ia, NULL, &ra, &err) == 0 &&
                  saliency_run(&model, &iw, NULL, &rw, &err) == 0, "%s", err.msg);
        CHECK(&t, same_result(&ra, &rw), "RGBA transparent-pixel rule");
        saliency_result_free(&ra);
        saliency_result_free(&rw);

        /* 4. orientation 6: the source is displayed rotated, sizes swap */
        saliency_image_t io = mem;
        io.orientation = 6;
        saliency_result_t ro;
        CHECK(&t, saliency_run(&model, &io, NULL, &ro, &err) == 0, "%s", err.msg);
        CHECK(&t, ro.orig_w == h && ro.orig_h == w && ro.in_w == 18 && ro.in_h == 320 &&
                  ro.map_w == 2 && ro.map_h == 20, "orientation 6 geometry");
        saliency_result_free(&ro);

        /* 5. a side that rounds to 0 px */
        saliency_image_t thin = saliency_image_rgb(rgb, 1281, 2, 3);   // 7686 of the 15351 bytes
        CHECK(&t, saliency_run(&model, &thin, NULL, &ro, &err) == SALIENCY_E_SIZE, "1281x2 must fail");
        CHECK(&t, cc_exit_code(SALIENCY_E_SIZE) == 10, "exit 10");

        free(g1); free(g3); free(rgba); free(white);
        image_free(&px);
        saliency_result_free(&a);
        saliency_result_free(&b);
        free(rgb);
    }

    /* 6. special cases: argument parsing + crops for dummy.jpeg (1034x851,
     * salient point 129 336, not symmetric) against the tool's stdout */
    {
        const struct { const char *name, *args; } cases[] = {
            {"ratio_not_a_number", "abc"},
            {"ratio_zero_negative_huge", "0 -1 1e9"},
            {"ratio_many", "0.1 0.25 0.5 0.75 1 1.5 3 10"},
            {"ratio_image_own", "0.823017"},
            {"sap_uppercase", "SHOW_ALL_POINTS 1.0"},
            {"sap_after_ratio", "1.0 show_all_points"},
        };
        saliency_result_t r = {.orig_w = 1034, .orig_h = 851, .in_w = 320, .in_h = 263,
                               .x = 129, .y = 336, .crop_x = 129, .stride = 16};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char buf[256], *argv[16] = {"candidate_crops", "m.vxm", "dummy.jpeg"};
            int argc = 3;
            snprintf(buf, sizeof buf, "%s", cases[i].args);
            for (char *tok = strtok(buf, " "); tok && argc < 16; tok = strtok(NULL, " ")) argv[argc++] = tok;
            cc_args_t a;
            char *text = NULL;
            CHECK(&t, cc_parse_args(argc, argv, &a, &err) == 0, "parse");
            CHECK(&t, !a.show_all, "%s: show_all_points not recognised", cases[i].name);
            CHECK(&t, cc_format(&r, &a, &text, &err) == 0, "%s", err.msg);
            snprintf(path, sizeof path, "%s/fixtures/saliency/out/special/%s.txt", t.shared, cases[i].name);
            char *want = read_text(path);
            CHECK(&t, want && text && strcmp(text, want) == 0, "%s:\n%s--- tool:\n%s", cases[i].name,
                  text ? text : "", want ? want : "(missing)");
            free(want);
            free(text);
            cc_args_free(&a);
        }
        char *argv2[] = {"cc", "m", "i"};
        cc_args_t a;
        CHECK(&t, cc_parse_args(2, argv2, &a, &err) != 0, "2 arguments are a usage error");
        CHECK(&t, cc_parse_args(3, argv2, &a, &err) == 0 && a.default_ratios && a.n_ratios == 4,
              "defaults");
        cc_args_free(&a);
        /* symmetric image: crops centre on orig_w / 2 (spec 5.4) */
        r.symmetric = 1;
        r.crop_x = (int)(0.5f * 1034.0f);
        int box[4];
        CHECK(&t, saliency_crop(&r, 2.0f, box, &err) == 0 && box[0] == 517 - 213 && box[2] == 426,
              "symmetric crop at %d w %d", box[0], box[2]);
        /* NaN ratio: squeeze horizontally with lroundf(NaN) = LONG_MIN -> 0 wide -> 1 */
        CHECK(&t, saliency_crop(&r, NAN, box, &err) == 0 && box[2] == 1 && box[3] == 851,
              "NaN ratio: %d %d %d %d", box[0], box[1], box[2], box[3]);
    }

    saliency_model_free(&model);
    blob_close(blob);
    return test_end(&t);
}

/* test_generate.c — the PNGs `salient generate` writes, pixel by pixel, against
 * NVIDIA's uint8 references (generate.py's conversion): runs the command
 * in-process (cmd_generate) on the fixture pickles and decodes what it wrote.
 * uint8 values must agree on >= 99.9 % and never differ by more than 1.
 * (tests/search/test_generate.sh runs the real binary: floats, flags, errors.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commands.h"
#include "png.h"

typedef struct u8stat {
    long differ, total;
    int maxdiff;
} u8stat_t;

/* Compares DIR/<stem>.png with element range [index * size, ...) of the
 * reference uint8 file (N, R, R, 3). */
static void compare_png(test_ctx_t *t, const char *png_path, const char *ref_path, int index,
                        int res, u8stat_t *st) {
    image_u8_t img = {0};
    sal_err_t err = {{0}};
    if (png_load(png_path, &img, NULL, &err) < 0) {
        CHECK(t, 0, "%s", err.msg);
        return;
    }
    size_t size = 0, per = (size_t)res * res * 3;
    uint8_t *ref = test_read_raw(ref_path, &size);
    CHECK(t, img.width == res && img.height == res && img.channels == 3,
          "%s: %dx%dx%d, expected %dx%dx3", png_path, img.width, img.height, img.channels, res, res);
    CHECK(t, ref && size >= (index + 1) * per, "%s: missing or short", ref_path);
    if (ref && size >= (index + 1) * per && img.width == res && img.height == res && img.channels == 3) {
        long differ = 0;
        int maxd = 0;
        for (size_t i = 0; i < per; i++) {
            int d = abs((int)img.pixels[i] - (int)ref[index * per + i]);
            differ += d != 0;
            if (d > maxd) maxd = d;
        }
        CHECK(t, maxd <= 1, "%s: a value is off by %d", png_path, maxd);
        CHECK(t, differ * 1000 <= (long)per, "%s: %ld of %zu values differ", png_path, differ, per);
        st->differ += differ;
        st->total += (long)per;
        if (maxd > st->maxdiff) st->maxdiff = maxd;
    }
    free(ref);
    image_free(&img);
}

/* Runs `generate` with the given arguments (NULL-terminated). */
static int run_generate(const char *const *args) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = "generate";
    for (int i = 0; args[i] && argc < 31; i++) argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    return cmd_generate(argc, argv);
}

typedef struct gen_case {
    const char *fixture;
    int res;
    const char *seeds;     /* "0-3" */
    int first, count;
    const char *trunc, *noise, *batch;
    const char *ref_fmt;   /* reference file per seed: "seed%d_psi1.0_const_u8.bin" */
} gen_case_t;

int main(void) {
    test_ctx_t t = test_begin("generate");
    if (!test_need_shared(&t, "fixtures/stylegan2")) return test_end(&t);
    const gen_case_t cases[] = {
        {"tiny", 32, "0-3", 0, 4, "1", "const", "3", "seed%d_psi1.0_const_u8.bin"},
        {"tiny", 32, "0-3", 0, 4, "0.7", "none", "1", "seed%d_psi0.7_none_u8.bin"},
        {"tiny", 32, "0", 0, 1, "1000", "const", "1", "seed%d_psi1000.0_const_u8.bin"},
        {"tiny_clamp", 32, "0-1", 0, 2, "0.7", "const", "2", "seed%d_psi0.7_const_u8.bin"},
        {"small", 64, "0-3", 0, 4, "1", "const", "4", "seed%d_psi1.0_const_u8.bin"},
        {"small", 64, "2", 2, 1, "0.7", "none", "1", "seed%d_psi0.7_none_u8.bin"},
    };
    u8stat_t st = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const gen_case_t *gc = &cases[c];
        char pkl_rel[256], pkl[1400], outdir[1100], ref_rel[256], ref[1400], png[1200], name[64];
        snprintf(pkl_rel, sizeof pkl_rel, "fixtures/stylegan2/%s/%s.pkl", gc->fixture, gc->fixture);
        test_shared(&t, pkl_rel, pkl, sizeof pkl);
        snprintf(name, sizeof name, "case%zu", c);
        test_tmp(&t, name, outdir, sizeof outdir);
        const char *args[] = {"--network", pkl, "--seeds", gc->seeds, "--trunc", gc->trunc,
                              "--noise-mode", gc->noise, "--batch", gc->batch,
                              "--outdir", outdir, NULL};
        int rc = run_generate(args);
        CHECK(&t, rc == 0, "generate %s --seeds %s --trunc %s: exit %d", gc->fixture, gc->seeds,
              gc->trunc, rc);
        if (rc != 0) continue;
        for (int s = gc->first; s < gc->first + gc->count; s++) {
            snprintf(png, sizeof png, "%s/seed%04d.png", outdir, s);
            snprintf(name, sizeof name, gc->ref_fmt, s);
            snprintf(ref_rel, sizeof ref_rel, "fixtures/stylegan2/%s/ref/%s", gc->fixture, name);
            compare_png(&t, png, test_shared(&t, ref_rel, ref, sizeof ref), 0, gc->res, &st);
        }
    }
    // the exit codes of a bad command line and of a bad network
    const char *bad_flag[] = {"--seeds", "0", "--frobnicate", NULL};
    CHECK(&t, run_generate(bad_flag) == 2, "an unknown flag must exit 2");
    const char *bad_net[] = {"--network", "/nonexistent/net.pkl", "--seeds", "0", "--outdir",
                             t.tmp, NULL};
    CHECK(&t, run_generate(bad_net) == 1, "a missing network must exit 1");
    printf("uint8: %ld of %ld values differ from the references (max %d)\n", st.differ, st.total,
           st.maxdiff);
    return test_end(&t);
}

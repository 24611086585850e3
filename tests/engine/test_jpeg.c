/* test_jpeg.c — our JPEG decoder against libjpeg-turbo's djpeg, byte for byte.
 *
 *  1. Files made by cjpeg from synthetic PPMs (gradient, noise, shapes; sizes
 *     1x1 .. 1023x769) with every sampling factor (4:4:4, 4:2:2, 4:2:0,
 *     4:4:0, 4:1:1), grayscale and RGB (Adobe, no transform), quality 10..100,
 *     baseline / progressive / optimised Huffman / restart intervals, each
 *     decoded at scale 1, 1/2, 1/4, 1/8 with `djpeg -dct int -scale 1/N`.
 *  2. Every .jpg/.jpeg under ../shared/fixtures/saliency/images at 4 scales.
 *
 * Without djpeg/cjpeg (a fresh clone), part 1 runs on the cjpeg files and
 * djpeg answers recorded in tests/data/jpeg (all but the 1023x769 image;
 * see test_jpeg_util.h), and the djpeg half of part 2 is skipped; without
 * ../shared, part 2 is skipped.
 *
 * Debian's djpeg is libjpeg-turbo 2.1.5; our target, the candidate_crops
 * tool, has 2.0.1. They differ in two known places
 * (../shared/spec/candidate_crops.md §2.2):
 *  - 4:4:0 fancy upsampling: 2.0.1 rounds both output rows of a chroma row
 *    with +1, 2.1.5 the odd rows with +2. So for 4:4:0 files even rows must
 *    be identical, and on odd rows an RGB-colourspace file (no colour
 *    conversion) must show ours == djpeg or djpeg - 1 in the upsampled
 *    channels, exactly what (3a+b+1)>>2 vs (3a+b+2)>>2 allows.
 *  - block smoothing of truncated progressive files: checked against
 *    recorded 2.0.1 decodes in test_jpeg_damage.c.
 */
#include "test_jpeg_util.h"

typedef struct tally {
    int compared, identical, identical_except_440;
} tally_t;

/* 4:4:0 rule (see above). `rgb`: the file has no colour transform. */
static int same_except_440_odd_rows(const image_u8_t *a, const tj_image_t *b, int rgb,
                                    int *odd_diffs) {
    if (a->width != b->w || a->height != b->h || a->channels != b->c) return 0;
    int c = b->c;
    for (int y = 0; y < b->h; y++) {
        const uint8_t *pa = a->pixels + (size_t)y * b->w * c, *pb = b->px + (size_t)y * b->w * c;
        for (int x = 0; x < b->w * c; x++) {
            int d = pa[x] - pb[x];
            if (d == 0) continue;
            if (!(y & 1)) return 0;                          /* even rows: identical */
            if (rgb ? (x % 3 == 0 || d != -1) : (d < -2 || d > 2)) return 0;
            (*odd_diffs)++;
        }
    }
    return 1;
}

static void compare_one(test_ctx_t *t, tj_oracle_t *o, tally_t *tl, const char *jpg,
                        const char *name, const char *what, int denom, int is_440, int rgb,
                        int *odd_diffs) {
    tj_ref_t ref;
    if (tj_reference(o, t, name, jpg, denom, 0, &ref) != 0) return;
    if (!ref.ok) {
        CHECK(t, 0, "djpeg failed on %s (%s)", jpg, what);
        return;
    }
    image_u8_t ours;
    sal_err_t err = {{0}};
    tl->compared++;
    if (tj_decode_file(jpg, denom, &ours, &err) < 0) {
        CHECK(t, 0, "%s 1/%d: our decoder failed: %s", what, denom, err.msg);
        tj_ref_free(&ref);
        return;
    }
    int same_size = ours.width == ref.w && ours.height == ref.h && ours.channels == ref.c;
    if (tj_ref_same(&ref, &ours)) {
        tl->identical++;
    } else if (is_440 && denom < 8 && same_size &&
               (ref.img.px ? same_except_440_odd_rows(&ours, &ref.img, rgb, odd_diffs)
                           : tj_fnv_even_rows(ours.pixels, ref.w, ref.h, ref.c) == ref.fnv_even)) {
        /* recorded mode keeps only the even rows' hash: they must be identical */
        tl->identical_except_440++;
    } else {
        CHECK(t, 0, "%s 1/%d: differs from djpeg (ours %dx%dx%d, djpeg %dx%dx%d)", what, denom,
              ours.width, ours.height, ours.channels, ref.w, ref.h, ref.c);
    }
    image_free(&ours);
    tj_ref_free(&ref);
}

/* Returns the number of files compared (each at 4 scales). `big`: also the
 * 1023x769 image (live only; not in the ASan build of `make test`). */
static int cjpeg_matrix(test_ctx_t *t, tj_oracle_t *o, tally_t *tl, int big) {
    struct { int w, h, kind; int full; } images[] = {
        {1, 1, 1, 1}, {17, 9, 2, 1}, {33, 47, 0, 1}, {129, 67, 1, 1},
        {250, 190, 2, 1}, {1023, 769, 2, 0},
    };
    const char *samplings[] = {"-sample 1x1", "-sample 2x1", "-sample 2x2", "-sample 1x2",
                               "-sample 4x1", "-grayscale", "-rgb -sample 1x2", "-rgb -sample 2x2"};
    const char *options[] = {"-quality 75", "-quality 10 -progressive", "-quality 100 -optimize",
                             "-quality 90 -restart 1", "-quality 50 -progressive -restart 2B"};
    char ppm[1200], jpg[1200], what[512], name[64];
    snprintf(ppm, sizeof ppm, "%s/src.ppm", t->tmp);
    snprintf(jpg, sizeof jpg, "%s/t.jpg", t->tmp);
    int odd_diffs_rgb = 0, odd_diffs_ycc = 0, files = 0;
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        if (!images[i].full && (!o->live || !big)) continue;
        tj_image_t im = tj_make_image(images[i].w, images[i].h, images[i].kind, 7u + (uint32_t)i);
        CHECK(t, tj_write_pnm(ppm, &im) == 0, "cannot write %s", ppm);
        free(im.px);
        for (size_t s = 0; s < sizeof samplings / sizeof samplings[0]; s++) {
            size_t nopt = images[i].full ? sizeof options / sizeof options[0] : 2;
            for (size_t op = 0; op < nopt; op++) {
                snprintf(what, sizeof what, "%dx%d kind %d: cjpeg %s %s", images[i].w, images[i].h,
                         images[i].kind, samplings[s], options[op]);
                snprintf(name, sizeof name, "m_%dx%d_s%zu_o%zu.jpg", images[i].w, images[i].h, s,
                         op);
                char args[256];
                snprintf(args, sizeof args, "%s %s", samplings[s], options[op]);
                /* recorded in tests/data/jpeg: the small images, and the two
                 * progressive options of 250x190 (the others would add 0.6 MB) */
                int keep = images[i].full && (images[i].w < 250 || op == 1 || op == 4);
                if (!o->live && !keep) continue;
                remove(jpg);
                if (tj_source(o, name, args, ppm, jpg, keep) != 0) {
                    CHECK(t, 0, "%s: %s", o->live ? "cjpeg failed" : "missing recorded file",
                          what);
                    continue;
                }
                files++;
                int is_440 = strstr(samplings[s], "1x2") != NULL,
                    rgb = strstr(samplings[s], "-rgb") != NULL;
                for (int denom = 1; denom <= 8; denom *= 2)
                    compare_one(t, o, tl, jpg, name, what, denom, is_440, rgb,
                                rgb ? &odd_diffs_rgb : &odd_diffs_ycc);
            }
        }
    }
    /* The 2.0.1-vs-2.1.5 rounding difference must actually show up (else
     * the 4:4:0 branch above would be untested; live mode only). */
    if (o->live) {
        CHECK(t, odd_diffs_rgb > 0 && odd_diffs_ycc > 0,
              "4:4:0 odd-row differences: rgb %d, ycc %d", odd_diffs_rgb, odd_diffs_ycc);
        printf("4:4:0 odd-row samples where 2.0.1 rounding differs from djpeg 2.1.5: %d (RGB "
               "files), %d (YCbCr)\n",
               odd_diffs_rgb, odd_diffs_ycc);
    }
    return files;
}

/* Recorded decodes of the real libjpeg-turbo 2.0.1 (djpeg -dct int -scale
 * 1/N, built from the 2.0.1 tag) for the one fixture where 2.1.5 differs:
 * FNV-1a 64 of the RGB bytes. */
static const struct { const char *file; int denom; uint64_t fnv; } recorded_201[] = {
    {"bad/truncated_progressive.jpeg", 1, 0x8a708114eaa85520ull},
    {"bad/truncated_progressive.jpeg", 2, 0x5279381627fe5135ull},
    {"bad/truncated_progressive.jpeg", 4, 0x1953221ec4c30573ull},
    {"bad/truncated_progressive.jpeg", 8, 0xf62008bbd99bf6eeull},
};

/* live: every fixture vs djpeg; without djpeg only the recorded 2.0.1 ones. */
static void fixtures(test_ctx_t *t, tally_t *tl, int live) {
    char dir[1100], cmd[1400], line[2048], ref_path[1200];
    test_shared(t, "fixtures/saliency/images", dir, sizeof dir);
    snprintf(ref_path, sizeof ref_path, "%s/ref.pnm", t->tmp);
    snprintf(cmd, sizeof cmd, "find '%s' -type f \\( -name '*.jpg' -o -name '*.jpeg' \\) | sort",
             dir);
    FILE *p = popen(cmd, "r");
    CHECK(t, p != NULL, "cannot list %s", dir);
    if (!p) return;
    int files = 0, recorded = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        files++;
        const char *rel = line + strlen(dir) + 1;
        /* the 112 similar face files: scales 1 and 1/2, and all four for every 8th */
        int is_face = strncmp(rel, "faces/", 6) == 0, max_denom = is_face && files % 8 ? 2 : 8;
        for (int denom = 1; denom <= max_denom; denom *= 2) {
            image_u8_t ours;
            sal_err_t err = {{0}};
            int our_rc = tj_decode_file(line, denom, &ours, &err);
            int rec = -1;
            for (size_t r = 0; r < sizeof recorded_201 / sizeof recorded_201[0]; r++)
                if (strcmp(rel, recorded_201[r].file) == 0 && recorded_201[r].denom == denom)
                    rec = (int)r;
            if (rec >= 0) {
                uint64_t h =
                    our_rc == 0
                        ? tj_fnv1a(ours.pixels, (size_t)ours.width * ours.height * ours.channels)
                        : 0;
                CHECK(t, our_rc == 0 && h == recorded_201[rec].fnv,
                      "%s 1/%d: FNV %016llx, libjpeg-turbo 2.0.1 gives %016llx", rel, denom,
                      (unsigned long long)h, (unsigned long long)recorded_201[rec].fnv);
                recorded++;
                if (our_rc == 0) image_free(&ours);
                continue;
            }
            if (!live) {
                if (our_rc == 0) image_free(&ours);
                continue;
            }
            tj_image_t ref;
            tj_djpeg(line, denom, ref_path, 0);
            if (tj_read_pnm(ref_path, &ref) < 0) {
                /* djpeg produced no (complete) image: the header is bad, so must we fail */
                CHECK(t, our_rc < 0, "%s 1/%d: djpeg fails but we decode", rel, denom);
                if (our_rc == 0) image_free(&ours);
                remove(ref_path);
                continue;
            }
            remove(ref_path);
            tl->compared++;
            if (our_rc < 0) {
                CHECK(t, 0, "%s 1/%d: djpeg decodes, we fail: %s", rel, denom, err.msg);
            } else {
                int same = tj_same(&ours, &ref);
                tl->identical += same;
                CHECK(t, same, "%s 1/%d: differs from djpeg", rel, denom);
                image_free(&ours);
            }
            free(ref.px);
        }
    }
    pclose(p);
    CHECK(t, files >= 100, "only %d JPEG fixtures found under %s", files, dir);
    CHECK(t, recorded == 4, "recorded 2.0.1 comparisons: %d", recorded);
    printf("fixtures: %d JPEG files\n", files);
}

int main(void) {
    test_ctx_t t = test_begin("jpeg");
    int live = tj_have_djpeg(&t);
    tj_oracle_t o;
    double t0 = sal_now();
    if (tj_oracle_init(&o, &t, live) == 0) {
        tally_t gen = {0, 0, 0};
        int big = live && (!test_sanitized() || test_full());
        int files = cjpeg_matrix(&t, &o, &gen, big);
        printf("cjpeg files x scales (%s): %d compared, %d identical, %d identical except 4:4:0 "
               "odd-row rounding%s\n",
               live ? "cjpeg/djpeg" : "recorded in " TJ_DATA, gen.compared, gen.identical,
               gen.identical_except_440, live ? "" : " (even rows identical)");
        /* live: 5 images x 8 samplings x 5 options (+ 16 files of 1023x769);
         * recorded: 4 x 8 x 5 + 250x190 with 8 x 2 */
        CHECK(&t, files == (live ? (big ? 216 : 200) : 176), "only %d generated files", files);
        CHECK(&t, gen.compared == 4 * files, "only %d generated comparisons", gen.compared);
        CHECK(&t, gen.identical + gen.identical_except_440 == gen.compared,
              "%d of %d generated files match", gen.identical + gen.identical_except_440,
              gen.compared);
    }
    tj_oracle_done(&o, &t);
    tj_oracle_free(&o);
    if (test_need_shared(&t, "fixtures/saliency/images")) {
        tally_t fix = {0, 0, 0};
        if (!live) printf("fixtures: without djpeg only the 4 recorded 2.0.1 decodes run\n");
        fixtures(&t, &fix, live);
        printf("fixtures x scales: %d compared with djpeg, %d identical (+4 against recorded "
               "2.0.1 decodes)\n",
               fix.compared, fix.identical);
    }
    printf("time %.1f s\n", sal_now() - t0);
    return test_end(&t);
}

/* test_saliency_fixtures.c — our saliency pipeline against the real
 * candidate_crops tool's recorded outputs (../shared/fixtures/saliency).
 * The first few images with a small network input also run through the
 * plain reference network (saliency_opts_t.reference) and are held to the
 * same rules.
 *
 * Every image of runs.tsv is scored once in-process (saliency_load_file +
 * saliency_run, the code bin/candidate_crops runs); then for each of its 4
 * recorded modes the stdout text is rebuilt (cc_format) and compared:
 *   - the exit code, the number of lines,
 *   - line 1 (salient point) and every crop line: identical,
 *   - every "x y s" line: x and y identical as printed, |s - s_tool| <= 2e-5.
 * Under the sanitizers (where the conv kernels are ~60x slower) only images
 * whose network input is small (<= 320x16 px: the thin grid / synthetic
 * images) and the failing ones are run (faces/ is not even loaded): the decoders, resizers and
 * post-processing are all exercised, the network on few pixels.
 */
#include "check.h"

#include <stdint.h>

#include "blob.h"
#include "candidate_crops.h"
#include "saliency.h"
#include "vxm.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define TOL 2e-5

typedef struct stats {
    int images, runs, points;
    double max_diff;
    char worst[2048];
} stats_t;

/* Splits text into lines in place (the '\n' become '\0'). */
static int split_lines(char *s, char **lines, int max) {
    int n = 0;
    while (*s && n < max) {
        lines[n++] = s;
        char *nl = strchr(s, '\n');
        if (!nl) break;
        *nl = '\0';
        s = nl + 1;
    }
    return n;
}

static int count_fields(const char *s) {
    int n = 0, in = 0;
    for (; *s; s++) {
        if (*s == ' ') in = 0;
        else if (!in) { in = 1; n++; }
    }
    return n;
}

/* Compares our text with the tool's; returns 1 if equal within the rules. */
static int compare_output(test_ctx_t *t, const char *label, char *ours, char *theirs,
                          stats_t *st) {
    enum { MAXL = 20000 };
    char **la = malloc(sizeof *la * MAXL), **lb = malloc(sizeof *lb * MAXL);
    if (!la || !lb) {
        free(la); free(lb);
        CHECK(t, 0, "out of memory");
        return 0;
    }
    int na = split_lines(ours, la, MAXL), nb = split_lines(theirs, lb, MAXL);
    if (na != nb) {
        CHECK(t, na == nb, "%s: %d lines, the tool printed %d", label, na, nb);
        free(la); free(lb);
        return 0;
    }
    int ok = 1;
    for (int i = 0; i < na; i++) {
        if (count_fields(lb[i]) == 3) {   // "x y saliency"
            char xa[64], ya[64], xb[64], yb[64];
            double sa, sb;
            if (sscanf(la[i], "%63s %63s %lf", xa, ya, &sa) != 3 ||
                sscanf(lb[i], "%63s %63s %lf", xb, yb, &sb) != 3 || strcmp(xa, xb) ||
                strcmp(ya, yb)) {
                CHECK(t, 0, "%s line %d: '%s' vs the tool's '%s'", label, i + 1, la[i], lb[i]);
                ok = 0;
                continue;
            }
            double d = fabs(sa - sb);
            st->points++;
            if (d > st->max_diff) {
                st->max_diff = d;
                snprintf(st->worst, sizeof st->worst, "%s line %d: %s vs %s", label, i + 1, la[i], lb[i]);
            }
            if (!(d <= TOL)) {
                CHECK(t, d <= TOL, "%s line %d: saliency %s vs the tool's %s", label, i + 1, la[i], lb[i]);
                ok = 0;
            }
        } else if (strcmp(la[i], lb[i]) != 0) {
            CHECK(t, 0, "%s line %d: '%s' vs the tool's '%s'", label, i + 1, la[i], lb[i]);
            ok = 0;
        }
    }
    free(la); free(lb);
    return ok;
}

static const char *mode_args[4][6] = {
    {"sap_ratios", "show_all_points", "0.56", "1.0", "1.14", "2.0"},
    {"ratios", "0.56", "1.0", "1.14", "2.0", NULL},
    {"sap", "show_all_points", NULL},
    {"bare", NULL},
};

/* Uniform network inputs (the grid/ images: constant gray at many sizes)
 * give a map that depends only on the input size and colour: computed once.
 * Everything around the network still runs for every image. */
typedef struct uniform_map {
    int w, h;
    uint8_t rgb[3];
    float *map;
    int map_w, map_h;
} uniform_map_t;

static int is_uniform(const image_u8_t *in) {
    for (size_t i = 3; i < (size_t)in->width * in->height * 3; i++)
        if (in->pixels[i] != in->pixels[i % 3]) return 0;
    return 1;
}

/* saliency_run, with the network skipped for a uniform input seen before. */
/* Returns 1 (nothing done) if the network input is larger than max_area. */
static int score(const saliency_model_t *m, const saliency_image_t *img, arena_t *ws,
                 const saliency_opts_t *opts, uniform_map_t *cache, int *n_cache, int *reused,
                 long max_area, saliency_result_t *res, sal_err_t *err) {
    image_u8_t in;
    int ow, oh, mw = 0, mh = 0;
    float *map = NULL;
    int rc = saliency_prepare(img, &in, &ow, &oh, err);
    if (rc) return rc;
    if ((long)in.width * in.height > max_area) {
        image_free(&in);
        return 1;
    }
    const int uniform = !opts->reference && is_uniform(&in);
    for (int i = 0; uniform && i < *n_cache; i++)
        if (cache[i].w == in.width && cache[i].h == in.height && !memcmp(cache[i].rgb, in.pixels, 3)) {
            mw = cache[i].map_w;
            mh = cache[i].map_h;
            map = malloc(sizeof(float) * mw * mh);
            memcpy(map, cache[i].map, sizeof(float) * mw * mh);
            (*reused)++;
            break;
        }
    if (!map) {
        rc = saliency_map_opts(m, &in, ws, opts, &map, &mw, &mh, err);
        if (rc == 0 && uniform && *n_cache < 256) {
            uniform_map_t *u = &cache[(*n_cache)++];
            u->w = in.width;
            u->h = in.height;
            memcpy(u->rgb, in.pixels, 3);
            u->map_w = mw;
            u->map_h = mh;
            u->map = malloc(sizeof(float) * mw * mh);
            memcpy(u->map, map, sizeof(float) * mw * mh);
        }
    }
    if (rc == 0) rc = saliency_finish(&in, ow, oh, map, mw, mh, m->net.stride, res, err);
    image_free(&in);
    return rc;
}

int main(void) {
    test_ctx_t t = test_begin("saliency_fixtures");
    if (!test_need_shared(&t, "fixtures/saliency") || !test_need_shared(&t, "data/fastgaze.vxm"))
        return test_end(&t);
    char dir[2048], path[4096], model_path[2048];
    test_shared(&t, "fixtures/saliency", dir, sizeof dir);
    test_shared(&t, "data/fastgaze.vxm", model_path, sizeof model_path);

    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    saliency_model_t model;
    if (vxm_open_blob(model_path, &blob, &err) || saliency_model_init(&model, blob, &err)) {
        CHECK(&t, 0, "model: %s", err.msg);
        return test_end(&t);
    }
    arena_t ws;
    CHECK(&t, arena_init(&ws, saliency_arena_bytes(&model)) == 0, "arena");

    snprintf(path, sizeof path, "%s/runs.tsv", dir);
    size_t tsv_size;
    char *tsv = test_read_raw(path, &tsv_size);
    CHECK(&t, tsv != NULL, "cannot read %s", path);
    if (!tsv) return test_end(&t);
    tsv = realloc(tsv, tsv_size + 1);
    tsv[tsv_size] = '\0';

    stats_t st = {0}, st_ref = {0};
    const saliency_opts_t fast = {0}, ref = {.reference = 1};
    saliency_result_t res_ref = {0};
    char *text_ref = NULL;
    int have_ref = 0, n_ref = 0;
    const int full = test_full();
    int n_faces = 0;
    const int ref_max = SANITIZED ? 3 : full ? 8 : 4;                         // images through the reference
    const long ref_area = SANITIZED ? 320L * 16 : 160L * 160;      // network inputs up to this size
    uniform_map_t *cache = calloc(256, sizeof *cache);
    int n_cache = 0, reused = 0;
    char current[1024] = "";
    int have = 0, status = 0, skip = 0, skipped = 0;
    const long max_area = SANITIZED ? 320L * 16 : 320L * 320;
    image_u8_t pixels = {0};
    saliency_image_t img;
    saliency_result_t res = {0};
    char *line = strchr(tsv, '\n');   // skip the header
    while (line && *++line) {
        char *next = strchr(line, '\n');
        if (next) *next = '\0';
        char image[1024], mode[64], md5[64];
        int exit_code, n_lines;
        if (sscanf(line, "%1023[^\t]\t%63[^\t]\t%d\t%d\t%63[^\t]", image, mode, &exit_code,
                   &n_lines, md5) != 5) {
            CHECK(&t, 0, "bad runs.tsv row: %s", line);
            line = next;
            continue;
        }
        if (strcmp(image, current) != 0) {   // a new image: score it once
            if (have) saliency_result_free(&res);
            image_free(&pixels);
            have = 0;
            snprintf(current, sizeof current, "%s", image);
            snprintf(path, sizeof path, "%s/%s", dir, image);
            // the 224 study faces are alike (photos of one kind): `make test`
            // scores every 4th, the sanitizer build none; test-full all of them
            const int face = strstr(image, "/faces/") != NULL;
            const int face_skipped = face && (SANITIZED || (!full && n_faces % 4 != 0));
            n_faces += face;
            status = face_skipped ? 1 : saliency_load_file(path, &pixels, &img, &err);
            if (status == 0)
                status = score(&model, &img, &ws, &fast, cache, &n_cache, &reused, max_area, &res, &err);
            // the plain reference network on the first few small inputs, held to the same output
            if (have_ref) saliency_result_free(&res_ref);
            have_ref = 0;
            if (status == 0 && n_ref < ref_max) {
                const int st_ref = score(&model, &img, &ws, &ref, NULL, NULL, NULL, ref_area,
                                         &res_ref, &err);
                CHECK(&t, st_ref == 0 || st_ref == 1, "%s: reference: %s", image, err.msg);
                have_ref = st_ref == 0;
                n_ref += have_ref;
            }
            skip = status == 1;
            have = status == 0;
            if (skip) skipped++;
            else st.images++;
        }
        if (skip) {
            line = next;
            continue;
        }
        st.runs++;
        char label[1400];
        snprintf(label, sizeof label, "%s [%s]", image, mode);
        const int code = cc_exit_code(status);
        CHECK(&t, code == exit_code, "%s: exit code %d, the tool %d (%s)", label, code, exit_code,
              status ? err.msg : "");
        if (!have || code != exit_code) {
            line = next;
            continue;
        }
        int m = 0;
        while (m < 4 && strcmp(mode_args[m][0], mode) != 0) m++;
        CHECK(&t, m < 4, "unknown mode %s", mode);
        if (m == 4) {
            line = next;
            continue;
        }
        char *argv[10] = {"candidate_crops", model_path, path};
        int argc = 3;
        for (int k = 1; k < 6 && mode_args[m][k]; k++) argv[argc++] = (char *)mode_args[m][k];
        cc_args_t args;
        char *text = NULL;
        if (cc_parse_args(argc, argv, &args, &err) || cc_format(&res, &args, &text, &err)) {
            CHECK(&t, 0, "%s: %s", label, err.msg);
        } else {
            char out_path[4096];
            snprintf(out_path, sizeof out_path, "%s/out/%s.%s.txt", dir, image + strlen("images/"), mode);
            size_t n;
            char *want = test_read_raw(out_path, &n);
            CHECK(&t, want != NULL, "cannot read %s", out_path);
            if (want) {
                want = realloc(want, n + 1);
                want[n] = '\0';
                CHECK(&t, compare_output(&t, label, text, want, &st), "%s differs", label);
                free(want);
            }
            if (have_ref && cc_format(&res_ref, &args, &text_ref, &err) == 0) {
            char out_path[4096];
            snprintf(out_path, sizeof out_path, "%s/out/%s.%s.txt", dir, image + strlen("images/"), mode);
            size_t n;
            char *want = test_read_raw(out_path, &n);
            if (want) {
                want = realloc(want, n + 1);
                want[n] = '\0';
                strcat(label, " [reference]");
                CHECK(&t, compare_output(&t, label, text_ref, want, &st_ref), "%s differs", label);
                free(want);
            }
            }
        }
        free(text_ref);
        text_ref = NULL;
        free(text);
        cc_args_free(&args);
        line = next;
    }
    if (have) saliency_result_free(&res);
    if (have_ref) saliency_result_free(&res_ref);
    image_free(&pixels);
    free(tsv);
    for (int i = 0; i < n_cache; i++) free(cache[i].map);
    free(cache);
    arena_free(&ws);
    saliency_model_free(&model);
    blob_close(blob);

    printf("%d images, %d runs compared; %d saliency values, max |diff| %.3g (%s)\n", st.images,
           st.runs, st.points, st.max_diff, st.worst);
    if (skipped) printf("(%d images not run: %s)\n", skipped,
                        SANITIZED ? "sanitizer build, faces and large network inputs" : "make test runs every 4th face");
    printf("(%d uniform gray inputs reused a map computed for the same size and colour)\n", reused);
    printf("reference network (nets/fastgaze_ref.c) on %d images: %d saliency values, max |diff| %.3g "
           "from the tool (%s)\n", n_ref, st_ref.points, st_ref.max_diff, st_ref.worst);
    CHECK(&t, st.images >= (SANITIZED ? 10 : full ? 320 : 150), "too few images compared: %d", st.images);
    CHECK(&t, n_ref >= ref_max, "only %d images through the reference network", n_ref);
    return test_end(&t);
}

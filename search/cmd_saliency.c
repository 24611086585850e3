/* cmd_saliency.c — `salient saliency`: the maximum saliency of image files
 * under Twitter's cropping model, exactly as its candidate_crops tool scores
 * them (same preprocessing, same network, same point).
 *
 *   salient saliency --model MODEL IMAGE... [--json] [--heatmap OUT.png] [--threads N]
 *       [--reference] [--trace DIR]
 *
 * Default output, one line per image:  IMAGE <tab> max <tab> x <tab> y
 * --json: one JSON object per line per image (sizes, max, point, all map values).
 * --heatmap: the image with the map drawn over it (for several images OUT is
 * a directory and each picture is OUT/<image name>.heatmap.png).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate_crops.h"
#include "cli.h"
#include "commands.h"
#include "cpu.h"
#include "heatmap.h"
#include "json.h"
#include "saliency.h"
#include "startup_check.h"
#include "trace.h"

static void saliency_help(FILE *f) {
    fprintf(f,
            "usage: salient saliency --model MODEL IMAGE... [--json] [--heatmap OUT.png] [--threads N]\n\n"
            "Scores images (JPEG or PNG) with Twitter's saliency model (fastgaze.vxm or its\n"
            "blob), exactly as Twitter's candidate_crops tool does.\n\n"
            "  --model MODEL      fastgaze.vxm (see `make models`) or a converted blob\n"
            "  --json             one JSON object per image: image, width, height, input and\n"
            "                     map size, stride, max, point [x, y], cell [row, col],\n"
            "                     symmetric, values (the map, row-major)\n"
            "  --heatmap OUT.png  draw the map over the image, the maximum ringed; with several\n"
            "                     images OUT is a directory (OUT/<name>.heatmap.png)\n"
            "  --threads N        threads for the network (default: all cores)\n"
            "  --reference        run the plain double-precision network (nets/fastgaze_ref.c,\n"
            "                     slow; docs/saliency.md)\n"
            "  --trace DIR        write the network input, every layer and the map to DIR as\n"
            "                     .npy + PNG montages, listed in DIR/trace.txt (with several\n"
            "                     images the names start with the image's file name)\n\n"
            "Default output: one line per image: IMAGE<tab>max<tab>x<tab>y\n"
            "(max = the largest map value; x y = the most salient point in image pixels).\n"
            "Images needing more than 256 MiB to decode are refused from their header;\n"
            "SALIENT_MAX_IMAGE_MB=N raises that limit.\n");
}

static void print_json(const char *path, const saliency_result_t *r) {
    fputs("{\"image\": ", stdout);
    json_write_string(stdout, path);
    printf(", \"width\": %d, \"height\": %d, \"input_width\": %d, \"input_height\": %d, "
           "\"map_width\": %d, \"map_height\": %d, \"stride\": %d, \"max\": %.9g, "
           "\"point\": [%d, %d], \"cell\": [%d, %d], \"symmetric\": %s, \"values\": [",
           r->orig_w, r->orig_h, r->in_w, r->in_h, r->map_w, r->map_h, r->stride,
           (double)r->max, r->x, r->y, r->best_row, r->best_col, r->symmetric ? "true" : "false");
    for (int i = 0; i < r->map_w * r->map_h; i++)
        printf("%s%.9g", i ? ", " : "", (double)r->map[i]);
    printf("]}\n");
}

/* OUT/<basename of image>.heatmap.png */
static void heatmap_path(const char *dir, const char *image, char *buf, size_t len) {
    const char *base = strrchr(image, '/');
    base = base ? base + 1 : image;
    snprintf(buf, len, "%s/%s.heatmap.png", dir, base);
}

static int write_heatmap(const char *out_path, const saliency_image_t *img,
                         const saliency_result_t *r, sal_err_t *err) {
    image_u8_t rgb, pic;
    if (saliency_display_rgb(img, &rgb, err)) return -1;
    int rc = heatmap_render(r, &rgb, &pic, err);
    image_free(&rgb);
    if (rc) return -1;
    rc = png_save(out_path, pic.pixels, pic.width, pic.height, 3, err);
    image_free(&pic);
    return rc;
}

int cmd_saliency(int argc, char **argv) {
    const char *model_path = NULL, *heatmap = NULL, *trace_dir = NULL;
    int json = 0, threads = 0, n_images = 0, reference = 0;
    const char **images = calloc((size_t)argc + 1, sizeof *images);
    if (!images) {
        fprintf(stderr, "salient saliency: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            saliency_help(stdout);
            free(images);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--reference")) {
            reference = 1;
        } else if (!strcmp(a, "--model") || !strcmp(a, "--heatmap") || !strcmp(a, "--threads") ||
                   !strcmp(a, "--trace")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "salient saliency: %s needs a value (see --help)\n", a);
                free(images);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--model")) model_path = v;
            else if (!strcmp(a, "--heatmap")) heatmap = v;
            else if (!strcmp(a, "--trace")) trace_dir = v;
            else {
                sal_err_t terr;
                if (cli_threads(v, &threads, &terr)) {
                    fprintf(stderr, "salient saliency: %s (see --help)\n", terr.msg);
                    free(images);
                    return 2;
                }
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "salient saliency: unknown option '%s' (see --help)\n", a);
            free(images);
            return 2;
        } else {
            images[n_images++] = a;
        }
    }
    if (!model_path || n_images == 0) {
        fprintf(stderr, "salient saliency: %s (see --help)\n",
                !model_path ? "--model MODEL is required" : "no image given");
        free(images);
        return 2;
    }
    if (threads) threads_set(threads);

    sal_err_t err = {{0}};
    ks_startup_t check; /* the kernels of the model and the image path, before the first image */
    if (startup_check("salient saliency", KS_SALIENCY, &check, &err)) {
        fprintf(stderr, "salient saliency: %s\n", err.msg);
        free(images);
        return 1;
    }
    saliency_load_opts_t load_opts = {0};
    if (cli_image_limit(&load_opts.max_image_bytes, &err)) {
        fprintf(stderr, "salient saliency: %s\n", err.msg);
        free(images);
        return 2;
    }
    blob_t *blob;
    saliency_model_t model;
    if (cc_open_model(model_path, &blob, &model, &err)) {
        fprintf(stderr, "salient saliency: %s\n", err.msg);
        free(images);
        return 1;
    }
    if (heatmap && n_images > 1 && sal_mkdir_p(heatmap, &err)) {
        fprintf(stderr, "salient saliency: %s\n", err.msg);
        cc_close_model(blob, &model);
        free(images);
        return 1;
    }
    arena_t ws;
    if (arena_init(&ws, saliency_arena_bytes(&model))) {
        fprintf(stderr, "salient saliency: out of memory\n");
        cc_close_model(blob, &model);
        free(images);
        return 1;
    }
    trace_t trace;
    saliency_opts_t opts = {.reference = reference};
    if (trace_dir) {
        if (trace_open(&trace, trace_dir, &err)) {
            fprintf(stderr, "salient saliency: %s\n", err.msg);
            arena_free(&ws);
            cc_close_model(blob, &model);
            free(images);
            return 1;
        }
        opts.hook = trace_hook;
        opts.hook_user = &trace;
    }
    int failed = 0;
    for (int i = 0; i < n_images; i++) {
        if (trace_dir && n_images > 1) {   // names start with the image's file name
            const char *base = strrchr(images[i], '/');
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s.", base ? base + 1 : images[i]);
            trace_set_prefix(&trace, prefix);
        }
        image_u8_t pixels;
        saliency_image_t img;
        saliency_result_t r;
        if (saliency_load_file_ex(images[i], &load_opts, &pixels, &img, &err) ||
            saliency_run_opts(&model, &img, &ws, &opts, &r, &err)) {
            fprintf(stderr, "salient saliency: %s\n", err.msg);
            image_free(&pixels);
            failed = 1;
            continue;
        }
        if (json) print_json(images[i], &r);
        else printf("%s\t%.6f\t%d\t%d\n", images[i], (double)r.max, r.x, r.y);
        if (heatmap) {
            char path[4096];
            if (n_images > 1) heatmap_path(heatmap, images[i], path, sizeof path);
            else snprintf(path, sizeof path, "%s", heatmap);
            if (write_heatmap(path, &img, &r, &err)) {
                fprintf(stderr, "salient saliency: %s\n", err.msg);
                failed = 1;
            }
        }
        fflush(stdout);
        saliency_result_free(&r);
        image_free(&pixels);
    }
    if (trace_dir && trace_close(&trace, &err)) {
        fprintf(stderr, "salient saliency: --trace: %s\n", err.msg);
        failed = 1;
    }
    arena_free(&ws);
    cc_close_model(blob, &model);
    free(images);
    return failed ? 1 : 0;
}

/* candidate_crops_main.c — bin/candidate_crops: a drop-in replacement for
 * Twitter's closed `candidate_crops` tool (image-crop-analysis), so that its
 * crop_api.py works unchanged.
 *
 *   candidate_crops MODEL IMAGE [show_all_points] [RATIO ...]
 *
 * Same arguments, stdout and exit codes as the original (0 ok, 3 usage,
 * 5 cannot open the image, 4 unknown/corrupt image format, 1 undecodable
 * image, 10 image too thin to fit), except that a bad model exits 2 (the
 * original printed its error and exited 0). Errors: one line on stderr.
 * The original's leftover stderr line "showAllPoints=..." is printed only with
 * SALIENT_CC_DEBUG=1. MODEL may be the .vxm or a salient blob.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate_crops.h"
#include "cli.h"
#include "saliency.h"
#include "startup_check.h"

#define EXIT_USAGE 3
#define EXIT_MODEL 2   /* the original: 0 */
#define EXIT_OTHER 1

/* The whole of stdin (IMAGE "-", as the original accepts). */
static int read_stdin(uint8_t **data, size_t *size) {
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, stdin);
        if (n < cap) break;
        if (cap >= ((size_t)1 << 31)) {   // 2 GiB: no image is that large
            free(buf);
            return -1;
        }
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    if (!buf || ferror(stdin)) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

static void help(void) {
    printf("usage: candidate_crops MODEL IMAGE [show_all_points] [RATIO ...]\n\n"
           "Twitter's image-cropping saliency (fastgaze), output identical to Twitter's\n"
           "candidate_crops tool:\n"
           "  line 1            x y        the most salient point (source pixels)\n"
           "  one per RATIO     x y w h    crop of aspect ratio height/width around it\n"
           "                               (default ratios 0.56 1.0 1.14 2.0 and the image's own)\n"
           "  show_all_points   x y s      every point of the saliency map with its value\n\n"
           "MODEL is fastgaze.vxm (or its salient blob); IMAGE a JPEG or PNG file\n"
           "(\"-\": read from stdin).\n"
           "Exit codes: 0 ok, 1 undecodable image, 2 bad model, 3 usage, 4 unknown image\n"
           "format, 5 cannot open the image, 10 image too thin to fit 320x320.\n"
           "Images needing more than 256 MiB to decode are refused (SALIENT_MAX_IMAGE_MB=N\n"
           "raises the limit).\n"
           "SALIENT_CC_DEBUG=1 also prints the original tool's debug line on stderr.\n");
}

int main(int argc, char **argv) {
    sal_signals_init();
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        help();
        return 0;
    }
    cc_args_t args;
    sal_err_t err = {{0}};
    if (cc_parse_args(argc, argv, &args, &err)) {
        if (argc < 3) {   // the original's usage text, without a final newline
            fprintf(stderr,
                    "error: usage -- %s <model_path> <image_path> [show_all_points] "
                    "[aspect_ratio] [aspect_ratio] ...\n%s",
                    argv[0], "For show_all_points use show_all_points otherwise skip");
            return EXIT_USAGE;
        }
        fprintf(stderr, "candidate_crops: %s\n", err.msg);
        return EXIT_OTHER;
    }
    const char *debug = getenv("SALIENT_CC_DEBUG");
    if (debug && !strcmp(debug, "1"))
        fprintf(stderr, "showAllPoints=%s, argv[3]=%s\n", args.show_all ? "true" : "false",
                argc > 3 ? argv[3] : "(null)");

    // the kernels of the decoder, the resizer and the model, before the first use
    ks_startup_t check;
    if (startup_check("candidate_crops", KS_SALIENCY, &check, &err)) {
        fprintf(stderr, "candidate_crops: %s\n", err.msg);
        return EXIT_OTHER;
    }

    saliency_load_opts_t load_opts = {0};
    if (cli_image_limit(&load_opts.max_image_bytes, &err)) {
        fprintf(stderr, "candidate_crops: %s\n", err.msg);
        cc_args_free(&args);
        return EXIT_OTHER;
    }
    // the image first, then the model: the original's order, so errors come out alike
    image_u8_t pixels;
    saliency_image_t img;
    int rc;
    if (strcmp(args.image, "-") == 0) {
        uint8_t *data;
        size_t size;
        rc = read_stdin(&data, &size) ? SALIENCY_E_OPEN
                                      : saliency_load_memory_ex(data, size, "-", &load_opts, &pixels, &img, &err);
        if (rc != SALIENCY_E_OPEN) free(data);
    } else {
        rc = saliency_load_file_ex(args.image, &load_opts, &pixels, &img, &err);
    }
    // a too-thin image is found on its header now, but the original only
    // fails on it after loading the model: a bad model still exits 2 first
    sal_err_t thin_err = err;
    const int thin = rc == SALIENCY_E_SIZE;
    if (rc && !thin) {
        switch (rc) {
        case SALIENCY_E_OPEN:
            fprintf(stderr, "error: unable to open input file for '%s'\n", args.image);
            break;
        case SALIENCY_E_FORMAT:
            fprintf(stderr, "error: unknown or corrupt image format for '%s' (%s)\n", args.image,
                    err.msg);
            break;
        default:
            fprintf(stderr, "error: unable to read source image: %s\n", err.msg);
        }
        const int code = cc_exit_code(rc);
        cc_args_free(&args);
        return code;
    }

    blob_t *blob = NULL;
    saliency_model_t model;
    if (cc_open_model(args.model, &blob, &model, &err)) {
        fprintf(stderr, "error: cannot load model: %s\n", err.msg);
        image_free(&pixels);
        cc_args_free(&args);
        return EXIT_MODEL;
    }
    if (thin) {
        fprintf(stderr, "error: bad image dimensions: %s\n", thin_err.msg);
        cc_close_model(blob, &model);
        cc_args_free(&args);
        return cc_exit_code(SALIENCY_E_SIZE);
    }

    saliency_result_t res;
    char *text = NULL;
    int code = 0;
    rc = saliency_run(&model, &img, NULL, &res, &err);
    if (rc) {
        fprintf(stderr, "error: %s%s: %s\n", rc == SALIENCY_E_SIZE ? "bad image dimensions: " : "",
                args.image, err.msg);
        code = cc_exit_code(rc);
    } else {
        if (cc_format(&res, &args, &text, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            code = EXIT_OTHER;
        } else {
            fputs(text, stdout);   // everything at once, only after everything succeeded
            if (fflush(stdout) != 0) {
                fprintf(stderr, "candidate_crops: error writing stdout\n");
                code = EXIT_OTHER;
            }
        }
        saliency_result_free(&res);
    }
    free(text);
    cc_close_model(blob, &model);
    image_free(&pixels);
    cc_args_free(&args);
    return code;
}

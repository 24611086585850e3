/* candidate_crops.h — the command line and the stdout text of Twitter's
 * `candidate_crops` tool (spec: docs/saliency.md, 1 and 5),
 * separate from main so that tests can check the text in-process.
 *
 *   candidate_crops MODEL IMAGE [show_all_points] [RATIO ...]
 *
 *   x y                  salient point
 *   x y w h              one crop per ratio (height/width); with no ratio given:
 *                        0.56 1.0 1.14 2.0 and the image's own ratio
 *   x y saliency         per map cell, with show_all_points (%g)
 */
#ifndef SALIENT_CANDIDATE_CROPS_H
#define SALIENT_CANDIDATE_CROPS_H

#include "common.h"
#include "saliency.h"

typedef struct cc_args {
    const char *model, *image;
    int show_all;         /* argv[3] is exactly "show_all_points" */
    int n_ratios;
    float *ratios;        /* strtof of every later argument (malloc'ed) */
    int default_ratios;   /* none given: the 4 defaults + the image's ratio */
} cc_args_t;

/* Parses argv as the tool does. Returns 0, or -1 if argc < 3 (usage). */
int cc_parse_args(int argc, char **argv, cc_args_t *a, sal_err_t *err);
void cc_args_free(cc_args_t *a);

/* Opens a model file, a .vxm or a salient blob (told apart by content), and
 * sets up the saliency model on it. *blob must stay open while m is used. */
int cc_open_model(const char *path, blob_t **blob, saliency_model_t *m, sal_err_t *err);
void cc_close_model(blob_t *blob, saliency_model_t *m);

/* The tool's exit code for a saliency_load_file / saliency_run status:
 * 0 ok, 5 open, 4 format, 1 decode (and other failures), 10 size. */
int cc_exit_code(int status);

/* The tool's stdout for a result: malloc'ed NUL-terminated text. Fails (like
 * the tool, which then prints nothing) only if a crop does not fit. */
int cc_format(const saliency_result_t *r, const cc_args_t *a, char **text, sal_err_t *err);

#endif

/* saliency.h — Twitter's image-cropping saliency, as its `candidate_crops`
 * tool computes it (spec: docs/saliency.md), on an 8-bit
 * image in memory.
 *
 *   pixels (H, W, C) --transparent pixels -> white, fit into 320x320 (imagecore
 *   resizers), EXIF orientation, RGB - (103.939, 116.779, 123.68)--> (3, H_r, W_r)
 *   --fastgaze--> saliency map (ceil(H_r/16), ceil(W_r/16))
 *   --> max, salient point, symmetry rule, crops
 *
 * One function, saliency_run, serves every caller: a decoded file
 * (saliency_load_file fills the image description, including the JPEG
 * DCT-scaled decode the tool does) and a generated image held in memory
 * (RGB, HWC: exactly what decoding its PNG would give, so the result is the
 * tool's result on that PNG).
 */
#ifndef SALIENT_SALIENCY_H
#define SALIENT_SALIENCY_H

#include "arena.h"
#include "blob.h"
#include "common.h"
#include "fastgaze.h"
#include "png.h"

#define SALIENCY_BOX 320           /* the network input fits into 320 x 320 */
#define SALIENCY_SYM_SIZE 10       /* symmetry test image: 10 x 10 */

/* Status codes beyond the generic -1 (candidate_crops maps them to exit codes). */
enum {
    SALIENCY_E_OPEN = -2,     /* the image file cannot be opened (tool: exit 5) */
    SALIENCY_E_FORMAT = -3,   /* not a known image, or its header is corrupt (exit 4) */
    SALIENCY_E_DECODE = -4,   /* the pixel data cannot be decoded (exit 1) */
    SALIENCY_E_SIZE = -5,     /* a side rounds to 0 px in the 320 fit (exit 10) */
};

/* The model: the network plus nothing else (the preprocessing constants are
 * the tool's, below). Immutable after init; share it between threads. */
typedef struct saliency_model {
    fg_model_t net;
} saliency_model_t;

/* The blob (arch "fastgaze") must outlive the model. */
int saliency_model_init(saliency_model_t *m, const blob_t *b, sal_err_t *err);
void saliency_model_free(saliency_model_t *m);
/* Arena bytes saliency_run needs (any image: the input is at most 320x320). */
size_t saliency_arena_bytes(const saliency_model_t *m);

/* An 8-bit image in memory. */
typedef struct saliency_image {
    const uint8_t *pixels;   /* (height, width, channels), rows packed */
    int width, height;
    int channels;            /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int orientation;         /* EXIF orientation 1..8 of the pixels (0 = 1) */
    int file_width, file_height;  /* size before a JPEG DCT-scaled decode; 0 = width, height */
} saliency_image_t;

/* A plain RGB / RGBA image (HWC), orientation 1: a generator output or a PNG. */
saliency_image_t saliency_image_rgb(const uint8_t *pixels, int width, int height, int channels);

/* What the tool computes for one image. */
typedef struct saliency_result {
    int orig_w, orig_h;      /* source size in display orientation */
    int in_w, in_h;          /* network input size (the 320 fit), display orientation */
    int map_w, map_h, stride;
    float *map;              /* (map_h, map_w), malloc'ed */
    int best_row, best_col;  /* first maximum, row-major */
    float max;               /* map[best_row][best_col]: the maximum saliency */
    float scale;             /* network input -> source pixels */
    int x, y;                /* salient point in source pixels (first line of the tool) */
    int symmetric;           /* the tool's symmetry rule fired */
    int crop_x;              /* x the crops are centred on: orig_w/2 if symmetric, else x */
} saliency_result_t;

/* Runs everything (saliency_prepare, saliency_map, saliency_finish). ws: an arena of at least saliency_arena_bytes() (reset on
 * entry), or NULL to allocate one for this call. Returns 0, -1 or
 * SALIENCY_E_SIZE. */
int saliency_run(const saliency_model_t *m, const saliency_image_t *img, arena_t *ws,
                 saliency_result_t *res, sal_err_t *err);
void saliency_result_free(saliency_result_t *res);

/* How the network runs (NULL opts = the fast path, no hook). */
typedef struct saliency_opts {
    int reference;       /* 1: the plain double-precision network (nets/fastgaze_ref.c) */
    fg_hook_fn hook;     /* observes "saliency.input" (1, 3, H, W), every layer
                          * (fastgaze.h) and "saliency.map" (1, 1, map_h, map_w) */
    void *hook_user;
} saliency_opts_t;
int saliency_run_opts(const saliency_model_t *m, const saliency_image_t *img, arena_t *ws,
                      const saliency_opts_t *opts, saliency_result_t *res, sal_err_t *err);

/* Point of map cell (row, col) in source pixels, as the tool prints it. */
void saliency_point(const saliency_result_t *res, int row, int col, float *x, float *y);
/* Crop of aspect ratio height/width = ratio around (crop_x, y): box = x, y, w, h.
 * Fails (like the tool) if the crop would not fit. */
int saliency_crop(const saliency_result_t *res, float ratio, int box[4], sal_err_t *err);

/* ---- the steps, for tests and tools ---- */

/* The 320 fit of a source of orig_w x orig_h (display orientation): the longest
 * side becomes 320. Returns SALIENCY_E_SIZE if a side rounds to 0. */
int saliency_fit_size(int orig_w, int orig_h, int *w, int *h, sal_err_t *err);
/* Preprocessing: *out = the RGB (3-channel) network-input image, display
 * orientation; *orig_w, *orig_h = the source size in display orientation. */
int saliency_prepare(const saliency_image_t *img, image_u8_t *out, int *orig_w, int *orig_h,
                     sal_err_t *err);
/* The source as RGB at its decoded resolution, display orientation
 * (transparent pixels white): the picture a heatmap is drawn on. */
int saliency_display_rgb(const saliency_image_t *img, image_u8_t *out, sal_err_t *err);
/* The network input of a prepared (RGB) image: x (3, H, W) planar,
 * x[c][y][x] = pixel[y][x][c] + (-103.939, -116.779, -123.68)[c]. */
void saliency_input_tensor(const image_u8_t *in, float *x);
/* The network on a prepared image: *map (map_h, map_w), malloc'ed. ws as in
 * saliency_run. */
int saliency_map(const saliency_model_t *m, const image_u8_t *in, arena_t *ws, float **map,
                 int *map_w, int *map_h, sal_err_t *err);
int saliency_map_opts(const saliency_model_t *m, const image_u8_t *in, arena_t *ws,
                      const saliency_opts_t *opts, float **map, int *map_w, int *map_h,
                      sal_err_t *err);
/* The tool's reading of a map: maximum, salient point, symmetry rule. Takes
 * ownership of map (freed with the result, or on failure). */
int saliency_finish(const image_u8_t *in, int orig_w, int orig_h, float *map, int map_w,
                    int map_h, int stride, saliency_result_t *res, sal_err_t *err);
/* The symmetry rule on the (RGB) network-input image. */
int saliency_is_symmetric(const image_u8_t *rgb, int *symmetric, sal_err_t *err);

/* ---- files ---- */

/* Loads an image file as candidate_crops does (content sniffing, the JPEG
 * DCT-scaled decode for the 320 fit, EXIF orientation, 16-bit -> high byte,
 * tRNS rules). On success *pixels owns the data and *img describes it. Returns
 * 0, SALIENCY_E_OPEN, SALIENCY_E_FORMAT, SALIENCY_E_DECODE or SALIENCY_E_SIZE. */
int saliency_load_file(const char *path, image_u8_t *pixels, saliency_image_t *img,
                       sal_err_t *err);
/* Same for a file's bytes in memory (`name` for messages); no SALIENCY_E_OPEN. */
int saliency_load_memory(const uint8_t *data, size_t size, const char *name, image_u8_t *pixels,
                         saliency_image_t *img, sal_err_t *err);
/* Limits for loading: max_image_bytes bounds the decoder's memory (0 =
 * SAL_IMAGE_DEFAULT_MAX_BYTES, png.h). Whatever the limit, the size rules
 * (SALIENCY_E_SIZE: a side rounds to 0 px in the 320 fit) and the memory
 * limit are checked on the file's header, before any pixel is decoded; the
 * memory limit fails like the decoder's other size limits (PNG:
 * SALIENCY_E_FORMAT, JPEG: SALIENCY_E_DECODE). */
typedef struct saliency_load_opts {
    size_t max_image_bytes;
} saliency_load_opts_t;
int saliency_load_file_ex(const char *path, const saliency_load_opts_t *opts, image_u8_t *pixels,
                          saliency_image_t *img, sal_err_t *err);
int saliency_load_memory_ex(const uint8_t *data, size_t size, const char *name, const saliency_load_opts_t *opts,
                            image_u8_t *pixels, saliency_image_t *img, sal_err_t *err);

#endif

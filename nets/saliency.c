/* saliency.c — candidate_crops' saliency pipeline around the fastgaze network
 * (see saliency.h; spec: docs/saliency.md, sections cited).
 *
 * Every numeric step reproduces the tool bit for bit: the float32 geometry
 * (fminf, roundf, truncating casts), imagecore's integer resizers
 * (imagecore.c), the mean subtraction, the argmax and back-projection, the
 * symmetry score and the crop arithmetic. Only the convolutions differ in
 * rounding (the tool: NNPACK float32 Winograd).
 */
#include "saliency.h"
#include "fastgaze_ref.h"
#include "imagecore.h"
#include "jpeg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Added to R, G, B (Caffe's BGR means, applied to RGB in that order: spec 3). */
static const float saliency_mean_offset[3] = {-103.939f, -116.779f, -123.68f};

/* ---- model ------------------------------------------------------------------ */

int saliency_model_init(saliency_model_t *m, const blob_t *b, sal_err_t *err) {
    memset(m, 0, sizeof *m);
    if (fg_load(&m->net, b, err)) return -1;
    if (m->net.c_out < 1) {
        fg_free(&m->net);
        return sal_errf(err, "%s: fastgaze model has no output channel", blob_path(b));
    }
    return 0;
}

void saliency_model_free(saliency_model_t *m) { fg_free(&m->net); }

size_t saliency_arena_bytes(const saliency_model_t *m) {
    // the network input (3, 320, 320) + the forward pass on it
    return arena_round((size_t)3 * SALIENCY_BOX * SALIENCY_BOX * sizeof(float)) +
           fg_arena_bytes(&m->net, SALIENCY_BOX, SALIENCY_BOX) + 4 * ARENA_ALIGN;
}

saliency_image_t saliency_image_rgb(const uint8_t *pixels, int width, int height, int channels) {
    saliency_image_t img = {.pixels = pixels, .width = width, .height = height,
                            .channels = channels, .orientation = 1};
    return img;
}

/* ---- geometry (spec 2.1) ---------------------------------------------------- */

int saliency_fit_size(int orig_w, int orig_h, int *w, int *h, sal_err_t *err) {
    if (orig_w <= 0 || orig_h <= 0) {
        sal_errf(err, "bad image dimensions %dx%d", orig_w, orig_h);
        return SALIENCY_E_SIZE;
    }
    const float box = (float)SALIENCY_BOX;
    const float scale = fminf(box / (float)orig_w, box / (float)orig_h);
    const float tw = roundf((float)orig_w * scale), th = roundf((float)orig_h * scale);
    if (!(tw >= 1.0f && th >= 1.0f)) {
        sal_errf(err, "%dx%d image: a side becomes 0 px when fitted into %dx%d", orig_w, orig_h,
                 SALIENCY_BOX, SALIENCY_BOX);
        return SALIENCY_E_SIZE;
    }
    *w = (int)tw;
    *h = (int)th;
    return 0;
}

static int orientation_swaps(int orientation) { return orientation >= 5 && orientation <= 8; }

/* ---- preprocessing (spec 2.3, 2.4) ------------------------------------------ */

/* Any 1..4 channel image -> RGB. Gray is replicated; where alpha is 0 the
 * pixel becomes white (the tool's fill colour has alpha 0, so it only does
 * this, no blending: spec 2.3). */
static int to_rgb(const saliency_image_t *img, image_u8_t *out, sal_err_t *err) {
    const int c = img->channels;
    size_t n = (size_t)img->width * (size_t)img->height, bytes;
    if (sal_mul_size(n, 3, &bytes)) return sal_errf(err, "image too large");
    out->pixels = malloc(bytes);
    if (!out->pixels) return sal_errf(err, "out of memory for a %dx%d image", img->width, img->height);
    out->width = img->width;
    out->height = img->height;
    out->channels = 3;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = img->pixels + i * c;
        uint8_t *d = out->pixels + i * 3;
        if (c <= 2) d[0] = d[1] = d[2] = s[0];
        else memcpy(d, s, 3);
        if ((c == 2 || c == 4) && s[c - 1] == 0) d[0] = d[1] = d[2] = 255;
    }
    return 0;
}

int saliency_prepare(const saliency_image_t *img, image_u8_t *out, int *orig_w, int *orig_h,
                     sal_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!img->pixels || img->width <= 0 || img->height <= 0 || img->channels < 1 ||
        img->channels > 4)
        return sal_errf(err, "saliency: bad image (%dx%d, %d channels)", img->width,
                        img->height, img->channels);
    const int orientation = img->orientation;
    const int fw = img->file_width > 0 ? img->file_width : img->width;
    const int fh = img->file_height > 0 ? img->file_height : img->height;
    // source size in display orientation, and the fit
    const int ow = orientation_swaps(orientation) ? fh : fw;
    const int oh = orientation_swaps(orientation) ? fw : fh;
    int tw, th;
    int rc = saliency_fit_size(ow, oh, &tw, &th, err);
    if (rc) return rc;
    if (orientation_swaps(orientation)) {   // the resize happens in file orientation
        int t = tw; tw = th; th = t;
    }

    image_u8_t rgb = {.width = img->width, .height = img->height, .channels = 3,
                      .pixels = (uint8_t *)img->pixels};   // borrowed when already RGB
    int own_rgb = 0;
    if (img->channels != 3) {
        if (to_rgb(img, &rgb, err)) return -1;
        own_rgb = 1;
    }
    image_u8_t fitted;
    rc = imagecore_fit(&rgb, tw, th, &fitted, err);
    if (own_rgb) image_free(&rgb);
    if (rc) return -1;
    if (orientation_swaps(orientation) || (orientation >= 2 && orientation <= 4)) {
        rc = imagecore_orient(&fitted, orientation, out, err);
        image_free(&fitted);
        if (rc) return -1;
    } else {
        *out = fitted;
    }
    *orig_w = ow;
    *orig_h = oh;
    return 0;
}

int saliency_display_rgb(const saliency_image_t *img, image_u8_t *out, sal_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!img->pixels || img->width <= 0 || img->height <= 0 || img->channels < 1 ||
        img->channels > 4)
        return sal_errf(err, "saliency: bad image");
    image_u8_t rgb;
    if (to_rgb(img, &rgb, err)) return -1;
    int rc = imagecore_orient(&rgb, img->orientation, out, err);
    image_free(&rgb);
    return rc;
}

/* ---- symmetry rule (spec 5.4) ------------------------------------------------- */

static int cmp_u8(const void *a, const void *b) {
    return (int)*(const uint8_t *)a - (int)*(const uint8_t *)b;
}

int saliency_is_symmetric(const image_u8_t *rgb, int *symmetric, sal_err_t *err) {
    const int n = SALIENCY_SYM_SIZE;
    image_u8_t small;
    if (imagecore_resize(rgb, n, n, &small, err)) return -1;
    // |P[row][j] - P[row][9-j]| per channel, and min / max of the pixel values
    uint8_t diff[SALIENCY_SYM_SIZE * SALIENCY_SYM_SIZE * 3];
    int k = 0, max_v = 0, min_v = 255;
    for (int row = 0; row < n; row++)
        for (int j = 0; j < n; j++)
            for (int c = 0; c < 3; c++) {
                int a = small.pixels[(row * n + j) * 3 + c];
                int b = small.pixels[(row * n + (n - 1 - j)) * 3 + c];
                diff[k++] = (uint8_t)(a > b ? a - b : b - a);
                if (a > max_v) max_v = a;
                if (a < min_v) min_v = a;
            }
    image_free(&small);
    qsort(diff, (size_t)k, 1, cmp_u8);
    const int v = diff[((k - 1) * 95) / 100];   // nearest-rank 95th percentile
    const float score = (float)((double)(float)v / (double)(max_v + 10 - min_v) * 137.0);
    *symmetric = 25.0f > score;
    return 0;
}

/* ---- the whole pipeline ------------------------------------------------------- */

void saliency_input_tensor(const image_u8_t *in, float *x) {
    // network input (3, h, w): x[c][y][x] = pixel[y][x][c] + offset[c]  (spec 3)
    const size_t plane = (size_t)in->width * in->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) x[c * plane + i] = (float)in->pixels[i * 3 + c] + saliency_mean_offset[c];
}

int saliency_map(const saliency_model_t *m, const image_u8_t *in, arena_t *ws, float **map,
                 int *map_w, int *map_h, sal_err_t *err) {
    return saliency_map_opts(m, in, ws, NULL, map, map_w, map_h, err);
}

/* The reference network on the prepared input x (3, h, w): float -> double
 * -> fg_ref_forward -> the map rounded to float32, malloc'ed. */
static int map_reference(const saliency_model_t *m, const float *x, int h, int w,
                         const saliency_opts_t *opts, float **map, int *map_w, int *map_h,
                         sal_err_t *err) {
    const size_t n = (size_t)3 * h * w;
    double *xd = malloc(n * sizeof(double)), *out = NULL;
    if (!xd) return sal_errf(err, "saliency: out of memory");
    for (size_t i = 0; i < n; i++) xd[i] = x[i];
    int rc = fg_ref_forward(&m->net, xd, h, w, opts->hook, opts->hook_user, &out, map_h, map_w, err);
    free(xd);
    if (rc) return -1;
    const size_t cells = (size_t)*map_w * *map_h;
    *map = malloc(cells * sizeof(float));
    if (*map)
        for (size_t i = 0; i < cells; i++) (*map)[i] = (float)out[i];
    free(out);
    return *map ? 0 : sal_errf(err, "saliency: out of memory");
}

int saliency_map_opts(const saliency_model_t *m, const image_u8_t *in, arena_t *ws,
                      const saliency_opts_t *opts, float **map, int *map_w, int *map_h,
                      sal_err_t *err) {
    const saliency_opts_t none = {0};
    if (!opts) opts = &none;
    *map = NULL;
    arena_t own;
    const int own_arena = ws == NULL;
    if (own_arena) {
        if (arena_init(&own, saliency_arena_bytes(m)))
            return sal_errf(err, "saliency: out of memory for the network");
        ws = &own;
    }
    arena_reset(ws);
    int rc = -1;
    const int w = in->width, h = in->height;
    const size_t plane = (size_t)w * h;
    float *x = in->channels == 3 ? arena_alloc(ws, 3 * plane * sizeof(float)) : NULL;
    if (!x) {
        sal_errf(err, "saliency: %s", in->channels == 3 ? "workspace too small" : "input is not RGB");
        goto done;
    }
    saliency_input_tensor(in, x);
    if (opts->hook) opts->hook(opts->hook_user, "saliency.input", 4, (int64_t[]){1, 3, h, w}, x);
    if (opts->reference) {
        if (map_reference(m, x, h, w, opts, map, map_w, map_h, err)) goto done;
    } else {
        float *out;
        if (fg_forward_hooked(&m->net, x, h, w, ws, opts->hook, opts->hook_user, &out, map_h,
                              map_w, err))
            goto done;
        const size_t bytes = (size_t)*map_w * *map_h * sizeof(float);
        *map = malloc(bytes);
        if (!*map) {
            sal_errf(err, "saliency: out of memory");
            goto done;
        }
        memcpy(*map, out, bytes);
    }
    if (opts->hook)
        opts->hook(opts->hook_user, "saliency.map", 4, (int64_t[]){1, 1, *map_h, *map_w}, *map);
    rc = 0;
done:
    if (own_arena) arena_free(&own);
    return rc;
}

int saliency_finish(const image_u8_t *in, int orig_w, int orig_h, float *map, int map_w,
                    int map_h, int stride, saliency_result_t *res, sal_err_t *err) {
    memset(res, 0, sizeof *res);
    res->orig_w = orig_w;
    res->orig_h = orig_h;
    res->in_w = in->width;
    res->in_h = in->height;
    res->map = map;
    res->map_w = map_w;
    res->map_h = map_h;
    res->stride = stride;
    // the first strict maximum in row-major order; NaNs never win (spec 5.1)
    float best = -INFINITY;
    for (int r = 0; r < map_h; r++)
        for (int c = 0; c < map_w; c++)
            if (map[r * map_w + c] > best) {
                best = map[r * map_w + c];
                res->best_row = r;
                res->best_col = c;
            }
    res->max = map[res->best_row * map_w + res->best_col];
    // back to source pixels: s = min(origH / H_r, origW / W_r), truncated (spec 5.1)
    res->scale = fminf((float)orig_h / (float)in->height, (float)orig_w / (float)in->width);
    float fx, fy;
    saliency_point(res, res->best_row, res->best_col, &fx, &fy);
    res->x = (int)fx;
    res->y = (int)fy;
    if (saliency_is_symmetric(in, &res->symmetric, err)) {
        saliency_result_free(res);
        return -1;
    }
    res->crop_x = res->symmetric ? (int)(0.5f * (float)orig_w) : res->x;
    return 0;
}

int saliency_run(const saliency_model_t *m, const saliency_image_t *img, arena_t *ws,
                 saliency_result_t *res, sal_err_t *err) {
    return saliency_run_opts(m, img, ws, NULL, res, err);
}

int saliency_run_opts(const saliency_model_t *m, const saliency_image_t *img, arena_t *ws,
                      const saliency_opts_t *opts, saliency_result_t *res, sal_err_t *err) {
    memset(res, 0, sizeof *res);
    image_u8_t in;
    int orig_w, orig_h, map_w, map_h;
    float *map;
    int rc = saliency_prepare(img, &in, &orig_w, &orig_h, err);   // 1. the 320 fit
    if (rc) return rc;
    rc = saliency_map_opts(m, &in, ws, opts, &map, &map_w, &map_h, err);   // 2. the network
    if (rc == 0)                                                     // 3. point, symmetry
        rc = saliency_finish(&in, orig_w, orig_h, map, map_w, map_h, m->net.stride, res, err);
    image_free(&in);
    return rc;
}

void saliency_result_free(saliency_result_t *res) {
    free(res->map);
    res->map = NULL;
}

void saliency_point(const saliency_result_t *res, int row, int col, float *x, float *y) {
    // centre of the cell in the network input, clamped to it, then scaled (spec 5.1, 5.2)
    int px = col * res->stride + res->stride / 2, py = row * res->stride + res->stride / 2;
    if (px > res->in_w - 1) px = res->in_w - 1;
    if (py > res->in_h - 1) py = res->in_h - 1;
    *x = (float)px * res->scale;
    *y = (float)py * res->scale;
}

/* ---- crops (spec 5.3) ------------------------------------------------------------ */

/* int32 wrap-around, as the tool's 32-bit arithmetic. */
static int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* lroundf as x86-64 computes it: half away from zero; NaN, infinities and
 * values outside the long range give LONG_MIN (the "integer indefinite"). */
static int64_t lroundf_x86(float v) {
    if (!(fabsf(v) < 9.2233720368547758e18f)) return INT64_MIN;
    return (int64_t)lroundf(v);
}

int saliency_crop(const saliency_result_t *res, float ratio, int box[4], sal_err_t *err) {
    const int W = (int)(float)res->orig_w, H = (int)(float)res->orig_h;
    const int x = res->crop_x, y = res->y;
    const float image_ratio = (float)H / (float)W;
    if (image_ratio > ratio) {   // the crop is less tall than the image: squeeze vertically
        const int32_t size = wrap32(lroundf_x86((float)W * ratio));
        if (size > H) return sal_errf(err, "error: width cannot exceed maxWidth");
        int32_t from = wrap32((int64_t)y - size / 2), to = wrap32((int64_t)from + size);
        if (from < 0) {
            from = 0;
            to = size;
        } else if (to > H) {
            from = wrap32((int64_t)H - size);
            to = H;
        }
        const int32_t len = wrap32((int64_t)to - from);
        box[0] = 0; box[1] = from; box[2] = W; box[3] = len > 1 ? len : 1;
    } else {                     // squeeze horizontally (also for a NaN ratio)
        const int32_t size = wrap32(lroundf_x86((float)H / ratio));
        if (size > W) return sal_errf(err, "error: width cannot exceed maxWidth");
        int32_t from = wrap32((int64_t)x - size / 2), to = wrap32((int64_t)from + size);
        if (from < 0) {
            from = 0;
            to = size;
        } else if (to > W) {
            from = wrap32((int64_t)W - size);
            to = W;
        }
        const int32_t len = wrap32((int64_t)to - from);
        box[0] = from; box[1] = 0; box[2] = len > 1 ? len : 1; box[3] = H;
    }
    return 0;
}

/* ---- files (spec 2.2, 7) ------------------------------------------------------- */

#define SALIENCY_MAX_FILE ((size_t)1 << 31)

/* The fit target of a source, unchecked (a side may be 0): the tool computes
 * its JPEG read size from it before failing on the 0 later. */
static void fit_target_raw(int orig_w, int orig_h, int *w, int *h) {
    const float box = (float)SALIENCY_BOX;
    const float scale = fminf(box / (float)orig_w, box / (float)orig_h);
    *w = (int)roundf((float)orig_w * scale);
    *h = (int)roundf((float)orig_h * scale);
}

/* JPEG: decoded at the smallest libjpeg scale 1/2, 1/4, 1/8 that still covers
 * the 320 fit (imagecore's computeReadDimensions + beginRead, spec 2.2). */
/* The size rule on the header: a side that rounds to 0 px in the 320 fit
 * fails before anything is decoded (a 1 x 268M PNG would otherwise be
 * decoded in full first). */
static int check_fit(int display_w, int display_h, const char *name, sal_err_t *err) {
    int w, h;
    if (saliency_fit_size(display_w, display_h, &w, &h, err)) {
        sal_err_prefix(err, "%s", name);
        return SALIENCY_E_SIZE;
    }
    return 0;
}

static int load_jpeg(const uint8_t *data, size_t size, const char *path, size_t max_bytes, image_u8_t *pixels,
                     saliency_image_t *img, sal_err_t *err) {
    jpeg_header_t hd;
    if (jpeg_read_header(data, size, path, &hd, err)) return SALIENCY_E_FORMAT;
    const int swap = orientation_swaps(hd.orientation);
    int rc = check_fit(swap ? hd.height : hd.width, swap ? hd.width : hd.height, path, err);
    if (rc) return rc;
    int tw, th;   // target in file orientation
    fit_target_raw(swap ? hd.height : hd.width, swap ? hd.width : hd.height, &tw, &th);
    if (swap) {
        int tmp = tw; tw = th; th = tmp;
    }
    // halve the read size up to 3 times while both halves still cover the target
    int rw = hd.width, rh = hd.height;
    for (int i = 0; i < 3; i++) {
        const int hw = (rw + 1) / 2, hh = (rh + 1) / 2;
        if (hw >= tw && hh >= th) {
            rw = hw;
            rh = hh;
        } else {
            break;
        }
    }
    // scale_denom from the width alone; libjpeg then uses the IDCT size k/8
    // with the smallest k such that 8 <= denom * k (spec 2.2, 7.1)
    const int denom = (int)roundf((float)hd.width / (float)rw);
    int k = 1;
    while (k < 16 && 8 > denom * k) k++;
    const int64_t dw = ((int64_t)hd.width * k + 7) / 8, dh = ((int64_t)hd.height * k + 7) / 8;
    if (dw != rw || dh != rh) {
        sal_errf(err, "%s: JPEG scaled size mismatch (%lldx%lld at scale %d/8, wanted %dx%d)", path,
                 (long long)dw, (long long)dh, k, rw, rh);
        return SALIENCY_E_DECODE;
    }
    if (k != 1 && k != 2 && k != 4 && k != 8) {
        sal_errf(err, "%s: JPEG scale %d/8 is not supported", path, k);
        return SALIENCY_E_DECODE;
    }
    jpeg_decode_opts_t opts = {.scale_denom = 8 / k, .max_bytes = max_bytes};
    if (jpeg_decode(data, size, path, &opts, pixels, NULL, err)) return SALIENCY_E_DECODE;
    if (pixels->width != rw || pixels->height != rh) {
        image_free(pixels);
        sal_errf(err, "%s: JPEG decoded to an unexpected size", path);
        return SALIENCY_E_DECODE;
    }
    *img = saliency_image_rgb(pixels->pixels, pixels->width, pixels->height, pixels->channels);
    img->orientation = hd.orientation;
    img->file_width = hd.width;
    img->file_height = hd.height;
    return 0;
}

int saliency_load_memory(const uint8_t *data, size_t size, const char *name, image_u8_t *pixels,
                         saliency_image_t *img, sal_err_t *err) {
    return saliency_load_memory_ex(data, size, name, NULL, pixels, img, err);
}

int saliency_load_memory_ex(const uint8_t *data, size_t size, const char *name, const saliency_load_opts_t *opts,
                            image_u8_t *pixels, saliency_image_t *img, sal_err_t *err) {
    memset(pixels, 0, sizeof *pixels);
    memset(img, 0, sizeof *img);
    const size_t max_bytes = opts ? opts->max_image_bytes : 0;
    int rc;
    png_info_t hdr;
    if (png_sniff(data, size)) {
        // the size rule first, on IHDR; a damaged IHDR is left to the decoder's message
        if (png_read_header(data, size, name, &hdr, err) == 0 && (rc = check_fit(hdr.width, hdr.height, name, err)))
            return rc;
        // 16-bit -> high byte, palette / tRNS -> RGB(A), gray tRNS ignored (png.h)
        png_decode_opts_t po = {0, max_bytes};
        rc = png_decode_ex(data, size, name, &po, pixels, NULL, err);
        if (rc == PNG_ERR_FORMAT) rc = SALIENCY_E_FORMAT;
        else if (rc) rc = SALIENCY_E_DECODE;
        else *img = saliency_image_rgb(pixels->pixels, pixels->width, pixels->height, pixels->channels);
    } else if (jpeg_sniff(data, size)) {
        rc = load_jpeg(data, size, name, max_bytes, pixels, img, err);
    } else {
        sal_errf(err, "%s: unknown or corrupt image format", name);
        rc = SALIENCY_E_FORMAT;
    }
    return rc;
}

int saliency_load_file(const char *path, image_u8_t *pixels, saliency_image_t *img,
                       sal_err_t *err) {
    return saliency_load_file_ex(path, NULL, pixels, img, err);
}

int saliency_load_file_ex(const char *path, const saliency_load_opts_t *opts, image_u8_t *pixels,
                          saliency_image_t *img, sal_err_t *err) {
    memset(pixels, 0, sizeof *pixels);
    memset(img, 0, sizeof *img);
    struct stat st;
    if (stat(path, &st) != 0) {
        sal_errf(err, "%s: cannot open: %s", path, strerror(errno));
        return SALIENCY_E_OPEN;
    }
    if (!S_ISREG(st.st_mode)) {   // the tool opens a directory, then no reader accepts it
        sal_errf(err, "%s: not an image file (%s)", path,
                 S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
        return SALIENCY_E_FORMAT;
    }
    uint8_t *data;
    size_t size;
    if (sal_read_file(path, SALIENCY_MAX_FILE, &data, &size, err)) return SALIENCY_E_OPEN;
    int rc = saliency_load_memory_ex(data, size, path, opts, pixels, img, err);
    free(data);
    return rc;
}

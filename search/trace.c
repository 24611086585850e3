/* trace.c — the --trace writer (see trace.h). */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "npy.h"
#include "png.h"

int trace_open(trace_t *t, const char *dir, sal_err_t *err) {
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    if (sal_mkdir_p(dir, err) < 0) return -1;
    char path[1100];
    snprintf(path, sizeof path, "%s/trace.txt", dir);
    t->txt = fopen(path, "w");
    if (!t->txt) return sal_errf(err, "%s: cannot create", path);
    fprintf(t->txt, "# name\tfile\tshape\tmin\tmax\tmean\tstd\n");
    return 0;
}

void trace_set_prefix(trace_t *t, const char *prefix) {
    snprintf(t->prefix, sizeof t->prefix, "%s", prefix ? prefix : "");
}

/* Gray tiles of the first channels of sample 0 of an (N, C, H, W) tensor,
 * each scaled to its own min..max, nearest-neighbour enlarged to >= 64 px,
 * a label "c<k>" above each and the name on top; 3-channel images
 * (ToRGB, img) get an extra RGB tile (x * 127.5 + 128, as the PNG output). */
static int write_montage(const char *path, const char *name, const int64_t *shape,
                         const float *data, sal_err_t *err) {
    const int C = (int)shape[1], H = (int)shape[2], W = (int)shape[3];
    const int shown = C < TRACE_MONTAGE_CHANNELS ? C : TRACE_MONTAGE_CHANNELS;
    const int rgb = C == 3;
    int zoom = 1;
    while (H * zoom < 64 || W * zoom < 64) zoom++;
    if (H > 256 || W > 256) zoom = 1;
    const int tw = W * zoom, th = H * zoom, label_h = 12, pad = 6, cols = 4;
    const int tiles = shown + rgb, rows = (tiles + cols - 1) / cols;
    const int cw = pad + cols * (tw + pad), ch = 24 + rows * (th + label_h + pad);
    canvas_t cv;
    if (canvas_init(&cv, cw, ch, (rgb8_t){255, 255, 255}, err) < 0) return -1;
    const rgb8_t black = {0, 0, 0};
    canvas_text(&cv, pad, 6, name, 1, black);
    uint8_t *tile = malloc((size_t)tw * th * 3);
    if (!tile) {
        canvas_free(&cv);
        return sal_errf(err, "%s: out of memory", path);
    }
    for (int k = 0; k < tiles; k++) {
        const int x0 = pad + (k % cols) * (tw + pad), y0 = 24 + (k / cols) * (th + label_h + pad);
        char label[64];
        if (k < shown) {
            const float *p = data + (size_t)k * H * W;
            float lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < H * W; i++) {
                if (p[i] < lo) lo = p[i];
                if (p[i] > hi) hi = p[i];
            }
            const float span = hi > lo ? hi - lo : 1.0f;
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++) {
                    const float v = (p[(y / zoom) * W + x / zoom] - lo) / span * 255.0f;
                    const uint8_t g = (uint8_t)(v > 0 ? (v < 255 ? v : 255) : 0);
                    memset(tile + ((size_t)y * tw + x) * 3, g, 3);
                }
            snprintf(label, sizeof label, "c%d", k);   // (its range: trace.txt)
        } else {
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++)
                    for (int c = 0; c < 3; c++) {
                        float v = data[((size_t)c * H + y / zoom) * W + x / zoom] * 127.5f + 128.0f;
                        tile[((size_t)y * tw + x) * 3 + c] = (uint8_t)(v > 0 ? (v < 255 ? v : 255) : 0);
                    }
            snprintf(label, sizeof label, "rgb");
        }
        canvas_text(&cv, x0, y0, label, 1, black);
        canvas_blit(&cv, x0, y0 + label_h, tile, tw, th);
    }
    free(tile);
    int rc = png_save(path, cv.rgb, cv.width, cv.height, 3, err);
    canvas_free(&cv);
    return rc;
}

void trace_hook(void *user, const char *name, int ndim, const int64_t *shape, const float *data) {
    trace_t *t = user;
    if (t->failed) return;
    char full[256], path[1400], shape_txt[128] = "";
    snprintf(full, sizeof full, "%s%s", t->prefix, name);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        n *= (size_t)shape[i];
        size_t len = strlen(shape_txt);
        snprintf(shape_txt + len, sizeof shape_txt - len, "%s%lld", i ? "x" : "", (long long)shape[i]);
    }
    snprintf(path, sizeof path, "%s/%s.npy", t->dir, full);
    if (npy_save(path, DT_F32, ndim, shape, data, &t->err) < 0) {
        t->failed = 1;
        return;
    }
    double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = data[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        sum += v;
    }
    const double mean = n ? sum / (double)n : 0;
    for (size_t i = 0; i < n; i++) sq += (data[i] - mean) * (data[i] - mean);
    fprintf(t->txt, "%s\t%s.npy\t%s\t%.6g\t%.6g\t%.6g\t%.6g\n", full, full, shape_txt, lo, hi, mean,
            n ? sqrt(sq / (double)n) : 0.0);
    t->count++;
    if (ndim == 4 && shape[2] > 1 && shape[3] > 1) {
        snprintf(path, sizeof path, "%s/%s.png", t->dir, full);
        if (write_montage(path, full, shape, data, &t->err) < 0) t->failed = 1;
    }
}

int trace_close(trace_t *t, sal_err_t *err) {
    int rc = 0;
    if (t->txt && fclose(t->txt) != 0 && !t->failed)
        rc = sal_errf(err, "%s/trace.txt: write error", t->dir);
    t->txt = NULL;
    if (t->failed) {
        *err = t->err;
        rc = -1;
    }
    return rc;
}

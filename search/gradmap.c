/* gradmap.c — draws the image-space gradient picture of `salient grad`
 * (see gradmap.h): face | |dL/dpixel| heat, and a colour bar. */
#include "gradmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "heatmap.h"
#include "png.h"

#define GM_MARGIN 12
#define GM_GAP 24
#define GM_TITLE_H 30
#define GM_BAR_H 18
#define GM_FOOT_H 56

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The source box [lo, hi) that output index o of n covers in a side of res. */
static void box_of(int o, int n, int res, int *lo, int *hi) {
    *lo = (int)((long long)o * res / n);
    *hi = (int)((long long)(o + 1) * res / n);
    if (*hi <= *lo) *hi = *lo + 1;   // enlarging: nearest source pixel
}

int gradmap_save(const uint8_t *rgb, const float *dimg, int res, double px, double py,
                 const char *title, const char *path, double *scale_out, sal_err_t *err) {
    const int S = GRADMAP_SIDE;
    const size_t plane = (size_t)res * res;
    float *mag = malloc(sizeof(float) * plane);          // (res, res): |dL/dpixel| over RGB
    float *panel = malloc(sizeof(float) * (size_t)S * S); // (S, S): mag, box-averaged
    float *sorted = malloc(sizeof(float) * (size_t)S * S);
    uint8_t *face = malloc((size_t)S * S * 3);            // (S, S, 3)
    canvas_t cv = {0};
    int rc = 0;
    if (!mag || !panel || !sorted || !face) rc = sal_errf(err, "%s: out of memory", path);
    for (size_t i = 0; rc == 0 && i < plane; i++) {
        double a = dimg[i], b = dimg[plane + i], c = dimg[2 * plane + i];
        mag[i] = (float)sqrt(a * a + b * b + c * c);
    }
    // both panels: box averages of the source (nearest pixel when enlarging)
    for (int oy = 0; rc == 0 && oy < S; oy++) {
        int y0, y1;
        box_of(oy, S, res, &y0, &y1);
        for (int ox = 0; ox < S; ox++) {
            int x0, x1;
            box_of(ox, S, res, &x0, &x1);
            double m = 0, col[3] = {0, 0, 0};
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++) {
                    m += mag[(size_t)y * res + x];
                    for (int c = 0; c < 3; c++) col[c] += rgb[((size_t)y * res + x) * 3 + c];
                }
            const double cnt = (double)(y1 - y0) * (x1 - x0);
            panel[(size_t)oy * S + ox] = (float)(m / cnt);
            for (int c = 0; c < 3; c++) face[((size_t)oy * S + ox) * 3 + c] = (uint8_t)lround(col[c] / cnt);
        }
    }
    // full yellow at the 99.5th percentile, so one extreme pixel does not wash out the rest
    double scale = 0;
    if (rc == 0) {
        memcpy(sorted, panel, sizeof(float) * (size_t)S * S);
        qsort(sorted, (size_t)S * S, sizeof(float), cmp_float);
        scale = sorted[(size_t)((double)S * S * 0.995)];
        if (!(scale > 0)) scale = sorted[(size_t)S * S - 1];
        if (!(scale > 0)) scale = 1;   // an all-zero gradient draws black
        if (scale_out) *scale_out = scale;
    }
    const int W = 2 * GM_MARGIN + 2 * S + GM_GAP, H = GM_TITLE_H + S + GM_FOOT_H + GM_MARGIN;
    if (rc == 0) rc = canvas_init(&cv, W, H, (rgb8_t){255, 255, 255}, err);
    if (rc == 0) {
        const int left = GM_MARGIN, right = GM_MARGIN + S + GM_GAP, top = GM_TITLE_H;
        canvas_text(&cv, GM_MARGIN, 8, title, 2, (rgb8_t){0, 0, 0});
        canvas_blit(&cv, left, top, face, S, S);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                uint8_t col[3];
                heatmap_color(panel[(size_t)y * S + x] / scale, col);
                canvas_pixel(&cv, right + x, top + y, (rgb8_t){col[0], col[1], col[2]});
            }
        if (px >= 0 && py >= 0) {
            const int cx = (int)lround(px * S / res), cy = (int)lround(py * S / res);
            for (int p = 0; p < 2; p++) {
                const int ox = p ? right : left;
                canvas_ring(&cv, ox + cx, top + cy, 9.0, 4.0, (rgb8_t){0, 0, 0});
                canvas_ring(&cv, ox + cx, top + cy, 9.0, 2.0, (rgb8_t){255, 255, 255});
            }
        }
        // colour bar under the gradient panel: 0 .. scale
        const int by = top + S + 10;
        for (int x = 0; x < S; x++) {
            uint8_t col[3];
            heatmap_color((double)x / (S - 1), col);
            canvas_rect(&cv, right + x, by, right + x, by + GM_BAR_H - 1, (rgb8_t){col[0], col[1], col[2]});
        }
        char label[64];
        canvas_text(&cv, right, by + GM_BAR_H + 6, "0", 2, (rgb8_t){0, 0, 0});
        snprintf(label, sizeof label, ">= %.3g", scale);
        canvas_text(&cv, right + S - canvas_text_width(label, 2), by + GM_BAR_H + 6, label, 2, (rgb8_t){0, 0, 0});
        canvas_text(&cv, left, by + 2, "GRADIENT SIZE PER PIXEL (IMAGE IN -1..1)", 2, (rgb8_t){0, 0, 0});
        rc = png_save(path, cv.rgb, W, H, 3, err);
    }
    canvas_free(&cv);
    free(mag);
    free(panel);
    free(sorted);
    free(face);
    return rc;
}

/* heatmap.c — draws a saliency map over its image (see heatmap.h).
 *
 *   picture = image resized so its longest side is in [320, 800]
 *   s(X, Y) = the map bilinearly interpolated between cell centres
 *             (cell (r, c) sits at network-input pixel (16c + 8, 16r + 8))
 *   t       = (s - min) / (max - min)
 *   out     = (1 - a) * gray(picture) + a * colour(t),   a = 0.6
 */
#include "heatmap.h"
#include "canvas.h"
#include "resize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A dark-to-bright colour scale (black-purple-red-orange-yellow, in the spirit
 * of "inferno"): anchors at t = 0, 1/6, ..., 1, linear in between. */
static const uint8_t heatmap_anchors[7][3] = {
    {0, 0, 4}, {40, 11, 84}, {101, 21, 110}, {159, 42, 99},
    {212, 72, 66}, {245, 125, 21}, {252, 255, 164},
};

void heatmap_color(double t, uint8_t rgb[3]) {
    if (!(t > 0.0)) t = 0.0;   // also NaN
    if (t > 1.0) t = 1.0;
    double p = t * 6.0;
    int i = (int)p;
    if (i > 5) i = 5;
    double f = p - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (uint8_t)lround(heatmap_anchors[i][c] * (1.0 - f) + heatmap_anchors[i + 1][c] * f);
}

/* Map value at network-input coordinates (u, v), bilinear between cell centres. */
static double map_at(const saliency_result_t *r, double u, double v) {
    const double half = r->stride / 2.0;
    double cu = (u - half) / r->stride, cv = (v - half) / r->stride;
    if (cu < 0) cu = 0;
    if (cv < 0) cv = 0;
    if (cu > r->map_w - 1) cu = r->map_w - 1;
    if (cv > r->map_h - 1) cv = r->map_h - 1;
    int c0 = (int)cu, r0 = (int)cv;
    int c1 = c0 + 1 < r->map_w ? c0 + 1 : c0, r1 = r0 + 1 < r->map_h ? r0 + 1 : r0;
    double fc = cu - c0, fr = cv - r0;
    const float *m = r->map;
    double top = m[r0 * r->map_w + c0] * (1 - fc) + m[r0 * r->map_w + c1] * fc;
    double bot = m[r1 * r->map_w + c0] * (1 - fc) + m[r1 * r->map_w + c1] * fc;
    return top * (1 - fr) + bot * fr;
}

int heatmap_render(const saliency_result_t *r, const image_u8_t *rgb, image_u8_t *out,
                   sal_err_t *err) {
    memset(out, 0, sizeof *out);
    if (rgb->channels != 3 || !r->map || r->map_w < 1 || r->map_h < 1)
        return sal_errf(err, "heatmap: bad input");
    // picture size: longest side clamped to [HEATMAP_MIN_SIDE, HEATMAP_MAX_SIDE]
    const int longest = rgb->width > rgb->height ? rgb->width : rgb->height;
    const int target = longest < HEATMAP_MIN_SIDE ? HEATMAP_MIN_SIDE
                       : longest > HEATMAP_MAX_SIDE ? HEATMAP_MAX_SIDE : longest;
    const double k = (double)target / longest;
    int W = (int)lround(rgb->width * k), H = (int)lround(rgb->height * k);
    if (W < 1) W = 1;
    if (H < 1) H = 1;
    canvas_t cv;
    if (canvas_init(&cv, W, H, (rgb8_t){0, 0, 0}, err)) return -1;
    if (resize_u8(rgb->pixels, rgb->width, rgb->height, 3, cv.rgb, W, H, err)) {
        canvas_free(&cv);
        return -1;
    }
    float lo = r->map[0], hi = r->map[0];
    for (int i = 1; i < r->map_w * r->map_h; i++) {
        if (r->map[i] < lo) lo = r->map[i];
        if (r->map[i] > hi) hi = r->map[i];
    }
    const double range = hi > lo ? (double)hi - lo : 1.0, a = 0.6;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = cv.rgb + ((size_t)y * W + x) * 3;
            double gray = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            double u = (x + 0.5) * r->in_w / W - 0.5, v = (y + 0.5) * r->in_h / H - 0.5;
            uint8_t col[3];
            heatmap_color((map_at(r, u, v) - lo) / range, col);
            for (int c = 0; c < 3; c++) p[c] = (uint8_t)lround((1 - a) * gray + a * col[c]);
        }
    // the most salient point: a white ring with a black outline
    const int px = (int)lround(r->x * (double)W / r->orig_w);
    const int py = (int)lround(r->y * (double)H / r->orig_h);
    const double rad = fmax(6.0, target / 40.0);
    canvas_ring(&cv, px, py, rad, 4.0, (rgb8_t){0, 0, 0});
    canvas_ring(&cv, px, py, rad, 2.0, (rgb8_t){255, 255, 255});
    canvas_rect(&cv, px - 1, py - 1, px + 1, py + 1, (rgb8_t){255, 255, 255});
    char label[64];
    snprintf(label, sizeof label, "MAX %.4f", (double)r->max);
    const int tw = canvas_text_width(label, 2);
    if (tw + 8 <= W && 22 <= H) {
        canvas_rect(&cv, 0, 0, tw + 7, 21, (rgb8_t){0, 0, 0});
        canvas_text(&cv, 4, 4, label, 2, (rgb8_t){255, 255, 255});
    }
    out->width = W;
    out->height = H;
    out->channels = 3;
    out->pixels = cv.rgb;   // the canvas hands its pixels over
    return 0;
}

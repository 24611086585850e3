/* canvas.h — a small RGB raster for the figures salient draws itself
 * (saliency plots, frame strips): rectangles, lines, and text in a built-in
 * 5x7 bitmap font. No font files, no graphics library. */
#ifndef SALIENT_CANVAS_H
#define SALIENT_CANVAS_H

#include "common.h"

typedef struct canvas {
    int width, height;
    uint8_t *rgb;   /* (H, W, 3) */
} canvas_t;

typedef struct rgb8 { uint8_t r, g, b; } rgb8_t;

int canvas_init(canvas_t *c, int width, int height, rgb8_t background, sal_err_t *err);
void canvas_free(canvas_t *c);
void canvas_pixel(canvas_t *c, int x, int y, rgb8_t col);
void canvas_rect(canvas_t *c, int x0, int y0, int x1, int y1, rgb8_t col);  /* filled, inclusive */
/* A circle of the given radius and line width, centred at (cx, cy), clipped. */
void canvas_ring(canvas_t *c, int cx, int cy, double radius, double width, rgb8_t col);
void canvas_line(canvas_t *c, int x0, int y0, int x1, int y1, int thickness, rgb8_t col);
/* Text with its top-left corner at (x, y); each font pixel is scale x scale.
 * Lower-case letters are drawn as capitals; unknown characters as a box. */
void canvas_text(canvas_t *c, int x, int y, const char *s, int scale, rgb8_t col);
/* Same, rotated 90 degrees counter-clockwise (for a y-axis label), reading
 * upwards from (x, y) = its bottom-left corner. */
void canvas_text_up(canvas_t *c, int x, int y, const char *s, int scale, rgb8_t col);
int canvas_text_width(const char *s, int scale);
/* Copies an RGB image into the canvas at (x, y), clipped. */
void canvas_blit(canvas_t *c, int x, int y, const uint8_t *rgb, int w, int h);

#endif

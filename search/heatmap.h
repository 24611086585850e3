/* heatmap.h — a picture of a saliency map: the image (grayed) with the map
 * laid over it in colour (dark purple = low, yellow = high), the most
 * salient point ringed and the maximum written in the corner. */
#ifndef SALIENT_HEATMAP_H
#define SALIENT_HEATMAP_H

#include "common.h"
#include "png.h"
#include "saliency.h"

#define HEATMAP_MAX_SIDE 800   /* the longest side of the picture, at most */
#define HEATMAP_MIN_SIDE 320   /* small images are enlarged to this */

/* rgb: the source in display orientation (saliency_display_rgb). *out is
 * an RGB image (free with image_free). */
int heatmap_render(const saliency_result_t *r, const image_u8_t *rgb, image_u8_t *out,
                   sal_err_t *err);

/* Colour of t in [0, 1] on the map's colour scale. */
void heatmap_color(double t, uint8_t rgb[3]);

#endif

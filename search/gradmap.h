/* gradmap.h — the picture `salient grad` draws of an image-space gradient:
 * the face on the left, |dL/d(pixel)| on the right in the saliency map's
 * colour scale (dark purple = 0, yellow = the 99.5th percentile and above),
 * the salient point ringed on both, and a labelled colour bar below. */
#ifndef SALIENT_GRADMAP_H
#define SALIENT_GRADMAP_H

#include "common.h"

#define GRADMAP_SIDE 512   /* each panel is scaled to GRADMAP_SIDE x GRADMAP_SIDE */

/* rgb: the face (res, res, 3); dimg: dL/dimg (3, res, res) (NCHW float);
 * (px, py): the salient point in face pixels (negative: none); title: one
 * line above the panels. Written atomically as PNG to path. *scale_out (may
 * be NULL) receives the magnitude drawn as full yellow. */
int gradmap_save(const uint8_t *rgb, const float *dimg, int res, double px, double py,
                 const char *title, const char *path, double *scale_out, sal_err_t *err);

#endif

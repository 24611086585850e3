/* figures.h — the pictures a search run produces: the strip of frames (like
 * the study's figures) and the plot of max saliency per step. Drawn with our
 * own canvas and written as PNG. */
#ifndef SALIENT_FIGURES_H
#define SALIENT_FIGURES_H

#include <stdio.h>

#include "common.h"

/* frames[i]: RGB (h, w, 3). Each frame is scaled to `height` px high and
 * placed left to right with a small gap; written atomically to path. */
int figure_strip(const uint8_t *const *frames, int n, int w, int h, int height,
                 const char *path, sal_err_t *err);

/* values[i] = max saliency after step i (i = 0..n-1; 0 is the original).
 * Draws axes with ticks and labels, the line and its points, and a title. */
int figure_plot(const double *values, int n, const char *title, const char *path,
                sal_err_t *err);

/* The same plot as inline SVG for the report (scales with the page, text
 * stays text): values[i] as the line, plus n_cand candidate scores
 * cand_score[j] of step cand_step[j] as small grey dots beside each step. */
void figure_plot_svg(FILE *f, const double *values, int n, const int *cand_step, const double *cand_score, int n_cand,
                     const char *title);

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target`
 * ticks over [lo, hi]. */
double figure_tick_step(double lo, double hi, int target);
/* Prints v with just enough decimals for the tick step. */
void figure_tick_label(char *buf, size_t len, double v, double step);

#endif

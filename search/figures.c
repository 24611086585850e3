/* figures.c — frame strips and saliency-per-step plots (see figures.h). */
#include "figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "png.h"
#include "resize.h"

#define STRIP_GAP 4

int figure_strip(const uint8_t *const *frames, int n, int w, int h, int height,
                 const char *path, sal_err_t *err) {
    if (n <= 0 || w <= 0 || h <= 0 || height <= 0) return sal_errf(err, "%s: nothing to draw", path);
    int fw = (int)lround((double)w * height / h);
    if (fw < 1) fw = 1;
    canvas_t c;
    rgb8_t white = {255, 255, 255};
    if (canvas_init(&c, n * fw + (n - 1) * STRIP_GAP, height, white, err)) return sal_err_prefix(err, "%s", path);
    uint8_t *small = malloc((size_t)fw * (size_t)height * 3);
    if (!small) {
        canvas_free(&c);
        return sal_errf(err, "%s: out of memory", path);
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = resize_u8(frames[i], w, h, 3, small, fw, height, err);
        if (rc == 0) canvas_blit(&c, i * (fw + STRIP_GAP), 0, small, fw, height);
    }
    if (rc == 0) rc = png_save(path, c.rgb, c.width, c.height, 3, err);
    free(small);
    canvas_free(&c);
    return rc;
}

double figure_tick_step(double lo, double hi, int target) {
    double span = hi - lo;
    if (!(span > 0) || target < 1) return 1;
    double raw = span / target, mag = pow(10, floor(log10(raw))), r = raw / mag;
    double nice = r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10;
    return nice * mag;
}

void figure_tick_label(char *buf, size_t len, double v, double step) {
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    snprintf(buf, len, "%.*f", dec, fabs(v) < step * 1e-6 ? 0.0 : v);
}

int figure_plot(const double *values, int n, const char *title, const char *path,
                sal_err_t *err) {
    if (n <= 0) return sal_errf(err, "%s: no values to plot", path);
    const int W = 520, H = 340, left = 78, right = 20, top = 40, bottom = 56;
    const rgb8_t white = {255, 255, 255}, black = {0, 0, 0}, grid = {225, 225, 225},
                 line = {31, 119, 180}, dot = {214, 39, 40};
    double lo = values[0], hi = values[0];
    for (int i = 1; i < n; i++) {
        lo = values[i] < lo ? values[i] : lo;
        hi = values[i] > hi ? values[i] : hi;
    }
    if (!isfinite(lo) || !isfinite(hi)) return sal_errf(err, "%s: values are not finite", path);
    if (hi - lo < 1e-6) { lo -= 0.5; hi += 0.5; }
    double ystep = figure_tick_step(lo, hi, 5);
    double y0 = floor(lo / ystep) * ystep, y1 = ceil(hi / ystep) * ystep;
    int xmax = n > 1 ? n - 1 : 1;
    canvas_t c;
    if (canvas_init(&c, W, H, white, err)) return sal_err_prefix(err, "%s", path);
    int pw = W - left - right, ph = H - top - bottom;
#define PX(i) (left + (int)lround((double)(i) * pw / xmax))
#define PY(v) (top + ph - (int)lround(((v) - y0) * ph / (y1 - y0)))
    char buf[64];
    /* horizontal grid lines and y ticks */
    for (int k = 0; k <= 1000; k++) {
        double v = y0 + k * ystep;
        if (v > y1 + ystep * 1e-6) break;
        int y = PY(v);
        canvas_line(&c, left, y, left + pw, y, 1, grid);
        canvas_line(&c, left - 5, y, left, y, 1, black);
        figure_tick_label(buf, sizeof buf, v, ystep);
        canvas_text(&c, left - 9 - canvas_text_width(buf, 1), y - 3, buf, 1, black);
    }
    /* x ticks: every step (or every k-th when there are many) */
    int xstep = (int)figure_tick_step(0, xmax, 10);
    if (xstep < 1) xstep = 1;
    for (int i = 0; i <= xmax; i += xstep) {
        int x = PX(i);
        canvas_line(&c, x, top + ph, x, top + ph + 5, 1, black);
        snprintf(buf, sizeof buf, "%d", i);
        canvas_text(&c, x - canvas_text_width(buf, 1) / 2, top + ph + 9, buf, 1, black);
    }
    /* axes */
    canvas_line(&c, left, top, left, top + ph, 2, black);
    canvas_line(&c, left, top + ph, left + pw, top + ph, 2, black);
    /* labels and title */
    canvas_text(&c, left + pw / 2 - canvas_text_width("step", 2) / 2, H - 24, "step", 2, black);
    canvas_text_up(&c, 12, top + ph / 2 + canvas_text_width("max saliency", 2) / 2, "max saliency", 2, black);
    if (title) canvas_text(&c, left + pw / 2 - canvas_text_width(title, 2) / 2, 12, title, 2, black);
    /* the data */
    for (int i = 1; i < n; i++) canvas_line(&c, PX(i - 1), PY(values[i - 1]), PX(i), PY(values[i]), 2, line);
    for (int i = 0; i < n; i++) canvas_rect(&c, PX(i) - 3, PY(values[i]) - 3, PX(i) + 3, PY(values[i]) + 3, dot);
#undef PX
#undef PY
    int rc = png_save(path, c.rgb, c.width, c.height, 3, err);
    canvas_free(&c);
    return rc;
}

void figure_plot_svg(FILE *f, const double *values, int n, const int *cand_step, const double *cand_score, int n_cand,
                     const char *title) {
    const int W = 520, H = 330, left = 70, right = 16, top = 48, bottom = 50;
    const int pw = W - left - right, ph = H - top - bottom;
    if (n <= 0) return;
    double lo = values[0], hi = values[0];
    for (int i = 0; i < n; i++) lo = values[i] < lo ? values[i] : lo, hi = values[i] > hi ? values[i] : hi;
    for (int i = 0; i < n_cand; i++)
        if (isfinite(cand_score[i])) lo = cand_score[i] < lo ? cand_score[i] : lo, hi = cand_score[i] > hi ? cand_score[i] : hi;
    if (!isfinite(lo) || !isfinite(hi)) return;
    if (hi - lo < 1e-6) lo -= 0.5, hi += 0.5;
    double ystep = figure_tick_step(lo, hi, 5);
    double y0 = floor(lo / ystep) * ystep, y1 = ceil(hi / ystep) * ystep;
    int xmax = n > 1 ? n - 1 : 1;
#define SX(i) (left + (double)(i) * pw / xmax)
#define SY(v) (top + ph - ((v) - y0) * ph / (y1 - y0))
    fprintf(f, "<svg viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" font-family=\"sans-serif\" font-size=\"13\">\n", W, H);
    if (title) {
        fprintf(f, "<title>max saliency per step and every candidate's score, ");
        for (const char *s = title; *s; s++) fputc(*s == '<' || *s == '>' || *s == '&' ? ' ' : *s, f);
        fprintf(f, "</title>\n<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">", left + pw / 2);
        for (const char *s = title; *s; s++) fputc(*s == '<' || *s == '>' || *s == '&' ? ' ' : *s, f);
        fprintf(f, "</text>\n");
    }
    char buf[64];
    for (int k = 0; k <= 1000; k++) { /* horizontal grid lines and y ticks */
        double v = y0 + k * ystep;
        if (v > y1 + ystep * 1e-6) break;
        figure_tick_label(buf, sizeof buf, v, ystep);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e1e1e1\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                left, SY(v), left + pw, SY(v), left - 6, SY(v) + 4, buf);
    }
    int xstep = (int)figure_tick_step(0, xmax, 10);
    if (xstep < 1) xstep = 1;
    for (int i = 0; i <= xmax; i += xstep)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n",
                SX(i), top + ph, SX(i), top + ph + 5, SX(i), top + ph + 19, i);
    fprintf(f, "<path d=\"M%d %d V%d H%d\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>\n", left, top, top + ph, left + pw);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n", left + pw / 2, H - 10);
    fprintf(f, "<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">max saliency</text>\n", top + ph / 2);
    /* candidates: small grey dots just left of their step's point */
    if (n_cand > 0) {
        fprintf(f, "<g fill=\"#888\" fill-opacity=\"0.7\">");
        for (int i = 0; i < n_cand; i++)
            if (isfinite(cand_score[i]) && cand_step[i] >= 0 && cand_step[i] < n)
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>", SX(cand_step[i]) - (cand_step[i] > 0 ? 7 : 0),
                        SY(cand_score[i]));
        fprintf(f, "</g>\n");
    }
    fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
    for (int i = 0; i < n; i++) fprintf(f, "%s%.1f,%.1f", i ? " " : "", SX(i), SY(values[i]));
    fprintf(f, "\"/>\n<g fill=\"#d62728\">");
    for (int i = 0; i < n; i++) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>", SX(i), SY(values[i]));
    fprintf(f, "</g>\n");
    /* legend, above the plot area on the right */
    fprintf(f, "<g font-size=\"12\"><circle cx=\"%d\" cy=\"%d\" r=\"3.5\" fill=\"#d62728\"/><text x=\"%d\" y=\"%d\">current face</text>"
               "<circle cx=\"%d\" cy=\"%d\" r=\"2.5\" fill=\"#888\"/><text x=\"%d\" y=\"%d\">candidates</text></g>\n",
            left + pw - 190, top - 14, left + pw - 182, top - 10, left + pw - 82, top - 14, left + pw - 74, top - 10);
    fprintf(f, "</svg>\n");
#undef SX
#undef SY
}

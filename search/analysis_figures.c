/* analysis_figures.c — the pictures and the HTML section of `salient
 * analyze`: the skin mask drawn on one example face, one plot per attribute
 * (every seed's change, arms side by side, paired seeds joined, the mean with
 * its 95% CI), and analysis_section.html / analysis.html (see analysis.h). */
#include "analysis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "figures.h"
#include "png.h"
#include "report.h"
#include "resize.h"

#define MASK_PANEL 384

static void thick_point(canvas_t *c, int x, int y, int r, rgb8_t col) { canvas_rect(c, x - r, y - r, x + r, y + r, col); }

/* The example face (first seed of the first arm, original frame): left the
 * face, right the same with the kept skin pixels tinted green, the zone pixels
 * the colour test dropped tinted red, the face ellipse (yellow), the skin
 * zones (cyan) and the eye / mouth positions of the alignment (magenta). */
static int write_mask_figure(const analysis_t *an, sal_err_t *err) {
    const arm_t *arm = &an->arms[0];
    char path[4300];
    uint32_t seed = an->seeds[0];
    snprintf(path, sizeof path, "%s/seed%04u/step00.png", arm->folder, seed);
    image_u8_t img = {0};
    if (png_load(path, &img, NULL, err)) return -1;
    int w = img.width, h = img.height, rc = 0;
    uint8_t *mask = malloc((size_t)w * (size_t)h), *panel = malloc((size_t)MASK_PANEL * MASK_PANEL * 3);
    canvas_t c = {0};
    if (!mask || !panel) rc = sal_errf(err, "out of memory");
    image_attrs_t at;
    if (rc == 0 && img.channels != 3) rc = sal_errf(err, "%s: expected an RGB image", path);
    if (rc == 0) rc = image_measure(img.pixels, w, h, &at, mask, err);
    if (rc == 0) {
        if (w >= MASK_PANEL) rc = resize_u8(img.pixels, w, h, 3, panel, MASK_PANEL, MASK_PANEL, err);
        else /* nearest neighbour: keep the pixels of small fixture faces visible */
            for (int y = 0; y < MASK_PANEL; y++)
                for (int x = 0; x < MASK_PANEL; x++)
                    memcpy(panel + 3 * ((size_t)y * MASK_PANEL + x),
                           img.pixels + 3 * ((size_t)(y * h / MASK_PANEL) * w + (size_t)(x * w / MASK_PANEL)), 3);
    }
    const int gap = 16, top = 36;
    rgb8_t white = {255, 255, 255}, black = {0, 0, 0};
    if (rc == 0) rc = canvas_init(&c, 2 * MASK_PANEL + gap, MASK_PANEL + top, white, err);
    if (rc == 0) {
        canvas_blit(&c, 0, top, panel, MASK_PANEL, MASK_PANEL);
        for (int y = 0; y < MASK_PANEL; y++)
            for (int x = 0; x < MASK_PANEL; x++) {
                uint8_t *p = panel + 3 * ((size_t)y * MASK_PANEL + x);
                uint8_t m = mask[(size_t)(y * h / MASK_PANEL) * w + (size_t)(x * w / MASK_PANEL)];
                if (m == 2) p[0] = (uint8_t)(p[0] / 2), p[1] = (uint8_t)(p[1] / 2 + 110), p[2] = (uint8_t)(p[2] / 2);
                else if (m == 1) p[0] = (uint8_t)(p[0] / 2 + 120), p[1] = (uint8_t)(p[1] / 2), p[2] = (uint8_t)(p[2] / 2);
            }
        int ox = MASK_PANEL + gap;
        canvas_blit(&c, ox, top, panel, MASK_PANEL, MASK_PANEL);
        const rgb8_t yellow = {255, 220, 0}, cyan = {0, 200, 255}, magenta = {230, 0, 200};
        for (int k = 0; k < 1440; k++) {
            double t = k * 2 * M_PI / 1440;
            int x = ox + (int)lround((FACE_CX + FACE_RX * cos(t)) * MASK_PANEL);
            int y = top + (int)lround((FACE_CY + FACE_RY * sin(t)) * MASK_PANEL);
            thick_point(&c, x, y, 1, yellow);
        }
        for (int z = 0; z < SKIN_ZONES; z++) {
            double r[4];
            face_skin_zone_rect(z, r);
            int x0 = ox + (int)lround(r[0] * MASK_PANEL), y0 = top + (int)lround(r[1] * MASK_PANEL);
            int x1 = ox + (int)lround(r[2] * MASK_PANEL), y1 = top + (int)lround(r[3] * MASK_PANEL);
            canvas_line(&c, x0, y0, x1, y0, 2, cyan);
            canvas_line(&c, x1, y0, x1, y1, 2, cyan);
            canvas_line(&c, x1, y1, x0, y1, 2, cyan);
            canvas_line(&c, x0, y1, x0, y0, 2, cyan);
        }
        const double anchors[3][2] = {{FACE_EYE_LEFT_X, FACE_EYE_Y}, {FACE_EYE_RIGHT_X, FACE_EYE_Y}, {FACE_MOUTH_X, FACE_MOUTH_Y}};
        for (int k = 0; k < 3; k++) {
            int x = ox + (int)lround(anchors[k][0] * MASK_PANEL), y = top + (int)lround(anchors[k][1] * MASK_PANEL);
            canvas_line(&c, x - 8, y, x + 8, y, 2, magenta);
            canvas_line(&c, x, y - 8, x, y + 8, 2, magenta);
        }
        char title[96];
        snprintf(title, sizeof title, "SEED %u: SKIN %.0f%% OF ZONES", seed, 100 * at.skin_share);
        canvas_text(&c, 4, 10, title, 2, black);
        snprintf(path, sizeof path, "%s/analysis_mask.png", an->outdir);
        rc = png_save(path, c.rgb, c.width, c.height, 3, err);
    }
    canvas_free(&c);
    free(mask);
    free(panel);
    image_free(&img);
    return rc;
}

/* A deterministic horizontal jitter in [-1, 1] for seed index s. */
static double jitter(int s) {
    uint32_t x = (uint32_t)s * 2654435761u;
    x ^= x >> 15;
    return ((x & 0xffff) / 65535.0) * 2 - 1;
}

/* Per-seed changes of attribute i, one column per arm. */
static int write_attr_plot(const analysis_t *an, int i, sal_err_t *err) {
    const int col = 170, left = 90, right = 20, top = 44, bottom = 60, H = 400;
    const int W = left + right + col * an->n_arms;
    const rgb8_t white = {255, 255, 255}, black = {0, 0, 0}, grid = {225, 225, 225}, pair = {200, 200, 200},
                 dot = {31, 119, 180}, mean_col = {214, 39, 40};
    double lo = 0, hi = 0;
    for (int a = 0; a < an->n_arms; a++) {
        const stat_summary_t *st = &an->arms[a].stats[i];
        for (int s = 0; s < an->n_seeds; s++) {
            double v = an->arms[a].seeds[s].change[i];
            if (!isfinite(v)) continue;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        if (isfinite(st->mean_lo)) lo = st->mean_lo < lo ? st->mean_lo : lo;
        if (isfinite(st->mean_hi)) hi = st->mean_hi > hi ? st->mean_hi : hi;
    }
    if (hi - lo < 1e-9) lo -= 1, hi += 1;
    double step = figure_tick_step(lo, hi, 5), y0 = floor(lo / step) * step, y1 = ceil(hi / step) * step;
    canvas_t c;
    if (canvas_init(&c, W, H, white, err)) return -1;
    int ph = H - top - bottom;
#define PY(v) (top + ph - (int)lround(((v) - y0) * ph / (y1 - y0)))
    char buf[160];
    for (int k = 0; k <= 1000; k++) {
        double v = y0 + k * step;
        if (v > y1 + step * 1e-6) break;
        int y = PY(v);
        canvas_line(&c, left, y, W - right, y, 1, fabs(v) < step * 1e-6 ? black : grid);
        snprintf(buf, sizeof buf, "%.*f", step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9), fabs(v) < step * 1e-6 ? 0.0 : v);
        canvas_text(&c, left - 8 - canvas_text_width(buf, 2), y - 7, buf, 2, black);
    }
    canvas_line(&c, left, top, left, top + ph, 2, black);
    /* paired seeds joined between neighbouring columns */
    for (int a = 1; a < an->n_arms; a++)
        for (int s = 0; s < an->n_seeds; s++) {
            double u = an->arms[a - 1].seeds[s].change[i], v = an->arms[a].seeds[s].change[i];
            if (!isfinite(u) || !isfinite(v)) continue;
            int xa = left + (a - 1) * col + col / 2 + (int)lround(jitter(s) * col / 6);
            int xb = left + a * col + col / 2 + (int)lround(jitter(s) * col / 6);
            canvas_line(&c, xa, PY(u), xb, PY(v), 1, pair);
        }
    for (int a = 0; a < an->n_arms; a++) {
        int cx = left + a * col + col / 2;
        for (int s = 0; s < an->n_seeds; s++) {
            double v = an->arms[a].seeds[s].change[i];
            if (!isfinite(v)) continue;
            thick_point(&c, cx + (int)lround(jitter(s) * col / 6), PY(v), 3, dot);
        }
        const stat_summary_t *st = &an->arms[a].stats[i];
        if (isfinite(st->mean)) {
            canvas_line(&c, cx - col / 3, PY(st->mean), cx + col / 3, PY(st->mean), 3, mean_col);
            if (isfinite(st->mean_lo)) {
                canvas_line(&c, cx + col / 3, PY(st->mean_lo), cx + col / 3, PY(st->mean_hi), 3, mean_col);
                canvas_line(&c, cx + col / 3 - 6, PY(st->mean_lo), cx + col / 3 + 6, PY(st->mean_lo), 2, mean_col);
                canvas_line(&c, cx + col / 3 - 6, PY(st->mean_hi), cx + col / 3 + 6, PY(st->mean_hi), 2, mean_col);
            }
        }
        snprintf(buf, sizeof buf, "%.12s", an->arms[a].label);
        canvas_text(&c, cx - canvas_text_width(buf, 2) / 2, top + ph + 12, buf, 2, black);
        snprintf(buf, sizeof buf, "N=%d", st->n);
        canvas_text(&c, cx - canvas_text_width(buf, 2) / 2, top + ph + 34, buf, 2, black);
    }
#undef PY
    snprintf(buf, sizeof buf, "CHANGE: %s", ANALYSIS_ATTRS[i].name);
    canvas_text(&c, 8, 12, buf, 2, black);
    char path[4300];
    snprintf(path, sizeof path, "%s/analysis_%s.png", an->outdir, ANALYSIS_ATTRS[i].name);
    int rc = png_save(path, c.rgb, c.width, c.height, 3, err);
    canvas_free(&c);
    return rc;
}

int analysis_write_figures(const analysis_t *an, sal_err_t *err) {
    if (write_mask_figure(an, err)) return -1;
    for (int i = 0; i < A_COUNT; i++)
        if (write_attr_plot(an, i, err)) return -1;
    return 0;
}

static void html_ci(FILE *f, double v, double lo, double hi) {
    char buf[128];
    analysis_format_ci(buf, sizeof buf, v, lo, hi);
    report_html_escape(f, buf);
}

static void write_section(const analysis_t *an, FILE *f) {
    fputs("<section id=\"analysis\">\n<h2>Analysis: measured attributes of the faces</h2>\n", f);
    fprintf(f, "<p>%d seed%s", an->n_seeds, an->n_seeds == 1 ? "" : "s");
    if (an->n_arms > 1) fprintf(f, ", paired by seed number across %d search folders (%d seed folder%s not finished in every folder left out)", an->n_arms, an->dropped, an->dropped == 1 ? "" : "s");
    fputs(". Each number is the change from the original face (step 0) to the final face. CIs: percentile bootstrap; "
          "p: sign-flip permutation test. How each attribute is measured and its weaknesses: docs/analysis.md "
          "in the salient sources.</p>\n<table class=\"arms\">\n<tr><th>arm</th><th>folder</th><th>options</th></tr>\n", f);
    for (int a = 0; a < an->n_arms; a++) {
        fputs("<tr><td>", f);
        report_html_escape(f, an->arms[a].label);
        fputs("</td><td>", f);
        report_html_escape(f, an->arms[a].folder);
        fputs("</td><td>", f);
        report_html_escape(f, an->arms[a].options);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<pre class=\"summary\">", f);
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    if (m) {
        analysis_print_summary(an, m);
        fclose(m);
        report_html_escape(f, buf);
        free(buf);
    }
    fputs("</pre>\n<div class=\"wide\"><table class=\"stats\">\n<tr><th>attribute</th>", f);
    for (int a = 0; a < an->n_arms; a++) {
        fputs("<th>", f);
        report_html_escape(f, an->arms[a].label);
        fputs(": mean change</th><th>median change</th><th>share up</th><th>n</th>", f);
    }
    for (int b = 1; b < an->n_arms; b++) {
        fputs("<th>", f);
        report_html_escape(f, an->arms[0].label);
        fputs(" &minus; ", f);
        report_html_escape(f, an->arms[b].label);
        fputs("</th><th>p</th>", f);
    }
    fputs("</tr>\n", f);
    for (int i = 0; i < A_COUNT; i++) {
        fputs("<tr><td>", f);
        report_html_escape(f, ANALYSIS_ATTRS[i].label);
        fputs("</td>", f);
        for (int a = 0; a < an->n_arms; a++) {
            const stat_summary_t *s = &an->arms[a].stats[i];
            fputs("<td>", f);
            html_ci(f, s->mean, s->mean_lo, s->mean_hi);
            fputs("</td><td>", f);
            html_ci(f, s->median, s->median_lo, s->median_hi);
            if (isfinite(s->share_up)) fprintf(f, "</td><td>%.0f%%</td><td>%d</td>", 100 * s->share_up, s->n);
            else fprintf(f, "</td><td>n/a</td><td>%d</td>", s->n);
        }
        for (int b = 1; b < an->n_arms; b++) {
            const diff_summary_t *d = &an->diffs[b - 1][i];
            fputs("<td>", f);
            html_ci(f, d->mean, d->lo, d->hi);
            if (isfinite(d->p)) fprintf(f, "</td><td>%.3g</td>", d->p);
            else fputs("</td><td>n/a</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n<h3>Where the salient point sits (first face &rarr; final face)</h3>\n"
          "<div class=\"wide\"><table class=\"regions\">\n<tr><th>arm</th>", f);
    for (int r = 0; r < REGION_COUNT; r++) fprintf(f, "<th>%s</th>", face_region_name((face_region_t)r));
    fputs("</tr>\n", f);
    for (int a = 0; a < an->n_arms; a++) {
        fputs("<tr><td>", f);
        report_html_escape(f, an->arms[a].label);
        fputs("</td>", f);
        for (int r = 0; r < REGION_COUNT; r++)
            fprintf(f, "<td>%d &rarr; %d</td>", an->arms[a].region_counts[0][r], an->arms[a].region_counts[1][r]);
        fputs("</tr>\n", f);
    }
    fprintf(f, "</table></div>\n<h3>The skin mask on one face (seed %u, original)</h3>\n"
               "<p>Green: pixels measured as skin; red: pixels of the fixed skin zones (cyan) that the colour test "
               "dropped (hair, glasses, background); yellow: the face ellipse; magenta: where the FFHQ alignment puts "
               "the eyes and the mouth centre.</p>\n"
               "<img class=\"mask\" src=\"analysis_mask.png\" alt=\"skin mask on seed %u\">\n"
               "<h3>Change per seed (dots; paired seeds joined), mean and 95%% CI (red)</h3>\n<div class=\"plots\">\n",
            an->seeds[0], an->seeds[0]);
    for (int i = 0; i < A_COUNT; i++) {
        fprintf(f, "<img src=\"analysis_%s.png\" alt=\"change of ", ANALYSIS_ATTRS[i].name);
        report_html_escape(f, ANALYSIS_ATTRS[i].label);
        fputs("\">\n", f);
    }
    fputs("</div>\n<p>Data: <a href=\"analysis.csv\">analysis.csv</a> (one row per seed and arm), "
          "<a href=\"analysis_steps.csv\">analysis_steps.csv</a> (per step), "
          "<a href=\"analysis.json\">analysis.json</a> (aggregates).</p>\n</section>\n", f);
}

static const char SECTION_STYLE[] =
    "#analysis table{border-collapse:collapse;font-size:.9em;margin:.5em 0}\n"
    "#analysis td,#analysis th{border:1px solid #ccc;padding:.2em .4em;text-align:left;vertical-align:top}\n"
    "#analysis .wide{overflow-x:auto;max-width:100%}\n"
    "#analysis pre.summary{white-space:pre-wrap;font-size:.9em;background:#f6f6f6;padding:.5em}\n"
    "#analysis img{max-width:100%;height:auto}\n"
    "#analysis .plots img{width:min(100%,520px);margin:.2em .5em .2em 0;vertical-align:top}\n";

int analysis_write_html(const analysis_t *an, sal_err_t *err) {
    char path[4300];
    sal_atomic_t at;
    /* the section's style as a stylesheet: <link rel=stylesheet> may stand in
     * the body, where index.html puts the section */
    snprintf(path, sizeof path, "%s/analysis.css", an->outdir);
    if (sal_write_file_atomic(path, SECTION_STYLE, strlen(SECTION_STYLE), err)) return -1;
    snprintf(path, sizeof path, "%s/analysis_section.html", an->outdir);
    if (sal_atomic_begin(&at, path, err)) return -1;
    fputs("<link rel=\"stylesheet\" href=\"analysis.css\">\n", at.f);
    write_section(an, at.f);
    if (sal_atomic_end(&at, 1, err)) return -1;

    snprintf(path, sizeof path, "%s/analysis.html", an->outdir);
    if (sal_atomic_begin(&at, path, err)) return -1;
    fprintf(at.f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<title>salient: analysis</title>\n<link rel=\"stylesheet\" href=\"analysis.css\">\n"
                  "<style>\nbody{font-family:sans-serif;margin:2em;color:#222}\n</style>\n</head>\n<body>\n");
    write_section(an, at.f);
    fputs("</body>\n</html>\n", at.f);
    return sal_atomic_end(&at, 1, err);
}

/* attributes.c — colour maths, aligned-face regions, skin test and per-image
 * measurements (see attributes.h; the reasoning is in docs/analysis.md). */
#include "attributes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* sRGB (linear) -> XYZ, D65; rows X, Y, Z. */
static const double SRGB_TO_XYZ[3][3] = {
    {0.4124564, 0.3575761, 0.1804375},
    {0.2126729, 0.7151522, 0.0721750},
    {0.0193339, 0.1191920, 0.9503041},
};

double srgb_to_linear(double c) {
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

double cielab_f(double t) {
    const double eps = 216.0 / 24389.0, kappa = 24389.0 / 27.0;
    return t > eps ? cbrt(t) : (kappa * t + 16.0) / 116.0;
}

void linear_rgb_to_xyz(const double rgb[3], double xyz[3]) {
    for (int i = 0; i < 3; i++)
        xyz[i] = SRGB_TO_XYZ[i][0] * rgb[0] + SRGB_TO_XYZ[i][1] * rgb[1] + SRGB_TO_XYZ[i][2] * rgb[2];
}

void xyz_to_lab(const double xyz[3], double lab[3]) {
    /* the white point is M * (1, 1, 1), so sRGB white is exactly L*=100, a*=b*=0 */
    double f[3];
    for (int i = 0; i < 3; i++) {
        double white = SRGB_TO_XYZ[i][0] + SRGB_TO_XYZ[i][1] + SRGB_TO_XYZ[i][2];
        f[i] = cielab_f(xyz[i] / white);
    }
    lab[0] = 116.0 * f[1] - 16.0;
    lab[1] = 500.0 * (f[0] - f[1]);
    lab[2] = 200.0 * (f[1] - f[2]);
}

void srgb8_to_lab(const uint8_t rgb[3], double lab[3]) {
    double lin[3], xyz[3];
    for (int i = 0; i < 3; i++) lin[i] = srgb_to_linear(rgb[i] / 255.0);
    linear_rgb_to_xyz(lin, xyz);
    xyz_to_lab(xyz, lab);
}

double ita_degrees(double L, double b) { return atan2(L - 50.0, b) * 180.0 / M_PI; }

double hue_degrees(double a, double b) {
    double h = atan2(b, a) * 180.0 / M_PI;
    return h < 0 ? h + 360.0 : h;
}

void image_to_lab(const uint8_t *rgb, size_t n, float *L, float *a, float *b) {
    double lut[256];
    for (int i = 0; i < 256; i++) lut[i] = srgb_to_linear(i / 255.0);
    for (size_t p = 0; p < n; p++) {
        double lin[3] = {lut[rgb[3 * p]], lut[rgb[3 * p + 1]], lut[rgb[3 * p + 2]]}, xyz[3], lab[3];
        linear_rgb_to_xyz(lin, xyz);
        xyz_to_lab(xyz, lab);
        L[p] = (float)lab[0];
        a[p] = (float)lab[1];
        b[p] = (float)lab[2];
    }
}

/* ---- regions ---- */

static int in_rect(double u, double v, double u0, double v0, double u1, double v1) {
    return u >= u0 && u < u1 && v >= v0 && v < v1;
}

static double ellipse_r2(double u, double v, double cx, double cy, double rx, double ry) {
    double du = (u - cx) / rx, dv = (v - cy) / ry;
    return du * du + dv * dv;
}

int face_in_ellipse(double u, double v) { return ellipse_r2(u, v, FACE_CX, FACE_CY, FACE_RX, FACE_RY) <= 1.0; }

/* [u0, v0, u1, v1]: forehead, left cheek, right cheek, nose bridge, chin. */
static const double SKIN_ZONE_RECTS[SKIN_ZONES][4] = {
    {0.40, 0.31, 0.60, 0.39},
    {0.31, 0.55, 0.43, 0.68},
    {0.57, 0.55, 0.69, 0.68},
    {0.46, 0.51, 0.54, 0.62},
    {0.44, 0.82, 0.56, 0.87},
};

void face_skin_zone_rect(int zone, double rect[4]) {
    if (zone < 0 || zone >= SKIN_ZONES) zone = 0;
    memcpy(rect, SKIN_ZONE_RECTS[zone], sizeof SKIN_ZONE_RECTS[zone]);
}

int face_in_skin_zone(double u, double v, int *zone) {
    for (int z = 0; z < SKIN_ZONES; z++) {
        const double *r = SKIN_ZONE_RECTS[z];
        if (in_rect(u, v, r[0], r[1], r[2], r[3])) {
            if (zone) *zone = z;
            return 1;
        }
    }
    return 0;
}

face_region_t face_region_of(double u, double v) {
    if (in_rect(u, v, 0.27, 0.40, 0.73, 0.53)) return REGION_EYES;
    if (in_rect(u, v, 0.38, 0.53, 0.62, 0.82)) return REGION_NOSE_MOUTH;
    if (face_in_ellipse(u, v)) return REGION_FACE_OTHER;
    /* the head ellipse (centre (0.5, 0.5), semi-axes 0.36, 0.44) above the mouth line */
    if (v < FACE_MOUTH_Y && ellipse_r2(u, v, 0.5, 0.5, 0.36, 0.44) <= 1.0) return REGION_HAIR;
    return REGION_BACKGROUND;
}

const char *face_region_name(face_region_t r) {
    static const char *names[REGION_COUNT] = {"eyes", "nose_mouth", "face_other", "hair", "background"};
    return (unsigned)r < REGION_COUNT ? names[r] : "?";
}

/* ---- measurement ---- */

static int cmp_float(const void *x, const void *y) {
    float a = *(const float *)x, b = *(const float *)y;
    return a < b ? -1 : a > b;
}

/* Median of v[0..n-1] (sorts v); the mean of the two middle values for even n. */
static double median_sorting(float *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_float);
    return n % 2 ? v[n / 2] : 0.5 * ((double)v[n / 2 - 1] + v[n / 2]);
}

int image_measure(const uint8_t *rgb, int w, int h, image_attrs_t *out, uint8_t *skin_mask,
                  sal_err_t *err) {
    if (w < 3 || h < 3) return sal_errf(err, "image of %dx%d is too small to measure", w, h);
    size_t n = (size_t)w * (size_t)h;
    float *L = malloc(n * sizeof *L), *A = malloc(n * sizeof *A), *B = malloc(n * sizeof *B);
    float *tmp = malloc(n * sizeof *tmp);
    uint8_t *mask = skin_mask ? skin_mask : malloc(n);
    if (!L || !A || !B || !tmp || !mask) {
        free(L), free(A), free(B), free(tmp);
        if (!skin_mask) free(mask);
        return sal_errf(err, "out of memory");
    }
    image_to_lab(rgb, n, L, A, B);
    const double nan = NAN;
    image_attrs_t r = {nan, nan, nan, nan, nan, nan, nan, 0, nan, nan};

    /* face ellipse: brightness and contrast (two-pass mean and variance) */
    double sum = 0, ss = 0;
    size_t nf = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (face_in_ellipse((x + 0.5) / w, (y + 0.5) / h)) {
                sum += L[(size_t)y * w + x];
                nf++;
            }
    if (nf > 0) {
        double mean = sum / (double)nf;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (face_in_ellipse((x + 0.5) / w, (y + 0.5) / h)) {
                    double d = L[(size_t)y * w + x] - mean;
                    ss += d * d;
                }
        r.face_brightness = mean;
        r.face_contrast = sqrt(ss / (double)nf);
    }

    /* skin zones, absolute colour test */
    size_t nz = 0, na = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t p = (size_t)y * w + x;
            mask[p] = 0;
            if (!face_in_skin_zone((x + 0.5) / w, (y + 0.5) / h, NULL)) continue;
            nz++;
            double C = hypot(A[p], B[p]), hue = hue_degrees(A[p], B[p]);
            int ok = L[p] >= SKIN_L_MIN && L[p] <= SKIN_L_MAX && C >= SKIN_C_MIN && hue >= SKIN_H_MIN &&
                     hue <= SKIN_H_MAX;
            mask[p] = ok ? 2 : 1;
            na += ok;
        }
    /* relative test: Delta E76 to the median colour of the absolute survivors */
    size_t ns = 0;
    if (na > 0) {
        double med[3];
        float *planes[3] = {L, A, B};
        for (int c = 0; c < 3; c++) {
            size_t k = 0;
            for (size_t p = 0; p < n; p++)
                if (mask[p] == 2) tmp[k++] = planes[c][p];
            med[c] = median_sorting(tmp, k);
        }
        for (size_t p = 0; p < n; p++) {
            if (mask[p] != 2) continue;
            double dl = L[p] - med[0], da = A[p] - med[1], db = B[p] - med[2];
            if (sqrt(dl * dl + da * da + db * db) > SKIN_DE_MAX) mask[p] = 1;
            else ns++;
        }
    }
    r.skin_share = nz ? (double)ns / (double)nz : 0.0;
    if (ns > 0 && r.skin_share >= SKIN_MIN_SHARE) {
        double med[3];
        float *planes[3] = {L, A, B};
        for (int c = 0; c < 3; c++) {
            size_t k = 0;
            for (size_t p = 0; p < n; p++)
                if (mask[p] == 2) tmp[k++] = planes[c][p];
            med[c] = median_sorting(tmp, k);
        }
        r.skin_L = med[0];
        r.skin_a = med[1];
        r.skin_b = med[2];
        r.skin_ita = ita_degrees(med[0], med[2]);
        r.skin_hue = hue_degrees(med[1], med[2]);
        r.skin_chroma = hypot(med[1], med[2]);
        /* texture: high-pass of L* = L* minus its 3x3 box mean, RMS over skin
         * pixels whose whole 3x3 neighbourhood is skin (so the edges of the
         * zones and of occluders do not count as texture) */
        double hp2 = 0;
        size_t nt = 0;
        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++) {
                size_t p = (size_t)y * w + x;
                if (mask[p] != 2) continue;
                double m = 0;
                int all_skin = 1;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        size_t q = p + (ptrdiff_t)dy * w + dx;
                        all_skin &= mask[q] == 2;
                        m += L[q];
                    }
                if (!all_skin) continue;
                double d = L[p] - m / 9.0;
                hp2 += d * d;
                nt++;
            }
        if (nt > 0) r.skin_texture = sqrt(hp2 / (double)nt);
    }
    *out = r;
    free(L), free(A), free(B), free(tmp);
    if (!skin_mask) free(mask);
    return 0;
}

int image_mean_delta_e(const uint8_t *rgb0, const uint8_t *rgb1, int w, int h, double *inside,
                       double *outside, sal_err_t *err) {
    double lut[256];
    for (int i = 0; i < 256; i++) lut[i] = srgb_to_linear(i / 255.0);
    double si = 0, so = 0;
    size_t ni = 0, no = 0;
    if (w <= 0 || h <= 0) return sal_errf(err, "empty image");
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t p = 3 * ((size_t)y * w + x);
            double l0[3] = {lut[rgb0[p]], lut[rgb0[p + 1]], lut[rgb0[p + 2]]};
            double l1[3] = {lut[rgb1[p]], lut[rgb1[p + 1]], lut[rgb1[p + 2]]}, xyz[3], a[3], b[3];
            linear_rgb_to_xyz(l0, xyz);
            xyz_to_lab(xyz, a);
            linear_rgb_to_xyz(l1, xyz);
            xyz_to_lab(xyz, b);
            double d = sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
            if (face_in_ellipse((x + 0.5) / w, (y + 0.5) / h)) si += d, ni++;
            else so += d, no++;
        }
    *inside = ni ? si / (double)ni : NAN;
    *outside = no ? so / (double)no : NAN;
    return 0;
}

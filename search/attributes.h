/* attributes.h — objective attributes of a generated face, measured from its
 * 8-bit sRGB pixels: the colour maths (sRGB -> linear -> XYZ -> CIELAB, D65),
 * the face and skin regions fixed by the FFHQ alignment, the skin-colour test,
 * and the per-image numbers `salient analyze` compares between the first and
 * the final face of a search. docs/analysis.md explains every choice.
 *
 * Colour constants (IEC 61966-2-1 sRGB, CIE 15):
 *   sRGB decode: c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055)^2.4
 *   XYZ = M * rgb_linear, M = the sRGB -> XYZ (D65) matrix to 7 decimals
 *   white (Xn, Yn, Zn) = M * (1, 1, 1) = (0.95047, 1.0000001, 1.08883): D65
 *   f(t) = t^(1/3) if t > eps else (kappa t + 16) / 116,
 *   eps = 216/24389, kappa = 24389/27 (the exact CIE constants)
 *   L* = 116 f(Y/Yn) - 16, a* = 500 (f(X/Xn) - f(Y/Yn)), b* = 200 (f(Y/Yn) - f(Z/Zn))
 *   ITA = atan2(L* - 50, b*) * 180/pi; h_ab = atan2(b*, a*) * 180/pi in [0, 360);
 *   C*ab = sqrt(a*^2 + b*^2)
 */
#ifndef SALIENT_ATTRIBUTES_H
#define SALIENT_ATTRIBUTES_H

#include "common.h"

/* ---- colour ---- */
double srgb_to_linear(double c);                  /* c in [0, 1] */
double cielab_f(double t);
void xyz_to_lab(const double xyz[3], double lab[3]);
void linear_rgb_to_xyz(const double rgb[3], double xyz[3]);
void srgb8_to_lab(const uint8_t rgb[3], double lab[3]);
double ita_degrees(double L, double b);           /* atan2(L - 50, b) in degrees */
double hue_degrees(double a, double b);           /* [0, 360) */
/* Converts n pixels (RGB interleaved) to L*, a*, b* planes (float). */
void image_to_lab(const uint8_t *rgb, size_t n, float *L, float *a, float *b);

/* ---- the aligned-face geometry (fractions of the image width / height) ---- */
/* Landmarks of an FFHQ-aligned face, derived in docs/analysis.md. */
#define FACE_EYE_Y 0.472
#define FACE_EYE_LEFT_X 0.375
#define FACE_EYE_RIGHT_X 0.625
#define FACE_MOUTH_X 0.5
#define FACE_MOUTH_Y 0.75
/* The face ellipse: centre (0.5, 0.58), semi-axes 0.25 (x) and 0.33 (y). */
#define FACE_CX 0.5
#define FACE_CY 0.58
#define FACE_RX 0.25
#define FACE_RY 0.33

/* Where a point (u, v) = ((x + 0.5) / w, (y + 0.5) / h) sits. */
typedef enum face_region {
    REGION_EYES = 0,       /* the band of both eyes and brows */
    REGION_NOSE_MOUTH,     /* nose, mouth, upper lip */
    REGION_FACE_OTHER,     /* rest of the face ellipse: forehead, cheeks, chin */
    REGION_HAIR,           /* the ring around the face ellipse, above the mouth: hair, ears */
    REGION_BACKGROUND,     /* everything else */
    REGION_COUNT
} face_region_t;

face_region_t face_region_of(double u, double v);
const char *face_region_name(face_region_t r);
/* 1 if (u, v) is inside the face ellipse. */
int face_in_ellipse(double u, double v);
/* 1 if (u, v) lies in one of the fixed skin zones (forehead, cheeks, nose
 * bridge, chin); *zone (may be NULL) gets its index 0..SKIN_ZONES-1. */
#define SKIN_ZONES 5
int face_in_skin_zone(double u, double v, int *zone);
/* The zone rectangles [u0, v0, u1, v1] (for drawing). */
void face_skin_zone_rect(int zone, double rect[4]);

/* The skin-colour test applied inside the zones (docs/analysis.md):
 * absolute: L* in [SKIN_L_MIN, SKIN_L_MAX], C*ab >= SKIN_C_MIN,
 *           h_ab in [SKIN_H_MIN, SKIN_H_MAX] degrees (red-orange-yellow);
 * relative: Delta E76 to the zones' median colour (over the pixels passing
 *           the absolute test) <= SKIN_DE_MAX. */
#define SKIN_L_MIN 10.0
#define SKIN_L_MAX 98.0
#define SKIN_C_MIN 4.0
#define SKIN_H_MIN 5.0
#define SKIN_H_MAX 105.0
#define SKIN_DE_MAX 25.0
/* A face needs at least this share of the zone pixels as skin, else its skin
 * attributes are not measured (NaN). */
#define SKIN_MIN_SHARE 0.10

/* Per-image attributes (NaN when not measurable). */
typedef struct image_attrs {
    double skin_L, skin_a, skin_b;     /* medians over the skin pixels */
    double skin_ita, skin_hue, skin_chroma;
    double skin_texture;               /* RMS of L* minus its 3x3 mean, over skin pixels with 3x3 skin neighbours */
    double skin_share;                 /* skin pixels / zone pixels */
    double face_brightness;            /* mean L* inside the face ellipse */
    double face_contrast;              /* standard deviation of L* inside the face ellipse */
} image_attrs_t;

/* Measures one RGB (h, w, 3) image. skin_mask (w*h bytes, may be NULL) gets
 * 2 for kept skin pixels, 1 for zone pixels the colour test dropped, 0 else. */
int image_measure(const uint8_t *rgb, int w, int h, image_attrs_t *out, uint8_t *skin_mask,
                  sal_err_t *err);

/* Mean Delta E76 between two same-size RGB images, inside and outside the face
 * ellipse. */
int image_mean_delta_e(const uint8_t *rgb0, const uint8_t *rgb1, int w, int h, double *inside,
                       double *outside, sal_err_t *err);

#endif

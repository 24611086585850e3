/* test_attributes.c — the colour maths against published CIELAB values, ITA
 * and hue against their closed forms, the aligned-face regions, and the skin
 * mask / attributes on synthetic faces whose skin regions are known. */
#include <math.h>

#include "attributes.h"
#include "check.h"

/* Paints every pixel of the skin zones with col (the rest stays as is). */
static void paint_zones(uint8_t *img, int w, int h, const uint8_t col[3]) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (face_in_skin_zone((x + 0.5) / w, (y + 0.5) / h, NULL)) memcpy(img + 3 * ((size_t)y * w + x), col, 3);
}

static void fill(uint8_t *img, int w, int h, const uint8_t col[3]) {
    for (int p = 0; p < w * h; p++) memcpy(img + 3 * p, col, 3);
}

int main(void) {
    test_ctx_t t = test_begin("attributes");

    /* --- published sRGB -> CIELAB (D65) values. They are given to 2
     * decimals (e.g. Wikipedia "CIELAB color space" / EasyRGB / Lindbloom's
     * calculator: red 53.24 80.09 67.20, green 87.73 -86.18 83.18, blue
     * 32.30 79.19 -107.86, sRGB 50% gray (128) L* 53.59), so the tolerance is
     * half a unit of the last published digit. */
    struct { uint8_t rgb[3]; double lab[3]; } ref[] = {
        {{255, 0, 0}, {53.24, 80.09, 67.20}},
        {{0, 255, 0}, {87.73, -86.18, 83.18}},
        {{0, 0, 255}, {32.30, 79.19, -107.86}},
        {{128, 128, 128}, {53.59, 0, 0}},
        {{0, 0, 0}, {0, 0, 0}},
        {{255, 255, 255}, {100, 0, 0}},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        double lab[3];
        srgb8_to_lab(ref[i].rgb, lab);
        for (int c = 0; c < 3; c++)
            CHECK(&t, fabs(lab[c] - ref[i].lab[c]) <= 0.005 + 1e-9, "rgb (%d,%d,%d) channel %d: %.5f, published %.2f",
                  ref[i].rgb[0], ref[i].rgb[1], ref[i].rgb[2], c, lab[c], ref[i].lab[c]);
    }
    /* white and black are exact by construction */
    {
        double lab[3];
        srgb8_to_lab((const uint8_t[3]){255, 255, 255}, lab);
        CHECK(&t, fabs(lab[0] - 100) < 1e-9 && fabs(lab[1]) < 1e-9 && fabs(lab[2]) < 1e-9, "white: %g %g %g", lab[0], lab[1], lab[2]);
    }
    /* published to more digits: the sRGB curve at 0.5 is 0.214041 (IEC
     * 61966-2-1), L* of 18% grey is 49.496 (CIE 15), L* of Y = 0.5 is 76.069;
     * the CIE linear segment meets the cube root at Y = 216/24389 with
     * L* = 8 (kappa * eps = 8). */
    CHECK(&t, fabs(srgb_to_linear(0.5) - 0.214041) < 1e-6, "srgb 0.5 -> %.7f", srgb_to_linear(0.5));
    CHECK(&t, fabs(srgb_to_linear(0.04045) - 0.04045 / 12.92) < 1e-12, "linear segment");
    CHECK(&t, fabs(116 * cielab_f(0.18) - 16 - 49.496) < 1e-3, "L*(0.18) = %.5f", 116 * cielab_f(0.18) - 16);
    CHECK(&t, fabs(116 * cielab_f(0.5) - 16 - 76.069) < 1e-3, "L*(0.5) = %.5f", 116 * cielab_f(0.5) - 16);
    double e = 216.0 / 24389.0;
    CHECK(&t, fabs(116 * cielab_f(e) - 16 - 8.0) < 1e-9 && fabs(116 * cielab_f(e * (1 + 1e-9)) - 16 - 8.0) < 1e-6,
          "L* continuous at eps: %.9f", 116 * cielab_f(e) - 16);

    /* --- ITA and hue: closed forms */
    CHECK(&t, fabs(ita_degrees(100, 0) - 90) < 1e-12, "ITA(L=100, b=0) = 90");
    CHECK(&t, fabs(ita_degrees(50, 20)) < 1e-12, "ITA(L=50) = 0");
    CHECK(&t, fabs(ita_degrees(65, 15) - 45) < 1e-12, "ITA(65, 15) = 45: %g", ita_degrees(65, 15));
    CHECK(&t, fabs(ita_degrees(35, 15) + 45) < 1e-12, "ITA(35, 15) = -45");
    /* Chardon's categories: ITA > 55 very light ... < -30 dark; L*=70, b*=14
     * gives atan(20/14) = 55.0080 deg */
    CHECK(&t, fabs(ita_degrees(70, 14) - 55.0080) < 1e-3, "ITA(70, 14) = %.4f", ita_degrees(70, 14));
    CHECK(&t, fabs(hue_degrees(1, 1) - 45) < 1e-12 && fabs(hue_degrees(-1, 0) - 180) < 1e-12 &&
                  fabs(hue_degrees(0, -1) - 270) < 1e-12,
          "hue angles");

    /* --- regions: the alignment's landmarks fall where they should */
    CHECK(&t, face_region_of(FACE_EYE_LEFT_X, FACE_EYE_Y) == REGION_EYES, "left eye");
    CHECK(&t, face_region_of(FACE_EYE_RIGHT_X, FACE_EYE_Y) == REGION_EYES, "right eye");
    CHECK(&t, face_region_of(FACE_MOUTH_X, FACE_MOUTH_Y) == REGION_NOSE_MOUTH, "mouth");
    CHECK(&t, face_region_of(0.5, 0.62) == REGION_NOSE_MOUTH, "nose");
    CHECK(&t, face_region_of(0.36, 0.62) == REGION_FACE_OTHER, "cheek");
    CHECK(&t, face_region_of(0.5, 0.12) == REGION_HAIR, "top of the head");
    CHECK(&t, face_region_of(0.2, 0.45) == REGION_HAIR, "beside the face");
    CHECK(&t, face_region_of(0.03, 0.03) == REGION_BACKGROUND && face_region_of(0.1, 0.95) == REGION_BACKGROUND, "corners");
    /* every skin zone lies inside the face ellipse and outside the eye band and the mouth */
    for (int z = 0; z < SKIN_ZONES; z++) {
        double r[4];
        face_skin_zone_rect(z, r);
        int inside = face_in_ellipse(r[0], r[1]) && face_in_ellipse(r[2], r[1]) && face_in_ellipse(r[0], r[3]) &&
                     face_in_ellipse(r[2], r[3]);
        CHECK(&t, inside, "zone %d leaves the face ellipse", z);
        CHECK(&t, !(r[1] < 0.50 && r[3] > 0.44) && !(r[0] < 0.59 && r[2] > 0.41 && r[1] < 0.78 && r[3] > 0.72),
              "zone %d covers an eye or the mouth", z);
    }

    /* --- synthetic faces with known skin regions (64x64) */
    enum { W = 64, H = 64 };
    static uint8_t img[W * H * 3];
    static uint8_t mask[W * H];
    const uint8_t blue[3] = {30, 60, 200}, skin[3] = {224, 172, 140}, dark_skin[3] = {96, 62, 44},
                  hair[3] = {40, 28, 22}, glass[3] = {200, 200, 200};
    image_attrs_t a;
    double lab_skin[3], lab_dark[3];
    srgb8_to_lab(skin, lab_skin);
    srgb8_to_lab(dark_skin, lab_dark);

    /* 1: skin exactly in the zones, blue elsewhere: every zone pixel kept, the
     * skin attributes are the patch's own Lab values */
    fill(img, W, H, blue);
    paint_zones(img, W, H, skin);
    CHECK(&t, image_measure(img, W, H, &a, mask, NULL) == 0, "measure");
    int zone_px = 0, kept = 0, outside_kept = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int z = face_in_skin_zone((x + 0.5) / W, (y + 0.5) / H, NULL);
            zone_px += z;
            kept += mask[y * W + x] == 2;
            outside_kept += !z && mask[y * W + x] != 0;
        }
    CHECK(&t, zone_px > 100 && kept == zone_px && outside_kept == 0, "zones %d, kept %d, outside %d", zone_px, kept, outside_kept);
    CHECK(&t, fabs(a.skin_share - 1) < 1e-12, "share %g", a.skin_share);
    CHECK(&t, fabs(a.skin_L - lab_skin[0]) < 1e-4 && fabs(a.skin_b - lab_skin[2]) < 1e-4, "skin L %g b %g vs %g %g", a.skin_L,
          a.skin_b, lab_skin[0], lab_skin[2]);
    CHECK(&t, fabs(a.skin_ita - ita_degrees(lab_skin[0], lab_skin[2])) < 1e-3, "ita");
    CHECK(&t, fabs(a.skin_chroma - hypot(lab_skin[1], lab_skin[2])) < 1e-3, "chroma");
    CHECK(&t, fabs(a.skin_texture) < 1e-6, "flat skin has texture %g", a.skin_texture);

    /* 2: dark skin is kept as well (the test is not a light-skin detector) */
    fill(img, W, H, blue);
    paint_zones(img, W, H, dark_skin);
    image_measure(img, W, H, &a, mask, NULL);
    CHECK(&t, fabs(a.skin_share - 1) < 1e-12 && fabs(a.skin_L - lab_dark[0]) < 1e-4, "dark skin: share %g L %g (want %g)",
          a.skin_share, a.skin_L, lab_dark[0]);

    /* 3: hair over the left cheek, glasses (grey) and background over the
     * forehead: those pixels are dropped (mask 1), the rest kept, and the skin
     * colour is unchanged */
    fill(img, W, H, blue);
    paint_zones(img, W, H, skin);
    int dropped_ok = 1, n_bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double u = (x + 0.5) / W, v = (y + 0.5) / H;
            int z = -1;
            if (!face_in_skin_zone(u, v, &z)) continue;
            uint8_t *p = img + 3 * (y * W + x);
            if (z == 1) memcpy(p, hair, 3), n_bad++;
            else if (z == 0 && u < 0.5) memcpy(p, glass, 3), n_bad++;
            else if (z == 0) memcpy(p, blue, 3), n_bad++;
        }
    image_measure(img, W, H, &a, mask, NULL);
    kept = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *p = img + 3 * (y * W + x);
            int is_skin = !memcmp(p, skin, 3);
            if (!face_in_skin_zone((x + 0.5) / W, (y + 0.5) / H, NULL)) continue;
            if ((mask[y * W + x] == 2) != is_skin) dropped_ok = 0;
            kept += mask[y * W + x] == 2;
        }
    CHECK(&t, dropped_ok, "hair / glasses / background pixels in the zones must be dropped and skin kept");
    CHECK(&t, kept == zone_px - n_bad && fabs(a.skin_share - (double)kept / zone_px) < 1e-12, "kept %d of %d", kept, zone_px);
    CHECK(&t, fabs(a.skin_L - lab_skin[0]) < 1e-4, "skin L* with occluders %g, want %g", a.skin_L, lab_skin[0]);

    /* 4: no skin at all: skin attributes are NaN, the face numbers still exist */
    fill(img, W, H, blue);
    image_measure(img, W, H, &a, mask, NULL);
    CHECK(&t, isnan(a.skin_L) && isnan(a.skin_ita) && a.skin_share == 0, "blue image: skin L %g share %g", a.skin_L, a.skin_share);
    double lab_blue[3];
    srgb8_to_lab(blue, lab_blue);
    CHECK(&t, fabs(a.face_brightness - lab_blue[0]) < 1e-4 && fabs(a.face_contrast) < 1e-4, "face brightness %g contrast %g",
          a.face_brightness, a.face_contrast);

    /* 5: texture of a checkerboard of two skin tones: at each pixel the 3x3
     * mean is (5 v + 4 w) / 9, so the high-pass is 4 (v - w) / 9 everywhere */
    {
        const uint8_t s1[3] = {210, 160, 130}, s2[3] = {196, 146, 116};
        double l1[3], l2[3];
        srgb8_to_lab(s1, l1);
        srgb8_to_lab(s2, l2);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) memcpy(img + 3 * (y * W + x), (x + y) % 2 ? s1 : s2, 3);
        image_measure(img, W, H, &a, mask, NULL);
        double want = 4 * fabs(l1[0] - l2[0]) / 9;
        CHECK(&t, fabs(a.skin_texture - want) < 1e-4, "checkerboard texture %g, want %g", a.skin_texture, want);
        CHECK(&t, fabs(a.face_contrast - fabs(l1[0] - l2[0]) / 2) < 0.05, "checkerboard contrast %g", a.face_contrast);
    }

    /* --- Delta E inside / outside the face: change only the outside */
    {
        static uint8_t img2[W * H * 3];
        fill(img, W, H, skin);
        memcpy(img2, img, sizeof img2);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (!face_in_ellipse((x + 0.5) / W, (y + 0.5) / H)) memcpy(img2 + 3 * (y * W + x), blue, 3);
        double in, out, want;
        image_mean_delta_e(img, img2, W, H, &in, &out, NULL);
        want = sqrt(pow(lab_skin[0] - lab_blue[0], 2) + pow(lab_skin[1] - lab_blue[1], 2) + pow(lab_skin[2] - lab_blue[2], 2));
        CHECK(&t, in == 0 && fabs(out - want) < 1e-9, "delta E inside %g outside %g (want 0, %g)", in, out, want);
    }
    CHECK(&t, image_measure(img, 2, 2, &a, NULL, &(sal_err_t){{0}}) != 0, "a 2x2 image is refused");
    return test_end(&t);
}

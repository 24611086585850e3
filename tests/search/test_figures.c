/* test_figures.c — the drawing code behind strip.png / plot.png, the
 * resizer it uses, and the JSON reader used by resume and report. */
#include "canvas.h"
#include "check.h"
#include "figures.h"
#include "json.h"
#include "png.h"
#include "resize.h"

static int count_color(const uint8_t *rgb, int w, int h, int r, int g, int b) {
    int n = 0;
    for (int i = 0; i < w * h; i++) n += rgb[3 * i] == r && rgb[3 * i + 1] == g && rgb[3 * i + 2] == b;
    return n;
}

int main(void) {
    test_ctx_t t = test_begin("figures");
    sal_err_t err = {{0}};
    char path[1400];

    /* tick steps are 1, 2 or 5 times a power of ten */
    CHECK(&t, figure_tick_step(3.55, 4.79, 5) == 0.2, "step %g", figure_tick_step(3.55, 4.79, 5));
    CHECK(&t, figure_tick_step(0, 5, 10) == 0.5, "step %g", figure_tick_step(0, 5, 10));
    CHECK(&t, figure_tick_step(0, 100, 5) == 20, "step %g", figure_tick_step(0, 100, 5));
    CHECK(&t, fabs(figure_tick_step(1.0, 1.003, 5) - 0.0005) < 1e-12, "step %g", figure_tick_step(1.0, 1.003, 5));

    /* text: '1' has 10 lit font pixels, drawn at scale 2 -> 40 pixels */
    canvas_t c;
    rgb8_t white = {255, 255, 255}, black = {0, 0, 0};
    CHECK(&t, canvas_init(&c, 40, 20, white, &err) == 0, "%s", err.msg);
    canvas_text(&c, 1, 1, "1", 2, black);
    CHECK(&t, count_color(c.rgb, 40, 20, 0, 0, 0) == 40, "glyph pixels %d", count_color(c.rgb, 40, 20, 0, 0, 0));
    CHECK(&t, canvas_text_width("12", 2) == 22, "width %d", canvas_text_width("12", 2));
    /* a diagonal line of thickness 1 lights exactly max(dx,dy)+1 pixels */
    canvas_rect(&c, 0, 0, 39, 19, white);
    canvas_line(&c, 0, 0, 19, 9, 1, black);
    CHECK(&t, count_color(c.rgb, 40, 20, 0, 0, 0) == 20, "line pixels %d", count_color(c.rgb, 40, 20, 0, 0, 0));
    canvas_free(&c);
    CHECK(&t, canvas_init(&c, 0, 5, white, &err) != 0, "zero-size canvas accepted");

    /* resize: constant stays constant; 2x downscale averages 2x2 blocks;
     * enlarging then shrinking by the same factor returns the original */
    uint8_t src[4 * 4 * 3], dst[2 * 2 * 3], big[8 * 8 * 3], back[4 * 4 * 3];
    for (int i = 0; i < 48; i++) src[i] = 77;
    CHECK(&t, resize_u8(src, 4, 4, 3, dst, 2, 2, &err) == 0, "%s", err.msg);
    int same = 1;
    for (int i = 0; i < 12; i++) same &= dst[i] == 77;
    CHECK(&t, same, "constant image changed by resize");
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            for (int k = 0; k < 3; k++) src[(y * 4 + x) * 3 + k] = (uint8_t)(((x + y) % 2) * 200);
    CHECK(&t, resize_u8(src, 4, 4, 3, dst, 2, 2, &err) == 0, "%s", err.msg);
    /* a triangle filter of radius 2 weighs the covered 2x2 block 3:1 against
     * its neighbours: a 0/200 checkerboard lands within a few levels of 100 */
    same = 1;
    for (int i = 0; i < 12; i++) same &= abs(dst[i] - 100) <= 5;
    CHECK(&t, same, "2x2 checkerboard did not average to ~100 (got %d)", dst[0]);
    /* enlarging a horizontal ramp by 2 is linear interpolation inside */
    uint8_t ramp[8 * 1 * 1], ramp2[16];
    for (int i = 0; i < 8; i++) ramp[i] = (uint8_t)(i * 16);
    CHECK(&t, resize_u8(ramp, 8, 1, 1, ramp2, 16, 1, &err) == 0, "%s", err.msg);
    CHECK(&t, ramp2[5] == 36 && ramp2[6] == 44, "ramp interpolation %d %d", ramp2[5], ramp2[6]);
    for (int i = 0; i < 48; i++) src[i] = (uint8_t)(i * 5);
    CHECK(&t, resize_u8(src, 4, 4, 3, big, 8, 8, &err) == 0 && resize_u8(big, 8, 8, 3, back, 4, 4, &err) == 0, "%s", err.msg);
    int maxd = 0;
    for (int i = 0; i < 48; i++) maxd = abs(back[i] - src[i]) > maxd ? abs(back[i] - src[i]) : maxd;
    CHECK(&t, maxd <= 20, "up/down round trip off by %d", maxd);
    CHECK(&t, resize_u8(src, 0, 4, 3, dst, 2, 2, &err) != 0, "bad size accepted");

    /* plot and strip files: sizes and content */
    double vals[6] = {3.5501, 3.9, 4.1, 4.3, 4.6, 4.7940};
    test_tmp(&t, "plot.png", path, sizeof path);
    CHECK(&t, figure_plot(vals, 6, "seed 0", path, &err) == 0, "%s", err.msg);
    image_u8_t img = {0};
    png_info_t info;
    CHECK(&t, png_load(path, &img, &info, &err) == 0, "%s", err.msg);
    if (img.pixels) {
        CHECK(&t, img.width == 520 && img.height == 340 && img.channels == 3, "plot %dx%dx%d", img.width, img.height, img.channels);
        CHECK(&t, count_color(img.pixels, img.width, img.height, 214, 39, 40) >= 6 * 30, "data points missing");
        CHECK(&t, count_color(img.pixels, img.width, img.height, 0, 0, 0) > 500, "axes/labels missing");
        image_free(&img);
    }
    CHECK(&t, figure_plot(vals, 0, NULL, path, &err) != 0, "empty plot accepted");
    uint8_t f0[10 * 20 * 3], f1[10 * 20 * 3];
    memset(f0, 10, sizeof f0);
    memset(f1, 250, sizeof f1);
    const uint8_t *frames[2] = {f0, f1};
    test_tmp(&t, "strip.png", path, sizeof path);
    CHECK(&t, figure_strip(frames, 2, 20, 10, 200, path, &err) == 0, "%s", err.msg);
    CHECK(&t, png_load(path, &img, &info, &err) == 0, "%s", err.msg);
    if (img.pixels) {
        CHECK(&t, img.width == 2 * 400 + 4 && img.height == 200, "strip %dx%d", img.width, img.height);
        CHECK(&t, img.pixels[0] == 10 && img.pixels[3 * (img.width - 1)] == 250, "frames not in order");
        image_free(&img);
    }

    /* JSON */
    const char *doc = "{\"seed\": 3, \"start\": 3.5501, \"name\": \"a\\\"b\\u0041\", \"list\": [1, 2, {\"x\": null}], \"ok\": true}";
    json_t j;
    CHECK(&t, json_parse(doc, strlen(doc), "r.json", &j, &err) == 0, "%s", err.msg);
    CHECK(&t, json_num(&j, "seed", -1) == 3 && json_num(&j, "start", 0) == 3.5501, "numbers");
    CHECK(&t, strcmp(json_str(&j, "name", ""), "a\"bA") == 0, "string '%s'", json_str(&j, "name", ""));
    const json_t *list = json_get(&j, "list");
    CHECK(&t, list && list->type == JSON_ARRAY && list->n == 3 && json_get(&list->items[2], "x")->type == JSON_NULL, "array");
    CHECK(&t, json_num(&j, "ok", 0) == 1, "bool");
    json_free(&j);
    const char *bad[] = {"{", "{\"a\" 1}", "[1,]", "\"abc", "{\"a\":1} x", "nul", "[1e]", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(&t, json_parse(bad[i], strlen(bad[i]), "bad.json", &j, &err) != 0 && strncmp(err.msg, "bad.json:", 9) == 0,
              "bad JSON '%s' accepted or unnamed error '%s'", bad[i], err.msg);
    }
    char deep[300];
    memset(deep, '[', sizeof deep);
    CHECK(&t, json_parse(deep, sizeof deep, "deep.json", &j, &err) != 0, "deep nesting accepted");
    return test_end(&t);
}

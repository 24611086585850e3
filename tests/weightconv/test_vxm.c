/* test_vxm.c — the .vxm reader (weightconv/vxm.c): the real fastgaze.vxm
 * converts to the expected blob; small hand-built models check each rule;
 * damaged files (truncated at many points, flipped bytes, wrong magic,
 * duplicate keys, bad lengths, inconsistent shapes) fail cleanly. */
#include "check.h"
#include "vxm_build.h"

#include <stdint.h>

#include "blob.h"
#include "fastgaze.h"
#include "netload.h"
#include "vxm.h"

/* Hand-built models (no fixture needed): the good one, then each defect. */
static void hand_built(test_ctx_t *t) {
    sal_err_t err = {{0}};
    blob_t *b = NULL;
    /* hand-built models: the good one, then each defect */
    vbuf_t v;
    tiny_model(&v, 0);
    CHECK(t, vxm_blob_from_memory(v.p, v.n, "tiny", &b, &err) == 0, "%s", err.msg);
    if (b) {
        fg_model_t m;
        CHECK(t, fg_load(&m, b, &err) == 0, "%s", err.msg);
        CHECK(t, m.n_layers == 4 && m.stride == 2 && m.layer[2].k == 1 && m.layer[2].slope == 0.25f &&
                      m.layer[3].kind == FG_IGNORED, "tiny structure");
        /* forward on a 3x3x5 input, checked by hand for one output */
        float in[3 * 3 * 5];
        for (int i = 0; i < 45; i++) in[i] = (float)(i % 4) - 1.0f;
        arena_t a;
        arena_init(&a, fg_arena_bytes(&m, 3, 5));
        float *map;
        int oh, ow;
        CHECK(t, fg_forward(&m, in, 3, 5, &a, &map, &oh, &ow, &err) == 0 && oh == 2 && ow == 3,
              "tiny forward %dx%d", ow, oh);
        /* by hand: conv0 at every pixel, pool, then 1x1 + leaky */
        float c[2][3][5];
        for (int o = 0; o < 2; o++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 5; x++) {
                    double s = 0;
                    for (int ci = 0; ci < 3; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int yy = y + ky - 1, xx = x + kx - 1;
                                if (yy < 0 || yy >= 3 || xx < 0 || xx >= 5) continue;
                                s += (double)((((o * 3 + ci) * 9 + ky * 3 + kx) * 7) % 11 - 5) / 8.0 *
                                     in[(ci * 3 + yy) * 5 + xx];
                            }
                    s += o == 0 ? 0.5 : -0.25;
                    c[o][y][x] = (float)(s > 0 ? s : 0);
                }
        int ok = 1;
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++) {
                float p[2];
                for (int o = 0; o < 2; o++) {
                    p[o] = 0;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            if (2 * y + dy < 3 && 2 * x + dx < 5 && c[o][2 * y + dy][2 * x + dx] > p[o])
                                p[o] = c[o][2 * y + dy][2 * x + dx];
                }
                double v = 1.0 * p[0] - 2.0 * p[1] + 0.125;
                if (v < 0) v *= 0.25;
                ok &= fabs(map[y * 3 + x] - v) < 1e-5;
            }
        CHECK(t, ok, "tiny forward values");
        arena_free(&a);
        fg_free(&m);
        blob_close(b);
    }
    free(v.p);
    const char *why[12] = {NULL, "layerCount", "activation", "input channels", "3x3",
                           "float32 values", "float32", "layer type", "alpha", "twice",
                           "unexpected bytes", NULL};
    for (int f = 1; f <= 11; f++) {
        tiny_model(&v, f);
        b = NULL;
        int rc = vxm_blob_from_memory(v.p, v.n, "tiny", &b, &err);
        if (f == 11) CHECK(t, rc == 0, "fault 11 (unused key) should pass: %s", err.msg);
        else CHECK(t, rc != 0 && strstr(err.msg, why[f]), "fault %d: '%s'", f, rc ? err.msg : "accepted");
        blob_close(b);
        free(v.p);
    }
}

/* A file that is no saliency model, given where one is expected (--model,
 * --saliency): the message says what a saliency model is. */
static void test_wrong_file(test_ctx_t *t, const char *vxm_path) {
    char text[1200], pkl[1200];
    test_tmp(t, "notes.txt", text, sizeof text);
    FILE *f = fopen(text, "w");
    if (f) { fputs("some notes\n", f); fclose(f); }
    test_shared(t, "fixtures/stylegan2/tiny/tiny.pkl", pkl, sizeof pkl);
    netload_options_t sal = {.saliency = 1};
    blob_t *b = NULL;
    sal_err_t err = {{0}};
    int rc = netload_open_ex(text, &sal, &b, &err);
    CHECK(t, rc < 0 && strstr(err.msg, "notes.txt: not a saliency model") && strstr(err.msg, "fastgaze.vxm"),
          "text file as saliency model: '%s'", err.msg);
    rc = netload_open_ex(pkl, &sal, &b, &err);
    CHECK(t, rc < 0 && strstr(err.msg, "tiny.pkl: looks like a PyTorch pickle (a network file), not a saliency model"),
          "network as saliency model: '%s'", err.msg);
    rc = netload_open(text, &b, &err);  /* a caller that does not say what it wants */
    CHECK(t, rc < 0 && strstr(err.msg, "neither a network") && strstr(err.msg, "nor a saliency model (fastgaze.vxm or its blob)"),
          "text file, no expectation: '%s'", err.msg);
    /* text starting with 'c' is no protocol-0 GLOBAL ("cmodule\nname\n") */
    f = fopen(text, "w");
    if (f) { fputs("cat these notes, please\n", f); fclose(f); }
    rc = netload_open_ex(text, &sal, &b, &err);
    CHECK(t, rc < 0 && strstr(err.msg, "notes.txt: not a saliency model (unknown file format)"),
          "text starting with 'c': '%s'", err.msg);
    CHECK(t, netload_detect((const uint8_t *)"ctorch._utils\n_rebuild_tensor_v2\n", 33) == NETLOAD_PYTORCH &&
                 netload_detect((const uint8_t *)"cat notes\n", 10) == NETLOAD_UNKNOWN,
          "protocol-0 GLOBAL sniffing");
    rc = netload_open_ex(vxm_path, &sal, &b, &err);
    CHECK(t, rc == 1 && b, "fastgaze.vxm as saliency model: %s", err.msg);
    blob_close(b);
}

int main(void) {
    test_ctx_t t = test_begin("vxm");
    hand_built(&t);
    if (!test_need_shared(&t, "data/fastgaze.vxm")) return test_end(&t);
    sal_err_t err = {{0}};
    char path[2048], out_path[4096];
    test_shared(&t, "data/fastgaze.vxm", path, sizeof path);
    size_t size = 0;
    uint8_t *data = test_read_raw(path, &size);
    CHECK(&t, data && size == 489616, "read %s", path);
    test_wrong_file(&t, path);
    if (!data) return test_end(&t);

    /* the real model */
    vxm_db_t db;
    CHECK(&t, vxm_parse(data, size, path, &db, &err) == 0, "%s", err.msg);
    CHECK(&t, db.count == 239, "239 entries, got %d", db.count);
    const vxm_entry_t *e = vxm_find(&db, "14alpha");
    CHECK(&t, e && e->len == 4 && memcmp(e->value, "\x9a\xa3\x8c\x3e", 4) == 0, "14alpha bytes");
    vxm_db_free(&db);

    blob_t *b = NULL;
    CHECK(&t, vxm_blob_from_memory(data, size, path, &b, &err) == 0, "%s", err.msg);
    if (b) {
        const char *arch = NULL;
        int64_t n = 0;
        CHECK(&t, blob_get_str(b, "arch", &arch, &err) == 0 && !strcmp(arch, "fastgaze"), "arch");
        CHECK(&t, blob_get_int(b, "fastgaze.layers", &n, &err) == 0 && n == 19, "19 layers");
        const int64_t s0[4] = {43, 3, 3, 3}, s14[4] = {7, 10, 1, 1}, s17[4] = {1, 2, 1, 1};
        const float *w;
        CHECK(&t, blob_get_f32(b, "layer.0.weight", 4, s0, &w, &err) == 0, "%s", err.msg);
        CHECK(&t, blob_get_f32(b, "layer.14.weight", 4, s14, &w, &err) == 0, "%s", err.msg);
        CHECK(&t, blob_get_f32(b, "layer.17.weight", 4, s17, &w, &err) == 0 &&
                      memcmp(w, "\x10V&\xbe\x87V\xe0>", 8) == 0, "layer 17 weights");
        double slope = 0;
        CHECK(&t, blob_get_float(b, "layer.14.slope", &slope, &err) == 0 &&
                      (float)slope == 0x1.194734p-2f, "slope 14 = %.9g", slope);
        const char *ty = NULL;
        CHECK(&t, blob_get_str(b, "layer.18.type", &ty, &err) == 0 && !strcmp(ty, "ignored"), "layer 18");
        CHECK(&t, blob_get_str(b, "layer.11.type", &ty, &err) == 0 && !strcmp(ty, "maxpool"), "layer 11");
        fg_model_t m;
        CHECK(&t, fg_load(&m, b, &err) == 0, "%s", err.msg);
        CHECK(&t, m.n_layers == 19 && m.stride == 16 && m.c_out == 1 && m.layer[1].c_in == 43 &&
                      m.layer[17].act == ACT_LRELU && m.layer[0].act == ACT_RELU,
              "fastgaze structure");
        fg_free(&m);
    }
    /* the file converter gives the same tensors */
    test_tmp(&t, "fastgaze.blob", out_path, sizeof out_path);
    blob_t *b2 = NULL;
    CHECK(&t, vxm_convert_file(path, out_path, &err) == 0, "%s", err.msg);
    CHECK(&t, blob_open(&b2, out_path, 1, &err) == 0, "%s", err.msg);
    if (b && b2) {
        int same = blob_tensor_count(b) == blob_tensor_count(b2) && blob_tensor_count(b) == 28;   // 14 convs x (weight, bias)
        for (int i = 0; same && i < blob_tensor_count(b); i++) {
            const blob_tensor_t *x = blob_tensor_at(b, i), *y = blob_tensor_find(b2, x->name);
            same = y && x->nbytes == y->nbytes && memcmp(x->t.data, y->t.data, x->nbytes) == 0;
        }
        CHECK(&t, same, "file and memory conversions differ (or not 28 tensors)");
    }
    blob_close(b2);
    blob_close(b);

    /* truncations: never accepted, never crash */
    int rejected = 0, tried = 0;
    for (size_t cut = 0; cut < size; cut += cut < 400 ? 1 : 997) {
        blob_t *bb = NULL;
        tried++;
        if (vxm_blob_from_memory(data, cut, "cut", &bb, &err) != 0) rejected++;
        blob_close(bb);
    }
    CHECK(&t, rejected == tried, "%d of %d truncations accepted", tried - rejected, tried);
    /* flipped bytes in the structure: either rejected or a valid model, never a crash */
    for (size_t pos = 0; pos < 2000; pos += 3) {
        uint8_t *c = malloc(size);
        memcpy(c, data, size);
        c[pos] ^= 0xA5;
        blob_t *bb = NULL;
        if (vxm_blob_from_memory(c, size, "flip", &bb, &err) == 0) {
            fg_model_t m;
            if (fg_load(&m, bb, &err) == 0) fg_free(&m);
        }
        blob_close(bb);
        free(c);
    }
    CHECK(&t, vxm_blob_from_memory((const uint8_t *)"not a model\n", 12, "text", &b, &err) != 0 &&
                  strstr(err.msg, "magic"), "text file: %s", err.msg);
    uint8_t *c0 = malloc(size);
    memcpy(c0, data, size);
    c0[0] = 0x00;   // "\0tPM" is read the same way
    CHECK(&t, vxm_blob_from_memory(c0, size, "magic0", &b, &err) == 0, "%s", err.msg);
    blob_close(b);
    c0[0] = 0x01;
    c0[4] = 0xff; c0[5] = 0xff; c0[6] = 0xff; c0[7] = 0x7f;   // absurd count
    CHECK(&t, vxm_blob_from_memory(c0, size, "count", &b, &err) != 0, "huge count accepted");
    free(c0);
    free(data);

    return test_end(&t);
}

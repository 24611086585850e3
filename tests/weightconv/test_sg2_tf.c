/* test_sg2_tf.c — TensorFlow StyleGAN2(-ADA) pickles -> blob, on the real
 * fixtures in ../shared/fixtures/stylegan2-tf.
 *
 *  - tiny_tf.pkl, small_tf.pkl (ADA layout) and tiny_sg2_tf.pkl (original
 *    StyleGAN2 layout) convert; their tensors are bit-identical to those of
 *    the PyTorch fixtures tiny.pkl / small.pkl (NVIDIA's converter gives the
 *    same, FORMAT.md §5), and --use-G gives tiny.pkl's G;
 *  - independent path: for every Gs variable listed in *.variables.txt the
 *    raw float32 payload is read straight from the file at the listed offset
 *    and the documented transform (transpose, flip + transpose, +1, copy) is
 *    applied here and compared with the converted tensor;
 *  - config: conv_clamp 256 for the ADA files, 0 (None) for the original
 *    StyleGAN2 layout; channel_base = 2 * fmap_base;
 *  - corrupted files (truncations, flips), a conditional net, a StyleGAN v1
 *    state version and a forbidden global give one-line errors.
 */
#include <stdint.h>

#include "blob.h"
#include "check.h"
#include "netload.h"
#include "wc_input.h"

static blob_t *open_net(test_ctx_t *t, const char *rel, int use_G) {
    char path[4096];
    blob_t *b = NULL;
    sal_err_t err;
    netload_options_t o = {.use_G = use_G};
    int rc = netload_open_ex(test_shared(t, rel, path, sizeof path), &o, &b, &err);
    CHECK(t, rc == 1, "%s: %s", rel, err.msg);
    return rc == 1 ? b : NULL;
}

static int same_tensors(const blob_t *a, const blob_t *b) {
    if (!a || !b || blob_tensor_count(a) != blob_tensor_count(b)) return 0;
    for (int i = 0; i < blob_tensor_count(a); i++) {
        const blob_tensor_t *x = blob_tensor_at(a, i), *y = blob_tensor_at(b, i);
        if (strcmp(x->name, y->name) || x->nbytes != y->nbytes || memcmp(x->t.data, y->t.data, x->nbytes)) return 0;
    }
    return 1;
}

/* Compares every converted Gs tensor with the raw payload + transform of variables.txt. */
static void check_payloads(test_ctx_t *t, const char *pkl, const char *vars, const blob_t *b) {
    char path[4096];
    size_t n = 0;
    uint8_t *file = test_read_raw(test_shared(t, pkl, path, sizeof path), &n);
    FILE *f = fopen(test_shared(t, vars, path, sizeof path), "r");
    CHECK(t, file && f, "read %s / %s", pkl, vars);
    if (!file || !f) { free(file); if (f) fclose(f); return; }
    char line[1024];
    int checked = 0, good = 0;
    while (fgets(line, sizeof line, f)) {
        int idx;
        char net[16], comp[32], tfn[128], leg[128], shape[64], dt[16], op[32], pt[160], tr[64];
        long long off, nb;
        if (line[0] == '#' || sscanf(line, "%d %15s %31s %127s %127s %63s %15s %lld %lld %31s %159s <- %63s", &idx, net,
                                     comp, tfn, leg, shape, dt, &off, &nb, op, pt, tr) != 12)
            continue;
        if (strcmp(net, "Gs") != 0 || strncmp(pt, "G_ema:", 6) != 0) continue;
        const blob_tensor_t *bt = blob_tensor_find(b, pt + 6);
        int64_t dims[4] = {1, 1, 1, 1};
        int nd = 0;
        for (char *s = shape + 1; *s && *s != ']' && nd < 4;) {
            dims[nd++] = strtoll(s, &s, 10);
            if (*s == ',') s++;
        }
        if (!bt || off < 0 || (size_t)(off + nb) > n || (int64_t)nb != (int64_t)bt->nbytes) {
            CHECK(t, 0, "%s: %s -> %s: missing or wrong size", pkl, leg, pt);
            continue;
        }
        const float *P = bt->t.data;
        size_t cnt = (size_t)nb / 4;
        float *T = malloc(nb ? (size_t)nb : 1);
        memcpy(T, file + off, (size_t)nb);
        int ok = 1;
        if (!strcmp(tr, "copy") || !strcmp(tr, "[0]") || !strcmp(tr, "[0,0]")) {
            for (size_t i = 0; i < cnt; i++) ok &= P[i] == T[i];
        } else if (!strcmp(tr, "+1")) {
            for (size_t i = 0; i < cnt; i++) ok &= P[i] == T[i] + 1.0f;
        } else if (!strcmp(tr, "transpose()") && nd == 2) {
            for (int64_t i = 0; i < dims[0]; i++)
                for (int64_t j = 0; j < dims[1]; j++) ok &= P[j * dims[0] + i] == T[i * dims[1] + j];
        } else if ((!strcmp(tr, "transpose(3,2,0,1)") || !strcmp(tr, "[::-1,::-1].transpose(3,2,0,1)")) && nd == 4) {
            int flip = tr[0] == '[';
            int64_t KH = dims[0], KW = dims[1], I = dims[2], O = dims[3];
            for (int64_t o = 0; o < O; o++)
                for (int64_t i = 0; i < I; i++)
                    for (int64_t y = 0; y < KH; y++)
                        for (int64_t x = 0; x < KW; x++) {
                            int64_t sy = flip ? KH - 1 - y : y, sx = flip ? KW - 1 - x : x;
                            ok &= P[((o * I + i) * KH + y) * KW + x] == T[((sy * KW + sx) * I + i) * O + o];
                        }
        } else {
            ok = 0;
            printf("  unknown transform %s\n", tr);
        }
        if (!ok) CHECK(t, ok, "%s: %s -> %s (%s) differs from the raw payload", pkl, leg, pt, tr);
        good += ok;
        checked++;
        free(T);
    }
    fclose(f);
    free(file);
    CHECK(t, checked >= 75 && good == checked, "%s: %d of %d Gs variables match their payloads", pkl, good, checked);
    printf("  %-24s %d Gs variables checked against raw payloads\n", pkl, checked);
}

static int convert_mem(const uint8_t *d, size_t n, sal_err_t *err) {
    wc_input_t in;
    if (wc_input_from_memory(&in, d, n, "x.pkl", err)) return -1;
    blob_writer_t *w = blob_writer_new();
    int rc = netload_convert(&in, NULL, w, err);
    blob_writer_free(w);
    wc_input_close(&in);
    return rc;
}

static int one_line(const sal_err_t *e) { return !strchr(e->msg, '\n') && !strncmp(e->msg, "x.pkl: ", 7); }

static void check_corrupt(test_ctx_t *t) {
    char path[4096];
    size_t n = 0;
    uint8_t *pk = test_read_raw(test_shared(t, "fixtures/stylegan2-tf/tiny_tf.pkl", path, sizeof path), &n);
    CHECK(t, pk != NULL, "read tiny_tf.pkl");
    if (!pk) return;
    sal_err_t err;
    int ok = 0, total = 0;
    for (int k = 0; k < 120; k++) {
        size_t cut = k < 60 ? (size_t)k * 1009 % 40000 : (size_t)((double)(k - 60) / 60 * (double)n);
        total++;
        ok += convert_mem(pk, cut, &err) < 0 && one_line(&err);
    }
    CHECK(t, ok == total, "truncated tiny_tf.pkl: %d of %d one-line errors", ok, total);
    uint8_t *c = malloc(n);
    uint64_t s = 88172645463325252ull;
    int bad = 0, failed = 0;
    for (int k = 0; k < 150; k++) {
        memcpy(c, pk, n);
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        size_t at = k % 2 ? s % 4000 + 1479000 : s % n;  /* half of them in Gs's header */
        c[at % n] ^= (uint8_t)(1u << (s >> 60 & 7));
        if (convert_mem(c, n, &err) < 0) {
            failed++;
            bad += !one_line(&err);
        }
    }
    CHECK(t, bad == 0, "flipped tiny_tf.pkl: %d of %d errors malformed", bad, failed);
    printf("  corrupted tiny_tf.pkl: %d truncations rejected, %d of 150 flipped files rejected\n", ok, failed);

    /* Gs's own state: version 5 -> 3 (StyleGAN v1), label_size 0 -> 2 (conditional) */
    const uint8_t *gs = memmem(pk, n, "X\x02\x00\x00\x00Gs", 7);
    CHECK(t, gs && gs - pk > 4 && gs[-4] == 'K' && gs[-3] == 5, "found Gs's version");
    if (gs) {
        size_t at = (size_t)(gs - pk);
        memcpy(c, pk, n);
        c[at - 3] = 3;
        CHECK(t, convert_mem(c, n, &err) < 0 && strstr(err.msg, "version 3") && strstr(err.msg, "not supported") && one_line(&err),
              "v1: %s", err.msg);
        uint8_t *lab = memmem(pk + at, 200, "h\nK\x00", 4);  /* 'label_size' key from the memo, then 0 */
        CHECK(t, lab != NULL, "found Gs's label_size");
        if (lab) {
            memcpy(c, pk, n);
            c[lab - pk + 3] = 2;
            CHECK(t, convert_mem(c, n, &err) < 0 && strstr(err.msg, "conditional models (label_size 2)") && one_line(&err),
                  "conditional: %s", err.msg);
        }
    }
    /* the Network class swapped for os.system */
    uint8_t *g = memmem(pk, n, "cdnnlib.tflib.network\nNetwork\n", 30);
    CHECK(t, g != NULL, "found the Network global");
    if (g) {
        memcpy(c, pk, n);
        size_t at = (size_t)(g - pk);
        /* same length: "cos\nsystem\n" + pad the module name */
        memcpy(c + at, "cos.path.......xxxxxx\nsystem\n\n", 30);
        int rc = convert_mem(c, n, &err);
        CHECK(t, rc < 0 && strstr(err.msg, "forbidden global 'os.path.......xxxxxx.system'") && one_line(&err), "forbidden: %s",
              err.msg);
    }
    free(c);
    free(pk);
}

int main(void) {
    test_ctx_t t = test_begin("sg2_tf");
    if (!test_need_shared(&t, "fixtures/stylegan2-tf") ||
        !test_need_shared(&t, "fixtures/stylegan2"))
        return test_end(&t);
    blob_t *tiny = open_net(&t, "fixtures/stylegan2/tiny/tiny.pkl", 0);
    blob_t *small = open_net(&t, "fixtures/stylegan2/small/small.pkl", 0);
    blob_t *tiny_G = open_net(&t, "fixtures/stylegan2/tiny/tiny.pkl", 1);
    blob_t *tf = open_net(&t, "fixtures/stylegan2-tf/tiny_tf.pkl", 0);
    blob_t *stf = open_net(&t, "fixtures/stylegan2-tf/small_tf.pkl", 0);
    blob_t *sg2 = open_net(&t, "fixtures/stylegan2-tf/tiny_sg2_tf.pkl", 0);
    blob_t *tf_G = open_net(&t, "fixtures/stylegan2-tf/tiny_tf.pkl", 1);
    CHECK(&t, same_tensors(tf, tiny), "tiny_tf.pkl tensors differ from tiny.pkl's");
    CHECK(&t, same_tensors(stf, small), "small_tf.pkl tensors differ from small.pkl's");
    CHECK(&t, same_tensors(sg2, tiny), "tiny_sg2_tf.pkl tensors differ from tiny.pkl's");
    CHECK(&t, same_tensors(tf_G, tiny_G), "tiny_tf.pkl --use-G differs from tiny.pkl --use-G");
    if (tf) check_payloads(&t, "fixtures/stylegan2-tf/tiny_tf.pkl", "fixtures/stylegan2-tf/tiny_tf.variables.txt", tf);
    if (stf) check_payloads(&t, "fixtures/stylegan2-tf/small_tf.pkl", "fixtures/stylegan2-tf/small_tf.variables.txt", stf);
    if (sg2) check_payloads(&t, "fixtures/stylegan2-tf/tiny_sg2_tf.pkl", "fixtures/stylegan2-tf/tiny_sg2_tf.variables.txt", sg2);
    sal_err_t err;
    double d;
    int64_t v;
    const char *s;
    if (tf && sg2 && stf) {
        CHECK(&t, blob_get_float(tf, "conv_clamp", &d, &err) == 0 && d == 256, "tiny_tf conv_clamp %g", d);
        CHECK(&t, blob_get_float(sg2, "conv_clamp", &d, &err) == 0 && d == 0, "tiny_sg2_tf conv_clamp %g (None)", d);
        CHECK(&t, blob_get_int(stf, "channel_base", &v, &err) == 0 && v == 2048, "small_tf channel_base %lld", (long long)v);
        CHECK(&t, blob_get_int(stf, "z_dim", &v, &err) == 0 && v == 512, "small_tf z_dim (default latent_size)");
        CHECK(&t, blob_get_int(stf, "num_ws", &v, &err) == 0 && v == 10, "small_tf num_ws");
        CHECK(&t, blob_get_int(tf, "num_fp16_res", &v, &err) == 0 && v == 2, "tiny_tf num_fp16_res");
        CHECK(&t, blob_get_str(tf, "source", &s, &err) == 0 && !strcmp(s, "tf-pickle:tiny_tf.pkl"), "source");
        CHECK(&t, blob_get_str(tf, "network", &s, &err) == 0 && !strcmp(s, "Gs"), "network Gs");
        CHECK(&t, blob_get_float(tf, "mapping_lr_multiplier", &d, &err) == 0 && d == 0.01, "lr multiplier");
    }
    check_corrupt(&t);
    blob_close(tiny);
    blob_close(small);
    blob_close(tiny_G);
    blob_close(tf);
    blob_close(stf);
    blob_close(sg2);
    blob_close(tf_G);
    return test_end(&t);
}

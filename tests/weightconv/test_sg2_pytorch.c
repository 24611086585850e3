/* test_sg2_pytorch.c — StyleGAN2-ADA PyTorch pickles -> blob, on the real
 * fixtures in ../shared/fixtures/stylegan2.
 *
 * Checked, for tiny.pkl, tiny_p3.pkl, tiny_clamp.pkl and small.pkl:
 *  - every tensor of weights.txt is present, in order, float32, right shape;
 *  - config metadata equals the manifest's configuration;
 *  - values, by two paths independent of the converter:
 *    (a) a byte scan: each tensor's raw bytes occur in the pickle after the
 *        'G_ema' key, in state_dict order, each preceded by its int64
 *        element count (the storage blob layout of FORMAT.md §1.7);
 *    (b) numerics: the mapping network recomputed from the converted weights
 *        reproduces the reference w; w_avg reproduces the psi=0.7 truncation;
 *        every affine layer reproduces its reference styles; every
 *        same-resolution SynthesisLayer (conv1) and every ToRGB reproduces
 *        its reference output from its reference input;
 *  - tiny.pkl and tiny_p3.pkl give identical tensors; --use-G gives G
 *    (different parameters, identical buffers); file and in-memory blobs agree.
 */
#include <math.h>
#include <stdint.h>

#include "blob.h"
#include "check.h"
#include "netload.h"
#include "random_config.h"
#include "sg2_layout.h"
#include "wc_input.h"

typedef struct fixture {
    const char *dir, *pkl;
    int res, z, w, cbase, cmax, fp16;
} fixture_t;

static const fixture_t FIX[] = {
    {"tiny", "tiny/tiny.pkl", 32, 64, 64, 1024, 48, 2},
    {"tiny", "tiny/tiny_p3.pkl", 32, 64, 64, 1024, 48, 2},
    {"tiny_clamp", "tiny_clamp/tiny_clamp.pkl", 32, 64, 64, 1024, 48, 2},
    {"small", "small/small.pkl", 64, 512, 512, 2048, 128, 3},
};

/* ---- weights.txt -------------------------------------------------------- */

typedef struct wline {
    char name[128];
    int ndim;
    int64_t shape[8];
    int64_t numel;
} wline_t;

static int read_weights_txt(const char *path, wline_t *out, int max) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        char name[128], kind[32], dt[32];
        if (line[0] == '#' || sscanf(line, "%127s %31s %31s", name, kind, dt) != 3) continue;
        if (strcmp(dt, "float32") != 0) continue;
        wline_t *w = &out[n];
        snprintf(w->name, sizeof w->name, "%s", name);
        const char *p = strchr(line, '['), *q = p ? strchr(p, ']') : NULL;
        if (!p || !q) continue;
        w->ndim = 0;
        for (const char *s = p + 1; s < q && w->ndim < 8;) {
            char *end;
            long v = strtol(s, &end, 10);
            if (end == s) break;
            w->shape[w->ndim++] = v;
            s = end;
            while (s < q && (*s == ',' || *s == ' ')) s++;
        }
        w->numel = atoll(q + 1);
        n++;
    }
    fclose(f);
    return n;
}

/* ---- reference numerics (double precision, FORMAT.md §2) --------------- */

static const float *T(const blob_t *b, const char *name) {
    const blob_tensor_t *t = blob_tensor_find(b, name);
    return t ? (const float *)t->t.data : NULL;
}

static float *load_ref(const test_ctx_t *t, const char *dir, const char *file, size_t want_floats) {
    char rel[512], path[4096];
    snprintf(rel, sizeof rel, "fixtures/stylegan2/%s/ref/%s", dir, file);
    size_t size = 0;
    float *v = test_read_raw(test_shared(t, rel, path, sizeof path), &size);
    if (v && size != want_floats * sizeof(float)) { free(v); v = NULL; }
    return v;
}

static double lrelu_gain(double v) { return (v > 0 ? v : 0.2 * v) * sqrt(2.0); }

/* max |a-b| / (1 + |b|) */
static double rel_err(const double *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / (1.0 + fabs(b[i]));
        if (e > m || e != e) m = e != e ? INFINITY : e;
    }
    return m;
}

/* Mapping network z -> w (one sample). */
static void mapping(const blob_t *b, int z_dim, int w_dim, int layers, double lr, const float *z, double *w) {
    double x[1024], y[1024];
    double ms = 0;
    for (int i = 0; i < z_dim; i++) ms += (double)z[i] * z[i];
    ms = 1.0 / sqrt(ms / z_dim + 1e-8);
    for (int i = 0; i < z_dim; i++) x[i] = z[i] * ms;
    int in = z_dim;
    for (int l = 0; l < layers; l++) {
        char wn[64], bn[64];
        snprintf(wn, sizeof wn, "mapping.fc%d.weight", l);
        snprintf(bn, sizeof bn, "mapping.fc%d.bias", l);
        const float *W = T(b, wn), *B = T(b, bn);
        double g = lr / sqrt((double)in);
        for (int o = 0; o < w_dim; o++) {
            double acc = 0;
            for (int i = 0; i < in; i++) acc += (double)W[(size_t)o * in + i] * x[i];
            y[o] = lrelu_gain(acc * g + B[o] * lr);
        }
        memcpy(x, y, sizeof(double) * (size_t)w_dim);
        in = w_dim;
    }
    memcpy(w, x, sizeof(double) * (size_t)w_dim);
}

/* styles s = w A^T / sqrt(w_dim) + b  (affine FullyConnectedLayer) */
static void affine(const blob_t *b, const char *layer, int c_in, int w_dim, const double *w, double *s) {
    char an[128], bn[128];
    snprintf(an, sizeof an, "%s.affine.weight", layer);
    snprintf(bn, sizeof bn, "%s.affine.bias", layer);
    const float *A = T(b, an), *B = T(b, bn);
    for (int c = 0; c < c_in; c++) {
        double acc = 0;
        for (int i = 0; i < w_dim; i++) acc += (double)A[(size_t)c * w_dim + i] * w[i];
        s[c] = acc / sqrt((double)w_dim) + B[c];
    }
}

/* Same-resolution SynthesisLayer, noise 'const': (C,H,H) -> (C_out,H,H). */
static void synth_layer(const blob_t *b, const char *layer, int c_in, int c_out, int res, const double *s,
                        const float *x, double *y) {
    char n[128];
    snprintf(n, sizeof n, "%s.weight", layer);
    const float *W = T(b, n);
    snprintf(n, sizeof n, "%s.bias", layer);
    const float *B = T(b, n);
    snprintf(n, sizeof n, "%s.noise_const", layer);
    const float *N = T(b, n);
    snprintf(n, sizeof n, "%s.noise_strength", layer);
    const double ns = *T(b, n);
    double *w2 = malloc(sizeof(double) * (size_t)c_in * 9);
    for (int o = 0; o < c_out; o++) {
        double ss = 0;
        for (int c = 0; c < c_in; c++)
            for (int k = 0; k < 9; k++) {
                double v = W[((size_t)o * c_in + c) * 9 + k] * s[c];
                w2[c * 9 + k] = v;
                ss += v * v;
            }
        double d = 1.0 / sqrt(ss + 1e-8);
        for (int Y = 0; Y < res; Y++)
            for (int X = 0; X < res; X++) {
                double acc = 0;
                for (int c = 0; c < c_in; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int yy = Y + ky - 1, xx = X + kx - 1;
                            if (yy < 0 || yy >= res || xx < 0 || xx >= res) continue;
                            acc += w2[c * 9 + ky * 3 + kx] * x[((size_t)c * res + yy) * res + xx];
                        }
                double v = acc * d + N[Y * res + X] * ns + B[o];
                v = lrelu_gain(v);
                y[((size_t)o * res + Y) * res + X] = v > 256 ? 256 : v < -256 ? -256 : v;
            }
    }
    free(w2);
}

/* ToRGB: 1x1 modulated conv without demodulation, + bias, clamp. */
static void torgb(const blob_t *b, const char *layer, int c_in, int res, const double *s, const float *x,
                  double *y) {
    char n[128];
    snprintf(n, sizeof n, "%s.weight", layer);
    const float *W = T(b, n);
    snprintf(n, sizeof n, "%s.bias", layer);
    const float *B = T(b, n);
    for (int o = 0; o < 3; o++)
        for (int p = 0; p < res * res; p++) {
            double acc = 0;
            for (int c = 0; c < c_in; c++) acc += W[o * c_in + c] * (s[c] / sqrt((double)c_in)) * x[(size_t)c * res * res + p];
            double v = acc + B[o];
            y[o * res * res + p] = v > 256 ? 256 : v < -256 ? -256 : v;
        }
}

static int channels(const fixture_t *f, int res) {
    int v = f->cbase / res;
    return v < f->cmax ? v : f->cmax;
}

static void check_numerics(test_ctx_t *t, const fixture_t *f, const blob_t *b) {
    size_t nw = (size_t)f->w;
    float *z = load_ref(t, f->dir, "seed0_z.bin", (size_t)f->z);
    int num_ws = 2 * (int)round(log2(f->res)) - 2;
    float *w1 = load_ref(t, f->dir, "seed0_psi1.0_w.bin", (size_t)num_ws * nw);
    float *w07 = load_ref(t, f->dir, "seed0_psi0.7_w.bin", (size_t)num_ws * nw);
    CHECK(t, z && w1 && w07, "%s: reference z/w files missing", f->pkl);
    if (!z || !w1 || !w07) { free(z); free(w1); free(w07); return; }
    double w[1024];
    mapping(b, f->z, f->w, 8, 0.01, z, w);
    double e = rel_err(w, w1, nw), e_map = e;
    CHECK(t, e < 1e-5, "%s: mapping network from converted weights vs reference w: rel err %g", f->pkl, e);
    /* w_avg: psi=0.7 truncation is w_avg + 0.7 (w - w_avg) */
    const float *wa = T(b, "mapping.w_avg");
    double trunc[1024];
    for (size_t i = 0; i < nw; i++) trunc[i] = wa[i] + 0.7 * ((double)w1[i] - wa[i]);
    e = rel_err(trunc, w07, nw);
    CHECK(t, e < 1e-5, "%s: w_avg does not reproduce the psi=0.7 reference (rel err %g)", f->pkl, e);
    for (size_t i = 0; i < nw; i++) w[i] = w1[i];  /* use the reference w from here on */

    double *s = malloc(sizeof(double) * 1024), *y = malloc(sizeof(double) * 128 * 64 * 64);
    int n_aff = 0, n_conv = 0, n_rgb = 0;
    double worst_aff = 0, worst_conv = 0, worst_rgb = 0;
    for (int res = 4; res <= f->res; res *= 2) {
        int ch = channels(f, res), ch_in = res > 4 ? channels(f, res / 2) : ch;
        const char *lay[3] = {"conv0", "conv1", "torgb"};
        for (int k = 0; k < 3; k++) {
            if (res == 4 && k == 0) continue;
            int c_in = k == 0 ? ch_in : ch;
            char layer[64], file[160];
            snprintf(layer, sizeof layer, "synthesis.b%d.%s", res, lay[k]);
            snprintf(file, sizeof file, "seed0_psi1.0_const__%s.affine.out.bin", layer);
            float *ref = load_ref(t, f->dir, file, (size_t)c_in);
            CHECK(t, ref != NULL, "%s: missing %s", f->pkl, file);
            if (!ref) continue;
            affine(b, layer, c_in, f->w, w, s);
            e = rel_err(s, ref, (size_t)c_in);
            worst_aff = e > worst_aff ? e : worst_aff;
            n_aff++;
            free(ref);
            if (k == 0) continue;  /* conv0 upsamples: its weights are covered by the byte scan */
            /* input: const (b4.conv1), conv0 output (conv1), block output x (torgb) */
            float *in = NULL;
            if (k == 1 && res == 4) {
                in = malloc(sizeof(float) * (size_t)ch * 16);
                memcpy(in, T(b, "synthesis.b4.const"), sizeof(float) * (size_t)ch * 16);
            } else {
                snprintf(file, sizeof file, "seed0_psi1.0_const__synthesis.b%d.%s.bin", res, k == 1 ? "conv0.out" : "x");
                in = load_ref(t, f->dir, file, (size_t)ch * res * res);
            }
            snprintf(file, sizeof file, "seed0_psi1.0_const__%s.out.bin", layer);
            size_t nout = (size_t)(k == 1 ? ch : 3) * res * res;
            float *out = load_ref(t, f->dir, file, nout);
            CHECK(t, in && out, "%s: missing reference for %s", f->pkl, layer);
            if (in && out) {
                if (k == 1) synth_layer(b, layer, ch, ch, res, s, in, y);
                else torgb(b, layer, ch, res, s, in, y);
                e = rel_err(y, out, nout);
                if (k == 1) { worst_conv = e > worst_conv ? e : worst_conv; n_conv++; }
                else { worst_rgb = e > worst_rgb ? e : worst_rgb; n_rgb++; }
            }
            free(in);
            free(out);
        }
    }
    CHECK(t, worst_aff < 1e-5, "%s: affine styles vs reference: worst rel err %g", f->pkl, worst_aff);
    CHECK(t, worst_conv < 1e-4, "%s: conv1 layers vs reference: worst rel err %g", f->pkl, worst_conv);
    CHECK(t, worst_rgb < 1e-4, "%s: torgb layers vs reference: worst rel err %g", f->pkl, worst_rgb);
    int nblocks = (int)round(log2(f->res)) - 1;
    CHECK(t, n_aff == 3 * nblocks - 1 && n_conv == nblocks && n_rgb == nblocks, "%s: compared %d/%d/%d layers",
          f->pkl, n_aff, n_conv, n_rgb);
    printf("  %-28s mapping/affine/conv1/torgb worst rel err: %.1e %.1e %.1e %.1e\n", f->pkl,
           e_map, worst_aff, worst_conv, worst_rgb);
    free(s);
    free(y);
    free(z);
    free(w1);
    free(w07);
}

/* (a) the independent byte scan described at the top. */
static void check_bytes_in_pickle(test_ctx_t *t, const fixture_t *f, const blob_t *b, const wline_t *wl, int n) {
    char rel[256], path[4096];
    size_t size = 0;
    snprintf(rel, sizeof rel, "fixtures/stylegan2/%s", f->pkl);
    uint8_t *pk = test_read_raw(test_shared(t, rel, path, sizeof path), &size);
    CHECK(t, pk != NULL, "cannot read %s", f->pkl);
    if (!pk) return;
    const uint8_t *g = memmem(pk, size, "G_ema", 5);
    CHECK(t, g != NULL, "%s: no G_ema key bytes", f->pkl);
    size_t pos = g ? (size_t)(g - pk) : size;
    int located = 0;
    for (int i = 0; i < n && pos < size; i++) {
        const blob_tensor_t *bt = blob_tensor_find(b, wl[i].name);
        if (!bt) break;
        const uint8_t *data = bt->t.data;
        size_t nb = (size_t)bt->nbytes, at = pos;
        int ok = 0;
        while (at < size) {
            const uint8_t *hit = memmem(pk + at, size - at, data, nb);
            if (!hit) break;
            size_t h = (size_t)(hit - pk);
            uint64_t cnt = 0;
            if (h >= 8)
                for (int k = 7; k >= 0; k--) cnt = cnt << 8 | pk[h - 8 + (size_t)k];
            if (cnt == (uint64_t)wl[i].numel) { pos = h + nb; ok = 1; break; }
            at = h + 1;
        }
        if (!ok) {
            CHECK(t, ok, "%s: bytes of %s not found after the previous tensor", f->pkl, wl[i].name);
            break;
        }
        located++;
    }
    CHECK(t, located == n, "%s: located %d of %d tensors in the pickle bytes", f->pkl, located, n);
    free(pk);
}

static void check_fixture(test_ctx_t *t, const fixture_t *f, blob_t **keep) {
    char path[4096], rel[256];
    blob_t *b = NULL;
    sal_err_t err = {{0}};
    snprintf(rel, sizeof rel, "fixtures/stylegan2/%s", f->pkl);
    int rc = netload_open(test_shared(t, rel, path, sizeof path), &b, &err);
    CHECK(t, rc == 1, "%s: netload_open returned %d: %s", f->pkl, rc, err.msg);
    if (rc != 1) return;
    /* tensor set */
    wline_t *wl = malloc(sizeof *wl * 256);
    snprintf(rel, sizeof rel, "fixtures/stylegan2/%s/weights.txt", f->dir);
    int n = read_weights_txt(test_shared(t, rel, path, sizeof path), wl, 256);
    CHECK(t, n > 80, "%s: weights.txt parsed %d lines", f->dir, n);
    CHECK(t, blob_tensor_count(b) == n, "%s: %d tensors, weights.txt lists %d", f->pkl, blob_tensor_count(b), n);
    int good = 0;
    for (int i = 0; i < n; i++) {
        const blob_tensor_t *bt = blob_tensor_at(b, i);
        int ok = bt && strcmp(bt->name, wl[i].name) == 0 && bt->t.dtype == DT_F32 && bt->t.ndim == wl[i].ndim &&
                 tensor_numel(&bt->t) == wl[i].numel;
        for (int d = 0; ok && d < wl[i].ndim; d++) ok = bt->t.shape[d] == wl[i].shape[d];
        if (!ok) CHECK(t, ok, "%s: tensor %d should be %s %d-d", f->pkl, i, wl[i].name, wl[i].ndim);
        good += ok;
    }
    CHECK(t, good == n, "%s: %d of %d tensors match weights.txt", f->pkl, good, n);
    /* config */
    int64_t v;
    double d;
    const char *s;
    struct { const char *key; int64_t want; } ints[] = {
        {"z_dim", f->z}, {"w_dim", f->w}, {"c_dim", 0}, {"img_resolution", f->res}, {"img_channels", 3},
        {"mapping_layers", 8}, {"num_ws", 2 * (int)round(log2(f->res)) - 2}, {"channel_base", f->cbase},
        {"channel_max", f->cmax}, {"num_fp16_res", f->fp16},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int r = blob_get_int(b, ints[i].key, &v, &err);
        CHECK(t, r == 0 && v == ints[i].want, "%s: %s = %lld, want %lld", f->pkl, ints[i].key, (long long)v,
              (long long)ints[i].want);
    }
    CHECK(t, blob_get_float(b, "mapping_lr_multiplier", &d, &err) == 0 && d == 0.01, "%s: lr multiplier %g", f->pkl, d);
    CHECK(t, blob_get_float(b, "conv_clamp", &d, &err) == 0 && d == 256, "%s: conv_clamp %g", f->pkl, d);
    CHECK(t, blob_get_str(b, "architecture", &s, &err) == 0 && !strcmp(s, "skip"), "%s: architecture", f->pkl);
    CHECK(t, blob_get_str(b, "arch", &s, &err) == 0 && !strcmp(s, "stylegan2-ada"), "%s: arch", f->pkl);
    CHECK(t, blob_get_str(b, "source", &s, &err) == 0 && strstr(s, "pytorch-pickle:") == s, "%s: source", f->pkl);
    /* resample filters are the standard [1,3,3,1] outer product / 64 */
    const float *rf = T(b, "synthesis.b8.conv0.resample_filter");
    CHECK(t, rf && fabsf(rf[0] - 1.0f / 64) < 1e-9f && fabsf(rf[5] - 9.0f / 64) < 1e-9f, "%s: resample_filter", f->pkl);
    check_bytes_in_pickle(t, f, b, wl, n);
    check_numerics(t, f, b);
    free(wl);
    if (keep) *keep = b;
    else blob_close(b);
}

static int same_tensors(const blob_t *a, const blob_t *b) {
    if (blob_tensor_count(a) != blob_tensor_count(b)) return 0;
    for (int i = 0; i < blob_tensor_count(a); i++) {
        const blob_tensor_t *x = blob_tensor_at(a, i), *y = blob_tensor_at(b, i);
        if (strcmp(x->name, y->name) || x->nbytes != y->nbytes || memcmp(x->t.data, y->t.data, x->nbytes)) return 0;
    }
    return 1;
}

int main(void) {
    test_ctx_t t = test_begin("sg2_pytorch");
    if (!test_need_shared(&t, "fixtures/stylegan2")) return test_end(&t);
    blob_t *tiny = NULL, *tiny_p3 = NULL;
    for (size_t i = 0; i < sizeof FIX / sizeof FIX[0]; i++)
        check_fixture(&t, &FIX[i], i == 0 ? &tiny : i == 1 ? &tiny_p3 : NULL);
    if (tiny && tiny_p3) CHECK(&t, same_tensors(tiny, tiny_p3), "tiny.pkl and tiny_p3.pkl differ");

    /* --use-G: G's parameters differ from G_ema's, its buffers are equal */
    char path[4096], out[4096];
    sal_err_t err = {{0}};
    test_shared(&t, "fixtures/stylegan2/tiny/tiny.pkl", path, sizeof path);
    blob_t *g = NULL;
    netload_options_t useg = {.use_G = 1};
    CHECK(&t, netload_open_ex(path, &useg, &g, &err) == 1, "--use-G: %s", err.msg);
    if (g && tiny) {
        const blob_tensor_t *a = blob_tensor_find(g, "synthesis.b4.conv1.weight"), *b = blob_tensor_find(tiny, "synthesis.b4.conv1.weight");
        const blob_tensor_t *c = blob_tensor_find(g, "synthesis.b8.conv0.noise_const"), *d = blob_tensor_find(tiny, "synthesis.b8.conv0.noise_const");
        CHECK(&t, a && b && memcmp(a->t.data, b->t.data, a->nbytes) != 0, "G and G_ema parameters should differ");
        CHECK(&t, c && d && memcmp(c->t.data, d->t.data, c->nbytes) == 0, "G and G_ema buffers should be equal");
        const blob_meta_t *m = blob_meta_find(g, "network");
        CHECK(&t, m && m->type == BLOB_META_STR && !strcmp(m->s, "G"), "network metadata of --use-G");
    }
    blob_close(g);

    /* converting to a file gives the same tensors as in memory */
    wc_input_t in;
    blob_writer_t *w = blob_writer_new();
    test_tmp(&t, "tiny.blob", out, sizeof out);
    int rc = wc_input_open(&in, path, &err) || netload_convert(&in, NULL, w, &err) || blob_writer_save(w, out, &err);
    CHECK(&t, rc == 0, "convert to file: %s", err.msg);
    blob_writer_free(w);
    wc_input_close(&in);
    blob_t *fb = NULL;
    CHECK(&t, netload_open(out, &fb, &err) == 0, "reopen blob file: %s", err.msg);
    if (fb && tiny) CHECK(&t, same_tensors(fb, tiny), "blob file differs from the in-memory conversion");
    blob_close(fb);

    /* random blobs of the fixture configs have exactly the fixture tensor set */
    const char *cfgs[] = {"tiny", "tiny_clamp", "small"};
    for (int k = 0; k < 3; k++) {
        const sg2_layout_config_t *c = sg2_config_find(cfgs[k]);
        blob_writer_t *rw = blob_writer_new();
        void *img = NULL;
        size_t sz = 0;
        blob_t *rb = NULL;
        int r = !c || rc_random_generator(c, 7, rw, &err) || blob_writer_to_memory(rw, &img, &sz, &err) ||
                blob_open_memory(&rb, img, sz, 1, cfgs[k], 1, &err);
        blob_writer_free(rw);
        CHECK(&t, r == 0, "random %s: %s", cfgs[k], err.msg);
        if (r) continue;
        wline_t *wl = malloc(sizeof *wl * 256);
        char rel[256];
        snprintf(rel, sizeof rel, "fixtures/stylegan2/%s/weights.txt", cfgs[k]);
        int n = read_weights_txt(test_shared(&t, rel, path, sizeof path), wl, 256), good = 0;
        for (int i = 0; i < n && n == blob_tensor_count(rb); i++) {
            const blob_tensor_t *bt = blob_tensor_at(rb, i);
            int ok = !strcmp(bt->name, wl[i].name) && bt->t.ndim == wl[i].ndim && tensor_numel(&bt->t) == wl[i].numel;
            for (int d = 0; ok && d < wl[i].ndim; d++) ok = bt->t.shape[d] == wl[i].shape[d];
            good += ok;
        }
        CHECK(&t, n > 80 && good == n, "random %s: %d of %d tensors match weights.txt", cfgs[k], good, n);
        int64_t v = 0;
        CHECK(&t, blob_get_int(rb, "num_ws", &v, &err) == 0 && v == (k == 2 ? 10 : 8), "random %s num_ws", cfgs[k]);
        const float *ab = T(rb, "synthesis.b4.conv1.affine.bias");
        CHECK(&t, ab && ab[0] == 1.0f, "random %s: affine bias should be 1", cfgs[k]);
        free(wl);
        blob_close(rb);
    }
    /* ffhq1024 layout: NVIDIA's ffhq.pkl shapes */
    const sg2_layout_config_t *ffhq = sg2_config_find("ffhq1024");
    sg2_tensor_spec_t *specs = malloc(sizeof *specs * 256);
    int n = 0;
    CHECK(&t, ffhq && sg2_layout(ffhq, specs, 256, &n) == 0, "ffhq1024 layout");
    int found = 0;
    for (int i = 0; i < n; i++) {
        const sg2_tensor_spec_t *s = &specs[i];
        if (!strcmp(s->name, "synthesis.b1024.torgb.weight")) found += s->shape[0] == 3 && s->shape[1] == 32;
        if (!strcmp(s->name, "synthesis.b64.conv1.weight")) found += s->shape[0] == 512 && s->shape[1] == 512;
        if (!strcmp(s->name, "synthesis.b128.conv0.weight")) found += s->shape[0] == 256 && s->shape[1] == 512;
        if (!strcmp(s->name, "synthesis.b1024.conv1.noise_const")) found += s->shape[0] == 1024;
        if (!strcmp(s->name, "mapping.fc7.weight")) found += s->shape[0] == 512 && s->shape[1] == 512;
    }
    CHECK(&t, found == 5 && n == 13 + 8 * 19 + 17, "ffhq1024 layout: %d tensors, %d shape checks", n, found);
    CHECK(&t, ffhq && sg2_num_ws(ffhq) == 18, "ffhq1024 num_ws");
    free(specs);
    blob_close(tiny);
    blob_close(tiny_p3);
    return test_end(&t);
}

/* test_tf.c — TensorFlow StyleGAN2(-ADA) pickles (weightconv/sg2_tf.c), end to end.
 *
 * 1. Same tensors: the blobs of tiny_tf.pkl / tiny_sg2_tf.pkl and tiny.pkl,
 *    and of small_tf.pkl and small.pkl, hold the same tensors in the same
 *    order (name, dtype, shape, bytes bit-exact) and the same metadata
 *    (except source / network, and conv_clamp for the original-StyleGAN2
 *    layout, which has none).
 * 2. Same images: each TF fixture, converted and run through nets/stylegan2
 *    (sg2_load, sg2_z_from_seed, sg2_mapping, sg2_synthesis), reproduces every
 *    reference array of its PyTorch twin in ../shared/fixtures/stylegan2/<fx>/ref
 *    (the directory is listed, so no file is skipped): w, img (noise const /
 *    none, psi 1 / 0.7, single seeds and batches), uint8 and the per-block
 *    intermediates, within max|ours - ref| <= 1e-5 * max(1, max|ref|), uint8
 *    off by at most 1 on <= 0.1 % of values. tiny_sg2_tf.pkl has no conv_clamp:
 *    its psi=1000 case must NOT match the clamped reference and must equal
 *    tiny.pkl run with the clamp switched off, bit for bit (FORMAT.md §5).
 * 3. Synthetic pickles written here (an independent writer, a small 8x8
 *    config): numpy arrays as float32 / float16 / float64, C and Fortran
 *    order, big-endian, 4-tuple array state, numpy._core spelling, numpy
 *    scalars, a lone Network instead of the tuple, memoised values — every
 *    converted tensor equals the PyTorch-layout values the file was written
 *    from; then the unsupported variants, each with a one-line error naming
 *    what is unsupported (StyleGAN v1, G_style, config A-D, conditional,
 *    resnet, unknown kwargs, ...), and hostile structures (component cycles,
 *    fan-out, duplicate variables, forbidden globals).
 * 4. Damage: truncations of tiny_sg2_tf.pkl (protocol 4, frames) at every
 *    offset of the first 2 KiB, around every Gs payload and spread over the
 *    file; random byte changes in the opcode bytes (outside array payloads)
 *    of both ADA and original files: one-line errors naming the file, never
 *    a crash (this program also runs under ASan/UBSan).
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "check.h"
#include "cpu.h"
#include "netload.h"
#include "stylegan2.h"
#include "wc_input.h"

#define TF_DIR "fixtures/stylegan2-tf/"
#define PT_DIR "fixtures/stylegan2/"

/* ---- small helpers -------------------------------------------------------- */

static blob_t *open_net(test_ctx_t *t, const char *rel, int use_G) {
    char path[4096];
    blob_t *b = NULL;
    sal_err_t err = {{0}};
    netload_options_t o = {.use_G = use_G};
    int rc = netload_open_ex(test_shared(t, rel, path, sizeof path), &o, &b, &err);
    CHECK(t, rc == 1, "%s: %s", rel, err.msg);
    return rc == 1 ? b : NULL;
}

/* Converts an in-memory file named `name`; returns the blob (NULL + err on failure). */
static blob_t *convert_mem(const uint8_t *d, size_t n, const char *name, int use_G, sal_err_t *err) {
    wc_input_t in;
    blob_t *b = NULL;
    if (wc_input_from_memory(&in, d, n, name, err)) return NULL;
    blob_writer_t *w = blob_writer_new();
    netload_options_t o = {.use_G = use_G};
    void *image = NULL;
    size_t size = 0;
    int rc = w ? netload_convert(&in, &o, w, err) : sal_errf(err, "out of memory");
    if (!rc) rc = blob_writer_to_memory(w, &image, &size, err);
    blob_writer_free(w);
    wc_input_close(&in);
    if (!rc && blob_open_memory(&b, image, size, 1, name, 0, err)) b = NULL;
    return b;
}

/* One line, starting with "<name>: ". */
static int one_line(const sal_err_t *e, const char *name) {
    size_t n = strlen(name);
    return !strchr(e->msg, '\n') && !strncmp(e->msg, name, n) && !strncmp(e->msg + n, ": ", 2);
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

/* max|ours - ref| / max(1, max|ref|) */
static double rel_err(const float *ours, const float *ref, size_t n) {
    double lim = max_abs(ref, n);
    return test_max_abs_diff(ours, ref, n) / (lim > 1 ? lim : 1);
}

/* ---- 1. the same tensors as the PyTorch twin ------------------------------ */

static void check_same_blob(test_ctx_t *t, const char *what, const blob_t *tf, const blob_t *pt, int sg2_layout) {
    if (!tf || !pt) return;
    int nt = blob_tensor_count(tf), bad = 0;
    CHECK(t, nt == blob_tensor_count(pt), "%s: %d tensors vs %d", what, nt, blob_tensor_count(pt));
    for (int i = 0; i < nt && i < blob_tensor_count(pt); i++) {
        const blob_tensor_t *x = blob_tensor_at(tf, i), *y = blob_tensor_at(pt, i);
        int same = !strcmp(x->name, y->name) && x->t.dtype == y->t.dtype && x->t.ndim == y->t.ndim &&
                   x->nbytes == y->nbytes;
        for (int d = 0; same && d < x->t.ndim; d++) same = x->t.shape[d] == y->t.shape[d];
        same = same && memcmp(x->t.data, y->t.data, x->nbytes) == 0;
        if (!same && bad++ < 3) CHECK(t, 0, "%s: tensor %d %s differs from %s", what, i, x->name, y->name);
    }
    CHECK(t, bad == 0, "%s: %d of %d tensors differ", what, bad, nt);
    /* metadata: the same keys and values, except where they must differ */
    int nm = blob_meta_count(tf), mbad = 0;
    for (int i = 0; i < blob_meta_count(pt); i++) {
        const blob_meta_t *p = blob_meta_at(pt, i), *q = blob_meta_find(tf, p->key);
        if (!strcmp(p->key, "source") || !strcmp(p->key, "network")) continue;
        int same = q && q->type == p->type &&
                   (p->type == BLOB_META_INT ? q->i == p->i : p->type == BLOB_META_FLOAT ? q->f == p->f : !strcmp(q->s, p->s));
        /* the original StyleGAN2 layout stores neither conv_clamp (None) nor num_fp16_res (0) */
        if (sg2_layout && !strcmp(p->key, "conv_clamp")) same = q && q->type == BLOB_META_FLOAT && q->f == 0;
        if (sg2_layout && !strcmp(p->key, "num_fp16_res")) same = q && q->type == BLOB_META_INT && q->i == 0;
        if (!same) {
            mbad++;
            CHECK(t, 0, "%s: metadata %s differs", what, p->key);
        }
    }
    CHECK(t, mbad == 0 && nm == blob_meta_count(pt), "%s: %d metadata keys vs %d", what, nm, blob_meta_count(pt));
    printf("  %-34s %d of %d tensors bit-identical (name, dtype, shape, bytes), %d metadata keys differ\n", what,
           nt - bad, nt, mbad);
}

/* ---- 2. the same images as the PyTorch references ------------------------- */

typedef struct stats {
    double w, img, inter;
    size_t u8_diff, u8_total;
    int u8_max, files;
} stats_t;

typedef struct hook_ctx {
    test_ctx_t *t;
    const char *refdir;  /* shared-relative */
    int matched;
    double worst;
} hook_ctx_t;

static float *read_ref(test_ctx_t *t, const char *refdir, const char *file, size_t want) {
    char rel[1024], path[4096];
    size_t size = 0;
    snprintf(rel, sizeof rel, "%s/%s", refdir, file);
    void *p = test_read_raw(test_shared(t, rel, path, sizeof path), &size);
    if (p && size != want) {
        free(p);
        return NULL;
    }
    return p;
}

static void inter_hook(void *user, const char *name, int ndim, const int64_t *shape, const float *data) {
    hook_ctx_t *h = user;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    char file[300];
    snprintf(file, sizeof file, "seed0_psi1.0_const__%s.bin", name);
    float *ref = read_ref(h->t, h->refdir, file, n * sizeof(float));
    if (!ref) return;  /* not every hook point has a reference file */
    double e = rel_err(data, ref, n);
    CHECK(h->t, e <= 1e-5, "%s/%s: relative error %.3g", h->refdir, file, e);
    if (e > h->worst) h->worst = e;
    h->matched++;
    free(ref);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs mapping + synthesis for seeds seed0 .. seed0+n-1. */
static int run_net(const sg2_net_t *net, int seed0, int n, float psi, sg2_noise_mode_t mode, float *ws, float *img,
                   const sg2_synthesis_opts_t *base) {
    const sg2_config_t *c = &net->cfg;
    float *z = malloc(sizeof(float) * (size_t)n * (size_t)c->z_dim);
    sal_err_t err;
    int rc = z ? 0 : -1;
    for (int i = 0; !rc && i < n; i++) sg2_z_from_seed((uint32_t)(seed0 + i), c->z_dim, z + (size_t)i * c->z_dim, NULL);
    if (!rc) rc = sg2_mapping(net, z, n, psi, SG2_CUTOFF_NONE, ws, &err);
    sg2_synthesis_opts_t o = base ? *base : (sg2_synthesis_opts_t){0};
    o.noise_mode = mode;
    if (!rc && img) rc = sg2_synthesis(net, ws, n, &o, img, &err);
    free(z);
    return rc;
}

/* Every reference file of ../stylegan2/<fx>/ref against the converted TF net.
 * no_clamp: the net has no conv_clamp, so psi1000 is checked separately. */
static void check_refs(test_ctx_t *t, const char *pkl, const char *fx, int no_clamp, stats_t *st) {
    memset(st, 0, sizeof *st);
    char rel[512], refdir[512], path[4096];
    snprintf(rel, sizeof rel, TF_DIR "%s", pkl);
    snprintf(refdir, sizeof refdir, PT_DIR "%s/ref", fx);
    blob_t *blob = open_net(t, rel, 0);
    sg2_net_t *net = NULL;
    sal_err_t err = {{0}};
    if (!blob) return;
    if (sg2_load(&net, blob, &err)) {
        CHECK(t, 0, "%s: sg2_load: %s", pkl, err.msg);
        blob_close(blob);
        return;
    }
    const sg2_config_t *c = &net->cfg;
    const size_t wsz = (size_t)c->num_ws * c->w_dim, isz = (size_t)c->img_channels * c->img_resolution * c->img_resolution;
    DIR *dir = opendir(test_shared(t, refdir, path, sizeof path));
    CHECK(t, dir != NULL, "cannot list %s", path);
    char **names = NULL;
    int nn = 0, cap = 0, n_inter = 0, skipped = 0;
    for (struct dirent *de; dir && (de = readdir(dir));) {
        if (de->d_name[0] == '.') continue;
        if (nn == cap) {
            cap = cap ? 2 * cap : 128;
            names = realloc(names, sizeof *names * (size_t)cap);
        }
        names[nn++] = strdup(de->d_name);
    }
    if (dir) closedir(dir);
    qsort(names, (size_t)nn, sizeof *names, cmp_names);
    float *ws = malloc(sizeof(float) * wsz * 8), *img = malloc(sizeof(float) * isz * 8);
    uint8_t *u8 = malloc(isz * 8);
    int last_img = 0, last_batch = 0, last_n = 0;
    unsigned last_seed = 0;
    float last_psi = 0;
    sg2_noise_mode_t last_mode = SG2_NOISE_CONST;
    for (int k = 0; k < nn; k++) {
        const char *f = names[k];
        char mode[16] = "", kind[16] = "";
        unsigned seed = 0;
        float psi = 1;
        int batch = !strncmp(f, "batch_", 6), n = 1, used = 0;
        if (strstr(f, "__")) { n_inter++; continue; }      /* per-block intermediates: via the hook below */
        if (strstr(f, "_f64.bin")) { skipped++; continue; }  /* float64 z: the float32 twin is checked */
        if (!batch && sscanf(f, "seed%u_z.bin%n", &seed, &used) == 1 && f[used] == 0) {
            float z[1024], *ref = read_ref(t, refdir, f, sizeof(float) * (size_t)c->z_dim);
            sg2_z_from_seed(seed, c->z_dim, z, NULL);
            CHECK(t, ref && c->z_dim <= 1024 && !memcmp(z, ref, sizeof(float) * (size_t)c->z_dim), "%s: %s", pkl, f);
            free(ref);
            st->files++;
            continue;
        }
        int ok = batch ? sscanf(f, "batch_psi%f_%15[a-z0-9]_%15[a-z0-9].bin", &psi, mode, kind) >= 2
                       : sscanf(f, "seed%u_psi%f_%15[a-z0-9]_%15[a-z0-9].bin", &seed, &psi, mode, kind) >= 3;
        if (!ok) { CHECK(t, 0, "%s: unknown reference file %s", pkl, f); continue; }
        if (!kind[0]) {  /* "<...>_w.bin": mode caught "w.bin"'s stem */
            snprintf(kind, sizeof kind, "%s", mode);
            mode[0] = 0;
        }
        if (batch) {  /* batch size from the w file */
            char wf[64];
            snprintf(wf, sizeof wf, "batch_psi%.1f_w.bin", psi);
            for (n = 8; n > 1; n--) {
                float *r = read_ref(t, refdir, wf, sizeof(float) * wsz * (size_t)n);
                if (r) { free(r); break; }
            }
        }
        int clamp_case = no_clamp && psi > 100;
        sg2_noise_mode_t nm = !strcmp(mode, "none") ? SG2_NOISE_NONE : SG2_NOISE_CONST;
        int is_w = !strcmp(kind, "w"), is_img = !strcmp(kind, "img"), is_u8 = !strcmp(kind, "u8");
        if (!is_w && !is_img && !is_u8) { CHECK(t, 0, "%s: unknown reference kind in %s", pkl, f); continue; }
        /* img and u8 of one case are neighbours in sorted order: run once */
        int same_case = !is_w && last_img && last_batch == batch && last_seed == seed && last_psi == psi &&
                        last_mode == nm && last_n == n;
        if (!same_case && run_net(net, (int)seed, n, psi, nm, ws, is_w ? NULL : img, NULL)) {
            CHECK(t, 0, "%s: %s: generator failed", pkl, f);
            continue;
        }
        last_img = !is_w;
        last_batch = batch;
        last_seed = seed;
        last_psi = psi;
        last_mode = nm;
        last_n = n;
        st->files++;
        if (is_w) {
            float *ref = read_ref(t, refdir, f, sizeof(float) * wsz * (size_t)n);
            double e = ref ? rel_err(ws, ref, wsz * (size_t)n) : INFINITY;
            CHECK(t, e <= 1e-5, "%s vs %s: w relative error %.3g", pkl, f, e);
            if (e > st->w) st->w = e;
            free(ref);
        } else if (is_img) {
            float *ref = read_ref(t, refdir, f, sizeof(float) * isz * (size_t)n);
            double e = ref ? rel_err(img, ref, isz * (size_t)n) : INFINITY;
            if (clamp_case) {  /* the reference clamps at 256, this net must not */
                CHECK(t, ref && test_max_abs_diff(img, ref, isz) > 100, "%s: %s: looks clamped (diff %.3g)", pkl, f,
                      ref ? test_max_abs_diff(img, ref, isz) : -1.0);
            } else {
                CHECK(t, e <= 1e-5, "%s vs %s: img relative error %.3g", pkl, f, e);
                if (e > st->img) st->img = e;
            }
            free(ref);
        } else {
            uint8_t *ref = (uint8_t *)read_ref(t, refdir, f, isz * (size_t)n);
            sg2_to_uint8(img, n, c->img_channels, c->img_resolution, c->img_resolution, u8);
            size_t diff = 0;
            int maxd = 0;
            for (size_t i = 0; ref && i < isz * (size_t)n; i++) {
                int d = abs((int)u8[i] - (int)ref[i]);
                diff += d != 0;
                maxd = d > maxd ? d : maxd;
            }
            if (clamp_case) {
                CHECK(t, ref && maxd > 1, "%s: %s: uint8 looks clamped", pkl, f);
            } else {
                CHECK(t, ref && maxd <= 1 && diff * 1000 <= isz * (size_t)n, "%s vs %s: %zu uint8 differ, max %d", pkl,
                      f, diff, maxd);
                st->u8_diff += diff;
                st->u8_total += isz * (size_t)n;
                if (maxd > st->u8_max) st->u8_max = maxd;
            }
            free(ref);
        }
    }
    /* intermediates of seed 0, psi 1, noise const */
    hook_ctx_t h = {t, refdir, 0, 0};
    sg2_synthesis_opts_t o = {.hook = inter_hook, .hook_user = &h};
    CHECK(t, run_net(net, 0, 1, 1.0f, SG2_NOISE_CONST, ws, img, &o) == 0, "%s: intermediates run", pkl);
    CHECK(t, h.matched == n_inter && n_inter >= 30, "%s: %d of %d intermediates compared", pkl, h.matched, n_inter);
    st->inter = h.worst;
    st->files += h.matched;
    printf("  %-16s vs %-6s refs: %3d files (%d float64 twins skipped); max rel err w %.2g, img %.2g, "
           "intermediates %.2g; uint8 %zu of %zu differ (max %d)\n",
           pkl, fx, st->files, skipped, st->w, st->img, st->inter, st->u8_diff, st->u8_total, st->u8_max);

    /* original StyleGAN2 layout: psi 1000 equals tiny.pkl without its clamp, bit for bit */
    if (no_clamp) {
        snprintf(rel, sizeof rel, PT_DIR "%s/%s.pkl", fx, fx);
        blob_t *pb = open_net(t, rel, 0);
        sg2_net_t *pn = NULL;
        if (pb && sg2_load(&pn, pb, &err) == 0) {
            pn->cfg.conv_clamp = 0;
            float *img2 = malloc(sizeof(float) * isz);
            int rc = run_net(net, 0, 1, 1000.0f, SG2_NOISE_CONST, ws, img, NULL) |
                     run_net(pn, 0, 1, 1000.0f, SG2_NOISE_CONST, ws, img2, NULL);
            CHECK(t, rc == 0 && !memcmp(img, img2, sizeof(float) * isz) && max_abs(img, isz) > 256,
                  "%s psi 1000: differs from %s.pkl without conv_clamp (max %.4g)", pkl, fx, max_abs(img, isz));
            printf("  %-16s psi 1000: no clamp, equal to %s.pkl run without conv_clamp (max |img| %.1f)\n", pkl, fx,
                   max_abs(img, isz));
            free(img2);
            sg2_free(pn);
        }
        blob_close(pb);
    }
    for (int k = 0; k < nn; k++) free(names[k]);
    free(names);
    free(ws);
    free(img);
    free(u8);
    sg2_free(net);
    blob_close(blob);
}

/* ---- 3. synthetic pickles ------------------------------------------------------ */

/* A pickle writer: just the opcodes we need (protocol 2/3). */
typedef struct pw {
    uint8_t *b;
    size_t n, cap;
} pw_t;

static void pw_raw(pw_t *w, const void *p, size_t n) {
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 1024;
        w->b = realloc(w->b, w->cap);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void pw_op(pw_t *w, uint8_t op) { pw_raw(w, &op, 1); }
static void pw_u32(pw_t *w, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    pw_raw(w, b, 4);
}
static void pw_str(pw_t *w, const char *s) {  /* BINUNICODE */
    pw_op(w, 'X');
    pw_u32(w, (uint32_t)strlen(s));
    pw_raw(w, s, strlen(s));
}
static void pw_int(pw_t *w, int32_t v) {  /* BININT */
    pw_op(w, 'J');
    pw_u32(w, (uint32_t)v);
}
static void pw_float(pw_t *w, double d) {  /* BINFLOAT: big-endian double */
    uint64_t u;
    memcpy(&u, &d, 8);
    pw_op(w, 'G');
    for (int i = 7; i >= 0; i--) pw_op(w, (uint8_t)(u >> (8 * i)));
}
static void pw_bytes(pw_t *w, const void *p, size_t n) {  /* BINBYTES */
    pw_op(w, 'B');
    pw_u32(w, (uint32_t)n);
    pw_raw(w, p, n);
}
static void pw_global(pw_t *w, const char *mod, const char *name) {
    pw_op(w, 'c');
    pw_raw(w, mod, strlen(mod));
    pw_op(w, '\n');
    pw_raw(w, name, strlen(name));
    pw_op(w, '\n');
}
static void pw_put(pw_t *w, uint8_t idx) { pw_op(w, 'q'); pw_op(w, idx); }  /* BINPUT */
static void pw_get(pw_t *w, uint8_t idx) { pw_op(w, 'h'); pw_op(w, idx); }  /* BINGET */

enum { ENC_F4, ENC_F4_FORTRAN, ENC_F2, ENC_F8, ENC_F4_BIG, ENC_F4_NUMPY2, ENC_SCALAR, N_ENC };

/* A numpy array as numpy pickles it: _reconstruct(ndarray, (0,), b'b') +
 * BUILD (1, shape, dtype, is_fortran, raw bytes). vals in C order. */
static void pw_array(pw_t *w, int ndim, const int64_t *shape, const float *vals, int enc, const char *dtype_override,
                     int short_data) {
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) numel *= (size_t)shape[d];
    const char *ts = enc == ENC_F2 ? "f2" : enc == ENC_F8 ? "f8" : "f4";
    if (dtype_override) ts = dtype_override;
    size_t es = enc == ENC_F2 ? 2 : enc == ENC_F8 ? 8 : 4;
    uint8_t *raw = calloc(numel ? numel : 1, es);
    for (size_t i = 0; i < numel; i++) {
        size_t dst = i;
        if (enc == ENC_F4_FORTRAN && ndim >= 2) {  /* C index i -> column-major position */
            size_t rem = i, mul = 1, idx[8];
            for (int d = ndim - 1; d >= 0; d--) { idx[d] = rem % (size_t)shape[d]; rem /= (size_t)shape[d]; }
            dst = 0;
            for (int d = 0; d < ndim; d++) { dst += idx[d] * mul; mul *= (size_t)shape[d]; }
        }
        uint8_t *p = raw + dst * es;
        if (enc == ENC_F2) {
            uint16_t h = f32_to_f16(vals[i]);
            memcpy(p, &h, 2);
        } else if (enc == ENC_F8) {
            double d = vals[i];
            memcpy(p, &d, 8);
        } else {
            memcpy(p, &vals[i], 4);
            if (enc == ENC_F4_BIG) {
                uint8_t t0 = p[0], t1 = p[1];
                p[0] = p[3]; p[1] = p[2]; p[2] = t1; p[3] = t0;
            }
        }
    }
    if (enc == ENC_SCALAR) {  /* numpy.core.multiarray.scalar(dtype, bytes) */
        pw_global(w, "numpy.core.multiarray", "scalar");
        pw_op(w, '(');
    } else {
        pw_global(w, enc == ENC_F4_NUMPY2 ? "numpy._core.multiarray" : "numpy.core.multiarray", "_reconstruct");
        pw_global(w, "numpy", "ndarray");
        pw_op(w, '(');
        pw_int(w, 0);
        pw_op(w, 't');
        pw_bytes(w, "b", 1);
        pw_op(w, 0x87);  /* TUPLE3 */
        pw_op(w, 'R');
        pw_op(w, '(');
        if (enc != ENC_F4_NUMPY2) pw_int(w, 1);  /* state version (optional) */
        pw_op(w, '(');
        for (int d = 0; d < ndim; d++) pw_int(w, (int32_t)shape[d]);
        pw_op(w, 't');
    }
    pw_global(w, "numpy", "dtype");  /* dtype(ts, False, True) + BUILD (3, order, ...) */
    pw_op(w, '(');
    pw_str(w, ts);
    pw_op(w, 0x89);
    pw_op(w, 0x88);
    pw_op(w, 't');
    pw_op(w, 'R');
    pw_op(w, '(');
    pw_int(w, 3);
    pw_str(w, enc == ENC_F4_BIG ? ">" : "<");
    pw_op(w, 'N');
    pw_op(w, 'N');
    pw_op(w, 'N');
    pw_int(w, -1);
    pw_int(w, -1);
    pw_int(w, 0);
    pw_op(w, 't');
    pw_op(w, 'b');
    if (enc == ENC_SCALAR) {
        pw_bytes(w, raw, es);
        pw_op(w, 't');
        pw_op(w, 'R');
    } else {
        pw_op(w, enc == ENC_F4_FORTRAN ? 0x88 : 0x89);
        pw_bytes(w, raw, numel * es - (short_data ? es : 0));
        pw_op(w, 't');
        pw_op(w, 'b');
    }
    free(raw);
}

/* What to write (and how to break it). */
typedef struct syn {
    int version, label_size, use_noise_false, lone, two_tuple, cycle, fanout, dup_var, int_value, big_kernel;
    int conv_clamp_none, all_f4;
    const char *build_func, *synth_func, *architecture, *extra_kwarg, *extra_var, *drop_var, *bad_shape_var;
    const char *dtype_override_var, *dtype_override, *short_var, *mapping_fmaps, *forbidden;
} syn_t;

/* The synthetic generator, written out here independently of sg2_layout:
 * 8x8 RGB, z 6, w 5, channels 4 (b4) and 2 (b8), 2 mapping layers
 * (TF: resolution 8, fmap_base 8 -> channel_base 16), in state_dict order. */
typedef enum role {
    R_CONST, R_FILTER, R_CONV_W, R_NOISE_STRENGTH, R_BIAS, R_NOISE, R_AFF_W, R_AFF_B, R_RGB_W, R_W_AVG, R_MAP_W,
    R_MAP_B
} role_t;

typedef struct syn_tensor {
    char name[96];
    role_t role;
    int ndim;
    int64_t shape[4];
} syn_tensor_t;

static void syn_add(syn_tensor_t *s, int *n, role_t role, int ndim, int64_t a, int64_t b, int64_t c, int64_t d,
                    const char *name) {
    syn_tensor_t *x = &s[(*n)++];
    snprintf(x->name, sizeof x->name, "%s", name);
    x->role = role;
    x->ndim = ndim;
    x->shape[0] = a; x->shape[1] = b; x->shape[2] = c; x->shape[3] = d;
}

static void syn_layer(syn_tensor_t *s, int *n, const char *p, int cin, int cout, int res) {
    char nm[96];
    snprintf(nm, sizeof nm, "%s.weight", p); syn_add(s, n, R_CONV_W, 4, cout, cin, 3, 3, nm);
    snprintf(nm, sizeof nm, "%s.noise_strength", p); syn_add(s, n, R_NOISE_STRENGTH, 0, 0, 0, 0, 0, nm);
    snprintf(nm, sizeof nm, "%s.bias", p); syn_add(s, n, R_BIAS, 1, cout, 0, 0, 0, nm);
    snprintf(nm, sizeof nm, "%s.resample_filter", p); syn_add(s, n, R_FILTER, 2, 4, 4, 0, 0, nm);
    snprintf(nm, sizeof nm, "%s.noise_const", p); syn_add(s, n, R_NOISE, 2, res, res, 0, 0, nm);
    snprintf(nm, sizeof nm, "%s.affine.weight", p); syn_add(s, n, R_AFF_W, 2, cin, 5, 0, 0, nm);
    snprintf(nm, sizeof nm, "%s.affine.bias", p); syn_add(s, n, R_AFF_B, 1, cin, 0, 0, 0, nm);
}

static int syn_tensors(syn_tensor_t *s) {
    int n = 0;
    syn_add(s, &n, R_CONST, 3, 4, 4, 4, 0, "synthesis.b4.const");
    syn_add(s, &n, R_FILTER, 2, 4, 4, 0, 0, "synthesis.b4.resample_filter");
    syn_layer(s, &n, "synthesis.b4.conv1", 4, 4, 4);
    syn_add(s, &n, R_RGB_W, 4, 3, 4, 1, 1, "synthesis.b4.torgb.weight");
    syn_add(s, &n, R_BIAS, 1, 3, 0, 0, 0, "synthesis.b4.torgb.bias");
    syn_add(s, &n, R_AFF_W, 2, 4, 5, 0, 0, "synthesis.b4.torgb.affine.weight");
    syn_add(s, &n, R_AFF_B, 1, 4, 0, 0, 0, "synthesis.b4.torgb.affine.bias");
    syn_add(s, &n, R_FILTER, 2, 4, 4, 0, 0, "synthesis.b8.resample_filter");
    syn_layer(s, &n, "synthesis.b8.conv0", 4, 2, 8);
    syn_layer(s, &n, "synthesis.b8.conv1", 2, 2, 8);
    syn_add(s, &n, R_RGB_W, 4, 3, 2, 1, 1, "synthesis.b8.torgb.weight");
    syn_add(s, &n, R_BIAS, 1, 3, 0, 0, 0, "synthesis.b8.torgb.bias");
    syn_add(s, &n, R_AFF_W, 2, 2, 5, 0, 0, "synthesis.b8.torgb.affine.weight");
    syn_add(s, &n, R_AFF_B, 1, 2, 0, 0, 0, "synthesis.b8.torgb.affine.bias");
    syn_add(s, &n, R_W_AVG, 1, 5, 0, 0, 0, "mapping.w_avg");
    syn_add(s, &n, R_MAP_W, 2, 5, 6, 0, 0, "mapping.fc0.weight");
    syn_add(s, &n, R_MAP_B, 1, 5, 0, 0, 0, "mapping.fc0.bias");
    syn_add(s, &n, R_MAP_W, 2, 5, 5, 0, 0, "mapping.fc1.weight");
    syn_add(s, &n, R_MAP_B, 1, 5, 0, 0, 0, "mapping.fc1.bias");
    return n;
}

/* PyTorch-layout value k of tensor i: multiples of 1/16, exact in f16 and
 * (minus 1) in f32. */
static float syn_value(int i, size_t k) { return (float)((int)((i * 7919u + k * 31u) % 61u) - 30) / 16.0f; }

/* The TF variable of PyTorch tensor spec s: its name, shape and values
 * (the inverse of FORMAT.md §4.2, written from the TF side). 0 if the tensor
 * has no TF variable (resample filters). */
static int tf_variable(const syn_tensor_t *s, const float *P, char *name, int *ndim, int64_t *shape, float *T) {
    int res = 0, fc = -1;
    char layer[32] = "", scope[96] = "";
    const int64_t *d = s->shape;
    size_t numel = 1;
    for (int i = 0; i < s->ndim; i++) numel *= (size_t)d[i];
    if (sscanf(s->name, "synthesis.b%d.%31[a-z0-9]", &res, layer) == 2) {
        if (res == 4 && !strcmp(layer, "conv1")) snprintf(scope, sizeof scope, "synthesis/4x4/Conv");
        else snprintf(scope, sizeof scope, "synthesis/%dx%d/%s", res, res,
                      !strcmp(layer, "conv0") ? "Conv0_up" : !strcmp(layer, "conv1") ? "Conv1" : "ToRGB");
    } else {
        sscanf(s->name, "mapping.fc%d", &fc);
    }
    *ndim = s->ndim;
    memcpy(shape, d, sizeof(int64_t) * 4);
    switch (s->role) {
    case R_FILTER: return 0;
    case R_CONST:  /* (C,4,4) -> [1,C,4,4] */
        sprintf(name, "synthesis/4x4/Const/const");
        *ndim = 4;
        shape[0] = 1; shape[1] = d[0]; shape[2] = d[1]; shape[3] = d[2];
        memcpy(T, P, sizeof(float) * numel);
        return 1;
    case R_CONV_W:
    case R_RGB_W: {  /* (O,I,K,K) -> [K,K,I,O], Conv0_up flipped */
        int64_t O = d[0], I = d[1], K = d[2];
        int flip = !strcmp(layer, "conv0");
        sprintf(name, "%s/weight", scope);
        shape[0] = K; shape[1] = K; shape[2] = I; shape[3] = O;
        for (int64_t o = 0; o < O; o++)
            for (int64_t i = 0; i < I; i++)
                for (int64_t y = 0; y < K; y++)
                    for (int64_t x = 0; x < K; x++) {
                        int64_t ty = flip ? K - 1 - y : y, tx = flip ? K - 1 - x : x;
                        T[((ty * K + tx) * I + i) * O + o] = P[((o * I + i) * K + y) * K + x];
                    }
        return 1;
    }
    case R_AFF_W:
    case R_MAP_W:  /* (R,C) -> [C,R] */
        if (s->role == R_AFF_W) sprintf(name, "%s/mod_weight", scope);
        else sprintf(name, "mapping/Dense%d/weight", fc);
        shape[0] = d[1]; shape[1] = d[0];
        for (int64_t r = 0; r < d[0]; r++)
            for (int64_t c = 0; c < d[1]; c++) T[c * d[0] + r] = P[r * d[1] + c];
        return 1;
    case R_AFF_B:
        sprintf(name, "%s/mod_bias", scope);
        for (size_t k = 0; k < numel; k++) T[k] = P[k] - 1.0f;
        return 1;
    case R_NOISE: {  /* (r,r) -> [1,1,r,r] as noise<w index> */
        int lg = 0;
        while ((1 << lg) < res) lg++;
        sprintf(name, "synthesis/noise%d", res == 4 ? 0 : !strcmp(layer, "conv0") ? 2 * lg - 5 : 2 * lg - 4);
        *ndim = 4;
        shape[0] = 1; shape[1] = 1; shape[2] = d[0]; shape[3] = d[1];
        memcpy(T, P, sizeof(float) * numel);
        return 1;
    }
    case R_W_AVG: sprintf(name, "dlatent_avg"); break;
    case R_MAP_B: sprintf(name, "mapping/Dense%d/bias", fc); break;
    case R_NOISE_STRENGTH: sprintf(name, "%s/noise_strength", scope); break;
    case R_BIAS: sprintf(name, "%s/bias", scope); break;
    }
    memcpy(T, P, sizeof(float) * numel);
    return 1;
}

static void pw_key_str(pw_t *w, const char *k, const char *v) { pw_str(w, k); pw_str(w, v); }
static void pw_key_int(pw_t *w, const char *k, int v) { pw_str(w, k); pw_int(w, v); }

/* One Network: NEWOBJ + BUILD(state). comp: "Gs", "synthesis", "mapping" or "D".
 * Variables of the comp are those whose TF name starts with its prefix. */
static void pw_network(pw_t *w, const syn_t *o, const char *comp, const syn_tensor_t *specs, int nspec,
                       float **P) {
    int top = !strcmp(comp, "Gs");
    pw_global(w, "dnnlib.tflib.network", "Network");
    pw_op(w, ')');
    pw_op(w, 0x81);  /* NEWOBJ */
    if (top) pw_put(w, 1);  /* memo 1: Gs, memo 2: its mapping network */
    if (!strcmp(comp, "mapping")) pw_put(w, 2);
    pw_op(w, '}');
    pw_op(w, '(');
    pw_key_int(w, "version", top && o->version ? o->version : 5);
    pw_key_str(w, "name", top ? "Gs" : !strcmp(comp, "D") ? "D" : !strcmp(comp, "synthesis") ? "G_synthesis" : "G_mapping");
    pw_str(w, "static_kwargs");
    pw_op(w, '}');
    if (top) {  /* the kwargs of G_main */
        pw_op(w, '(');
        pw_key_int(w, "num_channels", 3);
        pw_key_int(w, "resolution", 8);
        pw_key_int(w, "label_size", o->label_size);
        pw_key_int(w, "fmap_base", 8);
        pw_key_int(w, "mapping_layers", 2);
        pw_str(w, "conv_clamp");
        if (o->conv_clamp_none) pw_op(w, 'N');
        else pw_float(w, 256.0);
        pw_key_int(w, "latent_size", 6);
        pw_key_int(w, "dlatent_size", 5);
        pw_str(w, "mapping_lrmul");
        pw_float(w, 0.01);
        pw_str(w, "resample_kernel");
        pw_op(w, ']');
        pw_op(w, '(');
        pw_int(w, 1);
        pw_int(w, 3);
        if (!o->big_kernel) pw_int(w, 3);
        pw_int(w, 1);
        pw_op(w, 'e');  /* APPENDS */
        pw_str(w, "truncation_psi");
        pw_float(w, 0.5);
        if (o->architecture) pw_key_str(w, "architecture", o->architecture);
        if (o->synth_func) pw_key_str(w, "synthesis_func", o->synth_func);
        if (o->mapping_fmaps) pw_key_int(w, "mapping_fmaps", 256);
        if (o->use_noise_false) { pw_str(w, "use_noise"); pw_op(w, 0x89); }
        if (o->extra_kwarg) { pw_str(w, o->extra_kwarg); pw_float(w, 1.0); }
        pw_op(w, 'u');
    }
    pw_str(w, "components");
    pw_op(w, '}');
    if (top) {
        pw_op(w, '(');
        pw_str(w, "synthesis");
        pw_network(w, o, "synthesis", specs, nspec, P);
        pw_str(w, "mapping");
        pw_network(w, o, "mapping", specs, nspec, P);
        for (int i = 0; i < o->fanout; i++) {  /* many keys, all the same (memoised) mapping Network */
            char k[16];
            snprintf(k, sizeof k, "x%d", i);
            pw_str(w, k);
            pw_get(w, 2);
        }
        pw_op(w, 'u');
    } else if (o->cycle && !strcmp(comp, "synthesis")) {  /* synthesis contains Gs again */
        pw_op(w, '(');
        pw_str(w, "loop");
        pw_get(w, 1);
        pw_op(w, 'u');
    }
    pw_key_str(w, "build_module_src", "# source omitted");
    pw_key_str(w, "build_func_name", top ? (o->build_func ? o->build_func : "G_main")
                                         : !strcmp(comp, "synthesis") && o->synth_func ? o->synth_func
                                         : !strcmp(comp, "synthesis") ? "G_synthesis"
                                         : !strcmp(comp, "mapping") ? "G_mapping" : "D_main");
    pw_str(w, "variables");
    pw_op(w, ']');
    pw_op(w, '(');
    const char *prefix = top ? "" : !strcmp(comp, "synthesis") ? "synthesis/" : !strcmp(comp, "mapping") ? "mapping/" : NULL;
    size_t plen = prefix ? strlen(prefix) : 0;
    int count = 0;
    static float T[4096];
    for (int i = 0; prefix && i < nspec; i++) {
        char name[128];
        int ndim;
        int64_t shape[4];
        if (!tf_variable(&specs[i], P[i], name, &ndim, shape, T)) continue;
        int mine = top ? !strchr(name, '/') : !strncmp(name, prefix, plen);
        if (!mine || (o->drop_var && !strcmp(name, o->drop_var))) continue;
        int enc = o->all_f4 ? ENC_F4 : (count++ % (N_ENC - 1));  /* ENC_SCALAR only for 0-d below */
        if (ndim == 0 && !o->all_f4 && count % 2) enc = ENC_SCALAR;
        if (o->bad_shape_var && !strcmp(name, o->bad_shape_var)) shape[ndim - 1]--;
        for (int rep = 0; rep < (o->dup_var && !strcmp(name, "dlatent_avg") ? 2 : 1); rep++) {
            pw_str(w, name + plen);
            if (o->int_value && !strcmp(name, "dlatent_avg")) pw_int(w, 7);
            else
                pw_array(w, ndim, shape, T, enc,
                         o->dtype_override_var && !strcmp(name, o->dtype_override_var) ? o->dtype_override : NULL,
                         o->short_var && !strcmp(name, o->short_var));
            pw_op(w, 0x86);  /* TUPLE2 */
        }
    }
    if (top && o->extra_var) {  /* e.g. 'lod' or a resnet Skip weight */
        int64_t shape[4] = {3, 3, 4, 2};
        int ndim = strstr(o->extra_var, "lod") ? 0 : 4;
        pw_str(w, o->extra_var);
        pw_array(w, ndim, shape, T, ENC_F4, NULL, 0);
        pw_op(w, 0x86);
    }
    if (top && o->forbidden) {
        pw_str(w, "evil");
        pw_global(w, o->forbidden, "system");
        pw_op(w, 0x86);
    }
    pw_op(w, 'e');
    pw_op(w, 'u');  /* SETITEMS */
    pw_op(w, 'b');  /* BUILD */
}

/* Writes the synthetic (G, D, Gs) pickle; returns its bytes (caller frees). */
static uint8_t *syn_pickle(const syn_t *o, size_t *len, const syn_tensor_t *specs, int nspec, float **P) {
    pw_t w = {0};
    pw_op(&w, 0x80);
    pw_op(&w, 3);
    if (o->lone) {
        pw_network(&w, o, "Gs", specs, nspec, P);
    } else {
        pw_op(&w, '(');
        if (!o->two_tuple) pw_op(&w, 'N');  /* G: never read for Gs */
        pw_network(&w, o, "D", specs, nspec, P);
        pw_network(&w, o, "Gs", specs, nspec, P);
        pw_op(&w, 't');
    }
    pw_op(&w, '.');
    *len = w.n;
    return w.b;
}

static void check_synthetic(test_ctx_t *t) {
    syn_tensor_t specs[64];
    int nspec = syn_tensors(specs);
    float *P[64];
    for (int i = 0; i < nspec; i++) {
        size_t numel = 1;
        for (int d = 0; d < specs[i].ndim; d++) numel *= (size_t)specs[i].shape[d];
        P[i] = malloc(sizeof(float) * numel);
        for (size_t k = 0; k < numel; k++)
            P[i][k] = specs[i].role == R_FILTER ? (float)((k / 4 == 0 || k / 4 == 3 ? 1 : 3) *
                                                                      (k % 4 == 0 || k % 4 == 3 ? 1 : 3)) / 64.0f
                                                           : syn_value(i, k);
    }
    sal_err_t err = {{0}};
    size_t len;

    /* the good files: every encoding, a lone Network, memo, lod, no clamp */
    const struct { const char *what; syn_t o; double clamp; } good[] = {
        {"mixed encodings", {0}, 256},
        {"all float32 C order", {.all_f4 = 1}, 256},
        {"lone Network", {.lone = 1}, 256},
        {"extra lod variable", {.extra_var = "lod"}, 256},
        {"conv_clamp None", {.conv_clamp_none = 1}, 0},
    };
    for (size_t g = 0; g < sizeof good / sizeof good[0]; g++) {
        uint8_t *pk = syn_pickle(&good[g].o, &len, specs, nspec, P);
        blob_t *b = convert_mem(pk, len, "syn.pkl", 0, &err);
        CHECK(t, b != NULL, "synthetic %s: %s", good[g].what, err.msg);
        int bad = 0;
        for (int i = 0; b && i < nspec; i++) {
            const blob_tensor_t *bt = blob_tensor_find(b, specs[i].name);
            size_t numel = 1;
            for (int d = 0; d < specs[i].ndim; d++) numel *= (size_t)specs[i].shape[d];
            int ok = bt && !strcmp(bt->name, specs[i].name) && bt->t.dtype == DT_F32 && bt->t.ndim == specs[i].ndim &&
                     bt->nbytes == numel * 4 && !memcmp(bt->t.data, P[i], numel * 4);
            if (!ok && bad++ < 3) CHECK(t, 0, "synthetic %s: tensor %s differs", good[g].what, specs[i].name);
        }
        CHECK(t, b && bad == 0 && blob_tensor_count(b) == nspec, "synthetic %s: %d bad tensors", good[g].what, bad);
        double clamp = -1;
        CHECK(t, b && blob_get_float(b, "conv_clamp", &clamp, &err) == 0 && clamp == good[g].clamp,
              "synthetic %s: conv_clamp %g", good[g].what, clamp);
        if (b && g == 0) {  /* and it runs */
            sg2_net_t *net = NULL;
            float ws[4 * 5], img[3 * 8 * 8];
            int rc = sg2_load(&net, b, &err);
            CHECK(t, rc == 0, "synthetic: sg2_load: %s", err.msg);
            if (!rc) {
                CHECK(t, run_net(net, 0, 1, 0.7f, SG2_NOISE_CONST, ws, img, NULL) == 0 && isfinite(max_abs(img, 192)) &&
                         max_abs(img, 192) > 0,
                      "synthetic net does not run");
                sg2_free(net);
            }
        }
        blob_close(b);
        free(pk);
    }
    printf("  synthetic 8x8 pickles: f4/f2/f8, C/Fortran, big-endian, numpy scalars, lone Network: %d tensors exact\n",
           nspec);

    /* the bad files: one line naming what is wrong */
    const struct { syn_t o; const char *expect; } bad[] = {
        {{.version = 3}, "state version 3 (StyleGAN v1) is not supported"},
        {{.build_func = "G_style"}, "StyleGAN (v1) generator (G_style"},
        {{.build_func = "D_main"}, "built by 'D_main', not a StyleGAN2 generator"},
        {{.label_size = 10}, "conditional models (label_size 10) are not supported"},
        {{.architecture = "resnet"}, "generator architecture 'resnet' is not supported"},
        {{.architecture = "orig"}, "generator architecture 'orig' is not supported"},
        {{.synth_func = "G_synthesis_stylegan_revised"}, "G_synthesis_stylegan_revised (StyleGAN2 config B-D"},
        {{.extra_kwarg = "fmap_decay"}, "unsupported TensorFlow kwarg 'fmap_decay'"},
        {{.mapping_fmaps = "x"}, "mapping_fmaps = 256 is not supported"},
        {{.use_noise_false = 1}, "use_noise = False is not supported"},
        {{.big_kernel = 1}, "resample_kernel [1, 3, 1] is not supported"},
        {{.extra_var = "synthesis/8x8/Skip/weight"}, "variable 'synthesis/8x8/Skip/weight' (a 'resnet' generator)"},
        {{.extra_var = "ToRGB_lod0/weight"}, "variable 'ToRGB_lod0/weight' (an 'orig' generator)"},
        {{.drop_var = "synthesis/8x8/Conv1/bias"}, "Gs has no variable 'synthesis/8x8/Conv1/bias'"},
        {{.bad_shape_var = "mapping/Dense1/weight"}, "'mapping/Dense1/weight' has shape [5,4], expected [5,5]"},
        {{.dtype_override_var = "mapping/Dense0/bias", .dtype_override = "i4"}, "numpy dtype 'i4' is not supported"},
        {{.short_var = "synthesis/4x4/Const/const"}, "data bytes for 64 elements"},
        {{.int_value = 1}, "dlatent_avg is 7, not a numpy array"},
        {{.dup_var = 1}, "variable 'dlatent_avg' appears twice"},
        {{.two_tuple = 1}, "not a TensorFlow (G, D, Gs) tuple"},
        {{.cycle = 1}, "components nested too deeply"},
        {{.fanout = 100}, "too many component networks"},
        {{.forbidden = "os"}, "forbidden global 'os.system'"},
    };
    int nbad = (int)(sizeof bad / sizeof bad[0]), good_msgs = 0;
    for (int k = 0; k < nbad; k++) {
        uint8_t *pk = syn_pickle(&bad[k].o, &len, specs, nspec, P);
        blob_t *b = convert_mem(pk, len, "syn.pkl", 0, &err);
        int ok = !b && strstr(err.msg, bad[k].expect) && one_line(&err, "syn.pkl");
        CHECK(t, ok, "synthetic bad file %d: expected '%s', got '%s'", k, bad[k].expect, b ? "success" : err.msg);
        good_msgs += ok;
        blob_close(b);
        free(pk);
    }
    /* --use-G on a lone Network; Progressive GAN */
    syn_t lone = {.lone = 1};
    uint8_t *pk = syn_pickle(&lone, &len, specs, nspec, P);
    blob_t *b = convert_mem(pk, len, "syn.pkl", 1, &err);
    CHECK(t, !b && strstr(err.msg, "single TensorFlow Network") && one_line(&err, "syn.pkl"), "lone --use-G: %s", err.msg);
    blob_close(b);
    free(pk);
    static const char pggan[] = "\x80\x02" "ctfutil\nNetwork\n)\x81}b.";
    CHECK(t, netload_detect((const uint8_t *)pggan, sizeof pggan - 1) == NETLOAD_TF, "tfutil.Network detected as TF");
    b = convert_mem((const uint8_t *)pggan, sizeof pggan - 1, "pg.pkl", 0, &err);
    CHECK(t, !b && strstr(err.msg, "Progressive GAN pickles (tfutil.Network) are not supported") && one_line(&err, "pg.pkl"),
          "ProGAN: %s", err.msg);
    blob_close(b);
    printf("  synthetic unsupported/hostile pickles: %d of %d refused with the expected one-line message\n", good_msgs,
           nbad);

    /* the mixed-encoding file damaged: every truncation, and byte changes
     * anywhere (array payloads included: f2/f8/Fortran/big-endian/scalars) */
    syn_t mixed = {0};
    pk = syn_pickle(&mixed, &len, specs, nspec, P);
    uint8_t *c = malloc(len);
    int refused = 0, clear = 0, changed = 0, accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        b = convert_mem(pk, cut, "syn.pkl", 0, &err);
        refused += b == NULL;
        clear += b == NULL && one_line(&err, "syn.pkl");
        blob_close(b);
    }
    CHECK(t, refused == (int)len && clear == refused, "synthetic truncations: %d of %zu refused, %d clearly", refused, len,
          clear);
    uint64_t seed = 12345;
    int cfails = 0, cclear = 0;
    for (int k = 0; k < 3000; k++) {
        memcpy(c, pk, len);
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        size_t at = seed % len;
        c[at] = (uint8_t)(seed >> 32);
        if (k % 3 == 0 && at + 1 < len) c[at + 1] = (uint8_t)(seed >> 40);
        changed++;
        b = convert_mem(c, len, "syn.pkl", 0, &err);
        if (!b) {
            cfails++;
            cclear += one_line(&err, "syn.pkl");
        } else {
            accepted++;
        }
        blob_close(b);
    }
    CHECK(t, cfails == cclear && cfails > 0, "synthetic byte changes: %d refused, %d clearly", cfails, cclear);
    printf("  synthetic file (%zu bytes): %zu truncations refused; %d byte changes: %d refused, %d accepted\n", len, len,
           changed, cfails, accepted);
    free(c);
    free(pk);
    for (int i = 0; i < nspec; i++) free(P[i]);
}

/* ---- 4. damaged fixtures ----------------------------------------------------- */

/* Payload byte ranges [off, off+nbytes) of every variable in *.variables.txt. */
static int read_payloads(test_ctx_t *t, const char *vars, int64_t (*rng)[2], int max, int gs_only) {
    char path[4096], line[1024];
    FILE *f = fopen(test_shared(t, vars, path, sizeof path), "r");
    int n = 0;
    while (f && n < max && fgets(line, sizeof line, f)) {
        int idx;
        char net[16], comp[32], tfn[128], leg[128], shape[64], dt[16];
        long long off, nb;
        if (line[0] == '#' || sscanf(line, "%d %15s %31s %127s %127s %63s %15s %lld %lld", &idx, net, comp, tfn, leg,
                                     shape, dt, &off, &nb) != 9)
            continue;
        if (gs_only && strcmp(net, "Gs")) continue;
        rng[n][0] = off;
        rng[n][1] = off + nb;
        n++;
    }
    if (f) fclose(f);
    return n;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void check_damage(test_ctx_t *t, const char *pkl, const char *vars, int truncations, int changes) {
    char rel[512], path[4096];
    snprintf(rel, sizeof rel, TF_DIR "%s", pkl);
    size_t n = 0;
    uint8_t *pk = test_read_raw(test_shared(t, rel, path, sizeof path), &n);
    CHECK(t, pk != NULL, "read %s", pkl);
    if (!pk) return;
    snprintf(rel, sizeof rel, TF_DIR "%s", vars);
    static int64_t all[512][2], gs[256][2];
    int nall = read_payloads(t, rel, all, 512, 0), ngs = read_payloads(t, rel, gs, 256, 1);
    CHECK(t, nall >= 170 && ngs >= 76, "%s: %d payloads listed", vars, nall);
    sal_err_t err;
    int tried = 0, refused = 0, clear = 0;
    if (truncations) {
        size_t cuts[4000];
        int nc = 0;
        for (size_t k = 0; k < 2048; k++) cuts[nc++] = k;                    /* every offset of the header */
        for (int v = 0; v < ngs; v++)                                         /* around each Gs payload */
            for (int d = -3; d <= 1; d++) {
                cuts[nc++] = (size_t)(gs[v][0] + d);
                cuts[nc++] = (size_t)(gs[v][1] + d);
            }
        for (int k = 1; k < 200; k++) cuts[nc++] = n / 200 * (size_t)k;     /* spread */
        cuts[nc++] = n - 1;
        for (int k = 0; k < nc; k++) {
            if (cuts[k] >= n) continue;
            tried++;
            blob_t *b = convert_mem(pk, cuts[k], "cut.pkl", 0, &err);
            refused += b == NULL;
            clear += b == NULL && one_line(&err, "cut.pkl");
            blob_close(b);
        }
        CHECK(t, refused == tried && clear == tried, "%s truncated: %d of %d refused, %d with a clear message", pkl,
              refused, tried, clear);
        printf("  %-16s %d truncations: all refused with one-line errors\n", pkl, tried);
    }
    /* byte changes in the opcode stream: positions outside every array payload */
    uint8_t *c = malloc(n);
    uint64_t s = 0x9E3779B97F4A7C15ull ^ n;
    int done = 0, fails = 0, fails_clear = 0, loaded = 0;
    while (done < changes) {
        size_t at = xorshift(&s) % n;
        int inside = 0;
        for (int v = 0; v < nall && !inside; v++) inside = (int64_t)at >= all[v][0] && (int64_t)at < all[v][1];
        if (inside) continue;
        memcpy(c, pk, n);
        int burst = 1 + (int)(xorshift(&s) % 3);
        for (int k = 0; k < burst && at + (size_t)k < n; k++) c[at + (size_t)k] = (uint8_t)xorshift(&s);
        done++;
        blob_t *b = convert_mem(c, n, "bad.pkl", 0, &err);
        if (!b) {
            fails++;
            fails_clear += one_line(&err, "bad.pkl");
            if (!one_line(&err, "bad.pkl") && fails - fails_clear < 3) printf("  unclear: %s\n", err.msg);
        } else {  /* accepted: it must still be a loadable generator, or refused cleanly by sg2_load */
            sg2_net_t *net = NULL;
            if (sg2_load(&net, b, &err) == 0) loaded++;
            sg2_free(net);
            blob_close(b);
        }
    }
    CHECK(t, fails == fails_clear && fails > changes / 10, "%s changed: %d of %d refused, %d clearly", pkl, fails, changes,
          fails_clear);
    printf("  %-16s %d opcode-byte changes: %d refused (one-line errors), %d still valid (%d load)\n", pkl, changes,
           fails, changes - fails, loaded);
    free(c);
    free(pk);
}

int main(void) {
    test_ctx_t t = test_begin("tf");
    /* one thread: this test is about the conversion; the generator's threading
     * has its own tests, and on a busy 2-core machine OpenMP waits cost more
     * than the 8x8..64x64 passes here */
    threads_set(1);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* 3: synthetic pickles the test writes, no fixture needed */
    check_synthetic(&t);
    if (!test_need_shared(&t, "fixtures/stylegan2-tf") || !test_need_shared(&t, "fixtures/stylegan2"))
        return test_end(&t);

    /* 1 */
    blob_t *tiny = open_net(&t, PT_DIR "tiny/tiny.pkl", 0), *small = open_net(&t, PT_DIR "small/small.pkl", 0);
    blob_t *tiny_G = open_net(&t, PT_DIR "tiny/tiny.pkl", 1);
    blob_t *tf = open_net(&t, TF_DIR "tiny_tf.pkl", 0), *stf = open_net(&t, TF_DIR "small_tf.pkl", 0);
    blob_t *sg2 = open_net(&t, TF_DIR "tiny_sg2_tf.pkl", 0), *tf_G = open_net(&t, TF_DIR "tiny_tf.pkl", 1);
    check_same_blob(&t, "tiny_tf.pkl = tiny.pkl", tf, tiny, 0);
    check_same_blob(&t, "small_tf.pkl = small.pkl", stf, small, 0);
    check_same_blob(&t, "tiny_sg2_tf.pkl = tiny.pkl", sg2, tiny, 1);
    check_same_blob(&t, "tiny_tf.pkl G = tiny.pkl G", tf_G, tiny_G, 0);
    const char *s = NULL;
    sal_err_t err;
    CHECK(&t, tf && blob_get_str(tf, "network", &s, &err) == 0 && !strcmp(s, "Gs"), "network Gs");
    CHECK(&t, tf && blob_get_str(tf, "source", &s, &err) == 0 && !strcmp(s, "tf-pickle:tiny_tf.pkl"), "source");
    blob_close(tiny);
    blob_close(small);
    blob_close(tiny_G);
    blob_close(tf);
    blob_close(stf);
    blob_close(sg2);
    blob_close(tf_G);

    /* 2 */
    stats_t st;
    check_refs(&t, "tiny_tf.pkl", "tiny", 0, &st);
    CHECK(&t, st.files >= 60, "tiny_tf: %d reference files", st.files);
    check_refs(&t, "small_tf.pkl", "small", 0, &st);
    CHECK(&t, st.files >= 60, "small_tf: %d reference files", st.files);
    check_refs(&t, "tiny_sg2_tf.pkl", "tiny", 1, &st);

    /* 4 */
    check_damage(&t, "tiny_sg2_tf.pkl", "tiny_sg2_tf.variables.txt", 1, 300);
    check_damage(&t, "tiny_tf.pkl", "tiny_tf.variables.txt", 0, 300);
    return test_end(&t);
}

/* sg2_tf.c — TensorFlow StyleGAN2(-ADA) pickles -> blob; see sg2_tf.h.
 *
 * Steps: run the safe pickle VM over the file; check the top is a
 * (G, D, Gs) tuple of Networks; collect the chosen network's variables
 * (own ones, then each component's with "<key>/" in front, as NVIDIA's
 * legacy.py does); read the config from its static_kwargs; then walk the
 * PyTorch tensor list of that config (sg2_layout) and fill each tensor from
 * its TF variable with the re-indexing of FORMAT.md §4.2.
 */
#include "sg2_tf.h"

#include <stdlib.h>
#include <string.h>

#include "pickle.h"
#include "sg2_layout.h"

#define MAX_COMPONENT_DEPTH 8
#define MAX_VAR_NAME 256

/* FORMAT.md §2.5 (+ the numpy >= 2 spellings and numpy scalars, §2.8). */
static const pk_global_t TF_GLOBALS[] = {
    {"dnnlib.tflib.network", "Network", PK_G_OBJECT},
    {"numpy.core.multiarray", "_reconstruct", PK_G_OBJECT},
    {"numpy._core.multiarray", "_reconstruct", PK_G_OBJECT},
    {"numpy.core.multiarray", "scalar", PK_G_OBJECT},
    {"numpy._core.multiarray", "scalar", PK_G_OBJECT},
    {"numpy", "ndarray", PK_G_CLASS},
    {"numpy", "dtype", PK_G_OBJECT},
};
#define N_TF_GLOBALS ((int)(sizeof TF_GLOBALS / sizeof TF_GLOBALS[0]))

typedef struct tf_var {
    char name[MAX_VAR_NAME];  /* "synthesis/8x8/Conv0_up/weight" */
    const pk_node_t *value;
} tf_var_t;

typedef struct tf_array {
    int ndim;
    int64_t shape[8];
    dtype_t dtype;
    int fortran;
    const uint8_t *data;
} tf_array_t;

typedef struct tfconv {
    const char *file;
    pk_ctx_t *ctx;
    const pk_node_t *net_state;  /* state dict of Gs (or G) */
    const char *net_key;
    tf_var_t *vars;
    int n_vars, cap_vars;
    sal_err_t *err;
} tfconv_t;

/* ---- networks and variables --------------------------------------------- */

static const pk_node_t *network_state(const pk_node_t *n) {
    if (!pk_is_call(n, "dnnlib.tflib.network", "Network") || !n->state || n->state->type != PK_DICT) return NULL;
    return n->state;
}

static int collect(tfconv_t *cv, const pk_node_t *state, const char *prefix, int depth) {
    if (depth > MAX_COMPONENT_DEPTH) return sal_errf(cv->err, "%s: components nested too deeply", cv->file);
    const pk_node_t *vars = pk_dict_get(state, "variables");
    if (vars && vars->type != PK_LIST && vars->type != PK_TUPLE)
        return sal_errf(cv->err, "%s: '%s' variables are not a list", cv->file, prefix);
    for (size_t i = 0; vars && i < vars->n; i++) {
        const pk_node_t *pair = vars->items[i];
        if ((pair->type != PK_TUPLE && pair->type != PK_LIST) || pair->n != 2 || pair->items[0]->type != PK_STR ||
            strlen(pair->items[0]->s) != pair->items[0]->len)
            return sal_errf(cv->err, "%s: malformed variable entry under '%s'", cv->file, prefix);
        if (cv->n_vars == cv->cap_vars) {
            int nc = cv->cap_vars ? 2 * cv->cap_vars : 128;
            tf_var_t *v = realloc(cv->vars, sizeof *v * (size_t)nc);
            if (!v) return sal_errf(cv->err, "%s: out of memory", cv->file);
            cv->vars = v;
            cv->cap_vars = nc;
        }
        tf_var_t *v = &cv->vars[cv->n_vars];
        if (snprintf(v->name, sizeof v->name, "%s%s", prefix, pair->items[0]->s) >= (int)sizeof v->name)
            return sal_errf(cv->err, "%s: variable name too long under '%s'", cv->file, prefix);
        v->value = pair->items[1];
        cv->n_vars++;
    }
    const pk_node_t *comps = pk_dict_get(state, "components");
    if (!comps || comps->type == PK_NONE) return 0;
    if (comps->type != PK_DICT) return sal_errf(cv->err, "%s: components are not a dict", cv->file);
    for (size_t i = 0; i < comps->n; i++) {
        const pk_node_t *k = comps->items[2 * i], *net = comps->items[2 * i + 1];
        const pk_node_t *st = network_state(net);
        if (k->type != PK_STR || !st) return sal_errf(cv->err, "%s: malformed component under '%s'", cv->file, prefix);
        char p[MAX_VAR_NAME];
        if (snprintf(p, sizeof p, "%s%s/", prefix, k->s) >= (int)sizeof p)
            return sal_errf(cv->err, "%s: component name too long", cv->file);
        if (collect(cv, st, p, depth + 1)) return -1;
    }
    return 0;
}

static const tf_var_t *find_var(const tfconv_t *cv, const char *name) {
    for (int i = 0; i < cv->n_vars; i++)
        if (strcmp(cv->vars[i].name, name) == 0) return &cv->vars[i];
    return NULL;
}

/* ---- numpy arrays --------------------------------------------------------- */

static int decode_dtype(tfconv_t *cv, const char *what, const pk_node_t *d, dtype_t *dt) {
    if (!pk_is_call(d, "numpy", "dtype") || d->args->n < 1 || d->args->items[0]->type != PK_STR)
        return sal_errf(cv->err, "%s: %s: bad numpy dtype", cv->file, what);
    const char *s = d->args->items[0]->s;
    if (!strcmp(s, "f4")) *dt = DT_F32;
    else if (!strcmp(s, "f2")) *dt = DT_F16;
    else if (!strcmp(s, "f8")) *dt = DT_F64;
    else return sal_errf(cv->err, "%s: %s: unsupported numpy dtype '%.20s'", cv->file, what, s);
    const pk_node_t *st = d->state;  /* (3, '<', None, None, None, -1, -1, 0) */
    if (st && st->type == PK_TUPLE && st->n >= 2 && st->items[1]->type == PK_STR && pk_is_str(st->items[1], ">"))
        return sal_errf(cv->err, "%s: %s: big-endian arrays are not supported", cv->file, what);
    return 0;
}

static int decode_array(tfconv_t *cv, const char *what, const pk_node_t *n, tf_array_t *a) {
    memset(a, 0, sizeof *a);
    const pk_node_t *shape, *dtype, *data;
    if (pk_is_call(n, "numpy.core.multiarray", "_reconstruct") ||
        pk_is_call(n, "numpy._core.multiarray", "_reconstruct")) {
        const pk_node_t *st = n->state;  /* (1, shape, dtype, is_fortran, data) or without the 1 */
        if (!st || st->type != PK_TUPLE || (st->n != 5 && st->n != 4))
            return sal_errf(cv->err, "%s: %s: numpy array without a valid state", cv->file, what);
        size_t o = st->n - 4;
        shape = st->items[o];
        dtype = st->items[o + 1];
        int64_t f;
        if (pk_as_int(st->items[o + 2], &f)) return sal_errf(cv->err, "%s: %s: bad array order flag", cv->file, what);
        a->fortran = f != 0;
        data = st->items[o + 3];
        if (shape->type != PK_TUPLE || shape->n > 8) return sal_errf(cv->err, "%s: %s: bad array shape", cv->file, what);
        a->ndim = (int)shape->n;
        for (int i = 0; i < a->ndim; i++)
            if (pk_as_int(shape->items[i], &a->shape[i]) || a->shape[i] < 0 || a->shape[i] > ((int64_t)1 << 40))
                return sal_errf(cv->err, "%s: %s: bad array shape", cv->file, what);
    } else if (pk_is_call(n, "numpy.core.multiarray", "scalar") || pk_is_call(n, "numpy._core.multiarray", "scalar")) {
        if (n->args->n != 2) return sal_errf(cv->err, "%s: %s: bad numpy scalar", cv->file, what);
        dtype = n->args->items[0];
        data = n->args->items[1];
    } else {
        return sal_errf(cv->err, "%s: %s is a %s, not a numpy array", cv->file, what, pk_type_name(n->type));
    }
    if (decode_dtype(cv, what, dtype, &a->dtype)) return -1;
    if (data->type != PK_BYTES) return sal_errf(cv->err, "%s: %s: array data is not bytes", cv->file, what);
    uint64_t numel = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] && numel > ((uint64_t)1 << 40) / (uint64_t)a->shape[i])
            return sal_errf(cv->err, "%s: %s: array too large", cv->file, what);
        numel *= (uint64_t)a->shape[i];
    }
    if (numel * dtype_size(a->dtype) != data->len)
        return sal_errf(cv->err, "%s: %s: %zu data bytes for %llu elements", cv->file, what, data->len,
                        (unsigned long long)numel);
    a->data = data->bytes;
    return 0;
}

static float elem_f32(const tf_array_t *a, size_t i) {
    const uint8_t *p = a->data + i * dtype_size(a->dtype);
    if (a->dtype == DT_F32) { float f; memcpy(&f, p, 4); return f; }
    if (a->dtype == DT_F16) { uint16_t h; memcpy(&h, p, 2); return f16_to_f32(h); }
    double d;
    memcpy(&d, p, 8);
    return (float)d;
}

/* The variable as float32 in C order, checked against the expected TF shape.
 * Returns a malloc'ed array (caller frees) or NULL with err set. */
static float *get_var(tfconv_t *cv, const char *name, int ndim, const int64_t *want) {
    const tf_var_t *v = find_var(cv, name);
    if (!v) {
        sal_errf(cv->err, "%s: %s has no variable '%s'", cv->file, cv->net_key, name);
        return NULL;
    }
    tf_array_t a;
    if (decode_array(cv, name, v->value, &a)) return NULL;
    int ok = a.ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = a.shape[i] == want[i];
    if (!ok) {
        char got[96] = "", exp[96] = "";
        for (int i = 0; i < a.ndim; i++) snprintf(got + strlen(got), sizeof got - strlen(got), i ? ",%lld" : "%lld", (long long)a.shape[i]);
        for (int i = 0; i < ndim; i++) snprintf(exp + strlen(exp), sizeof exp - strlen(exp), i ? ",%lld" : "%lld", (long long)want[i]);
        sal_errf(cv->err, "%s: variable '%s' has shape [%s], expected [%s]", cv->file, name, got, exp);
        return NULL;
    }
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= (size_t)want[i];
    float *out = malloc(sizeof(float) * (numel ? numel : 1));
    if (!out) {
        sal_errf(cv->err, "%s: out of memory", cv->file);
        return NULL;
    }
    if (!a.fortran || ndim < 2) {
        for (size_t i = 0; i < numel; i++) out[i] = elem_f32(&a, i);
    } else {  /* column-major source: element (i0..ik) at sum i_j * prod_{l<j} n_l */
        int64_t idx[8] = {0};
        for (size_t i = 0; i < numel; i++) {
            size_t src = 0, mul = 1;
            for (int d = 0; d < ndim; d++) { src += (size_t)idx[d] * mul; mul *= (size_t)want[d]; }
            out[i] = elem_f32(&a, src);
            for (int d = ndim - 1; d >= 0 && ++idx[d] == want[d]; d--) idx[d] = 0;
        }
    }
    return out;
}

/* ---- config ------------------------------------------------------------------ */

static int kw_int(tfconv_t *cv, const pk_node_t *kw, const char *key, int def, int lo, int hi, int *out) {
    const pk_node_t *v = pk_dict_get(kw, key);
    int64_t x = def;
    if (v && v->type != PK_NONE && pk_as_int(v, &x))
        return sal_errf(cv->err, "%s: static kwarg %s is not an integer", cv->file, key);
    if (x < lo || x > hi) return sal_errf(cv->err, "%s: static kwarg %s = %lld out of range", cv->file, key, (long long)x);
    *out = (int)x;
    return 0;
}

static int read_tf_config(tfconv_t *cv, sg2_config_t *c, int *has_clamp) {
    const pk_node_t *kw = pk_dict_get(cv->net_state, "static_kwargs");
    if (!kw || kw->type != PK_DICT) return sal_errf(cv->err, "%s: %s has no static_kwargs", cv->file, cv->net_key);
    /* legacy.py's list of understood kwargs; others change the network */
    static const char *known[] = {"latent_size", "label_size", "dlatent_size", "resolution", "num_channels",
                                  "mapping_layers", "label_fmaps", "mapping_fmaps", "mapping_nonlinearity",
                                  "mapping_lrmul", "w_avg_beta", "fmap_base", "fmap_max", "num_fp16_res",
                                  "conv_clamp", "architecture", "resample_kernel", "use_noise", "nonlinearity",
                                  "truncation_psi", "truncation_cutoff", "style_mixing_prob", "structure"};
    for (size_t i = 0; i < kw->n; i++) {
        const pk_node_t *k = kw->items[2 * i];
        int ok = 0;
        for (size_t j = 0; j < sizeof known / sizeof known[0] && !ok; j++) ok = pk_is_str(k, known[j]);
        if (!ok) {
            char r[80];
            return sal_errf(cv->err, "%s: unsupported TensorFlow kwarg %s", cv->file, pk_repr(k, r, sizeof r));
        }
    }
    memset(c, 0, sizeof *c);
    int fmap_base = 16384;
    if (kw_int(cv, kw, "latent_size", 512, 0, 65536, &c->z_dim) || kw_int(cv, kw, "label_size", 0, 0, 1 << 20, &c->c_dim) ||
        kw_int(cv, kw, "dlatent_size", 512, 1, 65536, &c->w_dim) ||
        kw_int(cv, kw, "resolution", 1024, 4, 16384, &c->img_resolution) ||
        kw_int(cv, kw, "num_channels", 3, 1, 16, &c->img_channels) ||
        kw_int(cv, kw, "mapping_layers", 8, 1, 64, &c->mapping_layers) ||
        kw_int(cv, kw, "fmap_base", 16384, 1, 1 << 24, &fmap_base) ||
        kw_int(cv, kw, "fmap_max", 512, 1, 65536, &c->channel_max) ||
        kw_int(cv, kw, "num_fp16_res", 0, 0, 64, &c->num_fp16_res))
        return -1;
    if (c->c_dim > 0)
        return sal_errf(cv->err, "%s: conditional models (label_size %d) are not supported", cv->file, c->c_dim);
    c->channel_base = 2 * fmap_base;
    c->lr_multiplier = 0.01;
    const pk_node_t *v = pk_dict_get(kw, "mapping_lrmul");
    if (v && (pk_as_float(v, &c->lr_multiplier) || !(c->lr_multiplier > 0)))
        return sal_errf(cv->err, "%s: bad mapping_lrmul", cv->file);
    c->w_avg_beta = 0.995;
    if ((v = pk_dict_get(kw, "w_avg_beta"))) pk_as_float(v, &c->w_avg_beta);
    double clamp = 0;
    v = pk_dict_get(kw, "conv_clamp");
    *has_clamp = v && v->type != PK_NONE;
    if (*has_clamp && (pk_as_float(v, &clamp) || clamp < 0 || clamp > 1e9))
        return sal_errf(cv->err, "%s: bad conv_clamp", cv->file);
    c->conv_clamp = (int)(clamp + 0.5);
    v = pk_dict_get(kw, "architecture");
    c->architecture = "skip";
    if (v && !pk_is_str(v, "skip")) {
        char r[80];
        return sal_errf(cv->err, "%s: architecture %s is not supported (only 'skip')", cv->file, pk_repr(v, r, sizeof r));
    }
    const char *must_none[] = {"label_fmaps", "mapping_fmaps"};
    for (int i = 0; i < 2; i++)
        if ((v = pk_dict_get(kw, must_none[i])) && v->type != PK_NONE)
            return sal_errf(cv->err, "%s: %s is not supported", cv->file, must_none[i]);
    const char *lrelu[] = {"nonlinearity", "mapping_nonlinearity"};
    for (int i = 0; i < 2; i++)
        if ((v = pk_dict_get(kw, lrelu[i])) && !pk_is_str(v, "lrelu"))
            return sal_errf(cv->err, "%s: %s other than 'lrelu' is not supported", cv->file, lrelu[i]);
    if ((v = pk_dict_get(kw, "use_noise")) && v->type == PK_BOOL && !v->i)
        return sal_errf(cv->err, "%s: use_noise=False is not supported", cv->file);
    if ((v = pk_dict_get(kw, "resample_kernel")) && v->type != PK_NONE) {
        int64_t k[4];
        if ((v->type != PK_LIST && v->type != PK_TUPLE) || v->n != 4 || pk_as_int(v->items[0], &k[0]) ||
            pk_as_int(v->items[1], &k[1]) || pk_as_int(v->items[2], &k[2]) || pk_as_int(v->items[3], &k[3]) ||
            k[0] != 1 || k[1] != 3 || k[2] != 3 || k[3] != 1)
            return sal_errf(cv->err, "%s: resample_kernel other than [1,3,3,1] is not supported", cv->file);
    }
    const char *why;
    if (sg2_config_check(c, &why)) return sal_errf(cv->err, "%s: %s", cv->file, why);
    return 0;
}

/* ---- tensors ------------------------------------------------------------------ */

/* Fills one PyTorch tensor (spec) from its TF variable(s). */
static float *make_tensor(tfconv_t *cv, const sg2_config_t *c, const sg2_tensor_spec_t *s) {
    size_t numel = 1;
    for (int d = 0; d < s->ndim; d++) numel *= (size_t)s->shape[d];
    int res = 0, fc = 0;
    char rest[96] = "", layer[32] = "", tf[MAX_VAR_NAME], tfl[128] = "";
    if (sscanf(s->name, "synthesis.b%d.%95s", &res, rest) == 2) {
        const char *dot = strchr(rest, '.');
        size_t n = dot ? (size_t)(dot - rest) : strlen(rest);
        if (n < sizeof layer) { memcpy(layer, rest, n); layer[n] = 0; }
        if (!strcmp(layer, "conv1") && res == 4) snprintf(tfl, sizeof tfl, "synthesis/4x4/Conv");
        else if (!strcmp(layer, "conv0")) snprintf(tfl, sizeof tfl, "synthesis/%dx%d/Conv0_up", res, res);
        else if (!strcmp(layer, "conv1")) snprintf(tfl, sizeof tfl, "synthesis/%dx%d/Conv1", res, res);
        else if (!strcmp(layer, "torgb")) snprintf(tfl, sizeof tfl, "synthesis/%dx%d/ToRGB", res, res);
    } else if (sscanf(s->name, "mapping.fc%d.", &fc) != 1) {
        fc = -1;
    }
    float *out = malloc(sizeof(float) * (numel ? numel : 1)), *t = NULL;
    if (!out) {
        sal_errf(cv->err, "%s: out of memory", cv->file);
        return NULL;
    }
    const int64_t *P = s->shape;
    switch (s->role) {
    case SG2_RESAMPLE_FILTER: {
        static const float f[4] = {1, 3, 3, 1};
        for (int i = 0; i < 16; i++) out[i] = f[i / 4] * f[i % 4] / 64.0f;
        return out;
    }
    case SG2_CONST: {  /* [1,C,4,4] -> [C,4,4] */
        int64_t w[4] = {1, P[0], P[1], P[2]};
        t = get_var(cv, "synthesis/4x4/Const/const", 4, w);
        if (t) memcpy(out, t, sizeof(float) * numel);
        break;
    }
    case SG2_CONV_WEIGHT: {  /* [3,3,I,O] -> [O,I,3,3]; Conv0_up flipped */
        int64_t O = P[0], I = P[1], w[4] = {3, 3, I, O};
        int flip = !strcmp(layer, "conv0");
        snprintf(tf, sizeof tf, "%s/weight", tfl);
        if ((t = get_var(cv, tf, 4, w)))
            for (int64_t o = 0; o < O; o++)
                for (int64_t i = 0; i < I; i++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int sy = flip ? 2 - ky : ky, sx = flip ? 2 - kx : kx;
                            out[((o * I + i) * 3 + ky) * 3 + kx] = t[((sy * 3 + sx) * I + i) * O + o];
                        }
        break;
    }
    case SG2_TORGB_WEIGHT: {  /* [1,1,I,O] -> [O,I,1,1] */
        int64_t O = P[0], I = P[1], w[4] = {1, 1, I, O};
        snprintf(tf, sizeof tf, "%s/weight", tfl);
        if ((t = get_var(cv, tf, 4, w)))
            for (int64_t o = 0; o < O; o++)
                for (int64_t i = 0; i < I; i++) out[o * I + i] = t[i * O + o];
        break;
    }
    case SG2_AFFINE_WEIGHT:  /* mod_weight [W,I] -> [I,W] */
    case SG2_MAP_WEIGHT: {   /* Dense weight [in,out] -> [out,in] */
        int64_t w[2] = {P[1], P[0]};
        if (s->role == SG2_AFFINE_WEIGHT) snprintf(tf, sizeof tf, "%s/mod_weight", tfl);
        else snprintf(tf, sizeof tf, "mapping/Dense%d/weight", fc);
        if ((t = get_var(cv, tf, 2, w)))
            for (int64_t r = 0; r < P[0]; r++)
                for (int64_t k = 0; k < P[1]; k++) out[r * P[1] + k] = t[k * P[0] + r];
        break;
    }
    case SG2_AFFINE_BIAS:  /* mod_bias + 1 (float32) */
        snprintf(tf, sizeof tf, "%s/mod_bias", tfl);
        if ((t = get_var(cv, tf, 1, P)))
            for (size_t i = 0; i < numel; i++) out[i] = t[i] + 1.0f;
        break;
    case SG2_NOISE_CONST: {  /* noise{i} [1,1,r,r]; i = layer index */
        int lg = 0;
        while ((1 << lg) < res) lg++;
        int idx = res == 4 ? 0 : !strcmp(layer, "conv0") ? 2 * lg - 5 : 2 * lg - 4;
        int64_t w[4] = {1, 1, P[0], P[1]};
        snprintf(tf, sizeof tf, "synthesis/noise%d", idx);
        if ((t = get_var(cv, tf, 4, w))) memcpy(out, t, sizeof(float) * numel);
        break;
    }
    case SG2_NOISE_STRENGTH:
    case SG2_CONV_BIAS:
    case SG2_TORGB_BIAS:
    case SG2_W_AVG:
    case SG2_MAP_BIAS:
        if (s->role == SG2_W_AVG) snprintf(tf, sizeof tf, "dlatent_avg");
        else if (s->role == SG2_MAP_BIAS) snprintf(tf, sizeof tf, "mapping/Dense%d/bias", fc);
        else snprintf(tf, sizeof tf, "%s/%s", tfl, s->role == SG2_NOISE_STRENGTH ? "noise_strength" : "bias");
        if ((t = get_var(cv, tf, s->ndim, P))) memcpy(out, t, sizeof(float) * numel);
        break;
    }
    (void)c;
    if (!t) {
        free(out);
        return NULL;
    }
    free(t);
    return out;
}

/* Parses the file and selects the network; cv->ctx must be freed by the caller. */
static int open_tf(tfconv_t *cv, wc_input_t *in, const sg2tf_options_t *opt, sal_err_t *err) {
    memset(cv, 0, sizeof *cv);
    cv->file = wc_basename(in->path);
    cv->err = err;
    pk_options_t o;
    memset(&o, 0, sizeof o);
    o.name = cv->file;
    o.globals = TF_GLOBALS;
    o.n_globals = N_TF_GLOBALS;
    if (!(cv->ctx = pk_ctx_new(&o))) return sal_errf(err, "%s: out of memory", cv->file);
    pk_node_t *root;
    size_t used;
    if (pk_load(cv->ctx, in->data, in->size, &used, &root, err)) return -1;
    if (root->type != PK_TUPLE || root->n != 3)
        return sal_errf(err, "%s: not a TensorFlow (G, D, Gs) network tuple", cv->file);
    int idx = opt && opt->use_G ? 0 : 2;
    cv->net_key = idx ? "Gs" : "G";
    cv->net_state = network_state(root->items[idx]);
    if (!cv->net_state) return sal_errf(err, "%s: %s is not a TensorFlow Network", cv->file, cv->net_key);
    int64_t version = 0;
    if (pk_as_int(pk_dict_get(cv->net_state, "version"), &version) || version < 4) {
        if (version > 0 && version < 4)
            return sal_errf(err, "%s: network state version %lld (StyleGAN v1) is not supported", cv->file,
                            (long long)version);
        return sal_errf(err, "%s: %s has no usable state version", cv->file, cv->net_key);
    }
    return collect(cv, cv->net_state, "", 0);
}

int sg2tf_convert(wc_input_t *in, const sg2tf_options_t *opt, blob_writer_t *w, sal_err_t *err) {
    tfconv_t cv;
    sg2_config_t c;
    int has_clamp = 0, n = 0, rc = -1;
    sg2_tensor_spec_t *specs = malloc(sizeof *specs * 256);
    if (!specs) return sal_errf(err, "out of memory");
    if (open_tf(&cv, in, opt, err) || read_tf_config(&cv, &c, &has_clamp)) goto done;
    if (sg2_layout(&c, specs, 256, &n)) {
        sal_errf(err, "%s: cannot lay out a generator for this config", cv.file);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        float *v = make_tensor(&cv, &c, &specs[i]);
        if (!v || wc_input_own(in, v, err)) goto done;
        if (blob_writer_tensor(w, specs[i].name, DT_F32, specs[i].ndim, specs[i].shape, v, 0, err)) {
            sal_err_prefix(err, "%s", cv.file);
            goto done;
        }
    }
    char src[512];
    snprintf(src, sizeof src, "tf-pickle:%s", cv.file);
    int lg = 0;
    while ((1 << lg) < c.img_resolution) lg++;
    if (blob_writer_str(w, "arch", "stylegan2-ada", err) || blob_writer_int(w, "z_dim", c.z_dim, err) ||
        blob_writer_int(w, "w_dim", c.w_dim, err) || blob_writer_int(w, "c_dim", c.c_dim, err) ||
        blob_writer_int(w, "num_ws", 2 * lg - 2, err) || blob_writer_int(w, "img_resolution", c.img_resolution, err) ||
        blob_writer_int(w, "img_channels", c.img_channels, err) ||
        blob_writer_int(w, "mapping_layers", c.mapping_layers, err) ||
        blob_writer_float(w, "mapping_lr_multiplier", c.lr_multiplier, err) ||
        blob_writer_float(w, "conv_clamp", c.conv_clamp, err) ||
        blob_writer_str(w, "architecture", c.architecture, err) ||
        blob_writer_float(w, "w_avg_beta", c.w_avg_beta, err) || blob_writer_str(w, "network", cv.net_key, err) ||
        blob_writer_str(w, "source", src, err) || blob_writer_int(w, "channel_base", c.channel_base, err) ||
        blob_writer_int(w, "channel_max", c.channel_max, err) ||
        blob_writer_int(w, "num_fp16_res", c.num_fp16_res, err))
        goto done;
    rc = 0;
done:
    free(specs);
    free(cv.vars);
    pk_ctx_free(cv.ctx);
    return rc;
}

int sg2tf_list_variables(wc_input_t *in, const sg2tf_options_t *opt, FILE *f, sal_err_t *err) {
    tfconv_t cv;
    int rc = open_tf(&cv, in, opt, err);
    if (!rc) {
        fprintf(f, "TensorFlow variables of %s (%d):\n", cv.net_key, cv.n_vars);
        for (int i = 0; i < cv.n_vars; i++) {
            tf_array_t a;
            char shape[96] = "";
            if (decode_array(&cv, cv.vars[i].name, cv.vars[i].value, &a) == 0) {
                for (int d = 0; d < a.ndim; d++)
                    snprintf(shape + strlen(shape), sizeof shape - strlen(shape), d ? ", %lld" : "%lld", (long long)a.shape[d]);
                fprintf(f, "  %-44s %-4s [%s]%s\n", cv.vars[i].name, dtype_name(a.dtype), shape, a.fortran ? " (Fortran order)" : "");
            } else {
                fprintf(f, "  %-44s (not an array)\n", cv.vars[i].name);
            }
        }
    }
    free(cv.vars);
    pk_ctx_free(cv.ctx);
    return rc;
}

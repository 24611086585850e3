/* sg2_tf.c — TensorFlow StyleGAN2(-ADA) pickles -> blob; see sg2_tf.h.
 *
 * Steps:
 *   1. run the safe pickle VM over the file (TF whitelist below);
 *   2. pick the network: element 2 (Gs) or 0 (G) of the (G, D, Gs) tuple;
 *   3. refuse variants we cannot run, by name (state version, build
 *      functions of the network and its components, static kwargs);
 *   4. collect its variables: own ones, then each component's with
 *      "<component key>/" in front (as NVIDIA's legacy.py does);
 *   5. walk the PyTorch tensor list of the config (sg2_layout) and fill each
 *      tensor from its TF variable with the re-indexing table of docs/tf-pickles.md;
 *   6. refuse leftover variables (they belong to a variant we do not run).
 */
#include "sg2_tf.h"

#include <stdlib.h>
#include <string.h>

#include "pickle.h"
#include "sg2_layout.h"

#define MAX_COMPONENT_DEPTH 8     /* G_main -> synthesis / mapping is one level */
#define MAX_NETWORK_VISITS 64     /* Networks walked while collecting (memo may share them) */
#define MAX_VARIABLES 65536       /* a 1024x1024 Gs has about 200 */
#define MAX_VAR_NAME 256
#define MAX_DIMS 8
#define MAX_SPECS 256
#define SNIFF_BYTES 4096

/* The globals a TF pickle references, plus what real files may also contain: numpy
 * scalars and the numpy >= 2 module spelling; plain dict classes in case a
 * writer kept an EasyDict / OrderedDict. Nothing here runs code. */
static const pk_global_t TF_GLOBALS[] = {
    {"dnnlib.tflib.network", "Network", PK_G_OBJECT},
    {"numpy.core.multiarray", "_reconstruct", PK_G_OBJECT},
    {"numpy._core.multiarray", "_reconstruct", PK_G_OBJECT},
    {"numpy.core.multiarray", "scalar", PK_G_OBJECT},
    {"numpy._core.multiarray", "scalar", PK_G_OBJECT},
    {"numpy", "ndarray", PK_G_CLASS},
    {"numpy", "dtype", PK_G_OBJECT},
    {"dnnlib.util", "EasyDict", PK_G_DICT},
    {"collections", "OrderedDict", PK_G_DICT},
};
#define N_TF_GLOBALS ((int)(sizeof TF_GLOBALS / sizeof TF_GLOBALS[0]))

typedef struct tf_var {
    char name[MAX_VAR_NAME];  /* "synthesis/8x8/Conv0_up/weight" */
    const pk_node_t *value;   /* the numpy array node */
    int used;
} tf_var_t;

/* A decoded numpy array: shape, element type and a pointer to its raw bytes
 * (inside the input file). */
typedef struct tf_array {
    int ndim;
    int64_t shape[MAX_DIMS];
    dtype_t dtype;            /* DT_F16, DT_F32 or DT_F64 */
    int big_endian;
    int fortran;              /* column-major data */
    const uint8_t *data;
} tf_array_t;

typedef struct tfconv {
    const char *file;
    pk_ctx_t *ctx;
    const pk_node_t *net_state;  /* state dict of Gs (or G) */
    const char *net_key;         /* "Gs" / "G" */
    int64_t version;
    tf_var_t *vars;
    int n_vars, cap_vars, visits;
    sal_err_t *err;
} tfconv_t;

/* ---- small helpers ---------------------------------------------------------- */

static int printable(const char *s, size_t len) {
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0;
    return 1;
}

/* The state dict of a Network node, else NULL. */
static const pk_node_t *network_state(const pk_node_t *n) {
    if (!pk_is_call(n, "dnnlib.tflib.network", "Network") || !n->state || n->state->type != PK_DICT) return NULL;
    return n->state;
}

/* A state entry that must be a string (NULL if absent or not a string). */
static const pk_node_t *state_str(const pk_node_t *st, const char *key) {
    const pk_node_t *v = pk_dict_get(st, key);
    return v && v->type == PK_STR ? v : NULL;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && used + 1 < len; i++) {
        int k = snprintf(buf + used, len - used, i ? ",%lld" : "%lld", (long long)shape[i]);
        if (k < 0) break;
        used += (size_t)k;
    }
}

int sg2tf_sniff(const uint8_t *data, size_t size) {
    if (size < 2 || data[0] != 0x80) return 0;
    size_t n = size < SNIFF_BYTES ? size : SNIFF_BYTES;
    if (memmem(data, n, "dnnlib.tflib.network", 20)) return 1;
    /* Progressive GAN: GLOBAL "tfutil\nNetwork\n" or STACK_GLOBAL strings
     * "tfutil" <MEMOIZE> <len> "Network" */
    for (const uint8_t *p = data; (p = memmem(p, n - (size_t)(p - data), "tfutil", 6)); p += 6) {
        size_t rest = n - (size_t)(p - data) - 6;
        if (memmem(p + 6, rest < 10 ? rest : 10, "Network", 7)) return 1;
    }
    return 0;
}

/* ---- networks and variables --------------------------------------------- */

static tf_var_t *add_var(tfconv_t *cv) {
    if (cv->n_vars >= MAX_VARIABLES) {
        sal_errf(cv->err, "%s: more than %d variables", cv->file, MAX_VARIABLES);
        return NULL;
    }
    if (cv->n_vars == cv->cap_vars) {
        int nc = cv->cap_vars ? 2 * cv->cap_vars : 128;
        tf_var_t *v = realloc(cv->vars, sizeof *v * (size_t)nc);
        if (!v) {
            sal_errf(cv->err, "%s: out of memory", cv->file);
            return NULL;
        }
        cv->vars = v;
        cv->cap_vars = nc;
    }
    tf_var_t *v = &cv->vars[cv->n_vars++];
    memset(v, 0, sizeof *v);
    return v;
}

/* Appends the variables of a Network state (prefix "" for the top network),
 * then recurses into its components with "<key>/" added to the prefix. */
static int collect(tfconv_t *cv, const pk_node_t *state, const char *prefix, int depth) {
    if (depth > MAX_COMPONENT_DEPTH) return sal_errf(cv->err, "%s: components nested too deeply", cv->file);
    if (++cv->visits > MAX_NETWORK_VISITS) return sal_errf(cv->err, "%s: too many component networks", cv->file);
    const pk_node_t *vars = pk_dict_get(state, "variables");
    if (vars && vars->type != PK_LIST && vars->type != PK_TUPLE)
        return sal_errf(cv->err, "%s: variables of '%s' are a %s, not a list", cv->file, prefix,
                        pk_type_name(vars->type));
    for (size_t i = 0; vars && i < vars->n; i++) {
        const pk_node_t *pair = vars->items[i];
        if ((pair->type != PK_TUPLE && pair->type != PK_LIST) || pair->n != 2 || pair->items[0]->type != PK_STR)
            return sal_errf(cv->err, "%s: variable %zu of '%s' is not a (name, array) pair", cv->file, i, prefix);
        const pk_node_t *nm = pair->items[0];
        if (!printable(nm->s, nm->len))
            return sal_errf(cv->err, "%s: variable %zu of '%s' has an empty or non-printable name", cv->file, i, prefix);
        tf_var_t *v = add_var(cv);
        if (!v) return -1;
        if (strlen(prefix) + nm->len >= sizeof v->name)
            return sal_errf(cv->err, "%s: variable name too long under '%s'", cv->file, prefix);
        snprintf(v->name, sizeof v->name, "%s%s", prefix, nm->s);
        v->value = pair->items[1];
    }
    const pk_node_t *comps = pk_dict_get(state, "components");
    if (!comps || comps->type == PK_NONE) return 0;
    if (comps->type != PK_DICT) return sal_errf(cv->err, "%s: components of '%s' are not a dict", cv->file, prefix);
    for (size_t i = 0; i < comps->n; i++) {
        const pk_node_t *k = comps->items[2 * i], *st = network_state(comps->items[2 * i + 1]);
        if (k->type != PK_STR || !printable(k->s, k->len) || !st)
            return sal_errf(cv->err, "%s: component %zu of '%s' is not a named Network", cv->file, i, prefix);
        char p[MAX_VAR_NAME];
        if (strlen(prefix) + k->len + 1 >= sizeof p) return sal_errf(cv->err, "%s: component name too long", cv->file);
        snprintf(p, sizeof p, "%s%s/", prefix, k->s);
        if (collect(cv, st, p, depth + 1)) return -1;
    }
    return 0;
}

/* The variable of that name (marked used); NULL with err set if it is
 * missing or appears twice. */
static tf_var_t *find_var(tfconv_t *cv, const char *name) {
    tf_var_t *hit = NULL;
    for (int i = 0; i < cv->n_vars; i++) {
        if (strcmp(cv->vars[i].name, name) != 0) continue;
        if (hit) {
            sal_errf(cv->err, "%s: %s: variable '%s' appears twice", cv->file, cv->net_key, name);
            return NULL;
        }
        hit = &cv->vars[i];
    }
    if (!hit) sal_errf(cv->err, "%s: %s has no variable '%s'", cv->file, cv->net_key, name);
    else hit->used = 1;
    return hit;
}

/* ---- numpy arrays --------------------------------------------------------- */

/* numpy.dtype(type string, False, True) + BUILD (3, byte order, ...). */
static int decode_dtype(tfconv_t *cv, const char *what, const pk_node_t *d, tf_array_t *a) {
    char r[96];
    if (!pk_is_call(d, "numpy", "dtype") || d->args->n < 1 || d->args->items[0]->type != PK_STR)
        return sal_errf(cv->err, "%s: %s: dtype is %s, not a numpy dtype", cv->file, what, pk_repr(d, r, sizeof r));
    const pk_node_t *ts = d->args->items[0];
    const char *s = ts->s;
    size_t len = ts->len;
    char order = '=';
    if (len > 0 && strchr("<>=|", s[0])) {
        order = s[0];
        s++;
        len--;
    }
    if (len == 2 && s[0] == 'f' && s[1] == '4') a->dtype = DT_F32;
    else if (len == 2 && s[0] == 'f' && s[1] == '2') a->dtype = DT_F16;
    else if (len == 2 && s[0] == 'f' && s[1] == '8') a->dtype = DT_F64;
    else
        return sal_errf(cv->err, "%s: %s: numpy dtype %s is not supported (float16/32/64 only)", cv->file, what,
                        pk_repr(ts, r, sizeof r));
    const pk_node_t *st = d->state;  /* (3, '<', None, None, None, -1, -1, 0) */
    if (st && st->type == PK_TUPLE && st->n >= 2 && st->items[1]->type == PK_STR && st->items[1]->len == 1)
        order = st->items[1]->s[0];
    if (!strchr("<>=|", order) || order == 0)
        return sal_errf(cv->err, "%s: %s: bad numpy byte order", cv->file, what);
    a->big_endian = order == '>';  /* '=' (native) and '|' are little-endian here (x86-64) */
    return 0;
}

/* A numpy array node -> tf_array_t (shape, dtype, order, data checked). */
static int decode_array(tfconv_t *cv, const char *what, const pk_node_t *n, tf_array_t *a) {
    memset(a, 0, sizeof *a);
    const pk_node_t *dtype, *data;
    char r[96];
    if (pk_is_call(n, "numpy.core.multiarray", "_reconstruct") ||
        pk_is_call(n, "numpy._core.multiarray", "_reconstruct")) {
        /* ndarray.__setstate__((1, shape, dtype, is_fortran, data)), the 1 optional */
        const pk_node_t *st = n->state;
        if (!st || st->type != PK_TUPLE || (st->n != 5 && st->n != 4))
            return sal_errf(cv->err, "%s: %s: numpy array without a valid state", cv->file, what);
        size_t o = st->n - 4;
        const pk_node_t *shape = st->items[o];
        dtype = st->items[o + 1];
        int64_t f;
        if (pk_as_int(st->items[o + 2], &f)) return sal_errf(cv->err, "%s: %s: bad array order flag", cv->file, what);
        a->fortran = f != 0;
        data = st->items[o + 3];
        if ((shape->type != PK_TUPLE && shape->type != PK_LIST) || shape->n > MAX_DIMS)
            return sal_errf(cv->err, "%s: %s: bad array shape", cv->file, what);
        a->ndim = (int)shape->n;
        for (int i = 0; i < a->ndim; i++)
            if (pk_as_int(shape->items[i], &a->shape[i]) || a->shape[i] < 0 || a->shape[i] > ((int64_t)1 << 40))
                return sal_errf(cv->err, "%s: %s: bad array shape", cv->file, what);
    } else if (pk_is_call(n, "numpy.core.multiarray", "scalar") || pk_is_call(n, "numpy._core.multiarray", "scalar")) {
        /* scalar(dtype, raw bytes): a 0-d value */
        if (n->args->n != 2) return sal_errf(cv->err, "%s: %s: bad numpy scalar", cv->file, what);
        dtype = n->args->items[0];
        data = n->args->items[1];
    } else {
        return sal_errf(cv->err, "%s: %s is %s, not a numpy array", cv->file, what, pk_repr(n, r, sizeof r));
    }
    if (decode_dtype(cv, what, dtype, a)) return -1;
    if (data->type != PK_BYTES) return sal_errf(cv->err, "%s: %s: array data is not bytes", cv->file, what);
    uint64_t numel = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] && numel > ((uint64_t)1 << 40) / (uint64_t)a->shape[i])
            return sal_errf(cv->err, "%s: %s: array too large", cv->file, what);
        numel *= (uint64_t)a->shape[i];
    }
    if (numel * dtype_size(a->dtype) != data->len)
        return sal_errf(cv->err, "%s: %s: %zu data bytes for %llu elements of %s", cv->file, what, data->len,
                        (unsigned long long)numel, dtype_name(a->dtype));
    a->data = data->bytes;
    return 0;
}

/* Element i of the raw buffer as float32. */
static float elem_f32(const tf_array_t *a, size_t i) {
    const size_t sz = dtype_size(a->dtype);
    uint8_t b[8];
    memcpy(b, a->data + i * sz, sz);
    if (a->big_endian)
        for (size_t k = 0; k < sz / 2; k++) {
            uint8_t t = b[k];
            b[k] = b[sz - 1 - k];
            b[sz - 1 - k] = t;
        }
    if (a->dtype == DT_F32) {
        float f;
        memcpy(&f, b, 4);
        return f;
    }
    if (a->dtype == DT_F16) {
        uint16_t h;
        memcpy(&h, b, 2);
        return f16_to_f32(h);
    }
    double d;
    memcpy(&d, b, 8);
    return (float)d;
}

/* The variable as float32 in C order, checked against the expected TF shape.
 * Returns a malloc'ed array (caller frees) or NULL with err set. */
static float *get_var(tfconv_t *cv, const char *name, int ndim, const int64_t *want) {
    const tf_var_t *v = find_var(cv, name);
    if (!v) return NULL;
    tf_array_t a;
    if (decode_array(cv, name, v->value, &a)) return NULL;
    int ok = a.ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = a.shape[i] == want[i];
    if (!ok) {
        char got[128], exp[128];
        shape_str(got, sizeof got, a.ndim, a.shape);
        shape_str(exp, sizeof exp, ndim, want);
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
    } else {
        /* column-major source: element (i0..ik) sits at sum_j i_j * prod_{l<j} n_l;
         * idx walks the C-order output index */
        int64_t idx[MAX_DIMS] = {0};
        for (size_t i = 0; i < numel; i++) {
            size_t src = 0, mul = 1;
            for (int d = 0; d < ndim; d++) {
                src += (size_t)idx[d] * mul;
                mul *= (size_t)want[d];
            }
            out[i] = elem_f32(&a, src);
            for (int d = ndim - 1; d >= 0 && ++idx[d] == want[d]; d--) idx[d] = 0;
        }
    }
    return out;
}

/* ---- which network, and is it one we can run? ------------------------------ */

/* Refuses networks that are not a StyleGAN2(-ADA) G_main with the usual
 * synthesis / mapping components, naming what they are. */
static int check_variant(tfconv_t *cv) {
    char r[96];
    const pk_node_t *st = cv->net_state;
    const pk_node_t *ver = pk_dict_get(st, "version");
    if (!ver || pk_as_int(ver, &cv->version))
        return sal_errf(cv->err, "%s: %s has no network state version", cv->file, cv->net_key);
    if (cv->version < 4)
        return sal_errf(cv->err,
                        "%s: network state version %lld (StyleGAN v1) is not supported; StyleGAN2 pickles have 4, "
                        "StyleGAN2-ADA 5",
                        cv->file, (long long)cv->version);
    const pk_node_t *fn = state_str(st, "build_func_name");
    if (fn && pk_is_str(fn, "G_style"))
        return sal_errf(cv->err, "%s: %s is a StyleGAN (v1) generator (G_style, StyleGAN2 config A): not supported",
                        cv->file, cv->net_key);
    if (fn && !pk_is_str(fn, "G_main"))
        return sal_errf(cv->err, "%s: %s is built by %s, not a StyleGAN2 generator (G_main)", cv->file, cv->net_key,
                        pk_repr(fn, r, sizeof r));
    const pk_node_t *comps = pk_dict_get(st, "components");
    static const char *keys[2] = {"synthesis", "mapping"};
    for (int i = 0; i < 2; i++) {
        const pk_node_t *c = comps && comps->type == PK_DICT ? network_state(pk_dict_get(comps, keys[i])) : NULL;
        if (!c) return sal_errf(cv->err, "%s: %s has no '%s' component network", cv->file, cv->net_key, keys[i]);
        const pk_node_t *cf = state_str(c, "build_func_name");
        if (!cf) continue;
        if (pk_is_str(cf, "G_synthesis_stylegan_revised"))
            return sal_errf(cv->err,
                            "%s: %s uses G_synthesis_stylegan_revised (StyleGAN2 config B-D, progressive growing): "
                            "not supported",
                            cv->file, cv->net_key);
        if (i == 0 && !pk_is_str(cf, "G_synthesis") && !pk_is_str(cf, "G_synthesis_stylegan2"))
            return sal_errf(cv->err, "%s: %s: synthesis network %s is not supported", cv->file, cv->net_key,
                            pk_repr(cf, r, sizeof r));
        if (i == 1 && !pk_is_str(cf, "G_mapping"))
            return sal_errf(cv->err, "%s: %s: mapping network %s is not supported", cv->file, cv->net_key,
                            pk_repr(cf, r, sizeof r));
    }
    return 0;
}

/* ---- config ------------------------------------------------------------------ */

static int kw_int(tfconv_t *cv, const pk_node_t *kw, const char *key, int def, int lo, int hi, int *out) {
    const pk_node_t *v = pk_dict_get(kw, key);
    int64_t x = def;
    if (v && v->type != PK_NONE && pk_as_int(v, &x))
        return sal_errf(cv->err, "%s: static kwarg %s is not an integer", cv->file, key);
    if (x < lo || x > hi) return sal_errf(cv->err, "%s: static kwarg %s = %lld is out of range", cv->file, key, (long long)x);
    *out = (int)x;
    return 0;
}

/* A kwarg that must be absent or the string `want`. */
static int kw_must_be(tfconv_t *cv, const pk_node_t *kw, const char *key, const char *want) {
    const pk_node_t *v = pk_dict_get(kw, key);
    char r[96];
    if (v && !pk_is_str(v, want))
        return sal_errf(cv->err, "%s: %s = %s is not supported (only '%s')", cv->file, key, pk_repr(v, r, sizeof r), want);
    return 0;
}

/* The generator configuration from the network's static kwargs, with
 * legacy.py's defaults (docs/tf-pickles.md). *clamp: conv_clamp, 0 = None. */
static int read_tf_config(tfconv_t *cv, sg2_layout_config_t *c, double *clamp) {
    char r[96];
    const pk_node_t *kw = pk_dict_get(cv->net_state, "static_kwargs"), *v;
    if (!kw || kw->type != PK_DICT) return sal_errf(cv->err, "%s: %s has no static_kwargs dict", cv->file, cv->net_key);
    memset(c, 0, sizeof *c);
    /* the variants people meet most, named first */
    if (kw_int(cv, kw, "label_size", 0, 0, 1 << 20, &c->c_dim)) return -1;
    if (c->c_dim > 0)
        return sal_errf(cv->err, "%s: conditional models (label_size %d) are not supported", cv->file, c->c_dim);
    if ((v = pk_dict_get(kw, "architecture")) && !pk_is_str(v, "skip"))
        return sal_errf(cv->err, "%s: generator architecture %s is not supported (only 'skip')", cv->file,
                        pk_repr(v, r, sizeof r));
    if ((v = pk_dict_get(kw, "synthesis_func")))
        return sal_errf(cv->err, "%s: synthesis_func %s (StyleGAN2 config A-D) is not supported", cv->file,
                        pk_repr(v, r, sizeof r));
    /* legacy.py's list of understood kwargs; any other changes the network */
    static const char *known[] = {"latent_size", "label_size", "dlatent_size", "resolution", "num_channels",
                                  "mapping_layers", "label_fmaps", "mapping_fmaps", "mapping_nonlinearity",
                                  "mapping_lrmul", "w_avg_beta", "fmap_base", "fmap_max", "num_fp16_res",
                                  "conv_clamp", "architecture", "resample_kernel", "use_noise", "nonlinearity",
                                  "truncation_psi", "truncation_cutoff", "style_mixing_prob", "structure"};
    for (size_t i = 0; i < kw->n; i++) {
        const pk_node_t *k = kw->items[2 * i];
        int ok = 0;
        for (size_t j = 0; j < sizeof known / sizeof known[0] && !ok; j++) ok = pk_is_str(k, known[j]);
        if (!ok) return sal_errf(cv->err, "%s: unsupported TensorFlow kwarg %s", cv->file, pk_repr(k, r, sizeof r));
    }
    int fmap_base = 16384;
    if (kw_int(cv, kw, "latent_size", 512, 1, 65536, &c->z_dim) ||
        kw_int(cv, kw, "dlatent_size", 512, 1, 65536, &c->w_dim) ||
        kw_int(cv, kw, "resolution", 1024, 4, 16384, &c->img_resolution) ||
        kw_int(cv, kw, "num_channels", 3, 1, 16, &c->img_channels) ||
        kw_int(cv, kw, "mapping_layers", 8, 1, 64, &c->mapping_layers) ||
        kw_int(cv, kw, "fmap_base", 16384, 1, 1 << 24, &fmap_base) ||
        kw_int(cv, kw, "fmap_max", 512, 1, 65536, &c->channel_max) ||
        kw_int(cv, kw, "num_fp16_res", 0, 0, 64, &c->num_fp16_res))
        return -1;
    c->channel_base = 2 * fmap_base;  /* TF nf(stage) = fmap_base / 2^stage = PyTorch channel_base / res */
    c->architecture = "skip";
    c->lr_multiplier = 0.01;
    if ((v = pk_dict_get(kw, "mapping_lrmul")) && (pk_as_float(v, &c->lr_multiplier) || !(c->lr_multiplier > 0)))
        return sal_errf(cv->err, "%s: bad mapping_lrmul %s", cv->file, pk_repr(v, r, sizeof r));
    c->w_avg_beta = 0.995;  /* training only; None means 1 in legacy.py */
    if ((v = pk_dict_get(kw, "w_avg_beta")) && pk_as_float(v, &c->w_avg_beta)) c->w_avg_beta = 1;
    *clamp = 0;
    if ((v = pk_dict_get(kw, "conv_clamp")) && v->type != PK_NONE &&
        (pk_as_float(v, clamp) || !(*clamp > 0 && *clamp < 1e30)))
        return sal_errf(cv->err, "%s: conv_clamp %s is not supported", cv->file, pk_repr(v, r, sizeof r));
    c->conv_clamp = (int)(*clamp + 0.5);
    const char *must_none[] = {"label_fmaps", "mapping_fmaps"};
    for (int i = 0; i < 2; i++)
        if ((v = pk_dict_get(kw, must_none[i])) && v->type != PK_NONE)
            return sal_errf(cv->err, "%s: %s = %s is not supported", cv->file, must_none[i], pk_repr(v, r, sizeof r));
    if (kw_must_be(cv, kw, "nonlinearity", "lrelu") || kw_must_be(cv, kw, "mapping_nonlinearity", "lrelu")) return -1;
    int64_t b;
    if ((v = pk_dict_get(kw, "use_noise")) && (pk_as_int(v, &b) || b != 1))
        return sal_errf(cv->err, "%s: use_noise = %s is not supported", cv->file, pk_repr(v, r, sizeof r));
    if ((v = pk_dict_get(kw, "resample_kernel"))) {
        int64_t k[4] = {0, 0, 0, 0};
        int ok = (v->type == PK_LIST || v->type == PK_TUPLE) && v->n == 4;
        for (int i = 0; ok && i < 4; i++) ok = pk_as_int(v->items[i], &k[i]) == 0;
        if (!ok || k[0] != 1 || k[1] != 3 || k[2] != 3 || k[3] != 1)
            return sal_errf(cv->err, "%s: resample_kernel %s is not supported (only [1, 3, 3, 1])", cv->file,
                            pk_repr(v, r, sizeof r));
    }
    const char *why;
    if (sg2_config_check(c, &why)) return sal_errf(cv->err, "%s: %s", cv->file, why);
    return 0;
}

/* ---- tensors ------------------------------------------------------------------ */

/* Fills one PyTorch tensor (spec) from its TF variable. Returns a malloc'ed
 * float32 array in the spec's shape, or NULL with err set. */
static float *make_tensor(tfconv_t *cv, const sg2_tensor_spec_t *s) {
    size_t numel = 1;
    for (int d = 0; d < s->ndim; d++) numel *= (size_t)s->shape[d];
    /* "synthesis.b<res>.<layer>.*" -> TF layer scope; "mapping.fc<i>.*" -> Dense<i> */
    int res = 0, fc = -1;
    char rest[96] = "", layer[32] = "", tf[MAX_VAR_NAME], tfl[128] = "";
    if (sscanf(s->name, "synthesis.b%d.%95s", &res, rest) == 2) {
        const char *dot = strchr(rest, '.');
        size_t n = dot ? (size_t)(dot - rest) : strlen(rest);
        if (n < sizeof layer) {
            memcpy(layer, rest, n);
            layer[n] = 0;
        }
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
    case SG2_ROLE_RESAMPLE_FILTER: {  /* not stored in TF: [1,3,3,1] outer product / 64 */
        static const float f[4] = {1, 3, 3, 1};
        for (int i = 0; i < 16; i++) out[i] = f[i / 4] * f[i % 4] / 64.0f;
        return out;
    }
    case SG2_ROLE_CONST: {  /* [1,C,4,4] -> (C,4,4) */
        int64_t w[4] = {1, P[0], P[1], P[2]};
        if ((t = get_var(cv, "synthesis/4x4/Const/const", 4, w))) memcpy(out, t, sizeof(float) * numel);
        break;
    }
    case SG2_ROLE_CONV_WEIGHT: {  /* [3,3,I,O] -> (O,I,3,3); Conv0_up also flipped: P[o][i][ky][kx] = T[2-ky][2-kx][i][o] */
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
    case SG2_ROLE_TORGB_WEIGHT: {  /* [1,1,I,O] -> (O,I,1,1) */
        int64_t O = P[0], I = P[1], w[4] = {1, 1, I, O};
        snprintf(tf, sizeof tf, "%s/weight", tfl);
        if ((t = get_var(cv, tf, 4, w)))
            for (int64_t o = 0; o < O; o++)
                for (int64_t i = 0; i < I; i++) out[o * I + i] = t[i * O + o];
        break;
    }
    case SG2_ROLE_AFFINE_WEIGHT:  /* mod_weight [W,I] -> (I,W) */
    case SG2_ROLE_MAP_WEIGHT: {   /* Dense weight [in,out] -> (out,in) */
        int64_t w[2] = {P[1], P[0]};
        if (s->role == SG2_ROLE_AFFINE_WEIGHT) snprintf(tf, sizeof tf, "%s/mod_weight", tfl);
        else snprintf(tf, sizeof tf, "mapping/Dense%d/weight", fc);
        if ((t = get_var(cv, tf, 2, w)))
            for (int64_t r = 0; r < P[0]; r++)
                for (int64_t k = 0; k < P[1]; k++) out[r * P[1] + k] = t[k * P[0] + r];
        break;
    }
    case SG2_ROLE_AFFINE_BIAS:  /* affine.bias = mod_bias + 1 (float32 add; TF adds the 1 at run time) */
        snprintf(tf, sizeof tf, "%s/mod_bias", tfl);
        if ((t = get_var(cv, tf, 1, P)))
            for (size_t i = 0; i < numel; i++) out[i] = t[i] + 1.0f;
        break;
    case SG2_ROLE_NOISE_CONST: {  /* noise{i} [1,1,r,r] -> (r,r); i = the layer's w index */
        int lg = 0;
        while ((1 << lg) < res) lg++;
        int idx = res == 4 ? 0 : !strcmp(layer, "conv0") ? 2 * lg - 5 : 2 * lg - 4;
        int64_t w[4] = {1, 1, P[0], P[1]};
        snprintf(tf, sizeof tf, "synthesis/noise%d", idx);
        if ((t = get_var(cv, tf, 4, w))) memcpy(out, t, sizeof(float) * numel);
        break;
    }
    case SG2_ROLE_NOISE_STRENGTH:
    case SG2_ROLE_CONV_BIAS:
    case SG2_ROLE_TORGB_BIAS:
    case SG2_ROLE_W_AVG:
    case SG2_ROLE_MAP_BIAS:  /* copied as they are */
        if (s->role == SG2_ROLE_W_AVG) snprintf(tf, sizeof tf, "dlatent_avg");
        else if (s->role == SG2_ROLE_MAP_BIAS) snprintf(tf, sizeof tf, "mapping/Dense%d/bias", fc);
        else snprintf(tf, sizeof tf, "%s/%s", tfl, s->role == SG2_ROLE_NOISE_STRENGTH ? "noise_strength" : "bias");
        if ((t = get_var(cv, tf, s->ndim, P))) memcpy(out, t, sizeof(float) * numel);
        break;
    }
    if (!t) {
        free(out);
        return NULL;
    }
    free(t);
    return out;
}

/* Variables left over after the conversion belong to a variant we do not
 * run; `lod` (progressive-growing level, a scalar) is the one known extra. */
static int check_leftovers(tfconv_t *cv) {
    for (int i = 0; i < cv->n_vars; i++) {
        const char *n = cv->vars[i].name, *slash = strrchr(n, '/');
        if (cv->vars[i].used || !strcmp(slash ? slash + 1 : n, "lod")) continue;
        const char *hint = strstr(n, "/Skip/") ? " (a 'resnet' generator)"
                         : strstr(n, "LabelEmbed") || strstr(n, "LabelConcat") ? " (a conditional generator)"
                         : strstr(n, "ToRGB_lod") ? " (an 'orig' generator)"
                         : "";
        return sal_errf(cv->err, "%s: %s: variable '%s'%s is not part of a StyleGAN2 'skip' generator", cv->file,
                        cv->net_key, n, hint);
    }
    return 0;
}

/* Parses the file and selects the network; cv->ctx and cv->vars must be
 * freed by the caller (also on failure). check: refuse unsupported variants. */
static int open_tf(tfconv_t *cv, wc_input_t *in, const sg2tf_options_t *opt, int check, sal_err_t *err) {
    memset(cv, 0, sizeof *cv);
    cv->file = wc_basename(in->path);
    cv->err = err;
    if (!memmem(in->data, in->size < SNIFF_BYTES ? in->size : SNIFF_BYTES, "dnnlib", 6) &&
        sg2tf_sniff(in->data, in->size))
        return sal_errf(err, "%s: Progressive GAN pickles (tfutil.Network) are not supported", cv->file);
    pk_options_t o;
    memset(&o, 0, sizeof o);
    o.name = cv->file;
    o.globals = TF_GLOBALS;
    o.n_globals = N_TF_GLOBALS;
    if (!(cv->ctx = pk_ctx_new(&o))) return sal_errf(err, "%s: out of memory", cv->file);
    pk_node_t *root;
    size_t used;
    if (pk_load(cv->ctx, in->data, in->size, &used, &root, err)) return -1;
    int use_G = opt && opt->use_G;
    const pk_node_t *net;
    if (network_state(root)) {  /* a lone pickled generator */
        if (use_G) return sal_errf(err, "%s: a single TensorFlow Network, there is no separate G", cv->file);
        net = root;
        cv->net_key = "Gs";
    } else if (root->type == PK_TUPLE && root->n == 3) {
        net = root->items[use_G ? 0 : 2];
        cv->net_key = use_G ? "G" : "Gs";
    } else {
        char r[96];
        return sal_errf(err, "%s: top level is %s, not a TensorFlow (G, D, Gs) tuple", cv->file,
                        pk_repr(root, r, sizeof r));
    }
    if (!(cv->net_state = network_state(net)))
        return sal_errf(err, "%s: %s is not a TensorFlow Network", cv->file, cv->net_key);
    if (check && check_variant(cv)) return -1;
    return collect(cv, cv->net_state, "", 0);
}

int sg2tf_convert(wc_input_t *in, const sg2tf_options_t *opt, blob_writer_t *w, sal_err_t *err) {
    tfconv_t cv;
    sg2_layout_config_t c;
    double clamp = 0;
    int n = 0, rc = -1;
    sg2_tensor_spec_t *specs = malloc(sizeof *specs * MAX_SPECS);
    if (!specs) return sal_errf(err, "%s: out of memory", wc_basename(in->path));
    if (open_tf(&cv, in, opt, 1, err) || read_tf_config(&cv, &c, &clamp)) goto done;
    if (sg2_layout(&c, specs, MAX_SPECS, &n)) {
        sal_errf(err, "%s: cannot lay out a generator for this config", cv.file);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        float *v = make_tensor(&cv, &specs[i]);
        if (!v || wc_input_own(in, v, err)) goto done;
        if (blob_writer_tensor(w, specs[i].name, DT_F32, specs[i].ndim, specs[i].shape, v, 0, err)) {
            sal_err_prefix(err, "%s", cv.file);
            goto done;
        }
    }
    if (check_leftovers(&cv)) goto done;
    /* the same keys as sg2_pytorch.c writes */
    char src[512];
    snprintf(src, sizeof src, "tf-pickle:%s", cv.file);
    if (blob_writer_str(w, "arch", "stylegan2-ada", err) || blob_writer_int(w, "z_dim", c.z_dim, err) ||
        blob_writer_int(w, "w_dim", c.w_dim, err) || blob_writer_int(w, "c_dim", c.c_dim, err) ||
        blob_writer_int(w, "num_ws", sg2_num_ws(&c), err) ||
        blob_writer_int(w, "img_resolution", c.img_resolution, err) ||
        blob_writer_int(w, "img_channels", c.img_channels, err) ||
        blob_writer_int(w, "mapping_layers", c.mapping_layers, err) ||
        blob_writer_float(w, "mapping_lr_multiplier", c.lr_multiplier, err) ||
        blob_writer_float(w, "conv_clamp", clamp, err) || blob_writer_str(w, "architecture", c.architecture, err) ||
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
    int rc = open_tf(&cv, in, opt, 0, err);
    if (!rc) {
        char r[1024];
        const pk_node_t *ver = pk_dict_get(cv.net_state, "version");
        const pk_node_t *fn = pk_dict_get(cv.net_state, "build_func_name");
        fprintf(f, "TensorFlow network %s: state version %s, ", cv.net_key, pk_repr(ver, r, sizeof r));
        fprintf(f, "built by %s\n", pk_repr(fn, r, sizeof r));
        fprintf(f, "  static_kwargs %s\n", pk_repr(pk_dict_get(cv.net_state, "static_kwargs"), r, sizeof r));
        fprintf(f, "TensorFlow variables of %s (%d):\n", cv.net_key, cv.n_vars);
        for (int i = 0; i < cv.n_vars; i++) {
            tf_array_t a;
            sal_err_t e;
            char shape[128];
            cv.err = &e;
            if (decode_array(&cv, cv.vars[i].name, cv.vars[i].value, &a) == 0) {
                shape_str(shape, sizeof shape, a.ndim, a.shape);
                fprintf(f, "  %-44s %-4s [%s]%s%s\n", cv.vars[i].name, dtype_name(a.dtype), shape,
                        a.fortran ? " Fortran order" : "", a.big_endian ? " big-endian" : "");
            } else {
                fprintf(f, "  %-44s (not a float array)\n", cv.vars[i].name);
            }
        }
    }
    free(cv.vars);
    pk_ctx_free(cv.ctx);
    return rc;
}

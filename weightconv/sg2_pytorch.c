/* sg2_pytorch.c — StyleGAN2-ADA PyTorch pickle -> blob; see sg2_pytorch.h.
 *
 * Steps: (1) run the pickle VM over the whole file (every network is parsed,
 * only the generator is kept); (2) find the generator module; (3) walk its
 * module tree in state_dict order — own _parameters, own _buffers (minus
 * _non_persistent_buffers_set), then each child of _modules — turning each
 * tensor into a float32 view; (4) read the config from module attributes
 * and _init_kwargs; (5) check the tensor set is complete for that config.
 */
#include "sg2_pytorch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle.h"
#include "sg2_layout.h"
#include "torch_storage.h"
#include "zip_reader.h"

#define MAX_MODULE_DEPTH 32
#define MAX_MODULES 4096     /* visits; shared (memoised) modules could otherwise explode */
#define MAX_TENSORS BLOB_MAX_TENSORS  /* engine/blob.h */
#define MAX_NAME 255
/* Entries of one module's dicts and sets (state, _parameters, _buffers,
 * _modules, _non_persistent_buffers_set): real modules have a few dozen.
 * Lookups in them are linear and every module visit repeats them, so a
 * shared module with a huge state could otherwise cost 4096 x millions. */
#define MAX_MODULE_ENTRIES 1024

/* Every global a StyleGAN2-ADA snapshot references (docs/weightconv.md). */
static const pk_global_t SG2PT_GLOBALS[] = {
    {"torch_utils.persistence", "_reconstruct_persistent_obj", PK_G_OBJECT},
    {"collections", "OrderedDict", PK_G_DICT},
    {"torch._utils", "_rebuild_tensor_v2", PK_G_OBJECT},
    {"torch._utils", "_rebuild_tensor", PK_G_OBJECT},
    {"torch._utils", "_rebuild_parameter", PK_G_OBJECT},
    {"torch._utils", "_rebuild_parameter_with_state", PK_G_OBJECT},
    {"torch.storage", "_load_from_bytes", PK_G_OBJECT},
    {"numpy.core.multiarray", "scalar", PK_G_OBJECT},
    {"numpy._core.multiarray", "scalar", PK_G_OBJECT},
    {"numpy", "dtype", PK_G_OBJECT},
    {"dnnlib.util", "EasyDict", PK_G_DICT},
    {"builtins", "set", PK_G_SET},
    {"__builtin__", "set", PK_G_SET},
};
#define N_GLOBALS ((int)(sizeof SG2PT_GLOBALS / sizeof SG2PT_GLOBALS[0]))

typedef struct conv {
    wc_input_t *in;
    blob_writer_t *w;
    const char *file;       /* base name for messages */
    ts_archive_t arch;      /* the parsed file */
    int n_modules;          /* modules visited */
    char **names;           /* tensors added so far */
    int64_t (*shapes)[TENSOR_MAX_DIMS + 1];  /* their ndim, shape... */
    int n_tensors, cap_names;
    uint64_t out_bytes;     /* float32 bytes of the tensors added so far */
    sal_err_t *err;
} conv_t;

/* ---- modules ------------------------------------------------------------ */

/* The state dict of a persistent module, and its class name. */
static const pk_node_t *module_state(conv_t *cv, const pk_node_t *m, const char *path,
                                     const char **class_name) {
    if (!pk_is_call(m, "torch_utils.persistence", "_reconstruct_persistent_obj") || m->args->n != 1) {
        sal_errf(cv->err, "%s: '%s' is a %s, not a persistent network module", cv->file, path,
                 m ? pk_type_name(m->type) : "nothing");
        return NULL;
    }
    const pk_node_t *meta = m->args->items[0];
    if (meta->n > MAX_MODULE_ENTRIES) {
        sal_errf(cv->err, "%s: module '%s' has more than %d attributes", cv->file, path, MAX_MODULE_ENTRIES);
        return NULL;
    }
    const pk_node_t *cls = pk_dict_get(meta, "class_name"), *state = pk_dict_get(meta, "state");
    if (!cls || cls->type != PK_STR || !state || state->type != PK_DICT) {
        sal_errf(cv->err, "%s: module '%s' lacks class_name/state", cv->file, path);
        return NULL;
    }
    if (state->n > MAX_MODULE_ENTRIES) {
        sal_errf(cv->err, "%s: module '%s' has more than %d attributes", cv->file, path, MAX_MODULE_ENTRIES);
        return NULL;
    }
    *class_name = cls->s;
    return state;
}

/* A child module by name (from state['_modules']), or NULL. */
static const pk_node_t *child(const pk_node_t *state, const char *name) {
    return pk_dict_get(pk_dict_get(state, "_modules"), name);
}

static int valid_key(const pk_node_t *k) {
    if (!k || k->type != PK_STR || k->len == 0 || k->len > 64) return 0;
    for (size_t i = 0; i < k->len; i++) {
        char c = k->s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return 1;
}

static int in_set(const pk_node_t *set, const char *s) {
    if (!set || (set->type != PK_SET && set->type != PK_LIST && set->type != PK_TUPLE)) return 0;
    for (size_t i = 0; i < set->n; i++)
        if (pk_is_str(set->items[i], s)) return 1;
    return 0;
}

static int add_tensor(conv_t *cv, const char *name, const pk_node_t *node) {
    ts_tensor_t t;
    const void *data;
    float *owned;
    if (cv->n_tensors >= MAX_TENSORS) return sal_errf(cv->err, "%s: more than %d tensors", cv->file, MAX_TENSORS);
    if (ts_tensor_from_node(&cv->arch, node, cv->file, name, &t, cv->err)) return -1;
    /* the whole network stays a plausible size for the bytes it came from
     * (see torch_storage.h); checked before anything is allocated */
    uint64_t cap = TS_MAX_EXPANSION * 2 * ((uint64_t)cv->in->size + cv->arch.inflated) + TS_NETWORK_SLACK_BYTES;
    if (cap > TS_MAX_INFLATED_TOTAL) cap = TS_MAX_INFLATED_TOTAL;
    cv->out_bytes += (uint64_t)ts_tensor_numel(&t) * sizeof(float);  /* numel <= 2^28: no overflow */
    if (cv->out_bytes > cap)
        return sal_errf(cv->err, "%s: tensors reach %llu MiB at '%s', more than this %llu-byte file can hold "
                        "(limit %llu MiB; repeated storage views?)", cv->file,
                        (unsigned long long)(cv->out_bytes >> 20), name, (unsigned long long)cv->in->size,
                        (unsigned long long)(cap >> 20));
    if (ts_tensor_to_f32(&t, cv->file, name, &data, &owned, cv->err)) return -1;
    if (owned && wc_input_own(cv->in, owned, cv->err)) return -1;
    if (blob_writer_tensor(cv->w, name, DT_F32, t.ndim, t.shape, data, 0, cv->err))
        return sal_err_prefix(cv->err, "%s", cv->file);
    if (cv->n_tensors == cv->cap_names) {
        int nc = cv->cap_names ? 2 * cv->cap_names : 128;
        char **nn = realloc(cv->names, sizeof(char *) * (size_t)nc);
        if (!nn) return sal_errf(cv->err, "%s: out of memory", cv->file);
        cv->names = nn;
        int64_t(*ns)[TENSOR_MAX_DIMS + 1] = realloc(cv->shapes, sizeof *ns * (size_t)nc);
        if (!ns) return sal_errf(cv->err, "%s: out of memory", cv->file);
        cv->shapes = ns;
        cv->cap_names = nc;
    }
    cv->shapes[cv->n_tensors][0] = t.ndim;
    for (int d = 0; d < t.ndim; d++) cv->shapes[cv->n_tensors][d + 1] = t.shape[d];
    if (!(cv->names[cv->n_tensors] = strdup(name))) return sal_errf(cv->err, "%s: out of memory", cv->file);
    cv->n_tensors++;
    return 0;
}

/* Tensors of one dict (_parameters or _buffers) under prefix. */
static int add_tensor_dict(conv_t *cv, const char *prefix, const pk_node_t *d, const pk_node_t *skip) {
    if (!d) return 0;
    if (d->type != PK_DICT) return sal_errf(cv->err, "%s: '%s' has a malformed tensor dict", cv->file, prefix);
    if (d->n > MAX_MODULE_ENTRIES || (skip && skip->n > MAX_MODULE_ENTRIES))
        return sal_errf(cv->err, "%s: '%s' has more than %d tensors or skipped names", cv->file, prefix,
                        MAX_MODULE_ENTRIES);
    for (size_t i = 0; i < d->n; i++) {
        const pk_node_t *k = d->items[2 * i], *v = d->items[2 * i + 1];
        if (!valid_key(k)) return sal_errf(cv->err, "%s: '%s' has a bad tensor name", cv->file, prefix);
        if (v->type == PK_NONE || in_set(skip, k->s)) continue;
        char name[MAX_NAME + 64];
        if (snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k->s) > MAX_NAME)
            return sal_errf(cv->err, "%s: tensor name too long under '%s'", cv->file, prefix);
        if (add_tensor(cv, name, v)) return -1;
    }
    return 0;
}

/* state_dict order: own parameters, own buffers, then children. */
static int walk_module(conv_t *cv, const pk_node_t *m, const char *prefix, int depth) {
    const char *cls;
    if (depth > MAX_MODULE_DEPTH) return sal_errf(cv->err, "%s: modules nested too deeply at '%s'", cv->file, prefix);
    if (++cv->n_modules > MAX_MODULES) return sal_errf(cv->err, "%s: more than %d modules", cv->file, MAX_MODULES);
    const pk_node_t *st = module_state(cv, m, *prefix ? prefix : "<root>", &cls);
    if (!st) return -1;
    if (add_tensor_dict(cv, prefix, pk_dict_get(st, "_parameters"), NULL)) return -1;
    if (add_tensor_dict(cv, prefix, pk_dict_get(st, "_buffers"), pk_dict_get(st, "_non_persistent_buffers_set")))
        return -1;
    const pk_node_t *mods = pk_dict_get(st, "_modules");
    if (!mods) return 0;
    if (mods->type != PK_DICT) return sal_errf(cv->err, "%s: '%s' has a malformed _modules", cv->file, prefix);
    if (mods->n > MAX_MODULE_ENTRIES)
        return sal_errf(cv->err, "%s: '%s' has more than %d child modules", cv->file, prefix, MAX_MODULE_ENTRIES);
    for (size_t i = 0; i < mods->n; i++) {
        const pk_node_t *k = mods->items[2 * i], *v = mods->items[2 * i + 1];
        if (!valid_key(k)) return sal_errf(cv->err, "%s: '%s' has a bad module name", cv->file, prefix);
        if (v->type == PK_NONE) continue;
        char name[MAX_NAME + 64];
        if (snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k->s) > MAX_NAME)
            return sal_errf(cv->err, "%s: module name too long under '%s'", cv->file, prefix);
        if (walk_module(cv, v, name, depth + 1)) return -1;
    }
    return 0;
}

/* ---- config ------------------------------------------------------------- */

static int need_int(conv_t *cv, const pk_node_t *state, const char *mod, const char *key, int lo, int hi,
                    int *out) {
    int64_t v;
    if (pk_as_int(pk_dict_get(state, key), &v))
        return sal_errf(cv->err, "%s: %s has no integer attribute '%s'", cv->file, mod, key);
    if (v < lo || v > hi)
        return sal_errf(cv->err, "%s: %s.%s = %lld is out of range [%d, %d]", cv->file, mod, key, (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

/* An int from the first dict that has it (kwargs may be nested EasyDicts). */
static int opt_int(const pk_node_t *d1, const pk_node_t *d2, const char *key, int *out) {
    int64_t v;
    if (pk_as_int(pk_dict_get(d1, key), &v) && pk_as_int(pk_dict_get(d2, key), &v)) return 0;
    if (v < 0 || v > (1 << 30)) return 0;
    *out = (int)v;
    return 1;
}

static int read_config(conv_t *cv, const pk_node_t *gstate, sg2_layout_config_t *c, int *known_channels,
                       int *known_fp16) {
    memset(c, 0, sizeof *c);
    const char *cls;
    if (need_int(cv, gstate, "Generator", "z_dim", 0, 65536, &c->z_dim) ||
        need_int(cv, gstate, "Generator", "w_dim", 1, 65536, &c->w_dim) ||
        need_int(cv, gstate, "Generator", "c_dim", 0, 65536, &c->c_dim) ||
        need_int(cv, gstate, "Generator", "img_resolution", 4, 16384, &c->img_resolution) ||
        need_int(cv, gstate, "Generator", "img_channels", 1, 16, &c->img_channels))
        return -1;
    const pk_node_t *mapping = child(gstate, "mapping"), *synthesis = child(gstate, "synthesis");
    const pk_node_t *mst = module_state(cv, mapping, "mapping", &cls);
    if (!mst) return -1;
    const pk_node_t *sst = module_state(cv, synthesis, "synthesis", &cls);
    if (!sst) return -1;
    if (need_int(cv, mst, "mapping", "num_layers", 1, 64, &c->mapping_layers)) return -1;
    c->w_avg_beta = 0.995;
    pk_as_float(pk_dict_get(mst, "w_avg_beta"), &c->w_avg_beta);

    /* lr multiplier: the FC layers apply it as bias_gain (docs/stylegan2.md) */
    const pk_node_t *fc0 = module_state(cv, child(mst, "fc0"), "mapping.fc0", &cls);
    if (!fc0) return -1;
    if (pk_as_float(pk_dict_get(fc0, "bias_gain"), &c->lr_multiplier) || !(c->lr_multiplier > 0))
        return sal_errf(cv->err, "%s: mapping.fc0 has no usable bias_gain (lr multiplier)", cv->file);

    /* per-layer attributes of the first block */
    const pk_node_t *b4 = module_state(cv, child(sst, "b4"), "synthesis.b4", &cls);
    if (!b4) return -1;
    const pk_node_t *arch = pk_dict_get(b4, "architecture");
    c->architecture = arch && arch->type == PK_STR ? arch->s : "skip";
    const pk_node_t *conv1 = module_state(cv, child(b4, "conv1"), "synthesis.b4.conv1", &cls);
    if (!conv1) return -1;
    const pk_node_t *clamp = pk_dict_get(conv1, "conv_clamp");
    double cc = 0;
    if (clamp && clamp->type != PK_NONE && (pk_as_float(clamp, &cc) || cc < 0 || cc > 1e9))
        return sal_errf(cv->err, "%s: synthesis.b4.conv1.conv_clamp is not a number or None", cv->file);
    c->conv_clamp = (int)(cc + 0.5);

    /* channel_base/max and num_fp16_res exist only as constructor args */
    const pk_node_t *skw = pk_dict_get(sst, "_init_kwargs");
    const pk_node_t *gskw = pk_dict_get(pk_dict_get(gstate, "_init_kwargs"), "synthesis_kwargs");
    *known_channels = opt_int(skw, gskw, "channel_base", &c->channel_base) &
                      opt_int(skw, gskw, "channel_max", &c->channel_max);
    *known_fp16 = opt_int(skw, gskw, "num_fp16_res", &c->num_fp16_res);
    return 0;
}

static int write_meta(conv_t *cv, const sg2_layout_config_t *c, int num_ws, int known_channels, int known_fp16,
                      const char *net_key) {
    blob_writer_t *w = cv->w;
    char src[512];
    snprintf(src, sizeof src, "pytorch-pickle:%s", cv->file);
    sal_err_t *e = cv->err;
    if (blob_writer_str(w, "arch", "stylegan2-ada", e) || blob_writer_int(w, "z_dim", c->z_dim, e) ||
        blob_writer_int(w, "w_dim", c->w_dim, e) || blob_writer_int(w, "c_dim", c->c_dim, e) ||
        blob_writer_int(w, "num_ws", num_ws, e) || blob_writer_int(w, "img_resolution", c->img_resolution, e) ||
        blob_writer_int(w, "img_channels", c->img_channels, e) ||
        blob_writer_int(w, "mapping_layers", c->mapping_layers, e) ||
        blob_writer_float(w, "mapping_lr_multiplier", c->lr_multiplier, e) ||
        blob_writer_float(w, "conv_clamp", c->conv_clamp, e) ||
        blob_writer_str(w, "architecture", c->architecture, e) ||
        blob_writer_float(w, "w_avg_beta", c->w_avg_beta, e) || blob_writer_str(w, "network", net_key, e) ||
        blob_writer_str(w, "source", src, e))
        return -1;
    if (known_channels && (blob_writer_int(w, "channel_base", c->channel_base, e) ||
                           blob_writer_int(w, "channel_max", c->channel_max, e)))
        return -1;
    if (known_fp16 && blob_writer_int(w, "num_fp16_res", c->num_fp16_res, e)) return -1;
    return 0;
}

/* Every tensor the generator needs (names from the layout) must be there. */
static int check_complete(conv_t *cv, const sg2_layout_config_t *c) {
    sg2_layout_config_t lay = *c;
    lay.channel_base = c->img_resolution * 4;  /* names do not depend on channel counts */
    lay.channel_max = 4;
    if (sg2_config_check(&lay, NULL)) return 0;  /* not a layout we know: convert as is */
    sg2_tensor_spec_t *specs = malloc(sizeof *specs * 256);
    if (!specs) return sal_errf(cv->err, "%s: out of memory", cv->file);
    int n, rc = 0;
    if (sg2_layout(&lay, specs, 256, &n)) n = 0;
    for (int i = 0; i < n && !rc; i++) {
        int found = 0;
        for (int k = 0; k < cv->n_tensors && !found; k++) found = strcmp(cv->names[k], specs[i].name) == 0;
        if (!found) rc = sal_errf(cv->err, "%s: the generator has no tensor '%s'", cv->file, specs[i].name);
    }
    free(specs);
    return rc;
}

/* ---- state dicts (torch.save(G_ema.state_dict())) ------------------------ */

/* A dict mapping dotted names to tensors, recognised by its mapping weights. */
static int is_state_dict(const pk_node_t *d) {
    return d && d->type == PK_DICT && pk_dict_get(d, "mapping.fc0.weight") && pk_dict_get(d, "mapping.w_avg");
}

static int valid_dotted(const pk_node_t *k) {
    if (!k || k->type != PK_STR || k->len == 0 || k->len > MAX_NAME || k->s[0] == '.' || k->s[k->len - 1] == '.')
        return 0;
    for (size_t i = 0; i < k->len; i++) {
        char c = k->s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* ndim and shape of an added tensor, or NULL. */
static const int64_t *shape_of(const conv_t *cv, const char *name) {
    for (int i = 0; i < cv->n_tensors; i++)
        if (strcmp(cv->names[i], name) == 0) return cv->shapes[i];
    return NULL;
}

/* Without module attributes the config is read off the tensor shapes;
 * lr multiplier and conv_clamp are not stored in a state dict: we assume
 * NVIDIA's values (0.01, 256) and say so in the metadata. */
static int infer_config(conv_t *cv, sg2_layout_config_t *c) {
    memset(c, 0, sizeof *c);
    const int64_t *wa = shape_of(cv, "mapping.w_avg"), *fc0 = shape_of(cv, "mapping.fc0.weight");
    const int64_t *emb = shape_of(cv, "mapping.embed.weight"), *rgb = shape_of(cv, "synthesis.b4.torgb.weight");
    if (!wa || wa[0] != 1 || !fc0 || fc0[0] != 2 || !rgb || rgb[0] != 4)
        return sal_errf(cv->err, "%s: state dict lacks mapping.w_avg / mapping.fc0.weight / synthesis.b4.torgb.weight",
                        cv->file);
    int64_t embed = emb && emb[0] == 2 ? emb[1] : 0;
    c->w_dim = (int)wa[1];
    c->c_dim = emb && emb[0] == 2 ? (int)emb[2] : 0;
    c->z_dim = (int)(fc0[2] - embed);
    c->img_channels = (int)rgb[1];
    char name[64];
    for (c->mapping_layers = 0; c->mapping_layers < 64; c->mapping_layers++) {
        snprintf(name, sizeof name, "mapping.fc%d.weight", c->mapping_layers);
        if (!shape_of(cv, name)) break;
    }
    for (c->img_resolution = 4; c->img_resolution < 16384; c->img_resolution *= 2) {
        snprintf(name, sizeof name, "synthesis.b%d.torgb.weight", c->img_resolution * 2);
        if (!shape_of(cv, name)) break;
    }
    c->lr_multiplier = 0.01;
    c->conv_clamp = 256;
    c->architecture = "skip";
    c->w_avg_beta = 0.995;
    if (c->w_dim < 1 || c->z_dim < 0 || c->c_dim < 0 || c->img_channels < 1 || c->img_channels > 16)
        return sal_errf(cv->err, "%s: state dict has inconsistent mapping/torgb shapes", cv->file);
    return 0;
}

static int convert_state_dict(conv_t *cv, const pk_node_t *sd, const char *key) {
    for (size_t i = 0; i < sd->n; i++) {
        const pk_node_t *k = sd->items[2 * i], *v = sd->items[2 * i + 1];
        if (!valid_dotted(k)) return sal_errf(cv->err, "%s: state dict has a bad tensor name", cv->file);
        if (add_tensor(cv, k->s, v)) return -1;
    }
    sg2_layout_config_t c;
    if (infer_config(cv, &c) || check_complete(cv, &c)) return -1;
    int lg = 0;
    while ((1 << lg) < c.img_resolution) lg++;
    if (write_meta(cv, &c, 2 * lg - 2, 0, 0, key)) return -1;
    return blob_writer_str(cv->w, "config_assumed", "mapping_lr_multiplier=0.01 conv_clamp=256 (not in a state dict)",
                           cv->err);
}

/* Lists the top-level keys of a dict into buf, for error messages. */
static const char *list_keys(const pk_node_t *d, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; d && d->type == PK_DICT && i < d->n && used + 40 < len; i++) {
        const pk_node_t *k = d->items[2 * i];
        int n = snprintf(buf + used, len - used, "%s'%.30s'", i ? ", " : "", valid_key(k) ? k->s : "?");
        if (n > 0) used += (size_t)n;
    }
    return buf;
}

int sg2pt_convert(wc_input_t *in, const sg2pt_options_t *opt, blob_writer_t *w, sal_err_t *err) {
    conv_t cv;
    memset(&cv, 0, sizeof cv);
    cv.in = in;
    cv.w = w;
    cv.file = wc_basename(in->path);
    cv.err = err;
    int rc = -1;
    if (zr_is_zip(in->data, in->size) || ts_is_legacy(in->data, in->size)) {
        if (ts_archive_open(&cv.arch, in->data, in->size, cv.file, SG2PT_GLOBALS, N_GLOBALS, err)) return -1;
    } else if (ts_archive_open_pickle(&cv.arch, in->data, in->size, cv.file, SG2PT_GLOBALS, N_GLOBALS, err)) {
        return -1;
    }
    /* the generator: top['G_ema'] (or 'G'), or the pickled module itself */
    const char *key = opt && opt->use_G ? "G" : "G_ema";
    const pk_node_t *root = cv.arch.root, *gen = pk_dict_get(root, key);
    if (!gen && pk_is_call(root, "torch_utils.persistence", "_reconstruct_persistent_obj")) {
        gen = root;
        key = "module";
    }
    if (!gen && is_state_dict(root)) gen = root, key = "state_dict";
    if (gen && is_state_dict(gen)) {
        rc = convert_state_dict(&cv, gen, key);
        goto done;
    }
    if (!gen) {
        char keys[300];
        if (root->type == PK_DICT)
            sal_errf(err, "%s: no '%s' in the pickle (top-level keys: %s)%s", cv.file, key,
                     list_keys(root, keys, sizeof keys),
                     !(opt && opt->use_G) && pk_dict_get(root, "G") ? "; --use-G converts G" : "");
        else
            sal_errf(err, "%s: the pickle holds a %s, not a network snapshot dict", cv.file, pk_type_name(root->type));
        goto done;
    }
    const char *cls;
    const pk_node_t *gstate = module_state(&cv, gen, key, &cls);
    if (!gstate) goto done;
    if (strcmp(cls, "Generator") != 0) {
        sal_errf(err, "%s: '%s' is a %s, expected a Generator", cv.file, key, cls);
        goto done;
    }
    if (walk_module(&cv, gen, "", 0)) goto done;
    sg2_layout_config_t c;
    int known_channels = 0, known_fp16 = 0, num_ws = 0;
    if (read_config(&cv, gstate, &c, &known_channels, &known_fp16)) goto done;
    if (need_int(&cv, gstate, "Generator", "num_ws", 1, 64, &num_ws)) goto done;
    if (check_complete(&cv, &c)) goto done;
    if (write_meta(&cv, &c, num_ws, known_channels, known_fp16, key)) goto done;
    rc = 0;
done:
    /* inflated zip members hold tensor data: hand them to `in` */
    for (int i = 0; i < cv.arch.n_owned; i++) {
        if (wc_input_own(in, cv.arch.owned[i], rc ? NULL : err)) rc = -1;
        cv.arch.owned[i] = NULL;
    }
    cv.arch.n_owned = 0;
    ts_archive_close(&cv.arch);
    for (int i = 0; i < cv.n_tensors; i++) free(cv.names[i]);
    free(cv.names);
    free(cv.shapes);
    return rc;
}

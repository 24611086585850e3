/* sg2_layout.c — StyleGAN2 generator tensor sets; see sg2_layout.h. */
#include "sg2_layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* NVIDIA's published configs (stylegan2-ada-pytorch train.py cfg_specs:
 * paper1024/paper512: fmaps 1 -> channel_base 32768; paper256: fmaps 0.5 ->
 * 16384; channel_max 512, 8 mapping layers, lr 0.01, conv_clamp 256,
 * num_fp16_res 4) and the small test networks (tests read them from the
 * golden fixtures, see README). */
static const sg2_layout_config_t CONFIGS[] = {
    {"ffhq1024", 512, 512, 0, 1024, 3, 8, 0.01, 32768, 512, 4, 256, "skip", 0.995},
    {"ffhq512", 512, 512, 0, 512, 3, 8, 0.01, 32768, 512, 4, 256, "skip", 0.995},
    {"ffhq256", 512, 512, 0, 256, 3, 8, 0.01, 16384, 512, 4, 256, "skip", 0.995},
    {"tiny", 64, 64, 0, 32, 3, 8, 0.01, 1024, 48, 2, 256, "skip", 0.995},
    {"tiny_clamp", 64, 64, 0, 32, 3, 8, 0.01, 1024, 48, 2, 256, "skip", 0.995},
    {"small", 512, 512, 0, 64, 3, 8, 0.01, 2048, 128, 3, 256, "skip", 0.995},
};

const sg2_layout_config_t *sg2_config_find(const char *name) {
    for (size_t i = 0; i < sizeof CONFIGS / sizeof CONFIGS[0]; i++)
        if (strcmp(CONFIGS[i].name, name) == 0) return &CONFIGS[i];
    return NULL;
}

const char *sg2_config_names(void) { return "ffhq1024, ffhq512, ffhq256, tiny, tiny_clamp, small"; }

static int log2_exact(int v) {
    int k = 0;
    while (v > 1 && (v & 1) == 0) { v >>= 1; k++; }
    return v == 1 ? k : -1;
}

int sg2_config_check(const sg2_layout_config_t *c, const char **why) {
    const char *w = NULL;
    int lg = log2_exact(c->img_resolution);
    if (lg < 2 || lg > 14) w = "img_resolution must be a power of two in 4..16384";
    else if (c->z_dim < 0 || c->z_dim > 65536 || c->w_dim < 1 || c->w_dim > 65536) w = "bad z_dim/w_dim";
    else if (c->z_dim == 0 && c->c_dim == 0) w = "z_dim and c_dim are both 0";
    else if (c->c_dim < 0 || c->c_dim > 65536) w = "bad c_dim";
    else if (c->img_channels < 1 || c->img_channels > 16) w = "bad img_channels";
    else if (c->mapping_layers < 1 || c->mapping_layers > 64) w = "bad mapping_layers";
    else if (c->channel_base < 1 || c->channel_max < 1 || c->channel_max > 65536) w = "bad channel_base/channel_max";
    else if (c->channel_base / c->img_resolution < 1) w = "channel_base too small for the resolution";
    else if (!c->architecture || strcmp(c->architecture, "skip") != 0) w = "only the 'skip' architecture is laid out";
    if (why) *why = w;
    return w ? -1 : 0;
}

int sg2_num_ws(const sg2_layout_config_t *c) { return 2 * log2_exact(c->img_resolution) - 2; }

int sg2_channels(const sg2_layout_config_t *c, int res) {
    int v = c->channel_base / res;
    return v < c->channel_max ? v : c->channel_max;
}

typedef struct builder {
    sg2_tensor_spec_t *out;
    int max, n, overflow;
} builder_t;

static void add(builder_t *b, sg2_role_t role, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void add(builder_t *b, sg2_role_t role, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                const char *fmt, ...) {
    if (b->n >= b->max) { b->overflow = 1; return; }
    sg2_tensor_spec_t *s = &b->out[b->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->role = role;
    s->ndim = ndim;
    int64_t d[4] = {d0, d1, d2, d3};
    for (int i = 0; i < 4; i++) s->shape[i] = i < ndim ? d[i] : 0;
}

/* SynthesisLayer: modulated 3x3 conv c_in -> c_out at resolution res. */
static void add_layer(builder_t *b, const char *p, int c_in, int c_out, int res, int w_dim) {
    add(b, SG2_ROLE_CONV_WEIGHT, 4, c_out, c_in, 3, 3, "%s.weight", p);
    add(b, SG2_ROLE_NOISE_STRENGTH, 0, 0, 0, 0, 0, "%s.noise_strength", p);
    add(b, SG2_ROLE_CONV_BIAS, 1, c_out, 0, 0, 0, "%s.bias", p);
    add(b, SG2_ROLE_RESAMPLE_FILTER, 2, 4, 4, 0, 0, "%s.resample_filter", p);
    add(b, SG2_ROLE_NOISE_CONST, 2, res, res, 0, 0, "%s.noise_const", p);
    add(b, SG2_ROLE_AFFINE_WEIGHT, 2, c_in, w_dim, 0, 0, "%s.affine.weight", p);
    add(b, SG2_ROLE_AFFINE_BIAS, 1, c_in, 0, 0, 0, "%s.affine.bias", p);
}

int sg2_layout(const sg2_layout_config_t *c, sg2_tensor_spec_t *out, int max, int *n) {
    *n = 0;
    if (sg2_config_check(c, NULL)) return -1;
    builder_t b = {out, max, 0, 0};
    char p[64];
    for (int res = 4; res <= c->img_resolution; res *= 2) {
        int ch = sg2_channels(c, res), ch_in = res > 4 ? sg2_channels(c, res / 2) : 0;
        if (res == 4) add(&b, SG2_ROLE_CONST, 3, ch, 4, 4, 0, "synthesis.b4.const");
        add(&b, SG2_ROLE_RESAMPLE_FILTER, 2, 4, 4, 0, 0, "synthesis.b%d.resample_filter", res);
        if (res > 4) {
            snprintf(p, sizeof p, "synthesis.b%d.conv0", res);
            add_layer(&b, p, ch_in, ch, res, c->w_dim);
        }
        snprintf(p, sizeof p, "synthesis.b%d.conv1", res);
        add_layer(&b, p, ch, ch, res, c->w_dim);
        add(&b, SG2_ROLE_TORGB_WEIGHT, 4, c->img_channels, ch, 1, 1, "synthesis.b%d.torgb.weight", res);
        add(&b, SG2_ROLE_TORGB_BIAS, 1, c->img_channels, 0, 0, 0, "synthesis.b%d.torgb.bias", res);
        add(&b, SG2_ROLE_AFFINE_WEIGHT, 2, ch, c->w_dim, 0, 0, "synthesis.b%d.torgb.affine.weight", res);
        add(&b, SG2_ROLE_AFFINE_BIAS, 1, ch, 0, 0, 0, "synthesis.b%d.torgb.affine.bias", res);
    }
    add(&b, SG2_ROLE_W_AVG, 1, c->w_dim, 0, 0, 0, "mapping.w_avg");
    int embed = c->c_dim > 0 ? c->w_dim : 0;
    if (embed) {
        add(&b, SG2_ROLE_MAP_WEIGHT, 2, embed, c->c_dim, 0, 0, "mapping.embed.weight");
        add(&b, SG2_ROLE_MAP_BIAS, 1, embed, 0, 0, 0, "mapping.embed.bias");
    }
    for (int i = 0; i < c->mapping_layers; i++) {
        int in = i == 0 ? c->z_dim + embed : c->w_dim;
        add(&b, SG2_ROLE_MAP_WEIGHT, 2, c->w_dim, in, 0, 0, "mapping.fc%d.weight", i);
        add(&b, SG2_ROLE_MAP_BIAS, 1, c->w_dim, 0, 0, 0, "mapping.fc%d.bias", i);
    }
    *n = b.n;
    return b.overflow ? -1 : 0;
}

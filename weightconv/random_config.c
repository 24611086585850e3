/* random_config.c — random-weight generator blobs; see random_config.h. */
#include "random_config.h"

#include <stdio.h>
#include <stdlib.h>

#include "rng.h"

/* Fills one tensor according to its role. */
static void fill(const sg2_tensor_spec_t *s, const sg2_layout_config_t *c, rng_np_t *r, float *v, int64_t n) {
    double scale = 1.0, mean = 0.0;
    int gaussian = 1;
    switch (s->role) {
    case SG2_ROLE_CONST: case SG2_ROLE_NOISE_CONST: case SG2_ROLE_CONV_WEIGHT: case SG2_ROLE_AFFINE_WEIGHT: break;
    case SG2_ROLE_AFFINE_BIAS: gaussian = 0; mean = 1.0; break;
    case SG2_ROLE_CONV_BIAS: scale = 0.1; break;
    case SG2_ROLE_NOISE_STRENGTH: scale = 0.05; break;
    case SG2_ROLE_TORGB_WEIGHT: scale = 0.1; break;
    case SG2_ROLE_TORGB_BIAS: gaussian = 0; break;
    case SG2_ROLE_W_AVG: scale = 0.1; break;
    case SG2_ROLE_MAP_WEIGHT: scale = 1.0 / c->lr_multiplier; break;
    case SG2_ROLE_MAP_BIAS: scale = 0.1 / c->lr_multiplier; break;
    case SG2_ROLE_RESAMPLE_FILTER: {
        static const float f[4] = {1, 3, 3, 1};
        for (int i = 0; i < 16; i++) v[i] = f[i / 4] * f[i % 4] / 64.0f;
        return;
    }
    }
    for (int64_t i = 0; i < n; i++) v[i] = (float)(mean + (gaussian ? scale * rng_np_randn(r) : 0.0));
}

int rc_random_generator(const sg2_layout_config_t *c, uint32_t seed, blob_writer_t *w, sal_err_t *err) {
    const char *why;
    if (sg2_config_check(c, &why)) return sal_errf(err, "config %s: %s", c->name ? c->name : "?", why);
    enum { MAX_SPECS = 256 };
    sg2_tensor_spec_t *specs = malloc(sizeof *specs * MAX_SPECS);
    if (!specs) return sal_errf(err, "out of memory");
    int n;
    if (sg2_layout(c, specs, MAX_SPECS, &n)) {
        free(specs);
        return sal_errf(err, "config %s: cannot lay out the generator", c->name ? c->name : "?");
    }
    rng_np_t r;
    rng_np_seed(&r, seed);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        int64_t numel = 1;
        for (int d = 0; d < specs[i].ndim; d++) numel *= specs[i].shape[d];
        float *v = malloc(sizeof(float) * (size_t)numel);
        if (!v) { rc = sal_errf(err, "out of memory for %s", specs[i].name); break; }
        fill(&specs[i], c, &r, v, numel);
        rc = blob_writer_tensor(w, specs[i].name, DT_F32, specs[i].ndim, specs[i].shape, v, 1, err);
        free(v);
    }
    free(specs);
    if (rc) return -1;
    char src[128];
    snprintf(src, sizeof src, "random:%s", c->name ? c->name : "custom");
    if (blob_writer_str(w, "arch", "stylegan2-ada", err) || blob_writer_int(w, "z_dim", c->z_dim, err) ||
        blob_writer_int(w, "w_dim", c->w_dim, err) || blob_writer_int(w, "c_dim", c->c_dim, err) ||
        blob_writer_int(w, "num_ws", sg2_num_ws(c), err) ||
        blob_writer_int(w, "img_resolution", c->img_resolution, err) ||
        blob_writer_int(w, "img_channels", c->img_channels, err) ||
        blob_writer_int(w, "mapping_layers", c->mapping_layers, err) ||
        blob_writer_float(w, "mapping_lr_multiplier", c->lr_multiplier, err) ||
        blob_writer_float(w, "conv_clamp", c->conv_clamp, err) ||
        blob_writer_str(w, "architecture", c->architecture, err) ||
        blob_writer_float(w, "w_avg_beta", c->w_avg_beta, err) ||
        blob_writer_int(w, "channel_base", c->channel_base, err) ||
        blob_writer_int(w, "channel_max", c->channel_max, err) ||
        blob_writer_int(w, "num_fp16_res", c->num_fp16_res, err) ||
        blob_writer_int(w, "seed", seed, err) || blob_writer_str(w, "network", "random", err) ||
        blob_writer_str(w, "source", src, err))
        return -1;
    return 0;
}

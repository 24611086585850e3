/* sg2_layout.h — the tensor set of a StyleGAN2(-ADA) generator (G_ema) for a
 * given configuration, named and ordered exactly like torch's state_dict():
 *
 *   synthesis.b4.const (C4,4,4), synthesis.b4.resample_filter (4,4),
 *   synthesis.b4.conv1.{weight (C,C,3,3), noise_strength (), bias (C),
 *                       resample_filter (4,4), noise_const (4,4),
 *                       affine.weight (C_in,w_dim), affine.bias (C_in)},
 *   synthesis.b4.torgb.{weight (3,C,1,1), bias (3), affine.weight, affine.bias},
 *   synthesis.b8.resample_filter, synthesis.b8.conv0.* (upsampling C(r/2)->C(r)),
 *   synthesis.b8.conv1.*, synthesis.b8.torgb.*, ... up to img_resolution,
 *   mapping.w_avg (w_dim), [mapping.embed.* if c_dim > 0],
 *   mapping.fc0.weight (w_dim, z_dim [+ w_dim if c_dim]), mapping.fc0.bias, ... fc{L-1}
 *
 * with C(r) = min(channel_base / r, channel_max) channels at resolution r
 * ("skip" architecture). Used for random-weight blobs and to check that a
 * converted network is complete.
 */
#ifndef SALIENT_SG2_LAYOUT_H
#define SALIENT_SG2_LAYOUT_H

#include <stdint.h>

typedef struct sg2_layout_config {
    const char *name;          /* e.g. "ffhq1024" (NULL if unnamed) */
    int z_dim, w_dim, c_dim;
    int img_resolution, img_channels;
    int mapping_layers;
    double lr_multiplier;      /* mapping network */
    int channel_base, channel_max;
    int num_fp16_res;
    int conv_clamp;            /* 0 = None */
    const char *architecture;  /* "skip" */
    double w_avg_beta;
} sg2_layout_config_t;

typedef enum sg2_role {
    SG2_ROLE_CONST, SG2_ROLE_RESAMPLE_FILTER, SG2_ROLE_CONV_WEIGHT, SG2_ROLE_NOISE_STRENGTH, SG2_ROLE_CONV_BIAS,
    SG2_ROLE_NOISE_CONST, SG2_ROLE_AFFINE_WEIGHT, SG2_ROLE_AFFINE_BIAS, SG2_ROLE_TORGB_WEIGHT, SG2_ROLE_TORGB_BIAS,
    SG2_ROLE_W_AVG, SG2_ROLE_MAP_WEIGHT, SG2_ROLE_MAP_BIAS,
} sg2_role_t;

typedef struct sg2_tensor_spec {
    char name[96];
    int ndim;
    int64_t shape[4];
    sg2_role_t role;
} sg2_tensor_spec_t;

/* The named configurations: ffhq1024, ffhq512, ffhq256 and the fixture
 * configs tiny, tiny_clamp, small. NULL if unknown. */
const sg2_layout_config_t *sg2_config_find(const char *name);
/* Comma-separated list of the names, for --help. */
const char *sg2_config_names(void);

/* 0 if the numbers describe a generator we can lay out, else -1 and a reason. */
int sg2_config_check(const sg2_layout_config_t *cfg, const char **why);
int sg2_num_ws(const sg2_layout_config_t *cfg);              /* 2 log2(R) - 2 */
int sg2_channels(const sg2_layout_config_t *cfg, int res);   /* C(r) */

/* Fills out[0..*n) in state_dict order; returns -1 if max is too small or
 * the config is invalid. 200 entries suffice up to 1024x1024. */
int sg2_layout(const sg2_layout_config_t *cfg, sg2_tensor_spec_t *out, int max, int *n);

#endif

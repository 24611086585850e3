/* stylegan2.h — NVIDIA's StyleGAN2-ADA generator (G_ema) on the CPU, float32.
 *
 * The numerics follow docs/stylegan2.md (what the
 * official stylegan2-ada-pytorch code computes in eval mode with
 * force_fp32=True); the forward pass itself is explained step by step in
 * stylegan2.c. Use:
 *
 *   blob_t *blob;  netload_open("ffhq.pkl", &blob, &err);   // or blob_open
 *   sg2_net_t *net;  sg2_load(&net, blob, &err);            // blob must outlive net
 *   float z[N * z_dim];   sg2_z_from_seed(seed, z_dim, z, NULL);  // per sample
 *   float *ws  = ...;     // (N, num_ws, w_dim)
 *   float *img = ...;     // (N, img_channels, R, R), nominal range [-1, 1]
 *   sg2_mapping(net, z, N, 0.7f, SG2_CUTOFF_NONE, ws, &err);
 *   sg2_synthesis(net, ws, N, NULL, img, &err);            // NULL: noise 'const'
 *   sg2_to_uint8(img, N, 3, R, R, rgb);                     // (N, R, R, 3) as generate.py
 *   sg2_free(net);  blob_close(blob);
 *
 * A batch of N latents runs as one pass: every sample shares the weights, and
 * only the style (s) and demodulation (d) vectors are per sample.
 */
#ifndef SALIENT_STYLEGAN2_H
#define SALIENT_STYLEGAN2_H

#include <stdint.h>

#include "arena.h"
#include "blob.h"
#include "common.h"
#include "conv.h"
#include "rng.h"

#define SG2_MAX_BLOCKS 12          /* resolutions 4 .. 8192 */
#define SG2_MAX_MAPPING_LAYERS 32
#define SG2_MAX_BATCH 65536
#define SG2_CUTOFF_NONE (-1)       /* truncation_cutoff=None: truncate every w row */

/* ---- configuration (from the blob's metadata and tensor shapes) ---------- */

typedef struct sg2_config {
    int z_dim;              /* latent z length (512 for FFHQ) */
    int w_dim;              /* intermediate latent w length (512) */
    int c_dim;              /* conditioning label length; only 0 is supported */
    int num_ws;             /* number of w rows the synthesis consumes: 2 log2(R) - 2 */
    int img_resolution;     /* R (1024 for FFHQ) */
    int img_channels;       /* 3 (RGB) */
    int mapping_layers;     /* 8 */
    double mapping_lr_multiplier;  /* 0.01 */
    float conv_clamp;       /* 256, or 0 for None */
    int num_blocks;         /* log2(R) - 1: blocks at 4, 8, ..., R */
    int block_res[SG2_MAX_BLOCKS];   /* 4, 8, 16, ... */
    int block_cin[SG2_MAX_BLOCKS];   /* channels entering the block (0 for b4) */
    int block_cout[SG2_MAX_BLOCKS];  /* channels leaving the block: C(res) */
    int mapping_features[SG2_MAX_MAPPING_LAYERS + 1]; /* fc i maps [i] -> [i+1] */
} sg2_config_t;

/* ---- weights: pointers into the blob (not owned) + what is prepared once ---- */

/* FullyConnectedLayer: y = x W_eff^T + b_eff, W_eff = W * weight_gain,
 * b_eff = b * bias_gain (gains applied once at load, in float32 as torch). */
typedef struct sg2_fc {
    int in, out;
    const float *weight;    /* (out, in)   raw, from the blob */
    const float *bias;      /* (out)       raw, from the blob */
    float *w_eff;           /* (out, in)   owned: fl(weight * fl(weight_gain)) */
    float *b_eff;           /* (out)       owned: fl(bias * fl(bias_gain)) */
} sg2_fc_t;

/* SynthesisLayer: modulated 3x3 conv (optionally with 2x upsampling). */
typedef struct sg2_layer {
    int c_in, c_out, res, up;
    sg2_fc_t affine;            /* w_dim -> c_in: the styles s */
    const float *weight;        /* (c_out, c_in, 3, 3) raw */
    const float *bias;          /* (c_out) */
    const float *noise_const;   /* (res, res) */
    float noise_strength;       /* 0-d parameter */
    conv_weights_t conv;        /* the shared weight, packed for the kernels */
    float *wsq;                 /* (c_out, c_in) owned: sum_{ky,kx} weight^2 (for d) */
    /* for the backward pass (stylegan2_grad.h, sg2_grad_prepare): the weight
     * of the conv's adjoint, transposed (and flipped for up=0), owned */
    conv_weights_t conv_adj;
    float *w_adj;               /* (c_in, c_out, 3, 3) */
} sg2_layer_t;

/* ToRGBLayer: modulated 1x1 conv without demodulation. */
typedef struct sg2_torgb {
    int c_in, c_out;
    sg2_fc_t affine;            /* w_dim -> c_in */
    const float *weight;        /* (img_channels, c_in, 1, 1) raw */
    const float *bias;          /* (img_channels) */
    float weight_gain;          /* fl(1 / sqrt(c_in)), multiplies the styles */
    conv_weights_t conv;
} sg2_torgb_t;

/* SynthesisBlock at resolution res. b4 has a learned constant and no conv0. */
typedef struct sg2_block {
    int res, c_in, c_out;
    const float *const_input;   /* (c_out, 4, 4), b4 only */
    sg2_layer_t conv0;          /* up=2, c_in -> c_out (not in b4) */
    sg2_layer_t conv1;          /* c_out -> c_out */
    sg2_torgb_t torgb;          /* c_out -> img_channels */
    char name[32];              /* "synthesis.b<res>" */
} sg2_block_t;

typedef struct sg2_net {
    sg2_config_t cfg;
    const float *w_avg;                         /* (w_dim) mapping.w_avg */
    sg2_fc_t mapping[SG2_MAX_MAPPING_LAYERS];   /* mapping.fc0 .. fc{L-1} */
    sg2_block_t blocks[SG2_MAX_BLOCKS];
} sg2_net_t;

/* ---- loading -------------------------------------------------------------- */

/* Reads the config and weights of a converted G_ema ("arch" = "stylegan2-ada",
 * architecture "skip", c_dim 0), checks every tensor's shape, and prepares the
 * effective FC weights, the packed conv weights and the demodulation tables.
 * The blob must stay open until sg2_free. */
int sg2_load(sg2_net_t **out, const blob_t *blob, sal_err_t *err);
void sg2_free(sg2_net_t *net);
/* Fast mode (`--fast`): the stride-1 3x3 convs (conv1) switch to Winograd
 * F(4x4,3x3) (conv_weights_make_fast) and the transposed convs (conv0, from
 * 64 px and 32 output channels) to Winograd F(4,2) on their parity classes
 * (conv_weights_make_fast_transposed); fp32, not bit-exact with the
 * reference, deviations ~1e-6 relative. Everything else (styles,
 * demodulation, FIR, bias/noise/activation/clamp, ToRGB and the skip path)
 * stays exact. 0 or -1 (memory). */
int sg2_enable_fast(sg2_net_t *net, sal_err_t *err);

/* ---- seeds and the mapping network ---------------------------------------- */

/* z = fl(RandomState(seed).randn(1, z_dim)) as generate.py does, into z
 * (z_dim floats). If rng is given it is left positioned after the z draws (a
 * per-sample stream for noise_mode random); else a local generator is used. */
void sg2_z_from_seed(uint32_t seed, int z_dim, float *z, rng_np_t *rng);

/* Mapping + truncation: z (N, z_dim) -> ws (N, num_ws, w_dim).
 * psi != 1 applies torch.lerp(w_avg, w, psi) to rows 0..cutoff-1
 * (cutoff SG2_CUTOFF_NONE: all rows). */
int sg2_mapping(const sg2_net_t *net, const float *z, int n, float psi, int cutoff, float *ws,
                sal_err_t *err);
/* The same, reporting "mapping.normalize.out" (N, z_dim), "mapping.fc<i>.out",
 * "mapping.w" (N, w_dim) and "mapping.ws" (N, num_ws, w_dim) to hook (may be
 * NULL; sg2_hook_fn is declared below). */
typedef void (*sg2_hook_fn)(void *user, const char *name, int ndim, const int64_t *shape,
                            const float *data);
int sg2_mapping_hooked(const sg2_net_t *net, const float *z, int n, float psi, int cutoff,
                       float *ws, sg2_hook_fn hook, void *hook_user, sal_err_t *err);
/* The truncation step alone (in place on ws (N, num_ws, w_dim)). */
void sg2_truncate(const sg2_net_t *net, float *ws, int n, float psi, int cutoff);
/* Its adjoint (a vector-Jacobian product), in place on dws (N, num_ws, w_dim):
 * the truncated rows are scaled by psi. */
void sg2_truncate_backward(const sg2_net_t *net, float *dws, int n, float psi, int cutoff);

/* ---- the synthesis network -------------------------------------------------- */

typedef enum sg2_noise_mode {
    SG2_NOISE_CONST = 0,    /* the stored noise_const maps (generate.py's default) */
    SG2_NOISE_NONE = 1,     /* no noise */
    SG2_NOISE_RANDOM = 2,   /* fresh N(0,1) maps drawn from per-sample generators */
} sg2_noise_mode_t;

/* The hook (sg2_hook_fn, above) is called with each intermediate tensor (the
 * whole batch), named as in the fixtures: "synthesis.b8.conv0.affine.out"
 * (N, c_in), "synthesis.b8.conv0.demod" (N, c_out; not in the fixtures),
 * "synthesis.b8.conv0.out" (N, c_out, res, res), "synthesis.b8.torgb.affine.out"
 * (N, c_in; before ToRGB's weight_gain), "synthesis.b8.torgb.out"
 * (N, 3, res, res), "synthesis.b8.x", "synthesis.b8.img". */

typedef struct sg2_synthesis_opts {
    sg2_noise_mode_t noise_mode;
    rng_np_t *noise_rngs;   /* SG2_NOISE_RANDOM: an array of N generators, one per
                             * sample (so a sample's image does not depend on its batch) */
    sg2_hook_fn hook;       /* optional */
    void *hook_user;
    arena_t *arena;         /* optional scratch to reuse across calls; needs
                             * cap >= sg2_synthesis_arena_bytes(net, N). NULL: one
                             * is allocated for the call. */
} sg2_synthesis_opts_t;

/* Bytes of scratch one synthesis pass over N samples needs. 0 if N is out of
 * range or the size overflows. (A pass with a hook runs the whole batch
 * through every block and allocates its own scratch if opts->arena is too
 * small for that.) */
size_t sg2_synthesis_arena_bytes(const sg2_net_t *net, int n);

/* ws (N, num_ws, w_dim) -> img (N, img_channels, R, R). opts may be NULL. */
int sg2_synthesis(const sg2_net_t *net, const float *ws, int n,
                  const sg2_synthesis_opts_t *opts, float *img, sal_err_t *err);

/* generate.py's uint8 step: u8 = trunc(clamp(fl(fl(img * 127.5) + 128), 0, 255)),
 * NCHW float -> NHWC uint8. */
void sg2_to_uint8(const float *img, int n, int c, int h, int w, uint8_t *out);

#endif

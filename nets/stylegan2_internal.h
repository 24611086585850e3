/* stylegan2_internal.h — what the three files of the fast generator share, and
 * nothing else includes: the float32 constants of the official code, and the
 * scratch-memory plan of one synthesis pass.
 *
 *   stylegan2_load.c   the blob -> sg2_net_t (config, weights, what is prepared once)
 *   stylegan2_plan.c   how much scratch a pass needs and how it is cut up
 *   stylegan2.c        the forward pass itself, read top to bottom
 */
#ifndef SALIENT_STYLEGAN2_INTERNAL_H
#define SALIENT_STYLEGAN2_INTERNAL_H

#include <stddef.h>

#include "arena.h"
#include "conv.h"
#include "cpu.h"
#include "stylegan2.h"

/* Constants as the official code applies them in float32 (docs/stylegan2.md, "Constants"). */
#define SG2_SQRT2 1.41421353816986083984375f   /* fl(sqrt(2)): lrelu's gain */
#define SG2_LRELU_SLOPE 0.2f
#define SG2_EPS 1e-8f                          /* in normalize_2nd_moment and demod */

/* The resample filter f = [1, 3, 3, 1]: every 2x upsampling (the up-conv and
 * the skip path) filters with F[a,b] = 4 f[a] f[b] / 64, i.e.
 * F = f f^T * (1/16); the 4 is the up^2 gain that zero-stuffing needs. The
 * loader refuses networks whose stored filter is anything else. */
static const float sg2_fir_taps[4] = {1.0f, 3.0f, 3.0f, 1.0f};
#define SG2_FIR_GAIN (1.0f / 16.0f)

/* The scratch of one synthesis pass over N samples, cut from one arena
 * (stylegan2_plan.c explains the two phases and every buffer). */
typedef struct sg2_scratch {
    int split;                  /* blocks [0, split) run on the whole batch, the rest per sample */
    float *feat1[2], *img1[2];  /* phase 1: ping-pong feature maps and RGB skip images */
    float *feat2[2], *img2[2];  /* phase 2: the same for one sample */
    float *tmp;                 /* the transposed conv's (2H+1)^2 output, before its FIR */
    size_t tmp_floats;
    float *styles, *styles_sq, *dcoef;  /* (N, C) */
    float *wrow;                /* (N, w_dim): one row of ws */
    float *noise;               /* (N, res, res): random noise maps of one layer */
    conv_ws_t kws;              /* the kernels' workspace, sized for every call of the pass */
    /* where the memory came from (for sg2_scratch_close) */
    arena_t own, *arena;
    size_t mark;
} sg2_scratch_t;

/* Plans and allocates the scratch of a pass: from opts->arena if it has room,
 * else (only allowed with a hook, which needs whole-batch tensors) from an
 * arena of its own. opts must not be NULL. 0, or -1 with *err set. */
int sg2_scratch_open(const sg2_net_t *net, int n, const sg2_synthesis_opts_t *opts,
                     sg2_scratch_t *s, sal_err_t *err);
/* Gives the memory back (to the caller's arena, or frees the own one). */
void sg2_scratch_close(sg2_scratch_t *s);

/* How many samples of an up-conv layer fit into tmp at once (1..n). */
int sg2_upconv_chunk(const sg2_layer_t *L, size_t tmp_floats, int n);

#endif

/* stylegan2_grad.h — exact vector–Jacobian products of the StyleGAN2-ADA
 * generator (stylegan2.h): from dL/d(img) back to dL/d(ws) (w+), and through
 * truncation and the mapping network to dL/dw and dL/dz. Weights are
 * constants (no weight gradients); the noise maps are constants too.
 *
 *   sg2_grad_prepare(net, &err);                  // optional: adjoint weights once
 *   sg2_tape_t *tape;
 *   sg2_synthesis_forward_tape(net, ws, N, NULL, img, &tape, &err);  // img as sg2_synthesis
 *   ... dimg = dL/dimg (N, C, R, R) ...
 *   sg2_synthesis_backward(net, tape, dimg, dws, &err);              // (N, num_ws, w_dim)
 *   sg2_tape_free(tape);
 *   sg2_mapping_backward(net, z, N, psi, cutoff, dws, dz, dw, &err); // if ws came from z
 *
 * The math (every adjoint and the function computing it) is in
 * docs/gradients-stylegan2.md. Memory: the tape keeps the raw conv sums of
 * every layer (0.52 GB for one 1024^2 image) and one scratch block both
 * passes share (0.54 GB); sg2_synthesis_forward_retape reuses a tape for the
 * next latent. Batches run the blocks from 64 px on sample by sample as
 * sg2_synthesis does, and the backward recomputes those blocks for all but
 * the last sample (one sample's record at a time). Fast mode
 * (sg2_enable_fast): the taped forward is the fast forward (same image), the
 * backward uses the exact adjoint kernels.
 */
#ifndef SALIENT_STYLEGAN2_GRAD_H
#define SALIENT_STYLEGAN2_GRAD_H

#include <stddef.h>

#include "stylegan2.h"

typedef struct sg2_tape sg2_tape_t;   /* what the backward needs from one forward */

/* Packs the adjoint conv weights of every layer into the net (once; about
 * the size of the conv weights). Without it every tape packs its own copy. */
int sg2_grad_prepare(sg2_net_t *net, sal_err_t *err);

/* Forward synthesis exactly like sg2_synthesis (same bits in img), also
 * recording what the backward needs. opts as for sg2_synthesis (opts->arena
 * is not used: the tape allocates its own memory). */
int sg2_synthesis_forward_tape(const sg2_net_t *net, const float *ws, int n,
                               const sg2_synthesis_opts_t *opts, float *img, sg2_tape_t **tape,
                               sal_err_t *err);

/* The same forward into an existing tape (made by sg2_synthesis_forward_tape
 * for this net, batch size and noise mode), reusing its memory: for loops
 * over many latents (no new allocation, no first-touch page faults). */
int sg2_synthesis_forward_retape(const sg2_net_t *net, const float *ws, int n,
                                 const sg2_synthesis_opts_t *opts, float *img, sg2_tape_t *tape,
                                 sal_err_t *err);

/* dL/dws (N, num_ws, w_dim) from dL/dimg (N, C, R, R). The tape may be used
 * again (the backward does not change what it recorded). */
int sg2_synthesis_backward(const sg2_net_t *net, sg2_tape_t *tape, const float *dimg,
                           float *dws, sal_err_t *err);

void sg2_tape_free(sg2_tape_t *tape);

/* The bytes one forward+backward of n samples allocates at its peak (the
 * tape: records and scratch; the backward's sums; adjoint weights if
 * sg2_grad_prepare was not called); the weights and the caller's ws, img,
 * dimg and dws buffers not included. 0 if n is out of range. */
size_t sg2_grad_peak_bytes(const sg2_net_t *net, int n, sg2_noise_mode_t mode);

/* Bytes the tape holds: its records, the scratch block both passes use, the
 * kernels' workspace and the backward's per-channel sums (a backward
 * allocates nothing more). */
size_t sg2_tape_bytes(const sg2_tape_t *tape);
/* Of those, the scratch block. */
size_t sg2_tape_scratch_bytes(const sg2_tape_t *tape);

/* Through truncation and the mapping network: given dws for
 * ws = truncate(mapping(z)), write dL/dz (N, z_dim) and/or dL/dw (N, w_dim)
 * of the untruncated mapping output w (either may be NULL). */
int sg2_mapping_backward(const sg2_net_t *net, const float *z, int n, float psi, int cutoff,
                         const float *dws, float *dz, float *dw, sal_err_t *err);

#endif

/* stylegan2_ref.h — the StyleGAN2-ADA generator as plain loops, one sample
 * at a time: the version to read first, and the oracle the fast path
 * (nets/stylegan2.c) is tested against.
 *
 * Each stage of docs/stylegan2.md is one function in stylegan2_ref.c, written
 * in the form the paper states it (the weights are modulated and demodulated
 * per sample, the up-convolution is zero stuffing + a 3x3 convolution + the
 * [1,3,3,1] blur). Sums are accumulated in double, tensors between stages
 * are float32 as in the official code. No planning, no packed weights, no
 * SIMD: it reads only the raw tensors of the sg2_net_t that sg2_load gives.
 *
 *   float ws[num_ws * w_dim], img[3 * R * R];
 *   sg2_ref_mapping(net, z, 1.0f, SG2_CUTOFF_NONE, ws, NULL, NULL, &err);
 *   sg2_ref_synthesis(net, ws, SG2_NOISE_CONST, NULL, NULL, NULL, img, &err);
 *
 * Both report every named intermediate to the hook (shapes with a leading
 * batch dimension of 1, names as the fast path uses: see sg2_hook_fn).
 */
#ifndef SALIENT_STYLEGAN2_REF_H
#define SALIENT_STYLEGAN2_REF_H

#include "stylegan2.h"

/* z (z_dim) -> ws (num_ws, w_dim): normalisation, the fully connected
 * layers, broadcast, truncation (psi, cutoff as sg2_mapping). Hook names:
 * "mapping.normalize.out", "mapping.fc<i>.out", "mapping.w", "mapping.ws". */
int sg2_ref_mapping(const sg2_net_t *net, const float *z, float psi, int cutoff, float *ws,
                    sg2_hook_fn hook, void *hook_user, sal_err_t *err);

/* ws (num_ws, w_dim) -> img (img_channels, R, R). noise_rng: this sample's
 * generator for SG2_NOISE_RANDOM (maps drawn in the fast path's order, so
 * both paths see the same noise), else unused. Hook names per layer
 * "<layer>.affine.out", "<layer>.demod" (not ToRGB), "<layer>.out", per
 * block "<block>.x" and "<block>.img". */
int sg2_ref_synthesis(const sg2_net_t *net, const float *ws, sg2_noise_mode_t noise_mode,
                      rng_np_t *noise_rng, sg2_hook_fn hook, void *hook_user, float *img,
                      sal_err_t *err);

#endif

/* random_config.h — random-weight StyleGAN2 blobs for a named config.
 *
 * The real FFHQ weights are not shipped; benchmarks and smoke tests use a
 * blob with exactly the tensor set and shapes of the real network
 * (sg2_layout.h) filled with seeded random values at plausible scales, so
 * that the generator's output stays finite and in a sane range:
 *   const, noise_const, conv/affine weights ~ N(0,1); affine bias = 1;
 *   conv bias ~ 0.1 N(0,1); noise_strength ~ 0.05 N(0,1); ToRGB weight ~ 0.1 N(0,1),
 *   ToRGB bias 0; mapping weight ~ N(0,1)/lr, bias ~ 0.1 N(0,1)/lr (stored
 *   values are 1/lr times the effective ones); w_avg ~ 0.1 N(0,1);
 *   resample_filter = [1,3,3,1] (x) [1,3,3,1] / 64.
 */
#ifndef SALIENT_RANDOM_CONFIG_H
#define SALIENT_RANDOM_CONFIG_H

#include <stdint.h>

#include "blob.h"
#include "common.h"
#include "sg2_layout.h"

/* Adds metadata (same keys as a converted pickle, source "random:NAME") and
 * every tensor (copied into the writer) to w. */
int rc_random_generator(const sg2_layout_config_t *cfg, uint32_t seed, blob_writer_t *w, sal_err_t *err);

#endif

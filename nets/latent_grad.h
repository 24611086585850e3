/* latent_grad.h — the whole white-box chain for one face, as a reusable
 * object: latent (z | w | w+) -> ws -> image -> saliency objective, and
 * back: dL/dimage -> dL/dws -> dL/dlatent. Made once (it owns the
 * generator's tape, the image buffers and the saliency arena), then
 * evaluated at as many latents as needed:
 *
 *   latent_grad_t *lg;
 *   latent_grad_create(&lg, net, sal, &opts, &err);
 *   latent_grad_start(lg, seed, latent, &noise_rng, &err);   // the seed's start latent
 *   latent_grad_eval(lg, latent, &noise_rng, &res, grad, &err);  // grad may be NULL
 *   latent_grad_free(lg);
 *
 * The chain (docs/gradients.md, "The whole chain"):
 *   z:  ws = truncate(mapping(z))           dL/dz  = sg2_mapping_backward
 *   w:  ws = truncate(broadcast(w))         dL/dw  = sum over rows of truncate^T(dL/dws)
 *   w+: ws = truncate(w+)                   dL/dw+ = truncate^T(dL/dws)
 * w and w+ are taken before truncation, as salient search does.
 *
 * Test hook: opts.linear_u != NULL replaces the whole chain by the synthetic
 * objective L = <u, latent> (double sum), dL/dlatent = u; no network runs
 * (net is still used for the shapes and the start latent; sal may be NULL).
 * Used by tests that need a known answer (tests/search/test_direction.c).
 */
#ifndef SALIENT_LATENT_GRAD_H
#define SALIENT_LATENT_GRAD_H

#include "common.h"
#include "rng.h"
#include "saliency.h"
#include "saliency_grad.h"
#include "stylegan2.h"

typedef enum latent_space { LATENT_Z = 0, LATENT_W = 1, LATENT_WPLUS = 2 } latent_space_t;

typedef struct latent_grad_opts {
    latent_space_t space;
    float psi;                      /* truncation psi (1 = none) */
    int cutoff;                     /* SG2_CUTOFF_NONE or the rows to truncate */
    saliency_objective_t objective; /* max or softmax */
    float tau;                      /* softmax temperature (> 0) */
    sg2_noise_mode_t noise_mode;
    sg2_hook_fn hook;               /* optional: the synthesis' intermediates */
    void *hook_user;
    const float *linear_u;          /* test hook (see above): (latent_dim), or NULL */
} latent_grad_opts_t;

/* What one evaluation produced. For the linear hook, sal.value = <u, latent>,
 * sal.max_saliency = (float)value and the rest is 0. */
typedef struct latent_grad_result {
    saliency_grad_result_t sal;
    double t_forward, t_saliency, t_backward;   /* seconds */
} latent_grad_result_t;

typedef struct latent_grad latent_grad_t;

/* D: z_dim, w_dim or num_ws * w_dim. */
int latent_dim_of(const sg2_config_t *cfg, latent_space_t space);
const char *latent_space_name(latent_space_t space);

/* Checks the options against the network (3-channel images, cutoff range)
 * and allocates everything one evaluation needs. */
int latent_grad_create(latent_grad_t **out, const sg2_net_t *net, const saliency_model_t *sal,
                       const latent_grad_opts_t *opts, sal_err_t *err);
void latent_grad_free(latent_grad_t *lg);
int latent_grad_dim(const latent_grad_t *lg);

/* The start latent of a seed, as salient search and salient grad start:
 * z = RandomState(seed).randn(z_dim), or the untruncated mapping output w
 * (w+: w in every row). noise_rng (may be NULL) receives the generator
 * state after z (the noise stream of --noise-mode random). */
int latent_grad_start(latent_grad_t *lg, uint32_t seed, float *latent, rng_np_t *noise_rng, sal_err_t *err);

/* Objective at latent (latent_dim) and, if grad != NULL, dL/dlatent into
 * grad (latent_dim). noise_rng: the seed's noise stream for
 * SG2_NOISE_RANDOM (copied, not advanced; NULL otherwise), so an evaluation
 * depends only on its arguments. */
int latent_grad_eval(latent_grad_t *lg, const float *latent, const rng_np_t *noise_rng, latent_grad_result_t *res,
                     float *grad, sal_err_t *err);

/* The buffers of the last evaluation (valid until the next one; not for
 * the linear hook): image (3, R, R), dL/dimage (3, R, R), dL/dws
 * (num_ws, w_dim). */
const float *latent_grad_image(const latent_grad_t *lg);
const float *latent_grad_dimg(const latent_grad_t *lg);
const float *latent_grad_dws(const latent_grad_t *lg);

#endif

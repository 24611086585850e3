/* latent_grad.c — the white-box chain latent -> saliency objective -> dL/dlatent
 * for one face, over a tape and buffers made once (see latent_grad.h). */
#include "latent_grad.h"

#include <stdlib.h>
#include <string.h>

#include "stylegan2_grad.h"

struct latent_grad {
    const sg2_net_t *net;
    const saliency_model_t *sal;
    latent_grad_opts_t o;
    int latent_dim;
    float *z, *ws, *dws, *img, *dimg;   /* z (z_dim); ws, dws (num_ws, w_dim); img, dimg (3, R, R) */
    arena_t sal_arena;
    int arena_ok;
    sg2_tape_t *tape;   /* made by the first evaluation, reused by the next ones */
};

const char *latent_space_name(latent_space_t s) { return s == LATENT_Z ? "z" : s == LATENT_W ? "w" : "w+"; }

int latent_dim_of(const sg2_config_t *cfg, latent_space_t space) {
    return space == LATENT_Z ? cfg->z_dim : space == LATENT_W ? cfg->w_dim : cfg->num_ws * cfg->w_dim;
}

int latent_grad_dim(const latent_grad_t *lg) { return lg->latent_dim; }
const float *latent_grad_image(const latent_grad_t *lg) { return lg->img; }
const float *latent_grad_dimg(const latent_grad_t *lg) { return lg->dimg; }
const float *latent_grad_dws(const latent_grad_t *lg) { return lg->dws; }

void latent_grad_free(latent_grad_t *lg) {
    if (!lg) return;
    free(lg->z);
    free(lg->ws);
    free(lg->dws);
    free(lg->img);
    free(lg->dimg);
    if (lg->arena_ok) arena_free(&lg->sal_arena);
    sg2_tape_free(lg->tape);
    free(lg);
}

int latent_grad_create(latent_grad_t **out, const sg2_net_t *net, const saliency_model_t *sal,
                       const latent_grad_opts_t *opts, sal_err_t *err) {
    *out = NULL;
    const sg2_config_t *cfg = &net->cfg;
    if (cfg->img_channels != 3)
        return sal_errf(err, "the generator makes %d-channel images; the saliency model needs RGB (3)", cfg->img_channels);
    if (opts->cutoff != SG2_CUTOFF_NONE && (opts->cutoff < 0 || opts->cutoff > cfg->num_ws))
        return sal_errf(err, "--trunc-cutoff must be 0..%d for this network (got %d)", cfg->num_ws, opts->cutoff);
    if (!opts->linear_u && !sal) return sal_errf(err, "latent_grad: no saliency model");
    latent_grad_t *lg = calloc(1, sizeof *lg);
    if (!lg) return sal_errf(err, "out of memory");
    lg->net = net;
    lg->sal = sal;
    lg->o = *opts;
    lg->latent_dim = latent_dim_of(cfg, opts->space);
    const size_t per_ws = (size_t)cfg->num_ws * cfg->w_dim,
                 per_img = (size_t)3 * cfg->img_resolution * cfg->img_resolution;
    lg->z = malloc(sizeof(float) * (size_t)cfg->z_dim);
    lg->ws = malloc(sizeof(float) * per_ws);
    lg->dws = malloc(sizeof(float) * per_ws);
    lg->img = malloc(sizeof(float) * per_img);
    lg->dimg = malloc(sizeof(float) * per_img);
    int ok = lg->z && lg->ws && lg->dws && lg->img && lg->dimg;
    if (ok && !opts->linear_u) {
        const size_t need = saliency_grad_arena_bytes(sal, cfg->img_resolution);
        ok = need > 0 && arena_init(&lg->sal_arena, need) == 0;
        lg->arena_ok = ok;
    }
    if (!ok) {
        latent_grad_free(lg);
        return sal_errf(err, "out of memory for %dx%d images", cfg->img_resolution, cfg->img_resolution);
    }
    *out = lg;
    return 0;
}

int latent_grad_start(latent_grad_t *lg, uint32_t seed, float *latent, rng_np_t *noise_rng, sal_err_t *err) {
    const sg2_config_t *cfg = &lg->net->cfg;
    rng_np_t rng;
    sg2_z_from_seed(seed, cfg->z_dim, lg->z, &rng);
    if (noise_rng) *noise_rng = rng;
    if (lg->o.space == LATENT_Z) {
        memcpy(latent, lg->z, sizeof(float) * (size_t)cfg->z_dim);
        return 0;
    }
    // the untruncated mapping output, as salient search starts from
    if (sg2_mapping(lg->net, lg->z, 1, 1.0f, SG2_CUTOFF_NONE, lg->ws, err) < 0) return -1;
    memcpy(latent, lg->ws, sizeof(float) * (size_t)lg->latent_dim);
    return 0;
}

/* latent -> ws (1, num_ws, w_dim) as salient search makes them: mapping
 * with truncation for z; broadcast (w) or as is (w+), then truncation. */
static int latent_to_ws(latent_grad_t *lg, const float *latent, sal_err_t *err) {
    const sg2_config_t *cfg = &lg->net->cfg;
    if (lg->o.space == LATENT_Z) return sg2_mapping(lg->net, latent, 1, lg->o.psi, lg->o.cutoff, lg->ws, err);
    for (int r = 0; r < cfg->num_ws; r++)
        memcpy(lg->ws + (size_t)r * cfg->w_dim, lg->o.space == LATENT_W ? latent : latent + (size_t)r * cfg->w_dim,
               sizeof(float) * (size_t)cfg->w_dim);
    sg2_truncate(lg->net, lg->ws, 1, lg->o.psi, lg->o.cutoff);
    return 0;
}

/* dL/dws (lg->dws, changed in place by the truncation's adjoint) -> dL/dlatent. */
static int ws_grad_to_latent(latent_grad_t *lg, const float *latent, float *grad, sal_err_t *err) {
    const sg2_config_t *cfg = &lg->net->cfg;
    if (lg->o.space == LATENT_Z)
        return sg2_mapping_backward(lg->net, latent, 1, lg->o.psi, lg->o.cutoff, lg->dws, grad, NULL, err);
    sg2_truncate_backward(lg->net, lg->dws, 1, lg->o.psi, lg->o.cutoff);
    if (lg->o.space == LATENT_WPLUS) {
        memcpy(grad, lg->dws, sizeof(float) * (size_t)lg->latent_dim);
        return 0;
    }
    // w is broadcast to every row: its gradient is the sum over rows
    for (int j = 0; j < cfg->w_dim; j++) {
        double s = 0;
        for (int r = 0; r < cfg->num_ws; r++) s += lg->dws[(size_t)r * cfg->w_dim + j];
        grad[j] = (float)s;
    }
    return 0;
}

static void eval_linear(const latent_grad_t *lg, const float *latent, latent_grad_result_t *res, float *grad) {
    double s = 0;
    for (int i = 0; i < lg->latent_dim; i++) s += (double)lg->o.linear_u[i] * latent[i];
    res->sal.value = s;
    res->sal.max_saliency = (float)s;
    if (grad) memcpy(grad, lg->o.linear_u, sizeof(float) * (size_t)lg->latent_dim);
}

int latent_grad_eval(latent_grad_t *lg, const float *latent, const rng_np_t *noise_rng, latent_grad_result_t *res,
                     float *grad, sal_err_t *err) {
    memset(res, 0, sizeof *res);
    if (lg->o.linear_u) {
        eval_linear(lg, latent, res, grad);
        return 0;
    }
    const int R = lg->net->cfg.img_resolution;
    double t0 = sal_now();
    if (latent_to_ws(lg, latent, err) < 0) return -1;
    rng_np_t noise;   // a copy: the evaluation does not advance the caller's stream
    if (noise_rng) noise = *noise_rng;
    else rng_np_seed(&noise, 0);
    sg2_synthesis_opts_t so = {.noise_mode = lg->o.noise_mode, .noise_rngs = &noise, .hook = lg->o.hook,
                               .hook_user = lg->o.hook_user};
    int rc = lg->tape ? sg2_synthesis_forward_retape(lg->net, lg->ws, 1, &so, lg->img, lg->tape, err)
                      : sg2_synthesis_forward_tape(lg->net, lg->ws, 1, &so, lg->img, &lg->tape, err);
    if (rc < 0) return -1;
    double t1 = sal_now();
    rc = saliency_grad_image(lg->sal, lg->img, R, lg->o.objective, lg->o.tau, &lg->sal_arena, &res->sal,
                             grad ? lg->dimg : NULL, err);
    double t2 = sal_now();
    if (rc != 0) return -1;
    if (grad) {
        if (sg2_synthesis_backward(lg->net, lg->tape, lg->dimg, lg->dws, err) < 0) return -1;
        if (ws_grad_to_latent(lg, latent, grad, err) < 0) return -1;
    }
    double t3 = sal_now();
    res->t_forward = t1 - t0;
    res->t_saliency = t2 - t1;
    res->t_backward = t3 - t2;
    return 0;
}

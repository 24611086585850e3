/* search.h — the study's random search for more salient faces.
 *
 * For one seed: z = RandomState(seed).randn(z_dim) (NVIDIA's generate.py), the
 * face G(z) is scored by the saliency model's maximum, then for each step
 * t = 1..T:
 *
 *     delta_k ~ N(0, diag(sigma^2))        k = 1..K   (one numpy-style RNG per
 *     candidate_k = current + delta_k                  (rng_seed, seed, step))
 *     score_k = max saliency of G(candidate_k)         (one generator batch)
 *     best = argmax_k score_k                          (first one on ties;
 *                                                       argmin with --objective min)
 *     accept "best": current = candidate_best          (the study's rule)
 *     accept "improve": only if score_best beats score(current)
 *     accept "random": current = candidate_j, j = search_random_choice(...)
 *                      (the null model: same steps, no selection)
 *
 * The latent is z, w (one w row, broadcast to all layers) or w+ (all num_ws
 * rows); truncation (psi, cutoff) is applied when an image is made, so every
 * space sees the same faces at sigma = 0.
 *
 * --method grad (search_params_t.method) replaces the K candidates by one
 * step of normalised gradient ascent on the saliency objective L (--score
 * max | softmax; descent with --objective min), through nets/latent_grad.h:
 *
 *     g = dL/dx at x_{t-1}
 *     x_t = x_{t-1} + lr * g / ||g||_2          (x_t = x_{t-1} when g = 0)
 *     with --radius R: x_t = x0 + (x_t - x0) * min(1, R / ||x_t - x0||_2),
 *                      shrunk until the float32 latent holds ||x_t - x0|| <= R
 *
 * and scores x_t by its max saliency, as the random search does. The
 * default lr moves as far as one random step: lr = sqrt(sum_d sigma_d^2).
 *
 * Files per seed (DIR/seedNNNN/): stepNN.png, latents.npy, log.csv,
 * state.json (resume point, written last and atomically after each step),
 * strip.png, plot.png, result.json; DIR/seedNNNN.lock while a process works
 * on the seed. See docs/search.md.
 */
#ifndef SALIENT_SEARCH_H
#define SALIENT_SEARCH_H

#include "common.h"
#include "latent_grad.h"
#include "saliency.h"
#include "saliency_grad.h"
#include "stylegan2.h"

typedef enum search_space { SPACE_Z = 0, SPACE_W = 1, SPACE_WPLUS = 2 } search_space_t;
typedef enum search_accept { ACCEPT_BEST = 0, ACCEPT_IMPROVE = 1, ACCEPT_RANDOM = 2 } search_accept_t;
/* What "best" means: the most salient candidate (the study) or the least (the
 * mirror arm). */
typedef enum search_objective { OBJECTIVE_MAX = 0, OBJECTIVE_MIN = 1 } search_objective_t;

/* How a step moves: the study's K random candidates, or one gradient step. */
typedef enum search_method { METHOD_RANDOM = 0, METHOD_GRAD = 1 } search_method_t;

typedef struct search_params {
    const char *network;        /* paths, as given (recorded in result.json) */
    const char *saliency;
    const char *outdir;
    int steps;                  /* T (5) */
    int candidates;             /* K (16) */
    double sigma;               /* isotropic sigma (0.1), unless sigma_file */
    const char *sigma_file;     /* .npy with one sigma per latent dimension */
    search_space_t space;
    float psi;                  /* truncation psi (1 = none) */
    int trunc_cutoff;           /* SG2_CUTOFF_NONE or k */
    sg2_noise_mode_t noise_mode;
    search_accept_t accept;
    search_objective_t objective; /* ignored by ACCEPT_RANDOM (the CLI refuses min with it) */
    uint32_t rng_seed;
    int batch;                  /* generator batch size (memory bound) */
    int fast;                   /* Winograd 3x3 convs (not bit-exact; recorded) */
    int resume;
    /* --method grad only (search_init ignores them for random) */
    search_method_t method;
    double lr;                  /* step length; <= 0: the default rule sqrt(sum_d sigma_d^2) */
    double radius;              /* ball around the start latent; < 0: none */
    saliency_objective_t score; /* what the gradient follows: max or softmax */
    double tau;                 /* softmax temperature */
} search_params_t;

/* Everything loaded once and shared by all seeds. */
typedef struct search_ctx {
    search_params_t p;
    const sg2_net_t *net;
    const saliency_model_t *sal;
    int latent_dim;             /* D: z_dim, w_dim or num_ws * w_dim */
    double *sigma;              /* (D) */
    arena_t gen_arena;          /* scratch of one generator batch */
    arena_t sal_arena;          /* scratch of one saliency run */
    /* --method grad: the white-box chain (made once), dL/dlatent (D) */
    latent_grad_t *lg;
    float *grad;
    double lr;                  /* the step length in use (p.lr or the default rule) */
    double grad_cost;           /* forward-equivalents of one forward+backward (run.json) */
    /* statistics for "where the time goes" */
    double t_generate, t_saliency, t_backward, t_write;
    long images;
    long zero_grad_steps;       /* grad steps that stayed because dL/dx was 0 */
} search_ctx_t;

/* Progress callback: called after each step of a seed. */
typedef void (*search_progress_fn)(void *user, uint32_t seed, int step, int steps, float best,
                                   const search_ctx_t *ctx);

/* Validates the parameters against the network and prepares the context
 * (sigma vector, arenas). */
int search_init(search_ctx_t *ctx, const search_params_t *p, const sg2_net_t *net,
                const saliency_model_t *sal, sal_err_t *err);
void search_free(search_ctx_t *ctx);

/* Runs (or, with resume, continues or skips) one seed. While it works on a
 * seed the process holds the lock file DIR/seedNNNN.lock (see sal_lock_take),
 * so two processes writing into one folder never search the same seed.
 * Returns 0, -1 on error, or SEARCH_SEED_BUSY when another process holds the
 * seed (err: "seed0003 is being searched by pid 1234 on HOST (lock file
 * ...)"). With flags & SEARCH_SEED_WAIT it waits for the lock instead and
 * then continues whatever the other process left, as --resume does
 * (usually: the seed is finished and skipped). SEARCH_SEED_CONTINUE alone
 * continues a seed folder as --resume does (for a folder that another
 * process made while this one ran). *skipped (may be NULL) is set to 1 when
 * the seed was found finished and nothing was done. */
enum { SEARCH_SEED_BUSY = 1 };
enum { SEARCH_SEED_WAIT = 1, SEARCH_SEED_CONTINUE = 2 };
int search_seed(search_ctx_t *ctx, uint32_t seed, int flags, int *skipped, search_progress_fn progress,
                void *user, sal_err_t *err);

/* The default --lr of --method grad: sqrt(sum_d sigma_d^2) = E||delta||_2
 * to leading order, the length of one random-search step at this sigma
 * (sigma * sqrt(D) for an isotropic sigma). */
double search_default_lr(const double *sigma, int D);

/* Projects x (D, float32) onto the ball ||x - x0||_2 <= radius (radius >= 0):
 * x = x0 + (x - x0) * radius / ||x - x0|| when outside, then shrinks the
 * factor until the rounded float32 x holds the bound exactly (the distance
 * computed in double from the float32 values, as log.csv's distance). */
void search_project_ball(float *x, const float *x0, int D, double radius);

/* grad_cost for run.json: the median time of one forward+backward of the
 * chain (latent_grad_eval with the gradient) over the median time of one
 * forward (generator + saliency, as the random search scores a candidate),
 * 3 timed runs each after a warm-up, at the start latent of `seed`.
 * t_forward, t_forward_backward (may be NULL) receive the two medians (s). */
int search_measure_grad_cost(search_ctx_t *ctx, uint32_t seed, double *cost, double *t_forward, double *t_forward_backward,
                             sal_err_t *err);

/* Name of a space / accept rule as used on the command line. */
const char *search_space_name(search_space_t s);
const char *search_accept_name(search_accept_t a);
const char *search_objective_name(search_objective_t o);
const char *search_method_name(search_method_t m);
const char *search_score_name(saliency_objective_t s);

/* The seed of the numpy-style generator for the perturbations of one step:
 * a fixed mix of (rng_seed, seed, step), so that each seed's run is the same
 * whatever other seeds run, in which order or on which machine. */
uint32_t search_step_rng_seed(uint32_t rng_seed, uint32_t seed, int step);

/* The candidate --accept random moves to at `step` of `seed`, in 0..K-1:
 *     numpy.random.RandomState(search_step_rng_seed(rng_seed ^ 0x63686f6f, seed, step)).randint(K)
 * (legacy randint: 32-bit MT19937 draws masked to the next power of two
 * minus one, rejected while > K - 1). A stream of its own, so the choice
 * depends only on (rng_seed, seed, step, K): not on sigma, the space, the
 * threads, the batch or a resume. */
int search_random_choice(uint32_t rng_seed, uint32_t seed, int step, int K);

#endif

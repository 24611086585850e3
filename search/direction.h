/* direction.h — the population "saliency direction" in latent space
 * (GANalyze-style): one unit vector d such that moving faces along +d makes
 * them more salient on average. Two estimates (docs/direction.md):
 *
 *   grad:        d ∝ mean_i g_i / |g_i|, g_i = dL/dlatent at seed i's start
 *                latent (nets/latent_grad.h).
 *   regression:  ridge regression of the score change on the latent change
 *                over every candidate of finished random-search folders:
 *                dy_k = score(candidate_k) - score(current),
 *                dx_k = candidate_k - current (regenerated: the folders do
 *                not store them), centred, then
 *                (X^T X + lambda I) b = X^T y,  lambda = ridge * tr(X^T X) / D,
 *                solved by Cholesky in double; d ∝ b.
 *
 * Both come with a bootstrap over seeds: B resamples of the seeds (with
 * replacement, numpy-style MT19937 seeded with a fixed number), the
 * direction recomputed from each, and the cosines to the full estimate.
 */
#ifndef SALIENT_DIRECTION_H
#define SALIENT_DIRECTION_H

#include "common.h"

/* ---- small vector helpers (double) ---- */
double direction_norm(const double *v, int D);
double direction_cosine(const double *a, const double *b, int D);

/* The candidates of `step` of `seed` exactly as salient search draws them
 * (search/search.c): a numpy RandomState seeded with
 * search_step_rng_seed(rng_seed, seed, step), then for k = 0..K-1, d = 0..D-1
 * in that order: cand[k, d] = (float)((double)cur[d] + sigma[d] * randn()). */
void direction_draw_candidates(uint32_t rng_seed, uint32_t seed, int step, const float *cur, const double *sigma,
                               int K, int D, float *cand);

/* ---- regression samples ---- */

/* What one search folder's seed contributes, as sufficient statistics (so
 * the bootstrap can re-weight seeds without keeping the samples). */
typedef struct direction_group {
    uint32_t seed;
    int n;            /* candidates */
    double sy;        /* sum dy */
    double *sx;       /* (D) sum dx */
    double *xtx;      /* (D, D) sum dx dx^T (upper triangle filled) */
    double *xty;      /* (D) sum dx dy */
    float *start;     /* (D) the start latent (latents.npy row 0) */
    double start_score;   /* log.csv's step-0 score */
} direction_group_t;

/* The settings of a search folder that the regression needs (run.json). */
typedef struct direction_search_info {
    int steps, candidates, space;   /* space: 0 z, 1 w, 2 w+ */
    double sigma;
    char sigma_file[1024];          /* "" for an isotropic sigma */
    double psi;
    int trunc_cutoff, noise_mode;
    char accept[16];
    uint32_t rng_seed;
    int fast;
} direction_search_info_t;

/* Reads dir/run.json (error: "DIR: not a salient search folder (no run.json)"). */
int direction_read_search_info(const char *dir, direction_search_info_t *info, sal_err_t *err);

typedef struct direction_samples {
    int D;
    int n_groups, cap;
    direction_group_t *groups;
    long n_rows;                    /* all candidates */
    int skipped_unfinished;         /* seed folders without result.json */
    direction_search_info_t info;   /* of the first folder (the others must match) */
    int have_info;
} direction_samples_t;

void direction_samples_init(direction_samples_t *s, int D);
void direction_samples_free(direction_samples_t *s);

/* Reads run.json of the search folder dir, then every finished seed folder
 * (dir/seedNNNN with result.json; keep(seed, user) may filter them, NULL =
 * all), regenerates each step's K candidates and checks that they are the
 * ones the search drew (the chosen candidate equals the next row of
 * latents.npy bit for bit; an "improve" step that did not move keeps the
 * row), and adds their statistics. A folder whose settings differ from an
 * earlier one's (space, sigma, trunc, noise), or whose latent size is not D,
 * is refused. A seed present in two folders is refused too. */
int direction_samples_add_folder(direction_samples_t *s, const char *dir, int (*keep)(uint32_t seed, void *user),
                                 void *user, sal_err_t *err);

/* One group per seed in the form of its raw candidates, for tests and
 * callers that have samples in memory: dx (n, D), dy (n). */
int direction_samples_add(direction_samples_t *s, uint32_t seed, const float *dx, const double *dy, int n,
                          sal_err_t *err);

/* Ridge solution b (D) over the groups, each weighted by weight[g] (NULL =
 * all 1): centred X, y; lambda = ridge * tr(X^T X) / D. */
int direction_ridge(const direction_samples_t *s, const int *weight, double ridge, double *b, sal_err_t *err);

/* Solves A x = r for a symmetric positive definite A (D, D; only the upper
 * triangle is read) by Cholesky, in double. A is overwritten. */
int direction_cholesky_solve(double *A, const double *r, int D, double *x, sal_err_t *err);

/* Mean of unit vectors: out = mean_i g_i / |g_i| over the rows of g (n, D),
 * each row weighted by weight[i] (NULL = 1). Refuses a zero or non-finite row. */
int direction_mean_unit(const float *g, int n, int D, const int *weight, double *out, sal_err_t *err);

/* Bootstrap counts: n draws with replacement from 0..n-1 (numpy's legacy
 * randint rule on an MT19937 seeded with seed), as counts per index. */
void direction_bootstrap_counts(uint32_t seed, int n, int *counts);

#endif

/* cmd_direction.c — `salient direction`: the population saliency direction,
 * GANalyze-style: one unit vector in latent space along which faces become,
 * on average, more salient to the cropping model.
 *
 *   salient direction --network NET --saliency MODEL --seeds LIST
 *       [--method grad|regression] [--from DIR]... [--space z|w|w+]
 *       [--faces M] [--step-size S] [--bootstrap B] [--compare FILE.npy] --outdir DIR
 *
 * grad: the mean of the seeds' unit gradients (nets/latent_grad.h);
 * regression: ridge regression of the score change on the latent change over
 * every candidate of finished random-search folders (search/direction.c).
 * Writes direction.npy, direction.json and direction.png (M faces moved by
 * alpha = -2..+2 steps along the direction, captioned with their max
 * saliency). Methods and what they show: docs/direction.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "cli.h"
#include "commands.h"
#include "cpu.h"
#include "direction.h"
#include "json.h"
#include "latent_grad.h"
#include "netload.h"
#include "npy.h"
#include "png.h"
#include "saliency.h"
#include "seedlist.h"
#include "startup_check.h"
#include "stylegan2.h"
#include "stylegan2_grad.h"

#define PATH_LEN 4096
#define MAX_FROM 64
#define N_ALPHA 5
#define BOOTSTRAP_SEED 20240917u   /* fixed: the spread is part of the deterministic output */

static void direction_help(FILE *f) {
    fprintf(f,
            "usage: salient direction --network NET --saliency MODEL --seeds LIST --outdir DIR [options]\n\n"
            "The population saliency direction: one unit vector in latent space along which\n"
            "generated faces become, on average, more salient to the cropping model.\n\n"
            "  --network NET        StyleGAN2-ADA network pickle or blob\n"
            "  --saliency MODEL     the saliency model (fastgaze.vxm or its blob)\n"
            "  --seeds LIST         seeds such as 0-63 (grad: the faces to differentiate;\n"
            "                       regression: keep only these seeds of the folders, default all)\n"
            "  --method M           grad (default): the mean of the seeds' unit gradients\n"
            "                       g / |g| of the objective at their start latents (white-box);\n"
            "                       regression: ridge regression of the score change on the\n"
            "                       latent change over every candidate of finished random-search\n"
            "                       folders (black-box; needs --from)\n"
            "  --from DIR           a `salient search` output folder (repeatable); its space,\n"
            "                       truncation and noise mode are used\n"
            "  --space z|w|w+       the latent (default w; regression: the folders' space)\n"
            "  --objective OBJ      grad: max (default) or softmax (--tau T, default 0.1)\n"
            "  --trunc PSI          truncation psi (default 1); --trunc-cutoff K as salient grad\n"
            "  --noise-mode MODE    const (default), none or random\n"
            "  --ridge R            regression: lambda = R * trace(X^T X) / D (default 0.01)\n"
            "  --bootstrap B        resamples of the seeds for the spread (default 200; 0: none)\n"
            "  --compare FILE.npy   another direction: their cosine goes into direction.json\n"
            "  --faces M            rows of the figure: the first M seeds (default 4)\n"
            "  --step-size S        latent distance of one figure column (default 0.1 sqrt(D):\n"
            "                       the length of one random-search step at sigma 0.1)\n"
            "  --outdir DIR         output folder, created if needed (required)\n"
            "  --threads N          threads (default: all cores)\n"
            "  --help               this text\n\n"
            "Writes DIR/direction.npy (float32 unit vector, shaped like the latent),\n"
            "DIR/direction.json (method, seeds, norm of the raw estimate, bootstrap spread,\n"
            "figure scores) and DIR/direction.png (rows: faces; columns: the face moved by\n"
            "alpha = -2, -1, 0, +1, +2 steps along the direction, each with its max saliency).\n"
            "See docs/direction.md.\n");
}

typedef enum { METHOD_GRAD = 0, METHOD_REGRESSION = 1 } dir_method_t;

typedef struct dir_args {
    const char *network, *saliency, *outdir, *seeds_text, *compare;
    const char *from[MAX_FROM];
    int n_from;
    seedlist_t seeds;
    dir_method_t method;
    latent_space_t space;
    int space_given, trunc_given, noise_given;
    double psi, tau, ridge, step_size;
    int cutoff, threads, faces, bootstrap;
    saliency_objective_t objective;
    sg2_noise_mode_t noise_mode;
} dir_args_t;

static int parse_args(int argc, char **argv, dir_args_t *a, sal_err_t *err) {
    memset(a, 0, sizeof *a);
    a->psi = 1.0;
    a->tau = 0.1;
    a->ridge = 0.01;
    a->step_size = -1;
    a->cutoff = SG2_CUTOFF_NONE;
    a->faces = 4;
    a->bootstrap = 200;
    a->space = LATENT_W;
    a->objective = SALIENCY_OBJ_MAX;
    a->noise_mode = SG2_NOISE_CONST;
    int tau_given = 0, objective_given = 0, ridge_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
        if ((m = cli_value(argc, argv, &i, "--network", &v, err)) != 0) {
            if (m < 0) return -1;
            a->network = v;
        } else if ((m = cli_value(argc, argv, &i, "--saliency", &v, err)) != 0) {
            if (m < 0) return -1;
            a->saliency = v;
        } else if ((m = cli_value(argc, argv, &i, "--seeds", &v, err)) != 0) {
            if (m < 0) return -1;
            a->seeds_text = v;
        } else if ((m = cli_value(argc, argv, &i, "--outdir", &v, err)) != 0) {
            if (m < 0) return -1;
            a->outdir = v;
        } else if ((m = cli_value(argc, argv, &i, "--compare", &v, err)) != 0) {
            if (m < 0) return -1;
            a->compare = v;
        } else if ((m = cli_value(argc, argv, &i, "--from", &v, err)) != 0) {
            if (m < 0) return -1;
            if (a->n_from == MAX_FROM) return sal_errf(err, "--from: at most %d folders", MAX_FROM);
            a->from[a->n_from++] = v;
        } else if ((m = cli_value(argc, argv, &i, "--method", &v, err)) != 0) {
            if (m < 0) return -1;
            if (!strcmp(v, "grad")) a->method = METHOD_GRAD;
            else if (!strcmp(v, "regression")) a->method = METHOD_REGRESSION;
            else return sal_errf(err, "--method: expected grad or regression, got '%s'", v);
        } else if ((m = cli_value(argc, argv, &i, "--space", &v, err)) != 0) {
            if (m < 0) return -1;
            if (!strcmp(v, "z")) a->space = LATENT_Z;
            else if (!strcmp(v, "w")) a->space = LATENT_W;
            else if (!strcmp(v, "w+")) a->space = LATENT_WPLUS;
            else return sal_errf(err, "--space: expected z, w or w+, got '%s'", v);
            a->space_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--objective", &v, err)) != 0) {
            if (m < 0) return -1;
            if (!strcmp(v, "max")) a->objective = SALIENCY_OBJ_MAX;
            else if (!strcmp(v, "softmax")) a->objective = SALIENCY_OBJ_SOFTMAX;
            else return sal_errf(err, "--objective: expected max or softmax, got '%s'", v);
            objective_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--tau", &v, err)) != 0) {
            if (m < 0 || cli_double("--tau", v, 1e-6, 1e6, &a->tau, err) < 0) return -1;
            tau_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--trunc", &v, err)) != 0) {
            if (m < 0 || cli_double("--trunc", v, -1e6, 1e6, &a->psi, err) < 0) return -1;
            a->trunc_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--trunc-cutoff", &v, err)) != 0) {
            if (m < 0 || cli_int("--trunc-cutoff", v, 0, 1 << 20, &a->cutoff, err) < 0) return -1;
            a->trunc_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--noise-mode", &v, err)) != 0) {
            if (m < 0) return -1;
            if (cli_noise_mode(v, &a->noise_mode, err) < 0) return -1;
            a->noise_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--ridge", &v, err)) != 0) {
            if (m < 0 || cli_double("--ridge", v, 1e-12, 1e6, &a->ridge, err) < 0) return -1;
            ridge_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--bootstrap", &v, err)) != 0) {
            if (m < 0 || cli_int("--bootstrap", v, 0, 100000, &a->bootstrap, err) < 0) return -1;
        } else if ((m = cli_value(argc, argv, &i, "--faces", &v, err)) != 0) {
            if (m < 0 || cli_int("--faces", v, 0, 64, &a->faces, err) < 0) return -1;
        } else if ((m = cli_value(argc, argv, &i, "--step-size", &v, err)) != 0) {
            if (m < 0 || cli_double("--step-size", v, 0, 1e6, &a->step_size, err) < 0) return -1;
        } else if ((m = cli_value(argc, argv, &i, "--threads", &v, err)) != 0) {
            if (m < 0 || cli_threads(v, &a->threads, err) < 0) return -1;
        } else {
            return sal_errf(err, "unknown option '%s'", argv[i]);
        }
    }
    if (!a->network) return sal_errf(err, "--network NET is required");
    if (!a->saliency) return sal_errf(err, "--saliency MODEL is required");
    if (!a->outdir) return sal_errf(err, "--outdir DIR is required");
    if (a->method == METHOD_GRAD && !a->seeds_text) return sal_errf(err, "--seeds LIST is required with --method grad");
    if (a->method == METHOD_GRAD && a->n_from)
        return sal_errf(err, "--from applies to --method regression (grad differentiates the --seeds faces)");
    if (a->method == METHOD_REGRESSION && !a->n_from)
        return sal_errf(err, "--method regression needs at least one --from DIR (a finished salient search folder)");
    if (a->method == METHOD_REGRESSION && (objective_given || tau_given))
        return sal_errf(err, "--objective/--tau apply to --method grad (the search scored max saliency)");
    if (a->method == METHOD_GRAD && ridge_given) return sal_errf(err, "--ridge applies to --method regression");
    if (tau_given && a->objective != SALIENCY_OBJ_SOFTMAX) return sal_errf(err, "--tau applies to --objective softmax only");
    if (a->seeds_text && seedlist_parse(a->seeds_text, &a->seeds, err) < 0) return -1;
    return 0;
}

/* ---- the figure ------------------------------------------------------------- */

/* Nearest-neighbour scaling of an (R, R, 3) image into a (C, C, 3) cell. */
static void scale_into(const uint8_t *src, int R, uint8_t *dst, int C) {
    for (int y = 0; y < C; y++) {
        const int sy = (int)((long)y * R / C);
        for (int x = 0; x < C; x++) {
            const int sx = (int)((long)x * R / C);
            memcpy(dst + ((size_t)y * C + x) * 3, src + ((size_t)sy * R + sx) * 3, 3);
        }
    }
}

static int figure_save(const uint8_t *frames, const double *scores, const uint32_t *seeds, int M, int R,
                       double step_size, const char *title, const char *path, sal_err_t *err) {
    const int C = R < 128 ? 128 : R > 256 ? 256 : R;   // the cell: small faces up, large ones down
    const int pad = 8, label_w = 90, head_h = 44, cap_h = 16;
    const int W = label_w + N_ALPHA * (C + pad) + pad, H = head_h + M * (C + cap_h + pad) + pad;
    canvas_t cv;
    const rgb8_t white = {255, 255, 255}, black = {0, 0, 0}, grey = {90, 90, 90};
    if (canvas_init(&cv, W, H, white, err) < 0) return -1;
    uint8_t *cell = malloc((size_t)C * C * 3);
    if (!cell) {
        canvas_free(&cv);
        return sal_errf(err, "out of memory");
    }
    canvas_text(&cv, pad, 6, title, 2, black);
    char buf[64];
    for (int a = 0; a < N_ALPHA; a++) {
        snprintf(buf, sizeof buf, "ALPHA %+d", a - 2);
        if (a == 2) snprintf(buf, sizeof buf, "ALPHA 0");
        canvas_text(&cv, label_w + a * (C + pad) + pad, 26, buf, 2, grey);
    }
    for (int i = 0; i < M; i++) {
        const int y0 = head_h + i * (C + cap_h + pad);
        snprintf(buf, sizeof buf, "SEED %u", seeds[i]);
        canvas_text(&cv, pad, y0 + C / 2 - 7, buf, 2, black);
        for (int a = 0; a < N_ALPHA; a++) {
            const int x0 = label_w + a * (C + pad) + pad;
            scale_into(frames + ((size_t)i * N_ALPHA + a) * R * R * 3, R, cell, C);
            canvas_blit(&cv, x0, y0, cell, C, C);
            snprintf(buf, sizeof buf, "%.4f", scores[i * N_ALPHA + a]);
            canvas_text(&cv, x0 + (C - canvas_text_width(buf, 2)) / 2, y0 + C + 2, buf, 2, a == 2 ? grey : black);
        }
    }
    (void)step_size;
    int rc = png_save(path, cv.rgb, W, H, 3, err);
    free(cell);
    canvas_free(&cv);
    return rc;
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct keep_seeds {
    const seedlist_t *list;
} keep_seeds_t;

static int keep_seed(uint32_t seed, void *user) {
    const seedlist_t *l = ((keep_seeds_t *)user)->list;
    for (int i = 0; i < l->n; i++)
        if (l->seeds[i] == seed) return 1;
    return 0;
}

typedef struct dir_state {
    int D, n;              /* latent size, seeds used */
    uint32_t *seeds;       /* (n) */
    float *starts;         /* (n, D) start latents */
    float *grads;          /* grad: (n, D) */
    double *dir, *raw;     /* (D): unit direction, raw estimate */
    double raw_norm;
    double boot_mean, boot_sd, boot_min;
    int boot_done;
    double compare_cos;
    int have_compare;
    direction_samples_t samples;
    int samples_ok;
    double *fig_scores;    /* (M, 5) */
    uint8_t *fig_frames;   /* (M, 5, R, R, 3) */
    int M;
    double step_size;
} dir_state_t;

static void state_free(dir_state_t *s) {
    free(s->seeds);
    free(s->starts);
    free(s->grads);
    free(s->dir);
    free(s->raw);
    free(s->fig_scores);
    free(s->fig_frames);
    if (s->samples_ok) direction_samples_free(&s->samples);
}

static int estimate_grad(const dir_args_t *a, latent_grad_t *lg, dir_state_t *st, sal_err_t *err) {
    const int D = st->D;
    for (int i = 0; i < st->n; i++) {
        rng_np_t noise;
        float *x = st->starts + (size_t)i * D, *g = st->grads + (size_t)i * D;
        if (latent_grad_start(lg, st->seeds[i], x, &noise, err) < 0) return -1;
        latent_grad_result_t res;
        double t0 = sal_now();
        if (latent_grad_eval(lg, x, &noise, &res, g, err) < 0) return -1;
        double ss = 0;
        for (int d = 0; d < D; d++) ss += (double)g[d] * g[d];
        fprintf(stderr, "seed %d/%d (%u): objective %.6g, |grad| %.4g (%.2fs)\n", i + 1, st->n, st->seeds[i], res.sal.value,
                sqrt(ss), sal_now() - t0);
    }
    (void)a;
    return direction_mean_unit(st->grads, st->n, D, NULL, st->raw, err);
}

/* The regression's settings come from the first folder (space, truncation,
 * noise); an explicit option that differs is refused. */
static int adopt_folder_settings(dir_args_t *a, sal_err_t *err) {
    direction_search_info_t info;
    if (direction_read_search_info(a->from[0], &info, err) < 0) return -1;
    const latent_space_t sp = (latent_space_t)info.space;
    if (a->space_given && sp != a->space)
        return sal_errf(err, "%s: searched in space %s, not %s", a->from[0], latent_space_name(sp), latent_space_name(a->space));
    if (a->trunc_given && (info.psi != a->psi || info.trunc_cutoff != a->cutoff))
        return sal_errf(err, "%s: searched with --trunc %g (cutoff %d), not as given", a->from[0], info.psi, info.trunc_cutoff);
    if (a->noise_given && info.noise_mode != (int)a->noise_mode)
        return sal_errf(err, "%s: searched with another --noise-mode", a->from[0]);
    a->space = sp;
    a->psi = info.psi;
    a->cutoff = info.trunc_cutoff;
    a->noise_mode = (sg2_noise_mode_t)info.noise_mode;
    return 0;
}

/* Reads the folders, checks each seed's start latent and start score against
 * this network and model (a folder made with another network is refused),
 * and solves the ridge regression. */
static int estimate_regression(const dir_args_t *a, latent_grad_t *lg, dir_state_t *st, sal_err_t *err) {
    direction_samples_t *S = &st->samples;
    direction_samples_init(S, st->D);
    st->samples_ok = 1;
    keep_seeds_t ks = {&a->seeds};
    for (int f = 0; f < a->n_from; f++) {
        if (direction_samples_add_folder(S, a->from[f], a->seeds_text ? keep_seed : NULL, &ks, err) < 0) return -1;
        fprintf(stderr, "salient direction: %s: %d seed%s, %ld candidates so far\n", a->from[f], S->n_groups,
                S->n_groups == 1 ? "" : "s", S->n_rows);
    }
    if (S->skipped_unfinished)
        fprintf(stderr, "salient direction: note: %d unfinished seed folder%s skipped (no result.json)\n",
                S->skipped_unfinished, S->skipped_unfinished == 1 ? "" : "s");
    if (S->n_groups == 0) return sal_errf(err, "%s: no finished seed folders%s", a->from[0], a->seeds_text ? " among --seeds" : "");
    st->n = S->n_groups;
    st->seeds = malloc(sizeof(uint32_t) * (size_t)st->n);
    st->starts = malloc(sizeof(float) * (size_t)st->n * st->D);
    float *mine = malloc(sizeof(float) * (size_t)st->D);
    if (!st->seeds || !st->starts || !mine) {
        free(mine);
        return sal_errf(err, "out of memory");
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < st->n; i++) {
        const direction_group_t *g = &S->groups[i];
        st->seeds[i] = g->seed;
        memcpy(st->starts + (size_t)i * st->D, g->start, sizeof(float) * (size_t)st->D);
        rng_np_t noise;
        latent_grad_result_t res;
        rc = latent_grad_start(lg, g->seed, mine, &noise, err);
        double dmax = 0, scale = 1;
        for (int d = 0; rc == 0 && d < st->D; d++) {
            dmax = fmax(dmax, fabs((double)mine[d] - g->start[d]));
            scale = fmax(scale, fabs((double)mine[d]));
        }
        if (rc == 0 && dmax > 1e-5 * scale)
            rc = sal_errf(err, "seed %u: the folder's start latent is not this network's (max difference %.3g): the search "
                               "ran with another --network", g->seed, dmax);
        if (rc == 0) rc = latent_grad_eval(lg, g->start, &noise, &res, NULL, err);
        if (rc == 0 && fabs(res.sal.max_saliency - g->start_score) > 1e-3)
            rc = sal_errf(err, "seed %u: the folder scored the start face %.6g, this network and model give %.6g: the "
                               "search ran with another --network or --saliency", g->seed, g->start_score,
                          (double)res.sal.max_saliency);
    }
    free(mine);
    if (rc < 0) return -1;
    fprintf(stderr, "salient direction: ridge regression over %ld candidates of %d seeds (D = %d)\n", S->n_rows, st->n, st->D);
    return direction_ridge(S, NULL, a->ridge, st->raw, err);
}

/* Bootstrap over seeds: B resamples, the direction recomputed from each,
 * cosines to the full estimate. */
static int bootstrap(const dir_args_t *a, dir_state_t *st, sal_err_t *err) {
    if (a->bootstrap == 0 || st->n < 2) return 0;
    int *counts = malloc(sizeof(int) * (size_t)st->n);
    double *b = malloc(sizeof(double) * (size_t)st->D), *cos = malloc(sizeof(double) * (size_t)a->bootstrap);
    int rc = !counts || !b || !cos ? sal_errf(err, "out of memory") : 0;
    for (int r = 0; rc == 0 && r < a->bootstrap; r++) {
        direction_bootstrap_counts(BOOTSTRAP_SEED + (uint32_t)r, st->n, counts);
        rc = a->method == METHOD_GRAD ? direction_mean_unit(st->grads, st->n, st->D, counts, b, err)
                                      : direction_ridge(&st->samples, counts, a->ridge, b, err);
        if (rc == 0) cos[r] = direction_cosine(b, st->dir, st->D);
    }
    if (rc == 0) {
        double s = 0, ss = 0, mn = 1;
        for (int r = 0; r < a->bootstrap; r++) {
            s += cos[r];
            mn = fmin(mn, cos[r]);
        }
        const double mean = s / a->bootstrap;
        for (int r = 0; r < a->bootstrap; r++) ss += (cos[r] - mean) * (cos[r] - mean);
        st->boot_mean = mean;
        st->boot_sd = a->bootstrap > 1 ? sqrt(ss / (a->bootstrap - 1)) : 0;
        st->boot_min = mn;
        st->boot_done = 1;
    }
    free(counts);
    free(b);
    free(cos);
    return rc;
}

static int load_compare(const dir_args_t *a, dir_state_t *st, sal_err_t *err) {
    if (!a->compare) return 0;
    npy_array_t arr;
    if (npy_load(a->compare, &arr, err) < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < arr.ndim; i++) n *= arr.shape[i];
    int rc = 0;
    if ((arr.dtype != DT_F32 && arr.dtype != DT_F64) || n != st->D)
        rc = sal_errf(err, "%s: expected %d float values (a direction.npy of the same space and network)", a->compare, st->D);
    if (rc == 0) {
        double *v = malloc(sizeof(double) * (size_t)st->D);
        if (!v) rc = sal_errf(err, "out of memory");
        for (int i = 0; v && i < st->D; i++)
            v[i] = arr.dtype == DT_F32 ? (double)((const float *)arr.data)[i] : ((const double *)arr.data)[i];
        if (v) {
            st->compare_cos = direction_cosine(v, st->dir, st->D);
            st->have_compare = 1;
        }
        free(v);
    }
    npy_free(&arr);
    return rc;
}

/* The figure's frames: face i moved by alpha * step_size along the direction. */
static int make_frames(const dir_args_t *a, const sg2_net_t *net, latent_grad_t *lg, dir_state_t *st, sal_err_t *err) {
    const int R = net->cfg.img_resolution, D = st->D;
    st->M = a->faces < st->n ? a->faces : st->n;
    st->step_size = a->step_size >= 0 ? a->step_size : 0.1 * sqrt((double)D);
    st->fig_scores = calloc((size_t)st->M * N_ALPHA + 1, sizeof(double));
    st->fig_frames = malloc((size_t)st->M * N_ALPHA * R * R * 3 + 1);
    float *x = malloc(sizeof(float) * (size_t)D), *start = malloc(sizeof(float) * (size_t)D);
    int rc = !st->fig_scores || !st->fig_frames || !x || !start ? sal_errf(err, "out of memory") : 0;
    for (int i = 0; rc == 0 && i < st->M; i++) {
        rng_np_t noise;
        rc = latent_grad_start(lg, st->seeds[i], start, &noise, err);   // the noise stream of the seed
        for (int al = 0; rc == 0 && al < N_ALPHA; al++) {
            const double alpha = al - 2;
            const float *s0 = st->starts + (size_t)i * D;
            for (int d = 0; d < D; d++) x[d] = (float)((double)s0[d] + alpha * st->step_size * st->dir[d]);
            latent_grad_result_t res;
            rc = latent_grad_eval(lg, x, &noise, &res, NULL, err);
            if (rc == 0) {
                st->fig_scores[i * N_ALPHA + al] = res.sal.max_saliency;
                sg2_to_uint8(latent_grad_image(lg), 1, 3, R, R, st->fig_frames + ((size_t)i * N_ALPHA + al) * R * R * 3);
            }
        }
        if (rc == 0)
            fprintf(stderr, "figure: seed %u: max saliency %.4f %.4f %.4f %.4f %.4f\n", st->seeds[i], st->fig_scores[i * 5],
                    st->fig_scores[i * 5 + 1], st->fig_scores[i * 5 + 2], st->fig_scores[i * 5 + 3], st->fig_scores[i * 5 + 4]);
    }
    free(x);
    free(start);
    return rc;
}

static int write_json(const dir_args_t *a, const sg2_config_t *cfg, const dir_state_t *st, const char *path, sal_err_t *err) {
    sal_atomic_t at;
    if (sal_atomic_begin(&at, path, err) < 0) return -1;
    FILE *f = at.f;
    fprintf(f, "{\n  \"method\": \"%s\",\n  \"space\": \"%s\",\n  \"latent_shape\": ",
            a->method == METHOD_GRAD ? "grad" : "regression", latent_space_name(a->space));
    if (a->space == LATENT_WPLUS) fprintf(f, "[%d, %d]", cfg->num_ws, cfg->w_dim);
    else fprintf(f, "[%d]", st->D);
    fprintf(f, ",\n  \"seeds\": [");
    for (int i = 0; i < st->n; i++) fprintf(f, "%s%u", i ? ", " : "", st->seeds[i]);
    fprintf(f, "],\n  \"norm\": %.9g,\n", st->raw_norm);
    if (a->method == METHOD_GRAD) {
        fprintf(f, "  \"norm_meaning\": \"|mean of unit gradients|: 1 = all seeds agree, about 1/sqrt(seeds) = no agreement\",\n");
        fprintf(f, "  \"objective\": \"%s\",\n", a->objective == SALIENCY_OBJ_MAX ? "max" : "softmax");
        if (a->objective == SALIENCY_OBJ_SOFTMAX) fprintf(f, "  \"tau\": %.9g,\n", a->tau);
    } else {
        fprintf(f, "  \"norm_meaning\": \"|b|: max saliency change per unit latent distance along the direction\",\n");
        fprintf(f, "  \"from\": [");
        for (int i = 0; i < a->n_from; i++) {
            fprintf(f, "%s", i ? ", " : "");
            json_write_string(f, a->from[i]);
        }
        fprintf(f, "],\n  \"candidates\": %ld,\n  \"ridge\": %.9g,\n", st->samples.n_rows, a->ridge);
    }
    fprintf(f, "  \"trunc\": %.9g,\n  \"trunc_cutoff\": %d,\n  \"noise_mode\": \"%s\",\n", a->psi, a->cutoff,
            a->noise_mode == SG2_NOISE_CONST ? "const" : a->noise_mode == SG2_NOISE_NONE ? "none" : "random");
    if (st->boot_done)
        fprintf(f, "  \"bootstrap\": {\"resamples\": %d, \"rng_seed\": %u, \"mean_cosine\": %.9g, \"sd_cosine\": %.9g, "
                   "\"min_cosine\": %.9g},\n",
                a->bootstrap, BOOTSTRAP_SEED, st->boot_mean, st->boot_sd, st->boot_min);
    else fprintf(f, "  \"bootstrap\": null,\n");
    if (st->have_compare) {
        fprintf(f, "  \"compare\": {\"file\": ");
        json_write_string(f, a->compare);
        fprintf(f, ", \"cosine\": %.9g},\n", st->compare_cos);
    }
    fprintf(f, "  \"figure\": {\"file\": \"direction.png\", \"step_size\": %.9g, \"alphas\": [-2, -1, 0, 1, 2],\n",
            st->step_size);
    fprintf(f, "    \"mean_max_saliency\": [");
    for (int al = 0; al < N_ALPHA; al++) {
        double s = 0;
        for (int i = 0; i < st->M; i++) s += st->fig_scores[i * N_ALPHA + al];
        fprintf(f, "%s%.9g", al ? ", " : "", st->M ? s / st->M : 0.0);
    }
    fprintf(f, "],\n    \"faces\": [");
    for (int i = 0; i < st->M; i++) {
        fprintf(f, "%s\n      {\"seed\": %u, \"max_saliency\": [", i ? "," : "", st->seeds[i]);
        for (int al = 0; al < N_ALPHA; al++) fprintf(f, "%s%.9g", al ? ", " : "", st->fig_scores[i * N_ALPHA + al]);
        fprintf(f, "]}");
    }
    fprintf(f, "]},\n  \"network\": ");
    json_write_string(f, a->network);
    fprintf(f, ",\n  \"saliency_model\": ");
    json_write_string(f, a->saliency);
    fprintf(f, ",\n  \"salient_version\": \"%s\"\n}\n", SALIENT_VERSION);
    return sal_atomic_end(&at, 1, err);
}

static int run(dir_args_t *a, sal_err_t *err) {
    if (a->threads) threads_set(a->threads);
    if (sal_dir_check_writable(a->outdir, err) < 0) return -1;
    if (a->method == METHOD_REGRESSION && adopt_folder_settings(a, err) < 0) return -1;
    ks_startup_t check;
    if (startup_check("salient direction", KS_GENERATOR | KS_SALIENCY, &check, err) < 0) return -1;
    blob_t *gblob = NULL, *sblob = NULL;
    sg2_net_t *net = NULL;
    saliency_model_t sal;
    int sal_ok = 0, rc = -1;
    latent_grad_t *lg = NULL;
    dir_state_t st;
    memset(&st, 0, sizeof st);
    if (cli_open_models(a->network, a->saliency, 0, &gblob, &sblob, err) < 0) goto done;
    if (sg2_load(&net, gblob, err) < 0 || (a->method == METHOD_GRAD && sg2_grad_prepare(net, err) < 0)) goto done;
    if (saliency_model_init(&sal, sblob, err) < 0) goto done;
    sal_ok = 1;
    const latent_grad_opts_t lo = {.space = a->space, .psi = (float)a->psi, .cutoff = a->cutoff,
                                   .objective = a->method == METHOD_GRAD ? a->objective : SALIENCY_OBJ_MAX,
                                   .tau = (float)a->tau, .noise_mode = a->noise_mode};
    if (latent_grad_create(&lg, net, &sal, &lo, err) < 0) goto done;
    st.D = latent_grad_dim(lg);
    st.dir = malloc(sizeof(double) * (size_t)st.D);
    st.raw = malloc(sizeof(double) * (size_t)st.D);
    if (!st.dir || !st.raw) {
        sal_errf(err, "out of memory");
        goto done;
    }
    fprintf(stderr, "salient direction: method %s, space %s (D = %d), %dx%d images, %d thread%s (%s)\n",
            a->method == METHOD_GRAD ? "grad" : "regression", latent_space_name(a->space), st.D, net->cfg.img_resolution,
            net->cfg.img_resolution, threads_get(), threads_get() == 1 ? "" : "s", isa_name(cpu_isa()));
    if (a->method == METHOD_GRAD) {
        st.n = a->seeds.n;
        st.seeds = malloc(sizeof(uint32_t) * (size_t)st.n);
        st.starts = malloc(sizeof(float) * (size_t)st.n * st.D);
        st.grads = malloc(sizeof(float) * (size_t)st.n * st.D);
        if (!st.seeds || !st.starts || !st.grads) {
            sal_errf(err, "out of memory");
            goto done;
        }
        memcpy(st.seeds, a->seeds.seeds, sizeof(uint32_t) * (size_t)st.n);
        if (estimate_grad(a, lg, &st, err) < 0) goto done;
    } else if (estimate_regression(a, lg, &st, err) < 0) {
        goto done;
    }
    st.raw_norm = direction_norm(st.raw, st.D);
    if (!(st.raw_norm > 0) || !isfinite(st.raw_norm)) {
        sal_errf(err, "the estimate is zero or not finite (norm %g): no direction", st.raw_norm);
        goto done;
    }
    for (int d = 0; d < st.D; d++) st.dir[d] = st.raw[d] / st.raw_norm;
    if (bootstrap(a, &st, err) < 0 || load_compare(a, &st, err) < 0) goto done;
    if (st.boot_done)
        fprintf(stderr, "salient direction: norm %.4g; bootstrap over seeds (%d resamples): mean cosine %.4f (sd %.4f, min %.4f)\n",
                st.raw_norm, a->bootstrap, st.boot_mean, st.boot_sd, st.boot_min);
    if (st.have_compare) fprintf(stderr, "salient direction: cosine with %s: %.4f\n", a->compare, st.compare_cos);
    if (make_frames(a, net, lg, &st, err) < 0) goto done;
    // everything computed: the folder and the files
    if (sal_mkdir_p(a->outdir, err) < 0 || startup_check_record(&check, a->outdir, err) < 0) goto done;
    {
        char path[PATH_LEN + 64], title[160];
        float *v = malloc(sizeof(float) * (size_t)st.D);
        if (!v) {
            sal_errf(err, "out of memory");
            goto done;
        }
        for (int d = 0; d < st.D; d++) v[d] = (float)st.dir[d];
        int64_t shape[2] = {st.D, 0};
        int ndim = 1;
        if (a->space == LATENT_WPLUS) {
            ndim = 2;
            shape[0] = net->cfg.num_ws;
            shape[1] = net->cfg.w_dim;
        }
        snprintf(path, sizeof path, "%s/direction.npy", a->outdir);
        int r = npy_save(path, DT_F32, ndim, shape, v, err);
        free(v);
        if (r < 0) goto done;
        snprintf(title, sizeof title, "SALIENCY DIRECTION (%s, %s)  STEP %.3g", a->method == METHOD_GRAD ? "GRAD" : "REGRESSION",
                 latent_space_name(a->space), st.step_size);
        snprintf(path, sizeof path, "%s/direction.png", a->outdir);
        if (st.M > 0 && figure_save(st.fig_frames, st.fig_scores, st.seeds, st.M, net->cfg.img_resolution, st.step_size,
                                    title, path, err) < 0)
            goto done;
        snprintf(path, sizeof path, "%s/direction.json", a->outdir);
        if (write_json(a, &net->cfg, &st, path, err) < 0) goto done;
        fprintf(stderr, "salient direction: wrote %s/direction.{npy,json,png}\n", a->outdir);
    }
    rc = 0;
done:
    state_free(&st);
    latent_grad_free(lg);
    if (sal_ok) saliency_model_free(&sal);
    sg2_free(net);
    blob_close(gblob);
    blob_close(sblob);
    return rc;
}

int cmd_direction(int argc, char **argv) {
    dir_args_t a;
    sal_err_t err = {{0}};
    int p = parse_args(argc, argv, &a, &err);
    if (p == 1) {
        direction_help(stdout);
        seedlist_free(&a.seeds);
        return 0;
    }
    if (p < 0) {
        fprintf(stderr, "salient direction: %s (see --help)\n", err.msg);
        seedlist_free(&a.seeds);
        return 2;
    }
    int rc = run(&a, &err);
    seedlist_free(&a.seeds);
    if (rc < 0) {
        fprintf(stderr, "salient direction: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* search.c — the search of one seed, with its files and its resume point
 * (see search.h for the algorithms and docs/search.md for the files). Each
 * method's step is one short function: study_step() (--method random: sample
 * K perturbations, score them, pick one, accept it) and grad_step()
 * (--method grad: one normalised gradient step, projected onto the ball);
 * search_seed() runs the steps and writes the files and the resume point
 * around them. */
#include "search.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "figures.h"
#include "json.h"
#include "npy.h"
#include "png.h"
#include "rng.h"
#include "stats.h"

#define STRIP_HEIGHT 200
#define PATH_LEN 4096

/* One row of log.csv. */
typedef struct log_row {
    int step, candidate;
    double score;       /* max saliency (a float32 value) */
    int x, y;           /* salient point, source pixels */
    int chosen;         /* 1 if this candidate became the current latent */
    double distance;    /* || candidate - start ||_2 */
} log_row_t;

/* The state of one seed's search. */
typedef struct seed_run {
    uint32_t seed;
    char dir[PATH_LEN / 2];
    int steps_done;
    float *latents;     /* (steps_done + 1, D): the current latent after each step */
    log_row_t *rows;
    int n_rows, cap_rows;
} seed_run_t;

const char *search_space_name(search_space_t s) {
    return s == SPACE_Z ? "z" : s == SPACE_W ? "w" : "w+";
}

const char *search_accept_name(search_accept_t a) {
    return a == ACCEPT_BEST ? "best" : a == ACCEPT_IMPROVE ? "improve" : "random";
}

const char *search_objective_name(search_objective_t o) { return o == OBJECTIVE_MIN ? "min" : "max"; }

const char *search_method_name(search_method_t m) { return m == METHOD_GRAD ? "grad" : "random"; }

const char *search_score_name(saliency_objective_t s) { return s == SALIENCY_OBJ_SOFTMAX ? "softmax" : "max"; }

double search_default_lr(const double *sigma, int D) {
    double s = 0;
    for (int d = 0; d < D; d++) s += sigma[d] * sigma[d];
    return sqrt(s);
}

static double l2_distance(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return sqrt(s);
}

void search_project_ball(float *x, const float *x0, int D, double radius) {
    const double dist = l2_distance(x, x0, D);
    if (!(dist > radius)) return; /* inside (or not a number: the caller checks for finite values) */
    /* x = x0 + (x - x0) * scale, rounded to float32; the rounding can land
     * just outside, so the scale shrinks (by 2^-40, 2^-39, ...) until it holds */
    double scale = radius / dist, shrink = 0x1p-40;
    for (;;) {
        for (int d = 0; d < D; d++) x[d] = (float)((double)x0[d] + ((double)x[d] - (double)x0[d]) * scale);
        /* x now holds the rounded point; restate it as x0 + (x - x0) * 1 for the next try */
        double now = l2_distance(x, x0, D);
        if (now <= radius) return;
        scale = (1.0 - shrink) * radius / now;
        shrink = shrink < 0.25 ? 2 * shrink : 0.5;
    }
}

/* splitmix64 finaliser: a well-mixed 64-bit function of its input. */
static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint32_t search_step_rng_seed(uint32_t rng_seed, uint32_t seed, int step) {
    uint64_t h = mix64(((uint64_t)rng_seed << 32) | seed);
    h = mix64(h ^ (uint64_t)(uint32_t)step);
    return (uint32_t)(h >> 32);
}

int search_random_choice(uint32_t rng_seed, uint32_t seed, int step, int K) {
    if (K <= 1) return 0;
    rng_np_t rng;
    rng_np_seed(&rng, search_step_rng_seed(rng_seed ^ 0x63686f6fu, seed, step)); /* "choo" */
    uint32_t max = (uint32_t)(K - 1), mask = max;
    for (int s = 1; s < 32; s <<= 1) mask |= mask >> s; /* smallest 2^n - 1 >= max */
    uint32_t v;
    do v = rng_np_u32(&rng) & mask;
    while (v > max);
    return (int)v;
}

/* ---- setup ------------------------------------------------------------- */

static int search_init_fields(search_ctx_t *ctx, const search_params_t *p, const sg2_net_t *net,
                              const saliency_model_t *sal, sal_err_t *err) {
    ctx->p = *p;
    ctx->net = net;
    ctx->sal = sal;
    const sg2_config_t *cfg = &net->cfg;
    if (cfg->img_channels != 3)
        return sal_errf(err, "%s: the generator makes %d-channel images; the saliency model needs RGB (3)", p->network, cfg->img_channels);
    if (p->steps < 0 || p->steps > 99) return sal_errf(err, "--steps must be 0..99 (got %d)", p->steps);
    if (p->candidates < 1 || p->candidates > 4096) return sal_errf(err, "--candidates must be 1..4096 (got %d)", p->candidates);
    if (p->batch < 1) return sal_errf(err, "--batch must be >= 1 (got %d)", p->batch);
    if (p->trunc_cutoff != SG2_CUTOFF_NONE && (p->trunc_cutoff < 0 || p->trunc_cutoff > cfg->num_ws))
        return sal_errf(err, "--trunc-cutoff must be 0..%d for this network (got %d)", cfg->num_ws, p->trunc_cutoff);
    ctx->latent_dim = p->space == SPACE_Z ? cfg->z_dim : p->space == SPACE_W ? cfg->w_dim : cfg->num_ws * cfg->w_dim;
    int D = ctx->latent_dim;
    ctx->sigma = malloc(sizeof(double) * (size_t)D);
    if (!ctx->sigma) return sal_errf(err, "out of memory");
    if (p->sigma_file) {
        npy_array_t a;
        if (npy_load(p->sigma_file, &a, err)) return -1;
        int64_t numel = 1;
        for (int i = 0; i < a.ndim; i++) numel *= a.shape[i];
        int rc = 0;
        if (numel != D) {
            rc = sal_errf(err, "%s: has %lld values, the %s space of this network has %d dimensions", p->sigma_file,
                          (long long)numel, search_space_name(p->space), D);
        } else {
            for (int i = 0; i < D && rc == 0; i++) {
                double s = a.dtype == DT_F64 ? ((const double *)a.data)[i] : ((const float *)a.data)[i];
                if (!(s >= 0) || !isfinite(s)) rc = sal_errf(err, "%s: sigma[%d] = %g is not a finite value >= 0", p->sigma_file, i, s);
                ctx->sigma[i] = s;
            }
        }
        npy_free(&a);
        if (rc) return rc;
    } else {
        if (!(p->sigma >= 0) || !isfinite(p->sigma)) return sal_errf(err, "--sigma must be a finite value >= 0 (got %g)", p->sigma);
        for (int i = 0; i < D; i++) ctx->sigma[i] = p->sigma;
    }
    int batch = p->batch < p->candidates ? p->batch : p->candidates;
    ctx->p.batch = batch;
    size_t gen = sg2_synthesis_arena_bytes(net, batch);
    if (gen == 0 || arena_init(&ctx->gen_arena, gen) != 0)
        return sal_errf(err, "out of memory for a generator batch of %d (%zu MB); try a smaller --batch", batch, gen >> 20);
    if (arena_init(&ctx->sal_arena, saliency_arena_bytes(sal)) != 0) return sal_errf(err, "out of memory for the saliency model");
    if (p->method == METHOD_GRAD) {
        if (p->candidates != 1) return sal_errf(err, "--method grad evaluates one latent per step (candidates must be 1, got %d)", p->candidates);
        if (!(p->radius < 0 || isfinite(p->radius))) return sal_errf(err, "--radius must be a finite value >= 0 (got %g)", p->radius);
        if (p->score == SALIENCY_OBJ_SOFTMAX && !(p->tau > 0 && isfinite(p->tau)))
            return sal_errf(err, "--tau must be a finite value > 0 (got %g)", p->tau);
        _Static_assert((int)SPACE_Z == (int)LATENT_Z && (int)SPACE_W == (int)LATENT_W && (int)SPACE_WPLUS == (int)LATENT_WPLUS,
                       "search_space_t and latent_space_t name the spaces alike");
        const latent_grad_opts_t lo = {.space = (latent_space_t)p->space, .psi = p->psi, .cutoff = p->trunc_cutoff,
                                       .objective = p->score, .tau = (float)p->tau, .noise_mode = p->noise_mode};
        if (latent_grad_create(&ctx->lg, net, sal, &lo, err)) return -1;
        ctx->grad = malloc(sizeof(float) * (size_t)D);
        if (!ctx->grad) return sal_errf(err, "out of memory");
        ctx->lr = p->lr > 0 ? p->lr : search_default_lr(ctx->sigma, D);
        if (!isfinite(ctx->lr)) return sal_errf(err, "--lr must be finite (got %g)", ctx->lr);
    }
    return 0;
}

int search_init(search_ctx_t *ctx, const search_params_t *p, const sg2_net_t *net,
                const saliency_model_t *sal, sal_err_t *err) {
    memset(ctx, 0, sizeof *ctx);
    int rc = search_init_fields(ctx, p, net, sal, err);
    if (rc) search_free(ctx);
    return rc;
}

void search_free(search_ctx_t *ctx) {
    latent_grad_free(ctx->lg);
    free(ctx->grad);
    free(ctx->sigma);
    arena_free(&ctx->gen_arena);
    arena_free(&ctx->sal_arena);
    memset(ctx, 0, sizeof *ctx);
}

/* ---- images and scores -------------------------------------------------- */

/* latents (n, D) -> ws (n, num_ws, w_dim), truncation applied. */
static int latents_to_ws(const search_ctx_t *ctx, const float *lat, int n, float *ws, sal_err_t *err) {
    const sg2_config_t *cfg = &ctx->net->cfg;
    size_t row = (size_t)cfg->w_dim, per = (size_t)cfg->num_ws * row;
    if (ctx->p.space == SPACE_Z) return sg2_mapping(ctx->net, lat, n, ctx->p.psi, ctx->p.trunc_cutoff, ws, err);
    for (int i = 0; i < n; i++) {
        if (ctx->p.space == SPACE_W)
            for (int r = 0; r < cfg->num_ws; r++) memcpy(ws + i * per + r * row, lat + i * row, row * sizeof(float));
        else
            memcpy(ws + i * per, lat + i * per, per * sizeof(float));
    }
    if (ctx->p.psi != 1.0f) sg2_truncate(ctx->net, ws, n, ctx->p.psi, ctx->p.trunc_cutoff);
    return 0;
}

/* Makes the images of n latents (in generator batches) and scores each:
 * rgb (n, R, R, 3), score/x/y (n). noise_key makes 'random' noise
 * reproducible per (seed, step, candidate). */
static int render_and_score(search_ctx_t *ctx, const float *lat, int n, uint32_t seed, int step,
                            uint8_t *rgb, float *score, int *x, int *y, sal_err_t *err) {
    const sg2_config_t *cfg = &ctx->net->cfg;
    const int R = cfg->img_resolution, D = ctx->latent_dim, B = ctx->p.batch;
    size_t per_ws = (size_t)cfg->num_ws * cfg->w_dim, per_img = (size_t)3 * R * R;
    float *ws = malloc(sizeof(float) * per_ws * (size_t)B);
    float *img = malloc(sizeof(float) * per_img * (size_t)B);
    rng_np_t *noise = ctx->p.noise_mode == SG2_NOISE_RANDOM ? malloc(sizeof(rng_np_t) * (size_t)B) : NULL;
    int rc = 0;
    if (!ws || !img || (ctx->p.noise_mode == SG2_NOISE_RANDOM && !noise)) rc = sal_errf(err, "out of memory for a batch of %d images", B);
    for (int b0 = 0; rc == 0 && b0 < n; b0 += B) {
        int nb = n - b0 < B ? n - b0 : B;
        double t0 = sal_now();
        rc = latents_to_ws(ctx, lat + (size_t)b0 * D, nb, ws, err);
        for (int i = 0; noise && i < nb; i++)
            rng_np_seed(&noise[i], search_step_rng_seed(ctx->p.rng_seed ^ 0x6e6f6973u, seed, step * 65536 + b0 + i));
        sg2_synthesis_opts_t opts = {.noise_mode = ctx->p.noise_mode, .noise_rngs = noise, .arena = &ctx->gen_arena};
        if (rc == 0) rc = sg2_synthesis(ctx->net, ws, nb, &opts, img, err);
        if (rc) break;
        sg2_to_uint8(img, nb, 3, R, R, rgb + (size_t)b0 * per_img);
        double t1 = sal_now();
        ctx->t_generate += t1 - t0;
        ctx->images += nb;
        for (int i = 0; rc == 0 && i < nb; i++) {
            saliency_image_t im = saliency_image_rgb(rgb + (size_t)(b0 + i) * per_img, R, R, 3);
            saliency_result_t res;
            rc = saliency_run(ctx->sal, &im, &ctx->sal_arena, &res, err);
            if (rc == 0) {
                score[b0 + i] = res.max;
                x[b0 + i] = res.x;
                y[b0 + i] = res.y;
                saliency_result_free(&res);
            }
        }
        ctx->t_saliency += sal_now() - t1;
    }
    free(ws);
    free(img);
    free(noise);
    return rc;
}

/* The starting latent of a seed: z from generate.py's RNG, or its w / w+
 * (mapping without truncation). */
static int start_latent(const search_ctx_t *ctx, uint32_t seed, float *lat, sal_err_t *err) {
    const sg2_config_t *cfg = &ctx->net->cfg;
    float *z = malloc(sizeof(float) * (size_t)cfg->z_dim);
    float *ws = malloc(sizeof(float) * (size_t)cfg->num_ws * cfg->w_dim);
    int rc = (!z || !ws) ? sal_errf(err, "out of memory") : 0;
    if (rc == 0) sg2_z_from_seed(seed, cfg->z_dim, z, NULL);
    if (rc == 0 && ctx->p.space == SPACE_Z) memcpy(lat, z, sizeof(float) * (size_t)cfg->z_dim);
    else if (rc == 0) {
        rc = sg2_mapping(ctx->net, z, 1, 1.0f, SG2_CUTOFF_NONE, ws, err);
        if (rc == 0) memcpy(lat, ws, sizeof(float) * (size_t)ctx->latent_dim);
    }
    free(z);
    free(ws);
    return rc;
}

/* ---- files ---------------------------------------------------------------- */

static int push_row(seed_run_t *r, log_row_t row, sal_err_t *err) {
    if (r->n_rows == r->cap_rows) {
        int cap = r->cap_rows ? 2 * r->cap_rows : 64;
        log_row_t *rows = realloc(r->rows, sizeof *rows * (size_t)cap);
        if (!rows) return sal_errf(err, "out of memory");
        r->rows = rows;
        r->cap_rows = cap;
    }
    r->rows[r->n_rows++] = row;
    return 0;
}

static void path_in(char *buf, const seed_run_t *r, const char *name) {
    snprintf(buf, PATH_LEN, "%s/%s", r->dir, name);
}

/* Writes a text file built in memory with open_memstream, atomically. */
typedef struct textbuf {
    char *data;
    size_t size;
    FILE *f;
} textbuf_t;

static int text_open(textbuf_t *t, sal_err_t *err) {
    t->data = NULL;
    t->size = 0;
    t->f = open_memstream(&t->data, &t->size);
    return t->f ? 0 : sal_errf(err, "out of memory");
}

static int text_save(textbuf_t *t, const char *path, sal_err_t *err) {
    fclose(t->f);
    int rc = sal_write_file_atomic(path, t->data, t->size, err);
    free(t->data);
    return rc;
}

/* The current max saliency after each step 0..steps_done: cur (steps_done + 1),
 * and the step whose value is best for the objective (the first on ties).
 * The rows are in order (load_state checks a resumed log). */
static void current_scores(const seed_run_t *r, search_objective_t objective, double *cur, int *best_step) {
    int s = 0;
    *best_step = 0;
    for (int t = 0; t <= r->steps_done; t++) cur[t] = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const log_row_t *row = &r->rows[i];
        if (row->step < 0 || row->step > r->steps_done) continue;
        if (row->step == 0) cur[0] = row->score;
        else if (row->step != s) cur[row->step] = cur[row->step - 1];
        if (row->step > 0 && row->chosen) cur[row->step] = row->score;
        s = row->step;
    }
    for (int t = 1; t <= r->steps_done; t++)
        if (objective == OBJECTIVE_MIN ? cur[t] < cur[*best_step] : cur[t] > cur[*best_step]) *best_step = t;
}

static int write_log(const seed_run_t *r, sal_err_t *err) {
    char path[PATH_LEN];
    textbuf_t t;
    if (text_open(&t, err)) return -1;
    fprintf(t.f, "step,candidate,max_saliency,x,y,chosen,distance\n");
    for (int i = 0; i < r->n_rows; i++) {
        const log_row_t *w = &r->rows[i];
        fprintf(t.f, "%d,%d,%.9g,%d,%d,%d,%.9g\n", w->step, w->candidate, w->score, w->x, w->y, w->chosen, w->distance);
    }
    path_in(path, r, "log.csv");
    return text_save(&t, path, err);
}

static int write_state(const seed_run_t *r, sal_err_t *err) {
    char path[PATH_LEN];
    textbuf_t t;
    if (text_open(&t, err)) return -1;
    fprintf(t.f, "{\"format\": 1, \"seed\": %u, \"steps_done\": %d, \"log\": [", r->seed, r->steps_done);
    for (int i = 0; i < r->n_rows; i++) {
        const log_row_t *w = &r->rows[i];
        fprintf(t.f, "%s\n  [%d, %d, %.17g, %d, %d, %d, %.17g]", i ? "," : "", w->step, w->candidate, w->score, w->x, w->y,
                w->chosen, w->distance);
    }
    fprintf(t.f, "\n]}\n");
    path_in(path, r, "state.json");
    return text_save(&t, path, err);
}

static int write_latents(const search_ctx_t *ctx, const seed_run_t *r, sal_err_t *err) {
    char path[PATH_LEN];
    const sg2_config_t *cfg = &ctx->net->cfg;
    int64_t shape[3] = {r->steps_done + 1, ctx->latent_dim, 0};
    int ndim = 2;
    if (ctx->p.space == SPACE_WPLUS) {
        shape[1] = cfg->num_ws;
        shape[2] = cfg->w_dim;
        ndim = 3;
    }
    path_in(path, r, "latents.npy");
    return npy_save(path, DT_F32, ndim, shape, r->latents, err);
}

static int write_frame(const search_ctx_t *ctx, const seed_run_t *r, int step, const uint8_t *rgb, sal_err_t *err) {
    char path[PATH_LEN], name[32];
    int R = ctx->net->cfg.img_resolution;
    snprintf(name, sizeof name, "step%02d.png", step);
    path_in(path, r, name);
    return png_save(path, rgb, R, R, 3, err);
}

/* v as an int in [lo, hi], if it is a whole JSON number there. */
static int json_int_in(const json_t *v, double lo, double hi, int *out) {
    if (!v || v->type != JSON_NUMBER || !(v->num >= lo && v->num <= hi) || v->num != floor(v->num)) return -1;
    *out = (int)v->num;
    return 0;
}

/* "log row I: problem", for check_state. */
static int bad_row(char *why, size_t len, int i, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int bad_row(char *why, size_t len, int i, const char *fmt, ...) {
    int n = snprintf(why, len, "log row %d: ", i);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < len) vsnprintf(why + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Checks a parsed state.json completely before anything of it is used and
 * fills r->rows and r->steps_done: steps_done in 0..--steps, exactly
 * 1 + steps_done * K rows, in order (step 0's one row, then K rows per step
 * with candidates 0..K-1), whole numbers where whole numbers belong, finite
 * scores and distances, step 0 chosen and at most one chosen row per step
 * (exactly one with --accept best or random; with random, the candidate
 * search_random_choice names). On failure writes the reason into why. */
static int check_state(const search_ctx_t *ctx, seed_run_t *r, const json_t *j, char *why, size_t len, sal_err_t *err) {
    const int K = ctx->p.candidates, T = ctx->p.steps;
    const json_t *log = json_get(j, "log"), *seed = json_get(j, "seed");
    int format, done;
    if (json_int_in(json_get(j, "format"), 1, 1, &format)) return snprintf(why, len, "not a state file of format 1"), -1;
    if (!seed || seed->type != JSON_NUMBER || seed->num != (double)r->seed)
        return snprintf(why, len, "not the state of seed %u", r->seed), -1;
    if (json_int_in(json_get(j, "steps_done"), 0, T, &done))
        return snprintf(why, len, "steps_done is not a whole number in 0..%d (--steps)", T), -1;
    if (!log || log->type != JSON_ARRAY) return snprintf(why, len, "no log"), -1;
    long want = 1 + (long)done * K;
    if (log->n != want)
        return snprintf(why, len, "the log has %d rows; step 0 and %d steps of %d candidates make %ld", log->n, done, K, want), -1;
    int chosen_in_step = 0, chosen_k = -1;
    for (int i = 0; i < log->n; i++) {
        const json_t *a = &log->items[i];
        if (a->type != JSON_ARRAY || a->n != 7)
            return bad_row(why, len, i, "not a list of 7 values [step, candidate, max_saliency, x, y, chosen, distance]");
        const json_t *v = a->items;
        const int want_step = i == 0 ? 0 : 1 + (i - 1) / K, want_cand = i == 0 ? 0 : (i - 1) % K;
        log_row_t row;
        if (json_int_in(&v[0], 0, done, &row.step))
            return bad_row(why, len, i, "step must be a whole number in 0..%d (steps_done), got %.17g", done,
                           v[0].type == JSON_NUMBER ? v[0].num : NAN);
        if (json_int_in(&v[1], 0, K - 1, &row.candidate))
            return bad_row(why, len, i, "candidate must be a whole number in 0..%d (--candidates %d), got %.17g", K - 1, K,
                           v[1].type == JSON_NUMBER ? v[1].num : NAN);
        if (row.step != want_step || row.candidate != want_cand)
            return bad_row(why, len, i, "step %d candidate %d out of order (expected step %d candidate %d)", row.step, row.candidate,
                           want_step, want_cand);
        if (v[2].type != JSON_NUMBER || !isfinite(v[2].num)) return bad_row(why, len, i, "max_saliency is not a finite number");
        row.score = v[2].num;
        if (json_int_in(&v[3], 0, INT_MAX, &row.x) || json_int_in(&v[4], 0, INT_MAX, &row.y))
            return bad_row(why, len, i, "x, y are not whole numbers >= 0");
        if (json_int_in(&v[5], 0, 1, &row.chosen)) return bad_row(why, len, i, "chosen is not 0 or 1");
        if (v[6].type != JSON_NUMBER || !isfinite(v[6].num) || v[6].num < 0)
            return bad_row(why, len, i, "distance is not a finite number >= 0");
        row.distance = v[6].num;
        if (i == 0 && !row.chosen) return bad_row(why, len, i, "the start (step 0) must be chosen");
        if (row.candidate == 0) chosen_in_step = 0, chosen_k = -1;
        chosen_in_step += row.chosen;
        if (row.chosen) chosen_k = row.candidate;
        if (chosen_in_step > 1) return bad_row(why, len, i, "a second chosen candidate in step %d", row.step);
        if (row.step > 0 && row.candidate == K - 1 && chosen_in_step == 0 && ctx->p.accept != ACCEPT_IMPROVE)
            return bad_row(why, len, i, "no chosen candidate in step %d (--accept %s always moves)", row.step,
                           search_accept_name(ctx->p.accept));
        if (row.step > 0 && row.candidate == K - 1 && ctx->p.accept == ACCEPT_RANDOM) {
            int want = search_random_choice(ctx->p.rng_seed, r->seed, row.step, K);
            if (chosen_k != want)
                return bad_row(why, len, i, "step %d chose candidate %d; --accept random (rng seed %u) picks %d", row.step, chosen_k,
                               ctx->p.rng_seed, want);
        }
        if (push_row(r, row, err)) return -2;
    }
    r->steps_done = done;
    return 0;
}

/* Reads state.json and latents.npy of an interrupted run. */
static int load_state(const search_ctx_t *ctx, seed_run_t *r, sal_err_t *err) {
    char path[PATH_LEN], why[300];
    json_t j;
    path_in(path, r, "state.json");
    if (json_load(path, &j, err)) return -1;
    int rc = check_state(ctx, r, &j, why, sizeof why, err);
    json_free(&j);
    if (rc == -1)
        return sal_errf(err, "%s: %s; the file is damaged or from another run: delete %s to search seed %u again", path, why, r->dir,
                        r->seed);
    if (rc) return rc;
    npy_array_t a;
    const int done = r->steps_done;
    path_in(path, r, "latents.npy");
    if (npy_load(path, &a, err)) return -1;
    int64_t rows = a.ndim > 0 ? a.shape[0] : 0, per = 1;
    for (int i = 1; i < a.ndim; i++) per *= a.shape[i];
    if (a.dtype != DT_F32 || per != ctx->latent_dim || rows < done + 1)
        rc = sal_errf(err, "%s: does not hold %d float32 latents of %d values (was the run made with other options?)", path,
                      done + 1, ctx->latent_dim);
    else
        memcpy(r->latents, a.data, sizeof(float) * (size_t)(done + 1) * (size_t)ctx->latent_dim);
    npy_free(&a);
    return rc;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* strip.png, plot.png and result.json from the finished run. */
static int write_results(const search_ctx_t *ctx, const seed_run_t *r, sal_err_t *err) {
    const search_params_t *p = &ctx->p;
    char path[PATH_LEN], name[32];
    int n = r->steps_done + 1, rc = 0;
    double *cur = calloc((size_t)n, sizeof(double));
    image_u8_t *frames = calloc((size_t)n, sizeof(image_u8_t));
    const uint8_t **fp = calloc((size_t)n, sizeof(uint8_t *));
    if (!cur || !frames || !fp) rc = sal_errf(err, "out of memory");
    for (int s = 0; rc == 0 && s < n; s++) {
        png_info_t info;
        snprintf(name, sizeof name, "step%02d.png", s);
        path_in(path, r, name);
        rc = png_load(path, &frames[s], &info, err);
        if (rc == 0 && frames[s].channels != 3) rc = sal_errf(err, "%s: expected an RGB frame", path);
        if (rc == 0) fp[s] = frames[s].pixels;
    }
    if (rc == 0) {
        path_in(path, r, "strip.png");
        rc = figure_strip(fp, n, frames[0].width, frames[0].height, STRIP_HEIGHT, path, err);
    }
    int best_step = 0;
    if (rc == 0) {
        current_scores(r, p->objective, cur, &best_step);
        char title[64];
        snprintf(title, sizeof title, "seed %u", r->seed);
        path_in(path, r, "plot.png");
        rc = figure_plot(cur, n, title, path, err);
    }
    if (rc == 0) {
        textbuf_t t;
        rc = text_open(&t, err);
        if (rc == 0) {
            FILE *f = t.f;
            double start = cur[0], final = cur[n - 1];
            fprintf(f, "{\n  \"seed\": %u,\n  \"start_max_saliency\": %.9g,\n  \"final_max_saliency\": %.9g,\n", r->seed, start, final);
            if (start != 0) fprintf(f, "  \"ratio_percent\": %.4f,\n", 100.0 * final / start);
            else fprintf(f, "  \"ratio_percent\": null,\n");
            fprintf(f, "  \"best_step\": %d,\n  \"best_max_saliency\": %.9g,\n  \"max_saliency_per_step\": [", best_step, cur[best_step]);
            for (int s = 0; s < n; s++) fprintf(f, "%s%.9g", s ? ", " : "", cur[s]);
            fprintf(f, "],\n  \"distance_per_step\": [");
            double dist = 0;
            for (int s = 0, i = 0; s < n; s++) {
                for (; i < r->n_rows && r->rows[i].step == s; i++)
                    if (r->rows[i].chosen) dist = r->rows[i].distance;
                fprintf(f, "%s%.9g", s ? ", " : "", dist);
            }
            fprintf(f, "],\n  \"parameters\": {\n    \"network\": ");
            json_write_string(f, p->network);
            fprintf(f, ",\n    \"saliency_model\": ");
            json_write_string(f, p->saliency);
            fprintf(f, ",\n    \"img_resolution\": %d,\n    \"steps\": %d,\n    \"candidates\": %d,\n", ctx->net->cfg.img_resolution,
                    p->steps, p->candidates);
            if (p->sigma_file) {
                fprintf(f, "    \"sigma_file\": ");
                json_write_string(f, p->sigma_file);
                fprintf(f, ",\n");
            } else {
                fprintf(f, "    \"sigma\": %.9g,\n", p->sigma);
            }
            fprintf(f, "    \"space\": \"%s\",\n    \"trunc\": %.9g,\n", search_space_name(p->space), (double)p->psi);
            if (p->trunc_cutoff == SG2_CUTOFF_NONE) fprintf(f, "    \"trunc_cutoff\": null,\n");
            else fprintf(f, "    \"trunc_cutoff\": %d,\n", p->trunc_cutoff);
            fprintf(f, "    \"noise_mode\": \"%s\",\n    \"accept\": \"%s\",\n",
                    p->noise_mode == SG2_NOISE_CONST ? "const" : p->noise_mode == SG2_NOISE_NONE ? "none" : "random",
                    search_accept_name(p->accept));
            /* only when not the default, so the study's arm keeps its bytes */
            if (p->objective != OBJECTIVE_MAX) fprintf(f, "    \"objective\": \"%s\",\n", search_objective_name(p->objective));
            if (p->method == METHOD_GRAD) { /* only for grad: the study's files keep their bytes */
                fprintf(f, "    \"method\": \"grad\",\n    \"lr\": %.9g,\n", ctx->lr);
                if (p->radius < 0) fprintf(f, "    \"radius\": null,\n");
                else fprintf(f, "    \"radius\": %.9g,\n", p->radius);
                fprintf(f, "    \"score\": \"%s\",\n", search_score_name(p->score));
                if (p->score == SALIENCY_OBJ_SOFTMAX) fprintf(f, "    \"tau\": %.9g,\n", p->tau);
            }
            fprintf(f, "    \"rng_seed\": %u,\n    \"fast\": %s\n  },\n", p->rng_seed, p->fast ? "true" : "false");
            fprintf(f, "  \"versions\": {\"salient\": \"%s\", \"state_format\": 1}\n}\n", SALIENT_VERSION);
            path_in(path, r, "result.json");
            rc = text_save(&t, path, err);
        }
    }
    for (int s = 0; frames && s < n; s++) image_free(&frames[s]);
    free(frames);
    free(fp);
    free(cur);
    return rc;
}

/* ---- the study's step -------------------------------------------------------- */

/* The K candidates of one step and what they gave. */
typedef struct step_bufs {
    float *cand;        /* (K, D) latents */
    uint8_t *rgb;       /* (K, R, R, 3) faces */
    float *score;       /* (K) max saliency */
    int *xs, *ys;       /* (K) salient point */
} step_bufs_t;

/* Whether score a is better than b for the objective (strictly: ties keep b). */
static int beats(search_objective_t objective, double a, double b) {
    return objective == OBJECTIVE_MIN ? a < b : a > b;
}

/* One step of the search (search.h), from the current latent cur (D), its
 * face cur_rgb and its score *cur_score:
 *   1. sample K perturbations: candidate_k = cur + delta_k, delta_k ~ N(0, diag(sigma^2))
 *   2. score them: the max saliency of each candidate's face (generator batches)
 *   3. pick one: the first best for the objective, or the random arm's draw
 *   4. accept it: always (best, random), or only if it beats the current face
 *      (improve); then next, cur_rgb and *cur_score are the pick's, else
 *      next = cur
 * *chosen is the accepted candidate, or -1 when the search stayed. */
static int study_step(search_ctx_t *ctx, uint32_t seed, int step, const float *cur, float *next, uint8_t *cur_rgb,
                      double *cur_score, const step_bufs_t *c, int *chosen, sal_err_t *err) {
    const search_params_t *p = &ctx->p;
    const int D = ctx->latent_dim, K = p->candidates, R = ctx->net->cfg.img_resolution;
    const size_t per_img = (size_t)3 * R * R;

    /* 1. sample: delta drawn in double like numpy, added in double; one RNG per (rng_seed, seed, step) */
    rng_np_t rng;
    rng_np_seed(&rng, search_step_rng_seed(p->rng_seed, seed, step));
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++) c->cand[(size_t)k * D + d] = (float)((double)cur[d] + ctx->sigma[d] * rng_np_randn(&rng));

    /* 2. score */
    if (render_and_score(ctx, c->cand, K, seed, step, c->rgb, c->score, c->xs, c->ys, err)) return -1;

    /* 3. pick */
    int pick = 0;
    if (p->accept == ACCEPT_RANDOM)
        pick = search_random_choice(p->rng_seed, seed, step, K);
    else
        for (int k = 1; k < K; k++)
            if (beats(p->objective, c->score[k], c->score[pick])) pick = k;

    /* 4. accept */
    const int move = p->accept != ACCEPT_IMPROVE || beats(p->objective, c->score[pick], *cur_score);
    if (move) {
        memcpy(next, c->cand + (size_t)pick * D, sizeof(float) * (size_t)D);
        memcpy(cur_rgb, c->rgb + (size_t)pick * per_img, per_img);
        *cur_score = c->score[pick];
    } else {
        memcpy(next, cur, sizeof(float) * (size_t)D);
    }
    *chosen = move ? pick : -1;
    return 0;
}

/* ---- the gradient step (--method grad) ------------------------------------------ */

/* The noise of --method grad's images: one stream per seed, the one the
 * random search's start image uses, so both methods start from the same face
 * and the objective is one function of the latent. */
static void grad_noise(const search_ctx_t *ctx, uint32_t seed, rng_np_t *noise) {
    rng_np_seed(noise, search_step_rng_seed(ctx->p.rng_seed ^ 0x6e6f6973u, seed, 0)); /* "nois" */
}

/* One white-box evaluation at latent (D): the face into rgb (R, R, 3), its
 * max saliency and salient point (bit for bit what render_and_score gives
 * for this image), and, if want_grad, dL/dlatent into ctx->grad. */
static int grad_eval(search_ctx_t *ctx, const float *latent, const rng_np_t *noise, int want_grad, uint8_t *rgb,
                     float *score, int *x, int *y, sal_err_t *err) {
    const int R = ctx->net->cfg.img_resolution;
    latent_grad_result_t res;
    if (latent_grad_eval(ctx->lg, latent, noise, &res, want_grad ? ctx->grad : NULL, err)) return -1;
    sg2_to_uint8(latent_grad_image(ctx->lg), 1, 3, R, R, rgb);
    *score = res.sal.max_saliency;
    *x = (int)res.sal.point_x; /* saliency_run's integer point */
    *y = (int)res.sal.point_y;
    ctx->t_generate += res.t_forward;
    ctx->t_saliency += res.t_saliency;
    ctx->t_backward += res.t_backward;
    ctx->images++;
    return 0;
}

/* One step of --method grad (search.h), from the current latent cur (D),
 * with g = dL/dcur already in ctx->grad (left by the evaluation of cur):
 *   1. move: next = cur + lr * g / ||g||_2 (minus with --objective min);
 *      next = cur when g = 0 (*zero_grad = 1): nothing to follow
 *   2. project: with --radius R, onto the ball ||next - start||_2 <= R
 *   3. score next (its face into cur_rgb, its max saliency into *cur_score
 *      and c->score[0], its point into c->xs[0], c->ys[0]) and, when another
 *      step follows (want_grad), leave dL/dnext in ctx->grad
 * c->cand[0] = next, the step's one "candidate" for log.csv. */
static int grad_step(search_ctx_t *ctx, const rng_np_t *noise, int want_grad, const float *start, const float *cur,
                     float *next, uint8_t *cur_rgb, double *cur_score, const step_bufs_t *c, int *zero_grad, sal_err_t *err) {
    const search_params_t *p = &ctx->p;
    const int D = ctx->latent_dim;
    const float *g = ctx->grad;

    /* 1. move */
    double norm = 0;
    for (int d = 0; d < D; d++) norm += (double)g[d] * g[d];
    norm = sqrt(norm);
    if (!isfinite(norm)) return sal_errf(err, "the gradient of the objective is not finite");
    *zero_grad = norm == 0;
    if (*zero_grad) {
        memcpy(next, cur, sizeof(float) * (size_t)D);
    } else {
        const double step = (p->objective == OBJECTIVE_MIN ? -ctx->lr : ctx->lr) / norm;
        for (int d = 0; d < D; d++) next[d] = (float)((double)cur[d] + step * g[d]);
    }

    /* 2. project */
    if (p->radius >= 0) search_project_ball(next, start, D, p->radius);

    /* 3. score */
    memcpy(c->cand, next, sizeof(float) * (size_t)D);
    if (grad_eval(ctx, next, noise, want_grad, cur_rgb, &c->score[0], &c->xs[0], &c->ys[0], err)) return -1;
    *cur_score = c->score[0];
    return 0;
}

int search_measure_grad_cost(search_ctx_t *ctx, uint32_t seed, double *cost, double *t_forward, double *t_forward_backward,
                             sal_err_t *err) {
    if (!ctx->lg) return sal_errf(err, "search_measure_grad_cost: not a --method grad context");
    const int D = ctx->latent_dim, R = ctx->net->cfg.img_resolution;
    enum { RUNS = 4 }; /* a warm-up, then 3 timed */
    float *lat = malloc(sizeof(float) * (size_t)D), score;
    uint8_t *rgb = malloc((size_t)3 * R * R);
    int rc = (!lat || !rgb) ? sal_errf(err, "out of memory") : 0, x, y;
    double fwd[RUNS], fb[RUNS];
    rng_np_t noise;
    grad_noise(ctx, seed, &noise);
    /* the measurement is not part of the run's statistics */
    const double tg = ctx->t_generate, ts = ctx->t_saliency, tb = ctx->t_backward;
    const long images = ctx->images;
    if (rc == 0) rc = start_latent(ctx, seed, lat, err);
    for (int i = 0; rc == 0 && i < RUNS; i++) {
        double t0 = sal_now();
        rc = render_and_score(ctx, lat, 1, seed, 0, rgb, &score, &x, &y, err);
        double t1 = sal_now();
        if (rc == 0) rc = latent_grad_eval(ctx->lg, lat, &noise, &(latent_grad_result_t){0}, ctx->grad, err);
        fwd[i] = t1 - t0;
        fb[i] = sal_now() - t1;
    }
    ctx->t_generate = tg, ctx->t_saliency = ts, ctx->t_backward = tb, ctx->images = images;
    free(lat);
    free(rgb);
    if (rc) return rc;
    /* medians of the 3 timed runs (1..3) */
    const double t_fwd = stats_median(fwd + 1, RUNS - 1), t_fb = stats_median(fb + 1, RUNS - 1);
    if (isnan(t_fwd) || isnan(t_fb)) return sal_errf(err, "out of memory");
    if (!(t_fwd > 0)) return sal_errf(err, "cannot time one forward pass (the clock did not move)");
    *cost = t_fb / t_fwd;
    if (t_forward) *t_forward = t_fwd;
    if (t_forward_backward) *t_forward_backward = t_fb;
    return 0;
}

/* ---- one seed ------------------------------------------------------------- */

int search_seed(search_ctx_t *ctx, uint32_t seed, int flags, int *skipped, search_progress_fn progress, void *user,
                sal_err_t *err) {
    const search_params_t *p = &ctx->p;
    const int D = ctx->latent_dim, K = p->candidates, R = ctx->net->cfg.img_resolution;
    const size_t per_img = (size_t)3 * R * R;
    seed_run_t r;
    memset(&r, 0, sizeof r);
    r.seed = seed;
    if (snprintf(r.dir, sizeof r.dir, "%s/seed%04u", p->outdir, seed) >= (int)sizeof r.dir)
        return sal_errf(err, "%s: path too long", p->outdir);
    char path[PATH_LEN], holder[200];
    int rc = 0;
    if (skipped) *skipped = 0;
    /* one process per seed: the lock is taken before the folder is looked at */
    sal_lock_t lock = {.fd = -1};
    snprintf(path, sizeof path, "%s.lock", r.dir); /* DIR/seedNNNN.lock (r.dir is half of PATH_LEN) */
    int lr = sal_lock_take(&lock, path, flags & SEARCH_SEED_WAIT, holder, sizeof holder, err);
    if (lr < 0) return -1;
    if (lr == 1) return sal_errf(err, "seed%04u is being searched by %s (lock file %s)", seed, holder, path), SEARCH_SEED_BUSY;
    const int resume = p->resume || (flags & (SEARCH_SEED_WAIT | SEARCH_SEED_CONTINUE));
    r.latents = malloc(sizeof(float) * (size_t)(p->steps + 1) * (size_t)D);
    float *cand = malloc(sizeof(float) * (size_t)K * (size_t)D);
    uint8_t *rgb = malloc(per_img * (size_t)K), *cur_rgb = malloc(per_img);
    float *score = malloc(sizeof(float) * (size_t)K);
    int *xs = malloc(sizeof(int) * (size_t)K), *ys = malloc(sizeof(int) * (size_t)K);
    if (!r.latents || !cand || !rgb || !cur_rgb || !score || !xs || !ys) {
        rc = sal_errf(err, "out of memory for %d candidates of %dx%d", K, R, R);
        goto done;
    }

    path_in(path, &r, "state.json");
    int have_state = file_exists(path);
    path_in(path, &r, "result.json");
    int have_result = file_exists(path);
    if ((have_state || have_result) && !resume) {
        rc = sal_errf(err, "%s: already holds a search (use --resume to continue it, or another --outdir)", r.dir);
        goto done;
    }
    double cur_score;
    const int grad = p->method == METHOD_GRAD;
    rng_np_t noise; /* --method grad: the seed's noise stream */
    if (grad) grad_noise(ctx, seed, &noise);
    if (have_state) {
        if ((rc = load_state(ctx, &r, err))) goto done;
        if (have_result && r.steps_done == p->steps) { /* finished: skip */
            if (skipped) *skipped = 1;
            goto done;
        }
        /* the current image and score, as saved */
        image_u8_t frame;
        png_info_t info;
        char name[32];
        snprintf(name, sizeof name, "step%02d.png", r.steps_done);
        path_in(path, &r, name);
        if ((rc = png_load(path, &frame, &info, err))) goto done;
        if (frame.width != R || frame.height != R || frame.channels != 3) rc = sal_errf(err, "%s: not a %dx%d RGB frame", path, R, R);
        else memcpy(cur_rgb, frame.pixels, per_img);
        image_free(&frame);
        if (rc) goto done;
        double *cur = malloc(sizeof(double) * (size_t)(r.steps_done + 1));
        if (!cur) { rc = sal_errf(err, "out of memory"); goto done; }
        int best_step;
        current_scores(&r, p->objective, cur, &best_step);
        cur_score = cur[r.steps_done];
        free(cur);
        if (grad && r.steps_done < p->steps) {
            /* the gradient at the saved latent (float32 exact in latents.npy), and a
             * check that this run scores it as the folder did */
            if ((rc = grad_eval(ctx, r.latents + (size_t)r.steps_done * D, &noise, 1, rgb, score, xs, ys, err))) goto done;
            if ((double)score[0] != cur_score) {
                rc = sal_errf(err, "%s: step %d scores %.9g now, %.9g in the folder (made by another version or with other options?); "
                              "delete %s to search seed %u again", r.dir, r.steps_done, (double)score[0], cur_score, r.dir, seed);
                goto done;
            }
        }
    } else {
        if ((rc = sal_mkdir_p(r.dir, err))) goto done;
        if ((rc = start_latent(ctx, seed, r.latents, err))) goto done;
        if (grad) /* the face, its score and (if a step follows) the gradient, in one pass */
            rc = grad_eval(ctx, r.latents, &noise, p->steps > 0, cur_rgb, score, xs, ys, err);
        else
            rc = render_and_score(ctx, r.latents, 1, seed, 0, cur_rgb, score, xs, ys, err);
        if (rc) goto done;
        cur_score = score[0];
        double t0 = sal_now();
        log_row_t row = {0, 0, score[0], xs[0], ys[0], 1, 0.0};
        if ((rc = push_row(&r, row, err)) || (rc = write_frame(ctx, &r, 0, cur_rgb, err)) || (rc = write_latents(ctx, &r, err)) ||
            (rc = write_log(&r, err)) || (rc = write_state(&r, err)))
            goto done;
        ctx->t_write += sal_now() - t0;
    }
    if (progress) progress(user, seed, r.steps_done, p->steps, (float)cur_score, ctx);

    const float *start = r.latents;
    step_bufs_t c = {cand, rgb, score, xs, ys};
    for (int step = r.steps_done + 1; step <= p->steps; step++) {
        const float *cur = r.latents + (size_t)(step - 1) * D;
        float *next = r.latents + (size_t)step * D;
        int chosen = 0, zero_grad = 0;
        if (grad) rc = grad_step(ctx, &noise, step < p->steps, start, cur, next, cur_rgb, &cur_score, &c, &zero_grad, err);
        else rc = study_step(ctx, seed, step, cur, next, cur_rgb, &cur_score, &c, &chosen, err);
        if (rc) goto done;
        ctx->zero_grad_steps += zero_grad;
        double t0 = sal_now();
        for (int k = 0; k < K; k++) {
            log_row_t row = {step, k, score[k], xs[k], ys[k], k == chosen, l2_distance(cand + (size_t)k * D, start, D)};
            if ((rc = push_row(&r, row, err))) goto done;
        }
        r.steps_done = step;
        /* the resume point is state.json, written last */
        if ((rc = write_frame(ctx, &r, step, cur_rgb, err)) || (rc = write_latents(ctx, &r, err)) || (rc = write_log(&r, err)) ||
            (rc = write_state(&r, err)))
            goto done;
        ctx->t_write += sal_now() - t0;
        if (progress) progress(user, seed, step, p->steps, (float)cur_score, ctx);
    }
    {
        double t0 = sal_now();
        rc = write_results(ctx, &r, err);
        ctx->t_write += sal_now() - t0;
    }
done:
    sal_lock_release(&lock);
    free(r.latents);
    free(r.rows);
    free(cand);
    free(rgb);
    free(cur_rgb);
    free(score);
    free(xs);
    free(ys);
    return rc;
}

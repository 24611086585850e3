/* direction.c — the population saliency direction: the regression samples
 * regenerated from random-search folders, the ridge solve (Cholesky in
 * double), the mean of unit gradients and the bootstrap (see direction.h). */
#include "direction.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "npy.h"
#include "report.h"
#include "rng.h"
#include "search.h"

#define PATH_LEN 4096

double direction_norm(const double *v, int D) {
    double s = 0;
    for (int i = 0; i < D; i++) s += v[i] * v[i];
    return sqrt(s);
}

double direction_cosine(const double *a, const double *b, int D) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < D; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

void direction_draw_candidates(uint32_t rng_seed, uint32_t seed, int step, const float *cur, const double *sigma,
                               int K, int D, float *cand) {
    rng_np_t rng;
    rng_np_seed(&rng, search_step_rng_seed(rng_seed, seed, step));
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++) cand[(size_t)k * D + d] = (float)((double)cur[d] + sigma[d] * rng_np_randn(&rng));
}

/* ---- samples ---------------------------------------------------------------- */

void direction_samples_init(direction_samples_t *s, int D) {
    memset(s, 0, sizeof *s);
    s->D = D;
}

static void group_free(direction_group_t *g) {
    free(g->sx);
    free(g->xtx);
    free(g->xty);
    free(g->start);
}

void direction_samples_free(direction_samples_t *s) {
    for (int i = 0; i < s->n_groups; i++) group_free(&s->groups[i]);
    free(s->groups);
    memset(s, 0, sizeof *s);
}

/* A new, zeroed group for seed (refused if the seed is already there). */
static direction_group_t *group_new(direction_samples_t *s, uint32_t seed, sal_err_t *err) {
    for (int i = 0; i < s->n_groups; i++)
        if (s->groups[i].seed == seed) {
            sal_errf(err, "seed %u appears in two search folders; give each seed once", seed);
            return NULL;
        }
    if (s->n_groups == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        direction_group_t *g = realloc(s->groups, sizeof *g * (size_t)cap);
        if (!g) {
            sal_errf(err, "out of memory");
            return NULL;
        }
        s->groups = g;
        s->cap = cap;
    }
    const size_t D = (size_t)s->D;
    if (D * D > ((size_t)1 << 27)) {   // 1 GiB of doubles per seed
        sal_errf(err, "the regression needs a %zu x %zu matrix per seed; use --space w (or z)", D, D);
        return NULL;
    }
    direction_group_t *g = &s->groups[s->n_groups];
    memset(g, 0, sizeof *g);
    g->seed = seed;
    g->sx = calloc(D, sizeof(double));
    g->xtx = calloc(D * D, sizeof(double));
    g->xty = calloc(D, sizeof(double));
    g->start = calloc(D, sizeof(float));
    if (!g->sx || !g->xtx || !g->xty || !g->start) {
        group_free(g);
        sal_errf(err, "out of memory for the regression (%zu x %zu per seed)", D, D);
        return NULL;
    }
    s->n_groups++;
    return g;
}

/* Adds one sample dx (D, as double), dy to a group: the upper triangle of dx dx^T. */
static void group_add(direction_group_t *g, int D, const double *dx, double dy) {
    g->n++;
    g->sy += dy;
    for (int i = 0; i < D; i++) {
        g->sx[i] += dx[i];
        g->xty[i] += dx[i] * dy;
        double *row = g->xtx + (size_t)i * D;
        const double xi = dx[i];
        for (int j = i; j < D; j++) row[j] += xi * dx[j];
    }
}

int direction_samples_add(direction_samples_t *s, uint32_t seed, const float *dx, const double *dy, int n,
                          sal_err_t *err) {
    direction_group_t *g = group_new(s, seed, err);
    if (!g) return -1;
    double *row = malloc(sizeof(double) * (size_t)s->D);
    if (!row) return sal_errf(err, "out of memory");
    for (int k = 0; k < n; k++) {
        for (int d = 0; d < s->D; d++) row[d] = dx[(size_t)k * s->D + d];
        group_add(g, s->D, row, dy[k]);
    }
    free(row);
    s->n_rows += n;
    return 0;
}

/* ---- reading a search folder ---------------------------------------------- */

int direction_read_search_info(const char *dir, direction_search_info_t *info, sal_err_t *err) {
    char path[PATH_LEN + 32];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return sal_errf(err, "%s: no such search folder", dir);
    snprintf(path, sizeof path, "%s/run.json", dir);
    if (stat(path, &st) != 0) return sal_errf(err, "%s: not a salient search folder (no run.json)", dir);
    json_t j;
    if (json_load(path, &j, err) < 0) return -1;
    int rc = 0;
    memset(info, 0, sizeof *info);
    const char *need[] = {"steps", "candidates", "sigma", "space", "trunc", "trunc_cutoff", "noise_mode", "accept", "rng_seed"};
    for (size_t i = 0; rc == 0 && i < sizeof need / sizeof need[0]; i++)
        if (!json_get(&j, need[i])) rc = sal_errf(err, "%s: has no \"%s\" (not a run file of salient search?)", path, need[i]);
    if (rc == 0) {
        info->steps = (int)json_num(&j, "steps", 0);
        info->candidates = (int)json_num(&j, "candidates", 0);
        info->sigma = json_num(&j, "sigma", 0);
        snprintf(info->sigma_file, sizeof info->sigma_file, "%s", json_str(&j, "sigma_file", ""));
        const char *sp = json_str(&j, "space", "");
        info->space = !strcmp(sp, "z") ? 0 : !strcmp(sp, "w") ? 1 : !strcmp(sp, "w+") ? 2 : -1;
        info->psi = json_num(&j, "trunc", 1);
        info->trunc_cutoff = (int)json_num(&j, "trunc_cutoff", -1);
        info->noise_mode = (int)json_num(&j, "noise_mode", 0);
        snprintf(info->accept, sizeof info->accept, "%s", json_str(&j, "accept", ""));
        info->rng_seed = (uint32_t)json_num(&j, "rng_seed", 0);
        info->fast = (int)json_num(&j, "fast", 0);
        if (strcmp(json_str(&j, "method", "random"), "random") != 0)
            rc = sal_errf(err, "%s: a --method %s search; the regression needs the random search's candidates (--method random)",
                          path, json_str(&j, "method", ""));
        else if (info->space < 0) rc = sal_errf(err, "%s: unknown space '%s'", path, sp);
        else if (info->steps < 1 || info->candidates < 1) rc = sal_errf(err, "%s: steps and candidates must be >= 1", path);
    }
    json_free(&j);
    return rc;
}

static int info_same(const direction_search_info_t *a, const direction_search_info_t *b) {
    return a->space == b->space && a->sigma == b->sigma && !strcmp(a->sigma_file, b->sigma_file) && a->psi == b->psi &&
           a->trunc_cutoff == b->trunc_cutoff && a->noise_mode == b->noise_mode;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The seeds of dir's seedNNNN folders, sorted. */
static int list_seeds(const char *dir, uint32_t **out, int *n_out, sal_err_t *err) {
    DIR *d = opendir(dir);
    if (!d) return sal_errf(err, "%s: cannot open the folder", dir);
    uint32_t *seeds = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        uint32_t v;
        if (report_seed_folder(name, &v)) continue;   // not seed0003.lock etc.
        char path[PATH_LEN + 300];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            uint32_t *t = realloc(seeds, sizeof *t * (size_t)cap);
            if (!t) {
                rc = sal_errf(err, "out of memory");
                break;
            }
            seeds = t;
        }
        seeds[n++] = (uint32_t)v;
    }
    closedir(d);
    if (rc < 0) {
        free(seeds);
        return -1;
    }
    if (n) qsort(seeds, (size_t)n, sizeof *seeds, cmp_u32);
    *out = seeds;
    *n_out = n;
    return 0;
}

/* One log.csv row. */
typedef struct log_row {
    int step, cand, chosen;
    double score;
} log_row_t;

static int read_log(const char *path, int steps, int K, log_row_t *rows, sal_err_t *err) {
    uint8_t *text = NULL;
    size_t size = 0;
    if (sal_read_file(path, (size_t)1 << 30, &text, &size, err) < 0) return -1;
    const int want = 1 + steps * K;
    int n = 0, line = 0, rc = 0;
    char *p = (char *)text, *end = p + size;
    while (p < end && rc == 0) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        line++;
        if (line > 1 && nl > p) {
            char buf[256];
            size_t len = (size_t)(nl - p) < sizeof buf - 1 ? (size_t)(nl - p) : sizeof buf - 1;
            memcpy(buf, p, len);
            buf[len] = 0;
            log_row_t r;
            double x, y, dist;
            if (sscanf(buf, "%d,%d,%lf,%lf,%lf,%d,%lf", &r.step, &r.cand, &r.score, &x, &y, &r.chosen, &dist) != 7)
                rc = sal_errf(err, "%s: line %d: expected step,candidate,max_saliency,x,y,chosen,distance", path, line);
            else if (n >= want)
                rc = sal_errf(err, "%s: more rows than 1 + steps x candidates = %d", path, want);
            else {
                int es = n == 0 ? 0 : 1 + (n - 1) / K, ec = n == 0 ? 0 : (n - 1) % K;
                if (r.step != es || r.cand != ec || !isfinite(r.score))
                    rc = sal_errf(err, "%s: line %d: expected step %d candidate %d with a finite score", path, line, es, ec);
                rows[n++] = r;
            }
        }
        p = nl + 1;
    }
    free(text);
    if (rc == 0 && n != want) rc = sal_errf(err, "%s: %d rows, expected 1 + %d x %d (is the seed finished?)", path, n, steps, K);
    return rc;
}

static int load_sigma(const direction_search_info_t *info, const char *dir, int D, double *sigma, sal_err_t *err) {
    if (!info->sigma_file[0]) {
        for (int i = 0; i < D; i++) sigma[i] = info->sigma;
        return 0;
    }
    npy_array_t a;
    if (npy_load(info->sigma_file, &a, err) < 0)
        return sal_errf(err, "%s: the sigma file %s of this search cannot be read (run from where the search ran)", dir,
                        info->sigma_file);
    int64_t n = 1;
    for (int i = 0; i < a.ndim; i++) n *= a.shape[i];
    int rc = 0;
    if (n != D || (a.dtype != DT_F32 && a.dtype != DT_F64)) rc = sal_errf(err, "%s: expected %d float values", info->sigma_file, D);
    for (int i = 0; rc == 0 && i < D; i++)
        sigma[i] = a.dtype == DT_F32 ? (double)((const float *)a.data)[i] : ((const double *)a.data)[i];
    npy_free(&a);
    return rc;
}

/* One finished seed folder: its candidates, checked against latents.npy. */
static int add_seed(direction_samples_t *s, const char *sdir, uint32_t seed, const double *sigma, float *cand,
                    double *dx, log_row_t *rows, sal_err_t *err) {
    const direction_search_info_t *info = &s->info;
    const int D = s->D, K = info->candidates, T = info->steps;
    char path[PATH_LEN + 64];
    snprintf(path, sizeof path, "%s/latents.npy", sdir);
    npy_array_t lat;
    if (npy_load(path, &lat, err) < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < lat.ndim; i++) n *= lat.shape[i];
    int rc = 0;
    if (lat.dtype != DT_F32 || lat.ndim < 2 || lat.shape[0] != T + 1 || n != (int64_t)(T + 1) * D)
        rc = sal_errf(err, "%s: expected float32 (%d, %d): the latents of %d steps in a %d-dimensional space (another network?)",
                      path, T + 1, D, T, D);
    snprintf(path, sizeof path, "%s/log.csv", sdir);
    if (rc == 0) rc = read_log(path, T, K, rows, err);
    direction_group_t *g = rc == 0 ? group_new(s, seed, err) : NULL;
    if (rc == 0 && !g) rc = -1;
    if (rc == 0) {
        const float *L = lat.data;
        memcpy(g->start, L, sizeof(float) * (size_t)D);
        g->start_score = rows[0].score;
        double cur_score = rows[0].score;
        for (int t = 1; rc == 0 && t <= T; t++) {
            const float *cur = L + (size_t)(t - 1) * D, *next = L + (size_t)t * D;
            direction_draw_candidates(info->rng_seed, seed, t, cur, sigma, K, D, cand);
            const log_row_t *r = rows + 1 + (size_t)(t - 1) * K;
            int chosen = -1;
            for (int k = 0; k < K; k++)
                if (r[k].chosen) chosen = k;
            const float *expect = chosen >= 0 ? cand + (size_t)chosen * D : cur;
            if (memcmp(expect, next, sizeof(float) * (size_t)D) != 0) {
                rc = sal_errf(err, "%s/latents.npy: step %d is not the candidate the search drew from run.json's options "
                                   "(rng_seed %u, sigma): the folder was changed, or made by another version",
                              sdir, t, info->rng_seed);
                break;
            }
            for (int k = 0; k < K; k++) {
                for (int d = 0; d < D; d++) dx[d] = (double)cand[(size_t)k * D + d] - (double)cur[d];
                group_add(g, D, dx, r[k].score - cur_score);
            }
            s->n_rows += K;
            if (chosen >= 0) cur_score = r[chosen].score;
        }
    }
    npy_free(&lat);
    return rc;
}

int direction_samples_add_folder(direction_samples_t *s, const char *dir, int (*keep)(uint32_t seed, void *user),
                                 void *user, sal_err_t *err) {
    direction_search_info_t info;
    if (direction_read_search_info(dir, &info, err) < 0) return -1;
    if (s->have_info && !info_same(&info, &s->info))
        return sal_errf(err, "%s: searched with other settings (space, sigma, trunc or noise) than the first folder", dir);
    if (!s->have_info) {
        s->info = info;
        s->have_info = 1;
    }
    direction_search_info_t keep_info = s->info;
    s->info = info;   // this folder's own steps, K and rng_seed while it is read
    uint32_t *seeds = NULL;
    int n_seeds = 0, rc = 0;
    const int D = s->D, K = info.candidates;
    double *sigma = malloc(sizeof(double) * (size_t)D), *dx = malloc(sizeof(double) * (size_t)D);
    float *cand = malloc(sizeof(float) * (size_t)K * (size_t)D);
    log_row_t *rows = malloc(sizeof *rows * ((size_t)info.steps * K + 1));
    if (!sigma || !dx || !cand || !rows) rc = sal_errf(err, "out of memory");
    if (rc == 0) rc = load_sigma(&info, dir, D, sigma, err);
    if (rc == 0) rc = list_seeds(dir, &seeds, &n_seeds, err);
    for (int i = 0; rc == 0 && i < n_seeds; i++) {
        if (keep && !keep(seeds[i], user)) continue;
        char sdir[PATH_LEN], path[PATH_LEN + 64];
        snprintf(sdir, sizeof sdir, "%s/seed%04u", dir, seeds[i]);
        snprintf(path, sizeof path, "%s/result.json", sdir);
        struct stat st;
        if (stat(path, &st) != 0) {
            s->skipped_unfinished++;
            continue;
        }
        rc = add_seed(s, sdir, seeds[i], sigma, cand, dx, rows, err);
    }
    s->info = keep_info;
    free(seeds);
    free(sigma);
    free(dx);
    free(cand);
    free(rows);
    return rc;
}

/* ---- the estimates ---------------------------------------------------------- */

int direction_cholesky_solve(double *A, const double *r, int D, double *x, sal_err_t *err) {
    // A = U^T U with U upper triangular, stored in A's upper triangle
    for (int i = 0; i < D; i++) {
        double *Ai = A + (size_t)i * D;
        for (int k = 0; k < i; k++) {
            const double u = A[(size_t)k * D + i];
            const double *Ak = A + (size_t)k * D;
            for (int j = i; j < D; j++) Ai[j] -= u * Ak[j];
        }
        if (!(Ai[i] > 0) || !isfinite(Ai[i])) return sal_errf(err, "the regression matrix is not positive definite (pivot %d)", i);
        const double piv = sqrt(Ai[i]);
        for (int j = i; j < D; j++) Ai[j] /= piv;
    }
    // U^T v = r (forward), then U x = v (backward)
    for (int i = 0; i < D; i++) {
        double v = r[i];
        for (int k = 0; k < i; k++) v -= A[(size_t)k * D + i] * x[k];
        x[i] = v / A[(size_t)i * D + i];
    }
    for (int i = D - 1; i >= 0; i--) {
        double v = x[i];
        for (int j = i + 1; j < D; j++) v -= A[(size_t)i * D + j] * x[j];
        x[i] = v / A[(size_t)i * D + i];
    }
    return 0;
}

int direction_ridge(const direction_samples_t *s, const int *weight, double ridge, double *b, sal_err_t *err) {
    const int D = s->D;
    double *A = calloc((size_t)D * D, sizeof(double)), *c = calloc((size_t)D, sizeof(double)),
           *mx = calloc((size_t)D, sizeof(double));
    if (!A || !c || !mx) {
        free(A);
        free(c);
        free(mx);
        return sal_errf(err, "out of memory");
    }
    double N = 0, sy = 0;
    for (int g = 0; g < s->n_groups; g++) {
        const double w = weight ? weight[g] : 1;
        if (w == 0) continue;
        const direction_group_t *G = &s->groups[g];
        N += w * G->n;
        sy += w * G->sy;
        for (int i = 0; i < D; i++) {
            mx[i] += w * G->sx[i];
            c[i] += w * G->xty[i];
            for (int j = i; j < D; j++) A[(size_t)i * D + j] += w * G->xtx[(size_t)i * D + j];
        }
    }
    int rc = 0;
    if (N < 2) rc = sal_errf(err, "the regression needs at least 2 candidates (have %.0f)", N);
    if (rc == 0) {
        // centre: sum (x - mx)(x - mx)^T = sum x x^T - N mx mx^T, likewise for x y
        for (int i = 0; i < D; i++) mx[i] /= N;
        const double my = sy / N;
        double tr = 0;
        for (int i = 0; i < D; i++) {
            c[i] -= N * mx[i] * my;
            for (int j = i; j < D; j++) A[(size_t)i * D + j] -= N * mx[i] * mx[j];
            tr += A[(size_t)i * D + i];
        }
        const double lambda = ridge * tr / D;
        for (int i = 0; i < D; i++) A[(size_t)i * D + i] += lambda;
        rc = direction_cholesky_solve(A, c, D, b, err);
    }
    free(A);
    free(c);
    free(mx);
    return rc;
}

int direction_mean_unit(const float *g, int n, int D, const int *weight, double *out, sal_err_t *err) {
    for (int d = 0; d < D; d++) out[d] = 0;
    double total = 0;
    for (int i = 0; i < n; i++) {
        const double w = weight ? weight[i] : 1;
        if (w == 0) continue;
        const float *row = g + (size_t)i * D;
        double ss = 0;
        for (int d = 0; d < D; d++) ss += (double)row[d] * row[d];
        const double norm = sqrt(ss);
        if (!(norm > 0) || !isfinite(norm)) return sal_errf(err, "gradient %d is zero or not finite", i);
        for (int d = 0; d < D; d++) out[d] += w * row[d] / norm;
        total += w;
    }
    if (total <= 0) return sal_errf(err, "no gradients to average");
    for (int d = 0; d < D; d++) out[d] /= total;
    return 0;
}

void direction_bootstrap_counts(uint32_t seed, int n, int *counts) {
    rng_np_t rng;
    rng_np_seed(&rng, seed);
    for (int i = 0; i < n; i++) counts[i] = 0;
    if (n <= 0) return;
    uint32_t mask = (uint32_t)(n - 1);
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    for (int i = 0; i < n; i++) {
        uint32_t v;
        do v = rng_np_u32(&rng) & mask;
        while (v > (uint32_t)(n - 1));
        counts[v]++;
    }
}

/* analysis.c — loading search folders, measuring every seed's faces, the
 * statistics and the CSV/JSON outputs of `salient analyze` (see analysis.h). */
#include "analysis.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "npy.h"
#include "png.h"
#include "report.h"
#include "stats.h"

const attr_def_t ANALYSIS_ATTRS[A_COUNT] = {
    {"max_saliency", "max saliency", ATTR_IMAGE, 0},
    {"skin_L", "skin L*", ATTR_IMAGE, 0},
    {"skin_ita", "skin ITA (deg)", ATTR_IMAGE, 0},
    {"skin_hue", "skin hue h_ab (deg)", ATTR_IMAGE, 1},
    {"skin_b", "skin b* (warmth)", ATTR_IMAGE, 0},
    {"skin_chroma", "skin chroma C*ab", ATTR_IMAGE, 0},
    {"skin_texture", "skin texture (L* high-pass RMS)", ATTR_IMAGE, 0},
    {"skin_share", "skin share of the zones", ATTR_IMAGE, 0},
    {"face_brightness", "face brightness (mean L*)", ATTR_IMAGE, 0},
    {"face_contrast", "face contrast (sd of L*)", ATTR_IMAGE, 0},
    {"delta_e_face", "mean Delta E inside the face", ATTR_CHANGE_ONLY, 0},
    {"delta_e_outside", "mean Delta E outside the face", ATTR_CHANGE_ONLY, 0},
    {"delta_e_face_minus_outside", "Delta E face minus outside", ATTR_CHANGE_ONLY, 0},
    {"latent_distance", "distance moved in the latent", ATTR_CHANGE_ONLY, 0},
};

/* ---- folders ---- */

typedef struct seed_folder {
    uint32_t seed;
    char name[32];
} seed_folder_t;

static int cmp_seed_folder(const void *a, const void *b) {
    const seed_folder_t *x = a, *y = b;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

/* The finished seed folders of dir (those with result.json), sorted. */
static int list_seeds(const char *dir, seed_folder_t **out, int *n_out, sal_err_t *err) {
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d) return sal_errf(err, "%s: cannot open the folder", dir);
    seed_folder_t *v = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint32_t s;
        if (report_seed_folder(de->d_name, &s)) continue;
        char path[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/result.json", dir, de->d_name);
        if (stat(path, &st) != 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            seed_folder_t *nv = realloc(v, sizeof *v * (size_t)cap);
            if (!nv) {
                free(v);
                closedir(d);
                return sal_errf(err, "out of memory");
            }
            v = nv;
        }
        v[n].seed = s;
        snprintf(v[n].name, sizeof v[n].name, "%.20s", de->d_name); /* <= 14 chars, checked above */
        n++;
    }
    closedir(d);
    if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_seed_folder);
    *out = v;
    *n_out = n;
    return 0;
}

/* run.json as "key=value key=value ..." (every member, in file order). */
static int load_run_options(const char *dir, char *buf, size_t len, json_t *run, sal_err_t *err) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/run.json", dir);
    if (stat(path, &st) != 0) return sal_errf(err, "%s: not a salient search folder (no run.json)", dir);
    if (json_load(path, run, err)) return -1;
    if (run->type != JSON_OBJECT) {
        json_free(run);
        return sal_errf(err, "%s: not a salient run file", path);
    }
    buf[0] = 0;
    for (int i = 0; i < run->n; i++) {
        char item[256];
        const json_t *v = &run->items[i];
        if (v->type == JSON_NUMBER) snprintf(item, sizeof item, "%s=%g", run->keys[i], v->num);
        else if (v->type == JSON_STRING) snprintf(item, sizeof item, "%s=%s", run->keys[i], v->str);
        else if (v->type == JSON_BOOL) snprintf(item, sizeof item, "%s=%s", run->keys[i], v->num ? "true" : "false");
        else continue;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? " " : "", item);
    }
    return 0;
}

/* The run.json members whose value differs between the arms. */
static void describe_differences(arm_t *arms, const json_t *runs, int n_arms) {
    for (int a = 0; a < n_arms; a++) {
        char *buf = arms[a].differs;
        size_t len = sizeof arms[a].differs;
        buf[0] = 0;
        const json_t *r = &runs[a];
        for (int i = 0; i < r->n; i++) {
            const json_t *v = &r->items[i];
            int differs = 0;
            for (int b = 0; b < n_arms && !differs; b++) {
                if (b == a) continue;
                const json_t *w = json_get(&runs[b], r->keys[i]);
                if (!w || w->type != v->type) differs = 1;
                else if (v->type == JSON_STRING) differs = strcmp(v->str, w->str) != 0;
                else if (v->type == JSON_NUMBER || v->type == JSON_BOOL) differs = v->num != w->num;
            }
            if (!differs) continue;
            char item[256];
            if (v->type == JSON_STRING) snprintf(item, sizeof item, "%s=%s", r->keys[i], v->str);
            else if (v->type == JSON_NUMBER || v->type == JSON_BOOL) snprintf(item, sizeof item, "%s=%g", r->keys[i], v->num);
            else continue;
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "%s%s", used ? " " : "", item);
        }
        /* members only the other arms have (e.g. a newer option) */
        for (int b = 0; b < n_arms; b++) {
            if (b == a) continue;
            for (int i = 0; i < runs[b].n; i++)
                if (!json_get(r, runs[b].keys[i]) && !strstr(buf, runs[b].keys[i])) {
                    size_t used = strlen(buf);
                    /* run.json holds "objective" only when it is not the default (max) */
                    const char *dflt = !strcmp(runs[b].keys[i], "objective") ? "max" : "(absent)";
                    snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", runs[b].keys[i], dflt);
                }
        }
        if (!buf[0]) snprintf(buf, len, "%s", n_arms == 1 ? arms[a].options : "same options");
    }
}

/* ---- one seed ---- */

/* Current salient point after each step, from log.csv: the step-0 row, then
 * the chosen row of each step (a step without a chosen row keeps the point). */
static int load_salient_points(const char *path, int steps, int *px, int *py, sal_err_t *err) {
    uint8_t *data;
    size_t size;
    if (sal_read_file(path, 256u << 20, &data, &size, err)) return -1;
    const char *header = "step,candidate,max_saliency,x,y,chosen";
    if (strncmp((const char *)data, header, strlen(header)) != 0) {
        free(data);
        return sal_errf(err, "%s: not a salient search log (header)", path);
    }
    for (int t = 0; t <= steps; t++) px[t] = py[t] = -1;
    char *line = strchr((char *)data, '\n');
    int rc = 0, lineno = 1;
    while (line && *++line) {
        lineno++;
        int step, cand, x, y, chosen;
        double score;
        if (sscanf(line, "%d,%d,%lf,%d,%d,%d", &step, &cand, &score, &x, &y, &chosen) != 6 || step < 0 ||
            step > steps) {
            rc = sal_errf(err, "%s: line %d: not a log row", path, lineno);
            break;
        }
        if (chosen == 1) {
            px[step] = x;
            py[step] = y;
        }
        line = strchr(line, '\n');
    }
    free(data);
    if (rc) return rc;
    if (px[0] < 0) return sal_errf(err, "%s: no row for the original face (step 0)", path);
    for (int t = 1; t <= steps; t++)
        if (px[t] < 0) px[t] = px[t - 1], py[t] = py[t - 1];
    return 0;
}

static double wrap_angle(double d) {
    while (d > 180.0) d -= 360.0;
    while (d <= -180.0) d += 360.0;
    return d;
}

static void attrs_to_array(const image_attrs_t *a, double max_saliency, double v[A_COUNT]) {
    for (int i = 0; i < A_COUNT; i++) v[i] = NAN;
    v[A_MAX_SALIENCY] = max_saliency;
    v[A_SKIN_L] = a->skin_L;
    v[A_SKIN_ITA] = a->skin_ita;
    v[A_SKIN_HUE] = a->skin_hue;
    v[A_SKIN_B] = a->skin_b;
    v[A_SKIN_CHROMA] = a->skin_chroma;
    v[A_SKIN_TEXTURE] = a->skin_texture;
    v[A_SKIN_SHARE] = a->skin_share;
    v[A_FACE_BRIGHTNESS] = a->face_brightness;
    v[A_FACE_CONTRAST] = a->face_contrast;
}

static void csv_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, ",%.9g", v);
    else fputs(",", f);
}

static int measure_seed(arm_t *arm, const char *dir, const char *folder, seed_measure_t *m, FILE *steps_csv,
                        sal_err_t *err) {
    char path[4300];
    json_t res;
    snprintf(path, sizeof path, "%s/%s/result.json", dir, folder);
    if (json_load(path, &res, err)) return -1;
    const json_t *params = json_get(&res, "parameters"), *per_step = json_get(&res, "max_saliency_per_step");
    if (!params || !per_step || per_step->type != JSON_ARRAY || !json_get(params, "steps")) {
        json_free(&res);
        return sal_errf(err, "%s: not a salient result file", path);
    }
    int steps = (int)json_num(params, "steps", -1);
    if (steps < 0 || steps > 100000 || per_step->n != steps + 1) {
        json_free(&res);
        return sal_errf(err, "%s: max_saliency_per_step does not have steps + 1 values", path);
    }
    double *sal = malloc(sizeof *sal * (size_t)(steps + 1));
    int *px = malloc(sizeof *px * (size_t)(steps + 1) * 2);
    if (!sal || !px) {
        free(sal), free(px);
        json_free(&res);
        return sal_errf(err, "out of memory");
    }
    int *py = px + steps + 1;
    for (int t = 0; t <= steps; t++) sal[t] = per_step->items[t].type == JSON_NUMBER ? per_step->items[t].num : NAN;
    json_free(&res);
    m->steps = steps;

    int rc = 0;
    snprintf(path, sizeof path, "%s/%s/log.csv", dir, folder);
    rc = load_salient_points(path, steps, px, py, err);

    npy_array_t lat = {0};
    int64_t row = 0;
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/%s/latents.npy", dir, folder);
        rc = npy_load_f32(path, &lat, err);
        if (rc == 0) {
            row = 1;
            for (int k = 1; k < lat.ndim; k++) row *= lat.shape[k];
            if (lat.ndim < 2 || lat.shape[0] != steps + 1 || row <= 0)
                rc = sal_errf(err, "%s: expected %d rows (steps + 1)", path, steps + 1);
        }
    }

    image_u8_t first = {0}, cur = {0};
    double v0[A_COUNT];
    for (int t = 0; t <= steps && rc == 0; t++) {
        snprintf(path, sizeof path, "%s/%s/step%02d.png", dir, folder, t);
        image_u8_t *img = t == 0 ? &first : &cur;
        if (t > 0) image_free(&cur);
        if (png_load(path, img, NULL, err)) {
            rc = -1;
            break;
        }
        if (img->channels != 3) {
            rc = sal_errf(err, "%s: expected an RGB image", path);
            break;
        }
        if (t == 0 && arm->img_w == 0) arm->img_w = img->width, arm->img_h = img->height;
        if (img->width != arm->img_w || img->height != arm->img_h) {
            rc = sal_errf(err, "%s: %dx%d, other faces of this folder are %dx%d", path, img->width, img->height,
                          arm->img_w, arm->img_h);
            break;
        }
        image_attrs_t at;
        if (image_measure(img->pixels, img->width, img->height, &at, NULL, err)) {
            rc = sal_err_prefix(err, "%s", path);
            break;
        }
        double v[A_COUNT];
        attrs_to_array(&at, sal[t], v);
        double de_in = 0, de_out = 0;
        if (t > 0) image_mean_delta_e(first.pixels, img->pixels, img->width, img->height, &de_in, &de_out, err);
        const float *l0 = lat.data, *lt = (const float *)lat.data + (size_t)t * (size_t)row;
        double dist2 = 0;
        for (int64_t k = 0; k < row; k++) {
            double d = (double)lt[k] - (double)l0[k];
            dist2 += d * d;
        }
        v[A_DELTA_E_FACE] = de_in;
        v[A_DELTA_E_OUTSIDE] = de_out;
        v[A_DELTA_E_FACE_MINUS_OUTSIDE] = de_in - de_out;
        v[A_LATENT_DISTANCE] = sqrt(dist2);
        face_region_t region = face_region_of((px[t] + 0.5) / img->width, (py[t] + 0.5) / img->height);
        fprintf(steps_csv, "%s,%u,%d", arm->label, m->seed, t);
        for (int i = 0; i < A_COUNT; i++) csv_num(steps_csv, v[i]);
        fprintf(steps_csv, ",%d,%d,%s\n", px[t], py[t], face_region_name(region));
        if (t == 0) {
            memcpy(v0, v, sizeof v0);
            m->region_first = region;
        }
        if (t == steps) {
            for (int i = 0; i < A_COUNT; i++) {
                const attr_def_t *d = &ANALYSIS_ATTRS[i];
                if (d->kind == ATTR_CHANGE_ONLY) {
                    m->first[i] = m->final[i] = NAN;
                    m->change[i] = v[i];
                } else {
                    m->first[i] = v0[i];
                    m->final[i] = v[i];
                    m->change[i] = d->angle ? wrap_angle(v[i] - v0[i]) : v[i] - v0[i];
                }
            }
            m->region_final = region;
        }
    }
    image_free(&first);
    image_free(&cur);
    npy_free(&lat);
    free(sal);
    free(px);
    return rc;
}

/* ---- statistics ---- */

/* A distinct, fixed RNG stream per (attribute, arm, purpose). */
static uint32_t stream_seed(uint32_t base, int attr, int arm, int purpose) {
    uint64_t x = ((uint64_t)base << 32) ^ (uint64_t)(attr * 1024 + arm * 8 + purpose + 1);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return (uint32_t)x;
}

static int summarise(const double *x, int n, const analysis_opts_t *o, int attr, int arm, stat_summary_t *s) {
    memset(s, 0, sizeof *s);
    s->n = n;
    s->mean = s->mean_lo = s->mean_hi = s->median = s->median_lo = s->median_hi = s->share_up = s->p = NAN;
    if (n == 0) return 0;
    int up = 0;
    for (int i = 0; i < n; i++) up += x[i] > 0;
    s->share_up = (double)up / n;
    s->mean = stats_mean(x, n);
    s->median = stats_median(x, n);
    if (stats_bootstrap_ci(x, n, STATS_MEAN, o->bootstrap, 0.95, stream_seed(o->rng_seed, attr, arm, 0), &s->mean_lo,
                           &s->mean_hi) ||
        stats_bootstrap_ci(x, n, STATS_MEDIAN, o->bootstrap, 0.95, stream_seed(o->rng_seed, attr, arm, 1),
                           &s->median_lo, &s->median_hi) ||
        stats_sign_flip_p(x, n, o->permutations, stream_seed(o->rng_seed, attr, arm, 2), &s->p))
        return -1;
    return 0;
}

static int compute_stats(analysis_t *an, sal_err_t *err) {
    double *x = malloc(sizeof *x * (size_t)(an->n_seeds > 0 ? an->n_seeds : 1));
    if (!x) return sal_errf(err, "out of memory");
    for (int a = 0; a < an->n_arms; a++) {
        arm_t *arm = &an->arms[a];
        for (int i = 0; i < A_COUNT; i++) {
            int n = 0;
            for (int s = 0; s < an->n_seeds; s++)
                if (isfinite(arm->seeds[s].change[i])) x[n++] = arm->seeds[s].change[i];
            if (summarise(x, n, &an->opts, i, a, &arm->stats[i])) goto oom;
        }
        for (int s = 0; s < an->n_seeds; s++) {
            arm->region_counts[0][arm->seeds[s].region_first]++;
            arm->region_counts[1][arm->seeds[s].region_final]++;
        }
    }
    for (int b = 1; b < an->n_arms; b++)
        for (int i = 0; i < A_COUNT; i++) {
            int n = 0;
            for (int s = 0; s < an->n_seeds; s++) {
                double ca = an->arms[0].seeds[s].change[i], cb = an->arms[b].seeds[s].change[i];
                if (isfinite(ca) && isfinite(cb)) x[n++] = ca - cb;
            }
            diff_summary_t *d = &an->diffs[b - 1][i];
            d->n = n;
            d->mean = d->lo = d->hi = d->p = NAN;
            if (n == 0) continue;
            d->mean = stats_mean(x, n);
            if (stats_bootstrap_ci(x, n, STATS_MEAN, an->opts.bootstrap, 0.95, stream_seed(an->opts.rng_seed, i, 100 + b, 0),
                                   &d->lo, &d->hi) ||
                stats_sign_flip_p(x, n, an->opts.permutations, stream_seed(an->opts.rng_seed, i, 100 + b, 2), &d->p))
                goto oom;
        }
    free(x);
    return 0;
oom:
    free(x);
    return sal_errf(err, "out of memory");
}

/* ---- the whole analysis ---- */

static void folder_label(const char *dir, char *out, size_t len) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/') start--;
    size_t k = n - start;
    if (k == 0 || (k == 1 && dir[start] == '.')) {
        snprintf(out, len, "%s", "run");
        return;
    }
    if (k >= len) k = len - 1;
    memcpy(out, dir + start, k);
    out[k] = 0;
    for (char *p = out; *p; p++)
        if (*p == ',' || *p == '"' || *p == '<' || *p == '>' || *p == '&' || (unsigned char)*p < 0x20) *p = '_';
}

int analysis_measure(const char *const *dirs, int n_dirs, const analysis_opts_t *opts, analysis_t *an,
                     sal_err_t *err) {
    memset(an, 0, sizeof *an);
    an->opts = *opts;
    if (n_dirs < 1) return sal_errf(err, "no search folder given");
    for (int i = 0; i < n_dirs; i++)
        if (strlen(dirs[i]) > 4000) return sal_errf(err, "%s: path too long", dirs[i]);
    snprintf(an->outdir, sizeof an->outdir, "%s", opts->outdir ? opts->outdir : dirs[0]);
    an->n_arms = n_dirs;
    an->arms = calloc((size_t)n_dirs, sizeof *an->arms);
    json_t *runs = calloc((size_t)n_dirs, sizeof *runs);
    seed_folder_t **lists = calloc((size_t)n_dirs, sizeof *lists);
    int *counts = calloc((size_t)n_dirs, sizeof *counts), rc = 0;
    if (!an->arms || !runs || !lists || !counts) {
        rc = sal_errf(err, "out of memory");
        goto done;
    }
    for (int a = 0; a < n_dirs && rc == 0; a++) {
        arm_t *arm = &an->arms[a];
        snprintf(arm->folder, sizeof arm->folder, "%s", dirs[a]);
        folder_label(dirs[a], arm->label, sizeof arm->label - 8);
        for (int b = 0; b < a; b++)
            if (!strcmp(an->arms[b].label, arm->label)) {
                size_t used = strlen(arm->label);
                snprintf(arm->label + used, sizeof arm->label - used, "#%d", a + 1);
                break;
            }
        rc = load_run_options(dirs[a], arm->options, sizeof arm->options, &runs[a], err);
        if (rc == 0) rc = list_seeds(dirs[a], &lists[a], &counts[a], err);
        if (rc == 0 && counts[a] == 0) rc = sal_errf(err, "%s: no finished seed (no seedNNNN/result.json)", dirs[a]);
    }
    if (rc) goto done;
    describe_differences(an->arms, runs, n_dirs);
    /* seeds finished in every arm (the lists are sorted) */
    an->seeds = malloc(sizeof *an->seeds * (size_t)counts[0]);
    int **where = calloc((size_t)n_dirs, sizeof *where);
    if (!an->seeds || !where) {
        free(where);
        rc = sal_errf(err, "out of memory");
        goto done;
    }
    for (int a = 0; a < n_dirs; a++) where[a] = malloc(sizeof **where * (size_t)counts[0]);
    int *pos = calloc((size_t)n_dirs, sizeof *pos), total = 0;
    for (int a = 0; a < n_dirs; a++) total += counts[a];
    for (int a = 0; a < n_dirs; a++)
        if (!where[a]) rc = sal_errf(err, "out of memory");
    if (!pos) rc = sal_errf(err, "out of memory");
    for (int k = 0; rc == 0 && k < counts[0]; k++) {
        uint32_t s = lists[0][k].seed;
        int in_all = 1;
        for (int a = 1; a < n_dirs && in_all; a++) {
            while (pos[a] < counts[a] && lists[a][pos[a]].seed < s) pos[a]++;
            in_all = pos[a] < counts[a] && lists[a][pos[a]].seed == s;
        }
        if (!in_all) continue;
        where[0][an->n_seeds] = k;
        for (int a = 1; a < n_dirs; a++) where[a][an->n_seeds] = pos[a];
        an->seeds[an->n_seeds++] = s;
    }
    an->dropped = total - n_dirs * an->n_seeds;
    if (rc == 0 && an->n_seeds == 0) rc = sal_errf(err, "no seed is finished in every folder given");
    for (int a = 0; a < n_dirs && rc == 0; a++) {
        arm_t *arm = &an->arms[a];
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        arm->seeds = calloc((size_t)an->n_seeds, sizeof *arm->seeds);
        if (!f || !arm->seeds) {
            if (f) fclose(f);
            free(buf);
            rc = sal_errf(err, "out of memory");
            break;
        }
        for (int s = 0; s < an->n_seeds && rc == 0; s++) {
            if (!opts->quiet)
                fprintf(stderr, "salient analyze: %s: seed %u (%d/%d)\n", arm->label, an->seeds[s], s + 1, an->n_seeds);
            arm->seeds[s].seed = an->seeds[s];
            rc = measure_seed(arm, dirs[a], lists[a][where[a][s]].name, &arm->seeds[s], f, err);
        }
        fclose(f);
        arm->steps_csv = buf;
        arm->steps_csv_len = size;
    }
    for (int a = 0; a < n_dirs; a++) free(where[a]);
    free(where);
    free(pos);
    if (rc) goto done;
    if (n_dirs > 1) {
        an->diffs = calloc((size_t)(n_dirs - 1), sizeof *an->diffs);
        if (!an->diffs) {
            rc = sal_errf(err, "out of memory");
            goto done;
        }
    }
    rc = compute_stats(an, err);
done:
    for (int a = 0; a < n_dirs; a++) {
        if (runs) json_free(&runs[a]);
        if (lists) free(lists[a]);
    }
    free(runs);
    free(lists);
    free(counts);
    if (rc) analysis_free(an);
    return rc;
}

void analysis_free(analysis_t *an) {
    if (an->arms)
        for (int a = 0; a < an->n_arms; a++) {
            free(an->arms[a].seeds);
            free(an->arms[a].steps_csv);
        }
    free(an->arms);
    free(an->seeds);
    free(an->diffs);
    memset(an, 0, sizeof *an);
}

/* ---- outputs ---- */

void analysis_format_ci(char *buf, size_t len, double v, double lo, double hi) {
    if (!isfinite(v)) snprintf(buf, len, "n/a");
    else if (!isfinite(lo)) snprintf(buf, len, "%+.3g", v);
    else snprintf(buf, len, "%+.3g (95%% CI %.3g to %.3g)", v, lo, hi);
}

void analysis_print_summary(const analysis_t *an, FILE *f) {
    fprintf(f, "mean change from the first to the final face, %d seed%s", an->n_seeds, an->n_seeds == 1 ? "" : "s");
    if (an->n_arms > 1) fprintf(f, " paired across %d folders (differences: %s minus each other)", an->n_arms, an->arms[0].label);
    fputs(":\n", f);
    for (int i = 0; i < A_COUNT; i++) {
        fprintf(f, "%s:", ANALYSIS_ATTRS[i].label);
        for (int a = 0; a < an->n_arms; a++) {
            const stat_summary_t *s = &an->arms[a].stats[i];
            char buf[128];
            analysis_format_ci(buf, sizeof buf, s->mean, s->mean_lo, s->mean_hi);
            fprintf(f, "%s %s in %s [%s]", a ? "," : "", buf, an->arms[a].label, an->arms[a].differs);
            if (s->n != an->n_seeds) fprintf(f, " (n=%d)", s->n);
        }
        for (int b = 1; b < an->n_arms; b++) {
            const diff_summary_t *d = &an->diffs[b - 1][i];
            char buf[128];
            analysis_format_ci(buf, sizeof buf, d->mean, d->lo, d->hi);
            fprintf(f, "; %s - %s: %s, p = %.3g", an->arms[0].label, an->arms[b].label, buf, d->p);
            if (d->n != an->n_seeds) fprintf(f, " (n=%d)", d->n);
        }
        fputc('\n', f);
    }
}

static int write_csv(const analysis_t *an, sal_err_t *err) {
    char path[4200];
    sal_atomic_t at;
    snprintf(path, sizeof path, "%s/analysis.csv", an->outdir);
    if (sal_atomic_begin(&at, path, err)) return -1;
    FILE *f = at.f;
    fputs("arm,seed,steps", f);
    for (int i = 0; i < A_COUNT; i++) {
        const char *n = ANALYSIS_ATTRS[i].name;
        if (ANALYSIS_ATTRS[i].kind == ATTR_IMAGE) fprintf(f, ",%s_first,%s_final,%s_change", n, n, n);
        else fprintf(f, ",%s", n);
    }
    fputs(",salient_region_first,salient_region_final\n", f);
    for (int a = 0; a < an->n_arms; a++)
        for (int s = 0; s < an->n_seeds; s++) {
            const seed_measure_t *m = &an->arms[a].seeds[s];
            fprintf(f, "%s,%u,%d", an->arms[a].label, m->seed, m->steps);
            for (int i = 0; i < A_COUNT; i++) {
                if (ANALYSIS_ATTRS[i].kind == ATTR_IMAGE) {
                    csv_num(f, m->first[i]);
                    csv_num(f, m->final[i]);
                }
                csv_num(f, m->change[i]);
            }
            fprintf(f, ",%s,%s\n", face_region_name(m->region_first), face_region_name(m->region_final));
        }
    if (sal_atomic_end(&at, 1, err)) return -1;

    snprintf(path, sizeof path, "%s/analysis_steps.csv", an->outdir);
    if (sal_atomic_begin(&at, path, err)) return -1;
    fputs("arm,seed,step", at.f);
    for (int i = 0; i < A_COUNT; i++) fprintf(at.f, ",%s", ANALYSIS_ATTRS[i].name);
    fputs(",salient_x,salient_y,salient_region\n", at.f);
    for (int a = 0; a < an->n_arms; a++)
        if (an->arms[a].steps_csv_len) fwrite(an->arms[a].steps_csv, 1, an->arms[a].steps_csv_len, at.f);
    return sal_atomic_end(&at, 1, err);
}

static void json_num_or_null(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f);
}

static int write_json(const analysis_t *an, sal_err_t *err) {
    char path[4200];
    sal_atomic_t at;
    snprintf(path, sizeof path, "%s/analysis.json", an->outdir);
    if (sal_atomic_begin(&at, path, err)) return -1;
    FILE *f = at.f;
    fprintf(f, "{\n  \"salient_version\": \"%s\",\n  \"analysis_format\": 1,\n", SALIENT_VERSION);
    fprintf(f, "  \"bootstrap_resamples\": %d,\n  \"permutations\": %d,\n  \"exact_sign_flip_max_n\": %d,\n  \"rng_seed\": %u,\n",
            an->opts.bootstrap, an->opts.permutations, STATS_EXACT_MAX_N, an->opts.rng_seed);
    fprintf(f, "  \"n_seeds\": %d,\n  \"seeds_dropped\": %d,\n  \"seeds\": [", an->n_seeds, an->dropped);
    for (int s = 0; s < an->n_seeds; s++) fprintf(f, "%s%u", s ? ", " : "", an->seeds[s]);
    fputs("],\n  \"arms\": [\n", f);
    for (int a = 0; a < an->n_arms; a++) {
        const arm_t *arm = &an->arms[a];
        fputs("    {\"label\": ", f);
        json_write_string(f, arm->label);
        fputs(", \"folder\": ", f);
        json_write_string(f, arm->folder);
        fputs(", \"options\": ", f);
        json_write_string(f, arm->options);
        fputs(", \"differs\": ", f);
        json_write_string(f, arm->differs);
        fprintf(f, ", \"image_size\": [%d, %d],\n     \"salient_region_first\": {", arm->img_w, arm->img_h);
        for (int r = 0; r < REGION_COUNT; r++) fprintf(f, "%s\"%s\": %d", r ? ", " : "", face_region_name(r), arm->region_counts[0][r]);
        fputs("},\n     \"salient_region_final\": {", f);
        for (int r = 0; r < REGION_COUNT; r++) fprintf(f, "%s\"%s\": %d", r ? ", " : "", face_region_name(r), arm->region_counts[1][r]);
        fprintf(f, "}}%s\n", a + 1 < an->n_arms ? "," : "");
    }
    fputs("  ],\n  \"attributes\": [\n", f);
    for (int i = 0; i < A_COUNT; i++) {
        fprintf(f, "    {\"name\": \"%s\", \"label\": ", ANALYSIS_ATTRS[i].name);
        json_write_string(f, ANALYSIS_ATTRS[i].label);
        fprintf(f, ", \"measure\": \"%s\",\n     \"change\": [\n",
                ANALYSIS_ATTRS[i].kind == ATTR_IMAGE ? "final minus first" : "first to final");
        for (int a = 0; a < an->n_arms; a++) {
            const stat_summary_t *s = &an->arms[a].stats[i];
            fputs("       {\"arm\": ", f);
            json_write_string(f, an->arms[a].label);
            fprintf(f, ", \"n\": %d, \"mean\": ", s->n);
            json_num_or_null(f, s->mean);
            fputs(", \"mean_ci95\": [", f);
            json_num_or_null(f, s->mean_lo);
            fputs(", ", f);
            json_num_or_null(f, s->mean_hi);
            fputs("], \"median\": ", f);
            json_num_or_null(f, s->median);
            fputs(", \"median_ci95\": [", f);
            json_num_or_null(f, s->median_lo);
            fputs(", ", f);
            json_num_or_null(f, s->median_hi);
            fputs("], \"share_up\": ", f);
            json_num_or_null(f, s->share_up);
            fputs(", \"p_sign_flip\": ", f);
            json_num_or_null(f, s->p);
            fprintf(f, "}%s\n", a + 1 < an->n_arms ? "," : "");
        }
        fputs("     ],\n     \"differences\": [", f);
        for (int b = 1; b < an->n_arms; b++) {
            const diff_summary_t *d = &an->diffs[b - 1][i];
            fputs(b > 1 ? ",\n       {\"a\": " : "\n       {\"a\": ", f);
            json_write_string(f, an->arms[0].label);
            fputs(", \"b\": ", f);
            json_write_string(f, an->arms[b].label);
            fprintf(f, ", \"n\": %d, \"mean_a_minus_b\": ", d->n);
            json_num_or_null(f, d->mean);
            fputs(", \"ci95\": [", f);
            json_num_or_null(f, d->lo);
            fputs(", ", f);
            json_num_or_null(f, d->hi);
            fputs("], \"p_sign_flip\": ", f);
            json_num_or_null(f, d->p);
            fputs("}", f);
        }
        fprintf(f, "%s]}%s\n", an->n_arms > 1 ? "\n     " : "", i + 1 < A_COUNT ? "," : "");
    }
    fputs("  ],\n  \"summary\": ", f);
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    if (!m) {
        sal_atomic_end(&at, 0, err);
        return sal_errf(err, "out of memory");
    }
    analysis_print_summary(an, m);
    fclose(m);
    json_write_string(f, buf);
    free(buf);
    fputs("\n}\n", f);
    return sal_atomic_end(&at, 1, err);
}

int analysis_write(const analysis_t *an, sal_err_t *err) {
    if (sal_mkdir_p(an->outdir, err)) return -1;
    if (write_csv(an, err) || write_json(an, err) || analysis_write_figures(an, err) || analysis_write_html(an, err))
        return -1;
    /* a search folder: rebuild its index.html, which includes the section */
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/run.json", an->outdir);
    if (stat(path, &st) == 0) {
        int n;
        if (report_write(an->outdir, &n, err)) return -1;
    }
    return 0;
}

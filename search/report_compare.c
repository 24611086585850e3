/* report_compare.c — `salient report CMP` on a comparison folder: search runs
 * of different methods (the random search, gradient ascent) over the same
 * seeds, compared at equal compute (see report.h and docs/search.md,
 * "Comparing methods at equal compute").
 *
 * Cost is counted in forward-equivalents (one generator + saliency forward
 * pass = 1). Knowing the score of the current face after step t costs
 *     random search:  c(t) = 1 + t * K   (K = "candidates" of run.json)
 *     gradient:       c(t) = 1 + t * C   (C = "grad_cost" of run.json)
 * The equal-cost budget is B = min over runs of c(T_run), and a run's score
 * "at equal cost" is its score after the last step t with c(t) <= B.
 * Means are taken over the seeds finished in every run. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "figures.h"
#include "json.h"
#include "report.h"
#include "sha256.h"

#define CMP_MAX_RUNS 32
#define CMP_MAX_STEPS 100000
#define CMP_MAX_COST 1e9

typedef struct cmp_seed {
    uint32_t seed;
    int n;              /* steps + 1 */
    double *score;      /* (n) max saliency of the current face after each step */
} cmp_seed_t;

typedef struct cmp_run {
    char name[256];                 /* the subfolder */
    char path[4400];                /* CMP/name */
    char method[16];                /* "random" | "grad" */
    double cost;                    /* forward-equivalents per step: K or grad_cost */
    char network[1024], saliency[1024];
    json_t run;                     /* run.json */
    int run_loaded;
    cmp_seed_t *seeds;              /* (n_seeds) finished seeds, sorted */
    int n_seeds, cap;
    /* over the common seeds */
    int steps;                      /* T */
    int eq_step;                    /* last step with c(t) <= budget */
    int wins;
    double *mean, *se;              /* (steps + 1) mean max saliency per step, its standard error */
} cmp_run_t;

typedef struct compare {
    const char *dir;
    cmp_run_t *runs;
    int n_runs;
    uint32_t *common;               /* (n_common) seeds finished in every run, ascending */
    int n_common;
    const cmp_seed_t **at;          /* (n_runs, n_common): run r's entry of common seed i */
    int *winner;                    /* (n_common) run with the best score at equal cost, -1 on a tie */
    int ties;
    int sign;                       /* +1: higher is better (objective max), -1 (objective min) */
    double budget;
    int paired_hi;                  /* two runs: the better one by mean at equal cost (0 or 1) */
    double paired_mean, paired_se;  /* two runs: mean and standard error of run paired_hi minus the other, per seed */
    time_t newest;
    char warnings[1024];
} compare_t;

static double cost_after(const cmp_run_t *r, int t) { return 1.0 + (double)t * r->cost; }

static void add_warning(compare_t *c, const char *msg) {
    size_t used = strlen(c->warnings);
    snprintf(c->warnings + used, sizeof c->warnings - used, "%s%s", used ? "; " : "", msg);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_seed_entry(const void *a, const void *b) {
    const cmp_seed_t *x = a, *y = b;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

static int cmp_run_name(const void *a, const void *b) {
    return strcmp(((const cmp_run_t *)a)->name, ((const cmp_run_t *)b)->name);
}

static int has_file(const char *dir, const char *name) {
    char path[4600];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Is dir/name (a directory entry, not hidden) a search run, i.e. has it a
 * run.json? sub (len bytes) receives dir/name. */
static int is_run_folder(const char *dir, const char *name, char *sub, size_t len) {
    if (name[0] == '.') return 0;
    snprintf(sub, len, "%s/%s", dir, name);
    return has_file(sub, "run.json");
}

int report_is_comparison(const char *dir) {
    if (strlen(dir) > 4000 || has_file(dir, "run.json")) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int own_seeds = 0, runs = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint32_t seed;
        char sub[4400];
        if (report_seed_folder(de->d_name, &seed) == 0) own_seeds = 1;
        runs += is_run_folder(dir, de->d_name, sub, sizeof sub);
    }
    closedir(d);
    return !own_seeds && runs > 0;
}

/* ---- loading ---- */

static void compare_free(compare_t *c) {
    for (int r = 0; r < c->n_runs; r++) {
        cmp_run_t *run = &c->runs[r];
        for (int i = 0; i < run->n_seeds; i++) free(run->seeds[i].score);
        free(run->seeds);
        free(run->mean);
        free(run->se);
        if (run->run_loaded) json_free(&run->run);
    }
    free(c->runs);
    free(c->common);
    free(c->at);
    free(c->winner);
}

static int list_runs(compare_t *c, sal_err_t *err) {
    DIR *d = opendir(c->dir);
    if (!d) return sal_errf(err, "%s: cannot open the folder", c->dir);
    int cap = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char sub[4400];
        if (!is_run_folder(c->dir, de->d_name, sub, sizeof sub)) continue;
        if (strlen(de->d_name) >= sizeof c->runs[0].name) { rc = sal_errf(err, "%s: folder name too long", sub); break; }
        if (c->n_runs == CMP_MAX_RUNS) { rc = sal_errf(err, "%s: more than %d run folders; compare fewer at a time", c->dir, CMP_MAX_RUNS); break; }
        if (c->n_runs == cap) {
            cap = cap ? 2 * cap : 4;
            cmp_run_t *nr = realloc(c->runs, sizeof *nr * (size_t)cap);
            if (!nr) { rc = sal_errf(err, "out of memory"); break; }
            c->runs = nr;
        }
        cmp_run_t *r = &c->runs[c->n_runs++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", de->d_name);
        snprintf(r->path, sizeof r->path, "%s", sub);
    }
    closedir(d);
    if (rc) return rc;
    if (c->n_runs > 1) qsort(c->runs, (size_t)c->n_runs, sizeof *c->runs, cmp_run_name);
    if (c->n_runs < 2)
        return sal_errf(err, "%s: a comparison needs at least two run folders (subfolders with run.json), found %d", c->dir, c->n_runs);
    return 0;
}

/* run.json: the method and its cost per step. */
static int load_run_file(cmp_run_t *r, sal_err_t *err) {
    char path[4500];
    snprintf(path, sizeof path, "%s/run.json", r->path);
    if (json_load(path, &r->run, err)) return -1;
    r->run_loaded = 1;
    if (r->run.type != JSON_OBJECT) return sal_errf(err, "%s: not a salient run file", path);
    const json_t *m = json_get(&r->run, "method");
    if (m && m->type != JSON_STRING) return sal_errf(err, "%s: \"method\" is not a string", path);
    const char *method = m ? m->str : "random";
    if (strcmp(method, "random") != 0 && strcmp(method, "grad") != 0)
        return sal_errf(err, "%s: unknown method '%s' (known: random, grad)", path, method);
    snprintf(r->method, sizeof r->method, "%s", method);
    const char *key = !strcmp(method, "grad") ? "grad_cost" : "candidates";
    const json_t *k = json_get(&r->run, key);
    if (!k || k->type != JSON_NUMBER || !(k->num > 0) || !(k->num <= CMP_MAX_COST))
        return sal_errf(err, "%s: method %s needs a positive number \"%s\" (its cost per step)", path, method, key);
    if (!strcmp(method, "random") && k->num != floor(k->num))
        return sal_errf(err, "%s: \"candidates\" must be a whole number", path);
    r->cost = k->num;
    return 0;
}

/* One seedNNNN/result.json. */
static int load_result(compare_t *c, cmp_run_t *r, const char *folder, uint32_t seed, sal_err_t *err) {
    char path[4800];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/result.json", r->path, folder);
    if (stat(path, &st) != 0) return 0; /* unfinished seed */
    if (st.st_mtime > c->newest) c->newest = st.st_mtime;
    json_t j;
    if (json_load(path, &j, err)) return -1;
    int rc = 0;
    const json_t *per_step = json_get(&j, "max_saliency_per_step"), *params = json_get(&j, "parameters");
    const json_t *js = json_get(&j, "seed");
    if (j.type != JSON_OBJECT || !js || js->type != JSON_NUMBER || !params || params->type != JSON_OBJECT) {
        rc = sal_errf(err, "%s: not a salient result file", path);
    } else if (js->num != (double)seed) {
        rc = sal_errf(err, "%s: \"seed\" is %.9g, not the seed of its folder (%u)", path, js->num, seed);
    } else if (!per_step || per_step->type != JSON_ARRAY || per_step->n < 1 || per_step->n > CMP_MAX_STEPS + 1) {
        rc = sal_errf(err, "%s: \"max_saliency_per_step\" must be a list of 1 to %d numbers", path, CMP_MAX_STEPS + 1);
    }
    for (int i = 0; rc == 0 && i < per_step->n; i++)
        if (per_step->items[i].type != JSON_NUMBER || !isfinite(per_step->items[i].num))
            rc = sal_errf(err, "%s: \"max_saliency_per_step\" item %d is not a finite number", path, i);
    if (rc == 0) {
        const json_t *m = json_get(params, "method");
        const char *method = m && m->type == JSON_STRING ? m->str : m ? "?" : "random";
        const json_t *net = json_get(params, "network"), *sal = json_get(params, "saliency_model");
        if (strcmp(method, r->method) != 0)
            rc = sal_errf(err, "%s: method %s, but the run's run.json says %s", path, method, r->method);
        else if (!net || net->type != JSON_STRING || !sal || sal->type != JSON_STRING)
            rc = sal_errf(err, "%s: \"parameters\" lacks \"network\" or \"saliency_model\"", path);
        else if (r->n_seeds == 0) {
            snprintf(r->network, sizeof r->network, "%s", net->str);
            snprintf(r->saliency, sizeof r->saliency, "%s", sal->str);
        } else if (strcmp(r->network, net->str) != 0 || strcmp(r->saliency, sal->str) != 0) {
            rc = sal_errf(err, "%s: another network or saliency model than the run's other seeds (%s, %s)", path, r->network,
                          r->saliency);
        }
    }
    if (rc == 0 && r->n_seeds == r->cap) {
        int ncap = r->cap ? 2 * r->cap : 16;
        cmp_seed_t *ns = realloc(r->seeds, sizeof *ns * (size_t)ncap);
        if (!ns) rc = sal_errf(err, "out of memory");
        else r->seeds = ns, r->cap = ncap;
    }
    if (rc == 0) {
        cmp_seed_t *s = &r->seeds[r->n_seeds];
        s->seed = seed;
        s->n = per_step->n;
        s->score = malloc(sizeof(double) * (size_t)s->n);
        if (!s->score) rc = sal_errf(err, "out of memory");
        for (int i = 0; rc == 0 && i < s->n; i++) s->score[i] = per_step->items[i].num;
        if (rc == 0) r->n_seeds++;
    }
    json_free(&j);
    return rc;
}

static int load_seeds(compare_t *c, cmp_run_t *r, sal_err_t *err) {
    DIR *d = opendir(r->path);
    if (!d) return sal_errf(err, "%s: cannot open the folder", r->path);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        uint32_t seed;
        if (report_seed_folder(de->d_name, &seed)) continue;
        rc = load_result(c, r, de->d_name, seed, err);
    }
    closedir(d);
    if (rc) return rc;
    if (r->n_seeds == 0) return sal_errf(err, "%s: no finished seeds (no seedNNNN/result.json)", r->path);
    qsort(r->seeds, (size_t)r->n_seeds, sizeof *r->seeds, cmp_seed_entry);
    for (int i = 1; i < r->n_seeds; i++)
        if (r->seeds[i].seed == r->seeds[i - 1].seed)
            return sal_errf(err, "%s: seed %u has two folders (seed%04u and a longer name)", r->path, r->seeds[i].seed, r->seeds[i].seed);
    return 0;
}

/* ---- the checks across runs ---- */

/* Same file: same path, or both readable with the same sha256. */
static int same_file(const char *a, const char *b) {
    if (!strcmp(a, b)) return 1;
    char ha[65], hb[65];
    sal_err_t ignored;
    return sha256_file(a, ha, &ignored) == 0 && sha256_file(b, hb, &ignored) == 0 && !strcmp(ha, hb);
}

/* Keys that change the faces or the score being measured must agree (else
 * the y axis would not measure one thing); keys that change only how a run
 * moves (space, fast mode) are part of the method and only noted. */
static int check_runs_agree(compare_t *c, sal_err_t *err) {
    const cmp_run_t *a = &c->runs[0];
    for (int r = 1; r < c->n_runs; r++) {
        const cmp_run_t *b = &c->runs[r];
        if (!same_file(a->network, b->network))
            return sal_errf(err, "%s: the runs use different networks (network: %s uses %s, %s uses %s); compare runs of one network",
                            c->dir, a->name, a->network, b->name, b->network);
        if (!same_file(a->saliency, b->saliency))
            return sal_errf(err, "%s: the runs use different saliency models (saliency_model: %s uses %s, %s uses %s)", c->dir,
                            a->name, a->saliency, b->name, b->saliency);
    }
    static const char *const must[] = {"trunc", "trunc_cutoff", "noise_mode", "objective"};
    static const char *const noted[] = {"space", "fast"};
    for (int pass = 0; pass < 2; pass++) {
        const char *const *keys = pass ? noted : must;
        int n_keys = pass ? 2 : 4;
        for (int k = 0; k < n_keys; k++) {
            char va[160], vb[160];
            report_format_option(keys[k], json_get(&a->run, keys[k]), va, sizeof va);
            for (int r = 1; r < c->n_runs; r++) {
                const cmp_run_t *b = &c->runs[r];
                report_format_option(keys[k], json_get(&b->run, keys[k]), vb, sizeof vb);
                if (!strcmp(va, vb)) continue;
                if (!pass)
                    return sal_errf(err, "%s: the runs differ in %s (%s: %s, %s: %s); compare runs that start from the same faces "
                                         "and measure the same score", c->dir, keys[k], a->name, va, b->name, vb);
                char msg[1000];
                snprintf(msg, sizeof msg, "the runs differ in %s (%s: %s, %s: %s)", keys[k], a->name, va, b->name, vb);
                add_warning(c, msg);
                break;
            }
        }
    }
    const char *objective = json_str(&a->run, "objective", "max");
    c->sign = !strcmp(objective, "min") ? -1 : 1;
    return 0;
}

static const cmp_seed_t *find_seed(const cmp_run_t *r, uint32_t seed) {
    cmp_seed_t key = {.seed = seed};
    return bsearch(&key, r->seeds, (size_t)r->n_seeds, sizeof *r->seeds, cmp_seed_entry);
}

static int find_common(compare_t *c, sal_err_t *err) {
    const cmp_run_t *first = &c->runs[0];
    c->common = malloc(sizeof *c->common * (size_t)first->n_seeds);
    if (!c->common) return sal_errf(err, "out of memory");
    for (int i = 0; i < first->n_seeds; i++) {
        int everywhere = 1;
        for (int r = 1; r < c->n_runs && everywhere; r++) everywhere = find_seed(&c->runs[r], first->seeds[i].seed) != NULL;
        if (everywhere) c->common[c->n_common++] = first->seeds[i].seed;
    }
    if (c->n_common == 0) {
        char counts[600] = "";
        for (int r = 0; r < c->n_runs; r++) {
            size_t used = strlen(counts);
            snprintf(counts + used, sizeof counts - used, "%s%s: %d", r ? ", " : "", c->runs[r].name, c->runs[r].n_seeds);
        }
        return sal_errf(err, "%s: no seed is finished in all %d runs (finished seeds: %s); search the same seeds with each method",
                        c->dir, c->n_runs, counts);
    }
    qsort(c->common, (size_t)c->n_common, sizeof *c->common, cmp_u32);
    c->at = malloc(sizeof *c->at * (size_t)c->n_runs * (size_t)c->n_common);
    c->winner = malloc(sizeof *c->winner * (size_t)c->n_common);
    if (!c->at || !c->winner) return sal_errf(err, "out of memory");
    for (int r = 0; r < c->n_runs; r++)
        for (int i = 0; i < c->n_common; i++) c->at[(size_t)r * c->n_common + i] = find_seed(&c->runs[r], c->common[i]);
    return 0;
}

static const cmp_seed_t *seed_at(const compare_t *c, int r, int i) { return c->at[(size_t)r * c->n_common + i]; }

/* Mean of x (n >= 1) and its standard error sqrt(var / n), var with n - 1 (0 when n = 1). */
static double mean_se(const double *x, int n, double *se) {
    double sum = 0, ss = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    const double mean = sum / n;
    for (int i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
    *se = n > 1 ? sqrt(ss / (n - 1) / n) : 0;
    return mean;
}

/* Steps, the budget, each run's equal-cost step, the curves, the wins and
 * (two runs) the paired difference at equal cost. */
static int compute(compare_t *c, sal_err_t *err) {
    c->budget = INFINITY;
    for (int r = 0; r < c->n_runs; r++) {
        cmp_run_t *run = &c->runs[r];
        run->steps = seed_at(c, r, 0)->n - 1;
        for (int i = 1; i < c->n_common; i++)
            if (seed_at(c, r, i)->n - 1 != run->steps)
                return sal_errf(err, "%s/seed%04u/result.json: %d steps, but seed %u of this run has %d; a run's seeds must have the "
                                     "same number of steps", run->path, c->common[i], seed_at(c, r, i)->n - 1, c->common[0], run->steps);
        double total = cost_after(run, run->steps);
        if (total < c->budget) c->budget = total;
    }
    const double tol = 1e-9 * c->budget; /* grad_cost is a measured ratio: keep 1 + t*C == B an equality */
    double *vals = malloc(sizeof *vals * (size_t)c->n_common); /* (n_common) one number per common seed */
    if (!vals) return sal_errf(err, "out of memory");
    for (int r = 0; r < c->n_runs; r++) {
        cmp_run_t *run = &c->runs[r];
        run->eq_step = 0;
        for (int t = 1; t <= run->steps; t++)
            if (cost_after(run, t) <= c->budget + tol) run->eq_step = t;
        run->mean = calloc((size_t)run->steps + 1, sizeof(double));
        run->se = calloc((size_t)run->steps + 1, sizeof(double));
        if (!run->mean || !run->se) return free(vals), sal_errf(err, "out of memory");
        for (int t = 0; t <= run->steps; t++) {
            for (int i = 0; i < c->n_common; i++) vals[i] = seed_at(c, r, i)->score[t];
            run->mean[t] = mean_se(vals, c->n_common, &run->se[t]);
        }
    }
    if (c->n_runs == 2) { /* the better run (by mean at equal cost) minus the other, per seed */
        const cmp_run_t *r0 = &c->runs[0], *r1 = &c->runs[1];
        const int hi = c->sign * (r1->mean[r1->eq_step] - r0->mean[r0->eq_step]) > 0 ? 1 : 0, lo = 1 - hi;
        for (int i = 0; i < c->n_common; i++)
            vals[i] = seed_at(c, hi, i)->score[c->runs[hi].eq_step] - seed_at(c, lo, i)->score[c->runs[lo].eq_step];
        c->paired_hi = hi;
        c->paired_mean = mean_se(vals, c->n_common, &c->paired_se);
    }
    free(vals);
    /* wins at equal cost: the one run with the best score; equal best scores are a tie */
    int start_differs = -1, start_run = 0;
    for (int i = 0; i < c->n_common; i++) {
        int best = 0, tie = 0;
        double best_v = seed_at(c, 0, i)->score[c->runs[0].eq_step];
        for (int r = 1; r < c->n_runs; r++) {
            double v = seed_at(c, r, i)->score[c->runs[r].eq_step];
            if (c->sign * (v - best_v) > 0) best = r, best_v = v, tie = 0;
            else if (v == best_v) tie = 1;
            if (start_differs < 0 && fabs(seed_at(c, r, i)->score[0] - seed_at(c, 0, i)->score[0]) > 1e-6) start_differs = i, start_run = r;
        }
        c->winner[i] = tie ? -1 : best;
        if (tie) c->ties++;
        else c->runs[best].wins++;
    }
    if (start_differs >= 0) {
        char msg[700];
        snprintf(msg, sizeof msg, "the runs' start scores differ (seed %u: %.6f in %s, %.6f in %s): not the same start faces?",
                 c->common[start_differs], seed_at(c, 0, start_differs)->score[0], c->runs[0].name,
                 seed_at(c, start_run, start_differs)->score[0], c->runs[start_run].name);
        add_warning(c, msg);
    }
    return 0;
}

/* ---- the outputs ---- */

static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* compare.csv: one row per (common seed, run), then one "mean" row per run. */
static void write_csv(FILE *f, const compare_t *c) {
    fputs("seed,run,method,start_max_saliency,steps,cost_per_step,final_max_saliency,total_cost,"
          "equal_cost,equal_cost_step,equal_cost_max_saliency,wins\n", f);
    for (int i = 0; i < c->n_common; i++)
        for (int r = 0; r < c->n_runs; r++) {
            const cmp_run_t *run = &c->runs[r];
            const cmp_seed_t *s = seed_at(c, r, i);
            fprintf(f, "%u,", s->seed);
            csv_field(f, run->name);
            fprintf(f, ",%s,%.9g,%d,%.9g,%.9g,%.9g,%.9g,%d,%.9g,%d\n", run->method, s->score[0], run->steps, run->cost,
                    s->score[run->steps], cost_after(run, run->steps), c->budget, run->eq_step, s->score[run->eq_step],
                    c->winner[i] == r);
        }
    for (int r = 0; r < c->n_runs; r++) {
        const cmp_run_t *run = &c->runs[r];
        fputs("mean,", f);
        csv_field(f, run->name);
        fprintf(f, ",%s,%.9g,%d,%.9g,%.9g,%.9g,%.9g,%d,%.9g,%d\n", run->method, run->mean[0], run->steps, run->cost,
                run->mean[run->steps], cost_after(run, run->steps), c->budget, run->eq_step, run->mean[run->eq_step], run->wins);
    }
}

/* compare_curve.csv: the figure's numbers. */
static void write_curve_csv(FILE *f, const compare_t *c) {
    fputs("run,method,step,cost,mean_max_saliency,standard_error,seeds\n", f);
    for (int r = 0; r < c->n_runs; r++) {
        const cmp_run_t *run = &c->runs[r];
        for (int t = 0; t <= run->steps; t++) {
            csv_field(f, run->name);
            fprintf(f, ",%s,%d,%.9g,%.9g,%.9g,%d\n", run->method, t, cost_after(run, t), run->mean[t], run->se[t], c->n_common);
        }
    }
}

static const char *const PALETTE[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
#define N_PALETTE ((int)(sizeof PALETTE / sizeof PALETTE[0]))

/* A marker of shape (r mod 4): circle, square, triangle, diamond. */
static void svg_marker(FILE *f, int shape, double x, double y) {
    switch (shape % 4) {
    case 0: fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>", x, y); break;
    case 1: fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\"/>", x - 3.5, y - 3.5); break;
    case 2: fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"/>", x, y - 4.5, x + 4.2, y + 3, x - 4.2, y + 3); break;
    default: fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"/>", x, y - 4.5, x + 4.5, y, x, y + 4.5, x - 4.5, y); break;
    }
}

static void run_label(char *buf, size_t len, const cmp_run_t *r) {
    if (!strcmp(r->method, "random")) snprintf(buf, len, "%.40s: random, K=%.9g", r->name, r->cost);
    else snprintf(buf, len, "%.40s: %s, %.3g/step", r->name, r->method, r->cost);
}

/* compare.svg: mean max saliency vs cost, one line per run, markers at its
 * steps, a band of +-1 standard error, the equal-cost budget dashed. */
static void write_svg(FILE *f, const compare_t *c) {
    const int legend_w = 230, W = 560 + legend_w, H = 380, left = 70, right = 16 + legend_w, top = 44, bottom = 50;
    const int pw = W - left - right, ph = H - top - bottom;
    double lo = INFINITY, hi = -INFINITY, xmax = 1;
    for (int r = 0; r < c->n_runs; r++) {
        const cmp_run_t *run = &c->runs[r];
        for (int t = 0; t <= run->steps; t++) {
            lo = fmin(lo, run->mean[t] - run->se[t]);
            hi = fmax(hi, run->mean[t] + run->se[t]);
        }
        xmax = fmax(xmax, cost_after(run, run->steps));
    }
    if (hi - lo < 1e-6) lo -= 0.5, hi += 0.5;
    double ystep = figure_tick_step(lo, hi, 6), xstep = figure_tick_step(0, xmax, 8);
    double y0 = floor(lo / ystep) * ystep, y1 = ceil(hi / ystep) * ystep, x1 = ceil(xmax / xstep) * xstep;
#define SX(v) (left + (v) * pw / x1)
#define SY(v) (top + ph - ((v) - y0) * ph / (y1 - y0))
    fprintf(f, "<svg viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" font-family=\"sans-serif\" font-size=\"13\">\n", W, H);
    fprintf(f, "<title>mean max saliency over %d seed%s vs cost in forward-equivalents</title>\n", c->n_common, c->n_common == 1 ? "" : "s");
    fprintf(f, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">mean max saliency vs cost (%d seed%s)</text>\n",
            left + pw / 2, c->n_common, c->n_common == 1 ? "" : "s");
    char buf[64];
    for (int k = 0; k <= 1000; k++) {
        double v = y0 + k * ystep;
        if (v > y1 + ystep * 1e-6) break;
        figure_tick_label(buf, sizeof buf, v, ystep);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e1e1e1\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                left, SY(v), left + pw, SY(v), left - 6, SY(v) + 4, buf);
    }
    for (int k = 0; k <= 1000; k++) {
        double v = k * xstep;
        if (v > x1 + xstep * 1e-6) break;
        figure_tick_label(buf, sizeof buf, v, xstep);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                SX(v), top + ph, SX(v), top + ph + 5, SX(v), top + ph + 19, buf);
    }
    fprintf(f, "<path d=\"M%d %d V%d H%d\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>\n", left, top, top + ph, left + pw);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">cost per seed (forward-equivalents)</text>\n", left + pw / 2, H - 10);
    fprintf(f, "<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">mean max saliency</text>\n", top + ph / 2);
    /* the equal-cost budget */
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#555\" stroke-dasharray=\"5 4\"/>"
               "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" font-size=\"12\" fill=\"#555\">equal cost %.4g</text>\n",
            SX(c->budget), top, SX(c->budget), top + ph, SX(c->budget) - 4, top + 12, c->budget);
    for (int r = 0; r < c->n_runs; r++) {
        const cmp_run_t *run = &c->runs[r];
        const char *col = PALETTE[r % N_PALETTE];
        if (c->n_common > 1) { /* +-1 standard error */
            fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"", col);
            for (int t = 0; t <= run->steps; t++) fprintf(f, "%s%.1f,%.1f", t ? " " : "", SX(cost_after(run, t)), SY(run->mean[t] + run->se[t]));
            for (int t = run->steps; t >= 0; t--) fprintf(f, " %.1f,%.1f", SX(cost_after(run, t)), SY(run->mean[t] - run->se[t]));
            fputs("\"/>\n", f);
        }
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (int t = 0; t <= run->steps; t++) fprintf(f, "%s%.1f,%.1f", t ? " " : "", SX(cost_after(run, t)), SY(run->mean[t]));
        fprintf(f, "\"/>\n<g fill=\"%s\">", col);
        for (int t = 0; t <= run->steps; t++) svg_marker(f, r, SX(cost_after(run, t)), SY(run->mean[t]));
        fputs("</g>\n", f);
        /* legend, right of the plot */
        int ly = top + 8 + 22 * r;
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/><g fill=\"%s\">", left + pw + 14, ly,
                left + pw + 40, ly, col, col);
        svg_marker(f, r, left + pw + 27, ly);
        char label[128];
        run_label(label, sizeof label, run);
        fprintf(f, "</g><text x=\"%d\" y=\"%d\" font-size=\"12\">", left + pw + 46, ly + 4);
        report_html_escape(f, label);
        fputs("</text>\n", f);
    }
    if (c->n_common > 1)
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\">bands: &#177;1 standard error</text>\n", left + pw + 14,
                top + 8 + 22 * c->n_runs + 4);
    fputs("</svg>\n", f);
#undef SX
#undef SY
}

static void write_run_options(FILE *f, const cmp_run_t *r) {
    for (int i = 0; i < r->run.n; i++) {
        char v[160];
        report_format_option(r->run.keys[i], &r->run.items[i], v, sizeof v);
        fprintf(f, "%s<code>", i ? " " : "");
        report_html_escape(f, r->run.keys[i]);
        fputc('=', f);
        report_html_escape(f, v);
        fputs("</code>", f);
    }
}

/* "seed list" of the seeds a run finished that are not in every run. */
static void write_uncommon(FILE *f, const compare_t *c) {
    int any = 0;
    for (int r = 0; r < c->n_runs; r++) {
        const cmp_run_t *run = &c->runs[r];
        int n = 0;
        for (int i = 0; i < run->n_seeds; i++)
            if (!bsearch(&run->seeds[i].seed, c->common, (size_t)c->n_common, sizeof *c->common, cmp_u32)) {
                if (!any) fputs("<p>Seeds finished in only some runs (not compared):", f), any = 1;
                if (n == 0) {
                    fputs(" ", f);
                    report_html_escape(f, run->name);
                    fputs(":", f);
                }
                fprintf(f, "%s %u", n ? "," : "", run->seeds[i].seed);
                n++;
            }
        if (n) fputs(";", f);
    }
    if (any) fputs("</p>\n", f);
}

static void write_index(FILE *f, const compare_t *c, const char *svg) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>salient: methods compared at equal compute</title>\n<style>\n", f);
    fputs(REPORT_BASE_CSS, f);
    fputs(".plot{max-width:900px}\n.plot svg{display:block;width:100%;height:auto}\n"
          "table.cmp{border-collapse:collapse;margin:1em 0;font-variant-numeric:tabular-nums}\n"
          "table.cmp th,table.cmp td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right}\n"
          "table.cmp th{background:#f4f4f4}\ntable.cmp tr.mean td{font-weight:bold;border-top:2px solid #999}\n"
          "td.win{background:#e4f3e4}\n.files{font-size:.9em}\n</style>\n</head>\n<body>\n", f);
    const cmp_run_t *a = &c->runs[0];
    report_random_banner(f, a->network);
    fputs("<h1>Search methods compared at equal compute</h1>\n<table class=\"meta\">\n", f);
    report_file_row(f, "network", a->network);
    report_file_row(f, "saliency model", a->saliency);
    for (int r = 0; r < c->n_runs; r++) {
        const cmp_run_t *run = &c->runs[r];
        fputs("<tr><th>run <a href=\"", f);
        report_html_escape(f, run->name);
        fputs("/index.html\">", f);
        report_html_escape(f, run->name);
        fprintf(f, "</a></th><td>method %s, %.9g forward-equivalents per step, %d steps, %d finished seed%s; ", run->method, run->cost,
                run->steps, run->n_seeds, run->n_seeds == 1 ? "" : "s");
        write_run_options(f, run);
        fputs("</td></tr>\n", f);
    }
    report_date_row(f, c->newest);
    fprintf(f, "<tr><th>program</th><td>salient %s</td></tr>\n</table>\n", SALIENT_VERSION);
    if (c->warnings[0]) {
        fputs("<p class=\"warn\">Note: ", f);
        report_html_escape(f, c->warnings);
        fputs(".</p>\n", f);
    }
    /* the answer, in one paragraph */
    fprintf(f, "<p class=\"agg\">At equal cost (%.6g forward-equivalents per seed), mean max saliency over %d seed%s:", c->budget,
            c->n_common, c->n_common == 1 ? "" : "s");
    for (int r = 0; r < c->n_runs; r++) {
        const cmp_run_t *run = &c->runs[r];
        fprintf(f, "%s ", r ? ";" : "");
        report_html_escape(f, run->name);
        fprintf(f, " %.4f (step %d of %d, best in %d seed%s)", run->mean[run->eq_step], run->eq_step, run->steps, run->wins,
                run->wins == 1 ? "" : "s");
    }
    fprintf(f, "; tie%s in %d.", c->ties == 1 ? "" : "s", c->ties);
    if (c->n_runs == 2) { /* the paired difference (compute) */
        fputs(" Paired difference ", f);
        report_html_escape(f, c->runs[c->paired_hi].name);
        fputs(" &minus; ", f);
        report_html_escape(f, c->runs[1 - c->paired_hi].name);
        fprintf(f, ": %+.4f", c->paired_mean);
        if (c->n_common > 1) fprintf(f, " &plusmn; %.4f (standard error)", c->paired_se);
        fputs(".", f);
    }
    fputs("</p>\n", f);
    if (c->sign < 0) fputs("<p>These runs minimise max saliency (<code>objective=min</code>): lower is better and wins count the lowest score.</p>\n", f);
    fputs("<div class=\"plot\">\n", f);
    fputs(svg, f);
    fputs("</div>\n<p>Cost is counted in forward-equivalents (one generator and saliency forward pass = 1): knowing the score after "
          "step <i>t</i> costs 1 + <i>t</i>&middot;K for a random search with K candidates per step, and 1 + <i>t</i>&middot;C for "
          "gradient ascent, C = the measured cost of one forward and backward pass (<code>grad_cost</code> of its run.json). Each "
          "line is the mean over the seeds finished in every run, one marker per step; the band is &plusmn;1 standard error over "
          "seeds. The dashed line is the equal cost: the smallest total cost of the runs. A run's score at equal cost is its score "
          "after the last step that costs no more than that.</p>\n", f);
    /* the per-seed table */
    fputs("<table class=\"cmp\">\n<tr><th rowspan=\"2\">seed</th><th rowspan=\"2\">start</th>", f);
    for (int r = 0; r < c->n_runs; r++) {
        fputs("<th colspan=\"3\"><a href=\"", f);
        report_html_escape(f, c->runs[r].name);
        fputs("/index.html\">", f);
        report_html_escape(f, c->runs[r].name);
        fprintf(f, "</a> (%s)</th>", c->runs[r].method);
    }
    fputs("</tr>\n<tr>", f);
    for (int r = 0; r < c->n_runs; r++)
        fprintf(f, "<th>final</th><th>cost</th><th>at equal cost (step %d)</th>", c->runs[r].eq_step);
    fputs("</tr>\n", f);
    for (int i = 0; i < c->n_common; i++) {
        fprintf(f, "<tr><td>%u</td><td>%.4f</td>", c->common[i], seed_at(c, 0, i)->score[0]);
        for (int r = 0; r < c->n_runs; r++) {
            const cmp_run_t *run = &c->runs[r];
            const cmp_seed_t *s = seed_at(c, r, i);
            fprintf(f, "<td>%.4f</td><td>%.6g</td><td%s>%.4f</td>", s->score[run->steps], cost_after(run, run->steps),
                    c->winner[i] == r ? " class=\"win\"" : "", s->score[run->eq_step]);
        }
        fputs("</tr>\n", f);
    }
    fprintf(f, "<tr class=\"mean\"><td>mean</td><td>%.4f</td>", a->mean[0]);
    for (int r = 0; r < c->n_runs; r++) {
        const cmp_run_t *run = &c->runs[r];
        fprintf(f, "<td>%.4f</td><td>%.6g</td><td>%.4f<br>best in %d</td>", run->mean[run->steps], cost_after(run, run->steps),
                run->mean[run->eq_step], run->wins);
    }
    fprintf(f, "</tr>\n</table>\n<p>Green: the best score at equal cost for that seed (%d tie%s).</p>\n", c->ties, c->ties == 1 ? "" : "s");
    write_uncommon(f, c);
    fputs("<p class=\"files\">files: <a href=\"compare.csv\">compare.csv</a> <a href=\"compare_curve.csv\">compare_curve.csv</a> "
          "<a href=\"compare.svg\">compare.svg</a></p>\n</body>\n</html>\n", f);
}

/* ---- the entry point ---- */

typedef struct out_file {
    const char *name;
    char *buf;
    size_t size;
} out_file_t;

int report_compare_write(const char *dir, report_compare_info_t *info, sal_err_t *err) {
    memset(info, 0, sizeof *info);
    if (strlen(dir) > 4000) return sal_errf(err, "%s: path too long", dir);
    compare_t c;
    memset(&c, 0, sizeof c);
    c.dir = dir;
    int rc = list_runs(&c, err);
    for (int r = 0; rc == 0 && r < c.n_runs; r++) rc = load_run_file(&c.runs[r], err);
    for (int r = 0; rc == 0 && r < c.n_runs; r++) rc = load_seeds(&c, &c.runs[r], err);
    if (rc == 0) rc = check_runs_agree(&c, err);
    if (rc == 0) rc = find_common(&c, err);
    if (rc == 0) rc = compute(&c, err);
    /* every output in memory first: a failure here writes nothing */
    out_file_t out[4] = {{"compare.csv", NULL, 0}, {"compare_curve.csv", NULL, 0}, {"compare.svg", NULL, 0}, {"index.html", NULL, 0}};
    for (int k = 0; rc == 0 && k < 4; k++) {
        FILE *f = open_memstream(&out[k].buf, &out[k].size);
        if (!f) { rc = sal_errf(err, "out of memory"); break; }
        if (k == 0) write_csv(f, &c);
        else if (k == 1) write_curve_csv(f, &c);
        else if (k == 2) write_svg(f, &c);
        else write_index(f, &c, out[2].buf);
        if (fclose(f) != 0) rc = sal_errf(err, "out of memory");
    }
    /* each run's own report, then the comparison */
    for (int r = 0; rc == 0 && r < c.n_runs; r++) {
        int n;
        rc = report_write(c.runs[r].path, &n, err);
    }
    for (int k = 0; rc == 0 && k < 4; k++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, out[k].name);
        rc = sal_write_file_atomic(path, out[k].buf, out[k].size, err);
    }
    for (int k = 0; k < 4; k++) free(out[k].buf);
    if (rc == 0) {
        info->n_runs = c.n_runs;
        info->n_common = c.n_common;
        info->budget = c.budget;
        snprintf(info->warnings, sizeof info->warnings, "%s", c.warnings);
    }
    compare_free(&c);
    return rc;
}

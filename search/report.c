/* report.c — summary.csv and index.html of a search run (see report.h). */
#include "report.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "blob.h"
#include "figures.h"
#include "json.h"
#include "sha256.h"

typedef struct seed_entry {
    uint32_t seed;
    char folder[260];
    double start, final, ratio;
    int has_ratio, steps, candidates, img_resolution;
    char space[8];
} seed_entry_t;

static int cmp_seed(const void *a, const void *b) {
    const seed_entry_t *x = a, *y = b;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

int report_seed_folder(const char *name, uint32_t *seed) {
    if (strncmp(name, "seed", 4) != 0) return -1;
    const char *p = name + 4;
    size_t n = strlen(p);
    if (n < 4 || n > 10 || strspn(p, "0123456789") != n) return -1;
    unsigned long long v = strtoull(p, NULL, 10);
    if (v > 0xffffffffull) return -1;
    *seed = (uint32_t)v;
    return 0;
}

void report_format_option(const char *key, const json_t *v, char *buf, size_t len) {
    if (!v && !strcmp(key, "objective")) snprintf(buf, len, "max"); /* written only when not the default */
    else if (!v) snprintf(buf, len, "(absent)");
    else if (v->type == JSON_STRING) snprintf(buf, len, "%s", v->str[0] ? v->str : "(none)");
    else if (v->type == JSON_NULL) snprintf(buf, len, "(none)"); /* e.g. a grad run's radius */
    else if (v->type == JSON_BOOL) snprintf(buf, len, "%s", v->num ? "true" : "false");
    else if (v->type != JSON_NUMBER) snprintf(buf, len, "?");
    else if (!strcmp(key, "noise_mode")) snprintf(buf, len, "%s", v->num == 0 ? "const" : v->num == 1 ? "none" : v->num == 2 ? "random" : "?");
    else if (!strcmp(key, "trunc_cutoff") && v->num < 0) snprintf(buf, len, "(all)");
    else if (!strcmp(key, "fast")) snprintf(buf, len, "%s", v->num ? "on" : "off");
    else snprintf(buf, len, "%.9g", v->num);
}

void report_html_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static int write_summary(const char *outdir, const seed_entry_t *e, int n, sal_err_t *err) {
    char *buf = NULL, path[4200];
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) return sal_errf(err, "out of memory");
    fprintf(f, "seed,start_max_saliency,final_max_saliency,ratio_percent,steps,candidates,space,folder\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%u,%.9g,%.9g,", e[i].seed, e[i].start, e[i].final);
        if (e[i].has_ratio) fprintf(f, "%.4f", e[i].ratio);
        fprintf(f, ",%d,%d,%s,%s\n", e[i].steps, e[i].candidates, e[i].space, e[i].folder);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/summary.csv", outdir);
    int rc = sal_write_file_atomic(path, buf, size, err);
    free(buf);
    return rc;
}

/* `salient analyze` leaves DIR/analysis_section.html; the page carries it
 * below the seeds (rerun analyze after adding seeds to refresh it). */
static void include_analysis_section(FILE *f, const char *outdir) {
    char path[4200];
    uint8_t *data;
    size_t size;
    sal_err_t ignored;
    snprintf(path, sizeof path, "%s/analysis_section.html", outdir);
    struct stat st;
    if (stat(path, &st) != 0 || sal_read_file(path, 64u << 20, &data, &size, &ignored)) return;
    fwrite(data, 1, size, f);
    free(data);
}

/* Run-level facts for the page's header. */
typedef struct report_info {
    char network[1024], saliency[1024];
    int networks_differ;            /* seeds name different network files */
    time_t newest;                  /* newest result.json (the date, unless SOURCE_DATE_EPOCH) */
} report_info_t;

/* The current face after each step from a seed's log.csv: score, salient
 * point (x, y); and every candidate's (step, score). Returns the number of
 * steps + 1, or 0 if the log cannot be read (the page then shows no marks). */
typedef struct seed_log {
    int n;                          /* frames: steps + 1 */
    double *cur;                    /* (n) */
    int *x, *y;                     /* (n) */
    int n_cand;
    int *cand_step;                 /* (n_cand) */
    double *cand_score;             /* (n_cand) */
} seed_log_t;

static void seed_log_free(seed_log_t *l) {
    free(l->cur), free(l->x), free(l->y), free(l->cand_step), free(l->cand_score);
    memset(l, 0, sizeof *l);
}

static int seed_log_read(const char *outdir, const char *folder, seed_log_t *l) {
    char path[4200], line[512];
    memset(l, 0, sizeof *l);
    snprintf(path, sizeof path, "%s/%s/log.csv", outdir, folder);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int cap = 0, ok = 1;
    while (ok && fgets(line, sizeof line, f)) {
        int step, cand, x, y, chosen;
        double score, dist;
        if (sscanf(line, "%d,%d,%lf,%d,%d,%d,%lf", &step, &cand, &score, &x, &y, &chosen, &dist) != 7) continue; /* header */
        if (step < 0 || step > 1000 || step > l->n) { ok = 0; break; }
        if (l->n_cand >= cap || l->n >= cap) { /* one capacity for all arrays: n <= n_cand + 1 rows so far */
            int ncap = cap ? 2 * cap : 256;
            int *cs = realloc(l->cand_step, sizeof(int) * (size_t)ncap);
            if (cs) l->cand_step = cs;
            double *cv = realloc(l->cand_score, sizeof(double) * (size_t)ncap);
            if (cv) l->cand_score = cv;
            double *c = realloc(l->cur, sizeof(double) * (size_t)ncap);
            if (c) l->cur = c;
            int *px = realloc(l->x, sizeof(int) * (size_t)ncap);
            if (px) l->x = px;
            int *py = realloc(l->y, sizeof(int) * (size_t)ncap);
            if (py) l->y = py;
            if (!cs || !cv || !c || !px || !py) { ok = 0; break; }
            cap = ncap;
        }
        if (step == l->n) { /* a new step starts where the last one ended */
            l->cur[step] = step ? l->cur[step - 1] : score;
            l->x[step] = step ? l->x[step - 1] : x;
            l->y[step] = step ? l->y[step - 1] : y;
            l->n++;
        }
        if (chosen) l->cur[step] = score, l->x[step] = x, l->y[step] = y;
        if (step > 0) {
            l->cand_step[l->n_cand] = step;
            l->cand_score[l->n_cand++] = score;
        }
    }
    fclose(f);
    if (!ok) seed_log_free(l);
    return l->n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int report_is_random_blob(const char *path) {
    FILE *f = fopen(path, "rb");
    char magic[8];
    if (!f) return 0;
    int is_blob = fread(magic, 1, 8, f) == 8 && memcmp(magic, BLOB_MAGIC, 8) == 0;
    fclose(f);
    if (!is_blob) return 0;
    blob_t *b;
    sal_err_t ignored;
    if (blob_open(&b, path, 0, &ignored)) return 0;
    const blob_meta_t *m = blob_meta_find(b, "network");
    int random = m && m->type == BLOB_META_STR && m->s && !strcmp(m->s, "random");
    blob_close(b);
    return random;
}

void report_file_row(FILE *f, const char *label, const char *path) {
    char hex[65];
    sal_err_t e;
    fprintf(f, "<tr><th>%s</th><td><code>", label);
    report_html_escape(f, path);
    if (path[0] && sha256_file(path, hex, &e) == 0) fprintf(f, "</code><br>sha256 <code class=\"hash\">%s</code></td></tr>\n", hex);
    else fprintf(f, "</code><br>sha256: (file not readable when this page was made)</td></tr>\n");
}

void report_random_banner(FILE *f, const char *network) {
    if (network[0] && report_is_random_blob(network))
        fputs("<p class=\"banner\">RANDOM WEIGHTS &mdash; not faces. The generator is a <code>weightconv --random</code> "
              "blob; these images test the program, they say nothing about faces.</p>\n", f);
}

void report_date_row(FILE *f, time_t newest) {
    time_t when = newest;
    const char *sde = getenv("SOURCE_DATE_EPOCH"), *source = "day of the newest seed result";
    char *endp = NULL;
    if (sde && *sde) {
        long long v = strtoll(sde, &endp, 10);
        if (endp && !*endp && v >= 0) when = (time_t)v, source = "SOURCE_DATE_EPOCH";
    }
    struct tm tmv;
    char date[32] = "?";
    if (gmtime_r(&when, &tmv)) strftime(date, sizeof date, "%Y-%m-%d", &tmv);
    fprintf(f, "<tr><th>date</th><td>%s (UTC; %s)</td></tr>\n", date, source);
}

/* The header: what made these results, in enough detail to cite them. */
static void write_header(FILE *f, const char *outdir, const report_info_t *info, const seed_entry_t *e, int n) {
    char path[4200];
    json_t run;
    sal_err_t ignored;
    snprintf(path, sizeof path, "%s/run.json", outdir);
    struct stat st;
    int have_run = stat(path, &st) == 0 && json_load(path, &run, &ignored) == 0;
    if (have_run && run.type != JSON_OBJECT) json_free(&run), have_run = 0;
    const char *accept = have_run ? json_str(&run, "accept", "best") : "best";
    const char *objective = have_run ? json_str(&run, "objective", "max") : "max";
    report_random_banner(f, info->network);
    if (!strcmp(accept, "random"))
        fputs("<h1>Control arm: a random walk (no selection)</h1>\n", f);
    else if (!strcmp(objective, "min"))
        fputs("<h1>Mirror arm: counterfactual faces the saliency model finds less salient</h1>\n", f);
    else
        fputs("<h1>Counterfactual faces the saliency model finds more salient</h1>\n", f);
    fputs("<table class=\"meta\">\n", f);
    report_file_row(f, "network", info->network);
    if (info->networks_differ) fputs("<tr><th></th><td class=\"warn\">the seeds of this folder name different network files</td></tr>\n", f);
    report_file_row(f, "saliency model", info->saliency);
    fputs("<tr><th>options</th><td>", f);
    if (have_run) {
        for (int i = 0; i < run.n; i++) {
            const json_t *v = &run.items[i];
            fprintf(f, "%s<code>", i ? " " : "");
            report_html_escape(f, run.keys[i]);
            fputc('=', f);
            char value[256];
            report_format_option(run.keys[i], v, value, sizeof value);
            report_html_escape(f, value);
            fputs("</code>", f);
        }
        if (!json_get(&run, "objective")) fputs(" <code>objective=max</code>", f);
        json_free(&run);
    } else {
        fputs("(no run.json in this folder)", f);
    }
    fputs("</td></tr>\n", f);
    report_date_row(f, info->newest);
    fprintf(f, "<tr><th>program</th><td>salient %s</td></tr>\n</table>\n", SALIENT_VERSION);
    /* the aggregate line: change of max saliency, final - start */
    double *d = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (d && n > 0) {
        double sum = 0;
        int up = 0, down = 0;
        for (int i = 0; i < n; i++) {
            d[i] = e[i].final - e[i].start;
            sum += d[i];
            up += d[i] > 0;
            down += d[i] < 0;
        }
        qsort(d, (size_t)n, sizeof *d, cmp_double);
        double median = n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
        fprintf(f, "<p class=\"agg\">Change of max saliency (final &minus; start) over %d seed%s: mean %+.4f, median %+.4f; "
                   "improved (final &gt; start) in %d of %d seed%s, lowered in %d.</p>\n",
                n, n == 1 ? "" : "s", sum / n, median, up, n, n == 1 ? "" : "s", down);
    }
    free(d);
}

static void write_seed(FILE *f, const char *outdir, const seed_entry_t *e) {
    fprintf(f, "<div class=\"seed\" data-seed=\"%u\" data-inc=\"%.6f\" data-final=\"%.6f\">\n", e->seed,
            e->has_ratio ? e->ratio : 0.0, e->final);
    fprintf(f, "<h2>seed %u</h2>\n<p class=\"inc\">Saliency increase: %.4f &rarr; %.4f", e->seed, e->start, e->final);
    if (e->has_ratio) fprintf(f, " (%.2f%%) <span class=\"note\">(%% = final / start)</span>", e->ratio);
    fputs("</p>\n<div class=\"body\">\n<div class=\"frames\">\n", f);
    seed_log_t log;
    int frames = seed_log_read(outdir, e->folder, &log);
    const int R = e->img_resolution > 0 ? e->img_resolution : 1;
    for (int t = 0; t < frames; t++) {
        fprintf(f, "<figure class=\"frame\"><a href=\"%s/step%02d.png\"><span class=\"sq\"><img src=\"%s/step%02d.png\" "
                   "loading=\"lazy\" alt=\"seed %u, step %d\">", e->folder, t, e->folder, t, e->seed, t);
        fprintf(f, "<span class=\"pt\" style=\"left:%.2f%%;top:%.2f%%\" title=\"salient point (%d, %d)\"></span>",
                100.0 * (log.x[t] + 0.5) / R, 100.0 * (log.y[t] + 0.5) / R, log.x[t], log.y[t]);
        fprintf(f, "</span></a><figcaption>step %d<br>max %.4f</figcaption></figure>\n", t, log.cur[t]);
    }
    if (frames == 0) /* no readable log: the strip still shows the frames */
        fprintf(f, "<a href=\"%s/strip.png\"><img class=\"strip\" src=\"%s/strip.png\" alt=\"frames of seed %u\"></a>\n", e->folder,
                e->folder, e->seed);
    fputs("</div>\n<div class=\"plot\">\n", f);
    if (frames > 0) {
        char title[64];
        snprintf(title, sizeof title, "seed %u", e->seed);
        figure_plot_svg(f, log.cur, frames, log.cand_step, log.cand_score, log.n_cand, title);
    } else {
        fprintf(f, "<img src=\"%s/plot.png\" alt=\"max saliency per step, seed %u\">\n", e->folder, e->seed);
    }
    fputs("</div>\n</div>\n<p class=\"files\">files:", f);
    static const char *const names[] = {"strip.png", "plot.png", "log.csv", "latents.npy", "result.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        fprintf(f, " <a href=\"%s/%s\">%s</a>", e->folder, names[i], names[i]);
    fputs("</p>\n</div>\n", f);
    seed_log_free(&log);
}

const char REPORT_BASE_CSS[] =
    "body{font-family:sans-serif;margin:0 auto;padding:1em 1.5em;max-width:1500px;color:#222;line-height:1.4}\n"
    "h1{font-size:1.5em}\n"
    ".banner{background:#c00;color:#fff;font-weight:bold;font-size:1.3em;padding:.6em 1em;border-radius:4px}\n"
    ".banner code{color:#fff}\n"
    "table.meta{border-collapse:collapse;margin:.5em 0}\n"
    "table.meta th{text-align:left;vertical-align:top;padding:.2em 1em .2em 0;white-space:nowrap}\n"
    "table.meta td{padding:.2em 0;overflow-wrap:anywhere}\n"
    "code.hash{font-size:.85em}\n.warn{color:#c00}\n"
    ".agg{font-weight:bold;font-size:1.1em}\n";

static int write_index(const char *outdir, const report_info_t *info, const seed_entry_t *e, int n, sal_err_t *err) {
    char *buf = NULL, path[4200];
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) return sal_errf(err, "out of memory");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>salient: search results</title>\n<style>\n", f);
    fputs(REPORT_BASE_CSS, f);
    fputs(".seed{border-top:1px solid #ccc;padding:1em 0}\n"
          ".seed h2{font-size:1.1em;margin:0 0 .4em}\n"
          ".inc{font-weight:bold}\n.note{font-weight:normal;color:#555}\n"
          ".body{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}\n"
          ".frames{display:flex;flex-wrap:wrap;gap:.5em;flex:1 1 22em}\n"
          ".frame{margin:0;width:clamp(72px,11vw,160px)}\n"
          ".sq{position:relative;display:block;width:100%;aspect-ratio:1/1}\n"
          ".sq img{display:block;width:100%;height:100%;object-fit:contain;image-rendering:pixelated;background:#eee}\n"
          ".pt{position:absolute;width:14px;height:14px;margin:-7px 0 0 -7px;border:2px solid #ff1f1f;border-radius:50%;"
          "box-shadow:0 0 0 1px #fff;box-sizing:border-box}\n"
          "figcaption{font-size:.85em;text-align:center}\n"
          ".strip{max-width:100%}\n"
          ".plot{flex:0 1 520px;min-width:16em}\n.plot svg,.plot img{display:block;width:100%;height:auto}\n"
          ".files{font-size:.9em}\nbutton{margin-right:.5em}\n</style>\n</head>\n<body>\n", f);
    write_header(f, outdir, info, e, n);
    fprintf(f, "<p>%d seed%s, made with salient %s. Each seed: the current face after every step (step 0: the original), "
               "captioned with its maximum saliency, the red ring on the salient point; the maximum saliency per step "
               "with every candidate's score as grey dots; and the change.</p>\n",
            n, n == 1 ? "" : "s", SALIENT_VERSION);
    fputs("<p>Sort by: <button onclick=\"sortBy('inc',-1)\">increase</button>"
          "<button onclick=\"sortBy('final',-1)\">final saliency</button>"
          "<button onclick=\"sortBy('seed',1)\">seed</button></p>\n<div id=\"list\">\n", f);
    for (int i = 0; i < n; i++) write_seed(f, outdir, &e[i]);
    fputs("</div>\n", f);
    include_analysis_section(f, outdir);
    fputs("<script>\n"
          "function sortBy(key, dir) {\n"
          "  var list = document.getElementById('list');\n"
          "  var items = Array.prototype.slice.call(list.children);\n"
          "  items.sort(function (a, b) { return dir * (parseFloat(a.dataset[key]) - parseFloat(b.dataset[key])); });\n"
          "  items.forEach(function (el) { list.appendChild(el); });\n"
          "}\nsortBy('inc', -1);\n</script>\n</body>\n</html>\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/index.html", outdir);
    int rc = sal_write_file_atomic(path, buf, size, err);
    free(buf);
    return rc;
}

int report_write(const char *outdir, int *n_seeds, sal_err_t *err) {
    *n_seeds = 0;
    if (strlen(outdir) > 4000) return sal_errf(err, "%s: path too long", outdir);
    DIR *d = opendir(outdir);
    if (!d) return sal_errf(err, "%s: cannot open the run directory", outdir);
    seed_entry_t *e = NULL;
    report_info_t info;
    memset(&info, 0, sizeof info);
    int n = 0, cap = 0, rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        uint32_t seed;
        if (report_seed_folder(de->d_name, &seed)) continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s/result.json", outdir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue; /* unfinished seed */
        json_t j;
        if (json_load(path, &j, err)) { rc = -1; break; }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            seed_entry_t *ne = realloc(e, sizeof *e * (size_t)cap);
            if (!ne) { json_free(&j); rc = sal_errf(err, "out of memory"); break; }
            e = ne;
        }
        seed_entry_t *x = &e[n];
        memset(x, 0, sizeof *x);
        const json_t *params = json_get(&j, "parameters");
        const json_t *ratio = json_get(&j, "ratio_percent");
        if (!json_get(&j, "seed") || !json_get(&j, "start_max_saliency") || !json_get(&j, "final_max_saliency") || !params) {
            json_free(&j);
            rc = sal_errf(err, "%s: not a salient result file", path);
            break;
        }
        x->seed = (uint32_t)json_num(&j, "seed", 0);
        snprintf(x->folder, sizeof x->folder, "%s", de->d_name);
        x->start = json_num(&j, "start_max_saliency", 0);
        x->final = json_num(&j, "final_max_saliency", 0);
        x->has_ratio = ratio && ratio->type == JSON_NUMBER;
        x->ratio = x->has_ratio ? ratio->num : 0;
        x->steps = (int)json_num(params, "steps", 0);
        x->candidates = (int)json_num(params, "candidates", 0);
        x->img_resolution = (int)json_num(params, "img_resolution", 0);
        const char *net = json_str(params, "network", ""), *sal = json_str(params, "saliency_model", "");
        if (n == 0) {
            snprintf(info.network, sizeof info.network, "%s", net);
            snprintf(info.saliency, sizeof info.saliency, "%s", sal);
        } else if (strcmp(info.network, net) != 0) {
            info.networks_differ = 1;
        }
        if (st.st_mtime > info.newest) info.newest = st.st_mtime;
        snprintf(x->space, sizeof x->space, "%s", json_str(params, "space", "?"));
        json_free(&j);
        n++;
    }
    closedir(d);
    if (rc == 0 && n == 0)   /* keep whatever summary is there; an empty one helps no one */
        rc = sal_errf(err, "%s: no finished seeds (no seedNNNN/result.json): nothing to report", outdir);
    if (rc == 0) {
        if (n > 1) qsort(e, (size_t)n, sizeof *e, cmp_seed);
        rc = write_summary(outdir, e, n, err);
        if (rc == 0) rc = write_index(outdir, &info, e, n, err);
    }
    free(e);
    *n_seeds = n;
    return rc;
}

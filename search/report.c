/* report.c — summary.csv and index.html of a search run (see report.h). */
#include "report.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"

typedef struct seed_entry {
    uint32_t seed;
    char folder[260];
    double start, final, ratio;
    int has_ratio, steps, candidates;
    char space[8];
} seed_entry_t;

static int cmp_seed(const void *a, const void *b) {
    const seed_entry_t *x = a, *y = b;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

/* seedNNNN folder names (at least 4 digits, any value < 2^32). */
static int parse_folder(const char *name, uint32_t *seed) {
    if (strncmp(name, "seed", 4) != 0) return -1;
    const char *p = name + 4;
    size_t n = strlen(p);
    if (n < 4 || n > 10 || strspn(p, "0123456789") != n) return -1;
    unsigned long long v = strtoull(p, NULL, 10);
    if (v > 0xffffffffull) return -1;
    *seed = (uint32_t)v;
    return 0;
}

static void html_escape(FILE *f, const char *s) {
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

static int write_index(const char *outdir, const seed_entry_t *e, int n, sal_err_t *err) {
    char *buf = NULL, path[4200];
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) return sal_errf(err, "out of memory");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>salient: more salient counterfactual faces</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;color:#222}\n"
          ".seed{border-top:1px solid #ccc;padding:1em 0}\n"
          ".seed h2{font-size:1.1em;margin:0 0 .4em}\n"
          ".seed img{max-width:100%;vertical-align:top;margin:.2em .5em .2em 0}\n"
          ".inc{font-weight:bold}\nbutton{margin-right:.5em}\n</style>\n</head>\n<body>\n", f);
    fprintf(f, "<h1>Counterfactual faces the saliency model finds more salient</h1>\n"
               "<p>%d seed%s, made with salient %s. Each row: the frames of the random search "
               "(left: the original face), the maximum saliency after each step, and the increase.</p>\n",
            n, n == 1 ? "" : "s", SALIENT_VERSION);
    fputs("<p>Sort by: <button onclick=\"sortBy('inc',-1)\">increase</button>"
          "<button onclick=\"sortBy('final',-1)\">final saliency</button>"
          "<button onclick=\"sortBy('seed',1)\">seed</button></p>\n<div id=\"list\">\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "<div class=\"seed\" data-seed=\"%u\" data-inc=\"%.6f\" data-final=\"%.6f\">\n", e[i].seed,
                e[i].has_ratio ? e[i].ratio : 0.0, e[i].final);
        fprintf(f, "<h2>seed %u</h2>\n<p class=\"inc\">Saliency increase: %.4f &rarr; %.4f", e[i].seed, e[i].start, e[i].final);
        if (e[i].has_ratio) fprintf(f, " (%.2f%%)", e[i].ratio);
        fputs("</p>\n", f);
        fprintf(f, "<a href=\"");
        html_escape(f, e[i].folder);
        fprintf(f, "/strip.png\"><img src=\"");
        html_escape(f, e[i].folder);
        fprintf(f, "/strip.png\" alt=\"frames of seed %u\" height=\"200\"></a>\n<img src=\"", e[i].seed);
        html_escape(f, e[i].folder);
        fprintf(f, "/plot.png\" alt=\"max saliency per step, seed %u\" height=\"200\">\n</div>\n", e[i].seed);
    }
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
    int n = 0, cap = 0, rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        uint32_t seed;
        if (parse_folder(de->d_name, &seed)) continue;
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
        if (rc == 0) rc = write_index(outdir, e, n, err);
    }
    free(e);
    *n_seeds = n;
    return rc;
}

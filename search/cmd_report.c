/* cmd_report.c — `salient report DIR`: rebuild DIR/summary.csv and
 * DIR/index.html from the seed folders present (e.g. after merging the
 * outputs of sharded or multi-machine runs into one folder); or, for a
 * comparison folder (runs as subfolders), the comparison at equal compute. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "report.h"

static const char USAGE[] =
    "usage: salient report DIR\n"
    "\n"
    "Rebuilds DIR/summary.csv and DIR/index.html from every finished seed folder\n"
    "(DIR/seedNNNN/result.json). Use it after copying the seed folders of runs made\n"
    "on several machines or shards into one folder. Exits 1 (and writes nothing)\n"
    "when DIR holds no finished seed.\n"
    "\n"
    "Comparison folder: when DIR has no run.json and no seed folders of its own but\n"
    "subfolders that are search runs (each with run.json), e.g.\n"
    "    salient search ... --outdir cmp/random --steps 5 --candidates 16\n"
    "    salient search ... --outdir cmp/grad --method grad --steps 34\n"
    "    salient report cmp\n"
    "it rebuilds each run's report and compares the runs at equal compute over the\n"
    "seeds finished in all of them. Cost is counted in forward-equivalents: the score\n"
    "after step t costs 1 + t*K for a random search (K candidates per step) and\n"
    "1 + t*C for gradient ascent (C = grad_cost of its run.json, one forward and\n"
    "backward pass). Writes DIR/compare.csv (per seed and run: final score and cost,\n"
    "the score at equal cost = after the last step costing at most the smallest total\n"
    "cost of the runs, who wins; then a 'mean' row per run), DIR/compare_curve.csv and\n"
    "DIR/compare.svg (mean max saliency vs cost, +-1 standard error) and\n"
    "DIR/index.html. Runs of different networks, saliency models, truncation, noise\n"
    "mode or objective are refused; different spaces or --fast are noted. Exits 1,\n"
    "writing nothing, when a run or result file is damaged or no seed is common to\n"
    "all runs. See docs/search.md, \"Comparing methods at equal compute\".\n";

int cmd_report(int argc, char **argv) {
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "salient report: unexpected argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
        dir = argv[i];
    }
    if (!dir) {
        fputs(USAGE, stderr);
        return 2;
    }
    sal_err_t err = {{0}};
    if (report_is_comparison(dir)) {
        report_compare_info_t info;
        if (report_compare_write(dir, &info, &err)) {
            fprintf(stderr, "salient report: %s\n", err.msg);
            return 1;
        }
        if (info.warnings[0]) fprintf(stderr, "salient report: warning: %s\n", info.warnings);
        fprintf(stderr, "salient report: %d runs, %d seed%s in all of them, equal cost %.6g forward-equivalents: wrote each run's "
                        "report and %s/compare.csv, compare_curve.csv, compare.svg, index.html\n",
                info.n_runs, info.n_common, info.n_common == 1 ? "" : "s", info.budget, dir);
        return 0;
    }
    int n = 0;
    if (report_write(dir, &n, &err)) {
        fprintf(stderr, "salient report: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "salient report: %d finished seed%s: wrote %s/summary.csv and %s/index.html\n", n, n == 1 ? "" : "s", dir, dir);
    return 0;
}

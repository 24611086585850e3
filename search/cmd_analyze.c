/* cmd_analyze.c — `salient analyze DIR [DIR...]`: measured attributes of the
 * first and final faces of search folders, their statistics, and the
 * comparison between folders (arms) paired by seed (see analysis.h and
 * docs/analysis.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "cli.h"
#include "commands.h"

static const char USAGE[] =
    "usage: salient analyze [options] DIR [DIR...]\n"
    "\n"
    "Measures objective attributes of the faces of `salient search` folders: skin\n"
    "L*, ITA, hue, b*, chroma and texture inside the skin zones fixed by the FFHQ\n"
    "alignment, face brightness and contrast, how much the image changed inside and\n"
    "outside the face, the distance moved in the latent and where the salient point\n"
    "sits. Every seed's first and final face (and each step) is measured; the change\n"
    "gets a mean and median with bootstrap 95% CIs and the share of seeds that went\n"
    "up. With several folders (arms, e.g. the study and a control run with the same\n"
    "seeds) seeds are paired by number and the first folder is compared with each\n"
    "other one: mean difference of the change, its CI and a sign-flip permutation p.\n"
    "\n"
    "Writes analysis.csv, analysis_steps.csv, analysis.json, analysis.html and the\n"
    "figures into the output folder, prints the summary, and adds the analysis\n"
    "section to its index.html when it is a search folder.\n"
    "\n"
    "options:\n"
    "  --out DIR            where to write (default: the first DIR)\n"
    "  --bootstrap N        bootstrap resamples per CI (default 2000)\n"
    "  --permutations N     random sign flips per p-value when n > 16 (default 10000;\n"
    "                       exact enumeration up to 16 seeds)\n"
    "  --rng-seed N         seed of the bootstrap / permutation streams (default 0)\n"
    "  -q, --quiet          no progress lines\n"
    "  -h, --help           this text\n"
    "\n"
    "Details: docs/analysis.md.\n";

int cmd_analyze(int argc, char **argv) {
    analysis_opts_t o = {NULL, ANALYSIS_DEFAULT_BOOTSTRAP, ANALYSIS_DEFAULT_PERMUTATIONS, 0, 0};
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    if (!dirs) {
        fprintf(stderr, "salient analyze: out of memory\n");
        return 1;
    }
    int n_dirs = 0, bad = 0;
    sal_err_t err = {{0}};
    for (int i = 1; i < argc && !bad; i++) {
        const char *val = NULL;
        int m;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(USAGE, stdout);
            free(dirs);
            return 0;
        }
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            o.quiet = 1;
        } else if ((m = cli_value(argc, argv, &i, "--out", &val, &err)) != 0) {
            if (m < 0) bad = 1;
            else o.outdir = val;
        } else if ((m = cli_value(argc, argv, &i, "--bootstrap", &val, &err)) != 0) {
            bad = m < 0 || cli_int("--bootstrap", val, 100, 1000000, &o.bootstrap, &err);
        } else if ((m = cli_value(argc, argv, &i, "--permutations", &val, &err)) != 0) {
            bad = m < 0 || cli_int("--permutations", val, 100, 10000000, &o.permutations, &err);
        } else if ((m = cli_value(argc, argv, &i, "--rng-seed", &val, &err)) != 0) {
            double v = 0;
            bad = m < 0 || cli_double("--rng-seed", val, 0, 4294967295.0, &v, &err);
            if (!bad && v != (double)(uint32_t)v) bad = sal_errf(&err, "--rng-seed: expected an integer in 0..4294967295, got '%s'", val) != 0;
            o.rng_seed = (uint32_t)v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            sal_errf(&err, "unknown option '%s' (see --help)", argv[i]);
            bad = 1;
        } else {
            dirs[n_dirs++] = argv[i];
        }
    }
    if (!bad && n_dirs == 0) {
        sal_errf(&err, "no search folder given (see --help)");
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "salient analyze: %s\n", err.msg);
        free(dirs);
        return 2;
    }
    analysis_t an;
    if (analysis_measure(dirs, n_dirs, &o, &an, &err)) {
        fprintf(stderr, "salient analyze: %s\n", err.msg);
        free(dirs);
        return 1;
    }
    free(dirs);
    if (analysis_write(&an, &err)) {
        fprintf(stderr, "salient analyze: %s\n", err.msg);
        analysis_free(&an);
        return 1;
    }
    analysis_print_summary(&an, stdout);
    if (!o.quiet) fprintf(stderr, "salient analyze: wrote %s/analysis.csv, analysis.json, analysis.html\n", an.outdir);
    analysis_free(&an);
    return 0;
}

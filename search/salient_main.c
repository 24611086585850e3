/* salient_main.c — bin/salient: one program, several subcommands.
 *
 *   salient generate  images from seeds or latents (StyleGAN2-ADA)
 *   salient saliency  max saliency of images (Twitter's fastgaze model)
 *   salient search    random search for more salient faces (the study)
 *   salient report    rebuild summary.csv and index.html of a search run, or compare runs
 *   salient analyze   measured attributes of the faces, statistics, arms compared
 *   salient bench     speed benchmark
 *   salient selftest  the SIMD kernels against their naive references
 *   salient grad      gradient of the saliency objective w.r.t. the latent
 *   salient direction the population saliency direction in latent space
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common.h"

/* Subcommands whose source file is not in this build are weak and NULL. */
#pragma weak cmd_generate
#pragma weak cmd_saliency
#pragma weak cmd_search
#pragma weak cmd_report
#pragma weak cmd_bench
#pragma weak cmd_selftest
#pragma weak cmd_analyze
#pragma weak cmd_grad
#pragma weak cmd_direction

typedef struct subcommand {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} subcommand_t;

static void usage(FILE *f, const subcommand_t *cmds, int n) {
    fprintf(f, "salient %s — StyleGAN2-ADA + saliency model on the CPU\n\n", SALIENT_VERSION);
    fprintf(f, "usage: salient COMMAND [options]   (salient COMMAND --help for its options)\n\ncommands:\n");
    for (int i = 0; i < n; i++)
        if (cmds[i].run) fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
}

int main(int argc, char **argv) {
    sal_signals_init();
    const subcommand_t cmds[] = {
        {"generate", cmd_generate, "generate face images from seeds or latents"},
        {"saliency", cmd_saliency, "score images with the saliency model"},
        {"search", cmd_search, "random search for more salient counterfactual faces"},
        {"report", cmd_report, "rebuild a run folder's summary.csv and index.html; compare runs at equal compute"},
        {"analyze", cmd_analyze, "measure the faces of search folders and compare arms"},
        {"grad", cmd_grad, "gradient of max saliency with respect to the latent (white-box)"},
        {"direction", cmd_direction, "the latent direction that makes faces more salient on average"},
        {"bench", cmd_bench, "measure the speed of the kernels and networks"},
        {"selftest", cmd_selftest, "check the SIMD kernels against their naive references"},
    };
    const int n = (int)(sizeof cmds / sizeof cmds[0]);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout, cmds, n);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("salient %s\n", SALIENT_VERSION);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (cmds[i].run && !strcmp(argv[1], cmds[i].name)) return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "salient: unknown command '%s' (try salient --help)\n", argv[1]);
    return 2;
}

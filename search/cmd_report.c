/* cmd_report.c — `salient report DIR`: rebuild DIR/summary.csv and
 * DIR/index.html from the seed folders present (e.g. after merging the
 * outputs of sharded or multi-machine runs into one folder). */
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
    "when DIR holds no finished seed.\n";

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
    int n = 0;
    if (report_write(dir, &n, &err)) {
        fprintf(stderr, "salient report: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "salient report: %d finished seed%s: wrote %s/summary.csv and %s/index.html\n", n, n == 1 ? "" : "s", dir, dir);
    return 0;
}

/* cmd_search.c — `salient search`: the study end to end, for many seeds:
 * parse and check the options, load the two models once, run every seed
 * (resumable), then write the run's summary.csv and index.html. */
#include <stdio.h>

#include "commands.h"
#include "report.h"
#include "search_cli.h"
#include "startup_check.h"

int cmd_search(int argc, char **argv) {
    search_cli_t cli;
    int rc = search_cli_parse(argc, argv, "salient search", 1, &cli);
    if (rc) return rc == 1 ? 0 : 2;
    search_session_t s;
    sal_err_t err = {{0}};
    int n_done = 0;
    ks_startup_t check; /* the kernels of both networks, before they are loaded */
    rc = startup_check("salient search", KS_GENERATOR | KS_SALIENCY | (cli.p.fast ? KS_FAST : 0), &check, &err);
    if (rc) {
        fprintf(stderr, "salient search: %s\n", err.msg);
        search_cli_free(&cli);
        return 1;
    }
    search_cli_catch_interrupts(0);
    rc = search_session_open(&s, &cli, 1, &err);
    if (rc == 0) rc = startup_check_record(&check, cli.p.outdir, &err);
    if (rc == 0) rc = search_session_run(&s, &err);
    if (rc == 0) rc = report_write(cli.p.outdir, &n_done, &err);
    if (rc == 0) {
        search_session_print_summary(&s, "salient search: done in");
        if (!cli.quiet)
            fprintf(stderr, "salient search: %d finished seed%s in %s: open %s/index.html\n", n_done, n_done == 1 ? "" : "s",
                    cli.p.outdir, cli.p.outdir);
    } else {
        fprintf(stderr, "salient search: %s\n", err.msg);
    }
    search_session_close(&s);
    search_cli_free(&cli);
    return rc ? 1 : 0;
}

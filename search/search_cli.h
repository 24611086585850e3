/* search_cli.h — the search's command line and session, shared by
 * `salient search` (search/cmd_search.c) and `salient-mpi`
 * (search/salient_mpi_main.c). */
#ifndef SALIENT_SEARCH_CLI_H
#define SALIENT_SEARCH_CLI_H

#include "search.h"
#include "seedlist.h"

typedef struct search_cli {
    const char *prog;          /* for messages: "salient search" */
    search_params_t p;
    seedlist_t seeds;          /* this process's seeds (after --shard) */
    int threads;
    int quiet;
    double budget;             /* --budget F (forward-equivalents per seed), 0: none; sets the steps */
    double grad_cost;          /* --grad-cost C for --method grad, 0: measure it */
} search_cli_t;

/* Parses the options. Returns 0 to go on, 1 if --help was printed (exit 0),
 * 2 after printing a usage error (exit 2). allow_shard: accept --shard and
 * the Slurm array variables. */
int search_cli_parse(int argc, char **argv, const char *prog, int allow_shard, search_cli_t *cli);
void search_cli_free(search_cli_t *cli);

/* Everything one process needs to run seeds. */
typedef struct search_session {
    const search_cli_t *cli;
    blob_t *gblob, *sblob;
    sg2_net_t *net;
    saliency_model_t sal;
    int sal_ok, ctx_ok;
    search_ctx_t ctx;
    double t_open, t_load, t_start;
    long images_total;
    long zero_grad_told;       /* ctx.zero_grad_steps already reported */
    int seed_index;
    int seeds_skipped;         /* seeds found finished (--resume) */
    unsigned char *existed;    /* (seeds.n) 1 if the seed's folder was there at the start */
    int tty;
} search_session_t;

/* Creates the output folder (it must be writable), loads both models, checks
 * them against each other and the options, and (if check_run_file) records
 * or checks DIR/run.json so a resumed run cannot mix options. For --method
 * grad it settles grad_cost first: the folder's run.json value when it has
 * one (a resume keeps it), else --grad-cost, else measured (and printed);
 * then --budget sets the steps. s->ctx.p holds the options in force. */
int search_session_open(search_session_t *s, const search_cli_t *cli, int check_run_file, sal_err_t *err);
/* Runs one seed; index (the position in cli->seeds) and total feed the
 * progress line; flags and the SEARCH_SEED_BUSY return as search_seed's. A
 * seed folder that was not there when the session opened was made by
 * another process writing into the same folder (same run.json): it is
 * continued as with --resume. */
int search_session_seed(search_session_t *s, int index, int total, uint32_t seed, int flags, sal_err_t *err);
/* Runs all seeds of cli->seeds. A seed another process is searching (its
 * lock is held) is put off to the end; then this process waits for it and
 * continues what is left, usually nothing (two runs into one folder share
 * the work and both end with the complete summary). */
int search_session_run(search_session_t *s, sal_err_t *err);
/* For main(): on SIGINT/SIGTERM print "interrupted; run the same command
 * with --resume to continue" (prog salient-mpi if mpi) and die of the signal. */
void search_cli_catch_interrupts(int mpi);
/* The closing line: where the time went. */
void search_session_print_summary(const search_session_t *s, const char *label);
void search_session_close(search_session_t *s);

#endif

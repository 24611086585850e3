/* salient_mpi_main.c — bin/salient-mpi (built by `make MPI=1`): the search
 * spread over MPI ranks.
 *
 *   mpirun -np R bin/salient-mpi --network NET --saliency MODEL --seeds 0-999 ...
 *
 * Same options and the same per-seed files as `salient search`. Seeds are
 * handed out dynamically: rank 0 runs a small dispatcher thread that gives
 * the next seed of the list to whichever rank asks (rank 0 works on seeds
 * too), so slow seeds do not leave other ranks idle. Every rank writes its
 * own seed folders; rank 0 writes summary.csv and index.html at the end.
 * Each finished seed is complete on disk, so after a crash `--resume`
 * finishes the rest (finished seeds are skipped). Threads per rank: --threads.
 */
#include <fcntl.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "search_cli.h"
#include "startup_check.h"

enum { TAG_REQUEST = 1, TAG_SEED = 2 };

/* The seed counter, shared by rank 0's worker and its dispatcher thread. */
typedef struct dispatcher {
    pthread_mutex_t lock;
    int next;          /* next position in the seed list */
    int n;             /* list length */
    int ranks;         /* MPI world size */
} dispatcher_t;

static int take_next(dispatcher_t *d) {
    pthread_mutex_lock(&d->lock);
    int i = d->next < d->n ? d->next++ : -1;
    pthread_mutex_unlock(&d->lock);
    return i;
}

/* Answers "next seed?" requests from ranks 1..R-1 until each got a -1. */
static void *dispatch(void *arg) {
    dispatcher_t *d = arg;
    int finished = 0;
    const struct timespec nap = {0, 2000000}; /* 2 ms: no busy waiting */
    while (finished < d->ranks - 1) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            nanosleep(&nap, NULL);
            continue;
        }
        int dummy;
        MPI_Recv(&dummy, 1, MPI_INT, st.MPI_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        int i = take_next(d);
        MPI_Send(&i, 1, MPI_INT, st.MPI_SOURCE, TAG_SEED, MPI_COMM_WORLD);
        if (i < 0) finished++;
    }
    return NULL;
}

static int ask_rank0(void) {
    int dummy = 0, i;
    MPI_Send(&dummy, 1, MPI_INT, 0, TAG_REQUEST, MPI_COMM_WORLD);
    MPI_Recv(&i, 1, MPI_INT, 0, TAG_SEED, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return i;
}

int main(int argc, char **argv) {
    int provided = 0, rank = 0, size = 1;
    sal_signals_init();
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    /* Parse on every rank; only rank 0 speaks about the command line. */
    search_cli_t cli;
    int saved_out = dup(1), saved_err = dup(2);
    if (rank != 0) {
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) { dup2(fd, 2); close(fd); }
    }
    int rc = search_cli_parse(argc, argv, "salient-mpi", 0, &cli);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    if (rc) {
        MPI_Finalize();
        return rc == 1 ? 0 : 2;
    }
    if (size > 1 && provided < MPI_THREAD_MULTIPLE) {
        if (rank == 0) fprintf(stderr, "salient-mpi: this MPI library does not provide MPI_THREAD_MULTIPLE, which the seed dispatcher needs\n");
        MPI_Finalize();
        return 1;
    }
    if (rank != 0) cli.quiet = 1 + cli.quiet; /* one progress voice: rank 0's */
    if (rank == 0) search_cli_catch_interrupts(1);

    /* Rank 0 creates the folder and checks run.json first; then the others. */
    search_session_t s;
    sal_err_t err = {{0}};
    int ok = 1, all_ok = 0;
    /* every rank checks the kernels of its own node */
    char prog[48];
    snprintf(prog, sizeof prog, "salient-mpi: rank %d", rank);
    ks_startup_t check;
    if (startup_check(prog, KS_GENERATOR | KS_SALIENCY | (cli.p.fast ? KS_FAST : 0), &check, &err)) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) ok = search_session_open(&s, &cli, 1, &err) == 0;
    if (rank == 0 && ok && startup_check_record(&check, cli.p.outdir, &err)) ok = 0;
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0 && !ok) fprintf(stderr, "salient-mpi: %s\n", err.msg);
    if (rank != 0 && ok) {
        ok = search_session_open(&s, &cli, 0, &err) == 0;
        if (!ok) fprintf(stderr, "salient-mpi: rank %d: %s\n", rank, err.msg);
    }
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) {
        if (ok) search_session_close(&s);
        search_cli_free(&cli);
        MPI_Finalize();
        return 1;
    }

    dispatcher_t d = {.next = 0, .n = cli.seeds.n, .ranks = size};
    pthread_mutex_init(&d.lock, NULL);
    pthread_t thread;
    int have_thread = rank == 0 && size > 1 && pthread_create(&thread, NULL, dispatch, &d) == 0;
    if (rank == 0 && size > 1 && !have_thread) {
        fprintf(stderr, "salient-mpi: cannot start the dispatcher thread\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0 && !cli.quiet) fprintf(stderr, "salient-mpi: %d rank%s share %d seeds\n", size, size == 1 ? "" : "s", cli.seeds.n);
    int mine = 0;
    for (;;) {
        int i = rank == 0 ? take_next(&d) : ask_rank0();
        if (i < 0) break;
        int r = search_session_seed(&s, i, cli.seeds.n, cli.seeds.seeds[i], 0, &err);
        if (r == SEARCH_SEED_BUSY) { /* another job writes into this folder: let it finish the seed */
            if (!cli.quiet) fprintf(stderr, "salient-mpi: rank %d: %s; waiting for it\n", rank, err.msg);
            r = search_session_seed(&s, i, cli.seeds.n, cli.seeds.seeds[i], SEARCH_SEED_WAIT, &err);
        }
        if (r) {
            fprintf(stderr, "salient-mpi: rank %d: %s\n", rank, err.msg);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        mine++;
    }
    if (have_thread) pthread_join(thread, NULL);
    pthread_mutex_destroy(&d.lock);
    char label[64];
    snprintf(label, sizeof label, "salient-mpi: rank %d: %d seed%s in", rank, mine, mine == 1 ? "" : "s");
    cli.quiet = rank == 0 ? cli.quiet : cli.quiet - 1;
    search_session_print_summary(&s, label);
    MPI_Barrier(MPI_COMM_WORLD);
    rc = 0;
    if (rank == 0) {
        int n_done = 0;
        if (report_write(cli.p.outdir, &n_done, &err)) {
            fprintf(stderr, "salient-mpi: %s\n", err.msg);
            rc = 1;
        } else if (!cli.quiet) {
            fprintf(stderr, "salient-mpi: %d finished seed%s in %s: open %s/index.html\n", n_done, n_done == 1 ? "" : "s",
                    cli.p.outdir, cli.p.outdir);
        }
    }
    search_session_close(&s);
    search_cli_free(&cli);
    MPI_Finalize();
    return rc;
}

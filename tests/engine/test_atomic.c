/* test_atomic.c — the atomic writes and lock files of engine/common.c:
 * every failed write names the file and its cause (a missing folder, a file
 * size limit as `ulimit -f` sets it, which must not kill the process), no
 * temporary file is left behind, stale temporary files of dead processes
 * are removed (only ours, only this host's, only the same target), the lock
 * file excludes a second holder, names the holder, and is free again after
 * its holder dies (as on kill -9); sal_dir_check_writable. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common.h"

/* Number of files in dir whose name starts with prefix. */
static int count_prefix(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void touch(const char *path) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("partial", f);
        fclose(f);
    }
}

/* The pid of a process that has already exited (and been reaped). */
static long dead_pid(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

int main(void) {
    test_ctx_t t = test_begin("atomic");
    char path[1200], tmp[1400], dir[1100];
    sal_err_t err;
    snprintf(dir, sizeof dir, "%s", t.tmp);

    /* --- success: the bytes arrive, no temporary file stays ---------------------- */
    test_tmp(&t, "ok.bin", path, sizeof path);
    CHECK(&t, sal_write_file_atomic(path, "hello", 5, &err) == 0, "%s", err.msg);
    uint8_t *data = NULL;
    size_t size = 0;
    CHECK(&t, sal_read_file(path, 100, &data, &size, &err) == 0 && size == 5 && memcmp(data, "hello", 5) == 0, "read back");
    free(data);
    CHECK(&t, count_prefix(dir, "ok.bin.tmp.") == 0, "temporary file left after success");

    /* --- a missing folder: the message names the file and the cause --------------- */
    memset(&err, 0, sizeof err);
    CHECK(&t, sal_write_file_atomic("/nonexistent-salient-dir/x.json", "x", 1, &err) == -1, "write into a missing folder");
    CHECK(&t, strstr(err.msg, "/nonexistent-salient-dir/x.json") && strstr(err.msg, strerror(ENOENT)), "message: '%s'", err.msg);

    /* --- the file size limit (ulimit -f): EFBIG with a message, not SIGXFSZ ------- */
    sal_signals_init();
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    int limited = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    CHECK(&t, limited, "cannot set RLIMIT_FSIZE");
    size_t big_n = 1 << 20;
    char *big = calloc(big_n, 1);
    test_tmp(&t, "big.bin", path, sizeof path);
    memset(&err, 0, sizeof err);
    int rc = sal_write_file_atomic(path, big, big_n, &err);
    CHECK(&t, rc == -1, "a 1 MB write under a 4 KB limit succeeded");
    CHECK(&t, err.msg[0] && strstr(err.msg, path) && strstr(err.msg, strerror(EFBIG)), "message: '%s'", err.msg);
    CHECK(&t, !file_exists(path) && count_prefix(dir, "big.bin.tmp.") == 0, "a failed write left a file");
    /* in pieces, with plain fwrite (as the blob writer does): sal_atomic_end names the cause */
    test_tmp(&t, "pieces.bin", path, sizeof path);
    sal_atomic_t a;
    memset(&err, 0, sizeof err);
    CHECK(&t, sal_atomic_begin(&a, path, &err) == 0, "%s", err.msg);
    int ok = 1;
    for (int i = 0; i < 64 && ok; i++) ok = fwrite(big, 1, 16384, a.f) == 16384;
    CHECK(&t, !ok, "fwrite beyond the limit did not fail");
    rc = sal_atomic_end(&a, ok, &err);
    CHECK(&t, rc == -1 && strstr(err.msg, path) && strstr(err.msg, strerror(EFBIG)), "rc %d, message: '%s'", rc, err.msg);
    CHECK(&t, !file_exists(path) && count_prefix(dir, "pieces.bin.tmp.") == 0, "a failed write left a file");
    /* a small write still works under the limit (the flush happens in sal_atomic_end) */
    test_tmp(&t, "small.bin", path, sizeof path);
    CHECK(&t, sal_write_file_atomic(path, big, 1000, &err) == 0, "%s", err.msg);
    /* a write that fits in the stdio buffer but not the limit fails at the flush */
    test_tmp(&t, "buffered.bin", path, sizeof path);
    memset(&err, 0, sizeof err);
    CHECK(&t, sal_atomic_begin(&a, path, &err) == 0, "%s", err.msg);
    CHECK(&t, sal_atomic_write(&a, big, 4000, &err) == 0 && sal_atomic_write(&a, big, 4000, &err) <= 0, "%s", err.msg);
    rc = sal_atomic_end(&a, 1, &err);
    CHECK(&t, rc == -1 && strstr(err.msg, path) && strstr(err.msg, strerror(EFBIG)), "rc %d, message: '%s'", rc, err.msg);
    CHECK(&t, !file_exists(path) && count_prefix(dir, "buffered.bin.tmp.") == 0, "a failed write left a file");
    if (limited) setrlimit(RLIMIT_FSIZE, &old);
    free(big);

    /* --- stale temporary files: only dead processes' of this host and target ------ */
    test_tmp(&t, "target.npy", path, sizeof path);
    long dead = dead_pid();
    char stale[1400], legacy[1400], live[1400], other_host[1400], other_target[1400], other_path[1200];
    sal_atomic_tmp_path(path, dead, stale, sizeof stale);
    snprintf(legacy, sizeof legacy, "%s.tmp.%ld", path, dead);
    sal_atomic_tmp_path(path, (long)getppid(), live, sizeof live);
    snprintf(other_host, sizeof other_host, "%s.tmp.some-other-node.%ld", path, dead);
    test_tmp(&t, "target.npy.old", other_path, sizeof other_path);
    sal_atomic_tmp_path(other_path, dead, other_target, sizeof other_target);
    const char *made[5] = {stale, legacy, live, other_host, other_target};
    for (int i = 0; i < 5; i++) touch(made[i]);
    CHECK(&t, sal_write_file_atomic(path, "npy", 3, &err) == 0, "%s", err.msg);
    CHECK(&t, !file_exists(stale), "stale temporary file of a dead process kept: %s", stale);
    CHECK(&t, !file_exists(legacy), "stale temporary file of the old naming kept: %s", legacy);
    CHECK(&t, file_exists(live), "the temporary file of a live process was removed");
    CHECK(&t, file_exists(other_host), "another host's temporary file was removed");
    CHECK(&t, file_exists(other_target), "another target's temporary file was removed");
    for (int i = 0; i < 5; i++) remove(made[i]);
    snprintf(tmp, sizeof tmp, "%s", stale);
    CHECK(&t, strstr(tmp, ".tmp.") && strrchr(tmp, '.') && atol(strrchr(tmp, '.') + 1) == dead, "temporary name '%s'", tmp);

    /* --- lock files ---------------------------------------------------------------- */
    test_tmp(&t, "seed0003.lock", path, sizeof path);
    remove(path);
    sal_lock_t l1, l2;
    char holder[200], want[64];
    CHECK(&t, sal_lock_take(&l1, path, 0, holder, sizeof holder, &err) == 0, "%s", err.msg);
    snprintf(want, sizeof want, "pid %ld on ", (long)getpid());
    data = NULL;
    CHECK(&t, sal_read_file(path, 1000, &data, &size, &err) == 0 && strncmp((char *)data, want, strlen(want)) == 0,
          "lock file does not name its holder");
    free(data);
    /* flock locks belong to the open file: a second open in this process conflicts too */
    CHECK(&t, sal_lock_take(&l2, path, 0, holder, sizeof holder, &err) == 1, "a held lock was taken twice");
    CHECK(&t, strncmp(holder, want, strlen(want)) == 0, "holder '%s', want '%s...'", holder, want);
    CHECK(&t, l2.fd == -1, "busy lock left an fd");
    sal_lock_release(&l1);
    CHECK(&t, !file_exists(path), "release left the lock file");
    CHECK(&t, sal_lock_take(&l2, path, 0, holder, sizeof holder, &err) == 0, "lock not free after release: %s", err.msg);
    sal_lock_release(&l2);
    /* a holder that dies without releasing (kill -9): the kernel frees the lock */
    pid_t child = fork();
    if (child == 0) {
        sal_lock_t lc;
        _exit(sal_lock_take(&lc, path, 0, NULL, 0, NULL) == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(&t, WIFEXITED(status) && WEXITSTATUS(status) == 0 && file_exists(path), "child could not take the lock");
    CHECK(&t, sal_lock_take(&l1, path, 0, holder, sizeof holder, &err) == 0, "the lock of a dead process is still held");
    sal_lock_release(&l1);
    /* waiting: a child holds the lock for a moment; wait=1 returns once it is free */
    int pipefd[2];
    CHECK(&t, pipe(pipefd) == 0, "pipe");
    child = fork();
    if (child == 0) {
        sal_lock_t lc;
        int got = sal_lock_take(&lc, path, 0, NULL, 0, NULL) == 0;
        ssize_t w = write(pipefd[1], "x", 1);
        (void)w;
        usleep(300000);
        if (got) sal_lock_release(&lc);
        _exit(got ? 0 : 1);
    }
    char c;
    CHECK(&t, read(pipefd[0], &c, 1) == 1, "child did not start");
    CHECK(&t, sal_lock_take(&l1, path, 0, holder, sizeof holder, &err) == 1, "the child's lock was not seen");
    double t0 = sal_now();
    CHECK(&t, sal_lock_take(&l1, path, 1, holder, sizeof holder, &err) == 0, "waiting for the lock failed: %s", err.msg);
    CHECK(&t, sal_now() - t0 > 0.05, "did not wait for the holder");
    sal_lock_release(&l1);
    waitpid(child, &status, 0);
    close(pipefd[0]);
    close(pipefd[1]);

    /* --- sal_dir_check_writable ------------------------------------------------------ */
    CHECK(&t, sal_dir_check_writable(dir, &err) == 0, "%s", err.msg);
    test_tmp(&t, "not/yet/there", path, sizeof path);
    CHECK(&t, sal_dir_check_writable(path, &err) == 0 && !file_exists(path), "a creatable folder was refused: %s", err.msg);
    test_tmp(&t, "ok.bin/sub", path, sizeof path);
    CHECK(&t, sal_dir_check_writable(path, &err) == -1 && strstr(err.msg, "not a directory"), "under a file: '%s'", err.msg);

    return test_end(&t);
}

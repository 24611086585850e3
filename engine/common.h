/* common.h — the few things every file in salient shares.
 *
 * Error convention (see docs/architecture.md): library functions return 0 on
 * success and a negative value on failure, after writing one human-readable
 * line into a caller-supplied sal_err_t (file name + problem). Only main()
 * prints it and chooses an exit code. Library code never calls exit().
 */
#ifndef SALIENT_COMMON_H
#define SALIENT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SALIENT_VERSION "0.1.0"

#define SAL_ERR_LEN 512

typedef struct sal_err {
    char msg[SAL_ERR_LEN];
} sal_err_t;

/* Formats the message into err (if err is not NULL) and returns -1, so that
 * callers can write `return sal_errf(err, "%s: truncated", path);`. */
int sal_errf(sal_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message: "<prefix>: <old message>". Returns -1. */
int sal_err_prefix(sal_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Overflow-checked size arithmetic: return 0 and set *out, or -1 on overflow. */
static inline int sal_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}
static inline int sal_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return -1;
    *out = a + b;
    return 0;
}

/* Aligned allocation (alignment must be a power of two >= sizeof(void*)).
 * Free with sal_free_aligned. Returns NULL on failure or size overflow. */
void *sal_alloc_aligned(size_t size, size_t alignment);
void sal_free_aligned(void *p);

/* Reads a whole file into a malloc'ed buffer (plus a terminating 0 byte that
 * is not counted in *size). max_size bounds what we accept. */
int sal_read_file(const char *path, size_t max_size, uint8_t **data, size_t *size,
                  sal_err_t *err);

/* Writes data atomically: to a temporary file beside it
 * ("<path>.tmp.<host>.<pid>", see sal_atomic_tmp_path), flushed to disk
 * (fsync), then rename(). No partial file is ever left under `path`; every
 * failure sets err to "<path>: <what failed>: <cause>". */
int sal_write_file_atomic(const char *path, const void *data, size_t size, sal_err_t *err);

/* The same for a file written in pieces: sal_atomic_begin opens the
 * temporary file as a->f (first removing stale temporary files of the same
 * target: ours, from this host, whose process no longer exists);
 * sal_atomic_end(a, ok, err) flushes, fsyncs and renames it into place if
 * ok and no write failed, else removes it. Write with sal_atomic_write (or
 * fwrite on a->f: a failed fwrite is noticed by ferror). On a write error
 * sal_atomic_end sets the message; with ok == 0 and no write error it
 * leaves the caller's message in err and returns -1. */
typedef struct sal_atomic {
    FILE *f;
    int write_errno;    /* errno of the first failed sal_atomic_write, 0 if none */
    char path[4096];
    char tmp[4096 + 128];
} sal_atomic_t;
int sal_atomic_begin(sal_atomic_t *a, const char *path, sal_err_t *err);
int sal_atomic_write(sal_atomic_t *a, const void *data, size_t size, sal_err_t *err);
int sal_atomic_end(sal_atomic_t *a, int ok, sal_err_t *err);

/* The temporary name process `pid` of this host uses for `path`:
 * "<path>.tmp.<host>.<pid>" (host: this machine's name, letters, digits and
 * '-' only, at most 40 characters), so that a folder shared by several
 * machines (a cluster's file system) never mixes their temporary files. */
void sal_atomic_tmp_path(const char *path, long pid, char *buf, size_t len);

/* An advisory lock held through a lock file (flock, so the kernel releases
 * it when the process dies, even on kill -9). The file holds "pid P on HOST"
 * while held and is removed on release. */
typedef struct sal_lock {
    int fd;             /* -1 when not held */
    char path[4096];
} sal_lock_t;
/* Takes the lock at `path`. Returns 0 when held, 1 when another process
 * holds it (holder = its "pid P on HOST", or "another process"), -1 on
 * error. wait != 0 blocks until the lock is free instead of returning 1. */
int sal_lock_take(sal_lock_t *l, const char *path, int wait, char *holder, size_t holder_len, sal_err_t *err);
void sal_lock_release(sal_lock_t *l);

/* Creates a directory and its parents (like mkdir -p). */
int sal_mkdir_p(const char *path, sal_err_t *err);

/* Checks, without creating anything, that sal_mkdir_p(path) could succeed
 * and the folder be written: path is a writable directory, or its nearest
 * existing ancestor is one. Lets a program fail before long work. */
int sal_dir_check_writable(const char *path, sal_err_t *err);

/* For main() of every program: ignore SIGXFSZ, so that a write beyond the
 * file size limit (`ulimit -f`) fails with EFBIG and a message naming the
 * file, instead of killing the process and leaving its temporary file. */
void sal_signals_init(void);

/* Monotonic wall clock in seconds. */
double sal_now(void);

#endif

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

/* Writes data atomically: to "<path>.tmp.<pid>", then rename(). No partial
 * file is ever left under `path`. */
int sal_write_file_atomic(const char *path, const void *data, size_t size, sal_err_t *err);

/* The same for a file written in pieces: sal_atomic_begin opens the
 * temporary file as a->f; sal_atomic_end(a, ok) renames it into place if ok
 * and no write failed, else removes it. */
typedef struct sal_atomic {
    FILE *f;
    char path[4096];
    char tmp[4160];
} sal_atomic_t;
int sal_atomic_begin(sal_atomic_t *a, const char *path, sal_err_t *err);
int sal_atomic_end(sal_atomic_t *a, int ok, sal_err_t *err);

/* Creates a directory and its parents (like mkdir -p). */
int sal_mkdir_p(const char *path, sal_err_t *err);

/* Monotonic wall clock in seconds. */
double sal_now(void);

#endif

/* common.c — error messages, aligned allocation, whole-file and atomic I/O. */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int sal_errf(sal_err_t *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int sal_err_prefix(sal_err_t *err, const char *fmt, ...) {
    if (err) {
        char prefix[SAL_ERR_LEN], old[SAL_ERR_LEN];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        old[sizeof old - 1] = 0;
        size_t n = strlen(prefix), m = strlen(old);
        if (n > SAL_ERR_LEN - 3) n = SAL_ERR_LEN - 3;
        if (m > SAL_ERR_LEN - 3 - n) m = SAL_ERR_LEN - 3 - n;
        memcpy(err->msg, prefix, n);
        memcpy(err->msg + n, ": ", 2);
        memcpy(err->msg + n + 2, old, m);
        err->msg[n + 2 + m] = 0;
    }
    return -1;
}

void *sal_alloc_aligned(size_t size, size_t alignment) {
    void *p = NULL;
    if (size == 0) size = alignment;
    if (posix_memalign(&p, alignment, size) != 0) return NULL;
    return p;
}

void sal_free_aligned(void *p) { free(p); }

int sal_read_file(const char *path, size_t max_size, uint8_t **data, size_t *size,
                  sal_err_t *err) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sal_errf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sal_errf(err, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_size) {
        fclose(f);
        return sal_errf(err, "%s: file too large (%lld bytes, limit %zu)", path,
                        (long long)st.st_size, max_size);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return sal_errf(err, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int rerr = ferror(f);
    fclose(f);
    if (got != n || rerr) {
        free(buf);
        return sal_errf(err, "%s: read error", path);
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return 0;
}

int sal_atomic_begin(sal_atomic_t *a, const char *path, sal_err_t *err) {
    a->f = NULL;
    if (strlen(path) >= sizeof a->path) return sal_errf(err, "%.200s...: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) return sal_errf(err, "%s: cannot create: %s", path, strerror(errno));
    return 0;
}

int sal_atomic_end(sal_atomic_t *a, int ok, sal_err_t *err) {
    if (!a->f) return -1;
    int bad = !ok || fflush(a->f) != 0 || ferror(a->f);
    int e = errno;
    if (fclose(a->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    a->f = NULL;
    if (bad) {
        remove(a->tmp);
        return ok ? sal_errf(err, "%s: write failed: %s", a->path, strerror(e)) : -1;
    }
    if (rename(a->tmp, a->path) != 0) {
        e = errno;
        remove(a->tmp);
        return sal_errf(err, "%s: cannot rename into place: %s", a->path, strerror(e));
    }
    return 0;
}

int sal_write_file_atomic(const char *path, const void *data, size_t size, sal_err_t *err) {
    sal_atomic_t a;
    if (sal_atomic_begin(&a, path, err)) return -1;
    int ok = size == 0 || fwrite(data, 1, size, a.f) == size;
    return sal_atomic_end(&a, ok, err);
}

int sal_mkdir_p(const char *path, sal_err_t *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return sal_errf(err, "%s: bad directory path", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return sal_errf(err, "%s: cannot create directory: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return sal_errf(err, "%s: not a directory", path);
    return 0;
}

double sal_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

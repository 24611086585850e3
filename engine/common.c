/* common.c — error messages, aligned allocation, whole-file and atomic I/O,
 * lock files. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock */
#include "common.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* This machine's name for temporary-file names: [A-Za-z0-9-], else '_'. */
static void host_tag(char *buf, size_t len) {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0 || !host[0]) snprintf(host, sizeof host, "host");
    size_t n = 0;
    for (const char *c = host; *c && n + 1 < len && n < 40; c++, n++)
        buf[n] = (isalnum((unsigned char)*c) || *c == '-') ? *c : '_';
    buf[n] = 0;
}

void sal_atomic_tmp_path(const char *path, long pid, char *buf, size_t len) {
    char host[64];
    host_tag(host, sizeof host);
    snprintf(buf, len, "%s.tmp.%s.%ld", path, host, pid);
}

/* Parses a decimal pid (all digits, > 0); -1 if it is not one. */
static long parse_pid(const char *s) {
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9) return -1;
    long v = strtol(s, NULL, 10);
    return v > 0 ? v : -1;
}

/* Removes the temporary files a killed writer of `path` left behind: names
 * "<base>.tmp.<host>.<pid>" with our host (or the older "<base>.tmp.<pid>")
 * whose process no longer exists. Best effort: errors are ignored. */
static void remove_stale_temps(const char *path) {
    char dir[4096], prefix[4096], host[64], full[8300];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    if (dlen >= sizeof dir || strlen(base) + 6 >= sizeof prefix || !*base) return;
    if (slash) {
        memcpy(dir, path, dlen);
        dir[dlen] = 0;
        if (dlen == 0) snprintf(dir, sizeof dir, "/");
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    size_t plen = strlen(prefix);
    host_tag(host, sizeof host);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, plen) != 0) continue;
        const char *rest = de->d_name + plen, *dot = strrchr(rest, '.');
        long pid;
        if (dot) {   /* "<host>.<pid>": only this host's, others may be alive elsewhere */
            if ((size_t)(dot - rest) != strlen(host) || strncmp(rest, host, strlen(host)) != 0) continue;
            pid = parse_pid(dot + 1);
        } else {     /* "<pid>", the naming of salient before 0.1.1 */
            pid = parse_pid(rest);
        }
        if (pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
        unlink(full);
    }
    closedir(d);
}

int sal_atomic_begin(sal_atomic_t *a, const char *path, sal_err_t *err) {
    a->f = NULL;
    a->write_errno = 0;
    if (strlen(path) >= sizeof a->path) return sal_errf(err, "%.200s...: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    sal_atomic_tmp_path(path, (long)getpid(), a->tmp, sizeof a->tmp);
    remove_stale_temps(path);
    a->f = fopen(a->tmp, "wb");
    if (!a->f) return sal_errf(err, "%s: cannot create (temporary file %s): %s", path, a->tmp, strerror(errno));
    return 0;
}

int sal_atomic_write(sal_atomic_t *a, const void *data, size_t size, sal_err_t *err) {
    if (!a->f) return sal_errf(err, "%s: not open for writing", a->path);
    if (a->write_errno) return sal_errf(err, "%s: write failed: %s", a->path, strerror(a->write_errno));
    if (size == 0 || fwrite(data, 1, size, a->f) == size) return 0;
    a->write_errno = errno ? errno : EIO;
    return sal_errf(err, "%s: write failed: %s", a->path, strerror(a->write_errno));
}

int sal_atomic_end(sal_atomic_t *a, int ok, sal_err_t *err) {
    int entry_errno = errno;   /* the cause of a failed fwrite by the caller */
    if (!a->f) return sal_errf(err, "%s: not open for writing", a->path);
    const char *what = "write failed";
    int e = a->write_errno;
    if (!e && ferror(a->f)) e = entry_errno ? entry_errno : EIO;
    if (ok && !e && fflush(a->f) != 0) e = errno ? errno : EIO;
    if (ok && !e && fsync(fileno(a->f)) != 0 && errno != EINVAL && errno != EROFS) {
        e = errno;
        what = "cannot flush to disk";
    }
    if (fclose(a->f) != 0 && ok && !e) e = errno ? errno : EIO;
    a->f = NULL;
    if (!ok || e) {
        remove(a->tmp);
        return e ? sal_errf(err, "%s: %s: %s", a->path, what, strerror(e)) : -1;
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
    if (sal_atomic_write(&a, data, size, err)) {
        sal_atomic_end(&a, 0, NULL);
        return -1;
    }
    return sal_atomic_end(&a, 1, err);
}

/* Reads the holder line of a lock file ("pid P on HOST") into buf. */
static void lock_holder(int fd, char *buf, size_t len) {
    if (!buf || len == 0) return;
    char text[200];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) {
        snprintf(buf, len, "another process");
        return;
    }
    text[n] = 0;
    text[strcspn(text, "\n")] = 0;
    snprintf(buf, len, "%s", text);
}

int sal_lock_take(sal_lock_t *l, const char *path, int wait, char *holder, size_t holder_len, sal_err_t *err) {
    l->fd = -1;
    if (strlen(path) >= sizeof l->path) return sal_errf(err, "%.200s...: path too long", path);
    snprintf(l->path, sizeof l->path, "%s", path);
    if (holder && holder_len) holder[0] = 0;
    /* Lock, then make sure the file we locked is still the one at `path`: a
     * releasing holder removes it, and a third process may have made a new one. */
    for (int attempt = 0; attempt < 1000; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) return sal_errf(err, "%s: cannot create the lock file: %s", path, strerror(errno));
        int r;
        while ((r = flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {}
        if (r != 0) {
            int e = errno;
            if (e == EWOULDBLOCK) lock_holder(fd, holder, holder_len);
            close(fd);
            if (e == EWOULDBLOCK) return 1;
            return sal_errf(err, "%s: cannot lock: %s", path, strerror(e));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            char host[64], line[128];
            host_tag(host, sizeof host);
            int n = snprintf(line, sizeof line, "pid %ld on %s\n", (long)getpid(), host);
            if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
                int e = errno;
                close(fd);
                return sal_errf(err, "%s: cannot write the lock file: %s", path, strerror(e));
            }
            l->fd = fd;
            return 0;
        }
        close(fd);   /* removed or replaced meanwhile: try again */
    }
    return sal_errf(err, "%s: cannot take the lock (the file keeps being replaced)", path);
}

void sal_lock_release(sal_lock_t *l) {
    if (l->fd < 0) return;
    unlink(l->path);   /* while still held, so no one locks a removed file unawares */
    close(l->fd);
    l->fd = -1;
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

int sal_dir_check_writable(const char *path, sal_err_t *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return sal_errf(err, "%s: bad directory path", path);
    memcpy(buf, path, n + 1);
    for (;;) {
        struct stat st;
        if (stat(buf, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) return sal_errf(err, "%s: cannot create directory: %s is not a directory", path, buf);
            if (access(buf, W_OK | X_OK) != 0)
                return sal_errf(err, "%s: %s: %s", path, strcmp(buf, path) ? "cannot create directory in" : "folder is not writable",
                                strerror(errno));
            return 0;
        }
        if ((errno != ENOENT && errno != ENOTDIR) || !strcmp(buf, ".") || !strcmp(buf, "/")) return sal_errf(err, "%s: %s", buf, strerror(errno));
        /* up one level: strip trailing slashes, then the last component */
        while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
        while (n > 0 && buf[n - 1] != '/') buf[--n] = 0;
        if (n == 0) { buf[0] = '.'; buf[1] = 0; n = 1; continue; }
        while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
    }
}

void sal_signals_init(void) { signal(SIGXFSZ, SIG_IGN); }

double sal_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

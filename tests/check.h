/* check.h — the tiny test harness every test program uses.
 *
 *   int main(void) {
 *       test_ctx_t t = test_begin("png");
 *       CHECK(&t, x == 3, "x was %d", x);
 *       if (test_need_shared(&t, "fixtures/saliency")) { ...golden checks... }
 *       if (test_need_command(&t, "djpeg", "libjpeg-turbo-progs")) { ...oracle... }
 *       return test_end(&t);          // prints "N passed, N failed, N skipped"
 *   }
 *
 * Each CHECK counts as one assertion. Failures print file:line and the
 * message. Fixtures are read in place from $SALIENT_SHARED (default
 * ../shared); scratch files go to $SALIENT_TMP (default build/tmp).
 *
 * A part that needs something a fresh clone may lack (the ../shared fixture
 * sets, an optional program such as djpeg or mpirun) is skipped with ONE
 * "skipped: ..." line naming what is missing; tests/run.sh sums the skips
 * separately from passes and failures. SALIENT_NO_SKIP=1 (set by .ci/run)
 * turns every skip into a failure, so CI cannot pass without running them.
 * SALIENT_FULL=1 (make test-full) asks for the full sizes and repetitions;
 * test_full() tells a test which to use.
 */
#ifndef SALIENT_CHECK_H
#define SALIENT_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct test_ctx {
    const char *name;
    int passed, failed, skipped;
    char shared[1024];
    char tmp[1024];
} test_ctx_t;

static inline test_ctx_t test_begin(const char *name) {
    test_ctx_t t;
    memset(&t, 0, sizeof t);
    t.name = name;
    const char *s = getenv("SALIENT_SHARED");
    snprintf(t.shared, sizeof t.shared, "%s", s && *s ? s : "../shared");
    const char *d = getenv("SALIENT_TMP");
    snprintf(t.tmp, sizeof t.tmp, "%s/%s", d && *d ? d : "build/tmp", name);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", t.tmp);
    if (system(cmd) != 0) fprintf(stderr, "warning: cannot create %s\n", t.tmp);
    return t;
}

#define CHECK(t, cond, ...)                                                        \
    do {                                                                           \
        if (cond) {                                                                \
            (t)->passed++;                                                         \
        } else {                                                                   \
            (t)->failed++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
        }                                                                          \
    } while (0)

/* Skips one part of a test: prints "skipped: NAME: why" and counts it (or,
 * under SALIENT_NO_SKIP=1, counts a failure). */
static inline void test_skip(test_ctx_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void test_skip(test_ctx_t *t, const char *fmt, ...) {
    const char *no_skip = getenv("SALIENT_NO_SKIP");
    int strict = no_skip && *no_skip && strcmp(no_skip, "0") != 0;
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (strict) {
        t->failed++;
        fprintf(stderr, "FAIL %s: would skip (SALIENT_NO_SKIP is set): %s\n", t->name, why);
    } else {
        t->skipped++;
        printf("skipped: %s: %s\n", t->name, why);
        fflush(stdout);
    }
}

/* 1 if the fixture set $SALIENT_SHARED/<set> (a folder or file) exists;
 * else skips (one line naming the set) and returns 0. */
static inline int test_need_shared(test_ctx_t *t, const char *set) {
    char path[1100];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", t->shared, set);
    if (stat(path, &st) == 0) return 1;
    test_skip(t, "fixture set %s missing (SALIENT_SHARED=%s: the golden fixtures are not part of "
                 "a clone; see README, Tests)", set, t->shared);
    return 0;
}

/* 1 if the program `cmd` is on PATH; else skips (one line naming the
 * Debian package to install) and returns 0. */
static inline int test_need_command(test_ctx_t *t, const char *cmd, const char *package) {
    char sh[600];
    snprintf(sh, sizeof sh, "command -v '%s' >/dev/null 2>&1", cmd);
    if (system(sh) == 0) return 1;
    test_skip(t, "%s not installed (optional; apt-get install %s)", cmd, package);
    return 0;
}

/* 1 under `make test-full` (SALIENT_FULL=1): use the full sizes/repetitions. */
static inline int test_full(void) {
    const char *f = getenv("SALIENT_FULL");
    return f && *f && strcmp(f, "0") != 0;
}

/* 1 in the ASan/UBSan build (10-20x slower): use smaller sizes there. */
static inline int test_sanitized(void) {
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    return 0;
#endif
}

/* Path of a file under the shared fixtures folder. */
static inline const char *test_shared(const test_ctx_t *t, const char *rel, char *buf,
                                      size_t len) {
    snprintf(buf, len, "%s/%s", t->shared, rel);
    return buf;
}
/* Path of a scratch file for this test. */
static inline const char *test_tmp(const test_ctx_t *t, const char *rel, char *buf,
                                   size_t len) {
    snprintf(buf, len, "%s/%s", t->tmp, rel);
    return buf;
}

/* Reads a raw little-endian fixture array; returns malloc'ed data or NULL. */
static inline void *test_read_raw(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    fclose(f);
    if (p && size) *size = (size_t)n;
    return p;
}

/* Max |a-b| over n floats. */
static inline double test_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}

/* xorshift64*: reproducible uniform floats in [-1, 1) for kernel tests. */
typedef struct test_rng { uint64_t s; } test_rng_t;
static inline float test_rand(test_rng_t *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    uint64_t x = r->s * 2685821657736338717ULL;
    return (float)((double)(x >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
}
/* n such floats, malloc'ed. */
static inline float *test_rand_array(test_rng_t *r, size_t n) {
    float *a = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; a && i < n; i++) a[i] = test_rand(r);
    return a;
}

/* A growable byte buffer, for building test inputs (pickles, zips, ...). */
typedef struct test_buf {
    uint8_t *p;
    size_t n, cap;
} test_buf_t;
static inline void test_put(test_buf_t *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static inline void test_put1(test_buf_t *b, uint8_t c) { test_put(b, &c, 1); }

/* Runs a shell command (printf-style); returns its exit status, -1 if it
 * did not run or was killed. */
static inline int test_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int test_run(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Bytes of address space in use now (/proc/self/statm, field 1, pages), or
 * -1: for tests that cap RLIMIT_AS just above what a process already uses. */
static inline long test_vm_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = -1;
    if (f && fscanf(f, "%ld", &pages) != 1) pages = -1;
    if (f) fclose(f);
    return pages < 0 ? -1 : pages * sysconf(_SC_PAGESIZE);
}

static inline int test_end(test_ctx_t *t) {
    printf("%s: %d passed, %d failed, %d skipped\n", t->name, t->passed, t->failed, t->skipped);
    return t->failed ? 1 : 0;
}

#endif

/* check.h — the tiny test harness every test program uses.
 *
 *   int main(void) {
 *       test_ctx_t t = test_begin("png");
 *       CHECK(&t, x == 3, "x was %d", x);
 *       return test_end(&t);          // prints "N passed, N failed"
 *   }
 *
 * Each CHECK counts as one assertion. Failures print file:line and the
 * message. Fixtures are read in place from $SALIENT_SHARED (default
 * ../shared); scratch files go to $SALIENT_TMP (default build/tmp).
 */
#ifndef SALIENT_CHECK_H
#define SALIENT_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct test_ctx {
    const char *name;
    int passed, failed;
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

static inline int test_end(test_ctx_t *t) {
    printf("%s: %d passed, %d failed\n", t->name, t->passed, t->failed);
    return t->failed ? 1 : 0;
}

#endif

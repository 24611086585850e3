/* vxm_build.h — writes small .vxm saliency models (the key/value format of
 * Twitter's fastgaze.vxm, see weightconv/vxm.c) for tests that need a model
 * without the ../shared fixtures: tiny_model() is a 4-layer network
 * (conv3x3 3->2 ReLU, maxpool, conv1x1 2->1 leaky(0.25), unused blur), and
 * `fault` 1..11 builds it with one defect each (see test_vxm.c).
 */
#ifndef TESTS_VXM_BUILD_H
#define TESTS_VXM_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct vbuf {
    uint8_t *p;
    size_t n, cap;
    uint32_t count;
} vbuf_t;

static inline void put(vbuf_t *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static inline void put_u32(vbuf_t *b, uint32_t v) {
    uint8_t q[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, q, 4);
}
static inline void entry(vbuf_t *b, const char *key, const void *val, uint32_t len) {
    put_u32(b, (uint32_t)strlen(key) + 1);
    put(b, key, strlen(key) + 1);
    put_u32(b, len);
    put(b, val, len);
    b->count++;
}
static inline void entry_int(vbuf_t *b, const char *key, int32_t v) { entry(b, key, &v, 4); }
static inline void begin(vbuf_t *b) {
    memset(b, 0, sizeof *b);
    put(b, "\x01tPM", 4);
    put_u32(b, 0);   // count, patched by finish
}
static inline void finish(vbuf_t *b) {
    uint8_t q[4] = {(uint8_t)b->count, (uint8_t)(b->count >> 8), 0, 0};
    memcpy(b->p + 4, q, 4);
}

/* Model: conv3x3 3->2 ReLU, maxpool, conv1x1 2->1 leaky(0.25), unused blur.
 * `fault` selects one defect (0 = none). */
static inline void tiny_model(vbuf_t *b, int fault) {
    float w0[2 * 3 * 9], b0[2] = {0.5f, -0.25f}, w1[2] = {1.0f, -2.0f}, b1[1] = {0.125f},
          alpha[1] = {0.25f};
    for (int i = 0; i < 54; i++) w0[i] = (float)((i * 7) % 11 - 5) / 8.0f;
    begin(b);
    entry_int(b, "layerCount", fault == 1 ? 300 : 4);
    entry_int(b, "0Type", 0);
    entry_int(b, "0Act", fault == 2 ? 7 : 1);
    entry_int(b, "0w.shape[0]", 2);
    entry_int(b, "0w.shape[1]", fault == 3 ? 4 : 3);
    entry_int(b, "0w.shape[2]", fault == 4 ? 5 : 3);
    entry_int(b, "0w.shape[3]", fault == 4 ? 5 : 3);
    entry(b, "0w", w0, fault == 5 ? sizeof w0 - 4 : sizeof w0);
    entry(b, "0b", b0, sizeof b0);
    if (fault != 6) entry(b, "0w.dtype", "float32", 7);
    else entry(b, "0w.dtype", "float16", 7);
    entry_int(b, "1Type", fault == 7 ? 5 : 2);
    entry_int(b, "1Pool", 2);
    entry_int(b, "2Type", 0);
    entry_int(b, "2Act", 4);
    entry_int(b, "2w.shape[0]", 1);
    entry_int(b, "2w.shape[2]", 1);
    entry_int(b, "2w.shape[3]", 1);
    entry(b, "2w", w1, sizeof w1);
    entry(b, "2b", b1, sizeof b1);
    if (fault != 8) entry(b, "2alpha", alpha, sizeof alpha);
    entry_int(b, "3Type", 3);
    entry_int(b, "3Std", 3);
    entry_int(b, "3KernelSize", 19);
    if (fault == 9) entry_int(b, "3Std", 4);      // duplicate key
    if (fault == 10) put(b, "x", 1);              // trailing byte (not an entry)
    if (fault == 11) entry(b, "modelType", "\x02\0\0\0\0", 5);   // harmless: never read
    finish(b);
}

#endif

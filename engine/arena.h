/* arena.h — bump allocator: one big block per forward pass, no malloc in the
 * hot loop. Sizes are computed from the network config before the pass; an
 * allocation that does not fit returns NULL (a bug in the sizing, reported by
 * the caller), it never grows silently.
 *
 *   arena_t a;  arena_init(&a, bytes);
 *   float *x = arena_alloc(&a, n * sizeof(float));   // 64-byte aligned
 *   size_t m = arena_mark(&a); ... arena_release(&a, m);   // stack-like reuse
 *   arena_free(&a);
 */
#ifndef SALIENT_ARENA_H
#define SALIENT_ARENA_H

#include <stddef.h>

#define ARENA_ALIGN 64

typedef struct arena {
    unsigned char *base;
    size_t cap;
    size_t used;
    size_t peak;   /* high-water mark, for sizing and reports */
} arena_t;

/* Returns 0, or -1 if the block could not be allocated. cap 0 gives an empty
 * arena that can only measure (see arena_alloc). */
int arena_init(arena_t *a, size_t cap);
void arena_free(arena_t *a);
/* 64-byte aligned, or NULL if it does not fit. */
void *arena_alloc(arena_t *a, size_t bytes);
static inline size_t arena_mark(const arena_t *a) { return a->used; }
static inline void arena_release(arena_t *a, size_t mark) { if (mark <= a->used) a->used = mark; }
static inline void arena_reset(arena_t *a) { a->used = 0; }
/* Bytes an allocation of `bytes` consumes (rounded up to the alignment). */
static inline size_t arena_round(size_t bytes) {
    return (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

#endif

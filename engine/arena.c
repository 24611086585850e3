/* arena.c — bump allocator (see arena.h). */
#include "arena.h"
#include "common.h"

#include <string.h>

int arena_init(arena_t *a, size_t cap) {
    memset(a, 0, sizeof *a);
    cap = arena_round(cap);
    if (cap == 0) return 0;
    a->base = sal_alloc_aligned(cap, ARENA_ALIGN);
    if (!a->base) return -1;
    a->cap = cap;
    return 0;
}

void arena_free(arena_t *a) {
    sal_free_aligned(a->base);
    memset(a, 0, sizeof *a);
}

void *arena_alloc(arena_t *a, size_t bytes) {
    size_t need = arena_round(bytes ? bytes : 1);
    if (need < bytes || need > a->cap - a->used) return NULL;
    void *p = a->base + a->used;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

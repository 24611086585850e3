/* seedlist.c — seed list and shard parsing (see seedlist.h). */
#include "seedlist.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Reads an unsigned decimal number < 2^32 at *p, advancing *p. */
static int read_u32(const char **p, uint32_t *v) {
    if (!isdigit((unsigned char)**p)) return -1;
    uint64_t x = 0;
    while (isdigit((unsigned char)**p)) {
        x = x * 10 + (uint64_t)(**p - '0');
        if (x > 0xffffffffull) return -1;
        (*p)++;
    }
    *v = (uint32_t)x;
    return 0;
}

static int push(seedlist_t *s, int *cap, uint32_t v) {
    if (s->n >= SEEDLIST_MAX) return -1;
    if (s->n == *cap) {
        int nc = *cap ? 2 * *cap : 64;
        uint32_t *ns = realloc(s->seeds, sizeof(uint32_t) * (size_t)nc);
        if (!ns) return -1;
        s->seeds = ns;
        *cap = nc;
    }
    s->seeds[s->n++] = v;
    return 0;
}

int seedlist_parse(const char *text, seedlist_t *out, sal_err_t *err) {
    memset(out, 0, sizeof *out);
    int cap = 0;
    const char *p = text;
    if (!*p) return sal_errf(err, "--seeds: empty seed list");
    while (*p) {
        const char *item = p;
        uint32_t a, b;
        if (read_u32(&p, &a)) goto bad;
        b = a;
        if (*p == '-') {
            p++;
            if (read_u32(&p, &b) || b < a) goto bad;
        }
        if (*p != ',' && *p != 0) goto bad;
        for (uint64_t v = a; v <= b; v++)
            if (push(out, &cap, (uint32_t)v)) {
                seedlist_free(out);
                return sal_errf(err, "--seeds: too many seeds (limit %d)", SEEDLIST_MAX);
            }
        if (*p == ',') {
            p++;
            if (!*p) goto bad;
        }
        continue;
    bad:;
        size_t n = strcspn(item, ",");
        seedlist_free(out);
        return sal_errf(err, "--seeds: bad item '%.*s' in '%s' (expected N or A-B with 0 <= A <= B < 2^32)",
                        (int)(n > 40 ? 40 : n), item, text);
    }
    return 0;
}

void seedlist_free(seedlist_t *s) {
    free(s->seeds);
    s->seeds = NULL;
    s->n = 0;
}

void seedlist_shard(seedlist_t *s, int index, int count) {
    int k = 0;
    for (int i = 0; i < s->n; i++)
        if (i % count == index) s->seeds[k++] = s->seeds[i];
    s->n = k;
}

int seedlist_parse_shard(const char *text, int *index, int *count, sal_err_t *err) {
    char *e1, *e2;
    errno = 0;
    long i = strtol(text, &e1, 10);
    if (e1 == text || *e1 != '/') goto bad;
    long n = strtol(e1 + 1, &e2, 10);
    if (e2 == e1 + 1 || *e2 || errno || n < 1 || n > 1000000 || i < 0 || i >= n) goto bad;
    *index = (int)i;
    *count = (int)n;
    return 0;
bad:
    return sal_errf(err, "--shard: bad value '%s' (expected I/N with 0 <= I < N)", text);
}

int seedlist_resolve_shard(const char *shard_arg, int *index, int *count, int *from_slurm,
                           sal_err_t *err) {
    *index = 0;
    *count = 1;
    *from_slurm = 0;
    if (shard_arg) return seedlist_parse_shard(shard_arg, index, count, err);
    const char *ti = getenv("SLURM_ARRAY_TASK_ID"), *tc = getenv("SLURM_ARRAY_TASK_COUNT");
    if (!ti || !tc || !*ti || !*tc) return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%.20s/%.20s", ti, tc);
    if (seedlist_parse_shard(buf, index, count, err))
        return sal_err_prefix(err, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT");
    *from_slurm = 1;
    return 0;
}

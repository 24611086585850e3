/* seedlist.h — seed lists as the command lines write them: "0-15,20,31-33"
 * (NVIDIA's generate.py syntax), and the shard rule "I/N" that splits a seed
 * list between processes. */
#ifndef SALIENT_SEEDLIST_H
#define SALIENT_SEEDLIST_H

#include "common.h"

#define SEEDLIST_MAX 10000000

typedef struct seedlist {
    uint32_t *seeds;
    int n;
} seedlist_t;

/* Parses "a-b,c,..." (ranges inclusive, 0 <= seed < 2^32, order kept,
 * at most SEEDLIST_MAX seeds). Errors name the bad item. */
int seedlist_parse(const char *text, seedlist_t *out, sal_err_t *err);
void seedlist_free(seedlist_t *s);

/* Keeps the seeds whose position in the list is = index (mod count). */
void seedlist_shard(seedlist_t *s, int index, int count);
/* Parses "I/N" with 0 <= I < N. */
int seedlist_parse_shard(const char *text, int *index, int *count, sal_err_t *err);

/* The shard this process runs: from `shard_arg` ("I/N") if given, else from
 * SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT if both are set (*from_slurm
 * = 1), else 0/1 (everything). */
int seedlist_resolve_shard(const char *shard_arg, int *index, int *count, int *from_slurm,
                           sal_err_t *err);

#endif

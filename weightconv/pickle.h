/* pickle.h — a safe, data-only reader for Python pickles (protocols 2 to 5,
 * plus the harmless text opcodes of protocols 0/1).
 *
 * Python's own unpickler calls any function a file names. This one never
 * runs anything: it interprets the data opcodes (numbers, strings, bytes,
 * tuples, lists, dicts, sets, the memo) and turns the few "calls" a caller
 * allows into inert nodes:
 *
 *   GLOBAL / STACK_GLOBAL  module.name must be in the caller's whitelist,
 *                          otherwise: "FILE: forbidden global 'posix.system'"
 *   REDUCE / NEWOBJ        whitelisted callable + args -> a PK_OBJECT node
 *                          recording the call (or a dict / set for the
 *                          globals declared as such, e.g. OrderedDict)
 *   BUILD                  stores the state in that PK_OBJECT node
 *   (BIN)PERSID            -> a PK_PERSID node (only if the caller allows it)
 *
 * Nothing from the file is trusted: every length, count and memo index is
 * checked against the input and the limits; stack, mark stack, nesting
 * depth and total memory are bounded; each opcode consumes input, so the
 * work is linear in the file size. The VM never recurses. Bytes payloads are
 * not copied: PK_BYTES nodes point into the caller's buffer (e.g. an mmapped
 * file), which must outlive the nodes.
 *
 * Nodes belong to a pk_ctx_t and are freed all at once by pk_ctx_free. The
 * object graph may be shared (memo) or even cyclic (a list appended to
 * itself): code that walks it must bound its own recursion.
 */
#ifndef SALIENT_PICKLE_H
#define SALIENT_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define PK_MAX_STACK 65536      /* values on the VM stack */
#define PK_MAX_MARKS 4096       /* open MARKs */
#define PK_MAX_DEPTH 1000       /* container nesting, as built */
#define PK_MEMO_SLACK 65536     /* memo indices may run this far past the entry count */
#define PK_DEFAULT_MAX_MEMORY ((size_t)1 << 30)  /* node bookkeeping, not payloads */
/* Besides max_memory, a context may use at most PK_MEMORY_BASE +
 * PK_MEMORY_PER_BYTE x (bytes of pickle input loaded into it). Without
 * sharing, one input byte makes at most one node (~112 bytes) plus an item
 * pointer; a memo reference (`h` + index, then `t`/`R`) can make a
 * container copy a whole earlier list (OrderedDict(pairs), set(list)), so
 * a 180 KB pickle could otherwise claim the full 1 GiB. */
#define PK_MEMORY_BASE ((size_t)32 << 20)
#define PK_MEMORY_PER_BYTE 256

typedef enum pk_type {
    PK_NONE = 0,
    PK_BOOL,     /* i = 0 / 1 */
    PK_INT,      /* i: fits in int64 */
    PK_BIGINT,   /* bytes/len: little-endian two's complement, > 8 bytes */
    PK_FLOAT,    /* f */
    PK_STR,      /* s/len: a NUL-terminated copy (may contain NULs itself) */
    PK_BYTES,    /* bytes/len: points into the input buffer */
    PK_TUPLE,    /* items[n] */
    PK_LIST,     /* items[n] */
    PK_DICT,     /* items[2n]: key0, value0, key1, value1, ... in insertion order */
    PK_SET,      /* items[n] */
    PK_GLOBAL,   /* def: the whitelist entry */
    PK_OBJECT,   /* callee (PK_GLOBAL) called with args (+ kwargs), then state */
    PK_PERSID,   /* args: the persistent id (any value) */
} pk_type_t;

/* What a whitelisted global turns into when called. */
typedef enum pk_global_kind {
    PK_G_OBJECT = 0, /* REDUCE/NEWOBJ give a PK_OBJECT node recording the call */
    PK_G_DICT,       /* called with () gives an empty PK_DICT (OrderedDict, EasyDict) */
    PK_G_SET,        /* called with () or (iterable,) gives a PK_SET (builtins.set) */
    PK_G_CLASS,      /* may be referenced (e.g. torch.FloatStorage) but not called */
} pk_global_kind_t;

typedef struct pk_global {
    const char *module;
    const char *name;
    pk_global_kind_t kind;
} pk_global_t;

typedef struct pk_node pk_node_t;
struct pk_node {
    pk_type_t type;
    uint32_t depth;          /* 0 for scalars, 1 + deepest child as inserted */
    int64_t i;
    double f;
    const char *s;           /* PK_STR */
    const uint8_t *bytes;    /* PK_BYTES, PK_BIGINT */
    size_t len;              /* PK_STR, PK_BYTES, PK_BIGINT */
    pk_node_t **items;       /* containers */
    size_t n;                /* items (PK_DICT: number of pairs) */
    size_t cap;
    const pk_global_t *def;  /* PK_GLOBAL */
    pk_node_t *callee;       /* PK_OBJECT: the PK_GLOBAL */
    pk_node_t *args;         /* PK_OBJECT: tuple of positional args; PK_PERSID: the id */
    pk_node_t *kwargs;       /* PK_OBJECT from NEWOBJ_EX, else NULL */
    pk_node_t *state;        /* PK_OBJECT after BUILD, else NULL */
    int newobj;              /* PK_OBJECT made by NEWOBJ(_EX) rather than REDUCE */
    int owns_s;
};

typedef struct pk_options {
    const char *name;             /* file name used in messages */
    const pk_global_t *globals;   /* whitelist (caller-owned, outlives the ctx) */
    int n_globals;
    int allow_persid;             /* accept PERSID/BINPERSID */
    size_t max_memory;            /* 0 = PK_DEFAULT_MAX_MEMORY */
    uint64_t base_offset;         /* added to byte offsets in messages */
} pk_options_t;

typedef struct pk_ctx pk_ctx_t;

/* A context owns every node made by pk_load calls on it. NULL if out of memory. */
pk_ctx_t *pk_ctx_new(const pk_options_t *opt);
void pk_ctx_free(pk_ctx_t *c);
/* Bytes of bookkeeping memory in use (bounded by max_memory). */
size_t pk_ctx_memory(const pk_ctx_t *c);
/* Every PK_PERSID node made so far, in file order (*out stays valid until
 * the next pk_load or pk_ctx_free). */
size_t pk_ctx_persids(const pk_ctx_t *c, pk_node_t *const **out);

/* Runs one pickle (up to and including its STOP) from data[0..len). Each
 * call has its own memo. *consumed = bytes read (may be < len: several
 * pickles can follow each other). */
int pk_load(pk_ctx_t *c, const uint8_t *data, size_t len, size_t *consumed,
            pk_node_t **out, sal_err_t *err);

/* ---- helpers for walking the result ------------------------------------ */

const char *pk_type_name(pk_type_t t);
/* 1 if n is a PK_STR equal to s. */
int pk_is_str(const pk_node_t *n, const char *s);
/* The value stored under a string key in a PK_DICT (the last one if the key
 * repeats), or NULL. */
pk_node_t *pk_dict_get(const pk_node_t *d, const char *key);
/* 1 if n is a PK_OBJECT whose callee is module.name. */
int pk_is_call(const pk_node_t *n, const char *module, const char *name);
/* Integer value of PK_INT / PK_BOOL into *out (0), else -1. */
int pk_as_int(const pk_node_t *n, int64_t *out);
/* Float value of PK_FLOAT / PK_INT / PK_BOOL into *out (0), else -1. */
int pk_as_float(const pk_node_t *n, double *out);
/* A short Python-like repr of n into buf (depth and length bounded; the
 * result is always NUL-terminated and ends in "..." when cut). */
const char *pk_repr(const pk_node_t *n, char *buf, size_t len);

#endif

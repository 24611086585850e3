/* pickle.c — the safe pickle VM declared in pickle.h.
 *
 * A pickle is a little stack program: each opcode pushes a value, pops some
 * values to build a container, or moves values in and out of the memo (a
 * table of earlier values addressed by index). We run that program over
 * inert nodes. Only the opcodes that build data are executed; "calls"
 * become PK_OBJECT nodes whose callee had to be on the caller's whitelist.
 *
 * Memory: nodes live in chunks owned by the pk_ctx; containers grow their
 * item arrays with realloc; every allocation is charged against max_memory,
 * so a hostile file cannot make us allocate more than that however it
 * combines DUP, memo gets and containers.
 */
#include "pickle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES_PER_CHUNK 512
#define MAX_TEXT_LINE 4096  /* protocol-0 text arguments (numbers, names) */

typedef struct node_chunk {
    struct node_chunk *next;
    size_t n;
    pk_node_t nodes[NODES_PER_CHUNK];
} node_chunk_t;

struct pk_ctx {
    pk_options_t opt;
    size_t used, limit;   /* limit: max_memory */
    size_t input_bytes;   /* pickle bytes loaded so far (bounds `used` too) */
    node_chunk_t *chunks;
    pk_node_t **persids;  /* every PK_PERSID made, in order (torch storages) */
    size_t n_persids, cap_persids;
};

/* ---- context and memory accounting ------------------------------------ */

pk_ctx_t *pk_ctx_new(const pk_options_t *opt) {
    pk_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (opt) c->opt = *opt;
    if (!c->opt.name) c->opt.name = "pickle";
    c->limit = c->opt.max_memory ? c->opt.max_memory : PK_DEFAULT_MAX_MEMORY;
    return c;
}

void pk_ctx_free(pk_ctx_t *c) {
    if (!c) return;
    node_chunk_t *ch = c->chunks;
    while (ch) {
        for (size_t i = 0; i < ch->n; i++) {
            free(ch->nodes[i].items);
            if (ch->nodes[i].owns_s) free((void *)ch->nodes[i].s);
        }
        node_chunk_t *next = ch->next;
        free(ch);
        ch = next;
    }
    free(c->persids);
    free(c);
}

size_t pk_ctx_memory(const pk_ctx_t *c) { return c->used; }

size_t pk_ctx_persids(const pk_ctx_t *c, pk_node_t *const **out) {
    *out = c->persids;
    return c->n_persids;
}

/* The memory this context may use now: max_memory, and no more than the
 * input loaded so far can plausibly need (see PK_MEMORY_PER_BYTE). */
static size_t effective_limit(const pk_ctx_t *c) {
    size_t rel;
    if (__builtin_mul_overflow(c->input_bytes, (size_t)PK_MEMORY_PER_BYTE, &rel) ||
        __builtin_add_overflow(rel, PK_MEMORY_BASE, &rel))
        rel = SIZE_MAX;
    return rel < c->limit ? rel : c->limit;
}

static int charge(pk_ctx_t *c, size_t bytes) {
    size_t limit = effective_limit(c);
    if (c->used > limit || bytes > limit - c->used) return -1;
    c->used += bytes;
    return 0;
}
static void uncharge(pk_ctx_t *c, size_t bytes) { c->used -= bytes < c->used ? bytes : c->used; }

/* ---- the per-load machine --------------------------------------------- */

typedef struct vm {
    pk_ctx_t *c;
    const uint8_t *p;
    size_t len, pos, op_pos;
    uint8_t op;
    pk_node_t **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    pk_node_t **memo;
    size_t memo_cap, memo_count;
    sal_err_t *err;
} vm_t;

static int vm_fail(vm_t *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vm_fail(vm_t *vm, const char *fmt, ...) {
    char what[SAL_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return sal_errf(vm->err, "%s: %s (opcode 0x%02x at byte %llu)", vm->c->opt.name, what,
                    vm->op, (unsigned long long)(vm->c->opt.base_offset + vm->op_pos));
}

/* Running out of input: most often an incomplete download, so say so first
 * and keep the detail after. */
#define PK_TRUNCATED "truncated or corrupt pickle (incomplete download?): "

static int vm_oom(vm_t *vm) {
    size_t limit = effective_limit(vm->c);
    if (limit < vm->c->limit)
        return vm_fail(vm, "objects built from %zu bytes of pickle exceed the %zu MB memory limit for that size "
                       "(a memo/reference bomb?)", vm->c->input_bytes, limit >> 20);
    return vm_fail(vm, "pickle needs more than the %zu MB memory limit", limit >> 20);
}

/* Grows *arr (of elem-size items, capacity *cap) to hold at least `need`. */
static int grow(vm_t *vm, void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return vm_oom(vm);
        ncap *= 2;
    }
    size_t old_bytes, new_bytes;
    if (sal_mul_size(ncap, elem, &new_bytes)) return vm_oom(vm);
    old_bytes = *cap * elem;
    if (charge(vm->c, new_bytes - old_bytes)) return vm_oom(vm);
    void *p = realloc(*arr, new_bytes);
    if (!p) {
        uncharge(vm->c, new_bytes - old_bytes);
        return vm_oom(vm);
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

static pk_node_t *new_node(vm_t *vm, pk_type_t type) {
    pk_ctx_t *c = vm->c;
    if (!c->chunks || c->chunks->n == NODES_PER_CHUNK) {
        if (charge(c, sizeof(node_chunk_t))) { vm_oom(vm); return NULL; }
        node_chunk_t *ch = malloc(sizeof *ch);
        if (!ch) { uncharge(c, sizeof(node_chunk_t)); vm_oom(vm); return NULL; }
        ch->n = 0;
        ch->next = c->chunks;
        c->chunks = ch;
    }
    pk_node_t *n = &c->chunks->nodes[c->chunks->n++];
    memset(n, 0, sizeof *n);
    n->type = type;
    return n;
}

static int add_depth(vm_t *vm, pk_node_t *parent, const pk_node_t *child) {
    if (child && child->depth + 1 > parent->depth) parent->depth = child->depth + 1;
    if (parent->depth > PK_MAX_DEPTH)
        return vm_fail(vm, "values nested deeper than %d levels", PK_MAX_DEPTH);
    return 0;
}

static int seq_push(vm_t *vm, pk_node_t *cont, pk_node_t *item) {
    if (grow(vm, (void **)&cont->items, &cont->cap, cont->n + 1, sizeof(pk_node_t *))) return -1;
    cont->items[cont->n++] = item;
    return add_depth(vm, cont, item);
}

static int dict_put(vm_t *vm, pk_node_t *d, pk_node_t *key, pk_node_t *value) {
    if (grow(vm, (void **)&d->items, &d->cap, 2 * d->n + 2, sizeof(pk_node_t *))) return -1;
    d->items[2 * d->n] = key;
    d->items[2 * d->n + 1] = value;
    d->n++;
    if (add_depth(vm, d, key)) return -1;
    return add_depth(vm, d, value);
}

/* ---- stack ------------------------------------------------------------- */

static size_t frame_base(const vm_t *vm) { return vm->nmarks ? vm->marks[vm->nmarks - 1] : 0; }

static int push(vm_t *vm, pk_node_t *n) {
    if (!n) return -1;
    if (vm->sp >= PK_MAX_STACK) return vm_fail(vm, "stack deeper than %d values", PK_MAX_STACK);
    if (grow(vm, (void **)&vm->stack, &vm->scap, vm->sp + 1, sizeof(pk_node_t *))) return -1;
    vm->stack[vm->sp++] = n;
    return 0;
}

static pk_node_t *pop(vm_t *vm) {
    if (vm->sp <= frame_base(vm)) {
        vm_fail(vm, "stack underflow");
        return NULL;
    }
    return vm->stack[--vm->sp];
}

static pk_node_t *top(vm_t *vm) {
    if (vm->sp <= frame_base(vm)) {
        vm_fail(vm, "stack underflow");
        return NULL;
    }
    return vm->stack[vm->sp - 1];
}

/* Pops the topmost MARK: *first = index of the first item above it. */
static int pop_mark(vm_t *vm, size_t *first) {
    if (!vm->nmarks) return vm_fail(vm, "MARK expected but none is open");
    *first = vm->marks[--vm->nmarks];
    return 0;
}

/* ---- reading the input ------------------------------------------------ */

static int take(vm_t *vm, size_t n, const uint8_t **out) {
    *out = vm->p + vm->pos;
    if (n > vm->len - vm->pos)
        return vm_fail(vm, PK_TRUNCATED "%llu bytes needed, %llu left", (unsigned long long)n,
                       (unsigned long long)(vm->len - vm->pos));
    *out = vm->p + vm->pos;
    vm->pos += n;
    return 0;
}

static uint64_t le(const uint8_t *b, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

static int take_uint(vm_t *vm, int nbytes, uint64_t *v) {
    const uint8_t *b;
    if (take(vm, (size_t)nbytes, &b)) return -1;
    *v = le(b, nbytes);
    return 0;
}

/* Reads a text line (protocol 0 argument) without its '\n'. */
static int take_line(vm_t *vm, const uint8_t **start, size_t *n) {
    size_t left = vm->len - vm->pos;
    size_t lim = left < MAX_TEXT_LINE ? left : MAX_TEXT_LINE;
    const uint8_t *s = vm->p + vm->pos;
    const uint8_t *nl = memchr(s, '\n', lim);
    if (!nl) return vm_fail(vm, left < MAX_TEXT_LINE ? PK_TRUNCATED "unterminated text argument" : "text argument too long");
    *start = s;
    *n = (size_t)(nl - s);
    vm->pos += *n + 1;
    return 0;
}

/* ---- value constructors ------------------------------------------------ */

static pk_node_t *make_int(vm_t *vm, int64_t v) {
    pk_node_t *n = new_node(vm, PK_INT);
    if (n) n->i = v;
    return n;
}

static pk_node_t *make_str(vm_t *vm, const uint8_t *s, size_t len) {
    if (charge(vm->c, len + 1)) { vm_oom(vm); return NULL; }
    char *copy = malloc(len + 1);
    if (!copy) { uncharge(vm->c, len + 1); vm_oom(vm); return NULL; }
    pk_node_t *n = new_node(vm, PK_STR);
    if (!n) { free(copy); return NULL; }
    memcpy(copy, s, len);
    copy[len] = 0;
    n->s = copy;
    n->len = len;
    n->owns_s = 1;
    return n;
}

static pk_node_t *make_bytes(vm_t *vm, const uint8_t *b, size_t len) {
    pk_node_t *n = new_node(vm, PK_BYTES);
    if (n) { n->bytes = b; n->len = len; }
    return n;
}

/* LONG1/LONG4 payload: little-endian two's complement. */
static pk_node_t *make_long(vm_t *vm, const uint8_t *b, size_t len) {
    if (len <= 8) {
        uint64_t u = len ? le(b, (int)len) : 0;
        if (len && len < 8 && (b[len - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * len);  /* sign-extend */
        int64_t v;
        memcpy(&v, &u, sizeof v);
        return make_int(vm, v);
    }
    pk_node_t *n = new_node(vm, PK_BIGINT);
    if (n) { n->bytes = b; n->len = len; }
    return n;
}

/* A tuple/list/set/frozenset of the stack items [first, sp). */
static pk_node_t *make_seq_from_stack(vm_t *vm, pk_type_t type, size_t first) {
    pk_node_t *n = new_node(vm, type);
    if (!n) return NULL;
    size_t count = vm->sp - first;
    if (count && grow(vm, (void **)&n->items, &n->cap, count, sizeof(pk_node_t *))) return NULL;
    for (size_t i = 0; i < count; i++) {
        n->items[i] = vm->stack[first + i];
        if (add_depth(vm, n, n->items[i])) return NULL;
    }
    n->n = count;
    vm->sp = first;
    return n;
}

static const char *repr_global(const pk_node_t *g, char *buf, size_t len) {
    snprintf(buf, len, "%s.%s", g->def->module, g->def->name);
    return buf;
}

/* Calls a whitelisted global (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST). */
static pk_node_t *call_global(vm_t *vm, pk_node_t *callee, pk_node_t *args, pk_node_t *kwargs,
                              int newobj) {
    char name[300];
    if (!callee || callee->type != PK_GLOBAL) {
        vm_fail(vm, "call of a %s, not of a whitelisted global", callee ? pk_type_name(callee->type) : "nothing");
        return NULL;
    }
    if (!args || args->type != PK_TUPLE) {
        vm_fail(vm, "arguments of '%s' are a %s, not a tuple", repr_global(callee, name, sizeof name),
                args ? pk_type_name(args->type) : "nothing");
        return NULL;
    }
    if (kwargs && kwargs->type != PK_DICT) {
        vm_fail(vm, "keyword arguments of '%s' are not a dict", repr_global(callee, name, sizeof name));
        return NULL;
    }
    int has_kwargs = kwargs && kwargs->n > 0;
    switch (callee->def->kind) {
    case PK_G_OBJECT: {
        pk_node_t *o = new_node(vm, PK_OBJECT);
        if (!o) return NULL;
        o->callee = callee;
        o->args = args;
        o->kwargs = kwargs;
        o->newobj = newobj;
        if (add_depth(vm, o, args) || add_depth(vm, o, kwargs)) return NULL;
        return o;
    }
    case PK_G_DICT: {
        pk_node_t *d = new_node(vm, PK_DICT);
        if (!d) return NULL;
        if (args->n == 0 && !has_kwargs) return d;
        /* OrderedDict([(k, v), ...]) */
        if (args->n == 1 && !has_kwargs && !newobj &&
            (args->items[0]->type == PK_LIST || args->items[0]->type == PK_TUPLE)) {
            const pk_node_t *pairs = args->items[0];
            for (size_t i = 0; i < pairs->n; i++) {
                const pk_node_t *kv = pairs->items[i];
                if ((kv->type != PK_TUPLE && kv->type != PK_LIST) || kv->n != 2) {
                    vm_fail(vm, "'%s' called with an item that is not a (key, value) pair",
                            repr_global(callee, name, sizeof name));
                    return NULL;
                }
                if (dict_put(vm, d, kv->items[0], kv->items[1])) return NULL;
            }
            return d;
        }
        vm_fail(vm, "unsupported arguments for '%s'", repr_global(callee, name, sizeof name));
        return NULL;
    }
    case PK_G_SET: {
        pk_node_t *s = new_node(vm, PK_SET);
        if (!s) return NULL;
        if (args->n == 0 && !has_kwargs) return s;
        if (args->n == 1 && !has_kwargs &&
            (args->items[0]->type == PK_LIST || args->items[0]->type == PK_TUPLE ||
             args->items[0]->type == PK_SET)) {
            const pk_node_t *src = args->items[0];
            for (size_t i = 0; i < src->n; i++)
                if (seq_push(vm, s, src->items[i])) return NULL;
            return s;
        }
        vm_fail(vm, "unsupported arguments for '%s'", repr_global(callee, name, sizeof name));
        return NULL;
    }
    case PK_G_CLASS:
    default:
        vm_fail(vm, "global '%s' may not be called", repr_global(callee, name, sizeof name));
        return NULL;
    }
}

static pk_node_t *find_global(vm_t *vm, const char *module, size_t mlen, const char *name,
                              size_t nlen) {
    const pk_options_t *o = &vm->c->opt;
    for (int i = 0; i < o->n_globals; i++) {
        const pk_global_t *g = &o->globals[i];
        if (strlen(g->module) == mlen && strlen(g->name) == nlen && memcmp(g->module, module, mlen) == 0 &&
            memcmp(g->name, name, nlen) == 0) {
            pk_node_t *n = new_node(vm, PK_GLOBAL);
            if (n) n->def = g;
            return n;
        }
    }
    /* Quote the name safely: printable ASCII only, bounded length. */
    char shown[200];
    size_t k = 0;
    for (size_t i = 0; i < mlen + 1 + nlen && k + 5 < sizeof shown; i++) {
        unsigned char ch = i < mlen ? (unsigned char)module[i] : i == mlen ? '.' : (unsigned char)name[i - mlen - 1];
        if (ch >= 32 && ch < 127 && ch != '\'') shown[k++] = (char)ch;
        else k += (size_t)snprintf(shown + k, sizeof shown - k, "\\x%02x", ch);
    }
    shown[k < sizeof shown ? k : sizeof shown - 1] = 0;
    sal_errf(vm->err, "%s: forbidden global '%s'", vm->c->opt.name, shown);
    return NULL;
}

/* ---- memo -------------------------------------------------------------- */

static int memo_put(vm_t *vm, uint64_t idx) {
    pk_node_t *v = top(vm);
    if (!v) return -1;
    /* Python numbers memo entries 0, 1, 2, ...; a far-off index would only
     * make us allocate a huge sparse table */
    if (idx > (uint64_t)vm->memo_count + PK_MEMO_SLACK)
        return vm_fail(vm, "memo index %llu out of range (%zu entries so far)", (unsigned long long)idx,
                       vm->memo_count);
    if (idx >= vm->memo_cap) {
        size_t old = vm->memo_cap;
        if (grow(vm, (void **)&vm->memo, &vm->memo_cap, (size_t)idx + 1, sizeof(pk_node_t *))) return -1;
        memset(vm->memo + old, 0, (vm->memo_cap - old) * sizeof(pk_node_t *));
    }
    if (!vm->memo[idx]) vm->memo_count++;
    vm->memo[idx] = v;
    return 0;
}

static int memo_get(vm_t *vm, uint64_t idx) {
    if (idx >= vm->memo_cap || !vm->memo[idx])
        return vm_fail(vm, "memo index %llu was never stored", (unsigned long long)idx);
    return push(vm, vm->memo[idx]);
}

/* ---- protocol-0 text numbers ------------------------------------------ */

static int parse_text_int(vm_t *vm, const uint8_t *s, size_t n, int64_t *v, int allow_L) {
    char buf[64];
    if (n && allow_L && s[n - 1] == 'L') n--;
    if (n == 0 || n >= sizeof buf) return vm_fail(vm, "bad text integer");
    memcpy(buf, s, n);
    buf[n] = 0;
    size_t i = (buf[0] == '-' || buf[0] == '+') ? 1 : 0;
    if (i == n) return vm_fail(vm, "bad text integer");
    int64_t acc = 0;
    for (; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9') return vm_fail(vm, "bad text integer");
        int d = buf[i] - '0';
        if (acc > (INT64_MAX - d) / 10) return vm_fail(vm, "text integer too large");
        acc = acc * 10 + d;
    }
    *v = buf[0] == '-' ? -acc : acc;
    return 0;
}

/* ---- the interpreter --------------------------------------------------- */

/* Opcode values (pickletools names). */
enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_FLOAT = 'F', OP_INT = 'I', OP_BININT = 'J', OP_BININT1 = 'K', OP_LONG = 'L',
    OP_BININT2 = 'M', OP_NONE = 'N', OP_PERSID = 'P', OP_BINPERSID = 'Q', OP_REDUCE = 'R',
    OP_STRING = 'S', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_UNICODE = 'V',
    OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd',
    OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_GET = 'g', OP_BINGET = 'h', OP_INST = 'i',
    OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']', OP_OBJ = 'o', OP_PUT = 'p',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G',
    OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_EXT1 = 0x82, OP_EXT2 = 0x83, OP_EXT4 = 0x84,
    OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88,
    OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b,
    OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C',
    OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e,
    OP_EMPTY_SET = 0x8f, OP_ADDITEMS = 0x90, OP_FROZENSET = 0x91, OP_NEWOBJ_EX = 0x92,
    OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
    OP_BYTEARRAY8 = 0x96, OP_NEXT_BUFFER = 0x97, OP_READONLY_BUFFER = 0x98,
};

/* A length-prefixed payload of `nbytes`-byte length. */
static int take_payload(vm_t *vm, int nbytes, const uint8_t **b, size_t *n) {
    uint64_t len;
    if (take_uint(vm, nbytes, &len)) return -1;
    if (len > vm->len - vm->pos)
        return vm_fail(vm, PK_TRUNCATED "length %llu exceeds the %llu bytes left", (unsigned long long)len,
                       (unsigned long long)(vm->len - vm->pos));
    *n = (size_t)len;
    return take(vm, *n, b);
}

static int run(vm_t *vm, pk_node_t **out) {
    for (;;) {
        vm->op_pos = vm->pos;
        vm->op = 0;
        if (vm->pos >= vm->len) return vm_fail(vm, PK_TRUNCATED "no STOP opcode");
        vm->op = vm->p[vm->pos++];
        const uint8_t *b = NULL;
        size_t n = 0;
        uint64_t u = 0;
        pk_node_t *x, *y, *z;
        size_t first = 0;
        switch (vm->op) {
        /* -- framing and protocol -- */
        case OP_PROTO:
            if (take_uint(vm, 1, &u)) return -1;
            if (u > 5) return vm_fail(vm, "unsupported pickle protocol %llu", (unsigned long long)u);
            break;
        case OP_FRAME:
            if (take_uint(vm, 8, &u)) return -1;
            if (u > vm->len - vm->pos)
                return vm_fail(vm, PK_TRUNCATED "frame of %llu bytes exceeds the %llu bytes left",
                               (unsigned long long)u, (unsigned long long)(vm->len - vm->pos));
            break;
        case OP_STOP:
            if (!(x = pop(vm))) return -1;
            *out = x;
            return 0;

        /* -- stack manipulation -- */
        case OP_MARK:
            if (vm->nmarks >= PK_MAX_MARKS) return vm_fail(vm, "more than %d nested MARKs", PK_MAX_MARKS);
            if (grow(vm, (void **)&vm->marks, &vm->mcap, vm->nmarks + 1, sizeof(size_t))) return -1;
            vm->marks[vm->nmarks++] = vm->sp;
            break;
        case OP_POP:
            if (vm->sp > frame_base(vm)) vm->sp--;
            else if (pop_mark(vm, &first)) return -1;
            break;
        case OP_POP_MARK:
            if (pop_mark(vm, &first)) return -1;
            vm->sp = first;
            break;
        case OP_DUP:
            if (!(x = top(vm)) || push(vm, x)) return -1;
            break;

        /* -- scalars -- */
        case OP_NONE: if (push(vm, new_node(vm, PK_NONE))) return -1; break;
        case OP_NEWTRUE:
        case OP_NEWFALSE:
            if (!(x = new_node(vm, PK_BOOL))) return -1;
            x->i = vm->op == OP_NEWTRUE;
            if (push(vm, x)) return -1;
            break;
        case OP_BININT1: if (take_uint(vm, 1, &u) || push(vm, make_int(vm, (int64_t)u))) return -1; break;
        case OP_BININT2: if (take_uint(vm, 2, &u) || push(vm, make_int(vm, (int64_t)u))) return -1; break;
        case OP_BININT:
            if (take_uint(vm, 4, &u) || push(vm, make_int(vm, (int64_t)(int32_t)(uint32_t)u))) return -1;
            break;
        case OP_LONG1:
            if (take_payload(vm, 1, &b, &n) || push(vm, make_long(vm, b, n))) return -1;
            break;
        case OP_LONG4: {
            if (take_uint(vm, 4, &u)) return -1;
            if ((int32_t)(uint32_t)u < 0) return vm_fail(vm, "negative LONG4 length");
            if (u > vm->len - vm->pos) return vm_fail(vm, PK_TRUNCATED "length %llu exceeds the data", (unsigned long long)u);
            if (take(vm, (size_t)u, &b) || push(vm, make_long(vm, b, (size_t)u))) return -1;
            break;
        }
        case OP_BINFLOAT: {
            if (take(vm, 8, &b)) return -1;
            uint64_t bits = 0;
            for (int i = 0; i < 8; i++) bits = bits << 8 | b[i];  /* big-endian */
            if (!(x = new_node(vm, PK_FLOAT))) return -1;
            memcpy(&x->f, &bits, 8);
            if (push(vm, x)) return -1;
            break;
        }
        case OP_INT:
        case OP_LONG: {
            int64_t v;
            if (take_line(vm, &b, &n)) return -1;
            if (vm->op == OP_INT && n == 2 && b[0] == '0' && (b[1] == '0' || b[1] == '1')) {
                if (!(x = new_node(vm, PK_BOOL))) return -1;  /* I00 / I01 are False / True */
                x->i = b[1] == '1';
                if (push(vm, x)) return -1;
                break;
            }
            if (parse_text_int(vm, b, n, &v, vm->op == OP_LONG) || push(vm, make_int(vm, v))) return -1;
            break;
        }
        case OP_FLOAT: {
            char buf[80];
            char *end;
            if (take_line(vm, &b, &n)) return -1;
            if (n == 0 || n >= sizeof buf) return vm_fail(vm, "bad text float");
            memcpy(buf, b, n);
            buf[n] = 0;
            double d = strtod(buf, &end);
            if (*end) return vm_fail(vm, "bad text float");
            if (!(x = new_node(vm, PK_FLOAT))) return -1;
            x->f = d;
            if (push(vm, x)) return -1;
            break;
        }

        /* -- strings and bytes -- */
        case OP_SHORT_BINUNICODE:
        case OP_SHORT_BINSTRING:
            if (take_payload(vm, 1, &b, &n) || push(vm, make_str(vm, b, n))) return -1;
            break;
        case OP_BINUNICODE:
            if (take_payload(vm, 4, &b, &n) || push(vm, make_str(vm, b, n))) return -1;
            break;
        case OP_BINSTRING:
            if (take_uint(vm, 4, &u)) return -1;
            if ((int32_t)(uint32_t)u < 0) return vm_fail(vm, "negative BINSTRING length");
            if (u > vm->len - vm->pos) return vm_fail(vm, PK_TRUNCATED "length %llu exceeds the data", (unsigned long long)u);
            if (take(vm, (size_t)u, &b) || push(vm, make_str(vm, b, (size_t)u))) return -1;
            break;
        case OP_BINUNICODE8:
            if (take_payload(vm, 8, &b, &n) || push(vm, make_str(vm, b, n))) return -1;
            break;
        case OP_SHORT_BINBYTES:
            if (take_payload(vm, 1, &b, &n) || push(vm, make_bytes(vm, b, n))) return -1;
            break;
        case OP_BINBYTES:
            if (take_payload(vm, 4, &b, &n) || push(vm, make_bytes(vm, b, n))) return -1;
            break;
        case OP_BINBYTES8:
        case OP_BYTEARRAY8:
            if (take_payload(vm, 8, &b, &n) || push(vm, make_bytes(vm, b, n))) return -1;
            break;
        case OP_READONLY_BUFFER:
            if (!(x = top(vm))) return -1;
            if (x->type != PK_BYTES) return vm_fail(vm, "READONLY_BUFFER on a %s", pk_type_name(x->type));
            break;
        case OP_NEXT_BUFFER:
            return vm_fail(vm, "out-of-band buffers (NEXT_BUFFER) are not supported");
        case OP_STRING:
        case OP_UNICODE:
            return vm_fail(vm, "protocol-0 quoted strings are not supported");

        /* -- containers -- */
        case OP_EMPTY_TUPLE: if (push(vm, new_node(vm, PK_TUPLE))) return -1; break;
        case OP_EMPTY_LIST: if (push(vm, new_node(vm, PK_LIST))) return -1; break;
        case OP_EMPTY_DICT: if (push(vm, new_node(vm, PK_DICT))) return -1; break;
        case OP_EMPTY_SET: if (push(vm, new_node(vm, PK_SET))) return -1; break;
        case OP_TUPLE1:
        case OP_TUPLE2:
        case OP_TUPLE3: {
            size_t k = (size_t)(vm->op - OP_TUPLE1 + 1);
            if (vm->sp - frame_base(vm) < k) return vm_fail(vm, "stack underflow");
            if (push(vm, make_seq_from_stack(vm, PK_TUPLE, vm->sp - k))) return -1;
            break;
        }
        case OP_TUPLE:
        case OP_LIST:
        case OP_FROZENSET:
            if (pop_mark(vm, &first)) return -1;
            if (push(vm, make_seq_from_stack(vm, vm->op == OP_TUPLE ? PK_TUPLE : vm->op == OP_LIST ? PK_LIST : PK_SET,
                                             first)))
                return -1;
            break;
        case OP_DICT:
            if (pop_mark(vm, &first)) return -1;
            if ((vm->sp - first) % 2) return vm_fail(vm, "DICT with an odd number of items");
            if (!(x = new_node(vm, PK_DICT))) return -1;
            for (size_t i = first; i < vm->sp; i += 2)
                if (dict_put(vm, x, vm->stack[i], vm->stack[i + 1])) return -1;
            vm->sp = first;
            if (push(vm, x)) return -1;
            break;
        case OP_APPEND:
            if (!(y = pop(vm)) || !(x = top(vm))) return -1;
            if (x->type != PK_LIST) return vm_fail(vm, "APPEND to a %s", pk_type_name(x->type));
            if (seq_push(vm, x, y)) return -1;
            break;
        case OP_APPENDS:
        case OP_ADDITEMS:
        case OP_SETITEMS:
            if (pop_mark(vm, &first)) return -1;
            if (first <= frame_base(vm)) return vm_fail(vm, "stack underflow");
            x = vm->stack[first - 1];
            if (vm->op == OP_SETITEMS) {
                if (x->type != PK_DICT) return vm_fail(vm, "SETITEMS on a %s", pk_type_name(x->type));
                if ((vm->sp - first) % 2) return vm_fail(vm, "SETITEMS with an odd number of items");
                for (size_t i = first; i < vm->sp; i += 2)
                    if (dict_put(vm, x, vm->stack[i], vm->stack[i + 1])) return -1;
            } else {
                pk_type_t want = vm->op == OP_APPENDS ? PK_LIST : PK_SET;
                if (x->type != want)
                    return vm_fail(vm, "%s on a %s", vm->op == OP_APPENDS ? "APPENDS" : "ADDITEMS", pk_type_name(x->type));
                for (size_t i = first; i < vm->sp; i++)
                    if (seq_push(vm, x, vm->stack[i])) return -1;
            }
            vm->sp = first;
            break;
        case OP_SETITEM:
            if (!(z = pop(vm)) || !(y = pop(vm)) || !(x = top(vm))) return -1;
            if (x->type != PK_DICT) return vm_fail(vm, "SETITEM on a %s", pk_type_name(x->type));
            if (dict_put(vm, x, y, z)) return -1;
            break;

        /* -- memo -- */
        case OP_BINPUT: if (take_uint(vm, 1, &u) || memo_put(vm, u)) return -1; break;
        case OP_LONG_BINPUT: if (take_uint(vm, 4, &u) || memo_put(vm, u)) return -1; break;
        case OP_MEMOIZE: if (memo_put(vm, vm->memo_count)) return -1; break;
        case OP_BINGET: if (take_uint(vm, 1, &u) || memo_get(vm, u)) return -1; break;
        case OP_LONG_BINGET: if (take_uint(vm, 4, &u) || memo_get(vm, u)) return -1; break;
        case OP_PUT:
        case OP_GET: {
            int64_t v;
            if (take_line(vm, &b, &n) || parse_text_int(vm, b, n, &v, 0)) return -1;
            if (v < 0) return vm_fail(vm, "negative memo index");
            if ((vm->op == OP_PUT ? memo_put(vm, (uint64_t)v) : memo_get(vm, (uint64_t)v))) return -1;
            break;
        }

        /* -- globals and calls (whitelisted only) -- */
        case OP_GLOBAL: {
            const uint8_t *m, *nm;
            size_t ml, nl;
            if (take_line(vm, &m, &ml) || take_line(vm, &nm, &nl)) return -1;
            if (push(vm, find_global(vm, (const char *)m, ml, (const char *)nm, nl))) return -1;
            break;
        }
        case OP_STACK_GLOBAL:
            if (!(y = pop(vm)) || !(x = pop(vm))) return -1;
            if (x->type != PK_STR || y->type != PK_STR) return vm_fail(vm, "STACK_GLOBAL needs two strings");
            if (push(vm, find_global(vm, x->s, x->len, y->s, y->len))) return -1;
            break;
        case OP_REDUCE:
            if (!(y = pop(vm)) || !(x = pop(vm))) return -1;
            if (push(vm, call_global(vm, x, y, NULL, 0))) return -1;
            break;
        case OP_NEWOBJ:
            if (!(y = pop(vm)) || !(x = pop(vm))) return -1;
            if (push(vm, call_global(vm, x, y, NULL, 1))) return -1;
            break;
        case OP_NEWOBJ_EX:
            if (!(z = pop(vm)) || !(y = pop(vm)) || !(x = pop(vm))) return -1;
            if (push(vm, call_global(vm, x, y, z, 1))) return -1;
            break;
        case OP_OBJ:  /* MARK cls arg1 ... OBJ */
            if (pop_mark(vm, &first)) return -1;
            if (vm->sp == first) return vm_fail(vm, "OBJ without a class");
            x = vm->stack[first];
            if (!(y = make_seq_from_stack(vm, PK_TUPLE, first + 1))) return -1;
            vm->sp = first;
            if (push(vm, call_global(vm, x, y, NULL, 0))) return -1;
            break;
        case OP_INST: {  /* MARK args... INST module\nname\n */
            const uint8_t *m, *nm;
            size_t ml, nl;
            if (take_line(vm, &m, &ml) || take_line(vm, &nm, &nl)) return -1;
            if (!(x = find_global(vm, (const char *)m, ml, (const char *)nm, nl))) return -1;
            if (pop_mark(vm, &first)) return -1;
            if (!(y = make_seq_from_stack(vm, PK_TUPLE, first))) return -1;
            if (push(vm, call_global(vm, x, y, NULL, 0))) return -1;
            break;
        }
        case OP_BUILD:
            if (!(y = pop(vm)) || !(x = top(vm))) return -1;
            if (x->type != PK_OBJECT) return vm_fail(vm, "BUILD on a %s", pk_type_name(x->type));
            x->state = y;
            if (add_depth(vm, x, y)) return -1;
            break;
        case OP_PERSID:
        case OP_BINPERSID:
            if (!vm->c->opt.allow_persid) return vm_fail(vm, "persistent ids are not allowed here");
            if (vm->op == OP_PERSID) {
                if (take_line(vm, &b, &n) || !(y = make_str(vm, b, n))) return -1;
            } else if (!(y = pop(vm))) {
                return -1;
            }
            if (!(x = new_node(vm, PK_PERSID))) return -1;
            x->args = y;
            if (grow(vm, (void **)&vm->c->persids, &vm->c->cap_persids, vm->c->n_persids + 1,
                     sizeof(pk_node_t *)))
                return -1;
            vm->c->persids[vm->c->n_persids++] = x;
            if (add_depth(vm, x, y) || push(vm, x)) return -1;
            break;
        case OP_EXT1:
        case OP_EXT2:
        case OP_EXT4:
            return vm_fail(vm, "extension-registry globals (EXT1/2/4) are not supported");
        default:
            return vm_fail(vm, "unknown opcode");
        }
    }
}

int pk_load(pk_ctx_t *c, const uint8_t *data, size_t len, size_t *consumed, pk_node_t **out,
            sal_err_t *err) {
    vm_t vm;
    memset(&vm, 0, sizeof vm);
    vm.c = c;
    static const uint8_t nothing[1];
    vm.p = data ? data : nothing;
    vm.len = data ? len : 0;
    vm.err = err;
    *out = NULL;
    c->input_bytes = vm.len > SIZE_MAX - c->input_bytes ? SIZE_MAX : c->input_bytes + vm.len;
    int rc = run(&vm, out);
    if (consumed) *consumed = vm.pos;
    /* The stack, marks and memo die with this load; the nodes stay. */
    free(vm.stack);
    free(vm.marks);
    free(vm.memo);
    uncharge(c, (vm.scap * sizeof(pk_node_t *)) + vm.mcap * sizeof(size_t) + vm.memo_cap * sizeof(pk_node_t *));
    if (rc) *out = NULL;
    return rc;
}

/* ---- helpers ----------------------------------------------------------- */

const char *pk_type_name(pk_type_t t) {
    switch (t) {
    case PK_NONE: return "None";
    case PK_BOOL: return "bool";
    case PK_INT: return "int";
    case PK_BIGINT: return "big int";
    case PK_FLOAT: return "float";
    case PK_STR: return "str";
    case PK_BYTES: return "bytes";
    case PK_TUPLE: return "tuple";
    case PK_LIST: return "list";
    case PK_DICT: return "dict";
    case PK_SET: return "set";
    case PK_GLOBAL: return "global";
    case PK_OBJECT: return "object";
    case PK_PERSID: return "persistent id";
    }
    return "?";
}

int pk_is_str(const pk_node_t *n, const char *s) {
    return n && n->type == PK_STR && n->len == strlen(s) && memcmp(n->s, s, n->len) == 0;
}

pk_node_t *pk_dict_get(const pk_node_t *d, const char *key) {
    if (!d || d->type != PK_DICT) return NULL;
    for (size_t i = d->n; i-- > 0;)
        if (pk_is_str(d->items[2 * i], key)) return d->items[2 * i + 1];
    return NULL;
}

int pk_is_call(const pk_node_t *n, const char *module, const char *name) {
    return n && n->type == PK_OBJECT && n->callee && n->callee->def &&
           strcmp(n->callee->def->module, module) == 0 && strcmp(n->callee->def->name, name) == 0;
}

int pk_as_int(const pk_node_t *n, int64_t *out) {
    if (!n || (n->type != PK_INT && n->type != PK_BOOL)) return -1;
    *out = n->i;
    return 0;
}

int pk_as_float(const pk_node_t *n, double *out) {
    if (!n) return -1;
    if (n->type == PK_FLOAT) { *out = n->f; return 0; }
    if (n->type == PK_INT || n->type == PK_BOOL) { *out = (double)n->i; return 0; }
    return -1;
}

/* Bounded string builder for pk_repr. */
typedef struct sbuf {
    char *p;
    size_t len, used;
    int full;
} sbuf_t;

static void sb_put(sbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(sbuf_t *sb, const char *fmt, ...) {
    if (sb->full) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(sb->p + sb->used, sb->len - sb->used, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sb->len - sb->used) {
        sb->full = 1;
        sb->used = sb->len - 1;
    } else {
        sb->used += (size_t)k;
    }
}

static void repr_rec(sbuf_t *sb, const pk_node_t *n, int depth) {
    if (sb->full) return;
    if (!n) { sb_put(sb, "NULL"); return; }
    if (depth > 6) { sb_put(sb, "..."); return; }
    switch (n->type) {
    case PK_NONE: sb_put(sb, "None"); break;
    case PK_BOOL: sb_put(sb, "%s", n->i ? "True" : "False"); break;
    case PK_INT: sb_put(sb, "%lld", (long long)n->i); break;
    case PK_BIGINT: sb_put(sb, "<%zu-byte int>", n->len); break;
    case PK_FLOAT: sb_put(sb, "%.17g", n->f); break;
    case PK_STR:
        sb_put(sb, "'");
        for (size_t i = 0; i < n->len && i < 80 && !sb->full; i++) {
            unsigned char ch = (unsigned char)n->s[i];
            if (ch >= 32 && ch < 127 && ch != '\'' && ch != '\\') sb_put(sb, "%c", ch);
            else sb_put(sb, "\\x%02x", ch);
        }
        sb_put(sb, n->len > 80 ? "...'" : "'");
        break;
    case PK_BYTES: sb_put(sb, "<%zu bytes>", n->len); break;
    case PK_TUPLE:
    case PK_LIST:
    case PK_SET:
        sb_put(sb, "%s", n->type == PK_TUPLE ? "(" : n->type == PK_LIST ? "[" : "{");
        for (size_t i = 0; i < n->n && !sb->full; i++) {
            if (i) sb_put(sb, ", ");
            if (i >= 16) { sb_put(sb, "..."); break; }
            repr_rec(sb, n->items[i], depth + 1);
        }
        if (n->type == PK_TUPLE && n->n == 1) sb_put(sb, ",");
        sb_put(sb, "%s", n->type == PK_TUPLE ? ")" : n->type == PK_LIST ? "]" : "}");
        break;
    case PK_DICT:
        sb_put(sb, "{");
        for (size_t i = 0; i < n->n && !sb->full; i++) {
            if (i) sb_put(sb, ", ");
            if (i >= 32) { sb_put(sb, "..."); break; }
            repr_rec(sb, n->items[2 * i], depth + 1);
            sb_put(sb, ": ");
            repr_rec(sb, n->items[2 * i + 1], depth + 1);
        }
        sb_put(sb, "}");
        break;
    case PK_GLOBAL: sb_put(sb, "%s.%s", n->def->module, n->def->name); break;
    case PK_OBJECT:
        sb_put(sb, "%s.%s", n->callee->def->module, n->callee->def->name);
        repr_rec(sb, n->args, depth + 1);
        break;
    case PK_PERSID:
        sb_put(sb, "persid(");
        repr_rec(sb, n->args, depth + 1);
        sb_put(sb, ")");
        break;
    }
}

const char *pk_repr(const pk_node_t *n, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    buf[0] = 0;
    if (len < 8) return buf;
    sbuf_t sb = {buf, len - 4, 0, 0};
    repr_rec(&sb, n, 0);
    if (sb.full) strcpy(buf + sb.used, "...");
    return buf;
}

/* test_pickle.c — the safe pickle VM (weightconv/pickle.c) on hand-made
 * pickles, and the whole PyTorch converter on corrupted fixture pickles.
 *
 * Hand-made pickles: every data opcode family gives the right values
 * (bytes written as Python 3.11's pickle would write them); forbidden
 * globals, calls of non-callables, absurd lengths, memo misuse, deep
 * nesting, stack/DUP bombs and the memory bound each give a one-line error
 * naming the file. Fixture pickles: truncated at many offsets, bytes
 * flipped at random, a global swapped for posix.system — clear errors, no
 * crash, no leak (run under ASan by `make test`).
 */
#include <stdint.h>

#include "check.h"
#include "netload.h"
#include "pickle.h"
#include "wc_input.h"

static const pk_global_t GLOBALS[] = {
    {"collections", "OrderedDict", PK_G_DICT},
    {"dnnlib.util", "EasyDict", PK_G_DICT},
    {"builtins", "set", PK_G_SET},
    {"numpy", "dtype", PK_G_OBJECT},
    {"torch", "FloatStorage", PK_G_CLASS},
};

typedef struct loaded {
    pk_ctx_t *ctx;
    pk_node_t *root;
    size_t consumed;
    int rc;
    sal_err_t err;
} loaded_t;

static loaded_t load_opts(const void *data, size_t len, size_t max_memory, int persid) {
    loaded_t l;
    memset(&l, 0, sizeof l);
    pk_options_t o = {"x.pkl", GLOBALS, (int)(sizeof GLOBALS / sizeof GLOBALS[0]), persid, max_memory, 0};
    l.ctx = pk_ctx_new(&o);
    l.rc = pk_load(l.ctx, data, len, &l.consumed, &l.root, &l.err);
    return l;
}
static loaded_t load(const void *data, size_t len) { return load_opts(data, len, 0, 0); }
#define LOAD(lit) load(lit, sizeof(lit) - 1)

static int one_line_error(const loaded_t *l, const char *needle) {
    return l->rc < 0 && !strchr(l->err.msg, '\n') && strncmp(l->err.msg, "x.pkl: ", 7) == 0 &&
           (!needle || strstr(l->err.msg, needle));
}

#define EXPECT_ERROR(t, lit, needle)                                                                      \
    do {                                                                                                  \
        loaded_t l_ = LOAD(lit);                                                                          \
        CHECK(t, one_line_error(&l_, needle), "expected error containing '%s', got rc %d '%s'", needle, l_.rc, \
              l_.err.msg);                                                                                \
        pk_ctx_free(l_.ctx);                                                                              \
    } while (0)

/* Big pickles are built in a test_buf_t (check.h). */
static void put_rep(test_buf_t *b, const char *s, size_t n_s, int times) {
    for (int i = 0; i < times; i++) test_put(b, s, n_s);
}

static void test_values(test_ctx_t *t) {
    /* pickle.dumps([1, -1, 300, 70000, 1.5, 'hé', b'ab', None, True, (1,2), {}], protocol=2) style */
    static const char p2[] =
        "\x80\x02]q\x00(K\x01J\xff\xff\xff\xffM,\x01J\x70\x11\x01\x00G?\xf8\x00\x00\x00\x00\x00\x00"
        "X\x03\x00\x00\x00h\xc3\xa9q\x01" "C\x02" "abq\x02N\x88K\x01K\x02\x86q\x03}q\x04" "e.";
    loaded_t l = LOAD(p2);
    CHECK(t, l.rc == 0, "p2 list: %s", l.err.msg);
    if (l.rc == 0) {
        pk_node_t *r = l.root;
        CHECK(t, r->type == PK_LIST && r->n == 11, "list of 11, got %s of %zu", pk_type_name(r->type), r->n);
        if (r->type == PK_LIST && r->n == 11) {
            CHECK(t, r->items[0]->type == PK_INT && r->items[0]->i == 1, "1");
            CHECK(t, r->items[1]->i == -1 && r->items[2]->i == 300 && r->items[3]->i == 70000, "ints");
            CHECK(t, r->items[4]->type == PK_FLOAT && r->items[4]->f == 1.5, "float 1.5 (big-endian BINFLOAT)");
            CHECK(t, pk_is_str(r->items[5], "h\xc3\xa9"), "utf-8 str");
            CHECK(t, r->items[6]->type == PK_BYTES && r->items[6]->len == 2 && !memcmp(r->items[6]->bytes, "ab", 2), "bytes");
            CHECK(t, r->items[7]->type == PK_NONE && r->items[8]->type == PK_BOOL && r->items[8]->i == 1, "None True");
            CHECK(t, r->items[9]->type == PK_TUPLE && r->items[9]->n == 2 && r->items[9]->items[1]->i == 2, "tuple2");
            CHECK(t, r->items[10]->type == PK_DICT && r->items[10]->n == 0, "empty dict");
        }
        CHECK(t, l.consumed == sizeof p2 - 1, "consumed %zu", l.consumed);
    }
    pk_ctx_free(l.ctx);

    /* protocol 4: frame, memoize, memo sharing, STACK_GLOBAL OrderedDict, LONG1 */
    static const char p4[] =
        "\x80\x04\x95\x38\x00\x00\x00\x00\x00\x00\x00"
        "\x8c\x0b" "collections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94(\x8c\x01" "a\x94\x8a\x01\xff"
        "\x8c\x01" "b\x94h\x04" /* value: the memoised 'a' */
        "\x8c\x01" "c\x8a\x02\x00\x80u.";
    l = LOAD(p4);
    CHECK(t, l.rc == 0, "p4 OrderedDict: %s", l.err.msg);
    if (l.rc == 0) {
        pk_node_t *d = l.root;
        CHECK(t, d->type == PK_DICT && d->n == 3, "ordered dict of 3");
        CHECK(t, pk_dict_get(d, "a") && pk_dict_get(d, "a")->i == -1, "LONG1 0xff = -1");
        CHECK(t, pk_is_str(pk_dict_get(d, "b"), "a"), "memo get gives the same string");
        CHECK(t, pk_dict_get(d, "b") == d->items[0], "memo shares the node");
        CHECK(t, pk_dict_get(d, "c") && pk_dict_get(d, "c")->i == -32768, "LONG1 00 80 = -32768");
        char repr[200];
        pk_repr(d, repr, sizeof repr);
        CHECK(t, !strcmp(repr, "{'a': -1, 'b': 'a', 'c': -32768}"), "repr: %s", repr);
    }
    pk_ctx_free(l.ctx);

    /* protocol 3: GLOBAL + BINPUT/BINGET, EasyDict via NEWOBJ, set via REDUCE, BUILD on numpy.dtype */
    static const char p3[] =
        "\x80\x03(cdnnlib.util\nEasyDict\nq\x00)\x81q\x01X\x01\x00\x00\x00kq\x02K\x07s"
        "cbuiltins\nset\nq\x03]q\x04(K\x01K\x02" "e\x85q\x05Rq\x06"
        "cnumpy\ndtype\nq\x07X\x02\x00\x00\x00" "f8q\x08\x89\x88\x87q\x09Rq\x0a(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0b" "b"
        "h\x02I01\nI42\nL-7L\nF0.25\nt.";
    l = LOAD(p3);
    CHECK(t, l.rc == 0, "p3 mix: %s", l.err.msg);
    if (l.rc == 0) {
        pk_node_t *r = l.root;
        CHECK(t, r->type == PK_TUPLE && r->n == 8, "tuple of 8, got %zu", r->n);
        if (r->n == 8) {
            CHECK(t, r->items[0]->type == PK_DICT && pk_dict_get(r->items[0], "k")->i == 7, "EasyDict(k=7)");
            CHECK(t, r->items[1]->type == PK_SET && r->items[1]->n == 2, "set([1,2])");
            CHECK(t, pk_is_call(r->items[2], "numpy", "dtype") && r->items[2]->state &&
                     r->items[2]->state->type == PK_TUPLE && r->items[2]->state->n == 8, "dtype with BUILD state");
            CHECK(t, pk_is_str(r->items[3], "k"), "BINGET 2");
            CHECK(t, r->items[4]->type == PK_BOOL && r->items[4]->i == 1, "I01 = True");
            CHECK(t, r->items[5]->i == 42 && r->items[6]->i == -7 && r->items[7]->f == 0.25, "text numbers");
        }
    }
    pk_ctx_free(l.ctx);

    /* two pickles back to back: consumed stops after the first STOP */
    static const char two[] = "\x80\x02K\x05.\x80\x02K\x06.";
    l = LOAD(two);
    CHECK(t, l.rc == 0 && l.consumed == 5 && l.root->i == 5, "first of two pickles");
    pk_node_t *second = NULL;
    size_t used = 0;
    CHECK(t, pk_load(l.ctx, (const uint8_t *)two + 5, 5, &used, &second, &l.err) == 0 && second->i == 6, "second");
    pk_ctx_free(l.ctx);

    /* persistent ids only when allowed */
    static const char pid[] = "\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0tQ.";
    l = load_opts(pid, sizeof pid - 1, 0, 1);
    CHECK(t, l.rc == 0 && l.root->type == PK_PERSID && l.root->args->n == 3, "BINPERSID: %s", l.err.msg);
    pk_node_t *const *pids;
    CHECK(t, l.rc == 0 && pk_ctx_persids(l.ctx, &pids) == 1 && pids[0] == l.root, "persid list");
    pk_ctx_free(l.ctx);
    EXPECT_ERROR(t, pid, "persistent ids are not allowed");
}

static void test_forbidden(test_ctx_t *t) {
    /* the classic: os.system('echo pwned') */
    EXPECT_ERROR(t, "cos\nsystem\n(S'echo pwned'\ntR.", "forbidden global 'os.system'");
    EXPECT_ERROR(t, "\x80\x02" "cposix\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.",
                 "forbidden global 'posix.system'");
    EXPECT_ERROR(t, "\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93\x8c\x01" "1\x85R.", "forbidden global 'builtins.eval'");
    EXPECT_ERROR(t, "\x80\x02" "c__builtin__\ngetattr\n.", "forbidden global '__builtin__.getattr'");
    EXPECT_ERROR(t, "\x80\x04\x8c\x03" "a\x01'\x8c\x01" "b\x93.", "forbidden global 'a\\x01\\x27.b'");
    EXPECT_ERROR(t, "\x80\x02(cos\nsystem\nX\x02\x00\x00\x00lso.", "forbidden global 'os.system'");      /* OBJ */
    EXPECT_ERROR(t, "\x80\x02(X\x02\x00\x00\x00lsios\nsystem\n.", "forbidden global 'os.system'");      /* INST */
    loaded_t l = LOAD("cposix\nsystem\n.");
    CHECK(t, l.rc < 0 && !strcmp(l.err.msg, "x.pkl: forbidden global 'posix.system'"), "exact message: '%s'", l.err.msg);
    pk_ctx_free(l.ctx);
    /* calling things that are not whitelisted callables */
    EXPECT_ERROR(t, "\x80\x02X\x01\x00\x00\x00" "a)R.", "not of a whitelisted global");
    EXPECT_ERROR(t, "\x80\x02" "ctorch\nFloatStorage\n)R.", "may not be called");
    EXPECT_ERROR(t, "\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", "unsupported arguments");
    EXPECT_ERROR(t, "\x80\x02" "ccollections\nOrderedDict\nK\x01R.", "not a tuple");
    EXPECT_ERROR(t, "\x80\x02}K\x01" "b.", "BUILD on a dict");
    EXPECT_ERROR(t, "\x80\x02\x82\x01.", "extension-registry");
    EXPECT_ERROR(t, "\x80\x05\x97.", "out-of-band");
    EXPECT_ERROR(t, "\x80\x06K\x01.", "unsupported pickle protocol 6");
    EXPECT_ERROR(t, "\x80\x02\xff.", "unknown opcode");
}

static void test_lengths(test_ctx_t *t) {
    EXPECT_ERROR(t, "\x80\x02" "B\xff\xff\xff\xff" "abc.", "length 4294967295 exceeds");
    EXPECT_ERROR(t, "\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f" "abc.", "exceeds");
    EXPECT_ERROR(t, "\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80" "abc.", "exceeds");
    EXPECT_ERROR(t, "\x80\x04\x8c\xc8" "abc", "exceeds");
    EXPECT_ERROR(t, "\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xff" "K\x01.", "frame of");
    EXPECT_ERROR(t, "\x80\x02\x8b\xff\xff\xff\xff.", "negative LONG4");
    EXPECT_ERROR(t, "\x80\x02T\x00\x00\x00\x80.", "negative BINSTRING");
    EXPECT_ERROR(t, "\x80\x02" "X\x05\x00\x00\x00" "ab", "exceeds");
    EXPECT_ERROR(t, "\x80\x02" "J\x01\x02", "truncated");
    EXPECT_ERROR(t, "\x80\x02" "K\x01", "no STOP");
    EXPECT_ERROR(t, "", "no STOP");
    EXPECT_ERROR(t, "I12345678901234567890123\n.", "too large");
    EXPECT_ERROR(t, "I12x\n.", "bad text integer");
    EXPECT_ERROR(t, "cos", "unterminated text argument");
    /* a cut download: lead with what most likely happened, keep the detail */
    uint8_t cut[100] = {0x80, 0x04, 0x95, 0xb9, 0x12};  /* FRAME of 4793 bytes, 89 left */
    loaded_t l = load(cut, sizeof cut);
    CHECK(t, l.rc < 0 && !strcmp(l.err.msg, "x.pkl: truncated or corrupt pickle (incomplete download?): frame of 4793 "
                                             "bytes exceeds the 89 bytes left (opcode 0x95 at byte 2)"),
          "cut frame: '%s'", l.err.msg);
    pk_ctx_free(l.ctx);
    static const char *const CUTS[] = {"\x80\x02" "J\x01\x02", "\x80\x02" "K\x01", "\x80\x02" "X\x05\x00\x00\x00" "ab", "cos"};
    int lead = 0;
    for (int i = 0; i < 4; i++) {
        l = load(CUTS[i], strlen(CUTS[i]));
        lead += l.rc < 0 && !strncmp(l.err.msg, "x.pkl: truncated or corrupt pickle (incomplete download?): ", 59);
        pk_ctx_free(l.ctx);
    }
    CHECK(t, lead == 4, "%d of 4 cut pickles lead with 'truncated or corrupt pickle'", lead);
}

static void test_memo_and_stack(test_ctx_t *t) {
    EXPECT_ERROR(t, "\x80\x02h\x05.", "memo index 5 was never stored");
    EXPECT_ERROR(t, "\x80\x02j\xff\xff\xff\x7f.", "memo index 2147483647 was never stored");
    EXPECT_ERROR(t, "\x80\x02K\x01r\xff\xff\xff\xff.", "memo index 4294967295 out of range");
    EXPECT_ERROR(t, "\x80\x02g-1\n.", "negative memo index");
    EXPECT_ERROR(t, "\x80\x02q\x00.", "stack underflow");                 /* PUT with nothing */
    EXPECT_ERROR(t, "\x80\x02.", "stack underflow");
    EXPECT_ERROR(t, "\x80\x02K\x01(a.", "stack underflow");               /* APPEND across a MARK */
    EXPECT_ERROR(t, "\x80\x02K\x01(R.", "stack underflow");
    EXPECT_ERROR(t, "\x80\x02K\x01K\x02" "a.", "APPEND to a int");
    EXPECT_ERROR(t, "\x80\x02K\x01(K\x02" "e.", "APPENDS on a int");
    EXPECT_ERROR(t, "\x80\x02}(K\x01u.", "odd number");
    EXPECT_ERROR(t, "\x80\x02K\x01" "e.", "MARK expected");
    EXPECT_ERROR(t, "\x80\x02(\x93.", "stack underflow");
    EXPECT_ERROR(t, "\x80\x02K\x01K\x02\x93.", "two strings");

    /* a memo index within the slack but over a small memory budget */
    loaded_t l = load_opts("\x80\x02K\x01r\x00\x00\x01\x00.", 10, 256u << 10, 0);  /* index 65536 */
    CHECK(t, one_line_error(&l, "memory limit"), "memo 65536 in 256 KB: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    l = load_opts("\x80\x02K\x01r\x00\x00\x01\x00h\x00.", 12, 0, 0);
    CHECK(t, l.rc < 0 && strstr(l.err.msg, "memo index 0 was never stored"), "sparse memo: %s", l.err.msg);
    pk_ctx_free(l.ctx);

    /* 100000 nested lists: EMPTY_LIST x N, APPEND x N-1 */
    test_buf_t b = {0};
    test_put(&b, "\x80\x02", 2);
    put_rep(&b, "]", 1, 100000);
    put_rep(&b, "a", 1, 99999);
    test_put1(&b, '.');
    l = load(b.p, b.n);
    CHECK(t, one_line_error(&l, "stack deeper"), "100000 nested lists: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    /* 100000 MARKs */
    b.n = 0;
    test_put(&b, "\x80\x02", 2);
    put_rep(&b, "(", 1, 100000);
    put_rep(&b, "]", 1, 1);
    put_rep(&b, "e", 1, 100000);
    test_put1(&b, '.');
    l = load(b.p, b.n);
    CHECK(t, one_line_error(&l, "nested MARKs"), "100000 MARKs: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    /* nesting through the memo with a constant stack: L_i = [L_{i-1}] */
    b.n = 0;
    test_put(&b, "\x80\x04]\x94", 4);
    for (uint32_t i = 0; i < 3000; i++) {
        uint8_t get[5] = {'j', (uint8_t)i, (uint8_t)(i >> 8), 0, 0};
        test_put1(&b, ']');
        test_put(&b, get, 5);
        test_put(&b, "a\x94" "0", 3);
    }
    test_put(&b, "N.", 2);
    l = load(b.p, b.n);
    CHECK(t, one_line_error(&l, "nested deeper than 1000"), "3000-deep via memo: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    /* a list appended to itself (a cycle) is refused the same way */
    test_buf_t c = {0};
    test_put(&c, "\x80\x02]q\x00", 5);
    put_rep(&c, "h\x00" "a", 3, 2000);
    test_put1(&c, '.');
    l = load(c.p, c.n);
    CHECK(t, one_line_error(&l, "nested deeper"), "self-appended list: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    /* DUP bomb */
    b.n = 0;
    test_put(&b, "\x80\x02N", 3);
    put_rep(&b, "2", 1, 200000);
    test_put1(&b, '.');
    l = load(b.p, b.n);
    CHECK(t, one_line_error(&l, "stack deeper"), "DUP bomb: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    /* memory bound: a list growing by APPENDS batches in a 1 MB budget */
    b.n = 0;
    test_put(&b, "\x80\x02]", 3);
    for (int k = 0; k < 100; k++) {
        test_put1(&b, '(');
        put_rep(&b, "N", 1, 1000);
        test_put1(&b, 'e');
    }
    test_put1(&b, '.');
    l = load_opts(b.p, b.n, 1u << 20, 0);
    CHECK(t, one_line_error(&l, "memory limit"), "1 MB budget: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    l = load_opts(b.p, b.n, 0, 0);
    CHECK(t, l.rc == 0 && l.root->n == 100000, "same list with the default budget: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    /* memo bomb: a list of 30000 pairs, then 13000 x OrderedDict(that list)
     * (7 bytes each: BINGET BINGET TUPLE1 REDUCE POP), each copying 30000
     * pairs: 181 KB of pickle asked for gigabytes (it reached 947 MB RSS
     * under the flat 1 GiB budget). The budget now scales with the input. */
    b.n = 0;
    test_put(&b, "\x80\x02" "ccollections\nOrderedDict\nq\x00]q\x01(", 33);
    put_rep(&b, "NN\x86", 3, 30000);
    test_put1(&b, 'e');
    put_rep(&b, "h\x00h\x01\x85R0", 7, 13000);
    test_put(&b, "N.", 2);
    l = load(b.p, b.n);
    size_t budget = PK_MEMORY_BASE + PK_MEMORY_PER_BYTE * b.n;
    CHECK(t, one_line_error(&l, "memo/reference bomb") && pk_ctx_memory(l.ctx) <= budget,
          "memo bomb (%zu bytes): %zu MB used, '%s'", b.n, pk_ctx_memory(l.ctx) >> 20, l.err.msg);
    pk_ctx_free(l.ctx);
    /* ... while a few such copies (what a real file might share) load */
    b.n = 0;
    test_put(&b, "\x80\x02" "ccollections\nOrderedDict\nq\x00]q\x01(", 33);
    put_rep(&b, "NN\x86", 3, 30000);
    test_put1(&b, 'e');
    put_rep(&b, "h\x00h\x01\x85R0", 7, 20);
    test_put(&b, "N.", 2);
    l = load(b.p, b.n);
    CHECK(t, l.rc == 0, "20 shared copies: %s", l.err.msg);
    pk_ctx_free(l.ctx);
    free(b.p);
    free(c.p);
}

/* Converts a (corrupted) pickle held in memory; returns rc, err filled. */
static int convert_mem(const uint8_t *d, size_t n, sal_err_t *err) {
    wc_input_t in;
    if (wc_input_from_memory(&in, d, n, "x.pkl", err)) return -1;
    blob_writer_t *w = blob_writer_new();
    int rc = netload_convert(&in, NULL, w, err);
    blob_writer_free(w);
    wc_input_close(&in);
    return rc;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_corrupted_fixtures(test_ctx_t *t) {
    char path[4096];
    size_t n = 0;
    uint8_t *pk = test_read_raw(test_shared(t, "fixtures/stylegan2/tiny/tiny.pkl", path, sizeof path), &n);
    CHECK(t, pk != NULL, "read tiny.pkl");
    if (!pk) return;
    sal_err_t err;
    CHECK(t, convert_mem(pk, n, &err) == 0, "intact tiny.pkl converts: %s", err.msg);
    /* truncation: dense near the start (structure), spread over the rest */
    int trunc_ok = 0, trunc_total = 0;
    for (int k = 0; k < 160; k++) {
        size_t cut = k < 80 ? (size_t)k * 997 % 65536 : (size_t)((double)(k - 80) / 80 * (double)n);
        if (k == 159) cut = n - 1;
        int rc = convert_mem(pk, cut, &err);
        trunc_total++;
        trunc_ok += rc < 0 && !strchr(err.msg, '\n') && !strncmp(err.msg, "x.pkl: ", 7);
    }
    CHECK(t, trunc_ok == trunc_total, "truncations: %d of %d gave a one-line error", trunc_ok, trunc_total);
    /* random byte flips: either converts or a one-line error */
    uint8_t *copy = malloc(n);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int flips = 0, failed = 0, bad_msg = 0;
    for (int k = 0; k < 120; k++) {
        memcpy(copy, pk, n);
        int nflip = 1 + (int)(xorshift(&seed) % 4);
        for (int j = 0; j < nflip; j++) {
            size_t at = k % 2 ? xorshift(&seed) % 200000 : xorshift(&seed) % n;
            copy[at] ^= (uint8_t)(1u << (xorshift(&seed) % 8));
        }
        memset(&err, 0, sizeof err);
        int rc = convert_mem(copy, n, &err);
        flips++;
        if (rc < 0) {
            failed++;
            bad_msg += strchr(err.msg, '\n') || strncmp(err.msg, "x.pkl: ", 7) != 0;
        }
    }
    /* flips aimed at likely opcode bytes (memo, strings, ints, containers, calls, frames) */
    static const uint8_t ops[] = {0x94, 'h', 'q', 'X', 0x8c, 'R', '(', 'u', 't', 'K', 'M', 'J', 0x95, 'B', 'C', 0x85, 0x86};
    size_t *cand = malloc(sizeof(size_t) * n), nc = 0;
    for (size_t i = 0; i < n; i++)
        if (memchr(ops, pk[i], sizeof ops)) cand[nc++] = i;
    for (int k = 0; k < 200 && nc; k++) {
        memcpy(copy, pk, n);
        size_t at = cand[xorshift(&seed) % nc];
        copy[at] ^= (uint8_t)(1u << (xorshift(&seed) % 8));
        memset(&err, 0, sizeof err);
        int rc = convert_mem(copy, n, &err);
        flips++;
        if (rc < 0) {
            failed++;
            bad_msg += strchr(err.msg, '\n') || strncmp(err.msg, "x.pkl: ", 7) != 0;
            if (bad_msg == 1 && (strchr(err.msg, '\n') || strncmp(err.msg, "x.pkl: ", 7))) printf("  bad message: %s\n", err.msg);
        }
    }
    free(cand);
    CHECK(t, bad_msg == 0, "%d of %d failing flipped files had a malformed message", bad_msg, failed);
    printf("  corrupted tiny.pkl: %d truncations rejected; %d flipped files, %d rejected, rest converted\n",
           trunc_ok, flips, failed);
    free(copy);
    free(pk);

    /* protocol 3 file with 'builtins\nset\n' swapped for 'posix\nsystem\n' (same length) */
    pk = test_read_raw(test_shared(t, "fixtures/stylegan2/tiny/tiny_p3.pkl", path, sizeof path), &n);
    CHECK(t, pk != NULL, "read tiny_p3.pkl");
    if (!pk) return;
    uint8_t *g = memmem(pk, n, "cbuiltins\nset\n", 14);
    CHECK(t, g != NULL, "tiny_p3.pkl references builtins.set");
    if (g) {
        memcpy(g, "cposix\nsystem\n", 14);
        int rc = convert_mem(pk, n, &err);
        CHECK(t, rc < 0 && !strcmp(err.msg, "x.pkl: forbidden global 'posix.system'"), "swapped global: '%s'", err.msg);
    }
    free(pk);
}

int main(void) {
    test_ctx_t t = test_begin("pickle");
    double t0 = sal_now();
    test_values(&t);
    test_forbidden(&t);
    test_lengths(&t);
    test_memo_and_stack(&t);
    if (test_need_shared(&t, "fixtures/stylegan2/tiny")) test_corrupted_fixtures(&t);
    printf("  %.2f s\n", sal_now() - t0);
    return test_end(&t);
}

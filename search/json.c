/* json.c — recursive-descent JSON reader and string escaping (see json.h). */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct parser {
    const char *s, *end, *name;
    sal_err_t *err;
} parser_t;


static void skip_ws(parser_t *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int parse_value(parser_t *p, json_t *v, int depth, const char *start);

static int parse_string(parser_t *p, char **out, const char *start) {
    /* p->s is at the opening quote */
    const char *q = ++p->s;
    size_t cap = 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) return sal_errf(p->err, "%s: out of memory", p->name);
    while (q < p->end && *q != '"') {
        unsigned c = (unsigned char)*q++;
        if (c < 0x20) { free(buf); return sal_errf(p->err, "%s: offset %ld: control character in string", p->name, (long)(q - start)); }
        if (c == '\\') {
            if (q >= p->end) break;
            char e = *q++;
            switch (e) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                if (p->end - q < 4) { free(buf); return sal_errf(p->err, "%s: offset %ld: bad \\u escape", p->name, (long)(q - start)); }
                unsigned u = 0;
                for (int i = 0; i < 4; i++) {
                    char h = q[i];
                    u <<= 4;
                    if (h >= '0' && h <= '9') u |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') u |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') u |= (unsigned)(h - 'A' + 10);
                    else { free(buf); return sal_errf(p->err, "%s: offset %ld: bad \\u escape", p->name, (long)(q - start)); }
                }
                q += 4;
                c = u < 0x80 ? u : '?'; /* our files only escape ASCII */
                break;
            }
            default: free(buf); return sal_errf(p->err, "%s: offset %ld: bad escape", p->name, (long)(q - start));
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); return sal_errf(p->err, "%s: out of memory", p->name); }
            buf = nb;
        }
        buf[n++] = (char)c;
    }
    if (q >= p->end) { free(buf); return sal_errf(p->err, "%s: unterminated string", p->name); }
    buf[n] = 0;
    p->s = q + 1;
    *out = buf;
    return 0;
}

static int push_item(parser_t *p, json_t *v, int *cap) {
    if (v->n == *cap) {
        int nc = *cap ? 2 * *cap : 4;
        json_t *items = realloc(v->items, sizeof(json_t) * (size_t)nc);
        if (!items) return sal_errf(p->err, "%s: out of memory", p->name);
        v->items = items;
        if (v->type == JSON_OBJECT) {
            char **keys = realloc(v->keys, sizeof(char *) * (size_t)nc);
            if (!keys) return sal_errf(p->err, "%s: out of memory", p->name);
            v->keys = keys;
        }
        *cap = nc;
    }
    memset(&v->items[v->n], 0, sizeof(json_t));
    if (v->type == JSON_OBJECT) v->keys[v->n] = NULL;
    v->n++;
    return 0;
}

static int parse_value(parser_t *p, json_t *v, int depth, const char *start) {
    memset(v, 0, sizeof *v);
    if (depth > JSON_MAX_DEPTH) return sal_errf(p->err, "%s: nesting too deep", p->name);
    skip_ws(p);
    if (p->s >= p->end) return sal_errf(p->err, "%s: unexpected end of file", p->name);
    char c = *p->s;
    long off = (long)(p->s - start);
    if (c == '{' || c == '[') {
        int obj = c == '{', cap = 0;
        v->type = obj ? JSON_OBJECT : JSON_ARRAY;
        p->s++;
        skip_ws(p);
        if (p->s < p->end && *p->s == (obj ? '}' : ']')) { p->s++; return 0; }
        for (;;) {
            if (push_item(p, v, &cap)) return -1;
            if (obj) {
                skip_ws(p);
                if (p->s >= p->end || *p->s != '"') return sal_errf(p->err, "%s: offset %ld: expected a key", p->name, (long)(p->s - start));
                if (parse_string(p, &v->keys[v->n - 1], start)) return -1;
                skip_ws(p);
                if (p->s >= p->end || *p->s != ':') return sal_errf(p->err, "%s: offset %ld: expected ':'", p->name, (long)(p->s - start));
                p->s++;
            }
            if (parse_value(p, &v->items[v->n - 1], depth + 1, start)) return -1;
            skip_ws(p);
            if (p->s < p->end && *p->s == ',') { p->s++; continue; }
            if (p->s < p->end && *p->s == (obj ? '}' : ']')) { p->s++; return 0; }
            return sal_errf(p->err, "%s: offset %ld: expected ',' or '%c'", p->name, (long)(p->s - start), obj ? '}' : ']');
        }
    }
    if (c == '"') {
        v->type = JSON_STRING;
        return parse_string(p, &v->str, start);
    }
    if (p->end - p->s >= 4 && !memcmp(p->s, "true", 4)) { v->type = JSON_BOOL; v->num = 1; p->s += 4; return 0; }
    if (p->end - p->s >= 5 && !memcmp(p->s, "false", 5)) { v->type = JSON_BOOL; p->s += 5; return 0; }
    if (p->end - p->s >= 4 && !memcmp(p->s, "null", 4)) { v->type = JSON_NULL; p->s += 4; return 0; }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t n = 0;
        while (p->s + n < p->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", p->s[n])) n++;
        memcpy(buf, p->s, n);
        buf[n] = 0;
        char *e;
        v->type = JSON_NUMBER;
        v->num = strtod(buf, &e);
        if (e != buf + n) return sal_errf(p->err, "%s: offset %ld: bad number", p->name, off);
        p->s += n;
        return 0;
    }
    return sal_errf(p->err, "%s: offset %ld: unexpected character '%c'", p->name, off, c);
}

int json_parse(const char *text, size_t size, const char *name, json_t *out, sal_err_t *err) {
    parser_t p = {text, text + size, name, err};
    if (parse_value(&p, out, 0, text)) {
        json_free(out);
        return -1;
    }
    skip_ws(&p);
    if (p.s != p.end) {
        json_free(out);
        return sal_errf(err, "%s: offset %ld: trailing characters", name, (long)(p.s - text));
    }
    return 0;
}

int json_load(const char *path, json_t *out, sal_err_t *err) {
    uint8_t *data;
    size_t size;
    memset(out, 0, sizeof *out);
    if (sal_read_file(path, 64u << 20, &data, &size, err)) return -1;
    int rc = json_parse((const char *)data, size, path, out, err);
    free(data);
    return rc;
}

void json_free(json_t *j) {
    if (!j) return;
    for (int i = 0; i < j->n; i++) {
        if (j->items) json_free(&j->items[i]);
        if (j->keys) free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    memset(j, 0, sizeof *j);
}

const json_t *json_get(const json_t *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    for (int i = 0; i < obj->n; i++)
        if (obj->keys[i] && strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

double json_num(const json_t *obj, const char *key, double fallback) {
    const json_t *v = json_get(obj, key);
    return v && (v->type == JSON_NUMBER || v->type == JSON_BOOL) ? v->num : fallback;
}

const char *json_str(const json_t *obj, const char *key, const char *fallback) {
    const json_t *v = json_get(obj, key);
    return v && v->type == JSON_STRING ? v->str : fallback;
}

void json_write_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

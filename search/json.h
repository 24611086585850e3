/* json.h — a small JSON reader (for the files salient writes itself:
 * result.json, state.json) and the string escaping the writers use.
 * Strict: bounded depth and size, every error reported with its offset. */
#ifndef SALIENT_JSON_H
#define SALIENT_JSON_H

#include <stdio.h>

#include "common.h"

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type_t;

typedef struct json {
    json_type_t type;
    double num;          /* JSON_NUMBER, JSON_BOOL (0/1) */
    char *str;           /* JSON_STRING (decoded, NUL-terminated) */
    int n;               /* JSON_ARRAY / JSON_OBJECT: number of items */
    char **keys;         /* JSON_OBJECT */
    struct json *items;  /* JSON_ARRAY / JSON_OBJECT */
} json_t;

/* Parses text (size bytes). On error returns -1 with "name: offset N: ...". */
int json_parse(const char *text, size_t size, const char *name, json_t *out, sal_err_t *err);
int json_load(const char *path, json_t *out, sal_err_t *err);
void json_free(json_t *j);
/* Member lookup (NULL if absent or not an object). */
const json_t *json_get(const json_t *obj, const char *key);
/* Convenience: number member or fallback. */
double json_num(const json_t *obj, const char *key, double fallback);
const char *json_str(const json_t *obj, const char *key, const char *fallback);

/* Writes s as a quoted, escaped JSON string. */
void json_write_string(FILE *f, const char *s);

#endif

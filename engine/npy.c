/* npy.c — reads and writes numpy .npy files (float32 / float64, C order).
 *
 * The format (numpy/lib/format.py, "NEP 1"):
 *
 *     "\x93NUMPY" | major | minor | header_len | header | raw array data
 *
 * header_len is a little-endian uint16 in version 1.0 and a uint32 in 2.0 and
 * 3.0 (3.0 only allows UTF-8 in the header). The header is a Python dict
 * literal, padded with spaces and ended by '\n', e.g.
 *
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *
 * 'descr' is the dtype ('<f4' = little-endian float32), 'shape' a tuple of
 * ints (() for a scalar, (n,) for a vector). The data follows, row-major.
 * We parse the dict with a tiny parser for exactly these three keys, and
 * check every size against the file length.
 */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

void npy_free(npy_array_t *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------------------ */
/* The header dict                                                          */
/* ------------------------------------------------------------------------ */

typedef struct cursor {
    const char *p, *end;
} cursor_t;

static void skip_space(cursor_t *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Consumes `ch` (after optional spaces); 1 if it was there. */
static int accept(cursor_t *c, char ch) {
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A Python string literal '...' or "..." without escapes, into buf. */
static int parse_string(cursor_t *c, char *buf, size_t cap) {
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || n + 1 >= cap) return -1;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return -1;
    c->p++;   /* closing quote */
    buf[n] = 0;
    return 0;
}

/* A word such as True / False. */
static int accept_word(cursor_t *c, const char *word) {
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* A non-negative decimal integer < 2^62 (an optional Python 2 'L' suffix is ok). */
static int parse_dim(cursor_t *c, int64_t *out) {
    skip_space(c);
    int64_t v = 0;
    int digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > ((int64_t)1 << 62) / 10) return -1;
        v = v * 10 + (*c->p++ - '0');
        digits++;
    }
    if (digits == 0) return -1;
    if (c->p < c->end && *c->p == 'L') c->p++;
    *out = v;
    return 0;
}

/* A shape tuple: () | (n,) | (n, m, ...) with an optional trailing comma. A
 * single element without the comma, "(n)", is an int in Python, not a tuple. */
static int parse_shape(cursor_t *c, int *ndim, int64_t *shape, const char *name,
                       sal_err_t *err) {
    if (!accept(c, '(')) return sal_errf(err, "%s: bad header: 'shape' is not a tuple", name);
    int n = 0, trailing_comma = 0;
    while (!accept(c, ')')) {
        if (n == TENSOR_MAX_DIMS)
            return sal_errf(err, "%s: shape has more than %d dimensions", name, TENSOR_MAX_DIMS);
        if (parse_dim(c, &shape[n]) < 0)
            return sal_errf(err, "%s: bad header: bad number in 'shape'", name);
        n++;
        trailing_comma = accept(c, ',');
        if (!trailing_comma) {
            if (!accept(c, ')')) return sal_errf(err, "%s: bad header: bad 'shape' tuple", name);
            break;
        }
    }
    if (n == 1 && !trailing_comma)
        return sal_errf(err, "%s: bad header: 'shape' (n) is not a tuple, need (n,)", name);
    *ndim = n;
    return 0;
}

/* Parses the header dict; fills dtype, ndim, shape. */
static int parse_header(const char *text, size_t len, const char *name, dtype_t *dtype,
                        int *ndim, int64_t *shape, sal_err_t *err) {
    cursor_t c = {text, text + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept(&c, '{')) return sal_errf(err, "%s: bad header: not a dict", name);
    while (!accept(&c, '}')) {
        char key[32], descr[64];
        if (parse_string(&c, key, sizeof key) < 0 || !accept(&c, ':'))
            return sal_errf(err, "%s: bad header: expected 'key': value", name);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (parse_string(&c, descr, sizeof descr) < 0)
                return sal_errf(err, "%s: unsupported dtype (not a simple type string)", name);
            if (strcmp(descr, "<f4") == 0) *dtype = DT_F32;
            else if (strcmp(descr, "<f8") == 0) *dtype = DT_F64;
            else
                return sal_errf(err, "%s: unsupported dtype '%s' (only '<f4' and '<f8')", name,
                                descr);
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (accept_word(&c, "True"))
                return sal_errf(err, "%s: fortran_order=True is not supported (need C order)",
                                name);
            if (!accept_word(&c, "False"))
                return sal_errf(err, "%s: bad header: fortran_order is not True/False", name);
            have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (parse_shape(&c, ndim, shape, name, err) < 0) return -1;
            have_shape = 1;
        } else {
            return sal_errf(err, "%s: bad header: unexpected or duplicate key '%s'", name, key);
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}')) return sal_errf(err, "%s: bad header: expected ',' or '}'", name);
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end) return sal_errf(err, "%s: bad header: text after the dict", name);
    if (!have_descr || !have_order || !have_shape)
        return sal_errf(err, "%s: bad header: missing '%s'", name,
                        !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

int npy_parse(const uint8_t *data, size_t size, const char *name, npy_array_t *out,
              sal_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!name) name = "npy";
    if (size < 8 || memcmp(data, npy_magic, 6) != 0)
        return sal_errf(err, "%s: not a .npy file (bad magic)", name);
    int major = data[6], minor = data[7];
    if (major < 1 || major > 3 || minor != 0)
        return sal_errf(err, "%s: unsupported .npy format version %d.%d", name, major, minor);
    /* header_len: uint16 (1.0) or uint32 (2.0, 3.0), little-endian */
    size_t prefix = major == 1 ? 10 : 12;
    if (size < prefix) return sal_errf(err, "%s: truncated header", name);
    size_t header_len = major == 1
        ? (size_t)data[8] | (size_t)data[9] << 8
        : (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 | (size_t)data[11] << 24;
    if (header_len > size - prefix)
        return sal_errf(err, "%s: truncated header (%zu bytes announced, %zu present)", name,
                        header_len, size - prefix);
    if (header_len > 65536 * 16)   /* numpy itself refuses headers over ~10 kB */
        return sal_errf(err, "%s: header too long (%zu bytes)", name, header_len);

    dtype_t dt = DT_F32;
    int ndim = 0;
    int64_t shape[TENSOR_MAX_DIMS] = {0};
    if (parse_header((const char *)data + prefix, header_len, name, &dt, &ndim, shape, err) < 0)
        return -1;

    /* data bytes = product(shape) * itemsize, overflow-checked */
    size_t itemsize = dtype_size(dt), nbytes = itemsize;
    for (int i = 0; i < ndim; i++)
        if (sal_mul_size(nbytes, (size_t)shape[i], &nbytes) < 0)
            return sal_errf(err, "%s: shape too large", name);
    size_t have = size - prefix - header_len;
    if (have < nbytes)
        return sal_errf(err, "%s: truncated data (%zu bytes, expected %zu)", name, have, nbytes);
    if (have > nbytes)
        return sal_errf(err, "%s: %zu extra bytes after the data", name, have - nbytes);

    void *buf = malloc(nbytes ? nbytes : 1);
    if (!buf) return sal_errf(err, "%s: out of memory (%zu bytes)", name, nbytes);
    /* little-endian bytes -> host values, portable (a plain copy on x86) */
    const uint8_t *src = data + prefix + header_len;
    size_t n = nbytes / itemsize;
    if (dt == DT_F32) {
        float *f = buf;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *b = src + 4 * i;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
            float v;
            memcpy(&v, &u, 4);
            f[i] = v;
        }
    } else {
        double *f = buf;
        for (size_t i = 0; i < n; i++) {
            uint64_t u = 0;
            for (int k = 7; k >= 0; k--) u = u << 8 | src[8 * i + (size_t)k];
            double v;
            memcpy(&v, &u, 8);
            f[i] = v;
        }
    }
    out->dtype = dt;
    out->ndim = ndim;
    memcpy(out->shape, shape, sizeof shape);
    out->data = buf;
    return 0;
}

int npy_load(const char *path, npy_array_t *out, sal_err_t *err) {
    uint8_t *data;
    size_t size;
    memset(out, 0, sizeof *out);
    if (sal_read_file(path, SIZE_MAX - 1, &data, &size, err) < 0) return -1;
    int rc = npy_parse(data, size, path, out, err);
    free(data);
    return rc;
}

int npy_load_f32(const char *path, npy_array_t *out, sal_err_t *err) {
    if (npy_load(path, out, err) < 0) return -1;
    if (out->dtype == DT_F64) {
        size_t n = 1;
        for (int i = 0; i < out->ndim; i++) n *= (size_t)out->shape[i];   /* checked on load */
        const double *d = out->data;
        float *f = malloc(n ? n * sizeof(float) : 1);
        if (!f) {
            npy_free(out);
            return sal_errf(err, "%s: out of memory", path);
        }
        for (size_t i = 0; i < n; i++) f[i] = (float)d[i];   /* round to nearest */
        free(out->data);
        out->data = f;
        out->dtype = DT_F32;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

int npy_save(const char *path, dtype_t dt, int ndim, const int64_t *shape, const void *data,
             sal_err_t *err) {
    if (dt != DT_F32 && dt != DT_F64)
        return sal_errf(err, "%s: npy_save supports only f32 and f64", path);
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS)
        return sal_errf(err, "%s: bad number of dimensions %d", path, ndim);
    size_t itemsize = dtype_size(dt), nbytes = itemsize;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || sal_mul_size(nbytes, (size_t)shape[i], &nbytes) < 0)
            return sal_errf(err, "%s: bad shape", path);
    if (nbytes > 0 && !data) return sal_errf(err, "%s: no data", path);

    /* The dict exactly as numpy writes it: keys sorted, repr() of the values,
     * then 21 - len(str(shape[0])) spare spaces (numpy's GROWTH_AXIS_MAX_DIGITS
     * room for growing the first axis in place), then spaces so that
     * magic + version + header_len + header is a multiple of 64, then '\n'. */
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dt == DT_F32 ? "<f4" : "<f8");
    for (int i = 0; i < ndim; i++)
        n += snprintf(header + n, sizeof header - (size_t)n, "%s%lld", i ? ", " : "",
                      (long long)shape[i]);
    n += snprintf(header + n, sizeof header - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    if (ndim > 0) {
        int digits = snprintf(NULL, 0, "%lld", (long long)shape[0]);
        for (int i = digits; i < 21; i++) header[n++] = ' ';
    }
    size_t hlen = (size_t)n + 1;                  /* + '\n' */
    size_t pad = 64 - (10 + hlen) % 64;           /* 1..64, as numpy computes it */
    size_t header_total = hlen + pad;             /* < 65536: version 1.0 suffices */

    size_t file_size = 10 + header_total + nbytes;
    uint8_t *buf = malloc(file_size);
    if (!buf) return sal_errf(err, "%s: out of memory", path);
    memcpy(buf, npy_magic, 6);
    buf[6] = 1;                                   /* version 1.0 */
    buf[7] = 0;
    buf[8] = (uint8_t)(header_total & 0xff);
    buf[9] = (uint8_t)(header_total >> 8);
    memcpy(buf + 10, header, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + header_total - 1] = '\n';
    /* host values -> little-endian bytes */
    uint8_t *dst = buf + 10 + header_total;
    size_t count = nbytes / itemsize;
    if (dt == DT_F32) {
        const float *f = data;
        for (size_t i = 0; i < count; i++) {
            uint32_t u;
            memcpy(&u, &f[i], 4);
            for (int k = 0; k < 4; k++) dst[4 * i + (size_t)k] = (uint8_t)(u >> (8 * k));
        }
    } else {
        const double *f = data;
        for (size_t i = 0; i < count; i++) {
            uint64_t u;
            memcpy(&u, &f[i], 8);
            for (int k = 0; k < 8; k++) dst[8 * i + (size_t)k] = (uint8_t)(u >> (8 * k));
        }
    }
    int rc = sal_write_file_atomic(path, buf, file_size, err);
    free(buf);
    return rc;
}

/* cli.c — command-line parsing helpers (see cli.h). */
#include "cli.h"

#include "netload.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_int(const char *flag, const char *val, long lo, long hi, int *out, sal_err_t *err) {
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (end == val || *end || errno || v < lo || v > hi)
        return sal_errf(err, "%s: expected an integer in %ld..%ld, got '%s'", flag, lo, hi, val);
    *out = (int)v;
    return 0;
}

int cli_threads(const char *val, int *out, sal_err_t *err) {
    return cli_int("--threads", val, 1, CLI_MAX_THREADS, out, err);
}

int cli_double(const char *flag, const char *val, double lo, double hi, double *out, sal_err_t *err) {
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (end == val || *end || errno || !isfinite(v) || v < lo || v > hi)
        return sal_errf(err, "%s: expected a number in %g..%g, got '%s'", flag, lo, hi, val);
    *out = v;
    return 0;
}

int cli_value(int argc, char **argv, int *i, const char *flag, const char **val, sal_err_t *err) {
    const char *a = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(a, flag, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != 0) return 0;
    if (*i + 1 >= argc) {
        sal_errf(err, "%s: missing value", flag);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_image_limit(size_t *max_bytes, sal_err_t *err) {
    *max_bytes = 0;
    const char *v = getenv("SALIENT_MAX_IMAGE_MB");
    if (!v || !*v) return 0;
    int mb;
    if (cli_int("SALIENT_MAX_IMAGE_MB", v, 1, 1L << 20, &mb, err)) return -1;
    *max_bytes = (size_t)mb << 20;
    return 0;
}

int cli_open_models(const char *network, const char *saliency, int quiet, blob_t **gblob, blob_t **sblob,
                    sal_err_t *err) {
    const char *paths[2] = {network, saliency};
    blob_t **blobs[2] = {gblob, sblob};
    for (int i = 0; i < 2; i++) {
        const netload_options_t lo = {.saliency = i == 1};   // errors say what each file should be
        const int r = netload_open_ex(paths[i], &lo, blobs[i], err);
        if (r < 0) return -1;
        if (r == 1 && !quiet)
            fprintf(stderr, "note: converting %s in memory; run `weightconv %s OUT.blob` once to load faster\n",
                    paths[i], paths[i]);
    }
    return 0;
}

int cli_noise_mode(const char *val, sg2_noise_mode_t *out, sal_err_t *err) {
    if (!strcmp(val, "const")) *out = SG2_NOISE_CONST;
    else if (!strcmp(val, "none")) *out = SG2_NOISE_NONE;
    else if (!strcmp(val, "random")) *out = SG2_NOISE_RANDOM;
    else return sal_errf(err, "--noise-mode: expected const, none or random, got '%s'", val);
    return 0;
}

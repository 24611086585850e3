/* cli.h — small helpers for the command-line programs: strict number
 * parsing with a clear message naming the flag, and flag matching. */
#ifndef SALIENT_CLI_H
#define SALIENT_CLI_H

#include "blob.h"
#include "common.h"
#include "stylegan2.h"

/* Integer in [lo, hi]; "--steps: expected an integer in 0..99, got 'x'". */
int cli_int(const char *flag, const char *val, long lo, long hi, int *out, sal_err_t *err);
/* --threads N, the same rule in every program: 1..CLI_MAX_THREADS. */
#define CLI_MAX_THREADS 1024
int cli_threads(const char *val, int *out, sal_err_t *err);
/* Finite float in [lo, hi]. */
int cli_double(const char *flag, const char *val, double lo, double hi, double *out, sal_err_t *err);
/* For `--flag VALUE` loops: if argv[*i] is `flag`, sets *val to the next
 * argument (error if missing) and advances *i; also accepts `--flag=VALUE`.
 * Returns 1 if matched, 0 if not, -1 on a missing value. */
int cli_value(int argc, char **argv, int *i, const char *flag, const char **val, sal_err_t *err);

/* The image decoding limit (bytes a decoder may hold, png.h's
 * SAL_IMAGE_DEFAULT_MAX_BYTES) from the environment variable
 * SALIENT_MAX_IMAGE_MB (MiB, 1..1048576); *max_bytes = 0 (the default)
 * when unset or empty. For the programs' main code only. */
int cli_image_limit(size_t *max_bytes, sal_err_t *err);

/* --noise-mode VALUE: const, none or random (a message naming the flag otherwise). */
int cli_noise_mode(const char *val, sg2_noise_mode_t *out, sal_err_t *err);

/* Opens the generator file `network` and the saliency model file `saliency`
 * (blobs are mmapped; pickles and .vxm files are converted in memory, with
 * the hint "note: converting X in memory; ..." on stderr unless quiet). A
 * wrong file is told what it should have been. 0, or -1 with *gblob and
 * *sblob closed or NULL as they were opened (the caller closes both). */
int cli_open_models(const char *network, const char *saliency, int quiet, blob_t **gblob, blob_t **sblob,
                    sal_err_t *err);

#endif

/* sha256.h — SHA-256 (FIPS 180-4), so a report can name the exact network
 * file it was made with. Streaming (init/update/final) and a whole-file
 * helper that reads in chunks (works for multi-GB files). */
#ifndef SALIENT_SHA256_H
#define SALIENT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct sha256 {
    uint32_t h[8];      /* the chaining state H0..H7 */
    uint8_t block[64];  /* the partial 512-bit block */
    size_t used;        /* bytes in block */
    uint64_t bytes;     /* message length so far */
} sha256_t;

void sha256_init(sha256_t *s);
void sha256_update(sha256_t *s, const void *data, size_t n);
void sha256_final(sha256_t *s, uint8_t digest[32]);
/* digest as 64 lowercase hex digits and a NUL */
void sha256_hex(const uint8_t digest[32], char hex[65]);
/* The hex digest of a whole file; "FILE: cannot read (...)" on error. */
int sha256_file(const char *path, char hex[65], sal_err_t *err);

#endif

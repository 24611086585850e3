/* zip_reader.h — a read-only zip archive reader over a buffer in memory
 * (an mmapped file), enough for torch.save's zip format: stored and
 * deflated members, zip64 sizes/offsets, CRC-32 checked.
 *
 * Every offset and size in the central directory and the local headers is
 * checked against the buffer before use. Stored members are returned as
 * pointers into the buffer (no copy); deflated ones are inflated with zlib
 * into a malloc'ed buffer the caller frees.
 */
#ifndef SALIENT_ZIP_READER_H
#define SALIENT_ZIP_READER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct zr_entry {
    char *name;            /* NUL-terminated copy */
    uint16_t method;       /* 0 stored, 8 deflated */
    uint16_t flags;
    uint32_t crc32;
    uint64_t comp_size, size;
    uint64_t local_offset; /* of the local file header */
} zr_entry_t;

typedef struct zr_archive {
    const char *name;      /* file name for messages */
    const uint8_t *data;
    size_t len;
    zr_entry_t *entries;
    int n_entries;
    zr_entry_t **by_name;  /* entries sorted by name: zr_find is a binary search */
} zr_archive_t;

/* 1 if the buffer starts like a zip archive (local header signature). */
int zr_is_zip(const uint8_t *data, size_t len);
/* Reads the central directory. On error the archive is left empty. */
int zr_open(zr_archive_t *z, const uint8_t *data, size_t len, const char *name, sal_err_t *err);
void zr_close(zr_archive_t *z);
/* The entry with exactly this name, or NULL. */
const zr_entry_t *zr_find(const zr_archive_t *z, const char *name);
/* The member's bytes: *out points into the archive (stored) or into a new
 * buffer returned in *owned (deflated; free() it). max_size bounds the
 * inflated size we accept. */
int zr_read(const zr_archive_t *z, const zr_entry_t *e, uint64_t max_size, const uint8_t **out,
            void **owned, sal_err_t *err);

#endif

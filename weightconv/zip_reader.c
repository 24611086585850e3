/* zip_reader.c — the zip reader declared in zip_reader.h.
 *
 * Layout reminder (APPNOTE): members are "local header + data", then the
 * central directory (one record per member: name, method, sizes, CRC and
 * the offset of its local header), then the end-of-central-directory record
 * (EOCD, at most 64 KiB + 22 bytes from the end). Archives with more than
 * 65535 members or offsets/sizes >= 4 GiB use zip64: the EOCD fields are
 * 0xFFFF.. and the real values sit in a zip64 EOCD (found through a locator
 * right before the EOCD) and in per-member zip64 "extra" fields.
 */
#include "zip_reader.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define MAX_ENTRIES 1000000

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

int zr_is_zip(const uint8_t *data, size_t len) { return len >= 4 && rd32(data) == SIG_LOCAL; }

/* 1 if [off, off+n) lies inside the buffer. */
static int in_bounds(const zr_archive_t *z, uint64_t off, uint64_t n) {
    return off <= z->len && n <= z->len - off;
}

void zr_close(zr_archive_t *z) {
    if (!z) return;
    for (int i = 0; i < z->n_entries; i++) free(z->entries[i].name);
    free(z->entries);
    free(z->by_name);
    z->entries = NULL;
    z->by_name = NULL;
    z->n_entries = 0;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(zr_entry_t *const *)a)->name, (*(zr_entry_t *const *)b)->name);
}

/* Reads the zip64 extra field of a central record: replaces the fields that
 * were saturated at 0xFFFFFFFF, in the fixed order size, comp_size, offset. */
static int apply_zip64_extra(zr_entry_t *e, const uint8_t *extra, size_t n, int need_size,
                             int need_comp, int need_off) {
    size_t pos = 0;
    while (pos + 4 <= n) {
        uint16_t id = rd16(extra + pos), sz = rd16(extra + pos + 2);
        if (sz > n - pos - 4) return -1;
        if (id == 0x0001) {
            const uint8_t *f = extra + pos + 4;
            size_t k = 0;
            if (need_size) { if (k + 8 > sz) return -1; e->size = rd64(f + k); k += 8; }
            if (need_comp) { if (k + 8 > sz) return -1; e->comp_size = rd64(f + k); k += 8; }
            if (need_off) { if (k + 8 > sz) return -1; e->local_offset = rd64(f + k); }
            return 0;
        }
        pos += 4 + (size_t)sz;
    }
    return (need_size || need_comp || need_off) ? -1 : 0;
}

int zr_open(zr_archive_t *z, const uint8_t *data, size_t len, const char *name, sal_err_t *err) {
    memset(z, 0, sizeof *z);
    z->name = name;
    z->data = data;
    z->len = len;
    if (len < 22) return sal_errf(err, "%s: zip archive too short", name);
    /* Find the EOCD: scan back over a possible archive comment. */
    size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0, eocd = SIZE_MAX;
    for (size_t p = len - 22 + 1; p-- > lo;) {
        if (rd32(data + p) == SIG_EOCD && p + 22 + rd16(data + p + 20) == len) { eocd = p; break; }
    }
    if (eocd == SIZE_MAX) return sal_errf(err, "%s: zip end-of-central-directory record not found", name);
    const uint8_t *e = data + eocd;
    uint64_t n_entries = rd16(e + 10), cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0) return sal_errf(err, "%s: multi-disk zip archives are not supported", name);
    if (n_entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        if (eocd < 20 || rd32(data + eocd - 20) != SIG_LOC64) return sal_errf(err, "%s: zip64 locator missing", name);
        uint64_t off64 = rd64(data + eocd - 20 + 8);
        if (!in_bounds(z, off64, 56) || rd32(data + off64) != SIG_EOCD64)
            return sal_errf(err, "%s: bad zip64 end-of-central-directory offset", name);
        const uint8_t *e64 = data + off64;
        n_entries = rd64(e64 + 32);
        cd_size = rd64(e64 + 40);
        cd_off = rd64(e64 + 48);
    }
    if (!in_bounds(z, cd_off, cd_size)) return sal_errf(err, "%s: zip central directory out of bounds", name);
    if (n_entries > MAX_ENTRIES || n_entries > cd_size / 46)
        return sal_errf(err, "%s: zip central directory claims %llu entries", name, (unsigned long long)n_entries);
    z->entries = calloc(n_entries ? (size_t)n_entries : 1, sizeof(zr_entry_t));
    if (!z->entries) return sal_errf(err, "%s: out of memory", name);
    const uint8_t *p = data + cd_off, *end = p + cd_size;
    for (uint64_t i = 0; i < n_entries; i++) {
        if (end - p < 46 || rd32(p) != SIG_CENTRAL) {
            zr_close(z);
            return sal_errf(err, "%s: corrupt zip central directory (entry %llu)", name, (unsigned long long)i);
        }
        uint16_t nl = rd16(p + 28), xl = rd16(p + 30), cl = rd16(p + 32);
        if ((size_t)(end - p) < 46u + nl + xl + cl) {
            zr_close(z);
            return sal_errf(err, "%s: corrupt zip central directory (entry %llu)", name, (unsigned long long)i);
        }
        zr_entry_t *en = &z->entries[z->n_entries];
        en->flags = rd16(p + 8);
        en->method = rd16(p + 10);
        en->crc32 = rd32(p + 16);
        en->comp_size = rd32(p + 20);
        en->size = rd32(p + 24);
        en->local_offset = rd32(p + 42);
        if (!(en->name = malloc((size_t)nl + 1))) {
            zr_close(z);
            return sal_errf(err, "%s: out of memory", name);
        }
        memcpy(en->name, p + 46, nl);
        en->name[nl] = 0;
        z->n_entries++;
        if (memchr(en->name, 0, nl)) {
            zr_close(z);
            return sal_errf(err, "%s: zip member name contains a NUL byte", name);
        }
        if (apply_zip64_extra(en, p + 46 + nl, xl, en->size == 0xFFFFFFFFu, en->comp_size == 0xFFFFFFFFu,
                              en->local_offset == 0xFFFFFFFFu)) {
            zr_close(z);
            return sal_errf(err, "%s: bad zip64 extra field for '%s'", name, en->name);
        }
        p += 46u + nl + xl + cl;
    }
    /* the name index; a name given twice would make lookups ambiguous */
    if (!(z->by_name = malloc(sizeof *z->by_name * (z->n_entries ? (size_t)z->n_entries : 1)))) {
        zr_close(z);
        return sal_errf(err, "%s: out of memory", name);
    }
    for (int i = 0; i < z->n_entries; i++) z->by_name[i] = &z->entries[i];
    qsort(z->by_name, (size_t)z->n_entries, sizeof *z->by_name, cmp_entry_name);
    for (int i = 1; i < z->n_entries; i++) {
        if (strcmp(z->by_name[i - 1]->name, z->by_name[i]->name) == 0) {
            sal_errf(err, "%s: zip member '%s' appears twice", name, z->by_name[i]->name);
            zr_close(z);
            return -1;
        }
    }
    return 0;
}

const zr_entry_t *zr_find(const zr_archive_t *z, const char *name) {
    if (!z->by_name || !z->n_entries) return NULL;
    zr_entry_t probe, *pp = &probe;
    probe.name = (char *)(uintptr_t)name;  /* only compared */
    zr_entry_t **hit = bsearch(&pp, z->by_name, (size_t)z->n_entries, sizeof *z->by_name, cmp_entry_name);
    return hit ? *hit : NULL;
}

int zr_read(const zr_archive_t *z, const zr_entry_t *e, uint64_t max_size, const uint8_t **out,
            void **owned, sal_err_t *err) {
    *out = NULL;
    *owned = NULL;
    if (e->flags & 1) return sal_errf(err, "%s: zip member '%s' is encrypted", z->name, e->name);
    if (!in_bounds(z, e->local_offset, 30) || rd32(z->data + e->local_offset) != SIG_LOCAL)
        return sal_errf(err, "%s: zip member '%s': bad local header", z->name, e->name);
    const uint8_t *lh = z->data + e->local_offset;
    uint64_t data_off = e->local_offset + 30 + rd16(lh + 26) + rd16(lh + 28);
    if (!in_bounds(z, data_off, e->comp_size))
        return sal_errf(err, "%s: zip member '%s' extends past the end of the file", z->name, e->name);
    if (e->size > max_size)
        return sal_errf(err, "%s: zip member '%s' inflates to %llu bytes, over the %llu bytes left of the "
                        "archive's budget (a zip bomb?)", z->name, e->name, (unsigned long long)e->size,
                        (unsigned long long)max_size);
    const uint8_t *src = z->data + data_off;
    if (e->method == 0) {
        if (e->comp_size != e->size)
            return sal_errf(err, "%s: stored zip member '%s' has inconsistent sizes", z->name, e->name);
        uLong crc = crc32(0L, Z_NULL, 0);
        for (uint64_t done = 0; done < e->size;) {  /* zlib takes uInt lengths */
            uint64_t chunk = e->size - done < (1u << 30) ? e->size - done : (1u << 30);
            crc = crc32(crc, src + done, (uInt)chunk);
            done += chunk;
        }
        if ((uint32_t)crc != e->crc32) return sal_errf(err, "%s: zip member '%s': CRC mismatch", z->name, e->name);
        *out = src;
        return 0;
    }
    if (e->method != 8)
        return sal_errf(err, "%s: zip member '%s' uses unsupported compression method %u", z->name, e->name,
                        e->method);
    uint8_t *buf = malloc(e->size ? (size_t)e->size : 1);
    if (!buf) return sal_errf(err, "%s: out of memory inflating '%s'", z->name, e->name);
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -15) != Z_OK) {
        free(buf);
        return sal_errf(err, "%s: zlib init failed", z->name);
    }
    uint64_t in_left = e->comp_size, out_left = e->size;
    const uint8_t *in = src;
    uint8_t *o = buf;
    int zrc = Z_OK;
    while (zrc == Z_OK) {
        uInt ci = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        uInt co = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
        s.next_in = (Bytef *)(uintptr_t)in;
        s.avail_in = ci;
        s.next_out = o;
        s.avail_out = co;
        zrc = inflate(&s, Z_NO_FLUSH);
        in += ci - s.avail_in;
        in_left -= ci - s.avail_in;
        o += co - s.avail_out;
        out_left -= co - s.avail_out;
        if (zrc == Z_OK && ci == s.avail_in && co == s.avail_out) zrc = Z_BUF_ERROR;  /* no progress */
    }
    inflateEnd(&s);
    if (zrc != Z_STREAM_END || out_left != 0) {
        free(buf);
        return sal_errf(err, "%s: zip member '%s': corrupt deflate data", z->name, e->name);
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < e->size;) {
        uint64_t chunk = e->size - done < (1u << 30) ? e->size - done : (1u << 30);
        crc = crc32(crc, buf + done, (uInt)chunk);
        done += chunk;
    }
    if ((uint32_t)crc != e->crc32) {
        free(buf);
        return sal_errf(err, "%s: zip member '%s': CRC mismatch", z->name, e->name);
    }
    *out = buf;
    *owned = buf;
    return 0;
}

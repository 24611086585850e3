/* vxm.h — Twitter's `.vxm` saliency model files (fastgaze.vxm) -> salient blob.
 *
 * A .vxm file is a flat key/value database (mpt KeyValueDB, "tPM" magic):
 *
 *   u32 magic        0x4D507401 ("\x01tPM"; "\x00tPM" is read the same way)
 *   u32 count
 *   count x { u32 key_len (incl. the NUL), key bytes + NUL, u32 value_len, value }
 *
 * all little endian. The network is described by keys like `layerCount`,
 * `<i>Type` (0 conv, 2 max-pool, 3 an unused blur), `<i>Act` (1 ReLU, 4 leaky
 * ReLU), `<i>w.shape[0..3]`, `<i>w` (float32 OIHW), `<i>b`, `<i>alpha`
 * (the layers: docs/saliency.md, section 4.3).
 *
 * vxm_parse validates the container strictly (every length against the bytes
 * left, NUL-terminated printable keys, no duplicates, no trailing bytes);
 * vxm_to_blob validates the network (types, activations, shapes, sizes) and
 * writes it as a blob with `arch` = "fastgaze" — the layout nets/fastgaze.c
 * reads (documented at the top of vxm.c).
 */
#ifndef SALIENT_VXM_H
#define SALIENT_VXM_H

#include "blob.h"
#include "common.h"

#include <stdint.h>

#define VXM_MAX_KEY_LEN 1024     /* longer keys are rejected */
#define VXM_MAX_LAYERS 256

typedef struct vxm_entry {
    const char *key;        /* NUL-terminated, points into the parsed data */
    const uint8_t *value;   /* value_len bytes, unaligned, points into the data */
    uint32_t len;
} vxm_entry_t;

typedef struct vxm_db {
    vxm_entry_t *entries;   /* malloc'ed, in file order */
    int count;
} vxm_db_t;

/* 1 if data starts with the vxm magic ("\x01tPM" or "\x00tPM"). */
int vxm_sniff(const uint8_t *data, size_t size);

/* Parses the container. Entries point into `data`, which must outlive db.
 * `name` is used in messages. */
int vxm_parse(const uint8_t *data, size_t size, const char *name, vxm_db_t *db,
              sal_err_t *err);
void vxm_db_free(vxm_db_t *db);
const vxm_entry_t *vxm_find(const vxm_db_t *db, const char *key);

/* Checks the network the database describes and adds it to the writer:
 * metadata arch = "fastgaze", fastgaze.layers, layer.<i>.* and the tensors
 * layer.<i>.weight (C_out, C_in, k, k) and layer.<i>.bias (C_out) (copied). */
int vxm_to_blob(const vxm_db_t *db, const char *name, blob_writer_t *w, sal_err_t *err);

/* Reads a .vxm file and returns the equivalent blob, built in memory. */
int vxm_open_blob(const char *path, blob_t **out, sal_err_t *err);
/* Same from bytes already in memory (`name` for messages). */
int vxm_blob_from_memory(const uint8_t *data, size_t size, const char *name, blob_t **out,
                         sal_err_t *err);
/* Converts a .vxm file into a blob file (written atomically). */
int vxm_convert_file(const char *in_path, const char *out_path, sal_err_t *err);

#endif

/* netload.h — open any network file the programs accept for --network.
 *
 * Formats are recognised by their first bytes, never by the file name:
 *   blob     "SALBLOB\0"                          -> mmapped as is (blob_open)
 *   pytorch  pickle (0x80 proto) / torch.save zip -> StyleGAN2-ADA PyTorch (sg2_pytorch)
 *   tf       pickle naming dnnlib.tflib classes   -> StyleGAN2(-ADA) TensorFlow (issue 8)
 *   vxm      "\x01tPM" / "\x00tPM"                -> Twitter's saliency model (vxm.c)
 * A foreign format is converted in memory into a blob image; the caller
 * should then tell the user once that converting the file ahead
 * (`weightconv IN OUT.blob`) loads faster. netload itself prints nothing.
 */
#ifndef SALIENT_NETLOAD_H
#define SALIENT_NETLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "blob.h"
#include "common.h"
#include "wc_input.h"

typedef enum netload_format {
    NETLOAD_UNKNOWN = 0,
    NETLOAD_BLOB,
    NETLOAD_PYTORCH,   /* network pickle or torch.save file (zip or legacy) */
    NETLOAD_TF,        /* TensorFlow StyleGAN2 / StyleGAN2-ADA pickle */
    NETLOAD_VXM,       /* Twitter's saliency model (fastgaze.vxm) */
    /* new formats go here and in netload.c */
} netload_format_t;

typedef struct netload_options {
    int use_G;     /* PyTorch snapshots: convert G instead of G_ema */
    int saliency;  /* the caller wants the saliency model: only a .vxm or a blob
                    * is accepted, and errors say what a saliency model is */
} netload_options_t;

/* Format of a file from its first bytes (pass the whole buffer or at
 * least its first 4 KiB). */
netload_format_t netload_detect(const uint8_t *data, size_t size);
const char *netload_format_name(netload_format_t f);

/* Converts a foreign network file (already mapped in `in`) into w; tensors
 * may point into `in`, so keep it open until w is saved. */
int netload_convert(wc_input_t *in, const netload_options_t *opt, blob_writer_t *w, sal_err_t *err);

/* Opens a network file. Returns 0 when `path` is a blob (mmapped), 1 when a
 * foreign format was converted in memory (print the hint
 * "note: converting X in memory; run `weightconv X OUT.blob` once to load
 * faster"), -1 on error (*out = NULL). */
int netload_open(const char *path, blob_t **out, sal_err_t *err);
int netload_open_ex(const char *path, const netload_options_t *opt, blob_t **out, sal_err_t *err);

#endif

/* netload.c — format detection and in-memory conversion; see netload.h. */
#include "netload.h"

#include <string.h>

#include "sg2_pytorch.h"
#include "sg2_tf.h"
#include "vxm.h"
#include "zip_reader.h"

/* "module.path\nName\n": two lines of identifier characters (and dots). */
static int looks_like_global(const uint8_t *p, size_t n) {
    int lines = 0;
    size_t len = 0;
    for (size_t i = 0; i < n && i < 512 && lines < 2; i++) {
        uint8_t c = p[i];
        if (c == '\n') {
            if (!len) return 0;
            lines++;
            len = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                   c == '.') {
            len++;
        } else {
            return 0;
        }
    }
    return lines == 2;
}

netload_format_t netload_detect(const uint8_t *data, size_t size) {
    if (size >= 8 && memcmp(data, BLOB_MAGIC, 8) == 0) return NETLOAD_BLOB;
    if (zr_is_zip(data, size)) return NETLOAD_PYTORCH;
    if (size >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5) {
        if (sg2tf_sniff(data, size)) return NETLOAD_TF;  /* names the TF Network class */
        return NETLOAD_PYTORCH;
    }
    if (vxm_sniff(data, size)) return NETLOAD_VXM;
    /* protocol 0/1 pickles have no PROTO opcode: they open with MARK, a
     * GLOBAL or an empty container; the pickle reader judges the rest. A
     * GLOBAL must look like one ("cmodule.path\nName\n"), so that a text
     * file starting with 'c' is not called a pickle. */
    if (size >= 2 && data[0] == 'c') return looks_like_global(data + 1, size - 1) ? NETLOAD_PYTORCH : NETLOAD_UNKNOWN;
    if (size >= 2 && strchr("(}])", data[0]) && data[0]) return NETLOAD_PYTORCH;
    return NETLOAD_UNKNOWN;
}

const char *netload_format_name(netload_format_t f) {
    switch (f) {
    case NETLOAD_BLOB: return "blob";
    case NETLOAD_PYTORCH: return "PyTorch pickle";
    case NETLOAD_TF: return "TensorFlow pickle";
    case NETLOAD_VXM: return "saliency model (.vxm)";
    default: return "unknown";
    }
}

/* The saliency model was wanted but the file is something else. */
static int not_saliency_model(const char *name, netload_format_t f, sal_err_t *err) {
    if (f == NETLOAD_UNKNOWN)
        return sal_errf(err, "%s: not a saliency model (unknown file format): expected Twitter's fastgaze model, "
                        "fastgaze.vxm (see `make models`), or the blob `weightconv fastgaze.vxm OUT.blob` makes", name);
    return sal_errf(err, "%s: looks like a %s (a network file), not a saliency model: expected Twitter's fastgaze model, fastgaze.vxm "
                    "(see `make models`), or its blob", name, netload_format_name(f));
}

int netload_convert(wc_input_t *in, const netload_options_t *opt, blob_writer_t *w, sal_err_t *err) {
    const char *name = wc_basename(in->path);
    switch (netload_detect(in->data, in->size)) {
    case NETLOAD_PYTORCH: {
        sg2pt_options_t o = {opt ? opt->use_G : 0};
        return sg2pt_convert(in, &o, w, err);
    }
    case NETLOAD_TF: {
        sg2tf_options_t o = {opt ? opt->use_G : 0};
        return sg2tf_convert(in, &o, w, err);
    }
    case NETLOAD_BLOB:
        return sal_errf(err, "%s: already a blob", name);
    case NETLOAD_VXM: {
        vxm_db_t db;
        if (vxm_parse(in->data, in->size, name, &db, err)) return -1;
        int rc = vxm_to_blob(&db, name, w, err);   // tensors point into in->data
        vxm_db_free(&db);
        return rc;
    }
    default:
        if (opt && opt->saliency) return not_saliency_model(name, NETLOAD_UNKNOWN, err);
        return sal_errf(err, "%s: unknown file format: neither a network (salient blob, StyleGAN2 .pkl, "
                        "torch.save .pt) nor a saliency model (fastgaze.vxm or its blob)", name);
    }
}

int netload_open_ex(const char *path, const netload_options_t *opt, blob_t **out, sal_err_t *err) {
    *out = NULL;
    wc_input_t in;
    if (wc_input_open(&in, path, err)) return -1;
    netload_format_t f = netload_detect(in.data, in.size);
    if (opt && opt->saliency && f != NETLOAD_BLOB && f != NETLOAD_VXM) {
        wc_input_close(&in);
        return not_saliency_model(wc_basename(path), f, err);
    }
    if (f == NETLOAD_BLOB) {
        wc_input_close(&in);
        return blob_open(out, path, 1, err);
    }
    blob_writer_t *w = blob_writer_new();
    if (!w) {
        wc_input_close(&in);
        return sal_errf(err, "%s: out of memory", path);
    }
    void *image = NULL;
    size_t size = 0;
    int rc = netload_convert(&in, opt, w, err);
    if (!rc) rc = blob_writer_to_memory(w, &image, &size, err);
    blob_writer_free(w);
    wc_input_close(&in);
    if (rc) return -1;
    if (blob_open_memory(out, image, size, 1, path, 0, err)) return -1;
    return 1;
}

int netload_open(const char *path, blob_t **out, sal_err_t *err) {
    return netload_open_ex(path, NULL, out, err);
}

/* fuzz_pickle.c — libFuzzer target for the safe pickle reader.
 *
 * Each input is run (1) through the bare pickle VM with the StyleGAN2
 * whitelist plus persistent ids, walking the result with pk_repr, and
 * (2) through the whole network converter (format sniffing, torch storage
 * blobs, zip reader, module walk) into a blob image. Anything but a clean
 * result or a one-line error (crash, leak, hang, sanitizer report) is a bug.
 * Build and run: make fuzz; make -C tests/fuzz run (see tests/fuzz/Makefile).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netload.h"
#include "pickle.h"
#include "wc_input.h"

static const pk_global_t GLOBALS[] = {
    {"torch_utils.persistence", "_reconstruct_persistent_obj", PK_G_OBJECT},
    {"collections", "OrderedDict", PK_G_DICT},
    {"torch._utils", "_rebuild_tensor_v2", PK_G_OBJECT},
    {"torch._utils", "_rebuild_parameter", PK_G_OBJECT},
    {"torch.storage", "_load_from_bytes", PK_G_OBJECT},
    {"numpy", "dtype", PK_G_OBJECT},
    {"dnnlib.util", "EasyDict", PK_G_DICT},
    {"builtins", "set", PK_G_SET},
    {"torch", "FloatStorage", PK_G_CLASS},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sal_err_t err;
    pk_options_t o = {"fuzz.pkl", GLOBALS, (int)(sizeof GLOBALS / sizeof GLOBALS[0]), 1, 64u << 20, 0};
    pk_ctx_t *c = pk_ctx_new(&o);
    pk_node_t *root;
    size_t used;
    if (c && pk_load(c, data, size, &used, &root, &err) == 0) {
        char repr[512];
        pk_repr(root, repr, sizeof repr);
        if (used > size) abort();
    } else if (c && (strchr(err.msg, '\n') || strncmp(err.msg, "fuzz.pkl: ", 10) != 0)) {
        abort();  /* errors are one line naming the file */
    }
    pk_ctx_free(c);

    wc_input_t in;
    if (wc_input_from_memory(&in, data, size, "fuzz.pkl", &err) == 0) {
        blob_writer_t *w = blob_writer_new();
        if (w && netload_convert(&in, NULL, w, &err) == 0) {
            void *img;
            size_t n;
            if (blob_writer_to_memory(w, &img, &n, &err) == 0) sal_free_aligned(img);
        }
        blob_writer_free(w);
        wc_input_close(&in);
    }
    return 0;
}

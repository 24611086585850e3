/* weightconv_main.c — bin/weightconv: convert network files to salient's
 * blob format, inspect them, or write random-weight blobs.
 *
 *   weightconv IN OUT.blob [--use-G]        convert (format detected from content)
 *   weightconv --info FILE [--use-G]        metadata + tensor table (blob or foreign file)
 *   weightconv --random CONFIG OUT.blob [--seed N]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "netload.h"
#include "random_config.h"
#include "sg2_layout.h"
#include "sg2_tf.h"
#include "wc_input.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: weightconv IN OUT.blob [--use-G]\n"
            "       weightconv --info FILE [--use-G]\n"
            "       weightconv --random CONFIG OUT.blob [--seed N]\n"
            "\n"
            "Converts a network file into salient's blob format. IN may be a\n"
            "StyleGAN2-ADA PyTorch network pickle (e.g. NVIDIA's ffhq.pkl), a\n"
            "torch.save file (state dict), or a StyleGAN2 / StyleGAN2-ADA TensorFlow\n"
            "pickle; the format is recognised from the content. Pickles are read by a\n"
            "safe reader that executes nothing from the file.\n"
            "IN may also be Twitter's saliency model fastgaze.vxm (its key/value\n"
            "container is validated strictly).\n"
            "\n"
            "  --info FILE     print the metadata and tensor table of a blob or of\n"
            "                  any network file weightconv can convert\n"
            "  --random CONFIG write a random-weight generator with the exact tensor\n"
            "                  set of CONFIG: %s\n"
            "  --seed N        random seed for --random (default 0)\n"
            "  --use-G         convert G (raw generator) instead of G_ema / Gs\n"
            "  --help          this text\n",
            sg2_config_names());
}

static void print_blob(const char *path, const blob_t *b, const char *format) {
    printf("%s: %s\n", path, format);
    printf("metadata (%d):\n", blob_meta_count(b));
    for (int i = 0; i < blob_meta_count(b); i++) {
        const blob_meta_t *m = blob_meta_at(b, i);
        if (m->type == BLOB_META_INT) printf("  %-24s %" PRId64 "\n", m->key, m->i);
        else if (m->type == BLOB_META_FLOAT) printf("  %-24s %.9g\n", m->key, m->f);
        else printf("  %-24s \"%s\"\n", m->key, m->s);
    }
    int64_t total = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < blob_tensor_count(b); i++) {
        total += tensor_numel(&blob_tensor_at(b, i)->t);
        bytes += blob_tensor_at(b, i)->nbytes;
    }
    printf("tensors (%d, %" PRId64 " values, %.1f MB):\n", blob_tensor_count(b), total, (double)bytes / 1e6);
    for (int i = 0; i < blob_tensor_count(b); i++) {
        const blob_tensor_t *t = blob_tensor_at(b, i);
        char shape[128];
        printf("  %-44s %-4s %-18s crc %08x\n", t->name, dtype_name(t->t.dtype), tensor_shape_str(&t->t, shape, sizeof shape),
               t->crc32);
    }
}

/* TensorFlow pickles: list the network's variables as stored (also when the
 * conversion refuses the file, to show what it holds). */
static void list_tf_variables(const char *path, const netload_options_t *opt) {
    sal_err_t err;
    wc_input_t in;
    if (wc_input_open(&in, path, &err) == 0) {
        if (netload_detect(in.data, in.size) == NETLOAD_TF) {
            sg2tf_options_t o = {opt->use_G};
            sg2tf_list_variables(&in, &o, stdout, &err);
        }
        wc_input_close(&in);
    }
}

static int cmd_info(const char *path, const netload_options_t *opt) {
    sal_err_t err;
    blob_t *b;
    int rc = netload_open_ex(path, opt, &b, &err);
    if (rc < 0) {
        list_tf_variables(path, opt);
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    char fmt[128] = "blob";
    if (rc == 1) {
        const blob_meta_t *src = blob_meta_find(b, "source");
        snprintf(fmt, sizeof fmt, "converted in memory from %s", src && src->type == BLOB_META_STR ? src->s : "?");
    }
    print_blob(path, b, fmt);
    blob_close(b);
    if (rc == 1) list_tf_variables(path, opt);
    return 0;
}

static int cmd_convert(const char *in_path, const char *out_path, const netload_options_t *opt) {
    sal_err_t err;
    wc_input_t in;
    if (wc_input_open(&in, in_path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    blob_writer_t *w = blob_writer_new();
    int rc = w ? netload_convert(&in, opt, w, &err) : sal_errf(&err, "out of memory");
    if (!rc) rc = blob_writer_save(w, out_path, &err);
    blob_writer_free(w);
    wc_input_close(&in);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}

static int cmd_random(const char *config, const char *out_path, uint32_t seed) {
    sal_err_t err;
    const sg2_layout_config_t *c = sg2_config_find(config);
    if (!c) {
        fprintf(stderr, "weightconv: unknown config '%s' (known: %s)\n", config, sg2_config_names());
        return 2;
    }
    blob_writer_t *w = blob_writer_new();
    int rc = w ? rc_random_generator(c, seed, w, &err) : sal_errf(&err, "out of memory");
    if (!rc) rc = blob_writer_save(w, out_path, &err);
    blob_writer_free(w);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    sal_signals_init();
    const char *info = NULL, *random_cfg = NULL, *pos[2] = {NULL, NULL};
    int npos = 0, have_seed = 0;
    uint32_t seed = 0;
    netload_options_t opt = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--info") || !strcmp(a, "--random") || !strcmp(a, "--seed")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "weightconv: %s needs a value (see --help)\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--info")) info = v;
            else if (!strcmp(a, "--random")) random_cfg = v;
            else {
                char *end;
                errno = 0;
                unsigned long s = strtoul(v, &end, 10);
                if (!*v || *end || errno || s > 0xFFFFFFFFul || v[0] == '-') {
                    fprintf(stderr, "weightconv: --seed wants an integer in 0..4294967295, got '%s'\n", v);
                    return 2;
                }
                seed = (uint32_t)s;
                have_seed = 1;
            }
        } else if (!strcmp(a, "--use-G")) {
            opt.use_G = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "weightconv: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "weightconv: too many arguments (see --help)\n");
            return 2;
        }
    }
    if (info) {
        if (random_cfg || npos || have_seed) {
            fprintf(stderr, "weightconv: --info takes just FILE (see --help)\n");
            return 2;
        }
        return cmd_info(info, &opt);
    }
    if (random_cfg) {
        if (npos != 1 || opt.use_G) {
            fprintf(stderr, "weightconv: usage: weightconv --random CONFIG OUT.blob [--seed N]\n");
            return 2;
        }
        return cmd_random(random_cfg, pos[0], seed);
    }
    if (have_seed) {
        fprintf(stderr, "weightconv: --seed only goes with --random\n");
        return 2;
    }
    if (npos != 2) {
        usage(stderr);
        return 2;
    }
    return cmd_convert(pos[0], pos[1], &opt);
}

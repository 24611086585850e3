/* random_net.h — a loaded generator with random weights of any config, for
 * tests that need a network without the ../shared fixtures (or bigger than
 * them): weightconv's rc_random_generator writes the blob in memory, the
 * blob is opened from there and sg2_load reads it.
 *
 *   blob_t *blob;
 *   sg2_net_t *net = test_random_net(&t, &cfg, seed, "random:label", &blob);
 *   ...                      // NULL (and one failed check) if it could not be made
 *   sg2_free(net); blob_close(blob);
 */
#ifndef TESTS_RANDOM_NET_H
#define TESTS_RANDOM_NET_H

#include "blob.h"
#include "check.h"
#include "random_config.h"
#include "sg2_layout.h"
#include "stylegan2.h"

static inline sg2_net_t *test_random_net(test_ctx_t *t, const sg2_layout_config_t *cfg, uint32_t seed,
                                         const char *label, blob_t **blob) {
    sal_err_t err = {{0}};
    blob_writer_t *w = blob_writer_new();
    void *image = NULL;
    size_t size = 0;
    sg2_net_t *net = NULL;
    *blob = NULL;
    const int ok = w && cfg && rc_random_generator(cfg, seed, w, &err) == 0 &&
                   blob_writer_to_memory(w, &image, &size, &err) == 0 &&
                   blob_open_memory(blob, image, size, 1, label, 0, &err) == 0 &&
                   sg2_load(&net, *blob, &err) == 0;
    blob_writer_free(w);
    CHECK(t, ok, "%s: %s", label, err.msg);
    if (!ok) {
        sg2_free(net);
        blob_close(*blob);
        *blob = NULL;
        return NULL;
    }
    return net;
}

#endif

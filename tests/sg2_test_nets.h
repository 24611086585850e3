/* sg2_test_nets.h — the generators the StyleGAN2 tests load:
 *
 *   test_fixture_net   a fixture network of ../shared/fixtures/stylegan2
 *                      (FX/FX.pkl, converted in memory as the programs do);
 *   test_random_net    random weights of any config, for tests that need a
 *                      network without the fixtures (or bigger than them):
 *                      weightconv's rc_random_generator writes the blob in
 *                      memory, and sg2_load reads it from there.
 *
 * Either one failed check naming the network on failure, and nothing to free.
 *   blob_t *blob;
 *   sg2_net_t *net = test_random_net(&t, &cfg, seed, "random:label", &blob);
 *   ...
 *   sg2_free(net); blob_close(blob);
 */
#ifndef TESTS_SG2_TEST_NETS_H
#define TESTS_SG2_TEST_NETS_H

#include "blob.h"
#include "check.h"
#include "netload.h"
#include "random_config.h"
#include "sg2_layout.h"
#include "stylegan2.h"

/* 0, or -1 (*blob and *net NULL) */
static inline int test_fixture_net(test_ctx_t *t, const char *fx, blob_t **blob, sg2_net_t **net) {
    char rel[256], path[1400];
    snprintf(rel, sizeof rel, "fixtures/stylegan2/%s/%s.pkl", fx, fx);
    sal_err_t err = {{0}};
    *net = NULL;
    *blob = NULL;
    if (netload_open(test_shared(t, rel, path, sizeof path), blob, &err) < 0 || sg2_load(net, *blob, &err) < 0) {
        CHECK(t, 0, "%s: %s", fx, err.msg);
        blob_close(*blob);
        *blob = NULL;
        return -1;
    }
    return 0;
}

/* the net, or NULL (*blob NULL) */
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

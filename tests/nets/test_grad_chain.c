/* test_grad_chain.c — the whole white-box chain that `salient grad` runs:
 * z -> mapping -> synthesis (with a tape) -> uint8 -> resize -> fastgaze ->
 * objective, then back to dL/dz, on the fixture generators and the real
 * saliency model.
 *
 * Checks (for the smooth maximum and the study's max):
 *  - the forward with a tape makes the same image bits as sg2_synthesis;
 *  - the objective saliency_grad_image reports for max equals saliency_run's
 *    max on the uint8 image;
 *  - a small step along the normalised gradient increases the objective,
 *    and a step against it decreases it (the uint8 rounding makes the
 *    objective a staircase, so the steps move the image by a few levels);
 *  - the chain is deterministic: the same call twice gives the same bits.
 */
#include <math.h>

#include "check.h"
#include "netload.h"
#include "saliency.h"
#include "saliency_grad.h"
#include "stylegan2.h"
#include "stylegan2_grad.h"

typedef struct chain {
    const sg2_net_t *net;
    const saliency_model_t *sal;
    arena_t *arena;
    saliency_objective_t obj;
    float tau;
    float *ws, *img, *dimg, *dws;
} chain_t;

/* Objective at z, and (if dz) its gradient. */
static int chain_eval(chain_t *c, const float *z, double *value, float *dz, float *max_sal, sal_err_t *err) {
    const sg2_config_t *cfg = &c->net->cfg;
    if (sg2_mapping(c->net, z, 1, 1.0f, SG2_CUTOFF_NONE, c->ws, err) < 0) return -1;
    sg2_tape_t *tape = NULL;
    if (sg2_synthesis_forward_tape(c->net, c->ws, 1, NULL, c->img, &tape, err) < 0) return -1;
    saliency_grad_result_t r;
    int rc = saliency_grad_image(c->sal, c->img, cfg->img_resolution, c->obj, c->tau, c->arena, &r,
                                 dz ? c->dimg : NULL, err);
    if (rc == 0 && dz) rc = sg2_synthesis_backward(c->net, tape, c->dimg, c->dws, err);
    sg2_tape_free(tape);
    if (rc == 0 && dz) rc = sg2_mapping_backward(c->net, z, 1, 1.0f, SG2_CUTOFF_NONE, c->dws, dz, NULL, err);
    *value = r.value;
    if (max_sal) *max_sal = r.max_saliency;
    return rc;
}

/* objectives: bit 0 the smooth maximum (softmax), bit 1 the study's max */
static void run_net(test_ctx_t *t, const char *name, const saliency_model_t *sal, int seeds, int objectives) {
    char rel[256], path[2048];
    snprintf(rel, sizeof rel, "fixtures/stylegan2/%s/%s.pkl", name, name);
    test_shared(t, rel, path, sizeof path);
    sal_err_t err = {{0}};
    blob_t *blob = NULL;
    sg2_net_t *net = NULL;
    if (netload_open(path, &blob, &err) < 0 || sg2_load(&net, blob, &err) < 0) {
        CHECK(t, 0, "%s: %s", name, err.msg);
        blob_close(blob);
        return;
    }
    const sg2_config_t *cfg = &net->cfg;
    const int R = cfg->img_resolution, D = cfg->z_dim;
    const size_t per_img = (size_t)3 * R * R, per_ws = (size_t)cfg->num_ws * cfg->w_dim;
    arena_t arena = {0};
    CHECK(t, arena_init(&arena, saliency_grad_arena_bytes(sal, R)) == 0, "arena");
    chain_t c = {.net = net, .sal = sal, .arena = &arena};
    c.ws = malloc(sizeof(float) * per_ws);
    c.dws = malloc(sizeof(float) * per_ws);
    c.img = malloc(sizeof(float) * per_img);
    c.dimg = malloc(sizeof(float) * per_img);
    float *z = malloc(sizeof(float) * D), *dz = malloc(sizeof(float) * D), *dz2 = malloc(sizeof(float) * D);
    float *zs = malloc(sizeof(float) * D), *ref = malloc(sizeof(float) * per_img);
    uint8_t *rgb = malloc(per_img);

    for (int o = 0; o < 2; o++) {
        if (!(objectives >> o & 1)) continue;
        c.obj = o == 0 ? SALIENCY_OBJ_SOFTMAX : SALIENCY_OBJ_MAX;
        c.tau = 0.5f;
        int up = 0, down = 0, tried = 0;
        for (uint32_t seed = 0; seed < (uint32_t)seeds; seed++) {
            sg2_z_from_seed(seed, D, z, NULL);
            double v0 = 0, v1 = 0;
            float m0 = 0;
            if (chain_eval(&c, z, &v0, dz, &m0, &err) < 0) {
                CHECK(t, 0, "%s seed %u: %s", name, seed, err.msg);
                continue;
            }
            // the taped forward is the plain forward, bit for bit
            sg2_synthesis(net, c.ws, 1, NULL, ref, &err);
            CHECK(t, memcmp(ref, c.img, sizeof(float) * per_img) == 0, "%s seed %u: tape forward differs", name, seed);
            // the reported max is saliency_run's on the uint8 image
            sg2_to_uint8(c.img, 1, 3, R, R, rgb);
            saliency_image_t im = saliency_image_rgb(rgb, R, R, 3);
            saliency_result_t res;
            arena_t sa = {0};
            if (arena_init(&sa, saliency_arena_bytes(sal)) == 0 && saliency_run(sal, &im, &sa, &res, &err) == 0) {
                CHECK(t, res.max == m0, "%s seed %u: max %.9g vs saliency_run %.9g", name, seed, (double)m0, (double)res.max);
                saliency_result_free(&res);
            } else {
                CHECK(t, 0, "saliency_run: %s", err.msg);
            }
            arena_free(&sa);
            if (c.obj == SALIENCY_OBJ_MAX) CHECK(t, v0 == (double)m0, "max objective %.9g != max %.9g", v0, (double)m0);
            // deterministic
            double v0b = 0;
            chain_eval(&c, z, &v0b, dz2, NULL, &err);
            CHECK(t, v0b == v0 && memcmp(dz, dz2, sizeof(float) * D) == 0, "%s seed %u: not deterministic", name, seed);
            double nrm = 0;
            for (int i = 0; i < D; i++) nrm += (double)dz[i] * dz[i];
            nrm = sqrt(nrm);
            CHECK(t, nrm > 0 && isfinite(nrm), "%s seed %u: |dL/dz| = %g", name, seed, nrm);
            if (!(nrm > 0 && isfinite(nrm))) continue;
            // steps of length h along +-g/|g|
            const double h = 0.02 * sqrt((double)D);
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                for (int i = 0; i < D; i++) zs[i] = (float)(z[i] + sgn * h * dz[i] / nrm);
                chain_eval(&c, zs, &v1, NULL, NULL, &err);
                if (sgn > 0) up += v1 > v0;
                else down += v1 < v0;
            }
            tried++;
        }
        // every seed moves the right way, both directions
        CHECK(t, tried == seeds && up == tried && down == tried, "%s %s: the objective rose in %d, fell in %d of %d seeds",
              name, o == 0 ? "softmax" : "max", up, down, tried);
    }
    free(z);
    free(dz);
    free(dz2);
    free(zs);
    free(ref);
    free(rgb);
    free(c.ws);
    free(c.dws);
    free(c.img);
    free(c.dimg);
    arena_free(&arena);
    sg2_free(net);
    blob_close(blob);
}

int main(void) {
    test_ctx_t t = test_begin("grad_chain");
    char path[2048];
    sal_err_t err = {{0}};
    blob_t *sblob = NULL;
    saliency_model_t sal;
    if (!test_need_shared(&t, "data/fastgaze.vxm") || !test_need_shared(&t, "fixtures/stylegan2"))
        return test_end(&t);
    if (netload_open(test_shared(&t, "data/fastgaze.vxm", path, sizeof path), &sblob, &err) < 0 ||
        saliency_model_init(&sal, sblob, &err) < 0) {
        CHECK(&t, 0, "fastgaze.vxm: %s", err.msg);
        blob_close(sblob);
        return test_end(&t);
    }
    // `make test-full`: 4 seeds of both networks, both objectives. `make test`:
    // 2 seeds; under the sanitizers (~10x slower) 1 seed, the smooth maximum
    // on tiny and the max on small (each objective and network once).
    const int full = test_full(), san = test_sanitized();
    const int seeds = full ? 4 : san ? 1 : 2;
    run_net(&t, "tiny", &sal, seeds, full || !san ? 3 : 1);
    run_net(&t, "small", &sal, seeds, full || !san ? 3 : 2);
    saliency_model_free(&sal);
    blob_close(sblob);
    return test_end(&t);
}

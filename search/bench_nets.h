/* bench_nets.h — the network part of `salient bench`: a random-weight
 * ffhq1024 generator (the real weights are not shipped) timed end to end
 * (mapping, synthesis at batch 1 and 8, 1 thread vs all), its peak memory,
 * and the saliency model on a 1024x1024 image. */
#ifndef SALIENT_BENCH_NETS_H
#define SALIENT_BENCH_NETS_H

#include "common.h"

typedef struct bench_nets {
    double mapping_ms;          /* mapping of one z, all threads */
    double synth_b1_s;          /* synthesis of one image, batch 1, all threads */
    double synth_b1_1t_s;       /* the same on 1 thread (0: not measured) */
    double synth_b8_s;          /* per image at batch 8 (0: not measured) */
    double rss_b1_mb, rss_b8_mb;  /* peak resident set after batch 1 / batch 8 */
    int have_saliency;
    double saliency_ms, saliency_1t_ms;  /* one 1024x1024 image in memory -> max */
    int threads;
} bench_nets_t;

/* quick: batch 1 only, one run. saliency_model: path of fastgaze.vxm or its
 * blob, or NULL to skip that part. */
int bench_networks(int threads, int quick, const char *saliency_model, bench_nets_t *r, sal_err_t *err);

#endif

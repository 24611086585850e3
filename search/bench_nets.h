/* bench_nets.h — the network part of `salient bench`: a random-weight
 * ffhq1024 generator (the real weights are not shipped) timed end to end
 * (mapping, synthesis at batch 1 and 8, 1 thread vs all, exact and fast
 * mode), its peak memory, and the saliency model on a 1024x1024 image. */
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
    /* fast mode (--fast: Winograd conv1 + saliency 3x3 convs) */
    double fast_b1_s;           /* synthesis of one image, batch 1, all threads */
    double fast_b8_s;           /* per image at batch 8 (0: not measured) */
    int fast_n;                 /* random ffhq1024 images compared with exact mode */
    double fast_dev_max, fast_dev_mean;   /* |img_fast - img_exact| over those images */
    double fast_dsal_max;       /* max over them of |max saliency fast - exact| (-1: not run) */
    double saliency_fast_ms;    /* the saliency model in fast mode, all threads */
    /* white-box (salient grad): one 1024x1024 image, exact kernels, all threads */
    double grad_fb_s;           /* generator forward (taped) + backward to dL/dws */
    double rss_grad_mb;         /* peak resident set after it */
    double sal_grad_fwd_ms;     /* saliency_grad_image, forward only (objective max) */
    double sal_grad_fb_ms;      /* the same with dL/dimage */
    struct {
        const char *name;       /* "tiny", "small"; NULL: fixture not found */
        double exact_max, exact_mean, fast_max, fast_mean;  /* |img - NVIDIA ref| */
    } fx[2];
} bench_nets_t;

/* quick: batch 1 only, one run. saliency_model: path of fastgaze.vxm or its
 * blob, or NULL to skip that part. */
int bench_networks(int threads, int quick, const char *saliency_model, bench_nets_t *r, sal_err_t *err);
/* Opens and checks the saliency model without timing anything, so that a bad
 * --saliency fails before minutes of generator timing. 0 or -1 (err set). */
int bench_check_saliency_model(const char *saliency_model, sal_err_t *err);

#endif

/* stylegan2_plan.c — the scratch memory of one synthesis pass: how big each
 * buffer is, and which blocks run on the whole batch. The forward pass that
 * uses these buffers is in stylegan2.c; nothing here computes an image.
 *
 * A batch shares the packed weights, so its low-resolution blocks run on all
 * N samples at once. From the first block whose per-sample feature map
 * exceeds SG2_SPLIT_FLOATS on, the batch no longer fits the caches between
 * two layers and nothing is shared that a single sample would not use as
 * well: those blocks run sample by sample (the kernels give every sample the
 * same bits either way). So a pass has two phases:
 *   phase 1: blocks [0, split) on all N samples
 *   phase 2: blocks [split, num_blocks) on one sample at a time
 * (split = num_blocks for N = 1, and when a hook wants whole-batch tensors.)
 *
 * Scratch, in floats:
 *   feat1[2]  phase 1's two ping-pong feature maps (N, C, H, W), sized for
 *             its largest layer; feat2[2] the same for one sample in phase 2
 *   img1[2], img2[2]  the RGB skip images of the two phases below R
 *             (the last block writes into the caller's output)
 *   tmp       the (2H+1)^2 output of the transposed conv before its FIR, for a
 *             chunk of samples
 *   vec       styles, styles^2, demodulation coefficients (N, C); wrow one
 *             row of ws (N, w_dim)
 *   noise     random noise maps (N, H, H) of one layer
 *   kws       the kernels' workspace (engine/conv.h): the largest that any
 *             kernel call of the pass needs, for the thread count at sizing
 *             time (any count up to it fits; more threads at run time are an
 *             error: "arena too small", never a malloc)
 * The up-conv runs in chunks of samples so that tmp stays near the size one
 * sample needs at the top resolution (at R=1024 it is 32 x 1025^2 floats).
 */
#include "stylegan2_internal.h"

#include <string.h>

typedef struct synth_sizes {
    int split;
    size_t feat1, img1, feat2, img2, tmp, vec, wrow, noise, kws;   /* in floats */
} synth_sizes_t;

#define SG2_TMP_MIN_FLOATS ((size_t)8 << 20)   /* 32 MiB: lets small nets run whole batches */
#define SG2_SPLIT_FLOATS ((size_t)1 << 20)     /* 4 MiB per sample: phase 2 from here on */

/* The transposed conv's output for one sample: (C_out, 2H+1, 2H+1), H = res/2. */
static size_t up_tmp_per_sample(const sg2_layer_t *L) {
    const size_t side = 2 * (size_t)(L->res / 2) + 1;
    return (size_t)L->c_out * side * side;
}

int sg2_upconv_chunk(const sg2_layer_t *L, size_t tmp_floats, int n) {
    int chunk = (int)(tmp_floats / up_tmp_per_sample(L));
    if (chunk > n) chunk = n;
    if (chunk < 1) chunk = 1;   // (cannot happen: tmp is sized for one sample)
    return chunk;
}

/* Largest per-sample feature map a block reads or writes. */
static size_t block_feat(const sg2_block_t *B, int first) {
    const size_t r = (size_t)B->res, out = (size_t)B->c_out * r * r;
    const size_t in = first ? 0 : (size_t)B->c_in * (r / 2) * (r / 2);
    return in > out ? in : out;
}

static void grow(size_t *most, size_t v) {
    if (v > *most) *most = v;
}

/* The kernels' workspace for block i on ns samples at a time, exactly the
 * calls stylegan2.c makes (the up-conv in chunks of samples that fit tmp). */
static size_t block_kernel_scratch(const sg2_net_t *net, int i, int ns, size_t tmp_floats,
                                   int threads) {
    const sg2_block_t *B = &net->blocks[i];
    const int res = B->res, C = net->cfg.img_channels;
    size_t most = 0;
    if (i > 0) {
        const sg2_layer_t *L = &B->conv0;
        if (!L->up) {
            grow(&most, conv2d_scratch_floats(&L->conv, ns, res, res, threads));
        } else {
            const int chunk = sg2_upconv_chunk(L, tmp_floats, ns), h_in = res / 2;
            const int sizes[2] = {chunk, ns % chunk};   /* full chunks and the last one */
            for (int k = 0; k < 2; k++) {
                if (sizes[k] == 0) continue;
                grow(&most, conv2d_transpose3x3_s2_scratch_floats(&L->conv, sizes[k], h_in, h_in,
                                                                  threads));
                grow(&most, fir4x4_down_pad1_scratch_floats(sizes[k], L->c_out, 2 * h_in + 1,
                                                            2 * h_in + 1, threads));
            }
        }
        grow(&most, upsample2x_fir_scratch_floats(ns * C, res / 2, res / 2, threads));
    }
    grow(&most, conv2d_scratch_floats(&B->conv1.conv, ns, res, res, threads));
    grow(&most, conv2d_scratch_floats(&B->torgb.conv, ns, res, res, threads));
    return most;
}

static synth_sizes_t synth_sizes(const sg2_net_t *net, int n, int batched) {
    const sg2_config_t *cfg = &net->cfg;
    const int nb = cfg->num_blocks;
    synth_sizes_t sz = {nb, 0, 0, 0, 0, SG2_TMP_MIN_FLOATS, 0, (size_t)n * cfg->w_dim, 0, 0};
    if (n > 1 && !batched)
        for (int i = 0; i < nb && sz.split == nb; i++)
            if (block_feat(&net->blocks[i], i == 0) > SG2_SPLIT_FLOATS) sz.split = i;
    size_t max_c = 0;
    for (int i = 0; i < nb; i++) {
        const sg2_block_t *B = &net->blocks[i];
        const size_t r = (size_t)B->res, feat = block_feat(B, i == 0);
        const size_t ns = i < sz.split ? (size_t)n : 1;          // samples at a time
        const size_t img = i < nb - 1 ? ns * cfg->img_channels * r * r : 0;
        size_t *f = i < sz.split ? &sz.feat1 : &sz.feat2, *g = i < sz.split ? &sz.img1 : &sz.img2;
        if (ns * feat > *f) *f = ns * feat;
        if (img > *g) *g = img;
        if (i > 0 && up_tmp_per_sample(&B->conv0) > sz.tmp) sz.tmp = up_tmp_per_sample(&B->conv0);
        if (ns * r * r > sz.noise) sz.noise = ns * r * r;
        if ((size_t)B->c_out > max_c) max_c = (size_t)B->c_out;
        if ((size_t)B->c_in > max_c) max_c = (size_t)B->c_in;
    }
    sz.vec = (size_t)n * max_c;
    const int threads = threads_get();
    for (int i = 0; i < nb; i++)
        grow(&sz.kws, block_kernel_scratch(net, i, i < sz.split ? n : 1, sz.tmp, threads));
    return sz;
}

static size_t synth_bytes(const synth_sizes_t *sz) {
    const size_t f = sizeof(float);
    // sizes are far below SIZE_MAX / 16 for any n <= SG2_MAX_BATCH and R <= 8192
    // on a 64-bit size_t; the checked sum guards the rest.
    size_t parts[] = {sz->feat1, sz->feat1, sz->img1, sz->img1, sz->feat2, sz->feat2, sz->img2,
                      sz->img2, sz->tmp, sz->vec, sz->vec, sz->vec, sz->wrow, sz->noise,
                      sz->kws};
    size_t total = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t bytes;
        if (sal_mul_size(parts[i], f, &bytes) < 0 ||
            sal_add_size(total, arena_round(bytes ? bytes : 1), &total) < 0)   // as arena_alloc
            return 0;
    }
    return total;
}

size_t sg2_synthesis_arena_bytes(const sg2_net_t *net, int n) {
    if (n < 1 || n > SG2_MAX_BATCH) return 0;
    synth_sizes_t sz = synth_sizes(net, n, 0);
    return synth_bytes(&sz);
}

int sg2_scratch_open(const sg2_net_t *net, int n, const sg2_synthesis_opts_t *opts,
                     sg2_scratch_t *s, sal_err_t *err) {
    memset(s, 0, sizeof *s);
    // a hook sees whole-batch tensors, so with one the batch runs as one
    // phase, in scratch of its own if need be
    const synth_sizes_t sz = synth_sizes(net, n, opts->hook != NULL);
    const size_t need = synth_bytes(&sz);
    if (need == 0) return sal_errf(err, "synthesis: batch of %d is too large", n);
    s->arena = opts->arena;
    if (s->arena && s->arena->cap - s->arena->used < need && !opts->hook)
        return sal_errf(err,
                        "synthesis: arena has %zu bytes free, the pass needs %zu with %d threads "
                        "(size it with sg2_synthesis_arena_bytes after setting the thread count)",
                        s->arena->cap - s->arena->used, need, threads_get());
    if (s->arena && s->arena->cap - s->arena->used >= need) {
        s->mark = arena_mark(s->arena);
    } else {
        if (arena_init(&s->own, need) < 0)
            return sal_errf(err, "synthesis: cannot allocate %zu MiB of scratch", need >> 20);
        s->arena = &s->own;
    }
    arena_t *a = s->arena;
    const size_t f = sizeof(float);
    s->split = sz.split;
    for (int i = 0; i < 2; i++) s->feat1[i] = arena_alloc(a, sz.feat1 * f);
    for (int i = 0; i < 2; i++) s->img1[i] = arena_alloc(a, sz.img1 * f);
    for (int i = 0; i < 2; i++) s->feat2[i] = arena_alloc(a, sz.feat2 * f);
    for (int i = 0; i < 2; i++) s->img2[i] = arena_alloc(a, sz.img2 * f);
    s->tmp = arena_alloc(a, sz.tmp * f);
    s->tmp_floats = sz.tmp;
    s->styles = arena_alloc(a, sz.vec * f);
    s->styles_sq = arena_alloc(a, sz.vec * f);
    s->dcoef = arena_alloc(a, sz.vec * f);
    s->wrow = arena_alloc(a, sz.wrow * f);
    s->noise = arena_alloc(a, sz.noise * f);
    s->kws.p = arena_alloc(a, sz.kws * f);
    s->kws.floats = sz.kws;
    if (!s->kws.p) {   // the last allocation: if it fits, all did (sizes are from the same plan)
        sg2_scratch_close(s);
        return sal_errf(err, "synthesis: scratch sizing bug");
    }
    return 0;
}

void sg2_scratch_close(sg2_scratch_t *s) {
    if (!s->arena) return;
    if (s->arena == &s->own) arena_free(&s->own);
    else arena_release(s->arena, s->mark);
    s->arena = NULL;
}

/* fastgaze.h — Twitter's "fastgaze" saliency network (the model behind the
 * image cropping of 2018-2021), on the engine's conv kernels.
 *
 * 19 layers, fully convolutional, any input size (C=3, H, W):
 *
 *   conv3x3+ReLU 3->43, 43->44, maxpool 2x2/2 (ceil)
 *   conv3x3+ReLU 44->49, 49->56, maxpool
 *   conv3x3+ReLU 56->44, 44->38, maxpool
 *   conv3x3+ReLU 38->31, 31->20, maxpool
 *   conv3x3+ReLU 20->18, 18->10
 *   conv1x1+leaky ReLU 10->7, 7->7, 7->2, 2->1 (one slope per layer)
 *   [layer 18: a Gaussian blur the original tool never applies]
 *
 * Output: one saliency map of ceil^4(H/2) x ceil^4(W/2), stride 16. The layer
 * list is read from the blob (weightconv/vxm.c writes it), so the code below
 * is a loop over layers; the counts above are those of fastgaze.vxm.
 */
#ifndef SALIENT_FASTGAZE_H
#define SALIENT_FASTGAZE_H

#include "arena.h"
#include "blob.h"
#include "common.h"
#include "conv.h"

#define FG_MAX_LAYERS 64
#define FG_IN_CHANNELS 3

typedef enum fg_kind {
    FG_CONV = 0,      /* k x k conv (k = 1, 3), "same" zero padding, + bias + activation */
    FG_MAXPOOL = 1,   /* 2x2 max, stride 2, ceil */
    FG_IGNORED = 2,   /* present in the model file, not applied */
} fg_kind_t;

typedef struct fg_layer {
    fg_kind_t kind;
    int c_in, c_out, k;
    conv_act_t act;          /* ACT_RELU or ACT_LRELU */
    float slope;             /* leaky slope (ACT_LRELU) */
    const float *weight;     /* (C_out, C_in, k, k), points into the blob */
    const float *bias;       /* (C_out) */
    conv_weights_t cw;       /* the weights packed for the kernels */
    /* The adjoint of the conv, for the backward pass (fastgaze_grad.h): the
     * weights transposed and spatially flipped,
     *   weight_adj[c, o, ky, kx] = weight[o, c, k-1-ky, k-1-kx]   // (C_in, C_out, k, k)
     * so that conv2d with them maps dL/d(pre-activation) (C_out, H, W) to
     * dL/d(input) (C_in, H, W). Owned; packed once at load. */
    float *weight_adj;
    conv_weights_t cw_adj;
} fg_layer_t;

typedef struct fg_model {
    int n_layers;
    fg_layer_t layer[FG_MAX_LAYERS];
    int stride;              /* 2^(number of max-pools): 16 */
    int c_out;               /* channels of the last conv (1: the map) */
} fg_model_t;

/* Reads the layer list and weights of a blob with arch "fastgaze". The blob
 * must outlive the model (weights are not copied). */
int fg_load(fg_model_t *m, const blob_t *b, sal_err_t *err);
void fg_free(fg_model_t *m);
/* Fast mode: the 3x3 convs with >= 8 input channels switch to Winograd
 * F(4x4,3x3) (conv_weights_make_fast); so do their adjoints (all of which
 * have >= 8 input channels: the C_out of the forward conv). */
int fg_enable_fast(fg_model_t *m, sal_err_t *err);

/* Size of the output map for an (H, W) input. */
void fg_output_size(const fg_model_t *m, int h, int w, int *out_h, int *out_w);
/* Arena bytes one forward pass on an (H, W) input needs: the activations
 * and the conv kernels' workspace, for the thread count now (threads_get();
 * fewer threads later fit too, more do not: the pass then fails with
 * "arena too small" rather than allocate). */
size_t fg_arena_bytes(const fg_model_t *m, int h, int w);
/* The conv kernels' workspace (floats, engine/conv.h) of a pass on an (H, W)
 * input, for the thread count now, exact or fast mode; with `adjoints` also
 * of the backward pass's adjoint convs (fastgaze_grad.h). */
size_t fg_kernel_scratch_floats(const fg_model_t *m, int h, int w, int adjoints);

/* Forward pass: in (3, H, W) float32 -> *map (out_h, out_w), allocated in the
 * arena (channel 0 of the last layer). Fails only if the arena is too small. */
int fg_forward(const fg_model_t *m, const float *in, int h, int w, arena_t *a, float **map,
               int *out_h, int *out_w, sal_err_t *err);

/* Observes each layer's output (for --trace): "fastgaze.layer<ii>.conv" or
 * ".maxpool", shape (1, C, H, W). Same signature as sg2_hook_fn. */
typedef void (*fg_hook_fn)(void *user, const char *name, int ndim, const int64_t *shape,
                           const float *data);
/* fg_forward, reporting every layer to hook (may be NULL). */
int fg_forward_hooked(const fg_model_t *m, const float *in, int h, int w, arena_t *a,
                      fg_hook_fn hook, void *hook_user, float **map, int *out_h, int *out_w,
                      sal_err_t *err);

#endif

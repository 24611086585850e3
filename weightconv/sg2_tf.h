/* sg2_tf.h — NVIDIA StyleGAN2 / StyleGAN2-ADA TensorFlow pickles -> blob.
 *
 * The file is a pickled tuple (G, D, Gs) of dnnlib.tflib.network.Network
 * objects. Each Network pickles as NEWOBJ + BUILD(state) where the state
 * holds version, name, static_kwargs, components (nested Networks) and
 * `variables`, a list of (name, numpy array) pairs. We read it with the
 * safe pickle VM (only Network, numpy's _reconstruct/ndarray/dtype/scalar
 * are allowed), take Gs (or G with --use-G), and map every TF variable onto
 * the PyTorch state_dict names and layouts the generator uses
 * (../shared/fixtures/stylegan2-tf/FORMAT.md §4):
 *   conv kernels HWIO [3,3,I,O] -> [O,I,3,3] (Conv0_up also flipped spatially),
 *   dense [in,out] -> [out,in], mod_bias + 1 -> affine.bias,
 *   noise{i} [1,1,r,r] -> per-layer noise_const, dlatent_avg -> mapping.w_avg,
 *   resample filters -> the standard [1,3,3,1] outer product / 64.
 * The metadata keys are those of sg2_pytorch.h (source "tf-pickle:FILE").
 * Unsupported variants (StyleGAN v1 state versions, conditional nets,
 * non-skip architectures, unknown kwargs) are refused by name.
 */
#ifndef SALIENT_SG2_TF_H
#define SALIENT_SG2_TF_H

#include <stdio.h>

#include "blob.h"
#include "common.h"
#include "wc_input.h"

typedef struct sg2tf_options {
    int use_G;  /* convert G instead of Gs */
} sg2tf_options_t;

/* Adds metadata + tensors to w; converted tensors are owned by `in`. */
int sg2tf_convert(wc_input_t *in, const sg2tf_options_t *opt, blob_writer_t *w, sal_err_t *err);

/* Prints the TF variables of the chosen network (name, shape, dtype) to f. */
int sg2tf_list_variables(wc_input_t *in, const sg2tf_options_t *opt, FILE *f, sal_err_t *err);

#endif

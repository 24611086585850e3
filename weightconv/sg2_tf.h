/* sg2_tf.h — NVIDIA StyleGAN2 / StyleGAN2-ADA TensorFlow pickles -> blob.
 *
 * The file is a pickled tuple (G, D, Gs) of dnnlib.tflib.network.Network
 * objects (a lone pickled Network is taken as Gs). Each Network pickles as
 * NEWOBJ + BUILD(state) where the state holds version, name, static_kwargs,
 * build_func_name, components (nested Networks) and `variables`, a list of
 * (name, numpy array) pairs. We read it with the safe pickle VM under a
 * whitelist of its own (only Network, numpy's _reconstruct / ndarray / dtype
 * / scalar and the plain dict classes; the PyTorch path never allows them),
 * take Gs (or G with --use-G), and map every TF variable onto the PyTorch
 * state_dict names and layouts the generator uses
 * (docs/tf-pickles.md):
 *   conv kernels HWIO [3,3,I,O] -> (O,I,3,3) (Conv0_up also flipped spatially),
 *   dense [in,out] -> (out,in), mod_bias + 1 -> affine.bias,
 *   noise{i} [1,1,r,r] -> per-layer noise_const, dlatent_avg -> mapping.w_avg,
 *   resample filters -> the standard [1,3,3,1] outer product / 64.
 * numpy arrays may be float32/float16/float64, either byte order, C or
 * Fortran order; values are converted to float32 (exact for f16 and f32).
 * The metadata keys are those of sg2_pytorch.h (network "Gs"/"G", source
 * "tf-pickle:FILE"), so the blob runs through nets/stylegan2.c unchanged.
 *
 * Unsupported variants are refused with a message naming them: StyleGAN v1
 * (state version < 4 or G_style), Progressive GAN (tfutil.Network),
 * StyleGAN2 config A-D (G_synthesis_stylegan_revised), conditional nets
 * (label_size > 0), 'orig'/'resnet' generators, use_noise=False, other
 * nonlinearities or resample kernels, kwargs NVIDIA's legacy.py does not
 * know, and variables a 'skip' generator does not have.
 */
#ifndef SALIENT_SG2_TF_H
#define SALIENT_SG2_TF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "blob.h"
#include "common.h"
#include "wc_input.h"

typedef struct sg2tf_options {
    int use_G;  /* convert G instead of Gs */
} sg2tf_options_t;

/* 1 if the first bytes of a pickle name the TF Network class
 * (dnnlib.tflib.network.Network, or Progressive GAN's tfutil.Network,
 * which sg2tf_convert then refuses by name). */
int sg2tf_sniff(const uint8_t *data, size_t size);

/* Adds metadata + tensors to w; converted tensors are owned by `in`. */
int sg2tf_convert(wc_input_t *in, const sg2tf_options_t *opt, blob_writer_t *w, sal_err_t *err);

/* Prints the chosen network's state version, build function, static kwargs
 * and its TF variables (name, dtype, shape) to f. Works also for variants
 * sg2tf_convert refuses. */
int sg2tf_list_variables(wc_input_t *in, const sg2tf_options_t *opt, FILE *f, sal_err_t *err);

#endif

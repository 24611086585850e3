/* sg2_pytorch.h — NVIDIA StyleGAN2-ADA (PyTorch) network pickles -> blob.
 *
 * A training snapshot (network-snapshot-*.pkl, ffhq.pkl) is a pickled dict
 * {training_set_kwargs, G, D, G_ema, augment_pipe}; each network is a
 * "persistent" module (torch_utils.persistence) whose state holds its
 * attributes, _parameters, _buffers and child _modules. We read it with the
 * safe pickle VM (a whitelist of the globals such snapshots reference), take G_ema (or G), and write
 *
 *   metadata: arch="stylegan2-ada", z_dim, w_dim, c_dim, num_ws,
 *     img_resolution, img_channels, mapping_layers, mapping_lr_multiplier,
 *     conv_clamp (0 = None), architecture, [channel_base, channel_max,
 *     num_fp16_res], w_avg_beta, network ("G_ema"/"G"), source
 *     ("pytorch-pickle:FILE");
 *   tensors: every parameter and buffer under its state_dict name
 *     ("synthesis.b8.conv0.affine.weight"), float32, contiguous, raw values
 *     as stored (no gains applied).
 *
 * torch.save files (legacy or zip) holding such a dict or the module are
 * read the same way. D, augment_pipe and training_set_kwargs are parsed and
 * skipped.
 */
#ifndef SALIENT_SG2_PYTORCH_H
#define SALIENT_SG2_PYTORCH_H

#include "blob.h"
#include "common.h"
#include "wc_input.h"

typedef struct sg2pt_options {
    int use_G;  /* convert G (the raw generator) instead of G_ema */
} sg2pt_options_t;

/* Adds metadata + tensors to w. Tensor data points into in->data or into
 * buffers now owned by `in`: keep `in` open until w is saved. */
int sg2pt_convert(wc_input_t *in, const sg2pt_options_t *opt, blob_writer_t *w, sal_err_t *err);

#endif

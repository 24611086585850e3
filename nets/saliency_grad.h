/* saliency_grad.h — vector–Jacobian products of the saliency side of the
 * search: d(objective)/d(generator float image).
 *
 * The forward is exactly what `salient search` scores (search/search.c):
 *
 *   img (3, R, R) float, nominal [-1, 1]
 *     --sg2_to_uint8-->  u = trunc(clamp(img * 127.5 + 128, 0, 255))   (R, R, 3) bytes
 *     --saliency_run: imagecore fit into 320x320 (reduceHalf, Lanczos-2 up /
 *       Lanczos-3 down, fixed-point)-->  p (H_r, W_r, 3) bytes
 *     --> x (3, H_r, W_r) = p + (-103.939, -116.779, -123.68)
 *     --fastgaze--> M (ceil^4(H_r/2), ceil^4(W_r/2))
 *     --> objective L(M)
 *
 * and the backward is its transpose, with two documented approximations
 * (docs/gradients.md):
 *
 *   - rounding is taken as identity: the uint8 truncation, and the integer
 *     shifts / rounding / 0..255 clamps inside the resizer. The resize is
 *     treated as the real linear map with the same filter coefficients
 *     (coef / 65536, reduceHalf = mean of 2x2), and its adjoint is that map's
 *     transpose (saliency_resize_*);
 *   - d u / d img = 127.5 where 0 < img * 127.5 + 128 < 255 (float32, as the
 *     forward computes it), 0 where the byte is clamped.
 *
 * The network part (fastgaze_grad.h) is exact up to float32 rounding, with
 * the conventions ReLU' = [v > 0], leaky' = 1 if v > 0 else slope, max pool:
 * all to the first maximum of the window.
 *
 * Objectives: SALIENCY_OBJ_MAX, L = M[r*, c*] at the cell saliency_run picks
 * (first maximum in row-major order, strict >): dL/dM is one-hot there (a
 * subgradient where cells tie); SALIENCY_OBJ_SOFTMAX, the smooth maximum
 * L = tau * log(sum exp(M / tau)) (>= max M, -> max M as tau -> 0), dL/dM =
 * softmax(M / tau). Evaluated in double with the maximum shifted out.
 */
#ifndef SALIENT_SALIENCY_GRAD_H
#define SALIENT_SALIENCY_GRAD_H

#include "arena.h"
#include "common.h"
#include "fastgaze_grad.h"
#include "saliency.h"

typedef enum saliency_objective {
    SALIENCY_OBJ_MAX = 0,
    SALIENCY_OBJ_SOFTMAX = 1
} saliency_objective_t;

typedef struct saliency_grad_result {
    double value;          /* the objective */
    float max_saliency;    /* max of M: bit for bit saliency_run's res.max on sg2_to_uint8(img) */
    int row, col;          /* argmax cell of M (saliency_run's best_row, best_col) */
    float point_x, point_y;   /* salient point in image pixels as saliency_run gives it
                                 (its integer res.x, res.y) */
    int map_h, map_w;
} saliency_grad_result_t;

/* Arena bytes saliency_grad_image needs for an R x R image. */
size_t saliency_grad_arena_bytes(const saliency_model_t *m, int res);

/* Forward (and, if dimg != NULL, backward) on one generator image
 * img (3, R, R). dimg (3, R, R) receives dL/dimg. tau: the softmax
 * temperature (> 0; ignored for SALIENCY_OBJ_MAX). The arena is reset on
 * entry. Returns 0, -1 (error message in err) or SALIENCY_E_SIZE. */
int saliency_grad_image(const saliency_model_t *m, const float *img, int res,
                        saliency_objective_t obj, float tau, arena_t *a,
                        saliency_grad_result_t *res_out, float *dimg, sal_err_t *err);

/* ---- the pieces, for tests ---- */

/* The objective of a map M (h, w): *value, the first-maximum cell
 * (*row, *col), and dmap = dL/dM (h, w) if not NULL. tau > 0 for softmax. */
void saliency_objective_eval(const float *map, int h, int w, saliency_objective_t obj, float tau,
                             double *value, int *row, int *col, float *dmap);

/* One axis of the linear resize: out[i] = sum_k w[i * width + k] * in[start[i] + k],
 * k < len[i] (the composition of that axis's resampling stages). */
typedef struct saliency_resize_axis {
    int in_size, out_size, width;
    int *start, *len;   /* (out_size) */
    float *w;           /* (out_size, width) */
    /* the same weights by input index (for the adjoint, a gather):
     * in_j receives w_t[q] * out[t_out[q]] for q in t_ptr[j] .. t_ptr[j+1]-1 */
    int *t_ptr;         /* (in_size + 1) */
    int *t_out;
    float *w_t;
} saliency_resize_axis_t;

/* The resize saliency_prepare applies to an in_w x in_h RGB image with
 * orientation 1 (imagecore_fit into the 320 fit), as a separable linear
 * map: A = A_y (x) A_x per channel. */
typedef struct saliency_resize_map {
    int in_w, in_h, out_w, out_h;
    saliency_resize_axis_t x, y;
} saliency_resize_map_t;

/* Builds the map of imagecore_fit(in_w x in_h -> out_w x out_h). */
int saliency_resize_map_init(saliency_resize_map_t *rm, int in_w, int in_h, int out_w, int out_h,
                             sal_err_t *err);
void saliency_resize_map_free(saliency_resize_map_t *rm);
/* out (C, out_h, out_w) = A in (C, in_h, in_w); tmp: C * in_h * out_w floats. */
void saliency_resize_apply(const saliency_resize_map_t *rm, const float *in, float *out, int c,
                           float *tmp);
/* gin (C, in_h, in_w) = A^T g (C, out_h, out_w); tmp: C * in_h * out_w floats. */
void saliency_resize_adjoint(const saliency_resize_map_t *rm, const float *g, float *gin, int c,
                             float *tmp);

/* In place: g[i] (dL/du, planar like img) becomes dL/dimg[i] =
 * g[i] * 127.5 where 0 < img[i] * 127.5 + 128 < 255, else 0. */
void saliency_uint8_backward(const float *img, float *g, size_t n);

#endif

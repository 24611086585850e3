/* saliency_grad.c — d(objective)/d(generator image) through the search's
 * saliency scoring (see saliency_grad.h): the uint8 conversion, the
 * imagecore fit as a linear map and its transpose, the fastgaze backward
 * (fastgaze_grad.c) and the objective.
 */
#include "saliency_grad.h"

#include "imagecore.h"
#include "stylegan2.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- objective ------------------------------------------------------------ */

void saliency_objective_eval(const float *map, int h, int w, saliency_objective_t obj, float tau,
                             double *value, int *row, int *col, float *dmap) {
    // first strict maximum, row-major: saliency_finish's rule
    const size_t n = (size_t)h * w;
    size_t best = 0;
    float bv = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (map[i] > bv) {
            bv = map[i];
            best = i;
        }
    *row = (int)(best / (size_t)w);
    *col = (int)(best % (size_t)w);
    if (obj == SALIENCY_OBJ_SOFTMAX) {
        // L = m + tau * log(sum exp((M - m) / tau)), dL/dM = exp((M - m) / tau) / sum
        const double m = map[best], t = tau;
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) sum += exp(((double)map[i] - m) / t);
        *value = m + t * log(sum);
        if (dmap)
            for (size_t i = 0; i < n; i++) dmap[i] = (float)(exp(((double)map[i] - m) / t) / sum);
    } else {
        *value = map[best];
        if (dmap) {
            memset(dmap, 0, n * sizeof(float));
            dmap[best] = 1.0f;
        }
    }
}

/* ---- the resize as a linear map --------------------------------------------- */

/* One resampling stage of one axis: out[i] = sum_t w[i*taps+t] * in[src[i*taps+t]]. */
typedef struct stage {
    int n_in, n_out, taps;
    int *src;
    double *w;
} stage_t;

static int stage_alloc(stage_t *s, int n_in, int n_out, int taps) {
    s->n_in = n_in;
    s->n_out = n_out;
    s->taps = taps;
    s->src = malloc(sizeof(int) * (size_t)n_out * taps);
    s->w = malloc(sizeof(double) * (size_t)n_out * taps);
    return s->src && s->w ? 0 : -1;
}

static void stage_free(stage_t *s) {
    free(s->src);
    free(s->w);
    s->src = NULL;
    s->w = NULL;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* reduceHalf along one axis: out[i] = (in[2i] + in[2i+1]) / 2 (the 2x2 box is
 * this on both axes; its >> 2 floor is taken as exact). */
static int stage_halve(stage_t *s, int n_in) {
    if (stage_alloc(s, n_in, n_in / 2, 2)) return -1;
    for (int i = 0; i < n_in / 2; i++) {
        s->src[2 * i] = 2 * i;
        s->src[2 * i + 1] = 2 * i + 1;
        s->w[2 * i] = s->w[2 * i + 1] = 0.5;
    }
    return 0;
}

/* Lanczos-2 upsampling axis: taps start-1 .. start+2 (clamped), coef / 65536. */
static int stage_upsample(stage_t *s, int n_in, int n_out) {
    int *start = malloc(sizeof(int) * n_out);
    int32_t (*coef)[IMAGECORE_FIXED_TAPS] = malloc(sizeof *coef * n_out);
    int rc = start && coef ? stage_alloc(s, n_in, n_out, IMAGECORE_FIXED_TAPS) : -1;
    if (rc == 0) {
        imagecore_fixed_kernel(n_in, n_out, start, coef);
        for (int i = 0; i < n_out; i++)
            for (int k = 0; k < IMAGECORE_FIXED_TAPS; k++) {
                s->src[i * IMAGECORE_FIXED_TAPS + k] = clampi(start[i] - 1 + k, 0, n_in - 1);
                s->w[i * IMAGECORE_FIXED_TAPS + k] = coef[i][k] / 65536.0;
            }
    }
    free(start);
    free(coef);
    return rc;
}

/* Lanczos-3 downsampling axis: taps start .. start+11 (clamped), coef / 65536. */
static int stage_downsample(stage_t *s, int n_in, int n_out) {
    const int T = IMAGECORE_ADAPTIVE_TAPS;
    int *start = malloc(sizeof(int) * n_out);
    int32_t (*coef)[IMAGECORE_ADAPTIVE_TAPS] = malloc(sizeof *coef * n_out);
    int rc = start && coef ? stage_alloc(s, n_in, n_out, T) : -1;
    if (rc == 0) {
        imagecore_adaptive_kernel(n_in, n_out, start, coef);
        for (int i = 0; i < n_out; i++)
            for (int k = 0; k < T; k++) {
                s->src[i * T + k] = clampi(start[i] + k, 0, n_in - 1);
                s->w[i * T + k] = coef[i][k] / 65536.0;
            }
    }
    free(start);
    free(coef);
    return rc;
}

/* Composes the stages of one axis into banded rows: row i of
 * A = S_last ... S_1 is e_i^T S_last ... S_1, computed by pushing e_i back
 * through the stages (transposes). */
static int compose_axis(const stage_t *st, int n_st, int in_size, int out_size,
                        saliency_resize_axis_t *ax) {
    memset(ax, 0, sizeof *ax);
    ax->in_size = in_size;
    ax->out_size = out_size;
    int nmax = in_size > out_size ? in_size : out_size;
    for (int s = 0; s < n_st; s++) nmax = st[s].n_in > nmax ? st[s].n_in : nmax;
    double *v = calloc((size_t)nmax, sizeof(double)), *u = calloc((size_t)nmax, sizeof(double));
    double *rows = malloc(sizeof(double) * (size_t)out_size * in_size);   // dense, then banded
    ax->start = malloc(sizeof(int) * out_size);
    ax->len = malloc(sizeof(int) * out_size);
    int rc = -1, *fill = NULL;
    if (!v || !u || !rows || !ax->start || !ax->len) goto done;
    int width = 1;
    for (int i = 0; i < out_size; i++) {
        int n = out_size;
        memset(v, 0, sizeof(double) * nmax);
        v[i] = 1.0;
        for (int s = n_st - 1; s >= 0; s--) {   // u = S_s^T v
            memset(u, 0, sizeof(double) * st[s].n_in);
            for (int r = 0; r < n; r++)
                if (v[r] != 0.0)
                    for (int t = 0; t < st[s].taps; t++)
                        u[st[s].src[r * st[s].taps + t]] += st[s].w[r * st[s].taps + t] * v[r];
            n = st[s].n_in;
            double *tmp = v; v = u; u = tmp;
        }
        int lo = 0, hi = in_size - 1;
        while (lo < hi && v[lo] == 0.0) lo++;
        while (hi > lo && v[hi] == 0.0) hi--;
        ax->start[i] = lo;
        ax->len[i] = hi - lo + 1;
        if (ax->len[i] > width) width = ax->len[i];
        memcpy(rows + (size_t)i * in_size, v, sizeof(double) * in_size);
    }
    ax->width = width;
    ax->w = calloc((size_t)out_size * width, sizeof(float));
    if (!ax->w) goto done;
    for (int i = 0; i < out_size; i++)
        for (int k = 0; k < ax->len[i]; k++)
            ax->w[(size_t)i * width + k] = (float)rows[(size_t)i * in_size + ax->start[i] + k];
    // the transpose, by input index (counting sort of the band entries)
    size_t nnz = 0;
    for (int i = 0; i < out_size; i++) nnz += (size_t)ax->len[i];
    ax->t_ptr = calloc((size_t)in_size + 1, sizeof(int));
    ax->t_out = malloc(sizeof(int) * (nnz ? nnz : 1));
    ax->w_t = malloc(sizeof(float) * (nnz ? nnz : 1));
    if (!ax->t_ptr || !ax->t_out || !ax->w_t) goto done;
    for (int i = 0; i < out_size; i++)
        for (int k = 0; k < ax->len[i]; k++) ax->t_ptr[ax->start[i] + k + 1]++;
    for (int j = 0; j < in_size; j++) ax->t_ptr[j + 1] += ax->t_ptr[j];
    fill = malloc(sizeof(int) * (size_t)in_size);
    if (!fill) goto done;
    for (int j = 0; j < in_size; j++) fill[j] = ax->t_ptr[j];
    for (int i = 0; i < out_size; i++)   // i ascending: each input's list is sorted by output
        for (int k = 0; k < ax->len[i]; k++) {
            const int q = fill[ax->start[i] + k]++;
            ax->t_out[q] = i;
            ax->w_t[q] = ax->w[(size_t)i * width + k];
        }
    rc = 0;
done:
    free(v);
    free(u);
    free(rows);
    free(fill);
    if (rc) {
        free(ax->start); free(ax->len); free(ax->w);
        free(ax->t_ptr); free(ax->t_out); free(ax->w_t);
        memset(ax, 0, sizeof *ax);
    }
    return rc;
}

void saliency_resize_map_free(saliency_resize_map_t *rm) {
    saliency_resize_axis_t *ax[2] = {&rm->x, &rm->y};
    for (int i = 0; i < 2; i++) {
        free(ax[i]->start); free(ax[i]->len); free(ax[i]->w);
        free(ax[i]->t_ptr); free(ax[i]->t_out); free(ax[i]->w_t);
    }
    memset(rm, 0, sizeof *rm);
}

#define MAX_STAGES 40

int saliency_resize_map_init(saliency_resize_map_t *rm, int in_w, int in_h, int out_w, int out_h,
                             sal_err_t *err) {
    memset(rm, 0, sizeof *rm);
    if (in_w <= 0 || in_h <= 0 || out_w <= 0 || out_h <= 0)
        return sal_errf(err, "resize map: bad sizes %dx%d -> %dx%d", in_w, in_h, out_w, out_h);
    rm->in_w = in_w;
    rm->in_h = in_h;
    rm->out_w = out_w;
    rm->out_h = out_h;
    stage_t sx[MAX_STAGES], sy[MAX_STAGES];
    int n = 0, rc = 0;
    memset(sx, 0, sizeof sx);
    memset(sy, 0, sizeof sy);
    // imagecore_fit: reduceHalf while both halves still cover the target ...
    int w = in_w, h = in_h;
    while (rc == 0 && w / 2 >= out_w && h / 2 >= out_h && n < MAX_STAGES - 1) {
        rc = stage_halve(&sx[n], w) | stage_halve(&sy[n], h);
        n++;
        w /= 2;
        h /= 2;
    }
    // ... then imagecore_resize unless the size is reached: a copy, Lanczos-2
    // up if either side grows, else Lanczos-3 down (its own halving loop is a
    // no-op after the one above)
    if (rc == 0 && !(w == out_w && h == out_h)) {
        if (out_w > w || out_h > h)
            rc = stage_upsample(&sx[n], w, out_w) | stage_upsample(&sy[n], h, out_h);
        else
            rc = stage_downsample(&sx[n], w, out_w) | stage_downsample(&sy[n], h, out_h);
        n++;
    }
    if (rc == 0) rc = compose_axis(sx, n, in_w, out_w, &rm->x);
    if (rc == 0) rc = compose_axis(sy, n, in_h, out_h, &rm->y);
    for (int i = 0; i < n; i++) {
        stage_free(&sx[i]);
        stage_free(&sy[i]);
    }
    if (rc) {
        saliency_resize_map_free(rm);
        return sal_errf(err, "resize map: out of memory (%dx%d -> %dx%d)", in_w, in_h, out_w, out_h);
    }
    return 0;
}

void saliency_resize_apply(const saliency_resize_map_t *rm, const float *in, float *out, int c,
                           float *tmp) {
    const int iw = rm->in_w, ih = rm->in_h, ow = rm->out_w, oh = rm->out_h;
    const saliency_resize_axis_t *ax = &rm->x, *ay = &rm->y;
    // horizontal: tmp (C, ih, ow)[r][j] = sum_k Ax[j][k] in[r][sx_j + k]
    #pragma omp parallel for schedule(static) if ((size_t)c * ih * ow > 65536)
    for (long r = 0; r < (long)c * ih; r++) {
        const float *src = in + (size_t)r * iw;
        float *dst = tmp + (size_t)r * ow;
        for (int j = 0; j < ow; j++) {
            const float *wj = ax->w + (size_t)j * ax->width;
            const float *s = src + ax->start[j];
            float acc = 0.0f;
            for (int k = 0; k < ax->len[j]; k++) acc += wj[k] * s[k];
            dst[j] = acc;
        }
    }
    // vertical: out (C, oh, ow)[i][:] = sum_k Ay[i][k] tmp[sy_i + k][:]
    #pragma omp parallel for schedule(static) if ((size_t)c * oh * ow > 65536)
    for (long r = 0; r < (long)c * oh; r++) {
        const int ch = (int)(r / oh), i = (int)(r % oh);
        const float *wi = ay->w + (size_t)i * ay->width;
        float *dst = out + (size_t)r * ow;
        for (int j = 0; j < ow; j++) dst[j] = 0.0f;
        for (int k = 0; k < ay->len[i]; k++) {
            const float *s = tmp + ((size_t)ch * ih + ay->start[i] + k) * ow;
            for (int j = 0; j < ow; j++) dst[j] += wi[k] * s[j];
        }
    }
}

void saliency_resize_adjoint(const saliency_resize_map_t *rm, const float *g, float *gin, int c,
                             float *tmp) {
    const int iw = rm->in_w, ih = rm->in_h, ow = rm->out_w, oh = rm->out_h;
    const saliency_resize_axis_t *ax = &rm->x, *ay = &rm->y;
    // vertical adjoint: tmp (C, ih, ow)[j][:] = sum_{i covers j} Ay[i][j - sy_i] g[i][:]
    #pragma omp parallel for schedule(static) if ((size_t)c * ih * ow > 65536)
    for (long r = 0; r < (long)c * ih; r++) {
        const int ch = (int)(r / ih), j = (int)(r % ih);
        float *d = tmp + (size_t)r * ow;
        for (int x = 0; x < ow; x++) d[x] = 0.0f;
        for (int q = ay->t_ptr[j]; q < ay->t_ptr[j + 1]; q++) {
            const float wq = ay->w_t[q];
            const float *s = g + ((size_t)ch * oh + ay->t_out[q]) * ow;
            for (int x = 0; x < ow; x++) d[x] += wq * s[x];
        }
    }
    // horizontal adjoint: gin (C, ih, iw)[r][j] = sum_{i covers j} Ax[i][j - sx_i] tmp[r][i]
    #pragma omp parallel for schedule(static) if ((size_t)c * ih * iw > 65536)
    for (long r = 0; r < (long)c * ih; r++) {
        const float *s = tmp + (size_t)r * ow;
        float *d = gin + (size_t)r * iw;
        for (int j = 0; j < iw; j++) {
            float acc = 0.0f;
            for (int q = ax->t_ptr[j]; q < ax->t_ptr[j + 1]; q++) acc += ax->w_t[q] * s[ax->t_out[q]];
            d[j] = acc;
        }
    }
}

/* ---- uint8 ---------------------------------------------------------------------- */

void saliency_uint8_backward(const float *img, float *g, size_t n) {
    // u = trunc(clamp(img * 127.5 + 128)): du/dimg = 127.5 inside (0, 255), rounding as identity
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float v = img[i] * 127.5f;
        v = v + 128.0f;
        g[i] = v > 0.0f && v < 255.0f ? g[i] * 127.5f : 0.0f;
    }
}

/* ---- the whole chain ---------------------------------------------------------- */

size_t saliency_grad_arena_bytes(const saliency_model_t *m, int res) {
    int fw = SALIENCY_BOX, fh = SALIENCY_BOX;
    sal_err_t err;
    if (res <= 0 || saliency_fit_size(res, res, &fw, &fh, &err)) return 0;
    int mh, mw;
    fg_output_size(&m->net, fh, fw, &mh, &mw);
    const size_t R = (size_t)res, net_in = (size_t)3 * fh * fw;
    return arena_round(R * R * 3) +                          // the uint8 image
           arena_round(net_in * sizeof(float)) +             // x
           fg_grad_arena_bytes(&m->net, fh, fw) +            // tape + backward buffers
           arena_round((size_t)mh * mw * sizeof(float)) +    // dL/dM
           arena_round(net_in * sizeof(float)) +             // dL/dx
           arena_round(3 * R * (size_t)fw * sizeof(float)) + // the resize adjoint's temporary
           8 * ARENA_ALIGN;
}

int saliency_grad_image(const saliency_model_t *m, const float *img, int res,
                        saliency_objective_t obj, float tau, arena_t *a,
                        saliency_grad_result_t *res_out, float *dimg, sal_err_t *err) {
    memset(res_out, 0, sizeof *res_out);
    if (!img || res <= 0) return sal_errf(err, "saliency grad: bad image (size %d)", res);
    if (obj != SALIENCY_OBJ_MAX && obj != SALIENCY_OBJ_SOFTMAX)
        return sal_errf(err, "saliency grad: unknown objective %d", (int)obj);
    if (obj == SALIENCY_OBJ_SOFTMAX && !(tau > 0.0f && isfinite(tau)))
        return sal_errf(err, "saliency grad: the softmax temperature must be > 0 (got %g)", tau);
    arena_reset(a);
    const size_t R = (size_t)res;
    uint8_t *u8 = arena_alloc(a, R * R * 3);
    if (!u8) return sal_errf(err, "saliency grad: arena too small for a %dx%d image", res, res);
    // 1. bytes, and the 320 fit exactly as saliency_run does it
    sg2_to_uint8(img, 1, 3, res, res, u8);
    const saliency_image_t si = saliency_image_rgb(u8, res, res, 3);
    image_u8_t in;
    int orig_w, orig_h;
    int rc = saliency_prepare(&si, &in, &orig_w, &orig_h, err);
    if (rc) return rc;
    const int H = in.height, W = in.width;
    const size_t net_in = (size_t)3 * H * W;
    float *x = arena_alloc(a, net_in * sizeof(float));
    if (!x) {
        image_free(&in);
        return sal_errf(err, "saliency grad: arena too small for a %dx%d image", res, res);
    }
    saliency_input_tensor(&in, x);
    // 2. the network, keeping its layer outputs
    fg_tape_t tape;
    if (fg_forward_tape(&m->net, x, H, W, a, &tape, err)) {
        image_free(&in);
        return -1;
    }
    // 3. maximum and salient point: saliency_finish itself (it takes a copy of the map)
    const size_t mn = (size_t)tape.map_h * tape.map_w;
    float *map_copy = malloc(mn * sizeof(float));
    if (!map_copy) {
        image_free(&in);
        return sal_errf(err, "saliency grad: out of memory");
    }
    memcpy(map_copy, tape.map, mn * sizeof(float));
    saliency_result_t sr;
    rc = saliency_finish(&in, orig_w, orig_h, map_copy, tape.map_w, tape.map_h, m->net.stride, &sr,
                         err);
    image_free(&in);
    if (rc) return -1;
    res_out->max_saliency = sr.max;
    res_out->row = sr.best_row;
    res_out->col = sr.best_col;
    res_out->point_x = (float)sr.x;
    res_out->point_y = (float)sr.y;
    res_out->map_h = sr.map_h;
    res_out->map_w = sr.map_w;
    saliency_result_free(&sr);
    // 4. the objective and dL/dM
    float *dmap = arena_alloc(a, mn * sizeof(float));
    if (!dmap) return sal_errf(err, "saliency grad: arena too small");
    int r, c;
    saliency_objective_eval(tape.map, tape.map_h, tape.map_w, obj, tau, &res_out->value, &r, &c,
                            dmap);
    if (r != res_out->row || c != res_out->col)   // both are the first strict maximum
        return sal_errf(err, "saliency grad: internal error: argmax (%d, %d) vs (%d, %d)", r, c,
                        res_out->row, res_out->col);
    if (!dimg) return 0;
    // 5. backward: network, then the resize's transpose, then the uint8 step
    float *dx = arena_alloc(a, net_in * sizeof(float));
    float *tmp = arena_alloc(a, 3 * R * (size_t)W * sizeof(float));
    if (!dx || !tmp) return sal_errf(err, "saliency grad: arena too small");
    if (fg_backward(&m->net, &tape, dmap, dx, a, err)) return -1;
    saliency_resize_map_t rm;
    if (saliency_resize_map_init(&rm, res, res, W, H, err)) return -1;
    saliency_resize_adjoint(&rm, dx, dimg, 3, tmp);   // dL/du (3, R, R); dx/du = 1
    saliency_resize_map_free(&rm);
    saliency_uint8_backward(img, dimg, 3 * R * R);
    return 0;
}

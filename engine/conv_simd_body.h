/* conv_simd_body.h — the fast kernels, written once for any vector width.
 *
 * Not a normal header: conv_avx512.c, conv_avx2.c and conv_generic.c each
 * define a small vector vocabulary and then #include this file, which turns
 * into conv2d_fast_<isa>, conv_t3s2_fast_<isa>, fir4x4_fast_<isa> and
 * gemm_nt_fast_<isa> (declared in conv_impl.h). The vocabulary:
 *
 *   VF            vector of V floats          KFN(name)    name##_<isa>
 *   VZERO() VSET1(s) VLOAD(p) VSTORE(p, v) VBCAST(p) (= VSET1(*p))
 *   VADD VMUL VFMA(a, b, c) = a*b + c   VMAX(a, b) VMIN(a, b) (b if NaN)
 *   VRELU(v) VLRELU(v, slope) VHSUM(v)
 *   MK_O, MK_X    microkernel block: MK_O output channels x MK_X vectors
 *
 * ## The 3x3 convolution (the hot loop of the whole program)
 *
 * Per task = (image n, R output rows starting at y0, a range of 8-channel
 * output blocks), a thread copies the input rows y0-1 .. y0+R (all C_in
 * channels) into a private *padded tile* whose rows are W+1 floats apart:
 *
 *     tile[c][r*Wp + 0]       = 0                      Wp = W + 1
 *     tile[c][r*Wp + 1 + x]   = in[n, c, y0-1+r, x]     (0 outside the image)
 *
 * The single zero column is the right padding of row r and the left padding
 * of row r+1 at the same time. Output pixel (y0+r, x) sits at flat index
 * q = r*Wp + x of the tile grid, and its 9 taps are simply
 *
 *     tile[c][q + ky*Wp + kx]      ky, kx = 0..2
 *
 * so the microkernel needs no edge cases at all: it walks the flat index q
 * in chunks of MK_X vectors (the column x = W is computed and thrown away),
 * and keeps MK_O x MK_X accumulators in registers over the whole C_in loop:
 *
 *     for c: for tap: v[x] = load(tile + q + off[tap] + x*V)
 *                     for o: acc[o][x] += broadcast(w[c, tap, o]) * v[x]
 *
 * The chunk results go to a small output tile; the epilogue (scale, noise,
 * bias, activation, gain, clamp) is applied while copying its valid pixels
 * to the NCHW output. A 1x1 conv is the same with Wp = W and one tap.
 *
 * ## The stride-2 transposed 3x3 convolution, on the input grid
 *
 * out[2a+py, 2b+px] only receives taps whose parity matches (py, px), so the
 * four parity classes are four small direct convolutions over the input
 * (each output class (a, b) with a = 0..H, b = 0..W):
 *
 *     even/even: w00 in[a,b] + w02 in[a,b-1] + w20 in[a-1,b] + w22 in[a-1,b-1]
 *     even/odd : w01 in[a,b] + w21 in[a-1,b]
 *     odd/even : w10 in[a,b] + w12 in[a,b-1]
 *     odd/odd  : w11 in[a,b]
 *
 * On a tile holding input rows a0-1 .. a0+R-1 (same zero-column layout) they
 * are the same microkernel with 4, 2, 2, 1 taps at offsets Wp+1, Wp, 1, 0.
 * No zero stuffing: 9 MACs per input pixel and channel, nothing wasted.
 */

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CH (MK_X * V)                    /* output lanes per microkernel call */
#ifndef TILE_BUDGET
#define TILE_BUDGET ((size_t)160 * 1024) /* floats per thread input tile (640 KiB) */
#endif
#define MK_INLINE static inline __attribute__((always_inline))
#ifndef OTILE_BUDGET
#define OTILE_BUDGET ((size_t)16 * 1024) /* floats of raw sums per thread (64 KiB) */
#endif
#ifndef CONV_CB
#define CONV_CB 16 /* input channels per L1 block (conv2d) */
#endif
#ifndef CONV_CB_T
#define CONV_CB_T 32 /* the same for the transposed conv (fewer taps per call) */
#endif

static int KFN(thread_num)(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int KFN(max_threads)(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static size_t KFN(round16)(size_t x) { return (x + 15) & ~(size_t)15; }

/* Floats between two channels of a tile with `rows` rows of wp floats: room
 * for the last chunk's overrun, and not a multiple of 4 KiB (cache sets). */
static size_t KFN(tile_stride)(int rows, int wp) {
    size_t cs = KFN(round16)((size_t)rows * wp + CH + 8);
    if (cs % 1024 == 0) cs += 16;
    return cs;
}

/* Output rows per tile: fewest lane-FMAs per output row (chunk rounding plus
 * the tile copy), with the tile (c_in x (R + halo) x wp floats) in budget. */
static int KFN(plan_rows)(int h, int wp, int c_in, int halo, int taps, int c_out_pad) {
    int best = 1;
    double best_cost = INFINITY;
    for (int r = 1; r <= h && r <= 64; r++) {
        if (r > 1 && (size_t)c_in * (size_t)(r + halo) * wp > TILE_BUDGET) break;
        double lanes = (double)((((size_t)r * wp + CH - 1) / CH) * CH);
        double cost = (lanes * taps * c_out_pad + 2.0 * (r + halo) * wp) / r;
        if (cost < best_cost) { best_cost = cost; best = r; }
    }
    return best;
}

/* Copies input rows y_first .. y_first+rows-1 of every channel into the tile
 * (zero column in front of each row, zero rows outside 0..h-1 or past
 * `valid_rows`, zero slack after the last row). */
static void KFN(fill_tile)(float *tile, size_t cs, const float *in, int c_in, int h, int w,
                           int wp, int y_first, int rows, int valid_rows) {
    const int lead = wp - w; /* 1 zero column for 3x3, none for 1x1 */
    for (int c = 0; c < c_in; c++) {
        float *t = tile + (size_t)c * cs;
        const float *src = in + (size_t)c * h * w;
        for (int r = 0; r < rows; r++) {
            float *d = t + (size_t)r * wp;
            int y = y_first + r;
            if (lead) d[0] = 0.0f;
            if (y >= 0 && y < h && r < valid_rows)
                memcpy(d + lead, src + (size_t)y * w, (size_t)w * sizeof(float));
            else
                memset(d + lead, 0, (size_t)w * sizeof(float));
        }
        memset(t + (size_t)rows * wp, 0, (cs - (size_t)rows * wp) * sizeof(float));
    }
}

/* The microkernel: MK_O output channels x CH flat positions, summed over
 * `c_in` input channels and `ntaps` taps; adds to dst if `accumulate`.
 * w points at packed[ob][c0][0][sub*MK_O]. Tap t reads the tile at row
 * trow[t], column tcol[t] (offset trow*wp + tcol) with weight tap tidx[t].
 * The tap tables are compile-time constants at every call site, so after
 * inlining each load has a fixed displacement from one of three row
 * pointers. VKEEP pins a value in a register (stops the compiler from
 * re-loading it inside every FMA). */
MK_INLINE void KFN(mk)(const float *in, size_t cs, int c_in, const float *w, int wcs, int wp,
                       int ntaps, const int *trow, const int *tcol, const int *tidx,
                       float *dst, size_t dst_os, int accumulate) {
    VF acc[MK_O][MK_X];
#pragma GCC unroll 8
    for (int o = 0; o < MK_O; o++)
#pragma GCC unroll 8
        for (int x = 0; x < MK_X; x++)
            acc[o][x] = accumulate ? VLOAD(dst + o * dst_os + x * V) : VZERO();
    const size_t wp1 = (size_t)wp, wp2 = 2 * (size_t)wp;
    for (int c = 0; c < c_in; c++, in += cs, w += wcs) {
        const float *rows[3] = {in, in + wp1, in + wp2};
#pragma GCC unroll 9
        for (int t = 0; t < ntaps; t++) {
            const float *ip = rows[trow[t]] + tcol[t];
            const float *wt = w + tidx[t] * CONV_PACK_O;
#ifdef MK_TAP
            MK_TAP(acc, ip, wt);
            continue;
#endif
            VF v[MK_X];
#pragma GCC unroll 8
            for (int x = 0; x < MK_X; x++) {
                v[x] = VLOAD(ip + x * V);
                VKEEP(v[x]);
            }
#pragma GCC unroll 8
            for (int o = 0; o < MK_O; o++) {
                VF b = VBCAST(wt + o);
                VKEEP(b);
#pragma GCC unroll 8
                for (int x = 0; x < MK_X; x++) acc[o][x] = VFMA(b, v[x], acc[o][x]);
            }
        }
    }
#pragma GCC unroll 8
    for (int o = 0; o < MK_O; o++)
#pragma GCC unroll 8
        for (int x = 0; x < MK_X; x++) VSTORE(dst + o * dst_os + x * V, acc[o][x]);
}

/* Tap tables (row, column, weight tap) of the kernels. */
static const int KFN(k3_row)[9] = {0, 0, 0, 1, 1, 1, 2, 2, 2};
static const int KFN(k3_col)[9] = {0, 1, 2, 0, 1, 2, 0, 1, 2};
static const int KFN(k3_idx)[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
static const int KFN(k1_zero)[1] = {0};
/* transposed conv classes: offsets Wp+1, Wp, 1, 0 = in[a,b], in[a,b-1],
 * in[a-1,b], in[a-1,b-1]; weight taps ky*3+kx */
static const int KFN(ee_row)[4] = {1, 1, 0, 0}, KFN(ee_col)[4] = {1, 0, 1, 0},
                 KFN(ee_idx)[4] = {0, 2, 6, 8};
static const int KFN(eo_row)[2] = {1, 0}, KFN(eo_col)[2] = {1, 1}, KFN(eo_idx)[2] = {1, 7};
static const int KFN(oe_row)[2] = {1, 1}, KFN(oe_col)[2] = {1, 0}, KFN(oe_idx)[2] = {3, 5};
static const int KFN(oo_row)[1] = {1}, KFN(oo_col)[1] = {1}, KFN(oo_idx)[1] = {4};

/* dst[0..w) = epilogue(src[0..w)) for one output row of one channel. */
static void KFN(epi_store)(const float *src, float *dst, int w, const epi_row_t *e) {
    const VF vs = VSET1(e->scale), vng = VSET1(e->noise_gain), vb = VSET1(e->bias);
    const VF vsl = VSET1(e->slope), vg = VSET1(e->gain);
    const VF vlo = VSET1(-e->clamp), vhi = VSET1(e->clamp);
    int x = 0;
    for (; x + V <= w; x += V) {
        VF v = VLOAD(src + x);
        if (e->use_scale) v = VMUL(v, vs);
        if (e->noise) v = VADD(v, VMUL(VLOAD(e->noise + x), vng));
        if (e->use_bias) v = VADD(v, vb);
        if (e->act == ACT_RELU) v = VRELU(v);
        else if (e->act == ACT_LRELU) v = VLRELU(v, vsl);
        if (e->use_gain) v = VMUL(v, vg);
        if (e->use_clamp) v = VMIN(vhi, VMAX(vlo, v));
        VSTORE(dst + x, v);
    }
    for (; x < w; x++) dst[x] = epi_scalar(e, src[x], e->noise ? e->noise + x : NULL);
}

/* Splits n * ntiles row tasks further over output-channel blocks when there
 * are too few of them to keep every thread busy (small images). */
static int KFN(plan_groups)(int row_tasks, int nob, int nthr) {
    int want = 4 * nthr;
    if (row_tasks >= want) return 1;
    int g = (want + row_tasks - 1) / row_tasks;
    return g < nob ? g : nob;
}

/* How a conv call is cut into tasks, shared by conv2d and the transposed conv.
 * A task = (image nb, R output rows from row y0, output blocks ob0..ob1-1);
 * the thread copies the tile once, then for each block of CB input channels
 * runs every (output block, chunk) so that the chunk's inputs stay in L1. */
typedef struct conv_plan {
    int R, rows, ntiles, groups, ntasks, nob, cb;
    int obb;       /* output blocks per pass over the tile (output tile <= OTILE_BUDGET) */
    size_t cs, ot, per_thread;
} conv_plan_t;

static conv_plan_t KFN(plan)(int n, int h_tasks, int wp, int c_in, int c_out, int halo,
                             int taps, int classes, int cb) {
    conv_plan_t p;
    p.nob = (c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    p.R = KFN(plan_rows)(h_tasks, wp, c_in, halo, taps, p.nob * CONV_PACK_O);
    p.rows = p.R + halo;
    p.cs = KFN(tile_stride)(p.rows, wp);
    p.ot = KFN(round16)((size_t)p.R * wp + CH);
    p.ntiles = (h_tasks + p.R - 1) / p.R;
    p.groups = KFN(plan_groups)(n * p.ntiles, p.nob, KFN(max_threads)());
    p.ntasks = n * p.ntiles * p.groups;
    p.cb = cb;
    const int obs_per_group = (p.nob + p.groups - 1) / p.groups;
    p.obb = (int)(OTILE_BUDGET / ((size_t)classes * CONV_PACK_O * p.ot));
    p.obb = p.obb < 1 ? 1 : p.obb > obs_per_group ? obs_per_group : p.obb;
    p.per_thread = KFN(round16)((size_t)c_in * p.cs + (size_t)classes * p.obb * CONV_PACK_O * p.ot);
    return p;
}

int KFN(conv2d_fast)(const conv_weights_t *cw, const float *in, float *out, int n, int h,
                     int w, const conv_epilogue_t *ep) {
    const int k = cw->k, pad = k / 2, c_in = cw->c_in, c_out = cw->c_out;
    const int taps = k * k, halo = 2 * pad;
    const int wp = w + pad; /* one shared zero column for 3x3 */
    const conv_plan_t p = KFN(plan)(n, h, wp, c_in, c_out, halo, taps, 1, CONV_CB);
    const int nthr = KFN(max_threads)();
    const size_t wcs = (size_t)taps * CONV_PACK_O; /* packed floats per input channel */
    float *buf = sal_alloc_aligned((size_t)nthr * p.per_thread * sizeof(float), 64);
    if (!buf) return -1;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr)
    for (int task = 0; task < p.ntasks; task++) {
        float *tile = buf + (size_t)KFN(thread_num)() * p.per_thread;
        float *otile = tile + (size_t)c_in * p.cs; /* (ob1-ob0, 8, ot) raw sums */
        const int g = task % p.groups, ti = (task / p.groups) % p.ntiles;
        const int nb = task / p.groups / p.ntiles;
        const int y0 = ti * p.R, reff = h - y0 < p.R ? h - y0 : p.R;
        const int nq = (int)(((size_t)reff * wp + CH - 1) / CH);
        const int ob0 = g * p.nob / p.groups, ob1 = (g + 1) * p.nob / p.groups;
        KFN(fill_tile)(tile, p.cs, in + (size_t)nb * c_in * h * w, c_in, h, w, wp, y0 - pad,
                       p.rows, reff + halo);
        for (int obb = ob0; obb < ob1; obb += p.obb) {
            const int obe = obb + p.obb < ob1 ? obb + p.obb : ob1;
            for (int c0 = 0; c0 < c_in; c0 += p.cb) {
                const int nc = c_in - c0 < p.cb ? c_in - c0 : p.cb;
                const float *tc = tile + (size_t)c0 * p.cs;
                for (int ob = obb; ob < obe; ob++)
                    for (int qc = 0; qc < nq; qc++)
                        for (int sub = 0; sub < CONV_PACK_O / MK_O; sub++) {
                            const int o0 = ob * CONV_PACK_O + sub * MK_O;
                            if (o0 >= c_out) break;
                            const float *ws =
                                cw->packed + ((size_t)ob * c_in + c0) * wcs + sub * MK_O;
                            float *dst =
                                otile + (size_t)((ob - obb) * CONV_PACK_O + sub * MK_O) * p.ot;
                            const size_t q = (size_t)qc * CH;
                            if (taps == 9)
                                KFN(mk)(tc + q, p.cs, nc, ws, (int)wcs, wp, 9, KFN(k3_row),
                                        KFN(k3_col), KFN(k3_idx), dst + q, p.ot, c0 > 0);
                            else
                                KFN(mk)(tc + q, p.cs, nc, ws, (int)wcs, wp, 1, KFN(k1_zero),
                                        KFN(k1_zero), KFN(k1_zero), dst + q, p.ot, c0 > 0);
                        }
            }
            const int o_end = obe * CONV_PACK_O < c_out ? obe * CONV_PACK_O : c_out;
            for (int o = obb * CONV_PACK_O; o < o_end; o++) {
                epi_row_t e = epi_row_for(ep, nb, c_out, o);
                const float *src = otile + (size_t)(o - obb * CONV_PACK_O) * p.ot;
                for (int r = 0; r < reff; r++) {
                    e.noise = ep && ep->noise ? ep->noise + (size_t)(y0 + r) * w : NULL;
                    KFN(epi_store)(src + (size_t)r * wp,
                                   out + (((size_t)nb * c_out + o) * h + y0 + r) * w, w, &e);
                }
            }
        }
    }
    sal_free_aligned(buf);
    return 0;
}

/* Interleaves two class rows into one output row: dst[2b] = ev[b] (b = 0..ne-1),
 * dst[2b+1] = od[b] (b = 0..no-1). */
static void KFN(interleave)(float *dst, const float *ev, int ne, const float *od, int no) {
    for (int b = 0; b < no; b++) {
        dst[2 * b] = ev[b];
        dst[2 * b + 1] = od[b];
    }
    for (int b = no; b < ne; b++) dst[2 * b] = ev[b];
}

int KFN(conv_t3s2_fast)(const conv_weights_t *cw, const float *in, float *out, int n, int h,
                        int w) {
    const int c_in = cw->c_in, c_out = cw->c_out;
    const int wp = w + 1, ho = 2 * h + 1, wo = 2 * w + 1;
    /* class rows a = 0..h; a tile holds input rows a0-1 .. a0+R-1 */
    const conv_plan_t p = KFN(plan)(n, h + 1, wp, c_in, c_out, 1, 9, 4, CONV_CB_T);
    const int nthr = KFN(max_threads)();
    const size_t wcs = 9 * CONV_PACK_O;
    float *buf = sal_alloc_aligned((size_t)nthr * p.per_thread * sizeof(float), 64);
    if (!buf) return -1;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr)
    for (int task = 0; task < p.ntasks; task++) {
        float *tile = buf + (size_t)KFN(thread_num)() * p.per_thread;
        const int g = task % p.groups, ti = (task / p.groups) % p.ntiles;
        const int nb = task / p.groups / p.ntiles;
        const int a0 = ti * p.R, reff = h + 1 - a0 < p.R ? h + 1 - a0 : p.R;
        const int nq = (int)(((size_t)reff * wp + CH - 1) / CH);
        const int ob0 = g * p.nob / p.groups, ob1 = (g + 1) * p.nob / p.groups;
        /* class tiles (4, obb, 8, ot): even/even, even/odd, odd/even, odd/odd */
        const size_t cls = (size_t)p.obb * CONV_PACK_O * p.ot;
        float *ee = tile + (size_t)c_in * p.cs, *eo = ee + cls, *oe = eo + cls, *oo = oe + cls;
        KFN(fill_tile)(tile, p.cs, in + (size_t)nb * c_in * h * w, c_in, h, w, wp, a0 - 1,
                       p.rows, reff + 1);
        for (int obb = ob0; obb < ob1; obb += p.obb) {
            const int obe = obb + p.obb < ob1 ? obb + p.obb : ob1;
            for (int c0 = 0; c0 < c_in; c0 += p.cb) {
                const int nc = c_in - c0 < p.cb ? c_in - c0 : p.cb;
                const float *tc = tile + (size_t)c0 * p.cs;
                for (int ob = obb; ob < obe; ob++)
                    for (int qc = 0; qc < nq; qc++)
                        for (int sub = 0; sub < CONV_PACK_O / MK_O; sub++) {
                            const int o0 = ob * CONV_PACK_O + sub * MK_O;
                            if (o0 >= c_out) break;
                            const float *ws =
                                cw->packed + ((size_t)ob * c_in + c0) * wcs + sub * MK_O;
                            const size_t q = (size_t)((ob - obb) * CONV_PACK_O + sub * MK_O) * p.ot +
                                             (size_t)qc * CH;
                            const float *t = tc + (size_t)qc * CH;
                            const int acc = c0 > 0;
                            KFN(mk)(t, p.cs, nc, ws, (int)wcs, wp, 4, KFN(ee_row), KFN(ee_col),
                                    KFN(ee_idx), ee + q, p.ot, acc);
                            KFN(mk)(t, p.cs, nc, ws, (int)wcs, wp, 2, KFN(eo_row), KFN(eo_col),
                                    KFN(eo_idx), eo + q, p.ot, acc);
                            KFN(mk)(t, p.cs, nc, ws, (int)wcs, wp, 2, KFN(oe_row), KFN(oe_col),
                                    KFN(oe_idx), oe + q, p.ot, acc);
                            KFN(mk)(t, p.cs, nc, ws, (int)wcs, wp, 1, KFN(oo_row), KFN(oo_col),
                                    KFN(oo_idx), oo + q, p.ot, acc);
                        }
            }
            const int o_end = obe * CONV_PACK_O < c_out ? obe * CONV_PACK_O : c_out;
            for (int o = obb * CONV_PACK_O; o < o_end; o++) {
                float *plane = out + ((size_t)nb * c_out + o) * ho * wo;
                const size_t oc = (size_t)(o - obb * CONV_PACK_O) * p.ot;
                for (int r = 0; r < reff; r++) {
                    const int a = a0 + r;
                    const size_t q = oc + (size_t)r * wp;
                    KFN(interleave)(plane + (size_t)(2 * a) * wo, ee + q, w + 1, eo + q, w);
                    if (a < h)
                        KFN(interleave)(plane + (size_t)(2 * a + 1) * wo, oe + q, w + 1, oo + q,
                                        w);
                }
            }
        }
    }
    sal_free_aligned(buf);
    return 0;
}

/* Horizontal 4-tap pass of the FIR: d[X] = sum_b f[b] s[X+b-1], X = 0..wo-1,
 * s has wo+1 values, zero outside. */
static float KFN(fir_tap4)(const float *s, int ns, int x, const float f[4]) {
    float acc = 0.0f;
    for (int b = 0; b < 4; b++) {
        int i = x + b - 1;
        if (i >= 0 && i < ns) acc += f[b] * s[i];
    }
    return acc;
}

static void KFN(fir_row)(const float *s, float *d, int wo, const float f[4]) {
    const int ns = wo + 1;
    const VF f0 = VSET1(f[0]), f1 = VSET1(f[1]), f2 = VSET1(f[2]), f3 = VSET1(f[3]);
    if (wo <= 0) return;
    d[0] = KFN(fir_tap4)(s, ns, 0, f); /* reads s[-1] = 0 */
    int x = 1;
    for (; x + V + 1 <= wo; x += V) {   /* reads s[x-1 .. x+V+1], all inside */
        VF acc = VMUL(f0, VLOAD(s + x - 1));
        acc = VFMA(f1, VLOAD(s + x), acc);
        acc = VFMA(f2, VLOAD(s + x + 1), acc);
        acc = VFMA(f3, VLOAD(s + x + 2), acc);
        VSTORE(d + x, acc);
    }
    for (; x < wo; x++) d[x] = KFN(fir_tap4)(s, ns, x, f);
}

int KFN(fir4x4_fast)(const float *in, float *out, int n, int c, int h2p1, int w2p1,
                     const float f[4], float gain, const conv_epilogue_t *ep) {
    const int ho = h2p1 - 1, wo = w2p1 - 1, planes = n * c;
    const size_t rl = KFN(round16)((size_t)wo);
    const size_t per_thread = 6 * rl; /* 4 ring rows, a zero row, the output row */
    const int nthr = KFN(max_threads)();
    float *buf = sal_alloc_aligned((size_t)nthr * per_thread * sizeof(float), 64);
    if (!buf) return -1;
    const VF g = VSET1(gain), f0 = VSET1(f[0]), f1 = VSET1(f[1]), f2 = VSET1(f[2]),
             f3 = VSET1(f[3]);

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr)
    for (int p = 0; p < planes; p++) {
        float *ring = buf + (size_t)KFN(thread_num)() * per_thread;
        float *zero = ring + 4 * rl, *vrow = zero + rl;
        memset(zero, 0, rl * sizeof(float));
        const float *src = in + (size_t)p * h2p1 * w2p1;
        float *dst = out + (size_t)p * ho * wo;
        epi_row_t e = epi_row_for(ep, p / c, c, p % c);
        int next = 0; /* next input row to filter horizontally */
        for (int y = 0; y < ho; y++) {
            /* input rows y-1 .. y+2 live in ring slots (row + 1) & 3 */
            for (; next <= y + 2 && next < h2p1; next++)
                KFN(fir_row)(src + (size_t)next * w2p1, ring + (size_t)((next + 1) & 3) * rl, wo, f);
            const float *hr[4];
            for (int a = 0; a < 4; a++) {
                int r = y + a - 1;
                hr[a] = r >= 0 && r < h2p1 ? ring + (size_t)((r + 1) & 3) * rl : zero;
            }
            int x = 0;
            for (; x + V <= wo; x += V) {
                VF acc = VMUL(f0, VLOAD(hr[0] + x));
                acc = VFMA(f1, VLOAD(hr[1] + x), acc);
                acc = VFMA(f2, VLOAD(hr[2] + x), acc);
                acc = VFMA(f3, VLOAD(hr[3] + x), acc);
                VSTORE(vrow + x, VMUL(acc, g));
            }
            for (; x < wo; x++)
                vrow[x] = (f[0] * hr[0][x] + f[1] * hr[1][x] + f[2] * hr[2][x] + f[3] * hr[3][x]) *
                          gain;
            e.noise = ep && ep->noise ? ep->noise + (size_t)y * wo : NULL;
            KFN(epi_store)(vrow, dst + (size_t)y * wo, wo, &e);
        }
    }
    sal_free_aligned(buf);
    return 0;
}

/* c = a b^T: four rows of b at a time against every row of a (b block in L1). */
void KFN(gemm_nt_fast)(int m, int n, int k, const float *a, const float *b, float *c) {
    const int nblk = (n + 3) / 4;
#pragma omp parallel for schedule(static) if ((double)m * n * k > 4e6)
    for (int jb = 0; jb < nblk; jb++) {
        const int j0 = jb * 4, nj = n - j0 < 4 ? n - j0 : 4;
        const float *b0 = b + (size_t)j0 * k;
        for (int i = 0; i < m; i++) {
            const float *ai = a + (size_t)i * k;
            VF acc[4] = {VZERO(), VZERO(), VZERO(), VZERO()};
            int l = 0;
            if (nj == 4) {
                for (; l + V <= k; l += V) {
                    VF va = VLOAD(ai + l);
                    acc[0] = VFMA(va, VLOAD(b0 + l), acc[0]);
                    acc[1] = VFMA(va, VLOAD(b0 + (size_t)k + l), acc[1]);
                    acc[2] = VFMA(va, VLOAD(b0 + 2 * (size_t)k + l), acc[2]);
                    acc[3] = VFMA(va, VLOAD(b0 + 3 * (size_t)k + l), acc[3]);
                }
            } else {
                for (; l + V <= k; l += V) {
                    VF va = VLOAD(ai + l);
                    for (int j = 0; j < nj; j++)
                        acc[j] = VFMA(va, VLOAD(b0 + (size_t)j * k + l), acc[j]);
                }
            }
            for (int j = 0; j < nj; j++) {
                float s = VHSUM(acc[j]);
                for (int t = l; t < k; t++) s += ai[t] * b0[(size_t)j * k + t];
                c[(size_t)i * n + j0 + j] = s;
            }
        }
    }
}

/* The peak-FLOPS probe: 12 independent FMA chains (more than latency x
 * pipes on any current core), `iters` rounds. Returns the FLOPs executed;
 * *sink gets a value depending on every chain so nothing is optimised away. */
double KFN(fma_loop)(long iters, float *sink) {
    VF acc[12];
    const VF m = VSET1(0.99999994f), d = VSET1(1e-7f);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) acc[i] = VSET1(1.0f + 0.001f * i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) acc[i] = VFMA(acc[i], m, d);
    }
    VF s = acc[0];
#pragma GCC unroll 12
    for (int i = 1; i < 12; i++) s = VADD(s, acc[i]);
    *sink = VHSUM(s);
    return (double)iters * 12 * V * 2;
}

#undef CH
#undef TILE_BUDGET
#undef MK_INLINE

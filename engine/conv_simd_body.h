/* conv_simd_body.h — the fast kernels, written once for any vector width.
 *
 * Not a normal header: conv_avx512.c, conv_avx2.c and conv_generic.c each
 * define a small vector vocabulary and then #include this file, which turns
 * into conv2d_fast_<isa>, conv_t3s2_fast_<isa>, fir4x4_fast_<isa>,
 * gemm_nt_fast_<isa> and fma_loop_<isa> (declared in conv_impl.h). The
 * vocabulary:
 *
 *   VF            vector of V floats          KFN(name)    name##_<isa>
 *   VZERO() VSET1(s) VLOAD(p) VSTORE(p, v) VBCAST(p) (= VSET1(*p))
 *   VADD VSUB VMUL VFMA(a, b, c) = a*b + c   VMAX(a, b) VMIN(a, b) (b if NaN)
 *   VRELU(v) VLRELU(v, slope) VHSUM(v)  VKEEP(v) (pin in a register, or nothing)
 *   MK_O, MK_X    microkernel block: MK_O output channels x MK_X vectors
 *   optional: VZIP(e, o, lo, hi) interleave two vectors; VDEINT4 / VINT4
 *             4-way (de)interleave (a portable version is defined below);
 *             MK_TAP(acc, ip, wt)
 *             one microkernel tap written by hand (AVX2)
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
 * in chunks of CH = MK_X*V lanes (the column x = W is computed and thrown
 * away) and keeps MK_O x MK_X accumulators in registers over a group of
 * input channels:
 *
 *     for c: for tap: v[x] = load(tile + q + off[tap] + x*V)
 *                     for o: acc[o][x] += broadcast(w[c, tap, o]) * v[x]
 *
 * Around it (see conv_plan_t): blocks of chunks whose inputs fit L1, all
 * output channels per block, raw sums in a small output tile, then the
 * epilogue (scale, noise, bias, activation, gain, clamp) while writing the
 * valid pixels to the NCHW output. A 1x1 conv needs no padding and reads
 * its input in place (conv1x1_fast).
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
 *
 * ## The 4x4 FIR: separable, F = f f^T gain: a horizontal 4-tap pass per input
 * row into a ring of 4 rows, then a vertical 4-tap pass per output row.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h" /* threads_get(), thread_index() */

#define CH (MK_X * V) /* output lanes per microkernel call */
#define MK_INLINE static inline __attribute__((always_inline))
/* Cache budgets of the conv plan (floats), measured best on the development
 * machine, an AMD EPYC of family 25 model 1 (Zen 3: 32 KiB L1d, 512 KiB L2,
 * 32 MiB L3). The input tile is larger than L2 and still the fastest:
 * 512->512@64 2 threads, best of 5: 108 ms vs 126 (512 KiB) and 130 (256 KiB). */
#ifndef TILE_BUDGET
#define TILE_BUDGET ((size_t)256 * 1024) /* a thread's input tile (1 MiB) */
#endif
#ifndef L1_BUDGET
#define L1_BUDGET ((size_t)4 * 1024) /* the inputs of one chunk block (16 KiB) */
#endif
#ifndef BIG_WEIGHTS
#define BIG_WEIGHTS ((size_t)2 << 20) /* bytes of packed weights that do not stay in L2 */
#endif
#ifndef BIG_L1_SCALE
#define BIG_L1_SCALE 4 /* their chunk blocks are this much longer (inputs from L2) */
#endif
#ifndef CONV_CB
#define CONV_CB 16 /* input channels per L1 block (conv2d) */
#endif
#ifndef CONV_CB_T
#define CONV_CB_T 32 /* the same for the transposed conv (fewer taps per call) */
#endif

/* VDEINT4(p, r0..r3): r_k[l] = p[4l + k]; VINT4(p, r0..r3): p[4l + k] = r_k[l]
 * (l = 0..V-1), used by the Winograd kernels. An ISA may bring shuffles; this
 * is the portable version. */
#ifndef VDEINT4
#define CONV_OWN_DEINT
#define VDEINT4(p, r0, r1, r2, r3)                                                       \
    do {                                                                                 \
        float wt_[4][V];                                                                  \
        const float *p_ = (p);                                                           \
        for (int l_ = 0; l_ < V; l_++)                                                   \
            for (int k_ = 0; k_ < 4; k_++) wt_[k_][l_] = p_[4 * l_ + k_];                 \
        (r0) = VLOAD(wt_[0]);                                                             \
        (r1) = VLOAD(wt_[1]);                                                             \
        (r2) = VLOAD(wt_[2]);                                                             \
        (r3) = VLOAD(wt_[3]);                                                             \
    } while (0)
#define VINT4(p, r0, r1, r2, r3)                                                         \
    do {                                                                                 \
        float wt_[4][V];                                                                  \
        float *p_ = (p);                                                                 \
        VSTORE(wt_[0], (r0));                                                             \
        VSTORE(wt_[1], (r1));                                                             \
        VSTORE(wt_[2], (r2));                                                             \
        VSTORE(wt_[3], (r3));                                                             \
        for (int l_ = 0; l_ < V; l_++)                                                   \
            for (int k_ = 0; k_ < 4; k_++) p_[4 * l_ + k_] = wt_[k_][l_];                 \
    } while (0)
#endif

/* Below this many multiply-adds a call runs on the calling thread alone:
 * waking the team costs more than it saves (and much more when the machine
 * is oversubscribed). Results do not depend on it. */
#ifndef PAR_MIN_MACS
#define PAR_MIN_MACS 2e6
#endif

static size_t KFN(round16)(size_t x) { return (x + 15) & ~(size_t)15; }

/* Floats between two channels of a tile with `rows` rows of wp floats: room
 * for the last chunk's overrun, and not a multiple of 4 KiB (cache sets). */
static size_t KFN(tile_stride)(int rows, int wp) {
    size_t cs = KFN(round16)((size_t)rows * wp + CH + 8);
    if (cs % 1024 == 0) cs += 16;
    return cs;
}

/* dst[0..n) = src[0..n) * s (the prologue's input scale). */
static void KFN(copy_scaled)(float *dst, const float *src, size_t n, float s) {
    const VF vs = VSET1(s);
    size_t i = 0;
    for (; i + V <= n; i += V) VSTORE(dst + i, VMUL(VLOAD(src + i), vs));
    for (; i < n; i++) dst[i] = src[i] * s;
}

/* Copies input rows y_first .. y_first+rows-1 of every channel into the tile
 * (zero columns in front of and after each row, zero rows outside 0..h-1 or
 * past `valid_rows`, zero slack after the last row), multiplied by scale[c]
 * if scale is given (the prologue; the zeros stay zeros). */
static void KFN(fill_tile)(float *tile, size_t cs, const float *in, const float *scale,
                           int c_in, int h, int w, int wp, int lead, int y_first, int rows,
                           int valid_rows) {
    for (int c = 0; c < c_in; c++) {
        float *t = tile + (size_t)c * cs;
        const float *src = in + (size_t)c * h * w;
        for (int r = 0; r < rows; r++) {
            float *d = t + (size_t)r * wp;
            int y = y_first + r;
            for (int x = 0; x < lead; x++) d[x] = 0.0f;
            if (y >= 0 && y < h && r < valid_rows && scale)
                KFN(copy_scaled)(d + lead, src + (size_t)y * w, (size_t)w, scale[c]);
            else if (y >= 0 && y < h && r < valid_rows)
                memcpy(d + lead, src + (size_t)y * w, (size_t)w * sizeof(float));
            else
                memset(d + lead, 0, (size_t)w * sizeof(float));
            for (int x = lead + w; x < wp; x++) d[x] = 0.0f;
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

/* The products of one block of a conv: for each 8-channel output block ob in
 * [ob0, ob1), chunk qc in [qb0, qb1) and MK_O sub-block, the microkernel over
 * nc input channels of src (channel stride cs, chunk qc at qc * CH) with the
 * packed weights wblk + ob * ob_stride (wcs floats per input channel), into
 * the raw-sum tile otile (ob - ob0, 8, ot), continuing its sums if accumulate. */
MK_INLINE void KFN(block_products)(const float *src, size_t cs, int nc, const float *wblk,
                                   size_t ob_stride, int wcs, int wp, int ntaps,
                                   const int *trow, const int *tcol, const int *tidx, int ob0,
                                   int ob1, int qb0, int qb1, int c_out, float *otile, size_t ot,
                                   int accumulate) {
    for (int ob = ob0; ob < ob1; ob++)
        for (int qc = qb0; qc < qb1; qc++)
            for (int sub = 0; sub < CONV_PACK_O / MK_O; sub++) {
                if (ob * CONV_PACK_O + sub * MK_O >= c_out) break;
                const float *ws = wblk + (size_t)ob * ob_stride + sub * MK_O;
                float *dst = otile + (size_t)((ob - ob0) * CONV_PACK_O + sub * MK_O) * ot +
                             (size_t)(qc - qb0) * CH;
                KFN(mk)(src + (size_t)qc * CH, cs, nc, ws, wcs, wp, ntaps, trow, tcol, tidx, dst,
                        ot, accumulate);
            }
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
 *
 * A task = (image nb, R output rows from row y0, output blocks ob0..ob1-1).
 * The thread copies its input rows into a tile once (TILE_BUDGET), then
 * walks the tile's flat positions in blocks of qb chunks. For one block it
 * runs, per group of cb input channels, every output block and chunk:
 *
 *     for block: for c-group: for ob: for chunk in block: for sub: mk
 *
 * so the block's inputs (cb channels x 3 rows x qb*CH floats, ~16 KiB) stay
 * in L1 while all output channels use them, the weights stream through in
 * order, and the raw sums of the block (all output channels) stay in L2.
 * The epilogue then writes the block's valid pixels. */
typedef struct conv_plan {
    int R, rows, ntiles, groups, ntasks, nob, cb, qb;
    size_t cs, ot, per_thread;
} conv_plan_t;

/* Picks R, the output rows per tile: the shortest estimated makespan over
 * the threads, counting lane-FMAs (chunk rounding included) and the tile
 * copy, with the tile within TILE_BUDGET. Small images are also split over
 * output blocks (groups) to give every thread work. */
static conv_plan_t KFN(plan)(int n, int h_tasks, int wp, int c_in, int c_out, int halo,
                             int taps, int classes, int cb, int nthr) {
    conv_plan_t p;
    p.nob = (c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    p.cb = cb < c_in ? cb : c_in;
    double best = INFINITY;
    p.R = 1;
    for (int r = 1; r <= h_tasks && r <= 64; r++) {
        const size_t rows = (size_t)(r + halo) * wp;
        if (r > 1 && (size_t)c_in * rows > TILE_BUDGET) break;
        const int ntiles = (h_tasks + r - 1) / r;
        const int groups = KFN(plan_groups)(n * ntiles, p.nob, nthr);
        const double tasks = (double)n * ntiles * groups;
        const double lanes = (double)((((size_t)r * wp + CH - 1) / CH) * CH);
        const double task = (lanes * taps * p.nob * CONV_PACK_O / groups + 2.0 * rows) * c_in;
        const double makespan = ceil(tasks / nthr) * task;
        if (makespan < best) { best = makespan; p.R = r; }
    }
    p.rows = p.R + halo;
    p.cs = KFN(tile_stride)(p.rows, wp);
    p.ntiles = (h_tasks + p.R - 1) / p.R;
    p.groups = KFN(plan_groups)(n * p.ntiles, p.nob, nthr);
    p.ntasks = n * p.ntiles * p.groups;
    /* chunks per block: the block's input rows (halo + 1 segments of qb*CH + 2
     * floats per channel -- 3 rows for the 3x3 conv, 2 for the transposed
     * conv's classes -- or one stretch when rows are short) within L1_BUDGET.
     * qb only changes the blocking, never the order of any output's sum. */
    const int nq = (int)(((size_t)p.R * wp + CH - 1) / CH);
    const size_t nseg = (size_t)halo + 1;
    /* weights too big for L2 stream in from L3 once per block: then longer
     * blocks, whose inputs are read from L2, make that stream rarer */
    const size_t wbytes = (size_t)p.nob * CONV_PACK_O * c_in * taps * sizeof(float);
    const size_t l1 = wbytes > BIG_WEIGHTS ? BIG_L1_SCALE * L1_BUDGET : L1_BUDGET;
    p.qb = 1;
    for (int qb = 2; qb <= nq; qb++) {
        size_t span = (size_t)qb * CH + 2;
        size_t seg = (size_t)qb * CH + (size_t)halo * wp + 2;
        if ((size_t)p.cb * (seg < nseg * span ? seg : nseg * span) > l1) break;
        p.qb = qb;
    }
    p.ot = (size_t)p.qb * CH;
    const int obs_per_group = (p.nob + p.groups - 1) / p.groups;
    p.per_thread = KFN(round16)((size_t)c_in * p.cs +
                                (size_t)classes * obs_per_group * CONV_PACK_O * p.ot);
    return p;
}

/* Every kernel's workspace is nthr slices of per_thread floats, one per
 * thread (thread_index()), each a multiple of 16 floats (64 bytes). */
static size_t KFN(slices)(int nthr, size_t per_thread) { return (size_t)nthr * per_thread; }

/* The 1x1 convolution needs no padding, so the flat position of pixel (y, x)
 * is just y*W + x of the input plane: the microkernel reads the input in
 * place (channel stride H*W). A task is a range of TL positions of one
 * image; only the task holding the plane's end copies its inputs into a
 * zero-padded tile, so that the last chunk never reads past the buffer. */
typedef struct conv1x1_plan {
    int cb, ranges, groups, ntasks, qb;
    size_t tl, ot, cs_tail, per_thread;
} conv1x1_plan_t;

static conv1x1_plan_t KFN(plan1x1)(int n, size_t hw, int c_in, int c_out, int nthr) {
    conv1x1_plan_t p;
    const int nob = (c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    p.cb = CONV_CB < c_in ? CONV_CB : c_in;
    /* lanes per task: the tile of the tail task (c_in x TL) within budget */
    size_t tl = TILE_BUDGET / (size_t)c_in / CH * CH;
    tl = tl < CH ? CH : tl;
    const size_t hw_ch = (hw + CH - 1) / CH * CH;
    p.tl = tl > hw_ch ? hw_ch : tl;
    p.ranges = (int)((hw + p.tl - 1) / p.tl);
    p.groups = KFN(plan_groups)(n * p.ranges, nob, nthr);
    p.ntasks = n * p.ranges * p.groups;
    /* chunks per block: cb channels x qb*CH lanes within L1_BUDGET */
    p.qb = (int)(L1_BUDGET / ((size_t)p.cb * CH));
    p.qb = p.qb < 1 ? 1 : p.qb;
    p.ot = (size_t)p.qb * CH;
    p.cs_tail = KFN(round16)(p.tl + CH);
    const int obs_per_group = (nob + p.groups - 1) / p.groups;
    p.per_thread =
        KFN(round16)((size_t)c_in * p.cs_tail + (size_t)obs_per_group * CONV_PACK_O * p.ot);
    return p;
}

static int KFN(conv1x1_fast)(const conv_weights_t *cw, const float *in, float *out, int n,
                             int h, int w, const conv_epilogue_t *ep, const conv_ws_t *ws) {
    const int c_in = cw->c_in, c_out = cw->c_out;
    const size_t hw = (size_t)h * w;
    const int nob = (c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    const int nthr = threads_get();
    const conv1x1_plan_t pl = KFN(plan1x1)(n, hw, c_in, c_out, nthr);
    const int cb = pl.cb, ranges = pl.ranges, groups = pl.groups, ntasks = pl.ntasks, qb = pl.qb;
    const size_t tl = pl.tl, ot = pl.ot, cs_tail = pl.cs_tail, per_thread = pl.per_thread;
    float *owned, *buf = conv_ws_take(ws, KFN(slices)(nthr, per_thread), &owned);
    if (!buf) return -1;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) \
    if ((double)n * hw * c_in * c_out >= PAR_MIN_MACS)
    for (int task = 0; task < ntasks; task++) {
        float *tile = buf + (size_t)thread_index() * per_thread;
        float *otile = tile + (size_t)c_in * cs_tail; /* (ob1-ob0, 8, qb*CH) raw sums */
        const int g = task % groups, ri = (task / groups) % ranges, nb = task / groups / ranges;
        const size_t p0 = (size_t)ri * tl, p1 = p0 + tl < hw ? p0 + tl : hw;
        const int nq = (int)((p1 - p0 + CH - 1) / CH);
        const int ob0 = g * nob / groups, ob1 = (g + 1) * nob / groups;
        const float *src = in + (size_t)nb * c_in * hw + p0;
        const float *scale = ep && ep->in_scale ? ep->in_scale + (size_t)nb * c_in : NULL;
        size_t cs = hw;
        if (scale || p0 + (size_t)nq * CH > hw) { /* the tail or a prologue: copy into a tile */
            for (int c = 0; c < c_in; c++) {
                float *t = tile + (size_t)c * cs_tail;
                if (scale)
                    KFN(copy_scaled)(t, src + (size_t)c * hw, p1 - p0, scale[c]);
                else
                    memcpy(t, src + (size_t)c * hw, (p1 - p0) * sizeof(float));
                memset(t + (p1 - p0), 0, (cs_tail - (p1 - p0)) * sizeof(float));
            }
            src = tile;
            cs = cs_tail;
        }
        for (int qb0 = 0; qb0 < nq; qb0 += qb) {
            const int qb1 = qb0 + qb < nq ? qb0 + qb : nq;
            for (int c0 = 0; c0 < c_in; c0 += cb) {
                const int nc = c_in - c0 < cb ? c_in - c0 : cb;
                KFN(block_products)(src + (size_t)c0 * cs, cs, nc,
                                    cw->packed + (size_t)c0 * CONV_PACK_O,
                                    (size_t)c_in * CONV_PACK_O, CONV_PACK_O, 0, 1, KFN(k1_zero),
                                    KFN(k1_zero), KFN(k1_zero), ob0, ob1, qb0, qb1, c_out, otile,
                                    ot, c0 > 0);
            }
            const size_t q0 = p0 + (size_t)qb0 * CH;
            const size_t q1 = p0 + (size_t)qb1 * CH < p1 ? p0 + (size_t)qb1 * CH : p1;
            const int o_end = ob1 * CONV_PACK_O < c_out ? ob1 * CONV_PACK_O : c_out;
            for (int o = ob0 * CONV_PACK_O; o < o_end; o++) {
                epi_row_t e = epi_row_for(ep, nb, c_out, o);
                e.noise = ep && ep->noise ? ep->noise + q0 : NULL;
                KFN(epi_store)(otile + (size_t)(o - ob0 * CONV_PACK_O) * ot,
                               out + ((size_t)nb * c_out + o) * hw + q0, (int)(q1 - q0), &e);
            }
        }
    }
    sal_free_aligned(owned);
    return 0;
}

/* The direct conv2d's plan (3x3: one shared zero column, halo 2 rows). */
static conv_plan_t KFN(plan3x3)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    const int pad = cw->k / 2;
    return KFN(plan)(n, h, w + pad, cw->c_in, cw->c_out, 2 * pad, cw->k * cw->k, 1, CONV_CB,
                     nthr);
}

size_t KFN(conv2d_fast_scratch)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    if (cw->k == 1) return KFN(slices)(nthr, KFN(plan1x1)(n, (size_t)h * w, cw->c_in, cw->c_out, nthr).per_thread);
    return KFN(slices)(nthr, KFN(plan3x3)(cw, n, h, w, nthr).per_thread);
}

int KFN(conv2d_fast)(const conv_weights_t *cw, const float *in, float *out, int n, int h,
                     int w, const conv_epilogue_t *ep, const conv_ws_t *ws) {
    if (cw->k == 1) return KFN(conv1x1_fast)(cw, in, out, n, h, w, ep, ws);
    const int k = cw->k, pad = k / 2, c_in = cw->c_in, c_out = cw->c_out;
    const int taps = k * k, halo = 2 * pad;
    const int wp = w + pad; /* one shared zero column for 3x3 */
    const int nthr = threads_get();
    const conv_plan_t p = KFN(plan3x3)(cw, n, h, w, nthr);
    const size_t wcs = (size_t)taps * CONV_PACK_O; /* packed floats per input channel */
    float *owned, *buf = conv_ws_take(ws, KFN(slices)(nthr, p.per_thread), &owned);
    if (!buf) return -1;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) \
    if ((double)n * h * w * c_in * c_out * taps >= PAR_MIN_MACS)
    for (int task = 0; task < p.ntasks; task++) {
        float *tile = buf + (size_t)thread_index() * p.per_thread;
        float *otile = tile + (size_t)c_in * p.cs; /* (ob1-ob0, 8, qb*CH) raw sums */
        const int g = task % p.groups, ti = (task / p.groups) % p.ntiles;
        const int nb = task / p.groups / p.ntiles;
        const int y0 = ti * p.R, reff = h - y0 < p.R ? h - y0 : p.R;
        const size_t lanes = (size_t)reff * wp; /* flat positions with outputs */
        const int nq = (int)((lanes + CH - 1) / CH);
        const int ob0 = g * p.nob / p.groups, ob1 = (g + 1) * p.nob / p.groups;
        KFN(fill_tile)(tile, p.cs, in + (size_t)nb * c_in * h * w,
                       ep && ep->in_scale ? ep->in_scale + (size_t)nb * c_in : NULL, c_in, h, w,
                       wp, pad, y0 - pad, p.rows, reff + halo);
        for (int qb0 = 0; qb0 < nq; qb0 += p.qb) {
            const int qb1 = qb0 + p.qb < nq ? qb0 + p.qb : nq;
            for (int c0 = 0; c0 < c_in; c0 += p.cb) {
                const int nc = c_in - c0 < p.cb ? c_in - c0 : p.cb;
                const float *tc = tile + (size_t)c0 * p.cs, *wblk = cw->packed + (size_t)c0 * wcs;
                if (taps == 9) /* (a call per tap count: the microkernel unrolls its taps) */
                    KFN(block_products)(tc, p.cs, nc, wblk, (size_t)c_in * wcs, (int)wcs, wp, 9,
                                        KFN(k3_row), KFN(k3_col), KFN(k3_idx), ob0, ob1, qb0,
                                        qb1, c_out, otile, p.ot, c0 > 0);
                else
                    KFN(block_products)(tc, p.cs, nc, wblk, (size_t)c_in * wcs, (int)wcs, wp, 1,
                                        KFN(k1_zero), KFN(k1_zero), KFN(k1_zero), ob0, ob1, qb0,
                                        qb1, c_out, otile, p.ot, c0 > 0);
            }
            /* epilogue: the block's flat positions q, row by row (x < w only) */
            const size_t q0 = (size_t)qb0 * CH;
            const size_t q1 = (size_t)qb1 * CH < lanes ? (size_t)qb1 * CH : lanes;
            const int o_end = ob1 * CONV_PACK_O < c_out ? ob1 * CONV_PACK_O : c_out;
            for (int o = ob0 * CONV_PACK_O; o < o_end; o++) {
                epi_row_t e = epi_row_for(ep, nb, c_out, o);
                const float *src = otile + (size_t)(o - ob0 * CONV_PACK_O) * p.ot - q0;
                for (size_t q = q0; q < q1;) {
                    const int r = (int)(q / (size_t)wp), x = (int)(q % (size_t)wp);
                    const size_t seg_end = (size_t)(r + 1) * wp < q1 ? (size_t)(r + 1) * wp : q1;
                    const int x_end = (int)(seg_end - (size_t)r * wp) < w ? (int)(seg_end - (size_t)r * wp) : w;
                    if (x < x_end) {
                        e.noise = ep && ep->noise ? ep->noise + (size_t)(y0 + r) * w + x : NULL;
                        KFN(epi_store)(src + q, out + (((size_t)nb * c_out + o) * h + y0 + r) * w + x,
                                       x_end - x, &e);
                    }
                    q = seg_end;
                }
            }
        }
    }
    sal_free_aligned(owned);
    return 0;
}

/* Writes class lanes b = b0..b1-1 of one output row pair: dst[2b] = ev[b - b0]
 * and, for b < no, dst[2b+1] = od[b - b0]. */
static void KFN(interleave)(float *dst, const float *ev, const float *od, int b0, int b1,
                            int no) {
    int b = b0;
#ifdef VZIP
    /* VZIP(e, o, lo, hi): lo = e0 o0 e1 o1 ..., hi = the second half */
    const int bv = b1 < no ? b1 : no;
    for (; b + V <= bv; b += V) {
        VF lo, hi;
        VZIP(VLOAD(ev + (b - b0)), VLOAD(od + (b - b0)), lo, hi);
        VSTORE(dst + 2 * b, lo);
        VSTORE(dst + 2 * b + V, hi);
    }
#endif
    for (; b < b1 && b < no; b++) {
        dst[2 * b] = ev[b - b0];
        dst[2 * b + 1] = od[b - b0];
    }
    for (; b < b1; b++) dst[2 * b] = ev[b - b0];
}

/* The transposed conv's plan: class rows a = 0..h; a tile holds input rows
 * a0-1 .. a0+R-1; four raw-sum class tiles. */
static conv_plan_t KFN(plan_t3s2)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    return KFN(plan)(n, h + 1, w + 1, cw->c_in, cw->c_out, 1, 9, 4, CONV_CB_T, nthr);
}

size_t KFN(conv_t3s2_fast_scratch)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    return KFN(slices)(nthr, KFN(plan_t3s2)(cw, n, h, w, nthr).per_thread);
}

int KFN(conv_t3s2_fast)(const conv_weights_t *cw, const float *in, const float *in_scale,
                        float *out, int n, int h, int w, const conv_ws_t *ws) {
    const int c_in = cw->c_in, c_out = cw->c_out;
    const int wp = w + 1, ho = 2 * h + 1, wo = 2 * w + 1;
    const int nthr = threads_get();
    const conv_plan_t p = KFN(plan_t3s2)(cw, n, h, w, nthr);
    const size_t wcs = 9 * CONV_PACK_O;
    float *owned, *buf = conv_ws_take(ws, KFN(slices)(nthr, p.per_thread), &owned);
    if (!buf) return -1;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) \
    if ((double)n * h * w * c_in * c_out * 9 >= PAR_MIN_MACS)
    for (int task = 0; task < p.ntasks; task++) {
        float *tile = buf + (size_t)thread_index() * p.per_thread;
        const int g = task % p.groups, ti = (task / p.groups) % p.ntiles;
        const int nb = task / p.groups / p.ntiles;
        const int a0 = ti * p.R, reff = h + 1 - a0 < p.R ? h + 1 - a0 : p.R;
        const size_t lanes = (size_t)reff * wp; /* every class lane b = 0..w is an output */
        const int nq = (int)((lanes + CH - 1) / CH);
        const int ob0 = g * p.nob / p.groups, ob1 = (g + 1) * p.nob / p.groups;
        /* class tiles (4, ob1-ob0, 8, qb*CH): even/even, even/odd, odd/even, odd/odd */
        const size_t cls = (size_t)(ob1 - ob0) * CONV_PACK_O * p.ot;
        float *ee = tile + (size_t)c_in * p.cs, *eo = ee + cls, *oe = eo + cls, *oo = oe + cls;
        KFN(fill_tile)(tile, p.cs, in + (size_t)nb * c_in * h * w,
                       in_scale ? in_scale + (size_t)nb * c_in : NULL, c_in, h, w, wp, 1, a0 - 1,
                       p.rows, reff + 1);
        for (int qb0 = 0; qb0 < nq; qb0 += p.qb) {
            const int qb1 = qb0 + p.qb < nq ? qb0 + p.qb : nq;
            for (int c0 = 0; c0 < c_in; c0 += p.cb) {
                const int nc = c_in - c0 < p.cb ? c_in - c0 : p.cb;
                const float *tc = tile + (size_t)c0 * p.cs;
                const int acc = c0 > 0;
                for (int ob = ob0; ob < ob1; ob++)
                    for (int qc = qb0; qc < qb1; qc++)
                        for (int sub = 0; sub < CONV_PACK_O / MK_O; sub++) {
                            if (ob * CONV_PACK_O + sub * MK_O >= c_out) break;
                            const float *ws =
                                cw->packed + ((size_t)ob * c_in + c0) * wcs + sub * MK_O;
                            const size_t q = (size_t)((ob - ob0) * CONV_PACK_O + sub * MK_O) * p.ot +
                                             (size_t)(qc - qb0) * CH;
                            const float *t = tc + (size_t)qc * CH;
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
            /* scatter the block's class lanes q = r*wp + b into output rows 2a, 2a+1 */
            const size_t q0 = (size_t)qb0 * CH;
            const size_t q1 = (size_t)qb1 * CH < lanes ? (size_t)qb1 * CH : lanes;
            const int o_end = ob1 * CONV_PACK_O < c_out ? ob1 * CONV_PACK_O : c_out;
            for (int o = ob0 * CONV_PACK_O; o < o_end; o++) {
                float *plane = out + ((size_t)nb * c_out + o) * ho * wo;
                const size_t oc = (size_t)(o - ob0 * CONV_PACK_O) * p.ot - q0;
                for (size_t q = q0; q < q1;) {
                    const int r = (int)(q / (size_t)wp), b = (int)(q % (size_t)wp);
                    const size_t seg_end = (size_t)(r + 1) * wp < q1 ? (size_t)(r + 1) * wp : q1;
                    const int b_end = (int)(seg_end - (size_t)r * wp);
                    const int a = a0 + r;
                    KFN(interleave)(plane + (size_t)(2 * a) * wo, ee + oc + q, eo + oc + q, b,
                                    b_end, w);
                    if (a < h)
                        KFN(interleave)(plane + (size_t)(2 * a + 1) * wo, oe + oc + q,
                                        oo + oc + q, b, b_end, w);
                    q = seg_end;
                }
            }
        }
    }
    sal_free_aligned(owned);
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

size_t KFN(fir4x4_fast_scratch)(int n, int c, int h2p1, int w2p1, int nthr) {
    (void)n, (void)c, (void)h2p1;
    /* 4 ring rows, a zero row, the output row, of round16(wo) floats */
    return KFN(slices)(nthr, 6 * KFN(round16)((size_t)(w2p1 - 1)));
}

int KFN(fir4x4_fast)(const float *in, float *out, int n, int c, int h2p1, int w2p1,
                     const float f[4], float gain, const conv_epilogue_t *ep,
                     const conv_ws_t *ws) {
    const int ho = h2p1 - 1, wo = w2p1 - 1, planes = n * c;
    const size_t rl = KFN(round16)((size_t)wo);
    const size_t per_thread = 6 * rl; /* 4 ring rows, a zero row, the output row */
    const int nthr = threads_get();
    float *owned, *buf = conv_ws_take(ws, KFN(fir4x4_fast_scratch)(n, c, h2p1, w2p1, nthr), &owned);
    if (!buf) return -1;
    const VF g = VSET1(gain), f0 = VSET1(f[0]), f1 = VSET1(f[1]), f2 = VSET1(f[2]),
             f3 = VSET1(f[3]);

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) \
    if ((double)planes * ho * wo * 8 >= PAR_MIN_MACS)
    for (int p = 0; p < planes; p++) {
        float *ring = buf + (size_t)thread_index() * per_thread;
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
    sal_free_aligned(owned);
    return 0;
}

/* ## The stride-2 3x3 convolution (conv2d_s2_3x3, the transposed conv's adjoint)
 *
 *   out[i,j] = sum_c  w00 ee[i,j] + w02 ee[i,j+1] + w20 ee[i+1,j] + w22 ee[i+1,j+1]
 *                   + w01 eo[i,j] + w21 eo[i+1,j] + w10 oe[i,j] + w12 oe[i,j+1] + w11 oo[i,j]
 *
 * with the input's parity classes ee[a,b] = in[2a,2b], eo[a,b] = in[2a,2b+1],
 * oe[a,b] = in[2a+1,2b], oo[a,b] = in[2a+1,2b+1]. A task gathers the class
 * rows a0 .. a0+R of its input channels into a tile (four class planes per
 * channel, rows wp = W+1 floats apart, zero outside), so output (i0+r, j)
 * sits at flat q = r*wp + j of every class plane and the classes are the
 * microkernel with 4, 2, 2 and 1 taps at offsets 0, 1, wp, wp+1, all summed
 * into one raw-sum tile. 9 MACs per output value and input channel. */
#ifndef S2_CB
#define S2_CB (4 * CONV_CB_T) /* class planes per L1 block (conv2d_s2_3x3): 32 channels */
#endif
static const int KFN(s2ee_row)[4] = {0, 0, 1, 1}, KFN(s2ee_col)[4] = {0, 1, 0, 1},
                 KFN(s2ee_idx)[4] = {0, 2, 6, 8};
static const int KFN(s2eo_row)[2] = {0, 1}, KFN(s2eo_col)[2] = {0, 0}, KFN(s2eo_idx)[2] = {1, 7};
static const int KFN(s2oe_row)[2] = {0, 0}, KFN(s2oe_col)[2] = {0, 1}, KFN(s2oe_idx)[2] = {3, 5};
static const int KFN(s2oo_row)[1] = {0}, KFN(s2oo_col)[1] = {0}, KFN(s2oo_idx)[1] = {4};

/* One input row (wi = 2W+1 floats) split into its even and odd columns:
 * ev[b] = row[2b] (b = 0..W), od[b] = row[2b+1] (b < W, od[W] = 0), scaled. */
static void KFN(split_row)(const float *row, int wi, float *ev, float *od, int scaled, float s) {
    const int no = wi / 2;
    if (scaled) {
        for (int b = 0; b < no; b++) {
            ev[b] = row[2 * b] * s;
            od[b] = row[2 * b + 1] * s;
        }
        ev[no] = row[2 * no] * s;
    } else {
        for (int b = 0; b < no; b++) {
            ev[b] = row[2 * b];
            od[b] = row[2 * b + 1];
        }
        ev[no] = row[2 * no];
    }
    od[no] = 0.0f;
}

/* Class rows a_first .. a_first+rows-1 of one input plane (hi x wi, hi = 2H+1,
 * wi = 2W+1) into the four class planes t + k*cs (k = 2 py + px; rows of wp =
 * W+1 floats; zero rows where 2a+py >= hi), scaled. */
static void KFN(fill_classes)(float *t, size_t cs, const float *src, int hi, int wi, int wp,
                              int a_first, int rows, int scaled, float s) {
    for (int r = 0; r < rows; r++)
        for (int py = 0; py < 2; py++) {
            float *ev = t + (size_t)(2 * py) * cs + (size_t)r * wp, *od = ev + cs;
            const int y = 2 * (a_first + r) + py;
            if (y >= hi) {
                memset(ev, 0, (size_t)wp * sizeof(float));
                memset(od, 0, (size_t)wp * sizeof(float));
            } else {
                KFN(split_row)(src + (size_t)y * wi, wi, ev, od, scaled, s);
            }
        }
}

/* The plan sees 4 class planes per input channel with ~9/4 taps each. */
static conv_plan_t KFN(plan_s2)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    return KFN(plan)(n, h, w + 1, 4 * cw->c_in, cw->c_out, 1, 3, 1, S2_CB, nthr);
}

size_t KFN(conv_s2_fast_scratch)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    return KFN(slices)(nthr, KFN(plan_s2)(cw, n, h, w, nthr).per_thread);
}

int KFN(conv_s2_fast)(const conv_weights_t *cw, const float *in, float *out, int n, int h,
                      int w, const conv_epilogue_t *ep, const conv_ws_t *ws) {
    const int c_in = cw->c_in, c_out = cw->c_out, hi = 2 * h + 1, wi = 2 * w + 1;
    const int wp = w + 1;
    const int nthr = threads_get();
    const conv_plan_t p = KFN(plan_s2)(cw, n, h, w, nthr);
    const int cbc = p.cb / 4 > 0 ? p.cb / 4 : 1; /* input channels per L1 block */
    const size_t wcs = 9 * CONV_PACK_O;
    float *owned, *buf = conv_ws_take(ws, KFN(slices)(nthr, p.per_thread), &owned);
    if (!buf) return -1;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) \
    if ((double)n * h * w * c_in * c_out * 9 >= PAR_MIN_MACS)
    for (int task = 0; task < p.ntasks; task++) {
        float *tile = buf + (size_t)thread_index() * p.per_thread; /* (c_in, 4, cs) */
        float *otile = tile + (size_t)4 * c_in * p.cs;
        const int g = task % p.groups, ti = (task / p.groups) % p.ntiles;
        const int nb = task / p.groups / p.ntiles;
        const int y0 = ti * p.R, reff = h - y0 < p.R ? h - y0 : p.R;
        const size_t lanes = (size_t)reff * wp;
        const int nq = (int)((lanes + CH - 1) / CH);
        const int ob0 = g * p.nob / p.groups, ob1 = (g + 1) * p.nob / p.groups;
        const float *scale = ep && ep->in_scale ? ep->in_scale + (size_t)nb * c_in : NULL;
        for (int c = 0; c < c_in; c++) {
            const float *src = in + ((size_t)nb * c_in + c) * hi * wi;
            float *t = tile + (size_t)c * 4 * p.cs;
            KFN(fill_classes)(t, p.cs, src, hi, wi, wp, y0, reff + 1, scale != NULL,
                              scale ? scale[c] : 1.0f);
            const size_t used = (size_t)(reff + 1) * wp;
            for (int k = 0; k < 4; k++)
                memset(t + (size_t)k * p.cs + used, 0, (p.cs - used) * sizeof(float));
        }
        for (int qb0 = 0; qb0 < nq; qb0 += p.qb) {
            const int qb1 = qb0 + p.qb < nq ? qb0 + p.qb : nq;
            for (int c0 = 0; c0 < c_in; c0 += cbc) {
                const int nc = c_in - c0 < cbc ? c_in - c0 : cbc;
                const float *tc = tile + (size_t)c0 * 4 * p.cs;
                const size_t ccs = 4 * p.cs; /* channel stride in the tile */
                for (int ob = ob0; ob < ob1; ob++)
                    for (int qc = qb0; qc < qb1; qc++)
                        for (int sub = 0; sub < CONV_PACK_O / MK_O; sub++) {
                            if (ob * CONV_PACK_O + sub * MK_O >= c_out) break;
                            const float *ws =
                                cw->packed + ((size_t)ob * c_in + c0) * wcs + sub * MK_O;
                            float *dst = otile +
                                         (size_t)((ob - ob0) * CONV_PACK_O + sub * MK_O) * p.ot +
                                         (size_t)(qc - qb0) * CH;
                            const float *t = tc + (size_t)qc * CH;
                            KFN(mk)(t, ccs, nc, ws, (int)wcs, wp, 4, KFN(s2ee_row), KFN(s2ee_col),
                                    KFN(s2ee_idx), dst, p.ot, c0 > 0);
                            KFN(mk)(t + p.cs, ccs, nc, ws, (int)wcs, wp, 2, KFN(s2eo_row),
                                    KFN(s2eo_col), KFN(s2eo_idx), dst, p.ot, 1);
                            KFN(mk)(t + 2 * p.cs, ccs, nc, ws, (int)wcs, wp, 2, KFN(s2oe_row),
                                    KFN(s2oe_col), KFN(s2oe_idx), dst, p.ot, 1);
                            KFN(mk)(t + 3 * p.cs, ccs, nc, ws, (int)wcs, wp, 1, KFN(s2oo_row),
                                    KFN(s2oo_col), KFN(s2oo_idx), dst, p.ot, 1);
                        }
            }
            /* epilogue: the block's flat positions q, row by row (j < w only) */
            const size_t q0 = (size_t)qb0 * CH;
            const size_t q1 = (size_t)qb1 * CH < lanes ? (size_t)qb1 * CH : lanes;
            const int o_end = ob1 * CONV_PACK_O < c_out ? ob1 * CONV_PACK_O : c_out;
            for (int o = ob0 * CONV_PACK_O; o < o_end; o++) {
                epi_row_t e = epi_row_for(ep, nb, c_out, o);
                const float *src = otile + (size_t)(o - ob0 * CONV_PACK_O) * p.ot - q0;
                for (size_t q = q0; q < q1;) {
                    const int r = (int)(q / (size_t)wp), x = (int)(q % (size_t)wp);
                    const size_t seg_end = (size_t)(r + 1) * wp < q1 ? (size_t)(r + 1) * wp : q1;
                    const int xe = (int)(seg_end - (size_t)r * wp);
                    const int x_end = xe < w ? xe : w;
                    if (x < x_end) {
                        e.noise = ep && ep->noise ? ep->noise + (size_t)(y0 + r) * w + x : NULL;
                        KFN(epi_store)(src + q, out + (((size_t)nb * c_out + o) * h + y0 + r) * w + x,
                                       x_end - x, &e);
                    }
                    q = seg_end;
                }
            }
        }
    }
    sal_free_aligned(owned);
    return 0;
}

/* ## The full 4x4 FIR (fir4x4_up_pad2, the adjoint of fir4x4_down_pad1):
 * separable like fir4x4_fast: d[X] = sum_b f[b] s[X+b-2] per input row into a
 * ring of 4 rows, then out row Y = gain * sum_a f[a] d_{Y+a-2}. */
static void KFN(fir_row_full)(const float *s, float *d, int ns, const float f[4]) {
    const int wo = ns + 1;
    const VF f0 = VSET1(f[0]), f1 = VSET1(f[1]), f2 = VSET1(f[2]), f3 = VSET1(f[3]);
    int x = 0;
    for (; x < wo && x < 2; x++) d[x] = KFN(fir_tap4)(s, ns, x - 1, f);
    for (; x + V + 1 <= ns; x += V) { /* reads s[x-2 .. x+V], all inside */
        VF acc = VMUL(f0, VLOAD(s + x - 2));
        acc = VFMA(f1, VLOAD(s + x - 1), acc);
        acc = VFMA(f2, VLOAD(s + x), acc);
        acc = VFMA(f3, VLOAD(s + x + 1), acc);
        VSTORE(d + x, acc);
    }
    for (; x < wo; x++) d[x] = KFN(fir_tap4)(s, ns, x - 1, f);
}

size_t KFN(fir4x4_up_fast_scratch)(int planes, int h, int w, int nthr) {
    (void)planes, (void)h;
    return KFN(slices)(nthr, 5 * KFN(round16)((size_t)w + 1)); /* 4 ring rows, a zero row */
}

int KFN(fir4x4_up_fast)(const float *in, float *out, int planes, int h, int w, const float f[4],
                        float gain, const conv_ws_t *ws) {
    const int ho = h + 1, wo = w + 1;
    const size_t rl = KFN(round16)((size_t)wo);
    const size_t per_thread = 5 * rl; /* 4 ring rows, a zero row */
    const int nthr = threads_get();
    float *owned, *buf = conv_ws_take(ws, KFN(fir4x4_up_fast_scratch)(planes, h, w, nthr), &owned);
    if (!buf) return -1;
    const VF g = VSET1(gain), f0 = VSET1(f[0]), f1 = VSET1(f[1]), f2 = VSET1(f[2]),
             f3 = VSET1(f[3]);

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) \
    if ((double)planes * ho * wo * 8 >= PAR_MIN_MACS)
    for (int p = 0; p < planes; p++) {
        float *ring = buf + (size_t)thread_index() * per_thread;
        float *zero = ring + 4 * rl;
        memset(zero, 0, rl * sizeof(float));
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * ho * wo;
        int next = 0; /* next input row to filter horizontally */
        for (int y = 0; y < ho; y++) {
            /* input rows y-2 .. y+1 live in ring slots row & 3 */
            for (; next <= y + 1 && next < h; next++)
                KFN(fir_row_full)(src + (size_t)next * w, ring + (size_t)(next & 3) * rl, w, f);
            const float *hr[4];
            for (int a = 0; a < 4; a++) {
                int r = y + a - 2;
                hr[a] = r >= 0 && r < h ? ring + (size_t)(r & 3) * rl : zero;
            }
            float *d = dst + (size_t)y * wo;
            int x = 0;
            for (; x + V <= wo; x += V) {
                VF acc = VMUL(f0, VLOAD(hr[0] + x));
                acc = VFMA(f1, VLOAD(hr[1] + x), acc);
                acc = VFMA(f2, VLOAD(hr[2] + x), acc);
                acc = VFMA(f3, VLOAD(hr[3] + x), acc);
                VSTORE(d + x, VMUL(acc, g));
            }
            for (; x < wo; x++)
                d[x] = (f[0] * hr[0][x] + f[1] * hr[1][x] + f[2] * hr[2][x] + f[3] * hr[3][x]) *
                       gain;
        }
    }
    sal_free_aligned(owned);
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

/* The fast mode's Winograd convs: use mk, epi_store and plan_groups above. */
#include "winograd_simd_body.h"
#include "winograd_t_simd_body.h"

#undef CH
#undef S2_CB
#undef TILE_BUDGET
#undef L1_BUDGET
#undef BIG_WEIGHTS
#undef BIG_L1_SCALE
#undef PAR_MIN_MACS
#undef MK_INLINE
#ifdef CONV_OWN_DEINT
#undef CONV_OWN_DEINT
#undef VDEINT4
#undef VINT4
#endif

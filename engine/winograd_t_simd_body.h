/* winograd_t_simd_body.h — fast mode's stride-2 transposed 3x3 conv: its four
 * parity classes with Winograd F(4,2) (see winograd.h for the equations),
 * written once for any vector width.
 *
 * Not a normal header: included at the end of conv_simd_body.h (after
 * winograd_simd_body.h), so it uses that file's vocabulary (VF, V, CH, KFN),
 * its microkernel KFN(mk), KFN(interleave) and KFN(plan_groups). It turns into
 * conv_t3s2_wino_<isa> (declared in conv_impl.h).
 *
 * The class grid (a = 0..H, b = 0..W) is cut into 4x4 blocks ("tiles",
 * numbered row-major (ty, tx)), tiles into blocks of TB consecutive ones (TB
 * a multiple of CH, chosen from the channel counts only, so results never
 * depend on the thread count). A task = (image, tile block, a range of
 * 8-channel output blocks). For its tile block a thread
 *
 *   1. per input channel c, with vectors over V tiles, reads the 5x5 patch D
 *      (rows 4ty-1 .. 4ty+3, columns 4tx-1 .. 4tx+3, scaled by in_scale) and
 *      writes its 81 transformed values into Vt, one region per weight point:
 *
 *        EE point p*5+q       (C_in, TB)       (B^T D B)[p][q]
 *        EO point 25+p        (C_in, 4, TB)    (B^T D)[p][1+j]       j = 0..3
 *        OE point 30+q        (C_in, 4, TB)    (D B)[1+i][q]         i = 0..3
 *        OO point 35          (C_in, 16, TB)   D[1+i][1+j]
 *
 *   2. per point k multiplies M[k] = U[k] Vt[k]: (C_out x C_in) x (C_in x
 *      TB * {1, 4, 16}) with the conv microkernel (1 tap, "channel stride"
 *      = the region's width);
 *   3. per output channel transforms back (EE = A^T M A, EO = A^T M, OE =
 *      M A, OO = M) and writes the four classes interleaved into output rows
 *      2a (EE, EO) and 2a+1 (OE, OO), dropping what falls outside the
 *      (2H+1) x (2W+1) plane.
 *
 * Each output value sums its input channels in order 0..C_in-1 in its own
 * lane: the same bits for any thread count and batch size.
 */

#define WT_NV 81 /* transformed values per tile and channel (25 + 20 + 20 + 16) */

/* Width of point k's region in units of TB lanes, and the units before it. */
static int KFN(wt_mult)(int k) { return k < WINO_T_EO ? 1 : k < WINO_T_OO ? 4 : 16; }
static size_t KFN(wt_pre)(int k) {
    return k <= WINO_T_EO ? (size_t)k : k <= WINO_T_OO ? 25 + 4 * (size_t)(k - WINO_T_EO) : 81;
}

/* The working set of a task, sized to stay in a core's L2 (~1 MiB):
 *   Vt for cb input channels  81 * cb * TB floats   (WT_VT_BUDGET)
 *   M for nog*8 output chans  81 * nog * 8 * TB      (WT_M_BUDGET)
 * TB = WT_TB_CH * CH tiles per block. All three come from the channel counts
 * and the ISA only; cb and the output groups only change the blocking, never
 * the order of any output's sum (the microkernel continues a sum exactly
 * where the previous channel block stored it). */
#ifndef WT_TB_CH
#define WT_TB_CH 1
#endif
#ifndef WT_VT_BUDGET
#define WT_VT_BUDGET ((size_t)256 * 1024)
#endif
#ifndef WT_M_BUDGET
#define WT_M_BUDGET ((size_t)512 * 1024)
#endif

/* z = B^T x for one column of 5 vectors:
 *   z0 = 2(x0 - x2) + (x3 - x1)   z1 = 2x1 + x2 - x3   z2 = 3x2 - 2x1 - x3
 *   z3 = x3 - x1                  z4 = 2(x1 - x3) + (x4 - x2)              */
#define WT_BT(x0, x1, x2, x3, x4, z)                                                    \
    do {                                                                                \
        const VF two_ = VSET1(2.0f), three_ = VSET1(3.0f);                              \
        const VF d31_ = VSUB(x3, x1);                                                   \
        (z)[0] = VFMA(two_, VSUB(x0, x2), d31_);                                        \
        (z)[1] = VSUB(VFMA(two_, x1, x2), x3);                                          \
        (z)[2] = VSUB(VMUL(three_, x2), VFMA(two_, x1, x3));                         \
        (z)[3] = d31_;                                                                  \
        (z)[4] = VFMA(two_, VSUB(x1, x3), VSUB(x4, x2));                                \
    } while (0)

/* y = A^T m for one column of 5 vectors:
 *   y0 = m0 + (m1 + m2) + m3   y1 = (m1 - m2) + 2 m3
 *   y2 = (m1 + m2) + 4 m3      y3 = (m1 - m2) + 8 m3 + m4                  */
#define WT_AT(m0, m1, m2, m3, m4, y)                                                    \
    do {                                                                                \
        const VF p12_ = VADD(m1, m2), d12_ = VSUB(m1, m2), m3_ = (m3);                  \
        (y)[0] = VADD(VADD(m0, p12_), m3_);                                             \
        (y)[1] = VFMA(VSET1(2.0f), m3_, d12_);                                          \
        (y)[2] = VFMA(VSET1(4.0f), m3_, p12_);                                          \
        (y)[3] = VADD(VFMA(VSET1(8.0f), m3_, d12_), m4);                                \
    } while (0)

/* WT_DEINT4(p, r0..r3): r_k[l] = p[4l + k]; WT_INT4(p, r0..r3): p[4l + k] =
 * r_k[l] (l = 0..V-1): the ISA's shuffles if it has them (VDEINT4 / VINT4),
 * else through a small array. */
#ifdef VDEINT4
#define WT_DEINT4 VDEINT4
#define WT_INT4 VINT4
#else
#define WT_DEINT4(p, r0, r1, r2, r3)                                                     \
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
#define WT_INT4(p, r0, r1, r2, r3)                                                       \
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

/* Strips: the patches of a tile block without edge cases.
 *
 * With Wq = 4 ntx, patch row i (0..4) of tile t = (ty, tx) is the stretch
 * of 5 floats at 4t + ... of the row strip
 *
 *     S_i[(ty - ty0) Wq + x'] = x[4 ty + i - 1, x' - 1]   (0 outside the image)
 *
 * (ty0: the block's first tile row). The tile rows of one strip follow each
 * other, so tile t's patch row is S_i[4 (t - ty0 ntx) + j], j = 0..4, for
 * every t: column j = 4 of a row's last tile is input column 4 ntx - 1 >= W,
 * zero, and so is column -1 of the next row, which it meets. And S_4 is S_0
 * one tile row on (x row 4 (ty+1) - 1). So V tiles side by side in the flat
 * numbering are always two de-interleaving loads per patch row, at the row
 * ends and across tile rows alike. A block only fills the stretch it reads:
 * S_i[4 tx0 .. 4 (tx0 + TB) + 4) (+ Wq for S_0), tx0 = its first tile's column.
 *
 * The output side is the same with 8 output columns per tile: output row
 * 2 (4 ty + i) + py, column 8 tx + c' is strip (i, py) at 8 (t - ty0 ntx) + c';
 * whole tile rows of a strip are then copied into the plane (clipped to the
 * (2H+1) x (2W+1) output). */

/* dst[lo .. hi) of strip i (row stride wq), x times scale if given. */
static void KFN(wt_fill_strip)(float *dst, const float *plane, int h, int w, int wq, int ty0,
                               int i, int lo, int hi, const float *scale) {
    for (int idx = lo; idx < hi;) {
        const int j = idx / wq, seg_end = (j + 1) * wq < hi ? (j + 1) * wq : hi;
        const int n = seg_end - idx, x_first = idx - j * wq - 1; // input column of dst[idx]
        const int y = 4 * (ty0 + j) + i - 1;
        float *d = dst + idx;
        if (y < 0 || y >= h) {
            memset(d, 0, (size_t)n * sizeof(float));
        } else {
            int k0 = x_first < 0 ? -x_first : 0, k1 = w - x_first < n ? w - x_first : n;
            k0 = k0 > n ? n : k0;
            k1 = k1 < k0 ? k0 : k1;
            for (int k = 0; k < k0; k++) d[k] = 0.0f;
            const float *src = plane + (size_t)y * w + x_first;
            if (scale) KFN(copy_scaled)(d + k0, src + k0, (size_t)(k1 - k0), *scale);
            else memcpy(d + k0, src + k0, (size_t)(k1 - k0) * sizeof(float));
            for (int k = k1; k < n; k++) d[k] = 0.0f;
        }
        idx = seg_end;
    }
}

/* 1. One input channel of a block: the strips S_0..S_3 (each qlen floats at
 *    st), then for each group of V tiles the 5x5 patches D by de-interleaving
 *    loads, transformed into the 81 values (layout above). vt points at
 *    channel 0; a channel's 81 x TB values are contiguous (layout above). */
static void KFN(wt_in)(const float *plane, int h, int w, int ntx, int ty0, int tx0, int tb,
                       float *st, size_t qlen, float *vt, int c,
                       const float *scale) {
    const int wq = 4 * ntx, lo = 4 * tx0, hi = 4 * (tx0 + tb) + 4;
    #pragma GCC unroll 5
    for (int i = 0; i < 4; i++)
        KFN(wt_fill_strip)(st + (size_t)i * qlen, plane, h, w, wq, ty0, i, lo,
                           i == 0 ? hi + wq : hi, scale);
    float *pt[WINO_T_POINTS]; /* channel c's row of each point region */
    for (int k = 0; k < WINO_T_POINTS; k++)
        pt[k] = vt + ((size_t)c * WT_NV + KFN(wt_pre)(k)) * tb;
    for (int l = 0; l < tb; l += V) {
        VF x[5][5]; // x[i][j][lane] = D[i][j] of tile l + lane
        const size_t at = (size_t)4 * (tx0 + l);
        #pragma GCC unroll 5
        for (int i = 0; i < 5; i++) {
            const float *p = i < 4 ? st + (size_t)i * qlen + at : st + wq + at;
            VF u1, u2, u3;
            WT_DEINT4(p, x[i][0], x[i][1], x[i][2], x[i][3]);
            WT_DEINT4(p + 4, x[i][4], u1, u2, u3);
            (void)u1;
            (void)u2;
            (void)u3;
        }
        VF t[5][5]; // t[i][q] = (D B)[i][q]
        #pragma GCC unroll 5
        for (int i = 0; i < 5; i++) WT_BT(x[i][0], x[i][1], x[i][2], x[i][3], x[i][4], t[i]);
        #pragma GCC unroll 5
        for (int q = 0; q < 5; q++) {
            VF z[5]; // z[p] = (B^T D B)[p][q]
            WT_BT(t[0][q], t[1][q], t[2][q], t[3][q], t[4][q], z);
            #pragma GCC unroll 5
            for (int p = 0; p < 5; p++) VSTORE(pt[WINO_T_EE + p * 5 + q] + l, z[p]);
            // odd/even: rows 1..4 of D B
            #pragma GCC unroll 5
            for (int i = 0; i < 4; i++) VSTORE(pt[WINO_T_OE + q] + (size_t)i * tb + l, t[1 + i][q]);
        }
        #pragma GCC unroll 5
        for (int j = 0; j < 4; j++) {
            VF z[5]; // z[p] = (B^T D)[p][1+j]  (even/odd)
            WT_BT(x[0][1 + j], x[1][1 + j], x[2][1 + j], x[3][1 + j], x[4][1 + j], z);
            #pragma GCC unroll 5
            for (int p = 0; p < 5; p++) VSTORE(pt[WINO_T_EO + p] + (size_t)j * tb + l, z[p]);
            #pragma GCC unroll 5
            for (int i = 0; i < 4; i++) // odd/odd: D[1+i][1+j] as it is
                VSTORE(pt[WINO_T_OO] + (size_t)(i * 4 + j) * tb + l, x[1 + i][1 + j]);
        }
    }
}

/* 3. One output channel of a block: for each group of V tiles the four 4x4
 *    class blocks (EE = A^T M A, EO = A^T M, OE = M A, OO = M; m points at
 *    point 0's region, cout_tb = the regions' channel count x TB) into the 8
 *    output strips (i, py) (slen floats each at st; eb, obuf: 4V floats
 *    each), then the block's tiles [t0, t1) from the strips into the plane
 *    (2h+1, 2w+1). */
static void KFN(wt_out)(const float *m, size_t cout_tb, int o_loc, int ntx, int t0, int t1,
                        int tb, int h, int w, float *plane, float *st, size_t slen, float *eb,
                        float *obuf) {
    const float *pt[WINO_T_POINTS];
    for (int k = 0; k < WINO_T_POINTS; k++)
        pt[k] = m + KFN(wt_pre)(k) * cout_tb + (size_t)k * 16 +
                (size_t)o_loc * KFN(wt_mult)(k) * tb;
    const int ty0 = t0 / ntx, tx0 = t0 % ntx;
    for (int l = 0; l < t1 - t0; l += V) {
        VF cl[4][4][4]; // cl[class][i][j]: EE, EO, OE, OO
        {
            VF s[4][5]; // s[i][q] = (A^T M)[i][q]
            #pragma GCC unroll 5
            for (int q = 0; q < 5; q++) {
                VF z[4];
                WT_AT(VLOAD(pt[q] + l), VLOAD(pt[5 + q] + l), VLOAD(pt[10 + q] + l),
                      VLOAD(pt[15 + q] + l), VLOAD(pt[20 + q] + l), z);
                #pragma GCC unroll 5
                for (int i = 0; i < 4; i++) s[i][q] = z[i];
            }
            #pragma GCC unroll 5
            for (int i = 0; i < 4; i++) WT_AT(s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], cl[0][i]);
        }
        #pragma GCC unroll 5
        for (int j = 0; j < 4; j++) { // EO column j = A^T M[:, j]
            const size_t lj = (size_t)j * tb + l;
            VF z[4];
            WT_AT(VLOAD(pt[WINO_T_EO] + lj), VLOAD(pt[WINO_T_EO + 1] + lj),
                  VLOAD(pt[WINO_T_EO + 2] + lj), VLOAD(pt[WINO_T_EO + 3] + lj),
                  VLOAD(pt[WINO_T_EO + 4] + lj), z);
            #pragma GCC unroll 5
            for (int i = 0; i < 4; i++) cl[1][i][j] = z[i];
        }
        #pragma GCC unroll 5
        for (int i = 0; i < 4; i++) { // OE row i = M[i, :] A
            const size_t li = (size_t)i * tb + l;
            WT_AT(VLOAD(pt[WINO_T_OE] + li), VLOAD(pt[WINO_T_OE + 1] + li),
                  VLOAD(pt[WINO_T_OE + 2] + li), VLOAD(pt[WINO_T_OE + 3] + li),
                  VLOAD(pt[WINO_T_OE + 4] + li), cl[2][i]);
            #pragma GCC unroll 5
            for (int j = 0; j < 4; j++)
                cl[3][i][j] = VLOAD(pt[WINO_T_OO] + (size_t)(i * 4 + j) * tb + l);
        }
        /* strip (i, py) gets class 2py (even column) and 2py+1 (odd column)
         * interleaved: strip[8 (tx0 + l + lane) + 2j + px] */
        const size_t at = (size_t)8 * (tx0 + l);
        #pragma GCC unroll 5
        for (int i = 0; i < 4; i++)
            #pragma GCC unroll 5
            for (int py = 0; py < 2; py++) {
                WT_INT4(eb, cl[2 * py][i][0], cl[2 * py][i][1], cl[2 * py][i][2], cl[2 * py][i][3]);
                WT_INT4(obuf, cl[2 * py + 1][i][0], cl[2 * py + 1][i][1], cl[2 * py + 1][i][2],
                        cl[2 * py + 1][i][3]);
                KFN(interleave)(st + (size_t)(i * 2 + py) * slen + at, eb, obuf, 0, 4 * V, 4 * V);
            }
    }
    /* the strips' tile rows into the plane: output rows 8 ty + 2i + py,
     * columns 8 txa .. 8 txb - 1 (clipped to wo) */
    const int ho = 2 * h + 1, wo = 2 * w + 1, ty1 = (t1 - 1) / ntx;
    for (int ty = ty0; ty <= ty1; ty++) {
        const int txa = ty == ty0 ? tx0 : 0, txb = ty == ty1 ? (t1 - 1) % ntx + 1 : ntx;
        const int xa = 8 * txa, xb = 8 * txb < wo ? 8 * txb : wo;
        const size_t so = (size_t)8 * (ty - ty0) * ntx; // strip index of column 0
        for (int r = 0; r < 8 && 8 * ty + r < ho; r++)
            memcpy(plane + (size_t)(8 * ty + r) * wo + xa, st + (size_t)r * slen + so + xa,
                   (size_t)(xb - xa) * sizeof(float));
    }
}

/* Returns 0 when done, 1 when not worth it (class grid under WT_MIN_POS
 * positions: few tiles, the 36 C_out x C_in transformed weights dominate;
 * the caller runs the direct kernel), -1 when out of memory. */
#ifndef WT_MIN_POS
#define WT_MIN_POS 64
#endif
int KFN(conv_t3s2_wino)(const conv_weights_t *cw, const float *in, const float *in_scale,
                        float *out, int n, int h, int w) {
    if (!cw->wino_t || cw->k != 3 || (size_t)(h + 1) * (w + 1) < WT_MIN_POS || h < 3 || w < 3)
        return 1;
    const int c_in = cw->c_in, c_out = cw->c_out;
    const int nob = (c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    const int tb = WT_TB_CH * CH;
    const size_t lane_bytes = (size_t)WT_NV * tb * sizeof(float); // one channel's values
    int cb = (int)(WT_VT_BUDGET / lane_bytes);
    cb = cb < 4 ? 4 : cb > c_in ? c_in : cb;
    int nog_max = (int)(WT_M_BUDGET / (lane_bytes * CONV_PACK_O));
    nog_max = nog_max < 1 ? 1 : nog_max;
    const int ntx = (w + 1 + 3) / 4, nty = (h + 1 + 3) / 4, ntile = ntx * nty;
    const int nblk = (ntile + tb - 1) / tb;
    const int nthr = KFN(max_threads)();
    int groups = KFN(plan_groups)(n * nblk, nob, nthr);
    if ((nob + groups - 1) / groups > nog_max) groups = (nob + nog_max - 1) / nog_max;
    const int ntasks = n * nblk * groups;
    const int nog = (nob + groups - 1) / groups; /* output blocks per group, at most */
    /* region sizes: 81 lane units of TB per channel, plus a cache line
     * between the 36 point regions (so they do not share cache sets) */
    const size_t cb_tb = (size_t)cb * tb, cout_tb = (size_t)nog * CONV_PACK_O * tb;
    const size_t vlen = (size_t)WT_NV * cb_tb;
    const size_t mlen = (size_t)WT_NV * cout_tb + 16 * WINO_T_POINTS;
    /* input strips S_0..S_3 (qlen each), output strips (8 x slen) */
    const size_t qlen = KFN(round16)((size_t)8 * ntx + 4 * (size_t)tb + 8);
    const size_t slen = KFN(round16)((size_t)8 * (ntx + tb));
    const size_t per_thread = KFN(round16)(vlen + mlen + 4 * qlen + 8 * slen + 8 * (size_t)V);
    float *buf = sal_alloc_aligned((size_t)nthr * per_thread * sizeof(float), 64);
    if (!buf) return -1;
    const int ho = 2 * h + 1, wo = 2 * w + 1;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr)
    for (int task = 0; task < ntasks; task++) {
        const int tid = KFN(thread_num)();
        float *vt = buf + (size_t)tid * per_thread; // 36 regions (cb, mult*TB)
        float *mt = vt + vlen;                        // 36 regions (nog*8, mult*TB)
        float *qs = mt + mlen;                        // 4 input strips
        float *os = qs + 4 * qlen;                    // 8 output strips
        float *eb = os + 8 * slen, *obuf = eb + 4 * (size_t)V;
        const int g = task % groups, bi = (task / groups) % nblk, nb = task / groups / nblk;
        const int ob0 = g * nob / groups, ob1 = (g + 1) * nob / groups;
        const int t0 = bi * tb, t1 = t0 + tb < ntile ? t0 + tb : ntile; // the block's tiles
        const int ty0 = t0 / ntx, tx0 = t0 % ntx, ty1 = (t1 - 1) / ntx;
        const float *img = in + (size_t)nb * c_in * h * w;
        /* the input rows and columns the block reads (prefetched a channel
         * ahead: too many short streams for the hardware prefetcher) */
        const int py0 = 4 * ty0 - 1 > 0 ? 4 * ty0 - 1 : 0, py1 = 4 * ty1 + 4 < h ? 4 * ty1 + 4 : h;
        const int px0 = ty0 == ty1 && 4 * tx0 - 1 > 0 ? 4 * tx0 - 1 : 0;
        const int px1 = ty0 == ty1 && 4 * ((t1 - 1) % ntx) + 4 < w ? 4 * ((t1 - 1) % ntx) + 4 : w;
        for (int c0 = 0; c0 < c_in; c0 += cb) {
            const int nc = c_in - c0 < cb ? c_in - c0 : cb;
            // 1. input transform of channels c0 .. c0+nc-1 (the next one prefetched)
            for (int c = c0; c < c0 + nc; c++) {
                if (c + 1 < c_in) {
                    const float *np = img + (size_t)(c + 1) * h * w;
                    for (int yy = py0; yy < py1; yy++)
                        for (int xx = px0; xx < px1 + 15; xx += 16)
                            __builtin_prefetch(np + (size_t)yy * w + (xx < px1 ? xx : px1 - 1), 0, 3);
                }
                KFN(wt_in)(img + (size_t)c * h * w, h, w, ntx, ty0, tx0, tb, qs, qlen, vt,
                           c - c0, in_scale ? in_scale + (size_t)nb * c_in + c : NULL);
            }
            // 2. the 36 products M[k] (+)= U[k] Vt[k]: (nog*8 x nc) x (nc x mult*TB)
            for (int k = 0; k < WINO_T_POINTS; k++) {
                const size_t width = (size_t)KFN(wt_mult)(k) * tb;
                const float *vk = vt + KFN(wt_pre)(k) * tb;
                float *mk_ = mt + KFN(wt_pre)(k) * cout_tb + (size_t)k * 16;
                for (int ob = ob0; ob < ob1; ob++)
                    for (size_t q = 0; q < width; q += CH)
                        for (int sub = 0; sub < CONV_PACK_O / MK_O; sub++) {
                            if (ob * CONV_PACK_O + sub * MK_O >= c_out) break;
                            const float *ws = cw->wino_t +
                                              (((size_t)k * nob + ob) * c_in + c0) * CONV_PACK_O +
                                              sub * MK_O;
                            float *dst = mk_ +
                                         (size_t)((ob - ob0) * CONV_PACK_O + sub * MK_O) * width + q;
                            KFN(mk)(vk + q, (size_t)WT_NV * tb, nc, ws, CONV_PACK_O, 0, 1, KFN(k1_zero),
                                    KFN(k1_zero), KFN(k1_zero), dst, width, c0 > 0);
                        }
            }
        }
        // 3. output transform per output channel
        const int o_end = ob1 * CONV_PACK_O < c_out ? ob1 * CONV_PACK_O : c_out;
        for (int o = ob0 * CONV_PACK_O; o < o_end; o++)
            KFN(wt_out)(mt, cout_tb, o - ob0 * CONV_PACK_O, ntx, t0, t1, tb, h, w,
                        out + ((size_t)nb * c_out + o) * ho * wo, os, slen, eb, obuf);
    }
    sal_free_aligned(buf);
    return 0;
}

#undef WT_NV
#undef WT_BT
#undef WT_AT
#undef WT_DEINT4
#undef WT_INT4
#undef WT_TB_CH
#undef WT_VT_BUDGET
#undef WT_M_BUDGET
#undef WT_MIN_POS

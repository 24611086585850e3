/* winograd_t_simd_body.h — fast mode's stride-2 transposed 3x3 conv: its four
 * parity classes with Winograd F(4,2) (see winograd.h for the equations),
 * written once for any vector width.
 *
 * Not a normal header: included at the end of conv_simd_body.h (after
 * winograd_simd_body.h), so it uses that file's vocabulary (VF, V, CH, KFN),
 * its microkernel KFN(mk), KFN(copy_scaled) and KFN(plan_groups). It turns into
 * conv_t3s2_wino_<isa> (declared in conv_impl.h).
 *
 * The class grid (a = 0..H, b = 0..W) is cut into 4x4 blocks ("tiles",
 * numbered row-major (ty, tx); a tile at the grid's end may stick out: its
 * outputs past the plane are dropped), tiles into blocks of TB = CH
 * consecutive ones. A task = (image, tile block, a group of 8-channel output
 * blocks). For its tile block a thread runs, per block of 32 input channels
 * (the weights' blocks, winograd.h):
 *
 *   1. per input channel c, with vectors over V tiles: the 5x5 patches D
 *      (rows 4ty-1 .. 4ty+3, columns 4tx-1 .. 4tx+3, times in_scale) from
 *      row strips (below), their 81 transformed values into Vt[c] (81, TB),
 *      lanes of point k starting at pre(k) * TB:
 *
 *        EE point p*5+q   (TB)      (B^T D B)[p][q]
 *        EO point 25+p    (4, TB)   (B^T D)[p][1+j]       j = 0..3
 *        OE point 30+q    (4, TB)   (D B)[1+i][q]         i = 0..3
 *        OO point 35      (16, TB)  D[1+i][1+j]           (i*4 + j, lane)
 *
 *   2. per point k the products M[k] += U[k] Vt[k]: (8 nog x 32) x (32 x
 *      TB * {1, 4, 16}) with the conv microkernel (1 tap, channel stride
 *      81 TB), M[k] (8 nog, mult(k) * TB) kept across the channel blocks;
 *
 * and then per output channel transforms back (EE = A^T M A, EO = A^T M,
 * OE = M A, OO = M) and writes the four classes interleaved into output rows
 * 2a (EE, EO) and 2a+1 (OE, OO).
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

/* The working set of a task:
 *   Vt for cb = 32 input channels    81 * 32 * TB floats  (the weights' blocks)
 *   M for 8 nog output channels      81 * 8 nog * TB      (<= WT_M_BUDGET bytes)
 * with TB = WT_TB_CH * CH tiles per block (1 x CH measured best). M is larger
 * than the development machine's 512 KiB L2, yet 1 MiB measured faster than
 * 256 or 512 KiB (fewer output groups, each input transform shared by more
 * output channels): 512->256@64 2 threads, best of 6, 50 vs 54 / 63 ms. Lanes never
 * mix, and the microkernel continues a sum exactly where the previous
 * channel block stored it, so the blocking (TB, cb, output groups) never
 * changes the order of any output's sum. */
#ifndef WT_TB_CH
#define WT_TB_CH 1
#endif
#ifndef WT_M_BUDGET
#define WT_M_BUDGET ((size_t)1024 * 1024)
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
 * On the output side a tile covers output rows 8 ty .. 8 ty + 7 and columns
 * 8 tx .. 8 tx + 7: V tiles side by side in one tile row are 8V contiguous
 * floats per output row. */

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
                           i == 0 && hi >= lo + wq ? hi + wq : hi, scale);
    if (hi < lo + wq) /* S_4 = S_0 one tile row on, apart from S_0's own stretch */
        KFN(wt_fill_strip)(st, plane, h, w, wq, ty0, 0, lo + wq, hi + wq, scale);
    float *vc = vt + (size_t)c * WT_NV * tb; /* channel c: point k at pre(k) * tb */
#define pt(k) (vc + KFN(wt_pre)(k) * (size_t)tb)
    for (int l = 0; l < tb; l += V) {
        VF x[5][5]; // x[i][j][lane] = D[i][j] of tile l + lane
        const size_t at = (size_t)4 * (tx0 + l);
        #pragma GCC unroll 5
        for (int i = 0; i < 5; i++) {
            const float *p = i < 4 ? st + (size_t)i * qlen + at : st + wq + at;
            VF u1, u2, u3;
            VDEINT4(p, x[i][0], x[i][1], x[i][2], x[i][3]);
            VDEINT4(p + 4, x[i][4], u1, u2, u3);
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
            for (int p = 0; p < 5; p++) VSTORE(pt(WINO_T_EE + p * 5 + q) + l, z[p]);
            // odd/even: rows 1..4 of D B
            #pragma GCC unroll 5
            for (int i = 0; i < 4; i++) VSTORE(pt(WINO_T_OE + q) + (size_t)i * tb + l, t[1 + i][q]);
        }
        #pragma GCC unroll 5
        for (int j = 0; j < 4; j++) {
            VF z[5]; // z[p] = (B^T D)[p][1+j]  (even/odd)
            WT_BT(x[0][1 + j], x[1][1 + j], x[2][1 + j], x[3][1 + j], x[4][1 + j], z);
            #pragma GCC unroll 5
            for (int p = 0; p < 5; p++) VSTORE(pt(WINO_T_EO + p) + (size_t)j * tb + l, z[p]);
            #pragma GCC unroll 5
            for (int i = 0; i < 4; i++) // odd/odd: D[1+i][1+j] as it is
                VSTORE(pt(WINO_T_OO) + (size_t)(i * 4 + j) * tb + l, x[1 + i][1 + j]);
        }
    }
}
#undef pt

/* WT_ROW8(p, r0..r7): p[8l + k] = r_k[l] (l = 0..V-1), an 8 x V transpose
 * from three rounds of VZIP: zip(a, b)[2m + s] = (s ? b : a)[m], so with
 * U = zip(r0, r4), W = zip(r2, r6), X = zip(U, W) and likewise Y from r1, r5,
 * r3, r7: zip(X, Y)[8m + 4s + 2s' + s''] = r_{4s + 2s' + s''}[m]. A zip of
 * sequences of vectors is a VZIP per vector pair. */
#ifdef VZIP
#define WT_ROW8(p, r0, r1, r2, r3, r4, r5, r6, r7)                                       \
    do {                                                                                 \
        VF u0_, u1_, w0_, w1_, a0_, a1_, b0_, b1_, x0_, x1_, x2_, x3_, y0_, y1_, y2_, y3_; \
        VF wtrow_[8];                                                                        \
        VZIP((r0), (r4), u0_, u1_);                                                      \
        VZIP((r2), (r6), w0_, w1_);                                                      \
        VZIP((r1), (r5), a0_, a1_);                                                      \
        VZIP((r3), (r7), b0_, b1_);                                                      \
        VZIP(u0_, w0_, x0_, x1_);                                                        \
        VZIP(u1_, w1_, x2_, x3_);                                                        \
        VZIP(a0_, b0_, y0_, y1_);                                                        \
        VZIP(a1_, b1_, y2_, y3_);                                                        \
        VZIP(x0_, y0_, wtrow_[0], wtrow_[1]);                                                    \
        VZIP(x1_, y1_, wtrow_[2], wtrow_[3]);                                                    \
        VZIP(x2_, y2_, wtrow_[4], wtrow_[5]);                                                    \
        VZIP(x3_, y3_, wtrow_[6], wtrow_[7]);                                                    \
        for (int k_ = 0; k_ < 8; k_++) VSTORE((p) + k_ * V, wtrow_[k_]);                     \
    } while (0)
#endif

/* 3. One output channel of a block (tiles t0 .. t1-1): for each group of V
 *    tiles the four 4x4 class blocks (EE = A^T M A, EO = A^T M, OE = M A,
 *    OO = M; m points at point 0's region, cout_tb = the regions' channel
 *    count x TB), interleaved into the output plane (rows 0 .. ho-1 of
 *    (2h+1, 2w+1)); scratch: st (8, 8V), eb and obuf 4V floats each. */
static void KFN(wt_out)(const float *m, size_t cout_tb, int o_loc, int ntx, int t0, int t1,
                        int tb, int ho, int w, float *plane, float *st, float *eb, float *obuf) {
    const int wo = 2 * w + 1;
    /* point k's row for this channel */
#define pt(k) (m + KFN(wt_pre)(k) * cout_tb + (size_t)(k) * 16 + \
               (size_t)o_loc * KFN(wt_mult)(k) * tb)
    for (int l = 0; l < t1 - t0; l += V) {
        VF cl[4][4][4]; // cl[class][i][j]: EE, EO, OE, OO
        {
            VF s[4][5]; // s[i][q] = (A^T M)[i][q]
            #pragma GCC unroll 5
            for (int q = 0; q < 5; q++) {
                VF z[4];
                WT_AT(VLOAD(pt(q) + l), VLOAD(pt(5 + q) + l), VLOAD(pt(10 + q) + l),
                      VLOAD(pt(15 + q) + l), VLOAD(pt(20 + q) + l), z);
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
            WT_AT(VLOAD(pt(WINO_T_EO) + lj), VLOAD(pt(WINO_T_EO + 1) + lj),
                  VLOAD(pt(WINO_T_EO + 2) + lj), VLOAD(pt(WINO_T_EO + 3) + lj),
                  VLOAD(pt(WINO_T_EO + 4) + lj), z);
            #pragma GCC unroll 5
            for (int i = 0; i < 4; i++) cl[1][i][j] = z[i];
        }
        #pragma GCC unroll 5
        for (int i = 0; i < 4; i++) { // OE row i = M[i, :] A
            const size_t li = (size_t)i * tb + l;
            WT_AT(VLOAD(pt(WINO_T_OE) + li), VLOAD(pt(WINO_T_OE + 1) + li),
                  VLOAD(pt(WINO_T_OE + 2) + li), VLOAD(pt(WINO_T_OE + 3) + li),
                  VLOAD(pt(WINO_T_OE + 4) + li), cl[2][i]);
            #pragma GCC unroll 5
            for (int j = 0; j < 4; j++)
                cl[3][i][j] = VLOAD(pt(WINO_T_OO) + (size_t)(i * 4 + j) * tb + l);
        }
        /* output row 8 gty + 2i + py gets class 2py (even columns) and 2py+1
         * (odd columns) interleaved: column 8 (gtx + lane) + 2j + px. Straight
         * into the plane when the V tiles sit in one tile row inside it, else
         * through st (8, 8V) and tile by tile, clipped. */
        const int gt = t0 + l, gty = gt / ntx, gtx = gt % ntx;
        const int direct = gtx + V <= ntx && 8 * (gtx + V) <= wo && 8 * gty + 7 < ho;
        float *dst = direct ? plane + (size_t)(8 * gty) * wo + 8 * gtx : st;
        const size_t rs = direct ? (size_t)wo : 8 * (size_t)V;
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
#pragma GCC unroll 2
            for (int py = 0; py < 2; py++) {
                float *row = dst + (size_t)(2 * i + py) * rs;
#ifdef VZIP
                (void)eb;
                (void)obuf;
                WT_ROW8(row, cl[2 * py][i][0], cl[2 * py + 1][i][0], cl[2 * py][i][1],
                        cl[2 * py + 1][i][1], cl[2 * py][i][2], cl[2 * py + 1][i][2],
                        cl[2 * py][i][3], cl[2 * py + 1][i][3]);
#else
                VINT4(eb, cl[2 * py][i][0], cl[2 * py][i][1], cl[2 * py][i][2], cl[2 * py][i][3]);
                VINT4(obuf, cl[2 * py + 1][i][0], cl[2 * py + 1][i][1], cl[2 * py + 1][i][2],
                        cl[2 * py + 1][i][3]);
                for (int m2 = 0; m2 < 4 * V; m2++) {
                    row[2 * m2] = eb[m2];
                    row[2 * m2 + 1] = obuf[m2];
                }
#endif
            }
        if (direct) continue;
        for (int k = 0; k < V && gt + k < t1; k++) {
            const int ty = (gt + k) / ntx, x0 = 8 * ((gt + k) % ntx);
            const int ncol = wo - x0 < 8 ? wo - x0 : 8;
            for (int r = 0; r < 8 && 8 * ty + r < ho; r++)
                memcpy(plane + (size_t)(8 * ty + r) * wo + x0, st + (size_t)r * 8 * V + 8 * k,
                       (size_t)ncol * sizeof(float));
        }
    }
}
#undef pt

/* Returns 0 when done, 1 when not worth it (fewer than WT_MIN_TILES tiles
 * per image, i.e. below about 32x32 inputs: every tile block streams all 36
 * transformed weight matrices, which then dominate -- measured on 512 -> 512
 * channels: 0.4x the direct kernel's speed at 8x8, 0.55x at 16x16, 1.1x at
 * 32x32; the caller runs the direct kernel), -1 when out of memory. */
#ifndef WT_MIN_TILES
#define WT_MIN_TILES 64
#endif
static int KFN(wt_applies)(const conv_weights_t *cw, int h, int w) {
    return cw->k == 3 && h >= 3 && w >= 3 &&
           (size_t)((w + 4) / 4) * (size_t)((h + 4) / 4) >= WT_MIN_TILES;
}

/* How a call is cut into tasks, and each thread's slice of the workspace. */
typedef struct KFN(wt_plan) {
    int split, ntx, ntile, ho_tiles, nblk, groups, ntasks;
    size_t cout_tb, vlen, mlen, qlen, per_thread;
} KFN(wt_plan_t);

static KFN(wt_plan_t) KFN(wt_plan)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    KFN(wt_plan_t) p;
    const int nob = (cw->c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    const int tb = WT_TB_CH * CH;
    const size_t lane_bytes = (size_t)WT_NV * tb * sizeof(float); // one channel's values
    const int cb = WINO_T_CB; /* the weights' channel blocks (winograd.h) */
    int nog_max = (int)(WT_M_BUDGET / (lane_bytes * CONV_PACK_O));
    nog_max = nog_max < 1 ? 1 : nog_max;
    /* Tiles over class rows 0..H and columns 0..W. When H is a multiple of
     * 4, the last class row a = H (output row 2H = w2* x[H-1], nothing
     * else) would need a whole row of tiles for one valid row: then the tiles
     * stop at a = H-1 and the direct kernel computes that row from input row
     * H-1 alone (edge pass below). (Columns keep the partial tiles: the row
     * strips need column 4 ntx - 1 >= W to be zero.) */
    p.split = h % 4 == 0;
    p.ntx = (w + 4) / 4;
    p.ntile = p.ntx * (p.split ? h / 4 : (h + 4) / 4);
    p.ho_tiles = p.split ? 2 * h : 2 * h + 1; /* output rows the tiles write */
    p.nblk = (p.ntile + tb - 1) / tb;
    p.groups = KFN(plan_groups)(n * p.nblk, nob, nthr);
    if ((nob + p.groups - 1) / p.groups > nog_max) p.groups = (nob + nog_max - 1) / nog_max;
    p.ntasks = n * p.nblk * p.groups;
    const int nog = (nob + p.groups - 1) / p.groups; /* output blocks per group, at most */
    /* Vt: (32, 81 TB); M: 36 point regions (8 nog, mult(k) TB), a cache
     * line between them (so they do not all share cache sets) */
    const size_t cb_tb = (size_t)cb * tb;
    p.cout_tb = (size_t)nog * CONV_PACK_O * tb;
    p.vlen = (size_t)WT_NV * cb_tb;
    p.mlen = (size_t)WT_NV * p.cout_tb + 16 * WINO_T_POINTS;
    /* input strips S_0..S_3 (qlen each), a group's output rows (8, 8V) */
    p.qlen = KFN(round16)((size_t)8 * p.ntx + 4 * (size_t)tb + 8);
    p.per_thread = KFN(round16)(p.vlen + p.mlen + 4 * p.qlen + 72 * (size_t)V);
    return p;
}

/* The edge pass's workspace (split only): the one-row input ein
 * (N, C_in, 1, W), its direct transposed conv eout (N, C_out, 3, 2W+1), and
 * that conv's own workspace after them. */
static size_t KFN(wt_edge_ein)(const conv_weights_t *cw, int n, int w) {
    return KFN(round16)((size_t)n * cw->c_in * w);
}
static size_t KFN(wt_edge_eout)(const conv_weights_t *cw, int n, int w) {
    return KFN(round16)((size_t)n * cw->c_out * 3 * (2 * (size_t)w + 1));
}

/* As conv2d_wino_scratch: for the shape, fast mode or not (0: would not run). */
size_t KFN(conv_t3s2_wino_scratch)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    if (!KFN(wt_applies)(cw, h, w)) return 0;
    const KFN(wt_plan_t) p = KFN(wt_plan)(cw, n, h, w, nthr);
    const size_t main_pass = KFN(slices)(nthr, p.per_thread);
    if (!p.split) return main_pass;
    const size_t edge = KFN(wt_edge_ein)(cw, n, w) + KFN(wt_edge_eout)(cw, n, w) +
                        KFN(conv_t3s2_fast_scratch)(cw, n, 1, w, nthr);
    return main_pass > edge ? main_pass : edge; /* one after the other: the same memory */
}

int KFN(conv_t3s2_wino)(const conv_weights_t *cw, const float *in, const float *in_scale,
                        float *out, int n, int h, int w, const conv_ws_t *ws) {
    if (!cw->wino_t || !KFN(wt_applies)(cw, h, w)) return 1;
    const int c_in = cw->c_in, c_out = cw->c_out;
    const int nob = (c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    const int tb = WT_TB_CH * CH;
    const int cb = WINO_T_CB; /* the weights' channel blocks (winograd.h) */
    const int nthr = threads_get();
    const KFN(wt_plan_t) p = KFN(wt_plan)(cw, n, h, w, nthr);
    const int split = p.split, ntx = p.ntx, ntile = p.ntile, ho_tiles = p.ho_tiles;
    const int nblk = p.nblk, groups = p.groups, ntasks = p.ntasks;
    const size_t cout_tb = p.cout_tb, vlen = p.vlen, mlen = p.mlen, qlen = p.qlen;
    const size_t per_thread = p.per_thread;
    float *owned, *buf = conv_ws_take(ws, KFN(conv_t3s2_wino_scratch)(cw, n, h, w, nthr), &owned);
    if (!buf) return -1;
    const int ho = 2 * h + 1, wo = 2 * w + 1;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr)
    for (int task = 0; task < ntasks; task++) {
        const int tid = thread_index();
        float *vt = buf + (size_t)tid * per_thread; // 36 regions (cb, mult*TB)
        float *mt = vt + vlen;                        // 36 regions (nog*8, mult*TB)
        float *qs = mt + mlen;                        // 4 input strips
        float *os = qs + 4 * qlen;                    // (8, 8V) output rows of a group
        float *eb = os + 64 * (size_t)V, *obuf = eb + 4 * (size_t)V;
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
            const float *wblk = cw->wino_t + (size_t)c0 * WINO_T_POINTS * nob * CONV_PACK_O;
            for (int k = 0; k < WINO_T_POINTS; k++) {
                const size_t width = (size_t)KFN(wt_mult)(k) * tb;
                const float *vk = vt + KFN(wt_pre)(k) * tb;
                float *mk_ = mt + KFN(wt_pre)(k) * cout_tb + (size_t)k * 16;
                /* chunk-major: a chunk's 32 channels (32 x CH floats) stay in L1
                 * while every output block uses them */
                for (size_t q = 0; q < width; q += CH)
                    for (int ob = ob0; ob < ob1; ob++)
                        for (int sub = 0; sub < CONV_PACK_O / MK_O; sub++) {
                            if (ob * CONV_PACK_O + sub * MK_O >= c_out) break;
                            const float *ws = wblk + ((size_t)k * nob + ob) * nc * CONV_PACK_O +
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
            KFN(wt_out)(mt, cout_tb, o - ob0 * CONV_PACK_O, ntx, t0, t1, tb, ho_tiles, w,
                        out + ((size_t)nb * c_out + o) * ho * wo, os, eb, obuf);
    }
    if (!split) {
        sal_free_aligned(owned);
        return 0;
    }
    /* edge pass: output row 2H = row 2 of the direct transposed conv of the
     * one-row images x[n, c, H-1, :] (in (N, C_in, 1, W) -> (N, C_out, 3, 2W+1)),
     * in the same workspace as the main pass */
    const size_t erow = (size_t)3 * wo;
    float *ein = buf, *eout = ein + KFN(wt_edge_ein)(cw, n, w);
    const size_t eused = KFN(wt_edge_ein)(cw, n, w) + KFN(wt_edge_eout)(cw, n, w);
    const size_t have = ws ? ws->floats : KFN(conv_t3s2_wino_scratch)(cw, n, h, w, nthr);
    const conv_ws_t sub = {eout + KFN(wt_edge_eout)(cw, n, w), have - eused};
    for (size_t q = 0; q < (size_t)n * c_in; q++)
        memcpy(ein + q * w, in + (q * h + h - 1) * w, (size_t)w * sizeof(float));
    const int rc = KFN(conv_t3s2_fast)(cw, ein, in_scale, eout, n, 1, w, &sub);
    if (rc == 0)
        for (size_t q = 0; q < (size_t)n * c_out; q++)
            memcpy(out + (q * ho + 2 * (size_t)h) * wo, eout + q * erow + 2 * (size_t)wo,
                   (size_t)wo * sizeof(float));
    sal_free_aligned(owned);
    return rc == 0 ? 0 : -1;
}

#undef WT_NV
#undef WT_BT
#undef WT_AT
#ifdef WT_ROW8
#undef WT_ROW8
#endif
#undef WT_TB_CH
#undef WT_M_BUDGET
#undef WT_MIN_TILES

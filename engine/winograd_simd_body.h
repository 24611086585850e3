/* winograd_simd_body.h — the fast-mode 3x3 conv, Winograd F(4x4,3x3) (see
 * winograd.h for the equations), written once for any vector width.
 *
 * Not a normal header: included at the end of conv_simd_body.h, so it uses
 * that file's vocabulary (VF, V, CH, KFN) and its microkernel KFN(mk). It
 * turns into conv2d_wino_<isa> (declared in conv_impl.h).
 *
 * The 4x4 output tiles of an image are numbered row-major (ty, tx) and cut
 * into blocks of TB consecutive tiles (TB a multiple of CH, chosen from the
 * channel counts only, so results never depend on the thread count). A task
 * = (image, block, a range of 8-channel output blocks). For its block a
 * thread
 *
 *   1. gathers each input channel's 6x6 patches into D (36, TB) and
 *      transforms them with vectors over the tiles:   Vt[xi][c][t] = (B^T d B)[xi]
 *   2. for each of the 36 points xi multiplies       M[xi] = U[xi] Vt[xi]
 *      (C_out x C_in) x (C_in x TB) with the conv microkernel (1 tap, the
 *      "channel stride" of the input is TB);
 *   3. transforms back per output channel             Y = A^T M A  (16, TB),
 *      applies the epilogue (vectors over tiles, noise gathered per tile)
 *      and writes the valid pixels of each tile.
 * Each output value sums its input channels in order 0..C_in-1 with FMAs in
 * its own lane: the same bits for any thread count and batch size.
 */

#define WP WINO_POINTS

/* Tiles per block: a multiple of CH such that the block's transformed inputs
 * and outputs (36 x (C_in + C_out) x TB floats) stay around 512 KiB. */
static int KFN(wino_tb)(int c_in, int c_out_pad) {
    const size_t per_lane = (size_t)WP * (size_t)(c_in + c_out_pad) * sizeof(float);
    size_t k = ((size_t)512 * 1024) / (per_lane * CH);
    k = k < 1 ? 1 : k > 4 ? 4 : k;
    return (int)k * CH;
}

/* z = B^T x for one column of 6 vectors (x may alias nothing in z). */
#define WINO_BT(x0, x1, x2, x3, x4, x5, z)                                              \
    do {                                                                                \
        const VF f4_ = VSET1(4.0f), f5_ = VSET1(5.0f), f2_ = VSET1(2.0f);               \
        VF d13_ = VSUB(x3, x1);                                    \
        (z)[0] = VADD(VSUB(VMUL(f4_, x0), VMUL(f5_, x2)), x4);                          \
        (z)[1] = VSUB(VADD(x3, x4), VMUL(f4_, VADD(x1, x2)));                           \
        (z)[2] = VADD(VSUB(x4, x3), VMUL(f4_, VSUB(x1, x2)));                           \
        (z)[3] = VADD(VSUB(x4, x2), VMUL(f2_, d13_));                                   \
        (z)[4] = VSUB(VSUB(x4, x2), VMUL(f2_, d13_));                                   \
        (z)[5] = VADD(VSUB(VMUL(f4_, x1), VMUL(f5_, x3)), x5);                          \
    } while (0)

/* y = A^T m for one column of 6 vectors. */
#define WINO_AT(m0, m1, m2, m3, m4, m5, y)                                              \
    do {                                                                                \
        const VF f2_ = VSET1(2.0f), f4_ = VSET1(4.0f), f8_ = VSET1(8.0f);               \
        VF p12_ = VADD(m1, m2), d12_ = VSUB(m1, m2);                                    \
        VF p34_ = VADD(m3, m4), d34_ = VSUB(m3, m4);                                    \
        (y)[0] = VADD(VADD(m0, p12_), p34_);                                            \
        (y)[1] = VFMA(f2_, d34_, d12_);                                                 \
        (y)[2] = VFMA(f4_, p34_, p12_);                                                 \
        (y)[3] = VADD(VFMA(f8_, d34_, d12_), m5);                                       \
    } while (0)

/* Per-lane tile geometry of a block: offset of the tile's top-left output
 * pixel in a plane, its valid rows / columns (0 rows: no tile), its place. */
typedef struct KFN(wino_lane) { int base, ry, rx, ty, tx; } KFN(wino_lane_t);

/* 1. For each group of V tiles: the 6x6 patches of one input plane, then
 *    Vt[xi] (points vstride apart) <- B^T d B, vectors over the tiles. V tiles
 *    side by side in one tile row are read with de-interleaving loads (at the
 *    left/right border from a zero-padded copy of the row stretch in d); a
 *    group spanning two tile rows goes through d (36, V) value by value. */
static void KFN(wino_in)(const float *plane, int h, int w, const KFN(wino_lane_t) *ln, int tb,
                         float *d, float *vt, size_t vstride, const float *scale) {
    for (int l = 0; l < tb; l += V) {
        VF x[6][6]; // the patches, x[i][j][lane] = d[i][j] of tile l + lane
        const KFN(wino_lane_t) *a = ln + l, *b = ln + l + V - 1;
        if (a->ry && b->ry && a->ty == b->ty) {
            /* columns x0 .. x0 + 4V + 3 of the patch rows; at the image's left
             * or right border through a zero-padded copy of that stretch */
            const int x0 = 4 * a->tx - 1, inside = x0 >= 0 && x0 + 4 * V + 4 <= w;
            for (int i = 0; i < 6; i++) {
                const int y = 4 * a->ty - 1 + i;
                if (y < 0 || y >= h) {
                    for (int j = 0; j < 6; j++) x[i][j] = VZERO();
                    continue;
                }
                const float *p = plane + (size_t)y * w + x0;
                if (!inside) {
                    for (int k = 0; k < 4 * V + 4; k++)
                        d[k] = x0 + k >= 0 && x0 + k < w ? plane[(size_t)y * w + x0 + k] : 0.0f;
                    p = d;
                }
                VF u2, u3;
                VDEINT4(p, x[i][0], x[i][1], x[i][2], x[i][3]);
                VDEINT4(p + 4, x[i][4], x[i][5], u2, u3);
                (void)u2;
                (void)u3;
            }
        } else {
            for (int k = 0; k < V; k++) {
                const KFN(wino_lane_t) *z = ln + l + k;
                const int y0 = 4 * z->ty - 1, x0 = 4 * z->tx - 1;
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        const int y = y0 + i, xx = x0 + j;
                        d[(i * 6 + j) * V + k] = z->ry && y >= 0 && y < h && xx >= 0 && xx < w
                                                     ? plane[(size_t)y * w + xx]
                                                     : 0.0f;
                    }
            }
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) x[i][j] = VLOAD(d + (i * 6 + j) * V);
        }
        if (scale) { /* the prologue: x * s, as a separate pass would round it */
            const VF vs = VSET1(*scale);
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) x[i][j] = VMUL(x[i][j], vs);
        }
        VF t[6][6]; // t[i][b] = (d B)[i][b]
        for (int i = 0; i < 6; i++)
            WINO_BT(x[i][0], x[i][1], x[i][2], x[i][3], x[i][4], x[i][5], t[i]);
        for (int bb = 0; bb < 6; bb++) {
            VF z[6]; // z[a] = (B^T d B)[a][bb]
            WINO_BT(t[0][bb], t[1][bb], t[2][bb], t[3][bb], t[4][bb], t[5][bb], z);
            for (int aa = 0; aa < 6; aa++) VSTORE(vt + (size_t)(aa * 6 + bb) * vstride + l, z[aa]);
        }
    }
}

/* The epilogue of one vector (nz: the noise values, used if has_noise). */
MK_INLINE VF KFN(epi_vec)(VF v, const epi_row_t *e, int has_noise, VF nz) {
    if (e->use_scale) v = VMUL(v, VSET1(e->scale));
    if (has_noise) v = VADD(v, VMUL(nz, VSET1(e->noise_gain)));
    if (e->use_bias) v = VADD(v, VSET1(e->bias));
    if (e->act == ACT_RELU) v = VRELU(v);
    else if (e->act == ACT_LRELU) v = VLRELU(v, VSET1(e->slope));
    if (e->use_gain) v = VMUL(v, VSET1(e->gain));
    if (e->use_clamp) v = VMIN(VSET1(e->clamp), VMAX(VSET1(-e->clamp), v));
    return v;
}

/* 3. One output channel of a block: for each group of V tiles Y = A^T M A
 *    (M's points mstride apart), the epilogue, and the valid pixels into the
 *    output plane. Full 4x4 tiles side by side in one tile row are written
 *    with interleaving stores; the others through the scratch y (16, V). */
static void KFN(wino_out)(const float *m, size_t mstride, const KFN(wino_lane_t) *ln, int tb,
                          int w, const epi_row_t *er, const float *noise, float *plane, float *y,
                          float *nz) {
    for (int l = 0; l < tb; l += V) {
        VF yv[4][4];
        {
            VF t[4][6]; // t[i][b] = (A^T M)[i][b]
            for (int bb = 0; bb < 6; bb++) {
                const float *r = m + (size_t)bb * mstride + l;
                VF z[4];
                WINO_AT(VLOAD(r), VLOAD(r + 6 * mstride), VLOAD(r + 12 * mstride),
                        VLOAD(r + 18 * mstride), VLOAD(r + 24 * mstride),
                        VLOAD(r + 30 * mstride), z);
                for (int i = 0; i < 4; i++) t[i][bb] = z[i];
            }
            for (int i = 0; i < 4; i++) WINO_AT(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], yv[i]);
        }
        const KFN(wino_lane_t) *a = ln + l, *b = ln + l + V - 1;
        if (a->ry == 4 && b->ry == 4 && a->ty == b->ty && 4 * (b->tx + 1) <= w) {
            for (int i = 0; i < 4; i++) {
                VF n4[4] = {VZERO(), VZERO(), VZERO(), VZERO()};
                if (noise) VDEINT4(noise + (size_t)a->base + (size_t)i * w, n4[0], n4[1], n4[2], n4[3]);
                for (int j = 0; j < 4; j++) yv[i][j] = KFN(epi_vec)(yv[i][j], er, noise != NULL, n4[j]);
                VINT4(plane + (size_t)a->base + (size_t)i * w, yv[i][0], yv[i][1], yv[i][2], yv[i][3]);
            }
            continue;
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                float *yp = y + (size_t)(i * 4 + j) * V;
                VSTORE(yp, yv[i][j]);
                epi_row_t e = *er;
                e.noise = NULL;
                if (noise) {
                    for (int k = 0; k < V; k++)
                        nz[k] = i < ln[l + k].ry && j < ln[l + k].rx
                                    ? noise[(size_t)ln[l + k].base + (size_t)i * w + j]
                                    : 0.0f;
                    e.noise = nz;
                }
                KFN(epi_store)(yp, yp, V, &e);
            }
        for (int k = 0; k < V; k++)
            for (int i = 0; i < ln[l + k].ry; i++) {
                float *dst = plane + (size_t)ln[l + k].base + (size_t)i * w;
                for (int j = 0; j < ln[l + k].rx; j++) dst[j] = y[(size_t)(i * 4 + j) * V + k];
            }
    }
}

/* 1 if the Winograd conv runs on this image (given fast-mode weights): at
 * least 1024 pixels, i.e. 32x32 (below, few tiles and the 36 C_out x C_in
 * transformed weights dominate). */
static int KFN(wino_applies)(const conv_weights_t *cw, int h, int w) {
    return cw->k == 3 && (size_t)h * w >= 1024 && h >= 8 && w >= 8;
}

/* How a Winograd conv call is cut into tasks, and each thread's slice of
 * the workspace: Vt, M, D, Y, the gathered noise (floats), then, after all
 * nthr float slices, nthr arrays of tb lane records. */
typedef struct KFN(wino_plan) {
    int tb, ntx, ntile, nblk, groups, ntasks;
    size_t vps, vlen, mlen, per_thread, lane_floats;
} KFN(wino_plan_t);

static KFN(wino_plan_t) KFN(wino_plan)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    KFN(wino_plan_t) p;
    const int c_in = cw->c_in, c_out = cw->c_out;
    const int nob = (c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    p.tb = KFN(wino_tb)(c_in, nob * CONV_PACK_O);
    p.ntx = (w + 3) / 4;
    p.ntile = p.ntx * ((h + 3) / 4);
    p.nblk = (p.ntile + p.tb - 1) / p.tb;
    p.groups = KFN(plan_groups)(n * p.nblk, nob, nthr);
    p.ntasks = n * p.nblk * p.groups;
    const int nog = (nob + p.groups - 1) / p.groups; /* output blocks per group, at most */
    /* point strides of Vt and M, one cache line more than their contents so
     * the 36 points of a tile do not all fall into the same cache sets */
    p.vps = (size_t)c_in * p.tb + 16;
    const size_t mps_max = (size_t)nog * CONV_PACK_O * p.tb + 16;
    p.vlen = (size_t)WP * p.vps;
    p.mlen = (size_t)WP * mps_max;
    const size_t tb = (size_t)p.tb;
    p.per_thread = KFN(round16)(p.vlen + p.mlen + (size_t)WP * tb + 16 * tb + tb);
    /* tb lane records per thread, counted in floats */
    p.lane_floats = KFN(round16)((tb * sizeof(KFN(wino_lane_t)) + sizeof(float) - 1) / sizeof(float));
    return p;
}

/* The workspace the Winograd conv needs for this shape, whether or not cw is
 * in fast mode yet (0: it would not run). */
size_t KFN(conv2d_wino_scratch)(const conv_weights_t *cw, int n, int h, int w, int nthr) {
    if (!KFN(wino_applies)(cw, h, w)) return 0;
    const KFN(wino_plan_t) p = KFN(wino_plan)(cw, n, h, w, nthr);
    return KFN(slices)(nthr, p.per_thread + p.lane_floats);
}

/* Returns 0 when done, 1 when the image is too small to pay off (see
 * wino_applies; the caller runs the direct conv), -1 when the workspace is
 * too small. */
int KFN(conv2d_wino)(const conv_weights_t *cw, const float *in, float *out, int n, int h, int w,
                     const conv_epilogue_t *ep, const conv_ws_t *ws) {
    if (!cw->wino || !KFN(wino_applies)(cw, h, w)) return 1;
    const int c_in = cw->c_in, c_out = cw->c_out;
    const int nob = (c_out + CONV_PACK_O - 1) / CONV_PACK_O;
    const int nthr = threads_get();
    const KFN(wino_plan_t) p = KFN(wino_plan)(cw, n, h, w, nthr);
    const int tb = p.tb, ntx = p.ntx, ntile = p.ntile, nblk = p.nblk, groups = p.groups;
    const int ntasks = p.ntasks;
    const size_t vps = p.vps, vlen = p.vlen, mlen = p.mlen, per_thread = p.per_thread;
    float *owned, *buf = conv_ws_take(ws, KFN(slices)(nthr, per_thread + p.lane_floats), &owned);
    if (!buf) return -1;
    /* the lane records after the float slices (int fields: float alignment suffices) */
    KFN(wino_lane_t) *lanes = (KFN(wino_lane_t) *)(void *)(buf + (size_t)nthr * per_thread);

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr)
    for (int task = 0; task < ntasks; task++) {
        const int tid = thread_index();
        float *vt = buf + (size_t)tid * per_thread; // (36, C_in, TB) + padding
        float *mt = vt + vlen;                        // (36, nog*8, TB) + padding
        float *d = mt + mlen;                         // (36, TB)
        float *y = d + (size_t)WP * tb;               // (16, TB)
        float *nz = y + 16 * (size_t)tb;              // (TB) gathered noise
        KFN(wino_lane_t) *ln = (KFN(wino_lane_t) *)(void *)((float *)(void *)lanes +
                                                           (size_t)tid * p.lane_floats);
        const int g = task % groups, bi = (task / groups) % nblk, nb = task / groups / nblk;
        const int ob0 = g * nob / groups, ob1 = (g + 1) * nob / groups;
        for (int l = 0; l < tb; l++) {
            const int t = bi * tb + l;
            KFN(wino_lane_t) z = {0, 0, 0, 0, 0};
            if (t < ntile) {
                z.ty = t / ntx;
                z.tx = t % ntx;
                z.base = 4 * z.ty * w + 4 * z.tx;
                z.ry = h - 4 * z.ty < 4 ? h - 4 * z.ty : 4;
                z.rx = w - 4 * z.tx < 4 ? w - 4 * z.tx : 4;
            }
            ln[l] = z;
        }
        // 1. input transform, every input channel
        const float *img = in + (size_t)nb * c_in * h * w;
        /* the block's input rows and columns: prefetched one channel ahead
         * (6+ rows x a few cache lines per channel are too many streams for
         * the hardware prefetcher) */
        int last = 0;
        while (last + 1 < tb && ln[last + 1].ry) last++;
        const int py0 = 4 * ln[0].ty - 1 > 0 ? 4 * ln[0].ty - 1 : 0;
        const int py1 = 4 * ln[last].ty + 5 < h ? 4 * ln[last].ty + 5 : h;
        const int one_row = ln[0].ty == ln[last].ty;
        const int px0 = one_row && 4 * ln[0].tx - 1 > 0 ? 4 * ln[0].tx - 1 : 0;
        const int px1 = one_row && 4 * ln[last].tx + 5 < w ? 4 * ln[last].tx + 5 : w;
        for (int c = 0; c < c_in; c++) {
            if (c + 1 < c_in) {
                const float *np = img + (size_t)(c + 1) * h * w;
                for (int yy = py0; yy < py1; yy++)
                    for (int xx = px0; xx < px1; xx += 16)
                        __builtin_prefetch(np + (size_t)yy * w + xx, 0, 3);
            }
            KFN(wino_in)(img + (size_t)c * h * w, h, w, ln, tb, d, vt + (size_t)c * tb, vps,
                         ep && ep->in_scale ? ep->in_scale + (size_t)nb * c_in + c : NULL);
        }
        // 2. the 36 products M[xi] = U[xi] Vt[xi]
        const size_t mstride = (size_t)(ob1 - ob0) * CONV_PACK_O * tb + 16; // between points
        for (int xi = 0; xi < WP; xi++)
            for (int ob = ob0; ob < ob1; ob++)
                for (int q = 0; q < tb; q += CH)
                    for (int sub = 0; sub < CONV_PACK_O / MK_O; sub++) {
                        if (ob * CONV_PACK_O + sub * MK_O >= c_out) break;
                        const float *ws = cw->wino +
                                          (((size_t)xi * nob + ob) * c_in) * CONV_PACK_O +
                                          sub * MK_O;
                        float *dst = mt + (size_t)xi * mstride +
                                     (size_t)((ob - ob0) * CONV_PACK_O + sub * MK_O) * tb + q;
                        KFN(mk)(vt + (size_t)xi * vps + q, (size_t)tb, c_in, ws,
                                CONV_PACK_O, 0, 1, KFN(k1_zero), KFN(k1_zero), KFN(k1_zero), dst,
                                (size_t)tb, 0);
                    }
        // 3. output transform + epilogue per output channel
        const int o_end = ob1 * CONV_PACK_O < c_out ? ob1 * CONV_PACK_O : c_out;
        for (int o = ob0 * CONV_PACK_O; o < o_end; o++) {
            const epi_row_t e = epi_row_for(ep, nb, c_out, o);
            KFN(wino_out)(mt + (size_t)(o - ob0 * CONV_PACK_O) * tb, mstride, ln, tb, w, &e,
                          ep ? ep->noise : NULL, out + ((size_t)nb * c_out + o) * h * w, y, nz);
        }
    }
    sal_free_aligned(owned);
    return 0;
}

#undef WINO_BT
#undef WINO_AT
#undef WP

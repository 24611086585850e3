/* test_jpeg_idct.c — the 8x8 and 4x4 inverse DCTs of the JPEG decoder, block
 * by block:
 *  - the SSE2 versions of libjpeg-turbo's x86 arithmetic give the same bytes
 *    as the lane-by-lane references (jpeg_idct_*_lanes16) and as
 *    jpeg_idct_*(x86 = 1), on realistic blocks and on blocks that overflow
 *    16 bits everywhere (full-range coefficients and quantisers), flat
 *    blocks with a huge DC (the 16-bit wrap of the AC-zero shortcut), single
 *    coefficients at every position, blocks with only row 4 and a DC (the 4x4
 *    ignores row 4);
 *  - they write exactly NxN bytes, `stride` apart, nothing in between;
 *  - against the mathematics: pixels -> exact DCT (double) -> rounded
 *    coefficients -> our IDCT gives the pixels back within 1 (islow's
 *    IEEE 1180-style accuracy), in both arithmetics.
 * The fixture tests (test_jpeg*) check whole files against libjpeg-turbo.
 */
#include <math.h>

#include "check.h"
#include "jpeg_idct.h"

static uint64_t rng_next(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 17;
}

/* one block of `kind`: 0 realistic (sparse, small), 1 full range, 2 flat
 * with a large DC, 3 one coefficient at position pos */
static void make_block(int kind, int pos, uint64_t *s, int16_t coef[64], uint16_t q[64]) {
    for (int k = 0; k < 64; k++) {
        switch (kind) {
        case 0:
            coef[k] = rng_next(s) % 4 == 0 ? (int16_t)((int)(rng_next(s) % 129) - 64) : 0;
            q[k] = (uint16_t)(1 + rng_next(s) % 99);
            break;
        case 1:
            coef[k] = (int16_t)(uint16_t)rng_next(s);
            q[k] = (uint16_t)rng_next(s);
            break;
        case 2:
            coef[k] = k == 0 ? (int16_t)(uint16_t)rng_next(s) : 0;
            q[k] = (uint16_t)rng_next(s);
            break;
        default:
            coef[k] = k == pos ? (int16_t)(uint16_t)rng_next(s) : 0;
            q[k] = (uint16_t)(rng_next(s) % 3 == 0 ? rng_next(s) : 1 + rng_next(s) % 255);
        }
    }
}

/* forward DCT of an 8x8 block of level-shifted samples, as JPEG defines it */
static void fdct_exact(const double px[64], double out[64]) {
    for (int u = 0; u < 8; u++)
        for (int v = 0; v < 8; v++) {
            double s = 0.0;
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                    s += px[y * 8 + x] * cos((2 * y + 1) * u * M_PI / 16) *
                         cos((2 * x + 1) * v * M_PI / 16);
            const double cu = u ? 1.0 : M_SQRT1_2, cv = v ? 1.0 : M_SQRT1_2;
            out[u * 8 + v] = 0.25 * cu * cv * s;
        }
}

int main(void) {
    test_ctx_t t = test_begin("jpeg_idct");
    uint8_t probe[64];
    const int16_t zc[64] = {0};
    const uint16_t oq[64] = {1};
    if (jpeg_idct_8x8_sse2(zc, oq, probe, 8) != 0) {
        printf("no SSE2 in this build: only the accuracy checks run\n");
    } else {
        static const char *kinds[5] = {"realistic", "full-range", "flat, large DC",
                                       "one coefficient", "only row 4"};
        uint64_t s = 12345;
        for (int n = 8; n >= 4; n -= 4) {
            const size_t nb = (size_t)n * n;
            for (int kind = 0; kind < 5; kind++) {
                const int nblocks = kind >= 3 ? 64 * 400 : 100000;
                long bad_ref = 0, bad_api = 0, first = -1;
                for (int b = 0; b < nblocks; b++) {
                    int16_t coef[64];
                    uint16_t q[64];
                    /* only row 4 (+ DC): what the 4x4 transform ignores (its
                     * AC-zero shortcut looks at rows 1-3 and 5-7) */
                    make_block(kind == 4 ? 3 : kind, kind == 4 ? 32 + b % 8 : b % 64, &s, coef, q);
                    if (kind == 4) coef[0] = (int16_t)(uint16_t)rng_next(&s); /* and any DC */
                    uint8_t ref[64], vec[64], api[64];
                    if (n == 8) {
                        jpeg_idct_8x8_lanes16(coef, q, ref, 8);
                        jpeg_idct_8x8_sse2(coef, q, vec, 8);
                        jpeg_idct_8x8(coef, q, api, 8, 1);
                    } else {
                        jpeg_idct_4x4_lanes16(coef, q, ref, 4);
                        jpeg_idct_4x4_sse2(coef, q, vec, 4);
                        jpeg_idct_4x4(coef, q, api, 4, 1);
                    }
                    if (memcmp(ref, vec, nb) != 0) {
                        bad_ref++;
                        if (first < 0) first = b;
                    }
                    bad_api += memcmp(ref, api, nb) != 0;
                }
                CHECK(&t, bad_ref == 0, "%dx%d, %s blocks: SSE2 differs from the lane reference "
                      "in %ld of %d (first: block %ld)", n, n, kinds[kind], bad_ref, nblocks, first);
                CHECK(&t, bad_api == 0, "%dx%d, %s blocks: jpeg_idct(x86) differs in %ld of %d", n,
                      n, kinds[kind], bad_api, nblocks);
            }
        }
        /* the AC-zero shortcut wraps 4 dc in 16 bits: dc * q = 10000 gives
         * 40000 -> -25536, saturated by the second pass to 0 + ... */
        {
            int16_t coef[64] = {0};
            uint16_t q[64];
            for (int k = 0; k < 64; k++) q[k] = 1;
            coef[0] = 10000;
            uint8_t ref[64], vec[64];
            jpeg_idct_8x8_lanes16(coef, q, ref, 8);
            jpeg_idct_8x8_sse2(coef, q, vec, 8);
            CHECK(&t, memcmp(ref, vec, 64) == 0, "DC 10000: SSE2 %d vs reference %d", vec[0], ref[0]);
            /* 4 * 10000 wraps to -25536; row pass: (-25536 + 16) >> 5 = -798 -> 0 */
            CHECK(&t, ref[0] == 0 && ref[63] == 0, "DC 10000 wraps to black, got %d", ref[0]);
            coef[0] = 4000; /* 16000: no wrap, (16000 + 16) >> 5 = 500 -> 127 + 128 */
            jpeg_idct_8x8_sse2(coef, q, vec, 8);
            CHECK(&t, vec[0] == 255 && vec[63] == 255, "DC 4000 saturates to white, got %d", vec[0]);
        }
        /* stride: 8 bytes per row into a canvas of 8 rows x 21 bytes */
        {
            uint8_t canvas[8 * 21];
            memset(canvas, 0xA5, sizeof canvas);
            int16_t coef[64];
            uint16_t q[64];
            uint64_t s2 = 99;
            make_block(0, 0, &s2, coef, q);
            uint8_t ref[64];
            jpeg_idct_8x8_lanes16(coef, q, ref, 8);
            jpeg_idct_8x8_sse2(coef, q, canvas + 5, 21);
            int rows_ok = 1, guard_ok = 1;
            for (int r = 0; r < 8; r++) {
                rows_ok &= memcmp(canvas + 5 + r * 21, ref + r * 8, 8) == 0;
                for (int x = 0; x < 21; x++)
                    if (x < 5 || x >= 13) guard_ok &= canvas[r * 21 + x] == 0xA5;
            }
            CHECK(&t, rows_ok, "stride 21: rows differ from the packed reference");
            CHECK(&t, guard_ok, "stride 21: bytes outside the block were written");
            /* the same for the 4x4 */
            memset(canvas, 0xA5, sizeof canvas);
            jpeg_idct_4x4_lanes16(coef, q, ref, 4);
            jpeg_idct_4x4_sse2(coef, q, canvas + 5, 21);
            rows_ok = guard_ok = 1;
            for (int r = 0; r < 8; r++) {
                if (r < 4) rows_ok &= memcmp(canvas + 5 + r * 21, ref + r * 4, 4) == 0;
                for (int x = 0; x < 21; x++)
                    if (r >= 4 || x < 5 || x >= 9) guard_ok &= canvas[r * 21 + x] == 0xA5;
            }
            CHECK(&t, rows_ok, "4x4, stride 21: rows differ from the packed reference");
            CHECK(&t, guard_ok, "4x4, stride 21: bytes outside the block were written");
        }
    }

    /* accuracy: random pixel blocks, exact DCT, rounded coefficients, q = 1 */
    {
        uint64_t s = 777;
        double maxerr[2] = {0, 0}, sumerr[2] = {0, 0};
        const int nblocks = 2000;
        for (int b = 0; b < nblocks; b++) {
            double px[64], dct[64];
            uint8_t pix[64];
            const int lo = (int)(rng_next(&s) % 128), span = 1 + (int)(rng_next(&s) % (256 - lo));
            for (int k = 0; k < 64; k++) {
                pix[k] = (uint8_t)(lo + (int)(rng_next(&s) % (uint64_t)span));
                px[k] = pix[k] - 128.0;
            }
            fdct_exact(px, dct);
            int16_t coef[64];
            uint16_t q[64];
            for (int k = 0; k < 64; k++) {
                coef[k] = (int16_t)lround(dct[k]);
                q[k] = 1;
            }
            for (int x86 = 0; x86 < 2; x86++) {
                uint8_t out[64];
                jpeg_idct_8x8(coef, q, out, 8, x86);
                for (int k = 0; k < 64; k++) {
                    const double e = fabs((double)out[k] - pix[k]);
                    maxerr[x86] = e > maxerr[x86] ? e : maxerr[x86];
                    sumerr[x86] += e;
                }
            }
        }
        for (int x86 = 0; x86 < 2; x86++) {
            const double mean = sumerr[x86] / (64.0 * nblocks);
            CHECK(&t, maxerr[x86] <= 1.0, "%s arithmetic: pixels back within %g, want <= 1",
                  x86 ? "x86" : "C", maxerr[x86]);
            CHECK(&t, mean < 0.1, "%s arithmetic: mean error %g, want < 0.1", x86 ? "x86" : "C",
                  mean);
            printf("%s arithmetic: max |error| %g, mean %.4f over %d blocks\n", x86 ? "x86" : "C",
                   maxerr[x86], mean, nblocks);
        }
    }
    return test_end(&t);
}

/* test_random_choice.c — the pick of `salient search --accept random`
 * (search_random_choice) against its documented rule, reimplemented here
 * from docs/search.md: numpy RandomState(search_step_rng_seed(rng_seed ^
 * 0x63686f6f, seed, step)).randint(K), legacy randint = 32-bit draws masked
 * to 2^bits - 1 (bits = bit length of K - 1), rejected while > K - 1. Also:
 * every pick in 0..K-1, uniform (chi-square over 12000 picks per K below
 * the 0.1% critical value), unrelated between neighbouring steps and
 * between rng seeds (agreement near 1/K). */
#include "check.h"
#include "rng.h"
#include "search.h"

/* the documented rule, written independently of search.c */
static int documented_pick(uint32_t rng_seed, uint32_t seed, int step, int K) {
    if (K == 1) return 0;
    int bits = 0;
    while ((1u << bits) - 1 < (uint32_t)(K - 1) && bits < 32) bits++;
    uint32_t mask = bits >= 32 ? 0xffffffffu : (1u << bits) - 1;
    rng_np_t r;
    rng_np_seed(&r, search_step_rng_seed(rng_seed ^ 0x63686f6fu, seed, step));
    for (;;) {
        uint32_t v = rng_np_u32(&r) & mask;
        if (v <= (uint32_t)(K - 1)) return (int)v;
    }
}

int main(void) {
    test_ctx_t t = test_begin("random_choice");
    const int Ks[] = {1, 2, 3, 4, 5, 7, 16, 100};
    /* chi-square 0.999 quantiles for K - 1 degrees of freedom */
    const double crit[] = {0, 10.83, 13.82, 16.27, 18.47, 22.46, 37.70, 148.2};
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
        const int K = Ks[ki];
        long count[100] = {0};
        int mismatch = 0, out_of_range = 0, same_next = 0, same_rng = 0, n = 0;
        for (uint32_t seed = 0; seed < 2000; seed++)
            for (int step = 1; step <= 6; step++) {
                int k = search_random_choice(0, seed, step, K);
                if (k < 0 || k >= K) { out_of_range++; continue; }
                count[k]++;
                n++;
                mismatch += k != documented_pick(0, seed, step, K);
                same_next += k == search_random_choice(0, seed, step + 1, K);
                same_rng += k == search_random_choice(12345, seed, step, K);
            }
        CHECK(&t, out_of_range == 0, "K=%d: %d picks outside 0..K-1", K, out_of_range);
        CHECK(&t, mismatch == 0, "K=%d: %d picks differ from the documented rule", K, mismatch);
        if (K == 1) {
            CHECK(&t, count[0] == n, "K=1 must always pick 0");
            continue;
        }
        double expect = (double)n / K, chi2 = 0;
        for (int k = 0; k < K; k++) chi2 += (count[k] - expect) * (count[k] - expect) / expect;
        CHECK(&t, chi2 < crit[ki], "K=%d: chi-square %.2f >= %.2f: picks not uniform", K, chi2, crit[ki]);
        /* agreement of unrelated picks: 1/K, within 5 binomial standard deviations */
        double p = 1.0 / K, sd = sqrt(n * p * (1 - p));
        CHECK(&t, fabs(same_next - n * p) < 5 * sd, "K=%d: step t and t+1 agree %d of %d times", K, same_next, n);
        CHECK(&t, fabs(same_rng - n * p) < 5 * sd, "K=%d: rng seeds 0 and 12345 agree %d of %d times", K, same_rng, n);
    }
    /* deterministic: the same arguments, the same pick */
    CHECK(&t, search_random_choice(7, 3, 2, 16) == search_random_choice(7, 3, 2, 16), "not deterministic");
    return test_end(&t);
}

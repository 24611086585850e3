/* rng.h — numpy's legacy random generator, reproduced bit for bit.
 *
 * np.random.RandomState(seed).randn(n) is how NVIDIA's generate.py turns a
 * seed into z; matching it exactly makes our seed N the same face as theirs.
 * MT19937 (seeded with numpy's init_genrand for a 32-bit seed), doubles from
 * two 32-bit draws (53 bits), and the polar Box-Muller method that returns
 * the second value of each pair on the next call.
 */
#ifndef SALIENT_RNG_H
#define SALIENT_RNG_H

#include <stdint.h>

typedef struct rng_np {
    uint32_t mt[624];
    int mti;
    int has_gauss;
    double gauss;
} rng_np_t;

void rng_np_seed(rng_np_t *r, uint32_t seed);
uint32_t rng_np_u32(rng_np_t *r);
double rng_np_double(rng_np_t *r);  /* [0, 1), 53-bit */
double rng_np_randn(rng_np_t *r);   /* standard normal, legacy polar method */
void rng_np_randn_fill(rng_np_t *r, double *out, int64_t n);

#endif

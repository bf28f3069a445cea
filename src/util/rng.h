/*
 * rng.h - the random streams of training: MT19937 with numpy's legacy
 * RandomState semantics (so `--seed 42` splits ml-100k exactly as the
 * PyTorch peer's np.random.RandomState(42).permutation does), and
 * xoshiro256** for initialisation and per-epoch shuffles.
 *
 * Each generator is a caller-owned struct; no globals; thread-safe on
 * distinct structs.
 */
#ifndef HV_UTIL_RNG_H
#define HV_UTIL_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng_mt {
  uint32_t mt[624];
  int idx;
};

/* init_genrand(seed & 0xffffffff), as RandomState(seed). */
void rng_mt_seed(struct rng_mt *r, uint32_t seed);
uint32_t rng_mt_u32(struct rng_mt *r);

/* perm[0..n) = RandomState(seed).permutation(n). */
void rng_numpy_permutation(uint32_t seed, size_t *perm, size_t n);

struct rng_xo {
  uint64_t s[4];
};

/* Seed from a 64-bit value via splitmix64. */
void rng_xo_seed(struct rng_xo *r, uint64_t seed);
uint64_t rng_xo_u64(struct rng_xo *r);
/* Uniform float in [-a, a). */
float rng_xo_uniform(struct rng_xo *r, float a);
/* Fisher-Yates shuffle of v[0..n). */
void rng_xo_shuffle(struct rng_xo *r, size_t *v, size_t n);

#endif

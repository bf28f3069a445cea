/*
 * rng.h - the one home of Harvest's random streams: MT19937 with numpy's
 * legacy RandomState semantics (so `--seed 42` splits ml-100k exactly as the
 * PyTorch peer's np.random.RandomState(42).permutation does), xoshiro256**
 * (Blackman & Vigna 2018) for initialisation, per-epoch shuffles and the
 * synthetic generator, and splitmix64 (Steele, Lea & Flood 2014, Vigna's
 * reference constants) which seeds xoshiro and is itself the small seeded
 * stream of the monitor's, the retrainer's and the demo's samples.
 *
 * splitmix64 and xoshiro256**'s next() are static inline here: the synthetic
 * generator draws several per rating, and a call per draw shows in its
 * rows/s. Every output is bit-for-bit what the copies these replaced gave
 * (the synthetic datasets and trained models of a seed do not change).
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

/* splitmix64: advance the state *x and return its next output. Also a good
 * 64-bit mixer of a key (hash *x = key + 1 and discard the state). */
static inline uint64_t rng_splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct rng_xo {
  uint64_t s[4];
};

/* Seed from a 64-bit value via splitmix64. */
void rng_xo_seed(struct rng_xo *r, uint64_t seed);

static inline uint64_t rng_rotl64(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

/* The next 64 bits of xoshiro256** (state r->s must not be all zero). */
static inline uint64_t rng_xo_u64(struct rng_xo *r)
{
  uint64_t *s = r->s;
  uint64_t res = rng_rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rng_rotl64(s[3], 45);
  return res;
}

/* Uniform double in [0, 1): the top 53 bits. */
static inline double rng_xo_u01(struct rng_xo *r)
{
  return (double)(rng_xo_u64(r) >> 11) * 0x1.0p-53;
}
/* Uniform float in [-a, a). */
float rng_xo_uniform(struct rng_xo *r, float a);
/* Fisher-Yates shuffle of v[0..n). */
void rng_xo_shuffle(struct rng_xo *r, size_t *v, size_t n);
/* The same shuffle of 4-byte entries: the same draws, so the same order as
 * rng_xo_shuffle of the same values (half the memory per entry). */
void rng_xo_shuffle_u32(struct rng_xo *r, uint32_t *v, size_t n);

#endif

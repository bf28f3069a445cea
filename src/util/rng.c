/*
 * rng.c - MT19937 (numpy legacy semantics) and xoshiro256**: see rng.h.
 */
#include "util/rng.h"

void rng_mt_seed(struct rng_mt *r, uint32_t seed)
{
  r->mt[0] = seed;
  for (int i = 1; i < 624; i++)
    r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) +
               (uint32_t)i;
  r->idx = 624;
}

static void mt_twist(struct rng_mt *r)
{
  for (int i = 0; i < 624; i++) {
    uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % 624] & 0x7fffffffu);
    r->mt[i] = r->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
  }
  r->idx = 0;
}

uint32_t rng_mt_u32(struct rng_mt *r)
{
  if (r->idx >= 624)
    mt_twist(r);
  uint32_t y = r->mt[r->idx++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

/* numpy's random_interval: uniform in [0, max] by masked rejection. */
static uint64_t mt_interval(struct rng_mt *r, uint64_t max)
{
  if (max == 0)
    return 0;
  uint64_t mask = max;
  for (int s = 1; s <= 32; s *= 2)
    mask |= mask >> s;
  uint64_t v;
  if (max <= 0xffffffffu) {
    while ((v = (rng_mt_u32(r) & mask)) > max)
      ;
  } else {
    for (;;) {
      uint64_t hi = rng_mt_u32(r), lo = rng_mt_u32(r);
      v = ((hi << 32) | lo) & mask;
      if (v <= max)
        break;
    }
  }
  return v;
}

void rng_numpy_permutation(uint32_t seed, size_t *perm, size_t n)
{
  struct rng_mt r;
  rng_mt_seed(&r, seed);
  for (size_t i = 0; i < n; i++)
    perm[i] = i;
  for (size_t i = n; i-- > 1;) {
    size_t j = (size_t)mt_interval(&r, i);
    size_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

void rng_xo_seed(struct rng_xo *r, uint64_t seed)
{
  for (int i = 0; i < 4; i++)
    r->s[i] = rng_splitmix64(&seed);
}

float rng_xo_uniform(struct rng_xo *r, float a)
{
  /* 24 random bits -> [0, 1) exactly representable in float */
  float u = (float)(rng_xo_u64(r) >> 40) * (1.0f / 16777216.0f);
  return (2.0f * u - 1.0f) * a;
}

/* Fisher-Yates over v[0..n) of entries of type T: one body for every
 * entry width, so that the shuffles draw alike and give the same order. */
#define XO_SHUFFLE(r, v, n, T)                           \
  for (size_t i = (n); i-- > 1;) {                       \
    size_t j = (size_t)(rng_xo_u64(r) % (i + 1));        \
    T t = (v)[i];                                        \
    (v)[i] = (v)[j];                                     \
    (v)[j] = t;                                          \
  }

void rng_xo_shuffle(struct rng_xo *r, size_t *v, size_t n)
{
  XO_SHUFFLE(r, v, n, size_t);
}

void rng_xo_shuffle_u32(struct rng_xo *r, uint32_t *v, size_t n)
{
  XO_SHUFFLE(r, v, n, uint32_t);
}

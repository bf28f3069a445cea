/*
 * idset.h - a set of 64-bit ids (users, movies, genres): the dataset
 * readers' duplicate and unknown-id checks and the bulk loader's foreign-key
 * checks (store/loader.c), one implementation for both.
 *
 * Design: ids in [0, IDSET_DENSE_MAX) live in a bitmap that grows by
 * doubling to the largest one seen (MovieLens and synthetic ids are dense
 * from 1, so a lookup is one load and a mask); any other id lives in an
 * open-addressing hash table with linear probing, power-of-two sized and
 * kept at most half full, where INT64_MIN marks an empty slot (so INT64_MIN
 * is the one id the set cannot hold). The bitmap is capped (8 MiB) so a
 * file with one huge id cannot make the importer allocate gigabytes.
 * idset_has is inline: the loader asks it twice per rating.
 *
 * Threads: a set belongs to one thread. A zeroed struct is an empty set.
 */
#ifndef HV_UTIL_IDSET_H
#define HV_UTIL_IDSET_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define IDSET_DENSE_MAX ((int64_t)1 << 26)

struct idset {
  uint64_t *bits; /* bitmap of the ids in [0, nbits) */
  int64_t nbits;  /* 0 or a power of two >= 4096, <= IDSET_DENSE_MAX */
  int64_t *slot;  /* the other ids; INT64_MIN marks an empty slot */
  size_t cap;     /* slots: 0 or a power of two */
  size_t n;       /* ids in slot */
};

/* Add id. Returns 1 when it was new, 0 when already present, HV_EINVAL for
 * INT64_MIN, HV_ENOMEM when the set cannot grow (err filled; may be NULL). */
int idset_add(struct idset *s, int64_t id, struct hv_err *err) HV_WARN_UNUSED;

/* Release the memory; the set is empty and reusable afterwards. */
void idset_free(struct idset *s);

/* Home slot of a sparse id in a table of cap slots (Fibonacci hashing). */
static inline size_t idset_slot_of(int64_t id, size_t cap)
{
  uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
  return (size_t)(h ^ (h >> 31)) & (cap - 1);
}

/* 1 when id is in the set, else 0 (always 0 for INT64_MIN). */
static inline int idset_has(const struct idset *s, int64_t id)
{
  if (id >= 0 && id < IDSET_DENSE_MAX)
    return id < s->nbits && (s->bits[id >> 6] >> (id & 63) & 1);
  if (!s->cap)
    return 0;
  for (size_t i = idset_slot_of(id, s->cap); s->slot[i] != INT64_MIN;
       i = (i + 1) & (s->cap - 1))
    if (s->slot[i] == id)
      return 1;
  return 0;
}

#endif

/*
 * idset.h - a set of positive 64-bit ids (users, movies) for the readers'
 * duplicate and unknown-id checks.
 *
 * Design: open addressing with linear probing in a power-of-two table kept
 * at most half full; 0 marks an empty slot, so only ids >= 1 can be stored
 * (MovieLens ids are). A hash table rather than a bitmap so a file with one
 * huge id cannot make the importer allocate gigabytes.
 *
 * Threads: a set belongs to one thread.
 */
#ifndef HV_UTIL_IDSET_H
#define HV_UTIL_IDSET_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct idset {
  int64_t *slot;
  size_t cap, n; /* cap is 0 or a power of two */
};

/* Add id (>= 1). Returns 1 when it was new, 0 when already present,
 * HV_EINVAL for id < 1, HV_ENOMEM when the table cannot grow. */
int idset_add(struct idset *s, int64_t id, struct hv_err *err) HV_WARN_UNUSED;

/* 1 when id is in the set, else 0. */
int idset_has(const struct idset *s, int64_t id);

/* Release the table; the set is empty and reusable afterwards. */
void idset_free(struct idset *s);

#endif

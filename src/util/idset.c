/*
 * idset.c - set of 64-bit ids, bitmap + hash table: see idset.h.
 */
#include "util/idset.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Grow the bitmap to hold id (0 <= id < IDSET_DENSE_MAX). */
static int grow_dense(struct idset *s, int64_t id)
{
  int64_t n = s->nbits ? s->nbits : 4096;
  while (n <= id)
    n *= 2;
  uint64_t *b = realloc(s->bits, (size_t)n / 8);
  if (!b)
    return HV_ENOMEM;
  memset(b + s->nbits / 64, 0, (size_t)(n - s->nbits) / 8);
  s->bits = b;
  s->nbits = n;
  return 0;
}

static void put(int64_t *slot, size_t cap, int64_t id)
{
  assert(id != INT64_MIN);               /* it marks an empty slot */
  assert(cap && (cap & (cap - 1)) == 0); /* idset_slot_of's mask needs it */
  size_t i = idset_slot_of(id, cap);
  while (slot[i] != INT64_MIN)
    i = (i + 1) & (cap - 1);
  slot[i] = id;
}

static int grow_sparse(struct idset *s)
{
  size_t cap = s->cap ? s->cap * 2 : 256;
  int64_t *slot = malloc(cap * sizeof(*slot));
  if (!slot)
    return HV_ENOMEM;
  for (size_t i = 0; i < cap; i++)
    slot[i] = INT64_MIN;
  for (size_t i = 0; i < s->cap; i++)
    if (s->slot[i] != INT64_MIN)
      put(slot, cap, s->slot[i]);
  free(s->slot);
  s->slot = slot;
  s->cap = cap;
  return 0;
}

int idset_add(struct idset *s, int64_t id, struct hv_err *err)
{
  if (id == INT64_MIN)
    return hv_err_set(err, HV_EINVAL, "id %lld cannot be held in an id set",
                      (long long)id);
  if (idset_has(s, id))
    return 0;
  if (id >= 0 && id < IDSET_DENSE_MAX) {
    if (id >= s->nbits && grow_dense(s, id))
      return hv_err_set(err, HV_ENOMEM, "out of memory for id %lld",
                        (long long)id);
    s->bits[id >> 6] |= (uint64_t)1 << (id & 63);
    return 1;
  }
  if ((s->n + 1) * 2 > s->cap && grow_sparse(s))
    return hv_err_set(err, HV_ENOMEM, "out of memory for %zu ids", s->n);
  assert(s->n * 2 < s->cap); /* a free slot ends every probe */
  put(s->slot, s->cap, id);
  s->n++;
  return 1;
}

void idset_free(struct idset *s)
{
  free(s->bits);
  free(s->slot);
  memset(s, 0, sizeof(*s));
}

/*
 * idset.c - hash set of positive ids: see idset.h.
 */
#include "util/idset.h"

#include <assert.h>
#include <stdlib.h>

static size_t slot_of(int64_t id, size_t cap)
{
  assert(cap && (cap & (cap - 1)) == 0); /* the mask below needs it */
  uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
  return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static void put(int64_t *slot, size_t cap, int64_t id)
{
  assert(id >= 1); /* 0 marks an empty slot */
  size_t i = slot_of(id, cap);
  while (slot[i] != 0) i = (i + 1) & (cap - 1);
  slot[i] = id;
}

static int grow(struct idset *s, struct hv_err *err)
{
  size_t cap = s->cap ? s->cap * 2 : 1024;
  int64_t *slot = calloc(cap, sizeof(*slot));
  if (!slot)
    return hv_err_set(err, HV_ENOMEM, "out of memory for %zu ids", s->n);
  for (size_t i = 0; i < s->cap; i++)
    if (s->slot[i])
      put(slot, cap, s->slot[i]);
  free(s->slot);
  s->slot = slot;
  s->cap = cap;
  return 0;
}

int idset_add(struct idset *s, int64_t id, struct hv_err *err)
{
  if (id < 1)
    return hv_err_set(err, HV_EINVAL, "id %lld is not positive", (long long)id);
  if (idset_has(s, id))
    return 0;
  if ((s->n + 1) * 2 > s->cap && grow(s, err))
    return HV_ENOMEM;
  assert(s->n * 2 < s->cap); /* a free slot ends every probe */
  put(s->slot, s->cap, id);
  s->n++;
  return 1;
}

int idset_has(const struct idset *s, int64_t id)
{
  if (!s->cap || id < 1)
    return 0;
  size_t i = slot_of(id, s->cap);
  while (s->slot[i] != 0) {
    if (s->slot[i] == id)
      return 1;
    i = (i + 1) & (s->cap - 1);
  }
  return 0;
}

void idset_free(struct idset *s)
{
  free(s->slot);
  s->slot = NULL;
  s->cap = s->n = 0;
}

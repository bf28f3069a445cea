/*
 * keyset.c - a set of distinct string keys: see keyset.h.
 */
#include "serve/ui/keyset.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static uint32_t hash_str(const char *s)
{
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static int keyset_rehash(struct keyset *k, size_t nslot)
{
  uint32_t *s = calloc(nslot, sizeof(*s));
  if (!s)
    return HV_ENOMEM;
  for (size_t i = 0; i < k->n; i++) {
    size_t j = hash_str(k->keys[i]) & (nslot - 1);
    while (s[j])
      j = (j + 1) & (nslot - 1);
    s[j] = (uint32_t)(i + 1);
  }
  free(k->slot);
  k->slot = s;
  k->nslot = nslot;
  return 0;
}

int keyset_add(struct keyset *k, const char *key)
{
  if (k->nslot == 0 || (k->n + 1) * 2 > k->nslot)
    if (keyset_rehash(k, k->nslot ? k->nslot * 2 : 64))
      return HV_ENOMEM;
  size_t j = hash_str(key) & (k->nslot - 1);
  while (k->slot[j]) {
    if (!strcmp(k->keys[k->slot[j] - 1], key))
      return 0;
    j = (j + 1) & (k->nslot - 1);
  }
  if (k->n == k->cap) {
    size_t nc = k->cap ? k->cap * 2 : 32;
    const char **p = realloc(k->keys, nc * sizeof(*p));
    if (!p)
      return HV_ENOMEM;
    k->keys = p;
    k->cap = nc;
  }
  k->keys[k->n++] = key;
  k->slot[j] = (uint32_t)k->n;
  return 0;
}

void keyset_free(struct keyset *k)
{
  free(k->keys);
  free(k->slot);
  memset(k, 0, sizeof(*k));
}

static int cmp_str_ptr(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void keyset_sort(struct keyset *k)
{
  if (k->n > 1)
    qsort(k->keys, k->n, sizeof(*k->keys), cmp_str_ptr);
  free(k->slot); /* indexes are stale now; the set is read-only after */
  k->slot = NULL;
  k->nslot = 0;
}

/*
 * keyset.h - a set of distinct string keys in insertion order, for the
 * pages that gather the param and metric names of many runs (the runs
 * table, the comparison).
 *
 * Design: the keys are borrowed (they live in the runs); an open-addressing
 * hash of indexes (FNV-1a, kept at most half full) finds repeats, so 1,000
 * runs x 30 keys stay well inside a page's 50 ms budget. keyset_sort orders
 * the keys and drops the index: the set is read-only afterwards.
 *
 * Threads: a set belongs to one thread. A zeroed struct is an empty set.
 */
#ifndef HV_SERVE_UI_KEYSET_H
#define HV_SERVE_UI_KEYSET_H

#include <stddef.h>
#include <stdint.h>

struct keyset {
  const char **keys;   /* (n) borrowed from the runs, insertion order */
  size_t n, cap;
  uint32_t *slot;      /* (nslot) index + 1, 0 empty */
  size_t nslot;
};

/* Add key (borrowed) unless present. 0 or HV_ENOMEM. */
int keyset_add(struct keyset *k, const char *key);

/* Sort the keys (strcmp order); no keyset_add after this. */
void keyset_sort(struct keyset *k);

/* Release the memory (not the keys); the set is empty afterwards. */
void keyset_free(struct keyset *k);

#endif

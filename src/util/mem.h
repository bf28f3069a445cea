/*
 * mem.h - releasing the arrays of a struct of arrays in one statement.
 *
 * Design: Harvest keeps tables as structs of column arrays (ratings, the
 * trainer's rows, the loss workspace, snapshots); their _free functions
 * release every column. HV_FREE_ALL(p->a, p->b, ...) frees each pointer of
 * the list in order, so such a function names its columns once instead of
 * one free() line each. NULL entries are fine (free(NULL) does nothing).
 * Pointers to const must be cast by the caller, as for free(). No state.
 */
#ifndef HV_UTIL_MEM_H
#define HV_UTIL_MEM_H

#include <stddef.h>
#include <stdlib.h>

/* free() each of p[0..n). */
static inline void mem_free_each(void *const *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(p[i]);
}

/* free() each argument (pointers to non-const objects), left to right. */
#define HV_FREE_ALL(...)                               \
  mem_free_each((void *const[]){__VA_ARGS__},          \
                sizeof((void *const[]){__VA_ARGS__}) / \
                    sizeof(void *))

#endif

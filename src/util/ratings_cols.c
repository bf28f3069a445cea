/*
 * ratings_cols.c - ratings as column arrays: see ratings_cols.h.
 */
#include "util/ratings_cols.h"

#include <string.h>

#include "util/mem.h"

/* The columns of c, in one place for growing. */
#define RATING_COLS(c)                                                    \
  {(void **)&(c)->rating_id, (void **)&(c)->user_id,                     \
   (void **)&(c)->movie_id, (void **)&(c)->rating, (void **)&(c)->timestamp}

static const size_t col_size[] = {sizeof(int64_t), sizeof(int64_t),
                                  sizeof(int64_t), sizeof(float),
                                  sizeof(int64_t)};

void ratings_cols_free(struct ratings_cols *c)
{
  if (!c)
    return;
  HV_FREE_ALL(c->rating_id, c->user_id, c->movie_id, c->rating, c->timestamp);
  memset(c, 0, sizeof(*c));
}

int ratings_cols_reserve(struct ratings_cols *c, size_t cap)
{
  void **const cols[] = RATING_COLS(c);
  return mem_grow_cols(cols, col_size, 5, cap);
}

int ratings_cols_room(struct ratings_cols *c, size_t *cap)
{
  void **const cols[] = RATING_COLS(c);
  return mem_cols_room(cols, col_size, 5, c->n, cap, 1024);
}

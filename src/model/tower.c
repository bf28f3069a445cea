/*
 * tower.c - forward and backward of the two towers: see tower.h.
 *
 * The loops run over dim innermost on contiguous rows so the compiler
 * vectorises them; rows are int32 indices validated by the caller (train.c
 * builds them, modelfile.c checks the stored feature indices), asserted
 * here row by row (one compare beside d multiply-adds).
 */
#include "model/tower.h"

#include <assert.h>
#include <string.h>

static void add_row(float *restrict dst, const float *restrict src, int d,
                    float scale)
{
  for (int k = 0; k < d; k++)
    dst[k] += scale * src[k];
}

/* One tower as tables: its id table, nfix one-hot feature tables (example
 * r's index into fix_tab[k] is fix[r * stride + col[k]]) and, when bag_off
 * is set, a bag of GENRE rows averaged (bag[bag_off[r] .. bag_off[r + 1])).
 * A table the layout left out (rows 0: a feature the dataset lacks) is not
 * among the fix_tab. */
struct side {
  int id;
  int nfix;
  int fix_tab[3];
  int col[3];
  int stride;
  const int32_t *fix;
  const int32_t *bag_off, *bag;
};

static struct side user_side(const struct model_layout *L,
                             const struct model_feats *F)
{
  struct side s = {TAB_USER, 0, {0}, {0}, 3, F->user_feat, NULL, NULL};
  for (int c = 0; c < 3; c++)
    if (L->rows[TAB_AGE + c]) {
      s.fix_tab[s.nfix] = TAB_AGE + c;
      s.col[s.nfix++] = c;
    }
  return s;
}

static struct side movie_side(const struct model_feats *F)
{
  return (struct side){TAB_MOVIE, 1, {TAB_YEAR}, {0}, 1, F->movie_year,
                       F->genre_off, F->genre};
}

/* Float offset in params (and grad) of row j of example r: j = 0 its id
 * row, 1..nfix its one-hot feature rows, then its bag rows. */
static inline size_t row_at(const struct model_layout *L, const struct side *s,
                            size_t r, size_t j)
{
  const size_t d = (size_t)L->dim, nfix = (size_t)s->nfix;
  if (j == 0)
    return L->off[s->id] + r * d;
  if (j <= nfix)
    return L->off[s->fix_tab[j - 1]] +
           (size_t)s->fix[r * (size_t)s->stride + (size_t)s->col[j - 1]] * d;
  return L->off[TAB_GENRE] + (size_t)s->bag[s->bag_off[r] + (j - 1 - nfix)] * d;
}

/* One pass of side s over the examples rows[0..n). Forward (grad NULL):
 * out (n, dim) row i = the sum of the rows example i reads, bag rows
 * weighted 1 / bag size. Backward (params NULL): each of those rows of grad
 * += its weight * dout row i. Rows are added in the same order both ways. */
static inline void side_pass(const struct model_layout *L, const struct side *s,
                             int features, const int32_t *rows, size_t n,
                             const float *params, float *out,
                             const float *dout, float *grad)
{
  const int d = L->dim;
  const size_t nfix = (size_t)s->nfix;
  for (size_t i = 0; i < n; i++) {
    const size_t r = (size_t)rows[i];
    assert(r < L->rows[s->id]);
    size_t nb = 0;
    if (features && s->bag_off)
      nb = (size_t)(s->bag_off[r + 1] - s->bag_off[r]);
    const float wb = nb ? 1.0f / (float)nb : 1.0f;
    const size_t nrow = features ? 1 + nfix + nb : 1;
    for (size_t j = 0; j < nrow; j++) {
      const size_t at = row_at(L, s, r, j);
      const float w = j > nfix ? wb : 1.0f;
      if (grad)
        add_row(grad + at, dout + i * (size_t)d, d, w);
      else if (j == 0)
        memcpy(out + i * (size_t)d, params + at, sizeof(float) * d);
      else
        add_row(out + i * (size_t)d, params + at, d, w);
    }
  }
}

static struct side side_of(enum tower which, const struct model_layout *L,
                           const struct model_feats *F)
{
  assert(which == TOWER_USER || which == TOWER_MOVIE);
  return which == TOWER_USER ? user_side(L, F) : movie_side(F);
}

void tower_forward(enum tower which, const struct model_layout *L,
                   const float *params, const struct model_feats *F,
                   int features, const int32_t *rows, size_t n, float *out)
{
  const struct side s = side_of(which, L, F);
  side_pass(L, &s, features, rows, n, params, out, NULL, NULL);
}

void tower_backward(enum tower which, const struct model_layout *L,
                    const struct model_feats *F, int features,
                    const int32_t *rows, size_t n, const float *dout,
                    float *grad)
{
  const struct side s = side_of(which, L, F);
  side_pass(L, &s, features, rows, n, NULL, NULL, dout, grad);
}

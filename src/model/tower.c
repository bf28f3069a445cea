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

void tower_user_forward(const struct model_layout *L, const float *params,
                        const struct model_feats *F, int features,
                        const int32_t *rows, size_t n, float *out)
{
  const int d = L->dim;
  for (size_t i = 0; i < n; i++) {
    float *o = out + i * (size_t)d;
    const size_t r = (size_t)rows[i];
    assert(r < L->rows[TAB_USER]);
    memcpy(o, params + L->off[TAB_USER] + r * d, sizeof(float) * d);
    if (!features)
      continue;
    const int32_t *f = F->user_feat + 3 * r;
    add_row(o, params + L->off[TAB_AGE] + (size_t)f[0] * d, d, 1.0f);
    add_row(o, params + L->off[TAB_GENDER] + (size_t)f[1] * d, d, 1.0f);
    add_row(o, params + L->off[TAB_OCC] + (size_t)f[2] * d, d, 1.0f);
  }
}

void tower_movie_forward(const struct model_layout *L, const float *params,
                         const struct model_feats *F, int features,
                         const int32_t *rows, size_t n, float *out)
{
  const int d = L->dim;
  for (size_t i = 0; i < n; i++) {
    float *o = out + i * (size_t)d;
    const size_t r = (size_t)rows[i];
    assert(r < L->rows[TAB_MOVIE]);
    memcpy(o, params + L->off[TAB_MOVIE] + r * d, sizeof(float) * d);
    if (!features)
      continue;
    add_row(o, params + L->off[TAB_YEAR] + (size_t)F->movie_year[r] * d, d,
            1.0f);
    int32_t g0 = F->genre_off[r], g1 = F->genre_off[r + 1];
    if (g1 > g0) {
      float w = 1.0f / (float)(g1 - g0);
      for (int32_t g = g0; g < g1; g++)
        add_row(o, params + L->off[TAB_GENRE] + (size_t)F->genre[g] * d, d,
                w);
    }
  }
}

void tower_user_backward(const struct model_layout *L,
                         const struct model_feats *F, int features,
                         const int32_t *rows, size_t n, const float *dout,
                         float *grad)
{
  const int d = L->dim;
  for (size_t i = 0; i < n; i++) {
    const float *g = dout + i * (size_t)d;
    const size_t r = (size_t)rows[i];
    assert(r < L->rows[TAB_USER]);
    add_row(grad + L->off[TAB_USER] + r * d, g, d, 1.0f);
    if (!features)
      continue;
    const int32_t *f = F->user_feat + 3 * r;
    add_row(grad + L->off[TAB_AGE] + (size_t)f[0] * d, g, d, 1.0f);
    add_row(grad + L->off[TAB_GENDER] + (size_t)f[1] * d, g, d, 1.0f);
    add_row(grad + L->off[TAB_OCC] + (size_t)f[2] * d, g, d, 1.0f);
  }
}

void tower_movie_backward(const struct model_layout *L,
                          const struct model_feats *F, int features,
                          const int32_t *rows, size_t n, const float *dout,
                          float *grad)
{
  const int d = L->dim;
  for (size_t i = 0; i < n; i++) {
    const float *g = dout + i * (size_t)d;
    const size_t r = (size_t)rows[i];
    assert(r < L->rows[TAB_MOVIE]);
    add_row(grad + L->off[TAB_MOVIE] + r * d, g, d, 1.0f);
    if (!features)
      continue;
    add_row(grad + L->off[TAB_YEAR] + (size_t)F->movie_year[r] * d, g, d,
            1.0f);
    int32_t g0 = F->genre_off[r], g1 = F->genre_off[r + 1];
    if (g1 > g0) {
      float w = 1.0f / (float)(g1 - g0);
      for (int32_t k = g0; k < g1; k++)
        add_row(grad + L->off[TAB_GENRE] + (size_t)F->genre[k] * d, g, d, w);
    }
  }
}

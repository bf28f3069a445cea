/*
 * tower.h - the user and movie towers: forward (embedding lookups summed
 * with the feature embeddings) and backward (scatter-add of the output
 * gradient into the tables).
 *
 * user(r)  = U[r] + AGE[a(r)] + GENDER[g(r)] + OCC[o(r)]       (features on)
 * movie(r) = M[r] + YEAR[y(r)] + mean_{g in genres(r)} GENRE[g] (features on)
 * With features off each tower is its id embedding only. Pure functions of
 * their arguments; thread-safe on disjoint outputs.
 */
#ifndef HV_MODEL_TOWER_H
#define HV_MODEL_TOWER_H

#include <stddef.h>
#include <stdint.h>

#include "model/model_internal.h"

enum tower { TOWER_USER, TOWER_MOVIE };

/* out (n, dim) = the `which` tower of rows[0..n) (row indices of TAB_USER
 * or TAB_MOVIE). */
void tower_forward(enum tower which, const struct model_layout *L,
                   const float *params, const struct model_feats *F,
                   int features, const int32_t *rows, size_t n, float *out);

/* grad (L->n_params) += d(out)/d(params)^T dout, dout (n, dim). */
void tower_backward(enum tower which, const struct model_layout *L,
                    const struct model_feats *F, int features,
                    const int32_t *rows, size_t n, const float *dout,
                    float *grad);

#endif

/*
 * ratings_cols.h - ratings as a struct of column arrays: the one shape the
 * store loads them in (store/ratings.h) and the model trains and evaluates
 * on (model/dataset.h), so a load is handed to the model without a copy.
 *
 * Design: it lives on the floor because both the store and the model use
 * it and neither may include the other. Plain memory: no state, no I/O;
 * share read-only freely.
 */
#ifndef HV_UTIL_RATINGS_COLS_H
#define HV_UTIL_RATINGS_COLS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Ratings, one entry per index, in the order the load names. Ids need not
 * be in the users or movies tables (they are then ids without features). */
struct ratings_cols {
  size_t n;
  int64_t *rating_id; /* (n) */
  int64_t *user_id;   /* (n) */
  int64_t *movie_id;  /* (n) */
  float *rating;      /* (n) */
  int64_t *timestamp; /* (n) */
};

/* Release the arrays and zero c; NULL and a zeroed struct are fine. */
void ratings_cols_free(struct ratings_cols *c);

/* Grow every column to hold cap ratings (cap >= c->n; c->n unchanged).
 * Returns 0 or HV_ENOMEM, with c still whole (its columns are at least as
 * long as before; ratings_cols_free releases them). */
int ratings_cols_reserve(struct ratings_cols *c, size_t cap) HV_WARN_UNUSED;

/* Room for one more rating while they stream in: when c->n == *cap, grow
 * the columns to twice *cap (1024 when 0) and update *cap. Returns 0 or
 * HV_ENOMEM (as ratings_cols_reserve). */
int ratings_cols_room(struct ratings_cols *c, size_t *cap) HV_WARN_UNUSED;

#endif

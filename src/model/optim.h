/*
 * optim.h - Adagrad and Adam over spans of one parameter block.
 *
 * Design: parameters, gradients and optimiser state are each ONE float
 * block of the same shape; a step updates only the spans (offset, length)
 * the batch touched (the rows of its distinct users and movies, and the
 * small feature tables whole) and zeroes their gradient, so a step costs
 * O(batch) not O(vocabulary). For Adagrad this is exactly the dense update
 * (a zero gradient changes nothing); for Adam it is the "lazy" variant
 * (moments of untouched rows are not decayed). Thread-safe on disjoint
 * blocks.
 */
#ifndef HV_MODEL_OPTIM_H
#define HV_MODEL_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#define OPTIM_ADAGRAD_INIT 0.1f /* Keras initial_accumulator_value */
#define OPTIM_EPS 1e-7f         /* Keras epsilon (Adagrad and Adam) */
#define OPTIM_BETA1 0.9
#define OPTIM_BETA2 0.999

struct optim_span {
  size_t off, len; /* floats */
};

/* Slots of state per parameter: 1 (Adagrad accumulator) or 2 (Adam m, v). */
int optim_slots(int kind);

/* Initialise the state of params [off, off+len) for a new row: Adagrad
 * accumulator 0.1, Adam moments 0. state holds slots * n_params floats. */
void optim_init_state(int kind, float *state, size_t n_params, size_t off,
                      size_t len);

/* One step at learning rate lr on the spans: params -= update(grad), state
 * updated, grad zeroed on the spans. t is the 1-based step (Adam's bias
 * correction). */
void optim_step(int kind, double lr, uint64_t t, float *params,
                float *state, size_t n_params, float *grad,
                const struct optim_span *spans, size_t n_spans);

#endif

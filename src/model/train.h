/*
 * train.h - the trainer behind `harvest train` (train_run and the
 * configurations are declared in model.h, the public header).
 *
 * Design: one trainer borrows the dataset's columns (dataset.h; the
 * caller loaded them), builds the vocabularies (the users and movies
 * tables, the ids in the ratings, and init_from's ids), splits with numpy's
 * RandomState permutation, and runs mini-batch steps: group the batch into
 * distinct users x distinct movies (loss.h), tower forward, loss and
 * gradient (3 sgemm per tile), tower backward, optimiser step on the
 * touched rows. Parameters, gradients and optimiser state are each one
 * block. The trained weights become a model file image and then an
 * immutable struct hv_model, exactly as loading a saved file would give.
 *
 * Threads: train_run is single-threaded apart from OpenBLAS; with one
 * OpenBLAS thread the result is bit-for-bit deterministic for a seed.
 */
#ifndef HV_MODEL_TRAIN_H
#define HV_MODEL_TRAIN_H

#include "model/model.h"

/* The logQ term of movie row r: log(max(count, 1) / n_train), as the peer. */
float train_logq(int64_t count, size_t n_train);

#endif

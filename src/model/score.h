/*
 * score.h - top-k selection over a score vector (the hot path of
 * recommend and of the ranking metrics).
 *
 * A bounded min-heap of indices keyed by the scores themselves, so the
 * selection needs no memory beyond the k output slots: O(n log k), no
 * allocation. Order: higher score first, ties by lower index; entries
 * scoring -INFINITY (masked) are never returned. Thread-safe.
 */
#ifndef HV_MODEL_SCORE_H
#define HV_MODEL_SCORE_H

#include <stddef.h>
#include <stdint.h>

/* The indices of the best min(k, #unmasked) entries of sc[0..n), best
 * first, in idx[0..k); returns how many. */
size_t score_topk(const float *sc, size_t n, size_t k, int64_t *idx);

#endif

/*
 * score.h - the scoring hot path of recommend and of the ranking metrics:
 * dot products of one vector against a packed matrix, and top-k selection
 * over a score vector.
 *
 * Dot products: the rows to score (movie vectors, (n, d) row-major) are
 * repacked once, at model load, into blocks of SCORE_BLOCK rows stored
 * column by column ((d, SCORE_BLOCK) per block, zero-padded). One score
 * block is then d multiply-adds of a broadcast user component with
 * SCORE_BLOCK/16 full SIMD registers: no horizontal sums and no BLAS call
 * overhead, which dominate a 1682 x 32 sgemv (measured with the top-k
 * below: 7.2 -> 2.4 us of CPU per recommend call on ml-100k, dim 32). A
 * naive double loop is the test oracle.
 *
 * Top-k: a bounded min-heap of indices keyed by the scores themselves, so
 * the selection needs no memory beyond the k output slots. The scan keeps
 * the current k-th best score as a threshold and touches the heap only for
 * a score above it (with AVX-512, 16 scores per compare); on a random order
 * only O(k log(n/k)) of the n scores do. Order: higher score first, ties by
 * lower index; entries scoring -INFINITY (masked) or NaN are never
 * returned.
 *
 * Threads: every function is pure (reads its inputs, writes its outputs)
 * and thread-safe.
 */
#ifndef HV_MODEL_SCORE_H
#define HV_MODEL_SCORE_H

#include <stddef.h>
#include <stdint.h>

#define SCORE_BLOCK 64 /* rows per packed block */

/* Floats a packed copy of an (n, d) matrix takes: n rounded up to
 * SCORE_BLOCK, times d. */
size_t score_pack_floats(size_t n, int d);

/* A packed copy of rows (n, d) row-major for score_dots, 64-byte aligned;
 * the caller frees it with free(). NULL when n == 0, d < 1, rows is NULL
 * or memory runs out. */
float *score_pack(const float *rows, size_t n, int d);

/* out[i] = <row i, u> for the n rows of packed (made by score_pack with the
 * same n and d), i in [0, n): out holds n floats, u holds d. */
void score_dots(const float *packed, size_t n, int d, const float *u,
                float *out);

/* The score score_dots gives row (d floats, contiguous) for u, bit for bit
 * (the same products summed in the same order): the exact re-scoring of an
 * approximate index's short list (ivf.h), so a movie it finds scores
 * exactly as on the exact path. Reading the row contiguously touches d/16
 * cache lines, where the packed layout's column would touch d. */
float score_dot_row(const float *row, int d, const float *u);

/* The indices of the best min(k, #unmasked) entries of sc[0..n), best
 * first, in idx[0..k); returns how many (0 when sc or idx is NULL). */
size_t score_topk(const float *sc, size_t n, size_t k, int64_t *idx);

#endif

/*
 * ivf.h - an approximate top-k index of the movie tower for catalogues too
 * large to score whole on every request: an inverted file (IVF) over
 * k-means clusters of the movie vectors, scanned with int8 codes, whose
 * short list is re-scored exactly. The idea of FAISS's IndexIVF (Jegou,
 * Douze & Schmid 2011; Johnson, Douze & Jegou 2019) and of ScaNN's
 * "score coarsely, re-rank exactly" (Guo et al. 2020), written for this
 * model's one query shape: one user vector, inner product, top n.
 *
 * Search for user vector u, k results, nprobe lists:
 *   1. u . centroid for every list (score_dots over the packed centroids);
 *      the nprobe best lists are probed. A list's centroid is the mean of
 *      its movies, so u . centroid is the mean score of the list: the
 *      lists most likely to hold high scores first (the usual MIPS probe).
 *   2. Every movie of the probed lists is scored approximately from its
 *      int8 code (per-vector scale, symmetric: x ~ scale * code) against
 *      u quantised the same way: integer dot products, 4x less memory read
 *      than floats. Excluded movies are dropped here.
 *   3. The best R = 2k + 16 by that score (the short list) are re-scored
 *      exactly with the model's own arithmetic (score_dot_row, bit for bit
 *      the exact path's score) and the best k of those returned, ties to
 *      the lower movie index: where the index finds the same movies as
 *      exact scoring, the answer is identical, order and scores included.
 *
 * Build: k-means (Lloyd, squared L2, which is what makes a centroid the
 * mean of its list) on a seeded sample of IVF_TRAIN_PER_LIST points per
 * list, assignments by one sgemm per block of rows (OpenBLAS); empty lists
 * are re-seeded by splitting the largest (as FAISS). Default nlist =
 * round(4 sqrt(n)) (FAISS's guideline of 4..16 sqrt(n): the low end keeps
 * the centroid scan (nlist x d) small next to the list scan, whose size is
 * n x nprobe / nlist). nprobe is then chosen by measurement, not a guess:
 * the build computes the exact top IVF_RECALL_K of a sample of real users'
 * vectors (the caller's queries) with the exact path's kernel and picks
 * the smallest nprobe whose mean recall@K reaches the floor (doubling,
 * then bisection; recall grows with nprobe). The recall at the chosen
 * nprobe is stored, so a server can refuse an index below its own floor.
 * Everything is a function of (vectors, queries, params): the same inputs
 * and seed give the same bytes.
 *
 * File (version 1), little-endian:
 *   offset 0    header, 128 bytes: magic "\x89HVIVFX\n", u32 version,
 *               u32 header bytes (128), u64 file bytes, u32 n, u32 d,
 *               u32 nlist, u32 nprobe, u32 dpad (d rounded up to 32),
 *               u32 recall K, u32 queries, u32 0x01020304 (byte order),
 *               f64 recall, f64 floor, u64 seed, 32 bytes: the stored
 *               SHA-256 of the model file the index belongs to (its last
 *               32 bytes), zeros to 128.
 *   sections    each 64-byte aligned, in order: centroids (nlist, d) f32,
 *               list offsets (nlist + 1) u32, members (n) u32 (a
 *               permutation of the movie indexes, list by list), scales
 *               (n) f32, codes (n, dpad) i8.
 *   last 32     SHA-256 of every byte before it.
 * ivf_load_buffer checks all of it (sizes, the checksum, offsets ascending
 * from 0 to n, members a permutation, finite floats, recall in [0, 1],
 * nprobe in 1..nlist), so a hostile file can at worst be refused;
 * ivf_matches checks that it belongs to the model at hand.
 *
 * Threads: an index is immutable once built or loaded; ivf_search is
 * thread-safe with per-thread scratch.
 */
#ifndef HV_MODEL_IVF_H
#define HV_MODEL_IVF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define IVF_VERSION 1
#define IVF_RECALL_K 100           /* recall@K measured at build */
#define IVF_DEFAULT_MIN_RECALL 0.95
#define IVF_TRAIN_PER_LIST 40      /* k-means sample points per list */
#define IVF_MAX_BYTES ((size_t)1 << 34)

struct hv_ivf;

struct ivf_params {
  int nlist;         /* lists; 0 = round(4 sqrt(n)) within 1..max(1, n/8) */
  int nprobe;        /* > 0: use this; 0 = the smallest reaching min_recall */
  double min_recall; /* the floor nprobe is chosen for, in (0, 1] */
  int iters;         /* k-means iterations (1..100, default 10) */
  uint64_t seed;     /* sample, initial centroids */
};

/* nlist 0, nprobe 0, min_recall IVF_DEFAULT_MIN_RECALL, iters 10, seed 42. */
void ivf_params_defaults(struct ivf_params *p);

/* What an index is and what its build measured (all stored in the file). */
struct ivf_info {
  size_t n;             /* movies indexed */
  int d;                /* vector size */
  int nlist, nprobe;    /* lists; lists probed by default */
  int recall_k;         /* K of the recall: min(IVF_RECALL_K, n) */
  size_t n_queries;     /* user vectors the recall was measured on */
  double recall;        /* mean recall@K at nprobe against exact scoring */
  double min_recall;    /* the floor nprobe was chosen for */
  uint64_t seed;
  unsigned char model_sum[32]; /* the model file's stored checksum */
};

/* Build an index of vecs (n, d) row-major (movie index i = row i), measure
 * its recall on queries (nq, d) (users' vectors) and choose nprobe (see the
 * header comment). model_sum names the model it belongs to (stored, for
 * ivf_matches). *out is the caller's (ivf_free). HV_EINVAL for NULL
 * arguments, n == 0, n > UINT32_MAX, d out of 1..1024, nq == 0, params out
 * of range or non-finite vectors; HV_ENOMEM. */
int ivf_build(const float *vecs, size_t n, int d, const float *queries,
              size_t nq, const unsigned char model_sum[32],
              const struct ivf_params *p, struct hv_ivf **out,
              struct hv_err *err) HV_WARN_UNUSED;

/* Release an index; NULL does nothing. */
void ivf_free(struct hv_ivf *ix);

/* Borrowed description of ix. */
const struct ivf_info *ivf_info(const struct hv_ivf *ix);

/* 0 when ix indexes n vectors of size d of the model whose stored checksum
 * is model_sum; else HV_EINVAL saying what differs ("built for another
 * model file: rebuild it"). */
int ivf_matches(const struct hv_ivf *ix, size_t n, int d,
                const unsigned char model_sum[32],
                struct hv_err *err) HV_WARN_UNUSED;

/* Write ix to path atomically (hv_write_atomic, mode 0644). */
int ivf_save(const struct hv_ivf *ix, const char *path,
             struct hv_err *err) HV_WARN_UNUSED;

/* Read and validate path: HV_ENOTFOUND when missing, HV_ECORRUPT for a
 * damaged, truncated or foreign file, HV_EVERSION for another format
 * version, HV_ETOOBIG above IVF_MAX_BYTES; messages name the file and the
 * field. */
int ivf_load(const char *path, struct hv_ivf **out,
             struct hv_err *err) HV_WARN_UNUSED;

/* The same from a memory image (copied). */
int ivf_load_buffer(const void *buf, size_t len, struct hv_ivf **out,
                    struct hv_err *err) HV_WARN_UNUSED;

/* The file image of ix (borrowed) and its length. */
const unsigned char *ivf_image(const struct hv_ivf *ix, size_t *len);

/* Bytes of scratch ivf_search needs for up to k results. */
size_t ivf_scratch_bytes(const struct hv_ivf *ix, size_t k);

/* The approximate top k of the n indexed vectors for user vector u (d):
 * vecs (n, d) row-major are the same vectors (the model's movie_vec rows:
 * the exact re-scoring reads them), nprobe lists (0 = the index's), skipping
 * the ascending movie indexes excl[0..n_excl). Writes up to k indexes
 * (best first, ties lower index first) and exact scores (out_sc may be
 * NULL); returns how many. scratch holds ivf_scratch_bytes(ix, k) bytes,
 * 8-byte aligned. No allocation; thread-safe. */
size_t ivf_search(const struct hv_ivf *ix, const float *vecs,
                  const float *u, size_t k, int nprobe, const uint32_t *excl,
                  size_t n_excl, int64_t *out_idx, float *out_sc,
                  void *scratch);

#endif

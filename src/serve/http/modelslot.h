/*
 * modelslot.h - the model being served: an immutable, reference-counted
 * snapshot swapped atomically.
 *
 * Design: a snapshot bundles a loaded model, what it is (name, version,
 * stage, file), the title cache of the catalogue it serves (each title
 * pre-encoded as a JSON string literal, sorted by movie id) and a memo of
 * each user's top movies under this model, so one request sees one
 * consistent model and catalogue, and a swap drops the memo with the model. The slot holds one current
 * snapshot. Readers take a reference under a short mutex
 * (modelslot_acquire), use the snapshot without any lock, and drop it
 * (modelslot_release). A reload builds a new snapshot beside the old one
 * and publishes it under the same mutex; requests in flight finish on the
 * old snapshot, which is freed by whoever drops its last reference.
 *
 * Threads: acquire / release / publish are safe from any thread. A
 * snapshot is never modified after it is published, except its memo of
 * top movies, which is thread-safe on its own.
 */
#ifndef HV_SERVE_HTTP_MODELSLOT_H
#define HV_SERVE_HTTP_MODELSLOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "recommend/retindex.h"
#include "util/err.h"

struct hv_db;
struct recommend_memo;

/* Ranker snapshots a retrieval snapshot keeps memoised answers for. */
#define MODELSLOT_RANKED 4

struct modelslot_snap {
  void *model;                      /* owned; freed with free_model */
  void (*free_model)(void *model);
  char name[128];                   /* registered name, or the file name */
  int64_t version;                  /* registry version; for a file, the
                                       n-th time it was loaded (1, 2, ...) */
  char stage[32];                   /* "Production" or "file" */
  char source[1024];                /* the model file it was loaded from */
  double loaded_at;                 /* seconds since the epoch */
  size_t scratch_size;              /* bytes a recommend call needs */
  int n_movies;                     /* candidates the model scores */
  /* each user's top k, filled on first request (the one part written
   * after publishing: lock-free, see model_recommend_cached); NULL = off */
  struct hv_topcache *topcache;
  uint64_t seq;                     /* set by modelslot_publish: 1, 2, ...
                                       per slot, never reused */
  /* retrieve-then-rank answers under this (retrieval) snapshot, one memo
   * per ranker snapshot (by its seq), made on first use
   * (modelslot_ranked_memo); written after publishing, lock-free */
  _Atomic uint64_t ranked_seq[MODELSLOT_RANKED];
  struct recommend_memo *_Atomic ranked_memo[MODELSLOT_RANKED];
  char version_text[192];           /* "NAME/VERSION" (X-Model-Version) */
  struct retindex_result index;     /* the retrieval index the model answers
                                       through (index.used), and why */
  /* title cache: n_titles (id, JSON literal) pairs sorted by id; the
   * literals live in one block (text). When ids are dense enough, by_id
   * maps id -> index + 1 (0 = none) for an O(1) lookup on the hot path. */
  size_t n_titles;
  int64_t *title_id;
  uint32_t *title_off, *title_len;
  char *text;
  uint32_t *by_id;                  /* (max_id + 1) or NULL */
  int64_t max_id;
  atomic_int refs;
};

struct modelslot;

/* An empty slot; NULL on out of memory. Free with modelslot_free. */
struct modelslot *modelslot_new(void);

/* Drop the current snapshot (freed once the last reader releases it) and
 * free the slot; NULL does nothing. */
void modelslot_free(struct modelslot *s);

/* A new snapshot owning model (freed with free_model, which may be NULL);
 * the caller holds its one reference. NULL on out of memory (model is then
 * freed). */
struct modelslot_snap *modelslot_snap_new(void *model,
                                          void (*free_model)(void *),
                                          const char *name, int64_t version,
                                          const char *stage,
                                          const char *source);

/* Fill the snapshot's title cache from the catalogue (before publishing). */
int modelslot_snap_titles(struct modelslot_snap *snap, struct hv_db *c,
                          struct hv_err *err) HV_WARN_UNUSED;

/* The JSON literal (with quotes) of movie id's title and its length in
 * *len, or NULL when the catalogue does not hold id. Borrowed from snap. */
const char *modelslot_title(const struct modelslot_snap *snap, int64_t id,
                            size_t *len);

/* The current snapshot with one more reference, or NULL when none is
 * loaded. Release it with modelslot_release. */
struct modelslot_snap *modelslot_acquire(struct modelslot *s);

/* Drop one reference; the last one frees the snapshot. NULL does nothing. */
void modelslot_release(struct modelslot_snap *snap);

/* Make snap current, taking over the caller's reference; the previous
 * snapshot loses the slot's reference. */
void modelslot_publish(struct modelslot *s, struct modelslot_snap *snap);

/* The memo of answers of retrieval snapshot snap ranked by ranker
 * snapshot ranker in this order, blend, candidates (recommend_memo_new),
 * depth answers deep, made on the first call for that ranker; it lives as
 * long as snap (the ranker is told apart by its seq, never by address).
 * NULL when snap already keeps MODELSLOT_RANKED other rankers' memos,
 * another thread is making it, or memory runs out: the caller computes.
 * Thread-safe. */
struct recommend_memo *modelslot_ranked_memo(struct modelslot_snap *snap,
                                             const struct modelslot_snap *ranker,
                                             int order, double blend,
                                             int candidates, int depth);

/* Version and name of the current snapshot without taking a reference
 * (name copied into out, cap bytes). Returns 0 when none is loaded, else
 * 1. */
int modelslot_peek(struct modelslot *s, char *name, size_t cap,
                   int64_t *version);

#endif

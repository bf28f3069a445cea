/*
 * sq_loader.h - the SQLite bulk loader's state, shared by sq_loader.c (the
 * transaction: pragmas, rows, the writer thread, commit) and sq_bulk.c (the
 * key-order path: the feed virtual table, imposters, the ratings indexes).
 * Private to src/store/sqlite/; the design is in sq_loader.c's opening
 * comment.
 *
 * Threads: a loader uses its connection exclusively until commit/abort.
 * Full batches of ratings are written on the loader's writer thread while
 * the caller's thread reads and checks the next ones; the connection is
 * used by one thread at a time (the caller's waits for the writer to go
 * idle before it touches it: ld_writer in sq_loader.c).
 */
#ifndef HV_STORE_SQLITE_SQ_LOADER_H
#define HV_STORE_SQLITE_SQ_LOADER_H

#include <pthread.h>
#include <stdint.h>

#include "store/backend.h"
#include "store/loader.h"
#include "store/sqlite/sq.h"

/* The load's statements: one INSERT per catalogue table (indexed by its
 * enum loader_table value), then the ratings'. */
enum { ST_RATING = LOAD_TABLES, ST_BATCH, ST_TIME, ST_COUNT };

/* Rows per INSERT .. SELECT from the feed. */
#define LOAD_BATCH 4096
/* Batches that may wait for the writer thread (one more is being filled). */
#define LOAD_QUEUE 4

/* What a ratings index is keyed on, as far as the fast path cares. */
enum { IX_OTHER, IX_USER, IX_MOVIE, IX_TIME };

struct ld_index {
  char *name;   /* sqlite3_malloc'ed */
  char *sql;    /* CREATE INDEX statement */
  int root;     /* b-tree root page */
  int kind;     /* IX_* */
  int imposter; /* hv_load_idx_<i> maps this index's b-tree */
};

/* What the feed virtual table returns to the statement being stepped. */
enum { FEED_ROWS, FEED_TIME, FEED_KEYS };

struct ld_feed {
  int mode;
  const struct hv_rating *rows; /* ROWS and TIME: rows[0..n) */
  const uint32_t *perm;         /* KEYS: row offsets in key order */
  const uint32_t *ends;         /* KEYS: ends[k] = end of key k's run */
  int64_t base;                 /* KEYS: rating_id of offset 0 */
  int64_t n;
};

/* A batch of in-order ratings for the writer; time: also append their
 * time index entries (the time index was live when the batch was full). */
struct ld_batch {
  struct hv_rating rows[LOAD_BATCH];
  int n;
  int time;
};

/* The writer thread and its queue: slot[(head + i) % (LOAD_QUEUE + 1)] for
 * i < queued are full batches in order (the first may be being written);
 * the caller's thread fills slot[(head + queued) % (LOAD_QUEUE + 1)]. mu
 * guards head, queued, stop, rc and err; cv signals every change. */
struct ld_writer {
  pthread_t th;
  int started;  /* th runs (else batches are written on the caller's thread) */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int sync_ok;  /* mu and cv initialised */
  struct ld_batch *slot; /* LOAD_QUEUE + 1 */
  int head, queued;
  int stop;     /* no more batches: write what is queued and exit */
  int rc;       /* the first failure (then later batches are dropped) */
  struct hv_err err;
};

struct sq_loader {
  struct hv_db *db;
  sqlite3_stmt *st[ST_COUNT];
  int64_t max_rating_id;          /* largest rating_id written or buffered */
  struct ld_batch *fill;          /* the batch being filled */
  struct ld_writer w;
  struct ld_index *idx;           /* the ratings indexes */
  int n_idx;
  int fast;       /* imposters in use (else indexes dropped, re-created) */
  int imposters;  /* the in-memory schema holds imposters: reset it */
  int module;     /* the feed module is registered */
  struct ld_feed feed;
  int time_live;  /* the time index is appended to batch by batch */
  int64_t last_ts;
  /* user and movie id of rating key_base + i, while rows come in order */
  int keys_ok;
  uint32_t *ukey, *mkey;
  uint32_t umax, mmax;
  int64_t nkeys, capkeys, key_base;
  int saved_fk, saved_temp_store, saved_threads, saved_secure_delete;
  int saved_autockpt;
  int journal_switched; /* WAL switched to DELETE for the load */
  int rebuilt;
};

/* ---- sq_bulk.c -------------------------------------------------------- */

/* Set up writing ratings: the feed module, the list of ratings indexes,
 * imposters (unless plain) or the fallback that drops the indexes, and
 * every statement of the load. */
int sq_bulk_setup(struct sq_loader *ld, int plain, struct hv_err *err);

/* Keep the user and movie id of an in-order row (for the user and movie
 * indexes at commit); keys_drop gives that up (the indexes are rebuilt). */
void sq_bulk_keys_add(struct sq_loader *ld, const struct hv_rating *r);
void sq_bulk_keys_drop(struct sq_loader *ld);

/* Write a batch of in-order ratings (and their time index entries when
 * b->time is set) through the feed. Uses the connection: one thread at a
 * time. */
int sq_bulk_write(struct sq_loader *ld, const struct ld_batch *b,
                  struct hv_err *err);

/* Fill every ratings index at commit: appended in key order where the rows
 * allowed it, rebuilt from the table otherwise. */
int sq_bulk_build_indexes(struct sq_loader *ld, struct hv_err *err);

/* Undo what setup did to the connection (imposters, feed module) and free
 * the index list and kept keys. The statements are finalized by the
 * caller. */
void sq_bulk_release(struct sq_loader *ld);

#endif

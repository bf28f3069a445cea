/*
 * loader.h - the bulk import: the catalogue (genres, movies, users) and
 * ratings in one transaction.
 *
 * Design: a struct loader is one write transaction. Readers (ml-100k,
 * ml-1m, ml-latest, synth) push rows into it and either commit everything
 * or abort and leave the database as it was, so a bad line anywhere loses
 * nothing. Foreign keys and the rating range are checked here (loader.c),
 * in C, against the ids loaded so far, the same for every backend, so rows
 * must come parents first: genres, movies, users, then ratings. The
 * backend writes the rows the fastest way it has; SQLite's
 * (sqlite/sq_loader.c, sq_bulk.c) is built for tens of millions of
 * ratings: statements prepared once, ratings into the table without per-row
 * index maintenance, each ratings index written in key order (appended, not
 * sorted) when the rows allow it, else rebuilt at commit. Ratings in
 * increasing rating_id order with non-decreasing timestamps (what synth and
 * the importers produce) take the fastest path.
 *
 * Threads: a loader uses its connection exclusively until commit/abort
 * (SQLite's from the caller's thread and its writer thread in turn).
 */
#ifndef HV_STORE_LOADER_H
#define HV_STORE_LOADER_H

#include <stdint.h>

#include "util/err.h"

struct hv_db;
struct loader;

struct hv_movie {
  int64_t id;
  const char *title;        /* UTF-8 */
  const char *release_date; /* as in the source, NULL when unknown */
  int release_year;         /* 0 when unknown */
  const char *imdb_url;     /* NULL when unknown */
  const int *genre_ids;     /* n_genres ids of genres already loaded */
  int n_genres;
};

struct hv_user {
  int64_t id;
  int raw_age;              /* -1 when unknown (stored NULL) */
  int bucketized_age;       /* -1 when unknown */
  const char *gender;       /* "M"/"F", NULL when unknown */
  const char *occupation_text; /* NULL when unknown */
  int occupation_label;     /* -1 when unknown */
  const char *zip_code;     /* NULL when unknown */
};

struct hv_rating {
  int64_t rating_id; /* 1-based; 0 lets the store assign the next id */
  int64_t user_id;
  int64_t movie_id;
  double rating;     /* 0.5 .. 5 */
  int64_t timestamp; /* seconds since the epoch */
};

/* Where the time of a load went, filled by loader_commit (seconds of
 * wall time; the flags say which SQLite path ran). */
struct loader_times {
  double rows;     /* loader_begin .. loader_commit called */
  double indexes;  /* writing or rebuilding the ratings indexes at commit */
  double commit;   /* COMMIT: the rest of the pages into the WAL */
  double checkpoint; /* copying the WAL into the database file */
  int fast;        /* 1: rows and indexes written through key-order b-tree
                    * appends; 0: indexes dropped and re-created */
  int rebuilt;     /* ratings indexes rebuilt by sorting at commit */
  int rollback_journal; /* 1: loaded with journal_mode=DELETE (no other
                         * connection was open), then back to WAL */
};

struct loader_opts {
  int replace; /* swap an existing dataset instead of refusing */
  int plain;   /* 1: skip the key-order fast path (tests, diagnosis) */
  int keep_wal; /* 1: stay in WAL mode even when no other connection is
                 * open (else the load uses a rollback journal) */
  struct loader_times *times; /* filled by commit when not NULL */
};

/* Start a load. With replace set, the existing catalogue and ratings are
 * deleted inside the same transaction; without it a database that already
 * holds ratings or movies is refused (HV_ECONFLICT). *out is freed by
 * loader_commit or loader_abort. */
int loader_begin(struct hv_db *db, int replace, struct loader **out,
                 struct hv_err *err) HV_WARN_UNUSED;

/* loader_begin with options (opts NULL: all zero). opts->times must
 * stay valid until commit or abort. */
int loader_begin_opts(struct hv_db *db,
                      const struct loader_opts *opts,
                      struct loader **out,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Add one row. Each returns 0 or a negative HV_E* code with err filled:
 * HV_EINVAL for a row that refers to an unknown genre, user or movie id
 * ("rating 17: unknown user id 99") or has a rating outside 0.5..5,
 * HV_ECONFLICT for a duplicate id, HV_EDB for a database failure. Ratings
 * are buffered: rows with increasing rating_id are written in batches,
 * on a writer thread in SQLite's case, so a database failure of a batch
 * (it names the batch's id range) is returned by a later loader_rating or
 * by loader_commit; a rating_id <= one seen before is written at once.
 * After a failure call loader_abort. */
int loader_genre(struct loader *ld, int id, const char *name,
                 struct hv_err *err) HV_WARN_UNUSED;
int loader_movie(struct loader *ld, const struct hv_movie *m,
                 struct hv_err *err) HV_WARN_UNUSED;
int loader_user(struct loader *ld, const struct hv_user *u,
                struct hv_err *err) HV_WARN_UNUSED;
int loader_rating(struct loader *ld, const struct hv_rating *r,
                  struct hv_err *err) HV_WARN_UNUSED;

/* Write buffered ratings, fill the ratings indexes, record the dataset
 * (name, source) with its counts and commit. Frees ld on every path; on
 * failure everything is rolled back. */
int loader_commit(struct loader *ld, const char *name, const char *source,
                  struct hv_err *err) HV_WARN_UNUSED;

/* Roll back and free; NULL does nothing. */
void loader_abort(struct loader *ld);

#endif

/*
 * synth.h - `harvest data synth`: a MovieLens-shaped synthetic dataset with
 * planted structure and planted drift, written straight into the database
 * through the store loader (one transaction, dataset name "synth").
 *
 * What is planted:
 * - Taste: 8-dimensional latent factors. Each of the 19 ml-100k genres has a
 *   random unit direction; a movie's factor is the normalised sum of its
 *   genres' directions plus noise, a user's factor is the weighted sum of
 *   the directions of three favourite genres plus noise. Users pick movies
 *   from their favourite genres 70% of the time (popularity-weighted inside
 *   the genre) and from overall popularity otherwise; ratings 1..5 come from
 *   an ordered-probit model on user bias + movie bias + factor dot product +
 *   noise, with thresholds set so the rating histogram matches ml-100k
 *   (6/11/27/34/21%). Each (user, movie) pair is rated at most once.
 * - Popularity: a power law over movies (Zipf-like weights, rank^-0.9 with an
 *   offset), popular movies rated a little higher.
 * - Demographics with ml-100k's distributions: age buckets 1/18/25/35/45/50/
 *   56 (raw ages inside the bucket), 71% male, the 21 ml-100k occupations
 *   (label = index in u.occupation order; students young, retirees old),
 *   5-digit zip codes; favourite genres depend on age and gender. Activity
 *   (ratings per user) is log-normal.
 * - Release years with ml-100k's decade distribution, shifted so the newest
 *   old movie is from the start year; titles "The Silent River (1994)".
 * - Time: ratings are spread evenly over --days days from --start, in time
 *   order (rating_id increases with the timestamp).
 *
 * Drift (--drift gradual|sudden; none = stationary). With T0 the start and
 * T1 the end, the drift point is the middle, Td = T0 + (T1 - T0) / 2. A blend
 * weight L(t) is 0 before Td; `sudden`: L = 1 from Td on; `gradual`: L rises
 * linearly from 0 at Td to 1 at T1. What changes:
 * 1. New movies: the last 20% of movie ids are not rated before Td. sudden:
 *    all appear at Td; gradual: they appear one by one, evenly spread over
 *    [Td, T1] in id order. Their release year is the year they appear.
 * 2. Popularity shift: movie weights move from the old Zipf weights to new
 *    ones: old movies' weights times a log-normal factor (sigma 1), new
 *    movies placed among the most popular; weight = (1-L) old + L new.
 * 3. User mix: the last 25% of user ids are a younger cohort (mostly under
 *    25, more students, 55% male, preferring action, sci-fi, comedy, horror,
 *    animation), 1.5x as active. sudden: all arrive at Td; gradual: evenly
 *    over [Td, T1] in id order. With drift none they are ordinary users.
 * 4. Rating scale: the latent score drops by 0.45 * L, so the mean rating
 *    falls by about 0.35 stars after the drift.
 * The drift point and the first rating_id at or after it are returned in
 * struct synth_result and stored as JSON in the dataset row's source column
 * (keys drift, drift_start, drift_end, drift_first_rating_id,
 * new_movies_from_id, young_users_from_id, rating_shift).
 *
 * Design: the model (per-user and per-movie parameters, about 70 bytes per
 * user) is held in memory; ratings are generated in time order by a worker
 * thread into a small ring of batches and streamed into the loader, so
 * memory does not grow with the number of ratings except for the duplicate
 * filter (a 32-bit fingerprint per rating, 4/3 slots per rating). Sampling
 * uses Vose alias tables rebuilt at 64 time segments (so availability and
 * the blend change over time). Each rating's first (user, movie) candidate
 * is drawn 16..32 ratings ahead and its memory prefetched (the user and
 * movie rows and the filter slot are random reads from tables of up to a
 * few hundred MB): about 40% less generator time at 1M users. The ratings
 * table and its time index are written while ratings are generated; the
 * user and movie indexes at commit (see store/sqlite/sq_loader.c). Deterministic for
 * a seed: one xoshiro256** stream per concern, seeded by splitmix64; no
 * rand().
 *
 * Threads: synth_run uses db exclusively and runs one generator thread of
 * its own, joined before it returns.
 */
#ifndef HV_DATA_SYNTH_H
#define HV_DATA_SYNTH_H

#include <jansson.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

enum synth_drift { SYNTH_DRIFT_NONE, SYNTH_DRIFT_GRADUAL, SYNTH_DRIFT_SUDDEN };

struct synth_config {
  int64_t users;   /* >= 1 */
  int64_t movies;  /* >= 1 */
  int64_t ratings; /* >= 0, at most half of users * movies */
  int64_t days;    /* >= 1 */
  uint64_t seed;
  enum synth_drift drift;
  int64_t start;   /* seconds since the epoch of the first rating day */
  int replace;     /* swap an existing dataset instead of refusing */
};

struct synth_result {
  int64_t users, movies, ratings, genres;
  int64_t first_ts, last_ts;           /* of the ratings written */
  int64_t drift_start_ts, drift_end_ts; /* Td and when L reaches 1; 0: none */
  int64_t drift_first_rating_id;       /* first rating with t >= Td; 0: none */
  int64_t new_movies_from_id;          /* first withheld movie; 0: none */
  int64_t young_users_from_id;         /* first young-cohort user; 0: none */
  double rating_shift;                 /* latent score change at L = 1 */
  double seconds;                      /* wall time, commit included */
  /* Where the wall time went, in seconds: */
  double t_model;      /* building users, movies and sampling tables */
  double t_rows;       /* writing users, movies and ratings (the ratings
                        * generated meanwhile on the generator thread) */
  double t_indexes;    /* writing the ratings indexes at commit */
  double t_commit;     /* COMMIT */
  double t_checkpoint; /* WAL copied into the database file */
  double t_generate;   /* CPU time of the generator thread */
  double t_wait;       /* loader waiting for the generator */
  int64_t peak_model_bytes; /* model + duplicate filter + ring */
};

/* Add r's drift facts to the object j, in this order: drift_start,
 * drift_end, drift_first_rating_id, new_movies_from_id,
 * young_users_from_id, rating_shift. The one list the dataset's stored
 * source and `harvest data synth --json` share. Returns 0, or HV_ENOMEM. */
int synth_drift_facts_json(json_t *j, const struct synth_result *r);

/* Called from the calling thread: phase is "users", "movies", "ratings" or
 * "indexes" (borrowed), done/total count rows of that phase. */
typedef void (*synth_progress_fn)(void *ctx, const char *phase, int64_t done,
                                  int64_t total);

/* Fill cfg with the defaults: 943 users, 1682 movies, 100000 ratings over
 * 215 days from 1997-09-20 (ml-100k's shape), seed 42, no drift. */
void synth_defaults(struct synth_config *cfg);

/* Check cfg's ranges; HV_EUSAGE with a message naming the flag. */
int synth_check(const struct synth_config *cfg,
                struct hv_err *err) HV_WARN_UNUSED;

/* "none" | "gradual" | "sudden" -> *out; HV_EUSAGE for anything else. */
int synth_drift_parse(const char *s, enum synth_drift *out,
                      struct hv_err *err) HV_WARN_UNUSED;
const char *synth_drift_name(enum synth_drift d);

/* Parse a UTC date "YYYY-MM-DD" (1970..2100) into seconds since the epoch;
 * HV_EUSAGE when malformed or not a real day. */
int synth_parse_date(const char *s, int64_t *out,
                     struct hv_err *err) HV_WARN_UNUSED;

/* Generate the dataset described by cfg into db as one transaction named
 * "synth". progress may be NULL. res (may be NULL) gets the counts and the
 * drift facts. Returns 0, or HV_EUSAGE (bad cfg), HV_ECONFLICT (database
 * holds a dataset and replace is off), HV_ENOMEM, HV_EDB; on error nothing
 * is written. */
int synth_run(struct hv_db *db, const struct synth_config *cfg,
              synth_progress_fn progress, void *ctx, struct synth_result *res,
              struct hv_err *err) HV_WARN_UNUSED;

#endif

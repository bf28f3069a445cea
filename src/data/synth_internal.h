/*
 * synth_internal.h - the synthetic generator's own state, shared by its files
 * (the public interface and what is planted are in synth.h):
 *   synth.c        synth_run and the checks; setup, the ring's consumer
 *                  side, the dataset row
 *   synth_model.c  the planted model: MovieLens facts, genre directions,
 *                  movies, users, and their catalogue rows
 *   synth_drift.c  how the world changes over time: each time segment's
 *                  sampling tables (available users and movies, blended
 *                  popularity)
 *   synth_gen.c    the rating generator: candidates, the duplicate filter,
 *                  thresholds, the generator thread
 * The small helpers below are static inline: the generator calls them for
 * every rating.
 *
 * Threads: a struct synth belongs to synth_run's thread until the generator
 * thread starts, then to the generator (the loader reads only the model's
 * rows, which no longer change).
 */
#ifndef HV_DATA_SYNTH_INTERNAL_H
#define HV_DATA_SYNTH_INTERNAL_H

#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "data/synth.h"
#include "store/loader.h"
#include "util/rng.h"

#define DIM 8          /* latent factor size */
#define N_GENRES 19
#define N_FAV 3        /* favourite genres per user */
#define N_SEG 64       /* time segments; even, so the mid point is a border */
#define FAV_P 0.7      /* chance a pick comes from a favourite genre */
#define RING 4         /* batches in flight between generator and loader */
#define BATCH 16384
#define NEW_MOVIE_SHARE 0.2
#define YOUNG_SHARE 0.25
#define RATING_SHIFT (-0.45)
#define CALIBRATION 20000
#define ZCAP 16384     /* latent scores kept per segment for refitting */
#define MAX_USERS ((int64_t)100000000)
#define MAX_MOVIES ((int64_t)10000000)
#define MAX_RATINGS ((int64_t)1000000000)
#define LOOKAHEAD 16   /* candidate pairs drawn ahead (see struct cand) */

/* Streams of the seed, one per concern, so e.g. the users do not change when
 * only the number of movies does. */
enum { S_GENRE = 1, S_MOVIE, S_USER, S_RATING, S_CALIB, S_POP, S_PICK };

/* ---- random numbers: splitmix64 seeds xoshiro256** (util/rng.h) ------- */

/* Independent stream `stream` (and item `item`) of seed. */
static inline void xo_seed(struct rng_xo *r, uint64_t seed,
                           uint64_t stream, uint64_t item)
{
  uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
  x = rng_splitmix64(&x) ^ item;
  for (int i = 0; i < 4; i++)
    r->s[i] = rng_splitmix64(&x);
}

/* Uniform in [0, n). */
static inline uint64_t xo_below(struct rng_xo *r, uint64_t n)
{
  return (uint64_t)(rng_xo_u01(r) * (double)n);
}

/* Standard normal (Box-Muller, one value per call for simple determinism). */
static inline double xo_normal(struct rng_xo *r)
{
  double u = 1.0 - rng_xo_u01(r), v = rng_xo_u01(r);
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Index drawn from weights w[0..n) (small n; linear scan). */
static inline int xo_pick(struct rng_xo *r, const double *w, int n)
{
  double tot = 0;
  for (int i = 0; i < n; i++)
    tot += w[i];
  double x = rng_xo_u01(r) * tot;
  for (int i = 0; i < n; i++) {
    if (x < w[i])
      return i;
    x -= w[i];
  }
  return n - 1;
}

/* ---- model ------------------------------------------------------------ */

struct smovie {
  float q[DIM];
  float bias;
  float w_old, w_new; /* popularity before / after the drift */
  int64_t avail;      /* first timestamp it can be rated */
  int16_t year;
  uint8_t genre[3], n_genres;
};

/* What each rating draw reads of a user: one 64-byte cache line. */
struct suser {
  float p[DIM];
  float bias;
  float fav_w[N_FAV]; /* cumulative weights of fav[] */
  int64_t arrival;    /* first timestamp it can rate */
  uint8_t fav[N_FAV];
};

/* The rest of a user: demographics and activity. */
struct suser_cold {
  float rate;         /* weight while active: activity / window length */
  uint32_t zip;
  uint8_t seg_from, seg_to; /* active window in time segments, inclusive */
  uint8_t raw_age, bucket, gender_f, occ;
};

/* Vose alias table over items; a slot holds both of its outcomes, so a draw
 * touches one slot. */
struct alias_slot {
  float prob;
  uint32_t item, other;
};

struct alias {
  uint32_t n, cap;
  struct alias_slot *slot;
};

/* A (user, movie) candidate drawn ahead of the rating that uses it, so the
 * memory it needs (the user's row, the movie's row, its slot in the seen
 * filter) is prefetched while earlier ratings are made: these are random
 * reads from tables of 10..200 MB, about three cache misses per rating
 * otherwise. Stage 1 (2 * LOOKAHEAD ahead) draws the user; stage 2
 * (LOOKAHEAD ahead) picks the movie and hashes the pair. */
struct cand {
  uint32_t u, m;
  uint64_t h;   /* seen_hash(u, m) once staged */
  int staged;
};

struct synth {
  struct synth_config cfg;
  int64_t t0, t1, span, td;   /* start, end (exclusive), span, drift point */
  int64_t new_from;           /* first withheld movie index; movies if none */
  int64_t young_from;         /* first young-cohort user index; users */
  struct smovie *mv;
  struct suser *us;
  struct suser_cold *uc;
  float ntab[4096];           /* standard normal quantiles for the noise */
  float dir[N_GENRES][DIM];   /* genre directions (unit vectors) */
  uint32_t *gm;               /* movies of each genre, grouped */
  uint32_t gm_off[N_GENRES + 1];
  /* segment tables */
  struct alias ua, ma, ga[N_GENRES];
  int64_t n_movies_in;        /* available movies (a prefix of the ids) */
  double seg_lambda;
  int seg;
  double th[4];               /* rating thresholds on the latent score */
  double *zbuf;               /* this segment's first scores (ZCAP) */
  int nz;
  uint32_t *seen;             /* (user, movie) fingerprints */
  uint64_t seen_mask;
  int seen_shift;
  /* candidates drawn ahead from this segment's tables (ring) */
  struct cand q[2 * LOOKAHEAD];
  int q_head, q_n;
  struct rng_xo pick;             /* the candidates' own random stream */
  /* generator results */
  int64_t first_ts, last_ts, drift_first_id;
};

/* The ring of batches between the generator thread (synth_gen_thread) and
 * the loader (synth.c); mu guards everything but slot contents, which
 * belong to whoever holds the slot. */
struct ring {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct hv_rating *slot[RING];
  int count[RING];
  int head, tail, filled, done, stop;
  int gen_rc;
  int64_t failed_at;
  struct synth *s;
  double busy; /* generator thread: CPU seconds */
  double wait; /* loader: seconds spent waiting for a batch */
};

/* Draw an item from a (one slot touched per draw). */
static inline uint32_t alias_draw(const struct alias *a, struct rng_xo *r)
{
  uint64_t x = rng_xo_u64(r);
  const struct alias_slot *sl = &a->slot[((x >> 32) * a->n) >> 32];
  float f = (float)(uint32_t)x * 0x1.0p-32f;
  return f < sl->prob ? sl->item : sl->other;
}

/* ---- time segments (the drift's clock; synth_drift.c) ------------------- */

static inline int64_t seg_start(const struct synth *s, int seg)
{
  return s->t0 + (int64_t)((double)s->span * seg / N_SEG);
}

static inline int seg_of(const struct synth *s, int64_t t)
{
  int seg = (int)((double)(t - s->t0) * N_SEG / (double)s->span);
  if (seg < 0)
    seg = 0;
  if (seg > N_SEG - 1)
    seg = N_SEG - 1;
  while (seg + 1 < N_SEG && seg_start(s, seg + 1) <= t)
    seg++;
  while (seg > 0 && seg_start(s, seg) > t)
    seg--;
  return seg;
}

/* Blend weight L at time t (rating scale shift). */
static inline double blend_at(const struct synth *s, int64_t t)
{
  if (s->cfg.drift == SYNTH_DRIFT_NONE || t < s->td)
    return 0;
  if (s->cfg.drift == SYNTH_DRIFT_SUDDEN || s->t1 <= s->td)
    return 1;
  return (double)(t - s->td) / (double)(s->t1 - s->td);
}

/* ---- synth_model.c ------------------------------------------------------- */

/* Build the model: genre directions, movies, users, movies by genre.
 * Returns 0 or -1 when out of memory. */
int synth_model_build(struct synth *s);

/* Write the genres, movies and users into ld (progress every 65536 rows). */
int synth_model_write(const struct synth *s, struct loader *ld,
                      synth_progress_fn progress, void *ctx,
                      struct hv_err *err);

/* ---- synth_drift.c ------------------------------------------------------- */

/* Make the sampling tables right for segment seg; rebuilds only what
 * changed. Returns 0 or -1 when out of memory. */
int synth_drift_prepare(struct synth *s, int seg);

/* Free the sampling tables. */
void synth_drift_free(struct synth *s);

/* ---- synth_gen.c --------------------------------------------------------- */

/* Thresholds at the quantiles of the latent score of pairs drawn like the
 * first segment's ratings. Returns 0 or -1 when out of memory. */
int synth_gen_calibrate(struct synth *s);

/* The generator thread (arg: struct ring *): fills the ring's batches with
 * the ratings in order, then marks it done (gen_rc -1 when the pairs ran
 * out, failed_at the rating). */
void *synth_gen_thread(void *arg);

#endif

/*
 * synth.c - the synthetic MovieLens-shaped generator with planted drift:
 * see synth.h for what is planted and how it drifts.
 *
 * Layout: model building (users, movies, genre directions), sampling tables
 * per time segment (alias tables), the rating generator (runs on a worker
 * thread, fills a ring of batches), and synth_run, which streams the model's
 * rows and the generated ratings into the store loader.
 */
#include "data/synth.h"

#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "store/catalog.h"
#include "util/fsutil.h"
#include "util/parse.h"
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

/* ---- random numbers: splitmix64 seeds xoshiro256** (util/rng.h) -------- */

/* Independent stream `stream` (and item `item`) of seed. */
static void xo_seed(struct rng_xo *r, uint64_t seed, uint64_t stream,
                    uint64_t item)
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
static double xo_normal(struct rng_xo *r)
{
  double u = 1.0 - rng_xo_u01(r), v = rng_xo_u01(r);
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Index drawn from weights w[0..n) (small n; linear scan). */
static int xo_pick(struct rng_xo *r, const double *w, int n)
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

/* ---- MovieLens facts -------------------------------------------------- */

static const char *const genre_names[N_GENRES] = {
    "unknown", "Action",    "Adventure", "Animation", "Children's",
    "Comedy",  "Crime",     "Documentary", "Drama",   "Fantasy",
    "Film-Noir", "Horror",  "Musical",   "Mystery",   "Romance",
    "Sci-Fi",  "Thriller",  "War",       "Western"};
/* Movies per genre in ml-100k. */
static const double genre_freq[N_GENRES] = {2,   251, 135, 42, 122, 505, 109,
                                            50,  725, 22,  24, 92,  56,  61,
                                            247, 101, 251, 71, 27};
enum { G_UNKNOWN, G_ACTION, G_ADVENTURE, G_ANIMATION, G_CHILDREN, G_COMEDY,
       G_CRIME, G_DOCUMENTARY, G_DRAMA, G_FANTASY, G_NOIR, G_HORROR,
       G_MUSICAL, G_MYSTERY, G_ROMANCE, G_SCIFI, G_THRILLER, G_WAR,
       G_WESTERN };

static const char *const occupations[] = {
    "administrator", "artist",    "doctor",     "educator",   "engineer",
    "entertainment", "executive", "healthcare", "homemaker",  "lawyer",
    "librarian",     "marketing", "none",       "other",      "programmer",
    "retired",       "salesman",  "scientist",  "student",    "technician",
    "writer"};
#define N_OCC ((int)(sizeof(occupations) / sizeof(occupations[0])))
enum { OCC_RETIRED = 15, OCC_STUDENT = 18 };
static const double occ_freq[N_OCC] = {79, 28, 7,  95, 67,  18, 32,
                                       16, 7,  12, 51, 26,  9,  105,
                                       66, 14, 12, 31, 196, 27, 45};

/* Age buckets with raw age ranges and ml-100k counts; the young cohort's
 * mix is the second weight column. */
static const struct {
  int bucket, lo, hi;
  double w, w_young;
} ages[] = {{1, 7, 17, 36, 25},   {18, 18, 24, 198, 60}, {25, 25, 34, 310, 15},
            {35, 35, 44, 194, 0}, {45, 45, 49, 80, 0},   {50, 50, 55, 73, 0},
            {56, 56, 73, 52, 0}};
#define N_AGES ((int)(sizeof(ages) / sizeof(ages[0])))

/* Decades of ml-100k release years (1920s..1990s) and their counts. */
static const double decade_freq[8] = {2, 29, 45, 54, 43, 52, 107, 1348};

static const char *const title_adj[] = {
    "Silent", "Broken",   "Golden",  "Last",    "Hidden",  "Crimson",
    "Lost",   "Wild",     "Dark",    "Bright",  "Frozen",  "Secret",
    "Distant", "Midnight", "Electric", "Burning", "Quiet", "Endless",
    "Savage", "Little",   "Velvet",  "Iron",    "Paper",   "Glass",
    "Hollow", "Restless", "Sweet",   "Bitter",  "Lonely",  "Final"};
static const char *const title_noun[] = {
    "River",  "City",    "Heart",   "Road",     "Summer",  "Garden",
    "Storm",  "Kingdom", "Station", "Promise",  "Island",  "Mirror",
    "Shadow", "Harbor",  "Winter",  "Journey",  "Dream",   "Empire",
    "Frontier", "Witness", "Caf\xc3\xa9", "Se\xc3\xb1orita", "Moon",
    "Letter", "Voyage",  "Machine", "Ocean",    "Forest",  "Tower", "Game"};
#define N_ADJ ((int)(sizeof(title_adj) / sizeof(title_adj[0])))
#define N_NOUN ((int)(sizeof(title_noun) / sizeof(title_noun[0])))
static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};

/* Streams of the seed, one per concern, so e.g. the users do not change when
 * only the number of movies does. */
enum { S_GENRE = 1, S_MOVIE, S_USER, S_RATING, S_CALIB, S_POP, S_PICK };

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

static void alias_free(struct alias *a)
{
  free(a->slot);
  memset(a, 0, sizeof(*a));
}

/* Build a over items[0..n) with weights w[0..n) (scratch: 2n uint32 +
 * n doubles, allocated here). Returns 0 or -1 when out of memory. */
static int alias_build(struct alias *a, const uint32_t *items, const double *w,
                       uint32_t n)
{
  if (n > a->cap) {
    alias_free(a);
    a->slot = malloc(n * sizeof(*a->slot));
    if (!a->slot)
      return -1;
    a->cap = n;
  }
  a->n = n;
  if (n == 0)
    return 0;
  double tot = 0;
  for (uint32_t i = 0; i < n; i++)
    tot += w[i];
  double *p = malloc(n * sizeof(*p));
  uint32_t *small = malloc(2 * (size_t)n * sizeof(*small));
  if (!p || !small) {
    free(p);
    free(small);
    return -1;
  }
  uint32_t *large = small + n, ns = 0, nl = 0;
  struct alias_slot *sl = a->slot;
  for (uint32_t i = 0; i < n; i++) {
    p[i] = tot > 0 ? w[i] * n / tot : 1.0;
    sl[i].item = items ? items[i] : i;
    if (p[i] < 1.0)
      small[ns++] = i;
    else
      large[nl++] = i;
  }
  while (ns && nl) {
    uint32_t s = small[--ns], l = large[nl - 1];
    sl[s].prob = (float)p[s];
    sl[s].other = l; /* a slot index for now; items below */
    p[l] -= 1.0 - p[s];
    if (p[l] < 1.0) {
      nl--;
      small[ns++] = l;
    }
  }
  while (nl)
    sl[large[--nl]].prob = 1.0f, sl[large[nl]].other = large[nl];
  while (ns)
    sl[small[--ns]].prob = 1.0f, sl[small[ns]].other = small[ns];
  for (uint32_t i = 0; i < n; i++)
    sl[i].other = sl[sl[i].other].item;
  free(p);
  free(small);
  return 0;
}

static inline uint32_t alias_draw(const struct alias *a, struct rng_xo *r)
{
  uint64_t x = rng_xo_u64(r);
  const struct alias_slot *sl = &a->slot[((x >> 32) * a->n) >> 32];
  float f = (float)(uint32_t)x * 0x1.0p-32f;
  return f < sl->prob ? sl->item : sl->other;
}

static void unit_random(struct rng_xo *r, float *v)
{
  double n2 = 0;
  double x[DIM];
  for (int k = 0; k < DIM; k++) {
    x[k] = xo_normal(r);
    n2 += x[k] * x[k];
  }
  double inv = n2 > 0 ? 1.0 / sqrt(n2) : 0;
  for (int k = 0; k < DIM; k++)
    v[k] = (float)(x[k] * inv);
}

/* Genre preference weights for a user's age and gender (MovieLens-like
 * tendencies; the young cohort's tastes follow from its ages). */
static void genre_prior(int age, int female, double *w)
{
  for (int g = 0; g < N_GENRES; g++)
    w[g] = genre_freq[g];
  static const int f_up[] = {G_ROMANCE, G_DRAMA, G_MUSICAL, G_CHILDREN};
  static const int m_up[] = {G_ACTION, G_SCIFI, G_WAR, G_THRILLER, G_WESTERN};
  for (size_t i = 0; i < sizeof(f_up) / sizeof(f_up[0]); i++)
    w[f_up[i]] *= female ? 1.8 : 0.8;
  for (size_t i = 0; i < sizeof(m_up) / sizeof(m_up[0]); i++)
    w[m_up[i]] *= female ? 0.6 : 1.4;
  if (age < 18) {
    w[G_CHILDREN] *= 4, w[G_ANIMATION] *= 5, w[G_COMEDY] *= 1.5;
    w[G_NOIR] *= 0.2, w[G_DOCUMENTARY] *= 0.3, w[G_WAR] *= 0.5;
  } else if (age < 25) {
    w[G_COMEDY] *= 1.6, w[G_HORROR] *= 2.5, w[G_ACTION] *= 1.5;
    w[G_SCIFI] *= 1.8, w[G_ANIMATION] *= 2, w[G_DRAMA] *= 0.7;
  } else if (age >= 45) {
    w[G_DRAMA] *= 1.5, w[G_NOIR] *= 3, w[G_WAR] *= 2, w[G_WESTERN] *= 2;
    w[G_MUSICAL] *= 1.5, w[G_HORROR] *= 0.4, w[G_ANIMATION] *= 0.4;
  }
}

static void user_demographics(struct rng_xo *r, struct suser_cold *u, int young)
{
  double w[N_AGES];
  for (int i = 0; i < N_AGES; i++)
    w[i] = young ? ages[i].w_young : ages[i].w;
  int a = xo_pick(r, w, N_AGES);
  u->bucket = (uint8_t)ages[a].bucket;
  u->raw_age = (uint8_t)(ages[a].lo +
                         (int)xo_below(r, (uint64_t)(ages[a].hi - ages[a].lo +
                                                     1)));
  u->gender_f = rng_xo_u01(r) < (young ? 0.45 : 0.29);
  double ow[N_OCC];
  for (int i = 0; i < N_OCC; i++)
    ow[i] = occ_freq[i];
  if (u->raw_age < 18) {
    ow[OCC_STUDENT] *= 40, ow[OCC_RETIRED] = 0;
  } else if (u->raw_age < 25) {
    ow[OCC_STUDENT] *= 4, ow[OCC_RETIRED] = 0;
  } else if (u->raw_age >= 60) {
    ow[OCC_RETIRED] *= 20, ow[OCC_STUDENT] *= 0.05;
  } else {
    ow[OCC_RETIRED] *= 0.1, ow[OCC_STUDENT] *= 0.3;
  }
  u->occ = (uint8_t)xo_pick(r, ow, N_OCC);
  u->zip = (uint32_t)xo_below(r, 100000);
}

static void user_taste(struct synth *s, struct rng_xo *r, struct suser *u,
                       struct suser_cold *c)
{
  double w[N_GENRES], fw[N_FAV], tot = 0;
  genre_prior(c->raw_age, c->gender_f, w);
  for (int k = 0; k < N_FAV; k++) {
    int g = xo_pick(r, w, N_GENRES);
    u->fav[k] = (uint8_t)g;
    w[g] = 0; /* without replacement */
    fw[k] = (N_FAV - k) * (0.5 + rng_xo_u01(r));
    tot += fw[k];
  }
  double cum = 0;
  for (int k = 0; k < N_FAV; k++) {
    cum += fw[k] / tot;
    u->fav_w[k] = (float)cum;
  }
  for (int d = 0; d < DIM; d++) {
    double v = 0;
    for (int k = 0; k < N_FAV; k++)
      v += fw[k] / tot * s->dir[u->fav[k]][d];
    u->p[d] = (float)(1.6 * v + 0.3 * xo_normal(r));
  }
  u->bias = (float)(0.35 * xo_normal(r));
  c->rate = (float)exp(0.85 * xo_normal(r));
}

static int64_t seg_start(const struct synth *s, int seg);
static int seg_of(const struct synth *s, int64_t t);

/* A user is active in a window of 8..32 of the N_SEG time segments (its
 * ratings spread over it), like MovieLens users who rate in a stretch of
 * time. Windows start uniformly in [lo - L + 1, N_SEG - 1] and are clipped
 * to [lo, N_SEG - 1], so every segment from lo on has the same expected
 * number of active users: the mix, and how far users are into their
 * history, do not change with time. */
static void user_window(struct rng_xo *r, struct suser_cold *u, int lo)
{
  int len = 8 + (int)xo_below(r, 25);
  int start = lo - len + 1 + (int)xo_below(r, (uint64_t)(N_SEG - lo + len - 1));
  int end = start + len - 1;
  u->seg_from = (uint8_t)(start < lo ? lo : start);
  u->seg_to = (uint8_t)(end > N_SEG - 1 ? N_SEG - 1 : end);
  u->rate /= (float)len;
}

static void build_users(struct synth *s)
{
  int64_t n = s->cfg.users, young = s->young_from;
  int64_t tail = s->t1 - s->td;
  for (int64_t i = 0; i < n; i++) {
    struct rng_xo r;
    xo_seed(&r, s->cfg.seed, S_USER, (uint64_t)i);
    struct suser *u = &s->us[i];
    struct suser_cold *c = &s->uc[i];
    int is_young = i >= young;
    user_demographics(&r, c, is_young);
    user_taste(s, &r, u, c);
    u->arrival = s->t0;
    if (!is_young) {
      user_window(&r, c, 0);
    } else if (s->cfg.drift == SYNTH_DRIFT_SUDDEN) {
      c->rate *= 1.5f;
      user_window(&r, c, N_SEG / 2);
      u->arrival = s->td;
    } else { /* gradual: arrive one by one over the second half, stay */
      c->rate *= 1.5f / 16.0f;
      u->arrival = s->td + (int64_t)(((double)(i - young) + 0.5) /
                                     (double)(n - young) * (double)tail);
      c->seg_from = (uint8_t)seg_of(s, u->arrival);
      c->seg_to = N_SEG - 1;
    }
  }
}

static int year_of(int64_t ts)
{
  time_t t = (time_t)ts;
  struct tm tm;
  gmtime_r(&t, &tm);
  return tm.tm_year + 1900;
}

static void movie_genres(struct rng_xo *r, struct smovie *m)
{
  double w[N_GENRES];
  memcpy(w, genre_freq, sizeof(w));
  double u = rng_xo_u01(r);
  m->n_genres = u < 0.55 ? 1 : u < 0.85 ? 2 : 3;
  for (int k = 0; k < m->n_genres; k++) {
    int g = xo_pick(r, w, N_GENRES);
    m->genre[k] = (uint8_t)g;
    w[g] = 0;
  }
}

/* Returns 0 or -1 when out of memory. */
static int build_movies(struct synth *s)
{
  int64_t n = s->cfg.movies, nold = s->new_from;
  int last_year = year_of(s->t0);
  struct rng_xo pr;
  xo_seed(&pr, s->cfg.seed, S_POP, 0);
  /* Old movies get Zipf ranks in a random order (Fisher-Yates). */
  uint32_t *rank = malloc((size_t)(nold > 0 ? nold : 1) * sizeof(*rank));
  if (!rank)
    return -1;
  for (int64_t i = 0; i < nold; i++)
    rank[i] = (uint32_t)i;
  for (int64_t i = nold - 1; i > 0; i--) {
    int64_t j = (int64_t)xo_below(&pr, (uint64_t)i + 1);
    uint32_t t = rank[i];
    rank[i] = rank[j];
    rank[j] = t;
  }
  double c = 50.0 * (double)n / 1682.0 + 1.0, tail = (double)(s->t1 - s->td);
  for (int64_t i = 0; i < n; i++) {
    struct rng_xo r;
    xo_seed(&r, s->cfg.seed, S_MOVIE, (uint64_t)i);
    struct smovie *m = &s->mv[i];
    movie_genres(&r, m);
    int is_new = i >= nold;
    double rk = is_new ? rng_xo_u01(&r) * 0.3 * (double)n : (double)rank[i];
    double w = pow(rk + c, -0.9) * exp(-3.0 * (rk / n) * (rk / n));
    m->w_old = is_new ? 0 : (float)w;
    m->w_new = (float)(is_new ? w : w * exp(xo_normal(&pr)));
    int dec = xo_pick(&r, decade_freq, 8);
    int year = last_year - 1998 + 1920 + dec * 10 + (int)xo_below(&r, 10);
    m->year = (int16_t)(year > last_year ? last_year : year);
    m->avail = s->t0;
    if (is_new) {
      m->avail = s->td;
      if (s->cfg.drift == SYNTH_DRIFT_GRADUAL)
        m->avail += (int64_t)(((double)(i - nold) + 0.5) /
                              (double)(n - nold) * tail);
      m->year = (int16_t)year_of(m->avail);
    }
    double v[DIM] = {0}, n2 = 0;
    for (int k = 0; k < m->n_genres; k++)
      for (int d = 0; d < DIM; d++)
        v[d] += s->dir[m->genre[k]][d];
    for (int d = 0; d < DIM; d++)
      n2 += v[d] * v[d];
    for (int d = 0; d < DIM; d++)
      m->q[d] = (float)(v[d] / sqrt(n2 > 0 ? n2 : 1) + 0.3 * xo_normal(&r));
    /* Popular movies are rated a little higher. */
    m->bias = (float)(0.35 * xo_normal(&r) + 0.08 * (log(w) + 7.0));
  }
  free(rank);
  return 0;
}

/* Group movie indexes by genre (a movie is in each of its genres). */
static int build_genre_lists(struct synth *s)
{
  memset(s->gm_off, 0, sizeof(s->gm_off));
  for (int64_t i = 0; i < s->cfg.movies; i++)
    for (int k = 0; k < s->mv[i].n_genres; k++)
      s->gm_off[s->mv[i].genre[k] + 1]++;
  for (int g = 0; g < N_GENRES; g++)
    s->gm_off[g + 1] += s->gm_off[g];
  s->gm = malloc((size_t)s->gm_off[N_GENRES] * sizeof(*s->gm) + 4);
  uint32_t fill[N_GENRES];
  if (!s->gm)
    return -1;
  memcpy(fill, s->gm_off, sizeof(fill));
  for (int64_t i = 0; i < s->cfg.movies; i++)
    for (int k = 0; k < s->mv[i].n_genres; k++)
      s->gm[fill[s->mv[i].genre[k]]++] = (uint32_t)i;
  return 0;
}

/* ---- time segments ---------------------------------------------------- */

static int64_t seg_start(const struct synth *s, int seg)
{
  return s->t0 + (int64_t)((double)s->span * seg / N_SEG);
}

static int seg_of(const struct synth *s, int64_t t)
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

/* Blend weight L of a segment's popularity tables. */
static double seg_blend(const struct synth *s, int seg)
{
  if (s->cfg.drift == SYNTH_DRIFT_NONE || seg < N_SEG / 2)
    return 0;
  if (s->cfg.drift == SYNTH_DRIFT_SUDDEN)
    return 1;
  return ((seg - N_SEG / 2) + 0.5) / (N_SEG / 2);
}

/* Blend weight L at time t (rating scale shift). */
static double blend_at(const struct synth *s, int64_t t)
{
  if (s->cfg.drift == SYNTH_DRIFT_NONE || t < s->td)
    return 0;
  if (s->cfg.drift == SYNTH_DRIFT_SUDDEN || s->t1 <= s->td)
    return 1;
  return (double)(t - s->td) / (double)(s->t1 - s->td);
}

/* Number of leading movies available before end (availability never
 * decreases with the id, so the available movies are a prefix). */
static int64_t prefix_movies(const struct synth *s, int64_t end)
{
  int64_t lo = 0, hi = s->cfg.movies;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (s->mv[mid].avail < end)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int build_movie_tables(struct synth *s, int64_t nm, double lam)
{
  double *w = malloc((size_t)(s->cfg.movies + 1) * sizeof(*w));
  uint32_t *items = malloc((size_t)(s->cfg.movies + 1) * sizeof(*items));
  int rc = (w && items) ? 0 : -1;
  for (int64_t i = 0; !rc && i < nm; i++)
    w[i] = (1 - lam) * s->mv[i].w_old + lam * s->mv[i].w_new;
  if (!rc)
    rc = alias_build(&s->ma, NULL, w, (uint32_t)nm);
  for (int g = 0; !rc && g < N_GENRES; g++) {
    uint32_t n = 0;
    for (uint32_t j = s->gm_off[g]; j < s->gm_off[g + 1]; j++) {
      uint32_t m = s->gm[j];
      if ((int64_t)m >= nm)
        continue;
      items[n] = m;
      w[n++] = (1 - lam) * s->mv[m].w_old + lam * s->mv[m].w_new;
    }
    rc = alias_build(&s->ga[g], items, w, n);
  }
  free(w);
  free(items);
  return rc;
}

/* The users active in segment seg, weighted by their rate. */
static int build_user_table(struct synth *s, int seg, int64_t end)
{
  double *w = malloc((size_t)(s->cfg.users + 1) * sizeof(*w));
  uint32_t *items = malloc((size_t)(s->cfg.users + 1) * sizeof(*items));
  int rc = -1;
  if (w && items) {
    uint32_t n = 0;
    /* Pass 0: users whose window holds seg; pass 1 (only when a tiny
     * configuration leaves a segment empty): everyone who has arrived. */
    for (int pass = 0; pass < 2 && n == 0; pass++)
      for (int64_t i = 0; i < s->cfg.users; i++) {
        const struct suser_cold *c = &s->uc[i];
        if (s->us[i].arrival < end &&
            (pass || (c->seg_from <= seg && seg <= c->seg_to))) {
          items[n] = (uint32_t)i;
          w[n++] = c->rate;
        }
      }
    rc = alias_build(&s->ua, items, w, n);
  }
  free(w);
  free(items);
  return rc;
}

/* Make the sampling tables right for segment seg; rebuilds only what
 * changed. Returns 0 or -1 when out of memory. */
static int seg_prepare(struct synth *s, int seg)
{
  int64_t end = seg + 1 < N_SEG ? seg_start(s, seg + 1) : s->t1;
  int64_t nm = prefix_movies(s, end);
  double lam = seg_blend(s, seg);
  if (build_user_table(s, seg, end))
    return -1;
  if (nm != s->n_movies_in || lam != s->seg_lambda || s->seg < 0) {
    if (build_movie_tables(s, nm, lam))
      return -1;
    s->n_movies_in = nm;
    s->seg_lambda = lam;
  }
  s->seg = seg;
  return 0;
}

/* ---- rating generation ------------------------------------------------ */

static uint32_t pick_movie(const struct synth *s, const struct suser *u,
                           struct rng_xo *r, int attempt)
{
  if (attempt >= 32)
    return (uint32_t)xo_below(r, (uint64_t)s->n_movies_in);
  if (rng_xo_u01(r) < FAV_P) {
    float x = (float)rng_xo_u01(r);
    int k = x < u->fav_w[0] ? 0 : x < u->fav_w[1] ? 1 : 2;
    const struct alias *a = &s->ga[u->fav[k]];
    if (a->n > 0)
      return alias_draw(a, r);
  }
  return alias_draw(&s->ma, r);
}

static double latent(const struct synth *s, uint32_t ui, uint32_t mi,
                     struct rng_xo *r)
{
  const struct suser *u = &s->us[ui];
  const struct smovie *m = &s->mv[mi];
  double dot = 0;
  for (int d = 0; d < DIM; d++)
    dot += (double)u->p[d] * m->q[d];
  return u->bias + m->bias + 0.9 * dot +
         0.6 * s->ntab[rng_xo_u64(r) >> 52]; /* 4096 quantiles: N(0,1) */
}

static inline uint64_t seen_hash(uint32_t ui, uint32_t mi)
{
  uint64_t x = ((uint64_t)ui << 32 | mi) + 1;
  return rng_splitmix64(&x);
}

/* Add the pair with hash h to the seen filter; 1 when new, 0 when seen
 * before. */
static int seen_add_hash(struct synth *s, uint64_t h)
{
  uint32_t fp = (uint32_t)h | 1u;
  for (uint64_t i = h >> s->seen_shift;; i = (i + 1) & s->seen_mask) {
    if (s->seen[i] == fp)
      return 0;
    if (s->seen[i] == 0) {
      s->seen[i] = fp;
      return 1;
    }
  }
}

/* Add (user, movie) to the seen filter; 1 when new, 0 when seen before. */
static int seen_add(struct synth *s, uint32_t ui, uint32_t mi)
{
  return seen_add_hash(s, seen_hash(ui, mi));
}

/* Stage 2 of candidate c: pick its movie and hash the pair; prefetch. */
static void cand_stage(struct synth *s, struct cand *c)
{
  c->m = pick_movie(s, &s->us[c->u], &s->pick, 0);
  c->h = seen_hash(c->u, c->m);
  c->staged = 1;
  __builtin_prefetch(&s->seen[c->h >> s->seen_shift], 1);
  __builtin_prefetch(&s->mv[c->m]);
}

/* The next candidate for a rating of this segment (stages filled in
 * ahead); 0 when the segment has no users. */
static int cand_next(struct synth *s, struct cand *out)
{
  if (!s->ua.n)
    return 0;
  while (s->q_n < 2 * LOOKAHEAD) {
    struct cand *c = &s->q[(s->q_head + s->q_n++) % (2 * LOOKAHEAD)];
    c->u = alias_draw(&s->ua, &s->pick);
    c->staged = 0;
    __builtin_prefetch(&s->us[c->u]);
  }
  struct cand *mid = &s->q[(s->q_head + LOOKAHEAD) % (2 * LOOKAHEAD)];
  if (!mid->staged)
    cand_stage(s, mid);
  struct cand *c = &s->q[s->q_head];
  if (!c->staged)
    cand_stage(s, c);
  *out = *c;
  s->q_head = (s->q_head + 1) % (2 * LOOKAHEAD);
  s->q_n--;
  return 1;
}

/* Last resort for dense small configurations: scan every user who has
 * arrived (active window or not) for an unseen pair. */
static int scan_free_pair(struct synth *s, struct rng_xo *r, int64_t t,
                          uint32_t *ui, uint32_t *mi)
{
  int64_t nu = s->cfg.users, nm = s->n_movies_in;
  if (nm == 0 || (double)nu * (double)nm > 2e8)
    return -1;
  int64_t u0 = (int64_t)xo_below(r, (uint64_t)nu);
  int64_t m0 = (int64_t)xo_below(r, (uint64_t)nm);
  for (int64_t a = 0; a < nu; a++) {
    uint32_t u = (uint32_t)((u0 + a) % nu);
    if (s->us[u].arrival > t)
      continue;
    for (int64_t b = 0; b < nm; b++) {
      uint32_t m = (uint32_t)((m0 + b) % nm);
      if (s->mv[m].avail <= t && seen_add(s, u, m)) {
        *ui = u;
        *mi = m;
        return 0;
      }
    }
  }
  return -1;
}

static const double ml_quantiles[4] = {0.061, 0.175, 0.447, 0.788};

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Thresholds at ml-100k's cumulative rating shares of z[0..n) (sorted
 * here). */
static void fit_thresholds(struct synth *s, double *z, int n)
{
  qsort(z, (size_t)n, sizeof(*z), cmp_double);
  for (int k = 0; k < 4; k++)
    s->th[k] = z[(int)(ml_quantiles[k] * (n - 1))];
}

/* Refit the thresholds to the scores of the segment that just ended, up to
 * the drift point (afterwards they stay, so the drift shows). Users deep
 * into their history have rated their favourites already and rate lower;
 * refitting keeps the histogram at ml-100k's over time. */
static void refit(struct synth *s, int next_seg)
{
  if (s->nz >= 500 &&
      (s->cfg.drift == SYNTH_DRIFT_NONE || next_seg <= N_SEG / 2))
    fit_thresholds(s, s->zbuf, s->nz);
  s->nz = 0;
}

static int rating_of(const struct synth *s, double z)
{
  int v = 1;
  for (int k = 0; k < 4; k++)
    v += z > s->th[k];
  return v;
}

/* Rating i (0-based) into *out; -1 when no free pair exists (too dense) or
 * out of memory. */
static int gen_rating(struct synth *s, struct rng_xo *r, int64_t i,
                      struct hv_rating *out)
{
  double f = ((double)i + rng_xo_u01(r)) * (double)s->span /
             (double)s->cfg.ratings;
  int64_t t = s->t0 + (int64_t)f;
  if (t >= s->t1)
    t = s->t1 - 1;
  int seg = seg_of(s, t);
  if (seg != s->seg) {
    refit(s, seg);
    if (seg_prepare(s, seg))
      return -1;
    s->q_n = 0; /* drawn from the old segment's tables */
  }
  uint32_t ui = 0, mi = 0;
  int found = 0;
  struct cand c;
  if (cand_next(s, &c) && s->us[c.u].arrival <= t && s->mv[c.m].avail <= t &&
      seen_add_hash(s, c.h)) {
    ui = c.u;
    mi = c.m;
    found = 1;
  }
  for (int ut = 0; ut < 16 && !found && s->ua.n; ut++) {
    ui = alias_draw(&s->ua, r);
    if (s->us[ui].arrival > t)
      continue;
    for (int mt = 0; mt < 48 && !found; mt++) {
      mi = pick_movie(s, &s->us[ui], r, mt);
      found = s->mv[mi].avail <= t && seen_add(s, ui, mi);
    }
  }
  if (!found && scan_free_pair(s, r, t, &ui, &mi))
    return -1;
  double z = latent(s, ui, mi, r);
  if (s->nz < ZCAP)
    s->zbuf[s->nz++] = z;
  z += RATING_SHIFT * blend_at(s, t);
  out->rating_id = i + 1;
  out->user_id = (int64_t)ui + 1;
  out->movie_id = (int64_t)mi + 1;
  out->rating = rating_of(s, z);
  out->timestamp = t;
  if (i == 0)
    s->first_ts = t;
  s->last_ts = t;
  if (s->cfg.drift != SYNTH_DRIFT_NONE && !s->drift_first_id && t >= s->td)
    s->drift_first_id = i + 1;
  return 0;
}

/* Thresholds at the quantiles of the latent score of pairs drawn like the
 * first segment's ratings, so the histogram matches ml-100k before drift. */
static int calibrate(struct synth *s)
{
  double *z = malloc(CALIBRATION * sizeof(*z));
  if (!z)
    return -1;
  struct rng_xo r;
  xo_seed(&r, s->cfg.seed, S_CALIB, 0);
  int n = 0;
  for (int i = 0; i < CALIBRATION * 4 && n < CALIBRATION && s->ua.n; i++) {
    uint32_t ui = alias_draw(&s->ua, &r);
    if (s->us[ui].arrival > s->t0 || s->n_movies_in == 0)
      continue;
    uint32_t mi = pick_movie(s, &s->us[ui], &r, 0);
    z[n++] = latent(s, ui, mi, &r);
  }
  if (n == 0) {
    s->th[0] = -1.5, s->th[1] = -0.9, s->th[2] = -0.1, s->th[3] = 0.8;
  } else {
    fit_thresholds(s, z, n);
  }
  free(z);
  return 0;
}

/* ---- setup and teardown ----------------------------------------------- */

/* Zeroed memory aligned to 64 bytes (one model row per cache line), on
 * transparent huge pages where the kernel offers them (the duplicate filter
 * is probed at random: fewer TLB misses). free() releases it. */
static void *alloc_lines(size_t n)
{
  size_t align = n >= ((size_t)4 << 20) ? ((size_t)2 << 20) : 64;
  size_t len = (n + align - 1) / align * align;
  void *p = aligned_alloc(align, len ? len : align);
  if (!p)
    return NULL;
  if (align > 64)
    madvise(p, len, MADV_HUGEPAGE);
  memset(p, 0, len);
  return p;
}

static void synth_free(struct synth *s)
{
  free(s->mv);
  free(s->us);
  free(s->uc);
  free(s->gm);
  free(s->seen);
  free(s->zbuf);
  alias_free(&s->ua);
  alias_free(&s->ma);
  for (int g = 0; g < N_GENRES; g++)
    alias_free(&s->ga[g]);
}

static int synth_init(struct synth *s, const struct synth_config *cfg,
                      struct hv_err *err)
{
  memset(s, 0, sizeof(*s));
  s->cfg = *cfg;
  s->t0 = cfg->start;
  s->span = cfg->days * 86400;
  s->t1 = s->t0 + s->span;
  s->td = s->t0 + s->span / 2;
  s->seg = -1;
  s->seg_lambda = -1;
  int drift = cfg->drift != SYNTH_DRIFT_NONE;
  int64_t nnew = drift ? (int64_t)(cfg->movies * NEW_MOVIE_SHARE) : 0;
  int64_t nyoung = drift ? (int64_t)(cfg->users * YOUNG_SHARE) : 0;
  s->new_from = cfg->movies - nnew;
  s->young_from = cfg->users - nyoung;
  uint64_t slots = 1024;
  int bits = 10;
  while ((double)slots < (double)cfg->ratings * 4.0 / 3.0)
    slots <<= 1, bits++;
  s->seen_mask = slots - 1;
  s->seen_shift = 64 - bits;
  s->mv = alloc_lines((size_t)cfg->movies * sizeof(*s->mv));
  s->us = alloc_lines((size_t)cfg->users * sizeof(*s->us));
  s->uc = calloc((size_t)cfg->users, sizeof(*s->uc));
  s->seen = alloc_lines(slots * sizeof(*s->seen));
  for (int k = 0; k < 4096; k++)
    s->ntab[k] = (float)gsl_cdf_ugaussian_Pinv((k + 0.5) / 4096.0);
  s->zbuf = malloc(ZCAP * sizeof(*s->zbuf));
  if (!s->mv || !s->us || !s->uc || !s->seen || !s->zbuf)
    goto oom;
  struct rng_xo r;
  xo_seed(&r, cfg->seed, S_GENRE, 0);
  for (int g = 0; g < N_GENRES; g++)
    unit_random(&r, s->dir[g]);
  if (build_movies(s))
    goto oom;
  build_users(s);
  if (build_genre_lists(s) || seg_prepare(s, 0) || calibrate(s))
    goto oom;
  return 0;
oom:
  synth_free(s);
  return hv_err_set(err, HV_ENOMEM,
                    "out of memory building a synthetic dataset of %lld "
                    "users, %lld movies, %lld ratings",
                    (long long)cfg->users, (long long)cfg->movies,
                    (long long)cfg->ratings);
}

/* ---- the generator thread and its ring of batches ---------------------- */

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

static void *generator_main(void *arg)
{
  struct ring *g = arg;
  struct synth *s = g->s;
  struct rng_xo r;
  xo_seed(&r, s->cfg.seed, S_RATING, 0);
  xo_seed(&s->pick, s->cfg.seed, S_PICK, 0);
  s->q_n = 0;
  int64_t i = 0, n = s->cfg.ratings;
  int rc = 0;
  while (i < n && !rc) {
    pthread_mutex_lock(&g->mu);
    while (g->filled == RING && !g->stop)
      pthread_cond_wait(&g->cv, &g->mu);
    int stop = g->stop, slot = g->head;
    pthread_mutex_unlock(&g->mu);
    if (stop)
      break;
    int k = 0;
    for (; k < BATCH && i < n; k++, i++)
      if (gen_rating(s, &r, i, &g->slot[slot][k])) {
        rc = -1;
        g->failed_at = i + 1;
        break;
      }
    pthread_mutex_lock(&g->mu);
    g->count[slot] = k;
    g->head = (slot + 1) % RING;
    g->filled++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
  }
  struct timespec cpu;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  pthread_mutex_lock(&g->mu);
  g->busy = (double)cpu.tv_sec + (double)cpu.tv_nsec * 1e-9;
  g->gen_rc = rc;
  g->done = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

/* Next filled batch (its slot index) or -1 when the generator is done. */
static int ring_take(struct ring *g)
{
  pthread_mutex_lock(&g->mu);
  if (g->filled == 0 && !g->done) {
    double t0 = hv_mono();
    while (g->filled == 0 && !g->done)
      pthread_cond_wait(&g->cv, &g->mu);
    g->wait += hv_mono() - t0;
  }
  int slot = g->filled ? g->tail : -1;
  pthread_mutex_unlock(&g->mu);
  return slot;
}

static void ring_release(struct ring *g)
{
  pthread_mutex_lock(&g->mu);
  g->tail = (g->tail + 1) % RING;
  g->filled--;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void ring_stop(struct ring *g)
{
  pthread_mutex_lock(&g->mu);
  g->stop = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

/* ---- writing rows ----------------------------------------------------- */

static int write_genres(struct store_loader *ld, struct hv_err *err)
{
  for (int g = 0; g < N_GENRES; g++)
    if (store_loader_genre(ld, g, genre_names[g], err))
      return err->code;
  return 0;
}

static void movie_title(const struct synth *s, int64_t i, char *out,
                        size_t cap)
{
  struct rng_xo r;
  xo_seed(&r, s->cfg.seed, S_MOVIE, (uint64_t)i ^ 0x5A5A5A5Aull << 32);
  const char *a = title_adj[xo_below(&r, N_ADJ)];
  const char *n1 = title_noun[xo_below(&r, N_NOUN)];
  const char *n2 = title_noun[xo_below(&r, N_NOUN)];
  int year = s->mv[i].year;
  switch (xo_below(&r, 5)) {
  case 0:
    snprintf(out, cap, "The %s %s (%d)", a, n1, year);
    break;
  case 1:
    snprintf(out, cap, "%s %s (%d)", a, n1, year);
    break;
  case 2:
    snprintf(out, cap, "The %s of the %s (%d)", n1, n2, year);
    break;
  case 3:
    snprintf(out, cap, "%s in the %s (%d)", n1, n2, year);
    break;
  default:
    snprintf(out, cap, "The %s %s %d (%d)", a, n1, 2 + (int)xo_below(&r, 3),
             year);
  }
}

static int write_movies(const struct synth *s, struct store_loader *ld,
                        synth_progress_fn progress, void *ctx,
                        struct hv_err *err)
{
  char title[128], date[16];
  for (int64_t i = 0; i < s->cfg.movies; i++) {
    const struct smovie *m = &s->mv[i];
    int gids[3];
    for (int k = 0; k < m->n_genres; k++)
      gids[k] = m->genre[k];
    movie_title(s, i, title, sizeof(title));
    snprintf(date, sizeof(date), "%02d-%s-%04d", 1 + (int)(i * 7 % 28),
             months[i * 5 % 12], m->year);
    struct hv_movie hm = {.id = i + 1, .title = title, .release_date = date,
                          .release_year = m->year, .imdb_url = NULL,
                          .genre_ids = gids, .n_genres = m->n_genres};
    if (store_loader_movie(ld, &hm, err))
      return err->code;
    if (progress && (i & 0xFFFF) == 0xFFFF)
      progress(ctx, "movies", i + 1, s->cfg.movies);
  }
  return 0;
}

static int write_users(const struct synth *s, struct store_loader *ld,
                       synth_progress_fn progress, void *ctx,
                       struct hv_err *err)
{
  char zip[8];
  for (int64_t i = 0; i < s->cfg.users; i++) {
    const struct suser_cold *u = &s->uc[i];
    snprintf(zip, sizeof(zip), "%05u", (unsigned)u->zip);
    struct hv_user hu = {.id = i + 1, .raw_age = u->raw_age,
                         .bucketized_age = u->bucket,
                         .gender = u->gender_f ? "F" : "M",
                         .occupation_text = occupations[u->occ],
                         .occupation_label = u->occ, .zip_code = zip};
    if (store_loader_user(ld, &hu, err))
      return err->code;
    if (progress && (i & 0xFFFF) == 0xFFFF)
      progress(ctx, "users", i + 1, s->cfg.users);
  }
  return 0;
}

static int write_ratings(struct synth *s, struct ring *g,
                         struct store_loader *ld, synth_progress_fn progress,
                         void *ctx, struct hv_err *err)
{
  int64_t done = 0;
  int slot;
  while ((slot = ring_take(g)) >= 0) {
    for (int k = 0; k < g->count[slot]; k++)
      if (store_loader_rating(ld, &g->slot[slot][k], err))
        return err->code;
    done += g->count[slot];
    ring_release(g);
    if (progress)
      progress(ctx, "ratings", done, s->cfg.ratings);
  }
  if (g->gen_rc)
    return hv_err_set(err, HV_EINVAL,
                      "rating %lld: no (user, movie) pair left to rate in "
                      "its time segment; use fewer --ratings or more "
                      "--users/--movies",
                      (long long)g->failed_at);
  return 0;
}

/* The dataset row's source: the parameters and drift facts as JSON. */
static char *source_json(const struct synth *s, const struct synth_result *r)
{
  const struct synth_config *c = &s->cfg;
  json_t *j = json_pack(
      "{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
      "s:I, s:f}",
      "generator", "harvest data synth", "seed", (json_int_t)c->seed, "users",
      (json_int_t)c->users, "movies", (json_int_t)c->movies, "ratings",
      (json_int_t)c->ratings, "days", (json_int_t)c->days, "drift",
      synth_drift_name(c->drift), "start", (json_int_t)s->t0, "end",
      (json_int_t)s->t1, "drift_start", (json_int_t)r->drift_start_ts,
      "drift_end", (json_int_t)r->drift_end_ts, "drift_first_rating_id",
      (json_int_t)r->drift_first_rating_id, "new_movies_from_id",
      (json_int_t)r->new_movies_from_id, "young_users_from_id",
      (json_int_t)r->young_users_from_id, "rating_shift", r->rating_shift);
  char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return out;
}

static void fill_result(const struct synth *s, struct synth_result *r)
{
  memset(r, 0, sizeof(*r));
  r->users = s->cfg.users;
  r->movies = s->cfg.movies;
  r->ratings = s->cfg.ratings;
  r->genres = N_GENRES;
  r->first_ts = s->first_ts;
  r->last_ts = s->last_ts;
  if (s->cfg.drift != SYNTH_DRIFT_NONE) {
    r->drift_start_ts = s->td;
    r->drift_end_ts = s->cfg.drift == SYNTH_DRIFT_SUDDEN ? s->td : s->t1;
    r->drift_first_rating_id = s->drift_first_id;
    r->new_movies_from_id = s->new_from < s->cfg.movies ? s->new_from + 1 : 0;
    r->young_users_from_id =
        s->young_from < s->cfg.users ? s->young_from + 1 : 0;
    r->rating_shift = RATING_SHIFT;
  }
}

/* Insert everything while the generator thread runs; joins it. Adds the
 * generator's busy time and the loader's waiting time to r. */
static int load_all(struct synth *s, struct store_loader *ld,
                    synth_progress_fn progress, void *ctx,
                    struct synth_result *r, struct hv_err *err)
{
  struct ring g;
  memset(&g, 0, sizeof(g));
  g.s = s;
  for (int i = 0; i < RING; i++) {
    g.slot[i] = malloc(BATCH * sizeof(*g.slot[i]));
    if (!g.slot[i]) {
      for (int j = 0; j < i; j++)
        free(g.slot[j]);
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    }
  }
  pthread_mutex_init(&g.mu, NULL);
  pthread_cond_init(&g.cv, NULL);
  pthread_t th;
  int rc = 0, started = pthread_create(&th, NULL, generator_main, &g) == 0;
  if (!started)
    rc = hv_err_set(err, HV_EINTERNAL, "cannot start the generator thread");
  if (!rc)
    rc = write_genres(ld, err);
  if (!rc)
    rc = write_movies(s, ld, progress, ctx, err);
  if (!rc)
    rc = write_users(s, ld, progress, ctx, err);
  if (!rc)
    rc = write_ratings(s, &g, ld, progress, ctx, err);
  if (started) {
    ring_stop(&g);
    pthread_join(th, NULL);
  }
  r->t_generate = g.busy;
  r->t_wait = g.wait;
  pthread_cond_destroy(&g.cv);
  pthread_mutex_destroy(&g.mu);
  for (int i = 0; i < RING; i++)
    free(g.slot[i]);
  return rc;
}

/* ---- public ----------------------------------------------------------- */

void synth_defaults(struct synth_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->users = 943;
  cfg->movies = 1682;
  cfg->ratings = 100000;
  cfg->days = 215;
  cfg->seed = 42;
  cfg->drift = SYNTH_DRIFT_NONE;
  cfg->start = 874713600; /* 1997-09-20, ml-100k's first day */
}

int synth_check(const struct synth_config *cfg, struct hv_err *err)
{
  if (!cfg)
    return hv_err_set(err, HV_EUSAGE, "no configuration");
  if (cfg->users < 1 || cfg->users > MAX_USERS)
    return hv_err_set(err, HV_EUSAGE, "--users must be 1..%lld",
                      (long long)MAX_USERS);
  if (cfg->movies < 1 || cfg->movies > MAX_MOVIES)
    return hv_err_set(err, HV_EUSAGE, "--movies must be 1..%lld",
                      (long long)MAX_MOVIES);
  if (cfg->ratings < 0 || cfg->ratings > MAX_RATINGS)
    return hv_err_set(err, HV_EUSAGE, "--ratings must be 0..%lld",
                      (long long)MAX_RATINGS);
  if ((double)cfg->ratings > 0.5 * (double)cfg->users * (double)cfg->movies)
    return hv_err_set(err, HV_EUSAGE,
                      "--ratings %lld is more than half of users x movies "
                      "(%lld x %lld); each pair is rated at most once",
                      (long long)cfg->ratings, (long long)cfg->users,
                      (long long)cfg->movies);
  if (cfg->days < 1 || cfg->days > 36500)
    return hv_err_set(err, HV_EUSAGE, "--days must be 1..36500");
  if (cfg->start < 0 || cfg->start > 4102444800LL)
    return hv_err_set(err, HV_EUSAGE, "--start must be 1970-01-01..2100-01-01");
  if (cfg->drift != SYNTH_DRIFT_NONE && cfg->drift != SYNTH_DRIFT_GRADUAL &&
      cfg->drift != SYNTH_DRIFT_SUDDEN)
    return hv_err_set(err, HV_EUSAGE, "--drift must be none, gradual or sudden");
  return 0;
}

const char *synth_drift_name(enum synth_drift d)
{
  return d == SYNTH_DRIFT_SUDDEN    ? "sudden"
         : d == SYNTH_DRIFT_GRADUAL ? "gradual"
                                    : "none";
}

int synth_drift_parse(const char *s, enum synth_drift *out,
                      struct hv_err *err)
{
  static const enum synth_drift all[] = {SYNTH_DRIFT_NONE, SYNTH_DRIFT_GRADUAL,
                                         SYNTH_DRIFT_SUDDEN};
  for (size_t i = 0; s && i < 3; i++)
    if (!strcmp(s, synth_drift_name(all[i]))) {
      *out = all[i];
      return 0;
    }
  return hv_err_set(err, HV_EUSAGE,
                    "--drift '%.40s' is not one of none, gradual, sudden",
                    s ? s : "");
}

int synth_parse_date(const char *s, int64_t *out, struct hv_err *err)
{
  char buf[16];
  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return hv_err_set(err, HV_EUSAGE, "--start '%.40s' is not YYYY-MM-DD",
                      s ? s : "");
  memcpy(buf, s, 11);
  buf[4] = buf[7] = '\0';
  int64_t y, m, d;
  if (hv_parse_i64(buf, 1970, 2099, &y, "--start year", err) ||
      hv_parse_i64(buf + 5, 1, 12, &m, "--start month", err) ||
      hv_parse_i64(buf + 8, 1, 31, &d, "--start day", err)) {
    if (err)
      err->code = HV_EUSAGE;
    return HV_EUSAGE;
  }
  struct tm tm = {.tm_year = (int)y - 1900, .tm_mon = (int)m - 1,
                  .tm_mday = (int)d};
  time_t t = timegm(&tm);
  if (tm.tm_mday != d || tm.tm_mon != m - 1)
    return hv_err_set(err, HV_EUSAGE, "--start '%s' is not a real day", s);
  *out = (int64_t)t;
  return 0;
}

int synth_run(struct hv_db *db, const struct synth_config *cfg,
              synth_progress_fn progress, void *ctx, struct synth_result *res,
              struct hv_err *err)
{
  double t_start = hv_mono();
  int rc = synth_check(cfg, err);
  if (rc)
    return rc;
  struct store_load_times lt;
  struct store_loader_opts opts = {.replace = cfg->replace, .times = &lt};
  struct store_loader *ld = NULL;
  if ((rc = store_loader_begin_opts(db, &opts, &ld, err)))
    return rc;
  struct synth *s = malloc(sizeof(*s));
  if (!s) {
    store_loader_abort(ld);
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  }
  double t0 = hv_mono();
  if ((rc = synth_init(s, cfg, err))) {
    free(s);
    store_loader_abort(ld);
    return rc;
  }
  double t1 = hv_mono();
  struct synth_result busy = {0}, r;
  rc = load_all(s, ld, progress, ctx, &busy, err);
  double t2 = hv_mono();
  fill_result(s, &r);
  r.t_model = t1 - t0;
  r.t_rows = t2 - t1;
  r.t_generate = busy.t_generate;
  r.t_wait = busy.t_wait;
  char *source = rc ? NULL : source_json(s, &r);
  if (!rc && !source)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory");
  synth_free(s);
  free(s);
  if (rc) {
    store_loader_abort(ld);
    return rc;
  }
  if (progress)
    progress(ctx, "indexes", 0, 1);
  rc = store_loader_commit(ld, "synth", source, err);
  free(source);
  if (rc)
    return rc;
  r.t_indexes = lt.indexes;
  r.t_commit = lt.commit;
  r.t_checkpoint = lt.checkpoint;
  r.seconds = hv_mono() - t_start;
  if (res)
    *res = r;
  return 0;
}

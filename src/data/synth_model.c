/*
 * synth_model.c - the planted model of the synthetic generator: MovieLens
 * facts (genres, occupations, ages, decades), one random direction per
 * genre, movies (genres, popularity before and after the drift, release
 * year, factors) and users (demographics, taste, activity window), and the
 * catalogue rows written from them. See synth.h for what is planted.
 *
 * Each movie and user is drawn from a stream of its own (seed, concern,
 * index), so e.g. the users do not change when only the number of movies
 * does. Threads: see synth_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/synth_internal.h"

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

/* ---- model ------------------------------------------------------------ */

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

int synth_model_build(struct synth *s)
{
  struct rng_xo r;
  xo_seed(&r, s->cfg.seed, S_GENRE, 0);
  for (int g = 0; g < N_GENRES; g++)
    unit_random(&r, s->dir[g]);
  if (build_movies(s))
    return -1;
  build_users(s);
  return build_genre_lists(s);
}

/* ---- catalogue rows ----------------------------------------------------- */

static int write_genres(struct loader *ld, struct hv_err *err)
{
  for (int g = 0; g < N_GENRES; g++)
    if (loader_genre(ld, g, genre_names[g], err))
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

static int write_movies(const struct synth *s, struct loader *ld,
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
    if (loader_movie(ld, &hm, err))
      return err->code;
    if (progress && (i & 0xFFFF) == 0xFFFF)
      progress(ctx, "movies", i + 1, s->cfg.movies);
  }
  return 0;
}

static int write_users(const struct synth *s, struct loader *ld,
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
    if (loader_user(ld, &hu, err))
      return err->code;
    if (progress && (i & 0xFFFF) == 0xFFFF)
      progress(ctx, "users", i + 1, s->cfg.users);
  }
  return 0;
}

int synth_model_write(const struct synth *s, struct loader *ld,
                      synth_progress_fn progress, void *ctx,
                      struct hv_err *err)
{
  if (write_genres(ld, err) || write_movies(s, ld, progress, ctx, err) ||
      write_users(s, ld, progress, ctx, err))
    return err->code;
  return 0;
}

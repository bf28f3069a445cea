/*
 * synth_gen.c - the rating generator: ratings in time order, each a (user,
 * movie) pair not rated before, drawn from the segment's tables (user by
 * activity, movie from a favourite genre or by popularity), rated by an
 * ordered probit on the latent score with thresholds fitted to ml-100k's
 * histogram. Runs on a thread of its own and fills a ring of batches.
 *
 * Design: each rating's candidate pair is drawn 16..32 ratings ahead and its
 * memory prefetched (struct cand); the duplicate filter keeps a 32-bit
 * fingerprint per pair in an open-addressing table (4/3 slots a rating).
 *
 * Threads: the generator thread owns the struct synth while it runs; the
 * ring's mutex orders the batches (synth_internal.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/synth_internal.h"
#include "util/sort.h"

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

/* Thresholds at ml-100k's cumulative rating shares of z[0..n) (sorted
 * here). */
static void fit_thresholds(struct synth *s, double *z, int n)
{
  qsort(z, (size_t)n, sizeof(*z), sort_cmp_f64);
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
    if (synth_drift_prepare(s, seg))
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

/* So the histogram matches ml-100k before drift. */
int synth_gen_calibrate(struct synth *s)
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

/* ---- the generator thread ------------------------------------------------ */

void *synth_gen_thread(void *arg)
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

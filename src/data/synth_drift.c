/*
 * synth_drift.c - how the synthetic world changes over time: the N_SEG time
 * segments, the popularity blend L of each, and each segment's sampling
 * tables (Vose alias tables of the users active in it, of the movies
 * available by its end, overall and per genre). New movies, the young
 * cohort and the popularity shift (synth.h, drift 1-3) reach the ratings
 * through these tables; the rating scale shift (drift 4) through blend_at.
 *
 * Threads: see synth_internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include "data/synth_internal.h"
#include "util/sort.h"

/* ---- Vose alias tables -------------------------------------------------- */

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

/* ---- a segment's tables -------------------------------------------------- */

/* Blend weight L of a segment's popularity tables. */
static double seg_blend(const struct synth *s, int seg)
{
  if (s->cfg.drift == SYNTH_DRIFT_NONE || seg < N_SEG / 2)
    return 0;
  if (s->cfg.drift == SYNTH_DRIFT_SUDDEN)
    return 1;
  return ((seg - N_SEG / 2) + 0.5) / (N_SEG / 2);
}

/* Number of leading movies available before end (availability never
 * decreases with the id, so the available movies are a prefix). */
static int64_t prefix_movies(const struct synth *s, int64_t end)
{
  return (int64_t)sort_lower_i64(&s->mv[0].avail, (size_t)s->cfg.movies,
                                 sizeof(*s->mv), end);
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

int synth_drift_prepare(struct synth *s, int seg)
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

void synth_drift_free(struct synth *s)
{
  alias_free(&s->ua);
  alias_free(&s->ma);
  for (int g = 0; g < N_GENRES; g++)
    alias_free(&s->ga[g]);
}

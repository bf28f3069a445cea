/*
 * synth.c - the synthetic MovieLens-shaped generator with planted drift:
 * see synth.h for what is planted and how it drifts.
 *
 * This file: synth_run, which builds the model (synth_model.c), the first
 * segment's tables (synth_drift.c) and the thresholds, starts the generator
 * thread (synth_gen.c) and streams the model's rows and the generated
 * ratings into the store loader; the checks and parsers of synth.h. The
 * files' shared state: synth_internal.h.
 */
#include "data/synth.h"

#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "data/synth_internal.h"
#include "store/loader.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/parse.h"

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
  HV_FREE_ALL(s->mv, s->us, s->uc, s->gm, s->seen, s->zbuf);
  synth_drift_free(s);
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
  if (synth_model_build(s) || synth_drift_prepare(s, 0) ||
      synth_gen_calibrate(s))
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

/* ---- the ring's consumer side -------------------------------------------- */

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

static int write_ratings(struct synth *s, struct ring *g,
                         struct loader *ld, synth_progress_fn progress,
                         void *ctx, struct hv_err *err)
{
  int64_t done = 0;
  int slot;
  while ((slot = ring_take(g)) >= 0) {
    for (int k = 0; k < g->count[slot]; k++)
      if (loader_rating(ld, &g->slot[slot][k], err))
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
int synth_drift_facts_json(json_t *j, const struct synth_result *r)
{
  json_t *f = json_pack(
      "{s:I, s:I, s:I, s:I, s:I, s:f}", "drift_start",
      (json_int_t)r->drift_start_ts, "drift_end", (json_int_t)r->drift_end_ts,
      "drift_first_rating_id", (json_int_t)r->drift_first_rating_id,
      "new_movies_from_id", (json_int_t)r->new_movies_from_id,
      "young_users_from_id", (json_int_t)r->young_users_from_id,
      "rating_shift", r->rating_shift);
  int rc = f && j && json_object_update(j, f) == 0 ? 0 : HV_ENOMEM;
  json_decref(f);
  return rc;
}

static char *source_json(const struct synth *s, const struct synth_result *r)
{
  const struct synth_config *c = &s->cfg;
  json_t *j = json_pack(
      "{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I}", "generator",
      "harvest data synth", "seed", (json_int_t)c->seed, "users",
      (json_int_t)c->users, "movies", (json_int_t)c->movies, "ratings",
      (json_int_t)c->ratings, "days", (json_int_t)c->days, "drift",
      synth_drift_name(c->drift), "start", (json_int_t)s->t0, "end",
      (json_int_t)s->t1);
  char *out = synth_drift_facts_json(j, r) ? NULL
                                           : json_dumps(j, JSON_COMPACT);
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
static int load_all(struct synth *s, struct loader *ld,
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
  int rc = 0, started = pthread_create(&th, NULL, synth_gen_thread, &g) == 0;
  if (!started)
    rc = hv_err_set(err, HV_EINTERNAL, "cannot start the generator thread");
  if (!rc)
    rc = synth_model_write(s, ld, progress, ctx, err);
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
  struct loader_times lt;
  struct loader_opts opts = {.replace = cfg->replace, .times = &lt};
  struct loader *ld = NULL;
  if ((rc = loader_begin_opts(db, &opts, &ld, err)))
    return rc;
  struct synth *s = malloc(sizeof(*s));
  if (!s) {
    loader_abort(ld);
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  }
  double t0 = hv_mono();
  if ((rc = synth_init(s, cfg, err))) {
    free(s);
    loader_abort(ld);
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
    loader_abort(ld);
    return rc;
  }
  if (progress)
    progress(ctx, "indexes", 0, 1);
  rc = loader_commit(ld, "synth", source, err);
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

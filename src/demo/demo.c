/*
 * demo.c - `harvest demo`: the loop end to end on a replay. See demo.h.
 */
#include "demo/demo.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "demo/apiclient.h"
#include "demo/demo_rank.h"
#include "monitor/monitor.h"
#include "retrain/retrain.h"
#include "store/db.h"
#include "store/ratings.h"
#include "store/registry_db.h"
#include "store/stats.h"
#include "track/registry.h"
#include "train/dataset.h"
#include "train/tune.h"
#include "track/uri.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/rng.h"
#include "util/say.h"

#define WEEK (7 * 86400)

void demo_config_defaults(struct demo_config *c)
{
  memset(c, 0, sizeof(*c));
  c->dataset = "synth";
  synth_defaults(&c->synth);
  c->synth.users = 2000;
  c->synth.movies = 1000;
  c->synth.ratings = 200000;
  c->synth.days = 120;
  c->synth.seed = 42;
  c->synth.drift = SYNTH_DRIFT_SUDDEN;
  c->train_weeks = 4;
  policy_defaults(&c->policy);
  c->policy.on_dataset_drift = 1;
  c->policy.min_top100 = 0.25;
  c->replay = 0.2;
  c->holdout = 0.2;
  c->margin = 0.0;
  c->epochs = 8;
  c->n_grid = 2;
  c->grid[0] = "dim=32,64";
  c->grid[1] = "lr=0.05,0.1";
  c->batch = 500;
  c->recs_per_batch = 5;
  c->load_clients = 1;
  c->compare = 1;
  c->ranker = 1;
  policy_defaults(&c->rank_policy);
  c->rank_policy.max_rmse_rise = 0.05;
}

/* The report's link base: http(s)://HOST[:PORT], one trailing '/' at
 * most (the links are the UI's root paths, so a path would be lost). */
static int check_ui_url(const char *u, struct hv_err *err)
{
  static const char host[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]";
  size_t skip = !strncmp(u, "http://", 7)    ? 7
                : !strncmp(u, "https://", 8) ? 8
                                             : 0;
  size_t h = skip ? strspn(u + skip, host) : 0;
  const char *rest = u + skip + h;
  if (!skip || !h || (*rest && strcmp(rest, "/")) ||
      strlen(u) >= sizeof(((struct demo_result *)0)->ui_url))
    return hv_err_set(err, HV_EINVAL, "demo: ui url '%.80s' must be "
                      "http://HOST[:PORT] or https://HOST[:PORT], no path",
                      u);
  return 0;
}

static int check_config(const struct demo_config *c, struct hv_err *err)
{
  if (!c || !c->home || !*c->home)
    return hv_err_set(err, HV_EINVAL, "demo: no home folder");
  if (!c->dataset ||
      (strcmp(c->dataset, "synth") && strcmp(c->dataset, "ml-100k")))
    return hv_err_set(err, HV_EINVAL, "demo: dataset must be synth or "
                      "ml-100k");
  if (!c->server.start || !c->server.stop)
    return hv_err_set(err, HV_EINVAL, "demo: no way to start the server");
  if (c->train_weeks < 1 || c->train_weeks > 520 || c->weeks < 0 ||
      c->weeks > 520)
    return hv_err_set(err, HV_EINVAL, "demo: train weeks must be 1..520 and "
                      "weeks 0..520");
  if (c->batch < 1 || c->batch > 10000)
    return hv_err_set(err, HV_EINVAL, "demo: batch %d is outside 1..10000",
                      c->batch);
  if (c->recs_per_batch < 0 || c->recs_per_batch > 100 ||
      c->load_clients < 0 || c->load_clients > 16)
    return hv_err_set(err, HV_EINVAL, "demo: recommendations per batch must "
                      "be 0..100 and load clients 0..16");
  if (c->epochs < 1 || c->epochs > 1000)
    return hv_err_set(err, HV_EINVAL, "demo: epochs %d is outside 1..1000",
                      c->epochs);
  if (c->n_grid > DEMO_MAX_GRID)
    return hv_err_set(err, HV_EINVAL, "demo: at most %d grid axes",
                      DEMO_MAX_GRID);
  if (c->ui_url && check_ui_url(c->ui_url, err))
    return err->code;
  if (!strcmp(c->dataset, "synth") && synth_check(&c->synth, err))
    return err->code;
  return policy_check(&c->policy, err);
}

/* ---- the state of one demo -------------------------------------------- */

struct demo {
  const struct demo_config *c;
  struct demo_result *r;
  const char *name;
  struct hv_db *db;
  struct ratings_cols replay;  /* taken out of the database, time order */
  struct hv_model *never;      /* the first champion */
  struct hv_model *serving;    /* the current Production model */
  struct hv_model *ranker;     /* the Production ranker, or NULL */
  char base_url[64];
  struct apiclient *api;       /* the main thread's client */
  int server_started;
  double t0;                   /* hv_mono() at the start */
  /* background clients */
  pthread_t *threads;
  int n_threads;
  atomic_int stop;
  atomic_llong load_ok, load_failed, regressions;
  pthread_mutex_t mu;          /* first_failure */
};

static void note_failure(struct demo *d, const struct hv_err *e)
{
  pthread_mutex_lock(&d->mu);
  if (!d->r->first_failure[0])
    snprintf(d->r->first_failure, sizeof(d->r->first_failure), "%s",
             e->msg);
  pthread_mutex_unlock(&d->mu);
}

/* The retrieval model's version number in X-Model-Version, "NAME/VERSION"
 * or "NAME/VERSION, RANKER/VERSION" when the ranker ordered the answer (0
 * when absent). */
static int version_of(const char *v)
{
  const char *s = strchr(v, '/');
  return s ? atoi(s + 1) : 0;
}

/* ---- data ------------------------------------------------------------- */

static int prepare_synth(struct demo *d, struct hv_err *err)
{
  struct stats_counts n;
  if (stats_counts(d->db, &n, err))
    return err->code;
  if (n.ratings > 0 || n.users > 0)
    return hv_err_set(err, HV_ECONFLICT, "demo: home '%s' already holds a "
                      "dataset (%lld ratings); give a fresh --home (the demo "
                      "generates its own data)", d->c->home,
                      (long long)n.ratings);
  struct synth_result sr;
  say(d->c->progress, d->c->ud, "synth: %lld users, %lld movies, %lld ratings over %lld days, "
      "seed %llu, %s drift", (long long)d->c->synth.users,
      (long long)d->c->synth.movies, (long long)d->c->synth.ratings,
      (long long)d->c->synth.days, (unsigned long long)d->c->synth.seed,
      synth_drift_name(d->c->synth.drift));
  if (synth_run(d->db, &d->c->synth, NULL, NULL, &sr, err))
    return err->code;
  d->r->drift_ts = sr.drift_start_ts;
  return 0;
}

static int prepare_ml100k(struct demo *d, struct hv_err *err)
{
  struct stats_dataset ds;
  int rc = stats_dataset_latest(d->db, &ds, err);
  if (rc == HV_ENOTFOUND || (!rc && strcmp(ds.name, "ml-100k")))
    return hv_err_set(err, HV_ENOTFOUND, "demo: the home holds no ml-100k "
                      "dataset; import it first ('harvest data import "
                      "--format ml-100k PATH' or 'harvest data fetch')");
  if (rc)
    return rc;
  struct registry_version v;
  memset(&v, 0, sizeof(v));
  struct hv_err e2 = {0};
  rc = registry_db_find(d->db, d->name, 0, NULL, NULL, &v, &e2);
  registry_db_version_free(&v);
  if (!rc)
    return hv_err_set(err, HV_ECONFLICT, "demo: model '%s' is already "
                      "registered in this home; import ml-100k into a fresh "
                      "home for the demo", d->name);
  return 0;
}

/* Move the ratings after the training weeks out of the database. */
static int take_replay(struct demo *d, struct hv_err *err)
{
  struct stats_counts n;
  if (stats_counts(d->db, &n, err))
    return err->code;
  d->r->users = n.users;
  d->r->movies = n.movies;
  d->r->ratings = n.ratings;
  /* weeks start at midnight UTC of the first rating's day */
  d->r->t0 = n.first_ts - ((n.first_ts % 86400) + 86400) % 86400;
  int64_t split = d->r->t0 + (int64_t)d->c->train_weeks * WEEK;
  if (n.ratings == 0 || split > n.last_ts)
    return hv_err_set(err, HV_ENOTFOUND, "demo: the data spans less than "
                      "the %d training weeks; nothing would be replayed",
                      d->c->train_weeks);
  if (ratings_take(d->db, split, &d->replay, err))
    return err->code;
  d->r->replay_ratings = (int64_t)d->replay.n;
  d->r->train_ratings = n.ratings - (int64_t)d->replay.n;
  if (d->r->drift_ts > split)
    d->r->drift_week = (int)((d->r->drift_ts - split) / WEEK) + 1;
  say(d->c->progress, d->c->ud, "replay: %lld ratings of the first %d weeks stay in the "
      "database; %zu later ratings moved to memory (deleted in one "
      "transaction) to be sent through the API", (long long)d->r->train_ratings,
      d->c->train_weeks, d->replay.n);
  return 0;
}

/* ---- the first model ---------------------------------------------------- */

static void tune_progress(void *ud, const struct tune_progress *p)
{
  struct demo *d = ud;
  if (p->phase == TUNE_TRIAL_DONE)
    say(d->c->progress, d->c->ud, "tune: trial %zu/%zu %s: top-100 %.4f%s", p->index + 1,
        p->total, p->label, p->value, p->failed ? " (failed)" : "");
}

/* Load the Production version of the model; *version gets its number. */
static int load_production(struct demo *d, struct hv_model **m, int *version,
                           struct hv_err *err)
{
  char uri[256], path[4096];
  struct uri_target t;
  snprintf(uri, sizeof(uri), "models:/%s/Production", d->name);
  if (uri_resolve_ex(d->c->home, d->db, uri, &t, err))
    return err->code;
  snprintf(path, sizeof(path), "%s", t.path);
  *version = t.version;
  return model_load(path, m, err);
}

static int first_model(struct demo *d, struct hv_err *err)
{
  struct tune_grid g = {0};
  int rc = 0;
  for (size_t i = 0; !rc && i < d->c->n_grid; i++)
    rc = tune_grid_add(&g, d->c->grid[i], err);
  struct train_config base;
  train_config_defaults(&base);
  base.epochs = d->c->epochs;
  base.split = 0.8;
  struct tune_opts to = {0};
  to.home = d->c->home;
  to.experiment = "demo-tune";
  to.register_name = d->name;
  to.stage = "Production";
  to.archive_existing = 1; /* the demo's promotions replace the champion */
  to.progress = tune_progress;
  to.ud = d;
  struct tune_result tr;
  memset(&tr, 0, sizeof(tr));
  if (!rc) {
    say(d->c->progress, d->c->ud, "tune: %zu trials on the %lld ratings of the training weeks",
        tune_grid_size(&g), (long long)d->r->train_ratings);
    rc = tune_run(d->db, &base, &g, &to, &tr, err);
  }
  tune_grid_free(&g);
  if (rc) {
    tune_result_free(&tr);
    return rc;
  }
  const struct tune_trial *b = &tr.trials[tr.best];
  snprintf(d->r->tune_run_id, sizeof(d->r->tune_run_id), "%s",
           tr.parent_run_id);
  snprintf(d->r->tune_best, sizeof(d->r->tune_best), "%s", b->label);
  d->r->tune_best_top100 = tr.best_value;
  d->r->tune_seconds = tr.seconds;
  d->r->initial_version = tr.registered_version;
  tune_result_free(&tr);
  /* @champion came with the promotion (registry_transition) */
  int v = 0;
  rc = load_production(d, &d->serving, &v, err);
  if (!rc)
    rc = load_production(d, &d->never, &v, err);
  if (!rc && d->c->ranker) /* the second stage, on the same weeks */
    rc = demo_rank_first(d->db, d->c, INT64_MAX, &d->ranker, d->r, err);
  if (!rc)
    say(d->c->progress, d->c->ud, "tune: best %s (top-100 %.4f) registered as %s v%d in "
        "Production (@champion)", d->r->tune_best, d->r->tune_best_top100,
        d->name, v);
  return rc;
}

/* ---- server and clients --------------------------------------------------- */

static int start_server(struct demo *d, struct hv_err *err)
{
  int port = 0;
  char token[160] = "";
  if (d->c->server.start(d->c->server.ud, d->c->home, d->name, &port, token,
                         sizeof(token), err))
    return err->code;
  d->server_started = 1;
  d->r->port = port;
  snprintf(d->base_url, sizeof(d->base_url), "http://127.0.0.1:%d", port);
  int rc = apiclient_open(d->base_url, 30.0, &d->api, err) ||
           apiclient_set_bearer(d->api, token, err);
  memset(token, 0, sizeof(token));
  if (rc)
    return err->code;
  /* ready = a model is loaded */
  double t0 = hv_mono();
  long st = 0;
  struct hv_err e = {0};
  while (hv_mono() - t0 < 20.0) {
    if (!apiclient_status(d->api, "/readyz", &st, &e) && st == 200)
      break;
    usleep(50 * 1000);
  }
  if (st != 200)
    return hv_err_set(err, HV_EIO, "demo: the server at %s did not become "
                      "ready in 20 s (last status %ld%s%s)", d->base_url, st,
                      e.msg[0] ? ": " : "", e.msg);
  say(d->c->progress, d->c->ud, "serve: listening on %s, ready in %.2f s", d->base_url,
      hv_mono() - t0);
  return 0;
}

static void *load_main(void *arg)
{
  struct demo *d = arg;
  struct apiclient *c = NULL;
  struct hv_err e = {0};
  if (apiclient_open(d->base_url, 30.0, &c, &e)) {
    atomic_fetch_add(&d->load_failed, 1);
    note_failure(d, &e);
    return NULL;
  }
  uint64_t s = (uint64_t)(uintptr_t)c ^ 0x6c6f6164ull;
  int max_seen = 0;
  int64_t users = d->r->users > 0 ? d->r->users : 1;
  while (!atomic_load(&d->stop)) {
    int64_t u = 1 + (int64_t)(rng_splitmix64(&s) % (uint64_t)users);
    char ver[192];
    hv_err_clear(&e);
    if (apiclient_recommend(c, u, 10, ver, sizeof(ver), NULL, &e)) {
      atomic_fetch_add(&d->load_failed, 1);
      note_failure(d, &e);
    } else {
      atomic_fetch_add(&d->load_ok, 1);
      int v = version_of(ver);
      if (v < max_seen)
        atomic_fetch_add(&d->regressions, 1);
      if (v > max_seen)
        max_seen = v;
    }
    usleep(4000); /* about 200 requests a second per client */
  }
  apiclient_close(c);
  return NULL;
}

static int start_load(struct demo *d, struct hv_err *err)
{
  int n = d->c->load_clients;
  if (!n)
    return 0;
  d->threads = calloc((size_t)n, sizeof(pthread_t));
  if (!d->threads)
    return hv_err_set(err, HV_ENOMEM, "demo: out of memory");
  for (int i = 0; i < n; i++) {
    int rc = pthread_create(&d->threads[i], NULL, load_main, d);
    if (rc)
      return hv_err_set(err, HV_ENOMEM, "demo: cannot start a client "
                        "thread (%s)", strerror(rc));
    d->n_threads++;
  }
  return 0;
}

static void stop_load(struct demo *d)
{
  atomic_store(&d->stop, 1);
  for (int i = 0; i < d->n_threads; i++)
    pthread_join(d->threads[i], NULL);
  d->n_threads = 0;
  free(d->threads);
  d->threads = NULL;
  d->r->load_ok = atomic_load(&d->load_ok);
  d->r->load_failed = atomic_load(&d->load_failed);
  d->r->version_regressions += atomic_load(&d->regressions);
}

/* ---- one week ---------------------------------------------------------------- */

/* Ask for recommendations for up to k users of replay rows [lo, hi) as
 * they would after rating; responses must come from version `expect`. */
static void ask_recs(struct demo *d, size_t lo, size_t hi, int expect,
                     struct demo_week *w)
{
  int k = d->c->recs_per_batch;
  for (int i = 0; i < k && hi > lo; i++) {
    size_t row = lo + (size_t)i * (hi - lo) / (size_t)k;
    char ver[192];
    struct hv_err e = {0};
    w->requests++;
    if (apiclient_recommend(d->api, d->replay.user_id[row], 10, ver,
                            sizeof(ver), NULL, &e)) {
      d->r->recs_failed++;
      w->failed++;
      note_failure(d, &e);
      continue;
    }
    d->r->recs_ok++;
    if (version_of(ver) != expect)
      d->r->version_regressions++;
  }
}

/* POST replay rows [lo, hi) in batches; the week's rating_id range is
 * what the API answered. */
static void post_week(struct demo *d, size_t lo, size_t hi,
                      struct demo_week *w)
{
  const struct ratings_cols *R = &d->replay;
  w->first_id = w->last_id = 0;
  for (size_t s = lo; s < hi; s += (size_t)d->c->batch) {
    size_t n = hi - s < (size_t)d->c->batch ? hi - s : (size_t)d->c->batch;
    int64_t first = 0;
    struct hv_err e = {0};
    w->requests++;
    if (apiclient_add_ratings(d->api, R->user_id + s, R->movie_id + s,
                              R->rating + s, n, &first, &e)) {
      d->r->posts_failed++;
      w->failed++;
      note_failure(d, &e);
    } else {
      d->r->posts_ok++;
      w->new_ratings += (int64_t)n;
      if (!w->first_id)
        w->first_id = first;
      w->last_id = first + (int64_t)n - 1;
    }
    ask_recs(d, s, s + n, w->version, w);
  }
}

static int monitor_week(struct demo *d, struct demo_week *w,
                        struct monitor_report *report, struct hv_err *err)
{
  struct window_spec ws;
  memset(&ws, 0, sizeof(ws));
  ws.kind = WINDOW_RATING_IDS;
  ws.first = w->first_id;
  ws.last = w->last_id;
  snprintf(ws.name, sizeof(ws.name), "week %d", w->week);
  char uri[256], run_name[64];
  snprintf(uri, sizeof(uri), "models:/%s/%d", d->name, w->version);
  snprintf(run_name, sizeof(run_name), "demo-week-%d", w->week);
  struct monitor_config mc;
  monitor_config_defaults(&mc);
  mc.mode = MONITOR_BATCHES;
  mc.windows = &ws;
  mc.n_windows = 1;
  mc.min_ratings = (size_t)d->c->policy.min_window_ratings;
  mc.model_uri = uri;
  mc.log_run = 1;
  mc.run_name = run_name;
  mc.ranker = d->ranker;
  if (monitor_run(d->db, d->c->home, d->serving, &mc, report, err))
    return err->code;
  memcpy(w->monitor_run_id, report->run_id, sizeof(w->monitor_run_id));
  const struct monitor_window *win = &report->windows[0];
  if (win->skipped[0]) { /* too few ratings: neither model is scored */
    snprintf(w->skipped, sizeof(w->skipped), "%s", win->skipped);
    return 0;
  }
  w->top100 = monitor_metrics_top(&win->metrics, 100);
  w->top10 = monitor_metrics_top(&win->metrics, 10);
  w->dataset_drift = w->new_ratings < d->c->policy.min_window_ratings
                         ? -1
                         : win->dataset_drift;
  w->n_drifted = (int)win->n_drifted;
  w->n_features = (int)win->n_judged;
  monitor_report_drifted_names(win, w->drifted, sizeof(w->drifted));
  struct eval_metrics em;
  if (dataset_evaluate(d->db, d->never, w->first_id, w->last_id, &em, err))
    return err->code;
  w->top100_never = em.top_k[EVAL_NK - 1];
  return 0;
}

/* After a promotion: ask until the server answers with the new version. */
static void wait_swap(struct demo *d, struct demo_week *w, int64_t user)
{
  double t0 = hv_mono();
  while (hv_mono() - t0 < 10.0) {
    char ver[192];
    struct hv_err e = {0};
    w->requests++;
    if (apiclient_recommend(d->api, user, 10, ver, sizeof(ver), NULL, &e)) {
      d->r->recs_failed++;
      w->failed++;
      note_failure(d, &e);
    } else {
      d->r->recs_ok++;
      if (version_of(ver) == w->version_after) {
        w->swap_seconds = hv_mono() - t0;
        return;
      }
    }
    usleep(20 * 1000);
  }
}

static int decide_week(struct demo *d, struct demo_week *w,
                       const struct monitor_report *report,
                       struct hv_err *err)
{
  struct retrain_opts o;
  retrain_opts_defaults(&o);
  o.home = d->c->home;
  o.model_name = d->name;
  o.policy = &d->c->policy;
  o.replay = d->c->replay;
  o.holdout = d->c->holdout;
  o.margin = d->c->margin;
  o.compare = d->c->compare;
  o.report = report;
  o.who = "demo";
  struct retrain_result rr;
  if (retrain_run(d->db, &o, &rr, err)) {
    retrain_result_free(&rr);
    return err->code;
  }
  snprintf(w->action, sizeof(w->action), "%s", rr.action);
  snprintf(w->detail, sizeof(w->detail), "%s", rr.detail);
  snprintf(w->reasons, sizeof(w->reasons), "%s", rr.decision.reasons);
  memcpy(w->decision_run_id, rr.decision_run_id, sizeof(w->decision_run_id));
  w->version_after = rr.production_version;
  if (rr.challenger.ran) {
    d->r->n_retrains++;
    w->champion_top100 = rr.champion_top100;
    w->stateful_top100 = rr.challenger.top100;
    w->stateful_seconds = rr.challenger.train_seconds;
    w->stateful_ratings = rr.challenger.n_new + rr.challenger.n_replay;
    memcpy(w->challenger_run_id, rr.challenger.run_id,
           sizeof(w->challenger_run_id));
    if (rr.other.ran) {
      memcpy(w->scratch_run_id, rr.other.run_id, sizeof(w->scratch_run_id));
      w->scratch_top100 = rr.other.top100;
      w->scratch_seconds = rr.other.train_seconds;
      w->scratch_ratings = rr.other.n_new;
    }
  }
  w->stateful_promoted = !strcmp(rr.action, "promoted");
  retrain_result_free(&rr);
  if (d->ranker &&
      demo_rank_week(d->db, d->c, report, w, &d->ranker, d->r, err))
    return err->code;
  if (!w->stateful_promoted)
    return 0;
  d->r->n_promotions++;
  wait_swap(d, w, d->replay.user_id[0]);
  int v = 0;
  model_free(d->serving);
  d->serving = NULL;
  return load_production(d, &d->serving, &v, err);
}

static void week_init(struct demo_week *w, int week, int64_t start,
                      int version)
{
  memset(w, 0, sizeof(*w));
  w->week = week;
  w->start_ts = start;
  w->end_ts = start + WEEK;
  w->top100 = w->top10 = w->top100_never = NAN;
  w->swap_seconds = w->champion_top100 = NAN;
  w->stateful_top100 = w->stateful_seconds = NAN;
  w->scratch_top100 = w->scratch_seconds = NAN;
  w->ranker_rmse = w->ranker_champion_rmse = w->ranker_challenger_rmse = NAN;
  w->dataset_drift = -1;
  w->version = w->version_after = version;
  snprintf(w->action, sizeof(w->action), "none");
}

static int run_week(struct demo *d, struct demo_week *w, size_t lo, size_t hi,
                    struct hv_err *err)
{
  post_week(d, lo, hi, w);
  if (!w->new_ratings) {
    snprintf(w->detail, sizeof(w->detail), "no ratings this week");
    snprintf(w->skipped, sizeof(w->skipped), "no ratings");
    return 0;
  }
  struct monitor_report report;
  int rc = monitor_week(d, w, &report, err);
  if (!rc)
    rc = decide_week(d, w, &report, err);
  monitor_report_free(&report);
  if (!rc && w->skipped[0])
    say(d->c->progress, d->c->ud, "week %2d: %6lld ratings, skipped (%s): "
        "no top-100 for either model, %s", w->week,
        (long long)w->new_ratings, w->skipped, w->action);
  else if (!rc)
    say(d->c->progress, d->c->ud, "week %2d: %6lld ratings, top-100 %.4f (never retrained "
        "%.4f), drift %s, %s%s%s", w->week, (long long)w->new_ratings,
        w->top100, w->top100_never,
        w->dataset_drift == 1 ? "YES" : w->dataset_drift == 0 ? "no" : "-",
        w->action, w->stateful_promoted ? ": " : "",
        w->stateful_promoted ? w->detail : "");
  if (!rc && w->ranker_action[0])
    say(d->c->progress, d->c->ud, "week %2d: ranker RMSE %.4f, %s (v%d)",
        w->week, w->ranker_rmse, w->ranker_action, w->ranker_version_after);
  return rc;
}

static int replay_weeks(struct demo *d, struct hv_err *err)
{
  const struct ratings_cols *R = &d->replay;
  int64_t split = d->r->t0 + (int64_t)d->c->train_weeks * WEEK;
  int64_t last_ts = R->n ? R->timestamp[R->n - 1] : split;
  size_t total = (size_t)((last_ts - split) / WEEK) + 1;
  if (d->c->weeks > 0 && (size_t)d->c->weeks < total)
    total = (size_t)d->c->weeks;
  d->r->weeks = calloc(total, sizeof(struct demo_week));
  if (!d->r->weeks)
    return hv_err_set(err, HV_ENOMEM, "demo: out of memory");
  int version = d->r->initial_version;
  size_t lo = 0;
  for (size_t k = 0; k < total; k++) {
    struct demo_week *w = &d->r->weeks[k];
    int64_t start = split + (int64_t)k * WEEK;
    week_init(w, (int)k + 1, start, version);
    size_t hi = lo;
    while (hi < R->n && R->timestamp[hi] < start + WEEK)
      hi++;
    d->r->n_weeks = k + 1;
    if (run_week(d, w, lo, hi, err))
      return err->code;
    version = w->version_after;
    lo = hi;
  }
  d->r->final_version = version;
  return 0;
}

/* ---- comparison, report --------------------------------------------------------- */

static double mean_of(const struct demo_result *r, size_t from,
                      double (*get)(const struct demo_week *))
{
  double s = 0;
  int n = 0;
  for (size_t i = from; i < r->n_weeks; i++) {
    double v = get(&r->weeks[i]);
    if (!isnan(v)) {
      s += v;
      n++;
    }
  }
  return n ? s / n : NAN;
}

static double g_top(const struct demo_week *w)
{
  return demo_week_top100(w, 0);
}
static double g_never(const struct demo_week *w)
{
  return demo_week_top100(w, 1);
}
static double g_sf_s(const struct demo_week *w) { return w->stateful_seconds; }
static double g_sc_s(const struct demo_week *w) { return w->scratch_seconds; }
static double g_sf_t(const struct demo_week *w) { return w->stateful_top100; }
static double g_sc_t(const struct demo_week *w) { return w->scratch_top100; }

static void compare(struct demo_result *r)
{
  r->stateful_mean_seconds = mean_of(r, 0, g_sf_s);
  r->scratch_mean_seconds = mean_of(r, 0, g_sc_s);
  r->stateful_mean_top100 = mean_of(r, 0, g_sf_t);
  r->scratch_mean_top100 = mean_of(r, 0, g_sc_t);
  r->never_mean_all = mean_of(r, 0, g_never);
  r->serving_mean_all = mean_of(r, 0, g_top);
  r->first_promotion_week = 0;
  for (size_t i = 0; i < r->n_weeks; i++)
    if (r->weeks[i].stateful_promoted) {
      r->first_promotion_week = r->weeks[i].week;
      break;
    }
  r->never_mean_later = r->serving_mean_later = NAN;
  if (r->first_promotion_week) { /* the weeks served by a retrained model */
    size_t from = (size_t)r->first_promotion_week;
    r->never_mean_later = mean_of(r, from, g_never);
    r->serving_mean_later = mean_of(r, from, g_top);
  }
}

static int write_report(struct demo *d, struct hv_err *err)
{
  char dir[4096], name[64];
  if (d->c->report_dir)
    snprintf(dir, sizeof(dir), "%s", d->c->report_dir);
  else if (hv_path_join(dir, sizeof(dir), d->c->home, "reports", err))
    return err->code;
  if (hv_mkdir_p(dir, err))
    return err->code;
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(name, sizeof(name), "demo-%Y%m%d-%H%M%S.html", &tm);
  if (hv_path_join(d->r->report_path, sizeof(d->r->report_path), dir, name,
                   err))
    return err->code;
  char *html = NULL;
  size_t len = 0;
  if (demo_report_html(d->r, &html, &len, err))
    return err->code;
  int rc = hv_write_atomic(d->r->report_path, html, len, 0644, err);
  free(html);
  return rc;
}

/* ---- the whole demo ------------------------------------------------------------------ */

static int demo_body(struct demo *d, struct hv_err *err)
{
  char path[4096];
  const struct demo_config *c = d->c;
  if (hv_mkdir_private(c->home, err) ||
      hv_path_join(path, sizeof(path), c->home, "artifacts", err) ||
      hv_mkdir_p(path, err) ||
      hv_path_join(path, sizeof(path), c->home, "harvest.db", err) ||
      db_open(path, &d->db, err))
    return err->code;
  snprintf(d->r->dataset, sizeof(d->r->dataset), "%s", c->dataset);
  snprintf(d->r->model, sizeof(d->r->model), "%s", d->name);
  snprintf(d->r->ui_url, sizeof(d->r->ui_url), "%s",
           c->ui_url ? c->ui_url : DEMO_UI_URL);
  size_t ul = strlen(d->r->ui_url);
  if (ul && d->r->ui_url[ul - 1] == '/') /* the links add the slash */
    d->r->ui_url[ul - 1] = '\0';
  int rc = !strcmp(c->dataset, "synth") ? prepare_synth(d, err)
                                          : prepare_ml100k(d, err);
  if (rc || take_replay(d, err) || first_model(d, err) ||
      start_server(d, err) || start_load(d, err))
    return err->code;
  rc = replay_weeks(d, err);
  stop_load(d);
  if (rc)
    return rc;
  compare(d->r);
  d->r->seconds = hv_mono() - d->t0; /* the report shows it; final below */
  return write_report(d, err);
}

int demo_run(const struct demo_config *c, struct demo_result *res,
             struct hv_err *err)
{
  if (!res)
    return hv_err_set(err, HV_EINVAL, "demo: no result record");
  memset(res, 0, sizeof(*res));
  if (check_config(c, err))
    return err->code;
  if (apiclient_global_init(err))
    return err->code;
  double t0 = hv_mono();
  struct demo d;
  memset(&d, 0, sizeof(d));
  d.c = c;
  d.r = res;
  d.t0 = t0;
  d.name = c->model_name ? c->model_name : REGISTRY_DEFAULT_MODEL;
  pthread_mutex_init(&d.mu, NULL);
  int rc = demo_body(&d, err);
  if (d.n_threads)
    stop_load(&d);
  apiclient_close(d.api);
  if (d.server_started)
    c->server.stop(c->server.ud);
  model_free(d.never);
  model_free(d.serving);
  model_free(d.ranker);
  ratings_cols_free(&d.replay);
  db_close(d.db);
  pthread_mutex_destroy(&d.mu);
  res->seconds = hv_mono() - t0;
  if (rc)
    demo_result_free(res);
  return rc;
}

void demo_result_free(struct demo_result *res)
{
  if (!res)
    return;
  free(res->weeks);
  res->weeks = NULL;
  res->n_weeks = 0;
}

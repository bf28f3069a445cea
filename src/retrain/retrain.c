/*
 * retrain.c - the retraining service: decide, train a challenger, compare,
 * register, promote. See retrain.h for the steps.
 */
#include "retrain/retrain.h"

#include <math.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "monitor/monitor.h"
#include "monitor/window.h"
#include "store/registry_db.h"
#include "store/ratings.h"
#include "track/registry.h"
#include "track/runs.h"
#include "train/dataset.h"
#include "train/trainrun.h"
#include "track/uri.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/rng.h"
#include "util/say.h"
#include "util/sort.h"

void retrain_opts_defaults(struct retrain_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->replay = RETRAIN_DEFAULT_REPLAY;
  o->holdout = RETRAIN_DEFAULT_HOLDOUT;
  o->margin = 0.0;
}

static int check_opts(const struct retrain_opts *o, struct hv_err *err)
{
  if (!o || !o->home || !*o->home)
    return hv_err_set(err, HV_EINVAL, "retrain: no home folder");
  if (!(isfinite(o->replay) && o->replay >= 0 && o->replay <= 10))
    return hv_err_set(err, HV_EINVAL, "replay %g is outside [0, 10]",
                      o->replay);
  if (!(isfinite(o->holdout) && o->holdout > 0 && o->holdout <= 0.9))
    return hv_err_set(err, HV_EINVAL, "holdout %g is outside (0, 0.9]",
                      o->holdout);
  if (!(isfinite(o->margin) && o->margin >= -1 && o->margin <= 1))
    return hv_err_set(err, HV_EINVAL, "margin %g is outside [-1, 1]",
                      o->margin);
  if (o->epochs < 0 || o->epochs > 10000)
    return hv_err_set(err, HV_EINVAL, "epochs %d is outside 0..10000",
                      o->epochs);
  if (o->threads < 0 || o->threads > 256)
    return hv_err_set(err, HV_EINVAL, "threads %d is outside 0..256",
                      o->threads);
  if (o->model_name && registry_check_name(o->model_name, err))
    return err->code;
  if (o->policy && policy_check(o->policy, err))
    return err->code;
  return 0;
}

/* ---- small helpers ------------------------------------------------------ */

/* Log key=value metric at step 0 (value may be NaN). */
static int metric(struct hv_db *db, const char *run, const char *key,
                  double v, struct hv_err *err)
{
  return runs_log_metric(db, run, key, v, 0, err);
}

static int paramf(struct hv_db *db, const char *run, const char *key,
                  double v, struct hv_err *err)
{
  char buf[64];
  snprintf(buf, sizeof(buf), "%g", v);
  return runs_log_param(db, run, key, buf, err);
}

/* ---- the champion -------------------------------------------------------- */

struct champ {
  int version;
  double top100; /* its own held-out top-100 (NaN: unknown) */
  double rmse;   /* a ranker's own held-out RMSE (NaN: unknown) */
  int ranking;   /* 1: the champion is the ranking stage */
  char uri[256];
  struct hv_model *m;
  struct train_config cfg;
  /* The other stage's Production model (NULL: none registered): the
   * retrieval model a ranker is monitored through, or the ranker a
   * retrieval model's pass tracks too. */
  struct hv_model *other;
  char other_uri[256];
};

/* The Production version of name into *m (and its URI); 0 with *m NULL
 * when name has none. */
static int load_production(struct hv_db *db, const char *home,
                           const char *name, struct hv_model **m, char *uri,
                           size_t cap, struct hv_err *err)
{
  char path[4096];
  struct hv_err e = {0};
  snprintf(uri, cap, "models:/%s/Production", name);
  int rc = uri_resolve(home, db, uri, path, sizeof(path), &e);
  if (rc == HV_ENOTFOUND)
    return 0;
  if (rc) {
    *err = e;
    return rc;
  }
  if (model_load(path, m, err)) {
    hv_err_prefix(err, "%s", uri);
    return err->code;
  }
  return 0;
}

static int load_champion(struct hv_db *db, const struct retrain_opts *o,
                         const char *name, struct champ *c,
                         struct hv_err *err)
{
  struct registry_version v;
  memset(&v, 0, sizeof(v));
  if (registry_db_find(db, name, 0, NULL, "Production", &v, err)) {
    if (err->code == HV_ENOTFOUND)
      hv_err_set(err, HV_ENOTFOUND, "model '%s' has no Production version; "
                 "register one first ('harvest models register --run RUN "
                 "--name %s --stage Production')", name, name);
    registry_db_version_free(&v);
    return err->code;
  }
  c->version = v.version;
  c->top100 = c->rmse = NAN;
  struct tracking_run *run = NULL;
  struct hv_err ignored = {0};
  /* the training run's test split, or a retrained model's hold-out slice */
  if (v.run_id[0] && runs_get(db, v.run_id, &run, &ignored) == 0) {
    c->top100 = runs_metric(run, "top_100_categorical_accuracy");
    if (isnan(c->top100))
      c->top100 = runs_metric(run, "holdout_top_100_categorical_accuracy");
    c->rmse = runs_metric(run, "rmse");
    if (isnan(c->rmse))
      c->rmse = runs_metric(run, "holdout_rmse");
    runs_free(run, 1);
  }
  registry_db_version_free(&v);
  snprintf(c->uri, sizeof(c->uri), "models:/%s/%d", name, c->version);
  char path[4096];
  if (uri_resolve(o->home, db, c->uri, path, sizeof(path), err))
    return err->code;
  if (model_load(path, &c->m, err)) {
    hv_err_prefix(err, "champion %s", c->uri);
    return err->code;
  }
  model_config(c->m, &c->cfg);
  c->ranking = c->cfg.task == MODEL_TASK_RANKING;
  /* the other stage: a ranker is monitored through the retrieval model */
  return load_production(db, o->home,
                         c->ranking ? REGISTRY_DEFAULT_MODEL
                                    : REGISTRY_DEFAULT_RANKER,
                         &c->other, c->other_uri, sizeof(c->other_uri), err);
}

/* ---- monitoring ------------------------------------------------------------ */

/* The policy's windows over the new rating ids ids[0..n) into *w. */
static int make_windows(const struct policy *p, const int64_t *ids, size_t n,
                        struct window_spec **w, size_t *nw,
                        struct hv_err *err)
{
  *w = NULL;
  *nw = 0;
  if (!n)
    return 0;
  size_t k = (size_t)p->windows, size;
  if (p->window_ratings > 0) {
    size = (size_t)p->window_ratings;
    if (k * size > n)
      k = (n + size - 1) / size;
  } else {
    if (k > n)
      k = n;
    size = n / k;
  }
  *w = calloc(k, sizeof(**w));
  if (!*w)
    return hv_err_set(err, HV_ENOMEM, "retrain: out of memory (windows)");
  /* windows end at the newest rating; the oldest takes what is left over
   * when splitting evenly */
  size_t end = n;
  for (size_t i = k; i-- > 0;) {
    size_t start = (i == 0 && p->window_ratings == 0) ? 0
                   : (end > size ? end - size : 0);
    struct window_spec *s = &(*w)[i];
    s->kind = WINDOW_RATING_IDS;
    s->first = ids[start];
    s->last = ids[end - 1];
    snprintf(s->name, sizeof(s->name), "%lld:%lld", (long long)s->first,
             (long long)s->last);
    end = start;
  }
  *nw = k;
  return 0;
}

static int monitor_new(struct hv_db *db, const struct retrain_opts *o,
                       const struct policy *p, const struct champ *c,
                       const char *run_id, const int64_t *ids, size_t n,
                       struct monitor_report **report, struct hv_err *err)
{
  struct window_spec *w = NULL;
  size_t nw = 0;
  if (make_windows(p, ids, n, &w, &nw, err))
    return err->code;
  if (!nw)
    return 0;
  const struct hv_model *ret = c->ranking ? c->other : c->m;
  const struct hv_model *rk = c->ranking ? c->m : c->other;
  if (!ret) {
    free(w);
    return hv_err_set(err, HV_ENOTFOUND, "retrain: a ranking model is "
                      "monitored through the retrieval model, and '%s' has "
                      "no Production version; register one first",
                      REGISTRY_DEFAULT_MODEL);
  }
  struct monitor_config mc;
  monitor_config_defaults(&mc);
  mc.mode = MONITOR_BATCHES;
  mc.windows = w;
  mc.n_windows = nw;
  mc.min_ratings = (size_t)p->min_window_ratings;
  mc.model_uri = c->ranking ? c->other_uri : c->uri;
  mc.ranker = rk && model_task(rk) == MODEL_TASK_RANKING ? rk : NULL;
  mc.ranker_uri = c->ranking ? c->uri : c->other_uri;
  mc.log_run = o->log_monitor;
  mc.parent_run_id = run_id;
  mc.progress = o->monitor_progress;
  mc.progress_ud = o->progress_ud;
  say(o->progress, o->progress_ud, "monitoring %zu window%s of %zu new ratings", nw,
       nw == 1 ? "" : "s", n);
  struct monitor_report *rep = calloc(1, sizeof(*rep));
  int rc = rep ? monitor_run(db, o->home, ret, &mc, rep, err)
               : hv_err_set(err, HV_ENOMEM, "retrain: out of memory");
  free(w);
  if (rc) {
    free(rep); /* monitor_run left it empty */
    return rc;
  }
  *report = rep;
  return 0;
}

/* ---- logging the decision ---------------------------------------------- */

static int log_params(struct hv_db *db, const char *run,
                      const struct retrain_opts *o, const struct policy *p,
                      const char *name, const struct champ *c,
                      struct hv_err *err)
{
  json_t *pj = policy_to_json(p);
  char *ptext = pj ? json_dumps(pj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(pj);
  if (!ptext)
    return hv_err_set(err, HV_ENOMEM, "retrain: out of memory (policy)");
  int rc = runs_log_param(db, run, "policy", ptext, err);
  free(ptext);
  if (rc || runs_log_param(db, run, "model", name, err) ||
      runs_log_param(db, run, "champion_uri", c->uri, err) ||
      runs_log_param(db, run, "mode",
                     o->from_scratch ? "scratch" : "stateful", err) ||
      paramf(db, run, "replay", o->replay, err) ||
      paramf(db, run, "holdout", o->holdout, err) ||
      paramf(db, run, "margin", o->margin, err) ||
      runs_log_param(db, run, "dry_run", o->dry_run ? "true" : "false",
                     err) ||
      runs_log_param(db, run, "force", o->force ? "true" : "false", err) ||
      runs_log_param(db, run, "compare", o->compare ? "true" : "false", err))
    return err->code;
  return 0;
}

static int log_decision(struct hv_db *db, const char *run,
                        const struct policy_decision *d, struct hv_err *err)
{
  if (runs_set_tag(db, run, "retrain.decision", d->retrain ? "retrain" : "keep",
                   err) ||
      runs_set_tag(db, run, "retrain.reasons", d->reasons, err) ||
      metric(db, run, "decision", d->retrain, err) ||
      metric(db, run, "new_ratings", (double)d->new_ratings, err) ||
      metric(db, run, "model_age_days", d->age_days, err) ||
      metric(db, run, "worst_top100", d->worst_top100, err) ||
      metric(db, run, "dataset_drift",
             d->dataset_drift < 0 ? NAN : d->dataset_drift, err) ||
      (!isnan(d->worst_rmse) &&
       metric(db, run, "worst_rmse", d->worst_rmse, err)))
    return err->code;
  for (size_t i = 0; i < d->n_checks; i++) {
    char key[128], t[80];
    snprintf(t, sizeof(t), "%s", d->checks[i].trigger);
    for (char *q = t; *q; q++)
      if (*q == ':')
        *q = '.';
    snprintf(key, sizeof(key), "check.%s", t);
    if (metric(db, run, key, d->checks[i].fired, err))
      return err->code;
    snprintf(key, sizeof(key), "check.%s.value", t);
    if (metric(db, run, key, d->checks[i].value, err))
      return err->code;
    snprintf(key, sizeof(key), "check.%s.threshold", t);
    if (metric(db, run, key, d->checks[i].threshold, err))
      return err->code;
  }
  return 0;
}

/* ---- training a challenger ----------------------------------------------- */

struct plan {
  const char *name;         /* model name */
  const char *parent;       /* decision run */
  int64_t L;                /* end of the champion's training data */
  int64_t train_last;       /* last new rating trained on */
  int64_t hold_first, hold_last;
  size_t n_new_train;       /* new ratings before the held-out slice */
  uint64_t seed;
};

/* A uniform sample of round(replay * n_new_train) rating ids <= L,
 * ascending, into *out (*n; caller frees). */
static int replay_sample(struct hv_db *db, const struct retrain_opts *o,
                         const struct plan *pl, int64_t **out, size_t *n,
                         struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  size_t want = (size_t)llround(o->replay * (double)pl->n_new_train);
  if (!want || pl->L < 0)
    return 0;
  int64_t *ids = NULL;
  size_t n_old = 0;
  if (ratings_ids(db, 0, pl->L, &ids, &n_old, err))
    return err->code;
  if (want > n_old)
    want = n_old;
  uint64_t s = pl->seed ^ 0x7265706c6179ull; /* "replay" */
  for (size_t i = 0; i < want; i++) { /* partial Fisher-Yates */
    size_t j = i + (size_t)(rng_splitmix64(&s) % (uint64_t)(n_old - i));
    int64_t t = ids[i];
    ids[i] = ids[j];
    ids[j] = t;
  }
  qsort(ids, want, sizeof(int64_t), sort_cmp_i64);
  *out = ids;
  *n = want;
  return 0;
}

struct side_ctx {
  struct hv_db *db;
  const char *mode;
  const int64_t *replay; /* the replay sample's rating ids, ascending */
  size_t n_replay;
  int failed;
  struct hv_err err;
};

/* SHA-256 (hex) of ids as decimal lines "ID\n": the replay sample's
 * fingerprint (ratings never change once stored, so the ids name the
 * rows). */
static void ids_sha256(const int64_t *ids, size_t n, char hex[65])
{
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  char line[24];
  for (size_t i = 0; i < n; i++) {
    int len = snprintf(line, sizeof(line), "%lld\n", (long long)ids[i]);
    crypto_hash_sha256_update(&h, (const unsigned char *)line, (size_t)len);
  }
  unsigned char dig[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&h, dig);
  sodium_bin2hex(hex, 65, dig, sizeof(dig));
}

static void side_started(void *ud, const char *run_id)
{
  struct side_ctx *x = ud;
  char buf[32], hex[65];
  snprintf(buf, sizeof(buf), "%zu", x->n_replay);
  if (runs_set_tag(x->db, run_id, "retrain.mode", x->mode, &x->err) ||
      runs_log_param(x->db, run_id, "replay_ratings", buf, &x->err))
    x->failed = 1;
  if (!x->failed && x->n_replay) {
    ids_sha256(x->replay, x->n_replay, hex);
    if (runs_log_param(x->db, run_id, "replay_ids_sha256", hex, &x->err))
      x->failed = 1;
  }
}

/* Train one challenger (stateful or from scratch) as a tracked run; *m
 * gets the model (caller frees). */
static int train_side(struct hv_db *db, const struct retrain_opts *o,
                      const struct champ *c, const struct plan *pl,
                      int stateful, const char *run_name,
                      struct retrain_side *side, struct hv_model **m,
                      struct hv_err *err)
{
  struct train_config tc = c->cfg;
  tc.split = 1.0;
  tc.eval_every = 0;
  tc.threads = o->threads;
  tc.seed = pl->seed;
  if (o->epochs > 0)
    tc.epochs = o->epochs;
  tc.first_rating_id = stateful ? pl->L + 1 : 0;
  tc.last_rating_id = pl->train_last;
  int64_t *replay = NULL;
  size_t n_replay = 0;
  if (stateful && replay_sample(db, o, pl, &replay, &n_replay, err))
    return err->code;
  tc.extra_rating_ids = replay;
  tc.n_extra_rating_ids = n_replay;
  struct side_ctx x = {db, stateful ? "stateful" : "scratch", replay,
                       n_replay, 0, {0}};
  struct trainrun_opts to;
  memset(&to, 0, sizeof(to));
  to.home = o->home;
  to.experiment = RETRAIN_EXPERIMENT;
  to.run_name = run_name;
  to.parent_run_id = pl->parent;
  to.init_from = stateful ? c->uri : NULL;
  to.keep_model = 1;
  to.on_start = side_started;
  to.ud = &x;
  to.cb = o->train_cb;
  say(o->progress, o->progress_ud, "training the %s challenger on ratings %lld..%lld (%zu replayed "
       "older ratings), %d epoch%s", stateful ? "stateful" : "from-scratch",
       (long long)tc.first_rating_id, (long long)tc.last_rating_id, n_replay,
       tc.epochs, tc.epochs == 1 ? "" : "s");
  struct trainrun_result tr;
  double t0 = hv_mono();
  int rc = trainrun_run(db, &tc, &to, &tr, err);
  free(replay);
  if (!rc && x.failed) {
    *err = x.err;
    rc = err->code ? err->code : HV_EDB;
  }
  if (rc) {
    trainrun_result_free(&tr);
    return rc;
  }
  side->ran = 1;
  side->stateful = stateful;
  memcpy(side->run_id, tr.run_id, sizeof(side->run_id));
  struct train_config got;
  model_config(tr.model, &got); /* the range as loaded, not as asked */
  side->train_first = got.first_rating_id;
  side->train_last = got.last_rating_id;
  side->n_replay = n_replay;
  side->n_new = tr.train.n_ratings - n_replay;
  side->epochs = tr.train.epochs;
  side->train_seconds = tr.train.train_seconds;
  side->seconds = hv_mono() - t0;
  *m = tr.model;
  tr.model = NULL;
  trainrun_result_free(&tr);
  return 0;
}

/* Top-100 / top-10 of m on the held-out slice; a ranker's RMSE there
 * (*rmse; NaN for a retrieval model, whose top-100s are NaN for a
 * ranker). */
static int holdout_eval(struct hv_db *db, const struct hv_model *m,
                        const struct plan *pl, double *top100, double *top10,
                        double *rmse, struct hv_err *err)
{
  *rmse = *top100 = *top10 = NAN;
  if (model_task(m) == MODEL_TASK_RANKING) {
    struct hv_dataset ds;
    struct rank_metrics rm;
    int rc = dataset_load_eval(db, m, pl->hold_first, pl->hold_last, &ds,
                               err);
    if (!rc)
      rc = model_rank_evaluate(&ds, m, &rm, err);
    dataset_free(&ds);
    if (!rc)
      *rmse = rm.rmse;
    return rc;
  }
  struct eval_metrics em;
  if (dataset_evaluate(db, m, pl->hold_first, pl->hold_last, &em, err))
    return err->code;
  *top100 = em.top_k[EVAL_NK - 1];
  *top10 = em.top_k[2];
  return 0;
}

/* Train, evaluate and log one side (the challenger or the comparison). */
static int run_side(struct hv_db *db, const struct retrain_opts *o,
                    const struct champ *c, const struct plan *pl,
                    int stateful, const char *prefix,
                    struct retrain_side *side, struct hv_model **keep,
                    struct hv_err *err)
{
  char name[64];
  snprintf(name, sizeof(name), "%s-%s", prefix,
           stateful ? "stateful" : "scratch");
  struct hv_model *m = NULL;
  if (train_side(db, o, c, pl, stateful, name, side, &m, err))
    return err->code;
  say(o->progress, o->progress_ud, "evaluating %s on the held-out ratings %lld..%lld", name,
       (long long)pl->hold_first, (long long)pl->hold_last);
  int rc = holdout_eval(db, m, pl, &side->top100, &side->top10,
                        &side->rmse, err);
  if (!rc && !isnan(side->rmse))
    rc = metric(db, side->run_id, "holdout_rmse", side->rmse, err);
  if (!rc)
    rc = metric(db, side->run_id, "holdout_top_100_categorical_accuracy",
                side->top100, err);
  if (!rc)
    rc = metric(db, side->run_id, "holdout_top_10_categorical_accuracy",
                side->top10, err);
  if (!rc && keep) {
    *keep = m;
    m = NULL;
  }
  model_free(m);
  return rc;
}

/* ---- registry ------------------------------------------------------------ */

static int register_and_promote(struct hv_db *db,
                                const struct retrain_opts *o,
                                const struct plan *pl,
                                struct retrain_result *r, struct hv_err *err)
{
  const char *who = o->who ? o->who : registry_who();
  char reason[512], desc[512];
  const struct retrain_side *s = &r->challenger;
  snprintf(desc, sizeof(desc), "%s challenger of version %d on ratings "
           "%lld:%lld%s (%zu replayed)",
           s->stateful ? "stateful" : "from-scratch", r->champion_version,
           (long long)s->train_first, (long long)s->train_last,
           s->stateful ? " + replay" : "", s->n_replay);
  const int rk = !strcmp(r->stage, "ranking");
  const char *what = rk ? "RMSE" : "top-100";
  double mine = rk ? s->rmse : s->top100;
  double theirs = rk ? r->champion_rmse : r->champion_top100;
  /* retrieval: higher top-100 wins; ranking: lower RMSE wins */
  int wins = rk ? mine < theirs - o->margin : mine > theirs + o->margin;
  snprintf(reason, sizeof(reason), "challenger: held-out %s %.4f vs "
           "champion v%d %.4f on ratings %lld:%lld (margin %g); decision "
           "run %s", what, mine, r->champion_version, theirs,
           (long long)pl->hold_first, (long long)pl->hold_last, o->margin,
           r->decision_run_id);
  struct registry_register_opts ro = {0};
  ro.name = pl->name;
  ro.run_id = s->run_id;
  ro.description = desc;
  ro.reason = reason;
  ro.who = who;
  if (registry_register(o->home, db, &ro, &r->challenger_version, err) ||
      registry_db_set_alias(db, pl->name, RETRAIN_ALIAS_CHALLENGER,
                            r->challenger_version, reason, who, err))
    return err->code;
  r->production_version = r->champion_version;
  if (!wins) {
    snprintf(r->detail, sizeof(r->detail), "v%d registered as @%s, not "
             "promoted: %s %.4f vs champion %.4f (margin %g)",
             r->challenger_version, RETRAIN_ALIAS_CHALLENGER, what, mine,
             theirs, o->margin);
    snprintf(r->action, sizeof(r->action), "challenger");
    return 0;
  }
  snprintf(reason, sizeof(reason), "promoted: held-out %s %.4f %s "
           "champion v%d %.4f %s margin %g on ratings %lld:%lld; decision "
           "run %s", what, mine, rk ? "<" : ">", r->champion_version, theirs,
           rk ? "-" : "+", o->margin, (long long)pl->hold_first,
           (long long)pl->hold_last, r->decision_run_id);
  if (registry_transition(db, pl->name, r->challenger_version, "Production",
                          1, reason, who, err) ||
      registry_db_set_alias(db, pl->name, RETRAIN_ALIAS_CHALLENGER, 0, reason,
                            who, err))
    return err->code;
  r->production_version = r->challenger_version;
  snprintf(r->action, sizeof(r->action), "promoted");
  snprintf(r->detail, sizeof(r->detail), "v%d promoted to Production "
           "(v%d archived): %s %.4f vs %.4f", r->challenger_version,
           r->champion_version, what, mine, theirs);
  return 0;
}

/* ---- the whole call --------------------------------------------------------- */

/* Plan the held-out slice over the new ids; 0 with *ok = 0 when there are
 * too few new ratings to hold out and train. */
static void plan_slices(const struct retrain_opts *o, const int64_t *ids,
                        size_t n, struct plan *pl, int *ok)
{
  *ok = 0;
  if (n < 2)
    return;
  size_t n_hold = (size_t)ceil(o->holdout * (double)n);
  if (n_hold < 1)
    n_hold = 1;
  if (n_hold >= n)
    n_hold = n - 1;
  pl->n_new_train = n - n_hold;
  pl->hold_first = ids[n - n_hold];
  pl->hold_last = ids[n - 1];
  pl->train_last = ids[n - n_hold - 1];
  *ok = 1;
}

static int do_retrain(struct hv_db *db, const struct retrain_opts *o,
                      const struct champ *c, struct plan *pl,
                      const int64_t *ids, size_t n,
                      struct retrain_result *r, struct hv_err *err)
{
  int ok;
  plan_slices(o, ids, n, pl, &ok);
  if (!ok) {
    snprintf(r->action, sizeof(r->action), "skipped");
    snprintf(r->detail, sizeof(r->detail), "%zu new rating%s: too few to "
             "hold out a slice and train", n, n == 1 ? "" : "s");
    return 0;
  }
  r->holdout_first = pl->hold_first;
  r->holdout_last = pl->hold_last;
  r->n_holdout = n - pl->n_new_train;
  say(o->progress, o->progress_ud, "evaluating the champion on %zu held-out ratings %lld..%lld",
       r->n_holdout, (long long)pl->hold_first, (long long)pl->hold_last);
  if (holdout_eval(db, c->m, pl, &r->champion_top100, &r->champion_top10,
                   &r->champion_rmse, err))
    return err->code;
  /* a ranking model cannot continue training (train_run): from scratch */
  int stateful = !o->from_scratch && !c->ranking;
  if (run_side(db, o, c, pl, stateful, "challenger", &r->challenger, NULL,
               err))
    return err->code;
  if (o->compare && !c->ranking &&
      run_side(db, o, c, pl, !stateful, "compare", &r->other, NULL, err))
    return err->code;
  return register_and_promote(db, o, pl, r, err);
}

static int log_outcome(struct hv_db *db, const char *run,
                       const struct retrain_result *r, struct hv_err *err)
{
  char v[32];
  snprintf(v, sizeof(v), "%d", r->challenger_version);
  if (runs_set_tag(db, run, "retrain.action", r->action, err) ||
      runs_set_tag(db, run, "retrain.detail", r->detail, err))
    return err->code;
  if (!r->challenger.ran)
    return 0;
  if (runs_set_tag(db, run, "retrain.challenger_version", v, err) ||
      runs_set_tag(db, run, "retrain.challenger_run_id", r->challenger.run_id,
                   err) ||
      metric(db, run, "champion_top100", r->champion_top100, err) ||
      metric(db, run, "challenger_top100", r->challenger.top100, err) ||
      metric(db, run, "promoted", !strcmp(r->action, "promoted"), err) ||
      metric(db, run, "train_seconds", r->challenger.train_seconds, err) ||
      metric(db, run, "holdout_ratings", (double)r->n_holdout, err))
    return err->code;
  if (!isnan(r->champion_rmse) &&
      (metric(db, run, "champion_rmse", r->champion_rmse, err) ||
       metric(db, run, "challenger_rmse", r->challenger.rmse, err)))
    return err->code;
  if (r->other.ran &&
      (metric(db, run, "compare_top100", r->other.top100, err) ||
       metric(db, run, "compare_train_seconds", r->other.train_seconds, err)))
    return err->code;
  return 0;
}

/* Everything between the start and the end of the decision run. */
static int decide_and_act(struct hv_db *db, const struct retrain_opts *o,
                          const struct policy *p, struct champ *c,
                          struct plan *pl, struct retrain_result *r,
                          struct hv_err *err)
{
  const char *run = r->decision_run_id;
  int64_t *ids = NULL;
  size_t n = 0;
  int rc = log_params(db, run, o, p, pl->name, c, err);
  if (!rc && r->newest_id > pl->L)
    rc = ratings_ids(db, pl->L + 1, r->newest_id, &ids, &n, err);
  r->new_ratings = (int64_t)n;
  const struct monitor_report *report = o->report;
  if (!rc && !report && policy_needs_report(p) && n > 0) {
    rc = monitor_new(db, o, p, c, run, ids, n, &r->report, err);
    report = r->report;
  }
  struct policy_input in = {report, (int64_t)n,
                            (hv_now() - model_created_at(c->m)) / 86400.0,
                            o->force, c->top100, c->rmse};
  if (!rc)
    rc = policy_decide(p, &in, &r->decision, err);
  if (!rc)
    rc = log_decision(db, run, &r->decision, err);
  if (!rc) {
    if (!r->decision.retrain) {
      snprintf(r->action, sizeof(r->action), "none");
      snprintf(r->detail, sizeof(r->detail), "%s", r->decision.reasons);
    } else if (o->dry_run) {
      snprintf(r->action, sizeof(r->action), "dry-run");
      snprintf(r->detail, sizeof(r->detail), "would retrain: %s",
               r->decision.reasons);
    } else {
      rc = do_retrain(db, o, c, pl, ids, n, r, err);
    }
  }
  free(ids);
  if (!rc)
    rc = log_outcome(db, run, r, err);
  return rc;
}

int retrain_run(struct hv_db *db, const struct retrain_opts *o,
                struct retrain_result *res, struct hv_err *err)
{
  if (!res)
    return hv_err_set(err, HV_EINVAL, "retrain: no result record");
  memset(res, 0, sizeof(*res));
  if (!db)
    return hv_err_set(err, HV_EINVAL, "retrain: no database");
  if (check_opts(o, err))
    return err->code;
  double t0 = hv_mono();
  struct policy seed;
  policy_seed(&seed);
  const struct policy *p = o->policy ? o->policy : &seed;
  const char *name = o->model_name ? o->model_name : REGISTRY_DEFAULT_MODEL;
  snprintf(res->model, sizeof(res->model), "%s", name);
  struct champ c;
  memset(&c, 0, sizeof(c));
  int rc = load_champion(db, o, name, &c, err);
  if (!rc)
    rc = ratings_last_id(db, &res->newest_id, err);
  if (rc) {
    model_free(c.m);
    model_free(c.other);
    return rc;
  }
  res->champion_version = res->production_version = c.version;
  res->champion_rmse = NAN;
  snprintf(res->stage, sizeof(res->stage), "%s",
           c.ranking ? "ranking" : "retrieval");
  res->last_trained_id = c.cfg.last_rating_id;
  struct plan pl = {name, res->decision_run_id, c.cfg.last_rating_id, 0, 0,
                    0, 0, o->seed ? o->seed : c.cfg.seed};
  char run_name[160];
  snprintf(run_name, sizeof(run_name), "retrain-%s-v%d", name, c.version);
  rc = runs_start(db, RETRAIN_EXPERIMENT, run_name, NULL,
                  res->decision_run_id, err);
  if (!rc) {
    rc = decide_and_act(db, o, p, &c, &pl, res, err);
    if (!rc)
      rc = runs_end(db, res->decision_run_id, "FINISHED", err);
    if (rc)
      runs_fail(db, res->decision_run_id, err);
  }
  model_free(c.m);
  model_free(c.other);
  res->seconds = hv_mono() - t0;
  return rc;
}

void retrain_result_free(struct retrain_result *res)
{
  if (!res)
    return;
  monitor_report_free(res->report);
  free(res->report);
  res->report = NULL;
}

/* ---- JSON ------------------------------------------------------------------- */

static json_t *side_json(const struct retrain_side *s)
{
  json_t *j = json_pack(
      "{s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:o, s:o, s:o, s:o}", "mode",
      s->stateful ? "stateful" : "scratch", "run_id", s->run_id,
      "train_first_rating_id", (json_int_t)s->train_first,
      "train_last_rating_id", (json_int_t)s->train_last, "new_ratings",
      (json_int_t)s->n_new, "replay_ratings", (json_int_t)s->n_replay, "epochs",
      s->epochs, "train_seconds", hv_json_num(s->train_seconds), "seconds",
      hv_json_num(s->seconds), "top_100_categorical_accuracy",
      hv_json_num(s->top100), "top_10_categorical_accuracy",
      hv_json_num(s->top10));
  if (j && !isnan(s->rmse))
    json_object_set_new(j, "rmse", json_real(s->rmse));
  return j;
}

static json_t *windows_json(const struct monitor_report *report)
{
  json_t *out = json_array();
  for (size_t i = 0; out && i < report->n_windows; i++) {
    const struct monitor_window *w = &report->windows[i];
    json_array_append_new(
        out, json_pack("{s:s, s:I, s:o, s:b, s:I}", "name", w->spec.name,
                       "n_ratings", (json_int_t)w->n_ratings,
                       "top_100_categorical_accuracy",
                       hv_json_num(monitor_metrics_top(&w->metrics, 100)),
                       "dataset_drift", w->dataset_drift, "n_drifted",
                       (json_int_t)w->n_drifted));
    if (w->metrics.ranker_n)
      json_object_set_new(json_array_get(out, i), "ranker_rmse",
                          hv_json_num(w->metrics.ranker_rmse));
    if (w->skipped[0]) /* too small: not evaluated, not judged */
      json_object_set_new(json_array_get(out, i), "skipped",
                          json_string(w->skipped));
  }
  return out;
}

json_t *retrain_result_to_json(const struct retrain_result *r)
{
  json_t *j = json_pack(
      "{s:s, s:s, s:s, s:o, s:s, s:i, s:i, s:i, s:I, s:I, s:I, s:o}", "model",
      r->model, "action", r->action, "detail", r->detail, "decision",
      policy_decision_to_json(&r->decision), "decision_run_id",
      r->decision_run_id, "champion_version", r->champion_version,
      "challenger_version", r->challenger_version, "production_version",
      r->production_version, "last_trained_rating_id",
      (json_int_t)r->last_trained_id, "newest_rating_id",
      (json_int_t)r->newest_id, "new_ratings", (json_int_t)r->new_ratings,
      "seconds", hv_json_num(r->seconds));
  if (!j)
    return NULL;
  if (r->n_holdout) {
    json_object_set_new(
        j, "holdout",
        json_pack("{s:I, s:I, s:I}", "first_rating_id",
                  (json_int_t)r->holdout_first, "last_rating_id",
                  (json_int_t)r->holdout_last, "n_ratings",
                  (json_int_t)r->n_holdout));
    json_object_set_new(
        j, "champion",
        json_pack(
            "{s:i, s:o, s:o}", "version", r->champion_version,
            "top_100_categorical_accuracy", hv_json_num(r->champion_top100),
            "top_10_categorical_accuracy", hv_json_num(r->champion_top10)));
  }
  json_object_set_new(j, "stage", json_string(r->stage));
  json_t *ch = json_object_get(j, "champion");
  if (ch && !isnan(r->champion_rmse))
    json_object_set_new(ch, "rmse", json_real(r->champion_rmse));
  if (r->challenger.ran)
    json_object_set_new(j, "challenger", side_json(&r->challenger));
  if (r->other.ran)
    json_object_set_new(j, "compare", side_json(&r->other));
  if (r->report)
    json_object_set_new(j, "windows", windows_json(r->report));
  return j;
}

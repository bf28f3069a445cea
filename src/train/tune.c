/*
 * tune.c - hyperparameter grid search as a parent run with child runs: see
 * tune.h.
 */
#include "train/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "track/registry.h"
#include "track/runs.h"
#include "train/dataset.h"
#include "train/trainrun.h"
#include "track/uri.h"
#include "util/fsutil.h"

/* ---- the grid ------------------------------------------------------------ */

size_t tune_grid_size(const struct tune_grid *g)
{
  size_t n = 1;
  for (size_t i = 0; g && i < g->n_axes; i++)
    n *= g->axes[i].n;
  return n;
}

void tune_grid_free(struct tune_grid *g)
{
  if (!g)
    return;
  for (size_t i = 0; i < g->n_axes; i++) {
    for (size_t k = 0; k < g->axes[i].n; k++)
      free(g->axes[i].values[k]);
    free(g->axes[i].values);
  }
  memset(g, 0, sizeof(*g));
}

static void free_values(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Whether key (canonical) clashes with an axis of g: the same key, or
 * "ratings" against first_rating_id / last_rating_id. */
static int key_clash(const struct tune_grid *g, const char *key)
{
  int range = !strcmp(key, "ratings");
  int part = !strcmp(key, "first_rating_id") ||
             !strcmp(key, "last_rating_id");
  for (size_t i = 0; i < g->n_axes; i++) {
    const char *k = g->axes[i].key;
    if (!strcmp(k, key) || (range && (!strcmp(k, "first_rating_id") ||
                                      !strcmp(k, "last_rating_id"))) ||
        (part && !strcmp(k, "ratings")))
      return 1;
  }
  return 0;
}

/* Split list on ',' into checked values (*out, *n): each non-empty, valid
 * for key, and distinct once parsed ("0.1" and "0.10" are the same). */
static int split_values(const char *key, const char *list, char ***out,
                        size_t *n, struct hv_err *err)
{
  char what[64], canon[64];
  snprintf(what, sizeof(what), "--grid %s", key);
  char **v = NULL, **seen = NULL;
  size_t nv = 0;
  int rc = 0;
  const char *p = list;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0) {
      rc = hv_err_set(err, HV_EINVAL,
                      "%s: empty value in '%.64s' (expected %s=V1,V2,...)",
                      what, list, key);
      break;
    }
    if (nv == TUNE_MAX_VALUES) {
      rc = hv_err_set(err, HV_EINVAL, "%s: more than %d values", what,
                      TUNE_MAX_VALUES);
      break;
    }
    char *val = strndup(p, len);
    char **nv2 = realloc(v, (nv + 1) * sizeof(*v));
    char **ns2 = nv2 ? realloc(seen, (nv + 1) * sizeof(*seen)) : NULL;
    if (nv2)
      v = nv2;
    if (ns2)
      seen = ns2;
    if (!val || !nv2 || !ns2) {
      free(val);
      rc = hv_err_set(err, HV_ENOMEM, "%s: out of memory", what);
      break;
    }
    struct train_config probe;
    train_config_defaults(&probe);
    if ((rc = trainrun_config_set(&probe, key, val, what, err))) {
      free(val);
      break;
    }
    (void)!trainrun_config_get(&probe, key, canon, sizeof(canon));
    for (size_t i = 0; i < nv && !rc; i++)
      if (!strcmp(seen[i], canon))
        rc = hv_err_set(err, HV_EINVAL, "%s: value '%.64s' is given twice",
                        what, val);
    if (rc || !(seen[nv] = strdup(canon))) {
      free(val);
      if (!rc)
        rc = hv_err_set(err, HV_ENOMEM, "%s: out of memory", what);
      break;
    }
    v[nv++] = val;
    if (!comma)
      break;
    p = comma + 1;
  }
  free_values(seen, nv);
  if (rc) {
    free_values(v, nv);
    return rc;
  }
  *out = v;
  *n = nv;
  return 0;
}

int tune_grid_add(struct tune_grid *g, const char *spec, struct hv_err *err)
{
  if (!g || !spec)
    return hv_err_set(err, HV_EINVAL, "--grid: missing KEY=V1,V2,...");
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec || (size_t)(eq - spec) >= 64)
    return hv_err_set(err, HV_EINVAL,
                      "--grid: '%.64s' is not KEY=V1,V2,... (e.g. "
                      "dim=16,32,64,128)", spec);
  char raw[64];
  memcpy(raw, spec, (size_t)(eq - spec));
  raw[eq - spec] = '\0';
  const char *key = trainrun_config_key(raw);
  if (!key) {
    char names[512];
    trainrun_config_keys(names, sizeof(names));
    return hv_err_set(err, HV_EINVAL, "--grid: unknown key '%s'; known: %s",
                      raw, names);
  }
  if (key_clash(g, key))
    return hv_err_set(err, HV_EINVAL,
                      "--grid %s: given twice (or overlaps ratings / "
                      "first_rating_id / last_rating_id); put all its "
                      "values in one --grid", key);
  if (g->n_axes == TUNE_MAX_AXES)
    return hv_err_set(err, HV_EINVAL, "--grid: more than %d keys",
                      TUNE_MAX_AXES);
  if (!eq[1])
    return hv_err_set(err, HV_EINVAL,
                      "--grid %s: no values (expected %s=V1,V2,...)", key,
                      key);
  char **v = NULL;
  size_t n = 0;
  int rc = split_values(key, eq + 1, &v, &n, err);
  if (rc)
    return rc;
  size_t have = tune_grid_size(g);
  if (have > TUNE_MAX_TRIALS / n) {
    free_values(v, n);
    return hv_err_set(err, HV_ETOOBIG,
                      "--grid %s: %zu x %zu combinations is more than the "
                      "limit of %d", key, have, n, TUNE_MAX_TRIALS);
  }
  g->axes[g->n_axes++] = (struct tune_axis){key, n, v};
  return 0;
}

int tune_grid_apply(const struct tune_grid *g, size_t index,
                    struct train_config *c, char *label, size_t cap,
                    struct hv_err *err)
{
  size_t total = tune_grid_size(g);
  if (!g || !c || index >= total)
    return hv_err_set(err, HV_EINVAL, "tune: combination %zu of %zu", index,
                      total);
  size_t pick[TUNE_MAX_AXES];
  for (size_t i = g->n_axes; i-- > 0;) {
    pick[i] = index % g->axes[i].n;
    index /= g->axes[i].n;
  }
  size_t o = 0;
  if (label && cap)
    label[0] = '\0';
  for (size_t i = 0; i < g->n_axes; i++) {
    const struct tune_axis *a = &g->axes[i];
    char what[64];
    snprintf(what, sizeof(what), "--grid %s", a->key);
    if (trainrun_config_set(c, a->key, a->values[pick[i]], what, err))
      return err->code;
    if (label && o < cap)
      o += (size_t)snprintf(label + o, cap - o, "%s%s=%s", i ? " " : "",
                            a->key, a->values[pick[i]]);
  }
  return 0;
}

/* ---- the search ------------------------------------------------------------ */

struct search {
  struct hv_db *db;
  const struct tune_grid *g;
  const struct tune_opts *o;
  const char *metric;
  struct tune_result *res;
  double t0;
  /* the fingerprint of the last rating range seen */
  int64_t fp_first, fp_last, fp_rows;
  char fp_sha[65];
  int have_fp;
  /* the dataset of the last rating range seen, shared by its trials */
  struct hv_dataset data;
  int64_t data_first, data_last;
  int have_data;
  /* the running trial, for the callbacks */
  struct tune_trial *cur;
  struct tune_progress pr;
};

static double now_eta(const struct search *s, double *elapsed)
{
  size_t done = s->pr.done, total = s->res->n_trials;
  *elapsed = hv_mono() - s->t0;
  return done ? *elapsed / (double)done * (double)(total - done) : NAN;
}

static void report(struct search *s, enum tune_phase phase)
{
  if (!s->o->progress)
    return;
  s->pr.phase = phase;
  s->pr.label = s->cur->label;
  s->pr.run_id = s->cur->run_id;
  s->pr.eta = now_eta(s, &s->pr.elapsed);
  s->o->progress(s->o->ud, &s->pr);
}

static void trial_started(void *ud, const char *run_id)
{
  struct search *s = ud;
  struct hv_err e = {0};
  char idx[32];
  memcpy(s->cur->run_id, run_id, 33);
  snprintf(idx, sizeof(idx), "%zu", s->cur->index);
  (void)!runs_set_tag(s->db, run_id, "tune.trial", idx, &e);
  report(s, TUNE_TRIAL_START);
}

static void trial_epoch(void *ud, int epoch, double loss, double seconds,
                        const struct eval_metrics *test)
{
  struct search *s = ud;
  s->pr.epoch = epoch;
  report(s, TUNE_TRIAL_EPOCH);
}

/* 1 when a is better than b under the order; NaN is worst. */
static int better(double a, double b, int ascending)
{
  if (isnan(a))
    return 0;
  if (isnan(b))
    return 1;
  return ascending ? a < b : a > b;
}

static int fingerprint(struct search *s, const struct train_config *c,
                       struct hv_err *err)
{
  if (s->have_fp && s->fp_first == c->first_rating_id &&
      s->fp_last == c->last_rating_id)
    return 0;
  if (runs_fingerprint_data(s->db, c->first_rating_id, c->last_rating_id,
                            &s->fp_rows, s->fp_sha, err))
    return err->code;
  s->fp_first = c->first_rating_id;
  s->fp_last = c->last_rating_id;
  s->have_fp = 1;
  return 0;
}

/* The dataset of c's range, loaded once per range for all its trials.
 * NULL when it cannot be loaded: trainrun_run then tries itself and fails
 * the trial's run with the reason, as for any other training error. */
static const struct hv_dataset *trial_data(struct search *s,
                                           const struct train_config *c)
{
  if (s->have_data && s->data_first == c->first_rating_id &&
      s->data_last == c->last_rating_id)
    return &s->data;
  struct hv_err e = {0};
  dataset_free(&s->data);
  s->have_data = 0;
  if (c->n_extra_rating_ids || dataset_load_train(s->db, c, &s->data, &e))
    return NULL;
  s->data_first = c->first_rating_id;
  s->data_last = c->last_rating_id;
  s->have_data = 1;
  return &s->data;
}

/* Train trial t as a child run; its failure is recorded in t, not
 * returned. */
static void run_trial(struct search *s, struct tune_trial *t)
{
  struct hv_err e = {0};
  struct trainrun_result tr;
  struct train_callbacks cb = {trial_epoch, s, NULL, NULL};
  struct trainrun_opts to = {
      .home = s->o->home, .experiment = s->o->experiment,
      .run_name = t->label, .parent_run_id = s->res->parent_run_id,
      .init_from = s->o->init_from, .on_start = trial_started, .cb = &cb,
      .ud = s};
  double t0 = hv_mono();
  s->cur = t;
  s->pr.index = t->index;
  s->pr.epoch = 0;
  s->pr.epochs = t->cfg.epochs;
  s->pr.failed = 0;
  s->pr.error = NULL;
  s->pr.value = NAN;
  memset(&tr, 0, sizeof(tr));
  int rc = fingerprint(s, &t->cfg, &e);
  if (!rc) {
    to.data_sha256 = s->fp_sha;
    to.data_rows = s->fp_rows;
    to.data = trial_data(s, &t->cfg);
    rc = trainrun_run(s->db, &t->cfg, &to, &tr, &e);
  }
  if (tr.run_id[0])
    memcpy(t->run_id, tr.run_id, 33);
  if (!rc && trainrun_metric_value(&tr.train, s->metric, &t->value))
    rc = hv_err_set(&e, HV_EINTERNAL, "trial %s: no metric %s", t->label,
                    s->metric);
  if (!rc) {
    t->test_top_10 = tr.train.has_test ? tr.train.test.top_k[2] : NAN;
    t->test_top_100 = tr.train.has_test ? tr.train.test.top_k[4] : NAN;
  } else {
    t->failed = 1;
    t->error_code = rc;
    t->value = NAN;
    snprintf(t->error, sizeof(t->error), "%s",
             e.msg[0] ? e.msg : hv_strerror(rc));
    s->res->n_failed++;
  }
  trainrun_result_free(&tr);
  t->seconds = hv_mono() - t0;
  if (better(t->value, s->pr.best, s->o->ascending))
    s->pr.best = t->value;
  s->pr.done++;
  s->pr.value = t->value;
  s->pr.failed = t->failed;
  s->pr.error = t->failed ? t->error : NULL;
  report(s, TUNE_TRIAL_DONE);
}

/* res->order: indexes best first (stable insertion sort; n is small). */
static void sort_trials(struct tune_result *r, int ascending)
{
  for (size_t i = 0; i < r->n_trials; i++) {
    size_t k = i, v = i;
    while (k > 0 && better(r->trials[v].value, r->trials[r->order[k - 1]].value,
                           ascending)) {
      r->order[k] = r->order[k - 1];
      k--;
    }
    r->order[k] = v;
  }
  r->best = r->order[0];
  r->best_value = r->trials[r->best].value;
}

/* Build and check every trial's configuration before anything runs. */
static int plan(const struct train_config *base, const struct tune_grid *g,
                const char *metric, struct tune_result *res,
                struct hv_err *err)
{
  size_t n = tune_grid_size(g);
  res->trials = calloc(n, sizeof(*res->trials));
  res->order = calloc(n, sizeof(*res->order));
  if (!res->trials || !res->order)
    return hv_err_set(err, HV_ENOMEM, "tune: out of memory for %zu trials",
                      n);
  res->n_trials = n;
  for (size_t i = 0; i < n; i++) {
    struct tune_trial *t = &res->trials[i];
    t->index = i;
    t->value = t->test_top_10 = t->test_top_100 = NAN;
    t->cfg = *base;
    if (tune_grid_apply(g, i, &t->cfg, t->label, sizeof(t->label), err))
      return err->code;
    if (train_config_check(&t->cfg, err)) {
      hv_err_prefix(err, "trial '%s'", t->label);
      return err->code;
    }
    if (trainrun_metric_is_test(metric) && t->cfg.split >= 1)
      return hv_err_set(err, HV_EINVAL,
                        "metric %s is measured on the test split, but "
                        "trial '%s' has split 1 (no test split); use "
                        "--split < 1 or a train_ metric",
                        metric, t->label);
  }
  return 0;
}

/* Before any trial: registering into Production without
 * archive_existing would be refused at the end (registry_transition's
 * rule), so refuse now, with the same message, while nothing has run. */
static int check_production_free(struct hv_db *db, const char *model,
                                 const char *stage, struct hv_err *err)
{
  struct registry_version v;
  struct hv_err e = {0};
  if (strcmp(stage, "Production") ||
      registry_db_find(db, model, 0, NULL, "Production", &v, &e))
    return 0; /* not Production, or none there (or no such model yet) */
  int version = v.version;
  registry_db_version_free(&v);
  return hv_err_set(err, HV_ECONFLICT,
                    "model '%.100s' already has version %d in Production; "
                    "pass --archive-existing to archive it in the same step",
                    model, version);
}

static int check_opts(struct hv_db *db, const struct tune_opts *o,
                      const char *metric, struct hv_err *err)
{
  if (!trainrun_metric_known(metric)) {
    char names[1536];
    trainrun_metric_names(names, sizeof(names));
    return hv_err_set(err, HV_EINVAL, "unknown metric '%.64s'; known: %s",
                      metric, names);
  }
  const char *stage = NULL;
  if (o->register_name && registry_check_name(o->register_name, err))
    return err->code;
  if (o->stage && registry_parse_stage(o->stage, &stage, err))
    return err->code;
  if (o->register_name && o->stage && !o->archive_existing &&
      check_production_free(db, o->register_name, stage, err))
    return err->code;
  if (o->init_from) {
    char path[4096];
    struct hv_model *m = NULL;
    if (uri_resolve(o->home, db, o->init_from, path, sizeof(path), err) ||
        model_load(path, &m, err))
      return err->code;
    model_free(m);
  }
  return 0;
}

static int log_parent_params(struct search *s, const struct train_config *base,
                             struct hv_err *err)
{
  const char *id = s->res->parent_run_id;
  char key[96], val[64];
  const struct tune_grid *g = s->g;
  for (size_t i = 0; i < g->n_axes; i++) {
    const struct tune_axis *a = &g->axes[i];
    char list[RUNS_MAX_PARAM_VALUE];
    size_t o = 0;
    for (size_t k = 0; k < a->n && o < sizeof(list); k++)
      o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", k ? "," : "",
                            a->values[k]);
    if (o >= sizeof(list)) /* cut at the param limit: say so */
      memcpy(list + sizeof(list) - 4, "...", 4);
    snprintf(key, sizeof(key), "grid.%s", a->key);
    if (runs_log_param(s->db, id, key, list, err))
      return err->code;
  }
  int has_range = key_clash(g, "ratings");
  for (size_t i = 0; trainrun_config_field(i); i++) {
    const char *f = trainrun_config_field(i);
    if (!strcmp(f, "ratings") || key_clash(g, f) ||
        (has_range && (!strcmp(f, "first_rating_id") ||
                       !strcmp(f, "last_rating_id"))))
      continue;
    snprintf(key, sizeof(key), "base.%s", f);
    if (trainrun_config_get(base, f, val, sizeof(val)) ||
        runs_log_param(s->db, id, key, val, err))
      return err->code ? err->code : HV_EINTERNAL;
  }
  snprintf(val, sizeof(val), "%zu", s->res->n_trials);
  if (runs_log_param(s->db, id, "tune.metric", s->metric, err) ||
      runs_log_param(s->db, id, "tune.order",
                     s->o->ascending ? "asc" : "desc", err) ||
      runs_log_param(s->db, id, "tune.n_trials", val, err) ||
      (s->o->init_from &&
       runs_log_param(s->db, id, "init_from", s->o->init_from, err)))
    return err->code;
  return 0;
}

/* After the trials: the parent's summary, the registration. */
static int conclude(struct search *s, struct hv_err *err)
{
  struct tune_result *r = s->res;
  const char *id = r->parent_run_id;
  const struct tune_trial *b = &r->trials[r->best];
  struct tracking_metric m[] = {
      {s->metric, r->best_value, 0, 0},
      {"n_trials", (double)r->n_trials, 0, 0},
      {"n_failed", (double)r->n_failed, 0, 0},
      {"tune_seconds", hv_mono() - s->t0, 0, 0},
  };
  if (runs_log_metrics_batch(s->db, id, m, sizeof(m) / sizeof(m[0]), err) ||
      runs_set_tag(s->db, id, "best_run_id", b->run_id, err))
    return err->code;
  /* one rating range for every trial: it is the parent's data lineage */
  if (s->have_fp && !key_clash(s->g, "ratings") &&
      runs_set_lineage(s->db, id, s->fp_first, s->fp_last, s->fp_rows,
                       s->fp_sha, err))
    return err->code;
  if (!s->o->register_name)
    return 0;
  char reason[256], ver[32];
  snprintf(reason, sizeof(reason),
           "harvest tune: best of %zu trials by %s (%s) = %.6g; parent run "
           "%s", r->n_trials, s->metric, s->o->ascending ? "asc" : "desc",
           r->best_value, id);
  struct registry_register_opts ro = {
      .name = s->o->register_name, .run_id = b->run_id,
      .stage = s->o->stage, .archive_existing = s->o->archive_existing,
      .reason = reason,
      .description = reason};
  if (registry_register(s->o->home, s->db, &ro, &r->registered_version, err))
    return err->code;
  const char *stage = "None";
  if (s->o->stage && registry_parse_stage(s->o->stage, &stage, err))
    return err->code;
  snprintf(r->registered_stage, sizeof(r->registered_stage), "%s", stage);
  snprintf(ver, sizeof(ver), "%d", r->registered_version);
  if (runs_set_tag(s->db, id, "registered_model", s->o->register_name, err) ||
      runs_set_tag(s->db, id, "registered_version", ver, err))
    return err->code;
  return 0;
}

static void default_name(const struct tune_grid *g, size_t n, char *buf,
                         size_t cap)
{
  size_t o = (size_t)snprintf(buf, cap, "tune-%zu", n);
  for (size_t i = 0; i < g->n_axes && o < cap; i++)
    o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? " x " : " ",
                          g->axes[i].key);
}

int tune_run(struct hv_db *db, const struct train_config *base,
             const struct tune_grid *g, const struct tune_opts *o,
             struct tune_result *res, struct hv_err *err)
{
  if (!res)
    return hv_err_set(err, HV_EINVAL, "tune: no result record");
  memset(res, 0, sizeof(*res));
  if (!db || !base || !g || !o || !o->home)
    return hv_err_set(err, HV_EINVAL, "tune: missing database, config, "
                                      "grid or home");
  if (g->n_axes == 0)
    return hv_err_set(err, HV_EINVAL,
                      "tune: give at least one --grid KEY=V1,V2,...");
  struct search s = {.db = db, .g = g, .o = o, .res = res};
  s.metric = o->metric ? o->metric : TUNE_DEFAULT_METRIC;
  s.pr.best = NAN;
  s.pr.total = tune_grid_size(g);
  int rc = check_opts(db, o, s.metric, err);
  if (!rc)
    rc = plan(base, g, s.metric, res, err);
  char name[256];
  default_name(g, res->n_trials, name, sizeof(name));
  if (!rc)
    rc = runs_start(db, o->experiment ? o->experiment
                                      : TUNE_DEFAULT_EXPERIMENT,
                    o->run_name ? o->run_name : name, NULL,
                    res->parent_run_id, err);
  if (rc) {
    tune_result_free(res);
    return rc;
  }
  struct tune_opts child = *o;
  if (!child.experiment)
    child.experiment = TUNE_DEFAULT_EXPERIMENT;
  s.o = &child;
  s.t0 = hv_mono();
  rc = log_parent_params(&s, base, err);
  for (size_t i = 0; !rc && i < res->n_trials; i++)
    run_trial(&s, &res->trials[i]);
  if (!rc && res->n_failed == res->n_trials)
    rc = hv_err_set(err, res->trials[0].error_code, "every trial failed; "
                    "the first: %s", res->trials[0].error);
  if (!rc) {
    sort_trials(res, o->ascending);
    rc = conclude(&s, err);
  }
  res->seconds = hv_mono() - s.t0;
  dataset_free(&s.data);
  if (!rc)
    rc = runs_end(db, res->parent_run_id, "FINISHED", err);
  if (rc)
    runs_fail(db, res->parent_run_id, err);
  return rc;
}

void tune_result_free(struct tune_result *res)
{
  if (!res)
    return;
  free(res->trials);
  free(res->order);
  char id[33];
  memcpy(id, res->parent_run_id, sizeof(id));
  memset(res, 0, sizeof(*res));
  memcpy(res->parent_run_id, id, sizeof(id));
}

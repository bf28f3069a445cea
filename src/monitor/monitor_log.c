/*
 * monitor_log.c - a monitoring report as a tracked run: see monitor_log.h.
 */
#include "monitor/monitor_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "track/artifacts.h"
#include "track/runs.h"

/* Metrics with their keys, grown as the windows are read. */
struct keybuf {
  struct tracking_metric *m;
  char (*key)[RUNS_MAX_KEY + 1];
  size_t n, cap;
};

static int kb_add(struct keybuf *kb, const char *key, double v, int64_t step)
{
  if (kb->n == kb->cap) {
    size_t nc = kb->cap ? kb->cap * 2 : 256;
    void *a = realloc(kb->m, nc * sizeof(*kb->m));
    if (!a)
      return HV_ENOMEM;
    kb->m = a;
    void *b = realloc(kb->key, nc * sizeof(*kb->key));
    if (!b)
      return HV_ENOMEM;
    kb->key = b;
    kb->cap = nc;
  }
  snprintf(kb->key[kb->n], sizeof(kb->key[0]), "%s", key);
  kb->m[kb->n].value = v;
  kb->m[kb->n].step = step;
  kb->m[kb->n].timestamp = 0;
  kb->n++;
  return 0;
}

/* The window's fairness report: the gaps (fairness_gap_top_100,
 * fairness_gap_exposure) and the exposure shares by popularity decile
 * (exposure_decile_1..10); NaN values are left out. */
static int fairness_metrics(const struct monitor_window *w, int64_t step,
                            struct keybuf *kb)
{
  int rc = 0;
  if (isfinite(w->metrics.fairness_gap_top_100))
    rc |= kb_add(kb, "fairness_gap_top_100", w->metrics.fairness_gap_top_100,
                 step);
  if (w->metrics.ranker_n) {
    rc |= kb_add(kb, "ranker_rmse", w->metrics.ranker_rmse, step);
    rc |= kb_add(kb, "ranker_mae", w->metrics.ranker_mae, step);
    rc |= kb_add(kb, "fairness_gap_rmse", w->metrics.fairness_gap_rmse, step);
  }
  if (isfinite(w->health.exposure_gap))
    rc |= kb_add(kb, "fairness_gap_exposure", w->health.exposure_gap, step);
  for (int d = 0; d < EVAL_NDEC; d++) {
    char key[32];
    snprintf(key, sizeof(key), "exposure_decile_%d", d + 1);
    if (isfinite(w->health.exposure[d]))
      rc |= kb_add(kb, key, w->health.exposure[d], step);
  }
  return rc;
}

/* The metrics of window w into kb: its counts, and when it was evaluated
 * (not skipped) its verdicts, performance, health and statistics. */
static int window_metrics(const struct monitor_window *w, int64_t step,
                          struct keybuf *kb)
{
  int rc = 0;
  rc |= kb_add(kb, "n_ratings", (double)w->n_ratings, step);
  rc |= kb_add(kb, "n_users", (double)w->n_users, step);
  rc |= kb_add(kb, "in_sample_share", monitor_window_in_sample(w), step);
  if (w->skipped[0]) /* too small or empty: nothing measured */
    return rc ? HV_ENOMEM : 0;
  rc |= kb_add(kb, "drifted_share", w->drifted_share, step);
  rc |= kb_add(kb, "dataset_drift", w->dataset_drift, step);
  for (int k = 0; k < EVAL_NK; k++) {
    char key[64];
    snprintf(key, sizeof(key), "top_%d_categorical_accuracy", eval_ks[k]);
    rc |= kb_add(kb, key, w->metrics.top_k[k], step);
  }
  rc |= kb_add(kb, "health.coverage_at_10", w->health.coverage_at_10, step);
  rc |= kb_add(kb, "health.gini_at_10", w->health.gini_at_10, step);
  rc |= kb_add(kb, "health.mean_popularity_at_10",
               w->health.mean_popularity_at_10, step);
  rc |= fairness_metrics(w, step, kb);
  for (size_t i = 0; i < w->n_features; i++) {
    const struct monitor_feature *f = &w->features[i];
    if (f->skipped[0])
      continue;
    char key[128];
    snprintf(key, sizeof(key), "%s.statistic", f->verdict.name);
    rc |= kb_add(kb, key, f->verdict.statistic, step);
    snprintf(key, sizeof(key), "%s.drift", f->verdict.name);
    rc |= kb_add(kb, key, f->verdict.drift, step);
  }
  return rc ? HV_ENOMEM : 0;
}

static int log_params(struct hv_db *db, const char *run,
                      const struct monitor_config *c,
                      const struct monitor_report *rep, struct hv_err *err)
{
  char ref[64], share[32];
  snprintf(ref, sizeof(ref), "%lld:%lld",
           (long long)rep->reference.first_rating_id,
           (long long)rep->reference.last_rating_id);
  snprintf(share, sizeof(share), "%g", c->threshold_share);
  if (runs_log_param(db, run, "model_uri",
                     rep->model.uri[0] ? rep->model.uri : "-", err) ||
      runs_log_param(db, run, "model_sha256", rep->model.sha256, err) ||
      runs_log_param(db, run, "reference", ref, err) ||
      runs_log_param(db, run, "mode",
                     c->mode == MONITOR_BATCHES ? "batches" : "time", err) ||
      runs_log_param(db, run, "threshold_share", share, err) ||
      (c->ranker && runs_log_param(db, run, "ranker_uri",
                                   c->ranker_uri ? c->ranker_uri : "-",
                                   err)) ||
      runs_log_param(db, run, "lists",
                     rep->config.lists[0] ? rep->config.lists : "retrieval",
                     err))
    return err->code;
  if (c->mode == MONITOR_TIME) {
    char len[32];
    snprintf(len, sizeof(len), "%lld", (long long)c->window_seconds);
    if (runs_log_param(db, run, "window_seconds", len, err))
      return err->code;
  }
  return 0;
}

/* Every window's metrics as one batch. */
static int log_metrics(struct hv_db *db, const char *run,
                       const struct monitor_report *rep, struct hv_err *err)
{
  struct keybuf kb = {0};
  int rc = 0;
  for (size_t i = 0; !rc && i < rep->n_windows; i++)
    if (window_metrics(&rep->windows[i], (int64_t)rep->windows[i].index,
                       &kb))
      rc = hv_err_set(err, HV_ENOMEM, "monitor: out of memory");
  for (size_t k = 0; !rc && k < kb.n; k++)
    kb.m[k].key = kb.key[k];
  if (!rc && kb.n)
    rc = runs_log_metrics_batch(db, run, kb.m, kb.n, err);
  free(kb.m);
  free(kb.key);
  return rc;
}

static int log_artifact(struct hv_db *db, const char *home, const char *run,
                        const struct monitor_report *rep, struct hv_err *err)
{
  json_t *j = monitor_report_to_json(rep);
  /* 17 significant digits: the artifact reads back as the same doubles */
  char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17))
                 : NULL;
  json_decref(j);
  if (!text)
    return hv_err_set(err, HV_ENOMEM, "monitor: out of memory");
  int rc = artifacts_put_bytes(home, db, run, MONITOR_ARTIFACT, text,
                               strlen(text), NULL, err);
  free(text);
  return rc;
}

int monitor_log_run(struct hv_db *db, const char *home,
                    const struct monitor_config *c,
                    struct monitor_report *rep, struct hv_err *err)
{
  char run[33], name[RUNS_MAX_NAME + 1];
  snprintf(name, sizeof(name), "%s", c->run_name ? c->run_name : "");
  if (!c->run_name)
    snprintf(name, sizeof(name), "monitor-%s",
             rep->n_windows ? rep->windows[0].spec.name : "empty");
  if (!home)
    return hv_err_set(err, HV_EINVAL, "monitor: logging needs a home folder");
  if (runs_start(db, c->experiment ? c->experiment : MONITOR_EXPERIMENT, name,
                 c->parent_run_id, run, err))
    return err->code;
  snprintf(rep->run_id, sizeof(rep->run_id), "%s", run);
  int rc = log_params(db, run, c, rep, err);
  if (!rc)
    rc = log_metrics(db, run, rep, err);
  if (!rc)
    rc = log_artifact(db, home, run, rep, err);
  struct hv_err e2 = {0};
  if (runs_end(db, run, rc ? "FAILED" : "FINISHED", rc ? &e2 : err) && !rc)
    rc = err->code;
  return rc;
}

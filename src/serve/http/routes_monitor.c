/*
 * routes_monitor.c - /monitor/evaluate (the served model's metrics on a
 * slice of ratings), /monitor/drift (the monitoring report of the served
 * model, as `harvest monitor --json` prints it) and /monitor/reload_models
 * (hot swap on demand).
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/model.h"
#include "monitor/monitor.h"
#include "monitor/window.h"
#include "serve/http/modelslot.h"
#include "serve/http/routes.h"
#include "serve/http/server.h"
#include "store/db.h"
#include "store/ratings.h"
#include "train/dataset.h"
#include "train/eval_metrics.h"

/* The ratings the rating-id windows w[0..n) hold, summed (overlapping
 * windows count each time: each is a pass), against --monitor-max-rows:
 * 0, or HV_ETOOBIG (413) naming the limit. */
static int rows_capped(struct srv_req *req, struct hv_db *c,
                       const struct window_spec *w, size_t n,
                       const char *what, struct hv_err *err)
{
  int64_t max = srv_config(req)->monitor_max_rows, total = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t k = 0;
    if (w[i].kind != WINDOW_RATING_IDS)
      continue;
    if (ratings_count(c, w[i].first, w[i].last, &k, err))
      return err->code;
    total += k;
    if (total > max)
      return hv_err_set(err, HV_ETOOBIG,
                        "%s: %s%zu window%s hold%s more than %lld ratings; "
                        "at most %lld per request (--monitor-max-rows)",
                        what, n > 1 ? "the first " : "", i + 1,
                        i ? "s" : "", i ? "" : "s", (long long)total,
                        (long long)max);
  }
  return 0;
}

int routes_evaluate(struct srv_req *req, struct srv_resp *resp,
                    struct hv_err *err)
{
  int64_t first, last;
  if (routes_query_int(req, "first_rating_id", 1, 0, 0, INT64_MAX, &first,
                       err) ||
      routes_query_int(req, "last_rating_id", 1, 0, 0, INT64_MAX, &last, err))
    return err->code;
  if (first > last)
    return hv_err_set(err, HV_EINVAL,
                      "first_rating_id: %lld is after last_rating_id %lld",
                      (long long)first, (long long)last);
  char why[320];
  struct modelslot_snap *snap = srv_model(req, why, sizeof(why));
  if (!snap) {
    resp->status = 503;
    return routes_json(resp, json_pack("{s:s}", "detail", why), err);
  }
  struct hv_db *c = srv_db(req, err);
  struct window_spec w = {.kind = WINDOW_RATING_IDS, .first = first,
                          .last = last};
  if (!c || rows_capped(req, c, &w, 1, "first_rating_id..last_rating_id",
                        err))
    return err->code;
  struct eval_metrics m;
  if (dataset_evaluate(c, snap->model, first, last, &m, err))
    return err->code;
  return routes_json(resp,
                     json_pack("{s:s, s:I, s:s, s:I, s:I, s:o}", "model",
                               snap->name, "version",
                               (json_int_t)snap->version, "stage",
                               snap->stage, "first_rating_id",
                               (json_int_t)first, "last_rating_id",
                               (json_int_t)last, "metrics", eval_metrics_to_json(&m)),
                     err);
}

/* Fill cfg's windows from the query: batches=F:L,... or
 * first_rating_id/last_rating_id (rating-id windows), else window=LEN
 * [since=TIME] [windows=N] (time windows; the default is one window from
 * the end of the model's training data). *spec is the caller's to free. */
static int drift_windows(struct srv_req *req, struct monitor_config *cfg,
                         struct window_spec **spec, struct hv_err *err)
{
  const char *batches = srv_query(req, "batches");
  int has_first = srv_query(req, "first_rating_id") != NULL;
  if (batches || has_first) {
    if (batches && has_first)
      return hv_err_set(err, HV_EINVAL, "batches: give either batches or "
                        "first_rating_id/last_rating_id, not both");
    if (batches) {
      if (window_parse_batches(batches, spec, &cfg->n_windows, err))
        return err->code;
    } else {
      int64_t first, last;
      if (routes_query_int(req, "first_rating_id", 1, 0, 0, INT64_MAX,
                           &first, err) ||
          routes_query_int(req, "last_rating_id", 1, 0, 0, INT64_MAX, &last,
                           err))
        return err->code;
      char range[64];
      snprintf(range, sizeof(range), "%lld:%lld", (long long)first,
               (long long)last);
      if (window_parse_batches(range, spec, &cfg->n_windows, err))
        return err->code;
    }
    int max = srv_config(req)->monitor_max_windows;
    if (cfg->n_windows > (size_t)max)
      return hv_err_set(err, HV_ETOOBIG,
                        "batches: %zu windows; at most %d per request "
                        "(--monitor-max-windows)",
                        cfg->n_windows, max);
    cfg->mode = MONITOR_BATCHES;
    cfg->windows = *spec;
    return 0;
  }
  const char *len = srv_query(req, "window");
  const char *since = srv_query(req, "since");
  int64_t n;
  if (len && window_parse_duration(len, &cfg->window_seconds, "window", err))
    return err->code;
  if (since && window_parse_time(since, &cfg->since, "since", err))
    return err->code;
  cfg->has_since = since != NULL;
  int max = srv_config(req)->monitor_max_windows;
  if (routes_query_int(req, "windows", 0, len ? (max < 10 ? max : 10) : 1, 1,
                       WINDOW_MAX, &n, err))
    return err->code;
  if (n > max)
    return hv_err_set(err, HV_ETOOBIG,
                      "windows: %lld; at most %d per request "
                      "(--monitor-max-windows)",
                      (long long)n, max);
  cfg->max_windows = (size_t)n;
  return 0;
}

int routes_drift(struct srv_req *req, struct srv_resp *resp,
                 struct hv_err *err)
{
  struct monitor_config cfg;
  struct window_spec *spec = NULL;
  struct monitor_report report;
  monitor_config_defaults(&cfg);
  int rc = drift_windows(req, &cfg, &spec, err);
  if (!rc)
    rc = routes_query_num(req, "threshold_share", 0, cfg.threshold_share, 0,
                          1, &cfg.threshold_share, err);
  if (!rc)
    rc = monitor_config_check(&cfg, err);
  if (rc) {
    free(spec);
    return rc;
  }
  char why[320];
  struct modelslot_snap *snap = srv_model(req, why, sizeof(why));
  if (!snap) {
    free(spec);
    resp->status = 503;
    return routes_json(resp, json_pack("{s:s}", "detail", why), err);
  }
  struct hv_db *c = srv_db(req, err);
  if (c && cfg.mode == MONITOR_BATCHES)
    rc = rows_capped(req, c, cfg.windows, cfg.n_windows, "batches", err);
  if (c && !rc)
    rc = monitor_run(c, NULL, snap->model, &cfg, &report, err);
  free(spec);
  if (!c || rc)
    return err->code;
  json_t *j = monitor_report_to_json(&report);
  monitor_report_free(&report);
  if (j)
    json_object_set_new(j, "served",
                        json_pack("{s:s, s:I, s:s}", "model", snap->name,
                                  "version", (json_int_t)snap->version,
                                  "stage", snap->stage));
  return routes_json(resp, j, err);
}

int routes_reload(struct srv_req *req, struct srv_resp *resp,
                  struct hv_err *err)
{
  json_t *summary = NULL;
  if (srv_reload(req, &summary, err))
    return err->code;
  return routes_json(resp, summary, err);
}

/*
 * ui_run.c - the web UI's page of one run: summary, params, metrics (a
 * chart per metric with a history, from tracking_metric_history), tags,
 * lineage, artifacts and child runs.
 *
 * Threads: page functions run on one worker with its own connection.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/ui/html.h"
#include "serve/http/routes.h"
#include "serve/ui/svg.h"
#include "serve/ui/ui_internal.h"
#include "store/tracking.h"
#include "track/artifacts.h"
#include "track/runs.h"

#define MAX_HISTORY 20000    /* points drawn per metric */

static void kv_table(struct html *h, const char *cls,
                     const struct tracking_kv *kv, size_t n,
                     const char *none)
{
  if (n == 0) {
    html_f(h, "<p class=\"muted\">%s</p>", none);
    return;
  }
  html_f(h, "<div class=\"scroll\"><table class=\"data sortable %s\">"
            "<thead><tr><th>Key</th><th>Value</th></tr></thead><tbody>",
         cls);
  for (size_t i = 0; i < n; i++) {
    html_f(h, "<tr><td>%s</td><td class=\"mono\">", kv[i].key);
    ui_long_text(h, kv[i].value);
    html_raw(h, "</td></tr>");
  }
  html_raw(h, "</tbody></table></div>");
}

static void run_summary(struct html *h, const struct tracking_run *r)
{
  char t0[32], t1[32], d[32];
  double now = (double)time(NULL);
  html_f(h, "<h1>Run %s</h1><table class=\"data summary\"><tbody>"
            "<tr><th>Run id</th><td class=\"mono\">%s</td></tr>"
            "<tr><th>Experiment</th><td><a href=\"",
         r->name, r->run_id);
  ui_runs_experiment_href(h, r->experiment);
  html_f(h, "\">%s</a></td></tr><tr><th>Status</th><td>", r->experiment);
  ui_runs_status_badge(h, r);
  html_f(h,
         "</td></tr><tr><th>Started (UTC)</th><td>%s</td></tr>"
         "<tr><th>Ended (UTC)</th><td>%s</td></tr>"
         "<tr><th>Duration</th><td>%s</td></tr>"
         "<tr><th>User</th><td>%s</td></tr>",
         ui_time(r->start_time, t0, sizeof(t0)),
         ui_time(r->end_time, t1, sizeof(t1)),
         ui_duration(ui_runs_seconds(r, now), d, sizeof(d)),
         r->user ? r->user : "");
  if (r->parent_run_id) {
    html_raw(h, "<tr><th>Parent run</th><td>");
    ui_run_link(h, r->parent_run_id, NULL);
    html_raw(h, "</td></tr>");
  }
  html_raw(h, "</tbody></table>");
}

static void run_lineage(struct html *h, const struct tracking_run *r)
{
  html_f(h, "<h2>Lineage</h2><table class=\"data lineage\"><tbody>"
            "<tr><th>Code version</th><td class=\"mono\">%s</td></tr>",
         r->code_version ? r->code_version : "not recorded");
  if (r->data_rows >= 0)
    html_f(h,
           "<tr><th>Data range (rating_id)</th><td>%lld .. %lld</td></tr>"
           "<tr><th>Rows</th><td>%lld</td></tr>"
           "<tr><th>Data fingerprint (SHA-256)</th><td class=\"mono\">%s"
           "</td></tr>",
           (long long)r->data_first_rating_id,
           (long long)r->data_last_rating_id, (long long)r->data_rows,
           r->data_sha256 ? r->data_sha256 : "");
  else
    html_raw(h, "<tr><th>Data</th><td class=\"muted\">no data lineage "
                "recorded</td></tr>");
  html_raw(h, "</tbody></table>");
}

static int run_artifacts(struct html *h, struct hv_db *db,
                         const struct tracking_run *r, struct hv_err *err)
{
  struct tracking_artifact *a = NULL;
  size_t n = 0;
  if (artifacts_list(db, r->run_id, &a, &n, err))
    return err->code;
  html_raw(h, "<h2>Artifacts</h2>");
  if (n == 0)
    html_raw(h, "<p class=\"muted\">No artifacts.</p>");
  else
    html_raw(h, "<table class=\"data sortable artifacts\"><thead><tr>"
                "<th>Path</th><th>Size (bytes)</th><th>SHA-256</th>"
                "<th>Stored (UTC)</th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    char t[32];
    html_raw(h, "<tr><td class=\"mono\"><a class=\"download\" href=\"");
    ui_artifact_href(h, r->run_id, a[i].path);
    html_f(h,
           "\" download>%s</a></td><td class=\"num\">%lld</td>"
           "<td class=\"mono\">%s</td><td>%s</td></tr>",
           a[i].path, (long long)a[i].size, a[i].sha256,
           ui_time(a[i].created_at, t, sizeof(t)));
  }
  if (n)
    html_raw(h, "</tbody></table>");
  tracking_artifacts_free(a, n);
  return 0;
}

int ui_run_metric_series(struct hv_db *db, const char *run_id,
                         const char *key, double **x, double **y, size_t *n,
                         struct hv_err *err)
{
  struct tracking_metric *m = NULL;
  size_t k = 0;
  *x = *y = NULL;
  *n = 0;
  if (tracking_metric_history(db, run_id, key, &m, &k, err))
    return err->code;
  if (k > MAX_HISTORY)
    k = MAX_HISTORY;
  if (k) {
    *x = malloc(k * sizeof(double));
    *y = malloc(k * sizeof(double));
    if (!*x || !*y) {
      free(*x);
      free(*y);
      *x = *y = NULL;
      tracking_metrics_free(m, k);
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    }
  }
  for (size_t i = 0; i < k; i++) {
    (*x)[i] = (double)m[i].step;
    (*y)[i] = m[i].value;
  }
  *n = k;
  tracking_metrics_free(m, k);
  return 0;
}

/* Chart order: losses, then accuracies, then the rest (a stable rank). */
static int chart_rank(const char *key)
{
  if (strstr(key, "loss"))
    return 0;
  if (strstr(key, "accuracy") || strstr(key, "recall") ||
      strstr(key, "ndcg"))
    return 1;
  return 2;
}

/* A chart per metric with at least two steps, ranked as chart_rank. */
static int run_charts(struct html *h, struct hv_db *db,
                      const struct tracking_run *r, struct hv_err *err)
{
  int charts = 0;
  html_raw(h, "<div class=\"charts\">");
  for (int rank = 0; rank < 3; rank++)
    for (size_t i = 0; i < r->n_metrics && charts < UI_MAX_CHARTS; i++) {
      if (chart_rank(r->metrics[i].key) != rank)
        continue;
      double *x, *y;
      size_t n;
      if (ui_run_metric_series(db, r->run_id, r->metrics[i].key, &x, &y, &n, err))
        return err->code;
      if (n >= 2) { /* one value is in the table; a line needs two */
        struct svg_series s = {r->metrics[i].key, x, y, n};
        struct svg_line_opts o = {.width = 420, .height = 220,
                                  .title = r->metrics[i].key,
                                  .x_label = "step", .threshold = NAN};
        svg_line_chart(h, &o, &s, 1);
        charts++;
      }
      free(x);
      free(y);
    }
  html_raw(h, "</div>");
  if (charts == 0)
    html_raw(h, "<p class=\"muted\">Every metric has a single value (no "
                "chart over steps).</p>");
  return 0;
}

static int run_metrics(struct html *h, struct hv_db *db,
                       const struct tracking_run *r, struct hv_err *err)
{
  html_raw(h, "<h2>Metrics</h2>");
  if (r->n_metrics == 0) {
    html_raw(h, "<p class=\"muted\">No metrics.</p>");
    return 0;
  }
  if (run_charts(h, db, r, err))
    return err->code;
  ui_run_baseline(h, r);
  html_raw(h, "<details open><summary>Latest values</summary><table "
              "class=\"data sortable metrics\"><thead><tr><th>Metric</th>"
              "<th>Latest</th><th>Step</th></tr></thead><tbody>");
  for (size_t i = 0; i < r->n_metrics; i++) {
    char v[32];
    html_f(h,
           "<tr><td>%s</td><td class=\"num\" data-v=\"%.17g\">%s</td>"
           "<td class=\"num\">%lld</td></tr>",
           r->metrics[i].key, r->metrics[i].value,
           html_num(r->metrics[i].value, v, sizeof(v)),
           (long long)r->metrics[i].step);
  }
  html_raw(h, "</tbody></table></details>");
  return 0;
}

/* The child runs (tune trials, retraining challengers) of r. */
static int run_children(struct html *h, struct hv_db *db,
                        const struct tracking_run *r, struct hv_err *err)
{
  char filter[80];
  snprintf(filter, sizeof(filter), "attributes.parent_run_id = '%s'",
           r->run_id); /* a checked 32-hex id */
  struct runs_query q = {.filter = filter};
  struct tracking_run *kids = NULL;
  size_t n = 0;
  if (runs_search(db, &q, &kids, &n, err))
    return err->code;
  if (n) {
    html_f(h, "<h2>Child runs (%zu)</h2><p><a class=\"tune-charts\" "
              "href=\"/ui/runs/%s/tune\">Charts of the trials</a> (the "
              "metric against each param, parallel coordinates)</p>"
              "<table class=\"data sortable children\"><thead><tr>"
              "<th>Run</th><th>Experiment</th><th>Status</th></tr></thead>"
              "<tbody>",
           n, r->run_id);
    for (size_t i = 0; i < n; i++) {
      html_raw(h, "<tr><td>");
      ui_run_link(h, kids[i].run_id, kids[i].name);
      html_f(h, "</td><td>%s</td><td>", kids[i].experiment);
      ui_runs_status_badge(h, &kids[i]);
      html_raw(h, "</td></tr>");
    }
    html_raw(h, "</tbody></table>");
  }
  runs_free(kids, n);
  return 0;
}

int ui_run_id_of(struct ui_page *p, char id[33], struct hv_err *err)
{
  char buf[80];
  if (rt_capture(&p->req->match, 0, buf, sizeof(buf)))
    return hv_err_set(err, HV_EINVAL, "run id: too long (expected 32 hex)");
  if (runs_check_id(buf, err))
    return err->code;
  memcpy(id, buf, 33);
  return 0;
}

int ui_page_run(struct ui_page *p, struct hv_err *err)
{
  char id[33];
  struct tracking_run *r = NULL;
  struct hv_db *db = NULL;
  if (ui_run_id_of(p, id, err) || !(db = ui_db(p, err)) ||
      runs_get(db, id, &r, err))
    return err->code;
  snprintf(p->title, sizeof(p->title), "Run %s", r->name);
  run_summary(&p->h, r);
  int rc = run_metrics(&p->h, db, r, err);
  if (!rc) {
    html_raw(&p->h, "<h2>Params</h2>");
    kv_table(&p->h, "params", r->params, r->n_params, "No params.");
    html_raw(&p->h, "<h2>Tags</h2>");
    kv_table(&p->h, "tags", r->tags, r->n_tags, "No tags.");
    run_lineage(&p->h, r);
    rc = run_artifacts(&p->h, db, r, err);
  }
  if (!rc)
    rc = ui_run_links(&p->h, db, r, err);
  if (!rc)
    rc = run_children(&p->h, db, r, err);
  runs_free(r, 1);
  return rc;
}

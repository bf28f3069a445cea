/*
 * ui_monitor.c - the monitoring page of the web UI: the served model's
 * performance per window against the retraining threshold, the drift grid
 * (feature x window, coloured by each feature's test statistic against
 * its threshold, the test named), the feedback-loop health metrics and
 * the retraining decisions with their reasons.
 *
 * Design: the page reads what the monitor and the retraining loop already
 * recorded, never recomputes: the report.json artifact of the newest
 * FINISHED run in experiment MONITOR_EXPERIMENT (or of ?run=ID), read
 * after artifacts_resolve verified its checksum into a struct
 * monitor_report (monitor_report_from_json), and the runs of
 * RETRAIN_EXPERIMENT (tags retrain.decision / retrain.reasons /
 * retrain.action, their metrics). The threshold line is the min_top100
 * trigger of the newest retraining run's "policy" param (policy_parse),
 * or for its relative max_top100_drop the bound that run computed (its
 * metric check.max_top100_drop.threshold), else the seed's rule
 * (policy_seed: 0.5). A drift cell's colour score is
 * statistic / threshold for distance tests and log(p) / log(threshold)
 * for p-value tests (ks, chi2), so 1 is the verdict boundary for every
 * test alike; a feature without a verdict (skipped) is grey. Without runs
 * the page says what to run.
 *
 * Threads: page functions run on one worker with its own connection.
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor.h"
#include "retrain/policy.h"
#include "retrain/retrain.h"
#include "serve/ui/html.h"
#include "serve/http/routes.h"
#include "serve/ui/svg.h"
#include "serve/ui/ui_internal.h"
#include "store/registry_db.h"
#include "store/tracking.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"
#include "util/fsutil.h"
#include "util/parse.h"

#define MAX_WINDOWS 200
#define MAX_FEATURES 64
#define MAX_DECISIONS 50
#define MAX_REPORT (64 << 20)

/* Load the verified report of run_id (artifacts_resolve re-hashes the
 * blob; blobs are immutable, so the bytes read next are those); HV_ENOTFOUND
 * when it has none. */
static int load_report(struct ui_page *p, struct hv_db *db,
                       const char *run_id, struct monitor_report *out,
                       struct hv_err *err)
{
  char path[4096];
  char *buf = NULL;
  size_t len = 0;
  if (artifacts_resolve(ui_home(p), db, run_id, MONITOR_ARTIFACT, NULL, path,
                        sizeof(path), err) ||
      hv_read_file(path, MAX_REPORT, &buf, &len, err))
    return err->code;
  json_error_t je;
  json_t *j = json_loadb(buf, len, 0, &je);
  free(buf);
  if (!j)
    return hv_err_set(err, HV_ECORRUPT, "%s of run %s: line %d: %s",
                      MONITOR_ARTIFACT, run_id, je.line, je.text);
  int rc = monitor_report_from_json(j, out, err);
  json_decref(j);
  if (rc)
    hv_err_prefix(err, "%s of run %s", MONITOR_ARTIFACT, run_id);
  return rc;
}

/* ?model=NAME[&version=N]: *model and *version (0: any version) after
 * checking them; both unset without ?model. HV_EINVAL names a bad one. */
static int chosen(struct ui_page *p, const char **model, int *version,
                  struct hv_err *err)
{
  *model = srv_query(p->req, "model");
  const char *v = srv_query(p->req, "version");
  int64_t x = 0;
  *version = 0;
  if (v && !*model)
    return hv_err_set(err, HV_EINVAL, "?version needs ?model=NAME");
  if (*model && registry_check_name(*model, err))
    return err->code;
  if (v && hv_parse_i64(v, 1, INT32_MAX, &x, "?version", err))
    return hv_err_set(err, HV_EINVAL, "?version=%.32s: not a version number "
                      "(1, 2, ...)", v);
  *version = (int)x;
  return 0;
}

/* The run filter for the monitoring runs of model (and version, or every
 * version when 0): they record the served model's SHA-256
 * (params.model_sha256), so a run of models:/NAME/Production counts for
 * the version that was in Production then. HV_ENOTFOUND for an unknown
 * model or version. */
static int chosen_filter(struct hv_db *db, const char *model, int version,
                         char *f, size_t cap, struct hv_err *err)
{
  struct registry_model m;
  if (registry_db_get(db, model, &m, err))
    return err->code;
  size_t len = (size_t)snprintf(f, cap, "attributes.status = 'FINISHED' "
                                        "AND params.model_sha256 IN (");
  int n = 0;
  for (size_t i = m.n_versions; i-- > 0 && len + 80 < cap;) {
    const struct registry_version *v = &m.versions[i];
    if (version && v->version != version)
      continue;
    len += (size_t)snprintf(f + len, cap - len, "%s'%s'", n ? ", " : "",
                            v->sha256);
    n++;
  }
  snprintf(f + len, cap - len, ")");
  registry_db_model_free(&m);
  if (!n)
    return hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no version %d",
                      model, version);
  return 0;
}

/* The monitoring run to show: ?run=ID, or the newest FINISHED one with a
 * report (of ?model and ?version when given) into *report; *found 0 (and 0
 * returned) when there is none. */
static int pick_report(struct ui_page *p, struct hv_db *db, char run_id[33],
                       struct monitor_report *report, int *found,
                       struct hv_err *err)
{
  *found = 0;
  const char *want = srv_query(p->req, "run"), *model = NULL;
  int version = 0;
  char filter[8192] = "attributes.status = 'FINISHED'";
  if (want) {
    if (runs_check_id(want, err))
      return err->code;
    snprintf(run_id, 33, "%s", want);
    if (load_report(p, db, run_id, report, err))
      return err->code;
    *found = 1;
    return 0;
  }
  if (chosen(p, &model, &version, err) ||
      (model &&
       chosen_filter(db, model, version, filter, sizeof(filter), err)))
    return err->code;
  struct runs_query q = {.experiment = MONITOR_EXPERIMENT,
                         .filter = filter, .max = 20};
  struct tracking_run *runs = NULL;
  size_t n = 0;
  struct hv_err serr = {0};
  int rc = runs_search(db, &q, &runs, &n, &serr);
  if (rc == HV_ENOTFOUND)
    return 0; /* no such experiment yet */
  if (rc)
    return hv_err_set(err, rc, "%s", serr.msg);
  for (size_t i = 0; i < n && !*found && !rc; i++) {
    snprintf(run_id, 33, "%s", runs[i].run_id);
    rc = load_report(p, db, run_id, report, err);
    *found = rc == 0;
    if (rc == HV_ENOTFOUND) /* a run without a report: try the next */
      rc = 0;
  }
  runs_free(runs, n);
  return rc;
}

/* The threshold of the performance chart and where it comes from. */
static void threshold_of(struct hv_db *db, double *th, char *src, size_t cap)
{
  struct policy pol;
  policy_seed(&pol);
  snprintf(src, cap, "seed rule (no retraining run yet)");
  struct runs_query q = {.experiment = RETRAIN_EXPERIMENT,
                         .filter = "params.policy LIKE '%'", .max = 1};
  struct tracking_run *runs = NULL;
  size_t n = 0;
  struct hv_err e = {0};
  if (runs_search(db, &q, &runs, &n, &e) == 0 && n == 1) {
    const char *text = runs_param(&runs[0], "policy");
    struct policy p2;
    policy_defaults(&p2);
    if (text && policy_parse(&p2, text, strlen(text), "policy", &e) == 0) {
      pol = p2;
      snprintf(src, cap, "min_top100, policy of retraining run %.8s",
               runs[0].run_id);
    }
    /* a relative trigger: the bound that run computed from the model's
     * own held-out top-100 */
    if (isnan(pol.min_top100) && !isnan(pol.max_top100_drop)) {
      pol.min_top100 =
          runs_metric(&runs[0], "check.max_top100_drop.threshold");
      snprintf(src, cap, "max_top100_drop %g below the model's own "
               "top-100, policy of retraining run %.8s",
               pol.max_top100_drop, runs[0].run_id);
    }
  }
  runs_free(runs, n);
  *th = pol.min_top100;
}

static void performance_chart(struct html *h,
                              const struct monitor_report *report, double th,
                              const char *th_src)
{
  static const int ks[] = {100, 50, 10};
  static const char *const names[] = {"top-100", "top-50", "top-10"};
  size_t nw = report->n_windows < MAX_WINDOWS ? report->n_windows
                                              : MAX_WINDOWS;
  double x[MAX_WINDOWS + 1], y[3][MAX_WINDOWS + 1];
  const char *xn[MAX_WINDOWS + 1];
  char lab[MAX_WINDOWS][80]; /* x labels: name, "(in-sample)" */
  xn[0] = "reference (in-sample)";
  x[0] = 0;
  for (size_t k = 0; k < 3; k++)
    y[k][0] = monitor_metrics_top(&report->reference.metrics, ks[k]);
  for (size_t i = 0; i < nw; i++) {
    const struct monitor_window *w = &report->windows[i];
    snprintf(lab[i], sizeof(lab[i]), "%s%s", w->spec.name,
             w->n_in_sample ? " (in-sample)" : "");
    xn[i + 1] = lab[i];
    x[i + 1] = (double)(i + 1);
    for (size_t k = 0; k < 3; k++)
      y[k][i + 1] = w->skipped[0] ? NAN
                                  : monitor_metrics_top(&w->metrics, ks[k]);
  }
  struct svg_series s[3];
  for (size_t k = 0; k < 3; k++)
    s[k] = (struct svg_series){names[k], x, y[k], nw + 1};
  char label[96];
  snprintf(label, sizeof(label), "retrain if top-100 <=");
  struct svg_line_opts o = {.width = 760, .height = 300,
                            .title = "Performance per window "
                                     "(categorical accuracy)",
                            .x_label = "window", .y_label = "accuracy",
                            .threshold = th, .threshold_label = label,
                            .x_names = xn, .n_x_names = nw + 1,
                            .y_from_zero = 1};
  html_raw(h, "<h2>Performance</h2>");
  svg_line_chart(h, &o, s, 3);
  char v[32];
  if (isfinite(th))
    html_f(h, "<p class=\"muted\">Dashed line: the retraining threshold "
              "top-100 = %s (%s).</p>",
           html_num(th, v, sizeof(v)), th_src);
  else
    html_f(h, "<p class=\"muted\">The retraining policy has no top-100 "
              "trigger, or none it could compute (%s).</p>",
           th_src);
}

/* Colour score of a feature verdict (see the header comment). */
static double drift_score(const struct monitor_feature *f)
{
  if (f->skipped[0])
    return NAN;
  double th = f->verdict.threshold, p = f->verdict.pvalue;
  if (isfinite(p)) {
    if (!(th > 0 && th < 1))
      return NAN;
    return p <= 0 ? 2 : log(p) / log(th);
  }
  double st = f->verdict.statistic;
  return th > 0 && isfinite(st) ? st / th : NAN;
}

/* The test's name, or "?" for a feature that was not measured. */
static const char *test_of(const struct monitor_feature *f)
{
  return f->measured ? drift_test_name(f->verdict.test) : "?";
}

/* Cell text, tooltip: into the caller's buffers. */
static void drift_cell(const struct monitor_feature *f, const char *wname,
                       struct svg_heat_cell *c, char *text, size_t tcap,
                       char *tip, size_t pcap)
{
  char st[32], pv[32], th[32], why[112] = "";
  const struct drift_feature_result *v = &f->verdict;
  c->score = drift_score(f);
  c->mark = v->drift;
  html_num(v->statistic, st, sizeof(st));
  html_num(v->threshold, th, sizeof(th));
  html_num(v->pvalue, pv, sizeof(pv));
  if (c->mark)
    snprintf(why, sizeof(why), ": DRIFT");
  else if (f->skipped[0])
    snprintf(why, sizeof(why), ": skipped, %s", f->skipped);
  snprintf(text, tcap, "%s%s", f->skipped[0] ? "skipped" : st,
           c->mark ? " *" : "");
  if (isfinite(v->pvalue))
    snprintf(tip, pcap, "%s, window %s: %s statistic %s, p = %s "
                        "(drift when p < %s)%s",
             v->name, wname, test_of(f), st, pv, th, why);
  else
    snprintf(tip, pcap, "%s, window %s: %s = %s (drift when >= %s)%s",
             v->name, wname, test_of(f), st, th, why);
  c->text = text;
  c->tip = tip;
}

/* The first of the nw windows with features (skipped and empty ones have
 * none), or the first window. */
static const struct monitor_window *first_measured(
    const struct monitor_report *report, size_t nw)
{
  for (size_t i = 0; i < nw; i++)
    if (report->windows[i].n_features)
      return &report->windows[i];
  return &report->windows[0];
}

/* The rows (features of the first measured window) and the cells of the
 * grid. */
static void grid_cells(const struct monitor_report *report, size_t nf,
                       size_t nw, char (*rowl)[96], const char **rows,
                       const char **cols, struct svg_heat_cell *cells,
                       char (*text)[40], char (*tip)[256])
{
  const struct monitor_window *w0 = first_measured(report, nw);
  for (size_t r = 0; r < nf; r++) {
    const struct monitor_feature *f = &w0->features[r];
    snprintf(rowl[r], sizeof(rowl[r]), "%s (%s)", f->verdict.name,
             test_of(f));
    rows[r] = rowl[r];
  }
  for (size_t c = 0; c < nw; c++) {
    const struct monitor_window *w = &report->windows[c];
    cols[c] = w->spec.name;
    for (size_t r = 0; r < nf; r++) {
      const struct monitor_feature *f =
          monitor_report_feature(w, w0->features[r].verdict.name);
      size_t i = r * nw + c;
      if (f)
        drift_cell(f, cols[c], &cells[i], text[i], sizeof(text[i]), tip[i],
                   sizeof(tip[i]));
      else
        cells[i] = (struct svg_heat_cell){
            NAN, "-", w->skipped[0] ? w->skipped : "not measured", 0};
    }
  }
}

static int drift_grid(struct html *h, const struct monitor_report *report,
                      struct hv_err *err)
{
  size_t nw = report->n_windows < MAX_WINDOWS ? report->n_windows
                                              : MAX_WINDOWS;
  size_t nf = nw ? first_measured(report, nw)->n_features : 0;
  html_raw(h, "<h2>Drift per feature and window</h2>");
  if (nf == 0 || nw == 0) {
    html_raw(h, "<p class=\"muted\">The report has no feature verdicts."
                "</p>");
    return 0;
  }
  struct svg_heat_cell *cells = calloc(nf * nw, sizeof(*cells));
  char(*text)[40] = calloc(nf * nw, sizeof(*text));
  char(*tip)[256] = calloc(nf * nw, sizeof(*tip));
  char(*rowl)[96] = calloc(nf, sizeof(*rowl));
  const char **rows = calloc(nf, sizeof(*rows)),
             **cols = calloc(nw, sizeof(*cols));
  int rc = 0;
  if (!cells || !text || !tip || !rowl || !rows || !cols) {
    rc = hv_err_set(err, HV_ENOMEM, "out of memory");
    goto cleanup;
  }
  grid_cells(report, nf, nw, rowl, rows, cols, cells, text, tip);
  struct svg_heat_opts o = {.title = "Test statistic per feature "
                                     "(* = drift)"};
  svg_heat_grid(h, &o, rows, nf, cols, nw, cells);
  html_raw(h, "<p class=\"legend muted\">Colour: statistic against the "
              "test's threshold (p-value tests: log p / log threshold)"
              "<span class=\"l0\"></span>far below"
              "<span class=\"l1\"></span>half way"
              "<span class=\"l2\"></span>at the threshold (drift)"
              "<span class=\"l3\"></span>twice past it"
              "<span class=\"lx\"></span>skipped. The test is named after "
              "each feature.</p>");
cleanup:
  free(cells);
  free(text);
  free(tip);
  free(rowl);
  free(rows);
  free(cols);
  return rc;
}

/* A window's in-sample share as "100%", "<1%" or "-" into buf. */
static const char *in_sample_text(const struct monitor_window *w,
                                  char *buf, size_t cap)
{
  double v = 100.0 * monitor_window_in_sample(w);
  if (!w->n_in_sample)
    return "-";
  if (v < 0.5)
    return "<1%";
  snprintf(buf, cap, "%.0f%%", v);
  return buf;
}

/* One row of the windows table: a run of empty time windows spans the
 * columns; a skipped window says why instead of numbers. */
static void window_row(struct html *h, const struct monitor_window *w)
{
  char a[32], b[32], c[32], in[8];
  if (!w->n_ratings && w->n_folded > 1) {
    window_format_time(w->spec.first, a, sizeof(a));
    window_format_time(w->spec.last, b, sizeof(b));
    html_f(h, "<tr class=\"empty\"><td>%s</td><td colspan=\"8\" "
           "class=\"muted\">%zu empty windows, %s to %s (no ratings)</td>"
           "</tr>", w->spec.name, w->n_folded, a, b);
    return;
  }
  int done = !w->skipped[0];
  html_f(h,
         "<tr%s><td>%s</td><td class=\"num\">%zu</td><td class=\"num\">"
         "%zu</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
         "<td class=\"num%s\">%s</td>",
         w->n_in_sample ? " class=\"insample\"" : "", w->spec.name,
         w->n_ratings, w->n_users,
         html_num(done ? monitor_metrics_top(&w->metrics, 10) : NAN, a,
                  sizeof(a)),
         html_num(done ? monitor_metrics_top(&w->metrics, 100) : NAN, b,
                  sizeof(b)),
         w->n_in_sample ? " insample" : "",
         in_sample_text(w, in, sizeof(in)));
  if (!done) {
    html_f(h, "<td colspan=\"3\" class=\"skipped\">skipped: %s</td></tr>",
           w->skipped);
    return;
  }
  html_f(h,
         "<td class=\"num\">%zu / %zu</td><td class=\"num\">%s</td>"
         "<td class=\"%s\">%s</td></tr>",
         w->n_drifted, w->n_judged, html_num(w->drifted_share, c, sizeof(c)),
         w->dataset_drift ? "drift" : "nodrift",
         w->dataset_drift ? "yes" : "no");
}

static void windows_table(struct html *h, const struct monitor_report *report)
{
  size_t n_in = 0;
  for (size_t i = 0; i < report->n_windows; i++)
    n_in += report->windows[i].n_in_sample > 0;
  if (n_in)
    html_f(h, "<p class=\"note insample\">%zu window%s in-sample: %s "
           "ratings of the model's training range %lld..%lld (column "
           "In-sample: their share), so %s top-K is not held-out evidence "
           "and the retraining policy does not read it as such.</p>",
           n_in, n_in == 1 ? " is" : "s are", n_in == 1 ? "it holds"
                                                       : "they hold",
           (long long)report->model.trained_first_rating_id,
           (long long)report->model.trained_last_rating_id,
           n_in == 1 ? "its" : "their");
  html_raw(h, "<table class=\"data sortable windows\"><thead><tr><th>Window"
              "</th><th>Ratings</th><th>Users</th><th>Top-10</th>"
              "<th>Top-100</th><th>In-sample</th><th>Drifted features</th>"
              "<th>Drifted share</th><th>Dataset drift</th></tr></thead>"
              "<tbody>");
  for (size_t i = 0; i < report->n_windows && i < MAX_WINDOWS; i++)
    window_row(h, &report->windows[i]);
  html_raw(h, "</tbody></table>");
}

/* 1 when some window of r has the ranking stage's metrics. */
static int has_ranker(const struct monitor_report *r)
{
  for (size_t i = 0; i < r->n_windows; i++)
    if (r->windows[i].metrics.ranker_n)
      return 1;
  return 0;
}

/* "the blend pipeline's (retrieval's top 100 ordered by the ranker)" or
 * "retrieval's": where the report's top-10 lists came from. */
static void lists_text(const struct monitor_settings *c, char *buf,
                       size_t cap)
{
  if (c->candidates > 0)
    snprintf(buf, cap, "the %s pipeline's (retrieval's top %d ordered by "
             "the ranker, as served)", c->lists, c->candidates);
  else
    snprintf(buf, cap, "retrieval's");
}

/* One value of a health column. */
static double health_value(const struct monitor_health *h, int k)
{
  return k == 0   ? h->coverage_at_10
         : k == 1 ? h->gini_at_10
         : k == 2 ? h->mean_popularity_at_10
                  : h->top1_score_mean;
}

static void health_section(struct html *h, const struct monitor_report *report)
{
  static const char *const labels[] = {"Coverage@10", "Gini@10",
                                       "Mean popularity@10",
                                       "Mean top-1 score"};
  size_t nw = report->n_windows < MAX_WINDOWS ? report->n_windows
                                              : MAX_WINDOWS;
  char lists[160];
  lists_text(&report->config, lists, sizeof(lists));
  html_f(h, "<h2>Feedback-loop health</h2><p class=\"muted\">Of the "
         "top-10 lists of the window's users, against as many reference "
         "users (in brackets); the lists are %s.</p><table class=\"data "
         "health\"><thead><tr><th>Window</th>", lists);
  for (int k = 0; k < 4; k++)
    html_f(h, "<th>%s</th>", labels[k]);
  html_raw(h, "</tr></thead><tbody>");
  double x[MAX_WINDOWS], cov[MAX_WINDOWS], covr[MAX_WINDOWS];
  const char *xn[MAX_WINDOWS];
  for (size_t i = 0; i < nw; i++) {
    const struct monitor_window *w = &report->windows[i];
    struct monitor_health hw = w->health, hr = w->health_ref;
    if (w->skipped[0]) { /* skipped or empty: reported without health */
      monitor_health_init(&hw);
      monitor_health_init(&hr);
    }
    html_f(h, "<tr><td>%s</td>", w->spec.name);
    for (int k = 0; k < 4; k++) {
      char a[32], b[32];
      html_f(h, "<td class=\"num\">%s <span class=\"muted\">(%s)</span></td>",
             html_num(health_value(&hw, k), a, sizeof(a)),
             html_num(health_value(&hr, k), b, sizeof(b)));
    }
    html_raw(h, "</tr>");
    x[i] = (double)i;
    xn[i] = w->spec.name;
    cov[i] = hw.coverage_at_10;
    covr[i] = hr.coverage_at_10;
  }
  html_raw(h, "</tbody></table>");
  struct svg_series s[2] = {{"coverage@10", x, cov, nw},
                            {"reference coverage@10", x, covr, nw}};
  struct svg_line_opts o = {.width = 760, .height = 260,
                            .title = "Catalogue coverage of the top-10 "
                                     "lists",
                            .x_label = "window", .threshold = NAN,
                            .x_names = xn, .n_x_names = nw,
                            .y_from_zero = 1};
  if (nw)
    svg_line_chart(h, &o, s, 2);
}

/* Exposure by popularity decile per window (reference first), a table. */
static void exposure_table(struct html *h, const struct monitor_report *r)
{
  size_t nw = r->n_windows < MAX_WINDOWS ? r->n_windows : MAX_WINDOWS;
  char lists[160], c[32];
  lists_text(&r->config, lists, sizeof(lists));
  html_f(h, "<p class=\"muted\">Exposure: the share of the top-10 entries "
         "in each popularity decile of the catalogue (1 = least rated in "
         "the reference); the lists are %s.</p><table class=\"data "
         "exposure\"><thead><tr><th>Window</th>", lists);
  for (int d = 0; d < EVAL_NDEC; d++)
    html_f(h, "<th>D%d</th>", d + 1);
  html_raw(h, "<th>Gap</th></tr></thead><tbody>");
  for (size_t i = 0; i <= nw; i++) {
    const struct monitor_window *w = i ? &r->windows[i - 1] : NULL;
    const struct monitor_health *hh = w ? &w->health : &r->reference.health;
    int empty = w && !w->n_ratings;
    html_f(h, "<tr><td>%s</td>", w ? w->spec.name : "reference");
    for (int d = 0; d < EVAL_NDEC; d++)
      html_f(h, "<td class=\"num\">%s</td>",
             html_num(empty ? NAN : hh->exposure[d], c, sizeof(c)));
    html_f(h, "<td class=\"num\">%s</td></tr>",
           html_num(empty ? NAN : hh->exposure_gap, c, sizeof(c)));
  }
  html_raw(h, "</tbody></table>");
}

/* The ranking stage per window: RMSE and MAE of its predictions on the
 * window's ratings (only when the pass had a ranker). */
static void ranker_chart(struct html *h, const struct monitor_report *r)
{
  size_t nw = r->n_windows < MAX_WINDOWS ? r->n_windows : MAX_WINDOWS;
  double x[MAX_WINDOWS], rmse[MAX_WINDOWS], mae[MAX_WINDOWS];
  const char *xn[MAX_WINDOWS];
  for (size_t i = 0; i < nw; i++) {
    const struct monitor_metrics *m = &r->windows[i].metrics;
    xn[i] = r->windows[i].spec.name;
    x[i] = (double)i;
    rmse[i] = m->ranker_n ? m->ranker_rmse : NAN;
    mae[i] = m->ranker_n ? m->ranker_mae : NAN;
  }
  struct svg_series s[2] = {{"ranker RMSE", x, rmse, nw},
                            {"ranker MAE", x, mae, nw}};
  struct svg_line_opts o = {.width = 760, .height = 260,
                            .title = "Ranking stage per window (rating "
                                     "error, stars)",
                            .x_label = "window", .y_label = "error",
                            .threshold = NAN, .x_names = xn,
                            .n_x_names = nw, .y_from_zero = 1};
  html_raw(h, "<h2>Ranking stage</h2>");
  svg_line_chart(h, &o, s, 2);
}

/* The fairness report per window (reference first): the top-100 gap
 * between the best and worst user segment, the exposure gap between the
 * most and least exposed popularity decile of the top-10 lists and, with a
 * ranker, its RMSE gap between the worst and best segment; then the
 * exposure by decile. */
static void fairness_chart(struct html *h, const struct monitor_report *r)
{
  size_t nw = r->n_windows < MAX_WINDOWS ? r->n_windows : MAX_WINDOWS;
  double x[MAX_WINDOWS + 1], g[MAX_WINDOWS + 1], ex[MAX_WINDOWS + 1],
      rg[MAX_WINDOWS + 1];
  const char *xn[MAX_WINDOWS + 1];
  xn[0] = "reference";
  x[0] = 0;
  g[0] = r->reference.metrics.fairness_gap_top_100;
  ex[0] = r->reference.health.exposure_gap;
  rg[0] = NAN; /* the ranker is judged on the windows only */
  for (size_t i = 0; i < nw; i++) {
    const struct monitor_window *w = &r->windows[i];
    xn[i + 1] = w->spec.name;
    x[i + 1] = (double)(i + 1);
    g[i + 1] = w->n_ratings ? w->metrics.fairness_gap_top_100 : NAN;
    ex[i + 1] = w->n_ratings ? w->health.exposure_gap : NAN;
    rg[i + 1] = w->metrics.ranker_n ? w->metrics.fairness_gap_rmse : NAN;
  }
  struct svg_series s[3] = {
      {"top-100 gap between segments", x, g, nw + 1},
      {"exposure gap between popularity deciles", x, ex, nw + 1},
      {"ranker RMSE gap between segments", x, rg, nw + 1}};
  struct svg_line_opts o = {.width = 760, .height = 260,
                            .title = "Fairness per window (best minus "
                                     "worst group)",
                            .x_label = "window", .y_label = "gap",
                            .threshold = NAN, .x_names = xn,
                            .n_x_names = nw + 1, .y_from_zero = 1};
  int ranked = has_ranker(r);
  html_raw(h, "<h2>Fairness</h2>");
  svg_line_chart(h, &o, s, ranked ? 3 : 2);
  html_raw(h, "<p class=\"muted\">Top-100 gap: the best user segment's "
              "top-100 accuracy minus the worst's (segments of at least 100 "
              "pairs). Exposure gap: the share of top-10 entries of the most "
              "exposed popularity decile minus the least exposed one's "
              "(0 = even; docs/evaluation.md).");
  if (ranked)
    html_raw(h, " Ranker RMSE gap: the worst segment's RMSE minus the "
                "best's (stars).");
  html_raw(h, "</p>");
  exposure_table(h, r);
  if (ranked)
    ranker_chart(h, r);
}

static void decision_row(struct html *h, const struct tracking_run *r)
{
  char t[32], a[32], b[32], c[32];
  const char *dec = runs_tag(r, "retrain.decision");
  const char *act = runs_tag(r, "retrain.action");
  const char *why = runs_tag(r, "retrain.reasons");
  const char *errt = runs_tag(r, "harvest.error");
  const char *cv = runs_tag(r, "retrain.challenger_version");
  html_f(h, "<tr><td data-v=\"%.3f\">%s</td><td>", r->start_time,
         ui_time(r->start_time, t, sizeof(t)));
  ui_run_link(h, r->run_id, NULL);
  html_f(h,
         "</td><td><span class=\"status %s\">%s</span></td>"
         "<td><b>%s</b></td><td>%s%s%s</td><td>%s</td><td class=\"num\">%s"
         "</td><td class=\"num\">%s</td><td class=\"num\">%s</td></tr>",
         r->status, r->status, dec ? dec : "-", act ? act : "-",
         cv && strcmp(cv, "0") ? " v" : "", cv && strcmp(cv, "0") ? cv : "",
         why ? why : errt ? errt : "",
         html_num(runs_metric(r, "worst_top100"), a, sizeof(a)),
         html_num(runs_metric(r, "champion_top100"), b, sizeof(b)),
         html_num(runs_metric(r, "challenger_top100"), c, sizeof(c)));
}

static int decisions(struct html *h, struct hv_db *db, struct hv_err *err)
{
  /* decision runs, not their challenger children */
  struct runs_query q = {.experiment = RETRAIN_EXPERIMENT,
                         .filter = "tags.`retrain.decision` LIKE '%'",
                         .max = MAX_DECISIONS};
  struct tracking_run *runs = NULL;
  size_t n = 0;
  struct hv_err serr = {0};
  int rc = runs_search(db, &q, &runs, &n, &serr);
  if (rc && rc != HV_ENOTFOUND)
    return hv_err_set(err, rc, "%s", serr.msg);
  html_raw(h, "<h2>Retraining decisions</h2>");
  if (n == 0) {
    ui_empty(h, "No retraining decision has been logged yet.",
             "harvest retrain --dry-run");
    return 0;
  }
  html_raw(h, "<table class=\"data sortable decisions\"><thead><tr><th>When "
              "(UTC)</th><th>Run</th><th>Status</th><th>Decision</th>"
              "<th>Action</th><th>Reasons</th><th>Worst top-100</th>"
              "<th>Champion top-100</th><th>Challenger top-100</th></tr>"
              "</thead><tbody>");
  for (size_t i = 0; i < n; i++)
    decision_row(h, &runs[i]);
  html_raw(h, "</tbody></table>");
  runs_free(runs, n);
  return 0;
}

static void report_header(struct html *h, const struct monitor_report *report,
                          const char *run_id)
{
  const struct monitor_model_info *model = &report->model;
  const struct monitor_reference *ref = &report->reference;
  html_raw(h, "<p>From monitoring run ");
  ui_run_link(h, run_id, NULL);
  html_f(h,
         " &middot; model <b>%s</b> sha256 <span class=\"mono\">%.12s</span> "
         "&middot; reference rating_id %lld..%lld (%s, %zu ratings) "
         "&middot; %zu windows</p>",
         model->uri, model->sha256, (long long)ref->first_rating_id,
         (long long)ref->last_rating_id,
         ref->from_model ? "model lineage" : "config", ref->n_ratings,
         report->n_windows);
}

/* Links to each registered model's monitoring (any version, then each
 * version, newest first, with its stage); the current choice in bold. */
static void picker(struct ui_page *p, struct hv_db *db)
{
  struct registry_model *ms = NULL;
  size_t n = 0;
  struct hv_err e = {0};
  const char *cur = NULL;
  int cur_v = 0;
  if (registry_db_list(db, &ms, &n, &e) || !n ||
      chosen(p, &cur, &cur_v, &e)) {
    registry_db_models_free(ms, n);
    return;
  }
  struct html *h = &p->h;
  html_raw(h, "<nav class=\"picker\" aria-label=\"Model and version\">"
              "<b>Model and version:</b> <a href=\"/ui/monitoring\">");
  html_raw(h, cur ? "newest of any" : "<b>newest of any</b>");
  html_raw(h, "</a>");
  for (size_t i = 0; i < n; i++) {
    int on = cur && !strcmp(cur, ms[i].name);
    html_f(h, "<span class=\"pick\">%s <a href=\"/ui/monitoring?model=",
           ms[i].name);
    html_url(h, ms[i].name);
    html_raw(h, on && !cur_v ? "\"><b>any version</b></a>" : "\">any</a>");
    for (size_t k = ms[i].n_versions; k-- > 0;) {
      const struct registry_version *v = &ms[i].versions[k];
      int here = on && cur_v == v->version;
      html_raw(h, " <a href=\"/ui/monitoring?model=");
      html_url(h, ms[i].name);
      html_f(h, "&amp;version=%d\" title=\"%s\">", v->version, v->stage);
      html_raw(h, here ? "<b>" : "");
      html_f(h, "v%d", v->version);
      html_raw(h, here ? "</b></a>" : "</a>");
    }
    html_raw(h, "</span>");
  }
  html_raw(h, "</nav>");
  registry_db_models_free(ms, n);
}

int ui_page_monitoring(struct ui_page *p, struct hv_err *err)
{
  struct hv_db *db = ui_db(p, err);
  char run_id[33] = "";
  struct monitor_report report;
  int found = 0;
  memset(&report, 0, sizeof(report));
  if (!db || pick_report(p, db, run_id, &report, &found, err))
    return err->code;
  snprintf(p->title, sizeof(p->title), "Monitoring");
  html_raw(&p->h, "<h1>Monitoring</h1>");
  picker(p, db);
  int rc = 0;
  const char *model = srv_query(p->req, "model");
  if (!found && model && !srv_query(p->req, "run")) {
    const char *v = srv_query(p->req, "version");
    char what[256], cmd[256];
    snprintf(what, sizeof(what), "No finished monitoring run of %.100s%s%.20s "
             "has a " MONITOR_ARTIFACT " yet.", model, v ? " version " : "",
             v ? v : "");
    snprintf(cmd, sizeof(cmd), "harvest monitor --model models:/%.100s/%.20s "
             "--window 7d", model, v ? v : "Production");
    ui_empty(&p->h, what, cmd);
  } else if (!found) {
    ui_empty(&p->h, "No monitoring report yet: no finished run in the "
                    "experiment \"" MONITOR_EXPERIMENT "\" has a "
                    MONITOR_ARTIFACT ".",
             "harvest monitor --model models:/harvest_recommender/"
             "Production --window 7d");
  } else {
    double th;
    char src[96];
    threshold_of(db, &th, src, sizeof(src));
    report_header(&p->h, &report, run_id);
    performance_chart(&p->h, &report, th, src);
    windows_table(&p->h, &report);
    rc = drift_grid(&p->h, &report, err);
    if (!rc)
      health_section(&p->h, &report);
    if (!rc)
      fairness_chart(&p->h, &report);
  }
  if (!rc)
    rc = decisions(&p->h, db, err);
  monitor_report_free(&report);
  return rc;
}

/*
 * ui_tune.c - the web UI's chart view of a tune (GET /ui/runs/ID/tune):
 * the parent run of `harvest tune`, whose trials are its child runs. One
 * small scatter chart per param (the chosen metric against that param's
 * values) and a parallel-coordinates chart over every trial's params and
 * the metric, then the trials best first.
 *
 * Design: the params are the tune's grid axes (its grid.KEY params), or
 * for a run with children but no grid, the params whose values differ
 * between the children. A param whose values are all numbers with at most
 * MAX_LEVELS distinct ones (every grid) is drawn as ordered levels (its
 * values as tick names, evenly spaced: lr 0.001 / 0.01 / 0.1 stay
 * readable); more numbers get a numeric axis with round ticks; text values
 * are categories. The metric is ?metric= (default the tune's tune.metric,
 * else the first metric the trials logged); its order (tune.order for the
 * tune's metric, else lower is better for loss / rmse / mae names) picks
 * the best trial. A
 * bad metric name is 422, one no trial logged 404, each naming the
 * parameter; a run without child runs is 404.
 *
 * Threads: page functions run on one worker with its own connection.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/http/routes.h"
#include "serve/ui/html.h"
#include "serve/ui/keyset.h"
#include "serve/ui/svg.h"
#include "serve/ui/ui_internal.h"
#include "store/tracking.h"
#include "track/runs.h"
#include "util/mem.h"

#define MAX_PARAMS 12  /* scatter charts (and axes but the metric) */
#define MAX_LEVELS 12  /* numeric values drawn as ordered levels */
#define MAX_TRIALS 1024

/* One param as drawn: x per trial and, for levels and categories, the
 * names of x = 0, 1, ... */
struct axis_data {
  const char *key;
  double *x;            /* (n trials) NaN when the trial lacks it */
  const char *names[MAX_TRIALS < 64 ? MAX_TRIALS : 64];
  size_t n_names;       /* 0: numeric */
};

struct tune_view {
  const struct tracking_run *parent;
  const struct tracking_run *kids;
  size_t n;
  const char *metric;
  int lower_better;
  double *y;            /* the metric per trial */
  long best;
  struct axis_data ax[MAX_PARAMS];
  size_t n_ax;
  const char *tips[MAX_TRIALS];
  char *tip_text;       /* the tips' storage */
};

static int cmp_num(const void *a, const void *b)
{
  double x = atof(*(const char *const *)a), y = atof(*(const char *const *)b);
  return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_number(const char *s)
{
  char *end;
  double v = strtod(s, &end);
  return end != s && !*end && isfinite(v);
}

/* Fill a->x (and names) from the trials' values of a->key. */
static int axis_fill(struct axis_data *a, const struct tune_view *v)
{
  const char *lv[64];
  size_t nl = 0, nvals = 0;
  int numeric = 1;
  a->x = malloc((v->n ? v->n : 1) * sizeof(double));
  if (!a->x)
    return HV_ENOMEM;
  for (size_t i = 0; i < v->n; i++) {
    const char *s = runs_param(&v->kids[i], a->key);
    if (!s)
      continue;
    nvals++;
    numeric &= is_number(s);
    size_t k = 0;
    while (k < nl && strcmp(lv[k], s))
      k++;
    if (k == nl && nl < 64)
      lv[nl++] = s;
  }
  int levels = !numeric || nl <= MAX_LEVELS;
  if (levels) {
    qsort(lv, nl, sizeof(lv[0]), numeric ? cmp_num : cmp_str);
    memcpy(a->names, lv, nl * sizeof(lv[0]));
    a->n_names = nl;
  }
  for (size_t i = 0; i < v->n; i++) {
    const char *s = runs_param(&v->kids[i], a->key);
    a->x[i] = NAN;
    if (s && !levels)
      a->x[i] = atof(s);
    for (size_t k = 0; s && levels && k < a->n_names; k++)
      if (!strcmp(a->names[k], s))
        a->x[i] = (double)k;
  }
  (void)nvals;
  return 0;
}

/* The params to draw: grid.KEY of the parent, else those that vary. */
static void pick_params(struct tune_view *v, const struct keyset *pk)
{
  const struct tracking_run *p = v->parent;
  for (size_t i = 0; i < p->n_params && v->n_ax < MAX_PARAMS; i++)
    if (!strncmp(p->params[i].key, "grid.", 5))
      v->ax[v->n_ax++].key = p->params[i].key + 5;
  for (size_t i = 0; v->n_ax == 0 && i < pk->n; i++) {
    const char *first = NULL;
    int varies = 0;
    for (size_t k = 0; k < v->n && !varies; k++) {
      const char *s = runs_param(&v->kids[k], pk->keys[i]);
      if (s && !first)
        first = s;
      else if (s && strcmp(s, first))
        varies = 1;
    }
    if (varies && v->n_ax < MAX_PARAMS)
      v->ax[v->n_ax].key = pk->keys[i], v->n_ax++;
  }
}

/* The metric from ?metric= or the tune's, checked against the trials'
 * metric keys mk. */
static int pick_metric(struct ui_page *p, struct tune_view *v,
                       const struct keyset *mk, struct hv_err *err)
{
  const char *q = srv_query(p->req, "metric");
  const char *m = q && *q ? q : runs_param(v->parent, "tune.metric");
  if (!m && mk->n)
    m = mk->keys[0];
  if (!m)
    return hv_err_set(err, HV_ENOTFOUND,
                      "metric: no trial of run %s logged a metric",
                      v->parent->run_id);
  if (runs_check_key(m, "metric", err))
    return HV_EINVAL;
  if (strspn(m, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789_.-/:@") != strlen(m))
    return hv_err_set(err, HV_EINVAL,
                      "metric: '%.100s' is not a metric name (letters, "
                      "digits and _ . - / : @)",
                      m);
  for (size_t i = 0; i < mk->n; i++)
    if (!strcmp(mk->keys[i], m)) {
      v->metric = mk->keys[i];
      const char *tm = runs_param(v->parent, "tune.metric");
      const char *order = tm && !strcmp(tm, m)
                              ? runs_param(v->parent, "tune.order")
                              : NULL;
      v->lower_better = order ? !strcmp(order, "asc")
                              : strstr(m, "loss") || strstr(m, "rmse") ||
                                    strstr(m, "mae");
      return 0;
    }
  return hv_err_set(err, HV_ENOTFOUND,
                    "metric: no trial of this tune logged '%.100s' (pick "
                    "one from the list)",
                    m);
}

/* y, the best trial and the tooltips ("name: k=v k=v, metric"). */
static int fill_values(struct tune_view *v)
{
  size_t cap = v->n * 256 + 1;
  v->y = malloc((v->n ? v->n : 1) * sizeof(double));
  v->tip_text = malloc(cap);
  if (!v->y || !v->tip_text)
    return HV_ENOMEM;
  v->best = -1;
  size_t o = 0;
  for (size_t i = 0; i < v->n; i++) {
    double y = runs_metric(&v->kids[i], v->metric);
    v->y[i] = y;
    if (!isnan(y) && (v->best < 0 || (v->lower_better ? y < v->y[v->best]
                                                      : y > v->y[v->best])))
      v->best = (long)i;
    v->tips[i] = v->tip_text + o;
    size_t start = o;
    o += (size_t)snprintf(v->tip_text + o, cap - o, "%.60s:", v->kids[i].name);
    for (size_t k = 0; k < v->n_ax && o < start + 230; k++) {
      const char *s = runs_param(&v->kids[i], v->ax[k].key);
      o += (size_t)snprintf(v->tip_text + o, start + 240 - o, " %s=%s",
                            v->ax[k].key, s ? s : "-");
    }
    o = start + strlen(v->tip_text + start) + 1;
  }
  return 0;
}

static void metric_picker(struct html *h, const struct tune_view *v,
                          const struct keyset *mk)
{
  html_f(h, "<form class=\"filter\" method=\"get\" action=\"/ui/runs/%s/"
            "tune\"><label>Metric <select name=\"metric\">",
         v->parent->run_id);
  for (size_t i = 0; i < mk->n; i++)
    html_f(h, "<option%s>%s</option>",
           strcmp(mk->keys[i], v->metric) ? "" : " selected", mk->keys[i]);
  html_f(h, "</select></label> <button type=\"submit\">Show</button> "
            "<span class=\"muted\">%s is better; default the tune's "
            "objective</span></form>",
         v->lower_better ? "lower" : "higher");
}

static void scatters(struct html *h, const struct tune_view *v)
{
  html_raw(h, "<h2>Metric against each param</h2><div class=\"charts\">");
  for (size_t k = 0; k < v->n_ax; k++) {
    char title[160];
    snprintf(title, sizeof(title), "%.60s vs %.60s", v->metric,
             v->ax[k].key);
    struct svg_scatter_opts o = {.title = title, .x_label = v->ax[k].key,
                                 .y_label = v->metric,
                                 .x_names = v->ax[k].names,
                                 .n_x_names = v->ax[k].n_names,
                                 .best = v->best};
    svg_scatter(h, &o, v->ax[k].x, v->y, v->tips, v->n);
  }
  html_raw(h, "</div>");
}

static int parallel(struct html *h, const struct tune_view *v)
{
  size_t na = v->n_ax + 1;
  double *vals = malloc((v->n ? v->n : 1) * na * sizeof(double));
  if (!vals)
    return HV_ENOMEM;
  struct svg_axis axes[MAX_PARAMS + 1];
  for (size_t k = 0; k < v->n_ax; k++)
    axes[k] = (struct svg_axis){v->ax[k].key, v->ax[k].names,
                                v->ax[k].n_names};
  axes[v->n_ax] = (struct svg_axis){v->metric, NULL, 0};
  for (size_t i = 0; i < v->n; i++) {
    for (size_t k = 0; k < v->n_ax; k++)
      vals[i * na + k] = v->ax[k].x[i];
    vals[i * na + v->n_ax] = v->y[i];
  }
  html_raw(h, "<h2>Parallel coordinates</h2><p class=\"muted\">One line "
              "per trial across its params and the metric (last axis); "
              "darker is better, the best trial is the thick line, grey "
              "ones have no value.</p><div class=\"scroll\">");
  struct svg_parallel_opts o = {.title = "trials", .best = v->best,
                                .lower_better = v->lower_better};
  svg_parallel(h, &o, axes, na, vals, v->n, v->tips);
  html_raw(h, "</div>");
  free(vals);
  return 0;
}

static void trials_table(struct html *h, const struct tune_view *v)
{
  html_f(h, "<h2>Trials</h2><div class=\"scroll\"><table class=\"data "
            "sortable trials\"><thead><tr><th>Trial</th><th>Status</th>");
  for (size_t k = 0; k < v->n_ax; k++)
    html_f(h, "<th>%s</th>", v->ax[k].key);
  html_f(h, "<th>%s</th></tr></thead><tbody>", v->metric);
  for (size_t i = 0; i < v->n; i++) {
    html_raw(h, (long)i == v->best ? "<tr class=\"differ\"><td>" : "<tr><td>");
    ui_run_link(h, v->kids[i].run_id, v->kids[i].name);
    html_raw(h, "</td><td>");
    ui_runs_status_badge(h, &v->kids[i]);
    html_raw(h, "</td>");
    for (size_t k = 0; k < v->n_ax; k++) {
      const char *s = runs_param(&v->kids[i], v->ax[k].key);
      html_f(h, "<td>%s</td>", s ? s : "");
    }
    char num[32];
    if (isnan(v->y[i]))
      html_raw(h, "<td class=\"num\"></td></tr>");
    else
      html_f(h, "<td class=\"num\" data-v=\"%.17g\">%s</td></tr>", v->y[i],
             html_num(v->y[i], num, sizeof(num)));
  }
  html_raw(h, "</tbody></table></div>");
}

/* The page once the runs are read. */
static int tune_body(struct ui_page *p, struct tune_view *v,
                     struct hv_err *err)
{
  struct keyset pk = {0}, mk = {0};
  int rc = 0;
  for (size_t i = 0; i < v->n && !rc; i++) {
    for (size_t k = 0; k < v->kids[i].n_params && !rc; k++)
      rc = keyset_add(&pk, v->kids[i].params[k].key);
    for (size_t k = 0; k < v->kids[i].n_metrics && !rc; k++)
      rc = keyset_add(&mk, v->kids[i].metrics[k].key);
  }
  keyset_sort(&pk);
  keyset_sort(&mk);
  if (rc)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory");
  else if (!(rc = pick_metric(p, v, &mk, err))) {
    pick_params(v, &pk);
    for (size_t k = 0; k < v->n_ax && !rc; k++)
      rc = axis_fill(&v->ax[k], v);
    if (!rc)
      rc = fill_values(v);
    if (rc)
      hv_err_set(err, rc, "out of memory");
  }
  if (!rc) {
    html_f(&p->h, "<h1>Tune %s: charts</h1><p>%zu trials of run ",
           v->parent->name, v->n);
    ui_run_link(&p->h, v->parent->run_id, v->parent->name);
    html_raw(&p->h, " (its child runs).</p>");
    metric_picker(&p->h, v, &mk);
    if (v->best < 0)
      ui_empty(&p->h, "No trial has a value of this metric.", NULL);
    scatters(&p->h, v);
    rc = parallel(&p->h, v);
    if (rc)
      hv_err_set(err, rc, "out of memory");
    else
      trials_table(&p->h, v);
  }
  keyset_free(&pk);
  keyset_free(&mk);
  return rc;
}

int ui_page_tune(struct ui_page *p, struct hv_err *err)
{
  char id[33], filter[80];
  struct tracking_run *r = NULL, *kids = NULL;
  size_t n = 0;
  struct hv_db *db = NULL;
  if (ui_run_id_of(p, id, err) || !(db = ui_db(p, err)) ||
      runs_get(db, id, &r, err))
    return err->code;
  snprintf(p->title, sizeof(p->title), "Tune %s", r->name);
  snprintf(filter, sizeof(filter), "attributes.parent_run_id = '%s'", id);
  struct runs_query q = {.filter = filter,
                         .order_by = "attributes.start_time ASC"};
  int rc = runs_search(db, &q, &kids, &n, err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "run %s has no child runs: the chart view is for the "
                    "parent run of a harvest tune",
                    id);
  struct tune_view v = {.parent = r, .kids = kids,
                        .n = n < MAX_TRIALS ? n : MAX_TRIALS};
  if (!rc)
    rc = tune_body(p, &v, err);
  for (size_t k = 0; k < v.n_ax; k++)
    free(v.ax[k].x);
  HV_FREE_ALL(v.y, v.tip_text);
  runs_free(kids, n);
  runs_free(r, 1);
  return rc;
}

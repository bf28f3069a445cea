/*
 * ui_compare.c - the web UI's comparison of runs side by side (?runs=ID,..):
 * params and metrics in one table, differing values marked, and a chart per
 * metric with a line per run.
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
#include "serve/ui/keyset.h"
#include "serve/http/routes.h"
#include "serve/ui/svg.h"
#include "serve/ui/ui_internal.h"
#include "store/tracking.h"
#include "track/artifacts.h"
#include "track/runs.h"

#define MAX_COMPARE 20

struct compare {
  struct tracking_run *runs[MAX_COMPARE];
  size_t n;
  struct hv_db *db;
  struct hv_err *err;
};

/* Load each comma-separated id of value (a ?runs= value). */
static int compare_add(void *ctx, const char *value)
{
  struct compare *c = ctx;
  char buf[2048];
  snprintf(buf, sizeof(buf), "%s", value);
  char *save = NULL;
  for (char *t = strtok_r(buf, ", ", &save); t;
       t = strtok_r(NULL, ", ", &save)) {
    if (runs_check_id(t, c->err))
      return c->err->code;
    int dup = 0;
    for (size_t i = 0; i < c->n; i++)
      dup |= !strcmp(c->runs[i]->run_id, t);
    if (dup)
      continue;
    if (c->n == MAX_COMPARE)
      return hv_err_set(c->err, HV_EINVAL,
                        "runs: at most %d runs can be compared",
                        MAX_COMPARE);
    if (runs_get(c->db, t, &c->runs[c->n], c->err))
      return c->err->code;
    c->n++;
  }
  return 0;
}

/* Row of one key: a param (metric 0) or a metric (metric 1). */
static void compare_row(struct html *h, const struct compare *c,
                        const char *key, int metric)
{
  int differ = 0;
  const char *first = NULL;
  double firstv = NAN;
  for (size_t i = 0; i < c->n; i++) {
    if (metric) {
      double v = runs_metric(c->runs[i], key);
      if (i && !(v == firstv || (isnan(v) && isnan(firstv))))
        differ = 1;
      if (!i)
        firstv = v;
    } else {
      const char *v = runs_param(c->runs[i], key);
      if (i && ((v == NULL) != (first == NULL) || (v && strcmp(v, first))))
        differ = 1;
      if (!i)
        first = v;
    }
  }
  html_raw(h, differ ? "<tr class=\"differ\">" : "<tr>");
  html_f(h, "<th>%s", key);
  html_raw(h, differ ? " <span class=\"muted\">(differs)</span></th>"
                     : "</th>");
  for (size_t i = 0; i < c->n; i++) {
    char num[32];
    if (metric)
      html_f(h, "<td class=\"num\">%s</td>",
             html_num(runs_metric(c->runs[i], key), num, sizeof(num)));
    else {
      html_raw(h, "<td>"); /* a long JSON value folds */
      ui_long_text(h, runs_param(c->runs[i], key));
      html_raw(h, "</td>");
    }
  }
  html_raw(h, "</tr>");
}

static void compare_table(struct html *h, const struct compare *c,
                          const struct keyset *pk, const struct keyset *mk)
{
  double now = (double)time(NULL);
  html_raw(h, "<div class=\"scroll\"><table class=\"data compare\"><thead>"
              "<tr><th>Run</th>");
  for (size_t i = 0; i < c->n; i++) {
    html_raw(h, "<th>");
    ui_run_link(h, c->runs[i]->run_id, c->runs[i]->name);
    html_raw(h, "</th>");
  }
  html_raw(h, "</tr></thead><tbody><tr><th>Experiment</th>");
  for (size_t i = 0; i < c->n; i++)
    html_f(h, "<td>%s</td>", c->runs[i]->experiment);
  html_raw(h, "</tr><tr><th>Status</th>");
  for (size_t i = 0; i < c->n; i++) {
    html_raw(h, "<td>");
    ui_runs_status_badge(h, c->runs[i]);
    html_raw(h, "</td>");
  }
  html_raw(h, "</tr><tr><th>Duration</th>");
  for (size_t i = 0; i < c->n; i++) {
    char d[32];
    html_f(h, "<td>%s</td>",
           ui_duration(ui_runs_seconds(c->runs[i], now), d, sizeof(d)));
  }
  html_f(h, "</tr><tr class=\"group\"><th colspan=\"%zu\">Params</th></tr>",
         c->n + 1);
  for (size_t k = 0; k < pk->n; k++)
    compare_row(h, c, pk->keys[k], 0);
  html_f(h, "<tr class=\"group\"><th colspan=\"%zu\">Metrics (latest)</th>"
            "</tr>",
         c->n + 1);
  for (size_t k = 0; k < mk->n; k++)
    compare_row(h, c, mk->keys[k], 1);
  html_raw(h, "</tbody></table></div>");
}

/* One chart per metric with a line per run (metrics with a history). */
static int compare_charts(struct html *h, const struct compare *c,
                          const struct keyset *mk, struct hv_err *err)
{
  int charts = 0, rc = 0;
  html_raw(h, "<h2>Metrics over steps</h2><div class=\"charts\">");
  for (size_t k = 0; k < mk->n && charts < UI_MAX_CHARTS && !rc; k++) {
    struct svg_series s[MAX_COMPARE];
    double *xs[MAX_COMPARE] = {0}, *ys[MAX_COMPARE] = {0};
    size_t longest = 0;
    for (size_t i = 0; i < c->n && !rc; i++) {
      size_t n = 0;
      rc = ui_run_metric_series(c->db, c->runs[i]->run_id, mk->keys[k], &xs[i],
                         &ys[i], &n, err);
      s[i] = (struct svg_series){c->runs[i]->name, xs[i], ys[i], n};
      longest = n > longest ? n : longest;
    }
    if (!rc && longest >= 2) {
      struct svg_line_opts o = {.width = 560, .height = 260,
                                .title = mk->keys[k], .x_label = "step",
                                .threshold = NAN};
      svg_line_chart(h, &o, s, c->n);
      charts++;
    }
    for (size_t i = 0; i < c->n; i++) {
      free(xs[i]);
      free(ys[i]);
    }
  }
  html_raw(h, "</div>");
  if (!rc && charts == 0)
    html_raw(h, "<p class=\"muted\">No metric of these runs has more than "
                "one step.</p>");
  return rc;
}

int ui_page_compare(struct ui_page *p, struct hv_err *err)
{
  struct compare c = {.err = err};
  struct keyset pk = {0}, mk = {0};
  if (!(c.db = ui_db(p, err)))
    return err->code;
  int rc = srv_query_each(p->req, "runs", compare_add, &c);
  if (!rc && c.n < 2)
    rc = hv_err_set(err, HV_EINVAL,
                    "runs: choose at least two runs to compare "
                    "(/ui/compare?runs=ID1,ID2), %zu given",
                    c.n);
  if (!rc) {
    for (size_t i = 0; i < c.n && !rc; i++)
      for (size_t k = 0; k < c.runs[i]->n_params && !rc; k++)
        rc = keyset_add(&pk, c.runs[i]->params[k].key);
    for (size_t i = 0; i < c.n && !rc; i++)
      for (size_t k = 0; k < c.runs[i]->n_metrics && !rc; k++)
        rc = keyset_add(&mk, c.runs[i]->metrics[k].key);
    if (rc)
      hv_err_set(err, rc, "out of memory");
    keyset_sort(&pk);
    keyset_sort(&mk);
  }
  if (!rc) {
    snprintf(p->title, sizeof(p->title), "Compare %zu runs", c.n);
    html_f(&p->h, "<h1>Compare %zu runs</h1><p class=\"muted\">Rows whose "
                  "values differ are highlighted.</p>",
           c.n);
    compare_table(&p->h, &c, &pk, &mk);
    rc = compare_charts(&p->h, &c, &mk, err);
  }
  keyset_free(&pk);
  keyset_free(&mk);
  for (size_t i = 0; i < c.n; i++)
    runs_free(c.runs[i], 1);
  return rc;
}

/*
 * demo_report.c - the demo's HTML report: the timeline and the comparisons
 * as tables, and two inline SVG charts (top-100 accuracy of the serving and
 * the never-retrained model per week, with drift weeks shaded and
 * promotions marked; new ratings per week), each with axis titles, ticks
 * at round 1-2-5 steps and a legend. Every week in which a freshly
 * promoted version did worse than the never-retrained model is named
 * (demo_fresh_worse): in its own section, marked in the chart and the
 * timeline. Runs, model versions and monitoring runs link into the UI
 * (/ui/runs/ID, /ui/models/NAME, /ui/monitoring?run=ID) under a <base> of
 * res->ui_url, said in the page. One self-contained page: no script, no
 * external stylesheet, font or CDN, so it reads offline.
 *
 * Design: written into an open_memstream buffer with fprintf; every string
 * from data (feature names, reasons) is HTML-escaped. demo.c writes the
 * buffer with hv_write_atomic. Threads: pure; call from any thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "monitor/window.h"
#include "track/registry.h"
#include "util/htmlesc.h"

/* v with `decimals` digits, or a dash for NaN. */
static void num(FILE *f, double v, int decimals)
{
  if (isnan(v))
    fputs("&ndash;", f);
  else
    fprintf(f, "%.*f", decimals, v);
}

#define CW 760.0 /* chart width, height and margins (SVG user units) */
#define CH 280.0
#define ML 70.0
#define MR 190.0
#define MT 16.0
#define MB 48.0

/* A value axis from lo to hi (both on ticks), ticks every step, each
 * label with `decimals` digits. */
struct axis {
  double lo, hi, step;
  int decimals;
};

/* The 1-2-5 step (1, 2 or 5 times a power of ten) that cuts span into at
 * most about `target` intervals. span > 0. */
static double nice_step(double span, int target)
{
  double raw = span / target;
  double mag = pow(10, floor(log10(raw)));
  double m = raw / mag;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * mag;
}

/* An axis holding [lo, hi] with round ends and about `target` ticks. */
static void nice_axis(double lo, double hi, int target, struct axis *a)
{
  if (!(hi > lo)) { /* one value, or none: a span around it */
    double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  a->step = nice_step(hi - lo, target);
  a->lo = floor(lo / a->step + 1e-9) * a->step;
  a->hi = ceil(hi / a->step - 1e-9) * a->step;
  a->decimals = a->step >= 1 ? 0 : (int)ceil(-log10(a->step) - 1e-9);
}

/* y of value v on axis a in a plot from top to bottom. */
static double ypos(const struct axis *a, double v, double top, double bottom)
{
  return bottom - (bottom - top) * (v - a->lo) / (a->hi - a->lo);
}

static double xpos(size_t i, size_t n)
{
  double w = CW - ML - MR;
  return n <= 1 ? ML + w / 2 : ML + w * (double)i / (double)(n - 1);
}

/* Grid lines, tick labels (class ytick) and the rotated title (class
 * axis-label) of a on the left of a plot from top to bottom. */
static void y_axis(FILE *f, const struct axis *a, double top, double bottom,
                   const char *title)
{
  int n = (int)lround((a->hi - a->lo) / a->step);
  for (int k = 0; k <= n; k++) {
    double v = a->lo + a->step * k;
    double y = ypos(a, v, top, bottom);
    fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#ddd\"/><text class=\"ytick\" x=\"%.0f\" y=\"%.1f\" "
            "font-size=\"11\" text-anchor=\"end\">%.*f</text>\n", ML,
            CW - MR, y, y, ML - 6, y + 4, a->decimals, v);
  }
  double my = (top + bottom) / 2;
  fprintf(f, "<text class=\"axis-label\" x=\"16\" y=\"%.0f\" "
          "font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
          "%.0f)\">%s</text>\n", my, my, title);
}

/* Week labels (class xtick) at x(i) below the plot, every 1, 2, 5, 10...
 * weeks so that at most about 12 show; the title under them. */
static void x_axis(FILE *f, const struct demo_result *r, double bottom,
                   double (*x)(size_t i, size_t n))
{
  int every = r->n_weeks <= 12 ? 1 : (int)nice_step((double)r->n_weeks, 12);
  for (size_t i = 0; i < r->n_weeks; i++)
    if (r->weeks[i].week % every == 0 || every == 1)
      fprintf(f, "<text class=\"xtick\" x=\"%.1f\" y=\"%.0f\" "
              "font-size=\"11\" text-anchor=\"middle\">%d</text>\n",
              x(i, r->n_weeks), bottom + 16, r->weeks[i].week);
  fprintf(f, "<text class=\"axis-label\" x=\"%.0f\" y=\"%.0f\" "
          "font-size=\"12\" text-anchor=\"middle\">replay week</text>\n",
          ML + (CW - ML - MR) / 2, bottom + 36);
}

enum legend_kind { LEG_LINE, LEG_BOX, LEG_RING };

/* One legend row k (class legend-item): a swatch of `kind` in colour
 * (dash: stroke-dasharray of a line) and the text. */
static void legend_item(FILE *f, int k, enum legend_kind kind,
                        const char *colour, const char *dash,
                        const char *text)
{
  double x = CW - MR + 14, y = MT + 14 + 20.0 * k;
  fputs("<g class=\"legend-item\">", f);
  if (kind == LEG_LINE)
    fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" "
            "stroke=\"%s\" stroke-width=\"2.5\" stroke-dasharray=\"%s\"/>",
            x, x + 22, y, y, colour, dash);
  else if (kind == LEG_BOX)
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"22\" height=\"10\" "
            "fill=\"%s\"/>", x, y - 5, colour);
  else
    fprintf(f, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"6\" fill=\"none\" "
            "stroke=\"%s\" stroke-width=\"2\"/>", x + 11, y, colour);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%s</text></g>\n",
          x + 28, y + 4, text);
}

static void polyline(FILE *f, const struct demo_result *r, int never,
                     const struct axis *a, const char *colour,
                     const char *dash)
{
  fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" "
          "stroke-dasharray=\"%s\" points=\"", colour, dash);
  for (size_t i = 0; i < r->n_weeks; i++) {
    double v = demo_week_top100(&r->weeks[i], never);
    if (!isnan(v))
      fprintf(f, "%.1f,%.1f ", xpos(i, r->n_weeks),
              ypos(a, v, MT, CH - MB));
  }
  fputs("\"/>\n", f);
}

/* The accuracy axis: both models' values, 0..1 at the most. */
static void accuracy_axis(const struct demo_result *r, struct axis *a)
{
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < r->n_weeks; i++) {
    double v[2] = {demo_week_top100(&r->weeks[i], 0),
                   demo_week_top100(&r->weeks[i], 1)};
    for (int k = 0; k < 2; k++)
      if (!isnan(v[k])) {
        lo = fmin(lo, v[k]);
        hi = fmax(hi, v[k]);
      }
  }
  if (!isfinite(lo)) {
    lo = 0;
    hi = 1;
  }
  nice_axis(lo, hi, 5, a);
  a->lo = fmax(0, a->lo);
  a->hi = fmin(1, a->hi);
}

/* Shaded drift weeks, promotion lines and rings on the weeks a promotion
 * did worse; returns how many such weeks. */
static int accuracy_marks(FILE *f, const struct demo_result *r,
                          const struct axis *a)
{
  double step = (CW - ML - MR) / (r->n_weeks > 1 ? r->n_weeks - 1 : 1);
  int worse = 0;
  for (size_t i = 0; i < r->n_weeks; i++) {
    const struct demo_week *w = &r->weeks[i];
    double x = xpos(i, r->n_weeks);
    if (w->dataset_drift == 1)
      fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" "
              "fill=\"#fde2c8\"/>\n", x - step / 2, MT, step, CH - MT - MB);
    if (w->stateful_promoted) /* promoted after week i */
      fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" "
              "stroke=\"#2a9d3a\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" "
              "y=\"%.0f\" font-size=\"10\" fill=\"#2a9d3a\">v%d</text>\n",
              x + step / 2, x + step / 2, MT, CH - MB, x + step / 2 + 2,
              MT + 10, w->version_after);
    if (demo_fresh_worse(r, i)) {
      worse++;
      fprintf(f, "<circle class=\"worse\" cx=\"%.1f\" cy=\"%.1f\" r=\"7\" "
              "fill=\"none\" stroke=\"#d62828\" stroke-width=\"2\"><title>"
              "week %d: v%d below never retrained</title></circle>\n", x,
              ypos(a, w->top100, MT, CH - MB), w->week, w->version);
    }
  }
  return worse;
}

static void accuracy_chart(FILE *f, const struct demo_result *r)
{
  struct axis a;
  accuracy_axis(r, &a);
  fprintf(f, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
          "height=\"%.0f\" role=\"img\" aria-label=\"top-100 accuracy per "
          "week\">\n", CW, CH, CW, CH);
  int worse = accuracy_marks(f, r, &a);
  y_axis(f, &a, MT, CH - MB, "top-100 categorical accuracy");
  x_axis(f, r, CH - MB, xpos);
  polyline(f, r, 1, &a, "#b23a48", "6 4");
  polyline(f, r, 0, &a, "#1f5fa8", "none");
  fputs("<g class=\"legend\">\n", f);
  legend_item(f, 0, LEG_LINE, "#1f5fa8", "none", "serving model");
  legend_item(f, 1, LEG_LINE, "#b23a48", "6 4", "never retrained");
  legend_item(f, 2, LEG_BOX, "#fde2c8", NULL, "dataset drift week");
  legend_item(f, 3, LEG_LINE, "#2a9d3a", "4 3", "promotion (new version)");
  if (worse)
    legend_item(f, 4, LEG_RING, "#d62828", NULL,
                "promoted, below never retrained");
  fputs("</g></svg>\n", f);
}

static double bar_x(size_t i, size_t n)
{
  double step = (CW - ML - MR) / (double)(n ? n : 1);
  return ML + step * ((double)i + 0.5);
}

static void volume_chart(FILE *f, const struct demo_result *r)
{
  double mx = 0, top = MT + 12, h = 200, bottom = h - MB;
  for (size_t i = 0; i < r->n_weeks; i++)
    mx = fmax(mx, (double)r->weeks[i].new_ratings);
  struct axis a;
  nice_axis(0, mx > 0 ? mx : 1, 4, &a);
  a.decimals = 0;
  fprintf(f, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
          "height=\"%.0f\" role=\"img\" aria-label=\"new ratings per "
          "week\">\n", CW, h, CW, h);
  y_axis(f, &a, top, bottom, "new ratings");
  x_axis(f, r, bottom, bar_x);
  double step = (CW - ML - MR) / (double)(r->n_weeks ? r->n_weeks : 1);
  for (size_t i = 0; i < r->n_weeks; i++) {
    double v = (double)r->weeks[i].new_ratings;
    double y = ypos(&a, v, top, bottom);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"%s\"><title>week %d: %lld ratings</title></rect>\n",
            bar_x(i, r->n_weeks) - step / 2 + 2, y, step - 4, bottom - y,
            r->weeks[i].dataset_drift == 1 ? "#e8955a" : "#7aa6d6",
            r->weeks[i].week, (long long)r->weeks[i].new_ratings);
  }
  fputs("<g class=\"legend\">\n", f);
  legend_item(f, 0, LEG_BOX, "#7aa6d6", NULL, "week without drift");
  legend_item(f, 1, LEG_BOX, "#e8955a", NULL, "dataset drift week");
  fputs("</g></svg>\n", f);
}

double demo_week_top100(const struct demo_week *w, int never)
{
  if (!w || w->skipped[0])
    return NAN;
  return never ? w->top100_never : w->top100;
}

int demo_fresh_worse(const struct demo_result *r, size_t i)
{
  if (!r || i == 0 || i >= r->n_weeks)
    return 0;
  const struct demo_week *prev = &r->weeks[i - 1], *w = &r->weeks[i];
  double top = demo_week_top100(w, 0), never = demo_week_top100(w, 1);
  return prev->stateful_promoted && w->version == prev->version_after &&
         w->version != prev->version && !isnan(top) && !isnan(never) &&
         top < never;
}

/* ---- links into the UI --------------------------------------------------- */

/* s percent-encoded for a URL path segment or query value. */
static void url_fputs(FILE *f, const char *s)
{
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || strchr("-._~", c))
      fputc(c, f);
    else
      fprintf(f, "%%%02X", c);
  }
}

/* text as a link to `path` + id (both HTML-safe after url_fputs), or the
 * bare text when id is "". */
static void ui_link(FILE *f, const char *path, const char *id,
                    const char *text)
{
  if (!id || !id[0]) {
    htmlesc_fputs(f, text);
    return;
  }
  fprintf(f, "<a href=\"%s", path);
  url_fputs(f, id);
  fputs("\">", f);
  htmlesc_fputs(f, text);
  fputs("</a>", f);
}

/* "vN" linking to the model's page (its versions table). */
static void version_link(FILE *f, const struct demo_result *r, int v)
{
  char text[16];
  snprintf(text, sizeof(text), "v%d", v);
  ui_link(f, "/ui/models/", r->model, text);
}

static void timeline_row(FILE *f, const struct demo_result *r, size_t i)
{
  const struct demo_week *w = &r->weeks[i];
  int worse = demo_fresh_worse(r, i);
  char day[32], wk[16];
  window_format_time(w->start_ts, day, sizeof(day));
  day[10] = '\0';
  snprintf(wk, sizeof(wk), "%d", w->week);
  fprintf(f, "<tr%s><td>", worse ? " class=\"worse\""
                           : w->dataset_drift == 1 ? " class=\"drift\""
                                                   : "");
  ui_link(f, "/ui/monitoring?run=", w->monitor_run_id, wk);
  fprintf(f, "</td><td>%s</td><td>%lld</td><td>", day,
          (long long)w->new_ratings);
  num(f, demo_week_top100(w, 0), 4);
  if (worse)
    fputs(" <b class=\"bad\">&#9660; below never retrained</b>", f);
  fputs("</td><td>", f);
  num(f, demo_week_top100(w, 1), 4);
  if (w->skipped[0]) { /* neither model scored: say why */
    fputs("</td><td class=\"skipped\" title=\"", f);
    htmlesc_fputs(f, w->skipped);
    fputs("\">skipped (", f);
    htmlesc_fputs(f, w->skipped);
    fputs(")</td><td>", f);
  } else {
    fprintf(f, "</td><td>%s</td><td>",
            w->dataset_drift == 1  ? "DRIFT"
            : w->dataset_drift == 0 ? "no"
                                    : "&ndash;");
  }
  htmlesc_fputs(f, w->drifted);
  fputs("</td><td title=\"", f);
  htmlesc_fputs(f, w->reasons);
  fputs("\">", f);
  ui_link(f, "/ui/runs/", w->decision_run_id, w->action);
  if (w->stateful_promoted) {
    fputs(" &rarr; ", f);
    version_link(f, r, w->version_after);
  }
  fputs("</td><td>", f);
  version_link(f, r, w->version);
  fprintf(f, "</td><td>%lld</td></tr>\n", (long long)w->failed);
}

static void timeline_table(FILE *f, const struct demo_result *r)
{
  fputs("<p>The week links to its monitoring run, the action to the "
        "retraining decision run, a version to the model's versions.</p>"
        "<table><tr><th>week</th><th>starts</th><th>new ratings</th>"
        "<th>top-100 (serving)</th><th>top-100 (never retrained)</th>"
        "<th>dataset drift</th><th>drifted features</th><th>action</th>"
        "<th>serving</th><th>failed requests</th></tr>\n", f);
  for (size_t i = 0; i < r->n_weeks; i++)
    timeline_row(f, r, i);
  fputs("</table>\n", f);
}

/* Every week demo_fresh_worse names, said plainly (or why there is none). */
static void worse_section(FILE *f, const struct demo_result *r)
{
  fputs("<h2 id=\"promoted-worse\">Promotions that did worse than never "
        "retrained</h2>\n", f);
  int n = 0;
  for (size_t i = 0; i < r->n_weeks; i++) {
    if (!demo_fresh_worse(r, i))
      continue;
    const struct demo_week *w = &r->weeks[i], *p = &r->weeks[i - 1];
    char wk[32];
    snprintf(wk, sizeof(wk), "Week %d", w->week);
    fputs(n++ ? "<li>" : "<ul class=\"worse\"><li>", f);
    ui_link(f, "/ui/monitoring?run=", w->monitor_run_id, wk);
    fputs(": ", f);
    version_link(f, r, w->version);
    fprintf(f, ", promoted after week %d (", p->week);
    ui_link(f, "/ui/runs/", p->decision_run_id, "decision");
    fputs(", ", f);
    ui_link(f, "/ui/runs/", p->challenger_run_id, "training run");
    fputs("), scored top-100 <b>", f);
    num(f, w->top100, 4);
    fputs("</b> on the week's ratings, below the never-retrained model's <b>",
          f);
    num(f, w->top100_never, 4);
    fputs("</b> (", f);
    num(f, w->top100 - w->top100_never, 4);
    fputs(").</li>\n", f);
  }
  if (n)
    fputs("</ul>\n", f);
  else if (r->n_promotions)
    fputs("<p>None: in every week right after a promotion the new version's "
          "top-100 accuracy was at least the never-retrained model's.</p>\n",
          f);
  else
    fputs("<p>None: no version was promoted.</p>\n", f);
}

/* The ranking stage week by week (nothing without one). */
static void ranker_table(FILE *f, const struct demo_result *r)
{
  if (!r->ranker_initial_version)
    return;
  fputs("<h2>Ranking stage</h2><p>", f);
  ui_link(f, "/ui/models/", REGISTRY_DEFAULT_RANKER, REGISTRY_DEFAULT_RANKER);
  fprintf(f, " v%d in Production from the start (test RMSE ",
          r->ranker_initial_version);
  num(f, r->ranker_rmse, 4);
  fprintf(f, "); each week its RMSE on the week's ratings is monitored, the "
          "policy (max_rmse_rise) decides, and a challenger trained from "
          "scratch is promoted when its held-out RMSE is lower: %d "
          "retraining%s, %d promotion%s, Production v%d at the end.</p>\n"
          "<table><tr><th>week</th><th>ranker RMSE</th><th>action</th>"
          "<th>champion RMSE (held out)</th><th>challenger RMSE</th>"
          "<th>serving after</th></tr>\n", r->ranker_retrains,
          r->ranker_retrains == 1 ? "" : "s", r->ranker_promotions,
          r->ranker_promotions == 1 ? "" : "s", r->ranker_final_version);
  for (size_t i = 0; i < r->n_weeks; i++) {
    const struct demo_week *w = &r->weeks[i];
    if (!w->ranker_action[0])
      continue;
    fprintf(f, "<tr><td>%d</td><td>", w->week);
    num(f, w->ranker_rmse, 4);
    fputs("</td><td>", f);
    htmlesc_fputs(f, w->ranker_action);
    fputs("</td><td>", f);
    num(f, w->ranker_champion_rmse, 4);
    fputs("</td><td>", f);
    num(f, w->ranker_challenger_rmse, 4);
    fprintf(f, "</td><td>v%d</td></tr>\n", w->ranker_version_after);
  }
  fputs("</table>\n", f);
}

/* v (4 digits) linking to run id's page. */
static void num_link(FILE *f, const char *id, double v)
{
  char text[32];
  snprintf(text, sizeof(text), "%.4f", v);
  if (isnan(v))
    num(f, v, 4);
  else
    ui_link(f, "/ui/runs/", id, text);
}

static void compare_table(FILE *f, const struct demo_result *r)
{
  fputs("<h2>Stateful vs from-scratch retraining (same held-out slice)</h2>"
        "<table><tr><th>week</th><th>champion top-100</th>"
        "<th>stateful top-100</th><th>stateful train s</th>"
        "<th>stateful ratings</th><th>scratch top-100</th>"
        "<th>scratch train s</th><th>scratch ratings</th><th>action</th>"
        "<th>swap s</th></tr>\n", f);
  for (size_t i = 0; i < r->n_weeks; i++) {
    const struct demo_week *w = &r->weeks[i];
    if (isnan(w->stateful_top100))
      continue;
    fprintf(f, "<tr><td>%d</td><td>", w->week);
    num(f, w->champion_top100, 4);
    fputs("</td><td>", f);
    num_link(f, w->challenger_run_id, w->stateful_top100);
    fputs("</td><td>", f);
    num(f, w->stateful_seconds, 3);
    fprintf(f, "</td><td>%zu</td><td>", w->stateful_ratings);
    num_link(f, w->scratch_run_id, w->scratch_top100);
    fputs("</td><td>", f);
    num(f, w->scratch_seconds, 3);
    fprintf(f, "</td><td>%zu</td><td>", w->scratch_ratings);
    htmlesc_fputs(f, w->action);
    fputs("</td><td>", f);
    num(f, w->swap_seconds, 2);
    fputs("</td></tr>\n", f);
  }
  fputs("<tr><th>mean</th><td></td><td>", f);
  num(f, r->stateful_mean_top100, 4);
  fputs("</td><td>", f);
  num(f, r->stateful_mean_seconds, 3);
  fputs("</td><td></td><td>", f);
  num(f, r->scratch_mean_top100, 4);
  fputs("</td><td>", f);
  num(f, r->scratch_mean_seconds, 3);
  fputs("</td><td></td><td></td><td></td></tr></table>\n", f);
  fputs("<h2>Never retrained vs retrained (mean top-100 over weeks)</h2>"
        "<table><tr><th>weeks</th><th>never retrained</th>"
        "<th>serving (retrained)</th></tr>\n<tr><td>all</td><td>", f);
  num(f, r->never_mean_all, 4);
  fputs("</td><td>", f);
  num(f, r->serving_mean_all, 4);
  if (r->first_promotion_week)
    fprintf(f, "</td></tr>\n<tr><td>after the first promotion (week %d on)"
            "</td><td>", r->first_promotion_week + 1);
  else
    fputs("</td></tr>\n<tr><td>after the first promotion (none)</td><td>",
          f);
  num(f, r->never_mean_later, 4);
  fputs("</td><td>", f);
  num(f, r->serving_mean_later, 4);
  fputs("</td></tr></table>\n", f);
}

/* The head: the style, and the <base> the UI links resolve against. */
static void head(FILE *f, const struct demo_result *r)
{
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Harvest demo report</title>", f);
  if (r->ui_url[0]) {
    fputs("<base href=\"", f);
    htmlesc_fputs(f, r->ui_url);
    fputs("/\">", f);
  }
  fputs("<style>"
        "body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th{background:#f2f2f2}tr.drift td{background:#fff3e8}"
        "tr.worse td{background:#fde0e0}"
        "td:nth-child(7),td:nth-child(8){text-align:left}"
        ".ok{color:#2a9d3a}.bad{color:#b23a48}</style></head><body>\n", f);
}

/* The opening paragraphs: data, first model, links, requests, verdict. */
static void summary(FILE *f, const struct demo_result *r)
{
  int64_t failed = r->posts_failed + r->recs_failed + r->load_failed;
  int64_t total = r->posts_ok + r->recs_ok + r->load_ok + failed;
  fprintf(f, "<h1>Harvest demo: the continual-learning loop</h1>\n<p>"
          "Dataset <b>%s</b>: %lld users, %lld movies, %lld ratings; "
          "%lld in the training weeks, %lld replayed through "
          "<code>POST /users/add_user_rating/</code> in %zu weeks.",
          r->dataset, (long long)r->users, (long long)r->movies,
          (long long)r->ratings, (long long)r->train_ratings,
          (long long)r->replay_ratings, r->n_weeks);
  if (r->drift_week)
    fprintf(f, " Planted drift in replay week %d.", r->drift_week);
  fputs(" First model: tuning best <code>", f);
  htmlesc_fputs(f, r->tune_best);
  fputs("</code> (", f);
  ui_link(f, "/ui/runs/", r->tune_run_id, "tuning run");
  fputs("), ", f);
  version_link(f, r, r->initial_version);
  fputs(" of ", f);
  ui_link(f, "/ui/models/", r->model, r->model);
  fprintf(f, ". %d retraining%s, %d promotion%s; final Production version ",
          r->n_retrains, r->n_retrains == 1 ? "" : "s", r->n_promotions,
          r->n_promotions == 1 ? "" : "s");
  version_link(f, r, r->final_version);
  fputs(".</p>\n<p class=\"links\">Links open the Harvest UI at <code>", f);
  htmlesc_fputs(f, r->ui_url);
  fprintf(f, "</code>: serve this demo's home there (<code>harvest serve "
          "--home HOME</code>, port 8000 by default; <code>harvest demo "
          "--ui-url</code> for another address). The demo's own server (port "
          "%d) stopped when the demo ended. Also: <a href=\"/ui/\">"
          "experiments</a>, <a href=\"/ui/monitoring\">monitoring</a>.</p>\n",
          r->port);
  fprintf(f, "<p>HTTP requests: %lld, failed: <b class=\"%s\">%lld</b>; "
          "version regressions: %lld.", (long long)total,
          failed ? "bad" : "ok", (long long)failed,
          (long long)r->version_regressions);
  if (r->first_failure[0]) {
    fputs(" First failure: ", f);
    htmlesc_fputs(f, r->first_failure);
  }
  fprintf(f, " Demo time %.1f s.</p>\n", r->seconds);
  int worse = 0;
  for (size_t i = 0; i < r->n_weeks; i++)
    worse += demo_fresh_worse(r, i);
  if (worse)
    fprintf(f, "<p class=\"bad\"><b>%d week%s right after a promotion did "
            "worse than never retrained</b>: named under &ldquo;Promotions that "
            "did worse than never retrained&rdquo;.</p>\n", worse, worse == 1 ? "" : "s");
}

static void page(FILE *f, const struct demo_result *r)
{
  head(f, r);
  summary(f, r);
  fputs("<h2>Top-100 accuracy per week</h2>\n", f);
  accuracy_chart(f, r);
  fputs("<h2>New ratings per week</h2>\n", f);
  volume_chart(f, r);
  fputs("<h2>Timeline</h2>\n", f);
  timeline_table(f, r);
  worse_section(f, r);
  compare_table(f, r);
  ranker_table(f, r);
  fputs("</body></html>\n", f);
}

int demo_report_html(const struct demo_result *res, char **out, size_t *len,
                     struct hv_err *err)
{
  if (!res || !out || !len)
    return hv_err_set(err, HV_EINVAL, "report: missing arguments");
  *out = NULL;
  *len = 0;
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f)
    return hv_err_set(err, HV_ENOMEM, "report: out of memory");
  page(f, res);
  if (fclose(f) || !buf) {
    free(buf);
    return hv_err_set(err, HV_ENOMEM, "report: out of memory");
  }
  *out = buf;
  *len = n;
  return 0;
}

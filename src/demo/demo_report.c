/*
 * demo_report.c - the demo's HTML report: the timeline and the comparisons
 * as tables, and two inline SVG charts (top-100 accuracy of the serving and
 * the never-retrained model per week, with drift weeks shaded and
 * promotions marked; new ratings per week). One self-contained page: no
 * script, no external stylesheet, font or CDN, so it reads offline.
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
#define CH 260.0
#define ML 56.0
#define MR 150.0
#define MT 16.0
#define MB 40.0

static double xpos(size_t i, size_t n)
{
  double w = CW - ML - MR;
  return n <= 1 ? ML + w / 2 : ML + w * (double)i / (double)(n - 1);
}

static void polyline(FILE *f, const struct demo_result *r, int never,
                     double lo, double hi, const char *colour,
                     const char *dash)
{
  fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" "
          "stroke-dasharray=\"%s\" points=\"", colour, dash);
  for (size_t i = 0; i < r->n_weeks; i++) {
    double v = never ? r->weeks[i].top100_never : r->weeks[i].top100;
    if (isnan(v))
      continue;
    double y = MT + (CH - MT - MB) * (1 - (v - lo) / (hi - lo));
    fprintf(f, "%.1f,%.1f ", xpos(i, r->n_weeks), y);
  }
  fputs("\"/>\n", f);
}

static void accuracy_chart(FILE *f, const struct demo_result *r)
{
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < r->n_weeks; i++) {
    double a = r->weeks[i].top100, b = r->weeks[i].top100_never;
    if (!isnan(a)) {
      lo = fmin(lo, a);
      hi = fmax(hi, a);
    }
    if (!isnan(b)) {
      lo = fmin(lo, b);
      hi = fmax(hi, b);
    }
  }
  if (!isfinite(lo)) {
    lo = 0;
    hi = 1;
  }
  double pad = fmax((hi - lo) * 0.15, 0.01);
  lo = fmax(0, lo - pad);
  hi = fmin(1, hi + pad);
  fprintf(f, "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
          "role=\"img\" aria-label=\"top-100 accuracy per week\">\n",
          CW, CH, CW, CH);
  double step = (CW - ML - MR) / (r->n_weeks > 1 ? r->n_weeks - 1 : 1);
  for (size_t i = 0; i < r->n_weeks; i++) /* drift weeks shaded */
    if (r->weeks[i].dataset_drift == 1)
      fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" "
              "fill=\"#fde2c8\"/>\n", xpos(i, r->n_weeks) - step / 2, MT,
              step, CH - MT - MB);
  for (int k = 0; k <= 4; k++) { /* grid and y labels */
    double v = lo + (hi - lo) * k / 4.0;
    double y = MT + (CH - MT - MB) * (1 - k / 4.0);
    fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#ddd\"/><text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" "
            "text-anchor=\"end\">%.3f</text>\n", ML, CW - MR, y, y, ML - 6,
            y + 4, v);
  }
  for (size_t i = 0; i < r->n_weeks; i++) {
    fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" "
            "text-anchor=\"middle\">%d</text>\n", xpos(i, r->n_weeks),
            CH - MB + 16, r->weeks[i].week);
    if (r->weeks[i].stateful_promoted) /* promoted after week i */
      fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" "
              "stroke=\"#2a9d3a\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" "
              "y=\"%.0f\" font-size=\"10\" fill=\"#2a9d3a\">v%d</text>\n",
              xpos(i, r->n_weeks) + step / 2, xpos(i, r->n_weeks) + step / 2,
              MT, CH - MB, xpos(i, r->n_weeks) + step / 2 + 2, MT + 10,
              r->weeks[i].version_after);
  }
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" "
          "text-anchor=\"middle\">replay week</text>\n",
          ML + (CW - ML - MR) / 2, CH - 6);
  polyline(f, r, 1, lo, hi, "#b23a48", "6 4");
  polyline(f, r, 0, lo, hi, "#1f5fa8", "none");
  double lx = CW - MR + 14;
  fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"30\" y2=\"30\" "
          "stroke=\"#1f5fa8\" stroke-width=\"2.5\"/><text x=\"%.0f\" y=\"34\" "
          "font-size=\"11\">serving model</text>\n", lx, lx + 22, lx + 28);
  fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"50\" y2=\"50\" "
          "stroke=\"#b23a48\" stroke-width=\"2.5\" stroke-dasharray=\"6 4\"/>"
          "<text x=\"%.0f\" y=\"54\" font-size=\"11\">never retrained</text>\n",
          lx, lx + 22, lx + 28);
  fprintf(f, "<rect x=\"%.0f\" y=\"62\" width=\"22\" height=\"10\" "
          "fill=\"#fde2c8\"/><text x=\"%.0f\" y=\"71\" font-size=\"11\">"
          "dataset drift</text>\n", lx, lx + 28);
  fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"86\" y2=\"86\" "
          "stroke=\"#2a9d3a\" stroke-dasharray=\"4 3\"/><text x=\"%.0f\" "
          "y=\"90\" font-size=\"11\">promotion</text>\n</svg>\n", lx, lx + 22,
          lx + 28);
}

static void volume_chart(FILE *f, const struct demo_result *r)
{
  int64_t mx = 1;
  for (size_t i = 0; i < r->n_weeks; i++)
    if (r->weeks[i].new_ratings > mx)
      mx = r->weeks[i].new_ratings;
  double h = 150, step = (CW - ML - MR) / (r->n_weeks > 1 ? r->n_weeks : 1);
  fprintf(f, "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
          "role=\"img\" aria-label=\"new ratings per week\">\n", CW, h + 30,
          CW, h + 30);
  for (size_t i = 0; i < r->n_weeks; i++) {
    double bh = (h - 20) * (double)r->weeks[i].new_ratings / (double)mx;
    double x = ML + step * (double)i;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"%s\"/><text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" "
            "text-anchor=\"middle\">%d</text><text x=\"%.1f\" y=\"%.1f\" "
            "font-size=\"9\" text-anchor=\"middle\">%lld</text>\n",
            x + 2, h - bh, step - 4, bh,
            r->weeks[i].dataset_drift == 1 ? "#e8955a" : "#7aa6d6",
            x + step / 2, h + 16, r->weeks[i].week, x + step / 2, h - bh - 3,
            (long long)r->weeks[i].new_ratings);
  }
  fputs("</svg>\n", f);
}

static void timeline_table(FILE *f, const struct demo_result *r)
{
  fputs("<table><tr><th>week</th><th>starts</th><th>new ratings</th>"
        "<th>top-100 (serving)</th><th>top-100 (never retrained)</th>"
        "<th>dataset drift</th><th>drifted features</th><th>action</th>"
        "<th>serving</th><th>failed requests</th></tr>\n", f);
  for (size_t i = 0; i < r->n_weeks; i++) {
    const struct demo_week *w = &r->weeks[i];
    char day[32];
    window_format_time(w->start_ts, day, sizeof(day));
    day[10] = '\0';
    fprintf(f, "<tr%s><td>%d</td><td>%s</td><td>%lld</td><td>",
            w->dataset_drift == 1 ? " class=\"drift\"" : "", w->week, day,
            (long long)w->new_ratings);
    num(f, w->top100, 4);
    fputs("</td><td>", f);
    num(f, w->top100_never, 4);
    fprintf(f, "</td><td>%s</td><td>",
            w->dataset_drift == 1 ? "DRIFT" : w->dataset_drift == 0 ? "no"
                                                                     : "&ndash;");
    htmlesc_fputs(f, w->drifted);
    fputs("</td><td title=\"", f);
    htmlesc_fputs(f, w->reasons);
    fputs("\">", f);
    htmlesc_fputs(f, w->action);
    if (w->stateful_promoted)
      fprintf(f, " &rarr; v%d", w->version_after);
    fprintf(f, "</td><td>v%d</td><td>%lld</td></tr>\n", w->version,
            (long long)w->failed);
  }
  fputs("</table>\n", f);
}

/* The ranking stage week by week (nothing without one). */
static void ranker_table(FILE *f, const struct demo_result *r)
{
  if (!r->ranker_initial_version)
    return;
  fprintf(f, "<h2>Ranking stage</h2><p>harvest_ranker v%d in Production "
          "from the start (test RMSE ", r->ranker_initial_version);
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
    num(f, w->stateful_top100, 4);
    fputs("</td><td>", f);
    num(f, w->stateful_seconds, 3);
    fprintf(f, "</td><td>%zu</td><td>", w->stateful_ratings);
    num(f, w->scratch_top100, 4);
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
  fprintf(f, "</td></tr>\n<tr><td>after the first promotion (week %d on)"
          "</td><td>", r->first_promotion_week + 1);
  num(f, r->never_mean_later, 4);
  fputs("</td><td>", f);
  num(f, r->serving_mean_later, 4);
  fputs("</td></tr></table>\n", f);
}

static void page(FILE *f, const struct demo_result *r)
{
  int64_t failed = r->posts_failed + r->recs_failed + r->load_failed;
  int64_t total = r->posts_ok + r->recs_ok + r->load_ok + failed;
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Harvest demo report</title><style>"
        "body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th{background:#f2f2f2}tr.drift td{background:#fff3e8}"
        "td:nth-child(7),td:nth-child(8){text-align:left}"
        ".ok{color:#2a9d3a}.bad{color:#b23a48}</style></head><body>\n", f);
  fputs("<h1>Harvest demo: the continual-learning loop</h1>\n<p>", f);
  fprintf(f, "Dataset <b>%s</b>: %lld users, %lld movies, %lld ratings; "
          "%lld in the training weeks, %lld replayed through "
          "<code>POST /users/add_user_rating/</code> in %zu weeks.",
          r->dataset, (long long)r->users, (long long)r->movies,
          (long long)r->ratings, (long long)r->train_ratings,
          (long long)r->replay_ratings, r->n_weeks);
  if (r->drift_week)
    fprintf(f, " Planted drift in replay week %d.", r->drift_week);
  fputs(" First model: tuning best <code>", f);
  htmlesc_fputs(f, r->tune_best);
  fprintf(f, "</code> (run %s), v%d. %d retraining%s, %d promotion%s; final "
          "Production version v%d.</p>\n", r->tune_run_id,
          r->initial_version, r->n_retrains, r->n_retrains == 1 ? "" : "s",
          r->n_promotions, r->n_promotions == 1 ? "" : "s",
          r->final_version);
  fprintf(f, "<p>HTTP requests: %lld, failed: <b class=\"%s\">%lld</b>; "
          "version regressions: %lld.", (long long)total,
          failed ? "bad" : "ok", (long long)failed,
          (long long)r->version_regressions);
  if (r->first_failure[0]) {
    fputs(" First failure: ", f);
    htmlesc_fputs(f, r->first_failure);
  }
  fprintf(f, " Demo time %.1f s.</p>\n", r->seconds);
  fputs("<h2>Top-100 accuracy per week</h2>\n", f);
  accuracy_chart(f, r);
  fputs("<h2>New ratings per week</h2>\n", f);
  volume_chart(f, r);
  fputs("<h2>Timeline</h2>\n", f);
  timeline_table(f, r);
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

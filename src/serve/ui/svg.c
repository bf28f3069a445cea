/*
 * svg.c - line, bar and heat-grid charts as inline SVG: see svg.h.
 */
#include "serve/ui/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "serve/ui/html.h"

#define MAX_TICKS 12
#define MAX_POINTS_MARKED 400 /* circles with tooltips per chart */

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                      "#9467bd", "#8c564b", "#e377c2",
                                      "#17becf", "#7f7f7f"};

const char *svg_palette(size_t i)
{
  return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

size_t svg_ticks(double lo, double hi, size_t max, double *ticks,
                 double *step)
{
  if (!isfinite(lo) || !isfinite(hi) || lo > hi || max < 2)
    return 0;
  if (max > MAX_TICKS)
    max = MAX_TICKS;
  double range = hi - lo;
  if (range <= 0)
    range = fabs(hi) > 0 ? fabs(hi) : 1;
  double rough = range / (double)(max - 1);
  double mag = pow(10, floor(log10(rough)));
  double norm = rough / mag;
  double st = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  size_t n = 0;
  for (double t = ceil(lo / st - 1e-9) * st; t <= hi + st * 1e-9 && n < max;
       t += st)
    ticks[n++] = fabs(t) < st * 1e-9 ? 0 : t; /* no "-0" */
  if (step)
    *step = st;
  return n;
}

void svg_heat_colour(double score, char out[8])
{
  /* green -> yellow -> orange -> red at score 0, 0.5, 1, 2 */
  static const double stop[][4] = {{0, 0xd9, 0xf0, 0xd3},
                                   {0.5, 0xfe, 0xe0, 0x8b},
                                   {1, 0xfd, 0xae, 0x61},
                                   {2, 0xd7, 0x30, 0x27}};
  if (isnan(score)) {
    snprintf(out, 8, "#e6e6e6");
    return;
  }
  double s = score < 0 ? 0 : score > 2 ? 2 : score;
  size_t i = 0;
  while (i + 2 < sizeof(stop) / sizeof(stop[0]) && s > stop[i + 1][0])
    i++;
  double t = (s - stop[i][0]) / (stop[i + 1][0] - stop[i][0]);
  int rgb[3];
  for (int k = 0; k < 3; k++)
    rgb[k] = (int)lround(stop[i][k + 1] +
                         t * (stop[i + 1][k + 1] - stop[i][k + 1]));
  snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* Tick label: whole numbers from 1e4 on, else 4 significant digits; no
 * "-0". */
static const char *tick_text(double v, double step, char *out, size_t cap)
{
  if (fabs(v) < step * 1e-6)
    v = 0;
  if (fabs(v) >= 1e4 && fabs(v) < 1e15)
    snprintf(out, cap, "%.0f", v);
  else
    snprintf(out, cap, "%.4g", v);
  return out;
}

/* The plot frame of a chart: pixel box and data domain. */
struct frame {
  double x0, y0, x1, y1;  /* plot area in pixels (y0 top) */
  double dx0, dx1, dy0, dy1; /* data domain */
};

static double px(const struct frame *f, double x)
{
  return f->x0 + (x - f->dx0) / (f->dx1 - f->dx0) * (f->x1 - f->x0);
}

static double py(const struct frame *f, double y)
{
  return f->y1 - (y - f->dy0) / (f->dy1 - f->dy0) * (f->y1 - f->y0);
}

static void svg_open(struct html *h, const char *cls, int w, int hgt,
                     const char *title)
{
  html_f(h,
         "<svg class=\"chart %s\" xmlns=\"http://www.w3.org/2000/svg\" "
         "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
         "aria-label=\"%s\" font-family=\"sans-serif\" font-size=\"11\">",
         cls, w, hgt, w, hgt, title ? title : cls);
  if (title)
    html_f(h,
           "<text class=\"chart-title\" x=\"8\" y=\"16\" font-size=\"13\" "
           "font-weight=\"bold\" fill=\"#222\">%s</text>",
           title);
}

/* Finite min / max of the y values (and of extra when finite). */
static int y_range(const struct svg_series *s, size_t n, double extra,
                   double *lo, double *hi)
{
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s[i].n; k++)
      if (isfinite(s[i].y[k]) && isfinite(s[i].x[k])) {
        *lo = fmin(*lo, s[i].y[k]);
        *hi = fmax(*hi, s[i].y[k]);
      }
  if (!isfinite(*lo))
    return 0;
  if (isfinite(extra)) {
    *lo = fmin(*lo, extra);
    *hi = fmax(*hi, extra);
  }
  return 1;
}

static void x_range(const struct svg_series *s, size_t n, double *lo,
                    double *hi)
{
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s[i].n; k++)
      if (isfinite(s[i].x[k]) && isfinite(s[i].y[k])) {
        *lo = fmin(*lo, s[i].x[k]);
        *hi = fmax(*hi, s[i].x[k]);
      }
}

/* Widen a degenerate domain and snap it to ticks. */
static void domain(double *lo, double *hi, int snap)
{
  if (*hi - *lo < 1e-12 * fmax(1, fabs(*hi))) {
    double pad = fabs(*hi) > 0 ? fabs(*hi) * 0.1 : 0.5;
    *lo -= pad;
    *hi += pad;
  }
  double t[MAX_TICKS], st;
  if (snap && svg_ticks(*lo, *hi, 6, t, &st)) {
    *lo = floor(*lo / st + 1e-9) * st;
    *hi = ceil(*hi / st - 1e-9) * st;
  }
}

static void y_axis(struct html *h, const struct frame *f, const char *label)
{
  double t[MAX_TICKS], st = 1;
  size_t n = svg_ticks(f->dy0, f->dy1, 6, t, &st);
  for (size_t i = 0; i < n; i++) {
    char txt[32];
    double y = py(f, t[i]);
    html_f(h,
           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
           "stroke=\"#e5e5e5\"/><text x=\"%.1f\" y=\"%.1f\" "
           "text-anchor=\"end\" fill=\"#555\">%s</text>",
           f->x0, y, f->x1, y, f->x0 - 6, y + 4,
           tick_text(t[i], st, txt, sizeof(txt)));
  }
  if (label)
    html_f(h,
           "<text x=\"12\" y=\"%.1f\" fill=\"#555\" text-anchor=\"middle\" "
           "transform=\"rotate(-90 12 %.1f)\">%s</text>",
           (f->y0 + f->y1) / 2, (f->y0 + f->y1) / 2, label);
  html_f(h,
         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
         "stroke=\"#888\"/>",
         f->x0, f->y1, f->x1, f->y1);
}

static void x_axis(struct html *h, const struct frame *f,
                   const struct svg_line_opts *o)
{
  double t[MAX_TICKS], st = 1;
  size_t n = svg_ticks(f->dx0, f->dx1, 8, t, &st);
  int names = o->x_names && o->n_x_names;
  for (size_t i = 0; i < n; i++) {
    if ((names || f->dx1 - f->dx0 >= 1) && t[i] != floor(t[i]))
      continue; /* steps and window indexes are whole numbers */
    char txt[32];
    const char *label = tick_text(t[i], st, txt, sizeof(txt));
    if (names) {
      if (t[i] < 0 || t[i] >= (double)o->n_x_names)
        continue;
      label = o->x_names[(size_t)t[i]];
    }
    html_f(h,
           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
           "fill=\"#555\">%s</text>",
           px(f, t[i]), f->y1 + 15, label ? label : "");
  }
  if (o->x_label)
    html_f(h,
           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
           "fill=\"#555\">%s</text>",
           (f->x0 + f->x1) / 2, f->y1 + 30, o->x_label);
}

static void threshold_line(struct html *h, const struct frame *f,
                           const struct svg_line_opts *o)
{
  if (!isfinite(o->threshold))
    return;
  double y = py(f, o->threshold);
  char v[32];
  html_f(h,
         "<line class=\"threshold\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
         "y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"1.5\" "
         "stroke-dasharray=\"6 4\"><title>%s %s</title></line>"
         "<text class=\"threshold-label\" x=\"%.1f\" y=\"%.1f\" "
         "text-anchor=\"end\" fill=\"#d62728\">%s %s</text>",
         f->x0, y, f->x1, y,
         o->threshold_label ? o->threshold_label : "threshold",
         tick_text(o->threshold, 1e-12, v, sizeof(v)), f->x1 - 4, y - 4,
         o->threshold_label ? o->threshold_label : "threshold", v);
}

/* One series: polylines between NaN gaps, then point markers. */
static void series(struct html *h, const struct frame *f,
                   const struct svg_series *s, const char *colour,
                   int mark)
{
  int open = 0;
  for (size_t k = 0; k < s->n; k++) {
    int ok = isfinite(s->x[k]) && isfinite(s->y[k]);
    if (ok && !open) {
      html_f(h,
             "<polyline class=\"series\" data-series=\"%s\" fill=\"none\" "
             "stroke=\"%s\" stroke-width=\"2\" points=\"",
             s->name ? s->name : "", colour);
      open = 1;
    }
    if (ok)
      html_f(h, "%.1f,%.1f ", px(f, s->x[k]), py(f, s->y[k]));
    if (open && (!ok || k + 1 == s->n)) {
      html_raw(h, "\"/>");
      open = 0;
    }
  }
  for (size_t k = 0; mark && k < s->n; k++) {
    if (!isfinite(s->x[k]) || !isfinite(s->y[k]))
      continue;
    char xv[32], yv[32];
    html_f(h,
           "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
           "fill=\"%s\"><title>%s: %s = %s</title></circle>",
           px(f, s->x[k]), py(f, s->y[k]), colour, s->name ? s->name : "",
           tick_text(s->x[k], 1e-12, xv, sizeof(xv)),
           html_num(s->y[k], yv, sizeof(yv)));
  }
}

/* Legend rows under the plot: items 180 px wide. */
static void legend(struct html *h, const struct svg_series *s, size_t n,
                   double x0, double y, int width)
{
  size_t per_row = (size_t)((width - x0) / 180);
  if (per_row == 0)
    per_row = 1;
  for (size_t i = 0; i < n; i++) {
    double x = x0 + (double)(i % per_row) * 180;
    double yy = y + (double)(i / per_row) * 16;
    html_f(h,
           "<g class=\"legend-item\"><rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
           "height=\"4\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
           "fill=\"#333\">%.28s</text></g>",
           x, yy - 4, svg_palette(i), x + 16, yy, s[i].name ? s[i].name : "");
  }
}

void svg_line_chart(struct html *h, const struct svg_line_opts *o,
                    const struct svg_series *s, size_t n)
{
  int w = o->width > 0 ? o->width : 640;
  int base = o->height > 0 ? o->height : 260;
  size_t per_row = (size_t)((w - 60) / 180);
  size_t rows = n > 1 ? (n + per_row - 1) / per_row : 0;
  int hgt = base + (int)rows * 16;
  /* named x ticks are centred on the last point: leave room for half */
  double right = o->x_names && o->n_x_names ? 48 : 16;
  struct frame f = {60, o->title ? 28 : 10, w - right, base - 40, 0, 1, 0, 1};
  svg_open(h, "line-chart", w, hgt, o->title);
  double lo, hi;
  if (!y_range(s, n, o->threshold, &lo, &hi)) {
    html_f(h,
           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
           "fill=\"none\" stroke=\"#ccc\"/><text class=\"no-data\" "
           "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#777\">"
           "no data</text></svg>",
           f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0, (f.x0 + f.x1) / 2,
           (f.y0 + f.y1) / 2);
    return;
  }
  if (o->y_from_zero && lo > 0)
    lo = 0;
  domain(&lo, &hi, 1);
  f.dy0 = lo;
  f.dy1 = hi;
  x_range(s, n, &f.dx0, &f.dx1);
  if (f.dx1 - f.dx0 < 1e-12) {
    f.dx0 -= 0.5;
    f.dx1 += 0.5;
  }
  y_axis(h, &f, o->y_label);
  x_axis(h, &f, o);
  threshold_line(h, &f, o);
  size_t points = 0;
  for (size_t i = 0; i < n; i++)
    points += s[i].n;
  for (size_t i = 0; i < n; i++)
    series(h, &f, &s[i], svg_palette(i), points <= MAX_POINTS_MARKED);
  if (n > 1)
    legend(h, s, n, f.x0, base + 4, w);
  html_raw(h, "</svg>");
}

void svg_bar_chart(struct html *h, const struct svg_bar_opts *o,
                   const char *const *labels, const double *values,
                   size_t n)
{
  int w = o->width > 0 ? o->width : 640;
  int hgt = o->height > 0 ? o->height : 240;
  struct frame f = {60, o->title ? 28 : 10, w - 16, hgt - 40, 0, 1, 0, 1};
  double hi = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(values[i]))
      hi = fmax(hi, values[i]);
  double lo = 0;
  if (hi <= 0)
    hi = 1;
  domain(&lo, &hi, 1);
  f.dy0 = 0;
  f.dy1 = hi;
  svg_open(h, "bar-chart", w, hgt, o->title);
  y_axis(h, &f, o->y_label);
  double slot = n ? (f.x1 - f.x0) / (double)n : 0;
  for (size_t i = 0; i < n; i++) {
    double x = f.x0 + slot * (double)i;
    const char *lab = labels && labels[i] ? labels[i] : "";
    html_f(h,
           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
           "fill=\"#555\">%s</text>",
           x + slot / 2, f.y1 + 15, lab);
    if (!isfinite(values[i]) || values[i] < 0)
      continue;
    char v[32];
    double top = py(&f, values[i]);
    html_f(h,
           "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
           "height=\"%.1f\" fill=\"#4c78a8\"><title>%s: %s</title></rect>",
           x + slot * 0.15, top, slot * 0.7, f.y1 - top, lab,
           html_num(values[i], v, sizeof(v)));
  }
  if (o->x_label)
    html_f(h,
           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
           "fill=\"#555\">%s</text>",
           (f.x0 + f.x1) / 2, f.y1 + 30, o->x_label);
  html_raw(h, "</svg>");
}

static void heat_cell(struct html *h, double x, double y, int cw, int ch,
                      const struct svg_heat_cell *c)
{
  char fill[8];
  svg_heat_colour(c->score, fill);
  int dark = isfinite(c->score) && c->score >= 1.5;
  html_f(h,
         "<rect class=\"cell%s\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" "
         "height=\"%d\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\">"
         "<title>%s</title></rect>",
         c->mark ? " drift" : "", x + 1, y + 1, cw - 2, ch - 2, fill,
         c->mark ? "#000" : "#fff", c->mark ? "2" : "1",
         c->tip ? c->tip : c->text ? c->text : "");
  if (c->text)
    html_f(h,
           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
           "fill=\"%s\">%s</text>",
           x + cw / 2.0, y + ch / 2.0 + 4, dark ? "#fff" : "#222", c->text);
}

void svg_heat_grid(struct html *h, const struct svg_heat_opts *o,
                   const char *const *rows, size_t nr,
                   const char *const *cols, size_t nc,
                   const struct svg_heat_cell *cells)
{
  int cw = o->cell_w > 0 ? o->cell_w : 92;
  int ch = o->cell_h > 0 ? o->cell_h : 26;
  int lw = o->label_w > 0 ? o->label_w : 230;
  double top = (o->title ? 28 : 6) + 18;
  int w = lw + cw * (int)nc + 8;
  int hgt = (int)top + ch * (int)nr + 8;
  svg_open(h, "heat-grid", w, hgt, o->title);
  for (size_t c = 0; c < nc; c++)
    html_f(h,
           "<text class=\"col\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
           "fill=\"#333\">%.14s</text>",
           lw + cw * (c + 0.5), top - 6, cols[c] ? cols[c] : "");
  for (size_t r = 0; r < nr; r++) {
    double y = top + (double)(ch * (int)r);
    html_f(h,
           "<text class=\"row\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
           "fill=\"#333\">%.40s</text>",
           lw - 8, y + ch / 2.0 + 4, rows[r] ? rows[r] : "");
    for (size_t c = 0; c < nc; c++)
      heat_cell(h, lw + (double)(cw * (int)c), y, cw, ch, &cells[r * nc + c]);
  }
  html_raw(h, "</svg>");
}

/* ---- scatter and parallel coordinates ----------------------------------- */

/* The data range of v (finite values) widened and snapped to ticks; 0 when
 * there is none. */
static int value_domain(const double *v, size_t n, double *lo, double *hi)
{
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) {
      *lo = fmin(*lo, v[i]);
      *hi = fmax(*hi, v[i]);
    }
  if (!isfinite(*lo))
    return 0;
  domain(lo, hi, 1);
  return 1;
}

void svg_scatter(struct html *h, const struct svg_scatter_opts *o,
                 const double *x, const double *y, const char *const *tips,
                 size_t n)
{
  int w = o->width > 0 ? o->width : 320, hgt = o->height > 0 ? o->height : 240;
  struct frame f = {60, o->title ? 28 : 10, w - 24, hgt - 40, 0, 1, 0, 1};
  svg_open(h, "scatter", w, hgt, o->title);
  double lo, hi;
  if (!value_domain(y, n, &lo, &hi)) {
    html_f(h, "<text class=\"no-data\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
              "fill=\"#777\">no data</text></svg>", w / 2, hgt / 2);
    return;
  }
  f.dy0 = lo;
  f.dy1 = hi;
  if (o->n_x_names) { /* categories at 0 .. n - 1, half a slot of margin */
    f.dx0 = -0.5;
    f.dx1 = (double)o->n_x_names - 0.5;
  } else if (!value_domain(x, n, &f.dx0, &f.dx1)) {
    f.dx0 = 0;
    f.dx1 = 1;
  }
  struct svg_line_opts ax = {.x_label = o->x_label, .x_names = o->x_names,
                             .n_x_names = o->n_x_names};
  y_axis(h, &f, o->y_label);
  x_axis(h, &f, &ax);
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i]))
      continue;
    char yv[32];
    int best = (long)i == o->best;
    html_f(h,
           "<circle class=\"point%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" "
           "fill=\"%s\" fill-opacity=\"0.8\"><title>%s: %s</title></circle>",
           best ? " best" : "", px(&f, x[i]), py(&f, y[i]), best ? 6 : 4,
           best ? "#d62728" : "#1f77b4", tips && tips[i] ? tips[i] : "",
           html_num(y[i], yv, sizeof(yv)));
  }
  html_raw(h, "</svg>");
}

/* The colour of t in [0, 1] from light blue (0) to dark blue (1). */
static void ramp(double t, char out[8])
{
  static const int a[3] = {0xc6, 0xdb, 0xef}, b[3] = {0x08, 0x30, 0x6b};
  t = isfinite(t) ? fmin(1, fmax(0, t)) : 0;
  snprintf(out, 8, "#%02x%02x%02x", (int)lround(a[0] + t * (b[0] - a[0])),
           (int)lround(a[1] + t * (b[1] - a[1])),
           (int)lround(a[2] + t * (b[2] - a[2])));
}

/* One vertical axis of a parallel-coordinates chart at pixel x. */
static void parallel_axis(struct html *h, const struct svg_axis *a, double x,
                          double top, double bottom, double lo, double hi)
{
  html_f(h,
         "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
         "y2=\"%.1f\" stroke=\"#888\"/><text class=\"axis-label\" x=\"%.1f\" "
         "y=\"%.1f\" text-anchor=\"start\" fill=\"#222\" "
         "font-weight=\"bold\">%.32s</text>",
         x, top, x, bottom, x - 6, top - 10, a->name ? a->name : "");
  double t[MAX_TICKS], st = 1;
  size_t n = a->n_names ? a->n_names : svg_ticks(lo, hi, 6, t, &st);
  for (size_t i = 0; i < n; i++) {
    double v = a->n_names ? (double)i : t[i];
    double y = bottom - (v - lo) / (hi - lo) * (bottom - top);
    char txt[32];
    html_f(h,
           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
           "stroke=\"#888\"/><text x=\"%.1f\" y=\"%.1f\" fill=\"#555\">"
           "%.14s</text>",
           x - 3, y, x + 3, y, x + 5, y + 4,
           a->n_names ? a->names[i] : tick_text(v, st, txt, sizeof(txt)));
  }
}

void svg_parallel(struct html *h, const struct svg_parallel_opts *o,
                  const struct svg_axis *axes, size_t n_axes,
                  const double *values, size_t n_lines,
                  const char *const *tips)
{
  int w = o->width > 0 ? o->width : 150 * (int)(n_axes ? n_axes : 1) + 60;
  int hgt = o->height > 0 ? o->height : 320;
  double top = (o->title ? 28 : 6) + 24, bottom = hgt - 30;
  double lo[SVG_MAX_AXES], hi[SVG_MAX_AXES];
  if (n_axes > SVG_MAX_AXES)
    n_axes = SVG_MAX_AXES;
  svg_open(h, "parallel", w, hgt, o->title);
  /* the first axis at x 40, the last 150 px from the right (its label
   * and tick texts) */
  double gap = n_axes > 1 ? (w - 190.0) / (double)(n_axes - 1) : 0;
  for (size_t k = 0; k < n_axes; k++) {
    double col[1024];
    size_t m = n_lines < 1024 ? n_lines : 1024;
    for (size_t i = 0; i < m; i++)
      col[i] = values[i * n_axes + k];
    if (axes[k].n_names) {
      lo[k] = -0.5;
      hi[k] = (double)axes[k].n_names - 0.5;
    } else if (!value_domain(col, m, &lo[k], &hi[k])) {
      lo[k] = 0;
      hi[k] = 1;
    }
    parallel_axis(h, &axes[k], 40 + gap * (double)k, top, bottom, lo[k],
                  hi[k]);
  }
  /* colour by the last axis (the metric): the best dark, drawn last */
  size_t c = n_axes ? n_axes - 1 : 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n_lines && n_axes; i++) {
      double v = values[i * n_axes + c];
      if (((long)i == o->best) != pass)
        continue;
      double t = (v - lo[c]) / (hi[c] - lo[c]);
      char colour[8];
      ramp(o->lower_better ? 1 - t : t, colour);
      html_f(h, "<polyline class=\"trial%s\" fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"%d\" points=\"",
             pass ? " best" : "", isfinite(v) ? colour : "#bbbbbb",
             pass ? 3 : 2);
      for (size_t k = 0; k < n_axes; k++) {
        double x = values[i * n_axes + k];
        if (isfinite(x))
          html_f(h, "%.1f,%.1f ", 40 + gap * (double)k,
                 bottom - (x - lo[k]) / (hi[k] - lo[k]) * (bottom - top));
      }
      html_f(h, "\"><title>%s</title></polyline>",
             tips && tips[i] ? tips[i] : "");
    }
  html_raw(h, "</svg>");
}

/*
 * svg.h - charts drawn by the server as inline SVG: a line chart with
 * several series and an optional threshold line, a bar chart (histograms)
 * a heat grid (drift statistics per feature and window), a scatter chart
 * and parallel coordinates (a tune's trials: the metric against params).
 *
 * Design: each chart writes one <svg> element into an html buffer, so a
 * page shows its charts with JavaScript off and no assets to fetch. Every
 * label goes through the escaping html_f / html_text; colours are
 * presentation attributes (fill, stroke), never style attributes, so the
 * UI's Content-Security-Policy can forbid inline styles. Axes get "nice"
 * ticks (1, 2, 5 x 10^k). NaN and infinite values are not drawn: a NaN
 * breaks a line into segments. Elements carry classes a test can look
 * for: svg.chart, polyline.series, circle.point, line.threshold,
 * rect.bar, rect.cell, and every point, bar and cell has a <title>
 * tooltip with its exact value.
 *
 * Threads: pure functions of their arguments.
 */
#ifndef HV_SERVE_UI_SVG_H
#define HV_SERVE_UI_SVG_H

#include <stddef.h>

struct html;

/* One line of a line chart: n (x, y) points in x order. */
struct svg_series {
  const char *name;     /* legend and tooltips */
  const double *x;      /* (n) */
  const double *y;      /* (n); NaN breaks the line */
  size_t n;
};

struct svg_line_opts {
  int width, height;    /* pixels of the plot area + axes; 0: 640 x 260 */
  const char *title;    /* drawn above; NULL: none */
  const char *x_label, *y_label; /* NULL: none */
  double threshold;     /* a dashed horizontal line; NaN: none */
  const char *threshold_label; /* text at its right end */
  const char *const *x_names; /* optional names of x = 0, 1, ... n_x_names
                                 - 1 used as tick labels */
  size_t n_x_names;
  int y_from_zero;      /* 1: the y axis starts at 0 for positive data */
};

/* Draw a line chart of n series into h. With no finite point it draws the
 * frame and "no data". */
void svg_line_chart(struct html *h, const struct svg_line_opts *o,
                    const struct svg_series *s, size_t n);

struct svg_bar_opts {
  int width, height;    /* 0: 640 x 240 */
  const char *title, *x_label, *y_label;
};

/* Draw n bars (labels[i], values[i] >= 0; NaN bars are left out). */
void svg_bar_chart(struct html *h, const struct svg_bar_opts *o,
                   const char *const *labels, const double *values,
                   size_t n);

/* One cell of a heat grid. */
struct svg_heat_cell {
  double score;         /* colour: 0 green .. 1 orange .. >= 2 red; NaN
                           grey (no value) */
  const char *text;     /* shown in the cell (short); NULL: none */
  const char *tip;      /* tooltip; NULL: text */
  int mark;             /* 1: a heavy border (e.g. "drift") */
};

struct svg_heat_opts {
  int cell_w, cell_h;   /* 0: 92 x 26 */
  int label_w;          /* room for row labels; 0: 230 */
  const char *title;
};

/* Draw a grid of nr rows x nc columns; cells[r * nc + c]. */
void svg_heat_grid(struct html *h, const struct svg_heat_opts *o,
                   const char *const *rows, size_t nr,
                   const char *const *cols, size_t nc,
                   const struct svg_heat_cell *cells);

struct svg_scatter_opts {
  int width, height;    /* 0: 320 x 240 */
  const char *title, *x_label, *y_label;
  const char *const *x_names; /* categories: x = 0 .. n_x_names - 1 */
  size_t n_x_names;     /* 0: x is a number (round ticks) */
  long best;            /* the point drawn larger and red; -1: none */
};

/* Draw n points (x[i], y[i]) with tooltips tips[i] (may be NULL); NaN
 * points are left out. y gets round ticks; x round ticks or the category
 * names. */
void svg_scatter(struct html *h, const struct svg_scatter_opts *o,
                 const double *x, const double *y, const char *const *tips,
                 size_t n);

/* One axis of a parallel-coordinates chart. */
#define SVG_MAX_AXES 16
struct svg_axis {
  const char *name;
  const char *const *names; /* categories: values 0 .. n_names - 1 */
  size_t n_names;           /* 0: numbers (round ticks) */
};

struct svg_parallel_opts {
  int width, height;    /* 0: 150 px per axis x 320 */
  const char *title;
  long best;            /* the line drawn last and thicker; -1: none */
  int lower_better;     /* colour: the last axis, darker = better */
};

/* Draw n_lines polylines across n_axes (at most SVG_MAX_AXES) vertical
 * axes, values[line * n_axes + axis] (NaN: the line skips that axis),
 * coloured by the last axis; tips[line] is each line's tooltip. */
void svg_parallel(struct html *h, const struct svg_parallel_opts *o,
                  const struct svg_axis *axes, size_t n_axes,
                  const double *values, size_t n_lines,
                  const char *const *tips);

/* The colour of a heat score as "#rrggbb" into out (8 bytes). */
void svg_heat_colour(double score, char out[8]);

/* The colour of series i (a fixed palette of 8, cycled). Static string. */
const char *svg_palette(size_t i);

/* Nice ticks covering [lo, hi]: at most max (>= 2) values in ticks, a step
 * of 1, 2 or 5 x 10^k; returns how many. *step gets the step. lo > hi or a
 * non-finite bound gives 0. */
size_t svg_ticks(double lo, double hi, size_t max, double *ticks,
                 double *step);

#endif

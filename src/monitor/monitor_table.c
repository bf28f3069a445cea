/*
 * monitor_table.c - the monitoring report as a table on the terminal
 * (monitor_report_print_table, see monitor_report.h): a row per window,
 * what a window lacks said in words (skipped, empty, in-sample), a run of
 * empty time windows on one line.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/monitor_report.h"
#include "monitor/side.h"

static void print_drifted(const struct monitor_window *w, FILE *out)
{
  int first = 1;
  for (size_t k = 0; k < w->n_features; k++) {
    const struct drift_feature_result *v = &w->features[k].verdict;
    if (!v->drift)
      continue;
    int pv = isfinite(v->pvalue);
    fprintf(out, "%s%s (%s %s%.3g)", first ? "      drifted: " : ", ",
            v->name, drift_test_name(v->test), pv ? "p=" : "",
            pv ? v->pvalue : v->statistic);
    first = 0;
  }
  if (!first)
    fputc('\n', out);
}

/* The features the windows do not judge because the dataset lacks them
 * (the first window with features says for all: they share the dataset;
 * skipped windows have none). */
static void print_absent(const struct monitor_report *r, FILE *out)
{
  const struct monitor_window *w = NULL;
  for (size_t i = 0; !w && i < r->n_windows; i++)
    if (r->windows[i].n_features)
      w = &r->windows[i];
  int first = 1;
  for (size_t k = 0; w && k < w->n_features; k++) {
    if (strcmp(w->features[k].skipped, SIDE_NOT_IN_DATASET))
      continue;
    fprintf(out, "%s%s", first ? "not in this dataset, not judged: " : ", ",
            w->features[k].verdict.name);
    first = 0;
  }
  if (!first)
    fputs(" (outside the drifted count)\n", out);
}

/* "100%", "37%", "<1%" or "-": the in-sample share of w into buf. */
static const char *share_text(const struct monitor_window *w, char buf[8])
{
  double v = 100.0 * monitor_window_in_sample(w);
  if (!w->n_in_sample)
    return "-";
  if (v < 0.5)
    return "<1%";
  snprintf(buf, 8, "%.0f%%", v);
  return buf;
}

/* A run of empty time windows: one line with the span. */
static void print_empty_run(const struct monitor_window *w, FILE *out)
{
  char a[32], b[32];
  int days = strlen(w->spec.name) == 10; /* day-aligned: dates */
  window_format_time(w->spec.first, a, sizeof(a));
  window_format_time(w->spec.last, b, sizeof(b));
  fprintf(out, "%zu-%zu %zu empty windows, %.*s to %.*s (no ratings)\n",
          w->index, w->index + w->n_folded - 1, w->n_folded, days ? 10 : 20,
          a, days ? 10 : 20, b);
}

static void print_window(const struct monitor_window *w, FILE *out)
{
  if (!w->n_ratings && w->n_folded > 1) {
    print_empty_run(w, out);
    return;
  }
  int done = !w->skipped[0] && w->n_ratings;
  char drifted[48], in[8], verdict[48];
  snprintf(drifted, sizeof(drifted), "%zu/%zu", w->n_drifted, w->n_judged);
  snprintf(verdict, sizeof(verdict), "%s%s",
           !w->n_ratings ? "empty"
           : !done       ? "skipped"
           : w->dataset_drift ? "DATASET DRIFT" : "ok",
           w->n_in_sample ? ", in-sample" : "");
  if (done)
    fprintf(out, "%-3zu %-20.20s %7zu %6zu %7.4f %8.4f %8.4f %7s %8s  %s\n",
            w->index, w->spec.name, w->n_ratings, w->n_users,
            monitor_metrics_top(&w->metrics, 10),
            monitor_metrics_top(&w->metrics, 100), w->health.coverage_at_10,
            share_text(w, in), drifted, verdict);
  else
    fprintf(out, "%-3zu %-20.20s %7zu %6zu %7s %8s %8s %7s %8s  %s\n",
            w->index, w->spec.name, w->n_ratings, w->n_users, "-", "-", "-",
            share_text(w, in), "-", verdict);
  if (!done && w->n_ratings)
    fprintf(out, "      skipped: %s (no metrics or verdicts)\n",
            w->skipped);
  else if (done)
    print_drifted(w, out);
}

/* After the table: which windows are in-sample, and what that means. */
static void print_in_sample_note(const struct monitor_report *r, FILE *out)
{
  size_t n = 0;
  for (size_t i = 0; i < r->n_windows; i++)
    n += r->windows[i].n_in_sample > 0;
  if (!n)
    return;
  fprintf(out, "in-sample: %zu window%s hold%s ratings of the model's "
          "training range %lld:%lld (in-smp: their share): %s top-K is not "
          "held-out evidence; held-out ratings start after rating_id %lld\n",
          n, n == 1 ? "" : "s", n == 1 ? "s" : "",
          (long long)r->model.trained_first_rating_id,
          (long long)r->model.trained_last_rating_id,
          n == 1 ? "its" : "their",
          (long long)r->model.trained_last_rating_id);
}

void monitor_report_print_table(const struct monitor_report *r, FILE *out)
{
  if (!r || !out)
    return;
  const struct monitor_reference *ref = &r->reference;
  fprintf(out, "reference: rating_id %lld:%lld, %zu ratings, %zu users "
          "(%s), in-sample top-100 %.4f\n",
          (long long)ref->first_rating_id, (long long)ref->last_rating_id,
          ref->n_ratings, ref->n_users,
          ref->from_model ? "model lineage" : "config",
          monitor_metrics_top(&ref->metrics, 100));
  const struct monitor_settings *c = &r->config;
  if (c->blend > 0)
    fprintf(out, "top-10 lists: %s (retrieval's top %d ordered by the "
            "ranker, blend weight %g)\n", c->lists, c->candidates, c->blend);
  else if (c->candidates > 0)
    fprintf(out, "top-10 lists: %s (retrieval's top %d ordered by the "
            "ranker)\n", c->lists, c->candidates);
  else
    fprintf(out, "top-10 lists: retrieval\n");
  print_absent(r, out);
  fprintf(out, "%-3s %-20s %7s %6s %7s %8s %8s %7s %8s  %s\n", "#", "window",
          "n", "users", "top-10", "top-100", "cov@10", "in-smp", "drifted",
          "verdict");
  for (size_t i = 0; i < r->n_windows; i++)
    print_window(&r->windows[i], out);
  print_in_sample_note(r, out);
}

/*
 * cmd_drift.c - `harvest drift`: drift statistics between two plain columns
 * (one value per line), so anyone can check them against their own tools.
 *
 * Numeric columns get KS (scipy's ks_2samp 'auto' rules), Wasserstein-1 (raw
 * and normed by the reference std), PSI and Jensen-Shannon on reference
 * quantile bins; --categorical columns (any label per line) get the
 * chi-square test, PSI and JS on category proportions. Each statistic is
 * judged with the Evidently-style thresholds of monitor/drift.h and the
 * default test for the sample size gives the overall verdict. Lines are
 * trimmed of ASCII white space and blank lines skipped (like drift_ref.py).
 * With --column the files are CSV with a header row (data/csv.h: quoted
 * fields, CRLF, a byte order mark) and one column is read, by name or
 * 1-based number; empty cells are skipped as blank lines are.
 * --time-reps R times the numeric statistics R times on the loaded samples
 * (reading excluded) for bench/bench_drift.sh.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/csv.h"
#include "data/lines.h"
#include "monitor/drift.h"
#include "monitor/monitor_report.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/parse.h"
#include "util/sort.h"

static const char drift_about[] =
    "Compare the distribution of CURRENT with REFERENCE. Each file holds\n"
    "one value per line (blank lines ignored), or with --column NAME|N is\n"
    "a CSV file with a header row whose column NAME (or number N, from 1)\n"
    "is read (empty cells ignored; --delimiter C for ';', '\\t', ...).\n"
    "\n"
    "Numeric (default): two-sample Kolmogorov-Smirnov (statistic, p-value\n"
    "as scipy.stats.ks_2samp: exact when both samples have <= 10000\n"
    "values, else asymptotic), Wasserstein-1 distance (raw and divided by\n"
    "max(std(reference), 0.001)), PSI and Jensen-Shannon distance (natural\n"
    "log) on N quantile bins of the reference (duplicate edges dropped,\n"
    "empty-bin proportions floored at 1e-4 for PSI).\n"
    "Categorical: chi-square test of the 2 x k count table (Yates'\n"
    "correction for 2 categories), PSI and JS on category proportions.\n"
    "\n"
    "Verdicts (drift when): KS p < 0.05, normed Wasserstein >= 0.1,\n"
    "PSI >= 0.1 (>= 0.2 major), JS >= 0.1, chi-square p < 0.05. The\n"
    "overall verdict uses KS (numeric) or chi-square (categorical) when\n"
    "the reference has <= 1000 values, else normed Wasserstein / JS;\n"
    "the verdict line names every test that sees drift, so a test that\n"
    "disagrees with the default one is never hidden.\n";

static const struct cli_spec drift_spec = {
    .cmd = "drift",
    .usage = "--reference FILE --current FILE [--categorical]\n"
             "                     [--column NAME|N [--delimiter C]]\n"
             "                     [--bins N] [--name NAME] [--json]",
    .about = drift_about,
    .json_help = "machine-readable output",
    .home_help = "",
};

/* ---- reading ----------------------------------------------------------- */

/* Trim ASCII white space in place; returns the first non-space byte. */
static char *trim(char *s)
{
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

struct column {
  double *x;     /* numeric values */
  char **labels; /* categorical labels (each malloc'd) */
  size_t n, cap;
};

static void column_free(struct column *c)
{
  for (size_t i = 0; c->labels && i < c->n; i++)
    free(c->labels[i]);
  free(c->labels);
  free(c->x);
  memset(c, 0, sizeof(*c));
}

static int column_grow(struct column *c, int categorical, struct hv_err *err)
{
  if (c->n < c->cap)
    return 0;
  size_t cap = c->cap ? 2 * c->cap : 1024;
  void *p = categorical ? realloc(c->labels, cap * sizeof(char *))
                        : realloc(c->x, cap * sizeof(double));
  if (!p)
    return hv_err_set(err, HV_ENOMEM, "out of memory reading %zu values",
                      c->n);
  if (categorical)
    c->labels = p;
  else
    c->x = p;
  c->cap = cap;
  return 0;
}

/* Add one trimmed, non-empty line to c. */
static int column_add(struct column *c, const char *path, size_t lineno,
                      const char *s, int categorical, struct hv_err *err)
{
  if (column_grow(c, categorical, err))
    return err->code;
  if (categorical) {
    if (!(c->labels[c->n] = strdup(s)))
      return hv_err_set(err, HV_ENOMEM, "out of memory reading %s", path);
    c->n++;
    return 0;
  }
  char what[512];
  snprintf(what, sizeof(what), "%s:%zu", path, lineno);
  if (hv_parse_f64(s, -DBL_MAX, DBL_MAX, &c->x[c->n], what, err))
    return HV_EINVAL;
  c->n++;
  return 0;
}

/* Where the values are: one per line (column NULL), or a CSV column. */
struct col_spec {
  const char *column; /* a header name, or a 1-based number */
  char delim;
};

static int csv_read(FILE *f, const char *path, const struct col_spec *spec,
                    int categorical, struct column *c, struct hv_err *err);

/* Read path into c (caller frees with column_free): one value per line, or
 * a CSV column when spec->column is set. */
static int column_read(const char *path, const struct col_spec *spec,
                       int categorical, struct column *c, struct hv_err *err)
{
  memset(c, 0, sizeof(*c));
  FILE *f = fopen(path, "r");
  if (!f)
    return hv_err_set(err, HV_ENOTFOUND, "%s: cannot open: %s", path,
                      strerror(errno));
  char *line = NULL;
  size_t cap = 0, lineno = 0;
  int rc = spec->column ? csv_read(f, path, spec, categorical, c, err) : 0;
  while (!spec->column && getline(&line, &cap, f) != -1) {
    lineno++;
    char *s = trim(line);
    if (*s && (rc = column_add(c, path, lineno, s, categorical, err)))
      break;
  }
  if (!rc && ferror(f))
    rc = hv_err_set(err, HV_EIO, "%s: read error", path);
  free(line);
  fclose(f);
  if (!rc && c->n == 0)
    rc = hv_err_set(err, HV_EINVAL, "%s: empty file (no values)", path);
  if (rc)
    column_free(c);
  return rc;
}

static long file_read(void *ctx, char *buf, size_t cap, struct hv_err *err)
{
  FILE *f = ctx;
  size_t n = fread(buf, 1, cap, f);
  if (n == 0 && ferror(f))
    return hv_err_set(err, HV_EIO, "read error");
  return (long)n;
}

/* The 0-based index of spec's column in the header record of c. */
static int csv_column(const struct csv *c, const char *path,
                      const char *column, struct hv_err *err)
{
  int nf = csv_nfields(c);
  int64_t n = 0;
  struct hv_err ignored = {0};
  if (!hv_parse_i64(column, 1, INT32_MAX, &n, "column", &ignored)) {
    if (n > nf)
      return hv_err_set(err, HV_EINVAL,
                        "%s: --column %lld, but the header has %d column%s",
                        path, (long long)n, nf, nf == 1 ? "" : "s");
    return (int)n - 1;
  }
  char names[256] = "";
  size_t at = 0;
  for (int i = 0; i < nf; i++) {
    char tmp[CLI_SAFE_MAX];
    const char *f = csv_field(c, i);
    snprintf(tmp, sizeof(tmp), "%s", f);
    if (!strcmp(trim(tmp), column))
      return i;
    if (at < sizeof(names))
      at += (size_t)snprintf(names + at, sizeof(names) - at, "%s'%s'",
                             i ? ", " : "", CLI_SAFE(f));
  }
  return hv_err_set(err, HV_EINVAL,
                    "%s: no column '%.64s' in the header (it has %s); give "
                    "a name or a number from 1",
                    path, column, names);
}

/* Read the column spec->column of the CSV file f (path) into c. */
static int csv_read(FILE *f, const char *path, const struct col_spec *spec,
                    int categorical, struct column *c, struct hv_err *err)
{
  struct lines in;
  struct csv csv = {0};
  int rc = lines_init(&in, file_read, f, path, 0, err);
  if (!rc)
    rc = csv_init(&csv, &in, spec->delim, err);
  if (!rc && (rc = csv_next(&csv, err)) == 0)
    rc = hv_err_set(err, HV_EINVAL, "%s: empty file (no header row)", path);
  int col = rc == 1 ? csv_column(&csv, path, spec->column, err) : rc;
  rc = col < 0 ? col : 0;
  while (!rc && (rc = csv_next(&csv, err)) == 1) {
    const char *v = csv_field(&csv, col);
    if (!v) {
      rc = hv_err_set(err, HV_EINVAL,
                      "%s:%lld: %d field%s, no column %d (wrong "
                      "--delimiter?)",
                      path, (long long)csv_line(&csv), csv_nfields(&csv),
                      csv_nfields(&csv) == 1 ? "" : "s", col + 1);
      break;
    }
    char *s = trim((char *)v); /* the reader's own buffer, until csv_next */
    rc = *s ? column_add(c, path, (size_t)csv_line(&csv), s, categorical,
                         err)
            : 0;
  }
  csv_free(&csv);
  lines_free(&in);
  return rc < 0 ? rc : 0;
}

/* ---- categorical counts ------------------------------------------------ */

struct tagged {
  const char *label;
  int side; /* 0 reference, 1 current */
};

static int tagged_cmp(const void *a, const void *b)
{
  return strcmp(((const struct tagged *)a)->label,
                ((const struct tagged *)b)->label);
}

struct cat_table {
  const char **names; /* borrowed from the columns */
  int64_t *ref, *cur;
  size_t k;
};

static void cat_table_free(struct cat_table *t)
{
  free(t->names);
  free(t->ref);
  free(t->cur);
}

/* Count the sorted union of labels (byte order = code-point order for
 * UTF-8, as Python's sorted). */
static int cat_count(const struct column *r, const struct column *c,
                     struct cat_table *t, struct hv_err *err)
{
  size_t n = r->n + c->n, k = 0;
  struct tagged *all = malloc(n * sizeof(*all));
  t->names = malloc(n * sizeof(*t->names));
  t->ref = calloc(n, sizeof(*t->ref));
  t->cur = calloc(n, sizeof(*t->cur));
  if (!all || !t->names || !t->ref || !t->cur) {
    free(all);
    return hv_err_set(err, HV_ENOMEM, "out of memory counting categories");
  }
  for (size_t i = 0; i < r->n; i++)
    all[i] = (struct tagged){r->labels[i], 0};
  for (size_t i = 0; i < c->n; i++)
    all[r->n + i] = (struct tagged){c->labels[i], 1};
  qsort(all, n, sizeof(*all), tagged_cmp);
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || strcmp(all[i].label, all[i - 1].label))
      t->names[k++] = all[i].label;
    (all[i].side ? t->cur : t->ref)[k - 1]++;
  }
  t->k = k;
  free(all);
  return 0;
}

/* ---- output ------------------------------------------------------------ */

/* {"name", "test", "statistic", "pvalue", "threshold", "drift"}: the
 * verdict as the monitoring report writes it, with the feature's name. */
static json_t *result_json(const struct drift_feature_result *r)
{
  json_t *o = json_pack("{s:s}", "name", r->name);
  if (o && monitor_report_verdict_json(o, r)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *results_json(const struct drift_feature_result *r, size_t n,
                            const struct drift_feature_result *verdict)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, result_json(&r[i]));
  return json_pack("{s:o, s:o, s:b}", "tests", a, "verdict",
                   result_json(verdict), "drift", verdict->drift);
}

static json_t *doubles_json(const double *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_real(v[i]));
  return a;
}

static void print_results(const struct drift_feature_result *r, size_t n,
                          const struct drift_feature_result *verdict)
{
  printf("\n%-18s %14s %12s %12s  %s\n", "test", "statistic", "p-value",
         "threshold", "drift");
  for (size_t i = 0; i < n; i++) {
    char p[32] = "-", th[32];
    int pv = drift_test_is_pvalue(r[i].test);
    if (pv)
      snprintf(p, sizeof(p), "%.4g", r[i].pvalue);
    snprintf(th, sizeof(th), "%s %g", pv ? "p <" : ">=", r[i].threshold);
    printf("%-18s %14.6g %12s %12s  %s\n", drift_test_name(r[i].test),
           r[i].statistic, p, th, r[i].drift ? "DRIFT" : "no");
  }
  char seen[256] = "";
  size_t at = 0, k = 0;
  for (size_t i = 0; i < n; i++)
    if (r[i].drift && at < sizeof(seen))
      at += (size_t)snprintf(seen + at, sizeof(seen) - at, "%s%s",
                             k++ ? ", " : "", drift_test_name(r[i].test));
  printf("\nverdict for '%s': %s by the default test %s", verdict->name,
         verdict->drift ? "DRIFT" : "no drift",
         drift_test_name(verdict->test));
  if (k)
    printf("; %zu of %zu tests see drift (%s)\n", k, n, seen);
  else
    printf("; no test sees drift\n");
}

/* ---- numeric ----------------------------------------------------------- */

/* Seconds per statistic over --time-reps runs. */
struct timing {
  double min_s, median_s;
};

/* Time drift_ks, drift_wasserstein and drift_numeric (each sorting its own
 * copies, like scipy) reps times; fills min and median seconds in t. */
static int time_numeric(const struct column *r, const struct column *c,
                        int reps, int bins, struct timing t[3],
                        struct hv_err *err)
{
  double *ts = malloc((size_t)reps * 3 * sizeof(double));
  if (!ts)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  int rc = 0;
  for (int i = 0; i < reps && !rc; i++) {
    struct drift_ks ks;
    struct drift_numeric_report *rep = malloc(sizeof(*rep));
    double w, t0 = hv_mono();
    rc = drift_ks(r->x, r->n, c->x, c->n, &ks, err);
    double t1 = hv_mono();
    rc = rc ? rc : drift_wasserstein(r->x, r->n, c->x, c->n, &w, err);
    double t2 = hv_mono();
    rc = rc ? rc
            : (rep ? drift_numeric(r->x, r->n, c->x, c->n, bins, rep, err)
                   : hv_err_set(err, HV_ENOMEM, "out of memory"));
    double t3 = hv_mono();
    free(rep);
    ts[i] = t1 - t0;
    ts[reps + i] = t2 - t1;
    ts[2 * reps + i] = t3 - t2;
  }
  for (int s = 0; s < 3 && !rc; s++) {
    qsort(ts + s * reps, (size_t)reps, sizeof(double), sort_cmp_f64);
    t[s].min_s = ts[s * reps];
    t[s].median_s = reps % 2 ? ts[s * reps + reps / 2]
                             : (ts[s * reps + reps / 2 - 1] +
                                ts[s * reps + reps / 2]) / 2;
  }
  free(ts);
  return rc;
}

static json_t *timing_json(const struct timing t[3], int reps)
{
  static const char *names[] = {"ks_2samp_auto", "wasserstein_distance",
                                "all_numeric"};
  json_t *o = json_pack("{s:i}", "reps", reps);
  for (int s = 0; s < 3; s++)
    json_object_set_new(o, names[s],
                        json_pack("{s:f, s:f}", "min_s", t[s].min_s,
                                  "median_s", t[s].median_s));
  return o;
}

/* Judge a report (numeric nr or categorical cr, the other NULL) by every
 * test of its kind into res (numeric: KS, W1, PSI, JS; categorical:
 * chi-square, PSI, JS) and by the test drift_default_test picks for it
 * into verdict. */
static void judge_all(const char *name, const struct drift_numeric_report *nr,
                      const struct drift_categorical_report *cr,
                      struct drift_feature_result *res,
                      struct drift_feature_result *verdict)
{
  static const enum drift_test numeric[] = {
      DRIFT_TEST_KS, DRIFT_TEST_WASSERSTEIN_NORM, DRIFT_TEST_PSI,
      DRIFT_TEST_JS};
  static const enum drift_test categorical[] = {DRIFT_TEST_CHI2,
                                                DRIFT_TEST_PSI, DRIFT_TEST_JS};
  const enum drift_test *tests = nr ? numeric : categorical;
  int n = nr ? 4 : 3;
  struct drift_thresholds th;
  drift_thresholds_default(&th);
  for (int i = 0; i <= n; i++) {
    enum drift_test t =
        i < n ? tests[i]
              : drift_default_test(!nr, nr ? nr->n_ref : (size_t)cr->n_ref,
                                   &th);
    struct drift_feature_result *out = i < n ? &res[i] : verdict;
    struct hv_err e = {0};
    if (nr ? drift_numeric_judge(name, nr, t, &th, out, &e)
           : drift_categorical_judge(name, cr, t, &th, out, &e))
      memset(out, 0, sizeof(*out)); /* cannot happen: all apply */
  }
}

static void numeric_print(const char *ref, const char *cur,
                          const struct drift_numeric_report *r,
                          const struct drift_feature_result res[4],
                          const struct drift_feature_result *verdict)
{
  printf("reference  %s  (n = %zu, std %.6g)\n", ref, r->n_ref, r->ref_std);
  printf("current    %s  (n = %zu)\n", cur, r->n_cur);
  printf("\nks                 D = %.6g  p = %.6g  (%s)\n", r->ks.statistic,
         r->ks.pvalue, drift_ks_method_name(r->ks.method));
  printf("wasserstein        %.6g  (normed %.6g)\n", r->wasserstein,
         r->wasserstein_norm);
  printf("psi                %.6g  on %d bins\n", r->psi, r->n_edges + 1);
  printf("js                 %.6g  (natural log)\n", r->js);
  print_results(res, 4, verdict);
}

static json_t *numeric_json(const struct drift_numeric_report *r,
                            const struct drift_feature_result res[4],
                            const struct drift_feature_result *verdict)
{
  size_t nb = (size_t)r->n_edges + 1;
  json_t *o = json_pack(
      "{s:s, s:I, s:I, s:{s:f, s:f, s:s}, s:f, s:f, s:f, s:f, s:o}", "kind",
      "numeric", "n_ref", (json_int_t)r->n_ref, "n_cur",
      (json_int_t)r->n_cur, "ks", "statistic", r->ks.statistic, "pvalue",
      r->ks.pvalue, "method", drift_ks_method_name(r->ks.method),
      "wasserstein",
      r->wasserstein, "wasserstein_norm", r->wasserstein_norm, "ref_std",
      r->ref_std, "psi", r->psi, "js", hv_json_num(r->js));
  if (!o)
    return NULL;
  json_object_set_new(
      o, "bins",
      json_pack("{s:o, s:o, s:o, s:f}", "edges",
                doubles_json(r->edges, (size_t)r->n_edges), "p_ref",
                doubles_json(r->p_ref, nb), "p_cur",
                doubles_json(r->p_cur, nb), "eps", DRIFT_PSI_EPS));
  json_object_update_new(o, results_json(res, 4, verdict));
  return o;
}

static int run_numeric(struct cli_ctx *ctx, const char *ref, const char *cur,
                       const struct col_spec *spec, int bins,
                       const char *name, int reps)
{
  struct hv_err err = {0};
  struct column r, c;
  struct drift_numeric_report *rep = malloc(sizeof(*rep));
  struct timing t[3];
  int rc = rep ? 0 : hv_err_set(&err, HV_ENOMEM, "out of memory");
  if (rc || (rc = column_read(ref, spec, 0, &r, &err))) {
    free(rep);
    return cli_report(&err);
  }
  if ((rc = column_read(cur, spec, 0, &c, &err)) ||
      (rc = drift_numeric(r.x, r.n, c.x, c.n, bins, rep, &err)) ||
      (reps > 0 && (rc = time_numeric(&r, &c, reps, bins, t, &err)))) {
    column_free(&r);
    column_free(&c);
    free(rep);
    return cli_report(&err);
  }
  struct drift_feature_result res[4], verdict;
  judge_all(name, rep, NULL, res, &verdict);
  if (ctx->json) {
    json_t *o = numeric_json(rep, res, &verdict);
    if (o && reps > 0)
      json_object_set_new(o, "timing", timing_json(t, reps));
    cli_print_json(o);
  } else {
    numeric_print(ref, cur, rep, res, &verdict);
    for (int s = 0; reps > 0 && s < 3; s++)
      printf("%s %s: min %.4f s, median %.4f s over %d runs\n",
             s == 0 ? "\ntime" : "time",
             s == 0 ? "ks" : (s == 1 ? "wasserstein" : "all numeric"),
             t[s].min_s, t[s].median_s, reps);
  }
  column_free(&r);
  column_free(&c);
  free(rep);
  return 0;
}

/* ---- categorical ------------------------------------------------------- */

static json_t *categorical_json(const struct cat_table *t,
                                const struct drift_categorical_report *r,
                                const struct drift_feature_result res[3],
                                const struct drift_feature_result *verdict)
{
  json_t *cats = json_array();
  for (size_t i = 0; i < t->k; i++)
    json_array_append_new(cats, json_pack("{s:s, s:I, s:I}", "value",
                                          t->names[i], "ref",
                                          (json_int_t)t->ref[i], "cur",
                                          (json_int_t)t->cur[i]));
  json_t *o = json_pack(
      "{s:s, s:I, s:I, s:{s:f, s:f, s:i}, s:f, s:o, s:o}", "kind",
      "categorical", "n_ref", (json_int_t)r->n_ref, "n_cur",
      (json_int_t)r->n_cur, "chi2", "statistic", r->chi2.statistic, "pvalue",
      r->chi2.pvalue, "dof", r->chi2.dof, "psi", r->psi, "js",
      hv_json_num(r->js), "categories", cats);
  if (o)
    json_object_update_new(o, results_json(res, 3, verdict));
  return o;
}

static void categorical_print(const char *ref, const char *cur,
                              const struct cat_table *t,
                              const struct drift_categorical_report *r,
                              const struct drift_feature_result res[3],
                              const struct drift_feature_result *verdict)
{
  printf("reference  %s  (n = %lld)\ncurrent    %s  (n = %lld)\n\n", ref,
         (long long)r->n_ref, cur, (long long)r->n_cur);
  printf("%-24s %10s %10s %10s %10s\n", "category", "ref", "ref %", "cur",
         "cur %");
  size_t shown = t->k < 30 ? t->k : 30;
  for (size_t i = 0; i < shown; i++)
    printf("%-24.24s %10lld %9.2f%% %10lld %9.2f%%\n", t->names[i],
           (long long)t->ref[i], 100.0 * (double)t->ref[i] / (double)r->n_ref,
           (long long)t->cur[i], 100.0 * (double)t->cur[i] / (double)r->n_cur);
  if (shown < t->k)
    printf("... %zu more categories (see --json)\n", t->k - shown);
  printf("\nchi2               %.6g  p = %.6g  (dof %d)\n", r->chi2.statistic,
         r->chi2.pvalue, r->chi2.dof);
  printf("psi                %.6g\njs                 %.6g  (natural log)\n",
         r->psi, r->js);
  print_results(res, 3, verdict);
}

static int run_categorical(struct cli_ctx *ctx, const char *ref,
                           const char *cur, const struct col_spec *spec,
                           const char *name)
{
  struct hv_err err = {0};
  struct column r, c;
  struct cat_table t = {0};
  struct drift_categorical_report rep;
  if (column_read(ref, spec, 1, &r, &err))
    return cli_report(&err);
  if (column_read(cur, spec, 1, &c, &err) || cat_count(&r, &c, &t, &err) ||
      drift_categorical(t.ref, t.cur, t.k, &rep, &err)) {
    cat_table_free(&t);
    column_free(&r);
    column_free(&c);
    return cli_report(&err);
  }
  struct drift_feature_result res[3], verdict;
  judge_all(name, NULL, &rep, res, &verdict);
  if (ctx->json)
    cli_print_json(categorical_json(&t, &rep, res, &verdict));
  else
    categorical_print(ref, cur, &t, &rep, res, &verdict);
  cat_table_free(&t);
  column_free(&r);
  column_free(&c);
  return 0;
}

/* ---- entry ------------------------------------------------------------- */

struct drift_args {
  const char *ref, *cur, *name, *column, *delimiter;
  int categorical;
  int64_t bins, reps;
};

/* Parse argv into a; 0, CLI_HELP or HV_EUSAGE (reported). */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct drift_args *a)
{
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "reference", 0, "FILE",
               "reference sample (e.g. training data)", &a->ref),
       .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_STR, "current", 0, "FILE",
               "current sample (e.g. live data)", &a->cur),
       .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_TRUE, "categorical", 0, NULL,
               "values are category labels, not numbers", &a->categorical)},
      {CLI_OPT(CLI_I64, "bins", 0, "N",
               "quantile bins for numeric PSI/JS (2.." CLI_XSTR(DRIFT_MAX_BINS)
               ", default " CLI_XSTR(DRIFT_DEFAULT_BINS) ")", &a->bins),
       .lo = 2, .hi = DRIFT_MAX_BINS},
      {CLI_OPT(CLI_STR, "name", 0, "NAME",
               "feature name in the verdicts (default 'feature', or the "
               "--column)", &a->name)},
      {CLI_OPT(CLI_STR, "column", 0, "NAME|N",
               "the files are CSV with a header: read this column",
               &a->column)},
      {CLI_OPT(CLI_STR, "delimiter", 0, "C",
               "with --column: the field delimiter (default ','; '\\t' or "
               "tab for tabs)", &a->delimiter)},
      {CLI_OPT(CLI_I64, "time-reps", 0, "R",
               "also time the numeric statistics R times (reading excluded; "
               "for bench/bench_drift.sh)", &a->reps), .lo = 1, .hi = 1000},
      CLI_OPTS_END};
  return cli_parse_opts(ctx, &drift_spec, opts, argc, argv);
}

/* The --column / --delimiter pair into spec; 0 or a usage error. */
static int column_spec(struct drift_args *a, struct col_spec *spec)
{
  const char *d = a->delimiter;
  *spec = (struct col_spec){a->column, ','};
  if (d && !a->column)
    return cli_usage_error("drift", "--delimiter needs --column (files "
                           "without --column hold one value per line)");
  if (a->column && !*a->column)
    return cli_usage_error("drift", "--column is empty: give a header "
                           "name or a number from 1");
  if (d && (!strcmp(d, "\\t") || !strcmp(d, "tab")))
    spec->delim = '\t';
  else if (d && strlen(d) == 1 && !strchr("\"\r\n", d[0]))
    spec->delim = d[0];
  else if (d)
    return cli_usage_error("drift", "--delimiter '%s': give one character "
                           "(not a quote or line break), '\\t' or tab",
                           d);
  if (a->column && !a->name)
    a->name = a->column;
  if (!a->name)
    a->name = "feature";
  return 0;
}

int cmd_drift(struct cli_ctx *ctx, int argc, char **argv)
{
  struct drift_args a = {0};
  a.bins = DRIFT_DEFAULT_BINS;
  int rc = parse(ctx, argc, argv, &a);
  if (rc)
    return cli_parse_rc(rc);
  struct col_spec spec;
  if ((rc = column_spec(&a, &spec)))
    return rc;
  if (a.categorical && a.reps)
    return cli_usage_error("drift", "--time-reps times numeric statistics; "
                           "drop --categorical");
  if (a.categorical)
    return run_categorical(ctx, a.ref, a.cur, &spec, a.name);
  return run_numeric(ctx, a.ref, a.cur, &spec, (int)a.bins, a.name,
                     (int)a.reps);
}

/*
 * cmd_runs.c - `harvest runs list|show|compare|history|gc`: search and
 * inspect tracked runs, and mark runs whose process died as FAILED.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "store/db.h"
#include "track/artifacts.h"
#include "track/filter.h"
#include "track/runs.h"
#include "util/json.h"
#include "util/parse.h"

/* "2024-01-02T03:04:05Z" for t (seconds since the epoch) into buf. */
static const char *iso_time(double t, char buf[32])
{
  return t <= 0 ? "-" : cli_utc(t, CLI_UTC_TIME, buf, 32);
}

/* ---- a text table: columns as wide as their widest cell ---- */

#define TABLE_MAX_COLS 40

struct table {
  size_t ncols, nrows, cap;
  char **cells; /* nrows x ncols, owned; row 0 is the header */
};

/* Append a row of ncols cells (copied); 0, or HV_ENOMEM. */
static int table_row(struct table *t, const char *const *cells)
{
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
    if (!c)
      return HV_ENOMEM;
    t->cells = c;
    t->cap = cap;
  }
  for (size_t j = 0; j < t->ncols; j++) {
    char *v = strdup(cells[j] ? cells[j] : "-");
    if (!v) {
      for (size_t k = 0; k < j; k++)
        free(t->cells[t->nrows * t->ncols + k]);
      return HV_ENOMEM;
    }
    t->cells[t->nrows * t->ncols + j] = v;
  }
  t->nrows++;
  return 0;
}

/* Print every row, cells made terminal-safe, two spaces between columns,
 * nothing cut; then free the table. */
static void table_print_free(struct table *t)
{
  size_t w[TABLE_MAX_COLS] = {0};
  char buf[CLI_SAFE_MAX];
  for (size_t i = 0; i < t->nrows * t->ncols; i++) {
    size_t n = strlen(termstr(t->cells[i], buf, sizeof(buf)));
    if (n > w[i % t->ncols])
      w[i % t->ncols] = n;
  }
  for (size_t i = 0; i < t->nrows; i++) {
    for (size_t j = 0; j < t->ncols; j++) {
      const char *c = termstr(t->cells[i * t->ncols + j], buf, sizeof(buf));
      if (j + 1 < t->ncols)
        printf("%-*s  ", (int)w[j], c);
      else
        printf("%s\n", c);
    }
  }
  for (size_t i = 0; i < t->nrows * t->ncols; i++)
    free(t->cells[i]);
  free(t->cells);
  *t = (struct table){0};
}

/* A rating id bound as the text it was stored as: "all" for an open end
 * (INT64_MAX), as MLflow users read it, else the value as is. */
static const char *open_end(const char *v)
{
  return v && !strcmp(v, "9223372036854775807") ? "all" : v;
}

/* ---- list ---- */

/* One --columns entry (or the --order-by key): where the value comes
 * from and the key. */
struct list_col {
  enum { COL_METRIC, COL_PARAM, COL_TAG, COL_ANY } kind;
  const char *key; /* borrowed from the column list */
  char head[160];
};

struct list_args {
  struct runs_query q;
  const char *columns;
  char *cols_text; /* owned copy of columns, split in place */
  char order_key[160]; /* the --order-by key, without ASC/DESC */
  struct list_col cols[TABLE_MAX_COLS - 5];
  size_t ncols;
};

static int add_col(struct list_args *a, char *name, struct hv_err *err)
{
  static const struct {
    const char *prefix;
    int kind;
  } kinds[] = {{"metrics.", COL_METRIC}, {"params.", COL_PARAM},
               {"tags.", COL_TAG}};
  struct list_col c = {.kind = COL_ANY, .key = name};
  for (size_t i = 0; i < 3; i++)
    if (!strncmp(name, kinds[i].prefix, strlen(kinds[i].prefix))) {
      c.kind = kinds[i].kind;
      c.key = name + strlen(kinds[i].prefix);
    }
  if (runs_check_key(c.key, "--columns key", err))
    return HV_EINVAL;
  for (size_t i = 0; i < a->ncols; i++)
    if (a->cols[i].kind == c.kind && !strcmp(a->cols[i].key, c.key))
      return 0; /* named twice (or also the --order-by key): once */
  if (a->ncols == sizeof(a->cols) / sizeof(a->cols[0]))
    return hv_err_set(err, HV_EINVAL, "--columns: at most %zu columns",
                      sizeof(a->cols) / sizeof(a->cols[0]));
  snprintf(c.head, sizeof(c.head), "%s", c.key);
  a->cols[a->ncols++] = c;
  return 0;
}

/* The columns: the --order-by key when it is a metric or param (so the
 * order is visible), then --columns A,B,... */
static int parse_cols(struct list_args *a, struct hv_err *err)
{
  char *ob = a->order_key;
  if (a->q.order_by) {
    snprintf(ob, sizeof(a->order_key), "%s", a->q.order_by);
    ob[strcspn(ob, " \t")] = 0;
    if ((!strncmp(ob, "metrics.", 8) || !strncmp(ob, "params.", 7)) &&
        add_col(a, ob, err))
      return HV_EINVAL;
  }
  if (!a->columns)
    return 0;
  if (!*a->columns)
    return hv_err_set(err, HV_EINVAL,
                      "--columns is empty: give KEY,KEY,... (e.g. "
                      "metrics.ndcg_at_10,params.dim)");
  if (!(a->cols_text = strdup(a->columns)))
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  char *save = NULL;
  for (char *t = strtok_r(a->cols_text, ",", &save); t;
       t = strtok_r(NULL, ",", &save))
    if (add_col(a, t, err))
      return HV_EINVAL;
  return 0;
}

/* The text of column c for run r into buf (cap bytes); "-" when r has no
 * such value. A bare key is a metric, else a param, else a tag. */
static const char *col_value(const struct list_col *c,
                             const struct tracking_run *r, char *buf,
                             size_t cap)
{
  if (c->kind == COL_METRIC || c->kind == COL_ANY) {
    double v = runs_metric(r, c->key);
    if (!isnan(v)) {
      snprintf(buf, cap, "%.6g", v);
      return buf;
    }
  }
  const char *s = NULL;
  if (c->kind == COL_PARAM || c->kind == COL_ANY)
    s = open_end(runs_param(r, c->key));
  if (!s && (c->kind == COL_TAG || c->kind == COL_ANY))
    s = runs_tag(r, c->key);
  return s ? s : "-";
}

static int print_runs_table(const struct list_args *a,
                            const struct tracking_run *runs, size_t n)
{
  struct table t = {.ncols = 5 + a->ncols};
  const char *cells[TABLE_MAX_COLS] = {"run_id", "status", "start_time",
                                       "experiment", "run_name"};
  char vals[TABLE_MAX_COLS][64], t0[32];
  for (size_t j = 0; j < a->ncols; j++)
    cells[5 + j] = a->cols[j].head;
  int rc = table_row(&t, cells);
  for (size_t i = 0; !rc && i < n; i++) {
    const struct tracking_run *r = &runs[i];
    int gone = !strcmp(r->status, "RUNNING") &&
               runs_owner_state(r) == RUNS_OWNER_DEAD;
    cells[0] = r->run_id;
    cells[1] = gone ? "RUNNING (owner gone; see 'harvest runs gc')"
                    : r->status;
    cells[2] = iso_time(r->start_time, t0);
    cells[3] = r->experiment;
    cells[4] = r->name;
    for (size_t j = 0; j < a->ncols; j++)
      cells[5 + j] = col_value(&a->cols[j], r, vals[j], sizeof(vals[j]));
    rc = table_row(&t, cells);
  }
  if (rc)
    fprintf(stderr, "harvest: error: out of memory printing the runs\n");
  table_print_free(&t);
  return rc ? 1 : 0;
}

/* A warning on stderr for each --order-by key that none of the n runs
 * listed has: it sorts nothing and its column is all "-" (the list still
 * prints and the exit status stays 0, as MLflow's search with such a
 * key). */
static void warn_order_keys(const struct list_args *a,
                            const struct tracking_run *runs, size_t n)
{
  struct filter_order *o = NULL;
  struct hv_err e = {0};
  char keys[512];
  if (!a->q.order_by || !n || filter_order_parse(a->q.order_by, &o, &e))
    return;
  size_t k = filter_order_missing(o, runs, n, keys, sizeof(keys));
  if (k)
    fprintf(stderr, "harvest runs list: warning: --order-by: none of the "
            "%zu run%s listed has %s, so %s not change the order\n", n,
            n == 1 ? "" : "s", CLI_SAFE(keys), k == 1 ? "it does" : "they do");
  filter_order_free(o);
}

static const struct cli_spec list_spec = {
    .cmd = "runs list",
    .usage = "[--experiment NAME] [--filter EXPR]\n"
             "         [--order-by \"metrics.KEY DESC\"] [--columns "
             "KEY,...] [--max N] [--json]",
    .about =
        "Runs, newest first, one per line under a header: run_id, "
        "status,\nstart_time, experiment, run_name, then the --order-by "
        "key and the\n--columns (\"-\" where a run has no such value; "
        "an open rating id\nrange reads \"all\"; an --order-by key no "
        "run listed has is warned\nabout on stderr). --json prints every "
        "param, latest metric and tag.\n"
        "EXPR follows MLflow's search syntax, e.g.\n"
        "  params.dim = '32' and metrics.top_100_categorical_accuracy > "
        "0.3\n"
        "  tags.x != 'y'   attributes.status = 'FINISHED'   "
        "attributes.run_name LIKE 'tune-%'\n"
        "Operators: = != < <= > >= LIKE ILIKE IN; AND joins comparisons.\n"
        "A run id may be given by a unique prefix of 4 or more digits to\n"
        "every command that takes one (runs show 3fa2, runs:/3fa2).\n"
        "A RUNNING run whose process is gone is marked \"owner gone\" "
        "until\n'harvest runs gc' marks it FAILED.\n",
};

static int runs_list(struct cli_ctx *ctx, int argc, char **argv)
{
  struct list_args a = {0};
  struct hv_err err = {0};
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "experiment", 'e', "NAME", "runs of this experiment",
               &a.q.experiment)},
      {CLI_OPT(CLI_STR, "filter", 'f', "EXPR",
               "MLflow search expression (see above)", &a.q.filter)},
      {CLI_OPT(CLI_STR, "order-by", 'o', "\"metrics.KEY DESC\"",
               "sort order (default: newest first); a metric or param "
               "key is also shown as a column", &a.q.order_by)},
      {CLI_OPT(CLI_STR, "columns", 'c', "KEY,...",
               "more columns: metrics.KEY, params.KEY, tags.KEY (a bare "
               "KEY: the metric, else the param, else the tag)",
               &a.columns)},
      {CLI_OPT(CLI_SIZE, "max", 'n', "N", "at most N runs", &a.q.max),
       .lo = 1, .hi = 1000000000},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &list_spec, opts, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  if (parse_cols(&a, &err)) {
    free(a.cols_text);
    return err.code == HV_EINVAL
               ? cli_usage_error(list_spec.cmd, "%s", err.msg)
               : cli_report(&err);
  }
  struct hv_db *db = NULL;
  struct tracking_run *runs = NULL;
  size_t n = 0;
  if (cli_open_existing_home(ctx, &db, &err) ||
      runs_search(db, &a.q, &runs, &n, &err)) {
    db_close(db);
    free(a.cols_text);
    return err.code == HV_EINVAL ? (cli_report(&err), HV_EUSAGE)
                                 : cli_report(&err);
  }
  db_close(db);
  warn_order_keys(&a, runs, n);
  if (ctx->json) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
      json_array_append_new(arr, runs_to_json(&runs[i]));
    cli_print_json(arr);
  } else if (n == 0) {
    printf("no runs\n");
  } else {
    rc = print_runs_table(&a, runs, n);
  }
  runs_free(runs, n);
  free(a.cols_text);
  return rc;
}

/* ---- show ---- */

static const struct cli_spec show_spec = {
    .cmd = "runs show",
    .usage = "RUN_ID [--json]",
    .about =
        "One run: status, times, owner, lineage (code and data version),\n"
        "params, latest metrics, tags and artifacts.\n",
    .min_args = 1,
    .max_args = 1,
    .args_msg = "expected one RUN_ID",
    .reads = 1,
};

static json_t *artifacts_json(struct hv_db *db, const char *run_id)
{
  struct tracking_artifact *a = NULL;
  size_t n = 0;
  struct hv_err err = {0};
  json_t *arr = json_array();
  if (!arr || artifacts_list(db, run_id, &a, &n, &err))
    return arr;
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:f}", "path",
                                         a[i].path, "size",
                                         (json_int_t)a[i].size, "sha256",
                                         a[i].sha256, "created_at",
                                         a[i].created_at));
  tracking_artifacts_free(a, n);
  return arr;
}

static void print_kv(const char *title, const struct tracking_kv *kv,
                     size_t n)
{
  printf("%s:%s\n", title, n ? "" : " (none)");
  for (size_t i = 0; i < n; i++)
    printf("  %-32s %s\n", CLI_SAFE(kv[i].key),
           CLI_SAFE(open_end(kv[i].value)));
}

static void print_run(const struct tracking_run *r, json_t *arts)
{
  char t1[32], t2[32], last[24] = "all";
  int gone = !strcmp(r->status, "RUNNING") &&
             runs_owner_state(r) == RUNS_OWNER_DEAD;
  printf("%s  %s%s\n", r->run_id, r->status,
         gone ? "  (owner gone; see 'harvest runs gc')" : "");
  printf("experiment:  %s\nname:        %s\nuser:        %s\n"
         "started:     %s\nended:       %s\nparent:      %s\n"
         "owner:       pid %lld on %s\ncode:        %s\n",
         CLI_SAFE(r->experiment), CLI_SAFE(r->name), CLI_SAFE(r->user),
         iso_time(r->start_time, t1), iso_time(r->end_time, t2),
         r->parent_run_id ? r->parent_run_id : "-", (long long)r->owner.pid,
         CLI_SAFE(r->owner.host),
         r->code_version ? CLI_SAFE(r->code_version) : "-");
  if (r->data_last_rating_id != INT64_MAX)
    snprintf(last, sizeof(last), "%lld", (long long)r->data_last_rating_id);
  if (r->data_rows >= 0)
    printf("data:        rating_id %lld..%s, %lld rows, sha256 %s\n",
           (long long)r->data_first_rating_id, last, (long long)r->data_rows,
           r->data_sha256 ? r->data_sha256 : "-");
  print_kv("params", r->params, r->n_params);
  printf("metrics:%s\n", r->n_metrics ? "" : " (none)");
  for (size_t i = 0; i < r->n_metrics; i++)
    printf("  %-32s %.6g (step %lld)\n", CLI_SAFE(r->metrics[i].key),
           r->metrics[i].value, (long long)r->metrics[i].step);
  print_kv("tags", r->tags, r->n_tags);
  printf("artifacts:%s\n", json_array_size(arts) ? "" : " (none)");
  size_t i;
  json_t *a;
  json_array_foreach(arts, i, a)
  {
    printf("  %-32s %lld bytes  sha256 %s\n",
           CLI_SAFE(json_string_value(json_object_get(a, "path"))),
           (long long)json_integer_value(json_object_get(a, "size")),
           json_string_value(json_object_get(a, "sha256")));
  }
}

static int runs_show_run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                         int argc, char **args, struct hv_err *err)
{
  struct tracking_run *r = NULL;
  char id[33];
  if (runs_resolve_id(db, args[0], id, err) || runs_get(db, id, &r, err))
    return err->code;
  json_t *arts = artifacts_json(db, r->run_id);
  if (ctx->json) {
    json_t *j = runs_to_json(r);
    if (j)
      json_object_set(j, "artifacts", arts);
    cli_print_json(j);
  } else {
    print_run(r, arts);
  }
  json_decref(arts);
  runs_free(r, 1);
  return 0;
}

/* ---- compare ---- */

static const struct cli_spec compare_spec = {
    .cmd = "runs compare",
    .usage = "RUN_ID RUN_ID... [--json]",
    .about =
        "Params and latest metrics of several runs (at most 39) side by\n"
        "side, nothing cut; '*' marks rows whose values differ. JSON:\n"
        "{runs: [...], params: {key: [value per run]}, metrics: {key:\n"
        "[value per run]}}.\n",
    .min_args = 2,
    .max_args = -1,
    .args_msg = "expected at least two RUN_IDs",
    .reads = 1,
};

/* Collect values of key (param when is_param, else metric) across runs. */
static json_t *compare_row(const struct tracking_run *rs, size_t n,
                           const char *key, int is_param)
{
  json_t *row = json_array();
  for (size_t i = 0; row && i < n; i++) {
    json_t *v = json_null();
    if (is_param) {
      for (size_t k = 0; k < rs[i].n_params; k++)
        if (!strcmp(rs[i].params[k].key, key))
          v = json_string(rs[i].params[k].value);
    } else {
      for (size_t k = 0; k < rs[i].n_metrics; k++)
        if (!strcmp(rs[i].metrics[k].key, key) &&
            isfinite(rs[i].metrics[k].value))
          v = json_real(rs[i].metrics[k].value);
    }
    json_array_append_new(row, v);
  }
  return row;
}

static json_t *compare_json(const struct tracking_run *rs, size_t n)
{
  json_t *ids = json_array(), *params = json_object(),
         *metrics = json_object();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(ids, json_string(rs[i].run_id));
    for (size_t k = 0; k < rs[i].n_params; k++)
      if (!json_object_get(params, rs[i].params[k].key))
        json_object_set_new(params, rs[i].params[k].key,
                            compare_row(rs, n, rs[i].params[k].key, 1));
    for (size_t k = 0; k < rs[i].n_metrics; k++)
      if (!json_object_get(metrics, rs[i].metrics[k].key))
        json_object_set_new(metrics, rs[i].metrics[k].key,
                            compare_row(rs, n, rs[i].metrics[k].key, 0));
  }
  return json_pack("{s:o, s:o, s:o}", "runs", ids, "params", params,
                   "metrics", metrics);
}

/* The rows of one section (params or metrics) into t: the key with '*'
 * when the runs' values differ, then one value per run. */
static int compare_section(struct table *t, const char *title, json_t *rows)
{
  const char *cells[TABLE_MAX_COLS] = {title};
  char vals[TABLE_MAX_COLS][32], mark[CLI_SAFE_MAX + 4];
  for (size_t j = 1; j < t->ncols; j++)
    cells[j] = "";
  int rc = table_row(t, cells);
  const char *key;
  json_t *row;
  json_object_foreach(rows, key, row)
  {
    if (rc)
      break;
    size_t i;
    json_t *v;
    int differ = 0;
    json_array_foreach(row, i, v)
    {
      differ |= !json_equal(v, json_array_get(row, 0));
      if (json_is_string(v))
        cells[1 + i] = open_end(json_string_value(v));
      else if (json_is_number(v)) {
        snprintf(vals[i], sizeof(vals[i]), "%.6g", json_number_value(v));
        cells[1 + i] = vals[i];
      } else
        cells[1 + i] = "-";
    }
    snprintf(mark, sizeof(mark), "%c %s", differ ? '*' : ' ', key);
    cells[0] = mark;
    rc = table_row(t, cells);
  }
  return rc;
}

static int runs_compare_run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                            int argc, char **args, struct hv_err *err)
{
  size_t n = (size_t)argc;
  if (n > TABLE_MAX_COLS - 1)
    return hv_err_set(err, HV_EINVAL, "runs compare: at most %d runs",
                      TABLE_MAX_COLS - 1);
  struct tracking_run *rs = calloc(n, sizeof(*rs));
  if (!rs)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  size_t got = 0;
  for (; got < n; got++) {
    struct tracking_run *r = NULL;
    char id[33];
    int rc = runs_resolve_id(db, args[got], id, err);
    if (!rc)
      rc = runs_get(db, id, &r, err);
    if (rc) {
      runs_free(rs, got);
      return rc;
    }
    rs[got] = *r;
    free(r);
  }
  json_t *j = compare_json(rs, n);
  if (ctx->json) {
    cli_print_json(j);
  } else if (j) {
    struct table t = {.ncols = 1 + n};
    const char *cells[TABLE_MAX_COLS] = {"  run"};
    for (size_t i = 0; i < n; i++)
      cells[1 + i] = rs[i].run_id;
    int rc = table_row(&t, cells);
    if (!rc)
      rc = compare_section(&t, "params:", json_object_get(j, "params"));
    if (!rc)
      rc = compare_section(&t, "metrics:", json_object_get(j, "metrics"));
    table_print_free(&t);
    json_decref(j);
    if (rc) {
      runs_free(rs, n);
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    }
  }
  runs_free(rs, n);
  return 0;
}

/* ---- history ---- */

static const struct cli_spec history_spec = {
    .cmd = "runs history",
    .usage = "RUN_ID METRIC [--json]",
    .about =
        "Every logged value of one metric of a run, by step (e.g. the\n"
        "per-epoch loss).\n",
    .min_args = 2,
    .max_args = 2,
    .args_msg = "expected RUN_ID and METRIC",
};

static int runs_history(struct cli_ctx *ctx, int argc, char **argv)
{
  int rc = cli_parse(ctx, &history_spec, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  struct tracking_metric *m = NULL;
  size_t n = 0;
  const char *key = argv[optind + 1];
  char id[33];
  if (runs_check_key(key, "metric", &err) ||
      cli_open_existing_home(ctx, &db, &err) ||
      runs_resolve_id(db, argv[optind], id, &err) ||
      tracking_metric_history(db, id, key, &m, &n, &err))
    return cli_close_report(db, &err);
  db_close(db);
  if (ctx->json) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
      json_array_append_new(
          a, json_pack("{s:I, s:o, s:f}", "step", (json_int_t)m[i].step,
                       "value", hv_json_num(m[i].value), "timestamp",
                       m[i].timestamp));
    cli_print_json(a);
  } else {
    printf("%-10s %-16s %s\n", "step", "value", "time");
    for (size_t i = 0; i < n; i++) {
      char t[32];
      printf("%-10lld %-16.8g %s\n", (long long)m[i].step, m[i].value,
             iso_time(m[i].timestamp, t));
    }
  }
  tracking_metrics_free(m, n);
  return 0;
}

/* ---- gc ---- */

static const struct cli_spec gc_spec = {
    .cmd = "runs gc",
    .usage = "[--older-than SECONDS] [--json]",
    .about =
        "Mark as FAILED every RUNNING run whose owning process is gone\n"
        "(killed, crashed, or the machine rebooted), optionally only runs\n"
        "started at least SECONDS ago. Runs of live processes and runs\n"
        "started on other hosts are left alone.\n",
};

static int runs_gc_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
  struct hv_err err = {0};
  double older = 0;
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_DBL, "older-than", 'o', "SECONDS",
               "only runs started at least SECONDS ago", &older),
       .fhi = 1e12},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &gc_spec, opts, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  struct hv_db *db = NULL;
  size_t n = 0;
  char(*ids)[33] = NULL;
  if (cli_open_home(ctx, &db, &err) ||
      runs_gc(db, older, &n, &ids, &err))
    return cli_close_report(db, &err);
  db_close(db);
  if (ctx->json) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
      json_array_append_new(a, json_string(ids[i]));
    cli_print_json(json_pack("{s:o}", "marked_failed", a));
  } else {
    for (size_t i = 0; i < n; i++)
      printf("%s  RUNNING -> FAILED (owner process gone)\n", ids[i]);
    printf("%zu run%s marked FAILED\n", n, n == 1 ? "" : "s");
  }
  free(ids);
  return 0;
}

static const struct cli_command runs_commands[] = {
    {"list", "search runs (filter, order, JSON)", .fn = runs_list},
    {"show", "one run with params, metrics, tags, lineage, artifacts",
     .spec = &show_spec, .run = runs_show_run},
    {"compare", "params and metrics of runs side by side",
     .spec = &compare_spec, .run = runs_compare_run},
    {"history", "all values of one metric of a run by step",
     .fn = runs_history},
    {"gc", "mark RUNNING runs of dead processes as FAILED", .fn = runs_gc_cmd},
};

int cmd_runs(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "runs", CLI_TABLE(runs_commands), argc,
                            argv);
}

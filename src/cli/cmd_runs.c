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
#include "track/runs.h"
#include "util/json.h"
#include "util/parse.h"

/* "2024-01-02T03:04:05Z" for t (seconds since the epoch) into buf. */
static const char *iso_time(double t, char buf[32])
{
  return t <= 0 ? "-" : cli_utc(t, CLI_UTC_TIME, buf, 32);
}

static const struct cli_opt no_opts[] = {CLI_OPTS_END};

/* ---- list ---- */

static void print_run_line(const struct tracking_run *r)
{
  char t[32];
  int gone = !strcmp(r->status, "RUNNING") &&
             runs_owner_state(r) == RUNS_OWNER_DEAD;
  printf("%s  %-8s  %-20s  %-16.16s  %s%s\n", r->run_id, r->status,
         iso_time(r->start_time, t), CLI_SAFE(r->experiment),
         CLI_SAFE(r->name),
         gone ? "  (owner gone; see 'harvest runs gc')" : "");
}

static int runs_list(struct cli_ctx *ctx, int argc, char **argv)
{
  struct runs_query q = {0};
  struct hv_err err = {0};
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "experiment", 'e', "NAME", "runs of this experiment",
               &q.experiment)},
      {CLI_OPT(CLI_STR, "filter", 'f', "EXPR",
               "MLflow search expression (see above)", &q.filter)},
      {CLI_OPT(CLI_STR, "order-by", 'o', "\"metrics.KEY DESC\"",
               "sort order (default: newest first)", &q.order_by)},
      {CLI_OPT(CLI_SIZE, "max", 'n', "N", "at most N runs", &q.max),
       .lo = 1, .hi = 1000000000},
      CLI_OPTS_END};
  const struct cli_spec spec = {
      .cmd = "runs list",
      .usage = "[--experiment NAME] [--filter EXPR]\n"
               "         [--order-by \"metrics.KEY DESC\"] [--max N] [--json]",
      .about =
          "Runs, newest first, with their params, latest metrics and tags.\n"
          "EXPR follows MLflow's search syntax, e.g.\n"
          "  params.dim = '32' and metrics.top_100_categorical_accuracy > "
          "0.3\n"
          "  tags.x != 'y'   attributes.status = 'FINISHED'   "
          "attributes.run_name LIKE 'tune-%'\n"
          "Operators: = != < <= > >= LIKE ILIKE IN; AND joins comparisons.\n"
          "A RUNNING run whose process is gone is marked \"owner gone\" "
          "until\n'harvest runs gc' marks it FAILED.\n",
      .opts = opts,
  };
  int rc = cli_parse(ctx, &spec, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  struct hv_db *db = NULL;
  struct tracking_run *runs = NULL;
  size_t n = 0;
  if (cli_open_home(ctx, &db, &err) || runs_search(db, &q, &runs, &n, &err)) {
    db_close(db);
    return err.code == HV_EINVAL ? (cli_report(&err), HV_EUSAGE)
                                 : cli_report(&err);
  }
  db_close(db);
  if (ctx->json) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
      json_array_append_new(a, runs_to_json(&runs[i]));
    cli_print_json(a);
  } else {
    if (n == 0)
      printf("no runs\n");
    for (size_t i = 0; i < n; i++)
      print_run_line(&runs[i]);
  }
  runs_free(runs, n);
  return 0;
}

/* ---- show ---- */

static const struct cli_spec show_spec = {
    .cmd = "runs show",
    .usage = "RUN_ID [--json]",
    .about =
        "One run: status, times, owner, lineage (code and data version),\n"
        "params, latest metrics, tags and artifacts.\n",
    .opts = no_opts,
    .min_args = 1,
    .max_args = 1,
    .args_msg = "expected one RUN_ID",
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
    printf("  %-32s %s\n", CLI_SAFE(kv[i].key), CLI_SAFE(kv[i].value));
}

static void print_run(const struct tracking_run *r, json_t *arts)
{
  char t1[32], t2[32];
  print_run_line(r);
  printf("experiment:  %s\nname:        %s\nuser:        %s\n"
         "started:     %s\nended:       %s\nparent:      %s\n"
         "owner:       pid %lld on %s\ncode:        %s\n",
         CLI_SAFE(r->experiment), CLI_SAFE(r->name), CLI_SAFE(r->user),
         iso_time(r->start_time, t1), iso_time(r->end_time, t2),
         r->parent_run_id ? r->parent_run_id : "-", (long long)r->owner.pid,
         CLI_SAFE(r->owner.host),
         r->code_version ? CLI_SAFE(r->code_version) : "-");
  if (r->data_rows >= 0)
    printf("data:        rating_id %lld..%lld, %lld rows, sha256 %s\n",
           (long long)r->data_first_rating_id,
           (long long)r->data_last_rating_id, (long long)r->data_rows,
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
  if (runs_get(db, args[0], &r, err))
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

static int runs_show(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_run_db(ctx, &show_spec, argc, argv, runs_show_run, NULL);
}

/* ---- compare ---- */

static const struct cli_spec compare_spec = {
    .cmd = "runs compare",
    .usage = "RUN_ID RUN_ID... [--json]",
    .about =
        "Params and latest metrics of several runs side by side; '*' marks\n"
        "rows whose values differ. JSON: {runs: [...], params: {key:\n"
        "[value per run]}, metrics: {key: [value per run]}}.\n",
    .opts = no_opts,
    .min_args = 2,
    .max_args = -1,
    .args_msg = "expected at least two RUN_IDs",
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

static void print_compare_section(const char *title, json_t *rows)
{
  const char *key;
  json_t *row;
  printf("%s\n", title);
  json_object_foreach(rows, key, row)
  {
    size_t i;
    json_t *v;
    int differ = 0;
    json_array_foreach(row, i, v)
    {
      differ |= !json_equal(v, json_array_get(row, 0));
    }
    printf("%c %-30.30s", differ ? '*' : ' ', CLI_SAFE(key));
    json_array_foreach(row, i, v)
    {
      if (json_is_string(v))
        printf("  %-14.14s", CLI_SAFE(json_string_value(v)));
      else if (json_is_number(v))
        printf("  %-14.6g", json_number_value(v));
      else
        printf("  %-14s", "-");
    }
    printf("\n");
  }
}

static int runs_compare_run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                            int argc, char **args, struct hv_err *err)
{
  size_t n = (size_t)argc;
  struct tracking_run *rs = calloc(n, sizeof(*rs));
  if (!rs)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  size_t got = 0;
  for (; got < n; got++) {
    struct tracking_run *r = NULL;
    int rc = runs_get(db, args[got], &r, err);
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
    printf("  %-30s", "run");
    for (size_t i = 0; i < n; i++)
      printf("  %-14.8s", rs[i].run_id);
    printf("\n");
    print_compare_section("params:", json_object_get(j, "params"));
    print_compare_section("metrics:", json_object_get(j, "metrics"));
    json_decref(j);
  }
  runs_free(rs, n);
  return 0;
}

static int runs_compare(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_run_db(ctx, &compare_spec, argc, argv, runs_compare_run, NULL);
}

/* ---- history ---- */

static const struct cli_spec history_spec = {
    .cmd = "runs history",
    .usage = "RUN_ID METRIC [--json]",
    .about =
        "Every logged value of one metric of a run, by step (e.g. the\n"
        "per-epoch loss).\n",
    .opts = no_opts,
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
  const char *id = argv[optind], *key = argv[optind + 1];
  if (runs_check_id(id, &err) || runs_check_key(key, "metric", &err) ||
      cli_open_home(ctx, &db, &err) ||
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
  struct cli_spec spec = gc_spec;
  spec.opts = opts;
  int rc = cli_parse(ctx, &spec, argc, argv);
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
    {"list", "search runs (filter, order, JSON)", runs_list},
    {"show", "one run with params, metrics, tags, lineage, artifacts",
     runs_show},
    {"compare", "params and metrics of runs side by side", runs_compare},
    {"history", "all values of one metric of a run by step", runs_history},
    {"gc", "mark RUNNING runs of dead processes as FAILED", runs_gc_cmd},
};

int cmd_runs(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "runs", runs_commands,
                            sizeof(runs_commands) / sizeof(runs_commands[0]),
                            argc, argv);
}

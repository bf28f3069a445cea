/*
 * ui_runs.c - the tracking pages of the web UI: experiments, the runs
 * table of an experiment, one run, and runs compared side by side.
 *
 * Design: the runs table is one runs_search (four queries whatever the
 * number of runs) filtered and ordered by the same filter.h expressions
 * as `harvest runs list`; a bad expression is shown inline with status
 * 422. Its columns are the params that differ between the runs and the
 * usual metrics unless ?params= / ?metrics= choose them (comma lists or
 * repeated, as the "Columns" form sends them). Column headers are
 * ?order_by= links (server-side sort, works without JavaScript) and the
 * table is marked sortable for the client-side script. Keys are collected
 * with a small open-addressing hash set, so 1,000 runs x 30 keys stay well
 * inside the page's 50 ms budget. Charts come from each metric's full
 * history (tracking_metric_history).
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
#include "serve/http/routes.h"
#include "serve/ui/svg.h"
#include "serve/ui/ui_internal.h"
#include "store/tracking.h"
#include "store/ui_q.h"
#include "track/artifacts.h"
#include "track/runs.h"

#define MAX_ROWS_DEFAULT 1000
#define MAX_ROWS 10000
#define MAX_COLS 40          /* chosen param + metric columns */
#define MAX_COMPARE 20
#define MAX_CHARTS 24
#define MAX_HISTORY 20000    /* points drawn per metric */

/* ---- a set of distinct keys -------------------------------------------- */

struct keyset {
  const char **keys;   /* (n) borrowed from the runs, insertion order */
  size_t n, cap;
  uint32_t *slot;      /* (nslot) index + 1, 0 empty */
  size_t nslot;
};

static uint32_t hash_str(const char *s)
{
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static int keyset_rehash(struct keyset *k, size_t nslot)
{
  uint32_t *s = calloc(nslot, sizeof(*s));
  if (!s)
    return HV_ENOMEM;
  for (size_t i = 0; i < k->n; i++) {
    size_t j = hash_str(k->keys[i]) & (nslot - 1);
    while (s[j])
      j = (j + 1) & (nslot - 1);
    s[j] = (uint32_t)(i + 1);
  }
  free(k->slot);
  k->slot = s;
  k->nslot = nslot;
  return 0;
}

/* Add key (borrowed) unless present. 0 or HV_ENOMEM. */
static int keyset_add(struct keyset *k, const char *key)
{
  if (k->nslot == 0 || (k->n + 1) * 2 > k->nslot)
    if (keyset_rehash(k, k->nslot ? k->nslot * 2 : 64))
      return HV_ENOMEM;
  size_t j = hash_str(key) & (k->nslot - 1);
  while (k->slot[j]) {
    if (!strcmp(k->keys[k->slot[j] - 1], key))
      return 0;
    j = (j + 1) & (k->nslot - 1);
  }
  if (k->n == k->cap) {
    size_t nc = k->cap ? k->cap * 2 : 32;
    const char **p = realloc(k->keys, nc * sizeof(*p));
    if (!p)
      return HV_ENOMEM;
    k->keys = p;
    k->cap = nc;
  }
  k->keys[k->n++] = key;
  k->slot[j] = (uint32_t)k->n;
  return 0;
}

static void keyset_free(struct keyset *k)
{
  free(k->keys);
  free(k->slot);
  memset(k, 0, sizeof(*k));
}

static int cmp_str_ptr(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void keyset_sort(struct keyset *k)
{
  if (k->n > 1)
    qsort(k->keys, k->n, sizeof(*k->keys), cmp_str_ptr);
  free(k->slot); /* indexes are stale now; the set is read-only after */
  k->slot = NULL;
  k->nslot = 0;
}

/* ---- experiments --------------------------------------------------------- */

/* Link to the runs page of experiment name (path form unless the name
 * holds a '/'). */
static void experiment_href(struct html *h, const char *name)
{
  if (strchr(name, '/')) {
    html_raw(h, "/ui/experiments?name=");
  } else {
    html_raw(h, "/ui/experiments/");
  }
  html_url(h, name);
}

int ui_page_experiments(struct ui_page *p, struct hv_err *err)
{
  struct hv_db *db = ui_db(p, err);
  struct ui_q_experiment *ex = NULL;
  size_t n = 0;
  if (!db || ui_q_experiments(db, &ex, &n, err))
    return err->code;
  snprintf(p->title, sizeof(p->title), "Experiments");
  html_raw(&p->h, "<h1>Experiments</h1>");
  int64_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += ex[i].n_runs;
  if (total == 0)
    ui_empty(&p->h, "No runs have been tracked yet.",
             "harvest tune --grid dim=16,32 --grid lr=0.05,0.1");
  html_raw(&p->h,
           "<table class=\"data sortable experiments\"><thead><tr>"
           "<th>Experiment</th><th>Runs</th><th>Running</th>"
           "<th>Finished</th><th>Failed</th><th>Last activity (UTC)</th>"
           "<th>Created (UTC)</th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    char la[32], cr[32];
    html_raw(&p->h, "<tr><td><a href=\"");
    experiment_href(&p->h, ex[i].name);
    html_f(&p->h,
           "\">%s</a></td><td class=\"num\">%lld</td><td class=\"num\">%lld"
           "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
           "<td data-v=\"%.3f\">%s</td><td data-v=\"%.3f\">%s</td></tr>",
           ex[i].name, (long long)ex[i].n_runs, (long long)ex[i].n_running,
           (long long)ex[i].n_finished, (long long)ex[i].n_failed,
           ex[i].last_activity, ui_time(ex[i].last_activity, la, sizeof(la)),
           ex[i].created_at, ui_time(ex[i].created_at, cr, sizeof(cr)));
  }
  html_raw(&p->h, "</tbody></table>");
  free(ex);
  return 0;
}

/* ---- the runs table -------------------------------------------------------- */

/* The query of a runs page. */
struct runs_view {
  char name[512];             /* experiment */
  const char *filter, *order_by;
  size_t max;
  char *want_params, *want_metrics; /* comma lists (malloc'd) or NULL */
  const char *cols_p[MAX_COLS], *cols_m[MAX_COLS];
  size_t n_p, n_m;
};

/* Append value to the comma list *list (malloc'd). */
static int list_add(void *ctx, const char *value)
{
  char **list = ctx;
  size_t have = *list ? strlen(*list) : 0, add = strlen(value);
  if (have + add > 16384)
    return 0; /* ignore the rest of an absurd list */
  char *p = realloc(*list, have + add + 2);
  if (!p)
    return HV_ENOMEM;
  if (have)
    p[have++] = ',';
  memcpy(p + have, value, add + 1);
  *list = p;
  return 0;
}

/* Split a comma list in place into at most max entries of out; empty
 * entries are skipped. Returns the count. */
static size_t split_list(char *list, const char **out, size_t max)
{
  size_t n = 0;
  char *save = NULL;
  for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && n < max;
       t = strtok_r(NULL, ",", &save)) {
    while (*t == ' ')
      t++;
    if (*t)
      out[n++] = t;
  }
  return n;
}

/* Whether two of the runs that have param key give it different values
 * (a key only some runs have, like a tune parent's base.*, does not count
 * as varying by being missing). */
static int param_varies(const struct tracking_run *r, size_t n,
                        const char *key)
{
  const char *first = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *v = runs_param(&r[i], key);
    if (v && !first)
      first = v;
    else if (v && strcmp(v, first))
      return 1;
  }
  return 0;
}

static int has_key(const struct keyset *k, const char *key)
{
  for (size_t i = 0; i < k->n; i++)
    if (!strcmp(k->keys[i], key))
      return 1;
  return 0;
}

/* Default columns: up to 8 varying params (else the first 4) and the usual
 * metrics (else the first 6). */
static void default_columns(struct runs_view *v, const struct tracking_run *r,
                            size_t n, const struct keyset *pk,
                            const struct keyset *mk)
{
  static const char *const usual[] = {
      "top_100_categorical_accuracy", "top_10_categorical_accuracy",
      "loss", "test_loss", "drifted_share", "dataset_drift", "decision",
      "champion_top100", "challenger_top100", "promoted"};
  for (size_t i = 0; i < pk->n && v->n_p < 8; i++)
    if (param_varies(r, n, pk->keys[i]))
      v->cols_p[v->n_p++] = pk->keys[i];
  for (size_t i = 0; v->n_p == 0 && i < pk->n && i < 4; i++)
    v->cols_p[i] = pk->keys[i], v->n_p = i + 1;
  for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++)
    if (has_key(mk, usual[i]))
      v->cols_m[v->n_m++] = usual[i];
  for (size_t i = 0; v->n_m == 0 && i < mk->n && i < 6; i++)
    v->cols_m[i] = mk->keys[i], v->n_m = i + 1;
}

/* The keys of all runs; 0 or HV_ENOMEM. */
static int collect_keys(const struct tracking_run *r, size_t n,
                        struct keyset *pk, struct keyset *mk)
{
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < r[i].n_params; k++)
      if (keyset_add(pk, r[i].params[k].key))
        return HV_ENOMEM;
    for (size_t k = 0; k < r[i].n_metrics; k++)
      if (keyset_add(mk, r[i].metrics[k].key))
        return HV_ENOMEM;
  }
  keyset_sort(pk);
  keyset_sort(mk);
  return 0;
}

/* The page's own URL with another order_by (NULL: none), for links. */
static void runs_href(struct html *h, const struct runs_view *v,
                      const char *order_by)
{
  experiment_href(h, v->name);
  html_raw(h, strchr(v->name, '/') ? "&amp;" : "?");
  html_raw(h, "order_by=");
  html_url(h, order_by ? order_by : "");
  if (v->filter && *v->filter) {
    html_raw(h, "&amp;filter=");
    html_url(h, v->filter);
  }
  const char *const *lists[2] = {v->cols_p, v->cols_m};
  size_t counts[2] = {v->n_p, v->n_m};
  for (int k = 0; k < 2; k++) {
    html_raw(h, k ? "&amp;metrics=" : "&amp;params=");
    for (size_t i = 0; i < counts[k]; i++) {
      if (i)
        html_raw(h, "%2C");
      html_url(h, lists[k][i]);
    }
  }
}

/* "PREFIX.key" quoted with backticks when the key needs it. */
static void order_key(char *out, size_t cap, const char *prefix,
                      const char *key)
{
  int bare = 1;
  for (const char *c = key; *c; c++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789_./:-",
                *c))
      bare = 0;
  snprintf(out, cap, bare ? "%s.%s" : "%s.`%s`", prefix, key);
}

/* A sortable header: a link that toggles between ASC and DESC. */
static void sort_header(struct html *h, const struct runs_view *v,
                        const char *key, const char *label, int desc_first)
{
  char asc[600], desc[600];
  snprintf(asc, sizeof(asc), "%s ASC", key);
  snprintf(desc, sizeof(desc), "%s DESC", key);
  const char *cur = v->order_by ? v->order_by : "";
  int is_asc = !strcmp(cur, asc), is_desc = !strcmp(cur, desc);
  const char *next = is_asc ? desc : is_desc ? asc : desc_first ? desc : asc;
  html_raw(h, is_asc    ? "<th aria-sort=\"ascending\"><a href=\""
              : is_desc ? "<th aria-sort=\"descending\"><a href=\""
                        : "<th><a href=\"");
  runs_href(h, v, next);
  html_f(h, "\" title=\"sort by %s\">%s</a></th>", key, label);
}

static void runs_thead(struct html *h, const struct runs_view *v)
{
  html_raw(h, "<thead><tr><th data-nosort><span class=\"muted\">"
              "compare</span></th>");
  sort_header(h, v, "attributes.run_name", "Run", 0);
  sort_header(h, v, "attributes.status", "Status", 0);
  sort_header(h, v, "attributes.start_time", "Started (UTC)", 1);
  html_raw(h, "<th>Duration</th>");
  char key[600];
  for (size_t i = 0; i < v->n_p; i++) {
    order_key(key, sizeof(key), "params", v->cols_p[i]);
    sort_header(h, v, key, v->cols_p[i], 0);
  }
  for (size_t i = 0; i < v->n_m; i++) {
    order_key(key, sizeof(key), "metrics", v->cols_m[i]);
    sort_header(h, v, key, v->cols_m[i], 1);
  }
  html_raw(h, "</tr></thead>");
}

static void status_badge(struct html *h, const struct tracking_run *r)
{
  int gone = !strcmp(r->status, "RUNNING") &&
             runs_owner_state(r) == RUNS_OWNER_DEAD;
  html_f(h, "<span class=\"status %s\">%s</span>", r->status, r->status);
  if (gone)
    html_raw(h, " <span class=\"muted\" title=\"the process that ran it is "
                "gone; harvest runs gc marks it FAILED\">owner gone</span>");
}

static double run_seconds(const struct tracking_run *r, double now)
{
  double end = r->end_time > 0 ? r->end_time : now;
  return end - r->start_time;
}

static void runs_row(struct html *h, const struct runs_view *v,
                     const struct tracking_run *r, double now)
{
  char t[32], d[32];
  double secs = run_seconds(r, now);
  html_f(h,
         "<tr><td><input type=\"checkbox\" name=\"runs\" value=\"%s\" "
         "aria-label=\"compare %s\"></td><td data-v=\"%s\">",
         r->run_id, r->name, r->name);
  ui_run_link(h, r->run_id, r->name);
  html_f(h,
         "</td><td data-v=\"%s\">", r->status);
  status_badge(h, r);
  html_f(h,
         "</td><td data-v=\"%.3f\">%s</td><td class=\"num\" data-v=\"%.3f\">"
         "%s</td>",
         r->start_time, ui_time(r->start_time, t, sizeof(t)), secs,
         ui_duration(secs, d, sizeof(d)));
  for (size_t i = 0; i < v->n_p; i++) {
    const char *pv = runs_param(r, v->cols_p[i]);
    html_f(h, "<td>%s</td>", pv ? pv : "");
  }
  for (size_t i = 0; i < v->n_m; i++) {
    double m = runs_metric(r, v->cols_m[i]);
    char num[32];
    if (isnan(m))
      html_raw(h, "<td class=\"num\"></td>");
    else
      html_f(h, "<td class=\"num\" data-v=\"%.17g\">%s</td>", m,
             html_num(m, num, sizeof(num)));
  }
  html_raw(h, "</tr>");
}

/* The filter form (keeps the order and the columns). */
static void filter_form(struct html *h, const struct runs_view *v,
                        const char *action_name)
{
  html_raw(h, "<form class=\"filter\" method=\"get\" action=\"");
  experiment_href(h, action_name);
  html_f(h,
         "\"><label>Filter <input type=\"text\" name=\"filter\" "
         "value=\"%s\" placeholder=\"metrics.top_100_categorical_accuracy "
         "&gt; 0.3 and params.dim = '32'\"></label> ",
         v->filter ? v->filter : "");
  if (strchr(v->name, '/'))
    html_f(h, "<input type=\"hidden\" name=\"name\" value=\"%s\">", v->name);
  html_f(h, "<input type=\"hidden\" name=\"order_by\" value=\"%s\">",
         v->order_by ? v->order_by : "");
  html_raw(h, "<button type=\"submit\">Apply</button> <a href=\"");
  experiment_href(h, action_name);
  html_raw(h, "\">clear</a> <span class=\"muted\">same syntax as "
              "<code>harvest runs list --filter</code>; order with "
              "<code>?order_by=metrics.loss ASC</code></span></form>");
}

/* The "Columns" chooser: a GET form of checkboxes. */
static void columns_form(struct html *h, const struct runs_view *v,
                         const struct keyset *pk, const struct keyset *mk)
{
  html_raw(h, "<details class=\"columns\"><summary>Columns</summary>"
              "<form method=\"get\" action=\"");
  experiment_href(h, v->name);
  html_raw(h, "\">");
  if (strchr(v->name, '/'))
    html_f(h, "<input type=\"hidden\" name=\"name\" value=\"%s\">", v->name);
  html_f(h,
         "<input type=\"hidden\" name=\"filter\" value=\"%s\">"
         "<input type=\"hidden\" name=\"order_by\" value=\"%s\">",
         v->filter ? v->filter : "", v->order_by ? v->order_by : "");
  const struct keyset *sets[2] = {pk, mk};
  const char *const *cols[2] = {v->cols_p, v->cols_m};
  size_t ncols[2] = {v->n_p, v->n_m};
  for (int k = 0; k < 2; k++) {
    html_f(h, "<p><b>%s</b> ", k ? "Metrics" : "Params");
    for (size_t i = 0; i < sets[k]->n; i++) {
      int on = 0;
      for (size_t j = 0; j < ncols[k]; j++)
        on |= !strcmp(cols[k][j], sets[k]->keys[i]);
      html_f(h,
             "<label><input type=\"checkbox\" name=\"%s\" value=\"%s\"%s>"
             " %s</label> ",
             k ? "metrics" : "params", sets[k]->keys[i],
             on ? " checked" : "", sets[k]->keys[i]);
    }
    html_raw(h, "</p>");
  }
  html_raw(h, "<button type=\"submit\">Show columns</button></form>"
              "</details>");
}

/* Read the page's query into v. */
static int runs_view_read(struct ui_page *p, struct runs_view *v,
                          struct hv_err *err)
{
  struct srv_req *req = p->req;
  const char *qname = srv_query(req, "name");
  if (req->match.n_captures > 0) {
    if (rt_capture(&req->match, 0, v->name, sizeof(v->name)))
      return hv_err_set(err, HV_EINVAL, "experiment name is too long");
  } else if (qname && strlen(qname) < sizeof(v->name)) {
    snprintf(v->name, sizeof(v->name), "%s", qname);
  } else {
    return hv_err_set(err, HV_EINVAL, "name: experiment name is required");
  }
  v->filter = srv_query(req, "filter");
  v->order_by = srv_query(req, "order_by");
  if (v->order_by && !*v->order_by)
    v->order_by = NULL;
  int64_t max;
  if (routes_query_int(req, "max", 0, MAX_ROWS_DEFAULT, 1, MAX_ROWS, &max,
                       err))
    return err->code;
  v->max = (size_t)max;
  if (srv_query_each(req, "params", list_add, &v->want_params) ||
      srv_query_each(req, "metrics", list_add, &v->want_metrics))
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  return 0;
}

static void runs_table(struct html *h, struct runs_view *v,
                       const struct tracking_run *runs, size_t n)
{
  double now = (double)time(NULL);
  size_t shown = n < v->max ? n : v->max;
  html_raw(h, "<form method=\"get\" action=\"/ui/compare\" class=\"runs\">"
              "<p><button type=\"submit\">Compare selected runs</button> "
              "<span class=\"muted\">tick two or more runs</span></p>"
              "<div class=\"scroll\"><table class=\"data sortable runs\">");
  runs_thead(h, v);
  html_raw(h, "<tbody>");
  for (size_t i = 0; i < shown; i++)
    runs_row(h, v, &runs[i], now);
  html_raw(h, "</tbody></table></div></form>");
  if (shown < n)
    html_f(h, "<p class=\"muted\">Showing the first %zu of %zu runs "
              "(add <code>&amp;max=N</code> for more).</p>",
           shown, n);
}

int ui_page_runs(struct ui_page *p, struct hv_err *err)
{
  struct runs_view v = {.max = MAX_ROWS_DEFAULT};
  struct tracking_run *runs = NULL;
  size_t n = 0;
  struct keyset pk = {0}, mk = {0};
  struct hv_db *db = NULL;
  int rc = runs_view_read(p, &v, err);
  if (!rc && !(db = ui_db(p, err)))
    rc = err->code;
  if (rc)
    goto cleanup;
  snprintf(p->title, sizeof(p->title), "%s", v.name);
  struct runs_query q = {.experiment = v.name, .filter = v.filter,
                         .order_by = v.order_by};
  struct hv_err serr = {0};
  int src = runs_search(db, &q, &runs, &n, &serr);
  if (src == HV_ENOTFOUND || (src && src != HV_EINVAL)) {
    rc = hv_err_set(err, src, "%s", serr.msg);
    goto cleanup;
  }
  html_f(&p->h, "<h1>Experiment %s</h1>", v.name);
  if (src == HV_EINVAL) { /* a bad filter or order: say so, keep the form */
    p->status = 422;
    ui_error_box(&p->h, serr.msg);
    filter_form(&p->h, &v, v.name);
    goto cleanup;
  }
  if ((rc = collect_keys(runs, n, &pk, &mk)) != 0) {
    hv_err_set(err, rc, "out of memory");
    goto cleanup;
  }
  v.n_p = split_list(v.want_params, v.cols_p, MAX_COLS);
  v.n_m = split_list(v.want_metrics, v.cols_m, MAX_COLS);
  if (!v.want_params && !v.want_metrics)
    default_columns(&v, runs, n, &pk, &mk);
  filter_form(&p->h, &v, v.name);
  columns_form(&p->h, &v, &pk, &mk);
  html_f(&p->h, "<p class=\"count\"><b>%zu</b> run%s%s</p>", n,
         n == 1 ? "" : "s", v.filter && *v.filter ? " match the filter" : "");
  if (n == 0)
    ui_empty(&p->h, v.filter && *v.filter ? "No run matches the filter."
                                          : "This experiment has no runs.",
             NULL);
  else
    runs_table(&p->h, &v, runs, n);
cleanup:
  keyset_free(&pk);
  keyset_free(&mk);
  runs_free(runs, n);
  free(v.want_params);
  free(v.want_metrics);
  return rc;
}

/* ---- one run ----------------------------------------------------------------- */

static void kv_table(struct html *h, const char *cls,
                     const struct tracking_kv *kv, size_t n,
                     const char *none)
{
  if (n == 0) {
    html_f(h, "<p class=\"muted\">%s</p>", none);
    return;
  }
  html_f(h, "<table class=\"data sortable %s\"><thead><tr><th>Key</th>"
            "<th>Value</th></tr></thead><tbody>",
         cls);
  for (size_t i = 0; i < n; i++)
    html_f(h, "<tr><td>%s</td><td class=\"mono\">%s</td></tr>", kv[i].key,
           kv[i].value);
  html_raw(h, "</tbody></table>");
}

static void run_summary(struct html *h, const struct tracking_run *r)
{
  char t0[32], t1[32], d[32];
  double now = (double)time(NULL);
  html_f(h, "<h1>Run %s</h1><table class=\"data summary\"><tbody>"
            "<tr><th>Run id</th><td class=\"mono\">%s</td></tr>"
            "<tr><th>Experiment</th><td><a href=\"",
         r->name, r->run_id);
  experiment_href(h, r->experiment);
  html_f(h, "\">%s</a></td></tr><tr><th>Status</th><td>", r->experiment);
  status_badge(h, r);
  html_f(h,
         "</td></tr><tr><th>Started (UTC)</th><td>%s</td></tr>"
         "<tr><th>Ended (UTC)</th><td>%s</td></tr>"
         "<tr><th>Duration</th><td>%s</td></tr>"
         "<tr><th>User</th><td>%s</td></tr>",
         ui_time(r->start_time, t0, sizeof(t0)),
         ui_time(r->end_time, t1, sizeof(t1)),
         ui_duration(run_seconds(r, now), d, sizeof(d)),
         r->user ? r->user : "");
  if (r->parent_run_id) {
    html_raw(h, "<tr><th>Parent run</th><td>");
    ui_run_link(h, r->parent_run_id, NULL);
    html_raw(h, "</td></tr>");
  }
  html_raw(h, "</tbody></table>");
}

static void run_lineage(struct html *h, const struct tracking_run *r)
{
  html_f(h, "<h2>Lineage</h2><table class=\"data lineage\"><tbody>"
            "<tr><th>Code version</th><td class=\"mono\">%s</td></tr>",
         r->code_version ? r->code_version : "not recorded");
  if (r->data_rows >= 0)
    html_f(h,
           "<tr><th>Data range (rating_id)</th><td>%lld .. %lld</td></tr>"
           "<tr><th>Rows</th><td>%lld</td></tr>"
           "<tr><th>Data fingerprint (SHA-256)</th><td class=\"mono\">%s"
           "</td></tr>",
           (long long)r->data_first_rating_id,
           (long long)r->data_last_rating_id, (long long)r->data_rows,
           r->data_sha256 ? r->data_sha256 : "");
  else
    html_raw(h, "<tr><th>Data</th><td class=\"muted\">no data lineage "
                "recorded</td></tr>");
  html_raw(h, "</tbody></table>");
}

static int run_artifacts(struct html *h, struct hv_db *db,
                         const struct tracking_run *r, struct hv_err *err)
{
  struct tracking_artifact *a = NULL;
  size_t n = 0;
  if (artifacts_list(db, r->run_id, &a, &n, err))
    return err->code;
  html_raw(h, "<h2>Artifacts</h2>");
  if (n == 0)
    html_raw(h, "<p class=\"muted\">No artifacts.</p>");
  else
    html_raw(h, "<table class=\"data sortable artifacts\"><thead><tr>"
                "<th>Path</th><th>Size (bytes)</th><th>SHA-256</th>"
                "<th>Stored (UTC)</th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    char t[32];
    html_f(h,
           "<tr><td class=\"mono\">%s</td><td class=\"num\">%lld</td>"
           "<td class=\"mono\">%s</td><td>%s</td></tr>",
           a[i].path, (long long)a[i].size, a[i].sha256,
           ui_time(a[i].created_at, t, sizeof(t)));
  }
  if (n)
    html_raw(h, "</tbody></table>");
  tracking_artifacts_free(a, n);
  return 0;
}

/* One metric's history as chart arrays (x = step); *n 0 when it has none.
 * Caller frees *x and *y. */
static int metric_series(struct hv_db *db, const char *run_id,
                         const char *key, double **x, double **y, size_t *n,
                         struct hv_err *err)
{
  struct tracking_metric *m = NULL;
  size_t k = 0;
  *x = *y = NULL;
  *n = 0;
  if (tracking_metric_history(db, run_id, key, &m, &k, err))
    return err->code;
  if (k > MAX_HISTORY)
    k = MAX_HISTORY;
  if (k) {
    *x = malloc(k * sizeof(double));
    *y = malloc(k * sizeof(double));
    if (!*x || !*y) {
      free(*x);
      free(*y);
      *x = *y = NULL;
      tracking_metrics_free(m, k);
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    }
  }
  for (size_t i = 0; i < k; i++) {
    (*x)[i] = (double)m[i].step;
    (*y)[i] = m[i].value;
  }
  *n = k;
  tracking_metrics_free(m, k);
  return 0;
}

/* Chart order: losses, then accuracies, then the rest (a stable rank). */
static int chart_rank(const char *key)
{
  if (strstr(key, "loss"))
    return 0;
  if (strstr(key, "accuracy") || strstr(key, "recall") ||
      strstr(key, "ndcg"))
    return 1;
  return 2;
}

/* A chart per metric with at least two steps, ranked as chart_rank. */
static int run_charts(struct html *h, struct hv_db *db,
                      const struct tracking_run *r, struct hv_err *err)
{
  int charts = 0;
  html_raw(h, "<div class=\"charts\">");
  for (int rank = 0; rank < 3; rank++)
    for (size_t i = 0; i < r->n_metrics && charts < MAX_CHARTS; i++) {
      if (chart_rank(r->metrics[i].key) != rank)
        continue;
      double *x, *y;
      size_t n;
      if (metric_series(db, r->run_id, r->metrics[i].key, &x, &y, &n, err))
        return err->code;
      if (n >= 2) { /* one value is in the table; a line needs two */
        struct svg_series s = {r->metrics[i].key, x, y, n};
        struct svg_line_opts o = {.width = 420, .height = 220,
                                  .title = r->metrics[i].key,
                                  .x_label = "step", .threshold = NAN};
        svg_line_chart(h, &o, &s, 1);
        charts++;
      }
      free(x);
      free(y);
    }
  html_raw(h, "</div>");
  if (charts == 0)
    html_raw(h, "<p class=\"muted\">Every metric has a single value (no "
                "chart over steps).</p>");
  return 0;
}

static int run_metrics(struct html *h, struct hv_db *db,
                       const struct tracking_run *r, struct hv_err *err)
{
  html_raw(h, "<h2>Metrics</h2>");
  if (r->n_metrics == 0) {
    html_raw(h, "<p class=\"muted\">No metrics.</p>");
    return 0;
  }
  if (run_charts(h, db, r, err))
    return err->code;
  html_raw(h, "<details open><summary>Latest values</summary><table "
              "class=\"data sortable metrics\"><thead><tr><th>Metric</th>"
              "<th>Latest</th><th>Step</th></tr></thead><tbody>");
  for (size_t i = 0; i < r->n_metrics; i++) {
    char v[32];
    html_f(h,
           "<tr><td>%s</td><td class=\"num\" data-v=\"%.17g\">%s</td>"
           "<td class=\"num\">%lld</td></tr>",
           r->metrics[i].key, r->metrics[i].value,
           html_num(r->metrics[i].value, v, sizeof(v)),
           (long long)r->metrics[i].step);
  }
  html_raw(h, "</tbody></table></details>");
  return 0;
}

/* The child runs (tune trials, retraining challengers) of r. */
static int run_children(struct html *h, struct hv_db *db,
                        const struct tracking_run *r, struct hv_err *err)
{
  char filter[80];
  snprintf(filter, sizeof(filter), "attributes.parent_run_id = '%s'",
           r->run_id); /* a checked 32-hex id */
  struct runs_query q = {.filter = filter};
  struct tracking_run *kids = NULL;
  size_t n = 0;
  if (runs_search(db, &q, &kids, &n, err))
    return err->code;
  if (n) {
    html_f(h, "<h2>Child runs (%zu)</h2><table class=\"data sortable "
              "children\"><thead><tr><th>Run</th><th>Experiment</th>"
              "<th>Status</th></tr></thead><tbody>",
           n);
    for (size_t i = 0; i < n; i++) {
      html_raw(h, "<tr><td>");
      ui_run_link(h, kids[i].run_id, kids[i].name);
      html_f(h, "</td><td>%s</td><td>", kids[i].experiment);
      status_badge(h, &kids[i]);
      html_raw(h, "</td></tr>");
    }
    html_raw(h, "</tbody></table>");
  }
  runs_free(kids, n);
  return 0;
}

/* The run id of the page's first capture, checked (HV_EINVAL). */
static int run_id_of(struct ui_page *p, char id[33], struct hv_err *err)
{
  char buf[80];
  if (rt_capture(&p->req->match, 0, buf, sizeof(buf)))
    return hv_err_set(err, HV_EINVAL, "run id: too long (expected 32 hex)");
  if (runs_check_id(buf, err))
    return err->code;
  memcpy(id, buf, 33);
  return 0;
}

int ui_page_run(struct ui_page *p, struct hv_err *err)
{
  char id[33];
  struct tracking_run *r = NULL;
  struct hv_db *db = NULL;
  if (run_id_of(p, id, err) || !(db = ui_db(p, err)) ||
      runs_get(db, id, &r, err))
    return err->code;
  snprintf(p->title, sizeof(p->title), "Run %s", r->name);
  run_summary(&p->h, r);
  int rc = run_metrics(&p->h, db, r, err);
  if (!rc) {
    html_raw(&p->h, "<h2>Params</h2>");
    kv_table(&p->h, "params", r->params, r->n_params, "No params.");
    html_raw(&p->h, "<h2>Tags</h2>");
    kv_table(&p->h, "tags", r->tags, r->n_tags, "No tags.");
    run_lineage(&p->h, r);
    rc = run_artifacts(&p->h, db, r, err);
  }
  if (!rc)
    rc = run_children(&p->h, db, r, err);
  runs_free(r, 1);
  return rc;
}

/* ---- compare ------------------------------------------------------------------ */

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
      const char *v = runs_param(c->runs[i], key);
      html_f(h, "<td>%s</td>", v ? v : "");
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
    status_badge(h, c->runs[i]);
    html_raw(h, "</td>");
  }
  html_raw(h, "</tr><tr><th>Duration</th>");
  for (size_t i = 0; i < c->n; i++) {
    char d[32];
    html_f(h, "<td>%s</td>",
           ui_duration(run_seconds(c->runs[i], now), d, sizeof(d)));
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
  for (size_t k = 0; k < mk->n && charts < MAX_CHARTS && !rc; k++) {
    struct svg_series s[MAX_COMPARE];
    double *xs[MAX_COMPARE] = {0}, *ys[MAX_COMPARE] = {0};
    size_t longest = 0;
    for (size_t i = 0; i < c->n && !rc; i++) {
      size_t n = 0;
      rc = metric_series(c->db, c->runs[i]->run_id, mk->keys[k], &xs[i],
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

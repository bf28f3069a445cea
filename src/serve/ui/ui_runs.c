/*
 * ui_runs.c - the tracking pages of the web UI that list runs: the
 * experiments, and the runs table of an experiment (one run is ui_run.c,
 * runs side by side ui_compare.c); the run helpers those pages share.
 *
 * Design: the runs table is one runs_search (four queries whatever the
 * number of runs) filtered and ordered by the same filter.h expressions
 * as `harvest runs list`; a bad expression is shown inline with status
 * 422. Its columns are the params that differ between the runs and the
 * usual metrics unless ?params= / ?metrics= choose them (comma lists or
 * repeated, as the "Columns" form sends them). Column headers are
 * ?order_by= links (server-side sort, works without JavaScript) and the
 * table is marked sortable for the client-side script. Keys are collected
 * in a keyset (keyset.h).
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
#include "util/mem.h"

#define MAX_ROWS_DEFAULT 1000
#define MAX_ROWS 10000
#define MAX_COLS 40          /* chosen param + metric columns */

/* ---- experiments --------------------------------------------------------- */

void ui_runs_experiment_href(struct html *h, const char *name)
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
  struct tracking_experiment *ex = NULL;
  size_t n = 0;
  if (!db || tracking_experiments(db, &ex, &n, err))
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
    ui_runs_experiment_href(&p->h, ex[i].name);
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
  ui_runs_experiment_href(h, v->name);
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

void ui_runs_status_badge(struct html *h, const struct tracking_run *r)
{
  int gone = !strcmp(r->status, "RUNNING") &&
             runs_owner_state(r) == RUNS_OWNER_DEAD;
  html_f(h, "<span class=\"status %s\">%s</span>", r->status, r->status);
  if (gone)
    html_raw(h, " <span class=\"muted\" title=\"the process that ran it is "
                "gone; harvest runs gc marks it FAILED\">owner gone</span>");
}

double ui_runs_seconds(const struct tracking_run *r, double now)
{
  double end = r->end_time > 0 ? r->end_time : now;
  return end - r->start_time;
}

/* Where a row sits in the tree: its depth (0 top level), the top-level
 * run it is under (NULL at depth 0) and, at depth 0, how many runs are
 * nested under it. */
struct row_place {
  int depth;
  const char *root;
  size_t kids;
};

static void runs_row(struct html *h, const struct runs_view *v,
                     const struct tracking_run *r, double now,
                     const struct row_place *pl)
{
  char t[32], d[32];
  double secs = ui_runs_seconds(r, now);
  if (pl->root)
    html_f(h, "<tr class=\"child\" data-root=\"%s\">", pl->root);
  else
    html_raw(h, "<tr>");
  html_f(h,
         "<td><input type=\"checkbox\" name=\"runs\" value=\"%s\" "
         "aria-label=\"compare %s\"></td><td data-v=\"%s\" "
         "class=\"name d%d\">",
         r->run_id, r->name, r->name, pl->depth < 4 ? pl->depth : 4);
  if (pl->kids)
    html_f(h, "<button type=\"button\" class=\"kids\" data-run=\"%s\" "
              "aria-expanded=\"true\" title=\"show or hide the %zu nested "
              "runs\">%zu</button> ", r->run_id, pl->kids, pl->kids);
  else if (pl->depth)
    html_raw(h, "<span class=\"muted\">&#8627;</span> ");
  ui_run_link(h, r->run_id, r->name);
  if (pl->kids)
    html_f(h, " <a class=\"tune-charts\" href=\"/ui/runs/%s/tune\" "
              "title=\"the nested runs as charts\">charts</a>",
           r->run_id);
  html_f(h,
         "</td><td data-v=\"%s\">", r->status);
  ui_runs_status_badge(h, r);
  html_f(h,
         "</td><td data-v=\"%.3f\">%s</td><td class=\"num\" data-v=\"%.3f\">"
         "%s</td>",
         r->start_time, ui_time(r->start_time, t, sizeof(t)), secs,
         ui_duration(secs, d, sizeof(d)));
  for (size_t i = 0; i < v->n_p; i++) {
    html_raw(h, "<td>"); /* a long JSON value folds */
    ui_long_text(h, runs_param(r, v->cols_p[i]));
    html_raw(h, "</td>");
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
  ui_runs_experiment_href(h, action_name);
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
  ui_runs_experiment_href(h, action_name);
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
  ui_runs_experiment_href(h, v->name);
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

/* The shown runs as a tree, as MLflow nests child runs: by_id sorted by
 * run id to find a parent among them by binary search. */
struct id_index {
  const char *id;
  size_t i;
};

struct tree {
  const struct tracking_run *runs;
  size_t n;
  struct id_index *by_id;    /* (n) sorted by run id */
  size_t *first, *next, *last; /* (n) child lists; SIZE_MAX: none */
};

static int cmp_by_id(const void *a, const void *b)
{
  return strcmp(((const struct id_index *)a)->id,
                ((const struct id_index *)b)->id);
}

/* The index of run id among the shown runs, or SIZE_MAX. */
static size_t tree_find(const struct tree *t, const char *id)
{
  size_t lo = 0, hi = t->n;
  while (id && lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(t->by_id[mid].id, id);
    if (!c)
      return t->by_id[mid].i;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return SIZE_MAX;
}

static size_t tree_count(const struct tree *t, size_t i, int depth)
{
  size_t k = 0;
  for (size_t c = t->first[i]; c != SIZE_MAX && depth < 32; c = t->next[c])
    k += 1 + tree_count(t, c, depth + 1);
  return k;
}

static void tree_rows(struct html *h, const struct runs_view *v,
                      const struct tree *t, size_t i, double now,
                      struct row_place pl)
{
  runs_row(h, v, &t->runs[i], now, &pl);
  struct row_place cp = {pl.depth + 1, pl.root ? pl.root : t->runs[i].run_id,
                         0};
  for (size_t c = t->first[i]; c != SIZE_MAX && pl.depth < 32; c = t->next[c])
    tree_rows(h, v, t, c, now, cp);
}

/* Link each shown run under its parent when the parent is shown too;
 * 0 or HV_ENOMEM. A cycle cannot occur (a parent exists before its
 * child), and depth is capped all the same. */
static int tree_build(struct tree *t, const struct tracking_run *runs,
                      size_t n)
{
  t->runs = runs;
  t->n = n;
  t->by_id = malloc((n ? n : 1) * sizeof(struct id_index));
  t->first = malloc((n ? n : 1) * sizeof(size_t));
  t->next = malloc((n ? n : 1) * sizeof(size_t));
  t->last = malloc((n ? n : 1) * sizeof(size_t));
  if (!t->by_id || !t->first || !t->next || !t->last)
    return HV_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    t->by_id[i] = (struct id_index){runs[i].run_id, i};
    t->first[i] = t->next[i] = t->last[i] = SIZE_MAX;
  }
  qsort(t->by_id, n, sizeof(struct id_index), cmp_by_id);
  for (size_t i = 0; i < n; i++) {
    size_t pi = tree_find(t, runs[i].parent_run_id);
    if (pi == SIZE_MAX || pi == i)
      continue;
    if (t->last[pi] == SIZE_MAX)
      t->first[pi] = i;
    else
      t->next[t->last[pi]] = i;
    t->last[pi] = i;
  }
  return 0;
}

static void tree_free(struct tree *t)
{
  HV_FREE_ALL(t->by_id, t->first, t->next, t->last);
}

static void runs_table(struct html *h, struct runs_view *v,
                       const struct tracking_run *runs, size_t n)
{
  double now = (double)time(NULL);
  size_t shown = n < v->max ? n : v->max;
  struct tree t = {0};
  /* an explicit ?order_by= keeps its order: flat rows (as does running
   * out of memory); else children under their parent */
  int flat = (v->order_by && *v->order_by) || tree_build(&t, runs, shown);
  html_raw(h, "<form method=\"get\" action=\"/ui/compare\" class=\"runs\">"
              "<p><button type=\"submit\">Compare selected runs</button> "
              "<span class=\"muted\">tick two or more runs</span></p>"
              "<div class=\"scroll\"><table class=\"data sortable runs\">");
  runs_thead(h, v);
  html_raw(h, "<tbody>");
  for (size_t i = 0; i < shown; i++) {
    struct row_place top = {0, NULL, flat ? 0 : tree_count(&t, i, 0)};
    if (flat)
      runs_row(h, v, &runs[i], now, &top);
    else if (tree_find(&t, runs[i].parent_run_id) == SIZE_MAX)
      tree_rows(h, v, &t, i, now, top);
  }
  tree_free(&t);
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

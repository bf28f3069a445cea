/*
 * test_ui.c - the web UI (serve/ui*.c, html.c, svg.c): the HTML builder's
 * escaping and the SVG charts as units, then every page served in process
 * on 127.0.0.1 against a home filled by a scripted synth + tune + monitor +
 * retrain (ui_fixture.h), read with libcurl: rows, values and chart
 * elements; sorting and filtering (bad filters inline with 422); run,
 * compare, registry, monitoring, data and user pages; hostile titles,
 * names, params and tags rendered as text; HTML 404 / 422 pages; the
 * security headers; the CSRF and credential checks of promote / archive
 * (on a model the fixture registers for them, not on what retraining did);
 * and the render time of a 1,000-run table (printed; < 50 ms on a quiet
 * machine, asserted < 250 ms so a loaded CI machine does not flake).
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/http/auth.h"
#include "serve/ui/html.h"
#include "serve/ui/svg.h"
#include "serve/ui/ui.h"
#include "store/registry_db.h"
#include "ui_fixture.h"
#include "util/fsutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static struct uif g_f;
static char g_hhome[256], g_hmodel[512];
static struct serve *g_s, *g_hs;
static char g_base[64], g_hbase[64];
static int g_log = -1;

/* ---- HTTP ------------------------------------------------------------------ */

struct res {
  long status;
  char *body;
  size_t len;
  char headers[8192];
  size_t hlen;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
  struct res *r = ud;
  size_t k = sz * n;
  char *b = realloc(r->body, r->len + k + 1);
  if (!b)
    return 0;
  memcpy(b + r->len, p, k);
  r->body = b;
  r->len += k;
  b[r->len] = '\0';
  return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
  struct res *r = ud;
  size_t k = sz * n;
  if (r->hlen + k >= sizeof(r->headers))
    k = sizeof(r->headers) - 1 - r->hlen;
  memcpy(r->headers + r->hlen, p, k);
  r->hlen += k;
  r->headers[r->hlen] = '\0';
  return sz * n;
}

static void res_free(struct res *r)
{
  free(r->body);
  memset(r, 0, sizeof(*r));
}

/* One request; body NULL for none. r->body is always a string. */
static long http(const char *method, const char *url, const char *body,
                 const char *const *hdrs, struct res *r)
{
  memset(r, 0, sizeof(*r));
  int rc = tu_curl(method, url, body, hdrs, NULL, 30, on_body, on_header, r,
                   &r->status);
  if (!r->body)
    r->body = calloc(1, 1);
  return rc == CURLE_OK ? r->status : -1;
}

static char g_key_hdr[300], g_hkey_hdr[300]; /* X-Admin-Key of each home */
static char g_okey_hdr[300];
static const char *g_ohome; /* the home of any other server (empty home) */

/* "X-Admin-Key: KEY" of home's admin.key into hdr (once). */
static const char *key_header(const char *home, char *hdr, size_t cap)
{
  if (hdr[0])
    return hdr;
  char path[512], key[256] = "";
  snprintf(path, sizeof(path), "%s/admin.key", home);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(key, (int)sizeof(key), f));
  fclose(f);
  key[strcspn(key, "\n")] = '\0';
  snprintf(hdr, cap, "X-Admin-Key: %s", key);
  return hdr;
}

/* GET with the admin key (the pages behind the viewer policy need a
 * credential; test_transition_csrf_and_auth and test_user_page_needs_a_
 * credential check what anonymous and end-user callers get). */
static long get_from(const char *base, const char *path, struct res *r)
{
  char url[4096];
  snprintf(url, sizeof(url), "%s%s", base, path);
  const char *hdrs[] = {
      base == g_hbase  ? key_header(g_hhome, g_hkey_hdr, sizeof(g_hkey_hdr))
      : base == g_base ? key_header(g_f.home, g_key_hdr, sizeof(g_key_hdr))
                       : key_header(g_ohome, g_okey_hdr, sizeof(g_okey_hdr)),
      NULL};
  return http("GET", url, NULL, hdrs, r);
}

static long get(const char *path, struct res *r)
{
  return get_from(g_base, path, r);
}

/* Occurrences of needle in hay (a plain loop: sanitizers make a strstr
 * per hit scan the whole rest of a big page). */
static size_t count(const char *hay, const char *needle)
{
  size_t n = 0, k = strlen(needle), len = strlen(hay);
  for (size_t i = 0; k && i + k <= len; i++)
    if (hay[i] == needle[0] && !memcmp(hay + i, needle, k)) {
      n++;
      i += k - 1;
    }
  return n;
}

/* Value of response header name (case-insensitive) into out, or NULL. */
static const char *header(const struct res *r, const char *name, char *out,
                          size_t cap)
{
  size_t k = strlen(name);
  for (const char *p = r->headers; p && *p;) {
    if (!strncasecmp(p, name, k) && p[k] == ':') {
      p += k + 1;
      while (*p == ' ')
        p++;
      size_t n = strcspn(p, "\r\n");
      snprintf(out, cap, "%.*s", (int)n, p);
      return out;
    }
    p = strchr(p, '\n');
    p = p ? p + 1 : NULL;
  }
  return NULL;
}

static const char *ui_run_param_or(const struct tracking_run *r,
                                   const char *key)
{
  const char *v = runs_param(r, key);
  return v ? v : "";
}

static const char *ui_run_tag_or(const struct tracking_run *r,
                                 const char *key)
{
  const char *v = runs_tag(r, key);
  return v ? v : "";
}

#define EXPECT_HAS(r, s)                                                    \
  do {                                                                      \
    if (!strstr((r)->body, (s)))                                            \
      fail_msg("page lacks \"%s\" (status %ld, %zu bytes)", (s),            \
               (r)->status, (r)->len);                                      \
  } while (0)

/* The value of attribute attr after the first occurrence of anchor. */
static void attr_after(const char *body, const char *anchor,
                       const char *attr, char *out, size_t cap)
{
  const char *p = strstr(body, anchor);
  assert_non_null(p);
  char pat[64];
  snprintf(pat, sizeof(pat), "%s=\"", attr);
  p = strstr(p, pat);
  assert_non_null(p);
  p += strlen(pat);
  size_t n = strcspn(p, "\"");
  snprintf(out, cap, "%.*s", (int)n, p);
}

/* ---- setup ------------------------------------------------------------------- */

static int group_setup(void **state)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  uif_build(&g_f);
  uif_hostile_home(g_hhome, sizeof(g_hhome), g_hmodel, sizeof(g_hmodel));
  char logs[512];
  snprintf(logs, sizeof(logs), "%s/server.log", g_f.home);
  g_log = open(logs, O_WRONLY | O_CREAT | O_APPEND, 0600);
  assert_true(g_log >= 0);
  g_s = uif_serve(g_f.home, NULL, g_log, g_base, sizeof(g_base));
  g_hs = uif_serve(g_hhome, g_hmodel, g_log, g_hbase, sizeof(g_hbase));
  return 0;
}

static int group_teardown(void **state)
{
  serve_stop(g_s, 5);
  serve_stop(g_hs, 5);
  close(g_log);
  tu_rmtree(g_f.home);
  tu_rmtree(g_hhome);
  curl_global_cleanup();
  return 0;
}

/* ---- units: html.h ---------------------------------------------------------- */

static void test_html_escaping(void **state)
{
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"a&b\"c'd", "a&amp;b&quot;c&#39;d"},
      {"tab\tnew\nline", "tab\tnew\nline"},
      {"bell\x07" "del\x7f", "bell\xef\xbf\xbd" "del\xef\xbf\xbd"},
      {"Am\xc3\xa9lie", "Am\xc3\xa9lie"},
      {"", ""},
      {"&amp;", "&amp;amp;"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct html h;
    html_init(&h);
    html_text(&h, cases[i].in);
    char *s = html_take(&h, NULL);
    assert_string_equal(s, cases[i].want);
    free(s);
    /* html_f's %s escapes the same way */
    html_f(&h, "[%s]", cases[i].in);
    s = html_take(&h, NULL);
    char want[256];
    snprintf(want, sizeof(want), "[%s]", cases[i].want);
    assert_string_equal(s, want);
    free(s);
  }
  struct html h;
  html_init(&h);
  html_text(&h, NULL);
  html_raw(&h, NULL);
  char *s = html_take(&h, NULL);
  assert_string_equal(s, "");
  free(s);
}

static void test_html_format(void **state)
{
  struct html h;
  html_init(&h);
  html_f(&h, "<a title=\"%s\">%d %.2f %zu %lld|%5s|%-4s|%.3s|%*d|%x|%c|100%%",
         "x\"y", 42, 3.14159, (size_t)7, -5LL, "ab", "c", "<<<<", 4, 7, 255U,
         'z');
  size_t len = 0;
  char *s = html_take(&h, &len);
  assert_string_equal(s, "<a title=\"x&quot;y\">42 3.14 7 -5|   ab|c   |"
                         "&lt;&lt;&lt;|   7|ff|z|100%");
  assert_int_equal(len, strlen(s));
  free(s);
  const char *volatile nothing = NULL; /* hidden from -Wformat-overflow */
  html_f(&h, "%s", nothing);
  s = html_take(&h, NULL);
  assert_string_equal(s, "(null)");
  free(s);
  html_url(&h, "a b/c?d=\xc3\xa9&x~y._-");
  s = html_take(&h, NULL);
  assert_string_equal(s, "a%20b%2Fc%3Fd%3D%C3%A9%26x~y._-");
  free(s);
  html_url(&h, "javascript:alert(1)");
  s = html_take(&h, NULL);
  assert_string_equal(s, "javascript%3Aalert%281%29");
  free(s);
  /* big input grows the buffer */
  char *big = malloc(1 << 20);
  memset(big, '<', (1 << 20) - 1);
  big[(1 << 20) - 1] = '\0';
  html_text(&h, big);
  s = html_take(&h, &len);
  assert_int_equal(len, 4 * ((1 << 20) - 1));
  assert_int_equal(count(s, "&lt;"), (1 << 20) - 1);
  free(s);
  free(big);
  /* numbers for people */
  static const struct {
    double v;
    const char *want;
  } nums[] = {{NAN, "-"},        {INFINITY, "inf"}, {-INFINITY, "-inf"},
              {3, "3"},          {0.53912, "0.5391"}, {55427.07, "55427"},
              {1e-5, "1e-05"},   {-2.5, "-2.5"},    {1e16, "1e+16"}};
  for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
    char out[32];
    assert_string_equal(html_num(nums[i].v, out, sizeof(out)), nums[i].want);
  }
}

/* ---- units: svg.h -------------------------------------------------------------- */

static void test_svg_ticks_and_colours(void **state)
{
  double t[16], st = 0;
  assert_int_equal(svg_ticks(0, 1, 6, t, &st), 6);
  assert_true(fabs(st - 0.2) < 1e-12);
  assert_true(fabs(t[5] - 1) < 1e-12 && t[0] == 0);
  size_t n = svg_ticks(0.37, 0.61, 6, t, &st);
  assert_true(n >= 2 && n <= 6);
  assert_true(t[0] >= 0.37 - 1e-12 && t[n - 1] <= 0.61 + 1e-12);
  assert_int_equal(svg_ticks(NAN, 1, 6, t, &st), 0);
  assert_int_equal(svg_ticks(2, 1, 6, t, &st), 0);
  assert_int_equal(svg_ticks(0, INFINITY, 6, t, &st), 0);
  assert_int_equal(svg_ticks(0, 1, 1, t, &st), 0);
  assert_true(svg_ticks(5, 5, 6, t, &st) >= 1);
  static const struct {
    double score;
    const char *want;
  } colours[] = {{0, "#d9f0d3"},  {-3, "#d9f0d3"}, {0.5, "#fee08b"},
                 {1, "#fdae61"},  {2, "#d73027"},  {9, "#d73027"},
                 {NAN, "#e6e6e6"}};
  for (size_t i = 0; i < sizeof(colours) / sizeof(colours[0]); i++) {
    char c[8];
    svg_heat_colour(colours[i].score, c);
    assert_string_equal(c, colours[i].want);
  }
  assert_string_equal(svg_palette(0), svg_palette(8));
}

static void test_svg_charts(void **state)
{
  struct html h;
  html_init(&h);
  double x[] = {0, 1, 2, 3, 4}, y[] = {1, 2, NAN, 3, 4};
  double y2[] = {NAN, NAN, NAN, NAN, NAN};
  struct svg_series s[2] = {{"<b>loss</b>", x, y, 5}, {"empty", x, y2, 5}};
  struct svg_line_opts o = {.title = "a <title>", .threshold = 2.5,
                            .threshold_label = "retrain if <="};
  svg_line_chart(&h, &o, s, 2);
  char *out = html_take(&h, NULL);
  assert_int_equal(count(out, "<svg class=\"chart line-chart\""), 1);
  assert_int_equal(count(out, "<polyline class=\"series\""), 2); /* gap */
  assert_int_equal(count(out, "<circle class=\"point\""), 4);
  assert_int_equal(count(out, "<line class=\"threshold\""), 1);
  assert_non_null(strstr(out, "&lt;b&gt;loss&lt;/b&gt;"));
  assert_non_null(strstr(out, "a &lt;title&gt;"));
  assert_null(strstr(out, "<b>"));
  free(out);
  /* nothing finite: a frame saying so */
  svg_line_chart(&h, &(struct svg_line_opts){.threshold = NAN}, &s[1], 1);
  out = html_take(&h, NULL);
  assert_non_null(strstr(out, "no data"));
  assert_null(strstr(out, "<polyline"));
  free(out);
  svg_line_chart(&h, &(struct svg_line_opts){.threshold = NAN}, NULL, 0);
  out = html_take(&h, NULL);
  assert_non_null(strstr(out, "no data"));
  free(out);
  /* bars: NaN left out */
  const char *labels[] = {"1", "<2>", "3"};
  double v[] = {10, NAN, 30};
  svg_bar_chart(&h, &(struct svg_bar_opts){.title = "hist"}, labels, v, 3);
  out = html_take(&h, NULL);
  assert_int_equal(count(out, "<rect class=\"bar\""), 2);
  assert_non_null(strstr(out, "&lt;2&gt;"));
  free(out);
  /* heat grid: every cell, the marked ones, escaped labels */
  const char *rows[] = {"a<x>", "b"}, *cols[] = {"w1", "w2", "w3"};
  struct svg_heat_cell cells[6] = {{0.1, "0.1", NULL, 0},
                                   {1.5, "1.5", "<tip>", 1},
                                   {NAN, NULL, NULL, 0},
                                   {3, "3", NULL, 1},
                                   {0, "0", NULL, 0},
                                   {0.9, "0.9", NULL, 0}};
  svg_heat_grid(&h, &(struct svg_heat_opts){0}, rows, 2, cols, 3, cells);
  out = html_take(&h, NULL);
  assert_int_equal(count(out, "<rect class=\"cell"), 6);
  assert_int_equal(count(out, "<rect class=\"cell drift\""), 2);
  assert_non_null(strstr(out, "a&lt;x&gt;"));
  assert_non_null(strstr(out, "&lt;tip&gt;"));
  free(out);
}

/* ---- pages --------------------------------------------------------------------- */

static void test_experiments_page(void **state)
{
  struct res r;
  assert_int_equal(get("/ui/", &r), 200);
  char ct[128];
  assert_string_equal(header(&r, "Content-Type", ct, sizeof(ct)),
                      "text/html; charset=utf-8");
  EXPECT_HAS(&r, "<nav aria-label=\"main\">");
  EXPECT_HAS(&r, "href=\"/ui/experiments/tune\">tune</a>");
  EXPECT_HAS(&r, "href=\"/ui/experiments/Model%20monitoring\">Model "
                 "monitoring</a>");
  EXPECT_HAS(&r, "href=\"/ui/experiments/Retraining\">Retraining</a>");
  /* tune: the parent and its 4 trials */
  const char *row = strstr(r.body, ">tune</a>");
  assert_non_null(row);
  assert_true(!strncmp(row, ">tune</a></td><td class=\"num\">5</td>", 36));
  res_free(&r);
  assert_int_equal(get("/ui", &r), 200); /* both spellings */
  res_free(&r);
}

static void test_runs_table(void **state)
{
  struct res r;
  assert_int_equal(get("/ui/experiments/tune", &r), 200);
  assert_int_equal(count(r.body, "name=\"runs\" value=\""), 5);
  EXPECT_HAS(&r, "<table class=\"data sortable runs\">");
  EXPECT_HAS(&r, "title=\"sort by params.dim\">dim</a>");
  EXPECT_HAS(&r, "title=\"sort by params.lr\">lr</a>");
  EXPECT_HAS(&r, ">top_100_categorical_accuracy</a>");
  EXPECT_HAS(&r, g_f.best_run);
  EXPECT_HAS(&r, "action=\"/ui/compare\"");
  /* child runs nested under their parent, as MLflow shows them: the
   * parent's row with a button that folds them, then each trial's row */
  char want[300];
  snprintf(want, sizeof(want),
           "<button type=\"button\" class=\"kids\" data-run=\"%s\" "
           "aria-expanded=\"true\" title=\"show or hide the 4 nested runs\">"
           "4</button>", g_f.tune_parent);
  EXPECT_HAS(&r, want);
  snprintf(want, sizeof(want), "<tr class=\"child\" data-root=\"%s\">",
           g_f.tune_parent);
  assert_int_equal(count(r.body, want), 4);
  assert_int_equal(count(r.body, "class=\"name d1\""), 4);
  snprintf(want, sizeof(want), "value=\"%s\"", g_f.tune_parent);
  const char *parent_row = strstr(r.body, want);
  assert_non_null(parent_row);
  for (int i = 0; i < 4; i++) {
    snprintf(want, sizeof(want), "value=\"%s\"", g_f.trials[i]);
    const char *row = strstr(r.body, want);
    assert_non_null(row);
    assert_true(row > parent_row);
    /* the row's own opening tag (the last <tr before it) is a child's */
    const char *tr = row;
    while (tr > r.body && strncmp(tr, "<tr", 3))
      tr--;
    assert_memory_equal(tr, "<tr class=\"child\"", 17);
  }
  res_free(&r);
  /* server-side order: the best trial first, the worst last */
  assert_int_equal(get("/ui/experiments/tune?order_by=metrics."
                       "top_100_categorical_accuracy%20DESC&filter=params."
                       "dim%20!%3D%20%27x%27",
                       &r),
                   200);
  const char *first = strstr(r.body, "name=\"runs\" value=\"");
  assert_non_null(first);
  assert_memory_equal(first + 19, g_f.best_run, 32);
  EXPECT_HAS(&r, "aria-sort=\"descending\"");
  assert_true(strstr(r.body, g_f.worst_run) >
              strstr(r.body, g_f.best_run));
  EXPECT_HAS(&r, "<b>4</b> runs match the filter");
  /* their parent filtered out: the trials are top-level rows */
  assert_null(strstr(r.body, "<tr class=\"child\""));
  assert_null(strstr(r.body, "class=\"kids\""));
  res_free(&r);
  /* the same filter syntax as `harvest runs list` */
  assert_int_equal(get("/ui/experiments/tune?filter=params.dim%20%3D%20%278%27",
                       &r),
                   200);
  assert_int_equal(count(r.body, "name=\"runs\" value=\""), 2);
  res_free(&r);
  assert_int_equal(get("/ui/experiments/tune?filter=params.dim%20%3D%20%27999%27",
                       &r),
                   200);
  EXPECT_HAS(&r, "No run matches the filter.");
  res_free(&r);
  /* a bad filter or order: the message inline, 422, the form kept */
  static const char *const bad[] = {
      "/ui/experiments/tune?filter=params.dim%20%3D",
      "/ui/experiments/tune?filter=bogus.x%20%3D%201",
      "/ui/experiments/tune?order_by=metrics.loss%20SIDEWAYS"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(get(bad[i], &r), 422);
    EXPECT_HAS(&r, "<div class=\"error\" role=\"alert\">");
    EXPECT_HAS(&r, "<form class=\"filter\"");
    EXPECT_HAS(&r, "position");
    res_free(&r);
  }
  /* chosen columns, comma list or repeated */
  assert_int_equal(get("/ui/experiments/tune?params=dim&metrics=loss,"
                       "n_users",
                       &r),
                   200);
  assert_null(strstr(r.body, "title=\"sort by params.lr\""));
  EXPECT_HAS(&r, "title=\"sort by metrics.loss\">loss</a>");
  EXPECT_HAS(&r, "title=\"sort by metrics.n_users\">n_users</a>");
  res_free(&r);
  assert_int_equal(get("/ui/experiments/tune?params=lr&params=dim", &r),
                   200);
  EXPECT_HAS(&r, "title=\"sort by params.lr\">lr</a>");
  EXPECT_HAS(&r, "title=\"sort by params.dim\">dim</a>");
  res_free(&r);
  /* ?name= for names a path cannot carry; max rows */
  assert_int_equal(get("/ui/experiments?name=tune&max=2", &r), 200);
  assert_int_equal(count(r.body, "name=\"runs\" value=\""), 2);
  EXPECT_HAS(&r, "Showing the first 2 of 5 runs");
  res_free(&r);
  assert_int_equal(get("/ui/experiments/tune?max=0", &r), 422);
  res_free(&r);
  assert_int_equal(get("/ui/experiments/no%20such%20experiment", &r), 404);
  EXPECT_HAS(&r, "no such experiment");
  res_free(&r);
}

static void test_run_page(void **state)
{
  struct res r;
  char path[128];
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.best_run);
  assert_int_equal(get(path, &r), 200);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(g_f.db_path, &db, &e), 0);
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(db, g_f.best_run, &run, &e), 0);
  EXPECT_HAS(&r, g_f.best_run);
  EXPECT_HAS(&r, run->data_sha256);     /* lineage */
  EXPECT_HAS(&r, run->code_version);
  EXPECT_HAS(&r, "model/model.hvm");    /* artifacts */
  EXPECT_HAS(&r, "Parent run");
  EXPECT_HAS(&r, g_f.tune_parent);
  /* a chart per metric over the 3 epochs: loss among them */
  EXPECT_HAS(&r, "aria-label=\"loss\"");
  const char *chart = strstr(r.body, "aria-label=\"loss\"");
  assert_true(strstr(chart, "<polyline class=\"series\" data-series=\"loss\"")
              < strstr(chart, "</svg>"));
  assert_int_equal(count(r.body, "<circle class=\"point\""),
                   3 * count(r.body, "<polyline class=\"series\""));
  char want[128];
  snprintf(want, sizeof(want), "<td class=\"mono\">%s</td>",
           ui_run_param_or(run, "dim"));
  runs_free(run, 1);
  db_close(db);
  EXPECT_HAS(&r, want);
  res_free(&r);
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.tune_parent);
  assert_int_equal(get(path, &r), 200);
  EXPECT_HAS(&r, "Child runs (4)");
  res_free(&r);
}

/* The run page's baseline table, links to registered versions and
 * artifact downloads (issue 16). */
static void test_run_links_and_downloads(void **state)
{
  struct res r;
  char path[256], want[256];
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.best_run);
  assert_int_equal(get(path, &r), 200);
  EXPECT_HAS(&r, "Model vs popularity baseline");
  EXPECT_HAS(&r, "<td>top_100_categorical_accuracy</td>");
  EXPECT_HAS(&r, "href=\"/ui/models/harvest_recommender#v1\">"
                 "harvest_recommender v1</a>");
  snprintf(want, sizeof(want),
           "href=\"/ui/runs/%s/artifact?path=model%%2Fmodel.hvm\" download>",
           g_f.best_run);
  EXPECT_HAS(&r, want);
  res_free(&r);
  /* the download: the model file's bytes, as an attachment */
  snprintf(path, sizeof(path), "/ui/runs/%s/artifact?path=model/model.hvm",
           g_f.best_run);
  assert_int_equal(get(path, &r), 200);
  assert_true(r.len > 100);
  assert_non_null(strstr(r.headers, "filename=\"model.hvm\""));
  assert_non_null(strstr(r.headers, "application/octet-stream"));
  assert_non_null(strstr(r.headers, "Content-Security-Policy"));
  res_free(&r);
  static const struct {
    const char *q;
    long status;
  } bad[] = {{"", 422}, {"?path=", 422}, {"?path=../admin.key", 422},
             {"?path=%2Fetc%2Fpasswd", 422}, {"?path=no/such.file", 404}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(path, sizeof(path), "/ui/runs/%s/artifact%s", g_f.best_run,
             bad[i].q);
    assert_int_equal(get(path, &r), bad[i].status);
    EXPECT_HAS(&r, "<div class=\"error\"");
    res_free(&r);
  }
  assert_int_equal(get("/ui/runs/nothex/artifact?path=a", &r), 422);
  res_free(&r);
  /* a monitoring run links to its report, a decision to its challenger */
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.monitor_run);
  assert_int_equal(get(path, &r), 200);
  snprintf(want, sizeof(want), "href=\"/ui/monitoring?run=%s\"",
           g_f.monitor_run);
  EXPECT_HAS(&r, want);
  res_free(&r);
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.decision_run);
  assert_int_equal(get(path, &r), 200);
  EXPECT_HAS(&r, "<th>Retraining action</th>");
  res_free(&r);
  /* a long value is folded, and still escaped */
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.xss_run);
  assert_int_equal(get(path, &r), 200);
  EXPECT_HAS(&r, "<details class=\"long\"><summary>{&quot;policy&quot;");
  assert_null(strstr(r.body, UIF_XSS));
  res_free(&r);
}

static void test_compare_page(void **state)
{
  struct res r;
  char path[256];
  snprintf(path, sizeof(path), "/ui/compare?runs=%s,%s", g_f.trials[0],
           g_f.trials[3]);
  assert_int_equal(get(path, &r), 200);
  EXPECT_HAS(&r, g_f.trials[0]);
  EXPECT_HAS(&r, g_f.trials[3]);
  EXPECT_HAS(&r, "<tr class=\"differ\"><th>dim <span");
  EXPECT_HAS(&r, "<tr class=\"differ\"><th>lr <span");
  EXPECT_HAS(&r, "<tr><th>epochs</th>"); /* the same in both */
  /* overlaid charts: one line per run */
  const char *loss = strstr(r.body, "aria-label=\"loss\"");
  assert_non_null(loss);
  const char *end = strstr(loss, "</svg>");
  size_t lines = 0;
  for (const char *p = loss; (p = strstr(p, "<polyline")) && p < end; p++)
    lines++;
  assert_int_equal(lines, 2);
  res_free(&r);
  /* repeated form: the checkboxes of the runs table */
  snprintf(path, sizeof(path), "/ui/compare?runs=%s&runs=%s&runs=%s",
           g_f.trials[0], g_f.trials[1], g_f.trials[0]);
  assert_int_equal(get(path, &r), 200);
  EXPECT_HAS(&r, "Compare 2 runs");
  res_free(&r);
  static const char *const bad[] = {
      "/ui/compare", "/ui/compare?runs=", "/ui/compare?runs=xyz",
      "/ui/compare?runs=0123456789abcdef0123456789abcdeg,"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(get(bad[i], &r), 422);
    EXPECT_HAS(&r, "<div class=\"error\"");
    res_free(&r);
  }
  snprintf(path, sizeof(path),
           "/ui/compare?runs=%s,0123456789abcdef0123456789abcdef",
           g_f.trials[0]);
  assert_int_equal(get(path, &r), 404);
  res_free(&r);
}

static void test_models_pages(void **state)
{
  struct res r;
  assert_int_equal(get("/ui/models", &r), 200);
  EXPECT_HAS(&r, "href=\"/ui/models/harvest_recommender\"");
  res_free(&r);
  assert_int_equal(get("/ui/models/harvest_recommender", &r), 200);
  EXPECT_HAS(&r, "<span class=\"stage Production\">Production</span>");
  EXPECT_HAS(&r, "<table class=\"data sortable audit\">");
  EXPECT_HAS(&r, "<input type=\"hidden\" name=\"csrf\" value=\"");
  assert_null(strstr(r.body, "name=\"credential\"")); /* the session's */
  EXPECT_HAS(&r, "value=\"1:");
  EXPECT_HAS(&r, g_f.best_run); /* source run of version 1 */
  if (g_f.challenger_version > 0) {
    char v[64];
    snprintf(v, sizeof(v), "<tr data-version=\"%d\">",
             g_f.challenger_version);
    EXPECT_HAS(&r, v);
    EXPECT_HAS(&r, "ui-test"); /* the retraining's audit entries */
  }
  char cookie[256];
  assert_non_null(header(&r, "Set-Cookie", cookie, sizeof(cookie)));
  assert_true(!strncmp(cookie, UI_COOKIE "=", strlen(UI_COOKIE) + 1));
  assert_non_null(strstr(cookie, "HttpOnly"));
  assert_non_null(strstr(cookie, "SameSite=Strict"));
  assert_non_null(strstr(cookie, "Path=/ui"));
  res_free(&r);
  assert_int_equal(get("/ui/models/no_such_model", &r), 404);
  res_free(&r);
  assert_int_equal(get("/ui/models/bad%20name!", &r), 422);
  res_free(&r);
}

static void test_monitoring_page(void **state)
{
  struct res r;
  assert_int_equal(get("/ui/monitoring", &r), 200);
  EXPECT_HAS(&r, g_f.monitor_run);
  EXPECT_HAS(&r, "<line class=\"threshold\"");
  EXPECT_HAS(&r, "retrain if top-100 &lt;= 0.5");
  EXPECT_HAS(&r, "<svg class=\"chart heat-grid\"");
  size_t rows = count(r.body, "<text class=\"row\""),
         cols = count(r.body, "<text class=\"col\"");
  assert_int_equal(cols, UIF_WINDOWS);
  assert_true(rows >= 6);
  assert_int_equal(count(r.body, "<rect class=\"cell"), rows * cols);
  EXPECT_HAS(&r, "user_age (ks)");
  EXPECT_HAS(&r, "movie_genres (");
  EXPECT_HAS(&r, "Feedback-loop health");
  EXPECT_HAS(&r, "Coverage@10");
  EXPECT_HAS(&r, "Fairness per window");
  EXPECT_HAS(&r, "exposure gap between popularity deciles");
  /* the fixture's pass had a ranker: its RMSE gap is charted, the RMSE
   * and MAE too, and the exposure is of the served (blend) lists */
  EXPECT_HAS(&r, "ranker RMSE gap between segments");
  EXPECT_HAS(&r, "Ranking stage per window");
  EXPECT_HAS(&r, "the blend pipeline&#39;s (retrieval&#39;s top 100");
  EXPECT_HAS(&r, "<th>D10</th><th>Gap</th>");
  /* the retraining decision with its reasons */
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(g_f.db_path, &db, &e), 0);
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(db, g_f.decision_run, &run, &e), 0);
  const char *reasons = ui_run_tag_or(run, "retrain.reasons");
  struct html h;
  html_init(&h);
  html_f(&h, "<td><b>%s</b></td>", ui_run_tag_or(run, "retrain.decision"));
  char *dec = html_take(&h, NULL);
  html_text(&h, reasons);
  char *why = html_take(&h, NULL);
  EXPECT_HAS(&r, dec);
  EXPECT_HAS(&r, why);
  char short_id[16];
  snprintf(short_id, sizeof(short_id), ">%.8s</a>", g_f.decision_run);
  EXPECT_HAS(&r, short_id);
  free(dec);
  free(why);
  runs_free(run, 1);
  db_close(db);
  res_free(&r);
  /* a chosen run; bad and unknown ones */
  char path[128];
  snprintf(path, sizeof(path), "/ui/monitoring?run=%s", g_f.monitor_run);
  assert_int_equal(get(path, &r), 200);
  res_free(&r);
  assert_int_equal(get("/ui/monitoring?run=nothex", &r), 422);
  res_free(&r);
  snprintf(path, sizeof(path), "/ui/monitoring?run=%s", g_f.best_run);
  assert_int_equal(get(path, &r), 404); /* a run without a report */
  res_free(&r);
  /* the model and version picker: links for every version; a version is
   * matched by the model SHA-256 its monitoring runs recorded */
  assert_int_equal(get("/ui/monitoring", &r), 200);
  EXPECT_HAS(&r, "<nav class=\"picker\"");
  EXPECT_HAS(&r, "<b>newest of any</b>");
  EXPECT_HAS(&r, "href=\"/ui/monitoring?model=harvest_recommender&amp;"
                 "version=1\"");
  EXPECT_HAS(&r, "href=\"/ui/monitoring?model=" UIF_CSRF_MODEL "&amp;"
                 "version=2\"");
  res_free(&r);
  assert_int_equal(
      get("/ui/monitoring?model=harvest_recommender&version=1", &r), 200);
  EXPECT_HAS(&r, g_f.monitor_run);
  EXPECT_HAS(&r, "<b>v1</b>");
  EXPECT_HAS(&r, "<svg class=\"chart heat-grid\"");
  res_free(&r);
  assert_int_equal(get("/ui/monitoring?model=harvest_recommender", &r), 200);
  EXPECT_HAS(&r, g_f.monitor_run);
  EXPECT_HAS(&r, "<b>any version</b>");
  res_free(&r);
  /* a version never monitored (the fixture's other model, its version
   * from a trial that is not the monitored best one) */
  int other = strcmp(g_f.trials[0], g_f.best_run) ? 1 : 2;
  snprintf(path, sizeof(path), "/ui/monitoring?model=" UIF_CSRF_MODEL
           "&version=%d", other);
  assert_int_equal(get(path, &r), 200);
  EXPECT_HAS(&r, "No finished monitoring run of " UIF_CSRF_MODEL
                 " version ");
  snprintf(path, sizeof(path), "harvest monitor --model models:/"
           UIF_CSRF_MODEL "/%d", other);
  EXPECT_HAS(&r, path);
  assert_null(strstr(r.body, "<svg class=\"chart heat-grid\""));
  res_free(&r);
  static const struct {
    const char *path;
    int status;
    const char *msg;
  } bad[] = {
      {"/ui/monitoring?version=1", 422, "needs ?model"},
      {"/ui/monitoring?model=harvest_recommender&version=x", 422,
       "not a version number"},
      {"/ui/monitoring?model=harvest_recommender&version=0", 422,
       "not a version number"},
      {"/ui/monitoring?model=harvest_recommender&version=99", 404,
       "has no version 99"},
      {"/ui/monitoring?model=no_such_model", 404, "no_such_model"},
      {"/ui/monitoring?model=bad%20name", 422, "bad name"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int st = get(bad[i].path, &r);
    if (st != bad[i].status || !strstr(r.body, bad[i].msg))
      fail_msg("%s: %d (want %d): %.300s", bad[i].path, st, bad[i].status,
               r.body);
    res_free(&r);
  }
}

static void test_data_and_user_pages(void **state)
{
  struct res r;
  assert_int_equal(get("/ui/data", &r), 200);
  EXPECT_HAS(&r, ">20000</div><div class=\"k\">ratings</div>");
  EXPECT_HAS(&r, ">300</div><div class=\"k\">users</div>");
  EXPECT_HAS(&r, "aria-label=\"Rating histogram\"");
  assert_true(count(r.body, "<rect class=\"bar\"") >= 5);
  assert_int_equal(count(r.body, "<tr><td class=\"num\">"), 10); /* top */
  res_free(&r);
  assert_int_equal(get("/ui/users/5", &r), 200);
  EXPECT_HAS(&r, "<h1>User 5</h1>");
  EXPECT_HAS(&r, "Current recommendations");
  assert_int_equal(count(r.body, "<li>"), 10);
  /* each explained: the movies they rated nearest to it */
  assert_int_equal(count(r.body, "<div class=\"why muted\">near movies they "
                                 "rated: "), 10);
  EXPECT_HAS(&r, "<table class=\"data sortable ratings\">");
  res_free(&r);
  assert_int_equal(get("/ui/users?id=5", &r), 200);
  res_free(&r);
  static const struct {
    const char *path;
    long status;
  } bad[] = {{"/ui/users/abc", 422},      {"/ui/users/-1", 422},
             {"/ui/users/99999999", 404}, {"/ui/users", 422},
             {"/ui/users?id=1e3", 422},   {"/ui/users/99999999999999999999",
                                           422}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(get(bad[i].path, &r), bad[i].status);
    EXPECT_HAS(&r, "<div class=\"error\"");
    res_free(&r);
  }
}

/* A user's page needs a viewer credential (issue 17, finding 7: anyone
 * could read any user's ratings); an end user's own token is not one. */
static void test_user_page_needs_a_credential(void **state)
{
  struct res r;
  char url[256];
  snprintf(url, sizeof(url), "%s/ui/users/5", g_base);
  assert_int_equal(http("GET", url, NULL, NULL, &r), 303); /* to log in */
  char loc[256];
  assert_string_equal(header(&r, "Location", loc, sizeof(loc)),
                      "/ui/login?next=/ui/users/5");
  res_free(&r);
  struct auth_config ac = {.home = g_f.home};
  struct auth *a = NULL;
  struct hv_err e = {0};
  char *jwt = NULL, hdr[2048];
  assert_int_equal(auth_open(&ac, &a, &e), 0);
  assert_int_equal(auth_token_issue(a, 5, &jwt, &e), 0);
  auth_close(a);
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", jwt);
  free(jwt);
  const char *hdrs[] = {hdr, NULL};
  assert_int_equal(http("GET", url, NULL, hdrs, &r), 403);
  res_free(&r);
  assert_int_equal(get("/ui/users/5", &r), 200);
  res_free(&r);
}

/* Hostile titles, names, params and tags render as text. */
static void test_escaping(void **state)
{
  static const char *const pages[] = {"/ui/data", "/ui/users/1",
                                      "/ui/users/2"};
  struct res r;
  for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
    assert_int_equal(get_from(g_hbase, pages[i], &r), 200);
    assert_null(strstr(r.body, "<script>alert"));
    assert_null(strstr(r.body, "<img src=x"));
    assert_null(strstr(r.body, "onerror=alert(3)>"));
    res_free(&r);
  }
  assert_int_equal(get_from(g_hbase, "/ui/data", &r), 200);
  EXPECT_HAS(&r, "&lt;script&gt;alert(1)&lt;/script&gt; (1999)");
  res_free(&r);
  assert_int_equal(get_from(g_hbase, "/ui/users/1", &r), 200);
  EXPECT_HAS(&r, "&lt;script&gt;alert(1)&lt;/script&gt; (1999)");
  res_free(&r);
  /* some user gets the other hostile titles recommended */
  int seen = 0;
  for (int u = 1; u <= 20 && !seen; u++) {
    char path[64];
    snprintf(path, sizeof(path), "/ui/users/%d", u);
    assert_int_equal(get_from(g_hbase, path, &r), 200);
    seen = strstr(r.body, "&lt;img src=x onerror=alert(3)&gt;") ||
           strstr(r.body, "Quote &quot; &amp; &#39;apos&#39;");
    res_free(&r);
  }
  assert_true(seen);
  /* a run whose name, param and tag carry markup */
  assert_int_equal(get("/ui/experiments/xss?params=payload", &r), 200);
  assert_null(strstr(r.body, "<script>alert"));
  assert_null(strstr(r.body, "<img src=x"));
  EXPECT_HAS(&r, "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_HAS(&r, "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;");
  res_free(&r);
  char path[128];
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.xss_run);
  assert_int_equal(get(path, &r), 200);
  assert_null(strstr(r.body, "<script>alert"));
  assert_null(strstr(r.body, "<img src=x"));
  EXPECT_HAS(&r, "<title>Run &lt;script&gt;alert(1)&lt;/script&gt; - "
                 "Harvest</title>");
  res_free(&r);
  /* the query echoed back (filter box, 404 path) is escaped too */
  assert_int_equal(get("/ui/experiments/xss?filter=%22%3E%3Cscript%3Ex", &r),
                   422);
  assert_null(strstr(r.body, "<script>x"));
  EXPECT_HAS(&r, "value=\"&quot;&gt;&lt;script&gt;x\"");
  res_free(&r);
  assert_int_equal(get("/ui/%3Cscript%3Ealert(1)%3C%2Fscript%3E", &r), 404);
  assert_null(strstr(r.body, "<script>alert"));
  EXPECT_HAS(&r, "/ui/&lt;script&gt;alert(1)&lt;/script&gt;");
  res_free(&r);
}

static void test_errors_and_headers(void **state)
{
  static const struct {
    const char *path;
    long status;
  } cases[] = {{"/ui/nope", 404},
               {"/ui/runs", 404},
               {"/ui/runs/zz", 422},
               {"/ui/runs/0123456789abcdef0123456789abcdef", 404},
               {"/ui/runs/0123456789ABCDEF0123456789ABCDEF", 422},
               {"/ui/models/x/y/z", 404},
               {"/ui/static/nope.js", 404},
               {"/ui/static/..%2F..%2Fetc%2Fpasswd", 404}};
  struct res r;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(get(cases[i].path, &r), cases[i].status);
    char ct[128], csp[512];
    assert_string_equal(header(&r, "Content-Type", ct, sizeof(ct)),
                        "text/html; charset=utf-8");
    assert_non_null(header(&r, "Content-Security-Policy", csp, sizeof(csp)));
    assert_non_null(strstr(csp, "script-src 'self'"));
    EXPECT_HAS(&r, "<nav aria-label=\"main\">"); /* nav bar on errors too */
    res_free(&r);
  }
  /* the API's own 404 stays JSON */
  assert_int_equal(get("/nope", &r), 404);
  char ct[128];
  assert_string_equal(header(&r, "Content-Type", ct, sizeof(ct)),
                      "application/json");
  res_free(&r);
  /* assets */
  assert_int_equal(get("/ui/static/ui.css", &r), 200);
  assert_string_equal(header(&r, "Content-Type", ct, sizeof(ct)),
                      "text/css; charset=utf-8");
  EXPECT_HAS(&r, "table.data");
  res_free(&r);
  assert_int_equal(get("/ui/static/ui.js", &r), 200);
  EXPECT_HAS(&r, "table.sortable");
  res_free(&r);
  char url[256];
  snprintf(url, sizeof(url), "%s/ui/data", g_base);
  const char *key[] = {key_header(g_f.home, g_key_hdr, sizeof(g_key_hdr)),
                       NULL};
  assert_int_equal(http("HEAD", url, NULL, key, &r), 200);
  char timing[128];
  assert_non_null(header(&r, "Server-Timing", timing, sizeof(timing)));
  assert_true(!strncmp(timing, "render;dur=", 11));
  res_free(&r);
  assert_int_equal(http("DELETE", url, NULL, NULL, &r), 405);
  res_free(&r);
  /* pages carry no inline script or style (the CSP forbids them) */
  assert_int_equal(get("/ui/monitoring", &r), 200);
  assert_int_equal(count(r.body, "<script"), 1);
  EXPECT_HAS(&r, "<script src=\"/ui/static/ui.js\" defer></script>");
  assert_null(strstr(r.body, " style=\""));
  assert_null(strstr(r.body, "<style"));
  res_free(&r);
}

/* A new, empty home: every page answers, saying what to run. */
static void test_empty_home(void **state)
{
  char home[256], base[64];
  tu_tmpdir(home, sizeof(home));
  struct serve *s = uif_serve(home, NULL, g_log, base, sizeof(base));
  g_ohome = home;
  g_okey_hdr[0] = '\0';
  static const struct {
    const char *path, *want;
    long status;
  } cases[] = {
      {"/ui/", "No runs have been tracked yet.", 200},
      {"/ui/models", "No model is registered yet.", 200},
      {"/ui/monitoring", "No monitoring report yet", 200},
      {"/ui/monitoring", "No retraining decision has been logged yet.", 200},
      {"/ui/data", "The database holds no data yet.", 200},
      {"/ui/experiments/Default", "This experiment has no runs.", 200},
      {"/ui/users/1", "unknown user 1", 404},
      {"/ui/models/harvest_recommender", "harvest_recommender", 404},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct res r;
    assert_int_equal(get_from(base, cases[i].path, &r), cases[i].status);
    EXPECT_HAS(&r, cases[i].want);
    if (cases[i].status == 200 && strcmp(cases[i].path, "/ui/experiments/"
                                                         "Default"))
      EXPECT_HAS(&r, "To fill it: <code>harvest ");
    EXPECT_HAS(&r, "no model loaded");
    res_free(&r);
  }
  serve_stop(s, 5);
  tu_rmtree(home);
}

/* ---- promote / archive: credentials and CSRF --------------------------------- */

static void read_admin_key(char *out, size_t cap)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/admin.key", g_f.home);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(out, (int)cap, f));
  fclose(f);
  out[strcspn(out, "\n")] = '\0';
}

/* The session cookie and CSRF token of a fresh visit of UIF_CSRF_MODEL's
 * page. */
static void visit_model(char *cookie, size_t ccap, char *token, size_t tcap)
{
  struct res r;
  assert_int_equal(get("/ui/models/" UIF_CSRF_MODEL, &r), 200);
  char sc[256];
  assert_non_null(header(&r, "Set-Cookie", sc, sizeof(sc)));
  snprintf(cookie, ccap, "Cookie: %.*s", (int)strcspn(sc, ";"), sc);
  attr_after(r.body, "name=\"csrf\"", "value", token, tcap);
  assert_int_equal(strlen(token), 64);
  res_free(&r);
}

static long transition(const char *cookie, const char *origin,
                       const char *body, struct res *r)
{
  char url[256], org[256];
  snprintf(url, sizeof(url), "%s/ui/models/" UIF_CSRF_MODEL "/transition",
           g_base);
  snprintf(org, sizeof(org), "Origin: %s", origin ? origin : "");
  const char *hdrs[4] = {"Content-Type: application/x-www-form-urlencoded"};
  size_t n = 1;
  if (cookie)
    hdrs[n++] = cookie;
  if (origin)
    hdrs[n++] = org;
  hdrs[n] = NULL;
  return http("POST", url, body, hdrs, r);
}

/* The stage of version v of UIF_CSRF_MODEL and its number of Production
 * versions. */
static const char *stage_of(int v, int *n_prod, char *who, size_t cap)
{
  static char stage[16];
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  struct registry_model m;
  memset(&m, 0, sizeof(m));
  assert_int_equal(db_open(g_f.db_path, &db, &e), 0);
  assert_int_equal(registry_db_get(db, UIF_CSRF_MODEL, &m, &e), 0);
  stage[0] = '\0';
  *n_prod = 0;
  for (size_t i = 0; i < m.n_versions; i++) {
    if (m.versions[i].version == v)
      snprintf(stage, sizeof(stage), "%s", m.versions[i].stage);
    *n_prod += !strcmp(m.versions[i].stage, "Production");
  }
  if (who && m.n_audit)
    snprintf(who, cap, "%s", m.audit[m.n_audit - 1].who);
  registry_db_model_free(&m);
  db_close(db);
  return stage;
}

static void test_transition_csrf_and_auth(void **state)
{
  char admin[256], cookie[128], token[80], other_cookie[128], other[80];
  read_admin_key(admin, sizeof(admin));
  visit_model(cookie, sizeof(cookie), token, sizeof(token));
  visit_model(other_cookie, sizeof(other_cookie), other, sizeof(other));
  assert_string_not_equal(token, other);
  int n_prod;
  /* the fixture's model: version 1 in Production, version 2 in None */
  const int v = 2;
  assert_string_equal(stage_of(1, &n_prod, NULL, 0), "Production");
  assert_string_equal(stage_of(v, &n_prod, NULL, 0), "None");
  assert_int_equal(n_prod, 1);
  char body[1024], bad_tok[80];
  struct res r;
  snprintf(body, sizeof(body), "csrf=%s&credential=%s&action=%d:Staging&"
                               "reason=from+the+test",
           token, admin, v);
  snprintf(bad_tok, sizeof(bad_tok), "%s", token);
  bad_tok[0] = bad_tok[0] == 'a' ? 'b' : 'a';
  char bad_body[1024];
  snprintf(bad_body, sizeof(bad_body), "csrf=%s&credential=%s&action=%d:"
                                       "Staging",
           bad_tok, admin, v);
  const char *before = strdup(stage_of(v, &n_prod, NULL, 0));
  /* no cookie; another session's cookie; a forged token; another site */
  assert_int_equal(transition(NULL, NULL, body, &r), 403);
  EXPECT_HAS(&r, "no UI session cookie");
  res_free(&r);
  assert_int_equal(transition(other_cookie, NULL, body, &r), 403);
  EXPECT_HAS(&r, "does not match");
  res_free(&r);
  assert_int_equal(transition(cookie, NULL, bad_body, &r), 403);
  res_free(&r);
  assert_int_equal(transition(cookie, "http://evil.example", body, &r), 403);
  EXPECT_HAS(&r, "another site");
  res_free(&r);
  /* the token alone is not enough: a credential is needed */
  snprintf(bad_body, sizeof(bad_body), "csrf=%s&action=%d:Staging", token,
           v);
  assert_int_equal(transition(cookie, NULL, bad_body, &r), 401);
  res_free(&r);
  snprintf(bad_body, sizeof(bad_body), "csrf=%s&credential=wrong-key&"
                                       "action=%d:Staging",
           token, v);
  assert_int_equal(transition(cookie, NULL, bad_body, &r), 401);
  res_free(&r);
  snprintf(bad_body, sizeof(bad_body), "csrf=%s&credential=a.b.c&"
                                       "action=%d:Staging",
           token, v);
  assert_int_equal(transition(cookie, NULL, bad_body, &r), 401);
  res_free(&r);
  assert_string_equal(stage_of(v, &n_prod, NULL, 0), before);
  free((char *)before);
  /* bad actions */
  static const char *const actions[] = {"", "x:Staging", "1:Bogus", "1",
                                        "0:Staging"};
  for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
    snprintf(bad_body, sizeof(bad_body), "csrf=%s&credential=%s&action=%s",
             token, admin, actions[i]);
    assert_int_equal(transition(cookie, NULL, bad_body, &r), 422);
    res_free(&r);
  }
  snprintf(bad_body, sizeof(bad_body), "csrf=%s&credential=%s&action=99:"
                                       "Staging",
           token, admin);
  assert_int_equal(transition(cookie, NULL, bad_body, &r), 404);
  res_free(&r);
  /* admin key + token + cookie: done, audited, 303 back */
  char host_origin[128], who[128], loc[256];
  snprintf(host_origin, sizeof(host_origin), "%s", g_base);
  assert_int_equal(transition(cookie, host_origin, body, &r), 303);
  assert_non_null(header(&r, "Location", loc, sizeof(loc)));
  char want[128];
  snprintf(want, sizeof(want),
           "/ui/models/" UIF_CSRF_MODEL "?moved=%d&to=Staging", v);
  assert_string_equal(loc, want);
  res_free(&r);
  assert_string_equal(stage_of(v, &n_prod, who, sizeof(who)), "Staging");
  assert_string_equal(who, "ui:admin");
  assert_int_equal(get(want, &r), 200);
  EXPECT_HAS(&r, "Version ");
  EXPECT_HAS(&r, " moved to Staging.");
  res_free(&r);
  /* an end user's bearer token is not an operator's (issue 17, finding
   * 2: one customer login archived the Production model) */
  struct auth_config ac = {.home = g_f.home};
  struct auth *a = NULL;
  struct hv_err e = {0};
  assert_int_equal(auth_open(&ac, &a, &e), 0);
  char *jwt = NULL;
  assert_int_equal(auth_token_issue(a, 7, &jwt, &e), 0);
  auth_close(a);
  snprintf(body, sizeof(body), "csrf=%s&credential=%s&action=%d:Production",
           token, jwt, v);
  free(jwt);
  assert_int_equal(transition(cookie, NULL, body, &r), 403);
  EXPECT_HAS(&r, "operator");
  res_free(&r);
  assert_string_equal(stage_of(v, &n_prod, NULL, 0), "Staging");
  /* the admin key promotes; that archives the old Production version in
   * the same transaction */
  snprintf(body, sizeof(body), "csrf=%s&credential=%s&action=%d:Production",
           token, admin, v);
  assert_int_equal(transition(cookie, NULL, body, &r), 303);
  res_free(&r);
  assert_string_equal(stage_of(v, &n_prod, who, sizeof(who)), "Production");
  assert_int_equal(n_prod, 1);
  assert_string_equal(who, "ui:admin");
  assert_string_equal(stage_of(1, &n_prod, NULL, 0), "Archived");
  /* archive it again with the admin key in a header */
  char hk[300];
  snprintf(hk, sizeof(hk), "X-Admin-Key: %s", admin);
  snprintf(body, sizeof(body), "csrf=%s&action=%d:Archived", token, v);
  char url[256];
  snprintf(url, sizeof(url), "%s/ui/models/" UIF_CSRF_MODEL "/transition",
           g_base);
  const char *hdrs[] = {cookie, hk, NULL};
  assert_int_equal(http("POST", url, body, hdrs, &r), 303);
  res_free(&r);
  assert_string_equal(stage_of(v, &n_prod, NULL, 0), "Archived");
  /* GET on the action is not allowed */
  assert_int_equal(http("GET", url, NULL, NULL, &r), 405);
  res_free(&r);
}

/* ---- 1,000 runs ---------------------------------------------------------------- */

static double median3(double *v, size_t n)
{
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[n / 2];
}

/* A newest retraining run with the relative trigger: the monitoring page
 * draws the bound that run computed and names where it comes from (issue
 * 16). Last: it adds a run to the fixture. */
static void test_monitoring_relative_threshold(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char id[33];
  assert_int_equal(db_open(g_f.db_path, &db, &e), 0);
  assert_int_equal(
      runs_start(db, RETRAIN_EXPERIMENT, "retrain-relative", NULL, id, &e), 0);
  assert_int_equal(runs_log_param(db, id, "policy",
                                  "{\"max_top100_drop\":0.2}", &e), 0);
  assert_int_equal(runs_log_metric(db, id, "check.max_top100_drop.threshold",
                                   0.33, 0, &e), 0);
  assert_int_equal(runs_end(db, id, "FINISHED", &e), 0);
  db_close(db);
  struct res r;
  assert_int_equal(get("/ui/monitoring", &r), 200);
  EXPECT_HAS(&r, "retrain if top-100 &lt;= 0.33");
  EXPECT_HAS(&r, "max_top100_drop 0.2 below the model");
  res_free(&r);
}

/* Issue 16: a pass with an in-sample window and a skipped one; the page
 * says so (In-sample column and note, the chart's label, the skip reason
 * instead of numbers, the reason in the drift grid's tooltip). Last: it
 * adds a monitoring run to the fixture. */
static void test_monitoring_flags(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char path[4096];
  struct hv_model *m = NULL;
  assert_int_equal(db_open(g_f.db_path, &db, &e), 0);
  assert_int_equal(uri_resolve(g_f.home, db,
                               "models:/harvest_recommender/Production",
                               path, sizeof(path), &e), 0);
  assert_int_equal(model_load(path, &m, &e), 0);
  struct train_config tc;
  model_config(m, &tc);
  struct window_spec w[2] = {
      {"in-sample", WINDOW_RATING_IDS, tc.first_rating_id,
       tc.first_rating_id + 399},
      {"tiny", WINDOW_RATING_IDS, tc.last_rating_id + 1,
       tc.last_rating_id + 5}};
  struct monitor_config c;
  monitor_config_defaults(&c);
  c.mode = MONITOR_BATCHES;
  c.windows = w;
  c.n_windows = 2;
  c.log_run = 1;
  struct monitor_report rep;
  assert_int_equal(monitor_run(db, g_f.home, m, &c, &rep, &e), 0);
  char url[128];
  snprintf(url, sizeof(url), "/ui/monitoring?run=%s", rep.run_id);
  monitor_report_free(&rep);
  model_free(m);
  db_close(db);
  struct res r;
  assert_int_equal(get(url, &r), 200);
  EXPECT_HAS(&r, "<th>In-sample</th>");
  EXPECT_HAS(&r, "<td class=\"num insample\">100%</td>");
  EXPECT_HAS(&r, "1 window is in-sample: it holds ratings of the model");
  EXPECT_HAS(&r, "in-sample (in-sample)"); /* the chart's label */
  EXPECT_HAS(&r, "<td colspan=\"3\" class=\"skipped\">skipped: 5 ratings "
                 "&lt; min_ratings 200</td>");
  res_free(&r);
}

static void test_runs_table_1000(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(g_f.db_path, &db, &e), 0);
  double t0 = hv_mono();
  for (int i = 0; i < 1000; i++) {
    char id[33], name[32], val[32];
    snprintf(name, sizeof(name), "bench-%04d", i);
    assert_int_equal(runs_start(db, "bench", name, NULL, id, &e), 0);
    static const char *const pk[] = {"dim", "lr", "epochs", "batch",
                                     "optimizer", "seed", "l2", "split"};
    for (int k = 0; k < 8; k++) {
      snprintf(val, sizeof(val), "%d", (i * (k + 3)) % (7 + k));
      assert_int_equal(runs_log_param(db, id, pk[k], val, &e), 0);
    }
    struct tracking_metric m[8];
    static const char *const mk[] = {"top_100_categorical_accuracy",
                                     "top_10_categorical_accuracy", "loss",
                                     "test_loss", "m4", "m5", "m6", "m7"};
    for (int k = 0; k < 8; k++)
      m[k] = (struct tracking_metric){mk[k], sin(i * 0.7 + k) + 1, 0, 0};
    assert_int_equal(runs_log_metrics_batch(db, id, m, 8, &e), 0);
    assert_int_equal(runs_end(db, id, "FINISHED", &e), 0);
  }
  double made = hv_mono() - t0;
  db_close(db);
  static const char *const paths[] = {
      "/ui/experiments/bench",
      "/ui/experiments/bench?order_by=metrics.loss%20DESC",
      "/ui/experiments/bench?filter=metrics.loss%20%3E%200&order_by="
      "params.dim%20ASC"};
  for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
    double server[5], total[5];
    struct res r;
    for (int k = 0; k < 5; k++) {
      double a = hv_mono();
      assert_int_equal(get(paths[p], &r), 200);
      total[k] = (hv_mono() - a) * 1000;
      char timing[64];
      assert_non_null(header(&r, "Server-Timing", timing, sizeof(timing)));
      server[k] = strtod(timing + strlen("render;dur="), NULL);
      assert_int_equal(count(r.body, "name=\"runs\" value=\""), 1000);
      if (k == 4)
        printf("# %s: %zu bytes, server %.1f ms (median of 5), total %.1f "
               "ms%s\n",
               paths[p], r.len, median3(server, 5), median3(total, 5),
               SANITIZED ? " [sanitizer build]" : "");
      res_free(&r);
    }
    double med = median3(server, 5);
    /* The budget is 50 ms on a quiet machine (the printed median shows it;
     * bench numbers are in the closing notes). CI runs tests in parallel on
     * 2 shared cores, so the assertion only catches a real regression
     * (20x the budget: 283 ms was seen at load average 18 with nothing
     * wrong); sanitizers make everything ~3-5x slower. */
    assert_true(med < (SANITIZED ? 3000 : 1000));
  }
  printf("# 1000 runs with 8 params + 8 metrics logged in %.2f s\n", made);
}

int main(void)
{
  const struct CMUnitTest units[] = {
      cmocka_unit_test(test_html_escaping),
      cmocka_unit_test(test_html_format),
      cmocka_unit_test(test_svg_ticks_and_colours),
      cmocka_unit_test(test_svg_charts),
  };
  const struct CMUnitTest pages[] = {
      cmocka_unit_test(test_experiments_page),
      cmocka_unit_test(test_runs_table),
      cmocka_unit_test(test_run_page),
      cmocka_unit_test(test_run_links_and_downloads),
      cmocka_unit_test(test_compare_page),
      cmocka_unit_test(test_models_pages),
      cmocka_unit_test(test_monitoring_page),
      cmocka_unit_test(test_data_and_user_pages),
      cmocka_unit_test(test_escaping),
      cmocka_unit_test(test_errors_and_headers),
      cmocka_unit_test(test_empty_home),
      cmocka_unit_test(test_transition_csrf_and_auth),
      cmocka_unit_test(test_user_page_needs_a_credential),
      cmocka_unit_test(test_runs_table_1000),
      cmocka_unit_test(test_monitoring_relative_threshold),
      cmocka_unit_test(test_monitoring_flags),
  };
  int rc = cmocka_run_group_tests_name("ui units", units, NULL, NULL);
  return rc | cmocka_run_group_tests_name("ui pages", pages, group_setup,
                                          group_teardown);
}

/*
 * test_ui_tune.c - the chart view of a tune (serve/ui/ui_tune.c, GET
 * /ui/runs/ID/tune) and its SVG charts (svg_scatter, svg_parallel): as
 * units, a scatter of levels and of numbers (round ticks, the best point
 * marked, NaN left out) and parallel coordinates (an axis per param and
 * the metric, a line per trial, a grey line without a value); then the
 * page of ui_fixture.h's 2 x 2 tune (dim x lr): one scatter per grid axis
 * with the tune's metric by default, a picked metric, the best trial, the
 * links to it from the run page and the runs table; bad input: a metric
 * name that is not a key (422), one no trial logged (404), a run without
 * child runs (404), a malformed id (422), each naming what is wrong.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/ui/html.h"
#include "serve/ui/svg.h"
#include "ui_fixture.h"

static struct uif g_f;
static struct uif_srv g_v;
static struct tu_res g_r;

#define HAS(hay, s)                                                         \
  do {                                                                      \
    if (!strstr((hay), (s)))                                                \
      fail_msg("lacks \"%s\"", (s));                                        \
  } while (0)

static size_t count(const char *hay, const char *needle)
{
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static long get(const char *path)
{
  char url[1024];
  snprintf(url, sizeof(url), "%s%s", g_v.base, path);
  const char *hdrs[] = {g_v.admin, NULL};
  memset(&g_r, 0, sizeof(g_r));
  assert_int_equal(tu_curl("GET", url, NULL, hdrs, NULL, 30, tu_res_body,
                           tu_res_header, &g_r, &g_r.status),
                   CURLE_OK);
  if (g_r.len >= sizeof(g_r.body) - 1)
    fail_msg("%s: the page does not fit the test's buffer", path);
  return g_r.status;
}

static int group_setup(void **state)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  uif_start(&g_f, &g_v);
  return 0;
}

static int group_teardown(void **state)
{
  uif_stop(&g_f, &g_v);
  curl_global_cleanup();
  return 0;
}

/* ---- units ------------------------------------------------------------- */

static void test_scatter(void **state)
{
  struct html h;
  html_init(&h);
  const char *names[] = {"0.001", "0.01", "0.1"};
  double x[] = {0, 1, 2, 1}, y[] = {0.21, 0.34, NAN, 0.3};
  const char *tips[] = {"a", "b<c", "c", "d"};
  struct svg_scatter_opts o = {.title = "acc vs lr", .x_label = "lr",
                               .y_label = "acc", .x_names = names,
                               .n_x_names = 3, .best = 1};
  svg_scatter(&h, &o, x, y, tips, 4);
  const char *s = h.buf;
  HAS(s, "<svg class=\"chart scatter\"");
  assert_int_equal(count(s, "<circle class=\"point"), 3); /* NaN left out */
  assert_int_equal(count(s, "<circle class=\"point best\""), 1);
  HAS(s, "<title>b&lt;c: 0.34</title>");
  for (size_t i = 0; i < 3; i++) { /* the levels name the ticks */
    char t[64];
    snprintf(t, sizeof(t), "fill=\"#555\">%s</text>", names[i]);
    HAS(s, t);
  }
  HAS(s, ">lr</text>");
  HAS(s, "rotate(-90"); /* the y label */
  HAS(s, ">0.3</text>"); /* a round tick of [0.2, 0.35] */
  HAS(s, ">0.2</text>");
  html_free(&h);
  /* numbers: round ticks on x too */
  html_init(&h);
  double xn[] = {3, 17, 40}, yn[] = {1, 2, 3};
  struct svg_scatter_opts on = {.x_label = "dim", .best = -1};
  svg_scatter(&h, &on, xn, yn, NULL, 3);
  HAS(h.buf, ">20</text>");
  HAS(h.buf, ">40</text>");
  assert_int_equal(count(h.buf, " best\""), 0);
  html_free(&h);
  /* nothing to draw */
  html_init(&h);
  double nan1[] = {NAN};
  svg_scatter(&h, &on, nan1, nan1, NULL, 1);
  HAS(h.buf, "no data");
  html_free(&h);
}

static void test_parallel(void **state)
{
  struct html h;
  html_init(&h);
  const char *cat[] = {"adam", "sgd"};
  struct svg_axis ax[] = {{"dim", NULL, 0}, {"opt", cat, 2}, {"acc", NULL, 0}};
  double v[] = {8, 0, 0.2, 16, 1, 0.4, 32, 0, NAN};
  const char *tips[] = {"t1", "t2", "t3"};
  struct svg_parallel_opts o = {.title = "trials", .best = 1};
  svg_parallel(&h, &o, ax, 3, v, 3, tips);
  const char *s = h.buf;
  HAS(s, "<svg class=\"chart parallel\"");
  assert_int_equal(count(s, "<line class=\"axis\""), 3);
  assert_int_equal(count(s, "<polyline class=\"trial"), 3);
  assert_int_equal(count(s, "<polyline class=\"trial best\""), 1);
  HAS(s, "stroke=\"#bbbbbb\""); /* no metric: grey */
  HAS(s, ">adam</text>");
  HAS(s, ">sgd</text>");
  HAS(s, ">acc</text>");
  /* the best line (darkest) is drawn last */
  assert_non_null(strstr(strstr(s, "<title>t3</title>"), "trial best"));
  html_free(&h);
}

/* ---- the page ---------------------------------------------------------- */

static void test_tune_page(void **state)
{
  char path[256];
  snprintf(path, sizeof(path), "/ui/runs/%s/tune", g_f.tune_parent);
  assert_int_equal(get(path), 200);
  const char *b = g_r.body;
  HAS(b, "4 trials of run");
  /* the tune's objective by default; one scatter per grid axis */
  HAS(b, "<option selected>top_100_categorical_accuracy</option>");
  assert_int_equal(count(b, "<svg class=\"chart scatter\""), 2);
  HAS(b, "aria-label=\"top_100_categorical_accuracy vs dim\"");
  HAS(b, "aria-label=\"top_100_categorical_accuracy vs lr\"");
  HAS(b, "fill=\"#555\">8</text>"); /* the dim levels */
  HAS(b, "fill=\"#555\">16</text>");
  HAS(b, "fill=\"#555\">0.05</text>");
  assert_int_equal(count(b, "<circle class=\"point"), 8);
  assert_int_equal(count(b, "<circle class=\"point best\""), 2);
  assert_int_equal(count(b, "<polyline class=\"trial"), 4);
  assert_int_equal(count(b, "<line class=\"axis\""), 3);
  /* the best trial is the fixture's best, marked in the table */
  const char *best = strstr(b, "<tr class=\"differ\">");
  assert_non_null(best);
  assert_non_null(strstr(best, g_f.best_run));
  assert_true(strstr(best, g_f.best_run) < strstr(best, "</tr>"));
  /* another metric; lower is better for a loss */
  snprintf(path, sizeof(path), "/ui/runs/%s/tune?metric=loss",
           g_f.tune_parent);
  assert_int_equal(get(path), 200);
  HAS(g_r.body, "<option selected>loss</option>");
  HAS(g_r.body, "aria-label=\"loss vs dim\"");
  HAS(g_r.body, "lower is better");
}

static void test_tune_links(void **state)
{
  char path[256], link[128];
  snprintf(link, sizeof(link), "href=\"/ui/runs/%s/tune\"", g_f.tune_parent);
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.tune_parent);
  assert_int_equal(get(path), 200);
  HAS(g_r.body, link);
  assert_int_equal(get("/ui/experiments/tune"), 200);
  HAS(g_r.body, link);
  assert_int_equal(count(g_r.body, "class=\"tune-charts\""), 1);
}

static void test_tune_bad_input(void **state)
{
  char path[256];
  static const struct {
    const char *query, *says;
    long status;
  } bad[] = {
      {"?metric=bad%20name", "metric", 422},
      {"?metric=no_such_metric",
       "metric: no trial of this tune logged &#39;no_such_metric&#39;", 404},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(path, sizeof(path), "/ui/runs/%s/tune%s", g_f.tune_parent,
             bad[i].query);
    long st = get(path);
    if (st != bad[i].status || !strstr(g_r.body, bad[i].says))
      fail_msg("%s: %ld, want %ld saying %s", bad[i].query, st,
               bad[i].status, bad[i].says);
    HAS(g_r.body, "<div class=\"error\" role=\"alert\">");
  }
  snprintf(path, sizeof(path), "/ui/runs/%s/tune", g_f.best_run);
  assert_int_equal(get(path), 404); /* a trial has no child runs */
  HAS(g_r.body, "has no child runs");
  assert_int_equal(get("/ui/runs/zz/tune"), 422);
  HAS(g_r.body, "run id");
  assert_int_equal(get("/ui/runs/00000000000000000000000000000000/tune"),
                   404);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scatter),    cmocka_unit_test(test_parallel),
      cmocka_unit_test(test_tune_page),  cmocka_unit_test(test_tune_links),
      cmocka_unit_test(test_tune_bad_input),
  };
  return cmocka_run_group_tests_name("ui tune", tests, group_setup,
                                     group_teardown);
}

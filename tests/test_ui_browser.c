/*
 * test_ui_browser.c - the web UI in a real browser: headless Chromium
 * (/usr/bin/chromium, Debian's package) loads each page from a server
 * started in process on 127.0.0.1 against the scripted home of
 * ui_fixture.h (synth + tune + monitor + retrain), and the test checks the
 * DOM after the page's script ran (--dump-dom): the expected rows, values
 * and chart elements (<svg>, <polyline>, heat-grid cells, the threshold
 * line), client-side sorting (the #sort= fragment) next to the
 * server-side ?order_by= that needs no script. Each page is also saved as a screenshot in
 * ui-screenshots/ under the build folder (or $HV_UI_SCREENSHOTS) as a test
 * artifact. Skipped when /usr/bin/chromium is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serve/http/tokens.h"
#include "store/db.h"
#include "ui_fixture.h"
#include "util/fsutil.h"

#define CHROMIUM "/usr/bin/chromium"
#define BROWSER_TIMEOUT 90 /* seconds per page */

static struct uif g_f;
static struct serve *g_s;
static char g_base[64], g_profile[256], g_shots[1024], g_anon[256];
static const char *g_prof = g_profile; /* the profile browse() uses */
static int g_log = -1;

/* Run chromium on url: the DOM on stdout into *dom (caller frees), and a
 * screenshot to shot (NULL: none). extra: one more flag or NULL. */
static int browse(const char *url, const char *shot, int height,
                  const char *extra, char **dom)
{
  char prof[300], size[64], scr[1200];
  snprintf(prof, sizeof(prof), "--user-data-dir=%s", g_prof);
  snprintf(size, sizeof(size), "--window-size=1280,%d", height);
  snprintf(scr, sizeof(scr), "--screenshot=%s/%s", g_shots,
           shot ? shot : "");
  const char *argv[20] = {CHROMIUM, "--headless", "--no-sandbox",
                          "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          "--hide-scrollbars", prof, size, "--dump-dom"};
  size_t n = 13;
  if (shot)
    argv[n++] = scr;
  if (extra)
    argv[n++] = extra;
  argv[n++] = url;
  argv[n] = NULL;
  int out[2];
  if (pipe(out) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(out[1], 1);
    dup2(null, 2);
    close(out[0]);
    execv(CHROMIUM, (char *const *)argv);
    _exit(127);
  }
  close(out[1]);
  size_t len = 0, cap = 1 << 16;
  char *buf = malloc(cap);
  double until = hv_mono() + BROWSER_TIMEOUT;
  for (;;) {
    struct pollfd p = {out[0], POLLIN, 0};
    if (poll(&p, 1, 200) < 0 && errno != EINTR)
      break;
    if (hv_mono() > until) {
      kill(pid, SIGKILL);
      break;
    }
    if (!(p.revents & (POLLIN | POLLHUP)))
      continue;
    if (len + 4096 > cap)
      buf = realloc(buf, cap *= 2);
    ssize_t k = read(out[0], buf + len, cap - len - 1);
    if (k <= 0)
      break;
    len += (size_t)k;
  }
  buf[len] = '\0';
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  *dom = buf;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Load path, check the DOM is a Harvest page, return it (caller frees). */
static char *page(const char *path, const char *shot, int height,
                  const char *extra)
{
  char url[1024], *dom = NULL;
  snprintf(url, sizeof(url), "%s%s", g_base, path);
  int rc = browse(url, shot, height, extra, &dom);
  if (rc != 0 || !strstr(dom, "</html>"))
    fail_msg("chromium on %s: exit %d, %zu bytes of DOM", path, rc,
             strlen(dom));
  if (!strstr(dom, "<nav aria-label=\"main\">"))
    fail_msg("%s: no nav bar in the DOM", path);
  if (shot) {
    char file[1200];
    struct stat st;
    snprintf(file, sizeof(file), "%s/%s", g_shots, shot);
    if (stat(file, &st) != 0 || st.st_size < 1000)
      fail_msg("no screenshot %s", file);
  }
  return dom;
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

#define HAS(dom, s)                                                         \
  do {                                                                      \
    if (!strstr((dom), (s)))                                                \
      fail_msg("DOM lacks \"%s\"", (s));                                    \
  } while (0)

/* The run id of the first runs-table row in dom. */
static const char *first_row(const char *dom)
{
  const char *p = strstr(dom, "name=\"runs\" value=\"");
  return p ? p + 19 : "";
}

/* Fd from, moved to at least 10 (so that dup2 onto 3 and 4 cannot
 * close the other end). */
static int high_fd(int from)
{
  int fd = fcntl(from, F_DUPFD, 10);
  close(from);
  return fd;
}

/* Read NUL-separated CDP messages from fd until one has "id":id; 0, or -1
 * on EOF or after BROWSER_TIMEOUT. */
static int cdp_wait(int fd, int id)
{
  char buf[1 << 16], want[32];
  size_t len = 0;
  snprintf(want, sizeof(want), "\"id\":%d,", id);
  double until = hv_mono() + BROWSER_TIMEOUT;
  while (hv_mono() < until) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0)
      continue;
    ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
    if (k <= 0)
      return -1;
    len += (size_t)k;
    buf[len] = '\0';
    if (strstr(buf, want))
      return 0;
    if (len > sizeof(buf) / 2) /* keep the tail: the reply may span */
      memmove(buf, buf + len / 2, len - len / 2), len -= len / 2;
  }
  return -1;
}

/* Sign the browser in: a viewer account's session token (as POST
 * /ui/login makes one; the login itself is tested in test_policy_table)
 * goes into the profile as the hv_session cookie through the DevTools
 * protocol (--remote-debugging-pipe: Storage.setCookies, then
 * Browser.close, which writes the cookie store), so every later
 * --dump-dom run sends it as a signed-in browser does. */
static void sign_in(void)
{
  char path[600], tok[TOKENS_TEXT_MAX], msg[600], prof[300];
  struct hv_err e = {0};
  snprintf(path, sizeof(path), "%s/harvest.db", g_f.home);
  struct hv_db *db = tu_open_db(path);
  assert_int_equal(tokens_account_add(db, "browser", "viewer",
                                      "browser-pw-1", 1, 8192, &e), 0);
  assert_int_equal(tokens_create(db, "browser", NULL, TOKENS_SESSION, 3600,
                                 NULL, tok, NULL, &e), 0);
  db_close(db);
  int to[2], from[2];
  assert_int_equal(pipe(to), 0);
  assert_int_equal(pipe(from), 0);
  int to_r = high_fd(to[0]), from_w = high_fd(from[1]);
  snprintf(prof, sizeof(prof), "--user-data-dir=%s", g_profile);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    dup2(to_r, 3);
    dup2(from_w, 4);
    const char *argv[] = {CHROMIUM, "--headless", "--no-sandbox",
                          "--disable-gpu", "--no-first-run",
                          "--remote-debugging-pipe", prof, "about:blank",
                          NULL};
    execv(CHROMIUM, (char *const *)argv);
    _exit(127);
  }
  close(to_r);
  close(from_w);
  int n = snprintf(msg, sizeof(msg),
                   "{\"id\":1,\"method\":\"Storage.setCookies\",\"params\":"
                   "{\"cookies\":[{\"name\":\"hv_session\",\"value\":\"%s\","
                   "\"domain\":\"127.0.0.1\",\"path\":\"/ui\",\"httpOnly\":"
                   "true,\"sameSite\":\"Strict\",\"expires\":%.0f}]}}",
                   tok, (double)time(NULL) + 3600);
  assert_int_equal(write(to[1], msg, (size_t)n + 1), n + 1); /* and NUL */
  assert_int_equal(cdp_wait(from[0], 1), 0);
  static const char close_msg[] = "{\"id\":2,\"method\":\"Browser.close\"}";
  assert_int_equal(write(to[1], close_msg, sizeof(close_msg)),
                   (ssize_t)sizeof(close_msg));
  cdp_wait(from[0], 2);
  close(to[1]);
  close(from[0]);
  int status = 0;
  waitpid(pid, &status, 0);
}

static int group_setup(void **state)
{
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  uif_build(&g_f);
  char logs[512];
  snprintf(logs, sizeof(logs), "%s/server.log", g_f.home);
  g_log = open(logs, O_WRONLY | O_CREAT | O_APPEND, 0600);
  g_s = uif_serve(g_f.home, NULL, g_log, g_base, sizeof(g_base));
  tu_tmpdir(g_profile, sizeof(g_profile));
  tu_tmpdir(g_anon, sizeof(g_anon));
  sign_in();
  const char *env = getenv("HV_UI_SCREENSHOTS");
  char cwd[512];
  if (env && *env)
    snprintf(g_shots, sizeof(g_shots), "%s", env);
  else
    snprintf(g_shots, sizeof(g_shots), "%s/ui-screenshots",
             getcwd(cwd, sizeof(cwd)) ? cwd : ".");
  mkdir(g_shots, 0755);
  printf("# screenshots in %s\n", g_shots);
  return 0;
}

static int group_teardown(void **state)
{
  serve_stop(g_s, 5);
  close(g_log);
  tu_rmtree(g_f.home);
  tu_rmtree(g_profile);
  tu_rmtree(g_anon);
  return 0;
}

static void test_runs_table(void **state)
{
  /* column 7 is top_100_categorical_accuracy (compare, run, status,
   * started, duration, dim, lr, ...): the script sorts it ascending */
  char *dom = page("/ui/experiments/tune#sort=7-asc", "runs-table.png", 900,
                   NULL);
  assert_int_equal(count(dom, "name=\"runs\" value=\""), 5);
  HAS(dom, "<th aria-sort=\"ascending\">");
  assert_memory_equal(first_row(dom), g_f.worst_run, 32);
  HAS(dom, ">top_100_categorical_accuracy</a>");
  free(dom);
  /* the server sorts the same with ?order_by= (the no-script way); the
   * script changes nothing without a fragment or a click, so the page is
   * the server's HTML (test_ui.c checks that HTML without a browser) */
  dom = page("/ui/experiments/tune?order_by=metrics."
             "top_100_categorical_accuracy%20ASC",
             NULL, 900, NULL);
  assert_memory_equal(first_row(dom), g_f.worst_run, 32);
  assert_int_equal(count(dom, "name=\"runs\" value=\""), 5);
  assert_int_equal(count(dom, "aria-sort="), 1);
  free(dom);
}

static void test_run_chart(void **state)
{
  char path[128];
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.best_run);
  char *dom = page(path, "run-chart.png", 1000, NULL);
  HAS(dom, "<svg class=\"chart line-chart\"");
  HAS(dom, "aria-label=\"loss\"");
  HAS(dom, "<polyline class=\"series\" data-series=\"loss\"");
  HAS(dom, "model/model.hvm");
  HAS(dom, g_f.tune_parent);
  free(dom);
}

static void test_registry(void **state)
{
  char *dom = page("/ui/models/harvest_recommender", "registry.png", 900,
                   NULL);
  HAS(dom, "<span class=\"stage Production\">Production</span>");
  HAS(dom, "<tr data-version=\"1\">");
  HAS(dom, "name=\"csrf\"");
  HAS(dom, "form=\"transition\"");
  HAS(dom, "<form id=\"alias\""); /* alias editing */
  HAS(dom, "<th>Key metric</th>");
  HAS(dom, "title=\"top_100_categorical_accuracy\">");
  HAS(dom, "names the Production version");
  assert_true(count(dom, "<tr><td data-v=") >= 2); /* audit rows */
  free(dom);
  dom = page("/ui/models", NULL, 600, NULL);
  HAS(dom, "harvest_recommender");
  free(dom);
}

/* The chart view of the fixture's tune (ui_tune.c): a scatter per grid
 * axis and parallel coordinates, drawn in the browser (screenshot
 * tune-charts.png). */
static void test_tune_charts(void **state)
{
  char path[128];
  snprintf(path, sizeof(path), "/ui/runs/%s/tune", g_f.tune_parent);
  char *dom = page(path, "tune-charts.png", 1300, NULL);
  assert_int_equal(count(dom, "<svg class=\"chart scatter\""), 2);
  HAS(dom, "<svg class=\"chart parallel\"");
  assert_int_equal(count(dom, "<polyline class=\"trial"), 4);
  HAS(dom, "<circle class=\"point best\"");
  HAS(dom, g_f.best_run);
  free(dom);
}

/* Tables fit the window: in a 900 px window a long JSON param folds into
 * a <details> in the runs table and on the run page, and the wide tables
 * sit in a box that scrolls (screenshots runs-narrow.png, run-narrow.png,
 * registry-narrow.png: the page itself does not widen). */
static void test_narrow_tables(void **state)
{
  char *dom = page("/ui/experiments/xss", "runs-narrow.png", 700,
                   "--window-size=900,700");
  const char *t = strstr(dom, "<table class=\"data sortable runs\">");
  assert_non_null(t);
  HAS(t, "<details class=\"long\"><summary>{");
  HAS(dom, "<div class=\"scroll\"><table class=\"data sortable runs\">");
  free(dom);
  char path[128];
  snprintf(path, sizeof(path), "/ui/runs/%s", g_f.xss_run);
  dom = page(path, "run-narrow.png", 900, "--window-size=900,900");
  HAS(dom, "<div class=\"scroll\"><table class=\"data sortable params\">");
  HAS(dom, "<details class=\"long\">");
  free(dom);
  dom = page("/ui/models/harvest_recommender", "registry-narrow.png", 900,
             "--window-size=900,900");
  HAS(dom, "<div class=\"scroll\"><table class=\"data sortable versions\">");
  HAS(dom, "<div class=\"scroll\"><table class=\"data sortable audit\">");
  free(dom);
}

static void test_monitoring(void **state)
{
  char *dom = page("/ui/monitoring", "monitoring.png", 1900, NULL);
  HAS(dom, "<line class=\"threshold\"");
  HAS(dom, "<svg class=\"chart heat-grid\"");
  size_t cols = count(dom, "<text class=\"col\""),
         rows = count(dom, "<text class=\"row\"");
  assert_int_equal(cols, UIF_WINDOWS);
  assert_true(rows >= 6);
  assert_int_equal(count(dom, "<rect class=\"cell"), rows * cols);
  assert_true(count(dom, "<polyline class=\"series\"") >= 3);
  HAS(dom, "Retraining decisions");
  char id[16];
  snprintf(id, sizeof(id), ">%.8s</a>", g_f.decision_run);
  HAS(dom, id);
  free(dom);
}

static void test_other_pages(void **state)
{
  char path[256];
  snprintf(path, sizeof(path), "/ui/compare?runs=%s,%s", g_f.trials[0],
           g_f.trials[3]);
  char *dom = page(path, "compare.png", 1200, NULL);
  HAS(dom, "<tr class=\"differ\">");
  assert_true(count(dom, "<polyline class=\"series\"") >= 2);
  free(dom);
  dom = page("/ui/", "experiments.png", 600, NULL);
  HAS(dom, ">tune</a>");
  HAS(dom, ">Retraining</a>");
  free(dom);
  dom = page("/ui/data", "data.png", 1100, NULL);
  HAS(dom, "aria-label=\"Rating histogram\"");
  assert_true(count(dom, "<rect class=\"bar\"") >= 5);
  /* Signed in as a viewer, the nav bar says so; a browser that is not
   * (an empty profile) is sent to the login page and sees none of a
   * user's ratings (issue 17, finding 7). */
  HAS(dom, "browser (viewer)");
  free(dom);
  char url[1024];
  snprintf(url, sizeof(url), "%s/ui/users/5", g_base);
  g_prof = g_anon;
  int rc = browse(url, NULL, 900, NULL, &dom);
  g_prof = g_profile;
  assert_int_equal(rc, 0);
  HAS(dom, "action=\"/ui/login\"");
  HAS(dom, "name=\"next\" value=\"/ui/users/5\"");
  assert_int_equal(count(dom, "<li>"), 0);
  free(dom);
  dom = page("/ui/no/such/page", NULL, 600, NULL);
  HAS(dom, "404 Not Found");
  free(dom);
}

static void test_no_chromium(void **state)
{
  skip();
}

int main(void)
{
  if (access(CHROMIUM, X_OK) != 0) {
    const struct CMUnitTest none[] = {cmocka_unit_test(test_no_chromium)};
    return cmocka_run_group_tests_name("ui browser (no chromium)", none,
                                       NULL, NULL);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_runs_table), cmocka_unit_test(test_run_chart),
      cmocka_unit_test(test_registry), cmocka_unit_test(test_tune_charts),
      cmocka_unit_test(test_narrow_tables), cmocka_unit_test(test_monitoring),
      cmocka_unit_test(test_other_pages),
  };
  return cmocka_run_group_tests_name("ui browser", tests, group_setup,
                                     group_teardown);
}

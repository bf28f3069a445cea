/*
 * test_docs.c - the interactive /docs page (issue 16): Swagger UI from
 * Debian's python3-flasgger files (docs.c), the built-in start script and
 * style, the file list (nothing else under /docs/static/, no path from a
 * request reaches the disk), the strict Content-Security-Policy on every
 * answer and in /openapi.json, the plain page without the package; and in
 * headless Chromium (driven over the DevTools protocol,
 * --remote-debugging-pipe) a try-it-out of GET /movies/random/{n} through
 * Swagger UI's own buttons with a 200 and three movies in the rendered
 * response, no CSP violation reported by the browser, and a screenshot in
 * docs-screenshots/ under the build folder (or $HV_DOCS_SCREENSHOTS).
 * The browser part is skipped when /usr/bin/chromium or the package's
 * files are absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve/http/docs.h"
#include "serve/http/openapi_schemas.h"
#include "serve/http/server.h"
#include "store/catalog.h"
#include "store/db.h"
#include "store/loader.h"
#include "testutil.h"
#include "util/fsutil.h"

#define CHROMIUM "/usr/bin/chromium"
#define BROWSER_TIMEOUT 90 /* seconds for the whole browser session */

/* ---- docs.c on its own ---------------------------------------------------- */

static void test_missing_package(void **state)
{
  char dir[256];
  tu_tmpdir(dir, sizeof(dir));
  struct docs *d = NULL;
  struct hv_err e = {0};
  assert_int_equal(docs_open(dir, &d, &e), 0);
  assert_false(docs_swagger(d));
  assert_non_null(strstr(docs_why(d), "python3-flasgger"));
  size_t len = 0;
  assert_null(docs_page(d, &len));
  const char *body, *type;
  assert_int_equal(docs_file(d, "swagger-ui-bundle.js", &body, &len, &type),
                   HV_ENOTFOUND);
  assert_int_equal(docs_file(d, "harvest-docs.js", &body, &len, &type),
                   HV_ENOTFOUND);
  /* the plain page's style is always there */
  assert_int_equal(docs_file(d, "harvest-docs.css", &body, &len, &type), 0);
  assert_non_null(strstr(body, ".op{"));
  assert_non_null(strstr(type, "text/css"));
  docs_close(d);
  docs_close(NULL);
  assert_false(docs_swagger(NULL));
  tu_rmtree(dir);
}

static void test_package_files(void **state)
{
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  tu_write(dir, "swagger-ui-bundle.js", "var SwaggerUIBundle;", path,
           sizeof(path));
  tu_write(dir, "swagger-ui.css", ".swagger-ui{}", path, sizeof(path));
  tu_write(dir, "secret.txt", "no", path, sizeof(path));
  struct docs *d = NULL;
  struct hv_err e = {0};
  assert_int_equal(docs_open(dir, &d, &e), 0);
  assert_true(docs_swagger(d));
  assert_string_equal(docs_why(d), "");
  size_t len = 0;
  const char *page = docs_page(d, &len);
  assert_non_null(page);
  assert_int_equal(strlen(page), len);
  assert_non_null(strstr(page, "src=\"/docs/static/swagger-ui-bundle.js\""));
  assert_null(strstr(page, "<script>")); /* no inline script (CSP) */
  assert_null(strstr(page, "style="));
  const char *body, *type;
  assert_int_equal(docs_file(d, "swagger-ui-bundle.js", &body, &len, &type),
                   0);
  assert_string_equal(body, "var SwaggerUIBundle;");
  assert_non_null(strstr(type, "javascript"));
  assert_int_equal(docs_file(d, "harvest-docs.js", &body, &len, &type), 0);
  assert_non_null(strstr(body, "url: '/openapi.json'"));
  /* optional files absent, names off the list, paths: not found */
  static const char *const bad[] = {"favicon-32x32.png", "secret.txt",
                                    "../swagger-ui.css", "swagger-ui.css/",
                                    "", "SWAGGER-UI.CSS"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(docs_file(d, bad[i], &body, &len, &type), HV_ENOTFOUND);
  assert_int_equal(docs_file(d, NULL, &body, &len, &type), HV_ENOTFOUND);
  assert_int_equal(docs_file(NULL, "swagger-ui.css", &body, &len, &type),
                   HV_ENOTFOUND);
  docs_close(d);
  tu_rmtree(dir);
}

/* The OpenAPI enum of /docs/static/{file} is docs.c's list. */
static void test_openapi_enum(void **state)
{
  json_t *s = openapi_param_schema("docs_static", "file", 1000);
  json_t *en = json_object_get(s, "enum");
  size_t n = 0;
  while (docs_file_names[n])
    n++;
  assert_int_equal(json_array_size(en), n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(json_string_value(json_array_get(en, i)),
                        docs_file_names[i]);
  json_decref(s);
}

/* ---- a server ------------------------------------------------------------ */

static char g_home[256], g_base[64];
static struct serve *g_s;

static void load_catalogue(struct hv_db *db)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Drama", &e), 0);
  int g[] = {0};
  for (int m = 1; m <= 12; m++) {
    char title[64];
    snprintf(title, sizeof(title), "Docs Movie %d (19%02d)", m, 60 + m);
    struct hv_movie mv = {.id = m, .title = title, .release_year = 1960 + m,
                          .genre_ids = g, .n_genres = 1};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  struct hv_user us = {.id = 1, .raw_age = 30,
                       .bucketized_age = catalog_age_bucket(30),
                       .gender = "F", .occupation_text = "writer",
                       .occupation_label = 3, .zip_code = "55455"};
  assert_int_equal(loader_user(ld, &us, &e), 0);
  struct hv_rating r = {.rating_id = 1, .user_id = 1, .movie_id = 1,
                        .rating = 4, .timestamp = 100000};
  assert_int_equal(loader_rating(ld, &r, &e), 0);
  assert_int_equal(loader_commit(ld, "test", "generated", &e), 0);
}

static int server_setup(void **state)
{
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  tu_tmpdir(g_home, sizeof(g_home));
  char db_path[512];
  snprintf(db_path, sizeof(db_path), "%s/harvest.db", g_home);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(db_path, &db, &e), 0);
  load_catalogue(db);
  db_close(db);
  struct serve_config c = {.home = g_home, .port = 0, .threads = 2,
                           .poll_seconds = 0.1, .timeout_s = 10};
  c.auth.opslimit = 1;
  c.auth.memlimit = 8192;
  if (serve_start(&c, &g_s, &e))
    fail_msg("serve_start: %s", e.msg);
  snprintf(g_base, sizeof(g_base), "http://127.0.0.1:%d", serve_port(g_s));
  return 0;
}

static int server_teardown(void **state)
{
  serve_stop(g_s, 5);
  tu_rmtree(g_home);
  return 0;
}

static void get(const char *path, struct tu_res *r)
{
  char url[512];
  snprintf(url, sizeof(url), "%s%s", g_base, path);
  memset(r, 0, sizeof(*r));
  assert_int_equal(tu_curl("GET", url, NULL, NULL, NULL, 10, tu_res_body,
                           tu_res_header, r, &r->status), 0);
}

static int swagger_installed(void)
{
  return access(DOCS_SWAGGER_DIR "/swagger-ui-bundle.js", R_OK) == 0;
}

/* Every answer under /docs carries the CSP, and the document says so. */
static void test_csp_everywhere(void **state)
{
  static struct tu_res r;
  const char *paths[] = {"/docs", "/docs/static/harvest-docs.css",
                         swagger_installed() ? "/docs/static/swagger-ui.css"
                                             : NULL};
  for (size_t i = 0; i < 3 && paths[i]; i++) {
    get(paths[i], &r);
    assert_int_equal(r.status, 200);
    if (!strstr(r.headers, "Content-Security-Policy: " DOCS_CSP))
      fail_msg("%s: no CSP in %s", paths[i], r.headers);
    assert_non_null(strstr(r.headers, "X-Content-Type-Options: nosniff"));
  }
  get("/docs/static/..%2Fswagger-ui.css", &r);
  assert_int_equal(r.status, 404);
  get("/docs/static/nope.js", &r);
  assert_int_equal(r.status, 404);
  assert_non_null(strstr(r.body, "python3-flasgger"));
  get("/openapi.json", &r);
  json_error_t je;
  json_t *doc = json_loads(r.body, 0, &je);
  assert_non_null(doc);
  for (int i = 0; i < 2; i++) {
    json_t *h = json_object_get(
        json_object_get(
            json_object_get(
                json_object_get(
                    json_object_get(
                        json_object_get(json_object_get(doc, "paths"),
                                        i ? "/docs/static/{file}" : "/docs"),
                        "get"),
                    "responses"),
                "200"),
            "headers"),
        "Content-Security-Policy");
    assert_non_null(strstr(json_string_value(json_object_get(h,
                                                             "description")),
                           DOCS_CSP));
  }
  json_decref(doc);
  get("/docs", &r);
  if (swagger_installed())
    assert_non_null(strstr(r.body, "/docs/static/swagger-ui-bundle.js"));
  else
    assert_non_null(strstr(r.body, "/movies/random/{n}"));
}

/* ---- Chromium over the DevTools protocol ----------------------------------- */

struct cdp {
  int to, from; /* pipe ends: commands out, replies and events in */
  pid_t pid;
  char *buf;    /* unread bytes */
  size_t len, cap;
  int next_id;
  char session[128];
  int csp_violations; /* messages naming the Content Security Policy */
  char violation[512];
};

/* Fd from, moved to at least 10 (so that dup2 onto 3 and 4 cannot close
 * the other end). */
static int high_fd(int from)
{
  int fd = fcntl(from, F_DUPFD, 10);
  close(from);
  return fd;
}

static void cdp_start(struct cdp *c, const char *profile)
{
  int to[2], from[2];
  char prof[300];
  assert_int_equal(pipe(to), 0);
  assert_int_equal(pipe(from), 0);
  int to_r = high_fd(to[0]), from_w = high_fd(from[1]);
  snprintf(prof, sizeof(prof), "--user-data-dir=%s", profile);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    dup2(to_r, 3);
    dup2(from_w, 4);
    const char *argv[] = {CHROMIUM, "--headless", "--no-sandbox",
                          "--disable-gpu", "--no-first-run",
                          "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          "--hide-scrollbars", "--remote-debugging-pipe",
                          prof, "about:blank", NULL};
    execv(CHROMIUM, (char *const *)argv);
    _exit(127);
  }
  close(to_r);
  close(from_w);
  *c = (struct cdp){.to = to[1], .from = from[0], .pid = pid, .next_id = 1,
                    .cap = 1 << 20};
  c->buf = malloc(c->cap);
  assert_non_null(c->buf);
}

/* One message of the browser (NUL-terminated on the pipe) as JSON, or
 * NULL on EOF or after the deadline. */
static json_t *cdp_read(struct cdp *c, double until)
{
  for (;;) {
    char *nul = memchr(c->buf, '\0', c->len);
    if (nul) {
      json_error_t je;
      json_t *m = json_loadb(c->buf, (size_t)(nul - c->buf), 0, &je);
      size_t used = (size_t)(nul - c->buf) + 1;
      memmove(c->buf, c->buf + used, c->len - used);
      c->len -= used;
      return m ? m : json_object();
    }
    if (hv_mono() > until)
      return NULL;
    struct pollfd p = {c->from, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0)
      continue;
    if (c->len + 65536 > c->cap) {
      c->cap *= 2;
      c->buf = realloc(c->buf, c->cap);
      assert_non_null(c->buf);
    }
    ssize_t k = read(c->from, c->buf + c->len, c->cap - c->len);
    if (k <= 0)
      return NULL;
    c->len += (size_t)k;
  }
}

/* Note an event naming the Content Security Policy (a console error or a
 * log entry of a refused load). */
static void cdp_event(struct cdp *c, json_t *m)
{
  char *text = json_dumps(m, 0);
  if (text && strstr(text, "Content Security Policy")) {
    c->csp_violations++;
    snprintf(c->violation, sizeof(c->violation), "%s", text);
  }
  free(text);
}

/* Send method(params) (params is stolen; NULL = {}) in the page's session
 * when in_page; the reply's result (caller decrefs), failing the test on
 * an error or a timeout. */
static json_t *cdp_call(struct cdp *c, const char *method, json_t *params,
                        int in_page)
{
  int id = c->next_id++;
  json_t *msg = json_pack("{s:i, s:s, s:o}", "id", id, "method", method,
                          "params", params ? params : json_object());
  if (in_page)
    json_object_set_new(msg, "sessionId", json_string(c->session));
  char *text = json_dumps(msg, JSON_COMPACT);
  json_decref(msg);
  size_t n = strlen(text) + 1; /* and the NUL */
  assert_int_equal(hv_write_all(c->to, text, n), 0);
  free(text);
  double until = hv_mono() + BROWSER_TIMEOUT;
  for (;;) {
    json_t *m = cdp_read(c, until);
    if (!m)
      fail_msg("no answer from chromium to %s", method);
    if (json_integer_value(json_object_get(m, "id")) != id) {
      cdp_event(c, m);
      json_decref(m);
      continue;
    }
    if (json_object_get(m, "error")) {
      char *err = json_dumps(m, 0);
      fail_msg("%s: %s", method, err);
    }
    json_t *res = json_incref(json_object_get(m, "result"));
    json_decref(m);
    return res;
  }
}

/* Attach to the browser's page and enable the domains we listen to. */
static void cdp_attach(struct cdp *c)
{
  json_t *t = cdp_call(c, "Target.getTargets", NULL, 0);
  json_t *infos = json_object_get(t, "targetInfos"), *info;
  const char *target = NULL;
  size_t i;
  json_array_foreach(infos, i, info)
  {
    if (!strcmp(json_string_value(json_object_get(info, "type")), "page"))
      target = json_string_value(json_object_get(info, "targetId"));
  }
  assert_non_null(target);
  json_t *a = cdp_call(c, "Target.attachToTarget",
                       json_pack("{s:s, s:b}", "targetId", target, "flatten",
                                 1), 0);
  snprintf(c->session, sizeof(c->session), "%s",
           json_string_value(json_object_get(a, "sessionId")));
  json_decref(a);
  json_decref(t);
  static const char *const domains[] = {"Page.enable", "Runtime.enable",
                                        "Log.enable"};
  for (size_t k = 0; k < 3; k++)
    json_decref(cdp_call(c, domains[k], NULL, 1));
  json_decref(cdp_call(c, "Emulation.setDeviceMetricsOverride",
                       json_pack("{s:i, s:i, s:f, s:b}", "width", 1280,
                                 "height", 1100, "deviceScaleFactor", 1.0,
                                 "mobile", 0), 1));
}

static void save_screenshot(struct cdp *c, const char *file);
static char g_fail_shot[1200]; /* where a failed script's screenshot goes */

/* Evaluate expression (a promise) in the page; its value as a string
 * (caller frees). */
static char *cdp_eval(struct cdp *c, const char *expression)
{
  json_t *r = cdp_call(c, "Runtime.evaluate",
                       json_pack("{s:s, s:b, s:b}", "expression", expression,
                                 "awaitPromise", 1, "returnByValue", 1), 1);
  json_t *ex = json_object_get(r, "exceptionDetails");
  if (ex) {
    char *t = json_dumps(ex, 0);
    if (g_fail_shot[0])
      save_screenshot(c, g_fail_shot);
    fail_msg("script failed (screenshot %s): %s", g_fail_shot, t);
  }
  const char *v =
      json_string_value(json_object_get(json_object_get(r, "result"),
                                        "value"));
  char *out = strdup(v ? v : "");
  json_decref(r);
  return out;
}

static void cdp_stop(struct cdp *c)
{
  int id = c->next_id++;
  char msg[64];
  int n = snprintf(msg, sizeof(msg), "{\"id\":%d,\"method\":\"Browser.close\"}",
                   id);
  if (hv_write_all(c->to, msg, (size_t)n + 1) == 0) {
    json_t *m;
    while ((m = cdp_read(c, hv_mono() + 10)))
      json_decref(m);
  }
  close(c->to);
  close(c->from);
  if (waitpid(c->pid, NULL, WNOHANG) == 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
  }
  free(c->buf);
}

/* The try-it-out as a user does it, in Swagger UI's DOM: open the
 * operation, press "Try it out" and put the cursor in the n field
 * (open_js); the test types n through the DevTools Input domain; then
 * press "Execute" and wait for the rendered response (execute_js, which
 * resolves to JSON {status, body, url}). */
#define WAIT_JS                                                             \
  "const wait = async (f, what) => {\n"                                     \
  "  for (let i = 0; i < 300; i++) {\n"                                     \
  "    const v = f(); if (v) return v;\n"                                   \
  "    await new Promise(r => setTimeout(r, 100));\n"                       \
  "  }\n"                                                                   \
  "  throw new Error('timed out waiting for ' + what);\n"                   \
  "};\n"                                                                    \
  "const op = await wait(() => document.querySelector("                     \
  "'#operations-movies-random_get'), 'the operation');\n"

static const char open_js[] =
    "(async () => {\n" WAIT_JS
    "  op.querySelector('.opblock-summary').click();\n"
    "  (await wait(() => op.querySelector('.try-out__btn'), 'Try it out'))"
    ".click();\n"
    "  const input = await wait(() => op.querySelector("
    "'.parameters input:not([disabled])'), 'the n field');\n"
    "  input.focus();\n"
    "  return 'ready';\n"
    "})()";

static const char execute_js[] =
    "(async () => {\n" WAIT_JS
    /* the field commits its value 300 ms after the last key (Swagger UI's
     * debounced input) */
    "  await new Promise(r => setTimeout(r, 800));\n"
    "  (await wait(() => op.querySelector('.execute'), 'Execute')).click();\n"
    "  const status = await wait(() => { const s = op.querySelector("
    "'.live-responses-table .response .response-col_status'); "
    "return s && s.textContent.trim(); }, 'the response');\n"
    "  const body = op.querySelector('.live-responses-table "
    ".response-col_description pre');\n"
    "  const url = op.querySelector('.request-url pre');\n"
    "  (op.querySelector('.request-url') || op).scrollIntoView();\n"
    "  window.scrollBy(0, -330);\n"
    "  await new Promise(r => setTimeout(r, 300));\n"
    "  return JSON.stringify({status: status, body: body ? body.textContent "
    ": '', url: url ? url.textContent : ''});\n"
    "})()";

static void save_screenshot(struct cdp *c, const char *file)
{
  json_t *r = cdp_call(c, "Page.captureScreenshot",
                       json_pack("{s:s}", "format", "png"), 1);
  const char *b64 = json_string_value(json_object_get(r, "data"));
  assert_non_null(b64);
  size_t cap = strlen(b64), len = 0;
  unsigned char *png = malloc(cap);
  assert_int_equal(sodium_base642bin(png, cap, b64, cap, NULL, &len, NULL,
                                     sodium_base64_VARIANT_ORIGINAL), 0);
  assert_true(len > 1000);
  assert_memory_equal(png, "\x89PNG", 4);
  struct hv_err e = {0};
  assert_int_equal(hv_write_atomic(file, png, len, 0644, &e), 0);
  free(png);
  json_decref(r);
}

static void test_try_it_out(void **state)
{
  if (access(CHROMIUM, X_OK) != 0 || !swagger_installed()) {
    printf("# skipped: needs %s and Debian's python3-flasgger (make deps)\n",
           CHROMIUM);
    skip();
  }
  char profile[256], shots[1024], cwd[512], file[1200], url[256];
  tu_tmpdir(profile, sizeof(profile));
  const char *env = getenv("HV_DOCS_SCREENSHOTS");
  if (env && *env)
    snprintf(shots, sizeof(shots), "%s", env);
  else
    snprintf(shots, sizeof(shots), "%s/docs-screenshots",
             getcwd(cwd, sizeof(cwd)) ? cwd : ".");
  mkdir(shots, 0755);
  struct cdp c;
  cdp_start(&c, profile);
  cdp_attach(&c);
  snprintf(url, sizeof(url), "%s/docs", g_base);
  json_decref(cdp_call(&c, "Page.navigate", json_pack("{s:s}", "url", url),
                       1));
  snprintf(g_fail_shot, sizeof(g_fail_shot), "%s/docs-failed.png", shots);
  char *ready = cdp_eval(&c, open_js);
  assert_string_equal(ready, "ready");
  free(ready);
  json_decref(cdp_call(&c, "Input.insertText",
                       json_pack("{s:s}", "text", "3"), 1));
  char *out = cdp_eval(&c, execute_js);
  json_error_t je;
  json_t *res = json_loads(out, 0, &je);
  if (!res)
    fail_msg("try-it-out: %s", out);
  snprintf(file, sizeof(file), "%s/docs-try-it-out.png", shots);
  save_screenshot(&c, file);
  printf("# screenshot %s\n", file);
  assert_string_equal(json_string_value(json_object_get(res, "status")),
                      "200");
  const char *body = json_string_value(json_object_get(res, "body"));
  json_t *b = json_loads(body, 0, &je);
  if (!b)
    fail_msg("response body is not JSON: %s", body);
  assert_int_equal(json_array_size(json_object_get(b, "message")), 3);
  assert_non_null(strstr(json_string_value(json_object_get(res, "url")),
                         "/movies/random/3"));
  json_decref(b);
  /* the rest of the page's events: any CSP report */
  free(cdp_eval(&c, "new Promise(r => setTimeout(() => r('ok'), 200))"));
  if (c.csp_violations)
    fail_msg("%d CSP violations, e.g. %s", c.csp_violations, c.violation);
  json_decref(res);
  free(out);
  cdp_stop(&c);
  tu_rmtree(profile);
}

int main(void)
{
  const struct CMUnitTest unit[] = {
      cmocka_unit_test(test_missing_package),
      cmocka_unit_test(test_package_files),
      cmocka_unit_test(test_openapi_enum),
  };
  const struct CMUnitTest served[] = {
      cmocka_unit_test(test_csp_everywhere),
      cmocka_unit_test(test_try_it_out),
  };
  int rc = cmocka_run_group_tests_name("docs", unit, NULL, NULL);
  return rc | cmocka_run_group_tests_name("docs served", served,
                                          server_setup, server_teardown);
}

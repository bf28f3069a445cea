/*
 * test_ui_models.c - the web UI's registry pages (serve/ui/ui_models.c)
 * beyond promote / archive (test_ui.c): each version's key metric beside
 * its baseline, what the page says about @champion against Production
 * (the registry keeps them in step: track/registry.h), and alias editing
 * through POST /ui/models/{name}/alias: set, move and remove an alias with
 * the CSRF token and an operator's credential; every bad input answered
 * with an HTML error page naming the field (alias, version) and nothing
 * changed; no token, a forged one or no credential refused. Served in
 * process on 127.0.0.1 against ui_fixture.h's home.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/ui/html.h"
#include "store/registry_db.h"
#include "ui_fixture.h"

static struct uif g_f;
static struct uif_srv g_v;
static struct tu_res g_r; /* the last answer (128 KB of body) */

#define HAS(s)                                                              \
  do {                                                                      \
    if (!strstr(g_r.body, (s)))                                             \
      fail_msg("answer (status %ld) lacks \"%s\"", g_r.status, (s));        \
  } while (0)

/* One request with up to three headers; the answer in g_r. */
static long http(const char *method, const char *path, const char *body,
                 const char *h1, const char *h2, const char *h3)
{
  char url[1024];
  snprintf(url, sizeof(url), "%s%s", g_v.base, path);
  const char *hdrs[5] = {0};
  size_t n = 0;
  if (body)
    hdrs[n++] = "Content-Type: application/x-www-form-urlencoded";
  if (h1)
    hdrs[n++] = h1;
  if (h2)
    hdrs[n++] = h2;
  if (h3)
    hdrs[n++] = h3;
  memset(&g_r, 0, sizeof(g_r));
  assert_int_equal(tu_curl(method, url, body, hdrs, NULL, 30, tu_res_body,
                           tu_res_header, &g_r, &g_r.status),
                   CURLE_OK);
  return g_r.status;
}

/* GET a page as the admin (a credential the viewer policy accepts). */
static long get(const char *path)
{
  return http("GET", path, NULL, g_v.admin, NULL, NULL);
}

/* The value of response header name (e.g. "Location") into out. */
static const char *header(const char *name, char *out, size_t cap)
{
  size_t k = strlen(name);
  for (const char *p = g_r.headers; p && *p;) {
    if (!strncasecmp(p, name, k) && p[k] == ':') {
      p += k + 1 + strspn(p + k + 1, " ");
      snprintf(out, cap, "%.*s", (int)strcspn(p, "\r\n"), p);
      return out;
    }
    p = strchr(p, '\n');
    p = p ? p + 1 : NULL;
  }
  return NULL;
}

/* The session cookie ("Cookie: ...") and CSRF token of a visit of model
 * name's page. */
static void visit(const char *name, char *cookie, size_t ccap, char *token,
                  size_t tcap)
{
  char path[256], sc[256];
  snprintf(path, sizeof(path), "/ui/models/%s", name);
  assert_int_equal(get(path), 200);
  assert_non_null(header("Set-Cookie", sc, sizeof(sc)));
  snprintf(cookie, ccap, "Cookie: %.*s", (int)strcspn(sc, ";"), sc);
  const char *p = strstr(g_r.body, "name=\"csrf\" value=\"");
  assert_non_null(p);
  snprintf(token, tcap, "%.64s", p + 19);
}

/* The version alias names on model name, 0 when not set; the version in
 * Production into *prod (0: none). */
static int alias_of(const char *name, const char *alias, int *prod)
{
  struct hv_db *db = tu_open_db(g_f.db_path);
  struct hv_err e = {0};
  struct registry_model m;
  assert_int_equal(registry_db_get(db, name, &m, &e), 0);
  int v = 0;
  for (size_t i = 0; i < m.n_aliases; i++)
    if (!strcmp(m.aliases[i].alias, alias))
      v = m.aliases[i].version;
  *prod = 0;
  for (size_t i = 0; i < m.n_versions; i++)
    if (!strcmp(m.versions[i].stage, "Production"))
      *prod = m.versions[i].version;
  registry_db_model_free(&m);
  db_close(db);
  return v;
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

/* Each version shows its source run's key metric beside its baseline:
 * the tuned version 1 its test top-100 and the popularity baseline's, as
 * the run logged them. */
static void test_key_metrics(void **state)
{
  struct hv_db *db = tu_open_db(g_f.db_path);
  struct hv_err e = {0};
  struct tracking_run *r = NULL;
  assert_int_equal(runs_get(db, g_f.best_run, &r, &e), 0);
  double top = runs_metric(r, "top_100_categorical_accuracy");
  double base =
      runs_metric(r, "baseline_popularity_top_100_categorical_accuracy");
  runs_free(r, 1);
  db_close(db);
  assert_true(top > 0 && base > 0);
  assert_int_equal(get("/ui/models/harvest_recommender"), 200);
  HAS("<th>Key metric</th><th>Baseline</th>");
  char cell[160], num[32];
  const char *row = strstr(g_r.body, "<tr data-version=\"1\">");
  assert_non_null(row);
  snprintf(cell, sizeof(cell), "data-v=\"%.17g\" "
           "title=\"top_100_categorical_accuracy\">%s <span class=\"muted\">"
           "top-100 (test)</span>", top, html_num(top, num, sizeof(num)));
  assert_non_null(strstr(row, cell));
  snprintf(cell, sizeof(cell), "title=\"baseline_popularity_top_100_"
           "categorical_accuracy\">%s", html_num(base, num, sizeof(num)));
  assert_non_null(strstr(row, cell));
  /* a model below its baseline is marked, in its own row only */
  const char *end = strstr(row, "</tr>"), *mark = strstr(row, "<span class=\"worse\">(model below it)</span>");
  assert_non_null(end);
  assert_int_equal(mark && mark < end, top < base);
}

/* The registry moved @champion with every promotion (tune's, retrain's);
 * the page says so, and says when a hand-set alias is off Production. */
static void test_champion_note(void **state)
{
  int prod = 0;
  int champ = alias_of("harvest_recommender", "champion", &prod);
  assert_true(prod > 0);
  assert_int_equal(champ, prod);
  assert_int_equal(get("/ui/models/harvest_recommender"), 200);
  char want[160];
  snprintf(want, sizeof(want), "names the Production version (v%d) and "
           "follows it", prod);
  HAS(want);
  HAS("moves @champion to the new one"); /* the transition form */
}

static void test_alias_edit(void **state)
{
  char cookie[160], token[80], body[600], loc[256];
  visit(UIF_CSRF_MODEL, cookie, sizeof(cookie), token, sizeof(token));
  HAS("<form id=\"alias\"");
  HAS("<option value=\"2\">v2 (None)</option>");
  const char *path = "/ui/models/" UIF_CSRF_MODEL "/alias";
  int prod;
  /* set: 303 back to the page, which says so and shows a remove button */
  snprintf(body, sizeof(body), "csrf=%s&alias=%%40candidate&version=2",
           token);
  assert_int_equal(http("POST", path, body, cookie, g_v.admin, NULL), 303);
  assert_non_null(header("Location", loc, sizeof(loc)));
  assert_string_equal(loc, "/ui/models/" UIF_CSRF_MODEL
                           "?alias=candidate&moved=2");
  assert_int_equal(alias_of(UIF_CSRF_MODEL, "candidate", &prod), 2);
  assert_int_equal(get(loc), 200);
  HAS("@candidate now names version 2.");
  HAS("name=\"delete\" value=\"candidate\"");
  /* move it */
  snprintf(body, sizeof(body), "csrf=%s&alias=candidate&version=1", token);
  assert_int_equal(http("POST", path, body, cookie, g_v.admin, NULL), 303);
  assert_int_equal(alias_of(UIF_CSRF_MODEL, "candidate", &prod), 1);
  /* bad input: an error page naming the field, nothing changed */
  static const struct {
    const char *fields, *says;
    long status;
  } bad[] = {
      {"version=1", "alias: missing", 422},
      {"alias=&version=1", "alias: missing", 422},
      {"alias=Bad+Name&version=1", "alias &#39;Bad Name&#39;", 422},
      {"alias=latest&version=1", "is reserved", 422},
      {"alias=v7&version=1", "is reserved", 422},
      {"alias=ok", "version: missing", 422},
      {"alias=ok&version=x", "version: &#39;x&#39;", 422},
      {"alias=ok&version=0", "version: 0 is out of range", 422},
      {"alias=ok&version=99", "has no version 99", 404},
      {"delete=nope", "has no alias &#39;nope&#39;", 404},
      {"delete=NO%21", "alias &#39;NO!&#39;", 422},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(body, sizeof(body), "csrf=%s&%s", token, bad[i].fields);
    long st = http("POST", path, body, cookie, g_v.admin, NULL);
    if (st != bad[i].status || !strstr(g_r.body, bad[i].says))
      fail_msg("%s: status %ld, want %ld saying \"%s\"", bad[i].fields, st,
               bad[i].status, bad[i].says);
    HAS("<!DOCTYPE html>");
    HAS("<div class=\"error\" role=\"alert\">");
  }
  assert_int_equal(alias_of(UIF_CSRF_MODEL, "candidate", &prod), 1);
  assert_int_equal(alias_of(UIF_CSRF_MODEL, "ok", &prod), 0);
  /* no CSRF token, a forged one, no session cookie, no credential */
  snprintf(body, sizeof(body), "alias=x&version=1");
  assert_int_equal(http("POST", path, body, cookie, g_v.admin, NULL), 403);
  /* a forged token: the real one with its last digit changed */
  snprintf(body, sizeof(body), "csrf=%.63s%c&alias=x&version=1", token,
           token[63] == '0' ? '1' : '0');
  assert_int_equal(http("POST", path, body, cookie, g_v.admin, NULL), 403);
  snprintf(body, sizeof(body), "csrf=%s&alias=x&version=1", token);
  assert_int_equal(http("POST", path, body, NULL, g_v.admin, NULL), 403);
  assert_int_equal(http("POST", path, body, cookie, NULL, NULL), 401);
  assert_int_equal(http("GET", path, NULL, g_v.admin, NULL, NULL), 405);
  assert_int_equal(alias_of(UIF_CSRF_MODEL, "x", &prod), 0);
  /* remove */
  snprintf(body, sizeof(body), "csrf=%s&alias=&delete=candidate", token);
  assert_int_equal(http("POST", path, body, cookie, g_v.admin, NULL), 303);
  assert_non_null(header("Location", loc, sizeof(loc)));
  assert_string_equal(loc, "/ui/models/" UIF_CSRF_MODEL "?alias=candidate");
  assert_int_equal(alias_of(UIF_CSRF_MODEL, "candidate", &prod), 0);
  assert_int_equal(get(loc), 200);
  HAS("@candidate removed.");
}

/* @champion set by hand off Production: the page says it is not on
 * Production; a promotion through the page moves it back in step. */
static void test_champion_by_hand(void **state)
{
  char cookie[160], token[80], body[600];
  int prod;
  visit(UIF_CSRF_MODEL, cookie, sizeof(cookie), token, sizeof(token));
  int champ = alias_of(UIF_CSRF_MODEL, "champion", &prod);
  assert_int_equal(champ, prod);
  int other = prod == 1 ? 2 : 1;
  snprintf(body, sizeof(body), "csrf=%s&alias=champion&version=%d", token,
           other);
  assert_int_equal(http("POST", "/ui/models/" UIF_CSRF_MODEL "/alias", body,
                        cookie, g_v.admin, NULL),
                   303);
  assert_int_equal(get("/ui/models/" UIF_CSRF_MODEL), 200);
  char want[200];
  snprintf(want, sizeof(want), "<b>@champion is not on Production:</b> "
           "Production is v%d, @champion names another version", prod);
  HAS(want);
  snprintf(body, sizeof(body), "csrf=%s&action=%d:Production", token, other);
  assert_int_equal(http("POST", "/ui/models/" UIF_CSRF_MODEL "/transition",
                        body, cookie, g_v.admin, NULL),
                   303);
  assert_int_equal(alias_of(UIF_CSRF_MODEL, "champion", &prod), other);
  assert_int_equal(prod, other);
  assert_int_equal(get("/ui/models/" UIF_CSRF_MODEL), 200);
  snprintf(want, sizeof(want), "names the Production version (v%d)", other);
  HAS(want);
  /* archiving the Production version leaves no champion, and says so */
  snprintf(body, sizeof(body), "csrf=%s&action=%d:Archived", token, other);
  assert_int_equal(http("POST", "/ui/models/" UIF_CSRF_MODEL "/transition",
                        body, cookie, g_v.admin, NULL),
                   303);
  assert_int_equal(alias_of(UIF_CSRF_MODEL, "champion", &prod), 0);
  assert_int_equal(prod, 0);
  assert_int_equal(get("/ui/models/" UIF_CSRF_MODEL), 200);
  HAS("No version is in Production and @champion is not set");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_metrics),
      cmocka_unit_test(test_champion_note),
      cmocka_unit_test(test_alias_edit),
      cmocka_unit_test(test_champion_by_hand),
  };
  return cmocka_run_group_tests_name("ui models", tests, group_setup,
                                     group_teardown);
}

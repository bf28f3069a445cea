/*
 * test_server.c - serve/: the REST API in process on 127.0.0.1 (free port)
 * against a generated catalogue and small trained models, spoken to with
 * libcurl: route shapes and statuses, bad and hostile input on every
 * parameter, live ratings, the auth flows, body limits, hot swap from the
 * registry and from a file (including a refused corrupt model), readiness,
 * graceful stop with a request in flight, TLS, the access log, the
 * per-user top-n memo and the workers' scheduler slice, and the
 * `harvest serve` binary stopping on SIGTERM (and its usage errors) and
 * sizing its worker pool to its CPU affinity.
 *
 * Synchronisation: no fixed sleeps. A test waits for what it needs (an
 * answer, a header, a /metrics line such as harvest_http_requests_in_flight,
 * a log line) with tu_wait_until's deadline, and fails saying what never
 * happened.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <jansson.h>
#include <jwt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/ivf.h"
#include "model/model.h"
#include "recommend/retindex.h"
#include "recommend/recommend.h"
#include "serve/http/server.h"
#include "store/catalog.h"
#include "store/ratings.h"
#include "store/db.h"
#include "store/loader.h"
#include "store/stats.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"
#include "train/dataset.h"
#include "util/fsutil.h"
#include "testutil.h"

#define N_USERS 30
#define N_MOVIES 40
#define PER_USER 15

static const char *const hostile_titles[] = {
    "Robert'); DROP TABLE movies;-- (1999)", "Quote \" back\\slash (2000)",
    "<script>alert(1)</script> (2001)", "Am\xc3\xa9lie (2001)"};

/* ---- fixture: home with catalogue and two models ------------------------ */

static char g_home[256], g_db[512], g_m1[512], g_m2[512], g_logs[512];
static char g_r1[512], g_r2[512]; /* ranking models (issue 14) */

static void load_catalogue(struct hv_db *db)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Drama", &e), 0);
  int g[] = {0};
  for (int m = 1; m <= N_MOVIES; m++) {
    char title[64];
    snprintf(title, sizeof(title), "Movie %d (19%02d)", m, 50 + m);
    struct hv_movie mv = {.id = m, .title = m <= 4 ? hostile_titles[m - 1]
                                                   : title,
                          .release_year = 1950 + m, .genre_ids = g,
                          .n_genres = 1};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  int64_t rid = 1;
  unsigned seed = 7;
  for (int u = 1; u <= N_USERS + 1; u++) { /* the last user has no ratings */
    struct hv_user us = {.id = u, .raw_age = 20 + u % 40,
                         .bucketized_age = catalog_age_bucket(20 + u % 40),
                         .gender = u % 2 ? "M" : "F",
                         .occupation_text = "writer", .occupation_label = 3,
                         .zip_code = "55455"};
    assert_int_equal(loader_user(ld, &us, &e), 0);
    for (int k = 0; u <= N_USERS && k < PER_USER; k++) {
      seed = seed * 1103515245u + 12345u;
      int m = 1 + (int)((seed >> 8) % N_MOVIES);
      struct hv_rating r = {.rating_id = rid++, .user_id = u, .movie_id = m,
                            .rating = 1 + (seed >> 4) % 5,
                            .timestamp = 100000 + rid};
      assert_int_equal(loader_rating(ld, &r, &e), 0);
    }
  }
  assert_int_equal(loader_commit(ld, "test", "generated", &e), 0);
}

static void train_to(struct hv_db *db, uint64_t seed, const char *path)
{
  struct train_config c;
  struct hv_err e = {0};
  struct hv_model *m = NULL;
  train_config_tutorial(&c);
  c.dim = 8;
  c.epochs = 2;
  c.batch = 64;
  c.split = 1;
  c.seed = seed;
  c.threads = 1;
  c.first_rating_id = 0;
  c.last_rating_id = INT64_MAX;
  if (dataset_train(db, &c, NULL, NULL, NULL, &m, &e))
    fail_msg("train_run: %s", e.msg);
  assert_int_equal(model_save(m, path, &e), 0);
  model_free(m);
}

/* A ranking model of the catalogue's ratings into path. */
static void train_ranker_to(struct hv_db *db, uint64_t seed, const char *path)
{
  struct train_config c;
  struct hv_err e = {0};
  struct hv_model *m = NULL;
  train_config_ranking(&c);
  c.dim = 8;
  c.hidden = 8;
  c.epochs = 3;
  c.batch = 64;
  c.split = 1;
  c.seed = seed;
  c.threads = 1;
  if (dataset_train(db, &c, NULL, NULL, NULL, &m, &e))
    fail_msg("train ranker: %s", e.msg);
  assert_int_equal(model_save(m, path, &e), 0);
  model_free(m);
}

static int group_setup(void **state)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  tu_tmpdir(g_home, sizeof(g_home));
  /* the home's SQLite file, or under tests/pg_cluster.sh (test_server_pg)
   * a fresh PostgreSQL database: every server and command here uses it */
  char file[512], url[512];
  snprintf(file, sizeof(file), "%s/harvest.db", g_home);
  snprintf(g_db, sizeof(g_db), "%s", tu_db(file, url, sizeof(url)));
  if (tu_on_pg())
    setenv("HARVEST_DB", g_db, 1);
  snprintf(g_m1, sizeof(g_m1), "%s/m1.hvm", g_home);
  snprintf(g_m2, sizeof(g_m2), "%s/m2.hvm", g_home);
  snprintf(g_logs, sizeof(g_logs), "%s/server.log", g_home);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(g_db, &db, &e), 0);
  load_catalogue(db);
  train_to(db, 1, g_m1);
  train_to(db, 2, g_m2);
  snprintf(g_r1, sizeof(g_r1), "%s/r1.hvm", g_home);
  snprintf(g_r2, sizeof(g_r2), "%s/r2.hvm", g_home);
  train_ranker_to(db, 1, g_r1);
  train_ranker_to(db, 2, g_r2);
  db_close(db);
  return 0;
}

static int group_teardown(void **state)
{
  tu_rmtree(g_home);
  curl_global_cleanup();
  return 0;
}

/* ---- a server per test ---------------------------------------------------- */

struct srv {
  struct serve *s;
  char base[64];
  int log_fd;
};

static struct serve_config base_config(const char *model_file)
{
  struct serve_config c = {.home = g_home, .db = g_db, .port = 0,
                           .threads = 2,
                           .model_file = model_file, .access_log = 1,
                           .poll_seconds = 0.1, .max_body = 4096,
                           .timeout_s = 5};
  /* these tests are about the routes' shapes, limits and plumbing, in the
   * seed's open shape; test_policy_table walks who may call what */
  c.seed_compat = 1;
  c.auth.opslimit = 1;    /* crypto_pwhash_OPSLIMIT_MIN: fast tests */
  c.auth.memlimit = 8192; /* crypto_pwhash_MEMLIMIT_MIN */
  c.auth.login_burst = 5;
  c.auth.login_per_sec = 0.001;
  return c;
}

static void start(struct srv *v, struct serve_config *c)
{
  struct hv_err e = {0};
  v->log_fd = open(g_logs, O_WRONLY | O_CREAT | O_APPEND, 0600);
  assert_true(v->log_fd > 0);
  c->log_fd = v->log_fd;
  if (serve_start(c, &v->s, &e))
    fail_msg("serve_start: %s", e.msg);
  snprintf(v->base, sizeof(v->base), "%s://127.0.0.1:%d",
           c->tls_cert ? "https" : "http", serve_port(v->s));
}

static void stop(struct srv *v)
{
  serve_stop(v->s, 5.0);
  close(v->log_fd);
}

/* ---- HTTP with libcurl ---------------------------------------------------- */

struct res {
  long status;
  char body[1 << 17]; /* /openapi.json is ~70 KB */
  size_t len;
  char headers[4096];
  size_t hlen;
  CURLcode rc;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
  struct res *r = ud;
  size_t k = sz * n;
  if (r->len + k >= sizeof(r->body))
    k = sizeof(r->body) - 1 - r->len;
  memcpy(r->body + r->len, p, k);
  r->len += k;
  r->body[r->len] = '\0';
  return sz * n;
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

static const char *g_cainfo; /* for https */

/* One request on a fresh connection; body NULL for none. */
static long http(const char *method, const char *url, const char *body,
                 const char *const *hdrs, struct res *r)
{
  memset(r, 0, sizeof(*r));
  r->rc = (CURLcode)tu_curl(method, url, body, hdrs, g_cainfo, 20, on_body,
                            on_header, r, &r->status);
  return r->rc == CURLE_OK ? r->status : -1;
}

static long req_with(struct srv *v, const char *method, const char *path,
                     const char *body, const char *const *hdrs, struct res *r)
{
  char url[2048];
  snprintf(url, sizeof(url), "%s%s", v->base, path);
  return http(method, url, body, hdrs, r);
}

static long get(struct srv *v, const char *path, struct res *r)
{
  return req_with(v, "GET", path, NULL, NULL, r);
}

static long post(struct srv *v, const char *path, const char *body,
                 const char *const *hdrs, struct res *r)
{
  return req_with(v, "POST", path, body, hdrs, r);
}

static json_t *parse(const struct res *r)
{
  json_error_t je;
  json_t *j = json_loadb(r->body, r->len, 0, &je);
  if (!j)
    fail_msg("not JSON (%s): %.200s", je.text, r->body);
  return j;
}

/* The "detail" of an error answer contains want. */
static void expect_error(const struct res *r, long status, const char *want)
{
  if (r->status != status)
    fail_msg("status %ld, want %ld: %.300s", r->status, status, r->body);
  json_t *j = parse(r);
  const char *d = json_string_value(json_object_get(j, "detail"));
  if (!d || (want && !strstr(d, want)))
    fail_msg("detail '%s' lacks '%s'", d ? d : "(none)", want);
  json_decref(j);
}

static const char *header(const struct res *r, const char *name, char *out,
                          size_t cap)
{
  const char *p = r->headers;
  size_t n = strlen(name);
  while (p && *p) {
    if (!strncasecmp(p, name, n) && p[n] == ':') {
      p += n + 1;
      while (*p == ' ')
        p++;
      size_t k = strcspn(p, "\r\n");
      snprintf(out, cap, "%.*s", (int)k, p);
      return out;
    }
    p = strchr(p, '\n');
    p = p ? p + 1 : NULL;
  }
  return NULL;
}

/* ---- waiting for the server ------------------------------------------------ */

struct get_wait {
  struct srv *v;
  const char *path, *needle; /* needle NULL: any 200 */
  struct res r;
};

static int get_has(void *ud)
{
  struct get_wait *w = ud;
  return get(w->v, w->path, &w->r) == 200 &&
         (!w->needle || strstr(w->r.body, w->needle));
}

/* Wait until GET path answers 200 with needle in its body (NULL: any);
 * fails the test after tu_wait_s(). */
static void wait_get(struct srv *v, const char *path, const char *needle)
{
  struct get_wait *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  *w = (struct get_wait){.v = v, .path = path, .needle = needle};
  if (!tu_wait_until(get_has, w))
    fail_msg("GET %s never answered 200 with \"%s\" (last: %ld %.300s)",
             path, needle ? needle : "", w->r.status, w->r.body);
  free(w);
}

struct flight_wait {
  CURL *c;
  struct res r;
  char want[64];
};

static int in_flight_is(void *ud)
{
  struct flight_wait *w = ud;
  w->r.len = 0;
  w->r.body[0] = '\0';
  return curl_easy_perform(w->c) == CURLE_OK && strstr(w->r.body, w->want);
}

/* Wait until /metrics at base shows n requests in flight: this one and
 * n - 1 others. The polls share one keep-alive connection, so the last
 * poll's completion is counted off before the next one is read (a fresh
 * connection each time could still see the previous poll in flight). */
static void wait_in_flight(const char *base, int n)
{
  struct flight_wait *w = calloc(1, sizeof(*w));
  char url[128];
  assert_non_null(w);
  assert_non_null(w->c = curl_easy_init());
  snprintf(url, sizeof(url), "%s/metrics", base);
  snprintf(w->want, sizeof(w->want), "harvest_http_requests_in_flight %d\n",
           n);
  curl_easy_setopt(w->c, CURLOPT_URL, url);
  curl_easy_setopt(w->c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(w->c, CURLOPT_WRITEDATA, &w->r);
  curl_easy_setopt(w->c, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(w->c, CURLOPT_NOSIGNAL, 1L);
  int ok = tu_wait_until(in_flight_is, w);
  curl_easy_cleanup(w->c);
  if (!ok)
    fail_msg("/metrics never showed %d requests in flight", n);
  free(w);
}

/* ---- tests ---------------------------------------------------------------- */

/* /metrics as Prometheus reads it: every family has HELP and TYPE, and
 * the process_* metrics of its client libraries are there with plausible
 * values; then `promtool check metrics` (Debian's prometheus package, which
 * make deps installs) must find nothing, when it is installed. */
static void check_metrics_text(const char *body)
{
  static const char *const fams[] = {
      "harvest_model_loaded_timestamp_seconds", "process_cpu_seconds_total",
      "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
      "process_start_time_seconds"};
  for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
    char help[128];
    snprintf(help, sizeof(help), "# HELP %s ", fams[i]);
    if (!strstr(body, help))
      fail_msg("/metrics: no HELP for %s", fams[i]);
  }
  double start = 0, rss = 0, fds = 0;
  const char *p = strstr(body, "\nprocess_start_time_seconds ");
  assert_non_null(p);
  start = strtod(p + 28, NULL);
  assert_true(fabs(start - (double)time(NULL)) < 3600);
  assert_non_null(p = strstr(body, "\nprocess_resident_memory_bytes "));
  rss = strtod(p + 31, NULL);
  assert_true(rss > 1e6);
  assert_non_null(p = strstr(body, "\nprocess_open_fds "));
  fds = strtod(p + 18, NULL);
  assert_true(fds >= 3);
  char dir[256], file[512], out[4096];
  if (tu_run("command -v promtool", out, sizeof(out)) != 0) {
    printf("# promtool not installed (apt-get install prometheus): "
           "skipping promtool check metrics\n");
    return;
  }
  tu_tmpdir(dir, sizeof(dir));
  tu_write(dir, "metrics.txt", body, file, sizeof(file));
  char cmd[700];
  snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", file);
  int rc = tu_run(cmd, out, sizeof(out));
  if (rc != 0 || out[0])
    fail_msg("promtool check metrics: exit %d: %s", rc, out);
  printf("# promtool check metrics: clean (%zu bytes)\n", strlen(body));
  tu_rmtree(dir);
}

static void test_routes_and_shapes(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  start(&v, &c);
  struct res r;
  char hv[256];
  assert_int_equal(get(&v, "/", &r), 200);
  json_t *j = parse(&r);
  assert_true(json_is_string(json_object_get(j, "message")));
  json_decref(j);

  assert_int_equal(get(&v, "/users/", &r), 200);
  j = parse(&r);
  assert_int_equal(json_array_size(json_object_get(j, "message")),
                   N_USERS + 1);
  json_decref(j);

  assert_int_equal(get(&v, "/users/3", &r), 200);
  j = parse(&r);
  assert_int_equal(json_array_size(j), 1);
  static const char *const keys[] = {
      "user_id", "bucketized_user_age", "raw_user_age", "user_gender",
      "user_occupation_label", "user_occupation_text", "user_zip_code"};
  for (size_t i = 0; i < 7; i++)
    assert_non_null(json_object_get(json_array_get(j, 0), keys[i]));
  assert_int_equal(json_object_size(json_array_get(j, 0)), 7);
  json_decref(j);

  assert_int_equal(get(&v, "/movies/", &r), 200);
  j = parse(&r);
  json_t *movies = json_object_get(j, "message");
  assert_int_equal(json_array_size(movies), N_MOVIES);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(movies, 1),
                                        "movie_title")),
      hostile_titles[1]);
  json_decref(j);

  assert_int_equal(get(&v, "/movies/random/5", &r), 200);
  j = parse(&r);
  assert_int_equal(json_array_size(json_object_get(j, "message")), 5);
  json_decref(j);

  assert_int_equal(get(&v, "/movies/ratings/?min_rating=2&max_rating=3.5",
                       &r),
                   200);
  j = parse(&r);
  size_t i;
  json_t *it;
  assert_true(json_array_size(j) > 0);
  json_array_foreach(j, i, it)
  {
    double x = json_number_value(json_object_get(it, "rating"));
    assert_true(x >= 2 && x <= 3.5);
    assert_true(json_is_string(json_object_get(it, "movie_title")));
  }
  json_decref(j);

  assert_int_equal(get(&v, "/movies/recommend/1/5", &r), 200);
  assert_non_null(header(&r, "X-Model-Version", hv, sizeof(hv)));
  assert_string_equal(hv, "m1.hvm/1");
  j = parse(&r);
  json_t *titles = json_object_get(j, "message");
  assert_int_equal(json_array_size(titles), 5);
  json_array_foreach(titles, i, it) assert_true(json_is_string(it));
  json_decref(j);
  /* the same request answers the same titles (deterministic model) */
  struct res r2;
  assert_int_equal(get(&v, "/movies/recommend/1/5", &r2), 200);
  assert_string_equal(r.body, r2.body);

  /* all movies, then all but the rated ones */
  assert_int_equal(get(&v, "/movies/recommend/1/100", &r), 200);
  j = parse(&r);
  assert_int_equal(json_array_size(json_object_get(j, "message")), N_MOVIES);
  json_decref(j);
  assert_int_equal(get(&v, "/movies/recommend/1/100?exclude_rated=true", &r),
                   200);
  j = parse(&r);
  size_t left = json_array_size(json_object_get(j, "message"));
  assert_true(left > 0 && left < N_MOVIES);
  json_decref(j);

  assert_int_equal(get(&v, "/movies/recommend/batch/3?users=1&users=2&users=7",
                       &r),
                   200);
  assert_non_null(header(&r, "X-Model-Version", hv, sizeof(hv)));
  j = parse(&r);
  assert_int_equal(json_array_size(j), 3);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 2),
                                                      "user_id")),
                   7);
  assert_int_equal(json_array_size(json_object_get(json_array_get(j, 0),
                                                   "movies")),
                   3);
  json_decref(j);

  assert_int_equal(get(&v, "/healthz", &r), 200);
  assert_int_equal(get(&v, "/readyz", &r), 200);
  assert_int_equal(get(&v, "/openapi.json", &r), 200);
  j = parse(&r);
  assert_non_null(json_object_get(json_object_get(j, "paths"),
                                  "/movies/recommend/{user}/{n}"));
  json_decref(j);
  assert_int_equal(get(&v, "/docs", &r), 200);
  assert_non_null(strstr(r.body, "<!DOCTYPE html>"));
  assert_non_null(header(&r, "Content-Type", hv, sizeof(hv)));
  assert_non_null(strstr(hv, "text/html"));
  char url[256];
  snprintf(url, sizeof(url), "%s/", v.base);
  assert_int_equal(http("HEAD", url, NULL, NULL, &r), 200);
  assert_int_equal(r.len, 0);

  /* a request is counted when it completes, which can be just after its
   * answer reached us: wait for the count */
  wait_get(&v, "/metrics", "harvest_http_requests_total{route="
                           "\"recommend\",status=\"200\"} 4");
  assert_int_equal(get(&v, "/metrics", &r), 200);
  assert_non_null(strstr(r.body, "harvest_model_info{name=\"m1.hvm\""));
  assert_non_null(strstr(r.body, "harvest_recommendations_total 7"));
  check_metrics_text(r.body);
  stop(&v);
}

static void test_bad_parameters(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  start(&v, &c);
  static const struct {
    const char *path;
    long status;
    const char *detail;
  } cases[] = {
      {"/users/999", 404, "unknown user 999"},
      {"/users/abc", 422, "user_id"},
      {"/users/-1", 422, "user_id"},
      {"/users/1.5", 422, "user_id"},
      {"/users/99999999999999999999999", 422, "user_id"},
      {"/users/%20", 422, "user_id"},
      {"/movies/random/0", 422, "n"},
      {"/movies/random/10001", 422, "n"},
      {"/movies/random/abc", 422, "n"},
      {"/movies/ratings/?min_rating=abc", 422, "min_rating"},
      {"/movies/ratings/?max_rating=nan", 422, "max_rating"},
      {"/movies/ratings/?min_rating=4&max_rating=3", 422, "min_rating"},
      {"/movies/ratings/?min_rating=-1", 422, "min_rating"},
      {"/movies/ratings/?max_rating=1e999", 422, "max_rating"},
      {"/movies/recommend/9999/5", 422, "unknown user 9999"},
      {"/movies/recommend/1/0", 422, "n"},
      {"/movies/recommend/1/1001", 422, "n"},
      {"/movies/recommend/1/-5", 422, "n"},
      {"/movies/recommend/x/5", 422, "user"},
      {"/movies/recommend/1/5?exclude_rated=maybe", 422, "exclude_rated"},
      {"/movies/recommend/batch/3", 422, "users"},
      {"/movies/recommend/batch/3?users=1&users=abc", 422, "users[1]"},
      {"/movies/recommend/batch/3?users=1&users=9999", 422, "users[1]"},
      {"/movies/recommend/batch/0?users=1", 422, "n"},
      {"/monitor/evaluate", 422, "first_rating_id"},
      {"/monitor/evaluate?first_rating_id=5&last_rating_id=abc", 422,
       "last_rating_id"},
      {"/monitor/evaluate?first_rating_id=9&last_rating_id=2", 422,
       "first_rating_id"},
      {"/monitor/drift?batches=x", 422, "batches"},
      {"/monitor/drift?batches=1:5&first_rating_id=1", 422, "batches"},
      {"/monitor/drift?first_rating_id=5", 422, "last_rating_id"},
      {"/monitor/drift?window=7q", 422, "window"},
      {"/monitor/drift?window=7d&windows=1000", 413, "--monitor-max-windows"},
      {"/monitor/drift?since=yesterday", 422, "since"},
      {"/monitor/drift?batches=1:5&threshold_share=2", 422,
       "threshold_share"},
      {"/no/such/route", 404, "Not Found"},
      {"/users/secure_ratings/", 401, "Bearer"},
  };
  struct res r;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    get(&v, cases[i].path, &r);
    if (r.status != cases[i].status)
      fail_msg("%s: status %ld, want %ld (%s)", cases[i].path, r.status,
               cases[i].status, r.body);
    expect_error(&r, cases[i].status, cases[i].detail);
  }
  char url[256];
  snprintf(url, sizeof(url), "%s/users/1", v.base);
  assert_int_equal(http("DELETE", url, NULL, NULL, &r), 405);
  char allow[64];
  assert_non_null(header(&r, "Allow", allow, sizeof(allow)));
  /* an evaluation on a real slice works */
  assert_int_equal(get(&v, "/monitor/evaluate?first_rating_id=1&"
                           "last_rating_id=200",
                       &r),
                   200);
  json_t *j = parse(&r);
  json_t *m = json_object_get(j, "metrics");
  assert_int_equal(json_integer_value(json_object_get(m, "n_pairs")), 200);
  assert_true(json_is_number(json_object_get(m,
                                             "top_10_categorical_accuracy")));
  json_decref(j);
  /* the drift report of the served model on two rating-id windows: the
   * first under the minimum size (200) is skipped, with the reason */
  assert_int_equal(get(&v, "/monitor/drift?batches=1:100,101:400", &r), 200);
  j = parse(&r);
  json_t *w = json_object_get(j, "windows");
  assert_int_equal(json_array_size(w), 2);
  json_t *w0 = json_array_get(w, 0), *w1 = json_array_get(w, 1);
  assert_int_equal(json_integer_value(json_object_get(w0, "n_ratings")), 100);
  assert_string_equal(json_string_value(json_object_get(w0, "skipped")),
                      "100 ratings < min_ratings 200");
  assert_true(json_is_null(json_object_get(w0, "metrics")));
  assert_int_equal(json_array_size(json_object_get(w0, "features")), 0);
  assert_true(json_is_boolean(json_object_get(w1, "dataset_drift")));
  assert_true(json_array_size(json_object_get(w1, "features")) > 0);
  assert_null(json_object_get(w1, "skipped"));
  assert_non_null(json_object_get(json_object_get(j, "served"), "version"));
  json_decref(j);
  stop(&v);
}

/* Every parameter given SQL, path, format-string and script injections:
 * all refused with 4xx, nothing changed in the database, server healthy. */
static void test_injection_everywhere(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  start(&v, &c);
  static const char *const inj[] = {
      "1' OR '1'='1", "1; DROP TABLE users; --", "1%27%20OR%201=1",
      "../../etc/passwd", "%s%s%s%n", "<script>alert(1)</script>",
      "1 UNION SELECT password_hash FROM users", "%00", "1%0d%0aX-Evil: 1"};
  struct hv_err e = {0};
  struct hv_db *db = NULL;
  struct stats_counts before, after;
  assert_int_equal(db_open(g_db, &db, &e), 0);
  assert_int_equal(stats_counts(db, &before, &e), 0);
  CURL *esc = curl_easy_init();
  for (size_t i = 0; i < sizeof(inj) / sizeof(inj[0]); i++) {
    char *q = curl_easy_escape(esc, inj[i], 0);
    char paths[8][1024];
    snprintf(paths[0], 1024, "/users/%s", q);
    snprintf(paths[1], 1024, "/movies/random/%s", q);
    snprintf(paths[2], 1024, "/movies/recommend/%s/5", q);
    snprintf(paths[3], 1024, "/movies/recommend/1/%s", q);
    snprintf(paths[4], 1024, "/movies/ratings/?min_rating=%s", q);
    snprintf(paths[5], 1024, "/movies/recommend/batch/3?users=%s", q);
    snprintf(paths[6], 1024, "/monitor/evaluate?first_rating_id=%s&"
                             "last_rating_id=%s", q, q);
    snprintf(paths[7], 1024, "/movies/ratings/?max_rating=%s", q);
    struct res r;
    for (int k = 0; k < 8; k++) {
      get(&v, paths[k], &r);
      if (r.status < 400 || r.status >= 500)
        fail_msg("%s answered %ld", paths[k], r.status);
      expect_error(&r, r.status, NULL);
    }
    char form[1024], auth[1024], adm[1024];
    snprintf(form, sizeof(form), "username=%s&password=%s", q, q);
    post(&v, "/users/token", form, NULL, &r);
    assert_true(r.status == 422 || r.status == 401 || r.status == 429);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", inj[i]);
    const char *h1[] = {auth, NULL};
    req_with(&v, "GET", "/users/secure_ratings/", NULL, h1, &r);
    assert_int_equal(r.status, 401);
    snprintf(adm, sizeof(adm), "X-Admin-Key: %s", inj[i]);
    const char *h2[] = {adm, NULL};
    snprintf(form, sizeof(form), "username=1&new_password=%s", q);
    post(&v, "/users/update_password", form, h2, &r);
    assert_true(r.status == 401 || r.status == 429);
    char body[1024];
    snprintf(body, sizeof(body),
             "[{\"user_id\": \"%s\", \"movie_id\": 1, \"user_rating\": 3}]",
             q);
    post(&v, "/users/add_user_rating/", body, NULL, &r);
    expect_error(&r, 422, "ratings[0].user_id");
    curl_free(q);
  }
  curl_easy_cleanup(esc);
  assert_int_equal(stats_counts(db, &after, &e), 0);
  assert_int_equal(after.users, before.users);
  assert_int_equal(after.movies, before.movies);
  assert_int_equal(after.ratings, before.ratings);
  assert_int_equal(db_check(db, &e), 0);
  db_close(db);
  struct res r;
  assert_int_equal(get(&v, "/movies/recommend/1/3", &r), 200);
  stop(&v);
}

static void test_add_ratings_and_limits(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  start(&v, &c);
  struct hv_err e = {0};
  struct hv_db *api = NULL;
  struct stats_counts before, after;
  assert_int_equal(db_open(g_db, &api, &e), 0);
  assert_int_equal(stats_counts(api, &before, &e), 0);
  struct res r;
  static const struct {
    const char *body;
    long status;
    const char *detail;
  } bad[] = {
      {"[{\"user_id\": 1, \"movie_id\": 1, \"user_rating\": 4},"
       " {\"user_id\": 2, \"movie_id\": 99999, \"user_rating\": 4}]",
       422, "ratings[1]: unknown movie_id 99999"},
      {"[{\"user_id\": 424242, \"movie_id\": 1, \"user_rating\": 4}]", 422,
       "ratings[0]: unknown user_id 424242"},
      {"[{\"user_id\": 1, \"movie_id\": 1, \"user_rating\": 9}]", 422,
       "user_rating"},
      {"[{\"user_id\": 1, \"movie_id\": 1}]", 422,
       "ratings[0].user_rating: field required"},
      {"[{\"user_id\": 1, \"movie_id\": 1, \"user_rating\": \"x\"}]", 422,
       "user_rating"},
      {"[{\"user_id\": -1, \"movie_id\": 1, \"user_rating\": 3}]", 422,
       "ratings[0].user_id"},
      {"[{\"user_id\": 1.5, \"movie_id\": 1, \"user_rating\": 3}]", 422,
       "ratings[0].user_id"},
      {"[{\"user_id\": 1, \"movie_id\": 1, \"user_rating\": 3},", 422,
       "line 1 column"},
      {"[{\"user_id\": 1, \"user_id\": 2, \"movie_id\": 1, \"user_rating\": 3}]",
       422, "duplicate"},
      {"{\"user_id\": 1}", 422, "expected a list"},
      {"[]", 422, "empty"},
      {"[1, 2]", 422, "ratings[0]: expected an object"},
      {"", 422, "invalid JSON"},
      {"\xff\xfe", 422, "invalid JSON"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    post(&v, "/users/add_user_rating/", bad[i].body, NULL, &r);
    expect_error(&r, bad[i].status, bad[i].detail);
  }
  assert_int_equal(stats_counts(api, &after, &e), 0);
  assert_int_equal(after.ratings, before.ratings);
  /* a good batch, with ids as strings (pydantic coerces them) */
  assert_int_equal(
      post(&v, "/users/add_user_rating/",
           "[{\"user_id\": 31, \"movie_id\": 5, \"user_rating\": 4.5},"
           " {\"user_id\": \"31\", \"movie_id\": \"6\", \"user_rating\": 2}]",
           NULL, &r),
      200);
  json_t *j = parse(&r);
  assert_int_equal(json_integer_value(json_object_get(j, "inserted")), 2);
  assert_int_equal(json_integer_value(json_object_get(j, "first_rating_id")),
                   before.last_rating_id + 1);
  json_decref(j);
  assert_int_equal(stats_counts(api, &after, &e), 0);
  assert_int_equal(after.ratings, before.ratings + 2);
  db_close(api);
  /* 413: declared too large, and too large while streaming (chunked) */
  char *big = malloc(c.max_body + 100);
  memset(big, ' ', c.max_body + 99);
  big[0] = '[';
  big[c.max_body + 98] = ']';
  big[c.max_body + 99] = '\0';
  post(&v, "/users/add_user_rating/", big, NULL, &r);
  expect_error(&r, 413, "larger than 4096");
  const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
  post(&v, "/users/add_user_rating/", big, chunked, &r);
  expect_error(&r, 413, "larger than 4096");
  free(big);
  /* the server is still fine */
  assert_int_equal(get(&v, "/healthz", &r), 200);
  stop(&v);
}

static void read_key(const char *name, char *out, size_t cap)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", g_home, name);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(out, (int)cap, f));
  fclose(f);
  out[strcspn(out, "\n")] = '\0';
}

static char *forge(jwt_alg_t alg, const char *key, const char *sub, long exp)
{
  jwt_t *jwt = NULL;
  assert_int_equal(jwt_new(&jwt), 0);
  assert_int_equal(jwt_add_grant(jwt, "sub", sub), 0);
  assert_int_equal(jwt_add_grant_int(jwt, "exp", exp), 0);
  assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key,
                               key ? (int)strlen(key) : 0),
                   0);
  char *t = jwt_encode_str(jwt);
  jwt_free(jwt);
  return t;
}

/* GET /users/secure_ratings/ with "Authorization: Bearer token". */
static long secure(struct srv *v, const char *token, struct res *r)
{
  char h[2048];
  snprintf(h, sizeof(h), "Authorization: Bearer %s", token);
  const char *hdrs[] = {h, NULL};
  return req_with(v, "GET", "/users/secure_ratings/", NULL, hdrs, r);
}

static void test_auth_flow(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  start(&v, &c);
  struct res r;
  char admin[256], hdr[300], key[256];
  read_key("admin.key", admin, sizeof(admin));
  /* no password yet: login refused */
  post(&v, "/users/token", "username=2&password=whatever1", NULL, &r);
  expect_error(&r, 401, "incorrect");
  /* first provisioning needs the admin key */
  snprintf(hdr, sizeof(hdr), "X-Admin-Key: %s", admin);
  const char *adm[] = {hdr, NULL};
  const char *wrong[] = {"X-Admin-Key: not-the-key", NULL};
  post(&v, "/users/update_password", "username=2&new_password=s3cret-pw",
       wrong, &r);
  expect_error(&r, 401, "admin key");
  post(&v, "/users/update_password", "username=2&new_password=s3cret-pw",
       NULL, &r);
  expect_error(&r, 401, "Bearer");
  post(&v, "/users/update_password", "username=2&new_password=short", adm,
       &r);
  expect_error(&r, 422, "at least 8");
  post(&v, "/users/update_password", "username=999&new_password=s3cret-pw",
       adm, &r);
  expect_error(&r, 404, "unknown user");
  assert_int_equal(post(&v, "/users/update_password",
                        "username=2&new_password=s3cret-pw", adm, &r),
                   200);
  /* JSON bodies work for the same fields */
  const char *json_adm[] = {hdr, "Content-Type: application/json", NULL};
  assert_int_equal(post(&v, "/users/update_password",
                        "{\"username\": 3, \"new_password\": \"other-pw-3\"}",
                        json_adm, &r),
                   200);
  /* login */
  post(&v, "/users/token", "username=2&password=wrong-pw", NULL, &r);
  expect_error(&r, 401, "incorrect");
  post(&v, "/users/token", "username=2", NULL, &r);
  expect_error(&r, 422, "password");
  assert_int_equal(post(&v, "/users/token", "username=2&password=s3cret-pw",
                        NULL, &r),
                   200);
  json_t *j = parse(&r);
  assert_string_equal(json_string_value(json_object_get(j, "token_type")),
                      "bearer");
  char token[2048];
  snprintf(token, sizeof(token), "%s",
           json_string_value(json_object_get(j, "access_token")));
  json_decref(j);
  /* the token reads its own user's ratings */
  assert_int_equal(secure(&v, token, &r), 200);
  j = parse(&r);
  assert_int_equal(json_array_size(j), PER_USER);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0),
                                                      "user_id")),
                   2);
  json_decref(j);
  /* an empty X-Admin-Key header beside a valid bearer is no credential:
   * the bearer decides (issue 16) */
  {
    char bh[2100];
    snprintf(bh, sizeof(bh), "Authorization: Bearer %s", token);
    const char *both[] = {bh, "X-Admin-Key;", NULL};
    assert_int_equal(req_with(&v, "GET", "/users/secure_ratings/", NULL, both,
                              &r),
                     200);
    const char *empty_only[] = {"X-Admin-Key;", NULL};
    req_with(&v, "GET", "/users/secure_ratings/", NULL, empty_only, &r);
    expect_error(&r, 401, "not authenticated");
  }
  /* bad tokens */
  read_key("jwt.key", key, sizeof(key));
  char *expired = forge(JWT_ALG_HS256, key, "2", (long)time(NULL) - 10);
  char *none = forge(JWT_ALG_NONE, NULL, "2", (long)time(NULL) + 100);
  char *other = forge(JWT_ALG_HS256, "a-different-secret-0123456789abcdef", "2",
                      (long)time(NULL) + 100);
  char tampered[2048];
  snprintf(tampered, sizeof(tampered), "%s", token);
  char *dot = strchr(tampered, '.');
  dot[2] = dot[2] == 'x' ? 'y' : 'x';
  const char *bad[] = {expired, none, other, tampered, "", "abc.def.ghi"};
  for (size_t i = 0; i < 6; i++) {
    secure(&v, bad[i], &r);
    expect_error(&r, 401, "token");
    char www[64];
    assert_non_null(header(&r, "WWW-Authenticate", www, sizeof(www)));
  }
  free(expired);
  free(none);
  free(other);
  /* own token changes own password, not someone else's */
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
  const char *bearer[] = {hdr, NULL};
  post(&v, "/users/update_password", "username=3&new_password=hijacked-pw",
       bearer, &r);
  expect_error(&r, 403, "own");
  assert_int_equal(post(&v, "/users/update_password",
                        "new_password=new-s3cret-pw", bearer, &r),
                   200);
  post(&v, "/users/token", "username=2&password=s3cret-pw", NULL, &r);
  /* burst 5 per address and user: this is the 5th login attempt for user
   * 2 from here (no password set, wrong, no password field, right) */
  assert_true(r.status == 401 || r.status == 429);
  post(&v, "/users/token", "username=2&password=new-s3cret-pw", NULL, &r);
  expect_error(&r, 429, "too many login attempts");
  char ra[16];
  assert_non_null(header(&r, "Retry-After", ra, sizeof(ra)));
  /* user 3 logs in from the same address: the address's bucket is spent
   * too */
  post(&v, "/users/token", "username=3&password=other-pw-3", NULL, &r);
  expect_error(&r, 429, "address");
  stop(&v);
}

/* Register model file path as a new version of the default model in
 * Production (archiving the previous one); returns the version. */
static int register_production(const char *path)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char run_id[33];
  int version = 0;
  assert_int_equal(db_open(g_db, &db, &e), 0);
  if (runs_start(db, "serve-test", NULL, NULL, run_id, &e) ||
      artifacts_put_file(g_home, db, run_id, ARTIFACTS_MODEL_PATH, path, NULL,
                         &e) ||
      runs_end(db, run_id, "FINISHED", &e))
    fail_msg("run: %s", e.msg);
  struct registry_register_opts o = {.run_id = run_id,
                                     .stage = "Production",
                                     .archive_existing = 1,
                                     .reason = "test"};
  if (registry_register(g_home, db, &o, &version, &e))
    fail_msg("register: %s", e.msg);
  db_close(db);
  return version;
}

struct version_wait {
  struct srv *v;
  const char *want;
  char got[256];
};

static int version_is(void *ud)
{
  struct version_wait *w = ud;
  struct res *r = malloc(sizeof(*r));
  int ok = r && get(w->v, "/movies/recommend/1/3", r) == 200 &&
           header(r, "X-Model-Version", w->got, sizeof(w->got)) &&
           !strcmp(w->got, w->want);
  free(r);
  return ok;
}

/* Wait until recommend answers with X-Model-Version want (the poller
 * swapped the model in). */
static void wait_version(struct srv *v, const char *want)
{
  struct version_wait w = {.v = v, .want = want};
  if (!tu_wait_until(version_is, &w))
    fail_msg("X-Model-Version never became %s (last: '%s')", want, w.got);
}

struct hammer {
  struct srv *v;
  atomic_int stop;
  int ok, bad;
};

static void *hammer_main(void *arg)
{
  struct hammer *h = arg;
  struct res *r = malloc(sizeof(*r));
  while (!atomic_load(&h->stop)) {
    if (get(h->v, "/movies/recommend/2/5", r) == 200)
      h->ok++;
    else
      h->bad++;
  }
  free(r);
  return NULL;
}

static void test_registry_unready_then_hot_swap(void **state)
{
  struct srv v;
  struct serve_config c = base_config(NULL); /* registry mode */
  start(&v, &c);
  struct res r;
  assert_int_equal(serve_ready(v.s), 0);
  get(&v, "/readyz", &r);
  expect_error(&r, 503, "no Production version of model "
                        "'harvest_recommender'");
  get(&v, "/movies/recommend/1/3", &r);
  expect_error(&r, 503, "no model is loaded");
  assert_int_equal(get(&v, "/healthz", &r), 200);
  post(&v, "/monitor/reload_models", "", NULL, &r);
  expect_error(&r, 404, "no Production version");
  /* registering makes it ready within the poll period */
  int v1 = register_production(g_m1);
  char want[64];
  snprintf(want, sizeof(want), "harvest_recommender/%d", v1);
  wait_version(&v, want);
  assert_int_equal(serve_ready(v.s), 1);
  /* swaps under load: no failed request, and the new version answers */
  struct hammer h = {.v = &v};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, hammer_main, &h), 0);
  for (int k = 0; k < 3; k++) {
    int vn = register_production(k % 2 ? g_m1 : g_m2);
    snprintf(want, sizeof(want), "harvest_recommender/%d", vn);
    wait_version(&v, want);
  }
  /* reload on demand answers the version served */
  assert_int_equal(post(&v, "/monitor/reload_models", "", NULL, &r), 200);
  json_t *j = parse(&r);
  assert_int_equal(json_integer_value(json_object_get(j, "version")),
                   v1 + 3);
  json_decref(j);
  assert_int_equal(get(&v, "/monitor/reload_models", &r), 200);
  atomic_store(&h.stop, 1);
  pthread_join(t, NULL);
  assert_int_equal(h.bad, 0);
  assert_true(h.ok > 0);
  assert_int_equal(get(&v, "/metrics", &r), 200);
  assert_non_null(strstr(r.body, "harvest_model_info{name=\"harvest_"
                                  "recommender\""));
  assert_non_null(strstr(r.body, "stage=\"Production\""));
  stop(&v);
}

/* The registered name's variant of register_production. */
static int register_named(const char *name, const char *path)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char run_id[33];
  int version = 0;
  assert_int_equal(db_open(g_db, &db, &e), 0);
  if (runs_start(db, "serve-test", NULL, NULL, run_id, &e) ||
      artifacts_put_file(g_home, db, run_id, ARTIFACTS_MODEL_PATH, path, NULL,
                         &e) ||
      runs_end(db, run_id, "FINISHED", &e))
    fail_msg("run: %s", e.msg);
  struct registry_register_opts o = {.name = name, .run_id = run_id,
                                     .stage = "Production",
                                     .archive_existing = 1,
                                     .reason = "test"};
  if (registry_register(g_home, db, &o, &version, &e))
    fail_msg("register: %s", e.msg);
  db_close(db);
  return version;
}

/* The titles (JSON strings) of recommend_user's answer for user 1, n 5,
 * retrieval m1 with ranker r (or none) in order (RECOMMEND_ORDER_*) as the
 * server's body would hold. */
static void expected_titles(const char *m_path, const char *r_path,
                            int order, json_t *out)
{
  struct hv_db *db = NULL;
  struct hv_model *m = NULL, *r = NULL;
  struct hv_err e = {0};
  struct recommend_list l;
  assert_int_equal(db_open(g_db, &db, &e), 0);
  assert_int_equal(model_load(m_path, &m, &e), 0);
  if (r_path)
    assert_int_equal(model_load(r_path, &r, &e), 0);
  assert_int_equal(recommend_list_alloc(&l, m, 5, &e), 0);
  struct recommend_query q = {.model = m, .user = 1, .n = 5, .ranker = r,
                              .order = order};
  assert_int_equal(recommend_user(db, &q, &l, &e), 0);
  for (int i = 0; i < l.k; i++) {
    char t[512];
    assert_int_equal(catalog_movie_title(db, l.movie_ids[i], t, sizeof(t),
                                         &e), 0);
    json_array_append_new(out, json_string(t));
  }
  recommend_list_free(&l);
  model_free(r);
  model_free(m);
  db_close(db);
}

/* GET /movies/recommend/1/5?explain=true + extra: the list equals want,
 * one explanation a title, each neighbour a movie user 1 rated (in the
 * database) with that rating, nearest first; contributions iff ranked. */
static void check_explain(struct srv *v, const char *extra, json_t *want,
                          int ranked)
{
  struct res r;
  char path[128];
  snprintf(path, sizeof(path), "/movies/recommend/1/5?explain=true%s", extra);
  assert_int_equal(get(v, path, &r), 200);
  json_t *j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), want));
  json_t *ex = json_object_get(j, "explanations");
  assert_int_equal(json_array_size(ex), json_array_size(want));
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(g_db, &db, &e), 0);
  int64_t *rated = NULL;
  size_t n_rated = 0;
  assert_int_equal(ratings_user_movies(db, 1, &rated, &n_rated, &e), 0);
  size_t named = 0;
  for (size_t i = 0; i < json_array_size(ex); i++) {
    json_t *w = json_array_get(ex, i);
    assert_true(json_equal(json_object_get(w, "title"),
                           json_array_get(want, i)));
    assert_true(json_is_number(json_object_get(w, "retrieval_score")));
    json_t *nb = json_object_get(w, "neighbours");
    double last = 2.0;
    for (size_t k = 0; k < json_array_size(nb); k++, named++) {
      json_t *o = json_array_get(nb, k);
      int64_t mid = json_integer_value(json_object_get(o, "movie_id"));
      int found = 0;
      for (size_t q = 0; q < n_rated; q++)
        found |= rated[q] == mid;
      assert_true(found);
      double sim = json_number_value(json_object_get(o, "similarity"));
      assert_true(sim <= last + 1e-9);
      last = sim;
      assert_true(json_number_value(json_object_get(o, "rating")) >= 0.5);
    }
    assert_int_equal(json_object_get(w, "ranker_contributions") != NULL,
                     ranked);
    assert_int_equal(json_object_get(w, "predicted_rating") != NULL, ranked);
  }
  assert_true(named > 0);
  assert_string_equal(json_string_value(json_object_get(j, "stage")),
                      ranked ? "blend" : "retrieval");
  free(rated);
  db_close(db);
  json_decref(j);
}

/* Retrieve, then rank (issue 14): without a ranker registered the answer
 * is retrieval's; once harvest_ranker has a Production version the
 * answer is recommend_user's with that ranker in the blend order (the
 * default stage) and X-Model-Version names both; ?stage=retrieval answers
 * retrieval only, ?stage=ranking the predicted rating's order; the ranker
 * hot-swaps on its own; a server started with --stage retrieval answers
 * retrieval unless asked; bad stage, candidates and settings are
 * refused. */
static void test_retrieve_then_rank(void **state)
{
  struct srv v;
  struct serve_config c = base_config(NULL);
  start(&v, &c);
  struct res r;
  char want[128], hv[192];
  int v1 = register_production(g_m1);
  snprintf(want, sizeof(want), "harvest_recommender/%d", v1);
  wait_version(&v, want);
  json_t *ret = json_array(), *ranked = json_array(), *ranked2 = json_array();
  json_t *byrank = json_array();
  expected_titles(g_m1, NULL, 0, ret);
  expected_titles(g_m1, g_r1, RECOMMEND_ORDER_BLEND, ranked);
  expected_titles(g_m1, g_r2, RECOMMEND_ORDER_BLEND, ranked2);
  expected_titles(g_m1, g_r1, RECOMMEND_ORDER_RANK, byrank);
  assert_false(json_equal(ranked, byrank)); /* the test can tell them */
  assert_int_equal(get(&v, "/movies/recommend/1/5", &r), 200);
  json_t *j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), ret));
  json_decref(j);
  int r1 = register_named("harvest_ranker", g_r1);
  snprintf(want, sizeof(want), "harvest_recommender/%d, harvest_ranker/%d",
           v1, r1);
  wait_version(&v, want);
  assert_int_equal(get(&v, "/movies/recommend/1/5", &r), 200);
  j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), ranked));
  json_decref(j);
  /* retrieval only on request */
  assert_int_equal(get(&v, "/movies/recommend/1/5?stage=retrieval", &r), 200);
  assert_non_null(header(&r, "X-Model-Version", hv, sizeof(hv)));
  snprintf(want, sizeof(want), "harvest_recommender/%d", v1);
  assert_string_equal(hv, want);
  j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), ret));
  json_decref(j);
  assert_int_equal(get(&v, "/movies/recommend/1/5?stage=ranking", &r), 200);
  j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), byrank));
  json_decref(j);
  assert_int_equal(get(&v, "/movies/recommend/1/5?stage=blend", &r), 200);
  j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), ranked));
  json_decref(j);
  assert_int_equal(get(&v, "/movies/recommend/1/5?stage=ranking&candidates=50",
                       &r), 200);
  assert_int_equal(get(&v, "/movies/recommend/batch/5?users=1&users=2"
                           "&stage=ranking", &r), 200);
  j = parse(&r);
  assert_true(json_equal(json_object_get(json_array_get(j, 0), "movies"),
                         byrank));
  json_decref(j);
  assert_int_equal(get(&v, "/movies/recommend/batch/5?users=1&users=2", &r),
                   200);
  j = parse(&r);
  assert_true(json_equal(json_object_get(json_array_get(j, 0), "movies"),
                         ranked));
  json_decref(j);
  /* the ranker swaps on its own */
  int r2 = register_named("harvest_ranker", g_r2);
  snprintf(want, sizeof(want), "harvest_recommender/%d, harvest_ranker/%d",
           v1, r2);
  wait_version(&v, want);
  assert_int_equal(get(&v, "/movies/recommend/1/5", &r), 200);
  j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), ranked2));
  json_decref(j);
  /* a retrieval model registered as the ranker is refused; r2 serves on */
  register_named("harvest_ranker", g_m2);
  usleep(1500000); /* three polls */
  assert_int_equal(get(&v, "/movies/recommend/1/5", &r), 200);
  assert_non_null(header(&r, "X-Model-Version", hv, sizeof(hv)));
  assert_string_equal(hv, want);
  /* explain=true: the same list, explanations of it (neighbours rated by
   * user 1, contributions when ranked); bad values 422 */
  check_explain(&v, "", ranked2, 1);
  check_explain(&v, "&stage=retrieval", ret, 0);
  get(&v, "/movies/recommend/1/5?explain=yes", &r);
  expect_error(&r, 422, "explain");
  get(&v, "/movies/recommend/1/5?explain=", &r);
  expect_error(&r, 422, "explain");
  assert_int_equal(get(&v, "/movies/recommend/1/5?explain=false", &r), 200);
  j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), ranked2));
  assert_null(json_object_get(j, "explanations"));
  json_decref(j);
  /* bad input */
  get(&v, "/movies/recommend/1/5?stage=sorting", &r);
  expect_error(&r, 422, "stage");
  get(&v, "/movies/recommend/1/5?candidates=0", &r);
  expect_error(&r, 422, "candidates");
  get(&v, "/movies/recommend/1/5?candidates=100000", &r);
  expect_error(&r, 422, "candidates");
  get(&v, "/movies/recommend/1/5?stage=", &r);
  expect_error(&r, 422, "stage");
  get(&v, "/movies/recommend/batch/5?users=1&stage=ranked", &r);
  expect_error(&r, 422, "stage");
  stop(&v);
  /* --stage retrieval: retrieval unless a request asks for the ranker */
  int r3 = register_named("harvest_ranker", g_r2);
  c = base_config(NULL);
  c.stage = RECOMMEND_STAGE_RETRIEVAL;
  start(&v, &c);
  snprintf(want, sizeof(want), "harvest_recommender/%d", v1);
  wait_version(&v, want);
  snprintf(want, sizeof(want), "harvest_recommender/%d, harvest_ranker/%d",
           v1, r3);
  assert_int_equal(get(&v, "/movies/recommend/1/5", &r), 200);
  j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), ret));
  json_decref(j);
  assert_int_equal(get(&v, "/movies/recommend/1/5?stage=blend", &r), 200);
  assert_non_null(header(&r, "X-Model-Version", hv, sizeof(hv)));
  assert_string_equal(hv, want);
  j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), ranked2));
  json_decref(j);
  stop(&v);
  /* the later tests expect no servable ranker, as before */
  register_named("harvest_ranker", g_m2);
  /* bad settings through the API */
  struct serve *s = NULL;
  struct hv_err e = {0};
  static const struct {
    int stage;
    double blend;
    int candidates;
    const char *msg;
  } bad[] = {{3, 0, 0, "--stage"},      {-1, 0, 0, "--stage"},
             {0, -1, 0, "--blend"},     {0, NAN, 0, "--blend"},
             {0, 1e9, 0, "--blend"},    {0, 0, -1, "--candidates"},
             {0, 0, RECOMMEND_MAX_CANDIDATES + 1, "--candidates"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    c = base_config(NULL);
    c.stage = bad[i].stage;
    c.blend = bad[i].blend;
    c.candidates = bad[i].candidates;
    assert_int_equal(serve_start(&c, &s, &e), HV_EUSAGE);
    assert_non_null(strstr(e.msg, bad[i].msg));
    assert_null(s);
  }
  json_decref(ret);
  json_decref(ranked);
  json_decref(ranked2);
  json_decref(byrank);
}

static void copy_file(const char *from, const char *to)
{
  char *data = NULL;
  size_t len = 0;
  struct hv_err e = {0};
  assert_int_equal(hv_read_file(from, 1 << 26, &data, &len, &e), 0);
  assert_int_equal(hv_write_atomic(to, data, len, 0644, &e), 0);
  free(data);
}

static void test_file_swap_and_refusal(void **state)
{
  char served[512];
  snprintf(served, sizeof(served), "%s/served.hvm", g_home);
  copy_file(g_m1, served);
  struct srv v;
  struct serve_config c = base_config(served);
  start(&v, &c);
  struct res r, before, after;
  assert_int_equal(get(&v, "/movies/recommend/2/10", &before), 200);
  /* a corrupt replacement is refused; the old model keeps serving */
  struct hv_err e = {0};
  assert_int_equal(hv_write_atomic(served, "not a model", 11, 0644, &e), 0);
  wait_get(&v, "/metrics", "harvest_model_reloads_total{result=\"refused\"} 1");
  assert_int_equal(get(&v, "/movies/recommend/2/10", &r), 200);
  assert_string_equal(r.body, before.body);
  post(&v, "/monitor/reload_models", "", NULL, &r);
  assert_true(r.status >= 500);
  expect_error(&r, r.status, "served.hvm");
  assert_int_equal(get(&v, "/readyz", &r), 200);
  /* a good replacement is swapped in */
  copy_file(g_m2, served);
  wait_get(&v, "/metrics", "harvest_model_reloads_total{result=\"swapped\"} 2");
  assert_int_equal(get(&v, "/movies/recommend/2/10", &after), 200);
  assert_string_not_equal(after.body, before.body);
  char hv[64]; /* the second good load of the file; the refused one did
                * not count */
  assert_non_null(header(&after, "X-Model-Version", hv, sizeof(hv)));
  assert_string_equal(hv, "served.hvm/2");
  stop(&v);
}

/* Serve served (with an index beside it or not) in index mode and floor;
 * wait until /metrics shows kind (and the index's recall when not NULL)
 * and the log log_needle; the answer for user 2 must be the exact
 * path's (40 movies: an index's recall@40 is 1). */
static void serve_index_case(const char *served, int mode, double floor_,
                             const char *kind, const char *recall,
                             const char *log_needle)
{
  struct srv v;
  struct serve_config c = base_config(served);
  c.index_mode = mode;
  c.index_min_recall = floor_;
  start(&v, &c);
  char want[96];
  snprintf(want, sizeof(want), "harvest_retrieval_index{kind=\"%s\"} 1",
           kind);
  wait_get(&v, "/metrics", want);
  if (recall) {
    snprintf(want, sizeof(want), "harvest_retrieval_index_recall %s", recall);
    wait_get(&v, "/metrics", want);
  }
  struct res r;
  json_t *exp = json_array();
  expected_titles(served, NULL, 0, exp);
  assert_int_equal(get(&v, "/movies/recommend/1/5?stage=retrieval", &r), 200);
  json_t *j = parse(&r);
  assert_true(json_equal(json_object_get(j, "message"), exp));
  json_decref(j);
  json_decref(exp);
  stop(&v);
  if (log_needle)
    free(tu_wait_file(g_logs, log_needle));
}

/* The retrieval index (issue 15): FILE.ivf beside a model file is served
 * through with --index ivf (/metrics says so; the answers are the exact
 * path's), built at load when none is stored, ignored with --index exact
 * and under auto for a small catalogue; an index whose measured recall is
 * below the floor, a damaged one, or one of another model is refused,
 * logged, and the model serves exactly. */
static void test_retrieval_index(void **state)
{
  char served[512], ivf[600];
  snprintf(served, sizeof(served), "%s/indexed.hvm", g_home);
  snprintf(ivf, sizeof(ivf), "%s.ivf", served);
  copy_file(g_m1, served);
  /* none stored: built at load under ivf; auto and exact score all */
  serve_index_case(served, RETINDEX_IVF, 0, "ivf", "1.0000", "built at load");
  serve_index_case(served, RETINDEX_AUTO, 0, "exact", NULL, "below the 20000");
  struct hv_model *m = NULL;
  struct hv_ivf *ix = NULL;
  struct ivf_params p;
  struct hv_err e = {0};
  ivf_params_defaults(&p);
  assert_int_equal(model_load(served, &m, &e), 0);
  assert_int_equal(model_index_build(m, &p, 100, &ix, &e), 0);
  assert_int_equal(ivf_save(ix, ivf, &e), 0);
  ivf_free(ix);
  model_free(m);
  serve_index_case(served, RETINDEX_IVF, 0, "ivf", "1.0000", "recall@40 1.0000");
  serve_index_case(served, RETINDEX_EXACT, 0, "exact", NULL, "--index exact");
  /* a stored recall of 0.5 (re-signed, as a build would have written
   * it): refused under the floor 0.95, used under 0.4 */
  char *b = NULL;
  size_t len = 0;
  double half = 0.5;
  assert_int_equal(hv_read_file(ivf, 1 << 26, &b, &len, &e), 0);
  memcpy(b + 56, &half, 8);
  crypto_hash_sha256((unsigned char *)b + len - 32, (unsigned char *)b,
                     len - 32);
  assert_int_equal(hv_write_atomic(ivf, b, len, 0644, &e), 0);
  serve_index_case(served, RETINDEX_IVF, 0, "exact", NULL,
                   "recall@40 0.5000 is below the floor 0.9500");
  serve_index_case(served, RETINDEX_IVF, 0.4, "ivf", "0.5000", "(floor 0.4000)");
  /* damaged: refused with the reason */
  b[len / 2] ^= 0x55;
  assert_int_equal(hv_write_atomic(ivf, b, len, 0644, &e), 0);
  serve_index_case(served, RETINDEX_IVF, 0, "exact", NULL, "checksum mismatch");
  free(b);
  /* another model's index beside this one */
  copy_file(g_m2, served);
  assert_int_equal(model_load(g_m1, &m, &e), 0);
  assert_int_equal(model_index_build(m, &p, 100, &ix, &e), 0);
  assert_int_equal(ivf_save(ix, ivf, &e), 0);
  ivf_free(ix);
  model_free(m);
  serve_index_case(served, RETINDEX_IVF, 0, "exact", NULL, "another model file");
  /* bad settings */
  struct serve *sv = NULL;
  struct serve_config c = base_config(served);
  c.index_mode = 7;
  assert_int_equal(serve_start(&c, &sv, &e), HV_EUSAGE);
  c.index_mode = RETINDEX_IVF;
  c.index_min_recall = 1.5;
  assert_int_equal(serve_start(&c, &sv, &e), HV_EUSAGE);
  assert_non_null(strstr(e.msg, "--index-min-recall"));
}

/* register_production, with the model's IVF index as the run's artifact
 * model/index.ivf (as harvest train stores it). */
static int register_with_index(const char *path)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  struct hv_model *m = NULL;
  struct hv_ivf *ix = NULL;
  struct ivf_params p;
  char run_id[33];
  int version = 0;
  size_t len;
  ivf_params_defaults(&p);
  assert_int_equal(model_load(path, &m, &e), 0);
  assert_int_equal(model_index_build(m, &p, 100, &ix, &e), 0);
  const unsigned char *img = ivf_image(ix, &len);
  assert_int_equal(db_open(g_db, &db, &e), 0);
  if (runs_start(db, "serve-test", NULL, NULL, run_id, &e) ||
      artifacts_put_file(g_home, db, run_id, ARTIFACTS_MODEL_PATH, path, NULL,
                         &e) ||
      artifacts_put_bytes(g_home, db, run_id, RETINDEX_ARTIFACT, img, len,
                          NULL, &e) ||
      runs_end(db, run_id, "FINISHED", &e))
    fail_msg("run: %s", e.msg);
  struct registry_register_opts o = {.run_id = run_id,
                                     .stage = "Production",
                                     .archive_existing = 1,
                                     .reason = "test"};
  if (registry_register(g_home, db, &o, &version, &e))
    fail_msg("register: %s", e.msg);
  db_close(db);
  ivf_free(ix);
  model_free(m);
  return version;
}

/* The registry's versions with their stored indexes: each version is
 * served through its own (the run's model/index.ivf, found beside the
 * model artifact, not built at load) and a promotion swaps model and
 * index together. */
static void test_retrieval_index_hot_swap(void **state)
{
  struct srv v;
  struct serve_config c = base_config(NULL);
  c.index_mode = RETINDEX_IVF;
  start(&v, &c);
  char want[128];
  const char *paths[] = {g_m1, g_m2};
  for (int i = 0; i < 2; i++) {
    int ver = register_with_index(paths[i]);
    snprintf(want, sizeof(want), "harvest_recommender/%d", ver);
    wait_version(&v, want);
    wait_get(&v, "/metrics", "harvest_retrieval_index{kind=\"ivf\"} 1");
    json_t *exp = json_array();
    expected_titles(paths[i], NULL, 0, exp);
    struct res r;
    assert_int_equal(get(&v, "/movies/recommend/1/5?stage=retrieval", &r),
                     200);
    json_t *j = parse(&r);
    assert_true(json_equal(json_object_get(j, "message"), exp));
    json_decref(j);
    json_decref(exp);
    /* loaded from the version's artifact, not built at load */
    struct hv_model *m = NULL;
    struct hv_err e = {0};
    char sha[65], needle[160];
    assert_int_equal(model_load(paths[i], &m, &e), 0);
    model_sha256_hex(m, sha);
    model_free(m);
    snprintf(needle, sizeof(needle), "%s\" kind=ivf reason=\"ivf index: ",
             sha);
    free(tu_wait_file(g_logs, needle));
  }
  stop(&v);
}

/* A raw TCP connection to the server (no request sent yet). */
static int raw_connect(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

/* Send all of s on fd (no SIGPIPE); 1 when it all went. */
static int raw_send(int fd, const char *s)
{
  size_t n = strlen(s);
  return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* The status of the HTTP response that arrives on fd, or 0 when the
 * server closed it without a byte (or nothing came within the deadline). */
static int raw_status(int fd)
{
  struct timeval tv = {.tv_sec = (time_t)tu_wait_s()};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[64];
  size_t got = 0;
  ssize_t n;
  while (got < 12 &&
         (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
    got += (size_t)n;
  buf[got] = '\0';
  int st = 0;
  return sscanf(buf, "HTTP/1.%*d %d", &st) == 1 ? st : 0;
}

/* The second half of a request body, sent once the server refuses new
 * connections (its graceful stop has begun). */
struct finisher {
  struct srv *v;
  int fd;
  const char *rest;
  atomic_int go;     /* the main thread is about to stop the server */
  int stop_seen;     /* /healthz was refused before the rest went */
  int status;        /* of the slow request */
};

static int go_set(void *ud)
{
  return atomic_load(&((struct finisher *)ud)->go);
}

static int refused(void *ud)
{
  struct finisher *f = ud;
  struct res *r = malloc(sizeof(*r));
  int no = r && get(f->v, "/healthz", r) == -1;
  free(r);
  return no;
}

static void *finish_main(void *arg)
{
  struct finisher *f = arg;
  f->stop_seen = tu_wait_until(go_set, f) && tu_wait_until(refused, f);
  f->status = raw_send(f->fd, f->rest) ? raw_status(f->fd) : 0;
  return NULL;
}

/* A POST whose headers and half its body are in when the stop begins: the
 * stop waits for it (the rest is sent only once new connections are
 * refused), it is answered 200 and its rating is stored. */
static void test_graceful_stop_with_request_in_flight(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  c.timeout_s = 60; /* the half-sent request is never idle-closed here */
  start(&v, &c);
  struct hv_err e = {0};
  struct hv_db *db = NULL;
  struct stats_counts before, after;
  assert_int_equal(db_open(g_db, &db, &e), 0);
  assert_int_equal(stats_counts(db, &before, &e), 0);
  static const char body[] = "[{\"user_id\": 4, \"movie_id\": 7, "
                             "\"user_rating\": 3.5}]";
  char head[512];
  snprintf(head, sizeof(head),
           "POST /users/add_user_rating/ HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nConnection: close\r\n"
           "Content-Length: %zu\r\n\r\n%.*s",
           strlen(body), (int)(strlen(body) / 2), body);
  int fd = raw_connect(serve_port(v.s));
  assert_true(raw_send(fd, head));
  wait_in_flight(v.base, 2); /* the POST and the asking /metrics */
  struct finisher f = {.v = &v, .fd = fd, .rest = body + strlen(body) / 2};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, finish_main, &f), 0);
  char base[64];
  snprintf(base, sizeof(base), "%s", v.base);
  atomic_store(&f.go, 1);
  stop(&v); /* blocks until the slow request is answered */
  pthread_join(t, NULL);
  close(fd);
  assert_true(f.stop_seen);
  assert_int_equal(f.status, 200);
  assert_int_equal(stats_counts(db, &after, &e), 0);
  assert_int_equal(after.ratings, before.ratings + 1);
  db_close(db);
  /* nothing listens any more */
  struct res r;
  char url[128];
  snprintf(url, sizeof(url), "%s/healthz", base);
  assert_int_equal(http("GET", url, NULL, NULL, &r), -1);
}

static void test_tls(void **state)
{
  char out[256], cert[512], key[512], cmd[2048];
  if (tu_run("command -v openssl", out, sizeof(out)) != 0)
    skip();
  snprintf(cert, sizeof(cert), "%s/cert.pem", g_home);
  snprintf(key, sizeof(key), "%s/key.pem", g_home);
  snprintf(cmd, sizeof(cmd),
           "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
           "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '%s' "
           "-out '%s' 2>/dev/null",
           key, cert);
  if (tu_run(cmd, NULL, 0) != 0)
    skip();
  struct srv v;
  struct serve_config c = base_config(g_m1);
  c.tls_cert = cert;
  c.tls_key = key;
  start(&v, &c);
  assert_non_null(strstr(v.base, "https://"));
  struct res r;
  g_cainfo = cert;
  assert_int_equal(get(&v, "/movies/recommend/1/3", &r), 200);
  json_t *j = parse(&r);
  assert_int_equal(json_array_size(json_object_get(j, "message")), 3);
  json_decref(j);
  g_cainfo = NULL; /* not trusted: the handshake fails */
  assert_int_equal(get(&v, "/healthz", &r), -1);
  char url[128]; /* plain HTTP to the TLS port gets no HTTP answer */
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", serve_port(v.s));
  assert_true(http("GET", url, NULL, NULL, &r) != 200);
  stop(&v);
  /* a cert without its key is a usage error */
  struct serve *s = NULL;
  struct hv_err e = {0};
  c.tls_key = NULL;
  assert_int_equal(serve_start(&c, &s, &e), HV_EUSAGE);
  assert_null(s);
  c.tls_key = "/nonexistent/key.pem";
  assert_int_not_equal(serve_start(&c, &s, &e), 0);
  assert_null(s);
}

static void test_access_log_lines(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  assert_int_equal(truncate(g_logs, 0), 0);
  start(&v, &c);
  struct res r;
  get(&v, "/movies/recommend/1/2", &r);
  get(&v, "/users/%22%0Aevil=1%20x", &r);
  stop(&v);
  char *log = NULL;
  size_t len = 0;
  struct hv_err e = {0};
  assert_int_equal(hv_read_file(g_logs, 1 << 20, &log, &len, &e), 0);
  assert_non_null(strstr(log, "event=model_loaded"));
  assert_non_null(strstr(log, "method=GET path=\"/movies/recommend/1/2\" "
                              "status=200 route=recommend"));
  assert_non_null(strstr(log, "model=\"m1.hvm/1\""));
  /* the hostile path is escaped: no raw quote or newline from it */
  assert_non_null(strstr(log, "path=\"/users/\\x22\\x0aevil=1 x\" status=422"));
  assert_null(strstr(log, "\nevil=1"));
  free(log);
}


/* 1 when the server closed fd within secs seconds. */
static int closed_within(int fd, double secs)
{
  struct timeval tv = {.tv_sec = (time_t)secs,
                       .tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[256];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
  }
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_connection_limits_and_slow_clients(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  c.per_ip = 3;
  c.timeout_s = 2;
  start(&v, &c);
  int port = serve_port(v.s);
  struct res r;
  /* two idle clients (slowloris) do not stall a third */
  int a = raw_connect(port), b = raw_connect(port);
  assert_int_equal(send(b, "GET /heal", 9, 0), 9); /* half a request */
  assert_int_equal(get(&v, "/healthz", &r), 200);
  close(a);
  close(b);
  /* a fresh server for the limit, so no slot is still held by those */
  stop(&v);
  start(&v, &c);
  port = serve_port(v.s);
  /* at most per_ip connections from one address: of six, three are
   * served and three closed without a byte */
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  int fds[6], sent[6], served = 0, refused = 0;
  for (int i = 0; i < 6; i++) { /* each asks at once: none is idle */
    fds[i] = raw_connect(port);
    sent[i] = raw_send(fds[i], req);
  }
  for (int i = 0; i < 6; i++) {
    int st = sent[i] ? raw_status(fds[i]) : 0;
    served += st == 200;
    refused += st == 0;
  }
  assert_int_equal(served, 3);
  assert_int_equal(refused, 3);
  /* idle connections are closed after the timeout, and service comes
   * back */
  for (int i = 0; i < 6; i++) {
    assert_true(closed_within(fds[i], tu_wait_s()));
    close(fds[i]);
  }
  wait_get(&v, "/healthz", NULL);
  /* a malformed request gets an error, not a crash */
  int m = raw_connect(port);
  const char junk[] = "GARBAGE \x01\x02 NOT-HTTP\r\n\r\n";
  assert_int_equal(send(m, junk, sizeof(junk) - 1, 0), sizeof(junk) - 1);
  char buf[512] = "";
  ssize_t n = recv(m, buf, sizeof(buf) - 1, 0);
  assert_true(n <= 0 || strncmp(buf, "HTTP/1.1 200", 12) != 0);
  close(m);
  assert_int_equal(get(&v, "/movies/recommend/1/3", &r), 200);
  stop(&v);
}

/* se.slice (ns) of thread tid from /proc, or -1 when not shown. */
static long long thread_slice(const char *tid)
{
  char path[128], *text = NULL;
  size_t len;
  struct hv_err e = {0};
  snprintf(path, sizeof(path), "/proc/self/task/%s/sched", tid);
  if (hv_read_file(path, 1 << 16, &text, &len, &e))
    return -1;
  const char *p = strstr(text, "se.slice");
  long long v = p && (p = strchr(p, ':')) ? atoll(p + 1) : -1;
  free(text);
  return v;
}

/* 1 when this kernel takes a custom EEVDF slice (Linux >= 6.12) and shows
 * it in /proc: tried on a scratch thread. */
static void *probe_slice(void *arg)
{
  struct {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
  } a = {.size = 48, .runtime = 300000};
  char tid[32];
  snprintf(tid, sizeof(tid), "%ld", (long)syscall(SYS_gettid));
  *(int *)arg = syscall(SYS_sched_setattr, 0, &a, 0) == 0 &&
                thread_slice(tid) == 300000;
  return NULL;
}

/* POST a form to path from source address src (127.0.0.N: the loopback
 * net answers every one of them), as a client elsewhere would; returns the
 * HTTP status, 0 when there was no answer. */
static int post_from(int port, const char *src, const char *path,
                     const char *form)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in me = {.sin_family = AF_INET};
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, src, &me.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
  char req[1024], ans[512] = "";
  int n = snprintf(req, sizeof(req),
                   "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   path, strlen(form), form);
  assert_int_equal(send(fd, req, (size_t)n, 0), n);
  size_t got = 0;
  ssize_t k;
  while (got < sizeof(ans) - 1 &&
         (k = recv(fd, ans + got, sizeof(ans) - 1 - got, 0)) > 0)
    got += (size_t)k;
  ans[got] = '\0';
  close(fd);
  int status = 0;
  return sscanf(ans, "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}

/* Issue 17, finding 6: the per-user login limit was keyed by the username
 * as typed, so "6", "06", "+6", "006" were four users with a full burst
 * each. From a fresh address each time (so only the user's bucket can
 * limit), the spellings of user 6 share one burst of 5. */
static void test_login_limit_by_user_id(void **state)
{
  struct srv v;
  struct serve_config c = base_config(g_m1);
  start(&v, &c);
  int port = serve_port(v.s);
  static const char *const spellings[] = {"6", "06", "%2B6", "006", "0006",
                                          "00006"};
  for (int i = 0; i < 6; i++) {
    char src[32], form[128];
    snprintf(src, sizeof(src), "127.0.0.%d", 20 + i);
    snprintf(form, sizeof(form), "username=%s&password=not-the-pw-%d",
             spellings[i], i);
    int st = post_from(port, src, "/users/token", form);
    if (st != (i < 5 ? 401 : 429))
      fail_msg("attempt %d (username=%s from %s): status %d", i + 1,
               spellings[i], src, st);
  }
  /* another user from a fresh address is not limited */
  assert_int_equal(post_from(port, "127.0.0.40", "/users/token",
                             "username=7&password=not-the-pw"),
                   401);
  stop(&v);
}

/* The per-user memo answers exactly as scoring each time does, is counted
 * in /metrics, and starts empty with each model; workers take the asked
 * scheduler slice where the kernel supports it. */
static void test_topn_memo_and_slice(void **state)
{
  char served[512];
  snprintf(served, sizeof(served), "%s/memo.hvm", g_home);
  copy_file(g_m1, served);
  struct srv memo, plain;
  struct serve_config c1 = base_config(served);
  c1.slice_us = 300;
  start(&memo, &c1);
  struct serve_config c2 = base_config(served);
  c2.cache_n = -1;
  c2.slice_us = -1;
  start(&plain, &c2);
  struct res a, b;
  static const int ns[] = {1, 5, 20, 21, 40};
  for (int pass = 0; pass < 2; pass++)
    for (int u = 1; u <= N_USERS; u++)
      for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
        char path[96];
        snprintf(path, sizeof(path), "/movies/recommend/%d/%d", u, ns[j]);
        assert_int_equal(get(&memo, path, &a), 200);
        assert_int_equal(get(&plain, path, &b), 200);
        assert_string_equal(a.body, b.body);
      }
  /* the batch route goes through the same memo */
  static const char batch[] = "/movies/recommend/batch/7?users=3&users=1"
                              "&users=3&users=30";
  assert_int_equal(get(&memo, batch, &a), 200);
  assert_int_equal(get(&plain, batch, &b), 200);
  assert_string_equal(a.body, b.body);
  /* exclude_rated goes around the memo */
  assert_int_equal(get(&memo, "/movies/recommend/2/5?exclude_rated=true", &a),
                   200);
  assert_int_equal(
      get(&plain, "/movies/recommend/2/5?exclude_rated=true", &b), 200);
  assert_string_equal(a.body, b.body);
  char want[64];
  snprintf(want, sizeof(want), "harvest_recommend_cache_users %d", N_USERS);
  get(&memo, "/metrics", &a);
  assert_non_null(strstr(a.body, want));
  get(&plain, "/metrics", &b);
  assert_null(strstr(b.body, "harvest_recommend_cache_users"));
  /* a new model starts with an empty memo and answers with its own scores */
  copy_file(g_m2, served);
  wait_get(&memo, "/metrics", "harvest_model_version 2");
  wait_get(&plain, "/metrics", "harvest_model_version 2");
  get(&memo, "/metrics", &a);
  assert_non_null(strstr(a.body, "harvest_recommend_cache_users 0"));
  assert_int_equal(get(&memo, "/movies/recommend/3/10", &a), 200);
  assert_int_equal(get(&plain, "/movies/recommend/3/10", &b), 200);
  assert_string_equal(a.body, b.body);
  /* the workers' slice: 300 us on the memo server's, the default on the
   * other's (told apart by which server answered last on which thread is
   * not possible, so: every MHD worker shows either 300 us or the
   * default, and some show 300 us) */
  int supported = 0;
  pthread_t pt;
  assert_int_equal(pthread_create(&pt, NULL, probe_slice, &supported), 0);
  pthread_join(pt, NULL);
  if (supported) {
    char self[32];
    snprintf(self, sizeof(self), "%ld", (long)syscall(SYS_gettid));
    long long base = thread_slice(self), with = 0;
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));) {
      char path[128], comm[64] = "";
      snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
      FILE *f = fopen(path, "r");
      if (!f)
        continue;
      if (!fgets(comm, sizeof(comm), f))
        comm[0] = '\0';
      fclose(f);
      if (strncmp(comm, "MHD-worker", 10))
        continue;
      long long sl = thread_slice(de->d_name);
      if (sl != 300000 && sl != base)
        fail_msg("MHD worker %s: slice %lld ns, neither 300 us nor this "
                 "thread's %lld ns", de->d_name, sl, base);
      with += sl == 300000;
    }
    closedir(d);
    assert_true(with >= 1);
  } else {
    printf("(kernel without custom scheduler slices: slice not checked)\n");
  }
  stop(&memo);
  stop(&plain);
  /* out-of-range settings through the API are usage errors */
  struct serve *s = NULL;
  struct hv_err e = {0};
  struct serve_config bad = base_config(served);
  bad.cache_n = MODEL_TOPCACHE_MAX_K + 1;
  assert_int_equal(serve_start(&bad, &s, &e), HV_EUSAGE);
  assert_non_null(strstr(e.msg, "--cache-n"));
  bad = base_config(served);
  bad.slice_us = 100001;
  assert_int_equal(serve_start(&bad, &s, &e), HV_EUSAGE);
  assert_non_null(strstr(e.msg, "--slice-us"));
  assert_null(s);
}

/* Start `harvest serve --port 0` with stderr in logf and OpenBLAS allowed
 * its own threads (they start before main, with every signal open), under
 * `taskset -c cpu` when cpu is not NULL; returns the port it listens on,
 * once its event=listening line says so (*line: that line, when asked). */
static int cli_start_on(const char *logf, pid_t *pid, const char *cpu,
                        char **line)
{
  *pid = fork();
  assert_true(*pid >= 0);
  if (*pid == 0) {
    int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    setenv("OPENBLAS_NUM_THREADS", "2", 1);
    if (cpu)
      execlp("taskset", "taskset", "-c", cpu, tu_bin(), "--home", g_home,
             "serve", "--port", "0", "--model-file", g_m1, (char *)NULL);
    else
      execl(tu_bin(), "harvest", "--home", g_home, "serve", "--port", "0",
            "--model-file", g_m1, (char *)NULL);
    _exit(127);
  }
  static const char ready[] = "event=listening url=http://127.0.0.1:";
  char *log = tu_wait_file(logf, ready);
  if (!log) {
    char *text = NULL;
    size_t len;
    struct hv_err e = {0};
    if (hv_read_file(logf, 1 << 20, &text, &len, &e) == 0)
      fprintf(stderr, "harvest serve said:\n%s\n", text);
    free(text);
    fail_msg("harvest serve never logged \"%s\"", ready);
  }
  const char *at = strstr(log, ready);
  int port = atoi(at + strlen(ready));
  if (line)
    *line = strndup(at, strcspn(at, "\n"));
  free(log);
  assert_true(port > 0);
  return port;
}

static int cli_start(const char *logf, pid_t *pid)
{
  return cli_start_on(logf, pid, NULL, NULL);
}

/* Wait for the CLI server pid to exit with status want; returns its log
 * (caller frees). */
static char *cli_exit_log(pid_t pid, int want, const char *logf)
{
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), want);
  char *log = NULL;
  size_t len;
  struct hv_err e = {0};
  assert_int_equal(hv_read_file(logf, 1 << 20, &log, &len, &e), 0);
  return log;
}

/* SIGTERM while a request is in flight, then SIGINT: the second signal
 * ends the drain at once with status 128 + SIGINT and says so. */
static void test_cli_second_signal(void **state)
{
  char logf[512];
  snprintf(logf, sizeof(logf), "%s/cli2.log", g_home);
  /* the forced exit leaves the server's threads unjoined on purpose (_exit
   * with requests in flight): under ThreadSanitizer the server must not
   * report them as leaked (it would exit 66, not 128 + SIGINT) */
  const char *tsan = getenv("TSAN_OPTIONS");
  char old_tsan[256], opts[300];
  snprintf(old_tsan, sizeof(old_tsan), "%s", tsan ? tsan : "");
  snprintf(opts, sizeof(opts), "%s report_thread_leaks=0", old_tsan);
  setenv("TSAN_OPTIONS", opts, 1);
  pid_t pid;
  int port = cli_start(logf, &pid);
  if (tsan)
    setenv("TSAN_OPTIONS", old_tsan, 1);
  else
    unsetenv("TSAN_OPTIONS");
  int fd = raw_connect(port);
  static const char part[] = "POST /users/add_user_rating/ HTTP/1.1\r\n"
                             "Host: x\r\nContent-Length: 100\r\n\r\n[{";
  assert_int_equal(write(fd, part, sizeof(part) - 1), (ssize_t)sizeof(part) - 1);
  /* the headers are in: the POST and the asking /metrics in flight */
  char base[64];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
  wait_in_flight(base, 2);
  assert_int_equal(kill(pid, SIGTERM), 0);
  static const char stopping[] = "event=stopping signal=SIGTERM in_flight=";
  char *log = tu_wait_file(logf, stopping);
  if (!log)
    fail_msg("no \"%s\" line", stopping);
  /* the POST, and the /metrics request when its completion is not counted
   * yet (its answer can reach us first) */
  int in_flight = atoi(strstr(log, stopping) + strlen(stopping));
  free(log);
  assert_true(in_flight == 1 || in_flight == 2);
  double t0 = hv_mono();
  assert_int_equal(kill(pid, SIGINT), 0);
  log = cli_exit_log(pid, 128 + SIGINT, logf);
  assert_true(hv_mono() - t0 < 8.0); /* not the 10 s drain */
  assert_non_null(strstr(log, "event=forced_stop"));
  assert_null(strstr(log, "event=stopped"));
  free(log);
  close(fd);
}

static void test_cli_sigterm(void **state)
{
  char logf[512], cmd[2048];
  snprintf(logf, sizeof(logf), "%s/cli.log", g_home);
  pid_t pid;
  int port = cli_start(logf, &pid);
  struct res r;
  snprintf(cmd, sizeof(cmd), "http://127.0.0.1:%d/movies/recommend/1/3",
           port);
  assert_int_equal(http("GET", cmd, NULL, NULL, &r), 200);
  assert_int_equal(kill(pid, SIGTERM), 0);
  char *log = cli_exit_log(pid, 0, logf);
  assert_non_null(strstr(log, "event=stopping signal=SIGTERM"));
  assert_non_null(strstr(log, "event=stopped"));
  free(log);
  /* usage errors exit 2 */
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s' serve --port 70000 2>/dev/null",
           tu_bin(), g_home);
  assert_int_equal(tu_run(cmd, NULL, 0), 2);
  snprintf(cmd, sizeof(cmd),
           "'%s' --home '%s' serve --tls-cert x.pem 2>/dev/null", tu_bin(),
           g_home);
  assert_int_equal(tu_run(cmd, NULL, 0), 2);
  static const char *const bad[] = {
      "--cache-n 1025", "--cache-n -1",     "--cache-n x",
      "--slice-us 100001", "--slice-us -5", "--slice-us 1.5",
      "--stage best",   "--blend 0",        "--blend x",
      "--blend 101",    "--candidates 0",   "--candidates 1001",
      "--threads 0",    "--threads 257",    "--threads x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char out[512] = "", flag[32];
    snprintf(cmd, sizeof(cmd), "'%s' --home '%s' serve %s 2>&1", tu_bin(),
             g_home, bad[i]);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
    snprintf(flag, sizeof(flag), "%.*s", (int)strcspn(bad[i], " "), bad[i]);
    assert_non_null(strstr(out, flag));
  }
}

/* The default worker count is the CPUs the server may run on (its affinity
 * mask), not the machine's: under `taskset -c N` one worker, not one per
 * core of the machine taking turns on N a scheduler tick at a time. */
static void test_cli_threads_follow_affinity(void **state)
{
  (void)state;
  char cpus[64] = "";
  FILE *f = fopen("/proc/self/status", "r");
  assert_non_null(f);
  char row[4096];
  while (fgets(row, sizeof(row), f))
    if (sscanf(row, "Cpus_allowed_list: %63[0-9]", cpus) == 1)
      break;
  fclose(f);
  assert_true(cpus[0] != '\0'); /* the first CPU this test may use */
  char logf[512];
  snprintf(logf, sizeof(logf), "%s/cli_cpu.log", g_home);
  pid_t pid;
  char *line = NULL;
  cli_start_on(logf, &pid, cpus, &line);
  kill(pid, SIGTERM); /* stopped first: a failed assert leaks no server */
  free(cli_exit_log(pid, 0, logf));
  if (!strstr(line, " threads=1 "))
    fail_msg("under taskset -c %s: %s", cpus, line);
  free(line);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_routes_and_shapes),
      cmocka_unit_test(test_bad_parameters),
      cmocka_unit_test(test_injection_everywhere),
      cmocka_unit_test(test_add_ratings_and_limits),
      cmocka_unit_test(test_auth_flow),
      cmocka_unit_test(test_registry_unready_then_hot_swap),
      cmocka_unit_test(test_retrieve_then_rank),
      cmocka_unit_test(test_file_swap_and_refusal),
      cmocka_unit_test(test_retrieval_index),
      cmocka_unit_test(test_retrieval_index_hot_swap),
      cmocka_unit_test(test_graceful_stop_with_request_in_flight),
      cmocka_unit_test(test_tls),
      cmocka_unit_test(test_access_log_lines),
      cmocka_unit_test(test_connection_limits_and_slow_clients),
      cmocka_unit_test(test_login_limit_by_user_id),
      cmocka_unit_test(test_topn_memo_and_slice),
      cmocka_unit_test(test_cli_sigterm),
      cmocka_unit_test(test_cli_second_signal),
      cmocka_unit_test(test_cli_threads_follow_affinity),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

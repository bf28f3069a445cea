/*
 * test_serve_guard.c - the server against slow, odd and expensive clients
 * (issue 17): request framing and NUL (finding 12), 414/431 that are
 * actually sent and the POST batch (finding 10), the whole-request deadline
 * and the reserve for new addresses (finding 4), bounded monitoring and
 * reloads on their own pool (finding 1), password hashing under a limit
 * (finding 5). Each test names the finding it reproduces; before the fix
 * each failed (a hang, a 200 or a connection held for ever).
 *
 * Requests go over raw sockets where the bytes matter (framing, trickling,
 * source addresses 127.0.0.x) and libcurl otherwise. No fixed sleeps but
 * the trickle's own pace: waits have tu_wait_s() deadlines.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "serve/http/auth.h"
#include "serve/http/server.h"
#include "store/catalog.h"
#include "store/db.h"
#include "store/loader.h"
#include "train/dataset.h"
#include "util/fsutil.h"
#include "testutil.h"

#define N_USERS 30
#define N_MOVIES 40
#define PER_USER 15

static char g_home[256], g_db[512], g_model[512], g_logs[512];

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
    struct hv_movie mv = {.id = m, .title = title, .release_year = 1950 + m,
                          .genre_ids = g, .n_genres = 1};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  int64_t rid = 1;
  unsigned seed = 11;
  for (int u = 1; u <= N_USERS; u++) {
    struct hv_user us = {.id = u, .raw_age = 20 + u % 40,
                         .bucketized_age = catalog_age_bucket(20 + u % 40),
                         .gender = u % 2 ? "M" : "F",
                         .occupation_text = "writer", .occupation_label = 3,
                         .zip_code = "55455"};
    assert_int_equal(loader_user(ld, &us, &e), 0);
    for (int k = 0; k < PER_USER; k++) {
      seed = seed * 1103515245u + 12345u;
      struct hv_rating r = {.rating_id = rid++, .user_id = u,
                            .movie_id = 1 + (int)((seed >> 8) % N_MOVIES),
                            .rating = 1 + (seed >> 4) % 5,
                            .timestamp = 100000 + rid};
      assert_int_equal(loader_rating(ld, &r, &e), 0);
    }
  }
  assert_int_equal(loader_commit(ld, "test", "generated", &e), 0);
}

static int group_setup(void **state)
{
  (void)state;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  tu_tmpdir(g_home, sizeof(g_home));
  snprintf(g_db, sizeof(g_db), "%s/harvest.db", g_home);
  snprintf(g_model, sizeof(g_model), "%s/m.hvm", g_home);
  snprintf(g_logs, sizeof(g_logs), "%s/server.log", g_home);
  struct hv_db *db = tu_open_db(g_db);
  load_catalogue(db);
  struct train_config c;
  struct hv_err e = {0};
  struct hv_model *m = NULL;
  train_config_tutorial(&c);
  c.dim = 8;
  c.epochs = 1;
  c.batch = 64;
  c.split = 1;
  c.seed = 3;
  c.threads = 1;
  c.first_rating_id = 0;
  c.last_rating_id = INT64_MAX;
  if (dataset_train(db, &c, NULL, NULL, NULL, &m, &e))
    fail_msg("train: %s", e.msg);
  assert_int_equal(model_save(m, g_model, &e), 0);
  model_free(m);
  db_close(db);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  tu_rmtree(g_home);
  curl_global_cleanup();
  return 0;
}

/* ---- a server per test ------------------------------------------------------ */

struct srv {
  struct serve *s;
  char base[64];
  int port, log_fd;
};

static struct serve_config base_config(void)
{
  struct serve_config c = {.home = g_home, .threads = 2,
                           .model_file = g_model, .access_log = 1,
                           .poll_seconds = 0.2, .timeout_s = 30,
                           .seed_compat = 1};
  c.auth.opslimit = 1;
  c.auth.memlimit = 8192;
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
  v->port = serve_port(v->s);
  snprintf(v->base, sizeof(v->base), "http://127.0.0.1:%d", v->port);
}

static void stop(struct srv *v)
{
  serve_stop(v->s, 5.0);
  close(v->log_fd);
}

/* ---- raw sockets ---------------------------------------------------------- */

/* A connection to port from source address src (127.0.0.x). */
static int raw_connect(int port, const char *src)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, src, &a.sin_addr);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  a.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

static int raw_send(int fd, const char *s, size_t n)
{
  return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Read what arrives on fd until the server closes it or secs pass, into
 * out (cap bytes, NUL-terminated). The status, or 0 when none came. */
static int raw_read(int fd, double secs, char *out, size_t cap)
{
  struct timeval tv = {.tv_sec = (time_t)secs,
                       .tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  size_t got = 0;
  ssize_t n;
  while (got + 1 < cap && (n = recv(fd, out + got, cap - 1 - got, 0)) > 0)
    got += (size_t)n;
  out[got] = '\0';
  int st = 0;
  return sscanf(out, "HTTP/1.%*d %d", &st) == 1 ? st : 0;
}

/* One raw exchange on a fresh connection from 127.0.0.1: the status (0 for
 * none within secs) and the answer in out. */
static int raw_exchange(int port, const char *req, size_t len, double secs,
                        char *out, size_t cap)
{
  int fd = raw_connect(port, "127.0.0.1");
  assert_true(raw_send(fd, req, len));
  int st = raw_read(fd, secs, out, cap);
  close(fd);
  return st;
}

/* 1 when the server closes fd (EOF or reset) within secs. */
static int closed_within(int fd, double secs)
{
  char buf[4096];
  double until = hv_mono() + secs;
  struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  while (hv_mono() < until) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return 1;
  }
  return 0;
}

/* ---- libcurl -------------------------------------------------------------- */

static long http(struct srv *v, const char *method, const char *path,
                 const char *body, const char *const *hdrs, struct tu_res *r)
{
  char url[1 << 15];
  snprintf(url, sizeof(url), "%s%s", v->base, path);
  memset(r, 0, sizeof(*r));
  int rc = tu_curl(method, url, body, hdrs, NULL, 20, tu_res_body, tu_res_header, r,
                   &r->status);
  return rc == CURLE_OK ? r->status : -1;
}

/* The answer is {"detail": ...} with status and want in the detail. */
static void expect_detail(const struct tu_res *r, long status, const char *want)
{
  if (r->status != status)
    fail_msg("status %ld, want %ld: %.300s", r->status, status, r->body);
  json_error_t je;
  json_t *j = json_loadb(r->body, r->len, 0, &je);
  const char *d = json_string_value(json_object_get(j, "detail"));
  if (!d || (want && !strstr(d, want)))
    fail_msg("detail '%s' lacks '%s'", d ? d : "(none)", want);
  json_decref(j);
}

/* ---- finding 12: framing, NUL, "0x5" ----------------------------------------- */

static void test_framing_and_nul_rejected(void **state)
{
  (void)state;
  struct srv v;
  struct serve_config c = base_config();
  start(&v, &c);
  static char out[1 << 16];
  static const char two_lengths[] =
      "POST /users/add_user_rating/ HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: 2\r\n"
      "Content-Length: 60\r\n\r\n[]";
  assert_int_equal(raw_exchange(v.port, two_lengths, strlen(two_lengths), 10,
                                out, sizeof(out)),
                   400);
  assert_non_null(strstr(out, "two different Content-Length"));
  static const char length_and_chunked[] =
      "POST /users/add_user_rating/ HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: 4\r\n"
      "Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n";
  assert_int_equal(raw_exchange(v.port, length_and_chunked,
                                strlen(length_and_chunked), 10, out,
                                sizeof(out)),
                   400);
  assert_non_null(strstr(out, "Transfer-Encoding"));
  static const char nul[] =
      "GET /ui/static/ui.css%00.js HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\n\r\n";
  assert_int_equal(raw_exchange(v.port, nul, strlen(nul), 10, out,
                                sizeof(out)),
                   400);
  assert_non_null(strstr(out, "NUL"));
  static const char nul_arg[] =
      "GET /movies/recommend/1/3?exclude_rated=false%00x HTTP/1.1\r\n"
      "Host: x\r\nConnection: close\r\n\r\n";
  assert_int_equal(raw_exchange(v.port, nul_arg, strlen(nul_arg), 10, out,
                                sizeof(out)),
                   400);
  /* the same requests, well framed, pass */
  static const char css[] =
      "GET /ui/static/ui.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  assert_int_equal(raw_exchange(v.port, css, strlen(css), 10, out,
                                sizeof(out)),
                   200);
  static const char one_length[] =
      "POST /users/add_user_rating/ HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: 2\r\n"
      "Content-Length: 2\r\nConnection: close\r\n\r\n[]";
  assert_int_equal(raw_exchange(v.port, one_length, strlen(one_length), 10,
                                out, sizeof(out)),
                   422); /* the empty list, past the framing */
  /* a rating is a plain decimal: "0x5" is not 5 */
  struct tu_res *r = calloc(1, sizeof(*r));
  const char *const json[] = {"Content-Type: application/json", NULL};
  static const char *const bad[] = {"\"0x5\"", "\"0X1p2\"", "\" 5\"",
                                    "\"infinity\""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    char body[128];
    snprintf(body, sizeof(body),
             "[{\"user_id\": 1, \"movie_id\": 2, \"user_rating\": %s}]",
             bad[i]);
    http(&v, "POST", "/users/add_user_rating/", body, json, r);
    expect_detail(r, 422, "ratings[0].user_rating");
  }
  http(&v, "POST", "/users/add_user_rating/",
       "[{\"user_id\": 1, \"movie_id\": 2, \"user_rating\": \"4.5\"}]", json,
       r);
  assert_int_equal(r->status, 200);
  free(r);
  stop(&v);
}

/* ---- finding 10: 414/431 sent, the POST batch -------------------------------- */

/* "/movies/recommend/batch/3?users=1&users=2..." with n users. */
static char *batch_path(int n)
{
  size_t cap = 64 + (size_t)n * 12;
  char *p = malloc(cap);
  assert_non_null(p);
  size_t len = (size_t)snprintf(p, cap, "/movies/recommend/batch/3");
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(p + len, cap - len, "%cusers=%d", i ? '&' : '?',
                            1 + i % N_USERS);
  return p;
}

static void test_big_urls_and_headers_answered(void **state)
{
  (void)state;
  struct srv v;
  struct serve_config c = base_config();
  start(&v, &c);
  struct tu_res *r = calloc(1, sizeof(*r));
  static char req[1 << 17], out[1 << 17];
  /* 250 users (the report's case: no answer for 30 s) and the GET cap */
  char *path = batch_path(250);
  assert_int_equal(http(&v, "GET", path, NULL, NULL, r), 200);
  json_t *j = json_loadb(r->body, r->len, 0, NULL);
  assert_int_equal(json_array_size(j), 250);
  json_decref(j);
  free(path);
  path = batch_path(401);
  double t0 = hv_mono();
  snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
  assert_int_equal(raw_exchange(v.port, req, strlen(req), 10, out,
                                sizeof(out)),
                   414);
  assert_true(hv_mono() - t0 < 5);
  assert_non_null(strstr(out, "at most 16384 bytes and 400 arguments"));
  free(path);
  /* headers too large: 431, at once */
  size_t len = (size_t)snprintf(req, sizeof(req),
                                "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; len + 200 < sizeof(req) && i < 700; i++)
    len += (size_t)snprintf(req + len, sizeof(req) - len,
                            "X-Filler-%d: %0100d\r\n", i, 0);
  len += (size_t)snprintf(req + len, sizeof(req) - len, "\r\n");
  t0 = hv_mono();
  assert_int_equal(raw_exchange(v.port, req, len, 10, out, sizeof(out)), 431);
  assert_true(hv_mono() - t0 < 5);
  /* many small headers: an answer, not a hang */
  len = (size_t)snprintf(req, sizeof(req),
                         "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 2000; i++)
    len += (size_t)snprintf(req + len, sizeof(req) - len, "h%d: 1\r\n", i);
  len += (size_t)snprintf(req + len, sizeof(req) - len, "\r\n");
  int st = raw_exchange(v.port, req, len, 10, out, sizeof(out));
  if (st != 431 && st != 400)
    fail_msg("2000 small headers: status %d, want 431 (%.200s)", st, out);
  /* the server still answers */
  assert_int_equal(http(&v, "GET", "/healthz", NULL, NULL, r), 200);
  free(r);
  stop(&v);
}

/* The documented 1000-user batch, as a POST body (finding 10). */
static void test_post_batch_of_1000_users(void **state)
{
  (void)state;
  struct srv v;
  struct serve_config c = base_config();
  c.max_body = 1 << 16;
  start(&v, &c);
  struct tu_res *r = calloc(1, sizeof(*r));
  static char body[1 << 15];
  size_t len = (size_t)snprintf(body, sizeof(body), "{\"users\": [");
  for (int i = 0; i < 1000; i++)
    len += (size_t)snprintf(body + len, sizeof(body) - len, "%s%d",
                            i ? ", " : "", 1 + i % N_USERS);
  snprintf(body + len, sizeof(body) - len, "]}");
  const char *const json[] = {"Content-Type: application/json", NULL};
  assert_int_equal(http(&v, "POST", "/movies/recommend/batch/2", body, json,
                        r),
                   200);
  json_t *j = json_loadb(r->body, r->len, 0, NULL);
  assert_int_equal(json_array_size(j), 1000);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(j, 999), "user_id")),
      10);
  json_decref(j);
  assert_non_null(strcasestr(r->headers, "X-Model-Version"));
  /* the same answer as the GET form */
  http(&v, "POST", "/movies/recommend/batch/2", "{\"users\": [3, \"4\"]}",
       json, r);
  assert_int_equal(r->status, 200);
  char *post = strdup(r->body);
  http(&v, "GET", "/movies/recommend/batch/2?users=3&users=4", NULL, NULL, r);
  assert_string_equal(post, r->body);
  free(post);
  /* bad bodies name what is wrong */
  len = (size_t)snprintf(body, sizeof(body), "{\"users\": [");
  for (int i = 0; i < 1001; i++)
    len += (size_t)snprintf(body + len, sizeof(body) - len, "%s1",
                            i ? "," : "");
  snprintf(body + len, sizeof(body) - len, "]}");
  http(&v, "POST", "/movies/recommend/batch/2", body, json, r);
  expect_detail(r, 422, "at most 1000");
  http(&v, "POST", "/movies/recommend/batch/2", "{\"users\": [1, 1.5]}",
       json, r);
  expect_detail(r, 422, "users[1]");
  http(&v, "POST", "/movies/recommend/batch/2", "{\"users\": []}", json, r);
  expect_detail(r, 422, "empty");
  http(&v, "POST", "/movies/recommend/batch/2", "[1, 2]", json, r);
  expect_detail(r, 422, "expected {\"users\"");
  http(&v, "POST", "/movies/recommend/batch/2", "{\"users\": [999999]}",
       json, r);
  expect_detail(r, 422, "unknown user");
  free(r);
  stop(&v);
}

/* ---- finding 4: the whole-request deadline and the reserve -------------------- */

static void test_trickling_client_cut_at_deadline(void **state)
{
  (void)state;
  struct srv v;
  struct serve_config c = base_config();
  c.request_timeout = 1.5;
  c.timeout_s = 30; /* the idle timeout alone never fires: bytes keep coming */
  start(&v, &c);
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  int fd = raw_connect(v.port, "127.0.0.2");
  double t0 = hv_mono();
  int closed = 0;
  for (size_t i = 0; i + 4 < sizeof(req) && !closed; i++) {
    if (!raw_send(fd, req + i, 1))
      closed = 1;
    else
      closed = closed_within(fd, 0.3); /* a byte every 0.3 s */
  }
  double took = hv_mono() - t0;
  if (!closed)
    fail_msg("a client trickling a byte every 0.3 s held its connection "
             "%.1f s (request timeout 1.5 s)", took);
  assert_true(took < 6);
  close(fd);
  /* a whole request sent slowly but within the deadline is answered */
  static char out[4096];
  fd = raw_connect(v.port, "127.0.0.2");
  assert_true(raw_send(fd, req, 10));
  assert_false(closed_within(fd, 0.5));
  assert_true(raw_send(fd, req + 10, sizeof(req) - 11));
  assert_int_equal(raw_read(fd, 10, out, 13), 200);
  close(fd);
  /* an idle keep-alive connection is closed after the deadline too */
  fd = raw_connect(v.port, "127.0.0.2");
  assert_true(closed_within(fd, 6));
  close(fd);
  char *log = tu_wait_file(g_logs, "event=request_deadline");
  assert_non_null(log);
  free(log);
  stop(&v);
}

/* ---- behind a proxy: X-Forwarded-For from trusted addresses only ----------- */

/* The access log's line for path (a 404 nobody else asks for), waiting
 * for it: its "ip=..." up to the path, into out. */
static void log_ip_of(const char *path, char *out, size_t cap)
{
  char needle[128];
  snprintf(needle, sizeof(needle), "path=\"%s\"", path);
  char *log = tu_wait_file(g_logs, needle);
  if (!log)
    fail_msg("no access log line for %s", path);
  char *at = strstr(log, needle), *line = at;
  while (line > log && line[-1] != '\n')
    line--;
  char *ip = strstr(line, " ip=");
  assert_true(ip && ip < at);
  ip += 4;
  size_t n = (size_t)(strstr(ip, " method=") - ip);
  snprintf(out, cap, "%.*s", (int)n, ip);
  free(log);
}

static void test_forwarded_from_trusted_proxies(void **state)
{
  (void)state;
  struct srv v;
  struct serve_config c = base_config();
  struct hv_err e = {0};
  static const char *bad[] = {"127.0.0.1,banana", "300.1.1.1", "1.2.3.4,,"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct serve *s = NULL;
    c.forwarded_allow_ips = bad[i];
    assert_int_equal(serve_start(&c, &s, &e), HV_EINVAL);
    assert_non_null(strstr(e.msg, "--forwarded-allow-ips"));
    assert_null(s);
  }
  assert_non_null(strstr(e.msg, "'' is not an IP address"));
  c.forwarded_allow_ips = "127.0.0.1, ::1";
  start(&v, &c);
  static const struct {
    const char *src, *xff, *path, *ip;
  } cases[] = {
      /* a trusted proxy names the client */
      {"127.0.0.1", "X-Forwarded-For: 203.0.113.7\r\n", "/xff-a",
       "203.0.113.7 proxy=127.0.0.1"},
      /* a chain: the nearest untrusted hop; what the client wrote further
       * left is not believed */
      {"127.0.0.1", "X-Forwarded-For: 10.9.9.9, 198.51.100.1, 127.0.0.1\r\n",
       "/xff-b", "198.51.100.1 proxy=127.0.0.1"},
      /* two header lines: the last is the nearest */
      {"127.0.0.1",
       "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2\r\n",
       "/xff-c", "192.0.2.2 proxy=127.0.0.1"},
      /* IPv6 written otherwise is the same address */
      {"127.0.0.1", "X-Forwarded-For: 2001:DB8:0::1\r\n", "/xff-d",
       "2001:db8::1 proxy=127.0.0.1"},
      /* not an address: the proxy's own */
      {"127.0.0.1", "X-Forwarded-For: not-an-ip\r\n", "/xff-e", "127.0.0.1"},
      {"127.0.0.1", "X-Forwarded-For: 198.51.100.2, \r\n", "/xff-f",
       "127.0.0.1"},
      /* from an address that is no proxy: the header is ignored */
      {"127.0.0.2", "X-Forwarded-For: 203.0.113.9\r\n", "/xff-g",
       "127.0.0.2"},
      /* no header */
      {"127.0.0.1", "", "/xff-h", "127.0.0.1"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char req[512], out[4096], ip[128];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s"
                     "Connection: close\r\n\r\n", cases[i].path, cases[i].xff);
    int fd = raw_connect(v.port, cases[i].src);
    assert_true(raw_send(fd, req, (size_t)n));
    assert_int_equal(raw_read(fd, 10, out, sizeof(out)), 404);
    close(fd);
    log_ip_of(cases[i].path, ip, sizeof(ip));
    if (strcmp(ip, cases[i].ip))
      fail_msg("%s: logged ip=%s, want ip=%s", cases[i].path, ip, cases[i].ip);
  }
  stop(&v);
}

static void test_reserve_for_new_addresses(void **state)
{
  (void)state;
  struct srv v;
  struct serve_config c = base_config();
  c.max_connections = 8;
  c.reserve = 4;
  c.per_ip = 8;
  /* the 4 idle connections below must outlive the wait for a refusal: with
   * the default 10 s request deadline, a slow start (a loaded CI machine
   * under ASan) saw them cut before the fifth was ever refused */
  c.request_timeout = 2 * tu_wait_s();
  c.timeout_s = (unsigned)(2 * tu_wait_s());
  start(&v, &c);
  /* 4 connections from one address reach max - reserve */
  int fds[4];
  for (int i = 0; i < 4; i++)
    fds[i] = raw_connect(v.port, "127.0.0.3");
  static const char req[] =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  static char out[4096];
  /* wait until the server has counted them: a fifth from that address
   * is then refused */
  int refused = 0, served = 0;
  for (double until = hv_mono() + tu_wait_s(); !refused && hv_mono() < until;) {
    int fd = raw_connect(v.port, "127.0.0.3");
    refused = !raw_send(fd, req, sizeof(req) - 1) ||
              raw_read(fd, 5, out, sizeof(out)) == 0;
    served += !refused;
    close(fd);
  }
  if (!refused) {
    int cut = 0;
    for (int i = 0; i < 4; i++)
      cut += closed_within(fds[i], 0.2);
    fail_msg("a fifth connection from 127.0.0.3 was served %d times, never "
             "refused; the server had closed %d of the 4 held", served, cut);
  }
  /* a new address is still served from the reserve */
  int fd = raw_connect(v.port, "127.0.0.4");
  assert_true(raw_send(fd, req, sizeof(req) - 1));
  assert_int_equal(raw_read(fd, 10, out, sizeof(out)), 200);
  close(fd);
  for (int i = 0; i < 4; i++)
    close(fds[i]);
  stop(&v);
}

/* ---- finding 1: bounded monitoring, on its own pool, cached ----------------- */

static void copy_file(const char *from, const char *to)
{
  char *data = NULL;
  size_t len = 0;
  struct hv_err e = {0};
  assert_int_equal(hv_read_file(from, 1 << 26, &data, &len, &e), 0);
  assert_int_equal(hv_write_atomic(to, data, len, 0644, &e), 0);
  free(data);
}

struct bg {
  struct srv *v;
  const char *method, *path;
  struct tu_res *r;
  pthread_t t;
};

static void *bg_main(void *arg)
{
  struct bg *b = arg;
  http(b->v, b->method, b->path, b->method[0] == 'P' ? "" : NULL, NULL, b->r);
  return NULL;
}

static void bg_start(struct bg *b, struct srv *v, const char *method,
                     const char *path)
{
  *b = (struct bg){.v = v, .method = method, .path = path,
                   .r = calloc(1, sizeof(struct tu_res))};
  assert_int_equal(pthread_create(&b->t, NULL, bg_main, b), 0);
}

struct metric_wait {
  struct srv *v;
  const char *want;
  struct tu_res *r;
};

static int metric_has(void *ud)
{
  struct metric_wait *w = ud;
  return http(w->v, "GET", "/metrics", NULL, NULL, w->r) == 200 &&
         strstr(w->r->body, w->want);
}

static int count_of(const char *text, const char *needle)
{
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

struct log_wait {
  const char *needle;
  int n;
};

static int log_has_n(void *ud)
{
  struct log_wait *w = ud;
  char *text = NULL;
  size_t len;
  struct hv_err e = {0};
  if (hv_read_file(g_logs, 1 << 26, &text, &len, &e))
    return 0;
  int ok = count_of(text, w->needle) >= w->n;
  free(text);
  return ok;
}

static void test_monitoring_bounded_and_apart(void **state)
{
  (void)state;
  char served[512], fifo[512], fifo_keep[512], fresh[512];
  snprintf(served, sizeof(served), "%s/served.hvm", g_home);
  snprintf(fifo, sizeof(fifo), "%s/fifo.hvm", g_home);
  snprintf(fifo_keep, sizeof(fifo_keep), "%s/fifo.keep", g_home);
  snprintf(fresh, sizeof(fresh), "%s/fresh.hvm", g_home);
  copy_file(g_model, served);
  struct srv v;
  struct serve_config c = base_config();
  c.model_file = served;
  c.heavy_threads = 1;
  c.heavy_queue = 1;
  c.monitor_max_windows = 5;
  c.monitor_max_rows = 400;
  c.poll_seconds = 0.05;
  start(&v, &c);
  struct tu_res *r = calloc(1, sizeof(*r));
  /* caps on windows and rows, named */
  http(&v, "GET", "/monitor/drift?batches=1:10,11:20,21:30,31:40,41:50,"
       "51:60", NULL, NULL, r);
  expect_detail(r, 413, "at most 5 per request (--monitor-max-windows)");
  http(&v, "GET", "/monitor/drift?window=1d&windows=6", NULL, NULL, r);
  expect_detail(r, 413, "--monitor-max-windows");
  http(&v, "GET", "/monitor/drift?batches=1:200,1:200,1:200", NULL, NULL, r);
  expect_detail(r, 413, "at most 400 per request (--monitor-max-rows)");
  http(&v, "GET", "/monitor/evaluate?first_rating_id=1&last_rating_id=450",
       NULL, NULL, r);
  expect_detail(r, 413, "--monitor-max-rows");
  assert_int_equal(http(&v, "GET", "/monitor/evaluate?first_rating_id=1&"
                        "last_rating_id=300", NULL, NULL, r), 200);
  /* the same report again comes from the cache, under the same model */
  const char *q = "/monitor/drift?batches=1:100,101:200";
  assert_int_equal(http(&v, "GET", q, NULL, NULL, r), 200);
  assert_null(strcasestr(r->headers, "X-Harvest-Cache"));
  char *first = strdup(r->body);
  assert_int_equal(http(&v, "GET", q, NULL, NULL, r), 200);
  assert_non_null(strcasestr(r->headers, "X-Harvest-Cache: hit"));
  assert_string_equal(r->body, first);
  free(first);
  assert_int_equal(http(&v, "GET", "/monitor/drift?batches=1:100,101:201",
                        NULL, NULL, r), 200);
  assert_null(strcasestr(r->headers, "X-Harvest-Cache"));
  /* a reload of an unchanged model neither hashes nor loads it */
  char *log = tu_wait_file(g_logs, "event=model_loaded");
  int loads = count_of(log, "event=model_loaded");
  free(log);
  assert_int_equal(http(&v, "POST", "/monitor/reload_models", "", NULL, r),
                   200);
  assert_non_null(strstr(r->body, "model unchanged"));
  assert_int_equal(http(&v, "GET", "/monitor/reload_models", NULL, NULL, r),
                   200);
  assert_non_null(strstr(r->body, "model unchanged"));
  log = tu_wait_file(g_logs, "event=pool route=reload");
  assert_int_equal(count_of(log, "event=model_loaded"), loads);
  struct log_wait lw = {"event=pool route=reload",
                        count_of(log, "event=pool route=reload") + 1};
  free(log);
  /* block the pool: the model file becomes a FIFO, whose open() waits for
   * a writer; the poller holds the load lock in it and a reload waits */
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_int_equal(link(fifo, fifo_keep), 0);
  assert_int_equal(rename(fifo, served), 0);
  struct bg a, b;
  bg_start(&a, &v, "POST", "/monitor/reload_models");
  if (!tu_wait_until(log_has_n, &lw))
    fail_msg("the reload never started on the pool");
  bg_start(&b, &v, "GET", "/monitor/drift?batches=1:50");
  struct metric_wait w = {&v, "harvest_http_requests_in_flight 3\n",
                          calloc(1, sizeof(struct tu_res))};
  if (!tu_wait_until(metric_has, &w))
    fail_msg("the reload and the queued drift were never both in flight");
  free(w.r);
  /* the queue is full: 503 with Retry-After at once */
  double t0 = hv_mono();
  http(&v, "GET", "/monitor/evaluate?first_rating_id=1&last_rating_id=20",
       NULL, NULL, r);
  expect_detail(r, 503, "--heavy-queue");
  assert_non_null(strcasestr(r->headers, "Retry-After: "));
  assert_true(hv_mono() - t0 < 2);
  /* and the cheap routes are answered meanwhile */
  for (int i = 0; i < 20; i++) {
    t0 = hv_mono();
    assert_int_equal(http(&v, "GET", "/healthz", NULL, NULL, r), 200);
    assert_int_equal(http(&v, "GET", "/movies/recommend/3/5", NULL, NULL, r),
                     200);
    assert_true(hv_mono() - t0 < 1);
  }
  /* unblock: a real model back in place, the FIFO opened and closed */
  copy_file(g_model, fresh);
  assert_int_equal(rename(fresh, served), 0);
  int fd = open(fifo_keep, O_WRONLY);
  assert_true(fd >= 0);
  close(fd);
  pthread_join(a.t, NULL);
  pthread_join(b.t, NULL);
  /* the reload may itself have been the one waiting in open(): then it
   * answers that load's error; either way it answered */
  assert_true(a.r->status == 200 || a.r->status == 422);
  if (b.r->status != 200)
    fail_msg("queued drift: %ld %s", b.r->status, b.r->body);
  free(a.r);
  free(b.r);
  unlink(fifo_keep);
  free(r);
  stop(&v);
}

/* ---- finding 5: password hashing under a limit, changes per user ------------- */

struct hasher {
  struct auth *a;
  int rc;
  pthread_t t;
};

static void *hash_main(void *arg)
{
  struct hasher *h = arg;
  char out[AUTH_HASH_MAX];
  struct hv_err e = {0};
  h->rc = auth_hash_password(h->a, "a long enough password", out, &e);
  if (h->rc == HV_EBUSY)
    assert_non_null(strstr(e.msg, "at most 1 at once"));
  return NULL;
}

static void test_password_hashing_bounded(void **state)
{
  (void)state;
  /* four hashes of ~0.3 s at once with one turn: those that wait more
   * than AUTH_HASH_WAIT_MS are refused (HV_EBUSY, 503), not queued */
  struct auth_config ac = {.home = g_home, .opslimit = 3,
                           .memlimit = 64u << 20, .hash_max = 1};
  struct auth *a = NULL;
  struct hv_err e = {0};
  assert_int_equal(auth_open(&ac, &a, &e), 0);
  struct hasher h[4];
  for (int i = 0; i < 4; i++) {
    h[i] = (struct hasher){.a = a};
    assert_int_equal(pthread_create(&h[i].t, NULL, hash_main, &h[i]), 0);
  }
  int ok = 0, busy = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(h[i].t, NULL);
    ok += h[i].rc == 0;
    busy += h[i].rc == HV_EBUSY;
  }
  assert_int_equal(ok + busy, 4);
  assert_true(ok >= 1);
  assert_true(busy >= 1);
  auth_close(a);
  /* per user: three changes, then one per 10 minutes (429); another user
   * is not held back */
  setenv("HARVEST_ADMIN_KEY", "guard-test-admin-key-0123456789abcdef", 1);
  struct srv v;
  struct serve_config c = base_config();
  start(&v, &c);
  struct tu_res *r = calloc(1, sizeof(*r));
  const char *const key[] = {
      "X-Admin-Key: guard-test-admin-key-0123456789abcdef", NULL};
  for (int i = 0; i < 3; i++) {
    http(&v, "POST", "/users/update_password",
         "username=5&new_password=another+password", key, r);
    assert_int_equal(r->status, 200);
  }
  http(&v, "POST", "/users/update_password",
       "username=5&new_password=another+password", key, r);
  expect_detail(r, 429, "too many password changes for user 5");
  assert_non_null(strcasestr(r->headers, "Retry-After: "));
  http(&v, "POST", "/users/update_password",
       "username=6&new_password=another+password", key, r);
  assert_int_equal(r->status, 200);
  free(r);
  stop(&v);
  unsetenv("HARVEST_ADMIN_KEY");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_framing_and_nul_rejected),
      cmocka_unit_test(test_big_urls_and_headers_answered),
      cmocka_unit_test(test_post_batch_of_1000_users),
      cmocka_unit_test(test_trickling_client_cut_at_deadline),
      cmocka_unit_test(test_reserve_for_new_addresses),
      cmocka_unit_test(test_forwarded_from_trusted_proxies),
      cmocka_unit_test(test_monitoring_bounded_and_apart),
      cmocka_unit_test(test_password_hashing_bounded),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * test_replicas.c - replicated serving (issue 13): two `harvest serve`
 * replicas (in process, each its own server) on one database, the way
 * deploy/cluster.sh runs them behind nginx.
 *   - one promotion, both replicas serve the new version within 1 s (on
 *     PostgreSQL through the registry's change feed: the fallback poll is
 *     2 s, so 1 s can only be LISTEN/NOTIFY; on SQLite through the 0.5 s
 *     poll);
 *   - a rating POSTed to one replica is in the other's next read, and the
 *     other's per-user memo stays right: exclude_rated answers without the
 *     new movie while the plain top n (the memo) is the model's own;
 *   - PostgreSQL only: the feed's connection killed -> the replica
 *     reconnects and still hears the next promotion; the database refusing
 *     connections -> /readyz 503 "no database" with the model still
 *     loaded, 200 again once it is back.
 * Runs on SQLite (test_replicas) and, under tests/pg_cluster.sh, on
 * PostgreSQL (test_replicas_pg).
 */
#define _GNU_SOURCE /* strcasestr */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "serve/http/server.h"
#include "store/db.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"
#include "train/dataset.h"
#include "util/fsutil.h"
#include "model_fixture.h"
#include "testutil.h"

static char g_home[256], g_db[512], g_m1[512], g_m2[512], g_logs[2][512];

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
    fail_msg("train: %s", e.msg);
  assert_int_equal(model_save(m, path, &e), 0);
  model_free(m);
}

static int group_setup(void **state)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  tu_tmpdir(g_home, sizeof(g_home));
  char file[512], url[512];
  snprintf(file, sizeof(file), "%s/harvest.db", g_home);
  snprintf(g_db, sizeof(g_db), "%s", tu_db(file, url, sizeof(url)));
  snprintf(g_m1, sizeof(g_m1), "%s/m1.hvm", g_home);
  snprintf(g_m2, sizeof(g_m2), "%s/m2.hvm", g_home);
  for (int i = 0; i < 2; i++)
    snprintf(g_logs[i], sizeof(g_logs[i]), "%s/replica%d.log", g_home, i);
  struct hv_db *db = tu_open_db(g_db);
  struct fx_spec spec = {.users = 40, .movies = 60, .per_user = 12,
                         .clusters = 4, .first_rating_id = 1, .seed = 5,
                         .catalogue = 1, .replace = 1};
  assert_true(fx_load(db, &spec) > 0);
  train_to(db, 1, g_m1);
  train_to(db, 2, g_m2);
  db_close(db);
  return 0;
}

static int group_teardown(void **state)
{
  tu_rmtree(g_home);
  curl_global_cleanup();
  return 0;
}

/* Register path as a new Production version of the default model
 * (archiving the previous one): one commit, one notification. */
static int promote(const char *path)
{
  struct hv_db *db = tu_open_db(g_db);
  struct hv_err e = {0};
  char run_id[33];
  int version = 0;
  if (runs_start(db, "replicas", NULL, NULL, run_id, &e) ||
      artifacts_put_file(g_home, db, run_id, ARTIFACTS_MODEL_PATH, path, NULL,
                         &e) ||
      runs_end(db, run_id, "FINISHED", &e))
    fail_msg("run: %s", e.msg);
  struct registry_register_opts o = {.run_id = run_id, .stage = "Production",
                                     .archive_existing = 1,
                                     .reason = "test"};
  if (registry_register(g_home, db, &o, &version, &e))
    fail_msg("register: %s", e.msg);
  db_close(db);
  return version;
}

/* ---- two replicas --------------------------------------------------------- */

struct replica {
  struct serve *s;
  char base[64];
  int log_fd;
};

static void start_replicas(struct replica r[2])
{
  for (int i = 0; i < 2; i++) {
    struct serve_config c = {.home = g_home, .db = g_db, .threads = 2,
                             .access_log = 1, .timeout_s = 5,
                             .seed_compat = 1};
    r[i].log_fd = open(g_logs[i], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(r[i].log_fd > 0);
    c.log_fd = r[i].log_fd;
    struct hv_err e = {0};
    if (serve_start(&c, &r[i].s, &e))
      fail_msg("replica %d: %s", i, e.msg);
    snprintf(r[i].base, sizeof(r[i].base), "http://127.0.0.1:%d",
             serve_port(r[i].s));
  }
}

static void stop_replicas(struct replica r[2])
{
  for (int i = 0; i < 2; i++) {
    serve_stop(r[i].s, 5.0);
    close(r[i].log_fd);
  }
}

static long req(const struct replica *r, const char *method, const char *path,
                const char *body, struct tu_res *res)
{
  char url[512];
  snprintf(url, sizeof(url), "%s%s", r->base, path);
  memset(res, 0, sizeof(*res));
  const char *hdrs[] = {"Content-Type: application/json", NULL};
  long status = 0;
  if (tu_curl(method, url, body, body ? hdrs : NULL, NULL, 10, tu_res_body,
              tu_res_header, res, &status))
    return 0;
  res->status = status;
  return status;
}

/* The X-Model-Version a recommendation of r answers with ("" when none). */
static void served(const struct replica *r, char *out, size_t cap)
{
  struct tu_res *res = malloc(sizeof(*res));
  out[0] = '\0';
  if (req(r, "GET", "/movies/recommend/1/3", NULL, res) == 200) {
    const char *h = strcasestr(res->headers, "X-Model-Version: ");
    if (h)
      snprintf(out, cap, "%.*s", (int)strcspn(h + 17, "\r\n"), h + 17);
  }
  free(res);
}

struct both {
  const struct replica *r;
  char want[64];
};

static int both_serve(void *ud)
{
  struct both *b = ud;
  char got[64];
  for (int i = 0; i < 2; i++) {
    served(&b->r[i], got, sizeof(got));
    if (strcmp(got, b->want))
      return 0;
  }
  return 1;
}

/* Promote path and return the seconds until both replicas answer with
 * the new version. */
static double promote_and_wait(const struct replica r[2], const char *path)
{
  double t0 = hv_mono();
  int v = promote(path);
  struct both b = {.r = r};
  snprintf(b.want, sizeof(b.want), "harvest_recommender/%d", v);
  if (!tu_wait_until(both_serve, &b))
    fail_msg("the replicas never both served %s", b.want);
  double dt = hv_mono() - t0;
  printf("promotion to %s reached both replicas in %.3f s\n", b.want, dt);
  return dt;
}

static void test_promotion_reaches_both(void **state)
{
  struct replica r[2];
  promote(g_m1);
  start_replicas(r);
  struct tu_res *res = malloc(sizeof(*res));
  for (int i = 0; i < 2; i++)
    assert_int_equal(req(&r[i], "GET", "/readyz", NULL, res), 200);
  /* within 1 s: on PostgreSQL that is the feed (its fallback poll is 2 s) */
  for (int k = 0; k < 3; k++)
    assert_true(promote_and_wait(r, k % 2 ? g_m1 : g_m2) < 1.0);
  if (tu_on_pg()) {
    char *log = tu_wait_file(g_logs[1], "event=listening_registry");
    assert_non_null(log);
    free(log);
  }
  free(res);
  stop_replicas(r);
}

/* The titles of a recommendation's answer, as one string. */
static void titles(const struct tu_res *res, char *out, size_t cap)
{
  json_error_t je;
  json_t *j = json_loads(res->body, 0, &je);
  json_t *msg = json_object_get(j, "message");
  size_t i;
  json_t *t;
  out[0] = '\0';
  json_array_foreach(msg, i, t)
  {
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s|", json_string_value(t));
  }
  json_decref(j);
}

static void test_rating_on_one_read_by_other(void **state)
{
  struct replica r[2];
  promote(g_m1);
  start_replicas(r);
  struct tu_res *res = malloc(sizeof(*res));
  char plain[2048], plain2[2048], ex[2048], ex2[2048];
  const char *u = "/movies/recommend/7/5";
  /* replica 1 memoises user 7's top movies */
  assert_int_equal(req(&r[1], "GET", u, NULL, res), 200);
  titles(res, plain, sizeof(plain));
  assert_int_equal(req(&r[1], "GET", "/movies/recommend/7/5?exclude_rated=true",
                       NULL, res), 200);
  titles(res, ex, sizeof(ex));
  /* the best movie user 7 has not rated, rated through replica 0 */
  long long mid = 0;
  assert_int_equal(sscanf(ex, "Movie %lld", &mid), 1);
  char body[128];
  snprintf(body, sizeof(body),
           "[{\"user_id\": 7, \"movie_id\": %lld, \"user_rating\": 4}]", mid);
  assert_int_equal(req(&r[0], "POST", "/users/add_user_rating/", body, res),
                   200);
  /* replica 1's next read has it: excluded now */
  assert_int_equal(req(&r[1], "GET", "/movies/recommend/7/5?exclude_rated=true",
                       NULL, res), 200);
  titles(res, ex2, sizeof(ex2));
  char first[64];
  snprintf(first, sizeof(first), "Movie %lld (", mid);
  assert_null(strstr(ex2, first));
  assert_string_not_equal(ex, ex2);
  /* and its memo still answers the model's own top 5, on both replicas */
  for (int i = 0; i < 2; i++) {
    assert_int_equal(req(&r[i], "GET", u, NULL, res), 200);
    titles(res, plain2, sizeof(plain2));
    assert_string_equal(plain, plain2);
  }
  /* a promotion drops the memo with the model: both answer the new one */
  promote_and_wait(r, g_m2);
  assert_int_equal(req(&r[0], "GET", u, NULL, res), 200);
  titles(res, plain, sizeof(plain));
  assert_int_equal(req(&r[1], "GET", u, NULL, res), 200);
  titles(res, plain2, sizeof(plain2));
  assert_string_equal(plain, plain2);
  free(res);
  stop_replicas(r);
}

/* ---- PostgreSQL: the feed and the database going away --------------------- */

/* Run sql on the cluster's maintenance database (not the test's). */
static void on_cluster(const char *sql)
{
  if (tu_exec(getenv("HV_TEST_PG"), sql))
    fail_msg("cluster refused: %s", sql);
}

/* End the test database's connections that match the SQL condition
 * (tu_q1 fails the test when the query fails); how many ended. */
static int64_t terminate(const char *name, const char *cond)
{
  char sql[512];
  snprintf(sql, sizeof(sql),
           "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
           "WHERE datname = '%s' AND %s",
           name, cond);
  return tu_q1(getenv("HV_TEST_PG"), sql);
}

/* The test database's name (its URI's path). */
static void db_name(char *out, size_t cap)
{
  const char *p = strstr(g_db, ":///");
  assert_non_null(p);
  snprintf(out, cap, "%.*s", (int)strcspn(p + 4, "?"), p + 4);
}

struct ready_wait {
  const struct replica *r;
  long want;
  char detail[512];
};

static int ready_is(void *ud)
{
  struct ready_wait *w = ud;
  struct tu_res *res = malloc(sizeof(*res));
  long st = req(w->r, "GET", "/readyz", NULL, res);
  snprintf(w->detail, sizeof(w->detail), "%s", res->body);
  free(res);
  return st == w->want;
}

static void wait_ready(const struct replica *r, long want, const char *what)
{
  struct ready_wait w = {.r = r, .want = want};
  if (!tu_wait_until(ready_is, &w)) {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "grep event= %s/replica*.log | tail -n 20",
             g_home);
    if (system(cmd) != 0)
      printf("(no replica logs)\n");
    fail_msg("/readyz never became %ld (%s): %s", want, what, w.detail);
  }
}

static void test_feed_reconnects(void **state)
{
  if (!tu_on_pg())
    skip(); /* SQLite has no feed: its replicas poll */
  struct replica r[2];
  promote(g_m1);
  start_replicas(r);
  for (int i = 0; i < 2; i++) {
    char *log = tu_wait_file(g_logs[i], "event=listening_registry");
    assert_non_null(log);
    free(log);
  }
  char *log;
  char name[128];
  db_name(name, sizeof(name));
  assert_true(terminate(name, "query LIKE 'LISTEN%'") >= 2);
  log = tu_wait_file(g_logs[0], "event=listen_lost");
  assert_non_null(log);
  free(log);
  wait_ready(&r[0], 200, "after the listener reconnected");
  assert_true(promote_and_wait(r, g_m2) < 1.0);
  stop_replicas(r);
}

static void test_readyz_without_database(void **state)
{
  if (!tu_on_pg())
    skip(); /* a SQLite file does not go away under a running server */
  struct replica r[2];
  promote(g_m1);
  start_replicas(r);
  wait_ready(&r[0], 200, "at start");
  char name[128], sql[512];
  db_name(name, sizeof(name));
  snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS false",
           name);
  on_cluster(sql);
  assert_true(terminate(name, "TRUE") > 0);
  struct ready_wait w = {.r = &r[1], .want = 503};
  if (!tu_wait_until(ready_is, &w))
    fail_msg("/readyz stayed up without the database: %s", w.detail);
  assert_non_null(strstr(w.detail, "no database"));
  /* the model stays loaded: recommendations need no database */
  struct tu_res *res = malloc(sizeof(*res));
  assert_int_equal(req(&r[1], "GET", "/movies/recommend/1/3", NULL, res), 200);
  snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS true",
           name);
  on_cluster(sql);
  wait_ready(&r[1], 200, "after the database came back");
  /* the workers' connections were lost too: a read opens a new one */
  assert_int_equal(req(&r[1], "GET", "/users/3", NULL, res), 200);
  assert_int_equal(req(&r[0], "GET", "/users/3", NULL, res), 200);
  free(res);
  stop_replicas(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_promotion_reaches_both),
      cmocka_unit_test(test_rating_on_one_read_by_other),
      cmocka_unit_test(test_feed_reconnects),
      cmocka_unit_test(test_readyz_without_database),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

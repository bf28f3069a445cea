/*
 * test_runs.c - track/runs + store/tracking: run lifecycle, params,
 * metrics (batch, latest, NaN, history), tags, lineage and the ratings
 * fingerprint, search, owner liveness and gc, JSON, and the `harvest runs`
 * CLI end to end.
 */
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/loader.h"
#include "store/db.h"
#include "store/sql.h"
#include "store/tracking.h"
#include "testutil.h"
#include "track/artifacts.h"
#include "track/runs.h"
#include "util/fsutil.h"

static struct hv_db *open_mem(void)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char url[512];
  assert_int_equal(db_open(tu_db(":memory:", url, sizeof(url)), &db, &e), 0);
  return db;
}

static void test_lifecycle(void **state)
{
  struct hv_db *db = open_mem();
  struct hv_err e = {0};
  char id[33], id2[33];
  assert_int_equal(runs_start(db, NULL, NULL, NULL, id, &e), 0);
  assert_int_equal(runs_check_id(id, &e), 0);
  assert_int_equal(runs_start(db, "exp-a", "named", id, id2, &e), 0);
  assert_string_not_equal(id, id2);
  struct tracking_run *r = NULL;
  assert_int_equal(runs_get(db, id2, &r, &e), 0);
  assert_string_equal(r->status, "RUNNING");
  assert_string_equal(r->experiment, "exp-a");
  assert_string_equal(r->name, "named");
  assert_string_equal(r->parent_run_id, id);
  assert_int_equal(r->owner.pid, getpid());
  assert_int_equal(runs_owner_state(r), RUNS_OWNER_ALIVE);
  assert_string_equal(r->code_version, HV_GIT_VERSION);
  runs_free(r, 1);
  assert_int_equal(runs_get(db, id, &r, &e), 0);
  assert_string_equal(r->experiment, "Default");
  assert_int_equal(strncmp(r->name, "run-", 4), 0);
  runs_free(r, 1);

  assert_int_equal(runs_end(db, id2, "FINISHED", &e), 0);
  assert_int_equal(runs_end(db, id2, "FAILED", &e), HV_ECONFLICT);
  assert_int_equal(runs_end(db, id, "DONE", &e), HV_EINVAL);
  assert_int_equal(runs_end(db, id, NULL, &e), HV_EINVAL);
  assert_int_equal(runs_get(db, id2, &r, &e), 0);
  assert_string_equal(r->status, "FINISHED");
  assert_true(r->end_time >= r->start_time);
  runs_free(r, 1);

  /* bad input */
  static const char *const bad_ids[] = {"", "xyz", "0123456789abcdef",
                                        "0123456789ABCDEF0123456789ABCDEF",
                                        "0123456789abcdef0123456789abcdef0"};
  for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
    assert_int_equal(runs_get(db, bad_ids[i], &r, &e), HV_EINVAL);
    assert_int_equal(runs_end(db, bad_ids[i], "FINISHED", &e), HV_EINVAL);
  }
  assert_int_equal(runs_get(db, NULL, &r, &e), HV_EINVAL);
  const char *unknown = "0123456789abcdef0123456789abcdef";
  assert_int_equal(runs_get(db, unknown, &r, &e), HV_ENOTFOUND);
  assert_null(r);
  assert_int_equal(runs_end(db, unknown, "KILLED", &e), HV_ENOTFOUND);
  assert_int_equal(runs_start(db, "x", NULL, unknown, id2, &e), HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "parent run"));
  assert_int_equal(runs_start(db, "", NULL, NULL, id2, &e), HV_EINVAL);
  assert_int_equal(runs_start(db, "x", "", NULL, id2, &e), HV_EINVAL);
  assert_int_equal(runs_start(db, "x", NULL, "nothex", id2, &e), HV_EINVAL);
  assert_int_equal(runs_start(NULL, "x", NULL, NULL, id2, &e), HV_EINVAL);
  db_close(db);
}

static void test_params_and_tags(void **state)
{
  struct hv_db *db = open_mem();
  struct hv_err e = {0};
  char id[33];
  assert_int_equal(runs_start(db, "p", NULL, NULL, id, &e), 0);
  assert_int_equal(runs_log_param(db, id, "dim", "32", &e), 0);
  assert_int_equal(runs_log_param(db, id, "dim", "32", &e), 0);
  assert_int_equal(runs_log_param(db, id, "dim", "64", &e), HV_ECONFLICT);
  assert_non_null(strstr(e.msg, "immutable"));
  assert_int_equal(runs_log_param(db, id, "val/lr rate.x-1", "0.1", &e), 0);
  assert_int_equal(runs_set_tag(db, id, "t", "a", &e), 0);
  assert_int_equal(runs_set_tag(db, id, "t", "b", &e), 0);
  static const char *const bad_keys[] = {"", "a\\b", "a\nb", "a;b", "é",
                                         "a'b"};
  for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
    assert_int_equal(runs_log_param(db, id, bad_keys[i], "1", &e), HV_EINVAL);
    assert_int_equal(runs_set_tag(db, id, bad_keys[i], "1", &e), HV_EINVAL);
  }
  assert_int_equal(runs_log_param(db, id, NULL, "1", &e), HV_EINVAL);
  assert_int_equal(runs_log_param(db, id, "k", NULL, &e), HV_EINVAL);
  char longkey[RUNS_MAX_KEY + 2];
  memset(longkey, 'k', sizeof(longkey) - 1);
  longkey[sizeof(longkey) - 1] = '\0';
  assert_int_equal(runs_log_param(db, id, longkey, "1", &e), HV_EINVAL);
  longkey[RUNS_MAX_KEY] = '\0';
  assert_int_equal(runs_log_param(db, id, longkey, "1", &e), 0);
  char *big = malloc(RUNS_MAX_PARAM_VALUE + 2);
  memset(big, 'v', RUNS_MAX_PARAM_VALUE + 1);
  big[RUNS_MAX_PARAM_VALUE + 1] = '\0';
  assert_int_equal(runs_log_param(db, id, "big", big, &e), HV_ETOOBIG);
  free(big);
  assert_int_equal(runs_log_param(db, "0123456789abcdef0123456789abcdef",
                                  "k", "v", &e),
                   HV_ENOTFOUND);
  struct tracking_run *r = NULL;
  assert_int_equal(runs_get(db, id, &r, &e), 0);
  assert_int_equal(r->n_params, 3);
  assert_int_equal(r->n_tags, 1);
  assert_string_equal(r->tags[0].value, "b");
  runs_free(r, 1);
  db_close(db);
}

static void test_metrics(void **state)
{
  struct hv_db *db = open_mem();
  struct hv_err e = {0};
  char id[33];
  assert_int_equal(runs_start(db, "m", NULL, NULL, id, &e), 0);
  /* latest is by step, not by insertion order */
  assert_int_equal(runs_log_metric(db, id, "loss", 3.0, 2, &e), 0);
  assert_int_equal(runs_log_metric(db, id, "loss", 5.0, 1, &e), 0);
  assert_int_equal(runs_log_metric(db, id, "acc", NAN, 0, &e), 0);
  struct tracking_metric batch[] = {
      {"loss", 2.0, 3, 1000.0}, {"loss", 1.0, 3, 999.0}, /* older ts */
      {"x", INFINITY, 0, 0}};
  assert_int_equal(runs_log_metrics_batch(db, id, batch, 3, &e), 0);
  struct tracking_run *r = NULL;
  assert_int_equal(runs_get(db, id, &r, &e), 0);
  assert_int_equal(r->n_metrics, 3);
  for (size_t i = 0; i < r->n_metrics; i++) {
    if (!strcmp(r->metrics[i].key, "loss")) {
      assert_true(r->metrics[i].value == 2.0);
      assert_int_equal(r->metrics[i].step, 3);
    } else if (!strcmp(r->metrics[i].key, "acc")) {
      assert_true(isnan(r->metrics[i].value));
    } else {
      assert_true(isinf(r->metrics[i].value));
    }
  }
  json_t *j = runs_to_json(r);
  assert_non_null(j);
  assert_true(json_is_null(json_object_get(json_object_get(j, "metrics"),
                                           "acc")));
  assert_true(json_real_value(json_object_get(json_object_get(j, "metrics"),
                                              "loss")) == 2.0);
  json_decref(j);
  runs_free(r, 1);

  struct tracking_metric *h = NULL;
  size_t n = 0;
  assert_int_equal(tracking_metric_history(db, id, "loss", &h, &n, &e), 0);
  assert_int_equal(n, 4);
  assert_int_equal(h[0].step, 1);
  assert_true(h[3].value == 2.0);
  tracking_metrics_free(h, n);

  /* a bad key anywhere rejects the whole batch */
  struct tracking_metric bad[] = {{"ok", 1, 10, 0}, {"b@d", 1, 10, 0}};
  assert_int_equal(runs_log_metrics_batch(db, id, bad, 2, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "entry 1"));
  assert_int_equal(tracking_metric_history(db, id, "ok", &h, &n, &e), 0);
  assert_int_equal(n, 0);
  tracking_metrics_free(h, n);
  struct tracking_metric nokey[] = {{NULL, 1, 0, 0}};
  assert_int_equal(runs_log_metrics_batch(db, id, nokey, 1, &e), HV_EINVAL);
  assert_int_equal(runs_log_metrics_batch(db, id, NULL, 3, &e), HV_EINVAL);
  assert_int_equal(runs_log_metrics_batch(db, id, NULL, 0, &e), 0);
  assert_int_equal(runs_log_metrics_batch(
                       db, "0123456789abcdef0123456789abcdef", batch, 1, &e),
                   HV_ENOTFOUND);
  db_close(db);
}

static void test_batch_100k(void **state)
{
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/h.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  char id[33];
  assert_int_equal(runs_start(db, "bench", NULL, NULL, id, &e), 0);
  enum { N = 100000 };
  struct tracking_metric *m = malloc(N * sizeof(*m));
  static const char *const keys[] = {"loss", "top_100_categorical_accuracy",
                                     "val/loss", "lr"};
  for (int i = 0; i < N; i++)
    m[i] = (struct tracking_metric){keys[i % 4], i * 0.5, i / 4, 0};
  double t0 = hv_mono();
  assert_int_equal(runs_log_metrics_batch(db, id, m, N, &e), 0);
  double dt = hv_mono() - t0;
  print_message("100000 metric values in %.3f s (file database)\n", dt);
  /* a guard against a pathological slowdown only (one transaction, not one
   * per value); the speed itself is bench_tracking.sh's: < 1 s unsanitized,
   * and ASan on a loaded 2-core machine took over 10 s */
  assert_true(dt < 60.0);
  struct tracking_metric *h = NULL;
  size_t n = 0;
  assert_int_equal(tracking_metric_history(db, id, "lr", &h, &n, &e), 0);
  assert_int_equal(n, N / 4);
  assert_true(h[n - 1].value == (N - 1) * 0.5);
  tracking_metrics_free(h, n);
  free(m);
  db_close(db);
  tu_rmtree(dir);
}

static void load_ratings(struct hv_db *db)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  struct hv_movie mv = {.id = 1, .title = "Toy Story (1995)"};
  assert_int_equal(loader_movie(ld, &mv, &e), 0);
  struct hv_user u = {.id = 7, .raw_age = -1, .bucketized_age = -1,
                      .occupation_label = -1};
  assert_int_equal(loader_user(ld, &u, &e), 0);
  static const struct hv_rating rs[] = {
      {1, 7, 1, 4, 100}, {2, 7, 1, 3.5, 200}, {3, 7, 1, 0.5, 300}};
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(loader_rating(ld, &rs[i], &e), 0);
  assert_int_equal(loader_commit(ld, "t", "memory", &e), 0);
}

static void sha_hex(const char *text, char hex[65])
{
  unsigned char d[32];
  assert_true(sodium_init() >= 0);
  crypto_hash_sha256(d, (const unsigned char *)text, strlen(text));
  sodium_bin2hex(hex, 65, d, 32);
}

static void test_lineage(void **state)
{
  struct hv_db *db = open_mem();
  struct hv_err e = {0};
  load_ratings(db);
  char sha[65], want[65];
  int64_t rows = 0;
  assert_int_equal(runs_fingerprint_data(db, 1, 3, &rows, sha, &e), 0);
  assert_int_equal(rows, 3);
  sha_hex("1,7,1,4,100\n2,7,1,3.5,200\n3,7,1,0.5,300\n", want);
  assert_string_equal(sha, want);
  assert_int_equal(runs_fingerprint_data(db, 2, 1000, &rows, sha, &e), 0);
  assert_int_equal(rows, 2);
  sha_hex("2,7,1,3.5,200\n3,7,1,0.5,300\n", want);
  assert_string_equal(sha, want);
  assert_int_equal(runs_fingerprint_data(db, 50, 60, &rows, sha, &e), 0);
  assert_int_equal(rows, 0);
  sha_hex("", want);
  assert_string_equal(sha, want);
  assert_int_equal(runs_fingerprint_data(db, 3, 1, &rows, sha, &e),
                   HV_EINVAL);

  char id[33];
  assert_int_equal(runs_start(db, "l", NULL, NULL, id, &e), 0);
  assert_int_equal(runs_log_data_lineage(db, id, 1, 2, &e), 0);
  struct tracking_run *r = NULL;
  assert_int_equal(runs_get(db, id, &r, &e), 0);
  assert_int_equal(r->data_rows, 2);
  assert_int_equal(r->data_first_rating_id, 1);
  assert_int_equal(r->data_last_rating_id, 2);
  sha_hex("1,7,1,4,100\n2,7,1,3.5,200\n", want);
  assert_string_equal(r->data_sha256, want);
  runs_free(r, 1);
  assert_int_equal(runs_set_lineage(db, id, 1, 2, 2, "XYZ", &e), HV_EINVAL);
  assert_int_equal(runs_set_lineage(db, id, 5, 2, 2, want, &e), HV_EINVAL);
  assert_int_equal(runs_set_lineage(db, id, 1, 2, -1, want, &e), HV_EINVAL);
  assert_int_equal(runs_set_lineage(db, "0123456789abcdef0123456789abcdef",
                                    1, 2, 2, want, &e),
                   HV_ENOTFOUND);
  db_close(db);
}

/* Three runs in two experiments with dims and accuracies. */
static void seed_runs(struct hv_db *db, char ids[3][33])
{
  struct hv_err e = {0};
  static const char *const dims[] = {"16", "32", "64"};
  static const double acc[] = {0.2, 0.35, 0.31};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(
        runs_start(db, i < 2 ? "tune" : "other", NULL, NULL, ids[i], &e), 0);
    assert_int_equal(runs_log_param(db, ids[i], "dim", dims[i], &e), 0);
    assert_int_equal(runs_log_metric(db, ids[i],
                                     "top_100_categorical_accuracy", acc[i],
                                     4, &e),
                     0);
    if (i < 2)
      assert_int_equal(runs_end(db, ids[i], "FINISHED", &e), 0);
  }
}

static void test_search(void **state)
{
  struct hv_db *db = open_mem();
  struct hv_err e = {0};
  char ids[3][33];
  seed_runs(db, ids);
  struct tracking_run *rs = NULL;
  size_t n = 0;
  struct runs_query q = {0};
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  assert_int_equal(n, 3);
  assert_string_equal(rs[0].run_id, ids[2]); /* newest first */
  runs_free(rs, n);
  q.experiment = "tune";
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  assert_int_equal(n, 2);
  runs_free(rs, n);
  q.experiment = NULL;
  q.filter = "params.dim = '32' and metrics.top_100_categorical_accuracy > "
             "0.3";
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  assert_int_equal(n, 1);
  assert_string_equal(rs[0].run_id, ids[1]);
  runs_free(rs, n);
  q.filter = "attributes.status = 'RUNNING'";
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  assert_int_equal(n, 1);
  assert_string_equal(rs[0].run_id, ids[2]);
  runs_free(rs, n);
  q.filter = NULL;
  q.order_by = "metrics.top_100_categorical_accuracy DESC";
  q.max = 2;
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  assert_int_equal(n, 2);
  assert_string_equal(rs[0].run_id, ids[1]);
  assert_string_equal(rs[1].run_id, ids[2]);
  runs_free(rs, n);
  q.experiment = "nope";
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), HV_ENOTFOUND);
  q.experiment = NULL;
  q.filter = "params.dim ~ '3'";
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "position 12"));
  q.filter = NULL;
  q.order_by = "bogus";
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), HV_EINVAL);
  db_close(db);
}

/* Start a run in a child process that exits at once; returns its pid
 * (reaped unless keep_zombie). */
/* Field 22 of /proc/self/stat: this process's start time in ticks. */
static int64_t own_start(void)
{
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  for (int field = 2; p && field < 22; field++)
    p = strchr(p + 1, ' ');
  return p ? strtoll(p + 1, NULL, 10) : -1;
}

/* runs_owner_self reads the boot id and the start time once per process:
 * the same answer again, and a forked child's own pid and start time, not
 * its parent's remembered ones. */
static void test_owner_after_fork(void **state)
{
  (void)state;
  struct tracking_owner a, b;
  runs_owner_self(&a);
  runs_owner_self(&b);
  assert_int_equal(a.pid, getpid());
  assert_int_equal(b.start, a.start);
  assert_int_equal(a.start, own_start());
  assert_string_equal(b.boot_id, a.boot_id);
  usleep(30000); /* the child starts 3 ticks (of 10 ms) after us at least */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct tracking_owner c;
    runs_owner_self(&c);
    _exit(c.pid == getpid() && c.start == own_start() &&
                  c.start != a.start && !strcmp(c.boot_id, a.boot_id)
              ? 0
              : 1);
  }
  int st = -1;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static pid_t run_in_child(const char *path, char id[33], int keep_zombie)
{
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct hv_db *db = NULL;
    struct hv_err e = {0};
    char cid[33] = {0};
    if (db_open(path, &db, &e) == 0 &&
        runs_start(db, "gc", NULL, NULL, cid, &e) == 0)
      (void)!write(fds[1], cid, 33);
    db_close(db);
    _exit(0);
  }
  close(fds[1]);
  assert_int_equal(read(fds[0], id, 33), 33);
  close(fds[0]);
  if (!keep_zombie)
    waitpid(pid, NULL, 0);
  return pid;
}

static void test_gc(void **state)
{
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/h.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  char mine[33], dead[33], zombie[33];
  char other[33] = "fedcba9876543210fedcba9876543210";
  assert_int_equal(runs_start(db, "gc", NULL, NULL, mine, &e), 0);
  run_in_child(path, dead, 0);
  pid_t zpid = run_in_child(path, zombie, 1);
  /* until the child has exited, left as a zombie (WNOWAIT: not reaped) */
  siginfo_t si;
  assert_int_equal(waitid(P_PID, (id_t)zpid, &si, WEXITED | WNOWAIT), 0);
  /* a run owned by a process on another host is never touched */
  struct tracking_owner far = {.pid = 1, .start = 1};
  snprintf(far.host, sizeof(far.host), "some-other-host");
  int64_t exp = 0;
  assert_int_equal(tracking_experiment_id(db, "gc", 0, &exp, &e), 0);
  struct tracking_run_new rn = {other, exp, "far", NULL, "bob", 1.0, &far};
  assert_int_equal(tracking_run_insert(db, &rn, &e), 0);

  struct tracking_run *r = NULL;
  assert_int_equal(runs_get(db, dead, &r, &e), 0);
  assert_string_equal(r->status, "RUNNING"); /* shown as RUNNING until gc */
  assert_int_equal(runs_owner_state(r), RUNS_OWNER_DEAD);
  json_t *j = runs_to_json(r);
  assert_true(json_is_false(json_object_get(j, "owner_alive")));
  json_decref(j);
  runs_free(r, 1);
  assert_int_equal(runs_get(db, other, &r, &e), 0);
  assert_int_equal(runs_owner_state(r), RUNS_OWNER_UNKNOWN);
  runs_free(r, 1);

  size_t n = 99;
  char(*ids)[33] = NULL;
  assert_int_equal(runs_gc(db, 3600, &n, &ids, &e), 0); /* too young */
  assert_int_equal(n, 0);
  free(ids);
  assert_int_equal(runs_gc(db, -1, &n, &ids, &e), HV_EINVAL);
  assert_int_equal(runs_gc(db, 0, &n, &ids, &e), 0);
  assert_int_equal(n, 2);
  int saw_dead = 0, saw_zombie = 0;
  for (size_t i = 0; i < n; i++) {
    saw_dead |= !strcmp(ids[i], dead);
    saw_zombie |= !strcmp(ids[i], zombie);
  }
  assert_true(saw_dead && saw_zombie);
  free(ids);
  waitpid(zpid, NULL, 0);
  static const struct {
    const char *id, *status;
  } want[] = {{NULL, "RUNNING"}, {NULL, "FAILED"}, {NULL, "FAILED"},
              {NULL, "RUNNING"}};
  const char *which[] = {mine, dead, zombie, other};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(runs_get(db, which[i], &r, &e), 0);
    assert_string_equal(r->status, want[i].status);
    if (i == 1) {
      assert_int_equal(r->n_tags, 1);
      assert_string_equal(r->tags[0].key, "harvest.gc_reason");
    }
    runs_free(r, 1);
  }
  assert_int_equal(runs_gc(db, 0, NULL, NULL, &e), 0); /* idempotent */
  db_close(db);
  tu_rmtree(dir);
}

/* ---- CLI ---- */

static int have_bin(void)
{
  return access(tu_bin(), X_OK) == 0;
}

static void test_cli(void **state)
{
  if (!have_bin())
    skip();
  char dir[256], path[512], cmd[2048], out[65536];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/harvest.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  char ids[3][33];
  seed_runs(db, ids);
  assert_int_equal(runs_log_metric(db, ids[0], "loss", 1.5, 1, &e), 0);
  db_close(db);

  snprintf(cmd, sizeof(cmd), "%s --home %s runs list --json", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_array_size(j), 3);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(j, 0), "run_id")),
      ids[2]);
  assert_non_null(json_object_get(json_array_get(j, 0), "params"));
  json_decref(j);

  snprintf(cmd, sizeof(cmd),
           "%s --home %s runs list --experiment tune --filter \"params.dim "
           "= '32' and metrics.top_100_categorical_accuracy > 0.3\" --json",
           tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_int_equal(json_array_size(j), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(j, 0), "run_id")),
      ids[1]);
  json_decref(j);

  snprintf(cmd, sizeof(cmd),
           "%s --home %s runs list --order-by "
           "'metrics.top_100_categorical_accuracy DESC' --max 1 --json",
           tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_int_equal(json_array_size(j), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(j, 0), "run_id")),
      ids[1]);
  json_decref(j);

  snprintf(cmd, sizeof(cmd),
           "%s --home %s runs list --filter \"params.dim = \" 2>&1",
           tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
  assert_non_null(strstr(out, "position 14"));

  snprintf(cmd, sizeof(cmd), "%s --home %s runs show %s --json", tu_bin(),
           dir, ids[0]);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_true(json_real_value(json_object_get(
                  json_object_get(j, "metrics"), "loss")) == 1.5);
  assert_non_null(json_object_get(j, "artifacts"));
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s runs show %s", tu_bin(), dir,
           ids[0]);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "dim"));

  snprintf(cmd, sizeof(cmd), "%s --home %s runs compare %s %s --json",
           tu_bin(), dir, ids[0], ids[1]);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  json_t *dim = json_object_get(json_object_get(j, "params"), "dim");
  assert_string_equal(json_string_value(json_array_get(dim, 0)), "16");
  assert_string_equal(json_string_value(json_array_get(dim, 1)), "32");
  json_t *loss = json_object_get(json_object_get(j, "metrics"), "loss");
  assert_true(json_is_null(json_array_get(loss, 1)));
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s runs compare %s %s", tu_bin(),
           dir, ids[0], ids[1]);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "* dim"));

  snprintf(cmd, sizeof(cmd), "%s --home %s runs history %s loss --json",
           tu_bin(), dir, ids[0]);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_int_equal(json_array_size(j), 1);
  json_decref(j);

  snprintf(cmd, sizeof(cmd), "%s --home %s runs gc --json", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  /* ids[2] was left RUNNING by this (live) test process: not marked */
  assert_int_equal(json_array_size(json_object_get(j, "marked_failed")), 0);
  json_decref(j);

  static const char *const bad[] = {
      "runs show", "runs show nothex", "runs compare", "runs list --max 0",
      "runs list --bogus", "runs gc --older-than -5", "runs nope",
      "runs show 0123456789abcdef0123456789abcdef"};
  static const int want[] = {2, 1, 2, 2, 2, 2, 2, 1};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s 2>/dev/null", tu_bin(), dir,
             bad[i]);
    if (tu_run(cmd, out, sizeof(out)) != want[i])
      fail_msg("'%s' should exit %d", bad[i], want[i]);
  }
  snprintf(cmd, sizeof(cmd), "%s runs list --help", tu_bin());
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "--filter"));
  tu_rmtree(dir);
}

/* Run ids by unique prefix (runs_resolve_id, in-process and through every
 * CLI command that takes a run id or a runs:/ URI), the runs list header,
 * --order-by and --columns as columns, "all" for an open rating range,
 * runs compare without cut values (issue 16). */
#define ID_A "abcd0000000000000000000000000001"
#define ID_B "abcd0000000000000000000000000002"
#define ID_C "abce0000000000000000000000000003"
static void test_prefixes_and_columns(void **state)
{
  if (!have_bin())
    skip();
  char dir[256], path[512], cmd[2048], out[65536], id[33];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/harvest.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  int64_t exp = 0;
  assert_int_equal(tracking_experiment_id(db, "px", 1, &exp, &e), 0);
  struct tracking_owner me = {.pid = 1, .start = 1};
  static const char *const ids[] = {ID_A, ID_B, ID_C};
  for (int i = 0; i < 3; i++) {
    struct tracking_run_new rn = {ids[i], exp, "r", NULL, "bob", 1.0 + i,
                                  &me};
    assert_int_equal(tracking_run_insert(db, &rn, &e), 0);
    assert_int_equal(runs_log_metric(db, ids[i], "m", 0.5 + i, 1, &e), 0);
    assert_int_equal(runs_end(db, ids[i], "FINISHED", &e), 0);
  }
  assert_int_equal(runs_log_param(db, ID_C, "last_rating_id",
                                  "9223372036854775807", &e), 0);
  assert_int_equal(runs_log_param(db, ID_C, "note",
                                  "a value much longer than fourteen bytes",
                                  &e), 0);
  /* in-process: full ids as they are, unique prefixes, the errors */
  assert_int_equal(runs_resolve_id(db, ID_A, id, &e), 0);
  assert_string_equal(id, ID_A);
  assert_int_equal(runs_resolve_id(db, "abce", id, &e), 0);
  assert_string_equal(id, ID_C);
  assert_int_equal(runs_resolve_id(db, "abcd000000000000000000000000000", id,
                                   &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "ambiguous"));
  assert_non_null(strstr(e.msg, ID_A " " ID_B));
  static const struct {
    const char *arg;
    int code;
    const char *msg;
  } bad[] = {{"abc", HV_EINVAL, "too short"},
             {"ABCE", HV_EINVAL, "not a run id"},
             {"abce0000000000000000000000000003f", HV_EINVAL, "not a run id"},
             {"", HV_EINVAL, "not a run id"},
             {NULL, HV_EINVAL, "not a run id"},
             {"abcf", HV_ENOTFOUND, "no run id starts with 'abcf'"},
             {"ab%d", HV_EINVAL, "not a run id"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    e = (struct hv_err){0};
    assert_int_equal(runs_resolve_id(db, bad[i].arg, id, &e), bad[i].code);
    if (!strstr(e.msg, bad[i].msg))
      fail_msg("'%s': '%s' lacks '%s'", bad[i].arg ? bad[i].arg : "NULL",
               e.msg, bad[i].msg);
  }
  assert_int_equal(runs_resolve_id(NULL, "abce", id, &e) < 0, 1);
  db_close(db);

  /* the CLI: a header, the order-by key and --columns, "all" */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s runs list -o 'metrics.m DESC' -c "
           "params.last_rating_id,note,tags.none",
           tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_true(!strncmp(out, "run_id ", 7));
  char *l1 = strchr(out, '\n') + 1;
  assert_non_null(strstr(out, "run_name"));
  assert_true(strstr(out, " m ") < strstr(out, "last_rating_id"));
  assert_true(!strncmp(l1, ID_C, 32)); /* m DESC: C (2.5) first */
  assert_non_null(strstr(l1, "2.5"));
  assert_non_null(strstr(l1, " all "));
  assert_non_null(strstr(l1, "a value much longer than fourteen bytes"));
  assert_null(strstr(out, "9223372036854775807"));
  /* an --order-by key no run has: still listed, exit 0, a warning naming
   * it (and only it) on stderr; a key some run has: no warning */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s runs list -o 'm.nosuch DESC, metrics.m, "
           "tags.gone' 2>&1", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  if (!strstr(out, "warning: --order-by: none of the") ||
      !strstr(out, "listed has metrics.nosuch, tags.gone, so they do not "
                   "change the order") ||
      !strstr(out, ID_C))
    fail_msg("no warning for keys no run has: %s", out);
  snprintf(cmd, sizeof(cmd),
           "%s --home %s runs list --json -o 'params.nosuch' 2>&1 >/dev/null",
           tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "has params.nosuch, so it does not change"));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s runs list -o 'metrics.m DESC, attributes.run_name' "
           "2>&1", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_null(strstr(out, "warning"));
  /* every command that takes a run id takes a unique prefix */
  static const char *const ok[] = {
      "runs show abce", "runs compare abce " ID_A, "runs history abce m",
      "artifacts list abce"};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s 2>&1", tu_bin(), dir, ok[i]);
    if (tu_run(cmd, out, sizeof(out)) != 0)
      fail_msg("'%s' failed: %s", ok[i], out);
  }
  snprintf(cmd, sizeof(cmd), "%s --home %s runs show abce", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_true(!strncmp(out, ID_C, 32));
  assert_non_null(strstr(out, "last_rating_id                   all"));
  snprintf(cmd, sizeof(cmd), "%s --home %s runs compare abce %s", tu_bin(),
           dir, ID_A);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, ID_C));
  assert_non_null(strstr(out, "a value much longer than fourteen bytes"));
  /* ambiguous, too short, unknown: exit 1 and say so, also in runs:/ */
  static const struct {
    const char *args, *msg;
    int rc;
  } fails[] = {
      {"runs show abcd", ID_A " " ID_B, 1},
      {"runs compare abcd abce", "ambiguous", 1},
      {"runs history abcd m", "ambiguous", 1},
      {"artifacts list abc", "too short", 1},
      {"artifacts get abcd model/model.hvm", "ambiguous", 1},
      {"models resolve runs:/abcd", "ambiguous", 1},
      {"models register --run abcd", "ambiguous", 1},
      {"runs show ffff", "no run id starts with 'ffff'", 1},
      {"runs list -c ''", "--columns is empty", 2},
      {"runs list -c params.", "--columns key", 2},
  };
  for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s 2>&1", tu_bin(), dir,
             fails[i].args);
    int rc = tu_run(cmd, out, sizeof(out));
    if (rc != fails[i].rc || !strstr(out, fails[i].msg))
      fail_msg("'%s': exit %d '%s', want %d and '%s'", fails[i].args, rc,
               out, fails[i].rc, fails[i].msg);
  }
  tu_rmtree(dir);
}

/* Lookups on a loaded run: present, absent, empty run. */
static void test_run_lookups(void **state)
{
  struct tracking_kv params[] = {{"dim", "32"}, {"lr", "0.1"}};
  struct tracking_kv tags[] = {{"best_run_id", "abc"}};
  struct tracking_metric metrics[] = {{"loss", 2.5, 3, 0},
                                      {"top_100_categorical_accuracy", 0.4,
                                       0, 0}};
  struct tracking_run r = {0};
  assert_null(runs_param(&r, "dim"));
  assert_null(runs_tag(&r, "x"));
  assert_true(isnan(runs_metric(&r, "loss")));
  r.params = params;
  r.n_params = 2;
  r.tags = tags;
  r.n_tags = 1;
  r.metrics = metrics;
  r.n_metrics = 2;
  assert_string_equal(runs_param(&r, "lr"), "0.1");
  assert_null(runs_param(&r, "best_run_id")); /* a tag, not a param */
  assert_string_equal(runs_tag(&r, "best_run_id"), "abc");
  assert_true(runs_metric(&r, "loss") == 2.5);
  assert_true(isnan(runs_metric(&r, "dim")));
}

/* store/sql.h on this backend: $N parameters by number (not by where they
 * first appear), a $1 inside a literal left alone, typed arguments and
 * NULL, a one-row query without its row, changed rows, ids, a broken
 * constraint; and an experiment without runs is last active when it was
 * created (on PostgreSQL it said 0). */
static int row_texts(const struct sql_row *r, void *arg)
{
  char(*out)[16] = arg;
  sql_copy(r, 0, out[0], sizeof(out[0]));
  sql_copy(r, 1, out[1], sizeof(out[1]));
  return 0;
}

static void test_sql_layer(void **state)
{
  struct hv_db *db = open_mem();
  struct hv_err e = {0};
  int64_t v[2] = {0, 0};
  struct sql_args a = sql_argsf("ii", (int64_t)1, (int64_t)10);
  assert_int_equal(sql_run_row(db,
                               "SELECT CAST($2 AS BIGINT) - CAST($1 AS "
                               "BIGINT), CAST($1 AS BIGINT)",
                               &a, v, 2, "sub", &e),
                   0);
  assert_int_equal(v[0], 9);
  assert_int_equal(v[1], 1);
  char txt[2][16] = {"", ""};
  a = sql_argsf("t", "x");
  size_t n = 0;
  assert_int_equal(sql_run(db, "SELECT '$1', CAST($1 AS TEXT)", 0, &a,
                           row_texts, txt, &n, "literal", &e),
                   0);
  assert_int_equal(n, 1);
  assert_string_equal(txt[0], "$1");
  assert_string_equal(txt[1], "x");
  a = sql_argsf("tf", NULL, NAN);
  assert_int_equal(sql_run_row(db,
                               "SELECT CASE WHEN CAST($1 AS TEXT) IS NULL "
                               "AND CAST($2 AS REAL) IS NULL THEN 1 ELSE 0 "
                               "END",
                               &a, v, 1, "nulls", &e),
                   0);
  assert_int_equal(v[0], 1);
  a = sql_argsf("t", "nothing");
  assert_int_equal(sql_run_row(db, "SELECT id FROM experiments WHERE name ="
                                   " $1",
                               &a, v, 1, "lookup", &e),
                   HV_EDB);
  assert_non_null(strstr(e.msg, "lookup: no row"));

  int64_t id = 0, changed = -1;
  assert_int_equal(tracking_experiment_id(db, "empty", 1, &id, &e), 0);
  a = sql_argsf("fi", 5.0, id);
  assert_int_equal(sql_cmd(db, "UPDATE experiments SET created_at = $1 "
                               "WHERE id = $2",
                           0, &a, &changed, "update", &e),
                   0);
  assert_int_equal(changed, 1);
  int64_t *ids = NULL;
  a = sql_argsf("t", "empty");
  assert_int_equal(sql_run_ids(db, "SELECT id FROM experiments WHERE name = "
                                   "$1",
                               0, &a, &ids, &n, "ids", &e),
                   0);
  assert_int_equal(n, 1);
  assert_int_equal(ids[0], id);
  free(ids);
  a = sql_argsf("tf", "empty", 1.0);
  assert_int_not_equal(sql_cmd(db, "INSERT INTO experiments(name, "
                                   "created_at) VALUES ($1, $2)",
                               0, &a, NULL, "dup", &e),
                       0);
  assert_true(sql_is_constraint(db));

  /* a streamed result (a cursor on PostgreSQL) hands over every row */
  size_t streamed = 0, n_exp = 0;
  int64_t *all = NULL;
  assert_int_equal(sql_run_ids(db, "SELECT id FROM experiments", 0, NULL,
                               &all, &n_exp, "ids", &e),
                   0);
  free(all);
  assert_int_equal(sql_run(db, "SELECT id FROM experiments ORDER BY id",
                           SQL_STREAM, NULL, NULL, NULL, &streamed, "stream",
                           &e),
                   0);
  assert_int_equal(streamed, n_exp);
  assert_true(n_exp >= 1);
  /* a streamed query of any length (PostgreSQL's cursor once had a 4 KiB
   * buffer: an assert, and a truncated DECLARE where asserts are off) */
  char *big = NULL;
  size_t big_len = 0;
  FILE *bf = open_memstream(&big, &big_len);
  assert_non_null(bf);
  fputs("SELECT id FROM experiments WHERE id NOT IN (-1", bf);
  for (int i = 2; i <= 1500; i++)
    fprintf(bf, ", -%d", i);
  fputs(") ORDER BY id", bf);
  fclose(bf);
  assert_true(big_len > 8192);
  streamed = 0;
  assert_int_equal(sql_run(db, big, SQL_STREAM, NULL, NULL, NULL, &streamed,
                           "stream", &e),
                   0);
  free(big);
  assert_int_equal(streamed, n_exp);

  struct tracking_experiment *x = NULL;
  assert_int_equal(tracking_experiments(db, &x, &n, &e), 0);
  int seen = 0;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(x[i].name, "empty")) {
      seen = 1;
      assert_int_equal(x[i].n_runs, 0);
      assert_int_equal(x[i].n_running, 0);
      assert_true(x[i].last_activity == 5.0);
    }
  assert_true(seen);
  free(x);
  db_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lifecycle), cmocka_unit_test(test_sql_layer), cmocka_unit_test(test_params_and_tags),
      cmocka_unit_test(test_metrics),   cmocka_unit_test(test_batch_100k),
      cmocka_unit_test(test_lineage), cmocka_unit_test(test_run_lookups),   cmocka_unit_test(test_search),
      cmocka_unit_test(test_gc),        cmocka_unit_test(test_cli),
      cmocka_unit_test(test_owner_after_fork),
      cmocka_unit_test(test_prefixes_and_columns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

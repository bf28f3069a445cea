/*
 * test_concurrency.c - the store's invariants when several processes write
 * at once, on SQLite and (test_concurrency_pg) on PostgreSQL, the way two
 * hosts sharing one database would:
 * - two processes promoting different versions of one model 200 times each
 *   at once: after every promotion each sees exactly one Production
 *   version, none fails, and at the end the audit log agrees with the
 *   stages (registry_check) and the database checks clean;
 * - two `harvest tune` processes logging into one database at once: every
 *   child run has every metric of every epoch, and the value each printed
 *   for a trial is the value stored (HV_CONC_PROMOTIONS overrides 200).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/synth.h"
#include "store/db.h"
#include "store/registry_db.h"
#include "testutil.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"
#include "util/fsutil.h"

struct fx {
  char home[256];
  char dbpath[512];
};

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof(*f));
  char file[512];
  tu_tmpdir(f->home, sizeof(f->home));
  snprintf(file, sizeof(file), "%s/harvest.db", f->home);
  snprintf(f->dbpath, sizeof(f->dbpath), "%s",
           tu_db(file, (char[512]){0}, 512));
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  tu_rmtree(f->home);
  free(f);
  return 0;
}

static int n_promotions(void)
{
  const char *s = getenv("HV_CONC_PROMOTIONS");
  int n = s ? atoi(s) : 200;
  return n > 0 ? n : 200;
}

/* Versions of "m" in Production, as this connection reads them now. */
static int productions(struct hv_db *db)
{
  struct registry_model m;
  struct hv_err e = {0};
  if (registry_db_get(db, "m", &m, &e))
    return -1;
  int n = 0;
  for (size_t i = 0; i < m.n_versions; i++)
    n += !strcmp(m.versions[i].stage, "Production");
  registry_db_model_free(&m);
  return n;
}

/* One promoting process: its own connection, n promotions of version,
 * each followed by a read. Exits with the number of failures (capped). */
static void promoter(const char *path, int version, int n)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  if (db_open(path, &db, &e)) {
    fprintf(stderr, "promoter %d: %s\n", version, e.msg);
    _exit(100);
  }
  int bad = 0;
  char who[16];
  snprintf(who, sizeof(who), "proc%d", version);
  for (int i = 0; i < n; i++) {
    memset(&e, 0, sizeof(e));
    if (registry_transition(db, "m", version, "Production", 1, "race", who,
                            &e)) {
      fprintf(stderr, "promoter %d, promotion %d: %s\n", version, i, e.msg);
      bad++;
    }
    int p = productions(db);
    if (p != 1) {
      fprintf(stderr, "promoter %d, after promotion %d: %d in Production\n",
              version, i, p);
      bad++;
    }
  }
  db_close(db);
  _exit(bad > 99 ? 99 : bad);
}

static void test_two_promoters(void **state)
{
  struct fx *f = *state;
  struct hv_db *db = tu_open_db(f->dbpath);
  struct hv_err e = {0};
  char run[33];
  assert_int_equal(runs_start(db, "race", NULL, NULL, run, &e), 0);
  assert_int_equal(artifacts_put_bytes(f->home, db, run, ARTIFACTS_MODEL_PATH,
                                       "weights", 7, NULL, &e),
                   0);
  int v = 0;
  for (int i = 0; i < 2; i++) {
    struct registry_register_opts o = {.name = "m", .run_id = run};
    assert_int_equal(registry_register(f->home, db, &o, &v, &e), 0);
  }
  assert_int_equal(v, 2);
  int n = n_promotions();
  pid_t pid[2];
  for (int k = 0; k < 2; k++) {
    pid[k] = fork();
    assert_true(pid[k] >= 0);
    if (pid[k] == 0)
      promoter(f->dbpath, k + 1, n);
  }
  for (int k = 0; k < 2; k++) {
    int st = 0;
    assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st))
      fail_msg("promoter %d: %d failures", k + 1, WEXITSTATUS(st));
  }
  assert_int_equal(productions(db), 1);
  /* a promotion of the version already in Production changes nothing and
   * is not audited; every change is, and the log agrees with the stages
   * (registry_check) */
  int64_t audited = tu_q1(f->dbpath, "SELECT COUNT(*) FROM registry_audit "
                                     "WHERE action = 'transition' AND "
                                     "to_stage = 'Production'");
  assert_true(audited >= 1 && audited <= 2 * n);
  assert_int_equal(registry_check(f->home, db, &e), 0);
  assert_int_equal(db_check(db, &e), 0);
  db_close(db);
}

/* A small synthetic dataset in the fixture's database. */
static void synth_small(struct fx *f)
{
  struct hv_db *db = tu_open_db(f->dbpath);
  struct hv_err e = {0};
  struct synth_config c;
  synth_defaults(&c);
  c.users = 120;
  c.movies = 150;
  c.ratings = 3000;
  c.days = 20;
  assert_int_equal(synth_run(db, &c, NULL, NULL, NULL, &e), 0);
  db_close(db);
}

#define TUNE_EPOCHS 3
#define TUNE_TRIALS 4

/* Start `harvest tune` for experiment exp, its JSON into out_path. */
static pid_t start_tune(struct fx *f, const char *exp, const char *out_path)
{
  char cmd[2048];
  snprintf(cmd, sizeof(cmd),
           "exec %s --home %s --db '%s' tune --grid dim=4,8 "
           "--grid lr=0.05,0.1 --tutorial --batch 64 --epochs %d "
           "--threads 1 --experiment %s --json >%s 2>%s.err",
           tu_bin(), f->home, f->dbpath, TUNE_EPOCHS, exp, out_path,
           out_path);
  return tu_spawn_sh(cmd);
}

/* "SELECT head WHERE run_id = 'run' tail" in the fixture's database. */
static int64_t count_of(struct fx *f, const char *head, const char *run,
                        const char *tail)
{
  char sql[512];
  snprintf(sql, sizeof(sql), "SELECT %s WHERE run_id = '%s'%s", head, run,
           tail);
  return tu_q1(f->dbpath, sql);
}

/* Check the trials of one tune's JSON against the database; the first
 * run's (rows, keys) become the reference in ref[2]. */
static void check_tune(struct fx *f, const char *out_path, int64_t ref[2])
{
  char *text = NULL;
  size_t len = 0;
  struct hv_err e = {0};
  assert_int_equal(hv_read_file(out_path, 1 << 20, &text, &len, &e), 0);
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  free(text);
  assert_non_null(j);
  json_t *trials = json_object_get(j, "trials");
  assert_int_equal(json_array_size(trials), TUNE_TRIALS);
  const char *metric = json_string_value(json_object_get(j, "metric"));
  for (size_t i = 0; i < TUNE_TRIALS; i++) {
    json_t *t = json_array_get(trials, i);
    const char *run = json_string_value(json_object_get(t, "run_id"));
    assert_non_null(run);
    int64_t rows = count_of(f, "COUNT(*) FROM metrics", run, "");
    int64_t keys = count_of(f, "COUNT(DISTINCT key) FROM metrics", run, "");
    int64_t latest = count_of(f, "COUNT(*) FROM latest_metrics", run, "");
    int64_t losses = count_of(f, "COUNT(*) FROM metrics", run,
                              " AND key = 'train_loss'");
    if (!ref[0]) {
      ref[0] = rows;
      ref[1] = keys;
    }
    if (rows != ref[0] || keys != ref[1] || latest != keys ||
        losses < 1)
      fail_msg("run %s: %lld metric rows, %lld keys, %lld latest, %lld "
               "train_loss (want %lld, %lld, %lld, >= %d)",
               run, (long long)rows, (long long)keys, (long long)latest,
               (long long)losses, (long long)ref[0], (long long)ref[1],
               (long long)ref[1], 1);
    assert_int_equal(
        count_of(f, "COUNT(*) FROM runs", run, " AND status = 'FINISHED'"),
        1);
    if (metric && json_is_number(json_object_get(t, "value"))) {
      char sql[512];
      snprintf(sql, sizeof(sql),
               "SELECT COUNT(*) FROM latest_metrics WHERE run_id = '%s' AND "
               "key = '%s' AND ABS(value - (%.17g)) < 1e-9",
               run, metric, json_number_value(json_object_get(t, "value")));
      assert_int_equal(tu_q1(f->dbpath, sql), 1);
    }
  }
  json_decref(j);
}

static void test_two_tunes(void **state)
{
  struct fx *f = *state;
  if (access(tu_bin(), X_OK) != 0)
    skip();
  synth_small(f);
  char out[2][512];
  pid_t pid[2];
  for (int k = 0; k < 2; k++) {
    snprintf(out[k], sizeof(out[k]), "%s/tune%d.json", f->home, k);
    pid[k] = start_tune(f, k ? "conc_b" : "conc_a", out[k]);
    assert_true(pid[k] > 0);
  }
  for (int k = 0; k < 2; k++) {
    int st = 0;
    assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
      char err[600], *msg = NULL;
      size_t len = 0;
      struct hv_err e = {0};
      snprintf(err, sizeof(err), "%s.err", out[k]);
      if (hv_read_file(err, 1 << 16, &msg, &len, &e) == 0)
        fprintf(stderr, "tune %d: %s\n", k, msg);
      free(msg);
      fail_msg("tune %d exited with status %d", k, st);
    }
  }
  int64_t ref[2] = {0, 0};
  check_tune(f, out[0], ref);
  check_tune(f, out[1], ref);
  /* the two parents and 2 x 4 children, nothing else running */
  assert_int_equal(tu_q1(f->dbpath, "SELECT COUNT(*) FROM runs"),
                   2 * (TUNE_TRIALS + 1));
  assert_int_equal(
      tu_q1(f->dbpath, "SELECT COUNT(*) FROM runs WHERE status <> "
                       "'FINISHED'"),
      0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_two_promoters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_tunes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

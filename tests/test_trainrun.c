/*
 * test_trainrun.c - "every train is a run" (track/trainrun.h): config
 * fields by name, metric names, what a tracked run records (params, metrics
 * by step, lineage, the model artifact), init_from by URI, FAILED runs on
 * errors, no run on bad input, and the CLI: `harvest train` prints the run
 * id, evaluate/recommend take URIs, SIGINT ends the run KILLED.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/synth.h"
#include "model/model.h"
#include "store/db.h"
#include "testutil.h"
#include "track/artifacts.h"
#include "track/runs.h"
#include "train/trainrun.h"
#include "track/uri.h"
#include "util/fsutil.h"

static char home[256], dbpath[512];

/* A small synthetic dataset (ml-100k's shape, scaled down) in a new home. */
static int setup(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  tu_tmpdir(home, sizeof(home));
  snprintf(dbpath, sizeof(dbpath), "%s/harvest.db", home);
  if (db_open(dbpath, &db, &e))
    return -1;
  struct synth_config c;
  synth_defaults(&c);
  c.users = 150;
  c.movies = 200;
  c.ratings = 4000;
  c.days = 30;
  int rc = synth_run(db, &c, NULL, NULL, NULL, &e);
  db_close(db);
  return rc;
}

static int teardown(void **state)
{
  tu_rmtree(home);
  return 0;
}

static void small_config(struct train_config *c)
{
  train_config_tutorial(c);
  c->dim = 8;
  c->batch = 256;
  c->epochs = 3;
  c->threads = 1;
}

static int metric(const struct tracking_run *r, const char *key, double *v,
                  int64_t *step)
{
  for (size_t i = 0; i < r->n_metrics; i++)
    if (!strcmp(r->metrics[i].key, key)) {
      *v = r->metrics[i].value;
      if (step)
        *step = r->metrics[i].step;
      return 1;
    }
  return 0;
}

static size_t count_runs(struct hv_db *db)
{
  struct hv_err e = {0};
  struct tracking_run *rs = NULL;
  size_t n = 0;
  struct runs_query q = {0};
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  runs_free(rs, n);
  return n;
}

/* ---- config fields by name ------------------------------------------------ */

static void test_config_set(void **state)
{
  static const struct {
    const char *key, *value;
    int rc;
    const char *msg; /* substring of the error, or NULL */
  } cases[] = {
      {"dim", "32", 0, NULL},
      {"lr", "0.01", 0, NULL},
      {"optimizer", "adam", 0, NULL},
      {"eval-every", "2", 0, NULL},
      {"remove-accidental-hits", "yes", 0, NULL},
      {"features", "off", 0, NULL},
      {"ratings", "10:500", 0, NULL},
      {"seed", "7", 0, NULL},
      {"init_scale", "0.1", 0, NULL},
      {"lr", "x", HV_EINVAL, "lr: 'x' is not a number"},
      {"lr", "nan", HV_EINVAL, "lr"},
      {"lr", "", HV_EINVAL, "empty"},
      {"dim", "0", HV_EINVAL, "out of range"},
      {"dim", "2000", HV_EINVAL, "out of range"},
      {"dim", "3.5", HV_EINVAL, "not an integer"},
      {"split", "1.5", HV_EINVAL, "out of range"},
      {"features", "maybe", HV_EINVAL, "true/false"},
      {"optimizer", "sgd", HV_EINVAL, "adagrad or adam"},
      {"ratings", "5:1", HV_EINVAL, "after"},
      {"ratings", "5", HV_EINVAL, "FIRST:LAST"},
      {"nope", "1", HV_ENOTFOUND, "unknown train setting 'nope'"},
      {"", "1", HV_ENOTFOUND, "unknown"},
      {NULL, "1", HV_ENOTFOUND, "unknown"},
      {"dim", NULL, HV_EINVAL, "empty"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct train_config c, before;
    struct hv_err e = {0};
    train_config_defaults(&c);
    before = c;
    int rc = trainrun_config_set(&c, cases[i].key, cases[i].value, NULL, &e);
    if (rc != cases[i].rc)
      fail_msg("case %zu (%s=%s): rc %d, want %d (%s)", i,
               cases[i].key ? cases[i].key : "NULL",
               cases[i].value ? cases[i].value : "NULL", rc, cases[i].rc,
               e.msg);
    if (rc) {
      assert_memory_equal(&c, &before, sizeof(c)); /* unchanged */
      if (!strstr(e.msg, cases[i].msg))
        fail_msg("case %zu: message '%s' lacks '%s'", i, e.msg,
                 cases[i].msg);
    }
  }
  struct train_config c;
  struct hv_err e = {0};
  train_config_defaults(&c);
  assert_int_equal(trainrun_config_set(&c, "ratings", "10:500", NULL, &e), 0);
  assert_int_equal(c.first_rating_id, 10);
  assert_int_equal(c.last_rating_id, 500);
  assert_int_equal(trainrun_config_set(&c, "lr", "x", "--grid lr", &e),
                   HV_EINVAL);
  assert_string_equal(e.msg, "--grid lr: 'x' is not a number");
  assert_int_equal(trainrun_config_set(NULL, "lr", "1", NULL, &e),
                   HV_EINVAL);
  assert_string_equal(trainrun_config_key("eval-every"), "eval_every");
  assert_null(trainrun_config_key("bogus"));
  assert_null(trainrun_config_key(NULL));
}

/* Every field prints as text that sets it back to the same value. */
static void test_config_roundtrip(void **state)
{
  struct train_config a, b;
  struct hv_err e = {0};
  train_config_defaults(&a);
  a.lr = 0.001;
  a.l2 = 1.0 / 3;
  a.optimizer = MODEL_OPT_ADAM;
  a.features = 0;
  a.last_rating_id = 123456;
  a.threads = 2;
  train_config_tutorial(&b);
  size_t n = 0;
  for (const char *f; (f = trainrun_config_field(n)); n++) {
    char v[64], w[64];
    assert_int_equal(trainrun_config_get(&a, f, v, sizeof(v)), 0);
    if (trainrun_config_set(&b, f, v, NULL, &e))
      fail_msg("field %s: '%s' does not read back: %s", f, v, e.msg);
    assert_int_equal(trainrun_config_get(&b, f, w, sizeof(w)), 0);
    assert_string_equal(v, w);
  }
  assert_true(n >= 17);
  assert_true(b.lr == a.lr && b.l2 == a.l2);
  char v[64];
  assert_int_equal(trainrun_config_get(&a, "lr", v, sizeof(v)), 0);
  assert_string_equal(v, "0.001");
  assert_int_equal(trainrun_config_get(&a, "nope", v, sizeof(v)),
                   HV_ENOTFOUND);
  assert_int_equal(trainrun_config_get(NULL, "lr", v, sizeof(v)),
                   HV_ENOTFOUND);
}

static void test_metric_names(void **state)
{
  assert_true(trainrun_metric_known("top_100_categorical_accuracy"));
  assert_true(trainrun_metric_known("train_top_100_categorical_accuracy"));
  assert_true(trainrun_metric_known("test_loss"));
  assert_true(trainrun_metric_known("n_train"));
  assert_false(trainrun_metric_known("loss")); /* per-epoch, not final */
  assert_false(trainrun_metric_known("top_7_categorical_accuracy"));
  assert_false(trainrun_metric_known(""));
  assert_false(trainrun_metric_known(NULL));
  assert_true(trainrun_metric_is_test("recall_at_10"));
  assert_false(trainrun_metric_is_test("train_recall_at_10"));
  struct train_result r;
  memset(&r, 0, sizeof(r));
  r.train.top_k[4] = 0.5;
  r.test.top_k[4] = 0.25;
  double v = 0;
  assert_int_equal(trainrun_metric_value(&r, "top_100_categorical_accuracy",
                                         &v), HV_ENOTFOUND); /* no test */
  r.has_test = 1;
  assert_int_equal(trainrun_metric_value(&r, "top_100_categorical_accuracy",
                                         &v), 0);
  assert_true(v == 0.25);
  assert_int_equal(trainrun_metric_value(
                       &r, "train_top_100_categorical_accuracy", &v), 0);
  assert_true(v == 0.5);
  char names[2048];
  trainrun_metric_names(names, sizeof(names));
  assert_non_null(strstr(names, "top_100_categorical_accuracy"));
  assert_non_null(strstr(names, "train_loss"));
}

/* ---- a tracked run -------------------------------------------------------- */

static void test_run_records_everything(void **state)
{
  struct hv_db *db = tu_open_db(dbpath);
  struct hv_err e = {0};
  struct train_config c;
  small_config(&c);
  c.epochs = 4;
  c.eval_every = 1;
  c.last_rating_id = 3000;
  char out[600];
  snprintf(out, sizeof(out), "%s/copy.hvm", home);
  struct trainrun_opts o = {.home = home, .experiment = "exp-a",
                            .run_name = "first", .out_path = out,
                            .keep_model = 1};
  struct trainrun_result r;
  assert_int_equal(trainrun_run(db, &c, &o, &r, &e), 0);
  assert_int_equal(runs_check_id(r.run_id, &e), 0);
  char uri[64];
  snprintf(uri, sizeof(uri), "runs:/%s", r.run_id);
  assert_string_equal(r.model_uri, uri);
  assert_non_null(r.model);
  assert_int_equal(r.train.epochs, 4);

  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(db, r.run_id, &run, &e), 0);
  assert_string_equal(run->status, "FINISHED");
  assert_string_equal(run->experiment, "exp-a");
  assert_string_equal(run->name, "first");
  /* every config field is a param */
  for (size_t i = 0; trainrun_config_field(i); i++) {
    const char *f = trainrun_config_field(i);
    if (!strcmp(f, "ratings"))
      continue;
    char want[64];
    assert_int_equal(trainrun_config_get(&c, f, want, sizeof(want)), 0);
    const char *got = runs_param(run, f);
    if (!got || strcmp(got, want))
      fail_msg("param %s = %s, want %s", f, got ? got : "(missing)", want);
  }
  /* final metrics at step = epochs, by their documented names */
  double v;
  int64_t step;
  assert_true(metric(run, "top_100_categorical_accuracy", &v, &step));
  assert_true(v == r.train.test.top_k[4]);
  assert_int_equal(step, 4);
  assert_true(metric(run, "train_top_10_categorical_accuracy", &v, NULL));
  assert_true(v == r.train.train.top_k[2]);
  assert_true(metric(run, "test_loss", &v, NULL) && v == r.train.test.loss);
  assert_true(metric(run, "n_ratings", &v, NULL));
  assert_true(v == (double)r.train.n_ratings);
  assert_true(metric(run, "loss", &v, &step) && step == 4);
  /* lineage: code, range, rows and the fingerprint of those rows */
  assert_non_null(run->code_version);
  assert_int_equal(run->data_first_rating_id, 0);
  assert_int_equal(run->data_last_rating_id, 3000);
  assert_int_equal(run->data_rows, (int64_t)r.train.n_ratings);
  int64_t rows = 0;
  char sha[65];
  assert_int_equal(runs_fingerprint_data(db, 0, 3000, &rows, sha, &e), 0);
  assert_string_equal(run->data_sha256, sha);
  assert_int_equal(rows, 3000);
  runs_free(run, 1);

  /* per-epoch history: loss and epoch_seconds at steps 1..4; test metrics
   * at steps 1..3 (eval_every 1) and the final one at 4 */
  struct tracking_metric *h = NULL;
  size_t n = 0;
  assert_int_equal(tracking_metric_history(db, r.run_id, "loss", &h, &n, &e),
                   0);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(h[i].step, (int64_t)i + 1);
    assert_true(h[i].value == r.train.epoch_loss[i]);
  }
  tracking_metrics_free(h, n);
  assert_int_equal(tracking_metric_history(db, r.run_id,
                                           "top_10_categorical_accuracy", &h,
                                           &n, &e), 0);
  assert_int_equal(n, 4);
  tracking_metrics_free(h, n);
  assert_int_equal(tracking_metric_history(db, r.run_id, "epoch_seconds", &h,
                                           &n, &e), 0);
  assert_int_equal(n, 4);
  tracking_metrics_free(h, n);

  /* the artifact is the model file: its record has the file's hash, it
   * loads through runs:/ID as the same model, and the --out copy too */
  char model_sha[65], path[4096];
  model_sha256_hex(r.model, model_sha);
  struct tracking_artifact meta;
  assert_int_equal(artifacts_resolve(home, db, r.run_id, ARTIFACTS_MODEL_PATH,
                                     &meta, NULL, 0, &e), 0);
  assert_string_equal(meta.sha256, r.model_sha256);
  assert_string_equal(model_sha, meta.sha256); /* the file's own hash */
  free(meta.path);
  assert_int_equal(uri_resolve(home, db, r.model_uri, path, sizeof(path), &e),
                   0);
  struct hv_model *m = NULL;
  assert_int_equal(model_load(path, &m, &e), 0);
  model_sha256_hex(m, sha);
  assert_string_equal(sha, model_sha);
  model_free(m);
  assert_int_equal(model_load(out, &m, &e), 0);
  model_sha256_hex(m, sha);
  assert_string_equal(sha, model_sha);
  model_free(m);
  trainrun_result_free(&r);
  trainrun_result_free(NULL);
  db_close(db);
}

/* init_from by URI: the stored dim wins, the URI is a param. */
static void test_init_from_uri(void **state)
{
  struct hv_db *db = tu_open_db(dbpath);
  struct hv_err e = {0};
  struct train_config c;
  small_config(&c);
  struct trainrun_opts o = {.home = home};
  struct trainrun_result a, b;
  assert_int_equal(trainrun_run(db, &c, &o, &a, &e), 0);
  assert_null(a.model); /* keep_model off */
  char path[4096], a_sha[65];
  struct hv_model *am = NULL;
  assert_int_equal(uri_resolve(home, db, a.model_uri, path, sizeof(path), &e),
                   0);
  assert_int_equal(model_load(path, &am, &e), 0);
  model_sha256_hex(am, a_sha);
  model_free(am);
  c.dim = 16;           /* ignored: init_from's dim wins */
  c.epochs = 1;
  o.init_from = a.model_uri;
  o.keep_model = 1;
  assert_int_equal(trainrun_run(db, &c, &o, &b, &e), 0);
  assert_int_equal(model_dim(b.model), 8);
  assert_int_equal(b.used.dim, 8);
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(db, b.run_id, &run, &e), 0);
  assert_string_equal(runs_param(run, "dim"), "8");
  assert_string_equal(runs_param(run, "init_from"), a.model_uri);
  assert_string_equal(runs_tag(run, "init_from_sha256"), a_sha);
  assert_string_equal(run->experiment, RUNS_DEFAULT_EXPERIMENT);
  runs_free(run, 1);
  trainrun_result_free(&a);
  trainrun_result_free(&b);
  db_close(db);
}

/* Bad input before the run: no run is created. Errors after: FAILED. */
static void test_bad_input_and_failures(void **state)
{
  struct hv_db *db = tu_open_db(dbpath);
  struct hv_err e = {0};
  struct train_config c;
  small_config(&c);
  struct trainrun_opts o = {.home = home};
  struct trainrun_result r;
  size_t before = count_runs(db);
  assert_int_equal(trainrun_run(NULL, &c, &o, &r, &e), HV_EINVAL);
  assert_int_equal(trainrun_run(db, NULL, &o, &r, &e), HV_EINVAL);
  assert_int_equal(trainrun_run(db, &c, NULL, &r, &e), HV_EINVAL);
  assert_int_equal(trainrun_run(db, &c, &o, NULL, &e), HV_EINVAL);
  struct trainrun_opts nohome = {0};
  assert_int_equal(trainrun_run(db, &c, &nohome, &r, &e), HV_EINVAL);
  struct train_config bad = c;
  bad.lr = NAN;
  assert_int_equal(trainrun_run(db, &bad, &o, &r, &e), HV_EINVAL);
  assert_string_equal(r.run_id, "");
  static const char *const bad_uris[] = {
      "s3://bucket/m", "models:/nope/Production", "runs:/0123",
      "runs:/00000000000000000000000000000000", "/no/such/file.hvm"};
  for (size_t i = 0; i < sizeof(bad_uris) / sizeof(bad_uris[0]); i++) {
    struct trainrun_opts oi = {.home = home, .init_from = bad_uris[i]};
    if (trainrun_run(db, &c, &oi, &r, &e) == 0)
      fail_msg("init_from %s accepted", bad_uris[i]);
    assert_string_equal(r.run_id, "");
  }
  struct trainrun_opts bad_fp = {.home = home, .data_sha256 = "abc"};
  assert_int_equal(trainrun_run(db, &c, &bad_fp, &r, &e), HV_EINVAL);
  struct trainrun_opts bad_name = {.home = home, .run_name = ""};
  assert_int_equal(trainrun_run(db, &c, &bad_name, &r, &e), HV_EINVAL);
  assert_int_equal(count_runs(db), before);

  /* no ratings in the range: the run exists and is FAILED with the error */
  c.first_rating_id = 900000;
  c.last_rating_id = 900010;
  int rc = trainrun_run(db, &c, &o, &r, &e);
  assert_true(rc < 0);
  assert_int_equal(runs_check_id(r.run_id, NULL), 0);
  assert_null(r.model);
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(db, r.run_id, &run, &e), 0);
  assert_string_equal(run->status, "FAILED");
  assert_non_null(runs_tag(run, "harvest.error"));
  assert_int_equal(run->data_rows, 0);
  runs_free(run, 1);
  assert_int_equal(count_runs(db), before + 1);
  db_close(db);
}

/* ---- the command line ----------------------------------------------------- */

static void run_ok(const char *cmd, char *out, size_t cap)
{
  int st = tu_run(cmd, out, cap);
  if (st != 0)
    fail_msg("exit %d: %s", st, cmd);
}

static void test_cli(void **state)
{
  const char *bin = tu_bin();
  if (access(bin, X_OK) != 0)
    skip();
  char cmd[2048], out[1 << 16];
  snprintf(cmd, sizeof(cmd),
           "%s --home %s train --tutorial --dim 8 --batch 256 --epochs 2 "
           "--threads 1 --experiment cli --run-name one --json 2>/dev/null",
           bin, home);
  run_ok(cmd, out, sizeof(out));
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  const char *id = json_string_value(json_object_get(j, "run_id"));
  assert_non_null(id);
  char run_id[33], uri[64];
  snprintf(run_id, sizeof(run_id), "%s", id);
  snprintf(uri, sizeof(uri), "runs:/%s", run_id);
  assert_string_equal(json_string_value(json_object_get(j, "model_uri")), uri);
  assert_int_equal(json_array_size(json_object_get(j, "epoch_seconds")), 2);
  assert_non_null(json_object_get(json_object_get(j, "test"),
                                  "top_100_categorical_accuracy"));
  json_decref(j);
  /* text mode prints the run id */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s train --tutorial --dim 8 --batch 256 --epochs 1 "
           "--threads 1 2>/dev/null", bin, home);
  run_ok(cmd, out, sizeof(out));
  assert_non_null(strstr(out, "run    "));
  assert_non_null(strstr(out, "model  runs:/"));
  /* evaluate and recommend by URI, then register and use models:/ */
  snprintf(cmd, sizeof(cmd), "%s --home %s evaluate --model %s --json", bin,
           home, uri);
  run_ok(cmd, out, sizeof(out));
  assert_non_null(strstr(out, "top_100_categorical_accuracy"));
  assert_non_null(strstr(out, run_id));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s models register --run %s --name cli_model --stage "
           "Production >/dev/null", bin, home, run_id);
  run_ok(cmd, out, sizeof(out));
  static const char *const uris[] = {"models:/cli_model/Production",
                                     "models:/cli_model/1",
                                     "models:/cli_model/latest"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(cmd, sizeof(cmd),
             "%s --home %s recommend --model %s --user 3 -n 4 --json", bin,
             home, uris[i]);
    run_ok(cmd, out, sizeof(out));
    j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "recommendations")),
                     4);
    json_decref(j);
  }
  /* continue from a registry URI */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s train --tutorial --batch 256 --epochs 1 --threads 1 "
           "--init-from models:/cli_model/Production --out %s/m2.hvm --json "
           "2>/dev/null", bin, home, home);
  run_ok(cmd, out, sizeof(out));
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(j, "config"), "dim")), 8);
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s evaluate --model %s/m2.hvm", bin,
           home, home);
  run_ok(cmd, out, sizeof(out));
  /* bad input: exit 2 for usage, 1 for failures */
  static const struct {
    const char *args;
    int status;
  } bad[] = {
      {"train --lr x", 2},
      {"train --experiment ''", 2},
      {"train --dim 0", 2},
      {"train extra", 2},
      {"train --init-from s3://b/m --epochs 1", 1},
      {"train --init-from models:/nope/Production --epochs 1", 1},
      {"evaluate --model models:/nope/1", 1},
      {"evaluate --model runs:/zz", 1},
      {"recommend --model s3://bucket/x --user 1", 1},
      {"recommend --model models:/cli_model@nochamp --user 1", 1},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s >/dev/null 2>&1", bin, home,
             bad[i].args);
    int st = tu_run(cmd, out, sizeof(out));
    if (st != bad[i].status)
      fail_msg("'%s': exit %d, want %d", bad[i].args, st, bad[i].status);
  }
  snprintf(cmd, sizeof(cmd), "%s train --help", bin);
  run_ok(cmd, out, sizeof(out));
  assert_non_null(strstr(out, "--experiment"));
  assert_non_null(strstr(out, "ties count as hits"));
}

/* SIGINT while training: the run ends KILLED and the exit status is 130. */
static void test_sigint_kills_run(void **state)
{
  const char *bin = tu_bin();
  if (access(bin, X_OK) != 0)
    skip();
  char *const argv[] = {(char *)bin, "--home", home, "train", "--tutorial",
                        "--dim", "8", "--batch", "64", "--epochs", "10000",
                        "--threads", "1", "--experiment", "sigint", NULL};
  pid_t pid = tu_spawn_quiet(argv);
  /* wait until the run exists */
  struct hv_db *db = tu_open_db(dbpath);
  struct hv_err e = {0};
  struct runs_query q = {.experiment = "sigint"};
  struct tracking_run *rs = NULL;
  size_t n = 0;
  double t0 = hv_mono();
  for (;;) {
    int rc = runs_search(db, &q, &rs, &n, &e);
    if (rc == 0 && n > 0)
      break;
    runs_free(rs, n);
    rs = NULL;
    n = 0;
    if (hv_mono() - t0 > 60)
      fail_msg("the run never started");
    usleep(20000);
  }
  char id[33];
  memcpy(id, rs[0].run_id, sizeof(id));
  assert_string_equal(rs[0].status, "RUNNING");
  runs_free(rs, n);
  /* no pause: the guard was installed before the run was created */
  assert_int_equal(tu_kill_wait(pid, SIGINT), 128 + SIGINT);
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(db, id, &run, &e), 0);
  assert_string_equal(run->status, "KILLED");
  assert_string_equal(runs_tag(run, "harvest.killed_by"), "SIGINT");
  assert_true(run->end_time > 0);
  runs_free(run, 1);
  db_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_set),
      cmocka_unit_test(test_config_roundtrip),
      cmocka_unit_test(test_metric_names),
      cmocka_unit_test(test_run_records_everything),
      cmocka_unit_test(test_init_from_uri),
      cmocka_unit_test(test_bad_input_and_failures),
      cmocka_unit_test(test_cli),
      cmocka_unit_test(test_sigint_kills_run),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_tune.c - grid search as tracked runs (track/tune.h): grid parsing
 * (good and bad specs, table-driven), the order of combinations, a search
 * with a parent and child runs, ranking both ways, registration into
 * Production (at most one), failing trials, bad input that writes nothing,
 * the `harvest tune` command line, and crash safety: kill -9 at random
 * points of a real `harvest tune --register` loop, then db_check +
 * registry_check + parent/child and artifact consistency + `harvest runs
 * gc` every time (HV_TUNE_KILLS overrides the number of kills, default 12;
 * the kill times come from a seed printed first, HV_TUNE_SEED replays it;
 * after each kill every process of the loop is reaped before the checks).
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/synth.h"
#include "store/db.h"
#include "store/registry_db.h"
#include "testutil.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"
#include "train/trainrun.h"
#include "train/tune.h"
#include "track/uri.h"
#include "util/fsutil.h"
#include "util/rng.h"

static char home[256], dbpath[512];

static int make_home(char *h, size_t cap, char *db_out, size_t db_cap,
                     int64_t ratings)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  tu_tmpdir(h, cap);
  snprintf(db_out, db_cap, "%s/harvest.db", h);
  if (db_open(db_out, &db, &e))
    return -1;
  struct synth_config c;
  synth_defaults(&c);
  c.users = 120;
  c.movies = 150;
  c.ratings = ratings;
  c.days = 20;
  int rc = synth_run(db, &c, NULL, NULL, NULL, &e);
  db_close(db);
  return rc;
}

static int setup(void **state)
{
  return make_home(home, sizeof(home), dbpath, sizeof(dbpath), 3000);
}

static int teardown(void **state)
{
  tu_rmtree(home);
  return 0;
}

static void small_config(struct train_config *c)
{
  train_config_tutorial(c);
  c->dim = 4;
  c->batch = 256;
  c->epochs = 2;
  c->threads = 1;
}

/* ---- grid parsing --------------------------------------------------------- */

static void test_grid_parse(void **state)
{
  static const struct {
    const char *spec;
    int rc;
    const char *msg; /* substring of the error */
  } cases[] = {
      {"dim=16,32,64,128", 0, NULL},
      {"lr=0.001,0.01,0.1", 0, NULL},
      {"eval-every=0,1", 0, NULL},
      {"features=true,false", 0, NULL},
      {"optimizer=adagrad,adam", 0, NULL},
      {"ratings=0:1000,0:2000", 0, NULL},
      {"lr=x", HV_EINVAL, "--grid lr: 'x' is not a number"},
      {"lr=0.1,x", HV_EINVAL, "--grid lr: 'x' is not a number"},
      {"dim=0", HV_EINVAL, "--grid dim: 0 is out of range"},
      {"dim=8.5", HV_EINVAL, "not an integer"},
      {"lr=", HV_EINVAL, "--grid lr: no values"},
      {"lr=0.1,,0.2", HV_EINVAL, "empty value"},
      {"lr=0.1,", HV_EINVAL, "empty value"},
      {"lr=0.1,0.10", HV_EINVAL, "given twice"},
      {"features=maybe", HV_EINVAL, "true/false"},
      {"wings=1,2", HV_EINVAL, "unknown key 'wings'"},
      {"=1,2", HV_EINVAL, "not KEY=V1,V2"},
      {"dim", HV_EINVAL, "not KEY=V1,V2"},
      {"", HV_EINVAL, "not KEY=V1,V2"},
      {"split=0,0.5", HV_EINVAL, "out of range"},
      {"lr=inf", HV_EINVAL, "finite"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct tune_grid g = {0};
    struct hv_err e = {0};
    int rc = tune_grid_add(&g, cases[i].spec, &e);
    if (rc != cases[i].rc)
      fail_msg("'%s': rc %d, want %d (%s)", cases[i].spec, rc, cases[i].rc,
               e.msg);
    if (rc) {
      assert_int_equal(g.n_axes, 0);
      if (!strstr(e.msg, cases[i].msg))
        fail_msg("'%s': message '%s' lacks '%s'", cases[i].spec, e.msg,
                 cases[i].msg);
    } else {
      assert_int_equal(g.n_axes, 1);
    }
    tune_grid_free(&g);
  }
  struct hv_err e = {0};
  struct tune_grid g = {0};
  assert_int_equal(tune_grid_add(NULL, "dim=1", &e), HV_EINVAL);
  assert_int_equal(tune_grid_add(&g, NULL, &e), HV_EINVAL);
  /* a repeated key, or ratings against its parts */
  assert_int_equal(tune_grid_add(&g, "dim=8,16", &e), 0);
  assert_int_equal(tune_grid_add(&g, "dim=32", &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "given twice"));
  assert_int_equal(tune_grid_add(&g, "ratings=0:10", &e), 0);
  assert_int_equal(tune_grid_add(&g, "last-rating-id=5", &e), HV_EINVAL);
  /* too many combinations: 2 x 1 x 501 > 1000 */
  char big[8192];
  size_t o = (size_t)snprintf(big, sizeof(big), "seed=");
  for (int i = 0; i < 501; i++)
    o += (size_t)snprintf(big + o, sizeof(big) - o, "%s%d", i ? "," : "", i);
  assert_int_equal(tune_grid_add(&g, big, &e), HV_ETOOBIG);
  assert_non_null(strstr(e.msg, "limit of 1000"));
  assert_int_equal(g.n_axes, 2);
  /* too many values in one key */
  struct tune_grid g2 = {0};
  o = (size_t)snprintf(big, sizeof(big), "seed=");
  for (int i = 0; i < 1001; i++)
    o += (size_t)snprintf(big + o, sizeof(big) - o, "%s%d", i ? "," : "", i);
  assert_int_equal(tune_grid_add(&g2, big, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "more than 1000 values"));
  tune_grid_free(&g);
  tune_grid_free(&g2);
  tune_grid_free(NULL);
  assert_int_equal(tune_grid_size(NULL), 1);
}

/* The first axis varies slowest; labels list the values as given. */
static void test_grid_order(void **state)
{
  struct tune_grid g = {0};
  struct hv_err e = {0};
  assert_int_equal(tune_grid_add(&g, "dim=16,32,64,128", &e), 0);
  assert_int_equal(tune_grid_add(&g, "lr=0.001,0.01,0.1", &e), 0);
  assert_int_equal(tune_grid_size(&g), 12);
  static const int dims[] = {16, 32, 64, 128};
  static const double lrs[] = {0.001, 0.01, 0.1};
  for (size_t i = 0; i < 12; i++) {
    struct train_config c;
    char label[64], want[64];
    train_config_defaults(&c);
    assert_int_equal(tune_grid_apply(&g, i, &c, label, sizeof(label), &e), 0);
    assert_int_equal(c.dim, dims[i / 3]);
    assert_true(c.lr == lrs[i % 3]);
    snprintf(want, sizeof(want), "dim=%d lr=%g", dims[i / 3], lrs[i % 3]);
    assert_string_equal(label, want);
  }
  struct train_config c;
  train_config_defaults(&c);
  assert_int_equal(tune_grid_apply(&g, 12, &c, NULL, 0, &e), HV_EINVAL);
  assert_int_equal(tune_grid_apply(NULL, 0, &c, NULL, 0, &e), HV_EINVAL);
  tune_grid_free(&g);
}

/* ---- a search ------------------------------------------------------------- */

static int progress_calls, progress_done;
static void on_progress(void *ud, const struct tune_progress *p)
{
  progress_calls++;
  assert_true(p->index < p->total);
  assert_non_null(p->label);
  if (p->phase == TUNE_TRIAL_DONE) {
    progress_done++;
    assert_int_equal(p->done, (size_t)progress_done);
    assert_false(isnan(p->eta));
  }
}

static void test_search_and_register(void **state)
{
  struct hv_db *db = tu_open_db(dbpath);
  struct hv_err e = {0};
  struct train_config base;
  small_config(&base);
  struct tune_grid g = {0};
  assert_int_equal(tune_grid_add(&g, "dim=4,8", &e), 0);
  assert_int_equal(tune_grid_add(&g, "lr=0.05,0.2", &e), 0);
  struct tune_opts o = {.home = home, .experiment = "t1",
                        .register_name = "tuned", .stage = "Production",
                        .progress = on_progress};
  struct tune_result r;
  progress_calls = progress_done = 0;
  assert_int_equal(tune_run(db, &base, &g, &o, &r, &e), 0);
  assert_int_equal(r.n_trials, 4);
  assert_int_equal(r.n_failed, 0);
  assert_int_equal(progress_done, 4);
  assert_true(progress_calls >= 4 * (2 + base.epochs));
  /* sorted best first, by the default metric, higher is better */
  for (size_t k = 1; k < r.n_trials; k++)
    assert_true(r.trials[r.order[k - 1]].value >=
                r.trials[r.order[k]].value);
  assert_int_equal(r.best, r.order[0]);
  /* the store agrees: parent and children */
  struct tracking_run *p = NULL;
  assert_int_equal(runs_get(db, r.parent_run_id, &p, &e), 0);
  assert_string_equal(p->status, "FINISHED");
  assert_null(p->parent_run_id);
  assert_string_equal(runs_param(p, "grid.dim"), "4,8");
  assert_string_equal(runs_param(p, "grid.lr"), "0.05,0.2");
  assert_string_equal(runs_param(p, "base.epochs"), "2");
  assert_null(runs_param(p, "base.dim"));
  assert_string_equal(runs_tag(p, "best_run_id"), r.trials[r.best].run_id);
  assert_string_equal(runs_tag(p, "registered_version"), "1");
  assert_true(runs_metric(p, TUNE_DEFAULT_METRIC) == r.best_value);
  assert_true(p->data_rows == 3000 && p->data_sha256);
  double best = -1;
  char best_id[33] = "";
  for (size_t i = 0; i < r.n_trials; i++) {
    struct tracking_run *c = NULL;
    assert_int_equal(runs_get(db, r.trials[i].run_id, &c, &e), 0);
    assert_string_equal(c->status, "FINISHED");
    assert_string_equal(c->parent_run_id, r.parent_run_id);
    assert_string_equal(c->name, r.trials[i].label);
    assert_string_equal(c->experiment, "t1");
    assert_string_equal(c->data_sha256, p->data_sha256);
    double v = runs_metric(c, TUNE_DEFAULT_METRIC);
    assert_true(v == r.trials[i].value);
    if (v > best) {
      best = v;
      memcpy(best_id, c->run_id, 33);
    }
    runs_free(c, 1);
  }
  assert_true(best == r.best_value);
  runs_free(p, 1);
  /* registered best in Production, resolvable by URI */
  struct uri_target t;
  assert_int_equal(uri_resolve_ex(home, db, "models:/tuned/Production", &t,
                                  &e), 0);
  assert_int_equal(t.version, 1);
  assert_string_equal(t.run_id, r.trials[r.best].run_id);
  assert_string_equal(r.registered_stage, "Production");
  tune_result_free(&r);

  /* again, ranking by the test loss (lower is better): the new best goes
   * to Production, the old version is archived */
  o.metric = "test_loss";
  o.ascending = 1;
  o.progress = NULL;
  o.experiment = NULL;
  /* without archive_existing: refused before any trial (as transition) */
  assert_int_equal(tune_run(db, &base, &g, &o, &r, &e), HV_ECONFLICT);
  assert_non_null(strstr(e.msg, "already has version 1 in Production"));
  o.archive_existing = 1;
  assert_int_equal(tune_run(db, &base, &g, &o, &r, &e), 0);
  for (size_t k = 1; k < r.n_trials; k++)
    assert_true(r.trials[r.order[k - 1]].value <=
                r.trials[r.order[k]].value);
  assert_int_equal(r.registered_version, 2);
  assert_int_equal(uri_resolve_ex(home, db, "models:/tuned/Production", &t,
                                  &e), 0);
  assert_int_equal(t.version, 2);
  assert_int_equal(uri_resolve_ex(home, db, "models:/tuned/1", &t, &e), 0);
  assert_string_equal(t.stage, "Archived");
  assert_int_equal(registry_check(home, db, &e), 0);
  struct tracking_run *p2 = NULL;
  assert_int_equal(runs_get(db, r.parent_run_id, &p2, &e), 0);
  assert_string_equal(p2->experiment, TUNE_DEFAULT_EXPERIMENT);
  runs_free(p2, 1);
  tune_result_free(&r);
  tune_result_free(NULL);
  tune_grid_free(&g);
  db_close(db);
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

/* Bad input writes nothing; failing trials are FAILED, the rest go on. */
static void test_bad_input_and_failing_trials(void **state)
{
  struct hv_db *db = tu_open_db(dbpath);
  struct hv_err e = {0};
  struct train_config base;
  small_config(&base);
  struct tune_grid g = {0}, empty = {0};
  assert_int_equal(tune_grid_add(&g, "lr=0.05,0.1", &e), 0);
  struct tune_opts o = {.home = home};
  struct tune_result r;
  size_t before = count_runs(db);
  assert_int_equal(tune_run(NULL, &base, &g, &o, &r, &e), HV_EINVAL);
  assert_int_equal(tune_run(db, NULL, &g, &o, &r, &e), HV_EINVAL);
  assert_int_equal(tune_run(db, &base, NULL, &o, &r, &e), HV_EINVAL);
  assert_int_equal(tune_run(db, &base, &g, NULL, &r, &e), HV_EINVAL);
  assert_int_equal(tune_run(db, &base, &g, &o, NULL, &e), HV_EINVAL);
  assert_int_equal(tune_run(db, &base, &empty, &o, &r, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "--grid"));
  struct tune_opts bad = o;
  bad.metric = "accuracy";
  assert_int_equal(tune_run(db, &base, &g, &bad, &r, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "unknown metric 'accuracy'"));
  bad = o;
  bad.stage = "Prod";
  bad.register_name = "x";
  assert_true(tune_run(db, &base, &g, &bad, &r, &e) < 0);
  bad = o;
  bad.register_name = "bad name!";
  assert_true(tune_run(db, &base, &g, &bad, &r, &e) < 0);
  bad = o;
  bad.init_from = "models:/none/Production";
  assert_true(tune_run(db, &base, &g, &bad, &r, &e) < 0);
  struct train_config nosplit = base;
  nosplit.split = 1;
  assert_int_equal(tune_run(db, &nosplit, &g, &o, &r, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "no test split"));
  struct train_config badbase = base;
  badbase.temperature = -1;
  assert_int_equal(tune_run(db, &badbase, &g, &o, &r, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "trial 'lr=0.05'"));
  assert_int_equal(count_runs(db), before);
  assert_string_equal(r.parent_run_id, "");

  /* one trial has no data: FAILED, the search goes on */
  struct tune_grid g2 = {0};
  assert_int_equal(tune_grid_add(&g2, "ratings=0:2000,800000:800100", &e), 0);
  assert_int_equal(tune_run(db, &base, &g2, &o, &r, &e), 0);
  assert_int_equal(r.n_trials, 2);
  assert_int_equal(r.n_failed, 1);
  assert_int_equal(r.order[1], 1); /* the failed trial ranks last */
  assert_true(r.trials[1].failed && isnan(r.trials[1].value));
  assert_true(r.trials[1].error[0] != '\0');
  struct tracking_run *c = NULL;
  assert_int_equal(runs_get(db, r.trials[1].run_id, &c, &e), 0);
  assert_string_equal(c->status, "FAILED");
  runs_free(c, 1);
  assert_int_equal(runs_get(db, r.parent_run_id, &c, &e), 0);
  assert_string_equal(c->status, "FINISHED");
  assert_true(runs_metric(c, "n_failed") == 1);
  assert_int_equal(c->data_rows, -1); /* trials differ in their data */
  runs_free(c, 1);
  tune_result_free(&r);
  /* every trial fails: the parent is FAILED and the error returned */
  struct tune_grid g3 = {0};
  assert_int_equal(tune_grid_add(&g3, "ratings=800000:800100,900000:900001",
                                 &e), 0);
  assert_true(tune_run(db, &base, &g3, &o, &r, &e) < 0);
  assert_non_null(strstr(e.msg, "every trial failed"));
  assert_int_equal(runs_check_id(r.parent_run_id, NULL), 0);
  assert_int_equal(runs_get(db, r.parent_run_id, &c, &e), 0);
  assert_string_equal(c->status, "FAILED");
  runs_free(c, 1);
  tune_result_free(&r);
  tune_grid_free(&g);
  tune_grid_free(&g2);
  tune_grid_free(&g3);
  db_close(db);
}

/* ---- the command line ----------------------------------------------------- */

static void test_cli(void **state)
{
  const char *bin = tu_bin();
  if (access(bin, X_OK) != 0)
    skip();
  char cmd[2048], out[1 << 16];
  static const struct {
    const char *args, *msg;
    int status;
  } bad[] = {
      {"tune --epochs 1", "at least one --grid", 2},
      {"tune --grid lr=x", "--grid lr: 'x' is not a number", 2},
      {"tune --grid wings=1", "unknown key 'wings'", 2},
      {"tune --grid lr=", "no values", 2},
      {"tune --grid dim=8 --grid dim=16", "given twice", 2},
      {"tune --grid dim=8 --metric accuracy", "unknown metric", 2},
      {"tune --grid dim=8 --order up", "asc or desc", 2},
      {"tune --grid dim=8 --stage Production", "needs --register", 2},
      {"tune --grid dim=8 --register x --stage Prod", "--stage", 2},
      {"tune --grid dim=8 --register x --archive-existing", "needs --stage",
       2},
      {"tune --grid dim=8 --split 1", "no test split", 2},
      {"tune --grid dim=8 --lr zz", "--lr", 2},
      {"tune --grid dim=8 extra", "unexpected", 2},
      {"tune --grid dim=8 --init-from models:/none/1 --epochs 1", "none", 1},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s 2>&1 >/dev/null", bin, home,
             bad[i].args);
    int st = tu_run(cmd, out, sizeof(out));
    if (st != bad[i].status || !strstr(out, bad[i].msg))
      fail_msg("'%s': exit %d (want %d), stderr '%s' (want '%s')",
               bad[i].args, st, bad[i].status, out, bad[i].msg);
  }
  snprintf(cmd, sizeof(cmd),
           "%s --home %s tune --grid dim=4,8 --grid lr=0.05,0.1 --tutorial "
           "--batch 256 --epochs 2 --threads 1 --experiment cli --register "
           "cli_tuned --stage Production --json 2>/dev/null", bin, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  json_t *trials = json_object_get(j, "trials");
  assert_int_equal(json_array_size(trials), 4);
  double prev = INFINITY;
  for (size_t i = 0; i < 4; i++) {
    json_t *t = json_array_get(trials, i);
    double v = json_real_value(json_object_get(t, "value"));
    assert_true(v <= prev);
    prev = v;
    assert_int_equal(json_integer_value(json_object_get(t, "rank")),
                     (json_int_t)i + 1);
  }
  const char *best = json_string_value(
      json_object_get(json_object_get(j, "best"), "run_id"));
  assert_string_equal(best, json_string_value(json_object_get(
                                json_array_get(trials, 0), "run_id")));
  json_t *reg = json_object_get(j, "registered");
  assert_string_equal(json_string_value(json_object_get(reg, "stage")),
                      "Production");
  char best_id[33];
  snprintf(best_id, sizeof(best_id), "%s", best);
  json_decref(j);
  /* text table and the registered model */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model models:/cli_tuned/Production "
           "--user 2 -n 3 --json", bin, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd),
           "%s --home %s models show cli_tuned --json", bin, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, best_id));
  /* the rule of models transition: another Production version is refused
   * without --archive-existing, before any trial runs */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s tune --grid dim=4 --tutorial --batch 256 --epochs 1 "
           "--threads 1 --experiment refused --register cli_tuned --stage "
           "Production 2>&1", bin, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "already has version 1 in Production"));
  assert_non_null(strstr(out, "--archive-existing"));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s runs list --json 2>&1", bin, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_null(strstr(out, "refused")); /* no parent run was started */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s tune --grid dim=4 --tutorial --batch 256 --epochs 1 "
           "--threads 1 --register cli_tuned --stage Production "
           "--archive-existing --json 2>/dev/null", bin, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "%s --home %s models show cli_tuned --json", bin,
           home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  json_t *vs = json_object_get(j, "versions");
  assert_int_equal(json_array_size(vs), 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *v = json_array_get(vs, i);
    int ver = (int)json_integer_value(json_object_get(v, "version"));
    assert_string_equal(json_string_value(json_object_get(v, "stage")),
                        ver == 1 ? "Archived" : "Production");
  }
  json_decref(j);
  snprintf(cmd, sizeof(cmd),
           "%s --home %s tune --grid seed=1,2 --tutorial --dim 4 --batch 256 "
           "--epochs 1 --threads 1 --metric train_loss --order asc "
           "2>/dev/null", bin, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "parent run "));
  assert_non_null(strstr(out, "train_loss"));
  assert_non_null(strstr(out, "best  "));
  snprintf(cmd, sizeof(cmd), "%s tune --help", bin);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "--grid KEY=V1,V2"));
}

/* Ctrl-C during a tune: the running child and the parent end KILLED. */
static void test_sigint(void **state)
{
  const char *bin = tu_bin();
  if (access(bin, X_OK) != 0)
    skip();
  char *const argv[] = {(char *)bin, "--home", home, "tune", "--grid",
                        "lr=0.05,0.1", "--tutorial", "--dim", "4", "--batch",
                        "64", "--epochs", "10000", "--threads", "1",
                        "--experiment", "sigint", NULL};
  pid_t pid = tu_spawn_quiet(argv);
  struct hv_db *db = tu_open_db(dbpath);
  struct hv_err e = {0};
  struct runs_query q = {.experiment = "sigint"};
  struct tracking_run *rs = NULL;
  size_t n = 0;
  double t0 = hv_mono();
  for (;;) { /* until the parent and the first child exist */
    if (runs_search(db, &q, &rs, &n, &e) == 0 && n >= 2)
      break;
    runs_free(rs, n);
    rs = NULL;
    n = 0;
    if (hv_mono() - t0 > 60)
      fail_msg("the tune never started a child");
    usleep(20000);
  }
  runs_free(rs, n);
  assert_int_equal(tu_kill_wait(pid, SIGINT), 128 + SIGINT);
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(rs[i].status, "KILLED");
    assert_string_equal(runs_tag(&rs[i], "harvest.killed_by"), "SIGINT");
  }
  runs_free(rs, n);
  db_close(db);
}

/* ---- crash safety --------------------------------------------------------- */

static char chome[256], cdb[512];

/* RUNNING runs all have a dead owner; `harvest runs gc` marks exactly them
 * FAILED; none is left RUNNING. */
static void check_gc(int k)
{
  struct hv_err e = {0};
  struct hv_db *db = tu_open_db(cdb);
  struct tracking_run *rs = NULL;
  size_t n = 0;
  struct runs_query q = {.filter = "attributes.status = 'RUNNING'"};
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  for (size_t i = 0; i < n; i++)
    if (runs_owner_state(&rs[i]) != RUNS_OWNER_DEAD)
      fail_msg("kill %d: RUNNING run %s has a live owner", k, rs[i].run_id);
  runs_free(rs, n);
  db_close(db);
  char cmd[1024], out[16384];
  snprintf(cmd, sizeof(cmd), "%s --home %s runs gc --json", tu_bin(), chome);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_array_size(json_object_get(j, "marked_failed")), n);
  json_decref(j);
  db = tu_open_db(cdb);
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  assert_int_equal(n, 0);
  runs_free(rs, n);
  db_close(db);
}

/* Every run's parent exists and is a top-level run; every artifact
 * verifies; returns the number of FINISHED children. */
static size_t check_runs(int k)
{
  struct hv_err e = {0};
  struct hv_db *db = tu_open_db(cdb);
  if (registry_check(chome, db, &e))
    fail_msg("kill %d: registry: %s", k, e.msg);
  struct tracking_run *rs = NULL;
  size_t n = 0, finished = 0;
  struct runs_query q = {0};
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  for (size_t i = 0; i < n; i++) {
    if (rs[i].parent_run_id) {
      struct tracking_run *p = NULL;
      if (runs_get(db, rs[i].parent_run_id, &p, &e))
        fail_msg("kill %d: run %s: parent %s missing", k, rs[i].run_id,
                 rs[i].parent_run_id);
      assert_null(p->parent_run_id);
      runs_free(p, 1);
      finished += !strcmp(rs[i].status, "FINISHED");
    }
    struct tracking_artifact *a = NULL;
    size_t na = 0;
    assert_int_equal(artifacts_list(db, rs[i].run_id, &a, &na, &e), 0);
    if (!strcmp(rs[i].status, "FINISHED") && rs[i].parent_run_id && na != 1)
      fail_msg("kill %d: FINISHED child %s has %zu artifacts", k,
               rs[i].run_id, na);
    for (size_t m = 0; m < na; m++)
      if (artifacts_resolve(chome, db, rs[i].run_id, a[m].path, NULL, NULL,
                            0, &e))
        fail_msg("kill %d: run %s artifact %s: %s", k, rs[i].run_id,
                 a[m].path, e.msg);
    tracking_artifacts_free(a, na);
  }
  runs_free(rs, n);
  db_close(db);
  return finished;
}

static pid_t spawn_tune_loop(void)
{
  char script[4096];
  snprintf(script, sizeof(script),
           "while :; do %s --home %s tune --grid dim=4,8 --grid "
           "lr=0.05,0.1 --tutorial --batch 256 --epochs 2 --threads 1 "
           "--register crash_tuned --stage Production --archive-existing "
           ">/dev/null 2>&1; done",
           tu_bin(), chome);
  return tu_spawn_sh(script);
}

static void test_kill_during_tune(void **state)
{
  if (access(tu_bin(), X_OK) != 0)
    skip();
  const char *env = getenv("HV_TUNE_KILLS");
  int kills = env && atoi(env) > 0 ? atoi(env) : 12;
  struct rng_xo rng;
  rng_xo_seed(&rng, tu_seed("HV_TUNE_SEED"));
  tu_subreaper();
  assert_int_equal(make_home(chome, sizeof(chome), cdb, sizeof(cdb), 2000),
                   0);
  /* how long one tune takes here, to spread the kills over it */
  char cmd[2048], out[4096];
  snprintf(cmd, sizeof(cmd),
           "%s --home %s tune --grid dim=4,8 --grid lr=0.05,0.1 --tutorial "
           "--batch 256 --epochs 2 --threads 1 --register crash_tuned --stage "
           "Production --archive-existing >/dev/null 2>&1", tu_bin(), chome);
  double t0 = hv_mono();
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  double one = hv_mono() - t0;
  print_message("%d kills, one tune %.2f s\n", kills, one);
  size_t finished = 0;
  for (int k = 0; k < kills; k++) {
    pid_t pid = spawn_tune_loop();
    useconds_t max_us = (useconds_t)(one * 3e6) + 20000;
    /* the kill point (the experiment, not a wait for anything) */
    usleep(5000 + (useconds_t)(rng_xo_u64(&rng) % max_us));
    int st = tu_kill_group(pid); /* the loop and every harvest of it */
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    finished = check_runs(k);
    check_gc(k);
  }
  struct hv_err e = {0};
  struct hv_db *db = tu_open_db(cdb);
  struct registry_model m;
  assert_int_equal(registry_db_get(db, "crash_tuned", &m, &e), 0);
  int prod = 0;
  for (size_t i = 0; i < m.n_versions; i++)
    prod += !strcmp(m.versions[i].stage, "Production");
  assert_int_equal(prod, 1);
  print_message("%zu versions, %zu finished child runs\n", m.n_versions,
                finished);
  registry_db_model_free(&m);
  db_close(db);
  assert_true(finished > 4); /* the victims made progress */
  tu_rmtree(chome);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grid_parse),
      cmocka_unit_test(test_grid_order),
      cmocka_unit_test(test_search_and_register),
      cmocka_unit_test(test_bad_input_and_failing_trials),
      cmocka_unit_test(test_cli),
      cmocka_unit_test(test_sigint),
      cmocka_unit_test(test_kill_during_tune),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

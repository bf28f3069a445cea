/*
 * test_seed_flow.c - the seed's MLflow flow, scripted end to end on
 * Harvest: tune 12 configurations (dim 16,32,64,128 x lr 0.001,0.01,0.1)
 * for 5 epochs on rating_ids 0..50000 of ml-100k, register the best by
 * top_100_categorical_accuracy into Production, load it back by the URI
 * models:/harvest_recommender/Production and recommend for a user, through
 * the library and through the `harvest` binary. The ml-100k case skips
 * cleanly without /work/shared; the same flow runs on a small synthetic
 * dataset always, so CI without the shared data still tests it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/import.h"
#include "data/synth.h"
#include "model/model.h"
#include "store/db.h"
#include "testutil.h"
#include "track/registry.h"
#include "track/runs.h"
#include "train/tune.h"
#include "track/uri.h"
#include "util/fsutil.h"

#define EXPERIMENT "seed_flow"

/* The best FINISHED child of parent by the metric, from the store. */
static void best_child(struct hv_db *db, const char *parent, char id[33],
                       double *value, size_t *children)
{
  struct hv_err e = {0};
  struct tracking_run *rs = NULL;
  size_t n = 0;
  struct runs_query q = {.experiment = EXPERIMENT};
  assert_int_equal(runs_search(db, &q, &rs, &n, &e), 0);
  *value = -1;
  *children = 0;
  for (size_t i = 0; i < n; i++) {
    if (!rs[i].parent_run_id || strcmp(rs[i].parent_run_id, parent))
      continue;
    (*children)++;
    assert_string_equal(rs[i].status, "FINISHED");
    double v = runs_metric(&rs[i], TUNE_DEFAULT_METRIC);
    assert_false(isnan(v));
    if (v > *value) {
      *value = v;
      memcpy(id, rs[i].run_id, 33);
    }
  }
  runs_free(rs, n);
}

/* Tune, register, load back by URI, recommend for user. */
static void seed_flow(const char *home, struct hv_db *db, int64_t last,
                      int64_t rows, int64_t user)
{
  struct hv_err e = {0};
  struct train_config base;
  train_config_tutorial(&base); /* the seed's model: TFRS tutorial */
  base.epochs = 5;
  base.threads = 1;
  base.first_rating_id = 0;
  base.last_rating_id = last;
  struct tune_grid g = {0};
  assert_int_equal(tune_grid_add(&g, "dim=16,32,64,128", &e), 0);
  assert_int_equal(tune_grid_add(&g, "lr=0.001,0.01,0.1", &e), 0);
  struct tune_opts o = {.home = home, .experiment = EXPERIMENT,
                        .metric = "top_100_categorical_accuracy",
                        .register_name = REGISTRY_DEFAULT_MODEL,
                        .stage = "Production"};
  struct tune_result r;
  double t0 = hv_mono();
  if (tune_run(db, &base, &g, &o, &r, &e))
    fail_msg("tune: %s", e.msg);
  print_message("12 trials, 5 epochs each, on %lld ratings: %.2f s; best "
                "%s top_100 %.4f\n", (long long)rows, hv_mono() - t0,
                r.trials[r.best].label, r.best_value);
  assert_int_equal(r.n_trials, 12);
  assert_int_equal(r.n_failed, 0);
  /* the store agrees on the best child */
  char best_id[33];
  double best = 0;
  size_t children = 0;
  best_child(db, r.parent_run_id, best_id, &best, &children);
  assert_int_equal(children, 12);
  assert_string_equal(best_id, r.trials[r.best].run_id);
  assert_true(best == r.best_value);
  char reg_id[33];
  double reg_v = 0;
  assert_int_equal(registry_best_run(db, EXPERIMENT, TUNE_DEFAULT_METRIC, 1,
                                     NULL, reg_id, &reg_v, &e), 0);
  assert_true(reg_v == best);
  /* every child trained on the same 0..last rows */
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(db, best_id, &run, &e), 0);
  assert_int_equal(run->data_rows, rows);
  assert_int_equal(run->data_last_rating_id, last);
  assert_string_equal(runs_param(run, "epochs"), "5");
  int best_dim = atoi(runs_param(run, "dim"));
  runs_free(run, 1);
  /* registered in Production; load it back by URI */
  const char *uri = "models:/" REGISTRY_DEFAULT_MODEL "/Production";
  struct uri_target t;
  assert_int_equal(uri_resolve_ex(home, db, uri, &t, &e), 0);
  assert_string_equal(t.run_id, best_id);
  assert_string_equal(t.stage, "Production");
  assert_int_equal(t.version, r.registered_version);
  assert_int_equal(registry_check(home, db, &e), 0);
  struct hv_model *m = NULL;
  assert_int_equal(model_load(t.path, &m, &e), 0);
  assert_int_equal(model_dim(m), best_dim);
  /* recommend */
  int64_t ids[10];
  float sc[10];
  float *scratch = malloc(model_scratch_size(m) * sizeof(float));
  assert_non_null(scratch);
  int got = model_recommend(m, user, 10, NULL, 0, ids, sc, scratch, &e);
  assert_int_equal(got, 10);
  for (int i = 0; i < got; i++) {
    assert_true(model_knows_movie(m, ids[i]));
    for (int k = 0; k < i; k++)
      assert_true(ids[k] != ids[i]);
    if (i)
      assert_true(sc[i - 1] >= sc[i]);
  }
  free(scratch);
  model_free(m);
  /* the same through the binary, as a user would */
  const char *bin = tu_bin();
  if (access(bin, X_OK) == 0) {
    char cmd[2048], out[1 << 15];
    snprintf(cmd, sizeof(cmd),
             "%s --home %s recommend --model %s --user %lld -n 10 "
             "--include-rated --json",
             bin, home, uri, (long long)user);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    json_t *recs = json_object_get(j, "recommendations");
    assert_int_equal(json_array_size(recs), 10);
    for (size_t i = 0; i < 10; i++)
      assert_int_equal(json_integer_value(json_object_get(
                           json_array_get(recs, i), "movie_id")), ids[i]);
    json_decref(j);
  }
  tune_result_free(&r);
  tune_grid_free(&g);
}

static void test_seed_flow_ml100k(void **state)
{
  char data[512], home[256], path[512];
  if (!tu_shared("data/ml-100k", data, sizeof(data)))
    skip();
  tu_tmpdir(home, sizeof(home));
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  if (import_dataset(db, "ml-100k", data, 0, NULL, &e))
    fail_msg("import: %s", e.msg);
  seed_flow(home, db, 50000, 50000, 1);
  db_close(db);
  tu_rmtree(home);
}

static void test_seed_flow_synthetic(void **state)
{
  char home[256], path[512];
  tu_tmpdir(home, sizeof(home));
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  struct synth_config c;
  synth_defaults(&c);
  c.users = 300;
  c.movies = 400;
  c.ratings = 10000;
  c.days = 60;
  assert_int_equal(synth_run(db, &c, NULL, NULL, NULL, &e), 0);
  seed_flow(home, db, 6000, 6000, 1);
  db_close(db);
  tu_rmtree(home);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed_flow_synthetic),
      cmocka_unit_test(test_seed_flow_ml100k),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_retrain.c - the retraining service (monitor/retrain.h) on a
 * synthetic dataset with a sudden drift: decisions logged as runs whether
 * or not they retrain, dry runs, stateful vs from-scratch challengers
 * (same held-out slice; the stateful one trains on fewer ratings),
 * champion/challenger with a margin, promotion moving stage and aliases,
 * the audit log, train_run's extra (replay) rating ids, the CLI, and bad
 * input.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/synth.h"
#include "model/model.h"
#include "retrain/retrain.h"
#include "store/db.h"
#include "store/registry_db.h"
#include "store/ratings.h"
#include "track/registry.h"
#include "track/runs.h"
#include "track/uri.h"
#include "train/dataset.h"
#include "train/trainrun.h"

#define MODEL "rt_model"

struct home {
  char dir[256];
  struct hv_db *db;
  struct synth_result syn;
  int64_t L; /* end of the first model's training data */
};

/* A home with a synth dataset (sudden drift at the middle) and version 1
 * of MODEL in Production, trained on the ratings before the drift. */
static void home_open(struct home *h)
{
  char path[512];
  struct hv_err e = {0};
  tu_tmpdir(h->dir, sizeof(h->dir));
  snprintf(path, sizeof(path), "%s/artifacts", h->dir);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/harvest.db", h->dir);
  assert_int_equal(db_open(path, &h->db, &e), 0);
  struct synth_config c;
  synth_defaults(&c);
  c.users = 300;
  c.movies = 300;
  c.ratings = 16000;
  c.days = 56;
  c.seed = 11;
  c.drift = SYNTH_DRIFT_SUDDEN;
  if (synth_run(h->db, &c, NULL, NULL, &h->syn, &e))
    fail_msg("synth_run: %s", e.msg);
  h->L = h->syn.drift_first_rating_id - 1;
  struct train_config tc;
  train_config_defaults(&tc);
  tc.epochs = 4;
  tc.dim = 32;
  tc.last_rating_id = h->L;
  struct trainrun_opts o = {0};
  o.home = h->dir;
  struct trainrun_result tr;
  if (trainrun_run(h->db, &tc, &o, &tr, &e))
    fail_msg("trainrun_run: %s", e.msg);
  struct registry_register_opts ro = {0};
  ro.name = MODEL;
  ro.run_id = tr.run_id;
  ro.stage = "Production";
  int v = 0;
  assert_int_equal(registry_register(h->dir, h->db, &ro, &v, &e), 0);
  assert_int_equal(v, 1);
  trainrun_result_free(&tr);
}

static void home_close(struct home *h)
{
  db_close(h->db);
  tu_rmtree(h->dir);
}

static void opts_for(struct retrain_opts *o, const struct home *h,
                     const struct policy *p)
{
  retrain_opts_defaults(o);
  o->home = h->dir;
  o->model_name = MODEL;
  o->policy = p;
  o->epochs = 3;
  o->who = "test";
}

static double metric_of(const struct tracking_run *r, const char *k)
{
  for (size_t i = 0; i < r->n_metrics; i++)
    if (!strcmp(r->metrics[i].key, k))
      return r->metrics[i].value;
  fail_msg("metric %s missing", k);
  return NAN;
}

static int n_versions(struct hv_db *db)
{
  struct registry_model m;
  struct hv_err e = {0};
  assert_int_equal(registry_db_get(db, MODEL, &m, &e), 0);
  int n = (int)m.n_versions;
  registry_db_model_free(&m);
  return n;
}

static const char *stage_of(struct hv_db *db, int version, char *buf)
{
  struct registry_version v;
  struct hv_err e = {0};
  assert_int_equal(registry_db_find(db, MODEL, version, NULL, NULL, &v, &e),
                   0);
  strcpy(buf, v.stage);
  registry_db_version_free(&v);
  return buf;
}

static int alias_of(struct hv_db *db, const char *alias)
{
  struct registry_version v;
  struct hv_err e = {0};
  int rc = registry_db_find(db, MODEL, 0, alias, NULL, &v, &e);
  int ver = rc ? 0 : v.version;
  registry_db_version_free(&v);
  return ver;
}

/* The relative trigger against the champion's own test-split top-100:
 * the bound it logs is (1 - S) x that score (what the UI draws). */
static void test_relative_bound_logged(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  struct policy p;
  policy_defaults(&p);
  p.max_top100_drop = 0.5;
  struct retrain_opts o;
  opts_for(&o, &h, &p);
  o.dry_run = 1;
  struct retrain_result r;
  struct hv_err e = {0};
  assert_int_equal(retrain_run(h.db, &o, &r, &e), 0);
  struct registry_version v;
  memset(&v, 0, sizeof(v));
  assert_int_equal(registry_db_find(h.db, MODEL, 1, NULL, NULL, &v, &e), 0);
  struct tracking_run *champ = NULL, *run = NULL;
  assert_int_equal(runs_get(h.db, v.run_id, &champ, &e), 0);
  registry_db_version_free(&v);
  double own = runs_metric(champ, "top_100_categorical_accuracy");
  assert_true(own > 0);
  assert_int_equal(runs_get(h.db, r.decision_run_id, &run, &e), 0);
  double bound = metric_of(run, "check.max_top100_drop.threshold");
  assert_true(fabs(bound - 0.5 * own) < 1e-9);
  assert_non_null(strstr(runs_tag(run, "retrain.reasons"),
                         "below the model's own"));
  runs_free(champ, 1);
  runs_free(run, 1);
  retrain_result_free(&r);
  home_close(&h);
}

/* The policy does not fire: nothing trained, the decision is a run. */
static void test_keep_logged(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  struct policy p;
  policy_defaults(&p);
  p.min_top100 = 0.0; /* accuracy is never <= 0 here */
  p.windows = 2;
  struct retrain_opts o;
  opts_for(&o, &h, &p);
  struct retrain_result r;
  struct hv_err e = {0};
  assert_int_equal(retrain_run(h.db, &o, &r, &e), 0);
  assert_string_equal(r.action, "none");
  assert_false(r.decision.retrain);
  assert_int_equal(r.champion_version, 1);
  assert_int_equal(r.production_version, 1);
  assert_int_equal(r.last_trained_id, h.L);
  assert_int_equal(r.new_ratings, 16000 - h.L);
  assert_non_null(r.report); /* monitored here, two windows */
  assert_int_equal(r.report->n_windows, 2);
  assert_int_equal(n_versions(h.db), 1);
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(h.db, r.decision_run_id, &run, &e), 0);
  assert_string_equal(run->status, "FINISHED");
  assert_string_equal(run->experiment, RETRAIN_EXPERIMENT);
  assert_string_equal(runs_tag(run, "retrain.decision"), "keep");
  assert_string_equal(runs_tag(run, "retrain.action"), "none");
  assert_non_null(strstr(runs_tag(run, "retrain.reasons"), "no trigger fired"));
  assert_true(metric_of(run, "decision") == 0);
  assert_true(metric_of(run, "check.min_top100") == 0);
  assert_true(metric_of(run, "check.min_top100.threshold") == 0);
  assert_true(metric_of(run, "new_ratings") == (double)(16000 - h.L));
  assert_non_null(strstr(runs_param(run, "policy"), "\"min_top100\":0"));
  runs_free(run, 1);
  json_t *j = retrain_result_to_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "action")),
                      "none");
  assert_int_equal(json_array_size(json_object_get(j, "windows")), 2);
  json_decref(j);
  /* the monitoring pass is a child run of the decision */
  retrain_result_free(&r);
  o.log_monitor = 1;
  assert_int_equal(retrain_run(h.db, &o, &r, &e), 0);
  const char *mon = r.report->run_id;
  assert_int_equal(strlen(mon), 32);
  assert_int_equal(runs_get(h.db, mon, &run, &e), 0);
  assert_string_equal(run->parent_run_id, r.decision_run_id);
  runs_free(run, 1);
  retrain_result_free(&r);
  home_close(&h);
}

/* Drift fires; a dry run logs the decision and changes nothing. */
static void test_dry_run_drift(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  struct policy p;
  policy_defaults(&p);
  p.on_dataset_drift = 1;
  struct retrain_opts o;
  opts_for(&o, &h, &p);
  o.dry_run = 1;
  struct retrain_result r;
  struct hv_err e = {0};
  assert_int_equal(retrain_run(h.db, &o, &r, &e), 0);
  assert_true(r.decision.retrain);
  assert_int_equal(r.decision.dataset_drift, 1); /* the planted drift */
  assert_string_equal(r.action, "dry-run");
  assert_false(r.challenger.ran);
  assert_int_equal(n_versions(h.db), 1);
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(h.db, r.decision_run_id, &run, &e), 0);
  assert_string_equal(runs_tag(run, "retrain.decision"), "retrain");
  assert_string_equal(runs_tag(run, "retrain.action"), "dry-run");
  assert_non_null(strstr(runs_tag(run, "retrain.reasons"), "dataset drift"));
  assert_true(metric_of(run, "check.dataset_drift") == 1);
  runs_free(run, 1);
  retrain_result_free(&r);
  home_close(&h);
}

/* Stateful challenger vs from scratch on the same slice; promotion moves
 * stage and aliases; every step audited. */
static void test_stateful_promote(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  struct policy p;
  policy_defaults(&p);
  p.on_dataset_drift = 1;
  struct retrain_opts o;
  opts_for(&o, &h, &p);
  o.compare = 1;
  struct retrain_result r;
  struct hv_err e = {0};
  if (retrain_run(h.db, &o, &r, &e))
    fail_msg("retrain_run: %s", e.msg);
  assert_true(r.challenger.ran && r.other.ran);
  assert_true(r.challenger.stateful);
  assert_false(r.other.stateful);
  /* the held-out slice is the newest 20% of the new ratings */
  int64_t n_new = 16000 - h.L;
  assert_int_equal(r.n_holdout, (size_t)ceil(0.2 * (double)n_new));
  assert_int_equal(r.holdout_last, 16000);
  assert_int_equal(r.holdout_first, 16000 - (int64_t)r.n_holdout + 1);
  /* stateful: the new ratings before the slice plus a 20% replay sample */
  assert_int_equal(r.challenger.train_first, h.L + 1);
  assert_int_equal(r.challenger.train_last, r.holdout_first - 1);
  size_t n_train_new = (size_t)(n_new - (int64_t)r.n_holdout);
  assert_int_equal(r.challenger.n_new, n_train_new);
  assert_int_equal(r.challenger.n_replay,
                   (size_t)llround(0.2 * (double)n_train_new));
  /* scratch: everything before the slice */
  assert_int_equal(r.other.n_new, (size_t)(r.holdout_first - 1));
  assert_int_equal(r.other.n_replay, 0);
  assert_true(r.challenger.n_new + r.challenger.n_replay < r.other.n_new);
  /* after the drift the old model is worse than a retrained one */
  assert_true(r.challenger.top100 > r.champion_top100);
  assert_true(r.other.top100 > r.champion_top100);
  assert_string_equal(r.action, "promoted");
  assert_int_equal(r.challenger_version, 2);
  assert_int_equal(r.production_version, 2);
  char buf[16];
  assert_string_equal(stage_of(h.db, 1, buf), "Archived");
  assert_string_equal(stage_of(h.db, 2, buf), "Production");
  assert_int_equal(alias_of(h.db, REGISTRY_ALIAS_PRODUCTION), 2);
  assert_int_equal(alias_of(h.db, RETRAIN_ALIAS_CHALLENGER), 0);
  assert_int_equal(n_versions(h.db), 2); /* the comparison is not kept */
  struct registry_model m;
  assert_int_equal(registry_db_get(h.db, MODEL, &m, &e), 0);
  /* @champion follows Production (track/registry.h): set when v1 was
   * registered into Production, moved with the promotion */
  const char *want[][2] = {
      {"register", NULL},      {"transition", "Production"},
      {"alias_set", NULL},
      {"register", NULL},      {"alias_set", NULL},
      {"transition", "Archived"}, {"transition", "Production"},
      {"alias_set", NULL},     {"alias_delete", NULL}};
  assert_int_equal(m.n_audit, 9);
  for (size_t i = 0; i < 9; i++) {
    assert_string_equal(m.audit[i].action, want[i][0]);
    if (want[i][1])
      assert_string_equal(m.audit[i].to_stage, want[i][1]);
  }
  assert_string_equal(m.audit[2].alias, REGISTRY_ALIAS_PRODUCTION);
  assert_non_null(strstr(m.audit[3].reason, "challenger: held-out top-100"));
  assert_string_equal(m.audit[4].alias, RETRAIN_ALIAS_CHALLENGER);
  assert_non_null(strstr(m.audit[6].reason, "promoted"));
  assert_string_equal(m.audit[7].alias, REGISTRY_ALIAS_PRODUCTION);
  assert_int_equal(m.audit[7].from_version, 1);
  assert_string_equal(m.audit[6].who, "test");
  registry_db_model_free(&m);
  assert_int_equal(registry_check(h.dir, h.db, &e), 0);
  /* the challenger run continued from version 1 */
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(h.db, r.challenger.run_id, &run, &e), 0);
  assert_string_equal(runs_param(run, "init_from"), "models:/" MODEL "/1");
  assert_string_equal(runs_tag(run, "retrain.mode"), "stateful");
  /* the replay sample is fingerprinted: SHA-256 of its ids, one a line */
  const char *fp = runs_param(run, "replay_ids_sha256");
  assert_non_null(fp);
  assert_int_equal(strlen(fp), 64);
  assert_int_equal(strspn(fp, "0123456789abcdef"), 64);
  assert_string_not_equal(fp, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934"
                              "ca495991b7852b855"); /* not the empty input */
  assert_string_equal(run->parent_run_id, r.decision_run_id);
  assert_true(fabs(metric_of(run, "holdout_top_100_categorical_accuracy") -
                   r.challenger.top100) < 1e-12);
  runs_free(run, 1);
  assert_int_equal(runs_get(h.db, r.other.run_id, &run, &e), 0);
  assert_null(runs_param(run, "replay_ids_sha256")); /* scratch: no sample */
  runs_free(run, 1);
  assert_int_equal(runs_get(h.db, r.decision_run_id, &run, &e), 0);
  assert_true(metric_of(run, "promoted") == 1);
  assert_string_equal(runs_tag(run, "retrain.challenger_version"), "2");
  runs_free(run, 1);
  int64_t prev_hold = r.holdout_first;
  retrain_result_free(&r);
  /* the next run starts from version 2's data (its new ratings are the
   * slice held out last time); its reference is after the drift, so the
   * drift trigger no longer fires */
  assert_int_equal(retrain_run(h.db, &o, &r, &e), 0);
  assert_int_equal(r.champion_version, 2);
  assert_int_equal(r.last_trained_id, prev_hold - 1);
  assert_int_equal(r.new_ratings, 16000 - prev_hold + 1);
  assert_string_equal(r.action, "none");
  retrain_result_free(&r);
  home_close(&h);
}

/* A challenger that does not win by the margin stays @challenger. */
static void test_margin_keeps(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  struct retrain_opts o;
  opts_for(&o, &h, NULL); /* seed rule; forced anyway */
  o.force = 1;
  o.from_scratch = 1;
  o.margin = 1.0; /* unbeatable */
  struct retrain_result r;
  struct hv_err e = {0};
  if (retrain_run(h.db, &o, &r, &e))
    fail_msg("retrain_run: %s", e.msg);
  assert_true(r.decision.retrain);
  assert_string_equal(r.action, "challenger");
  assert_false(r.challenger.stateful);
  assert_int_equal(r.challenger.train_first, 1);
  assert_int_equal(r.challenger_version, 2);
  assert_int_equal(r.production_version, 1);
  char buf[16];
  assert_string_equal(stage_of(h.db, 1, buf), "Production");
  assert_string_equal(stage_of(h.db, 2, buf), "None");
  assert_int_equal(alias_of(h.db, RETRAIN_ALIAS_CHALLENGER), 2);
  /* the Production version keeps @champion (set when it was registered) */
  assert_int_equal(alias_of(h.db, REGISTRY_ALIAS_PRODUCTION), 1);
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(h.db, r.decision_run_id, &run, &e), 0);
  assert_true(metric_of(run, "promoted") == 0);
  assert_non_null(strstr(runs_tag(run, "retrain.reasons"), "forced"));
  runs_free(run, 1);
  retrain_result_free(&r);
  /* a second challenger moves the alias; the audit log says so */
  assert_int_equal(retrain_run(h.db, &o, &r, &e), 0);
  assert_int_equal(r.challenger_version, 3);
  assert_int_equal(alias_of(h.db, RETRAIN_ALIAS_CHALLENGER), 3);
  struct registry_model m;
  assert_int_equal(registry_db_get(h.db, MODEL, &m, &e), 0);
  const struct registry_audit *last = &m.audit[m.n_audit - 1];
  assert_string_equal(last->action, "alias_set");
  assert_int_equal(last->from_version, 2);
  assert_int_equal(last->version, 3);
  registry_db_model_free(&m);
  retrain_result_free(&r);
  home_close(&h);
}

/* train_config.extra_rating_ids: replayed ratings are trained on, the range
 * (lineage) stays the range. */
static void test_extra_ids(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  struct train_config tc;
  train_config_defaults(&tc);
  tc.epochs = 1;
  tc.dim = 8;
  tc.split = 1.0;
  tc.first_rating_id = 10001;
  tc.last_rating_id = 12000;
  int64_t extra[] = {5, 17, 400, 10500 /* inside: skipped */,
                     999999 /* missing: skipped */};
  tc.extra_rating_ids = extra;
  tc.n_extra_rating_ids = 5;
  struct train_result res;
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  assert_int_equal(dataset_train(h.db, &tc, NULL, NULL, &res, &m, &e), 0);
  assert_int_equal(res.n_ratings, 2000 + 3);
  struct train_config got;
  model_config(m, &got);
  assert_int_equal(got.first_rating_id, 10001);
  assert_int_equal(got.last_rating_id, 12000);
  assert_null(got.extra_rating_ids); /* not stored */
  train_result_free(&res);
  model_free(m);
  /* unsorted or missing arrays are refused */
  int64_t bad[] = {5, 5};
  tc.extra_rating_ids = bad;
  tc.n_extra_rating_ids = 2;
  assert_int_equal(dataset_train(h.db, &tc, NULL, NULL, NULL, &m, &e),
                   HV_EINVAL);
  assert_non_null(strstr(e.msg, "ascending"));
  tc.extra_rating_ids = NULL;
  assert_int_equal(train_config_check(&tc, &e), HV_EINVAL);
  /* the store queries behind the replay sample */
  int64_t *ids = NULL;
  size_t n = 0;
  assert_int_equal(ratings_ids(h.db, 100, 199, &ids, &n, &e), 0);
  assert_int_equal(n, 100);
  assert_int_equal(ids[0], 100);
  free(ids);
  assert_int_equal(ratings_ids(h.db, 5, 4, &ids, &n, &e), HV_EINVAL);
  int64_t cnt = 0, last = 0;
  assert_int_equal(ratings_count(h.db, 1, 16000, &cnt, &e), 0);
  assert_int_equal(cnt, 16000);
  assert_int_equal(ratings_last_id(h.db, &last, &e), 0);
  assert_int_equal(last, 16000);
  home_close(&h);
}

static void test_bad_input(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  struct retrain_opts o;
  struct retrain_result r;
  struct hv_err e = {0};
  opts_for(&o, &h, NULL);
  assert_int_equal(retrain_run(NULL, &o, &r, &e), HV_EINVAL);
  assert_int_equal(retrain_run(h.db, NULL, &r, &e), HV_EINVAL);
  assert_int_equal(retrain_run(h.db, &o, NULL, &e), HV_EINVAL);
  const struct {
    double replay, holdout, margin;
    int epochs;
    const char *home, *model;
  } bad[] = {
      {-0.1, 0.2, 0, 0, "h", MODEL}, {NAN, 0.2, 0, 0, "h", MODEL},
      {0.2, 0.0, 0, 0, "h", MODEL},  {0.2, 0.95, 0, 0, "h", MODEL},
      {0.2, 0.2, 2, 0, "h", MODEL},  {0.2, 0.2, 0, -1, "h", MODEL},
      {0.2, 0.2, 0, 0, NULL, MODEL}, {0.2, 0.2, 0, 0, "", MODEL},
      {0.2, 0.2, 0, 0, "h", "bad name!"},
  };
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    opts_for(&o, &h, NULL);
    o.replay = bad[k].replay;
    o.holdout = bad[k].holdout;
    o.margin = bad[k].margin;
    o.epochs = bad[k].epochs;
    o.home = bad[k].home ? (bad[k].home[0] ? h.dir : "") : NULL;
    o.model_name = bad[k].model;
    assert_int_equal(retrain_run(h.db, &o, &r, &e), HV_EINVAL);
    assert_string_equal(r.decision_run_id, "");
  }
  /* a bad policy */
  struct policy p;
  policy_defaults(&p);
  p.windows = 0;
  opts_for(&o, &h, &p);
  assert_int_equal(retrain_run(h.db, &o, &r, &e), HV_EINVAL);
  /* an unknown model: no run is started */
  opts_for(&o, &h, NULL);
  o.model_name = "no_such_model";
  assert_int_equal(retrain_run(h.db, &o, &r, &e), HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "no Production version"));
  assert_string_equal(r.decision_run_id, "");
  struct runs_query q = {RETRAIN_EXPERIMENT, NULL, NULL, 0};
  struct tracking_run *rs = NULL;
  size_t nr = 0;
  int rc = runs_search(h.db, &q, &rs, &nr, &e);
  assert_true(rc == HV_ENOTFOUND || (rc == 0 && nr == 0));
  runs_free(rs, nr);
  home_close(&h);
}

/* Too few new ratings to hold out and train: skipped, and logged. */
static void test_skip_few(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  /* promote a model trained on everything but the last rating */
  struct train_config tc;
  train_config_defaults(&tc);
  tc.epochs = 1;
  tc.dim = 8;
  tc.last_rating_id = 15999;
  struct trainrun_opts to = {0};
  to.home = h.dir;
  struct trainrun_result tr;
  struct hv_err e = {0};
  assert_int_equal(trainrun_run(h.db, &tc, &to, &tr, &e), 0);
  struct registry_register_opts ro = {0};
  ro.name = MODEL;
  ro.run_id = tr.run_id;
  ro.stage = "Production";
  ro.archive_existing = 1;
  int v = 0;
  assert_int_equal(registry_register(h.dir, h.db, &ro, &v, &e), 0);
  trainrun_result_free(&tr);
  struct retrain_opts o;
  opts_for(&o, &h, NULL);
  o.force = 1;
  struct retrain_result r;
  assert_int_equal(retrain_run(h.db, &o, &r, &e), 0);
  assert_int_equal(r.new_ratings, 1);
  assert_string_equal(r.action, "skipped");
  assert_non_null(strstr(r.detail, "too few"));
  assert_int_equal(n_versions(h.db), 2);
  retrain_result_free(&r);
  home_close(&h);
}

static void test_cli(void **state)
{
  (void)state;
  const char *bin = tu_bin();
  if (!bin)
    skip();
  struct home h;
  home_open(&h);
  char cmd[2048], out[1 << 16], pol[512];
  tu_write(h.dir, "policy.json", "{\"on_dataset_drift\": true,\n \"x\": 1}",
           pol, sizeof(pol));
  const struct {
    const char *args;
    int status;
    const char *want;
  } cases[] = {
      {"--bogus", 2, ""},
      {"--replay abc", 2, ""},
      {"--psi-bound nope=0.1", 2, ""},
      {"--policy /nonexistent.json", 1, ""},
      {"--model nothing_here", 1, ""},
      {"--dry-run --on-dataset-drift --json", 0, "\"action\": \"dry-run\""},
      {"--min-top100 0 --json --no-monitor-log", 0, "\"action\": \"none\""},
      /* no trigger given: the relative default, not the seed's 0.5 */
      {"--dry-run --json --no-monitor-log", 0, "\"max_top100_drop\""},
      /* a window under the minimum: skipped, with the reason, judged by
       * nothing (issue 16) */
      {"--dry-run --min-window-ratings 1000000 --no-monitor-log", 0,
       "window 1/1 skipped ("},
      {"--dry-run --min-window-ratings 1000000 --no-monitor-log", 0,
       "-  skipped ("},
      {"--dry-run --min-window-ratings 1000000 --json --no-monitor-log", 0,
       "\"skipped\": \""},
      {"--max-top100-drop 0 --json", 2, ""},
      {"--max-top100-drop 1.5 --json", 2, ""},
      {"--force --epochs 2 --margin -1 --json", 0,
       "\"action\": \"promoted\""},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s retrain --model %s %s 2>&1",
             bin, h.dir, MODEL, cases[k].args);
    int st = tu_run(cmd, out, sizeof(out));
    if (st != cases[k].status || !strstr(out, cases[k].want))
      fail_msg("'%s': status %d, output:\n%s", cmd, st, out);
  }
  /* progress on stderr: the steps, the challenger's epochs; -q: none */
  snprintf(cmd, sizeof(cmd), "%s --home %s retrain --model %s --force "
           "--epochs 2 --margin 1 --no-monitor-log 2>&1 >/dev/null", bin,
           h.dir, MODEL);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  static const char *const steps[] = {
      "harvest retrain: evaluating the champion on ",
      "harvest retrain: training the stateful challenger on ratings ",
      "older ratings), 2 epochs\n",
      "harvest retrain:   epoch 1  loss ", "harvest retrain:   epoch 2  loss ",
      "harvest retrain: evaluating challenger-stateful on the held-out"};
  const char *at = out;
  for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
    const char *hit = strstr(at, steps[k]);
    if (!hit)
      fail_msg("no '%s' (in order) in:\n%s", steps[k], out);
    at = hit;
  }
  snprintf(cmd, sizeof(cmd), "%s --home %s retrain --model %s --force "
           "--epochs 1 --margin 1 --no-monitor-log -q 2>&1 >/dev/null", bin,
           h.dir, MODEL);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "");
  snprintf(cmd, sizeof(cmd), "%s --home %s retrain --model %s --policy %s "
           "2>&1", bin, h.dir, MODEL, pol);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "policy.json:2:2: x: unknown policy key"));
  snprintf(cmd, sizeof(cmd), "%s retrain --help", bin);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "--from-scratch"));
  home_close(&h);
}

/* Register a model run as name in Production (trained here when tc, else
 * the run run_id); returns the version. */
static int register_as(struct home *h, const char *name,
                       const struct train_config *tc, const char *run_id)
{
  struct hv_err e = {0};
  struct trainrun_result tr;
  memset(&tr, 0, sizeof(tr));
  if (tc) {
    struct trainrun_opts o = {0};
    o.home = h->dir;
    if (trainrun_run(h->db, tc, &o, &tr, &e))
      fail_msg("trainrun_run: %s", e.msg);
    run_id = tr.run_id;
  }
  struct registry_register_opts ro = {0};
  ro.name = name;
  ro.run_id = run_id;
  ro.stage = "Production";
  int v = 0;
  assert_int_equal(registry_register(h->dir, h->db, &ro, &v, &e), 0);
  if (tc)
    trainrun_result_free(&tr);
  return v;
}

/* The oracle: ranker m's RMSE on ratings first..last (harvest evaluate's
 * number for that slice). */
static double rmse_of(struct hv_db *db, const struct hv_model *m,
                      int64_t first, int64_t last)
{
  struct hv_dataset ds;
  struct rank_metrics rm;
  struct hv_err e = {0};
  assert_int_equal(dataset_load_eval(db, m, first, last, &ds, &e), 0);
  assert_int_equal(model_rank_evaluate(&ds, m, &rm, &e), 0);
  dataset_free(&ds);
  return rm.rmse;
}

/* Either stage: with a ranker in Production, a retrieval champion's pass
 * tracks its RMSE per window; a ranking champion is monitored through the
 * Production retrieval model, its max_rmse trigger fires on that RMSE, its
 * challenger trains from scratch and the gate is held-out RMSE (checked
 * against model_rank_evaluate). */
static void test_ranker_stage(void **state)
{
  (void)state;
  struct home h;
  home_open(&h);
  struct hv_err e = {0};
  struct registry_version v1;
  memset(&v1, 0, sizeof(v1));
  assert_int_equal(registry_db_find(h.db, MODEL, 1, NULL, NULL, &v1, &e), 0);
  register_as(&h, REGISTRY_DEFAULT_MODEL, NULL, v1.run_id);
  registry_db_version_free(&v1);
  struct train_config tc;
  train_config_ranking(&tc);
  tc.dim = 8;
  tc.hidden = 8;
  tc.epochs = 2;
  tc.threads = 1;
  tc.last_rating_id = h.L;
  register_as(&h, REGISTRY_DEFAULT_RANKER, &tc, NULL);
  char path[4096];
  assert_int_equal(uri_resolve(h.dir, h.db, "models:/" REGISTRY_DEFAULT_RANKER
                               "/Production", path, sizeof(path), &e), 0);
  struct hv_model *rk = NULL;
  assert_int_equal(model_load(path, &rk, &e), 0);
  /* 1. the retrieval champion's pass tracks the ranker */
  struct policy p;
  policy_defaults(&p);
  p.min_top100 = 0.5;
  struct retrain_opts o;
  opts_for(&o, &h, &p);
  o.dry_run = 1;
  struct retrain_result r;
  if (retrain_run(h.db, &o, &r, &e))
    fail_msg("retrain_run: %s", e.msg);
  assert_string_equal(r.stage, "retrieval");
  assert_non_null(r.report);
  const struct monitor_window *w = &r.report->windows[0];
  assert_true(w->metrics.ranker_n == w->n_ratings);
  assert_float_equal(w->metrics.ranker_rmse,
                     rmse_of(h.db, rk, w->spec.first, w->spec.last), 1e-9);
  retrain_result_free(&r);
  /* 2. the ranking champion: RMSE trigger, from scratch, RMSE gate */
  policy_defaults(&p);
  p.max_rmse = 0.01; /* fires on any real ranker */
  opts_for(&o, &h, &p);
  o.model_name = REGISTRY_DEFAULT_RANKER;
  o.epochs = 2;
  if (retrain_run(h.db, &o, &r, &e))
    fail_msg("retrain_run (ranker): %s", e.msg);
  assert_string_equal(r.stage, "ranking");
  assert_true(r.decision.retrain);
  assert_true(r.decision.worst_rmse > 0.01);
  assert_non_null(strstr(r.decision.reasons, "worst ranker RMSE"));
  assert_true(r.challenger.ran && !r.challenger.stateful);
  assert_int_equal(r.challenger.train_first, 1);
  assert_float_equal(r.champion_rmse,
                     rmse_of(h.db, rk, r.holdout_first, r.holdout_last),
                     1e-9);
  assert_true(isfinite(r.challenger.rmse) && isnan(r.champion_top100));
  int won = r.challenger.rmse < r.champion_rmse;
  assert_string_equal(r.action, won ? "promoted" : "challenger");
  assert_int_equal(r.production_version, won ? 2 : 1);
  assert_non_null(strstr(r.detail, "RMSE"));
  struct tracking_run *run = NULL;
  assert_int_equal(runs_get(h.db, r.decision_run_id, &run, &e), 0);
  assert_true(fabs(metric_of(run, "champion_rmse") - r.champion_rmse) <
              1e-12);
  assert_true(metric_of(run, "check.max_rmse") == 1);
  runs_free(run, 1);
  json_t *j = retrain_result_to_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "stage")),
                      "ranking");
  assert_non_null(json_object_get(json_object_get(j, "challenger"), "rmse"));
  json_decref(j);
  retrain_result_free(&r);
  model_free(rk);
  home_close(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keep_logged),
      cmocka_unit_test(test_relative_bound_logged),
      cmocka_unit_test(test_dry_run_drift),
      cmocka_unit_test(test_stateful_promote),
      cmocka_unit_test(test_margin_keeps),
      cmocka_unit_test(test_extra_ids),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_skip_few),
      cmocka_unit_test(test_cli),
      cmocka_unit_test(test_ranker_stage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_demo.c - the full loop on a small replay (monitor/demo.h), with the
 * real server started in-process (serve/server.h) and real HTTP clients:
 * drift planted, drift detected, retraining triggered, a stateful
 * challenger trained, evaluated and promoted, the running server serving
 * it without a restart (X-Model-Version changes), clients requesting
 * recommendations throughout with zero failed requests, and the retrained
 * model beating the never-retrained one on the later weeks. Also the
 * report, the JSON, the registry and tracking trail, the loop scheduler
 * (monitor/loop.h), and bad input.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo/apiclient.h"
#include "demo/demo.h"
#include "retrain/loop.h"
#include "serve/http/server.h"
#include "serve/http/tokens.h"
#include "store/db.h"
#include "store/registry_db.h"
#include "track/runs.h"
#include "util/fsutil.h"

struct srv {
  struct serve *s;
  int starts, stops;
};

static int srv_start(void *ud, const char *home, const char *model,
                     int *port, char *token, size_t cap, struct hv_err *err)
{
  struct srv *x = ud;
  struct serve_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.home = home;
  cfg.port = 0;
  cfg.threads = 2;
  cfg.model_name = model;
  cfg.poll_seconds = 0.2;
  /* as cmd_demo.c: the replay writes with an operator's API token */
  char path[600], tok[TOKENS_TEXT_MAX];
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  struct hv_db *db = tu_open_db(path);
  int rc = tokens_service(db, "demo", "operator", 3600, "test", tok, err);
  db_close(db);
  if (rc)
    return rc;
  snprintf(token, cap, "%s", tok);
  rc = serve_start(&cfg, &x->s, err);
  if (!rc) {
    *port = serve_port(x->s);
    x->starts++;
  }
  return rc;
}

static void srv_stop(void *ud)
{
  struct srv *x = ud;
  serve_stop(x->s, 5.0);
  x->s = NULL;
  x->stops++;
}

/* A small replay: 8 weeks of synth data, the first 2 for training, a
 * sudden drift at day 28 (the start of replay week 3). */
static void small_config(struct demo_config *c, const char *home,
                         struct srv *x)
{
  demo_config_defaults(c);
  c->home = home;
  c->synth.users = 400;
  c->synth.movies = 300;
  c->synth.ratings = 24000;
  c->synth.days = 56;
  c->synth.seed = 5;
  c->train_weeks = 2;
  c->epochs = 4;
  c->n_grid = 1;
  c->grid[0] = "dim=16,32";
  c->batch = 400;
  c->recs_per_batch = 3;
  c->load_clients = 2;
  c->server = (struct demo_server){srv_start, srv_stop, x};
}

static void test_full_loop(void **state)
{
  (void)state;
  char home[256], report_dir[512];
  tu_tmpdir(home, sizeof(home));
  snprintf(report_dir, sizeof(report_dir), "%s/out", home);
  struct srv x = {0};
  struct demo_config c;
  small_config(&c, home, &x);
  c.report_dir = report_dir;
  struct demo_result r;
  struct hv_err e = {0};
  if (demo_run(&c, &r, &e))
    fail_msg("demo_run: %s", e.msg);
  assert_int_equal(x.starts, 1); /* one server, never restarted */
  assert_int_equal(x.stops, 1);
  assert_int_equal(r.n_weeks, 6);
  assert_int_equal(r.drift_week, 3);
  /* zero failed requests while clients asked throughout */
  if (r.posts_failed || r.recs_failed || r.load_failed)
    fail_msg("failed requests: %lld posts, %lld recs, %lld background; "
             "first: %s", (long long)r.posts_failed,
             (long long)r.recs_failed, (long long)r.load_failed,
             r.first_failure);
  assert_true(r.load_ok > 0);
  assert_true(r.posts_ok > 0);
  assert_int_equal(r.version_regressions, 0);
  int64_t replayed = 0;
  for (size_t i = 0; i < r.n_weeks; i++)
    replayed += r.weeks[i].new_ratings;
  assert_int_equal(replayed, r.replay_ratings);
  assert_int_equal(r.train_ratings + r.replay_ratings, 24000);
  /* no dataset drift before the planted drift; drift detected at it */
  for (int k = 0; k < r.drift_week - 1; k++)
    assert_int_equal(r.weeks[k].dataset_drift, 0);
  const struct demo_week *dw = &r.weeks[r.drift_week - 1];
  assert_int_equal(dw->dataset_drift, 1);
  assert_non_null(strstr(dw->reasons, "dataset drift"));
  /* retraining triggered at the drift: a stateful challenger, trained and
   * evaluated against the champion on the same held-out slice (beside a
   * from-scratch one, for the comparison) */
  assert_true(isfinite(dw->stateful_top100));
  assert_true(isfinite(dw->champion_top100));
  assert_true(isfinite(dw->scratch_top100));
  assert_true(dw->stateful_ratings < dw->scratch_ratings);
  assert_true(r.n_retrains >= 1);
  /* promoted at the drift week or, when that first challenger does not
   * win yet (little post-drift data in its training set), the week after;
   * then the running server serves it (X-Model-Version changed) */
  assert_true(r.n_promotions >= 1);
  assert_true(r.first_promotion_week == r.drift_week ||
              r.first_promotion_week == r.drift_week + 1);
  const struct demo_week *pw = &r.weeks[r.first_promotion_week - 1];
  assert_string_equal(pw->action, "promoted");
  if (pw != dw)
    assert_string_equal(dw->action, "challenger");
  assert_true(pw->stateful_top100 > pw->champion_top100);
  assert_true(pw->version_after > pw->version);
  assert_true(isfinite(pw->swap_seconds));
  assert_true(pw->swap_seconds < 5.0);
  assert_int_equal(r.weeks[r.first_promotion_week].version,
                   pw->version_after);
  assert_true(r.final_version > r.initial_version);
  /* the retrained model beats the never-retrained one on the later weeks */
  assert_true(r.serving_mean_later > r.never_mean_later);
  for (size_t k = (size_t)r.first_promotion_week; k < r.n_weeks; k++)
    assert_true(r.weeks[k].top100 > r.weeks[k].top100_never);
  /* the report: self-contained HTML with charts */
  char *html = NULL;
  size_t len = 0;
  assert_int_equal(strncmp(r.report_path, report_dir, strlen(report_dir)),
                   0);
  assert_int_equal(hv_read_file(r.report_path, 1 << 24, &html, &len, &e), 0);
  assert_non_null(strstr(html, "<svg"));
  assert_non_null(strstr(html, "<polyline"));
  assert_non_null(strstr(html, "Ranking stage"));
  assert_null(strstr(html, "src=\"http"));
  assert_null(strstr(html, "href=\"http"));
  free(html);
  /* JSON */
  json_t *j = demo_result_to_json(&r);
  json_t *tl = json_object_get(j, "timeline");
  assert_int_equal(json_array_size(tl), 6);
  json_t *w3 = json_array_get(tl, (size_t)r.first_promotion_week - 1);
  assert_string_equal(json_string_value(json_object_get(w3, "action")),
                      "promoted");
  assert_true(json_is_true(json_object_get(
      json_array_get(tl, (size_t)r.drift_week - 1), "dataset_drift")));
  assert_non_null(json_object_get(w3, "top_100_categorical_accuracy"));
  assert_non_null(json_object_get(w3, "model_version"));
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(j, "requests"), "failed")),
                   0);
  assert_non_null(json_object_get(json_object_get(j, "comparison"),
                                  "stateful_vs_scratch"));
  /* both stages: a ranker in Production from the start, its RMSE
   * monitored every week (the Production ranker's, as model_rank_evaluate
   * on the week's ratings), a decision every week gated by held-out RMSE */
  assert_int_equal(r.ranker_initial_version, 1);
  assert_true(r.ranker_rmse > 0 && r.ranker_rmse < 2);
  int rk_retrains = 0, rk_promotions = 0;
  for (size_t k = 0; k < r.n_weeks; k++) {
    const struct demo_week *w = &r.weeks[k];
    assert_true(w->ranker_action[0] != '\0');
    assert_true(w->ranker_rmse > 0 && w->ranker_rmse < 3);
    if (isfinite(w->ranker_challenger_rmse)) {
      rk_retrains++;
      int won = w->ranker_challenger_rmse < w->ranker_champion_rmse;
      assert_string_equal(w->ranker_action, won ? "promoted" : "challenger");
      rk_promotions += won;
    }
  }
  fprintf(stderr, "demo: ranker v%d test RMSE %.4f, %d retrainings, %d "
          "promotions, final v%d\n", r.ranker_initial_version, r.ranker_rmse,
          r.ranker_retrains, r.ranker_promotions, r.ranker_final_version);
  assert_int_equal(rk_retrains, r.ranker_retrains);
  assert_int_equal(rk_promotions, r.ranker_promotions);
  if (!r.ranker_promotions)
    assert_int_equal(r.ranker_final_version, 1);
  else
    assert_true(r.ranker_final_version > 1);
  json_t *jr = json_object_get(j, "ranker");
  assert_int_equal(json_integer_value(json_object_get(jr, "retrains")),
                   r.ranker_retrains);
  assert_non_null(json_object_get(json_object_get(w3, "ranker"), "rmse"));
  json_decref(j);
  /* the registry and tracking trail */
  char path[512];
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  struct hv_db *db = NULL;
  assert_int_equal(db_open(path, &db, &e), 0);
  struct registry_model m;
  assert_int_equal(registry_db_get(db, "harvest_recommender", &m, &e), 0);
  int promoted = 0;
  for (size_t i = 0; i < m.n_audit; i++)
    if (m.audit[i].reason && strstr(m.audit[i].reason, "promoted:"))
      promoted++;
  assert_true(promoted >= 1);
  registry_db_model_free(&m);
  struct runs_query q = {"Retraining", "tags.`retrain.decision` = 'retrain'",
                         NULL, 0};
  struct tracking_run *runs = NULL;
  size_t n = 0;
  if (runs_search(db, &q, &runs, &n, &e)) {
    /* fall back to all runs of the experiment when the filter syntax
     * differs */
    q.filter = NULL;
    assert_int_equal(runs_search(db, &q, &runs, &n, &e), 0);
    assert_true(n >= r.n_weeks);
  } else {
    /* both stages' decision runs are in "Retraining" */
    assert_int_equal(n, (size_t)(r.n_retrains + r.ranker_retrains));
  }
  runs_free(runs, n);
  db_close(db);
  /* the home is no longer fresh: a second synth demo is refused */
  struct demo_result r2;
  assert_int_equal(demo_run(&c, &r2, &e), HV_ECONFLICT);
  assert_non_null(strstr(e.msg, "fresh"));
  assert_int_equal(x.starts, 1);
  demo_result_free(&r);
  tu_rmtree(home);
}

static void test_bad_input(void **state)
{
  (void)state;
  char home[256];
  tu_tmpdir(home, sizeof(home));
  struct srv x = {0};
  struct demo_config c;
  struct demo_result r;
  struct hv_err e = {0};
  assert_int_equal(demo_run(NULL, &r, &e), HV_EINVAL);
  small_config(&c, home, &x);
  assert_int_equal(demo_run(&c, NULL, &e), HV_EINVAL);
  struct demo_config b = c;
  b.home = NULL;
  assert_int_equal(demo_run(&b, &r, &e), HV_EINVAL);
  b = c;
  b.dataset = "ml-20m";
  assert_int_equal(demo_run(&b, &r, &e), HV_EINVAL);
  b = c;
  b.server.start = NULL;
  assert_int_equal(demo_run(&b, &r, &e), HV_EINVAL);
  b = c;
  b.batch = 0;
  assert_int_equal(demo_run(&b, &r, &e), HV_EINVAL);
  b = c;
  b.train_weeks = 0;
  assert_int_equal(demo_run(&b, &r, &e), HV_EINVAL);
  b = c;
  b.synth.users = 0;
  assert_int_equal(demo_run(&b, &r, &e), HV_EUSAGE);
  b = c;
  b.policy.windows = 0;
  assert_int_equal(demo_run(&b, &r, &e), HV_EINVAL);
  /* ml-100k that was never imported */
  b = c;
  b.dataset = "ml-100k";
  assert_int_equal(demo_run(&b, &r, &e), HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "import"));
  /* more training weeks than data */
  b = c;
  b.synth.ratings = 2000;
  b.synth.days = 7;
  b.train_weeks = 2;
  char home2[256];
  tu_tmpdir(home2, sizeof(home2));
  b.home = home2;
  assert_int_equal(demo_run(&b, &r, &e), HV_ENOTFOUND);
  assert_int_equal(x.starts, 0);
  tu_rmtree(home2);
  tu_rmtree(home);
}

/* The HTTP client against a server that is not there, and bad calls. */
static void test_apiclient(void **state)
{
  (void)state;
  struct hv_err e = {0};
  assert_int_equal(apiclient_global_init(&e), 0);
  struct apiclient *c = NULL;
  assert_int_equal(apiclient_open(NULL, 1, &c, &e), HV_EINVAL);
  assert_int_equal(apiclient_open("http://x", 0, &c, &e), HV_EINVAL);
  assert_int_equal(apiclient_open("http://127.0.0.1:1", 2, &c, &e), 0);
  long st = -1;
  assert_int_equal(apiclient_status(c, "/readyz", &st, &e), HV_EIO);
  assert_int_equal(st, 0);
  char ver[64];
  assert_int_equal(apiclient_recommend(c, 1, 10, ver, sizeof(ver), NULL, &e),
                   HV_EIO);
  assert_int_equal(apiclient_recommend(c, 1, 0, ver, sizeof(ver), NULL, &e),
                   HV_EINVAL);
  assert_int_equal(apiclient_status(c, "readyz", &st, &e), HV_EINVAL);
  int64_t u = 1, mv = 1;
  float rt = 4;
  assert_int_equal(apiclient_add_ratings(c, NULL, &mv, &rt, 1, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(apiclient_add_ratings(c, &u, &mv, &rt, 1, NULL, &e),
                   HV_EIO);
  char longtok[200];
  memset(longtok, 'a', sizeof(longtok) - 1);
  longtok[sizeof(longtok) - 1] = '\0';
  assert_int_equal(apiclient_set_bearer(c, "hvt_x\r\nX-Admin-Key: k", &e),
                   HV_EINVAL);
  assert_int_equal(apiclient_set_bearer(c, longtok, &e), HV_EINVAL);
  assert_int_equal(apiclient_set_bearer(NULL, "hvt_x", &e), HV_EINVAL);
  assert_int_equal(apiclient_set_bearer(c, "hvt_x", &e), 0);
  assert_int_equal(apiclient_set_bearer(c, NULL, &e), 0);
  apiclient_close(c);
  apiclient_close(NULL);
}

struct ticks {
  int n, idle, errors;
  char actions[8][24];
};

static void on_tick(void *ud, const struct loop_tick *t)
{
  struct ticks *k = ud;
  if (t->idle)
    k->idle++;
  else if (t->rc)
    k->errors++;
  else if (k->n < 8)
    snprintf(k->actions[k->n], sizeof(k->actions[0]), "%s", t->res->action);
  k->n++;
}

static int loop_is_done(void *l)
{
  return loop_done(l);
}

static int loop_ticked(void *l)
{
  return loop_ticks(l) >= 1;
}

/* The scheduler: ticks, idle ticks, errors reported, stop at once. */
static void test_loop(void **state)
{
  (void)state;
  char home[256], path[512];
  tu_tmpdir(home, sizeof(home));
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  db_close(db);
  struct loop_config lc;
  memset(&lc, 0, sizeof(lc));
  lc.db_path = path;
  retrain_opts_defaults(&lc.opts);
  lc.opts.home = home;
  policy_seed(&lc.policy);
  lc.interval_s = 0.05;
  lc.max_ticks = 3;
  struct ticks k = {0};
  lc.on_tick = on_tick;
  lc.ud = &k;
  struct loop *l = NULL;
  assert_int_equal(loop_start(&lc, &l, &e), 0);
  if (!tu_wait_until(loop_is_done, l))
    fail_msg("the loop did not end after its 3 ticks");
  assert_int_equal(loop_ticks(l), 3);
  assert_int_equal(loop_stop(l, &e), 0);
  /* no model registered: the first tick fails and is reported, the next
   * ones are idle (nothing changed) */
  assert_int_equal(k.n, 3);
  assert_int_equal(k.errors, 1);
  assert_int_equal(k.idle, 2);
  /* a long interval is cut short by loop_stop */
  lc.interval_s = 3600;
  lc.max_ticks = 0;
  memset(&k, 0, sizeof(k));
  assert_int_equal(loop_start(&lc, &l, &e), 0);
  if (!tu_wait_until(loop_ticked, l))
    fail_msg("the loop never ticked");
  double t0 = hv_mono();
  assert_int_equal(loop_stop(l, &e), 0);
  assert_true(hv_mono() - t0 < 5.0);
  assert_int_equal(k.n, 1);
  /* bad configs */
  lc.interval_s = 0;
  assert_int_equal(loop_start(&lc, &l, &e), HV_EINVAL);
  lc.interval_s = 1;
  lc.db_path = NULL;
  assert_int_equal(loop_start(&lc, &l, &e), HV_EINVAL);
  lc.db_path = path;
  lc.policy.windows = 0;
  assert_int_equal(loop_start(&lc, &l, &e), HV_EINVAL);
  assert_int_equal(loop_stop(NULL, &e), 0);
  /* a database that cannot be opened ends the loop with its error */
  policy_seed(&lc.policy);
  lc.db_path = "/nonexistent/dir/harvest.db";
  assert_int_equal(loop_start(&lc, &l, &e), 0);
  if (!tu_wait_until(loop_is_done, l))
    fail_msg("the loop did not end on its database error");
  assert_int_not_equal(loop_stop(l, &e), 0);
  tu_rmtree(home);
}

static void test_cli(void **state)
{
  (void)state;
  const char *bin = tu_bin();
  if (!bin)
    skip();
  char cmd[1024], out[1 << 14], home[256];
  tu_tmpdir(home, sizeof(home));
  const struct {
    const char *args;
    int status;
  } cases[] = {
      {"demo --help", 0},          {"demo --weeks 0", 2},
      {"demo --dataset foo", 2},   {"demo --bogus", 2},
      {"demo --no-ranker --help", 0},
      {"demo --grid a=1 --grid b=2 --grid c=3 --grid d=4 --grid e=5", 2},
      {"demo --min-top100 x", 2},  {"watch --help", 0},
      {"watch --interval 0", 2},   {"watch --ticks x", 2},
      {"demo --dataset ml-100k", 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s >/dev/null 2>&1", bin, home,
             cases[i].args);
    int st = tu_run(cmd, out, sizeof(out));
    if (st != cases[i].status)
      fail_msg("'%s': status %d, want %d", cmd, st, cases[i].status);
  }
  /* watch with no model: each tick reports the error; 2 ticks, JSON */
  snprintf(cmd, sizeof(cmd), "%s --home %s watch --interval 1 --ticks 2 "
           "--json 2>/dev/null", bin, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "\"action\":\"error\""));
  assert_non_null(strstr(out, "\"action\":\"idle\""));
  tu_rmtree(home);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_loop),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_apiclient),
      cmocka_unit_test(test_loop),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

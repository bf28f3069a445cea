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
#include <stdlib.h>
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
  /* a week is scored for both models or, skipped, for neither */
  for (size_t k = 0; k < r.n_weeks; k++) {
    const struct demo_week *w = &r.weeks[k];
    int small = w->new_ratings < c.policy.min_window_ratings;
    assert_int_equal(w->skipped[0] != '\0', small);
    assert_int_equal(isnan(w->top100), small);
    assert_int_equal(isnan(w->top100_never), small);
  }
  /* the report: self-contained HTML with charts */
  char *html = NULL;
  size_t len = 0;
  assert_int_equal(strncmp(r.report_path, report_dir, strlen(report_dir)),
                   0);
  assert_int_equal(hv_read_file(r.report_path, 1 << 24, &html, &len, &e), 0);
  assert_non_null(strstr(html, "<svg"));
  assert_non_null(strstr(html, "<polyline"));
  assert_non_null(strstr(html, "Ranking stage"));
  assert_null(strstr(html, "src=")); /* nothing loaded from anywhere */
  /* the only absolute URL is the base the UI links resolve against */
  const char *base = strstr(html, "<base href=\"http://127.0.0.1:8000/\">");
  assert_non_null(base);
  assert_null(strstr(base + 10, "href=\"http"));
  assert_non_null(strstr(html, "href=\"/ui/monitoring?run="));
  assert_non_null(strstr(html, "href=\"/ui/models/harvest_recommender\""));
  free(html);
  for (size_t k = 0; k < r.n_weeks; k++) /* every week's monitoring run */
    assert_int_equal(strlen(r.weeks[k].monitor_run_id), 32);
  assert_int_equal(strlen(pw->challenger_run_id), 32);
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
  const char *bad_urls[] = {"", "ftp://h", "http://", "http://h/ui",
                            "http://h\"><script>", "http://h?x=1",
                            "https://h:80//"};
  for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
    b = c;
    b.ui_url = bad_urls[i];
    assert_int_equal(demo_run(&b, &r, &e), HV_EINVAL);
    assert_non_null(strstr(e.msg, "ui url"));
  }
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
      {"demo --ui-url ftp://x", 1},
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

/* ---- the report, on a result made by hand ------------------------------ */

/* The texts of the elements of class cls inside [from, to): up to max of
 * them into out; returns how many there are. */
static int texts_of(const char *from, const char *to, const char *cls,
                    char out[][80], int max)
{
  char key[64];
  snprintf(key, sizeof(key), "class=\"%s\"", cls);
  int n = 0;
  for (const char *p = strstr(from, key); p && p < to;
       p = strstr(p + 1, key)) {
    const char *gt = strchr(p, '>'), *lt = gt ? strchr(gt, '<') : NULL;
    if (!lt || lt > to)
      break;
    if (n < max)
      snprintf(out[n], 80, "%.*s", (int)(lt - gt - 1), gt + 1);
    n++;
  }
  return n;
}

/* The n-th (0-based) <svg>...</svg> of html. */
static void svg_of(const char *html, int n, const char **from,
                   const char **to)
{
  const char *p = html;
  for (int k = 0; k <= n; k++) {
    p = strstr(p + (k ? 1 : 0), "<svg");
    assert_non_null(p);
  }
  *from = p;
  *to = strstr(p, "</svg>");
  assert_non_null(*to);
}

/* 1 when x is 1, 2 or 5 times a power of ten. */
static int one_two_five(double x)
{
  double m = x / pow(10, floor(log10(x) + 1e-9));
  return fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6;
}

/* The y ticks of svg n: evenly spaced at a 1-2-5 step, covering [lo, hi]. */
static void check_ticks(const char *html, int n, double lo, double hi)
{
  const char *from, *to;
  svg_of(html, n, &from, &to);
  char t[32][80];
  int k = texts_of(from, to, "ytick", t, 32);
  assert_true(k >= 3 && k <= 12);
  double first = strtod(t[0], NULL), step = strtod(t[1], NULL) - first;
  assert_true(step > 0);
  assert_true(one_two_five(step));
  for (int i = 0; i < k; i++) {
    double v = strtod(t[i], NULL);
    assert_true(fabs(v - (first + step * i)) < step * 1e-6);
    assert_true(fabs(v / step - round(v / step)) < 1e-6); /* a round tick */
  }
  assert_true(first <= lo + 1e-12);
  assert_true(strtod(t[k - 1], NULL) >= hi - 1e-12);
}

static void fake_week(struct demo_week *w, int week, int version,
                      double top, double never)
{
  memset(w, 0, sizeof(*w));
  w->week = week;
  w->start_ts = 1700000000 + (int64_t)week * 7 * 86400;
  w->new_ratings = 1000 + 137 * week;
  w->top100 = top;
  w->top100_never = never;
  w->top10 = w->champion_top100 = w->swap_seconds = NAN;
  w->stateful_top100 = w->stateful_seconds = NAN;
  w->scratch_top100 = w->scratch_seconds = NAN;
  w->ranker_rmse = NAN;
  w->dataset_drift = 0;
  w->version = w->version_after = version;
  snprintf(w->action, sizeof(w->action), "none");
  snprintf(w->monitor_run_id, sizeof(w->monitor_run_id), "%032d", week);
}

/* Six weeks: promotions after weeks 2 (v1 -> v2) and 4 (v2 -> v3); v2 on
 * week 3 is planted below the never-retrained model, v3 on week 5 above. */
static void fake_result(struct demo_result *r, struct demo_week w[6])
{
  memset(r, 0, sizeof(*r));
  snprintf(r->dataset, sizeof(r->dataset), "synth");
  snprintf(r->model, sizeof(r->model), "harvest_recommender");
  snprintf(r->ui_url, sizeof(r->ui_url), "%s", DEMO_UI_URL);
  snprintf(r->tune_run_id, sizeof(r->tune_run_id), "%032x", 0xabc);
  r->initial_version = 1;
  r->final_version = 3;
  r->n_promotions = r->n_retrains = 2;
  const double top[6] = {0.262, 0.231, 0.21, 0.255, 0.281, 0.29};
  const double never[6] = {0.262, 0.228, 0.24, 0.236, 0.232, 0.23};
  const int ver[6] = {1, 1, 2, 2, 3, 3};
  for (int k = 0; k < 6; k++)
    fake_week(&w[k], k + 1, ver[k], top[k], never[k]);
  w[1].dataset_drift = 1;
  for (int k = 1; k <= 3; k += 2) { /* weeks 2 and 4 promote */
    w[k].stateful_promoted = 1;
    w[k].version_after = ver[k] + 1;
    w[k].stateful_top100 = 0.3;
    w[k].champion_top100 = 0.25;
    snprintf(w[k].action, sizeof(w[k].action), "promoted");
    snprintf(w[k].decision_run_id, 33, "%032x", 0xd0 + k);
    snprintf(w[k].challenger_run_id, 33, "%032x", 0xc0 + k);
  }
  r->weeks = w;
  r->n_weeks = 6;
}

static void test_report(void **state)
{
  (void)state;
  struct demo_week w[6];
  struct demo_result r;
  fake_result(&r, w);
  /* demo_fresh_worse, table-driven */
  const struct {
    size_t i;
    int want;
  } cases[] = {{0, 0}, {1, 0}, {2, 1}, {3, 0}, {4, 0}, {5, 0}, {6, 0}};
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
    assert_int_equal(demo_fresh_worse(&r, cases[k].i), cases[k].want);
  assert_int_equal(demo_fresh_worse(NULL, 2), 0);
  char *html = NULL;
  size_t len = 0;
  struct hv_err e = {0};
  assert_int_equal(demo_report_html(&r, &html, &len, &e), 0);
  assert_int_equal(strlen(html), len);
  /* axis labels on both charts */
  char t[32][80];
  const char *end = html + len;
  assert_int_equal(texts_of(html, end, "axis-label", t, 32), 4);
  assert_string_equal(t[0], "top-100 categorical accuracy");
  assert_string_equal(t[1], "replay week");
  assert_string_equal(t[2], "new ratings");
  assert_string_equal(t[3], "replay week");
  /* round ticks: accuracy 0.21..0.29, ratings 0..1822 */
  check_ticks(html, 0, 0.21, 0.29);
  check_ticks(html, 1, 0, 1822);
  const char *from, *to;
  svg_of(html, 0, &from, &to);
  assert_int_equal(texts_of(from, to, "xtick", t, 32), 6);
  assert_string_equal(t[0], "1");
  assert_string_equal(t[5], "6");
  /* the legend names every mark */
  const char *lg = strstr(from, "class=\"legend\"");
  assert_true(lg && lg < to);
  const char *items[] = {"serving model", "never retrained",
                         "dataset drift week", "promotion (new version)",
                         "promoted, below never retrained"};
  for (size_t k = 0; k < 5; k++) {
    const char *p = strstr(lg, items[k]);
    assert_true(p && p < to);
  }
  assert_int_equal(texts_of(from, to, "worse", t, 32), 1); /* one ring */
  /* the planted bad week is named: its row, its section, its numbers */
  assert_int_equal(texts_of(html, end, "worse", t, 32), 3); /* ring, row,
                                                                list */
  const char *sec = strstr(html, "id=\"promoted-worse\"");
  assert_non_null(sec);
  const char *li = strstr(sec, "<li>");
  assert_non_null(li);
  assert_non_null(strstr(li, "Week 3</a>: <a href=\"/ui/models/"
                             "harvest_recommender\">v2</a>, promoted after "
                             "week 2"));
  assert_non_null(strstr(li, "<b>0.2100</b>"));
  assert_non_null(strstr(li, "<b>0.2400</b>"));
  assert_null(strstr(li + 4, "<li>")); /* week 5 did better: not named */
  assert_non_null(strstr(html, "1 week right after a promotion did worse"));
  /* links into the UI under the base */
  assert_non_null(strstr(html, "<base href=\"http://127.0.0.1:8000/\">"));
  char href[128];
  snprintf(href, sizeof(href), "href=\"/ui/runs/%s\"", w[1].decision_run_id);
  assert_non_null(strstr(html, href));
  snprintf(href, sizeof(href), "href=\"/ui/runs/%s\"", w[3].challenger_run_id);
  assert_non_null(strstr(html, href));
  snprintf(href, sizeof(href), "href=\"/ui/runs/%s\"", r.tune_run_id);
  assert_non_null(strstr(html, href));
  snprintf(href, sizeof(href), "href=\"/ui/monitoring?run=%s\"",
           w[2].monitor_run_id);
  assert_non_null(strstr(html, href));
  free(html);
  /* the JSON names it too */
  json_t *j = demo_result_to_json(&r);
  json_t *pw = json_object_get(
      json_object_get(json_object_get(j, "comparison"), "never_vs_retrained"),
      "promoted_worse_than_never");
  assert_int_equal(json_array_size(pw), 1);
  assert_int_equal(json_integer_value(json_object_get(
                       json_array_get(pw, 0), "week")), 3);
  json_decref(j);
  /* v2 better on week 3: nothing named, and the page says so */
  w[2].top100 = 0.25;
  assert_int_equal(demo_report_html(&r, &html, &len, &e), 0);
  assert_non_null(strstr(html, "None: in every week right after a "
                               "promotion"));
  assert_null(strstr(html, "promoted, below never retrained"));
  free(html);
  /* no promotion at all; one week; no base without a UI url */
  r.n_promotions = 0;
  r.n_weeks = 1;
  r.ui_url[0] = '\0';
  assert_int_equal(demo_report_html(&r, &html, &len, &e), 0);
  assert_non_null(strstr(html, "None: no version was promoted"));
  assert_null(strstr(html, "<base"));
  check_ticks(html, 0, 0.262, 0.262);
  free(html);
  assert_int_equal(demo_report_html(NULL, &html, &len, &e), HV_EINVAL);
}

/* A skipped week (too few ratings) is "–" for both models, in the table,
 * the chart and the JSON, and no comparison is drawn on it; even when its
 * figures were filled in. */
static void test_report_skipped(void **state)
{
  (void)state;
  struct demo_week w[6];
  struct demo_result r;
  fake_result(&r, w);
  assert_int_equal(demo_fresh_worse(&r, 2), 1); /* week 3, planted */
  snprintf(w[2].skipped, sizeof(w[2].skipped),
           "150 ratings < min_ratings 200");
  assert_int_equal(demo_fresh_worse(&r, 2), 0);
  assert_true(isnan(demo_week_top100(&w[2], 0)));
  assert_true(isnan(demo_week_top100(&w[2], 1)));
  assert_true(demo_week_top100(&w[3], 1) == 0.236);
  char *html = NULL;
  size_t len = 0;
  struct hv_err e = {0};
  assert_int_equal(demo_report_html(&r, &html, &len, &e), 0);
  char href[128];
  snprintf(href, sizeof(href), "href=\"/ui/monitoring?run=%s\">3</a>",
           w[2].monitor_run_id);
  const char *row = strstr(html, href);
  assert_non_null(row);
  const char *end = strstr(row, "</tr>");
  assert_non_null(end);
  char buf[1024];
  snprintf(buf, sizeof(buf), "%.*s", (int)(end - row), row);
  if (!strstr(buf, "<td>&ndash;</td><td>&ndash;</td><td class=\"skipped\"") ||
      !strstr(buf, "skipped (150 ratings &lt; min_ratings 200)"))
    fail_msg("week 3's row: %s", buf);
  assert_null(strstr(html, "0.2400")); /* the never-retrained figure */
  assert_non_null(strstr(html, "None: in every week right after a "
                               "promotion"));
  free(html);
  json_t *j = demo_result_to_json(&r);
  json_t *t = json_array_get(json_object_get(j, "timeline"), 2);
  assert_string_equal(json_string_value(json_object_get(t, "skipped")),
                      "150 ratings < min_ratings 200");
  assert_true(json_is_null(json_object_get(t, "top_100_categorical_accuracy")));
  assert_true(json_is_null(json_object_get(t, "never_retrained_top_100")));
  t = json_array_get(json_object_get(j, "timeline"), 3);
  assert_true(json_is_null(json_object_get(t, "skipped")));
  assert_true(json_number_value(json_object_get(t, "never_retrained_top_100"))
              == 0.236);
  json_t *pw = json_object_get(
      json_object_get(json_object_get(j, "comparison"), "never_vs_retrained"),
      "promoted_worse_than_never");
  assert_int_equal(json_array_size(pw), 0);
  json_decref(j);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_report),
      cmocka_unit_test(test_report_skipped),
      cmocka_unit_test(test_full_loop),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_apiclient),
      cmocka_unit_test(test_loop),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * ui_fixture.h - the Harvest home the web UI tests render pages against,
 * filled the way a user fills it, through the library services:
 *   - a synthetic MovieLens-shaped dataset with a sudden drift half way
 *     (synth_run),
 *   - `harvest tune`: a 2 x 2 grid (dim x lr) trained on the data before
 *     the drift, the best run registered as harvest_recommender in
 *     Production (tune_run),
 *   - `harvest monitor`: that model over four windows after the drift,
 *     logged as a run with its report.json (monitor_run),
 *   - `harvest retrain`: a decision from that report with the seed's
 *     policy, a stateful challenger trained and registered (retrain_run),
 *   - a run whose name, param and tag hold HTML and script,
 *   - the model UIF_CSRF_MODEL for the promote / archive tests: version 1
 *     in Production and version 2 in None (from two tune trials), made
 *     here so those tests never depend on what the retraining decided.
 * And a second, small home whose movie titles are hostile, with a model
 * file, for the escaping tests of the data and user pages.
 *
 * Included by tests/test_ui.c, test_ui_browser.c, test_ui_models.c and
 * test_ui_tune.c (the last two start their server through uif_start).
 */
#ifndef HV_TESTS_UI_FIXTURE_H
#define HV_TESTS_UI_FIXTURE_H

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/synth.h"
#include "model/model.h"
#include "monitor/monitor.h"
#include "retrain/retrain.h"
#include "serve/http/server.h"
#include "store/catalog.h"
#include "store/loader.h"
#include "store/db.h"
#include "track/registry.h"
#include "track/runs.h"
#include "train/dataset.h"
#include "train/tune.h"
#include "track/uri.h"
#include "testutil.h"

#define UIF_FN static __attribute__((unused))
#define UIF_WINDOWS 4
#define UIF_XSS "<script>alert(1)</script>"
#define UIF_XSS_ATTR "\"><img src=x onerror=alert(2)>"
#define UIF_CSRF_MODEL "ui_csrf"

struct uif {
  char home[256], db_path[512];
  struct synth_result syn;
  char tune_parent[33], best_run[33], worst_run[33];
  char trials[4][33];
  char monitor_run[33];
  char decision_run[33];
  char retrain_action[24];
  int challenger_version;
  char xss_run[33];
};

#define UIF_CHECK(call, e)                                                  \
  do {                                                                      \
    if ((call) != 0)                                                        \
      fail_msg("%s: %s", #call, (e).msg);                                   \
  } while (0)

UIF_FN void uif_tune(struct hv_db *db, struct uif *f)
{
  struct hv_err e = {0};
  struct train_config base;
  train_config_defaults(&base);
  base.epochs = 3;
  base.batch = 1024;
  base.threads = 1;
  base.first_rating_id = 1;
  base.last_rating_id = f->syn.drift_first_rating_id - 1;
  struct tune_grid g = {0};
  UIF_CHECK(tune_grid_add(&g, "dim=8,16", &e), e);
  UIF_CHECK(tune_grid_add(&g, "lr=0.05,0.1", &e), e);
  struct tune_opts o = {.home = f->home, .experiment = "tune",
                        .register_name = "harvest_recommender",
                        .stage = "Production"};
  struct tune_result res;
  memset(&res, 0, sizeof(res));
  UIF_CHECK(tune_run(db, &base, &g, &o, &res, &e), e);
  snprintf(f->tune_parent, 33, "%s", res.parent_run_id);
  snprintf(f->best_run, 33, "%s", res.trials[res.best].run_id);
  snprintf(f->worst_run, 33, "%s",
           res.trials[res.order[res.n_trials - 1]].run_id);
  for (size_t i = 0; i < 4; i++)
    snprintf(f->trials[i], 33, "%s", res.trials[i].run_id);
  tune_result_free(&res);
  tune_grid_free(&g);
}

/* Monitor Production over four windows after the drift into *report
 * (caller monitor_report_free's it). */
UIF_FN void uif_monitor(struct hv_db *db, struct uif *f,
                        struct monitor_report *report)
{
  struct hv_err e = {0};
  struct uri_target t;
  UIF_CHECK(uri_resolve_ex(f->home, db,
                           "models:/harvest_recommender/Production", &t, &e),
            e);
  struct hv_model *m = NULL;
  UIF_CHECK(model_load(t.path, &m, &e), e);
  struct window_spec w[UIF_WINDOWS];
  int64_t first = f->syn.drift_first_rating_id, last = f->syn.ratings;
  int64_t step = (last - first + 1) / UIF_WINDOWS;
  for (int i = 0; i < UIF_WINDOWS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].kind = WINDOW_RATING_IDS;
    w[i].first = first + i * step;
    w[i].last = i + 1 == UIF_WINDOWS ? last : first + (i + 1) * step - 1;
    snprintf(w[i].name, sizeof(w[i].name), "%lld:%lld",
             (long long)w[i].first, (long long)w[i].last);
  }
  struct monitor_config c;
  monitor_config_defaults(&c);
  c.mode = MONITOR_BATCHES;
  c.windows = w;
  c.n_windows = UIF_WINDOWS;
  c.log_run = 1;
  c.model_uri = "models:/harvest_recommender/Production";
  /* a small ranker on the same lineage: the page charts its RMSE gap and
   * the exposure of the served (blend) lists */
  struct train_config rc;
  struct train_config ml;
  model_config(m, &ml);
  train_config_ranking(&rc);
  rc.dim = 8;
  rc.hidden = 8;
  rc.epochs = 1;
  rc.split = 1.0;
  rc.threads = 1;
  rc.first_rating_id = ml.first_rating_id;
  rc.last_rating_id = ml.last_rating_id;
  struct hv_model *rk = NULL;
  UIF_CHECK(dataset_train(db, &rc, NULL, NULL, NULL, &rk, &e), e);
  c.ranker = rk;
  c.ranker_uri = "fixture ranker";
  UIF_CHECK(monitor_run(db, f->home, m, &c, report, &e), e);
  snprintf(f->monitor_run, 33, "%s", report->run_id);
  model_free(rk);
  model_free(m);
}

UIF_FN void uif_retrain(struct hv_db *db, struct uif *f,
                        const struct monitor_report *report)
{
  struct hv_err e = {0};
  struct retrain_opts o;
  retrain_opts_defaults(&o);
  o.home = f->home;
  o.report = report;
  o.epochs = 2;
  o.threads = 1;
  o.who = "ui-test";
  struct retrain_result r;
  UIF_CHECK(retrain_run(db, &o, &r, &e), e);
  snprintf(f->decision_run, 33, "%s", r.decision_run_id);
  snprintf(f->retrain_action, sizeof(f->retrain_action), "%s", r.action);
  f->challenger_version = r.challenger_version;
  retrain_result_free(&r);
}

UIF_FN void uif_xss_run(struct hv_db *db, struct uif *f)
{
  struct hv_err e = {0};
  UIF_CHECK(runs_start(db, "xss", UIF_XSS, NULL, f->xss_run, &e), e);
  UIF_CHECK(runs_log_param(db, f->xss_run, "payload", UIF_XSS_ATTR, &e), e);
  UIF_CHECK(runs_set_tag(db, f->xss_run, "note", UIF_XSS, &e), e);
  char json[400] = "{\"policy\": \"" UIF_XSS "\"";
  for (int i = 0; i < 20; i++) /* a long value: folded on the run page */
    snprintf(json + strlen(json), sizeof(json) - strlen(json),
             ", \"k%d\": %d", i, i);
  strcat(json, "}");
  UIF_CHECK(runs_log_param(db, f->xss_run, "long_json", json, &e), e);
  UIF_CHECK(runs_log_metric(db, f->xss_run, "loss", 1.5, 0, &e), e);
  UIF_CHECK(runs_log_metric(db, f->xss_run, "loss", 1.0, 1, &e), e);
  UIF_CHECK(runs_end(db, f->xss_run, "FINISHED", &e), e);
}

/* UIF_CSRF_MODEL: trial 0's model as version 1 in Production, trial 1's
 * as version 2 in None. */
UIF_FN void uif_csrf_model(struct hv_db *db, struct uif *f)
{
  struct hv_err e = {0};
  for (int i = 0; i < 2; i++) {
    struct registry_register_opts o = {.name = UIF_CSRF_MODEL,
                                       .run_id = f->trials[i],
                                       .stage = i ? NULL : "Production",
                                       .reason = "ui fixture",
                                       .who = "ui-fixture"};
    int v = 0;
    UIF_CHECK(registry_register(f->home, db, &o, &v, &e), e);
    if (v != i + 1)
      fail_msg("%s: registered version %d, expected %d", UIF_CSRF_MODEL, v,
               i + 1);
  }
}

/* Build the main home into f (a new temporary folder). */
UIF_FN void uif_build(struct uif *f)
{
  memset(f, 0, sizeof(*f));
  tu_tmpdir(f->home, sizeof(f->home));
  snprintf(f->db_path, sizeof(f->db_path), "%s/harvest.db", f->home);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  UIF_CHECK(db_open(f->db_path, &db, &e), e);
  struct synth_config sc;
  synth_defaults(&sc);
  sc.users = 300;
  sc.movies = 400;
  sc.ratings = 20000;
  sc.days = 60;
  sc.drift = SYNTH_DRIFT_SUDDEN;
  UIF_CHECK(synth_run(db, &sc, NULL, NULL, &f->syn, &e), e);
  uif_tune(db, f);
  struct monitor_report report;
  uif_monitor(db, f, &report);
  uif_retrain(db, f, &report);
  monitor_report_free(&report);
  uif_xss_run(db, f);
  uif_csrf_model(db, f);
  db_close(db);
}

/* A small home whose first movies have hostile titles; every user rated
 * movie 1. *model gets a trained model file in it. */
UIF_FN void uif_hostile_home(char *home, size_t cap, char *model, size_t mcap)
{
  static const char *const titles[] = {
      UIF_XSS " (1999)", "Quote \" & 'apos' (2000)",
      "<img src=x onerror=alert(3)> (2001)", "Am\xc3\xa9lie (2001)"};
  struct hv_err e = {0};
  struct hv_db *db = NULL;
  char path[512];
  tu_tmpdir(home, cap);
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  snprintf(model, mcap, "%s/m.hvm", home);
  UIF_CHECK(db_open(path, &db, &e), e);
  struct loader *ld = NULL;
  UIF_CHECK(loader_begin(db, 1, &ld, &e), e);
  UIF_CHECK(loader_genre(ld, 0, "Drama", &e), e);
  int g[] = {0};
  for (int m = 1; m <= 30; m++) {
    char title[64];
    snprintf(title, sizeof(title), "Movie %d (19%02d)", m, 50 + m);
    struct hv_movie mv = {.id = m, .title = m <= 4 ? titles[m - 1] : title,
                          .release_year = 1950 + m, .genre_ids = g,
                          .n_genres = 1};
    UIF_CHECK(loader_movie(ld, &mv, &e), e);
  }
  int64_t rid = 1;
  for (int u = 1; u <= 20; u++) {
    struct hv_user us = {.id = u, .raw_age = 20 + u, .bucketized_age =
                             catalog_age_bucket(20 + u),
                         .gender = u % 2 ? "M" : "F",
                         .occupation_text = "writer", .occupation_label = 3,
                         .zip_code = "55455"};
    UIF_CHECK(loader_user(ld, &us, &e), e);
    for (int k = 0; k < 8; k++) {
      int m = k == 0 ? 1 : 5 + (u * 7 + k * 3) % 26;
      struct hv_rating r = {.rating_id = rid, .user_id = u, .movie_id = m,
                            .rating = 1 + (u + k) % 5,
                            .timestamp = 100000 + rid};
      rid++;
      UIF_CHECK(loader_rating(ld, &r, &e), e);
    }
  }
  UIF_CHECK(loader_commit(ld, "hostile", "generated", &e), e);
  struct train_config c;
  struct hv_model *m = NULL;
  train_config_tutorial(&c);
  c.dim = 8;
  c.epochs = 2;
  c.batch = 64;
  c.split = 1;
  c.threads = 1;
  c.first_rating_id = 0;
  c.last_rating_id = INT64_MAX;
  UIF_CHECK(dataset_train(db, &c, NULL, NULL, NULL, &m, &e), e);
  UIF_CHECK(model_save(m, model, &e), e);
  model_free(m);
  db_close(db);
}

/* "X-Admin-Key: KEY" of home's admin.key (written by the server at its
 * start) into hdr. */
UIF_FN void uif_admin_header(const char *home, char *hdr, size_t cap)
{
  char path[512], key[256] = "";
  snprintf(path, sizeof(path), "%s/admin.key", home);
  FILE *f = fopen(path, "r");
  if (!f || !fgets(key, (int)sizeof(key), f))
    fail_msg("no admin key in %s", path);
  fclose(f);
  key[strcspn(key, "\n")] = '\0';
  snprintf(hdr, cap, "X-Admin-Key: %s", key);
}

/* Start a server on a free port of 127.0.0.1 for home (and model_file,
 * may be NULL); logs go to log_fd. */
UIF_FN struct serve *uif_serve(const char *home, const char *model_file,
                               int log_fd, char *base, size_t cap)
{
  struct serve_config c = {.home = home, .port = 0, .threads = 2,
                           .model_file = model_file, .access_log = 0,
                           .poll_seconds = 0.1, .timeout_s = 10,
                           .log_fd = log_fd};
  c.auth.opslimit = 1;    /* crypto_pwhash_OPSLIMIT_MIN: fast tests */
  c.auth.memlimit = 8192; /* crypto_pwhash_MEMLIMIT_MIN */
  struct serve *s = NULL;
  struct hv_err e = {0};
  if (serve_start(&c, &s, &e))
    fail_msg("serve_start: %s", e.msg);
  snprintf(base, cap, "http://127.0.0.1:%d", serve_port(s));
  return s;
}

/* A fixture home with its server: built, started on a free port, the
 * admin key read; logs in the home's server.log. */
struct uif_srv {
  struct serve *s;
  int log;
  char base[64], admin[300];
};

UIF_FN void uif_start(struct uif *f, struct uif_srv *v)
{
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  uif_build(f);
  char path[512];
  snprintf(path, sizeof(path), "%s/server.log", f->home);
  v->log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (v->log < 0)
    fail_msg("%s: cannot open", path);
  v->s = uif_serve(f->home, NULL, v->log, v->base, sizeof(v->base));
  uif_admin_header(f->home, v->admin, sizeof(v->admin));
}

UIF_FN void uif_stop(struct uif *f, struct uif_srv *v)
{
  serve_stop(v->s, 5);
  close(v->log);
  tu_rmtree(f->home);
}

#endif

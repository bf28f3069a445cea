/*
 * demo_rank.c - the ranking stage in `harvest demo`: see demo_rank.h.
 */
#include "demo/demo_rank.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "retrain/retrain.h"
#include "store/db.h"
#include "track/registry.h"
#include "track/uri.h"
#include "train/trainrun.h"
#include "util/json.h"

/* The Production ranker into *rk and its version. */
static int load_ranker(struct hv_db *db, const char *home,
                       struct hv_model **rk, int *version,
                       struct hv_err *err)
{
  struct uri_target t;
  if (uri_resolve_ex(home, db, "models:/" REGISTRY_DEFAULT_RANKER
                     "/Production", &t, err))
    return err->code;
  *version = t.version;
  return model_load(t.path, rk, err);
}

int demo_rank_first(struct hv_db *db, const struct demo_config *c,
                    int64_t last_id, struct hv_model **rk,
                    struct demo_result *r, struct hv_err *err)
{
  struct train_config tc;
  train_config_ranking(&tc);
  tc.epochs = c->epochs;
  tc.split = 0.8;
  tc.seed = 42;
  tc.first_rating_id = 0;
  tc.last_rating_id = last_id;
  struct trainrun_opts o = {0};
  o.home = c->home;
  o.experiment = "demo-ranker";
  o.run_name = "ranker-first";
  struct trainrun_result tr;
  int rc = trainrun_run(db, &tc, &o, &tr, err);
  if (!rc) {
    r->ranker_rmse = tr.train.rank_test.rmse;
    struct registry_register_opts ro = {0};
    ro.name = REGISTRY_DEFAULT_RANKER;
    ro.run_id = tr.run_id;
    ro.stage = "Production";
    ro.who = "demo";
    ro.reason = "demo: the first ranker, trained on the training weeks";
    rc = registry_register(c->home, db, &ro, &r->ranker_initial_version,
                           err);
    r->ranker_final_version = r->ranker_initial_version;
  }
  trainrun_result_free(&tr);
  int v = 0;
  return rc ? rc : load_ranker(db, c->home, rk, &v, err);
}

int demo_rank_week(struct hv_db *db, const struct demo_config *c,
                   const struct monitor_report *report, struct demo_week *w,
                   struct hv_model **rk, struct demo_result *r,
                   struct hv_err *err)
{
  struct retrain_opts o;
  retrain_opts_defaults(&o);
  o.home = c->home;
  o.model_name = REGISTRY_DEFAULT_RANKER;
  o.policy = &c->rank_policy;
  o.holdout = c->holdout;
  o.margin = c->rank_margin;
  o.epochs = c->epochs;
  o.report = report;
  o.who = "demo";
  struct retrain_result rr;
  if (retrain_run(db, &o, &rr, err)) {
    retrain_result_free(&rr);
    return err->code;
  }
  const struct monitor_window *win = &report->windows[0];
  w->ranker_rmse = win->metrics.ranker_n ? win->metrics.ranker_rmse : NAN;
  snprintf(w->ranker_action, sizeof(w->ranker_action), "%s", rr.action);
  w->ranker_version = rr.champion_version;
  w->ranker_version_after = rr.production_version;
  w->ranker_champion_rmse = rr.champion_rmse;
  w->ranker_challenger_rmse = rr.challenger.ran ? rr.challenger.rmse : NAN;
  int promoted = !strcmp(rr.action, "promoted");
  r->ranker_retrains += rr.challenger.ran;
  r->ranker_promotions += promoted;
  r->ranker_final_version = rr.production_version;
  retrain_result_free(&rr);
  if (!promoted)
    return 0;
  model_free(*rk);
  *rk = NULL;
  int v = 0;
  return load_ranker(db, c->home, rk, &v, err);
}

json_t *demo_rank_week_json(const struct demo_week *w)
{
  if (!w->ranker_action[0])
    return json_null();
  return json_pack("{s:o, s:s, s:i, s:i, s:o, s:o}", "rmse",
                   hv_json_num(w->ranker_rmse), "action", w->ranker_action,
                   "version", w->ranker_version, "next_version",
                   w->ranker_version_after, "champion_rmse",
                   hv_json_num(w->ranker_champion_rmse), "challenger_rmse",
                   hv_json_num(w->ranker_challenger_rmse));
}

json_t *demo_rank_json(const struct demo_result *r)
{
  if (!r->ranker_initial_version)
    return json_null();
  return json_pack("{s:i, s:o, s:i, s:i, s:i}", "initial_version",
                   r->ranker_initial_version, "test_rmse",
                   hv_json_num(r->ranker_rmse), "retrains",
                   r->ranker_retrains, "promotions", r->ranker_promotions,
                   "final_version", r->ranker_final_version);
}

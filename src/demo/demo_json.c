/*
 * demo_json.c - `harvest demo`'s result as JSON (demo_result_to_json, see
 * demo.h): the timeline, the comparisons, the requests and the weeks a
 * promotion did worse than the never-retrained model. Threads: pure.
 */
#include <math.h>

#include "demo/demo.h"
#include "demo/demo_rank.h"
#include "util/json.h"

/* ---- JSON ---------------------------------------------------------------------------- */

/* A run id, or null when there is none. */
static json_t *run_or_null(const char *id)
{
  return id[0] ? json_string(id) : json_null();
}

static json_t *week_json(const struct demo_week *w)
{
  json_t *retrain = json_null();
  if (!isnan(w->stateful_top100))
    retrain = json_pack(
        "{s:o, s:{s:o, s:o, s:I}, s:{s:o, s:o, s:I}, s:b, s:o}",
        "champion_top_100", hv_json_num(w->champion_top100), "stateful",
        "seconds", hv_json_num(w->stateful_seconds),
        "top_100_categorical_accuracy", hv_json_num(w->stateful_top100),
        "ratings", (json_int_t)w->stateful_ratings, "scratch", "seconds",
        hv_json_num(w->scratch_seconds), "top_100_categorical_accuracy",
        hv_json_num(w->scratch_top100), "ratings",
        (json_int_t)w->scratch_ratings, "promoted", w->stateful_promoted,
        "swap_seconds", hv_json_num(w->swap_seconds));
  return json_pack(
      "{s:i, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:s, s:s, "
      "s:s, s:s, s:i, s:i, s:o, s:I, s:I, s:s, s:o, s:o, s:o, s:o}",
      "week", w->week, "new_ratings", (json_int_t)w->new_ratings,
      "first_rating_id", (json_int_t)w->first_id, "last_rating_id",
      (json_int_t)w->last_id, "top_100_categorical_accuracy",
      hv_json_num(demo_week_top100(w, 0)), "top_10_categorical_accuracy",
      hv_json_num(w->skipped[0] ? NAN : w->top10), "never_retrained_top_100",
      hv_json_num(demo_week_top100(w, 1)), "skipped",
      w->skipped[0] ? json_string(w->skipped) : json_null(), "dataset_drift",
      w->dataset_drift < 0 ? json_null() : json_boolean(w->dataset_drift),
      "n_drifted", w->n_drifted, "n_features", w->n_features,
      "drifted_features", w->drifted, "action", w->action, "detail", w->detail,
      "reasons", w->reasons, "model_version", w->version, "next_model_version",
      w->version_after, "retrain", retrain, "requests", (json_int_t)w->requests,
      "failed_requests", (json_int_t)w->failed, "decision_run_id",
      w->decision_run_id, "ranker", demo_rank_week_json(w),
      "monitor_run_id", run_or_null(w->monitor_run_id), "challenger_run_id",
      run_or_null(w->challenger_run_id), "scratch_run_id",
      run_or_null(w->scratch_run_id));
}

/* The weeks demo_fresh_worse names: [{"week", "model_version",
 * "top_100", "never_retrained_top_100"}]. */
static json_t *worse_json(const struct demo_result *r)
{
  json_t *a = json_array();
  for (size_t i = 0; a && i < r->n_weeks; i++)
    if (demo_fresh_worse(r, i))
      json_array_append_new(
          a, json_pack("{s:i, s:i, s:o, s:o}", "week", r->weeks[i].week,
                       "model_version", r->weeks[i].version, "top_100",
                       hv_json_num(demo_week_top100(&r->weeks[i], 0)),
                       "never_retrained_top_100",
                       hv_json_num(demo_week_top100(&r->weeks[i], 1))));
  return a;
}

static json_t *comparison_json(const struct demo_result *r)
{
  json_t *rows = json_array();
  for (size_t i = 0; rows && i < r->n_weeks; i++) {
    const struct demo_week *w = &r->weeks[i];
    if (isnan(w->stateful_top100))
      continue;
    json_array_append_new(
        rows,
        json_pack("{s:i, s:o, s:{s:o, s:o, s:I}, s:{s:o, s:o, s:I}}", "week",
                  w->week, "champion_top_100", hv_json_num(w->champion_top100),
                  "stateful", "seconds", hv_json_num(w->stateful_seconds),
                  "top_100", hv_json_num(w->stateful_top100), "ratings",
                  (json_int_t)w->stateful_ratings, "scratch", "seconds",
                  hv_json_num(w->scratch_seconds), "top_100",
                  hv_json_num(w->scratch_top100), "ratings",
                  (json_int_t)w->scratch_ratings));
  }
  return json_pack(
      "{s:o, s:o, s:o, s:o, s:o, s:{s:i, s:o, s:o, s:o, s:o, s:o}}",
      "stateful_vs_scratch", rows, "stateful_mean_seconds",
      hv_json_num(r->stateful_mean_seconds), "scratch_mean_seconds",
      hv_json_num(r->scratch_mean_seconds), "stateful_mean_top_100",
      hv_json_num(r->stateful_mean_top100), "scratch_mean_top_100",
      hv_json_num(r->scratch_mean_top100), "never_vs_retrained",
      "first_promotion_week", r->first_promotion_week,
      "never_retrained_mean_top_100_later", hv_json_num(r->never_mean_later),
      "retrained_mean_top_100_later", hv_json_num(r->serving_mean_later),
      "never_retrained_mean_top_100_all", hv_json_num(r->never_mean_all),
      "serving_mean_top_100_all", hv_json_num(r->serving_mean_all),
      "promoted_worse_than_never", worse_json(r));
}

json_t *demo_result_to_json(const struct demo_result *r)
{
  json_t *tl = json_array();
  for (size_t i = 0; tl && i < r->n_weeks; i++)
    json_array_append_new(tl, week_json(&r->weeks[i]));
  int64_t failed = r->posts_failed + r->recs_failed + r->load_failed;
  json_t *j = json_pack(
      "{s:{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i}, "
      "s:{s:s, s:s, s:o, s:o, s:i}, s:o, "
      "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}, s:o, s:i, s:i, "
      "s:i, s:i, s:s, s:o}",
      "dataset", "name", r->dataset, "users", (json_int_t)r->users, "movies",
      (json_int_t)r->movies, "ratings", (json_int_t)r->ratings, "train_ratings",
      (json_int_t)r->train_ratings, "replay_ratings",
      (json_int_t)r->replay_ratings, "drift_ts", (json_int_t)r->drift_ts,
      "drift_week", r->drift_week, "tune", "parent_run_id", r->tune_run_id,
      "best", r->tune_best, "best_top_100", hv_json_num(r->tune_best_top100),
      "seconds", hv_json_num(r->tune_seconds), "initial_version",
      r->initial_version, "timeline", tl, "requests", "total",
      (json_int_t)(r->posts_ok + r->recs_ok + r->load_ok + failed), "failed",
      (json_int_t)failed, "posts_ok", (json_int_t)r->posts_ok, "posts_failed",
      (json_int_t)r->posts_failed, "recommend_ok",
      (json_int_t)(r->recs_ok + r->load_ok), "recommend_failed",
      (json_int_t)(r->recs_failed + r->load_failed), "background_ok",
      (json_int_t)r->load_ok, "version_regressions",
      (json_int_t)r->version_regressions, "first_failure", r->first_failure,
      "comparison", comparison_json(r), "retrains", r->n_retrains, "promotions",
      r->n_promotions, "final_version", r->final_version, "port", r->port,
      "report", r->report_path, "seconds", hv_json_num(r->seconds));
  if (j) {
    json_object_set_new(j, "ranker", demo_rank_json(r));
    json_object_set_new(j, "model", json_string(r->model));
    json_object_set_new(j, "ui_url", json_string(r->ui_url));
  }
  return j;
}

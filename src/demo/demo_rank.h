/*
 * demo_rank.h - the ranking stage in `harvest demo`: the first ranker
 * (trained on the training weeks, registered as REGISTRY_DEFAULT_RANKER in
 * Production, so the demo's server answers retrieve-then-rank), and each
 * week's decision for it (retrain_run with the ranker as champion and the
 * week's monitoring report, which carries its RMSE: the same policy code
 * as the retrieval stage, gated by held-out RMSE).
 *
 * Design: kept out of demo.c (which drives the replay) so each file holds
 * one concern; these functions take what they need explicitly.
 *
 * Threads: the caller's thread; uses db exclusively while running.
 */
#ifndef HV_DEMO_DEMO_RANK_H
#define HV_DEMO_DEMO_RANK_H

#include <jansson.h>
#include <stdint.h>

#include "demo/demo.h"
#include "monitor/monitor_report.h"

struct hv_db;
struct hv_model;

/* Train the first ranker on the ratings with rating_id <= last_id (80/20
 * split, seed 42, c->epochs epochs), register it in Production as
 * REGISTRY_DEFAULT_RANKER and load it into *rk (caller frees); r gets its
 * version and test RMSE. Errors of training, the registry, loading. */
int demo_rank_first(struct hv_db *db, const struct demo_config *c,
                    int64_t last_id, struct hv_model **rk,
                    struct demo_result *r, struct hv_err *err) HV_WARN_UNUSED;

/* The week's decision for the ranking stage from its monitoring report
 * (which tracked *rk): retrain_run on REGISTRY_DEFAULT_RANKER with
 * c->rank_policy; fills w->ranker_* and r's ranker counters. After a
 * promotion *rk is replaced by the new Production ranker. */
int demo_rank_week(struct hv_db *db, const struct demo_config *c,
                   const struct monitor_report *report, struct demo_week *w,
                   struct hv_model **rk, struct demo_result *r,
                   struct hv_err *err) HV_WARN_UNUSED;

/* The week's ranking stage as JSON ({"rmse", "action", "version",
 * "next_version", "champion_rmse", "challenger_rmse"}), or null when the
 * demo ran without a ranker. New reference. */
json_t *demo_rank_week_json(const struct demo_week *w);

/* The run's ranking stage as JSON ({"initial_version", "test_rmse",
 * "retrains", "promotions", "final_version"}), or null without one. */
json_t *demo_rank_json(const struct demo_result *r);

#endif

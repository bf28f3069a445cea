/*
 * monitor_log.h - a finished monitoring report as a tracked run: params,
 * metrics by step = window index, and the report's JSON as the artifact
 * MONITOR_ARTIFACT. Internal to monitor/ (monitor_run calls it with
 * cfg->log_run).
 *
 * Design: logging reads the finished report, so what is logged is exactly
 * what monitor_run returns and the artifact is monitor_report_to_json of
 * it (17 significant digits, so it reads back as the same doubles).
 *
 * Threads: uses db exclusively while it runs.
 */
#ifndef HV_MONITOR_MONITOR_LOG_H
#define HV_MONITOR_MONITOR_LOG_H

#include "monitor/monitor.h"
#include "util/err.h"

struct hv_db;

/* Start a run in cfg->experiment (named cfg->run_name, else "monitor-<first
 * window>", child of cfg->parent_run_id), set rep->run_id, log params
 * (model_uri, model_sha256, reference, mode, threshold_share,
 * window_seconds for time windows) and metrics by step = the window's
 * index (n_ratings, n_users, in_sample_share; for windows not skipped
 * drifted_share, dataset_drift, top_K_categorical_accuracy, health.*,
 * the fairness report, FEATURE.statistic and FEATURE.drift of the judged
 * features; a run of empty windows logs its counts once, at its first
 * index), store the artifact under home and
 * end the run FINISHED, or FAILED when a step fails. Returns 0, HV_EINVAL
 * (no home), or a store / artifact error. */
int monitor_log_run(struct hv_db *db, const char *home,
                    const struct monitor_config *cfg,
                    struct monitor_report *rep,
                    struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * registry.h - the model registry: registered models, numbered versions,
 * stages (None / Staging / Production / Archived, as the seed used them),
 * aliases (@champion, @challenger, as newer MLflow uses them) and the audit
 * log of every stage change and alias move.
 *
 * Design: a version is registered from a run's artifact whose bytes are
 * re-hashed first, so a version always names an existing, checksum-valid
 * blob (blobs are immutable, so this stays true). Changes run in one
 * database transaction with their audit rows (store/registry_db.c).
 *
 * Production differs from MLflow on purpose: MLflow lets several versions
 * sit in Production unless archive_existing_versions=True is passed. Harvest
 * keeps at most one: moving a version to Production while another is there
 * is refused (HV_ECONFLICT, "pass --archive-existing") unless
 * archive_existing is set, which archives the old one in the same
 * transaction. For Staging, archive_existing archives the other Staging
 * versions (MLflow's behaviour); without it several may be in Staging.
 *
 * @champion follows Production: every move of a version into Production
 * (registry_transition, registry_register with a stage, retrain's
 * promotion, the web UI's Promote) points the alias at it in the same
 * transaction (REGISTRY_ALIAS_PRODUCTION), and a move of the version it
 * names out of Production deletes it, each audited (alias_set /
 * alias_delete) with the transition's reason. Setting the alias by hand
 * (registry_set_alias) is still allowed; the next move into Production
 * takes it back, as does moving the Production version to Production
 * again.
 *
 * Threads: stateless; one connection per thread.
 */
#ifndef HV_TRACK_REGISTRY_H
#define HV_TRACK_REGISTRY_H

#include <jansson.h>

#include "store/registry_db.h"
#include "util/err.h"

struct hv_db;

#define REGISTRY_DEFAULT_MODEL "harvest_recommender"
#define REGISTRY_DEFAULT_RANKER "harvest_ranker" /* the ranking stage */
#define REGISTRY_ALIAS_PRODUCTION "champion" /* follows Production */
#define REGISTRY_MAX_NAME 128
#define REGISTRY_MAX_ALIAS 64
#define REGISTRY_MAX_TEXT 5000 /* descriptions and reasons */

/* 0 when name is a model name: 1-128 of [A-Za-z0-9_.-], starting with a
 * letter or digit. HV_EINVAL otherwise. */
int registry_check_name(const char *name, struct hv_err *err) HV_WARN_UNUSED;

/* 0 when alias is 1-64 of [a-z0-9_-] and not reserved ("latest" or
 * "v<digits>", which MLflow URIs already mean). */
int registry_check_alias(const char *alias,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Canonical stage name for s (case-insensitive "none", "staging",
 * "production", "archived") into *out (static string). */
int registry_parse_stage(const char *s, const char **out,
                         struct hv_err *err) HV_WARN_UNUSED;

/* Who to write in the audit log and on runs: $USER, else $LOGNAME, else
 * the name of the effective user id's account, else "unknown". Borrowed
 * (valid until the calling thread's next call). */
const char *registry_who(void);

struct registry_register_opts {
  const char *name;          /* NULL: REGISTRY_DEFAULT_MODEL */
  const char *run_id;        /* source run (required) */
  const char *artifact_path; /* NULL: ARTIFACTS_MODEL_PATH */
  const char *description;   /* NULL: "" */
  const char *stage;         /* NULL or "None": stay in None; else any
                                spelling registry_parse_stage accepts */
  int archive_existing;      /* see registry_transition */
  const char *reason;        /* for the audit log; NULL: "" */
  const char *who;           /* NULL: registry_who() */
};

/* Register the artifact of a run as the next version of a model (created
 * on first use), verifying the artifact's checksum first, and optionally
 * move it to o->stage in the same transaction. *version gets the number.
 * HV_ENOTFOUND for an unknown run or artifact, HV_ECORRUPT for a damaged
 * one, HV_ECONFLICT when the stage is Production and another version is
 * there without archive_existing (nothing is registered then). */
int registry_register(const char *home, struct hv_db *db,
                      const struct registry_register_opts *o, int *version,
                      struct hv_err *err) HV_WARN_UNUSED;

/* The FINISHED run of experiment with the best value of metric (highest
 * when descending, else lowest) that has artifact artifact_path (NULL: the
 * model file). run_id receives it, *value (may be NULL) the metric.
 * HV_ENOTFOUND when no run qualifies. */
int registry_best_run(struct hv_db *db, const char *experiment,
                      const char *metric, int descending,
                      const char *artifact_path, char run_id[33],
                      double *value, struct hv_err *err) HV_WARN_UNUSED;

/* Move version of model to stage (any spelling registry_parse_stage
 * accepts); see the header comment for Production and archive_existing.
 * Audited with reason and who (NULL: registry_who()). */
int registry_transition(struct hv_db *db, const char *name, int version,
                        const char *stage, int archive_existing,
                        const char *reason, const char *who,
                        struct hv_err *err) HV_WARN_UNUSED;

/* Point alias of model at version (moving it if set), audited. */
int registry_set_alias(struct hv_db *db, const char *name, const char *alias,
                       int version, const char *who,
                       struct hv_err *err) HV_WARN_UNUSED;

/* Delete alias of model, audited. HV_ENOTFOUND when it is not set. */
int registry_delete_alias(struct hv_db *db, const char *name,
                          const char *alias, const char *who,
                          struct hv_err *err) HV_WARN_UNUSED;

/* Check every registry invariant: database integrity (db_check), at most
 * one Production version per model, every version's blob present with a
 * valid checksum, each version's stage equal to its last audited stage and
 * each alias equal to its last audited move. 0 when all hold, HV_ECORRUPT
 * naming the first violation otherwise. */
int registry_check(const char *home, struct hv_db *db,
                   struct hv_err *err) HV_WARN_UNUSED;

/* JSON of a model: name, description, created_at, updated_at, versions
 * [{version, stage, run_id, artifact_path, sha256, size, description,
 * created_at, aliases}], aliases {alias: version}, latest_versions {stage:
 * version} and, with with_audit, audit [...]. New reference or NULL. */
json_t *registry_model_to_json(const struct registry_model *m,
                               int with_audit);

#endif

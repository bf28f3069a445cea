/*
 * registry_db.h - the model registry's records: registered models,
 * versions, stages, aliases and the audit log (the store side of
 * track/registry.c, hence the _db in the name).
 *
 * Design: every change is one write transaction that also writes its audit
 * rows, so a crash at any point leaves either the whole change
 * (with its audit entries) or none of it. "At most one Production version
 * per model" is checked here with a clear error and is also a partial unique
 * index in the schema, so no code path can break it (a backend without
 * partial indexes must give the same guarantee). Stage names passed in
 * are canonical (None / Staging / Production / Archived); track/registry.c
 * parses user spellings.
 *
 * Threads: a struct hv_db belongs to one thread at a time (see db.h).
 */
#ifndef HV_STORE_REGISTRY_DB_H
#define HV_STORE_REGISTRY_DB_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

/* One model version; strings owned by the record. */
struct registry_version {
  char *model;
  int version;
  char run_id[33];      /* empty when registered without a run */
  char *artifact_path;  /* logical path within the run */
  char sha256[65];
  int64_t size;
  char stage[16];
  char *description;
  double created_at, updated_at;
};

struct registry_alias {
  char *alias;
  int version;
};

/* One audit entry. action: register / transition / alias_set /
 * alias_delete. from_stage/to_stage for register and transition (register
 * has from_stage NULL); alias and from_version (0 when none) for alias
 * moves, version being the new target (alias_set) or the old one
 * (alias_delete). */
struct registry_audit {
  int64_t id;
  double time;
  int version;
  char *action;
  char *from_stage, *to_stage;
  char *alias;
  int from_version;
  char *reason;
  char *who;
};

/* A registered model with its versions (by number), aliases (by name) and,
 * when asked for, its audit log (oldest first). Free with
 * registry_db_model_free / registry_db_models_free. */
struct registry_model {
  char *name;
  char *description;
  double created_at, updated_at;
  struct registry_version *versions;
  size_t n_versions;
  struct registry_alias *aliases;
  size_t n_aliases;
  struct registry_audit *audit;
  size_t n_audit;
};

/* A new version (strings borrowed). */
struct registry_db_new {
  const char *model;
  const char *model_description; /* used when the model is created */
  const char *run_id;            /* NULL: none */
  const char *artifact_path;
  const char *sha256;
  int64_t size;
  const char *description;
  const char *stage;    /* canonical; "None" or NULL for no transition */
  int archive_existing; /* see registry_db_transition */
  const char *production_alias; /* see registry_db_transition */
  const char *reason;
  const char *who;
};

/* Create the model if missing and add version max+1 in stage None, then
 * (same transaction) transition it to v->stage. *version gets the number.
 * All or nothing. */
int registry_db_create_version(struct hv_db *db,
                               const struct registry_db_new *v, int *version,
                               struct hv_err *err) HV_WARN_UNUSED;

/* Move version of model to stage. Production: when another version is in
 * Production, archive_existing moves it to Archived (audited), otherwise
 * HV_ECONFLICT. Staging with archive_existing archives the other Staging
 * versions (MLflow's archive_existing_versions). Moving to the stage it is
 * already in is a no-op with no audit entry. HV_ENOTFOUND for an unknown
 * model or version. production_alias (NULL: none) follows the Production
 * version in the same transaction: it moves to version when version enters
 * Production, and is deleted when the version it names leaves Production
 * (each move audited as alias_set / alias_delete with the same reason). */
int registry_db_transition(struct hv_db *db, const char *model, int version,
                           const char *stage, int archive_existing,
                           const char *production_alias, const char *reason,
                           const char *who, struct hv_err *err) HV_WARN_UNUSED;

/* Point alias at version (version > 0) or delete it (version == 0;
 * HV_ENOTFOUND when it does not exist). Audited. */
int registry_db_set_alias(struct hv_db *db, const char *model,
                          const char *alias, int version, const char *reason,
                          const char *who, struct hv_err *err) HV_WARN_UNUSED;

/* All models by name with versions and aliases (no audit) into *out (*n). */
int registry_db_list(struct hv_db *db, struct registry_model **out,
                     size_t *n, struct hv_err *err) HV_WARN_UNUSED;

/* One model with versions, aliases and audit log into *out (free with
 * registry_db_model_free). HV_ENOTFOUND when unknown. */
int registry_db_get(struct hv_db *db, const char *model,
                    struct registry_model *out,
                    struct hv_err *err) HV_WARN_UNUSED;

/* Find one version into *out (free with registry_db_version_free):
 * by number (version > 0), else by alias (alias non-NULL), else the newest
 * version in stage (stage non-NULL), else the newest version. HV_ENOTFOUND
 * with a message naming what is missing. */
int registry_db_find(struct hv_db *db, const char *model, int version,
                     const char *alias, const char *stage,
                     struct registry_version *out,
                     struct hv_err *err) HV_WARN_UNUSED;

void registry_db_version_free(struct registry_version *v);
void registry_db_model_free(struct registry_model *m);
void registry_db_models_free(struct registry_model *m, size_t n);

#endif

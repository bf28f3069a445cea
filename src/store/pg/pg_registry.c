/*
 * pg_registry.c - the model registry's SQL for PostgreSQL (models,
 * versions, stages, aliases, audit log): see store/registry_db.h for the
 * contract, backend.h for the table.
 *
 * Design: every change runs inside db_begin, whose advisory lock makes the
 * write transactions of every host take turns: "archive the Production
 * version, then promote" and "the next version number" read what the
 * previous change committed, so two hosts promoting at once end with one
 * Production version (the partial unique index model_versions_one_production
 * backs that up), and two registering at once get consecutive numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg.h"
#include "util/fsutil.h"

struct audit_row {
  const char *model;
  int version;
  const char *action;
  const char *from_stage, *to_stage, *alias;
  int from_version;
  const char *reason, *who;
  double time;
};

static int audit(struct hv_db *db, const struct audit_row *x,
                 struct hv_err *err)
{
  struct pg_args a = pg_argsf("ftdttttdtt", x->time, x->model, x->version,
                              x->action, x->from_stage, x->to_stage, x->alias,
                              x->from_version, x->reason ? x->reason : "",
                              x->who ? x->who : "unknown");
  return pg_cmd(db,
                "INSERT INTO registry_audit(time, model, version, action,"
                " from_stage, to_stage, alias, from_version, reason, who)"
                " VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6, $7,"
                " NULLIF($8, 0), $9, $10)",
                0, &a, NULL, "writing audit log", err);
}

static int stage_row(const PGresult *r, int i, void *arg)
{
  pg_copy(r, i, 0, arg, 16);
  return 0;
}

/* Current stage of (model, version) into stage; HV_ENOTFOUND if missing. */
static int version_stage(struct hv_db *db, const char *model, int version,
                         char stage[16], struct hv_err *err)
{
  struct pg_args a = pg_argsf("td", model, version);
  size_t n = 0;
  int rc = pg_run(db,
                  "SELECT stage FROM model_versions WHERE model = $1 AND "
                  "version = $2",
                  0, &a, stage_row, stage, &n, "reading model version", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "model '%.100s' has no version %d; see 'harvest models "
                    "show %.100s'",
                    model, version, model);
  return rc;
}

static int set_stage(struct hv_db *db, const char *model, int version,
                     const char *stage, double now, struct hv_err *err)
{
  struct pg_args a = pg_argsf("tdtf", model, version, stage, now);
  return pg_cmd(db,
                "UPDATE model_versions SET stage = $3, updated_at = $4 WHERE "
                "model = $1 AND version = $2",
                0, &a, NULL, "changing stage", err);
}

/* Archive every other version of model in stage (they move to Archived
 * with an audit row each); HV_ECONFLICT when there are some and
 * archive_existing is not set. */
static int archive_others(struct hv_db *db, const char *model, int version,
                          const char *stage, int archive_existing,
                          const char *who, double now, struct hv_err *err)
{
  struct pg_args a = pg_argsf("tdt", model, version, stage);
  int64_t *vs = NULL;
  size_t n = 0;
  int rc = pg_run_ids(db,
                      "SELECT version FROM model_versions WHERE model = $1 "
                      "AND stage = $3 AND version != $2 ORDER BY version",
                      &a, &vs, &n, "reading stages", err);
  if (!rc && n && !archive_existing)
    rc = hv_err_set(
        err, HV_ECONFLICT,
        "model '%.100s' already has version %d in Production; pass "
        "--archive-existing (archive_existing) to move it to Archived",
        model, (int)vs[0]);
  char why[200];
  snprintf(why, sizeof(why), "archived: version %d moved to %s", version,
           stage);
  for (size_t i = 0; i < n && !rc; i++) {
    struct audit_row x = {model, (int)vs[i], "transition", stage, "Archived",
                          NULL, 0, why, who, now};
    if (!(rc = set_stage(db, model, (int)vs[i], "Archived", now, err)))
      rc = audit(db, &x, err);
  }
  free(vs);
  return rc;
}

/* The transition itself, inside an open transaction. */
static int transition_locked(struct hv_db *db, const char *model, int version,
                             const char *stage, int archive_existing,
                             const char *reason, const char *who,
                             struct hv_err *err)
{
  char from[16];
  int rc = version_stage(db, model, version, from, err);
  if (rc || !strcmp(from, stage))
    return rc;
  double now = hv_now();
  if ((!strcmp(stage, "Production") ||
       (archive_existing && !strcmp(stage, "Staging"))) &&
      (rc = archive_others(db, model, version, stage, archive_existing, who,
                           now, err)))
    return rc;
  struct audit_row x = {model, version, "transition", from, stage, NULL, 0,
                        reason, who, now};
  if ((rc = set_stage(db, model, version, stage, now, err)))
    return rc;
  return audit(db, &x, err);
}

static int transition(struct hv_db *db, const char *model, int version,
                      const char *stage, int archive_existing,
                      const char *reason, const char *who,
                      struct hv_err *err)
{
  int rc = db_begin(db, err);
  if (rc)
    return rc;
  rc = transition_locked(db, model, version, stage, archive_existing, reason,
                         who, err);
  return pg_end(db, rc, err);
}

static int insert_version(struct hv_db *db, const struct registry_db_new *v,
                          double now, int *version, struct hv_err *err)
{
  struct pg_args a = pg_argsf(
      "ttf", v->model, v->model_description ? v->model_description : "", now);
  if (pg_cmd(db,
             "INSERT INTO registered_models(name, description, created_at,"
             " updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT(name) DO "
             "UPDATE SET updated_at = excluded.updated_at",
             0, &a, NULL, "creating registered model", err))
    return HV_EDB;
  a = pg_argsf("ttttitf", v->model, v->run_id, v->artifact_path, v->sha256,
               v->size, v->description ? v->description : "", now);
  int64_t got = 0;
  int rc = pg_run_row(db,
                      "INSERT INTO model_versions(model, version, run_id,"
                      " artifact_path, sha256, size, stage, description,"
                      " created_at, updated_at) SELECT $1, COALESCE(MAX("
                      "version), 0) + 1, $2, $3, $4, $5, 'None', $6, $7, $7"
                      " FROM model_versions WHERE model = $1 RETURNING "
                      "version",
                      &a, &got, 1, "registering model version", err);
  *version = (int)got;
  return rc;
}

static int create_version(struct hv_db *db,
                          const struct registry_db_new *v, int *version,
                          struct hv_err *err)
{
  double now = hv_now();
  int got = 0, rc = db_begin(db, err);
  if (!rc)
    rc = insert_version(db, v, now, &got, err);
  struct audit_row x = {v->model, got, "register", NULL, "None", NULL, 0,
                        v->reason, v->who, now};
  if (!rc)
    rc = audit(db, &x, err);
  *version = got;
  if (!rc && v->stage && strcmp(v->stage, "None"))
    rc = transition_locked(db, v->model, *version, v->stage,
                           v->archive_existing, v->reason, v->who, err);
  return pg_end(db, rc, err);
}

static int alias_locked(struct hv_db *db, const char *model,
                        const char *alias, int version, const char *reason,
                        const char *who, struct hv_err *err)
{
  char stage[16];
  int rc;
  if (version > 0 && (rc = version_stage(db, model, version, stage, err)))
    return rc;
  struct pg_args a = pg_argsf("tt", model, alias);
  int64_t cur[2] = {0, 0};
  if ((rc = pg_run_row(db,
                       "SELECT COUNT(*), COALESCE(MAX(version), 0) FROM "
                       "model_aliases WHERE model = $1 AND alias = $2",
                       &a, cur, 2, "reading alias", err)))
    return rc;
  if (version == 0 && cur[1] == 0)
    return hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no alias '%s'",
                      model, alias);
  if (version == cur[1])
    return 0;
  if (version > 0)
    pg_arg_i64(&a, version);
  if ((rc = pg_cmd(db,
                   version > 0
                       ? "INSERT INTO model_aliases(model, alias, version) "
                         "VALUES ($1, $2, $3) ON CONFLICT(model, alias) DO "
                         "UPDATE SET version = excluded.version"
                       : "DELETE FROM model_aliases WHERE model = $1 AND "
                         "alias = $2",
                   0, &a, NULL, "writing alias", err)))
    return rc;
  struct audit_row x = {model, version > 0 ? version : (int)cur[1],
                        version > 0 ? "alias_set" : "alias_delete", NULL, NULL,
                        alias, version > 0 ? (int)cur[1] : 0, reason, who,
                        hv_now()};
  return audit(db, &x, err);
}

static int set_alias(struct hv_db *db, const char *model,
                     const char *alias, int version, const char *reason,
                     const char *who, struct hv_err *err)
{
  int rc = db_begin(db, err);
  if (rc)
    return rc;
  rc = alias_locked(db, model, alias, version, reason, who, err);
  return pg_end(db, rc, err);
}

/* ---- reading ---- */

#define VERSION_COLS                                                     \
  "model, version, run_id, artifact_path, sha256, size, stage, "         \
  "description, created_at, updated_at"

static void read_version(const PGresult *r, int i, void *el, int *oom)
{
  struct registry_version *v = el;
  v->model = pg_dup(r, i, 0, oom);
  v->version = (int)pg_i64(r, i, 1, 0);
  pg_copy(r, i, 2, v->run_id, sizeof(v->run_id));
  v->artifact_path = pg_dup(r, i, 3, oom);
  pg_copy(r, i, 4, v->sha256, sizeof(v->sha256));
  v->size = pg_i64(r, i, 5, 0);
  pg_copy(r, i, 6, v->stage, sizeof(v->stage));
  v->description = pg_dup(r, i, 7, oom);
  v->created_at = pg_f64(r, i, 8, 0);
  v->updated_at = pg_f64(r, i, 9, 0);
}

static void read_alias(const PGresult *r, int i, void *el, int *oom)
{
  struct registry_alias *a = el;
  a->alias = pg_dup(r, i, 0, oom);
  a->version = (int)pg_i64(r, i, 1, 0);
}

static void read_audit(const PGresult *r, int i, void *el, int *oom)
{
  struct registry_audit *a = el;
  a->id = pg_i64(r, i, 0, 0);
  a->time = pg_f64(r, i, 1, 0);
  a->version = (int)pg_i64(r, i, 2, 0);
  a->action = pg_dup(r, i, 3, oom);
  a->from_stage = pg_dup(r, i, 4, oom);
  a->to_stage = pg_dup(r, i, 5, oom);
  a->alias = pg_dup(r, i, 6, oom);
  a->from_version = (int)pg_i64(r, i, 7, 0);
  a->reason = pg_dup(r, i, 8, oom);
  a->who = pg_dup(r, i, 9, oom);
}

static void read_model(const PGresult *r, int i, void *el, int *oom)
{
  struct registry_model *m = el;
  m->name = pg_dup(r, i, 0, oom);
  m->description = pg_dup(r, i, 1, oom);
  m->created_at = pg_f64(r, i, 2, 0);
  m->updated_at = pg_f64(r, i, 3, 0);
}

static void free_models(void *arr, size_t n)
{
  registry_db_models_free(arr, n);
}

/* Versions, aliases and (with_audit) the audit log of m; what was read is
 * m's, freed with it. */
static int load_details(struct hv_db *db, struct registry_model *m,
                        int with_audit, struct hv_err *err)
{
  struct pg_args a = pg_argsf("t", m->name);
  int rc = pg_collect(db,
                      "SELECT " VERSION_COLS " FROM model_versions WHERE "
                      "model = $1 ORDER BY version",
                      &a, sizeof(*m->versions), read_version, NULL,
                      (void **)&m->versions, &m->n_versions,
                      "reading registry", err);
  if (!rc)
    rc = pg_collect(db,
                    "SELECT alias, version FROM model_aliases WHERE model = "
                    "$1 ORDER BY alias",
                    &a, sizeof(*m->aliases), read_alias, NULL,
                    (void **)&m->aliases, &m->n_aliases, "reading registry",
                    err);
  if (!rc && with_audit)
    rc = pg_collect(db,
                    "SELECT id, time, version, action, from_stage, to_stage,"
                    " alias, from_version, reason, who FROM registry_audit "
                    "WHERE model = $1 ORDER BY id",
                    &a, sizeof(*m->audit), read_audit, NULL,
                    (void **)&m->audit, &m->n_audit, "reading registry", err);
  return rc;
}

static int load(struct hv_db *db, const char *name,
                struct registry_model **out, size_t *n,
                struct hv_err *err)
{
  struct pg_args a = pg_argsf("t", name);
  int rc = pg_collect(db,
                      "SELECT name, description, created_at, updated_at FROM "
                      "registered_models WHERE $1::text IS NULL OR name = $1 "
                      "ORDER BY name",
                      &a, sizeof(**out), read_model, free_models,
                      (void **)out, n, "reading registry", err);
  for (size_t i = 0; i < *n && !rc; i++)
    rc = load_details(db, &(*out)[i], name != NULL, err);
  if (rc) {
    registry_db_models_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

static int find_missing(const char *model, int version, const char *alias,
                        const char *stage, struct hv_err *err)
{
  if (version > 0)
    return hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no version %d",
                      model, version);
  if (alias)
    return hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no alias '%s'",
                      model, alias);
  if (stage)
    return hv_err_set(err, HV_ENOTFOUND,
                      "model '%.100s' has no version in stage %s", model,
                      stage);
  return hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no versions",
                    model);
}

static int find(struct hv_db *db, const char *model, int version,
                const char *alias, const char *stage,
                struct registry_version *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  struct pg_args a = pg_argsf("tdtt", model, version, version > 0 ? NULL : alias,
               version > 0 || alias ? NULL : stage);
  struct registry_version *v = NULL;
  size_t n = 0;
  int rc = pg_collect(
      db,
      "SELECT " VERSION_COLS " FROM model_versions v WHERE model = $1 AND "
      "($2 = 0 OR version = $2) AND ($3::text IS NULL OR version = (SELECT "
      "a.version FROM model_aliases a WHERE a.model = $1 AND a.alias = $3)) "
      "AND ($4::text IS NULL OR stage = $4) ORDER BY version DESC LIMIT 1",
      &a, sizeof(*v), read_version, NULL, (void **)&v, &n, "reading registry",
      err);
  if (!rc && n == 0)
    rc = find_missing(model, version, alias, stage, err);
  if (!rc)
    *out = v[0];
  else if (n)
    registry_db_version_free(&v[0]);
  free(v);
  return rc;
}

const struct registry_ops pg_registry_ops = {
    .create_version = create_version, .transition = transition,
    .set_alias = set_alias, .load = load, .find = find};

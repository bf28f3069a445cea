/*
 * registry_db.c - the model registry's records (models, versions, stages,
 * aliases, audit log), written once for both backends over store/sql.h;
 * the rules on top live in track/registry.c. See registry_db.h.
 *
 * Design: every change runs inside db_begin, which makes write transactions
 * take turns (SQLite's BEGIN IMMEDIATE; PostgreSQL's advisory lock, see
 * pg/pg.h): "archive the Production version, then promote" and "the next
 * version number" read what the previous change committed, so two hosts
 * promoting at once end with one Production version (the partial unique
 * index model_versions_one_production backs that up), and two registering
 * at once get consecutive numbers.
 */
#include "store/registry_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/listen.h"
#include "store/sql.h"
#include "util/fsutil.h"
#include "util/mem.h"

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
  struct sql_args a = sql_argsf("ftdttttdtt", x->time, x->model, x->version,
                              x->action, x->from_stage, x->to_stage, x->alias,
                              x->from_version, x->reason ? x->reason : "",
                              x->who ? x->who : "unknown");
  return sql_cmd(db,
                "INSERT INTO registry_audit(time, model, version, action,"
                " from_stage, to_stage, alias, from_version, reason, who)"
                " VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6, $7,"
                " NULLIF($8, 0), $9, $10)",
                0, &a, NULL, "writing audit log", err);
}

static int stage_row(const struct sql_row *r, void *arg)
{
  sql_copy(r, 0, arg, 16);
  return 0;
}

/* Current stage of (model, version) into stage; HV_ENOTFOUND if missing. */
static int version_stage(struct hv_db *db, const char *model, int version,
                         char stage[16], struct hv_err *err)
{
  struct sql_args a = sql_argsf("td", model, version);
  size_t n = 0;
  int rc = sql_run(db,
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
  struct sql_args a = sql_argsf("tdtf", model, version, stage, now);
  return sql_cmd(db,
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
  struct sql_args a = sql_argsf("tdt", model, version, stage);
  int64_t *vs = NULL;
  size_t n = 0;
  int rc = sql_run_ids(db,
                      "SELECT version FROM model_versions WHERE model = $1 "
                      "AND stage = $3 AND version != $2 ORDER BY version",
                      0, &a, &vs, &n, "reading stages", err);
  if (!rc && n && !archive_existing)
    rc = hv_err_set(
        err, HV_ECONFLICT,
        "model '%.100s' already has version %d in Production; pass "
        "--archive-existing to archive it in the same step (models "
        "register, models transition and tune take it; retrain's "
        "promotion and the web UI's Promote button always archive)",
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

static int alias_locked(struct hv_db *db, const char *model,
                        const char *alias, int version, const char *reason,
                        const char *who, struct hv_err *err);

/* alias follows the Production version (inside the transition's
 * transaction): pointed at version when it enters Production, deleted when
 * the version it names leaves Production. NULL alias: nothing. */
static int follow_production(struct hv_db *db, const char *model,
                             int version, const char *from, const char *to,
                             const char *alias, const char *reason,
                             const char *who, struct hv_err *err)
{
  if (!alias)
    return 0;
  if (!strcmp(to, "Production"))
    return alias_locked(db, model, alias, version, reason, who, err);
  if (strcmp(from, "Production"))
    return 0;
  struct sql_args a = sql_argsf("tt", model, alias);
  int64_t cur[2] = {0, 0};
  int rc = sql_run_row(db,
                       "SELECT COUNT(*), COALESCE(MAX(version), 0) FROM "
                       "model_aliases WHERE model = $1 AND alias = $2",
                       &a, cur, 2, "reading alias", err);
  if (rc || cur[1] != version)
    return rc;
  return alias_locked(db, model, alias, 0, reason, who, err);
}

/* The transition itself, inside an open transaction. */
static int transition_locked(struct hv_db *db, const char *model, int version,
                             const char *stage, int archive_existing,
                             const char *production_alias,
                             const char *reason, const char *who,
                             struct hv_err *err)
{
  char from[16];
  int rc = version_stage(db, model, version, from, err);
  if (rc)
    return rc;
  if (!strcmp(from, stage)) /* no change; Production takes its alias back */
    return follow_production(db, model, version, from, stage,
                             production_alias, reason, who, err);
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
  /* PostgreSQL: the replicas' listeners (store/listen.h) hear it at
   * COMMIT, not before, and not at all after a ROLLBACK. SQLite's readers
   * poll. */
  struct sql_args a = sql_argsf("t", model);
  if (sql_dialect(db) == SQL_PG &&
      (rc = sql_cmd(db, "SELECT pg_notify('" DB_LISTEN_REGISTRY "', $1)", 0,
                    &a, NULL, "notifying the replicas", err)))
    return rc;
  if ((rc = audit(db, &x, err)))
    return rc;
  return follow_production(db, model, version, from, stage, production_alias,
                           reason, who, err);
}

static int transition(struct hv_db *db, const char *model, int version,
                      const char *stage, int archive_existing,
                      const char *production_alias, const char *reason,
                      const char *who, struct hv_err *err)
{
  int rc = db_begin(db, err);
  if (rc)
    return rc;
  rc = transition_locked(db, model, version, stage, archive_existing,
                         production_alias, reason, who, err);
  return sql_end(db, rc, err);
}

static int insert_version(struct hv_db *db, const struct registry_db_new *v,
                          double now, int *version, struct hv_err *err)
{
  struct sql_args a = sql_argsf(
      "ttf", v->model, v->model_description ? v->model_description : "", now);
  if (sql_cmd(db,
             "INSERT INTO registered_models(name, description, created_at,"
             " updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT(name) DO "
             "UPDATE SET updated_at = excluded.updated_at",
             0, &a, NULL, "creating registered model", err))
    return HV_EDB;
  a = sql_argsf("ttttitf", v->model, v->run_id, v->artifact_path, v->sha256,
               v->size, v->description ? v->description : "", now);
  int64_t got = 0;
  int rc = sql_run_row(db,
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
                           v->archive_existing, v->production_alias,
                           v->reason, v->who, err);
  return sql_end(db, rc, err);
}

static int alias_locked(struct hv_db *db, const char *model,
                        const char *alias, int version, const char *reason,
                        const char *who, struct hv_err *err)
{
  char stage[16];
  int rc;
  if (version > 0 && (rc = version_stage(db, model, version, stage, err)))
    return rc;
  struct sql_args a = sql_argsf("tt", model, alias);
  int64_t cur[2] = {0, 0};
  if ((rc = sql_run_row(db,
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
    sql_arg_i64(&a, version);
  if ((rc = sql_cmd(db,
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
  return sql_end(db, rc, err);
}

/* ---- reading ---- */

#define VERSION_COLS                                                     \
  "model, version, run_id, artifact_path, sha256, size, stage, "         \
  "description, created_at, updated_at"

static void read_version(const struct sql_row *r, void *el, int *oom)
{
  struct registry_version *v = el;
  v->model = sql_dup(r, 0, oom);
  v->version = (int)sql_i64(r, 1, 0);
  sql_copy(r, 2, v->run_id, sizeof(v->run_id));
  v->artifact_path = sql_dup(r, 3, oom);
  sql_copy(r, 4, v->sha256, sizeof(v->sha256));
  v->size = sql_i64(r, 5, 0);
  sql_copy(r, 6, v->stage, sizeof(v->stage));
  v->description = sql_dup(r, 7, oom);
  v->created_at = sql_f64(r, 8, 0);
  v->updated_at = sql_f64(r, 9, 0);
}

static void read_alias(const struct sql_row *r, void *el, int *oom)
{
  struct registry_alias *a = el;
  a->alias = sql_dup(r, 0, oom);
  a->version = (int)sql_i64(r, 1, 0);
}

static void read_audit(const struct sql_row *r, void *el, int *oom)
{
  struct registry_audit *a = el;
  a->id = sql_i64(r, 0, 0);
  a->time = sql_f64(r, 1, 0);
  a->version = (int)sql_i64(r, 2, 0);
  a->action = sql_dup(r, 3, oom);
  a->from_stage = sql_dup(r, 4, oom);
  a->to_stage = sql_dup(r, 5, oom);
  a->alias = sql_dup(r, 6, oom);
  a->from_version = (int)sql_i64(r, 7, 0);
  a->reason = sql_dup(r, 8, oom);
  a->who = sql_dup(r, 9, oom);
}

static void read_model(const struct sql_row *r, void *el, int *oom)
{
  struct registry_model *m = el;
  m->name = sql_dup(r, 0, oom);
  m->description = sql_dup(r, 1, oom);
  m->created_at = sql_f64(r, 2, 0);
  m->updated_at = sql_f64(r, 3, 0);
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
  struct sql_args a = sql_argsf("t", m->name);
  int rc = sql_collect(db,
                      "SELECT " VERSION_COLS " FROM model_versions WHERE "
                      "model = $1 ORDER BY version",
                      &a, sizeof(*m->versions), read_version, NULL,
                      (void **)&m->versions, &m->n_versions,
                      "reading registry", err);
  if (!rc)
    rc = sql_collect(db,
                    "SELECT alias, version FROM model_aliases WHERE model = "
                    "$1 ORDER BY alias",
                    &a, sizeof(*m->aliases), read_alias, NULL,
                    (void **)&m->aliases, &m->n_aliases, "reading registry",
                    err);
  if (!rc && with_audit)
    rc = sql_collect(db,
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
  struct sql_args a = sql_argsf("t", name);
  int rc = sql_collect(db,
                      "SELECT name, description, created_at, updated_at FROM "
                      "registered_models WHERE CAST($1 AS TEXT) IS NULL OR name = $1 "
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
  struct sql_args a = sql_argsf("tdtt", model, version, version > 0 ? NULL : alias,
               version > 0 || alias ? NULL : stage);
  struct registry_version *v = NULL;
  size_t n = 0;
  int rc = sql_collect(
      db,
      "SELECT " VERSION_COLS " FROM model_versions v WHERE model = $1 AND "
      "($2 = 0 OR version = $2) AND (CAST($3 AS TEXT) IS NULL OR version = (SELECT "
      "a.version FROM model_aliases a WHERE a.model = $1 AND a.alias = $3)) "
      "AND (CAST($4 AS TEXT) IS NULL OR stage = $4) ORDER BY version DESC LIMIT 1",
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

/* ---- the public functions -------------------------------------------- */

int registry_db_create_version(struct hv_db *db,
                               const struct registry_db_new *v, int *version,
                               struct hv_err *err)
{
  return db && v && v->model
             ? create_version(db, v, version, err)
             : hv_err_set(err, HV_EINVAL, "registry: no database or model");
}

int registry_db_transition(struct hv_db *db, const char *model, int version,
                           const char *stage, int archive_existing,
                           const char *production_alias, const char *reason,
                           const char *who, struct hv_err *err)
{
  if (!db || !model || !stage)
    return hv_err_set(err, HV_EINVAL, "registry: no database, model or "
                                      "stage");
  return transition(db, model, version, stage, archive_existing,
                    production_alias, reason, who, err);
}

int registry_db_set_alias(struct hv_db *db, const char *model,
                          const char *alias, int version, const char *reason,
                          const char *who, struct hv_err *err)
{
  if (!db || !model || !alias)
    return hv_err_set(err, HV_EINVAL, "registry: no database, model or "
                                      "alias");
  return set_alias(db, model, alias, version, reason, who, err);
}

int registry_db_list(struct hv_db *db, struct registry_model **out,
                     size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? load(db, NULL, out, n, err)
            : store_no_db(err, "registry");
}

int registry_db_get(struct hv_db *db, const char *model,
                    struct registry_model *out, struct hv_err *err)
{
  struct registry_model *ms = NULL;
  size_t n = 0;
  memset(out, 0, sizeof(*out));
  if (!db || !model)
    return hv_err_set(err, HV_EINVAL, "registry: no database or model");
  int rc = load(db, model, &ms, &n, err);
  if (rc)
    return rc;
  if (n == 0) {
    free(ms);
    return hv_err_set(err, HV_ENOTFOUND,
                      "registered model '%.100s' not found; see 'harvest "
                      "models list'",
                      model);
  }
  *out = ms[0];
  free(ms);
  return 0;
}

int registry_db_find(struct hv_db *db, const char *model, int version,
                     const char *alias, const char *stage,
                     struct registry_version *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  return db && model
             ? find(db, model, version, alias, stage, out, err)
             : hv_err_set(err, HV_EINVAL, "registry: no database or model");
}

/* ---- frees ------------------------------------------------------------ */

void registry_db_version_free(struct registry_version *v)
{
  if (!v)
    return;
  HV_FREE_ALL(v->model, v->artifact_path, v->description);
  memset(v, 0, sizeof(*v));
}

static void audit_free(struct registry_audit *a)
{
  HV_FREE_ALL(a->action, a->from_stage, a->to_stage, a->alias, a->reason,
              a->who);
}

void registry_db_model_free(struct registry_model *m)
{
  if (!m)
    return;
  free(m->name);
  free(m->description);
  for (size_t i = 0; i < m->n_versions; i++)
    registry_db_version_free(&m->versions[i]);
  free(m->versions);
  for (size_t i = 0; i < m->n_aliases; i++)
    free(m->aliases[i].alias);
  free(m->aliases);
  for (size_t i = 0; i < m->n_audit; i++)
    audit_free(&m->audit[i]);
  free(m->audit);
  memset(m, 0, sizeof(*m));
}

void registry_db_models_free(struct registry_model *m, size_t n)
{
  if (!m)
    return;
  for (size_t i = 0; i < n; i++)
    registry_db_model_free(&m[i]);
  free(m);
}

/*
 * sq_registry.c - the model registry's SQL for SQLite (models, versions,
 * stages, aliases, audit log): see store/registry_db.h for the contract,
 * backend.h for the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sq.h"
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

static int audit(struct hv_db *db, const struct audit_row *a,
                 struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "INSERT INTO registry_audit(time, model, version, action,"
                 " from_stage, to_stage, alias, from_version, reason, who)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 &st, err))
    return sq_code(err);
  sqlite3_bind_double(st, 1, a->time);
  sq_bind_text(st, 2, a->model);
  if (a->version > 0)
    sqlite3_bind_int(st, 3, a->version);
  sq_bind_text(st, 4, a->action);
  sq_bind_text(st, 5, a->from_stage);
  sq_bind_text(st, 6, a->to_stage);
  sq_bind_text(st, 7, a->alias);
  if (a->from_version > 0)
    sqlite3_bind_int(st, 8, a->from_version);
  sq_bind_text(st, 9, a->reason ? a->reason : "");
  sq_bind_text(st, 10, a->who ? a->who : "unknown");
  return sq_step_done(db, st, "writing audit log", err);
}

/* Current stage of (model, version) into stage; HV_ENOTFOUND if missing. */
static int version_stage(struct hv_db *db, const char *model, int version,
                         char stage[16], struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT stage FROM model_versions WHERE model = ? AND "
                 "version = ?",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, model);
  sqlite3_bind_int(st, 2, version);
  int s = sqlite3_step(st), rc = 0;
  if (s == SQLITE_ROW)
    snprintf(stage, 16, "%s", sq_col_text(st, 0));
  else if (s == SQLITE_DONE)
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "model '%.100s' has no version %d; see 'harvest models "
                    "show %.100s'",
                    model, version, model);
  else
    rc = sq_fail(db, err, "reading model version");
  sqlite3_finalize(st);
  return rc;
}

static int set_stage(struct hv_db *db, const char *model, int version,
                     const char *stage, double now, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "UPDATE model_versions SET stage = ?, updated_at = ? WHERE "
                 "model = ? AND version = ?",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, stage);
  sqlite3_bind_double(st, 2, now);
  sq_bind_text(st, 3, model);
  sqlite3_bind_int(st, 4, version);
  return sq_step_done(db, st, "changing stage", err);
}

/* Versions of model other than version in stage, into vs (up to cap);
 * returns the count or a negative code. */
static int others_in_stage(struct hv_db *db, const char *model, int version,
                           const char *stage, int *vs, int cap,
                           struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT version FROM model_versions WHERE model = ? AND "
                 "stage = ? AND version != ? ORDER BY version",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, model);
  sq_bind_text(st, 2, stage);
  sqlite3_bind_int(st, 3, version);
  int n = 0, s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW && n < cap)
    vs[n++] = sqlite3_column_int(st, 0);
  if (s != SQLITE_ROW && s != SQLITE_DONE)
    n = sq_fail(db, err, "reading stages");
  sqlite3_finalize(st);
  return n;
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
  int others[64];
  int is_prod = !strcmp(stage, "Production");
  if (is_prod || (archive_existing && !strcmp(stage, "Staging"))) {
    for (;;) {
      int n = others_in_stage(db, model, version, stage, others, 64, err);
      if (n < 0)
        return n;
      if (n == 0)
        break;
      if (!archive_existing)
        return hv_err_set(
            err, HV_ECONFLICT,
            "model '%.100s' already has version %d in Production; pass "
            "--archive-existing (archive_existing) to move it to Archived",
            model, others[0]);
      char why[200];
      snprintf(why, sizeof(why), "archived: version %d moved to %s",
               version, stage);
      for (int i = 0; i < n; i++) {
        struct audit_row a = {model, others[i], "transition", stage,
                              "Archived", NULL, 0, why, who, now};
        if ((rc = set_stage(db, model, others[i], "Archived", now, err)) ||
            (rc = audit(db, &a, err)))
          return rc;
      }
    }
  }
  struct audit_row a = {model, version, "transition", from, stage, NULL, 0,
                        reason, who, now};
  if ((rc = set_stage(db, model, version, stage, now, err)))
    return rc;
  return audit(db, &a, err);
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
  return sq_end(db, rc, err);
}

static int ensure_model(struct hv_db *db, const char *model,
                        const char *description, double now,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "INSERT INTO registered_models(name, description, "
                 "created_at, updated_at) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT(name) DO UPDATE SET updated_at = "
                 "excluded.updated_at",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, model);
  sq_bind_text(st, 2, description ? description : "");
  sqlite3_bind_double(st, 3, now);
  sqlite3_bind_double(st, 4, now);
  return sq_step_done(db, st, "creating registered model", err);
}

static int insert_version(struct hv_db *db, const struct registry_db_new *v,
                          double now, int *version, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "INSERT INTO model_versions(model, version, run_id,"
                 " artifact_path, sha256, size, stage, description,"
                 " created_at, updated_at) SELECT ?1, IFNULL(MAX(version), 0)"
                 " + 1, ?2, ?3, ?4, ?5, 'None', ?6, ?7, ?7 FROM"
                 " model_versions WHERE model = ?1 RETURNING version",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, v->model);
  sq_bind_text(st, 2, v->run_id);
  sq_bind_text(st, 3, v->artifact_path);
  sq_bind_text(st, 4, v->sha256);
  sqlite3_bind_int64(st, 5, v->size);
  sq_bind_text(st, 6, v->description ? v->description : "");
  sqlite3_bind_double(st, 7, now);
  int rc = 0;
  if (sqlite3_step(st) == SQLITE_ROW)
    *version = sqlite3_column_int(st, 0);
  else
    rc = sq_fail(db, err, "registering model version");
  sqlite3_finalize(st);
  return rc;
}

static int create_version(struct hv_db *db,
                          const struct registry_db_new *v, int *version,
                          struct hv_err *err)
{
  double now = hv_now();
  int rc = db_begin(db, err);
  if (rc)
    return rc;
  if ((rc = ensure_model(db, v->model, v->model_description, now, err)) ||
      (rc = insert_version(db, v, now, version, err)))
    goto fail;
  struct audit_row a = {v->model, *version, "register", NULL, "None", NULL,
                        0, v->reason, v->who, now};
  if ((rc = audit(db, &a, err)))
    goto fail;
  if (v->stage && strcmp(v->stage, "None") &&
      (rc = transition_locked(db, v->model, *version, v->stage,
                              v->archive_existing, v->reason, v->who, err)))
    goto fail;
  return db_commit(db, err);
fail:
  db_rollback(db);
  return rc;
}

/* Current target of alias (0 when none) into *cur. */
static int alias_target(struct hv_db *db, const char *model,
                        const char *alias, int *cur, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT version FROM model_aliases WHERE model = ? AND "
                 "alias = ?",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, model);
  sq_bind_text(st, 2, alias);
  int s = sqlite3_step(st), rc = 0;
  *cur = s == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  if (s != SQLITE_ROW && s != SQLITE_DONE)
    rc = sq_fail(db, err, "reading alias");
  sqlite3_finalize(st);
  return rc;
}

static int alias_write(struct hv_db *db, const char *model, const char *alias,
                       int version, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  const char *sql =
      version > 0
          ? "INSERT INTO model_aliases(model, alias, version) VALUES (?, ?, ?)"
            " ON CONFLICT(model, alias) DO UPDATE SET version = "
            "excluded.version"
          : "DELETE FROM model_aliases WHERE model = ? AND alias = ?";
  if (sq_prepare(db, sql, &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, model);
  sq_bind_text(st, 2, alias);
  if (version > 0)
    sqlite3_bind_int(st, 3, version);
  return sq_step_done(db, st, "writing alias", err);
}

static int alias_locked(struct hv_db *db, const char *model,
                        const char *alias, int version, const char *reason,
                        const char *who, struct hv_err *err)
{
  char stage[16];
  int cur = 0, rc;
  if (version > 0 && (rc = version_stage(db, model, version, stage, err)))
    return rc;
  if ((rc = alias_target(db, model, alias, &cur, err)))
    return rc;
  if (version == 0 && cur == 0)
    return hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no alias '%s'",
                      model, alias);
  if (version == cur)
    return 0;
  if ((rc = alias_write(db, model, alias, version, err)))
    return rc;
  struct audit_row a = {model, version > 0 ? version : cur,
                        version > 0 ? "alias_set" : "alias_delete", NULL, NULL,
                        alias, version > 0 ? cur : 0, reason, who, hv_now()};
  return audit(db, &a, err);
}

static int set_alias(struct hv_db *db, const char *model,
                     const char *alias, int version, const char *reason,
                     const char *who, struct hv_err *err)
{
  int rc = db_begin(db, err);
  if (rc)
    return rc;
  rc = alias_locked(db, model, alias, version, reason, who, err);
  return sq_end(db, rc, err);
}

/* ---- reading ---- */

#define VERSION_COLS                                                     \
  "model, version, run_id, artifact_path, sha256, size, stage, "         \
  "description, created_at, updated_at"

static void read_version(sqlite3_stmt *st, struct registry_version *v,
                         int *oom)
{
  v->model = sq_col_dup(st, 0, oom);
  v->version = sqlite3_column_int(st, 1);
  sq_col_copy(st, 2, v->run_id, sizeof(v->run_id));
  v->artifact_path = sq_col_dup(st, 3, oom);
  sq_col_copy(st, 4, v->sha256, sizeof(v->sha256));
  v->size = sqlite3_column_int64(st, 5);
  sq_col_copy(st, 6, v->stage, sizeof(v->stage));
  v->description = sq_col_dup(st, 7, oom);
  v->created_at = sqlite3_column_double(st, 8);
  v->updated_at = sqlite3_column_double(st, 9);
}

static int load_details(struct hv_db *db, struct registry_model *m,
                        int with_audit, struct hv_err *err)
{
  static const char *const sql[] = {
      "SELECT " VERSION_COLS " FROM model_versions WHERE model = ? "
      "ORDER BY version",
      "SELECT alias, version FROM model_aliases WHERE model = ? ORDER BY "
      "alias",
      "SELECT id, time, version, action, from_stage, to_stage, alias, "
      "from_version, reason, who FROM registry_audit WHERE model = ? ORDER "
      "BY id",
  };
  int oom = 0, rc = 0;
  for (int k = 0; k < (with_audit ? 3 : 2) && !rc; k++) {
    sqlite3_stmt *st = NULL;
    if (sq_prepare(db, sql[k], &st, err))
      return sq_code(err);
    sq_bind_text(st, 1, m->name);
    int s = SQLITE_DONE;
    while (!oom && (s = sqlite3_step(st)) == SQLITE_ROW) {
      if (k == 0) {
        struct registry_version *v =
            sq_append((void **)&m->versions, &m->n_versions, sizeof(*v));
        if (!(oom = !v))
          read_version(st, v, &oom);
      } else if (k == 1) {
        struct registry_alias *a =
            sq_append((void **)&m->aliases, &m->n_aliases, sizeof(*a));
        if (!(oom = !a)) {
          a->alias = sq_col_dup(st, 0, &oom);
          a->version = sqlite3_column_int(st, 1);
        }
      } else {
        struct registry_audit *a =
            sq_append((void **)&m->audit, &m->n_audit, sizeof(*a));
        if (!(oom = !a)) {
          a->id = sqlite3_column_int64(st, 0);
          a->time = sqlite3_column_double(st, 1);
          a->version = sqlite3_column_int(st, 2);
          a->action = sq_col_dup(st, 3, &oom);
          a->from_stage = sq_col_dup(st, 4, &oom);
          a->to_stage = sq_col_dup(st, 5, &oom);
          a->alias = sq_col_dup(st, 6, &oom);
          a->from_version = sqlite3_column_int(st, 7);
          a->reason = sq_col_dup(st, 8, &oom);
          a->who = sq_col_dup(st, 9, &oom);
        }
      }
    }
    if (oom)
      rc = hv_err_set(err, HV_ENOMEM, "out of memory reading registry");
    else if (s != SQLITE_DONE)
      rc = sq_fail(db, err, "reading registry");
    sqlite3_finalize(st);
  }
  return rc;
}

static int load(struct hv_db *db, const char *name,
                struct registry_model **out, size_t *n,
                struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db,
                 "SELECT name, description, created_at, updated_at FROM "
                 "registered_models WHERE ?1 IS NULL OR name = ?1 ORDER BY "
                 "name",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, name);
  struct registry_model *ms = NULL;
  size_t cnt = 0;
  int s = SQLITE_DONE, oom = 0, rc = 0;
  while (!oom && (s = sqlite3_step(st)) == SQLITE_ROW) {
    struct registry_model *m = sq_append((void **)&ms, &cnt, sizeof(*m));
    if ((oom = !m))
      break;
    m->name = sq_col_dup(st, 0, &oom);
    m->description = sq_col_dup(st, 1, &oom);
    m->created_at = sqlite3_column_double(st, 2);
    m->updated_at = sqlite3_column_double(st, 3);
  }
  if (oom)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory reading registry");
  else if (s != SQLITE_DONE)
    rc = sq_fail(db, err, "reading registry");
  sqlite3_finalize(st);
  for (size_t i = 0; i < cnt && !rc; i++)
    rc = load_details(db, &ms[i], name != NULL, err);
  if (rc) {
    registry_db_models_free(ms, cnt);
    return rc;
  }
  *out = ms;
  *n = cnt;
  return 0;
}

static int find(struct hv_db *db, const char *model, int version,
                const char *alias, const char *stage,
                struct registry_version *out, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  memset(out, 0, sizeof(*out));
  if (sq_prepare(db,
                 "SELECT " VERSION_COLS " FROM model_versions v WHERE "
                 "model = ?1 AND (?2 = 0 OR version = ?2) AND (?3 IS NULL OR "
                 "version = (SELECT a.version FROM model_aliases a WHERE "
                 "a.model = ?1 AND a.alias = ?3)) AND (?4 IS NULL OR stage = "
                 "?4) ORDER BY version DESC LIMIT 1",
                 &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, model);
  sqlite3_bind_int(st, 2, version);
  sq_bind_text(st, 3, version > 0 ? NULL : alias);
  sq_bind_text(st, 4, version > 0 || alias ? NULL : stage);
  int s = sqlite3_step(st), rc = 0, oom = 0;
  if (s == SQLITE_ROW) {
    read_version(st, out, &oom);
    if (oom) {
      registry_db_version_free(out);
      rc = hv_err_set(err, HV_ENOMEM, "out of memory reading registry");
    }
  } else if (s != SQLITE_DONE) {
    rc = sq_fail(db, err, "reading registry");
  } else if (version > 0) {
    rc = hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no version %d",
                    model, version);
  } else if (alias) {
    rc = hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no alias '%s'",
                    model, alias);
  } else if (stage) {
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "model '%.100s' has no version in stage %s", model,
                    stage);
  } else {
    rc = hv_err_set(err, HV_ENOTFOUND, "model '%.100s' has no versions",
                    model);
  }
  sqlite3_finalize(st);
  return rc;
}

const struct registry_ops sq_registry_ops = {
    .create_version = create_version, .transition = transition,
    .set_alias = set_alias, .load = load, .find = find};

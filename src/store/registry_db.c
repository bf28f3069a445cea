/*
 * registry_db.c - the model registry's records, backend-neutral: the
 * frees, list/get over the backend's one model loader, and one dispatch
 * per change (the rules on top live in track/registry.c). See
 * registry_db.h; the SQL is in sqlite/sq_registry.c.
 */
#include "store/registry_db.h"

#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/mem.h"

#define REG(db) ((db)->be->registry)

int registry_db_create_version(struct hv_db *db,
                               const struct registry_db_new *v, int *version,
                               struct hv_err *err)
{
  return db && v && v->model
             ? REG(db)->create_version(db, v, version, err)
             : hv_err_set(err, HV_EINVAL, "registry: no database or model");
}

int registry_db_transition(struct hv_db *db, const char *model, int version,
                           const char *stage, int archive_existing,
                           const char *reason, const char *who,
                           struct hv_err *err)
{
  if (!db || !model || !stage)
    return hv_err_set(err, HV_EINVAL, "registry: no database, model or "
                                      "stage");
  return REG(db)->transition(db, model, version, stage, archive_existing,
                             reason, who, err);
}

int registry_db_set_alias(struct hv_db *db, const char *model,
                          const char *alias, int version, const char *reason,
                          const char *who, struct hv_err *err)
{
  if (!db || !model || !alias)
    return hv_err_set(err, HV_EINVAL, "registry: no database, model or "
                                      "alias");
  return REG(db)->set_alias(db, model, alias, version, reason, who, err);
}

int registry_db_list(struct hv_db *db, struct registry_model **out,
                     size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  return db ? REG(db)->load(db, NULL, out, n, err)
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
  int rc = REG(db)->load(db, model, &ms, &n, err);
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
             ? REG(db)->find(db, model, version, alias, stage, out, err)
             : hv_err_set(err, HV_EINVAL, "registry: no database or model");
}

/* ---- frees ------------------------------------------------------------ */

void registry_db_version_free(struct registry_version *v)
{
  if (!v)
    return;
  free(v->model);
  free(v->artifact_path);
  free(v->description);
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

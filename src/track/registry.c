/*
 * registry.c - the model registry service: see registry.h.
 */
#include "track/registry.h"

#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store/db.h"
#include "track/artifacts.h"
#include "track/runs.h"
#include "util/parse.h"

static const char *const stages[] = {"None", "Staging", "Production",
                                     "Archived"};

int registry_check_name(const char *name, struct hv_err *err)
{
  size_t n;
  if (hv_check_len(name, REGISTRY_MAX_NAME, "model name", &n, err))
    return HV_EINVAL;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.')))
      return hv_err_set(err, HV_EINVAL,
                        "model name '%.64s': character %zu is not allowed "
                        "(letters, digits, '_', '-', '.'; start with a "
                        "letter or digit)",
                        name, i + 1);
  }
  return 0;
}

int registry_check_alias(const char *alias, struct hv_err *err)
{
  size_t n;
  if (hv_check_len(alias, REGISTRY_MAX_ALIAS, "alias", &n, err))
    return HV_EINVAL;
  int all_digits_after_v = alias[0] == 'v' && n > 1;
  for (size_t i = 0; i < n; i++) {
    char c = alias[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return hv_err_set(err, HV_EINVAL,
                        "alias '%.64s': character %zu is not allowed (use "
                        "a-z, 0-9, '_' and '-')",
                        alias, i + 1);
    if (i > 0 && !(c >= '0' && c <= '9'))
      all_digits_after_v = 0;
  }
  if (!strcmp(alias, "latest") || all_digits_after_v)
    return hv_err_set(err, HV_EINVAL,
                      "alias '%s' is reserved (\"latest\" and v<number> "
                      "already mean versions in model URIs)",
                      alias);
  return 0;
}

int registry_parse_stage(const char *s, const char **out, struct hv_err *err)
{
  for (size_t i = 0; s && i < sizeof(stages) / sizeof(stages[0]); i++)
    if (!strcasecmp(s, stages[i])) {
      *out = stages[i];
      return 0;
    }
  return hv_err_set(err, HV_EINVAL,
                    "stage '%.32s' is not None, Staging, Production or "
                    "Archived",
                    s ? s : "(null)");
}

const char *registry_who(void)
{
  static _Thread_local char name[64];
  static _Thread_local uid_t named = (uid_t)-1; /* whose name is in name */
  const char *u = getenv("USER");
  if (!u || !*u)
    u = getenv("LOGNAME");
  if (u && *u)
    return u;
  /* root shells and services often have neither: the account's name,
   * looked up once per thread and user (it reads /etc/passwd: 20 us) */
  uid_t me = geteuid();
  if (named == me && name[0])
    return name;
  struct passwd pw, *found = NULL;
  char buf[1024];
  if (getpwuid_r(me, &pw, buf, sizeof(buf), &found) == 0 && found &&
      found->pw_name && *found->pw_name) {
    snprintf(name, sizeof(name), "%s", found->pw_name);
    named = me;
    return name;
  }
  return "unknown";
}

static int check_text(const char *s, const char *what, struct hv_err *err)
{
  if (s && strlen(s) > REGISTRY_MAX_TEXT)
    return hv_err_set(err, HV_ETOOBIG, "%s is longer than %d bytes", what,
                      REGISTRY_MAX_TEXT);
  return 0;
}

int registry_register(const char *home, struct hv_db *db,
                      const struct registry_register_opts *o, int *version,
                      struct hv_err *err)
{
  const char *name = o->name ? o->name : REGISTRY_DEFAULT_MODEL;
  const char *path = o->artifact_path ? o->artifact_path
                                      : ARTIFACTS_MODEL_PATH;
  const char *stage = "None";
  if (registry_check_name(name, err) || runs_check_id(o->run_id, err) ||
      (o->stage && registry_parse_stage(o->stage, &stage, err)) ||
      check_text(o->description, "description", err) ||
      check_text(o->reason, "reason", err))
    return err ? err->code : HV_EINVAL;
  struct tracking_artifact meta = {0};
  int rc = artifacts_resolve(home, db, o->run_id, path, &meta, NULL, 0, err);
  if (rc) {
    if (rc == HV_ENOTFOUND)
      hv_err_prefix(err, "cannot register");
    return rc;
  }
  struct registry_db_new v = {
      .model = name,
      .model_description = "",
      .run_id = o->run_id,
      .artifact_path = path,
      .sha256 = meta.sha256,
      .size = meta.size,
      .description = o->description,
      .stage = stage,
      .archive_existing = o->archive_existing,
      .production_alias = REGISTRY_ALIAS_PRODUCTION,
      .reason = o->reason,
      .who = o->who ? o->who : registry_who(),
  };
  int ver = 0;
  rc = registry_db_create_version(db, &v, &ver, err);
  free(meta.path);
  if (!rc && version)
    *version = ver;
  return rc;
}

static int has_metric(const struct tracking_run *r, const char *key,
                      double *v)
{
  *v = runs_metric(r, key);
  return !isnan(*v);
}

int registry_best_run(struct hv_db *db, const char *experiment,
                      const char *metric, int descending,
                      const char *artifact_path, char run_id[33],
                      double *value, struct hv_err *err)
{
  if (!experiment || !*experiment)
    return hv_err_set(err, HV_EINVAL, "best run: no experiment given");
  if (runs_check_key(metric, "metric", err))
    return HV_EINVAL;
  const char *path = artifact_path ? artifact_path : ARTIFACTS_MODEL_PATH;
  char order[RUNS_MAX_KEY + 32];
  snprintf(order, sizeof(order), "metrics.`%s` %s", metric,
           descending ? "DESC" : "ASC");
  struct runs_query q = {experiment, "attributes.status = 'FINISHED'", order,
                         0};
  struct tracking_run *runs = NULL;
  size_t n = 0;
  int rc = runs_search(db, &q, &runs, &n, err);
  if (rc)
    return rc;
  rc = HV_ENOTFOUND;
  for (size_t i = 0; i < n && rc == HV_ENOTFOUND; i++) {
    double v;
    struct tracking_artifact a;
    if (!has_metric(&runs[i], metric, &v))
      break; /* sorted: the rest lack it too */
    struct hv_err e2 = {0};
    int got = tracking_artifact_get(db, runs[i].run_id, path, &a, &e2);
    if (got == HV_ENOTFOUND)
      continue;
    if (got) {
      if (err)
        *err = e2;
      rc = got;
      break;
    }
    free(a.path);
    memcpy(run_id, runs[i].run_id, 33);
    if (value)
      *value = v;
    rc = 0;
  }
  runs_free(runs, n);
  if (rc == HV_ENOTFOUND)
    hv_err_set(err, HV_ENOTFOUND,
               "no FINISHED run in experiment '%.100s' has metric '%.100s' "
               "and artifact '%.100s'",
               experiment, metric, path);
  return rc;
}

int registry_transition(struct hv_db *db, const char *name, int version,
                        const char *stage, int archive_existing,
                        const char *reason, const char *who,
                        struct hv_err *err)
{
  const char *canon = NULL;
  if (registry_check_name(name, err) ||
      registry_parse_stage(stage, &canon, err) ||
      check_text(reason, "reason", err))
    return err ? err->code : HV_EINVAL;
  if (version < 1)
    return hv_err_set(err, HV_EINVAL, "version must be >= 1, got %d",
                      version);
  return registry_db_transition(db, name, version, canon, archive_existing,
                                REGISTRY_ALIAS_PRODUCTION, reason,
                                who ? who : registry_who(), err);
}

int registry_set_alias(struct hv_db *db, const char *name, const char *alias,
                       int version, const char *who, struct hv_err *err)
{
  if (registry_check_name(name, err) || registry_check_alias(alias, err))
    return HV_EINVAL;
  if (version < 1)
    return hv_err_set(err, HV_EINVAL, "version must be >= 1, got %d",
                      version);
  return registry_db_set_alias(db, name, alias, version, NULL,
                               who ? who : registry_who(), err);
}

int registry_delete_alias(struct hv_db *db, const char *name,
                          const char *alias, const char *who,
                          struct hv_err *err)
{
  if (registry_check_name(name, err) || registry_check_alias(alias, err))
    return HV_EINVAL;
  return registry_db_set_alias(db, name, alias, 0, NULL,
                               who ? who : registry_who(), err);
}

/* ---- invariants ---- */

/* The last audited stage of each version: last[v] for v in 1..maxv (NULL
 * when never audited). One pass over the log. Caller frees. */
static const char **last_stages(const struct registry_model *m, int *maxv)
{
  int mv = 0;
  for (size_t i = 0; i < m->n_versions; i++)
    if (m->versions[i].version > mv)
      mv = m->versions[i].version;
  const char **last = calloc((size_t)mv + 1, sizeof(*last));
  if (!last)
    return NULL;
  for (size_t i = 0; i < m->n_audit; i++) {
    const struct registry_audit *a = &m->audit[i];
    if (a->version >= 1 && a->version <= mv &&
        (!strcmp(a->action, "register") || !strcmp(a->action, "transition")))
      last[a->version] = a->to_stage;
  }
  *maxv = mv;
  return last;
}

static int check_versions(const char *home, struct hv_db *db,
                          const struct registry_model *m, struct hv_err *err)
{
  int maxv = 0, prod = 0, rc = 0;
  const char **last = last_stages(m, &maxv);
  if (!last)
    return hv_err_set(err, HV_ENOMEM, "out of memory checking registry");
  for (size_t i = 0; i < m->n_versions && !rc; i++) {
    const struct registry_version *v = &m->versions[i];
    const char *want = last[v->version];
    prod += !strcmp(v->stage, "Production");
    if (!want || strcmp(want, v->stage))
      rc = hv_err_set(err, HV_ECORRUPT,
                      "model '%s' version %d is in %s but the audit log "
                      "says %s",
                      m->name, v->version, v->stage, want ? want : "nothing");
    else if (artifacts_verify_blob(home, db, v->sha256, v->size, NULL, 0,
                                   err)) {
      hv_err_prefix(err, "model '%s' version %d", m->name, v->version);
      rc = HV_ECORRUPT;
    }
  }
  free(last);
  if (!rc && prod > 1)
    rc = hv_err_set(err, HV_ECORRUPT,
                    "model '%s' has %d versions in Production", m->name,
                    prod);
  return rc;
}

static int check_aliases(const struct registry_model *m, struct hv_err *err)
{
  /* walk the log backwards: the first entry met per alias decides */
  for (size_t i = m->n_audit; i-- > 0;) {
    const struct registry_audit *a = &m->audit[i];
    if (!a->alias)
      continue;
    int later = 0;
    for (size_t j = i + 1; j < m->n_audit && !later; j++)
      later = m->audit[j].alias && !strcmp(m->audit[j].alias, a->alias);
    if (later)
      continue;
    int want = !strcmp(a->action, "alias_set") ? a->version : 0, have = 0;
    for (size_t k = 0; k < m->n_aliases; k++)
      if (!strcmp(m->aliases[k].alias, a->alias))
        have = m->aliases[k].version;
    if (have != want)
      return hv_err_set(err, HV_ECORRUPT,
                        "model '%s' alias '%s' points at %d but the audit "
                        "log says %d",
                        m->name, a->alias, have, want);
  }
  for (size_t k = 0; k < m->n_aliases; k++) {
    int seen = 0;
    for (size_t i = 0; i < m->n_audit && !seen; i++)
      seen = m->audit[i].alias &&
             !strcmp(m->audit[i].alias, m->aliases[k].alias);
    if (!seen)
      return hv_err_set(err, HV_ECORRUPT,
                        "model '%s' alias '%s' has no audit entry", m->name,
                        m->aliases[k].alias);
  }
  return 0;
}

static int check_model(const char *home, struct hv_db *db, const char *name,
                       struct hv_err *err)
{
  struct registry_model m;
  int rc = registry_db_get(db, name, &m, err);
  if (rc)
    return rc;
  rc = check_versions(home, db, &m, err);
  if (!rc)
    rc = check_aliases(&m, err);
  registry_db_model_free(&m);
  return rc;
}

int registry_check(const char *home, struct hv_db *db, struct hv_err *err)
{
  int rc = db_check(db, err);
  if (rc)
    return rc;
  struct registry_model *ms = NULL;
  size_t n = 0;
  if ((rc = registry_db_list(db, &ms, &n, err)))
    return rc;
  for (size_t i = 0; i < n && !rc; i++)
    rc = check_model(home, db, ms[i].name, err);
  registry_db_models_free(ms, n);
  return rc;
}

/* ---- JSON ---- */

static json_t *version_json(const struct registry_model *m,
                            const struct registry_version *v)
{
  json_t *aliases = json_array();
  for (size_t i = 0; aliases && i < m->n_aliases; i++)
    if (m->aliases[i].version == v->version)
      json_array_append_new(aliases, json_string(m->aliases[i].alias));
  return json_pack("{s:i, s:s, s:s?, s:s, s:s, s:I, s:s, s:f, s:f, s:o*}",
                   "version", v->version, "stage", v->stage, "run_id",
                   v->run_id[0] ? v->run_id : NULL, "artifact_path",
                   v->artifact_path, "sha256", v->sha256, "size",
                   (json_int_t)v->size, "description",
                   v->description ? v->description : "", "created_at",
                   v->created_at, "updated_at", v->updated_at, "aliases",
                   aliases);
}

static json_t *audit_json(const struct registry_audit *a)
{
  json_t *j = json_pack("{s:I, s:f, s:s, s:s, s:s}", "id", (json_int_t)a->id,
                        "time", a->time, "action", a->action, "reason",
                        a->reason ? a->reason : "", "who",
                        a->who ? a->who : "");
  if (!j)
    return NULL;
  json_object_set_new(j, "version",
                      a->version > 0 ? json_integer(a->version)
                                     : json_null());
  if (a->alias) {
    json_object_set_new(j, "alias", json_string(a->alias));
    json_object_set_new(j, "from_version",
                        a->from_version > 0 ? json_integer(a->from_version)
                                            : json_null());
  } else {
    json_object_set_new(j, "from_stage", a->from_stage
                                             ? json_string(a->from_stage)
                                             : json_null());
    json_object_set_new(j, "to_stage",
                        a->to_stage ? json_string(a->to_stage) : json_null());
  }
  return j;
}

json_t *registry_model_to_json(const struct registry_model *m,
                               int with_audit)
{
  json_t *versions = json_array(), *aliases = json_object(),
         *latest = json_object();
  json_t *j = json_pack("{s:s, s:s, s:f, s:f}", "name", m->name,
                        "description", m->description ? m->description : "",
                        "created_at", m->created_at, "updated_at",
                        m->updated_at);
  if (!versions || !aliases || !latest || !j) {
    json_decref(versions);
    json_decref(aliases);
    json_decref(latest);
    json_decref(j);
    return NULL;
  }
  for (size_t i = 0; i < m->n_versions; i++) {
    json_array_append_new(versions, version_json(m, &m->versions[i]));
    json_object_set_new(latest, m->versions[i].stage,
                        json_integer(m->versions[i].version));
  }
  for (size_t i = 0; i < m->n_aliases; i++)
    json_object_set_new(aliases, m->aliases[i].alias,
                        json_integer(m->aliases[i].version));
  json_object_set_new(j, "versions", versions);
  json_object_set_new(j, "aliases", aliases);
  json_object_set_new(j, "latest_versions", latest);
  if (with_audit) {
    json_t *audit = json_array();
    for (size_t i = 0; audit && i < m->n_audit; i++)
      json_array_append_new(audit, audit_json(&m->audit[i]));
    json_object_set_new(j, "audit", audit);
  }
  return j;
}

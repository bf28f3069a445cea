/*
 * test_registry.c - track/registry + store/registry_db: versions, stages,
 * the one-Production invariant (with and without archive_existing),
 * aliases, the audit log, checksum verification at register time, best-run
 * selection, invariant checking against tampering, and `harvest models`.
 */
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/db.h"
#include "testutil.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"

struct fx {
  char home[256];
  char dbpath[512]; /* the SQLite file, or the PostgreSQL URI (tu_db) */
  struct hv_db *db;
  char runs[4][33]; /* 0,1: FINISHED with model; 2: RUNNING with model;
                       3: FINISHED without model */
};

static const double accs[4] = {0.30, 0.42, 0.90, 0.95};

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof(*f));
  struct hv_err e = {0};
  tu_tmpdir(f->home, sizeof(f->home));
  snprintf(f->dbpath, sizeof(f->dbpath), "%s/harvest.db", f->home);
  char url[512];
  if (tu_on_pg()) { /* the CLI cases reach it through HARVEST_DB */
    snprintf(f->dbpath, sizeof(f->dbpath), "%s",
             tu_db(f->dbpath, url, sizeof(url)));
    setenv("HARVEST_DB", f->dbpath, 1);
  }
  if (db_open(f->dbpath, &f->db, &e))
    return -1;
  for (int i = 0; i < 4; i++) {
    char model[64];
    snprintf(model, sizeof(model), "weights of model %d", i);
    if (runs_start(f->db, "tune", NULL, NULL, f->runs[i], &e) ||
        runs_log_metric(f->db, f->runs[i], "top_100_categorical_accuracy",
                        accs[i], 5, &e) ||
        (i < 3 && artifacts_put_bytes(f->home, f->db, f->runs[i],
                                      ARTIFACTS_MODEL_PATH, model,
                                      strlen(model), NULL, &e)) ||
        (i != 2 && runs_end(f->db, f->runs[i], "FINISHED", &e)))
      return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  db_close(f->db);
  tu_rmtree(f->home);
  free(f);
  return 0;
}

static int reg(struct fx *f, int run, const char *stage, int archive,
               int *version, struct hv_err *e)
{
  struct registry_register_opts o = {.name = "m", .run_id = f->runs[run],
                                     .stage = stage,
                                     .archive_existing = archive,
                                     .reason = "test"};
  return registry_register(f->home, f->db, &o, version, e);
}

static const char *stage_of(struct fx *f, int version)
{
  static char buf[16];
  struct registry_version v;
  struct hv_err e = {0};
  if (registry_db_find(f->db, "m", version, NULL, NULL, &v, &e))
    return "?";
  snprintf(buf, sizeof(buf), "%s", v.stage);
  registry_db_version_free(&v);
  return buf;
}

static void test_versions_and_production(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  int v = 0;
  assert_int_equal(reg(f, 0, NULL, 0, &v, &e), 0);
  assert_int_equal(v, 1);
  assert_string_equal(stage_of(f, 1), "None");
  assert_int_equal(reg(f, 1, "production", 0, &v, &e), 0);
  assert_int_equal(v, 2);
  assert_string_equal(stage_of(f, 2), "Production");
  /* a second Production is refused without archive_existing, atomically */
  assert_int_equal(reg(f, 0, "Production", 0, &v, &e), HV_ECONFLICT);
  assert_non_null(strstr(e.msg, "--archive-existing"));
  assert_null(strstr(e.msg, "archive_existing")); /* no internal name */
  struct registry_model m;
  assert_int_equal(registry_db_get(f->db, "m", &m, &e), 0);
  assert_int_equal(m.n_versions, 2);
  registry_db_model_free(&m);
  assert_int_equal(reg(f, 0, "Production", 1, &v, &e), 0);
  assert_int_equal(v, 3);
  assert_string_equal(stage_of(f, 3), "Production");
  assert_string_equal(stage_of(f, 2), "Archived");

  assert_int_equal(registry_transition(f->db, "m", 1, "Production", 0, "r",
                                       NULL, &e),
                   HV_ECONFLICT);
  assert_string_equal(stage_of(f, 1), "None");
  assert_int_equal(registry_transition(f->db, "m", 1, "PRODUCTION", 1,
                                       "promote", "alice", &e),
                   0);
  assert_string_equal(stage_of(f, 1), "Production");
  assert_string_equal(stage_of(f, 3), "Archived");
  /* same stage: no-op, no audit entry */
  assert_int_equal(registry_db_get(f->db, "m", &m, &e), 0);
  size_t audits = m.n_audit;
  registry_db_model_free(&m);
  assert_int_equal(registry_transition(f->db, "m", 1, "Production", 0, NULL,
                                       NULL, &e),
                   0);
  /* Staging: many allowed; archive_existing archives the others */
  assert_int_equal(registry_transition(f->db, "m", 2, "Staging", 0, NULL,
                                       NULL, &e),
                   0);
  assert_int_equal(registry_transition(f->db, "m", 3, "Staging", 0, NULL,
                                       NULL, &e),
                   0);
  assert_string_equal(stage_of(f, 2), "Staging");
  assert_int_equal(registry_transition(f->db, "m", 3, "Archived", 0, NULL,
                                       NULL, &e),
                   0);
  assert_int_equal(registry_transition(f->db, "m", 3, "Staging", 1, NULL,
                                       NULL, &e),
                   0);
  assert_string_equal(stage_of(f, 2), "Archived");
  assert_string_equal(stage_of(f, 3), "Staging");
  assert_int_equal(registry_transition(f->db, "m", 1, "None", 0, NULL, NULL,
                                       &e),
                   0);

  /* the audit log holds every change in order (the last, v1 leaving
   * Production, also deletes @champion) */
  assert_int_equal(registry_db_get(f->db, "m", &m, &e), 0);
  assert_int_equal(m.n_audit, audits + 7);
  const struct registry_audit *a = &m.audit[0];
  assert_string_equal(a->action, "register");
  assert_null(a->from_stage);
  assert_string_equal(a->to_stage, "None");
  assert_string_equal(a->reason, "test");
  int promote_seen = 0;
  for (size_t i = 0; i < m.n_audit; i++)
    if (m.audit[i].reason && !strcmp(m.audit[i].reason, "promote") &&
        !m.audit[i].alias) { /* not @champion following it */
      promote_seen = 1;
      assert_string_equal(m.audit[i].who, "alice");
      assert_string_equal(m.audit[i].from_stage, "None");
      assert_string_equal(m.audit[i].to_stage, "Production");
      /* the archiving of version 3 is recorded just before it */
      assert_int_equal(m.audit[i - 1].version, 3);
      assert_string_equal(m.audit[i - 1].to_stage, "Archived");
    }
  assert_true(promote_seen);
  json_t *j = registry_model_to_json(&m, 1);
  json_t *vs = json_object_get(j, "versions");
  assert_int_equal(json_array_size(vs), 3);
  assert_int_equal(json_integer_value(
                       json_object_get(json_array_get(vs, 0), "version")),
                   1);
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(vs, 2), "stage")),
                      "Staging");
  assert_int_equal(json_array_size(json_object_get(j, "audit")), m.n_audit);
  json_decref(j);
  registry_db_model_free(&m);
  assert_int_equal(registry_check(f->home, f->db, &e), 0);
}

static void test_register_bad_input(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  int v = 0;
  /* run without a model artifact */
  assert_int_equal(reg(f, 3, NULL, 0, &v, &e), HV_ENOTFOUND);
  /* damaged artifact: refused, nothing registered */
  struct tracking_artifact meta;
  char blob[4096];
  assert_int_equal(artifacts_resolve(f->home, f->db, f->runs[0],
                                     ARTIFACTS_MODEL_PATH, &meta, blob,
                                     sizeof(blob), &e),
                   0);
  free(meta.path);
  chmod(blob, 0644);
  FILE *fp = fopen(blob, "r+b");
  fputc('#', fp);
  fclose(fp);
  if (tu_on_pg()) /* the database's copy too, or it repairs the file */
    assert_int_equal(tu_exec(f->dbpath, "UPDATE artifact_chunks SET data = "
                                         "overlay(data placing '#' from 1)"),
                     0);
  assert_int_equal(reg(f, 0, NULL, 0, &v, &e), HV_ECORRUPT);
  struct registry_model m;
  assert_int_equal(registry_db_get(f->db, "m", &m, &e), HV_ENOTFOUND);
  static const char *const names[] = {"", "-x", "a b", "a/b", "é", "a;b"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    struct registry_register_opts o = {.name = names[i],
                                       .run_id = f->runs[1]};
    assert_int_equal(registry_register(f->home, f->db, &o, &v, &e),
                     HV_EINVAL);
  }
  struct registry_register_opts o = {.run_id = f->runs[1], .stage = "Prod"};
  assert_int_equal(registry_register(f->home, f->db, &o, &v, &e), HV_EINVAL);
  o.stage = NULL;
  o.run_id = "0123456789abcdef0123456789abcdef";
  assert_int_equal(registry_register(f->home, f->db, &o, &v, &e),
                   HV_ENOTFOUND);
  o.run_id = NULL;
  assert_int_equal(registry_register(f->home, f->db, &o, &v, &e), HV_EINVAL);
  o.run_id = f->runs[1];
  o.artifact_path = "../model.hvm";
  assert_int_equal(registry_register(f->home, f->db, &o, &v, &e), HV_EINVAL);
  o.artifact_path = NULL;
  assert_int_equal(registry_register(f->home, f->db, &o, &v, &e), 0);
  assert_int_equal(registry_db_get(f->db, REGISTRY_DEFAULT_MODEL, &m, &e), 0);
  registry_db_model_free(&m);
  assert_int_equal(registry_transition(f->db, REGISTRY_DEFAULT_MODEL, 0,
                                       "None", 0, NULL, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(registry_transition(f->db, REGISTRY_DEFAULT_MODEL, 9,
                                       "None", 0, NULL, NULL, &e),
                   HV_ENOTFOUND);
  assert_int_equal(registry_transition(f->db, "nope", 1, "None", 0, NULL,
                                       NULL, &e),
                   HV_ENOTFOUND);
  assert_int_equal(registry_transition(f->db, REGISTRY_DEFAULT_MODEL, 1,
                                       "Deployed", 0, NULL, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(registry_transition(f->db, REGISTRY_DEFAULT_MODEL, 1,
                                       NULL, 0, NULL, NULL, &e),
                   HV_EINVAL);
}

/* The version @champion names, 0 when it is not set. */
static int champion_of(struct fx *f)
{
  struct hv_err e = {0};
  struct registry_version v;
  if (registry_db_find(f->db, "m", 0, REGISTRY_ALIAS_PRODUCTION, NULL, &v,
                       &e))
    return 0;
  int n = v.version;
  registry_db_version_free(&v);
  return n;
}

/* @champion follows Production, in the same transaction as the move, by
 * every path into and out of Production (track/registry.h). */
static void test_champion_follows_production(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  int v = 0;
  assert_int_equal(reg(f, 0, NULL, 0, &v, &e), 0);
  assert_int_equal(champion_of(f), 0); /* None: no champion */
  assert_int_equal(reg(f, 1, "Production", 0, &v, &e), 0); /* v2 */
  assert_int_equal(champion_of(f), 2);
  assert_int_equal(reg(f, 0, NULL, 0, &v, &e), 0); /* v3, None */
  /* a refused promotion moves nothing */
  assert_int_equal(registry_transition(f->db, "m", 1, "Production", 0, "r",
                                       NULL, &e),
                   HV_ECONFLICT);
  assert_int_equal(champion_of(f), 2);
  assert_int_equal(registry_transition(f->db, "m", 1, "Production", 1,
                                       "promote v1", "carol", &e),
                   0);
  assert_int_equal(champion_of(f), 1);
  struct registry_model m;
  assert_int_equal(registry_db_get(f->db, "m", &m, &e), 0);
  const struct registry_audit *a = &m.audit[m.n_audit - 1];
  assert_string_equal(a->action, "alias_set");
  assert_string_equal(a->alias, REGISTRY_ALIAS_PRODUCTION);
  assert_int_equal(a->version, 1);
  assert_int_equal(a->from_version, 2);
  assert_string_equal(a->reason, "promote v1");
  assert_string_equal(a->who, "carol");
  registry_db_model_free(&m);
  /* set by hand elsewhere: kept until Production moves or is re-promoted */
  assert_int_equal(registry_set_alias(f->db, "m", "champion", 2, NULL, &e),
                   0);
  assert_int_equal(registry_transition(f->db, "m", 2, "Staging", 0, NULL,
                                       NULL, &e),
                   0);
  assert_int_equal(champion_of(f), 2);
  assert_int_equal(registry_transition(f->db, "m", 1, "Production", 0, NULL,
                                       NULL, &e),
                   0); /* already there: takes the alias back */
  assert_int_equal(champion_of(f), 1);
  /* the Production version leaves: no champion */
  assert_int_equal(registry_transition(f->db, "m", 1, "Archived", 0, "retire",
                                       NULL, &e),
                   0);
  assert_int_equal(champion_of(f), 0);
  assert_int_equal(registry_db_get(f->db, "m", &m, &e), 0);
  a = &m.audit[m.n_audit - 1];
  assert_string_equal(a->action, "alias_delete");
  assert_int_equal(a->version, 1);
  assert_string_equal(m.audit[m.n_audit - 2].to_stage, "Archived");
  registry_db_model_free(&m);
  /* a move between other stages leaves it alone */
  assert_int_equal(registry_transition(f->db, "m", 2, "Production", 0, NULL,
                                       NULL, &e),
                   0);
  assert_int_equal(registry_transition(f->db, "m", 3, "Archived", 0, NULL,
                                       NULL, &e),
                   0);
  assert_int_equal(champion_of(f), 2);
  assert_int_equal(registry_check(f->home, f->db, &e), 0);
}

static void test_aliases(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  int v = 0;
  assert_int_equal(reg(f, 0, NULL, 0, &v, &e), 0);
  assert_int_equal(reg(f, 1, NULL, 0, &v, &e), 0);
  assert_int_equal(registry_set_alias(f->db, "m", "champion", 1, NULL, &e),
                   0);
  assert_int_equal(registry_set_alias(f->db, "m", "champion", 2, "bob", &e),
                   0);
  assert_int_equal(registry_set_alias(f->db, "m", "champion", 2, NULL, &e),
                   0); /* no-op */
  assert_int_equal(registry_set_alias(f->db, "m", "challenger", 1, NULL, &e),
                   0);
  assert_int_equal(registry_set_alias(f->db, "m", "x", 7, NULL, &e),
                   HV_ENOTFOUND);
  assert_int_equal(registry_set_alias(f->db, "nope", "x", 1, NULL, &e),
                   HV_ENOTFOUND);
  static const char *const bad[] = {"", "Champion", "a b", "latest", "v1",
                                    "v12", "a@b", "a/b"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(registry_set_alias(f->db, "m", bad[i], 1, NULL, &e),
                     HV_EINVAL);
  char longa[REGISTRY_MAX_ALIAS + 2];
  memset(longa, 'a', sizeof(longa) - 1);
  longa[sizeof(longa) - 1] = '\0';
  assert_int_equal(registry_set_alias(f->db, "m", longa, 1, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(registry_set_alias(f->db, "m", "v", 1, NULL, &e), 0);
  assert_int_equal(registry_set_alias(f->db, "m", "vx1", 1, NULL, &e), 0);
  assert_int_equal(registry_set_alias(f->db, "m", "champion", 0, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(registry_delete_alias(f->db, "m", "challenger", NULL, &e),
                   0);
  assert_int_equal(registry_delete_alias(f->db, "m", "challenger", NULL, &e),
                   HV_ENOTFOUND);
  struct registry_version rv;
  assert_int_equal(registry_db_find(f->db, "m", 0, "champion", NULL, &rv, &e),
                   0);
  assert_int_equal(rv.version, 2);
  registry_db_version_free(&rv);
  assert_int_equal(
      registry_db_find(f->db, "m", 0, "challenger", NULL, &rv, &e),
      HV_ENOTFOUND);
  struct registry_model m;
  assert_int_equal(registry_db_get(f->db, "m", &m, &e), 0);
  int sets = 0, deletes = 0, moved = 0;
  for (size_t i = 0; i < m.n_audit; i++) {
    sets += !strcmp(m.audit[i].action, "alias_set");
    deletes += !strcmp(m.audit[i].action, "alias_delete");
    if (!strcmp(m.audit[i].action, "alias_set") && m.audit[i].from_version)
      moved = m.audit[i].from_version == 1 && m.audit[i].version == 2 &&
              !strcmp(m.audit[i].who, "bob");
  }
  assert_int_equal(sets, 5);
  assert_int_equal(deletes, 1);
  assert_true(moved);
  registry_db_model_free(&m);
  assert_int_equal(registry_check(f->home, f->db, &e), 0);
}

static void test_best_run(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  char id[33];
  double val = 0;
  /* run 2 (RUNNING) and run 3 (no model) are better but do not qualify */
  assert_int_equal(registry_best_run(f->db, "tune",
                                     "top_100_categorical_accuracy", 1, NULL,
                                     id, &val, &e),
                   0);
  assert_string_equal(id, f->runs[1]);
  assert_true(val == accs[1]);
  assert_int_equal(registry_best_run(f->db, "tune",
                                     "top_100_categorical_accuracy", 0, NULL,
                                     id, &val, &e),
                   0);
  assert_string_equal(id, f->runs[0]);
  assert_int_equal(registry_best_run(f->db, "tune", "nope", 1, NULL, id,
                                     &val, &e),
                   HV_ENOTFOUND);
  assert_int_equal(registry_best_run(f->db, "other", "x", 1, NULL, id, &val,
                                     &e),
                   HV_ENOTFOUND);
  assert_int_equal(registry_best_run(f->db, "tune", "b@d", 1, NULL, id, &val,
                                     &e),
                   HV_EINVAL);
  assert_int_equal(registry_best_run(f->db, NULL, "x", 1, NULL, id, &val, &e),
                   HV_EINVAL);
}

/* Run SQL on the database file behind the registry's back. */
static int raw_sql(struct fx *f, const char *sql)
{
  return tu_exec(f->dbpath, sql);
}

static void test_invariants_detect_tampering(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  int v = 0;
  assert_int_equal(reg(f, 0, "Production", 0, &v, &e), 0);
  assert_int_equal(reg(f, 1, NULL, 0, &v, &e), 0);
  assert_int_equal(registry_check(f->home, f->db, &e), 0);
  /* the schema itself refuses a second Production */
  assert_int_not_equal(raw_sql(f, "UPDATE model_versions SET stage = "
                                  "'Production' WHERE version = 2"),
                       SQLITE_OK);
  /* a stage change without an audit entry is found */
  assert_int_equal(raw_sql(f, "UPDATE model_versions SET stage = 'Staging' "
                              "WHERE version = 2"),
                   SQLITE_OK);
  assert_int_equal(registry_check(f->home, f->db, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "audit"));
  assert_int_equal(raw_sql(f, "UPDATE model_versions SET stage = 'None' "
                              "WHERE version = 2"),
                   SQLITE_OK);
  assert_int_equal(registry_check(f->home, f->db, &e), 0);
  /* an alias without audit */
  assert_int_equal(raw_sql(f, "INSERT INTO model_aliases VALUES "
                              "('m', 'ghost', 1)"),
                   SQLITE_OK);
  assert_int_equal(registry_check(f->home, f->db, &e), HV_ECORRUPT);
  assert_int_equal(raw_sql(f, "DELETE FROM model_aliases WHERE alias = "
                              "'ghost'"),
                   SQLITE_OK);
  /* a damaged blob */
  struct registry_version rv;
  assert_int_equal(registry_db_find(f->db, "m", 1, NULL, NULL, &rv, &e), 0);
  char blob[4096];
  snprintf(blob, sizeof(blob), "%s/artifacts/sha256/%.2s/%s", f->home,
           rv.sha256, rv.sha256);
  assert_int_equal(unlink(blob), 0);
  if (tu_on_pg()) { /* fetched again from the database; then lost there */
    assert_int_equal(registry_check(f->home, f->db, &e), 0);
    assert_int_equal(unlink(blob), 0);
    char q[256];
    snprintf(q, sizeof(q),
             "DELETE FROM artifact_chunks WHERE sha256 = '%s'", rv.sha256);
    assert_int_equal(raw_sql(f, q), 0);
  }
  registry_db_version_free(&rv);
  assert_int_equal(registry_check(f->home, f->db, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "version 1"));
}

/* ---- CLI ---- */

static json_t *run_json(const char *cmd)
{
  char out[65536];
  if (tu_run(cmd, out, sizeof(out)) != 0)
    return NULL;
  json_error_t je;
  return json_loads(out, 0, &je);
}

static void test_cli(void **state)
{
  struct fx *f = *state;
  if (access(tu_bin(), X_OK) != 0)
    skip();
  char cmd[2048], out[8192];
  const char *b = tu_bin(), *h = f->home;
  snprintf(cmd, sizeof(cmd),
           "%s --home %s models register --best --experiment tune --metric "
           "top_100_categorical_accuracy --stage Production --json",
           b, h);
  json_t *j = run_json(cmd);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "run_id")),
                      f->runs[1]);
  assert_string_equal(json_string_value(json_object_get(j, "stage")),
                      "Production");
  assert_string_equal(json_string_value(json_object_get(j, "name")),
                      REGISTRY_DEFAULT_MODEL);
  json_decref(j);
  snprintf(cmd, sizeof(cmd),
           "%s --home %s models register --run %s --name m2 --json", b, h,
           f->runs[0]);
  j = run_json(cmd);
  assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
  json_decref(j);
  /* second Production without --archive-existing: exit 1, message */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s models register --run %s --stage Production 2>&1",
           b, h, f->runs[0]);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "--archive-existing"));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s models register --run %s 2>&1 >/dev/null && "
           "%s --home %s models transition %s 2 --stage Production "
           "--archive-existing --reason 'better' --json",
           b, h, f->runs[0], b, h, REGISTRY_DEFAULT_MODEL);
  j = run_json(cmd);
  assert_string_equal(json_string_value(json_object_get(j, "stage")),
                      "Production");
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s models alias %s champion 2", b, h,
           REGISTRY_DEFAULT_MODEL);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "%s --home %s models show %s --json", b, h,
           REGISTRY_DEFAULT_MODEL);
  j = run_json(cmd);
  json_t *vs = json_object_get(j, "versions");
  assert_int_equal(json_array_size(vs), 2);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(vs, 0), "stage")),
      "Archived");
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(vs, 1), "version")),
      2);
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(j, "aliases"), "champion")),
                   2);
  json_t *audit = json_object_get(j, "audit");
  assert_true(json_array_size(audit) >= 5);
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s models list --json", b, h);
  j = run_json(cmd);
  assert_int_equal(json_array_size(j), 2);
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s models show %s", b, h,
           REGISTRY_DEFAULT_MODEL);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "@champion"));
  snprintf(cmd, sizeof(cmd), "%s --home %s models list", b, h);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "Production: 2"));
  snprintf(cmd, sizeof(cmd), "%s --home %s models resolve models:/%s@champion",
           b, h, REGISTRY_DEFAULT_MODEL);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "/artifacts/sha256/"));
  snprintf(cmd, sizeof(cmd), "%s --home %s models alias %s champion --delete",
           b, h, REGISTRY_DEFAULT_MODEL);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "%s --home %s models check", b, h);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "ok\n");

  static const struct {
    const char *args;
    int code;
  } bad[] = {
      {"models register", 2},
      {"models register --run x --best", 2},
      {"models register --best --experiment tune", 2},
      {"models register --best --experiment tune --metric x --order up", 2},
      {"models register --run nothex", 1},
      {"models transition m2 1", 2},
      {"models transition m2 zero --stage None", 2},
      {"models transition m2 1 --stage Live", 1},
      {"models transition m2 5 --stage None", 1},
      {"models alias m2 champion", 2},
      {"models alias m2 Champion 1", 1},
      {"models alias m2 champion 1 --delete", 2},
      {"models show nope", 1},
      {"models show", 2},
      {"models resolve models:/nope/1", 1},
      {"models frobnicate", 2},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s 2>/dev/null", b, h,
             bad[i].args);
    if (tu_run(cmd, out, sizeof(out)) != bad[i].code)
      fail_msg("'%s' should exit %d", bad[i].args, bad[i].code);
  }
}

/* Who the audit log and runs name: $USER, $LOGNAME, then the account. */
static void test_who(void **state)
{
  char *user = getenv("USER") ? strdup(getenv("USER")) : NULL;
  char *logname = getenv("LOGNAME") ? strdup(getenv("LOGNAME")) : NULL;
  setenv("USER", "alice", 1);
  setenv("LOGNAME", "bob", 1);
  assert_string_equal(registry_who(), "alice");
  unsetenv("USER");
  assert_string_equal(registry_who(), "bob");
  unsetenv("LOGNAME");
  struct passwd *pw = getpwuid(geteuid());
  assert_string_equal(registry_who(), pw ? pw->pw_name : "unknown");
  if (user)
    setenv("USER", user, 1);
  if (logname)
    setenv("LOGNAME", logname, 1);
  free(user);
  free(logname);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_versions_and_production, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_register_bad_input, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
      cmocka_unit_test_setup_teardown(test_champion_follows_production, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_best_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invariants_detect_tampering, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
      cmocka_unit_test(test_who),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

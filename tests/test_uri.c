/*
 * test_uri.c - track/uri: every model URI form resolves to the right,
 * verified file; malformed URIs, unknown targets, damaged artifacts and
 * unsupported schemes are refused.
 */
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
#include "track/uri.h"

static char home[256];
static struct hv_db *db;
static char run_a[33], run_b[33];
static char sha_a[65], sha_b[65], sha_rep[65];

static int setup(void **state)
{
  struct hv_err e = {0};
  char path[512];
  tu_tmpdir(home, sizeof(home));
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  int v = 0;
  struct registry_register_opts o = {.name = "rec"};
  if (db_open(path, &db, &e) ||
      runs_start(db, "u", NULL, NULL, run_a, &e) ||
      runs_start(db, "u", NULL, NULL, run_b, &e) ||
      artifacts_put_bytes(home, db, run_a, ARTIFACTS_MODEL_PATH, "AAA", 3,
                          sha_a, &e) ||
      artifacts_put_bytes(home, db, run_b, ARTIFACTS_MODEL_PATH, "BBBB", 4,
                          sha_b, &e) ||
      artifacts_put_bytes(home, db, run_b, "eval/report.json", "{}", 2,
                          sha_rep, &e))
    return -1;
  o.run_id = run_a;
  if (registry_register(home, db, &o, &v, &e)) /* v1 None */
    return -1;
  o.run_id = run_b;
  o.stage = "Production";
  if (registry_register(home, db, &o, &v, &e)) /* v2 Production */
    return -1;
  o.run_id = run_a;
  o.stage = "Staging";
  if (registry_register(home, db, &o, &v, &e) || /* v3 Staging */
      registry_set_alias(db, "rec", "champion", 2, NULL, &e) ||
      registry_set_alias(db, "rec", "challenger", 3, NULL, &e))
    return -1;
  return 0;
}

static int teardown(void **state)
{
  db_close(db);
  tu_rmtree(home);
  return 0;
}

static void test_forms(void **state)
{
  static const struct {
    const char *uri;
    const char *sha; /* expected content */
    int version;     /* 0: not a registry URI */
  } cases[] = {
      {"models:/rec/Production", sha_b, 2},
      {"models:/rec/production", sha_b, 2},
      {"models:/rec/Staging", sha_a, 3},
      {"models:/rec/None", sha_a, 1},
      {"models:/rec/1", sha_a, 1},
      {"models:/rec/2", sha_b, 2},
      {"models:/rec/latest", sha_a, 3},
      {"models:/rec@champion", sha_b, 2},
      {"models:/rec@challenger", sha_a, 3},
      {"runs:/RUN_A", sha_a, 0},
      {"runs:/RUN_B/model/model.hvm", sha_b, 0},
      {"runs:/RUN_B/model", sha_b, 0}, /* MLflow-style model folder */
      {"runs:/RUN_B/eval/report.json", sha_rep, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char uri[256];
    const char *u = cases[i].uri;
    if (strstr(u, "RUN_A"))
      snprintf(uri, sizeof(uri), "runs:/%s%s", run_a, u + 11);
    else if (strstr(u, "RUN_B"))
      snprintf(uri, sizeof(uri), "runs:/%s%s", run_b, u + 11);
    else
      snprintf(uri, sizeof(uri), "%s", u);
    struct uri_target t;
    struct hv_err e = {0};
    int rc = uri_resolve_ex(home, db, uri, &t, &e);
    if (rc)
      fail_msg("%s: %s", uri, e.msg);
    assert_string_equal(t.sha256, cases[i].sha);
    assert_int_equal(t.version, cases[i].version);
    char want[1024];
    snprintf(want, sizeof(want), "%s/artifacts/sha256/%.2s/%s", home,
             cases[i].sha, cases[i].sha);
    assert_string_equal(t.path, want);
    char p[4096];
    assert_int_equal(uri_resolve(home, db, uri, p, sizeof(p), &e), 0);
    assert_string_equal(p, want);
    assert_int_equal(access(p, R_OK), 0);
  }
  /* plain files */
  char file[512], furi[600], p[4096];
  struct hv_err e = {0};
  tu_write(home, "plain.hvm", "x", file, sizeof(file));
  assert_int_equal(uri_resolve(home, db, file, p, sizeof(p), &e), 0);
  assert_string_equal(p, file);
  snprintf(furi, sizeof(furi), "file://%s", file);
  assert_int_equal(uri_resolve(home, db, furi, p, sizeof(p), &e), 0);
  assert_string_equal(p, file);
  assert_int_equal(uri_resolve(home, db, file, p, 4, &e), HV_EINVAL);
}

static void test_errors(void **state)
{
  static const struct {
    const char *uri;
    int code;
    const char *want;
  } cases[] = {
      {"", HV_EINVAL, "empty"},
      {"models:/", HV_EINVAL, "model name"},
      {"models:/rec", HV_EINVAL, "expected models:/NAME/VERSION"},
      {"models:/rec/", HV_EINVAL, "expected"},
      {"models:/rec/1/2", HV_EINVAL, "expected"},
      {"models:/rec@", HV_EINVAL, "expected"},
      {"models:/rec@Champ", HV_EINVAL, "not allowed"},
      {"models:/rec/0", HV_EINVAL, "out of range"},
      {"models:/rec/-1", HV_EINVAL, "not None"},
      {"models:/rec/3x", HV_EINVAL, "not an integer"},
      {"models:/rec/Live", HV_EINVAL, "not None, Staging"},
      {"models:/rec/99", HV_ENOTFOUND, "no version 99"},
      {"models:/rec@nobody", HV_ENOTFOUND, "no alias"},
      {"models:/rec/Archived", HV_ENOTFOUND, "no version in stage"},
      {"models:/nope/1", HV_ENOTFOUND, "no version"},
      {"models:/../x/1", HV_EINVAL, "not allowed"},
      {"runs:/", HV_EINVAL, "not a run id"},
      {"runs:/abc", HV_EINVAL, "too short"},
      {"runs:/0123456789abcdef0123456789abcdef", HV_ENOTFOUND, "no artifact"},
      {"runs:/RUN_A/../../etc/passwd", HV_EINVAL, "'..'"},
      {"runs:/RUN_A//etc/passwd", HV_EINVAL, "absolute"},
      {"runs:/RUN_A/a\\b", HV_EINVAL, "backslash"},
      {"runs:/RUN_A/missing", HV_ENOTFOUND, "no artifact"},
      {"s3://bucket/model", HV_EINVAL, "scheme 's3:'"},
      {"http://x/y", HV_EINVAL, "not supported"},
      {"file://relative", HV_EINVAL, "ABSOLUTE"},
      {"/nonexistent/model.hvm", HV_ENOTFOUND, "No such file"},
      {"HOME_DIR", HV_EINVAL, "not a file"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char uri[512];
    const char *u = cases[i].uri;
    if (strstr(u, "RUN_A"))
      snprintf(uri, sizeof(uri), "runs:/%s%s", run_a, u + 11);
    else if (!strcmp(u, "HOME_DIR"))
      snprintf(uri, sizeof(uri), "%s", home);
    else
      snprintf(uri, sizeof(uri), "%s", u);
    char p[4096];
    struct hv_err e = {0};
    int rc = uri_resolve(home, db, uri, p, sizeof(p), &e);
    if (rc != cases[i].code || !strstr(e.msg, cases[i].want))
      fail_msg("'%s': rc %d '%s', want %d '%s'", uri, rc, e.msg,
               cases[i].code, cases[i].want);
  }
  char p[16];
  struct hv_err e = {0};
  assert_int_equal(uri_resolve(home, db, NULL, p, sizeof(p), &e), HV_EINVAL);
  char *big = malloc(URI_MAX + 10);
  memset(big, 'a', URI_MAX + 9);
  big[URI_MAX + 9] = '\0';
  assert_int_equal(uri_resolve(home, db, big, p, sizeof(p), &e), HV_EINVAL);
  free(big);
}

static void test_damaged_artifact(void **state)
{
  struct hv_err e = {0};
  char p[4096];
  assert_int_equal(uri_resolve(home, db, "models:/rec/2", p, sizeof(p), &e),
                   0);
  chmod(p, 0644);
  FILE *f = fopen(p, "wb");
  fputs("EVIL", f); /* same size, other bytes */
  fclose(f);
  assert_int_equal(uri_resolve(home, db, "models:/rec/Production", p,
                               sizeof(p), &e),
                   HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "version 2"));
  assert_int_equal(uri_resolve(home, db, "models:/rec@champion", p,
                               sizeof(p), &e),
                   HV_ECORRUPT);
  char uri[128];
  snprintf(uri, sizeof(uri), "runs:/%s", run_b);
  assert_int_equal(uri_resolve(home, db, uri, p, sizeof(p), &e), HV_ECORRUPT);
  /* other versions are unaffected */
  assert_int_equal(uri_resolve(home, db, "models:/rec/1", p, sizeof(p), &e),
                   0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_damaged_artifact),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

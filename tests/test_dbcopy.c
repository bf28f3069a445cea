/*
 * test_dbcopy.c - track/dbcopy and store/copy (`harvest db copy`): a home
 * with every kind of row (a synthetic catalogue and ratings, runs with
 * params, metrics including NaN and infinities, tags, a parent and a child,
 * artifacts of several chunks, a registry with a Production version, an
 * alias and its audit log, an operator account and token, a user password)
 * copied into a new home and, on PostgreSQL (test_dbcopy_pg), into a
 * database and back into a third home: every table's rows equal (counted
 * and summed), registry_check and db_check pass, every artifact reads back
 * with its hash, the Production model resolves. All or nothing: a target
 * holding data, a non-empty folder, a missing source, the same end twice
 * and a damaged blob in the source are refused and leave nothing (a home
 * the copy made is removed; a database has no rows). Into PostgreSQL the
 * foreign keys and indexes set aside for each COPY are all made again and
 * a dangling rating in the source fails the copy. The CLI: --json,
 * --help, missing flags.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/synth.h"
#include "store/accounts.h"
#include "store/db.h"
#include "store/users.h"
#include "testutil.h"
#include "track/artifacts.h"
#include "track/dbcopy.h"
#include "track/registry.h"
#include "track/runs.h"
#include "track/uri.h"

/* Every table of the schema but the blob tables, and what is summed to
 * compare its rows beyond their number. */
static const struct {
  const char *table, *sum;
} tables[] = {
    {"genres", "SUM(id)"},
    {"movies", "SUM(id)"},
    {"movie_genres", "SUM(movie_id * 7 + genre_id)"},
    {"users", "SUM(id) + COUNT(password_hash)"},
    {"ratings", "SUM(rating_id) + SUM(rating * 1000) + SUM(timestamp % 977)"},
    {"datasets", "COUNT(name)"},
    {"experiments", "SUM(id)"},
    {"runs", "COUNT(parent_run_id)"},
    {"params", "COUNT(value)"},
    {"tags", "COUNT(value)"},
    {"metrics", "SUM(step) + COUNT(value)"},
    {"latest_metrics", "SUM(step) + COUNT(value)"},
    {"artifacts", "SUM(size)"},
    {"registered_models", "COUNT(name)"},
    {"model_versions", "SUM(version) + SUM(size)"},
    {"model_aliases", "SUM(version)"},
    {"registry_audit", "COUNT(*)"},
    {"accounts", "COUNT(password_hash)"},
    {"account_tokens", "COUNT(digest)"},
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

static const double metric_vals[] = {0.25, 1.0 / 3.0, -2.5e-7, 1e-300, 1e300};

struct fx {
  char home[256];   /* the source home */
  char dbpath[512]; /* its harvest.db */
  char run[33], child[33];
  char *big;        /* the multi-chunk artifact's bytes */
  size_t big_len;
};

/* n pseudo-random bytes. */
static char *noise(size_t n)
{
  char *b = malloc(n);
  assert_non_null(b);
  uint64_t x = 0x2545f4914f6cdd1dULL;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b[i] = (char)(x >> 29);
  }
  return b;
}

static void fill_home(struct fx *f, struct hv_db *db)
{
  struct hv_err e = {0};
  struct synth_config c;
  synth_defaults(&c);
  c.users = 60;
  c.movies = 80;
  c.ratings = 1500;
  c.days = 10;
  assert_int_equal(synth_run(db, &c, NULL, NULL, NULL, &e), 0);
  assert_int_equal(runs_start(db, "copyexp", "parent", NULL, f->run, &e), 0);
  assert_int_equal(runs_start(db, "copyexp", "child", f->run, f->child, &e),
                   0);
  assert_int_equal(runs_log_param(db, f->run, "dim", "32", &e), 0);
  assert_int_equal(runs_log_param(db, f->child, "note", "tab\there 'q'", &e),
                   0);
  assert_int_equal(runs_set_tag(db, f->run, "t", "line\nbreak \\ back", &e),
                   0);
  for (size_t i = 0; i < sizeof(metric_vals) / sizeof(metric_vals[0]); i++)
    assert_int_equal(runs_log_metric(db, f->run, "m", metric_vals[i],
                                     (int64_t)i, &e),
                     0);
  assert_int_equal(runs_log_metric(db, f->run, "nan", NAN, 0, &e), 0);
  assert_int_equal(runs_log_metric(db, f->run, "inf", INFINITY, 0, &e), 0);
  assert_int_equal(runs_log_metric(db, f->run, "ninf", -INFINITY, 0, &e), 0);
  f->big_len = 2 * 1024 * 1024 + 99;
  f->big = noise(f->big_len);
  assert_int_equal(artifacts_put_bytes(f->home, db, f->run,
                                       ARTIFACTS_MODEL_PATH, f->big,
                                       f->big_len, NULL, &e),
                   0);
  assert_int_equal(artifacts_put_bytes(f->home, db, f->child, "r.json",
                                       "{}", 2, NULL, &e),
                   0);
  assert_int_equal(runs_end(db, f->child, "FINISHED", &e), 0);
  assert_int_equal(runs_end(db, f->run, "FINISHED", &e), 0);
  int v = 0;
  struct registry_register_opts o = {.name = "m", .run_id = f->run};
  assert_int_equal(registry_register(f->home, db, &o, &v, &e), 0);
  o.stage = "Production";
  assert_int_equal(registry_register(f->home, db, &o, &v, &e), 0);
  assert_int_equal(registry_set_alias(db, "m", "champion", 2, "t", &e), 0);
  int64_t id = 0;
  assert_int_equal(accounts_add(db, "ops", "operator", "$argon2id$x", 1.5,
                                &id, &e),
                   0);
  assert_int_equal(users_password_set(db, 3, "$argon2id$y", &e), 0);
}

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof(*f));
  tu_tmpdir(f->home, sizeof(f->home));
  snprintf(f->dbpath, sizeof(f->dbpath), "%s/harvest.db", f->home);
  struct hv_db *db = tu_open_db(f->dbpath);
  fill_home(f, db);
  db_close(db);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  tu_rmtree(f->home);
  free(f->big);
  free(f);
  return 0;
}

/* Every table of a and b has the same rows by count and sum. */
static void same_rows(const char *a, const char *b)
{
  for (size_t i = 0; i < N_TABLES; i++) {
    char q[256];
    snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", tables[i].table);
    int64_t na = tu_q1(a, q), nb = tu_q1(b, q);
    snprintf(q, sizeof(q), "SELECT CAST(%s AS BIGINT) FROM %s",
             tables[i].sum, tables[i].table);
    int64_t sa = tu_q1(a, q), sb = tu_q1(b, q);
    if (na != nb || sa != sb)
      fail_msg("table %s: %lld rows (sum %lld) vs %lld rows (sum %lld)",
               tables[i].table, (long long)na, (long long)sa, (long long)nb,
               (long long)sb);
  }
  assert_true(tu_q1(a, "SELECT COUNT(*) FROM ratings") == 1500);
}

/* The copy at home (dbpath: its database) is whole: checks pass, values
 * exact, artifacts read back, the Production model resolves. */
static void check_copy(struct fx *f, const char *home, const char *dbpath)
{
  struct hv_db *db = tu_open_db(dbpath);
  struct hv_err e = {0};
  assert_int_equal(db_check(db, &e), 0);
  assert_int_equal(registry_check(home, db, &e), 0);
  char *back = NULL;
  size_t len = 0;
  assert_int_equal(artifacts_read(home, db, f->run, ARTIFACTS_MODEL_PATH,
                                  1 << 24, &back, &len, &e),
                   0);
  assert_int_equal(len, f->big_len);
  assert_memory_equal(back, f->big, len);
  free(back);
  struct uri_target t;
  assert_int_equal(uri_resolve_ex(home, db, "models:/m@champion", &t, &e), 0);
  assert_int_equal(t.version, 2);
  assert_string_equal(t.stage, "Production");
  struct tracking_metric *m = NULL;
  size_t n = 0;
  assert_int_equal(tracking_metric_history(db, f->run, "m", &m, &n, &e), 0);
  assert_int_equal(n, sizeof(metric_vals) / sizeof(metric_vals[0]));
  for (size_t i = 0; i < n; i++)
    assert_memory_equal(&m[i].value, &metric_vals[i], sizeof(double));
  tracking_metrics_free(m, n);
  static const struct {
    const char *key;
    double v;
  } special[] = {{"nan", NAN}, {"inf", INFINITY}, {"ninf", -INFINITY}};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(
        tracking_metric_history(db, f->run, special[i].key, &m, &n, &e), 0);
    assert_int_equal(n, 1);
    if (isnan(special[i].v))
      assert_true(isnan(m[0].value));
    else
      assert_true(m[0].value == special[i].v);
    tracking_metrics_free(m, n);
  }
  char id[33];
  /* ids continue after the copied ones */
  assert_int_equal(runs_start(db, "copyexp", "after", NULL, id, &e), 0);
  int64_t v = 0;
  assert_int_equal(accounts_add(db, "ops2", "viewer", "$argon2id$z", 2.5, &v,
                                &e),
                   0);
  assert_true(v >= 2);
  db_close(db);
}

static int copy(const char *from, const char *to, struct dbcopy_report *r,
                struct hv_err *e)
{
  struct dbcopy_opts o = {.from = from, .to = to};
  return dbcopy_run(&o, r, e);
}

static void test_home_to_home(void **state)
{
  struct fx *f = *state;
  char to[512], to_db[600];
  snprintf(to, sizeof(to), "%s/copy", f->home);
  snprintf(to_db, sizeof(to_db), "%s/harvest.db", to);
  struct dbcopy_report r;
  struct hv_err e = {0};
  assert_int_equal(copy(f->home, to, &r, &e), 0);
  assert_int_equal(r.blobs, 2);
  assert_int_equal(r.bytes, (int64_t)f->big_len + 2);
  assert_true(r.rows.rows > 1500);
  assert_int_equal(r.rows.tables, (int)N_TABLES);
  same_rows(f->dbpath, to_db);
  check_copy(f, to, to_db);
}

static void test_to_postgres_and_back(void **state)
{
  struct fx *f = *state;
  if (!tu_on_pg())
    skip();
  char url[512], back[512], back_db[600];
  const char *pg = tu_db("unused", url, sizeof(url));
  snprintf(back, sizeof(back), "%s/back", f->home);
  snprintf(back_db, sizeof(back_db), "%s/harvest.db", back);
  struct dbcopy_report r;
  struct hv_err e = {0};
  assert_int_equal(copy(f->home, pg, &r, &e), 0);
  same_rows(f->dbpath, pg);
  assert_int_equal(tu_q1(pg, "SELECT COUNT(*) FROM artifact_blobs"), 2);
  assert_int_equal(tu_q1(pg, "SELECT COUNT(*) FROM artifact_chunks"), 4);
  char pg_home[256]; /* a replica's home: only the URL */
  tu_tmpdir(pg_home, sizeof(pg_home));
  check_copy(f, pg_home, pg);
  tu_rmtree(pg_home);
  /* and back, without the rows check_copy added */
  char url2[512];
  const char *pg2 = tu_db("unused", url2, sizeof(url2));
  assert_int_equal(copy(f->home, pg2, &r, &e), 0);
  assert_int_equal(copy(pg2, back, &r, &e), 0);
  same_rows(f->dbpath, back_db);
  check_copy(f, back, back_db);
  /* a copy into a database that holds data is refused, nothing changes */
  assert_int_equal(copy(f->home, pg2, &r, &e), HV_ECONFLICT);
  assert_non_null(strstr(e.msg, "not empty"));
  same_rows(f->dbpath, pg2);
}

/* A damaged blob in the source: refused, the target left as it was. */
static void test_all_or_nothing(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct dbcopy_report r;
  struct hv_db *db = tu_open_db(f->dbpath);
  struct tracking_artifact meta;
  char blob[4096];
  assert_int_equal(artifacts_resolve(f->home, db, f->child, "r.json", &meta,
                                     blob, sizeof(blob), &e),
                   0);
  free(meta.path);
  db_close(db);
  assert_int_equal(chmod(blob, 0644), 0);
  FILE *fp = fopen(blob, "wb");
  fputs("[]", fp); /* same size, other bytes */
  fclose(fp);
  char to[512];
  snprintf(to, sizeof(to), "%s/never", f->home);
  assert_int_equal(copy(f->home, to, &r, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "checksum"));
  assert_int_equal(access(to, F_OK), -1); /* the home it made is gone */
  /* an empty folder given stays, empty */
  assert_int_equal(mkdir(to, 0700), 0);
  assert_int_equal(copy(f->home, to, &r, &e), HV_ECORRUPT);
  char cmd[600], out[64];
  snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", to);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_int_equal(atoi(out), 0);
  if (tu_on_pg()) {
    char url[512];
    const char *pg = tu_db("unused", url, sizeof(url));
    assert_int_equal(copy(f->home, pg, &r, &e), HV_ECORRUPT);
    for (size_t i = 0; i < N_TABLES; i++) {
      char q[128];
      snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", tables[i].table);
      assert_int_equal(tu_q1(pg, q), strcmp(tables[i].table, "experiments")
                                         ? 0
                                         : 1); /* the schema's own row */
    }
    assert_int_equal(tu_q1(pg, "SELECT COUNT(*) FROM artifact_chunks"), 0);
  }
}

/* The foreign keys and indexes of db's tables: "table:name" lines of both
 * kinds, sorted, into a number that differs when one is missing. */
static int64_t checks_of(const char *db)
{
  return tu_q1(db,
               "SELECT COUNT(*) * 1000003 + SUM(hashtext(n) % 1000) FROM ("
               "SELECT conrelid::regclass || ':' || conname AS n FROM "
               "pg_constraint WHERE contype = 'f' AND connamespace = "
               "current_schema()::regnamespace UNION ALL SELECT tablename "
               "|| ':' || indexname FROM pg_indexes WHERE schemaname = "
               "current_schema()) c");
}

/* Into PostgreSQL each table's foreign keys and secondary indexes are
 * dropped for its COPY and made again after it: the copy ends with every
 * one a new database has, and a row that breaks one (a rating of a user
 * the source lacks, written with SQLite's foreign keys off) fails the
 * copy, naming the table, with nothing left in the target. */
static void test_checks_made_again(void **state)
{
  struct fx *f = *state;
  if (!tu_on_pg())
    skip();
  char url[512], url2[512];
  const char *pg = tu_db("unused", url, sizeof(url));
  const char *fresh = tu_db("unused", url2, sizeof(url2));
  db_close(tu_open_db(fresh)); /* the schema */
  struct dbcopy_report r;
  struct hv_err e = {0};
  assert_int_equal(copy(f->home, pg, &r, &e), 0);
  assert_true(checks_of(fresh) > 20 * 1000003);
  assert_int_equal(checks_of(pg), checks_of(fresh));
  assert_int_equal(tu_exec(f->dbpath,
                           "INSERT INTO ratings(user_id, movie_id, rating, "
                           "timestamp) VALUES (999999, 1, 4, 0)"),
                   0);
  char url3[512];
  const char *pg3 = tu_db("unused", url3, sizeof(url3));
  assert_int_equal(copy(f->home, pg3, &r, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "table ratings"));
  assert_non_null(strstr(e.msg, "foreign key"));
  assert_int_equal(tu_q1(pg3, "SELECT COUNT(*) FROM ratings"), 0);
  assert_int_equal(tu_q1(pg3, "SELECT COUNT(*) FROM users"), 0);
  assert_int_equal(checks_of(pg3), checks_of(fresh));
}

static void test_bad_ends(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct dbcopy_report r;
  char other[512], nothome[256];
  tu_tmpdir(nothome, sizeof(nothome));
  snprintf(other, sizeof(other), "%s/x", nothome);
  /* a folder with something in it */
  char keep[600];
  tu_write(nothome, "keep.txt", "mine", keep, sizeof(keep));
  assert_int_equal(copy(f->home, nothome, &r, &e), HV_ECONFLICT);
  snprintf(keep, sizeof(keep), "%s/keep.txt", nothome);
  assert_int_equal(access(keep, F_OK), 0); /* untouched */
  assert_int_equal(copy(nothome, other, &r, &e), HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "not a Harvest home"));
  assert_int_equal(access(other, F_OK), -1);
  assert_int_equal(copy(f->home, f->home, &r, &e), HV_EINVAL);
  assert_int_equal(copy(NULL, other, &r, &e), HV_EINVAL);
  assert_int_equal(copy(f->home, "", &r, &e), HV_EINVAL);
  assert_int_equal(dbcopy_run(NULL, &r, &e), HV_EINVAL);
  tu_rmtree(nothome);
}

static void test_cli(void **state)
{
  struct fx *f = *state;
  if (access(tu_bin(), X_OK) != 0)
    skip();
  char cmd[2048], out[8192];
  snprintf(cmd, sizeof(cmd), "%s db copy --from %s --to %s/cli --json -q",
           tu_bin(), f->home, f->home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "artifacts")), 2);
  assert_int_equal(json_integer_value(json_object_get(j, "tables")),
                   (json_int_t)N_TABLES);
  json_decref(j);
  /* progress on stderr, a refusal says nothing was written */
  snprintf(cmd, sizeof(cmd), "%s db copy --from %s --to %s/cli 2>&1",
           tu_bin(), f->home, f->home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "nothing was written"));
  snprintf(cmd, sizeof(cmd), "%s db copy --from %s --to %s/cli2 2>&1",
           tu_bin(), f->home, f->home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "ratings"));
  assert_non_null(strstr(out, "copied "));
  snprintf(cmd, sizeof(cmd), "%s db copy --from %s 2>&1", tu_bin(), f->home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
  assert_non_null(strstr(out, "--to"));
  snprintf(cmd, sizeof(cmd), "%s db copy --help", tu_bin());
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "all of it passed"));
  snprintf(cmd, sizeof(cmd), "%s db --help", tu_bin());
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "copy"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_home_to_home, setup, teardown),
      cmocka_unit_test_setup_teardown(test_to_postgres_and_back, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checks_made_again, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bad_ends, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

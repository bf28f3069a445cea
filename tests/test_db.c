/*
 * test_db.c - store/db: opening (and refusing bad paths), migrations from
 * nothing and from an older schema, refusing a newer one, the consistency
 * check, the path (a URL's password hidden), and transactions (commit keeps, rollback undoes, a
 * rollback outside a transaction is harmless); on PostgreSQL (test_db_pg)
 * the transaction tests again, and a COMMIT that fails or that the server
 * turns into a rollback is an error that leaves the connection usable.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"
#include "store/tracking.h"
#include "testutil.h"

static void test_open_memory_migrates(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  assert_int_equal(db_schema_version(db), db_schema_latest());
  assert_int_equal(db_check(db, &e), 0);
  db_close(db);
  db_close(NULL);
}

static void test_newer_schema_refused(void **state)
{
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/h.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  db_close(db);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h,
                                "INSERT INTO schema_version VALUES (999, 0)",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(h);
  assert_int_equal(db_open(path, &db, &e), HV_EVERSION);
  assert_non_null(strstr(e.msg, "999"));
  assert_null(db);
  tu_rmtree(dir);
}

static void test_older_schema_upgraded(void **state)
{
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/h.db", dir);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(h,
                   "CREATE TABLE schema_version(version INTEGER PRIMARY KEY,"
                   " applied_at INTEGER NOT NULL)",
                   NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(h);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  assert_int_equal(db_schema_version(db), db_schema_latest());
  db_close(db);
  tu_rmtree(dir);
}

static void test_open_errors(void **state)
{
  static const struct {
    const char *path;
    int rc;
  } cases[] = {{NULL, HV_EINVAL},
               {"", HV_EINVAL},
               {"/nonexistent-dir/x/h.db", HV_EDB},
               {"/", HV_EDB}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct hv_db *db = (struct hv_db *)&cases;
    struct hv_err e = {0};
    assert_int_equal(db_open(cases[i].path, &db, &e), cases[i].rc);
    assert_null(db);
    assert_true(e.msg[0] != '\0');
  }
}

static void test_path_and_transactions(void **state)
{
  char url[512];
  const char *path = tu_db(":memory:", url, sizeof(url));
  struct hv_db *db = tu_open_db(path);
  struct hv_err e = {0};
  assert_string_equal(db_path(db), path);
  db_rollback(db); /* no transaction open: harmless */
  db_rollback(NULL);
  static const struct {
    const char *name;
    int commit;
    int found; /* tracking_experiment_id(create 0) afterwards */
  } steps[] = {{"rolled-back", 0, HV_ENOTFOUND},
               {"committed", 1, 0},
               {"again-rolled-back", 0, HV_ENOTFOUND}};
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    int64_t id = -1;
    assert_int_equal(db_begin(db, &e), 0);
    assert_int_equal(db_begin(db, &e), HV_EDB); /* no nesting */
    assert_int_equal(tracking_experiment_id(db, steps[i].name, 1, &id, &e), 0);
    if (steps[i].commit)
      assert_int_equal(db_commit(db, &e), 0);
    else
      db_rollback(db);
    assert_int_equal(tracking_experiment_id(db, steps[i].name, 0, &id, &e),
                     steps[i].found);
  }
  assert_int_equal(db_commit(db, &e), HV_EDB); /* nothing to commit */
  db_close(db);
}

/* A URL's password never reaches a message: db_redact's forms, and the
 * error of a connection that fails. */
static void test_redact(void **state)
{
  (void)state;
  static const char *cases[][2] = {
      {"h/harvest.db", "h/harvest.db"},
      {"postgresql:///db?host=/tmp/s", "postgresql:///db?host=/tmp/s"},
      {"postgresql://u:pw@h:5/db", "postgresql://u:***@h:5/db"},
      {"postgres://u@h/db", "postgres://u@h/db"},
      {"postgresql://u:p:w@h/db?a=1&password=x%20y&b=2",
       "postgresql://u:***@h/db?a=1&password=***&b=2"},
      {"postgresql:///db?password=s", "postgresql:///db?password=***"},
      {"postgresql://h/d?sslpassword=k", "postgresql://h/d?sslpassword=k"},
      {"postgresql://h:1/p@th", "postgresql://h:1/p@th"},
      {"", ""},
  };
  char out[128];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    db_redact(cases[i][0], out, sizeof(out));
    assert_string_equal(out, cases[i][1]);
  }
  db_redact("postgresql://u:pw@h/db", out, 12); /* cut, terminated */
  assert_string_equal(out, "postgresql:");
  db_redact(NULL, out, sizeof(out));
  assert_string_equal(out, "");

  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open("postgresql://u:s3cret@/x?host=/nonexistent-dir"
                           "&password=hunter2",
                           &db, &e),
                   HV_EDB);
  assert_null(db);
  assert_non_null(strstr(e.msg, "postgresql://u:***@/x?host=/nonexistent-dir"
                                "&password=***"));
  assert_null(strstr(e.msg, "s3cret"));
  assert_null(strstr(e.msg, "hunter2"));
}

/* Run sql on the PostgreSQL database url behind the store's back. */
static void pg_sql(const char *url, const char *sql)
{
  PGconn *c = PQconnectdb(url);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  PQfinish(c);
}

/* PostgreSQL: COMMIT of a transaction one of whose statements failed
 * answers success with the tag ROLLBACK, and a deferred constraint fails
 * at COMMIT itself. Both are errors of db_commit, nothing of the
 * transaction is kept and the connection takes its next transaction. */
static void test_failed_commit_pg(void **state)
{
  if (!tu_on_pg())
    skip();
  char url[512];
  const char *path = tu_db(":memory:", url, sizeof(url));
  struct hv_db *db = tu_open_db(path);
  pg_sql(path,
         "CREATE FUNCTION hv_refuse() RETURNS trigger LANGUAGE plpgsql AS "
         "$$BEGIN IF NEW.name LIKE 'refused%' THEN "
         "RAISE EXCEPTION 'refused at commit'; END IF; RETURN NULL; END$$;"
         "CREATE CONSTRAINT TRIGGER t_refuse AFTER INSERT ON experiments "
         "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
         "EXECUTE FUNCTION hv_refuse()");
  struct hv_err e = {0};
  int64_t id = -1;
  /* 1: an ignored failure inside the transaction */
  assert_int_equal(db_begin(db, &e), 0);
  assert_int_equal(tracking_experiment_id(db, "lost-1", 1, &id, &e), 0);
  struct tracking_run_new bad = {.run_id = "0123456789abcdef0123456789abcdef",
                                 .experiment_id = 987654, .name = "x",
                                 .user = "t", .start_time = 1};
  /* no such experiment: the statement fails, the transaction is aborted */
  assert_int_not_equal(tracking_run_insert(db, &bad, &e), 0);
  memset(&e, 0, sizeof(e));
  assert_int_equal(db_commit(db, &e), HV_EDB);
  assert_non_null(strstr(e.msg, "rolled back"));
  assert_int_equal(tracking_experiment_id(db, "lost-1", 0, &id, &e),
                   HV_ENOTFOUND);
  /* 2: COMMIT itself fails (a deferred trigger refuses the row) */
  assert_int_equal(db_begin(db, &e), 0);
  assert_int_equal(tracking_experiment_id(db, "refused-2", 1, &id, &e), 0);
  memset(&e, 0, sizeof(e));
  assert_int_equal(db_commit(db, &e), HV_EDB);
  assert_non_null(strstr(e.msg, "refused at commit"));
  assert_int_equal(tracking_experiment_id(db, "refused-2", 0, &id, &e),
                   HV_ENOTFOUND);
  /* the connection is out of both transactions: the next one commits */
  assert_int_equal(db_begin(db, &e), 0);
  assert_int_equal(tracking_experiment_id(db, "kept-3", 1, &id, &e), 0);
  assert_int_equal(db_commit(db, &e), 0);
  assert_int_equal(tracking_experiment_id(db, "kept-3", 0, &id, &e), 0);
  db_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_memory_migrates),
      cmocka_unit_test(test_newer_schema_refused),
      cmocka_unit_test(test_older_schema_upgraded),
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_path_and_transactions),
      cmocka_unit_test(test_redact),
      cmocka_unit_test(test_failed_commit_pg),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

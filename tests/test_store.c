/*
 * test_store.c - store/: opening, migrations, version refusal, transactional
 * loading of the catalogue.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/catalog.h"
#include "store/db.h"
#include "store/stats.h"
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

static void test_age_buckets(void **state)
{
  static const int cases[][2] = {{1, 1},   {17, 1},  {18, 18}, {24, 18},
                                 {25, 25}, {34, 25}, {35, 35}, {45, 45},
                                 {49, 45}, {50, 50}, {55, 50}, {56, 56},
                                 {90, 56}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(catalog_age_bucket(cases[i][0]), cases[i][1]);
}

static void load_small(struct hv_db *db, int bad_rating)
{
  struct hv_err e = {0};
  struct store_loader *ld = NULL;
  assert_int_equal(store_loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(store_loader_genre(ld, 0, "Action", &e), 0);
  int g[] = {0};
  struct hv_movie m = {.id = 1, .title = "Toy Story (1995)",
                       .release_year = 1995, .genre_ids = g, .n_genres = 1};
  assert_int_equal(store_loader_movie(ld, &m, &e), 0);
  struct hv_user u = {.id = 7, .raw_age = 30, .bucketized_age = 25,
                      .gender = "F", .occupation_text = "writer",
                      .occupation_label = 3, .zip_code = "12345"};
  assert_int_equal(store_loader_user(ld, &u, &e), 0);
  struct hv_rating r = {.rating_id = 1, .user_id = 7, .movie_id = 1,
                        .rating = 4, .timestamp = 100};
  assert_int_equal(store_loader_rating(ld, &r, &e), 0);
  if (bad_rating) {
    r.rating_id = 2;
    r.user_id = 99; /* unknown user: foreign key */
    assert_int_not_equal(store_loader_rating(ld, &r, &e), 0);
    store_loader_abort(ld);
    return;
  }
  assert_int_equal(store_loader_commit(ld, "test", "memory", &e), 0);
}

static void test_loader_commit_and_abort(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  load_small(db, 0);
  struct store_counts n;
  assert_int_equal(store_counts(db, &n, &e), 0);
  assert_int_equal(n.users, 1);
  assert_int_equal(n.ratings, 1);
  /* a second load without replace is refused */
  struct store_loader *ld = NULL;
  assert_int_equal(store_loader_begin(db, 0, &ld, &e), HV_ECONFLICT);
  /* a failing replace leaves the old data */
  load_small(db, 1);
  assert_int_equal(store_counts(db, &n, &e), 0);
  assert_int_equal(n.ratings, 1);
  assert_int_equal(n.movies, 1);
  assert_int_equal(db_check(db, &e), 0);
  db_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_memory_migrates),
      cmocka_unit_test(test_newer_schema_refused),
      cmocka_unit_test(test_older_schema_upgraded),
      cmocka_unit_test(test_age_buckets),
      cmocka_unit_test(test_loader_commit_and_abort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

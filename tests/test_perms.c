/*
 * test_perms.c - who can read a Harvest home (issue 17, finding 8): the
 * home is created 0700 and harvest.db with its -wal and -shm 0600, by the
 * library (hv_mkdir_private, db_open) and end to end by the CLI; an
 * existing home's or database's mode is left as the user set it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/db.h"
#include "util/fsutil.h"
#include "testutil.h"

static unsigned mode_of(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0)
    fail_msg("%s does not exist", path);
  return (unsigned)(st.st_mode & 07777);
}

static int setup(void **state)
{
  umask(022); /* the usual one: SQLite's 0644 default survives it */
  return 0;
}

static void test_mkdir_private(void **state)
{
  char tmp[4096], path[4200], parent[4200];
  struct hv_err e = {0};
  tu_tmpdir(tmp, sizeof(tmp));
  static const struct {
    const char *leaf, *parent; /* parent NULL: tmp itself */
  } cases[] = {
      {"home", NULL}, {"a/b/home", "a/b"}, {"c/home/", "c"}, {"d//home", "d"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", tmp, cases[i].leaf);
    assert_int_equal(hv_mkdir_private(path, &e), 0);
    assert_int_equal(hv_mkdir_private(path, &e), 0); /* exists: fine */
    if (mode_of(path) != 0700)
      fail_msg("case %zu: %s is %03o", i, path, mode_of(path));
    if (cases[i].parent) {
      snprintf(parent, sizeof(parent), "%s/%s", tmp, cases[i].parent);
      assert_int_equal(mode_of(parent), 0755); /* parents as mkdir -p */
    }
  }
  /* an existing home keeps its mode: neither loosened nor changed */
  snprintf(path, sizeof(path), "%s/mine", tmp);
  assert_int_equal(mkdir(path, 0750), 0);
  assert_int_equal(chmod(path, 0750), 0);
  assert_int_equal(hv_mkdir_private(path, &e), 0);
  assert_int_equal(mode_of(path), 0750);
  /* bad input */
  assert_int_equal(hv_mkdir_private("", &e), HV_EINVAL);
  tu_write(tmp, "file", "x", path, sizeof(path));
  assert_int_equal(hv_mkdir_private(path, &e), HV_EIO);
  tu_rmtree(tmp);
}

static void test_db_files_private(void **state)
{
  char tmp[4096], db_path[4200], side[4300];
  struct hv_err e = {0};
  struct hv_db *db = NULL;
  tu_tmpdir(tmp, sizeof(tmp));
  snprintf(db_path, sizeof(db_path), "%s/harvest.db", tmp);
  assert_int_equal(db_open(db_path, &db, &e), 0);
  assert_int_equal(mode_of(db_path), 0600);
  /* the migrations wrote through the WAL, so both side files exist */
  snprintf(side, sizeof(side), "%s-wal", db_path);
  assert_int_equal(mode_of(side), 0600);
  snprintf(side, sizeof(side), "%s-shm", db_path);
  assert_int_equal(mode_of(side), 0600);
  db_close(db);
  /* an existing database keeps the mode its owner gave it */
  assert_int_equal(chmod(db_path, 0640), 0);
  assert_int_equal(db_open(db_path, &db, &e), 0);
  assert_int_equal(mode_of(db_path), 0640);
  db_close(db);
  /* in memory: no file */
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  db_close(db);
  tu_rmtree(tmp);
}

/* The CLI on a fresh home: home 0700, database 0600. */
static void test_cli_home(void **state)
{
  char tmp[4096], home[4200], path[4300], cmd[8192];
  tu_tmpdir(tmp, sizeof(tmp));
  snprintf(home, sizeof(home), "%s/new/home", tmp);
  snprintf(cmd, sizeof(cmd),
           "umask 022; '%s' --home '%s' data synth --users 5 --movies 5 "
           "--ratings 10 >/dev/null 2>&1",
           tu_bin(), home);
  assert_int_equal(tu_run(cmd, NULL, 0), 0);
  assert_int_equal(mode_of(home), 0700);
  snprintf(path, sizeof(path), "%s/harvest.db", home);
  assert_int_equal(mode_of(path), 0600);
  tu_rmtree(tmp);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_mkdir_private, setup),
      cmocka_unit_test_setup(test_db_files_private, setup),
      cmocka_unit_test_setup(test_cli_home, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

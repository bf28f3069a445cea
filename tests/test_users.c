/*
 * test_users.c - store/users: password hashes set and read back verbatim
 * (hostile strings included), one user's change leaving the others alone,
 * hashes that do not fit the caller's buffer, unknown users and bad
 * arguments. On the generated :memory: catalogue of store_fixture.h.
 */
#include <string.h>

#include "store/users.h"
#include "store_fixture.h"

#define HASH "$argon2id$v=19$m=8,t=1,p=1$' OR 1=1 --"

static void test_passwords(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  char hash[128] = "x";
  assert_int_equal(users_password_get(db, 1, hash, sizeof(hash), &e), 0);
  assert_string_equal(hash, ""); /* none set yet */
  assert_int_equal(users_password_set(db, 1, HASH, &e), 0);
  static const struct {
    int64_t uid;
    size_t cap;
    int rc;
    const char *want;
  } cases[] = {
      {1, sizeof(hash), 0, HASH},
      {1, sizeof(HASH), 0, HASH},             /* exactly fits */
      {1, sizeof(HASH) - 1, HV_ECORRUPT, ""}, /* one byte short */
      {1, 8, HV_ECORRUPT, ""},
      {2, sizeof(hash), 0, ""}, /* only user 1 changed */
      {2, 1, 0, ""},            /* "" fits in one byte */
      {999, sizeof(hash), HV_ENOTFOUND, ""},
      {0, sizeof(hash), HV_ENOTFOUND, ""},
      {-5, sizeof(hash), HV_ENOTFOUND, ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    memset(hash, 'x', sizeof(hash));
    assert_int_equal(users_password_get(db, cases[i].uid, hash, cases[i].cap,
                                        &e),
                     cases[i].rc);
    assert_string_equal(hash, cases[i].want);
  }
  assert_non_null(strstr(e.msg, "unknown user"));
  /* a new hash replaces the old one */
  assert_int_equal(users_password_set(db, 1, "$argon2id$second", &e), 0);
  assert_int_equal(users_password_get(db, 1, hash, sizeof(hash), &e), 0);
  assert_string_equal(hash, "$argon2id$second");
}

static void test_bad_arguments(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  char hash[64];
  static const struct {
    int64_t uid;
    const char *hash;
    int rc;
  } sets[] = {{1, "", HV_EINVAL},
              {1, NULL, HV_EINVAL},
              {999, HASH, HV_ENOTFOUND},
              {INT64_MIN, HASH, HV_ENOTFOUND}};
  for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
    assert_int_equal(users_password_set(db, sets[i].uid, sets[i].hash, &e),
                     sets[i].rc);
  assert_int_equal(users_password_set(NULL, 1, HASH, &e), HV_EINVAL);
  assert_int_equal(users_password_get(NULL, 1, hash, sizeof(hash), &e),
                   HV_EINVAL);
  assert_int_equal(users_password_get(db, 1, NULL, sizeof(hash), &e),
                   HV_EINVAL);
  assert_int_equal(users_password_get(db, 1, hash, 0, &e), HV_EINVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_passwords, sf_setup, sf_teardown),
      cmocka_unit_test_setup_teardown(test_bad_arguments, sf_setup,
                                      sf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_user_json.c - data/user_json: the one JSON of a catalogue user row
 * (GET /users/, GET /users/{id}, harvest users show --json): null values,
 * and the "unknown" / "not_in_dataset" lists that say why.
 */
#include <string.h>

#include "data/user_json.h"
#include "testutil.h"

/* The names in j[key] joined with ',' ("" when the key is absent). */
static void names(const json_t *j, const char *key, char *buf, size_t cap)
{
  json_t *a = json_object_get(j, key);
  size_t i, len = 0;
  json_t *v;
  buf[0] = '\0';
  json_array_foreach(a, i, v)
      len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "",
                              json_string_value(v));
}

static void test_all_known(void **state)
{
  struct catalog_user_row u = {7, 24, 18, "F", "writer", 20, "55105"};
  json_t *j = user_row_json(&u, CATALOG_UF_ALL);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "user_id")), 7);
  assert_int_equal(json_integer_value(json_object_get(j, "raw_user_age")),
                   24);
  assert_int_equal(
      json_integer_value(json_object_get(j, "bucketized_user_age")), 18);
  assert_string_equal(json_string_value(json_object_get(j, "user_gender")),
                      "F");
  assert_string_equal(
      json_string_value(json_object_get(j, "user_occupation_text")),
      "writer");
  assert_int_equal(
      json_integer_value(json_object_get(j, "user_occupation_label")), 20);
  assert_string_equal(json_string_value(json_object_get(j, "user_zip_code")),
                      "55105");
  assert_null(json_object_get(j, "unknown"));
  assert_null(json_object_get(j, "not_in_dataset"));
  assert_int_equal(json_object_size(j), 7);
  json_decref(j);
}

/* ml-latest: no demographics in the dataset, so every null is both unknown
 * and not in the dataset, except the zip code (no such feature bit). */
static void test_not_in_dataset(void **state)
{
  struct catalog_user_row u = {3, -1, -1, NULL, NULL, -1, NULL};
  char buf[128];
  json_t *j = user_row_json(&u, 0);
  assert_non_null(j);
  assert_true(json_is_null(json_object_get(j, "raw_user_age")));
  assert_true(json_is_null(json_object_get(j, "bucketized_user_age")));
  assert_true(json_is_null(json_object_get(j, "user_gender")));
  assert_true(json_is_null(json_object_get(j, "user_occupation_label")));
  assert_true(json_is_null(json_object_get(j, "user_zip_code")));
  names(j, "unknown", buf, sizeof(buf));
  assert_string_equal(buf, "age,gender,occupation,zip_code");
  names(j, "not_in_dataset", buf, sizeof(buf));
  assert_string_equal(buf, "age,gender,occupation");
  json_decref(j);
}

/* A user added without a gender into ml-100k: unknown, but the dataset has
 * the feature; a bucket alone or a label alone is a known value. */
static void test_unknown_in_dataset(void **state)
{
  struct catalog_user_row u = {944, -1, 25, NULL, NULL, 4, "02139"};
  char buf[128];
  json_t *j = user_row_json(&u, CATALOG_UF_ALL);
  assert_non_null(j);
  names(j, "unknown", buf, sizeof(buf));
  assert_string_equal(buf, "gender");
  assert_null(json_object_get(j, "not_in_dataset"));
  json_decref(j);
  u.gender = "M";
  j = user_row_json(&u, CATALOG_UF_AGE);
  assert_null(json_object_get(j, "unknown"));
  assert_null(json_object_get(j, "not_in_dataset"));
  json_decref(j);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_known),
      cmocka_unit_test(test_not_in_dataset),
      cmocka_unit_test(test_unknown_in_dataset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

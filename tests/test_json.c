/*
 * test_json.c - util/json: numbers that JSON can and cannot hold.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/json.h"

static void test_num(void **state)
{
  static const struct {
    double v;
    const char *want; /* as jansson encodes it */
  } cases[] = {
      {0.5, "0.5"},   {-2.0, "-2.0"}, {0.0, "0.0"},   {1024.5, "1024.5"},
      {NAN, "null"},  {INFINITY, "null"}, {-INFINITY, "null"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *j = hv_json_num(cases[i].v);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_ENCODE_ANY);
    assert_non_null(s);
    assert_string_equal(s, cases[i].want);
    if (isfinite(cases[i].v))
      assert_true(json_is_real(j) && json_real_value(j) == cases[i].v);
    else
      assert_true(json_is_null(j));
    free(s);
    json_decref(j);
  }
}

/* The reference is new: json_object_set_new steals it with no leak (the
 * ASan build checks). */
static void test_num_steal(void **state)
{
  json_t *o = json_object();
  assert_int_equal(json_object_set_new(o, "a", hv_json_num(1.25)), 0);
  assert_int_equal(json_object_set_new(o, "b", hv_json_num(NAN)), 0);
  char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(s, "{\"a\":1.25,\"b\":null}");
  free(s);
  json_decref(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_num),
      cmocka_unit_test(test_num_steal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

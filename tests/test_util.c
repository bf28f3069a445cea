/*
 * test_util.c - util/: error records, strict parsing, atomic files.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/parse.h"

static void test_err_set_and_prefix(void **state)
{
  struct hv_err e = {0};
  assert_int_equal(hv_err_set(&e, HV_EINVAL, "line %d: bad", 3), HV_EINVAL);
  assert_string_equal(e.msg, "line 3: bad");
  hv_err_prefix(&e, "%s", "u.data");
  assert_string_equal(e.msg, "u.data: line 3: bad");
  assert_int_equal(hv_err_set(NULL, HV_EIO, "x"), HV_EIO);
  assert_int_equal(hv_err_exit_code(0), 0);
  assert_int_equal(hv_err_exit_code(HV_EUSAGE), 2);
  assert_int_equal(hv_err_exit_code(HV_EINVAL), 1);
  assert_string_equal(hv_strerror(HV_ENOTFOUND), "not found");
}

static const struct {
  const char *s;
  int ok;
  int64_t v;
} i64_cases[] = {
    {"42", 1, 42},       {"-7", 1, -7},   {"", 0, 0},    {"4x", 0, 0},
    {" 4", 1, 4},        {"99999999999999999999", 0, 0}, {"abc", 0, 0},
    {"101", 0, 0},       {"100", 1, 100},
};

static void test_parse_i64_table(void **state)
{
  for (size_t i = 0; i < sizeof(i64_cases) / sizeof(i64_cases[0]); i++) {
    struct hv_err e = {0};
    int64_t v = 0;
    int rc = hv_parse_i64(i64_cases[i].s, -100, 100, &v, "--n", &e);
    if (i64_cases[i].ok) {
      assert_int_equal(rc, 0);
      assert_int_equal(v, i64_cases[i].v);
    } else {
      assert_int_equal(rc, HV_EINVAL);
      assert_non_null(strstr(e.msg, "--n"));
    }
  }
  struct hv_err e = {0};
  int64_t v;
  assert_int_equal(hv_parse_i64(NULL, 0, 1, &v, "x", &e), HV_EINVAL);
}

static void test_parse_f64(void **state)
{
  struct hv_err e = {0};
  double v = 0;
  assert_int_equal(hv_parse_f64("0.25", 0, 1, &v, "--lr", &e), 0);
  assert_true(fabs(v - 0.25) < 1e-12);
  assert_int_equal(hv_parse_f64("nan", 0, 1, &v, "--lr", &e), HV_EINVAL);
  assert_int_equal(hv_parse_f64("inf", 0, 1e300, &v, "--lr", &e), HV_EINVAL);
  assert_int_equal(hv_parse_f64("2", 0, 1, &v, "--lr", &e), HV_EINVAL);
  assert_int_equal(hv_parse_f64("1e", 0, 1, &v, "--lr", &e), HV_EINVAL);
}

static void test_parse_range(void **state)
{
  struct hv_err e = {0};
  int64_t a, b;
  assert_int_equal(hv_parse_range("0:50000", &a, &b, "--ratings", &e), 0);
  assert_int_equal(a, 0);
  assert_int_equal(b, 50000);
  assert_int_equal(hv_parse_range(":10", &a, &b, "r", &e), 0);
  assert_int_equal(a, 0);
  assert_int_equal(hv_parse_range("5:", &a, &b, "r", &e), 0);
  assert_int_equal(b, INT64_MAX);
  assert_int_equal(hv_parse_range("9:1", &a, &b, "r", &e), HV_EINVAL);
  assert_int_equal(hv_parse_range("9", &a, &b, "r", &e), HV_EINVAL);
  assert_int_equal(hv_parse_range("x:1", &a, &b, "r", &e), HV_EINVAL);
  assert_int_equal(hv_parse_range("-1:1", &a, &b, "r", &e), HV_EINVAL);
}

static void test_atomic_write_and_read(void **state)
{
  char dir[256], path[512], sub[512];
  tu_tmpdir(dir, sizeof(dir));
  struct hv_err e = {0};
  snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
  assert_int_equal(hv_mkdir_p(sub, &e), 0);
  assert_int_equal(hv_mkdir_p(sub, &e), 0);
  snprintf(path, sizeof(path), "%s/file.bin", sub);
  assert_int_equal(hv_write_atomic(path, "hello", 5, 0600, &e), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char *buf = NULL;
  size_t n = 0;
  assert_int_equal(hv_read_file(path, 100, &buf, &n, &e), 0);
  assert_int_equal(n, 5);
  assert_string_equal(buf, "hello");
  free(buf);
  assert_int_equal(hv_read_file(path, 3, &buf, &n, &e), HV_ETOOBIG);
  snprintf(path, sizeof(path), "%s/missing", dir);
  assert_int_equal(hv_read_file(path, 100, &buf, &n, &e), HV_ENOTFOUND);
  snprintf(path, sizeof(path), "%s/nodir/x", dir);
  assert_int_equal(hv_write_atomic(path, "x", 1, 0644, &e), HV_EIO);
  tu_rmtree(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err_set_and_prefix),
      cmocka_unit_test(test_parse_i64_table),
      cmocka_unit_test(test_parse_f64),
      cmocka_unit_test(test_parse_range),
      cmocka_unit_test(test_atomic_write_and_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

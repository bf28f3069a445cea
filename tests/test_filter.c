/*
 * test_filter.c - track/filter: tokenizer, parser errors with positions,
 * evaluation against runs, LIKE, order-by sorting.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "track/filter.h"

/* A run with dim/lr params, two metrics, one tag. */
static void make_run(struct tracking_run *r, const char *id, const char *dim,
                     double acc, double loss, const char *status,
                     double start)
{
  memset(r, 0, sizeof(*r));
  snprintf(r->run_id, sizeof(r->run_id), "%s", id);
  r->name = strdup(id);
  r->experiment = strdup("exp");
  r->status = strdup(status);
  r->user = strdup("alice");
  r->start_time = start;
  r->data_rows = -1;
  r->n_params = 2;
  r->params = calloc(2, sizeof(*r->params));
  r->params[0].key = strdup("dim");
  r->params[0].value = strdup(dim);
  r->params[1].key = strdup("my param");
  r->params[1].value = strdup("it's");
  r->n_metrics = isnan(acc) ? 1 : 2;
  r->metrics = calloc(2, sizeof(*r->metrics));
  r->metrics[0].key = strdup("loss");
  r->metrics[0].value = loss;
  if (!isnan(acc)) {
    r->metrics[1].key = strdup("top_100_categorical_accuracy");
    r->metrics[1].value = acc;
  }
  r->n_tags = 1;
  r->tags = calloc(1, sizeof(*r->tags));
  r->tags[0].key = strdup("x");
  r->tags[0].value = strdup(dim[0] == '3' ? "y" : "z");
}

static struct tracking_run runs[4];

static int setup(void **state)
{
  make_run(&runs[0], "r0", "16", 0.20, 3.0, "FINISHED", 100);
  make_run(&runs[1], "r1", "32", 0.35, 2.5, "FINISHED", 200);
  make_run(&runs[2], "r2", "64", 0.31, 2.0, "FAILED", 300);
  make_run(&runs[3], "r3", "32", NAN, 4.0, "RUNNING", 400);
  return 0;
}

static int teardown(void **state)
{
  for (int i = 0; i < 4; i++)
    tracking_run_clear(&runs[i]);
  return 0;
}

/* Bitmask of runs[] matching expr, or -1 when it does not parse. */
static int matches(const char *expr)
{
  struct filter *f = NULL;
  struct hv_err e = {0};
  if (filter_parse(expr, &f, &e))
    return -1;
  int mask = 0;
  for (int i = 0; i < 4; i++)
    mask |= filter_match(f, &runs[i]) << i;
  filter_free(f);
  return mask;
}

static void test_match_table(void **state)
{
  static const struct {
    const char *expr;
    int mask;
  } cases[] = {
      {NULL, 0xf},
      {"", 0xf},
      {"   ", 0xf},
      {"params.dim = '32'", 0xa},
      {"params.dim = \"32\"", 0xa},
      {"params.dim != '32'", 0x5},
      {"params.dim = '32' and metrics.top_100_categorical_accuracy > 0.3",
       0x2},
      {"params.dim = '32' AND metrics.top_100_categorical_accuracy > 0.3",
       0x2},
      {"metrics.top_100_categorical_accuracy > 0.3", 0x6},
      {"metrics.top_100_categorical_accuracy >= 0.31", 0x6},
      {"metrics.top_100_categorical_accuracy < 0.31", 0x1},
      {"metrics.top_100_categorical_accuracy <= 0.31", 0x5},
      {"metrics.top_100_categorical_accuracy = 0.35", 0x2},
      {"metrics.top_100_categorical_accuracy != 0.35", 0x5}, /* r3 lacks */
      {"metrics.loss < 2.6", 0x6},
      {"metrics.loss > -1", 0xf},
      {"metrics.loss > 1e0", 0xf},
      {"m.loss<=2", 0x4},
      {"tags.x != 'y'", 0x5},
      {"tags.x = 'y'", 0xa},
      {"tags.missing = 'y'", 0x0},
      {"attributes.status = 'FINISHED'", 0x3},
      {"attributes.status IN ('FINISHED', 'FAILED')", 0x7},
      {"attributes.status NOT IN ('FINISHED')", 0xc},
      {"attributes.run_name LIKE 'r%'", 0xf},
      {"attributes.run_name LIKE 'R%'", 0x0},
      {"attributes.run_name ILIKE 'R%'", 0xf},
      {"attributes.run_name like '_1'", 0x2},
      {"attributes.start_time > 150", 0xe},
      {"attributes.end_time > 0", 0x0},
      {"run.user = 'alice'", 0xf},
      {"params.`my param` = 'it''s'", 0xf},
      {"params.\"my param\" = 'it''s'", 0xf},
      {"params.dim <> '16'", 0xe},
      {"params.dim == '16'", 0x1},
      {"PARAMS.dim = '64'", 0x4},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int got = matches(cases[i].expr);
    if (got != cases[i].mask)
      fail_msg("filter '%s': mask %d, want %d",
               cases[i].expr ? cases[i].expr : "(null)", got, cases[i].mask);
  }
}

static void test_errors_table(void **state)
{
  static const struct {
    const char *expr;
    const char *want; /* substring of the message */
  } cases[] = {
      {"params.dim", "position 11: expected a comparison operator"},
      {"params.dim =", "position 13: expected a quoted string"},
      {"params.dim = 32", "position 14: expected a quoted string"},
      {"metrics.loss = 'a'", "position 16: expected a number"},
      {"metrics.loss LIKE 'a'", "is a number"},
      {"params.dim < '3'", "is a string"},
      {"params.dim = 'abc", "unterminated"},
      {"foo.dim = '1'", "'foo.dim' is not a key"},
      {"dim = '1'", "'dim' is not a key"},
      {"attributes.color = 'red'", "unknown attribute 'color'"},
      {"params.dim = '1' or params.dim = '2'", "OR is not supported"},
      {"params.dim = '1' params.x = '2'", "expected AND"},
      {"params.dim = '1' and", "found end of expression"},
      {"params.dim = '1' ; drop table runs", "unexpected character ';'"},
      {"params. = '1'", "expected a key name"},
      {"params.`` = '1'", "empty key name"},
      {"metrics.loss > 1.2.3", "is not a number"},
      {"metrics.loss > 3abc", "is not a number"},
      {"attributes.status IN 'A'", "expected '('"},
      {"attributes.status IN ('A' 'B')", "expected ',' or ')'"},
      {"attributes.status IN ()", "expected a quoted string"},
      {"= '1'", "expected a key"},
      {"params.dim = '1' and and", "is not a key"},
      {"metrics.loss > nan", "expected a number"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct filter *f = NULL;
    struct hv_err e = {0};
    int rc = filter_parse(cases[i].expr, &f, &e);
    if (rc != HV_EINVAL || f != NULL || !strstr(e.msg, cases[i].want))
      fail_msg("filter '%s': rc %d msg '%s', want '%s'", cases[i].expr, rc,
               e.msg, cases[i].want);
  }
}

static void test_oversized(void **state)
{
  size_t n = FILTER_MAX_LEN + 10;
  char *big = malloc(n + 1);
  memset(big, ' ', n);
  big[n] = '\0';
  struct filter *f = NULL;
  struct hv_err e = {0};
  assert_int_equal(filter_parse(big, &f, &e), HV_ETOOBIG);
  assert_null(f);
  /* many comparisons within the limit parse and evaluate */
  size_t o = 0;
  big[0] = '\0';
  while (o + 40 < FILTER_MAX_LEN)
    o += (size_t)snprintf(big + o, n + 1 - o, "%smetrics.loss > -5",
                          o ? " and " : "");
  assert_int_equal(filter_parse(big, &f, &e), 0);
  assert_true(filter_match(f, &runs[0]));
  filter_free(f);
  free(big);
  filter_free(NULL);
}

static void test_like(void **state)
{
  static const struct {
    const char *p, *s;
    int icase, want;
  } cases[] = {
      {"%", "", 0, 1},       {"%", "abc", 0, 1},    {"a%", "abc", 0, 1},
      {"%c", "abc", 0, 1},   {"%b%", "abc", 0, 1},  {"a_c", "abc", 0, 1},
      {"a_c", "ac", 0, 0},   {"abc", "abcd", 0, 0}, {"ABC", "abc", 0, 0},
      {"ABC", "abc", 1, 1},  {"%a%a%", "banana", 0, 1},
      {"%x%", "banana", 0, 0}, {"", "", 0, 1},     {"", "a", 0, 0},
      {"a%%b", "ab", 0, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (filter_like(cases[i].p, cases[i].s, cases[i].icase) != cases[i].want)
      fail_msg("LIKE '%s' on '%s' (icase %d) != %d", cases[i].p, cases[i].s,
               cases[i].icase, cases[i].want);
}

/* run ids in order after sorting a copy by spec, as "r1,r0,..." */
static void sorted(const char *spec, char *out, size_t cap)
{
  struct tracking_run copy[4];
  memcpy(copy, runs, sizeof(copy));
  struct filter_order *o = NULL;
  struct hv_err e = {0};
  assert_int_equal(filter_order_parse(spec, &o, &e), 0);
  filter_sort(copy, 4, o);
  filter_order_free(o);
  out[0] = '\0';
  for (int i = 0; i < 4; i++) {
    strncat(out, copy[i].run_id, cap - strlen(out) - 1);
    if (i < 3)
      strncat(out, ",", cap - strlen(out) - 1);
  }
}

static void test_order(void **state)
{
  static const struct {
    const char *spec, *want;
  } cases[] = {
      {NULL, "r3,r2,r1,r0"}, /* newest first */
      {"metrics.top_100_categorical_accuracy DESC", "r1,r2,r0,r3"},
      {"metrics.top_100_categorical_accuracy ASC", "r0,r2,r1,r3"},
      {"metrics.top_100_categorical_accuracy", "r0,r2,r1,r3"},
      {"metrics.loss desc", "r3,r0,r1,r2"},
      {"params.dim ASC, metrics.loss DESC", "r0,r3,r1,r2"},
      {"attributes.start_time", "r0,r1,r2,r3"},
      {"tags.x DESC", "r2,r0,r3,r1"},
  };
  char got[64];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    sorted(cases[i].spec, got, sizeof(got));
    if (strcmp(got, cases[i].want))
      fail_msg("order '%s': %s, want %s",
               cases[i].spec ? cases[i].spec : "(null)", got, cases[i].want);
  }
  static const char *const bad[] = {"metrics.loss DOWN", "loss DESC",
                                    "metrics.loss DESC,", "metrics.loss,,"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct filter_order *o = NULL;
    struct hv_err e = {0};
    assert_int_equal(filter_order_parse(bad[i], &o, &e), HV_EINVAL);
    assert_null(o);
    assert_non_null(strstr(e.msg, "order-by: at position"));
  }
}

/* filter_order_missing: the metric, param and tag keys no run has (issue
 * 16: `runs list --order-by` warns about them); attributes never count;
 * a key one run has is not missing; the text is cut to the buffer. */
static void test_order_missing(void **state)
{
  static const struct {
    const char *spec;
    size_t n_runs, want;
    const char *text;
  } cases[] = {
      {"metrics.loss", 4, 0, ""},
      {"metrics.top_100_categorical_accuracy", 4, 0, ""},
      {"metrics.top_100_categorical_accuracy", 0, 0, ""}, /* no runs */
      {"metrics.nosuch", 4, 1, "metrics.nosuch"},
      {"m.nosuch DESC, params.dim, tags.gone ASC", 4, 2,
       "metrics.nosuch, tags.gone"},
      {"params.`my param`, p.nope", 4, 1, "params.nope"},
      {"attributes.end_time", 4, 0, ""}, /* no run ended: still no warning */
      {NULL, 4, 0, ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct filter_order *o = NULL;
    struct hv_err e = {0};
    char buf[128];
    assert_int_equal(filter_order_parse(cases[i].spec, &o, &e), 0);
    size_t k = filter_order_missing(o, runs, cases[i].n_runs, buf,
                                    sizeof(buf));
    if (k != cases[i].want || strcmp(buf, cases[i].text))
      fail_msg("'%s': %zu '%s', want %zu '%s'",
               cases[i].spec ? cases[i].spec : "(null)", k, buf,
               cases[i].want, cases[i].text);
    char tiny[6];
    k = filter_order_missing(o, runs, cases[i].n_runs, tiny, sizeof(tiny));
    assert_int_equal(k, cases[i].want);
    assert_true(strlen(tiny) < sizeof(tiny));
    filter_order_free(o);
  }
  char buf[8] = "x";
  assert_int_equal(filter_order_missing(NULL, runs, 4, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_match_table),
      cmocka_unit_test(test_errors_table),
      cmocka_unit_test(test_oversized),
      cmocka_unit_test(test_like),
      cmocka_unit_test(test_order),
      cmocka_unit_test(test_order_missing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

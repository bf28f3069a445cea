/*
 * test_eval_metrics.c - train/eval_metrics: the one JSON form of struct
 * eval_metrics (CLI evaluate and train, GET /monitor/evaluate): the exact
 * text for a known struct (key names and order), segments, bad input.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "train/eval_metrics.h"

static void known(struct eval_metrics *m)
{
  memset(m, 0, sizeof(*m));
  m->n_pairs = 7;
  m->n_users = 3;
  m->n_unknown_users = 1;
  m->n_unknown_movies = 2;
  for (int k = 0; k < EVAL_NK; k++)
    m->top_k[k] = 0.125 * (k + 1);
  m->loss = 10.5;
  m->loss_per_pair = 1.5;
  m->recall_at_10 = 0.25;
  m->recall_at_100 = 0.75;
  m->ndcg_at_10 = 0.5;
  m->coverage_at_10 = 0.0625;
  m->n_segments = 1;
  strcpy(m->seg[0].name, "gender=F");
  m->seg[0].n_pairs = 4;
  m->seg[0].n_users = 2;
  m->seg[0].top_10 = 0.25;
  m->seg[0].top_100 = 1.0;
  m->seg[0].recall_at_10 = 0.5;
  m->seg[0].ndcg_at_10 = 0.375;
}

static void test_exact_text(void **state)
{
  struct eval_metrics m;
  known(&m);
  json_t *j = eval_metrics_to_json(&m);
  assert_non_null(j);
  char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
  assert_string_equal(
      s,
      "{\"top_1_categorical_accuracy\":0.125,"
      "\"top_5_categorical_accuracy\":0.25,"
      "\"top_10_categorical_accuracy\":0.375,"
      "\"top_50_categorical_accuracy\":0.5,"
      "\"top_100_categorical_accuracy\":0.625,"
      "\"loss\":10.5,\"loss_per_pair\":1.5,\"recall_at_10\":0.25,"
      "\"recall_at_100\":0.75,\"ndcg_at_10\":0.5,\"coverage_at_10\":0.0625,"
      "\"n_pairs\":7,\"n_users\":3,\"n_unknown_users\":1,"
      "\"n_unknown_movies\":2,\"segments\":[{\"segment\":\"gender=F\","
      "\"n_pairs\":4,\"n_users\":2,\"top_10_categorical_accuracy\":0.25,"
      "\"top_100_categorical_accuracy\":1.0,\"recall_at_10\":0.5,"
      "\"ndcg_at_10\":0.375}]}");
  free(s);
  json_decref(j);
}

static void test_segments_and_bad_input(void **state)
{
  struct eval_metrics m;
  known(&m);
  m.n_segments = 0;
  json_t *j = eval_metrics_to_json(&m);
  assert_int_equal(json_array_size(json_object_get(j, "segments")), 0);
  json_decref(j);
  /* a count past the array is clamped, not read out of bounds */
  m.n_segments = EVAL_MAX_SEG + 5;
  j = eval_metrics_to_json(&m);
  assert_int_equal(json_array_size(json_object_get(j, "segments")),
                   EVAL_MAX_SEG);
  json_decref(j);
  assert_null(eval_metrics_to_json(NULL));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_text),
      cmocka_unit_test(test_segments_and_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

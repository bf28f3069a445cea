/*
 * test_modelslot.c - serve/modelslot: reference counting across publish and
 * release (the old snapshot is freed by its last reader, exactly once),
 * concurrent readers during swaps, and the title cache (dense and sparse
 * ids, JSON escaping, invalid UTF-8).
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/http/modelslot.h"
#include "store/loader.h"
#include "store/db.h"
#include "testutil.h"

static atomic_int freed;

static void count_free(void *m)
{
  atomic_fetch_add(&freed, 1);
  free(m);
}

static struct modelslot_snap *snap_n(int tag)
{
  int *m = malloc(sizeof(int));
  *m = tag;
  struct modelslot_snap *s = modelslot_snap_new(m, count_free, "model", tag,
                                                "Production", "/x.hvm");
  assert_non_null(s);
  return s;
}

static void test_refcount_and_swap(void **state)
{
  atomic_store(&freed, 0);
  struct modelslot *slot = modelslot_new();
  assert_null(modelslot_acquire(slot));
  assert_int_equal(modelslot_peek(slot, NULL, 0, NULL), 0);
  modelslot_publish(slot, snap_n(1));
  struct modelslot_snap *r1 = modelslot_acquire(slot);
  assert_int_equal(*(int *)r1->model, 1);
  assert_string_equal(r1->version_text, "model/1");
  modelslot_publish(slot, snap_n(2)); /* r1 is still in use */
  assert_int_equal(atomic_load(&freed), 0);
  assert_int_equal(*(int *)r1->model, 1);
  char name[32];
  int64_t v = 0;
  assert_int_equal(modelslot_peek(slot, name, sizeof(name), &v), 1);
  assert_int_equal(v, 2);
  modelslot_release(r1); /* the last reader frees it */
  assert_int_equal(atomic_load(&freed), 1);
  struct modelslot_snap *r2 = modelslot_acquire(slot);
  assert_int_equal(*(int *)r2->model, 2);
  modelslot_release(r2);
  assert_int_equal(atomic_load(&freed), 1);
  modelslot_release(NULL);
  modelslot_free(slot); /* drops the current one */
  assert_int_equal(atomic_load(&freed), 2);
  modelslot_free(NULL);
}

struct reader {
  struct modelslot *slot;
  atomic_int *stop;
  long reads, bad;
};

static void *reader_main(void *arg)
{
  struct reader *r = arg;
  while (!atomic_load(r->stop)) {
    struct modelslot_snap *s = modelslot_acquire(r->slot);
    if (s) {
      if (*(int *)s->model != (int)s->version)
        r->bad++;
      r->reads++;
      modelslot_release(s);
    }
  }
  return NULL;
}

static void test_concurrent_readers(void **state)
{
  atomic_store(&freed, 0);
  struct modelslot *slot = modelslot_new();
  atomic_int stop = 0;
  struct reader rd[3];
  pthread_t t[3];
  modelslot_publish(slot, snap_n(0));
  for (int i = 0; i < 3; i++) {
    rd[i] = (struct reader){slot, &stop, 0, 0};
    assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rd[i]), 0);
  }
  for (int k = 1; k <= 2000; k++)
    modelslot_publish(slot, snap_n(k));
  atomic_store(&stop, 1);
  for (int i = 0; i < 3; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(rd[i].bad, 0);
  }
  assert_int_equal(atomic_load(&freed), 2000); /* all but the current */
  modelslot_free(slot);
  assert_int_equal(atomic_load(&freed), 2001);
}

static void load(struct hv_db *db, const int64_t *ids, const char *const *t,
                 int n)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  for (int i = 0; i < n; i++) {
    struct hv_movie m = {.id = ids[i], .title = t[i]};
    assert_int_equal(loader_movie(ld, &m, &e), 0);
  }
  assert_int_equal(loader_commit(ld, "t", "t", &e), 0);
}

static void check_titles(const int64_t *ids, const char *const *t, int n,
                         int want_dense)
{
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/h.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  load(db, ids, t, n);
  db_close(db);
  struct hv_db *c = NULL;
  assert_int_equal(db_open(path, &c, &e), 0);
  struct modelslot_snap *s = modelslot_snap_new(NULL, NULL, "m", 1, "file",
                                                path);
  assert_int_equal(modelslot_snap_titles(s, c, &e), 0);
  assert_int_equal(s->by_id != NULL, want_dense);
  for (int i = 0; i < n; i++) {
    size_t len = 0;
    const char *lit = modelslot_title(s, ids[i], &len);
    assert_non_null(lit);
    json_error_t je;
    json_t *j = json_loadb(lit, len, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    if ((unsigned char)t[i][0] == 0xff) /* invalid UTF-8 became '?' */
      assert_string_equal(json_string_value(j), "??bad");
    else
      assert_string_equal(json_string_value(j), t[i]);
    json_decref(j);
  }
  size_t len;
  static const int64_t missing[] = {-1, 0, 2, 999999, INT64_MAX};
  for (size_t i = 0; i < 5; i++)
    assert_null(modelslot_title(s, missing[i], &len));
  modelslot_release(s);
  db_close(c);
  tu_rmtree(dir);
}

static void test_titles(void **state)
{
  static const int64_t dense[] = {1, 3, 4, 5};
  static const char *const t1[] = {"Toy \"Story\"", "\xff\xfe" "bad",
                                   "Am\xc3\xa9lie", "back\\slash\n"};
  check_titles(dense, t1, 4, 1);
  static const int64_t sparse[] = {1, 3, 5000000, 900000000};
  check_titles(sparse, t1, 4, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refcount_and_swap),
      cmocka_unit_test(test_concurrent_readers),
      cmocka_unit_test(test_titles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

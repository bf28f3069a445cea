/*
 * test_dataset.c - train/dataset on a synthetic store: the training
 * dataset (range, replay sample outside it, lineage, tables, gender codes),
 * the evaluation dataset (slice, then the model's training range outside
 * it), the load-run-free shortcuts against the explicit path, and bad
 * input (NULL, empty ranges, unknown ids).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"
#include "testutil.h"
#include "train/dataset.h"

/* 20 users x 10 ratings = ratings 1..200; users and movies 1..20. */
static struct hv_db *fixture(void)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  struct fx_spec s = {20, 20, 10, 4, 0, 0, 1, 11, 1, 0};
  assert_int_equal(fx_load(db, &s), 200);
  return db;
}

static void tiny(struct train_config *c)
{
  train_config_defaults(c);
  c->dim = 4;
  c->batch = 32;
  c->epochs = 1;
  c->threads = 1;
}

static void test_load_train(void **state)
{
  struct hv_db *db = fixture();
  struct train_config c;
  struct hv_dataset ds;
  struct hv_err e = {0};
  tiny(&c);
  c.first_rating_id = 50;
  c.last_rating_id = 120;
  /* replay: inside the range (skipped), outside it, missing (skipped) */
  static const int64_t extra[] = {3, 7, 60, 150, 199, 5000};
  c.extra_rating_ids = extra;
  c.n_extra_rating_ids = 6;
  assert_int_equal(dataset_load_train(db, &c, &ds, &e), 0);
  assert_int_equal(ds.first_rating_id, 50);
  assert_int_equal(ds.last_rating_id, 120);
  assert_int_equal(ds.ratings.n, 71 + 4);
  for (size_t i = 0; i < 71; i++)
    assert_int_equal(ds.ratings.rating_id[i], 50 + (int64_t)i);
  static const int64_t tail[4] = {3, 7, 150, 199};
  assert_memory_equal(ds.ratings.rating_id + 71, tail, sizeof(tail));
  for (size_t i = 0; i < ds.ratings.n; i++) {
    /* fixture: rating r belongs to user (r - 1) / 10 + 1 */
    assert_int_equal(ds.ratings.user_id[i],
                     (ds.ratings.rating_id[i] - 1) / 10 + 1);
    assert_true(ds.ratings.rating[i] >= 1 && ds.ratings.rating[i] <= 5);
    assert_int_equal(ds.ratings.timestamp[i],
                     1000000 + ds.ratings.rating_id[i] + 1);
  }
  assert_int_equal(ds.users.n, 20);
  assert_int_equal(ds.movies.n, 20);
  for (size_t i = 0; i < 20; i++) {
    assert_int_equal(ds.users.id[i], (int64_t)i + 1);
    int64_t id = (int64_t)i + 1;
    assert_int_equal(ds.users.gender[i],
                     (id % 4) % 2 ? DATASET_GENDER_F : DATASET_GENDER_M);
    assert_int_equal(ds.movies.year[i], 1950 + (int)(id % 50));
    assert_true(ds.movies.genre_off[i + 1] > ds.movies.genre_off[i]);
  }
  assert_int_equal(dataset_check(&ds, "test", &e), 0);
  dataset_free(&ds);
  assert_int_equal(ds.ratings.n, 0);
  assert_null(ds.ratings.rating_id);
  dataset_free(&ds); /* zeroed: nothing to do */
  dataset_free(NULL);
  /* the range as loaded is the lineage, not the range asked */
  c.extra_rating_ids = NULL;
  c.n_extra_rating_ids = 0;
  c.first_rating_id = 0;
  c.last_rating_id = INT64_MAX;
  assert_int_equal(dataset_load_train(db, &c, &ds, &e), 0);
  assert_int_equal(ds.first_rating_id, 1);
  assert_int_equal(ds.last_rating_id, 200);
  assert_int_equal(ds.ratings.n, 200);
  dataset_free(&ds);
  db_close(db);
}

static void test_load_train_bad(void **state)
{
  struct hv_db *db = fixture();
  struct train_config c;
  struct hv_dataset ds;
  struct hv_err e = {0};
  tiny(&c);
  assert_int_equal(dataset_load_train(NULL, &c, &ds, &e), HV_EINVAL);
  assert_int_equal(ds.ratings.n, 0);
  assert_int_equal(dataset_load_train(db, NULL, &ds, &e), HV_EINVAL);
  assert_int_equal(dataset_load_train(db, &c, NULL, &e), HV_EINVAL);
  c.first_rating_id = 1000; /* no ratings there */
  c.last_rating_id = 2000;
  assert_int_equal(dataset_load_train(db, &c, &ds, &e), HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "import data first"));
  assert_null(ds.ratings.rating_id);
  c.first_rating_id = 9; /* first > last */
  c.last_rating_id = 2;
  assert_int_equal(dataset_load_train(db, &c, &ds, &e), HV_EINVAL);
  tiny(&c);
  c.n_extra_rating_ids = 3; /* a count without ids */
  assert_int_equal(dataset_load_train(db, &c, &ds, &e), HV_EINVAL);
  /* dataset_train checks the config before loading anything */
  struct hv_model *m = NULL;
  tiny(&c);
  c.dim = 0;
  assert_int_equal(dataset_train(db, &c, NULL, NULL, NULL, &m, &e),
                   HV_EINVAL);
  assert_non_null(strstr(e.msg, "dim"));
  assert_null(m);
  tiny(&c);
  assert_int_equal(dataset_train(db, &c, NULL, NULL, NULL, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(dataset_train(NULL, &c, NULL, NULL, NULL, &m, &e),
                   HV_EINVAL);
  db_close(db);
}

static void test_load_eval(void **state)
{
  struct hv_db *db = fixture();
  struct train_config c;
  struct hv_model *m = NULL;
  struct hv_dataset ds;
  struct hv_err e = {0};
  tiny(&c);
  c.first_rating_id = 1;
  c.last_rating_id = 150;
  assert_int_equal(dataset_train(db, &c, NULL, NULL, NULL, &m, &e), 0);
  /* slice 141..180: the slice, then the training range outside it */
  assert_int_equal(dataset_load_eval(db, m, 141, 180, &ds, &e), 0);
  assert_int_equal(ds.first_rating_id, 141);
  assert_int_equal(ds.last_rating_id, 180);
  assert_int_equal(ds.ratings.n, 40 + 140);
  for (size_t i = 0; i < 40; i++)
    assert_int_equal(ds.ratings.rating_id[i], 141 + (int64_t)i);
  for (size_t i = 40; i < ds.ratings.n; i++)
    assert_int_equal(ds.ratings.rating_id[i], (int64_t)i - 39);
  assert_int_equal(ds.users.n, 20);
  assert_int_equal(ds.movies.n, 0); /* evaluation needs no movies table */
  struct eval_metrics a, b;
  assert_int_equal(model_evaluate(&ds, m, &a, &e), 0);
  assert_int_equal(dataset_evaluate(db, m, 141, 180, &b, &e), 0);
  assert_int_equal(a.n_pairs, 40);
  assert_memory_equal(a.top_k, b.top_k, sizeof(a.top_k));
  assert_true(a.ndcg_at_10 == b.ndcg_at_10 && a.loss == b.loss);
  dataset_free(&ds);
  /* bad input */
  assert_int_equal(dataset_load_eval(db, m, 500, 600, &ds, &e),
                   HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "500"));
  assert_int_equal(dataset_evaluate(db, m, 500, 600, &b, &e), HV_ENOTFOUND);
  assert_int_equal(dataset_load_eval(db, m, 9, 2, &ds, &e), HV_EINVAL);
  assert_int_equal(dataset_load_eval(NULL, m, 1, 2, &ds, &e), HV_EINVAL);
  assert_int_equal(dataset_load_eval(db, NULL, 1, 2, &ds, &e), HV_EINVAL);
  assert_int_equal(dataset_load_eval(db, m, 1, 2, NULL, &e), HV_EINVAL);
  assert_int_equal(dataset_evaluate(db, m, 1, 2, NULL, &e), HV_EINVAL);
  model_free(m);
  db_close(db);
}

/* A model evaluated on another store whose slice has users and movies it
 * never saw: they count as unknown (OOV row; misses). */
static void test_unknown_ids(void **state)
{
  struct hv_db *db = fixture(), *db2 = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db2, &e), 0);
  struct fx_spec s = {30, 30, 10, 4, 0, 0, 1, 11, 1, 0};
  assert_int_equal(fx_load(db2, &s), 300);
  struct train_config c;
  struct hv_model *m = NULL;
  struct eval_metrics em;
  tiny(&c);
  assert_int_equal(dataset_train(db, &c, NULL, NULL, NULL, &m, &e), 0);
  assert_int_equal(dataset_evaluate(db2, m, 201, 300, &em, &e), 0);
  assert_int_equal(em.n_pairs, 100);
  assert_int_equal(em.n_unknown_users, 100); /* users 21..30 */
  assert_true(em.n_unknown_movies > 0);      /* movies 21..30 */
  assert_int_equal(em.n_users, 0); /* the OOV row has no per-user metrics */
  model_free(m);
  db_close(db);
  db_close(db2);
}

/* A dataset without demographics, as ml-latest (model_fixture.h): 30
 * users, 20 movies, 10 half-star ratings a user (ratings 1..300). */
static struct hv_db *no_demographics(void)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  assert_int_equal(fx_load_no_demographics(db, 30, 20, 10), 300);
  return db;
}

/* Issue 16: what a dataset lacks is known from its data (users.absent),
 * the model leaves those user towers out (and says so after a save and a
 * load), evaluation reports no segments of them; with demographics
 * nothing changes. Bad input: an absent mark contradicted by a value. */
static void test_no_demographics(void **state)
{
  struct hv_db *db = no_demographics(), *full = fixture();
  struct train_config c;
  struct hv_dataset ds;
  struct hv_err e = {0};
  tiny(&c);
  c.epochs = 2;
  assert_int_equal(dataset_load_train(db, &c, &ds, &e), 0);
  assert_int_equal(ds.users.absent, DATASET_UF_ALL);
  struct hv_model *m = NULL, *back = NULL, *mf = NULL;
  struct train_result r;
  assert_int_equal(train_run(&ds, &c, NULL, NULL, &r, &m, &e), 0);
  assert_int_equal(model_user_features(m), 0);
  assert_int_equal(r.test.n_segments, 0);
  assert_int_equal(r.test.absent & (DATASET_UF_GENDER | DATASET_UF_AGE),
                   DATASET_UF_GENDER | DATASET_UF_AGE);
  train_result_free(&r);
  /* bad input: a user with a gender in a dataset marked without one */
  ds.users.gender[3] = DATASET_GENDER_F;
  assert_int_equal(train_run(&ds, &c, NULL, NULL, &r, &back, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "gender"));
  ds.users.gender[3] = DATASET_GENDER_UNKNOWN;
  ds.users.absent = 0x10;
  assert_int_equal(train_run(&ds, &c, NULL, NULL, &r, &back, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "unknown bits"));
  dataset_free(&ds);
  /* the file keeps the towers off */
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/m.hvm", dir);
  assert_int_equal(model_save(m, path, &e), 0);
  assert_int_equal(model_load(path, &back, &e), 0);
  assert_int_equal(model_user_features(back), 0);
  struct eval_metrics em, eb;
  assert_int_equal(dataset_evaluate(db, m, 1, 300, &em, &e), 0);
  assert_int_equal(dataset_evaluate(db, back, 1, 300, &eb, &e), 0);
  assert_int_equal(em.n_segments, 0);
  assert_true(em.absent & DATASET_UF_GENDER);
  assert_true(em.top_k[4] > 0.0 && em.top_k[4] == eb.top_k[4]);
  /* with demographics: every tower, every segment kind */
  assert_int_equal(dataset_load_train(full, &c, &ds, &e), 0);
  assert_int_equal(ds.users.absent, 0);
  assert_int_equal(train_run(&ds, &c, NULL, NULL, &r, &mf, &e), 0);
  assert_int_equal(model_user_features(mf), DATASET_UF_ALL);
  assert_true(r.test.n_segments >= 2);
  assert_int_equal(r.test.absent, 0);
  train_result_free(&r);
  dataset_free(&ds);
  model_free(m);
  model_free(back);
  model_free(mf);
  tu_rmtree(dir);
  db_close(db);
  db_close(full);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_train),
      cmocka_unit_test(test_load_train_bad),
      cmocka_unit_test(test_load_eval),
      cmocka_unit_test(test_unknown_ids),
      cmocka_unit_test(test_no_demographics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

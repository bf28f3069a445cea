/*
 * test_stats.c - store/stats: counts, the full summary (histogram,
 * sparsity, medians over users and movies including those without ratings,
 * the top ten with ties by id, titles and means) and the latest dataset
 * record, on an empty database and on small loads; no database is
 * refused.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store/catalog.h"
#include "store/db.h"
#include "store/loader.h"
#include "store/stats.h"
#include "testutil.h"

static int setup(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char url[512];
  if (db_open(tu_db(":memory:", url, sizeof(url)), &db, &e))
    return -1;
  *state = db;
  return 0;
}

static int teardown(void **state)
{
  db_close(*state);
  return 0;
}

/* Genres 0..1, movies 1..m ("Movie i (199i%10)"), users 1..u. */
static struct loader *begin_catalogue(struct hv_db *db, int m, int u)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Action", &e), 0);
  assert_int_equal(loader_genre(ld, 1, "Drama", &e), 0);
  for (int i = 1; i <= m; i++) {
    int g[] = {i % 2};
    char title[32];
    snprintf(title, sizeof(title), "Movie %d (199%d)", i, i % 10);
    struct hv_movie mv = {.id = i, .title = title, .release_year = 1990 + i,
                          .genre_ids = g, .n_genres = 1};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  for (int i = 1; i <= u; i++) {
    struct hv_user us = {.id = i, .raw_age = 30,
                         .bucketized_age = catalog_age_bucket(30),
                         .gender = "F", .occupation_label = 2};
    assert_int_equal(loader_user(ld, &us, &e), 0);
  }
  return ld;
}

static int add_rating(struct loader *ld, int64_t id, int64_t u, int64_t m,
                      double r, int64_t ts, struct hv_err *e)
{
  struct hv_rating x = {.rating_id = id, .user_id = u, .movie_id = m,
                        .rating = r, .timestamp = ts};
  return loader_rating(ld, &x, e);
}

static void test_stats_small(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  struct stats_summary s;
  /* Empty database. */
  assert_int_equal(stats_summary(db, &s, &e), 0);
  assert_int_equal(s.n.ratings, 0);
  assert_int_equal(s.n_hist, 0);
  assert_int_equal(s.n_top, 0);
  assert_true(s.sparsity == 1.0);
  struct stats_dataset ds;
  assert_int_equal(stats_dataset_latest(db, &ds, &e), HV_ENOTFOUND);
  /* 3 users (user 3 rates nothing), 4 movies (movie 4 unrated). */
  struct loader *ld = begin_catalogue(db, 4, 3);
  static const struct {
    int u, m;
    double r;
  } rows[] = {{1, 1, 5}, {1, 2, 4}, {1, 3, 1}, {2, 1, 4}, {2, 2, 4.5}};
  for (int i = 0; i < 5; i++)
    assert_int_equal(add_rating(ld, i + 1, rows[i].u, rows[i].m, rows[i].r,
                                86400 * 10 + i * 86400 * 2, &e),
                     0);
  assert_int_equal(loader_commit(ld, "small", "here", &e), 0);
  assert_int_equal(stats_summary(db, &s, &e), 0);
  assert_int_equal(s.n.users, 3);
  assert_int_equal(s.n.ratings, 5);
  assert_true(fabs(s.days - 8.0) < 1e-9);
  assert_true(fabs(s.sparsity - (1.0 - 5.0 / 12.0)) < 1e-12);
  assert_int_equal(s.n_hist, 4); /* 1, 4, 4.5, 5 */
  assert_true(s.hist[0].rating == 1 && s.hist[0].count == 1);
  assert_true(s.hist[1].rating == 4 && s.hist[1].count == 2);
  assert_true(s.hist[2].rating == 4.5 && s.hist[2].count == 1);
  /* per user counts {3, 2, 0}; per movie {2, 2, 1, 0} */
  assert_int_equal(s.per_user.min, 0);
  assert_int_equal(s.per_user.max, 3);
  assert_true(s.per_user.median == 2);
  assert_int_equal(s.per_movie.min, 0);
  assert_true(s.per_movie.median == 1.5);
  assert_int_equal(s.per_movie.max, 2);
  assert_int_equal(s.n_top, 3);
  assert_int_equal(s.top[0].movie_id, 1); /* ties: lower id first */
  assert_int_equal(s.top[1].movie_id, 2);
  assert_int_equal(s.top[2].movie_id, 3);
  assert_true(fabs(s.top[0].mean_rating - 4.5) < 1e-12);
  assert_true(fabs(s.top[1].mean_rating - 4.25) < 1e-12);
  assert_string_equal(s.top[2].title, "Movie 3 (1993)");
  assert_int_equal(stats_dataset_latest(db, &ds, &e), 0);
  assert_string_equal(ds.name, "small");
  assert_string_equal(ds.source, "here");
  assert_int_equal(ds.n_ratings, 5);
}

/* More than ten movies: only the ten most rated are kept, in order. */
static void test_stats_top_ten(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  struct loader *ld = begin_catalogue(db, 15, 20);
  int64_t id = 1;
  for (int m = 1; m <= 15; m++) /* movie m gets (m * 7) % 16 ratings */
    for (int k = 0; k < (m * 7) % 16; k++, id++)
      assert_int_equal(add_rating(ld, id, 1 + k, m, 3, id, &e), 0);
  assert_int_equal(loader_commit(ld, "t", "u", &e), 0);
  struct stats_summary s;
  assert_int_equal(stats_summary(db, &s, &e), 0);
  assert_int_equal(s.n_top, 10);
  for (int i = 1; i < 10; i++)
    assert_true(s.top[i - 1].count >= s.top[i].count);
  assert_int_equal(s.top[0].count, 15);
  assert_int_equal(s.top[0].movie_id, 9); /* 9 * 7 % 16 == 15 */
  assert_int_equal(s.top[9].count, 6);
}

static void test_counts_and_bad_input(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  struct loader *ld = begin_catalogue(db, 3, 2);
  static const struct {
    int64_t id, u, m, ts;
  } rows[] = {{7, 1, 1, 500}, {8, 2, 3, 100}, {9, 1, 2, 900}};
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    assert_int_equal(add_rating(ld, rows[i].id, rows[i].u, rows[i].m, 3,
                                rows[i].ts, &e),
                     0);
  assert_int_equal(loader_commit(ld, "c", "s", &e), 0);
  struct stats_counts n;
  assert_int_equal(stats_counts(db, &n, &e), 0);
  static const struct {
    const char *what;
    int64_t want;
  } want[] = {{"users", 2},    {"movies", 3},  {"ratings", 3},
              {"genres", 2},   {"first_ts", 100}, {"last_ts", 900},
              {"first_id", 7}, {"last_id", 9}};
  const int64_t got[] = {n.users,    n.movies,   n.ratings,
                         n.genres,   n.first_ts, n.last_ts,
                         n.first_rating_id, n.last_rating_id};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    if (got[i] != want[i].want)
      fail_msg("%s: %lld, want %lld", want[i].what, (long long)got[i],
               (long long)want[i].want);
  struct stats_summary s;
  struct stats_dataset ds;
  assert_int_equal(stats_counts(NULL, &n, &e), HV_EINVAL);
  assert_int_equal(stats_summary(NULL, &s, &e), HV_EINVAL);
  assert_int_equal(stats_dataset_latest(NULL, &ds, &e), HV_EINVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_stats_small, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stats_top_ten, setup, teardown),
      cmocka_unit_test_setup_teardown(test_counts_and_bad_input, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_api_store.c - store/api: the REST API's queries on a generated
 * catalogue: listings, lookups, random picks, average ranges, a user's
 * ratings, all-or-nothing rating batches, password hashes, and hostile
 * strings stored and read back verbatim.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/api.h"
#include "store/catalog.h"
#include "store/db.h"
#include "store/stats.h"
#include "testutil.h"

#define N_USERS 12
#define N_MOVIES 9

static const char *const titles[N_MOVIES] = {
    "Toy Story (1995)",
    "Robert'); DROP TABLE movies;-- (1999)",
    "Am\xc3\xa9lie (2001)",
    "Quote \" and back\\slash (2000)",
    "<script>alert(1)</script> (2002)",
    "Heat (1995)",
    "Fargo (1996)",
    "Alien (1979)",
    "Brazil (1985)"};

struct fixture {
  char dir[256], path[512];
  struct api_conn *c;
};

/* users 1..N_USERS, movies 1..N_MOVIES; user u rates movies 1..u%5+1 with
 * rating ((u + m) % 5) + 1, so averages are known. */
static void load_catalogue(const char *path)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  struct store_loader *ld = NULL;
  assert_int_equal(db_open(path, &db, &e), 0);
  assert_int_equal(store_loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(store_loader_genre(ld, 0, "Action", &e), 0);
  assert_int_equal(store_loader_genre(ld, 1, "Comedy", &e), 0);
  int g[] = {0, 1};
  for (int m = 1; m <= N_MOVIES; m++) {
    struct hv_movie mv = {.id = m, .title = titles[m - 1],
                          .release_year = 1990 + m, .genre_ids = g,
                          .n_genres = m % 3};
    assert_int_equal(store_loader_movie(ld, &mv, &e), 0);
  }
  int64_t rid = 1;
  for (int u = 1; u <= N_USERS; u++) {
    struct hv_user us = {.id = u, .raw_age = 20 + u, .bucketized_age = 18,
                         .gender = u % 2 ? "M" : "F",
                         .occupation_text = u == 3 ? "' OR '1'='1" : "writer",
                         .occupation_label = u % 4, .zip_code = "12345"};
    if (u == 5) { /* unknown fields stay NULL */
      us.raw_age = us.bucketized_age = us.occupation_label = -1;
      us.gender = us.occupation_text = us.zip_code = NULL;
    }
    assert_int_equal(store_loader_user(ld, &us, &e), 0);
    for (int m = 1; m <= u % 5 + 1; m++) {
      struct hv_rating r = {.rating_id = rid++, .user_id = u, .movie_id = m,
                            .rating = (u + m) % 5 + 1, .timestamp = 1000 + u};
      assert_int_equal(store_loader_rating(ld, &r, &e), 0);
    }
  }
  assert_int_equal(store_loader_commit(ld, "test", "generated", &e), 0);
  db_close(db);
}

static int setup(void **state)
{
  static struct fixture f;
  tu_tmpdir(f.dir, sizeof(f.dir));
  snprintf(f.path, sizeof(f.path), "%s/h.db", f.dir);
  load_catalogue(f.path);
  struct hv_err e = {0};
  if (api_open(f.path, &f.c, &e))
    return -1;
  *state = &f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  api_close(f->c);
  tu_rmtree(f->dir);
  return 0;
}

static int count_user(void *ctx, const struct api_user_row *u)
{
  int *n = ctx;
  (*n)++;
  if (u->id == 5) {
    assert_int_equal(u->raw_age, -1);
    assert_null(u->gender);
    assert_null(u->zip_code);
  }
  if (u->id == 3)
    assert_string_equal(u->occupation_text, "' OR '1'='1");
  return 0;
}

static int stop_at_two(void *ctx, const struct api_user_row *u)
{
  int *n = ctx;
  return ++(*n) == 2 ? 77 : 0;
}

static void test_users(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  int n = 0;
  assert_int_equal(api_users_each(f->c, count_user, &n, &e), 0);
  assert_int_equal(n, N_USERS);
  n = 0;
  assert_int_equal(api_users_each(f->c, stop_at_two, &n, &e), 77);
  /* the statement was reset: iterating again works */
  n = 0;
  assert_int_equal(api_users_each(f->c, count_user, &n, &e), 0);
  assert_int_equal(n, N_USERS);
  static const int64_t ids[] = {1, 3, 5, N_USERS};
  for (size_t i = 0; i < 4; i++) {
    n = 0;
    assert_int_equal(api_user_get(f->c, ids[i], count_user, &n, &e), 0);
    assert_int_equal(n, 1);
  }
  static const int64_t unknown[] = {0, -1, N_USERS + 1, INT64_MAX};
  for (size_t i = 0; i < 4; i++) {
    n = 0;
    assert_int_equal(api_user_get(f->c, unknown[i], count_user, &n, &e),
                     HV_ENOTFOUND);
    assert_non_null(strstr(e.msg, "unknown user"));
    assert_int_equal(n, 0);
  }
  assert_non_null(api_db(f->c));
  assert_null(api_db(NULL));
}

struct seen {
  int n;
  int ids[64];
};

static int collect_movie(void *ctx, const struct api_movie_row *m)
{
  struct seen *s = ctx;
  assert_true(m->id >= 1 && m->id <= N_MOVIES);
  assert_string_equal(m->title, titles[m->id - 1]);
  if (m->id % 3 == 0)
    assert_string_equal(m->genres, "");
  else if (m->id % 3 == 2)
    assert_string_equal(m->genres, "Action|Comedy");
  s->ids[s->n++] = (int)m->id;
  return 0;
}

static void test_movies_and_random(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  struct seen s = {0};
  assert_int_equal(api_movies_each(f->c, collect_movie, &s, &e), 0);
  assert_int_equal(s.n, N_MOVIES);
  for (int i = 0; i < N_MOVIES; i++)
    assert_int_equal(s.ids[i], i + 1);
  static const int64_t ns[][2] = {{0, 0}, {1, 1}, {5, 5}, {N_MOVIES, N_MOVIES},
                                  {1000, N_MOVIES}};
  for (size_t k = 0; k < 5; k++) {
    memset(&s, 0, sizeof(s));
    assert_int_equal(api_movies_random(f->c, ns[k][0], collect_movie, &s, &e),
                     0);
    assert_int_equal(s.n, ns[k][1]);
    for (int i = 0; i < s.n; i++) /* distinct */
      for (int j = 0; j < i; j++)
        assert_int_not_equal(s.ids[i], s.ids[j]);
  }
  assert_int_equal(api_movies_random(f->c, -1, collect_movie, &s, &e),
                   HV_EINVAL);
}

static int check_avg(void *ctx, int64_t id, const char *title, double avg,
                     int64_t n)
{
  double *range = ctx;
  assert_true(avg >= range[0] && avg <= range[1]);
  assert_string_equal(title, titles[id - 1]);
  assert_true(n >= 1);
  range[2] += 1;
  return 0;
}

static void test_average_ranges(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  double all[3] = {0, 5, 0}, none[3] = {5.5, 6, 0}, mid[3] = {2.5, 3.5, 0};
  assert_int_equal(api_movie_avg_each(f->c, all[0], all[1], check_avg, all,
                                      &e),
                   0);
  assert_int_equal((int)all[2], 5); /* movies 1..5 are rated */
  assert_int_equal(api_movie_avg_each(f->c, none[0], none[1], check_avg, none,
                                      &e),
                   0);
  assert_int_equal((int)none[2], 0);
  assert_int_equal(api_movie_avg_each(f->c, mid[0], mid[1], check_avg, mid,
                                      &e),
                   0);
  assert_true(mid[2] <= all[2]);
  assert_int_equal(api_movie_avg_each(f->c, 4, 3, check_avg, mid, &e),
                   HV_EINVAL);
  assert_int_equal(api_movie_avg_each(f->c, NAN, 3, check_avg, mid, &e),
                   HV_EINVAL);
}

static int count_rating(void *ctx, const struct api_rating_row *r)
{
  int *n = ctx;
  (*n)++;
  assert_string_equal(r->title, titles[r->movie_id - 1]);
  return 0;
}

static void test_ratings_batch_all_or_nothing(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  struct store_counts before, after;
  assert_int_equal(store_counts(api_db(f->c), &before, &e), 0);
  struct {
    struct api_new_rating r[3];
    size_t n;
    int rc;
    const char *msg;
  } cases[] = {
      {{{1, 1, 4}, {2, 99, 3}, {3, 2, 5}}, 3, HV_EINVAL,
       "ratings[1]: unknown movie_id 99"},
      {{{1, 1, 4}, {2, 2, 3}, {999, 2, 5}}, 3, HV_EINVAL,
       "ratings[2]: unknown user_id 999"},
      {{{1, 1, 0.4}}, 1, HV_EINVAL, "ratings[0]: user_rating"},
      {{{1, 1, 5.01}}, 1, HV_EINVAL, "outside"},
      {{{1, 1, NAN}}, 1, HV_EINVAL, "outside"},
      {{{-1, 1, 3}}, 1, HV_EINVAL, "unknown user_id -1"},
      {{{1, 1, 3}}, 0, HV_EINVAL, "empty"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(api_ratings_insert(f->c, cases[i].r, cases[i].n, 5000,
                                        NULL, &e),
                     cases[i].rc);
    if (!strstr(e.msg, cases[i].msg))
      fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].msg);
  }
  assert_int_equal(api_ratings_insert(f->c, NULL, 2, 5000, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(store_counts(api_db(f->c), &after, &e), 0);
  assert_int_equal(after.ratings, before.ratings); /* nothing went in */
  struct api_new_rating ok[] = {{1, 9, 4.5}, {1, 8, 0.5}, {2, 9, 5}};
  int64_t first = 0;
  assert_int_equal(api_ratings_insert(f->c, ok, 3, 5000, &first, &e), 0);
  assert_int_equal(first, before.last_rating_id + 1);
  assert_int_equal(store_counts(api_db(f->c), &after, &e), 0);
  assert_int_equal(after.ratings, before.ratings + 3);
  int n = 0;
  assert_int_equal(api_user_ratings_each(f->c, 1, count_rating, &n, &e), 0);
  assert_int_equal(n, 1 % 5 + 1 + 2);
  int64_t *ids = NULL;
  size_t k = 0;
  assert_int_equal(api_user_movie_ids(f->c, 1, &ids, &k, &e), 0);
  assert_int_equal(k, 4);
  static const int64_t want[] = {1, 2, 8, 9};
  for (size_t i = 0; i < k; i++)
    assert_int_equal(ids[i], want[i]);
  free(ids);
  assert_int_equal(api_user_movie_ids(f->c, 999, &ids, &k, &e), 0);
  assert_int_equal(k, 0);
  assert_int_equal(api_user_ratings_each(f->c, 999, count_rating, &n, &e),
                   HV_ENOTFOUND);
}

static void test_passwords(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  char hash[128] = "x";
  assert_int_equal(api_password_get(f->c, 1, hash, sizeof(hash), &e), 0);
  assert_string_equal(hash, "");
  const char *h = "$argon2id$v=19$m=8,t=1,p=1$' OR 1=1 --";
  assert_int_equal(api_password_set(f->c, 1, h, &e), 0);
  assert_int_equal(api_password_get(f->c, 1, hash, sizeof(hash), &e), 0);
  assert_string_equal(hash, h);
  assert_int_equal(api_password_get(f->c, 2, hash, sizeof(hash), &e), 0);
  assert_string_equal(hash, ""); /* only user 1 changed */
  assert_int_equal(api_password_get(f->c, 1, hash, 8, &e), HV_ECORRUPT);
  assert_int_equal(api_password_get(f->c, 999, hash, sizeof(hash), &e),
                   HV_ENOTFOUND);
  assert_int_equal(api_password_set(f->c, 999, h, &e), HV_ENOTFOUND);
  assert_int_equal(api_password_set(f->c, 1, "", &e), HV_EINVAL);
  assert_int_equal(api_password_set(f->c, 1, NULL, &e), HV_EINVAL);
}

static int count_title(void *ctx, int64_t id, const char *title)
{
  int *n = ctx;
  assert_string_equal(title, titles[id - 1]);
  (*n)++;
  return 0;
}

static void test_titles_and_open_errors(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  int n = 0;
  assert_int_equal(api_titles_each(f->c, count_title, &n, &e), 0);
  assert_int_equal(n, N_MOVIES);
  struct api_conn *c = NULL;
  assert_int_equal(api_open("/nonexistent-dir/x/h.db", &c, &e), HV_EDB);
  assert_null(c);
  api_close(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_users, setup, teardown),
      cmocka_unit_test_setup_teardown(test_movies_and_random, setup, teardown),
      cmocka_unit_test_setup_teardown(test_average_ranges, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ratings_batch_all_or_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_passwords, setup, teardown),
      cmocka_unit_test_setup_teardown(test_titles_and_open_errors, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

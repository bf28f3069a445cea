/*
 * test_ratings.c - store/ratings: column loads by rating_id range and by
 * time window (with an excluded range), ids, counts, time spans, the last
 * id and time, a user's movies and ratings, movie averages, the
 * all-or-nothing insert batch, take, and the SHA-256 fingerprint against a
 * hash computed here; empty ranges, reversed ranges, unknown users and
 * bad arguments. On the generated :memory: catalogue of store_fixture.h.
 */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "store/ratings.h"
#include "store/stats.h"
#include "store_fixture.h"

/* Check c against the fixture: row i is the rating with id ids[i]. */
static void check_rows(const struct ratings_cols *c)
{
  for (size_t i = 0; i < c->n; i++) {
    int u = (int)c->user_id[i], m = (int)c->movie_id[i];
    assert_int_equal(c->rating_id[i], sf_first_id(u) + m - 1);
    assert_true(c->rating[i] == (float)sf_rating(u, m));
    assert_int_equal(c->timestamp[i], SF_T0 + u);
  }
}

static void test_load_by_id(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  static const struct {
    int64_t first, last;
    int rc;
    size_t n;
  } cases[] = {{1, SF_RATINGS, 0, SF_RATINGS},
               {1, 1, 0, 1},
               {10, 19, 0, 10},
               {SF_RATINGS, INT64_MAX, 0, 1},
               {INT64_MIN, 0, 0, 0},
               {SF_RATINGS + 1, SF_RATINGS + 5, 0, 0},
               {5, 4, HV_EINVAL, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct ratings_cols c;
    assert_int_equal(ratings_load(db, cases[i].first, cases[i].last, &c, &e),
                     cases[i].rc);
    assert_int_equal(c.n, cases[i].n);
    check_rows(&c);
    for (size_t k = 1; k < c.n; k++)
      assert_true(c.rating_id[k] > c.rating_id[k - 1]);
    ratings_cols_free(&c);
  }
  struct ratings_cols c;
  assert_int_equal(ratings_load(NULL, 1, 2, &c, &e), HV_EINVAL);
  ratings_cols_free(NULL);
}

static void test_load_by_time(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  /* user u's ratings have timestamp SF_T0 + u and ids sf_first_id(u).. */
  int64_t u3 = sf_first_id(3), u4 = sf_first_id(4);
  static const struct {
    int64_t t0, t1, ef, el;
    int rc;
    size_t n;
  } base[] = {{SF_T0, SF_T0 + 100, 1, 0, 0, SF_RATINGS},
              {SF_T0 + 3, SF_T0 + 4, 1, 0, 0, 4},  /* user 3 only */
              {SF_T0 + 3, SF_T0 + 3, 1, 0, 0, 0},  /* empty window */
              {0, SF_T0, 1, 0, 0, 0},
              {SF_T0 + 4, SF_T0 + 3, 1, 0, HV_EINVAL, 0}};
  for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
    struct ratings_cols c;
    assert_int_equal(ratings_load_time(db, base[i].t0, base[i].t1, base[i].ef,
                                       base[i].el, &c, &e),
                     base[i].rc);
    assert_int_equal(c.n, base[i].n);
    check_rows(&c);
    for (size_t k = 1; k < c.n; k++)
      assert_true(c.timestamp[k] > c.timestamp[k - 1] ||
                  (c.timestamp[k] == c.timestamp[k - 1] &&
                   c.rating_id[k] > c.rating_id[k - 1]));
    ratings_cols_free(&c);
  }
  /* users 3 and 4, without user 3's first two ratings */
  struct ratings_cols c;
  assert_int_equal(ratings_load_time(db, SF_T0 + 3, SF_T0 + 5, u3, u3 + 1, &c,
                                     &e),
                   0);
  assert_int_equal(c.n, 4 - 2 + 5);
  assert_int_equal(c.rating_id[0], u3 + 2);
  assert_int_equal(c.rating_id[c.n - 1], u4 + 4);
  ratings_cols_free(&c);
  assert_int_equal(ratings_load_time(NULL, 0, 1, 1, 0, &c, &e), HV_EINVAL);
}

static void test_ids_counts_spans(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  static const struct {
    int64_t first, last;
    int ids_rc;
    int64_t n, tmin, tmax;
  } cases[] = {{1, SF_RATINGS, 0, SF_RATINGS, SF_T0 + 1, SF_T0 + SF_USERS},
               {3, 5, 0, 3, SF_T0 + 2, SF_T0 + 2},
               {36, 99, 0, 0, 0, 0},
               {7, 6, HV_EINVAL, 0, 0, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t *ids = NULL, n = -1, t0 = -1, t1 = -1;
    size_t k = 99;
    assert_int_equal(ratings_ids(db, cases[i].first, cases[i].last, &ids, &k,
                                 &e),
                     cases[i].ids_rc);
    assert_int_equal(k, (size_t)cases[i].n);
    for (size_t j = 0; j < k; j++)
      assert_int_equal(ids[j], cases[i].first + (int64_t)j);
    free(ids);
    assert_int_equal(ratings_count(db, cases[i].first, cases[i].last, &n, &e),
                     0);
    assert_int_equal(n, cases[i].n);
    assert_int_equal(ratings_time_span(db, cases[i].first, cases[i].last, &t0,
                                       &t1, &n, &e),
                     0);
    assert_int_equal(n, cases[i].n);
    assert_int_equal(t0, cases[i].tmin);
    assert_int_equal(t1, cases[i].tmax);
  }
  int64_t last = 0, tmax = 0, n = 0;
  assert_int_equal(ratings_last_id(db, &last, &e), 0);
  assert_int_equal(last, SF_RATINGS);
  /* outside user 12's ratings: the newest is user 11's */
  assert_int_equal(ratings_last_time_outside(db, sf_first_id(12), SF_RATINGS,
                                             &tmax, &n, &e),
                   0);
  assert_int_equal(tmax, SF_T0 + 11);
  assert_int_equal(n, SF_RATINGS - sf_n_rated(12));
  assert_int_equal(ratings_last_time_outside(db, 1, SF_RATINGS, &tmax, &n,
                                             &e),
                   0);
  assert_int_equal(n, 0);
  assert_int_equal(tmax, 0);
  int64_t *ids = NULL;
  size_t k = 0;
  assert_int_equal(ratings_ids(NULL, 1, 2, &ids, &k, &e), HV_EINVAL);
  assert_int_equal(ratings_count(NULL, 1, 2, &n, &e), HV_EINVAL);
  assert_int_equal(ratings_last_id(NULL, &last, &e), HV_EINVAL);
  assert_int_equal(ratings_time_span(NULL, 1, 2, &tmax, &tmax, &n, &e),
                   HV_EINVAL);
  assert_int_equal(ratings_last_time_outside(NULL, 1, 2, &tmax, &n, &e),
                   HV_EINVAL);
}

static int count_rating(void *ctx, const struct ratings_row *r)
{
  int *n = ctx;
  assert_string_equal(r->title, sf_titles[r->movie_id - 1]);
  assert_true(r->rating == sf_rating((int)r->user_id, (int)r->movie_id));
  assert_string_equal(r->source, "import");
  (*n)++;
  return 0;
}

static void test_per_user(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  static const struct {
    int64_t uid;
    int rc;
    int n;
  } cases[] = {{1, 0, 2}, {4, 0, 5}, {5, 0, 1}, {SF_USERS, 0, 3},
               {0, HV_ENOTFOUND, 0}, {999, HV_ENOTFOUND, 0},
               {-1, HV_ENOTFOUND, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int n = 0;
    assert_int_equal(ratings_user_each(db, cases[i].uid, count_rating, &n,
                                       &e),
                     cases[i].rc);
    assert_int_equal(n, cases[i].n);
    int64_t *ids = NULL;
    size_t k = 0;
    assert_int_equal(ratings_user_movies(db, cases[i].uid, &ids, &k, &e), 0);
    assert_int_equal(k, (size_t)cases[i].n); /* unknown users have none */
    for (size_t j = 0; j < k; j++)
      assert_int_equal(ids[j], (int64_t)j + 1);
    free(ids);
  }
  int n = 0;
  assert_int_equal(ratings_user_each(db, 1, NULL, &n, &e), HV_EINVAL);
  assert_int_equal(ratings_user_each(NULL, 1, count_rating, &n, &e),
                   HV_EINVAL);
  int64_t *ids = NULL;
  size_t k = 0;
  assert_int_equal(ratings_user_movies(NULL, 1, &ids, &k, &e), HV_EINVAL);
}

static int check_avg(void *ctx, int64_t id, const char *title, double avg,
                     int64_t n)
{
  double *range = ctx;
  assert_true(avg >= range[0] && avg <= range[1]);
  assert_string_equal(title, sf_titles[id - 1]);
  assert_true(n >= 1);
  range[2] += 1;
  return 0;
}

static void test_averages(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  static const struct {
    double min, max;
    int rc, n; /* n < 0: at most as many as all */
  } cases[] = {{0, 5, 0, 5},  /* movies 1..5 are rated */
               {5.5, 6, 0, 0}, {2.5, 3.5, 0, -1}, {4, 3, HV_EINVAL, 0},
               {NAN, 3, HV_EINVAL, 0}, {1, INFINITY, HV_EINVAL, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    double r[3] = {cases[i].min, cases[i].max, 0};
    assert_int_equal(ratings_movie_avg_each(db, r[0], r[1], check_avg, r, &e),
                     cases[i].rc);
    if (cases[i].n >= 0)
      assert_int_equal((int)r[2], cases[i].n);
    else
      assert_true(r[2] <= 5);
  }
  double r[3] = {0, 5, 0};
  assert_int_equal(ratings_movie_avg_each(NULL, 0, 5, check_avg, r, &e),
                   HV_EINVAL);
  assert_int_equal(ratings_movie_avg_each(db, 0, 5, NULL, r, &e), HV_EINVAL);
}

static void test_insert_all_or_nothing(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  struct {
    struct ratings_new r[3];
    size_t n;
    const char *msg;
  } cases[] = {
      {{{1, 1, 4}, {2, 99, 3}, {3, 2, 5}}, 3,
       "ratings[1]: unknown movie_id 99"},
      {{{1, 1, 4}, {2, 2, 3}, {999, 2, 5}}, 3,
       "ratings[2]: unknown user_id 999"},
      {{{1, 1, 0.4}}, 1, "ratings[0]: user_rating"},
      {{{1, 1, 5.01}}, 1, "not on this dataset's scale (0.5 to 5 in half "
                           "stars)"},
      {{{1, 1, NAN}}, 1, "not on this dataset's scale"},
      {{{1, 1, 4.25}}, 1, "user_rating 4.25 is not on"},
      {{{-1, 1, 3}}, 1, "unknown user_id -1"},
      {{{1, 1, 3}}, 0, "empty"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(ratings_insert(db, cases[i].r, cases[i].n, 5000, NULL,
                                    &e),
                     HV_EINVAL);
    if (!strstr(e.msg, cases[i].msg))
      fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].msg);
  }
  assert_int_equal(ratings_insert(db, NULL, 2, 5000, NULL, &e), HV_EINVAL);
  struct ratings_new ok[] = {{1, 9, 4.5}, {1, 8, 0.5}, {2, 9, 5}};
  assert_int_equal(ratings_insert(NULL, ok, 3, 5000, NULL, &e), HV_EINVAL);
  int64_t n = 0;
  assert_int_equal(ratings_count(db, 1, INT64_MAX, &n, &e), 0);
  assert_int_equal(n, SF_RATINGS); /* nothing went in */
  int64_t first = 0;
  assert_int_equal(ratings_insert(db, ok, 3, 5000, &first, &e), 0);
  assert_int_equal(first, SF_RATINGS + 1);
  assert_int_equal(ratings_count(db, 1, INT64_MAX, &n, &e), 0);
  assert_int_equal(n, SF_RATINGS + 3);
  int64_t *ids = NULL;
  size_t k = 0;
  assert_int_equal(ratings_user_movies(db, 1, &ids, &k, &e), 0);
  static const int64_t want[] = {1, 2, 8, 9};
  assert_int_equal(k, 4);
  for (size_t i = 0; i < k; i++)
    assert_int_equal(ids[i], want[i]);
  free(ids);
}

/* A one-user, two-movie dataset named name in a fresh database. */
static struct hv_db *scaled_db(const char *name)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char url[512];
  assert_int_equal(db_open(tu_db(":memory:", url, sizeof(url)), &db, &e), 0);
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Drama", &e), 0);
  static const int g[] = {0};
  for (int m = 1; m <= 2; m++) {
    struct hv_movie mv = {.id = m, .title = m == 1 ? "A (1990)" : "B (1991)",
                          .release_year = 1990, .genre_ids = g,
                          .n_genres = 1};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  struct hv_user us = {.id = 1, .raw_age = -1, .bucketized_age = -1,
                       .occupation_label = -1};
  assert_int_equal(loader_user(ld, &us, &e), 0);
  struct hv_rating r = {.rating_id = 1, .user_id = 1, .movie_id = 1,
                        .rating = 4, .timestamp = 1000};
  assert_int_equal(loader_rating(ld, &r, &e), 0);
  assert_int_equal(loader_commit(ld, name, "test", &e), 0);
  return db;
}

/* Ratings on the dataset's scale (issue 16): whole stars for ml-100k,
 * ml-1m and synth, half stars for ml-latest and other names; the scale is
 * a column of the dataset's row (migration 4). */
static void test_rating_scale(void **state)
{
  static const struct {
    const char *name;
    double min, step;
    const char *text;
  } sets[] = {{"ml-100k", 1, 1, "1 to 5 in whole stars"},
              {"synth", 1, 1, "1 to 5 in whole stars"},
              {"ml-latest", 0.5, 0.5, "0.5 to 5 in half stars"},
              {"ml-latest-small", 0.5, 0.5, "0.5 to 5 in half stars"}};
  struct hv_err e = {0};
  for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
    struct hv_db *db = scaled_db(sets[i].name);
    struct rating_scale s;
    assert_int_equal(ratings_scale(db, &s, &e), 0);
    assert_true(s.min == sets[i].min && s.step == sets[i].step &&
                s.max == 5);
    char text[64];
    ratings_scale_text(&s, text, sizeof(text));
    assert_string_equal(text, sets[i].text);
    struct ratings_new half = {1, 2, 4.5}, quarter = {1, 2, 4.25},
                       low = {1, 2, 0.5}, whole = {1, 2, 4};
    assert_int_equal(ratings_insert(db, &quarter, 1, 5000, NULL, &e),
                     HV_EINVAL);
    assert_non_null(strstr(e.msg, sets[i].text));
    int whole_only = sets[i].step == 1;
    assert_int_equal(ratings_insert(db, &half, 1, 5000, NULL, &e),
                     whole_only ? HV_EINVAL : 0);
    assert_int_equal(ratings_insert(db, &low, 1, 5000, NULL, &e),
                     whole_only ? HV_EINVAL : 0);
    assert_int_equal(ratings_insert(db, &whole, 1, 5000, NULL, &e), 0);
    db_close(db);
  }
  /* the scale's arithmetic */
  struct rating_scale s = {1, 5, 1}, h = {0.5, 5, 0.5}, bad = {1, 5, 0};
  assert_true(ratings_on_scale(&s, 1) && ratings_on_scale(&s, 5));
  assert_false(ratings_on_scale(&s, 0) || ratings_on_scale(&s, 6) ||
               ratings_on_scale(&s, 2.5) || ratings_on_scale(&s, NAN) ||
               ratings_on_scale(&s, INFINITY));
  assert_true(ratings_on_scale(&h, 0.5) && ratings_on_scale(&h, 3.5));
  assert_false(ratings_on_scale(&h, 0) || ratings_on_scale(&h, 3.25));
  assert_false(ratings_on_scale(&bad, 3));
  assert_int_equal(ratings_scale(NULL, &s, &e), HV_EINVAL);
}

static void test_take(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  struct ratings_cols c;
  /* users 10..12 rated last */
  assert_int_equal(ratings_take(db, SF_T0 + 10, &c, &e), 0);
  size_t want = (size_t)(sf_n_rated(10) + sf_n_rated(11) + sf_n_rated(12));
  assert_int_equal(c.n, want);
  check_rows(&c);
  assert_int_equal(c.timestamp[0], SF_T0 + 10);
  ratings_cols_free(&c);
  int64_t n = 0;
  assert_int_equal(ratings_count(db, 1, INT64_MAX, &n, &e), 0);
  assert_int_equal(n, SF_RATINGS - (int64_t)want);
  assert_int_equal(ratings_take(db, SF_T0 + 10, &c, &e), 0); /* none left */
  assert_int_equal(c.n, 0);
  assert_int_equal(ratings_take(NULL, 0, &c, &e), HV_EINVAL);
  assert_int_equal(db_check(db, &e), 0);
}

/* The fingerprint's definition, computed here independently. */
static void expected_hash(int64_t first, int64_t last, char hex[65],
                          int64_t *rows)
{
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  *rows = 0;
  for (int u = 1; u <= SF_USERS; u++)
    for (int m = 1; m <= sf_n_rated(u); m++) {
      int64_t id = sf_first_id(u) + m - 1;
      if (id < first || id > last)
        continue;
      char line[128];
      int len = snprintf(line, sizeof(line), "%lld,%d,%d,%.17g,%d\n",
                         (long long)id, u, m, sf_rating(u, m), SF_T0 + u);
      crypto_hash_sha256_update(&h, (const unsigned char *)line,
                                (size_t)len);
      (*rows)++;
    }
  unsigned char dig[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&h, dig);
  sodium_bin2hex(hex, 65, dig, sizeof(dig));
}

static void test_fingerprint(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  assert_true(sodium_init() >= 0);
  static const int64_t ranges[][2] = {
      {1, SF_RATINGS}, {1, 1}, {7, 20}, {40, 50}, {INT64_MIN, INT64_MAX}};
  for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
    char got[65], want[65];
    int64_t rows = -1, want_rows = -1;
    assert_int_equal(ratings_fingerprint(db, ranges[i][0], ranges[i][1],
                                         &rows, got, &e),
                     0);
    expected_hash(ranges[i][0], ranges[i][1], want, &want_rows);
    assert_string_equal(got, want);
    assert_int_equal(rows, want_rows);
  }
  char hex[65];
  int64_t rows;
  assert_int_equal(ratings_fingerprint(db, 2, 1, &rows, hex, &e), HV_EINVAL);
  assert_int_equal(ratings_fingerprint(NULL, 1, 2, &rows, hex, &e),
                   HV_EINVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_load_by_id, sf_setup, sf_teardown),
      cmocka_unit_test_setup_teardown(test_load_by_time, sf_setup,
                                      sf_teardown),
      cmocka_unit_test_setup_teardown(test_ids_counts_spans, sf_setup,
                                      sf_teardown),
      cmocka_unit_test_setup_teardown(test_per_user, sf_setup, sf_teardown),
      cmocka_unit_test_setup_teardown(test_averages, sf_setup, sf_teardown),
      cmocka_unit_test_setup_teardown(test_insert_all_or_nothing, sf_setup,
                                      sf_teardown),
      cmocka_unit_test_setup_teardown(test_take, sf_setup, sf_teardown),
      cmocka_unit_test(test_rating_scale),
      cmocka_unit_test_setup_teardown(test_fingerprint, sf_setup,
                                      sf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

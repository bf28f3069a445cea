/*
 * store_fixture.h - a small generated catalogue for the store entity tests
 * (test_catalog.c, test_ratings.c, test_users.c), loaded into :memory:
 * through the loader, with every value known by formula:
 * - genres 0 "Action", 1 "Comedy"; movie m (1..SF_MOVIES) has the first
 *   m % 3 of them, year 1990 + m, title sf_titles[m - 1] (hostile strings
 *   among them: quotes, SQL, markup, UTF-8);
 * - user u (1..SF_USERS): raw age 20 + u, bucket 18, gender M for odd u,
 *   occupation u % 4 ("writer"; user 3's text is "' OR '1'='1"); user 5
 *   has every optional field unknown;
 * - user u rates movies 1 .. u % 5 + 1, rating (u + m) % 5 + 1, timestamp
 *   SF_T0 + u, rating ids 1.. in that order (SF_RATINGS in all).
 */
#ifndef HV_TESTS_STORE_FIXTURE_H
#define HV_TESTS_STORE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>

#include "store/db.h"
#include "store/loader.h"
#include "testutil.h"

#define SF_USERS 12
#define SF_MOVIES 9
#define SF_RATINGS 35
#define SF_T0 1000

static const char *const sf_titles[SF_MOVIES] = {
    "Toy Story (1995)",
    "Robert'); DROP TABLE movies;-- (1999)",
    "Am\xc3\xa9lie (2001)",
    "Quote \" and back\\slash (2000)",
    "<script>alert(1)</script> (2002)",
    "Heat (1995)",
    "Fargo (1996)",
    "Alien (1979)",
    "Brazil (1985)"};

/* How many movies user u rates, and the rating it gives movie m. */
static inline int sf_n_rated(int u)
{
  return u % 5 + 1;
}

static inline double sf_rating(int u, int m)
{
  return (u + m) % 5 + 1;
}

/* rating_id of user u's first rating. */
static inline int64_t sf_first_id(int u)
{
  int64_t id = 1;
  for (int v = 1; v < u; v++)
    id += sf_n_rated(v);
  return id;
}

static inline void sf_user(int u, struct hv_user *us)
{
  *us = (struct hv_user){.id = u, .raw_age = 20 + u, .bucketized_age = 18,
                         .gender = u % 2 ? "M" : "F",
                         .occupation_text = u == 3 ? "' OR '1'='1" : "writer",
                         .occupation_label = u % 4, .zip_code = "12345"};
  if (u == 5) { /* unknown fields stay NULL */
    us->raw_age = us->bucketized_age = us->occupation_label = -1;
    us->gender = us->occupation_text = us->zip_code = NULL;
  }
}

/* Load the catalogue into db (replacing what is there). */
static inline void sf_load(struct hv_db *db)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Action", &e), 0);
  assert_int_equal(loader_genre(ld, 1, "Comedy", &e), 0);
  static const int g[] = {0, 1};
  for (int m = 1; m <= SF_MOVIES; m++) {
    struct hv_movie mv = {.id = m, .title = sf_titles[m - 1],
                          .release_year = 1990 + m, .genre_ids = g,
                          .n_genres = m % 3};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  int64_t rid = 1;
  for (int u = 1; u <= SF_USERS; u++) {
    struct hv_user us;
    sf_user(u, &us);
    assert_int_equal(loader_user(ld, &us, &e), 0);
    for (int m = 1; m <= sf_n_rated(u); m++) {
      struct hv_rating r = {.rating_id = rid++, .user_id = u, .movie_id = m,
                            .rating = sf_rating(u, m),
                            .timestamp = SF_T0 + u};
      assert_int_equal(loader_rating(ld, &r, &e), 0);
    }
  }
  assert_int_equal(rid - 1, SF_RATINGS);
  assert_int_equal(loader_commit(ld, "test", "generated", &e), 0);
}

/* cmocka setup / teardown: *state is a loaded :memory: database (a new
 * PostgreSQL one under tests/pg_cluster.sh). */
static inline int sf_setup(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char url[512];
  if (db_open(tu_db(":memory:", url, sizeof(url)), &db, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return -1;
  }
  sf_load(db);
  *state = db;
  return 0;
}

static inline int sf_teardown(void **state)
{
  db_close(*state);
  return 0;
}

#endif

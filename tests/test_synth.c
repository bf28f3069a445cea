/*
 * test_synth.c - data/synth.c: shape (counts, demographics, histogram, time
 * order, no duplicate pairs), planted structure, determinism, each kind of
 * drift, bad configurations, and the `harvest data synth` CLI.
 */
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/synth.h"
#include "store/db.h"
#include "store/stats.h"
#include "testutil.h"

struct home {
  char dir[256], path[512];
  struct hv_db *db;
  sqlite3 *h; /* a second, read-only look at the same file */
};

static void home_open(struct home *hm)
{
  tu_tmpdir(hm->dir, sizeof(hm->dir));
  snprintf(hm->path, sizeof(hm->path), "%s/h.db", hm->dir);
  struct hv_err e = {0};
  assert_int_equal(db_open(hm->path, &hm->db, &e), 0);
  assert_int_equal(sqlite3_open(hm->path, &hm->h), SQLITE_OK);
}

static void home_close(struct home *hm)
{
  sqlite3_close(hm->h);
  db_close(hm->db);
  tu_rmtree(hm->dir);
}

static double qd(sqlite3 *h, const char *sql)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
  double v = NAN;
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

static double qd1(sqlite3 *h, const char *sql, int64_t a)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, a);
  double v = NAN;
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* FNV-1a over every rating row in id order: a fingerprint of the data. */
static uint64_t ratings_hash(sqlite3 *h)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(h,
                                      "SELECT rating_id, user_id, movie_id, "
                                      "rating, timestamp FROM ratings "
                                      "ORDER BY rating_id",
                                      -1, &st, NULL),
                   SQLITE_OK);
  uint64_t x = 1469598103934665603ull;
  while (sqlite3_step(st) == SQLITE_ROW)
    for (int c = 0; c < 5; c++) {
      x ^= (uint64_t)(c == 3 ? sqlite3_column_double(st, c) * 2
                             : sqlite3_column_int64(st, c));
      x *= 1099511628211ull;
    }
  sqlite3_finalize(st);
  return x;
}

static int integrity_ok(sqlite3 *h)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st,
                                      NULL),
                   SQLITE_OK);
  int ok = sqlite3_step(st) == SQLITE_ROW &&
           !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
  return ok;
}

static void run_synth(struct home *hm, struct synth_config *c,
                      struct synth_result *r)
{
  struct hv_err e = {0};
  int rc = synth_run(hm->db, c, NULL, NULL, r, &e);
  if (rc)
    fail_msg("synth_run: %s", e.msg);
}

/* Defaults: ml-100k's shape. */
static void test_defaults_shape(void **state)
{
  struct home hm;
  home_open(&hm);
  struct synth_config c;
  synth_defaults(&c);
  struct synth_result r;
  run_synth(&hm, &c, &r);
  sqlite3 *h = hm.h;
  assert_int_equal(r.users, 943);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM users"), 943);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM movies"), 1682);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM ratings"), 100000);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM genres"), 19);
  assert_int_equal(qd(h, "SELECT MAX(rating_id) FROM ratings"), 100000);
  assert_true(integrity_ok(h));
  /* phases add up to no more than the whole */
  assert_true(r.t_model >= 0 && r.t_rows > 0 && r.t_indexes >= 0 &&
              r.t_commit >= 0 && r.t_checkpoint >= 0 && r.t_generate > 0 &&
              r.t_wait >= 0);
  assert_true(r.t_model + r.t_rows + r.t_indexes + r.t_commit +
                  r.t_checkpoint <= r.seconds + 1e-6);
  /* each pair at most once; time order follows rating_id */
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM (SELECT 1 FROM ratings "
                         "GROUP BY user_id, movie_id HAVING COUNT(*) > 1)"),
                   0);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM ratings a JOIN ratings b ON "
                         "b.rating_id = a.rating_id + 1 "
                         "WHERE b.timestamp < a.timestamp"),
                   0);
  assert_true(qd(h, "SELECT MIN(timestamp) FROM ratings") >= c.start);
  assert_true(qd(h, "SELECT MAX(timestamp) FROM ratings") <
              c.start + 215 * 86400);
  assert_true(qd(h, "SELECT MAX(timestamp) - MIN(timestamp) FROM ratings") >
              214 * 86400);
  /* ml-100k histogram 6.1 / 11.4 / 27.1 / 34.2 / 21.2 % within 3 points */
  static const double ml[5] = {0.061, 0.114, 0.271, 0.342, 0.212};
  for (int v = 1; v <= 5; v++) {
    double p = qd1(h, "SELECT AVG(rating = ?) FROM ratings", v);
    assert_true(fabs(p - ml[v - 1]) < 0.03);
  }
  /* demographics */
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM users WHERE bucketized_age "
                         "NOT IN (1, 18, 25, 35, 45, 50, 56)"),
                   0);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM users WHERE raw_age < "
                         "bucketized_age OR (bucketized_age = 1 AND raw_age "
                         ">= 18)"),
                   0);
  double male = qd(h, "SELECT AVG(gender = 'M') FROM users");
  assert_true(male > 0.64 && male < 0.78);
  assert_int_equal(qd(h, "SELECT COUNT(DISTINCT occupation_label) FROM "
                         "users"),
                   21);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM users WHERE occupation_label "
                         "= 18 AND occupation_text <> 'student'"),
                   0);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM users WHERE "
                         "length(zip_code) <> 5"),
                   0);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM movies WHERE release_year "
                         "> 1997 OR release_year < 1919"),
                   0);
  assert_true(qd(h, "SELECT AVG(release_year >= 1990) FROM movies") > 0.7);
  assert_int_equal(qd(h, "SELECT COUNT(*) FROM movies m WHERE NOT EXISTS "
                         "(SELECT 1 FROM movie_genres g WHERE g.movie_id = "
                         "m.id)"),
                   0);
  /* power law: the top 1% of movies get a big share, many get few */
  struct hv_err e = {0};
  struct stats_summary s;
  assert_int_equal(stats_summary(hm.db, &s, &e), 0);
  assert_true(s.top[0].count > 200 && s.top[0].count < 1500);
  assert_true(s.per_movie.median > 10 && s.per_movie.median < 60);
  struct stats_dataset ds;
  assert_int_equal(stats_dataset_latest(hm.db, &ds, &e), 0);
  assert_string_equal(ds.name, "synth");
  assert_non_null(strstr(ds.source, "\"drift\":\"none\""));
  home_close(&hm);
}

/* Users mostly rate, and like, their own genres: for each user's most
 * rated genre the mean rating is higher than for the other genres, and
 * that genre's share of the user's ratings is well above its share
 * overall (lift). */
static void test_planted_structure(void **state)
{
  struct home hm;
  home_open(&hm);
  struct synth_config c;
  synth_defaults(&c);
  c.ratings = 60000;
  struct synth_result r;
  run_synth(&hm, &c, &r);
  static const char top_genre[] =
      "CREATE TEMP TABLE ug AS SELECT user_id, genre_id, COUNT(*) n, "
      "AVG(rating) mean FROM ratings JOIN movie_genres USING (movie_id) "
      "GROUP BY user_id, genre_id;"
      "CREATE TEMP TABLE fav AS SELECT user_id, genre_id FROM ug u WHERE "
      "n = (SELECT MAX(n) FROM ug WHERE user_id = u.user_id);";
  assert_int_equal(sqlite3_exec(hm.h, top_genre, NULL, NULL, NULL),
                   SQLITE_OK);
  double lift = qd(hm.h,
                   "WITH tot AS (SELECT user_id, SUM(n) n FROM ug GROUP BY 1),"
                   " g AS (SELECT genre_id, SUM(n) * 1.0 / (SELECT SUM(n) "
                   "FROM ug) share FROM ug GROUP BY 1) "
                   "SELECT AVG(u.n * 1.0 / t.n / g.share) FROM ug u "
                   "JOIN fav f USING (user_id, genre_id) JOIN tot t USING "
                   "(user_id) JOIN g USING (genre_id)");
  double in = qd(hm.h, "SELECT AVG(rating) FROM ratings r JOIN movie_genres "
                       "g USING (movie_id) JOIN fav f ON f.user_id = "
                       "r.user_id AND f.genre_id = g.genre_id");
  double out = qd(hm.h, "SELECT AVG(rating) FROM ratings r WHERE NOT EXISTS "
                        "(SELECT 1 FROM movie_genres g JOIN fav f ON "
                        "f.genre_id = g.genre_id WHERE g.movie_id = "
                        "r.movie_id AND f.user_id = r.user_id)");
  assert_true(lift > 1.5);
  assert_true(in - out > 0.15);
  home_close(&hm);
}

/* Alone on the database (no second connection) the load runs with a
 * rollback journal; the result is the same data, consistent, in WAL mode. */
static void test_alone_rollback_journal(void **state)
{
  uint64_t hash[2];
  for (int k = 0; k < 2; k++) {
    struct home hm;
    tu_tmpdir(hm.dir, sizeof(hm.dir));
    snprintf(hm.path, sizeof(hm.path), "%s/h.db", hm.dir);
    struct hv_err e = {0};
    assert_int_equal(db_open(hm.path, &hm.db, &e), 0);
    hm.h = NULL;
    if (k == 1) /* a second connection keeps the load in WAL mode */
      assert_int_equal(sqlite3_open(hm.path, &hm.h), SQLITE_OK);
    struct synth_config c;
    synth_defaults(&c);
    c.users = 300, c.movies = 400, c.ratings = 30000;
    struct synth_result r;
    run_synth(&hm, &c, &r);
    sqlite3_close(hm.h);
    db_close(hm.db);
    assert_int_equal(sqlite3_open(hm.path, &hm.h), SQLITE_OK);
    assert_true(integrity_ok(hm.h));
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(hm.h, "PRAGMA journal_mode", -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(qd(hm.h, "SELECT COUNT(*) FROM ratings INDEXED BY "
                              "ratings_by_user WHERE user_id > 0"),
                     30000);
    hash[k] = ratings_hash(hm.h);
    sqlite3_close(hm.h);
    tu_rmtree(hm.dir);
  }
  assert_true(hash[0] == hash[1]);
}

static void test_deterministic(void **state)
{
  uint64_t hash[3];
  for (int k = 0; k < 3; k++) {
    struct home hm;
    home_open(&hm);
    struct synth_config c;
    synth_defaults(&c);
    c.users = 200, c.movies = 300, c.ratings = 8000;
    c.drift = SYNTH_DRIFT_GRADUAL;
    c.seed = k == 2 ? 43 : 42;
    struct synth_result r;
    run_synth(&hm, &c, &r);
    hash[k] = ratings_hash(hm.h);
    home_close(&hm);
  }
  assert_true(hash[0] == hash[1]);
  assert_true(hash[0] != hash[2]);
}

struct halves {
  double mean_before, mean_after;
};

static void mean_halves(sqlite3 *h, int64_t td, struct halves *out)
{
  out->mean_before = qd1(h, "SELECT AVG(rating) FROM ratings WHERE "
                            "timestamp < ?", td);
  out->mean_after = qd1(h, "SELECT AVG(rating) FROM ratings WHERE "
                           "timestamp >= ?", td);
}

static void test_drift_sudden(void **state)
{
  struct home hm;
  home_open(&hm);
  struct synth_config c;
  synth_defaults(&c);
  c.users = 600, c.movies = 800, c.ratings = 40000, c.days = 100;
  c.drift = SYNTH_DRIFT_SUDDEN;
  struct synth_result r;
  run_synth(&hm, &c, &r);
  sqlite3 *h = hm.h;
  int64_t td = c.start + 50 * 86400;
  assert_int_equal(r.drift_start_ts, td);
  assert_int_equal(r.drift_end_ts, td);
  assert_int_equal(r.new_movies_from_id, 641);
  assert_int_equal(r.young_users_from_id, 451);
  /* the reported first rating after the drift point is exact */
  assert_true(qd1(h, "SELECT timestamp FROM ratings WHERE rating_id = ?",
                  r.drift_first_rating_id) >= td);
  assert_true(qd1(h, "SELECT timestamp FROM ratings WHERE rating_id = ?",
                  r.drift_first_rating_id - 1) < td);
  /* 1. new movies only after the drift, then popular */
  assert_int_equal(qd1(h, "SELECT COUNT(*) FROM ratings WHERE movie_id >= 641"
                          " AND timestamp < ?", td),
                   0);
  assert_true(qd1(h, "SELECT AVG(movie_id >= 641) FROM ratings WHERE "
                     "timestamp >= ?", td) > 0.2);
  /* 3. the young cohort only after, a large share of it */
  assert_int_equal(qd1(h, "SELECT COUNT(*) FROM ratings WHERE user_id >= 451"
                          " AND timestamp < ?", td),
                   0);
  assert_true(qd1(h, "SELECT AVG(user_id >= 451) FROM ratings WHERE "
                     "timestamp >= ?", td) > 0.2);
  assert_true(qd(h, "SELECT AVG(raw_age < 25) FROM users WHERE id >= 451") >
              0.7);
  assert_true(qd(h, "SELECT AVG(raw_age < 25) FROM users WHERE id < 451") <
              0.35);
  /* 4. harsher ratings */
  struct halves m;
  mean_halves(h, td, &m);
  assert_true(m.mean_before - m.mean_after > 0.2);
  /* 2. popularity shift among the old movies: their top 20 changes */
  assert_true(qd1(h,
                  "SELECT COUNT(*) FROM (SELECT movie_id FROM ratings WHERE "
                  "timestamp < ?1 GROUP BY movie_id ORDER BY COUNT(*) DESC "
                  "LIMIT 20) a JOIN (SELECT movie_id FROM ratings WHERE "
                  "timestamp >= ?1 AND movie_id < 641 GROUP BY movie_id "
                  "ORDER BY COUNT(*) DESC LIMIT 20) b USING (movie_id)",
                  td) < 14);
  /* the dataset row records the drift */
  struct hv_err e = {0};
  struct stats_dataset ds;
  assert_int_equal(stats_dataset_latest(hm.db, &ds, &e), 0);
  json_error_t je;
  json_t *j = json_loads(ds.source, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "drift")),
                      "sudden");
  assert_int_equal(json_integer_value(json_object_get(j, "drift_start")), td);
  assert_int_equal(
      json_integer_value(json_object_get(j, "drift_first_rating_id")),
      r.drift_first_rating_id);
  json_decref(j);
  home_close(&hm);
}

static void test_drift_gradual_and_none(void **state)
{
  for (int k = 0; k < 2; k++) {
    struct home hm;
    home_open(&hm);
    struct synth_config c;
    synth_defaults(&c);
    c.users = 600, c.movies = 800, c.ratings = 40000, c.days = 100;
    c.drift = k ? SYNTH_DRIFT_NONE : SYNTH_DRIFT_GRADUAL;
    struct synth_result r;
    run_synth(&hm, &c, &r);
    sqlite3 *h = hm.h;
    int64_t t0 = c.start, q = 25 * 86400;
    double m1 = qd1(h, "SELECT AVG(rating) FROM ratings WHERE timestamp < ?",
                    t0 + 2 * q);
    double m4 = qd1(h, "SELECT AVG(rating) FROM ratings WHERE timestamp >= ?",
                    t0 + 3 * q);
    double young3 = qd1(h, "SELECT AVG(user_id >= 451) FROM ratings WHERE "
                           "timestamp BETWEEN ?1 AND ?1 + 86400 * 5",
                        t0 + 2 * q);
    double young4 = qd1(h, "SELECT AVG(user_id >= 451) FROM ratings WHERE "
                           "timestamp >= ?", t0 + 3 * q + 20 * 86400);
    if (k == 0) { /* gradual: the change grows over the second half */
      assert_int_equal(r.drift_end_ts, t0 + 4 * q);
      assert_true(m1 - m4 > 0.25);
      assert_true(young3 < young4);
      assert_true(young4 > 0.2);
      /* new movies appear one by one, in id order */
      assert_true(qd(h, "SELECT MIN(timestamp) FROM ratings WHERE movie_id = "
                        "700") <
                  qd(h, "SELECT MIN(timestamp) FROM ratings WHERE movie_id = "
                        "790"));
    } else { /* none: stationary */
      assert_int_equal(r.drift_start_ts, 0);
      assert_int_equal(r.drift_first_rating_id, 0);
      assert_true(fabs(m1 - m4) < 0.08);
      assert_true(young4 > 0.15 && young4 < 0.35); /* ordinary users */
      assert_true(qd1(h, "SELECT COUNT(DISTINCT movie_id) FROM ratings WHERE "
                         "movie_id >= 641 AND timestamp < ?", t0 + q) > 50);
    }
    home_close(&hm);
  }
}

static void test_bad_config(void **state)
{
  struct hv_err e = {0};
  struct synth_config c;
  static const struct {
    int64_t users, movies, ratings, days;
    const char *flag;
  } bad[] = {
      {0, 10, 10, 10, "--users"},         {-3, 10, 10, 10, "--users"},
      {10, 0, 10, 10, "--movies"},        {10, 10, -1, 10, "--ratings"},
      {10, 10, 51, 10, "more than half"}, {10, 10, 10, 0, "--days"},
      {10, 10, 10, 40000, "--days"},      {200000000, 10, 10, 10, "--users"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    synth_defaults(&c);
    c.users = bad[i].users, c.movies = bad[i].movies;
    c.ratings = bad[i].ratings, c.days = bad[i].days;
    assert_int_equal(synth_check(&c, &e), HV_EUSAGE);
    assert_non_null(strstr(e.msg, bad[i].flag));
  }
  assert_int_equal(synth_check(NULL, &e), HV_EUSAGE);
  enum synth_drift d;
  assert_int_equal(synth_drift_parse("sudden", &d, &e), 0);
  assert_int_equal(d, SYNTH_DRIFT_SUDDEN);
  assert_int_equal(synth_drift_parse("gradual", &d, &e), 0);
  assert_int_equal(synth_drift_parse("none", &d, &e), 0);
  assert_int_equal(synth_drift_parse("Sudden", &d, &e), HV_EUSAGE);
  assert_int_equal(synth_drift_parse("", &d, &e), HV_EUSAGE);
  assert_int_equal(synth_drift_parse(NULL, &d, &e), HV_EUSAGE);
  int64_t t;
  assert_int_equal(synth_parse_date("1997-09-20", &t, &e), 0);
  assert_int_equal(t, 874713600);
  assert_int_equal(synth_parse_date("2024-02-29", &t, &e), 0);
  static const char *const dates[] = {"2023-02-29", "2020-13-01",
                                      "2020-00-10", "20-01-01",
                                      "2020/01/01", "2020-01-1x",
                                      "",           "1960-01-01"};
  for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++)
    assert_int_equal(synth_parse_date(dates[i], &t, &e), HV_EUSAGE);
  assert_int_equal(synth_parse_date(NULL, &t, &e), HV_EUSAGE);
}

/* Dense tiny configurations still place every rating once; a second run
 * needs replace. */
static void test_dense_and_replace(void **state)
{
  struct home hm;
  home_open(&hm);
  struct synth_config c;
  synth_defaults(&c);
  c.users = 4, c.movies = 6, c.ratings = 12, c.days = 2;
  c.drift = SYNTH_DRIFT_SUDDEN;
  struct synth_result r;
  run_synth(&hm, &c, &r);
  assert_int_equal(qd(hm.h, "SELECT COUNT(DISTINCT user_id * 100 + movie_id)"
                            " FROM ratings"),
                   12);
  struct hv_err e = {0};
  c.ratings = 5;
  assert_int_equal(synth_run(hm.db, &c, NULL, NULL, &r, &e), HV_ECONFLICT);
  assert_int_equal(qd(hm.h, "SELECT COUNT(*) FROM ratings"), 12);
  c.replace = 1;
  c.ratings = 0; /* an empty ratings table is fine too */
  run_synth(&hm, &c, &r);
  assert_int_equal(qd(hm.h, "SELECT COUNT(*) FROM ratings"), 0);
  assert_int_equal(qd(hm.h, "SELECT COUNT(*) FROM users"), 4);
  assert_int_equal(qd(hm.h, "SELECT COUNT(*) FROM datasets"), 1);
  home_close(&hm);
}

/* The drift facts the stored source and data synth --json share: added
 * after the caller's keys, in their documented order. */
static void test_drift_facts_json(void **state)
{
  static const char *const keys[] = {
      "seed", "drift_start", "drift_end", "drift_first_rating_id",
      "new_movies_from_id", "young_users_from_id", "rating_shift"};
  struct synth_result r = {.drift_start_ts = 100, .drift_end_ts = 200,
                           .drift_first_rating_id = 7,
                           .new_movies_from_id = 33,
                           .young_users_from_id = 46, .rating_shift = -0.5};
  json_t *j = json_pack("{s:i}", "seed", 42), *v;
  const char *k;
  size_t i = 0;
  assert_int_equal(synth_drift_facts_json(j, &r), 0);
  assert_int_equal(json_object_size(j), 7);
  json_object_foreach(j, k, v) assert_string_equal(k, keys[i++]);
  assert_int_equal(json_integer_value(json_object_get(j, "drift_end")), 200);
  assert_int_equal(
      json_integer_value(json_object_get(j, "young_users_from_id")), 46);
  assert_true(json_real_value(json_object_get(j, "rating_shift")) == -0.5);
  json_decref(j);
  assert_int_equal(synth_drift_facts_json(NULL, &r), HV_ENOMEM);
}

static void test_cli(void **state)
{
  char dir[256], cmd[1024], out[16384];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s/h data synth --users 300 --movies 400 --ratings "
           "5000 --days 30 --drift sudden --start 2001-01-01 --json",
           tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "ratings")), 5000);
  assert_int_equal(json_integer_value(json_object_get(j, "drift_start")),
                   978307200 + 15 * 86400);
  assert_true(json_integer_value(json_object_get(j, "drift_first_rating_id")) >
              2000);
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s/h data stats --json", tu_bin(),
           dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "users")), 300);
  assert_int_equal(json_integer_value(json_object_get(j, "genres")), 19);
  json_t *hist = json_object_get(j, "histogram");
  json_int_t total = 0;
  for (int v = 1; v <= 5; v++) {
    char k[4];
    snprintf(k, sizeof(k), "%d", v);
    total += json_integer_value(json_object_get(hist, k));
  }
  assert_int_equal(total, 5000);
  assert_true(json_array_size(json_object_get(j, "top_movies")) == 10);
  json_t *t0 = json_array_get(json_object_get(j, "top_movies"), 0);
  assert_non_null(json_object_get(t0, "title"));
  assert_non_null(json_object_get(t0, "mean_rating"));
  double sp = json_real_value(json_object_get(j, "sparsity"));
  assert_true(fabs(sp - (1 - 5000.0 / (300 * 400))) < 1e-9);
  assert_true(json_real_value(json_object_get(j, "days")) > 29);
  assert_non_null(json_object_get(j, "first_timestamp"));
  json_decref(j);
  /* usage errors exit 2; a second synth without --replace exits 1 */
  static const char *const bad[] = {"--drift weird", "--users 0",
                                    "--start 2020-02-30", "--ratings x",
                                    "--users 3 --movies 3 --ratings 5",
                                    "extra"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s/h data synth %s 2>/dev/null",
             tu_bin(), dir, bad[i]);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
  }
  snprintf(cmd, sizeof(cmd), "%s --home %s/h data synth 2>&1", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "--replace"));
  snprintf(cmd, sizeof(cmd), "%s data synth --help", tu_bin());
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "young"));
  tu_rmtree(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_shape),
      cmocka_unit_test(test_planted_structure),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_alone_rollback_journal),
      cmocka_unit_test(test_drift_sudden),
      cmocka_unit_test(test_drift_gradual_and_none),
      cmocka_unit_test(test_bad_config),
      cmocka_unit_test(test_dense_and_replace),
      cmocka_unit_test(test_drift_facts_json),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

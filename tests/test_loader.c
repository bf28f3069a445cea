/*
 * test_loader.c - store/loader (the bulk loader: batching, C-side foreign
 * keys, assigned ids, indexes written in key order or rebuilt, the fallback
 * that drops and re-creates them, rollback journal or WAL, pragmas
 * restored, all or nothing, an existing dataset refused or replaced, a
 * failure on the writer thread).
 * Every load's result goes through PRAGMA integrity_check, which compares
 * each index with the table row by row and checks key order.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"
#include "store/loader.h"
#include "store/sqlite/sq.h" /* white-box: the connection's pragmas */
#include "store/stats.h"
#include "testutil.h"

/* The raw handle behind an hv_db is private to store/; the tests reopen the
 * same file through SQLite to look at what was written. */
static sqlite3 *raw_open(const char *path)
{
  sqlite3 *h = NULL;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  return h;
}

static int64_t q1(sqlite3 *h, const char *sql)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

struct fixture {
  char dir[256], path[512], url[512]; /* url: what was opened (tu_db) */
  struct hv_db *db;
};

static int setup(void **state)
{
  static struct fixture f;
  memset(&f, 0, sizeof(f));
  tu_tmpdir(f.dir, sizeof(f.dir));
  snprintf(f.path, sizeof(f.path), "%s/h.db", f.dir);
  struct hv_err e = {0};
  char url[512];
  snprintf(f.url, sizeof(f.url), "%s", tu_db(f.path, url, sizeof(url)));
  if (db_open(f.url, &f.db, &e))
    return -1;
  *state = &f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  db_close(f->db);
  tu_rmtree(f->dir);
  return 0;
}

static const char *q1s(sqlite3 *h, const char *sql, char *buf, size_t cap)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
  snprintf(buf, cap, "(none)");
  if (sqlite3_step(st) == SQLITE_ROW)
    snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return buf;
}

/* Genres 0..1, movies 1..m, users 1..u, with loader options. */
static struct loader *begin_opts(struct hv_db *db,
                                       const struct loader_opts *o,
                                 int m, int u)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin_opts(db, o, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Action", &e), 0);
  assert_int_equal(loader_genre(ld, 1, "Drama", &e), 0);
  for (int i = 1; i <= m; i++) {
    int g[] = {i % 2, (i + 1) % 2};
    char title[32];
    snprintf(title, sizeof(title), "Movie %d (199%d)", i, i % 10);
    struct hv_movie mv = {.id = i, .title = title, .release_year = 1990 + i,
                          .genre_ids = g, .n_genres = 1 + i % 2};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  for (int i = 1; i <= u; i++) {
    struct hv_user us = {.id = i, .raw_age = 20 + i,
                         .bucketized_age = catalog_age_bucket(20 + i),
                         .gender = i % 2 ? "M" : "F",
                         .occupation_text = "writer", .occupation_label = 20,
                         .zip_code = "12345"};
    assert_int_equal(loader_user(ld, &us, &e), 0);
  }
  return ld;
}

/* Genres 0..1, movies 1..m, users 1..u (plus the extra ids given). */
static struct loader *begin_catalogue(struct hv_db *db, int replace,
                                      int m, int u)
{
  struct loader_opts o = {.replace = replace};
  return begin_opts(db, &o, m, u);
}

static int add_rating(struct loader *ld, int64_t id, int64_t u,
                      int64_t m, double r, int64_t ts, struct hv_err *e)
{
  struct hv_rating x = {.rating_id = id, .user_id = u, .movie_id = m,
                        .rating = r, .timestamp = ts};
  return loader_rating(ld, &x, e);
}

static void test_batches_and_indexes(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  struct loader *ld = begin_catalogue(f->db, 0, 50, 40);
  /* 1000 ratings: many full batches plus a remainder. */
  for (int i = 1; i <= 1000; i++)
    assert_int_equal(
        add_rating(ld, i, 1 + i % 40, 1 + (i * 7) % 50, 1 + i % 5, 1000 + i,
                   &e),
        0);
  assert_int_equal(loader_commit(ld, "test", "unit", &e), 0);
  assert_int_equal(tu_q1(f->url, "SELECT COUNT(*) FROM ratings"), 1000);
  assert_int_equal(tu_q1(f->url, "SELECT SUM(rating_id) FROM ratings"),
                   500500);
  assert_int_equal(tu_q1(f->url, "SELECT COUNT(*) FROM movie_genres"), 75);
  assert_int_equal(
      tu_q1(f->url, tu_on_pg() ? "SELECT COUNT(*) FROM pg_indexes WHERE "
                                 "indexname IN ('ratings_by_user',"
                                 "'ratings_by_movie','ratings_by_time')"
                               : "SELECT COUNT(*) FROM sqlite_schema WHERE "
                                 "type='index' AND name IN ('ratings_by_user',"
                                 "'ratings_by_movie','ratings_by_time')"),
      3);
  assert_int_equal(tu_q1(f->url, "SELECT n_ratings FROM datasets"), 1000);
  assert_int_equal(db_check(f->db, &e), 0);
}

static void test_assigned_ids_and_odd_ids(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  struct loader *ld = begin_catalogue(f->db, 0, 3, 2);
  /* Ids outside the loader's bitmap range: negative and huge. */
  struct hv_user big = {.id = (int64_t)1 << 40, .raw_age = -1,
                        .bucketized_age = -1, .occupation_label = -1};
  struct hv_user neg = big;
  neg.id = -5;
  assert_int_equal(loader_user(ld, &big, &e), 0);
  assert_int_equal(loader_user(ld, &neg, &e), 0);
  assert_int_equal(add_rating(ld, 0, (int64_t)1 << 40, 1, 4, 10, &e), 0);
  assert_int_equal(add_rating(ld, 0, -5, 2, 0.5, 11, &e), 0);
  assert_int_equal(add_rating(ld, 10, 1, 3, 5, 12, &e), 0);
  assert_int_equal(add_rating(ld, 0, 2, 3, 3.5, 13, &e), 0);
  /* Out of order but new: written on its own. */
  assert_int_equal(add_rating(ld, 5, 2, 1, 2, 14, &e), 0);
  assert_int_equal(loader_commit(ld, "test", "unit", &e), 0);
  assert_int_equal(tu_q1(f->url, "SELECT COUNT(*) FROM ratings WHERE "
                                 "rating_id IN (1, 2, 5, 10, 11)"),
                   5);
  assert_int_equal(
      tu_q1(f->url, "SELECT user_id FROM ratings WHERE rating_id = 1"),
      (int64_t)1 << 40);
  assert_int_equal(tu_q1(f->url, "SELECT COUNT(*) FROM users WHERE id = -5 "
                                 "AND raw_age IS NULL"),
                   1);
}

/* Each bad row is refused at once with a message naming it, and an abort
 * leaves the previous dataset as it was. */
static void test_bad_rows(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  struct loader *ld = begin_catalogue(f->db, 0, 2, 2);
  assert_int_equal(add_rating(ld, 1, 1, 1, 4, 1, &e), 0);
  assert_int_equal(loader_commit(ld, "first", "unit", &e), 0);
  static const struct {
    int64_t id, user, movie;
    double rating;
    int code;
    const char *msg;
  } cases[] = {
      {70, 99, 1, 4, HV_EINVAL, "unknown user id 99"},
      {70, 1, 77, 4, HV_EINVAL, "unknown movie id 77"},
      {70, 1, 1, 0.4, HV_EINVAL, "outside 0.5..5"},
      {70, 1, 1, 5.5, HV_EINVAL, "outside 0.5..5"},
      {70, 1, 1, NAN, HV_EINVAL, "outside 0.5..5"},
      {3, 1, 1, 4, HV_ECONFLICT, "rating 3"}, /* duplicate id */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ld = begin_catalogue(f->db, 1, 3, 3);
    /* 65 good rows first, so the bad one comes after a flushed batch. */
    for (int k = 1; k <= 65; k++)
      assert_int_equal(add_rating(ld, k, 1 + k % 3, 1 + k % 3, 3, k, &e), 0);
    hv_err_clear(&e);
    int rc = add_rating(ld, cases[i].id, cases[i].user, cases[i].movie,
                        cases[i].rating, 99, &e);
    assert_int_equal(rc, cases[i].code);
    assert_non_null(strstr(e.msg, cases[i].msg));
    loader_abort(ld);
    struct stats_counts n;
    assert_int_equal(stats_counts(f->db, &n, &e), 0);
    assert_int_equal(n.ratings, 1);
    assert_int_equal(n.movies, 2);
  }
  /* Unknown genre, duplicate user, NULLs. */
  ld = begin_catalogue(f->db, 1, 1, 1);
  int g[] = {7};
  struct hv_movie m = {.id = 9, .title = "X", .genre_ids = g, .n_genres = 1};
  assert_int_equal(loader_movie(ld, &m, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "unknown genre id 7"));
  m.title = NULL;
  m.n_genres = 0;
  assert_int_equal(loader_movie(ld, &m, &e), HV_EINVAL);
  struct hv_user u = {.id = 1, .raw_age = -1, .bucketized_age = -1,
                      .occupation_label = -1};
  assert_int_equal(loader_user(ld, &u, &e), HV_ECONFLICT);
  assert_int_equal(loader_user(ld, NULL, &e), HV_EINVAL);
  assert_int_equal(loader_rating(ld, NULL, &e), HV_EINVAL);
  assert_int_equal(loader_genre(ld, 5, NULL, &e), HV_EINVAL);
  loader_abort(ld);
  loader_abort(NULL);
  assert_int_equal(loader_commit(NULL, "x", "y", &e), HV_EINVAL);
  assert_int_equal(db_check(f->db, &e), 0);
}

static void assert_pragmas_default(struct hv_db *db)
{
  assert_int_equal(q1(sq_of(db)->h, "PRAGMA foreign_keys"), 1);
  assert_int_equal(q1(sq_of(db)->h, "PRAGMA temp_store"), 2);
  assert_int_equal(q1(sq_of(db)->h, "PRAGMA threads"), 0);
  assert_int_equal(q1(sq_of(db)->h, "PRAGMA wal_autocheckpoint"), 1000);
}

/* How the rows of one load arrive, and what the loader must make of it:
 * which indexes it can append to and which it rebuilds. */
enum order {
  IN_ORDER, TIME_BACK, ID_GAP, OUT_OF_ORDER, ASSIGNED, BIG_IDS, BIG_KEY
};

static void add_ordered(struct loader *ld, enum order o, int n)
{
  struct hv_err e = {0};
  for (int k = 0; k < n; k++) {
    int64_t id = k + 1, ts = 5000 + k / 3, user = 1 + (k * 7) % 40;
    int64_t movie = 1 + (k * 13) % 50;
    if (o == TIME_BACK && k == n / 2)
      ts = 10; /* one rating from the past */
    if (o == ID_GAP && k >= n / 2)
      id += 100;
    if (o == OUT_OF_ORDER && k == n - 1)
      id = n + 50, ts = 1; /* then k = n - 2 below comes after it */
    if (o == ASSIGNED)
      id = 0;
    if (o == BIG_IDS && k == 7) /* beyond 32 bits: no kept ids */
      user = (int64_t)1 << 40, movie = 20000000;
    if (o == BIG_KEY && k == 7) /* too sparse to counting-sort */
      movie = 20000000;
    assert_int_equal(add_rating(ld, id, user, movie, 1 + k % 5, ts, &e), 0);
  }
}

/* Each arrival order on each path gives a database that passes
 * integrity_check, with every rating findable through every index. */
static void test_index_paths(void **state)
{
  if (tu_on_pg())
    skip(); /* SQLite's own machinery */
  struct fixture *f = *state;
  static const struct {
    enum order order;
    int plain, keep_wal;
    int fast, rebuilt;
  } cases[] = {
      {IN_ORDER, 0, 0, 1, 0},    {IN_ORDER, 0, 1, 1, 0},
      {TIME_BACK, 0, 0, 1, 1},   {ID_GAP, 0, 0, 1, 2},
      {OUT_OF_ORDER, 0, 0, 1, 3}, {ASSIGNED, 0, 0, 1, 0},
      {BIG_IDS, 0, 0, 1, 2},     {BIG_KEY, 0, 0, 1, 1},
      {IN_ORDER, 1, 0, 0, 3},
      {OUT_OF_ORDER, 1, 1, 0, 3},
  };
  char buf[64];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct hv_err e = {0};
    struct loader_times t;
    memset(&t, 0xff, sizeof(t));
    struct loader_opts o = {.replace = 1, .plain = cases[i].plain,
                                  .keep_wal = cases[i].keep_wal, .times = &t};
    struct loader *ld = begin_opts(f->db, &o, 50, 40);
    if (cases[i].order == BIG_IDS || cases[i].order == BIG_KEY) {
      struct hv_user big = {.id = (int64_t)1 << 40, .raw_age = -1,
                            .bucketized_age = -1, .occupation_label = -1};
      struct hv_movie mv = {.id = 20000000, .title = "Far"};
      assert_int_equal(loader_user(ld, &big, &e), 0);
      assert_int_equal(loader_movie(ld, &mv, &e), 0);
    }
    /* 2500 rows: several feed batches and a remainder */
    add_ordered(ld, cases[i].order, 2500);
    if (cases[i].order == OUT_OF_ORDER)
      assert_int_equal(add_rating(ld, 2499, 3, 4, 2, 77, &e), HV_ECONFLICT);
    assert_int_equal(loader_commit(ld, "t", "u", &e), 0);
    assert_int_equal(t.fast, cases[i].fast);
    assert_int_equal(t.rebuilt, cases[i].rebuilt);
    assert_int_equal(t.rollback_journal, !cases[i].keep_wal);
    assert_true(t.rows >= 0 && t.indexes >= 0 && t.commit >= 0 &&
                t.checkpoint >= 0);
    sqlite3 *h = raw_open(f->path);
    assert_string_equal(q1s(h, "PRAGMA integrity_check", buf, sizeof(buf)),
                        "ok");
    assert_string_equal(q1s(h, "PRAGMA journal_mode", buf, sizeof(buf)),
                        "wal");
    assert_int_equal(q1(h, "SELECT COUNT(*) FROM ratings"), 2500);
    /* the same rows through each index as through the table */
    int64_t all = q1(h, "SELECT SUM(rating_id * 3 + user_id + movie_id + "
                        "timestamp) FROM ratings NOT INDEXED");
    assert_int_equal(q1(h, "SELECT SUM(rating_id * 3 + user_id + movie_id + "
                           "timestamp) FROM ratings INDEXED BY "
                           "ratings_by_user WHERE user_id > -1"),
                     all);
    assert_int_equal(q1(h, "SELECT SUM(rating_id * 3 + user_id + movie_id + "
                           "timestamp) FROM ratings INDEXED BY "
                           "ratings_by_movie WHERE movie_id > -1"),
                     all);
    assert_int_equal(q1(h, "SELECT SUM(rating_id * 3 + user_id + movie_id + "
                           "timestamp) FROM ratings INDEXED BY "
                           "ratings_by_time WHERE timestamp > -1"),
                     all);
    assert_int_equal(q1(h, "SELECT COUNT(*) FROM ratings INDEXED BY "
                           "ratings_by_user WHERE user_id = 8"),
                     q1(h, "SELECT COUNT(*) FROM ratings WHERE +user_id = 8"));
    /* a rating written by the loader reads the column default */
    assert_int_equal(q1(h, "SELECT COUNT(*) FROM ratings WHERE source = "
                           "'import'"),
                     2500);
    assert_int_equal(q1(h, "SELECT COUNT(*) FROM sqlite_schema WHERE name "
                           "LIKE 'hv_load%'"),
                     0);
    sqlite3_close(h);
    assert_int_equal(db_check(f->db, &e), 0);
  }
}

/* With another connection open the loader cannot leave WAL mode: it loads
 * in WAL mode and the other connection keeps reading its snapshot. */
static void test_wal_with_reader(void **state)
{
  if (tu_on_pg())
    skip(); /* SQLite's own machinery */
  struct fixture *f = *state;
  struct hv_err e = {0};
  struct loader *ld = begin_catalogue(f->db, 0, 50, 40);
  add_ordered(ld, IN_ORDER, 10);
  assert_int_equal(loader_commit(ld, "first", "unit", &e), 0);
  sqlite3 *h = raw_open(f->path);
  assert_int_equal(sqlite3_exec(h, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(q1(h, "SELECT COUNT(*) FROM ratings"), 10);
  struct loader_times t;
  struct loader_opts o = {.replace = 1, .times = &t};
  ld = begin_opts(f->db, &o, 50, 40);
  add_ordered(ld, IN_ORDER, 3000);
  assert_int_equal(q1(h, "SELECT COUNT(*) FROM ratings"), 10);
  assert_int_equal(loader_commit(ld, "second", "unit", &e), 0);
  assert_int_equal(t.rollback_journal, 0);
  assert_int_equal(q1(h, "SELECT COUNT(*) FROM ratings"), 10);
  assert_int_equal(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(q1(h, "SELECT COUNT(*) FROM ratings"), 3000);
  char buf[64];
  assert_string_equal(q1s(h, "PRAGMA integrity_check", buf, sizeof(buf)),
                      "ok");
  sqlite3_close(h);
}

/* Pragmas and the journal mode come back after commit and abort; the
 * indexes stay in the schema during a load (only their contents are written
 * by the loader) and the imposters do not outlive it. */
static void test_pragmas_restored(void **state)
{
  if (tu_on_pg())
    skip(); /* SQLite's own machinery */
  struct fixture *f = *state;
  struct hv_err e = {0};
  char buf[64];
  assert_pragmas_default(f->db);
  struct loader *ld = begin_catalogue(f->db, 0, 1, 1);
  assert_int_equal(q1(sq_of(f->db)->h, "PRAGMA foreign_keys"), 0);
  assert_int_equal(q1(sq_of(f->db)->h, "SELECT COUNT(*) FROM sqlite_schema WHERE "
                      "type='index' AND tbl_name='ratings'"),
                   3);
  /* alone on the database: a rollback journal for the load */
  assert_string_equal(q1s(sq_of(f->db)->h, "PRAGMA journal_mode", buf, sizeof(buf)),
                      "delete");
  assert_int_equal(q1(sq_of(f->db)->h, "SELECT COUNT(*) FROM hv_load_ratings"), 0);
  loader_abort(ld);
  assert_pragmas_default(f->db);
  assert_string_equal(q1s(sq_of(f->db)->h, "PRAGMA journal_mode", buf, sizeof(buf)),
                      "wal");
  assert_int_not_equal(sqlite3_exec(sq_of(f->db)->h, "SELECT * FROM hv_load_ratings",
                                    NULL, NULL, NULL),
                       SQLITE_OK);
  assert_int_equal(q1(sq_of(f->db)->h, "SELECT COUNT(*) FROM sqlite_schema WHERE "
                      "type='index' AND tbl_name='ratings'"),
                   3);
  ld = begin_catalogue(f->db, 0, 1, 1);
  assert_int_equal(add_rating(ld, 1, 1, 1, 2, 1, &e), 0);
  assert_int_equal(loader_commit(ld, "t", "u", &e), 0);
  assert_pragmas_default(f->db);
  assert_string_equal(q1s(sq_of(f->db)->h, "PRAGMA journal_mode", buf, sizeof(buf)),
                      "wal");
  assert_int_not_equal(sqlite3_exec(sq_of(f->db)->h, "SELECT * FROM hv_load_idx_0",
                                    NULL, NULL, NULL),
                       SQLITE_OK);
  /* foreign keys are enforced again for other writers */
  assert_int_not_equal(sqlite3_exec(sq_of(f->db)->h,
                                    "INSERT INTO ratings(user_id, movie_id, "
                                    "rating, timestamp) VALUES (77, 1, 3, 0)",
                                    NULL, NULL, NULL),
                       SQLITE_OK);
  /* db_check runs foreign_key_check: clean means the rows are consistent.
   * A second loader refuses without replace (ratings exist). */
  assert_int_equal(db_check(f->db, &e), 0);
  assert_int_equal(loader_begin(f->db, 0, &ld, &e), HV_ECONFLICT);
  assert_null(ld);
  sqlite3 *h = raw_open(f->path);
  assert_int_equal(q1(h, "SELECT COUNT(*) FROM sqlite_schema WHERE "
                         "type='index' AND tbl_name='ratings'"),
                   3);
  sqlite3_close(h);
}

/* A replace that would orphan rows of another table is refused at commit. */
static void test_replace_orphans_refused(void **state)
{
  if (tu_on_pg())
    skip(); /* SQLite's own machinery */
  struct fixture *f = *state;
  struct hv_err e = {0};
  struct loader *ld = begin_catalogue(f->db, 0, 2, 3);
  assert_int_equal(add_rating(ld, 1, 3, 1, 4, 1, &e), 0);
  assert_int_equal(loader_commit(ld, "first", "unit", &e), 0);
  sqlite3 *h = raw_open(f->path);
  assert_int_equal(sqlite3_exec(h,
                                "PRAGMA foreign_keys=ON;"
                                "CREATE TABLE notes(user_id INTEGER "
                                "REFERENCES users(id));"
                                "INSERT INTO notes VALUES (3);",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(h);
  ld = begin_catalogue(f->db, 1, 2, 2); /* user 3 is gone */
  assert_int_equal(loader_commit(ld, "second", "unit", &e),
                   HV_ECONFLICT);
  assert_non_null(strstr(e.msg, "notes"));
  struct stats_counts n;
  assert_int_equal(stats_counts(f->db, &n, &e), 0);
  assert_int_equal(n.users, 3);
  assert_int_equal(n.ratings, 1);
}

static void load_small(struct hv_db *db, int bad_rating)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 1, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Action", &e), 0);
  int g[] = {0};
  struct hv_movie m = {.id = 1, .title = "Toy Story (1995)",
                       .release_year = 1995, .genre_ids = g, .n_genres = 1};
  assert_int_equal(loader_movie(ld, &m, &e), 0);
  struct hv_user u = {.id = 7, .raw_age = 30, .bucketized_age = 25,
                      .gender = "F", .occupation_text = "writer",
                      .occupation_label = 3, .zip_code = "12345"};
  assert_int_equal(loader_user(ld, &u, &e), 0);
  struct hv_rating r = {.rating_id = 1, .user_id = 7, .movie_id = 1,
                        .rating = 4, .timestamp = 100};
  assert_int_equal(loader_rating(ld, &r, &e), 0);
  if (bad_rating) {
    r.rating_id = 2;
    r.user_id = 99; /* unknown user: foreign key */
    assert_int_not_equal(loader_rating(ld, &r, &e), 0);
    loader_abort(ld);
    return;
  }
  assert_int_equal(loader_commit(ld, "test", "memory", &e), 0);
}

/* A batch that fails on the writer thread: the failure, naming the batch's
 * rating ids, reaches the caller at a later loader_rating (when it hands
 * over another batch after the writer failed: timing) or at the latest at
 * commit, and nothing of the load stays; for row 5000 (batch 4097..8192)
 * and row 9000 (the last, partial batch, written at commit). The plain
 * path writes into the ratings table itself, so a trigger on it is the
 * failure. */
static void test_writer_failure(void **state)
{
  if (tu_on_pg())
    skip(); /* the SQLite loader's writer thread */
  struct fixture *f = *state;
  static const int bad[] = {5000, 9000};
  for (size_t k = 0; k < 2; k++) {
    char sql[256];
    snprintf(sql, sizeof(sql),
             "DROP TRIGGER IF EXISTS boom; CREATE TRIGGER boom BEFORE INSERT "
             "ON ratings WHEN NEW.rating_id = %d BEGIN "
             "SELECT RAISE(ABORT, 'boom'); END",
             bad[k]);
    assert_int_equal(sqlite3_exec(sq_of(f->db)->h, sql, NULL, NULL, NULL),
                     SQLITE_OK);
    struct loader_opts o = {.plain = 1};
    struct loader *ld = begin_opts(f->db, &o, 20, 20);
    struct hv_err e = {0};
    int rc = 0;
    int64_t i;
    for (i = 1; i <= 10000 && !rc; i++)
      rc = add_rating(ld, i, 1 + i % 20, 1 + i % 19, 3, 1000 + i, &e);
    if (rc) {
      assert_int_equal(rc, HV_EDB);
      assert_int_equal(k, 0); /* row 9000's batch is written at commit */
      loader_abort(ld);
    } else {
      assert_int_equal(loader_commit(ld, "t", "unit", &e), HV_EDB);
    }
    assert_non_null(strstr(e.msg, k == 0 ? "ratings 4097..8192"
                                         : "ratings 8193..10000"));
    assert_non_null(strstr(e.msg, "boom"));
    assert_int_equal(tu_q1(f->url, "SELECT COUNT(*) FROM ratings"), 0);
    assert_int_equal(tu_q1(f->url, "SELECT COUNT(*) FROM users"), 0);
    assert_int_equal(tu_q1(f->url, "SELECT COUNT(*) FROM sqlite_schema "
                                   "WHERE name = 'ratings_by_user'"),
                     1);
  }
}

static void test_loader_commit_and_abort(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(":memory:", &db, &e), 0);
  load_small(db, 0);
  struct stats_counts n;
  assert_int_equal(stats_counts(db, &n, &e), 0);
  assert_int_equal(n.users, 1);
  assert_int_equal(n.ratings, 1);
  /* a second load without replace is refused */
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(db, 0, &ld, &e), HV_ECONFLICT);
  /* a failing replace leaves the old data */
  load_small(db, 1);
  assert_int_equal(stats_counts(db, &n, &e), 0);
  assert_int_equal(n.ratings, 1);
  assert_int_equal(n.movies, 1);
  assert_int_equal(db_check(db, &e), 0);
  db_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_batches_and_indexes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_assigned_ids_and_odd_ids, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bad_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pragmas_restored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_index_paths, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wal_with_reader, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replace_orphans_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_writer_failure, setup, teardown),
      cmocka_unit_test(test_loader_commit_and_abort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

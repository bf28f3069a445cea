/*
 * test_import.c - data/import.c with the ml-100k, ml-1m and ml-latest
 * readers and data/source.c: fixtures written here (folders and zips made
 * with libzip), every bad-input case with its FILE:LINE message and an
 * unchanged database afterwards, refusal and --replace, format guessing,
 * the real ml-100k when ../shared has it, and `harvest data import`
 * end to end.
 */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "data/import.h"
#include "data/source.h"
#include "data/text.h"
#include "store/db.h"
#include "store/stats.h"
#include "util/fsutil.h"
#include "testutil.h"

struct ffile {
  const char *name;
  const char *text;
};

/* ---- fixtures ---------------------------------------------------------- */

static const struct ffile ml100k_files[] = {
    {"u.genre", "unknown|0\nAction|1\nComedy|2\n\n"},
    {"u.occupation", "administrator\nartist\nwriter\n"},
    {"u.user",
     "1|24|M|writer|85711\n2|53|F|artist|94043\n"
     "3|17|M|administrator|T8H1N\n"},
    {"u.item",
     "1|Toy Story (1995)|01-Jan-1995||http://x/1|0|0|1\n"
     "2|Mis\xE9rables, Les (1995)|4-Feb-1971||http://x/2|0|1|1\n"
     "3|unknown||||1|0|0\n"},
    {"u.data",
     "1\t1\t5\t881250949\n2\t2\t3\t881250950\n"
     "3\t3\t1\t881250951\n1\t2\t4\t881250952\n"},
    {"README", "not read\n"},
    {NULL, NULL},
};

static const struct ffile ml1m_files[] = {
    {"users.dat", "1::F::1::10::48067\r\n2::M::56::16::70072\r\n"},
    {"movies.dat",
     "1::Toy Story (1995)::Animation|Children's|Comedy\n"
     "2::Jumanji (1995)::Adventure|Children's|Fantasy\n"
     "3::Caf\xE9 au Lait (1993)::Comedy\n"},
    {"ratings.dat",
     "1::1::5::978300760\n2::3::3::978302109\n"
     "1::2::4::978301968\n"},
    {NULL, NULL},
};

static const struct ffile mllatest_files[] = {
    {"movies.csv",
     "movieId,title,genres\r\n"
     "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n"
     "2,\"American President, The (1995)\",Comedy|Drama|Romance\r\n"
     "3,\"\"\"Great Performances\"\" Cats (1998)\",Musical\r\n"
     "4,Caf\xC3\xA9 Society (2016),(no genres listed)\r\n"},
    {"ratings.csv",
     "userId,movieId,rating,timestamp\r\n"
     "1,1,4.0,964982703\r\n1,3,4.5,964981247\r\n"
     "7,2,0.5,964982224\r\n7,4,5,964982225\r\n"},
    {"links.csv", "movieId,imdbId,tmdbId\n1,0114709,862\n"},
    {NULL, NULL},
};

static const struct ffile *fixture(const char *format)
{
  if (!strcmp(format, "ml-100k"))
    return ml100k_files;
  if (!strcmp(format, "ml-1m"))
    return ml1m_files;
  return mllatest_files;
}

/* Write the fixture of format into dir (created fresh by the caller). */
static void write_fixture(const char *dir, const char *format)
{
  char p[1024];
  for (const struct ffile *f = fixture(format); f->name; f++)
    tu_write(dir, f->name, f->text, p, sizeof(p));
}

/* Write len bytes (embedded NULs allowed) to dir/name. */
static void write_bytes(const char *dir, const char *name, const char *data,
                        size_t len)
{
  char p[1024];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* Zip the fixture of format into zpath, inside folder top ("" for none),
 * storing entries uncompressed when store is set. */
static void make_zip(const char *zpath, const char *format, const char *top,
                     int store)
{
  int ze = 0;
  unlink(zpath);
  zip_t *z = zip_open(zpath, ZIP_CREATE | ZIP_TRUNCATE, &ze);
  assert_non_null(z);
  char name[256];
  if (*top) {
    snprintf(name, sizeof(name), "%s/", top);
    assert_true(zip_dir_add(z, top, ZIP_FL_ENC_UTF_8) >= 0);
  }
  zip_source_t *junk = zip_source_buffer(z, "mac junk", 8, 0);
  assert_true(zip_file_add(z, "__MACOSX/u.data", junk, 0) >= 0);
  for (const struct ffile *f = fixture(format); f->name; f++) {
    zip_source_t *s = zip_source_buffer(z, f->text, strlen(f->text), 0);
    assert_non_null(s);
    snprintf(name, sizeof(name), "%s%s%s", top, *top ? "/" : "", f->name);
    zip_int64_t i = zip_file_add(z, name, s, ZIP_FL_ENC_UTF_8);
    assert_true(i >= 0);
    if (store)
      assert_int_equal(
          zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0), 0);
  }
  assert_int_equal(zip_close(z), 0);
}

/* ---- database helpers -------------------------------------------------- */

struct env {
  char dir[256];  /* temp root */
  char data[512]; /* dataset folder */
  struct hv_db *db;
};

static void env_open(struct env *v, const char *format)
{
  struct hv_err e = {0};
  char p[600];
  tu_tmpdir(v->dir, sizeof(v->dir));
  snprintf(v->data, sizeof(v->data), "%s/%s", v->dir, format);
  snprintf(p, sizeof(p), "mkdir -p '%s'", v->data);
  assert_int_equal(system(p), 0);
  write_fixture(v->data, format);
  snprintf(p, sizeof(p), "%s/h.db", v->dir);
  assert_int_equal(db_open(p, &v->db, &e), 0);
}

static void env_close(struct env *v)
{
  db_close(v->db);
  tu_rmtree(v->dir);
}

/* Run a query returning one text value on a second connection. */
static void q_text(struct hv_db *db, const char *sql, char *out, size_t cap)
{
  sqlite3 *h;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open_v2(db_path(db), &h, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
  out[0] = '\0';
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
}

/* Assert that the first column of the first row of sql is want. */
static void expect_text(struct hv_db *db, const char *sql, const char *want)
{
  char s[512];
  q_text(db, sql, s, sizeof(s));
  assert_string_equal(s, want);
}

/* Everything a failed import must leave as it was, as one string. */
static void fingerprint(struct hv_db *db, char *out, size_t cap)
{
  q_text(db,
         "SELECT (SELECT COUNT(*) FROM users) || ',' ||"
         " (SELECT COUNT(*) FROM movies) || ',' ||"
         " (SELECT COUNT(*) FROM genres) || ',' ||"
         " (SELECT COUNT(*) FROM movie_genres) || ',' ||"
         " (SELECT COUNT(*) FROM ratings) || ',' ||"
         " (SELECT IFNULL(SUM(rating_id * rating * user_id), 0) FROM ratings)"
         " || ',' || (SELECT IFNULL(GROUP_CONCAT(title, '/'), '') FROM movies)"
         " || ',' || (SELECT IFNULL(GROUP_CONCAT(id || name, '/'), '')"
         "            FROM datasets)",
         out, cap);
}

static void check_counts(struct hv_db *db, int64_t users, int64_t movies,
                         int64_t ratings, int64_t genres)
{
  struct stats_counts n;
  struct hv_err e = {0};
  assert_int_equal(stats_counts(db, &n, &e), 0);
  assert_int_equal(n.users, users);
  assert_int_equal(n.movies, movies);
  assert_int_equal(n.ratings, ratings);
  assert_int_equal(n.genres, genres);
  assert_int_equal(db_check(db, &e), 0);
}

/* ---- good imports -------------------------------------------------------- */

static void test_ml100k_folder(void **state)
{
  struct env v;
  env_open(&v, "ml-100k");
  struct import_result r = {0};
  struct hv_err e = {0};
  assert_int_equal(import_dataset(v.db, "ml-100k", v.data, 0, &r, &e), 0);
  assert_int_equal(r.users, 3);
  assert_int_equal(r.movies, 3);
  assert_int_equal(r.ratings, 4);
  assert_int_equal(r.genres, 3);
  assert_true(r.seconds > 0);
  check_counts(v.db, 3, 3, 4, 3);
  expect_text(v.db,
              "SELECT title || '|' || release_year FROM movies WHERE id=2",
              "Mis\xC3\xA9rables, Les (1995)|1971");
  expect_text(v.db,
              "SELECT IFNULL(release_date,'-') || IFNULL(release_year,'-') ||"
              " IFNULL(imdb_url,'-') FROM movies WHERE id=3",
              "---");
  expect_text(v.db,
              "SELECT GROUP_CONCAT(genre_id) FROM (SELECT genre_id FROM "
              "movie_genres WHERE movie_id=2 ORDER BY genre_id)",
              "1,2");
  expect_text(
      v.db,
      "SELECT raw_age||','||bucketized_age||','||gender||','||"
      "occupation_text||','||occupation_label||','||zip_code FROM users "
      "WHERE id=3",
      "17,1,M,administrator,0,T8H1N");
  expect_text(v.db,
              "SELECT user_id||','||movie_id||','||rating||','||timestamp FROM "
              "ratings WHERE rating_id=1",
              "1,1,5.0,881250949");
  expect_text(v.db,
              "SELECT user_id||','||movie_id FROM ratings WHERE rating_id=4",
              "1,2");
  expect_text(v.db, "SELECT name FROM datasets", "ml-100k");
  env_close(&v);
}

static void test_ml1m_folder(void **state)
{
  struct env v;
  env_open(&v, "ml-1m");
  struct import_result r = {0};
  struct hv_err e = {0};
  assert_int_equal(import_dataset(v.db, "ml-1m", v.data, 0, &r, &e), 0);
  check_counts(v.db, 2, 3, 3, 5);
  assert_int_equal(r.genres, 5);
  expect_text(
      v.db,
      "SELECT IFNULL(raw_age,'NULL')||','||bucketized_age||','||gender||','"
      "||occupation_text||','||occupation_label||','||zip_code FROM users "
      "WHERE id=1",
      "NULL,1,F,K-12 student,10,48067");
  expect_text(v.db, "SELECT occupation_text FROM users WHERE id=2",
              "self-employed");
  expect_text(v.db, "SELECT title||'|'||release_year FROM movies WHERE id=3",
              "Caf\xC3\xA9 au Lait (1993)|1993");
  expect_text(
      v.db,
      "SELECT GROUP_CONCAT(name, ',') FROM (SELECT name FROM genres ORDER "
      "BY id)",
      "Animation,Children's,Comedy,Adventure,Fantasy");
  expect_text(v.db,
              "SELECT user_id||','||movie_id||','||rating FROM ratings WHERE "
              "rating_id=3",
              "1,2,4.0");
  env_close(&v);
}

static void test_mllatest_folder(void **state)
{
  struct env v;
  env_open(&v, "ml-latest");
  struct import_result r = {0};
  struct hv_err e = {0};
  assert_int_equal(import_dataset(v.db, "ml-latest-small", v.data, 0, &r, &e),
                   0);
  check_counts(v.db, 2, 4, 4, 8);
  expect_text(v.db, "SELECT title FROM movies WHERE id=2",
              "American President, The (1995)");
  expect_text(v.db, "SELECT title||'|'||release_year FROM movies WHERE id=3",
              "\"Great Performances\" Cats (1998)|1998");
  expect_text(v.db, "SELECT COUNT(*) FROM movie_genres WHERE movie_id=4", "0");
  expect_text(
      v.db,
      "SELECT COUNT(*) FROM users WHERE raw_age IS NULL AND bucketized_age"
      " IS NULL AND gender IS NULL AND occupation_text IS NULL AND "
      "occupation_label IS NULL AND zip_code IS NULL",
      "2");
  expect_text(v.db, "SELECT GROUP_CONCAT(rating, ',') FROM ratings",
              "4.0,4.5,0.5,5.0");
  expect_text(v.db, "SELECT name FROM datasets", "ml-latest-small");
  env_close(&v);
}

struct prog {
  int calls;
  int64_t last_done, last_total;
  int bad;
};

static void on_progress(void *ctx, const char *file, int64_t done,
                        int64_t total)
{
  struct prog *p = ctx;
  p->calls++;
  if (!file || !*file || done <= 0 || (total >= 0 && done > total))
    p->bad++;
  p->last_done = done;
  p->last_total = total;
}

static void test_guess_progress_refuse_replace(void **state)
{
  static const char *const formats[] = {"ml-100k", "ml-1m", "ml-latest"};
  for (size_t i = 0; i < 3; i++) {
    struct env v;
    env_open(&v, formats[i]);
    struct hv_err e = {0};
    const char *g = NULL;
    assert_int_equal(import_guess_format(v.data, &g, &e), 0);
    assert_string_equal(g, formats[i]);
    struct prog p = {0};
    struct import_result r;
    assert_int_equal(
        import_dataset_progress(v.db, NULL, v.data, 0, on_progress, &p, &r, &e),
        0);
    assert_true(p.calls >= 2);
    assert_int_equal(p.bad, 0);
    assert_int_equal(p.last_done, p.last_total); /* ratings file finished */
    char before[4096], after[4096];
    fingerprint(v.db, before, sizeof(before));
    /* same again without replace: refused, nothing duplicated */
    assert_int_equal(import_dataset(v.db, "auto", v.data, 0, &r, &e),
                     HV_ECONFLICT);
    assert_non_null(strstr(e.msg, "--replace"));
    fingerprint(v.db, after, sizeof(after));
    assert_string_equal(before, after);
    /* with replace: the same rows once, a new datasets row */
    assert_int_equal(import_dataset(v.db, formats[i], v.data, 1, &r, &e), 0);
    struct stats_counts n;
    assert_int_equal(stats_counts(v.db, &n, &e), 0);
    assert_int_equal(n.ratings, r.ratings);
    assert_int_equal(n.first_rating_id, 1);
    assert_int_equal(n.last_rating_id, r.ratings);
    env_close(&v);
  }
}

static void test_api_bad_arguments(void **state)
{
  struct env v;
  env_open(&v, "ml-100k");
  struct hv_err e = {0};
  struct import_result r;
  assert_int_equal(import_dataset(NULL, "ml-100k", v.data, 0, &r, &e),
                   HV_EINVAL);
  assert_int_equal(import_dataset(v.db, "ml-100k", NULL, 0, &r, &e), HV_EINVAL);
  assert_int_equal(import_dataset(v.db, "ml-100k", "", 0, &r, &e), HV_EINVAL);
  assert_int_equal(import_dataset(v.db, "ml-10m", v.data, 0, &r, &e),
                   HV_EUSAGE);
  assert_non_null(strstr(e.msg, "ml-10m"));
  assert_int_equal(import_dataset(v.db, "ml-100k", "/no/such/dir", 0, &r, &e),
                   HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "/no/such/dir"));
  /* err may be NULL; res may be NULL */
  assert_int_equal(import_dataset(v.db, "ml-1m", v.data, 0, NULL, NULL),
                   HV_ENOTFOUND);
  /* a folder without a known file */
  char empty[600];
  snprintf(empty, sizeof(empty), "%s/empty", v.dir);
  assert_int_equal(hv_mkdir_p(empty, &e), 0);
  const char *g = NULL;
  assert_int_equal(import_guess_format(empty, &g, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "--format"));
  assert_int_equal(import_dataset(v.db, NULL, empty, 0, &r, &e), HV_EINVAL);
  assert_int_equal(import_guess_format("/no/such", &g, &e), HV_ENOTFOUND);
  assert_string_equal(import_format_name("ml-latest-small"), "ml-latest");
  assert_string_equal(import_format_name("ml-1m"), "ml-1m");
  assert_null(import_format_name("csv"));
  assert_null(import_format_name(NULL));
  check_counts(v.db, 0, 0, 0, 0);
  env_close(&v);
}

/* ---- bad input ------------------------------------------------------------
 */

struct bad_case {
  const char *format;
  const char *file;    /* replaced in the good fixture */
  const char *content; /* NULL: the file is removed */
  size_t len;          /* 0: strlen(content) */
  int code;
  const char *want; /* substring of the message, FILE:LINE included */
};

static const struct bad_case bad_cases[] = {
    /* ml-100k: u.data */
    {"ml-100k", "u.data", "1\t1\t5\t881250949\n2\t2\t3\n", 0, HV_EINVAL,
     "u.data:2: expected 4 fields separated by TAB, found 3"},
    {"ml-100k", "u.data", "1\t1\t5\t881250949\n2\t2\t3\t1\t9\n", 0, HV_EINVAL,
     "u.data:2: expected 4 fields separated by TAB, found 5"},
    {"ml-100k", "u.data", "1 1 5 881250949\n", 0, HV_EINVAL,
     "u.data:1: expected 4 fields separated by TAB, found 1"},
    {"ml-100k", "u.data", "1\t1\t5\t881250949\n1\t1\tx\t1\n", 0, HV_EINVAL,
     "u.data:2: rating: 'x' is not an integer"},
    {"ml-100k", "u.data", "1\t1\t5\t881250949\n\n1\t1\t7\t1\n", 0, HV_EINVAL,
     "u.data:3: rating 7 is out of range 1..5"},
    {"ml-100k", "u.data", "1\t1\t0\t881250949\n", 0, HV_EINVAL,
     "u.data:1: rating 0 is out of range 1..5"},
    {"ml-100k", "u.data", "1\t1\t4.5\t881250949\n", 0, HV_EINVAL,
     "u.data:1: rating: '4.5' is not an integer"},
    {"ml-100k", "u.data", "1\t1\t\t881250949\n", 0, HV_EINVAL,
     "u.data:1: rating: empty value"},
    {"ml-100k", "u.data", "1\t1\t5\t881250949\n99\t1\t5\t1\n", 0, HV_EINVAL,
     "u.data:2: user 99 is not in u.user"},
    {"ml-100k", "u.data", "1\t42\t5\t881250949\n", 0, HV_EINVAL,
     "u.data:1: movie 42 is not in u.item"},
    {"ml-100k", "u.data", "1\t1\t5\t-5\n", 0, HV_EINVAL,
     "u.data:1: timestamp: -5 is out of range"},
    /* past what the digit-only fast path takes: the strict path decides */
    {"ml-100k", "u.data", "1\t9007199254740993\t5\t1\n", 0, HV_EINVAL,
     "u.data:1: movie id: 9007199254740993 is out of range"},
    {"ml-100k", "u.data", "1\t1\t5\t99999999999999999999\n", 0, HV_EINVAL,
     "u.data:1: timestamp: 99999999999999999999 is out of range"},
    {"ml-100k", "u.data", "1\t1\t5\t1\n0\t1\t5\t1\n", 0, HV_EINVAL,
     "u.data:2: user id: 0 is out of range"},
    {"ml-100k", "u.data", "1\t1\t5\t1\t\n", 0, HV_EINVAL,
     "u.data:1: expected 4 fields separated by TAB, found 5"},
    {"ml-100k", "u.data", "1\t1\t5\t12x\n", 0, HV_EINVAL,
     "u.data:1: timestamp: '12x' is not an integer"},
    {"ml-100k", "u.data", "0\t1\t5\t1\n", 0, HV_EINVAL,
     "u.data:1: user id: 0 is out of range"},
    {"ml-100k", "u.data", "abc\t1\t5\t1\n", 0, HV_EINVAL,
     "u.data:1: user id: 'abc' is not an integer"},
    {"ml-100k", "u.data", "99999999999999999999\t1\t5\t1\n", 0, HV_EINVAL,
     "u.data:1: user id: 99999999999999999999 is out of range"},
    {"ml-100k", "u.data", "", 0, HV_EINVAL, "u.data:1: the file is empty"},
    {"ml-100k", "u.data", "\n\r\n\n", 0, HV_EINVAL,
     "u.data:1: the file is empty"},
    {"ml-100k", "u.data", "1\t1\t5\t881250949\n1\t1\0\t5\t1\n", 25, HV_EINVAL,
     "u.data:2: NUL byte at column 4"},
    {"ml-100k", "u.data", NULL, 0, HV_ENOTFOUND, "u.data"},
    /* u.user */
    {"ml-100k", "u.user", "1|24|M|writer|85711\n1|30|F|artist|1\n", 0,
     HV_EINVAL, "u.user:2: user id 1 appears twice"},
    {"ml-100k", "u.user", "1|24|X|writer|85711\n", 0, HV_EINVAL,
     "u.user:1: gender 'X' is not M or F"},
    {"ml-100k", "u.user", "1|24|M|pilot|85711\n", 0, HV_EINVAL,
     "u.user:1: occupation 'pilot' is not in u.occupation"},
    {"ml-100k", "u.user", "1|abc|M|writer|85711\n", 0, HV_EINVAL,
     "u.user:1: age: 'abc' is not an integer"},
    {"ml-100k", "u.user", "1|200|M|writer|85711\n", 0, HV_EINVAL,
     "u.user:1: age: 200 is out of range"},
    {"ml-100k", "u.user", "1|24|M|writer\n", 0, HV_EINVAL,
     "u.user:1: expected 5 fields separated by '|', found 4"},
    {"ml-100k", "u.user", "1|24|M|writer|\xFF\n", 0, HV_EINVAL,
     "u.user:1: zip code is not valid UTF-8"},
    /* u.item */
    {"ml-100k", "u.item",
     "1|A (1995)|01-Jan-1995||u|0|0|1\n1|B (1995)|01-Jan-1995||u|0|0|1\n", 0,
     HV_EINVAL, "u.item:2: movie id 1 appears twice"},
    {"ml-100k", "u.item", "1|A (1995)|01-Jan-1995||u|0|0\n", 0, HV_EINVAL,
     "u.item:1: expected 8 fields separated by '|', found 7"},
    {"ml-100k", "u.item", "1|A (1995)|01-Jan-1995||u|0|0|2\n", 0, HV_EINVAL,
     "u.item:1: genre flag 3 is '2', expected 0 or 1"},
    {"ml-100k", "u.item", "1|A (1995)|1995-01-01||u|0|0|1\n", 0, HV_EINVAL,
     "u.item:1: release date '1995-01-01' is not dd-Mon-yyyy"},
    {"ml-100k", "u.item", "1||01-Jan-1995||u|0|0|1\n", 0, HV_EINVAL,
     "u.item:1: movie 1 has an empty title"},
    {"ml-100k", "u.item", "x1|A|||u|0|0|1\n", 0, HV_EINVAL,
     "u.item:1: movie id: 'x1' is not an integer"},
    /* u.genre, u.occupation */
    {"ml-100k", "u.genre", "unknown|0\nAction|2\n", 0, HV_EINVAL,
     "u.genre:2: genre id 2, expected 1"},
    {"ml-100k", "u.genre", "unknown|0\nunknown|1\n", 0, HV_EINVAL,
     "u.genre:2: genre 'unknown' appears twice"},
    {"ml-100k", "u.genre", "unknown|0|x\n", 0, HV_EINVAL,
     "u.genre:1: expected 2 fields separated by '|', found 3"},
    {"ml-100k", "u.genre", "|0\n", 0, HV_EINVAL, "u.genre:1: empty genre name"},
    {"ml-100k", "u.genre", "", 0, HV_EINVAL, "u.genre:1: the file is empty"},
    {"ml-100k", "u.occupation", "writer\nartist\nwriter\n", 0, HV_EINVAL,
     "u.occupation:3: occupation 'writer' appears twice"},
    {"ml-100k", "u.occupation", NULL, 0, HV_ENOTFOUND, "u.occupation"},
    /* ml-1m */
    {"ml-1m", "users.dat", "1::F::30::10::48067\n", 0, HV_EINVAL,
     "users.dat:1: age 30 is not an ml-1m age code"},
    {"ml-1m", "users.dat", "1::F::1::21::48067\n", 0, HV_EINVAL,
     "users.dat:1: occupation: 21 is out of range [0, 20]"},
    {"ml-1m", "users.dat", "1::F::1::10\n", 0, HV_EINVAL,
     "users.dat:1: expected 5 fields separated by '::', found 4"},
    {"ml-1m", "users.dat", "1::F::1::10::1\n2::M::1::1::1\n2::M::1::1::1\n", 0,
     HV_EINVAL, "users.dat:3: user id 2 appears twice"},
    {"ml-1m", "movies.dat", "1::Toy Story (1995)\n", 0, HV_EINVAL,
     "movies.dat:1: expected 3 fields 'MovieID::Title::Genres', found 2"},
    {"ml-1m", "movies.dat", "1::T (1995)::Comedy||Drama\n", 0, HV_EINVAL,
     "movies.dat:1: empty genre name"},
    {"ml-1m", "movies.dat",
     "1::A (1995)::Comedy\n2::B::Drama\n3::C::Drama\n2::D::Drama\n", 0,
     HV_EINVAL, "movies.dat:4: movie id 2 appears twice"},
    {"ml-1m", "ratings.dat", "1::1::5::978300760\n2::3::6::978302109\n", 0,
     HV_EINVAL, "ratings.dat:2: rating 6 is out of range 1..5"},
    {"ml-1m", "ratings.dat", "1::9::5::978300760\n", 0, HV_EINVAL,
     "ratings.dat:1: movie 9 is not in movies.dat"},
    {"ml-1m", "ratings.dat", "3::1::5::978300760\n", 0, HV_EINVAL,
     "ratings.dat:1: user 3 is not in users.dat"},
    {"ml-1m", "ratings.dat", "1:1:5:978300760\n", 0, HV_EINVAL,
     "ratings.dat:1: expected 4 fields separated by '::', found 1"},
    {"ml-1m", "ratings.dat", NULL, 0, HV_ENOTFOUND, "ratings.dat"},
    /* ml-latest */
    {"ml-latest", "movies.csv", "id,title,genres\n1,A,Drama\n", 0, HV_EINVAL,
     "movies.csv:1: expected the header line 'movieId,title,genres'"},
    {"ml-latest", "movies.csv", "1,A,Drama\n", 0, HV_EINVAL,
     "movies.csv:1: expected the header line"},
    {"ml-latest", "movies.csv",
     "movieId,title,genres\n1,A,Drama\n2,\"Open, title,Drama\n3,C,Drama\n", 0,
     HV_EINVAL, "movies.csv:3: field 2: quoted field is not closed"},
    {"ml-latest", "movies.csv", "movieId,title,genres\n1,A \"B\" C,Drama\n", 0,
     HV_EINVAL, "movies.csv:2: field 2: quote inside an unquoted field"},
    {"ml-latest", "movies.csv", "movieId,title,genres\n1,A,Drama\n5,Title\n", 0,
     HV_EINVAL, "movies.csv:3: expected 3 fields"},
    {"ml-latest", "movies.csv", "movieId,title,genres\n1,Caf\xE9,Drama\n", 0,
     HV_EINVAL, "movies.csv:2: title is not valid UTF-8 (byte 0xE9"},
    {"ml-latest", "movies.csv", "movieId,title,genres\n1,A,Dr\xC3|x\n", 0,
     HV_EINVAL, "movies.csv:2: genres is not valid UTF-8"},
    {"ml-latest", "movies.csv",
     "movieId,title,genres\n1,A,Drama\n\"multi\nline\",B,Drama\n", 0, HV_EINVAL,
     "movies.csv:3: movieId: 'multi"},
    {"ml-latest", "movies.csv", "movieId,title,genres\n", 0, HV_EINVAL,
     "movies.csv:2: the file has a header but no rows"},
    {"ml-latest", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.3,1\n",
     0, HV_EINVAL, "ratings.csv:2: rating 4.3 is out of range 0.5..5 in half"},
    {"ml-latest", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,0,1\n",
     0, HV_EINVAL, "ratings.csv:2: rating 0 is out of range"},
    {"ml-latest", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,5.5,1\n",
     0, HV_EINVAL, "ratings.csv:2: rating 5.5 is out of range"},
    {"ml-latest", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,nan,1\n",
     0, HV_EINVAL, "ratings.csv:2: rating: 'nan' is not a finite number"},
    {"ml-latest", "ratings.csv",
     "userId,movieId,rating,timestamp\n1,1,4,1\n1,99,4,1\n", 0, HV_EINVAL,
     "ratings.csv:3: movie 99 is not in movies.csv"},
    {"ml-latest", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4\n", 0,
     HV_EINVAL, "ratings.csv:2: expected 4 fields"},
    {"ml-latest", "ratings.csv", "", 0, HV_EINVAL,
     "ratings.csv:1: the file is empty"},
    {"ml-latest", "ratings.csv", NULL, 0, HV_ENOTFOUND, "ratings.csv"},
};

static void test_bad_input_leaves_db_unchanged(void **state)
{
  struct env v;
  env_open(&v, "ml-100k");
  struct hv_err e = {0};
  struct import_result r;
  assert_int_equal(import_dataset(v.db, "ml-100k", v.data, 0, &r, &e), 0);
  char before[4096], after[4096];
  fingerprint(v.db, before, sizeof(before));
  for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
    const struct bad_case *k = &bad_cases[i];
    char dir[600], cmd[700];
    snprintf(dir, sizeof(dir), "%s/case%zu", v.dir, i);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    write_fixture(dir, k->format);
    if (k->content) {
      write_bytes(dir, k->file, k->content,
                  k->len ? k->len : strlen(k->content));
    } else {
      snprintf(cmd, sizeof(cmd), "%s/%s", dir, k->file);
      assert_int_equal(unlink(cmd), 0);
    }
    hv_err_clear(&e);
    /* replace=1: a failure must not even delete the old dataset */
    int rc = import_dataset(v.db, k->format, dir, 1, &r, &e);
    if (rc != k->code || !strstr(e.msg, k->want))
      fail_msg("case %zu (%s %s): rc %d '%s', want %d '%s'", i, k->format,
               k->file, rc, e.msg, k->code, k->want);
    /* the message names the file as the user knows it */
    if (!strstr(e.msg, dir))
      fail_msg("case %zu: '%s' does not name %s", i, e.msg, dir);
    fingerprint(v.db, after, sizeof(after));
    if (strcmp(before, after))
      fail_msg("case %zu changed the database:\n%s\n%s", i, before, after);
  }
  env_close(&v);
}

static void test_overlong_line(void **state)
{
  struct env v;
  env_open(&v, "ml-100k");
  size_t n = (2u << 20) + 10;
  char *big = malloc(n);
  assert_non_null(big);
  memcpy(big, "1\t1\t5\t881250949\n", 16);
  memset(big + 16, '7', n - 16);
  write_bytes(v.data, "u.data", big, n);
  free(big);
  struct hv_err e = {0};
  struct import_result r;
  assert_int_equal(import_dataset(v.db, "ml-100k", v.data, 0, &r, &e),
                   HV_EINVAL);
  assert_non_null(strstr(e.msg, "u.data:2: line is longer than"));
  check_counts(v.db, 0, 0, 0, 0);
  env_close(&v);
}

/* ---- zips ---------------------------------------------------------------- */

static void test_zip_imports(void **state)
{
  static const struct {
    const char *format, *top;
    int store;
    int64_t users, movies, ratings, genres;
  } cases[] = {
      {"ml-100k", "ml-100k", 0, 3, 3, 4, 3},
      {"ml-1m", "ml-1m", 1, 2, 3, 3, 5},
      {"ml-latest", "", 0, 2, 4, 4, 8},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct env v;
    env_open(&v, cases[i].format);
    char zpath[600];
    snprintf(zpath, sizeof(zpath), "%s/%s.zip", v.dir, cases[i].format);
    make_zip(zpath, cases[i].format, cases[i].top, cases[i].store);
    struct hv_err e = {0};
    const char *g = NULL;
    assert_int_equal(import_guess_format(zpath, &g, &e), 0);
    assert_string_equal(g, cases[i].format);
    struct import_result r;
    assert_int_equal(import_dataset(v.db, NULL, zpath, 0, &r, &e), 0);
    check_counts(v.db, cases[i].users, cases[i].movies, cases[i].ratings,
                 cases[i].genres);
    env_close(&v);
  }
}

static void test_source_api(void **state)
{
  struct env v;
  env_open(&v, "ml-100k");
  char zpath[600];
  snprintf(zpath, sizeof(zpath), "%s/d.zip", v.dir);
  make_zip(zpath, "ml-100k", "ml-100k", 0);
  struct source *src = NULL;
  struct source_file *f = NULL;
  struct hv_err e = {0};
  assert_int_equal(source_open(zpath, &src, &e), 0);
  assert_true(source_is_zip(src));
  assert_string_equal(source_path(src), zpath);
  assert_true(source_has(src, "u.data"));
  assert_false(source_has(src, "ratings.csv"));
  assert_false(source_has(src, "ml-100k"));
  assert_int_equal(source_open_file(src, "nope", &f, &e), HV_ENOTFOUND);
  assert_null(f);
  assert_int_equal(source_open_file(src, "u.data", &f, &e), 0);
  char want[700];
  snprintf(want, sizeof(want), "%s/ml-100k/u.data", zpath);
  assert_string_equal(source_file_name(f), want);
  assert_int_equal(source_file_size(f), (int64_t)strlen(ml100k_files[4].text));
  char buf[4096];
  long n = source_file_read(f, buf, sizeof(buf), &e);
  assert_int_equal(n, (long)strlen(ml100k_files[4].text));
  assert_memory_equal(buf, ml100k_files[4].text, (size_t)n);
  assert_int_equal(source_file_read(f, buf, sizeof(buf), &e), 0);
  source_file_close(f);
  source_file_close(NULL);
  source_close(src);
  /* folder */
  assert_int_equal(source_open(v.data, &src, &e), 0);
  assert_false(source_is_zip(src));
  assert_true(source_has(src, "u.item"));
  assert_false(source_has(src, "u.nothing"));
  assert_int_equal(source_open_file(src, "u.genre", &f, &e), 0);
  assert_int_equal(source_file_size(f), (int64_t)strlen(ml100k_files[0].text));
  source_file_close(f);
  source_close(src);
  source_close(NULL);
  /* the folder above it: one folder down, as in a zip */
  assert_int_equal(source_open(v.dir, &src, &e), 0);
  assert_true(source_has(src, "u.data"));
  assert_false(source_has(src, "u.nothing"));
  assert_int_equal(source_open_file(src, "u.data", &f, &e), 0);
  snprintf(want, sizeof(want), "%s/ml-100k/u.data", v.dir);
  assert_string_equal(source_file_name(f), want);
  source_file_close(f);
  /* a file at the top wins over the subfolder's */
  char top[700];
  tu_write(v.dir, "u.data", "1\t1\t5\t1\n", top, sizeof(top));
  assert_int_equal(source_open_file(src, "u.data", &f, &e), 0);
  assert_string_equal(source_file_name(f), top);
  assert_int_equal(source_file_size(f), 8);
  source_file_close(f);
  unlink(top);
  source_close(src);
  /* two folders down, or in a hidden folder: not found */
  char deep[700], cmd[2200];
  snprintf(deep, sizeof(deep), "%s/a", v.dir);
  snprintf(cmd, sizeof(cmd), "mkdir -p '%s/b' '%s/.h' && cp '%s/u.item' '%s/b/' "
           "&& cp '%s/u.item' '%s/.h/'", deep, deep, v.data, deep, v.data, deep);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(source_open(deep, &src, &e), 0);
  assert_true(source_has(src, "u.item")); /* a/b/u.item: one down */
  source_close(src);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s/b'", deep);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(source_open(deep, &src, &e), 0);
  assert_false(source_has(src, "u.item")); /* only a/.h/u.item is left */
  source_close(src);
  /* and the import takes the folder above the dataset as it is */
  struct import_result r;
  assert_int_equal(import_dataset(v.db, NULL, v.dir, 0, &r, &e), 0);
  assert_int_equal(r.ratings, 4);
  /* bad paths */
  assert_int_equal(source_open("", &src, &e), HV_EINVAL);
  assert_int_equal(source_open(NULL, &src, &e), HV_EINVAL);
  assert_int_equal(source_open("/dev/null", &src, &e), HV_EINVAL);
  assert_int_equal(source_open("/no/such/place", &src, &e), HV_ENOTFOUND);
  env_close(&v);
}

/* Read a whole file into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void test_damaged_zips(void **state)
{
  struct env v;
  env_open(&v, "ml-100k");
  struct hv_err e = {0};
  struct import_result r;
  assert_int_equal(import_dataset(v.db, "ml-100k", v.data, 0, &r, &e), 0);
  char before[4096], after[4096];
  fingerprint(v.db, before, sizeof(before));
  char zpath[600], bad[700];
  snprintf(zpath, sizeof(zpath), "%s/good.zip", v.dir);
  snprintf(bad, sizeof(bad), "%s/bad.zip", v.dir);
  make_zip(zpath, "ml-100k", "ml-100k", 1);
  size_t len;
  char *z = slurp(zpath, &len);
  /* truncated at several points: never a readable archive */
  static const double cuts[] = {0.0, 0.1, 0.5, 0.9, 0.99};
  for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
    size_t keep = (size_t)((double)len * cuts[i]);
    write_bytes(v.dir, "bad.zip", z, keep);
    int rc = import_dataset(v.db, "ml-100k", bad, 1, &r, &e);
    if (rc != HV_ECORRUPT || !strstr(e.msg, "bad.zip") ||
        !strstr(e.msg, "not a readable zip"))
      fail_msg("cut %zu/%zu: rc %d '%s'", keep, len, rc, e.msg);
    fingerprint(v.db, after, sizeof(after));
    assert_string_equal(before, after);
  }
  /* a flipped byte inside u.data (stored): the CRC check catches it at the
   * end of the entry, after every line was read and inserted */
  const char *needle = "881250951";
  char *hit = memmem(z, len, needle, strlen(needle));
  assert_non_null(hit);
  hit[0] = '7';
  write_bytes(v.dir, "bad.zip", z, len);
  int rc = import_dataset(v.db, "ml-100k", bad, 1, &r, &e);
  if (rc != HV_ECORRUPT || !strstr(e.msg, "bad.zip/ml-100k/u.data"))
    fail_msg("flipped byte: rc %d '%s'", rc, e.msg);
  fingerprint(v.db, after, sizeof(after));
  assert_string_equal(before, after);
  free(z);
  /* a bad line inside a zip names ZIP/ENTRY:LINE */
  zip_t *zz = zip_open(zpath, 0, &(int){0});
  assert_non_null(zz);
  static const char bad_data[] = "1\t1\t5\t1\n1\t1\t9\t1\n";
  zip_source_t *s = zip_source_buffer(zz, bad_data, strlen(bad_data), 0);
  assert_true(zip_file_add(zz, "ml-100k/u.data", s, ZIP_FL_OVERWRITE) >= 0);
  assert_int_equal(zip_close(zz), 0);
  rc = import_dataset(v.db, "ml-100k", zpath, 1, &r, &e);
  snprintf(bad, sizeof(bad), "%s/ml-100k/u.data:2: rating 9 is out of range",
           zpath);
  if (rc != HV_EINVAL || !strstr(e.msg, bad))
    fail_msg("bad line in zip: rc %d '%s'", rc, e.msg);
  fingerprint(v.db, after, sizeof(after));
  assert_string_equal(before, after);
  env_close(&v);
}

/* ---- the real ml-100k ---------------------------------------------------- */

/* Number of non-ASCII movie titles; fails when any title is not UTF-8. */
static int count_utf8_titles(struct hv_db *db)
{
  sqlite3 *h;
  sqlite3_stmt *st;
  int n = 0;
  assert_int_equal(sqlite3_open_v2(db_path(db), &h, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(h, "SELECT title FROM movies", -1, &st, NULL),
      SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    if (!text_utf8_valid(t, len, NULL))
      fail_msg("title '%s' is not UTF-8", t);
    for (size_t i = 0; i < len; i++)
      if ((unsigned char)t[i] >= 0x80) {
        n++;
        break;
      }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

static void test_real_ml100k(void **state)
{
  char path[1024];
  if (!tu_shared("data/ml-100k", path, sizeof(path)))
    skip();
  char dir[256], dbp[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(dbp, sizeof(dbp), "%s/h.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(dbp, &db, &e), 0);
  struct import_result r;
  if (import_dataset(db, "ml-100k", path, 0, &r, &e))
    fail_msg("%s", e.msg);
  assert_int_equal(r.users, 943);
  assert_int_equal(r.movies, 1682);
  assert_int_equal(r.ratings, 100000);
  assert_int_equal(r.genres, 19);
  check_counts(db, 943, 1682, 100000, 19);
  char s[512];
  q_text(db, "SELECT title FROM movies WHERE id=543", s, sizeof(s));
  assert_string_equal(s, "Mis\xC3\xA9rables, Les (1995)");
  q_text(db, "SELECT title FROM movies WHERE id=1633", s, sizeof(s));
  assert_string_equal(s, "\xC3\x81 k\xC3\xB6ldum klaka (Cold Fever) (1994)");
  /* every title is valid UTF-8; as many have non-ASCII characters as
   * u.item has lines with Latin-1 bytes */
  int latin1_lines = 0, utf8_titles = count_utf8_titles(db);
  char ip[1100], buf[1024];
  snprintf(ip, sizeof(ip), "%s/u.item", path);
  FILE *it = fopen(ip, "rb");
  assert_non_null(it);
  while (fgets(buf, sizeof(buf), it)) {
    for (const unsigned char *p = (const unsigned char *)buf; *p; p++)
      if (*p >= 0x80) {
        latin1_lines++;
        break;
      }
  }
  fclose(it);
  assert_true(latin1_lines > 0);
  assert_int_equal(utf8_titles, latin1_lines);
  q_text(db,
         "SELECT user_id||','||movie_id||','||CAST(rating AS INTEGER)||','||"
         "timestamp FROM ratings WHERE rating_id=1",
         s, sizeof(s));
  assert_string_equal(s, "196,242,3,881250949");
  /* the last rating is the last line of u.data */
  char up[1100], line[128] = "", last[128] = "";
  snprintf(up, sizeof(up), "%s/u.data", path);
  FILE *f = fopen(up, "r");
  assert_non_null(f);
  while (fgets(line, sizeof(line), f))
    if (line[0] != '\n')
      memcpy(last, line, sizeof(last));
  fclose(f);
  last[strcspn(last, "\r\n")] = '\0';
  for (char *p = last; *p; p++)
    if (*p == '\t')
      *p = ',';
  q_text(db,
         "SELECT user_id||','||movie_id||','||CAST(rating AS INTEGER)||','||"
         "timestamp FROM ratings WHERE rating_id=100000",
         s, sizeof(s));
  assert_string_equal(s, last);
  q_text(db,
         "SELECT COUNT(*) FROM users WHERE occupation_label IS NULL OR "
         "bucketized_age NOT IN (1,18,25,35,45,50,56)",
         s, sizeof(s));
  assert_string_equal(s, "0");
  db_close(db);
  tu_rmtree(dir);
}

/* ---- the CLI ------------------------------------------------------------- */

static int run(const char *cmd, char *out, size_t cap)
{
  return tu_run(cmd, out, cap);
}

static void test_cli_end_to_end(void **state)
{
  struct env v;
  env_open(&v, "ml-100k");
  char cmd[2048], out[8192];
  const char *bin = tu_bin();
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s/home' data import --help", bin,
           v.dir);
  assert_int_equal(run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "--format"));
  assert_non_null(strstr(out, "guessed"));
  snprintf(cmd, sizeof(cmd),
           "'%s' --home '%s/home' data import --format ml-100k '%s' 2>&1", bin,
           v.dir, v.data);
  assert_int_equal(run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "ratings  4"));
  /* again: refused, exit 1, a message mentioning --replace */
  assert_int_equal(run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "--replace"));
  /* --replace --json, format guessed */
  snprintf(cmd, sizeof(cmd),
           "'%s' --home '%s/home' data import --replace --json '%s'", bin,
           v.dir, v.data);
  assert_int_equal(run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "users")), 3);
  assert_int_equal(json_integer_value(json_object_get(j, "movies")), 3);
  assert_int_equal(json_integer_value(json_object_get(j, "ratings")), 4);
  assert_int_equal(json_integer_value(json_object_get(j, "genres")), 3);
  assert_true(json_is_real(json_object_get(j, "seconds")));
  assert_string_equal(json_string_value(json_object_get(j, "format")),
                      "ml-100k");
  json_decref(j);
  /* bad data: exit 1 with FILE:LINE on stderr */
  write_bytes(v.data, "u.data", "1\t1\t5\t1\n1\t1\t8\t1\n", 16);
  snprintf(cmd, sizeof(cmd),
           "'%s' --home '%s/home' data import --replace '%s' 2>&1", bin, v.dir,
           v.data);
  assert_int_equal(run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "u.data:2: rating 8 is out of range 1..5"));
  /* ... into a home that did not exist: no empty database is left */
  char f[1024];
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s/fresh' data import '%s' 2>&1",
           bin, v.dir, v.data);
  assert_int_equal(run(cmd, out, sizeof(out)), 1);
  snprintf(f, sizeof(f), "%s/fresh/harvest.db", v.dir);
  assert_int_not_equal(access(f, F_OK), 0);
  snprintf(f, sizeof(f), "%s/fresh/harvest.db-wal", v.dir);
  assert_int_not_equal(access(f, F_OK), 0);
  /* ... nor the home folder it made (with its artifacts/), nor the new
   * parents of a nested home */
  snprintf(f, sizeof(f), "%s/fresh", v.dir);
  assert_int_not_equal(access(f, F_OK), 0);
  snprintf(cmd, sizeof(cmd),
           "'%s' --home '%s/new1/new2/home' data import '%s' 2>&1", bin,
           v.dir, v.data);
  assert_int_equal(run(cmd, out, sizeof(out)), 1);
  snprintf(f, sizeof(f), "%s/new1", v.dir);
  assert_int_not_equal(access(f, F_OK), 0);
  assert_int_equal(access(v.dir, F_OK), 0);
  /* a home that existed before a failed import stays, with what it had */
  snprintf(f, sizeof(f), "%s/kept", v.dir);
  assert_int_equal(mkdir(f, 0700), 0);
  snprintf(f, sizeof(f), "%s/kept/note.txt", v.dir);
  write_bytes(v.dir, "kept/note.txt", "mine\n", 5);
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s/kept' data import '%s' 2>&1",
           bin, v.dir, v.data);
  assert_int_equal(run(cmd, out, sizeof(out)), 1);
  assert_int_equal(access(f, F_OK), 0);
  snprintf(f, sizeof(f), "%s/kept/harvest.db", v.dir);
  assert_int_not_equal(access(f, F_OK), 0);
  snprintf(f, sizeof(f), "%s/kept/artifacts", v.dir);
  assert_int_not_equal(access(f, F_OK), 0);
  /* read commands on a home that does not exist say so, create nothing */
  static const char *const reads[] = {
      "data stats",
      "runs list",
      "runs show abcd",
      "artifacts list abcd",
      "runs history abcd loss",
      "models list",
      "models show m",
      "models register --name m --run abcd",
      "models transition m 1 --stage Staging",
      "models alias m champion 1",
      "models resolve models:/m/1",
      "models check",
      "recommend --model models:/m/1 --user 1",
      "evaluate --model models:/m/1",
      "monitor --window 100"};
  for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
    snprintf(cmd, sizeof(cmd), "'%s' --home '%s/none' %s 2>&1", bin, v.dir,
             reads[i]);
    if (run(cmd, out, sizeof(out)) != 1 ||
        !strstr(out, "no Harvest home at") || !strstr(out, "data fetch"))
      fail_msg("'%s' on a missing home: %s", reads[i], out);
    snprintf(f, sizeof(f), "%s/none", v.dir);
    assert_int_not_equal(access(f, F_OK), 0);
  }
  /* db init makes the empty home those commands then read */
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s/none' db init 2>&1", bin, v.dir);
  assert_int_equal(run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "Harvest home ready"));
  snprintf(f, sizeof(f), "%s/none/harvest.db", v.dir);
  assert_int_equal(access(f, F_OK), 0);
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s/none' models list --json 2>&1",
           bin, v.dir);
  assert_int_equal(run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "[]"));
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s/none' db init extra 2>&1", bin,
           v.dir);
  assert_int_equal(run(cmd, out, sizeof(out)), 2);
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s/home' data stats", bin, v.dir);
  assert_int_equal(run(cmd, out, sizeof(out)), 0);
  /* usage errors: exit 2 */
  static const char *const usage[] = {
      "data import",          "data import --format ml-10m /tmp",
      "data import a b",      "data import --bogus x",
      "data import --format",
  };
  for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
    snprintf(cmd, sizeof(cmd), "'%s' --home '%s/home' %s 2>&1", bin, v.dir,
             usage[i]);
    if (run(cmd, out, sizeof(out)) != 2)
      fail_msg("'%s' did not exit 2: %s", usage[i], out);
  }
  /* missing path: exit 1 */
  snprintf(cmd, sizeof(cmd),
           "'%s' --home '%s/home' data import /no/such/dataset 2>&1", bin,
           v.dir);
  assert_int_equal(run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "/no/such/dataset"));
  env_close(&v);
}

/* Issue 17, finding 11: control characters in titles and names (ESC, BEL,
 * CR, C1 CSI, U+202E) do not reach the database: separators become a
 * space, the rest is dropped (text_clean), in every reader. */
static void test_control_chars_cleaned(void **state)
{
  static const struct {
    const char *format, *file, *text, *sql, *want;
  } cases[] = {
      {"ml-100k", "u.item",
       "1|Esc\x1b[2J Bell\x07 (1995)|01-Jan-1995||http://x/1\x1b|0|0|1\n"
       "2|Csi\x9b" "31m Tab\tEnd (1995)|4-Feb-1971||http://x/2|0|1|1\n"
       "3|unknown||||1|0|0\n",
       "SELECT GROUP_CONCAT(title || '|' || imdb_url, '/') FROM movies "
       "WHERE id < 3",
       "Esc[2J Bell (1995)|http://x/1/Csi31m Tab End (1995)|http://x/2"},
      {"ml-100k", "u.genre", "unknown|0\nAct\x1bion|1\nComedy|2\n",
       "SELECT name FROM genres WHERE id=1", "Action"},
      {"ml-1m", "movies.dat",
       "1::Evil \xE2\x80\xAE(5991) yrotS::Comedy\n2::B\x07::Drama\n"
       "3::C::Drama\n",
       "SELECT GROUP_CONCAT(title, '/') FROM movies WHERE id < 3",
       "Evil (5991) yrotS/B"},
      {"ml-1m", "users.dat", "1::F::1::10::48\x1b" "067\n2::M::56::16::70072\n",
       "SELECT zip_code FROM users WHERE id=1", "48067"},
      {"ml-latest", "movies.csv",
       "movieId,title,genres\n1,\"Two\r\nLines\x1b]0;x\x07 (2000)\",Drama\n"
       "2,B \xE2\x81\xA6iso\xE2\x81\xA9,Comedy\n3,C,Drama\n4,D,Drama\n",
       "SELECT GROUP_CONCAT(title || '|' || IFNULL(release_year, '-'), '/') "
       "FROM movies WHERE id < 3",
       "Two Lines]0;x (2000)|2000/B iso|-"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct env v;
    struct hv_err e = {0};
    char p[1024], got[512];
    env_open(&v, cases[i].format);
    tu_write(v.data, cases[i].file, cases[i].text, p, sizeof(p));
    if (import_dataset(v.db, cases[i].format, v.data, 0, NULL, &e))
      fail_msg("case %zu: %s", i, e.msg);
    q_text(v.db, cases[i].sql, got, sizeof(got));
    if (strcmp(got, cases[i].want))
      fail_msg("case %zu: '%s'", i, got);
    env_close(&v);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ml100k_folder),
      cmocka_unit_test(test_ml1m_folder),
      cmocka_unit_test(test_mllatest_folder),
      cmocka_unit_test(test_control_chars_cleaned),
      cmocka_unit_test(test_guess_progress_refuse_replace),
      cmocka_unit_test(test_api_bad_arguments),
      cmocka_unit_test(test_bad_input_leaves_db_unchanged),
      cmocka_unit_test(test_overlong_line),
      cmocka_unit_test(test_zip_imports),
      cmocka_unit_test(test_source_api),
      cmocka_unit_test(test_damaged_zips),
      cmocka_unit_test(test_real_ml100k),
      cmocka_unit_test(test_cli_end_to_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

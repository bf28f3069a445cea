/*
 * test_catalog.c - store/catalog: users and movies listed, looked up and
 * picked at random, titles (cut on a character boundary), existence and id
 * lists, the column loads, genre and occupation names, the MovieLens rules;
 * unknown ids, bad arguments, callbacks that stop early or re-enter, and
 * hostile strings read back verbatim. On the generated :memory: catalogue
 * of store_fixture.h.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/catalog.h"
#include "store_fixture.h"

static int count_user(void *ctx, const struct catalog_user_row *u)
{
  int *n = ctx;
  struct hv_user want;
  sf_user((int)u->id, &want);
  assert_int_equal(u->raw_age, want.raw_age);
  assert_int_equal(u->occupation_label, want.occupation_label);
  if (want.gender)
    assert_string_equal(u->gender, want.gender);
  else
    assert_null(u->gender);
  if (want.occupation_text)
    assert_string_equal(u->occupation_text, want.occupation_text);
  else
    assert_null(u->occupation_text);
  (*n)++;
  return 0;
}

static int stop_at_two(void *ctx, const struct catalog_user_row *u)
{
  int *n = ctx;
  return ++(*n) == 2 ? 77 : 0;
}

static void test_users(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  int n = 0;
  assert_int_equal(catalog_users_each(db, count_user, &n, &e), 0);
  assert_int_equal(n, SF_USERS);
  n = 0;
  assert_int_equal(catalog_users_each(db, stop_at_two, &n, &e), 77);
  n = 0; /* the stopped query was released: iterating again works */
  assert_int_equal(catalog_users_each(db, count_user, &n, &e), 0);
  assert_int_equal(n, SF_USERS);
  static const struct {
    int64_t id;
    int rc, rows;
  } cases[] = {{1, 0, 1},  {3, 0, 1},          {5, 0, 1},
               {SF_USERS, 0, 1},               {0, HV_ENOTFOUND, 0},
               {-1, HV_ENOTFOUND, 0},          {SF_USERS + 1, HV_ENOTFOUND, 0},
               {INT64_MAX, HV_ENOTFOUND, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    n = 0;
    assert_int_equal(catalog_user_get(db, cases[i].id, count_user, &n, &e),
                     cases[i].rc);
    assert_int_equal(n, cases[i].rows);
    if (cases[i].rc)
      assert_non_null(strstr(e.msg, "unknown user"));
  }
  assert_int_equal(catalog_users_each(NULL, count_user, &n, &e), HV_EINVAL);
  assert_int_equal(catalog_users_each(db, NULL, &n, &e), HV_EINVAL);
  assert_int_equal(catalog_user_get(NULL, 1, count_user, &n, &e), HV_EINVAL);
}

/* A callback that runs the same listing again from inside (the cached
 * query is busy: the store must use a fresh one) and a lookup. */
static int reenter(void *ctx, const struct catalog_user_row *u)
{
  struct hv_db *db = ctx;
  struct hv_err e = {0};
  int n = 0;
  assert_int_equal(catalog_users_each(db, count_user, &n, &e), 0);
  assert_int_equal(n, SF_USERS);
  n = 0;
  assert_int_equal(catalog_user_get(db, u->id, count_user, &n, &e), 0);
  assert_int_equal(n, 1);
  return u->id == 3 ? 1 : 0;
}

static void test_reentrant_callbacks(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  assert_int_equal(catalog_users_each(db, reenter, db, &e), 1);
  int n = 0;
  assert_int_equal(catalog_users_each(db, count_user, &n, &e), 0);
  assert_int_equal(n, SF_USERS);
}

struct seen {
  int n;
  int ids[64];
};

static int collect_movie(void *ctx, const struct catalog_movie_row *m)
{
  struct seen *s = ctx;
  assert_true(m->id >= 1 && m->id <= SF_MOVIES);
  assert_string_equal(m->title, sf_titles[m->id - 1]);
  assert_int_equal(m->release_year, 1990 + m->id);
  static const char *const genres[] = {"", "Action", "Action|Comedy"};
  assert_string_equal(m->genres, genres[m->id % 3]);
  s->ids[s->n++] = (int)m->id;
  return 0;
}

static void test_movies_and_random(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  struct seen s = {0};
  assert_int_equal(catalog_movies_each(db, collect_movie, &s, &e), 0);
  assert_int_equal(s.n, SF_MOVIES);
  for (int i = 0; i < SF_MOVIES; i++)
    assert_int_equal(s.ids[i], i + 1);
  static const int64_t ns[][2] = {{0, 0},
                                  {1, 1},
                                  {5, 5},
                                  {SF_MOVIES, SF_MOVIES},
                                  {1000, SF_MOVIES}};
  for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
    memset(&s, 0, sizeof(s));
    assert_int_equal(catalog_movies_random(db, ns[k][0], collect_movie, &s,
                                           &e),
                     0);
    assert_int_equal(s.n, ns[k][1]);
    for (int i = 0; i < s.n; i++) /* distinct */
      for (int j = 0; j < i; j++)
        assert_int_not_equal(s.ids[i], s.ids[j]);
  }
  assert_int_equal(catalog_movies_random(db, -1, collect_movie, &s, &e),
                   HV_EINVAL);
  assert_int_equal(catalog_movies_each(NULL, collect_movie, &s, &e),
                   HV_EINVAL);
  assert_int_equal(catalog_movies_random(db, 1, NULL, &s, &e), HV_EINVAL);
}

static int count_title(void *ctx, int64_t id, const char *title)
{
  int *n = ctx;
  assert_string_equal(title, sf_titles[id - 1]);
  (*n)++;
  return 0;
}

static void test_titles(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  int n = 0;
  assert_int_equal(catalog_titles_each(db, count_title, &n, &e), 0);
  assert_int_equal(n, SF_MOVIES);
  static const struct {
    int64_t id;
    size_t cap;
    int rc;
    const char *want;
  } cases[] = {
      {1, 64, 0, "Toy Story (1995)"},
      {2, 64, 0, "Robert'); DROP TABLE movies;-- (1999)"},
      {1, 4, 0, "Toy"},
      {3, 5, 0, "Am\xc3\xa9"}, /* the two-byte character fits */
      {3, 4, 0, "Am"},         /* ... and is not cut in half */
      {3, 1, 0, ""},
      {0, 64, HV_ENOTFOUND, ""},
      {-7, 64, HV_ENOTFOUND, ""},
      {SF_MOVIES + 1, 64, HV_ENOTFOUND, ""},
      {INT64_MAX, 64, HV_ENOTFOUND, ""},
  };
  char buf[64];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(catalog_movie_title(db, cases[i].id, buf, cases[i].cap,
                                         &e),
                     cases[i].rc);
    assert_string_equal(buf, cases[i].want);
  }
  assert_int_equal(catalog_movie_title(db, 1, NULL, 8, &e), HV_EINVAL);
  assert_int_equal(catalog_movie_title(db, 1, buf, 0, &e), HV_EINVAL);
  assert_int_equal(catalog_movie_title(NULL, 1, buf, 8, &e), HV_EINVAL);
  assert_int_equal(catalog_titles_each(db, NULL, NULL, &e), HV_EINVAL);
}

static void test_exists_and_ids(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  static const struct {
    int movie;
    int64_t id;
    int want;
  } cases[] = {{0, 1, 1},         {0, SF_USERS, 1}, {0, SF_USERS + 1, 0},
               {0, 0, 0},         {0, -1, 0},       {1, 1, 1},
               {1, SF_MOVIES, 1}, {1, 10, 0},       {1, INT64_MIN, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int got = cases[i].movie ? catalog_movie_exists(db, cases[i].id, &e)
                             : catalog_user_exists(db, cases[i].id, &e);
    assert_int_equal(got, cases[i].want);
  }
  assert_int_equal(catalog_user_exists(NULL, 1, &e), HV_EINVAL);
  assert_int_equal(catalog_movie_exists(NULL, 1, &e), HV_EINVAL);
  static const struct {
    enum catalog_table t;
    size_t n;
    int64_t first;
  } tables[] = {{CATALOG_USERS, SF_USERS, 1},
                {CATALOG_MOVIES, SF_MOVIES, 1},
                {CATALOG_GENRES, 2, 0}};
  for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
    int64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(catalog_ids(db, tables[i].t, &ids, &n, &e), 0);
    assert_int_equal(n, tables[i].n);
    for (size_t k = 0; k < n; k++)
      assert_int_equal(ids[k], tables[i].first + (int64_t)k);
    free(ids);
  }
  int64_t *ids = (int64_t *)&e;
  size_t n = 5;
  assert_int_equal(catalog_ids(db, CATALOG_OCCUPATIONS, &ids, &n, &e),
                   HV_EINVAL);
  assert_null(ids);
  assert_int_equal(n, 0);
  assert_int_equal(catalog_ids(NULL, CATALOG_USERS, &ids, &n, &e), HV_EINVAL);
}

static void test_column_loads(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  struct catalog_users u;
  assert_int_equal(catalog_load_users(db, &u, &e), 0);
  assert_int_equal(u.n, SF_USERS);
  for (size_t i = 0; i < u.n; i++) {
    int id = (int)u.id[i];
    assert_int_equal(id, (int)i + 1);
    assert_int_equal(u.raw_age[i], id == 5 ? -1 : 20 + id);
    assert_int_equal(u.age_bucket[i], id == 5 ? -1 : 18);
    assert_int_equal(u.gender[i], id == 5      ? CATALOG_GENDER_UNKNOWN
                                  : id % 2     ? CATALOG_GENDER_M
                                               : CATALOG_GENDER_F);
    assert_int_equal(u.occupation[i], id == 5 ? -1 : id % 4);
  }
  catalog_users_free(&u);
  catalog_users_free(&u); /* zeroed: a no-op */
  catalog_users_free(NULL);
  struct catalog_movies m;
  assert_int_equal(catalog_load_movies(db, &m, &e), 0);
  assert_int_equal(m.n, SF_MOVIES);
  for (size_t i = 0; i < m.n; i++) {
    assert_int_equal(m.id[i], (int64_t)i + 1);
    assert_int_equal(m.year[i], 1990 + (int)i + 1);
    size_t ng = m.genre_off[i + 1] - m.genre_off[i];
    assert_int_equal(ng, (i + 1) % 3);
    for (size_t k = 0; k < ng; k++)
      assert_int_equal(m.genre_ids[m.genre_off[i] + k], (int)k);
  }
  catalog_movies_free(&m);
  catalog_movies_free(NULL);
  assert_int_equal(catalog_load_users(NULL, &u, &e), HV_EINVAL);
  assert_int_equal(u.n, 0);
  assert_int_equal(catalog_load_movies(NULL, &m, &e), HV_EINVAL);
  assert_int_equal(m.n, 0);
}

/* catalog_user_features: derived from the values, one bit per feature a
 * user has; a dataset without demographics (ml-latest) has none. */
static void test_user_features(void **state)
{
  struct hv_db *db = *state, *lat = NULL;
  struct hv_err e = {0};
  unsigned present = 99;
  assert_int_equal(catalog_user_features(db, &present, &e), 0);
  assert_int_equal(present, CATALOG_UF_ALL); /* user 5 lacks all: others not */
  struct catalog_users u;
  assert_int_equal(catalog_load_users(db, &u, &e), 0);
  assert_int_equal(u.present, CATALOG_UF_ALL);
  catalog_users_free(&u);
  /* bad input */
  assert_int_equal(catalog_user_features(NULL, &present, &e), HV_EINVAL);
  assert_int_equal(present, 0);
  assert_int_equal(catalog_user_features(db, NULL, &e), HV_EINVAL);
  /* users without demographics, as ml-latest's */
  char url[512];
  assert_int_equal(db_open(tu_db(":memory:", url, sizeof(url)), &lat, &e), 0);
  struct loader *ld = NULL;
  assert_int_equal(loader_begin(lat, 1, &ld, &e), 0);
  struct hv_movie mv = {.id = 1, .title = "Heat (1995)"};
  assert_int_equal(loader_movie(ld, &mv, &e), 0);
  for (int id = 1; id <= 3; id++) {
    struct hv_user us = {.id = id, .raw_age = -1, .bucketized_age = -1,
                         .occupation_label = -1};
    assert_int_equal(loader_user(ld, &us, &e), 0);
  }
  assert_int_equal(loader_commit(ld, "test", "no demographics", &e), 0);
  assert_int_equal(catalog_user_features(lat, &present, &e), 0);
  assert_int_equal(present, 0);
  assert_int_equal(catalog_load_users(lat, &u, &e), 0);
  assert_int_equal(u.present, 0);
  catalog_users_free(&u);
  /* one user with a gender: the dataset has gender, nothing else */
  struct hv_user one = {.raw_age = -1, .bucketized_age = -1, .gender = "F",
                        .occupation_label = -1};
  int64_t id = 0;
  assert_int_equal(catalog_user_add(lat, &one, &id, &e), 0);
  assert_int_equal(catalog_user_features(lat, &present, &e), 0);
  assert_int_equal(present, CATALOG_UF_GENDER);
  one.gender = NULL;
  one.raw_age = 30;
  assert_int_equal(catalog_user_add(lat, &one, &id, &e), 0);
  assert_int_equal(catalog_user_features(lat, &present, &e), 0);
  assert_int_equal(present, CATALOG_UF_GENDER | CATALOG_UF_AGE);
  db_close(lat);
}

static void test_names(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  struct catalog_names g, o;
  assert_int_equal(catalog_names(db, CATALOG_GENRES, &g, &e), 0);
  assert_int_equal(catalog_names(db, CATALOG_OCCUPATIONS, &o, &e), 0);
  const struct {
    const struct catalog_names *nm;
    int code;
    const char *want; /* NULL: absent */
  } cases[] = {{&g, 0, "Action"}, {&g, 1, "Comedy"},      {&g, 2, NULL},
               {&g, -1, NULL},    {&o, 0, "writer"},      {&o, 1, "writer"},
               {&o, 3, "' OR '1'='1"}, {&o, 4, NULL},     {NULL, 0, NULL}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *got = catalog_name_of(cases[i].nm, cases[i].code);
    if (cases[i].want)
      assert_string_equal(got, cases[i].want);
    else
      assert_null(got);
  }
  assert_int_equal(g.n, 2);
  assert_int_equal(o.n, 4); /* labels 0..3; user 5's is unknown */
  catalog_names_free(&g);
  catalog_names_free(&o);
  catalog_names_free(NULL);
  assert_int_equal(catalog_names(db, CATALOG_USERS, &o, &e), HV_EINVAL);
  assert_int_equal(catalog_names(db, (enum catalog_table)9, &o, &e),
                   HV_EINVAL);
  assert_int_equal(catalog_names(NULL, CATALOG_GENRES, &o, &e), HV_EINVAL);
  assert_int_equal(o.n, 0);
}

static void test_rules(void **state)
{
  static const int ages[][2] = {{-3, 1},  {1, 1},   {17, 1},  {18, 18},
                                {24, 18}, {25, 25}, {34, 25}, {35, 35},
                                {45, 45}, {49, 45}, {50, 50}, {55, 50},
                                {56, 56}, {90, 56}};
  for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++)
    assert_int_equal(catalog_age_bucket(ages[i][0]), ages[i][1]);
  static const struct {
    const char *g;
    int want;
  } genders[] = {{"M", CATALOG_GENDER_M},       {"m", CATALOG_GENDER_M},
                 {"F", CATALOG_GENDER_F},       {"female", CATALOG_GENDER_F},
                 {"", CATALOG_GENDER_UNKNOWN},  {"X", CATALOG_GENDER_UNKNOWN},
                 {NULL, CATALOG_GENDER_UNKNOWN}};
  for (size_t i = 0; i < sizeof(genders) / sizeof(genders[0]); i++)
    assert_int_equal(catalog_gender_code(genders[i].g), genders[i].want);
}

static int copy_user(void *ctx, const struct catalog_user_row *u)
{
  struct catalog_user_row *out = ctx;
  *out = *u;
  out->gender = out->occupation_text = out->zip_code = NULL; /* borrowed */
  return 0;
}

/* New end users (issue 16: POST /users/, harvest users add). */
static void test_user_add(void **state)
{
  struct hv_db *db = *state;
  struct hv_err e = {0};
  int64_t id = 0;
  struct hv_user none = {.raw_age = -1, .bucketized_age = -1,
                         .occupation_label = -1};
  assert_int_equal(catalog_user_add(db, &none, &id, &e), 0);
  assert_int_equal(id, SF_USERS + 1);
  assert_int_equal(catalog_user_exists(db, id, &e), 1);
  struct catalog_user_row row;
  assert_int_equal(catalog_user_get(db, id, copy_user, &row, &e), 0);
  assert_int_equal(row.raw_age, -1);
  assert_int_equal(row.occupation_label, -1);
  struct hv_user full = {.id = 500, .raw_age = 30, .gender = "F",
                         .occupation_text = "writer", .zip_code = "55455",
                         .bucketized_age = -1, .occupation_label = -1};
  assert_int_equal(catalog_user_add(db, &full, &id, &e), 0);
  assert_int_equal(id, 500);
  assert_int_equal(catalog_user_get(db, 500, copy_user, &row, &e), 0);
  assert_int_equal(row.raw_age, 30);
  assert_int_equal(row.bucketized_age, catalog_age_bucket(30));
  /* the fixture gives its writers labels u % 4: the smallest is taken */
  assert_int_equal(row.occupation_label, 0);
  /* the next id follows the largest */
  assert_int_equal(catalog_user_add(db, &none, &id, &e), 0);
  assert_int_equal(id, 501);
  static const struct {
    struct hv_user u;
    int code;
    const char *msg;
  } bad[] = {
      {{.id = 2, .raw_age = -1}, HV_ECONFLICT, "user 2 already exists"},
      {{.id = -3, .raw_age = -1}, HV_EINVAL, "negative"},
      {{.raw_age = 0}, HV_EINVAL, "age: 0 is not in 1..120"},
      {{.raw_age = 121}, HV_EINVAL, "age"},
      {{.raw_age = -1, .gender = "X"}, HV_EINVAL, "gender: expected M or F"},
      {{.raw_age = -1, .occupation_text = "astronaut"}, HV_EINVAL,
       "occupation 'astronaut' is not one of this dataset's"},
      {{.raw_age = -1, .occupation_text = ""}, HV_EINVAL, "occupation"},
      {{.raw_age = -1, .zip_code = "5 5"}, HV_EINVAL, "zip_code"},
      {{.raw_age = -1, .zip_code = ""}, HV_EINVAL, "zip_code"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    e = (struct hv_err){0};
    assert_int_equal(catalog_user_add(db, &bad[i].u, &id, &e), bad[i].code);
    if (!strstr(e.msg, bad[i].msg))
      fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].msg);
  }
  assert_int_equal(catalog_user_add(NULL, &none, &id, &e), HV_EINVAL);
  assert_int_equal(catalog_user_add(db, NULL, &id, &e), HV_EINVAL);
  assert_int_equal(catalog_user_exists(db, 502, &e), 0); /* nothing else */
}

/* `harvest users add` through the binary, on a synthetic home: the next
 * free id, every field, --json, a taken id and bad fields (exit 1 naming
 * the field), out-of-range numbers (exit 2), --help. */
/* harvest users show: each unknown field said so; on a dataset without
 * demographics (an ml-latest folder) that it is not in this dataset. */
static void test_users_show_cli(void **state)
{
  (void)state;
  char dir[256], cmd[1024], out[4096], path[512];
  tu_tmpdir(dir, sizeof(dir));
  tu_write(dir, "movies.csv",
           "movieId,title,genres\n1,Heat (1995),Action\n"
           "2,Fargo (1996),Drama\n", path, sizeof(path));
  tu_write(dir, "ratings.csv",
           "userId,movieId,rating,timestamp\n1,1,4.5,1000\n1,2,3.0,1001\n"
           "2,1,2.5,1002\n", path, sizeof(path));
  snprintf(cmd, sizeof(cmd), "%s --home %s/h data import --format ml-latest "
           "%s >/dev/null 2>&1", tu_bin(), dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "%s --home %s/h users show 1", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "user_id     1\n"
                           "age         unknown (not in this dataset)\n"
                           "gender      unknown (not in this dataset)\n"
                           "occupation  unknown (not in this dataset)\n"
                           "zip_code    unknown\n");
  snprintf(cmd, sizeof(cmd), "%s --home %s/h --json users show 2", tu_bin(),
           dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_true(json_is_null(json_object_get(j, "user_gender")));
  assert_int_equal(json_array_size(json_object_get(j, "unknown")), 4);
  assert_int_equal(json_array_size(json_object_get(j, "not_in_dataset")), 3);
  json_decref(j);
  /* a user with a gender: the dataset now has gender, not the rest */
  snprintf(cmd, sizeof(cmd), "%s --home %s/h users add --gender F --zip "
           "55455 >/dev/null && %s --home %s/h users show 3", tu_bin(), dir,
           tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "gender      F\n"));
  assert_non_null(strstr(out, "age         unknown (not in this dataset)\n"));
  assert_non_null(strstr(out, "zip_code    55455\n"));
  snprintf(cmd, sizeof(cmd), "%s --home %s/h users show 1", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "gender      unknown\n"));
  static const struct {
    const char *args, *msg;
    int rc;
  } bad[] = {
      {"", "expected one USER_ID", 2},
      {"1 2", "", 2},
      {"x", "USER_ID: 'x'", 1},
      {"-- -1", "USER_ID", 1},
      {"99", "unknown user 99", 1},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s/h users show %s 2>&1",
             tu_bin(), dir, bad[i].args);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), bad[i].rc);
    if (!strstr(out, bad[i].msg))
      fail_msg("'%s': '%s' lacks '%s'", bad[i].args, out, bad[i].msg);
  }
  tu_rmtree(dir);
}

static void test_users_add_cli(void **state)
{
  (void)state;
  char dir[256], cmd[1024], out[4096];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s/h data synth --users 50 --movies 60 --ratings "
           "500 >/dev/null 2>&1", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "%s --home %s/h users add", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "user 51 added\n");
  snprintf(cmd, sizeof(cmd),
           "%s --home %s/h --json users add --id 70 --age 30 --gender F "
           "--occupation writer --zip 55455", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "{\"user_id\": 70}\n");
  static const struct {
    const char *args, *msg;
    int rc;
  } bad[] = {
      {"--id 70", "user 70 already exists", 1},
      {"--gender X", "gender", 1},
      {"--occupation astronaut", "astronaut", 1},
      {"--zip '5 5'", "zip_code", 1},
      {"--age 0", "--age", 2},
      {"--age 121", "--age", 2},
      {"--id 0", "--id", 2},
      {"--id x", "--id", 2},
      {"extra", "extra", 2},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s/h users add %s 2>&1",
             tu_bin(), dir, bad[i].args);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), bad[i].rc);
    if (!strstr(out, bad[i].msg))
      fail_msg("'%s': '%s' lacks '%s'", bad[i].args, out, bad[i].msg);
  }
  /* nothing was added by the refused calls: the next id follows 70 */
  snprintf(cmd, sizeof(cmd), "%s --home %s/h users add", tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "user 71 added\n");
  snprintf(cmd, sizeof(cmd), "%s users add --help", tu_bin());
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "--occupation"));
  tu_rmtree(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_users, sf_setup, sf_teardown),
      cmocka_unit_test_setup_teardown(test_user_add, sf_setup, sf_teardown),
      cmocka_unit_test_setup_teardown(test_reentrant_callbacks, sf_setup,
                                      sf_teardown),
      cmocka_unit_test_setup_teardown(test_movies_and_random, sf_setup,
                                      sf_teardown),
      cmocka_unit_test_setup_teardown(test_titles, sf_setup, sf_teardown),
      cmocka_unit_test_setup_teardown(test_exists_and_ids, sf_setup,
                                      sf_teardown),
      cmocka_unit_test_setup_teardown(test_column_loads, sf_setup,
                                      sf_teardown),
      cmocka_unit_test_setup_teardown(test_names, sf_setup, sf_teardown),
      cmocka_unit_test_setup_teardown(test_user_features, sf_setup,
                                      sf_teardown),
      cmocka_unit_test(test_rules),
      cmocka_unit_test(test_users_add_cli),
      cmocka_unit_test(test_users_show_cli),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

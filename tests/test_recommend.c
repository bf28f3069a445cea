/*
 * test_recommend.c - recommend/recommend: the one recommend service of the
 * CLI, the server and the UI. Its answer equals model_recommend's (with and
 * without the memo), --exclude-rated skips exactly the movies the user has
 * rated in the database, and bad input fails with a message naming the
 * field: NULL arguments, an unknown user, a negative user, n out of range
 * or above the list's room, exclusions without a database, a failing
 * database; recommend_list_alloc's bounds. Retrieve-then-rank against a
 * naive re-ordering of retrieval's candidates.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_fixture.h"
#include "recommend/recommend.h"
#include "store/ratings.h"
#include "testutil.h"

#define NU 8  /* users 10, 20, ..., 80 */
#define NM 40 /* movies 1, 3, ..., 79 */

struct fx {
  struct hv_db *db;
  struct hv_model *m;
  struct recommend_list l;
};

/* The model's catalogue in db, and user 30's ratings of movies 1, 7, 9 and
 * 81 (a movie the model does not know). */
static void load_db(struct hv_db *db)
{
  struct loader *ld = NULL;
  struct hv_err e = {0};
  int g = 0;
  assert_int_equal(loader_begin(db, 0, &ld, &e), 0);
  assert_int_equal(loader_genre(ld, 0, "Drama", &e), 0);
  for (int64_t id = 1; id <= 2 * NM + 1; id += 2) {
    char title[32];
    snprintf(title, sizeof(title), "Movie %lld", (long long)id);
    struct hv_movie mv = {id, title, NULL, 1990, NULL, &g, 1};
    assert_int_equal(loader_movie(ld, &mv, &e), 0);
  }
  for (int64_t id = 10; id <= 10 * NU + 10; id += 10) {
    struct hv_user u = {id, 30, 25, "F", "other", 1, "00000"};
    assert_int_equal(loader_user(ld, &u, &e), 0);
  }
  static const int64_t rated[] = {1, 7, 9, 81};
  for (size_t i = 0; i < sizeof(rated) / sizeof(rated[0]); i++) {
    struct hv_rating r = {(int64_t)i + 1, 30, rated[i], 4.0,
                          1000000 + (int64_t)i};
    assert_int_equal(loader_rating(ld, &r, &e), 0);
  }
  assert_int_equal(loader_commit(ld, "fixture", "test_recommend", &e), 0);
}

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof(*f));
  struct hv_err e = {0};
  assert_non_null(f);
  assert_int_equal(db_open(":memory:", &f->db, &e), 0);
  load_db(f->db);
  f->m = fx_model(5, NU, NM, 1, 21);
  assert_int_equal(recommend_list_alloc(&f->l, f->m, 50, &e), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  recommend_list_free(&f->l);
  recommend_list_free(&f->l); /* twice: a freed list is zeroed */
  model_free(f->m);
  db_close(f->db);
  free(f);
  return 0;
}

/* model_recommend's answer for (user, n) without exclusions. */
static int reference(const struct hv_model *m, int64_t user, int n,
                     const int64_t *ex, size_t n_ex, int64_t *ids, float *sc)
{
  struct hv_err e = {0};
  float *scratch = malloc(model_scratch_size(m) * sizeof(float));
  int got = model_recommend(m, user, n, ex, n_ex, ids, sc, scratch, &e);
  free(scratch);
  return got;
}

static void test_same_as_model(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct hv_topcache *memo = model_topcache_new(f->m, 12);
  assert_non_null(memo);
  static const struct {
    int64_t user;
    int n;
    int memo;
  } cases[] = {{30, 10, 0}, {30, 10, 1}, {30, 10, 1}, /* miss, then hit */
               {10, 1, 1},  {80, 12, 1}, {80, 13, 1}, /* n beyond k */
               {20, 50, 0}, {20, 50, 1}};             /* all NM movies */
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t want[50];
    float want_sc[50];
    int k = reference(f->m, cases[i].user, cases[i].n, NULL, 0, want,
                      want_sc);
    struct recommend_query q = {.model = f->m,
                                .memo = cases[i].memo ? memo : NULL,
                                .user = cases[i].user,
                                .n = cases[i].n};
    f->l.k = -1;
    assert_int_equal(recommend_user(NULL, &q, &f->l, &e), 0);
    assert_int_equal(f->l.k, k);
    assert_int_equal(k, cases[i].n < NM ? cases[i].n : NM);
    for (int j = 0; j < k; j++) {
      assert_int_equal(f->l.movie_ids[j], want[j]);
      assert_true(f->l.scores[j] == want_sc[j]);
    }
  }
  assert_true(model_topcache_users(memo) >= 3);
  model_topcache_free(memo);
}

static void test_exclude_rated(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  /* user 30 rated 1, 7, 9 (and 81, unknown to the model) */
  static const int64_t ex[] = {1, 7, 9, 81};
  int64_t want[50];
  float want_sc[50];
  int k = reference(f->m, 30, 50, ex, 4, want, want_sc);
  assert_int_equal(k, NM - 3);
  struct recommend_query q = {.model = f->m, .user = 30, .n = 50,
                              .exclude_rated = 1};
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
  assert_int_equal(f->l.k, k);
  for (int j = 0; j < k; j++) {
    assert_int_equal(f->l.movie_ids[j], want[j]);
    assert_true(f->l.movie_ids[j] != 1 && f->l.movie_ids[j] != 7 &&
                f->l.movie_ids[j] != 9);
  }
  /* a user who rated nothing loses nothing, memo or not */
  struct hv_topcache *memo = model_topcache_new(f->m, 12);
  q = (struct recommend_query){.model = f->m, .memo = memo, .user = 40,
                               .n = 5, .exclude_rated = 1};
  k = reference(f->m, 40, 5, NULL, 0, want, want_sc);
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
  assert_int_equal(f->l.k, k);
  assert_memory_equal(f->l.movie_ids, want, (size_t)k * sizeof(int64_t));
  model_topcache_free(memo);
}

static void test_bad_input(void **state)
{
  struct fx *f = *state;
  struct recommend_list small = f->l, none = {0};
  small.cap = 5;
  static const struct {
    int64_t user;
    int n, excl, no_db, small, none;
    int rc;
    const char *msg;
  } cases[] = {
      {31, 5, 0, 0, 0, 0, HV_ENOTFOUND, "user 31 is not known to the model"},
      {31, 5, 1, 0, 0, 0, HV_ENOTFOUND, "user 31 is not known to the model"},
      {-1, 5, 0, 0, 0, 0, HV_EINVAL, "user: -1 is not a user id"},
      {30, 0, 0, 0, 0, 0, HV_EINVAL, "n: 0 is out of range 1..100000"},
      {30, -3, 0, 0, 0, 0, HV_EINVAL, "n: -3 is out of range 1..100000"},
      {30, 100001, 0, 0, 0, 0, HV_EINVAL, "n: 100001 is out of range"},
      {30, 6, 0, 0, 1, 0, HV_EINVAL, "n: 6 is more than the list holds (5)"},
      {30, 5, 1, 1, 0, 0, HV_EINVAL, "exclude_rated: needs the database"},
      {30, 5, 0, 0, 0, 1, HV_EINVAL, "recommend: need a query, a model"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct hv_err e = {0};
    struct recommend_query q = {.model = f->m, .user = cases[i].user,
                                .n = cases[i].n,
                                .exclude_rated = cases[i].excl};
    struct recommend_list *l = cases[i].none    ? &none
                               : cases[i].small ? &small
                                                : &f->l;
    l->k = 7;
    assert_int_equal(
        recommend_user(cases[i].no_db ? NULL : f->db, &q, l, &e),
        cases[i].rc);
    assert_int_equal(e.code, cases[i].rc);
    assert_non_null(strstr(e.msg, cases[i].msg));
    assert_int_equal(l->k, 0);
  }
  struct hv_err e = {0};
  struct recommend_query q = {.model = NULL, .user = 30, .n = 5};
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  assert_int_equal(recommend_user(f->db, NULL, &f->l, &e), HV_EINVAL);
  q.model = f->m;
  assert_int_equal(recommend_user(f->db, &q, NULL, &e), HV_EINVAL);
}

/* A ranking model over the fixture's ids (users 10..80, movies 1..79
 * odd), trained on a few ratings with structure. */
static struct hv_model *fx_ranker(void)
{
  enum { R = NU * 12 };
  static int64_t rid[R], uid[R], mid[R], ts[R];
  static float y[R];
  for (int i = 0; i < R; i++) {
    rid[i] = i + 1;
    uid[i] = 10 * (1 + i % NU);
    mid[i] = 1 + 2 * ((i * 7) % NM);
    y[i] = (float)(1 + (uid[i] / 10 + mid[i]) % 5);
    ts[i] = i;
  }
  struct hv_dataset ds;
  memset(&ds, 0, sizeof(ds));
  ds.ratings = (struct ratings_cols){R, rid, uid, mid, y, ts};
  ds.first_rating_id = 1;
  ds.last_rating_id = R;
  struct train_config c;
  train_config_ranking(&c);
  c.dim = 4;
  c.hidden = 4;
  c.epochs = 3;
  c.batch = 16;
  c.threads = 1;
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  assert_int_equal(train_run(&ds, &c, NULL, NULL, NULL, &m, &e), 0);
  return m;
}

/* Retrieve, then rank: the answer is retrieval's top K re-ordered by the
 * ranker's predictions (ties lower id first), computed here naively;
 * memo or not; K below n is n; bad rankers and K are refused. */
static void test_retrieve_then_rank(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct hv_model *rk = fx_ranker();
  struct hv_topcache *memo = model_topcache_new(f->m, 12);
  static const struct {
    int64_t user;
    int n, k, memo, excl;
  } cases[] = {{30, 5, 20, 0, 0}, {30, 5, 12, 1, 0}, {30, 5, 12, 1, 0},
               {40, 10, 0, 1, 0}, {50, 8, 3, 0, 0},  {30, 5, 20, 0, 1},
               {20, 40, 40, 1, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    static const int64_t ex[] = {1, 7, 9, 81};
    int K = cases[i].k ? cases[i].k : RECOMMEND_DEFAULT_CANDIDATES;
    K = K < cases[i].n ? cases[i].n : K;
    int64_t ids[100];
    float sc[100], pr[100];
    int got = reference(f->m, cases[i].user, K, cases[i].excl ? ex : NULL,
                        cases[i].excl ? 4 : 0, ids, sc);
    assert_int_equal(model_rank_predict(rk, cases[i].user, ids, (size_t)got,
                                        pr, &e), 0);
    /* naive: selection by (prediction desc, id asc) */
    int used[100] = {0}, want_n = got < cases[i].n ? got : cases[i].n;
    struct recommend_query q = {.model = f->m,
                                .memo = cases[i].memo ? memo : NULL,
                                .user = cases[i].user, .n = cases[i].n,
                                .ranker = rk, .candidates = cases[i].k,
                                .exclude_rated = cases[i].excl};
    assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
    assert_true(f->l.ranked);
    assert_int_equal(f->l.k, want_n);
    for (int j = 0; j < want_n; j++) {
      int b = -1;
      for (int c = 0; c < got; c++)
        if (!used[c] && (b < 0 || pr[c] > pr[b] ||
                         (pr[c] == pr[b] && ids[c] < ids[b])))
          b = c;
      used[b] = 1;
      assert_int_equal(f->l.movie_ids[j], ids[b]);
      assert_true(f->l.scores[j] == pr[b]);
      assert_true(f->l.retrieval_scores[j] == sc[b]);
    }
  }
  /* without a ranker: retrieval's order, its scores in both columns */
  struct recommend_query q = {.model = f->m, .user = 30, .n = 5};
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
  assert_false(f->l.ranked);
  assert_true(f->l.retrieval_scores[0] == f->l.scores[0]);
  /* bad: the ranker is a retrieval model; the model a ranker; K out of
   * range; no candidate buffer */
  q = (struct recommend_query){.model = f->m, .user = 30, .n = 5,
                               .ranker = f->m};
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "not a ranking model"));
  q.model = rk;
  q.ranker = rk;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "cannot retrieve"));
  q.model = f->m;
  q.candidates = RECOMMEND_MAX_CANDIDATES + 1;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "candidates"));
  q.candidates = -1;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  struct recommend_list nocand = f->l;
  nocand.cands = NULL;
  q.candidates = 10;
  assert_int_equal(recommend_user(f->db, &q, &nocand, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "more than the list holds"));
  /* an unknown user is retrieval's answer, unchanged */
  q.user = 31;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_ENOTFOUND);
  model_topcache_free(memo);
  model_free(rk);
}

/* A database that fails (its ratings table dropped behind the store's
 * back) fails the call with the store's error. */
static void test_db_failure(void **state)
{
  struct fx *f = *state;
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char dir[512], path[600];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/h.db", dir);
  assert_int_equal(db_open(path, &db, &e), 0);
  load_db(db);
  sqlite3 *h = NULL;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "DROP TABLE ratings", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(h);
  struct recommend_query q = {.model = f->m, .user = 30, .n = 5,
                              .exclude_rated = 1};
  f->l.k = 7;
  assert_int_equal(recommend_user(db, &q, &f->l, &e), HV_EDB);
  assert_int_equal(e.code, HV_EDB);
  assert_int_equal(f->l.k, 0);
  db_close(db);
  tu_rmtree(dir);
}

static void test_list_alloc(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct recommend_list l;
  static const struct {
    int n, rc;
  } cases[] = {{1, 0}, {RECOMMEND_MAX_N, 0}, {0, HV_EINVAL},
               {-1, HV_EINVAL}, {RECOMMEND_MAX_N + 1, HV_EINVAL}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    memset(&l, 0xff, sizeof(l));
    assert_int_equal(recommend_list_alloc(&l, f->m, cases[i].n, &e),
                     cases[i].rc);
    assert_int_equal(l.cap, cases[i].rc ? 0 : cases[i].n);
    assert_int_equal(l.k, 0);
    if (cases[i].rc)
      assert_non_null(strstr(e.msg, "n: "));
    recommend_list_free(&l);
  }
  assert_int_equal(recommend_list_alloc(&l, NULL, 5, &e), HV_EINVAL);
  assert_int_equal(recommend_list_alloc(NULL, f->m, 5, &e), HV_EINVAL);
  recommend_list_free(NULL);
}

/* `harvest recommend` through the binary on a home holding the fixture:
 * a header line, the user's rated movies skipped by default (as the UI
 * does), --include-rated the model's raw answer, the flags' clash
 * refused (issue 16). */
static void test_cli(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  char dir[256], path[512], cmd[2048];
  static char out[65536];
  if (access(tu_bin(), X_OK) != 0)
    skip();
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/harvest.db", dir);
  struct hv_db *db = NULL;
  assert_int_equal(db_open(path, &db, &e), 0);
  load_db(db);
  db_close(db);
  snprintf(path, sizeof(path), "%s/m.hvm", dir);
  assert_int_equal(model_save(f->m, path, &e), 0);
  int64_t raw[50], ex_ids[50];
  float sc[50];
  static const int64_t ex[] = {1, 7, 9, 81};
  int k_raw = reference(f->m, 30, 50, NULL, 0, raw, sc);
  int k_ex = reference(f->m, 30, 50, ex, 4, ex_ids, sc);
  static const struct {
    const char *flags;
    int excl;
  } ways[] = {{"", 1}, {"--exclude-rated", 1}, {"--include-rated", 0}};
  for (size_t w = 0; w < 3; w++) {
    snprintf(cmd, sizeof(cmd),
             "%s --home %s --json recommend --model %s --user 30 -n 50 %s",
             tu_bin(), dir, path, ways[w].flags);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_true(json_is_boolean(json_object_get(j, "exclude_rated")));
    assert_int_equal(json_is_true(json_object_get(j, "exclude_rated")),
                     ways[w].excl);
    json_t *recs = json_object_get(j, "recommendations");
    const int64_t *want = ways[w].excl ? ex_ids : raw;
    int k = ways[w].excl ? k_ex : k_raw;
    assert_int_equal(json_array_size(recs), (size_t)k);
    for (int i = 0; i < k; i++)
      assert_int_equal(json_integer_value(json_object_get(
                           json_array_get(recs, (size_t)i), "movie_id")),
                       want[i]);
    json_decref(j);
  }
  assert_int_equal(k_ex, NM - 3);
  snprintf(cmd, sizeof(cmd),
           "%s --home %s recommend --model %s --user 30 -n 3", tu_bin(), dir,
           path);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_true(!strncmp(out, "rank  movie_id      score  title\n", 33));
  char line[64];
  snprintf(line, sizeof(line), "\n   1  %8lld  ", (long long)ex_ids[0]);
  assert_non_null(strstr(out, line));
  static const char *const bad[] = {
      "--include-rated --exclude-rated", "--include-rated=1", "-n 0"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd),
             "%s --home %s recommend --model %s --user 30 %s 2>&1",
             tu_bin(), dir, path, bad[i]);
    if (tu_run(cmd, out, sizeof(out)) != 2)
      fail_msg("'%s' should exit 2: %s", bad[i], out);
  }
  snprintf(cmd, sizeof(cmd), "%s recommend --help", tu_bin());
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "--include-rated"));
  tu_rmtree(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_as_model),
      cmocka_unit_test(test_exclude_rated),
      cmocka_unit_test(test_retrieve_then_rank),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_db_failure),
      cmocka_unit_test(test_list_alloc),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_recommend.c - recommend/recommend: the one recommend service of the
 * CLI, the server and the UI. Its answer equals model_recommend's (with and
 * without the memo), --exclude-rated skips exactly the movies the user has
 * rated in the database, and bad input fails with a message naming the
 * field: NULL arguments, an unknown user, a negative user, n out of range
 * or above the list's room, exclusions without a database, a failing
 * database; recommend_list_alloc's bounds. Retrieve-then-rank against a
 * naive re-ordering of retrieval's candidates; the ranking stage alone
 * (recommend_rank) as recommend_user.
 */
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_fixture.h"
#include "recommend/compare.h"
#include "recommend/recommend.h"
#include "util/rng.h"
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
 * ranker's predictions, or by the blend retrieval + w x prediction (ties
 * lower id first), computed here naively; memo or not; K below n is n;
 * exclusions from the database or the caller; bad rankers, orders, blends
 * and K are refused. */
static void test_retrieve_then_rank(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct hv_model *rk = fx_ranker();
  struct hv_topcache *memo = model_topcache_new(f->m, 12);
  static const struct {
    int64_t user;
    int n, k, memo, excl, order;
    double blend; /* with order blend: 0 = the default */
  } cases[] = {{30, 5, 20, 0, 0, 1, 0}, {30, 5, 12, 1, 0, 1, 0},
               {30, 5, 12, 1, 0, 1, 0}, {40, 10, 0, 1, 0, 1, 0},
               {50, 8, 3, 0, 0, 1, 0},  {30, 5, 20, 0, 1, 1, 0},
               {20, 40, 40, 1, 0, 1, 0}, {30, 5, 20, 0, 0, 0, 0},
               {40, 10, 0, 1, 0, 0, 2.5}, {20, 40, 40, 1, 0, 0, 0.01},
               {30, 5, 20, 0, 2, 0, 0},  {30, 5, 20, 1, 2, 1, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    static const int64_t ex[] = {1, 7, 9, 81};
    const float w = cases[i].blend > 0.0 ? (float)cases[i].blend
                                          : (float)RECOMMEND_DEFAULT_BLEND;
    int K = cases[i].k ? cases[i].k : RECOMMEND_DEFAULT_CANDIDATES;
    K = K < cases[i].n ? cases[i].n : K;
    int64_t ids[100];
    float sc[100], pr[100];
    int got = reference(f->m, cases[i].user, K, cases[i].excl ? ex : NULL,
                        cases[i].excl ? 4 : 0, ids, sc);
    assert_int_equal(model_rank_predict(rk, cases[i].user, ids, (size_t)got,
                                        pr, &e), 0);
    /* naive: selection by (key desc, id asc) */
    float key[100];
    for (int c = 0; c < got; c++)
      key[c] = cases[i].order == RECOMMEND_ORDER_RANK ? pr[c]
                                                      : sc[c] + w * pr[c];
    int used[100] = {0}, want_n = got < cases[i].n ? got : cases[i].n;
    /* excl 1: the database's rated movies; 2: the same list given */
    struct recommend_query q = {.model = f->m,
                                .memo = cases[i].memo ? memo : NULL,
                                .user = cases[i].user, .n = cases[i].n,
                                .ranker = rk, .candidates = cases[i].k,
                                .exclude_rated = cases[i].excl == 1,
                                .exclude_sorted = cases[i].excl == 2 ? ex
                                                                     : NULL,
                                .n_exclude = cases[i].excl == 2 ? 4 : 0,
                                .order = cases[i].order,
                                .blend = cases[i].blend};
    assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
    assert_true(f->l.ranked);
    assert_int_equal(f->l.k, want_n);
    for (int j = 0; j < want_n; j++) {
      int b = -1;
      for (int c = 0; c < got; c++)
        if (!used[c] && (b < 0 || key[c] > key[b] ||
                         (key[c] == key[b] && ids[c] < ids[b])))
          b = c;
      used[b] = 1;
      assert_int_equal(f->l.movie_ids[j], ids[b]);
      assert_true(fabsf(f->l.scores[j] - key[b]) < 1e-5f);
      assert_true(f->l.retrieval_scores[j] == sc[b]);
      assert_true(f->l.predicted[j] == pr[b]);
    }
  }
  /* without a ranker: retrieval's order, its scores in both columns */
  struct recommend_query q = {.model = f->m, .user = 30, .n = 5};
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
  assert_false(f->l.ranked);
  assert_true(f->l.retrieval_scores[0] == f->l.scores[0]);
  /* the caller's exclusions, retrieval only */
  {
    static const int64_t ex[] = {1, 7, 9, 81};
    int64_t want[5];
    float want_sc[5];
    int k = reference(f->m, 30, 5, ex, 4, want, want_sc);
    q.exclude_sorted = ex;
    q.n_exclude = 4;
    assert_int_equal(recommend_user(NULL, &q, &f->l, &e), 0);
    assert_int_equal(f->l.k, k);
    for (int j = 0; j < k; j++)
      assert_int_equal(f->l.movie_ids[j], want[j]);
  }
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
  q.candidates = 0;
  static const double bad_blend[] = {-0.1, NAN, INFINITY,
                                     RECOMMEND_MAX_BLEND * 2};
  for (size_t i = 0; i < sizeof(bad_blend) / sizeof(bad_blend[0]); i++) {
    q.blend = bad_blend[i];
    assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
    assert_non_null(strstr(e.msg, "blend"));
  }
  q.blend = 0.0;
  q.order = 2;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "order: 2 is not blend or rank"));
  q.order = -1;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  q.order = RECOMMEND_ORDER_BLEND;
  /* an exclusion list: NULL with a count, or with exclude_rated too */
  q.n_exclude = 3;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "exclude_sorted"));
  static const int64_t one[] = {1};
  q.exclude_sorted = one;
  q.n_exclude = 1;
  q.exclude_rated = 1;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "not both"));
  q.exclude_rated = 0;
  q.exclude_sorted = NULL;
  q.n_exclude = 0;
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

/* recommend_rank, the ranking stage alone on candidates the caller
 * retrieved (model_recommend's), answers exactly as recommend_user; bad
 * arguments are refused by name. */
static void test_rank_stage(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct hv_model *rk = fx_ranker();
  struct recommend_list l2;
  assert_int_equal(recommend_list_alloc(&l2, f->m, 50, &e), 0);
  static const struct {
    int64_t user;
    int n, k, order;
    double blend;
  } cases[] = {{30, 5, 20, 0, 0}, {40, 10, 0, 1, 0}, {50, 8, 3, 0, 2.5},
               {20, 40, 40, 0, 0.01}, {60, 1, 1, 1, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct recommend_query q = {.model = f->m, .user = cases[i].user,
                                .n = cases[i].n, .ranker = rk,
                                .candidates = cases[i].k,
                                .order = cases[i].order,
                                .blend = cases[i].blend};
    int64_t ids[100];
    float sc[100];
    int got = reference(f->m, q.user, recommend_candidates(&q), NULL, 0,
                        ids, sc);
    assert_int_equal(recommend_user(NULL, &q, &f->l, &e), 0);
    assert_int_equal(recommend_rank(&q, ids, sc, got, &l2, &e), 0);
    assert_true(l2.ranked);
    assert_int_equal(l2.k, f->l.k);
    for (int j = 0; j < l2.k; j++) {
      assert_int_equal(l2.movie_ids[j], f->l.movie_ids[j]);
      assert_true(l2.scores[j] == f->l.scores[j]);
      assert_true(l2.retrieval_scores[j] == f->l.retrieval_scores[j]);
      assert_true(l2.predicted[j] == f->l.predicted[j]);
    }
  }
  /* none retrieved: an empty answer */
  struct recommend_query q = {.model = f->m, .user = 30, .n = 5,
                              .ranker = rk, .candidates = 10};
  assert_int_equal(recommend_rank(&q, NULL, NULL, 0, &l2, &e), 0);
  assert_int_equal(l2.k, 0);
  /* bad: more than K, negative, NULL candidates, no ranker, exclusions */
  int64_t ids[11] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21};
  float sc[11] = {0};
  assert_int_equal(recommend_rank(&q, ids, sc, 11, &l2, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "candidates: 11 given, 0..10"));
  assert_int_equal(recommend_rank(&q, ids, sc, -1, &l2, &e), HV_EINVAL);
  assert_int_equal(recommend_rank(&q, NULL, sc, 3, &l2, &e), HV_EINVAL);
  q.ranker = NULL;
  assert_int_equal(recommend_rank(&q, ids, sc, 3, &l2, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "needs a ranker"));
  q.ranker = rk;
  q.exclude_sorted = ids;
  q.n_exclude = 1;
  assert_int_equal(recommend_rank(&q, ids, sc, 3, &l2, &e), HV_EINVAL);
  assert_int_equal(recommend_rank(NULL, ids, sc, 3, &l2, &e), HV_EINVAL);
  recommend_list_free(&l2);
  model_free(rk);
}

/* The memo of ranked answers: the same answers (ids, all three scores)
 * as without it, hit or miss; used only for its own model, ranker, order,
 * blend and K, n within its depth and no exclusions (the users it fills
 * say so); bad arguments refused. */
static void test_ranked_memo(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct hv_model *rk = fx_ranker();
  struct hv_topcache *top = model_topcache_new(f->m, 40);
  struct recommend_memo *memo =
      recommend_memo_new(f->m, rk, RECOMMEND_ORDER_BLEND, 0.0, 30, 8);
  assert_non_null(memo);
  struct recommend_list plain;
  assert_int_equal(recommend_list_alloc(&plain, f->m, 50, &e), 0);
  static const struct {
    int64_t user;
    int n, k, order, excl, fills;
    double blend;
  } cases[] = {
      {30, 5, 30, 0, 0, 1, 0.0},  /* miss: fills */
      {30, 5, 30, 0, 0, 0, 0.0},  /* hit */
      {30, 8, 30, 0, 0, 0, 0.3},  /* hit at the depth; 0.3 is the default */
      {30, 9, 30, 0, 0, 0, 0.0},  /* beyond the depth */
      {30, 3, 30, 0, 1, 0, 0.0},  /* exclusions */
      {30, 3, 30, 1, 0, 0, 0.0},  /* another order */
      {30, 3, 30, 0, 0, 0, 0.5},  /* another blend */
      {30, 3, 20, 0, 0, 0, 0.0},  /* another K */
      {40, 1, 30, 0, 0, 1, 0.0},  {40, 8, 30, 0, 0, 0, 0.0},
      {80, 8, 30, 0, 0, 1, 0.0},  {80, 2, 30, 0, 0, 0, 0.0},
  };
  size_t users = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct recommend_query q = {.model = f->m, .memo = top,
                                .user = cases[i].user, .n = cases[i].n,
                                .ranker = rk, .candidates = cases[i].k,
                                .order = cases[i].order,
                                .blend = cases[i].blend,
                                .exclude_rated = cases[i].excl};
    assert_int_equal(recommend_user(f->db, &q, &plain, &e), 0);
    q.ranked_memo = memo;
    f->l.k = -1;
    assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
    users += (size_t)cases[i].fills;
    assert_int_equal(recommend_memo_users(memo), users);
    assert_int_equal(f->l.k, plain.k);
    assert_true(f->l.ranked);
    for (int j = 0; j < plain.k; j++) {
      assert_int_equal(f->l.movie_ids[j], plain.movie_ids[j]);
      assert_true(f->l.scores[j] == plain.scores[j]);
      assert_true(f->l.retrieval_scores[j] == plain.retrieval_scores[j]);
      assert_true(f->l.predicted[j] == plain.predicted[j]);
    }
  }
  /* another ranker or retrieval model: not this memo's */
  struct hv_model *rk2 = fx_ranker();
  struct recommend_query q = {.model = f->m, .user = 20, .n = 3,
                              .ranker = rk2, .candidates = 30,
                              .ranked_memo = memo};
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
  assert_int_equal(recommend_memo_users(memo), users);
  /* an unknown user: no memo, the error as before */
  q.ranker = rk;
  q.user = 31;
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), HV_ENOTFOUND);
  /* bad arguments */
  assert_null(recommend_memo_new(NULL, rk, 0, 0.0, 30, 8));
  assert_null(recommend_memo_new(f->m, NULL, 0, 0.0, 30, 8));
  assert_null(recommend_memo_new(f->m, rk, 0, 0.0, 30, 0));
  assert_null(recommend_memo_new(f->m, rk, 0, 0.0, 30,
                                 RECOMMEND_MEMO_MAX_DEPTH + 1));
  assert_null(recommend_memo_new(f->m, rk, 2, 0.0, 30, 8));
  assert_null(recommend_memo_new(f->m, rk, 0, -1.0, 30, 8));
  assert_null(recommend_memo_new(f->m, rk, 0, NAN, 30, 8));
  assert_null(recommend_memo_new(f->m, rk, 0, 0.0, -1, 8));
  assert_null(recommend_memo_new(f->m, rk, 0, 0.0,
                                 RECOMMEND_MAX_CANDIDATES + 1, 8));
  recommend_memo_free(NULL);
  assert_int_equal(recommend_memo_users(NULL), 0);
  recommend_memo_free(memo);
  recommend_list_free(&plain);
  model_topcache_free(top);
  model_free(rk2);
  model_free(rk);
}

/* Naive cosine of two movies' tower outputs. */
static double naive_cos(const struct hv_model *m, int64_t a, int64_t b)
{
  const int d = m->L.dim;
  const float *x = m->movie_vec +
                   model_lookup(m->movie_ids, m->n_movies, a) * (size_t)d;
  const float *y = m->movie_vec +
                   model_lookup(m->movie_ids, m->n_movies, b) * (size_t)d;
  double xy = 0, xx = 0, yy = 0;
  for (int i = 0; i < d; i++) {
    xy += (double)x[i] * y[i];
    xx += (double)x[i] * x[i];
    yy += (double)y[i] * y[i];
  }
  return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0.0;
}

/* Explanations: the named neighbours are movies the user rated (with the
 * user's ratings) and the nearest of them to the listed movie (against a
 * naive cosine over all the user's rated movies); the list is unchanged;
 * with a ranker the contributions are model_rank_explain's; bad input. */
static void test_explain(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  struct hv_model *rk = fx_ranker();
  static const int64_t rated[] = {1, 7, 9, 81}; /* load_db's, rated 4 */
  for (int ranked = 0; ranked < 2; ranked++) {
    struct recommend_query q = {.model = f->m, .user = 30, .n = 10,
                                .ranker = ranked ? rk : NULL};
    assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
    int64_t before[10];
    float before_sc[10];
    memcpy(before, f->l.movie_ids, sizeof(before));
    memcpy(before_sc, f->l.scores, sizeof(before_sc));
    struct recommend_why why[10];
    assert_int_equal(recommend_explain(f->db, &q, &f->l, why, &e), 0);
    assert_memory_equal(f->l.movie_ids, before, sizeof(before));
    assert_memory_equal(f->l.scores, before_sc, sizeof(before_sc));
    for (int i = 0; i < f->l.k; i++) {
      const struct recommend_why *w = &why[i];
      assert_int_equal(w->movie_id, before[i]);
      assert_true(w->score == before_sc[i]);
      assert_true(w->retrieval == f->l.retrieval_scores[i]);
      /* naive: every rated movie the model knows, but the movie itself,
       * by cosine desc then id asc */
      int64_t want[4];
      double want_sim[4];
      int nw = 0;
      for (int r = 0; r < 4; r++)
        if (model_knows_movie(f->m, rated[r]) && rated[r] != w->movie_id) {
          double sim = naive_cos(f->m, w->movie_id, rated[r]);
          int j = nw++;
          while (j > 0 && (want_sim[j - 1] < sim ||
                           (want_sim[j - 1] == sim && want[j - 1] > rated[r]))) {
            want[j] = want[j - 1];
            want_sim[j] = want_sim[j - 1];
            j--;
          }
          want[j] = rated[r];
          want_sim[j] = sim;
        }
      int k = nw < RECOMMEND_EXPLAIN_NEIGHBOURS ? nw
                                                : RECOMMEND_EXPLAIN_NEIGHBOURS;
      assert_int_equal(w->n_neighbours, k);
      for (int j = 0; j < k; j++) {
        assert_int_equal(w->neighbour_id[j], want[j]);
        assert_true(fabs(w->neighbour_sim[j] - want_sim[j]) < 1e-5);
        assert_true(w->neighbour_rating[j] == 4.0f);
      }
      assert_int_equal(w->ranked, ranked);
      if (ranked) {
        float pred, contrib[RANK_NGROUPS];
        assert_int_equal(model_rank_explain(rk, 30, w->movie_id, &pred,
                                            contrib, &e), 0);
        assert_true(fabsf(w->predicted - f->l.predicted[i]) < 1e-4f);
        assert_memory_equal(w->contrib, contrib, sizeof(contrib));
      }
    }
  }
  /* a user without ratings: no neighbours, no error */
  struct recommend_query q = {.model = f->m, .user = 20, .n = 3};
  struct recommend_why why[3];
  assert_int_equal(recommend_user(f->db, &q, &f->l, &e), 0);
  assert_int_equal(recommend_explain(f->db, &q, &f->l, why, &e), 0);
  assert_int_equal(why[0].n_neighbours, 0);
  /* bad input */
  assert_int_equal(recommend_explain(NULL, &q, &f->l, why, &e), HV_EINVAL);
  assert_int_equal(recommend_explain(f->db, NULL, &f->l, why, &e), HV_EINVAL);
  assert_int_equal(recommend_explain(f->db, &q, NULL, why, &e), HV_EINVAL);
  assert_int_equal(recommend_explain(f->db, &q, &f->l, NULL, &e), HV_EINVAL);
  /* model_movie_neighbours: bounds and bad arguments */
  int64_t ids[2];
  float sims[2];
  assert_int_equal(model_movie_neighbours(f->m, 3, rated, 4, 0, ids, sims), 0);
  assert_int_equal(model_movie_neighbours(f->m, 3, rated, 4, 2, ids, sims), 2);
  assert_int_equal(model_movie_neighbours(f->m, 3, NULL, 0, 2, ids, sims), 0);
  assert_int_equal(model_movie_neighbours(NULL, 3, rated, 4, 2, ids, sims),
                   HV_EINVAL);
  assert_int_equal(model_movie_neighbours(f->m, 3, rated, 4, -1, ids, sims),
                   HV_EINVAL);
  assert_int_equal(model_movie_neighbours(f->m, 3, rated, 4, 2, NULL, sims),
                   HV_EINVAL);
  assert_int_equal(model_movie_neighbours(f->m, 3, NULL, 4, 2, ids, sims),
                   HV_EINVAL);
  model_free(rk);
}

/* ---- compare_pipelines ---------------------------------------------------- */

enum { CU = NU, CJ = 12, CR = CU * CJ };
static int64_t c_rid[CR], c_uid[CR], c_mid[CR], c_ts[CR];
static float c_y[CR];

/* Users 10..80 each rate 12 distinct movies of 1..79 (odd), ratings
 * 1..5 with structure; no features. */
static void compare_data(struct hv_dataset *ds)
{
  for (int u = 0; u < CU; u++)
    for (int j = 0; j < CJ; j++) {
      int i = u * CJ + j;
      c_rid[i] = i + 1;
      c_uid[i] = 10 * (u + 1);
      c_mid[i] = 1 + 2 * ((u * 5 + j * 3) % NM);
      c_y[i] = (float)(1 + (u + c_mid[i]) % 5);
      c_ts[i] = i;
    }
  memset(ds, 0, sizeof(*ds));
  ds->ratings = (struct ratings_cols){CR, c_rid, c_uid, c_mid, c_y, c_ts};
  ds->first_rating_id = 1;
  ds->last_rating_id = CR;
}

static struct hv_model *compare_train(const struct hv_dataset *ds, int task,
                                      uint64_t seed, double split)
{
  struct train_config c;
  if (task == MODEL_TASK_RANKING)
    train_config_ranking(&c);
  else
    train_config_defaults(&c);
  c.dim = 4;
  c.hidden = task == MODEL_TASK_RANKING ? 4 : 0;
  c.epochs = 3;
  c.batch = 16;
  c.threads = 1;
  c.features = 0;
  c.seed = seed;
  c.split = split;
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  assert_int_equal(train_run(ds, &c, NULL, NULL, NULL, &m, &e), 0);
  return m;
}

/* The naive top 10 of one pipeline (0 retrieval, 1 rank, 2 blend) for
 * user u without seen[0..n_seen): model_recommend's top K, re-ordered by
 * selection. */
static int naive_list(const struct hv_model *ret, const struct hv_model *rk,
                      int p, int64_t u, const int64_t *seen, size_t n_seen,
                      int64_t *out)
{
  int64_t ids[RECOMMEND_DEFAULT_CANDIDATES];
  float sc[RECOMMEND_DEFAULT_CANDIDATES], pr[RECOMMEND_DEFAULT_CANDIDATES];
  struct hv_err e = {0};
  int got = reference(ret, u, p ? RECOMMEND_DEFAULT_CANDIDATES : 10, seen,
                      n_seen, ids, sc);
  if (p == 0) {
    memcpy(out, ids, (size_t)got * sizeof(int64_t));
    return got;
  }
  assert_int_equal(model_rank_predict(rk, u, ids, (size_t)got, pr, &e), 0);
  for (int c = 0; c < got; c++)
    sc[c] = p == 1 ? pr[c] : sc[c] + (float)RECOMMEND_DEFAULT_BLEND * pr[c];
  int used[RECOMMEND_DEFAULT_CANDIDATES] = {0}, k = got < 10 ? got : 10;
  for (int j = 0; j < k; j++) {
    int b = -1;
    for (int c = 0; c < got; c++)
      if (!used[c] && (b < 0 || sc[c] > sc[b] ||
                       (sc[c] == sc[b] && ids[c] < ids[b])))
        b = c;
    used[b] = 1;
    out[j] = ids[b];
  }
  return k;
}

/* The naive popularity decile of movie id in ret: its train-split count
 * ranked among ret's movies by a scan (ties: the smaller id first). */
static int naive_movie_decile(const struct hv_dataset *ds, const int *test,
                              const struct hv_model *ret, int64_t id)
{
  size_t nm = model_n_movies(ret), rank = 0, found = 0;
  double cnt_id = 0;
  for (size_t i = 0; i < CR; i++)
    cnt_id += !test[i] && ds->ratings.movie_id[i] == id;
  for (size_t j = 0; j < nm; j++) {
    int64_t o = model_movie_id(ret, j);
    double c = 0;
    for (size_t i = 0; i < CR; i++)
      c += !test[i] && ds->ratings.movie_id[i] == o;
    rank += c < cnt_id || (c == cnt_id && o < id);
    found += o == id;
  }
  return found ? (int)(rank * 10 / nm) : -1;
}

/* The naive comparison: per user, the split rebuilt by hand, nDCG by the
 * textbook formula; the three pipelines' nDCG, hits, hit sum and list
 * entries per popularity decile. */
static void naive_compare(const struct hv_dataset *ds,
                          const struct hv_model *ret,
                          const struct hv_model *rk, double ndcg[3],
                          size_t hits[3], double hit_sum[3], size_t *users,
                          double slots[3][EVAL_NDEC])
{
  size_t perm[CR], n_train = model_split_n_train(0.8, CR);
  int test[CR];
  rng_numpy_permutation(42, perm, CR);
  for (size_t i = 0; i < CR; i++)
    test[perm[i]] = i >= n_train;
  *users = 0;
  for (int u = 0; u < CU; u++) {
    int64_t uid = 10 * (u + 1), seen[CJ];
    float held[CJ];
    size_t n_seen = 0, n_held = 0;
    for (int m = 1; m <= 2 * NM; m += 2) /* ascending movie ids */
      for (size_t i = 0; i < CR; i++)
        if (ds->ratings.user_id[i] == uid && ds->ratings.movie_id[i] == m) {
          if (test[i])
            held[n_held++] = ds->ratings.rating[i];
          else
            seen[n_seen++] = m;
        }
    if (!n_held)
      continue;
    ++*users;
    float ideal[CJ];
    memcpy(ideal, held, sizeof(ideal));
    for (size_t a = 0; a < n_held; a++) /* descending, by selection */
      for (size_t b = a + 1; b < n_held; b++)
        if (ideal[b] > ideal[a]) {
          float t = ideal[a];
          ideal[a] = ideal[b];
          ideal[b] = t;
        }
    double idcg = 0.0;
    for (size_t a = 0; a < n_held && a < 10; a++)
      idcg += ideal[a] / log2((double)a + 2.0);
    for (int p = 0; p < 3; p++) {
      int64_t list[10];
      int k = naive_list(ret, rk, p, uid, seen, n_seen, list);
      for (int j = 0; j < k; j++) {
        int d = naive_movie_decile(ds, test, ret, list[j]);
        if (d >= 0)
          slots[p][d] += 1.0;
      }
      double dcg = 0.0;
      for (int j = 0; j < k; j++)
        for (size_t i = 0; i < CR; i++)
          if (test[i] && ds->ratings.user_id[i] == uid &&
              ds->ratings.movie_id[i] == list[j]) {
            dcg += ds->ratings.rating[i] / log2(j + 2.0);
            hits[p]++;
            hit_sum[p] += ds->ratings.rating[i];
          }
      ndcg[p] += dcg / idcg;
    }
  }
  for (int p = 0; p < 3; p++)
    ndcg[p] /= (double)*users;
}

/* compare_pipelines against the naive computation; the ranker's RMSE is
 * its run's test RMSE; bad input. */
static void test_compare(void **state)
{
  (void)state;
  struct hv_dataset ds;
  compare_data(&ds);
  struct hv_model *ret = compare_train(&ds, MODEL_TASK_RETRIEVAL, 42, 0.8);
  struct hv_model *rk = compare_train(&ds, MODEL_TASK_RANKING, 42, 0.8);
  struct compare_result r;
  struct hv_err e = {0};
  assert_int_equal(compare_pipelines(&ds, ret, rk, 0, 0.0, 10, &r, &e), 0);
  double ndcg[3] = {0}, hit_sum[3] = {0};
  size_t hits[3] = {0}, users = 0;
  double slots[3][EVAL_NDEC] = {{0}};
  naive_compare(&ds, ret, rk, ndcg, hits, hit_sum, &users, slots);
  fprintf(stderr, "compare: nDCG@10 %.4f / %.4f / %.4f, hits %zu / %zu / "
          "%zu, %zu users\n", r.retrieval.ndcg, r.ranked.ndcg,
          r.blended.ndcg, r.retrieval.hits, r.ranked.hits, r.blended.hits,
          r.n_users);
  assert_int_equal(r.n_users, users);
  assert_true(users > 3);
  assert_int_equal(r.n_test, CR - model_split_n_train(0.8, CR));
  assert_int_equal(r.candidates, RECOMMEND_DEFAULT_CANDIDATES);
  assert_true(r.blend == RECOMMEND_DEFAULT_BLEND);
  const struct compare_pipeline *p[3] = {&r.retrieval, &r.ranked, &r.blended};
  for (int i = 0; i < 3; i++) {
    assert_true(fabs(p[i]->ndcg - ndcg[i]) < 1e-9);
    assert_true(p[i]->ndcg > 0.0 && p[i]->ndcg <= 1.0);
    assert_int_equal(p[i]->hits, hits[i]);
    if (hits[i])
      assert_true(fabs(p[i]->hit_rating_mean - hit_sum[i] / hits[i]) < 1e-9);
    else
      assert_true(isnan(p[i]->hit_rating_mean));
    /* exposure by popularity decile: the naive shares and their gap */
    double tot = 0.0, lo = 1.0, hi = 0.0;
    for (int d = 0; d < EVAL_NDEC; d++)
      tot += slots[i][d];
    assert_true(tot > 0.0);
    for (int d = 0; d < EVAL_NDEC; d++) {
      double sh = slots[i][d] / tot;
      assert_true(fabs(p[i]->exposure[d] - sh) < 1e-12);
      lo = sh < lo ? sh : lo;
      hi = sh > hi ? sh : hi;
    }
    assert_true(fabs(p[i]->exposure_gap - (hi - lo)) < 1e-12);
  }
  /* without a ranker: the retrieval pipeline alone, the same numbers */
  struct compare_result r1;
  assert_int_equal(compare_pipelines(&ds, ret, NULL, 0, 0.0, 10, &r1, &e), 0);
  assert_true(r1.retrieval.ndcg == r.retrieval.ndcg &&
              r1.retrieval.hits == r.retrieval.hits);
  assert_true(r1.retrieval.exposure_gap == r.retrieval.exposure_gap);
  assert_true(r1.ranked.hits == 0 && isnan(r1.blended.exposure_gap));
  /* the ranker's numbers on the split are its own run's test numbers */
  struct rank_metrics rm;
  assert_int_equal(model_rank_evaluate_split(&ds, rk, MODEL_SPLIT_TEST, &rm,
                                             &e), 0);
  assert_true(r.ranker.rmse == rm.rmse && r.ranker.n == r.n_test);
  /* bad input */
  struct hv_model *rk7 = compare_train(&ds, MODEL_TASK_RANKING, 7, 0.8);
  struct hv_model *all = compare_train(&ds, MODEL_TASK_RETRIEVAL, 42, 1.0);
  struct hv_model *rk_all = compare_train(&ds, MODEL_TASK_RANKING, 42, 1.0);
  static const struct {
    int which; /* 0 ok models, 1 ranker seed 7, 2 swapped, 3 split 1 */
    int k, n;
    double blend;
    int rc;
    const char *msg;
  } cases[] = {
      {1, 0, 10, 0.0, HV_EINVAL, "the held-out ratings differ"},
      {2, 0, 10, 0.0, HV_EINVAL, "cannot retrieve"},
      {3, 0, 10, 0.0, HV_ENOTFOUND, "nothing is held out"},
      {0, -1, 10, 0.0, HV_EINVAL, "candidates: -1 is out of range"},
      {0, RECOMMEND_MAX_CANDIDATES + 1, 10, 0.0, HV_EINVAL, "candidates"},
      {0, 0, 0, 0.0, HV_EINVAL, "n: 0 is out of range"},
      {0, 0, 1001, 0.0, HV_EINVAL, "n: 1001 is out of range"},
      {0, 0, 10, -1.0, HV_EINVAL, "blend"},
      {0, 0, 10, NAN, HV_EINVAL, "blend"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const struct hv_model *a = cases[i].which == 2   ? rk
                               : cases[i].which == 3 ? all
                                                     : ret;
    const struct hv_model *b = cases[i].which == 1   ? rk7
                               : cases[i].which == 2 ? ret
                               : cases[i].which == 3 ? rk_all
                                                     : rk;
    e = (struct hv_err){0};
    assert_int_equal(compare_pipelines(&ds, a, b, cases[i].k, cases[i].blend,
                                       cases[i].n, &r, &e),
                     cases[i].rc);
    assert_non_null(strstr(e.msg, cases[i].msg));
  }
  assert_int_equal(compare_pipelines(NULL, ret, rk, 0, 0, 10, &r, &e),
                   HV_EINVAL);
  assert_int_equal(compare_pipelines(&ds, ret, rk, 0, 0, 10, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(compare_pipelines(&ds, ret, ret, 0, 0, 10, &r, &e),
                   HV_EINVAL);
  assert_non_null(strstr(e.msg, "not a ranking model"));
  /* a range that changed size cannot be rebuilt */
  ds.ratings.n = CR - 1;
  assert_int_equal(compare_pipelines(&ds, ret, rk, 0, 0, 10, &r, &e),
                   HV_EINVAL);
  assert_non_null(strstr(e.msg, "cannot be rebuilt"));
  assert_int_equal(model_rank_evaluate_split(&ds, rk, MODEL_SPLIT_TEST, &rm,
                                             &e), HV_EINVAL);
  ds.ratings.n = CR;
  assert_int_equal(model_rank_evaluate_split(&ds, rk, 3, &rm, &e),
                   HV_EINVAL);
  assert_int_equal(model_rank_evaluate_split(&ds, ret, 0, &rm, &e),
                   HV_EINVAL);
  assert_int_equal(model_rank_evaluate_split(&ds, rk_all, MODEL_SPLIT_TEST,
                                             &rm, &e), HV_ENOTFOUND);
  model_free(rk7);
  model_free(all);
  model_free(rk_all);
  model_free(ret);
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
      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_ranked_memo),
      cmocka_unit_test(test_rank_stage),
      cmocka_unit_test(test_explain),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_db_failure),
      cmocka_unit_test(test_list_alloc),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_eval.c - model/eval on a hand-made model where every rank is known:
 * FactorizedTopK accuracies with the in_top_k tie rule, unknown ids,
 * recall/NDCG with seen movies excluded, coverage, segments, the loss
 * against the naive oracle, the seen-set builder, bad input; the public
 * ranking rule and segments (eval_rank, eval_hits_*, eval_segment_*).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/eval.h"
#include "util/rng.h"
#include "testutil.h"

/* dim 1: user rows 0 (OOV) = 1, 1 = 1, 2 = -1; movies 1..5 = 5 4 4 2 1 */
static const float UV[3] = {1, 1, -1};
static const float MV[6] = {0, 5, 4, 4, 2, 1};
static const int32_t UR[5] = {1, 1, 2, 0, 1};
static const int32_t MR[5] = {3, 2, 4, 1, 0};
static const int GENDER[3] = {0, DATASET_GENDER_M, DATASET_GENDER_F};
static const int AGE[3] = {-1, 25, 56};

static void fill(struct eval_model *em, struct eval_input *in)
{
  memset(em, 0, sizeof(*em));
  memset(in, 0, sizeof(*in));
  em->dim = 1;
  em->n_users = 2;
  em->n_movies = 5;
  em->user_vec = UV;
  em->movie_vec = MV;
  em->lo = (struct loss_opts){1.0, 0.0, 0};
  in->n = 5;
  in->urow = UR;
  in->mrow = MR;
  in->gender_by_row = GENDER;
  in->age_by_row = AGE;
}

static const struct eval_segment *seg(const struct eval_metrics *m,
                                      const char *name)
{
  for (int s = 0; s < m->n_segments; s++)
    if (!strcmp(m->seg[s].name, name))
      return &m->seg[s];
  return NULL;
}

static void test_known_ranks(void **state)
{
  struct eval_model em;
  struct eval_input in;
  fill(&em, &in);
  /* user row 1 has seen movie row 1 (excluded from recall/ndcg only) */
  static const size_t off[4] = {0, 0, 1, 1};
  static const int32_t seen[1] = {1};
  in.seen_off = off;
  in.seen = seen;
  struct eval_metrics m;
  struct hv_err e = {0};
  assert_int_equal(eval_run(&em, &in, &m, &e), 0);
  /* ranks: (1,m3)=1 [tie with m2 counts for it], (1,m2)=1, (2,m4)=1,
   * (OOV,m1)=0, (1,unknown)=miss */
  assert_true(fabs(m.top_k[0] - 0.2) < 1e-12);
  for (int k = 1; k < EVAL_NK; k++)
    assert_true(fabs(m.top_k[k] - 0.8) < 1e-12);
  assert_int_equal(m.n_pairs, 5);
  assert_int_equal(m.n_users, 2);
  assert_int_equal(m.n_unknown_users, 1);
  assert_int_equal(m.n_unknown_movies, 1);
  /* user 1: relevant {2,3} at positions 0,1 after masking movie 1 -> 1, 1;
   * user 2: relevant {4} at position 1 -> recall 1, ndcg 1/log2(3) */
  double n2 = 1.0 / log2(3.0);
  assert_true(fabs(m.recall_at_10 - 1.0) < 1e-12);
  assert_true(fabs(m.recall_at_100 - 1.0) < 1e-12);
  assert_true(fabs(m.ndcg_at_10 - (1.0 + n2) / 2) < 1e-9);
  assert_true(fabs(m.coverage_at_10 - 1.0) < 1e-12);
  const struct eval_segment *s = seg(&m, "gender=M");
  assert_non_null(s);
  assert_int_equal(s->n_pairs, 3);
  assert_int_equal(s->n_users, 1);
  assert_true(fabs(s->top_10 - 2.0 / 3.0) < 1e-12);
  s = seg(&m, "gender=F");
  assert_non_null(s);
  assert_true(fabs(s->ndcg_at_10 - n2) < 1e-9);
  assert_non_null(seg(&m, "age=25"));
  assert_non_null(seg(&m, "age=56"));
  assert_non_null(seg(&m, "age=unknown"));
  assert_null(seg(&m, "age=18"));
  /* the loss equals the oracle on the same 5 rows (one batch) */
  float ue[5], me[5];
  int64_t key[5];
  for (int i = 0; i < 5; i++) {
    ue[i] = UV[UR[i]];
    me[i] = MV[MR[i]];
    key[i] = MR[i];
  }
  double want = loss_naive(5, 1, ue, me, key, NULL, &em.lo, NULL, NULL);
  assert_true(fabs(m.loss - want) < 1e-4 * want);
  assert_true(fabs(m.loss_per_pair - want / 5) < 1e-4 * want);
}

static void test_without_seen_masks_nothing(void **state)
{
  struct eval_model em;
  struct eval_input in;
  fill(&em, &in);
  struct eval_metrics m;
  struct hv_err e = {0};
  assert_int_equal(eval_run(&em, &in, &m, &e), 0);
  /* user 1 now ranks movie 1 first: relevant {2,3} at positions 1,2 */
  double dcg = 1.0 / log2(3.0) + 0.5, idcg = 1.0 + 1.0 / log2(3.0);
  double n2 = 1.0 / log2(3.0);
  assert_true(fabs(m.ndcg_at_10 - (dcg / idcg + n2) / 2) < 1e-9);
  /* top-K accuracy ignores seen sets entirely */
  assert_true(fabs(m.top_k[0] - 0.2) < 1e-12);
}

static void test_bad_input(void **state)
{
  struct eval_model em;
  struct eval_input in;
  struct eval_metrics m;
  struct hv_err e = {0};
  fill(&em, &in);
  int32_t bad[5] = {1, 1, 3, 0, 1}; /* user row 3 does not exist */
  in.urow = bad;
  assert_int_equal(eval_run(&em, &in, &m, &e), HV_EINVAL);
  fill(&em, &in);
  int32_t badm[5] = {3, 2, 6, 1, 0};
  in.mrow = badm;
  assert_int_equal(eval_run(&em, &in, &m, &e), HV_EINVAL);
  assert_int_equal(eval_run(NULL, &in, &m, &e), HV_EINVAL);
  fill(&em, &in);
  in.urow = NULL;
  assert_int_equal(eval_run(&em, &in, &m, &e), HV_EINVAL);
  fill(&em, &in);
  in.n = 0;
  assert_int_equal(eval_run(&em, &in, &m, &e), 0);
  assert_int_equal(m.n_pairs, 0);
  assert_true(m.top_k[4] == 0.0 && m.loss == 0.0);
}

static void test_build_seen(void **state)
{
  int32_t ur[7] = {2, 1, 2, 2, 0, 1, 2};
  int32_t mr[7] = {5, 3, 1, 5, 4, 3, 2};
  size_t *off;
  int32_t *seen;
  struct hv_err e = {0};
  assert_int_equal(eval_build_seen(3, ur, mr, 7, &off, &seen, &e), 0);
  assert_int_equal(off[0], 0); /* row 0 (unknown users) skipped */
  assert_int_equal(off[1], 0);
  assert_int_equal(off[2], 1); /* row 1: {3} */
  assert_int_equal(off[3], 4); /* row 2: {1, 2, 5} */
  assert_int_equal(seen[0], 3);
  assert_int_equal(seen[1], 1);
  assert_int_equal(seen[2], 2);
  assert_int_equal(seen[3], 5);
  free(off);
  free(seen);
}

/* eval_segment_of: every gender and age code, in range and not. */
static void test_segment_of(void **state)
{
  static const struct {
    int gender, age;
    unsigned absent;
    int want_g, want_a;
  } cases[] = {
      {0, 1, 0, EVAL_SEG_GENDER + 0, EVAL_SEG_AGE + 0},
      {1, 18, 0, EVAL_SEG_GENDER + 1, EVAL_SEG_AGE + 1},
      {2, 56, 0, EVAL_SEG_GENDER + 2, EVAL_SEG_AGE + 6},
      {2, 35, 0, EVAL_SEG_GENDER + 2, EVAL_SEG_AGE + 3},
      {3, 25, 0, EVAL_SEG_GENDER + 0, EVAL_SEG_AGE + 2},  /* bad gender */
      {-1, -1, 0, EVAL_SEG_GENDER + 0, EVAL_SEG_AGE_UNKNOWN},
      {1, 24, 0, EVAL_SEG_GENDER + 1, EVAL_SEG_AGE_UNKNOWN}, /* not a bucket */
      {1, 0, 0, EVAL_SEG_GENDER + 1, EVAL_SEG_AGE_UNKNOWN},
      /* a feature the dataset lacks: no slot of it (-1) */
      {0, -1, DATASET_UF_GENDER, -1, EVAL_SEG_AGE_UNKNOWN},
      {2, -1, DATASET_UF_AGE, EVAL_SEG_GENDER + 2, -1},
      {0, -1, DATASET_UF_GENDER | DATASET_UF_AGE, -1, -1},
      {0, -1, DATASET_UF_OCCUPATION, EVAL_SEG_GENDER + 0,
       EVAL_SEG_AGE_UNKNOWN},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int s[2] = {-9, -9};
    eval_segment_of(cases[i].gender, cases[i].age, cases[i].absent, s);
    assert_int_equal(s[0], cases[i].want_g);
    assert_int_equal(s[1], cases[i].want_a);
  }
}

static void test_segment_name(void **state)
{
  static const struct {
    int slot;
    const char *want;
  } cases[] = {
      {0, "gender=unknown"}, {1, "gender=M"}, {2, "gender=F"},
      {EVAL_SEG_AGE, "age=1"}, {EVAL_SEG_AGE + 2, "age=25"},
      {EVAL_SEG_AGE + 6, "age=56"}, {EVAL_SEG_AGE_UNKNOWN, "age=unknown"},
      {-1, ""}, {EVAL_NSEG, ""}, {1000, ""},
  };
  char buf[24];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    memset(buf, 'x', sizeof(buf));
    eval_segment_name(cases[i].slot, buf, sizeof(buf));
    assert_string_equal(buf, cases[i].want);
  }
  char small[4];
  eval_segment_name(1, small, sizeof(small)); /* truncated, terminated */
  assert_string_equal(small, "gen");
  eval_segment_name(1, NULL, 8); /* no buffer: nothing happens */
  eval_segment_name(1, buf, 0);
}

/* eval_rank: strictly-higher count, ties in the true movie's favour,
 * unknown columns and NULL scores are misses. */
static void test_rank(void **state)
{
  static const float S[6] = {5, 4, 4, 2, 1, NAN};
  static const struct {
    size_t n, col, want;
  } cases[] = {
      {5, 0, 0}, {5, 1, 1}, {5, 2, 1}, /* the tie: both rank 1 */
      {5, 3, 3}, {5, 4, 4}, {5, 5, SIZE_MAX}, {0, 0, SIZE_MAX},
      {5, SIZE_MAX, SIZE_MAX},
      {6, 5, 0}, /* NaN: nothing compares higher than it */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_true(eval_rank(S, cases[i].n, cases[i].col) == cases[i].want);
  assert_true(eval_rank(NULL, 5, 0) == SIZE_MAX);
}

/* eval_rank_capped: the exact rank below EVAL_RANK_CAP, >= it otherwise,
 * on rows with many ties (scores from a few levels), NaNs, -inf and rows
 * shorter than the cap (the fallback); bad input as eval_rank. */
static void test_rank_capped(void **state)
{
  (void)state;
  enum { N = 700 };
  static float S[N];
  int64_t top[EVAL_RANK_CAP];
  static const struct {
    size_t n;
    int levels; /* 0: distinct scores */
    int nans, neg_inf;
  } rows[] = {{N, 0, 0, 0},   {N, 7, 0, 0},  {N, 150, 0, 0}, {N, 0, 40, 0},
              {N, 0, 0, 650}, {N, 3, 0, 0},  {99, 0, 0, 0},  {100, 0, 0, 0},
              {101, 5, 0, 0}, {1, 0, 0, 0},  {N, 0, 0, 601}};
  uint32_t x = 12345;
  for (size_t t = 0; t < sizeof(rows) / sizeof(rows[0]); t++) {
    size_t n = rows[t].n;
    for (size_t i = 0; i < n; i++) {
      x = x * 1664525u + 1013904223u;
      S[i] = rows[t].levels ? (float)(x % (uint32_t)rows[t].levels)
                            : (float)(x >> 8) / 16777216.0f;
    }
    for (int k = 0; k < rows[t].nans; k++)
      S[(size_t)k * 13 % n] = NAN;
    for (int k = 0; k < rows[t].neg_inf; k++)
      S[k] = -INFINITY;
    size_t ntop = eval_rank_prepare(S, n, top);
    assert_true(ntop <= EVAL_RANK_CAP);
    for (size_t c = 0; c <= n; c++) {
      size_t want = eval_rank(S, n, c);
      size_t got = eval_rank_capped(S, n, top, ntop, c);
      if (want < EVAL_RANK_CAP)
        assert_true(got == want);
      else
        assert_true(got >= EVAL_RANK_CAP);
    }
  }
  assert_true(eval_rank_prepare(NULL, 5, top) == 0);
  assert_true(eval_rank_prepare(S, 5, NULL) == 0);
  assert_true(eval_rank_capped(NULL, 5, top, 0, 0) == SIZE_MAX);
  assert_true(eval_rank_capped(S, 5, top, 0, 5) == SIZE_MAX);
  assert_true(eval_rank_capped(S, 5, NULL, 0, 1) == eval_rank(S, 5, 1));
}

static void test_hits(void **state)
{
  struct eval_hits h;
  memset(&h, 0, sizeof(h));
  int seg[2];
  eval_segment_of(2, 25, 0, seg);
  /* ranks 0, 4, 9, 49, 99, 100 and a miss: K=1 gets 1 hit, K=5 2, ... */
  static const size_t ranks[7] = {0, 4, 9, 49, 99, 100, SIZE_MAX};
  for (int i = 0; i < 7; i++)
    eval_hits_add(&h, ranks[i], seg);
  eval_hits_user(&h, seg);
  assert_int_equal(h.n_pairs, 7);
  for (int k = 0; k < EVAL_NK; k++) {
    assert_true(h.hits[k] == (double)(k + 1));
    assert_true(h.seg_hits[seg[0]][k] == (double)(k + 1));
    assert_true(h.seg_hits[seg[1]][k] == (double)(k + 1));
    assert_true(h.seg_hits[1][k] == 0.0);
  }
  assert_int_equal(h.seg_pairs[seg[0]], 7);
  assert_int_equal(h.seg_pairs[seg[1]], 7);
  assert_int_equal(h.seg_users[seg[0]], 1);
  assert_int_equal(h.seg_users[seg[1]], 1);
  /* bad input: NULL accumulators and slots out of range are ignored */
  int bad[2] = {-1, EVAL_NSEG};
  eval_hits_add(NULL, 0, seg);
  eval_hits_user(NULL, seg);
  eval_hits_user(&h, NULL);
  eval_hits_add(&h, 0, bad);
  eval_hits_user(&h, bad);
  eval_hits_add(&h, 0, NULL);
  assert_int_equal(h.n_pairs, 9);
  assert_true(h.hits[0] == 3.0);
  assert_int_equal(h.seg_pairs[seg[0]], 7);
  assert_int_equal(h.seg_users[seg[0]], 1);
}

/* eval_run's segment metrics agree with eval_hits fed by eval_rank over
 * the same score rows (the path monitor/monitor.c takes). */
static void test_run_matches_hits(void **state)
{
  struct eval_model em;
  struct eval_input in;
  struct eval_metrics m;
  struct hv_err e = {0};
  fill(&em, &in);
  assert_int_equal(eval_run(&em, &in, &m, &e), 0);
  struct eval_hits h;
  memset(&h, 0, sizeof(h));
  for (size_t i = 0; i < in.n; i++) {
    float row[5];
    for (int c = 0; c < 5; c++)
      row[c] = UV[UR[i]] * MV[c + 1];
    int seg[2];
    eval_segment_of(GENDER[UR[i]], AGE[UR[i]], 0, seg);
    eval_hits_add(&h, eval_rank(row, 5, MR[i] ? (size_t)MR[i] - 1 : SIZE_MAX),
                  seg);
  }
  for (int k = 0; k < EVAL_NK; k++)
    assert_true(fabs(m.top_k[k] - h.hits[k] / (double)in.n) < 1e-12);
  for (int s = 0; s < m.n_segments; s++) {
    char name[24];
    int slot = -1;
    for (int t = 0; t < EVAL_NSEG && slot < 0; t++) {
      eval_segment_name(t, name, sizeof(name));
      if (!strcmp(name, m.seg[s].name))
        slot = t;
    }
    assert_true(slot >= 0);
    assert_int_equal(m.seg[s].n_pairs, h.seg_pairs[slot]);
    assert_true(fabs(m.seg[s].top_10 - h.seg_hits[slot][2] /
                                           (double)h.seg_pairs[slot]) < 1e-12);
  }
}

/* The naive oracles: a decile from the count rank by a scan, the gap by a
 * double loop over the qualifying pairs of groups. */
static unsigned char naive_decile(const double *c, size_t n, size_t i)
{
  size_t r = 0;
  for (size_t j = 0; j < n; j++)
    r += c[j] < c[i] || (c[j] == c[i] && j < i);
  return (unsigned char)(r * 10 / n);
}

static double naive_gap(const double *v, const size_t *n, size_t k,
                        size_t min_n)
{
  double g = 0.0;
  int pairs = 0;
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j < k; j++)
      if (i != j && (!n || (n[i] >= min_n && n[j] >= min_n)) &&
          isfinite(v[i]) && isfinite(v[j])) {
        pairs++;
        g = v[i] - v[j] > g ? v[i] - v[j] : g;
      }
  return pairs ? g : 0.0;
}

/* Deciles, gaps and exposure on generated counts and lists against the
 * oracles; hand cases for the edges; bad input. */
static void test_fairness(void **state)
{
  (void)state;
  uint64_t s = 7;
  for (size_t n = 1; n <= 257; n += 32) {
    double *c = malloc(n * sizeof(double));
    unsigned char *d = malloc(n);
    for (size_t i = 0; i < n; i++)
      c[i] = (double)(rng_splitmix64(&s) % 13); /* many ties */
    assert_int_equal(eval_pop_deciles(c, n, d, NULL), 0);
    size_t per[EVAL_NDEC] = {0};
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(d[i], naive_decile(c, n, i));
      per[d[i]]++;
    }
    for (int k = 0; n >= 10 && k < EVAL_NDEC; k++) /* tenths of n */
      assert_true(per[k] == n / 10 || per[k] == n / 10 + 1);
    /* exposure of random lists: shares of the slots by decile */
    double slots[EVAL_NDEC] = {0}, share[EVAL_NDEC];
    size_t tot = 0, by[EVAL_NDEC] = {0};
    for (int l = 0; l < 50; l++) {
      size_t item = rng_splitmix64(&s) % n;
      slots[d[item]] += 1.0;
      by[d[item]]++;
      tot++;
    }
    double gap = eval_exposure_shares(slots, share);
    double naive[EVAL_NDEC];
    for (int k = 0; k < EVAL_NDEC; k++) {
      naive[k] = (double)by[k] / (double)tot;
      assert_true(fabs(share[k] - naive[k]) < 1e-12);
    }
    assert_true(fabs(gap - naive_gap(naive, NULL, EVAL_NDEC, 0)) < 1e-12);
    free(c);
    free(d);
  }
  /* gaps over generated groups, some too small, some NaN */
  for (int t = 0; t < 20; t++) {
    double v[EVAL_NSEG];
    size_t np[EVAL_NSEG];
    for (int k = 0; k < EVAL_NSEG; k++) {
      v[k] = (double)(rng_splitmix64(&s) % 1000) / 1000.0;
      np[k] = rng_splitmix64(&s) % 300;
      if (k == t % EVAL_NSEG)
        v[k] = NAN;
    }
    assert_true(fabs(eval_gap(v, np, EVAL_NSEG, EVAL_GAP_MIN_PAIRS) -
                     naive_gap(v, np, EVAL_NSEG, EVAL_GAP_MIN_PAIRS)) < 1e-12);
  }
  const double one[2] = {0.5, 0.9};
  const size_t small[2] = {100, 99};
  assert_true(eval_gap(one, small, 2, 100) == 0.0); /* one group qualifies */
  assert_true(fabs(eval_gap(one, NULL, 2, 0) - 0.4) < 1e-12);
  assert_true(eval_gap(NULL, NULL, 3, 0) == 0.0);
  double even[EVAL_NDEC], sh[EVAL_NDEC], top[EVAL_NDEC] = {0};
  for (int k = 0; k < EVAL_NDEC; k++)
    even[k] = 3.0;
  assert_true(fabs(eval_exposure_shares(even, sh)) < 1e-12);
  top[EVAL_NDEC - 1] = 10.0;
  assert_true(eval_exposure_shares(top, sh) == 1.0);
  double none[EVAL_NDEC] = {0};
  assert_true(isnan(eval_exposure_shares(none, sh)) && isnan(sh[0]));
  /* bad input */
  struct hv_err err = {0};
  unsigned char d1[2];
  const double nan2[2] = {1.0, NAN};
  assert_int_equal(eval_pop_deciles(NULL, 2, d1, &err), HV_EINVAL);
  assert_int_equal(eval_pop_deciles(nan2, 2, d1, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "item 1"));
  assert_int_equal(eval_pop_deciles(NULL, 0, NULL, &err), 0);
}

/* eval_run's progress: every call a step forward, the last one done ==
 * total (the users with pairs), and the metrics the same as without. */
struct users_log {
  int calls;
  size_t last, total;
};

static void on_users_log(void *ud, size_t done, size_t total)
{
  struct users_log *l = ud;
  assert_true(done >= l->last && done <= total);
  assert_true(l->calls == 0 || total == l->total);
  l->calls++;
  l->last = done;
  l->total = total;
}

static void test_run_progress(void **state)
{
  (void)state;
  struct eval_model em;
  struct eval_input in;
  struct eval_metrics m, m2;
  struct hv_err e = {0};
  fill(&em, &in);
  assert_int_equal(eval_run(&em, &in, &m, &e), 0);
  struct users_log l = {0};
  in.on_users = on_users_log;
  in.ud = &l;
  assert_int_equal(eval_run(&em, &in, &m2, &e), 0);
  assert_true(l.calls >= 1);
  assert_int_equal(l.last, l.total);
  /* every user with pairs, the unknown users' row 0 among them */
  assert_true(l.total == m.n_users || l.total == m.n_users + 1);
  for (int k = 0; k < EVAL_NK; k++)
    assert_true(m.top_k[k] == m2.top_k[k]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_ranks),
      cmocka_unit_test(test_without_seen_masks_nothing),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_build_seen),
      cmocka_unit_test(test_segment_of),
      cmocka_unit_test(test_segment_name),
      cmocka_unit_test(test_rank),
      cmocka_unit_test(test_rank_capped),
      cmocka_unit_test(test_hits),
      cmocka_unit_test(test_run_progress),
      cmocka_unit_test(test_run_matches_hits),
      cmocka_unit_test(test_fairness),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_ivf.c - model/ivf: the IVF index against a naive exact top-k on
 * planted clustered data (recall at the chosen nprobe, identical order and
 * scores where it finds the same movies, exclusions), the choice of nprobe
 * by the floor, determinism, the file round trip, damaged and hostile
 * files (each refused with its reason), the model binding and bad input.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "model/ivf.h"
#include "model/score.h"
#include "model_fixture.h"
#include "testutil.h"

static uint64_t lcg(uint64_t *s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

/* Uniform in [-1, 1). */
static float unif(uint64_t *s)
{
  return (float)((double)lcg(s) / 2147483648.0 - 1.0);
}

/* n vectors (n, d) around c cluster centres, and nq queries near the
 * centres too (users like some kinds of movies). */
struct planted {
  size_t n, nq;
  int d;
  float *v, *q;
};

static struct planted plant(size_t n, int d, int c, size_t nq, uint64_t seed)
{
  struct planted p = {n, nq, d, malloc(n * d * sizeof(float)),
                      malloc(nq * d * sizeof(float))};
  float *cen = malloc((size_t)c * d * sizeof(float));
  for (int i = 0; i < c * d; i++)
    cen[i] = unif(&seed);
  for (size_t i = 0; i < n; i++) {
    int k = (int)(lcg(&seed) % (uint64_t)c);
    for (int j = 0; j < d; j++)
      p.v[i * d + j] = cen[k * d + j] + 0.35f * unif(&seed);
  }
  for (size_t i = 0; i < nq; i++) {
    int k = (int)(lcg(&seed) % (uint64_t)c);
    for (int j = 0; j < d; j++)
      p.q[i * d + j] = cen[k * d + j] + 0.5f * unif(&seed);
  }
  free(cen);
  return p;
}

static void planted_free(struct planted *p)
{
  free(p->v);
  free(p->q);
}

static const unsigned char SUM_A[32] = {1, 2, 3};

/* The naive oracle: top k of v (n, d) for u by a double loop in double
 * precision and a full sort, skipping excl (a mask of n). */
static const double *nv_sc;
static int nv_cmp(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  if (nv_sc[x] != nv_sc[y])
    return nv_sc[x] > nv_sc[y] ? -1 : 1;
  return (x > y) - (x < y);
}

static size_t naive_topk(const float *v, size_t n, int d, const float *u,
                         size_t k, const unsigned char *excl, int64_t *out)
{
  double *sc = malloc(n * sizeof(double));
  int64_t *all = malloc(n * sizeof(int64_t));
  size_t live = 0;
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < d; j++)
      s += (double)v[i * d + j] * u[j];
    sc[i] = s;
    if (!excl || !excl[i])
      all[live++] = (int64_t)i;
  }
  nv_sc = sc;
  qsort(all, live, sizeof(int64_t), nv_cmp);
  size_t g = k < live ? k : live;
  memcpy(out, all, g * sizeof(int64_t));
  free(sc);
  free(all);
  return g;
}

static struct hv_ivf *build(const struct planted *p, double floor_,
                            uint64_t seed)
{
  struct ivf_params prm;
  ivf_params_defaults(&prm);
  prm.min_recall = floor_;
  prm.seed = seed;
  struct hv_ivf *ix = NULL;
  struct hv_err e = {0};
  int rc = ivf_build(p->v, p->n, p->d, p->q, p->nq, SUM_A, &prm, &ix, &e);
  if (rc)
    print_error("ivf_build: %s\n", e.msg);
  assert_int_equal(rc, 0);
  return ix;
}

/* Recall@100 against the naive oracle, the chosen nprobe the smallest that
 * reaches the floor, and the stored recall the one measured. */
static void test_recall_planted(void **state)
{
  (void)state;
  struct planted p = plant(4000, 32, 50, 300, 7);
  struct hv_ivf *ix = build(&p, 0.95, 42);
  const struct ivf_info *I = ivf_info(ix);
  assert_int_equal(I->n, 4000);
  assert_int_equal(I->d, 32);
  assert_int_equal(I->nlist, 253); /* round(4 sqrt(4000)) */
  assert_int_equal(I->recall_k, 100);
  assert_int_equal(I->n_queries, 300);
  print_message("nlist %d nprobe %d recall@100 %.4f\n", I->nlist, I->nprobe,
                I->recall);
  assert_true(I->recall >= 0.95 && I->recall <= 1.0);
  assert_true(I->nprobe >= 1 && I->nprobe < I->nlist);
  void *scr = malloc(ivf_scratch_bytes(ix, 100));
  int64_t got[100], want[100];
  float gs[100];
  /* recall at nprobe, by the oracle; nprobe - 1 falls short of 0.95 */
  for (int np = I->nprobe - 1; np <= I->nprobe; np++) {
    if (np < 1)
      continue;
    size_t hits = 0;
    for (size_t i = 0; i < p.nq; i++) {
      const float *u = p.q + i * p.d;
      size_t g = ivf_search(ix, p.v, u, 100, np, NULL, 0, got, gs, scr);
      assert_int_equal(g, 100);
      naive_topk(p.v, p.n, p.d, u, 100, NULL, want);
      for (size_t a = 0; a < g; a++)
        for (size_t b = 0; b < 100; b++)
          hits += got[a] == want[b];
    }
    double r = (double)hits / (100.0 * p.nq);
    if (np == I->nprobe)
      assert_true(r >= 0.94); /* the oracle's float/double ties aside */
    else
      assert_true(r < 0.96);
  }
  /* a lower floor probes fewer lists */
  struct hv_ivf *lo = build(&p, 0.5, 42);
  assert_true(ivf_info(lo)->nprobe < I->nprobe);
  assert_true(ivf_info(lo)->recall >= 0.5);
  ivf_free(lo);
  free(scr);
  ivf_free(ix);
  planted_free(&p);
}

/* Where the index finds the exact top k, the answer is the exact path's:
 * the same movies, order and bit-identical scores; exclusions never come
 * back and the rest matches the masked exact answer. */
static void test_same_as_exact(void **state)
{
  (void)state;
  struct planted p = plant(2000, 24, 30, 50, 11);
  struct hv_ivf *ix = build(&p, 0.95, 1);
  float *packed = score_pack(p.v, p.n, p.d);
  float *sc = malloc(p.n * sizeof(float));
  void *scr = malloc(ivf_scratch_bytes(ix, 10));
  unsigned char *mask = calloc(p.n, 1);
  int same = 0;
  for (size_t i = 0; i < p.nq; i++) {
    const float *u = p.q + i * p.d;
    /* exclude every third of the exact top 30 */
    int64_t ex30[30], want[10], got[10];
    float gs[10];
    uint32_t excl[10];
    score_dots(packed, p.n, p.d, u, sc);
    assert_int_equal(score_topk(sc, p.n, 30, ex30), 30);
    size_t ne = 0;
    memset(mask, 0, p.n);
    for (int a = 0; a < 30; a += 3) {
      excl[ne++] = (uint32_t)ex30[a];
      mask[ex30[a]] = 1;
    }
    /* ascending, as ivf_search wants */
    for (size_t a = 1; a < ne; a++)
      for (size_t b = a; b > 0 && excl[b - 1] > excl[b]; b--) {
        uint32_t t = excl[b];
        excl[b] = excl[b - 1];
        excl[b - 1] = t;
      }
    for (size_t a = 0; a < ne; a++)
      sc[excl[a]] = -INFINITY;
    assert_int_equal(score_topk(sc, p.n, 10, want), 10);
    /* all lists probed: the exact answer */
    size_t g = ivf_search(ix, p.v, u, 10, ivf_info(ix)->nlist, excl, ne,
                          got, gs, scr);
    assert_int_equal(g, 10);
    for (int a = 0; a < 10; a++) {
      assert_int_equal(got[a], want[a]);
      assert_true(gs[a] == sc[want[a]]);
      assert_false(mask[got[a]]);
    }
    /* the default nprobe: no excluded movie, exact scores, and when the
     * set is the exact one, the same order */
    g = ivf_search(ix, p.v, u, 10, 0, excl, ne, got, gs, scr);
    int all = g == 10;
    for (size_t a = 0; a < g; a++) {
      assert_false(mask[got[a]]);
      assert_true(gs[a] == sc[got[a]]);
      all &= got[a] == want[a];
    }
    same += all;
  }
  assert_true(same >= 40); /* most queries find the exact top 10 */
  /* k beyond n, the short list beyond the probed lists */
  int64_t *big = malloc(p.n * 2 * sizeof(int64_t));
  void *bscr = malloc(ivf_scratch_bytes(ix, p.n * 2));
  assert_int_equal(ivf_search(ix, p.v, p.q, p.n * 2, ivf_info(ix)->nlist,
                              NULL, 0, big, NULL, bscr), p.n);
  /* one list probed: the next ones fill the short list */
  assert_int_equal(ivf_search(ix, p.v, p.q, p.n * 2, 1, NULL, 0, big, NULL,
                              bscr), p.n);
  assert_int_equal(ivf_search(ix, p.v, p.q, 500, 1, NULL, 0, big, NULL,
                              bscr), 500);
  free(big);
  free(bscr);
  /* bad calls return nothing */
  int64_t o[4];
  assert_int_equal(ivf_search(NULL, p.v, p.q, 4, 0, NULL, 0, o, NULL, scr),
                   0);
  assert_int_equal(ivf_search(ix, p.v, p.q, 0, 0, NULL, 0, o, NULL, scr), 0);
  assert_int_equal(ivf_search(ix, p.v, p.q, 4, 0, NULL, 3, o, NULL, scr), 0);
  free(mask);
  free(scr);
  free(sc);
  free(packed);
  ivf_free(ix);
  planted_free(&p);
}

/* The same inputs and seed give the same bytes; another seed, other
 * clusters. */
static void test_deterministic(void **state)
{
  (void)state;
  struct planted p = plant(1500, 16, 20, 100, 3);
  struct hv_ivf *a = build(&p, 0.9, 5), *b = build(&p, 0.9, 5),
                *c = build(&p, 0.9, 6);
  size_t la, lb, lc;
  const unsigned char *ia = ivf_image(a, &la), *ib = ivf_image(b, &lb),
                      *ic = ivf_image(c, &lc);
  assert_int_equal(la, lb);
  assert_memory_equal(ia, ib, la);
  assert_true(la != lc || memcmp(ia, ic, la) != 0);
  ivf_free(a);
  ivf_free(b);
  ivf_free(c);
  planted_free(&p);
}

/* Save, load: the same image, info and answers; the model binding. */
static void test_roundtrip(void **state)
{
  (void)state;
  char dir[512], path[600];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/m.hvi", dir);
  struct planted p = plant(1200, 20, 15, 60, 9);
  struct hv_ivf *ix = build(&p, 0.95, 2), *back = NULL;
  struct hv_err e = {0};
  assert_int_equal(ivf_save(ix, path, &e), 0);
  assert_int_equal(ivf_load(path, &back, &e), 0);
  size_t l1, l2;
  const unsigned char *i1 = ivf_image(ix, &l1), *i2 = ivf_image(back, &l2);
  assert_int_equal(l1, l2);
  assert_memory_equal(i1, i2, l1);
  assert_memory_equal(ivf_info(ix), ivf_info(back), sizeof(struct ivf_info));
  void *scr = malloc(ivf_scratch_bytes(ix, 20));
  int64_t g1[20], g2[20];
  for (size_t i = 0; i < p.nq; i++) {
    size_t a = ivf_search(ix, p.v, p.q + i * p.d, 20, 0, NULL, 0, g1,
                          NULL, scr);
    size_t b = ivf_search(back, p.v, p.q + i * p.d, 20, 0, NULL, 0, g2,
                          NULL, scr);
    assert_int_equal(a, b);
    assert_memory_equal(g1, g2, a * sizeof(int64_t));
  }
  /* bound to its model */
  unsigned char other[32] = {9};
  assert_int_equal(ivf_matches(back, 1200, 20, SUM_A, &e), 0);
  assert_int_equal(ivf_matches(back, 1200, 20, other, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "another model"));
  assert_int_equal(ivf_matches(back, 1201, 20, SUM_A, &e), HV_EINVAL);
  assert_int_equal(ivf_matches(back, 1200, 21, SUM_A, &e), HV_EINVAL);
  /* missing file, bad names */
  snprintf(path, sizeof(path), "%s/none.hvi", dir);
  ivf_free(back);
  back = NULL;
  assert_int_equal(ivf_load(path, &back, &e), HV_ENOTFOUND);
  assert_null(back);
  assert_int_equal(ivf_load("", &back, &e), HV_EINVAL);
  assert_int_equal(ivf_save(NULL, path, &e), HV_EINVAL);
  free(scr);
  ivf_free(ix);
  planted_free(&p);
  tu_rmtree(dir);
}

static void put32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* Re-sign a modified image, as a hostile writer would. */
static void resign(unsigned char *img, size_t len)
{
  crypto_hash_sha256(img + len - 32, img, len - 32);
}

static int load_code(const unsigned char *img, size_t len, const char *want)
{
  struct hv_ivf *ix = NULL;
  struct hv_err e = {0};
  int rc = ivf_load_buffer(img, len, &ix, &e);
  assert_null(ix);
  if (want && !strstr(e.msg, want)) {
    print_error("message '%s' lacks '%s'\n", e.msg, want);
    fail();
  }
  return rc;
}

/* Damaged and hostile files: each refused, with its reason. */
static void test_hostile(void **state)
{
  (void)state;
  assert_true(sodium_init() >= 0);
  struct planted p = plant(600, 8, 10, 20, 4);
  struct hv_ivf *ix = build(&p, 0.9, 3);
  size_t len;
  const unsigned char *img = ivf_image(ix, &len);
  unsigned char *b = malloc(len);
  const size_t nlist = (size_t)ivf_info(ix)->nlist;
  /* layout of this image: centroids at 128, offsets after them */
  const size_t off = 128 + (nlist * 8 * 4 + 63) / 64 * 64;
  const size_t mem = off + ((nlist + 1) * 4 + 63) / 64 * 64;
#define FRESH() memcpy(b, img, len)
  FRESH();
  assert_int_equal(load_code(b, len - 1, "bytes"), HV_ECORRUPT);
  assert_int_equal(load_code(b, 100, "too short"), HV_ECORRUPT);
  assert_int_equal(load_code(b, 0, "too short"), HV_ECORRUPT);
  b[len / 2] ^= 1;
  assert_int_equal(load_code(b, len, "checksum"), HV_ECORRUPT);
  FRESH();
  b[0] = 'X';
  assert_int_equal(load_code(b, len, "magic"), HV_ECORRUPT);
  FRESH();
  put32(b + 8, 2);
  resign(b, len);
  assert_int_equal(load_code(b, len, "version 2"), HV_EVERSION);
  FRESH();
  put32(b + 36, (uint32_t)nlist + 1); /* nprobe > nlist */
  resign(b, len);
  assert_int_equal(load_code(b, len, "nprobe"), HV_ECORRUPT);
  FRESH();
  put32(b + 24, 0x7fffffff); /* n: sizes no longer fit the file */
  resign(b, len);
  assert_int_equal(load_code(b, len, NULL), HV_ECORRUPT);
  FRESH();
  put32(b + 28, 2000); /* d beyond 1024 */
  resign(b, len);
  assert_int_equal(load_code(b, len, "bad sizes"), HV_ECORRUPT);
  FRESH();
  double two = 2.0;
  memcpy(b + 56, &two, 8); /* recall */
  resign(b, len);
  assert_int_equal(load_code(b, len, "recall"), HV_ECORRUPT);
  FRESH();
  b[120] = 1; /* reserved */
  resign(b, len);
  assert_int_equal(load_code(b, len, "reserved"), HV_ECORRUPT);
  FRESH();
  float nan = NAN;
  memcpy(b + 128, &nan, 4); /* a centroid */
  resign(b, len);
  assert_int_equal(load_code(b, len, "centroid"), HV_ECORRUPT);
  FRESH();
  put32(b + off + nlist * 4, 599); /* the last offset short of n */
  resign(b, len);
  assert_int_equal(load_code(b, len, "offsets"), HV_ECORRUPT);
  FRESH();
  put32(b + off + 4, 601); /* an offset beyond n, then descending */
  resign(b, len);
  assert_int_equal(load_code(b, len, "offsets"), HV_ECORRUPT);
  FRESH();
  memcpy(b + mem + 4, b + mem, 4); /* a member twice */
  resign(b, len);
  assert_int_equal(load_code(b, len, "member"), HV_ECORRUPT);
  FRESH();
  put32(b + mem, 600); /* a member out of range */
  resign(b, len);
  assert_int_equal(load_code(b, len, "member"), HV_ECORRUPT);
  FRESH();
  struct hv_ivf *ok = NULL;
  struct hv_err e = {0};
  assert_int_equal(ivf_load_buffer(b, len, &ok, &e), 0);
  ivf_free(ok);
  assert_int_equal(ivf_load_buffer(NULL, len, &ok, &e), HV_EINVAL);
#undef FRESH
  free(b);
  ivf_free(ix);
  planted_free(&p);
}

/* Bad build arguments: refused with HV_EINVAL, nothing returned. */
static void test_build_bad(void **state)
{
  (void)state;
  struct planted p = plant(100, 4, 5, 10, 1);
  struct ivf_params prm;
  struct hv_ivf *ix = NULL;
  struct hv_err e = {0};
  ivf_params_defaults(&prm);
  assert_int_equal(ivf_build(NULL, 100, 4, p.q, 10, SUM_A, &prm, &ix, &e),
                   HV_EINVAL);
  assert_int_equal(ivf_build(p.v, 0, 4, p.q, 10, SUM_A, &prm, &ix, &e),
                   HV_EINVAL);
  assert_int_equal(ivf_build(p.v, 100, 0, p.q, 10, SUM_A, &prm, &ix, &e),
                   HV_EINVAL);
  assert_int_equal(ivf_build(p.v, 100, 4, p.q, 0, SUM_A, &prm, &ix, &e),
                   HV_EINVAL);
  assert_int_equal(ivf_build(p.v, 100, 4, p.q, 10, NULL, &prm, &ix, &e),
                   HV_EINVAL);
  const struct {
    int nlist, nprobe, iters;
    double floor_;
  } bad[] = {{101, 0, 10, 0.9}, {-1, 0, 10, 0.9}, {10, 11, 10, 0.9},
             {0, 0, 0, 0.9},    {0, 0, 101, 0.9}, {0, 0, 10, 0.0},
             {0, 0, 10, 1.5},   {0, 0, 10, NAN}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ivf_params_defaults(&prm);
    prm.nlist = bad[i].nlist;
    prm.nprobe = bad[i].nprobe;
    prm.iters = bad[i].iters;
    prm.min_recall = bad[i].floor_;
    assert_int_equal(ivf_build(p.v, 100, 4, p.q, 10, SUM_A, &prm, &ix, &e),
                     HV_EINVAL);
    assert_null(ix);
  }
  ivf_params_defaults(&prm);
  p.v[7] = NAN;
  assert_int_equal(ivf_build(p.v, 100, 4, p.q, 10, SUM_A, &prm, &ix, &e),
                   HV_EINVAL);
  assert_non_null(strstr(e.msg, "not finite"));
  p.v[7] = 0;
  /* tiny catalogues: one list, a fixed nprobe is kept and measured */
  prm.nlist = 1;
  assert_int_equal(ivf_build(p.v, 5, 4, p.q, 10, SUM_A, &prm, &ix, &e), 0);
  assert_int_equal(ivf_info(ix)->nlist, 1);
  assert_int_equal(ivf_info(ix)->recall_k, 5);
  assert_true(ivf_info(ix)->recall == 1.0);
  ivf_free(ix);
  prm.nlist = 10;
  prm.nprobe = 3;
  assert_int_equal(ivf_build(p.v, 100, 4, p.q, 10, SUM_A, &prm, &ix, &e), 0);
  assert_int_equal(ivf_info(ix)->nprobe, 3);
  ivf_free(ix);
  planted_free(&p);
}

/* score_dot_row is score_dots, bit for bit, one row at a time. */
static void test_dot_packed(void **state)
{
  (void)state;
  uint64_t s = 5;
  const int ds[] = {1, 2, 3, 16, 31, 64, 65};
  for (size_t t = 0; t < sizeof(ds) / sizeof(ds[0]); t++) {
    int d = ds[t];
    size_t n = 150;
    float *v = malloc(n * d * sizeof(float)), *u = malloc(d * sizeof(float));
    float *out = malloc(n * sizeof(float));
    for (size_t i = 0; i < n * (size_t)d; i++)
      v[i] = unif(&s);
    for (int j = 0; j < d; j++)
      u[j] = unif(&s);
    float *pk = score_pack(v, n, d);
    score_dots(pk, n, d, u, out);
    for (size_t i = 0; i < n; i++)
      assert_true(score_dot_row(v + i * d, d, u) == out[i]);
    free(pk);
    free(v);
    free(u);
    free(out);
  }
}

/* A model answering through its index: the exact path's scores and ties,
 * exclusions, the memo agreeing with model_recommend, the binding. */
static void test_model_index(void **state)
{
  (void)state;
  struct hv_model *m = fx_model(16, 200, 3000, 0, 5);
  struct hv_model *ex = fx_model(16, 200, 3000, 0, 5); /* the same, exact */
  struct hv_model *other = fx_model(16, 200, 3000, 0, 6);
  struct ivf_params prm;
  ivf_params_defaults(&prm);
  struct hv_ivf *ix = NULL, *ix2 = NULL;
  struct hv_err e = {0};
  assert_int_equal(model_index_build(m, &prm, 150, &ix, &e), 0);
  assert_int_equal(ivf_info(ix)->n_queries, 150);
  assert_true(ivf_info(ix)->recall >= 0.95);
  /* another model's index is refused and stays the caller's */
  assert_int_equal(model_index_build(other, &prm, 50, &ix2, &e), 0);
  assert_int_equal(model_attach_index(m, ix2, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "another model"));
  ivf_free(ix2);
  size_t before = model_scratch_size(m);
  assert_int_equal(model_attach_index(m, ix, &e), 0);
  assert_ptr_equal(model_index(m), ix);
  assert_null(model_index(ex));
  assert_true(model_scratch_size(m) >= before);
  assert_int_equal(model_attach_index(m, ix, &e), HV_EINVAL); /* twice */
  float *s1 = malloc(model_scratch_size(m) * sizeof(float));
  float *s2 = malloc(model_scratch_size(ex) * sizeof(float));
  struct hv_topcache *memo = model_topcache_new(m, 20);
  int same = 0;
  for (size_t u = 0; u < 200; u++) {
    int64_t uid = model_user_id(m, u), a[20], b[20], c[20], excl[5];
    float as[20], bs[20], cs[20];
    for (int i = 0; i < 5; i++) /* ascending ids */
      excl[i] = model_movie_id(m, (u * 7 + (size_t)i * 400) % 3000);
    for (int i = 1; i < 5; i++)
      for (int j = i; j > 0 && excl[j - 1] > excl[j]; j--) {
        int64_t t = excl[j];
        excl[j] = excl[j - 1];
        excl[j - 1] = t;
      }
    int na = model_recommend(m, uid, 20, excl, 5, a, as, s1, &e);
    int nb = model_recommend(ex, uid, 20, excl, 5, b, bs, s2, &e);
    assert_int_equal(na, 20);
    assert_int_equal(nb, 20);
    int all = 1;
    for (int i = 0; i < na; i++) {
      for (int j = 0; j < 5; j++)
        assert_true(a[i] != excl[j]);
      all &= a[i] == b[i] && as[i] == bs[i];
    }
    same += all;
    /* the memo answers as the indexed model_recommend, on a miss and a
     * hit */
    for (int rep = 0; rep < 2; rep++) {
      int nc = model_recommend_cached(m, memo, uid, 20, NULL, 0, c, cs, s1,
                                      &e);
      na = model_recommend(m, uid, 20, NULL, 0, a, as, s1, &e);
      assert_int_equal(nc, na);
      assert_memory_equal(a, c, (size_t)na * sizeof(int64_t));
      assert_memory_equal(as, cs, (size_t)na * sizeof(float));
    }
  }
  assert_true(same >= 150);
  /* beyond MODEL_INDEX_MAX_K: exact */
  int64_t *big = malloc(2000 * sizeof(int64_t)), *big2 = malloc(2000 * 8);
  assert_int_equal(model_recommend(m, model_user_id(m, 0), 2000, NULL, 0, big,
                                   NULL, s1, &e), 2000);
  assert_int_equal(model_recommend(ex, model_user_id(m, 0), 2000, NULL, 0,
                                   big2, NULL, s2, &e), 2000);
  assert_memory_equal(big, big2, 2000 * sizeof(int64_t));
  free(big);
  free(big2);
  assert_int_equal(model_index_build(NULL, &prm, 10, &ix2, &e), HV_EINVAL);
  assert_int_equal(model_index_build(m, &prm, 0, &ix2, &e), HV_EINVAL);
  model_topcache_free(memo);
  free(s1);
  free(s2);
  model_free(m);
  model_free(ex);
  model_free(other);
}

/* The CLI: train builds and stores the index with its metrics, recommend
 * answers through it (stored with the run or beside --out's file) and
 * says so; exact and auto choose as documented; bad flags are usage
 * errors. */
static void test_cli(void **state)
{
  (void)state;
  const char *bin = tu_bin();
  if (!bin)
    skip();
  char dir[256], path[600], cmd[2048], out[1 << 16];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/harvest.db", dir);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  assert_int_equal(db_open(path, &db, &e), 0);
  struct fx_spec s = {60, 300, 20, 5, 0, 0, 1, 5, 1, 0};
  assert_true(fx_load(db, &s) > 0);
  db_close(db);
  snprintf(cmd, sizeof(cmd), "%s --home %s train --dim 8 --epochs 1 "
           "--threads 1 --index ivf --out %s/m.hvm --json 2>/dev/null", bin,
           dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je), *ix = json_object_get(j, "index");
  assert_non_null(ix);
  assert_true(json_real_value(json_object_get(ix, "recall_at_100")) >= 0.95);
  assert_true(json_integer_value(json_object_get(ix, "nprobe")) >= 1);
  char run[40];
  snprintf(run, sizeof(run), "%s",
           json_string_value(json_object_get(j, "run_id")));
  json_decref(j);
  snprintf(path, sizeof(path), "%s/m.hvm.ivf", dir);
  assert_int_equal(access(path, R_OK), 0);
  /* the run holds the artifact and the metrics */
  snprintf(cmd, sizeof(cmd), "%s --home %s runs show %s --json", bin, dir,
           run);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  const char *keys[] = {"index_recall_at_100", "index_nprobe", "index_nlist",
                        "index_build_seconds", "model/index.ivf"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    assert_non_null(strstr(out, keys[i]));
  /* recommend through the run's index, and the file's */
  const struct {
    int file; /* 0: runs:/RUN, 1: DIR/m.hvm */
    const char *flags, *want;
  } rec[] = {
      {0, "--index ivf", "ivf index: "},
      {1, "--index ivf", "ivf index: "},
      {1, "", "below the 20000"},
      {1, "--index exact", "exact scoring (--index exact)"},
      {1, "--index ivf --index-min-recall 1", NULL},
  };
  for (size_t i = 0; i < sizeof(rec) / sizeof(rec[0]); i++) {
    char model[700];
    if (rec[i].file)
      snprintf(model, sizeof(model), "%s/m.hvm", dir);
    else
      snprintf(model, sizeof(model), "runs:/%s", run);
    snprintf(cmd, sizeof(cmd), "%s --home %s recommend --model %s --user 3 "
             "-n 10 %s --bench 10 2>&1 >/dev/null", bin, dir, model,
             rec[i].flags);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
    if (rec[i].want)
      assert_non_null(strstr(out, rec[i].want));
    assert_null(strstr(out, "built at load"));
  }
  /* exact: no index stored */
  snprintf(cmd, sizeof(cmd), "%s --home %s train --dim 8 --epochs 1 "
           "--threads 1 --index exact --out %s/x.hvm --json 2>/dev/null", bin,
           dir, dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_null(strstr(out, "\"index\""));
  snprintf(path, sizeof(path), "%s/x.hvm.ivf", dir);
  assert_int_not_equal(access(path, R_OK), 0);
  /* bad flags */
  const char *bad[] = {
      "recommend --user 3 --index bogus --model",
      "recommend --user 3 --index-min-recall 0 --model",
      "recommend --user 3 --index-min-recall 1.5 --model",
      "serve --index nope --model-file",
      "serve --index-min-recall 2 --model-file",
      "train --index fast --out",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s %s/m.hvm 2>&1", bin, dir,
             bad[i], dir);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
    assert_true(strstr(out, "--index") != NULL);
  }
  tu_rmtree(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_recall_planted),
      cmocka_unit_test(test_same_as_exact),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_hostile),
      cmocka_unit_test(test_build_bad),
      cmocka_unit_test(test_dot_packed),
      cmocka_unit_test(test_model_index),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

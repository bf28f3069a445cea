/*
 * ivf.c - the IVF index of the movie tower: k-means build, recall-driven
 * choice of nprobe, the file image, and the search. See ivf.h.
 *
 * One representation: a built index is serialised to its file image and
 * parsed back (ivf_from_image), so what a server loads is exactly what the
 * build measured; the struct points into the image.
 */
#include "model/ivf.h"
#include "util/le.h"

#include <cblas.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "model/score.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/rng.h"

#ifdef __AVX512BW__
#include <immintrin.h>
#endif

static const unsigned char ivf_magic[8] = {0x89, 'H', 'V', 'I',
                                           'V',  'F', 'X', '\n'};

enum {
  HDR = 128, SUM = 32, ALIGN = 64, MAX_DIM = 1024,
  /* header fields */
  F_MAGIC = 0, F_VERSION = 8, F_HDRLEN = 12, F_FILELEN = 16, F_N = 24,
  F_D = 28, F_NLIST = 32, F_NPROBE = 36, F_DPAD = 40, F_K = 44, F_NQ = 48,
  F_ENDIAN = 52, F_RECALL = 56, F_FLOOR = 64, F_SEED = 72, F_MODEL = 80,
  F_END = 112
};

struct hv_ivf {
  struct ivf_info info;
  int dpad;
  const float *cent;      /* (nlist, d) */
  const uint32_t *off;    /* (nlist + 1) list starts in member order */
  const uint32_t *member; /* (n) movie index at each position */
  const float *scale;     /* (n) code scale at each position */
  const int8_t *code;     /* (n, dpad) */
  float *cent_pack;       /* score_pack(cent), owned */
  uint32_t *pos;          /* (n) position of movie i, owned */
  uint32_t *list_of;      /* (n) list of position j, owned */
  unsigned char *image;   /* owned, 64-byte aligned */
  size_t len;
};

/* ---- layout ---------------------------------------------------------------- */

struct layout {
  uint64_t cent, off, member, scale, code, sum, total;
};

static uint64_t up64(uint64_t x)
{
  return (x + ALIGN - 1) / ALIGN * ALIGN;
}

/* Section offsets for the sizes (each <= 2^32, d <= MAX_DIM: no overflow
 * in 64 bits). */
static void layout(uint64_t n, uint64_t d, uint64_t nlist, uint64_t dpad,
                   struct layout *L)
{
  uint64_t o = HDR;
  L->cent = o;
  o = up64(o + nlist * d * 4);
  L->off = o;
  o = up64(o + (nlist + 1) * 4);
  L->member = o;
  o = up64(o + n * 4);
  L->scale = o;
  o = up64(o + n * 4);
  L->code = o;
  o = up64(o + n * dpad);
  L->sum = o;
  L->total = o + SUM;
}

static int pad32(int d)
{
  return (d + 31) / 32 * 32;
}

void ivf_params_defaults(struct ivf_params *p)
{
  *p = (struct ivf_params){0, 0, IVF_DEFAULT_MIN_RECALL, 10, 42};
}

void ivf_free(struct hv_ivf *ix)
{
  if (!ix)
    return;
  HV_FREE_ALL(ix->cent_pack, ix->pos, ix->list_of, ix->image, ix);
}

const struct ivf_info *ivf_info(const struct hv_ivf *ix)
{
  return &ix->info;
}

const unsigned char *ivf_image(const struct hv_ivf *ix, size_t *len)
{
  *len = ix->len;
  return ix->image;
}

/* ---- parsing (every check a hostile file needs) ----------------------------- */

static int check_header(const unsigned char *img, size_t len,
                        struct hv_err *err)
{
  if (len < HDR + SUM)
    return hv_err_set(err, HV_ECORRUPT, "index: %zu bytes is too short "
                      "for an index file (truncated)", len);
  if (memcmp(img + F_MAGIC, ivf_magic, 8))
    return hv_err_set(err, HV_ECORRUPT,
                      "index: not a Harvest index file (bad magic)");
  if (get_u32(img + F_ENDIAN) != 0x01020304u)
    return hv_err_set(err, HV_ECORRUPT, "index: bad byte-order mark");
  uint32_t v = get_u32(img + F_VERSION);
  if (v != IVF_VERSION)
    return hv_err_set(err, HV_EVERSION, "index: format version %u, expected "
                      "%d; rebuild it with 'harvest train --index ivf'", v,
                      IVF_VERSION);
  if (get_u32(img + F_HDRLEN) != HDR)
    return hv_err_set(err, HV_ECORRUPT, "index: header size %u, expected %d",
                      get_u32(img + F_HDRLEN), HDR);
  if (get_u64(img + F_FILELEN) != len)
    return hv_err_set(err, HV_ECORRUPT, "index: header says %llu bytes, the "
                      "file has %zu (truncated or extended)",
                      (unsigned long long)get_u64(img + F_FILELEN), len);
  unsigned char sum[SUM];
  crypto_hash_sha256(sum, img, len - SUM);
  if (sodium_memcmp(sum, img + len - SUM, SUM))
    return hv_err_set(err, HV_ECORRUPT, "index: checksum mismatch (the file "
                      "is damaged)");
  for (int i = F_END; i < HDR; i++)
    if (img[i])
      return hv_err_set(err, HV_ECORRUPT, "index: reserved header byte %d "
                        "is not zero", i);
  return 0;
}

/* The sizes and measured values of the header into ix->info. */
static int check_info(const unsigned char *img, size_t len, struct hv_ivf *ix,
                      struct layout *L, struct hv_err *err)
{
  struct ivf_info *inf = &ix->info;
  uint32_t n = get_u32(img + F_N), d = get_u32(img + F_D);
  uint32_t nlist = get_u32(img + F_NLIST), nprobe = get_u32(img + F_NPROBE);
  uint32_t dpad = get_u32(img + F_DPAD), k = get_u32(img + F_K);
  if (n < 1 || d < 1 || d > MAX_DIM || dpad != (uint32_t)pad32((int)d))
    return hv_err_set(err, HV_ECORRUPT, "index: bad sizes (n %u, d %u, "
                      "padded %u)", n, d, dpad);
  if (nlist < 1 || nlist > n || nprobe < 1 || nprobe > nlist)
    return hv_err_set(err, HV_ECORRUPT, "index: bad list counts (nlist %u, "
                      "nprobe %u, n %u)", nlist, nprobe, n);
  if (k != (n < IVF_RECALL_K ? n : IVF_RECALL_K) || get_u32(img + F_NQ) < 1)
    return hv_err_set(err, HV_ECORRUPT, "index: bad recall K %u or query "
                      "count", k);
  double recall = get_f64(img + F_RECALL), flr = get_f64(img + F_FLOOR);
  if (!(recall >= 0 && recall <= 1) || !(flr > 0 && flr <= 1))
    return hv_err_set(err, HV_ECORRUPT, "index: recall %g or floor %g is "
                      "not in [0, 1]", recall, flr);
  layout(n, d, nlist, dpad, L);
  if (L->total != len)
    return hv_err_set(err, HV_ECORRUPT, "index: %zu bytes, the sizes need "
                      "%llu", len, (unsigned long long)L->total);
  *inf = (struct ivf_info){n, (int)d, (int)nlist, (int)nprobe, (int)k,
                         get_u32(img + F_NQ), recall, flr,
                         get_u64(img + F_SEED), {0}};
  memcpy(inf->model_sum, img + F_MODEL, 32);
  ix->dpad = (int)dpad;
  return 0;
}

/* Point ix into its image and check the sections. */
static int check_sections(struct hv_ivf *ix, const struct layout *L,
                          struct hv_err *err)
{
  const struct ivf_info *inf = &ix->info;
  const size_t n = inf->n, nlist = (size_t)inf->nlist;
  ix->cent = (const float *)(ix->image + L->cent);
  ix->off = (const uint32_t *)(ix->image + L->off);
  ix->member = (const uint32_t *)(ix->image + L->member);
  ix->scale = (const float *)(ix->image + L->scale);
  ix->code = (const int8_t *)(ix->image + L->code);
  for (size_t i = 0; i < nlist * (size_t)inf->d; i++)
    if (!isfinite(ix->cent[i]))
      return hv_err_set(err, HV_ECORRUPT, "index: centroid %zu is not "
                        "finite", i / (size_t)inf->d);
  if (ix->off[0] != 0 || ix->off[nlist] != n)
    return hv_err_set(err, HV_ECORRUPT, "index: list offsets do not span "
                      "0..%zu", n);
  for (size_t l = 0; l < nlist; l++)
    if (ix->off[l] > ix->off[l + 1])
      return hv_err_set(err, HV_ECORRUPT, "index: list offsets descend at "
                        "list %zu", l);
  for (size_t j = 0; j < n; j++)
    if (!isfinite(ix->scale[j]) || ix->scale[j] < 0)
      return hv_err_set(err, HV_ECORRUPT, "index: scale %zu is not a finite "
                        "non-negative number", j);
  /* members: a permutation of 0..n-1 (pos doubles as the "seen" mark) */
  for (size_t i = 0; i < n; i++)
    ix->pos[i] = UINT32_MAX;
  for (size_t j = 0; j < n; j++) {
    uint32_t m = ix->member[j];
    if (m >= n || ix->pos[m] != UINT32_MAX)
      return hv_err_set(err, HV_ECORRUPT, "index: member %zu (%u) is out of "
                        "range or repeated", j, m);
    ix->pos[m] = (uint32_t)j;
  }
  for (size_t l = 0; l < nlist; l++)
    for (uint32_t j = ix->off[l]; j < ix->off[l + 1]; j++)
      ix->list_of[j] = (uint32_t)l;
  return 0;
}

/* An index owning image (64-byte aligned, malloc'd); image is freed on
 * failure too. */
static int ivf_from_image(unsigned char *image, size_t len,
                          struct hv_ivf **out, struct hv_err *err)
{
  *out = NULL;
  struct hv_ivf *ix = calloc(1, sizeof(*ix));
  if (!ix) {
    free(image);
    return hv_err_set(err, HV_ENOMEM, "index: out of memory");
  }
  ix->image = image;
  ix->len = len;
  struct layout L = {0}; /* set by check_info; gcc -O3 cannot tell */
  int rc = check_header(image, len, err);
  if (!rc)
    rc = check_info(image, len, ix, &L, err);
  if (!rc) {
    ix->pos = malloc(ix->info.n * sizeof(uint32_t));
    ix->list_of = malloc(ix->info.n * sizeof(uint32_t));
    if (!ix->pos || !ix->list_of)
      rc = hv_err_set(err, HV_ENOMEM, "index: out of memory");
  }
  if (!rc)
    rc = check_sections(ix, &L, err);
  if (!rc && !(ix->cent_pack = score_pack(ix->cent, (size_t)ix->info.nlist,
                                          ix->info.d)))
    rc = hv_err_set(err, HV_ENOMEM, "index: out of memory");
  if (rc) {
    ivf_free(ix);
    return rc;
  }
  *out = ix;
  return 0;
}

int ivf_load_buffer(const void *buf, size_t len, struct hv_ivf **out,
                    struct hv_err *err)
{
  *out = NULL;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  unsigned char *copy;
  int rc = mem_image_copy(buf, len, IVF_MAX_BYTES, "index", &copy, err);
  return rc ? rc : ivf_from_image(copy, len, out, err);
}

int ivf_load(const char *path, struct hv_ivf **out, struct hv_err *err)
{
  *out = NULL;
  if (!path || !*path)
    return hv_err_set(err, HV_EINVAL, "index: no file name");
  char *buf = NULL;
  size_t len = 0;
  int rc = hv_read_file(path, IVF_MAX_BYTES, &buf, &len, err);
  if (!rc)
    rc = ivf_load_buffer(buf, len, out, err);
  free(buf);
  if (rc && !strstr(err->msg, path))
    hv_err_prefix(err, "%s", path);
  return rc;
}

int ivf_save(const struct hv_ivf *ix, const char *path, struct hv_err *err)
{
  if (!ix || !path || !*path)
    return hv_err_set(err, HV_EINVAL, "index save: no index or path");
  return hv_write_atomic(path, ix->image, ix->len, 0644, err);
}

int ivf_matches(const struct hv_ivf *ix, size_t n, int d,
                const unsigned char model_sum[32], struct hv_err *err)
{
  if (!ix || !model_sum)
    return hv_err_set(err, HV_EINVAL, "index: none to check");
  if (ix->info.n != n || ix->info.d != d)
    return hv_err_set(err, HV_EINVAL, "index: built for %zu movies of dim "
                      "%d, the model has %zu of dim %d; rebuild it",
                      ix->info.n, ix->info.d, n, d);
  if (memcmp(ix->info.model_sum, model_sum, 32))
    return hv_err_set(err, HV_EINVAL, "index: built for another model file "
                      "(checksums differ); rebuild it");
  return 0;
}

/* ---- search ------------------------------------------------------------------ */

/* The short list re-scored exactly for k results: k plus as many again
 * (and 16) absorb the int8 scores' error, at R x d multiply-adds. */
static size_t shortlist(size_t k, size_t n)
{
  size_t r = 2 * k + 16;
  return r < n ? r : n;
}

static size_t up8(size_t x)
{
  return (x + 7) / 8 * 8;
}

size_t ivf_scratch_bytes(const struct hv_ivf *ix, size_t k)
{
  if (!ix)
    return 0;
  size_t n = ix->info.n, nl = (size_t)ix->info.nlist;
  size_t r = shortlist(k, n);
  return up8(nl * 4) + nl * 8 + up8(nl * 4) + up8(n * 4) + up8(n * 4) +
         r * 8 + r * 8 + up8(r * 4) + r * 8 + up8((size_t)ix->dpad);
}

/* <a, b> over dpad int8 components (dpad a multiple of 32): exact integer
 * sums, so both builds agree. */
static inline int32_t dot8(const int8_t *a, const int8_t *b, int dpad)
{
#ifdef __AVX512BW__
  __m512i acc = _mm512_setzero_si512();
  for (int j = 0; j < dpad; j += 32) {
    __m512i x = _mm512_cvtepi8_epi16(
        _mm256_loadu_si256((const __m256i *)(const void *)(a + j)));
    __m512i y = _mm512_cvtepi8_epi16(
        _mm256_loadu_si256((const __m256i *)(const void *)(b + j)));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(x, y));
  }
  return _mm512_reduce_add_epi32(acc);
#else
  int32_t s = 0;
  for (int j = 0; j < dpad; j++)
    s += (int32_t)a[j] * (int32_t)b[j];
  return s;
#endif
}

/* Symmetric int8 code of x (d) into c (dpad, zero padded); returns the
 * scale (x ~ scale * c; 0 for a zero vector). */
static float quantise(const float *x, int d, int dpad, int8_t *c)
{
  float mx = 0.0f;
  for (int j = 0; j < d; j++)
    mx = fmaxf(mx, fabsf(x[j]));
  float s = mx / 127.0f;
  for (int j = 0; j < dpad; j++) {
    long v = (j < d && s > 0) ? lrintf(x[j] / s) : 0;
    c[j] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
  }
  return s;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

size_t ivf_search(const struct hv_ivf *ix, const float *vecs,
                  const float *u, size_t k, int nprobe, const uint32_t *excl,
                  size_t n_excl, int64_t *out_idx, float *out_sc,
                  void *scratch)
{
  if (!ix || !vecs || !u || !out_idx || !scratch || k == 0 ||
      (n_excl && !excl))
    return 0;
  const size_t n = ix->info.n, nl = (size_t)ix->info.nlist;
  const int d = ix->info.d, dpad = ix->dpad;
  size_t np = nprobe > 0 ? (size_t)nprobe : (size_t)ix->info.nprobe;
  np = np < nl ? np : nl;
  /* carve the scratch (ivf_scratch_bytes) */
  unsigned char *s = scratch;
  float *cs = (float *)s;                 /* (nl) centroid scores */
  s += up8(nl * 4);
  int64_t *probe = (int64_t *)s;          /* (np) probed lists */
  s += nl * 8;
  int32_t *base = (int32_t *)s;           /* (nl) list -> first candidate */
  s += up8(nl * 4);
  float *approx = (float *)s;             /* (<= n) int8 scores */
  s += up8(n * 4);
  uint32_t *cand = (uint32_t *)s;         /* (<= n) their movies */
  s += up8(n * 4);
  const size_t rmax = shortlist(k, n);
  int64_t *top = (int64_t *)s;            /* (R) best approx positions */
  s += rmax * 8;
  int64_t *sl = (int64_t *)s;             /* (R) the short list's movies */
  s += rmax * 8;
  float *ex = (float *)s;                 /* (R) their exact scores */
  s += up8(rmax * 4);
  int64_t *kt = (int64_t *)s;             /* (R) best short-list slots */
  s += rmax * 8;
  int8_t *q8 = (int8_t *)s;               /* (dpad) the quantised query */

  score_dots(ix->cent_pack, nl, d, u, cs);
  size_t sel = score_topk(cs, nl, np, probe);
  float sq = quantise(u, d, dpad, q8);
  for (size_t l = 0; l < nl; l++)
    base[l] = -1;
  /* probe the best np lists; while they hold fewer candidates than the
   * short list (and the exclusions) need, the next best ones too, so a
   * small catalogue or a large k still gets k answers */
  const size_t want = rmax + n_excl;
  size_t cnt = 0;
  for (size_t p = 0; p < sel && (p < np || cnt < want); p++) {
    size_t l = (size_t)probe[p];
    base[l] = (int32_t)cnt;
    for (uint32_t j = ix->off[l]; j < ix->off[l + 1]; j++, cnt++) {
      approx[cnt] = ix->scale[j] * sq *
                    (float)dot8(ix->code + (size_t)j * (size_t)dpad, q8, dpad);
      cand[cnt] = ix->member[j];
    }
    if (p + 1 == sel && cnt < want && sel < nl) /* rare: rank them all */
      sel = score_topk(cs, nl, nl, probe);
  }
  for (size_t e = 0; e < n_excl; e++) {
    if (excl[e] >= n)
      continue;
    uint32_t j = ix->pos[excl[e]], l = ix->list_of[j];
    if (base[l] >= 0)
      approx[(size_t)base[l] + (j - ix->off[l])] = -INFINITY;
  }
  size_t r = score_topk(approx, cnt, shortlist(k, n), top);
  for (size_t i = 0; i < r; i++)
    sl[i] = cand[top[i]];
  /* ascending movie index, so score_topk's ties (lower slot first) are
   * the exact path's (lower movie index first) */
  qsort(sl, r, sizeof(*sl), cmp_i64);
  for (size_t i = 0; i < r; i++)
    ex[i] = score_dot_row(vecs + (size_t)sl[i] * (size_t)d, d, u);
  size_t got = score_topk(ex, r, k, kt);
  for (size_t i = 0; i < got; i++) {
    if (out_sc)
      out_sc[i] = ex[kt[i]];
    out_idx[i] = sl[kt[i]];
  }
  return got;
}

/* ---- build --------------------------------------------------------------------- */

enum { ASSIGN_BLOCK = 512 };

/* a[i] = the centroid nearest row i of x (n, d) in squared L2, i.e. the
 * largest x.c - |c|^2/2 (ties: lower centroid), by one sgemm per block of
 * rows. g holds ASSIGN_BLOCK x k floats, hn[c] = |c|^2 / 2. */
static void assign(const float *x, size_t n, int d, const float *cent, int k,
                   const float *hn, float *g, uint32_t *a)
{
  for (size_t i0 = 0; i0 < n; i0 += ASSIGN_BLOCK) {
    size_t b = n - i0 < ASSIGN_BLOCK ? n - i0 : ASSIGN_BLOCK;
    /* g (b, k) = x[i0..i0+b) (b, d) . cent^T (d, k) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, k, d, 1.0f,
                x + i0 * (size_t)d, d, cent, d, 0.0f, g, k);
    for (size_t i = 0; i < b; i++) {
      const float *gi = g + i * (size_t)k;
      float best = -INFINITY;
      uint32_t bi = 0;
      for (int c = 0; c < k; c++) {
        float v = gi[c] - hn[c];
        if (v > best) {
          best = v;
          bi = (uint32_t)c;
        }
      }
      a[i0 + i] = bi;
    }
  }
}

static void half_norms(const float *cent, int k, int d, float *hn)
{
  for (int c = 0; c < k; c++) {
    double s = 0;
    for (int j = 0; j < d; j++)
      s += (double)cent[(size_t)c * d + j] * cent[(size_t)c * d + j];
    hn[c] = (float)(s / 2);
  }
}

/* New centroids from the assignment a of x (n, d); an empty list takes
 * half of the largest (FAISS's split: the two move apart by 1/1024). */
static void update(const float *x, size_t n, int d, int k, const uint32_t *a,
                   double *sum, size_t *cnt, float *cent)
{
  memset(sum, 0, (size_t)k * d * sizeof(double));
  memset(cnt, 0, (size_t)k * sizeof(size_t));
  for (size_t i = 0; i < n; i++) {
    cnt[a[i]]++;
    for (int j = 0; j < d; j++)
      sum[(size_t)a[i] * d + j] += x[i * (size_t)d + j];
  }
  for (int c = 0; c < k; c++)
    for (int j = 0; cnt[c] && j < d; j++)
      cent[(size_t)c * d + j] = (float)(sum[(size_t)c * d + j] / cnt[c]);
  const float eps = 1.0f / 1024;
  for (int c = 0; c < k; c++) {
    if (cnt[c])
      continue;
    int b = 0;
    for (int o = 1; o < k; o++)
      if (cnt[o] > cnt[b])
        b = o;
    float *cc = cent + (size_t)c * d, *cb = cent + (size_t)b * d;
    for (int j = 0; j < d; j++) {
      float v = cb[j];
      cc[j] = v * (j % 2 ? 1 - eps : 1 + eps);
      cb[j] = v * (j % 2 ? 1 + eps : 1 - eps);
    }
    cnt[c] = cnt[b] / 2;
    cnt[b] -= cnt[c];
  }
}

/* Lloyd's k-means of a seeded sample of x (n, d) into cent (k, d); the
 * first k sample rows start it. */
static int kmeans(const float *x, size_t n, int d, int k, int iters,
                  uint64_t seed, float *cent, struct hv_err *err)
{
  size_t ns = (size_t)k * IVF_TRAIN_PER_LIST;
  ns = ns < n ? ns : n;
  size_t *perm = malloc(n * sizeof(size_t));
  float *smp = malloc(ns * (size_t)d * sizeof(float));
  float *g = malloc((size_t)ASSIGN_BLOCK * k * sizeof(float));
  float *hn = malloc((size_t)k * sizeof(float));
  uint32_t *a = malloc(ns * sizeof(uint32_t));
  double *sum = malloc((size_t)k * d * sizeof(double));
  size_t *cnt = malloc((size_t)k * sizeof(size_t));
  int rc = 0;
  if (!perm || !smp || !g || !hn || !a || !sum || !cnt) {
    rc = hv_err_set(err, HV_ENOMEM, "index: out of memory (k-means)");
    goto cleanup;
  }
  struct rng_xo r;
  rng_xo_seed(&r, seed);
  for (size_t i = 0; i < n; i++)
    perm[i] = i;
  rng_xo_shuffle(&r, perm, n);
  for (size_t i = 0; i < ns; i++)
    memcpy(smp + i * d, x + perm[i] * d, (size_t)d * sizeof(float));
  memcpy(cent, smp, (size_t)k * d * sizeof(float));
  for (int it = 0; it < iters; it++) {
    half_norms(cent, k, d, hn);
    assign(smp, ns, d, cent, k, hn, g, a);
    update(smp, ns, d, k, a, sum, cnt, cent);
  }
cleanup:
  free(perm);
  free(smp);
  free(g);
  free(hn);
  free(a);
  free(sum);
  free(cnt);
  return rc;
}

static int auto_nlist(size_t n)
{
  double v = floor(4 * sqrt((double)n) + 0.5);
  double hi = n / 8 > 1 ? (double)(n / 8) : 1;
  return (int)(v < 1 ? 1 : v > hi ? hi : v);
}

/* The file image of a new index (nprobe 1 and recall 0 until measured);
 * *out is aligned and malloc'd. cent (nlist, d), list (n) of each vector. */
static int make_image(const float *vecs, size_t n, int d, int nlist,
                      const float *cent, const uint32_t *list,
                      const unsigned char model_sum[32], size_t nq,
                      const struct ivf_params *p, unsigned char **out,
                      size_t *len, struct hv_err *err)
{
  int dpad = pad32(d);
  struct layout L;
  layout(n, (uint64_t)d, (uint64_t)nlist, (uint64_t)dpad, &L);
  if (L.total > IVF_MAX_BYTES)
    return hv_err_set(err, HV_ETOOBIG, "index: %llu bytes is too large",
                      (unsigned long long)L.total);
  unsigned char *img = aligned_alloc(ALIGN, up64(L.total));
  if (!img)
    return hv_err_set(err, HV_ENOMEM, "index: out of memory");
  memset(img, 0, up64(L.total));
  memcpy(img + F_MAGIC, ivf_magic, 8);
  put_u32(img + F_VERSION, IVF_VERSION);
  put_u32(img + F_HDRLEN, HDR);
  put_u64(img + F_FILELEN, L.total);
  put_u32(img + F_N, (uint32_t)n);
  put_u32(img + F_D, (uint32_t)d);
  put_u32(img + F_NLIST, (uint32_t)nlist);
  put_u32(img + F_NPROBE, 1);
  put_u32(img + F_DPAD, (uint32_t)dpad);
  put_u32(img + F_K, (uint32_t)(n < IVF_RECALL_K ? n : IVF_RECALL_K));
  put_u32(img + F_NQ, (uint32_t)(nq < UINT32_MAX ? nq : UINT32_MAX));
  put_u32(img + F_ENDIAN, 0x01020304u);
  put_f64(img + F_RECALL, 0.0);
  put_f64(img + F_FLOOR, p->min_recall);
  put_u64(img + F_SEED, p->seed);
  memcpy(img + F_MODEL, model_sum, 32);
  memcpy(img + L.cent, cent, (size_t)nlist * d * sizeof(float));
  /* counting sort of the vectors by list; ascending index within a list */
  uint32_t *off = (uint32_t *)(img + L.off);
  uint32_t *mem = (uint32_t *)(img + L.member);
  float *scale = (float *)(img + L.scale);
  int8_t *code = (int8_t *)(img + L.code);
  for (size_t i = 0; i < n; i++)
    off[list[i] + 1]++;
  for (int l = 0; l < nlist; l++)
    off[l + 1] += off[l];
  for (size_t i = 0; i < n; i++) {
    uint32_t j = off[list[i]]++;
    mem[j] = (uint32_t)i;
  }
  for (int l = nlist; l > 0; l--)
    off[l] = off[l - 1];
  off[0] = 0;
  for (size_t j = 0; j < n; j++)
    scale[j] = quantise(vecs + (size_t)mem[j] * d, d, dpad,
                        code + j * (size_t)dpad);
  crypto_hash_sha256(img + L.sum, img, L.sum);
  *out = img;
  *len = L.total;
  return 0;
}

/* Mean recall@K of ix at nprobe over the queries (nq, d) against truth
 * (nq, K) (each row sorted ascending). */
static double recall_at(const struct hv_ivf *ix, const float *vecs,
                        const float *q, size_t nq, int nprobe,
                        const int64_t *truth, int64_t *got, void *scratch)
{
  const int d = ix->info.d;
  const size_t K = (size_t)ix->info.recall_k;
  size_t hits = 0;
  for (size_t i = 0; i < nq; i++) {
    size_t g = ivf_search(ix, vecs, q + i * (size_t)d, K, nprobe, NULL, 0,
                          got, NULL, scratch);
    for (size_t j = 0; j < g; j++)
      hits += bsearch(&got[j], truth + i * K, K, sizeof(int64_t), cmp_i64) !=
              NULL;
  }
  return (double)hits / ((double)nq * (double)K);
}

/* Set the header's nprobe and recall, re-sign the image. */
static void stamp(struct hv_ivf *ix, int nprobe, double recall)
{
  put_u32(ix->image + F_NPROBE, (uint32_t)nprobe);
  put_f64(ix->image + F_RECALL, recall);
  crypto_hash_sha256(ix->image + ix->len - SUM, ix->image, ix->len - SUM);
  ix->info.nprobe = nprobe;
  ix->info.recall = recall;
}

/* Measure and choose nprobe (ivf.h): the smallest reaching the floor, by
 * doubling then bisection; nlist when none does. */
static int choose_nprobe(struct hv_ivf *ix, const float *vecs,
                         const float *q, size_t nq,
                         const struct ivf_params *p, struct hv_err *err)
{
  const size_t n = ix->info.n, K = (size_t)ix->info.recall_k;
  const int d = ix->info.d, nl = ix->info.nlist;
  float *packed = score_pack(vecs, n, d);
  float *sc = malloc(n * sizeof(float));
  int64_t *truth = malloc(nq * K * sizeof(int64_t));
  int64_t *got = malloc(K * sizeof(int64_t));
  void *scratch = malloc(ivf_scratch_bytes(ix, K));
  int rc = 0;
  if (!packed || !sc || !truth || !got || !scratch) {
    rc = hv_err_set(err, HV_ENOMEM, "index: out of memory (recall)");
    goto cleanup;
  }
  /* the exact path's answers: the same kernel and selection */
  for (size_t i = 0; i < nq; i++) {
    score_dots(packed, n, d, q + i * (size_t)d, sc);
    size_t g = score_topk(sc, n, K, truth + i * K);
    for (; g < K; g++) /* only with NaN scores, which finite inputs rule out */
      truth[i * K + g] = -1;
    qsort(truth + i * K, K, sizeof(int64_t), cmp_i64);
  }
  int np = p->nprobe > 0 ? (p->nprobe < nl ? p->nprobe : nl) : 1;
  double r = recall_at(ix, vecs, q, nq, np, truth, got, scratch);
  if (p->nprobe <= 0) {
    int lo = 1; /* recall(lo - 1) < floor is known below lo */
    while (r < p->min_recall && np < nl) {
      lo = np + 1;
      np = np * 2 < nl ? np * 2 : nl;
      r = recall_at(ix, vecs, q, nq, np, truth, got, scratch);
    }
    if (r >= p->min_recall) {
      int hi = np;
      double rhi = r;
      while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        double rm = recall_at(ix, vecs, q, nq, mid, truth, got, scratch);
        if (rm >= p->min_recall) {
          hi = mid;
          rhi = rm;
        } else {
          lo = mid + 1;
        }
      }
      np = hi;
      r = rhi;
    }
  }
  stamp(ix, np, r);
cleanup:
  free(packed);
  free(sc);
  free(truth);
  free(got);
  free(scratch);
  return rc;
}

static int check_build(const float *vecs, size_t n, int d, const float *q,
                       size_t nq, const unsigned char *model_sum,
                       const struct ivf_params *p, struct hv_err *err)
{
  if (!vecs || !q || !model_sum || !p)
    return hv_err_set(err, HV_EINVAL, "index: need vectors, queries, a "
                      "model checksum and parameters");
  if (n == 0 || n > UINT32_MAX || d < 1 || d > MAX_DIM || nq == 0)
    return hv_err_set(err, HV_EINVAL, "index: %zu vectors of dim %d and %zu "
                      "queries: need 1..2^32 vectors, dim 1..%d, >= 1 query",
                      n, d, nq, MAX_DIM);
  if (p->nlist < 0 || (size_t)p->nlist > n || p->nprobe < 0 ||
      (p->nlist && p->nprobe > p->nlist))
    return hv_err_set(err, HV_EINVAL, "index: nlist %d / nprobe %d out of "
                      "range for %zu vectors", p->nlist, p->nprobe, n);
  if (!(p->min_recall > 0 && p->min_recall <= 1))
    return hv_err_set(err, HV_EINVAL, "index: min recall %g is not in "
                      "(0, 1]", p->min_recall);
  if (p->iters < 1 || p->iters > 100)
    return hv_err_set(err, HV_EINVAL, "index: %d k-means iterations is out "
                      "of range 1..100", p->iters);
  for (size_t i = 0; i < n * (size_t)d; i++)
    if (!isfinite(vecs[i]))
      return hv_err_set(err, HV_EINVAL, "index: vector %zu is not finite",
                        i / (size_t)d);
  for (size_t i = 0; i < nq * (size_t)d; i++)
    if (!isfinite(q[i]))
      return hv_err_set(err, HV_EINVAL, "index: query %zu is not finite",
                        i / (size_t)d);
  return 0;
}

int ivf_build(const float *vecs, size_t n, int d, const float *queries,
              size_t nq, const unsigned char model_sum[32],
              const struct ivf_params *p, struct hv_ivf **out,
              struct hv_err *err)
{
  if (!out)
    return hv_err_set(err, HV_EINVAL, "index: no output");
  *out = NULL;
  int rc = check_build(vecs, n, d, queries, nq, model_sum, p, err);
  if (rc)
    return rc;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  int nlist = p->nlist ? p->nlist : auto_nlist(n);
  float *cent = malloc((size_t)nlist * d * sizeof(float));
  float *hn = malloc((size_t)nlist * sizeof(float));
  float *g = malloc((size_t)ASSIGN_BLOCK * nlist * sizeof(float));
  uint32_t *list = malloc(n * sizeof(uint32_t));
  unsigned char *img = NULL;
  size_t len = 0;
  struct hv_ivf *ix = NULL;
  if (!cent || !hn || !g || !list) {
    rc = hv_err_set(err, HV_ENOMEM, "index: out of memory");
    goto cleanup;
  }
  rc = kmeans(vecs, n, d, nlist, p->iters, p->seed, cent, err);
  if (!rc) {
    half_norms(cent, nlist, d, hn);
    assign(vecs, n, d, cent, nlist, hn, g, list);
    rc = make_image(vecs, n, d, nlist, cent, list, model_sum, nq, p, &img,
                    &len, err);
  }
  if (!rc)
    rc = ivf_from_image(img, len, &ix, err);
  if (!rc)
    rc = choose_nprobe(ix, vecs, queries, nq, p, err);
  if (!rc) {
    *out = ix;
    ix = NULL;
  }
cleanup:
  ivf_free(ix);
  free(cent);
  free(hn);
  free(g);
  free(list);
  return rc;
}

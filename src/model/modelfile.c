/*
 * modelfile.c - building and validating model file images: see
 * modelfile.h. Loading and saving files is in model.c.
 */
#include "model/modelfile.h"
#include "util/le.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "model/optim.h"
#include "util/fsutil.h"

const unsigned char modelfile_magic[8] = {0x89, 'H', 'V', 'M',
                                          'O',  'D', 'L', '\n'};

enum { SEC_ALIGN = 64, TAB_BYTES = 24 };

/* Header field offsets. */
enum {
  H_MAGIC = 0, H_VERSION = 8, H_HDRLEN = 12, H_FILELEN = 16, H_NSECT = 24,
  H_ENDIAN = 28, H_DIM = 32, H_FLAGS = 36, H_OPT = 40, H_BATCH = 44,
  H_EPOCHS = 48, H_EPOCHS_TOTAL = 52, H_SEED = 56, H_ADAM_STEP = 64,
  H_LR = 72, H_L2 = 80, H_TEMP = 88, H_SPLIT = 96, H_INIT_SCALE = 104,
  H_CREATED = 112, H_FIRST = 120, H_LAST = 128, H_NTRAIN = 136,
  H_NUSERS = 144, H_NMOVIES = 152, H_NVALS = 160, H_NSLOTS = 200,
  H_TASK = 204, H_HIDDEN = 208, H_MEAN = 216, H_END = 224
};

enum {
  S_USER_IDS = 1, S_MOVIE_IDS, S_VALS0, S_USER_FEAT = S_VALS0 + MODEL_NFEAT,
  S_MOVIE_YEAR, S_GENRE_OFF, S_GENRE, S_MOVIE_COUNT, S_PARAMS, S_STATE
};

static const char *const sec_names[MODELFILE_NSECT + 1] = {
    "",           "user ids",     "movie ids",   "age values",
    "gender values", "occupation values", "genre values", "year values",
    "user features", "movie years", "genre offsets", "genres",
    "movie counts", "parameters", "optimiser state"};

struct sec {
  uint32_t type, esize;
  uint64_t off, bytes;
  const void *src; /* build only */
};

/* ---- build ------------------------------------------------------------- */

static void fill_secs(const struct model_parts *p, struct sec *s)
{
  size_t nu = p->n_users, nm = p->n_movies;
  size_t ng = (size_t)p->F.genre_off[nm + 1];
  const struct {
    uint32_t esize;
    uint64_t n;
    const void *src;
  } t[MODELFILE_NSECT] = {
      {8, nu, p->user_ids},
      {8, nm, p->movie_ids},
      {8, p->n_vals[0], p->vals[0]},
      {8, p->n_vals[1], p->vals[1]},
      {8, p->n_vals[2], p->vals[2]},
      {8, p->n_vals[3], p->vals[3]},
      {8, p->n_vals[4], p->vals[4]},
      {4, 3 * (nu + 1), p->F.user_feat},
      {4, nm + 1, p->F.movie_year},
      {4, nm + 2, p->F.genre_off},
      {4, ng, p->F.genre},
      {8, nm + 1, p->movie_count},
      {4, p->L.n_params, p->params},
      {4, (uint64_t)p->n_slots * p->L.n_params, p->opt_state},
  };
  uint64_t off = MODELFILE_HEADER + TAB_BYTES * MODELFILE_NSECT;
  for (int i = 0; i < MODELFILE_NSECT; i++) {
    off = (off + SEC_ALIGN - 1) / SEC_ALIGN * SEC_ALIGN;
    s[i].type = (uint32_t)(i + 1);
    s[i].esize = t[i].esize;
    s[i].off = off;
    s[i].bytes = t[i].n * t[i].esize;
    s[i].src = t[i].src;
    off += s[i].bytes;
  }
}

static void put_header(const struct model_parts *p, unsigned char *h,
                       uint64_t file_len)
{
  const struct train_config *c = &p->meta.cfg;
  memcpy(h + H_MAGIC, modelfile_magic, 8);
  put_u32(h + H_VERSION, MODELFILE_VERSION);
  put_u32(h + H_HDRLEN, MODELFILE_HEADER);
  put_u64(h + H_FILELEN, file_len);
  put_u32(h + H_NSECT, MODELFILE_NSECT);
  put_u32(h + H_ENDIAN, 0x01020304u);
  put_u32(h + H_DIM, (uint32_t)p->L.dim);
  /* bits 3..5: user feature tables left out (0 in every older file) */
  put_u32(h + H_FLAGS, (c->features ? 1u : 0u) | (c->logq ? 2u : 0u) |
                           (c->remove_accidental_hits ? 4u : 0u) |
                           (p->L.user_off << 3));
  put_u32(h + H_OPT, (uint32_t)c->optimizer);
  put_u32(h + H_BATCH, (uint32_t)c->batch);
  put_u32(h + H_EPOCHS, (uint32_t)c->epochs);
  put_u32(h + H_EPOCHS_TOTAL, (uint32_t)p->meta.epochs_total);
  put_u64(h + H_SEED, c->seed);
  put_u64(h + H_ADAM_STEP, p->meta.adam_step);
  put_f64(h + H_LR, c->lr);
  put_f64(h + H_L2, c->l2);
  put_f64(h + H_TEMP, c->temperature);
  put_f64(h + H_SPLIT, c->split);
  put_f64(h + H_INIT_SCALE, c->init_scale);
  put_f64(h + H_CREATED, p->meta.created_at);
  put_u64(h + H_FIRST, (uint64_t)c->first_rating_id);
  put_u64(h + H_LAST, (uint64_t)c->last_rating_id);
  put_u64(h + H_NTRAIN, p->meta.n_train_ratings);
  put_u64(h + H_NUSERS, p->n_users);
  put_u64(h + H_NMOVIES, p->n_movies);
  for (int f = 0; f < MODEL_NFEAT; f++)
    put_u64(h + H_NVALS + 8 * f, p->n_vals[f]);
  put_u32(h + H_NSLOTS, (uint32_t)p->n_slots);
  /* retrieval files leave these zero, as every file before them did */
  if (c->task == MODEL_TASK_RANKING) {
    put_u32(h + H_TASK, (uint32_t)c->task);
    put_u32(h + H_HIDDEN, (uint32_t)c->hidden);
    put_f64(h + H_MEAN, p->meta.rank_mean);
  }
}

void model_parts_start(struct model_parts *p, const struct train_config *cfg,
                       uint64_t adam_step, int epochs_total, uint64_t n_train,
                       const struct model_layout *L)
{
  memset(p, 0, sizeof(*p));
  p->meta.cfg = *cfg;
  p->meta.adam_step = adam_step;
  p->meta.epochs_total = epochs_total;
  p->meta.n_train_ratings = n_train;
  p->meta.created_at = hv_now();
  p->L = *L;
}

int model_from_parts(const struct model_parts *p, struct hv_model **out,
                     struct hv_err *err)
{
  unsigned char *img = NULL;
  size_t len = 0;
  if (modelfile_build(p, &img, &len, err))
    return err->code;
  return model_from_image(img, len, 0, out, err);
}

int modelfile_build(const struct model_parts *p, unsigned char **out,
                    size_t *len, struct hv_err *err)
{
  struct sec s[MODELFILE_NSECT];
  *out = NULL;
  *len = 0;
  fill_secs(p, s);
  uint64_t total = s[MODELFILE_NSECT - 1].off + s[MODELFILE_NSECT - 1].bytes +
                   crypto_hash_sha256_BYTES;
  if (total > MODELFILE_MAX_BYTES)
    return hv_err_set(err, HV_ETOOBIG, "model of %llu bytes is too large",
                      (unsigned long long)total);
  unsigned char *img = calloc(1, (size_t)total);
  if (!img)
    return hv_err_set(err, HV_ENOMEM, "model image: out of memory");
  put_header(p, img, total);
  for (int i = 0; i < MODELFILE_NSECT; i++) {
    unsigned char *t = img + MODELFILE_HEADER + TAB_BYTES * i;
    put_u32(t, s[i].type);
    put_u32(t + 4, s[i].esize);
    put_u64(t + 8, s[i].off);
    put_u64(t + 16, s[i].bytes);
    if (s[i].bytes)
      memcpy(img + s[i].off, s[i].src, (size_t)s[i].bytes);
  }
  crypto_hash_sha256(img + total - crypto_hash_sha256_BYTES, img,
                     total - crypto_hash_sha256_BYTES);
  *out = img;
  *len = (size_t)total;
  return 0;
}

/* ---- parse ------------------------------------------------------------- */

#define BAD(...) hv_err_set(err, HV_ECORRUPT, __VA_ARGS__)

/* The task fields: all zero for a retrieval model; task 1 with a hidden
 * width in 0..1024 and a finite mean rating for a ranking model. */
static int parse_task(const unsigned char *h, struct hv_model *m,
                      struct hv_err *err)
{
  struct train_config *c = &m->meta.cfg;
  uint32_t task = get_u32(h + H_TASK), hidden = get_u32(h + H_HIDDEN);
  double mean = get_f64(h + H_MEAN);
  if (task > MODEL_TASK_RANKING)
    return BAD("header: unknown task %u (a newer harvest's model?)", task);
  if (task == MODEL_TASK_RETRIEVAL && (hidden || get_u64(h + H_MEAN)))
    return BAD("header: a retrieval model with ranking fields set");
  if (hidden > 1024 || !isfinite(mean) || mean < -1e6 || mean > 1e6)
    return BAD("header: ranking hidden width %u / mean %g out of range",
               hidden, mean);
  c->task = (int)task;
  c->hidden = (int)hidden;
  m->meta.rank_mean = mean;
  return 0;
}

static int parse_meta(const unsigned char *h, struct hv_model *m,
                      struct hv_err *err)
{
  struct train_config *c = &m->meta.cfg;
  memset(c, 0, sizeof(*c));
  uint32_t dim = get_u32(h + H_DIM), flags = get_u32(h + H_FLAGS);
  uint32_t opt = get_u32(h + H_OPT), batch = get_u32(h + H_BATCH);
  if (dim < 1 || dim > 1024)
    return BAD("header: dim %u is outside 1..1024", dim);
  if (flags > 63)
    return BAD("header: unknown flags 0x%x", flags);
  if ((flags >> 3) && !(flags & 1))
    return BAD("header: user feature tables left out (flags 0x%x) of a "
               "model without features", flags);
  if (opt > MODEL_OPT_ADAM)
    return BAD("header: unknown optimiser %u", opt);
  if (batch < 1 || batch > (1u << 20))
    return BAD("header: batch %u is outside 1..1048576", batch);
  c->dim = (int)dim;
  c->features = flags & 1;
  c->logq = (flags >> 1) & 1;
  c->remove_accidental_hits = (flags >> 2) & 1;
  c->optimizer = (int)opt;
  c->batch = (int)batch;
  c->epochs = (int)(get_u32(h + H_EPOCHS) & 0x7fffffff);
  m->meta.epochs_total = (int)(get_u32(h + H_EPOCHS_TOTAL) & 0x7fffffff);
  c->seed = get_u64(h + H_SEED);
  m->meta.adam_step = get_u64(h + H_ADAM_STEP);
  c->lr = get_f64(h + H_LR);
  c->l2 = get_f64(h + H_L2);
  c->temperature = get_f64(h + H_TEMP);
  c->split = get_f64(h + H_SPLIT);
  c->init_scale = get_f64(h + H_INIT_SCALE);
  m->meta.created_at = get_f64(h + H_CREATED);
  if (!(isfinite(c->lr) && c->lr > 0) || !(isfinite(c->l2) && c->l2 >= 0) ||
      !(isfinite(c->temperature) && c->temperature > 0) ||
      !(c->split > 0 && c->split <= 1) ||
      !(isfinite(c->init_scale) && c->init_scale >= 0) ||
      !isfinite(m->meta.created_at))
    return BAD("header: a hyperparameter (lr, l2, temperature, split, init "
               "scale, created-at) is out of range");
  c->first_rating_id = (int64_t)get_u64(h + H_FIRST);
  c->last_rating_id = (int64_t)get_u64(h + H_LAST);
  m->meta.n_train_ratings = get_u64(h + H_NTRAIN);
  uint64_t nu = get_u64(h + H_NUSERS), nm = get_u64(h + H_NMOVIES);
  if (nu > INT32_MAX - 2 || nm > INT32_MAX - 2)
    return BAD("header: %llu users / %llu movies is too many",
               (unsigned long long)nu, (unsigned long long)nm);
  m->n_users = (size_t)nu;
  m->n_movies = (size_t)nm;
  for (int f = 0; f < MODEL_NFEAT; f++) {
    uint64_t v = get_u64(h + H_NVALS + 8 * f);
    if (v > INT32_MAX - 2)
      return BAD("header: feature vocabulary %d has %llu values", f,
                 (unsigned long long)v);
    m->n_vals[f] = (size_t)v;
  }
  m->n_slots = (int)get_u32(h + H_NSLOTS);
  if (m->n_slots != optim_slots(c->optimizer))
    return BAD("header: %d optimiser slots, expected %d", m->n_slots,
               optim_slots(c->optimizer));
  for (size_t i = H_END; i < MODELFILE_HEADER; i++)
    if (h[i])
      return BAD("header: reserved byte %zu is not zero", i);
  if (parse_task(h, m, err))
    return err->code;
  model_layout_init(&m->L, c->dim, m->n_users, m->n_movies, m->n_vals,
                    c->features);
  unsigned off = (flags >> 3) & 7;
  for (int k = 0; k < 3; k++)
    if ((off & (1u << k)) && m->n_vals[k])
      return BAD("header: the %s table is left out but has %zu values",
                 dataset_user_feature_name(1u << k), m->n_vals[k]);
  if (off)
    model_layout_drop_user(&m->L, off);
  if (c->task == MODEL_TASK_RANKING)
    model_layout_rank(&m->L, c->hidden);
  if (m->L.n_params == 0 || m->L.n_params > MODELFILE_MAX_BYTES / 8)
    return BAD("header: %zu parameters is out of range", m->L.n_params);
  return 0;
}

static int check_secs(const unsigned char *img, size_t len,
                      const struct hv_model *m, struct sec *s,
                      struct hv_err *err)
{
  const uint64_t esz[MODELFILE_NSECT] = {8, 8, 8, 8, 8, 8, 8,
                                         4, 4, 4, 4, 8, 4, 4};
  const uint64_t cnt[MODELFILE_NSECT] = {
      m->n_users, m->n_movies, m->n_vals[0], m->n_vals[1], m->n_vals[2],
      m->n_vals[3], m->n_vals[4], 3 * ((uint64_t)m->n_users + 1),
      (uint64_t)m->n_movies + 1, (uint64_t)m->n_movies + 2,
      UINT64_MAX /* genres: checked against the offsets */,
      (uint64_t)m->n_movies + 1, m->L.n_params,
      (uint64_t)m->n_slots * m->L.n_params};
  uint64_t end = len - crypto_hash_sha256_BYTES;
  uint64_t prev = MODELFILE_HEADER + TAB_BYTES * MODELFILE_NSECT;
  for (int i = 0; i < MODELFILE_NSECT; i++) {
    const unsigned char *t = img + MODELFILE_HEADER + TAB_BYTES * i;
    s[i].type = get_u32(t);
    s[i].esize = get_u32(t + 4);
    s[i].off = get_u64(t + 8);
    s[i].bytes = get_u64(t + 16);
    const char *nm = sec_names[i + 1];
    if (s[i].type != (uint32_t)(i + 1) || s[i].esize != esz[i])
      return BAD("section %d (%s): type %u / element size %u, expected "
                 "%d / %llu", i + 1, nm, s[i].type, s[i].esize, i + 1,
                 (unsigned long long)esz[i]);
    if (s[i].off % SEC_ALIGN || s[i].off < prev || s[i].off > end ||
        s[i].bytes > end - s[i].off)
      return BAD("section %d (%s): offset %llu + %llu bytes is outside the "
                 "file (%zu bytes) or misplaced", i + 1, nm,
                 (unsigned long long)s[i].off,
                 (unsigned long long)s[i].bytes, len);
    if (cnt[i] != UINT64_MAX && s[i].bytes / esz[i] != cnt[i])
      return BAD("section %d (%s): %llu bytes, expected %llu", i + 1, nm,
                 (unsigned long long)s[i].bytes,
                 (unsigned long long)(cnt[i] * esz[i]));
    if (s[i].bytes % esz[i])
      return BAD("section %d (%s): %llu bytes is not a whole number of "
                 "elements", i + 1, nm, (unsigned long long)s[i].bytes);
    prev = s[i].off + s[i].bytes;
  }
  return 0;
}

static int check_ascending(const int64_t *v, size_t n, const char *what,
                           struct hv_err *err)
{
  for (size_t i = 1; i < n; i++)
    if (v[i] <= v[i - 1])
      return BAD("%s: not strictly ascending at index %zu", what, i);
  return 0;
}

static int check_index(const int32_t *v, size_t n, size_t stride, size_t col,
                       size_t limit, const char *what, struct hv_err *err)
{
  for (size_t i = 0; i < n; i++) {
    int32_t x = v[i * stride + col];
    if (x < 0 || (size_t)x > limit)
      return BAD("%s: index %d at row %zu is outside 0..%zu", what, x, i,
                 limit);
  }
  return 0;
}

static int check_floats(const float *v, size_t n, float min,
                        const char *what, struct hv_err *err)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]) || v[i] < min)
      return BAD("%s: value %zu is %g", what, i, (double)v[i]);
  return 0;
}

static int check_content(struct hv_model *m, struct hv_err *err)
{
  const size_t nu = m->n_users, nm = m->n_movies;
  if (check_ascending(m->user_ids, nu, "user ids", err) ||
      check_ascending(m->movie_ids, nm, "movie ids", err))
    return err->code;
  for (int f = 0; f < MODEL_NFEAT; f++)
    if (check_ascending(m->vals[f], m->n_vals[f], sec_names[S_VALS0 + f],
                        err))
      return err->code;
  for (size_t c = 0; c < 3; c++)
    if (check_index(m->F.user_feat, nu + 1, 3, c, m->n_vals[c],
                    "user features", err))
      return err->code;
  if (check_index(m->F.movie_year, nm + 1, 1, 0, m->n_vals[4], "movie years",
                  err))
    return err->code;
  if (m->F.genre_off[0] != 0)
    return BAD("genre offsets: first offset is %d, expected 0",
               m->F.genre_off[0]);
  for (size_t i = 1; i < nm + 2; i++)
    if (m->F.genre_off[i] < m->F.genre_off[i - 1])
      return BAD("genre offsets: decreasing at row %zu", i);
  for (size_t i = 0; i < nm + 1; i++)
    if (m->movie_count[i] < 0)
      return BAD("movie counts: negative at row %zu", i);
  return 0;
}

int modelfile_parse(const unsigned char *img, size_t len, struct hv_model *m,
                    struct hv_err *err)
{
  const size_t min_len =
      MODELFILE_HEADER + TAB_BYTES * MODELFILE_NSECT + crypto_hash_sha256_BYTES;
  if (!img || len < 8 || memcmp(img, modelfile_magic, 8))
    return BAD("not a Harvest model file (bad magic)");
  if (len < H_NSECT)
    return BAD("truncated: %zu bytes is shorter than the header", len);
  uint32_t ver = get_u32(img + H_VERSION);
  if (ver != MODELFILE_VERSION)
    return hv_err_set(err, HV_EVERSION,
                      "model format version %u, this harvest reads version "
                      "%d; %s",
                      ver, MODELFILE_VERSION,
                      ver > MODELFILE_VERSION ? "upgrade harvest"
                                              : "re-run 'harvest train'");
  if (len < min_len)
    return BAD("truncated: %zu bytes is shorter than the header", len);
  if (get_u32(img + H_HDRLEN) != MODELFILE_HEADER ||
      get_u32(img + H_NSECT) != MODELFILE_NSECT)
    return BAD("header: size %u / %u sections, expected %d / %d",
               get_u32(img + H_HDRLEN), get_u32(img + H_NSECT),
               MODELFILE_HEADER, MODELFILE_NSECT);
  if (get_u32(img + H_ENDIAN) != 0x01020304u)
    return BAD("header: byte-order mark is wrong (file from a big-endian "
               "machine or corrupt)");
  uint64_t flen = get_u64(img + H_FILELEN);
  if (flen != len)
    return BAD("truncated or padded: the header says %llu bytes, the file "
               "has %zu", (unsigned long long)flen, len);
  unsigned char sum[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(sum, img, len - sizeof(sum));
  if (sodium_memcmp(sum, img + len - sizeof(sum), sizeof(sum)))
    return BAD("checksum mismatch: the file is corrupt");
  if (parse_meta(img, m, err))
    return err->code;
  struct sec s[MODELFILE_NSECT];
  if (check_secs(img, len, m, s, err))
    return err->code;
#define AT(k) ((const void *)(img + s[(k)-1].off))
  m->user_ids = AT(S_USER_IDS);
  m->movie_ids = AT(S_MOVIE_IDS);
  for (int f = 0; f < MODEL_NFEAT; f++)
    m->vals[f] = AT(S_VALS0 + f);
  m->F.user_feat = AT(S_USER_FEAT);
  m->F.movie_year = AT(S_MOVIE_YEAR);
  m->F.genre_off = AT(S_GENRE_OFF);
  m->F.genre = AT(S_GENRE);
  m->movie_count = AT(S_MOVIE_COUNT);
  m->params = AT(S_PARAMS);
  m->opt_state = AT(S_STATE);
#undef AT
  if (check_content(m, err))
    return err->code;
  if ((uint64_t)m->F.genre_off[m->n_movies + 1] * 4 != s[S_GENRE - 1].bytes)
    return BAD("genres: %llu bytes, the offsets say %d genres",
               (unsigned long long)s[S_GENRE - 1].bytes,
               m->F.genre_off[m->n_movies + 1]);
  if (check_index(m->F.genre, (size_t)m->F.genre_off[m->n_movies + 1], 1, 0,
                  m->n_vals[3], "genres", err) ||
      check_floats(m->params, m->L.n_params, -INFINITY, "parameters", err) ||
      check_floats(m->opt_state, m->L.n_params, m->n_slots == 1 ? 0.0f
                                                                : -INFINITY,
                   "optimiser state", err) ||
      (m->n_slots == 2 &&
       check_floats(m->opt_state + m->L.n_params, m->L.n_params, 0.0f,
                    "optimiser state (v)", err)))
    return err->code;
  return 0;
}

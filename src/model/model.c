/*
 * model.c - the model object: layout, id lookup, loading (mmap), saving,
 * accessors. See model.h for the contract and model_internal.h for the
 * representation.
 *
 * A model is its file image plus the tower outputs computed once at load
 * (user_vec, movie_vec, and movie_pack: movie_vec in the layout of
 * score.h), so scoring is one packed matrix-vector product and never
 * touches the feature tables. model_load maps the file read-only
 * (MAP_PRIVATE); files are replaced by rename (hv_write_atomic), so a
 * mapping stays valid while a newer model is written over the same name.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/ivf.h"
#include "model/modelfile.h"
#include "model/score.h"
#include "model/tower.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/sort.h"

void model_layout_init(struct model_layout *L, int dim, size_t n_users,
                       size_t n_movies, const size_t n_vals[MODEL_NFEAT],
                       int features)
{
  assert(dim >= 1 && (!features || n_vals));
  memset(L, 0, sizeof(*L));
  L->dim = dim;
  L->rows[TAB_USER] = n_users + 1;
  L->rows[TAB_MOVIE] = n_movies + 1;
  for (int f = 0; f < MODEL_NFEAT; f++)
    L->rows[TAB_AGE + f] = features ? n_vals[f] + 1 : 0;
  size_t off = 0;
  for (int t = 0; t < TAB_COUNT; t++) {
    L->off[t] = off;
    off += L->rows[t] * (size_t)dim;
  }
  L->n_params = off;
}

void model_layout_drop_user(struct model_layout *L, unsigned off)
{
  assert(L->hidden == 0 && L->n_in == 0 && !(off & ~(unsigned)DATASET_UF_ALL));
  L->user_off = off;
  for (int k = 0; k < 3; k++)
    if (off & (1u << k))
      L->rows[TAB_AGE + k] = 0;
  size_t at = 0;
  for (int t = 0; t < TAB_COUNT; t++) {
    L->off[t] = at;
    at += L->rows[t] * (size_t)L->dim;
  }
  L->n_params = at;
}

unsigned model_user_features(const struct hv_model *m)
{
  if (!m || !m->meta.cfg.features)
    return 0;
  unsigned on = 0;
  for (int k = 0; k < 3; k++)
    if (m->L.rows[TAB_AGE + k])
      on |= 1u << k;
  return on;
}

void model_layout_rank(struct model_layout *L, int hidden)
{
  assert(hidden >= 0);
  const size_t H = (size_t)hidden;
  size_t off = L->n_params;
  L->hidden = hidden;
  L->n_in = 2 * (size_t)L->dim + 1;
  L->off_ubias = off;
  off += L->rows[TAB_USER];
  L->off_mbias = off;
  off += L->rows[TAB_MOVIE];
  L->off_w1 = off;
  off += L->n_in * H;
  L->off_b1 = off;
  off += H;
  L->off_w2 = off;
  off += H;
  L->off_b2 = off;
  off += 1;
  L->n_params = off;
}

size_t model_lookup(const int64_t *ids, size_t n, int64_t id)
{
  assert(ids || n == 0);
  return sort_find_i64(ids, n, id) + 1; /* SORT_NONE + 1 == 0: the OOV row */
}

int64_t model_year_bucket(int year)
{
  return year > 0 ? (int64_t)(year / 5) * 5 : 0;
}

static void release_image(unsigned char *image, size_t len, int mapped)
{
  if (!image)
    return;
  if (mapped)
    munmap(image, len);
  else
    free(image);
}

/* Tower outputs of every row; HV_ECORRUPT when one is not finite. */
static int compute_vecs(struct hv_model *m, struct hv_err *err)
{
  const int d = m->L.dim;
  size_t nu = m->n_users + 1, nm = m->n_movies + 1;
  size_t nmax = nu > nm ? nu : nm;
  int32_t *rows = malloc(nmax * sizeof(int32_t));
  m->user_vec = malloc(nu * d * sizeof(float));
  m->movie_vec = malloc(nm * d * sizeof(float));
  if (!rows || !m->user_vec || !m->movie_vec) {
    free(rows);
    return hv_err_set(err, HV_ENOMEM, "model: out of memory");
  }
  for (size_t i = 0; i < nmax; i++)
    rows[i] = (int32_t)i;
  int feat = m->meta.cfg.features;
  tower_forward(TOWER_USER, &m->L, m->params, &m->F, feat, rows, nu,
                m->user_vec);
  tower_forward(TOWER_MOVIE, &m->L, m->params, &m->F, feat, rows, nm,
                m->movie_vec);
  free(rows);
  for (size_t i = 0; i < nu * d; i++)
    if (!isfinite(m->user_vec[i]))
      return hv_err_set(err, HV_ECORRUPT, "user tower output is not finite");
  for (size_t i = 0; i < nm * d; i++)
    if (!isfinite(m->movie_vec[i]))
      return hv_err_set(err, HV_ECORRUPT, "movie tower output is not finite");
  /* the layout model_recommend scores against (score.h) */
  if (m->n_movies &&
      !(m->movie_pack = score_pack(m->movie_vec + d, m->n_movies, d)))
    return hv_err_set(err, HV_ENOMEM, "model: out of memory");
  return 0;
}

int model_from_image(unsigned char *image, size_t len, int mapped,
                     struct hv_model **out, struct hv_err *err)
{
  *out = NULL;
  struct hv_model *m = calloc(1, sizeof(*m));
  if (!m) {
    release_image(image, len, mapped);
    return hv_err_set(err, HV_ENOMEM, "model: out of memory");
  }
  m->image = image;
  m->image_len = len;
  m->image_mapped = mapped;
  if (modelfile_parse(image, len, m, err) || compute_vecs(m, err) ||
      (m->meta.cfg.task == MODEL_TASK_RANKING && rank_prepare(m, err))) {
    model_free(m);
    return err->code;
  }
  *out = m;
  return 0;
}

void model_free(struct hv_model *m)
{
  if (!m)
    return;
  release_image((unsigned char *)m->image, m->image_len, m->image_mapped);
  HV_FREE_ALL(m->user_vec, m->movie_vec, m->movie_pack, m->pop, m->movie_hid);
  ivf_free(m->ivf);
  free(m);
}

int model_load_buffer(const void *buf, size_t len, struct hv_model **out,
                      struct hv_err *err)
{
  *out = NULL;
  unsigned char *copy;
  int rc = mem_image_copy(buf, len, MODELFILE_MAX_BYTES, "model", &copy, err);
  return rc ? rc : model_from_image(copy, len, 0, out, err);
}

int model_load(const char *path, struct hv_model **out, struct hv_err *err)
{
  *out = NULL;
  if (!path || !*path)
    return hv_err_set(err, HV_EINVAL, "model: no file name");
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hv_err_set(err, errno == ENOENT ? HV_ENOTFOUND : HV_EIO,
                      "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return hv_err_set(err, HV_EINVAL, "%s: not a regular file", path);
  }
  size_t len = (size_t)st.st_size;
  if (len == 0) {
    close(fd);
    return hv_err_set(err, HV_ECORRUPT, "%s: empty file (truncated)", path);
  }
  if ((uint64_t)st.st_size > MODELFILE_MAX_BYTES) {
    close(fd);
    return hv_err_set(err, HV_ETOOBIG, "%s: %zu bytes is too large", path,
                      len);
  }
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED)
    return hv_err_set(err, HV_EIO, "%s: mmap: %s", path, strerror(errno));
  int rc = model_from_image(map, len, 1, out, err);
  if (rc)
    hv_err_prefix(err, "%s", path);
  return rc;
}

int model_save(const struct hv_model *m, const char *path,
               struct hv_err *err)
{
  if (!m || !path || !*path)
    return hv_err_set(err, HV_EINVAL, "model save: no model or path");
  return hv_write_atomic(path, m->image, m->image_len, 0644, err);
}

int model_knows_user(const struct hv_model *m, int64_t user_id)
{
  return m && model_lookup(m->user_ids, m->n_users, user_id) != 0;
}

int model_knows_movie(const struct hv_model *m, int64_t movie_id)
{
  return m && model_lookup(m->movie_ids, m->n_movies, movie_id) != 0;
}

int model_dim(const struct hv_model *m)
{
  return m->L.dim;
}

size_t model_n_users(const struct hv_model *m)
{
  return m->n_users;
}

size_t model_n_movies(const struct hv_model *m)
{
  return m->n_movies;
}

int64_t model_movie_id(const struct hv_model *m, size_t i)
{
  return i < m->n_movies ? m->movie_ids[i] : -1;
}

int64_t model_user_id(const struct hv_model *m, size_t i)
{
  return i < m->n_users ? m->user_ids[i] : -1;
}

void model_config(const struct hv_model *m, struct train_config *out)
{
  *out = m->meta.cfg;
}

size_t model_n_train_ratings(const struct hv_model *m)
{
  return (size_t)m->meta.n_train_ratings;
}

int model_epochs_total(const struct hv_model *m)
{
  return m->meta.epochs_total;
}

double model_created_at(const struct hv_model *m)
{
  return m->meta.created_at;
}

void model_sha256_hex(const struct hv_model *m, char out[65])
{
  /* the whole file, checksum included, so it matches the artifact's and
   * sha256sum's hash (the stored checksum covers all but itself) */
  unsigned char sum[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(sum, m->image, m->image_len);
  sodium_bin2hex(out, 65, sum, sizeof(sum));
}

void model_checksum(const struct hv_model *m, unsigned char out[32])
{
  memcpy(out, m->image + m->image_len - 32, 32);
}

int model_index_build(const struct hv_model *m, const struct ivf_params *p,
                      size_t n_queries, struct hv_ivf **out,
                      struct hv_err *err)
{
  if (!out)
    return hv_err_set(err, HV_EINVAL, "index: no output");
  *out = NULL;
  if (!m || !p || n_queries == 0)
    return hv_err_set(err, HV_EINVAL, "index: need a model, parameters and "
                      ">= 1 query");
  if (m->meta.cfg.task != MODEL_TASK_RETRIEVAL)
    return hv_err_set(err, HV_EINVAL, "index: a ranking model has no movie "
                      "tower to index");
  if (m->n_movies == 0)
    return hv_err_set(err, HV_EINVAL, "index: the model has no movies");
  const int d = m->L.dim;
  /* the users' own vectors are the queries recall is measured on (the OOV
   * row when the model knows none) */
  size_t nu = m->n_users ? m->n_users : 1;
  size_t nq = n_queries < nu ? n_queries : nu;
  size_t *perm = malloc(nu * sizeof(size_t));
  float *q = malloc(nq * (size_t)d * sizeof(float));
  if (!perm || !q) {
    free(perm);
    free(q);
    return hv_err_set(err, HV_ENOMEM, "index: out of memory");
  }
  struct rng_xo r;
  rng_xo_seed(&r, p->seed ^ 0x5155455259ull); /* not the k-means stream */
  for (size_t i = 0; i < nu; i++)
    perm[i] = i;
  rng_xo_shuffle(&r, perm, nu);
  for (size_t i = 0; i < nq; i++) {
    size_t row = m->n_users ? perm[i] + 1 : 0;
    memcpy(q + i * d, m->user_vec + row * d, (size_t)d * sizeof(float));
  }
  unsigned char sum[32];
  model_checksum(m, sum);
  int rc = ivf_build(m->movie_vec + d, m->n_movies, d, q, nq, sum, p, out,
                     err);
  free(perm);
  free(q);
  return rc;
}

int model_attach_index(struct hv_model *m, struct hv_ivf *ix,
                       struct hv_err *err)
{
  if (!ix)
    return 0;
  if (!m)
    return hv_err_set(err, HV_EINVAL, "index: no model to attach it to");
  if (m->ivf)
    return hv_err_set(err, HV_EINVAL, "index: the model has one already");
  if (m->meta.cfg.task != MODEL_TASK_RETRIEVAL)
    return hv_err_set(err, HV_EINVAL, "index: a ranking model cannot use "
                      "one");
  unsigned char sum[32];
  model_checksum(m, sum);
  if (ivf_matches(ix, m->n_movies, m->L.dim, sum, err))
    return err->code;
  m->ivf = ix;
  return 0;
}

const struct hv_ivf *model_index(const struct hv_model *m)
{
  return m ? m->ivf : NULL;
}

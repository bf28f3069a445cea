/*
 * eval.c - ranking metrics and evaluation loss: see eval.h.
 */
#include "model/eval.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "model/score.h"
#include "model/train.h"
#include "util/mem.h"
#include "util/rng.h"

const int eval_ks[EVAL_NK] = {1, 5, 10, 50, 100};

#define EVAL_TILE 128
#define TOPN 100

const int eval_age_buckets[EVAL_N_AGE] = {1, 18, 25, 35, 45, 50, 56};

enum { K10 = 2, K100 = 4 }; /* indices of K = 10 and 100 in eval_ks */
_Static_assert(EVAL_NSEG <= EVAL_MAX_SEG, "struct eval_metrics holds every "
               "segment slot");

/* Per-slot sums of the per-user ranking metrics (recall, NDCG). */
struct seg_rank {
  size_t rank_users;
  double rec10, ndcg10;
};

struct eval_state {
  const struct eval_model *em;
  const struct eval_input *in;
  int32_t *by_user;   /* (n) the pairs' movie rows grouped by user row
                       * (4 B a pair, not an 8-byte pair index) */
  size_t *uoff;       /* (n_users + 2) start of each user row in by_user */
  float *S;           /* (EVAL_TILE, n_movies) scores */
  float *U;           /* (EVAL_TILE, dim) */
  unsigned char *rel; /* (n_movies + 1) relevance marks */
  unsigned char *cov; /* (n_movies + 1) coverage marks */
  int64_t top[TOPN];
  struct eval_hits h;
  double rec10, rec100, ndcg10;
  size_t rank_users, users;
  struct seg_rank segr[EVAL_NSEG];
};

/* ---- segments and ranking (public, see eval.h) ----------------------------- */

void eval_segment_of(int gender, int age_bucket, unsigned absent,
                     int seg[2])
{
  seg[0] = EVAL_SEG_GENDER + (gender >= 0 && gender <= 2 ? gender : 0);
  seg[1] = EVAL_SEG_AGE_UNKNOWN;
  for (int i = 0; i < EVAL_N_AGE; i++)
    if (age_bucket == eval_age_buckets[i])
      seg[1] = EVAL_SEG_AGE + i;
  if (absent & DATASET_UF_GENDER)
    seg[0] = -1;
  if (absent & DATASET_UF_AGE)
    seg[1] = -1;
}

void eval_segment_name(int slot, char *buf, size_t cap)
{
  static const char *const gname[3] = {"unknown", "M", "F"};
  if (!buf || !cap)
    return;
  if (slot < EVAL_SEG_GENDER || slot >= EVAL_NSEG)
    buf[0] = '\0';
  else if (slot < EVAL_SEG_AGE)
    snprintf(buf, cap, "gender=%s", gname[slot - EVAL_SEG_GENDER]);
  else if (slot < EVAL_SEG_AGE_UNKNOWN)
    snprintf(buf, cap, "age=%d", eval_age_buckets[slot - EVAL_SEG_AGE]);
  else
    snprintf(buf, cap, "age=unknown");
}

size_t eval_rank(const float *scores, size_t n, size_t col)
{
  if (!scores || col >= n)
    return SIZE_MAX;
  const float s = scores[col];
  size_t c = 0;
  for (size_t k = 0; k < n; k++)
    c += scores[k] > s;
  return c;
}

_Static_assert(TOPN == EVAL_RANK_CAP, "eval_state.top holds eval_rank_prepare's list");

size_t eval_rank_prepare(const float *scores, size_t n,
                         int64_t top[EVAL_RANK_CAP])
{
  if (!scores || !top)
    return 0;
  return score_topk(scores, n, EVAL_RANK_CAP, top);
}

size_t eval_rank_capped(const float *scores, size_t n, const int64_t *top,
                        size_t ntop, size_t col)
{
  if (!scores || col >= n)
    return SIZE_MAX;
  if (!top || ntop < EVAL_RANK_CAP)
    return eval_rank(scores, n, col);
  /* top holds the EVAL_RANK_CAP largest scores; v is the least of them.
   * s < v: at least EVAL_RANK_CAP columns score above s. s >= v: every
   * column above s is above v, so it is in top. */
  const float s = scores[col];
  float v = scores[top[0]];
  for (size_t i = 1; i < ntop; i++)
    v = scores[top[i]] < v ? scores[top[i]] : v;
  if (s < v)
    return EVAL_RANK_CAP;
  size_t c = 0;
  for (size_t i = 0; i < ntop; i++)
    c += scores[top[i]] > s;
  return c;
}

static int slot_ok(int s)
{
  return s >= 0 && s < EVAL_NSEG;
}

void eval_hits_add(struct eval_hits *h, size_t rank, const int seg[2])
{
  if (!h)
    return;
  h->n_pairs++;
  for (int j = 0; j < 2; j++)
    if (seg && slot_ok(seg[j]))
      h->seg_pairs[seg[j]]++;
  for (int k = 0; k < EVAL_NK; k++) {
    if (rank >= (size_t)eval_ks[k])
      continue;
    h->hits[k] += 1.0;
    for (int j = 0; j < 2; j++)
      if (seg && slot_ok(seg[j]))
        h->seg_hits[seg[j]][k] += 1.0;
  }
}

void eval_hits_user(struct eval_hits *h, const int seg[2])
{
  if (!h || !seg)
    return;
  for (int j = 0; j < 2; j++)
    if (slot_ok(seg[j]))
      h->seg_users[seg[j]]++;
}

/* ---- eval_run ------------------------------------------------------------------ */

/* Segments of user row r: gender slot and age slot. */
static void segs_of(const struct eval_input *in, int32_t r, int s[2])
{
  eval_segment_of(in->gender_by_row ? in->gender_by_row[r] : 0,
                  in->age_by_row ? in->age_by_row[r] : -1, in->absent, s);
}

/* Top-K accuracy of the user's pairs from its score row S (n_movies);
 * movie row m is column m - 1, row 0 (unknown) is no column. */
static void rank_pairs(struct eval_state *st, const float *S, int32_t r)
{
  const struct eval_input *in = st->in;
  const size_t nm = st->em->n_movies;
  int sg[2];
  segs_of(in, r, sg);
  /* several pairs: the row's best EVAL_RANK_CAP once, not a scan a pair */
  size_t ntop = st->uoff[r + 1] - st->uoff[r] >= EVAL_RANK_MANY
                    ? eval_rank_prepare(S, nm, st->top)
                    : 0;
  for (size_t o = st->uoff[r]; o < st->uoff[r + 1]; o++) {
    int32_t m = st->by_user[o];
    size_t col = m > 0 ? (size_t)m - 1 : SIZE_MAX;
    eval_hits_add(&st->h, eval_rank_capped(S, nm, st->top, ntop, col), sg);
  }
}

/* Recall/NDCG of user row r with its seen movies masked in S. */
static void rank_user(struct eval_state *st, float *S, int32_t r)
{
  const struct eval_input *in = st->in;
  size_t nrel = 0;
  for (size_t o = st->uoff[r]; o < st->uoff[r + 1]; o++) {
    int32_t m = st->by_user[o];
    if (m > 0 && !st->rel[m]) {
      st->rel[m] = 1;
      nrel++;
    }
  }
  if (in->seen_off)
    for (size_t j = in->seen_off[r]; j < in->seen_off[r + 1]; j++) {
      int32_t m = in->seen[j];
      if (m > 0 && (size_t)m <= st->em->n_movies && !st->rel[m])
        S[m - 1] = -INFINITY;
    }
  if (nrel > 0) {
    size_t got = score_topk(S, st->em->n_movies, TOPN, st->top);
    double h10 = 0, h100 = 0, dcg = 0, idcg = 0;
    for (size_t i = 0; i < got; i++) {
      int32_t m = (int32_t)st->top[i] + 1;
      if (i < 10)
        st->cov[m] = 1;
      if (!st->rel[m])
        continue;
      h100 += 1;
      if (i < 10) {
        h10 += 1;
        dcg += 1.0 / log2((double)i + 2.0);
      }
    }
    for (size_t i = 0; i < nrel && i < 10; i++)
      idcg += 1.0 / log2((double)i + 2.0);
    st->rec10 += h10 / nrel;
    st->rec100 += h100 / nrel;
    st->ndcg10 += dcg / idcg;
    st->rank_users++;
    int sg[2];
    segs_of(in, r, sg);
    for (int j = 0; j < 2; j++) {
      if (!slot_ok(sg[j]))
        continue; /* a feature the dataset lacks */
      st->segr[sg[j]].rank_users++;
      st->segr[sg[j]].rec10 += h10 / nrel;
      st->segr[sg[j]].ndcg10 += dcg / idcg;
    }
  }
  for (size_t o = st->uoff[r]; o < st->uoff[r + 1]; o++)
    st->rel[st->by_user[o]] = 0;
}

/* Score the users rows[0..t) (all with pairs) and account their pairs. */
static void eval_tile(struct eval_state *st, const int32_t *rows, size_t t)
{
  const struct eval_model *em = st->em;
  const int d = em->dim;
  const size_t nm = em->n_movies;
  for (size_t i = 0; i < t; i++)
    memcpy(st->U + i * d, em->user_vec + (size_t)rows[i] * d,
           sizeof(float) * d);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)nm, d,
              1.0f, st->U, d, em->movie_vec + d, d, 0.0f, st->S, (int)nm);
  for (size_t i = 0; i < t; i++) {
    float *S = st->S + i * nm;
    int sg[2];
    rank_pairs(st, S, rows[i]);
    if (rows[i] == 0)
      continue; /* the OOV row merges many users: no per-user metrics */
    st->users++;
    segs_of(st->in, rows[i], sg);
    eval_hits_user(&st->h, sg);
    rank_user(st, S, rows[i]);
  }
}

static int group_by_user(struct eval_state *st, struct hv_err *err)
{
  const struct eval_input *in = st->in;
  const size_t nr = st->em->n_users + 1;
  st->uoff = calloc(nr + 1, sizeof(size_t));
  st->by_user = malloc((in->n ? in->n : 1) * sizeof(int32_t));
  if (!st->uoff || !st->by_user)
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  for (size_t i = 0; i < in->n; i++) {
    if (in->urow[i] < 0 || (size_t)in->urow[i] >= nr || in->mrow[i] < 0 ||
        (size_t)in->mrow[i] > st->em->n_movies)
      return hv_err_set(err, HV_EINVAL, "evaluate: pair %zu has a row out "
                        "of range", i);
    st->uoff[in->urow[i] + 1]++;
  }
  for (size_t r = 0; r < nr; r++)
    st->uoff[r + 1] += st->uoff[r];
  size_t *pos = malloc(nr * sizeof(size_t));
  if (!pos)
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  memcpy(pos, st->uoff, nr * sizeof(size_t));
  for (size_t i = 0; i < in->n; i++)
    st->by_user[pos[in->urow[i]]++] = in->mrow[i];
  free(pos);
  return 0;
}

/* In-batch softmax loss of the pairs in slice order (no L2). */
static int eval_loss(const struct eval_model *em, const struct eval_input *in,
                     struct eval_metrics *out, struct hv_err *err)
{
  const int d = em->dim;
  struct loss_ws *w =
      loss_ws_new(EVAL_LOSS_BATCH, em->n_users + 1, em->n_movies + 1, d);
  if (!w)
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  struct loss_opts lo = em->lo;
  lo.l2 = 0.0;
  double total = 0.0;
  size_t nb = 0;
  for (size_t s = 0; s < in->n; s += EVAL_LOSS_BATCH, nb++) {
    size_t B = in->n - s < EVAL_LOSS_BATCH ? in->n - s : EVAL_LOSS_BATCH;
    loss_ws_group(w, in->urow + s, in->mrow + s, B, em->logq_by_row);
    for (size_t u = 0; u < w->nu; u++)
      memcpy(w->U + u * d, em->user_vec + (size_t)w->urows[u] * d,
             sizeof(float) * d);
    for (size_t k = 0; k < w->nm; k++)
      memcpy(w->M + k * d, em->movie_vec + (size_t)w->mrows[k] * d,
             sizeof(float) * d);
    total += loss_distinct(w, &lo, 0);
  }
  loss_ws_free(w);
  out->loss = nb ? total / (double)nb : 0.0;
  out->loss_per_pair = in->n ? total / (double)in->n : 0.0;
  return 0;
}

static void finish(struct eval_state *st, struct eval_metrics *out)
{
  const double np = st->in->n ? (double)st->in->n : 1.0;
  const double nu = st->rank_users ? (double)st->rank_users : 1.0;
  for (int k = 0; k < EVAL_NK; k++)
    out->top_k[k] = st->h.hits[k] / np;
  out->n_users = st->users;
  out->recall_at_10 = st->rec10 / nu;
  out->recall_at_100 = st->rec100 / nu;
  out->ndcg_at_10 = st->ndcg10 / nu;
  size_t c = 0;
  for (size_t m = 1; m <= st->em->n_movies; m++)
    c += st->cov[m];
  out->coverage_at_10 =
      st->em->n_movies ? (double)c / (double)st->em->n_movies : 0.0;
  out->absent = st->in->absent;
  for (int s = 0; s < EVAL_NSEG; s++) {
    const struct eval_hits *h = &st->h;
    const struct seg_rank *a = &st->segr[s];
    if (!h->seg_pairs[s])
      continue;
    struct eval_segment *g = &out->seg[out->n_segments++];
    eval_segment_name(s, g->name, sizeof(g->name));
    g->n_pairs = h->seg_pairs[s];
    g->n_users = h->seg_users[s];
    g->top_10 = h->seg_hits[s][K10] / (double)h->seg_pairs[s];
    g->top_100 = h->seg_hits[s][K100] / (double)h->seg_pairs[s];
    double ru = a->rank_users ? (double)a->rank_users : 1.0;
    g->recall_at_10 = a->rec10 / ru;
    g->ndcg_at_10 = a->ndcg10 / ru;
  }
}

/* Rank every user with pairs, EVAL_TILE users at a time, reporting
 * progress through in->on_users about every tenth of them. */
static void eval_users(struct eval_state *st, int32_t *rows)
{
  const struct eval_input *in = st->in;
  size_t users = 0, done = 0, t = 0;
  for (size_t r = 0; r <= st->em->n_users; r++)
    users += st->uoff[r + 1] != st->uoff[r];
  size_t step = users / 10 > EVAL_TILE ? users / 10 : EVAL_TILE;
  size_t next = step;
  for (size_t r = 0; r <= st->em->n_users; r++) {
    if (st->uoff[r + 1] == st->uoff[r])
      continue;
    rows[t++] = (int32_t)r;
    if (t < EVAL_TILE && done + t < users)
      continue;
    eval_tile(st, rows, t);
    done += t;
    t = 0;
    if (in->on_users && done >= next && done < users) {
      in->on_users(in->ud, done, users);
      next = done + step;
    }
  }
  if (in->on_users)
    in->on_users(in->ud, users, users);
}

int eval_run(const struct eval_model *em, const struct eval_input *in,
             struct eval_metrics *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!em || !in || (in->n && (!in->urow || !in->mrow)) || em->dim < 1)
    return hv_err_set(err, HV_EINVAL, "evaluate: bad arguments");
  struct eval_state st;
  memset(&st, 0, sizeof(st));
  st.em = em;
  st.in = in;
  int32_t rows[EVAL_TILE];
  int rc = group_by_user(&st, err);
  if (!rc) {
    st.S = malloc(EVAL_TILE * (em->n_movies + 1) * sizeof(float));
    st.U = malloc(EVAL_TILE * (size_t)em->dim * sizeof(float));
    st.rel = calloc(em->n_movies + 1, 1);
    st.cov = calloc(em->n_movies + 1, 1);
    if (!st.S || !st.U || !st.rel || !st.cov)
      rc = hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  }
  if (!rc && em->n_movies > 0)
    eval_users(&st, rows);
  if (!rc) {
    out->n_pairs = in->n;
    for (size_t i = 0; i < in->n; i++) {
      out->n_unknown_users += in->urow[i] == 0;
      out->n_unknown_movies += in->mrow[i] == 0;
    }
    finish(&st, out);
    rc = eval_loss(em, in, out, err);
  }
  HV_FREE_ALL(st.by_user, st.uoff, st.S, st.U, st.rel, st.cov);
  return rc;
}

static int cmp_i32(const void *a, const void *b)
{
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

int eval_build_seen(size_t n_user_rows, const int32_t *urow,
                    const int32_t *mrow, size_t n, size_t **off,
                    int32_t **seen, struct hv_err *err)
{
  *off = calloc(n_user_rows + 1, sizeof(size_t));
  *seen = malloc((n ? n : 1) * sizeof(int32_t));
  size_t *pos = malloc((n_user_rows + 1) * sizeof(size_t));
  if (!*off || !*seen || !pos) {
    free(*off);
    free(*seen);
    free(pos);
    *off = NULL;
    *seen = NULL;
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  }
  for (size_t i = 0; i < n; i++)
    if (urow[i] > 0 && (size_t)urow[i] < n_user_rows)
      (*off)[urow[i] + 1]++;
  for (size_t r = 0; r < n_user_rows; r++)
    (*off)[r + 1] += (*off)[r];
  memcpy(pos, *off, (n_user_rows + 1) * sizeof(size_t));
  for (size_t i = 0; i < n; i++)
    if (urow[i] > 0 && (size_t)urow[i] < n_user_rows)
      (*seen)[pos[urow[i]]++] = mrow[i];
  /* sort and dedupe each row in place, compacting the CSR */
  size_t w = 0, start = 0;
  for (size_t r = 0; r < n_user_rows; r++) {
    size_t a = start, b = (*off)[r + 1];
    qsort(*seen + a, b - a, sizeof(int32_t), cmp_i32);
    (*off)[r] = w;
    for (size_t j = a; j < b; j++)
      if (j == a || (*seen)[j] != (*seen)[j - 1])
        (*seen)[w++] = (*seen)[j];
    start = b;
  }
  (*off)[n_user_rows] = w;
  free(pos);
  return 0;
}

/* ---- model_evaluate -------------------------------------------------------- */

struct me_data {
  size_t n;                  /* pairs in the slice */
  int32_t *ur, *mr, *tu, *tm; /* (n) slice rows, seen rows */
  int *gender, *age;          /* (n_users + 1) by model user row */
  unsigned absent;            /* the dataset's users.absent */
  float *logq;                /* (n_movies + 1) */
  size_t *off;
  int32_t *seen;
};

static void me_free(struct me_data *d)
{
  HV_FREE_ALL(d->ur, d->mr, d->tu, d->tm, d->gender, d->age, d->logq, d->off,
              d->seen);
}

static int in_slice(const struct hv_dataset *ds, size_t i)
{
  int64_t id = ds->ratings.rating_id[i];
  return id >= ds->first_rating_id && id <= ds->last_rating_id;
}

/* Rows of the ratings of ds in m's training range but outside the slice
 * (the "seen"), as a CSR by user row. */
static int me_seen(const struct hv_model *m, const struct hv_dataset *ds,
                   struct me_data *d, struct hv_err *err)
{
  const struct ratings_cols *R = &ds->ratings;
  const struct train_config *c = &m->meta.cfg;
  size_t k = 0;
  d->tu = malloc((R->n + 1) * sizeof(int32_t));
  d->tm = malloc((R->n + 1) * sizeof(int32_t));
  if (!d->tu || !d->tm)
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  for (size_t i = 0; i < R->n; i++) {
    if (in_slice(ds, i) || R->rating_id[i] < c->first_rating_id ||
        R->rating_id[i] > c->last_rating_id)
      continue;
    d->tu[k] = (int32_t)model_lookup(m->user_ids, m->n_users, R->user_id[i]);
    d->tm[k++] =
        (int32_t)model_lookup(m->movie_ids, m->n_movies, R->movie_id[i]);
  }
  return eval_build_seen(m->n_users + 1, d->tu, d->tm, k, &d->off, &d->seen,
                         err);
}

/* Segments by model user row and logQ by movie row (d->gender, age,
 * logq). */
static int me_users(const struct hv_model *m, const struct hv_dataset *ds,
                    struct me_data *d, struct hv_err *err)
{
  const struct dataset_users *US = &ds->users;
  d->gender = calloc(m->n_users + 1, sizeof(int));
  d->age = malloc((m->n_users + 1) * sizeof(int));
  d->logq = malloc((m->n_movies + 1) * sizeof(float));
  if (!d->gender || !d->age || !d->logq)
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  d->age[0] = -1;
  d->absent = US->absent;
  for (size_t r = 1; r <= m->n_users; r++) {
    size_t k = model_lookup(US->id, US->n, m->user_ids[r - 1]);
    d->gender[r] = k ? US->gender[k - 1] : 0;
    d->age[r] = k ? US->age_bucket[k - 1] : -1;
  }
  for (size_t r = 0; r <= m->n_movies; r++)
    d->logq[r] = train_logq(m->movie_count[r], m->meta.n_train_ratings);
  return 0;
}

/* Model rows (user into u[k], movie into mv[k]) of rating i of ds. */
static void me_pair(const struct hv_model *m, const struct hv_dataset *ds,
                    size_t i, int32_t *u, int32_t *mv)
{
  *u = (int32_t)model_lookup(m->user_ids, m->n_users, ds->ratings.user_id[i]);
  *mv = (int32_t)model_lookup(m->movie_ids, m->n_movies,
                              ds->ratings.movie_id[i]);
}

/* Model rows of the slice's pairs, segments by user row, logQ by movie. */
static int me_rows(const struct hv_model *m, const struct hv_dataset *ds,
                   struct me_data *d, struct hv_err *err)
{
  const struct ratings_cols *R = &ds->ratings;
  d->ur = malloc((R->n + 1) * sizeof(int32_t));
  d->mr = malloc((R->n + 1) * sizeof(int32_t));
  if (!d->ur || !d->mr)
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  for (size_t i = 0; i < R->n; i++) {
    if (!in_slice(ds, i))
      continue;
    me_pair(m, ds, i, &d->ur[d->n], &d->mr[d->n]);
    d->n++;
  }
  return me_users(m, ds, d, err);
}

/* eval_run over the pairs and seen set of d, with m's towers and loss. */
static int me_eval(const struct hv_model *m, const struct me_data *d,
                   struct eval_metrics *out, struct hv_err *err)
{
  const struct train_config *c = &m->meta.cfg;
  struct eval_model em = {
      m->L.dim, m->n_users, m->n_movies, m->user_vec, m->movie_vec,
      {c->temperature, 0.0, c->remove_accidental_hits},
      c->logq ? d->logq : NULL};
  struct eval_input in = {d->n,      d->ur,     d->mr,     d->off, d->seen,
                          d->gender, d->age,    d->absent, NULL,   NULL};
  return eval_run(&em, &in, out, err);
}

int model_evaluate(const struct hv_dataset *ds, const struct hv_model *m,
                   struct eval_metrics *out, struct hv_err *err)
{
  if (!ds || !m || !out)
    return hv_err_set(err, HV_EINVAL, "evaluate: no dataset or model");
  if (dataset_check(ds, "evaluate", err))
    return err->code;
  struct me_data d;
  memset(&d, 0, sizeof(d));
  int rc = me_rows(m, ds, &d, err);
  if (!rc && d.n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "evaluate: no ratings with rating_id in %lld:%lld",
                    (long long)ds->first_rating_id,
                    (long long)ds->last_rating_id);
  if (!rc)
    rc = me_seen(m, ds, &d, err);
  if (!rc)
    rc = me_eval(m, &d, out, err);
  me_free(&d);
  return rc;
}

/* ---- model_evaluate_split ---------------------------------------------------- */

size_t model_split_n_train(double split, size_t n)
{
  /* Python's round(): halves to even, as the peer's int(round(...)) */
  size_t n_train = (size_t)nearbyint(split * (double)n);
  if (n_train == 0)
    n_train = 1;
  return n_train > n ? n : n_train;
}

/* The pairs of split `which` of ds (the model's training range), in the
 * permutation's order as train_run evaluates them, and for the test split
 * the train split as the seen set. */
static int ms_rows(const struct hv_model *m, const struct hv_dataset *ds,
                   int which, struct me_data *d, struct hv_err *err)
{
  const struct train_config *c = &m->meta.cfg;
  const size_t n = ds->ratings.n;
  const size_t n_train = model_split_n_train(c->split, n);
  if (n_train != m->meta.n_train_ratings)
    return hv_err_set(
        err, HV_EINVAL,
        "evaluate: the model's training range %lld:%lld holds %zu ratings "
        "now; a %g split of them is %zu, but the model trained on %llu: the "
        "split cannot be rebuilt (ratings changed, or replay ratings were "
        "added by retrain); use --ratings FIRST:LAST",
        (long long)c->first_rating_id, (long long)c->last_rating_id, n,
        c->split, n_train, (unsigned long long)m->meta.n_train_ratings);
  if (which == MODEL_SPLIT_TEST && n_train == n)
    return hv_err_set(err, HV_ENOTFOUND,
                      "evaluate: the model was trained with split %g (all "
                      "ratings): it has no test split; use --split train",
                      c->split);
  size_t *perm = malloc((n + 1) * sizeof(size_t));
  d->ur = malloc((n + 1) * sizeof(int32_t));
  d->mr = malloc((n + 1) * sizeof(int32_t));
  d->tu = malloc((n_train + 1) * sizeof(int32_t));
  d->tm = malloc((n_train + 1) * sizeof(int32_t));
  if (!perm || !d->ur || !d->mr || !d->tu || !d->tm) {
    free(perm);
    return hv_err_set(err, HV_ENOMEM, "evaluate: out of memory");
  }
  rng_numpy_permutation((uint32_t)c->seed, perm, n);
  size_t lo = which == MODEL_SPLIT_TEST ? n_train : 0;
  size_t hi = which == MODEL_SPLIT_TRAIN ? n_train : n;
  for (size_t i = lo; i < hi; i++, d->n++)
    me_pair(m, ds, which == MODEL_SPLIT_ALL ? i : perm[i], &d->ur[d->n],
            &d->mr[d->n]);
  for (size_t i = 0; i < n_train; i++)
    me_pair(m, ds, perm[i], &d->tu[i], &d->tm[i]);
  free(perm);
  if (which == MODEL_SPLIT_TEST &&
      eval_build_seen(m->n_users + 1, d->tu, d->tm, n_train, &d->off,
                      &d->seen, err))
    return err->code;
  return me_users(m, ds, d, err);
}

int model_evaluate_split(const struct hv_dataset *ds,
                         const struct hv_model *m, int which,
                         struct eval_metrics *out, struct hv_err *err)
{
  if (!ds || !m || !out)
    return hv_err_set(err, HV_EINVAL, "evaluate: no dataset or model");
  if (which < MODEL_SPLIT_TEST || which > MODEL_SPLIT_ALL)
    return hv_err_set(err, HV_EINVAL, "evaluate: split %d is not test, "
                      "train or all", which);
  if (dataset_check(ds, "evaluate", err))
    return err->code;
  if (ds->ratings.n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "evaluate: the model's training "
                      "range holds no ratings");
  struct me_data d;
  memset(&d, 0, sizeof(d));
  int rc = ms_rows(m, ds, which, &d, err);
  if (!rc)
    rc = me_eval(m, &d, out, err);
  me_free(&d);
  return rc;
}

/* ---- fairness (public, see eval.h) ------------------------------------------ */

double eval_gap(const double *v, const size_t *n, size_t k, size_t min_n)
{
  double lo = INFINITY, hi = -INFINITY;
  size_t big = 0;
  for (size_t i = 0; v && i < k; i++) {
    if ((n && n[i] < min_n) || !isfinite(v[i]))
      continue;
    lo = v[i] < lo ? v[i] : lo;
    hi = v[i] > hi ? v[i] : hi;
    big++;
  }
  return big >= 2 ? hi - lo : 0.0;
}

struct pop_item {
  double count;
  size_t index;
};

static int cmp_pop(const void *a, const void *b)
{
  const struct pop_item *x = a, *y = b;
  if (x->count != y->count)
    return x->count < y->count ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

int eval_pop_deciles(const double *count, size_t n, unsigned char *dec,
                     struct hv_err *err)
{
  if (n && (!count || !dec))
    return hv_err_set(err, HV_EINVAL, "popularity deciles: NULL counts or "
                      "output for %zu items", n);
  for (size_t i = 0; i < n; i++)
    if (isnan(count[i]))
      return hv_err_set(err, HV_EINVAL, "popularity deciles: item %zu has "
                        "a NaN count", i);
  struct pop_item *it = malloc((n ? n : 1) * sizeof(*it));
  if (!it)
    return hv_err_set(err, HV_ENOMEM, "popularity deciles: out of memory");
  for (size_t i = 0; i < n; i++)
    it[i] = (struct pop_item){count[i], i};
  qsort(it, n, sizeof(*it), cmp_pop);
  for (size_t r = 0; r < n; r++)
    dec[it[r].index] = (unsigned char)(r * EVAL_NDEC / n);
  free(it);
  return 0;
}

double eval_exposure_shares(const double slots[EVAL_NDEC],
                            double share[EVAL_NDEC])
{
  double total = 0.0;
  for (int d = 0; d < EVAL_NDEC; d++)
    total += slots[d];
  for (int d = 0; d < EVAL_NDEC; d++)
    share[d] = total > 0.0 ? slots[d] / total : NAN;
  return total > 0.0 ? eval_gap(share, NULL, EVAL_NDEC, 0) : NAN;
}

/*
 * modelslot.c - refcounted model snapshots and their atomic swap: see
 * modelslot.h.
 */
#include "serve/http/modelslot.h"

#include <assert.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "recommend/recommend.h"
#include "store/catalog.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/sort.h"

struct modelslot {
  pthread_mutex_t lock;
  struct modelslot_snap *cur; /* holds one reference */
  uint64_t published;         /* snapshots published (their seq) */
};

struct modelslot *modelslot_new(void)
{
  struct modelslot *s = calloc(1, sizeof(*s));
  if (s)
    pthread_mutex_init(&s->lock, NULL);
  return s;
}

void modelslot_free(struct modelslot *s)
{
  if (!s)
    return;
  modelslot_release(s->cur);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static void snap_free(struct modelslot_snap *snap)
{
  model_topcache_free(snap->topcache); /* before the model it points to */
  for (int i = 0; i < MODELSLOT_RANKED; i++)
    recommend_memo_free(atomic_load(&snap->ranked_memo[i]));
  if (snap->free_model && snap->model)
    snap->free_model(snap->model);
  HV_FREE_ALL(snap->title_id, snap->title_off, snap->title_len, snap->text,
              snap->by_id, snap);
}

struct modelslot_snap *modelslot_snap_new(void *model,
                                          void (*free_model)(void *),
                                          const char *name, int64_t version,
                                          const char *stage,
                                          const char *source)
{
  struct modelslot_snap *snap = calloc(1, sizeof(*snap));
  if (!snap) {
    if (free_model && model)
      free_model(model);
    return NULL;
  }
  snap->model = model;
  snap->free_model = free_model;
  snprintf(snap->name, sizeof(snap->name), "%s", name ? name : "");
  snap->version = version;
  snprintf(snap->stage, sizeof(snap->stage), "%s", stage ? stage : "");
  snprintf(snap->source, sizeof(snap->source), "%s", source ? source : "");
  snprintf(snap->version_text, sizeof(snap->version_text), "%s/%lld",
           snap->name, (long long)version);
  snap->loaded_at = hv_now();
  atomic_init(&snap->refs, 1);
  return snap;
}

/* Growable (id, literal) list while the titles are read. */
struct title_build {
  struct modelslot_snap *snap;
  size_t cap, text_len, text_cap;
  int failed;
};

/* JSON literal of title in a new string; titles that are not valid UTF-8
 * have their non-ASCII bytes replaced by '?'. */
static char *encode_title(const char *title)
{
  json_t *j = json_string(title);
  if (!j) {
    char *safe = strdup(title);
    if (!safe)
      return NULL;
    for (char *p = safe; *p; p++)
      if ((unsigned char)*p >= 0x80)
        *p = '?';
    j = json_string(safe);
    free(safe);
  }
  char *s = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  json_decref(j);
  return s;
}

static int grow(void **p, size_t n, size_t size)
{
  void *q = realloc(*p, n * size);
  if (!q)
    return -1;
  *p = q;
  return 0;
}

static int add_title(void *ctx, int64_t id, const char *title)
{
  struct title_build *b = ctx;
  struct modelslot_snap *snap = b->snap;
  char *lit = encode_title(title);
  if (!lit)
    return b->failed = HV_ENOMEM;
  size_t len = strlen(lit);
  /* catalog_titles_each hands ids out ascending: modelslot_title's binary
   * search and by_id's range rely on it */
  assert(snap->n_titles == 0 || id > snap->title_id[snap->n_titles - 1]);
  if (snap->n_titles == b->cap) {
    b->cap = b->cap ? 2 * b->cap : 1024;
    if (grow((void **)&snap->title_id, b->cap, sizeof(int64_t)) ||
        grow((void **)&snap->title_off, b->cap, sizeof(uint32_t)) ||
        grow((void **)&snap->title_len, b->cap, sizeof(uint32_t)))
      goto oom;
  }
  if (b->text_len + len > b->text_cap) {
    size_t nc = b->text_cap ? 2 * b->text_cap : 65536;
    while (nc < b->text_len + len)
      nc *= 2;
    if (nc > UINT32_MAX || grow((void **)&snap->text, nc, 1))
      goto oom;
    b->text_cap = nc;
  }
  memcpy(snap->text + b->text_len, lit, len);
  snap->title_id[snap->n_titles] = id;
  snap->title_off[snap->n_titles] = (uint32_t)b->text_len;
  snap->title_len[snap->n_titles] = (uint32_t)len;
  snap->n_titles++;
  b->text_len += len;
  free(lit);
  return 0;
oom:
  free(lit);
  return b->failed = HV_ENOMEM;
}

int modelslot_snap_titles(struct modelslot_snap *snap, struct hv_db *c,
                          struct hv_err *err)
{
  struct title_build b = {.snap = snap};
  int rc = catalog_titles_each(c, add_title, &b, err);
  if (b.failed)
    return hv_err_set(err, HV_ENOMEM, "out of memory caching titles");
  if (rc || snap->n_titles == 0)
    return rc;
  /* ids come sorted; index them directly unless they are very sparse */
  int64_t lo = snap->title_id[0], hi = snap->title_id[snap->n_titles - 1];
  if (lo >= 0 && hi <= 4 * (int64_t)snap->n_titles + 1024 &&
      snap->n_titles < UINT32_MAX) {
    snap->by_id = calloc((size_t)hi + 1, sizeof(uint32_t));
    if (!snap->by_id)
      return hv_err_set(err, HV_ENOMEM, "out of memory caching titles");
    for (size_t i = 0; i < snap->n_titles; i++)
      snap->by_id[snap->title_id[i]] = (uint32_t)(i + 1);
    snap->max_id = hi;
  }
  return 0;
}

const char *modelslot_title(const struct modelslot_snap *snap, int64_t id,
                            size_t *len)
{
  if (snap->by_id) {
    if (id < 0 || id > snap->max_id || !snap->by_id[id])
      return NULL;
    size_t i = snap->by_id[id] - 1;
    *len = snap->title_len[i];
    return snap->text + snap->title_off[i];
  }
  size_t i = sort_find_i64(snap->title_id, snap->n_titles, id);
  if (i == SORT_NONE)
    return NULL;
  *len = snap->title_len[i];
  return snap->text + snap->title_off[i];
}

struct modelslot_snap *modelslot_acquire(struct modelslot *s)
{
  pthread_mutex_lock(&s->lock);
  struct modelslot_snap *snap = s->cur;
  /* the slot's own reference keeps it alive while we hold the lock */
  assert(!snap || atomic_load_explicit(&snap->refs, memory_order_relaxed) >= 1);
  if (snap)
    atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
  pthread_mutex_unlock(&s->lock);
  return snap;
}

void modelslot_release(struct modelslot_snap *snap)
{
  if (!snap)
    return;
  int before = atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel);
  assert(before >= 1); /* one release per reference */
  if (before == 1)
    snap_free(snap);
}

void modelslot_publish(struct modelslot *s, struct modelslot_snap *snap)
{
  pthread_mutex_lock(&s->lock);
  struct modelslot_snap *old = s->cur;
  snap->seq = ++s->published; /* before any reader can see it */
  s->cur = snap;
  pthread_mutex_unlock(&s->lock);
  modelslot_release(old); /* outside the lock: freeing may take a while */
}

int modelslot_peek(struct modelslot *s, char *name, size_t cap,
                   int64_t *version)
{
  pthread_mutex_lock(&s->lock);
  int have = s->cur != NULL;
  if (have) {
    if (name && cap)
      snprintf(name, cap, "%s", s->cur->name);
    if (version)
      *version = s->cur->version;
  }
  pthread_mutex_unlock(&s->lock);
  return have;
}

struct recommend_memo *modelslot_ranked_memo(struct modelslot_snap *snap,
                                             const struct modelslot_snap *ranker,
                                             int order, double blend,
                                             int candidates, int depth)
{
  if (!snap || !ranker || !ranker->seq)
    return NULL;
  for (int i = 0; i < MODELSLOT_RANKED; i++) {
    uint64_t seq = atomic_load_explicit(&snap->ranked_seq[i],
                                        memory_order_acquire);
    if (seq == 0 && atomic_compare_exchange_strong_explicit(
                        &snap->ranked_seq[i], &seq, ranker->seq,
                        memory_order_acq_rel, memory_order_acquire)) {
      struct recommend_memo *m = recommend_memo_new(
          snap->model, ranker->model, order, blend, candidates, depth);
      atomic_store_explicit(&snap->ranked_memo[i], m, memory_order_release);
      return m;
    }
    if (seq == ranker->seq)
      return atomic_load_explicit(&snap->ranked_memo[i],
                                  memory_order_acquire);
  }
  return NULL;
}

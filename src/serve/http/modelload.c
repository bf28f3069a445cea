/*
 * modelload.c - which model the server serves and when it changes: the
 * registry's Production version of the model name (or the --model-file),
 * loaded into a new snapshot (modelslot.h) with its title cache and memo,
 * published beside the old one; a model that fails to load is refused
 * (remembered, so the poller does not retry it every half second) and the
 * old one keeps serving. The srv_* accessors about the served model live
 * here too.
 *
 * Threads: loads run one at a time under s->load_lock (the poller, a
 * reload request, start-up); the slot itself is safe from any thread.
 */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/ivf.h"
#include "model/model.h"
#include "recommend/retindex.h"
#include "serve/http/metrics.h"
#include "serve/http/modelslot.h"
#include "serve/http/routes.h"
#include "serve/http/server_internal.h"
#include "store/db.h"
#include "store/registry_db.h"
#include "track/uri.h"
#include "util/mutex.h"

static void free_model(void *m)
{
  model_free(m);
}

static int same_file(const struct file_id *a, const struct file_id *b)
{
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec &&
         a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Where the model to serve is now: the --model-file, or the registry's
 * Production version of the model name. */
struct model_ref {
  char path[4096];
  int64_t version;         /* --model-file: the n-th load of the file */
  struct file_id fid;      /* for a file */
  const char *stage;
  struct retindex_src index; /* its stored retrieval index, if any */
};

static int resolve_file(struct serve *s, struct model_ref *r,
                        struct hv_err *err)
{
  struct stat st;
  snprintf(r->path, sizeof(r->path), "%s", s->model_file);
  if (stat(r->path, &st) != 0)
    return hv_err_set(err, HV_ENOTFOUND, "model file %s: %s", r->path,
                      strerror(errno));
  r->fid = (struct file_id){st.st_dev, st.st_ino, st.st_size, st.st_mtim};
  r->version = s->file_loads + 1; /* the n-th load of the file */
  r->stage = "file";
  struct uri_target t = {0};
  snprintf(t.path, sizeof(t.path), "%s", r->path);
  retindex_locate(s->home, NULL, &t, &r->index); /* FILE.ivf */
  return 0;
}

/* The registry's Production version of the model: the cheap lookup first
 * (a poll every half second must not hash files), then, for a version not
 * yet loaded, the pinned URI models:/NAME/VERSION, which re-hashes the blob
 * before handing out its path. Caller holds load_lock. */
static int resolve_registry(struct serve *s, struct hv_db *c,
                            struct model_ref *r, int force,
                            struct hv_err *err)
{
  assert(mutex_held(&s->load_lock));
  struct registry_version v;
  memset(&v, 0, sizeof(v));
  int rc = registry_db_find(c, s->model_name, 0, NULL, "Production",
                            &v, err);
  if (rc == HV_ENOTFOUND)
    return hv_err_set(err, HV_ENOTFOUND,
                      "no Production version of model '%s' is registered "
                      "(harvest models register --name %s ... --stage "
                      "Production)",
                      s->model_name, s->model_name);
  if (rc)
    return rc;
  r->version = v.version;
  r->stage = "Production";
  registry_db_version_free(&v);
  int have = modelslot_peek(s->slot, NULL, 0, NULL);
  if ((force == MODELLOAD_CHANGED && (r->version == s->loaded_version ||
                                      r->version == s->refused_version)) ||
      (force == MODELLOAD_RETRY && have && r->version == s->loaded_version))
    return 0; /* nothing to do: leave the path empty */
  char uri[URI_MAX];
  struct uri_target t;
  snprintf(uri, sizeof(uri), "models:/%s/%lld", s->model_name,
           (long long)r->version);
  if (uri_resolve_ex(s->home, c, uri, &t, err))
    return err->code;
  snprintf(r->path, sizeof(r->path), "%s", t.path);
  if (s->cfg.index_mode != RETINDEX_EXACT) /* the run's model/index.ivf */
    retindex_locate(s->home, c, &t, &r->index);
  return 0;
}

/* Load what ref names and publish it. Caller holds load_lock. */
static int load_ref(struct serve *s, const struct model_ref *ref,
                    struct hv_err *err)
{
  assert(mutex_held(&s->load_lock));
  struct hv_model *m = NULL;
  struct retindex_result ix;
  if (model_load(ref->path, &m, err))
    return err->code;
  /* the index rides in the model, so it swaps with it; one refused is
   * logged and the model serves exactly (retindex.h) */
  if (retindex_apply(m, &ref->index, s->cfg.index_mode,
                     s->cfg.index_min_recall > 0 ? s->cfg.index_min_recall
                                                 : IVF_DEFAULT_MIN_RECALL,
                     &ix, err)) {
    model_free(m);
    return err->code;
  }
  accesslog_event(s, "event=retrieval_index source=\"%s\" kind=%s "
                  "reason=\"%s\"", ref->path, ix.used ? "ivf" : "exact",
                  ix.why);
  const char *name = s->model_file[0] ? strrchr(ref->path, '/') : NULL;
  name = name ? name + 1 : (s->model_file[0] ? ref->path : s->model_name);
  struct modelslot_snap *snap =
      modelslot_snap_new(m, free_model, name, ref->version, ref->stage,
                         ref->path);
  if (!snap)
    return hv_err_set(err, HV_ENOMEM, "out of memory loading %s", ref->path);
  snap->scratch_size = model_scratch_size(m);
  snap->index = ix;
  snap->n_movies = (int)model_n_movies(m);
  /* the memo is an optimisation: without memory for it, serve without */
  if (s->cfg.cache_n > 0 &&
      !(snap->topcache = model_topcache_new(m, s->cfg.cache_n)))
    accesslog_event(s, "event=warning message=\"no memory for the top-%d memo of "
                "%zu users: every request scores\"",
             s->cfg.cache_n, model_n_users(m));
  if (modelslot_snap_titles(snap, s->load_db, err)) {
    modelslot_release(snap);
    return err->code;
  }
  modelslot_publish(s->slot, snap);
  return 0;
}

static void set_why(struct serve *s, const char *msg)
{
  pthread_mutex_lock(&s->why_lock);
  if (strcmp(s->why, msg) && *msg)
    accesslog_event(s, "event=not_ready reason=\"%s\"", msg);
  snprintf(s->why, sizeof(s->why), "%s", msg);
  pthread_mutex_unlock(&s->why_lock);
}

/* Check the model source and swap in a new model when it changed (or
 * always with force). Returns 0 when nothing changed or the swap worked. */
static int load_locked(struct serve *s, int force, int *swapped,
                       struct hv_err *err)
{
  assert(mutex_held(&s->load_lock)); /* load_db and the versions */
  struct model_ref ref = {.version = 0};
  *swapped = 0;
  if (s->load_db && !db_alive(s->load_db)) { /* reconnect */
    db_close(s->load_db);
    s->load_db = NULL;
  }
  if (!s->load_db && db_open(s->db_path, &s->load_db, err))
    return err->code;
  int rc = s->model_file[0] ? resolve_file(s, &ref, err)
                            : resolve_registry(s, s->load_db, &ref, force,
                                               err);
  int have = modelslot_peek(s->slot, NULL, 0, NULL);
  if (rc && (s->model_file[0] || ref.version <= 0)) { /* nothing to load */
    if (!have)
      set_why(s, err->msg);
    return rc;
  }
  if (!rc) {
    int unchanged = s->model_file[0] ? same_file(&ref.fid, &s->loaded_file)
                                     : ref.version == s->loaded_version;
    int refused = s->model_file[0] ? same_file(&ref.fid, &s->refused_file)
                                   : ref.version == s->refused_version;
    if ((force == MODELLOAD_CHANGED && ((have && unchanged) || refused)) ||
        (force == MODELLOAD_RETRY && have && unchanged))
      return 0;
    rc = load_ref(s, &ref, err);
  }
  metrics_reload(s->metrics, rc == 0);
  if (rc) {
    s->refused_version = ref.version;
    s->refused_file = ref.fid;
    accesslog_event(s, "event=model_refused source=\"%s\" version=%lld error=\"%s\"%s",
             ref.path, (long long)ref.version, err->msg,
             have ? " kept=previous" : "");
    if (!have)
      set_why(s, err->msg);
    return rc;
  }
  s->loaded_version = ref.version;
  s->loaded_file = ref.fid;
  if (s->model_file[0])
    s->file_loads++;
  s->refused_version = -1;
  memset(&s->refused_file, 0, sizeof(s->refused_file));
  set_why(s, "");
  *swapped = 1;
  accesslog_event(s, "event=model_loaded source=\"%s\" version=%lld stage=%s",
           ref.path, (long long)ref.version, ref.stage);
  return 0;
}

/* The ranker: the registry's Production version of s->ranker_name,
 * loaded when it changed (force as load_locked); none registered leaves
 * the slot as it is (empty: retrieval only). A model that is not a
 * ranking model, or fails to load, is refused and logged; the previous
 * ranker keeps serving. Caller holds load_lock. */
static void rank_load_locked(struct serve *s, int force)
{
  assert(mutex_held(&s->load_lock));
  struct registry_version v;
  struct hv_err e = {0};
  memset(&v, 0, sizeof(v));
  if (!s->load_db ||
      registry_db_find(s->load_db, s->ranker_name, 0, NULL, "Production", &v,
                       &e))
    return;
  int64_t version = v.version;
  registry_db_version_free(&v);
  int have = modelslot_peek(s->rank_slot, NULL, 0, NULL);
  if ((version == s->rank_loaded_version && have) ||
      (force == MODELLOAD_CHANGED && version == s->rank_refused_version))
    return;
  char uri[URI_MAX];
  struct uri_target t;
  struct hv_model *m = NULL;
  snprintf(uri, sizeof(uri), "models:/%s/%lld", s->ranker_name,
           (long long)version);
  int rc = uri_resolve_ex(s->home, s->load_db, uri, &t, &e);
  if (!rc)
    rc = model_load(t.path, &m, &e);
  if (!rc && model_task(m) != MODEL_TASK_RANKING)
    rc = hv_err_set(&e, HV_EINVAL, "%s is not a ranking model (train it "
                    "with --task ranking)", uri);
  struct modelslot_snap *snap = NULL;
  if (!rc && !(snap = modelslot_snap_new(m, free_model, s->ranker_name,
                                         version, "Production", t.path)))
    rc = hv_err_set(&e, HV_ENOMEM, "out of memory loading %s", uri);
  m = rc ? m : NULL; /* the snapshot owns it */
  model_free(m);
  if (rc) {
    s->rank_refused_version = version;
    accesslog_event(s, "event=ranker_refused version=%lld error=\"%s\"%s",
                    (long long)version, e.msg, have ? " kept=previous" : "");
    return;
  }
  modelslot_publish(s->rank_slot, snap);
  s->rank_loaded_version = version;
  accesslog_event(s, "event=ranker_loaded model=\"%s\" version=%lld",
                  s->ranker_name, (long long)version);
}

int modelload_load(struct serve *s, int force, struct hv_err *err)
{
  int swapped;
  pthread_mutex_lock(&s->load_lock);
  int rc = load_locked(s, force, &swapped, err);
  rank_load_locked(s, force);
  pthread_mutex_unlock(&s->load_lock);
  return rc;
}

struct modelslot_snap *modelload_ranker(struct serve *s)
{
  return modelslot_acquire(s->rank_slot);
}

struct modelslot_snap *srv_ranker(struct srv_req *req)
{
  return modelload_ranker(req->srv);
}

struct modelslot_snap *srv_model(struct srv_req *req, char *why, size_t cap)
{
  if (!req->snap)
    req->snap = modelslot_acquire(req->srv->slot);
  if (!req->snap && why && cap) {
    struct serve *s = req->srv;
    pthread_mutex_lock(&s->why_lock);
    snprintf(why, cap, "no model is loaded: %s",
             s->why[0] ? s->why : "loading");
    pthread_mutex_unlock(&s->why_lock);
  }
  return req->snap;
}

int srv_db_ready(struct srv_req *req, char *why, size_t cap)
{
  struct serve *s = req->srv;
  if (atomic_load(&s->db_ok))
    return 1;
  pthread_mutex_lock(&s->why_lock);
  snprintf(why, cap, "no database: %s", s->db_why);
  pthread_mutex_unlock(&s->why_lock);
  return 0;
}

int srv_reload(struct srv_req *req, json_t **summary, struct hv_err *err)
{
  struct serve *s = req->srv;
  char before[128] = "";
  int64_t v0 = 0;
  int had = modelslot_peek(s->slot, before, sizeof(before), &v0);
  /* the model served is the source's: nothing to hash, nothing to load
   * (a refused one is tried again) */
  pthread_mutex_lock(&s->load_lock);
  int swapped = 0;
  int rc = load_locked(s, MODELLOAD_RETRY, &swapped, err);
  rank_load_locked(s, MODELLOAD_RETRY);
  int same = !swapped;
  pthread_mutex_unlock(&s->load_lock);
  if (rc)
    return rc;
  char name[128];
  int64_t v1 = 0;
  modelslot_peek(s->slot, name, sizeof(name), &v1);
  *summary = json_pack("{s:s, s:s, s:I, s:o}", "message",
                       same ? "model unchanged" : "model reloaded",
                       "model", name, "version", (json_int_t)v1,
                       "previous_version",
                       had ? json_integer(v0) : json_null());
  return *summary ? 0 : hv_err_set(err, HV_ENOMEM, "out of memory");
}

int srv_metrics_text(struct srv_req *req, char **out, size_t *len,
                     struct hv_err *err)
{
  struct modelslot_snap *snap = srv_model(req, NULL, 0);
  struct metrics_model mm = {0};
  if (snap)
    mm = (struct metrics_model){
        snap->name, snap->version, snap->stage, snap->loaded_at,
        snap->topcache ? (long long)model_topcache_users(snap->topcache)
                       : -1,
        0, snap->index.used ? "ivf" : "exact", snap->index.recall};
  mm.in_flight = atomic_load(&req->srv->active);
  return metrics_render(req->srv->metrics, &mm, out, len, err);
}

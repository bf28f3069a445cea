/*
 * server.c - the libmicrohttpd daemon, request plumbing, per-thread state,
 * model loading and hot swap, graceful stop: see server.h.
 */
#include "serve/http/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <cblas.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "serve/http/metrics.h"
#include "serve/http/modelslot.h"
#include "serve/http/openapi.h"
#include "serve/http/routes.h"
#include "serve/ui/ui.h"
#include "store/api.h"
#include "store/registry_db.h"
#include "track/uri.h"
#include "util/fsutil.h"
#include "util/mutex.h"
#include "util/parse.h"
#include "util/sigfwd.h"

/* Per-connection state, reused by every request on a keep-alive
 * connection (so a request allocates no bookkeeping of its own). */
struct conn_ctx {
  char ip[INET6_ADDRSTRLEN];
  double start;            /* monotonic time of the request's headers */
  int route, status, responded;
  size_t sent;
  char *body;              /* request body, grown up to max_body */
  size_t body_len, body_cap;
  int too_big;
  char model_version[192];
  char method[16], path[256]; /* for the access log (truncated) */
};

#ifndef HV_MHD_POOL
#define HV_MHD_POOL 16384
#endif
#define LOGBUF_CAP 4096 /* PIPE_BUF: one write(2) of it is atomic */

struct logbuf {
  pthread_mutex_t lock;    /* the owner and the poller's flush */
  char data[LOGBUF_CAP];
  size_t len;
  double last_flush;       /* monotonic seconds */
};

/* Per-worker-thread state (a pthread key per server), listed in the
 * server so the poller can flush the log buffers. */
struct srv_thread {
  struct serve *s;
  struct srv_thread *next; /* in s->threads, under s->threads_lock */
  struct logbuf log;
  time_t ts_sec;           /* cached time-stamp prefix of that second */
  char ts_prefix[40];
  struct api_conn *api;
  float *scores;           /* (scores_cap) model_scratch_size floats */
  size_t scores_cap;
  int64_t *ids;            /* (n_cap) */
  float *top;              /* (n_cap) */
  size_t n_cap;
  double last_yield;        /* hv_mono() of the last maybe_yield */
};

/* The file a --model-file snapshot came from, to notice replacements. */
struct file_id {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
};

struct serve {
  struct serve_config cfg;
  char home[4096], db_path[4096], host[256], model_name[128];
  char model_file[4096];
  struct MHD_Daemon *d;
  int port;
  pthread_key_t key;
  struct modelslot *slot;
  struct auth *auth;
  struct metrics *metrics;
  struct ui *ui;            /* the web UI's secret (serve/ui.h) */
  pthread_mutex_t threads_lock;
  struct srv_thread *threads; /* workers with state, for log flushing */
  const char **route_names; /* (routes_count) for the metrics labels */
  char *openapi, *docs;
  size_t openapi_len, docs_len;
  char *tls_cert, *tls_key;
  atomic_int active;       /* requests in flight */
  atomic_int refusing;     /* stopping: new connections are closed */
  /* loading: one at a time (poller vs /monitor/reload_models) */
  pthread_mutex_t load_lock;
  struct api_conn *load_api; /* the loader's connection, under load_lock */
  int64_t loaded_version, refused_version;
  int64_t file_loads;      /* --model-file: successful loads so far */
  struct file_id loaded_file, refused_file;
  pthread_mutex_t why_lock;
  char why[256];           /* why no model is loaded; under why_lock */
  /* poller */
  pthread_t poller;
  int poller_running;
  pthread_mutex_t stop_lock;
  pthread_cond_t stop_cond;
  int stopping;
};

/* ---- logging ------------------------------------------------------------- */

/* Format "ts=... " + the message + '\n' into buf (cap bytes); returns the
 * length. */
static size_t format_line(char *buf, size_t cap, const char *fmt, va_list ap)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[40];
  strftime(stamp, sizeof(stamp), "ts=%Y-%m-%dT%H:%M:%S", &tm);
  int n = snprintf(buf, cap, "%s.%03ldZ ", stamp, ts.tv_nsec / 1000000);
  size_t len = n < 0 ? 0 : (size_t)n;
  int k = vsnprintf(buf + len, cap - len - 1, fmt, ap);
  len = k < 0 ? len : (len + (size_t)k > cap - 2 ? cap - 2 : len + (size_t)k);
  buf[len++] = '\n';
  return len;
}

static void log_line(const struct serve *s, const char *fmt, ...)
    HV_PRINTF(2, 3);

/* Write one line now (events, errors): one write(2) keeps it whole. */
static void log_line(const struct serve *s, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  size_t n = format_line(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  ssize_t w = write(s->cfg.log_fd, buf, n);
  (void)w;
}

/* Write out a thread's buffered access-log lines. Caller holds b->lock. At
 * most LOGBUF_CAP (= PIPE_BUF) bytes per write, so lines from different
 * threads never interleave even on a pipe. */
static void logbuf_flush(const struct serve *s, struct logbuf *b, double now)
{
  assert(mutex_held(&b->lock));
  if (b->len) {
    ssize_t w = write(s->cfg.log_fd, b->data, b->len);
    (void)w;
  }
  b->len = 0;
  b->last_flush = now;
}

/* Append n bytes of formatted line(s) to t's buffer: written when it is
 * full, when the last write is over 0.1 s old, or by the poller within
 * poll_seconds. */
static void logbuf_append(struct serve *s, struct srv_thread *t,
                          const char *buf, size_t n)
{
  double now = hv_mono();
  struct logbuf *b = &t->log;
  assert(n <= sizeof(b->data)); /* fits once flushed: lines are < 1 KiB */
  pthread_mutex_lock(&b->lock);
  if (b->len + n > sizeof(b->data))
    logbuf_flush(s, b, now);
  memcpy(b->data + b->len, buf, n);
  b->len += n;
  if (now - b->last_flush >= 0.1)
    logbuf_flush(s, b, now);
  pthread_mutex_unlock(&b->lock);
}

/* Append src[0..n) at p, cut at end; returns the new end. */
static char *put_n(char *p, const char *end, const char *src, size_t n)
{
  if (n > (size_t)(end - p))
    n = (size_t)(end - p);
  memcpy(p, src, n);
  return p + n;
}

static char *put_s(char *p, const char *end, const char *src)
{
  return put_n(p, end, src, strlen(src));
}

/* Decimal v, at least width digits (zero-padded). */
static char *put_u(char *p, const char *end, uint64_t v, int width)
{
  char t[24];
  int i = (int)sizeof(t);
  do {
    t[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v || (int)sizeof(t) - i < width);
  return put_n(p, end, t + i, sizeof(t) - (size_t)i);
}

/* Flush every worker's log buffer (the poller, and before stopping). */
static void log_flush_all(struct serve *s)
{
  double now = hv_mono();
  pthread_mutex_lock(&s->threads_lock);
  for (struct srv_thread *t = s->threads; t; t = t->next) {
    pthread_mutex_lock(&t->log.lock);
    logbuf_flush(s, &t->log, now);
    pthread_mutex_unlock(&t->log.lock);
  }
  pthread_mutex_unlock(&s->threads_lock);
}

/* Copy s into out as a logfmt value: printable ASCII except '"' and '\',
 * everything else as \xHH (so no request can forge a log line). */
static void log_safe(const char *s, char *out, size_t cap)
{
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (; s && *s && o + 5 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out[o++] = (char)c;
    } else {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  out[o] = '\0';
}

/* ---- per-thread state ---------------------------------------------------- */

static void thread_free(void *p)
{
  struct srv_thread *t = p;
  if (!t)
    return;
  struct serve *s = t->s;
  pthread_mutex_lock(&s->threads_lock);
  for (struct srv_thread **pp = &s->threads; *pp; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  pthread_mutex_unlock(&s->threads_lock);
  pthread_mutex_lock(&t->log.lock);
  logbuf_flush(s, &t->log, 0);
  pthread_mutex_unlock(&t->log.lock);
  pthread_mutex_destroy(&t->log.lock);
  api_close(t->api);
  free(t->scores);
  free(t->ids);
  free(t->top);
  free(t);
}

/* struct sched_attr of sched_setattr(2) (glibc 2.36 has no wrapper). */
struct hv_sched_attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};

/* Ask for a scheduler slice of us microseconds for the calling worker
 * (Linux >= 6.12 EEVDF: a shorter slice gets the thread on the CPU sooner
 * when it wakes; older kernels ignore it for SCHED_OTHER). Keeps policy
 * and nice. Best effort: a refusal leaves the kernel's default. */
static void set_slice(int us)
{
  struct hv_sched_attr a = {0};
  if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof(a), 0) != 0 ||
      a.policy != SCHED_OTHER)
    return;
  a.size = sizeof(a);
  a.flags = 0;
  a.runtime = (uint64_t)us * 1000;
  (void)syscall(SYS_sched_setattr, 0, &a, 0);
}

/* At the end of a request, give the CPU away when this worker's last yield
 * is slice_us or more ago: a busy worker thus yields once per slice of
 * work, and a client or other services runnable on the same core are not
 * kept waiting a whole scheduler tick (4 ms at HZ=250) behind it. Costs at
 * most one sched_yield(2) per slice; it returns at once when no one else is
 * runnable. */
static void maybe_yield(struct srv_thread *t, double now, int slice_us)
{
  if (now - t->last_yield >= slice_us * 1e-6) {
    sched_yield();
    t->last_yield = now;
  }
}

static struct srv_thread *thread_get(struct serve *s)
{
  struct srv_thread *t = pthread_getspecific(s->key);
  if (t)
    return t;
  t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->s = s;
  t->ts_sec = -1;
  if (s->cfg.slice_us > 0)
    set_slice(s->cfg.slice_us); /* thread_get runs on the worker itself */
  if (pthread_setspecific(s->key, t) != 0) {
    free(t);
    return NULL;
  }
  pthread_mutex_init(&t->log.lock, NULL);
  pthread_mutex_lock(&s->threads_lock);
  t->next = s->threads;
  s->threads = t;
  pthread_mutex_unlock(&s->threads_lock);
  return t;
}

struct api_conn *srv_api(struct srv_req *req, struct hv_err *err)
{
  struct srv_thread *t = req->thread;
  if (!t) {
    hv_err_set(err, HV_ENOMEM, "out of memory (thread state)");
    return NULL;
  }
  if (!t->api && api_open(req->srv->db_path, &t->api, err))
    return NULL;
  return t->api;
}

int srv_scratch(struct srv_req *req, const struct modelslot_snap *snap,
                size_t n, float **scores, int64_t **ids, float **top)
{
  struct srv_thread *t = req->thread;
  if (!t)
    return HV_ENOMEM;
  if (snap->scratch_size > t->scores_cap) {
    float *p = realloc(t->scores, snap->scratch_size * sizeof(float));
    if (!p)
      return HV_ENOMEM;
    t->scores = p;
    t->scores_cap = snap->scratch_size;
  }
  if (n > t->n_cap) {
    size_t cap = n < 64 ? 64 : n;
    int64_t *i = realloc(t->ids, cap * sizeof(*i));
    if (i)
      t->ids = i;
    float *f = i ? realloc(t->top, cap * sizeof(*f)) : NULL;
    if (!f)
      return HV_ENOMEM;
    t->top = f;
    t->n_cap = cap;
  }
  *scores = t->scores;
  *ids = t->ids;
  *top = t->top;
  return 0;
}

/* ---- request accessors ---------------------------------------------------- */

const char *srv_query(struct srv_req *req, const char *name)
{
  const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
                                              name);
  if (v)
    return v;
  /* "?name" with no '=' is present with a NULL value */
  return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name,
                                       strlen(name), NULL, NULL) == MHD_YES
             ? ""
             : NULL;
}

struct query_iter {
  const char *name;
  int (*fn)(void *ctx, const char *value);
  void *ctx;
  int rc;
};

static enum MHD_Result query_iter_cb(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
  struct query_iter *q = cls;
  if (!key || strcmp(key, q->name))
    return MHD_YES;
  q->rc = q->fn(q->ctx, value ? value : "");
  return q->rc ? MHD_NO : MHD_YES;
}

int srv_query_each(struct srv_req *req, const char *name,
                   int (*fn)(void *ctx, const char *value), void *ctx)
{
  struct query_iter q = {name, fn, ctx, 0};
  MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_iter_cb,
                            &q);
  return q.rc;
}

const char *srv_header(struct srv_req *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *srv_cookie(struct srv_req *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

struct ui *srv_ui(struct srv_req *req)
{
  return req->srv->ui;
}

#define FORM_VALUE_MAX 4096

static int form_put(struct srv_req *req, const char *key, const char *data,
                    size_t size, uint64_t off)
{
  int i = 0;
  while (i < req->n_form && strcmp(req->form_key[i], key))
    i++;
  if (i == req->n_form) {
    if (req->n_form == SRV_FORM_MAX || off != 0)
      return 0; /* ignore extra fields */
    req->form_key[i] = strdup(key);
    req->form_val[i] = calloc(1, 1);
    if (!req->form_key[i] || !req->form_val[i])
      return -1;
    req->n_form++;
  }
  size_t have = strlen(req->form_val[i]);
  if (have + size > FORM_VALUE_MAX)
    return -1;
  char *v = realloc(req->form_val[i], have + size + 1);
  if (!v)
    return -1;
  memcpy(v + have, data, size);
  v[have + size] = '\0';
  req->form_val[i] = v;
  return 0;
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *filename,
                                 const char *content_type,
                                 const char *transfer_encoding,
                                 const char *data, uint64_t off, size_t size)
{
  return key && form_put(cls, key, data ? data : "", size, off) == 0 ? MHD_YES
                                                                      : MHD_NO;
}

int srv_form_json(struct srv_req *req, struct hv_err *err)
{
  json_error_t je;
  json_t *j = json_loadb(req->body, req->body_len, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    return hv_err_set(err, HV_EINVAL,
                      j ? "body: expected a JSON object"
                        : "body: invalid JSON at line %d column %d: %s",
                      je.line, je.column, je.text);
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v)
  {
    char num[32];
    const char *text = json_string_value(v);
    if (json_is_integer(v)) {
      snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
      text = num;
    }
    if (text && form_put(req, k, text, strlen(text), 0) != 0) {
      json_decref(j);
      return hv_err_set(err, HV_EINVAL, "%s: value too long", k);
    }
  }
  json_decref(j);
  return 0;
}

static int form_parse(struct srv_req *req, struct hv_err *err)
{
  const char *ct = srv_header(req, "Content-Type");
  if (ct && !strncasecmp(ct, "application/json", 16))
    return srv_form_json(req, err);
  struct MHD_PostProcessor *pp =
      MHD_create_post_processor(req->conn, 1024, post_iter, req);
  if (!pp)
    return hv_err_set(err, HV_EINVAL,
                      "body: expected a form (application/x-www-form-"
                      "urlencoded or multipart/form-data) or a JSON object");
  enum MHD_Result ok = req->body_len
                           ? MHD_post_process(pp, req->body, req->body_len)
                           : MHD_YES;
  if (MHD_destroy_post_processor(pp) != MHD_YES || ok != MHD_YES)
    return hv_err_set(err, HV_EINVAL, "body: malformed form data");
  return 0;
}

const char *srv_form(struct srv_req *req, const char *name,
                     struct hv_err *err)
{
  if (req->n_form == 0 && form_parse(req, err))
    return NULL;
  if (req->n_form == 0)
    req->n_form = -1; /* parsed, empty */
  for (int i = 0; i < req->n_form; i++)
    if (!strcmp(req->form_key[i], name))
      return req->form_val[i];
  return NULL;
}

static void form_free(struct srv_req *req)
{
  for (int i = 0; i < req->n_form; i++) {
    free(req->form_key[i]);
    free(req->form_val[i]);
  }
  req->n_form = 0;
}

struct auth *srv_auth(struct srv_req *req)
{
  return req->srv->auth;
}

struct metrics *srv_metrics(struct srv_req *req)
{
  return req->srv->metrics;
}

const struct serve_config *srv_config(struct srv_req *req)
{
  return &req->srv->cfg;
}

const char *srv_openapi(struct srv_req *req, size_t *len)
{
  *len = req->srv->openapi_len;
  return req->srv->openapi;
}

const char *srv_docs(struct srv_req *req, size_t *len)
{
  *len = req->srv->docs_len;
  return req->srv->docs;
}

/* ---- models ------------------------------------------------------------- */

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
  return 0;
}

/* The registry's Production version of the model: the cheap lookup first
 * (a poll every half second must not hash files), then, for a version not
 * yet loaded, the pinned URI models:/NAME/VERSION, which re-hashes the blob
 * before handing out its path. Caller holds load_lock. */
static int resolve_registry(struct serve *s, struct api_conn *c,
                            struct model_ref *r, int force,
                            struct hv_err *err)
{
  assert(mutex_held(&s->load_lock));
  struct registry_version v;
  memset(&v, 0, sizeof(v));
  int rc = registry_db_find(api_db(c), s->model_name, 0, NULL, "Production",
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
  if (!force && (r->version == s->loaded_version ||
                 r->version == s->refused_version))
    return 0; /* nothing to do: leave the path empty */
  char uri[URI_MAX];
  struct uri_target t;
  snprintf(uri, sizeof(uri), "models:/%s/%lld", s->model_name,
           (long long)r->version);
  if (uri_resolve_ex(s->home, api_db(c), uri, &t, err))
    return err->code;
  snprintf(r->path, sizeof(r->path), "%s", t.path);
  return 0;
}

/* Load what ref names and publish it. Caller holds load_lock. */
static int load_ref(struct serve *s, const struct model_ref *ref,
                    struct hv_err *err)
{
  assert(mutex_held(&s->load_lock));
  struct hv_model *m = NULL;
  if (model_load(ref->path, &m, err))
    return err->code;
  const char *name = s->model_file[0] ? strrchr(ref->path, '/') : NULL;
  name = name ? name + 1 : (s->model_file[0] ? ref->path : s->model_name);
  struct modelslot_snap *snap =
      modelslot_snap_new(m, free_model, name, ref->version, ref->stage,
                         ref->path);
  if (!snap)
    return hv_err_set(err, HV_ENOMEM, "out of memory loading %s", ref->path);
  snap->scratch_size = model_scratch_size(m);
  snap->n_movies = (int)model_n_movies(m);
  /* the memo is an optimisation: without memory for it, serve without */
  if (s->cfg.cache_n > 0 &&
      !(snap->topcache = model_topcache_new(m, s->cfg.cache_n)))
    log_line(s, "event=warning message=\"no memory for the top-%d memo of "
                "%zu users: every request scores\"",
             s->cfg.cache_n, model_n_users(m));
  if (modelslot_snap_titles(snap, s->load_api, err)) {
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
    log_line(s, "event=not_ready reason=\"%s\"", msg);
  snprintf(s->why, sizeof(s->why), "%s", msg);
  pthread_mutex_unlock(&s->why_lock);
}

/* Check the model source and swap in a new model when it changed (or
 * always with force). Returns 0 when nothing changed or the swap worked. */
static int load_locked(struct serve *s, int force, int *swapped,
                       struct hv_err *err)
{
  assert(mutex_held(&s->load_lock)); /* load_api and the versions */
  struct model_ref ref = {.version = 0};
  *swapped = 0;
  if (!s->load_api && api_open(s->db_path, &s->load_api, err))
    return err->code;
  int rc = s->model_file[0] ? resolve_file(s, &ref, err)
                            : resolve_registry(s, s->load_api, &ref, force,
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
    if (!force && ((have && unchanged) || refused))
      return 0;
    rc = load_ref(s, &ref, err);
  }
  metrics_reload(s->metrics, rc == 0);
  if (rc) {
    s->refused_version = ref.version;
    s->refused_file = ref.fid;
    log_line(s, "event=model_refused source=\"%s\" version=%lld error=\"%s\"%s",
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
  log_line(s, "event=model_loaded source=\"%s\" version=%lld stage=%s",
           ref.path, (long long)ref.version, ref.stage);
  return 0;
}

static int load_model(struct serve *s, int force, struct hv_err *err)
{
  int swapped;
  pthread_mutex_lock(&s->load_lock);
  int rc = load_locked(s, force, &swapped, err);
  pthread_mutex_unlock(&s->load_lock);
  return rc;
}

int serve_reload(struct serve *s, struct hv_err *err)
{
  return load_model(s, 1, err);
}

int serve_ready(struct serve *s)
{
  return modelslot_peek(s->slot, NULL, 0, NULL);
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

int srv_reload(struct srv_req *req, json_t **summary, struct hv_err *err)
{
  struct serve *s = req->srv;
  char before[128] = "";
  int64_t v0 = 0;
  int had = modelslot_peek(s->slot, before, sizeof(before), &v0);
  if (serve_reload(s, err))
    return err->code;
  char name[128];
  int64_t v1 = 0;
  modelslot_peek(s->slot, name, sizeof(name), &v1);
  *summary = json_pack("{s:s, s:s, s:I, s:o}", "message", "model reloaded",
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
                       : -1};
  return metrics_render(req->srv->metrics, &mm, out, len, err);
}

static void *poll_main(void *arg)
{
  struct serve *s = arg;
  double period = s->cfg.poll_seconds;
  pthread_mutex_lock(&s->stop_lock);
  while (!s->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = until.tv_sec + until.tv_nsec * 1e-9 + period;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    pthread_cond_timedwait(&s->stop_cond, &s->stop_lock, &until);
    if (s->stopping)
      break;
    pthread_mutex_unlock(&s->stop_lock);
    struct hv_err err = {0};
    if (load_model(s, 0, &err) == HV_EDB)
      log_line(s, "event=poll_failed error=\"%s\"", err.msg);
    log_flush_all(s);
    pthread_mutex_lock(&s->stop_lock);
  }
  pthread_mutex_unlock(&s->stop_lock);
  return NULL;
}

/* ---- request plumbing ------------------------------------------------------ */

/* Accept a new connection unless the server is stopping. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr,
                                     socklen_t addrlen)
{
  (void)addr;
  (void)addrlen;
  const struct serve *s = cls;
  return atomic_load_explicit(&s->refusing, memory_order_relaxed) ? MHD_NO
                                                                  : MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    struct conn_ctx *cc = calloc(1, sizeof(*cc));
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (cc && ci && ci->client_addr) {
      const struct sockaddr *sa = ci->client_addr;
      if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                  cc->ip, sizeof(cc->ip));
      else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                  cc->ip, sizeof(cc->ip));
    }
    *socket_context = cc;
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    struct conn_ctx *cc = *socket_context;
    if (cc)
      free(cc->body);
    free(cc);
    *socket_context = NULL;
  }
}

/* Add r's extra "Name: value\n" header lines to resp and free them. */
static void add_headers(struct MHD_Response *resp, struct srv_resp *r)
{
  char *save = NULL;
  for (char *line = r->headers ? strtok_r(r->headers, "\n", &save) : NULL;
       line; line = strtok_r(NULL, "\n", &save)) {
    char *colon = strstr(line, ": ");
    if (!colon)
      continue;
    *colon = '\0';
    MHD_add_response_header(resp, line, colon + 2);
  }
  free(r->headers);
  r->headers = NULL;
}

/* Queue r (its body is handed to MHD, which frees it). */
static enum MHD_Result send_resp(struct MHD_Connection *conn,
                                 struct conn_ctx *cc, struct srv_resp *r)
{
  struct MHD_Response *resp =
      r->body ? MHD_create_response_from_buffer(r->len, r->body,
                                                MHD_RESPMEM_MUST_FREE)
              : MHD_create_response_from_buffer(0, (void *)"",
                                                MHD_RESPMEM_PERSISTENT);
  if (!resp) {
    free(r->body);
    free(r->headers);
    return MHD_NO;
  }
  add_headers(resp, r);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r->content_type ? r->content_type
                                          : "application/json");
  if (r->model_version[0]) {
    MHD_add_response_header(resp, "X-Model-Version", r->model_version);
    memcpy(cc->model_version, r->model_version, sizeof(cc->model_version));
  }
  if (r->retry_after > 0) {
    char ra[16];
    snprintf(ra, sizeof(ra), "%d", r->retry_after);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
  }
  if (r->status == 405)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, POST, HEAD");
  if (r->status == 401)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  cc->status = r->status;
  cc->sent = r->len;
  cc->responded = 1;
  return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *conn,
                                  struct conn_ctx *cc, int status,
                                  const char *msg)
{
  struct srv_resp r = {.status = status};
  r.body = rt_error_json(msg, &r.len);
  if (!r.body)
    return MHD_NO;
  if (status == 429)
    r.retry_after = 1;
  return send_resp(conn, cc, &r);
}

static enum MHD_Result dispatch(struct serve *s, struct MHD_Connection *conn,
                                struct conn_ctx *cc, const char *url,
                                const char *method)
{
  struct srv_req req = {.srv = s, .conn = conn, .thread = thread_get(s),
                        .method = method, .path = url, .ip = cc->ip,
                        .body = cc->body ? cc->body : "",
                        .body_len = cc->body_len};
  req.method_bit = rt_method_bit(method);
  int m = rt_match(routes_table, routes_count, method, url, &req.match);
  if (m == 404 && ui_path(url)) { /* an HTML page, not JSON */
    struct srv_resp page = {.status = 404};
    ui_not_found(&req, &page);
    modelslot_release(req.snap); /* the nav bar names the served model */
    return send_resp(conn, cc, &page);
  }
  if (m == 404)
    return send_error(conn, cc, 404, "Not Found");
  cc->route = req.match.route;
  if (m == 405)
    return send_error(conn, cc, 405, "Method Not Allowed");
  struct srv_resp resp = {.status = 200};
  struct hv_err err = {0};
  int rc = routes_table[req.match.route].handler(&req, &resp, &err);
  modelslot_release(req.snap);
  form_free(&req);
  if (rc) {
    free(resp.body);
    free(resp.headers);
    int status = rt_status_of(rc);
    if (status >= 500)
      log_line(s, "event=error route=%s status=%d error=\"%s\"",
               routes_table[req.match.route].name, status, err.msg);
    return send_error(conn, cc, status,
                      err.msg[0] ? err.msg : hv_strerror(rc));
  }
  return send_resp(conn, cc, &resp);
}

static struct conn_ctx *conn_of(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

/* Append an upload chunk, or mark the request too big (and drop it). */
static void take_body(struct serve *s, struct conn_ctx *cc, const char *data,
                      size_t n)
{
  if (cc->too_big || cc->body_len + n > s->cfg.max_body) {
    cc->too_big = 1;
    return;
  }
  if (cc->body_len + n + 1 > cc->body_cap) {
    size_t cap = cc->body_cap ? cc->body_cap : 4096;
    while (cap < cc->body_len + n + 1)
      cap *= 2;
    char *b = realloc(cc->body, cap);
    if (!b) {
      cc->too_big = 1;
      return;
    }
    cc->body = b;
    cc->body_cap = cap;
  }
  memcpy(cc->body + cc->body_len, data, n);
  cc->body_len += n;
  cc->body[cc->body_len] = '\0';
}

/* Copy src into out (cap bytes), cut short when longer. */
static void copy_trunc(char *out, size_t cap, const char *src)
{
  size_t n = strnlen(src, cap - 1);
  memcpy(out, src, n);
  out[n] = '\0';
}

static enum MHD_Result first_call(struct serve *s, struct MHD_Connection *conn,
                                  struct conn_ctx *cc, const char *url,
                                  const char *method)
{
  cc->start = hv_mono();
  cc->route = -1;
  cc->status = 0;
  cc->sent = 0;
  cc->responded = 0;
  cc->too_big = 0;
  cc->body_len = 0;
  cc->model_version[0] = '\0';
  if (s->cfg.access_log) {
    copy_trunc(cc->method, sizeof(cc->method), method);
    copy_trunc(cc->path, sizeof(cc->path), url);
  }
  if (cc->body_cap > 65536) { /* do not keep a big body per connection */
    free(cc->body);
    cc->body = NULL;
    cc->body_cap = 0;
  }
  atomic_fetch_add(&s->active, 1);
  const char *cl =
      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
  int64_t len = 0;
  if (cl && hv_parse_i64(cl, 0, INT64_MAX, &len, "Content-Length", NULL) == 0 &&
      (uint64_t)len > s->cfg.max_body) {
    char msg[128];
    snprintf(msg, sizeof(msg), "request body is larger than %zu bytes",
             s->cfg.max_body);
    return send_error(conn, cc, 413, msg);
  }
  /* answer on a later call: a response queued on this first call makes
   * libmicrohttpd 0.9.75 close the connection instead of keeping it alive */
  return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
  struct serve *s = cls;
  struct conn_ctx *cc = *req_cls;
  if (!cc) {
    cc = conn_of(conn);
    if (!cc)
      return MHD_NO;
    *req_cls = cc;
    return first_call(s, conn, cc, url, method);
  }
  if (*upload_size) {
    if (!cc->responded)
      take_body(s, cc, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (cc->responded)
    return MHD_YES;
  if (cc->too_big) {
    char msg[128];
    snprintf(msg, sizeof(msg), "request body is larger than %zu bytes",
             s->cfg.max_body);
    return send_error(conn, cc, 413, msg);
  }
  return dispatch(s, conn, cc, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **req_cls, enum MHD_RequestTerminationCode toe)
{
  struct serve *s = cls;
  struct conn_ctx *cc = *req_cls;
  if (!cc)
    return;
  *req_cls = NULL;
  double secs = hv_mono() - cc->start;
  int status = cc->status ? cc->status : 499; /* client went away */
  metrics_observe(s->metrics, cc->route, status, secs);
  struct srv_thread *t = pthread_getspecific(s->key);
  if (s->cfg.access_log && t) {
    /* the access line by hand: printf's machinery costs ~1 us a line */
    char path[sizeof(cc->path) * 4], method[sizeof(cc->method) * 4];
    log_safe(cc->path, path, sizeof(path));
    log_safe(cc->method, method, sizeof(method));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t->ts_sec != ts.tv_sec) {
      struct tm tm;
      gmtime_r(&ts.tv_sec, &tm);
      strftime(t->ts_prefix, sizeof(t->ts_prefix), "ts=%Y-%m-%dT%H:%M:%S",
               &tm);
      t->ts_sec = ts.tv_sec;
    }
    char buf[1024], *p = buf;
    const char *end = buf + sizeof(buf) - 1;
    p = put_s(p, end, t->ts_prefix);
    p = put_n(p, end, ".", 1);
    p = put_u(p, end, (uint64_t)(ts.tv_nsec / 1000000), 3);
    p = put_s(p, end, "Z ip=");
    p = put_s(p, end, cc->ip);
    p = put_s(p, end, " method=");
    p = put_s(p, end, method);
    p = put_s(p, end, " path=\"");
    p = put_s(p, end, path);
    p = put_s(p, end, "\" status=");
    p = put_u(p, end, (uint64_t)status, 1);
    p = put_s(p, end, " route=");
    p = put_s(p, end, cc->route >= 0 ? routes_table[cc->route].name : "-");
    p = put_s(p, end, " us=");
    p = put_u(p, end, (uint64_t)(secs * 1e6 + 0.5), 1);
    p = put_s(p, end, " bytes=");
    p = put_u(p, end, (uint64_t)cc->sent, 1);
    if (cc->model_version[0]) {
      p = put_s(p, end, " model=\"");
      p = put_s(p, end, cc->model_version);
      p = put_n(p, end, "\"", 1);
    }
    *p++ = '\n';
    logbuf_append(s, t, buf, (size_t)(p - buf));
  } else if (s->cfg.access_log) {
    char path[sizeof(cc->path) * 4], method[sizeof(cc->method) * 4];
    log_safe(cc->path, path, sizeof(path));
    log_safe(cc->method, method, sizeof(method));
    log_line(s, /* no worker state yet: written at once */
             "ip=%s method=%s path=\"%s\" status=%d route=%s us=%.0f "
             "bytes=%zu%s%s%s",
             cc->ip, method, path, status,
             cc->route >= 0 ? routes_table[cc->route].name : "-", secs * 1e6,
             cc->sent, cc->model_version[0] ? " model=\"" : "",
             cc->model_version, cc->model_version[0] ? "\"" : "");
  }
  atomic_fetch_sub(&s->active, 1);
  if (t && s->cfg.slice_us > 0)
    maybe_yield(t, cc->start + secs, s->cfg.slice_us);
}

/* ---- start / stop ---------------------------------------------------------- */

static void copy_config(struct serve *s, const struct serve_config *cfg)
{
  s->cfg = *cfg;
  snprintf(s->home, sizeof(s->home), "%s", cfg->home);
  snprintf(s->host, sizeof(s->host), "%s", cfg->host ? cfg->host
                                                      : "127.0.0.1");
  snprintf(s->model_name, sizeof(s->model_name), "%s",
           cfg->model_name ? cfg->model_name : SERVE_DEFAULT_MODEL);
  snprintf(s->model_file, sizeof(s->model_file), "%s",
           cfg->model_file ? cfg->model_file : "");
  s->cfg.home = s->home;
  s->cfg.host = s->host;
  s->cfg.model_name = s->model_name;
  s->cfg.model_file = s->model_file[0] ? s->model_file : NULL;
  s->cfg.tls_cert = s->cfg.tls_key = NULL; /* read into memory below */
  s->cfg.auth.home = s->home;
  if (!s->cfg.max_body)
    s->cfg.max_body = 1 << 20;
  if (!s->cfg.max_connections)
    s->cfg.max_connections = 1024;
  if (!s->cfg.per_ip)
    s->cfg.per_ip = 256;
  if (!s->cfg.timeout_s)
    s->cfg.timeout_s = 30;
  if (!s->cfg.log_fd)
    s->cfg.log_fd = 2;
  if (s->cfg.poll_seconds <= 0)
    s->cfg.poll_seconds = 0.5;
  if (s->cfg.max_n <= 0)
    s->cfg.max_n = 1000;
  if (s->cfg.max_batch <= 0)
    s->cfg.max_batch = 1000;
  if (s->cfg.cache_n == 0)
    s->cfg.cache_n = SERVE_DEFAULT_CACHE_N;
  if (s->cfg.slice_us == 0)
    s->cfg.slice_us = SERVE_DEFAULT_SLICE_US;
  if (s->cfg.threads <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    s->cfg.threads = n > 0 ? (int)n : 2;
  }
  s->refused_version = -1;
  s->loaded_version = -1;
}

static int check_config(const struct serve_config *cfg, struct hv_err *err)
{
  if (!cfg->home || !*cfg->home)
    return hv_err_set(err, HV_EUSAGE, "serve: no home folder");
  if (cfg->port < 0 || cfg->port > 65535)
    return hv_err_set(err, HV_EUSAGE, "--port: %d is not in 0..65535",
                      cfg->port);
  if (!cfg->tls_cert != !cfg->tls_key)
    return hv_err_set(err, HV_EUSAGE,
                      "--tls-cert and --tls-key go together");
  if (cfg->cache_n > MODEL_TOPCACHE_MAX_K)
    return hv_err_set(err, HV_EUSAGE, "--cache-n: %d is more than %d",
                      cfg->cache_n, MODEL_TOPCACHE_MAX_K);
  if (cfg->slice_us > 100000)
    return hv_err_set(err, HV_EUSAGE, "--slice-us: %d is more than 100000",
                      cfg->slice_us);
  if (cfg->threads > 256)
    return hv_err_set(err, HV_EUSAGE, "--threads: %d is more than 256",
                      cfg->threads);
  return 0;
}

static int read_tls(struct serve *s, const struct serve_config *cfg,
                    struct hv_err *err)
{
  if (!cfg->tls_cert)
    return 0;
  if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
    return hv_err_set(err, HV_EUSAGE,
                      "this libmicrohttpd was built without TLS");
  if (hv_read_file(cfg->tls_cert, 1 << 20, &s->tls_cert, NULL, err) ||
      hv_read_file(cfg->tls_key, 1 << 20, &s->tls_key, NULL, err))
    return err->code;
  return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  struct serve *s = cls;
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  char safe[1024];
  log_safe(msg, safe, sizeof(safe));
  log_line(s, "event=mhd message=\"%s\"", safe);
}

static int start_daemon(struct serve *s, struct hv_err *err)
{
  struct sockaddr_in a4 = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)s->cfg.port)};
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                            .sin6_port = htons((uint16_t)s->cfg.port)};
  const struct sockaddr *sa = (const struct sockaddr *)&a4;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                   MHD_USE_TURBO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (inet_pton(AF_INET, s->host, &a4.sin_addr) != 1) {
    if (inet_pton(AF_INET6, s->host, &a6.sin6_addr) != 1)
      return hv_err_set(err, HV_EUSAGE,
                        "--host: '%.100s' is not an IPv4 or IPv6 address",
                        s->host);
    sa = (const struct sockaddr *)&a6;
    flags |= MHD_USE_IPv6;
  }
  if (s->tls_cert)
    flags |= MHD_USE_TLS;
  struct MHD_OptionItem tls[] = {
      {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
      {MHD_OPTION_END, 0, NULL}};
  s->d = MHD_start_daemon(
      flags, (uint16_t)s->cfg.port, accept_policy, s, on_request, s,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned)s->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
      s->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      s->cfg.per_ip, MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.timeout_s,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HV_MHD_POOL,
      MHD_OPTION_LISTEN_BACKLOG_SIZE,
      1024, MHD_OPTION_ARRAY, s->tls_cert ? tls : tls + 2, MHD_OPTION_END);
  if (!s->d)
    return hv_err_set(err, HV_EIO,
                      "cannot listen on %s:%d (address in use, or no "
                      "permission?)",
                      s->host, s->cfg.port);
  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di ? di->port : s->cfg.port;
  return 0;
}

static int build_docs(struct serve *s, struct hv_err *err)
{
  if (openapi_json(routes_table, routes_count, HV_VERSION, &s->openapi,
                   &s->openapi_len, err) ||
      openapi_html(s->openapi, &s->docs, &s->docs_len, err))
    return err->code;
  return 0;
}

static void serve_free(struct serve *s)
{
  if (!s)
    return;
  api_close(s->load_api);
  modelslot_free(s->slot);
  auth_close(s->auth);
  metrics_free(s->metrics);
  ui_close(s->ui);
  free(s->route_names);
  free(s->openapi);
  free(s->docs);
  free(s->tls_cert);
  if (s->tls_key) {
    memset(s->tls_key, 0, strlen(s->tls_key));
    free(s->tls_key);
  }
  pthread_key_delete(s->key);
  pthread_mutex_destroy(&s->load_lock);
  pthread_mutex_destroy(&s->threads_lock);
  pthread_mutex_destroy(&s->why_lock);
  pthread_mutex_destroy(&s->stop_lock);
  pthread_cond_destroy(&s->stop_cond);
  free(s);
}

static int serve_init(struct serve *s, const struct serve_config *cfg,
                      struct hv_err *err)
{
  if (!(s->route_names = calloc(routes_count, sizeof(*s->route_names))))
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  for (size_t i = 0; i < routes_count; i++)
    s->route_names[i] = routes_table[i].name;
  if (hv_mkdir_private(s->home, err) ||
      hv_path_join(s->db_path, sizeof(s->db_path), s->home, "harvest.db",
                   err))
    return err->code;
  if (!(s->slot = modelslot_new()) ||
      !(s->metrics = metrics_new(s->route_names, routes_count)))
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  if (auth_open(&s->cfg.auth, &s->auth, err) || build_docs(s, err) ||
      read_tls(s, cfg, err) || ui_open(s->tls_cert != NULL, &s->ui, err))
    return err->code;
  /* the loader's connection also migrates the database before any worker */
  if (api_open(s->db_path, &s->load_api, err))
    return err->code;
  struct hv_err lerr = {0};
  if (load_model(s, 1, &lerr) && !modelslot_peek(s->slot, NULL, 0, NULL))
    log_line(s, "event=unready reason=\"%s\" hint=\"the server answers 503 "
                "on /readyz and recommend until a model is registered "
                "(harvest models register ... --stage Production) or given "
                "with --model-file\"",
             lerr.msg);
  return 0;
}

int serve_start(const struct serve_config *cfg, struct serve **out,
                struct hv_err *err)
{
  *out = NULL;
  if (check_config(cfg, err))
    return err->code;
  struct serve *s = calloc(1, sizeof(*s));
  if (!s)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  copy_config(s, cfg);
  /* requests are the parallelism: a multi-threaded sgemv per request makes
   * the BLAS threads and the workers fight over the cores (measured: 4.5x
   * fewer requests/s and a p99 of seconds on 2 cores) */
  openblas_set_num_threads(1);
  pthread_mutex_init(&s->load_lock, NULL);
  pthread_mutex_init(&s->threads_lock, NULL);
  pthread_mutex_init(&s->why_lock, NULL);
  pthread_mutex_init(&s->stop_lock, NULL);
  pthread_cond_init(&s->stop_cond, NULL);
  if (pthread_key_create(&s->key, thread_free) != 0) {
    free(s);
    return hv_err_set(err, HV_ENOMEM, "no thread key left");
  }
  if (serve_init(s, cfg, err) || start_daemon(s, err)) {
    serve_free(s);
    return err->code;
  }
  if (pthread_create(&s->poller, NULL, poll_main, s) == 0)
    s->poller_running = 1;
  else
    log_line(s, "event=warning message=\"no model poller thread; use "
                "/monitor/reload_models\"");
  *out = s;
  return 0;
}

int serve_port(const struct serve *s)
{
  return s->port;
}

void serve_stop(struct serve *s, double drain_s)
{
  if (!s)
    return;
  pthread_mutex_lock(&s->stop_lock);
  s->stopping = 1;
  pthread_cond_broadcast(&s->stop_cond);
  pthread_mutex_unlock(&s->stop_lock);
  if (s->poller_running)
    pthread_join(s->poller, NULL);
  if (s->d) {
    /* stop accepting: new clients are closed at once (accept_policy).
     * Not MHD_quiesce_daemon: with epoll and a worker pool it races the
     * workers' own removal of the listen socket from their epoll sets and
     * libmicrohttpd 0.9.75 aborts the process ("Failed to remove listen
     * FD from epoll set"), losing the requests in flight. */
    atomic_store(&s->refusing, 1);
    double until = hv_mono() + drain_s;
    while (atomic_load(&s->active) > 0 && hv_mono() < until)
      usleep(2000);
    int left = atomic_load(&s->active);
    if (left > 0)
      log_line(s, "event=drain_timeout in_flight=%d", left);
    MHD_stop_daemon(s->d);
  }
  serve_free(s);
}

int serve_run(const struct serve_config *cfg, struct hv_err *err)
{
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  /* blocked here, so the threads started from here on inherit the block;
   * sigfwd passes on what reaches threads started before main (OpenBLAS) */
  pthread_sigmask(SIG_BLOCK, &set, &old);
  struct sigfwd_saved saved;
  sigfwd_install(&saved);
  signal(SIGPIPE, SIG_IGN);
  struct serve *s = NULL;
  if (serve_start(cfg, &s, err)) {
    sigfwd_restore(&saved);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err->code;
  }
  log_line(s, "event=listening url=%s://%s:%d threads=%d model=%s ready=%d",
           cfg->tls_cert ? "https" : "http", s->host, s->port,
           s->cfg.threads, s->model_file[0] ? s->model_file : s->model_name,
           serve_ready(s));
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  log_line(s, "event=stopping signal=%s in_flight=%d",
           sig == SIGINT ? "SIGINT" : "SIGTERM", atomic_load(&s->active));
  /* a second signal while the requests in flight finish stops at once */
  sigfwd_force_exit(s->cfg.log_fd, "event=forced_stop (second signal: "
                                   "requests in flight are dropped)\n");
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  int fd = s->cfg.log_fd;
  serve_stop(s, 10.0);
  char done[] = "event=stopped\n";
  ssize_t w = write(fd, done, sizeof(done) - 1);
  (void)w;
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  sigfwd_restore(&saved);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return 0;
}

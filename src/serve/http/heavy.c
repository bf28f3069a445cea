/*
 * heavy.c - the expensive routes' own pool (issue 17, finding 1): routes
 * whose cost grows with their parameters (monitoring passes, evaluation,
 * model reloads; routes_cost) do not run on libmicrohttpd's workers,
 * where a request of minutes would stall every connection that worker
 * holds (/healthz and recommendations included). The worker checks the
 * policy, suspends the connection (MHD_suspend_connection) and queues the
 * request; --heavy-threads threads (default 1, at a lower CPU priority)
 * run the handler and resume the connection, whose next call sends the
 * answer. At most --heavy-queue requests wait: beyond, 503 with
 * Retry-After at once.
 *
 * Answers of RT_POOL_CACHED routes (200s only) are kept for
 * --monitor-cache seconds under (route, served model and version, query
 * string): the same report asked again is answered by the worker without
 * a pass.
 *
 * Threads: heavy_submit and heavy_lookup run on the workers, the jobs on
 * the pool's threads; the queue and the cache are under h->lock. A
 * suspended connection is the job's alone until it is resumed.
 */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "serve/http/modelslot.h"
#include "serve/http/routes.h"
#include "serve/http/server_internal.h"
#include "util/fsutil.h"

#define HEAVY_CACHE_N 32
#define HEAVY_KEY_MAX 2048

struct cache_entry {
  char key[HEAVY_KEY_MAX]; /* empty = free */
  char *body;
  size_t len;
  const char *content_type;
  double expires, used;    /* hv_mono() */
};

struct heavy {
  struct serve *s;
  pthread_mutex_t lock;    /* everything below */
  pthread_cond_t cond;
  struct heavy_job *head, *tail;
  int queued, running, stopping;
  pthread_t *threads;
  int n_threads;
  struct cache_entry cache[HEAVY_CACHE_N];
};

/* Append "key=value&" pairs of the query (in the order sent) to out. */
struct query_text {
  char *out;
  size_t cap, len;
};

static enum MHD_Result query_cb(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value)
{
  (void)kind;
  struct query_text *q = cls;
  int n = snprintf(q->out + q->len, q->cap - q->len, "%s=%s&", key ? key : "",
                   value ? value : "");
  if (n < 0 || (size_t)n >= q->cap - q->len) {
    q->len = q->cap; /* too long to cache */
    return MHD_NO;
  }
  q->len += (size_t)n;
  return MHD_YES;
}

/* The cache key of a request under the model name/version: 0, or -1 when
 * the query is too long to be a key. */
static int cache_key(struct MHD_Connection *conn, const char *route,
                     const char *model, int64_t version, char *out,
                     size_t cap)
{
  int n = snprintf(out, cap, "%s|%s/%lld|", route, model, (long long)version);
  if (n < 0 || (size_t)n >= cap)
    return -1;
  struct query_text q = {out, cap, (size_t)n};
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_cb, &q);
  return q.len < cap ? 0 : -1;
}

int heavy_lookup(struct serve *s, struct MHD_Connection *conn, int route,
                 struct srv_resp *out)
{
  struct heavy *h = s->heavy;
  char model[128], key[HEAVY_KEY_MAX];
  int64_t version = 0;
  if (s->cfg.heavy_cache_s <= 0 || routes_cost((size_t)route) != RT_POOL_CACHED ||
      !modelslot_peek(s->slot, model, sizeof(model), &version) ||
      cache_key(conn, routes_table[route].name, model, version, key,
                sizeof(key)))
    return 0;
  double now = hv_mono();
  int hit = 0;
  pthread_mutex_lock(&h->lock);
  for (int i = 0; i < HEAVY_CACHE_N && !hit; i++) {
    struct cache_entry *e = &h->cache[i];
    if (!e->key[0] || e->expires < now || strcmp(e->key, key))
      continue;
    out->body = malloc(e->len + 1);
    if (out->body) {
      memcpy(out->body, e->body, e->len + 1);
      out->len = e->len;
      out->content_type = e->content_type;
      out->headers = strdup("X-Harvest-Cache: hit\n"); /* NULL: no header */
      e->used = now;
      hit = 1;
    }
  }
  pthread_mutex_unlock(&h->lock);
  return hit;
}

/* Keep a 200 answer of job under the model version it was computed with:
 * in a free or expired slot, else over the least recently used. */
static void cache_store(struct heavy *h, struct heavy_job *job,
                        const char *model, int64_t version)
{
  char key[HEAVY_KEY_MAX];
  if (cache_key(job->conn, routes_table[job->route].name, model, version,
                key, sizeof(key)))
    return;
  char *copy = malloc(job->resp.len + 1);
  if (!copy)
    return;
  memcpy(copy, job->resp.body, job->resp.len);
  copy[job->resp.len] = '\0';
  double now = hv_mono();
  pthread_mutex_lock(&h->lock);
  struct cache_entry *victim = &h->cache[0];
  for (int i = 0; i < HEAVY_CACHE_N; i++) {
    struct cache_entry *e = &h->cache[i];
    if (!e->key[0] || e->expires < now || !strcmp(e->key, key)) {
      victim = e;
      break;
    }
    if (e->used < victim->used)
      victim = e;
  }
  free(victim->body);
  snprintf(victim->key, sizeof(victim->key), "%s", key);
  victim->body = copy;
  victim->len = job->resp.len;
  victim->content_type = job->resp.content_type;
  victim->expires = now + h->s->cfg.heavy_cache_s;
  victim->used = now;
  pthread_mutex_unlock(&h->lock);
}

/* Run one job on a pool thread and hand the connection back. */
static void run_job(struct heavy *h, struct heavy_job *job, double queued)
{
  accesslog_event(h->s, "event=pool route=%s waited_ms=%.0f",
                  routes_table[job->route].name, (hv_mono() - queued) * 1e3);
  job->req.thread = server_thread(h->s);
  job->rc = routes_table[job->route].handler(&job->req, &job->resp,
                                             &job->err);
  if (!job->rc && job->resp.status == 200 && job->resp.body &&
      routes_cost((size_t)job->route) == RT_POOL_CACHED &&
      h->s->cfg.heavy_cache_s > 0 && job->req.snap)
    cache_store(h, job, job->req.snap->name, job->req.snap->version);
  server_job_done(h->s, job);
  MHD_resume_connection(job->conn);
}

static void *pool_main(void *arg)
{
  struct heavy *h = arg;
  /* below the workers: they preempt a pass whenever a request comes */
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
  pthread_mutex_lock(&h->lock);
  for (;;) {
    while (!h->head && !h->stopping)
      pthread_cond_wait(&h->cond, &h->lock);
    if (!h->head)
      break;
    struct heavy_job *job = h->head;
    h->head = job->next;
    if (!h->head)
      h->tail = NULL;
    h->queued--;
    h->running++;
    pthread_mutex_unlock(&h->lock);
    run_job(h, job, job->queued_at);
    pthread_mutex_lock(&h->lock);
    h->running--;
  }
  pthread_mutex_unlock(&h->lock);
  return NULL;
}

int heavy_submit(struct serve *s, struct heavy_job *job, int *retry_after)
{
  struct heavy *h = s->heavy;
  pthread_mutex_lock(&h->lock);
  int full = h->stopping || h->queued >= s->cfg.heavy_queue;
  if (full) {
    *retry_after = 1 + (h->queued + h->running) / (h->n_threads ? h->n_threads
                                                                 : 1);
    pthread_mutex_unlock(&h->lock);
    return -1;
  }
  /* suspended before it is queued: a pool thread can only resume it after */
  MHD_suspend_connection(job->conn);
  job->queued_at = hv_mono();
  job->next = NULL;
  if (h->tail)
    h->tail->next = job;
  else
    h->head = job;
  h->tail = job;
  h->queued++;
  pthread_cond_signal(&h->cond);
  pthread_mutex_unlock(&h->lock);
  return 0;
}

void heavy_busy(const struct serve *s, char *msg, size_t cap)
{
  snprintf(msg, cap,
           "the pool of expensive requests is full (%d running, %d "
           "waiting: --heavy-threads, --heavy-queue); retry later",
           s->cfg.heavy_threads, s->cfg.heavy_queue);
}

int heavy_open(struct serve *s, struct hv_err *err)
{
  struct heavy *h = calloc(1, sizeof(*h));
  if (!h)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  h->s = s;
  pthread_mutex_init(&h->lock, NULL);
  pthread_cond_init(&h->cond, NULL);
  s->heavy = h;
  h->threads = calloc((size_t)s->cfg.heavy_threads, sizeof(*h->threads));
  if (!h->threads)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  for (int i = 0; i < s->cfg.heavy_threads; i++) {
    if (pthread_create(&h->threads[i], NULL, pool_main, h) != 0)
      return hv_err_set(err, HV_ENOMEM, "cannot start the expensive "
                        "requests' threads");
    h->n_threads++;
  }
  return 0;
}

void heavy_close(struct serve *s)
{
  struct heavy *h = s->heavy;
  if (!h)
    return;
  pthread_mutex_lock(&h->lock);
  h->stopping = 1; /* the queued jobs still run: their clients wait */
  pthread_cond_broadcast(&h->cond);
  pthread_mutex_unlock(&h->lock);
  for (int i = 0; i < h->n_threads; i++)
    pthread_join(h->threads[i], NULL);
  free(h->threads);
  for (int i = 0; i < HEAVY_CACHE_N; i++)
    free(h->cache[i].body);
  pthread_mutex_destroy(&h->lock);
  pthread_cond_destroy(&h->cond);
  free(h);
  s->heavy = NULL;
}

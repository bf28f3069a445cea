/*
 * server.c - the libmicrohttpd daemon, request plumbing, per-thread state,
 * the poller, graceful stop: see server.h. The rest of the server is in
 * request.c, modelload.c, accesslog.c and slice.c (server_internal.h).
 */
#include "recommend/retindex.h"
#include "serve/http/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <cblas.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "recommend/recommend.h"
#include "serve/http/docs.h"
#include "serve/http/metrics.h"
#include "serve/http/modelslot.h"
#include "serve/http/openapi.h"
#include "serve/http/policy.h"
#include "serve/http/routes.h"
#include "serve/http/server_internal.h"
#include "serve/http/slice.h"
#include "serve/ui/ui.h"
#include "store/db.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/mutex.h"
#include "util/parse.h"
#include "util/sigfwd.h"

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
  accesslog_flush(s, &t->log, 0);
  pthread_mutex_unlock(&t->log.lock);
  pthread_mutex_destroy(&t->log.lock);
  db_close(t->db);
  HV_FREE_ALL(t->scores, t->ids, t->top, t->top_retrieval, t->cands, t);
}

struct srv_thread *server_thread(struct serve *s)
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
    slice_set(s->cfg.slice_us); /* thread_get runs on the worker itself */
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

/* ---- request plumbing ------------------------------------------------------ */

/* Accept a new connection unless the server is stopping, or it is near
 * full and the address already holds connections (guard.c). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr,
                                     socklen_t addrlen)
{
  (void)addrlen;
  struct serve *s = cls;
  if (atomic_load_explicit(&s->refusing, memory_order_relaxed))
    return MHD_NO;
  return guard_accept(s, addr) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
  struct serve *s = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    struct conn_ctx *cc = calloc(1, sizeof(*cc));
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (cc) {
      guard_addr_text(ci ? ci->client_addr : NULL, cc->ip, sizeof(cc->ip));
      guard_started(s, cc, fi ? fi->connect_fd : -1);
    }
    *socket_context = cc;
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    struct conn_ctx *cc = *socket_context;
    if (cc) {
      guard_closed(s, cc);
      free(cc->body);
    }
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

/* {"detail": msg} with status; a 429 says Retry-After: retry_after
 * seconds (at least 1). */
static enum MHD_Result send_error_after(struct MHD_Connection *conn,
                                        struct conn_ctx *cc, int status,
                                        const char *msg, int retry_after)
{
  struct srv_resp r = {.status = status};
  r.body = rt_error_json(msg, &r.len);
  if (!r.body)
    return MHD_NO;
  if (status == 429 || status == 503)
    r.retry_after = retry_after > 0 ? retry_after : 1;
  return send_resp(conn, cc, &r);
}

static enum MHD_Result send_error(struct MHD_Connection *conn,
                                  struct conn_ctx *cc, int status,
                                  const char *msg)
{
  return send_error_after(conn, cc, status, msg, 0);
}

/* Send what a handler returned: resp, or the error rc with err. */
static enum MHD_Result finish(struct serve *s, struct MHD_Connection *conn,
                              struct conn_ctx *cc, int route, int rc,
                              struct srv_resp *resp, const struct hv_err *err)
{
  if (!rc)
    return send_resp(conn, cc, resp);
  free(resp->body);
  free(resp->headers);
  int status = rt_status_of(rc);
  if (status >= 500)
    accesslog_event(s, "event=error route=%s status=%d error=\"%s\"",
                    routes_table[route].name, status, err->msg);
  return send_error_after(conn, cc, status,
                          err->msg[0] ? err->msg : hv_strerror(rc),
                          resp->retry_after);
}

/* An expensive route, past its policy: a cached answer, or onto the pool
 * (the connection is suspended until the pool has answered), or 503. */
static enum MHD_Result to_pool(struct serve *s, struct MHD_Connection *conn,
                               struct conn_ctx *cc, struct srv_req *req)
{
  int route = req->match.route;
  struct srv_resp resp = {.status = 200};
  if (heavy_lookup(s, conn, route, &resp)) {
    request_form_free(req);
    return send_resp(conn, cc, &resp);
  }
  struct heavy_job *job = calloc(1, sizeof(*job));
  int retry = 1;
  if (job) {
    *job = (struct heavy_job){.conn = conn, .cc = cc, .route = route,
                              .req = *req, .resp = {.status = 200}};
    atomic_store(&cc->job_done, 0);
    cc->job = job;
    if (heavy_submit(s, job, &retry) == 0)
      return MHD_YES;
    cc->job = NULL;
    free(job);
  }
  request_form_free(req);
  char msg[256];
  heavy_busy(s, msg, sizeof(msg));
  struct srv_resp busy = {.status = 503, .retry_after = retry};
  busy.body = rt_error_json(msg, &busy.len);
  return busy.body ? send_resp(conn, cc, &busy) : MHD_NO;
}

void server_job_done(struct serve *s, struct heavy_job *job)
{
  (void)s;
  modelslot_release(job->req.snap);
  job->req.snap = NULL;
  request_form_free(&job->req);
  atomic_store(&job->cc->job_done, 1);
}

/* The pool's answer, once it resumed the connection. */
static enum MHD_Result pool_answer(struct serve *s,
                                   struct MHD_Connection *conn,
                                   struct conn_ctx *cc)
{
  if (!atomic_load(&cc->job_done))
    return MHD_YES; /* not yet: the connection is suspended */
  struct heavy_job *job = cc->job;
  cc->job = NULL;
  enum MHD_Result r =
      finish(s, conn, cc, job->route, job->rc, &job->resp, &job->err);
  free(job);
  return r;
}

static enum MHD_Result dispatch(struct serve *s, struct MHD_Connection *conn,
                                struct conn_ctx *cc, const char *url,
                                const char *method)
{
  struct srv_req req = {.srv = s, .conn = conn, .thread = server_thread(s),
                        .method = method, .path = url, .ip = cc->client,
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
  const struct rt_route *rt = &routes_table[req.match.route];
  int rc = policy_enforce(&req, rt, &err);
  if (rc && ui_path(url)) { /* a browser: the login page, not JSON */
    ui_refused(&req, &resp, rt_status_of(rc), err.msg);
    modelslot_release(req.snap); /* the nav bar names the served model */
    request_form_free(&req);
    return send_resp(conn, cc, &resp);
  }
  if (!rc && routes_cost((size_t)req.match.route) != RT_CHEAP && !req.snap)
    return to_pool(s, conn, cc, &req);
  if (!rc)
    rc = rt->handler(&req, &resp, &err);
  modelslot_release(req.snap);
  request_form_free(&req);
  return finish(s, conn, cc, req.match.route, rc, &resp, &err);
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
  guard_client(s, conn, cc);
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
  char msg[512];
  int odd = guard_check(conn, cc, msg, sizeof(msg));
  if (odd)
    return send_error(conn, cc, odd, msg); /* and close: framing is off */
  const char *cl =
      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
  int64_t len = 0;
  if (cl && hv_parse_i64(cl, 0, INT64_MAX, &len, "Content-Length", NULL) == 0 &&
      (uint64_t)len > s->cfg.max_body) {
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
  if (cc->job)
    return pool_answer(s, conn, cc);
  if (cc->responded)
    return MHD_YES;
  guard_deadline(s, cc, 0); /* arrived whole: no deadline while answered */
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
  if (s->cfg.access_log)
    accesslog_request(s, t, cc, status, secs);
  atomic_fetch_sub(&s->active, 1);
  guard_deadline(s, cc, 1); /* the next request on this connection */
  cc->odd = 0;
  if (t && s->cfg.slice_us > 0)
    slice_maybe_yield(&t->last_yield, cc->start + secs, s->cfg.slice_us);
}

int serve_reload(struct serve *s, struct hv_err *err)
{
  return modelload_load(s, 1, err);
}

int serve_ready(struct serve *s)
{
  return modelslot_peek(s->slot, NULL, 0, NULL);
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
  snprintf(s->ranker_name, sizeof(s->ranker_name), "%s",
           cfg->ranker_name ? cfg->ranker_name : SERVE_DEFAULT_RANKER);
  s->cfg.ranker_name = s->ranker_name;
  snprintf(s->forwarded, sizeof(s->forwarded), "%s",
           cfg->forwarded_allow_ips ? cfg->forwarded_allow_ips : "");
  s->cfg.forwarded_allow_ips = s->forwarded;
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
    s->cfg.per_ip = 64;
  if (!s->cfg.reserve)
    s->cfg.reserve = s->cfg.max_connections / 16;
  if (s->cfg.request_timeout <= 0)
    s->cfg.request_timeout = 10;
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
  if (s->cfg.cache_n == 0) {
    /* deep enough for the ranker's candidates when the default stage
     * uses it: a shallower memo would score every movie on every ranked
     * request (bench/bench_rank_serve.sh) */
    int k = s->cfg.candidates ? s->cfg.candidates
                              : RECOMMEND_DEFAULT_CANDIDATES;
    s->cfg.cache_n = s->cfg.stage == RECOMMEND_STAGE_RETRIEVAL ||
                             k < SERVE_DEFAULT_CACHE_N
                         ? SERVE_DEFAULT_CACHE_N
                         : k;
  }
  if (s->cfg.slice_us == 0)
    s->cfg.slice_us = SERVE_DEFAULT_SLICE_US;
  if (s->cfg.heavy_threads <= 0)
    s->cfg.heavy_threads = 1;
  if (s->cfg.heavy_queue <= 0)
    s->cfg.heavy_queue = 4;
  if (s->cfg.heavy_cache_s == 0)
    s->cfg.heavy_cache_s = 60;
  if (s->cfg.monitor_max_windows <= 0)
    s->cfg.monitor_max_windows = 20;
  if (s->cfg.monitor_max_rows <= 0)
    s->cfg.monitor_max_rows = 1000000;
  if (s->cfg.threads <= 0)
    s->cfg.threads = slice_cpus();
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
  if (cfg->stage < 0 || cfg->stage > RECOMMEND_STAGE_RETRIEVAL)
    return hv_err_set(err, HV_EUSAGE, "--stage: %d is not a stage",
                      cfg->stage);
  int rc = recommend_check_knobs(cfg->blend, cfg->candidates, "--",
                                 HV_EUSAGE, err);
  if (rc)
    return rc;
  if (cfg->slice_us > 100000)
    return hv_err_set(err, HV_EUSAGE, "--slice-us: %d is more than 100000",
                      cfg->slice_us);
  if (cfg->threads > 256)
    return hv_err_set(err, HV_EUSAGE, "--threads: %d is more than 256",
                      cfg->threads);
  if (cfg->index_mode < RETINDEX_AUTO || cfg->index_mode > RETINDEX_IVF)
    return hv_err_set(err, HV_EUSAGE, "--index: mode %d is not exact, ivf "
                      "or auto", cfg->index_mode);
  if (!(cfg->index_min_recall >= 0 && cfg->index_min_recall <= 1))
    return hv_err_set(err, HV_EUSAGE, "--index-min-recall: %g is not in "
                      "(0, 1]", cfg->index_min_recall);
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
  accesslog_safe(msg, safe, sizeof(safe));
  accesslog_event(s, "event=mhd message=\"%s\"", safe);
}

static int start_daemon(struct serve *s, struct hv_err *err)
{
  struct sockaddr_in a4 = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)s->cfg.port)};
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                            .sin6_port = htons((uint16_t)s->cfg.port)};
  const struct sockaddr *sa = (const struct sockaddr *)&a4;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                   MHD_USE_TURBO | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                   MHD_ALLOW_SUSPEND_RESUME;
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
      MHD_OPTION_UNESCAPE_CALLBACK, guard_unescape, s,
      MHD_OPTION_URI_LOG_CALLBACK, guard_uri, s,
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
  if (openapi_json(routes_table, routes_count, HV_VERSION, s->cfg.max_n,
                   &s->openapi,
                   &s->openapi_len, err) ||
      openapi_html(s->openapi, &s->docs, &s->docs_len, err) ||
      docs_open(s->cfg.swagger_ui, &s->swagger, err))
    return err->code;
  if (!docs_swagger(s->swagger))
    accesslog_event(s, "event=docs_plain reason=\"%s\"",
                    docs_why(s->swagger));
  return 0;
}

static void serve_free(struct serve *s)
{
  if (!s)
    return;
  db_close(s->load_db);
  modelslot_free(s->slot);
  modelslot_free(s->rank_slot);
  auth_close(s->auth);
  metrics_free(s->metrics);
  ui_close(s->ui);
  HV_FREE_ALL(s->route_names, s->openapi, s->docs);
  docs_close(s->swagger);
  free(s->tls_cert);
  if (s->tls_key) {
    memset(s->tls_key, 0, strlen(s->tls_key));
    free(s->tls_key);
  }
  pthread_key_delete(s->key);
  pthread_mutex_destroy(&s->load_lock);
  pthread_mutex_destroy(&s->threads_lock);
  pthread_mutex_destroy(&s->why_lock);
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
      db_home_path(s->home, cfg->db, s->db_path, sizeof(s->db_path), err))
    return err->code;
  s->rank_refused_version = -1;
  if (!(s->slot = modelslot_new()) || !(s->rank_slot = modelslot_new()) ||
      !(s->metrics = metrics_new(s->route_names, routes_count)))
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  if (auth_open(&s->cfg.auth, &s->auth, err) || build_docs(s, err) ||
      read_tls(s, cfg, err) || ui_open(s->tls_cert != NULL, &s->ui, err))
    return err->code;
  /* the loader's connection also migrates the database before any worker */
  if (db_open(s->db_path, &s->load_db, err))
    return err->code;
  struct hv_err lerr = {0};
  if (modelload_load(s, 1, &lerr) && !modelslot_peek(s->slot, NULL, 0, NULL))
    accesslog_event(s, "event=unready reason=\"%s\" hint=\"the server answers 503 "
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
  atomic_init(&s->db_ok, 1); /* serve_init opens it or fails */
  if (pthread_key_create(&s->key, thread_free) != 0) {
    free(s);
    return hv_err_set(err, HV_ENOMEM, "no thread key left");
  }
  if (serve_init(s, cfg, err) || guard_open(s, err) || heavy_open(s, err) ||
      start_daemon(s, err)) {
    heavy_close(s);
    guard_close(s);
    serve_free(s);
    return err->code;
  }
  struct hv_err perr = {0};
  if (poller_start(s, &perr))
    accesslog_event(s, "event=warning message=\"%s; use "
                "/monitor/reload_models\"", perr.msg);
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
  poller_stop(s);
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
      accesslog_event(s, "event=drain_timeout in_flight=%d", left);
    heavy_close(s); /* resumes every suspended connection */
    MHD_stop_daemon(s->d);
  }
  heavy_close(s);
  guard_close(s);
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
  accesslog_event(s, "event=listening url=%s://%s:%d threads=%d model=%s ready=%d",
           cfg->tls_cert ? "https" : "http", s->host, s->port,
           s->cfg.threads, s->model_file[0] ? s->model_file : s->model_name,
           serve_ready(s));
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  accesslog_event(s, "event=stopping signal=%s in_flight=%d",
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

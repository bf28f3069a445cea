/*
 * server_internal.h - the server's own state, shared by the files that make
 * up the server (not by route handlers, which see routes.h):
 *   server.c    the libmicrohttpd daemon, request plumbing, per-thread state,
 *               the poller, start / stop
 *   request.c   the srv_* accessors a handler reads its request through
 *   modelload.c which model is served: resolve, load, refuse, swap
 *               (the snapshot and its atomic swap are modelslot.c)
 *   accesslog.c the log: event lines and one access line per request
 *   slice.c     the workers' scheduler slice and yield
 *
 * Threads: see server.h; each field says what guards it.
 */
#ifndef HV_SERVE_HTTP_SERVER_INTERNAL_H
#define HV_SERVE_HTTP_SERVER_INTERNAL_H

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "serve/http/server.h"
#include "util/err.h"

struct MHD_Daemon;
struct hv_db;
struct modelslot;
struct auth;
struct metrics;
struct ui;
struct srv_req;

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
  struct hv_db *db;        /* this worker's connection, opened on first use */
  float *scores;           /* (scores_cap) model_scratch_size floats */
  size_t scores_cap;
  int64_t *ids;            /* (n_cap) */
  float *top;              /* (n_cap) */
  size_t n_cap;
  double last_yield;       /* hv_mono() of the last slice_maybe_yield */
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
  struct hv_db *load_db; /* the loader's connection, under load_lock */
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

/* ---- request.c ---------------------------------------------------------- */

/* Free the form fields srv_form parsed (after the handler). */
void request_form_free(struct srv_req *req);

/* ---- modelload.c -------------------------------------------------------- */

/* Check the model source and swap in a new model when it changed (or
 * always with force); one load at a time (s->load_lock). Returns 0 when
 * nothing changed or the swap worked; on failure the old model stays. */
int modelload_load(struct serve *s, int force, struct hv_err *err);

/* ---- accesslog.c -------------------------------------------------------- */

/* Write one event line now ("ts=... " + the message + newline): one
 * write(2) keeps it whole. */
void accesslog_event(const struct serve *s, const char *fmt, ...)
    HV_PRINTF(2, 3);

/* The access line of a finished request (status, secs since cc->start):
 * into t's buffer, or written at once when the request never reached a
 * worker's state (t NULL). */
void accesslog_request(struct serve *s, struct srv_thread *t,
                       const struct conn_ctx *cc, int status, double secs);

/* Write out a thread's buffered lines. Caller holds b->lock. */
void accesslog_flush(const struct serve *s, struct logbuf *b, double now);

/* Flush every worker's buffer (the poller, and before stopping). */
void accesslog_flush_all(struct serve *s);

/* Copy s into out as a logfmt value: printable ASCII except '"' and '\',
 * everything else as \xHH (so no request can forge a log line). */
void accesslog_safe(const char *s, char *out, size_t cap);

#endif

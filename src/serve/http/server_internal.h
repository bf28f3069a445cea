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
 *   poller.c    the watcher thread: model changes (polled, or the
 *               PostgreSQL registry's change feed), database health
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

#include "serve/http/routes.h"
#include "serve/http/server.h"
#include "util/err.h"

struct MHD_Daemon;
struct hv_db;
struct modelslot;
struct auth;
struct metrics;
struct ui;
struct srv_req;
struct guard;
struct heavy;
struct heavy_job;
struct sockaddr;
struct MHD_Connection;

/* Per-connection state, reused by every request on a keep-alive
 * connection (so a request allocates no bookkeeping of its own). */
struct conn_ctx {
  char ip[INET6_ADDRSTRLEN]; /* the socket's peer */
  char client[INET6_ADDRSTRLEN]; /* the request's client: ip, or what a
                                    trusted proxy's X-Forwarded-For names
                                    (guard_client) */
  double start;            /* monotonic time of the request's headers */
  int route, status, responded;
  size_t sent;
  char *body;              /* request body, grown up to max_body */
  size_t body_len, body_cap;
  int too_big;
  char model_version[192];
  char method[16], path[256]; /* for the access log (truncated) */
  /* guard.c: the request deadline, the per-address count, odd requests */
  int fd;                  /* the socket (shut down past the deadline) */
  atomic_llong deadline_ms; /* hv_mono() ms by which the request must have
                               arrived whole; 0 = none (being answered) */
  struct conn_ctx *gprev, *gnext; /* open connections, under guard lock */
  int counted;             /* counted in its address's total */
  int odd;                 /* GUARD_ODD_*: set while the URL is parsed */
  struct heavy_job *job;   /* the request queued on the pool, or NULL */
  atomic_int job_done;     /* its answer is ready (set by the pool) */
  size_t odd_args, odd_len;
};

#define GUARD_ODD_URI 1    /* too many query arguments or too long */
#define GUARD_ODD_NUL 2    /* %00 in the URL */
#define GUARD_MAX_ARGS 400 /* query arguments (longer user lists: POST) */
#define GUARD_MAX_URI 16384 /* bytes of the URL with its query */

/* Each connection's libmicrohttpd memory pool: half of it is the read
 * buffer (request line and headers), the other half holds a 56-byte record
 * per header and query argument (GUARD_MAX_ARGS of them: 22 KiB) and the
 * response's headers. libmicrohttpd zeroes the whole pool between two
 * requests of a keep-alive connection, so it is not made larger. */
#ifndef HV_MHD_POOL
#define HV_MHD_POOL (64 * 1024)
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
  float *top_retrieval;    /* (n_cap) retrieval scores when ranked */
  size_t n_cap;
  struct recommend_cand *cands; /* (cand_cap) retrieve-then-rank */
  int cand_cap;
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
  char ranker_name[128];
  char forwarded[1024];      /* cfg.forwarded_allow_ips, copied */
  struct modelslot *rank_slot; /* the ranker (may stay empty) */
  int64_t rank_loaded_version, rank_refused_version; /* under load_lock */
  struct MHD_Daemon *d;
  int port;
  pthread_key_t key;
  struct modelslot *slot;
  struct auth *auth;
  struct metrics *metrics;
  struct ui *ui;            /* the web UI's secret (serve/ui.h) */
  struct guard *guard;      /* slow and odd clients (guard.c) */
  struct heavy *heavy;      /* the expensive routes' pool (heavy.c) */
  pthread_mutex_t threads_lock;
  struct srv_thread *threads; /* workers with state, for log flushing */
  const char **route_names; /* (routes_count) for the metrics labels */
  char *openapi, *docs;     /* the document and the plain /docs page */
  struct docs *swagger;     /* Swagger UI's files (docs.h) */
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
  char db_why[256];        /* why the database does not answer; why_lock */
  atomic_int db_ok;        /* the poller's last load reached the database */
  /* poller.c */
  pthread_t poller;
  int poller_running;
  int wake[2];             /* serve_stop writes to wake[1] */
};

/* A request run on the pool of expensive routes (heavy.c). */
struct heavy_job {
  struct heavy_job *next;  /* in the queue, under the pool's lock */
  struct MHD_Connection *conn; /* suspended while the job waits or runs */
  struct conn_ctx *cc;
  int route;
  struct srv_req req;      /* the worker's, policy checked; thread is the
                              pool thread's own */
  struct srv_resp resp;    /* what the handler answered */
  struct hv_err err;
  int rc;
  double queued_at;        /* hv_mono() */
};

/* ---- server.c ------------------------------------------------------------ */

/* The calling thread's state (made on first use), or NULL. */
struct srv_thread *server_thread(struct serve *s);

/* A pool job's handler has run: release what the request held and mark
 * its answer ready (the pool then resumes the connection). */
void server_job_done(struct serve *s, struct heavy_job *job);

/* ---- heavy.c ------------------------------------------------------------- */

/* Start / stop the pool (s->heavy). heavy_close runs the jobs still
 * queued and joins the threads; call it before MHD_stop_daemon, which
 * must find no connection suspended. */
int heavy_open(struct serve *s, struct hv_err *err);
void heavy_close(struct serve *s);

/* A cached 200 answer of route for this request's query under the served
 * model into out (its body malloc'd): 1, else 0. */
int heavy_lookup(struct serve *s, struct MHD_Connection *conn, int route,
                 struct srv_resp *out);

/* Suspend job->conn and queue job: 0; or -1 when the queue is full (the
 * caller answers 503 with *retry_after seconds and frees job). */
int heavy_submit(struct serve *s, struct heavy_job *job, int *retry_after);

/* The 503 message when the pool is full. */
void heavy_busy(const struct serve *s, char *msg, size_t cap);

/* ---- request.c ---------------------------------------------------------- */

/* Free the form fields srv_form parsed (after the handler). */
void request_form_free(struct srv_req *req);

/* ---- modelload.c -------------------------------------------------------- */

/* When modelload_load loads: the source changed and was not refused
 * before (the poller); always (start-up, serve_reload); or the source
 * changed or was refused (/monitor/reload_models: an unchanged model is
 * neither hashed nor loaded again). */
enum { MODELLOAD_CHANGED = 0, MODELLOAD_ALWAYS = 1, MODELLOAD_RETRY = 2 };

/* Check the model source and swap in a new model as force says (enum
 * above); one load at a time (s->load_lock). Returns 0 when nothing
 * changed or the swap worked; on failure the old model stays. */
int modelload_load(struct serve *s, int force, struct hv_err *err);

/* ---- poller.c ----------------------------------------------------------- */

/* Start / stop the watcher thread (s->poller, s->wake). */
int poller_start(struct serve *s, struct hv_err *err);
void poller_stop(struct serve *s);

/* The served ranker with one more reference (modelslot_release), or NULL
 * when none is registered in Production. */
struct modelslot_snap *modelload_ranker(struct serve *s);

/* ---- guard.c ------------------------------------------------------------ */

/* Start / stop the request-deadline sweep (s->guard). */
int guard_open(struct serve *s, struct hv_err *err);
void guard_close(struct serve *s);

/* 1 when a connection from addr may be accepted (the reserve for new
 * addresses), else 0. */
int guard_accept(struct serve *s, const struct sockaddr *addr);

/* A connection opened (its socket fd) / closed: counted, listed for the
 * sweep, its first request's deadline armed. */
void guard_started(struct serve *s, struct conn_ctx *cc, int fd);
void guard_closed(struct serve *s, struct conn_ctx *cc);

/* Arm the deadline of cc's next request (armed 1: now + request_timeout)
 * or clear it while its request is answered (armed 0). */
void guard_deadline(struct serve *s, struct conn_ctx *cc, int armed);

/* cc->client <- the request's client: the rightmost X-Forwarded-For
 * address that is not a trusted proxy (--forwarded-allow-ips), walking
 * from the socket's peer while each hop is trusted; the peer itself when
 * it is not trusted, the header is absent, or an entry is not an address. */
void guard_client(struct serve *s, struct MHD_Connection *conn,
                  struct conn_ctx *cc);

/* The client address of sa as text into out (empty when not IP). */
void guard_addr_text(const struct sockaddr *sa, char *out, size_t cap);

/* libmicrohttpd callbacks: the URL unescaper (notes %00) and the URI
 * logger (drops an oversized query, notes it). */
size_t guard_unescape(void *cls, struct MHD_Connection *conn, char *text);
void *guard_uri(void *cls, const char *uri, struct MHD_Connection *conn);

/* Check a request whose headers arrived: 0 when fine, else the status
 * (400 bad framing or NUL, 414 URL too large) with msg filled. */
int guard_check(struct MHD_Connection *conn, struct conn_ctx *cc, char *msg,
                size_t cap);

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

/*
 * server.h - `harvest serve`: the REST API on GNU libmicrohttpd.
 *
 * Design: one MHD daemon with an internal thread pool, each worker on its
 * own epoll set (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
 * MHD_OPTION_THREAD_POOL_SIZE); TLS through MHD's GnuTLS when a cert and
 * key are given. Each worker thread lazily opens its own SQLite connection
 * and keeps per-thread scoring scratch (a pthread key per server), so the
 * recommend path takes no lock except the model slot's reference count and
 * allocates only its response. Requests are counted in flight; a graceful
 * stop stops accepting (MHD_quiesce_daemon), waits for them, then stops the
 * daemon. A poller thread watches the registry (or the --model-file) and
 * hot-swaps the model (modelslot.h); a model that fails to load is refused
 * and the old one keeps serving. On PostgreSQL the poller listens to the
 * registry's change feed instead (LISTEN/NOTIFY, poller.c), so N replicas
 * on one database load a promotion as soon as it commits; /readyz is 503
 * while no model is loaded or the database does not answer. Limits: total and per-IP connections, an
 * idle timeout, and a body cap answered with 413 before the body is read.
 * Every request logs one logfmt line (ts, ip, method, path, status, route,
 * us, bytes, model) on the log fd; lines are gathered per worker and
 * written at most PIPE_BUF bytes at a time (whole lines, never interleaved)
 * when the buffer fills, after 0.1 s, or by the poller, so logging costs no
 * system call per request.
 *
 * Files: server.c, request.c, modelload.c, poller.c, accesslog.c, slice.c (their
 * shared state in server_internal.h); the snapshot slot is modelslot.c.
 *
 * Threads: serve_start / serve_stop / serve_reload are called from one
 * controlling thread; everything else runs on the server's own threads.
 */
#ifndef HV_SERVE_HTTP_SERVER_H
#define HV_SERVE_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "serve/http/auth.h"
#include "util/err.h"

#define SERVE_DEFAULT_MODEL "harvest_recommender"
#define SERVE_DEFAULT_RANKER "harvest_ranker"
#define SERVE_DEFAULT_CACHE_N 20 /* memo depth of each user's top movies */
#define SERVE_DEFAULT_SLICE_US 100 /* workers' scheduler slice / yield */

struct serve_config {
  const char *home;         /* required: the Harvest home (db, keys) */
  const char *db;           /* NULL = HOME/harvest.db; else a
                             * "postgresql://" URI or a SQLite file */
  const char *host;         /* NULL = 127.0.0.1 */
  int port;                 /* 0 = any free port (see serve_port) */
  int threads;              /* 0 = one per CPU it may run on */
  const char *model_name;   /* NULL = SERVE_DEFAULT_MODEL */
  const char *ranker_name;  /* the ranking model whose Production version
                               orders retrieval's candidates (issue 14);
                               NULL = SERVE_DEFAULT_RANKER; none registered
                               = retrieval only */
  int candidates;           /* K retrieval proposes to the ranker; 0 =
                               RECOMMEND_DEFAULT_CANDIDATES */
  int stage;                /* the pipeline when a request names none
                               (recommend.h: RECOMMEND_ORDER_BLEND = 0,
                               the measured best, RECOMMEND_ORDER_RANK or
                               RECOMMEND_STAGE_RETRIEVAL) */
  double blend;             /* the blend's weight; 0 =
                               RECOMMEND_DEFAULT_BLEND */
  const char *model_file;   /* serve this file instead of the registry */
  const char *tls_cert, *tls_key; /* PEM files; both or neither */
  size_t max_body;          /* 0 = 1 MiB */
  unsigned max_connections; /* 0 = 1024 */
  unsigned per_ip;          /* 0 = 64 */
  unsigned reserve;         /* connections kept for addresses that hold
                               none (once max_connections - reserve are
                               open); 0 = max_connections / 16 */
  unsigned timeout_s;       /* idle connection timeout; 0 = 30 */
  double request_timeout;   /* seconds to receive a whole request (headers
                               and body) from the connection's opening or
                               its previous answer, however the bytes
                               trickle in; 0 = 10 */
  int access_log;           /* 1 = one line per request */
  int log_fd;               /* where logs go; 0 = stderr */
  double poll_seconds;      /* registry / file poll, log flush; 0 = 0.5
                               (PostgreSQL: the change feed; polled every
                               2 s only while it is disconnected) */
  int max_n;                /* bound of n in recommend; 0 = 1000 */
  int max_batch;            /* users per batch call; 0 = 1000 */
  int cache_n;              /* memoise each user's top cache_n (n <= it,
                               and a ranker's candidates K <= it, are
                               answered from the memo); 0 = 20, or K when
                               the default stage uses the ranker (blend,
                               ranking); negative = no memo */
  int slice_us;             /* workers ask for this scheduler slice and
                               yield at most once per slice (every slice
                               while busy); 0 = 100, negative = off */
  int heavy_threads;        /* threads running the expensive routes
                               (monitoring, evaluation, reloads); 0 = 1 */
  int heavy_queue;          /* expensive requests waiting for them, beyond:
                               503; 0 = 4 */
  double heavy_cache_s;     /* seconds a monitoring answer is reused for the
                               same model version and query; 0 = 60,
                               negative = off */
  int monitor_max_windows;  /* windows per /monitor/drift; 0 = 20 */
  int64_t monitor_max_rows; /* ratings per monitoring request (all windows);
                               0 = 1000000 */
  const char *swagger_ui;   /* Swagger UI's files for /docs; NULL =
                               DOCS_SWAGGER_DIR (docs.h) */
  const char *forwarded_allow_ips; /* proxies (comma-separated addresses,
                               or "*" for any) whose X-Forwarded-For names
                               the client a request's limits, quotas and
                               log line use; NULL or "" = none */
  int seed_compat;          /* 1 = the seed's open shapes: the routes
                               marked seed_open are public (rating writes,
                               user rows, monitoring); unsafe on a network */
  struct auth_config auth;  /* auth.home is set to home */
  int index_mode;           /* RETINDEX_* (recommend/retindex.h); 0 = auto */
  double index_min_recall;  /* refuse an index below this recall@100;
                               0 = IVF_DEFAULT_MIN_RECALL (0.95) */
};

struct serve;

/* Start serving cfg (strings are copied). Returns 0 with *out running;
 * with no model registered the server runs unready (503 on /readyz and
 * recommend) and logs why. Caller stops it with serve_stop. */
int serve_start(const struct serve_config *cfg, struct serve **out,
                struct hv_err *err) HV_WARN_UNUSED;

/* The TCP port the server listens on (useful with port 0). */
int serve_port(const struct serve *s);

/* 1 when a model is loaded. */
int serve_ready(struct serve *s);

/* Load the model again now (registry Production version or the file) and
 * swap it in; on failure the old model stays and the error is returned. */
int serve_reload(struct serve *s, struct hv_err *err) HV_WARN_UNUSED;

/* Graceful stop: refuse new connections, wait up to drain_s seconds for the
 * requests in flight, stop the threads and free s. NULL does nothing. */
void serve_stop(struct serve *s, double drain_s);

/* For the CLI: start, log the address, block until SIGINT or SIGTERM, stop
 * gracefully (up to 10 s for the requests in flight); a second SIGINT or
 * SIGTERM during that stop ends the process at once with status 128 +
 * signal. Returns 0 after a clean stop. Installs its signal handlers for
 * the call and restores the old ones. */
int serve_run(const struct serve_config *cfg,
              struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * guard.c - what the server does about slow and odd clients (issue 17,
 * findings 4, 10 and 12), before any route runs:
 *
 *   - a deadline for receiving a whole request: headers and body must
 *     arrive within --request-timeout seconds of the connection's opening
 *     or of its previous answer. libmicrohttpd's own timeout is an idle
 *     timeout that every byte resets, so a client trickling a byte every
 *     2 s would hold its connection for ever; a sweep thread shuts down
 *     (shutdown(2)) the sockets past their deadline and libmicrohttpd then
 *     closes them as a client that went away.
 *   - a reserve of connections for new addresses: once the open
 *     connections reach --max-connections minus --reserve, a connection is
 *     accepted only from an address that holds none, so a few addresses
 *     (each under --per-ip, which libmicrohttpd enforces) cannot take every
 *     slot.
 *   - framing: two different Content-Length headers, or Content-Length
 *     together with Transfer-Encoding, are answered 400 and the connection
 *     closed (a proxy in front may frame the request otherwise: request
 *     smuggling); %00 in the URL is answered 400 (the decoded path would
 *     end at the NUL: "/ui/static/ui.css%00.js" served ui.css).
 *   - URL size: libmicrohttpd 0.9.75 keeps each query argument as a record
 *     in the connection's memory pool; when they no longer fit it decides
 *     on 431 but then goes on reading the request and never sends it (the
 *     client waits for the timeout). The URI callback, called before the
 *     arguments are parsed, counts them: over GUARD_MAX_ARGS (or a URL over
 *     GUARD_MAX_URI bytes) it drops the query before libmicrohttpd sees it
 *     and the request is answered 414 naming the limit; the pool is sized
 *     (HV_MHD_POOL) so that what passes fits.
 *
 * Threads: the accept policy and the connection notifications run on
 * libmicrohttpd's workers, the sweep on its own thread; the list of open
 * connections and the per-address counts are under g->lock. A connection's
 * deadline is an atomic the worker sets without the lock. The socket a
 * sweep shuts down is still open: libmicrohttpd closes it only after the
 * closed notification, which waits for the lock.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "serve/http/server_internal.h"
#include "util/fsutil.h"
#include "util/mutex.h"

#define GUARD_BUCKETS 1024
#define GUARD_PROXIES 32      /* addresses in --forwarded-allow-ips */
#define GUARD_XFF_LINES 8     /* X-Forwarded-For header lines read */

struct guard_ip {
  struct guard_ip *next;
  unsigned n;              /* open connections from ip */
  char ip[INET6_ADDRSTRLEN];
};

struct guard {
  struct serve *s;
  pthread_mutex_t lock;    /* the list, the counts, open */
  struct conn_ctx *head;   /* open connections */
  unsigned open;
  struct guard_ip *ips[GUARD_BUCKETS];
  char proxy[GUARD_PROXIES][INET6_ADDRSTRLEN]; /* trusted, normalised */
  int n_proxy, any_proxy;  /* read only once open */
  pthread_t sweeper;
  int running;
  pthread_mutex_t stop_lock;
  pthread_cond_t stop_cond;
  int stopping;
};

static long long now_ms(void)
{
  return (long long)(hv_mono() * 1000.0);
}

static size_t ip_hash(const char *ip)
{
  size_t h = 5381;
  for (; *ip; ip++)
    h = h * 33 + (unsigned char)*ip;
  return h % GUARD_BUCKETS;
}

/* The count record of ip (created when add), or NULL. Caller holds lock. */
static struct guard_ip *ip_find(struct guard *g, const char *ip, int add)
{
  struct guard_ip **pp = &g->ips[ip_hash(ip)];
  for (; *pp; pp = &(*pp)->next)
    if (!strcmp((*pp)->ip, ip))
      return *pp;
  if (!add)
    return NULL;
  struct guard_ip *e = calloc(1, sizeof(*e));
  if (e) {
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    *pp = e;
  }
  return e;
}

static void ip_drop(struct guard *g, const char *ip)
{
  for (struct guard_ip **pp = &g->ips[ip_hash(ip)]; *pp; pp = &(*pp)->next)
    if (!strcmp((*pp)->ip, ip)) {
      if (--(*pp)->n == 0) {
        struct guard_ip *e = *pp;
        *pp = e->next;
        free(e);
      }
      return;
    }
}

void guard_addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
  out[0] = '\0';
  if (sa && sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
              (socklen_t)cap);
  else if (sa && sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
              (socklen_t)cap);
}

int guard_accept(struct serve *s, const struct sockaddr *addr)
{
  struct guard *g = s->guard;
  unsigned cap = s->cfg.max_connections;
  unsigned reserve = s->cfg.reserve < cap ? s->cfg.reserve : 0;
  char ip[INET6_ADDRSTRLEN];
  guard_addr_text(addr, ip, sizeof(ip));
  pthread_mutex_lock(&g->lock);
  int ok = g->open < cap - reserve || !ip_find(g, ip, 0);
  pthread_mutex_unlock(&g->lock);
  return ok;
}

void guard_started(struct serve *s, struct conn_ctx *cc, int fd)
{
  struct guard *g = s->guard;
  cc->fd = fd;
  atomic_store_explicit(&cc->deadline_ms,
                        now_ms() + (long long)(s->cfg.request_timeout * 1e3),
                        memory_order_relaxed);
  pthread_mutex_lock(&g->lock);
  struct guard_ip *e = ip_find(g, cc->ip, 1);
  if (e)
    e->n++;
  cc->counted = e != NULL;
  cc->gnext = g->head;
  cc->gprev = NULL;
  if (g->head)
    g->head->gprev = cc;
  g->head = cc;
  g->open++;
  pthread_mutex_unlock(&g->lock);
}

void guard_closed(struct serve *s, struct conn_ctx *cc)
{
  struct guard *g = s->guard;
  pthread_mutex_lock(&g->lock);
  if (cc->gprev)
    cc->gprev->gnext = cc->gnext;
  else
    g->head = cc->gnext;
  if (cc->gnext)
    cc->gnext->gprev = cc->gprev;
  if (cc->counted)
    ip_drop(g, cc->ip);
  g->open--;
  pthread_mutex_unlock(&g->lock);
}

void guard_deadline(struct serve *s, struct conn_ctx *cc, int armed)
{
  long long d = armed ? now_ms() + (long long)(s->cfg.request_timeout * 1e3)
                      : 0;
  atomic_store_explicit(&cc->deadline_ms, d, memory_order_relaxed);
}

/* Shut down the connections past their deadline; returns how many. */
static unsigned sweep(struct guard *g)
{
  unsigned n = 0;
  long long now = now_ms();
  pthread_mutex_lock(&g->lock);
  for (struct conn_ctx *c = g->head; c; c = c->gnext) {
    long long d = atomic_load_explicit(&c->deadline_ms, memory_order_relaxed);
    if (d > 0 && now > d && c->fd >= 0) {
      shutdown(c->fd, SHUT_RDWR);
      atomic_store_explicit(&c->deadline_ms, 0, memory_order_relaxed);
      n++;
    }
  }
  pthread_mutex_unlock(&g->lock);
  return n;
}

static void *sweep_main(void *arg)
{
  struct guard *g = arg;
  double period = g->s->cfg.request_timeout / 8;
  if (period > 0.25)
    period = 0.25;
  pthread_mutex_lock(&g->stop_lock);
  while (!g->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = until.tv_sec + until.tv_nsec * 1e-9 + period;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    pthread_cond_timedwait(&g->stop_cond, &g->stop_lock, &until);
    if (g->stopping)
      break;
    pthread_mutex_unlock(&g->stop_lock);
    unsigned n = sweep(g);
    if (n)
      accesslog_event(g->s, "event=request_deadline closed=%u "
                      "request_timeout=%g", n, g->s->cfg.request_timeout);
    pthread_mutex_lock(&g->stop_lock);
  }
  pthread_mutex_unlock(&g->stop_lock);
  return NULL;
}

/* out <- the address in text[0..n) written as inet_ntop writes it (so
 * "::ffff:1.2.3.4" and "0:0::1" compare as the socket's text does);
 * 0 when it is not an IPv4 or IPv6 address. */
static int addr_norm(const char *text, size_t n, char *out, size_t cap)
{
  while (n && (*text == ' ' || *text == '\t'))
    text++, n--;
  while (n && (text[n - 1] == ' ' || text[n - 1] == '\t'))
    n--;
  char buf[INET6_ADDRSTRLEN];
  unsigned char bin[sizeof(struct in6_addr)];
  if (!n || n >= sizeof(buf))
    return 0;
  memcpy(buf, text, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET, buf, bin) == 1)
    return inet_ntop(AF_INET, bin, out, (socklen_t)cap) != NULL;
  if (inet_pton(AF_INET6, buf, bin) == 1)
    return inet_ntop(AF_INET6, bin, out, (socklen_t)cap) != NULL;
  return 0;
}

/* g's trusted proxies from the comma-separated list (or "*"). */
static int proxies_parse(struct guard *g, const char *list, struct hv_err *err)
{
  for (const char *p = list; p && *p;) {
    size_t n = strcspn(p, ",");
    if (n == 1 && *p == '*')
      g->any_proxy = 1;
    else if (g->n_proxy == GUARD_PROXIES)
      return hv_err_set(err, HV_EINVAL, "--forwarded-allow-ips: at most %d "
                        "addresses", GUARD_PROXIES);
    else if (!addr_norm(p, n, g->proxy[g->n_proxy], sizeof(g->proxy[0])))
      return hv_err_set(err, HV_EINVAL, "--forwarded-allow-ips: '%.*s' is "
                        "not an IP address (give addresses separated by "
                        "commas, or *)", (int)(n > 64 ? 64 : n), p);
    else
      g->n_proxy++;
    p += n + (p[n] == ',');
  }
  return 0;
}

static int proxy_trusted(const struct guard *g, const char *ip)
{
  if (g->any_proxy)
    return 1;
  for (int i = 0; i < g->n_proxy; i++)
    if (!strcmp(g->proxy[i], ip))
      return 1;
  return 0;
}

struct xff_lines {
  const char *v[GUARD_XFF_LINES];
  int n;
};

static enum MHD_Result xff_line(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value)
{
  (void)kind;
  struct xff_lines *x = cls;
  if (key && value && !strcasecmp(key, "X-Forwarded-For")) {
    if (x->n == GUARD_XFF_LINES) /* keep the last ones: nearest hops */
      memmove(x->v, x->v + 1, sizeof(x->v[0]) * (GUARD_XFF_LINES - 1)),
          x->n--;
    x->v[x->n++] = value;
  }
  return MHD_YES;
}

void guard_client(struct serve *s, struct MHD_Connection *conn,
                  struct conn_ctx *cc)
{
  const struct guard *g = s->guard;
  memcpy(cc->client, cc->ip, sizeof(cc->client));
  if (!g || (!g->n_proxy && !g->any_proxy) || !proxy_trusted(g, cc->ip))
    return;
  struct xff_lines x = {.n = 0};
  MHD_get_connection_values(conn, MHD_HEADER_KIND, xff_line, &x);
  for (int i = x.n - 1; i >= 0; i--) { /* right to left: nearest hop first */
    const char *v = x.v[i];
    for (size_t end = strlen(v); end > 0;) {
      size_t start = end;
      while (start > 0 && v[start - 1] != ',')
        start--;
      char hop[INET6_ADDRSTRLEN];
      if (!addr_norm(v + start, end - start, hop, sizeof(hop)))
        return; /* not an address: the last good hop stands */
      memcpy(cc->client, hop, sizeof(hop));
      if (!proxy_trusted(g, hop))
        return;
      end = start ? start - 1 : 0;
    }
  }
}

int guard_open(struct serve *s, struct hv_err *err)
{
  struct guard *g = calloc(1, sizeof(*g));
  if (!g)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  g->s = s;
  int rc = proxies_parse(g, s->cfg.forwarded_allow_ips, err);
  if (rc) {
    free(g);
    return rc;
  }
  pthread_mutex_init(&g->lock, NULL);
  pthread_mutex_init(&g->stop_lock, NULL);
  pthread_cond_init(&g->stop_cond, NULL);
  s->guard = g;
  if (pthread_create(&g->sweeper, NULL, sweep_main, g) != 0)
    return hv_err_set(err, HV_ENOMEM, "cannot start the request-deadline "
                      "thread");
  g->running = 1;
  return 0;
}

void guard_close(struct serve *s)
{
  struct guard *g = s->guard;
  if (!g)
    return;
  pthread_mutex_lock(&g->stop_lock);
  g->stopping = 1;
  pthread_cond_broadcast(&g->stop_cond);
  pthread_mutex_unlock(&g->stop_lock);
  if (g->running)
    pthread_join(g->sweeper, NULL);
  for (size_t i = 0; i < GUARD_BUCKETS; i++)
    while (g->ips[i]) {
      struct guard_ip *e = g->ips[i];
      g->ips[i] = e->next;
      free(e);
    }
  pthread_mutex_destroy(&g->lock);
  pthread_mutex_destroy(&g->stop_lock);
  pthread_cond_destroy(&g->stop_cond);
  free(g);
  s->guard = NULL;
}

/* ---- odd requests ---------------------------------------------------------- */

static struct conn_ctx *ctx_of(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

size_t guard_unescape(void *cls, struct MHD_Connection *conn, char *text)
{
  (void)cls;
  size_t n = MHD_http_unescape(text);
  if (strlen(text) != n) { /* a %00 became a NUL */
    struct conn_ctx *cc = ctx_of(conn);
    if (cc)
      cc->odd = GUARD_ODD_NUL;
  }
  return n;
}

void *guard_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
  (void)cls;
  struct conn_ctx *cc = ctx_of(conn);
  char *q = strchr(uri, '?');
  if (!cc || !q)
    return NULL;
  size_t args = 1, len = strlen(uri);
  for (const char *p = q; *p; p++)
    args += *p == '&';
  if (args <= GUARD_MAX_ARGS && len <= GUARD_MAX_URI)
    return NULL;
  cc->odd = GUARD_ODD_URI;
  cc->odd_args = args;
  cc->odd_len = len;
  /* libmicrohttpd has found the '?' and parses the arguments from the
   * byte after it once this returns: make that the end of the string */
  q[1] = '\0';
  return NULL;
}

struct framing {
  int n_length, te;
  char length[32];
  int differ;
};

static enum MHD_Result framing_cb(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
  (void)kind;
  struct framing *f = cls;
  if (!key)
    return MHD_YES;
  if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING))
    f->te = 1;
  if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
    return MHD_YES;
  value = value ? value : "";
  if (f->n_length++ == 0)
    snprintf(f->length, sizeof(f->length), "%s", value);
  else if (strcmp(f->length, value))
    f->differ = 1;
  if (strchr(value, ','))
    f->differ = 1; /* "5, 6" is two lengths in one line */
  return MHD_YES;
}

int guard_check(struct MHD_Connection *conn, struct conn_ctx *cc, char *msg,
                size_t cap)
{
  int odd = cc->odd;
  cc->odd = 0;
  if (odd == GUARD_ODD_URI) {
    snprintf(msg, cap,
             "URI too long: %zu bytes with %zu query arguments; at most %d "
             "bytes and %d arguments (POST /movies/recommend/batch/{n} takes "
             "a long user list as a JSON body)",
             cc->odd_len, cc->odd_args, GUARD_MAX_URI, GUARD_MAX_ARGS);
    return 414;
  }
  if (odd == GUARD_ODD_NUL) {
    snprintf(msg, cap, "the URL holds a NUL byte (%%00)");
    return 400;
  }
  struct framing f = {0};
  MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_cb, &f);
  if (f.differ) {
    snprintf(msg, cap, "two different Content-Length headers");
    return 400;
  }
  if (f.te && f.n_length) {
    snprintf(msg, cap, "Content-Length together with Transfer-Encoding");
    return 400;
  }
  return 0;
}

/*
 * accesslog.c - the server's log on the log fd (logfmt, one line each):
 * events (listening, model loaded or refused, errors) written at once, and
 * one access line per request (ts, ip, method, path, status, route, us,
 * bytes, model) gathered in the worker's buffer.
 *
 * Design: the access line is formatted by hand (printf's machinery costs ~1
 * us a line) with a per-thread cache of the time stamp's second; a worker's
 * lines are written at most PIPE_BUF bytes at a time (whole lines, never
 * interleaved) when its buffer fills, after 0.1 s, or by the poller, so
 * logging costs no system call per request. A request answered before it
 * reached a worker's state (413 on its headers) has its line written at
 * once, formatted the same way.
 *
 * Threads: accesslog_request runs on the worker that owns t; a buffer's lock
 * is taken by its owner and the poller's flush only.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/http/routes.h"
#include "serve/http/server_internal.h"
#include "util/fsutil.h"
#include "util/mutex.h"

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

void accesslog_event(const struct serve *s, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  size_t n = format_line(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  ssize_t w = write(s->cfg.log_fd, buf, n);
  (void)w;
}

/* At most LOGBUF_CAP (= PIPE_BUF) bytes per write, so lines from different
 * threads never interleave even on a pipe. */
void accesslog_flush(const struct serve *s, struct logbuf *b, double now)
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
    accesslog_flush(s, b, now);
  memcpy(b->data + b->len, buf, n);
  b->len += n;
  if (now - b->last_flush >= 0.1)
    accesslog_flush(s, b, now);
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

void accesslog_flush_all(struct serve *s)
{
  double now = hv_mono();
  pthread_mutex_lock(&s->threads_lock);
  for (struct srv_thread *t = s->threads; t; t = t->next) {
    pthread_mutex_lock(&t->log.lock);
    accesslog_flush(s, &t->log, now);
    pthread_mutex_unlock(&t->log.lock);
  }
  pthread_mutex_unlock(&s->threads_lock);
}

void accesslog_safe(const char *s, char *out, size_t cap)
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

/* "ts=YYYY-mm-ddTHH:MM:SS" of the second ts is in, into out: from t's
 * cache when t is given (the cache is refreshed once a second). */
static const char *stamp_of(struct srv_thread *t, const struct timespec *ts,
                            char *out, size_t cap)
{
  if (t && t->ts_sec == ts->tv_sec)
    return t->ts_prefix;
  struct tm tm;
  gmtime_r(&ts->tv_sec, &tm);
  if (!t) {
    strftime(out, cap, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    return out;
  }
  strftime(t->ts_prefix, sizeof(t->ts_prefix), "ts=%Y-%m-%dT%H:%M:%S", &tm);
  t->ts_sec = ts->tv_sec;
  return t->ts_prefix;
}

void accesslog_request(struct serve *s, struct srv_thread *t,
                       const struct conn_ctx *cc, int status, double secs)
{
  char path[sizeof(cc->path) * 4], method[sizeof(cc->method) * 4];
  accesslog_safe(cc->path, path, sizeof(path));
  accesslog_safe(cc->method, method, sizeof(method));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char own[40];
  char buf[1024], *p = buf;
  const char *end = buf + sizeof(buf) - 1;
  p = put_s(p, end, stamp_of(t, &ts, own, sizeof(own)));
  p = put_n(p, end, ".", 1);
  p = put_u(p, end, (uint64_t)(ts.tv_nsec / 1000000), 3);
  p = put_s(p, end, "Z ip=");
  p = put_s(p, end, cc->client[0] ? cc->client : cc->ip);
  if (cc->client[0] && strcmp(cc->client, cc->ip)) {
    p = put_s(p, end, " proxy=");
    p = put_s(p, end, cc->ip);
  }
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
  if (t) {
    logbuf_append(s, t, buf, (size_t)(p - buf));
  } else { /* no worker state: written at once */
    ssize_t w = write(s->cfg.log_fd, buf, (size_t)(p - buf));
    (void)w;
  }
}

/*
 * poller.c - the server's watcher thread: notices a new model and keeps
 * the access log flowing. It loads the model again when its source
 * changed (modelload_load) and flushes the workers' log buffers every
 * poll_seconds.
 *
 * Design: how a change is noticed depends on the store.
 * - SQLite, or a --model-file: polled every poll_seconds (0.5 s).
 * - PostgreSQL: a replica listens to the registry's change feed
 *   (store/listen.h: LISTEN/NOTIFY on a connection of its own), so a
 *   promotion made on any host is loaded as soon as it commits, with no
 *   query in between. After every (re)connection it checks once, to catch
 *   what changed while it was not listening. When the feed's connection
 *   is lost it polls every POLLER_FALLBACK_S and reconnects with a backoff
 *   (0.1 s doubling up to POLLER_BACKOFF_MAX_S). It also polls while the
 *   last load failed, connected or not, until one works.
 * Every load's outcome says whether the database answers: s->db_ok, which
 * /readyz reads (a replica without its database is not ready, even with a
 * model loaded).
 *
 * Threads: one poller thread per server; serve_stop wakes it through a
 * pipe (s->wake) and joins it.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "serve/http/server_internal.h"
#include "store/db.h"
#include "store/listen.h"
#include "util/fsutil.h"

#define POLLER_FALLBACK_S 2.0    /* registry poll while the feed is down */
#define POLLER_BACKOFF_MIN_S 0.1 /* first reconnection wait */
#define POLLER_BACKOFF_MAX_S 2.0

struct poller {
  struct serve *s;
  int feed;                   /* PostgreSQL registry: listen */
  struct db_listener *l;      /* NULL while disconnected */
  double backoff, next_connect, next_poll;
  char last_error[256];       /* to log a failure once, not every try */
};

/* Record whether the database answered (rc of a load). */
static void note_db(struct serve *s, int rc, const struct hv_err *err)
{
  int ok = rc != HV_EDB;
  pthread_mutex_lock(&s->why_lock);
  if (!ok)
    snprintf(s->db_why, sizeof(s->db_why), "%s", err->msg);
  pthread_mutex_unlock(&s->why_lock);
  if (atomic_exchange(&s->db_ok, ok) == ok)
    return;
  if (ok)
    accesslog_event(s, "event=database_back");
  else
    accesslog_event(s, "event=database_lost error=\"%s\"", err->msg);
}

static void load(struct poller *p)
{
  struct hv_err err = {0};
  int rc = modelload_load(p->s, MODELLOAD_CHANGED, &err);
  if (rc == HV_EDB)
    accesslog_event(p->s, "event=poll_failed error=\"%s\"", err.msg);
  note_db(p->s, rc, &err);
}

static void connect_feed(struct poller *p, double now)
{
  struct hv_err err = {0};
  if (db_listen_open(p->s->db_path, DB_LISTEN_REGISTRY, &p->l, &err)) {
    if (strcmp(err.msg, p->last_error))
      accesslog_event(p->s, "event=listen_failed retry_s=%.1f error=\"%s\"",
                      p->backoff, err.msg);
    snprintf(p->last_error, sizeof(p->last_error), "%s", err.msg);
    p->next_connect = now + p->backoff;
    p->backoff *= 2;
    if (p->backoff > POLLER_BACKOFF_MAX_S)
      p->backoff = POLLER_BACKOFF_MAX_S;
    return;
  }
  accesslog_event(p->s, "event=listening_registry channel=%s",
                  DB_LISTEN_REGISTRY);
  p->last_error[0] = '\0';
  p->backoff = POLLER_BACKOFF_MIN_S;
  load(p); /* what changed while nobody listened */
}

static void drop_feed(struct poller *p, const struct hv_err *err)
{
  accesslog_event(p->s, "event=listen_lost polling_s=%.1f error=\"%s\"",
                  POLLER_FALLBACK_S, err->msg);
  db_listen_close(p->l);
  p->l = NULL;
  p->next_connect = p->next_poll = 0; /* try again at once, poll now */
  note_db(p->s, HV_EDB, err);
}

/* Seconds until the next thing the loop must do on its own. */
static double wait_s(const struct poller *p, double now)
{
  double w = p->s->cfg.poll_seconds; /* the log flush */
  if ((!p->l || !atomic_load(&p->s->db_ok)) && p->next_poll - now < w)
    w = p->next_poll - now;
  if (p->feed && !p->l && p->next_connect - now < w)
    w = p->next_connect - now;
  return w > 0 ? w : 0;
}

static void *poller_main(void *arg)
{
  struct poller p = {.s = arg, .backoff = POLLER_BACKOFF_MIN_S};
  struct serve *s = p.s;
  p.feed = !s->model_file[0] && db_is_url(s->db_path);
  double fallback = p.feed ? POLLER_FALLBACK_S : s->cfg.poll_seconds;
  p.next_poll = hv_mono() + fallback;
  for (;;) {
    double now = hv_mono();
    if (p.feed && !p.l && now >= p.next_connect)
      connect_feed(&p, now);
    /* connected with the last load failed: poll until one works */
    if ((!p.l || !atomic_load(&s->db_ok)) && now >= p.next_poll) {
      load(&p);
      p.next_poll = now + fallback;
    }
    struct pollfd fds[2] = {{.fd = s->wake[0], .events = POLLIN},
                            {.fd = p.l ? db_listen_fd(p.l) : -1,
                             .events = POLLIN}};
    int n = poll(fds, 2, (int)(wait_s(&p, hv_mono()) * 1000) + 1);
    if (n < 0 && errno != EINTR)
      break;
    if (fds[0].revents)
      break; /* serve_stop */
    if (p.l && fds[1].revents) {
      struct hv_err err = {0};
      int got = db_listen_drain(p.l, &err);
      if (got < 0)
        drop_feed(&p, &err);
      else if (got > 0)
        load(&p);
    }
    accesslog_flush_all(s);
  }
  db_listen_close(p.l);
  return NULL;
}

int poller_start(struct serve *s, struct hv_err *err)
{
  if (pipe2(s->wake, O_CLOEXEC) != 0)
    return hv_err_set(err, HV_EIO, "poller: pipe: %s", strerror(errno));
  if (pthread_create(&s->poller, NULL, poller_main, s) != 0) {
    close(s->wake[0]);
    close(s->wake[1]);
    s->wake[0] = s->wake[1] = -1;
    return hv_err_set(err, HV_ENOMEM, "poller: no thread");
  }
  s->poller_running = 1;
  return 0;
}

void poller_stop(struct serve *s)
{
  if (!s->poller_running)
    return;
  char c = 1;
  ssize_t w = write(s->wake[1], &c, 1);
  (void)w;
  pthread_join(s->poller, NULL);
  s->poller_running = 0;
  close(s->wake[0]);
  close(s->wake[1]);
}

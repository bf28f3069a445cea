/*
 * sigfwd.c - SIGINT/SIGTERM passed to one thread, or to a watcher thread
 * through a pipe: see sigfwd.h.
 */
#include "util/sigfwd.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Read by the handler only; set before it is installed or switched. */
static pthread_t g_thread;
static atomic_int g_force;
static int g_fd = 2;
static const char *g_msg = "";

static void on_signal(int sig)
{
  if (atomic_load(&g_force)) {
    ssize_t w = write(g_fd, g_msg, strlen(g_msg));
    (void)w;
    _exit(128 + sig);
  }
  pthread_kill(g_thread, sig);
}

void sigfwd_install(struct sigfwd_saved *saved)
{
  g_thread = pthread_self();
  atomic_store(&g_force, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &saved->old_int);
  sigaction(SIGTERM, &sa, &saved->old_term);
}

void sigfwd_force_exit(int fd, const char *msg)
{
  g_fd = fd;
  g_msg = msg ? msg : "";
  atomic_store(&g_force, 1);
}

void sigfwd_restore(const struct sigfwd_saved *saved)
{
  sigaction(SIGINT, &saved->old_int, NULL);
  sigaction(SIGTERM, &saved->old_term, NULL);
  atomic_store(&g_force, 0);
}

/* ---- the watcher: a self-pipe and a thread of its own ------------------ */

/* Written once by sigfwd_watch (before the handler is installed and the
 * thread started), then only read. */
static int w_fd[2] = {-1, -1};
static sigfwd_fn w_fn;
static void *w_arg;
static volatile sig_atomic_t w_hits;

static void watch_handler(int sig)
{
  int saved = errno;
  if (++w_hits > 1)
    _exit(128 + sig); /* a second Ctrl-C: leave now */
  unsigned char b = (unsigned char)sig;
  ssize_t w = write(w_fd[1], &b, 1);
  (void)w;
  errno = saved;
}

static void *watch_main(void *arg)
{
  (void)arg;
  unsigned char b = 0;
  ssize_t r;
  do
    r = read(w_fd[0], &b, 1);
  while (r < 0 && errno == EINTR);
  int sig = r == 1 ? b : SIGTERM;
  w_fn(sig, w_arg);
  _exit(128 + sig);
  return NULL;
}

static void watch_close(void)
{
  close(w_fd[0]);
  close(w_fd[1]);
  w_fd[0] = w_fd[1] = -1;
}

int sigfwd_watch(sigfwd_fn fn, void *arg, struct hv_err *err)
{
  if (w_fd[0] >= 0)
    return 0;
  if (pipe(w_fd) != 0)
    return hv_err_set(err, HV_EIO, "guard: pipe: %s", strerror(errno));
  int fl = fcntl(w_fd[1], F_GETFL);
  if (fl < 0 || fcntl(w_fd[1], F_SETFL, fl | O_NONBLOCK) < 0 ||
      fcntl(w_fd[0], F_SETFD, FD_CLOEXEC) < 0 ||
      fcntl(w_fd[1], F_SETFD, FD_CLOEXEC) < 0) {
    int e = errno;
    watch_close();
    return hv_err_set(err, HV_EIO, "guard: fcntl: %s", strerror(e));
  }
  w_fn = fn;
  w_arg = arg;
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &at, watch_main, NULL);
  pthread_attr_destroy(&at);
  if (rc != 0) {
    watch_close();
    return hv_err_set(err, HV_EINTERNAL, "guard: thread: %s", strerror(rc));
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = watch_handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
    return hv_err_set(err, HV_EIO, "guard: sigaction: %s", strerror(errno));
  return 0;
}

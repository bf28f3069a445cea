/*
 * sigfwd.c - SIGINT/SIGTERM passed to one thread: see sigfwd.h.
 */
#include "util/sigfwd.h"

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

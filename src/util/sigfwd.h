/*
 * sigfwd.h - SIGINT/SIGTERM for a process with threads it did not start.
 *
 * Design: a long-running command (serve, watch) blocks SIGINT and SIGTERM
 * before it starts its threads and takes them with sigwait on one thread.
 * But OpenBLAS starts its own threads before main, with no signal blocked,
 * and the kernel hands a process-directed signal to any thread that does
 * not block it: there the default action would end the process on the spot.
 * sigfwd_install puts a handler in place that passes such a signal on to
 * the waiting thread (pending there until its sigwait); after
 * sigfwd_force_exit a signal ends the process at once instead (the second
 * Ctrl-C of a graceful stop).
 *
 * Threads: install / restore from the thread that waits, with SIGINT and
 * SIGTERM blocked on it. One installation per process at a time.
 */
#ifndef HV_UTIL_SIGFWD_H
#define HV_UTIL_SIGFWD_H

#include <signal.h>

struct sigfwd_saved {
  struct sigaction old_int, old_term;
};

/* Send SIGINT/SIGTERM that reach another thread to the calling thread;
 * the handlers they replace go to *saved (sigfwd_restore puts them back).
 * The caller blocks the two signals itself (pthread_sigmask). */
void sigfwd_install(struct sigfwd_saved *saved);

/* From now on, SIGINT/SIGTERM write msg (NUL-terminated, static) to fd and
 * end the process with status 128 + signal, whichever thread takes them. */
void sigfwd_force_exit(int fd, const char *msg);

/* Put back the handlers saved by sigfwd_install. */
void sigfwd_restore(const struct sigfwd_saved *saved);

#endif

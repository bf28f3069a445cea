/*
 * sigfwd.h - SIGINT/SIGTERM for a process with threads it did not start:
 * the one place Harvest handles them.
 *
 * Two ways, one per kind of command:
 * - sigfwd_install: for a command that waits for the signal itself and
 *   stops gracefully (serve, watch);
 * - sigfwd_watch: for a command that does not (train, tune, retrain): a
 *   thread of its own does the last work (marking runs KILLED) and ends
 *   the process.
 * Both end the process at once with 128 + signal on a second signal.
 *
 * Design (install): a long-running command (serve, watch) blocks SIGINT and
 * SIGTERM before it starts its threads and takes them with sigwait on one
 * thread. But OpenBLAS starts its own threads before main, with no signal
 * blocked, and the kernel hands a process-directed signal to any thread
 * that does not block it: there the default action would end the process
 * on the spot.
 * sigfwd_install puts a handler in place that passes such a signal on to
 * the waiting thread (pending there until its sigwait); after
 * sigfwd_force_exit a signal ends the process at once instead (the second
 * Ctrl-C of a graceful stop).
 *
 * Design (watch): a self-pipe. The handler only writes the signal number
 * to a pipe (async-signal-safe, on whichever thread the kernel picks,
 * OpenBLAS's included) and a detached watcher thread blocked on the pipe
 * does the work. No signal is blocked anywhere, so no thread needs to
 * cooperate; and, unlike forwarding with pthread_kill, nothing depends on
 * when a signal sent to a thread is delivered (ThreadSanitizer defers
 * those).
 *
 * Threads (install): install / restore from the thread that waits, with
 * SIGINT and SIGTERM blocked on it. One installation per process at a time.
 * Threads (watch): call sigfwd_watch from the main thread, once.
 */
#ifndef HV_UTIL_SIGFWD_H
#define HV_UTIL_SIGFWD_H

#include <signal.h>

#include "util/err.h"

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

/* What the watcher runs at the first signal (sig: SIGINT or SIGTERM). */
typedef void (*sigfwd_fn)(int sig, void *arg);

/* Process-wide, for the rest of the process: at the first SIGINT/SIGTERM
 * run fn(sig, arg) on the watcher thread, then _exit(128 + sig) as the
 * default action would have ended the process; a second signal meanwhile
 * ends it at once. Call from the main thread; the first successful call
 * wins and later ones return 0 and do nothing. Returns 0, or HV_EIO /
 * HV_EINTERNAL (err filled) when the pipe, thread or handlers cannot be set
 * up (then nothing is installed and a later call may try again, unless the
 * handlers alone failed). */
int sigfwd_watch(sigfwd_fn fn, void *arg, struct hv_err *err) HV_WARN_UNUSED;

#endif

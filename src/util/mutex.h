/*
 * mutex.h - lock ownership as an assertion: assert(mutex_held(&m)) at the
 * top of a function whose caller must hold m (what a comment "caller holds
 * m" used to say).
 *
 * Design: pthread_mutex_trylock, which returns EBUSY on a locked default
 * mutex whoever holds it, so it needs no extra field or wrapper around
 * every lock and unlock, and ThreadSanitizer sees a failed trylock as no
 * synchronisation at all. It cannot tell which thread holds m: it catches
 * the caller that holds nothing, the likely mistake. Only for assert():
 * when m is free it takes and releases it.
 *
 * Threads: any thread; m must be a default or normal (non-recursive) mutex.
 */
#ifndef HV_UTIL_MUTEX_H
#define HV_UTIL_MUTEX_H

#include <pthread.h>

/* 1 when m is locked (by any thread), 0 when it was free. */
int mutex_held(pthread_mutex_t *m);

#endif

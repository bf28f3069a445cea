/*
 * mutex.c - lock ownership as an assertion: see mutex.h.
 */
#include "util/mutex.h"

int mutex_held(pthread_mutex_t *m)
{
  if (pthread_mutex_trylock(m) != 0)
    return 1; /* EBUSY: someone holds it */
  pthread_mutex_unlock(m);
  return 0;
}

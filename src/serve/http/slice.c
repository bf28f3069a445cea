/*
 * slice.c - a worker's scheduler slice: see slice.h.
 */
#include "serve/http/slice.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* struct sched_attr of sched_setattr(2) (glibc 2.36 has no wrapper). */
struct hv_sched_attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};

void slice_set(int us)
{
  struct hv_sched_attr a = {0};
  if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof(a), 0) != 0 ||
      a.policy != SCHED_OTHER)
    return;
  a.size = sizeof(a);
  a.flags = 0;
  a.runtime = (uint64_t)us * 1000;
  (void)syscall(SYS_sched_setattr, 0, &a, 0);
}

/*
 * slice.c - a worker's scheduler slice: see slice.h.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
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

int slice_cpus(void)
{
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 2;
}

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

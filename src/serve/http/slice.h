/*
 * slice.h - the scheduler side of a server worker: the slice it asks the
 * kernel for, and when it gives the CPU away.
 *
 * Design: `harvest serve --slice-us N` (server.h) trades a little
 * throughput for tail latency on a loaded machine: each worker asks for an
 * N us scheduler slice when it starts (sched_setattr(2); Linux >= 6.12
 * EEVDF honours it for SCHED_OTHER, older kernels ignore it) and yields at
 * most once per N us of work, at the end of a request. slice_maybe_yield is
 * inline: it runs on every request.
 *
 * Threads: all three act on the calling thread only.
 */
#ifndef HV_SERVE_HTTP_SLICE_H
#define HV_SERVE_HTTP_SLICE_H

#include <sched.h>

/* The CPUs the calling thread may run on: its affinity mask (taskset(1),
 * Docker --cpuset-cpus, systemd CPUAffinity=), else the CPUs online; at
 * least 1. The default worker count: a worker per CPU the server has, not
 * per CPU the machine has (two workers pinned to one core take turns a
 * scheduler tick at a time). */
int slice_cpus(void);

/* Ask for a scheduler slice of us microseconds for the calling thread.
 * Keeps policy and nice. Best effort: a refusal leaves the kernel's
 * default. */
void slice_set(int us);

/* At the end of a request, give the CPU away when this worker's last yield
 * (*last_yield, hv_mono() seconds) is slice_us or more before now: a busy
 * worker thus yields once per slice of work, and a client or other services
 * runnable on the same core are not kept waiting a whole scheduler tick
 * (4 ms at HZ=250) behind it. Costs at most one sched_yield(2) per slice;
 * it returns at once when no one else is runnable. */
static inline void slice_maybe_yield(double *last_yield, double now,
                                     int slice_us)
{
  if (now - *last_yield >= slice_us * 1e-6) {
    sched_yield();
    *last_yield = now;
  }
}

#endif

/*
 * dist.h - the process group of `mpirun -np N harvest train --distributed`:
 * Open MPI behind the collectives train_run needs (struct train_dist,
 * model/model.h), the agreement points that let one rank's error end every
 * rank cleanly, and a measurement of the allreduce bandwidth.
 *
 * Design: MPI is initialised only by dist_open, which only `harvest train
 * --distributed` calls, so every other path (and the default train) runs
 * exactly as a build without MPI. A build without MPI (CMake found none,
 * or -DHV_MPI=OFF) keeps this file: dist_open then fails with a message
 * saying how to get it. The training scheme itself is train_run's
 * (TRAIN_DIST_SCHEME in model/model.h; docs/distributed.md says why).
 *
 * Agreement points. Every rank passes DIST_AGREEMENTS of them, in order:
 * 1 the home is open (rank 0 opens and migrates it first; the others open
 * it only afterwards, so they never write to it), 2 the data and settings
 * (train_run, after set-up), 3 the trained weights (train_run, after the
 * last epoch), 4 the run is complete (rank 0 has logged it). A rank that
 * fails before a point passes it and every later one with its failure
 * (dist_finish), so the others learn which rank failed and return an error
 * instead of waiting in a collective. Between points 2 and 3 (the batches:
 * one sum per batch) a failing rank cannot be waited for; dist_abort then
 * ends every rank with MPI_Abort and a message naming the rank. The
 * waits at the agreement points sleep (1 ms polls) rather than spin, so a
 * rank waiting for rank 0's evaluation does not take its core.
 *
 * Threads: MPI is initialised MPI_THREAD_FUNNELED; only the thread that
 * called dist_open may call the rest (OpenBLAS's threads never do).
 */
#ifndef HV_TRAIN_DIST_H
#define HV_TRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "util/err.h"

#define DIST_AGREEMENTS 4

struct dist {
  struct train_dist hook; /* rank, size and the collectives for train_run */
  int agreed;             /* agreement points passed so far */
  int in_batches;         /* between points 2 and 3 (after a good 2) */
  int open;               /* MPI initialised by dist_open */
};

/* 1 when this build has MPI (HV_MPI), else 0. */
int dist_available(void);

/* Initialise MPI (MPI_Init_thread, funneled) and fill d: rank and size of
 * MPI_COMM_WORLD (size 1 when started without mpirun: Open MPI's
 * singleton). HV_EINVAL with a message saying how to build with MPI when
 * this build has none; HV_EINTERNAL when MPI_Init fails. */
int dist_open(struct dist *d, struct hv_err *err) HV_WARN_UNUSED;

/* MPI_Finalize; a d that dist_open did not open does nothing. */
void dist_close(struct dist *d);

/* Agreement point (see the header comment): 0 when every rank passes rc 0
 * and the same fp; rc when rc != 0 (err left as the caller set it); else
 * HV_EINVAL with err naming the first rank that failed ("rank 1 of 2
 * failed ...; its message is above") or whose fp differs from rank 0's
 * (what names what was compared). Collective. */
int dist_agree(struct dist *d, int rc, uint64_t fp, const char *what,
               struct hv_err *err) HV_WARN_UNUSED;

/* Pass the agreement points this rank has not passed yet with failure rc
 * (rc 0: success), so every rank ends; returns the first failure seen (rc
 * when nonzero) with err set. Collective. Then dist_close. */
int dist_finish(struct dist *d, int rc, struct hv_err *err) HV_WARN_UNUSED;

/* Print "harvest: rank R of N: MSG; ending every rank" on stderr and end
 * every rank of the job with MPI_Abort(code). For errors between agreement
 * points 2 and 3 only. Does not return. */
_Noreturn void dist_abort(struct dist *d, const struct hv_err *why);

/* One row of dist_measure_allreduce. */
struct dist_bw {
  size_t bytes;      /* buffer size (floats x 4) */
  int reps;          /* allreduces timed */
  double seconds;    /* per allreduce (the slowest rank's mean) */
  double algbw;      /* bytes / seconds, bytes per second */
  double busbw;      /* algbw x 2 (N - 1) / N: what each link carried */
};

/* Time MPI_Allreduce (float sum, in place) on buffers of 4 KiB to 64 MiB
 * (x4 steps) into rows (cap rows); each size is repeated until about
 * budget_s seconds have passed (at least 3 times). Returns the rows
 * filled, or a negative HV_E code. Collective. */
int dist_measure_allreduce(struct dist *d, double budget_s,
                           struct dist_bw *rows, size_t cap,
                           struct hv_err *err);

#endif

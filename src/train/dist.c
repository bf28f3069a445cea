/*
 * dist.c - the MPI process group of `harvest train --distributed`: see
 * dist.h. The only file that includes mpi.h.
 */
#include "train/dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HV_MPI
#include <mpi.h>
#endif

#include "util/fsutil.h"

int dist_available(void)
{
#ifdef HV_MPI
  return 1;
#else
  return 0;
#endif
}

#ifdef HV_MPI

/* MPI counts are int: sums of more elements go in pieces. */
#define DIST_CHUNK ((size_t)1 << 28)

/* Sum the n elements of buf (each esize bytes, of MPI type t) over all
 * ranks, in place. */
static void sum_all(void *buf, size_t n, size_t esize, MPI_Datatype t)
{
  for (size_t o = 0; o < n; o += DIST_CHUNK) {
    size_t k = n - o < DIST_CHUNK ? n - o : DIST_CHUNK;
    MPI_Allreduce(MPI_IN_PLACE, (char *)buf + o * esize, (int)k, t, MPI_SUM,
                  MPI_COMM_WORLD);
  }
}

static void sum_f32(void *ud, float *buf, size_t n)
{
  (void)ud;
  sum_all(buf, n, sizeof(*buf), MPI_FLOAT);
}

static void sum_f64(void *ud, double *buf, size_t n)
{
  (void)ud;
  sum_all(buf, n, sizeof(*buf), MPI_DOUBLE);
}

static int agree_hook(void *ud, int rc, uint64_t fp, const char *what,
                      struct hv_err *err)
{
  return dist_agree(ud, rc, fp, what, err);
}

int dist_open(struct dist *d, struct hv_err *err)
{
  memset(d, 0, sizeof(*d));
  int provided = 0, rank = 0, size = 1;
  if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS)
    return hv_err_set(err, HV_EINTERNAL, "MPI_Init failed; start the ranks "
                      "with 'mpirun -np N harvest train --distributed'");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  d->open = 1;
  d->hook = (struct train_dist){rank, size, d, sum_f32, sum_f64, agree_hook};
  return 0;
}

void dist_close(struct dist *d)
{
  if (!d || !d->open)
    return;
  MPI_Finalize();
  d->open = 0;
}

/* Wait for q with 1 ms sleeps (an agreement may wait for minutes of rank
 * 0's work; a spinning wait would take a core from it). */
static void wait_sleeping(MPI_Request *q)
{
  int done = 0;
  for (;;) {
    MPI_Test(q, &done, MPI_STATUS_IGNORE);
    if (done)
      return;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

int dist_agree(struct dist *d, int rc, uint64_t fp, const char *what,
               struct hv_err *err)
{
  const int n = d->hook.size, me = d->hook.rank;
  /* per rank: failed, high and low 32 bits of fp (exact in a double; a
   * sum where only the owner's slot is nonzero is exact too) */
  double *v = calloc(3 * (size_t)n, sizeof(double));
  if (!v) {
    struct hv_err e = {0};
    hv_err_set(&e, HV_ENOMEM, "out of memory at an agreement point");
    dist_abort(d, &e);
  }
  v[3 * me] = rc ? 1.0 : 0.0;
  v[3 * me + 1] = (double)(fp >> 32);
  v[3 * me + 2] = (double)(fp & 0xffffffffu);
  MPI_Request q;
  MPI_Iallreduce(MPI_IN_PLACE, v, 3 * n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD,
                 &q);
  wait_sleeping(&q);
  d->agreed++;
  int bad = -1, differs = 0;
  for (int r = 0; r < n && bad < 0; r++)
    if (v[3 * r] != 0.0)
      bad = r;
  for (int r = 1; r < n && bad < 0; r++)
    if (v[3 * r + 1] != v[1] || v[3 * r + 2] != v[2])
      bad = r, differs = 1;
  free(v);
  d->in_batches = d->agreed == 2 && bad < 0 && !rc;
  if (rc)
    return rc;
  if (bad < 0)
    return 0;
  if (differs)
    return hv_err_set(err, HV_EINVAL,
                      "rank %d of %d does not agree with rank 0 on the %s: "
                      "start every rank with the same flags on the same "
                      "data (one database, no import meanwhile)",
                      bad, n, what);
  return hv_err_set(err, HV_EINVAL,
                    "rank %d of %d failed before agreeing on the %s; its "
                    "message is above", bad, n, what);
}

int dist_finish(struct dist *d, int rc, struct hv_err *err)
{
  struct hv_err mine = *err;
  int first = rc;
  while (d->open && d->agreed < DIST_AGREEMENTS) {
    struct hv_err e = {0};
    int r = dist_agree(d, rc, 0, d->agreed == DIST_AGREEMENTS - 1
                                     ? "finished run" : "set-up", &e);
    if (r && !first) {
      first = r;
      mine = e;
    }
  }
  dist_close(d);
  *err = mine;
  return first;
}

_Noreturn void dist_abort(struct dist *d, const struct hv_err *why)
{
  fprintf(stderr, "harvest: rank %d of %d: error: %s; ending every rank\n",
          d->hook.rank, d->hook.size,
          why->msg[0] ? why->msg : hv_strerror(why->code));
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, why->code < 0 ? 1 : why->code ? why->code : 1);
  abort(); /* MPI_Abort does not return */
}

int dist_measure_allreduce(struct dist *d, double budget_s,
                           struct dist_bw *rows, size_t cap,
                           struct hv_err *err)
{
  const size_t max_bytes = (size_t)64 << 20;
  float *buf = calloc(max_bytes / sizeof(float), sizeof(float));
  if (!buf)
    return hv_err_set(err, HV_ENOMEM, "out of memory (allreduce buffer)");
  size_t n = 0;
  const int size = d->hook.size;
  for (size_t bytes = 4096; bytes <= max_bytes && n < cap; bytes *= 4) {
    int count = (int)(bytes / sizeof(float));
    MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD); /* warm-up */
    int reps = 0;
    double t0 = 0, dt = 0;
    for (;;) {
      MPI_Barrier(MPI_COMM_WORLD);
      t0 = hv_mono();
      MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      dt += hv_mono() - t0;
      reps++;
      /* rank 0 decides when to stop, so every rank runs the same reps */
      int go = reps < 3 || dt < budget_s;
      MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
      if (!go)
        break;
    }
    double mean = dt / reps;
    MPI_Allreduce(MPI_IN_PLACE, &mean, 1, MPI_DOUBLE, MPI_MAX,
                  MPI_COMM_WORLD);
    struct dist_bw *r = &rows[n++];
    r->bytes = bytes;
    r->reps = reps;
    r->seconds = mean;
    r->algbw = mean > 0 ? (double)bytes / mean : 0.0;
    r->busbw = size > 1 ? r->algbw * 2.0 * (size - 1) / size : r->algbw;
  }
  free(buf);
  return (int)n;
}

#else /* no MPI in this build */

int dist_open(struct dist *d, struct hv_err *err)
{
  memset(d, 0, sizeof(*d));
  return hv_err_set(err, HV_EINVAL,
                    "this harvest was built without MPI, so --distributed "
                    "is not available; install Open MPI (apt-get install "
                    "openmpi-bin libopenmpi-dev) and rebuild, or train "
                    "without --distributed");
}

void dist_close(struct dist *d)
{
  (void)d;
}

int dist_agree(struct dist *d, int rc, uint64_t fp, const char *what,
               struct hv_err *err)
{
  (void)fp;
  (void)what;
  (void)err;
  d->agreed++;
  return rc;
}

int dist_finish(struct dist *d, int rc, struct hv_err *err)
{
  (void)d;
  (void)err;
  return rc;
}

_Noreturn void dist_abort(struct dist *d, const struct hv_err *why)
{
  (void)d;
  fprintf(stderr, "harvest: error: %s\n", why->msg);
  abort(); /* unreachable: dist_open never succeeds without MPI */
}

int dist_measure_allreduce(struct dist *d, double budget_s,
                           struct dist_bw *rows, size_t cap,
                           struct hv_err *err)
{
  (void)d;
  (void)budget_s;
  (void)rows;
  (void)cap;
  return hv_err_set(err, HV_EINVAL, "this harvest was built without MPI");
}

#endif

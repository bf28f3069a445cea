/*
 * dbcopy.h - move a Harvest home to PostgreSQL and back: every table and
 * every artifact blob from one home or database into a new one, checked
 * and all or nothing (`harvest db copy`).
 *
 * Design: an end is a home folder (its harvest.db and artifacts/) or a
 * PostgreSQL URL (its tables and, unless --artifacts names a folder, its
 * blobs). The source is read inside one transaction of its own, which on
 * either backend holds off writers (the write lock), so the copy is one
 * consistent state. The target must be new: a folder that does not exist
 * or is empty, or a database with no rows. Everything is written inside
 * one transaction on the target: the tables (store/copy.h: row counts
 * checked table by table), then every blob the rows name, verified where
 * it is read and re-hashed where it is written (track/artifacts.h). Only
 * when all of that passed does it commit. On any failure the target
 * transaction is rolled back and a home folder this copy made is removed,
 * so nothing is left (a new PostgreSQL database keeps its empty schema).
 * A URL end gets a temporary folder as its local artifact cache, removed
 * afterwards.
 *
 * Threads: one copy per call; nothing shared.
 */
#ifndef HV_TRACK_DBCOPY_H
#define HV_TRACK_DBCOPY_H

#include <stddef.h>
#include <stdint.h>

#include "store/copy.h"
#include "util/err.h"

struct dbcopy_opts {
  const char *from; /* a home folder or a postgresql:// URL */
  const char *to;   /* a new or empty home folder, or an empty database */
  copy_progress_fn progress; /* tables (may be NULL) */
  /* blobs: done of total, bytes so far (may be NULL) */
  void (*blob_progress)(void *ctx, size_t done, size_t total, int64_t bytes);
  void *ctx;
};

struct dbcopy_report {
  struct copy_counts rows;
  size_t blobs;
  int64_t bytes;
  double seconds;
};

/* Copy o->from into o->to as described above; *r (may be NULL) gets what
 * moved. HV_EINVAL for an end that is neither, HV_ENOTFOUND for a source
 * home without a database, HV_ECONFLICT for a target holding data, or the
 * error of the step that failed (nothing written then). */
int dbcopy_run(const struct dbcopy_opts *o, struct dbcopy_report *r,
               struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * dbcopy.c - a home or database into a new one: see dbcopy.h.
 */
#include "track/dbcopy.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "track/artifacts.h"
#include "util/fsutil.h"

/* One end of a copy. */
struct end {
  const char *arg;
  char home[4096]; /* the folder, or a temporary one for a URL */
  char db[4096];
  int url;
  int made; /* 0: not ours; 1: made by this copy (removed on failure);
               2: a temporary cache (always removed); 3: an empty folder
               given (emptied again on failure) */
  struct hv_db *h;
};

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Whether dir is an empty folder (1), missing (0) or else (-1). */
static int empty_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *e;
  int empty = 1;
  while (empty && (e = readdir(d)))
    empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
  closedir(d);
  return empty ? 1 : -1;
}

static int temp_home(struct end *e, struct hv_err *err)
{
  const char *t = getenv("TMPDIR");
  snprintf(e->home, sizeof(e->home), "%s/harvest-copy.XXXXXX",
           t && *t ? t : "/tmp");
  if (!mkdtemp(e->home))
    return hv_err_set(err, HV_EIO, "cannot make a temporary folder: %s",
                      strerror(errno));
  e->made = 2;
  return 0;
}

static int resolve(struct end *e, int target, struct hv_err *err)
{
  if (!e->arg || !*e->arg)
    return hv_err_set(err, HV_EINVAL, "no %s given",
                      target ? "--to" : "--from");
  e->url = db_is_url(e->arg);
  if (e->url) {
    if (strlen(e->arg) >= sizeof(e->db))
      return hv_err_set(err, HV_EINVAL, "URL too long");
    snprintf(e->db, sizeof(e->db), "%s", e->arg);
    return temp_home(e, err);
  }
  if (strlen(e->arg) + 16 >= sizeof(e->home))
    return hv_err_set(err, HV_EINVAL, "folder name too long");
  snprintf(e->home, sizeof(e->home), "%s", e->arg);
  snprintf(e->db, sizeof(e->db), "%s/harvest.db", e->arg);
  if (!target)
    return access(e->db, F_OK) == 0
               ? 0
               : hv_err_set(err, HV_ENOTFOUND,
                            "%s is not a Harvest home (no harvest.db)",
                            e->arg);
  int st = empty_dir(e->home);
  if (st < 0)
    return hv_err_set(err, HV_ECONFLICT,
                      "%s exists and is not an empty folder; copy into a "
                      "new home",
                      e->arg);
  if (st == 0 && mkdir(e->home, 0700) != 0)
    return hv_err_set(err, HV_EIO, "cannot create %s: %s", e->home,
                      strerror(errno));
  e->made = st == 0 ? 1 : 3;
  return 0;
}

/* Remove what this copy made of e: on failure (or always for a temporary
 * cache). */
static void cleanup(struct end *e, int failed)
{
  db_close(e->h);
  e->h = NULL;
  if (e->made == 2 || (failed && e->made == 1))
    hv_remove_tree(e->home, 0);
  else if (failed && e->made == 3)
    hv_remove_tree(e->home, 1);
}

static int copy_blobs_of(const struct dbcopy_opts *o, struct end *from,
                         struct end *to, struct dbcopy_report *r,
                         struct hv_err *err)
{
  struct copy_blob *b = NULL;
  size_t n = 0;
  int rc = copy_blobs(from->h, &b, &n, err);
  for (size_t i = 0; !rc && i < n; i++) {
    rc = artifacts_copy_blob(from->home, from->h, to->home, to->h,
                             b[i].sha256, b[i].size, err);
    r->bytes += b[i].size;
    r->blobs++;
    if (!rc && o->blob_progress)
      o->blob_progress(o->ctx, i + 1, n, r->bytes);
  }
  free(b);
  return rc;
}

static int run(const struct dbcopy_opts *o, struct end *from, struct end *to,
               struct dbcopy_report *r, struct hv_err *err)
{
  int rc = resolve(from, 0, err);
  if (!rc && !strcmp(from->arg, to->arg))
    rc = hv_err_set(err, HV_EINVAL, "--from and --to are the same");
  if (rc || (rc = resolve(to, 1, err)) ||
      (rc = db_open(from->db, &from->h, err)) ||
      (rc = db_open(to->db, &to->h, err)))
    return rc;
  /* the source's write lock: one consistent state, no writer meanwhile */
  if ((rc = db_begin(from->h, err)))
    return rc;
  if ((rc = db_begin(to->h, err))) {
    db_rollback(from->h);
    return rc;
  }
  rc = copy_tables(from->h, to->h, o->progress, o->ctx, &r->rows, err);
  if (!rc)
    rc = copy_blobs_of(o, from, to, r, err);
  if (!rc)
    rc = db_commit(to->h, err);
  else
    db_rollback(to->h);
  db_rollback(from->h);
  return rc;
}

int dbcopy_run(const struct dbcopy_opts *o, struct dbcopy_report *r,
               struct hv_err *err)
{
  struct dbcopy_report rep = {.seconds = 0};
  if (!o)
    return hv_err_set(err, HV_EINVAL, "no copy options");
  struct end from = {.arg = o->from}, to = {.arg = o->to};
  double t0 = now_s();
  int rc = run(o, &from, &to, &rep, err);
  cleanup(&from, rc != 0);
  cleanup(&to, rc != 0);
  rep.seconds = now_s() - t0;
  if (!rc && r)
    *r = rep;
  return rc;
}

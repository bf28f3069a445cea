/*
 * blobs.c - artifact blobs in the database: the argument checks and the
 * transaction of blobs_put, dispatched to the backend (see blobs.h).
 */
#include "store/blobs.h"

#include "store/backend.h"
#include "util/parse.h"

int blobs_in_db(const struct hv_db *db)
{
  return db && db->be->blobs != NULL;
}

/* Common checks: a database keeping blobs and a well-formed hash. */
static int check(const struct hv_db *db, const char *sha256,
                 struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "artifact blobs");
  if (!db->be->blobs)
    return hv_err_set(err, HV_EINVAL,
                      "%s keeps artifacts as files, not in the database",
                      db->path);
  if (sha256 && !hv_is_hex(sha256, 64))
    return hv_err_set(err, HV_EINVAL,
                      "artifact hash '%.70s' is not 64 lowercase hex",
                      sha256);
  return 0;
}

int blobs_size(struct hv_db *db, const char *sha256, int64_t *size,
               struct hv_err *err)
{
  int rc = sha256 ? check(db, sha256, err)
                  : hv_err_set(err, HV_EINVAL, "no artifact hash");
  return rc ? rc : db->be->blobs->size(db, sha256, size, err);
}

int blobs_put_in(struct hv_db *db, const char *sha256, int64_t size,
                 blobs_fill_fn fill, void *ctx, int *added,
                 struct hv_err *err)
{
  if (added)
    *added = 0;
  int rc = sha256 ? check(db, sha256, err)
                  : hv_err_set(err, HV_EINVAL, "no artifact hash");
  if (!rc && (size < 0 || !fill))
    rc = hv_err_set(err, HV_EINVAL, "artifact blob %.64s: bad size or "
                    "no source", sha256);
  return rc ? rc : db->be->blobs->put(db, sha256, size, fill, ctx, added,
                                      err);
}

int blobs_put(struct hv_db *db, const char *sha256, int64_t size,
              blobs_fill_fn fill, void *ctx, int *added, struct hv_err *err)
{
  int64_t have = 0;
  int rc = blobs_size(db, sha256, &have, err);
  if (rc != HV_ENOTFOUND) { /* stored already (or an error) */
    if (added)
      *added = 0;
    return rc;
  }
  if ((rc = db_begin(db, err)))
    return rc;
  rc = blobs_put_in(db, sha256, size, fill, ctx, added, err);
  if (rc) {
    db_rollback(db);
    return rc;
  }
  return db_commit(db, err);
}

int blobs_get(struct hv_db *db, const char *sha256, blobs_take_fn take,
              void *ctx, int64_t *size, struct hv_err *err)
{
  int rc = sha256 ? check(db, sha256, err)
                  : hv_err_set(err, HV_EINVAL, "no artifact hash");
  if (!rc && !take)
    rc = hv_err_set(err, HV_EINVAL, "artifact blob: no reader");
  return rc ? rc : db->be->blobs->get(db, sha256, take, ctx, size, err);
}

int blobs_each(struct hv_db *db,
               int (*fn)(void *ctx, const char *sha256, int64_t size),
               void *ctx, struct hv_err *err)
{
  int rc = check(db, NULL, err);
  return rc ? rc : db->be->blobs->each(db, fn, ctx, err);
}

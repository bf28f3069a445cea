/*
 * pg_blobs.c - artifact blobs in PostgreSQL (see store/blobs.h): a row per
 * blob in artifact_blobs, its bytes in artifact_chunks as BYTEA of 1 MiB,
 * sent and read in libpq's binary format (no hex or escape encoding of the
 * bytes on either side).
 *
 * Threads: as pg.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg/pg.h"

static int pg_blob_size(struct hv_db *db, const char *sha, int64_t *size,
                        struct hv_err *err)
{
  struct sql_args a = sql_argsf("t", sha);
  PGresult *r = NULL;
  if (pg_query(db, "SELECT size FROM artifact_blobs WHERE sha256 = $1", 1,
               &a, &r, "artifact blob", err))
    return HV_EDB;
  int rc = 0;
  if (PQntuples(r) == 0)
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "artifact blob %.64s is not in the database", sha);
  else if (size)
    *size = pg_i64(r, 0, 0, 0);
  PQclear(r);
  return rc;
}

/* Insert chunk seq of sha: n bytes at data, sent as binary. */
static int put_chunk(struct hv_db *db, const char *sha, int64_t seq,
                     const char *data, size_t n, struct hv_err *err)
{
  char s[24];
  snprintf(s, sizeof(s), "%lld", (long long)seq);
  const char *v[3] = {sha, s, data};
  int len[3] = {0, 0, (int)n}, fmt[3] = {0, 0, 1};
  PGresult *r = PQexecParams(
      pg_of(db)->c,
      "INSERT INTO artifact_chunks(sha256, seq, data) VALUES ($1, $2, $3)",
      3, NULL, v, len, fmt, 0);
  int rc = 0;
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    rc = pg_fail(db, r, err, "artifact chunk");
  PQclear(r);
  return rc;
}

static int pg_blob_put(struct hv_db *db, const char *sha, int64_t size,
                       blobs_fill_fn fill, void *ctx, int *added,
                       struct hv_err *err)
{
  struct sql_args a = sql_argsf("tif", sha, size, (double)time(NULL));
  int64_t n = 0;
  if (pg_cmd(db,
             "INSERT INTO artifact_blobs(sha256, size, created_at) "
             "VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
             1, &a, &n, "artifact blob", err))
    return HV_EDB;
  if (n == 0)
    return 0; /* there already, complete: its chunks came with its row */
  char *buf = malloc(BLOBS_CHUNK);
  if (!buf)
    return hv_err_set(err, HV_ENOMEM, "out of memory storing a blob");
  int rc = 0;
  for (int64_t off = 0, seq = 0; !rc && (off < size || seq == 0); seq++) {
    size_t k = size - off < BLOBS_CHUNK ? (size_t)(size - off) : BLOBS_CHUNK;
    if (k && (rc = fill(ctx, buf, k, err)))
      break;
    rc = put_chunk(db, sha, seq, buf, k, err);
    off += (int64_t)k;
  }
  free(buf);
  if (!rc && added)
    *added = 1;
  return rc;
}

/* Chunk seq of sha (binary) into *r; HV_ECORRUPT when it is missing. */
static int get_chunk(struct hv_db *db, const char *sha, int64_t seq,
                     PGresult **res, struct hv_err *err)
{
  static const char sql[] =
      "SELECT data FROM artifact_chunks WHERE sha256 = $1 AND seq = $2";
  char s[24];
  snprintf(s, sizeof(s), "%lld", (long long)seq);
  const char *v[2] = {sha, s};
  PGresult *r = PQexecParams(pg_of(db)->c, sql, 2, NULL, v, NULL, NULL, 1);
  *res = NULL;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    int rc = pg_fail(db, r, err, "artifact chunk");
    PQclear(r);
    return rc;
  }
  if (PQntuples(r) != 1) {
    PQclear(r);
    return hv_err_set(err, HV_ECORRUPT,
                      "artifact blob %.64s: chunk %lld is missing", sha,
                      (long long)seq);
  }
  *res = r;
  return 0;
}

static int pg_blob_get(struct hv_db *db, const char *sha, blobs_take_fn take,
                       void *ctx, int64_t *size_out, struct hv_err *err)
{
  int64_t size = 0;
  int rc = pg_blob_size(db, sha, &size, err);
  if (rc)
    return rc;
  if (size_out)
    *size_out = size;
  for (int64_t off = 0, seq = 0; !rc && off < size; seq++) {
    PGresult *r = NULL;
    if ((rc = get_chunk(db, sha, seq, &r, err)))
      break;
    size_t want = size - off < BLOBS_CHUNK ? (size_t)(size - off)
                                           : BLOBS_CHUNK;
    if ((size_t)PQgetlength(r, 0, 0) != want)
      rc = hv_err_set(err, HV_ECORRUPT,
                      "artifact blob %.64s: chunk %lld is %d bytes, "
                      "expected %zu",
                      sha, (long long)seq, PQgetlength(r, 0, 0), want);
    else
      rc = take(ctx, PQgetvalue(r, 0, 0), want, err);
    PQclear(r);
    off += (int64_t)want;
  }
  return rc;
}

struct each_ctx {
  int (*fn)(void *ctx, const char *sha256, int64_t size);
  void *ctx;
};

static int each_row(const PGresult *r, int i, void *arg)
{
  struct each_ctx *e = arg;
  return e->fn(e->ctx, pg_text(r, i, 0), pg_i64(r, i, 1, 0));
}

static int pg_blob_each(struct hv_db *db,
                        int (*fn)(void *ctx, const char *sha256,
                                  int64_t size),
                        void *ctx, struct hv_err *err)
{
  struct each_ctx e = {fn, ctx};
  return pg_run(db, "SELECT sha256, size FROM artifact_blobs ORDER BY 1", 0,
                NULL, each_row, &e, NULL, "artifact blobs", err);
}

const struct blob_ops pg_blob_ops = {.size = pg_blob_size,
                                     .put = pg_blob_put,
                                     .get = pg_blob_get,
                                     .each = pg_blob_each};

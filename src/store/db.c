/*
 * db.c - the connection's life cycle, dispatched to its backend: see db.h.
 *
 * Design: the backend is chosen once, at db_open, from the path; every
 * other call goes through db->be. A libpq connection URI
 * ("postgresql://..." or "postgres://...") is PostgreSQL (store/pg/),
 * anything else a SQLite file (or ":memory:").
 */
#include "store/db.h"

#include <assert.h>
#include <string.h>

#include "store/backend.h"
#include "util/fsutil.h"

int db_is_url(const char *path)
{
  return path && (!strncmp(path, "postgresql://", 13) ||
                  !strncmp(path, "postgres://", 11));
}

int db_home_path(const char *home, const char *db, char *out, size_t cap,
                 struct hv_err *err)
{
  if (!db || !*db)
    return hv_path_join(out, cap, home, "harvest.db", err);
  if (strlen(db) >= cap)
    return hv_err_set(err, HV_EINVAL, "database name too long: %.64s...",
                      db);
  memcpy(out, db, strlen(db) + 1);
  return 0;
}

static const struct store_backend *backend_for(const char *path)
{
  return db_is_url(path) ? &pg_backend : &sq_backend;
}

/* A new zeroed connection of backend be for path; NULL with err filled
 * when out of memory. */
static struct hv_db *conn_new(const struct store_backend *be,
                              const char *path, struct hv_err *err)
{
  assert(be->conn_size >= sizeof(struct hv_db));
  struct hv_db *db = calloc(1, be->conn_size);
  if (!db) {
    char shown[512];
    db_redact(path, shown, sizeof(shown));
    hv_err_set(err, HV_ENOMEM, "out of memory opening %s", shown);
    return NULL;
  }
  db->be = be;
  db_redact(path, db->path, sizeof(db->path));
  store_copy_text(db->conn, sizeof(db->conn), path);
  return db;
}

int db_open(const char *path, struct hv_db **out, struct hv_err *err)
{
  *out = NULL;
  if (!path || !*path)
    return hv_err_set(err, HV_EINVAL, "no database path");
  const struct store_backend *be = backend_for(path);
  struct hv_db *db = conn_new(be, path, err);
  if (!db)
    return HV_ENOMEM;
  int rc = be->connect(db, err);
  if (!rc && (rc = be->setup(db, err)) && rc != HV_EVERSION &&
      rc != HV_ENOSPC && rc != HV_EBUSY)
    hv_err_prefix(err, "%s", db->path);
  if (rc) {
    be->close(db);
    return rc;
  }
  *out = db;
  return 0;
}

void db_close(struct hv_db *db)
{
  if (db)
    db->be->close(db);
}

int db_begin(struct hv_db *db, struct hv_err *err)
{
  return db->be->begin(db, err);
}

int db_commit(struct hv_db *db, struct hv_err *err)
{
  return db->be->commit(db, err);
}

void db_rollback(struct hv_db *db)
{
  if (db)
    db->be->rollback(db);
}

int db_schema_latest(void)
{
  return sq_backend.schema_latest();
}

int db_schema_version(struct hv_db *db)
{
  return db->be->schema_version(db);
}

int db_check(struct hv_db *db, struct hv_err *err)
{
  return db->be->check(db, err);
}

int db_alive(struct hv_db *db)
{
  return db && (!db->be->alive || db->be->alive(db));
}

const char *db_path(const struct hv_db *db)
{
  return db->path;
}

const char *db_conn(const struct hv_db *db)
{
  return db->conn;
}

/* Append n bytes of s to out (cap bytes, *k used), cutting at the end. */
static void put(char *out, size_t cap, size_t *k, const char *s, size_t n)
{
  while (n-- && *k + 1 < cap)
    out[(*k)++] = *s++;
  out[*k] = '\0';
}

void db_redact(const char *path, char *out, size_t cap)
{
  size_t k = 0;
  if (!cap)
    return;
  out[0] = '\0';
  if (!path)
    return;
  if (!db_is_url(path)) {
    put(out, cap, &k, path, strlen(path));
    return;
  }
  const char *s = strstr(path, "://") + 3;
  size_t auth = strcspn(s, "/?#"); /* [user[:password]@]host[:port] */
  const char *at = memchr(s, '@', auth);
  const char *colon = at ? memchr(s, ':', (size_t)(at - s)) : NULL;
  put(out, cap, &k, path, (size_t)(s - path));
  if (colon) {
    put(out, cap, &k, s, (size_t)(colon - s) + 1);
    put(out, cap, &k, "***", 3);
    s = at;
  }
  /* the query's password=VALUE (and anything spelled so) */
  while (*s) {
    size_t n = strcspn(s, "?&");
    put(out, cap, &k, s, n);
    s += n;
    if (!*s)
      break;
    put(out, cap, &k, s, 1);
    s++;
    if (!strncmp(s, "password=", 9)) {
      put(out, cap, &k, "password=***", 12);
      s += 9 + strcspn(s + 9, "&#");
    }
  }
}

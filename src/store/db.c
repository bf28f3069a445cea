/*
 * db.c - SQLite connection, pragmas, transactions and migrations: see db.h.
 */
#include "store/db_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int db_fail(struct hv_db *db, struct hv_err *err, const char *what)
{
  return hv_err_set(err, HV_EDB, "%s: %s", what,
                    db && db->h ? sqlite3_errmsg(db->h) : "no database");
}

int db_exec(struct hv_db *db, const char *sql, struct hv_err *err)
{
  char *msg = NULL;
  if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) == SQLITE_OK)
    return 0;
  hv_err_set(err, HV_EDB, "database: %s", msg ? msg : "unknown error");
  sqlite3_free(msg);
  return HV_EDB;
}

int db_prepare(struct hv_db *db, const char *sql, sqlite3_stmt **st,
               struct hv_err *err)
{
  if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK)
    return db_fail(db, err, "prepare");
  return 0;
}

int db_begin(struct hv_db *db, struct hv_err *err)
{
  return db_exec(db, "BEGIN IMMEDIATE", err);
}

int db_commit(struct hv_db *db, struct hv_err *err)
{
  return db_exec(db, "COMMIT", err);
}

void db_rollback(struct hv_db *db)
{
  if (db && db->h && !sqlite3_get_autocommit(db->h))
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int db_schema_latest(void)
{
  return db_n_migrations;
}

int db_schema_version(struct hv_db *db)
{
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(db->h, "SELECT MAX(version) FROM schema_version",
                         -1, &st, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int apply_migration(struct hv_db *db, int to, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_begin(db, err))
    return HV_EDB;
  if (db_exec(db, db_migrations[to - 1], err))
    goto fail;
  if (db_prepare(db,
                 "INSERT INTO schema_version(version, applied_at) "
                 "VALUES (?, strftime('%s','now'))",
                 &st, err))
    goto fail;
  sqlite3_bind_int(st, 1, to);
  if (sqlite3_step(st) != SQLITE_DONE) {
    db_fail(db, err, "schema_version");
    goto fail;
  }
  sqlite3_finalize(st);
  return db_commit(db, err);
fail:
  sqlite3_finalize(st);
  db_rollback(db);
  hv_err_prefix(err, "%s: migration to schema %d", db->path, to);
  return HV_EDB;
}

static int migrate(struct hv_db *db, struct hv_err *err)
{
  if (db_exec(db,
              "CREATE TABLE IF NOT EXISTS schema_version ("
              " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
              err))
    return HV_EDB;
  int have = db_schema_version(db);
  if (have < 0)
    return db_fail(db, err, "schema_version");
  if (have > db_n_migrations)
    return hv_err_set(err, HV_EVERSION,
                      "%s is schema version %d but this harvest knows up to "
                      "%d; use a newer harvest",
                      db->path, have, db_n_migrations);
  for (int v = have + 1; v <= db_n_migrations; v++)
    if (apply_migration(db, v, err))
      return err->code;
  return 0;
}

static int set_pragmas(struct hv_db *db, struct hv_err *err)
{
  sqlite3_busy_timeout(db->h, 5000);
  return db_exec(db,
                 "PRAGMA journal_mode=WAL;"
                 "PRAGMA synchronous=NORMAL;"
                 "PRAGMA foreign_keys=ON;"
                 "PRAGMA temp_store=MEMORY;",
                 err);
}

/* SQLite creates a new database file 0644 (less the umask), and its -wal
 * and -shm with the database file's mode. The database holds password
 * hashes, so a new one is created 0600 here first (an empty file is an
 * empty database); an existing file keeps its mode. Creating the file
 * rather than changing the umask keeps this safe for the server's threads
 * opening connections at once. Failures are left to sqlite3_open_v2 to
 * report. */
static void create_private(const char *path)
{
  if (!*path || !strcmp(path, ":memory:") || !strncmp(path, "file:", 5))
    return;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0)
    close(fd);
}

int db_open(const char *path, struct hv_db **out, struct hv_err *err)
{
  *out = NULL;
  struct hv_db *db = calloc(1, sizeof(*db));
  if (!db)
    return hv_err_set(err, HV_ENOMEM, "out of memory opening %s", path);
  snprintf(db->path, sizeof(db->path), "%s", path);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
              SQLITE_OPEN_NOMUTEX;
  create_private(path);
  if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
    hv_err_set(err, HV_EDB, "cannot open database %s: %s", path,
               db->h ? sqlite3_errmsg(db->h) : "out of memory");
    db_close(db);
    return HV_EDB;
  }
  sqlite3_extended_result_codes(db->h, 1);
  if (set_pragmas(db, err) || migrate(db, err)) {
    if (err && err->code != HV_EVERSION)
      hv_err_prefix(err, "%s", path);
    int rc = err ? err->code : HV_EDB;
    db_close(db);
    return rc;
  }
  *out = db;
  return 0;
}

void db_close(struct hv_db *db)
{
  if (!db)
    return;
  sqlite3_close_v2(db->h);
  free(db);
}

const char *db_path(const struct hv_db *db)
{
  return db->path;
}

static int check_pragma(struct hv_db *db, const char *sql, int want_ok,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(db, sql, &st, err))
    return HV_EDB;
  int rc = 0;
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(st, 0);
    if (!want_ok || !v || strcmp(v, "ok"))
      rc = hv_err_set(err, HV_ECORRUPT, "%s: %s failed: %s", db->path, sql,
                      v ? v : "(null)");
  } else if (step != SQLITE_DONE) {
    rc = db_fail(db, err, sql);
  }
  sqlite3_finalize(st);
  return rc;
}

int db_check(struct hv_db *db, struct hv_err *err)
{
  if (check_pragma(db, "PRAGMA integrity_check", 1, err))
    return err ? err->code : HV_ECORRUPT;
  return check_pragma(db, "PRAGMA foreign_key_check", 0, err);
}

/*
 * db.h - the one database interface (SQLite now, PostgreSQL later).
 *
 * Design: a struct hv_db is one connection. Opening creates the schema or
 * upgrades an older one through numbered migrations (schema_version table),
 * each in its own transaction; a database from a newer Harvest is refused.
 * WAL mode, foreign keys on, busy_timeout 5 s.
 *
 * Threads: a connection belongs to one thread at a time; servers open one
 * per worker. Only files in store/ see SQLite (through db_internal.h).
 */
#ifndef HV_STORE_DB_H
#define HV_STORE_DB_H

#include "util/err.h"

struct hv_db;

/* Open (creating if missing) the database at path (":memory:" for tests),
 * migrating it to the current schema. *out is the caller's to db_close. */
int db_open(const char *path, struct hv_db **out,
            struct hv_err *err) HV_WARN_UNUSED;

/* Close a connection; NULL does nothing. */
void db_close(struct hv_db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. db_rollback is safe to call when no
 * transaction is open. */
int db_begin(struct hv_db *db, struct hv_err *err) HV_WARN_UNUSED;
int db_commit(struct hv_db *db, struct hv_err *err) HV_WARN_UNUSED;
void db_rollback(struct hv_db *db);

/* The schema version this build creates, and the one the file holds. */
int db_schema_latest(void);
int db_schema_version(struct hv_db *db);

/* PRAGMA integrity_check and foreign_key_check; 0 when both are clean,
 * HV_ECORRUPT with the first problem otherwise. */
int db_check(struct hv_db *db, struct hv_err *err) HV_WARN_UNUSED;

/* The database file's path as opened (borrowed). */
const char *db_path(const struct hv_db *db);

#endif

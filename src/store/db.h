/*
 * db.h - the one database interface: a connection, its transactions and
 * its schema version. The data itself is read and written through one
 * module per entity: catalog.h (movies, users, genres, occupations),
 * ratings.h, users.h (passwords), loader.h (bulk import), tracking.h
 * (experiments, runs, params, metrics, tags, artifact records),
 * registry_db.h (model registry) and stats.h (dataset summaries).
 *
 * Design: a struct hv_db is one connection, opaque to every caller. Opening
 * creates the schema or upgrades an older one through numbered migrations
 * (schema_version table), each in its own transaction; a database from a
 * newer Harvest is refused.
 *
 * Backends. The public headers of store/ name no SQL and no backend type;
 * an implementation plugs in below them, the way SQLite's VFS does:
 * - store/backend.h (private to store/) defines struct hv_db as a pointer
 *   to the backend's function table plus the path; the table holds
 *   the SQL layer both backends implement (store/sql.h: $N parameters,
 *   typed arguments, row callbacks, cached and streamed statements) and
 *   the bulk loader's function table (struct loader_ops), whose fast paths
 *   differ by backend.
 * - Each entity module is backend-neutral: it checks the arguments and
 *   writes the composite operations once (an all-or-nothing rating batch,
 *   take, fingerprints, column growth). catalog.c, ratings.c, users.c,
 *   accounts.c, stats.c, tracking.c and registry_db.c run their SQL
 *   themselves over store/sql.h (no per-backend code at all; the few
 *   spellings the dialects do not share are picked by sql_dialect);
 *   loader.c calls its table through db->be once per primitive.
 * - The SQLite implementation lives in store/sqlite/ (sq.c: connection,
 *   pragmas, migrations, statement cache, the SQL layer; sq_loader.c,
 *   sq_bulk.c) and is the only code that includes sqlite3.h.
 *   Its connection struct embeds struct hv_db as its first member.
 * - The PostgreSQL backend (libpq) is one more folder (store/pg/) filling
 *   the same tables; db_open picks it by the path ("postgresql://..."). No
 *   caller changes, no entity module changes.
 * SQLite connections: WAL mode, foreign keys on, busy_timeout 5 s.
 *
 * Threads: a connection belongs to one thread at a time; servers open one
 * per worker.
 */
#ifndef HV_STORE_DB_H
#define HV_STORE_DB_H

#include <stddef.h>

#include "util/err.h"

struct hv_db;

/* Open (creating if missing) the database at path (":memory:" for tests),
 * migrating it to the current schema. *out is the caller's to db_close. */
int db_open(const char *path, struct hv_db **out,
            struct hv_err *err) HV_WARN_UNUSED;

/* 1 when path is a PostgreSQL connection URI ("postgresql://..." or
 * "postgres://..."), 0 for a SQLite file. */
int db_is_url(const char *path);

/* The database of the Harvest home at home into out (cap bytes): db when
 * it is set (--db / HARVEST_DB: a "postgresql://" URI or a SQLite file),
 * else HOME/harvest.db. Returns 0 or HV_EINVAL when it does not fit. */
int db_home_path(const char *home, const char *db, char *out, size_t cap,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Close a connection; NULL does nothing. */
void db_close(struct hv_db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. db_rollback is safe to call when no
 * transaction is open. */
int db_begin(struct hv_db *db, struct hv_err *err) HV_WARN_UNUSED;
int db_commit(struct hv_db *db, struct hv_err *err) HV_WARN_UNUSED;
void db_rollback(struct hv_db *db);

/* The schema version this build creates, and the one the database holds
 * (-1 when it cannot be read). */
int db_schema_latest(void);
int db_schema_version(struct hv_db *db);

/* The database's own consistency checks (SQLite: PRAGMA integrity_check
 * and foreign_key_check); 0 when clean, HV_ECORRUPT with the first problem
 * otherwise. */
int db_check(struct hv_db *db, struct hv_err *err) HV_WARN_UNUSED;

/* 0 when the connection is lost (PostgreSQL: the server went away or
 * restarted; close it and open a new one), 1 otherwise (SQLite: always). */
int db_alive(struct hv_db *db);

/* The database's path as opened, fit for a message: a URL's password
 * hidden (db_redact; borrowed). */
const char *db_path(const struct hv_db *db);

/* The string db was opened with, password included: for opening it again
 * (a second connection, a signal guard's), never for a message. */
const char *db_conn(const struct hv_db *db);

/* out <- path fit to print: a PostgreSQL URL's password (user:PASSWORD@
 * and a password= parameter) replaced by "***"; anything else as is. Cut
 * to cap bytes (cap >= 1). */
void db_redact(const char *path, char *out, size_t cap);

#endif

/*
 * db_internal.h - what store/ files share about the SQLite connection.
 * Nothing outside src/store/ includes this header.
 */
#ifndef HV_STORE_DB_INTERNAL_H
#define HV_STORE_DB_INTERNAL_H

#include <sqlite3.h>

#include "store/db.h"

struct hv_db {
  sqlite3 *h;
  char path[4096];
};

/* Fill err with "WHAT: sqlite message" (HV_EDB) and return HV_EDB. */
int db_fail(struct hv_db *db, struct hv_err *err, const char *what);

/* Run SQL that returns no rows (no parameters). */
int db_exec(struct hv_db *db, const char *sql, struct hv_err *err);

/* Prepare sql on db; on failure fills err and returns HV_EDB. */
int db_prepare(struct hv_db *db, const char *sql, sqlite3_stmt **st,
               struct hv_err *err);

/* Migrations: db_migrations[i] upgrades a database from version i to i+1.
 * Append new ones; never edit a released one. */
extern const char *const db_migrations[];
extern const int db_n_migrations;

#endif

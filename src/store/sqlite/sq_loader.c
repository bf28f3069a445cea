/*
 * sq_loader.c - the SQLite bulk loader behind store/loader.h: one
 * transaction, the pragmas of a bulk load, the rows, the commit. The
 * key-order path (feed, imposters, indexes) is in sq_bulk.c; the id checks
 * every backend shares are in store/loader.c.
 *
 * Design (measured on 25M ratings, see bench/bench_synth.sh):
 * - One write transaction (BEGIN IMMEDIATE .. COMMIT) in WAL mode: all or
 *   nothing, and readers on other connections keep their snapshot.
 * - Key-order b-tree appends instead of per-row index maintenance or
 *   CREATE INDEX sorts. SQLite's imposter tables (SQLITE_TESTCTRL_IMPOSTER,
 *   the mechanism of its own RBU bulk-update extension and of the shell's
 *   .imposter) declare a table over an existing b-tree's root page without
 *   recording it in sqlite_schema. Ratings go into an imposter of the ratings
 *   table (same columns, no indexes), so a row costs one table append. Each
 *   ratings index is then written through an imposter of its own b-tree, in
 *   key order, which SQLite appends to:
 *   * ratings_by_time: while timestamps do not decrease, (timestamp,
 *     rating_id) entries are appended batch by batch during the load;
 *   * ratings_by_user / ratings_by_movie: the loader keeps each row's user
 *     and movie id (4 bytes each) and at commit counting-sorts them (O(n),
 *     stable, so rating_ids ascend within a key) and appends.
 *   The indexes stay in the schema throughout; only their contents are
 *   written this way. An index the loader cannot fill in order (rows out of
 *   rating_id order or with gaps, timestamps going back, ids outside 32
 *   bits, an index it does not know) is rebuilt with REINDEX at commit. If
 *   the imposters cannot be made (a SQLite built without test controls) the
 *   loader drops the indexes and re-creates them at commit instead. Both
 *   give a normal database; the tests run PRAGMA integrity_check on it.
 *   Measured: CREATE INDEX spent ~520 ns per row and index (its sorter), a
 *   key-order append ~180 ns.
 * - Rows reach SQLite through an eponymous virtual table (hv_load_feed) over
 *   the loader's buffer: one INSERT .. SELECT per LOAD_BATCH rows, without a
 *   bind per value.
 * - Two threads: full batches go through a bounded queue (LOAD_QUEUE) to a
 *   writer thread that runs those INSERTs, while the caller's thread reads,
 *   parses and checks the next rows (at 25M the writer is the bound: about
 *   two thirds of the rows phase's CPU; 25M imported in 24 s against 30 s
 *   on one thread, docs/scale.md). The connection is used by one thread at
 *   a time: before the caller's thread touches it (catalogue rows, an
 *   out-of-order rating, commit) it waits for the queue to drain. A write
 *   failure stops the writer; the caller gets it at a later batch or at
 *   commit, and rolls back as for any other failure.
 * - Foreign keys are switched off for the load (PRAGMA foreign_keys is a
 *   no-op inside a transaction, so it is set before BEGIN and restored after)
 *   and checked in C (store/loader.c) against id sets of the loaded users,
 *   movies and genres, so an unknown id is still refused, at once, naming
 *   the row. Other
 *   tables that reference the catalogue are checked with foreign_key_check
 *   before commit, so a --replace cannot orphan them. The ratings CHECK
 *   (0.5..5) is checked in C too, in store/loader.c (the imposter has no
 *   constraints).
 * - secure_delete is off during the load: a --replace would otherwise
 *   overwrite every freed page of the old dataset with zeros.
 * - Fallback sorts (REINDEX, CREATE INDEX) run with temp_store=FILE and
 *   PRAGMA threads so SQLite sorts its runs on worker threads, and the
 *   default small page cache (a big one measured slower for the sorter).
 * - Journal: when no other connection has the database open (SQLite
 *   refuses to leave WAL mode otherwise), the load runs with a rollback
 *   journal (journal_mode=DELETE) and switches back to WAL after: pages
 *   appended past the old end of the file are not journaled, so 25M ratings
 *   are written once instead of into the WAL and again at the checkpoint
 *   (measured: 4-6 s of 25M's end-to-end time and half the I/O). The cost:
 *   a process that opens the database during such a load waits for it
 *   (busy timeout). With another connection open the load stays in WAL mode
 *   and readers keep their snapshot; the WAL is then checkpointed once,
 *   explicitly, after COMMIT (auto-checkpoint is off during the load) and
 *   cut back by journal_size_limit.
 * All pragmas changed here are restored on commit and abort.
 *
 * Threads: a loader uses its connection exclusively until commit/abort,
 * from the caller's thread and its own writer thread in turn (above).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/catalog.h"
#include "store/sqlite/sq_loader.h"
#include "util/fsutil.h"

/* ---- pragmas ---------------------------------------------------------- */

/* A pragma's integer value, -1 when it cannot be read. */
static int pragma_get(struct hv_db *db, const char *sql)
{
  return (int)sq_value(db, sql, -1);
}

/* Run "PRAGMA name=value" (pragmas take no bound parameters; value is an
 * integer this file chose or read back). */
static int pragma_set(struct hv_db *db, const char *name, int value,
                      struct hv_err *err)
{
  char sql[96];
  snprintf(sql, sizeof(sql), "PRAGMA %s=%d", name, value);
  return sq_exec(db, sql, err);
}

/* Load with a rollback journal instead of the WAL when this is the only
 * connection to the database: pages appended beyond the old end of the
 * file are not journaled, so the data is written once, instead of into the
 * WAL and again into the database at the checkpoint. Leaving WAL mode
 * needs every other connection closed: with another one open this fails
 * at once (no busy wait) and the load stays in WAL mode. */
static void try_rollback_journal(struct sq_loader *ld)
{
  struct hv_db *db = ld->db;
  int busy = pragma_get(db, "PRAGMA busy_timeout");
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(sq_of(db)->h, "PRAGMA journal_mode", -1, &st, NULL) !=
      SQLITE_OK) {
    sqlite3_finalize(st);
    return;
  }
  int wal = sqlite3_step(st) == SQLITE_ROW &&
            !sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  if (!wal)
    return;
  sqlite3_busy_timeout(sq_of(db)->h, 0);
  st = NULL;
  if (sqlite3_prepare_v2(sq_of(db)->h, "PRAGMA journal_mode=DELETE", -1, &st,
                         NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    ld->journal_switched = !sqlite3_stricmp(
        (const char *)sqlite3_column_text(st, 0), "delete");
  sqlite3_finalize(st);
  sqlite3_busy_timeout(sq_of(db)->h, busy > 0 ? busy : 0);
}

static int bulk_pragmas(struct sq_loader *ld, int keep_wal,
                        struct hv_err *err)
{
  struct hv_db *db = ld->db;
  ld->saved_fk = pragma_get(db, "PRAGMA foreign_keys");
  ld->saved_temp_store = pragma_get(db, "PRAGMA temp_store");
  ld->saved_threads = pragma_get(db, "PRAGMA threads");
  ld->saved_secure_delete = pragma_get(db, "PRAGMA secure_delete");
  ld->saved_autockpt = pragma_get(db, "PRAGMA wal_autocheckpoint");
  if (ld->saved_fk < 0 || ld->saved_temp_store < 0 || ld->saved_threads < 0 ||
      ld->saved_secure_delete < 0 || ld->saved_autockpt < 0)
    return sq_fail(db, err, "reading pragmas");
  /* The WAL grows to the size of the load; cut it back after checkpoints
   * instead of keeping gigabytes on disk for the connection's lifetime. */
  if (pragma_set(db, "foreign_keys", 0, err) ||
      pragma_set(db, "temp_store", 1, err) ||
      pragma_set(db, "threads", 2, err) ||
      pragma_set(db, "secure_delete", 0, err) ||
      pragma_set(db, "wal_autocheckpoint", 0, err) ||
      pragma_set(db, "journal_size_limit", 64 << 20, err))
    return sq_code(err);
  if (!keep_wal)
    try_rollback_journal(ld);
  return 0;
}

static void restore_pragmas(struct sq_loader *ld)
{
  struct hv_db *db = ld->db;
  if (ld->saved_fk >= 0)
    pragma_set(db, "foreign_keys", ld->saved_fk, NULL);
  if (ld->saved_temp_store >= 0)
    pragma_set(db, "temp_store", ld->saved_temp_store, NULL);
  if (ld->saved_threads >= 0)
    pragma_set(db, "threads", ld->saved_threads, NULL);
  if (ld->saved_secure_delete >= 0)
    pragma_set(db, "secure_delete", ld->saved_secure_delete, NULL);
  if (ld->saved_autockpt >= 0)
    pragma_set(db, "wal_autocheckpoint", ld->saved_autockpt, NULL);
  if (ld->journal_switched)
    sq_exec(db, "PRAGMA journal_mode=WAL", NULL);
  ld->journal_switched = 0;
}

/* ---- begin ------------------------------------------------------------ */

static void load_abort(void *impl);
static int writer_start(struct sq_loader *ld, struct hv_err *err);
static int writer_idle(struct sq_loader *ld, struct hv_err *err);
static void writer_stop(struct sq_loader *ld, int drop);

static int load_begin(struct hv_db *db, const struct loader_opts *opts,
                      void **impl, struct hv_err *err)
{
  *impl = NULL;
  struct sq_loader *ld = calloc(1, sizeof(*ld));
  if (!ld)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->db = db;
  ld->saved_fk = ld->saved_temp_store = ld->saved_threads = -1;
  ld->saved_secure_delete = ld->saved_autockpt = -1;
  int rc = bulk_pragmas(ld, opts->keep_wal, err);
  if (!rc)
    rc = db_begin(db, err);
  if (!rc)
    rc = catalog_clear(db, opts->replace, err);
  if (!rc)
    rc = sq_bulk_setup(ld, opts->plain, err);
  if (!rc)
    rc = writer_start(ld, err);
  if (rc) {
    load_abort(ld);
    return rc;
  }
  *impl = ld;
  return 0;
}

/* ---- rows ------------------------------------------------------------- */

/* Step a bound insert and reset it; on failure names what was inserted. */
static int step_reset(struct sq_loader *ld, int which, const char *what,
                      int64_t id, struct hv_err *err)
{
  sqlite3_stmt *st = ld->st[which];
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
    return hv_err_set(err, HV_ECONFLICT, "%s %lld: duplicate id", what,
                      (long long)id);
  return hv_err_set(err, HV_EDB, "%s %lld: %s", what, (long long)id,
                    sqlite3_errmsg(sq_of(ld->db)->h));
}

/* Statement `which` for a catalogue row, once the writer thread is idle
 * (it writes ratings only: catalogue rows come first, but a reader may
 * interleave); NULL with err filled when the writer failed. */
static sqlite3_stmt *idle_stmt(struct sq_loader *ld, int which,
                               struct hv_err *err)
{
  return writer_idle(ld, err) ? NULL : ld->st[which];
}

/* A catalogue row through its table's prepared INSERT (ST_* is the
 * table's enum loader_table value). */
static int load_row(void *impl, enum loader_table table,
                    const struct loader_value *v, int n, struct hv_err *err)
{
  static const char *const what[LOAD_TABLES] = {
      [LOAD_GENRES] = "genre", [LOAD_MOVIES] = "movie",
      [LOAD_MOVIE_GENRES] = "genre of movie", [LOAD_USERS] = "user"};
  struct sq_loader *ld = impl;
  sqlite3_stmt *st = idle_stmt(ld, (int)table, err);
  if (!st)
    return err ? err->code : HV_EDB;
  for (int i = 0; i < n; i++) {
    if (v[i].kind == LV_INT)
      sqlite3_bind_int64(st, i + 1, v[i].num);
    else if (v[i].kind == LV_TEXT)
      sqlite3_bind_text(st, i + 1, v[i].text, -1, SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(st, i + 1);
  }
  return step_reset(ld, (int)table, what[table], v[0].num, err);
}

static void bind_rating(sqlite3_stmt *st, const struct hv_rating *r)
{
  sqlite3_bind_int64(st, 1, r->rating_id);
  sqlite3_bind_int64(st, 2, r->user_id);
  sqlite3_bind_int64(st, 3, r->movie_id);
  sqlite3_bind_double(st, 4, r->rating);
  sqlite3_bind_int64(st, 5, r->timestamp);
}

/* Write one rating with the single-row statement. */
static int write_one(struct sq_loader *ld, const struct hv_rating *r,
                     struct hv_err *err)
{
  bind_rating(ld->st[ST_RATING], r);
  return step_reset(ld, ST_RATING, "rating", r->rating_id, err);
}

/* ---- the writer thread ------------------------------------------------ */

#define N_SLOTS (LOAD_QUEUE + 1)

/* The writer: take the oldest full batch, write it (unlocked: the caller's
 * thread does not touch the connection while batches are queued), repeat
 * until told to stop with nothing queued. After a failure the remaining
 * batches are dropped: the caller sees w->rc at its next batch or at
 * commit and rolls back. */
static void *writer_main(void *arg)
{
  struct sq_loader *ld = arg;
  struct ld_writer *w = &ld->w;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->stop && w->queued == 0)
      pthread_cond_wait(&w->cv, &w->mu);
    if (w->queued == 0)
      break;
    const struct ld_batch *b = &w->slot[w->head];
    int failed = w->rc;
    pthread_mutex_unlock(&w->mu);
    struct hv_err e = {0};
    int rc = failed ? 0 : sq_bulk_write(ld, b, &e);
    pthread_mutex_lock(&w->mu);
    if (rc && !w->rc) {
      w->rc = rc;
      w->err = e;
    }
    w->head = (w->head + 1) % N_SLOTS;
    w->queued--;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Allocate the batches and start the writer thread; without a thread
 * (pthread_create failed) batches are written on the caller's thread. */
static int writer_start(struct sq_loader *ld, struct hv_err *err)
{
  struct ld_writer *w = &ld->w;
  w->slot = calloc(N_SLOTS, sizeof(*w->slot));
  if (!w->slot)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->fill = &w->slot[0];
  if (pthread_mutex_init(&w->mu, NULL))
    return 0;
  if (pthread_cond_init(&w->cv, NULL)) {
    pthread_mutex_destroy(&w->mu);
    return 0;
  }
  w->sync_ok = 1;
  w->started = !pthread_create(&w->th, NULL, writer_main, ld);
  return 0;
}

/* The writer's failure into err (under w->mu). */
static int writer_failed(struct ld_writer *w, struct hv_err *err)
{
  if (err)
    *err = w->err;
  return w->rc;
}

/* Wait until the writer has written every queued batch: then the caller's
 * thread may use the connection. Returns 0 or the writer's failure. */
static int writer_idle(struct sq_loader *ld, struct hv_err *err)
{
  struct ld_writer *w = &ld->w;
  if (!w->started)
    return 0;
  pthread_mutex_lock(&w->mu);
  while (w->queued > 0)
    pthread_cond_wait(&w->cv, &w->mu);
  int rc = w->rc ? writer_failed(w, err) : 0;
  pthread_mutex_unlock(&w->mu);
  return rc;
}

/* Hand the batch being filled to the writer (or write it here without a
 * writer) and start filling the next free one. */
static int writer_push(struct sq_loader *ld, struct hv_err *err)
{
  struct ld_writer *w = &ld->w;
  struct ld_batch *b = ld->fill;
  if (b->n == 0)
    return 0;
  b->time = ld->time_live;
  if (!w->started) {
    int rc = sq_bulk_write(ld, b, err);
    b->n = 0;
    return rc;
  }
  pthread_mutex_lock(&w->mu);
  while (w->queued == LOAD_QUEUE && !w->rc)
    pthread_cond_wait(&w->cv, &w->mu);
  int rc = w->rc ? writer_failed(w, err) : 0;
  if (!rc) {
    w->queued++;
    ld->fill = &w->slot[(w->head + w->queued) % N_SLOTS];
    ld->fill->n = 0;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return rc;
}

/* Stop the writer and wait for it; with drop set, queued batches are not
 * written (abort). Frees the batches. Safe when it never started. */
static void writer_stop(struct sq_loader *ld, int drop)
{
  struct ld_writer *w = &ld->w;
  if (w->started) {
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    if (drop && !w->rc)
      w->rc = HV_EINTERNAL; /* dropping: nothing more is written */
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    w->started = 0;
  }
  if (w->sync_ok) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->sync_ok = 0;
  }
  free(w->slot);
  w->slot = NULL;
  ld->fill = NULL;
}

/* Write everything buffered (the batch being filled and those queued):
 * afterwards the caller's thread may use the connection. */
static int write_buffered(struct sq_loader *ld, struct hv_err *err)
{
  int rc = writer_push(ld, err);
  return rc ? rc : writer_idle(ld, err);
}

/* row is checked and has its rating_id (see store/loader.c). */
static int load_rating(void *impl, const struct hv_rating *row,
                       struct hv_err *err)
{
  struct sq_loader *ld = impl;
  if (row->rating_id <= ld->max_rating_id) {
    /* Out of order: write what is buffered, then this row on its own so a
     * duplicate id is reported for this row by the primary key. The
     * indexes can no longer be appended to in order: rebuilt at commit. */
    int rc = write_buffered(ld, err);
    ld->time_live = 0;
    sq_bulk_keys_drop(ld);
    if (rc || write_one(ld, row, err))
      return err ? err->code : HV_EDB;
    return 0;
  }
  if (row->timestamp < ld->last_ts)
    ld->time_live = 0; /* entries so far are replaced by the rebuild */
  ld->last_ts = row->timestamp;
  ld->max_rating_id = row->rating_id;
  sq_bulk_keys_add(ld, row);
  struct ld_batch *b = ld->fill;
  b->rows[b->n++] = *row;
  if (b->n == LOAD_BATCH && writer_push(ld, err))
    return err ? err->code : HV_EDB;
  return 0;
}

/* ---- commit ----------------------------------------------------------- */

static int record_dataset(struct sq_loader *ld, const char *name,
                          const char *source, const struct loader_counts *n,
                          struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(ld->db,
                 "INSERT INTO datasets(name, source, imported_at, n_users, "
                 "n_movies, n_ratings, rating_min, rating_max, rating_step) "
                 "VALUES (?, ?, (julianday('now') - 2440587.5) * 86400.0, "
                 "?, ?, ?, ?, ?, ?)",
                 &st, err))
    return sq_code(err);
  sqlite3_bind_text(st, 1, name ? name : "unnamed", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, source ? source : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, n->users);
  sqlite3_bind_int64(st, 4, n->movies);
  sqlite3_bind_int64(st, 5, n->ratings);
  sqlite3_bind_double(st, 6, n->scale.min);
  sqlite3_bind_double(st, 7, n->scale.max);
  sqlite3_bind_double(st, 8, n->scale.step);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0
                                           : sq_fail(ld->db, err, "datasets");
  sqlite3_finalize(st);
  return rc;
}

/* foreign_key_check of every table the loader does not check itself (the
 * catalogue tables are checked row by row in C). */
static int check_other_tables(struct sq_loader *ld, struct hv_err *err)
{
  sqlite3_stmt *tables = NULL, *chk = NULL;
  int rc = sq_prepare(ld->db,
                      "SELECT name FROM sqlite_schema WHERE type = 'table' "
                      "AND name NOT IN ('ratings', 'movie_genres', 'movies',"
                      " 'users', 'genres', 'datasets') "
                      "AND name NOT LIKE 'sqlite_%'",
                      &tables, err);
  if (!rc)
    rc = sq_prepare(ld->db,
                    "SELECT \"table\", rowid, parent "
                    "FROM pragma_foreign_key_check(?) LIMIT 1",
                    &chk, err);
  while (!rc && sqlite3_step(tables) == SQLITE_ROW) {
    sqlite3_bind_text(chk, 1, (const char *)sqlite3_column_text(tables, 0), -1,
                      SQLITE_TRANSIENT);
    int s = sqlite3_step(chk);
    if (s == SQLITE_ROW)
      rc = hv_err_set(err, HV_ECONFLICT,
                      "table %s row %lld refers to %s rows this load would "
                      "remove; delete those rows first",
                      sqlite3_column_text(chk, 0),
                      (long long)sqlite3_column_int64(chk, 1),
                      sqlite3_column_text(chk, 2));
    else if (s != SQLITE_DONE)
      rc = sq_fail(ld->db, err, "foreign_key_check");
    sqlite3_reset(chk);
  }
  sqlite3_finalize(tables);
  sqlite3_finalize(chk);
  return rc;
}

static void finalize_all(struct sq_loader *ld)
{
  for (int i = 0; i < ST_COUNT; i++) {
    sqlite3_finalize(ld->st[i]);
    ld->st[i] = NULL;
  }
}

/* Undo what the loader did to the connection (statements, imposters, the
 * feed module, pragmas) and free it. The transaction is already over. */
static void loader_free(struct sq_loader *ld)
{
  writer_stop(ld, 1);
  finalize_all(ld);
  sq_bulk_release(ld);
  restore_pragmas(ld);
  free(ld);
}

static int load_commit(void *impl, const struct loader_counts *n,
                       const char *name, const char *source,
                       struct loader_times *t, struct hv_err *err)
{
  struct sq_loader *ld = impl;
  t->fast = ld->fast;
  double t0 = hv_mono();
  int rc = write_buffered(ld, err);
  writer_stop(ld, 0);
  if (!rc)
    rc = record_dataset(ld, name, source, n, err);
  finalize_all(ld);
  if (!rc)
    rc = sq_bulk_build_indexes(ld, err);
  double t1 = hv_mono();
  if (!rc)
    rc = check_other_tables(ld, err);
  if (!rc)
    rc = db_commit(ld->db, err);
  double t2 = hv_mono();
  if (rc) {
    db_rollback(ld->db);
  } else {
    /* Copy the WAL into the database now, in one go (it was kept from
     * checkpointing page by page during the load); PASSIVE never waits
     * for readers. A no-op outside WAL mode. */
    sqlite3_wal_checkpoint_v2(sq_of(ld->db)->h, "main",
                              SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  }
  t->indexes = t1 - t0;
  t->commit = t2 - t1;
  t->checkpoint = hv_mono() - t2;
  t->rebuilt = ld->rebuilt;
  t->rollback_journal = ld->journal_switched;
  loader_free(ld);
  return rc;
}

static void load_abort(void *impl)
{
  struct sq_loader *ld = impl;
  if (!ld)
    return;
  writer_stop(ld, 1);
  finalize_all(ld);
  db_rollback(ld->db);
  loader_free(ld);
}

const struct loader_ops sq_loader_ops = {
    .begin = load_begin, .row = load_row, .rating = load_rating,
    .commit = load_commit, .abort = load_abort};

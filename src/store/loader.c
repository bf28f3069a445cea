/*
 * loader.c - transactional bulk loading of the catalogue and ratings: see
 * loader.h.
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
 * - Foreign keys are switched off for the load (PRAGMA foreign_keys is a
 *   no-op inside a transaction, so it is set before BEGIN and restored after)
 *   and checked here in C against id sets of the loaded users, movies and
 *   genres, so an unknown id is still refused, at once, naming the row. Other
 *   tables that reference the catalogue are checked with foreign_key_check
 *   before commit, so a --replace cannot orphan them. The ratings CHECK
 *   (0.5..5) is checked in C too (the imposter has no constraints).
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
 * Threads: a loader uses its connection exclusively until commit/abort.
 */
#include "store/loader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sq.h"
#include "util/fsutil.h"
#include "util/idset.h"

enum { ST_GENRE, ST_MOVIE, ST_MOVIE_GENRE, ST_USER, ST_RATING, ST_BATCH,
       ST_TIME, ST_COUNT };

/* Rows per INSERT .. SELECT from the feed. */
#define LOAD_BATCH 1024

/* Counting sort of user/movie keys when the largest key is at most this or
 * at most the number of rows (the count array is 4 bytes per key value). */
#define KEYS_DENSE_MAX ((uint32_t)1 << 24)

#define IMP_TABLE "hv_load_ratings"
#define FEED "hv_load_feed"

static const char *const loader_sql[ST_RATING] = {
    "INSERT INTO genres(id, name) VALUES (?, ?)",
    "INSERT INTO movies(id, title, release_date, release_year, imdb_url) "
    "VALUES (?, ?, ?, ?, ?)",
    "INSERT INTO movie_genres(movie_id, genre_id) VALUES (?, ?)",
    "INSERT INTO users(id, raw_age, bucketized_age, gender, occupation_text, "
    "occupation_label, zip_code) VALUES (?, ?, ?, ?, ?, ?, ?)",
};

/* What a ratings index is keyed on, as far as the fast path cares. */
enum { IX_OTHER, IX_USER, IX_MOVIE, IX_TIME };

struct ld_index {
  char *name;   /* sqlite3_malloc'ed */
  char *sql;    /* CREATE INDEX statement */
  int root;     /* b-tree root page */
  int kind;     /* IX_* */
  int imposter; /* hv_load_idx_<i> maps this index's b-tree */
};

/* What the feed virtual table returns to the statement being stepped. */
enum { FEED_ROWS, FEED_TIME, FEED_KEYS };

struct ld_feed {
  int mode;
  const struct hv_rating *rows; /* ROWS and TIME: rows[0..n) */
  const uint32_t *perm;         /* KEYS: row offsets in key order */
  const uint32_t *ends;         /* KEYS: ends[k] = end of key k's run */
  int64_t base;                 /* KEYS: rating_id of offset 0 */
  int64_t n;
};

struct store_loader {
  struct hv_db *db;
  sqlite3_stmt *st[ST_COUNT];
  int64_t n_users, n_movies, n_ratings;
  struct idset users, movies, genres; /* util/idset.h */
  int64_t max_rating_id;          /* largest rating_id written or buffered */
  struct hv_rating buf[LOAD_BATCH];
  int nbuf;
  struct ld_index *idx;           /* the ratings indexes */
  int n_idx;
  int fast;       /* imposters in use (else indexes dropped, re-created) */
  int imposters;  /* the in-memory schema holds imposters: reset it */
  int module;     /* the feed module is registered */
  struct ld_feed feed;
  int time_live;  /* the time index is appended to batch by batch */
  int64_t last_ts;
  /* user and movie id of rating key_base + i, while rows come in order */
  int keys_ok;
  uint32_t *ukey, *mkey;
  uint32_t umax, mmax;
  int64_t nkeys, capkeys, key_base;
  int saved_fk, saved_temp_store, saved_threads, saved_secure_delete;
  int saved_autockpt;
  int journal_switched; /* WAL switched to DELETE for the load */
  struct store_load_times *times;
  double t_begin;
  int rebuilt;
};

/* Fill s with the ids sql returns (one integer column). */
static int ids_load(struct hv_db *db, struct idset *s, const char *sql,
                    struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, sql, &st, err))
    return HV_EDB;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if (idset_add(s, sqlite3_column_int64(st, 0), NULL) == HV_ENOMEM) {
      sqlite3_finalize(st);
      return hv_err_set(err, HV_ENOMEM, "out of memory loading ids");
    }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : sq_fail(db, err, "reading ids");
}

/* ---- the feed: an eponymous virtual table over the loader's rows -------- */

struct feed_vtab {
  sqlite3_vtab base;
  const struct ld_feed *f;
};

struct feed_cursor {
  sqlite3_vtab_cursor base;
  const struct ld_feed *f;
  int64_t i;
  uint32_t key; /* FEED_KEYS: the key of entry i */
};

static int feed_connect(sqlite3 *h, void *aux, int argc,
                        const char *const *argv, sqlite3_vtab **out,
                        char **errmsg)
{
  (void)argc, (void)argv, (void)errmsg;
  int rc = sqlite3_declare_vtab(h, "CREATE TABLE x(a, b, c, d, e)");
  if (rc != SQLITE_OK)
    return rc;
  struct feed_vtab *vt = sqlite3_malloc(sizeof(*vt));
  if (!vt)
    return SQLITE_NOMEM;
  memset(vt, 0, sizeof(*vt));
  vt->f = aux;
  *out = &vt->base;
  return SQLITE_OK;
}

static int feed_disconnect(sqlite3_vtab *vt)
{
  sqlite3_free(vt);
  return SQLITE_OK;
}

static int feed_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
  (void)vt;
  info->estimatedCost = LOAD_BATCH;
  info->estimatedRows = LOAD_BATCH;
  return SQLITE_OK;
}

static int feed_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
  struct feed_cursor *c = sqlite3_malloc(sizeof(*c));
  if (!c)
    return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->f = ((struct feed_vtab *)vt)->f;
  *out = &c->base;
  return SQLITE_OK;
}

static int feed_close(sqlite3_vtab_cursor *c)
{
  sqlite3_free(c);
  return SQLITE_OK;
}

/* Move key up to the run that holds entry i (runs may be empty). */
static void feed_sync_key(struct feed_cursor *c)
{
  if (c->f->mode == FEED_KEYS)
    while (c->i < c->f->n && c->f->ends[c->key] <= (uint64_t)c->i)
      c->key++;
}

static int feed_filter(sqlite3_vtab_cursor *cur, int idx_num,
                       const char *idx_str, int argc, sqlite3_value **argv)
{
  (void)idx_num, (void)idx_str, (void)argc, (void)argv;
  struct feed_cursor *c = (struct feed_cursor *)cur;
  c->i = 0;
  c->key = 0;
  feed_sync_key(c);
  return SQLITE_OK;
}

static int feed_next(sqlite3_vtab_cursor *cur)
{
  struct feed_cursor *c = (struct feed_cursor *)cur;
  c->i++;
  feed_sync_key(c);
  return SQLITE_OK;
}

static int feed_eof(sqlite3_vtab_cursor *cur)
{
  const struct feed_cursor *c = (const struct feed_cursor *)cur;
  return c->i >= c->f->n;
}

static int feed_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                       int col)
{
  const struct feed_cursor *c = (const struct feed_cursor *)cur;
  const struct ld_feed *f = c->f;
  if (f->mode == FEED_KEYS) {
    sqlite3_result_int64(ctx, col == 0 ? (int64_t)c->key
                                       : f->base + f->perm[c->i]);
    return SQLITE_OK;
  }
  const struct hv_rating *r = &f->rows[c->i];
  if (f->mode == FEED_TIME) {
    sqlite3_result_int64(ctx, col == 0 ? r->timestamp : r->rating_id);
    return SQLITE_OK;
  }
  switch (col) {
  case 0:
    sqlite3_result_int64(ctx, r->rating_id);
    break;
  case 1:
    sqlite3_result_int64(ctx, r->user_id);
    break;
  case 2:
    sqlite3_result_int64(ctx, r->movie_id);
    break;
  case 3:
    sqlite3_result_double(ctx, r->rating);
    break;
  default:
    sqlite3_result_int64(ctx, r->timestamp);
  }
  return SQLITE_OK;
}

static int feed_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
  *rowid = ((const struct feed_cursor *)cur)->i;
  return SQLITE_OK;
}

/* Eponymous-only (no xCreate): used as a table name, never created. */
static const sqlite3_module feed_module = {
    .xConnect = feed_connect,
    .xBestIndex = feed_best_index,
    .xDisconnect = feed_disconnect,
    .xOpen = feed_open,
    .xClose = feed_close,
    .xFilter = feed_filter,
    .xNext = feed_next,
    .xEof = feed_eof,
    .xColumn = feed_column,
    .xRowid = feed_rowid,
};

/* Step an INSERT .. SELECT from the feed over what ld->feed now describes. */
static int feed_step(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : rc;
}

/* ---- pragmas ---------------------------------------------------------- */

static int pragma_get(struct hv_db *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(sq_of(db)->h, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
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
static void try_rollback_journal(struct store_loader *ld)
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

static int bulk_pragmas(struct store_loader *ld, int keep_wal,
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
    return HV_EDB;
  if (!keep_wal)
    try_rollback_journal(ld);
  return 0;
}

static void restore_pragmas(struct store_loader *ld)
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

static int64_t count_rows(struct hv_db *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  int64_t n = -1;
  if (sqlite3_prepare_v2(sq_of(db)->h, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static int clear_catalogue(struct hv_db *db, int replace, struct hv_err *err)
{
  int64_t have = count_rows(db, "SELECT (SELECT COUNT(*) FROM ratings) + "
                                "(SELECT COUNT(*) FROM movies)");
  if (have < 0)
    return sq_fail(db, err, "counting existing rows");
  if (have == 0)
    return 0;
  if (!replace)
    return hv_err_set(err, HV_ECONFLICT,
                      "%s already holds a dataset; import with --replace to "
                      "swap it",
                      db->path);
  return sq_exec(db,
                 "DELETE FROM ratings; DELETE FROM movie_genres;"
                 "DELETE FROM movies; DELETE FROM users; DELETE FROM genres;"
                 "DELETE FROM datasets;",
                 err);
}

static int index_kind(const char *col)
{
  if (!col)
    return IX_OTHER;
  if (!strcmp(col, "user_id"))
    return IX_USER;
  if (!strcmp(col, "movie_id"))
    return IX_MOVIE;
  return strcmp(col, "timestamp") ? IX_OTHER : IX_TIME;
}

/* List the ratings indexes with their root pages and what they are keyed
 * on: a plain (not unique, not partial) ascending BINARY index on one of
 * user_id, movie_id, timestamp is one the fast path can write. */
static int list_rating_indexes(struct store_loader *ld, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(ld->db,
                 "SELECT s.name, s.sql, s.rootpage, "
                 " CASE WHEN l.\"unique\" = 0 AND l.partial = 0 AND "
                 "  (SELECT COUNT(*) FROM pragma_index_xinfo(s.name) x "
                 "   WHERE x.key) = 1 THEN "
                 "  (SELECT x.name FROM pragma_index_xinfo(s.name) x "
                 "   WHERE x.key AND x.seqno = 0 AND x.\"desc\" = 0 AND "
                 "   x.coll = 'BINARY') END "
                 "FROM sqlite_schema s JOIN pragma_index_list('ratings') l "
                 " ON l.name = s.name "
                 "WHERE s.type = 'index' AND s.tbl_name = 'ratings' "
                 " AND s.sql IS NOT NULL ORDER BY s.rowid",
                 &st, err))
    return HV_EDB;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct ld_index *grown =
        realloc(ld->idx, (size_t)(ld->n_idx + 1) * sizeof(*grown));
    if (!grown) {
      sqlite3_finalize(st);
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    }
    ld->idx = grown;
    struct ld_index *x = &ld->idx[ld->n_idx];
    memset(x, 0, sizeof(*x));
    x->name = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
    x->sql = sqlite3_mprintf("%s", sqlite3_column_text(st, 1));
    x->root = sqlite3_column_int(st, 2);
    x->kind = index_kind((const char *)sqlite3_column_text(st, 3));
    if (!x->name || !x->sql) {
      sqlite3_free(x->name);
      sqlite3_free(x->sql);
      sqlite3_finalize(st);
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    }
    ld->n_idx++;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0
                           : sq_fail(ld->db, err, "listing ratings indexes");
}

/* Drop the ratings indexes (ratings is empty at this point); commit
 * re-creates them from their SQL. The fallback path. */
static int drop_rating_indexes(struct store_loader *ld, struct hv_err *err)
{
  for (int i = 0; i < ld->n_idx; i++) {
    /* An identifier cannot be a bound parameter; %w quotes it. */
    char *sql = sqlite3_mprintf("DROP INDEX \"%w\"", ld->idx[i].name);
    if (!sql)
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    int rc = sq_exec(ld->db, sql, err);
    sqlite3_free(sql);
    if (rc)
      return rc;
  }
  return 0;
}

/* Columns the loader writes, in the order the feed returns them. */
static const char *const rating_cols[] = {"rating_id", "user_id", "movie_id",
                                          "rating", "timestamp"};
#define N_RATING_COLS (sizeof(rating_cols) / sizeof(rating_cols[0]))

static int is_rating_col(const char *name)
{
  for (size_t i = 0; i < N_RATING_COLS; i++)
    if (!strcmp(name, rating_cols[i]))
      return 1;
  return 0;
}

/* A default SQLite can hand out for a record that lacks the column: a
 * string or number literal (what ALTER TABLE ADD COLUMN allows). */
static int literal_default(const char *d)
{
  if (!d)
    return 0;
  if (*d == '\'')
    return 1;
  if (*d == '-' || *d == '+')
    d++;
  return *d >= '0' && *d <= '9';
}

/* The imposter of the ratings table: the table's columns in order with
 * their types, NOT NULL and defaults (so records are encoded exactly as
 * the table's), its INTEGER PRIMARY KEY, no constraints, no indexes.
 * Trailing columns the loader does not write and that have a literal
 * default (source DEFAULT 'import') are left out: such records are shorter
 * and SQLite reads the missing columns as their default, as it does for
 * rows written before an ALTER TABLE ADD COLUMN (7 bytes less per rating).
 * NULL when the table is not of the expected shape (then the fallback path
 * is used) or out of memory. */
static char *imposter_table_sql(struct hv_db *db)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(sq_of(db)->h,
                         "SELECT name, type, \"notnull\", dflt_value, pk "
                         "FROM pragma_table_info('ratings') ORDER BY cid",
                         -1, &st, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_str *s = sqlite3_str_new(sq_of(db)->h);
  sqlite3_str *tail = sqlite3_str_new(sq_of(db)->h); /* columns not yet kept */
  sqlite3_str_appendall(s, "CREATE TABLE " IMP_TABLE "(");
  int ok = 1, n = 0, has_pk = 0;
  size_t n_mine = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *type = (const char *)sqlite3_column_text(st, 1);
    const char *dflt = (const char *)sqlite3_column_text(st, 3);
    int pk = sqlite3_column_int(st, 4);
    if (!name || !type) {
      ok = 0;
      break;
    }
    if (pk) {
      /* Only a single INTEGER PRIMARY KEY named rating_id (the rowid). */
      ok &= pk == 1 && !has_pk && !strcmp(name, "rating_id") &&
            !sqlite3_stricmp(type, "INTEGER");
      has_pk = 1;
    }
    int mine = is_rating_col(name);
    n_mine += mine;
    /* Another column without a literal default must be in every record. */
    ok &= mine || literal_default(dflt) || !sqlite3_column_int(st, 2);
    sqlite3_str_appendf(tail, "%s\"%w\" %s%s%s", n++ ? ", " : "", name, type,
                        pk ? " PRIMARY KEY" : "",
                        sqlite3_column_int(st, 2) ? " NOT NULL" : "");
    if (dflt)
      sqlite3_str_appendf(tail, " DEFAULT (%s)", dflt);
    if (mine || !literal_default(dflt)) {
      /* keep everything up to and including this column */
      char *t = sqlite3_str_finish(tail);
      sqlite3_str_appendall(s, t ? t : "");
      sqlite3_free(t);
      tail = sqlite3_str_new(sq_of(db)->h);
    }
  }
  sqlite3_finalize(st);
  sqlite3_free(sqlite3_str_finish(tail));
  sqlite3_str_appendall(s, ")");
  char *sql = sqlite3_str_finish(s);
  if (!ok || !has_pk || n_mine != N_RATING_COLS) {
    sqlite3_free(sql);
    return NULL;
  }
  return sql;
}

/* Declare `sql` (a CREATE TABLE) as an imposter over b-tree root. */
static int imposter(struct store_loader *ld, int root, const char *sql,
                    struct hv_err *err)
{
  sqlite3_test_control(SQLITE_TESTCTRL_IMPOSTER, sq_of(ld->db)->h, "main", 1, root);
  ld->imposters = 1;
  int rc = sq_exec(ld->db, sql, err);
  sqlite3_test_control(SQLITE_TESTCTRL_IMPOSTER, sq_of(ld->db)->h, "main", 0, 0);
  return rc;
}

/* Forget the imposters (they live only in the parsed schema). */
static void drop_imposters(struct store_loader *ld)
{
  if (ld->imposters)
    sqlite3_test_control(SQLITE_TESTCTRL_IMPOSTER, sq_of(ld->db)->h, "main", 0, 1);
  ld->imposters = 0;
}

/* Declare the table and index imposters. Returns 0 with ld->fast set, 0
 * with ld->fast clear when this SQLite cannot make imposters (a test
 * build without test controls makes real tables: they are dropped again),
 * or an error. */
static int make_imposters(struct store_loader *ld, struct hv_err *err)
{
  int64_t root = count_rows(ld->db, "SELECT rootpage FROM sqlite_schema "
                                    "WHERE type = 'table' AND name = "
                                    "'ratings'");
  char *sql = imposter_table_sql(ld->db);
  if (root <= 0 || !sql) {
    sqlite3_free(sql);
    return 0;
  }
  int rc = imposter(ld, (int)root, sql, err);
  sqlite3_free(sql);
  for (int i = 0; !rc && i < ld->n_idx; i++) {
    struct ld_index *x = &ld->idx[i];
    if (x->kind == IX_OTHER)
      continue;
    char *isql = sqlite3_mprintf("CREATE TABLE hv_load_idx_%d(k, r, "
                                 "PRIMARY KEY(k, r)) WITHOUT ROWID",
                                 i);
    if (!isql)
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    rc = imposter(ld, x->root, isql, err);
    sqlite3_free(isql);
    x->imposter = !rc;
  }
  if (rc)
    return rc;
  int64_t real = count_rows(ld->db, "SELECT COUNT(*) FROM sqlite_schema "
                                    "WHERE name = '" IMP_TABLE "' OR name "
                                    "LIKE 'hv\\_load\\_idx\\_%' ESCAPE '\\'");
  if (real == 0) {
    ld->fast = 1;
    return 0;
  }
  /* Real tables (the test control did nothing): drop them and take the
   * fallback path. */
  rc = sq_exec(ld->db, "DROP TABLE IF EXISTS " IMP_TABLE, err);
  for (int i = 0; !rc && i < ld->n_idx; i++) {
    char *d = sqlite3_mprintf("DROP TABLE IF EXISTS hv_load_idx_%d", i);
    if (!d)
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    rc = sq_exec(ld->db, d, err);
    sqlite3_free(d);
    ld->idx[i].imposter = 0;
  }
  return rc;
}

static int prepare_all(struct store_loader *ld, struct hv_err *err)
{
  for (int i = 0; i < ST_RATING; i++)
    if (sq_prepare(ld->db, loader_sql[i], &ld->st[i], err))
      return HV_EDB;
  const char *target = ld->fast ? IMP_TABLE : "ratings";
  char sql[256];
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s(rating_id, user_id, movie_id, rating, timestamp) "
           "VALUES (?, ?, ?, ?, ?)",
           target);
  if (sq_prepare(ld->db, sql, &ld->st[ST_RATING], err))
    return HV_EDB;
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s(rating_id, user_id, movie_id, rating, timestamp) "
           "SELECT a, b, c, d, e FROM " FEED,
           target);
  if (sq_prepare(ld->db, sql, &ld->st[ST_BATCH], err))
    return HV_EDB;
  for (int i = 0; i < ld->n_idx; i++)
    if (ld->idx[i].kind == IX_TIME && ld->idx[i].imposter) {
      snprintf(sql, sizeof(sql),
               "INSERT INTO hv_load_idx_%d(k, r) SELECT a, b FROM " FEED, i);
      if (sq_prepare(ld->db, sql, &ld->st[ST_TIME], err))
        return HV_EDB;
      ld->time_live = 1;
      break;
    }
  return 0;
}

/* Set up writing ratings: imposters (or the fallback), feed, statements. */
static int setup_ratings(struct store_loader *ld, int plain,
                         struct hv_err *err)
{
  if (sqlite3_create_module_v2(sq_of(ld->db)->h, FEED, &feed_module, &ld->feed,
                               NULL) != SQLITE_OK)
    return sq_fail(ld->db, err, "registering the load feed");
  ld->module = 1;
  int rc = list_rating_indexes(ld, err);
  if (!rc && !plain)
    rc = make_imposters(ld, err);
  if (!rc && !ld->fast)
    rc = drop_rating_indexes(ld, err);
  if (!rc)
    rc = prepare_all(ld, err);
  ld->keys_ok = ld->fast;
  ld->last_ts = INT64_MIN;
  return rc;
}

int store_loader_begin_opts(struct hv_db *db,
                            const struct store_loader_opts *opts,
                            struct store_loader **out, struct hv_err *err)
{
  static const struct store_loader_opts none;
  if (!opts)
    opts = &none;
  *out = NULL;
  struct store_loader *ld = calloc(1, sizeof(*ld));
  if (!ld)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->db = db;
  ld->times = opts->times;
  ld->t_begin = hv_mono();
  ld->saved_fk = ld->saved_temp_store = ld->saved_threads = -1;
  ld->saved_secure_delete = ld->saved_autockpt = -1;
  int rc = bulk_pragmas(ld, opts->keep_wal, err);
  if (!rc)
    rc = db_begin(db, err);
  if (!rc)
    rc = clear_catalogue(db, opts->replace, err);
  if (!rc)
    rc = ids_load(db, &ld->users, "SELECT id FROM users", err);
  if (!rc)
    rc = ids_load(db, &ld->movies, "SELECT id FROM movies", err);
  if (!rc)
    rc = ids_load(db, &ld->genres, "SELECT id FROM genres", err);
  if (!rc)
    rc = setup_ratings(ld, opts->plain, err);
  if (rc) {
    store_loader_abort(ld);
    return rc;
  }
  *out = ld;
  return 0;
}

int store_loader_begin(struct hv_db *db, int replace, struct store_loader **out,
                       struct hv_err *err)
{
  struct store_loader_opts opts = {.replace = replace};
  return store_loader_begin_opts(db, &opts, out, err);
}

/* ---- rows ------------------------------------------------------------- */

/* Step a bound insert and reset it; on failure names what was inserted. */
static int step_reset(struct store_loader *ld, int which, const char *what,
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

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, i);
}

static void bind_int_or_null(sqlite3_stmt *st, int i, int v)
{
  if (v >= 0)
    sqlite3_bind_int(st, i, v);
  else
    sqlite3_bind_null(st, i);
}

int store_loader_genre(struct store_loader *ld, int id, const char *name,
                       struct hv_err *err)
{
  if (!ld || !name)
    return hv_err_set(err, HV_EINVAL, "genre %d: missing name", id);
  sqlite3_stmt *st = ld->st[ST_GENRE];
  sqlite3_bind_int(st, 1, id);
  sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
  int rc = step_reset(ld, ST_GENRE, "genre", id, err);
  if (!rc && idset_add(&ld->genres, id, NULL) == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  return rc;
}

int store_loader_movie(struct store_loader *ld, const struct hv_movie *m,
                       struct hv_err *err)
{
  if (!ld || !m || !m->title)
    return hv_err_set(err, HV_EINVAL, "movie %lld: missing title",
                      m ? (long long)m->id : 0LL);
  for (int i = 0; i < m->n_genres; i++)
    if (!idset_has(&ld->genres, m->genre_ids[i]))
      return hv_err_set(err, HV_EINVAL,
                        "movie %lld: unknown genre id %d (load genres first)",
                        (long long)m->id, m->genre_ids[i]);
  sqlite3_stmt *st = ld->st[ST_MOVIE];
  sqlite3_bind_int64(st, 1, m->id);
  sqlite3_bind_text(st, 2, m->title, -1, SQLITE_TRANSIENT);
  bind_text_or_null(st, 3, m->release_date);
  bind_int_or_null(st, 4, m->release_year > 0 ? m->release_year : -1);
  bind_text_or_null(st, 5, m->imdb_url);
  if (step_reset(ld, ST_MOVIE, "movie", m->id, err))
    return err ? err->code : HV_EDB;
  for (int i = 0; i < m->n_genres; i++) {
    st = ld->st[ST_MOVIE_GENRE];
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_int(st, 2, m->genre_ids[i]);
    if (step_reset(ld, ST_MOVIE_GENRE, "genre of movie", m->id, err))
      return err ? err->code : HV_EDB;
  }
  if (idset_add(&ld->movies, m->id, NULL) == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->n_movies++;
  return 0;
}

int store_loader_user(struct store_loader *ld, const struct hv_user *u,
                      struct hv_err *err)
{
  if (!ld || !u)
    return hv_err_set(err, HV_EINVAL, "missing user");
  sqlite3_stmt *st = ld->st[ST_USER];
  sqlite3_bind_int64(st, 1, u->id);
  bind_int_or_null(st, 2, u->raw_age);
  bind_int_or_null(st, 3, u->bucketized_age);
  bind_text_or_null(st, 4, u->gender);
  bind_text_or_null(st, 5, u->occupation_text);
  bind_int_or_null(st, 6, u->occupation_label);
  bind_text_or_null(st, 7, u->zip_code);
  if (step_reset(ld, ST_USER, "user", u->id, err))
    return err ? err->code : HV_EDB;
  if (idset_add(&ld->users, u->id, NULL) == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->n_users++;
  return 0;
}

/* The user/movie indexes can no longer be written from the kept ids: they
 * are rebuilt at commit. */
static void keys_drop(struct store_loader *ld)
{
  free(ld->ukey);
  free(ld->mkey);
  ld->ukey = ld->mkey = NULL;
  ld->nkeys = ld->capkeys = 0;
  ld->keys_ok = 0;
}

/* Keep the user and movie id of an in-order row r; gives up (keys_drop)
 * on a gap in the rating_ids, an id outside 0..2^32-2 or no memory. */
static void keys_add(struct store_loader *ld, const struct hv_rating *r)
{
  if (!ld->keys_ok)
    return;
  if (ld->nkeys == 0)
    ld->key_base = r->rating_id;
  if (r->rating_id != ld->key_base + ld->nkeys || r->user_id < 0 ||
      r->user_id >= UINT32_MAX || r->movie_id < 0 ||
      r->movie_id >= UINT32_MAX || ld->nkeys >= UINT32_MAX) {
    keys_drop(ld);
    return;
  }
  if (ld->nkeys == ld->capkeys) {
    size_t cap = ld->capkeys ? (size_t)ld->capkeys * 2 : 65536;
    uint32_t *u = realloc(ld->ukey, cap * sizeof(*u));
    if (u)
      ld->ukey = u;
    uint32_t *m = u ? realloc(ld->mkey, cap * sizeof(*m)) : NULL;
    if (m)
      ld->mkey = m;
    if (!u || !m) {
      keys_drop(ld);
      return;
    }
    ld->capkeys = (int64_t)cap;
  }
  uint32_t u = (uint32_t)r->user_id, m = (uint32_t)r->movie_id;
  ld->ukey[ld->nkeys] = u;
  ld->mkey[ld->nkeys++] = m;
  if (u > ld->umax)
    ld->umax = u;
  if (m > ld->mmax)
    ld->mmax = m;
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
static int write_one(struct store_loader *ld, const struct hv_rating *r,
                     struct hv_err *err)
{
  bind_rating(ld->st[ST_RATING], r);
  return step_reset(ld, ST_RATING, "rating", r->rating_id, err);
}

/* Write the buffered ratings: one INSERT .. SELECT from the feed into the
 * table (rating_ids ascend past every id written, so none can clash), then
 * the same rows' time index entries while they come in time order. */
static int flush_ratings(struct store_loader *ld, struct hv_err *err)
{
  int n = ld->nbuf;
  ld->nbuf = 0;
  if (n == 0)
    return 0;
  ld->feed = (struct ld_feed){.mode = FEED_ROWS, .rows = ld->buf, .n = n};
  int rc = feed_step(ld->st[ST_BATCH]);
  if (!rc && ld->time_live) {
    ld->feed.mode = FEED_TIME;
    rc = feed_step(ld->st[ST_TIME]);
  }
  if (!rc)
    return 0;
  return hv_err_set(err, HV_EDB, "ratings %lld..%lld: %s",
                    (long long)ld->buf[0].rating_id,
                    (long long)ld->buf[n - 1].rating_id,
                    sqlite3_errmsg(sq_of(ld->db)->h));
}

int store_loader_rating(struct store_loader *ld, const struct hv_rating *r,
                        struct hv_err *err)
{
  if (!ld || !r)
    return hv_err_set(err, HV_EINVAL, "missing rating");
  struct hv_rating row = *r;
  if (row.rating_id <= 0)
    row.rating_id = ld->max_rating_id + 1;
  if (!idset_has(&ld->users, row.user_id))
    return hv_err_set(err, HV_EINVAL, "rating %lld: unknown user id %lld",
                      (long long)row.rating_id, (long long)row.user_id);
  if (!idset_has(&ld->movies, row.movie_id))
    return hv_err_set(err, HV_EINVAL, "rating %lld: unknown movie id %lld",
                      (long long)row.rating_id, (long long)row.movie_id);
  if (!isfinite(row.rating) || row.rating < 0.5 || row.rating > 5)
    return hv_err_set(err, HV_EINVAL,
                      "rating %lld: rating %g is outside 0.5..5",
                      (long long)row.rating_id, row.rating);
  if (row.rating_id <= ld->max_rating_id) {
    /* Out of order: write what is buffered, then this row on its own so a
     * duplicate id is reported for this row by the primary key. The
     * indexes can no longer be appended to in order: rebuilt at commit. */
    int rc = flush_ratings(ld, err);
    ld->time_live = 0;
    keys_drop(ld);
    if (rc || write_one(ld, &row, err))
      return err ? err->code : HV_EDB;
  } else {
    if (row.timestamp < ld->last_ts)
      ld->time_live = 0; /* entries so far are replaced by the rebuild */
    ld->last_ts = row.timestamp;
    ld->max_rating_id = row.rating_id;
    keys_add(ld, &row);
    ld->buf[ld->nbuf++] = row;
    if (ld->nbuf == LOAD_BATCH && flush_ratings(ld, err))
      return err ? err->code : HV_EDB;
  }
  ld->n_ratings++;
  return 0;
}

/* ---- commit ----------------------------------------------------------- */

static int record_dataset(struct store_loader *ld, const char *name,
                          const char *source, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(ld->db,
                 "INSERT INTO datasets(name, source, imported_at, n_users, "
                 "n_movies, n_ratings) VALUES (?, ?, "
                 "(julianday('now') - 2440587.5) * 86400.0, ?, ?, ?)",
                 &st, err))
    return HV_EDB;
  sqlite3_bind_text(st, 1, name ? name : "unnamed", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, source ? source : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, ld->n_users);
  sqlite3_bind_int64(st, 4, ld->n_movies);
  sqlite3_bind_int64(st, 5, ld->n_ratings);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0
                                           : sq_fail(ld->db, err, "datasets");
  sqlite3_finalize(st);
  return rc;
}

/* Stable counting sort of key[0..n) (values 0..kmax): *perm gets the
 * offsets in key order, *ends the end of each key's run (kmax + 1 entries).
 * Returns 0, or -1 when out of memory. Caller frees both. */
static int sort_keys(const uint32_t *key, int64_t n, uint32_t kmax,
                     uint32_t **perm, uint32_t **ends)
{
  size_t nk = (size_t)kmax + 1;
  uint32_t *e = calloc(nk, sizeof(*e));
  uint32_t *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(*p));
  if (!e || !p) {
    free(e);
    free(p);
    return -1;
  }
  for (int64_t i = 0; i < n; i++)
    e[key[i]]++;
  uint32_t at = 0;
  for (size_t k = 0; k < nk; k++) {
    uint32_t c = e[k];
    e[k] = at;
    at += c;
  }
  for (int64_t i = 0; i < n; i++)
    p[e[key[i]]++] = (uint32_t)i;
  *perm = p;
  *ends = e;
  return 0;
}

/* Append index i's entries in key order from the kept ids (key = ukey or
 * mkey). Returns 0, 1 when it cannot (then the caller rebuilds), or an
 * error. */
static int write_key_index(struct store_loader *ld, int i, const uint32_t *key,
                           uint32_t kmax, struct hv_err *err)
{
  if (kmax > KEYS_DENSE_MAX && (int64_t)kmax > ld->nkeys)
    return 1;
  uint32_t *perm = NULL, *ends = NULL;
  if (sort_keys(key, ld->nkeys, kmax, &perm, &ends))
    return 1;
  char sql[96];
  snprintf(sql, sizeof(sql),
           "INSERT INTO hv_load_idx_%d(k, r) SELECT a, b FROM " FEED, i);
  sqlite3_stmt *st = NULL;
  int rc = sq_prepare(ld->db, sql, &st, err);
  if (!rc) {
    ld->feed = (struct ld_feed){.mode = FEED_KEYS, .perm = perm, .ends = ends,
                                .base = ld->key_base, .n = ld->nkeys};
    if (feed_step(st))
      rc = sq_fail(ld->db, err, ld->idx[i].name);
    ld->feed = (struct ld_feed){0};
  }
  sqlite3_finalize(st);
  free(perm);
  free(ends);
  return rc;
}

/* REINDEX (fast path) or CREATE INDEX (fallback) index i from the table. */
static int rebuild_index(struct store_loader *ld, int i, struct hv_err *err)
{
  char *sql = ld->fast ? sqlite3_mprintf("REINDEX main.\"%w\"",
                                         ld->idx[i].name)
                       : sqlite3_mprintf("%s", ld->idx[i].sql);
  if (!sql)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  int rc = sq_exec(ld->db, sql, err);
  sqlite3_free(sql);
  ld->rebuilt++;
  if (rc)
    hv_err_prefix(err, "building index %s", ld->idx[i].name);
  return rc;
}

/* Fill every ratings index: appended in key order where the rows allowed
 * it, rebuilt from the table otherwise. The user index goes first so its
 * ids can be freed before the movie index is sorted. */
static int build_indexes(struct store_loader *ld, struct hv_err *err)
{
  for (int i = 0; i < ld->n_idx; i++) {
    const struct ld_index *x = &ld->idx[i];
    int rc = 1;
    if (x->imposter && x->kind == IX_TIME && ld->time_live)
      rc = 0; /* written during the load */
    else if (x->imposter && ld->keys_ok && x->kind == IX_USER && ld->ukey)
      rc = write_key_index(ld, i, ld->ukey, ld->umax, err);
    else if (x->imposter && ld->keys_ok && x->kind == IX_MOVIE && ld->mkey)
      rc = write_key_index(ld, i, ld->mkey, ld->mmax, err);
    else if (x->imposter && ld->keys_ok && ld->nkeys == 0 &&
             x->kind != IX_OTHER)
      rc = 0; /* no ratings: the index stays empty */
    if (rc == 1)
      rc = rebuild_index(ld, i, err);
    if (rc)
      return rc;
    if (x->kind == IX_USER) {
      free(ld->ukey);
      ld->ukey = NULL;
    }
  }
  return 0;
}

/* foreign_key_check of every table the loader does not check itself (the
 * catalogue tables are checked row by row in C). */
static int check_other_tables(struct store_loader *ld, struct hv_err *err)
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

static void finalize_all(struct store_loader *ld)
{
  for (int i = 0; i < ST_COUNT; i++) {
    sqlite3_finalize(ld->st[i]);
    ld->st[i] = NULL;
  }
}

/* Undo what the loader did to the connection (statements, imposters, the
 * feed module, pragmas) and free it. The transaction is already over. */
static void loader_free(struct store_loader *ld)
{
  finalize_all(ld);
  drop_imposters(ld);
  if (ld->module)
    sqlite3_create_module_v2(sq_of(ld->db)->h, FEED, NULL, NULL, NULL);
  restore_pragmas(ld);
  for (int i = 0; i < ld->n_idx; i++) {
    sqlite3_free(ld->idx[i].name);
    sqlite3_free(ld->idx[i].sql);
  }
  free(ld->idx);
  free(ld->ukey);
  free(ld->mkey);
  idset_free(&ld->users);
  idset_free(&ld->movies);
  idset_free(&ld->genres);
  free(ld);
}

int store_loader_commit(struct store_loader *ld, const char *name,
                        const char *source, struct hv_err *err)
{
  if (!ld)
    return hv_err_set(err, HV_EINVAL, "no loader to commit");
  struct store_load_times t = {.fast = ld->fast};
  double t0 = hv_mono();
  t.rows = t0 - ld->t_begin;
  int rc = flush_ratings(ld, err);
  if (!rc)
    rc = record_dataset(ld, name, source, err);
  finalize_all(ld);
  if (!rc)
    rc = build_indexes(ld, err);
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
    sqlite3_wal_checkpoint_v2(sq_of(ld->db)->h, "main", SQLITE_CHECKPOINT_PASSIVE,
                              NULL, NULL);
  }
  t.indexes = t1 - t0;
  t.commit = t2 - t1;
  t.checkpoint = hv_mono() - t2;
  t.rebuilt = ld->rebuilt;
  t.rollback_journal = ld->journal_switched;
  if (ld->times)
    *ld->times = t;
  loader_free(ld);
  return rc;
}

void store_loader_abort(struct store_loader *ld)
{
  if (!ld)
    return;
  finalize_all(ld);
  db_rollback(ld->db);
  loader_free(ld);
}

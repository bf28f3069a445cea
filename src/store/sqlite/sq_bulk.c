/*
 * sq_bulk.c - the SQLite loader's key-order path: an eponymous virtual
 * table (hv_load_feed) that hands the loader's buffered rows to one
 * INSERT .. SELECT per batch, imposter tables over the ratings table and
 * its indexes, the user and movie ids kept for the indexes, their counting
 * sort, and the indexes appended in key order or rebuilt at commit. Why
 * and what keeps it correct: sq_loader.c's opening comment.
 *
 * Threads: a loader uses its connection exclusively until commit/abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sq_loader.h"

/* Counting sort of user/movie keys when the largest key is at most this or
 * at most the number of rows (the count array is 4 bytes per key value). */
#define KEYS_DENSE_MAX ((uint32_t)1 << 24)

#define IMP_TABLE "hv_load_ratings"
#define FEED "hv_load_feed"

static const char *const loader_sql[LOAD_TABLES] = {
    [LOAD_GENRES] = "INSERT INTO genres(id, name) VALUES (?, ?)",
    [LOAD_MOVIES] = "INSERT INTO movies(id, title, release_date, "
                    "release_year, imdb_url) VALUES (?, ?, ?, ?, ?)",
    [LOAD_MOVIE_GENRES] = "INSERT INTO movie_genres(movie_id, genre_id) "
                          "VALUES (?, ?)",
    [LOAD_USERS] = "INSERT INTO users(id, raw_age, bucketized_age, gender, "
                   "occupation_text, occupation_label, zip_code) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
};

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
  /* the columns of FEED_ROWS: rating_id, user_id, movie_id, rating,
   * timestamp */
  const int64_t ints[] = {r->rating_id, r->user_id, r->movie_id, 0,
                          r->timestamp};
  if (col == 3)
    sqlite3_result_double(ctx, r->rating);
  else
    sqlite3_result_int64(ctx, ints[col >= 0 && col < 5 ? col : 4]);
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

/* ---- the ratings indexes and imposters --------------------------------- */

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
static int list_rating_indexes(struct sq_loader *ld, struct hv_err *err)
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
    return sq_code(err);
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
static int drop_rating_indexes(struct sq_loader *ld, struct hv_err *err)
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
static int imposter(struct sq_loader *ld, int root, const char *sql,
                    struct hv_err *err)
{
  sqlite3_test_control(SQLITE_TESTCTRL_IMPOSTER, sq_of(ld->db)->h, "main", 1, root);
  ld->imposters = 1;
  int rc = sq_exec(ld->db, sql, err);
  sqlite3_test_control(SQLITE_TESTCTRL_IMPOSTER, sq_of(ld->db)->h, "main", 0, 0);
  return rc;
}

/* Forget the imposters (they live only in the parsed schema). */
static void drop_imposters(struct sq_loader *ld)
{
  if (ld->imposters)
    sqlite3_test_control(SQLITE_TESTCTRL_IMPOSTER, sq_of(ld->db)->h, "main", 0, 1);
  ld->imposters = 0;
}

/* Declare the table and index imposters. Returns 0 with ld->fast set, 0
 * with ld->fast clear when this SQLite cannot make imposters (a test
 * build without test controls makes real tables: they are dropped again),
 * or an error. */
static int make_imposters(struct sq_loader *ld, struct hv_err *err)
{
  int64_t root = sq_value(ld->db,
                          "SELECT rootpage FROM sqlite_schema WHERE type = "
                          "'table' AND name = 'ratings'",
                          -1);
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
  int64_t real = sq_value(ld->db,
                          "SELECT COUNT(*) FROM sqlite_schema WHERE name = '"
                          IMP_TABLE "' OR name LIKE 'hv\\_load\\_idx\\_%' "
                          "ESCAPE '\\'",
                          -1);
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

static int prepare_all(struct sq_loader *ld, struct hv_err *err)
{
  for (int i = 0; i < ST_RATING; i++)
    if (sq_prepare(ld->db, loader_sql[i], &ld->st[i], err))
      return sq_code(err);
  const char *target = ld->fast ? IMP_TABLE : "ratings";
  char sql[256];
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s(rating_id, user_id, movie_id, rating, timestamp) "
           "VALUES (?, ?, ?, ?, ?)",
           target);
  if (sq_prepare(ld->db, sql, &ld->st[ST_RATING], err))
    return sq_code(err);
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s(rating_id, user_id, movie_id, rating, timestamp) "
           "SELECT a, b, c, d, e FROM " FEED,
           target);
  if (sq_prepare(ld->db, sql, &ld->st[ST_BATCH], err))
    return sq_code(err);
  for (int i = 0; i < ld->n_idx; i++)
    if (ld->idx[i].kind == IX_TIME && ld->idx[i].imposter) {
      snprintf(sql, sizeof(sql),
               "INSERT INTO hv_load_idx_%d(k, r) SELECT a, b FROM " FEED, i);
      if (sq_prepare(ld->db, sql, &ld->st[ST_TIME], err))
        return sq_code(err);
      ld->time_live = 1;
      break;
    }
  return 0;
}

/* Set up writing ratings: imposters (or the fallback), feed, statements. */
int sq_bulk_setup(struct sq_loader *ld, int plain,
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

/* ---- rows ------------------------------------------------------------- */

/* The user/movie indexes can no longer be written from the kept ids: they
 * are rebuilt at commit. */
void sq_bulk_keys_drop(struct sq_loader *ld)
{
  free(ld->ukey);
  free(ld->mkey);
  ld->ukey = ld->mkey = NULL;
  ld->nkeys = ld->capkeys = 0;
  ld->keys_ok = 0;
}

/* Keep the user and movie id of an in-order row r; gives up (sq_bulk_keys_drop)
 * on a gap in the rating_ids, an id outside 0..2^32-2 or no memory. */
void sq_bulk_keys_add(struct sq_loader *ld, const struct hv_rating *r)
{
  if (!ld->keys_ok)
    return;
  if (ld->nkeys == 0)
    ld->key_base = r->rating_id;
  if (r->rating_id != ld->key_base + ld->nkeys || r->user_id < 0 ||
      r->user_id >= UINT32_MAX || r->movie_id < 0 ||
      r->movie_id >= UINT32_MAX || ld->nkeys >= UINT32_MAX) {
    sq_bulk_keys_drop(ld);
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
      sq_bulk_keys_drop(ld);
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

/* Write batch b: one INSERT .. SELECT from the feed into the table
 * (rating_ids ascend past every id written, so none can clash), then the
 * same rows' time index entries when they come in time order. */
int sq_bulk_write(struct sq_loader *ld, const struct ld_batch *b,
                  struct hv_err *err)
{
  if (b->n == 0)
    return 0;
  ld->feed = (struct ld_feed){.mode = FEED_ROWS, .rows = b->rows, .n = b->n};
  int rc = feed_step(ld->st[ST_BATCH]);
  if (!rc && b->time) {
    ld->feed.mode = FEED_TIME;
    rc = feed_step(ld->st[ST_TIME]);
  }
  ld->feed = (struct ld_feed){0};
  if (!rc)
    return 0;
  char what[80];
  snprintf(what, sizeof(what), "ratings %lld..%lld",
           (long long)b->rows[0].rating_id,
           (long long)b->rows[b->n - 1].rating_id);
  return sq_fail(ld->db, err, what);
}

/* ---- commit ----------------------------------------------------------- */

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
static int write_key_index(struct sq_loader *ld, int i, const uint32_t *key,
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
static int rebuild_index(struct sq_loader *ld, int i, struct hv_err *err)
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
int sq_bulk_build_indexes(struct sq_loader *ld, struct hv_err *err)
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

void sq_bulk_release(struct sq_loader *ld)
{
  drop_imposters(ld);
  if (ld->module)
    sqlite3_create_module_v2(sq_of(ld->db)->h, FEED, NULL, NULL, NULL);
  ld->module = 0;
  for (int i = 0; i < ld->n_idx; i++) {
    sqlite3_free(ld->idx[i].name);
    sqlite3_free(ld->idx[i].sql);
  }
  free(ld->idx);
  ld->idx = NULL;
  ld->n_idx = 0;
  free(ld->ukey);
  free(ld->mkey);
  ld->ukey = ld->mkey = NULL;
}

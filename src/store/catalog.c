/*
 * catalog.c - transactional bulk loading of the catalogue and ratings: see
 * catalog.h.
 *
 * Design (measured on 25M ratings, see bench/bench_synth.sh):
 * - One write transaction (BEGIN IMMEDIATE .. COMMIT) in WAL mode: all or
 *   nothing, and readers on other connections keep their snapshot.
 * - The ratings indexes are dropped inside the transaction and re-created
 *   from their schema SQL just before commit: one sort per index instead of
 *   25M random b-tree inserts each. The sorter runs with temp_store=FILE and
 *   PRAGMA threads so SQLite sorts its runs on worker threads (with
 *   temp_store=MEMORY SQLite disables sorter threads); a small page cache
 *   keeps the sorter's runs cache-sized, which measured faster than a big one.
 * - Ratings are buffered and written LOAD_BATCH rows per multi-row INSERT
 *   (fewer VDBE round trips); rows arrive in rowid order, so the table grows
 *   by appends.
 * - Foreign keys are switched off for the load (PRAGMA foreign_keys is a
 *   no-op inside a transaction, so it is set before BEGIN and restored after)
 *   and checked here in C against id sets of the loaded users, movies and
 *   genres, so an unknown id is still refused, at once, naming the row. Other
 *   tables that reference the catalogue are checked with foreign_key_check
 *   before commit, so a --replace cannot orphan them.
 * - secure_delete is off during the load: a --replace would otherwise
 *   overwrite every freed page of the old dataset with zeros.
 * All pragmas changed here are restored on commit and abort.
 *
 * Threads: a loader uses its connection exclusively until commit/abort.
 */
#include "store/catalog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

enum { ST_GENRE, ST_MOVIE, ST_MOVIE_GENRE, ST_USER, ST_RATING, ST_BATCH,
       ST_COUNT };

/* Rows per multi-row ratings INSERT (5 parameters each). */
#define LOAD_BATCH 64
#define RATING_COLS 5

/* Ids below this live in a bitmap (at most 8 MiB); others in a hash set. */
#define IDSET_DENSE_MAX ((int64_t)1 << 26)

static const char *const loader_sql[ST_BATCH] = {
    "INSERT INTO genres(id, name) VALUES (?, ?)",
    "INSERT INTO movies(id, title, release_date, release_year, imdb_url) "
    "VALUES (?, ?, ?, ?, ?)",
    "INSERT INTO movie_genres(movie_id, genre_id) VALUES (?, ?)",
    "INSERT INTO users(id, raw_age, bucketized_age, gender, occupation_text, "
    "occupation_label, zip_code) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO ratings(rating_id, user_id, movie_id, rating, timestamp) "
    "VALUES (?, ?, ?, ?, ?)",
};

/* A set of int64 ids: bitmap for 0 <= id < IDSET_DENSE_MAX, open-addressing
 * hash (kept at most half full) for the rest. */
struct ld_idset {
  uint64_t *bits;
  int64_t nbits;     /* capacity of bits in ids */
  int64_t *slot;     /* sparse ids; INT64_MIN marks an empty slot */
  size_t cap, n;
};

struct ld_index {
  char *name; /* sqlite3_malloc'ed */
  char *sql;
};

struct store_loader {
  struct hv_db *db;
  sqlite3_stmt *st[ST_COUNT];
  int64_t n_users, n_movies, n_ratings;
  struct ld_idset users, movies, genres;
  int64_t max_rating_id;          /* largest rating_id written or buffered */
  struct hv_rating buf[LOAD_BATCH];
  int nbuf;
  struct ld_index *idx;           /* dropped ratings indexes to re-create */
  int n_idx;
  int saved_fk, saved_temp_store, saved_threads, saved_secure_delete;
};

int catalog_age_bucket(int raw_age)
{
  static const int edges[] = {18, 25, 35, 45, 50, 56};
  int bucket = 1;
  for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
    if (raw_age >= edges[i])
      bucket = edges[i];
  return bucket;
}

/* ---- id sets ---------------------------------------------------------- */

static size_t ids_hash(int64_t id, size_t cap)
{
  uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
  return (size_t)(h ^ (h >> 31)) & (cap - 1);
}

static int ids_has(const struct ld_idset *s, int64_t id)
{
  if (id >= 0 && id < IDSET_DENSE_MAX)
    return id < s->nbits && (s->bits[id >> 6] >> (id & 63) & 1);
  if (!s->cap)
    return 0;
  for (size_t i = ids_hash(id, s->cap); s->slot[i] != INT64_MIN;
       i = (i + 1) & (s->cap - 1))
    if (s->slot[i] == id)
      return 1;
  return 0;
}

static int ids_grow_sparse(struct ld_idset *s)
{
  size_t cap = s->cap ? s->cap * 2 : 256;
  int64_t *slot = malloc(cap * sizeof(*slot));
  if (!slot)
    return -1;
  for (size_t i = 0; i < cap; i++)
    slot[i] = INT64_MIN;
  for (size_t i = 0; i < s->cap; i++) {
    if (s->slot[i] == INT64_MIN)
      continue;
    size_t j = ids_hash(s->slot[i], cap);
    while (slot[j] != INT64_MIN)
      j = (j + 1) & (cap - 1);
    slot[j] = s->slot[i];
  }
  free(s->slot);
  s->slot = slot;
  s->cap = cap;
  return 0;
}

/* Add id; returns 0, or -1 when out of memory. Ids already there are fine.
 * INT64_MIN (the empty-slot marker) is kept in the bitmap's place: never
 * stored, and ids_has() reports it absent, which only ever refuses it. */
static int ids_add(struct ld_idset *s, int64_t id)
{
  if (id >= 0 && id < IDSET_DENSE_MAX) {
    if (id >= s->nbits) {
      int64_t n = s->nbits ? s->nbits : 4096;
      while (n <= id)
        n *= 2;
      uint64_t *b = realloc(s->bits, (size_t)n / 8);
      if (!b)
        return -1;
      memset(b + s->nbits / 64, 0, (size_t)(n - s->nbits) / 8);
      s->bits = b;
      s->nbits = n;
    }
    s->bits[id >> 6] |= (uint64_t)1 << (id & 63);
    return 0;
  }
  if (id == INT64_MIN || ids_has(s, id))
    return 0;
  if ((s->n + 1) * 2 > s->cap && ids_grow_sparse(s))
    return -1;
  size_t i = ids_hash(id, s->cap);
  while (s->slot[i] != INT64_MIN)
    i = (i + 1) & (s->cap - 1);
  s->slot[i] = id;
  s->n++;
  return 0;
}

static void ids_free(struct ld_idset *s)
{
  free(s->bits);
  free(s->slot);
  memset(s, 0, sizeof(*s));
}

/* Fill s with the ids sql returns (one integer column). */
static int ids_load(struct hv_db *db, struct ld_idset *s, const char *sql,
                    struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(db, sql, &st, err))
    return HV_EDB;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if (ids_add(s, sqlite3_column_int64(st, 0))) {
      sqlite3_finalize(st);
      return hv_err_set(err, HV_ENOMEM, "out of memory loading ids");
    }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_fail(db, err, "reading ids");
}

/* ---- pragmas ---------------------------------------------------------- */

static int pragma_get(struct hv_db *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK &&
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
  return db_exec(db, sql, err);
}

static int bulk_pragmas(struct store_loader *ld, struct hv_err *err)
{
  struct hv_db *db = ld->db;
  ld->saved_fk = pragma_get(db, "PRAGMA foreign_keys");
  ld->saved_temp_store = pragma_get(db, "PRAGMA temp_store");
  ld->saved_threads = pragma_get(db, "PRAGMA threads");
  ld->saved_secure_delete = pragma_get(db, "PRAGMA secure_delete");
  if (ld->saved_fk < 0 || ld->saved_temp_store < 0 || ld->saved_threads < 0 ||
      ld->saved_secure_delete < 0)
    return db_fail(db, err, "reading pragmas");
  /* The WAL grows to the size of the load; cut it back after checkpoints
   * instead of keeping gigabytes on disk for the connection's lifetime. */
  if (pragma_set(db, "foreign_keys", 0, err) ||
      pragma_set(db, "temp_store", 1, err) ||
      pragma_set(db, "threads", 2, err) ||
      pragma_set(db, "secure_delete", 0, err) ||
      pragma_set(db, "journal_size_limit", 64 << 20, err))
    return HV_EDB;
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
}

/* ---- begin ------------------------------------------------------------ */

static int64_t count_rows(struct hv_db *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK &&
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
    return db_fail(db, err, "counting existing rows");
  if (have == 0)
    return 0;
  if (!replace)
    return hv_err_set(err, HV_ECONFLICT,
                      "%s already holds a dataset; import with --replace to "
                      "swap it",
                      db->path);
  return db_exec(db,
                 "DELETE FROM ratings; DELETE FROM movie_genres;"
                 "DELETE FROM movies; DELETE FROM users; DELETE FROM genres;"
                 "DELETE FROM datasets;",
                 err);
}

/* Remember and drop the ratings indexes (ratings is empty at this point). */
static int drop_rating_indexes(struct store_loader *ld, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (db_prepare(ld->db,
                 "SELECT name, sql FROM sqlite_schema WHERE type = 'index' "
                 "AND tbl_name = 'ratings' AND sql IS NOT NULL ORDER BY rowid",
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
    x->name = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
    x->sql = sqlite3_mprintf("%s", sqlite3_column_text(st, 1));
    if (!x->name || !x->sql) {
      sqlite3_free(x->name);
      sqlite3_free(x->sql);
      sqlite3_finalize(st);
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    }
    ld->n_idx++;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return db_fail(ld->db, err, "listing ratings indexes");
  for (int i = 0; i < ld->n_idx; i++) {
    /* An identifier cannot be a bound parameter; %w quotes it. */
    char *sql = sqlite3_mprintf("DROP INDEX \"%w\"", ld->idx[i].name);
    if (!sql)
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    rc = db_exec(ld->db, sql, err);
    sqlite3_free(sql);
    if (rc)
      return rc;
  }
  return 0;
}

static int prepare_all(struct store_loader *ld, struct hv_err *err)
{
  for (int i = 0; i < ST_BATCH; i++)
    if (db_prepare(ld->db, loader_sql[i], &ld->st[i], err))
      return HV_EDB;
  char sql[64 + LOAD_BATCH * 16];
  int n = snprintf(sql, sizeof(sql),
                   "INSERT INTO ratings(rating_id, user_id, movie_id, rating, "
                   "timestamp) VALUES (?,?,?,?,?)");
  for (int i = 1; i < LOAD_BATCH; i++)
    n += snprintf(sql + n, sizeof(sql) - (size_t)n, ",(?,?,?,?,?)");
  return db_prepare(ld->db, sql, &ld->st[ST_BATCH], err);
}

int store_loader_begin(struct hv_db *db, int replace, struct store_loader **out,
                       struct hv_err *err)
{
  *out = NULL;
  struct store_loader *ld = calloc(1, sizeof(*ld));
  if (!ld)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->db = db;
  ld->saved_fk = ld->saved_temp_store = ld->saved_threads = -1;
  ld->saved_secure_delete = -1;
  int rc = bulk_pragmas(ld, err);
  if (!rc)
    rc = db_begin(db, err);
  if (!rc)
    rc = clear_catalogue(db, replace, err);
  if (!rc)
    rc = drop_rating_indexes(ld, err);
  if (!rc)
    rc = ids_load(db, &ld->users, "SELECT id FROM users", err);
  if (!rc)
    rc = ids_load(db, &ld->movies, "SELECT id FROM movies", err);
  if (!rc)
    rc = ids_load(db, &ld->genres, "SELECT id FROM genres", err);
  if (!rc)
    rc = prepare_all(ld, err);
  if (rc) {
    store_loader_abort(ld);
    return rc;
  }
  *out = ld;
  return 0;
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
  return hv_err_set(err, rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
                             rc == SQLITE_CONSTRAINT_UNIQUE
                         ? HV_ECONFLICT
                         : HV_EDB,
                    "%s %lld: %s", what, (long long)id,
                    sqlite3_errmsg(ld->db->h));
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
  if (!rc && ids_add(&ld->genres, id))
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
    if (!ids_has(&ld->genres, m->genre_ids[i]))
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
  if (ids_add(&ld->movies, m->id))
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
  if (ids_add(&ld->users, u->id))
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->n_users++;
  return 0;
}

static void bind_rating(sqlite3_stmt *st, int base, const struct hv_rating *r)
{
  sqlite3_bind_int64(st, base + 1, r->rating_id);
  sqlite3_bind_int64(st, base + 2, r->user_id);
  sqlite3_bind_int64(st, base + 3, r->movie_id);
  sqlite3_bind_double(st, base + 4, r->rating);
  sqlite3_bind_int64(st, base + 5, r->timestamp);
}

/* Write one rating with the single-row statement. */
static int write_one(struct store_loader *ld, const struct hv_rating *r,
                     struct hv_err *err)
{
  bind_rating(ld->st[ST_RATING], 0, r);
  return step_reset(ld, ST_RATING, "rating", r->rating_id, err);
}

/* Write the buffered ratings (a full batch in one statement). */
static int flush_ratings(struct store_loader *ld, struct hv_err *err)
{
  int n = ld->nbuf;
  ld->nbuf = 0;
  if (n == LOAD_BATCH) {
    sqlite3_stmt *st = ld->st[ST_BATCH];
    for (int i = 0; i < n; i++)
      bind_rating(st, i * RATING_COLS, &ld->buf[i]);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
      return 0;
    return hv_err_set(err, HV_EDB, "ratings %lld..%lld: %s",
                      (long long)ld->buf[0].rating_id,
                      (long long)ld->buf[n - 1].rating_id,
                      sqlite3_errmsg(ld->db->h));
  }
  for (int i = 0; i < n; i++)
    if (write_one(ld, &ld->buf[i], err))
      return err ? err->code : HV_EDB;
  return 0;
}

int store_loader_rating(struct store_loader *ld, const struct hv_rating *r,
                        struct hv_err *err)
{
  if (!ld || !r)
    return hv_err_set(err, HV_EINVAL, "missing rating");
  struct hv_rating row = *r;
  if (row.rating_id <= 0)
    row.rating_id = ld->max_rating_id + 1;
  if (!ids_has(&ld->users, row.user_id))
    return hv_err_set(err, HV_EINVAL, "rating %lld: unknown user id %lld",
                      (long long)row.rating_id, (long long)row.user_id);
  if (!ids_has(&ld->movies, row.movie_id))
    return hv_err_set(err, HV_EINVAL, "rating %lld: unknown movie id %lld",
                      (long long)row.rating_id, (long long)row.movie_id);
  if (!isfinite(row.rating) || row.rating < 0.5 || row.rating > 5)
    return hv_err_set(err, HV_EINVAL,
                      "rating %lld: rating %g is outside 0.5..5",
                      (long long)row.rating_id, row.rating);
  if (row.rating_id <= ld->max_rating_id) {
    /* Out of order: write what is buffered, then this row on its own so a
     * duplicate id is reported for this row by the primary key. */
    if (flush_ratings(ld, err) || write_one(ld, &row, err))
      return err ? err->code : HV_EDB;
  } else {
    ld->max_rating_id = row.rating_id;
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
  if (db_prepare(ld->db,
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
                                           : db_fail(ld->db, err, "datasets");
  sqlite3_finalize(st);
  return rc;
}

static int recreate_indexes(struct store_loader *ld, struct hv_err *err)
{
  for (int i = 0; i < ld->n_idx; i++)
    if (db_exec(ld->db, ld->idx[i].sql, err)) {
      hv_err_prefix(err, "re-creating index %s", ld->idx[i].name);
      return HV_EDB;
    }
  return 0;
}

/* foreign_key_check of every table the loader does not check itself (the
 * catalogue tables are checked row by row in C). */
static int check_other_tables(struct store_loader *ld, struct hv_err *err)
{
  sqlite3_stmt *tables = NULL, *chk = NULL;
  int rc = db_prepare(ld->db,
                      "SELECT name FROM sqlite_schema WHERE type = 'table' "
                      "AND name NOT IN ('ratings', 'movie_genres', 'movies',"
                      " 'users', 'genres', 'datasets') "
                      "AND name NOT LIKE 'sqlite_%'",
                      &tables, err);
  if (!rc)
    rc = db_prepare(ld->db,
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
      rc = db_fail(ld->db, err, "foreign_key_check");
    sqlite3_reset(chk);
  }
  sqlite3_finalize(tables);
  sqlite3_finalize(chk);
  return rc;
}

static void loader_free(struct store_loader *ld)
{
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(ld->st[i]);
  for (int i = 0; i < ld->n_idx; i++) {
    sqlite3_free(ld->idx[i].name);
    sqlite3_free(ld->idx[i].sql);
  }
  free(ld->idx);
  ids_free(&ld->users);
  ids_free(&ld->movies);
  ids_free(&ld->genres);
  free(ld);
}

int store_loader_commit(struct store_loader *ld, const char *name,
                        const char *source, struct hv_err *err)
{
  if (!ld)
    return hv_err_set(err, HV_EINVAL, "no loader to commit");
  int rc = flush_ratings(ld, err);
  if (!rc)
    rc = record_dataset(ld, name, source, err);
  for (int i = 0; i < ST_COUNT; i++) {
    sqlite3_finalize(ld->st[i]);
    ld->st[i] = NULL;
  }
  if (!rc)
    rc = recreate_indexes(ld, err);
  if (!rc)
    rc = check_other_tables(ld, err);
  if (!rc)
    rc = db_commit(ld->db, err);
  if (rc)
    db_rollback(ld->db);
  restore_pragmas(ld);
  loader_free(ld);
  return rc;
}

void store_loader_abort(struct store_loader *ld)
{
  if (!ld)
    return;
  for (int i = 0; i < ST_COUNT; i++) {
    sqlite3_finalize(ld->st[i]);
    ld->st[i] = NULL;
  }
  db_rollback(ld->db);
  restore_pragmas(ld);
  loader_free(ld);
}

/*
 * catalog.c - transactional loading of the catalogue and ratings: see
 * catalog.h.
 */
#include "store/catalog.h"

#include <stdlib.h>

#include "store/db_internal.h"

enum { ST_GENRE, ST_MOVIE, ST_MOVIE_GENRE, ST_USER, ST_RATING, ST_COUNT };

static const char *const loader_sql[ST_COUNT] = {
    "INSERT INTO genres(id, name) VALUES (?, ?)",
    "INSERT INTO movies(id, title, release_date, release_year, imdb_url) "
    "VALUES (?, ?, ?, ?, ?)",
    "INSERT INTO movie_genres(movie_id, genre_id) VALUES (?, ?)",
    "INSERT INTO users(id, raw_age, bucketized_age, gender, occupation_text, "
    "occupation_label, zip_code) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO ratings(rating_id, user_id, movie_id, rating, timestamp) "
    "VALUES (?, ?, ?, ?, ?)",
};

struct store_loader {
  struct hv_db *db;
  sqlite3_stmt *st[ST_COUNT];
  int64_t n_users, n_movies, n_ratings;
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

int store_loader_begin(struct hv_db *db, int replace, struct store_loader **out,
                       struct hv_err *err)
{
  struct store_loader *ld = calloc(1, sizeof(*ld));
  if (!ld)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->db = db;
  if (db_begin(db, err)) {
    free(ld);
    return HV_EDB;
  }
  if (clear_catalogue(db, replace, err))
    goto fail;
  for (int i = 0; i < ST_COUNT; i++)
    if (db_prepare(db, loader_sql[i], &ld->st[i], err))
      goto fail;
  *out = ld;
  return 0;
fail:
  store_loader_abort(ld);
  return err ? err->code : HV_EDB;
}

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
  sqlite3_stmt *st = ld->st[ST_GENRE];
  sqlite3_bind_int(st, 1, id);
  sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
  return step_reset(ld, ST_GENRE, "genre", id, err);
}

int store_loader_movie(struct store_loader *ld, const struct hv_movie *m,
                       struct hv_err *err)
{
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
  ld->n_movies++;
  return 0;
}

int store_loader_user(struct store_loader *ld, const struct hv_user *u,
                      struct hv_err *err)
{
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
  ld->n_users++;
  return 0;
}

int store_loader_rating(struct store_loader *ld, const struct hv_rating *r,
                        struct hv_err *err)
{
  sqlite3_stmt *st = ld->st[ST_RATING];
  if (r->rating_id > 0)
    sqlite3_bind_int64(st, 1, r->rating_id);
  sqlite3_bind_int64(st, 2, r->user_id);
  sqlite3_bind_int64(st, 3, r->movie_id);
  sqlite3_bind_double(st, 4, r->rating);
  sqlite3_bind_int64(st, 5, r->timestamp);
  if (step_reset(ld, ST_RATING, "rating", r->rating_id, err))
    return err ? err->code : HV_EDB;
  ld->n_ratings++;
  return 0;
}

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
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, source, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, ld->n_users);
  sqlite3_bind_int64(st, 4, ld->n_movies);
  sqlite3_bind_int64(st, 5, ld->n_ratings);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0
                                           : db_fail(ld->db, err, "datasets");
  sqlite3_finalize(st);
  return rc;
}

int store_loader_commit(struct store_loader *ld, const char *name,
                        const char *source, struct hv_err *err)
{
  int rc = record_dataset(ld, name, source, err);
  for (int i = 0; i < ST_COUNT; i++) {
    sqlite3_finalize(ld->st[i]);
    ld->st[i] = NULL;
  }
  if (!rc)
    rc = db_commit(ld->db, err);
  if (rc)
    db_rollback(ld->db);
  free(ld);
  return rc;
}

void store_loader_abort(struct store_loader *ld)
{
  if (!ld)
    return;
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(ld->st[i]);
  db_rollback(ld->db);
  free(ld);
}

/*
 * api.c - prepared queries for the REST API: see api.h.
 */
#include "store/api.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

enum {
  Q_USERS,
  Q_USER,
  Q_MOVIES,
  Q_RANDOM,
  Q_TITLES,
  Q_AVG,
  Q_USER_EXISTS,
  Q_MOVIE_EXISTS,
  Q_RATINGS_OF,
  Q_RATED_IDS,
  Q_INSERT_RATING,
  Q_PW_GET,
  Q_PW_SET,
  Q_COUNT
};

#define USER_COLS                                                    \
  "id, raw_age, bucketized_age, gender, occupation_text, "           \
  "occupation_label, zip_code"
#define MOVIE_COLS                                                   \
  "m.id, m.title, m.release_date, m.release_year, m.imdb_url, "      \
  "(SELECT group_concat(name, '|') FROM (SELECT g.name AS name FROM " \
  "movie_genres mg JOIN genres g ON g.id = mg.genre_id "             \
  "WHERE mg.movie_id = m.id ORDER BY g.id))"

static const char *const api_sql[Q_COUNT] = {
    "SELECT " USER_COLS " FROM users ORDER BY id",
    "SELECT " USER_COLS " FROM users WHERE id = ?",
    "SELECT " MOVIE_COLS " FROM movies m ORDER BY m.id",
    "SELECT " MOVIE_COLS " FROM movies m ORDER BY random() LIMIT ?",
    "SELECT id, title FROM movies ORDER BY id",
    "SELECT m.id, m.title, AVG(r.rating), COUNT(*) FROM ratings r "
    "JOIN movies m ON m.id = r.movie_id GROUP BY m.id "
    "HAVING AVG(r.rating) BETWEEN ? AND ? ORDER BY m.id",
    "SELECT 1 FROM users WHERE id = ?",
    "SELECT 1 FROM movies WHERE id = ?",
    "SELECT r.rating_id, r.user_id, r.movie_id, m.title, r.rating, "
    "r.timestamp, r.source FROM ratings r JOIN movies m ON m.id = r.movie_id "
    "WHERE r.user_id = ? ORDER BY r.timestamp, r.rating_id",
    "SELECT DISTINCT movie_id FROM ratings WHERE user_id = ? ORDER BY 1",
    "INSERT INTO ratings(user_id, movie_id, rating, timestamp, source) "
    "VALUES (?, ?, ?, ?, 'api')",
    "SELECT password_hash FROM users WHERE id = ?",
    "UPDATE users SET password_hash = ? WHERE id = ?",
};

struct api_conn {
  struct hv_db *db;
  sqlite3_stmt *st[Q_COUNT];
};

int api_open(const char *path, struct api_conn **out, struct hv_err *err)
{
  *out = NULL;
  struct api_conn *c = calloc(1, sizeof(*c));
  if (!c)
    return hv_err_set(err, HV_ENOMEM, "out of memory opening %s", path);
  if (db_open(path, &c->db, err)) {
    free(c);
    return err ? err->code : HV_EDB;
  }
  for (int i = 0; i < Q_COUNT; i++)
    if (db_prepare(c->db, api_sql[i], &c->st[i], err)) {
      api_close(c);
      return HV_EDB;
    }
  *out = c;
  return 0;
}

void api_close(struct api_conn *c)
{
  if (!c)
    return;
  for (int i = 0; i < Q_COUNT; i++)
    sqlite3_finalize(c->st[i]);
  db_close(c->db);
  free(c);
}

struct hv_db *api_db(struct api_conn *c)
{
  return c ? c->db : NULL;
}

/* Reset a statement so it can be bound again (keeps it prepared). */
static void done(sqlite3_stmt *st)
{
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

/* Step st to the end, handing each row to row(); returns 0, the callback's
 * non-zero value, or HV_EDB. Always resets st. */
static int each_row(struct api_conn *c, sqlite3_stmt *st,
                    int (*row)(sqlite3_stmt *, void *), void *arg,
                    int *n_rows, struct hv_err *err)
{
  int rc, out = 0, n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    n++;
    out = row(st, arg);
    if (out)
      break;
  }
  if (!out && rc != SQLITE_DONE)
    out = db_fail(c->db, err, "query");
  done(st);
  if (n_rows)
    *n_rows = n;
  return out;
}

struct user_cb {
  api_user_fn fn;
  void *ctx;
};

static int user_row(sqlite3_stmt *st, void *arg)
{
  const struct user_cb *cb = arg;
  struct api_user_row u = {
      .id = sqlite3_column_int64(st, 0),
      .raw_age = db_col_int_or(st, 1, -1),
      .bucketized_age = db_col_int_or(st, 2, -1),
      .gender = db_col_text(st, 3),
      .occupation_text = db_col_text(st, 4),
      .occupation_label = db_col_int_or(st, 5, -1),
      .zip_code = db_col_text(st, 6),
  };
  return cb->fn(cb->ctx, &u);
}

int api_users_each(struct api_conn *c, api_user_fn fn, void *ctx,
                   struct hv_err *err)
{
  struct user_cb cb = {fn, ctx};
  return each_row(c, c->st[Q_USERS], user_row, &cb, NULL, err);
}

int api_user_get(struct api_conn *c, int64_t id, api_user_fn fn, void *ctx,
                 struct hv_err *err)
{
  struct user_cb cb = {fn, ctx};
  int n = 0;
  sqlite3_bind_int64(c->st[Q_USER], 1, id);
  int rc = each_row(c, c->st[Q_USER], user_row, &cb, &n, err);
  if (!rc && n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)id);
  return rc;
}

struct movie_cb {
  api_movie_fn fn;
  void *ctx;
};

static int movie_row(sqlite3_stmt *st, void *arg)
{
  const struct movie_cb *cb = arg;
  const char *genres = db_col_text(st, 5);
  struct api_movie_row m = {
      .id = sqlite3_column_int64(st, 0),
      .title = db_col_text(st, 1),
      .release_date = db_col_text(st, 2),
      .release_year = db_col_int_or(st, 3, 0),
      .imdb_url = db_col_text(st, 4),
      .genres = genres ? genres : "",
  };
  if (!m.title)
    m.title = "";
  return cb->fn(cb->ctx, &m);
}

int api_movies_each(struct api_conn *c, api_movie_fn fn, void *ctx,
                    struct hv_err *err)
{
  struct movie_cb cb = {fn, ctx};
  return each_row(c, c->st[Q_MOVIES], movie_row, &cb, NULL, err);
}

int api_movies_random(struct api_conn *c, int64_t n, api_movie_fn fn,
                      void *ctx, struct hv_err *err)
{
  if (n < 0)
    return hv_err_set(err, HV_EINVAL, "n: %lld is negative", (long long)n);
  struct movie_cb cb = {fn, ctx};
  sqlite3_bind_int64(c->st[Q_RANDOM], 1, n);
  return each_row(c, c->st[Q_RANDOM], movie_row, &cb, NULL, err);
}

struct title_cb {
  int (*fn)(void *ctx, int64_t id, const char *title);
  void *ctx;
};

static int title_row(sqlite3_stmt *st, void *arg)
{
  const struct title_cb *cb = arg;
  const char *t = db_col_text(st, 1);
  return cb->fn(cb->ctx, sqlite3_column_int64(st, 0), t ? t : "");
}

int api_titles_each(struct api_conn *c,
                    int (*fn)(void *ctx, int64_t id, const char *title),
                    void *ctx, struct hv_err *err)
{
  struct title_cb cb = {fn, ctx};
  return each_row(c, c->st[Q_TITLES], title_row, &cb, NULL, err);
}

struct avg_cb {
  api_avg_fn fn;
  void *ctx;
};

static int avg_row(sqlite3_stmt *st, void *arg)
{
  const struct avg_cb *cb = arg;
  const char *t = db_col_text(st, 1);
  return cb->fn(cb->ctx, sqlite3_column_int64(st, 0), t ? t : "",
                sqlite3_column_double(st, 2), sqlite3_column_int64(st, 3));
}

int api_movie_avg_each(struct api_conn *c, double min, double max,
                       api_avg_fn fn, void *ctx, struct hv_err *err)
{
  if (!isfinite(min) || !isfinite(max) || min > max)
    return hv_err_set(err, HV_EINVAL,
                      "min_rating %g must not exceed max_rating %g", min, max);
  struct avg_cb cb = {fn, ctx};
  sqlite3_bind_double(c->st[Q_AVG], 1, min);
  sqlite3_bind_double(c->st[Q_AVG], 2, max);
  return each_row(c, c->st[Q_AVG], avg_row, &cb, NULL, err);
}

/* 1 when the single-parameter existence query q finds id, 0 when not,
 * HV_EDB on failure. */
static int exists(struct api_conn *c, int q, int64_t id, struct hv_err *err)
{
  sqlite3_stmt *st = c->st[q];
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  done(st);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE)
    return 0;
  return db_fail(c->db, err, "lookup");
}

struct rating_cb {
  api_rating_fn fn;
  void *ctx;
};

static int rating_row(sqlite3_stmt *st, void *arg)
{
  const struct rating_cb *cb = arg;
  const char *t = db_col_text(st, 3), *s = db_col_text(st, 6);
  struct api_rating_row r = {
      .rating_id = sqlite3_column_int64(st, 0),
      .user_id = sqlite3_column_int64(st, 1),
      .movie_id = sqlite3_column_int64(st, 2),
      .title = t ? t : "",
      .rating = sqlite3_column_double(st, 4),
      .timestamp = sqlite3_column_int64(st, 5),
      .source = s ? s : "",
  };
  return cb->fn(cb->ctx, &r);
}

int api_user_ratings_each(struct api_conn *c, int64_t uid, api_rating_fn fn,
                          void *ctx, struct hv_err *err)
{
  int known = exists(c, Q_USER_EXISTS, uid, err);
  if (known < 0)
    return known;
  if (!known)
    return hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  struct rating_cb cb = {fn, ctx};
  sqlite3_bind_int64(c->st[Q_RATINGS_OF], 1, uid);
  return each_row(c, c->st[Q_RATINGS_OF], rating_row, &cb, NULL, err);
}

int api_user_movie_ids(struct api_conn *c, int64_t uid, int64_t **ids,
                       size_t *n, struct hv_err *err)
{
  sqlite3_stmt *st = c->st[Q_RATED_IDS];
  int64_t *out = NULL;
  size_t k = 0;
  sqlite3_bind_int64(st, 1, uid);
  int rc = db_step_i64s(c->db, st, &out, &k, "out of memory", "rated movies",
                        err);
  done(st);
  if (rc)
    return rc;
  *ids = out;
  *n = k;
  return 0;
}

/* Check item i of a rating batch; 0 or HV_EINVAL / HV_EDB. */
static int check_rating(struct api_conn *c, const struct api_new_rating *r,
                        size_t i, struct hv_err *err)
{
  if (!isfinite(r->rating) || r->rating < 0.5 || r->rating > 5)
    return hv_err_set(err, HV_EINVAL,
                      "ratings[%zu]: user_rating %g is outside [0.5, 5]", i,
                      r->rating);
  int k = exists(c, Q_USER_EXISTS, r->user_id, err);
  if (k <= 0)
    return k < 0 ? k
                 : hv_err_set(err, HV_EINVAL,
                              "ratings[%zu]: unknown user_id %lld", i,
                              (long long)r->user_id);
  k = exists(c, Q_MOVIE_EXISTS, r->movie_id, err);
  if (k <= 0)
    return k < 0 ? k
                 : hv_err_set(err, HV_EINVAL,
                              "ratings[%zu]: unknown movie_id %lld", i,
                              (long long)r->movie_id);
  return 0;
}

static int insert_one(struct api_conn *c, const struct api_new_rating *r,
                      int64_t ts, size_t i, struct hv_err *err)
{
  sqlite3_stmt *st = c->st[Q_INSERT_RATING];
  sqlite3_bind_int64(st, 1, r->user_id);
  sqlite3_bind_int64(st, 2, r->movie_id);
  sqlite3_bind_double(st, 3, r->rating);
  sqlite3_bind_int64(st, 4, ts);
  int rc = sqlite3_step(st);
  done(st);
  if (rc == SQLITE_DONE)
    return 0;
  db_fail(c->db, err, "insert");
  hv_err_prefix(err, "ratings[%zu]", i);
  return HV_EDB;
}

int api_ratings_insert(struct api_conn *c, const struct api_new_rating *r,
                       size_t n, int64_t ts, int64_t *first_id,
                       struct hv_err *err)
{
  if (n == 0)
    return hv_err_set(err, HV_EINVAL, "ratings: the list is empty");
  if (!r)
    return hv_err_set(err, HV_EINVAL, "ratings: no items");
  if (db_begin(c->db, err))
    return HV_EDB;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++)
    rc = check_rating(c, &r[i], i, err);
  int64_t first = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    rc = insert_one(c, &r[i], ts, i, err);
    if (!rc && i == 0)
      first = sqlite3_last_insert_rowid(c->db->h);
  }
  if (!rc)
    rc = db_commit(c->db, err);
  if (rc) {
    db_rollback(c->db);
    return rc;
  }
  if (first_id)
    *first_id = first;
  return 0;
}

int api_password_get(struct api_conn *c, int64_t uid, char *hash, size_t cap,
                     struct hv_err *err)
{
  sqlite3_stmt *st = c->st[Q_PW_GET];
  sqlite3_bind_int64(st, 1, uid);
  int rc = sqlite3_step(st), out = 0;
  if (rc == SQLITE_ROW) {
    const char *h = db_col_text(st, 0);
    if (h && strlen(h) >= cap)
      out = hv_err_set(err, HV_ECORRUPT,
                       "password hash of user %lld is too long",
                       (long long)uid);
    else if (cap)
      memcpy(hash, h ? h : "", h ? strlen(h) + 1 : 1);
  } else if (rc == SQLITE_DONE) {
    out = hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  } else {
    out = db_fail(c->db, err, "password lookup");
  }
  done(st);
  return out;
}

int api_password_set(struct api_conn *c, int64_t uid, const char *hash,
                     struct hv_err *err)
{
  if (!hash || !*hash)
    return hv_err_set(err, HV_EINVAL, "password hash is empty");
  sqlite3_stmt *st = c->st[Q_PW_SET];
  sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, uid);
  int rc = sqlite3_step(st);
  int changed = sqlite3_changes(c->db->h);
  done(st);
  if (rc != SQLITE_DONE)
    return db_fail(c->db, err, "password update");
  if (changed == 0)
    return hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  return 0;
}

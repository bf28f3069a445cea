/*
 * catalog.c - the catalogue (movies, users, genres, occupations), written
 * once for both backends over store/sql.h: argument checks, the queries
 * (lookups run per request are cached per connection; a movie's genres are
 * the one aggregate the dialects spell differently: SQLite's group_concat,
 * PostgreSQL's string_agg), the column loads, names and the MovieLens rules
 * (age buckets, gender codes). See catalog.h.
 */
#include "store/catalog.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/sql.h"

#define USER_COLS                                                    \
  "id, raw_age, bucketized_age, gender, occupation_text, "           \
  "occupation_label, zip_code"
/* A movie's columns, its genres joined by '|' in id order (AGG: the
 * dialect's aggregate over the genres of movie m). */
#define MOVIE_SQL(AGG, TAIL)                                              \
  "SELECT m.id, m.title, m.release_date, m.release_year, m.imdb_url, " AGG \
  " FROM movies m " TAIL
#define GENRES_SQLITE                                                     \
  "(SELECT group_concat(name, '|') FROM (SELECT g.name AS name FROM "     \
  "movie_genres mg JOIN genres g ON g.id = mg.genre_id "                  \
  "WHERE mg.movie_id = m.id ORDER BY g.id))"
#define GENRES_PG                                                         \
  "(SELECT string_agg(g.name, '|' ORDER BY g.id) FROM movie_genres mg "   \
  "JOIN genres g ON g.id = mg.genre_id WHERE mg.movie_id = m.id)"

static const char sql_users[] = "SELECT " USER_COLS " FROM users ORDER BY id";
static const char sql_user[] = "SELECT " USER_COLS " FROM users WHERE id = $1";
/* Indexed by enum sql_dialect. */
static const char *const sql_movies[] = {
    MOVIE_SQL(GENRES_SQLITE, "ORDER BY m.id"),
    MOVIE_SQL(GENRES_PG, "ORDER BY m.id")};
static const char *const sql_random[] = {
    MOVIE_SQL(GENRES_SQLITE, "ORDER BY random() LIMIT $1"),
    MOVIE_SQL(GENRES_PG, "ORDER BY random() LIMIT $1")};
static const char sql_title[] = "SELECT title FROM movies WHERE id = $1";

/* Indexed by enum catalog_table (users, movies, genres). */
static const char *const sql_exists[] = {
    "SELECT 1 FROM users WHERE id = $1",
    "SELECT 1 FROM movies WHERE id = $1",
    "SELECT 1 FROM genres WHERE id = $1",
};
static const char *const sql_ids[] = {
    "SELECT id FROM users ORDER BY id",
    "SELECT id FROM movies ORDER BY id",
    "SELECT id FROM genres ORDER BY id",
};

static int user_row(const struct sql_row *r, void *arg)
{
  const struct store_cb *cb = arg;
  struct catalog_user_row u = {
      .id = sql_i64(r, 0, 0),
      .raw_age = (int)sql_i64(r, 1, -1),
      .bucketized_age = (int)sql_i64(r, 2, -1),
      .gender = sql_text(r, 3),
      .occupation_text = sql_text(r, 4),
      .occupation_label = (int)sql_i64(r, 5, -1),
      .zip_code = sql_text(r, 6),
  };
  return cb->fn.user(cb->ctx, &u);
}

static int q_users(struct hv_db *db, const int64_t *id, catalog_user_fn fn,
                   void *ctx, size_t *n, struct hv_err *err)
{
  struct store_cb cb = {.fn.user = fn, .ctx = ctx};
  struct sql_args a = {0};
  if (id)
    sql_arg_i64(&a, *id);
  return sql_run(db, id ? sql_user : sql_users, 1, &a, user_row, &cb, n,
                "reading users", err);
}

static int movie_row(const struct sql_row *r, void *arg)
{
  const struct store_cb *cb = arg;
  const char *title = sql_text(r, 1), *genres = sql_text(r, 5);
  struct catalog_movie_row m = {
      .id = sql_i64(r, 0, 0),
      .title = title ? title : "",
      .release_date = sql_text(r, 2),
      .release_year = (int)sql_i64(r, 3, 0),
      .imdb_url = sql_text(r, 4),
      .genres = genres ? genres : "",
  };
  return cb->fn.movie(cb->ctx, &m);
}

static int q_movies(struct hv_db *db, int64_t random_n, catalog_movie_fn fn,
                    void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.movie = fn, .ctx = ctx};
  struct sql_args a = {0};
  if (random_n >= 0)
    sql_arg_i64(&a, random_n);
  int d = sql_dialect(db);
  return sql_run(db, random_n < 0 ? sql_movies[d] : sql_random[d], SQL_CACHE,
                 &a, movie_row, &cb, NULL, "reading movies", err);
}

static int title_row(const struct sql_row *r, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = sql_text(r, 1);
  return cb->fn.title(cb->ctx, sql_i64(r, 0, 0), t ? t : "");
}

static int q_titles(struct hv_db *db, catalog_title_fn fn, void *ctx,
                    struct hv_err *err)
{
  struct store_cb cb = {.fn.title = fn, .ctx = ctx};
  return sql_run(db, "SELECT id, title FROM movies ORDER BY id", 0, NULL,
                title_row, &cb, NULL, "reading titles", err);
}

struct title_buf {
  char *buf;
  size_t cap;
};

static int title_copy(const struct sql_row *r, void *arg)
{
  const struct title_buf *t = arg;
  sql_copy(r, 0, t->buf, t->cap);
  return 0;
}

static int q_title(struct hv_db *db, int64_t id, char *buf, size_t cap,
                   struct hv_err *err)
{
  struct title_buf t = {buf, cap};
  struct sql_args a = sql_argsf("i", id);
  size_t n = 0;
  int rc = sql_run(db, sql_title, 1, &a, title_copy, &t, &n,
                  "reading a movie title", err);
  if (!rc && n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "movie %lld not found",
                      (long long)id);
  return rc;
}

static int no_row_op(const struct sql_row *r, void *arg)
{
  (void)r, (void)arg;
  return 0;
}

static int q_exists(struct hv_db *db, enum catalog_table table, int64_t id,
                    struct hv_err *err)
{
  struct sql_args a = sql_argsf("i", id);
  size_t n = 0;
  int rc = sql_run(db, sql_exists[table], 1, &a, no_row_op, NULL, &n,
                  "lookup", err);
  return rc ? rc : n > 0;
}

static int q_ids(struct hv_db *db, enum catalog_table table, int64_t **out,
                 size_t *n, struct hv_err *err)
{
  return sql_run_ids(db, sql_ids[table], 0, NULL, out, n, "reading ids",
                     err);
}

/* The movie rows and the genre CSR as load_movies fills them. */
struct movies_fill {
  struct catalog_movies *out;
  size_t cap, gcap, ng, mi;
};

static int movie_fill(const struct sql_row *r, void *arg)
{
  struct movies_fill *f = arg;
  struct catalog_movies *o = f->out;
  size_t c0 = f->cap, c1 = f->cap;
  if (store_grow((void **)&o->id, sizeof(int64_t), &c0, o->n + 1) ||
      store_grow((void **)&o->year, sizeof(int), &c1, o->n + 1))
    return HV_ENOMEM;
  f->cap = c0;
  o->id[o->n] = sql_i64(r, 0, 0);
  o->year[o->n++] = (int)sql_i64(r, 1, 0);
  return 0;
}

/* One (movie_id, genre_id) row, movies ascending like out->id. */
static int genre_fill(const struct sql_row *r, void *arg)
{
  struct movies_fill *f = arg;
  struct catalog_movies *o = f->out;
  int64_t mid = sql_i64(r, 0, 0);
  while (f->mi < o->n && o->id[f->mi] < mid)
    o->genre_off[++f->mi] = f->ng;
  if (f->mi >= o->n || o->id[f->mi] != mid)
    return 0; /* cannot happen with foreign keys; skip defensively */
  if (store_grow((void **)&o->genre_ids, sizeof(int), &f->gcap, f->ng + 1))
    return HV_ENOMEM;
  o->genre_ids[f->ng++] = (int)sql_i64(r, 1, 0);
  return 0;
}

static int q_load_movies(struct hv_db *db, struct catalog_movies *out,
                         struct hv_err *err)
{
  struct movies_fill f = {.out = out};
  int rc = sql_run(db, "SELECT id, release_year FROM movies ORDER BY id", 0,
                  NULL, movie_fill, &f, NULL, "reading movies", err);
  if (!rc && !(out->genre_off = calloc(out->n + 1, sizeof(size_t))))
    rc = HV_ENOMEM;
  if (!rc)
    rc = sql_run(db,
                "SELECT movie_id, genre_id FROM movie_genres "
                "ORDER BY movie_id, genre_id",
                0, NULL, genre_fill, &f, NULL, "reading movie genres", err);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, rc, "movies: out of memory");
  while (!rc && f.mi < out->n)
    out->genre_off[++f.mi] = f.ng;
  return rc;
}

static int name_row(const struct sql_row *r, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = sql_text(r, 1);
  return cb->fn.name(cb->ctx, (int)sql_i64(r, 0, 0), t ? t : "");
}

static int q_names(struct hv_db *db, enum catalog_table table,
                   int (*fn)(void *ctx, int code, const char *name), void *ctx,
                   struct hv_err *err)
{
  const char *sql =
      table == CATALOG_GENRES
          ? "SELECT id, name FROM genres ORDER BY id"
          : "SELECT occupation_label, MIN(occupation_text) FROM users "
            "WHERE occupation_label IS NOT NULL GROUP BY occupation_label "
            "ORDER BY occupation_label";
  struct store_cb cb = {.fn.name = fn, .ctx = ctx};
  return sql_run(db, sql, 0, NULL, name_row, &cb, NULL, "reading names", err);
}

/* ---- the public functions -------------------------------------------- */

int catalog_users_each(struct hv_db *db, catalog_user_fn fn, void *ctx,
                       struct hv_err *err)
{
  return db && fn ? q_users(db, NULL, fn, ctx, NULL, err)
                  : hv_err_set(err, HV_EINVAL, "users: no database or "
                                               "callback");
}

int catalog_user_get(struct hv_db *db, int64_t id, catalog_user_fn fn,
                     void *ctx, struct hv_err *err)
{
  if (!db || !fn)
    return hv_err_set(err, HV_EINVAL, "users: no database or callback");
  size_t n = 0;
  int rc = q_users(db, &id, fn, ctx, &n, err);
  if (!rc && n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)id);
  return rc;
}

/* All movies (n < 0) or n random ones. */
static int movies(struct hv_db *db, int64_t n, catalog_movie_fn fn, void *ctx,
                  struct hv_err *err)
{
  return db && fn ? q_movies(db, n, fn, ctx, err)
                  : hv_err_set(err, HV_EINVAL, "movies: no database or "
                                               "callback");
}

int catalog_movies_each(struct hv_db *db, catalog_movie_fn fn, void *ctx,
                        struct hv_err *err)
{
  return movies(db, -1, fn, ctx, err);
}

int catalog_movies_random(struct hv_db *db, int64_t n, catalog_movie_fn fn,
                          void *ctx, struct hv_err *err)
{
  if (n < 0)
    return hv_err_set(err, HV_EINVAL, "n: %lld is negative", (long long)n);
  return movies(db, n, fn, ctx, err);
}

int catalog_titles_each(struct hv_db *db, catalog_title_fn fn, void *ctx,
                        struct hv_err *err)
{
  return db && fn ? q_titles(db, fn, ctx, err)
                  : hv_err_set(err, HV_EINVAL, "titles: no database or "
                                               "callback");
}

int catalog_movie_title(struct hv_db *db, int64_t id, char *buf, size_t cap,
                        struct hv_err *err)
{
  if (!db || !buf || cap == 0)
    return hv_err_set(err, HV_EINVAL, "movie title: bad arguments");
  buf[0] = '\0';
  return q_title(db, id, buf, cap, err);
}

int catalog_user_exists(struct hv_db *db, int64_t id, struct hv_err *err)
{
  return db ? q_exists(db, CATALOG_USERS, id, err)
            : store_no_db(err, "users");
}

int catalog_movie_exists(struct hv_db *db, int64_t id, struct hv_err *err)
{
  return db ? q_exists(db, CATALOG_MOVIES, id, err)
            : store_no_db(err, "movies");
}

int catalog_clear(struct hv_db *db, int replace, struct hv_err *err)
{
  static const char *const del[] = {
      "DELETE FROM ratings", "DELETE FROM movie_genres", "DELETE FROM movies",
      "DELETE FROM users",   "DELETE FROM genres",       "DELETE FROM datasets"};
  int64_t have = 0;
  int rc = sql_run_row(db,
                       "SELECT (SELECT COUNT(*) FROM ratings) + "
                       "(SELECT COUNT(*) FROM movies)",
                       NULL, &have, 1, "counting existing rows", err);
  if (rc || have == 0)
    return rc;
  if (!replace)
    return hv_err_set(err, HV_ECONFLICT,
                      "%s already holds a dataset; import with --replace to "
                      "swap it",
                      db_path(db));
  for (size_t i = 0; !rc && i < sizeof(del) / sizeof(del[0]); i++)
    rc = sql_cmd(db, del[i], 0, NULL, NULL, "removing the dataset", err);
  if (rc && sql_is_constraint(db))
    hv_err_prefix(err, "rows of other tables refer to the dataset this load "
                       "would remove; delete those rows first");
  return rc;
}

int catalog_ids(struct hv_db *db, enum catalog_table table, int64_t **ids,
                size_t *n, struct hv_err *err)
{
  *ids = NULL;
  *n = 0;
  if (!db || (table != CATALOG_USERS && table != CATALOG_MOVIES &&
              table != CATALOG_GENRES))
    return hv_err_set(err, HV_EINVAL, "ids: no database or not a table of "
                                      "ids");
  return q_ids(db, table, ids, n, err);
}

/* ---- column loads ----------------------------------------------------- */

void catalog_users_free(struct catalog_users *u)
{
  if (!u)
    return;
  HV_FREE_ALL(u->id, u->raw_age, u->age_bucket, u->gender, u->occupation);
  memset(u, 0, sizeof(*u));
}

struct users_acc {
  struct catalog_users *u;
  size_t cap;
};

static int user_append(void *ctx, const struct catalog_user_row *r)
{
  static const size_t size[] = {sizeof(int64_t), sizeof(int), sizeof(int),
                                sizeof(int), sizeof(int)};
  struct users_acc *a = ctx;
  struct catalog_users *u = a->u;
  void **const cols[] = {(void **)&u->id, (void **)&u->raw_age,
                         (void **)&u->age_bucket, (void **)&u->gender,
                         (void **)&u->occupation};
  if (mem_cols_room(cols, size, 5, u->n, &a->cap, 1024))
    return HV_ENOMEM;
  size_t i = u->n++;
  u->id[i] = r->id;
  u->raw_age[i] = r->raw_age;
  u->age_bucket[i] = r->bucketized_age;
  u->gender[i] = catalog_gender_code(r->gender);
  u->occupation[i] = r->occupation_label;
  return 0;
}

int catalog_user_features(struct hv_db *db, unsigned *present,
                          struct hv_err *err)
{
  if (!present)
    return hv_err_set(err, HV_EINVAL, "user features: no output");
  *present = 0;
  if (!db)
    return store_no_db(err, "users");
  int64_t has[3] = {0, 0, 0};
  int rc = sql_run_row(
      db,
      "SELECT CASE WHEN EXISTS(SELECT 1 FROM users WHERE raw_age IS NOT NULL "
      "OR bucketized_age IS NOT NULL) THEN 1 ELSE 0 END, "
      "CASE WHEN EXISTS(SELECT 1 FROM users WHERE gender IS NOT NULL) "
      "THEN 1 ELSE 0 END, "
      "CASE WHEN EXISTS(SELECT 1 FROM users WHERE occupation_label IS NOT "
      "NULL OR occupation_text IS NOT NULL) THEN 1 ELSE 0 END",
      NULL, has, 3, "user features", err);
  if (rc)
    return rc;
  *present = (has[0] ? CATALOG_UF_AGE : 0u) |
             (has[1] ? CATALOG_UF_GENDER : 0u) |
             (has[2] ? CATALOG_UF_OCCUPATION : 0u);
  return 0;
}

int catalog_load_users(struct hv_db *db, struct catalog_users *out,
                       struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db)
    return store_no_db(err, "users");
  struct users_acc a = {out, 0};
  int rc = q_users(db, NULL, user_append, &a, NULL, err);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "users: out of memory");
  if (!rc)
    rc = catalog_user_features(db, &out->present, err);
  return rc;
}

void catalog_movies_free(struct catalog_movies *m)
{
  if (!m)
    return;
  HV_FREE_ALL(m->id, m->year, m->genre_off, m->genre_ids);
  memset(m, 0, sizeof(*m));
}

int catalog_load_movies(struct hv_db *db, struct catalog_movies *out,
                        struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  return db ? q_load_movies(db, out, err) : store_no_db(err, "movies");
}

/* ---- names ------------------------------------------------------------ */

void catalog_names_free(struct catalog_names *nm)
{
  if (!nm)
    return;
  for (size_t i = 0; i < nm->n; i++)
    free(nm->name[i]);
  free(nm->code);
  free(nm->name);
  memset(nm, 0, sizeof(*nm));
}

struct names_acc {
  struct catalog_names *nm;
  size_t cap;
};

static int name_append(void *ctx, int code, const char *name)
{
  struct names_acc *a = ctx;
  struct catalog_names *nm = a->nm;
  static const size_t size[] = {sizeof(int), sizeof(char *)};
  void **const cols[] = {(void **)&nm->code, (void **)&nm->name};
  if (mem_cols_room(cols, size, 2, nm->n, &a->cap, 32))
    return HV_ENOMEM;
  char *s = strdup(name);
  if (!s)
    return HV_ENOMEM;
  nm->code[nm->n] = code;
  nm->name[nm->n++] = s;
  return 0;
}

int catalog_names(struct hv_db *db, enum catalog_table table,
                  struct catalog_names *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db || (table != CATALOG_GENRES && table != CATALOG_OCCUPATIONS))
    return hv_err_set(err, HV_EINVAL, "names: no database or unknown kind");
  struct names_acc a = {out, 0};
  int rc = q_names(db, table, name_append, &a, err);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "names: out of memory");
  return rc;
}

const char *catalog_name_of(const struct catalog_names *nm, int code)
{
  if (!nm)
    return NULL;
  size_t lo = 0, hi = nm->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (nm->code[mid] < code)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < nm->n && nm->code[lo] == code ? nm->name[lo] : NULL;
}

/* ---- MovieLens rules -------------------------------------------------- */

int catalog_age_bucket(int raw_age)
{
  static const int edges[] = {18, 25, 35, 45, 50, 56};
  int bucket = 1;
  for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
    if (raw_age >= edges[i])
      bucket = edges[i];
  return bucket;
}

int catalog_gender_code(const char *g)
{
  if (!g)
    return CATALOG_GENDER_UNKNOWN;
  if (g[0] == 'M' || g[0] == 'm')
    return CATALOG_GENDER_M;
  if (g[0] == 'F' || g[0] == 'f')
    return CATALOG_GENDER_F;
  return CATALOG_GENDER_UNKNOWN;
}

/* ---- new users ---------------------------------------------------------- */

/* The occupation label of text among the dataset's users into *label;
 * HV_EINVAL when no user has it. */
static int occupation_label(struct hv_db *db, const char *text, int *label,
                            struct hv_err *err)
{
  struct sql_args a = sql_argsf("t", text);
  int64_t v[2] = {0, 0};
  int rc = sql_run_row(db,
                       "SELECT COUNT(*), COALESCE(MIN(occupation_label), -1) "
                       "FROM users WHERE occupation_text = $1",
                       &a, v, 2, "users", err);
  if (rc)
    return rc;
  if (v[0] == 0 || v[1] < 0)
    return hv_err_set(err, HV_EINVAL,
                      "occupation '%s' is not one of this dataset's "
                      "occupations (as in GET /users/{id}'s "
                      "user_occupation_text)", text);
  *label = (int)v[1];
  return 0;
}

/* Check u's fields (see catalog_user_add). */
static int check_new_user(const struct hv_user *u, struct hv_err *err)
{
  if (u->id < 0)
    return hv_err_set(err, HV_EINVAL, "user_id: %lld is negative",
                      (long long)u->id);
  if (u->raw_age != -1 && (u->raw_age < 1 || u->raw_age > 120))
    return hv_err_set(err, HV_EINVAL, "age: %d is not in 1..120",
                      u->raw_age);
  if (u->gender && strcmp(u->gender, "M") && strcmp(u->gender, "F"))
    return hv_err_set(err, HV_EINVAL, "gender: expected M or F (as the "
                      "MovieLens data), or leave it out");
  if (u->zip_code) {
    size_t n = strlen(u->zip_code);
    if (n == 0 || n > 16)
      return hv_err_set(err, HV_EINVAL, "zip_code: 1-16 characters");
    for (size_t i = 0; i < n; i++)
      if (!isalnum((unsigned char)u->zip_code[i]) && u->zip_code[i] != '-')
        return hv_err_set(err, HV_EINVAL,
                          "zip_code: letters, digits and '-' only");
  }
  if (u->occupation_text && !u->occupation_text[0])
    return hv_err_set(err, HV_EINVAL, "occupation: empty");
  return 0;
}

static void arg_opt_int(struct sql_args *a, int v)
{
  if (v < 0)
    sql_arg_null(a);
  else
    sql_arg_i64(a, v);
}

static int insert_user(struct hv_db *db, const struct hv_user *u,
                       int64_t *id, struct hv_err *err)
{
  int label = -1;
  int rc = u->occupation_text
               ? occupation_label(db, u->occupation_text, &label, err)
               : 0;
  if (rc)
    return rc;
  if (u->id > 0) {
    int k = catalog_user_exists(db, u->id, err);
    if (k)
      return k < 0 ? k
                   : hv_err_set(err, HV_ECONFLICT, "user %lld already exists",
                                (long long)u->id);
    *id = u->id;
  } else {
    int64_t max = 0;
    if ((rc = sql_run_row(db, "SELECT COALESCE(MAX(id), 0) FROM users", NULL,
                          &max, 1, "users", err)))
      return rc;
    *id = max + 1;
  }
  struct sql_args a = {0};
  sql_arg_i64(&a, *id);
  arg_opt_int(&a, u->raw_age);
  arg_opt_int(&a, u->raw_age >= 0 ? catalog_age_bucket(u->raw_age) : -1);
  sql_arg_text(&a, u->gender);
  sql_arg_text(&a, u->occupation_text);
  arg_opt_int(&a, label);
  sql_arg_text(&a, u->zip_code);
  return sql_cmd(db,
                 "INSERT INTO users(id, raw_age, bucketized_age, gender, "
                 "occupation_text, occupation_label, zip_code) VALUES ($1, "
                 "$2, $3, $4, $5, $6, $7)",
                 0, &a, NULL, "users", err);
}

int catalog_user_add(struct hv_db *db, const struct hv_user *u, int64_t *id,
                     struct hv_err *err)
{
  if (!db || !u || !id)
    return hv_err_set(err, HV_EINVAL, "new user: bad arguments");
  int rc = check_new_user(u, err);
  if (rc || (rc = db_begin(db, err)))
    return rc;
  rc = insert_user(db, u, id, err);
  if (!rc)
    rc = db_commit(db, err);
  if (rc)
    db_rollback(db);
  return rc;
}

/*
 * ratings.c - the ratings, written once for both backends over
 * store/sql.h: argument checks, the queries (range and window reads stream:
 * a cursor on PostgreSQL, they can cover every rating; SQLite reads ranges
 * by the rating_id key, windows by ratings_by_time; a user's ratings and
 * inserts run per request and are cached per connection), column arrays
 * grown while rows stream, and the composite operations (an all-or-nothing
 * insert batch, take, the fingerprint). See ratings.h.
 */
#include "store/ratings.h"

#include <assert.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "store/catalog.h"
#include "store/sql.h"

#define RATING_COLS "rating_id, user_id, movie_id, rating, timestamp"

static const char sql_by_id[] =
    "SELECT " RATING_COLS " FROM ratings WHERE rating_id BETWEEN $1 AND $2 "
    "ORDER BY rating_id";
static const char sql_by_time[] =
    "SELECT " RATING_COLS " FROM ratings WHERE timestamp >= $1 AND "
    "timestamp < $2 AND NOT (rating_id BETWEEN $3 AND $4) "
    "ORDER BY timestamp, rating_id";
static const char sql_user_movies[] =
    "SELECT DISTINCT movie_id FROM ratings WHERE user_id = $1 ORDER BY 1";
static const char sql_user_ratings[] =
    "SELECT r.rating_id, r.user_id, r.movie_id, m.title, r.rating, "
    "r.timestamp, r.source FROM ratings r JOIN movies m ON m.id = r.movie_id "
    "WHERE r.user_id = $1 ORDER BY r.timestamp, r.rating_id";
static const char sql_insert[] =
    "INSERT INTO ratings(user_id, movie_id, rating, timestamp, source) "
    "VALUES ($1, $2, $3, $4, 'api') RETURNING rating_id";

/* The args of a query on (a, b) or (a, b, c, d): i64s[0..n). */
static struct sql_args args_i64(const int64_t *v, int n)
{
  struct sql_args a = {0};
  for (int i = 0; i < n; i++)
    sql_arg_i64(&a, v[i]);
  return a;
}

static int rec_row(const struct sql_row *r, void *arg)
{
  const struct store_cb *cb = arg;
  struct ratings_rec x = {
      .rating_id = sql_i64(r, 0, 0),
      .user_id = sql_i64(r, 1, 0),
      .movie_id = sql_i64(r, 2, 0),
      .rating = sql_f64(r, 3, 0),
      .timestamp = sql_i64(r, 4, 0),
  };
  return cb->fn.rec(cb->ctx, &x);
}

static int q_each(struct hv_db *db, const struct ratings_sel *sel,
                  ratings_rec_fn fn, void *ctx, struct hv_err *err)
{
  const int64_t p[4] = {sel->lo, sel->hi, sel->excl_first, sel->excl_last};
  struct sql_args a = args_i64(p, sel->by_time ? 4 : 2);
  struct store_cb cb = {.fn.rec = fn, .ctx = ctx};
  return sql_run(db, sel->by_time ? sql_by_time : sql_by_id, SQL_STREAM, &a,
                 rec_row, &cb, NULL, "reading ratings", err);
}

/* PostgreSQL: point the rating_id identity after the largest id (1 when
 * none), as SQLite's rowid continues by itself. */
static int q_delete_from(struct hv_db *db, int64_t from_ts,
                         struct hv_err *err)
{
  struct sql_args a = args_i64(&from_ts, 1);
  int rc = sql_cmd(db, "DELETE FROM ratings WHERE timestamp >= $1", 0, &a,
                   NULL, "deleting the ratings taken", err);
  if (!rc && sql_dialect(db) == SQL_PG)
    rc = sql_cmd(db,
                 "SELECT setval(pg_get_serial_sequence('ratings', "
                 "'rating_id'), COALESCE(MAX(rating_id), 0) + 1, false) "
                 "FROM ratings",
                 0, NULL, NULL, "deleting the ratings taken", err);
  return rc;
}

static int q_ids(struct hv_db *db, int64_t first, int64_t last, int64_t **out,
                 size_t *n, struct hv_err *err)
{
  const int64_t p[2] = {first, last};
  struct sql_args a = args_i64(p, 2);
  return sql_run_ids(db,
                     "SELECT rating_id FROM ratings WHERE rating_id BETWEEN $1 "
                     "AND $2 ORDER BY rating_id",
                     0, &a, out, n, "rating ids", err);
}

static int q_span(struct hv_db *db, int64_t first, int64_t last, int64_t *tmin,
                  int64_t *tmax, int64_t *n, struct hv_err *err)
{
  const int64_t p[2] = {first, last};
  struct sql_args a = args_i64(p, 2);
  int64_t v[3];
  int rc = sql_run_row(db,
                       "SELECT COALESCE(MIN(timestamp), 0), COALESCE(MAX("
                       "timestamp), 0), COUNT(*) FROM ratings WHERE rating_id "
                       "BETWEEN $1 AND $2",
                       &a, v, 3, "reading the time span of ratings", err);
  if (!rc) {
    *tmin = v[0];
    *tmax = v[1];
    *n = v[2];
  }
  return rc;
}

static int q_last_outside(struct hv_db *db, int64_t excl_first,
                          int64_t excl_last, int64_t *tmax, int64_t *n,
                          struct hv_err *err)
{
  const int64_t p[2] = {excl_first, excl_last};
  struct sql_args a = args_i64(p, 2);
  int64_t v[2];
  int rc = sql_run_row(db,
                       "SELECT COALESCE(MAX(timestamp), 0), COUNT(*) FROM "
                       "ratings WHERE NOT (rating_id BETWEEN $1 AND $2)",
                       &a, v, 2, "reading the last rating time", err);
  if (!rc) {
    *tmax = v[0];
    *n = v[1];
  }
  return rc;
}

static int q_last_id(struct hv_db *db, int64_t *id, struct hv_err *err)
{
  return sql_run_row(db, "SELECT COALESCE(MAX(rating_id), 0) FROM ratings",
                     NULL, id, 1, "reading the last rating id", err);
}

static int q_user_movies(struct hv_db *db, int64_t uid, int64_t **out,
                         size_t *n, struct hv_err *err)
{
  struct sql_args a = args_i64(&uid, 1);
  return sql_run_ids(db, sql_user_movies, SQL_CACHE, &a, out, n,
                     "reading a user's ratings", err);
}

static int rating_row(const struct sql_row *r, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = sql_text(r, 3), *s = sql_text(r, 6);
  struct ratings_row x = {
      .rating_id = sql_i64(r, 0, 0),
      .user_id = sql_i64(r, 1, 0),
      .movie_id = sql_i64(r, 2, 0),
      .title = t ? t : "",
      .rating = sql_f64(r, 4, 0),
      .timestamp = sql_i64(r, 5, 0),
      .source = s ? s : "",
  };
  return cb->fn.rating(cb->ctx, &x);
}

static int q_user_each(struct hv_db *db, int64_t uid, ratings_row_fn fn,
                       void *ctx, struct hv_err *err)
{
  struct store_cb cb = {.fn.rating = fn, .ctx = ctx};
  struct sql_args a = args_i64(&uid, 1);
  return sql_run(db, sql_user_ratings, 1, &a, rating_row, &cb, NULL,
                "reading ratings", err);
}

static int avg_row(const struct sql_row *r, void *arg)
{
  const struct store_cb *cb = arg;
  const char *t = sql_text(r, 1);
  return cb->fn.avg(cb->ctx, sql_i64(r, 0, 0), t ? t : "",
                    sql_f64(r, 2, 0), sql_i64(r, 3, 0));
}

static int q_movie_avg(struct hv_db *db, double min, double max,
                       ratings_avg_fn fn, void *ctx, struct hv_err *err)
{
  struct sql_args a = sql_argsf("ff", min, max);
  struct store_cb cb = {.fn.avg = fn, .ctx = ctx};
  return sql_run(db,
                "SELECT m.id, m.title, AVG(r.rating), COUNT(*) FROM ratings r "
                "JOIN movies m ON m.id = r.movie_id GROUP BY m.id "
                "HAVING AVG(r.rating) BETWEEN $1 AND $2 ORDER BY m.id",
                0, &a, avg_row, &cb, NULL, "reading averages", err);
}

static int row_id(const struct sql_row *r, void *arg)
{
  *(int64_t *)arg = sql_i64(r, 0, 0);
  return 0;
}

static int q_insert(struct hv_db *db, const struct ratings_new *r, int64_t ts,
                    int64_t *id, struct hv_err *err)
{
  struct sql_args a = sql_argsf("iifi", r->user_id, r->movie_id, r->rating,
                                ts);
  size_t n = 0;
  int rc = sql_run(db, sql_insert, SQL_CACHE, &a, row_id, id, &n, "insert",
                   err);
  if (!rc && n != 1)
    rc = hv_err_set(err, HV_EDB, "insert: no row");
  return rc;
}

/* ---- the public functions -------------------------------------------- */

/* ---- column loads ----------------------------------------------------- */

struct cols_acc {
  struct ratings_cols *c;
  size_t cap;
};

static int cols_append(void *ctx, const struct ratings_rec *r)
{
  struct cols_acc *a = ctx;
  struct ratings_cols *c = a->c;
  if (ratings_cols_room(c, &a->cap))
    return HV_ENOMEM;
  size_t i = c->n++;
  c->rating_id[i] = r->rating_id;
  c->user_id[i] = r->user_id;
  c->movie_id[i] = r->movie_id;
  c->rating[i] = (float)r->rating;
  c->timestamp[i] = r->timestamp;
  return 0;
}

/* Stream sel into out; LABEL names the load in an out-of-memory message. */
static int load_cols(struct hv_db *db, const struct ratings_sel *sel,
                     struct ratings_cols *out, const char *label,
                     struct hv_err *err)
{
  assert(out->n == 0 && !out->rating_id); /* zeroed: cap starts at 0 */
  struct cols_acc a = {out, 0};
  int rc = q_each(db, sel, cols_append, &a, err);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "%s: out of memory at row %zu", label,
                      out->n);
  return rc;
}

/* ratings_load and ratings_load_time: out zeroed, arguments checked. */
static int load_sel(struct hv_db *db, const struct ratings_sel *sel,
                    struct ratings_cols *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db)
    return store_no_db(err, "ratings");
  if (sel->lo > sel->hi && sel->by_time)
    return hv_err_set(err, HV_EINVAL,
                      "time window %lld..%lld is empty (start after end)",
                      (long long)sel->lo, (long long)sel->hi);
  if (sel->lo > sel->hi)
    return hv_err_set(err, HV_EINVAL,
                      "ratings range %lld:%lld is empty (FIRST > LAST)",
                      (long long)sel->lo, (long long)sel->hi);
  return load_cols(db, sel, out, "ratings", err);
}

int ratings_load(struct hv_db *db, int64_t first, int64_t last,
                 struct ratings_cols *out, struct hv_err *err)
{
  struct ratings_sel sel = {.by_time = 0, .lo = first, .hi = last};
  return load_sel(db, &sel, out, err);
}

int ratings_load_time(struct hv_db *db, int64_t t0, int64_t t1,
                      int64_t excl_first, int64_t excl_last,
                      struct ratings_cols *out, struct hv_err *err)
{
  struct ratings_sel sel = {.by_time = 1, .lo = t0, .hi = t1,
                            .excl_first = excl_first, .excl_last = excl_last};
  return load_sel(db, &sel, out, err);
}

int ratings_take(struct hv_db *db, int64_t from_ts, struct ratings_cols *out,
                 struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db)
    return hv_err_set(err, HV_EINVAL, "take ratings: no database");
  if (db_begin(db, err))
    return err ? err->code : HV_EDB;
  /* timestamp < INT64_MAX: no second counts that far */
  struct ratings_sel sel = {.by_time = 1, .lo = from_ts, .hi = INT64_MAX,
                            .excl_first = 1, .excl_last = 0};
  int rc = load_cols(db, &sel, out, "take ratings", err);
  if (!rc)
    rc = q_delete_from(db, from_ts, err);
  if (!rc)
    rc = db_commit(db, err);
  if (rc) {
    db_rollback(db);
    ratings_cols_free(out);
  }
  return rc;
}

/* ---- ids, counts, spans ----------------------------------------------- */

int ratings_ids(struct hv_db *db, int64_t first, int64_t last, int64_t **ids,
                size_t *n, struct hv_err *err)
{
  *ids = NULL;
  *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "rating ids: no database");
  if (first > last)
    return hv_err_set(err, HV_EINVAL, "rating ids: range %lld:%lld is empty",
                      (long long)first, (long long)last);
  return q_ids(db, first, last, ids, n, err);
}

int ratings_time_span(struct hv_db *db, int64_t first, int64_t last,
                      int64_t *tmin, int64_t *tmax, int64_t *n,
                      struct hv_err *err)
{
  *tmin = *tmax = *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  if (first > last)
    return 0;
  return q_span(db, first, last, tmin, tmax, n, err);
}

int ratings_count(struct hv_db *db, int64_t first, int64_t last, int64_t *n,
                  struct hv_err *err)
{
  int64_t tmin, tmax;
  if (!db) {
    *n = 0;
    return hv_err_set(err, HV_EINVAL, "rating count: no database");
  }
  return ratings_time_span(db, first, last, &tmin, &tmax, n, err);
}

int ratings_last_time_outside(struct hv_db *db, int64_t excl_first,
                              int64_t excl_last, int64_t *tmax, int64_t *n,
                              struct hv_err *err)
{
  *tmax = *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  return q_last_outside(db, excl_first, excl_last, tmax, n, err);
}

int ratings_last_id(struct hv_db *db, int64_t *id, struct hv_err *err)
{
  *id = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "last rating id: no database");
  return q_last_id(db, id, err);
}

/* ---- per user and per movie ------------------------------------------- */

int ratings_user_movies(struct hv_db *db, int64_t user_id, int64_t **ids,
                        size_t *n, struct hv_err *err)
{
  *ids = NULL;
  *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  return q_user_movies(db, user_id, ids, n, err);
}

int ratings_user_each(struct hv_db *db, int64_t uid, ratings_row_fn fn,
                      void *ctx, struct hv_err *err)
{
  if (!db || !fn)
    return hv_err_set(err, HV_EINVAL, "ratings: no database or callback");
  int known = catalog_user_exists(db, uid, err);
  if (known < 0)
    return known;
  if (!known)
    return hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)uid);
  return q_user_each(db, uid, fn, ctx, err);
}

int ratings_movie_avg_each(struct hv_db *db, double min, double max,
                           ratings_avg_fn fn, void *ctx, struct hv_err *err)
{
  if (!db || !fn)
    return hv_err_set(err, HV_EINVAL, "ratings: no database or callback");
  if (!isfinite(min) || !isfinite(max) || min > max)
    return hv_err_set(err, HV_EINVAL,
                      "min_rating %g must not exceed max_rating %g", min, max);
  return q_movie_avg(db, min, max, fn, ctx, err);
}

/* ---- inserts ---------------------------------------------------------- */

/* ---- the rating scale -------------------------------------------------- */

void ratings_scale_of_name(const char *name, struct rating_scale *out)
{
  static const char *const whole[] = {"ml-100k", "ml-1m", "synth"};
  *out = (struct rating_scale){0.5, 5, 0.5};
  for (size_t i = 0; name && i < sizeof(whole) / sizeof(whole[0]); i++)
    if (!strcmp(name, whole[i]))
      *out = (struct rating_scale){1, 5, 1};
}

static int scale_row(const struct sql_row *r, void *arg)
{
  struct rating_scale *s = arg;
  s->min = sql_f64(r, 0, 0.5);
  s->max = sql_f64(r, 1, 5);
  s->step = sql_f64(r, 2, 0.5);
  return 0;
}

int ratings_scale(struct hv_db *db, struct rating_scale *out,
                  struct hv_err *err)
{
  ratings_scale_of_name(NULL, out);
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  return sql_run(db,
                 "SELECT rating_min, rating_max, rating_step FROM datasets "
                 "ORDER BY id DESC LIMIT 1",
                 0, NULL, scale_row, out, NULL, "datasets", err);
}

int ratings_on_scale(const struct rating_scale *s, double x)
{
  if (!isfinite(x) || !(s->step > 0) || x < s->min - 1e-9 ||
      x > s->max + 1e-9)
    return 0;
  double k = (x - s->min) / s->step;
  return fabs(k - nearbyint(k)) < 1e-9;
}

void ratings_scale_text(const struct rating_scale *s, char *buf, size_t cap)
{
  if (s->step == 1)
    snprintf(buf, cap, "%g to %g in whole stars", s->min, s->max);
  else if (s->step == 0.5)
    snprintf(buf, cap, "%g to %g in half stars", s->min, s->max);
  else
    snprintf(buf, cap, "%g to %g in steps of %g", s->min, s->max, s->step);
}

/* Check item i of a rating batch against the dataset's scale s; 0 or
 * HV_EINVAL / HV_EDB. */
static int check_new(struct hv_db *db, const struct rating_scale *s,
                     const struct ratings_new *r, size_t i,
                     struct hv_err *err)
{
  if (!ratings_on_scale(s, r->rating)) {
    char text[64];
    ratings_scale_text(s, text, sizeof(text));
    return hv_err_set(err, HV_EINVAL,
                      "ratings[%zu]: user_rating %g is not on this "
                      "dataset's scale (%s)", i, r->rating, text);
  }
  int k = catalog_user_exists(db, r->user_id, err);
  if (k <= 0)
    return k < 0 ? k
                 : hv_err_set(err, HV_EINVAL,
                              "ratings[%zu]: unknown user_id %lld", i,
                              (long long)r->user_id);
  k = catalog_movie_exists(db, r->movie_id, err);
  if (k <= 0)
    return k < 0 ? k
                 : hv_err_set(err, HV_EINVAL,
                              "ratings[%zu]: unknown movie_id %lld", i,
                              (long long)r->movie_id);
  return 0;
}

int ratings_insert(struct hv_db *db, const struct ratings_new *r, size_t n,
                   int64_t ts, int64_t *first_id, struct hv_err *err)
{
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  if (n == 0)
    return hv_err_set(err, HV_EINVAL, "ratings: the list is empty");
  if (!r)
    return hv_err_set(err, HV_EINVAL, "ratings: no items");
  if (db_begin(db, err))
    return err ? err->code : HV_EDB;
  struct rating_scale scale;
  int rc = ratings_scale(db, &scale, err);
  for (size_t i = 0; i < n && !rc; i++)
    rc = check_new(db, &scale, &r[i], i, err);
  int64_t first = 0, id = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    if ((rc = q_insert(db, &r[i], ts, &id, err)))
      hv_err_prefix(err, "ratings[%zu]", i);
    if (i == 0)
      first = id;
  }
  if (!rc)
    rc = db_commit(db, err);
  if (rc) {
    db_rollback(db);
    return rc;
  }
  if (first_id)
    *first_id = first;
  return 0;
}

/* ---- fingerprint ------------------------------------------------------ */

struct fp_acc {
  crypto_hash_sha256_state h;
  int64_t rows;
};

static int fp_row(void *ctx, const struct ratings_rec *r)
{
  struct fp_acc *a = ctx;
  char line[160];
  int len = snprintf(line, sizeof(line), "%lld,%lld,%lld,%.17g,%lld\n",
                     (long long)r->rating_id, (long long)r->user_id,
                     (long long)r->movie_id, r->rating,
                     (long long)r->timestamp);
  crypto_hash_sha256_update(&a->h, (const unsigned char *)line, (size_t)len);
  a->rows++;
  return 0;
}

int ratings_fingerprint(struct hv_db *db, int64_t first, int64_t last,
                        int64_t *rows, char hex[65], struct hv_err *err)
{
  if (!db)
    return hv_err_set(err, HV_EINVAL, "fingerprint: no database");
  if (first > last)
    return hv_err_set(err, HV_EINVAL,
                      "rating range %lld..%lld is empty (first > last)",
                      (long long)first, (long long)last);
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  struct fp_acc a = {.rows = 0};
  crypto_hash_sha256_init(&a.h);
  struct ratings_sel sel = {.by_time = 0, .lo = first, .hi = last};
  int rc = q_each(db, &sel, fp_row, &a, err);
  if (rc) {
    hv_err_prefix(err, "fingerprinting ratings");
    return rc;
  }
  unsigned char dig[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&a.h, dig);
  sodium_bin2hex(hex, 65, dig, sizeof(dig));
  *rows = a.rows;
  return 0;
}

/*
 * ratings.c - the ratings, backend-neutral: argument checks, column arrays
 * grown while the backend streams rows, and the composite operations (an
 * all-or-nothing insert batch, take, the fingerprint) written once over
 * the backend's primitives. See ratings.h; the SQL is in
 * sqlite/sq_ratings.c.
 */
#include "store/ratings.h"

#include <assert.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "store/catalog.h"
#include "store/sql.h"

#define RAT(db) ((db)->be->ratings)

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
  int rc = RAT(db)->each(db, sel, cols_append, &a, err);
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
    rc = RAT(db)->delete_from(db, from_ts, err);
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
  return RAT(db)->ids(db, first, last, ids, n, err);
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
  return RAT(db)->span(db, first, last, tmin, tmax, n, err);
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
  return RAT(db)->last_outside(db, excl_first, excl_last, tmax, n, err);
}

int ratings_last_id(struct hv_db *db, int64_t *id, struct hv_err *err)
{
  *id = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "last rating id: no database");
  return RAT(db)->last_id(db, id, err);
}

/* ---- per user and per movie ------------------------------------------- */

int ratings_user_movies(struct hv_db *db, int64_t user_id, int64_t **ids,
                        size_t *n, struct hv_err *err)
{
  *ids = NULL;
  *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "ratings: no database");
  return RAT(db)->user_movies(db, user_id, ids, n, err);
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
  return RAT(db)->user_each(db, uid, fn, ctx, err);
}

int ratings_movie_avg_each(struct hv_db *db, double min, double max,
                           ratings_avg_fn fn, void *ctx, struct hv_err *err)
{
  if (!db || !fn)
    return hv_err_set(err, HV_EINVAL, "ratings: no database or callback");
  if (!isfinite(min) || !isfinite(max) || min > max)
    return hv_err_set(err, HV_EINVAL,
                      "min_rating %g must not exceed max_rating %g", min, max);
  return RAT(db)->movie_avg(db, min, max, fn, ctx, err);
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
    if ((rc = RAT(db)->insert(db, &r[i], ts, &id, err)))
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
  int rc = RAT(db)->each(db, &sel, fp_row, &a, err);
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

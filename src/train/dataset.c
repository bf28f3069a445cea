/*
 * dataset.c - the model's dataset from the store: see dataset.h.
 */
#include "train/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "store/catalog.h"
#include "store/ratings.h"
#include "util/mem.h"

_Static_assert((int)DATASET_GENDER_UNKNOWN == (int)CATALOG_GENDER_UNKNOWN &&
                   (int)DATASET_GENDER_M == (int)CATALOG_GENDER_M &&
                   (int)DATASET_GENDER_F == (int)CATALOG_GENDER_F,
               "the store's gender codes are the dataset's");
_Static_assert((int)DATASET_UF_AGE == (int)CATALOG_UF_AGE &&
                   (int)DATASET_UF_GENDER == (int)CATALOG_UF_GENDER &&
                   (int)DATASET_UF_OCCUPATION == (int)CATALOG_UF_OCCUPATION &&
                   (int)DATASET_UF_ALL == (int)CATALOG_UF_ALL,
               "the store's user feature bits are the dataset's");

/* ---- hand-over of the store's arrays ---------------------------------------- */

static void take_users(struct dataset_users *d, struct catalog_users *u)
{
  d->n = u->n;
  d->absent = DATASET_UF_ALL & ~u->present;
  d->id = u->id;
  d->age_bucket = u->age_bucket;
  d->gender = u->gender;
  d->occupation = u->occupation;
  free(u->raw_age); /* the model does not use raw ages */
  memset(u, 0, sizeof(*u));
}

static void take_movies(struct dataset_movies *d, struct catalog_movies *m)
{
  d->n = m->n;
  d->id = m->id;
  d->year = m->year;
  d->genre_off = m->genre_off;
  d->genre_ids = m->genre_ids;
  memset(m, 0, sizeof(*m));
}

void dataset_free(struct hv_dataset *ds)
{
  if (!ds)
    return;
  struct dataset_users *u = &ds->users;
  struct dataset_movies *m = &ds->movies;
  ratings_cols_free(&ds->ratings);
  HV_FREE_ALL(u->id, u->age_bucket, u->gender, u->occupation, m->id, m->year,
              m->genre_off, m->genre_ids);
  memset(ds, 0, sizeof(*ds));
}

/* ---- ratings ------------------------------------------------------------------ */

/* Keep row i of X at row k (k <= i). */
static void move_row(struct ratings_cols *X, size_t k, size_t i)
{
  X->rating_id[k] = X->rating_id[i];
  X->user_id[k] = X->user_id[i];
  X->movie_id[k] = X->movie_id[i];
  X->rating[k] = X->rating[i];
  X->timestamp[k] = X->timestamp[i];
}

/* Append the first keep rows of X to R. */
static int append_rows(struct ratings_cols *R, const struct ratings_cols *X,
                       size_t keep, struct hv_err *err)
{
  size_t n = R->n + keep;
  if (!keep)
    return 0;
  if (ratings_cols_reserve(R, n))
    return hv_err_set(err, HV_ENOMEM, "dataset: out of memory (ratings)");
  memcpy(R->rating_id + R->n, X->rating_id, keep * sizeof(int64_t));
  memcpy(R->user_id + R->n, X->user_id, keep * sizeof(int64_t));
  memcpy(R->movie_id + R->n, X->movie_id, keep * sizeof(int64_t));
  memcpy(R->rating + R->n, X->rating, keep * sizeof(float));
  memcpy(R->timestamp + R->n, X->timestamp, keep * sizeof(int64_t));
  R->n = n;
  return 0;
}

/* Append to R the ratings of the ascending ids[0..n_ids) that lie outside
 * [first, last] (the range already in R). */
static int append_extra(struct hv_db *db, struct ratings_cols *R,
                        const int64_t *ids, size_t n_ids, int64_t first,
                        int64_t last, struct hv_err *err)
{
  if (!n_ids)
    return 0;
  struct ratings_cols X;
  int rc = ratings_load(db, ids[0], ids[n_ids - 1], &X, err);
  size_t keep = 0, j = 0;
  for (size_t i = 0; !rc && i < X.n; i++) { /* both ascending: merge */
    while (j < n_ids && ids[j] < X.rating_id[i])
      j++;
    if (j < n_ids && ids[j] == X.rating_id[i] &&
        (X.rating_id[i] < first || X.rating_id[i] > last))
      move_row(&X, keep++, i);
  }
  if (!rc)
    rc = append_rows(R, &X, keep, err);
  ratings_cols_free(&X);
  return rc;
}

/* Append to R the ratings of [first, last] outside [skip_first,
 * skip_last] (the slice already in R). */
static int append_outside(struct hv_db *db, struct ratings_cols *R,
                          int64_t first, int64_t last, int64_t skip_first,
                          int64_t skip_last, struct hv_err *err)
{
  struct ratings_cols X;
  int rc = ratings_load(db, first, last, &X, err);
  size_t keep = 0;
  for (size_t i = 0; !rc && i < X.n; i++)
    if (X.rating_id[i] < skip_first || X.rating_id[i] > skip_last)
      move_row(&X, keep++, i);
  if (!rc)
    rc = append_rows(R, &X, keep, err);
  ratings_cols_free(&X);
  return rc;
}

/* ---- the two datasets ------------------------------------------------------------ */

/* Load the users (and with movies, the movies) tables into out. */
static int load_tables(struct hv_db *db, int movies, struct hv_dataset *out,
                       struct hv_err *err)
{
  struct catalog_users US;
  struct catalog_movies MS;
  memset(&MS, 0, sizeof(MS));
  int rc = catalog_load_users(db, &US, err);
  if (!rc && movies)
    rc = catalog_load_movies(db, &MS, err);
  take_users(&out->users, &US);
  take_movies(&out->movies, &MS);
  return rc;
}

/* Zero *out before anything can fail, so a caller frees it on any path. */
static int begin(struct hv_dataset *out, struct hv_err *err)
{
  if (!out)
    return hv_err_set(err, HV_EINVAL, "dataset: no output");
  memset(out, 0, sizeof(*out));
  return 0;
}

/* Load the ratings with rating_id in [first, last] into out->ratings; an
 * empty range is HV_ENOTFOUND, "<who>: no ratings ...<hint>". */
static int load_range(struct hv_db *db, int64_t first, int64_t last,
                      const char *who, const char *hint,
                      struct hv_dataset *out, struct hv_err *err)
{
  int rc = ratings_load(db, first, last, &out->ratings, err);
  if (!rc && out->ratings.n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND,
                    "%s: no ratings with rating_id in %lld:%lld%s", who,
                    (long long)first, (long long)last, hint);
  return rc;
}

/* After the ratings (rc their outcome): the users and, with movies, the
 * movies tables; on any failure out is freed. */
static int finish(struct hv_db *db, int movies, int rc,
                  struct hv_dataset *out, struct hv_err *err)
{
  if (!rc)
    rc = load_tables(db, movies, out, err);
  if (rc)
    dataset_free(out);
  return rc;
}

int dataset_load_train(struct hv_db *db, const struct train_config *c,
                       struct hv_dataset *out, struct hv_err *err)
{
  int rc = begin(out, err);
  if (rc)
    return rc;
  if (!db || !c)
    return hv_err_set(err, HV_EINVAL, "dataset: no database or config");
  if (c->n_extra_rating_ids && !c->extra_rating_ids)
    return hv_err_set(err, HV_EINVAL, "dataset: %zu extra rating ids but "
                      "no array", c->n_extra_rating_ids);
  rc = load_range(db, c->first_rating_id, c->last_rating_id, "train",
                      "; import data first ('harvest data import')", out,
                      err);
  if (!rc) {
    const struct ratings_cols *R = &out->ratings;
    out->first_rating_id = R->rating_id[0];
    out->last_rating_id = R->rating_id[R->n - 1];
    rc = append_extra(db, &out->ratings, c->extra_rating_ids,
                      c->n_extra_rating_ids, c->first_rating_id,
                      c->last_rating_id, err);
  }
  return finish(db, 1, rc, out, err);
}

int dataset_load_eval(struct hv_db *db, const struct hv_model *m,
                      int64_t first, int64_t last, struct hv_dataset *out,
                      struct hv_err *err)
{
  int rc = begin(out, err);
  if (rc)
    return rc;
  if (!db || !m)
    return hv_err_set(err, HV_EINVAL, "evaluate: no database or model");
  struct train_config tc;
  model_config(m, &tc);
  rc = load_range(db, first, last, "evaluate", "", out, err);
  if (!rc)
    rc = append_outside(db, &out->ratings, tc.first_rating_id,
                        tc.last_rating_id, first, last, err);
  out->first_rating_id = first;
  out->last_rating_id = last;
  return finish(db, 0, rc, out, err);
}

/* ---- load, run, free --------------------------------------------------------------- */

int dataset_train(struct hv_db *db, const struct train_config *c,
                  const struct hv_model *init_from,
                  const struct train_callbacks *cb, struct train_result *res,
                  struct hv_model **out, struct hv_err *err)
{
  struct hv_dataset ds = {0}; /* dataset_free-able on every path */
  int rc = train_run_check(c, out, err); /* before the load */
  if (!rc)
    rc = dataset_load_train(db, c, &ds, err); /* checks db */
  if (!rc)
    rc = train_run_take(&ds, c, init_from, cb, res, out, err);
  dataset_free(&ds);
  return rc;
}

int dataset_evaluate(struct hv_db *db, const struct hv_model *m,
                     int64_t first, int64_t last, struct eval_metrics *out,
                     struct hv_err *err)
{
  struct hv_dataset ds;
  int rc = dataset_load_eval(db, m, first, last, &ds, err);
  if (!rc)
    rc = model_evaluate(&ds, m, out, err);
  dataset_free(&ds);
  return rc;
}

int dataset_load_split(struct hv_db *db, const struct hv_model *m,
                       struct hv_dataset *out, struct hv_err *err)
{
  struct train_config c;
  model_config(m, &c);
  c.extra_rating_ids = NULL;
  c.n_extra_rating_ids = 0;
  return dataset_load_train(db, &c, out, err);
}

int dataset_evaluate_split(struct hv_db *db, const struct hv_model *m,
                           int which, struct eval_metrics *out,
                           struct hv_err *err)
{
  if (!db || !m)
    return hv_err_set(err, HV_EINVAL, "evaluate: no database or model");
  struct hv_dataset ds;
  int rc = dataset_load_split(db, m, &ds, err);
  if (!rc)
    rc = model_evaluate_split(&ds, m, which, out, err);
  dataset_free(&ds);
  return rc;
}

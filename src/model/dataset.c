/*
 * dataset.c - dataset_check: see dataset.h.
 */
#include "model/dataset.h"

static int increasing(const int64_t *id, size_t n, size_t *at)
{
  for (size_t i = 1; i < n; i++)
    if (id[i] <= id[i - 1]) {
      *at = i;
      return 0;
    }
  return 1;
}

static int check_tables(const struct hv_dataset *ds, const char *who,
                        struct hv_err *err)
{
  const struct dataset_users *u = &ds->users;
  const struct dataset_movies *m = &ds->movies;
  size_t at = 0;
  if (u->n && (!u->id || !u->age_bucket || !u->gender || !u->occupation))
    return hv_err_set(err, HV_EINVAL, "%s: dataset has %zu users but a "
                      "missing column", who, u->n);
  if (!increasing(u->id, u->n, &at))
    return hv_err_set(err, HV_EINVAL, "%s: dataset user ids are not "
                      "strictly increasing (index %zu)", who, at);
  if (m->n && (!m->id || !m->year || !m->genre_off))
    return hv_err_set(err, HV_EINVAL, "%s: dataset has %zu movies but a "
                      "missing column", who, m->n);
  if (!increasing(m->id, m->n, &at))
    return hv_err_set(err, HV_EINVAL, "%s: dataset movie ids are not "
                      "strictly increasing (index %zu)", who, at);
  if (m->genre_off && m->genre_off[0] != 0)
    return hv_err_set(err, HV_EINVAL, "%s: dataset genre offsets do not "
                      "start at 0", who);
  for (size_t i = 0; m->n && i < m->n; i++)
    if (m->genre_off[i + 1] < m->genre_off[i])
      return hv_err_set(err, HV_EINVAL, "%s: dataset genre offsets "
                        "decrease at movie index %zu", who, i);
  if (m->n && m->genre_off[m->n] && !m->genre_ids)
    return hv_err_set(err, HV_EINVAL, "%s: dataset has genre offsets but "
                      "no genres", who);
  return 0;
}

int dataset_check(const struct hv_dataset *ds, const char *who,
                  struct hv_err *err)
{
  if (!who)
    who = "dataset";
  if (!ds)
    return hv_err_set(err, HV_EINVAL, "%s: no dataset", who);
  const struct ratings_cols *r = &ds->ratings;
  if (r->n && (!r->rating_id || !r->user_id || !r->movie_id))
    return hv_err_set(err, HV_EINVAL, "%s: dataset has %zu ratings but a "
                      "missing column", who, r->n);
  if (ds->first_rating_id > ds->last_rating_id)
    return hv_err_set(err, HV_EINVAL, "%s: dataset range %lld:%lld is "
                      "empty", who, (long long)ds->first_rating_id,
                      (long long)ds->last_rating_id);
  return check_tables(ds, who, err);
}

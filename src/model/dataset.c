/*
 * dataset.c - dataset_check: see dataset.h.
 */
#include "model/dataset.h"

#include <stdio.h>

static int increasing(const int64_t *id, size_t n, size_t *at)
{
  for (size_t i = 1; i < n; i++)
    if (id[i] <= id[i - 1]) {
      *at = i;
      return 0;
    }
  return 1;
}

const char *dataset_user_feature_name(unsigned bit)
{
  return bit == DATASET_UF_AGE          ? "age"
         : bit == DATASET_UF_GENDER     ? "gender"
         : bit == DATASET_UF_OCCUPATION ? "occupation"
                                        : "";
}

void dataset_user_features_str(unsigned mask, char *buf, size_t cap)
{
  if (!buf || !cap)
    return;
  size_t o = 0;
  buf[0] = '\0';
  for (unsigned b = 1; b <= DATASET_UF_OCCUPATION; b <<= 1)
    if ((mask & b) && o < cap)
      o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? "," : "",
                            dataset_user_feature_name(b));
  if (!o)
    snprintf(buf, cap, "none");
}

/* A user value of a feature marked absent: the mark is wrong. */
static int check_absent(const struct dataset_users *u, const char *who,
                        struct hv_err *err)
{
  if (u->absent & ~(unsigned)DATASET_UF_ALL)
    return hv_err_set(err, HV_EINVAL, "%s: dataset users.absent 0x%x has "
                      "unknown bits", who, u->absent);
  for (size_t i = 0; i < u->n; i++) {
    unsigned has = (u->age_bucket[i] >= 0 ? DATASET_UF_AGE : 0u) |
                   (u->gender[i] != DATASET_GENDER_UNKNOWN ? DATASET_UF_GENDER
                                                           : 0u) |
                   (u->occupation[i] >= 0 ? DATASET_UF_OCCUPATION : 0u);
    if (has & u->absent)
      return hv_err_set(err, HV_EINVAL, "%s: dataset user %lld has a %s "
                        "but the users table marks it absent", who,
                        (long long)u->id[i],
                        dataset_user_feature_name(has & u->absent &
                                                  (0u - (has & u->absent))));
  }
  return 0;
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
  if (u->absent && check_absent(u, who, err))
    return err->code;
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

/*
 * monitor_q.h - the read queries monitoring needs beyond store/ratings.h:
 * ratings by time window, the raters' raw ages with their other features,
 * genre and occupation names, and the time span of a rating_id range.
 *
 * Design: like ratings.h, each query fills plain arrays in one pass (grown
 * geometrically while the statement steps) so the monitor computes every
 * window statistic in memory; all statements bind their parameters. Time
 * windows come back in (timestamp, rating_id) order, which the ratings_by_time
 * index serves.
 *
 * Threads: each call uses its connection exclusively while it runs; the
 * results are plain memory.
 */
#ifndef HV_STORE_MONITOR_Q_H
#define HV_STORE_MONITOR_Q_H

#include <stddef.h>
#include <stdint.h>

#include "store/ratings.h"
#include "util/err.h"

struct hv_db;

/* Every user with the features monitoring looks at, ordered by id. */
struct monitor_q_users {
  size_t n;
  int64_t *id;     /* (n) strictly increasing */
  int *raw_age;    /* (n) years, -1 unknown */
  int *age_bucket; /* (n) MovieLens bucket, -1 unknown */
  int *gender;     /* (n) RATINGS_GENDER_* */
  int *occupation; /* (n) occupation_label, -1 unknown */
};

/* Load every user into *out (zeroed first; release with
 * monitor_q_users_free, also after a failure). Returns 0, HV_EINVAL (no
 * database), HV_EDB or HV_ENOMEM. */
int monitor_q_users(struct hv_db *db, struct monitor_q_users *out,
                    struct hv_err *err) HV_WARN_UNUSED;
void monitor_q_users_free(struct monitor_q_users *u);

/* Names of a coded category (genre id -> name, occupation label -> text),
 * ordered by code. */
struct monitor_q_names {
  size_t n;
  int *code;   /* (n) ascending */
  char **name; /* (n) owned strings */
};

enum monitor_q_names_kind {
  MONITOR_Q_GENRES = 0,     /* genres.id, genres.name */
  MONITOR_Q_OCCUPATIONS = 1 /* users.occupation_label, occupation_text */
};

/* Load the names of kind into *out (release with monitor_q_names_free).
 * Returns 0, HV_EINVAL (no database / unknown kind), HV_EDB, HV_ENOMEM. */
int monitor_q_names(struct hv_db *db, enum monitor_q_names_kind kind,
                    struct monitor_q_names *out,
                    struct hv_err *err) HV_WARN_UNUSED;
void monitor_q_names_free(struct monitor_q_names *nm);

/* Name of code in nm (borrowed), or NULL when absent. */
const char *monitor_q_name_of(const struct monitor_q_names *nm, int code);

/* The ratings with t0 <= timestamp < t1 whose rating_id is NOT in
 * [excl_first, excl_last] (pass excl_first > excl_last to exclude nothing),
 * ordered by (timestamp, rating_id), into *out (zeroed first; release with
 * ratings_cols_free, also after a failure). Returns 0, HV_EINVAL (no
 * database, t0 > t1), HV_EDB or HV_ENOMEM. An empty window is not an
 * error. */
int monitor_q_ratings_time(struct hv_db *db, int64_t t0, int64_t t1,
                           int64_t excl_first, int64_t excl_last,
                           struct ratings_cols *out,
                           struct hv_err *err) HV_WARN_UNUSED;

/* The smallest and largest timestamp and the count of the ratings with
 * rating_id in [first, last]; *n = 0 (and *tmin = *tmax = 0) when there
 * are none. */
int monitor_q_time_span(struct hv_db *db, int64_t first, int64_t last,
                        int64_t *tmin, int64_t *tmax, int64_t *n,
                        struct hv_err *err) HV_WARN_UNUSED;

/* The largest timestamp and the count of the ratings whose rating_id is NOT
 * in [excl_first, excl_last] (the data a model did not see); *n = 0 and
 * *tmax = 0 when there are none. */
int monitor_q_last_time_outside(struct hv_db *db, int64_t excl_first,
                                int64_t excl_last, int64_t *tmax, int64_t *n,
                                struct hv_err *err) HV_WARN_UNUSED;

#endif

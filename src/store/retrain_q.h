/*
 * retrain_q.h - the queries of the retraining loop and its demo: the rating
 * ids of a range (for the replay sample and the held-out slice), the newest
 * rating id, and "take": move the ratings from a point in time on out of
 * the database into memory, so that a replay can send them back through
 * the HTTP API.
 *
 * Design: ids come back as one int64 array (8 bytes a rating), so sampling
 * a replay set from millions of older ratings never loads their columns.
 * retrain_q_take reads and deletes in one BEGIN IMMEDIATE transaction: the
 * database holds either all of the ratings or none of them.
 *
 * Threads: each call uses the caller's connection exclusively.
 */
#ifndef HV_STORE_RETRAIN_Q_H
#define HV_STORE_RETRAIN_Q_H

#include <stddef.h>
#include <stdint.h>

#include "store/ratings.h"
#include "util/err.h"

struct hv_db;

/* The rating ids in [first, last], ascending, in a new array *ids (caller
 * frees; NULL when *n is 0). HV_EINVAL for first > last or no database,
 * HV_EDB, HV_ENOMEM. */
int retrain_q_ids(struct hv_db *db, int64_t first, int64_t last,
                  int64_t **ids, size_t *n, struct hv_err *err) HV_WARN_UNUSED;

/* The number of ratings with rating_id in [first, last] into *n. */
int retrain_q_count(struct hv_db *db, int64_t first, int64_t last, int64_t *n,
                    struct hv_err *err) HV_WARN_UNUSED;

/* The largest rating_id (0 when there are no ratings) into *id. */
int retrain_q_last_id(struct hv_db *db, int64_t *id,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Move every rating with timestamp >= from_ts out of the database: load
 * them ordered by (timestamp, rating_id) into *out (zeroed first; release
 * with ratings_cols_free, also after a failure) and delete them, in one
 * transaction. On failure the database is unchanged. */
int retrain_q_take(struct hv_db *db, int64_t from_ts, struct ratings_cols *out,
                   struct hv_err *err) HV_WARN_UNUSED;

#endif

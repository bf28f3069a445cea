/*
 * stats.h - read-only summaries of the stored dataset (counts, time span).
 */
#ifndef HV_STORE_STATS_H
#define HV_STORE_STATS_H

#include <stdint.h>

#include "util/err.h"

struct hv_db;

struct store_counts {
  int64_t users, movies, ratings, genres;
  int64_t first_ts, last_ts;          /* rating timestamps; 0 when none */
  int64_t first_rating_id, last_rating_id;
};

/* Fill *out with the table counts and spans. */
int store_counts(struct hv_db *db, struct store_counts *out,
                 struct hv_err *err) HV_WARN_UNUSED;

#endif

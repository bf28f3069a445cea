/*
 * mllatest.h - the MovieLens "latest" reader (ml-latest, ml-latest-small:
 * movies.csv and ratings.csv, RFC 4180 CSV with a header line, UTF-8).
 *
 * Design: titles may hold commas and quotes, so both files go through the
 * CSV reader (csv.h). Genres are pipe-separated names, "(no genres listed)"
 * meaning none; ids are assigned in order of first appearance from 0.
 * Ratings are half stars 0.5..5. The dataset has no demographics: a user
 * row with NULL age, gender, occupation and zip is created the first time a
 * user id appears in ratings.csv (ids are otherwise unchecked there, since
 * ratings.csv is the only list of users). Other files (tags.csv, links.csv)
 * are ignored. rating_id is the 1-based order of the rating in ratings.csv.
 *
 * Threads: see mlread.h.
 */
#ifndef HV_DATA_MLLATEST_H
#define HV_DATA_MLLATEST_H

#include "data/mlread.h"

/* Read the dataset from ml->src into ml->ld. Returns 0 or a negative HV_E*
 * code with "FILE:LINE: what is wrong" in err. */
int mllatest_read(struct ml_load *ml, struct hv_err *err) HV_WARN_UNUSED;

#endif

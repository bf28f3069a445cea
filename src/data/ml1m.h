/*
 * ml1m.h - the MovieLens 1M reader (users.dat, movies.dat, ratings.dat, all
 * "::"-separated).
 *
 * Design: users.dat already holds the age bucket (1, 18, 25, 35, 45, 50,
 * 56) and an occupation label 0..20, so raw_age is stored NULL and the
 * occupation text comes from the table in the ml-1m README. movies.dat is
 * Latin-1 (stored as UTF-8) with pipe-separated genre names; genre ids are
 * assigned in order of first appearance, starting at 0. A title may not
 * contain "::" in the format, but the reader takes the id up to the first
 * and the genres after the last "::" so a stray one in a title survives.
 * rating_id is the 1-based order of the line in ratings.dat.
 *
 * Threads: see mlread.h.
 */
#ifndef HV_DATA_ML1M_H
#define HV_DATA_ML1M_H

#include "data/mlread.h"

/* Read the ml-1m dataset from ml->src into ml->ld. Returns 0 or a negative
 * HV_E* code with "FILE:LINE: what is wrong" in err. */
int ml1m_read(struct ml_load *ml, struct hv_err *err) HV_WARN_UNUSED;

/* Occupation text of an ml-1m label 0..20, or NULL. */
const char *ml1m_occupation(int label);

#endif

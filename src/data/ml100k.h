/*
 * ml100k.h - the MovieLens 100K reader (u.genre, u.occupation, u.user,
 * u.item, u.data).
 *
 * Design: files are read in dependency order (genres and occupations, then
 * users and movies, then ratings) into a loader through mlread.h.
 * u.genre ids must be 0, 1, 2, ... in file order because u.item's genre
 * flags are positional; occupation_label is the 0-based line of the
 * occupation in u.occupation. u.item is Latin-1 and is stored as UTF-8; the
 * release year comes from the dd-Mon-yyyy date or else from "(yyyy)" at the
 * end of the title. rating_id is the 1-based order of the line in u.data.
 *
 * Threads: see mlread.h.
 */
#ifndef HV_DATA_ML100K_H
#define HV_DATA_ML100K_H

#include "data/mlread.h"

/* Read the ml-100k dataset from ml->src into ml->ld. Returns 0 or a
 * negative HV_E* code with "FILE:LINE: what is wrong" in err. */
int ml100k_read(struct ml_load *ml, struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * import.h - `harvest data import`: load a MovieLens dataset (ml-100k,
 * ml-1m, ml-latest / ml-latest-small) from its folder or .zip into the
 * database.
 *
 * Design: the whole import is one loader transaction, so any bad line
 * in any file (reported as "FILE:LINE: what is wrong") leaves the database
 * exactly as it was. Files are streamed (no file is held in memory whole);
 * the readers validate field counts, numbers, rating ranges, duplicate and
 * unknown ids and text encodings themselves, so every error names its line
 * rather than a database constraint. rating_id follows the order of the
 * ratings file (1-based), so id ranges keep meaning what they meant in the
 * Python seed; timestamps are kept for time-ordered replay.
 *
 * Threads: an import uses its db connection exclusively until it returns.
 */
#ifndef HV_DATA_IMPORT_H
#define HV_DATA_IMPORT_H

#include <stdint.h>

#include "util/err.h"

struct hv_db;

struct import_result {
  int64_t users, movies, ratings, genres;
  double seconds; /* wall time of the whole import */
};

/* Called while files are read: file is the display name (borrowed), done
 * and total are bytes of that file (total -1 when unknown). */
typedef void (*import_progress_fn)(void *ctx, const char *file, int64_t done,
                                   int64_t total);

/* Import dataset at path (folder or .zip) of format "ml-100k" | "ml-1m" |
 * "ml-latest" ("ml-latest-small" is accepted as ml-latest; NULL or "auto"
 * guesses it with import_guess_format) into db as one transaction
 * (loader_*; nothing is written on any error). replace: swap an
 * existing dataset instead of refusing (HV_ECONFLICT). res (may be NULL)
 * gets the counts and time. Returns 0 or a negative HV_E* code with err
 * filled: HV_EUSAGE for an unknown format, HV_ENOTFOUND for a missing path or
 * file, HV_EINVAL for bad data ("FILE:LINE: ..."), HV_ECORRUPT for a damaged
 * zip, HV_ECONFLICT when the database already holds a dataset. */
int import_dataset(struct hv_db *db, const char *format, const char *path,
                   int replace, struct import_result *res,
                   struct hv_err *err) HV_WARN_UNUSED;

/* import_dataset with a progress callback (may be NULL) and its context. */
int import_dataset_progress(struct hv_db *db, const char *format,
                            const char *path, int replace,
                            import_progress_fn progress, void *progress_ctx,
                            struct import_result *res,
                            struct hv_err *err) HV_WARN_UNUSED;

/* Guess the format of the dataset at path from the files it holds: u.data
 * -> "ml-100k", ratings.dat -> "ml-1m", ratings.csv -> "ml-latest".
 * *format is a static string. Returns 0, HV_ENOTFOUND/HV_ECORRUPT when path
 * cannot be opened, HV_EINVAL when no known file is there. */
int import_guess_format(const char *path, const char **format,
                        struct hv_err *err) HV_WARN_UNUSED;

/* The canonical name of a format ("ml-latest" for "ml-latest-small"), or
 * NULL when the name is unknown. */
const char *import_format_name(const char *format);

#endif

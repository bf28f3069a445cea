/*
 * mlread.h - what the MovieLens readers (ml100k.c, ml1m.c, mllatest.c)
 * share: the load in progress, per-file line reading with "FILE:LINE"
 * errors, field splitting, strict ids and ratings, and the id bookkeeping
 * behind the duplicate and unknown-id checks.
 *
 * Design: a struct ml_load is one import: the source it reads, the
 * loader it writes to, the ids seen so far, the genre names in the
 * order they were assigned, and the counts. Rows go to the store through
 * ml_add_user / ml_add_movie / ml_add_rating, which check ids first so a
 * problem is reported at its line, and clean every text field of control
 * characters (text_clean: ESC, BEL, CR, bidi overrides ...); rating_id is
 * the 1-based order of the rating in its file.
 *
 * Threads: a load belongs to one thread.
 */
#ifndef HV_DATA_MLREAD_H
#define HV_DATA_MLREAD_H

#include <stddef.h>
#include <stdint.h>

#include "util/idset.h"
#include "data/import.h"
#include "data/lines.h"
#include "data/text.h"
#include "store/loader.h"
#include "util/err.h"

struct source;
struct source_file;

#define ML_MAX_GENRES 256
#define ML_MAX_FIELDS 64

struct ml_load {
  struct source *src;          /* borrowed */
  struct loader *ld;     /* borrowed */
  import_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  struct idset users, movies;
  char *genre[ML_MAX_GENRES]; /* name of genre id i (owned) */
  int n_genres;
  struct text_buf text;     /* scratch for converted text */
  struct text_buf clean[3]; /* the text fields of one row, cleaned */
  struct import_result res; /* counts so far */
};

struct ml_file {
  struct ml_load *ml;
  struct source_file *sf;
  struct lines lines;
  int64_t done, total; /* bytes, for progress */
  int64_t rows;        /* non-empty lines (or records) read */
  int64_t at;          /* line errors name; 0: the current line (CSV
                          records spanning lines set their first line) */
};

/* Release what ml owns (not src or ld). */
void ml_load_free(struct ml_load *ml);

/* Open file `name` of the dataset. Returns 0 or a negative code (f needs
 * ml_file_close either way). */
int ml_file_open(struct ml_load *ml, const char *name, struct ml_file *f,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Next non-empty line (in place, borrowed until the next call). Returns 1,
 * 0 at the end, or a negative code. */
int ml_file_next(struct ml_file *f, char **line, size_t *len,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Report progress (bytes of f consumed so far) to ml->progress when set:
 * every ML_PROGRESS_ROWS rows, or now when force is set. */
#define ML_PROGRESS_ROWS 4096
void ml_file_progress(const struct ml_file *f, int force);

/* Close; safe on a zeroed or closed file. */
void ml_file_close(struct ml_file *f);

/* The file's display name and the current line number. */
const char *ml_file_name(const struct ml_file *f);
int64_t ml_file_line(const struct ml_file *f);

/* Handles one non-empty line of a file (ctx is the caller's). */
typedef int (*ml_line_fn)(struct ml_load *ml, const struct ml_file *f,
                          char *line, void *ctx, struct hv_err *err);

/* Read every non-empty line of file `name` with fn, stopping at the first
 * error; a file without any line is an error saying it expected `expect`.
 * Returns 0 or a negative code. */
int ml_read_lines(struct ml_load *ml, const char *name, ml_line_fn fn,
                  void *ctx, const char *expect,
                  struct hv_err *err) HV_WARN_UNUSED;

/* One file of a dataset for ml_read_files: its name, line reader, the
 * reader's ctx and what a line looks like (for the empty-file message). */
struct ml_part {
  const char *name;
  ml_line_fn fn;
  void *ctx;
  const char *expect;
};

/* ml_read_lines of parts[0..n) in order, stopping at the first error. */
int ml_read_files(struct ml_load *ml, const struct ml_part *parts, size_t n,
                  struct hv_err *err) HV_WARN_UNUSED;

/* Fill err with "FILE:LINE: MESSAGE" for the current line; returns code. */
int ml_fail(const struct ml_file *f, struct hv_err *err, int code,
            const char *fmt, ...) HV_PRINTF(4, 5);

/* Prefix the message already in err with "FILE:LINE"; returns err->code. */
int ml_prefix(const struct ml_file *f, struct hv_err *err);

/* HV_EINVAL "FILE:1: the file is empty; expected WHAT" when f returned no
 * rows, else 0. */
int ml_require_rows(const struct ml_file *f, const char *what,
                    struct hv_err *err) HV_WARN_UNUSED;

/* Split line in place at each occurrence of sep (1 or more bytes) into
 * exactly want fields; otherwise "expected WANT fields separated by
 * SEPNAME, found N". */
int ml_split(const struct ml_file *f, char *line, const char *sep,
             const char *sepname, char **fields, int want,
             struct hv_err *err) HV_WARN_UNUSED;

/* Strict integer field in [min, max] ("WHAT: 'x' is not an integer"). */
int ml_int(const struct ml_file *f, const char *s, const char *what,
           int64_t min, int64_t max, int64_t *out,
           struct hv_err *err) HV_WARN_UNUSED;

/* Strict id (1 .. 2^53). */
int ml_id(const struct ml_file *f, const char *s, const char *what,
          int64_t *out, struct hv_err *err) HV_WARN_UNUSED;

/* Whole-star rating 1..5 (ml-100k, ml-1m) or half-star 0.5..5
 * (ml-latest). */
int ml_rating_whole(const struct ml_file *f, const char *s, double *out,
                    struct hv_err *err) HV_WARN_UNUSED;
int ml_rating_half(const struct ml_file *f, const char *s, double *out,
                   struct hv_err *err) HV_WARN_UNUSED;

/* Timestamp: seconds since the epoch, >= 0. */
int ml_timestamp(const struct ml_file *f, const char *s, int64_t *out,
                 struct hv_err *err) HV_WARN_UNUSED;

/* Check s is valid UTF-8 ("WHAT is not valid UTF-8 at byte N"). */
int ml_utf8(const struct ml_file *f, const char *s, const char *what,
            struct hv_err *err) HV_WARN_UNUSED;

/* Id of genre `name`, assigning the next id (and storing the genre) the
 * first time a name is seen. */
int ml_genre_id(struct ml_load *ml, const struct ml_file *f, const char *name,
                int *id, struct hv_err *err) HV_WARN_UNUSED;

/* Store a genre with a given id (ml-100k's u.genre); duplicate names or ids
 * are errors. */
int ml_add_genre(struct ml_load *ml, const struct ml_file *f, int id,
                 const char *name, struct hv_err *err) HV_WARN_UNUSED;

/* Store a user / movie; a repeated id is an error naming the line. */
int ml_add_user(struct ml_load *ml, const struct ml_file *f,
                const struct hv_user *u, struct hv_err *err) HV_WARN_UNUSED;
int ml_add_movie(struct ml_load *ml, const struct ml_file *f,
                 const struct hv_movie *m, struct hv_err *err) HV_WARN_UNUSED;

/* Store the next rating (rating_id = ratings so far + 1). Unknown users or
 * movies are errors naming users_file / movies_file. */
int ml_add_rating(struct ml_load *ml, const struct ml_file *f, int64_t user,
                  int64_t movie, double rating, int64_t ts,
                  const char *users_file, const char *movies_file,
                  struct hv_err *err) HV_WARN_UNUSED;

/* One whole-star ratings line, user SEP movie SEP rating SEP timestamp
 * (ml-100k's u.data with TAB, ml-1m's ratings.dat with "::"; sep_name
 * names the separator in a message), stored with ml_add_rating. */
int ml_rating_line(struct ml_load *ml, const struct ml_file *f, char *line,
                   const char *sep, const char *sep_name,
                   const char *users_file, const char *movies_file,
                   struct hv_err *err) HV_WARN_UNUSED;

#endif

/*
 * csv.h - an RFC 4180 CSV reader (MovieLens "latest" movies.csv,
 * ratings.csv, links.csv).
 *
 * Design: records are read line by line from a struct lines, so CRLF and LF
 * endings, the byte order mark and line numbers come from there. A field
 * that starts with '"' is quoted: it may hold the delimiter, doubled quotes
 * ("" -> ") and line breaks (the record then spans several lines; a break
 * inside a field becomes "\n"). The parser is strict where RFC 4180 is: a
 * quote inside an unquoted field, text after a closing quote and a quoted
 * field left open at the end of the file are errors naming the file, the
 * line the record starts on and the field number. Wholly empty lines are
 * skipped. Fields are unescaped into one buffer owned by the reader and
 * stay valid until the next csv_next.
 *
 * Threads: a reader belongs to one thread.
 */
#ifndef HV_DATA_CSV_H
#define HV_DATA_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "data/lines.h"
#include "util/err.h"

struct csv {
  struct lines *in; /* borrowed */
  char delim;
  char *rec; /* unescaped fields, each NUL-terminated */
  size_t rec_len, rec_cap, rec_max;
  size_t *off; /* start of each field in rec */
  int nf, off_cap;
  int64_t line; /* line the current record starts on */
};

/* Read CSV records with delimiter delim (usually ',') from in (borrowed;
 * the caller frees it after csv_free). A record may be at most as long as
 * one line of in. Returns 0 or HV_ENOMEM. */
int csv_init(struct csv *c, struct lines *in, char delim,
             struct hv_err *err) HV_WARN_UNUSED;

/* Read the next record. Returns 1 with csv_nfields() fields, 0 at the end
 * of the input, or a negative HV_E* code with "FILE:LINE: field N: what is
 * wrong" in err. */
int csv_next(struct csv *c, struct hv_err *err) HV_WARN_UNUSED;

/* Number of fields in the current record (at least 1). */
int csv_nfields(const struct csv *c);

/* Field i (0-based) of the current record, unescaped and NUL-terminated
 * (borrowed until the next csv_next), or NULL when i is out of range. */
const char *csv_field(const struct csv *c, int i);

/* Length in bytes of field i (0 when out of range). */
size_t csv_field_len(const struct csv *c, int i);

/* The line the current record starts on (1-based). */
int64_t csv_line(const struct csv *c);

/* Release the reader's buffers; safe on a zeroed or freed struct. */
void csv_free(struct csv *c);

#endif

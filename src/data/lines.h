/*
 * lines.h - a buffered line reader with line numbers, for the dataset
 * readers (MovieLens .dat/u.* files directly, CSV through csv.h).
 *
 * Design: bytes come from a read callback (a folder file, a zip entry, a
 * string in tests) into one buffer of fixed size; lines are handed out in
 * place (NUL-terminated, without "\n" or "\r\n"), valid until the next call,
 * so reading 30 million ratings allocates nothing per line. A UTF-8 byte
 * order mark at the start of the file is skipped. Lines longer than the
 * buffer and NUL bytes are errors ("FILE:LINE: ...") rather than silent
 * truncation.
 *
 * Threads: a reader belongs to one thread.
 */
#ifndef HV_DATA_LINES_H
#define HV_DATA_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Read up to cap bytes into buf; return the count (0 at the end) or a
 * negative HV_E* code with err filled. */
typedef long (*lines_read_fn)(void *ctx, char *buf, size_t cap,
                              struct hv_err *err);

/* Longest line accepted by default (bytes, without the newline). */
#define LINES_MAX_DEFAULT (1u << 20)

struct lines {
  lines_read_fn read;
  void *ctx;
  const char *name; /* file name for messages (borrowed) */
  char *buf;        /* cap + 1 bytes */
  size_t cap, start, end;
  int eof;
  int64_t lineno; /* 1-based number of the line last returned */
};

/* Set up l to read from fn(ctx) with lines of at most max_line bytes
 * (0: LINES_MAX_DEFAULT). name is borrowed for messages. Returns 0 or
 * HV_ENOMEM; lines_free releases l either way. */
int lines_init(struct lines *l, lines_read_fn fn, void *ctx, const char *name,
               size_t max_line, struct hv_err *err) HV_WARN_UNUSED;

/* Next line into *line (in place, NUL-terminated, without its line break)
 * and *len. Returns 1 for a line, 0 at the end of the input, or a negative
 * HV_E* code: HV_EINVAL for "NAME:LINE: line is longer than N bytes" and
 * "NAME:LINE: NUL byte at column C", or the read callback's code. */
int lines_next(struct lines *l, char **line, size_t *len,
               struct hv_err *err) HV_WARN_UNUSED;

/* Release the buffer; safe on a zeroed or already freed struct. */
void lines_free(struct lines *l);

#endif

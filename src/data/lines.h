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
/* The buffer a reader starts with: a small file never costs the longest
 * line's 1 MiB (a dataset import opens several; the fuzz targets open
 * them per input, where an ASan-mapped megabyte each made the dataset
 * targets 20 times slower). */
#define LINES_FIRST (64u << 10)

struct lines {
  lines_read_fn read;
  void *ctx;
  const char *name; /* file name for messages (borrowed) */
  char *buf;        /* size + 1 bytes */
  size_t cap;       /* the longest line + 1: what buf may grow to */
  size_t size;      /* bytes buf holds now: LINES_FIRST, doubled up to cap
                       when a line does not fit or a read fills it */
  size_t start, end;
  int eof, full;    /* full: the last read filled buf (more to come) */
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

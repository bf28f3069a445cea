/*
 * lines.c - buffered line reader: see lines.h.
 */
#include "data/lines.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int lines_init(struct lines *l, lines_read_fn fn, void *ctx, const char *name,
               size_t max_line, struct hv_err *err)
{
  memset(l, 0, sizeof(*l));
  l->read = fn;
  l->ctx = ctx;
  l->name = name ? name : "input";
  l->cap = max_line ? max_line + 1 : LINES_MAX_DEFAULT + 1;
  l->size = l->cap < LINES_FIRST ? l->cap : LINES_FIRST;
  l->buf = malloc(l->size + 1);
  if (!l->buf)
    return hv_err_set(err, HV_ENOMEM,
                      "out of memory for a %zu-byte line "
                      "buffer",
                      l->size);
  return 0;
}

/* Double the buffer, up to cap. */
static int grow(struct lines *l, struct hv_err *err)
{
  size_t size = l->size < l->cap / 2 ? l->size * 2 : l->cap;
  char *b = realloc(l->buf, size + 1);
  if (!b)
    return hv_err_set(err, HV_ENOMEM,
                      "out of memory for a %zu-byte line buffer", size);
  l->buf = b;
  l->size = size;
  return 0;
}

void lines_free(struct lines *l)
{
  free(l->buf);
  l->buf = NULL;
}

/* Move the unread tail to the front and read more after it. Returns the
 * number of new bytes, 0 at the end, or a negative code. */
static long refill(struct lines *l, struct hv_err *err)
{
  if (l->start > 0) {
    memmove(l->buf, l->buf + l->start, l->end - l->start);
    l->end -= l->start;
    l->start = 0;
  }
  if (l->eof)
    return 0;
  if ((l->end >= l->size || l->full) && l->size < l->cap) {
    int rc = grow(l, err); /* a line that does not fit, or a big file */
    if (rc)
      return rc;
  }
  if (l->end >= l->size)
    return 0;
  long n = l->read(l->ctx, l->buf + l->end, l->size - l->end, err);
  if (n < 0)
    return n;
  assert((size_t)n <= l->size - l->end); /* lines_read_fn: at most cap */
  if (n == 0)
    l->eof = 1;
  l->full = (size_t)n == l->size - l->end;
  l->end += (size_t)n;
  return n;
}

/* Hand out buf[start, start+len) as the next line and advance past skip
 * more bytes (the newline). */
static int emit(struct lines *l, size_t len, size_t skip, char **line,
                size_t *out_len, struct hv_err *err)
{
  char *s = l->buf + l->start;
  assert(l->start + len + skip <= l->end && l->end <= l->size &&
         l->size <= l->cap);
  l->start += len + skip;
  l->lineno++;
  if (len > 0 && s[len - 1] == '\r')
    len--;
  s[len] = '\0';
  if (l->lineno == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
    s += 3;
    len -= 3;
  }
  const char *nul = memchr(s, '\0', len);
  if (nul)
    return hv_err_set(err, HV_EINVAL,
                      "%s:%lld: NUL byte at column %zu; this is not a text "
                      "file",
                      l->name, (long long)l->lineno, (size_t)(nul - s) + 1);
  *line = s;
  *out_len = len;
  return 1;
}

int lines_next(struct lines *l, char **line, size_t *len, struct hv_err *err)
{
  size_t scanned = 0; /* bytes after start known to hold no newline */
  for (;;) {
    char *nl =
        memchr(l->buf + l->start + scanned, '\n', l->end - l->start - scanned);
    if (nl)
      return emit(l, (size_t)(nl - (l->buf + l->start)), 1, line, len, err);
    scanned = l->end - l->start;
    if (l->eof) {
      if (scanned == 0)
        return 0;
      return emit(l, scanned, 0, line, len, err);
    }
    if (scanned >= l->cap)
      return hv_err_set(err, HV_EINVAL,
                        "%s:%lld: line is longer than %zu bytes", l->name,
                        (long long)l->lineno + 1, l->cap - 1);
    long n = refill(l, err);
    if (n < 0)
      return (int)n;
  }
}

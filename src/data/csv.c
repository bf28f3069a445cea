/*
 * csv.c - RFC 4180 CSV reader: see csv.h.
 */
#include "data/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_REC_MAX (16u << 20) /* longest record across its lines */

int csv_init(struct csv *c, struct lines *in, char delim, struct hv_err *err)
{
  memset(c, 0, sizeof(*c));
  c->in = in;
  c->delim = delim;
  c->rec_max = CSV_REC_MAX;
  c->rec_cap = 4096;
  c->off_cap = 16;
  c->rec = malloc(c->rec_cap);
  c->off = malloc((size_t)c->off_cap * sizeof(*c->off));
  if (!c->rec || !c->off) {
    csv_free(c);
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  }
  return 0;
}

void csv_free(struct csv *c)
{
  free(c->rec);
  free(c->off);
  c->rec = NULL;
  c->off = NULL;
}

static int fail(const struct csv *c, struct hv_err *err, const char *what)
{
  return hv_err_set(err, HV_EINVAL, "%s:%lld: field %d: %s", c->in->name,
                    (long long)c->line, c->nf, what);
}

/* Append n bytes to the record buffer. */
static int put(struct csv *c, const char *s, size_t n, struct hv_err *err)
{
  if (c->rec_len + n + 1 > c->rec_cap) {
    size_t cap = c->rec_cap;
    while (c->rec_len + n + 1 > cap) cap *= 2;
    if (cap > c->rec_max)
      return fail(c, err,
                  "record is longer than 16 MiB (a quoted field "
                  "may be missing its closing quote)");
    char *p = realloc(c->rec, cap);
    if (!p)
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    c->rec = p;
    c->rec_cap = cap;
  }
  memcpy(c->rec + c->rec_len, s, n);
  c->rec_len += n;
  return 0;
}

/* Start field number nf+1 at the current end of the record buffer. */
static int begin_field(struct csv *c, struct hv_err *err)
{
  if (c->nf == c->off_cap) {
    if (c->off_cap >= 1 << 20)
      return fail(c, err, "more than a million fields");
    size_t *p = realloc(c->off, (size_t)c->off_cap * 2 * sizeof(*p));
    if (!p)
      return hv_err_set(err, HV_ENOMEM, "out of memory");
    c->off = p;
    c->off_cap *= 2;
  }
  c->off[c->nf++] = c->rec_len;
  return 0;
}

/* Scan an unquoted field from s; sets *next past it (at the delimiter or the
 * end of the line). */
static int unquoted(struct csv *c, const char *s, const char **next,
                    struct hv_err *err)
{
  const char *p = s;
  while (*p && *p != c->delim) {
    if (*p == '"')
      return fail(c, err,
                  "quote inside an unquoted field (quote the whole "
                  "field and double the quote)");
    p++;
  }
  *next = p;
  return put(c, s, (size_t)(p - s), err);
}

/* Scan a quoted field whose opening quote is just before *pp, reading more
 * lines while it stays open. On return *pp is just after the closing quote
 * (and the line it is on). */
static int quoted(struct csv *c, const char **pp, struct hv_err *err)
{
  const char *p = *pp;
  for (;;) {
    const char *q = strchr(p, '"');
    if (!q) {
      int rc = put(c, p, strlen(p), err);
      if (!rc)
        rc = put(c, "\n", 1, err);
      if (rc)
        return rc;
      char *line;
      size_t len;
      rc = lines_next(c->in, &line, &len, err);
      if (rc < 0)
        return rc;
      if (rc == 0)
        return fail(c, err,
                    "quoted field is not closed before the end of "
                    "the file");
      p = line;
      continue;
    }
    int rc = put(c, p, (size_t)(q - p) + (q[1] == '"'), err);
    if (rc)
      return rc;
    if (q[1] == '"') {
      p = q + 2;
      continue;
    }
    *pp = q + 1;
    return 0;
  }
}

/* Parse the record that starts with line. */
static int parse(struct csv *c, const char *line, struct hv_err *err)
{
  const char *p = line;
  for (;;) {
    int rc = begin_field(c, err);
    if (rc)
      return rc;
    if (*p == '"') {
      p++;
      rc = quoted(c, &p, err);
      if (!rc && *p && *p != c->delim) {
        char what[96];
        snprintf(what, sizeof(what), "unexpected '%c' after the closing quote",
                 *p);
        rc = fail(c, err, what);
      }
    } else {
      rc = unquoted(c, p, &p, err);
    }
    if (!rc)
      rc = put(c, "", 1, err); /* the field's NUL */
    if (rc)
      return rc;
    if (!*p)
      return 1;
    p++; /* the delimiter */
  }
}

int csv_next(struct csv *c, struct hv_err *err)
{
  char *line;
  size_t len;
  int rc;
  do {
    rc = lines_next(c->in, &line, &len, err);
    if (rc <= 0)
      return rc;
  } while (len == 0);
  c->nf = 0;
  c->rec_len = 0;
  c->line = c->in->lineno;
  return parse(c, line, err);
}

int csv_nfields(const struct csv *c)
{
  return c->nf;
}

const char *csv_field(const struct csv *c, int i)
{
  if (i < 0 || i >= c->nf)
    return NULL;
  return c->rec + c->off[i];
}

size_t csv_field_len(const struct csv *c, int i)
{
  if (i < 0 || i >= c->nf)
    return 0;
  size_t end = i + 1 < c->nf ? c->off[i + 1] - 1 : c->rec_len - 1;
  return end - c->off[i];
}

int64_t csv_line(const struct csv *c)
{
  return c->line;
}

/*
 * parse.c - strict number parsing: see parse.h.
 */
#include "util/parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 0 when strtoll / strtod read all of the non-empty s (up to end), else
 * HV_EINVAL saying that s is not KIND ("an integer", "a number"). */
static int read_whole(const char *s, const char *end, const char *kind,
                      const char *what, struct hv_err *err)
{
  if (!s || !*s)
    return hv_err_set(err, HV_EINVAL, "%s: empty value, expected %s", what,
                      kind);
  if (end == s || *end != '\0')
    return hv_err_set(err, HV_EINVAL, "%s: '%.64s' is not %s", what, s,
                      kind);
  return 0;
}

int hv_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out,
                 const char *what, struct hv_err *err)
{
  char *end = NULL;
  errno = 0;
  long long v = s && *s ? strtoll(s, &end, 10) : 0;
  int rc = read_whole(s, end, "an integer", what, err);
  if (rc)
    return rc;
  if (errno == ERANGE || v < min || v > max)
    return hv_err_set(err, HV_EINVAL,
                      "%s: %.64s is out of range [%lld, %lld]", what, s,
                      (long long)min, (long long)max);
  *out = v;
  return 0;
}

int hv_parse_f64(const char *s, double min, double max, double *out,
                 const char *what, struct hv_err *err)
{
  char *end = NULL;
  errno = 0;
  double v = s && *s ? strtod(s, &end) : 0;
  int rc = read_whole(s, end, "a number", what, err);
  if (rc)
    return rc;
  if (errno == ERANGE || !isfinite(v))
    return hv_err_set(err, HV_EINVAL, "%s: '%.64s' is not a finite number",
                      what, s);
  /* plain decimals only: strtod also takes "0x5" and "  5" */
  if (s[strspn(s, "0123456789+-.eE")] != '\0')
    return hv_err_set(err, HV_EINVAL, "%s: '%.64s' is not a number", what, s);
  if (v < min || v > max)
    return hv_err_set(err, HV_EINVAL, "%s: %.64s is out of range [%g, %g]",
                      what, s, min, max);
  *out = v;
  return 0;
}

int hv_parse_range(const char *s, int64_t *first, int64_t *last,
                   const char *what, struct hv_err *err)
{
  if (!s)
    return hv_err_set(err, HV_EINVAL, "%s: empty range", what);
  const char *colon = strchr(s, ':');
  if (!colon)
    return hv_err_set(err, HV_EINVAL, "%s: '%.64s' is not FIRST:LAST", what, s);
  char a[32], b[32];
  size_t la = (size_t)(colon - s), lb = strlen(colon + 1);
  if (la >= sizeof(a) || lb >= sizeof(b))
    return hv_err_set(err, HV_EINVAL, "%s: '%.64s' is too long", what, s);
  memcpy(a, s, la);
  a[la] = '\0';
  memcpy(b, colon + 1, lb + 1);
  int64_t f = 0, l = INT64_MAX;
  if (la && hv_parse_i64(a, 0, INT64_MAX, &f, what, err))
    return HV_EINVAL;
  if (lb && hv_parse_i64(b, 0, INT64_MAX, &l, what, err))
    return HV_EINVAL;
  if (f > l)
    return hv_err_set(err, HV_EINVAL, "%s: first %lld is after last %lld",
                      what, (long long)f, (long long)l);
  *first = f;
  *last = l;
  return 0;
}

int hv_is_hex(const char *s, size_t n)
{
  if (!s || strlen(s) != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

int hv_check_len(const char *s, int max, const char *what, size_t *n,
                 struct hv_err *err)
{
  size_t len = s ? strlen(s) : 0;
  if (n)
    *n = len;
  if (len == 0 || len > (size_t)max)
    return hv_err_set(err, HV_EINVAL, "%s must be 1-%d characters, got %zu",
                      what, max, len);
  return 0;
}

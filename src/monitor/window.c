/*
 * window.c - monitoring windows and their parsers: see window.h.
 *
 * Dates go through strptime + timegm (UTC) and are checked by a round trip
 * through gmtime_r, so "1998-02-30" is refused rather than normalised.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include "monitor/window.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/parse.h"

#define MAX_DURATION (100LL * 366 * 86400)

int window_parse_duration(const char *s, int64_t *seconds, const char *what,
                          struct hv_err *err)
{
  if (!s || !*s)
    return hv_err_set(err, HV_EINVAL,
                      "%s: empty duration, expected e.g. 7d, 12h or 3600",
                      what);
  size_t len = strlen(s);
  if (len > 30)
    return hv_err_set(err, HV_EINVAL, "%s: '%.32s...' is too long", what, s);
  char num[32];
  memcpy(num, s, len + 1);
  int64_t unit = 1;
  char u = num[len - 1];
  if (isalpha((unsigned char)u)) {
    switch (u) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default:
      return hv_err_set(err, HV_EINVAL,
                        "%s: unknown unit '%c' in '%s' (use s, m, h, d or w)",
                        what, u, s);
    }
    num[len - 1] = '\0';
  }
  int64_t v;
  if (hv_parse_i64(num, 1, MAX_DURATION, &v, what, err))
    return hv_err_set(err, HV_EINVAL,
                      "%s: '%s' is not a duration such as 7d, 12h or 3600",
                      what, s);
  if (v > MAX_DURATION / unit)
    return hv_err_set(err, HV_EINVAL, "%s: '%s' is longer than 100 years",
                      what, s);
  *seconds = v * unit;
  return 0;
}

static int parse_date(const char *s, const char *fmt, int64_t *t)
{
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *end = strptime(s, fmt, &tm);
  if (!end || (*end && strcmp(end, "Z")))
    return -1;
  struct tm want = tm;
  time_t v = timegm(&tm);
  struct tm back;
  if (v == (time_t)-1 || !gmtime_r(&v, &back) ||
      back.tm_year != want.tm_year || back.tm_mon != want.tm_mon ||
      back.tm_mday != want.tm_mday || back.tm_hour != want.tm_hour ||
      back.tm_min != want.tm_min || back.tm_sec != want.tm_sec)
    return -1;
  *t = (int64_t)v;
  return 0;
}

int window_parse_time(const char *s, int64_t *t, const char *what,
                      struct hv_err *err)
{
  if (!s || !*s)
    return hv_err_set(err, HV_EINVAL, "%s: empty time", what);
  if (strlen(s) > 40)
    return hv_err_set(err, HV_EINVAL, "%s: '%.40s...' is too long", what, s);
  int all_digits = 1;
  for (const char *p = s; *p; p++)
    all_digits &= isdigit((unsigned char)*p) || (p == s && *p == '-');
  if (all_digits)
    return hv_parse_i64(s, -((int64_t)1 << 40), (int64_t)1 << 40, t, what, err);
  if (!isdigit((unsigned char)s[0]) ||
      (parse_date(s, "%Y-%m-%dT%H:%M:%S", t) && parse_date(s, "%Y-%m-%d", t)))
    return hv_err_set(err, HV_EINVAL,
                      "%s: '%s' is not a time (epoch seconds, YYYY-MM-DD or "
                      "YYYY-MM-DDTHH:MM:SS, UTC)",
                      what, s);
  return 0;
}

void window_format_time(int64_t t, char *buf, size_t cap)
{
  struct tm tm;
  time_t v = (time_t)t;
  if (!cap)
    return;
  if (!gmtime_r(&v, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(buf, cap, "%lld", (long long)t);
}

int window_parse_batches(const char *s, struct window_spec **out, size_t *n,
                         struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  if (!s || !*s)
    return hv_err_set(err, HV_EINVAL,
                      "--batches: empty list, expected FIRST:LAST,...");
  size_t items = 1;
  for (const char *p = s; *p; p++)
    items += *p == ',';
  if (items > WINDOW_MAX)
    return hv_err_set(err, HV_EINVAL, "--batches: %zu ranges, at most %d",
                      items, WINDOW_MAX);
  struct window_spec *w = calloc(items, sizeof(*w));
  if (!w)
    return hv_err_set(err, HV_ENOMEM, "--batches: out of memory");
  const char *p = s;
  for (size_t i = 0; i < items; i++) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char item[64];
    if (len == 0 || len >= sizeof(item)) {
      free(w);
      return hv_err_set(err, HV_EINVAL,
                        "--batches: item %zu is %s, expected FIRST:LAST",
                        i + 1, len ? "too long" : "empty");
    }
    memcpy(item, p, len);
    item[len] = '\0';
    char what[48];
    snprintf(what, sizeof(what), "--batches item %zu", i + 1);
    if (hv_parse_range(item, &w[i].first, &w[i].last, what, err)) {
      free(w);
      return HV_EINVAL;
    }
    w[i].kind = WINDOW_RATING_IDS;
    snprintf(w[i].name, sizeof(w[i].name), "%s", item);
    p = comma ? comma + 1 : p + len;
  }
  *out = w;
  *n = items;
  return 0;
}

int window_time_series(int64_t start, int64_t end, int64_t len_s,
                       size_t max_windows, struct window_spec **out,
                       size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  char a[32];
  window_format_time(start, a, sizeof(a));
  if (len_s < 1)
    return hv_err_set(err, HV_EINVAL, "window length must be >= 1 s");
  if (start >= end)
    return hv_err_set(err, HV_ENOTFOUND,
                      "no ratings at or after %s outside the model's "
                      "training data (in-sample, or none); monitor a model "
                      "trained on less data, or use --batches F:L instead "
                      "of --since for in-sample numbers", a);
  uint64_t need = ((uint64_t)end - (uint64_t)start + (uint64_t)len_s - 1) /
                  (uint64_t)len_s;
  size_t cap = max_windows ? max_windows : WINDOW_MAX;
  if (cap > WINDOW_MAX)
    cap = WINDOW_MAX;
  size_t k = need < cap ? (size_t)need : cap;
  struct window_spec *w = calloc(k, sizeof(*w));
  if (!w)
    return hv_err_set(err, HV_ENOMEM, "windows: out of memory");
  for (size_t i = 0; i < k; i++) {
    w[i].kind = WINDOW_TIME;
    w[i].first = start + (int64_t)i * len_s;
    w[i].last = w[i].first + len_s;
    window_format_time(w[i].first, a, sizeof(a));
    /* day-aligned windows are named by their date, others in full */
    int days = len_s % 86400 == 0 && start % 86400 == 0;
    snprintf(w[i].name, sizeof(w[i].name), "%.*s", days ? 10 : 20, a);
  }
  *out = w;
  *n = k;
  return 0;
}

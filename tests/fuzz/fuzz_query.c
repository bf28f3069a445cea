/*
 * fuzz_query.c - libFuzzer target: what the routes make of a request line,
 * without a server: the route table match (rt_match, captures) and every
 * query argument through the parser its route uses (integers, numbers,
 * rating-id batches, durations, times, the runs filter and order).
 *
 * Input: byte 0 picks the method, the rest is "PATH?NAME=VALUE&..." as it
 * arrives (percent-encoded; decoded here as libmicrohttpd decodes it).
 */
#include <stdlib.h>
#include <string.h>

#include "monitor/window.h"
#include "serve/http/router.h"
#include "serve/http/routes.h"
#include "track/filter.h"
#include "util/parse.h"
#include "fuzz_util.h"

static int hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decode s in place ('+' is a space in query arguments). */
static void unescape(char *s, int plus)
{
  char *w = s;
  for (char *r = s; *r; r++) {
    int hi, lo;
    if (*r == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0) {
      *w++ = (char)(hi * 16 + lo);
      r += 2;
    } else {
      *w++ = plus && *r == '+' ? ' ' : *r;
    }
  }
  *w = '\0';
}

static void value(const char *name, const char *v)
{
  struct hv_err err = {0};
  int64_t i, j;
  double d;
  if (!strcmp(name, "batches")) {
    struct window_spec *w = NULL;
    size_t n = 0;
    if (window_parse_batches(v, &w, &n, &err) == 0 &&
        (n == 0 || n > WINDOW_MAX))
      abort();
    free(w);
  } else if (!strcmp(name, "window")) {
    if (window_parse_duration(v, &i, name, &err) == 0 && i < 1)
      abort();
  } else if (!strcmp(name, "since")) {
    char buf[32];
    if (window_parse_time(v, &i, name, &err) == 0)
      window_format_time(i, buf, sizeof(buf));
  } else if (!strcmp(name, "filter")) {
    struct filter *f = NULL;
    if (filter_parse(v, &f, &err) == 0)
      filter_free(f);
  } else if (!strcmp(name, "order_by")) {
    struct filter_order *o = NULL;
    if (filter_order_parse(v, &o, &err) == 0)
      filter_order_free(o);
  } else if (!strcmp(name, "threshold_share") ||
             !strcmp(name, "min_rating") || !strcmp(name, "max_rating")) {
    if (hv_parse_f64(v, 0, 5, &d, name, &err) == 0 && !(d >= 0 && d <= 5))
      abort();
  } else {
    if (hv_parse_i64(v, 0, INT64_MAX, &i, name, &err) == 0 && i < 0)
      abort();
    if (hv_parse_range(v, &i, &j, name, &err) == 0 && i > j)
      abort();
  }
}

static void query(char *q)
{
  char *save = NULL;
  for (char *arg = strtok_r(q, "&", &save); arg;
       arg = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(arg, '=');
    const char *v = "";
    if (eq) {
      *eq = '\0';
      v = eq + 1;
      unescape(eq + 1, 1);
    }
    unescape(arg, 1);
    value(arg, v);
  }
}

static void path(const char *method, char *p)
{
  struct rt_match m;
  unescape(p, 0);
  int st = rt_match(routes_table, routes_count, method, p, &m);
  if (st != 0 && st != 404 && st != 405)
    abort();
  if (st == 0 && (m.route < 0 || (size_t)m.route >= routes_count ||
                  m.n_captures > RT_MAX_CAPTURES))
    abort();
  for (size_t i = 0; st == 0 && i < m.n_captures; i++) {
    char buf[32];
    int64_t v;
    struct hv_err err = {0};
    if (rt_capture(&m, i, buf, sizeof(buf)) == 0 &&
        hv_parse_i64(buf, 0, INT64_MAX, &v, "capture", &err) == 0 && v < 0)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const methods[] = {"GET", "POST", "HEAD",
                                        "PUT", "DELETE", "PATCH"};
  if (size < 1)
    return 0;
  char *line = fz_strdup(data + 1, size - 1);
  char *q = strchr(line, '?');
  if (q)
    *q++ = '\0';
  path(methods[data[0] % 6], line);
  if (q)
    query(q);
  free(line);
  return 0;
}

/*
 * router.c - route matching and the error -> status table: see router.h.
 */
#include "serve/http/router.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

unsigned rt_method_bit(const char *method)
{
  static const struct {
    const char *name;
    unsigned bit;
  } m[] = {{"GET", RT_GET},
           {"POST", RT_POST},
           {"HEAD", RT_HEAD},
           {"PUT", RT_PUT},
           {"DELETE", RT_DELETE}};
  for (size_t i = 0; method && i < sizeof(m) / sizeof(m[0]); i++)
    if (!strcmp(method, m[i].name))
      return m[i].bit;
  return RT_OTHER;
}

/* Length of the path without one trailing '/' (the root keeps its '/'). */
static size_t trimmed_len(const char *p)
{
  size_t n = strlen(p);
  if (n > 1 && p[n - 1] == '/')
    n--;
  return n;
}

/* Match path[0..plen) against template t; returns the number of literal
 * segments matched (>= 0) or -1 when it does not match. Captures go to m. */
static int match_one(const char *t, const char *path, size_t plen,
                     struct rt_match *m)
{
  size_t tlen = trimmed_len(t);
  size_t ti = 0, pi = 0;
  int literals = 0;
  m->n_captures = 0;
  assert(t[0] == '/'); /* the route table's templates; path is the client's */
  if (plen == 0 || path[0] != '/')
    return -1;
  if (tlen == 1 || plen == 1)
    return (tlen == 1 && plen == 1) ? 1 : -1;
  while (ti < tlen && pi < plen) {
    ti++; /* skip the '/' */
    pi++;
    size_t te = ti, pe = pi;
    while (te < tlen && t[te] != '/')
      te++;
    while (pe < plen && path[pe] != '/')
      pe++;
    if (t[ti] == '{') {
      if (pe == pi || m->n_captures >= RT_MAX_CAPTURES)
        return -1;
      m->cap[m->n_captures] = path + pi;
      m->len[m->n_captures++] = pe - pi;
    } else {
      if (te - ti != pe - pi || memcmp(t + ti, path + pi, te - ti))
        return -1;
      literals++;
    }
    ti = te;
    pi = pe;
  }
  return (ti == tlen && pi == plen) ? literals : -1;
}

int rt_match(const struct rt_route *table, size_t n, const char *method,
             const char *path, struct rt_match *m)
{
  unsigned bit = rt_method_bit(method);
  size_t plen = path ? trimmed_len(path) : 0;
  int best = -1, best_score = -1, other = -1, other_score = -1;
  struct rt_match tmp;
  m->route = -1;
  m->n_captures = 0;
  for (size_t i = 0; i < n && path; i++) {
    int score = match_one(table[i].path, path, plen, &tmp);
    if (score < 0)
      continue;
    /* HEAD is served wherever GET is */
    unsigned allowed = table[i].methods;
    if (allowed & RT_GET)
      allowed |= RT_HEAD;
    if ((allowed & bit) && score > best_score) {
      best = (int)i;
      best_score = score;
      *m = tmp;
    } else if (!(allowed & bit) && score > other_score) {
      other = (int)i;
      other_score = score;
    }
  }
  if (best >= 0 && best_score >= other_score) {
    m->route = best;
    return 0;
  }
  if (other >= 0) {
    m->route = other;
    m->n_captures = 0;
    return 405;
  }
  return 404;
}

int rt_capture(const struct rt_match *m, size_t i, char *out, size_t cap)
{
  if (i >= m->n_captures || cap == 0)
    return HV_EINVAL;
  if (m->len[i] >= cap) {
    out[0] = '\0';
    return HV_EINVAL;
  }
  memcpy(out, m->cap[i], m->len[i]);
  out[m->len[i]] = '\0';
  return 0;
}

/* The one table from error codes to HTTP statuses. */
static const struct {
  int code;
  int status;
} status_table[] = {
    {HV_OK, 200},          {HV_EUSAGE, 400},      {HV_EINVAL, 422},
    {HV_ENOTFOUND, 404},   {HV_EAUTH, 401},       {HV_EFORBIDDEN, 403},
    {HV_ETOOBIG, 413},     {HV_ELIMIT, 429},      {HV_ECONFLICT, 409},
    {HV_EIO, 500},         {HV_ECORRUPT, 500},    {HV_ENOMEM, 500},
    {HV_EDB, 500},         {HV_EVERSION, 500},    {HV_EINTERNAL, 500},
    {HV_EBUSY, 503},       {HV_ENOSPC, 507},
};

int rt_status_of(int code)
{
  for (size_t i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
    if (status_table[i].code == code)
      return status_table[i].status;
  return 500;
}

const char *rt_reason(int status)
{
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 408: return "Request Timeout";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 431: return "Request Header Fields Too Large";
  case 422: return "Unprocessable Entity";
  case 507: return "Insufficient Storage";
  case 429: return "Too Many Requests";
  case 503: return "Service Unavailable";
  default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

char *rt_error_json(const char *msg, size_t *len)
{
  json_t *j = json_pack("{s:s}", "detail", msg ? msg : "");
  if (!j && msg) {
    /* msg quoted invalid UTF-8 from a request: keep it ASCII */
    char safe[512];
    size_t i = 0;
    for (; msg[i] && i + 1 < sizeof(safe); i++)
      safe[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
    safe[i] = '\0';
    j = json_pack("{s:s}", "detail", safe);
  }
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (s && len)
    *len = strlen(s);
  return s;
}

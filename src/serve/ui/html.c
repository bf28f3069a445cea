/*
 * html.c - the escaping HTML buffer: see html.h.
 */
#include "serve/ui/html.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/htmlesc.h"

void html_init(struct html *h)
{
  memset(h, 0, sizeof(*h));
}

void html_free(struct html *h)
{
  if (!h)
    return;
  free(h->buf);
  memset(h, 0, sizeof(*h));
}

char *html_take(struct html *h, size_t *len)
{
  if (h->oom) {
    html_free(h);
    return NULL;
  }
  if (!h->buf) { /* nothing written: an empty string */
    h->buf = calloc(1, 1);
    if (!h->buf)
      return NULL;
  }
  char *s = h->buf;
  if (len)
    *len = h->len;
  memset(h, 0, sizeof(*h));
  return s;
}

/* Room for n more bytes plus the NUL; 0, or -1 (h marked oom). */
static int reserve(struct html *h, size_t n)
{
  if (h->oom)
    return -1;
  if (h->len + n + 1 <= h->cap)
    return 0;
  size_t cap = h->cap ? h->cap : 4096;
  while (cap < h->len + n + 1) {
    if (cap > SIZE_MAX / 2) {
      h->oom = 1;
      return -1;
    }
    cap *= 2;
  }
  char *b = realloc(h->buf, cap);
  if (!b) {
    h->oom = 1;
    return -1;
  }
  h->buf = b;
  h->cap = cap;
  return 0;
}

void html_rawn(struct html *h, const char *markup, size_t n)
{
  if (!markup || reserve(h, n))
    return;
  memcpy(h->buf + h->len, markup, n);
  h->len += n;
  h->buf[h->len] = '\0';
}

void html_raw(struct html *h, const char *markup)
{
  if (markup)
    html_rawn(h, markup, strlen(markup));
}

void html_textn(struct html *h, const char *s, size_t n)
{
  if (!s || reserve(h, n))
    return;
  size_t run = 0; /* bytes of s[run..i) not yet copied */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *ent = htmlesc_entity(c);
    if (!ent && ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f))
      ent = "\xef\xbf\xbd"; /* U+FFFD */
    if (!ent)
      continue;
    html_rawn(h, s + run, i - run);
    html_raw(h, ent);
    run = i + 1;
  }
  html_rawn(h, s + run, n - run);
}

void html_text(struct html *h, const char *s)
{
  if (s)
    html_textn(h, s, strlen(s));
}

void html_url(struct html *h, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      html_rawn(h, (const char *)&c, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      html_rawn(h, e, 3);
    }
  }
}

/* One parsed conversion of a format string. */
struct conv {
  char spec[32];  /* "%-08.3" + length + conversion, for snprintf */
  size_t len;
  int star_w, star_p; /* '*' width / precision taken from the arguments */
  int has_prec;
  char length[3]; /* "", "h", "hh", "l", "ll", "z", "j" */
  char conv;
};

/* Copy a width or precision at p into c's spec: '*' (then *star = 1) or
 * digits, while the spec is shorter than max; returns what follows. */
static const char *take_count(const char *p, struct conv *c, int *star,
                              size_t max)
{
  if (*p == '*') {
    *star = 1;
    c->spec[c->len++] = *p++;
  }
  while (*p >= '0' && *p <= '9' && c->len < max)
    c->spec[c->len++] = *p++;
  return p;
}

/* Parse the conversion at fmt (just after '%'); returns the bytes used or
 * 0 when it is not one html_f supports. */
static size_t parse_conv(const char *fmt, struct conv *c)
{
  const char *p = fmt;
  memset(c, 0, sizeof(*c));
  c->spec[c->len++] = '%';
  while (*p && strchr("-+ #0", *p) && c->len < 8)
    c->spec[c->len++] = *p++;
  p = take_count(p, c, &c->star_w, 16);
  if (*p == '.') {
    c->has_prec = 1;
    c->spec[c->len++] = *p++;
    p = take_count(p, c, &c->star_p, 24);
  }
  size_t l = 0;
  while (*p && strchr("hlzj", *p) && l < 2) {
    c->length[l++] = *p;
    c->spec[c->len++] = *p++;
  }
  if (!*p || !strchr("diuxXcfeEgGs", *p) || c->len > 28)
    return 0;
  c->conv = *p;
  c->spec[c->len++] = *p++;
  c->spec[c->len] = '\0';
  return (size_t)(p - fmt);
}

/* The spec was parsed and checked by parse_conv against the argument
 * types the format attribute of html_f already checked. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* Format one integer conversion with its length modifier. */
static int fmt_int(char *out, size_t cap, const struct conv *c, int w, int pr,
                   va_list *ap)
{
  int sgn = c->conv == 'd' || c->conv == 'i';
  const char *L = c->length;
#define HV_FMT_ARGS(type)                                                   \
  (c->star_w && c->star_p   ? snprintf(out, cap, c->spec, w, pr,           \
                                       va_arg(*ap, type))                  \
   : c->star_w ? snprintf(out, cap, c->spec, w, va_arg(*ap, type))         \
   : c->star_p ? snprintf(out, cap, c->spec, pr, va_arg(*ap, type))        \
               : snprintf(out, cap, c->spec, va_arg(*ap, type)))
  if (!strcmp(L, "ll"))
    return sgn ? HV_FMT_ARGS(long long) : HV_FMT_ARGS(unsigned long long);
  if (!strcmp(L, "l"))
    return sgn ? HV_FMT_ARGS(long) : HV_FMT_ARGS(unsigned long);
  if (!strcmp(L, "z"))
    return HV_FMT_ARGS(size_t);
  if (!strcmp(L, "j"))
    return sgn ? HV_FMT_ARGS(intmax_t) : HV_FMT_ARGS(uintmax_t);
  /* h, hh and none: promoted to int */
  return sgn ? HV_FMT_ARGS(int) : HV_FMT_ARGS(unsigned);
}

static int fmt_double(char *out, size_t cap, const struct conv *c, int w,
                      int pr, va_list *ap)
{
  return HV_FMT_ARGS(double);
#undef HV_FMT_ARGS
}

#pragma GCC diagnostic pop

/* Append one %s argument escaped, honouring precision and width. */
static void put_string(struct html *h, const struct conv *c, int w, int pr,
                       const char *s)
{
  if (!s)
    s = "(null)";
  size_t n = c->has_prec && pr >= 0 ? strnlen(s, (size_t)pr) : strlen(s);
  int left = strchr(c->spec, '-') != NULL;
  size_t pad = w > 0 && (size_t)w > n ? (size_t)w - n : 0;
  for (size_t i = 0; !left && i < pad; i++)
    html_raw(h, " ");
  html_textn(h, s, n);
  for (size_t i = 0; left && i < pad; i++)
    html_raw(h, " ");
}

void html_vf(struct html *h, const char *fmt, va_list ap0)
{
  va_list ap;
  va_copy(ap, ap0);
  const char *p = fmt;
  while (*p && !h->oom) {
    const char *pct = strchr(p, '%');
    if (!pct) {
      html_raw(h, p);
      break;
    }
    html_rawn(h, p, (size_t)(pct - p));
    if (pct[1] == '%') {
      html_raw(h, "%");
      p = pct + 2;
      continue;
    }
    struct conv c;
    size_t used = parse_conv(pct + 1, &c);
    if (!used) {
      html_raw(h, "?");
      break;
    }
    p = pct + 1 + used;
    int w = c.star_w ? va_arg(ap, int) : 0;
    int pr = c.star_p ? va_arg(ap, int) : -1;
    if (c.conv == 's') {
      if (!c.star_w) /* a literal width: read it from the spec */
        w = atoi(c.spec + strspn(c.spec, "%-+ #0"));
      if (c.has_prec && !c.star_p)
        pr = atoi(strchr(c.spec, '.') + 1);
      put_string(h, &c, w, pr, va_arg(ap, const char *));
      continue;
    }
    char num[512];
    int k = strchr("fFeEgG", c.conv) ? fmt_double(num, sizeof(num), &c, w,
                                                  pr, &ap)
                                     : fmt_int(num, sizeof(num), &c, w, pr,
                                               &ap);
    if (k > 0)
      html_rawn(h, num, (size_t)k < sizeof(num) ? (size_t)k
                                                : sizeof(num) - 1);
  }
  va_end(ap);
}

void html_f(struct html *h, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  html_vf(h, fmt, ap);
  va_end(ap);
}

const char *html_num(double v, char *out, size_t cap)
{
  if (isnan(v))
    snprintf(out, cap, "-");
  else if (isinf(v))
    snprintf(out, cap, "%s", v > 0 ? "inf" : "-inf");
  else if (fabs(v) < 1e15 && (v == floor(v) || fabs(v) >= 1e4))
    snprintf(out, cap, "%.0f", v);
  else
    snprintf(out, cap, "%.4g", v);
  return out;
}

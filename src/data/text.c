/*
 * text.c - UTF-8 checks, Latin-1 conversion, release years: see text.h.
 */
#include "data/text.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/termstr.h"
#include "util/utf8.h"

int text_utf8_valid(const char *s, size_t len, size_t *bad_at)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = utf8_decode(s + i, len - i, NULL);
    if (!k) {
      if (bad_at)
        *bad_at = i;
      return 0;
    }
    i += k;
  }
  return 1;
}

static int reserve(struct text_buf *b, size_t need, struct hv_err *err)
{
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  b->p = p;
  b->cap = cap;
  return 0;
}

int text_latin1_to_utf8(const char *s, size_t len, struct text_buf *b,
                        struct hv_err *err)
{
  if (reserve(b, 2 * len + 1, err))
    return HV_ENOMEM;
  if (text_utf8_valid(s, len, NULL)) {
    memcpy(b->p, s, len);
    b->p[len] = '\0';
    return 0;
  }
  char *o = b->p;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
      *o++ = (char)c;
    } else {
      *o++ = (char)(0xC0 | (c >> 6));
      *o++ = (char)(0x80 | (c & 0x3F));
    }
  }
  *o = '\0';
  return 0;
}

int text_clean(const char *s, struct text_buf *b, struct hv_err *err)
{
  size_t len = strlen(s);
  if (reserve(b, len + 1, err))
    return HV_ENOMEM;
  char *o = b->p;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t k = utf8_decode(s + i, len - i, &cp);
    if (k == 0) { /* not UTF-8: the caller's check reports it */
      *o++ = s[i++];
      continue;
    }
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == 0x85)
      *o++ = ' '; /* a line break or tab separated words */
    else if (!termstr_is_control(cp))
      memcpy(o, s + i, k), o += k;
    i += k;
  }
  *o = '\0';
  return 0;
}

void text_buf_free(struct text_buf *b)
{
  free(b->p);
  b->p = NULL;
  b->cap = 0;
}

static int all_digits(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      return 0;
  return 1;
}

/* Value of n decimal digits already checked with all_digits. */
static int digits_value(const char *s, size_t n)
{
  int v = 0;
  for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
  return v;
}

int text_date_year(const char *date, int *year)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (!date)
    return HV_EINVAL;
  size_t dlen = strcspn(date, "-"); /* day: one or two digits */
  const char *m = date + dlen + 1;
  if (dlen < 1 || dlen > 2 || !all_digits(date, dlen) || date[dlen] != '-' ||
      strlen(m) != 8 || m[3] != '-' || !all_digits(m + 4, 4))
    return HV_EINVAL;
  int day = digits_value(date, dlen);
  int y = digits_value(m + 4, 4);
  int month_ok = 0;
  for (int k = 0; k < 12; k++)
    if (!strncmp(m, months + 3 * k, 3))
      month_ok = 1;
  if (!month_ok || day < 1 || day > 31 || y < 1800 || y > 2200)
    return HV_EINVAL;
  *year = y;
  return 0;
}

int text_title_year(const char *title)
{
  if (!title)
    return 0;
  size_t n = strlen(title);
  while (n > 0 && (title[n - 1] == ' ' || title[n - 1] == '\t')) n--;
  if (n < 6 || title[n - 1] != ')' || title[n - 6] != '(' ||
      !all_digits(title + n - 5, 4))
    return 0;
  int y = digits_value(title + n - 5, 4);
  return y >= 1800 && y <= 2200 ? y : 0;
}

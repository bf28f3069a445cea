/*
 * test_text.c - data/text.c (UTF-8 validation, Latin-1 conversion, release
 * years). The id sets are tested in test_idset.c.
 */
#include <stdio.h>
#include <string.h>

#include "data/text.h"
#include "testutil.h"

static void test_utf8_valid(void **state)
{
  static const struct {
    const char *s;
    int ok;
    size_t bad;
  } cases[] = {
      {"", 1, 0},
      {"plain ascii", 1, 0},
      {"Mis\xC3\xA9rables", 1, 0},
      {"\xE2\x82\xAC euro", 1, 0},
      {"\xF0\x9F\x8E\xAC clapper", 1, 0},
      {"Mis\xE9rables", 0, 3},    /* Latin-1 e acute */
      {"ab\xC0\xAF", 0, 2},       /* overlong '/' */
      {"\xE0\x80\xAF", 0, 0},     /* overlong 3-byte */
      {"x\xED\xA0\x80", 0, 1},    /* surrogate */
      {"\xF4\x90\x80\x80", 0, 0}, /* past U+10FFFF */
      {"\xF5\x80\x80\x80", 0, 0},
      {"abc\xC3", 0, 3}, /* truncated */
      {"\x80", 0, 0},    /* lone continuation */
      {"\xE2\x82x", 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t bad = 999;
    int ok = text_utf8_valid(cases[i].s, strlen(cases[i].s), &bad);
    if (ok != cases[i].ok || (!ok && bad != cases[i].bad))
      fail_msg("case %zu: ok %d bad %zu", i, ok, bad);
  }
  assert_int_equal(text_utf8_valid("a\xE9", 2, NULL), 0);
}

static void test_latin1(void **state)
{
  struct text_buf b = {0};
  struct hv_err e = {0};
  static const char *const cases[][2] = {
      {"Mis\xE9rables, Les (1995)", "Mis\xC3\xA9rables, Les (1995)"},
      {"\xC1 k\xF6ldum klaka", "\xC3\x81 k\xC3\xB6ldum klaka"},
      {"\xFF\xA0", "\xC3\xBF\xC2\xA0"},
      {"plain", "plain"},
      {"", ""},
      /* already UTF-8: kept as it is */
      {"Mis\xC3\xA9rables", "Mis\xC3\xA9rables"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(
        text_latin1_to_utf8(cases[i][0], strlen(cases[i][0]), &b, &e), 0);
    assert_string_equal(b.p, cases[i][1]);
    assert_true(text_utf8_valid(b.p, strlen(b.p), NULL));
  }
  /* a long field grows the buffer */
  char big[5000];
  memset(big, 0xE9, sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(text_latin1_to_utf8(big, strlen(big), &b, &e), 0);
  assert_int_equal(strlen(b.p), 2 * (sizeof(big) - 1));
  text_buf_free(&b);
  text_buf_free(&b);
}

static void test_years(void **state)
{
  static const struct {
    const char *date;
    int year; /* 0: invalid */
  } dates[] = {
      {"01-Jan-1995", 1995}, {"4-Feb-1971", 1971},
      {"31-Dec-2000", 2000}, {"", 0},
      {"1995", 0},           {"01-Foo-1995", 0},
      {"00-Jan-1995", 0},    {"32-Jan-1995", 0},
      {"01-Jan-95", 0},      {"01-Jan-19955", 0},
      {"001-Jan-1995", 0},   {"01-Jan-1995x", 0},
      {"-Jan-1995", 0},      {"01-Jan-0001", 0},
      {"aa-Jan-1995", 0},
  };
  for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
    int y = -1;
    int rc = text_date_year(dates[i].date, &y);
    if (dates[i].year ? (rc != 0 || y != dates[i].year) : rc != HV_EINVAL)
      fail_msg("date '%s': rc %d year %d", dates[i].date, rc, y);
  }
  assert_int_equal(text_date_year(NULL, &(int){0}), HV_EINVAL);
  static const struct {
    const char *title;
    int year;
  } titles[] = {
      {"Toy Story (1995)", 1995},
      {"Babylon 5 (1994) ", 1994},
      {"Misérables, Les (1995)", 1995},
      {"unknown", 0},
      {"", 0},
      {"(1995)", 1995},
      {"Series (2006-2007)", 0},
      {"Odd (95)", 0},
      {"Odd (abcd)", 0},
      {"1995)", 0},
  };
  for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
    if (text_title_year(titles[i].title) != titles[i].year)
      fail_msg("title '%s': %d", titles[i].title,
               text_title_year(titles[i].title));
  assert_int_equal(text_title_year(NULL), 0);
}

/* Controls out of imported text: separators become a space, the rest go. */
static void test_clean(void **state)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"Toy Story (1995)", "Toy Story (1995)"},
      {"Caf\xC3\xA9 (2016)", "Caf\xC3\xA9 (2016)"},
      {"Red\x1b[31m Bell\x07 (1995)", "Red[31m Bell (1995)"},
      {"Two\nLines\r\tTab", "Two Lines  Tab"},
      {"\x1b]0;owned\x07Title", "]0;ownedTitle"},
      {"Evil \xE2\x80\xAE(5991) yrotS", "Evil (5991) yrotS"},
      {"\xE2\x81\xA6iso\xE2\x81\xA9 \xE2\x80\xAA" "emb\xE2\x80\xAC", "iso emb"},
      {"c1\xC2\x9B" "31m nel\xC2\x85x del\x7f", "c131m nel x del"},
      {"\xE2\x80\x8F rlm stays", "\xE2\x80\x8F rlm stays"},
      {"bad \xE9 kept", "bad \xE9 kept"},
      {"\x01\x02\x1f", ""},
      {"", ""},
  };
  struct text_buf b = {0};
  struct hv_err e = {0};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(text_clean(cases[i].in, &b, &e), 0);
    if (strcmp(b.p, cases[i].out))
      fail_msg("case %zu: '%s'", i, b.p);
  }
  text_buf_free(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_valid),
      cmocka_unit_test(test_latin1),
      cmocka_unit_test(test_years),
      cmocka_unit_test(test_clean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

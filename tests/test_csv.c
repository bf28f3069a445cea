/*
 * test_csv.c - data/lines.c and data/csv.c: RFC 4180 records (quoted
 * fields with delimiters, doubled quotes, line breaks, CRLF), line numbers,
 * buffer refills at every chunk size, and every malformed-input error with
 * its FILE:LINE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "data/lines.h"
#include "testutil.h"

/* A string fed to the reader chunk bytes at a time; fail_at > 0 makes the
 * read after that many bytes fail with HV_EIO. */
struct strin {
  const char *s;
  size_t len, pos, chunk, fail_at;
};

static long str_read(void *ctx, char *buf, size_t cap, struct hv_err *err)
{
  struct strin *in = ctx;
  if (in->fail_at && in->pos >= in->fail_at)
    return hv_err_set(err, HV_EIO, "test: read failed");
  size_t n = in->len - in->pos;
  if (n > cap)
    n = cap;
  if (n > in->chunk)
    n = in->chunk;
  memcpy(buf, in->s + in->pos, n);
  in->pos += n;
  return (long)n;
}

/* Parse everything into "LINE:f1|f2\n" per record ('\n' in a field shown as
 * "\n" escaped); returns csv_next's final code, err filled. */
static int parse_all(const char *s, size_t len, char delim, size_t chunk,
                     size_t max_line, char *out, size_t cap, struct hv_err *err)
{
  struct strin in = {.s = s, .len = len, .chunk = chunk};
  struct lines l;
  struct csv c;
  assert_int_equal(lines_init(&l, str_read, &in, "t.csv", max_line, err), 0);
  assert_int_equal(csv_init(&c, &l, delim, err), 0);
  out[0] = '\0';
  int rc;
  while ((rc = csv_next(&c, err)) == 1) {
    size_t o = strlen(out);
    o += (size_t)snprintf(out + o, cap - o, "%lld:", (long long)csv_line(&c));
    for (int i = 0; i < csv_nfields(&c); i++) {
      const char *f = csv_field(&c, i);
      assert_int_equal(csv_field_len(&c, i), strlen(f));
      if (i)
        out[o++] = '|';
      for (; *f && o + 3 < cap; f++) {
        if (*f == '\n') {
          out[o++] = '\\';
          out[o++] = 'n';
        } else {
          out[o++] = *f;
        }
      }
    }
    out[o++] = '\n';
    out[o] = '\0';
    assert_null(csv_field(&c, csv_nfields(&c)));
    assert_null(csv_field(&c, -1));
    assert_int_equal(csv_field_len(&c, csv_nfields(&c)), 0);
  }
  csv_free(&c);
  lines_free(&l);
  return rc;
}

struct csv_case {
  const char *in;
  size_t len; /* 0: strlen(in) */
  char delim;
  size_t max_line;  /* 0: default */
  const char *want; /* records, or NULL when an error is expected */
  const char *err;  /* substring of the error message */
};

static const struct csv_case cases[] = {
    {"a,b,c\n", 0, ',', 0, "1:a|b|c\n", NULL},
    {"a,b\r\nc,d\r\n", 0, ',', 0, "1:a|b\n2:c|d\n", NULL},
    {"a,b", 0, ',', 0, "1:a|b\n", NULL},
    {"", 0, ',', 0, "", NULL},
    {"\n\n", 0, ',', 0, "", NULL},
    {"1,\"Toy, The (1995)\",Comedy\n", 0, ',', 0,
     "1:1|Toy, The (1995)|Comedy\n", NULL},
    {"\"He said \"\"hi\"\"\",x\n", 0, ',', 0, "1:He said \"hi\"|x\n", NULL},
    {"\"\"\"\"\n", 0, ',', 0, "1:\"\n", NULL},
    {",,\n", 0, ',', 0, "1:||\n", NULL},
    {"a,\n", 0, ',', 0, "1:a|\n", NULL},
    {"\"\",a\n", 0, ',', 0, "1:|a\n", NULL},
    {"\"a\nb\",c\nd,e\n", 0, ',', 0, "1:a\\nb|c\n3:d|e\n", NULL},
    {"\"a\r\n\r\nb\",c\r\n", 0, ',', 0, "1:a\\n\\nb|c\n", NULL},
    {"a\n\n\nb\n", 0, ',', 0, "1:a\n4:b\n", NULL},
    {"\xEF\xBB\xBFmovieId,title\n", 0, ',', 0, "1:movieId|title\n", NULL},
    {"\"x\"", 0, ',', 0, "1:x\n", NULL},
    {"a\tb,c\n", 0, '\t', 0, "1:a|b,c\n", NULL},
    {"caf\xC3\xA9,\"na\xC3\xAFve, yes\"\n", 0, ',', 0,
     "1:caf\xC3\xA9|na\xC3\xAFve, yes\n", NULL},
    {"12345678\n1\n", 0, ',', 8, "1:12345678\n2:1\n", NULL},
    /* errors */
    {"ok\na,b\"c\n", 0, ',', 0, NULL,
     "t.csv:2: field 2: quote inside an unquoted field"},
    {"\"abc\"x,y\n", 0, ',', 0, NULL,
     "t.csv:1: field 1: unexpected 'x' after the closing quote"},
    {"ok\n\"abc,\ndef\n", 0, ',', 0, NULL,
     "t.csv:2: field 1: quoted field is not closed"},
    {"a,\"b", 0, ',', 0, NULL, "t.csv:1: field 2: quoted field is not closed"},
    {"ok\na\0b\n", 6, ',', 0, NULL, "t.csv:2: NUL byte at column 2"},
    {"ok\n0123456789\n", 0, ',', 8, NULL,
     "t.csv:2: line is longer than 8 bytes"},
    {"ok\n\"0123\n4567890123\"\n", 0, ',', 8, NULL,
     "t.csv:3: line is longer than 8 bytes"},
};

static void test_csv_table(void **state)
{
  static const size_t chunks[] = {1, 2, 3, 7, 4096};
  char out[1024];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const struct csv_case *k = &cases[i];
    size_t len = k->len ? k->len : strlen(k->in);
    for (size_t j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
      struct hv_err e = {0};
      int rc = parse_all(k->in, len, k->delim, chunks[j], k->max_line, out,
                         sizeof(out), &e);
      if (k->want) {
        if (rc != 0 || strcmp(out, k->want))
          fail_msg("case %zu chunk %zu: rc %d (%s), got '%s' want '%s'", i,
                   chunks[j], rc, e.msg, out, k->want);
      } else {
        if (rc != HV_EINVAL || !strstr(e.msg, k->err))
          fail_msg("case %zu chunk %zu: rc %d, message '%s' lacks '%s'", i,
                   chunks[j], rc, e.msg, k->err);
      }
    }
  }
}

static void test_read_error_propagates(void **state)
{
  const char *s = "a,b\nc,d\ne,f\n";
  struct strin in = {.s = s, .len = strlen(s), .chunk = 3, .fail_at = 6};
  struct lines l;
  struct csv c;
  struct hv_err e = {0};
  assert_int_equal(lines_init(&l, str_read, &in, "t.csv", 0, &e), 0);
  assert_int_equal(csv_init(&c, &l, ',', &e), 0);
  assert_int_equal(csv_next(&c, &e), 1);
  assert_int_equal(csv_next(&c, &e), HV_EIO);
  assert_non_null(strstr(e.msg, "read failed"));
  csv_free(&c);
  csv_free(&c); /* twice is safe */
  lines_free(&l);
  lines_free(&l);
}

static void test_lines_numbers_and_crlf(void **state)
{
  const char *s = "x\r\n\r\ny\nlast";
  struct strin in = {.s = s, .len = strlen(s), .chunk = 3};
  struct lines l;
  struct hv_err e = {0};
  char *line;
  size_t len;
  assert_int_equal(lines_init(&l, str_read, &in, "f", 0, &e), 0);
  static const char *want[] = {"x", "", "y", "last"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(lines_next(&l, &line, &len, &e), 1);
    assert_string_equal(line, want[i]);
    assert_int_equal(len, strlen(want[i]));
    assert_int_equal(l.lineno, i + 1);
  }
  assert_int_equal(lines_next(&l, &line, &len, &e), 0);
  assert_int_equal(lines_next(&l, &line, &len, &e), 0);
  lines_free(&l);
}

static void test_long_record_in_big_file(void **state)
{
  /* 20000 records, one with a 100 kB quoted field spanning two lines. */
  size_t cap = 2u << 20;
  char *s = malloc(cap), *big = malloc(100001);
  assert_non_null(s);
  assert_non_null(big);
  memset(big, 'z', 100000);
  big[100000] = '\0';
  size_t n = 0;
  for (int i = 1; i <= 20000; i++) {
    if (i == 12345)
      n += (size_t)snprintf(s + n, cap - n, "%d,\"%s\n%s\"\n", i, big, big);
    else
      n += (size_t)snprintf(s + n, cap - n, "%d,\"t, %d\"\n", i, i);
  }
  struct strin in = {.s = s, .len = n, .chunk = 65536};
  struct lines l;
  struct csv c;
  struct hv_err e = {0};
  assert_int_equal(lines_init(&l, str_read, &in, "big", 0, &e), 0);
  assert_int_equal(csv_init(&c, &l, ',', &e), 0);
  int count = 0;
  while (csv_next(&c, &e) == 1) {
    count++;
    assert_int_equal(csv_nfields(&c), 2);
    if (count == 12345) {
      assert_int_equal(csv_field_len(&c, 1), 200001);
      assert_int_equal(csv_line(&c), 12345);
    } else if (count == 12346) {
      assert_int_equal(csv_line(&c), 12347);
    }
  }
  assert_int_equal(count, 20000);
  assert_int_equal(e.code, 0);
  csv_free(&c);
  lines_free(&l);
  free(s);
  free(big);
}

/* The buffer starts at LINES_FIRST and grows to the longest line: a line
 * of LINES_FIRST * 3 bytes is read whole (and the limit still holds); a
 * small file stays in the first buffer. */
static void test_lines_buffer_grows(void **state)
{
  size_t big = (size_t)LINES_FIRST * 3;
  char *s = malloc(big + 16);
  assert_non_null(s);
  memcpy(s, "a\n", 2);
  memset(s + 2, 'q', big);
  memcpy(s + 2 + big, "\nb\n", 4);
  size_t n = big + 5;
  static const size_t chunks[] = {7, 4096, 1u << 20};
  for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
    struct strin in = {.s = s, .len = n, .chunk = chunks[k]};
    struct lines l;
    struct hv_err e = {0};
    char *line;
    size_t len;
    assert_int_equal(lines_init(&l, str_read, &in, "g", 0, &e), 0);
    assert_int_equal(l.size, LINES_FIRST);
    assert_int_equal(lines_next(&l, &line, &len, &e), 1);
    assert_string_equal(line, "a");
    assert_int_equal(lines_next(&l, &line, &len, &e), 1);
    assert_int_equal(len, big);
    assert_true(line[0] == 'q' && line[big - 1] == 'q');
    assert_int_equal(lines_next(&l, &line, &len, &e), 1);
    assert_string_equal(line, "b");
    int end = lines_next(&l, &line, &len, &e);
    if (end != 0)
      fail_msg("chunk %zu: %d %s", chunks[k], end, e.msg);
    assert_true(l.size > big && l.size <= l.cap);
    lines_free(&l);
    /* a limit below the line: refused, as before */
    in.pos = 0;
    assert_int_equal(lines_init(&l, str_read, &in, "g", big - 1, &e), 0);
    assert_int_equal(lines_next(&l, &line, &len, &e), 1);
    assert_int_equal(lines_next(&l, &line, &len, &e), HV_EINVAL);
    assert_non_null(strstr(e.msg, "g:2: line is longer than"));
    lines_free(&l);
  }
  struct strin small = {.s = "x,y\n1,2\n", .len = 8, .chunk = 3};
  struct lines l;
  struct hv_err e = {0};
  char *line;
  size_t len;
  assert_int_equal(lines_init(&l, str_read, &small, "s", 0, &e), 0);
  while (lines_next(&l, &line, &len, &e) == 1) {
  }
  assert_int_equal(l.size, LINES_FIRST);
  lines_free(&l);
  free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_table),
      cmocka_unit_test(test_lines_buffer_grows),
      cmocka_unit_test(test_read_error_propagates),
      cmocka_unit_test(test_lines_numbers_and_crlf),
      cmocka_unit_test(test_long_record_in_big_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_util.c - util/: error records, strict parsing, atomic files, and
 * signals (sigfwd: passed on to the waiting thread, or to a watcher).
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/htmlesc.h"
#include "util/mutex.h"
#include "util/parse.h"
#include "util/say.h"
#include "util/sigfwd.h"
#include "util/termstr.h"
#include "util/utf8.h"

static void test_err_set_and_prefix(void **state)
{
  struct hv_err e = {0};
  assert_int_equal(hv_err_set(&e, HV_EINVAL, "line %d: bad", 3), HV_EINVAL);
  assert_string_equal(e.msg, "line 3: bad");
  hv_err_prefix(&e, "%s", "u.data");
  assert_string_equal(e.msg, "u.data: line 3: bad");
  assert_int_equal(hv_err_set(NULL, HV_EIO, "x"), HV_EIO);
  assert_int_equal(hv_err_exit_code(0), 0);
  assert_int_equal(hv_err_exit_code(HV_EUSAGE), 2);
  assert_int_equal(hv_err_exit_code(HV_EINVAL), 1);
  assert_string_equal(hv_strerror(HV_ENOTFOUND), "not found");
}

static const struct {
  const char *s;
  int ok;
  int64_t v;
} i64_cases[] = {
    {"42", 1, 42},       {"-7", 1, -7},   {"", 0, 0},    {"4x", 0, 0},
    {" 4", 1, 4},        {"99999999999999999999", 0, 0}, {"abc", 0, 0},
    {"101", 0, 0},       {"100", 1, 100},
};

static void test_parse_i64_table(void **state)
{
  for (size_t i = 0; i < sizeof(i64_cases) / sizeof(i64_cases[0]); i++) {
    struct hv_err e = {0};
    int64_t v = 0;
    int rc = hv_parse_i64(i64_cases[i].s, -100, 100, &v, "--n", &e);
    if (i64_cases[i].ok) {
      assert_int_equal(rc, 0);
      assert_int_equal(v, i64_cases[i].v);
    } else {
      assert_int_equal(rc, HV_EINVAL);
      assert_non_null(strstr(e.msg, "--n"));
    }
  }
  struct hv_err e = {0};
  int64_t v;
  assert_int_equal(hv_parse_i64(NULL, 0, 1, &v, "x", &e), HV_EINVAL);
}

static void test_parse_f64(void **state)
{
  struct hv_err e = {0};
  double v = 0;
  assert_int_equal(hv_parse_f64("0.25", 0, 1, &v, "--lr", &e), 0);
  assert_true(fabs(v - 0.25) < 1e-12);
  assert_int_equal(hv_parse_f64("nan", 0, 1, &v, "--lr", &e), HV_EINVAL);
  assert_int_equal(hv_parse_f64("inf", 0, 1e300, &v, "--lr", &e), HV_EINVAL);
  assert_int_equal(hv_parse_f64("2", 0, 1, &v, "--lr", &e), HV_EINVAL);
  assert_int_equal(hv_parse_f64("1e", 0, 1, &v, "--lr", &e), HV_EINVAL);
  /* plain decimals only (issue 17, finding 12: "0x5" was taken as 5) */
  static const char *const not_decimal[] = {"0x5", "0X1p2", " 5", "5 ",
                                            "infinity", "+nan", "1,5"};
  for (size_t i = 0; i < sizeof(not_decimal) / sizeof(*not_decimal); i++) {
    assert_int_equal(hv_parse_f64(not_decimal[i], 0, 10, &v, "x", &e),
                     HV_EINVAL);
    assert_non_null(strstr(e.msg, "x: "));
  }
  assert_int_equal(hv_parse_f64("-2.5e-1", -1, 1, &v, "x", &e), 0);
  assert_true(fabs(v + 0.25) < 1e-12);
}

static void test_parse_range(void **state)
{
  struct hv_err e = {0};
  int64_t a, b;
  assert_int_equal(hv_parse_range("0:50000", &a, &b, "--ratings", &e), 0);
  assert_int_equal(a, 0);
  assert_int_equal(b, 50000);
  assert_int_equal(hv_parse_range(":10", &a, &b, "r", &e), 0);
  assert_int_equal(a, 0);
  assert_int_equal(hv_parse_range("5:", &a, &b, "r", &e), 0);
  assert_int_equal(b, INT64_MAX);
  assert_int_equal(hv_parse_range("9:1", &a, &b, "r", &e), HV_EINVAL);
  assert_int_equal(hv_parse_range("9", &a, &b, "r", &e), HV_EINVAL);
  assert_int_equal(hv_parse_range("x:1", &a, &b, "r", &e), HV_EINVAL);
  assert_int_equal(hv_parse_range("-1:1", &a, &b, "r", &e), HV_EINVAL);
}

static void test_is_hex(void **state)
{
  static const struct {
    const char *s;
    size_t n;
    int want;
  } cases[] = {
      {"0123456789abcdef", 16, 1}, {"0123456789ABCDEF", 16, 0},
      {"0123456789abcdeg", 16, 0}, {"abc", 4, 0},  {"abcd", 3, 0},
      {"", 0, 1},                  {NULL, 0, 0},   {"ab cd", 5, 0},
      {"4e623b176a98d8c5f8a122d7f5ab0626", 32, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(hv_is_hex(cases[i].s, cases[i].n), cases[i].want);
}

static void test_check_len(void **state)
{
  (void)state;
  struct hv_err e = {0};
  size_t n = 99;
  assert_int_equal(hv_check_len("abc", 3, "key", &n, &e), 0);
  assert_int_equal(n, 3);
  assert_int_equal(hv_check_len("a", 1, "key", NULL, &e), 0);
  assert_int_equal(hv_check_len("abcd", 3, "key", &n, &e), HV_EINVAL);
  assert_int_equal(n, 4);
  assert_string_equal(e.msg, "key must be 1-3 characters, got 4");
  assert_int_equal(hv_check_len("", 3, "alias", &n, &e), HV_EINVAL);
  assert_string_equal(e.msg, "alias must be 1-3 characters, got 0");
  assert_int_equal(hv_check_len(NULL, 3, "alias", &n, &e), HV_EINVAL);
  assert_int_equal(n, 0);
}

static void test_atomic_write_and_read(void **state)
{
  char dir[256], path[512], sub[512];
  tu_tmpdir(dir, sizeof(dir));
  struct hv_err e = {0};
  snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
  assert_int_equal(hv_mkdir_p(sub, &e), 0);
  assert_int_equal(hv_mkdir_p(sub, &e), 0);
  snprintf(path, sizeof(path), "%s/file.bin", sub);
  assert_int_equal(hv_write_atomic(path, "hello", 5, 0600, &e), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char *buf = NULL;
  size_t n = 0;
  assert_int_equal(hv_read_file(path, 100, &buf, &n, &e), 0);
  assert_int_equal(n, 5);
  assert_string_equal(buf, "hello");
  free(buf);
  assert_int_equal(hv_read_file(path, 3, &buf, &n, &e), HV_ETOOBIG);
  snprintf(path, sizeof(path), "%s/missing", dir);
  assert_int_equal(hv_read_file(path, 100, &buf, &n, &e), HV_ENOTFOUND);
  snprintf(path, sizeof(path), "%s/nodir/x", dir);
  assert_int_equal(hv_write_atomic(path, "x", 1, 0644, &e), HV_EIO);
  tu_rmtree(dir);
}

/* ---- mutex_held ---------------------------------------------------------- */

struct holder {
  pthread_mutex_t *m;
  int p[2]; /* the holder writes here once it holds m */
  int q[2]; /* and reads its "go" here */
};

static void *hold_main(void *arg)
{
  struct holder *h = arg;
  char c = 'l';
  pthread_mutex_lock(h->m);
  assert_int_equal(write(h->p[1], &c, 1), 1);
  assert_int_equal(read(h->q[0], &c, 1), 1);
  pthread_mutex_unlock(h->m);
  return NULL;
}

/* Free: 0 and still free; held here or by another thread: 1. */
static void test_mutex_held(void **state)
{
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  assert_int_equal(mutex_held(&m), 0);
  assert_int_equal(mutex_held(&m), 0); /* it left m free */
  pthread_mutex_lock(&m);
  assert_int_equal(mutex_held(&m), 1);
  pthread_mutex_unlock(&m);
  struct holder h = {.m = &m};
  assert_int_equal(pipe(h.p), 0);
  assert_int_equal(pipe(h.q), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, hold_main, &h), 0);
  char c;
  assert_int_equal(read(h.p[0], &c, 1), 1);
  assert_int_equal(mutex_held(&m), 1);
  assert_int_equal(write(h.q[1], "g", 1), 1);
  pthread_join(t, NULL);
  assert_int_equal(mutex_held(&m), 0);
  for (int i = 0; i < 2; i++) {
    close(h.p[i]);
    close(h.q[i]);
  }
}

/* ---- sigfwd ---------------------------------------------------------------- */

static void *open_thread(void *arg)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* as OpenBLAS's threads */
  atomic_store((atomic_int *)arg, 1);
  while (atomic_load((atomic_int *)arg) == 1)
    usleep(1000);
  return NULL;
}

/* A SIGTERM the kernel hands to a thread that does not block it reaches the
 * waiting thread instead of ending the process; force_exit ends it with
 * 128 + signal after the message; restore puts the old handler back. */
static void test_sigfwd(void **state)
{
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  struct sigaction before;
  sigaction(SIGTERM, NULL, &before);
  struct sigfwd_saved saved;
  sigfwd_install(&saved);
  atomic_int run = 0;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, open_thread, &run), 0);
  while (!atomic_load(&run))
    usleep(1000);
  /* what the kernel does with a process-directed SIGTERM when only another
   * thread leaves it open (aimed at that thread here: a sanitizer's own
   * threads may take a kill() and hold it); without sigfwd this kills us */
  assert_int_equal(pthread_kill(th, SIGTERM), 0);
  struct timespec ts = {5, 0};
  assert_int_equal(sigtimedwait(&set, NULL, &ts), SIGTERM);
  atomic_store(&run, 2);
  pthread_join(th, NULL);
  sigfwd_restore(&saved);
  struct sigaction after;
  sigaction(SIGTERM, NULL, &after);
  assert_true(after.sa_handler == before.sa_handler);
  /* force_exit, in a child */
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    sigfwd_install(&saved);
    sigfwd_force_exit(p[1], "bye\n");
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(SIGINT);
    for (;;) /* ThreadSanitizer may run the handler at its next call */
      pause();
  }
  close(p[1]);
  char buf[16] = "";
  ssize_t n = read(p[0], buf, sizeof(buf) - 1);
  close(p[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 128 + SIGINT);
  assert_int_equal(n, 4);
  assert_string_equal(buf, "bye\n");
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- sigfwd_watch ------------------------------------------------------- */

struct watch_case {
  int wfd;   /* where the callback reports */
  int stall; /* 1: the callback never returns (a second signal must end it) */
};

static void watch_cb(int sig, void *arg)
{
  const struct watch_case *c = arg;
  char b[8];
  int n = snprintf(b, sizeof(b), "%d\n", sig);
  ssize_t w = write(c->wfd, b, (size_t)n);
  (void)w;
  while (c->stall)
    pause();
}

/* In a child: install the watcher, send it sig (and, once its callback has
 * reported, second); returns what the callback wrote and the exit status. */
static int watch_child(int sig, int second, char *out, size_t cap)
{
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    static struct watch_case c;
    c.wfd = p[1];
    c.stall = second != 0;
    struct hv_err e = {0};
    if (sigfwd_watch(watch_cb, &c, &e) || sigfwd_watch(NULL, NULL, &e))
      _exit(3); /* the second call must be a no-op */
    kill(getpid(), sig);
    for (;;)
      pause();
  }
  close(p[1]);
  ssize_t n = read(p[0], out, cap - 1);
  out[n > 0 ? n : 0] = '\0';
  if (second)
    kill(pid, second);
  close(p[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

/* The first signal runs the callback on the watcher and exits 128 + sig; a
 * second one while the callback runs exits at once with 128 + its own. */
static void test_sigfwd_watch(void **state)
{
  static const struct {
    int sig, second, status;
  } cases[] = {
      {SIGTERM, 0, 128 + SIGTERM},
      {SIGINT, 0, 128 + SIGINT},
      {SIGTERM, SIGINT, 128 + SIGINT},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char buf[16], want[16];
    int status = watch_child(cases[i].sig, cases[i].second, buf, sizeof(buf));
    snprintf(want, sizeof(want), "%d\n", cases[i].sig);
    assert_string_equal(buf, want);
    assert_int_equal(status, cases[i].status);
  }
}

/* Terminal escaping: controls visible, other text (UTF-8 too) as is. */
static void test_termstr(void **state)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"Toy Story (1995)", "Toy Story (1995)"},
      {"Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC", "Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"},
      {"a\x1b[31mred\x1b[0m", "a\\x1B[31mred\\x1B[0m"},
      {"bell\x07 cr\r lf\n tab\t del\x7f", "bell\\x07 cr\\r lf\\n tab\\t del\\x7F"},
      {"\x1b]0;owned\x07", "\\x1B]0;owned\\x07"},
      {"evil \xE2\x80\xAEgpj.exe", "evil \\u{202E}gpj.exe"},
      {"\xE2\x80\xAA\xE2\x81\xA6\xE2\x81\xA9", "\\u{202A}\\u{2066}\\u{2069}"},
      {"c1 \xC2\x9B" "31m", "c1 \\u{009B}31m"},
      {"latin1 \xE9", "latin1 \\xE9"},
      {"", ""},
  };
  char out[128];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (strcmp(termstr(cases[i].in, out, sizeof(out)), cases[i].out))
      fail_msg("case %zu: '%s'", i, out);
  assert_string_equal(termstr(NULL, out, sizeof(out)), "");
  /* cut at a boundary: never half an escape or half a character */
  assert_string_equal(termstr("ab\x1b", out, 6), "ab");
  assert_string_equal(termstr("ab\xC3\xA9", out, 4), "ab");
  assert_string_equal(termstr("ab\xC3\xA9", out, 5), "ab\xC3\xA9");
  assert_string_equal(termstr("x", out, 1), "");
  assert_string_equal(termstr("x", NULL, 0), "");
  assert_true(termstr_is_control(0x1B) && termstr_is_control(0x7F) &&
              termstr_is_control(0x85) && termstr_is_control(0x202E) &&
              termstr_is_control(0x2068));
  assert_false(termstr_is_control(' ') || termstr_is_control(0xA0) ||
               termstr_is_control(0x2029) || termstr_is_control(0x206A));
}

static void test_utf8_decode(void **state)
{
  static const struct {
    const char *s;
    size_t n, len;
    uint32_t cp;
  } cases[] = {
      {"A", 1, 1, 'A'},           {"\xC3\xA9", 2, 2, 0xE9},
      {"\xE2\x80\xAE", 3, 3, 0x202E}, {"\xF0\x9F\x98\x80", 4, 4, 0x1F600},
      {"\xC3", 1, 0, 0},          /* truncated */
      {"\xC0\x80", 2, 0, 0},      /* overlong */
      {"\xED\xA0\x80", 3, 0, 0},  /* surrogate */
      {"\xF4\x90\x80\x80", 4, 0, 0}, /* past U+10FFFF */
      {"\x80", 1, 0, 0},          {"\xE9x", 2, 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint32_t cp = 0;
    size_t len = utf8_decode(cases[i].s, cases[i].n, &cp);
    if (len != cases[i].len || (len && cp != cases[i].cp))
      fail_msg("case %zu: len %zu cp %X", i, len, (unsigned)cp);
  }
  assert_int_equal(utf8_decode("\xC3\xA9", 2, NULL), 2);
}

/* htmlesc: the five characters as entities, everything else as it is
 * (UTF-8 and controls included: html.c adds its own rule for controls). */
static void test_htmlesc(void **state)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"", ""},
      {"plain", "plain"},
      {"<a href=\"x\">Tom & Jerry's</a>",
       "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"},
      {"&amp;", "&amp;amp;"},
      {"Am\xc3\xa9lie \x01\x7f", "Am\xc3\xa9lie \x01\x7f"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    htmlesc_fputs(f, cases[i].in);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, cases[i].out);
    free(buf);
  }
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  htmlesc_fputs(f, NULL); /* nothing */
  assert_int_equal(fclose(f), 0);
  assert_int_equal(len, 0);
  free(buf);
  for (int c = 0; c < 256; c++)
    assert_true((htmlesc_entity((unsigned char)c) != NULL) ==
                (c == '&' || c == '<' || c == '>' || c == '"' || c == '\''));
}

/* say: NULL is quiet, the line reaches the callback formatted and cut. */
struct said {
  int calls;
  char last[SAY_MAX + 8];
};

static void record(void *ud, const char *line)
{
  struct said *r = ud;
  r->calls++;
  snprintf(r->last, sizeof(r->last), "%s", line);
}

static void test_say(void **state)
{
  (void)state;
  struct said r = {0};
  say(NULL, &r, "nothing %d", 1);
  assert_int_equal(r.calls, 0);
  say(record, &r, "step %d of %s", 2, "three");
  assert_int_equal(r.calls, 1);
  assert_string_equal(r.last, "step 2 of three");
  char big[SAY_MAX * 2];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  say(record, &r, "%s", big);
  assert_int_equal(r.calls, 2);
  assert_int_equal(strlen(r.last), SAY_MAX - 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err_set_and_prefix),
      cmocka_unit_test(test_sigfwd),
      cmocka_unit_test(test_sigfwd_watch),
      cmocka_unit_test(test_parse_i64_table),
      cmocka_unit_test(test_parse_f64),
      cmocka_unit_test(test_parse_range),
      cmocka_unit_test(test_is_hex),
      cmocka_unit_test(test_check_len),
      cmocka_unit_test(test_atomic_write_and_read),
      cmocka_unit_test(test_mutex_held),
      cmocka_unit_test(test_termstr),
      cmocka_unit_test(test_htmlesc),
      cmocka_unit_test(test_utf8_decode),
      cmocka_unit_test(test_say),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

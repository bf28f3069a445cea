/*
 * test_termsafe.c - the CLI prints text from the database and from files
 * with its control characters escaped (issue 17, finding 11): a title
 * holding ESC ] 0 ; ... BEL (retitle the window) and U+202E, a run name
 * holding ESC [ 2 J (clear the screen), an error quoting a bad line. They
 * are planted straight into the database, as an older import or another
 * client could have left them (the importer now cleans them).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define EVIL_SQL                                                          \
  "char(27) || ']0;owned' || char(7) || 'Evil ' || char(8238) || 'eliF' " \
  "|| char(13)"
#define EVIL_SHOWN "\\x1B]0;owned\\x07Evil \\u{202E}eliF\\r"

static char g_home[4200], g_tmp[4096];

/* Run the harvest CLI with args on g_home; stdout (and stderr with
 * both) into out. Returns the exit status. */
static int harvest(const char *args, int both, char *out, size_t cap)
{
  char cmd[8192];
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s' %s %s", tu_bin(), g_home,
           args, both ? "2>&1" : "2>/dev/null");
  return tu_run(cmd, out, cap);
}

static void exec_sql(const char *sql)
{
  char path[4300];
  sqlite3 *h;
  snprintf(path, sizeof(path), "%s/harvest.db", g_home);
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", sql, msg);
  sqlite3_close(h);
}

/* No raw control or bidi character in out (TAB and LF are the CLI's own). */
static void assert_clean(const char *what, const char *out)
{
  for (const unsigned char *p = (const unsigned char *)out; *p; p++)
    if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7F ||
        (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0xAE))
      fail_msg("%s: raw byte 0x%02X at %zu in:\n%s", what, *p,
               (size_t)(p - (const unsigned char *)out), out);
}

static int setup(void **state)
{
  static char out[1 << 16];
  tu_tmpdir(g_tmp, sizeof(g_tmp));
  snprintf(g_home, sizeof(g_home), "%s/home", g_tmp);
  assert_int_equal(harvest("data synth --users 20 --movies 8 --ratings 60",
                           0, out, sizeof(out)),
                   0);
  assert_int_equal(harvest("train --dim 2 --epochs 1 --batch 16 --split 1 "
                           "--no-features --run-name plain",
                           0, out, sizeof(out)),
                   0);
  exec_sql("UPDATE movies SET title = " EVIL_SQL ";"
           "UPDATE runs SET name = 'run' || char(27) || '[2J';"
           "UPDATE experiments SET name = 'exp' || char(7);");
  return 0;
}

static int teardown(void **state)
{
  tu_rmtree(g_tmp);
  return 0;
}

static void test_titles_and_names(void **state)
{
  static char out[1 << 16];
  static const struct {
    const char *args, *shown;
  } cases[] = {
      {"data stats", EVIL_SHOWN},
      {"recommend --model runs:/RUN --user 1 -n 3", EVIL_SHOWN},
      {"runs list", "run\\x1B[2J"},
      {"runs list", "exp\\x07"},
      {"runs show RUN", "name:        run\\x1B[2J"},
  };
  char run_id[64] = "";
  assert_int_equal(harvest("runs list --json", 0, out, sizeof(out)), 0);
  const char *p = strstr(out, "\"run_id\": \"");
  assert_non_null(p);
  snprintf(run_id, 33, "%s", p + strlen("\"run_id\": \""));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char args[256];
    const char *at = strstr(cases[i].args, "RUN");
    snprintf(args, sizeof(args), "%.*s%s%s",
             at ? (int)(at - cases[i].args) : (int)strlen(cases[i].args),
             cases[i].args, at ? run_id : "", at ? at + 3 : "");
    if (harvest(args, 1, out, sizeof(out)) != 0)
      fail_msg("harvest %s failed:\n%s", args, out);
    assert_clean(args, out);
    if (!strstr(out, cases[i].shown))
      fail_msg("harvest %s: no '%s' in:\n%s", args, cases[i].shown, out);
  }
}

/* An error quoting a bad line shows its controls escaped. */
static void test_error_message(void **state)
{
  static char out[1 << 16];
  char dir[4300], p[4400], args[4500];
  snprintf(dir, sizeof(dir), "%s/bad", g_tmp);
  snprintf(args, sizeof(args), "mkdir -p '%s'", dir);
  assert_int_equal(system(args), 0);
  tu_write(dir, "u.genre", "unknown|0\n", p, sizeof(p));
  tu_write(dir, "u.occupation", "writer\n", p, sizeof(p));
  tu_write(dir, "u.user", "1|24|M|writer|85711\n", p, sizeof(p));
  tu_write(dir, "u.item", "1|A (1995)|01-Jan-1995||u|1\n", p, sizeof(p));
  tu_write(dir, "u.data", "x\x1b[2J\x07\t1\t5\t1\n", p, sizeof(p));
  snprintf(args, sizeof(args), "data import --replace --format ml-100k '%s'", dir);
  assert_int_not_equal(harvest(args, 1, out, sizeof(out)), 0);
  assert_clean("data import", out);
  if (!strstr(out, "x\\x1B[2J\\x07"))
    fail_msg("no escaped value in:\n%s", out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_titles_and_names),
      cmocka_unit_test(test_error_message),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

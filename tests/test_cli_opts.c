/*
 * test_cli_opts.c - the declarative options engine (cli/cli_opts.h): every
 * entry type, ranges, choices, required flags, missing arguments, unknown
 * flags (usage error, exit 2), repeated flags, --flag=value and --flag
 * value, early flags, positional counts and the generated --help.
 *
 * cli_parse prints on stdout (help) and stderr (errors): each case runs with
 * both redirected to temporary files and checks what they hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
/* after cmocka */
#include "cli/cli.h"

/* Everything the test table writes. */
struct vals {
  int flag, on, count, choice, given, early_seen, order_at_early;
  const char *str, *name, *list[3];
  int n_list;
  int64_t i64, range[2];
  size_t size;
  unsigned u;
  uint64_t u64;
  double dbl;
  char fn_flag[64]; /* flag is only valid during the call: copied */
  const char *fn_arg;
};

static const char *const colours[] = {"red", "green", "blue", NULL};

/* CLI_FN: remember the flag name and argument; "bad" fails. */
static int fn_set(const struct cli_opt *o, const char *flag, const char *arg,
                  struct hv_err *err)
{
  struct vals *v = o->dst;
  if (arg && !strcmp(arg, "bad"))
    return hv_err_set(err, HV_EINVAL, "%s: bad is bad (%s)", flag,
                      (const char *)o->key);
  snprintf(v->fn_flag, sizeof(v->fn_flag), "%s", flag);
  v->fn_arg = arg;
  return 0;
}

/* CLI_EARLY: records how many ints were set before it ran. */
static int early_set(const struct cli_opt *o, const char *flag,
                     const char *arg, struct hv_err *err)
{
  struct vals *v = o->dst;
  v->early_seen++;
  v->order_at_early = v->count;
  return 0;
}

struct out {
  int rc;
  char out[8192], err[2048];
};

static void slurp(FILE *f, char *buf, size_t cap)
{
  rewind(f);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
}

/* Run cli_parse on args (NULL-terminated, argv[0] "test") with stdout and
 * stderr captured into o. */
static void run(struct cli_ctx *ctx, const struct cli_spec *spec,
                const char *const *args, struct out *o)
{
  char *argv[32];
  int argc = 0;
  for (; args[argc]; argc++)
    argv[argc] = (char *)args[argc]; /* getopt permutes argv, not them */
  argv[argc] = NULL;
  FILE *fo = tmpfile(), *fe = tmpfile();
  assert_non_null(fo);
  assert_non_null(fe);
  fflush(stdout);
  fflush(stderr);
  int so = dup(1), se = dup(2);
  dup2(fileno(fo), 1);
  dup2(fileno(fe), 2);
  o->rc = cli_parse(ctx, spec, argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(so, 1);
  dup2(se, 2);
  close(so);
  close(se);
  slurp(fo, o->out, sizeof(o->out));
  slurp(fe, o->err, sizeof(o->err));
  fclose(fo);
  fclose(fe);
}

/* The test command: one entry of each type, a group, a hidden flag. */
#define TABLE(v)                                                            \
  const struct cli_opt sub[] = {                                           \
      {CLI_OPT(CLI_TRUE, "on", 0, NULL, "switch it on", &v.on)},           \
      {CLI_OPT(CLI_FALSE, "off", 0, NULL, NULL, &v.on)},                   \
      CLI_OPTS_END};                                                       \
  const struct cli_opt opts[] = {                                          \
      {CLI_OPT(CLI_TRUE, "flag", 'f', NULL, "a flag", &v.flag)},           \
      {CLI_OPT(CLI_STR, "str", 's', "S", "a string", &v.str)},             \
      {CLI_OPT(CLI_STR, "name", 0, "NAME", "1-5 characters", &v.name),     \
       .lo = 1, .hi = 5},                                                  \
      {CLI_OPT(CLI_INT, "count", 0, "N", "1..10", &v.count), .lo = 1,      \
       .hi = 10, .seen = &v.given},                                        \
      {CLI_OPT(CLI_I64, NULL, 'n', "N", "short only", &v.i64)},            \
      {CLI_OPT(CLI_SIZE, "size", 0, "N", "a size", &v.size), .hi = 100},   \
      {CLI_OPT(CLI_UINT, "uint", 0, "N", "an unsigned", &v.u)},            \
      {CLI_OPT(CLI_U64, "u64", 0, "N", "a uint64", &v.u64),                \
       .hi = INT64_MAX},                                                   \
      {CLI_OPT(CLI_DBL, "dbl", 0, "X", "0.5..1", &v.dbl), .flo = 0.5,      \
       .fhi = 1},                                                          \
      {CLI_OPT(CLI_CHOICE, "colour", 0, "C", "red, green or blue",         \
               &v.choice), .choices = colours},                            \
      {CLI_OPT(CLI_RANGE, "range", 0, "F:L", "a rating id range",          \
               v.range)},                                                  \
      {CLI_OPT(CLI_LIST, "item", 0, "I", "repeatable, at most 3", v.list), \
       .hi = 3, .seen = &v.n_list},                                        \
      {CLI_OPT(CLI_FN, "fn", 0, "V", "a callback", &v), .fn = fn_set,      \
       .key = "the key"},                                                  \
      {CLI_OPT(CLI_FN0, "early", 0, NULL, "applied first", &v),            \
       .fn = early_set, .flags = CLI_EARLY},                               \
      {CLI_OPT(CLI_TRUE, "secret", 0, NULL, "not listed", &v.flag),        \
       .flags = CLI_HIDDEN},                                               \
      {CLI_OPT(CLI_STR, "must", 0, "M", "required", &v.str),               \
       .flags = CLI_REQUIRED},                                             \
      {.type = CLI_GROUP, .sub = sub, .help = "Group:"},                   \
      CLI_OPTS_END};                                                       \
  const struct cli_spec spec = {.cmd = "test", .usage = "[options] [ARG]", \
                                .about = "About it.\n", .opts = opts,      \
                                .max_args = 1, .more = "More.\n"}

#define ARGS(...) ((const char *const[]){"test", __VA_ARGS__, NULL})

static void test_types(void **state)
{
  const struct {
    const char *const *args;
    const char *field; /* which value to check */
    double want;
  } cases[] = {
      {ARGS("--must", "m", "--flag"), "flag", 1},
      {ARGS("--must", "m", "-f"), "flag", 1},
      {ARGS("--must", "m", "--count=7"), "count", 7},
      {ARGS("--must", "m", "--count", "7"), "count", 7},
      {ARGS("--must", "m", "--count", "3", "--count", "9"), "count", 9},
      {ARGS("--must", "m", "-n", "-42"), "i64", -42},
      {ARGS("--must", "m", "-n-42"), "i64", -42},
      {ARGS("--must", "m", "--size=100"), "size", 100},
      {ARGS("--must", "m", "--uint", "4000000000"), "uint", 4e9},
      {ARGS("--must", "m", "--u64", "9007199254740993"), "u64",
       9007199254740993.0},
      {ARGS("--must", "m", "--dbl", "0.75"), "dbl", 0.75},
      {ARGS("--must", "m", "--colour", "blue"), "colour", 2},
      {ARGS("--must", "m", "--colour=red"), "colour", 0},
      {ARGS("--must", "m", "--on"), "on", 1},
      {ARGS("--must", "m", "--on", "--off"), "on", 0},
      {ARGS("--must", "m", "--off", "--on"), "on", 1},
      {ARGS("--must", "m", "--range", "5:9"), "range", 5009},
      {ARGS("--must", "m", "--range", ":9"), "range", 9},
      {ARGS("--must", "m", "--cou", "2"), "count", 2}, /* abbreviation */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct vals v;
    memset(&v, 0, sizeof(v));
    struct cli_ctx ctx = {.home = "home"};
    TABLE(v);
    struct out o;
    run(&ctx, &spec, cases[i].args, &o);
    if (o.rc != 0)
      fail_msg("case %zu: rc %d: %s", i, o.rc, o.err);
    const char *f = cases[i].field;
    double got = !strcmp(f, "flag")     ? v.flag
                 : !strcmp(f, "count")  ? v.count
                 : !strcmp(f, "i64")    ? (double)v.i64
                 : !strcmp(f, "size")   ? (double)v.size
                 : !strcmp(f, "uint")   ? v.u
                 : !strcmp(f, "u64")    ? (double)v.u64
                 : !strcmp(f, "dbl")    ? v.dbl
                 : !strcmp(f, "colour") ? v.choice
                 : !strcmp(f, "on")     ? v.on
                 : (double)(v.range[0] * 1000 + v.range[1]);
    if (got != cases[i].want)
      fail_msg("case %zu (%s): got %g, want %g", i, f, got, cases[i].want);
  }
}

static void test_bad_input(void **state)
{
  const struct {
    const char *const *args;
    const char *msg; /* on stderr */
  } cases[] = {
      {ARGS("--must", "m", "--count", "0"), "--count: 0 is out of range"},
      {ARGS("--must", "m", "--count=11"), "--count: 11 is out of range"},
      {ARGS("--must", "m", "--count", "x"), "--count: 'x' is not an integer"},
      {ARGS("--must", "m", "--count", ""), "--count"},
      {ARGS("--must", "m", "-n", "1e3"), "-n: '1e3' is not an integer"},
      {ARGS("--must", "m", "--size", "-1"), "--size: -1 is out of range"},
      {ARGS("--must", "m", "--uint", "4294967296"), "--uint: "},
      {ARGS("--must", "m", "--dbl", "0.4"), "--dbl: "},
      {ARGS("--must", "m", "--dbl", "nan"), "--dbl: "},
      {ARGS("--must", "m", "--colour", "pink"),
       "--colour: 'pink' is not red, green or blue"},
      {ARGS("--must", "m", "--name", ""), "--name must be 1-5 characters"},
      {ARGS("--must", "m", "--name", "toolong"),
       "--name must be 1-5 characters"},
      {ARGS("--must", "m", "--range", "9:5"), "--range"},
      {ARGS("--must", "m", "--fn", "bad"), "--fn: bad is bad (the key)"},
      {ARGS("--must", "m", "--item", "a", "--item", "b", "--item", "c",
            "--item", "d"),
       "--item: at most 3 values"},
      {ARGS("--must", "m", "--count"), "requires an argument"},
      {ARGS("--must", "m", "--bogus"), "bad option"},
      {ARGS("--must", "m", "-x"), "bad option"},
      {ARGS("--must", "m", "--flag=1"), "bad option"},
      {ARGS("--must", "m", "a", "b"), "unexpected argument 'b'"},
      {ARGS("--flag"), "--must M is required"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct vals v;
    memset(&v, 0, sizeof(v));
    struct cli_ctx ctx = {.home = "home"};
    TABLE(v);
    struct out o;
    run(&ctx, &spec, cases[i].args, &o);
    if (o.rc != HV_EUSAGE || hv_err_exit_code(o.rc) != 2 ||
        !strstr(o.err, cases[i].msg) ||
        !strstr(o.err, "Try 'harvest test --help'."))
      fail_msg("case %zu: rc %d, stderr: %s", i, o.rc, o.err);
  }
}

static void test_repeated_and_list(void **state)
{
  struct vals v;
  memset(&v, 0, sizeof(v));
  struct cli_ctx ctx = {.home = "home"};
  TABLE(v);
  struct out o;
  run(&ctx, &spec,
      ARGS("--item", "a", "--must", "m", "--item=b", "--count", "2",
           "--count=3", "--fn", "x", "--fn", "y"),
      &o);
  assert_int_equal(o.rc, 0);
  assert_int_equal(v.n_list, 2);
  assert_string_equal(v.list[0], "a");
  assert_string_equal(v.list[1], "b");
  assert_int_equal(v.count, 3);
  assert_int_equal(v.given, 2); /* .seen counts every occurrence */
  assert_string_equal(v.fn_flag, "--fn");
  assert_string_equal(v.fn_arg, "y");
}

static void test_early_common_positional(void **state)
{
  struct vals v;
  memset(&v, 0, sizeof(v));
  struct cli_ctx ctx = {.home = "home"};
  TABLE(v);
  struct out o;
  /* --early runs before --count wherever it stands; an abbreviation too */
  run(&ctx, &spec,
      ARGS("--count", "4", "--json", "pos", "--home=/h", "--must", "m",
           "--ear"),
      &o);
  assert_int_equal(o.rc, 0);
  assert_int_equal(v.early_seen, 1);
  assert_int_equal(v.order_at_early, 0);
  assert_int_equal(v.count, 4);
  assert_int_equal(ctx.json, 1);
  assert_string_equal(ctx.home, "/h");
  assert_int_equal(optind, 8); /* the one positional, permuted last */

  /* min_args and its message */
  const struct cli_opt none[] = {CLI_OPTS_END};
  const struct cli_spec two = {.cmd = "two", .opts = none, .min_args = 2,
                               .max_args = 2, .args_msg = "expected A and B"};
  run(&ctx, &two, ARGS("a"), &o);
  assert_int_equal(o.rc, HV_EUSAGE);
  assert_non_null(strstr(o.err, "harvest two: expected A and B"));
  run(&ctx, &two, ARGS("a", "b"), &o);
  assert_int_equal(o.rc, 0);
  const struct cli_spec zero = {.cmd = "zero", .opts = none};
  run(&ctx, &zero, ARGS("x"), &o);
  assert_int_equal(o.rc, HV_EUSAGE);
  assert_non_null(strstr(o.err, "unexpected argument 'x'"));
}

static void test_required_messages(void **state)
{
  const char *a = NULL, *b = NULL, *c = NULL;
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "aa", 0, "A", "a", &a), .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_STR, "bb", 0, "B", "b", &b), .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_STR, "cc", 0, NULL, "c", &c), .flags = CLI_REQUIRED},
      CLI_OPTS_END};
  const struct cli_spec spec = {.cmd = "req", .opts = opts};
  struct cli_ctx ctx = {.home = "home"};
  const struct {
    const char *const *args;
    const char *msg;
  } cases[] = {
      {ARGS("--cc", "1"), "--aa A and --bb B are required"},
      {ARGS("--aa", "1", "--bb", "2"), "--cc is required"},
      {(const char *const[]){"req", NULL}, "--aa A, --bb B and --cc are "
                                           "required"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct out o;
    run(&ctx, &spec, cases[i].args, &o);
    if (o.rc != HV_EUSAGE || !strstr(o.err, cases[i].msg))
      fail_msg("case %zu: rc %d, stderr: %s", i, o.rc, o.err);
  }
}

static void test_help(void **state)
{
  struct vals v;
  memset(&v, 0, sizeof(v));
  struct cli_ctx ctx = {.home = "home"};
  TABLE(v);
  struct out o;
  /* help wins over a missing required flag and stops at once */
  run(&ctx, &spec, ARGS("--count", "2", "-h", "--count", "x"), &o);
  assert_int_equal(o.rc, CLI_HELP);
  assert_int_equal(cli_parse_rc(o.rc), 0);
  assert_string_equal(o.err, "");
  static const char *const want[] = {
      "Usage: harvest test [options] [ARG]\n\nAbout it.\n",
      "\nOptions:\n  -f, --flag ", "  -s, --str S ", "  --name NAME ",
      "  -n N ", "  --colour C ", "  --item I ", "  --fn V ",
      "\nGroup:\n  --on, --off           switch it on\n",
      "  --json ", "  --home DIR ", "  -h, --help ", "\nMore.\n"};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    if (!strstr(o.out, want[i]))
      fail_msg("help lacks '%s':\n%s", want[i], o.out);
  assert_null(strstr(o.out, "secret"));
  /* every line fits in 79 columns */
  for (const char *p = o.out; *p;) {
    size_t n = strcspn(p, "\n");
    if (n > 79)
      fail_msg("help line of %zu columns: %.*s", n, (int)n, p);
    p += n + (p[n] == '\n');
  }
  /* cli_help prints the same text */
  char buf[8192];
  FILE *f = tmpfile();
  cli_help(f, &spec);
  slurp(f, buf, sizeof(buf));
  fclose(f);
  assert_string_equal(buf, o.out);
  /* the common options' lines can be hidden or reworded */
  const struct cli_opt none[] = {CLI_OPTS_END};
  const struct cli_spec quiet = {.cmd = "quiet", .opts = none,
                                 .json_help = "", .home_help = "where"};
  run(&ctx, &quiet, ARGS("--help"), &o);
  assert_int_equal(o.rc, CLI_HELP);
  assert_null(strstr(o.out, "--json"));
  assert_non_null(strstr(o.out, "--home DIR            where\n"));
  /* a long help text wraps under the help column */
  const struct cli_opt wrap[] = {
      {CLI_OPT(CLI_TRUE, "a-very-long-flag-name", 0, NULL,
               "one two three four five six seven eight nine ten eleven "
               "twelve thirteen fourteen", &v.flag)},
      CLI_OPTS_END};
  const struct cli_spec ws = {.cmd = "wrap", .opts = wrap};
  run(&ctx, &ws, ARGS("-h"), &o);
  assert_non_null(strstr(o.out, "  --a-very-long-flag-name  one two"));
  if (!strstr(o.out, " ten\n                        eleven twelve thirteen "
                     "fourteen\n"))
    fail_msg("not wrapped:\n%s", o.out);
}

/* Every command and subcommand of the binary: --help exits 0 with its
 * usage line, `harvest help CMD [SUB]` prints the same, and no line of the
 * generated option lists is wider than 79 columns. */
static void test_every_command_help(void **state)
{
  static const char *const cmds[] = {
      "artifacts list", "artifacts get", "artifacts put",
      "auth account add", "auth account list", "auth account passwd",
      "auth account role", "auth token create", "auth token list",
      "auth token revoke", "data fetch", "db init",
      "data import", "data stats", "data synth", "demo", "drift",
      "evaluate", "models register", "models list", "models show",
      "models transition", "models alias", "models resolve",
      "models check", "monitor", "recommend", "retrain", "runs list",
      "runs show", "runs compare", "runs history", "runs gc", "serve",
      "train", "tune", "watch"};
  static char a[16384], b[16384];
  char cmd[512], want[128];
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
    snprintf(cmd, sizeof(cmd), "'%s' %s --help 2>&1", tu_bin(), cmds[i]);
    if (tu_run(cmd, a, sizeof(a)) != 0)
      fail_msg("%s --help: %s", cmds[i], a);
    snprintf(want, sizeof(want), "Usage: harvest %s ", cmds[i]);
    if (strncmp(a, want, strlen(want)) || !strstr(a, "  -h, --help "))
      fail_msg("%s --help:\n%s", cmds[i], a);
    snprintf(cmd, sizeof(cmd), "'%s' help %s 2>&1", tu_bin(), cmds[i]);
    if (tu_run(cmd, b, sizeof(b)) != 0 || strcmp(a, b))
      fail_msg("help %s differs from %s --help", cmds[i], cmds[i]);
    const char *opts = strstr(a, "\n  -"); /* the generated part */
    for (const char *p = opts ? opts + 1 : a; opts && *p;) {
      size_t n = strcspn(p, "\n");
      if (n > 79 && p[0] == ' ')
        fail_msg("%s: %zu columns: %.*s", cmds[i], n, (int)n, p);
      p += n + (p[n] == '\n');
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_repeated_and_list),
      cmocka_unit_test(test_early_common_positional),
      cmocka_unit_test(test_required_messages),
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_every_command_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
